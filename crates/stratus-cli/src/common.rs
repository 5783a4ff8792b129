//! What every command shares: the `-v`/`-q` flags, diagnostics on stderr,
//! turning errors into one line and a documented exit code, and writing
//! output atomically.

use clap::Args;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use stratus_core::clock;
use stratus_core::error::EXIT_USAGE;
use stratus_core::signature::trust::{CrlMode, Policy, TrustOptions};

/// The exit-code table printed in every command's `--help` and man page.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    invalid document (XML, schema, constraint or RDF rule; no signature)
  2    usage error (bad option or value, missing argument)
  3    signature does not verify, endorser disagrees with certificate
       (subject, issuer, e-mail), or certificate name unreadable
  4    signer not trusted (no chain to an anchor, revoked, expired,
       outside its CA's namespace or e-mail name constraints, weak
       key, no current CRL with --crl-mode require)
  255  other error (unreadable file, corrupt image, missing qemu-img,
       unusable key or certificate)";

/// `-v` and `-q`, counting flags as in the legacy tools.
#[derive(Debug, Clone, Copy, Args)]
pub struct Verbosity {
    /// Print more detail (repeatable)
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print less: no warnings or progress (repeatable)
    #[arg(short = 'q', long = "quiet", action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,
}

impl Verbosity {
    /// Whether informational messages and warnings are shown (not with `-q`).
    pub fn warnings(&self) -> bool {
        self.quiet == 0
    }

    /// Whether detail is shown (`-v`, and quiet wins as in the legacy tools).
    pub fn detail(&self) -> bool {
        self.quiet == 0 && self.verbose > 0
    }

    /// Print a warning on stderr, in the legacy form `  [WARNING] <msg>`.
    pub fn warn(&self, message: impl fmt::Display) {
        if self.warnings() {
            eprintln!("  [WARNING] {}", escaped_message(&message.to_string()));
        }
    }

    /// Print what a command did or is doing on stderr (not with `-q`):
    /// for commands whose stdout carries a document.
    pub fn info(&self, message: impl fmt::Display) {
        if self.warnings() {
            eprintln!("{message}");
        }
    }

    /// Print detail on stderr (with `-v`).
    pub fn debug(&self, message: impl fmt::Display) {
        if self.detail() {
            eprintln!("{}", escaped_message(&message.to_string()));
        }
    }
}

/// The trust options, shared by every command that checks signers.
#[derive(Debug, Clone, Default, Args)]
pub struct TrustArgs {
    /// Trust the CA certificates in FILE (PEM or DER; repeatable)
    #[arg(long = "ca", value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// Trust an IGTF-style CA directory: *.pem or <hash>.0 anchors, <hash>.r0 CRLs, and the
    /// <hash>.namespaces or <hash>.signing_policy limits on the subjects each CA may certify
    #[arg(long = "trust-dir", value_name = "DIR")]
    pub trust_dir: Vec<PathBuf>,
    /// Check revocation against the CRLs in FILE (PEM or DER; repeatable)
    #[arg(long = "crl", value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// Check certificates at TIME (RFC 3339, e.g. 2012-06-01T00:00:00Z; default: now)
    #[arg(long = "at", value_name = "TIME")]
    pub at: Option<String>,
    /// How CRLs are used: if-present checks a certificate against its CA's CRL when one was
    /// given (the default); require also refuses a signer whose chain has a CA without a current
    /// CRL
    #[arg(long = "crl-mode", value_name = "MODE", value_enum)]
    pub crl_mode: Option<CrlModeArg>,
    /// Accept RSA keys under 2048 bits or with a public exponent under 65537 in the signer's
    /// chain, for archives of old documents (refused by default with --ca or --trust-dir)
    #[arg(long = "allow-weak-keys")]
    pub allow_weak_keys: bool,
}

/// The values of `--crl-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CrlModeArg {
    /// Check against a CRL when the CA has one
    IfPresent,
    /// Every CA of the chain must have a current CRL
    Require,
}

impl From<CrlModeArg> for CrlMode {
    fn from(mode: CrlModeArg) -> Self {
        match mode {
            CrlModeArg::IfPresent => CrlMode::IfPresent,
            CrlModeArg::Require => CrlMode::Require,
        }
    }
}

impl TrustArgs {
    /// Whether any trust option was given.
    pub fn any_given(&self) -> bool {
        !self.ca.is_empty() || !self.trust_dir.is_empty() || self.needs_anchors()
    }

    /// Whether an option that only means something with anchors was given.
    fn needs_anchors(&self) -> bool {
        !self.crl.is_empty() || self.at.is_some() || self.crl_mode.is_some() || self.allow_weak_keys
    }

