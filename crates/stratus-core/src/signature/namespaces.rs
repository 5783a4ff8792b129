//! IGTF namespace constraints: which subject names each CA may issue.
//!
//! A grid CA directory (`/etc/grid-security/certificates`, what
//! `--trust-dir` reads) carries, beside each CA certificate `<hash>.0`, the
//! relying party's limits on the names that CA may certify, in one or both
//! of two formats:
//!
//! - `<hash>.namespaces`, the EUGridPMA format: statements
//!   `TO Issuer "<DN>" PERMIT Subject "<regex>"` (or `DENY`), where the
//!   issuer may be `SELF`, the CA of the same hash. Keywords are not case
//!   sensitive, `#` starts a comment and a backslash continues a line.
//! - `<hash>.signing_policy`, the Globus format: blocks of
//!   `access_id_CA X509 '<DN>'`, `pos_rights globus CA:sign` and
//!   `cond_subjects globus '"<glob>" ...'`, where `*` matches any text and
//!   `?` one character.
//!
//! Names are in OpenSSL's slash form (`/C=CH/O=CERN/CN=Jane Doe`, see
//! [`crate::signature::dn::openssl_slash`]). Each policy file belongs to the CA
//! certificate of its hash and only its statements about that CA count; a
//! file with none is refused, so that a misspelt issuer cannot leave a CA
//! unconstrained without notice. For a certificate issued by a CA with a
//! policy, each trust directory's `.namespaces` file for that CA is used
//! when the directory has one, its `.signing_policy` otherwise; the subject
//! must match no `DENY` and at least one `PERMIT` of every file so chosen
//! (every Globus pattern permits), so a second trust directory can narrow a
//! CA's namespace but never widen it. Patterns match the whole subject and, like issuer names,
//! ignore ASCII case, as grid middleware compares them; a pattern may
//! spell the e-mail keyword `emailAddress`, `Email` or `E`, and the user id
//! `UID` or `USERID`.
//!
//! The files come with a CA bundle, and a small one can hold much work:
//! a pattern is a regular expression whose automaton may grow far beyond
//! its text (`.{1000}` takes a megabyte). So a file holds at most
//! [`MAX_RULES_PER_FILE`] statements, a pattern compiles to at most
//! [`MAX_PATTERN_BYTES`], and all the patterns loaded take at most
//! [`MAX_PATTERN_MEMORY`]; matching is linear in the subject's length (the
//! regex crate's engines do not backtrack exponentially).
//!
//! Which CA's policy applies to a certificate is decided by the caller
//! ([`crate::signature::trust`]): the issuer's, or when the issuer has none, that of
//! the nearest CA above it that has one.

use regex_automata::meta::Regex;
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The two policy file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `<hash>.namespaces` (EUGridPMA).
    EuGridPma,
    /// `<hash>.signing_policy` (Globus).
    Globus,
}

/// One `PERMIT` or `DENY` of a policy.
#[derive(Debug)]
struct Rule {
    permit: bool,
    pattern: Regex,
    /// The pattern as the file wrote it, for messages.
    text: String,
}

/// The rules one file gives for its CA.
#[derive(Debug)]
struct PolicyFile {
    format: Format,
    rules: Vec<Rule>,
    source: PathBuf,
}

/// The namespace policies of the CA directories given.
#[derive(Debug, Default)]
pub struct Namespaces {
    /// The memory the compiled patterns take, with one search cache each
    /// (see [`MAX_PATTERN_MEMORY`]).
    memory: usize,
    /// The policy files of each CA, by its subject normalized
    /// ([`normalize_dn`]): looking a CA up costs the same however many
    /// CAs a trust directory has.
    cas: HashMap<String, Vec<PolicyFile>>,
}

/// The most statements (or subject patterns) one policy file may hold.
pub const MAX_RULES_PER_FILE: usize = 10_000;

/// The most memory one compiled pattern may take (its automaton): 256
/// KiB. The patterns of grid CAs (`/C=CH/O=CERN/.*`) take a few KiB, but
/// a counted repetition of a few bytes (`.{1000}`) compiles to a megabyte.
pub const MAX_PATTERN_BYTES: usize = 256 * 1024;

/// The most memory the compiled patterns of every policy loaded may take
/// together, with the search cache of each: 64 MiB. (An IGTF bundle's
/// take a few MiB; without this bound a policy file of 80 KB took 2 GiB
/// and minutes to load.)
pub const MAX_PATTERN_MEMORY: usize = 64 * 1024 * 1024;

