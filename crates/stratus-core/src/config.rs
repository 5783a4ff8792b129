//! The user configuration file, `~/.stratuslab/stratuslab-user.cfg`, read
//! as the legacy tools read it (Python's SafeConfigParser, client.md §1.6):
//! `[default]` is mandatory, the selected section (`-S`, the environment
//! variable `STRATUSLAB_USER_CONFIG_SECTION`, or `selected_section` in
//! `[default]`) overrides it, keys are case-insensitive, values may continue
//! on indented lines and use `%(other)s` interpolation, `%%` is a literal `%`.
//!
//! The INI syntax is parsed by the configparser crate; the Python rules it
//! lacks (interpolation, the mandatory default section, `;` inline comments
//! only after white space) are applied here.
//!
//! The file is the user's, but `-c` may name any file: it is read up to
//! [`MAX_CONFIG_BYTES`] whatever it is (a device stops at the limit), must
//! be UTF-8 (the message names the first line that is not), and its
//! references expand each value once, to at most [`MAX_INTERPOLATED_BYTES`]
//! in all, so that values naming each other many times cannot cost time
//! or memory exponential in the depth of ten references Python allows.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The largest configuration file read: 1 MiB (real ones are under 1 KiB).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The most text the `%(name)s` references of a configuration may expand
/// to, over all its values together: 4 MiB.
pub const MAX_INTERPOLATED_BYTES: usize = 4 * 1024 * 1024;

/// The environment variable that selects a section.
pub const SECTION_VARIABLE: &str = "STRATUSLAB_USER_CONFIG_SECTION";

/// The default configuration file: `$HOME/.stratuslab/stratuslab-user.cfg`.
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| {
        PathBuf::from(home)
            .join(".stratuslab")
            .join("stratuslab-user.cfg")
    })
}

/// Why the configuration could not be read (the legacy wording:
/// `Error parsing user configuration file <f>. Details: <detail>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub detail: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Error parsing user configuration file {}. Details: {}",
            self.path.display(),
            self.detail
        )
    }
}

impl std::error::Error for ConfigError {}

/// The merged values of `[default]` and the selected section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserConfig {
    values: BTreeMap<String, String>,
}

impl UserConfig {
    /// The value of `key` (case-insensitive), if set and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Load the configuration. `explicit` is a file given with `-c` (which
    /// must exist); without it the default file is read when it exists, and
    /// its absence is not an error. `section` is `-S`.
    pub fn load(explicit: Option<&Path>, section: Option<&str>) -> Result<Self, ConfigError> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => match default_path() {
                Some(path) if path.is_file() => path,
                _ => return Ok(UserConfig::default()),
            },
        };
        let error = |detail: String| ConfigError {
            path: path.clone(),
            detail,
        };
        let text = match read_text(&path) {
            Ok(text) => text,
            // A missing -c file reads as an empty one, as in the legacy tools.
            Err(ReadError::NotFound) => String::new(),
            Err(ReadError::Other(detail)) => return Err(error(detail)),
        };
        let sections = parse(&text).map_err(error)?;
        let section_from_env = std::env::var(SECTION_VARIABLE)
            .ok()
            .filter(|s| !s.is_empty());
        select(&sections, section.or(section_from_env.as_deref())).map_err(error)
    }
}

/// Why the file could not be read as text.
enum ReadError {
    NotFound,
    Other(String),
}

/// The file's text: at most [`MAX_CONFIG_BYTES`], read whatever kind of
/// file it is (`-c /dev/zero` stops at the limit), and UTF-8.
fn read_text(path: &Path) -> Result<String, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Other(e.to_string()),
    })?;
    let what = path.display().to_string();
    let bytes = crate::document::input::read_limited(file, &what, MAX_CONFIG_BYTES).map_err(
        |e| match e {
            crate::Error::TooLarge { limit, .. } => {
                ReadError::Other(format!("larger than the limit of {limit} bytes"))
            }
            crate::Error::Io { source, .. } => ReadError::Other(source.to_string()),
            other => ReadError::Other(other.to_string()),
        },
    )?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + valid.iter().filter(|b| **b == b'\n').count();
        ReadError::Other(format!("line {line}: not UTF-8 text"))
    })
}

impl UserConfig {
    /// The configuration in `text`, with `section` selected (`None`: the
    /// `selected_section` of `[default]`, if any); the environment is not
    /// read. `Err` is the detail [`UserConfig::load`] reports.
    pub fn from_text(text: &str, section: Option<&str>) -> Result<Self, String> {
        select(&parse(text)?, section)
    }
}

type Sections = BTreeMap<String, BTreeMap<String, String>>;

