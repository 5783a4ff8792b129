//! What `stratus-list-images`, `stratus-show-image` and
//! `stratus-search-image` share (client.md §14): the entries of a listing
//! on the configured Marketplace, and the three ways to print them: the
//! legacy text blocks, `--json` (one object per line) for scripts, and
//! `--table` for people.
//!
//! Listings are informational: their entries are read, not verified (the
//! policy and download commands verify). Every value from the Marketplace
//! is printed with control characters escaped, so that no entry can forge
//! output lines or drive the terminal.

use crate::common::{CliError, Verbosity};
use crate::site_args::{clean, site_error};
use clap::Args;
use std::io::Write;
use stratus_core::document::manifest::{read, Manifest};
use stratus_core::site::marketplace::Marketplace;

/// How to print the entries.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct FormatArgs {
    /// Print one JSON object per entry (one per line) instead of the text blocks
    #[arg(long, conflicts_with = "table")]
    pub json: bool,
    /// Print an aligned table, one entry per row
    #[arg(long)]
    pub table: bool,
}

/// An entry of a listing: its document, and the entry URL.
pub struct Entry {
    /// The document.
    pub manifest: Manifest,
    /// `<endpoint>/metadata/<id>/<email>/<created>`.
    pub url: String,
}

/// The entries of `GET <endpoint>/metadata[/<segments>]?<query>`; entries
/// that cannot be read are skipped with a warning.
pub fn fetch(
    marketplace: &Marketplace,
    segments: &[&str],
    query: &[(&str, &str)],
    verbosity: &Verbosity,
) -> Result<Vec<Entry>, CliError> {
    let documents = marketplace.listing(segments, query).map_err(site_error)?;
    let mut entries = Vec::with_capacity(documents.len());
    for document in documents {
        match read::from_str(&document.text, &document.origin) {
            Ok(manifest) => {
                let url = marketplace.endpoint.entry_url(
                    &manifest.identifier,
                    manifest.endorser_email().unwrap_or(""),
                    endorsed_at(&manifest).unwrap_or(""),
                );
                entries.push(Entry { manifest, url });
            }
            Err(error) => verbosity.warn(format!("an entry of the listing is skipped: {error}")),
        }
    }
    Ok(entries)
}

fn endorsed_at(manifest: &Manifest) -> Option<&str> {
    manifest
        .endorsement
        .as_ref()
        .and_then(|e| e.created.as_deref())
}

/// A value as the legacy tools printed it: `None` when empty.
fn shown(value: Option<&str>) -> String {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => clean(v),
        _ => "None".into(),
    }
}

/// A time as the legacy tools printed it: `['<date>', '<time>']`.
fn shown_time(value: Option<&str>) -> String {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => "None".into(),
        Some(v) => {
            let v = v.trim_end_matches('Z');
            match v.split_once('T') {
                Some((date, time)) => format!("['{}', '{}']", clean(date), clean(time)),
                None => format!("['{}']", clean(v)),
            }
        }
    }
}

fn os_line(m: &Manifest) -> String {
    format!(
        "OS: {} {} | Arch: {}",
        shown(m.terms.os.as_deref()),
        shown(m.terms.os_version.as_deref()),
        shown(m.terms.os_arch.as_deref())
    )
}