/// A certificate whose subject its issuer may not certify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The certificate's subject.
    pub subject: String,
    /// Its issuer.
    pub issuer: String,
    /// The policy file that refuses it.
    pub source: PathBuf,
    /// The `DENY` pattern it matched, if one did (otherwise it matched no
    /// `PERMIT`).
    pub denied_by: Option<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "subject '{}' is outside the namespace of its issuer '{}' ({}",
            self.subject,
            self.issuer,
            self.source.display()
        )?;
        match &self.denied_by {
            Some(pattern) => write!(f, ": denied by \"{pattern}\")"),
            None => f.write_str(": no PERMIT matches)"),
        }
    }
}

/// A policy file that cannot be read as its format says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySyntaxError {
    /// The line (1-based) where the problem is.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PolicySyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for PolicySyntaxError {}

impl Namespaces {
    /// Whether no policy has been loaded.
    pub fn is_empty(&self) -> bool {
        self.cas.is_empty()
    }

    /// Whether the CA named `ca` (slash form) has a policy.
    pub fn has_policy(&self, ca: &str) -> bool {
        self.cas.contains_key(&normalize_dn(ca))
    }

    /// Adds the `.namespaces` file of the CA whose subject is `ca`: its
    /// statements about `ca` (by name or as `SELF`).
    pub fn add_namespaces(
        &mut self,
        source: &Path,
        text: &str,
        ca: &str,
    ) -> Result<(), PolicySyntaxError> {
        let statements = parse_namespaces(text)?;
        let key = normalize_dn(ca);
        let mut rules = Vec::new();
        for statement in &statements {
            let about_ca = match &statement.issuer {
                Issuer::SelfCa => true,
                Issuer::Named(dn) => normalize_dn(dn) == key,
            };
            if about_ca {
                rules.push(Rule {
                    permit: statement.permit,
                    pattern: self.compile(&statement.pattern, statement.line)?,
                    text: statement.pattern.clone(),
                });
            }
        }
        let first_line = statements.first().map_or(1, |s| s.line);
        self.add_file(ca, Format::EuGridPma, rules, source, first_line)
    }

    /// Adds the `.signing_policy` file of the CA whose subject is `ca`: its
    /// `access_id_CA` blocks about `ca`.
    pub fn add_signing_policy(
        &mut self,
        source: &Path,
        text: &str,
        ca: &str,
    ) -> Result<(), PolicySyntaxError> {
        let blocks = parse_signing_policy(text)?;
        let key = normalize_dn(ca);
        let mut rules = Vec::new();
        for block in blocks.iter().filter(|b| normalize_dn(&b.issuer) == key) {
            for glob in &block.subjects {
                rules.push(Rule {
                    permit: true,
                    pattern: self.compile(&glob_to_regex(glob), block.line)?,
                    text: glob.clone(),
                });
            }
        }
        let first_line = blocks.first().map_or(1, |b| b.line);
        self.add_file(ca, Format::Globus, rules, source, first_line)
    }

    fn add_file(
        &mut self,
        ca: &str,
        format: Format,
        rules: Vec<Rule>,
        source: &Path,
        first_line: usize,
    ) -> Result<(), PolicySyntaxError> {
        if rules.is_empty() {
            return Err(PolicySyntaxError {
                line: first_line,
                message: format!("no statement about its CA '{ca}'"),
            });
        }
        let file = PolicyFile {
            format,
            rules,
            source: source.to_path_buf(),
        };
        self.cas.entry(normalize_dn(ca)).or_default().push(file);
        Ok(())
    }

