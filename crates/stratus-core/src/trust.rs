//! Trust in a signer's certificate: trust anchors, CRLs, chain and time
//! checks. The legacy tools never checked certificates; stratus does when a
//! site gives anchors (`--ca`, `--trust-dir`) and CRLs (`--crl`).
//!
//! Chains are built and checked with rustls-webpki (path building, validity
//! periods, CRL revocation). Grid CAs of the legacy era sign with SHA-1,
//! which webpki leaves out, so RSA with SHA-1 is added here on top of ring's
//! legacy verifier. Document signing has no extended key usage of its own:
//! certificates with none, or with client authentication (grid user
//! certificates), code signing, e-mail protection or any purpose are
//! accepted; a key usage, when present, must allow signatures.
//!
//! A `--trust-dir` may also carry IGTF namespace policies, which limit the
//! subject names each CA may certify; every certificate of the verified
//! chain must respect its issuer's ([`crate::namespaces`]).

use crate::clock::{self, Timestamp};
use crate::namespaces::{Format, Namespaces};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{
    alg_id, AlgorithmIdentifier, CertificateDer, CertificateRevocationListDer, InvalidSignature,
    SignatureVerificationAlgorithm, UnixTime,
};
use std::fmt;
use std::path::{Path, PathBuf};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyPurposeIdIter, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};

/// Why a signer is not trusted, or why the trust material could not be used.
#[derive(Debug)]
pub enum TrustError {
    /// A trust file or directory could not be read.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A trust file holds no usable certificate or CRL.
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No chain from the signer's certificate to a trust anchor.
    Untrusted(String),
    /// The signer's certificate (or one in its chain) is revoked.
    Revoked,
    /// The signer's certificate (or one in its chain) has expired.
    Expired(String),
    /// The signer's certificate (or one in its chain) is not valid yet.
    NotYetValid(String),
    /// A certificate of the chain names a subject its issuer may not
    /// certify (the IGTF namespace policy of a `--trust-dir`).
    OutsideNamespace(crate::namespaces::Violation),
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            TrustError::BadFile { path, reason } => write!(f, "{}: {reason}", path.display()),
            TrustError::Untrusted(detail) => write!(f, "signer not trusted: {detail}"),
            TrustError::Revoked => f.write_str("signer not trusted: certificate revoked"),
            TrustError::OutsideNamespace(violation) => {
                write!(f, "signer not trusted: {violation}")
            }
            TrustError::Expired(detail) => {
                write!(f, "signer not trusted: certificate expired ({detail})")
            }
            TrustError::NotYetValid(detail) => {
                write!(
                    f,
                    "signer not trusted: certificate not valid yet ({detail})"
                )
            }
        }
    }
}

impl std::error::Error for TrustError {}

/// Trust anchors and CRLs: what a site trusts.
#[derive(Debug, Default)]
pub struct TrustStore {
    anchors: Vec<CertificateDer<'static>>,
    crls: Vec<LoadedCrl>,
    namespaces: Namespaces,
    /// The names of every anchor: who issued which CA, for finding the
    /// nearest CA with a namespace policy above a certificate.
    anchor_names: Vec<Names>,
}

/// A certificate's subject and issuer in slash form.
#[derive(Debug, Clone)]
struct Names {
    subject: String,
    issuer: String,
}

impl Names {
    /// The names of a certificate; `None` when it cannot be parsed or a
    /// name is not parsed whole (the rest would escape the policies).
    fn of(der: &[u8]) -> Option<Names> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        if !crate::dn::fully_parsed(cert.subject()) || !crate::dn::fully_parsed(cert.issuer()) {
            return None;
        }
        Some(Names {
            subject: crate::dn::openssl_slash(cert.subject()),
            issuer: crate::dn::openssl_slash(cert.issuer()),
        })
    }

    fn self_issued(&self) -> bool {
        self.subject.eq_ignore_ascii_case(&self.issuer)
    }
}

/// A CRL with what is needed to keep only the newest one per issuer.
#[derive(Debug)]
struct LoadedCrl {
    crl: OwnedCertRevocationList,
    /// The issuer's name, DER.
    issuer: Vec<u8>,
    /// `thisUpdate`, seconds since the epoch.
    issued: i64,
}

