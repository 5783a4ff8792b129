//! Request parameters: path segments (percent-decoded, then checked, §1.7
//! recommendation), query and form pairs, and the value shapes that
//! classify filters (§2.1: e-mail, date, otherwise identifier).

use axum::http::Uri;

use super::response::ApiError;
use crate::entry::check_component;

/// The route variables of `uri`'s path: its segments after the first
/// `skip` (the route's leading literals), at most `take` of them, each
/// decoded and checked. Read from the raw path (the router's own captures
/// are decoded already, and refuse non-UTF-8 without saying where).
pub fn segments(uri: &Uri, skip: usize, take: usize) -> Result<Vec<String>, ApiError> {
    uri.path()
        .split('/')
        .filter(|s| !s.is_empty())
        .skip(skip)
        .take(take)
        .map(decode_segment)
        .collect()
}

/// Percent-decode one path segment; it must be UTF-8 and a usable key
/// component (no `/` (`%2F`), no NUL or control character, not `..`).
pub fn decode_segment(raw: &str) -> Result<String, ApiError> {
    let shown: String = raw.chars().take(64).collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(raw).collect();
    let text = String::from_utf8(bytes).map_err(|_| {
        ApiError::bad_request(format!(
            "invalid path segment '{shown}': not UTF-8 once percent-decoded"
        ))
    })?;
    check_component(&text).map_err(|reason| {
        ApiError::bad_request(format!("invalid path segment '{shown}': {reason}"))
    })?;
    Ok(text)
}

/// Query or form pairs, decoded, in order.
#[derive(Debug, Clone, Default)]
pub struct Pairs(Vec<(String, String)>);

impl Pairs {
    /// Parse `application/x-www-form-urlencoded` text (a query string or a
    /// form body).
    pub fn parse(text: &[u8]) -> Pairs {
        Pairs(
            form_urlencoded::parse(text)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The last value of `name` (the listing's rule, §1.7).
    pub fn last(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name` (`range`, `query`).
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// What a filter value's shape makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+`: an endorser e-mail.
    Email,
    /// `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z`: an endorsement time.
    Date,
    /// Anything else: an identifier.
    Identifier,
}

/// Classify a filter value (legacy `PatternUtils`, whole-string matches).
pub fn shape(value: &str) -> Shape {
    if is_email(value) {
        Shape::Email
    } else if is_date(value) {
        Shape::Date
    } else {
        Shape::Identifier
    }
}

fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-".contains(&b))
}

fn is_date(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(shape("jane.tester@example.org"), Shape::Email);
        assert_eq!(shape("a@b@c"), Shape::Identifier);
        assert_eq!(shape("2014-03-08T14:10:40Z"), Shape::Date);
        assert_eq!(shape("2014-03-08T14:10:40"), Shape::Identifier);
        assert_eq!(shape("BEE8-MMAw-Lk_IgsEExAy3d9R8h"), Shape::Identifier);
    }

    #[test]
    fn segments_are_decoded_and_checked() {
        assert_eq!(
            decode_segment("jane%40example.org").unwrap(),
            "jane@example.org"
        );
        for bad in ["..", "%2E%2E", "a%2Fb", "a%00b", "%FF", "%C3"] {
            let error = decode_segment(bad).unwrap_err();
            assert_eq!(error.status, 400, "{bad}");
        }
    }

    #[test]
    fn last_and_first_values() {
        let pairs = Pairs::parse(b"identifier=a&identifier=b&range=1&range=2&x=%22q%22+r");
        assert_eq!(pairs.last("identifier"), Some("b"));
        assert_eq!(pairs.first("range"), Some("1"));
        assert_eq!(pairs.last("x"), Some("\"q\" r"));
    }
}
