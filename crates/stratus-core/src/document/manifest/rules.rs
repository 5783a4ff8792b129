//! The legacy validation rules: schema, constraints and RDF/XML.
//!
//! The legacy validator ran three checks on an unsigned document, each
//! stopping at its first fault (metadata.md §3.0):
//!
//! 1. [`check_schema`]: the XML Schema of the metadata format, hand-coded
//!    here as the handful of rules it actually enforces (§3.2). Messages start
//!    with `XML schema validation exception: ` and follow the Xerces wording
//!    where that is cheap; they are meant for people, not for matching.
//! 2. [`check_constraints`]: the sixteen constraint checks of
//!    `ValidateMetadataConstraints` (§3.3), in the legacy order and with the
//!    legacy messages byte for byte, bugs included (the `slterms:checksum`
//!    wording, the endorsement-date message that prints the `dcterms:valid`
//!    value, `Unparseable date: "…"`).
//! 3. [`check_rdf`]: every XML-DSig `Signature` element is cut out and the
//!    rest must parse as RDF/XML (§3.4), with `oxrdfxml`, which takes the same
//!    accept/reject decisions as the legacy Sesame parser.
//!
//! [`check_unsigned`] runs the three in that order. The signature check, which
//! the full legacy pipeline runs first, lives elsewhere.
//!
//! Everything works on namespace URIs, never on prefixes. The checks walk the
//! parsed tree without recursion (a hostile document may be nested very
//! deeply) and without building regular expressions: every pattern is a small
//! hand-written matcher, and values are borrowed from the tree whenever they
//! are a single text node. The schema and constraint checks together cost a
//! small fraction of parsing the document; the RDF check is a second parse
//! of the text (by `oxrdfxml`) and costs about as much as the first.

use std::borrow::Cow;
use std::ops::Range;

use roxmltree::{Attribute, Document, Node};

use crate::document::identifier;
use crate::document::xml::{
    is_element, DCTERMS_NS, MARKETPLACE_BASE, RDF_NS, SLREQ_NS, SLTERMS_NS, XMLDSIG_NS, XML_NS,
};
use crate::error::{Invalid, Stage};

/// The Dublin Core element set (`dc:`) namespace.
const DC_NS: &str = "http://purl.org/dc/elements/1.1/";
/// The XML Schema instance (`xsi:`) namespace.
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The base IRI the legacy RDF check parsed with (the document's `xml:base`
/// overrides it).
const RDF_BASE_IRI: &str = "http://example.org/metadata";
/// The prefix of every schema message.
const SCHEMA_PREFIX: &str = "XML schema validation exception: ";

/// Schema rules (metadata.md §3.2).
///
/// The document element must be `rdf:RDF` with exactly the attribute
/// `xml:base`, holding one `rdf:Description` and then at most one element of
/// the XML-DSig namespace (not looked into). The description must carry only
/// a well-formed `rdf:about` and start with `rdf:type?`, `dcterms:identifier`,
/// `slreq:bytes`, `slreq:checksum+`, `slreq:endorsement`; what follows is
/// free, but any element the legacy schemas declare (the `slreq` and `slterms`
/// terms, the Dublin Core terms and elements, `rdf:RDF`, `rdf:Description`,
/// `rdf:type`) is checked against its declaration wherever it appears in that
/// free part, also nested inside undeclared elements.
///
/// The error message starts with `XML schema validation exception: ` and
/// names the element, attribute or value at fault, in Xerces' words where
/// that was cheap to mimic.
pub fn check_schema(doc: &Document) -> Result<(), Invalid> {
    schema_with(doc, Endorsements::Complete)
}

/// Whether the schema check requires complete endorsements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endorsements {
    /// The legacy rule: `dcterms:created`, then an endorser with e-mail,
    /// subject and issuer.
    Complete,
    /// A draft before signing: the signer fills the endorsement, so an empty
    /// or partial one is accepted (what it holds is still type-checked).
    Draft,
}

fn schema_with(doc: &Document, endorsements: Endorsements) -> Result<(), Invalid> {
    validate_schema(doc, endorsements).map_err(|message| {
        let mut text = String::with_capacity(SCHEMA_PREFIX.len() + message.len());
        text.push_str(SCHEMA_PREFIX);
        text.push_str(&message);
        Invalid::new(Stage::Schema, text)
    })
}

/// Constraint rules (metadata.md §3.3), in the legacy order with the legacy
/// messages, exactly.
///
/// Values are taken as the legacy XPath queries took them: the first matching
/// node in document order, its string value untrimmed, `""` when there is
/// none. The paths all start with `//rdf:RDF/rdf:Description/`, so they also
/// see a description nested in an `rdf:RDF` anywhere in the document.
pub fn check_constraints(doc: &Document) -> Result<(), Invalid> {
    constraints(doc).map_err(|message| Invalid::new(Stage::Constraint, message))
}

/// RDF/XML rules (metadata.md §3.4): strip every xmldsig `Signature`
/// element, then the rest must parse as RDF/XML.
///
/// `text` must be the text `doc` was parsed from: the signatures are removed
/// by cutting their byte ranges out of it. Comments and processing
/// instructions are cut out as well, and text mixing CDATA sections with
/// other text is rewritten as one escaped run: none of this changes whether
/// the document is RDF/XML, but `oxrdfxml` (unlike the legacy SAX-based
/// parser) refuses a literal split into several pieces. An empty
/// `xml:lang=""`, which RDF/XML allows and `oxrdfxml` refuses, is cut out
/// too. The result is parsed with the base IRI `http://example.org/metadata`
/// (the document's `xml:base` takes precedence) and every triple is read; the
/// first syntax error is reported, followed by `[line L, column C]`: where
/// the parser stopped, in the original text.
pub fn check_rdf(doc: &Document, text: &str) -> Result<(), Invalid> {
    debug_assert_eq!(text.len(), doc.input_text().len(), "text is not doc's text");
    let edits = rdf_edits(doc, text);
    let prepared: Cow<str> = if edits.is_empty() {
        Cow::Borrowed(text)
    } else {
        let mut kept = String::with_capacity(text.len());
        let mut from = 0;
        for edit in &edits {
            kept.push_str(&text[from..edit.range.start]);
            kept.push_str(&edit.replacement);
            from = edit.range.end;
        }
        kept.push_str(&text[from..]);
        Cow::Owned(kept)
    };
    let parser = oxrdfxml::RdfXmlParser::new()
        .with_base_iri(RDF_BASE_IRI)
        .expect("the base IRI is a valid IRI");
    let mut view = GraphView::of(doc);
    let mut triples = parser.for_slice(prepared.as_bytes());
    loop {
        let fault = match triples.next() {
            None => return Ok(()),
            Some(Ok(triple)) => match view.admit(&triple) {
                Ok(()) => continue,
                Err(fault) => Fault::Graph(fault),
            },
            Some(Err(error)) => Fault::Syntax(error.to_string()),
        };
        let stopped = usize::try_from(triples.buffer_position()).unwrap_or(usize::MAX);
        let offset = original_offset(&edits, stopped).min(text.len());
        let position = doc.text_pos_at(offset);
        let message = match fault {
            Fault::Syntax(error) => error,
            Fault::Graph(fault) => format!(
                "{fault}, in the element {} (a document may state about named resources only what its description's own property elements state)",
                element_name_at(doc, offset)
            ),
        };
        return Err(Invalid::new(
            Stage::Rdf,
            format!("{message} [line {}, column {}]", position.row, position.col),
        ));
    }
}

/// Why the RDF/XML stage stopped.
enum Fault {
    /// The text is not RDF/XML: the parser's message.
    Syntax(String),
    /// The graph says more than the description: what.
    Graph(String),
}