/// What a check needs: the store and the time to check at.
#[derive(Debug)]
pub struct TrustOptions {
    /// Anchors and CRLs; an empty store means "not trust-checked".
    pub store: TrustStore,
    /// The time the certificates must be valid at.
    pub at: Timestamp,
}

impl TrustOptions {
    /// No anchors (legacy behaviour: the signature is checked with the
    /// embedded certificate only), at the current time.
    pub fn none() -> Self {
        TrustOptions {
            store: TrustStore::default(),
            at: clock::now(),
        }
    }

    /// Whether any trust option was given.
    pub fn is_enabled(&self) -> bool {
        !self.store.anchors.is_empty()
    }
}

impl TrustStore {
    /// The number of anchors.
    pub fn anchor_count(&self) -> usize {
        self.anchors.len()
    }

    /// The number of CRLs.
    pub fn crl_count(&self) -> usize {
        self.crls.len()
    }

    /// Whether any namespace policy was loaded.
    pub fn has_namespace_policies(&self) -> bool {
        !self.namespaces.is_empty()
    }

    /// Add the CA certificates of a PEM (or DER) file as anchors (`--ca`).
    pub fn add_ca_file(&mut self, path: &Path) -> Result<(), TrustError> {
        let bytes = read(path)?;
        let certs = parse_certificates(&bytes);
        if certs.is_empty() {
            return Err(TrustError::BadFile {
                path: path.to_path_buf(),
                reason: "no certificate found (expected PEM or DER)".into(),
            });
        }
        for cert in certs {
            webpki::anchor_from_trusted_cert(&cert).map_err(|e| TrustError::BadFile {
                path: path.to_path_buf(),
                reason: format!("not usable as a trust anchor: {e}"),
            })?;
            let names = Names::of(&cert).ok_or_else(|| TrustError::BadFile {
                path: path.to_path_buf(),
                reason: "the certificate's names cannot be read".into(),
            })?;
            // Kept in step with `anchors`: the same index is the same CA.
            self.anchor_names.push(names);
            self.anchors.push(cert);
        }
        Ok(())
    }