    /// Whether the policy of the CA `ca` allows `subject` (both in slash
    /// form); a CA without a policy allows anything.
    pub fn check(&self, ca: &str, subject: &str) -> Result<(), Violation> {
        let Some(files) = self.cas.get(&normalize_dn(ca)) else {
            return Ok(());
        };
        // Per trust directory: its .namespaces files if it has any for this
        // CA, else its .signing_policy files. Every directory must permit.
        let directory = |file: &PolicyFile| file.source.parent().map(Path::to_path_buf);
        let mut chosen: Vec<&PolicyFile> = Vec::new();
        for file in files {
            let has_namespaces = files
                .iter()
                .any(|f| f.format == Format::EuGridPma && directory(f) == directory(file));
            if file.format == Format::EuGridPma || !has_namespaces {
                chosen.push(file);
            }
        }
        let spellings = subject_spellings(subject);
        let matches = |rule: &Rule| spellings.iter().any(|s| rule.pattern.is_match(s));
        for file in chosen {
            let violation = |denied_by: Option<String>| Violation {
                subject: subject.to_string(),
                issuer: ca.to_string(),
                source: file.source.clone(),
                denied_by,
            };
            if let Some(deny) = file.rules.iter().find(|r| !r.permit && matches(r)) {
                return Err(violation(Some(deny.text.clone())));
            }
            if !file.rules.iter().any(|r| r.permit && matches(r)) {
                return Err(violation(None));
            }
        }
        Ok(())
    }
}

/// The subject as OpenSSL writes it, and with the older spellings of the
/// e-mail (`Email=`, `E=`) and user-id (`USERID=`) keywords that policy
/// files written for older tools use: a pattern in any of them applies.
fn subject_spellings(subject: &str) -> Vec<String> {
    let mut spellings = vec![subject.to_string()];
    let variants: [(&str, &[&str]); 2] = [
        ("/emailAddress=", &["/Email=", "/E="]),
        ("/UID=", &["/USERID="]),
    ];
    // Every combination: each spelling so far, with each older keyword.
    for (current, older) in variants {
        if subject.contains(current) {
            let so_far = spellings.clone();
            for spelling in &so_far {
                for old in older {
                    spellings.push(spelling.replace(current, old));
                }
            }
        }
    }
    spellings
}

/// A DN for comparison: ASCII lower case, with the old spellings of the
/// e-mail and user-id keywords replaced by the current ones.
fn normalize_dn(dn: &str) -> String {
    let lower = dn.trim().to_ascii_lowercase();
    let mut out = String::with_capacity(lower.len());
    for (i, component) in lower.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let renamed = [
            ("email=", "emailaddress="),
            ("e=", "emailaddress="),
            ("userid=", "uid="),
        ]
        .iter()
        .find_map(|(old, new)| {
            component
                .strip_prefix(old)
                .map(|rest| format!("{new}{rest}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(component));
    }
    out
}

/// The syntax of patterns: ignoring case (Unicode simple case folding,
/// which folds ASCII as grid middleware does).
fn pattern_syntax() -> syntax::Config {
    syntax::Config::new().case_insensitive(true)
}

impl Namespaces {
    /// A pattern matching the whole subject, ignoring case. The pattern
    /// must be a regular expression on its own, so that one like `a)|(b`
    /// cannot escape the anchors put around it. Its automaton may take at
    /// most [`MAX_PATTERN_BYTES`], and all patterns loaded, with a search
    /// cache each, [`MAX_PATTERN_MEMORY`].
    fn compile(&mut self, pattern: &str, line: usize) -> Result<Regex, PolicySyntaxError> {
        let bad = |e: &dyn fmt::Display| PolicySyntaxError {
            line,
            message: format!("bad pattern \"{pattern}\": {e}"),
        };
        syntax::parse_with(pattern, &pattern_syntax()).map_err(|e| bad(&e))?;
        let config = Regex::config()
            .nfa_size_limit(Some(MAX_PATTERN_BYTES))
            .onepass_size_limit(Some(MAX_PATTERN_BYTES))
            .hybrid_cache_capacity(MAX_PATTERN_BYTES)
            .which_captures(WhichCaptures::None);
        let regex = Regex::builder()
            .syntax(pattern_syntax())
            .configure(config)
            .build(&format!("^(?:{pattern})$"))
            .map_err(|e| match e.size_limit() {
                Some(_) => bad(&format!(
                    "it compiles to more than the {MAX_PATTERN_BYTES} bytes a pattern may take"
                )),
                None => bad(&e),
            })?;
        self.memory += regex.memory_usage() + regex.create_cache().memory_usage();
        if self.memory > MAX_PATTERN_MEMORY {
            return Err(PolicySyntaxError {
                line,
                message: format!(
                    "the patterns of the namespace policies take more than the {MAX_PATTERN_MEMORY} bytes of memory they may take in all"
                ),
            });
        }
        Ok(regex)
    }
}

/// A Globus glob as a regular expression: `*` any text, `?` one character.
fn glob_to_regex(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() * 2);
    for c in glob.chars() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            other => out.push_str(&literal(other)),
        }
    }
    out
}

