//! Reading a metadata document into a [`Manifest`].
//!
//! The reader is lenient about what the validation rules check (order,
//! cardinality of optional terms): it takes the document apart, keeps what it
//! does not model as extension elements, and refuses only documents it
//! cannot represent (no description, no identifier, a size that is not a
//! number). Validate first (see [`super::rules`]) when the legacy rules matter.

use super::model::{Attribute, Checksum, Element, Endorsement, Endorser, Manifest, Node, TermSlot};
use crate::document::xml::{self, is_element, string_value, DCTERMS_NS, RDF_NS, SLREQ_NS};
use crate::error::{Error, Invalid, Result, Stage};
use roxmltree::Node as XmlNode;

/// Parse `text` (named `source_name` in errors) into a manifest.
pub fn from_str(text: &str, source_name: &str) -> Result<Manifest> {
    let doc = xml::parse(text, source_name)?;
    from_document(&doc, text).map_err(|reason| Error::Invalid {
        source_name: source_name.to_string(),
        reason,
    })
}

/// Build a manifest from a parsed document (`text` is its source, used to
/// recover the prefixes extension elements were written with).
pub fn from_document(doc: &roxmltree::Document, text: &str) -> Result<Manifest, Invalid> {
    let root = doc.root_element();
    if !is_element(root, RDF_NS, "RDF") {
        return Err(refusal(format!(
            "the root element is <{}>, expected rdf:RDF",
            root.tag_name().name()
        )));
    }
    let mut descriptions = root
        .children()
        .filter(|n| is_element(*n, RDF_NS, "Description"));
    let description = descriptions
        .next()
        .ok_or_else(|| refusal("rdf:RDF has no rdf:Description element"))?;
    if descriptions.next().is_some() {
        return Err(refusal("rdf:RDF has more than one rdf:Description element"));
    }
    let mut manifest = Manifest::default();
    let mut seen_identifier = false;
    let mut seen_bytes = false;
    for child in description.children().filter(|n| n.is_element()) {
        let name = child.tag_name();
        match (name.namespace().unwrap_or(""), name.name()) {
            (DCTERMS_NS, "identifier") if !seen_identifier => {
                manifest.identifier = simple_text(child)?;
                seen_identifier = true;
            }
            (SLREQ_NS, "bytes") if !seen_bytes => {
                manifest.bytes = parse_bytes(child)?;
                seen_bytes = true;
            }
            (RDF_NS, "type") if manifest.rdf_type.is_none() => {
                manifest.rdf_type = Some(simple_text(child)?);
            }
            (SLREQ_NS, "checksum") => manifest.checksums.push(read_checksum(child)?),
            (SLREQ_NS, "endorsement") if manifest.endorsement.is_none() => {
                manifest.endorsement = read_endorsement(child)?;
            }
            (ns, local) => {
                if !store_term(&mut manifest, child, ns, local) {
                    manifest.extensions.push(keep_element(child, text, 1)?);
                }
            }
        }
    }
    if !seen_identifier {
        return Err(refusal("rdf:Description has no dcterms:identifier element"));
    }
    if !seen_bytes {
        return Err(refusal("rdf:Description has no slreq:bytes element"));
    }
    Ok(manifest)
}

fn refusal(message: impl Into<String>) -> Invalid {
    Invalid::new(Stage::Schema, message)
}

/// The text of an element that must hold text only.
fn simple_text(node: XmlNode) -> Result<String, Invalid> {
    if node.children().any(|c| c.is_element()) {
        return Err(refusal(format!(
            "{} must hold text only, not child elements",
            qualified_name(node)
        )));
    }
    Ok(string_value(node))
}

fn qualified_name(node: XmlNode) -> String {
    let tag = node.tag_name();
    match tag.namespace().and_then(|ns| node.lookup_prefix(ns)) {
        Some(prefix) if !prefix.is_empty() => format!("{prefix}:{}", tag.name()),
        _ => tag.name().to_string(),
    }
}

fn parse_bytes(node: XmlNode) -> Result<u64, Invalid> {
    let text = simple_text(node)?;
    text.trim().parse::<u64>().map_err(|_| {
        refusal(format!(
            "slreq:bytes value ({text}) is not a non-negative integer below 2^64"
        ))
    })
}

/// The first child element `{ns}local` of `node`.
fn child<'a, 'i>(node: XmlNode<'a, 'i>, ns: &str, local: &str) -> Option<XmlNode<'a, 'i>> {
    node.children().find(|c| is_element(*c, ns, local))
}

