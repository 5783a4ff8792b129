//! Resolving an input ([`Source`]) to candidate entries, each verified
//! (signature, rules, and the signer's chain when the site has trust
//! anchors) on the exact bytes received, then checked against the site
//! policy: a [`Resolution`] that says, for every candidate and every rule,
//! what was found.

use super::endpoint::Endpoint;
use super::marketplace::{self, EntryKey, Marketplace, Received};
use super::policy::{Allowances, Check, Policy};
use super::source::Source;
use super::SiteError;
use crate::document::manifest::{read, Manifest};
use crate::document::validate::{check_document, Report, SignaturePolicy};
use crate::error::{EXIT_POLICY, EXIT_USAGE};
use crate::signature::trust::TrustOptions;

/// Everything a site decides with: where its Marketplace is and how to
/// reach it, its policy, its trust anchors, and what it tolerates.
#[derive(Debug)]
pub struct Site {
    /// The Marketplace (endpoint and HTTP client; the client fetches the
    /// images too).
    pub marketplace: Marketplace,
    /// The site policy.
    pub policy: Policy,
    /// The trust anchors the signers must chain to (none: not checked).
    pub trust: TrustOptions,
    /// Expired or deprecated entries accepted.
    pub allow: Allowances,
}

/// One candidate entry and the site's verdict on it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Where the document came from (URL or file name).
    pub origin: String,
    /// The document's exact text, as verified.
    pub text: String,
    /// The document, read from that text (when it verified).
    pub manifest: Option<Manifest>,
    /// What the verification found (when it verified).
    pub report: Option<Report>,
    /// Every rule and what it found, in order.
    pub checks: Vec<Check>,
    /// 0 when accepted, else the exit code of the refusal: 5 for a policy
    /// rule, 3 or 4 for the signature or the signer, 1 for a document that
    /// breaks the metadata rules.
    pub code: i32,
}

impl Candidate {
    /// Whether the site accepts this entry.
    pub fn accepted(&self) -> bool {
        self.code == 0
    }

    /// The endorsement's e-mail and time, when the document has them.
    pub fn key(&self) -> Option<(&str, &str, &str)> {
        let manifest = self.manifest.as_ref()?;
        let endorsement = manifest.endorsement.as_ref()?;
        let email = endorsement.endorser.as_ref()?.email.as_deref()?;
        Some((&manifest.identifier, email, endorsement.created.as_deref()?))
    }

    /// The legacy entry URL `<endpoint>/metadata/<id>/<email>/<created>`.
    pub fn entry_url(&self, endpoint: &Endpoint) -> Option<String> {
        let (identifier, email, created) = self.key()?;
        Some(endpoint.entry_url(identifier, email, created))
    }

    /// The checks that refused the entry.
    pub fn refusals(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// The candidates of one input, and the one chosen.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The input, as the user named it.
    pub subject: String,
    /// Every candidate, in the order received.
    pub candidates: Vec<Candidate>,
}

impl Resolution {
    /// The chosen entry: of the accepted candidates, the one with the
    /// newest endorsement (the first received among equals).
    pub fn chosen(&self) -> Option<&Candidate> {
        let created = |c: &Candidate| c.key().map(|(_, _, created)| created.to_string());
        self.candidates
            .iter()
            .filter(|c| c.accepted())
            .fold(None, |best: Option<&Candidate>, c| match best {
                Some(b) if created(b) >= created(c) => Some(b),
                _ => Some(c),
            })
    }

    /// The exit code when nothing is accepted: the highest code of the
    /// candidates (5 when there is none).
    pub fn refusal_code(&self) -> i32 {
        self.candidates
            .iter()
            .map(|c| c.code)
            .max()
            .filter(|code| *code != 0)
            .unwrap_or(EXIT_POLICY)
    }

