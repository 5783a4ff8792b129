//! The whole validation pipeline of one document, in the legacy order:
//! well-formedness, signature, schema, constraints, RDF/XML; then, when the
//! site gave trust anchors, the signer's certificate chain.
//!
//! The legacy Marketplace server ran the same pipeline without the schema
//! stage (marketplace.md §3.2); [`Rules`] chooses the rule stages, and
//! [`check_document_with`] lets a long-running caller check trust at its own
//! "now" for every document.

use crate::clock::Timestamp;
use crate::error::{Error, Invalid, Result, Stage};
use crate::manifest::rules;
use crate::trust::{TrustOptions, TrustStore};
use crate::xml;
use crate::xmldsig::{verify, SignatureError};

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
}

/// Check the document `bytes` (named `source_name` in errors). A refusal is
/// [`Error::Invalid`] naming the stage that failed.
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
        trust.at,
    )
}

/// [`check_document`] with the rule stages chosen, and the signer's chain
/// (when `trust` has anchors) checked at `at`.
pub fn check_document_with(
    bytes: &[u8],
    source_name: &str,
    signature: SignaturePolicy,
    stages: Rules,
    trust: &TrustStore,
    at: Timestamp,
) -> Result<Report> {
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
    if let Some(verified) = verified {
        report.signer = subject_of(&verified.signer);
        if trust.anchor_count() > 0 {
            trust
                .verify(&verified.signer, &verified.intermediates, at)
                .map_err(|e| invalid(Invalid::new(Stage::Trust, e.to_string())))?;
            report.trust_checked = true;
        }
    }
    Ok(report)
}

/// The signature stage: structure, digest, signature value, endorser.
fn check_signature(doc: &roxmltree::Document) -> std::result::Result<verify::Verified, Invalid> {
    let as_invalid = |error: SignatureError| match error {
        SignatureError::Missing => Invalid::new(Stage::Unsigned, error.to_string()),
        other => Invalid::new(Stage::Signature, other.to_string()),
    };
    let verified = verify::verify_signature(doc).map_err(as_invalid)?;
    verify::check_endorser(doc, &verified.signer).map_err(as_invalid)?;
    Ok(verified)
}

fn subject_of(cert: &rustls_pki_types::CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    Some(crate::dn::rfc2253(parsed.subject()))
}
