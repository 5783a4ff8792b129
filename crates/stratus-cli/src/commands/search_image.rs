//! `stratus-search-image`: entries of the configured Marketplace that
//! match any of the criteria (client.md §14; OR semantics, exact values,
//! the description also by regular expression). With one criterion the
//! server filters (by endorser, OS or architecture); the exact match is
//! always checked here. Text output is the legacy one: `####`, one
//! `<CRITERION> FOUND` line per match, `<n> critera match your search for
//! this image` (sic), `####`, and the image block.

use crate::common::{CliError, Verbosity};
use crate::listing::{self, Entry, FormatArgs};
use crate::site_args::{ConfigArgs, NetArgs, SITE_EXIT_CODES_HELP};
use clap::Parser;
use stratus_core::document::manifest::Manifest;

/// Search a specific image in a Marketplace.
///
/// An entry matches when any of the given criteria does: the creator, endorser e-mail, OS,
/// architecture or description equal to the value given, or the description matching the
/// regular expression.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-search-image",
    version,
    infer_long_args = true,
    after_help = SITE_EXIT_CODES_HELP
)]
pub struct SearchImage {
    /// The image creator (dcterms:creator)
    #[arg(long, value_name = "NAME")]
    pub creator: Option<String>,
    /// The endorser's e-mail
    #[arg(short = 'e', long, value_name = "EMAIL")]
    pub email: Option<String>,
    /// The operating system (slterms:os)
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// The description (dcterms:description)
    #[arg(short = 'd', long, value_name = "TEXT")]
    pub description: Option<String>,
    /// A regular expression the description matches (replaces --description)
    #[arg(
        long = "description_regexp",
        alias = "description-regexp",
        value_name = "REGEX"
    )]
    pub description_regexp: Option<String>,
    /// The architecture (slterms:os-arch)
    #[arg(short = 'a', long, value_name = "ARCH")]
    pub arch: Option<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub format: FormatArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub net: NetArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub verbosity: Verbosity,
}

/// A compiled description pattern, limited in size and linear in time.
fn pattern(text: &str) -> Result<regex::Regex, CliError> {
    regex::RegexBuilder::new(text)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| CliError::Usage(format!("--description_regexp: {e}")))
}

/// The criteria each entry is matched against.
struct Criteria<'a> {
    args: &'a SearchImage,
    regex: Option<regex::Regex>,
}

impl Criteria<'_> {
    /// The `FOUND` lines of `m`, in the legacy order.
    fn found(&self, m: &Manifest) -> Vec<&'static str> {
        let is = |given: &Option<String>, value: Option<&str>| {
            given.as_deref().is_some_and(|g| value == Some(g))
        };
        let a = self.args;
        let t = &m.terms;
        let mut found = Vec::new();
        if is(&a.creator, t.creator.as_deref()) {
            found.push("CREATOR FOUND");
        }
        if is(&a.os, t.os.as_deref()) {
            found.push("OS FOUND");
        }
        if is(&a.arch, t.os_arch.as_deref()) {
            found.push("ARCH FOUND");
        }
        match &self.regex {
            Some(regex) => {
                if regex.is_match(t.description.as_deref().unwrap_or("")) {
                    found.push("DESCRIPTION[REGEXP] FOUND");
                }
            }
            None => {
                if is(&a.description, t.description.as_deref()) {
                    found.push("DESCRIPTION FOUND");
                }
            }
        }
        if is(&a.email, m.endorser_email()) {
            found.push("EMAIL FOUND");
        }
        found
    }
}

/// An anchored, escaped regular expression for the server's column filter.
fn exactly(value: &str) -> String {
    format!("^{}$", regex::escape(value))
}

/// Run `stratus-search-image`.
pub fn run(args: SearchImage) -> Result<i32, CliError> {
    let given = [
        &args.creator,
        &args.email,
        &args.os,
        &args.description,
        &args.description_regexp,
        &args.arch,
    ];
    let count = given.iter().filter(|g| g.is_some()).count();
    if count == 0 {
        return Err(CliError::Usage("Specify search criteria".into()));
    }
    let regex = args
        .description_regexp
        .as_deref()
        .map(pattern)
        .transpose()?;
    let config = args.config.load()?;
    let marketplace = args.net.marketplace(&config)?;
    let os_filter;
    let arch_filter;
    let (segments, query): (Vec<&str>, Vec<(&str, &str)>) =
        match (&args.email, &args.os, &args.arch) {
            (Some(email), _, _) if count == 1 => (vec![email.as_str()], vec![]),
            (_, Some(os), _) if count == 1 => {
                os_filter = exactly(os);
                (vec![], vec![("sSearch_1", os_filter.as_str())])
            }
            (_, _, Some(arch)) if count == 1 => {
                arch_filter = exactly(arch);
                (vec![], vec![("sSearch_3", arch_filter.as_str())])
            }
            _ => (vec![], vec![]),
        };
    let entries = listing::fetch(&marketplace, &segments, &query, &args.verbosity)?;
    let criteria = Criteria { args: &args, regex };
    let matched: Vec<(Entry, Vec<&'static str>)> = entries
        .into_iter()
        .filter_map(|e| {
            let found = criteria.found(&e.manifest);
            (!found.is_empty()).then_some((e, found))
        })
        .collect();
    let found_of: Vec<Vec<&'static str>> = matched.iter().map(|(_, f)| f.clone()).collect();
    let entries: Vec<Entry> = matched.into_iter().map(|(e, _)| e).collect();
    let mut index = 0;
    listing::print(&entries, args.format, &mut |out, entry| {
        let found = &found_of[index];
        index += 1;
        writeln!(out, "####")?;
        for line in found {
            writeln!(out, "{line}")?;
        }
        writeln!(
            out,
            "{} critera match your search for this image",
            found.len()
        )?;
        writeln!(out, "####")?;
        listing::block(out, &entry.manifest)
    })?;
    Ok(0)
}