/// What the RDF graph of a valid document may say: about the image (the
/// description's subject), one statement per property element of the
/// description, with that element's predicate; about blank nodes,
/// anything; about any other named resource, nothing. An extension element
/// could otherwise add a second identifier, more locations or another
/// checksum to the image in the graph (which the Marketplace indexes and
/// queries) while the XML (which sites read) says otherwise, or make
/// statements about other entries.
struct GraphView {
    /// The IRI of the description's subject, when it has a usable one.
    image: Option<String>,
    /// Per predicate IRI, how many statements about the image remain.
    expected: std::collections::HashMap<String, usize>,
}

impl GraphView {
    fn of(doc: &Document) -> Self {
        let root = doc.root_element();
        let description = root
            .children()
            .find(|n| is_element(*n, RDF_NS, "Description"));
        let base = root.attribute((XML_NS, "base")).unwrap_or(RDF_BASE_IRI);
        let image = description
            .and_then(|d| d.attribute((RDF_NS, "about")))
            .and_then(|about| {
                let base = oxiri::Iri::parse(base.to_string()).ok()?;
                Some(base.resolve(about).ok()?.into_inner())
            });
        let mut expected = std::collections::HashMap::new();
        let properties = description
            .into_iter()
            .flat_map(|d| d.children())
            .filter(|n| n.is_element() && !is_element(*n, XMLDSIG_NS, "Signature"));
        for property in properties {
            let name = property.tag_name();
            let predicate = format!("{}{}", name.namespace().unwrap_or(""), name.name());
            *expected.entry(predicate).or_insert(0) += 1;
        }
        GraphView { image, expected }
    }

    /// Admit one triple of the graph, or say what it adds.
    fn admit(&mut self, triple: &oxrdf::Triple) -> Result<(), String> {
        let oxrdf::NamedOrBlankNode::NamedNode(subject) = &triple.subject else {
            return Ok(());
        };
        if self.image.as_deref() != Some(subject.as_str()) {
            return Err(format!(
                "the RDF graph has a statement about <{}>",
                subject.as_str()
            ));
        }
        match self.expected.get_mut(triple.predicate.as_str()) {
            Some(remaining) if *remaining > 0 => {
                *remaining -= 1;
                Ok(())
            }
            _ => Err(format!(
                "the RDF graph has a statement <{}> about the image that no property element of its description makes",
                triple.predicate.as_str()
            )),
        }
    }
}

/// The qualified name (as written) and start position of the innermost
/// element that holds the byte before `offset` (the parser's position is
/// just past what it read last), for a message.
fn element_name_at(doc: &Document, offset: usize) -> String {
    let offset = offset.saturating_sub(1);
    let mut node = doc.root_element();
    while let Some(child) = node
        .children()
        .find(|c| c.is_element() && c.range().start <= offset && offset < c.range().end)
    {
        node = child;
    }
    let text = doc.input_text();
    let start = node.range().start;
    let name_end = text[start + 1..]
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .map_or(text.len(), |i| start + 1 + i);
    let position = doc.text_pos_at(start);
    format!(
        "{} at {}:{}",
        &text[start + 1..name_end],
        position.row,
        position.col
    )
}

/// Schema, then constraints, then RDF: the legacy unsigned pipeline
/// `ValidateMetadata.validate(doc, false)`. `text` is the text `doc` was
/// parsed from.
pub fn check_unsigned(doc: &Document, text: &str) -> Result<(), Invalid> {
    check_schema(doc)?;
    check_constraints(doc)?;
    check_rdf(doc, text)
}

/// [`check_unsigned`] for a draft before signing: the same rules, except that
/// the endorsement may be empty or partial (as `stratus-build-metadata`
/// writes it), since the signer generates it.
pub fn check_draft(doc: &Document, text: &str) -> Result<(), Invalid> {
    schema_with(doc, Endorsements::Draft)?;
    check_constraints(doc)?;
    check_rdf(doc, text)
}

// ---------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------

/// The simple (text-only, attribute-free) types of the legacy schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Simple {
    /// `xs:string`: anything.
    String,
    /// `xs:nonNegativeInteger`.
    NonNegativeInteger,
    /// `xs:integer` 0..=65535 (type `port`).
    Port,
    /// `xs:integer` 0..=255 (type `icmp-type`).
    Icmp,
    /// `xs:anyURI`; the legacy validator was lenient, so anything.
    AnyUri,
    /// `[A-Fa-f0-9]+` (type `checksum-value-type`).
    ChecksumValue,
    /// `[A-Za-z0-9\._%+-]+@[A-Za-z0-9\.-]+` (type `email-type`).
    Email,
}

/// What an element is validated as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `rdf:RDF`.
    Root,
    /// `rdf:Description`.
    Description,
    /// `slreq:checksum`.
    Checksum,
    /// `slreq:endorsement`.
    Endorsement,
    /// `slreq:endorser`.
    Endorser,
    /// A simple type.
    Simple(Simple),
    /// `dc:SimpleLiteral`: text only, only `xml:lang`.
    SimpleLiteral,
    /// The abstract `dc:any`, which may not be used.
    Abstract,
    /// No declaration: not checked itself, its children checked laxly.
    Unknown,
}

impl Kind {
    /// Whether the content is element-only (text must be whitespace).
    fn element_only(self) -> bool {
        matches!(
            self,
            Kind::Root | Kind::Description | Kind::Checksum | Kind::Endorsement | Kind::Endorser
        )
    }
}

/// How a child element accepted by its parent's content model is validated.
enum Mode {
    /// Against this declaration.
    Typed(Kind),
    /// Against its global declaration if there is one (`processContents="lax"`).
    Lax,
    /// Not at all (`processContents="skip"`).
    Skip,
}

/// The DCMI terms declared in `dcterms.xsd`, all `dc:SimpleLiteral`.
const DCTERMS_DECLARED: &[&str] = &[
    "title",
    "creator",
    "subject",
    "description",
    "publisher",
    "contributor",
    "date",
    "type",
    "format",
    "identifier",
    "source",
    "language",
    "relation",
    "coverage",
    "rights",
    "audience",
    "alternative",
    "tableOfContents",
    "abstract",
    "created",
    "valid",
    "available",
    "issued",
    "modified",
    "extent",
    "medium",
    "isVersionOf",
    "hasVersion",
    "isReplacedBy",
    "replaces",
    "isRequiredBy",
    "requires",
    "isPartOf",
    "hasPart",
    "isReferencedBy",
    "references",
    "isFormatOf",
    "hasFormat",
    "conformsTo",
    "spatial",
    "temporal",
    "mediator",
    "dateAccepted",
    "dateCopyrighted",
    "dateSubmitted",
    "educationLevel",
    "accessRights",
    "bibliographicCitation",
    "license",
    "rightsHolder",
    "provenance",
    "instructionalMethod",
    "accrualMethod",
    "accrualPeriodicity",
    "accrualPolicy",
];

/// The fifteen elements declared in `dc.xsd`, all `dc:SimpleLiteral`: the
/// first fifteen DCMI terms.
const DC_DECLARED: &[&str] = DCTERMS_DECLARED.split_at(15).0;

