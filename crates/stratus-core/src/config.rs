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

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

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
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            // A missing -c file reads as an empty one, as in the legacy tools.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(error(e.to_string())),
        };
        let sections = parse(&text).map_err(error)?;
        let section_from_env = std::env::var(SECTION_VARIABLE)
            .ok()
            .filter(|s| !s.is_empty());
        select(&sections, section.or(section_from_env.as_deref())).map_err(error)
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
    let mut values = BTreeMap::new();
    for (key, raw) in &merged {
        values.insert(key.clone(), interpolate(raw, &merged, 0)?);
    }
    Ok(UserConfig { values })
}

/// `%(name)s` from the same (merged) section; `%%` is `%`.
fn interpolate(
    raw: &str,
    values: &BTreeMap<String, String>,
    depth: usize,
) -> Result<String, String> {
    if depth > 10 {
        return Err(format!("interpolation too deeply recursive in '{raw}'"));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            out.push('%');
            rest = after;
        } else if let Some(after) = rest.strip_prefix('(') {
            let end = after
                .find(")s")
                .ok_or_else(|| format!("bad interpolation syntax in '{raw}'"))?;
            let name = after[..end].to_ascii_lowercase();
            let value = values
                .get(&name)
                .ok_or_else(|| format!("bad interpolation variable reference '%({name})s'"))?;
            out.push_str(&interpolate(value, values, depth + 1)?);
            rest = &after[end + 2..];
        } else {
            return Err(format!("'%' must be followed by '%' or '(' in '{raw}'"));
        }
    }
    out.push_str(rest);
    Ok(out)
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
}
