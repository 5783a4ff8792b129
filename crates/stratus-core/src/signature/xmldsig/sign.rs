//! Signing a document as the legacy signer did (metadata.md §4.2): keep only
//! the last endorsement and regenerate it from the certificate, strip every
//! old signature, and append one enveloped signature as the last child of
//! the document element.
//!
//! The document is edited as text (roxmltree is read-only): everything the
//! signer does not regenerate is kept byte for byte.

use super::profile::{DigestMethod, SignatureMethod, DSIG_NS, ENVELOPED};
use super::verify;
use crate::clock::{self, Timestamp};
use crate::document::xml::c14n;
use crate::document::xml::{self, is_element, string_value, DCTERMS_NS, RDF_NS, SLREQ_NS};
use base64::Engine;
use roxmltree::{Document, Node};
use rustls_pki_types::CertificateDer;
use std::fmt;
use std::ops::Range;

/// The algorithms of a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The signature method.
    pub method: SignatureMethod,
    /// The digest method of the reference.
    pub digest: DigestMethod,
    /// The canonicalization of `SignedInfo`.
    pub c14n: c14n::Algorithm,
}

impl Profile {
    /// The default: RSA-SHA256, SHA-256 digest, inclusive C14N 1.0.
    pub fn modern() -> Self {
        Profile {
            method: SignatureMethod::RsaSha256,
            digest: DigestMethod::Sha256,
            c14n: c14n::Algorithm::Inclusive {
                with_comments: false,
            },
        }
    }

    /// The exact legacy profile: RSA-SHA1, SHA-1 digest, inclusive C14N 1.0
    /// with comments, for verifiers that know nothing else.
    pub fn legacy() -> Self {
        Profile {
            method: SignatureMethod::RsaSha1,
            digest: DigestMethod::Sha1,
            c14n: c14n::Algorithm::Inclusive {
                with_comments: true,
            },
        }
    }
}

/// Why a document could not be signed.
#[derive(Debug)]
pub enum SignError {
    /// The input is not a document the signer can work on.
    Document(String),
    /// No e-mail for the endorser (legacy message).
    NoEmail,
    /// The e-mail is not an address (legacy message `invalid email address: <e>`).
    InvalidEmail(String),
    /// The key could not sign.
    Key(String),
    /// The result did not verify (a bug; never written out).
    SelfCheck(String),
    /// The certificate's `subject` or `issuer` name cannot be read whole
    /// (an empty RDN, trailing bytes), so no endorsement can name it.
    UnreadableName(&'static str),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Document(detail) => f.write_str(detail),
            SignError::NoEmail => f.write_str(
                "cannot generate slreq:endorsement; email address not in cert or not provided",
            ),
            SignError::InvalidEmail(email) => write!(f, "invalid email address: {email}"),
            SignError::Key(detail) => write!(f, "signing failed: {detail}"),
            SignError::UnreadableName(part) => write!(
                f,
                "unusable certificate: its {part} name cannot be read whole (an empty RDN or trailing bytes); verifiers refuse it as a signer"
            ),
            SignError::SelfCheck(detail) => {
                write!(
                    f,
                    "internal error: the signed document does not verify: {detail}"
                )
            }
        }
    }
}

impl std::error::Error for SignError {}

/// Signs bytes with the signer's private key for a signature method.
pub type SignFn<'a> = &'a dyn Fn(SignatureMethod, &[u8]) -> Result<Vec<u8>, String>;

/// What the signer needs: the certificate chain (signer first), a function
/// that signs bytes with the signer's key for a method, the profile, the
/// fallback e-mail and the time.
pub struct Signer<'a> {
    /// Signer's certificate first, then its chain.
    pub chain: &'a [CertificateDer<'a>],
    /// Signs the canonical `SignedInfo` with the private key.
    pub sign: SignFn<'a>,
    /// The algorithms.
    pub profile: Profile,
    /// The e-mail to use when the certificate carries none (`--email`).
    pub email: Option<&'a str>,
    /// The endorsement time.
    pub now: Timestamp,
}

