//! What a site is asked to resolve, recognised from one argument: a
//! Marketplace identifier, an entry key `id/email[/created]`, a URL (of a
//! metadata entry or listing, or of an image), or a metadata file (`-`:
//! standard input), for offline sites.

use super::marketplace::EntryKey;
use super::SiteError;
use std::path::PathBuf;

/// One input of `stratus-policy-image`, `stratus-download-image` and the
/// commands that start images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The entries of an image (or of one endorser's, or one entry) on the
    /// configured Marketplace.
    Key(EntryKey),
    /// A URL that serves a metadata document or a listing.
    MetadataUrl(String),
    /// A URL that serves an image itself: it carries no signed checksum,
    /// so it can only be fetched unverified (see [`super::resolve`]).
    ImageUrl(String),
    /// A local metadata file; `-` is standard input.
    File(PathBuf),
}

/// The file-name endings of an image URL (the legacy `stratus-manifest`
/// pattern, with the formats and compressions read here).
const IMAGE_ENDINGS: [&str; 10] = [
    ".img", ".qcow", ".qcow2", ".raw", ".iso", ".vmdk", ".vdi", ".vhd", ".vhdx", ".qed",
];
const COMPRESSED_ENDINGS: [&str; 3] = [".gz", ".bz2", ".xz"];

impl Source {
    /// Recognise `arg` (in this order): `-`, a URL, an identifier, an entry
    /// key, an existing file.
    pub fn parse(arg: &str) -> Result<Source, SiteError> {
        if arg == "-" {
            return Ok(Source::File(PathBuf::from("-")));
        }
        let lower = arg.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Ok(if is_image_url(&lower) {
                Source::ImageUrl(arg.to_string())
            } else {
                Source::MetadataUrl(arg.to_string())
            });
        }
        if let Some(key) = entry_key(arg) {
            return Ok(Source::Key(key));
        }
        let path = PathBuf::from(arg);
        if path.is_file() {
            return Ok(Source::File(path));
        }
        Err(SiteError::BadInput {
            what: "the image".into(),
            value: arg.to_string(),
            reason: "not a Marketplace identifier (27 characters), an entry key \
                     (identifier/email/created), an http(s) URL or an existing metadata file"
                .into(),
        })
    }

    /// The input as the user would name it.
    pub fn describe(&self) -> String {
        match self {
            Source::Key(key) => [
                Some(key.identifier.as_str()),
                key.email.as_deref(),
                key.created.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/"),
            Source::MetadataUrl(url) | Source::ImageUrl(url) => url.clone(),
            Source::File(path) if path.as_os_str() == "-" => "standard input".into(),
            Source::File(path) => path.display().to_string(),
        }
    }
}

/// Whether `text` is a Marketplace identifier.
pub fn is_identifier(text: &str) -> bool {
    text.len() == crate::document::identifier::IDENTIFIER_LENGTH
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn entry_key(arg: &str) -> Option<EntryKey> {
    let parts: Vec<&str> = arg.split('/').collect();
    if !is_identifier(parts[0]) {
        return None;
    }
    let email_like = |s: &str| crate::document::manifest::rules::is_email(s);
    match parts.as_slice() {
        [id] => Some(EntryKey {
            identifier: id.to_string(),
            email: None,
            created: None,
        }),
        [id, email] if email_like(email) => Some(EntryKey {
            identifier: id.to_string(),
            email: Some(email.to_string()),
            created: None,
        }),
        [id, email, created] if email_like(email) && crate::clock::parse_utc(created).is_some() => {
            Some(EntryKey {
                identifier: id.to_string(),
                email: Some(email.to_string()),
                created: Some(created.to_string()),
            })
        }
        _ => None,
    }
}

fn is_image_url(lower: &str) -> bool {
    let path = lower.split(['?', '#']).next().unwrap_or(lower);
    if path.contains("/metadata/") {
        return false;
    }
    COMPRESSED_ENDINGS
        .iter()
        .chain(IMAGE_ENDINGS.iter())
        .any(|ending| path.ends_with(ending))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "MMZu9WvwKIro-rtBQfDk4PsKO7_";

    #[test]
    fn inputs_are_recognised() {
        assert!(matches!(Source::parse(ID), Ok(Source::Key(k)) if k.email.is_none()));
        let key = format!("{ID}/jane@example.org/2014-03-08T14:10:40Z");
        assert!(matches!(Source::parse(&key), Ok(Source::Key(k)) if k.created.is_some()));
        assert!(matches!(
            Source::parse(&format!("{ID}/jane@example.org")),
            Ok(Source::Key(k)) if k.email.is_some() && k.created.is_none()
        ));
        for url in [
            "http://mp/metadata/x",
            "https://mp/marketplace/metadata/ID/a@b.c/2014-03-08T14:10:40Z",
            "http://mp/entry.xml",
        ] {
            assert!(
                matches!(Source::parse(url), Ok(Source::MetadataUrl(_))),
                "{url}"
            );
        }
        for url in [
            "http://h/ttylinux.img",
            "https://h/x.qcow2.gz",
            "http://h/a.raw.xz?x=1",
            "http://h/blob.gz",
        ] {
            assert!(
                matches!(Source::parse(url), Ok(Source::ImageUrl(_))),
                "{url}"
            );
        }
        assert!(matches!(Source::parse("-"), Ok(Source::File(p)) if p.as_os_str() == "-"));
        assert!(Source::parse("no-such-file.xml").is_err());
        assert!(Source::parse(&format!("{ID}/not-an-email")).is_err());
    }
}
