//! The strength of the RSA keys that sign documents and certificates.
//!
//! When a site checks signers against trust anchors, every RSA key of the
//! verified chain (the signer's, its CAs', the anchor's) must have a modulus
//! of at least [`MIN_BITS`] bits and a public exponent of at least
//! [`MIN_EXPONENT`]: 1024-bit RSA is within reach of a well-funded attacker
//! (NIST SP 800-131A disallowed it for signatures after 2013), and small
//! exponents are the ones the known signature-forgery attacks on lax PKCS#1
//! v1.5 verifiers need. Archives of old documents can be checked with the
//! rule relaxed (`--allow-weak-keys`).

use x509_parser::certificate::X509Certificate;
use x509_parser::public_key::PublicKey;

/// The smallest RSA modulus accepted from a trusted signer, in bits.
pub const MIN_BITS: usize = 2048;
/// The smallest RSA public exponent accepted from a trusted signer.
pub const MIN_EXPONENT: u64 = 65537;
/// The smallest modulus any signature is checked with (ring's floor).
pub const MIN_VERIFIABLE_BITS: usize = 1024;

/// The size and public exponent of an RSA key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RsaKey {
    /// The modulus, in bits (leading zeros not counted).
    pub bits: usize,
    /// The public exponent; `None` when it does not fit in 64 bits.
    pub exponent: Option<u64>,
}

impl RsaKey {
    /// The RSA key of a certificate; `Ok(None)` for a key of another kind,
    /// `Err` when the RSA key cannot be read.
    pub fn of(cert: &X509Certificate<'_>) -> Result<Option<RsaKey>, String> {
        match cert.public_key().parsed() {
            Ok(PublicKey::RSA(key)) => Ok(Some(RsaKey {
                bits: significant_bits(key.modulus),
                exponent: exponent(key.exponent),
            })),
            Ok(_) => Ok(None),
            Err(e) => Err(format!("unreadable public key: {e}")),
        }
    }

    /// The length in bytes of a signature made with this key.
    pub fn signature_len(&self) -> usize {
        self.bits.div_ceil(8)
    }

    /// Why this key is too weak for a trusted signer, if it is.
    pub fn weakness(&self) -> Option<String> {
        if self.bits < MIN_BITS {
            return Some(format!(
                "its RSA key has {} bits, fewer than the {MIN_BITS} required",
                self.bits
            ));
        }
        match self.exponent {
            Some(e) if e < MIN_EXPONENT => Some(format!(
                "its RSA public exponent is {e}, smaller than the {MIN_EXPONENT} required"
            )),
            _ => None,
        }
    }
}

/// The number of significant bits of a big-endian unsigned integer.
fn significant_bits(bytes: &[u8]) -> usize {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    match bytes.get(skip) {
        Some(first) => (bytes.len() - skip) * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

/// A big-endian unsigned integer as u64, if it fits.
fn exponent(bytes: &[u8]) -> Option<u64> {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let digits = &bytes[skip..];
    if digits.len() > 8 {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_exponents() {
        assert_eq!(significant_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(significant_bits(&[0x01, 0x00]), 9);
        assert_eq!(significant_bits(&[0x00, 0x00]), 0);
        assert_eq!(significant_bits(&[]), 0);
        let mut modulus = vec![0x00, 0xc0];
        modulus.extend(vec![0u8; 255]);
        assert_eq!(significant_bits(&modulus), 2048);
        assert_eq!(exponent(&[0x01, 0x00, 0x01]), Some(65537));
        assert_eq!(exponent(&[0x00, 0x03]), Some(3));
        assert_eq!(exponent(&[1; 9]), None);
        assert_eq!(exponent(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), Some(1));
    }

    #[test]
    fn the_weak_key_rule() {
        let key = |bits, exponent| RsaKey { bits, exponent };
        assert_eq!(key(2048, Some(65537)).weakness(), None);
        assert_eq!(key(4096, None).weakness(), None);
        let small = key(1024, Some(65537)).weakness().unwrap();
        assert!(small.contains("1024 bits"), "{small}");
        let exponent = key(2048, Some(3)).weakness().unwrap();
        assert!(exponent.contains("exponent is 3"), "{exponent}");
        assert_eq!(key(2047, Some(65537)).signature_len(), 256);
    }
}
