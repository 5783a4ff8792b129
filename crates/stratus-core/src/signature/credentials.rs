//! Signing credentials: PKCS#12 stores and PEM files to (certificate chain, private key).
//!
//! Two sources are supported:
//!
//! - [`load_pkcs12`]: a PKCS#12 store (`.p12`), as the legacy signer read it,
//!   with one password for the store and the key. Both the legacy
//!   encryption of the StratusLab test stores and of `openssl pkcs12 -legacy`
//!   (RC2-40 and 3DES, SHA-1 MAC) and the modern one of OpenSSL 3 and recent
//!   JDKs (PBES2 with AES, PBKDF2 and an HMAC-SHA-256 MAC) are read.
//! - [`load_pem`]: a certificate file (one certificate, or a chain with the
//!   leaf first) and a private key file, the form grid users keep in
//!   `~/.globus/usercert.pem` and `userkey.pem`. The key may be unencrypted
//!   PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`),
//!   encrypted PKCS#8 (`BEGIN ENCRYPTED PRIVATE KEY`, PBES2 with AES or 3DES
//!   and PBKDF2 with HMAC-SHA-1 or SHA-2), or a legacy OpenSSL encrypted key
//!   (`Proc-Type: 4,ENCRYPTED` with `DEK-Info: DES-EDE3-CBC`, `DES-CBC` or
//!   `AES-128/192/256-CBC`). DER files are accepted too.
//!
//! Only RSA keys can sign (the legacy format is RSA-SHA1); EC, DSA and other
//! keys are refused with [`CredentialError::UnsupportedKey`]. The private key
//! must belong to the leaf certificate: the RSA modulus and exponent are
//! compared, and a mismatch is [`CredentialError::KeyMismatch`].
//!
//! The [`SigningKey`] keeps the key as PKCS#8 DER and signs with
//! RSASSA-PKCS1-v1_5: SHA-256 and SHA-512 through `ring` (which needs a
//! 2048 to 4096-bit key; other sizes of at least 2048 bits fall back to the
//! `rsa` crate), SHA-1 for the legacy profile through the `rsa` crate (any
//! key of 1024 bits or more, as old grid keys are).
//!
//! Errors are a [`CredentialError`], naming the file and what failed.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use p12_keystore::error::Error as P12Error;
use p12_keystore::Pkcs12Archive;
use rsa::pkcs1::der::Decode as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::der_parser::asn1_rs::{Any, FromBer, Tag};
use x509_parser::public_key::PublicKey;

/// The dotted OID of rsaEncryption.
const RSA_ENCRYPTION_OID: &str = "1.2.840.113549.1.1.1";

/// The DER AlgorithmIdentifier of rsaEncryption with NULL parameters.
const RSA_ALGORITHM_ID: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// The largest credential file read (certificate, chain, key or store).
pub const MAX_CREDENTIAL_BYTES: u64 = 1024 * 1024;

/// The smallest key `ring` signs with, and our floor for RSA-SHA256/512.
const MIN_BITS_MODERN: usize = 2048;

/// The smallest key the `rsa` crate accepts, hence the floor for RSA-SHA1.
const MIN_BITS_LEGACY: usize = 1024;

/// What a file was expected to hold, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// A certificate, a certificate chain or a PKCS#12 store.
    Certificate,
    /// A private key.
    PrivateKey,
}

impl FileRole {
    fn noun(self) -> &'static str {
        match self {
            FileRole::Certificate => "certificate",
            FileRole::PrivateKey => "private key",
        }
    }
}

