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
//! chain must respect its issuer's ([`crate::signature::namespaces`]).
//!
//! On top of webpki, the verified chain must also pass what a document
//! signer needs ([`Check`]): every name of the chain readable whole; RSA
//! keys of at least 2048 bits with an exponent of at least 65537
//! ([`crate::signature::keys`], unless [`Policy::allow_weak_keys`]); with
//! [`CrlMode::Require`], a current CRL of every CA of the chain; and the
//! e-mail name constraints (RFC 5280 rfc822Name, [`crate::signature::email`]) of every
//! CA of the chain, on the e-mail names of the certificates below it and on
//! the e-mail the endorsement claims. webpki knows rfc822Name constraints
//! only as a form it does not support: below a CA that has any, it refuses
//! every certificate with an rfc822Name subjectAltName, matching or not, and
//! it never looks at the subject's emailAddress or at the document. So the
//! e-mail subtrees of a trust anchor are taken out of what webpki sees and
//! checked here instead; those of an intermediate CA sent in the document
//! stay with webpki (it fails closed), and are checked here as well.

use crate::clock::{self, Timestamp};
use crate::signature::email::{split_name_constraints, SplitConstraints};
use crate::signature::namespaces::{Format, Namespaces};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::TrustAnchor;
use rustls_pki_types::{
    alg_id, AlgorithmIdentifier, CertificateDer, CertificateRevocationListDer, InvalidSignature,
    SignatureVerificationAlgorithm, UnixTime,
};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyPurposeIdIter, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};
use x509_parser::certificate::X509Certificate;

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
    OutsideNamespace(crate::signature::namespaces::Violation),
    /// A certificate of the chain has a subject or issuer name that cannot
    /// be read whole (an empty RDN, trailing bytes).
    UnreadableName {
        /// Which certificate: "the signer's certificate", or the CA by
        /// position.
        whose: String,
    },
    /// An RSA key of the chain is too weak (see [`crate::signature::keys`]).
    WeakKey {
        /// Which certificate: "the signer's certificate", or "CA `<name>`".
        whose: String,
        /// Why the key is weak.
        reason: String,
    },
    /// A CA of the chain has no current CRL, and CRLs are required
    /// ([`CrlMode::Require`]).
    CrlRequired {
        /// The CA, in RFC 2253 form.
        ca: String,
        /// What is missing: no CRL, or one not valid yet.
        reason: String,
    },
    /// The CRL of a CA of the chain has expired.
    CrlExpired {
        /// The CA, in RFC 2253 form.
        ca: String,
        /// When the CRL expired, and the time checked at.
        detail: String,
    },
    /// An e-mail address is outside the rfc822Name name constraints of a
    /// CA of the chain.
    EmailOutsideConstraints {
        /// The address.
        email: String,
        /// Whether it is the endorsement's claim (else a certificate's).
        claimed: bool,
        /// The constraining CA, in RFC 2253 form.
        ca: String,
    },
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
            TrustError::UnreadableName { whose } => write!(
                f,
                "signer not trusted: {whose} has a name that cannot be read whole (an empty RDN or trailing bytes)"
            ),
            TrustError::WeakKey { whose, reason } => {
                write!(f, "signer not trusted: weak key: {whose}: {reason}")
            }
            TrustError::CrlRequired { ca, reason } => write!(
                f,
                "signer not trusted: CRLs are required, and CA {ca} has no current CRL ({reason})"
            ),
            TrustError::CrlExpired { ca, detail } => {
                write!(f, "signer not trusted: the CRL of CA {ca} has expired ({detail})")
            }
            TrustError::EmailOutsideConstraints { email, claimed, ca } => write!(
                f,
                "signer not trusted: {} {email} is outside the e-mail names CA {ca} may certify (its name constraints)",
                if *claimed {
                    "the endorsement's e-mail"
                } else {
                    "the certificate's e-mail"
                }
            ),
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
    /// The name constraints of every anchor, split into the e-mail
    /// subtrees (checked here) and the rest (given to webpki).
    anchor_constraints: Vec<SplitConstraints>,
    /// The position in `crls` of each issuer's CRL, by the issuer's DER
    /// name: adding many CRLs costs time linear in their number.
    crl_index: HashMap<Vec<u8>, usize>,
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
        if !crate::signature::dn::fully_parsed(cert.subject())
            || !crate::signature::dn::fully_parsed(cert.issuer())
        {
            return None;
        }
        Some(Names {
            subject: crate::signature::dn::openssl_slash(cert.subject()),
            issuer: crate::signature::dn::openssl_slash(cert.issuer()),
        })
    }

    fn self_issued(&self) -> bool {
        self.subject.eq_ignore_ascii_case(&self.issuer)
    }
}

