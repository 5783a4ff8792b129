//! One entry: `GET /metadata/{identifier}/{email}/{created}` (and the
//! entry a tag resolves to) as HTML: every field a site cares about, the
//! signature and trust verdict at "now", the XML and JSON buttons and the
//! `stratus-download-image` command line for the entry.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::{location_link, render, PageInfo};
use crate::document::TrustVerdict;
use crate::entry::Key;
use crate::http::context::Context;
use crate::http::response::ApiError;
use crate::http::{blocking, encode_segment, entry_path, AppState};

#[derive(Template)]
#[template(path = "entry.html")]
struct EntryPage {
    page: PageInfo,
    heading: String,
    description: String,
    deprecated: Option<String>,
    expired: bool,
    valid: String,
    latest: bool,
    xml_href: String,
    json_href: String,
    history_href: String,
    command: String,
    fields: Vec<(&'static str, String)>,
    checksums: Vec<(String, String)>,
    locations: Vec<(String, Option<String>)>,
    email: String,
    created: String,
    subject: String,
    issuer: String,
    signature_ok: bool,
    signature: String,
    trust: String,
    trust_class: &'static str,
}

/// The page of the stored `document` of `key`.
pub async fn page(
    state: AppState,
    context: Context,
    key: Key,
    document: Vec<u8>,
) -> Result<Response, ApiError> {
    let checker = state.checker.clone();
    let store = state.store.clone();
    let lookup = key.clone();
    let (manifest, inspection, latest) = blocking(move || {
        let manifest = crate::document::manifest(&document)
            .map_err(|e| ApiError::internal(format!("stored document unreadable: {e}")))?;
        let inspection = checker.inspect(&document);
        let latest = store.latest_created(&lookup.identifier, &lookup.email)?;
        Ok((manifest, inspection, latest))
    })
    .await?;
    let t = &manifest.terms;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let now = crate::document::now();
    let valid = text(&t.valid);
    let title = t.title.clone().filter(|s| !s.trim().is_empty());
    let heading = match (&title, &t.alternative) {
        (Some(title), Some(tag)) if !tag.is_empty() => format!("{title} ({tag})"),
        (Some(title), _) => title.clone(),
        (None, Some(tag)) if !tag.is_empty() => tag.clone(),
        _ => key.identifier.clone(),
    };
    let path = entry_path(&key);
    let endorser = manifest
        .endorsement
        .as_ref()
        .and_then(|e| e.endorser.as_ref());
    let os = [t.os.clone(), t.os_version.clone(), t.os_arch.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let mut fields: Vec<(&'static str, String)> = vec![
        ("Identifier", key.identifier.clone()),
        ("Title", text(&t.title)),
        ("Tag", text(&t.alternative)),
        ("Operating system", os),
        ("OS", text(&t.os)),
        ("OS version", text(&t.os_version)),
        ("Architecture", text(&t.os_arch)),
        ("Version", text(&t.version)),
        ("Format", text(&t.format)),
        ("Compression", text(&t.compression)),
        ("Size", size(manifest.bytes)),
        ("Kind", text(&t.kind)),
        ("Type", text(&t.image_type)),
        ("Hypervisor", text(&t.hypervisor)),
        ("Publisher", text(&t.publisher)),
        ("Creator", text(&t.creator)),
        ("Created", text(&t.created)),
        (
            "Valid until",
            if valid.is_empty() {
                "(no date)".into()
            } else {
                valid.clone()
            },
        ),
    ];
    fields.retain(|(_, v)| !v.is_empty());
    let (trust, trust_class) = match &inspection.trust {
        TrustVerdict::Trusted => (
            "yes: the signer's certificate chains to this server's trust anchors, is valid now and is not revoked".to_string(),
            "good",
        ),
        TrustVerdict::Untrusted(reason) => (format!("no: {reason}"), "bad"),
        TrustVerdict::NotChecked => (
            "not checked: this server has no trust anchors (trust.ca, trust.dir), so any certificate whose signature verifies is accepted".to_string(),
            "",
        ),
    };
    let url = format!("{}{path}", context.base_url);
    let template = EntryPage {
        page: PageInfo::new(&context, heading.clone(), "images"),
        heading,
        description: text(&t.description),
        deprecated: t.deprecated.clone(),
        expired: t.deprecated.is_none() && !valid.is_empty() && valid < now,
        valid,
        latest: latest.as_deref() == Some(key.created.as_str()),
        xml_href: format!("{path}?media=xml"),
        json_href: format!("{path}?media=json"),
        history_href: format!("endorsers/{}?range=36500", encode_segment(&key.email)),
        command: format!(
            "stratus-download-image -o {}.img '{}'",
            shell_word(&key.identifier),
            url.replace('\'', "'\\''")
        ),
        fields,
        checksums: manifest
            .checksums
            .iter()
            .map(|c| (c.algorithm.clone(), c.value.clone()))
            .collect(),
        locations: t
            .locations
            .iter()
            .map(|l| (l.clone(), location_link(l)))
            .collect(),
        email: key.email.clone(),
        created: key.created.clone(),
        subject: endorser.and_then(|e| e.subject.clone()).unwrap_or_default(),
        issuer: endorser.map(|e| e.issuers.join("; ")).unwrap_or_default(),
        signature_ok: inspection.signature.is_ok(),
        signature: match &inspection.signature {
            Ok(()) => "verifies, and the endorsement agrees with the signing certificate".into(),
            Err(reason) => format!("does not verify: {reason}"),
        },
        trust,
        trust_class,
    };
    Ok(render(StatusCode::OK, &template))
}

/// A byte count, with the binary unit a person reads.
fn size(bytes: u64) -> String {
    if bytes == 0 {
        return String::new();
    }
    let units = ["KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = "";
    for u in units {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    if unit.is_empty() {
        format!("{bytes} bytes")
    } else {
        format!("{bytes} bytes ({value:.1} {unit})")
    }
}

/// A file name safe on a shell command line: letters, digits, `-`, `_`.
fn shell_word(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(size(512), "512 bytes");
        assert_eq!(size(1536), "1536 bytes (1.5 KiB)");
        assert_eq!(shell_word("a;b$(c)"), "a_b__c_");
    }
}