/// Parse the INI text into sections of raw (uninterpolated) values.
fn parse(text: &str) -> Result<Sections, String> {
    let mut ini = configparser::ini::Ini::new_cs();
    ini.set_comment_symbols(&['#', ';']);
    ini.set_inline_comment_symbols(Some(&[]));
    ini.set_multiline(true);
    // configparser files keys found before any header under this name;
    // Python refuses them, so give it a name no real section has.
    ini.set_default_section("\u{0}no section");
    let map = ini.read(text.to_string())?;
    let mut sections = Sections::new();
    for (name, entries) in map {
        if name == "\u{0}no section" {
            if !entries.is_empty() {
                return Err("File contains no section headers.".into());
            }
            continue;
        }
        let mut values = BTreeMap::new();
        for (key, value) in entries {
            let value = value.ok_or_else(|| format!("the line '{key}' has no '=' or ':'"))?;
            values.insert(key.to_ascii_lowercase(), strip_inline_comment(&value));
        }
        sections.insert(name, values);
    }
    Ok(sections)
}

/// Python 2 strips a `;` comment that follows white space.
fn strip_inline_comment(value: &str) -> String {
    let cut = value
        .char_indices()
        .find(|(i, c)| *c == ';' && *i > 0 && value[..*i].ends_with([' ', '\t']))
        .map_or(value.len(), |(i, _)| i);
    value[..cut].trim_end().to_string()
}

/// `[default]` overlaid with the selected section, interpolated.
fn select(sections: &Sections, section: Option<&str>) -> Result<UserConfig, String> {
    let default = sections
        .get("default")
        .ok_or_else(|| "No section: 'default'".to_string())?;
    let mut merged = default.clone();
    let chosen = section
        .map(str::to_string)
        .or_else(|| default.get("selected_section").cloned())
        .filter(|s| !s.is_empty());
    if let Some(name) = chosen {
        let overlay = sections
            .get(&name)
            .ok_or_else(|| format!("No section: '{name}'"))?;
        merged.extend(overlay.clone());
    }
    let mut interpolation = Interpolation {
        raw: &merged,
        done: BTreeMap::new(),
        open: Vec::new(),
        produced: 0,
    };
    let mut values = BTreeMap::new();
    for key in merged.keys() {
        let (value, _) = interpolation.value(key, 0)?;
        values.insert(key.clone(), value);
    }
    Ok(UserConfig { values })
}

/// The deepest chain of `%(name)s` references, as in Python's parser.
const MAX_INTERPOLATION_DEPTH: usize = 10;

/// `%(name)s` references resolved in the (merged) section; `%%` is `%`.
///
/// Each value is expanded once and remembered with its height (the
/// longest chain of references below it), so that values naming others
/// many times cost time linear in the text they produce, not exponential
/// in the depth; and the text produced over all values is bounded by
/// [`MAX_INTERPOLATED_BYTES`].
struct Interpolation<'a> {
    raw: &'a BTreeMap<String, String>,
    /// Expanded values, with their heights.
    done: BTreeMap<String, (String, usize)>,
    /// The values being expanded (a reference to one is a cycle).
    open: Vec<String>,
    /// Bytes of expanded text so far, over all values.
    produced: usize,
}

impl Interpolation<'_> {
    /// The expanded value of `key`, reached through `depth` references,
    /// and its height.
    fn value(&mut self, key: &str, depth: usize) -> Result<(String, usize), String> {
        let raw = &self.raw[key];
        if let Some((value, height)) = self.done.get(key) {
            if depth + height > MAX_INTERPOLATION_DEPTH {
                return Err(too_deep(raw));
            }
            return Ok((value.clone(), *height));
        }
        if depth > MAX_INTERPOLATION_DEPTH || self.open.iter().any(|k| k == key) {
            return Err(too_deep(raw));
        }
        self.open.push(key.to_string());
        let expanded = self.expand(raw, depth);
        self.open.pop();
        let (value, height) = expanded?;
        self.done.insert(key.to_string(), (value.clone(), height));
        Ok((value, height))
    }

    /// `raw` with its references replaced, and its height.
    fn expand(&mut self, raw: &str, depth: usize) -> Result<(String, usize), String> {
        let mut out = String::with_capacity(raw.len());
        let mut height = 0;
        let mut rest = raw;
        while let Some(at) = rest.find('%') {
            self.push(&mut out, &rest[..at])?;
            rest = &rest[at + 1..];
            if let Some(after) = rest.strip_prefix('%') {
                self.push(&mut out, "%")?;
                rest = after;
            } else if let Some(after) = rest.strip_prefix('(') {
                let end = after
                    .find(")s")
                    .ok_or_else(|| format!("bad interpolation syntax in '{raw}'"))?;
                let name = after[..end].to_ascii_lowercase();
                if !self.raw.contains_key(&name) {
                    return Err(format!("bad interpolation variable reference '%({name})s'"));
                }
                let (value, below) = self.value(&name, depth + 1)?;
                height = height.max(below + 1);
                self.push(&mut out, &value)?;
                rest = &after[end + 2..];
            } else {
                return Err(format!("'%' must be followed by '%' or '(' in '{raw}'"));
            }
        }
        self.push(&mut out, rest)?;
        Ok((out, height))
    }

    /// Appends `text`, within the bound on all expanded text.
    fn push(&mut self, out: &mut String, text: &str) -> Result<(), String> {
        self.produced += text.len();
        if self.produced > MAX_INTERPOLATED_BYTES {
            return Err(format!(
                "the %(name)s references expand to more than {MAX_INTERPOLATED_BYTES} bytes"
            ));
        }
        out.push_str(text);
        Ok(())
    }
}

