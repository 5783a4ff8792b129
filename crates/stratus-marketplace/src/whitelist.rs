//! The endorser whitelist (marketplace.md §6.3): an upload whose signer
//! chains to the whitelist's trust store, is valid now, is not revoked and
//! is listed is committed at once instead of waiting for e-mail
//! confirmation. It never refuses an upload.
//!
//! The chain work is stratus-core's trust code (the one the commands'
//! `--ca`/`--trust-dir`/`--crl` use): path building, validity at the
//! server's "now", CRLs, key strength. This module only loads the legacy
//! settings into it and compares the signer's subject with the list.
//!
//! - `whitelist.location`: one DN per line (RFC 2253, as Java printed it:
//!   `CN=Jim Tester,OU=Testing Department,O=StratusLab Project,C=EU`);
//!   empty lines and lines starting with `#` are skipped. Names are
//!   compared attribute by attribute, types without case, values without
//!   case and surrounding spaces, as `X500Principal` did.
//! - `whitelist.truststore`: a directory of OpenSSL-hashed CA files (with
//!   `<hash>.rN` CRLs and IGTF namespace files, as `--trust-dir`), a PEM
//!   (or DER) bundle, or a PKCS#12 store (`.p12`, `.pfx`, with
//!   `whitelist.password`). A Java KeyStore (JKS) is refused with a message
//!   saying how to convert it: no maintained Rust crate reads JKS.
//! - `whitelist.crl`: a CRL file, a directory of CRL files, or `dir/*.ext`.

use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;
use stratus_core::clock;
use stratus_core::document::xml;
use stratus_core::signature::trust::{Check, Policy, TrustStore};
use stratus_core::signature::xmldsig::verify;

use crate::config::WhitelistSettings;

/// The most bytes of a whitelist file read.
const MAX_LIST_BYTES: u64 = 4 * 1024 * 1024;

/// A whitelist that could not be loaded (a start-up error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhitelistError(pub String);

impl std::fmt::Display for WhitelistError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WhitelistError {}

/// The verdict on one upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Chains, valid, not revoked, listed: commit at once.
    Whitelisted,
    /// Anything else, with the reason (for the log): confirm by e-mail.
    NotWhitelisted(String),
}

/// The loaded whitelist.
#[derive(Debug)]
pub struct Whitelist {
    names: Vec<Vec<(String, String)>>,
    trust: TrustStore,
}

impl Whitelist {
    /// Load the list, the trust store and the CRLs.
    pub fn load(settings: &WhitelistSettings) -> Result<Whitelist, WhitelistError> {
        let names = read_names(&settings.location)?;
        let mut trust = TrustStore::default();
        load_truststore(
            &mut trust,
            &settings.truststore,
            settings.password.as_deref(),
        )?;
        if let Some(crl) = &settings.crl {
            for file in crl_files(crl)? {
                trust
                    .add_crl_file(&file)
                    .map_err(|e| WhitelistError(format!("whitelist.crl: {e}")))?;
            }
        }
        Ok(Whitelist { names, trust })
    }

    /// The number of names listed.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no name is listed.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The verdict on a checked `document` at "now".
    pub fn check(&self, document: &[u8]) -> Verdict {
        match self.reason_against(document) {
            None => Verdict::Whitelisted,
            Some(reason) => Verdict::NotWhitelisted(reason),
        }
    }

    fn reason_against(&self, document: &[u8]) -> Option<String> {
        let text = match xml::decode_text(document, "document") {
            Ok(text) => text,
            Err(e) => return Some(e.to_string()),
        };
        let doc = match xml::parse(&text, "document") {
            Ok(doc) => doc,
            Err(e) => return Some(e.to_string()),
        };
        let verified = match verify::verify_signature(&doc) {
            Ok(verified) => verified,
            Err(e) => return Some(e.to_string()),
        };
        let check = Check {
            at: clock::now(),
            policy: Policy::default(),
            claimed_email: None,
        };
        if let Err(e) = self
            .trust
            .verify_signer(&verified.signer, &verified.intermediates, &check)
        {
            return Some(e.to_string());
        }
        let subject = match subject_of(&verified.signer) {
            Some(subject) => subject,
            None => return Some("the signer's subject cannot be read".into()),
        };
        let parsed = parse_dn(&subject);
        if self.names.iter().any(|name| same_name(name, &parsed)) {
            None
        } else {
            Some(format!("{subject} is not in the whitelist"))
        }
    }
}

fn subject_of(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).ok()?;
    Some(stratus_core::signature::dn::rfc2253(parsed.subject()))
}