/// Why credentials could not be loaded, or a key could not sign.
#[derive(Debug)]
#[non_exhaustive]
pub enum CredentialError {
    /// The file does not exist. For a certificate the message is the legacy
    /// one, `certificate file not found: <path>`.
    NotFound {
        /// The missing file.
        path: PathBuf,
        /// What it should have held.
        role: FileRole,
    },
    /// The file exists but could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file is larger than [`MAX_CREDENTIAL_BYTES`]: not a credential.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The password does not open the store or key (bad MAC, bad padding,
    /// or garbage after decryption). For a PKCS#12 store the message starts
    /// with the legacy `error loading certificate (wrong password?)`.
    WrongPassword {
        /// The store or key file.
        path: PathBuf,
        /// Whether it is a store (certificate) or a key file.
        role: FileRole,
    },
    /// The key file is encrypted and no password was given.
    PasswordRequired {
        /// The key file.
        path: PathBuf,
    },
    /// The file is not a PKCS#12 store, or a damaged one.
    BadPkcs12 {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The file is not well-formed PEM (or DER).
    BadPem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A certificate could not be parsed as X.509.
    BadCertificate {
        /// The file holding it.
        path: PathBuf,
        /// The parser's message.
        detail: String,
    },
    /// A private key could not be parsed.
    BadKey {
        /// The file holding it.
        path: PathBuf,
        /// The parser's message.
        detail: String,
    },
    /// The file holds no certificate.
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The file holds no private key.
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// The key is not an RSA key (EC, DSA, Ed25519, RSASSA-PSS-only, OpenSSH
    /// format, ...).
    UnsupportedKey {
        /// The file holding it.
        path: PathBuf,
        /// What kind of key it is.
        what: String,
    },
    /// The file is encrypted with a scheme we cannot decrypt.
    UnsupportedEncryption {
        /// The file.
        path: PathBuf,
        /// The scheme.
        what: String,
    },
    /// The file's key derivations (iteration counts, scrypt parameters)
    /// would cost more than [`crate::signature::pbe::MAX_ITERATIONS`] or
    /// [`crate::signature::pbe::MAX_SCRYPT_BYTES`] allow.
    TooCostly {
        /// The file.
        path: PathBuf,
        /// What it asks for.
        detail: String,
    },
    /// The private key does not belong to the leaf certificate.
    KeyMismatch {
        /// The file holding the certificate.
        cert_path: PathBuf,
        /// The file holding the key (the same file for a PKCS#12 store).
        key_path: PathBuf,
    },
    /// The key is too small for the signature algorithm asked for.
    KeyTooSmall {
        /// The key's modulus size in bits.
        bits: usize,
        /// The smallest size accepted for this algorithm.
        min: usize,
        /// The signature algorithm, e.g. `RSA-SHA256`.
        algorithm: &'static str,
    },
    /// The key was refused by the signing library.
    KeyRejected {
        /// The signature algorithm.
        algorithm: &'static str,
        /// The library's reason.
        reason: String,
    },
    /// Signing itself failed.
    SigningFailed {
        /// The signature algorithm.
        algorithm: &'static str,
        /// The library's reason.
        reason: String,
    },
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialError::NotFound { path, role } => {
                write!(f, "{} file not found: {}", role.noun(), path.display())
            }
            CredentialError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            CredentialError::TooLarge { path, limit } => write!(
                f,
                "{}: larger than the {limit} bytes a certificate or key file may have",
                path.display()
            ),
            CredentialError::WrongPassword { path, role } => write!(
                f,
                "error loading {} (wrong password?): {}",
                role.noun(),
                path.display()
            ),
            CredentialError::PasswordRequired { path } => write!(
                f,
                "private key {} is encrypted: a password is needed",
                path.display()
            ),
            CredentialError::BadPkcs12 { path, detail } => {
                write!(
                    f,
                    "{}: not a readable PKCS#12 store: {detail}",
                    path.display()
                )
            }
            CredentialError::BadPem { path, detail } => {
                write!(f, "{}: malformed PEM: {detail}", path.display())
            }
            CredentialError::BadCertificate { path, detail } => {
                write!(f, "{}: malformed certificate: {detail}", path.display())
            }
            CredentialError::BadKey { path, detail } => {
                write!(f, "{}: malformed private key: {detail}", path.display())
            }
            CredentialError::NoCertificate { path } => {
                write!(f, "{}: no certificate found", path.display())
            }
            CredentialError::NoPrivateKey { path } => {
                write!(f, "{}: no private key found", path.display())
            }
            CredentialError::UnsupportedKey { path, what } => write!(
                f,
                "{}: unsupported private key: {what} (only RSA keys can sign metadata)",
                path.display()
            ),
            CredentialError::UnsupportedEncryption { path, what } => {
                write!(f, "{}: unsupported encryption: {what}", path.display())
            }
            CredentialError::TooCostly { path, detail } => {
                write!(f, "{}: refused: {detail}", path.display())
            }
            CredentialError::KeyMismatch {
                cert_path,
                key_path,
            } => {
                if cert_path == key_path {
                    write!(
                        f,
                        "{}: the private key does not match the certificate",
                        key_path.display()
                    )
                } else {
                    write!(
                        f,
                        "the private key in {} does not match the certificate in {}",
                        key_path.display(),
                        cert_path.display()
                    )
                }
            }
            CredentialError::KeyTooSmall {
                bits,
                min,
                algorithm,
            } => write!(
                f,
                "the {bits}-bit RSA key is too small for {algorithm} (at least {min} bits needed)"
            ),
            CredentialError::KeyRejected { algorithm, reason } => {
                write!(f, "the RSA key cannot sign with {algorithm}: {reason}")
            }
            CredentialError::SigningFailed { algorithm, reason } => {
                write!(f, "{algorithm} signing failed: {reason}")
            }
        }
    }
}

impl std::error::Error for CredentialError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CredentialError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The kind of a private key. Only RSA keys are loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// An RSA key (rsaEncryption).
    Rsa,
}

/// A private key ready to sign, kept as PKCS#8 DER (version 1, rsaEncryption
/// with NULL parameters, whatever form it was read from).
#[derive(Clone)]
pub struct SigningKey {
    pkcs8: Vec<u8>,
    kind: KeyKind,
    /// Modulus, big-endian without leading zeros.
    modulus: Vec<u8>,
    /// Public exponent, big-endian without leading zeros.
    exponent: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kind", &self.kind)
            .field("bits", &self.rsa_bits())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The key as PKCS#8 DER (unencrypted; handle with care).
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The RSA modulus size in bits.
    pub fn rsa_bits(&self) -> usize {
        match self.modulus.first() {
            Some(first) => self.modulus.len() * 8 - first.leading_zeros() as usize,
            None => 0,
        }
    }

    /// The RSA modulus, big-endian, without leading zero bytes.
    pub fn rsa_modulus(&self) -> &[u8] {
        &self.modulus
    }

    /// The RSA public exponent, big-endian, without leading zero bytes.
    pub fn rsa_public_exponent(&self) -> &[u8] {
        &self.exponent
    }

