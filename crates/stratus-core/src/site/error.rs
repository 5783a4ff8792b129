//! The failures of the site side, each with the exit code of DESIGN.md:
//! 7 for the network, TLS and server errors (with the URL), 5 for an entry
//! the site policy refuses, 6 for an image that does not match its
//! metadata.

use crate::error::{EXIT_MISMATCH, EXIT_NETWORK, EXIT_RUNTIME, EXIT_USAGE};
use std::fmt;
use std::path::PathBuf;

/// One location tried by a download, and why it did not serve the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The location's URL.
    pub url: String,
    /// Whether the location answered with bytes that were not the image.
    pub mismatch: bool,
    /// What went wrong.
    pub detail: String,
}

/// Every failure of the site side.
#[derive(Debug)]
pub enum SiteError {
    /// An endpoint, URL or input that cannot be used (a usage error).
    BadInput {
        /// What was given: `--marketplace-endpoint`, the input argument, ...
        what: String,
        /// The value.
        value: String,
        /// Why it cannot be used, and what would.
        reason: String,
    },
    /// A request got no answer: connection refused, host unknown, TLS
    /// refused, timed out, proxy failed.
    Network {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL.
        url: String,
        /// What happened.
        detail: String,
    },
    /// The server answered with an error status.
    Status {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The server's explanation (the `<error>` text of a legacy error
        /// body), when it gave one.
        message: Option<String>,
        /// What the status means for the user, when we know better than
        /// the server's words.
        hint: Option<String>,
    },
    /// The answer is not what was asked for: too large, not XML, not a
    /// metadata document or listing.
    BadResponse {
        /// The URL.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The site policy (or the signature or trust checks it includes)
    /// refused every candidate entry.
    Refused {
        /// What was resolved (an identifier, a URL, a file name).
        subject: String,
        /// The exit code: 5 for a policy rule, 3 or 4 when the signature or
        /// the signer was the only fault, 1 for an invalid document.
        code: i32,
    },
    /// No location of the image served it.
    NoImage {
        /// The image identifier.
        identifier: String,
        /// Each location and why it failed.
        attempts: Vec<Attempt>,
    },
    /// A policy file that cannot be used.
    PolicyFile {
        /// The file.
        path: PathBuf,
        /// The line (1-based), or 0 for the whole file.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl SiteError {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            SiteError::BadInput { .. } => EXIT_USAGE,
            SiteError::Network { .. }
            | SiteError::Status { .. }
            | SiteError::BadResponse { .. } => EXIT_NETWORK,
            SiteError::Refused { code, .. } => *code,
            // Some location served bytes that are not the image: the image
            // was reached, and is wrong. Only unreachable locations: 7.
            SiteError::NoImage { attempts, .. } if attempts.iter().any(|a| a.mismatch) => {
                EXIT_MISMATCH
            }
            SiteError::NoImage { .. } => EXIT_NETWORK,
            SiteError::PolicyFile { .. } => EXIT_RUNTIME,
        }
    }
}

impl fmt::Display for SiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SiteError::BadInput {
                what,
                value,
                reason,
            } => write!(f, "{what}: cannot use '{value}': {reason}"),
            SiteError::Network {
                method,
                url,
                detail,
            } => write!(f, "{method} {url}: {detail}"),
            SiteError::Status {
                method,
                url,
                status,
                message,
                hint,
            } => {
                write!(f, "{method} {url}: {status} {}", reason_phrase(*status))?;
                if let Some(message) = message {
                    write!(f, ": {message}")?;
                }
                if let Some(hint) = hint {
                    write!(f, " ({hint})")?;
                }
                Ok(())
            }
            SiteError::BadResponse { url, detail } => write!(f, "{url}: {detail}"),
            SiteError::Refused { subject, .. } => {
                write!(f, "{subject}: Image isn't valid according to site policy")
            }
            SiteError::NoImage {
                identifier,
                attempts,
            } => {
                if attempts.is_empty() {
                    return write!(f, "image {identifier}: the metadata lists no location");
                }
                let verdict = if attempts.iter().any(|a| a.mismatch) {
                    "no location served the image described by its metadata"
                } else {
                    "no location could be reached"
                };
                write!(f, "image {identifier}: {verdict}")?;
                for attempt in attempts {
                    write!(f, "\n  {}: {}", attempt.url, attempt.detail)?;
                }
                Ok(())
            }
            SiteError::PolicyFile {
                path,
                line,
                message,
            } if *line > 0 => write!(f, "{}:{line}: {message}", path.display()),
            SiteError::PolicyFile { path, message, .. } => {
                write!(f, "{}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for SiteError {}

/// The standard reason phrase of an HTTP status.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages() {
        let status = SiteError::Status {
            method: "POST",
            url: "http://mp/metadata".into(),
            status: 400,
            message: Some("invalid metadata: older than latest entry".into()),
            hint: None,
        };
        assert_eq!(status.exit_code(), 7);
        assert_eq!(
            status.to_string(),
            "POST http://mp/metadata: 400 Bad Request: invalid metadata: older than latest entry"
        );
        let attempt = |mismatch| Attempt {
            url: "http://a/img".into(),
            mismatch,
            detail: "x".into(),
        };
        let none = SiteError::NoImage {
            identifier: "ID".into(),
            attempts: vec![attempt(false)],
        };
        assert_eq!(none.exit_code(), 7);
        let wrong = SiteError::NoImage {
            identifier: "ID".into(),
            attempts: vec![attempt(false), attempt(true)],
        };
        assert_eq!(wrong.exit_code(), 6);
        assert!(wrong.to_string().contains("\n  http://a/img: x"));
    }
}
