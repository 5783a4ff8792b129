//! Verifying the enveloped signature of a document, hardened against
//! signature wrapping, and checking the endorsement against the certificate.

use super::profile::{DigestMethod, SignatureMethod, DSIG_NS, ENVELOPED, EXC_C14N_NS};
use super::SignatureError;
use crate::document::xml::c14n;
use crate::document::xml::{is_element, string_value, SLREQ_NS};
use base64::Engine;
use roxmltree::{Document, Node};
use rustls_pki_types::CertificateDer;

/// A signature that verified: who signed, and how.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The signer's certificate (the first `X509Certificate`).
    pub signer: CertificateDer<'static>,
    /// The other certificates of `X509Data`, in document order: the chain.
    pub intermediates: Vec<CertificateDer<'static>>,
    /// The signature method.
    pub method: SignatureMethod,
    /// The digest method.
    pub digest: DigestMethod,
}

/// The parts of a `Signature` element that verification uses.
struct Parsed<'a, 'input> {
    signature: Node<'a, 'input>,
    signed_info: Node<'a, 'input>,
    signed_info_c14n: c14n::Algorithm,
    method: SignatureMethod,
    reference_c14n: c14n::Algorithm,
    digest: DigestMethod,
    digest_value: Vec<u8>,
    signature_value: Vec<u8>,
    certificates: Vec<CertificateDer<'static>>,
}

/// Verify the document's signature: structure, digest, signature value.
/// The certificate is not trust-checked here (see [`crate::signature::trust`]).
pub fn verify_signature(doc: &Document) -> Result<Verified, SignatureError> {
    let parsed = parse(doc)?;
    let canonical_document =
        c14n::canonicalize_document(doc, &parsed.reference_c14n, Some(parsed.signature.id()));
    if parsed.digest.digest(&canonical_document) != parsed.digest_value {
        return Err(SignatureError::DigestMismatch);
    }
    let canonical_signed_info =
        c14n::canonicalize_subtree(parsed.signed_info, &parsed.signed_info_c14n);
    let signer = parsed.certificates[0].clone();
    let public_key = rsa_public_key(&signer, parsed.signature_value.len())?;
    ring::signature::UnparsedPublicKey::new(parsed.method.verifier(), &public_key)
        .verify(&canonical_signed_info, &parsed.signature_value)
        .map_err(|_| SignatureError::BadSignatureValue)?;
    Ok(Verified {
        signer,
        intermediates: parsed.certificates[1..].to_vec(),
        method: parsed.method,
        digest: parsed.digest,
    })
}

/// What the endorsement says about the signer, once checked against the
/// certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endorser {
    /// The endorsement's e-mail (`slreq:email`), when it has one.
    pub email: Option<String>,
    /// Whether the signer's certificate carries that e-mail; `false` when
    /// it carries none, and the e-mail is only the document's claim.
    pub email_in_certificate: bool,
}

/// Check that the endorsement agrees with the signer's certificate, in the
/// order subject, issuer, e-mail, with the legacy messages. The document
/// values are those of the description's endorsement
/// (`rdf:Description/slreq:endorsement/slreq:endorser`), the ones the
/// Marketplace and the reader use.
///
/// A certificate whose subject or issuer the parser cannot read whole is
/// refused first: the endorsement would be compared with the part it read.
/// The e-mail follows the signer's rule: when the certificate carries any
/// e-mail ([`crate::signature::dn::certificate_emails`]: an rfc822Name, or an
/// emailAddress in the subject), the endorsement's must be one of them,
/// compared as mailboxes ([`crate::signature::email::same_mailbox`]: the domain
/// ignoring case). The legacy validator compared only the first rfc822Name.
pub fn check_endorser(
    doc: &Document,
    signer: &CertificateDer<'_>,
) -> Result<Endorser, SignatureError> {
    let (_, cert) = x509_parser::parse_x509_certificate(signer)
        .map_err(|e| SignatureError::BadCertificate(e.to_string()))?;
    for (part, name) in [("subject", cert.subject()), ("issuer", cert.issuer())] {
        if !crate::signature::dn::fully_parsed(name) {
            return Err(SignatureError::UnreadableName(part));
        }
    }
    let endorser = endorser_element(doc);
    let document_value = |local: &str| {
        endorser
            .and_then(|e| e.children().find(|n| is_element(*n, SLREQ_NS, local)))
            .map(string_value)
    };
    let names = [
        ("subject", crate::signature::dn::rfc2253(cert.subject())),
        ("issuer", crate::signature::dn::rfc2253(cert.issuer())),
    ];
    for (key, certificate) in names {
        let document = document_value(key);
        if document.as_deref() != Some(certificate.as_str()) {
            return Err(SignatureError::EndorserInconsistent {
                key,
                certificate,
                document: document.unwrap_or_else(|| "null".to_string()),
            });
        }
    }
    let emails =
        crate::signature::dn::certificate_emails(&cert).map_err(SignatureError::BadCertificate)?;
    let email = document_value("email");
    if emails.is_empty() {
        return Ok(Endorser {
            email,
            email_in_certificate: false,
        });
    }
    let bound = email.as_deref().is_some_and(|claimed| {
        emails
            .iter()
            .any(|carried| crate::signature::email::same_mailbox(carried, claimed))
    });
    if !bound {
        return Err(SignatureError::EndorserInconsistent {
            key: "email",
            certificate: emails.join(", "),
            document: email.unwrap_or_else(|| "null".to_string()),
        });
    }
    Ok(Endorser {
        email,
        email_in_certificate: true,
    })
}

