//! The whole validation pipeline of one document, in the legacy order:
//! well-formedness, signature, schema, constraints, RDF/XML; then, when the
//! site gave trust anchors, the signer's certificate chain.
//!
//! The legacy Marketplace server ran the same pipeline without the schema
//! stage (marketplace.md §3.2); [`Rules`] chooses the rule stages, and
//! [`check_document_with`] lets a long-running caller check trust at its own
//! "now" for every document.

use crate::clock::Timestamp;
use crate::document::input::MAX_DOCUMENT_BYTES;
use crate::document::manifest::rules;
use crate::document::xml;
use crate::error::{Error, Invalid, Result, Stage};
use crate::signature::trust::{Check, Policy, TrustOptions, TrustStore};
use crate::signature::xmldsig::{verify, SignatureError};

/// What to check besides the document rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignaturePolicy {
    /// The document must carry a signature that verifies (the legacy default).
    Required,
    /// Skip the signature stage: a draft before signing.
    Skip,
}

/// Which rule stages follow the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// Schema, constraints, RDF/XML: the legacy `ValidateMetadata`, what
    /// the commands run.
    Full,
    /// Constraints and RDF/XML, no schema: the legacy Marketplace upload
    /// pipeline (marketplace.md §3.2).
    Marketplace,
}

/// What a valid document's check found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The signer's subject, when the signature was checked.
    pub signer: Option<String>,
    /// Whether the signer's certificate was checked against trust anchors
    /// (`false` is the legacy behaviour: embedded certificate only).
    pub trust_checked: bool,
    /// The endorser's e-mail, when the signature was checked.
    pub email: Option<String>,
    /// Whether the signer's certificate carries the endorser's e-mail
    /// (`false` when it carries none: the e-mail is then only the
    /// document's claim, whatever the trust check says).
    pub email_in_certificate: bool,
    /// Whether the e-mail is an identity rather than a claim: the
    /// certificate carries it, and it chains to a trust anchor within the
    /// e-mail name constraints of its CAs.
    pub email_verified: bool,
}

/// Check the document `bytes` (named `source_name` in errors). A refusal is
/// [`Error::Invalid`] naming the stage that failed, or [`Error::TooLarge`]
/// for more than [`MAX_DOCUMENT_BYTES`] bytes (whatever read them).
pub fn check_document(
    bytes: &[u8],
    source_name: &str,
    signature: SignaturePolicy,
    trust: &TrustOptions,
) -> Result<Report> {
    check_document_with(
        bytes,
        source_name,
        signature,
        Rules::Full,
        &trust.store,
        trust.policy,
        trust.at,
    )
}

/// [`check_document`] with the rule stages chosen, and the signer's chain
/// (when `trust` has anchors) checked under `policy` at `at`.
pub fn check_document_with(
    bytes: &[u8],
    source_name: &str,
    signature: SignaturePolicy,
    stages: Rules,
    trust: &TrustStore,
    policy: Policy,
    at: Timestamp,
) -> Result<Report> {
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(Error::TooLarge {
            what: source_name.to_string(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let text = xml::decode_text(bytes, source_name)?;
    let text = text.as_ref();
    let doc = xml::parse(text, source_name)?;
    let invalid = |reason: Invalid| Error::Invalid {
        source_name: source_name.to_string(),
        reason,
    };
    let mut report = Report {
        signer: None,
        trust_checked: false,
        email: None,
        email_in_certificate: false,
        email_verified: false,
    };
    let verified = match signature {
        SignaturePolicy::Required => Some(check_signature(&doc).map_err(invalid)?),
        SignaturePolicy::Skip => None,
    };
    match (stages, signature) {
        (Rules::Full, SignaturePolicy::Required) => rules::check_unsigned(&doc, text),
        (Rules::Full, SignaturePolicy::Skip) => rules::check_draft(&doc, text),
        (Rules::Marketplace, _) => {
            rules::check_constraints(&doc).and_then(|()| rules::check_rdf(&doc, text))
        }
    }
    .map_err(invalid)?;
    if let Some((verified, endorser)) = verified {
        report.signer = subject_of(&verified.signer);
        report.email_in_certificate = endorser.email_in_certificate;
        if trust.anchor_count() > 0 {
            let check = Check {
                at,
                policy,
                claimed_email: endorser.email.as_deref(),
            };
            trust
                .verify_signer(&verified.signer, &verified.intermediates, &check)
                .map_err(|e| invalid(Invalid::new(Stage::Trust, e.to_string())))?;
            report.trust_checked = true;
            report.email_verified = endorser.email_in_certificate;
        }
        report.email = endorser.email;
    }
    Ok(report)
}

/// The signature stage: structure, digest, signature value, endorser.
fn check_signature(
    doc: &roxmltree::Document,
) -> std::result::Result<(verify::Verified, verify::Endorser), Invalid> {
    let as_invalid = |error: SignatureError| match error {
        SignatureError::Missing => Invalid::new(Stage::Unsigned, error.to_string()),
        other => Invalid::new(Stage::Signature, other.to_string()),
    };
    let verified = verify::verify_signature(doc).map_err(as_invalid)?;
    let endorser = verify::check_endorser(doc, &verified.signer).map_err(as_invalid)?;
    Ok((verified, endorser))
}

fn subject_of(cert: &rustls_pki_types::CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    Some(crate::signature::dn::rfc2253(parsed.subject()))
}
