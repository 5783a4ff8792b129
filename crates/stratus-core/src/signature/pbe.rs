//! The older password-based encryptions of PKCS#8 private keys.
//!
//! `openssl pkcs8 -topk8` wrote PKCS#12 PBE until OpenSSL 1.1
//! (`pbeWithSHA1And3-KeyTripleDES-CBC` by default), and `-v1` still writes
//! PKCS#5 PBES1; old grid keys are often in one of them. The pkcs8 crate
//! decrypts only PBES2, so these are decrypted here, with the PKCS#12 key
//! derivation of the pkcs12 crate (RFC 7292 Appendix B.2) and PBKDF1 (RFC
//! 8018 §5.1) written out, over the des and rc2 block ciphers in CBC mode:
//!
//! | OID | name | key derivation | cipher |
//! |---|---|---|---|
//! | 1.2.840.113549.1.12.1.3 | pbeWithSHAAnd3-KeyTripleDES-CBC | PKCS#12, SHA-1 | 3-key 3DES |
//! | 1.2.840.113549.1.12.1.4 | pbeWithSHAAnd2-KeyTripleDES-CBC | PKCS#12, SHA-1 | 2-key 3DES |
//! | 1.2.840.113549.1.12.1.5 | pbeWithSHAAnd128BitRC2-CBC | PKCS#12, SHA-1 | RC2, 128 bits |
//! | 1.2.840.113549.1.12.1.6 | pbeWithSHAAnd40BitRC2-CBC | PKCS#12, SHA-1 | RC2, 40 bits |
//! | 1.2.840.113549.1.5.3 | pbeWithMD5AndDES-CBC | PBKDF1, MD5 | DES |
//! | 1.2.840.113549.1.5.10 | pbeWithSHA1AndDES-CBC | PBKDF1, SHA-1 | DES |
//!
//! A wrong password shows as bad padding or, after decryption, as data
//! that is not a private key; the caller reports both as a wrong password.

use cbc::cipher::{
    block_padding::Pkcs7, BlockCipherDecrypt, BlockModeDecrypt as _, KeyInit, KeyIvInit as _,
};
use pkcs12::kdf::{derive_key_utf8, Pkcs12KeyType};
use sha1::Digest as _;
use x509_parser::der_parser::asn1_rs::{Any, FromBer, Tag};

/// The most iterations accepted, for one key derivation and for all those
/// of one file together: far above what tools write (2,048 by default in
/// OpenSSL, 10,000 in Java), low enough that a hostile file cannot stall
/// the command (a few seconds of hashing).
pub const MAX_ITERATIONS: u64 = 10_000_000;

/// The most an scrypt key derivation may cost, `128·N·r·p` bytes (its
/// memory, `128·N·r`, and its time grow with it), for one derivation and
/// for all those of one file: 128 MiB, four times OpenSSL's own default
/// limit. OpenSSL writes `N = 16384, r = 8, p = 1`, 16 MiB.
pub const MAX_SCRYPT_BYTES: u64 = 128 * 1024 * 1024;

/// Why a key could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PbeError {
    /// Not one of the schemes of this module (the dotted OID).
    Unsupported(String),
    /// The DER or the parameters are not what the scheme says.
    Malformed(&'static str),
    /// The padding is wrong: the password is.
    WrongPassword,
    /// The key derivations would cost more than [`MAX_ITERATIONS`] or
    /// [`MAX_SCRYPT_BYTES`] (what they ask for).
    TooCostly(String),
}

/// What the key derivations of one file cost, checked as each is found,
/// before any runs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Budget {
    iterations: u64,
    scrypt_bytes: u64,
}

/// The dotted OIDs of the key derivations whose parameters begin
/// `SEQUENCE { salt OCTET STRING, iterations INTEGER, ... }`: PBKDF2 (the
/// KDF of PBES2), the PKCS#12 PBE schemes and the PKCS#5 PBES1 schemes.
const ITERATED_KDFS: &[&str] = &[
    "1.2.840.113549.1.5.12",
    "1.2.840.113549.1.12.1.1",
    "1.2.840.113549.1.12.1.2",
    "1.2.840.113549.1.12.1.3",
    "1.2.840.113549.1.12.1.4",
    "1.2.840.113549.1.12.1.5",
    "1.2.840.113549.1.12.1.6",
    "1.2.840.113549.1.5.1",
    "1.2.840.113549.1.5.3",
    "1.2.840.113549.1.5.4",
    "1.2.840.113549.1.5.6",
    "1.2.840.113549.1.5.10",
    "1.2.840.113549.1.5.11",
];

