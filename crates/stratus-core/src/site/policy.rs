//! The site policy (client.md §10): white and black lists of endorsers,
//! image identifiers and checksums, read from a policy file in either of
//! its two dialects, and evaluated on every candidate entry.
//!
//! **Files.** The legacy dialect has three sections with two keys each,
//! one item per (continuation) line:
//!
//! ```text
//! [endorsers]
//! whitelistendorsers=
//!  alice@example.org
//!  subject=CN=Jim Tester,OU=Testing Department,O=StratusLab Project,C=EU
//! [images]
//! blacklistimages=
//!  GOaxJFdoEXvqAm9ArJgnZ0_ky6F
//! [checksums]
//! blacklistchecksums=
//!  639ac4915da045efa809bd02b2609d9d3f932e85
//! ```
//!
//! The tutorial's dialect has one section per list, whose keys are free
//! names and whose values are comma lists: `[whitelistendorsers]
//! email3=jane.test@example.org`, `[blacklistchecksums] checksum=...`. A
//! key whose name starts with `subject` (or an item `subject=...`) holds a
//! certificate subject DN, RFC 2253, compared as the signer writes it. Both
//! dialects may be mixed; a missing section is an empty list. A `[trust]`
//! section names the trust anchors (`ca`, `trust-dir`, `crl`, `crl-mode`,
//! `allow-weak-keys`), relative to the file's directory.
//!
//! Values are read as Python's ConfigParser read them (continuation lines,
//! `#` and `;` comment lines, a ` ;` comment after a value), without `%`
//! interpolation. An item that is not what its list holds (a checksum that
//! is not 32, 40, 64 or 128 hexadecimal digits, an e-mail without `@`) is
//! a [`Warning`] naming the file and line, and is ignored: it never
//! silently matches nothing.
//!
//! **Evaluation** ([`Policy::evaluate`]) checks every rule on every
//! candidate (the legacy filter skipped the entry after each refused one)
//! and says why for each. E-mails compare without case; an endorser
//! whitelist matches only an e-mail the signer's certificate carries (and,
//! with trust anchors, one the trusted chain vouches for); blacklists match
//! any e-mail the document claims. Checksums match any of the document's
//! checksums, without case and leading zeros restored.

use crate::clock::{self, Timestamp};
use crate::document::manifest::Manifest;
use crate::document::validate::Report;
use crate::image::digest::Algorithm;
use std::path::{Path, PathBuf};

use super::SiteError;

/// The legacy default policy file.
pub const DEFAULT_POLICY_FILE: &str = "/etc/stratuslab/policy.cfg";

/// The six lists, in the legacy order of evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum List {
    /// `whitelistendorsers`.
    WhitelistEndorsers,
    /// `blacklistendorsers`.
    BlacklistEndorsers,
    /// `whitelistchecksums`.
    WhitelistChecksums,
    /// `blacklistchecksums`.
    BlacklistChecksums,
    /// `whitelistimages`.
    WhitelistImages,
    /// `blacklistimages`.
    BlacklistImages,
}

impl List {
    /// Every list, in the order of evaluation.
    pub const ALL: [List; 6] = [
        List::WhitelistEndorsers,
        List::BlacklistEndorsers,
        List::WhitelistChecksums,
        List::BlacklistChecksums,
        List::WhitelistImages,
        List::BlacklistImages,
    ];

    /// The list's name: the legacy key and the tutorial's section.
    pub fn name(self) -> &'static str {
        match self {
            List::WhitelistEndorsers => "whitelistendorsers",
            List::BlacklistEndorsers => "blacklistendorsers",
            List::WhitelistChecksums => "whitelistchecksums",
            List::BlacklistChecksums => "blacklistchecksums",
            List::WhitelistImages => "whitelistimages",
            List::BlacklistImages => "blacklistimages",
        }
    }

    /// The legacy dialect's section holding the list.
    fn legacy_section(self) -> &'static str {
        match self {
            List::WhitelistEndorsers | List::BlacklistEndorsers => "endorsers",
            List::WhitelistChecksums | List::BlacklistChecksums => "checksums",
            List::WhitelistImages | List::BlacklistImages => "images",
        }
    }

    fn from_name(name: &str) -> Option<List> {
        List::ALL.into_iter().find(|list| list.name() == name)
    }
}