/// The global declaration of an element, or [`Kind::Unknown`].
fn global_kind(node: Node) -> Kind {
    let name = node.tag_name();
    let local = name.name();
    match name.namespace() {
        Some(RDF_NS) => match local {
            "RDF" => Kind::Root,
            "Description" => Kind::Description,
            "type" => Kind::Simple(Simple::String),
            _ => Kind::Unknown,
        },
        Some(SLREQ_NS) => match local {
            "bytes" => Kind::Simple(Simple::NonNegativeInteger),
            "checksum" => Kind::Checksum,
            "algorithm" | "subject" | "issuer" => Kind::Simple(Simple::String),
            "value" => Kind::Simple(Simple::ChecksumValue),
            "endorsement" => Kind::Endorsement,
            "endorser" => Kind::Endorser,
            "email" => Kind::Simple(Simple::Email),
            _ => Kind::Unknown,
        },
        Some(SLTERMS_NS) => match local {
            "serial-number" => Kind::Simple(Simple::NonNegativeInteger),
            "version" | "hypervisor" | "deprecated" | "os" | "os-arch" | "os-version" => {
                Kind::Simple(Simple::String)
            }
            "inbound-port" | "outbound-port" => Kind::Simple(Simple::Port),
            "icmp" => Kind::Simple(Simple::Icmp),
            "location" => Kind::Simple(Simple::AnyUri),
            _ => Kind::Unknown,
        },
        Some(DCTERMS_NS) if DCTERMS_DECLARED.contains(&local) => Kind::SimpleLiteral,
        Some(DC_NS) if local == "any" => Kind::Abstract,
        Some(DC_NS) if DC_DECLARED.contains(&local) => Kind::SimpleLiteral,
        _ => Kind::Unknown,
    }
}

/// One element being validated.
struct Frame<'a, 'input> {
    node: Node<'a, 'input>,
    kind: Kind,
    /// Position in the content model (see [`accept_child`]).
    state: u8,
    /// The next child to look at.
    next: Option<Node<'a, 'input>>,
}

/// Validate the whole document; the error is the message without prefix.
///
/// The walk is in document order and reports what Xerces would report first:
/// attribute faults at the start tag, content-model faults at the offending
/// child's start tag, character faults where the text is, and incomplete
/// content and bad simple values at the end tag.
fn validate_schema(doc: &Document, endorsements: Endorsements) -> Result<(), String> {
    let root = doc.root_element();
    match global_kind(root) {
        Kind::Root => {}
        Kind::Unknown => {
            return Err(format!(
                "cvc-elt.1.a: Cannot find the declaration of element '{}'.",
                element_qname(root)
            ))
        }
        _ => {
            return Err(format!(
                "the document element must be {{\"{RDF_NS}\":RDF}}, not '{}'.",
                element_qname(root)
            ))
        }
    }
    start_element(root, Kind::Root)?;
    let mut stack = vec![Frame {
        node: root,
        kind: Kind::Root,
        state: 0,
        next: root.first_child(),
    }];
    while let Some(top) = stack.last_mut() {
        let Some(child) = top.next else {
            end_element(top, endorsements)?;
            stack.pop();
            continue;
        };
        top.next = child.next_sibling();
        if child.is_text() {
            if top.kind.element_only() && !is_xml_whitespace(child.text().unwrap_or("")) {
                return Err(format!(
                    "cvc-complex-type.2.3: Element '{}' cannot have character [children], because the type's content type is element-only.",
                    element_qname(top.node)
                ));
            }
            continue;
        }
        if !child.is_element() {
            continue; // comments and processing instructions are fine anywhere
        }
        let (state, mode) = accept_child(top.node, top.kind, top.state, child, endorsements)?;
        top.state = state;
        let kind = match mode {
            Mode::Typed(kind) => kind,
            Mode::Lax => global_kind(child),
            Mode::Skip => continue,
        };
        start_element(child, kind)?;
        stack.push(Frame {
            node: child,
            kind,
            state: 0,
            next: child.first_child(),
        });
    }
    Ok(())
}

/// Whether `text` is only XML white space.
fn is_xml_whitespace(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// The expected-element lists of the content models, in Xerces' notation.
mod expected {
    pub const DESCRIPTION: &str = r#"{"http://www.w3.org/1999/02/22-rdf-syntax-ns#":Description}"#;
    pub const SIGNATURE: &str = r#"{WC["http://www.w3.org/2000/09/xmldsig#"]}"#;
    pub const TYPE_OR_IDENTIFIER: &str = r#"{"http://www.w3.org/1999/02/22-rdf-syntax-ns#":type, "http://purl.org/dc/terms/":identifier}"#;
    pub const IDENTIFIER: &str = r#"{"http://purl.org/dc/terms/":identifier}"#;
    pub const BYTES: &str = r#"{"http://mp.stratuslab.eu/slreq#":bytes}"#;
    pub const CHECKSUM: &str = r#"{"http://mp.stratuslab.eu/slreq#":checksum}"#;
    pub const CHECKSUM_OR_ENDORSEMENT: &str = r#"{"http://mp.stratuslab.eu/slreq#":checksum, "http://mp.stratuslab.eu/slreq#":endorsement}"#;
    pub const ALGORITHM: &str = r#"{"http://mp.stratuslab.eu/slreq#":algorithm}"#;
    pub const VALUE: &str = r#"{"http://mp.stratuslab.eu/slreq#":value}"#;
    pub const CREATED: &str = r#"{"http://purl.org/dc/terms/":created}"#;
    pub const ENDORSER: &str = r#"{"http://mp.stratuslab.eu/slreq#":endorser}"#;
    pub const EMAIL: &str = r#"{"http://mp.stratuslab.eu/slreq#":email}"#;
    pub const SUBJECT: &str = r#"{"http://mp.stratuslab.eu/slreq#":subject}"#;
    pub const ISSUER: &str = r#"{"http://mp.stratuslab.eu/slreq#":issuer}"#;
}

/// What the content model of `kind` still expects in `state`, or `None` when
/// the content may end there.
fn still_expected(kind: Kind, state: u8) -> Option<&'static str> {
    match (kind, state) {
        (Kind::Root, 0) => Some(expected::DESCRIPTION),
        (Kind::Description, 0) => Some(expected::TYPE_OR_IDENTIFIER),
        (Kind::Description, 1) => Some(expected::IDENTIFIER),
        (Kind::Description, 2) => Some(expected::BYTES),
        (Kind::Description, 3) => Some(expected::CHECKSUM),
        (Kind::Description, 4) => Some(expected::CHECKSUM_OR_ENDORSEMENT),
        (Kind::Checksum, 0) => Some(expected::ALGORITHM),
        (Kind::Checksum, 1) => Some(expected::VALUE),
        (Kind::Endorsement, 0) => Some(expected::CREATED),
        (Kind::Endorsement, 1) => Some(expected::ENDORSER),
        (Kind::Endorser, 0) => Some(expected::EMAIL),
        (Kind::Endorser, 1) => Some(expected::SUBJECT),
        (Kind::Endorser, 2) => Some(expected::ISSUER),
        _ => None,
    }
}

