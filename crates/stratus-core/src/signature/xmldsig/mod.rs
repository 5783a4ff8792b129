//! Enveloped XML signatures over whole metadata documents: the legacy
//! profile (RSA-SHA1, SHA-1 digest, C14N with comments) and the modern
//! default (RSA-SHA256, SHA-256 digest, C14N), signed and verified.
//!
//! Verification is hardened against signature wrapping: exactly one
//! `Signature`, the last element child of the document element, with exactly
//! one `Reference URI=""` whose transforms are the enveloped-signature
//! transform (optionally followed by one canonicalization), no `Object`, and
//! the signer's certificate in `KeyInfo/X509Data`. The signed content is
//! then the whole document minus that one `Signature`, which is exactly the
//! document that is validated and reported.

pub mod profile;
pub mod sign;
pub mod verify;

use std::fmt;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The document has no `Signature` element (legacy message `no signature`).
    Missing,
    /// The signature's structure is outside the accepted profile: the
    /// message names the element or attribute at fault.
    Structure(String),
    /// An algorithm that is not accepted.
    UnsupportedAlgorithm(String),
    /// The digest of the document does not match `DigestValue`: the
    /// document was changed after signing.
    DigestMismatch,
    /// `SignatureValue` does not verify with the certificate's key.
    BadSignatureValue,
    /// The certificate in `KeyInfo` cannot be used.
    BadCertificate(String),
    /// The signer's certificate has a `subject` or `issuer` name the parser
    /// cannot read whole (an empty RDN, trailing bytes): it would be
    /// reported under the part that was read, so it never signs.
    UnreadableName(&'static str),
    /// The signer's RSA key is too small for any signature check (under
    /// 1024 bits).
    KeyTooSmall {
        /// The key's size in bits.
        bits: usize,
    },
    /// `SignatureValue` cannot come from the signer's key: its length is
    /// not that of the key's signatures (a longer one does not fit in the
    /// key at all).
    KeyMismatch {
        /// The key's size in bits.
        bits: usize,
        /// The length of `SignatureValue` in bytes.
        signature_len: usize,
    },
    /// The endorsement does not agree with the signing certificate
    /// (legacy message `endorser inconsistency (<key>): <cert> != <doc>`).
    EndorserInconsistent {
        /// `subject`, `issuer` or `email`.
        key: &'static str,
        /// The certificate's value.
        certificate: String,
        /// The document's value (`null` when absent).
        document: String,
    },
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::Missing => f.write_str("no signature"),
            SignatureError::Structure(detail) => write!(f, "signature refused: {detail}"),
            SignatureError::UnsupportedAlgorithm(uri) => {
                write!(f, "signature refused: unsupported algorithm {uri}")
            }
            SignatureError::DigestMismatch => f.write_str(
                "signature validation: truecontent (ref='') validity: false (the document was modified after signing)",
            ),
            SignatureError::BadSignatureValue => f.write_str(
                "signature validation: falsecontent (ref='') validity: true (the signature value does not verify with the certificate)",
            ),
            SignatureError::BadCertificate(detail) => {
                write!(f, "signature refused: unusable certificate: {detail}")
            }
            SignatureError::UnreadableName(part) => write!(
                f,
                "signature refused: the signer's certificate has a {part} name that cannot be read whole (an empty RDN or trailing bytes), so it cannot be bound to the endorsement"
            ),
            SignatureError::KeyTooSmall { bits } => write!(
                f,
                "signature refused: the signer's RSA key has {bits} bits, too small for any signature check (at least {} bits)",
                crate::signature::keys::MIN_VERIFIABLE_BITS
            ),
            SignatureError::KeyMismatch { bits, signature_len } => {
                let expected = bits.div_ceil(8);
                if signature_len > &expected {
                    write!(
                        f,
                        "signature refused: the signer's {bits}-bit RSA key is too small to hold this {signature_len}-byte SignatureValue (its signatures have {expected} bytes)"
                    )
                } else {
                    write!(
                        f,
                        "signature refused: the SignatureValue has {signature_len} bytes, but the signer's {bits}-bit RSA key makes {expected}-byte signatures"
                    )
                }
            }
            SignatureError::EndorserInconsistent {
                key,
                certificate,
                document,
            } => write!(f, "endorser inconsistency ({key}): {certificate} != {document}"),
        }
    }
}

impl std::error::Error for SignatureError {}