    /// RSASSA-PKCS1-v1_5 with SHA-1 over `msg` (XML-DSig `rsa-sha1`, the
    /// legacy profile), through the `rsa` crate. Keys of 1024 bits and more.
    pub fn sign_rsa_sha1(&self, msg: &[u8]) -> Result<Vec<u8>, CredentialError> {
        self.sign_rustcrypto::<sha1::Sha1>(msg, "RSA-SHA1", MIN_BITS_LEGACY)
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `msg` (XML-DSig `rsa-sha256`),
    /// through `ring`. Keys under 2048 bits give
    /// [`CredentialError::KeyTooSmall`].
    pub fn sign_rsa_sha256(&self, msg: &[u8]) -> Result<Vec<u8>, CredentialError> {
        self.sign_modern::<rsa::sha2::Sha256>(msg, &ring::signature::RSA_PKCS1_SHA256, "RSA-SHA256")
    }

    /// RSASSA-PKCS1-v1_5 with SHA-512 over `msg` (XML-DSig `rsa-sha512`),
    /// through `ring`. Keys under 2048 bits give
    /// [`CredentialError::KeyTooSmall`].
    pub fn sign_rsa_sha512(&self, msg: &[u8]) -> Result<Vec<u8>, CredentialError> {
        self.sign_modern::<rsa::sha2::Sha512>(msg, &ring::signature::RSA_PKCS1_SHA512, "RSA-SHA512")
    }

    /// Signs through ring with `encoding`, or through the rsa crate with the
    /// same digest `D` for the keys of 2048 bits and more ring refuses.
    fn sign_modern<D>(
        &self,
        msg: &[u8],
        encoding: &'static dyn ring::signature::RsaEncoding,
        algorithm: &'static str,
    ) -> Result<Vec<u8>, CredentialError>
    where
        D: rsa::sha2::Digest + rsa::pkcs8::AssociatedOid,
    {
        let bits = self.rsa_bits();
        if bits < MIN_BITS_MODERN {
            return Err(CredentialError::KeyTooSmall {
                bits,
                min: MIN_BITS_MODERN,
                algorithm,
            });
        }
        match ring::signature::RsaKeyPair::from_pkcs8(&self.pkcs8) {
            Ok(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(
                    encoding,
                    &ring::rand::SystemRandom::new(),
                    msg,
                    &mut signature,
                )
                .map_err(|_| CredentialError::SigningFailed {
                    algorithm,
                    reason: "ring refused to sign".to_string(),
                })?;
                Ok(signature)
            }
            // ring only takes 2048 to 4096-bit keys whose primes are a
            // multiple of 512 bits, with e >= 65537; the rsa crate signs with
            // the others.
            Err(_) => self.sign_rustcrypto::<D>(msg, algorithm, MIN_BITS_MODERN),
        }
    }

    /// Signs through the rsa crate (PKCS#1 v1.5 with the digest `D`).
    fn sign_rustcrypto<D>(
        &self,
        msg: &[u8],
        algorithm: &'static str,
        min: usize,
    ) -> Result<Vec<u8>, CredentialError>
    where
        D: rsa::sha2::Digest + rsa::pkcs8::AssociatedOid,
    {
        use rsa::pkcs8::DecodePrivateKey as _;
        use rsa::signature::{SignatureEncoding as _, Signer as _};

        let bits = self.rsa_bits();
        if bits < min {
            return Err(CredentialError::KeyTooSmall {
                bits,
                min,
                algorithm,
            });
        }
        let key = rsa::PrivateKey::from_pkcs8_der(&self.pkcs8).map_err(|e| {
            CredentialError::KeyRejected {
                algorithm,
                reason: e.to_string(),
            }
        })?;
        let signer = rsa::pkcs1v15::SigningKey::<D>::new(key);
        let signature = signer
            .try_sign(msg)
            .map_err(|e| CredentialError::SigningFailed {
                algorithm,
                reason: e.to_string(),
            })?;
        Ok(signature.to_vec())
    }
}

/// A signer's certificate chain (leaf first) and private key.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The certificates, the signer's own (the leaf) first, then its issuers
    /// as far as the source holds them.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key of the leaf certificate.
    pub key: SigningKey,
}

impl Credentials {
    /// The signer's certificate (the first of the chain).
    ///
    /// # Panics
    ///
    /// If `chain` is empty, which the loaders never return.
    pub fn leaf(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }
}

/// Loads the private key and its certificate chain from a PKCS#12 store.
///
/// The store and the key share `password`. When the store holds several
/// private keys, the first one (in store order) with a certificate is used;
/// its certificate is found by the `localKeyId` attribute, or else by public
/// key. The chain follows issuer names among the store's certificates.
pub fn load_pkcs12(path: &Path, password: &str) -> Result<Credentials, CredentialError> {
    pkcs12_from_bytes(&read_file(path, FileRole::Certificate)?, password, path)
}

