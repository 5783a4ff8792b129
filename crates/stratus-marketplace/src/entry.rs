//! A Marketplace entry: one stored document, its key and the fields the
//! server indexes (marketplace.md §3.1).
//!
//! The key is `<identifier>/<email>/<created>`, with `created` the
//! *endorsement* time. Every component of a key is checked by
//! [`check_component`] before it names anything, so a key can never name a
//! file outside the store when it becomes a path (export, `/sync`).

use std::fmt;

/// The most bytes a key component may have: a file name's limit.
pub const MAX_COMPONENT_BYTES: usize = 255;

/// The key of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// `dcterms:identifier`.
    pub identifier: String,
    /// The endorser's e-mail (`slreq:endorsement/slreq:endorser/slreq:email`).
    pub email: String,
    /// The endorsement time (`slreq:endorsement/dcterms:created`).
    pub created: String,
}

impl Key {
    /// A key from its three components, each checked with [`check_component`].
    pub fn new(identifier: &str, email: &str, created: &str) -> Result<Key, KeyError> {
        for (part, value) in [
            ("identifier", identifier),
            ("email", email),
            ("created", created),
        ] {
            check_component(value).map_err(|reason| KeyError { part, reason })?;
        }
        Ok(Key {
            identifier: identifier.to_string(),
            email: email.to_string(),
            created: created.to_string(),
        })
    }

    /// Parse `identifier/email/created` (the `/sync` form and `.sync` lines).
    pub fn parse(text: &str) -> Result<Key, KeyError> {
        let mut parts = text.splitn(3, '/');
        let (Some(identifier), Some(email), Some(created)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError {
                part: "key",
                reason: "expected <identifier>/<email>/<created>",
            });
        };
        Key::new(identifier, email, created)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.identifier, self.email, self.created)
    }
}

/// Why a key component was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// `identifier`, `email`, `created` or `key`.
    pub part: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.part, self.reason)
    }
}

impl std::error::Error for KeyError {}

/// Check one key component: no `/`, no NUL or other control character, not
/// `.` or `..`, at most [`MAX_COMPONENT_BYTES`] bytes. The empty string is
/// allowed (a legacy document without endorsement e-mail or time still has
/// a key), since it can only name a file together with the other parts.
pub fn check_component(value: &str) -> Result<(), &'static str> {
    if value.len() > MAX_COMPONENT_BYTES {
        return Err("longer than 255 bytes");
    }
    if value.contains('/') {
        return Err("contains '/'");
    }
    if value.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    if value == "." || value == ".." {
        return Err("is '.' or '..'");
    }
    Ok(())
}

/// The indexed fields of one entry: the values of §3.1, each the first
/// match in document order (absent elements are `None`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    /// `dcterms:valid`.
    pub valid: Option<String>,
    /// `slterms:deprecated` (the reason; present means deprecated).
    pub deprecated: Option<String>,
    /// `dcterms:alternative`: the tag.
    pub alternative: Option<String>,
    /// `slterms:os`.
    pub os: Option<String>,
    /// `slterms:os-version`.
    pub os_version: Option<String>,
    /// `slterms:os-arch`.
    pub os_arch: Option<String>,
    /// `slterms:kind`.
    pub kind: Option<String>,
    /// Every `slterms:location`, in document order.
    pub locations: Vec<String>,
    /// `dcterms:description`.
    pub description: Option<String>,
    /// `dcterms:title`.
    pub title: Option<String>,
    /// The endorser's certificate subject (`slreq:subject`).
    pub subject: Option<String>,
    /// The endorser's certificate issuer (the first `slreq:issuer`).
    pub issuer: Option<String>,
}

/// An entry as the index holds it: key and fields, without the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: Key,
    /// Whether the document had an endorsement e-mail and time (an entry
    /// lacking either never appears in listings, as in legacy).
    pub endorsed: bool,
    /// The indexed fields.
    pub fields: Fields,
}

impl Entry {
    /// The status of §3.6 at `now` (`yyyy-MM-ddTHH:mm:ssZ`): deprecated wins,
    /// then expired (`valid < now`), then valid (`valid > now`); `None` when
    /// the entry has no `dcterms:valid` or `valid == now` exactly.
    pub fn status(&self, now: &str) -> Option<Status> {
        let valid = self.fields.valid.as_deref()?;
        if self.fields.deprecated.is_some() {
            return Some(Status::Deprecated);
        }
        match valid.cmp(now) {
            std::cmp::Ordering::Greater => Some(Status::Valid),
            std::cmp::Ordering::Less => Some(Status::Expired),
            std::cmp::Ordering::Equal => None,
        }
    }
}

/// An entry's status in listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not deprecated, `dcterms:valid` in the future.
    Valid,
    /// Not deprecated, `dcterms:valid` in the past.
    Expired,
    /// Carries `slterms:deprecated`.
    Deprecated,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_that_could_name_other_files_are_refused() {
        for bad in ["..", ".", "a/b", "a\0b", "a\nb", &"x".repeat(256)] {
            assert!(check_component(bad).is_err(), "{bad:?}");
        }
        for good in [
            "",
            "...",
            "jane@example.org",
            "2014-03-08T14:10:40Z",
            "a..b",
        ] {
            assert!(check_component(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn keys_parse_and_print_alike() {
        let text = "BEE8-MMAw-Lk_IgsEExAy3d9R8h/jane@example.org/2014-03-08T14:10:40Z";
        let key = Key::parse(text).unwrap();
        assert_eq!(key.to_string(), text);
        assert!(Key::parse("a/b").is_err());
        assert!(Key::parse("a/b/c/d").is_err());
    }

    #[test]
    fn status_follows_the_legacy_order() {
        let mut entry = Entry {
            key: Key::new("i", "e", "c").unwrap(),
            endorsed: true,
            fields: Fields {
                valid: Some("2016-01-01T00:00:00Z".into()),
                ..Fields::default()
            },
        };
        assert_eq!(entry.status("2015-01-01T00:00:00Z"), Some(Status::Valid));
        assert_eq!(entry.status("2017-01-01T00:00:00Z"), Some(Status::Expired));
        assert_eq!(entry.status("2016-01-01T00:00:00Z"), None);
        entry.fields.deprecated = Some(String::new());
        assert_eq!(
            entry.status("2017-01-01T00:00:00Z"),
            Some(Status::Deprecated)
        );
        entry.fields.valid = None;
        assert_eq!(entry.status("2017-01-01T00:00:00Z"), None);
    }
}