/// The dotted OID of scrypt (RFC 7914): parameters `SEQUENCE { salt,
/// N, r, p, keyLength OPTIONAL }`.
const SCRYPT: &str = "1.3.6.1.4.1.11591.4.11";

/// How deep [`Budget::charge_der`] looks into nested DER: a PKCS#12 key
/// derivation is at most about ten levels down.
const MAX_DEPTH: usize = 24;

impl Budget {
    /// Adds `count` iterations (a MAC's, or a derivation's).
    pub fn charge_iterations(&mut self, count: u64) -> Result<(), PbeError> {
        self.iterations = self.iterations.saturating_add(count);
        if count > MAX_ITERATIONS || self.iterations > MAX_ITERATIONS {
            return Err(PbeError::TooCostly(format!(
                "its key derivations ask for {} iterations, more than the {MAX_ITERATIONS} accepted",
                self.iterations
            )));
        }
        Ok(())
    }

    fn charge_scrypt(&mut self, n: u64, r: u64, p: u64) -> Result<(), PbeError> {
        let bytes = [n, r, p]
            .into_iter()
            .try_fold(128u64, |cost, factor| cost.checked_mul(factor))
            .unwrap_or(u64::MAX);
        self.scrypt_bytes = self.scrypt_bytes.saturating_add(bytes);
        if self.scrypt_bytes > MAX_SCRYPT_BYTES {
            return Err(PbeError::TooCostly(format!(
                "its scrypt key derivation needs {bytes} bytes (128·N·r·p with N = {n}, r = {r}, p = {p}), more than the {MAX_SCRYPT_BYTES} accepted"
            )));
        }
        Ok(())
    }

    /// Charges every key derivation found in `der` (an
    /// `EncryptedPrivateKeyInfo`, a PKCS#12 store, ...): each
    /// `SEQUENCE { OID, parameters }` naming PBKDF2, a PKCS#12 PBE or PBES1
    /// scheme or scrypt, looking into constructed values and into OCTET
    /// STRINGs that hold DER (a store's contents), down to a fixed depth.
    /// Parameters that cannot be read are left to the decryption, which
    /// refuses them; a count too large for 64 bits is too costly.
    pub fn charge_der(&mut self, der: &[u8]) -> Result<(), PbeError> {
        self.charge_items(der, 0)
    }

    fn charge_items(&mut self, mut der: &[u8], depth: usize) -> Result<(), PbeError> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        while !der.is_empty() {
            // BER, a superset of the DER the readers take, so that no
            // encoding they read hides a derivation from the count.
            let Ok((rest, item)) = Any::from_ber(der) else {
                return Ok(());
            };
            self.charge_item(&item, depth)?;
            der = rest;
        }
        Ok(())
    }

    fn charge_item(&mut self, item: &Any<'_>, depth: usize) -> Result<(), PbeError> {
        if item.tag() == Tag::Sequence {
            if let Ok((parameters, oid)) = Any::from_ber(item.data) {
                if let Ok(oid) = oid.as_oid() {
                    let oid = oid.to_id_string();
                    if ITERATED_KDFS.contains(&oid.as_str()) || oid == SCRYPT {
                        return self.charge_kdf(&oid, parameters);
                    }
                }
            }
        }
        if item.header.is_constructed() || item.tag() == Tag::OctetString {
            self.charge_items(item.data, depth + 1)?;
        }
        Ok(())
    }

    /// One key derivation's parameters.
    fn charge_kdf(&mut self, oid: &str, parameters: &[u8]) -> Result<(), PbeError> {
        let Ok((_, params)) = Any::from_ber(parameters) else {
            return Ok(());
        };
        let mut numbers = Vec::new();
        let mut rest = params.data;
        while let Ok((next, field)) = Any::from_ber(rest) {
            if field.tag() == Tag::Integer {
                numbers.push(field.as_u64().unwrap_or(u64::MAX));
            } else if !numbers.is_empty() {
                break;
            }
            rest = next;
        }
        match (oid == SCRYPT, numbers.as_slice()) {
            (false, [iterations, ..]) => self.charge_iterations(*iterations),
            (true, [n, r, p, ..]) => self.charge_scrypt(*n, *r, *p),
            _ => Ok(()),
        }
    }
}