/// An endorser entry: an e-mail (lower-cased) or a subject DN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endorser {
    /// An e-mail address, lower-cased.
    Email(String),
    /// A certificate subject, RFC 2253, as the signer writes it.
    Subject(String),
}

/// A problem with one item of a policy file, which is then ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file.
    pub path: PathBuf,
    /// The line (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

/// The `[trust]` section: trust material for the signers' chains, paths
/// resolved against the policy file's directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustSection {
    /// CA certificate files (`ca`).
    pub ca: Vec<PathBuf>,
    /// IGTF-style trust directories (`trust-dir`).
    pub trust_dirs: Vec<PathBuf>,
    /// CRL files (`crl`).
    pub crls: Vec<PathBuf>,
    /// `if-present` or `require` (`crl-mode`).
    pub crl_mode: Option<String>,
    /// `allow-weak-keys = true`.
    pub allow_weak_keys: bool,
}

/// A site policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// The file it was read from (none: the empty policy).
    pub path: Option<PathBuf>,
    /// Endorsers whose entries are accepted (empty: any).
    pub whitelist_endorsers: Vec<Endorser>,
    /// Endorsers whose entries are refused.
    pub blacklist_endorsers: Vec<Endorser>,
    /// Checksums (lower-case hex) of the images accepted (empty: any).
    pub whitelist_checksums: Vec<String>,
    /// Checksums of the images refused.
    pub blacklist_checksums: Vec<String>,
    /// Identifiers of the images accepted (empty: any).
    pub whitelist_images: Vec<String>,
    /// Identifiers of the images refused.
    pub blacklist_images: Vec<String>,
    /// The `[trust]` section.
    pub trust: TrustSection,
    /// The items that were ignored, and why.
    pub warnings: Vec<Warning>,
}

/// One rule applied to one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The rule: `signature`, `trust`, `validity`, `deprecation`, or a
    /// list's name.
    pub rule: &'static str,
    /// Whether the list (or check) applied at all (an empty list does not).
    pub applied: bool,
    /// Whether the candidate passed.
    pub passed: bool,
    /// What was found, in the legacy wording where there is one.
    pub message: String,
}

impl Check {
    fn pass(rule: &'static str, message: String) -> Check {
        Check {
            rule,
            applied: true,
            passed: true,
            message,
        }
    }

    fn fail(rule: &'static str, message: String) -> Check {
        Check {
            rule,
            applied: true,
            passed: false,
            message,
        }
    }

    fn skip(rule: &'static str) -> Check {
        Check {
            rule,
            applied: false,
            passed: true,
            message: "empty list: not applied".into(),
        }
    }
}

/// What the site accepts besides its lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allowances {
    /// Accept entries whose `dcterms:valid` has passed (`--allow-expired`).
    pub expired: bool,
    /// Accept deprecated entries (`--allow-deprecated`).
    pub deprecated: bool,
}

impl Policy {
    /// The empty policy: no lists, no trust section.
    pub fn empty() -> Policy {
        Policy::default()
    }

    /// Whether no list has an entry.
    pub fn has_no_lists(&self) -> bool {
        List::ALL.into_iter().all(|list| self.len(list) == 0)
    }

    fn len(&self, list: List) -> usize {
        match list {
            List::WhitelistEndorsers => self.whitelist_endorsers.len(),
            List::BlacklistEndorsers => self.blacklist_endorsers.len(),
            List::WhitelistChecksums => self.whitelist_checksums.len(),
            List::BlacklistChecksums => self.blacklist_checksums.len(),
            List::WhitelistImages => self.whitelist_images.len(),
            List::BlacklistImages => self.blacklist_images.len(),
        }
    }