/// Run the content model of `parent` (of `kind`, in `state`) on its next
/// child element: the new state and how to validate the child.
fn accept_child(
    parent: Node,
    kind: Kind,
    state: u8,
    child: Node,
    endorsements: Endorsements,
) -> Result<(u8, Mode), String> {
    let is = |ns: &str, local: &str| is_element(child, ns, local);
    let draft = endorsements == Endorsements::Draft;
    let accepted = match (kind, state) {
        (Kind::Root, 0) if is(RDF_NS, "Description") => Some((1, Mode::Typed(Kind::Description))),
        (Kind::Root, 1) if child.tag_name().namespace() == Some(XMLDSIG_NS) => {
            Some((2, Mode::Skip))
        }
        (Kind::Description, 0) if is(RDF_NS, "type") => {
            Some((1, Mode::Typed(Kind::Simple(Simple::String))))
        }
        (Kind::Description, 0 | 1) if is(DCTERMS_NS, "identifier") => {
            Some((2, Mode::Typed(Kind::SimpleLiteral)))
        }
        (Kind::Description, 2) if is(SLREQ_NS, "bytes") => {
            Some((3, Mode::Typed(Kind::Simple(Simple::NonNegativeInteger))))
        }
        (Kind::Description, 3 | 4) if is(SLREQ_NS, "checksum") => {
            Some((4, Mode::Typed(Kind::Checksum)))
        }
        (Kind::Description, 4) if is(SLREQ_NS, "endorsement") => {
            Some((5, Mode::Typed(Kind::Endorsement)))
        }
        (Kind::Description, 5) | (Kind::Unknown, _) => Some((state, Mode::Lax)),
        (Kind::Checksum, 0) if is(SLREQ_NS, "algorithm") => {
            Some((1, Mode::Typed(Kind::Simple(Simple::String))))
        }
        (Kind::Checksum, 1) if is(SLREQ_NS, "value") => {
            Some((2, Mode::Typed(Kind::Simple(Simple::ChecksumValue))))
        }
        (Kind::Endorsement, 0) if is(DCTERMS_NS, "created") => {
            Some((1, Mode::Typed(Kind::SimpleLiteral)))
        }
        (Kind::Endorsement, 1) if is(SLREQ_NS, "endorser") => {
            Some((2, Mode::Typed(Kind::Endorser)))
        }
        (Kind::Endorser, 0) if is(SLREQ_NS, "email") => {
            Some((1, Mode::Typed(Kind::Simple(Simple::Email))))
        }
        (Kind::Endorser, 1) if is(SLREQ_NS, "subject") => {
            Some((2, Mode::Typed(Kind::Simple(Simple::String))))
        }
        (Kind::Endorser, 2 | 3) if is(SLREQ_NS, "issuer") => {
            Some((3, Mode::Typed(Kind::Simple(Simple::String))))
        }
        // A draft may leave out any part of the endorsement, keeping the order.
        (Kind::Endorsement, 0) if draft && is(SLREQ_NS, "endorser") => {
            Some((2, Mode::Typed(Kind::Endorser)))
        }
        (Kind::Endorser, 0) if draft && is(SLREQ_NS, "subject") => {
            Some((2, Mode::Typed(Kind::Simple(Simple::String))))
        }
        (Kind::Endorser, 0 | 1) if draft && is(SLREQ_NS, "issuer") => {
            Some((3, Mode::Typed(Kind::Simple(Simple::String))))
        }
        _ => None,
    };
    if let Some(accepted) = accepted {
        return Ok(accepted);
    }
    if let Kind::Simple(_) = kind {
        return Err(format!(
            "cvc-type.3.1.2: Element '{}' is a simple type, so it must have no element information item [children].",
            element_qname(parent)
        ));
    }
    let found = element_qname(child);
    let expected = match (kind, state) {
        (Kind::Root, 1) => Some(expected::SIGNATURE),
        (Kind::Endorser, 3) => Some(expected::ISSUER),
        _ => still_expected(kind, state),
    };
    Err(match expected {
        Some(expected) => format!(
            "cvc-complex-type.2.4.a: Invalid content was found starting with element '{}'. One of '{expected}' is expected.",
            expanded_name(child)
        ),
        None => format!(
            "cvc-complex-type.2.4.d: Invalid content was found starting with element '{found}'. No child element is expected at this point."
        ),
    })
}

/// Checks made at an element's start tag: its declaration and attributes.
fn start_element(node: Node, kind: Kind) -> Result<(), String> {
    if kind == Kind::Abstract {
        return Err(format!(
            "cvc-elt.2: The value of {{abstract}} in the element declaration for '{}' must be false.",
            element_qname(node)
        ));
    }
    for attribute in node.attributes() {
        check_attribute(node, kind, &attribute)?;
    }
    let required = match kind {
        Kind::Root => Some((XML_NS, "base")),
        Kind::Description => Some((RDF_NS, "about")),
        _ => None,
    };
    if let Some((ns, local)) = required {
        if node.attribute((ns, local)).is_none() {
            return Err(format!(
                "cvc-complex-type.4: Attribute '{local}' belonging to namespace '{ns}', must appear on element '{}'.",
                element_qname(node)
            ));
        }
    }
    Ok(())
}

/// Check one attribute of `node` (validated as `kind`).
fn check_attribute(node: Node, kind: Kind, attribute: &Attribute) -> Result<(), String> {
    let ns = attribute.namespace();
    let local = attribute.name();
    let value = attribute.value();
    if ns == Some(XSI_NS) {
        match local {
            // Location hints are allowed everywhere and ignored: the schema
            // set is fixed.
            "schemaLocation" | "noNamespaceSchemaLocation" => return Ok(()),
            "type" => {
                return Err(format!(
                    "attribute '{}' on element '{}' is not supported: type substitution is not allowed in metadata documents.",
                    attribute_qname(node, attribute),
                    element_qname(node)
                ))
            }
            "nil" if kind != Kind::Unknown => {
                return Err(format!(
                    "cvc-elt.3.1: Attribute '{}' must not appear on element '{}', because the {{nillable}} property of '{}' is false.",
                    attribute_qname(node, attribute),
                    element_qname(node),
                    element_qname(node)
                ))
            }
            _ => {}
        }
    }
    let allowed = match kind {
        Kind::Root => ns == Some(XML_NS) && local == "base",
        Kind::Description => {
            if ns == Some(RDF_NS) && local == "about" {
                if !is_about_reference(value) {
                    return Err(pattern_error(value, "#[A-Za-z0-9_-]{27}", "id-frag-type"));
                }
                true
            } else {
                false
            }
        }
        Kind::Checksum | Kind::Endorsement | Kind::Endorser => {
            if ns == Some(RDF_NS) && local == "parseType" {
                check_global_attribute(attribute)?;
                true
            } else {
                false
            }
        }
        Kind::Simple(_) => {
            return Err(format!(
                "cvc-type.3.1.1: Element '{}' is a simple type, so it cannot have attributes, excepting those whose namespace name is identical to '{XSI_NS}' and whose [local name] is one of 'type', 'nil', 'schemaLocation' or 'noNamespaceSchemaLocation'.",
                element_qname(node)
            ))
        }
        Kind::SimpleLiteral => {
            if ns == Some(XML_NS) && local == "lang" {
                check_global_attribute(attribute)?;
                true
            } else {
                false
            }
        }
        Kind::Unknown | Kind::Abstract => {
            check_global_attribute(attribute)?;
            true
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "cvc-complex-type.3.2.2: Attribute '{}' is not allowed to appear in element '{}'.",
            attribute_qname(node, attribute),
            element_qname(node)
        ))
    }
}

/// Check an attribute against its global declaration, if it has one:
/// `rdf:parseType`, `xml:lang`, `xml:space` (`xml:base` is an `xs:anyURI`,
/// which the legacy validator did not really check).
fn check_global_attribute(attribute: &Attribute) -> Result<(), String> {
    let value = attribute.value();
    match (attribute.namespace(), attribute.name()) {
        (Some(RDF_NS), "parseType") if value != "Resource" => Err(format!(
            "cvc-enumeration-valid: Value '{value}' is not facet-valid with respect to enumeration '[Resource]'. It must be a value from the enumeration."
        )),
        (Some(XML_NS), "lang") if !is_language_or_empty(collapse(value)) => Err(format!(
            "cvc-datatype-valid.1.2.1: '{}' is not a valid value for 'language'.",
            collapse(value)
        )),
        (Some(XML_NS), "space") if !matches!(collapse(value), "default" | "preserve") => {
            Err(format!(
                "cvc-enumeration-valid: Value '{}' is not facet-valid with respect to enumeration '[default, preserve]'. It must be a value from the enumeration.",
                collapse(value)
            ))
        }
        _ => Ok(()),
    }
}