/// The schemes this module decrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Pkcs12TripleDes3,
    Pkcs12TripleDes2,
    Pkcs12Rc2_128,
    Pkcs12Rc2_40,
    Pbes1Md5Des,
    Pbes1Sha1Des,
}

impl Scheme {
    fn from_oid(oid: &str) -> Option<Scheme> {
        Some(match oid {
            "1.2.840.113549.1.12.1.3" => Scheme::Pkcs12TripleDes3,
            "1.2.840.113549.1.12.1.4" => Scheme::Pkcs12TripleDes2,
            "1.2.840.113549.1.12.1.5" => Scheme::Pkcs12Rc2_128,
            "1.2.840.113549.1.12.1.6" => Scheme::Pkcs12Rc2_40,
            "1.2.840.113549.1.5.3" => Scheme::Pbes1Md5Des,
            "1.2.840.113549.1.5.10" => Scheme::Pbes1Sha1Des,
            _ => return None,
        })
    }
}

/// Whether `oid` (dotted) is a scheme [`decrypt`] handles.
pub fn handles(oid: &str) -> bool {
    Scheme::from_oid(oid).is_some()
}

/// Decrypts a DER `EncryptedPrivateKeyInfo` encrypted with one of the
/// schemes of this module; the plain PKCS#8 `PrivateKeyInfo` DER.
pub fn decrypt(der: &[u8], password: &str) -> Result<Vec<u8>, PbeError> {
    let parsed = parse(der).ok_or(PbeError::Malformed("not an EncryptedPrivateKeyInfo"))?;
    let scheme = Scheme::from_oid(&parsed.oid).ok_or(PbeError::Unsupported(parsed.oid))?;
    if parsed.iterations == 0 || parsed.iterations > MAX_ITERATIONS {
        return Err(PbeError::Malformed(
            "iteration count (1 to 10,000,000 are accepted)",
        ));
    }
    let rounds = i32::try_from(parsed.iterations).map_err(|_| PbeError::Malformed("iterations"))?;
    let pkcs12 = |id, len| {
        derive_key_utf8::<sha1::Sha1>(password, parsed.salt, id, rounds, len)
            .map_err(|_| PbeError::Malformed("a password that is not valid for PKCS#12"))
    };
    let data = parsed.data;
    match scheme {
        Scheme::Pkcs12TripleDes3
        | Scheme::Pkcs12TripleDes2
        | Scheme::Pkcs12Rc2_128
        | Scheme::Pkcs12Rc2_40 => {
            let key_len = match scheme {
                Scheme::Pkcs12TripleDes3 => 24,
                Scheme::Pkcs12TripleDes2 | Scheme::Pkcs12Rc2_128 => 16,
                _ => 5,
            };
            let key = pkcs12(Pkcs12KeyType::EncryptionKey, key_len)?;
            let iv = pkcs12(Pkcs12KeyType::Iv, 8)?;
            match scheme {
                Scheme::Pkcs12TripleDes3 => cbc_decrypt::<des::TdesEde3>(&key, &iv, data),
                Scheme::Pkcs12TripleDes2 => cbc_decrypt::<des::TdesEde2>(&key, &iv, data),
                _ => cbc_decrypt::<rc2::Rc2>(&key, &iv, data),
            }
        }
        Scheme::Pbes1Md5Des | Scheme::Pbes1Sha1Des => {
            let derived = pbkdf1(scheme, password.as_bytes(), parsed.salt, parsed.iterations);
            cbc_decrypt::<des::Des>(&derived[..8], &derived[8..16], data)
        }
    }
}