/// `slreq:endorser` of the description's endorsement.
fn endorser_element<'a, 'input>(doc: &'a Document<'input>) -> Option<Node<'a, 'input>> {
    let child = |node: Node<'a, 'input>, ns: &str, local: &str| {
        node.children().find(|n| is_element(*n, ns, local))
    };
    let description = child(
        doc.root_element(),
        crate::document::xml::RDF_NS,
        "Description",
    )?;
    let endorsement = child(description, SLREQ_NS, "endorsement")?;
    child(endorsement, SLREQ_NS, "endorser")
}

/// The `subjectPublicKey` of an RSA certificate, as ring takes it, once
/// the key is known to be able to hold a signature of `signature_len`
/// bytes: a key too small for that, or for any check, is refused with a
/// message saying so rather than "does not verify".
fn rsa_public_key(
    cert: &CertificateDer<'_>,
    signature_len: usize,
) -> Result<Vec<u8>, SignatureError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert)
        .map_err(|e| SignatureError::BadCertificate(e.to_string()))?;
    let spki = parsed.public_key();
    if spki.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION {
        return Err(SignatureError::BadCertificate(format!(
            "the signer's key is not RSA (algorithm {})",
            spki.algorithm.algorithm
        )));
    }
    let key = crate::signature::keys::RsaKey::of(&parsed)
        .map_err(SignatureError::BadCertificate)?
        .ok_or_else(|| SignatureError::BadCertificate("unreadable RSA key".into()))?;
    if key.bits < crate::signature::keys::MIN_VERIFIABLE_BITS {
        return Err(SignatureError::KeyTooSmall { bits: key.bits });
    }
    if signature_len != key.signature_len() {
        return Err(SignatureError::KeyMismatch {
            bits: key.bits,
            signature_len,
        });
    }
    Ok(spki.subject_public_key.data.to_vec())
}

fn refuse(detail: impl Into<String>) -> SignatureError {
    SignatureError::Structure(detail.into())
}

