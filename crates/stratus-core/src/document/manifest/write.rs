//! Writing a [`Manifest`] as RDF/XML with xmlwriter, in the legacy element
//! order (the order of the legacy manifest template), with 4-space
//! indentation. Extension elements are written with their content exactly as
//! read, whitespace included.

use super::model::{Element, Manifest, Node, TermValues};
use crate::document::xml::limits::MAX_DECLARATIONS_PER_ELEMENT;
use crate::document::xml::{DCTERMS_NS, MARKETPLACE_BASE, RDF_NS, SLREQ_NS, SLTERMS_NS};
use std::collections::BTreeMap;
use xmlwriter::{Indent, Options, XmlWriter};

/// The namespaces declared on the root, with their fixed prefixes.
const ROOT_NAMESPACES: [(&str, &str); 4] = [
    ("rdf", RDF_NS),
    ("dcterms", DCTERMS_NS),
    ("slterms", SLTERMS_NS),
    ("slreq", SLREQ_NS),
];

/// The document as text: XML declaration (`standalone="no"`, as the legacy
/// tools wrote it), then `rdf:RDF`, ending with a newline.
pub fn to_string(manifest: &Manifest) -> String {
    let options = Options {
        indent: Indent::Spaces(4),
        ..Options::default()
    };
    let mut w = XmlWriter::new(options);
    w.write_declaration();
    w.start_element("rdf:RDF");
    for (prefix, uri) in ROOT_NAMESPACES {
        w.write_attribute(&format!("xmlns:{prefix}"), uri);
    }
    let (scope, declarations) = root_scope(&manifest.extensions);
    for (name, uri) in &declarations {
        write_attribute_text(&mut w, name, uri);
    }
    w.write_attribute("xml:base", MARKETPLACE_BASE);
    w.start_element("rdf:Description");
    write_attribute_text(&mut w, "rdf:about", &format!("#{}", manifest.identifier));
    write_body(&mut w, manifest, &scope);
    w.end_element();
    w.end_element();
    w.end_document()
}

fn write_body(w: &mut XmlWriter, manifest: &Manifest, scope: &Scope) {
    if let Some(rdf_type) = &manifest.rdf_type {
        simple(w, "rdf:type", rdf_type);
    }
    simple(w, "dcterms:identifier", &manifest.identifier);
    simple(w, "slreq:bytes", &manifest.bytes.to_string());
    for checksum in &manifest.checksums {
        resource_start(w, "slreq:checksum");
        simple(w, "slreq:algorithm", &checksum.algorithm);
        simple(w, "slreq:value", &checksum.value);
        w.end_element();
    }
    resource_start(w, "slreq:endorsement");
    if let Some(endorsement) = &manifest.endorsement {
        if let Some(created) = &endorsement.created {
            simple(w, "dcterms:created", created);
        }
        if let Some(endorser) = &endorsement.endorser {
            resource_start(w, "slreq:endorser");
            if let Some(email) = &endorser.email {
                simple(w, "slreq:email", email);
            }
            if let Some(subject) = &endorser.subject {
                simple(w, "slreq:subject", subject);
            }
            for issuer in &endorser.issuers {
                simple(w, "slreq:issuer", issuer);
            }
            w.end_element();
        }
    }
    w.end_element();
    for (ns, local, values) in manifest.terms.in_writing_order() {
        let name = format!("{}:{local}", root_prefix(ns));
        match values {
            TermValues::One(Some(value)) => simple(w, &name, value),
            TermValues::One(None) => {}
            TermValues::Many(list) => list.iter().for_each(|value| simple(w, &name, value)),
        }
    }
    for extension in &manifest.extensions {
        write_extension(w, extension, scope);
    }
}

fn root_prefix(uri: &str) -> &'static str {
    ROOT_NAMESPACES
        .iter()
        .find(|(_, ns)| *ns == uri)
        .map_or("", |(prefix, _)| prefix)
}

/// `<name>text</name>` on one line.
fn simple(w: &mut XmlWriter, name: &str, text: &str) {
    w.start_element(name);
    w.set_preserve_whitespaces(true);
    w.write_text(&escape_text(text));
    w.end_element();
    w.set_preserve_whitespaces(false);
}

fn resource_start(w: &mut XmlWriter, name: &str) {
    w.start_element(name);
    w.write_attribute("rdf:parseType", "Resource");
}

/// Escape what xmlwriter leaves alone in text (it escapes only `<`): `&`,
/// `>` (for `]]>`) and carriage returns, which a parser would normalise.
fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('>', "&gt;")
        .replace('\r', "&#13;")
}

/// Write an attribute, escaping what xmlwriter leaves alone in attribute
/// values (it escapes only quotes); whitespace characters become character
/// references so that attribute-value normalisation keeps them.
fn write_attribute_text(w: &mut XmlWriter, name: &str, value: &str) {
    let escaped = value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;");
    w.write_attribute_raw(name, |buf| buf.extend_from_slice(escaped.as_bytes()));
}