/// A CRL with what is needed to keep only the newest one per issuer.
#[derive(Debug)]
struct LoadedCrl {
    crl: CertRevocationList<'static>,
    /// The issuer's name, DER.
    issuer: Vec<u8>,
    /// `thisUpdate`, seconds since the epoch.
    issued: i64,
    /// `nextUpdate`, seconds since the epoch (webpki requires one).
    expires: Option<i64>,
}

/// How CRLs are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrlMode {
    /// A certificate is checked against its issuer's CRL when the site
    /// gave one; an issuer without a CRL is not revocation-checked.
    #[default]
    IfPresent,
    /// Every CA of the chain must have a current CRL (issued at or before
    /// the check time, not expired), else the signer is not trusted.
    Require,
}

/// What a trust check requires besides a chain to an anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Accept RSA keys under 2048 bits or with an exponent under 65537
    /// (for archives of old documents).
    pub allow_weak_keys: bool,
    /// How CRLs are used.
    pub crl_mode: CrlMode,
}

/// One trust check: when, under which policy, and the e-mail the
/// endorsement claims for the signer.
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    /// The time the certificates must be valid at.
    pub at: Timestamp,
    /// What is required besides the chain.
    pub policy: Policy,
    /// The endorsement's e-mail: it must be within the e-mail name
    /// constraints of every CA of the chain.
    pub claimed_email: Option<&'a str>,
}

/// What a check needs: the store, the time to check at and the policy.
#[derive(Debug)]
pub struct TrustOptions {
    /// Anchors and CRLs; an empty store means "not trust-checked".
    pub store: TrustStore,
    /// The time the certificates must be valid at.
    pub at: Timestamp,
    /// What is required besides the chain.
    pub policy: Policy,
}

impl TrustOptions {
    /// No anchors (legacy behaviour: the signature is checked with the
    /// embedded certificate only), at the current time.
    pub fn none() -> Self {
        TrustOptions {
            store: TrustStore::default(),
            at: clock::now(),
            policy: Policy::default(),
        }
    }

    /// Whether any trust option was given.
    pub fn is_enabled(&self) -> bool {
        !self.store.anchors.is_empty()
    }

