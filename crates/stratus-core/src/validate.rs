//! The whole validation pipeline of one document, in the legacy order:
//! well-formedness, signature, schema, constraints, RDF/XML.

use crate::error::{Error, Invalid, Result, Stage};
use crate::manifest::rules;
use crate::xml::{self, XMLDSIG_NS};

/// What to check besides the document rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignaturePolicy {
    /// The document must carry a signature that verifies (the legacy default).
    Required,
    /// Skip the signature stage: a draft before signing.
    Skip,
}

/// Check the document `bytes` (named `source_name` in errors). A refusal is
/// [`Error::Invalid`] naming the stage that failed.
pub fn check_document(bytes: &[u8], source_name: &str, signature: SignaturePolicy) -> Result<()> {
    let text = xml::decode_text(bytes, source_name)?;
    let text = text.as_ref();
    let doc = xml::parse(text, source_name)?;
    let invalid = |reason: Invalid| Error::Invalid {
        source_name: source_name.to_string(),
        reason,
    };
    if signature == SignaturePolicy::Required {
        check_signature(&doc).map_err(invalid)?;
    }
    match signature {
        SignaturePolicy::Required => rules::check_unsigned(&doc, text),
        SignaturePolicy::Skip => rules::check_draft(&doc, text),
    }
    .map_err(invalid)
}

/// The signature stage. Verification arrives with the signing work; until
/// then a signed document is refused rather than reported valid unchecked.
fn check_signature(doc: &roxmltree::Document) -> std::result::Result<(), Invalid> {
    let signature = doc
        .descendants()
        .find(|n| xml::is_element(*n, XMLDSIG_NS, "Signature"));
    match signature {
        None => Err(Invalid::new(Stage::Signature, "no signature")),
        Some(_) => Err(Invalid::new(
            Stage::Signature,
            "signature verification is not available in this version; use --no-signature to check the rest of the document",
        )),
    }
}