fn required_text(node: XmlNode, ns: &str, local: &str, prefix: &str) -> Result<String, Invalid> {
    let found = child(node, ns, local).ok_or_else(|| {
        refusal(format!(
            "{} has no {prefix}:{local} element",
            qualified_name(node)
        ))
    })?;
    simple_text(found)
}

fn read_checksum(node: XmlNode) -> Result<Checksum, Invalid> {
    Ok(Checksum {
        algorithm: required_text(node, SLREQ_NS, "algorithm", "slreq")?,
        value: required_text(node, SLREQ_NS, "value", "slreq")?,
    })
}

/// An endorsement, or `None` for the empty element of an unsigned draft.
fn read_endorsement(node: XmlNode) -> Result<Option<Endorsement>, Invalid> {
    if !node.children().any(|c| c.is_element()) {
        return Ok(None);
    }
    let endorser = match child(node, SLREQ_NS, "endorser") {
        Some(endorser) => Some(Endorser {
            email: optional_text(endorser, SLREQ_NS, "email")?,
            subject: optional_text(endorser, SLREQ_NS, "subject")?,
            issuers: endorser
                .children()
                .filter(|c| is_element(*c, SLREQ_NS, "issuer"))
                .map(simple_text)
                .collect::<Result<Vec<_>, _>>()?,
        }),
        None => None,
    };
    let created = optional_text(node, DCTERMS_NS, "created")?;
    if created.is_none() && endorser.is_none() {
        // Only elements the model does not hold: as empty as a draft's, and
        // written back as one.
        return Ok(None);
    }
    Ok(Some(Endorsement { created, endorser }))
}

fn optional_text(node: XmlNode, ns: &str, local: &str) -> Result<Option<String>, Invalid> {
    child(node, ns, local).map(simple_text).transpose()
}

/// Store a known optional term; `false` when the element is not one, or has
/// a shape the typed field cannot hold (attributes, child elements, a second
/// copy of a single-valued term), so that it is kept verbatim instead.
fn store_term(manifest: &mut Manifest, node: XmlNode, ns: &str, local: &str) -> bool {
    let plain = node.attributes().len() == 0 && !node.children().any(|c| c.is_element());
    if !plain {
        return false;
    }
    match manifest.terms.slot(ns, local) {
        Some(TermSlot::One(slot)) if slot.is_none() => {
            *slot = Some(string_value(node));
            true
        }
        Some(TermSlot::Many(values)) => {
            values.push(string_value(node));
            true
        }
        _ => false,
    }
}

/// How deeply extension elements may nest in the model. The model, its
/// writer and its drop are recursive; real extensions nest a few levels.
/// (Validation walks any depth without recursion.)
pub const MAX_EXTENSION_DEPTH: usize = 64;

/// Copy an element and its subtree, remembering the prefixes it used.
fn keep_element(node: XmlNode, text: &str, depth: usize) -> Result<Element, Invalid> {
    if depth > MAX_EXTENSION_DEPTH {
        return Err(refusal(format!(
            "extension element {} nests deeper than {MAX_EXTENSION_DEPTH} levels",
            qualified_name(node)
        )));
    }
    let tag = node.tag_name();
    let namespace = tag.namespace().unwrap_or("").to_string();
    let attributes = node
        .attributes()
        .map(|a| {
            let namespace = a.namespace().unwrap_or("").to_string();
            let prefix = a
                .namespace()
                .and_then(|ns| node.lookup_prefix(ns))
                .filter(|p| !p.is_empty())
                .map(str::to_string);
            Attribute {
                namespace,
                prefix,
                name: a.name().to_string(),
                value: a.value().to_string(),
            }
        })
        .collect();
    let mut children = Vec::new();
    for c in node.children() {
        if c.is_element() {
            children.push(Node::Element(keep_element(c, text, depth + 1)?));
        } else if let Some(t) = c.text().filter(|_| c.is_text()) {
            children.push(Node::Text(t.to_string()));
        }
    }
    Ok(Element {
        prefix: written_prefix(node, text),
        namespace,
        name: tag.name().to_string(),
        attributes,
        children,
    })
}

/// The prefix of an element's start tag in the source (`None` when it has
/// none, i.e. it is in the default namespace or in no namespace).
fn written_prefix(node: XmlNode, text: &str) -> Option<String> {
    let start = node.range().start + 1;
    let qname_end = text[start..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map_or(text.len(), |i| start + i);
    text[start..qname_end]
        .split_once(':')
        .map(|(prefix, _)| prefix.to_string())
}
