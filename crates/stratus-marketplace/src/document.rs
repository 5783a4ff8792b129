//! Everything the server asks of stratus-core, in one place: checking an
//! uploaded document with the same pipeline the commands run (the legacy
//! Marketplace stages: parse, signature, constraints, RDF/XML, and the
//! signer's chain when trust anchors are configured), reading the indexed
//! fields out of it, and the clock (`STRATUS_NOW`).
//!
//! No other module of the server uses stratus-core's rules (the follower,
//! [`crate::follow`], uses only its HTTP client), so a change of their API
//! touches only this file.

use std::path::PathBuf;

use roxmltree::{Document, Node};
use stratus_core::clock;
use stratus_core::document::validate::{self, Rules, SignaturePolicy};
use stratus_core::document::xml::{self, DCTERMS_NS, RDF_NS, SLREQ_NS, SLTERMS_NS, XMLDSIG_NS};
use stratus_core::signature::trust::{Policy, TrustStore};

use crate::entry::{Entry, Fields, Key};

pub use stratus_core::document::manifest::Manifest;

/// What a stored document's signature and signer are worth now (the
/// detail page's verdict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// `Ok` when the signature verifies and the endorsement agrees with
    /// the certificate; else the reason.
    pub signature: Result<(), String>,
    /// The signer's standing under the server's trust options.
    pub trust: TrustVerdict,
}

/// The signer's standing under the server's trust options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustVerdict {
    /// It chains to the server's anchors, valid now, not revoked.
    Trusted,
    /// It does not, for this reason.
    Untrusted(String),
    /// The server has no trust anchors (legacy behaviour).
    NotChecked,
}

/// The XML declaration every stored document starts with (§5.1).
pub const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#;

/// Where the trust anchors and CRLs come from (all empty: legacy
/// behaviour, the embedded certificate only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustSources {
    /// CA certificate files (PEM or DER).
    pub ca_files: Vec<PathBuf>,
    /// IGTF-style trust directories.
    pub trust_dirs: Vec<PathBuf>,
    /// CRL files.
    pub crl_files: Vec<PathBuf>,
}

impl TrustSources {
    /// Whether any anchor is configured.
    pub fn has_anchors(&self) -> bool {
        !self.ca_files.is_empty() || !self.trust_dirs.is_empty()
    }
}

/// A trust file or directory that could not be loaded.
#[derive(Debug)]
pub struct TrustLoadError(String);

impl std::fmt::Display for TrustLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TrustLoadError {}

/// Why an upload was refused, with the legacy wording (Appendix A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not well-formed XML (or a refused construct: DTD, encoding):
    /// `unable to parse metadata: <reason>`.
    NotXml(String),
    /// Refused by a validation stage or an upload rule:
    /// `invalid metadata: <reason>`.
    Invalid(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotXml(reason) => write!(f, "unable to parse metadata: {reason}"),
            Refusal::Invalid(reason) => write!(f, "invalid metadata: {reason}"),
        }
    }
}

/// A document that passed every check: its entry and the bytes to store.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// Key and indexed fields.
    pub entry: Entry,
    /// The document normalised as §5.1 recommends: UTF-8, line ends LF,
    /// the standard XML declaration, one trailing newline. These are the
    /// exact bytes that were verified.
    pub document: Vec<u8>,
}

/// The upload checks, with the trust store loaded once.
#[derive(Debug)]
pub struct Checker {
    trust: TrustStore,
    /// The commands' default policy: RSA keys of 2048 bits and more, a
    /// CRL used when the operator gave one.
    policy: Policy,
    require_endorsement: bool,
}