/// Checks made at an element's end tag: complete content, simple values.
fn end_element(frame: &Frame, endorsements: Endorsements) -> Result<(), String> {
    let partial_allowed = endorsements == Endorsements::Draft
        && matches!(frame.kind, Kind::Endorsement | Kind::Endorser);
    if let Some(expected) = still_expected(frame.kind, frame.state).filter(|_| !partial_allowed) {
        return Err(format!(
            "cvc-complex-type.2.4.b: The content of element '{}' is not complete. One of '{expected}' is expected.",
            element_qname(frame.node)
        ));
    }
    if let Kind::Simple(simple) = frame.kind {
        check_simple_value(simple, &child_text(frame.node))?;
    }
    Ok(())
}

/// Check the text of a simple-typed element.
fn check_simple_value(simple: Simple, raw: &str) -> Result<(), String> {
    let (min, max, type_name) = match simple {
        Simple::String | Simple::AnyUri => return Ok(()),
        Simple::ChecksumValue => {
            return if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(())
            } else {
                Err(pattern_error(raw, "[A-Fa-f0-9]+", "checksum-value-type"))
            };
        }
        Simple::Email => {
            return if is_email(raw) {
                Ok(())
            } else {
                Err(pattern_error(
                    raw,
                    r"[A-Za-z0-9\._%+-]+@[A-Za-z0-9\.-]+",
                    "email-type",
                ))
            };
        }
        Simple::NonNegativeInteger => ("0", None, "nonNegativeInteger"),
        Simple::Port => ("0", Some("65535"), "port"),
        Simple::Icmp => ("0", Some("255"), "icmp-type"),
    };
    let value = collapse(raw);
    let Some((negative, magnitude)) = parse_integer(value) else {
        return Err(format!(
            "cvc-datatype-valid.1.2.1: '{value}' is not a valid value for 'integer'."
        ));
    };
    if negative && !magnitude.is_empty() {
        return Err(format!(
            "cvc-minInclusive-valid: Value '{value}' is not facet-valid with respect to minInclusive '{min}' for type '{type_name}'."
        ));
    }
    if let Some(max) = max {
        if compare_magnitudes(magnitude, max) == std::cmp::Ordering::Greater {
            return Err(format!(
                "cvc-maxInclusive-valid: Value '{value}' is not facet-valid with respect to maxInclusive '{max}' for type '{type_name}'."
            ));
        }
    }
    Ok(())
}

/// The `cvc-pattern-valid` message.
fn pattern_error(value: &str, pattern: &str, type_name: &str) -> String {
    format!(
        "cvc-pattern-valid: Value '{value}' is not facet-valid with respect to pattern '{pattern}' for type '{type_name}'."
    )
}

/// Parse an `xs:integer` lexical form (`[+-]?[0-9]+`, no white space):
/// whether it is negative, and its digits without leading zeros (empty for
/// zero). Arbitrary precision.
fn parse_integer(text: &str) -> Option<(bool, &str)> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((negative, digits.trim_start_matches('0')))
}