/// The legacy block of show-image and search-image.
pub fn block(out: &mut dyn Write, m: &Manifest) -> std::io::Result<()> {
    let t = &m.terms;
    writeln!(out, "Description: {}", shown(t.description.as_deref()))?;
    writeln!(out, "ID: {}", shown(Some(&m.identifier)))?;
    writeln!(out, "Creator: {}", shown(t.creator.as_deref()))?;
    writeln!(out, "Created at: {}", shown_time(t.created.as_deref()))?;
    writeln!(out, "Validity: {}", shown_time(t.valid.as_deref()))?;
    writeln!(out, "{}", os_line(m))?;
    writeln!(out, "Version: {}", shown(t.version.as_deref()))?;
    writeln!(out, "Compression: {}", shown(t.compression.as_deref()))?;
    writeln!(
        out,
        "Location: {}",
        shown(t.locations.first().map(String::as_str))
    )?;
    writeln!(out, "Format: {}", shown(t.format.as_deref()))?;
    writeln!(out, "Publisher: {}", shown(t.publisher.as_deref()))?;
    writeln!(out, "Hypervisor: {}", shown(t.hypervisor.as_deref()))?;
    writeln!(out, "Endorser: {}", shown(m.endorser_email()))?;
    for checksum in &m.checksums {
        writeln!(
            out,
            "{} {}",
            clean(&checksum.algorithm),
            clean(&checksum.value)
        )?;
    }
    writeln!(out, "####")?;
    writeln!(out)
}

/// The legacy block of list-images.
pub fn short_block(out: &mut dyn Write, m: &Manifest) -> std::io::Result<()> {
    writeln!(
        out,
        "Description: {}",
        shown(m.terms.description.as_deref())
    )?;
    writeln!(out, "ID: {}", shown(Some(&m.identifier)))?;
    writeln!(out, "{}", os_line(m))?;
    writeln!(out, "Creator: {}", shown(m.terms.creator.as_deref()))?;
    writeln!(
        out,
        "Created at: {}",
        shown_time(m.terms.created.as_deref())
    )?;
    writeln!(out, "####")?;
    writeln!(out)
}

/// One entry as a JSON object.
pub fn json(entry: &Entry) -> serde_json::Value {
    let m = &entry.manifest;
    let t = &m.terms;
    let checksums: serde_json::Map<String, serde_json::Value> = m
        .checksums
        .iter()
        .map(|c| {
            (
                c.algorithm.clone(),
                serde_json::Value::String(c.value.clone()),
            )
        })
        .collect();
    serde_json::json!({
        "identifier": m.identifier,
        "url": entry.url,
        "endorser": m.endorser_email(),
        "endorsed": endorsed_at(m),
        "created": t.created,
        "valid": t.valid,
        "deprecated": t.deprecated,
        "title": t.title,
        "description": t.description,
        "creator": t.creator,
        "os": t.os,
        "os_version": t.os_version,
        "os_arch": t.os_arch,
        "version": t.version,
        "kind": t.kind,
        "format": t.format,
        "compression": t.compression,
        "bytes": m.bytes,
        "locations": t.locations,
        "publisher": t.publisher,
        "hypervisor": t.hypervisor,
        "tag": t.alternative,
        "checksums": checksums,
    })
}

/// The entries as an aligned table.
pub fn table(out: &mut impl Write, entries: &[Entry]) -> std::io::Result<()> {
    let header = [
        "IDENTIFIER",
        "OS",
        "VERSION",
        "ARCH",
        "ENDORSER",
        "ENDORSED",
        "TITLE",
    ];
    let text = |v: Option<&str>| clean(v.unwrap_or("").trim());
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            let m = &e.manifest;
            [
                clean(&m.identifier),
                text(m.terms.os.as_deref()),
                text(m.terms.os_version.as_deref()),
                text(m.terms.os_arch.as_deref()),
                text(m.endorser_email()),
                text(endorsed_at(m)),
                text(m.terms.title.as_deref()),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        line.trim_end().to_string()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// Print `entries` in the chosen format; `legacy` prints one entry's
/// legacy block.
pub fn print(
    entries: &[Entry],
    format: FormatArgs,
    legacy: &mut dyn FnMut(&mut dyn Write, &Entry) -> std::io::Result<()>,
) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = if format.json {
        entries
            .iter()
            .try_for_each(|entry| writeln!(out, "{}", json(entry)))
    } else if format.table {
        table(&mut out, entries)
    } else {
        entries.iter().try_for_each(|entry| legacy(&mut out, entry))
    };
    match result.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Core(stratus_core::Error::io(
            "standard output",
            e,
        ))),
    }
}