    /// Read the policy file at `path` (at most 1 MiB).
    pub fn load(path: &Path) -> crate::error::Result<Policy> {
        let bytes = std::fs::File::open(path)
            .map_err(|e| crate::Error::io(path, e))
            .and_then(|file| {
                crate::document::input::read_limited(file, &path.display().to_string(), 1 << 20)
            })?;
        let text = String::from_utf8(bytes).map_err(|e| SiteError::PolicyFile {
            path: path.to_path_buf(),
            line: 0,
            message: format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        })?;
        Ok(Policy::parse(&text, path)?)
    }

    /// Read a policy from `text` (named `path`, whose directory relative
    /// trust paths start from).
    pub fn parse(text: &str, path: &Path) -> Result<Policy, SiteError> {
        let sections = ini::parse(text, path)?;
        let mut policy = Policy {
            path: Some(path.to_path_buf()),
            ..Policy::default()
        };
        let base = path.parent().unwrap_or(Path::new("."));
        for section in &sections {
            policy.read_section(section, base);
        }
        Ok(policy)
    }

    fn warn(&mut self, line: usize, message: String) {
        let path = self.path.clone().unwrap_or_default();
        self.warnings.push(Warning {
            path,
            line,
            message,
        });
    }

    fn read_section(&mut self, section: &ini::Section, base: &Path) {
        let name = section.name.to_ascii_lowercase();
        if let Some(list) = List::from_name(&name) {
            for option in &section.options {
                let dn_key = option.key.starts_with("subject");
                for (line, item) in option.items(!dn_key) {
                    self.add(list, &item, line, dn_key);
                }
            }
            return;
        }
        match name.as_str() {
            "endorsers" | "images" | "checksums" => {
                for option in &section.options {
                    match List::from_name(&option.key).filter(|l| l.legacy_section() == name) {
                        Some(list) => {
                            for (line, item) in option.items(false) {
                                self.add(list, &item, line, false);
                            }
                        }
                        None => self.warn(
                            option.line,
                            format!("unknown key '{}' in [{name}]: ignored", option.key),
                        ),
                    }
                }
            }
            "trust" => self.read_trust(section, base),
            "validatemetadatafile" => {
                for option in &section.options {
                    let off = option.key == "activate"
                        && matches!(
                            option.value.trim().to_ascii_lowercase().as_str(),
                            "false" | "no" | "0" | "off"
                        );
                    if off {
                        self.warn(
                            option.line,
                            "signature verification cannot be turned off: every entry is verified"
                                .into(),
                        );
                    }
                }
            }
            _ => self.warn(
                section.line,
                format!("unknown section [{}]: ignored", section.name),
            ),
        }
    }

    fn read_trust(&mut self, section: &ini::Section, base: &Path) {
        for option in &section.options {
            let key = option.key.replace('_', "-");
            let paths = || -> Vec<PathBuf> {
                option
                    .items(false)
                    .into_iter()
                    .map(|(_, item)| base.join(item))
                    .collect()
            };
            match key.as_str() {
                "ca" => self.trust.ca.extend(paths()),
                "trust-dir" | "trustdir" => self.trust.trust_dirs.extend(paths()),
                "crl" => self.trust.crls.extend(paths()),
                "crl-mode" => self.trust.crl_mode = Some(option.value.trim().to_string()),
                "allow-weak-keys" => {
                    self.trust.allow_weak_keys = matches!(
                        option.value.trim().to_ascii_lowercase().as_str(),
                        "true" | "yes" | "1" | "on"
                    )
                }
                _ => self.warn(
                    option.line,
                    format!("unknown key '{}' in [trust]: ignored", option.key),
                ),
            }
        }
    }