/// Compare two decimal magnitudes without leading zeros.
fn compare_magnitudes(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// XSD `collapse` for values that cannot contain inner white space once
/// valid: trimming is enough (inner white space makes them invalid anyway).
fn collapse(text: &str) -> &str {
    text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// `#[A-Za-z0-9_-]{27}`, anchored.
fn is_about_reference(value: &str) -> bool {
    value
        .strip_prefix('#')
        .is_some_and(identifier::is_well_formed)
}

/// The schema's e-mail rule, `[A-Za-z0-9\._%+-]+@[A-Za-z0-9\.-]+`,
/// anchored: what an endorser e-mail must look like.
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let domain_ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-');
    !local.is_empty()
        && !domain.is_empty()
        && local.bytes().all(local_ok)
        && domain.bytes().all(domain_ok)
}

/// `xs:language` (`[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`) or the empty string.
fn is_language_or_empty(value: &str) -> bool {
    if value.is_empty() {
        return true;
    }
    value.split('-').enumerate().all(|(index, part)| {
        (1..=8).contains(&part.len())
            && part.bytes().all(|b| {
                if index == 0 {
                    b.is_ascii_alphabetic()
                } else {
                    b.is_ascii_alphanumeric()
                }
            })
    })
}

/// The concatenated text children of an element (a simple-typed element has
/// no element children once it got this far), borrowed when there is one.
fn child_text<'a>(node: Node<'a, '_>) -> Cow<'a, str> {
    concat_text(node.children().filter(|n| n.is_text()))
}

/// The XPath string value of `node`: all descendant text, untrimmed,
/// borrowed when there is a single text node.
fn string_value<'a>(node: Node<'a, '_>) -> Cow<'a, str> {
    concat_text(node.descendants().filter(|n| n.is_text()))
}

fn concat_text<'a, 'input: 'a>(mut texts: impl Iterator<Item = Node<'a, 'input>>) -> Cow<'a, str> {
    let Some(first) = texts.next() else {
        return Cow::Borrowed("");
    };
    let first = first.text().unwrap_or("");
    let Some(second) = texts.next() else {
        return Cow::Borrowed(first);
    };
    let mut joined = String::from(first);
    joined.push_str(second.text().unwrap_or(""));
    for text in texts {
        joined.push_str(text.text().unwrap_or(""));
    }
    Cow::Owned(joined)
}

/// The element's name as written in the document (`prefix:local`).
fn element_qname<'input>(node: Node<'_, 'input>) -> &'input str {
    let text = node.document().input_text();
    let after_lt = &text[node.range().start + 1..];
    let end = after_lt
        .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
        .unwrap_or(after_lt.len());
    &after_lt[..end]
}

/// The attribute's name as written in the document (`prefix:local`).
fn attribute_qname<'input>(node: Node<'_, 'input>, attribute: &Attribute) -> &'input str {
    let text = node.document().input_text();
    text.get(attribute.range_qname()).unwrap_or("?")
}

/// The element's expanded name in Xerces' notation: `{"ns":local}`, or
/// `local` when it has no namespace.
fn expanded_name(node: Node) -> String {
    let name = node.tag_name();
    match name.namespace() {
        Some(ns) => format!("{{\"{ns}\":{}}}", name.name()),
        None => name.name().to_string(),
    }
}

// ---------------------------------------------------------------------------
// Constraints
// ---------------------------------------------------------------------------

/// The at-most-one `slterms` terms, in the order of the legacy checks 5–10.
const AT_MOST_ONE: [&str; 6] = [
    "serial-number",
    "version",
    "deprecated",
    "os",
    "os-arch",
    "os-version",
];

/// What the constraint XPath queries select, gathered in one pass.
#[derive(Default)]
struct Facts<'a, 'input> {
    /// `//rdf:RDF/@xml:base`.
    base: Option<&'a str>,
    /// `count(//rdf:RDF/rdf:Description/dcterms:type)`.
    types: usize,
    /// `count(//rdf:RDF/rdf:Description/dcterms:type/*)`.
    type_children: usize,
    /// `count(//rdf:RDF/rdf:Description/slreq:checksum/slreq:algorithm[text()='SHA-1'])`.
    sha1_algorithms: usize,
    /// `count(//rdf:RDF/rdf:Description/slterms:X)` for [`AT_MOST_ONE`].
    at_most_one: [usize; 6],
    /// `//rdf:RDF/rdf:Description/@rdf:about`.
    about: Option<&'a str>,
    /// `//rdf:RDF/rdf:Description/dcterms:identifier`.
    identifier: Option<Node<'a, 'input>>,
    /// `//rdf:RDF/rdf:Description/slreq:checksum/slreq:value[preceding-sibling::slreq:algorithm='SHA-1']`.
    sha1_value: Option<Node<'a, 'input>>,
    /// `//rdf:RDF/rdf:Description/dcterms:valid`.
    valid: Option<Node<'a, 'input>>,
    /// `//rdf:RDF/rdf:Description/slreq:endorsement/dcterms:created`.
    created: Option<Node<'a, 'input>>,
}

/// Whether `node` is an `rdf:Description` child of an `rdf:RDF`
/// (`//rdf:RDF/rdf:Description`).
fn is_top_description(node: Node) -> bool {
    is_element(node, RDF_NS, "Description")
        && node
            .parent_element()
            .is_some_and(|parent| is_element(parent, RDF_NS, "RDF"))
}

/// Whether `node`'s parent is an element `{ns}local` child of a
/// `//rdf:RDF/rdf:Description`.
fn parent_is_in_description(node: Node, ns: &str, local: &str) -> bool {
    node.parent_element().is_some_and(|parent| {
        is_element(parent, ns, local) && parent.parent_element().is_some_and(is_top_description)
    })
}

/// Whether the XPath string value of `node` is exactly `expected`, without
/// building it.
fn string_value_is(node: Node, expected: &str) -> bool {
    let mut rest = expected;
    for text in node.descendants().filter(|n| n.is_text()) {
        let text = text.text().unwrap_or("");
        match rest.strip_prefix(text) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Gather the [`Facts`] in one walk of the document, in document order.
fn gather<'a, 'input>(doc: &'a Document<'input>) -> Facts<'a, 'input> {
    let mut facts = Facts::default();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let ns = node.tag_name().namespace();
        if ns == Some(RDF_NS) {
            if facts.base.is_none() && is_element(node, RDF_NS, "RDF") {
                facts.base = node.attribute((XML_NS, "base"));
            }
            if facts.about.is_none() && is_top_description(node) {
                facts.about = node.attribute((RDF_NS, "about"));
            }
            continue;
        }
        let local = node.tag_name().name();
        let Some(parent) = node.parent_element() else {
            continue;
        };
        if is_top_description(parent) {
            match (ns, local) {
                (Some(DCTERMS_NS), "type") => {
                    facts.types += 1;
                    facts.type_children += node.children().filter(|c| c.is_element()).count();
                }
                (Some(DCTERMS_NS), "identifier") => {
                    facts.identifier.get_or_insert(node);
                }
                (Some(DCTERMS_NS), "valid") => {
                    facts.valid.get_or_insert(node);
                }
                (Some(SLTERMS_NS), _) => {
                    if let Some(index) = AT_MOST_ONE.iter().position(|&term| term == local) {
                        facts.at_most_one[index] += 1;
                    }
                }
                _ => {}
            }
        } else if ns == Some(SLREQ_NS) && parent_is_in_description(node, SLREQ_NS, "checksum") {
            // By the element's string value, not (as the legacy XPath
            // `text()='SHA-1'`) by any one of its text nodes: a comment
            // splits text nodes, and comments are not signed.
            if local == "algorithm" && string_value_is(node, "SHA-1") {
                facts.sha1_algorithms += 1;
            } else if local == "value"
                && facts.sha1_value.is_none()
                && node
                    .prev_siblings()
                    .any(|s| is_element(s, SLREQ_NS, "algorithm") && string_value_is(s, "SHA-1"))
            {
                facts.sha1_value = Some(node);
            }
        } else if ns == Some(DCTERMS_NS)
            && local == "created"
            && facts.created.is_none()
            && parent_is_in_description(node, SLREQ_NS, "endorsement")
        {
            facts.created = Some(node);
        }
    }
    facts
}

/// The value of an optional node, as XPath's `string()` gives it.
fn value_of<'a>(node: Option<Node<'a, '_>>) -> Cow<'a, str> {
    node.map_or(Cow::Borrowed(""), string_value)
}

/// The sixteen checks; the error is the legacy message.
fn constraints(doc: &Document) -> Result<(), String> {
    let facts = gather(doc);

    // 1. xml:base
    if facts.base != Some(MARKETPLACE_BASE) {
        return Err(format!(
            "root element must have xml:base attribute with value {MARKETPLACE_BASE}"
        ));
    }
    // 2, 3. exactly one dcterms:type, without child elements
    if facts.types != 1 {
        return Err("description must have exactly 1 dcterms:type element".to_string());
    }
    if facts.type_children != 0 {
        return Err("dcterms:type cannot have child elements".to_string());
    }
    // 4. exactly one SHA-1 checksum (the legacy message says "slterms")
    if facts.sha1_algorithms != 1 {
        return Err(
            "description must have exactly 1 slterms:checksum element using SHA-1 algorithm"
                .to_string(),
        );
    }
    // 5-10. at most one of each
    for (term, &count) in AT_MOST_ONE.iter().zip(&facts.at_most_one) {
        if count > 1 {
            return Err(format!(
                "description must have at most 1 slterms:{term} element"
            ));
        }
    }
    // 11. rdf:about = "#" + dcterms:identifier
    let about = facts.about.unwrap_or("");
    let id = value_of(facts.identifier);
    if about.strip_prefix('#') != Some(&*id) {
        return Err(format!(
            "rdf:about attribute ({about}) and dcterms:identifier ({id}) are not consistent"
        ));
    }
    // 12. the identifier decodes
    let from_identifier = identifier::to_number(&id).map_err(|e| e.to_string())?;
    // 13. the SHA-1 checksum parses
    let hex = value_of(facts.sha1_value);
    let Some(from_checksum) = identifier::parse_hex(&hex) else {
        return Err(format!("{hex} is not a valid SHA-1 checksum"));
    };
    // 14. and they agree
    if from_identifier != from_checksum {
        return Err(format!(
            "checksum from identifier ({from_identifier}) and SHA-1 checksum ({from_checksum}) are not consistent"
        ));
    }
    // 15. dcterms:valid
    let valid = value_of(facts.valid);
    match check_date(&valid) {
        DateCheck::Valid => {}
        DateCheck::Malformed => {
            return Err(format!("dcterms:valid value ({valid}) is not a valid date"))
        }
        DateCheck::Unparseable => return Err(format!("Unparseable date: \"{valid}\"")),
    }
    // 16. endorsement dcterms:created (the legacy message prints the
    // dcterms:valid value: kept on purpose)
    let created = value_of(facts.created);
    match check_date(&created) {
        DateCheck::Valid => Ok(()),
        DateCheck::Malformed => Err(format!(
            "dcterms:created value ({valid}) is not a valid date"
        )),
        DateCheck::Unparseable => Err(format!("Unparseable date: \"{created}\"")),
    }
}

/// The legacy date rule's three outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateCheck {
    /// Empty, or a real `yyyy-MM-ddTHH:mm:ssZ` time.
    Valid,
    /// Not of the shape `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z`.
    Malformed,
    /// Of that shape, but refused by Java's non-lenient calendar.
    Unparseable,
}

/// The legacy `isValidDate`: empty is fine; otherwise the exact shape, then
/// a date and time that Java's non-lenient `GregorianCalendar` (Julian before
/// 15 October 1582, no year 0) accepts.
fn check_date(text: &str) -> DateCheck {
    if text.is_empty() {
        return DateCheck::Valid;
    }
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 20
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return DateCheck::Malformed;
    }
    let number = |range: Range<usize>| {
        bytes[range]
            .iter()
            .fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'))
    };
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (hour, minute, second) = (number(11..13), number(14..16), number(17..19));
    if java_date_exists(year, month, day) && hour <= 23 && minute <= 59 && second <= 59 {
        DateCheck::Valid
    } else {
        DateCheck::Unparseable
    }
}