    /// Add the CRLs of a PEM (or DER) file (`--crl`).
    pub fn add_crl_file(&mut self, path: &Path) -> Result<(), TrustError> {
        let bytes = read(path)?;
        let ders: Vec<Vec<u8>> = match CertificateRevocationListDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(list) if !list.is_empty() => list.into_iter().map(|c| c.to_vec()).collect(),
            _ => vec![bytes],
        };
        for der in ders {
            let bad = |reason: String| TrustError::BadFile {
                path: path.to_path_buf(),
                reason: format!("not a usable CRL: {reason}"),
            };
            let crl = OwnedCertRevocationList::from_der(&der).map_err(|e| bad(e.to_string()))?;
            let (_, parsed) = x509_parser::parse_x509_crl(&der).map_err(|e| bad(e.to_string()))?;
            self.add_crl(LoadedCrl {
                crl,
                issuer: parsed.issuer().as_raw().to_vec(),
                issued: parsed.last_update().timestamp(),
            });
        }
        Ok(())
    }

    /// Keep only the newest CRL of each issuer: webpki consults the first
    /// CRL it finds for an issuer, and an older one must not hide a newer
    /// revocation.
    fn add_crl(&mut self, loaded: LoadedCrl) {
        match self.crls.iter_mut().find(|c| c.issuer == loaded.issuer) {
            Some(existing) if existing.issued < loaded.issued => *existing = loaded,
            Some(_) => {}
            None => self.crls.push(loaded),
        }
    }

    /// Add an IGTF-style CA directory (`--trust-dir`): anchors from `*.pem`
    /// and `<hash>.N` files, CRLs from `<hash>.rN` files, and the namespace
    /// policies of `<hash>.namespaces` and `<hash>.signing_policy` files
    /// (see [`crate::namespaces`]). Other files (`.info`, `.crl_url`) are
    /// ignored.
    pub fn add_trust_dir(&mut self, dir: &Path) -> Result<(), TrustError> {
        let io = |source| TrustError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        let before = self.anchors.len();
        for path in &paths {
            match classify(path) {
                Some(TrustFile::Anchor) => self.add_ca_file(path)?,
                Some(TrustFile::Crl) => self.add_crl_file(path)?,
                Some(TrustFile::Namespaces) => self.add_policy_file(path, Format::EuGridPma)?,
                Some(TrustFile::SigningPolicy) => self.add_policy_file(path, Format::Globus)?,
                None => {}
            }
        }
        if self.anchors.len() == before {
            return Err(TrustError::BadFile {
                path: dir.to_path_buf(),
                reason: "no CA certificates (*.pem or <hash>.0) in this directory".into(),
            });
        }
        Ok(())
    }

    /// Add the namespace policy file of the CA certificate beside it:
    /// `<name>.0` or `<name>.pem` for `<name>.namespaces` (IGTF bundles
    /// have both the hash and the alias forms). A policy file with neither
    /// is refused: it would constrain nothing.
    fn add_policy_file(&mut self, path: &Path, format: Format) -> Result<(), TrustError> {
        let bad = |reason: String| TrustError::BadFile {
            path: path.to_path_buf(),
            reason,
        };
        let ca = sibling_ca_subject(path).ok_or_else(|| {
            bad("no CA certificate beside it (the same name ending in .0 or .pem)".into())
        })?;
        let bytes = read(path)?;
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
        let result = match format {
            Format::EuGridPma => self.namespaces.add_namespaces(path, &text, &ca),
            Format::Globus => self.namespaces.add_signing_policy(path, &text, &ca),
        };
        result.map_err(|e| bad(e.to_string()))
    }

    /// Check that `leaf` chains to an anchor through `intermediates`, that
    /// every certificate of the chain is valid at `at`, and that none is
    /// revoked by a CRL of its issuer (when the store has one).
    pub fn verify(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        at: Timestamp,
    ) -> Result<(), TrustError> {
        let anchors: Vec<_> = self
            .anchors
            .iter()
            .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
            .collect();
        if anchors.is_empty() {
            return Err(TrustError::Untrusted("no trust anchors were given".into()));
        }
        let cert = EndEntityCert::try_from(leaf)
            .map_err(|e| TrustError::Untrusted(format!("unusable certificate: {e}")))?;
        let crl_refs: Vec<CertRevocationList<'_>> = self
            .crls
            .iter()
            .map(|c| CertRevocationList::Owned(c.crl.clone()))
            .collect();
        let crl_list: Vec<&CertRevocationList<'_>> = crl_refs.iter().collect();
        let revocation = RevocationOptionsBuilder::new(&crl_list)
            .ok()
            .map(|builder| {
                builder
                    .with_depth(RevocationCheckDepth::Chain)
                    .with_status_policy(UnknownStatusPolicy::Allow)
                    .with_expiration_policy(ExpirationPolicy::Enforce)
                    .build()
            });
        let seconds = u64::try_from(at).unwrap_or(0);
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds));
        let path = cert
            .verify_for_usage(
                SIGNATURE_ALGORITHMS,
                &anchors,
                intermediates,
                time,
                SigningPurposes,
                revocation,
                None,
            )
            .map_err(|e| describe(e, at))?;
        check_key_usage(leaf)?;
        if self.namespaces.is_empty() {
            return Ok(());
        }
        let unusable = || {
            TrustError::Untrusted(
                "a certificate of the chain has a name that cannot be read whole, so its namespace cannot be checked".into(),
            )
        };
        let mut chain = Vec::new();
        for der in std::iter::once(path.end_entity().der())
            .chain(path.intermediate_certificates().map(|c| c.der()))
        {
            chain.push(Names::of(&der).ok_or_else(unusable)?);
        }
        // The anchor webpki used, by identity: the same index in `anchors`
        // and `anchor_names` (every stored anchor converts, so none is
        // skipped by the filter_map above).
        let anchor = anchors
            .iter()
            .position(|a| std::ptr::eq(a, path.anchor()))
            .map(|index| &self.anchor_names[index])
            .ok_or_else(unusable)?;
        self.check_namespaces(&chain, anchor)
    }

    /// Every certificate of a verified chain (signer first, then the
    /// intermediates), and the anchor when it is not self-issued (a sub-CA
    /// trusted directly), must be one the nearest CA above it with a
    /// namespace policy may certify. "Nearest" skips CAs without a policy,
    /// so that a CA cannot escape its namespace by certifying a sub-CA.
    ///
    /// The CAs above a certificate are taken by position in the verified
    /// chain, then the anchor, then, by name, the anchors that certified
    /// that anchor (each name once, so a loop of names ends the walk).
    fn check_namespaces(&self, chain: &[Names], anchor: &Names) -> Result<(), TrustError> {
        let above_anchor = self.issuers_above(anchor);
        let check = |subject: &str, above: Vec<&str>| match above
            .into_iter()
            .find(|ca| self.namespaces.has_policy(ca))
        {
            Some(ca) => self
                .namespaces
                .check(ca, subject)
                .map_err(TrustError::OutsideNamespace),
            None => Ok(()),
        };
        for (position, cert) in chain.iter().enumerate() {
            let above = chain[position + 1..]
                .iter()
                .map(|n| n.subject.as_str())
                .chain(std::iter::once(anchor.subject.as_str()))
                .chain(above_anchor.iter().copied())
                .collect();
            check(&cert.subject, above)?;
        }
        if !anchor.self_issued() {
            check(&anchor.subject, above_anchor)?;
        }
        Ok(())
    }

    /// The names of the CAs above a trusted anchor, nearest first, found by
    /// name among the anchors; stops at a self-issued CA, an unknown one or
    /// a name already seen.
    fn issuers_above<'a>(&'a self, anchor: &'a Names) -> Vec<&'a str> {
        let mut names: Vec<&str> = Vec::new();
        let mut current = anchor;
        while !current.self_issued() {
            let issuer = current.issuer.as_str();
            let seen = issuer.eq_ignore_ascii_case(&anchor.subject)
                || names.iter().any(|n| n.eq_ignore_ascii_case(issuer));
            if seen {
                break;
            }
            names.push(issuer);
            match self
                .anchor_names
                .iter()
                .find(|n| n.subject.eq_ignore_ascii_case(issuer))
            {
                Some(next) => current = next,
                None => break,
            }
        }
        names
    }
}