    fn add(&mut self, list: List, item: &str, line: usize, dn: bool) {
        let item = item.trim();
        if item.is_empty() {
            return;
        }
        match list {
            List::WhitelistEndorsers | List::BlacklistEndorsers => match endorser(item, dn) {
                Some(entry) if list == List::WhitelistEndorsers => {
                    self.whitelist_endorsers.push(entry)
                }
                Some(entry) => self.blacklist_endorsers.push(entry),
                None => self.warn(
                    line,
                    format!(
                        "{}: '{item}' is neither an e-mail address nor subject=<DN>: ignored",
                        list.name()
                    ),
                ),
            },
            List::WhitelistChecksums | List::BlacklistChecksums => {
                if is_checksum(item) {
                    let value = item.to_ascii_lowercase();
                    if list == List::WhitelistChecksums {
                        self.whitelist_checksums.push(value);
                    } else {
                        self.blacklist_checksums.push(value);
                    }
                } else {
                    self.warn(
                        line,
                        format!(
                            "{}: '{item}' is not a checksum (32, 40, 64 or 128 hexadecimal digits: MD5, SHA-1, SHA-256, SHA-512): ignored",
                            list.name()
                        ),
                    );
                }
            }
            List::WhitelistImages | List::BlacklistImages => {
                if super::source::is_identifier(item) {
                    if list == List::WhitelistImages {
                        self.whitelist_images.push(item.to_string());
                    } else {
                        self.blacklist_images.push(item.to_string());
                    }
                } else {
                    self.warn(
                        line,
                        format!(
                            "{}: '{item}' is not an image identifier (27 characters of A-Z a-z 0-9 - _): ignored",
                            list.name()
                        ),
                    );
                }
            }
        }
    }

    /// Apply the rules beyond the signature to a candidate whose document
    /// verified: validity, deprecation, then the six lists in the legacy
    /// order. Every rule is applied; the candidate is accepted when every
    /// check passes. `now` is the time `dcterms:valid` is compared with.
    pub fn evaluate(
        &self,
        manifest: &Manifest,
        report: &Report,
        allow: Allowances,
        now: Timestamp,
    ) -> Vec<Check> {
        let mut checks = vec![validity(manifest, allow, now), deprecation(manifest, allow)];
        for list in List::ALL {
            checks.push(if self.len(list) == 0 {
                Check::skip(list.name())
            } else {
                self.check_list(list, manifest, report)
            });
        }
        checks
    }

    fn check_list(&self, list: List, manifest: &Manifest, report: &Report) -> Check {
        let name = list.name();
        match list {
            List::WhitelistEndorsers => whitelist_endorser(name, &self.whitelist_endorsers, report),
            List::BlacklistEndorsers => blacklist_endorser(name, &self.blacklist_endorsers, report),
            List::WhitelistChecksums | List::BlacklistChecksums => {
                let entries = if list == List::WhitelistChecksums {
                    &self.whitelist_checksums
                } else {
                    &self.blacklist_checksums
                };
                let found = document_checksums(manifest)
                    .into_iter()
                    .find(|(_, value)| entries.contains(value));
                let sha1 = manifest.checksum("SHA-1").unwrap_or("(none)");
                match (list == List::WhitelistChecksums, found) {
                    (true, Some((alg, v))) => Check::pass(name, format!("{alg} checksum image {v} is whitelisted, keeping entry")),
                    (true, None) => Check::fail(name, format!("SHA-1 checksum image {sha1} is not whitelisted (nor any other checksum of the image), rejecting entry")),
                    (false, Some((alg, v))) => Check::fail(name, format!("{alg} checksum image {v} is blacklisted, rejecting entry")),
                    (false, None) => Check::pass(name, format!("SHA-1 checksum image {sha1} is not blacklisted (nor any other checksum of the image), keeping entry")),
                }
            }
            List::WhitelistImages => {
                let id = &manifest.identifier;
                if self.whitelist_images.contains(id) {
                    Check::pass(
                        name,
                        format!("image identifier {id} is whitelisted, keeping entry"),
                    )
                } else {
                    Check::fail(
                        name,
                        format!("image identifier {id} is not whitelisted, rejecting entry"),
                    )
                }
            }
            List::BlacklistImages => {
                let id = &manifest.identifier;
                if self.blacklist_images.contains(id) {
                    Check::fail(
                        name,
                        format!("image identifier {id} is blacklisted, rejecting entry"),
                    )
                } else {
                    Check::pass(
                        name,
                        format!("image identifier {id} is not blacklisted, keeping entry"),
                    )
                }
            }
        }
    }
}