/// Whether a calendar date exists in Java's default `GregorianCalendar`:
/// years from 1, the Julian calendar before 1582-10-15, and no 1582-10-05 to
/// 1582-10-14.
fn java_date_exists(year: u32, month: u32, day: u32) -> bool {
    if year == 0 || !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let julian = (year, month, day) < (1582, 10, 15);
    if (year, month) == (1582, 10) && (5..=14).contains(&day) {
        return false;
    }
    let leap = if julian {
        year % 4 == 0
    } else {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    };
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if leap => 29,
        _ => 28,
    };
    day <= days
}

// ---------------------------------------------------------------------------
// RDF
// ---------------------------------------------------------------------------

/// A change made to the text before it is given to the RDF/XML parser.
struct Edit<'a> {
    /// The bytes of the original text replaced.
    range: Range<usize>,
    /// What replaces them.
    replacement: Cow<'a, str>,
}

/// The changes that turn the document into the RDF/XML input, in text
/// order, not overlapping: every outermost `{xmldsig}Signature` element,
/// comment and processing instruction is cut out, every text run that
/// contains a CDATA section is replaced by its escaped value, and every empty
/// `xml:lang=""` (which RDF/XML allows, to mean "no language", but
/// `oxrdfxml` refuses) is cut out. No allocation when there is nothing to
/// change.
fn rdf_edits<'a>(doc: &'a Document, text: &str) -> Vec<Edit<'a>> {
    let mut edits: Vec<Edit> = Vec::new();
    let mut covered_until = 0;
    // The text is already decoded: a declaration naming another encoding
    // (UTF-16, ISO-8859-1) would make oxrdfxml refuse it.
    if text.starts_with("<?xml") {
        if let Some(end) = text.find("?>") {
            edits.push(Edit {
                range: 0..end + 2,
                replacement: Cow::Borrowed(""),
            });
            covered_until = end + 2;
        }
    }
    for node in doc.descendants() {
        let range = node.range();
        if range.start < covered_until {
            continue; // inside a Signature already cut
        }
        if node.is_element() && !is_element(node, XMLDSIG_NS, "Signature") {
            for attribute in node.attributes() {
                if attribute.namespace() == Some(XML_NS)
                    && attribute.name() == "lang"
                    && attribute.value().is_empty()
                {
                    edits.push(Edit {
                        range: attribute.range(),
                        replacement: Cow::Borrowed(""),
                    });
                }
            }
            continue;
        }
        if is_element(node, XMLDSIG_NS, "Signature") || node.is_comment() || node.is_pi() {
            covered_until = range.end;
            edits.push(Edit {
                range,
                replacement: Cow::Borrowed(""),
            });
        } else if node.is_text() {
            // A merged text node only records the range of its first piece:
            // it really runs to the next node or to the parent's end tag.
            let end = match (node.next_sibling(), node.parent()) {
                (Some(next), _) => next.range().start,
                (None, Some(parent)) => {
                    let parent_end = parent.range().end;
                    text[range.start..parent_end]
                        .rfind("</")
                        .map_or(parent_end, |at| range.start + at)
                }
                (None, None) => range.end,
            };
            if text[range.start..end].contains("<![CDATA[") {
                edits.push(Edit {
                    range: range.start..end,
                    replacement: Cow::Owned(escape_text(node.text().unwrap_or(""))),
                });
            }
        }
    }
    // Already in text order; this only guards the invariant cheaply.
    edits.sort_by_key(|edit| edit.range.start);
    edits
}