fn describe(error: webpki::Error, at: Timestamp) -> TrustError {
    let when = clock::format_utc(at);
    match error {
        webpki::Error::CertExpired { .. } => TrustError::Expired(format!("checked at {when}")),
        webpki::Error::CertNotValidYet { .. } => {
            TrustError::NotYetValid(format!("checked at {when}"))
        }
        webpki::Error::CertRevoked => TrustError::Revoked,
        webpki::Error::UnknownIssuer => {
            TrustError::Untrusted("no chain to a trust anchor (unknown issuer)".into())
        }
        webpki::Error::CrlExpired { .. } => TrustError::Untrusted(format!(
            "the CRL of an issuer in the chain has expired (checked at {when})"
        )),
        #[allow(deprecated)]
        webpki::Error::RequiredEkuNotFound => TrustError::Untrusted(
            "the extended key usage of a certificate in the chain does not allow signing (clientAuth, codeSigning, emailProtection or anyExtendedKeyUsage expected)".into(),
        ),
        other => TrustError::Untrusted(other.to_string()),
    }
}

enum TrustFile {
    Anchor,
    Crl,
    Namespaces,
    SigningPolicy,
}

/// `*.pem`, `<hash>.N` are anchors; `<hash>.rN` are CRLs;
/// `<hash>.namespaces` and `<hash>.signing_policy` are namespace policies.
fn classify(path: &Path) -> Option<TrustFile> {
    let extension = path.extension()?.to_str()?;
    match extension {
        "pem" => return Some(TrustFile::Anchor),
        "namespaces" => return Some(TrustFile::Namespaces),
        "signing_policy" => return Some(TrustFile::SigningPolicy),
        _ => {}
    }
    if !extension.is_empty() && extension.bytes().all(|b| b.is_ascii_digit()) {
        return Some(TrustFile::Anchor);
    }
    let digits = extension.strip_prefix('r')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(TrustFile::Crl)
}