fn validity(manifest: &Manifest, allow: Allowances, now: Timestamp) -> Check {
    const RULE: &str = "validity";
    let Some(valid) = manifest
        .terms
        .valid
        .as_deref()
        .filter(|v| !v.trim().is_empty())
    else {
        return Check::pass(RULE, "no dcterms:valid: the entry does not expire".into());
    };
    match clock::parse_utc(valid.trim()) {
        Some(until) if until > now => Check::pass(RULE, format!("valid until {valid}")),
        Some(_) if allow.expired => Check::pass(
            RULE,
            format!("expired on {valid}, accepted (--allow-expired)"),
        ),
        Some(_) => Check::fail(RULE, format!("expired on {valid}, rejecting entry")),
        None => Check::fail(
            RULE,
            format!("dcterms:valid ({valid}) is not a date, rejecting entry"),
        ),
    }
}

fn deprecation(manifest: &Manifest, allow: Allowances) -> Check {
    const RULE: &str = "deprecation";
    match manifest.terms.deprecated.as_deref() {
        None => Check::pass(RULE, "not deprecated".into()),
        Some(reason) if allow.deprecated => Check::pass(
            RULE,
            format!(
                "deprecated ({}), accepted (--allow-deprecated)",
                reason.trim()
            ),
        ),
        Some(reason) => Check::fail(
            RULE,
            format!("deprecated ({}), rejecting entry", reason.trim()),
        ),
    }
}

/// Whether the endorser's e-mail is vouched for: carried by the signer's
/// certificate, and, when the chain was trust-checked, within what the
/// trusted CAs vouch for.
fn vouched(report: &Report) -> bool {
    report.email_in_certificate && (!report.trust_checked || report.email_verified)
}

fn whitelist_endorser(name: &'static str, entries: &[Endorser], report: &Report) -> Check {
    let email = report.email.as_deref().unwrap_or("");
    if let Some(subject) = report.signer.as_deref() {
        if entries.contains(&Endorser::Subject(subject.to_string())) {
            return Check::pass(
                name,
                format!("subject endorser {subject} is whitelisted, keeping entry"),
            );
        }
    }
    let listed = entries.contains(&Endorser::Email(email.to_ascii_lowercase()));
    match (listed, vouched(report)) {
        (true, true) => Check::pass(name, format!("email endorser {email} is whitelisted, keeping entry")),
        (true, false) => Check::fail(
            name,
            format!(
                "email endorser {email} is whitelisted, but the signer's certificate does not carry it (the document's claim only), rejecting entry"
            ),
        ),
        (false, _) => Check::fail(name, format!("email endorser {email} is not whitelisted, rejecting entry")),
    }
}

fn blacklist_endorser(name: &'static str, entries: &[Endorser], report: &Report) -> Check {
    let email = report.email.as_deref().unwrap_or("");
    if let Some(subject) = report.signer.as_deref() {
        if entries.contains(&Endorser::Subject(subject.to_string())) {
            return Check::fail(
                name,
                format!("subject endorser {subject} is blacklisted, rejecting entry"),
            );
        }
    }
    if entries.contains(&Endorser::Email(email.to_ascii_lowercase())) {
        return Check::fail(
            name,
            format!("email endorser {email} is blacklisted, rejecting entry"),
        );
    }
    Check::pass(
        name,
        format!("email endorser {email} is not blacklisted, keeping entry"),
    )
}