/// Escape character data for XML (`&`, `<`, `>` and carriage returns, which
/// would otherwise be normalized away).
fn escape_text(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '\r' => escaped.push_str("&#13;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Map an offset in the edited text back to the original text (an offset
/// inside a replacement maps to the start of what it replaced).
fn original_offset(edits: &[Edit], edited_offset: usize) -> usize {
    let (mut edited, mut original) = (0usize, 0usize);
    for edit in edits {
        let unchanged = edit.range.start - original;
        if edited_offset < edited + unchanged {
            return original + (edited_offset - edited);
        }
        edited += unchanged;
        if edited_offset < edited + edit.replacement.len() {
            return edit.range.start;
        }
        edited += edit.replacement.len();
        original = edit.range.end;
    }
    original + (edited_offset - edited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_legacy_rule() {
        for ok in [
            "",
            "2011-01-24T09:59:42Z",
            "2012-02-29T23:59:59Z",
            "2000-02-29T00:00:00Z",
            "1500-02-29T00:00:00Z", // Julian leap year
            "1582-10-04T00:00:00Z",
            "1582-10-15T00:00:00Z",
            "0001-01-01T00:00:00Z",
        ] {
            assert_eq!(check_date(ok), DateCheck::Valid, "{ok}");
        }
        for malformed in [
            "2011-01-24X09:59:42Z",
            "2011-02-20T10:00:00.000Z",
            "2011-01-24T09:59:42+01:00",
            "2011-01-24t09:59:42z",
            "2011-01-24T09:59:42",
            " 2011-01-24T09:59:42Z",
            "2011-01-24",
            "２011-01-24T09:59:42Z",
        ] {
            assert_eq!(check_date(malformed), DateCheck::Malformed, "{malformed}");
        }
        for unparseable in [
            "2011-02-29T10:00:00Z",
            "2011-01-24T24:00:00Z",
            "2011-01-24T99:59:42Z",
            "2011-13-01T00:00:00Z",
            "2011-00-01T00:00:00Z",
            "2011-01-00T00:00:00Z",
            "2011-04-31T00:00:00Z",
            "2011-01-24T10:60:00Z",
            "2011-01-24T10:00:60Z",
            "1900-02-29T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "1582-10-10T00:00:00Z",
        ] {
            assert_eq!(
                check_date(unparseable),
                DateCheck::Unparseable,
                "{unparseable}"
            );
        }
    }

    #[test]
    fn integers_are_arbitrary_precision() {
        assert_eq!(parse_integer("100"), Some((false, "100")));
        assert_eq!(parse_integer("+007"), Some((false, "7")));
        assert_eq!(parse_integer("-0"), Some((true, "")));
        assert_eq!(parse_integer("-1"), Some((true, "1")));
        assert_eq!(parse_integer(""), None);
        assert_eq!(parse_integer("+"), None);
        assert_eq!(parse_integer("1 0"), None);
        assert_eq!(parse_integer("１"), None);
        let thirty = "9".repeat(30);
        assert_eq!(parse_integer(&thirty), Some((false, thirty.as_str())));
        assert!(check_simple_value(Simple::NonNegativeInteger, &thirty).is_ok());
        assert!(check_simple_value(Simple::NonNegativeInteger, " -0 ").is_ok());
        assert!(check_simple_value(Simple::Port, "65535").is_ok());
        assert!(check_simple_value(Simple::Port, "0065535").is_ok());
        assert!(check_simple_value(Simple::Port, "65536").is_err());
        assert!(check_simple_value(Simple::Icmp, "255").is_ok());
        assert!(check_simple_value(Simple::Icmp, "256").is_err());
        assert!(check_simple_value(Simple::Icmp, &thirty).is_err());
    }

    #[test]
    fn simple_value_messages_mimic_xerces() {
        assert_eq!(
            check_simple_value(Simple::Icmp, "65536").unwrap_err(),
            "cvc-maxInclusive-valid: Value '65536' is not facet-valid with respect to maxInclusive '255' for type 'icmp-type'."
        );
        assert_eq!(
            check_simple_value(Simple::NonNegativeInteger, " X ").unwrap_err(),
            "cvc-datatype-valid.1.2.1: 'X' is not a valid value for 'integer'."
        );
        assert_eq!(
            check_simple_value(Simple::Port, "-1").unwrap_err(),
            "cvc-minInclusive-valid: Value '-1' is not facet-valid with respect to minInclusive '0' for type 'port'."
        );
        assert_eq!(
            check_simple_value(Simple::ChecksumValue, "XYZ").unwrap_err(),
            "cvc-pattern-valid: Value 'XYZ' is not facet-valid with respect to pattern '[A-Fa-f0-9]+' for type 'checksum-value-type'."
        );
        assert_eq!(
            check_simple_value(Simple::Email, "jane.tester_at_example.org").unwrap_err(),
            r"cvc-pattern-valid: Value 'jane.tester_at_example.org' is not facet-valid with respect to pattern '[A-Za-z0-9\._%+-]+@[A-Za-z0-9\.-]+' for type 'email-type'."
        );
    }

    #[test]
    fn patterns_are_anchored() {
        assert!(is_email("jane.tester@example.org"));
        assert!(is_email("a+b%c_d-e@x-y.z"));
        assert!(is_email("x@y"));
        for bad in [
            "", "@y", "x@", "x@@y", "x@y@z", " x@y", "x@y ", "x y@z", "x@y_z", "A <a@b>", "é@x",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_about_reference("#MMZu9WvwKIro-rtBQfDk4PsKO7_"));
        for bad in [
            "MMZu9WvwKIro-rtBQfDk4PsKO7_",
            "#MMZu9WvwKIro-rtBQ",
            "#MMZu9WvwKIro-rtBQfDk4PsKO7_A",
            "#MMZu9WvwKIro-rtBQfDk4PsKO7=",
            "# MMZu9WvwKIro-rtBQfDk4PsKO7",
        ] {
            assert!(!is_about_reference(bad), "{bad}");
        }
        assert!(is_language_or_empty(""));
        assert!(is_language_or_empty("en"));
        assert!(is_language_or_empty("en-GB"));
        assert!(is_language_or_empty("x-klingon1"));
        assert!(!is_language_or_empty("en_GB"));
        assert!(!is_language_or_empty("toolongtag"));
        assert!(!is_language_or_empty("1en"));
        assert!(!is_language_or_empty("en-"));
    }

    #[test]
    fn offsets_map_back_across_edits() {
        let edits = [
            Edit {
                range: 10..20,
                replacement: Cow::Borrowed(""),
            },
            Edit {
                range: 30..35,
                replacement: Cow::Borrowed("abc"),
            },
        ];
        assert_eq!(original_offset(&edits, 5), 5);
        assert_eq!(original_offset(&edits, 10), 20);
        assert_eq!(original_offset(&edits, 15), 25);
        assert_eq!(original_offset(&edits, 20), 30);
        assert_eq!(original_offset(&edits, 22), 30);
        assert_eq!(original_offset(&edits, 23), 35);
        assert_eq!(original_offset(&edits, 25), 37);
        assert_eq!(original_offset(&[], 7), 7);
    }

    #[test]
    fn rdf_input_drops_signatures_comments_and_cdata_splits() {
        let text = "<r><!--a--><s:Signature xmlns:s=\"http://www.w3.org/2000/09/xmldsig#\"><s:Signature/>x<!--b--></s:Signature><?p?><t>1<![CDATA[<2>]]>3</t><u><![CDATA[&]]></u></r>";
        let doc = roxmltree::Document::parse(text).unwrap();
        let edits = rdf_edits(&doc, text);
        let mut out = String::new();
        let mut from = 0;
        for edit in &edits {
            out.push_str(&text[from..edit.range.start]);
            out.push_str(&edit.replacement);
            from = edit.range.end;
        }
        out.push_str(&text[from..]);
        assert_eq!(out, "<r><t>1&lt;2&gt;3</t><u>&amp;</u></r>");
        assert!(rdf_edits(
            &roxmltree::Document::parse("<a>x<b/>y</a>").unwrap(),
            "<a>x<b/>y</a>"
        )
        .is_empty());
    }

    #[test]
    fn string_values_follow_xpath() {
        let doc = roxmltree::Document::parse(
            "<a><b>SHA-<!-- c -->1</b><c><d>x</d> y </c><e/><f>one</f></a>",
        )
        .unwrap();
        let find = |name: &str| doc.descendants().find(|n| n.has_tag_name(name)).unwrap();
        assert_eq!(string_value(find("b")), "SHA-1");
        assert!(string_value_is(find("b"), "SHA-1"));
        assert!(!string_value_is(find("b"), "SHA-"));
        assert!(!string_value_is(find("b"), "SHA-12"));
        assert_eq!(string_value(find("c")), "x y ");
        assert_eq!(string_value(find("e")), "");
        assert!(string_value_is(find("e"), ""));
        assert!(matches!(string_value(find("f")), Cow::Borrowed("one")));
        assert_eq!(element_qname(find("d")), "d");
    }

    #[test]
    fn qnames_are_taken_as_written() {
        let doc = roxmltree::Document::parse(
            r#"<p:a xmlns:p="urn:p" p:x="1"><b xmlns="urn:b"/><p:c
/></p:a>"#,
        )
        .unwrap();
        let root = doc.root_element();
        assert_eq!(element_qname(root), "p:a");
        let attribute = root.attributes().next().unwrap();
        assert_eq!(attribute_qname(root, &attribute), "p:x");
        let children: Vec<_> = root.children().collect();
        assert_eq!(element_qname(children[0]), "b");
        assert_eq!(expanded_name(children[0]), r#"{"urn:b":b}"#);
        assert_eq!(element_qname(children[1]), "p:c");
    }

    #[test]
    fn drafts_may_have_partial_endorsements() {
        let head = r##"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:slreq="http://mp.stratuslab.eu/slreq#" xml:base="http://mp.stratuslab.eu/"><rdf:Description rdf:about="#MMZu9WvwKIro-rtBQfDk4PsKO7_"><dcterms:identifier>MMZu9WvwKIro-rtBQfDk4PsKO7_</dcterms:identifier><slreq:bytes>100</slreq:bytes><slreq:checksum rdf:parseType="Resource"><slreq:algorithm>SHA-1</slreq:algorithm><slreq:value>c319bbd5afc0a22ba3eaed0507c39383ec28eeff</slreq:value></slreq:checksum>"##;
        let tail = "<dcterms:type>base</dcterms:type></rdf:Description></rdf:RDF>";
        let endorsements = [
            (r##"<slreq:endorsement rdf:parseType="Resource"/>"##, true),
            (
                r##"<slreq:endorsement rdf:parseType="Resource"><slreq:endorser rdf:parseType="Resource"><slreq:email>a@b.org</slreq:email></slreq:endorser></slreq:endorsement>"##,
                true,
            ),
            (
                r##"<slreq:endorsement rdf:parseType="Resource"><slreq:endorser rdf:parseType="Resource"><slreq:email>not an email</slreq:email></slreq:endorser></slreq:endorsement>"##,
                false,
            ),
            (
                r##"<slreq:endorsement rdf:parseType="Resource"><slreq:endorser rdf:parseType="Resource"><slreq:issuer>CN=x</slreq:issuer><slreq:email>a@b.org</slreq:email></slreq:endorser></slreq:endorsement>"##,
                false,
            ),
        ];
        for (endorsement, draft_ok) in endorsements {
            let text = format!("{head}{endorsement}{tail}");
            let doc = Document::parse(&text).unwrap();
            assert_eq!(check_draft(&doc, &text).is_ok(), draft_ok, "{endorsement}");
            assert!(check_unsigned(&doc, &text).is_err(), "{endorsement}");
        }
    }
}