/// Prefixes in scope while writing an extension subtree.
struct Scope {
    /// prefix -> namespace URI, for prefixes declared so far.
    prefixes: BTreeMap<String, String>,
    /// The default namespace in scope ("" for none).
    default_ns: String,
}

/// The scope at the root, and the declarations that make it: the fixed
/// namespaces, then the extensions' namespaces, declared once on the root
/// for as many as one start tag may declare (a document read with every
/// declaration on its own element would otherwise be written with one on
/// every element, past the parser's limits), the others where used.
fn root_scope(extensions: &[Element]) -> (Scope, Vec<(String, String)>) {
    let mut scope = Scope {
        prefixes: ROOT_NAMESPACES
            .iter()
            .map(|(p, u)| (p.to_string(), u.to_string()))
            .collect(),
        default_ns: String::new(),
    };
    let mut declarations = Vec::new();
    let room = MAX_DECLARATIONS_PER_ELEMENT - ROOT_NAMESPACES.len();
    let mut pending: Vec<&Element> = extensions.iter().rev().collect();
    while let Some(element) = pending.pop() {
        if declarations.len() == room {
            break;
        }
        let names = std::iter::once((&element.namespace, &element.prefix))
            .chain(element.attributes.iter().map(|a| (&a.namespace, &a.prefix)));
        for (namespace, prefix) in names {
            // The default namespace and unqualified names stay where used.
            if prefix.is_some() && !namespace.is_empty() && declarations.len() < room {
                qualify(
                    namespace,
                    prefix.as_deref(),
                    false,
                    &mut scope,
                    &mut declarations,
                );
            }
        }
        let children = element.children.iter().rev();
        pending.extend(children.filter_map(|child| match child {
            Node::Element(inner) => Some(inner),
            Node::Text(_) => None,
        }));
    }
    (scope, declarations)
}

fn write_extension(w: &mut XmlWriter, element: &Element, root: &Scope) {
    let mut scope = Scope {
        prefixes: root.prefixes.clone(),
        default_ns: root.default_ns.clone(),
    };
    write_element(w, element, &mut scope, true);
}

/// Write an element with its content verbatim. Only the outermost start tag
/// is indented; inside, whitespace is exactly what was read.
fn write_element(w: &mut XmlWriter, element: &Element, scope: &mut Scope, outermost: bool) {
    let saved_default = scope.default_ns.clone();
    let saved_prefixes = scope.prefixes.clone();
    let mut declarations: Vec<(String, String)> = Vec::new();
    let element_name = qualify(
        &element.namespace,
        element.prefix.as_deref(),
        true,
        scope,
        &mut declarations,
    );
    let attributes: Vec<(String, &str)> = element
        .attributes
        .iter()
        .map(|a| {
            let name = qualify(
                &a.namespace,
                a.prefix.as_deref(),
                false,
                scope,
                &mut declarations,
            );
            (format!("{name}{}", a.name), a.value.as_str())
        })
        .collect();
    w.start_element(&format!("{element_name}{}", element.name));
    w.set_preserve_whitespaces(true);
    for (name, uri) in &declarations {
        write_attribute_text(w, name, uri);
    }
    for (name, value) in attributes {
        write_attribute_text(w, &name, value);
    }
    for child in &element.children {
        match child {
            Node::Element(inner) => write_element(w, inner, scope, false),
            Node::Text(text) => w.write_text(&escape_text(text)),
        }
    }
    w.end_element();
    if outermost {
        w.set_preserve_whitespaces(false);
    }
    scope.default_ns = saved_default;
    scope.prefixes = saved_prefixes;
}

/// The `prefix:` to write a name in `namespace` with (empty for the default
/// namespace), declaring it on the current element when needed.
fn qualify(
    namespace: &str,
    preferred: Option<&str>,
    is_element: bool,
    scope: &mut Scope,
    declarations: &mut Vec<(String, String)>,
) -> String {
    if namespace == crate::document::xml::XML_NS {
        return "xml:".to_string();
    }
    if is_element && preferred.is_none() {
        if scope.default_ns != namespace {
            declarations.push(("xmlns".to_string(), namespace.to_string()));
            scope.default_ns = namespace.to_string();
        }
        return String::new();
    }
    if namespace.is_empty() {
        // An unqualified attribute; an element in no namespace while a
        // default namespace is in scope is handled above.
        return String::new();
    }
    if let Some((prefix, _)) = scope.prefixes.iter().find(|(_, uri)| *uri == namespace) {
        return format!("{prefix}:");
    }
    let mut prefix = preferred.unwrap_or("ns").to_string();
    let mut counter = 1;
    while scope.prefixes.contains_key(&prefix) {
        prefix = format!("{}{counter}", preferred.unwrap_or("ns"));
        counter += 1;
    }
    declarations.push((format!("xmlns:{prefix}"), namespace.to_string()));
    scope.prefixes.insert(prefix.clone(), namespace.to_string());
    format!("{prefix}:")
}