/// PBKDF1: the hash of password and salt, hashed again `iterations - 1`
/// times; the first 16 bytes (DES key, then IV) of the result.
fn pbkdf1(scheme: Scheme, password: &[u8], salt: &[u8], iterations: u64) -> Vec<u8> {
    let md5 = scheme == Scheme::Pbes1Md5Des;
    let hash = |parts: &[&[u8]]| -> Vec<u8> {
        if md5 {
            let mut h = crate::image::digest::md5::Md5::new();
            parts.iter().for_each(|p| h.update(p));
            h.finalize().to_vec()
        } else {
            let mut h = sha1::Sha1::new();
            parts.iter().for_each(|p| h.update(p));
            h.finalize().to_vec()
        }
    };
    let mut derived = hash(&[password, salt]);
    for _ in 1..iterations {
        derived = hash(&[&derived]);
    }
    derived
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, PbeError>
where
    C: BlockCipherDecrypt + KeyInit,
{
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| PbeError::Malformed("key or IV length"))?;
    decryptor
        .decrypt_padded_vec::<Pkcs7>(data)
        .map_err(|_| PbeError::WrongPassword)
}

/// The parts of an `EncryptedPrivateKeyInfo` with PBE parameters
/// `SEQUENCE { salt OCTET STRING, iterations INTEGER }`.
struct Parsed<'a> {
    oid: String,
    salt: &'a [u8],
    iterations: u64,
    data: &'a [u8],
}

fn parse(der: &[u8]) -> Option<Parsed<'_>> {
    let (oid, parameters, data) = outer(der)?;
    let (_, params) = Any::from_ber(parameters).ok()?;
    let (rest, salt) = Any::from_ber(params.data).ok()?;
    let (_, iterations) = Any::from_ber(rest).ok()?;
    if salt.tag() != Tag::OctetString || iterations.tag() != Tag::Integer {
        return None;
    }
    let iterations = iterations.as_u64().ok()?;
    Some(Parsed {
        oid,
        salt: salt.data,
        iterations,
        data: data.data,
    })
}

/// The encryption algorithm OID (dotted) of DER that has the shape of an
/// `EncryptedPrivateKeyInfo`, whatever the scheme.
pub fn encryption_algorithm(der: &[u8]) -> Option<String> {
    outer(der).map(|(oid, _, _)| oid)
}

/// `SEQUENCE { SEQUENCE { OID, parameters }, OCTET STRING }`: the OID, the
/// DER of the parameters, and the encrypted data.
fn outer(der: &[u8]) -> Option<(String, &[u8], Any<'_>)> {
    // Bytes after the structure are ignored, as they always were here.
    let (_, outer) = Any::from_ber(der).ok()?;
    if outer.tag() != Tag::Sequence {
        return None;
    }
    let (rest, algorithm) = Any::from_ber(outer.data).ok()?;
    let (rest, data) = Any::from_ber(rest).ok()?;
    if algorithm.tag() != Tag::Sequence || data.tag() != Tag::OctetString || !rest.is_empty() {
        return None;
    }
    let (parameters, oid) = Any::from_ber(algorithm.data).ok()?;
    Some((oid.as_oid().ok()?.to_id_string(), parameters, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `EncryptedPrivateKeyInfo` with pbeWithSHAAnd3-KeyTripleDES-CBC,
    /// an 8-byte salt, `iterations` (one byte) and 8 bytes of data.
    fn encrypted(iterations: u8) -> Vec<u8> {
        let oid = [
            0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03,
        ];
        let params = [
            0x30, 0x0d, 0x04, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0x01, iterations,
        ];
        let algorithm = [&[0x30, (oid.len() + params.len()) as u8][..], &oid, &params].concat();
        let data = [0x04, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
        [
            &[0x30, (algorithm.len() + data.len()) as u8][..],
            &algorithm,
            &data,
        ]
        .concat()
    }

    #[test]
    fn iteration_counts_out_of_range_are_named() {
        let error = decrypt(&encrypted(0), "pw").unwrap_err();
        assert!(matches!(error, PbeError::Malformed(what) if what.contains("iteration")));
        // In range, the bad padding of these zero bytes reads as a wrong password.
        assert_eq!(decrypt(&encrypted(1), "pw"), Err(PbeError::WrongPassword));
    }

    #[test]
    fn other_schemes_are_left_to_the_caller() {
        let mut der = encrypted(1);
        der[15] = 0x09; // ...1.12.1.9: not a PBE scheme of this module
        assert!(
            matches!(decrypt(&der, "pw"), Err(PbeError::Unsupported(oid)) if oid.ends_with(".9"))
        );
        assert!(!handles("1.2.840.113549.1.5.13"));
        assert!(handles("1.2.840.113549.1.5.3"));
    }
}