fn parse<'a, 'input>(doc: &'a Document<'input>) -> Result<Parsed<'a, 'input>, SignatureError> {
    let mut signatures = doc
        .descendants()
        .filter(|n| is_element(*n, DSIG_NS, "Signature"));
    let signature = signatures.next().ok_or(SignatureError::Missing)?;
    if signatures.next().is_some() {
        return Err(refuse("the document has more than one Signature element"));
    }
    let root = doc.root_element();
    let last_child = root.children().rfind(Node::is_element);
    if signature.parent() != Some(root) || last_child != Some(signature) {
        return Err(refuse(
            "the Signature must be the last element child of the document element",
        ));
    }
    only_attributes(signature, &["Id"])?;
    let [signed_info, signature_value, key_info] =
        expect_children(signature, ["SignedInfo", "SignatureValue", "KeyInfo"])?;
    only_attributes(signed_info, &["Id"])?;
    let children = element_children(signed_info)?;
    let [c14n_method, signature_method] =
        match children.as_slice() {
            [c, s, reference]
                if is_dsig(*c, "CanonicalizationMethod")
                    && is_dsig(*s, "SignatureMethod")
                    && is_dsig(*reference, "Reference") =>
            {
                [*c, *s]
            }
            [_, _, _, extra, ..] if is_dsig(*extra, "Reference") => {
                return Err(refuse("SignedInfo has more than one Reference"))
            }
            _ => return Err(refuse(
                "SignedInfo must hold CanonicalizationMethod, SignatureMethod and one Reference",
            )),
        };
    let reference = children[2];
    let signed_info_c14n = c14n_algorithm(c14n_method)?;
    let method_uri = algorithm_attribute(signature_method)?;
    if !element_children(signature_method)?.is_empty() {
        return Err(refuse("SignatureMethod must be empty"));
    }
    let method = SignatureMethod::from_uri(method_uri)
        .ok_or_else(|| SignatureError::UnsupportedAlgorithm(method_uri.to_string()))?;
    let (reference_c14n, digest, digest_value) = parse_reference(reference)?;
    Ok(Parsed {
        signature,
        signed_info,
        signed_info_c14n,
        method,
        reference_c14n,
        digest,
        digest_value,
        signature_value: decode_base64(signature_value, "SignatureValue")?,
        certificates: parse_key_info(key_info)?,
    })
}

/// `Reference URI=""` with the enveloped transform (optionally followed by
/// one canonicalization), a digest method and value.
fn parse_reference(
    reference: Node,
) -> Result<(c14n::Algorithm, DigestMethod, Vec<u8>), SignatureError> {
    only_attributes(reference, &["URI", "Id"])?;
    match reference.attribute("URI") {
        Some("") => {}
        Some(other) => {
            return Err(refuse(format!(
                "the Reference must cover the whole document (URI=\"\"), not URI=\"{other}\""
            )))
        }
        None => return Err(refuse("the Reference has no URI attribute")),
    }
    let [transforms, digest_method, digest_value] =
        expect_children(reference, ["Transforms", "DigestMethod", "DigestValue"])?;
    let transform_list = element_children(transforms)?;
    if transform_list.is_empty() || transform_list.len() > 2 {
        return Err(refuse(
            "Transforms must hold the enveloped-signature transform, optionally followed by one canonicalization",
        ));
    }
    for transform in &transform_list {
        if !is_dsig(*transform, "Transform") {
            return Err(refuse(format!(
                "unexpected element {} in Transforms",
                transform.tag_name().name()
            )));
        }
    }
    let first = algorithm_attribute(transform_list[0])?;
    if first != ENVELOPED || !element_children(transform_list[0])?.is_empty() {
        return Err(refuse(format!(
            "the first transform must be the enveloped-signature transform, not {first}"
        )));
    }
    // A same-document reference (URI="") never includes comments, whatever
    // the canonicalization says (XML-DSig §4.3.3.3).
    let reference_c14n = match transform_list.get(1) {
        Some(transform) => c14n_algorithm(*transform)?.without_comments(),
        None => c14n::Algorithm::Inclusive {
            with_comments: false,
        },
    };
    let digest_uri = algorithm_attribute(digest_method)?;
    let digest = DigestMethod::from_uri(digest_uri)
        .ok_or_else(|| SignatureError::UnsupportedAlgorithm(digest_uri.to_string()))?;
    Ok((
        reference_c14n,
        digest,
        decode_base64(digest_value, "DigestValue")?,
    ))
}

/// The certificates of `KeyInfo/X509Data`, signer first. `KeyInfo` is not
/// covered by the signature, so it may hold nothing but one `X509Data` of
/// `X509Certificate` elements (and white space), as xmlsec1 requires:
/// anything else there could be read by some consumer as part of the
/// document while no signature vouches for it.
fn parse_key_info(key_info: Node) -> Result<Vec<CertificateDer<'static>>, SignatureError> {
    only_attributes(key_info, &["Id"])?;
    let data = match element_children(key_info)?.as_slice() {
        [data] if is_dsig(*data, "X509Data") => *data,
        [] => return Err(refuse("KeyInfo holds no X509Data")),
        [data] | [data, ..] if !is_dsig(*data, "X509Data") => {
            return Err(refuse(format!(
                "KeyInfo may hold only one X509Data, not {}",
                data.tag_name().name()
            )))
        }
        _ => return Err(refuse("KeyInfo may hold only one X509Data")),
    };
    only_attributes(data, &[])?;
    let mut certificates = Vec::new();
    for child in element_children(data)? {
        if !is_dsig(child, "X509Certificate") {
            return Err(refuse(format!(
                "X509Data may hold only X509Certificate elements, not {}",
                child.tag_name().name()
            )));
        }
        only_attributes(child, &[])?;
        let der = decode_base64(child, "X509Certificate")?;
        certificates.push(CertificateDer::from(der));
    }
    if certificates.is_empty() {
        return Err(refuse("X509Data holds no X509Certificate"));
    }
    Ok(certificates)
}