impl Checker {
    /// Load the trust material; `require_endorsement` refuses documents
    /// without an endorsement e-mail or time (§3.4 recommendation).
    pub fn new(sources: &TrustSources, require_endorsement: bool) -> Result<Self, TrustLoadError> {
        let mut trust = TrustStore::default();
        let error = |e: stratus_core::signature::trust::TrustError| TrustLoadError(e.to_string());
        for path in &sources.ca_files {
            trust.add_ca_file(path).map_err(error)?;
        }
        for dir in &sources.trust_dirs {
            trust.add_trust_dir(dir).map_err(error)?;
        }
        for path in &sources.crl_files {
            trust.add_crl_file(path).map_err(error)?;
        }
        Ok(Checker {
            trust,
            policy: Policy::default(),
            require_endorsement,
        })
    }

    /// Whether signers are checked against trust anchors.
    pub fn checks_trust(&self) -> bool {
        self.trust.anchor_count() > 0
    }

    /// Check the uploaded `bytes` (named `name` in messages) at `now`.
    pub fn check(&self, bytes: &[u8], name: &str) -> Result<Accepted, Refusal> {
        let normalised = normalise(bytes, name)?;
        let at = clock::now();
        validate::check_document_with(
            normalised.as_bytes(),
            name,
            SignaturePolicy::Required,
            Rules::Marketplace,
            &self.trust,
            self.policy,
            at,
        )
        .map_err(refusal)?;
        let doc = xml::parse(&normalised, name).map_err(refusal)?;
        let entry = read_entry(&doc)?;
        not_in_the_future(&entry.key.created, at)?;
        if self.require_endorsement && !entry.endorsed {
            return Err(Refusal::Invalid(
                "the endorsement has no e-mail or no created time".into(),
            ));
        }
        Ok(Accepted {
            entry,
            document: normalised.into_bytes(),
        })
    }
}

/// How far ahead of this server's clock an endorsement time may be (the
/// signer's clock may run ahead of ours).
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 86_400;

/// Refuse an endorsement time later than `now` plus a day of clock skew:
/// such an entry would be "latest" of its (identifier, email) for years
/// and make every genuine later upload "older than latest".
fn not_in_the_future(created: &str, now: clock::Timestamp) -> Result<(), Refusal> {
    match clock::parse_rfc3339(created) {
        Some(at) if at > now.saturating_add(MAX_CLOCK_SKEW_SECONDS) => Err(Refusal::Invalid(format!(
            "slreq:endorsement/dcterms:created '{created}' is later than this server's time {} plus one day",
            clock::format_utc(now)
        ))),
        _ => Ok(()),
    }
}

impl Checker {
    /// Check a stored document again at "now", for the detail page.
    pub fn inspect(&self, bytes: &[u8]) -> Inspection {
        let result = validate::check_document_with(
            bytes,
            "stored document",
            SignaturePolicy::Required,
            Rules::Marketplace,
            &self.trust,
            self.policy,
            clock::now(),
        );
        match result {
            Ok(_) if self.checks_trust() => Inspection {
                signature: Ok(()),
                trust: TrustVerdict::Trusted,
            },
            Ok(_) => Inspection {
                signature: Ok(()),
                trust: TrustVerdict::NotChecked,
            },
            Err(stratus_core::Error::Invalid { reason, .. })
                if reason.stage == stratus_core::Stage::Trust =>
            {
                Inspection {
                    signature: Ok(()),
                    trust: TrustVerdict::Untrusted(reason.message),
                }
            }
            Err(other) => Inspection {
                signature: Err(refusal(other).to_string()),
                trust: TrustVerdict::Untrusted("the signature does not verify".into()),
            },
        }
    }
}

/// Every field of a stored document (the detail page).
pub fn manifest(bytes: &[u8]) -> Result<Manifest, String> {
    let text = xml::decode_text(bytes, "stored document").map_err(|e| e.to_string())?;
    stratus_core::document::manifest::read::from_str(&text, "stored document")
        .map_err(|e| e.to_string())
}

fn refusal(error: stratus_core::Error) -> Refusal {
    match error {
        stratus_core::Error::Invalid { reason, .. } if reason.stage == stratus_core::Stage::Xml => {
            Refusal::NotXml(reason.message)
        }
        stratus_core::Error::Invalid { reason, .. } => Refusal::Invalid(reason.message),
        other => Refusal::Invalid(other.to_string()),
    }
}