/// [`load_pkcs12`] of a store already read from `path` (named in errors).
pub fn pkcs12_from_bytes(
    data: &[u8],
    password: &str,
    path: &Path,
) -> Result<Credentials, CredentialError> {
    let (has_mac, mac_iterations) = pfx_shape(data).ok_or_else(|| CredentialError::BadPkcs12 {
        path: path.to_path_buf(),
        detail: if data.starts_with(b"-----BEGIN") {
            "this is a PEM file, not a PKCS#12 store".to_string()
        } else {
            "not a PKCS#12 (PFX) structure".to_string()
        },
    })?;
    check_pkcs12_cost(data, mac_iterations, path)?;
    let archive =
        Pkcs12Archive::from_pkcs12(data, password).map_err(|e| pkcs12_error(path, has_mac, e))?;
    if archive.keys.is_empty() {
        return Err(CredentialError::NoPrivateKey {
            path: path.to_path_buf(),
        });
    }
    if archive.certs.is_empty() {
        return Err(CredentialError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    let certs: Vec<&[u8]> = archive.certs.iter().map(|c| c.cert.as_der()).collect();
    // Each certificate's RSA key, read once: a store may hold many keys
    // and many certificates.
    let public_keys = certs
        .iter()
        .map(|der| rsa_public_key(der, path))
        .collect::<Result<Vec<_>, _>>()?;

    // The first key with a certificate: by localKeyId, else by public key.
    let mut first_error = None;
    for bag in &archive.keys {
        let by_id = bag.local_key_id.as_ref().and_then(|id| {
            archive
                .certs
                .iter()
                .position(|c| c.local_key_id.as_deref() == Some(id.as_ref()))
        });
        let key = match SigningKey::from_pkcs8(bag.key.as_der(), path) {
            Ok(key) => key,
            // The key of a certificate is the one meant: report its problem.
            Err(e) if by_id.is_some() => return Err(e),
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let matches = |i: usize| key.matches(public_keys[i].as_ref());
        let leaf = match by_id {
            Some(i) if matches(i) => Some(i),
            Some(_) => {
                return Err(CredentialError::KeyMismatch {
                    cert_path: path.to_path_buf(),
                    key_path: path.to_path_buf(),
                })
            }
            None => (0..certs.len()).find(|&i| matches(i)),
        };
        if let Some(leaf) = leaf {
            let chain = build_chain(&certs, leaf)
                .into_iter()
                .map(|i| CertificateDer::from(certs[i].to_vec()))
                .collect();
            return Ok(Credentials { chain, key });
        }
    }
    Err(first_error.unwrap_or(CredentialError::KeyMismatch {
        cert_path: path.to_path_buf(),
        key_path: path.to_path_buf(),
    }))
}

/// Loads a certificate chain (leaf first) from `cert_path` and its private
/// key from `key_path`, which may be the same file.
///
/// `password` is needed only for an encrypted key (see [`needs_password`]);
/// it is ignored for an unencrypted one.
pub fn load_pem(
    cert_path: &Path,
    key_path: &Path,
    password: Option<&str>,
) -> Result<Credentials, CredentialError> {
    load_pem_key(cert_path, &KeyFile::read(key_path)?, password)
}

/// [`load_pem`] with a key file already read (see [`KeyFile`]).
pub fn load_pem_key(
    cert_path: &Path,
    key_file: &KeyFile,
    password: Option<&str>,
) -> Result<Credentials, CredentialError> {
    let cert_data = read_file(cert_path, FileRole::Certificate)?;
    let chain = read_certificates(&cert_data, cert_path)?;
    let key = key_file.private_key(password)?;
    if !key_matches(&key, &chain[0], cert_path)? {
        return Err(CredentialError::KeyMismatch {
            cert_path: cert_path.to_path_buf(),
            key_path: key_file.path.clone(),
        });
    }
    Ok(Credentials { chain, key })
}

/// A private key file, read once: a command asks whether it needs a
/// password and then loads it from the same bytes, so that a key given as
/// a pipe (`--pem-key <(gpg -d key.pem)`) is not read twice (the second
/// open of a FIFO would wait forever for another writer).
#[derive(Clone)]
pub struct KeyFile {
    path: PathBuf,
    data: Vec<u8>,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl KeyFile {
    /// Read the key file at `path` (at most [`MAX_CREDENTIAL_BYTES`]).
    pub fn read(path: &Path) -> Result<KeyFile, CredentialError> {
        Ok(KeyFile::from_bytes(
            path,
            read_file(path, FileRole::PrivateKey)?,
        ))
    }

    /// A key file already read from `path` (named in errors).
    pub fn from_bytes(path: &Path, data: Vec<u8>) -> KeyFile {
        KeyFile {
            path: path.to_path_buf(),
            data,
        }
    }

    /// The private key, decrypted with `password` when it is encrypted.
    pub fn private_key(&self, password: Option<&str>) -> Result<SigningKey, CredentialError> {
        read_private_key(&self.data, &self.path, password)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the key is encrypted, so that the command asks for a
    /// password only when one is needed. A file that cannot be parsed
    /// gives `false`; loading it then reports the problem.
    pub fn needs_password(&self) -> bool {
        let data = &self.data;
        if !contains(data, b"-----BEGIN") {
            return crate::signature::pbe::encryption_algorithm(data).is_some();
        }
        let Ok(blocks) = pem::parse_many(data) else {
            return false;
        };
        blocks
            .iter()
            .find(|b| is_key_tag(b.tag()))
            .is_some_and(|b| b.tag() == "ENCRYPTED PRIVATE KEY" || is_legacy_encrypted(b))
    }
}

/// Whether the key file is encrypted (see [`KeyFile::needs_password`]). A
/// file that cannot be read gives `false`; [`load_pem`] then reports the
/// problem. This reads the file: a command that loads it next should read
/// it once with [`KeyFile::read`].
pub fn needs_password(key_path: &Path) -> bool {
    KeyFile::read(key_path).is_ok_and(|file| file.needs_password())
}

// ---------------------------------------------------------------------------
// Files

fn read_file(path: &Path, role: FileRole) -> Result<Vec<u8>, CredentialError> {
    use std::io::Read as _;

    let io_error = |source: io::Error| {
        if source.kind() == io::ErrorKind::NotFound {
            CredentialError::NotFound {
                path: path.to_path_buf(),
                role,
            }
        } else {
            CredentialError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let mut data = Vec::new();
    file.take(MAX_CREDENTIAL_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(io_error)?;
    if data.len() as u64 > MAX_CREDENTIAL_BYTES {
        return Err(CredentialError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_CREDENTIAL_BYTES,
        });
    }
    Ok(data)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------
// PKCS#12

/// Whether the data is a PFX (SEQUENCE { INTEGER, SEQUENCE, ... }) and, if
/// so, whether it carries a MAC (a third element) and the MAC's iteration
/// count (`MacData ::= SEQUENCE { mac, macSalt, iterations DEFAULT 1 }`;
/// `u64::MAX` when too large to read). `None` if not a PFX.
fn pfx_shape(data: &[u8]) -> Option<(bool, u64)> {
    let (_, pfx) = Any::from_ber(data).ok()?;
    if pfx.tag() != Tag::Sequence {
        return None;
    }
    let mut rest = pfx.data;
    let mut count = 0;
    let mut mac_iterations = 0;
    while !rest.is_empty() {
        let (next, item) = Any::from_ber(rest).ok()?;
        let expected = match count {
            0 => Some(Tag::Integer),
            1 => Some(Tag::Sequence),
            _ => None,
        };
        if expected.is_some_and(|t| t != item.tag()) {
            return None;
        }
        if count == 2 {
            mac_iterations = mac_iteration_count(item.data);
        }
        rest = next;
        count += 1;
    }
    (count >= 2).then_some((count >= 3, mac_iterations))
}

/// The iteration count of a MacData's content: its third field, 1 when
/// absent, `u64::MAX` when it cannot be read as a count.
fn mac_iteration_count(mut fields: &[u8]) -> u64 {
    for _ in 0..2 {
        match Any::from_ber(fields) {
            Ok((next, _)) => fields = next,
            Err(_) => return 1,
        }
    }
    match Any::from_ber(fields) {
        Ok((_, count)) if count.tag() == Tag::Integer => count.as_u64().unwrap_or(u64::MAX),
        _ => 1,
    }
}

/// The key derivations a store asks its reader to run, before any runs:
/// the MAC's, and every one visible without the password (the
/// encryption of each content, each shrouded key bag and secret bag of the
/// unencrypted contents), together within [`crate::signature::pbe::Budget`].
/// p12-keystore bounds each derivation (10^6 iterations) but not how many
/// a store holds, and it tries every secret bag whatever the password: a
/// 1 MiB store without a MAC could hold thousands. Bags inside an
/// encrypted content are reached only with the right password.
fn check_pkcs12_cost(data: &[u8], mac_iterations: u64, path: &Path) -> Result<(), CredentialError> {
    let mut budget = crate::signature::pbe::Budget::default();
    budget
        .charge_iterations(mac_iterations)
        .and_then(|()| budget.charge_der(data))
        .map_err(|e| match e {
            crate::signature::pbe::PbeError::TooCostly(detail) => too_costly(path, detail),
            other => CredentialError::BadPkcs12 {
                path: path.to_path_buf(),
                detail: format!("{other:?}"),
            },
        })
}

fn pkcs12_error(path: &Path, has_mac: bool, e: P12Error) -> CredentialError {
    let wrong_password = CredentialError::WrongPassword {
        path: path.to_path_buf(),
        role: FileRole::Certificate,
    };
    match e {
        P12Error::MacError(_) => wrong_password,
        P12Error::UnsupportedEncryptionScheme | P12Error::UnsupportedMacAlgorithm => {
            CredentialError::UnsupportedEncryption {
                path: path.to_path_buf(),
                what: format!("PKCS#12 {e}"),
            }
        }
        // A bag that does not decrypt: another password than the MAC's.
        P12Error::UnpadError | P12Error::Pkcs5Error(_) | P12Error::InvalidPrivateKey => {
            wrong_password
        }
        // Without a MAC, garbage after decryption is a wrong password too.
        _ if !has_mac => wrong_password,
        other => CredentialError::BadPkcs12 {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    }
}

/// The indices of the chain starting at `leaf`: each next certificate is
/// the (first unused) one whose subject is the previous one's issuer;
/// stops at a self-issued certificate.
fn build_chain(certs: &[&[u8]], leaf: usize) -> Vec<usize> {
    let names: Vec<Option<(Vec<u8>, Vec<u8>)>> = certs
        .iter()
        .map(|der| {
            let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
            Some((
                cert.subject().as_raw().to_vec(),
                cert.issuer().as_raw().to_vec(),
            ))
        })
        .collect();
    chain_by_names(&names, leaf)
}

/// [`build_chain`] over each certificate's (subject, issuer) DER, `None`
/// for one that cannot be parsed. Certificates are indexed by subject, so
/// the cost is linear in their number (a store may hold thousands).
fn chain_by_names(names: &[Option<(Vec<u8>, Vec<u8>)>], leaf: usize) -> Vec<usize> {
    // The certificates of each subject in store order, and how many of
    // them at the front are known to be used (each is passed over once).
    let mut by_subject: std::collections::HashMap<&[u8], (Vec<usize>, usize)> =
        std::collections::HashMap::new();
    for (i, (subject, _)) in names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.as_ref().map(|n| (i, n)))
    {
        by_subject.entry(subject.as_slice()).or_default().0.push(i);
    }
    let mut used = vec![false; names.len()];
    used[leaf] = true;
    let mut chain = vec![leaf];
    let mut current = leaf;
    while let Some((subject, issuer)) = &names[current] {
        if subject == issuer {
            break;
        }
        let next = by_subject
            .get_mut(issuer.as_slice())
            .and_then(|(list, skipped)| {
                while list.get(*skipped).is_some_and(|&i| used[i]) {
                    *skipped += 1;
                }
                list.get(*skipped).copied()
            });
        match next {
            Some(i) => {
                used[i] = true;
                chain.push(i);
                current = i;
            }
            None => break,
        }
    }
    chain
}

// ---------------------------------------------------------------------------
// Certificates

fn parse_certificate<'a>(
    der: &'a [u8],
    path: &Path,
) -> Result<x509_parser::certificate::X509Certificate<'a>, CredentialError> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|e| CredentialError::BadCertificate {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
}

/// All certificates of a certificate file read from `path` (named in
/// errors): each of a PEM file in order, or the single one of a DER file;
/// each must parse as X.509.
pub fn certificates_from_bytes(
    data: &[u8],
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, CredentialError> {
    read_certificates(data, path)
}

/// All certificates of a PEM file in order, or the single certificate of a
/// DER file.
fn read_certificates(
    data: &[u8],
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, CredentialError> {
    let chain: Vec<CertificateDer<'static>> = if contains(data, b"-----BEGIN") {
        // rustls-pki-types cannot skip a legacy encrypted key block (its
        // headers are not base64): drop such blocks first.
        let cleaned = strip_blocks_with_headers(data);
        CertificateDer::pem_slice_iter(&cleaned)
            .collect::<Result<_, _>>()
            .map_err(|e| CredentialError::BadPem {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?
    } else if data.is_empty() {
        Vec::new()
    } else {
        vec![CertificateDer::from(data.to_vec())]
    };
    if chain.is_empty() {
        return Err(CredentialError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    for cert in &chain {
        parse_certificate(cert, path)?;
    }
    Ok(chain)
}

/// The PEM text without the blocks that carry RFC 1421 headers (a line
/// with a colon right after the BEGIN line, e.g. `Proc-Type:`).
fn strip_blocks_with_headers(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut block: Option<(Vec<u8>, bool, bool)> = None; // (text, first line seen, has headers)
    for line in data.split_inclusive(|b| *b == b'\n') {
        let trimmed = line.trim_ascii();
        match &mut block {
            None => {
                if trimmed.starts_with(b"-----BEGIN ") {
                    block = Some((line.to_vec(), false, false));
                } else {
                    out.extend_from_slice(line);
                }
            }
            Some((text, first_seen, headers)) => {
                text.extend_from_slice(line);
                if !*first_seen {
                    *first_seen = true;
                    *headers = trimmed.contains(&b':');
                }
                if trimmed.starts_with(b"-----END ") {
                    if !*headers {
                        out.extend_from_slice(text);
                    }
                    block = None;
                }
            }
        }
    }
    if let Some((text, _, _)) = block {
        out.extend_from_slice(&text);
    }
    out
}

/// Whether the key's public part is the certificate's public key.
fn key_matches(key: &SigningKey, cert_der: &[u8], path: &Path) -> Result<bool, CredentialError> {
    Ok(key.matches(rsa_public_key(cert_der, path)?.as_ref()))
}

/// An RSA public key: modulus and exponent without leading zeros.
type RsaPublic = (Vec<u8>, Vec<u8>);

/// The certificate's RSA public key, `None` for a key of another kind.
fn rsa_public_key(cert_der: &[u8], path: &Path) -> Result<Option<RsaPublic>, CredentialError> {
    let cert = parse_certificate(cert_der, path)?;
    let parsed = cert
        .public_key()
        .parsed()
        .map_err(|e| CredentialError::BadCertificate {
            path: path.to_path_buf(),
            detail: format!("public key: {e}"),
        })?;
    Ok(match parsed {
        PublicKey::RSA(rsa) => Some((
            strip_zeros(rsa.modulus).to_vec(),
            strip_zeros(rsa.exponent).to_vec(),
        )),
        _ => None,
    })
}

impl SigningKey {
    /// Whether `public` is this key's public part.
    fn matches(&self, public: Option<&RsaPublic>) -> bool {
        public.is_some_and(|(modulus, exponent)| {
            *modulus == self.modulus && *exponent == self.exponent
        })
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    &bytes[skip..]
}

// ---------------------------------------------------------------------------
// Private keys

fn is_key_tag(tag: &str) -> bool {
    tag.ends_with("PRIVATE KEY")
}

fn is_legacy_encrypted(block: &pem::Pem) -> bool {
    block
        .headers()
        .get("Proc-Type")
        .is_some_and(|v| v.split(',').any(|p| p.trim() == "ENCRYPTED"))
}

fn read_private_key(
    data: &[u8],
    path: &Path,
    password: Option<&str>,
) -> Result<SigningKey, CredentialError> {
    if !contains(data, b"-----BEGIN") {
        return read_der_key(data, path, password);
    }
    let bad_pem = |detail: String| CredentialError::BadPem {
        path: path.to_path_buf(),
        detail,
    };
    // The pem crate sees the RFC 1421 headers; if it cannot parse the file,
    // rustls-pki-types (below) gives the error.
    let block = match pem::parse_many(data) {
        Ok(blocks) => match blocks.into_iter().find(|b| is_key_tag(b.tag())) {
            Some(block) => Some(block),
            None => {
                return Err(CredentialError::NoPrivateKey {
                    path: path.to_path_buf(),
                })
            }
        },
        Err(_) => None,
    };
    if let Some(block) = &block {
        let tag = block.tag();
        match tag {
            "RSA PRIVATE KEY" | "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {}
            "EC PRIVATE KEY" => return Err(unsupported(path, "EC key")),
            "DSA PRIVATE KEY" => return Err(unsupported(path, "DSA key")),
            "OPENSSH PRIVATE KEY" => {
                return Err(unsupported(
                    path,
                    "OpenSSH key format (convert it with ssh-keygen -p -m PEM)",
                ))
            }
            other => return Err(unsupported(path, &format!("PEM block '{other}'"))),
        }
        if is_legacy_encrypted(block) {
            let password = password.ok_or_else(|| CredentialError::PasswordRequired {
                path: path.to_path_buf(),
            })?;
            let plain = decrypt_legacy_pem(block, path, password.as_bytes())?;
            return match tag {
                "RSA PRIVATE KEY" => {
                    SigningKey::from_pkcs1(&plain, path).map_err(|_| wrong_key_password(path))
                }
                _ => SigningKey::from_pkcs8(&plain, path).map_err(|e| match e {
                    CredentialError::BadKey { .. } => wrong_key_password(path),
                    other => other,
                }),
            };
        }
        if tag == "ENCRYPTED PRIVATE KEY" {
            return decrypt_pkcs8(block.contents(), path, password);
        }
    }
    let cleaned = strip_blocks_with_headers(data);
    let key = PrivateKeyDer::from_pem_slice(&cleaned).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => CredentialError::NoPrivateKey {
            path: path.to_path_buf(),
        },
        other => bad_pem(other.to_string()),
    })?;
    match key {
        PrivateKeyDer::Pkcs1(k) => SigningKey::from_pkcs1(k.secret_pkcs1_der(), path),
        PrivateKeyDer::Pkcs8(k) => SigningKey::from_pkcs8(k.secret_pkcs8_der(), path),
        PrivateKeyDer::Sec1(_) => Err(unsupported(path, "EC key")),
        _ => Err(unsupported(path, "unknown key format")),
    }
}

/// A DER key file: encrypted PKCS#8, PKCS#8 or PKCS#1.
fn read_der_key(
    data: &[u8],
    path: &Path,
    password: Option<&str>,
) -> Result<SigningKey, CredentialError> {
    if crate::signature::pbe::encryption_algorithm(data).is_some() {
        return decrypt_pkcs8(data, path, password);
    }
    if pkcs8::PrivateKeyInfoRef::try_from(data).is_ok() {
        return SigningKey::from_pkcs8(data, path);
    }
    if rsa::pkcs1::RsaPrivateKeyRef::from_der(data).is_ok() {
        return SigningKey::from_pkcs1(data, path);
    }
    Err(CredentialError::NoPrivateKey {
        path: path.to_path_buf(),
    })
}

fn unsupported(path: &Path, what: &str) -> CredentialError {
    CredentialError::UnsupportedKey {
        path: path.to_path_buf(),
        what: what.to_string(),
    }
}

fn wrong_key_password(path: &Path) -> CredentialError {
    CredentialError::WrongPassword {
        path: path.to_path_buf(),
        role: FileRole::PrivateKey,
    }
}

/// How to turn an undecryptable PKCS#8 key into one we read.
const RE_ENCRYPT: &str = "re-encrypt it with: openssl pkcs8 -topk8 -v2 aes-256-cbc";

fn too_costly(path: &Path, detail: String) -> CredentialError {
    CredentialError::TooCostly {
        path: path.to_path_buf(),
        detail,
    }
}

/// Decrypts an `EncryptedPrivateKeyInfo`: PKCS#8 with PBES2, or one of the
/// older schemes of [`crate::signature::pbe`]. Its key derivation is checked against
/// the bounds of [`crate::signature::pbe::Budget`] first: the pkcs8 crate runs PBKDF2
/// with any count up to 2^32 (hours) and scrypt with any parameters (an
/// allocation of petabytes aborts the process).
fn decrypt_pkcs8(
    der: &[u8],
    path: &Path,
    password: Option<&str>,
) -> Result<SigningKey, CredentialError> {
    crate::signature::pbe::Budget::default()
        .charge_der(der)
        .map_err(|e| match e {
            crate::signature::pbe::PbeError::TooCostly(detail) => too_costly(path, detail),
            other => CredentialError::BadKey {
                path: path.to_path_buf(),
                detail: format!("{other:?}"),
            },
        })?;
    if let Some(oid) = crate::signature::pbe::encryption_algorithm(der)
        .filter(|oid| crate::signature::pbe::handles(oid))
    {
        return decrypt_older_pkcs8(der, path, password, &oid);
    }
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der).map_err(|e| {
        match crate::signature::pbe::encryption_algorithm(der) {
            // The pkcs8 crate parses PBES2 and the PKCS#5 PBES1 schemes only.
            Some(oid) => CredentialError::UnsupportedEncryption {
                path: path.to_path_buf(),
                what: format!("PKCS#8 encryption algorithm {oid} ({RE_ENCRYPT})"),
            },
            None => CredentialError::BadKey {
                path: path.to_path_buf(),
                detail: e.to_string(),
            },
        }
    })?;
    let password = password.ok_or_else(|| CredentialError::PasswordRequired {
        path: path.to_path_buf(),
    })?;
    let plain = info.decrypt(password).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { oid }) => {
            CredentialError::UnsupportedEncryption {
                path: path.to_path_buf(),
                what: format!("PKCS#8 encryption algorithm {oid} ({RE_ENCRYPT})"),
            }
        }
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::NoPbes1CryptSupport) => {
            CredentialError::UnsupportedEncryption {
                path: path.to_path_buf(),
                what: format!(
                    "PKCS#8 PBES1 scheme {} ({RE_ENCRYPT})",
                    info.encryption_algorithm.oid()
                ),
            }
        }
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::AlgorithmParametersInvalid {
            oid,
        }) => CredentialError::BadKey {
            path: path.to_path_buf(),
            detail: format!("invalid parameters for {oid}"),
        },
        _ => wrong_key_password(path),
    })?;
    SigningKey::from_pkcs8(plain.as_bytes(), path).map_err(|e| match e {
        CredentialError::BadKey { .. } => wrong_key_password(path),
        other => other,
    })
}

/// Decrypts an `EncryptedPrivateKeyInfo` with PKCS#12 PBE or PBES1.
fn decrypt_older_pkcs8(
    der: &[u8],
    path: &Path,
    password: Option<&str>,
    oid: &str,
) -> Result<SigningKey, CredentialError> {
    let password = password.ok_or_else(|| CredentialError::PasswordRequired {
        path: path.to_path_buf(),
    })?;
    let plain = crate::signature::pbe::decrypt(der, password).map_err(|e| match e {
        crate::signature::pbe::PbeError::WrongPassword => wrong_key_password(path),
        crate::signature::pbe::PbeError::Unsupported(oid) => {
            CredentialError::UnsupportedEncryption {
                path: path.to_path_buf(),
                what: format!("PKCS#8 encryption algorithm {oid} ({RE_ENCRYPT})"),
            }
        }
        crate::signature::pbe::PbeError::Malformed(what) => CredentialError::BadKey {
            path: path.to_path_buf(),
            detail: format!("{oid}: bad {what}"),
        },
        crate::signature::pbe::PbeError::TooCostly(detail) => too_costly(path, detail),
    })?;
    SigningKey::from_pkcs8(&plain, path).map_err(|e| match e {
        CredentialError::BadKey { .. } => wrong_key_password(path),
        other => other,
    })
}

/// Decrypts a legacy OpenSSL PEM block (`Proc-Type: 4,ENCRYPTED`): the key
/// is `EVP_BytesToKey(MD5, 1 iteration, salt = IV[0..8])` of the password,
/// the cipher is CBC with PKCS#7 padding.
fn decrypt_legacy_pem(
    block: &pem::Pem,
    path: &Path,
    password: &[u8],
) -> Result<Vec<u8>, CredentialError> {
    use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt as _, KeyIvInit as _};

    let bad = |detail: &str| CredentialError::BadKey {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    };
    let dek_info = block
        .headers()
        .get("DEK-Info")
        .ok_or_else(|| bad("Proc-Type ENCRYPTED without DEK-Info"))?;
    let (cipher, iv_hex) = dek_info
        .split_once(',')
        .ok_or_else(|| bad("DEK-Info without an IV"))?;
    let cipher = cipher.trim().to_ascii_uppercase();
    let iv = decode_hex(iv_hex.trim()).ok_or_else(|| bad("DEK-Info IV is not hex"))?;
    let (key_len, iv_len) = match cipher.as_str() {
        "DES-EDE3-CBC" => (24, 8),
        "DES-CBC" => (8, 8),
        "AES-128-CBC" => (16, 16),
        "AES-192-CBC" => (24, 16),
        "AES-256-CBC" => (32, 16),
        _ => {
            return Err(CredentialError::UnsupportedEncryption {
                path: path.to_path_buf(),
                what: format!("PEM cipher {cipher}"),
            })
        }
    };
    if iv.len() != iv_len {
        return Err(bad("DEK-Info IV has the wrong length"));
    }
    let key = evp_bytes_to_key_md5(password, &iv[..8], key_len);
    let data = block.contents();
    let result = match cipher.as_str() {
        "DES-EDE3-CBC" => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map(|d| d.decrypt_padded_vec::<Pkcs7>(data)),
        "DES-CBC" => cbc::Decryptor::<des::Des>::new_from_slices(&key, &iv)
            .map(|d| d.decrypt_padded_vec::<Pkcs7>(data)),
        "AES-128-CBC" => cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, &iv)
            .map(|d| d.decrypt_padded_vec::<Pkcs7>(data)),
        "AES-192-CBC" => cbc::Decryptor::<aes::Aes192>::new_from_slices(&key, &iv)
            .map(|d| d.decrypt_padded_vec::<Pkcs7>(data)),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &iv)
            .map(|d| d.decrypt_padded_vec::<Pkcs7>(data)),
    };
    match result {
        Ok(Ok(plain)) => Ok(plain),
        Ok(Err(_)) => Err(wrong_key_password(path)),
        Err(_) => Err(bad("bad key or IV length")),
    }
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one iteration.
fn evp_bytes_to_key_md5(password: &[u8], salt: &[u8], key_len: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(key_len + 16);
    let mut previous: Vec<u8> = Vec::new();
    while key.len() < key_len {
        let mut hasher = crate::image::digest::md5::Md5::new();
        hasher.update(&previous);
        hasher.update(password);
        hasher.update(salt);
        previous = hasher.finalize().to_vec();
        key.extend_from_slice(&previous);
    }
    key.truncate(key_len);
    key
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl SigningKey {
    /// From PKCS#8 DER: RSA keys only, re-wrapped as PKCS#8 version 1.
    fn from_pkcs8(der: &[u8], path: &Path) -> Result<SigningKey, CredentialError> {
        let info =
            pkcs8::PrivateKeyInfoRef::try_from(der).map_err(|e| CredentialError::BadKey {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        let oid = info.algorithm.oid.to_string();
        let what = match oid.as_str() {
            RSA_ENCRYPTION_OID => {
                return SigningKey::from_pkcs1(info.private_key.as_bytes(), path);
            }
            "1.2.840.10045.2.1" => "EC key".to_string(),
            "1.2.840.10040.4.1" => "DSA key".to_string(),
            "1.3.101.112" => "Ed25519 key".to_string(),
            "1.3.101.113" => "Ed448 key".to_string(),
            "1.2.840.113549.1.1.10" => "RSASSA-PSS-only key".to_string(),
            other => format!("key algorithm {other}"),
        };
        Err(CredentialError::UnsupportedKey {
            path: path.to_path_buf(),
            what,
        })
    }

    /// From PKCS#1 `RSAPrivateKey` DER.
    fn from_pkcs1(der: &[u8], path: &Path) -> Result<SigningKey, CredentialError> {
        let key =
            rsa::pkcs1::RsaPrivateKeyRef::from_der(der).map_err(|e| CredentialError::BadKey {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        let modulus = strip_zeros(key.modulus.as_bytes()).to_vec();
        let exponent = strip_zeros(key.public_exponent.as_bytes()).to_vec();
        if modulus.is_empty() || exponent.is_empty() {
            return Err(CredentialError::BadKey {
                path: path.to_path_buf(),
                detail: "zero modulus or exponent".to_string(),
            });
        }
        Ok(SigningKey {
            pkcs8: wrap_pkcs1(der),
            kind: KeyKind::Rsa,
            modulus,
            exponent,
        })
    }
}

/// PKCS#8 v1 `PrivateKeyInfo` around a PKCS#1 RSA key.
fn wrap_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    let mut octets = vec![0x04];
    push_der_len(&mut octets, pkcs1.len());
    octets.extend_from_slice(pkcs1);
    let body_len = 3 + RSA_ALGORITHM_ID.len() + octets.len();
    let mut der = vec![0x30];
    push_der_len(&mut der, body_len);
    der.extend_from_slice(&[0x02, 0x01, 0x00]);
    der.extend_from_slice(RSA_ALGORITHM_ID);
    der.extend_from_slice(&octets);
    der
}

fn push_der_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evp_bytes_to_key_matches_openssl() {
        // openssl enc -des-ede3-cbc|-aes-256-cbc -P -md md5 -pass pass:secret
        //   -S 0102030405060708
        let salt = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(
            evp_bytes_to_key_md5(b"secret", &salt, 24),
            decode_hex("C9E5A1BD216DBE1317E230CEF48F38EE7F0E17AD64022144").unwrap()
        );
        assert_eq!(
            evp_bytes_to_key_md5(b"secret", &salt, 32),
            decode_hex("C9E5A1BD216DBE1317E230CEF48F38EE7F0E17AD64022144BCCEC4A1AA2879AB").unwrap()
        );
    }

    #[test]
    fn hex() {
        assert_eq!(decode_hex("0aFF"), Some(vec![0x0a, 0xff]));
        assert_eq!(decode_hex("0a F"), None);
        assert_eq!(decode_hex("abc"), None);
    }

    #[test]
    fn strips_header_blocks_only() {
        let text = b"junk\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: X,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let out = strip_blocks_with_headers(text);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "junk\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        );
    }

    #[test]
    fn wraps_pkcs1_with_long_lengths() {
        let inner = vec![7u8; 300];
        let der = wrap_pkcs1(&inner);
        // 300 + 4 (OCTET STRING header) + 15 (AlgorithmIdentifier) + 3 (version)
        assert_eq!(&der[..4], &[0x30, 0x82, 0x01, 0x42]);
        assert_eq!(der.len(), 4 + 0x142);
        let info = pkcs8::PrivateKeyInfoRef::try_from(der.as_slice()).unwrap();
        assert_eq!(info.algorithm.oid.to_string(), RSA_ENCRYPTION_OID);
        assert_eq!(info.private_key.as_bytes(), inner.as_slice());
    }

    /// A chain is followed by subject, in store order, each certificate
    /// used once; the cost is linear in the number of certificates (each
    /// step scanned every certificate, checking each against the chain so
    /// far: cubic, hours for a store of 20,000 names).
    #[test]
    fn chains_follow_issuer_names_in_linear_time() {
        let name = |n: usize| format!("CA {n}").into_bytes();
        let count = 20_000;
        // Certificate i is issued by i + 1, stored in reverse; the last is
        // self-issued.
        let mut names: Vec<Option<(Vec<u8>, Vec<u8>)>> = (0..count)
            .rev()
            .map(|i| Some((name(i), name((i + 1).min(count - 1)))))
            .collect();
        let leaf = count - 1;
        let chain = chain_by_names(&names, leaf);
        assert_eq!(chain.len(), count);
        assert!(chain.iter().rev().copied().eq(0..count));
        // Two certificates with one subject: the first in store order; a
        // loop of names ends when every candidate is used.
        names = vec![
            Some((name(0), name(1))),
            Some((name(1), name(0))),
            Some((name(1), name(2))),
            None,
        ];
        assert_eq!(chain_by_names(&names, 0), vec![0, 1]);
        assert_eq!(chain_by_names(&names, 3), vec![3]);
    }
}