    /// Load the anchors and CRLs. Without `--ca` or `--trust-dir` nothing is
    /// trust-checked (the legacy behaviour); CRLs, a time, a CRL mode or
    /// `--allow-weak-keys` alone are a usage error, since they would
    /// silently check (or relax) nothing.
    pub fn load(&self) -> Result<TrustOptions, CliError> {
        let mut options = TrustOptions::none();
        if let Some(at) = &self.at {
            options.at = clock::parse_rfc3339(at).ok_or_else(|| {
                CliError::Usage(format!(
                    "--at: invalid value '{at}': expected an RFC 3339 time such as 2012-06-01T00:00:00Z"
                ))
            })?;
        }
        let anchors_given = !self.ca.is_empty() || !self.trust_dir.is_empty();
        if !anchors_given && self.needs_anchors() {
            return Err(CliError::Usage(
                "--crl, --crl-mode, --at and --allow-weak-keys need trust anchors: give --ca or --trust-dir".into(),
            ));
        }
        options.policy = Policy {
            allow_weak_keys: self.allow_weak_keys,
            crl_mode: self.crl_mode.map(CrlMode::from).unwrap_or_default(),
        };
        let trust = |e| CliError::Core(stratus_core::Error::Trust(e));
        for path in &self.ca {
            options.store.add_ca_file(path).map_err(trust)?;
        }
        for dir in &self.trust_dir {
            options.store.add_trust_dir(dir).map_err(trust)?;
        }
        for path in &self.crl {
            options.store.add_crl_file(path).map_err(trust)?;
        }
        Ok(options)
    }
}

/// A command's failure: a usage error, or an error from the library.
#[derive(Debug)]
pub enum CliError {
    /// Bad or missing arguments (exit 2).
    Usage(String),
    /// Anything the library reports, with its own exit code.
    Core(stratus_core::Error),
}

impl From<stratus_core::Error> for CliError {
    fn from(error: stratus_core::Error) -> Self {
        match error {
            // A bad option value is a usage error, reported the same way.
            stratus_core::Error::BadValue { .. } => CliError::Usage(error.to_string()),
            other => CliError::Core(other),
        }
    }
}

impl CliError {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Core(error) => error.exit_code(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(message) => f.write_str(message),
            CliError::Core(error) => error.fmt(f),
        }
    }
}

/// Run a command: parse its arguments, run it, print any error as one line
/// on stderr (`<command>: error: <message>`) and exit with the code.
pub fn main<A: clap::Parser>(run: fn(A) -> Result<i32, CliError>) -> ! {
    let args = A::parse();
    let program = A::command().get_name().to_string();
    let outcome = check_environment().and_then(|()| run(args));
    let code = match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{program}: error: {}", escaped_message(&error.to_string()));
            error.exit_code()
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// A pinned clock that cannot be read is an error, not a silent fallback;
/// so is a variable the commands read that is not UTF-8 (it would be
/// passed over as if unset).
fn check_environment() -> Result<(), CliError> {
    use stratus_core::site::{context, endpoint, http, instance};
    let now = stratus_core::clock::NOW_VARIABLE;
    let variables = [
        now,
        stratus_core::config::SECTION_VARIABLE,
        stratus_core::image::qemu::QEMU_IMG_VARIABLE,
        endpoint::ENDPOINT_VARIABLE,
        instance::QEMU_VARIABLE,
        instance::KVM_PROBE_VARIABLE,
        context::MKISOFS_VARIABLE,
        crate::commands::create_image::VIRT_CUSTOMIZE_VARIABLE,
    ];
    for variable in variables
        .into_iter()
        .chain(http::PROXY_VARIABLES.iter().copied())
    {
        if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(variable) {
            return Err(CliError::Usage(format!(
                "{variable}: the value is not valid UTF-8"
            )));
        }
    }
    match std::env::var(now) {
        Ok(value) if stratus_core::clock::parse_rfc3339(&value).is_none() => {
            Err(CliError::Usage(format!(
                "{now}: invalid value '{}': expected a time such as 2026-01-15T10:20:30Z",
                escaped_message(&value)
            )))
        }
        _ => Ok(()),
    }
}

/// Write `bytes` to `path` atomically (a temporary file in the same
/// directory, then a rename), or to stdout when `path` is `None` or `-`.
/// A failed write leaves no file and does not touch an existing one. The
/// file gets the mode an existing target had, else 0666 less the umask; a
/// symbolic link is written through, not replaced.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    let path = match path {
        Some(path) if path.as_os_str() != "-" => path,
        _ => return write_stdout(bytes),
    };
    let io_error =
        |e: std::io::Error| CliError::Core(stratus_core::Error::io(path, without_context(e)));
    let target = link_target(path);
    let directory = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mode = std::fs::metadata(&target)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o666 & !umask());
    let mut temporary = tempfile::Builder::new()
        .prefix(".stratus-")
        .tempfile_in(directory)
        .map_err(io_error)?;
    temporary.write_all(bytes).map_err(io_error)?;
    temporary
        .as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(io_error)?;
    temporary.as_file().sync_all().map_err(io_error)?;
    temporary.persist(&target).map_err(|e| io_error(e.error))?;
    Ok(())
}