/// Decode `bytes` as an XML parser does and rewrite the text as stored:
/// the standard declaration replaces any declaration (and a byte-order
/// mark), white space around the document element goes, one `\n` ends it.
/// None of this changes what a signature covers.
fn normalise(bytes: &[u8], name: &str) -> Result<String, Refusal> {
    let text = xml::decode_text(bytes, name).map_err(refusal)?;
    let mut body: &str = text.as_ref();
    if let Some(rest) = body.strip_prefix("<?xml") {
        if rest.starts_with(|c: char| c.is_ascii_whitespace()) {
            if let Some(end) = rest.find("?>") {
                body = &rest[end + 2..];
            }
        }
    }
    let body = body.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r'));
    if body.is_empty() {
        return Err(Refusal::NotXml("Premature end of file.".into()));
    }
    let mut out = String::with_capacity(DECLARATION.len() + body.len() + 1);
    out.push_str(DECLARATION);
    out.push_str(body);
    out.push('\n');
    Ok(out)
}

/// The entry of a checked document: the XPath lookups of §3.1, each the
/// first match in document order, its string value untrimmed.
fn read_entry(doc: &Document) -> Result<Entry, Refusal> {
    let descriptions: Vec<Node> = doc
        .descendants()
        .filter(|n| is_element(*n, RDF_NS, "Description"))
        .filter(|n| n.parent().is_some_and(|p| is_element(p, RDF_NS, "RDF")))
        .collect();
    let first = |path: &[(&str, &str)]| -> Option<String> {
        descriptions
            .iter()
            .find_map(|d| follow(*d, path))
            .map(xml::string_value)
    };
    let all = |ns: &str, local: &str| -> Vec<String> {
        descriptions
            .iter()
            .flat_map(|d| d.children().filter(move |c| is_element(*c, ns, local)))
            .map(xml::string_value)
            .collect()
    };
    let endorser = |local: &'static str| {
        first(&[
            (SLREQ_NS, "endorsement"),
            (SLREQ_NS, "endorser"),
            (SLREQ_NS, local),
        ])
    };
    let identifier = first(&[(DCTERMS_NS, "identifier")]).unwrap_or_default();
    let email = endorser("email");
    let created = first(&[(SLREQ_NS, "endorsement"), (DCTERMS_NS, "created")]);
    let endorsed = email.as_deref().is_some_and(|e| !e.is_empty())
        && created.as_deref().is_some_and(|c| !c.is_empty());
    let key = Key::new(
        &identifier,
        email.as_deref().unwrap_or(""),
        created.as_deref().unwrap_or(""),
    )
    .map_err(|e| Refusal::Invalid(format!("the entry key is unusable: {e}")))?;
    let fields = Fields {
        valid: first(&[(DCTERMS_NS, "valid")]),
        deprecated: first(&[(SLTERMS_NS, "deprecated")]),
        alternative: first(&[(DCTERMS_NS, "alternative")]),
        os: first(&[(SLTERMS_NS, "os")]),
        os_version: first(&[(SLTERMS_NS, "os-version")]),
        os_arch: first(&[(SLTERMS_NS, "os-arch")]),
        kind: first(&[(SLTERMS_NS, "kind")]),
        locations: all(SLTERMS_NS, "location"),
        description: first(&[(DCTERMS_NS, "description")]),
        title: first(&[(DCTERMS_NS, "title")]),
        subject: endorser("subject"),
        issuer: endorser("issuer"),
    };
    Ok(Entry {
        key,
        endorsed,
        fields,
    })
}

/// The first descendant of `node` along `path`, one child step per name.
fn follow<'a, 'input>(node: Node<'a, 'input>, path: &[(&str, &str)]) -> Option<Node<'a, 'input>> {
    match path.split_first() {
        None => Some(node),
        Some(((ns, local), rest)) => node
            .children()
            .filter(|c| is_element(*c, ns, local))
            .find_map(|c| follow(c, rest)),
    }
}