impl Signer<'_> {
    /// Sign `text` (a metadata document): the signed document.
    pub fn sign_document(&self, text: &str, source_name: &str) -> Result<String, SignError> {
        let doc = xml::parse(text, source_name).map_err(|e| SignError::Document(e.to_string()))?;
        let cert = x509_parser::parse_x509_certificate(
            self.chain
                .first()
                .ok_or_else(|| SignError::Key("no signing certificate".into()))?,
        )
        .map_err(|e| SignError::Key(format!("unusable certificate: {e}")))?
        .1;
        // The endorsement would carry only the part of the name that was
        // read, which verifiers refuse (`verify::check_endorser`).
        for (part, name) in [("subject", cert.subject()), ("issuer", cert.issuer())] {
            if !crate::signature::dn::fully_parsed(name) {
                return Err(SignError::UnreadableName(part));
            }
        }
        // A subjectAltName the verifier cannot read refuses the signer.
        crate::signature::dn::certificate_emails(&cert)
            .map_err(|e| SignError::Key(format!("unusable certificate: {e}")))?;
        let email = self.choose_email(&doc, &cert)?;
        let endorsement = EndorsementText {
            created: clock::format_utc(self.now),
            email,
            subject: crate::signature::dn::rfc2253(cert.subject()),
            issuer: crate::signature::dn::rfc2253(cert.issuer()),
        };
        endorsement.check_characters()?;
        let unsigned = regenerate_endorsement(&doc, text, &endorsement)?;
        let unsigned = declare_utf8(&unsigned);
        let signed = self.append_signature(&unsigned, source_name)?;
        self_check(&signed, source_name)?;
        Ok(signed)
    }

    /// The certificate's e-mail (subjectAltName, then the emailAddress of
    /// the subject), else `--email`, else the e-mail an unsigned draft
    /// carries (`stratus-build-metadata --email`).
    fn choose_email(
        &self,
        doc: &Document,
        cert: &x509_parser::certificate::X509Certificate,
    ) -> Result<String, SignError> {
        // Only an unsigned draft lends its e-mail: re-signing someone else's
        // document must not silently keep their address.
        let signed = doc
            .descendants()
            .any(|n| is_element(n, DSIG_NS, "Signature"));
        let from_draft = doc
            .descendants()
            .rfind(|n| is_element(*n, SLREQ_NS, "endorsement"))
            .and_then(|e| e.descendants().find(|n| is_element(*n, SLREQ_NS, "email")))
            .map(string_value)
            .filter(|_| !signed);
        let email = crate::signature::dn::any_email(cert)
            .or_else(|| self.email.map(str::to_string))
            .or(from_draft)
            .filter(|e| !e.is_empty())
            .ok_or(SignError::NoEmail)?;
        // The legacy rule (one `@`, both sides non-empty) is implied by the
        // schema's pattern, which the signed document must pass.
        if !crate::document::manifest::rules::is_email(&email) {
            return Err(SignError::InvalidEmail(email));
        }
        Ok(email)
    }

    /// Append the signature as the last child of the document element.
    fn append_signature(&self, text: &str, source_name: &str) -> Result<String, SignError> {
        let doc = xml::parse(text, source_name).map_err(|e| SignError::Document(e.to_string()))?;
        let reference_c14n = c14n::Algorithm::Inclusive {
            with_comments: false,
        };
        let digest =
            self.profile
                .digest
                .digest(&c14n::canonicalize_document(&doc, &reference_c14n, None));
        let signature = self.signature_template(&b64(&digest));
        let insert_at = root_end_tag_start(&doc, text)?;
        let mut with_template = String::with_capacity(text.len() + signature.len() + 2048);
        with_template.push_str(&text[..insert_at]);
        with_template.push_str(&signature);
        with_template.push_str(&text[insert_at..]);

        let doc = xml::parse(&with_template, source_name)
            .map_err(|e| SignError::SelfCheck(e.to_string()))?;
        let signed_info = doc
            .descendants()
            .find(|n| is_element(*n, DSIG_NS, "SignedInfo"))
            .ok_or_else(|| SignError::SelfCheck("no SignedInfo".into()))?;
        let canonical = c14n::canonicalize_subtree(signed_info, &self.profile.c14n);
        let value = (self.sign)(self.profile.method, &canonical).map_err(SignError::Key)?;
        let placeholder = "<SignatureValue></SignatureValue>";
        let at = insert_at
            + signature
                .find(placeholder)
                .expect("the template has a SignatureValue");
        let mut signed = with_template;
        signed.replace_range(
            at..at + placeholder.len(),
            &format!("<SignatureValue>{}</SignatureValue>", wrap76(&b64(&value))),
        );
        Ok(signed)
    }

    /// The `Signature` element, with an empty `SignatureValue` to fill.
    fn signature_template(&self, digest_value: &str) -> String {
        let certificates: String = self
            .chain
            .iter()
            .map(|c| format!("<X509Certificate>{}</X509Certificate>", wrap76(&b64(c))))
            .collect();
        format!(
            "<Signature xmlns=\"{DSIG_NS}\"><SignedInfo><CanonicalizationMethod Algorithm=\"{}\"/>\
             <SignatureMethod Algorithm=\"{}\"/><Reference URI=\"\"><Transforms>\
             <Transform Algorithm=\"{ENVELOPED}\"/></Transforms><DigestMethod Algorithm=\"{}\"/>\
             <DigestValue>{digest_value}</DigestValue></Reference></SignedInfo>\
             <SignatureValue></SignatureValue><KeyInfo><X509Data>{certificates}</X509Data></KeyInfo></Signature>",
            self.profile.c14n.uri(),
            self.profile.method.uri(),
            self.profile.digest.uri(),
        )
    }
}

