//! Generated credential files that ask their reader for too much work: an
//! encrypted private key whose PBKDF2 count or scrypt parameters are
//! huge, and a PKCS#12 store without a MAC holding many secret bags, each
//! with a costly key derivation (p12-keystore tries every secret bag,
//! whatever the password).
//!
//! Built from a few DER encoders, with no key material (the encrypted
//! data is zeros, which no password decrypts): the readers must refuse
//! them from their parameters alone, before any derivation runs. Used by
//! the credential tests and, through `fuzz_corpus`, by the `credentials`
//! fuzz target's replay.

// Not every user of this module uses every item.
#![allow(dead_code)]

/// A DER encoding of `tag` and `content`.
pub fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of the encoded `parts`.
pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

/// An OBJECT IDENTIFIER from its dotted form.
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
    let mut content = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        chunk.reverse();
        content.extend(chunk);
    }
    der(0x06, &content)
}

/// A non-negative INTEGER.
pub fn integer(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut content = bytes[skip..].to_vec();
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    der(0x02, &content)
}

/// A key derivation of PBES2.
#[derive(Debug, Clone, Copy)]
pub enum Kdf {
    /// PBKDF2 with HMAC-SHA-256 and this many iterations.
    Pbkdf2(u64),
    /// scrypt with these N, r and p.
    Scrypt(u64, u64, u64),
}

/// The PBES2 AlgorithmIdentifier of `kdf` with AES-256-CBC.
pub fn pbes2(kdf: Kdf) -> Vec<u8> {
    let salt = der(0x04, &[7; 8]);
    let kdf = match kdf {
        Kdf::Pbkdf2(iterations) => seq(&[
            oid("1.2.840.113549.1.5.12"),
            seq(&[
                salt,
                integer(iterations),
                seq(&[oid("1.2.840.113549.2.9"), der(0x05, &[])]),
            ]),
        ]),
        Kdf::Scrypt(n, r, p) => seq(&[
            oid("1.3.6.1.4.1.11591.4.11"),
            seq(&[salt, integer(n), integer(r), integer(p)]),
        ]),
    };
    seq(&[
        oid("1.2.840.113549.1.5.13"),
        seq(&[
            kdf,
            seq(&[oid("2.16.840.1.101.3.4.1.42"), der(0x04, &[9; 16])]),
        ]),
    ])
}

/// An EncryptedPrivateKeyInfo with `kdf` over 32 zero bytes.
pub fn encrypted_key(kdf: Kdf) -> Vec<u8> {
    seq(&[pbes2(kdf), der(0x04, &[0; 32])])
}

/// A SafeBag holding a secret bag whose value is an encrypted key with
/// `kdf` (the form p12-keystore reads).
pub fn secret_bag(kdf: Kdf) -> Vec<u8> {
    let secret = seq(&[
        oid("1.2.840.113549.1.7.1"),
        der(0xa0, &der(0x04, &encrypted_key(kdf))),
    ]);
    seq(&[oid("1.2.840.113549.1.12.10.1.5"), der(0xa0, &secret)])
}

/// A PFX without a MAC whose one unencrypted content holds `bags` secret
/// bags, each with `kdf`.
pub fn store_of_secret_bags(bags: usize, kdf: Kdf) -> Vec<u8> {
    let contents = seq(&vec![secret_bag(kdf); bags]);
    let data = |inner: &[u8]| seq(&[oid("1.2.840.113549.1.7.1"), der(0xa0, &der(0x04, inner))]);
    seq(&[integer(3), data(&seq(&[data(&contents)]))])
}

/// The text of a PEM block.
pub fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// Every generated hostile credential file, by name: each must be refused
/// from its parameters, at once.
pub fn samples() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "pbkdf2-2^31-iterations.der",
            encrypted_key(Kdf::Pbkdf2(1 << 31)),
        ),
        (
            "pbkdf2-2^31-iterations.pem",
            pem(
                "ENCRYPTED PRIVATE KEY",
                &encrypted_key(Kdf::Pbkdf2(1 << 31)),
            )
            .into_bytes(),
        ),
        (
            "scrypt-n-2^40.der",
            encrypted_key(Kdf::Scrypt(1 << 40, 8, 1)),
        ),
        (
            "scrypt-p-65535.der",
            encrypted_key(Kdf::Scrypt(1 << 14, 8, 65535)),
        ),
        (
            "store-of-100-secret-bags.p12",
            store_of_secret_bags(100, Kdf::Pbkdf2(1_000_000)),
        ),
    ]
}