/// Where writing to `path` should land: through a symbolic link (even a
/// dangling one) to the file it names.
fn link_target(path: &Path) -> PathBuf {
    if !path.is_symlink() {
        return path.to_path_buf();
    }
    if let Ok(resolved) = std::fs::canonicalize(path) {
        return resolved;
    }
    match std::fs::read_link(path) {
        Ok(target) if target.is_absolute() => target,
        Ok(target) => path.parent().unwrap_or(Path::new(".")).join(target),
        Err(_) => path.to_path_buf(),
    }
}

/// The process umask, from /proc (std has no safe call for it); 022 when
/// it cannot be read.
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Umask:"))
                .and_then(|value| u32::from_str_radix(value.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// The OS error alone: tempfile adds the temporary file's name, which
/// means nothing to the user.
fn without_context(error: std::io::Error) -> std::io::Error {
    if let Some(code) = error.raw_os_error() {
        return std::io::Error::from_raw_os_error(code);
    }
    let text = error.to_string();
    match text.split_once(" at path ") {
        Some((message, _)) => std::io::Error::new(error.kind(), message.to_string()),
        None => error,
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
        Ok(()) => Ok(()),
        // The reader went away (`| head`): nothing more to do.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Core(stratus_core::Error::io(
            "standard output",
            e,
        ))),
    }
}

/// A file name as the text output lines print it, so that no name can
/// forge another line or hide part of itself, as `ls -b` prints names:
/// backslash as `\\`; tab, newline, carriage return and the other C
/// escapes as `\t`, `\n`, `\r`, `\a`, `\b`, `\f`, `\v`; other control
/// characters, and bytes that are not UTF-8, as `\ooo` (octal); the C1
/// controls and the bidirectional formatting characters (which reorder
/// what a terminal shows) as `\u{XXXX}`. Other names print unchanged.
pub fn escaped_name(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped(&mut out, c);
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\{byte:03o}"));
        }
    }
    out
}

/// A message as the commands print it on stderr: one line that cannot
/// move the cursor, retitle or recolour the terminal, or reorder what it
/// shows, whatever file name, file content or document value it quotes.
/// Control characters and the bidirectional formatting characters are
/// escaped as in [`escaped_name`]; a backslash is left as it is, so that
/// a name already escaped in the message is not escaped twice.
pub fn escaped_message(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push(c),
            other => push_escaped(&mut out, other),
        }
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    let escape = match c {
        '\\' => "\\\\",
        '\t' => "\\t",
        '\n' => "\\n",
        '\r' => "\\r",
        '\x07' => "\\a",
        '\x08' => "\\b",
        '\x0c' => "\\f",
        '\x0b' => "\\v",
        '\0'..='\x1f' | '\x7f' => {
            out.push_str(&format!("\\{:03o}", u32::from(c)));
            return;
        }
        '\u{80}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => {
            out.push_str(&format!("\\u{{{:04X}}}", u32::from(c)));
            return;
        }
        _ => {
            out.push(c);
            return;
        }
    };
    out.push_str(escape);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn names_that_could_forge_a_line_are_escaped() {
        let name = |bytes: &[u8]| escaped_name(Path::new(OsStr::from_bytes(bytes)));
        assert_eq!(name(b"plain name-1.xml"), "plain name-1.xml");
        assert_eq!(name("Genève.xml".as_bytes()), "Genève.xml");
        assert_eq!(name(b"a.xml\nValid: b.xml"), "a.xml\\nValid: b.xml");
        assert_eq!(name(b"a\rb\tc\\d"), "a\\rb\\tc\\\\d");
        assert_eq!(name(b"\x1b[2Kx\x7f"), "\\033[2Kx\\177");
        assert_eq!(name(b"bad\xffbyte"), "bad\\377byte");
        assert_eq!(name("lmx.\u{202e}gpj".as_bytes()), "lmx.\\u{202E}gpj");
        assert_eq!(name("c1\u{85}".as_bytes()), "c1\\u{0085}");
    }

    #[test]
    fn messages_are_one_line_without_terminal_controls() {
        assert_eq!(
            escaped_message("a.pem: found 'x\ny\x1b]0;t\x07'"),
            "a.pem: found 'x\\ny\\033]0;t\\a'"
        );
        assert_eq!(
            escaped_message("tab\there, \u{202e}rtl"),
            "tab\\there, \\u{202E}rtl"
        );
        // A name escaped earlier keeps its single backslashes.
        assert_eq!(escaped_message("odd\\033name: é"), "odd\\033name: é");
    }
}