    /// The chosen entry, or the refusal.
    pub fn accepted(&self) -> Result<&Candidate, SiteError> {
        self.chosen().ok_or_else(|| SiteError::Refused {
            subject: self.subject.clone(),
            code: self.refusal_code(),
        })
    }
}

/// Fetch (or read) the candidates of `source` and evaluate each.
pub fn resolve(site: &Site, source: &Source) -> crate::error::Result<Resolution> {
    let (received, wanted) = match source {
        Source::Key(key) => (site.marketplace.entries(key)?, Some(key)),
        Source::MetadataUrl(url) => (site.marketplace.fetch(url)?, None),
        Source::File(path) => (read_file(path)?, None),
        Source::ImageUrl(url) => {
            return Err(SiteError::BadInput {
                what: "the image".into(),
                value: url.clone(),
                reason: "an image URL carries no signed checksums to verify it against: give the \
                         image's metadata (its identifier, entry URL or file)"
                    .into(),
            }
            .into())
        }
    };
    let now = crate::clock::now();
    let candidates = received
        .into_iter()
        .map(|r| evaluate(site, r, wanted, now))
        .collect();
    Ok(Resolution {
        subject: source.describe(),
        candidates,
    })
}

/// The documents of a metadata file (a single document or a saved
/// listing); `-` is standard input.
fn read_file(path: &std::path::Path) -> crate::error::Result<Vec<Received>> {
    let bytes = crate::document::input::read_document(path)?;
    let name = if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    let text = crate::document::xml::decode_text(&bytes, &name)?;
    Ok(
        marketplace::split_documents(&text, &name).map_err(|e| match e {
            SiteError::BadResponse { detail, .. } => SiteError::BadInput {
                what: "the metadata file".into(),
                value: name.clone(),
                reason: detail,
            },
            other => other,
        })?,
    )
}

/// Verify one received document and apply the policy to it.
pub fn evaluate(site: &Site, received: Received, wanted: Option<&EntryKey>, now: i64) -> Candidate {
    let mut candidate = Candidate {
        origin: received.origin,
        text: received.text,
        manifest: None,
        report: None,
        checks: Vec::new(),
        code: 0,
    };
    let checked = check_document(
        candidate.text.as_bytes(),
        &candidate.origin,
        SignaturePolicy::Required,
        &site.trust,
    );
    let report = match checked {
        Ok(report) => report,
        Err(error) => {
            refuse_document(&mut candidate, &error);
            return candidate;
        }
    };
    let manifest = match read::from_str(&candidate.text, &candidate.origin) {
        Ok(manifest) => manifest,
        Err(error) => {
            refuse_document(&mut candidate, &error);
            return candidate;
        }
    };
    candidate.checks.push(signature_check(&report));
    candidate.checks.push(trust_check(&report));
    if let Some(key) = wanted {
        candidate.checks.push(request_check(key, &manifest));
    }
    candidate
        .checks
        .extend(site.policy.evaluate(&manifest, &report, site.allow, now));
    if candidate.checks.iter().any(|c| !c.passed) {
        candidate.code = EXIT_POLICY;
    }
    candidate.manifest = Some(manifest);
    candidate.report = Some(report);
    candidate
}

fn refuse_document(candidate: &mut Candidate, error: &crate::Error) {
    let (rule, message, code) = match error {
        crate::Error::Invalid { reason, .. } => {
            let rule = match reason.stage {
                crate::Stage::Trust => "trust",
                crate::Stage::Unsigned | crate::Stage::Signature => "signature",
                _ => "document",
            };
            (rule, reason.message.clone(), reason.exit_code())
        }
        other => ("document", other.to_string(), other.exit_code().max(1)),
    };
    candidate.checks.push(Check {
        rule,
        applied: true,
        passed: false,
        message: format!("{message}, rejecting entry"),
    });
    candidate.code = if code == EXIT_USAGE { 1 } else { code };
}

fn signature_check(report: &Report) -> Check {
    let signer = report.signer.as_deref().unwrap_or("(unknown)");
    let email = report.email.as_deref().unwrap_or("(none)");
    let carried = if report.email_in_certificate {
        "carried by the certificate"
    } else {
        "the document's claim only: the certificate carries no e-mail"
    };
    Check {
        rule: "signature",
        applied: true,
        passed: true,
        message: format!("verifies: signed by {signer}, endorser e-mail {email} ({carried})"),
    }
}

fn trust_check(report: &Report) -> Check {
    if report.trust_checked {
        Check {
            rule: "trust",
            applied: true,
            passed: true,
            message: "the signer's certificate chains to a trusted CA".into(),
        }
    } else {
        Check {
            rule: "trust",
            applied: false,
            passed: true,
            message:
                "not checked: no trust anchors (--ca, --trust-dir, or [trust] in the policy file)"
                    .into(),
        }
    }
}

/// A Marketplace must answer with entries of the image asked for.
fn request_check(key: &EntryKey, manifest: &Manifest) -> Check {
    let email = manifest.endorser_email();
    let created = manifest
        .endorsement
        .as_ref()
        .and_then(|e| e.created.as_deref());
    let mismatch = if manifest.identifier != key.identifier {
        Some(format!("the entry is of image {}", manifest.identifier))
    } else if key
        .email
        .as_deref()
        .is_some_and(|e| !email.is_some_and(|m| m.eq_ignore_ascii_case(e)))
    {
        Some(format!(
            "the entry is endorsed by {}",
            email.unwrap_or("nobody")
        ))
    } else if key.created.is_some() && key.created.as_deref() != created {
        Some(format!(
            "the entry was endorsed at {}",
            created.unwrap_or("no time")
        ))
    } else {
        None
    };
    match mismatch {
        None => Check {
            rule: "request",
            applied: true,
            passed: true,
            message: format!("the entry is of image {} as asked", manifest.identifier),
        },
        Some(what) => Check {
            rule: "request",
            applied: true,
            passed: false,
            message: format!("{what}, not the one asked for, rejecting entry"),
        },
    }
}
