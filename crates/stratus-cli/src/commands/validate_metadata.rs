//! `stratus-validate-metadata`: check metadata documents against the legacy
//! rules, in the legacy order: signature, schema, constraints, RDF.
//!
//! Each document gets `Valid: <file>` on stdout, or `Invalid: <file>` and the
//! reason on stderr (or one JSON object per document with `--json`, where
//! `email_verified` says whether the endorser's e-mail is carried by a
//! trusted certificate rather than only claimed). The exit code is the
//! highest of the documents' codes: 1 invalid, 3 bad signature, 4
//! untrusted signer, 255 unreadable.

use crate::common::{
    escaped_message, escaped_name, CliError, TrustArgs, Verbosity, EXIT_CODES_HELP,
};
use clap::Parser;
use std::io::Write;
use std::path::{Path, PathBuf};
use stratus_core::document::input;
use stratus_core::document::validate::{self, Report, SignaturePolicy};
use stratus_core::error::{EXIT_OK, EXIT_RUNTIME};
use stratus_core::signature::trust::TrustOptions;
use stratus_core::{Error, Invalid};

/// Validate the metadata description of a machine or disk image.
///
/// Each FILE (standard input when none is given, or `-`) is checked in the
/// legacy order: signature, schema, constraints, RDF/XML. The first failed
/// check of a document is reported with the legacy validator's message.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-validate-metadata",
    version,
    infer_long_args = true,
    after_help = EXIT_CODES_HELP
)]
pub struct ValidateMetadata {
    /// Metadata documents to validate (`-`: standard input)
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Skip the signature check, for drafts before signing; an empty endorsement is then accepted too
    #[arg(long)]
    pub no_signature: bool,
    /// Print one JSON object per document on stdout instead of the Valid/Invalid lines
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub trust: TrustArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub verbosity: Verbosity,
}

/// The outcome for one document.
enum Outcome {
    Valid(Report),
    Invalid(Invalid),
    Unreadable(Error),
}

/// Run `stratus-validate-metadata`.
pub fn run(args: ValidateMetadata) -> Result<i32, CliError> {
    let files = if args.files.is_empty() {
        vec![PathBuf::from(input::STDIN_NAME)]
    } else {
        args.files.clone()
    };
    if args.no_signature && args.trust.any_given() {
        return Err(CliError::Usage(
            "--no-signature checks no signer: it cannot be combined with --ca, --trust-dir, --crl, --crl-mode, --at or --allow-weak-keys".into(),
        ));
    }
    let trust = args.trust.load()?;
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut exit = EXIT_OK;
    for file in &files {
        let outcome = check_file(file, &args, &trust);
        exit = exit.max(match &outcome {
            Outcome::Valid(_) => EXIT_OK,
            Outcome::Invalid(reason) => reason.exit_code(),
            Outcome::Unreadable(_) => EXIT_RUNTIME,
        });
        if let Outcome::Valid(report) = &outcome {
            if report.signer.is_some() && !report.trust_checked && !args.json {
                args.verbosity.warn(format!(
                    "{}: signer not trust-checked (give --ca or --trust-dir to check it)",
                    escaped_name(file)
                ));
            }
            if report.signer.is_some() && !report.email_in_certificate && !args.json {
                args.verbosity.warn(format!(
                    "{}: the signer's certificate carries no e-mail: the endorser e-mail {} is the document's claim, not verified",
                    escaped_name(file),
                    report.email.as_deref().unwrap_or("(none)")
                ));
            }
        }
        if let Err(e) = report(&mut stdout, file, &outcome, args.json) {
            reader_gone(e)?;
        }
    }
    if let Err(e) = stdout.flush() {
        reader_gone(e)?;
    }
    Ok(exit)
}

/// A reader that went away (`| head`) is not a failure of validation: the
/// exit code still says whether the documents are valid.
fn reader_gone(error: std::io::Error) -> Result<(), CliError> {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Error::io("standard output", error).into())
    }
}

fn check_file(file: &Path, args: &ValidateMetadata, trust: &TrustOptions) -> Outcome {
    let name = escaped_name(file);
    let bytes = match input::read_document(file) {
        Ok(bytes) => bytes,
        Err(error) => return Outcome::Unreadable(error),
    };
    let policy = if args.no_signature {
        SignaturePolicy::Skip
    } else {
        SignaturePolicy::Required
    };
    match validate::check_document(&bytes, &name, policy, trust) {
        Ok(report) => Outcome::Valid(report),
        Err(Error::Invalid { reason, .. }) => Outcome::Invalid(reason),
        Err(other) => Outcome::Unreadable(other),
    }
}

fn report(out: &mut impl Write, file: &Path, outcome: &Outcome, json: bool) -> std::io::Result<()> {
    if json {
        // The exact name (JSON escapes what it must).
        let name = file.display().to_string();
        let value = match outcome {
            Outcome::Valid(report) => serde_json::json!({
                "file": name, "valid": true, "signer": report.signer, "trusted": report.trust_checked,
                "email": report.email, "email_verified": report.email_verified,
            }),
            Outcome::Invalid(reason) => serde_json::json!({
                "file": name, "valid": false, "stage": reason.stage.name(), "message": reason.message,
            }),
            Outcome::Unreadable(error) => serde_json::json!({
                "file": name, "valid": false, "stage": "read", "message": describe_read_error(error),
            }),
        };
        return writeln!(out, "{value}");
    }
    let name = escaped_name(file);
    match outcome {
        Outcome::Valid(_) => writeln!(out, "Valid: {name}"),
        Outcome::Invalid(reason) => {
            out.flush()?;
            eprintln!("Invalid: {name}\n{}", escaped_message(&reason.message));
            Ok(())
        }
        Outcome::Unreadable(error) => {
            out.flush()?;
            eprintln!(
                "Cannot read {name}: {}",
                escaped_message(&describe_read_error(error))
            );
            Ok(())
        }
    }
}

/// A read failure without the file name, which the line already gives.
fn describe_read_error(error: &Error) -> String {
    match error {
        Error::Io { source, .. } => source.to_string(),
        Error::TooLarge { limit, .. } => format!("larger than the limit of {limit} bytes"),
        other => other.to_string(),
    }
}
