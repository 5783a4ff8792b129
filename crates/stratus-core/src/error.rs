//! One error type for the library. Every variant maps to a documented exit
//! code, so the commands never have to guess how serious a failure is.

use std::fmt;
use std::path::PathBuf;

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code for an invalid document (schema, constraint or RDF rule).
pub const EXIT_INVALID: i32 = 1;
/// Exit code for a usage error: bad option, bad option value, missing argument.
pub const EXIT_USAGE: i32 = 2;
/// Exit code for a signature that does not verify, or an endorsement that
/// disagrees with the signing certificate.
pub const EXIT_SIGNATURE: i32 = 3;
/// Exit code for a signer that is not trusted: no chain to an anchor,
/// revoked, or expired.
pub const EXIT_UNTRUSTED: i32 = 4;
/// Exit code for an entry refused by the site policy (including expired and
/// deprecated entries).
pub const EXIT_POLICY: i32 = 5;
/// Exit code for an image that does not match its metadata (size or a
/// checksum).
pub const EXIT_MISMATCH: i32 = 6;
/// Exit code for a network, TLS or server error (no location reachable).
pub const EXIT_NETWORK: i32 = 7;
/// Exit code for any other runtime error (the legacy catch-all, `sys.exit(-1)`).
pub const EXIT_RUNTIME: i32 = 255;

/// The validation stage that refused a document, in the legacy order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The document is not well-formed XML, or uses a refused construct (DTD).
    Xml,
    /// The document carries no signature (legacy message `no signature`).
    Unsigned,
    /// The XML signature (`ValidateXMLSignature`): it does not verify, or
    /// the endorsement disagrees with the certificate.
    Signature,
    /// The signer's certificate is not trusted (no chain to an anchor,
    /// revoked, expired); checked only when trust anchors are given.
    Trust,
    /// The schema rules (`ValidateXMLSchema`).
    Schema,
    /// The constraint rules (`ValidateMetadataConstraints`).
    Constraint,
    /// The RDF/XML rules (`ValidateRDFModel`).
    Rdf,
}

impl Stage {
    /// A short lower-case name, used in machine-readable output.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Xml => "xml",
            Stage::Unsigned | Stage::Signature => "signature",
            Stage::Trust => "trust",
            Stage::Schema => "schema",
            Stage::Constraint => "constraint",
            Stage::Rdf => "rdf",
        }
    }
}

/// Why a document was refused: the stage, and the message the legacy
/// validator printed for the same fault (or our own clear one where the legacy
/// wording cannot be reproduced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Which check failed.
    pub stage: Stage,
    /// The message, without the file name.
    pub message: String,
}

impl Invalid {
    /// A refusal at `stage` with `message`.
    pub fn new(stage: Stage, message: impl Into<String>) -> Self {
        Invalid {
            stage,
            message: message.into(),
        }
    }
}

impl Invalid {
    /// The exit code for a document refused at this stage.
    pub fn exit_code(&self) -> i32 {
        match self.stage {
            Stage::Signature => EXIT_SIGNATURE,
            Stage::Trust => EXIT_UNTRUSTED,
            _ => EXIT_INVALID,
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

/// Every failure the library reports.
#[derive(Debug)]
pub enum Error {
    /// A file could not be opened, read or written.
    Io {
        /// The file (or `-` for standard input/output).
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// An input is larger than the limit the tools accept for it.
    TooLarge {
        /// What was being read (a file name, or "standard input").
        what: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A document was refused by a validation stage.
    Invalid {
        /// The document's name (file name, or "-" for stdin).
        source_name: String,
        /// Why.
        reason: Invalid,
    },
    /// A compressed image is truncated or corrupt.
    Decompress {
        /// The image file.
        path: PathBuf,
        /// The compression format found by its magic bytes.
        format: &'static str,
        /// What the decoder said.
        message: String,
    },
    /// An external tool (qemu-img) is missing or failed.
    Tool {
        /// The tool's name.
        tool: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The user configuration file could not be read.
    Config(crate::config::ConfigError),
    /// A signing credential could not be loaded or used.
    Credential(crate::signature::credentials::CredentialError),
    /// Trust material (anchors, CRLs) could not be loaded.
    Trust(crate::signature::trust::TrustError),
    /// A document could not be signed.
    Sign(crate::signature::xmldsig::sign::SignError),
    /// The site side failed: the Marketplace, the network, the site policy
    /// or an image download (each with its own exit code).
    Site(crate::site::SiteError),
    /// An image does not match the size or a checksum of its metadata.
    ImageMismatch {
        /// The image file.
        path: PathBuf,
        /// What differs: `bytes` or the checksum's algorithm (`SHA-1`).
        what: String,
        /// The value the metadata gives.
        expected: String,
        /// The value of the image.
        found: String,
    },
    /// A value given by the user (option, argument) is not acceptable.
    BadValue {
        /// The option or argument, e.g. `--disks-bus`.
        option: String,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: String,
    },
}

impl Error {
    /// The exit code a command returns for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid { reason, .. } => reason.exit_code(),
            Error::BadValue { .. } => EXIT_USAGE,
            Error::Site(error) => error.exit_code(),
            Error::ImageMismatch { .. } => EXIT_MISMATCH,
            Error::Credential(
                crate::signature::credentials::CredentialError::PasswordRequired { .. },
            ) => EXIT_USAGE,
            Error::Sign(crate::signature::xmldsig::sign::SignError::Document(_)) => EXIT_INVALID,
            Error::Credential(_) | Error::Trust(_) | Error::Sign(_) | Error::Config(_) => {
                EXIT_RUNTIME
            }
            Error::Io { .. }
            | Error::TooLarge { .. }
            | Error::Decompress { .. }
            | Error::Tool { .. } => EXIT_RUNTIME,
        }
    }

    /// Shorthand for an I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {}", path.display(), source),
            Error::TooLarge { what, limit } => {
                write!(f, "{what}: larger than the limit of {limit} bytes")
            }
            Error::Invalid {
                source_name,
                reason,
            } => write!(f, "{source_name}: {reason}"),
            Error::Decompress {
                path,
                format,
                message,
            } => write!(
                f,
                "{}: corrupt or truncated {format} data: {message}",
                path.display()
            ),
            Error::Tool { tool, message } => write!(f, "{tool}: {message}"),
            Error::Credential(error) => error.fmt(f),
            Error::Config(error) => error.fmt(f),
            Error::Trust(error) => error.fmt(f),
            Error::Sign(error) => error.fmt(f),
            Error::Site(error) => error.fmt(f),
            Error::BadValue {
                option,
                value,
                expected,
            } => write!(f, "{option}: invalid value '{value}': expected {expected}"),
            Error::ImageMismatch {
                path,
                what,
                expected,
                found,
            } => write!(
                f,
                "{}: the image does not match its metadata: {what} is {found}, the metadata says {expected}",
                path.display()
            ),
        }
    }
}

impl From<crate::site::SiteError> for Error {
    fn from(error: crate::site::SiteError) -> Self {
        Error::Site(error)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Invalid { reason, .. } => Some(reason),
            Error::Site(error) => Some(error),
            _ => None,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
