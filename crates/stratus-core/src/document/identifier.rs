//! The 27-character image identifier and its SHA-1.
//!
//! The identifier is the SHA-1 read as a 160-bit big-endian number, written
//! in base 64 with the URL-safe alphabet, most significant digit first, in
//! exactly 27 digits (162 bits: two implicit zero bits at the front). It is
//! not base64url of the digest bytes. Identifiers and checksums are compared
//! as numbers, so leading zeros in a hex checksum do not matter.

use num_bigint::BigUint;

/// The 64 digits, index 0 to 63.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The length of every identifier.
pub const IDENTIFIER_LENGTH: usize = 27;

/// Why a string is not an identifier or a checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentifierError {
    /// Not 27 characters from the alphabet (legacy message `invalid identifier`).
    InvalidIdentifier,
    /// Not a non-empty string of hex digits, or wider than 160 bits.
    InvalidChecksum,
}

impl std::fmt::Display for IdentifierError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentifierError::InvalidIdentifier => f.write_str("invalid identifier"),
            IdentifierError::InvalidChecksum => f.write_str("invalid SHA-1 checksum"),
        }
    }
}

impl std::error::Error for IdentifierError {}

/// The identifier of a SHA-1 digest given as its 20 bytes.
pub fn from_sha1_bytes(digest: &[u8; 20]) -> String {
    // 162 bits = 27 groups of 6: shift the 160 bits in behind 2 zero bits.
    let mut value: u128 = 0;
    let mut bits: u32 = 2;
    let mut out = String::with_capacity(IDENTIFIER_LENGTH);
    for &byte in digest {
        value = (value << 8) | u128::from(byte);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            let index = ((value >> bits) & 0x3f) as usize;
            out.push(ALPHABET[index] as char);
        }
        value &= (1u128 << bits) - 1;
    }
    debug_assert_eq!(out.len(), IDENTIFIER_LENGTH);
    out
}

/// The identifier of a SHA-1 given in hex (any case, leading zeros allowed).
pub fn from_sha1_hex(hex: &str) -> Result<String, IdentifierError> {
    let number = parse_hex(hex).ok_or(IdentifierError::InvalidChecksum)?;
    if number.bits() > 160 {
        return Err(IdentifierError::InvalidChecksum);
    }
    let bytes = number.to_bytes_be();
    let mut digest = [0u8; 20];
    digest[20 - bytes.len()..].copy_from_slice(&bytes);
    Ok(from_sha1_bytes(&digest))
}

/// The number an identifier encodes. As in the legacy code there is no range
/// check: an identifier starting after `P` decodes to more than 160 bits and
/// so can never equal a real SHA-1.
pub fn to_number(identifier: &str) -> Result<BigUint, IdentifierError> {
    if identifier.len() != IDENTIFIER_LENGTH {
        return Err(IdentifierError::InvalidIdentifier);
    }
    let mut number = BigUint::default();
    for byte in identifier.bytes() {
        let index = ALPHABET
            .iter()
            .position(|&c| c == byte)
            .ok_or(IdentifierError::InvalidIdentifier)?;
        number = (number << 6u32) | BigUint::from(index as u32);
    }
    Ok(number)
}

/// The SHA-1 an identifier encodes, as lower-case hex without leading zeros
/// (the legacy rendering).
pub fn to_sha1_hex(identifier: &str) -> Result<String, IdentifierError> {
    Ok(to_number(identifier)?.to_str_radix(16))
}

/// Parse a hex checksum (`[0-9A-Fa-f]+` only) as an unbounded number.
pub fn parse_hex(hex: &str) -> Option<BigUint> {
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    BigUint::parse_bytes(hex.as_bytes(), 16)
}

