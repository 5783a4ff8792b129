//! SHA-512 from the fastest implementation at hand.
//!
//! SHA-512 is the most expensive of the four digests of an image pass, and
//! the Rust implementations are far from OpenSSL's on AMD processors. On the
//! Zen 3 machine of docs/PERFORMANCE.md, 1 MiB updates, best of several runs:
//!
//! | implementation                           | MB/s |
//! |------------------------------------------|------|
//! | OpenSSL 3.0 libcrypto (AVX2 + BMI2 code) | 650  |
//! | ring 0.17 (its AVX code runs on Intel only) | 460 |
//! | graviola 0.4                              | 460  |
//! | sha2 0.11 (AVX2 message schedule)         | 350  |
//! | aws-lc-rs 1                               | 330  |
//!
//! Handwritten Rust (scalar, and with an SSE2 message schedule) reached
//! 330 to 400 MB/s. So with the `system-openssl` feature (on by default)
//! SHA-512 comes from the system's libcrypto, the library the distributions
//! patch and the very code `openssl dgst` runs; without the feature, or if
//! libcrypto cannot provide SHA-512 (a provider configuration that leaves it
//! out), ring is used. Both give the same digest; only the speed differs.

use std::fmt;

/// Which library computes a [`Sha512`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The system's OpenSSL libcrypto.
    #[cfg(feature = "system-openssl")]
    OpenSsl,
    /// ring's implementation (always available).
    Ring,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "system-openssl")]
            Engine::OpenSsl => f.write_str("OpenSSL libcrypto"),
            Engine::Ring => f.write_str("ring"),
        }
    }
}

/// A running SHA-512 digest.
pub struct Sha512 {
    state: State,
}

enum State {
    #[cfg(feature = "system-openssl")]
    OpenSsl(openssl::hash::Hasher),
    Ring(ring::digest::Context),
    /// libcrypto reported an error part way: the digest cannot be trusted.
    #[cfg(feature = "system-openssl")]
    Failed(String),
}

/// libcrypto failed while hashing (which a working installation never does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sha512Error(pub String);

impl fmt::Display for Sha512Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SHA-512 in OpenSSL's libcrypto failed: {}", self.0)
    }
}

impl std::error::Error for Sha512Error {}

impl Default for Sha512 {
    fn default() -> Self {
        Sha512::new()
    }
}

impl Sha512 {
    /// A digest on the fastest engine available: libcrypto when built with
    /// `system-openssl` and it offers SHA-512, ring otherwise.
    pub fn new() -> Sha512 {
        #[cfg(feature = "system-openssl")]
        if let Ok(hasher) = openssl::hash::Hasher::new(openssl::hash::MessageDigest::sha512()) {
            return Sha512 {
                state: State::OpenSsl(hasher),
            };
        }
        Sha512::with_ring()
    }

    /// A digest computed by ring, whatever else is available.
    pub fn with_ring() -> Sha512 {
        Sha512 {
            state: State::Ring(ring::digest::Context::new(&ring::digest::SHA512)),
        }
    }

    /// The library computing this digest.
    pub fn engine(&self) -> Engine {
        match &self.state {
            #[cfg(feature = "system-openssl")]
            State::OpenSsl(_) | State::Failed(_) => Engine::OpenSsl,
            State::Ring(_) => Engine::Ring,
        }
    }

    /// Hashes `data` after everything given before.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            #[cfg(feature = "system-openssl")]
            State::OpenSsl(hasher) => {
                if let Err(error) = hasher.update(data) {
                    self.state = State::Failed(error.to_string());
                }
            }
            State::Ring(context) => context.update(data),
            #[cfg(feature = "system-openssl")]
            State::Failed(_) => {}
        }
    }

    /// The 64-byte digest of everything hashed, or the error libcrypto
    /// reported on the way.
    pub fn finalize(self) -> Result<[u8; 64], Sha512Error> {
        let mut digest = [0u8; 64];
        match self.state {
            #[cfg(feature = "system-openssl")]
            State::OpenSsl(mut hasher) => {
                let bytes = hasher.finish().map_err(|e| Sha512Error(e.to_string()))?;
                digest.copy_from_slice(&bytes);
            }
            State::Ring(context) => digest.copy_from_slice(context.finish().as_ref()),
            #[cfg(feature = "system-openssl")]
            State::Failed(message) => return Err(Sha512Error(message)),
        }
        Ok(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn both_engines() -> Vec<Sha512> {
        vec![Sha512::new(), Sha512::with_ring()]
    }

    #[test]
    fn fips_180_examples_on_every_engine() {
        let abc = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                   2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
        let two_blocks = "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018\
                          501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909";
        let long = b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
        for (input, expected) in [(&b"abc"[..], abc), (&long[..], two_blocks)] {
            for mut sha in both_engines() {
                let engine = sha.engine();
                sha.update(input);
                assert_eq!(hex(&sha.finalize().unwrap()), expected, "{engine}");
            }
        }
    }

    #[test]
    fn engines_agree_on_split_input() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 + 7) as u8).collect();
        let digests: Vec<[u8; 64]> = both_engines()
            .into_iter()
            .map(|mut sha| {
                for piece in data.chunks(333) {
                    sha.update(piece);
                }
                sha.finalize().unwrap()
            })
            .collect();
        assert_eq!(digests[0], digests[1]);
    }

    #[cfg(feature = "system-openssl")]
    #[test]
    fn libcrypto_is_preferred_when_built_in() {
        assert_eq!(Sha512::new().engine(), Engine::OpenSsl);
    }
}