fn too_deep(raw: &str) -> String {
    format!("interpolation too deeply recursive in '{raw}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, section: Option<&str>) -> Result<UserConfig, String> {
        select(&parse(text)?, section)
    }

    #[test]
    fn default_is_overlaid_by_the_selected_section() {
        let text = "[default]\nselected_section = work\nP12_Certificate = /home/j/cert.p12\nemail: j@x.org\n\n[work]\nemail = j@work.org\n";
        let config = load(text, None).unwrap();
        assert_eq!(config.get("p12_certificate"), Some("/home/j/cert.p12"));
        assert_eq!(config.get("email"), Some("j@work.org"));
        let config = load(text, Some("default")).unwrap();
        assert_eq!(config.get("email"), Some("j@x.org"));
    }

    #[test]
    fn interpolation_comments_and_continuations() {
        let text = "# comment\n[default]\nbase = /home/j\np12_certificate = %(base)s/.globus/usercert.p12\np12_password = 50%%off ; a comment\nnote = one\n  two\n";
        let config = load(text, None).unwrap();
        assert_eq!(
            config.get("p12_certificate"),
            Some("/home/j/.globus/usercert.p12")
        );
        assert_eq!(config.get("p12_password"), Some("50%off"));
        assert_eq!(config.get("note"), Some("one\ntwo"));
    }

    #[test]
    fn legacy_errors() {
        assert_eq!(
            load("[other]\na = b\n", None).unwrap_err(),
            "No section: 'default'"
        );
        assert_eq!(
            load("[default]\na = b\n", Some("nope")).unwrap_err(),
            "No section: 'nope'"
        );
        assert!(load("[default]\na = 5%\n", None).is_err());
        assert!(load("[default]\njust a line\n", None).is_err());
    }

    /// References that fan out (every value naming the next one many
    /// times) would expand exponentially with the depth, as in Python's
    /// parser: the expansion is bounded, and each value is expanded once.
    #[test]
    fn fanned_out_interpolation_is_bounded() {
        let mut text = String::from("[default]\n");
        for level in 0..10 {
            let next = format!("%(v{})s", level + 1).repeat(40);
            text.push_str(&format!("v{level} = {next}\n"));
        }
        text.push_str("v10 = x\n");
        let started = std::time::Instant::now();
        let error = load(&text, None).unwrap_err();
        assert!(error.contains("more than"), "{error}");
        assert!(
            error.contains(&MAX_INTERPOLATED_BYTES.to_string()),
            "{error}"
        );
        // Without memory of what was expanded this takes 40^10 steps.
        assert!(started.elapsed() < std::time::Duration::from_secs(10));

        // Empty values referenced many times cost nothing to expand, but
        // are still expanded once each.
        let mut text = String::from("[default]\n");
        for level in 0..10 {
            let next = format!("%(v{})s", level + 1).repeat(200);
            text.push_str(&format!("v{level} = {next}\n"));
        }
        text.push_str("v10 =\n");
        let config = load(&text, None).unwrap();
        assert_eq!(config.get("v0"), None);
    }

    #[test]
    fn interpolation_depth_and_cycles() {
        let mut text = String::from("[default]\n");
        for level in 0..10 {
            text.push_str(&format!("v{level} = %(v{})s\n", level + 1));
        }
        text.push_str("v10 = end\n");
        assert_eq!(load(&text, None).unwrap().get("v0"), Some("end"));
        let deeper = text.replace("v10 = end", "v10 = %(v11)s\nv11 = end");
        let error = load(&deeper, None).unwrap_err();
        assert!(error.contains("too deeply recursive"), "{error}");
        let cycle = "[default]\na = %(b)s\nb = %(a)s\n";
        let error = load(cycle, None).unwrap_err();
        assert!(error.contains("too deeply recursive"), "{error}");
    }

    /// The file is read with a size limit: `-c /dev/zero` must not fill
    /// memory.
    #[test]
    fn the_file_size_is_limited() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.cfg");
        let mut text = String::from("[default]\n");
        while text.len() as u64 <= MAX_CONFIG_BYTES {
            text.push_str("# padding padding padding padding padding padding\n");
        }
        std::fs::write(&big, &text).unwrap();
        let error = UserConfig::load(Some(&big), None).unwrap_err();
        assert_eq!(error.path, big);
        assert!(
            error.detail.contains(&format!(
                "larger than the limit of {MAX_CONFIG_BYTES} bytes"
            )),
            "{error}"
        );
        let error = UserConfig::load(Some(Path::new("/dev/zero")), None).unwrap_err();
        assert!(error.detail.contains("larger than the limit"), "{error}");
    }

    #[test]
    fn text_that_is_not_utf8_is_named_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.cfg");
        std::fs::write(&path, b"[default]\nemail = a@b.org\nname = Ren\xe9\n").unwrap();
        let error = UserConfig::load(Some(&path), None).unwrap_err();
        assert!(error.detail.contains("line 3"), "{error}");
        assert!(error.detail.contains("UTF-8"), "{error}");
    }
}