    /// Check a signer (see [`TrustStore::verify_signer`]) at these
    /// options' time and policy.
    pub fn verify(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        claimed_email: Option<&str>,
    ) -> Result<(), TrustError> {
        let check = Check {
            at: self.at,
            policy: self.policy,
            claimed_email,
        };
        self.store.verify_signer(leaf, intermediates, &check)
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
    ///
    /// The file may be of any kind (`<(...)` gives a pipe); it is read up
    /// to [`MAX_TRUST_FILE_BYTES`].
    pub fn add_ca_file(&mut self, path: &Path) -> Result<(), TrustError> {
        let bytes = read(path, Kind::Any)?;
        self.add_ca_bytes(path, &bytes)
    }

    /// Add the CA certificates of `bytes` (PEM or DER), read from `path`
    /// (named in errors), as [`TrustStore::add_ca_file`] does.
    pub fn add_ca_bytes(&mut self, path: &Path, bytes: &[u8]) -> Result<(), TrustError> {
        let certs = parse_certificates(bytes);
        if certs.is_empty() {
            return Err(TrustError::BadFile {
                path: path.to_path_buf(),
                reason: "no certificate found (expected PEM or DER)".into(),
            });
        }
        self.add_ca_certificates(certs, path)
    }

    /// Add CA certificates already read out of a container (a PKCS#12
    /// trust store) as anchors; `origin` names the container in errors.
    pub fn add_ca_certificates(
        &mut self,
        certs: Vec<CertificateDer<'static>>,
        origin: &Path,
    ) -> Result<(), TrustError> {
        let path = origin;
        for cert in certs {
            webpki::anchor_from_trusted_cert(&cert).map_err(|e| TrustError::BadFile {
                path: path.to_path_buf(),
                reason: format!("not usable as a trust anchor: {e}"),
            })?;
            let names = Names::of(&cert).ok_or_else(|| TrustError::BadFile {
                path: path.to_path_buf(),
                reason: "the certificate's names cannot be read".into(),
            })?;
            let constraints = x509_parser::parse_x509_certificate(&cert)
                .map_err(|e| e.to_string())
                .and_then(|(_, parsed)| name_constraints(&parsed))
                .map_err(|reason| TrustError::BadFile {
                    path: path.to_path_buf(),
                    reason: format!("not usable as a trust anchor: {reason}"),
                })?;
            // Kept in step with `anchors`: the same index is the same CA.
            self.anchor_names.push(names);
            self.anchor_constraints.push(constraints);
            self.anchors.push(cert);
        }
        Ok(())
    }

    /// Add the CRLs of a PEM (or DER) file (`--crl`).
    ///
    /// The file may be of any kind; it is read up to
    /// [`MAX_TRUST_FILE_BYTES`].
    pub fn add_crl_file(&mut self, path: &Path) -> Result<(), TrustError> {
        let bytes = read(path, Kind::Any)?;
        self.add_crl_bytes(path, &bytes)
    }

    /// Add the CRLs of `bytes` (PEM or DER), read from `path` (named in
    /// errors), as [`TrustStore::add_crl_file`] does.
    pub fn add_crl_bytes(&mut self, path: &Path, bytes: &[u8]) -> Result<(), TrustError> {
        let ders: Vec<Vec<u8>> = match CertificateRevocationListDer::pem_slice_iter(bytes)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(list) if !list.is_empty() => list.into_iter().map(|c| c.to_vec()).collect(),
            _ => vec![bytes.to_vec()],
        };
        for der in ders {
            let bad = |reason: String| TrustError::BadFile {
                path: path.to_path_buf(),
                reason: format!("not a usable CRL: {reason}"),
            };
            let crl = OwnedCertRevocationList::from_der(&der).map_err(|e| bad(e.to_string()))?;
            let (_, parsed) = x509_parser::parse_x509_crl(&der).map_err(|e| bad(e.to_string()))?;
            self.add_crl(LoadedCrl {
                crl: CertRevocationList::Owned(crl),
                issuer: parsed.issuer().as_raw().to_vec(),
                issued: parsed.last_update().timestamp(),
                expires: parsed.next_update().map(|t| t.timestamp()),
            });
        }
        Ok(())
    }

    /// Keep only the newest CRL of each issuer: webpki consults the first
    /// CRL it finds for an issuer, and an older one must not hide a newer
    /// revocation.
    fn add_crl(&mut self, loaded: LoadedCrl) {
        match self.crl_index.get(&loaded.issuer) {
            Some(&at) if self.crls[at].issued < loaded.issued => self.crls[at] = loaded,
            Some(_) => {}
            None => {
                self.crl_index
                    .insert(loaded.issuer.clone(), self.crls.len());
                self.crls.push(loaded);
            }
        }
    }

    /// The CRL of the CA whose subject is `issuer` (DER), if any.
    fn crl_of(&self, issuer: &[u8]) -> Option<&LoadedCrl> {
        self.crl_index.get(issuer).map(|&at| &self.crls[at])
    }