/// Check the signed document as a verifier will read it: from its bytes,
/// signature and endorser both.
fn self_check(signed: &str, source_name: &str) -> Result<(), SignError> {
    let failed = |e: &dyn fmt::Display| SignError::SelfCheck(e.to_string());
    let text = xml::decode_text(signed.as_bytes(), source_name).map_err(|e| failed(&e))?;
    let doc = xml::parse(&text, source_name).map_err(|e| failed(&e))?;
    let verified = verify::verify_signature(&doc).map_err(|e| failed(&e))?;
    verify::check_endorser(&doc, &verified.signer)
        .map(|_| ())
        .map_err(|e| failed(&e))
}

/// The signed text is UTF-8: an XML declaration naming another encoding
/// (the input may have been UTF-16 or ISO-8859-1) is rewritten.
fn declare_utf8(text: &str) -> String {
    let Some(declaration_end) = text.strip_prefix("<?xml").and_then(|_| text.find("?>")) else {
        return text.to_string();
    };
    let declaration = &text[..declaration_end];
    let Some(at) = declaration.find("encoding") else {
        return text.to_string();
    };
    let after = &declaration[at + "encoding".len()..];
    let Some(open) = after.find(['"', '\'']) else {
        return text.to_string();
    };
    let quote = &after[open..open + 1];
    let value_start = at + "encoding".len() + open + 1;
    let Some(length) = text[value_start..declaration_end].find(quote) else {
        return text.to_string();
    };
    let mut out = text.to_string();
    out.replace_range(value_start..value_start + length, "UTF-8");
    out
}

/// The values of a regenerated endorsement.
struct EndorsementText {
    created: String,
    email: String,
    subject: String,
    issuer: String,
}

impl EndorsementText {
    /// A certificate name may hold characters XML 1.0 cannot carry.
    fn check_characters(&self) -> Result<(), SignError> {
        for (what, value) in [("subject", &self.subject), ("issuer", &self.issuer)] {
            if let Some(bad) = value.chars().find(|c| !xml::is_xml_char(*c)) {
                return Err(SignError::Key(format!(
                    "the certificate's {what} holds U+{:04X}, which an XML document cannot carry",
                    u32::from(bad)
                )));
            }
        }
        Ok(())
    }
}

/// Keep only the last `slreq:endorsement`, fill it, and remove every
/// `Signature`; everything else is kept byte for byte.
fn regenerate_endorsement(
    doc: &Document,
    text: &str,
    endorsement: &EndorsementText,
) -> Result<String, SignError> {
    let endorsements: Vec<Node> = doc
        .descendants()
        .filter(|n| is_element(*n, SLREQ_NS, "endorsement"))
        .collect();
    // The kept endorsement is the description's own (its last one): one
    // nested in an extension or an old signature would vanish with it.
    let in_description = |n: &&Node| {
        n.parent().is_some_and(|p| {
            is_element(p, RDF_NS, "Description") && p.parent() == Some(doc.root_element())
        })
    };
    let Some(kept) = endorsements.iter().rfind(in_description).copied() else {
        return Err(SignError::Document(
            "document must contain exactly 1 slreq:endorsement element".into(),
        ));
    };
    let mut edits: Vec<(Range<usize>, String)> = endorsements
        .iter()
        .filter(|n| **n != kept)
        .map(|n| (n.range(), String::new()))
        .collect();
    edits.push((kept.range(), filled_endorsement(kept, text, endorsement)));
    edits.extend(
        doc.descendants()
            .filter(|n| is_element(*n, DSIG_NS, "Signature"))
            .map(|n| (n.range(), String::new())),
    );
    Ok(apply_edits(text, edits))
}