/// A character as a regular expression matching only it: ASCII
/// punctuation as a hex escape (always a literal, whatever the
/// character), anything else as itself.
fn literal(c: char) -> String {
    if c.is_ascii() && !c.is_ascii_alphanumeric() && c != ' ' {
        format!("\\x{{{:02X}}}", u32::from(c))
    } else {
        c.to_string()
    }
}

/// The issuer a statement is about.
#[derive(Debug, PartialEq, Eq)]
enum Issuer {
    /// `SELF`: the CA the file belongs to.
    SelfCa,
    /// A quoted name.
    Named(String),
}

/// One `TO Issuer ... PERMIT|DENY Subject ...` statement.
#[derive(Debug, PartialEq, Eq)]
struct Statement {
    issuer: Issuer,
    permit: bool,
    pattern: String,
    line: usize,
}

/// A word or a quoted string of a `.namespaces` file, with its line.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String, usize),
    Quoted(String, usize),
}

impl Token {
    fn line(&self) -> usize {
        match self {
            Token::Word(_, line) | Token::Quoted(_, line) => *line,
        }
    }
}

/// Splits a `.namespaces` file into words and quoted strings: `#` starts a
/// comment outside quotes, and a backslash at the end of a line joins it
/// to the next.
fn tokenize(text: &str) -> Result<Vec<Token>, PolicySyntaxError> {
    let mut tokens = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let mut chars = raw
            .trim_end()
            .strip_suffix('\\')
            .unwrap_or(raw)
            .chars()
            .peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c == '#' {
                break;
            } else if c == '"' {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') if chars.peek() == Some(&'"') => {
                            value.push('"');
                            chars.next();
                        }
                        Some(other) => value.push(other),
                        None => {
                            return Err(PolicySyntaxError {
                                line,
                                message: "a quoted string does not end on its line".into(),
                            })
                        }
                    }
                }
                tokens.push(Token::Quoted(value, line));
            } else {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '"' || c == '#' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word, line));
            }
        }
    }
    Ok(tokens)
}

/// The statements of a `.namespaces` file.
fn parse_namespaces(text: &str) -> Result<Vec<Statement>, PolicySyntaxError> {
    let tokens = tokenize(text)?;
    let last_line = tokens.last().map_or(1, Token::line);
    let mut tokens = tokens.into_iter();
    let mut statements = Vec::new();
    let expected = |what: &str, token: Option<&Token>| PolicySyntaxError {
        line: token.map_or(last_line, Token::line),
        message: match token {
            Some(Token::Word(word, _)) => format!("expected {what}, found '{word}'"),
            Some(Token::Quoted(value, _)) => format!("expected {what}, found \"{value}\""),
            None => format!("expected {what}, found the end of the file"),
        },
    };
    let keyword = |token: Option<Token>, word: &str| match token {
        Some(Token::Word(w, _)) if w.eq_ignore_ascii_case(word) => Ok(()),
        other => Err(expected(word, other.as_ref())),
    };
    while let Some(first) = tokens.next() {
        let line = first.line();
        keyword(Some(first), "TO")?;
        keyword(tokens.next(), "Issuer")?;
        let issuer = match tokens.next() {
            Some(Token::Quoted(dn, _)) => Issuer::Named(dn),
            Some(Token::Word(w, _)) if w.eq_ignore_ascii_case("SELF") => Issuer::SelfCa,
            other => return Err(expected("a quoted issuer name or SELF", other.as_ref())),
        };
        let permit = match tokens.next() {
            Some(Token::Word(w, _)) if w.eq_ignore_ascii_case("PERMIT") => true,
            Some(Token::Word(w, _)) if w.eq_ignore_ascii_case("DENY") => false,
            other => return Err(expected("PERMIT or DENY", other.as_ref())),
        };
        keyword(tokens.next(), "Subject")?;
        let pattern = match tokens.next() {
            Some(Token::Quoted(pattern, _)) => pattern,
            other => return Err(expected("a quoted subject pattern", other.as_ref())),
        };
        statements.push(Statement {
            issuer,
            permit,
            pattern,
            line,
        });
        if statements.len() > MAX_RULES_PER_FILE {
            return Err(PolicySyntaxError {
                line,
                message: format!("more than {MAX_RULES_PER_FILE} statements"),
            });
        }
    }
    Ok(statements)
}

