//! The OpenNebula-style context CD: an ISO 9660 volume labelled `CONTEXT`
//! (Rock Ridge and Joliet) carrying `context.sh`, the variables the guest's
//! context script sources at boot, and optionally `init.sh` and other files.
//!
//! Every value is written single-quoted (`'` as `'\''`), so sourcing
//! `context.sh` assigns the value as text whatever it holds (quotes, `$()`,
//! backquotes, newlines) and runs nothing. Variable names are restricted to
//! upper-case shell names, and those that change how a shell or the dynamic
//! linker behaves (`PATH`, `IFS`, `LD_PRELOAD`, ...) are refused, since the
//! script that sources the file runs as root.
//!
//! The volume is written by `genisoimage` (or `xorrisofs`, `mkisofs`: the
//! first found, or `STRATUS_MKISOFS`), run with `std::process`.

use crate::error::{Error, Result};
use std::path::Path;
use std::process::Command;

/// The volume label the guest looks for.
pub const LABEL: &str = "CONTEXT";

/// The environment variable naming the ISO 9660 writer to run.
pub const MKISOFS_VARIABLE: &str = "STRATUS_MKISOFS";

/// The largest value of one variable, and of one file on the CD (1 MiB and
/// 64 MiB): the CD is written in the state directory and read by the guest.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// The largest file carried on the CD.
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// Names a context may not set: they change how the guest's shell, its
/// dynamic linker or the context script itself behave.
const RESERVED: &[&str] = &[
    "PATH",
    "IFS",
    "ENV",
    "BASH_ENV",
    "CDPATH",
    "HOME",
    "SHELL",
    "PS1",
    "PS2",
    "PS4",
    "OPTIND",
    "OPTARG",
    "PPID",
    "PWD",
    "OLDPWD",
    "SHELLOPTS",
    "BASHOPTS",
    "GLOBIGNORE",
    "PROMPT_COMMAND",
    "TMPDIR",
    "LANG",
    "LC_ALL",
];

/// Why a variable was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextError {
    /// The name is not an upper-case shell name (`[A-Z][A-Z0-9_]*`).
    BadName(String),
    /// The name is reserved.
    Reserved(String),
    /// The value is longer than [`MAX_VALUE_BYTES`] or holds a NUL.
    BadValue(String),
    /// `KEY=VALUE` has no `=`.
    NoEquals(String),
}

impl std::fmt::Display for ContextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContextError::BadName(name) => write!(
                f,
                "'{}' is not a context variable name: expected upper-case letters, digits and _, starting with a letter",
                name.escape_debug()
            ),
            ContextError::Reserved(name) => write!(
                f,
                "'{name}' is reserved: it would change how the guest's shell or linker behaves"
            ),
            ContextError::BadValue(name) => write!(
                f,
                "the value of {name} holds a NUL byte or is over {MAX_VALUE_BYTES} bytes"
            ),
            ContextError::NoEquals(text) => {
                write!(f, "'{}': expected KEY=VALUE", text.escape_debug())
            }
        }
    }
}

impl std::error::Error for ContextError {}

/// Check a variable name (see the module documentation).
pub fn check_name(name: &str) -> std::result::Result<(), ContextError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_uppercase());
    if !first_ok || !chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
        return Err(ContextError::BadName(name.to_string()));
    }
    if RESERVED.contains(&name) || name.starts_with("LD_") || name.starts_with("STRATUS_") {
        return Err(ContextError::Reserved(name.to_string()));
    }
    Ok(())
}

/// `value` as one single-quoted shell word: the shell reads it back as the
/// same text and expands nothing in it.
pub fn shell_quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    quoted
}

