//! `stratus-policy-image`: apply the site policy to the entries of an
//! image (client.md §10), and print the entry URL of the one chosen (the
//! legacy output line), or exit 5 with the reasons on stderr.
//!
//! The input is a Marketplace identifier, `id/email[/created]`, a metadata
//! URL, or a metadata file (`-`: standard input) for offline sites. Every
//! candidate is verified and every rule applied to it (see
//! `stratus_core::site::policy`): `--explain` prints each candidate with
//! each rule's outcome, `--json` the same as one JSON object.

use crate::common::{write_output, CliError, Verbosity};
use crate::site_args::{
    candidate_name, clean, print_refusals, site_error, NetArgs, PolicyArgs, SysadminConfigArgs,
    SITE_EXIT_CODES_HELP,
};
use clap::Parser;
use stratus_core::site::endpoint::Endpoint;
use stratus_core::site::marketplace::Marketplace;
use stratus_core::site::{resolve, Resolution, Site, Source};

/// Evaluate the machine image policy for the given Marketplace identifier.
///
/// The image may also be given as identifier/email/created, as the URL of a metadata entry or
/// listing, or as a metadata file (`-`: standard input). On success the entry URL of the chosen
/// entry is printed.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-policy-image",
    version,
    infer_long_args = true,
    after_help = SITE_EXIT_CODES_HELP
)]
pub struct PolicyImage {
    /// The image: identifier, identifier/email[/created], URL or metadata file (a second
    /// argument is accepted and ignored, as by the legacy command)
    #[arg(value_name = "IMAGE", num_args = 0..=2)]
    pub image: Vec<String>,
    /// Print the decision for each candidate and each rule
    #[arg(long, conflicts_with = "json")]
    pub explain: bool,
    /// Print the decision as one JSON object
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub net: NetArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: SysadminConfigArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub verbosity: Verbosity,
}

/// Run `stratus-policy-image`.
pub fn run(args: PolicyImage) -> Result<i32, CliError> {
    let image = args
        .image
        .first()
        .cloned()
        .ok_or_else(|| CliError::Usage("Too few arguments".into()))?;
    let source = Source::parse(&image).map_err(site_error)?;
    let site = site(&args.policy, &args.net, &args.config, &args.verbosity, true)?;
    let resolution = resolve::resolve(&site, &source)?;
    let endpoint = &site.marketplace.endpoint;
    // Written in one piece, a reader that goes away (`| head`) ignored.
    let mut out = String::new();
    if args.json {
        out = format!("{}\n", json(&resolution, endpoint));
    } else if args.explain {
        out = explain(&resolution, endpoint);
    }
    let accepted = resolution.accepted();
    if let (Ok(chosen), false) = (&accepted, args.json) {
        let url = chosen
            .entry_url(endpoint)
            .unwrap_or_else(|| chosen.origin.clone());
        out.push_str(&clean(&url));
        out.push('\n');
    }
    write_output(None, out.as_bytes())?;
    match accepted {
        Ok(_) => Ok(0),
        Err(refusal) => {
            if !args.explain && !args.json {
                print_refusals(&resolution);
            }
            Err(site_error(refusal))
        }
    }
}

/// The site of a policy or download command.
pub fn site(
    policy: &PolicyArgs,
    net: &NetArgs,
    config: &SysadminConfigArgs,
    verbosity: &Verbosity,
    policy_required: bool,
) -> Result<Site, CliError> {
    let (policy, trust, allow) = policy.load(policy_required, verbosity)?;
    let config = config.load()?;
    let marketplace: Marketplace = net.marketplace(&config)?;
    Ok(Site {
        marketplace,
        policy,
        trust,
        allow,
    })
}

/// Each candidate, each rule.
fn explain(resolution: &Resolution, endpoint: &Endpoint) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} candidate(s)",
        clean(&resolution.subject),
        resolution.candidates.len()
    );
    let chosen = resolution.chosen().map(|c| c as *const _);
    for (i, candidate) in resolution.candidates.iter().enumerate() {
        let _ = writeln!(out);
        let _ = writeln!(out, "candidate {}: {}", i + 1, candidate_name(candidate));
        if let Some(url) = candidate.entry_url(endpoint) {
            let _ = writeln!(out, "  entry: {}", clean(&url));
        }
        let _ = writeln!(out, "  from: {}", clean(&candidate.origin));
        for check in &candidate.checks {
            let mark = match (check.applied, check.passed) {
                (false, _) => "-",
                (true, true) => "ok",
                (true, false) => "REFUSED",
            };
            let _ = writeln!(
                out,
                "  {:<20} {:<8} {}",
                check.rule,
                mark,
                clean(&check.message)
            );
        }
        let verdict = if chosen == Some(candidate as *const _) {
            "accepted (chosen)".to_string()
        } else if candidate.accepted() {
            "accepted".to_string()
        } else {
            format!("refused (exit code {})", candidate.code)
        };
        let _ = writeln!(out, "  decision: {verdict}");
    }
    let _ = writeln!(out);
    out
}

/// The decision as JSON.
fn json(resolution: &Resolution, endpoint: &Endpoint) -> serde_json::Value {
    let candidates: Vec<serde_json::Value> = resolution
        .candidates
        .iter()
        .map(|c| {
            let key = c.key();
            serde_json::json!({
                "origin": c.origin,
                "entry": c.entry_url(endpoint),
                "identifier": key.map(|k| k.0),
                "email": key.map(|k| k.1),
                "created": key.map(|k| k.2),
                "accepted": c.accepted(),
                "exit_code": c.code,
                "email_verified": c.report.as_ref().map(|r| r.email_verified),
                "rules": c.checks.iter().map(|check| serde_json::json!({
                    "rule": check.rule,
                    "applied": check.applied,
                    "passed": check.passed,
                    "message": check.message,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let chosen = resolution.chosen();
    serde_json::json!({
        "subject": resolution.subject,
        "accepted": chosen.is_some(),
        "entry": chosen.and_then(|c| c.entry_url(endpoint)),
        "exit_code": if chosen.is_some() { 0 } else { resolution.refusal_code() },
        "candidates": candidates,
    })
}