/// One `access_id_CA` block of a `.signing_policy` file.
#[derive(Debug, PartialEq, Eq)]
struct SigningBlock {
    issuer: String,
    subjects: Vec<String>,
    line: usize,
}

/// The `access_id_CA` blocks of a `.signing_policy` file. Each must be
/// followed by `pos_rights globus CA:sign` and `cond_subjects globus
/// '"<glob>" ...'` (the outer single quotes may be left out).
fn parse_signing_policy(text: &str) -> Result<Vec<SigningBlock>, PolicySyntaxError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let mut blocks = Vec::new();
    while let Some((line, text)) = lines.next() {
        let Some(rest) = text.strip_prefix("access_id_CA") else {
            continue;
        };
        let issuer = rest
            .trim()
            .strip_prefix("X509")
            .map(|dn| unquote(&unquote(dn.trim(), '\''), '"'))
            .filter(|dn| !dn.is_empty())
            .ok_or_else(|| PolicySyntaxError {
                line,
                message: "expected access_id_CA X509 '<CA name>'".into(),
            })?;
        let mut next_line = |what: &str| {
            lines.next().ok_or(PolicySyntaxError {
                line,
                message: format!("expected {what} after access_id_CA"),
            })
        };
        let (rights_line, rights) = next_line("pos_rights globus CA:sign")?;
        if rights.split_whitespace().collect::<Vec<_>>() != ["pos_rights", "globus", "CA:sign"] {
            return Err(PolicySyntaxError {
                line: rights_line,
                message: format!("expected pos_rights globus CA:sign, found '{rights}'"),
            });
        }
        let (subjects_line, subjects) = next_line("cond_subjects globus '\"...\"'")?;
        let list = subjects
            .strip_prefix("cond_subjects")
            .map(str::trim)
            .and_then(|rest| rest.strip_prefix("globus"))
            .ok_or_else(|| PolicySyntaxError {
                line: subjects_line,
                message: format!("expected cond_subjects globus '\"...\"', found '{subjects}'"),
            })?;
        let subjects = quoted_list(unquote(list.trim(), '\''));
        if subjects.is_empty() {
            return Err(PolicySyntaxError {
                line: subjects_line,
                message: "cond_subjects names no subject pattern".into(),
            });
        }
        blocks.push(SigningBlock {
            issuer,
            subjects,
            line: subjects_line,
        });
        if blocks.iter().map(|b| b.subjects.len()).sum::<usize>() > MAX_RULES_PER_FILE {
            return Err(PolicySyntaxError {
                line: subjects_line,
                message: format!("more than {MAX_RULES_PER_FILE} subject patterns"),
            });
        }
    }
    Ok(blocks)
}

/// `text` without one pair of surrounding `quote` characters, if it has them.
fn unquote(text: &str, quote: char) -> String {
    text.strip_prefix(quote)
        .and_then(|t| t.strip_suffix(quote))
        .unwrap_or(text)
        .to_string()
}