/// The kept endorsement's start tag, then the generated content in the form
/// the Java signer wrote (one line, default-namespace declarations).
fn filled_endorsement(node: Node, text: &str, e: &EndorsementText) -> String {
    let range = node.range();
    let source = &text[range.clone()];
    let tag_end = start_tag_length(source);
    let mut start_tag = source[..tag_end].to_string();
    let self_closing = start_tag.ends_with("/>");
    if self_closing {
        start_tag.truncate(start_tag.len() - 2);
        start_tag = start_tag.trim_end().to_string();
        start_tag.push('>');
    }
    let qname = &start_tag[1..start_tag
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(start_tag.len())];
    let parse_type = match node.lookup_prefix(RDF_NS).filter(|p| !p.is_empty()) {
        Some(prefix) => format!("{prefix}:parseType=\"Resource\""),
        None => format!("xmlns:rdf=\"{RDF_NS}\" rdf:parseType=\"Resource\""),
    };
    format!(
        "{start_tag}<created xmlns=\"{DCTERMS_NS}\">{}</created><endorser xmlns=\"{SLREQ_NS}\" {parse_type}>\
         <email>{}</email><subject>{}</subject><issuer>{}</issuer></endorser></{qname}>",
        escape(&e.created),
        escape(&e.email),
        escape(&e.subject),
        escape(&e.issuer),
    )
}

/// The length of the start tag at the beginning of `source`, quotes respected.
fn start_tag_length(source: &str) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in source.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    source.len()
}

/// Apply non-overlapping edits; an edit inside another one is dropped.
fn apply_edits(text: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(range, _)| (range.start, std::cmp::Reverse(range.end)));
    let mut out = String::with_capacity(text.len() + 1024);
    let mut from = 0;
    for (range, replacement) in edits {
        if range.start < from {
            continue;
        }
        out.push_str(&text[from..range.start]);
        out.push_str(&replacement);
        from = range.end;
    }
    out.push_str(&text[from..]);
    out
}

/// Where the document element's end tag starts.
fn root_end_tag_start(doc: &Document, text: &str) -> Result<usize, SignError> {
    let root = doc.root_element();
    let range = root.range();
    let element = &text[range.clone()];
    if element.ends_with("/>") {
        return Err(SignError::Document(
            "the document element is empty: nothing to sign".into(),
        ));
    }
    element
        .rfind("</")
        .map(|i| range.start + i)
        .ok_or_else(|| SignError::Document("the document element has no end tag".into()))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\r', "&#13;")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Base64 in lines of 76 characters separated by LF, as the legacy signer wrote it.
fn wrap76(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 76);
    for (i, chunk) in text.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_the_legacy_and_schema_rules() {
        use crate::document::manifest::rules::is_email;
        for ok in ["x@y", "jane.tester@example.org", "a+b_c%d@e-f.g"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["not@a@valid", "a@", "@b", "a b@c", "A <a@b>", ""] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn start_tags_with_quoted_brackets() {
        assert_eq!(start_tag_length(r#"<a b=">">x</a>"#), 9);
        assert_eq!(start_tag_length("<a/>"), 4);
    }

    #[test]
    fn declarations_are_made_utf8() {
        assert_eq!(
            declare_utf8("<?xml version=\"1.0\" encoding='ISO-8859-1'?><a/>"),
            "<?xml version=\"1.0\" encoding='UTF-8'?><a/>"
        );
        assert_eq!(
            declare_utf8("<?xml version=\"1.0\"?><a/>"),
            "<?xml version=\"1.0\"?><a/>"
        );
        assert_eq!(declare_utf8("<a encoding=\"x\"/>"), "<a encoding=\"x\"/>");
    }

    #[test]
    fn base64_is_wrapped_at_76() {
        let wrapped = wrap76(&"A".repeat(160));
        let lines: Vec<_> = wrapped.split('\n').map(str::len).collect();
        assert_eq!(lines, [76, 76, 8]);
    }
}