fn is_dsig(node: Node, local: &str) -> bool {
    is_element(node, DSIG_NS, local)
}

/// The element children of `node`; text other than white space is refused.
fn element_children<'a, 'input>(
    node: Node<'a, 'input>,
) -> Result<Vec<Node<'a, 'input>>, SignatureError> {
    let mut elements = Vec::new();
    for child in node.children() {
        if child.is_element() {
            elements.push(child);
        } else if child.is_text() && !is_xml_white_space(child.text().unwrap_or("")) {
            return Err(refuse(format!(
                "unexpected text in {}",
                node.tag_name().name()
            )));
        }
    }
    Ok(elements)
}

/// Whether `text` is XML white space only (space, tab, CR, LF: not the
/// other Unicode spaces, which are text).
fn is_xml_white_space(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Exactly the named XML-DSig children, in order.
fn expect_children<'a, 'input, const N: usize>(
    node: Node<'a, 'input>,
    names: [&str; N],
) -> Result<[Node<'a, 'input>; N], SignatureError> {
    let children = element_children(node)?;
    let matches = children.len() == N
        && children
            .iter()
            .zip(names)
            .all(|(child, name)| is_dsig(*child, name));
    if !matches {
        let found: Vec<&str> = children.iter().map(|c| c.tag_name().name()).collect();
        return Err(refuse(format!(
            "{} must hold exactly {} (found: {})",
            node.tag_name().name(),
            names.join(", "),
            if found.is_empty() {
                "nothing".to_string()
            } else {
                found.join(", ")
            }
        )));
    }
    Ok(std::array::from_fn(|i| children[i]))
}

fn only_attributes(node: Node, allowed: &[&str]) -> Result<(), SignatureError> {
    match node
        .attributes()
        .find(|a| a.namespace().is_some() || !allowed.contains(&a.name()))
    {
        Some(attribute) => Err(refuse(format!(
            "unexpected attribute {} on {}",
            attribute.name(),
            node.tag_name().name()
        ))),
        None => Ok(()),
    }
}

fn algorithm_attribute<'a>(node: Node<'a, '_>) -> Result<&'a str, SignatureError> {
    node.attribute("Algorithm").ok_or_else(|| {
        refuse(format!(
            "{} has no Algorithm attribute",
            node.tag_name().name()
        ))
    })
}

/// The canonicalization named by a `CanonicalizationMethod` or `Transform`,
/// with the exclusive algorithm's `InclusiveNamespaces PrefixList`.
fn c14n_algorithm(node: Node) -> Result<c14n::Algorithm, SignatureError> {
    let uri = algorithm_attribute(node)?;
    let mut prefixes: Vec<String> = Vec::new();
    for child in element_children(node)? {
        if is_element(child, EXC_C14N_NS, "InclusiveNamespaces") {
            let list = child.attribute("PrefixList").unwrap_or("");
            prefixes.extend(list.split_ascii_whitespace().map(str::to_string));
        } else {
            return Err(refuse(format!(
                "unexpected element {} in {}",
                child.tag_name().name(),
                node.tag_name().name()
            )));
        }
    }
    c14n::Algorithm::from_uri(uri, &prefixes.join(" "))
        .ok_or_else(|| SignatureError::UnsupportedAlgorithm(uri.to_string()))
}

fn decode_base64(node: Node, what: &str) -> Result<Vec<u8>, SignatureError> {
    if node.children().any(|c| c.is_element()) {
        return Err(refuse(format!("{what} must hold base64 text only")));
    }
    let text: String = string_value(node)
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| refuse(format!("{what} is not valid base64: {e}")))
}