/// The double-quoted strings of a list (`"a" "b"`), or its words when it
/// has no quotes.
fn quoted_list(text: String) -> Vec<String> {
    if !text.contains('"') {
        return text.split_whitespace().map(str::to_string).collect();
    }
    text.split('"')
        .enumerate()
        .filter(|(i, part)| i % 2 == 1 && !part.is_empty())
        .map(|(_, part)| part.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = "/C=XX/O=Demo Grid/CN=Demo CA";

    fn namespaces(text: &str) -> Namespaces {
        let mut ns = Namespaces::default();
        ns.add_namespaces(Path::new("abcd1234.namespaces"), text, CA)
            .unwrap();
        ns
    }

    fn error(result: Result<(), PolicySyntaxError>) -> PolicySyntaxError {
        result.unwrap_err()
    }

    #[test]
    fn permit_and_deny() {
        let ns = namespaces(
            "# comment\n\
             TO Issuer \"/C=XX/O=Demo Grid/CN=Demo CA\" \\\n\
             \x20 PERMIT Subject \"/C=XX/O=Demo Grid/.*\"\n\
             to issuer SELF deny subject \"/C=XX/O=Demo Grid/CN=Mallory.*\" # no\n",
        );
        assert!(ns.has_policy(CA));
        assert!(ns.check(CA, "/C=XX/O=Demo Grid/CN=Jane").is_ok());
        assert!(ns.check(CA, "/c=xx/o=demo grid/CN=Jane").is_ok());
        let outside = ns.check(CA, "/C=YY/O=Other/CN=Jane").unwrap_err();
        assert_eq!(outside.denied_by, None);
        assert!(
            outside.to_string().contains("no PERMIT matches"),
            "{outside}"
        );
        let denied = ns.check(CA, "/C=XX/O=Demo Grid/CN=Mallory M").unwrap_err();
        assert_eq!(
            denied.denied_by.as_deref(),
            Some("/C=XX/O=Demo Grid/CN=Mallory.*")
        );
        // Another CA has no policy here: nothing is constrained.
        assert!(!ns.has_policy("/CN=Other CA"));
        assert!(ns.check("/CN=Other CA", "/C=YY/CN=Anyone").is_ok());
    }

    #[test]
    fn patterns_match_the_whole_subject() {
        let ns = namespaces("TO Issuer SELF PERMIT Subject \"/C=XX/O=Demo Grid/CN=Jane\"");
        assert!(ns.check(CA, "/C=XX/O=Demo Grid/CN=Jane").is_ok());
        assert!(ns.check(CA, "/C=XX/O=Demo Grid/CN=Jane/CN=proxy").is_err());
        assert!(ns.check(CA, "/DC=evil/C=XX/O=Demo Grid/CN=Jane").is_err());
        // A pattern that would close the anchoring group is refused.
        let mut ns = Namespaces::default();
        let escape = "TO Issuer SELF PERMIT Subject \"/C=XX/.*)|(?:.*\"";
        let e = error(ns.add_namespaces(Path::new("x.namespaces"), escape, CA));
        assert!(e.message.contains("bad pattern"), "{e}");
    }

    #[test]
    fn only_statements_about_the_files_own_ca_count() {
        let ns = namespaces(
            "TO Issuer \"/CN=Someone Else\" PERMIT Subject \"/.*\"\n\
             TO Issuer SELF PERMIT Subject \"/C=XX/.*\"\n",
        );
        assert!(ns.check(CA, "/C=YY/CN=x").is_err());
        assert!(ns.check("/CN=Someone Else", "/C=YY/CN=x").is_ok());
        // A file that says nothing about its CA is refused, naming it.
        let mut ns = Namespaces::default();
        let typo = "\nTO Issuer \"/C=XX/O=Demo Grid/CN=Demo CA \" PERMIT Subject \"/.*\"";
        let e = error(ns.add_namespaces(Path::new("x.namespaces"), typo, "/CN=Real CA"));
        assert_eq!(e.line, 2);
        assert!(
            e.message
                .contains("no statement about its CA '/CN=Real CA'"),
            "{e}"
        );
    }

    #[test]
    fn issuer_spellings_are_normalized() {
        let issuer = "/C=XX/CN=Mail CA/emailAddress=ca@example.org";
        let mut ns = Namespaces::default();
        let text =
            "TO Issuer \"/C=XX/CN=Mail CA/Email=ca@example.org\" PERMIT Subject \"/C=XX/.*\"";
        ns.add_namespaces(Path::new("m.namespaces"), text, issuer)
            .unwrap();
        assert!(ns.check(issuer, "/C=YY/CN=x").is_err());
        assert!(ns.check(issuer, "/C=XX/CN=x").is_ok());
    }

    #[test]
    fn older_keyword_spellings_in_patterns_apply() {
        let ns = namespaces(
            "TO Issuer SELF PERMIT Subject \"/C=XX/.*\"\n\
             TO Issuer SELF DENY Subject \"/C=XX/CN=Jane/Email=jane@evil.example\"\n\
             TO Issuer SELF DENY Subject \"/C=XX/CN=Joe/USERID=joe\"\n",
        );
        let denied = ns.check(CA, "/C=XX/CN=Jane/emailAddress=jane@evil.example");
        assert!(denied.unwrap_err().denied_by.is_some());
        assert!(ns.check(CA, "/C=XX/CN=Joe/UID=joe").is_err());
        assert!(ns
            .check(CA, "/C=XX/CN=Jane/emailAddress=jane@example.org")
            .is_ok());
    }

    #[test]
    fn the_format_is_chosen_per_directory() {
        // One directory narrows with a signing policy; another's namespaces
        // file, however wide, does not undo that.
        let mut ns = Namespaces::default();
        let narrow = "access_id_CA X509 '/C=XX/O=Demo Grid/CN=Demo CA'\n\
                      pos_rights globus CA:sign\n\
                      cond_subjects globus '\"/C=XX/O=Demo Grid/CN=Jane\"'\n";
        ns.add_signing_policy(Path::new("site/abcd1234.signing_policy"), narrow, CA)
            .unwrap();
        ns.add_namespaces(
            Path::new("igtf/abcd1234.namespaces"),
            "TO Issuer SELF PERMIT Subject \".*\"",
            CA,
        )
        .unwrap();
        assert!(ns.check(CA, "/C=XX/O=Demo Grid/CN=Jane").is_ok());
        assert!(ns.check(CA, "/C=XX/O=Demo Grid/CN=Joe").is_err());
    }

    #[test]
    fn every_file_of_a_ca_must_permit() {
        let mut ns = namespaces("TO Issuer SELF PERMIT Subject \"/C=XX/.*\"");
        ns.add_namespaces(
            Path::new("site/abcd1234.namespaces"),
            "TO Issuer SELF PERMIT Subject \"/C=XX/O=Demo Grid/CN=Jane\"",
            CA,
        )
        .unwrap();
        assert!(ns.check(CA, "/C=XX/O=Demo Grid/CN=Jane").is_ok());
        let narrowed = ns.check(CA, "/C=XX/O=Demo Grid/CN=Joe").unwrap_err();
        assert_eq!(narrowed.source, Path::new("site/abcd1234.namespaces"));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let mut ns = Namespaces::default();
        let path = Path::new("x.namespaces");
        let cases = [
            (
                "TO Issuer \"/CN=A\" ALLOW Subject \"/.*\"",
                1,
                "expected PERMIT or DENY, found 'ALLOW'",
            ),
            (
                "\n\nTO Issuer \"/CN=A\" PERMIT Subject",
                3,
                "expected a quoted subject pattern, found the end of the file",
            ),
            (
                "TO Issuer \"/CN=A",
                1,
                "a quoted string does not end on its line",
            ),
            ("FROM Issuer", 1, "expected TO, found 'FROM'"),
            ("TO Issuer SELF PERMIT Subject \"/CN=(\"", 1, "bad pattern"),
            ("# nothing\n", 1, "no statement about its CA"),
        ];
        for (text, line, message) in cases {
            let e = error(ns.add_namespaces(path, text, "/CN=A"));
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.message.contains(message), "{text}: {e}");
        }
    }

    #[test]
    fn quotes_can_be_escaped_in_quoted_strings() {
        let ns = namespaces("TO Issuer SELF PERMIT Subject \"/C=XX/CN=\\\"quoted\\\"\"");
        assert!(ns.check(CA, "/C=XX/CN=\"quoted\"").is_ok());
    }

    #[test]
    fn too_many_statements_are_refused() {
        let text = "TO Issuer SELF PERMIT Subject \"/.*\"\n".repeat(MAX_RULES_PER_FILE + 1);
        let mut ns = Namespaces::default();
        let e = error(ns.add_namespaces(Path::new("big.namespaces"), &text, CA));
        assert!(e.message.contains("more than"), "{e}");
    }

    #[test]
    fn signing_policy_globs() {
        let mut ns = Namespaces::default();
        let text = "# EACL\n\
                    access_id_CA   X509   '/C=XX/O=Demo Grid/CN=Demo CA'\n\
                    pos_rights     globus CA:sign\n\
                    cond_subjects  globus '\"/C=XX/O=Demo Grid/*\" \"/DC=org/DC=demo/CN=host?\"'\n";
        ns.add_signing_policy(Path::new("abcd1234.signing_policy"), text, CA)
            .unwrap();
        assert!(ns.check(CA, "/C=XX/O=Demo Grid/CN=Jane").is_ok());
        assert!(ns.check(CA, "/DC=org/DC=demo/CN=host1").is_ok());
        assert!(ns.check(CA, "/DC=org/DC=demo/CN=host12").is_err());
        // A dot in a glob is a dot, not "any character".
        assert!(ns.check(CA, "/C=XX/O=Demo GridX/CN=Jane").is_err());
        let e = error(ns.add_signing_policy(
            Path::new("y.signing_policy"),
            "access_id_CA X509 '/CN=A'\npos_rights globus CA:sign\n",
            "/CN=A",
        ));
        assert!(e.message.contains("cond_subjects"), "{e}");
        // The CA's name may be in double quotes too.
        let mut ns = Namespaces::default();
        let text = "access_id_CA X509 \"/CN=A\"\npos_rights globus CA:sign\ncond_subjects globus '\"/C=XX/*\"'\n";
        ns.add_signing_policy(Path::new("z.signing_policy"), text, "/CN=A")
            .unwrap();
        assert!(ns.check("/CN=A", "/C=YY/CN=x").is_err());
    }

    #[test]
    fn namespaces_take_precedence_over_signing_policy() {
        let mut ns = namespaces("TO Issuer SELF PERMIT Subject \"/C=XX/O=Demo Grid/.*\"");
        let policy = "access_id_CA X509 '/C=XX/O=Demo Grid/CN=Demo CA'\n\
                      pos_rights globus CA:sign\n\
                      cond_subjects globus '\"/C=YY/*\"'\n";
        ns.add_signing_policy(Path::new("abcd1234.signing_policy"), policy, CA)
            .unwrap();
        assert!(ns.check(CA, "/C=XX/O=Demo Grid/CN=Jane").is_ok());
        assert!(ns.check(CA, "/C=YY/CN=Jane").is_err());
    }

    /// A counted repetition of a few bytes compiles to a large automaton:
    /// one pattern may take [`MAX_PATTERN_BYTES`], all of them together
    /// [`MAX_PATTERN_MEMORY`] (2,000 statements of `.{1000}`, 80 KB of
    /// text, took 2 GiB and three minutes to load; each is now refused,
    /// and 1,000 of `.{200}` stop at the budget).
    #[test]
    fn compiled_patterns_have_a_memory_budget() {
        let mut ns = Namespaces::default();
        let huge = "TO Issuer SELF PERMIT Subject \"/C=XX/.{10000}\"";
        let e = error(ns.add_namespaces(Path::new("huge.namespaces"), huge, CA));
        assert!(e.message.contains("compiles to more than"), "{e}");
        assert!(e.message.contains(&MAX_PATTERN_BYTES.to_string()), "{e}");

        let text = "TO Issuer SELF PERMIT Subject \"/C=XX/.{200}\"\n".repeat(1000);
        let mut ns = Namespaces::default();
        let e = error(ns.add_namespaces(Path::new("many.namespaces"), &text, CA));
        assert!(e.message.contains(&MAX_PATTERN_MEMORY.to_string()), "{e}");
        assert!(e.line > 1 && e.line < 1000, "{e}");
        // The budget is over everything loaded, not per file.
        let mut ns = Namespaces::default();
        let one = "TO Issuer SELF PERMIT Subject \"/C=XX/.{200}\"\n";
        let refused = (0..1000).find(|n| {
            let path = format!("ca{n}.namespaces");
            ns.add_namespaces(Path::new(&path), one, &format!("/CN=CA {n}"))
                .is_err()
        });
        assert!(refused.is_some_and(|n| n > 1));
        // Ordinary patterns are far inside it.
        let mut ns = Namespaces::default();
        let ordinary =
            "TO Issuer SELF PERMIT Subject \"/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=.*\"\n";
        for n in 0..2000 {
            let path = format!("ca{n}.namespaces");
            ns.add_namespaces(Path::new(&path), ordinary, &format!("/CN=CA {n}"))
                .unwrap();
        }
    }

    #[test]
    fn glob_punctuation_is_literal() {
        let glob = r"/C=XX/CN=a.b (c) [d] {2} \ ^$|+-#*";
        let text = format!(
            "access_id_CA X509 '/CN=A'\npos_rights globus CA:sign\ncond_subjects globus '\"{glob}\"'\n"
        );
        let mut ns = Namespaces::default();
        ns.add_signing_policy(Path::new("p.signing_policy"), &text, "/CN=A")
            .unwrap();
        let subject = r"/C=XX/CN=a.b (c) [d] {2} \ ^$|+-#";
        assert!(ns.check("/CN=A", &format!("{subject}anything")).is_ok());
        assert!(ns.check("/CN=A", &subject.replace("a.b", "aXb")).is_err());
        assert!(ns.check("/CN=A", &subject.to_ascii_lowercase()).is_ok());
    }
}