/// The subject (slash form) of the CA certificate beside a policy file:
/// `<name>.0`, or else `<name>.pem`.
fn sibling_ca_subject(policy: &Path) -> Option<String> {
    ["0", "pem"].iter().find_map(|extension| {
        let bytes = std::fs::read(policy.with_extension(extension)).ok()?;
        let der = parse_certificates(&bytes).into_iter().next()?;
        Names::of(&der).map(|names| names.subject)
    })
}

fn read(path: &Path) -> Result<Vec<u8>, TrustError> {
    let limit = crate::input::MAX_DOCUMENT_BYTES;
    let file = std::fs::File::open(path).map_err(|source| TrustError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    crate::input::read_limited(file, &path.display().to_string(), limit).map_err(|e| {
        TrustError::BadFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    })
}

/// The certificates of a PEM file, or the single certificate of a DER file.
fn parse_certificates(bytes: &[u8]) -> Vec<CertificateDer<'static>> {
    let pem: Vec<_> = CertificateDer::pem_slice_iter(bytes)
        .filter_map(Result::ok)
        .collect();
    if !pem.is_empty() {
        return pem;
    }
    if x509_parser::parse_x509_certificate(bytes).is_ok() {
        return vec![CertificateDer::from(bytes.to_vec())];
    }
    Vec::new()
}

/// The extended key usages that allow signing a document: none at all,
/// anyExtendedKeyUsage, clientAuth (grid user certificates), codeSigning or
/// emailProtection. A server-only or OCSP certificate does not sign images.
struct SigningPurposes;

const SIGNING_PURPOSES: [&[usize]; 4] = [
    &[2, 5, 29, 37, 0],
    &[1, 3, 6, 1, 5, 5, 7, 3, 2],
    &[1, 3, 6, 1, 5, 5, 7, 3, 3],
    &[1, 3, 6, 1, 5, 5, 7, 3, 4],
];

impl webpki::ExtendedKeyUsageValidator for SigningPurposes {
    fn validate(&self, purposes: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let mut empty = true;
        for purpose in purposes {
            empty = false;
            if SIGNING_PURPOSES.contains(&purpose?.to_decoded_oid().as_slice()) {
                return Ok(());
            }
        }
        if empty {
            return Ok(());
        }
        #[allow(deprecated)]
        Err(webpki::Error::RequiredEkuNotFound)
    }
}

/// When the signer's certificate limits its key usage, signing must be
/// among them (digitalSignature or nonRepudiation); webpki leaves key usage
/// of end-entity certificates unchecked.
fn check_key_usage(leaf: &CertificateDer<'_>) -> Result<(), TrustError> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| TrustError::Untrusted(format!("unusable certificate: {e}")))?;
    match cert.key_usage() {
        Ok(Some(usage)) if !usage.value.digital_signature() && !usage.value.non_repudiation() => {
            Err(TrustError::Untrusted(
                "the certificate's key usage does not allow signatures".into(),
            ))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(TrustError::Untrusted(format!("unreadable key usage: {e}"))),
    }
}

/// `sha1WithRSAEncryption` (1.2.840.113549.1.1.5) with a NULL parameter,
/// as the content of an AlgorithmIdentifier.
const RSA_PKCS1_SHA1: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
]);

/// RSA PKCS#1 v1.5 with SHA-1, for certificates and CRLs of legacy CAs.
#[derive(Debug)]
struct LegacyRsaSha1;

impl SignatureVerificationAlgorithm for LegacyRsaSha1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            public_key,
        )
        .verify(message, signature)
        .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        RSA_PKCS1_SHA1
    }
}

/// Every algorithm accepted in chains: webpki's (RSA with SHA-2, RSA-PSS,
/// ECDSA, Ed25519) plus RSA with SHA-1.
static SIGNATURE_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PKCS1_3072_8192_SHA384,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    &LegacyRsaSha1,
];