    /// Add an IGTF-style CA directory (`--trust-dir`): anchors from `*.pem`
    /// and `<hash>.N` files, CRLs from `<hash>.rN` files, and the namespace
    /// policies of `<hash>.namespaces` and `<hash>.signing_policy` files
    /// (see [`crate::signature::namespaces`]). Other files (`.info`, `.crl_url`) are
    /// ignored.
    ///
    /// Symbolic links are followed (IGTF bundles link `<hash>.0` to
    /// `<alias>.pem`), but every file read must be a regular file of at
    /// most [`MAX_TRUST_FILE_BYTES`]: a FIFO would block the command and a
    /// device might never end, so either is refused, naming it, as is an
    /// entry that cannot be listed (a CRL left out silently would fail
    /// open).
    pub fn add_trust_dir(&mut self, dir: &Path) -> Result<(), TrustError> {
        let io = |source| TrustError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        paths.sort();
        let before = self.anchors.len();
        for path in &paths {
            match classify(path) {
                Some(TrustFile::Anchor) => self.add_ca_bytes(path, &read(path, Kind::Regular)?)?,
                Some(TrustFile::Crl) => self.add_crl_bytes(path, &read(path, Kind::Regular)?)?,
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
        let ca = sibling_ca_subject(path)?.ok_or_else(|| {
            bad("no CA certificate beside it (the same name ending in .0 or .pem)".into())
        })?;
        let bytes = read(path, Kind::Regular)?;
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
        let result = match format {
            Format::EuGridPma => self.namespaces.add_namespaces(path, &text, &ca),
            Format::Globus => self.namespaces.add_signing_policy(path, &text, &ca),
        };
        result.map_err(|e| bad(e.to_string()))
    }

    /// Check that `leaf` chains to an anchor through `intermediates`, that
    /// every certificate of the chain is valid at `at`, and that none is
    /// revoked by a CRL of its issuer (when the store has one), under the
    /// default [`Policy`] and with no endorsement e-mail to check (see
    /// [`TrustStore::verify_signer`]).
    pub fn verify(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        at: Timestamp,
    ) -> Result<(), TrustError> {
        let check = Check {
            at,
            policy: Policy::default(),
            claimed_email: None,
        };
        self.verify_signer(leaf, intermediates, &check)
    }

    /// Check a document's signer: `leaf` must chain to an anchor through
    /// `intermediates`, every certificate of the chain be valid at
    /// `check.at` and not revoked by a CRL of its issuer; then the verified
    /// chain must pass, in this order: every name readable whole, key
    /// strength (unless weak keys are allowed), the signer's key usage,
    /// current CRLs (when required), the e-mail name constraints of its CAs
    /// (on the certificates' e-mails and `check.claimed_email`) and the
    /// namespace policies.
    pub fn verify_signer(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        check: &Check<'_>,
    ) -> Result<(), TrustError> {
        let anchors = self.webpki_anchors()?;
        if anchors.is_empty() {
            return Err(TrustError::Untrusted("no trust anchors were given".into()));
        }
        let cert = EndEntityCert::try_from(leaf)
            .map_err(|e| TrustError::Untrusted(format!("unusable certificate: {e}")))?;
        if !check.policy.allow_weak_keys {
            // The signer's own key first: the most direct reason to refuse.
            check_keys(&[leaf.to_vec()][..], 0..1)?;
        }
        let require = check.policy.crl_mode == CrlMode::Require;
        let revocation = if require {
            Revocation::Required
        } else {
            Revocation::IfPresent
        };
        let path = self
            .build_path(&cert, &anchors, intermediates, check.at, revocation)
            .map_err(|error| self.diagnose(error, &cert, &anchors, intermediates, check))?;
        let (chain, anchor_index) = chain_of(&path, &anchors, &self.anchors)?;
        check_names(&chain)?;
        if !check.policy.allow_weak_keys {
            check_keys(&chain, 1..chain.len())?;
        }
        check_key_usage(leaf)?;
        if require {
            self.check_current_crls(&chain, check.at, true)?;
        }
        self.check_email_constraints(&chain, anchor_index, check.claimed_email)?;
        if self.namespaces.is_empty() {
            return Ok(());
        }
        let mut names = Vec::new();
        for der in &chain[..chain.len() - 1] {
            names.push(Names::of(der).ok_or_else(|| {
                TrustError::Untrusted("a certificate of the chain cannot be read".into())
            })?);
        }
        self.check_namespaces(&names, &self.anchor_names[anchor_index])
    }

    /// The anchors as webpki takes them, in the order of `anchors`, each
    /// without its e-mail name constraints (checked here instead).
    fn webpki_anchors(&self) -> Result<Vec<TrustAnchor<'_>>, TrustError> {
        self.anchors
            .iter()
            .zip(&self.anchor_constraints)
            .map(|(cert, constraints)| {
                let mut anchor = webpki::anchor_from_trusted_cert(cert)
                    .map_err(|e| TrustError::Untrusted(format!("unusable trust anchor: {e}")))?;
                anchor.name_constraints = constraints
                    .others
                    .as_deref()
                    .map(rustls_pki_types::Der::from);
                Ok(anchor)
            })
            .collect()
    }

    /// Let webpki build and check a path, with CRLs as `revocation` says.
    fn build_path<'p>(
        &self,
        cert: &'p EndEntityCert<'p>,
        anchors: &'p [TrustAnchor<'p>],
        intermediates: &'p [CertificateDer<'p>],
        at: Timestamp,
        revocation: Revocation,
    ) -> Result<webpki::VerifiedPath<'p>, webpki::Error> {
        // References: a copy of every CRL for each document would cost
        // time in the size of all the site's CRLs per document.
        let crl_list: Vec<&CertRevocationList<'_>> = self.crls.iter().map(|c| &c.crl).collect();
        let (status, expiration) = match revocation {
            Revocation::IfPresent => (UnknownStatusPolicy::Allow, ExpirationPolicy::Enforce),
            Revocation::Required => (UnknownStatusPolicy::Deny, ExpirationPolicy::Enforce),
            Revocation::Diagnostic => (UnknownStatusPolicy::Allow, ExpirationPolicy::Ignore),
        };
        let options = RevocationOptionsBuilder::new(&crl_list)
            .ok()
            .map(|builder| {
                builder
                    .with_depth(RevocationCheckDepth::Chain)
                    .with_status_policy(status)
                    .with_expiration_policy(expiration)
                    .build()
            });
        let seconds = u64::try_from(at).unwrap_or(0);
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds));
        cert.verify_for_usage(
            SIGNATURE_ALGORITHMS,
            anchors,
            intermediates,
            time,
            SigningPurposes,
            options,
            None,
        )
    }

    /// Explain a failed path: webpki does not say which CA's CRL is
    /// missing or expired, so the path is built again leniently about CRLs
    /// and its CAs are looked at; any other error is described as is.
    fn diagnose(
        &self,
        error: webpki::Error,
        cert: &EndEntityCert<'_>,
        anchors: &[TrustAnchor<'_>],
        intermediates: &[CertificateDer<'_>],
        check: &Check<'_>,
    ) -> TrustError {
        let about_crls = matches!(
            error,
            webpki::Error::CrlExpired { .. } | webpki::Error::UnknownRevocationStatus
        );
        if !about_crls {
            return describe(error, check.at);
        }
        let require = check.policy.crl_mode == CrlMode::Require;
        let named = self
            .build_path(
                cert,
                anchors,
                intermediates,
                check.at,
                Revocation::Diagnostic,
            )
            .ok()
            .and_then(|path| chain_of(&path, anchors, &self.anchors).ok())
            .and_then(|(chain, _)| self.check_current_crls(&chain, check.at, require).err());
        match (named, error) {
            (Some(named), _) => named,
            (None, webpki::Error::UnknownRevocationStatus) => TrustError::Untrusted(
                "CRLs are required, and the CRL of a CA of the chain does not cover the certificate it issued (issuing distribution point or indirect CRL)".into(),
            ),
            (None, other) => describe(other, check.at),
        }
    }

    /// Every CA of the chain (the issuer of each certificate below it) has
    /// a CRL that has not expired at `at`; with `require`, one it issued at
    /// or before `at`, and a CA without a CRL is refused.
    fn check_current_crls(
        &self,
        chain: &[Vec<u8>],
        at: Timestamp,
        require: bool,
    ) -> Result<(), TrustError> {
        for pair in chain.windows(2) {
            let issued = parse(&pair[0])?;
            let ca = parse(&pair[1])?;
            let ca_name = crate::signature::dn::rfc2253(ca.subject());
            let crl = self.crl_of(issued.issuer().as_raw());
            match crl {
                None if require => {
                    return Err(TrustError::CrlRequired {
                        ca: ca_name,
                        reason: "none was given".into(),
                    })
                }
                None => {}
                Some(crl) if crl.expires.is_some_and(|expires| expires <= at) => {
                    return Err(TrustError::CrlExpired {
                        ca: ca_name,
                        detail: format!(
                            "next update {}, checked at {}",
                            clock::format_utc(crl.expires.unwrap_or_default()),
                            clock::format_utc(at)
                        ),
                    })
                }
                Some(crl) if require && crl.issued > at => {
                    return Err(TrustError::CrlRequired {
                        ca: ca_name,
                        reason: format!(
                            "its CRL was issued at {}, after the time checked at, {}",
                            clock::format_utc(crl.issued),
                            clock::format_utc(at)
                        ),
                    })
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The e-mail name constraints of every CA of the chain (positions 1
    /// and up; the anchor's as loaded) hold the e-mails of every
    /// certificate below it (a self-issued CA certificate excepted, as in
    /// RFC 5280 §6.1.3 and OpenSSL) and the endorsement's claimed e-mail.
    fn check_email_constraints(
        &self,
        chain: &[Vec<u8>],
        anchor_index: usize,
        claimed: Option<&str>,
    ) -> Result<(), TrustError> {
        let certs = chain
            .iter()
            .map(|der| parse(der))
            .collect::<Result<Vec<_>, _>>()?;
        let last = certs.len() - 1;
        for (position, ca) in certs.iter().enumerate().skip(1) {
            let ca_name = || crate::signature::dn::rfc2253(ca.subject());
            let constraints = if position == last {
                self.anchor_constraints[anchor_index].email.clone()
            } else {
                name_constraints(ca)
                    .map_err(|e| TrustError::Untrusted(format!("CA {}: {e}", ca_name())))?
                    .email
            };
            if constraints.is_empty() {
                continue;
            }
            for (below, cert) in certs[..position].iter().enumerate() {
                if below > 0 && cert.subject().as_raw() == cert.issuer().as_raw() {
                    continue;
                }
                let emails = crate::signature::dn::certificate_emails(cert)
                    .map_err(|e| TrustError::Untrusted(format!("{}: {e}", whose(&certs, below))))?;
                if let Some(email) = emails.into_iter().find(|e| !constraints.allows(e)) {
                    return Err(TrustError::EmailOutsideConstraints {
                        email,
                        claimed: false,
                        ca: ca_name(),
                    });
                }
            }
            if let Some(email) = claimed.filter(|e| !constraints.allows(e)) {
                return Err(TrustError::EmailOutsideConstraints {
                    email: email.to_string(),
                    claimed: true,
                    ca: ca_name(),
                });
            }
        }
        Ok(())
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
        webpki::Error::NameConstraintViolation => TrustError::Untrusted(
            "a certificate of the chain has a name its CA's name constraints do not permit (the chain library also refuses any subjectAltName e-mail below an intermediate CA with e-mail constraints: such constraints are checked exactly when that CA is itself a trust anchor)".into(),
        ),
        webpki::Error::InvalidSignatureForPublicKey => TrustError::Untrusted(
            "a certificate of the chain does not verify with its issuer's key (or that key has fewer than 1024 bits)".into(),
        ),
        #[allow(deprecated)]
        webpki::Error::RequiredEkuNotFound => TrustError::Untrusted(
            "the extended key usage of a certificate in the chain does not allow signing (clientAuth, codeSigning, emailProtection or anyExtendedKeyUsage expected)".into(),
        ),
        other => TrustError::Untrusted(other.to_string()),
    }
}

/// How a path build treats CRLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Revocation {
    /// Check against a CRL when there is one; expired CRLs refused.
    IfPresent,
    /// Every certificate's status must be known from a current CRL.
    Required,
    /// Only to find the path again when explaining a CRL failure.
    Diagnostic,
}

/// The DER of every certificate of a verified path, signer first and the
/// anchor last, and the anchor's index in the store.
fn chain_of(
    path: &webpki::VerifiedPath<'_>,
    anchors: &[TrustAnchor<'_>],
    stored: &[CertificateDer<'static>],
) -> Result<(Vec<Vec<u8>>, usize), TrustError> {
    // The anchor webpki used, by identity: `anchors` is built from
    // `stored` one to one, so the same index is the same CA.
    let index = anchors
        .iter()
        .position(|a| std::ptr::eq(a, path.anchor()))
        .ok_or_else(|| TrustError::Untrusted("the chain's anchor cannot be found".into()))?;
    let mut chain = vec![path.end_entity().der().to_vec()];
    chain.extend(path.intermediate_certificates().map(|c| c.der().to_vec()));
    chain.push(stored[index].to_vec());
    Ok((chain, index))
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, TrustError> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|e| TrustError::Untrusted(format!("unusable certificate in the chain: {e}")))
}

/// Which certificate of a chain, for messages: the signer's, or the CA by
/// its name.
fn whose(certs: &[X509Certificate<'_>], position: usize) -> String {
    if position == 0 {
        "the signer's certificate".to_string()
    } else {
        format!(
            "CA {}",
            crate::signature::dn::rfc2253(certs[position].subject())
        )
    }
}

/// Every certificate of the chain has names the parser reads whole; one
/// that does not is named by its position, never by the part read.
fn check_names(chain: &[Vec<u8>]) -> Result<(), TrustError> {
    for (position, der) in chain.iter().enumerate() {
        let cert = parse(der)?;
        if !crate::signature::dn::fully_parsed(cert.subject())
            || !crate::signature::dn::fully_parsed(cert.issuer())
        {
            let whose = match position {
                0 => "the signer's certificate".to_string(),
                p if p == chain.len() - 1 => "the trust anchor".to_string(),
                p => format!("the CA certificate {p} up the chain from the signer"),
            };
            return Err(TrustError::UnreadableName { whose });
        }
    }
    Ok(())
}

/// The RSA keys of the certificates at `positions` are strong enough
/// ([`crate::signature::keys`]); other kinds of key pass (webpki accepts only P-256,
/// P-384 and Ed25519 besides RSA).
fn check_keys(chain: &[Vec<u8>], positions: std::ops::Range<usize>) -> Result<(), TrustError> {
    let certs = chain
        .iter()
        .map(|der| parse(der))
        .collect::<Result<Vec<_>, _>>()?;
    for position in positions {
        let key = crate::signature::keys::RsaKey::of(&certs[position])
            .map_err(|e| TrustError::Untrusted(format!("{}: {e}", whose(&certs, position))))?;
        if let Some(reason) = key.and_then(|key| key.weakness()) {
            return Err(TrustError::WeakKey {
                whose: whose(&certs, position),
                reason,
            });
        }
    }
    Ok(())
}

/// A certificate's nameConstraints, split into its e-mail subtrees and the
/// rest; empty when it has none.
fn name_constraints(cert: &X509Certificate<'_>) -> Result<SplitConstraints, String> {
    let oid = x509_parser::oid_registry::OID_X509_EXT_NAME_CONSTRAINTS;
    match cert.get_extension_unique(&oid) {
        Ok(None) => Ok(SplitConstraints::default()),
        Ok(Some(extension)) => split_name_constraints(extension.value).map_err(|e| e.to_string()),
        Err(e) => Err(format!("unreadable name constraints: {e}")),
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
/// A sibling that exists is read as every trust directory entry is
/// ([`Kind::Regular`], limited), and one that cannot be read is an error.
fn sibling_ca_subject(policy: &Path) -> Result<Option<String>, TrustError> {
    for extension in ["0", "pem"] {
        let sibling = policy.with_extension(extension);
        if std::fs::symlink_metadata(&sibling).is_err() {
            continue;
        }
        let bytes = read(&sibling, Kind::Regular)?;
        let subject = parse_certificates(&bytes)
            .into_iter()
            .next()
            .and_then(|der| Names::of(&der))
            .map(|names| names.subject);
        if subject.is_some() {
            return Ok(subject);
        }
    }
    Ok(None)
}

/// The largest trust file read: a CA certificate file, a CRL file or a
/// namespace policy (16 MiB; the CRLs of the largest grid CAs are a few
/// MiB).
pub const MAX_TRUST_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What kind of file a trust file may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Any file that can be read: a file named on the command line, which
    /// may be a pipe (`--ca <(...)`).
    Any,
    /// A regular file (after symbolic links): an entry of a trust
    /// directory, which nobody named one by one.
    Regular,
}

/// Read a trust file, at most [`MAX_TRUST_FILE_BYTES`].
///
/// For [`Kind::Regular`] the type is checked before the file is opened
/// (opening a FIFO blocks until a writer comes) and again on the open file.
/// Someone who can swap an entry for a FIFO between the two already
/// decides what the directory trusts.
fn read(path: &Path, kind: Kind) -> Result<Vec<u8>, TrustError> {
    let io = |source| TrustError::Io {
        path: path.to_path_buf(),
        source,
    };
    let not_regular = |file_type: std::fs::FileType| TrustError::BadFile {
        path: path.to_path_buf(),
        reason: format!(
            "{}, not a regular file (trust directories hold regular files and links to them)",
            describe_file_type(file_type)
        ),
    };
    if kind == Kind::Regular {
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() {
            return Err(not_regular(meta.file_type()));
        }
    }
    let file = std::fs::File::open(path).map_err(io)?;
    if kind == Kind::Regular {
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(not_regular(meta.file_type()));
        }
    }
    crate::document::input::read_limited(file, &path.display().to_string(), MAX_TRUST_FILE_BYTES)
        .map_err(|e| match e {
            crate::Error::Io { source, .. } => io(source),
            other => TrustError::BadFile {
                path: path.to_path_buf(),
                reason: match other {
                    crate::Error::TooLarge { limit, .. } => {
                        format!("larger than the limit of {limit} bytes")
                    }
                    other => other.to_string(),
                },
            },
        })
}

/// What a file that is not a regular file is, for messages.
fn describe_file_type(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
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

/// RSA PKCS#1 v1.5 with keys from 1024 bits, for certificates and CRLs.
/// webpki's own RSA algorithms start at 2048 bits and would refuse a CA's
/// weaker key with an opaque error; key strength is checked on the
/// verified chain instead ([`check_keys`]), which says which key is weak
/// and lets a site accept it for old archives. SHA-1 is here for the CAs of
/// the legacy era, which webpki leaves out.
#[derive(Debug)]
struct RsaPkcs1 {
    params: &'static ring::signature::RsaParameters,
    signature_alg_id: AlgorithmIdentifier,
}

impl SignatureVerificationAlgorithm for RsaPkcs1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        ring::signature::UnparsedPublicKey::new(self.params, public_key)
            .verify(message, signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature_alg_id
    }
}

static RSA_SHA1: RsaPkcs1 = RsaPkcs1 {
    params: &ring::signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
    signature_alg_id: RSA_PKCS1_SHA1,
};
static RSA_SHA256: RsaPkcs1 = RsaPkcs1 {
    params: &ring::signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
    signature_alg_id: alg_id::RSA_PKCS1_SHA256,
};
static RSA_SHA512: RsaPkcs1 = RsaPkcs1 {
    params: &ring::signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
    signature_alg_id: alg_id::RSA_PKCS1_SHA512,
};

/// Every algorithm accepted in chains: RSA PKCS#1 v1.5 with SHA-1, SHA-256
/// and SHA-512 from 1024 bits, webpki's RSA with SHA-384 (from 2048 bits:
/// ring has no smaller one), RSA-PSS, ECDSA and Ed25519.
static SIGNATURE_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    &RSA_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    &RSA_SHA512,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    &RSA_SHA1,
];