fn read_limited(path: &Path, what: &str) -> Result<Vec<u8>, WhitelistError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| WhitelistError(format!("{what}: {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_LIST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| WhitelistError(format!("{what}: {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_LIST_BYTES {
        return Err(WhitelistError(format!(
            "{what}: {}: larger than {MAX_LIST_BYTES} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

fn read_names(path: &Path) -> Result<Vec<Vec<(String, String)>>, WhitelistError> {
    let bytes = read_limited(path, "whitelist.location")?;
    let text = String::from_utf8(bytes).map_err(|_| {
        WhitelistError(format!(
            "whitelist.location: {}: not UTF-8 text",
            path.display()
        ))
    })?;
    let mut names = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = parse_dn(line);
        if name.is_empty() || name.iter().any(|(t, _)| t.is_empty()) {
            return Err(WhitelistError(format!(
                "whitelist.location: {}:{}: '{line}' is not a distinguished name such as CN=Jane,O=Example,C=EU",
                path.display(),
                number + 1
            )));
        }
        names.push(name);
    }
    Ok(names)
}

fn load_truststore(
    trust: &mut TrustStore,
    path: &Path,
    password: Option<&str>,
) -> Result<(), WhitelistError> {
    let error = |e: stratus_core::signature::trust::TrustError| {
        WhitelistError(format!("whitelist.truststore: {e}"))
    };
    if path.is_dir() {
        return trust.add_trust_dir(path).map_err(error);
    }
    let bytes = read_limited(path, "whitelist.truststore")?;
    if bytes.starts_with(&[0xFE, 0xED, 0xFE, 0xED]) || has_extension(path, &["jks"]) {
        return Err(WhitelistError(format!(
            "whitelist.truststore: {}: a Java KeyStore (JKS) cannot be read; convert it with \
             'keytool -importkeystore -srckeystore {} -destkeystore truststore.p12 -deststoretype PKCS12' \
             or export its certificates as PEM",
            path.display(),
            path.display()
        )));
    }
    if has_extension(path, &["p12", "pfx"]) {
        let password = password.ok_or_else(|| {
            WhitelistError(format!(
                "whitelist.truststore: {}: a PKCS#12 store needs whitelist.password",
                path.display()
            ))
        })?;
        let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&bytes, password).map_err(|e| {
            WhitelistError(format!(
                "whitelist.truststore: {}: not a readable PKCS#12 store (wrong password?): {e:?}",
                path.display()
            ))
        })?;
        let certs: Vec<CertificateDer<'static>> = archive
            .certs
            .iter()
            .map(|c| CertificateDer::from(c.cert.as_der().to_vec()))
            .collect();
        if certs.is_empty() {
            return Err(WhitelistError(format!(
                "whitelist.truststore: {}: no certificate in the store",
                path.display()
            )));
        }
        return trust.add_ca_certificates(certs, path).map_err(error);
    }
    trust.add_ca_file(path).map_err(error)
}

fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// The CRL files `whitelist.crl` names: a file, every file of a
/// directory, or the files of `dir/*.ext`.
fn crl_files(path: &Path) -> Result<Vec<PathBuf>, WhitelistError> {
    let list = |dir: &Path, extension: Option<&str>| -> Result<Vec<PathBuf>, WhitelistError> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| WhitelistError(format!("whitelist.crl: {}: {e}", dir.display())))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| extension.is_none_or(|x| has_extension(p, &[x])))
            .collect();
        files.sort();
        Ok(files)
    };
    let text = path.to_string_lossy();
    if let Some((dir, extension)) = text.rsplit_once("/*.") {
        return list(Path::new(dir), Some(extension));
    }
    if path.is_dir() {
        return list(path, None);
    }
    Ok(vec![path.to_path_buf()])
}

/// A DN in RFC 2253 form as (type, value) pairs, types upper-cased,
/// values trimmed and lower-cased, escapes kept as written.
fn parse_dn(text: &str) -> Vec<(String, String)> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in text.chars() {
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' => {
                current.push(c);
                escaped = true;
            }
            ',' | ';' => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .iter()
        .map(|part| match part.split_once('=') {
            Some((t, v)) => (t.trim().to_ascii_uppercase(), v.trim().to_lowercase()),
            None => (String::new(), part.trim().to_lowercase()),
        })
        .collect()
}

fn same_name(a: &[(String, String)], b: &[(String, String)]) -> bool {
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_x500_names() {
        let listed = parse_dn("CN=Jim Tester, OU=Testing Department,o=StratusLab Project,C=EU");
        let signer = parse_dn("CN=Jim Tester,OU=Testing Department,O=StratusLab Project,C=EU");
        assert!(same_name(&listed, &signer));
        assert!(!same_name(&parse_dn("CN=Jim Tester,C=EU"), &signer));
        assert!(!same_name(
            &parse_dn("CN=Jim Tester\\,OU=x"),
            &parse_dn("CN=Jim Tester,OU=x")
        ));
    }
}
