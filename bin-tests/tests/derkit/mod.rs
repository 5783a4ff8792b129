//! Certificates rewritten at the DER level and signed again, for names that
//! `openssl req` and `openssl ca` cannot make (an empty RDN, which
//! x509-parser silently stops at while OpenSSL and webpki read on).
//!
//! A certificate made by openssl is split into its TBSCertificate fields,
//! a field is replaced, and the new TBSCertificate is signed by the real
//! `openssl dgst -sha256 -sign` with the issuer's key (the certificates of
//! the tests are sha256WithRSAEncryption). Nothing here is a stored blob:
//! every byte comes from openssl or from these few encoders.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// One DER element: its tag byte, its content, and the whole encoding.
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// The first DER element of `der` (single-byte tags), and what follows.
pub fn read(der: &[u8]) -> (Tlv<'_>, &[u8]) {
    let tag = der[0];
    let (len, header) = match der[1] {
        short if short < 0x80 => (usize::from(short), 2),
        long => {
            let count = usize::from(long & 0x7f);
            let len = der[2..2 + count]
                .iter()
                .fold(0usize, |n, b| (n << 8) | usize::from(*b));
            (len, 2 + count)
        }
    };
    let end = header + len;
    (
        Tlv {
            tag,
            content: &der[header..end],
            raw: &der[..end],
        },
        &der[end..],
    )
}

/// The elements inside a constructed element's content.
pub fn children(mut content: &[u8]) -> Vec<Tlv<'_>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read(content);
        out.push(tlv);
        content = rest;
    }
    out
}

/// Encode `tag` with `content` (any length).
pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if content.len() < 0x80 {
        out.push(content.len() as u8);
    } else {
        let bytes = content.len().to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// The OIDs (content bytes) of commonName and organizationName.
pub const CN: &[u8] = &[0x55, 0x04, 0x03];
pub const O: &[u8] = &[0x55, 0x04, 0x0a];

/// A Name of single-valued RDNs with UTF8String values, in DER order;
/// `None` is an empty RDN (an empty SET).
pub fn name(rdns: &[Option<(&[u8], &str)>]) -> Vec<u8> {
    let mut sets = Vec::new();
    for rdn in rdns {
        match rdn {
            None => sets.extend(encode(0x31, &[])),
            Some((oid, value)) => {
                let ava = [encode(0x06, oid), encode(0x0c, value.as_bytes())].concat();
                sets.extend(encode(0x31, &encode(0x30, &ava)));
            }
        }
    }
    encode(0x30, &sets)
}

/// The fields of a v3 TBSCertificate, by position.
pub const ISSUER: usize = 3;
pub const SUBJECT: usize = 5;

/// PEM to DER, and back, with the real openssl.
pub fn pem_to_der(pem: &[u8]) -> Vec<u8> {
    openssl_with_input(&["x509", "-outform", "DER"], pem)
}

pub fn der_to_pem(der: &[u8]) -> Vec<u8> {
    openssl_with_input(&["x509", "-inform", "DER"], der)
}

/// The certificate `cert_pem` with TBSCertificate field `field` replaced
/// by `value` (a whole DER element), signed again with `issuer_key_pem`;
/// the new certificate in PEM.
pub fn rewrite(cert_pem: &[u8], field: usize, value: &[u8], issuer_key_pem: &[u8]) -> Vec<u8> {
    let der = pem_to_der(cert_pem);
    let (certificate, _) = read(&der);
    let parts = children(certificate.content);
    let (tbs, algorithm) = (&parts[0], &parts[1]);
    let mut fields: Vec<Vec<u8>> = children(tbs.content)
        .iter()
        .map(|f| f.raw.to_vec())
        .collect();
    assert_eq!(fields[0][0], 0xa0, "a v3 certificate");
    fields[field] = value.to_vec();
    let new_tbs = encode(0x30, &fields.concat());
    let signature = sign_sha256(&new_tbs, issuer_key_pem);
    let bits = [&[0u8][..], &signature].concat();
    let new_cert = encode(
        0x30,
        &[new_tbs, algorithm.raw.to_vec(), encode(0x03, &bits)].concat(),
    );
    der_to_pem(&new_cert)
}

/// RSA PKCS#1 v1.5 with SHA-256 over `data`, by `openssl dgst -sign`.
fn sign_sha256(data: &[u8], key_pem: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key.pem"), key_pem).unwrap();
    std::fs::write(dir.path().join("tbs.der"), data).unwrap();
    run(
        dir.path(),
        &[
            "dgst", "-sha256", "-sign", "key.pem", "-out", "sig.bin", "tbs.der",
        ],
    );
    std::fs::read(dir.path().join("sig.bin")).unwrap()
}

fn run(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is required by these tests");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn openssl_with_input(args: &[&str], input: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in"), input).unwrap();
    let mut all = args.to_vec();
    all.extend(["-in", "in", "-out", "out"]);
    run(dir.path(), &all);
    std::fs::read(dir.path().join("out")).unwrap()
}