/// What goes on a context CD.
#[derive(Debug, Clone, Default)]
pub struct Context {
    variables: Vec<(String, String)>,
    files: Vec<(String, Vec<u8>, bool)>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }

    /// Set `name` to `value` (a later value replaces an earlier one, in
    /// place).
    pub fn set(&mut self, name: &str, value: &str) -> std::result::Result<(), ContextError> {
        check_name(name)?;
        if value.len() > MAX_VALUE_BYTES || value.contains('\0') {
            return Err(ContextError::BadValue(name.to_string()));
        }
        match self.variables.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.variables.push((name.to_string(), value.to_string())),
        }
        Ok(())
    }

    /// Set a variable from `KEY=VALUE` (the value may hold `=`).
    pub fn set_pair(&mut self, pair: &str) -> std::result::Result<(), ContextError> {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| ContextError::NoEquals(pair.to_string()))?;
        self.set(name, value)
    }

    /// The variables, in the order first set.
    pub fn variables(&self) -> &[(String, String)] {
        &self.variables
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Carry a file on the CD at `name` (a relative path with `/`
    /// separators), executable or not. `init.sh` is the script the guest
    /// runs.
    pub fn add_file(&mut self, name: &str, bytes: Vec<u8>, executable: bool) -> Result<()> {
        let bad = name.is_empty()
            || name.starts_with('/')
            || name
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
            || name == "context.sh";
        if bad {
            return Err(Error::BadValue {
                option: "context file".into(),
                value: name.into(),
                expected: "a relative path without . or .. (and not context.sh)".into(),
            });
        }
        if bytes.len() > MAX_FILE_BYTES {
            return Err(Error::TooLarge {
                what: name.into(),
                limit: MAX_FILE_BYTES as u64,
            });
        }
        self.files.retain(|(n, _, _)| n != name);
        self.files.push((name.to_string(), bytes, executable));
        Ok(())
    }

    /// The names of the files the CD carries besides `context.sh`.
    pub fn file_names(&self) -> Vec<&str> {
        self.files.iter().map(|(n, _, _)| n.as_str()).collect()
    }

    /// The text of `context.sh`: one `NAME='value'` line per variable.
    pub fn context_sh(&self) -> String {
        let mut text = String::from("# Context variables written by stratus-run-instance\n");
        for (name, value) in &self.variables {
            text.push_str(name);
            text.push('=');
            text.push_str(&shell_quote(value));
            text.push('\n');
        }
        text
    }

    /// Write the CD to `iso` (through a staging directory next to it, then
    /// removed).
    pub fn write_iso(&self, iso: &Path) -> Result<()> {
        let parent = iso
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let staging = tempfile::Builder::new()
            .prefix(".context-")
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?;
        let root = staging.path();
        write_file(
            &root.join("context.sh"),
            self.context_sh().as_bytes(),
            false,
        )?;
        for (name, bytes, executable) in &self.files {
            let path = root.join(name);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            write_file(&path, bytes, *executable)?;
        }
        make_iso(root, iso)
    }
}

fn write_file(path: &Path, bytes: &[u8], executable: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))?;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(path, e))
}

/// The ISO 9660 writer to run: `STRATUS_MKISOFS`, else the first of
/// genisoimage, xorrisofs and mkisofs on `PATH`.
fn mkisofs_program() -> Option<String> {
    if let Ok(program) = std::env::var(MKISOFS_VARIABLE) {
        return Some(program);
    }
    let path = std::env::var_os("PATH")?;
    ["genisoimage", "xorrisofs", "mkisofs"]
        .iter()
        .find(|name| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        .map(|name| name.to_string())
}

/// Write the tree at `root` as an ISO 9660 volume labelled [`LABEL`], with
/// Rock Ridge (modes, long names) and Joliet.
fn make_iso(root: &Path, iso: &Path) -> Result<()> {
    let program = mkisofs_program().ok_or_else(|| Error::Tool {
        tool: "genisoimage",
        message: "no ISO 9660 writer found: install genisoimage or xorriso".into(),
    })?;
    let output = Command::new(&program)
        .args([
            "-quiet",
            "-input-charset",
            "utf-8",
            "-V",
            LABEL,
            "-J",
            "-R",
            "-o",
        ])
        .arg(iso)
        .arg(root)
        .output()
        .map_err(|e| Error::Tool {
            tool: "genisoimage",
            message: format!("could not run '{program}': {e}"),
        })?;
    if !output.status.success() {
        return Err(Error::Tool {
            tool: "genisoimage",
            message: format!(
                "'{program}' could not write {}: {}",
                iso.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_reads_back_as_text() {
        let values = [
            "plain",
            "it's",
            "$(touch /tmp/x) `id` ${HOME}",
            "line one\nline two\n",
            "'''",
            "\\'\"",
            "",
        ];
        for value in values {
            let script = format!("V={}\nprintf %s \"$V\"", shell_quote(value));
            let output = Command::new("sh").arg("-c").arg(&script).output().unwrap();
            assert!(output.status.success());
            assert_eq!(String::from_utf8(output.stdout).unwrap(), value);
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("HOSTNAME").is_ok());
        assert!(check_name("ETH0_IP").is_ok());
        for bad in ["", "lower", "0X", "A-B", "A B", "É"] {
            assert!(
                matches!(check_name(bad), Err(ContextError::BadName(_))),
                "{bad}"
            );
        }
        for reserved in ["PATH", "IFS", "LD_PRELOAD", "STRATUS_CONTEXT_DEVICE"] {
            assert!(matches!(
                check_name(reserved),
                Err(ContextError::Reserved(_))
            ));
        }
    }

    #[test]
    fn later_values_replace_earlier_ones() {
        let mut context = Context::new();
        context.set_pair("A=1=2").unwrap();
        context.set("B", "x").unwrap();
        context.set("A", "3").unwrap();
        assert_eq!(context.get("A"), Some("3"));
        assert_eq!(
            context.context_sh(),
            "# Context variables written by stratus-run-instance\nA='3'\nB='x'\n"
        );
        assert!(context.set_pair("novalue").is_err());
        assert!(context.add_file("../x", vec![], false).is_err());
        assert!(context.add_file("context.sh", vec![], false).is_err());
        assert!(context.add_file("kit/install.sh", vec![], true).is_ok());
    }
}