/// Whether `identifier` has the shape `^[A-Za-z0-9_-]{27}$`.
pub fn is_well_formed(identifier: &str) -> bool {
    identifier.len() == IDENTIFIER_LENGTH
        && identifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (SHA-1 hex, identifier, decimal value or "") from metadata.md §2.4 and client.md §2.2.
    const VECTORS: &[(&str, &str, &str)] = &[
        (
            "c319bbd5afc0a22ba3eaed0507c39383ec28eeff",
            "MMZu9WvwKIro-rtBQfDk4PsKO7_",
            "1113827081651840475597112894378558741689028636415",
        ),
        (
            "0c319bbd5afc0a22ba3eaed0507c39383ec28eeff",
            "MMZu9WvwKIro-rtBQfDk4PsKO7_",
            "1113827081651840475597112894378558741689028636415",
        ),
        (
            "c319bbd5afc0a22ba3eaed0507c39383ec28eefe",
            "MMZu9WvwKIro-rtBQfDk4PsKO7-",
            "1113827081651840475597112894378558741689028636414",
        ),
        (
            "1104f3e30c030f8b93f220b04131032dddf51f21",
            "BEE8-MMAw-Lk_IgsEExAy3d9R8h",
            "97163291630344731332136174663938239638269140769",
        ),
        (
            "5e3db90187d6ec13e261bd2ea8f6a589d6900a5d",
            "F49uQGH1uwT4mG9Lqj2pYnWkApd",
            "538021594208292745038870709144303437456381839965",
        ),
        (
            "27b7b906c06b124c6d305a09758ed8564f4454d3",
            "Ce3uQbAaxJMbTBaCXWO2FZPRFTT",
            "226747794503820144744326664544955726842504172755",
        ),
        (
            "024a8581d43fbf76d96ae3ec53b260bcddddad46",
            "AJKhYHUP7922Wrj7FOyYLzd3a1G",
            "13079866798920535239740521614942696022032100678",
        ),
        (
            "dcaec27afc48e5d68a500e5a159310ba72b50292",
            "Nyuwnr8SOXWilAOWhWTELpytQKS",
            "1259875240879052511581305890705118158112570016402",
        ),
        (
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "No5o-5ea0sNMlW_75VgGJCv2AcJ",
            "",
        ),
        (
            "639ac4915da045efa809bd02b2609d9d3f932e85",
            "GOaxJFdoEXvqAm9ArJgnZ0_ky6F",
            "",
        ),
        (
            "0000000000000000000000000000000000000000",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "0",
        ),
        (
            "0000000000000000000000000000000000000001",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAB",
            "1",
        ),
        (
            "ffffffffffffffffffffffffffffffffffffffff",
            "P__________________________",
            "1461501637330902918203684832716283019655932542975",
        ),
    ];

    #[test]
    fn encodes_every_vector() {
        for (hex, id, _) in VECTORS {
            assert_eq!(from_sha1_hex(hex).unwrap(), *id, "{hex}");
        }
    }

    #[test]
    fn decodes_every_vector_numerically() {
        for (hex, id, decimal) in VECTORS {
            let number = to_number(id).unwrap();
            assert_eq!(number, parse_hex(hex).unwrap(), "{id}");
            if !decimal.is_empty() {
                assert_eq!(number.to_string(), *decimal, "{id}");
            }
        }
    }

    #[test]
    fn sha1_of_test_string_matches() {
        use sha1::Digest;
        let digest: [u8; 20] = sha1::Sha1::digest(b"data for SHA1 digest").into();
        assert_eq!(from_sha1_bytes(&digest), "Nyuwnr8SOXWilAOWhWTELpytQKS");
    }

    #[test]
    fn invalid_identifiers_and_checksums() {
        assert_eq!(
            to_number("MMZu9WvwKIro-rtBQ"),
            Err(IdentifierError::InvalidIdentifier)
        );
        assert_eq!(
            to_number("MMZu9WvwKIro-rtBQfDk4PsKO7="),
            Err(IdentifierError::InvalidIdentifier)
        );
        assert_eq!(from_sha1_hex("xyz"), Err(IdentifierError::InvalidChecksum));
        assert_eq!(from_sha1_hex(""), Err(IdentifierError::InvalidChecksum));
        assert_eq!(from_sha1_hex("+12"), Err(IdentifierError::InvalidChecksum));
        assert_eq!(
            from_sha1_hex(&"f".repeat(41)),
            Err(IdentifierError::InvalidChecksum)
        );
    }

    #[test]
    fn wide_identifier_decodes_without_range_check() {
        assert_eq!(
            to_sha1_hex("ZZZZZZZZZZZZZZZZZZZZZZZZZZZ").unwrap(),
            "19659659659659659659659659659659659659659"
        );
        assert_eq!(
            to_sha1_hex("MMZu9WvwKIro-rtBQfDk4PsKO77").unwrap(),
            "c319bbd5afc0a22ba3eaed0507c39383ec28eefb"
        );
    }

    proptest::proptest! {
        #[test]
        fn bytes_round_trip(bytes in proptest::array::uniform20(0u8..)) {
            let id = from_sha1_bytes(&bytes);
            proptest::prop_assert!(is_well_formed(&id));
            proptest::prop_assert!(id.as_bytes()[0] <= b'P');
            let number = to_number(&id).unwrap();
            proptest::prop_assert_eq!(number, BigUint::from_bytes_be(&bytes));
        }
    }
}