/// The document's checksums, lower-cased, leading zeros the legacy
/// writer dropped put back, with their algorithm.
pub fn document_checksums(manifest: &Manifest) -> Vec<(String, String)> {
    manifest
        .checksums
        .iter()
        .map(|c| {
            let value = c.value.trim().to_ascii_lowercase();
            let value = match Algorithm::from_legacy_name(&c.algorithm) {
                Some(alg) if value.len() < alg.hex_len() => {
                    format!("{}{value}", "0".repeat(alg.hex_len() - value.len()))
                }
                _ => value,
            };
            (c.algorithm.clone(), value)
        })
        .collect()
}

fn endorser(item: &str, dn: bool) -> Option<Endorser> {
    let lower = item.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("subject") {
        if let Some(value) = rest.trim_start().strip_prefix('=') {
            let offset = item.len() - value.len();
            return non_empty(item[offset..].trim()).map(Endorser::Subject);
        }
    }
    if dn {
        return non_empty(item).map(Endorser::Subject);
    }
    let valid = item.split('@').count() == 2
        && !item.starts_with('@')
        && !item.ends_with('@')
        && !item.contains(char::is_whitespace);
    valid.then_some(Endorser::Email(lower))
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

fn is_checksum(item: &str) -> bool {
    matches!(item.len(), 32 | 40 | 64 | 128) && item.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A reader for the INI syntax of Python 2's ConfigParser that keeps the
/// line of every value, for warnings that point at it.
mod ini {
    use super::SiteError;
    use std::path::Path;

    pub struct Section {
        pub name: String,
        pub line: usize,
        pub options: Vec<Option_>,
    }

    pub struct Option_ {
        pub key: String,
        pub line: usize,
        /// The value as ConfigParser gives it: lines joined with `\n`.
        pub value: String,
        /// Each line of the value with its line number.
        lines: Vec<(usize, String)>,
    }

    impl Option_ {
        /// The items: one per line; with `commas`, split on commas too.
        pub fn items(&self, commas: bool) -> Vec<(usize, String)> {
            let mut items = Vec::new();
            for (line, text) in &self.lines {
                let text = text.trim();
                let is_dn = text.to_ascii_lowercase().starts_with("subject");
                if commas && !is_dn {
                    items.extend(
                        text.split(',')
                            .map(str::trim)
                            .filter(|t| !t.is_empty())
                            .map(|t| (*line, t.to_string())),
                    );
                } else if !text.is_empty() {
                    items.push((*line, text.to_string()));
                }
            }
            items
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Vec<Section>, SiteError> {
        let mut sections: Vec<Section> = Vec::new();
        let error = |line: usize, message: String| SiteError::PolicyFile {
            path: path.to_path_buf(),
            line,
            message,
        };
        for (index, raw) in text.lines().enumerate() {
            let number = index + 1;
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                let option = sections
                    .last_mut()
                    .and_then(|s| s.options.last_mut())
                    .ok_or_else(|| {
                        error(
                            number,
                            "a continuation line with no option before it".into(),
                        )
                    })?;
                let value = line.trim();
                option.value.push('\n');
                option.value.push_str(value);
                option.lines.push((number, value.to_string()));
                continue;
            }
            if let Some(header) = line.strip_prefix('[') {
                let name = header
                    .split_once(']')
                    .map(|(name, _)| name.trim())
                    .filter(|name| !name.is_empty())
                    .ok_or_else(|| error(number, format!("a malformed section header: {line}")))?;
                sections.push(Section {
                    name: name.to_string(),
                    line: number,
                    options: Vec::new(),
                });
                continue;
            }
            let Some(section) = sections.last_mut() else {
                return Err(error(
                    number,
                    "an option before any [section] header".into(),
                ));
            };
            let split = line.find(['=', ':']).ok_or_else(|| {
                error(
                    number,
                    format!("neither 'key = value' nor a section: {line}"),
                )
            })?;
            let key = line[..split].trim().to_ascii_lowercase();
            let mut value = line[split + 1..].trim().to_string();
            // ConfigParser drops a ';' comment that follows white space.
            if let Some(at) = value.find(" ;").or_else(|| value.find("\t;")) {
                value.truncate(at);
                value = value.trim_end().to_string();
            }
            section.options.push(Option_ {
                key,
                line: number,
                lines: vec![(number, value.clone())],
                value,
            });
        }
        Ok(sections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::manifest::Checksum;

    const JIM: &str = "CN=Jim Tester,OU=Testing Department,O=StratusLab Project,C=EU";

    fn parse(text: &str) -> Policy {
        Policy::parse(text, Path::new("/etc/site/policy.cfg")).unwrap()
    }

    fn manifest() -> Manifest {
        Manifest {
            identifier: "MMZu9WvwKIro-rtBQfDk4PsKO7_".into(),
            checksums: vec![
                Checksum {
                    algorithm: "SHA-1".into(),
                    value: "0c319bbd5afc0a22ba3eaed0507c39383ec28eef".into(),
                },
                Checksum {
                    algorithm: "MD5".into(),
                    value: "ACBD18DB4CC2F85CEDEF654FCCC4A4D8".into(),
                },
            ],
            ..Manifest::default()
        }
    }

    fn report(email: &str, in_cert: bool, trusted: bool) -> Report {
        Report {
            signer: Some(JIM.into()),
            trust_checked: trusted,
            email: Some(email.into()),
            email_in_certificate: in_cert,
            email_verified: in_cert && trusted,
        }
    }

    fn verdict(policy: &Policy, report: &Report) -> Vec<(&'static str, bool)> {
        policy
            .evaluate(&manifest(), report, Allowances::default(), 0)
            .into_iter()
            .filter(|c| c.applied && c.rule.contains("list"))
            .map(|c| (c.rule, c.passed))
            .collect()
    }

    #[test]
    fn legacy_dialect_one_item_per_line() {
        let policy = parse(
            "[endorsers]\nwhitelistendorsers=\n alice@example.org\n Bob@Example.org, carol@x.org\n\nblacklistendorsers=\n\n[images]\n# a comment\nwhitelistimages =\n MMZu9WvwKIro-rtBQfDk4PsKO7_\n[checksums]\nblacklistchecksums: 639ac4915da045efa809bd02b2609d9d3f932e85\n",
        );
        assert_eq!(
            policy.whitelist_endorsers,
            vec![Endorser::Email("alice@example.org".into())]
        );
        // "Bob@Example.org, carol@x.org" is one item in the legacy dialect,
        // and not an address.
        assert_eq!(policy.warnings.len(), 1, "{:?}", policy.warnings);
        assert_eq!(policy.warnings[0].line, 4);
        assert_eq!(policy.whitelist_images.len(), 1);
        assert_eq!(policy.blacklist_checksums.len(), 1);
    }

    #[test]
    fn tutorial_dialect_with_commas_subjects_and_a_bad_checksum() {
        let policy = parse(&format!(
            "[whitelistendorsers]\nemail3=jane.test@example.org, Jim@Example.org\nsubject={JIM}\n[blacklistchecksums]\nchecksum=639ac4915da045efa809bd02b2609d9d3f932eefg\n[validatemetadatafile]\nactivate = True\n[trust]\nca = ca.pem\n bundle.pem\ncrl-mode = require\n"
        ));
        assert_eq!(
            policy.whitelist_endorsers,
            vec![
                Endorser::Email("jane.test@example.org".into()),
                Endorser::Email("jim@example.org".into()),
                Endorser::Subject(JIM.into())
            ]
        );
        assert!(policy.blacklist_checksums.is_empty());
        assert_eq!(policy.warnings.len(), 1);
        assert!(
            policy.warnings[0]
                .to_string()
                .starts_with("/etc/site/policy.cfg:5: blacklistchecksums: '639ac"),
            "{}",
            policy.warnings[0]
        );
        assert_eq!(
            policy.trust.ca,
            vec![
                PathBuf::from("/etc/site/ca.pem"),
                PathBuf::from("/etc/site/bundle.pem")
            ]
        );
        assert_eq!(policy.trust.crl_mode.as_deref(), Some("require"));
    }

    #[test]
    fn malformed_files_name_the_line() {
        for (text, line) in [
            ("whitelistimages=x\n", 1),
            ("[images]\njust words\n", 2),
            ("[x\n", 1),
            (" indented\n", 1),
        ] {
            match Policy::parse(text, Path::new("p.cfg")) {
                Err(SiteError::PolicyFile { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        let policy = parse("[elsewhere]\na=b\n[endorsers]\nwhitelistimages=x\n");
        assert_eq!(policy.warnings.len(), 2);
    }

    #[test]
    fn whitelist_needs_an_email_the_certificate_vouches_for() {
        let policy = parse("[whitelistendorsers]\na=jane@example.org\n");
        assert_eq!(
            verdict(&policy, &report("Jane@EXAMPLE.org", true, false)),
            [("whitelistendorsers", true)]
        );
        assert_eq!(
            verdict(&policy, &report("jane@example.org", false, true)),
            [("whitelistendorsers", false)]
        );
        let mut outside_constraints = report("jane@example.org", true, true);
        outside_constraints.email_verified = false;
        assert_eq!(
            verdict(&policy, &outside_constraints),
            [("whitelistendorsers", false)]
        );
        // A subject entry needs no e-mail.
        let by_subject = parse(&format!("[whitelistendorsers]\nsubject={JIM}\n"));
        assert_eq!(
            verdict(&by_subject, &report("x@y.org", false, true)),
            [("whitelistendorsers", true)]
        );
    }

    #[test]
    fn blacklists_match_claims_and_any_checksum() {
        let policy = parse(
            "[blacklistendorsers]\nx=jane@example.org\n[blacklistchecksums]\nmd5=acbd18db4cc2f85cedef654fccc4a4d8\n",
        );
        assert_eq!(
            verdict(&policy, &report("jane@example.org", false, false)),
            [("blacklistendorsers", false), ("blacklistchecksums", false)]
        );
        // The SHA-1 lost its leading zero in the document? It is put back.
        let mut m = manifest();
        m.checksums[0].value = "c319bbd5afc0a22ba3eaed0507c39383ec28eef".into();
        let policy = parse("[whitelistchecksums]\na=0C319BBD5AFC0A22BA3EAED0507C39383EC28EEF\n");
        let checks = policy.evaluate(&m, &report("a@b.c", true, false), Allowances::default(), 0);
        assert!(checks.iter().all(|c| c.passed), "{checks:?}");
    }

    #[test]
    fn expiry_and_deprecation() {
        let mut m = manifest();
        m.terms.valid = Some("2014-01-01T00:00:00Z".into());
        m.terms.deprecated = Some("superseded".into());
        let now = clock::parse_utc("2015-01-01T00:00:00Z").unwrap();
        let r = report("a@b.c", true, false);
        let failed = |allow| {
            Policy::empty()
                .evaluate(&m, &r, allow, now)
                .into_iter()
                .filter(|c| !c.passed)
                .map(|c| c.rule)
                .collect::<Vec<_>>()
        };
        assert_eq!(failed(Allowances::default()), ["validity", "deprecation"]);
        assert!(failed(Allowances {
            expired: true,
            deprecated: true
        })
        .is_empty());
    }
}