fn is_element(node: Node, ns: &str, local: &str) -> bool {
    xml::is_element(node, ns, local)
}

/// A stored document's text without its XML-DSig `Signature` elements (for
/// the RDF views of an entry).
pub fn without_signature(document: &[u8]) -> Result<String, Refusal> {
    let text = xml::decode_text(document, "stored document").map_err(refusal)?;
    let doc = xml::parse(&text, "stored document").map_err(refusal)?;
    let mut cuts: Vec<std::ops::Range<usize>> = doc
        .descendants()
        .filter(|n| is_element(*n, XMLDSIG_NS, "Signature"))
        .map(|n| n.range())
        .collect();
    cuts.sort_by_key(|r| r.start);
    let mut kept = String::with_capacity(text.len());
    let mut from = 0;
    for cut in cuts {
        if cut.start < from {
            continue; // nested inside a signature already cut
        }
        kept.push_str(&text[from..cut.start]);
        from = cut.end;
    }
    kept.push_str(&text[from..]);
    Ok(kept)
}

/// "Now" as the metadata date form `yyyy-MM-ddTHH:mm:ssZ` (honours
/// `STRATUS_NOW`).
pub fn now() -> String {
    clock::format_utc(clock::now())
}

/// "Now" in seconds since the epoch (honours `STRATUS_NOW`).
pub fn now_seconds() -> i64 {
    clock::now()
}

/// A time in seconds since the epoch, in the metadata date form.
pub fn format_time(seconds: i64) -> String {
    clock::format_utc(seconds)
}

/// "Now" minus `days` days, in the same form.
pub fn days_ago(days: i64) -> String {
    clock::format_utc(clock::now().saturating_sub(days.saturating_mul(86_400)))
}

/// Whether `STRATUS_NOW`, when set, is a time the clock can read (a
/// pinned clock that cannot be read is a configuration error).
pub fn check_pinned_clock() -> Result<(), String> {
    match std::env::var(clock::NOW_VARIABLE) {
        Ok(value) if clock::parse_rfc3339(&value).is_none() => Err(format!(
            "{}: invalid value '{value}': expected a time such as 2026-01-15T10:20:30Z",
            clock::NOW_VARIABLE
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_replaces_the_declaration_and_the_outer_white_space() {
        let text = normalise(b"\xEF\xBB\xBF<?xml version='1.0'?>\r\n<a/>\r\n\r\n", "t").unwrap();
        assert_eq!(text, format!("{DECLARATION}<a/>\n"));
        let latin = normalise(
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xE9</a>",
            "t",
        );
        assert_eq!(latin.unwrap(), format!("{DECLARATION}<a>\u{e9}</a>\n"));
        assert_eq!(
            normalise(b"  \n", "t"),
            Err(Refusal::NotXml("Premature end of file.".into()))
        );
    }

    #[test]
    fn endorsement_times_more_than_a_day_ahead_are_refused() {
        let now = clock::parse_rfc3339("2026-01-15T10:00:00Z").unwrap();
        assert!(not_in_the_future("2026-01-16T10:00:00Z", now).is_ok());
        assert!(not_in_the_future("2014-01-01T00:00:00Z", now).is_ok());
        let refusal = not_in_the_future("2026-01-16T10:00:01Z", now).unwrap_err();
        assert!(refusal.to_string().starts_with(
            "invalid metadata: slreq:endorsement/dcterms:created '2026-01-16T10:00:01Z'"
        ));
        assert!(not_in_the_future("2999-01-01T00:00:00Z", now).is_err());
    }

    #[test]
    fn signatures_are_cut_out() {
        let doc =
            b"<r><a/><Signature xmlns='http://www.w3.org/2000/09/xmldsig#'><x/></Signature></r>";
        assert_eq!(without_signature(doc).unwrap(), "<r><a/></r>");
    }
}
