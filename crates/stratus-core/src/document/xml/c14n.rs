//! Canonical XML 1.0 (inclusive, with and without comments) and exclusive canonical XML 1.0, over roxmltree.
//!
//! This is the canonicalization that XML-DSig needs for the enveloped
//! signatures of metadata documents (metadata.md §4.3), byte for byte as
//! libxml2 (and so xmlsec1) and the Java reference produce it:
//!
//! - [Canonical XML 1.0](http://www.w3.org/TR/2001/REC-xml-c14n-20010315),
//!   with or without comments ([`Algorithm::Inclusive`]);
//! - [Exclusive XML Canonicalization 1.0](http://www.w3.org/TR/xml-exc-c14n/),
//!   with or without comments, with an optional `InclusiveNamespaces`
//!   `PrefixList` ([`Algorithm::Exclusive`]).
//!
//! Only the two node-sets that enveloped signatures use are supported, not
//! general XPath:
//!
//! - the **whole document, minus at most one excluded subtree**
//!   ([`canonicalize_document`]): the enveloped-signature transform removes
//!   the `Signature` element and keeps everything else, including the
//!   whitespace text before it;
//! - **one subtree as a document subset** ([`canonicalize_subtree`]), as for
//!   `SignedInfo`. With inclusive C14N its apex element gets every namespace
//!   declaration in scope and, following C14N 1.0 §2.4, the `xml:*`
//!   attributes (`xml:base`, `xml:lang`, `xml:space`, …) inherited from its
//!   ancestors; with exclusive C14N only the visibly utilized namespaces
//!   (plus the `PrefixList`) and no `xml:*` inheritance.
//!
//! Whether comments are part of the node-set is the caller's choice: a
//! `Reference URI=""` removes comments even when the final transform is a
//! `#WithComments` algorithm (XML-DSig §4.3.3.3), so the caller passes
//! [`Algorithm::without_comments`] there.
//!
//! The parsed tree already holds what C14N needs: entities and character
//! references resolved, attribute values normalised, CDATA merged into text
//! and line ends normalised in text and attributes. Comments and processing
//! instructions are stored raw by roxmltree, so their line ends are
//! normalised here. Element and attribute prefixes, which roxmltree does not
//! keep, are read back from the source text (its node ranges) and checked
//! against the bindings in scope.
//!
//! Cost is linear in the document: the walk uses an explicit stack, not
//! recursion, writes into one buffer, and keeps the namespaces in scope in
//! maps, so thousands of declarations cannot make it quadratic.
//!
//! Known differences, all outside the legacy documents:
//!
//! - a `&` in a namespace URI is written `&amp;` (the spec, and Java);
//!   libxml2 writes `&#38;`;
//! - relative namespace URIs are canonicalized as they are, where libxml2
//!   refuses the document;
//! - a literal carriage return right before a reference needs
//!   [`normalize_line_ends`] before parsing (a roxmltree quirk).

use roxmltree::{Document, Node, NodeId, NodeType};

use super::XML_NS;

/// Canonical XML 1.0 without comments.
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Canonical XML 1.0 with comments.
pub const C14N_WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// Exclusive XML canonicalization 1.0 without comments. Also the namespace
/// of its `InclusiveNamespaces` element.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Exclusive XML canonicalization 1.0 with comments.
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";

/// The token of an exclusive C14N `PrefixList` that names the default
/// namespace.
pub const DEFAULT_PREFIX_TOKEN: &str = "#default";

/// A canonicalization algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Algorithm {
    /// Canonical XML 1.0 ([`C14N`], [`C14N_WITH_COMMENTS`]).
    Inclusive {
        /// Whether comment nodes are output.
        with_comments: bool,
    },
    /// Exclusive XML canonicalization 1.0 ([`EXC_C14N`],
    /// [`EXC_C14N_WITH_COMMENTS`]).
    Exclusive {
        /// Whether comment nodes are output.
        with_comments: bool,
        /// The `InclusiveNamespaces` `PrefixList`: prefixes whose namespace
        /// declarations are handled as by inclusive C14N;
        /// [`DEFAULT_PREFIX_TOKEN`] (`#default`) names the default namespace.
        inclusive_prefixes: Vec<String>,
    },
}

impl Algorithm {
    /// The algorithm named by `uri`, or `None` for any other URI.
    ///
    /// `prefix_list` is the value of the `PrefixList` attribute of an
    /// `InclusiveNamespaces` element (whitespace-separated prefixes, `#default`
    /// for the default namespace), or `""` when there is none. It is ignored
    /// for the inclusive algorithms.
    pub fn from_uri(uri: &str, prefix_list: &str) -> Option<Self> {
        let prefixes = || {
            prefix_list
                .split_ascii_whitespace()
                .map(str::to_string)
                .collect()
        };
        match uri {
            C14N => Some(Algorithm::Inclusive {
                with_comments: false,
            }),
            C14N_WITH_COMMENTS => Some(Algorithm::Inclusive {
                with_comments: true,
            }),
            EXC_C14N => Some(Algorithm::Exclusive {
                with_comments: false,
                inclusive_prefixes: prefixes(),
            }),
            EXC_C14N_WITH_COMMENTS => Some(Algorithm::Exclusive {
                with_comments: true,
                inclusive_prefixes: prefixes(),
            }),
            _ => None,
        }
    }

    /// The algorithm that a `CanonicalizationMethod` or `Transform` element
    /// names: its `Algorithm` attribute and, for exclusive C14N, the
    /// `PrefixList` of its `{EXC_C14N}InclusiveNamespaces` child. `None` when
    /// the attribute is missing or names no canonicalization algorithm.
    pub fn from_element(method: Node) -> Option<Self> {
        let uri = method.attribute("Algorithm")?;
        let prefix_list = method
            .children()
            .find(|n| super::is_element(*n, EXC_C14N, "InclusiveNamespaces"))
            .and_then(|n| n.attribute("PrefixList"))
            .unwrap_or("");
        Self::from_uri(uri, prefix_list)
    }

    /// The algorithm URI.
    pub fn uri(&self) -> &'static str {
        match self {
            Algorithm::Inclusive {
                with_comments: false,
            } => C14N,
            Algorithm::Inclusive {
                with_comments: true,
            } => C14N_WITH_COMMENTS,
            Algorithm::Exclusive {
                with_comments: false,
                ..
            } => EXC_C14N,
            Algorithm::Exclusive {
                with_comments: true,
                ..
            } => EXC_C14N_WITH_COMMENTS,
        }
    }

    /// Whether comment nodes are output.
    pub fn with_comments(&self) -> bool {
        match self {
            Algorithm::Inclusive { with_comments } | Algorithm::Exclusive { with_comments, .. } => {
                *with_comments
            }
        }
    }

    /// The same algorithm over a node-set without comments, as a
    /// same-document `Reference` (`URI=""` or `URI="#id"`) gives it.
    pub fn without_comments(&self) -> Self {
        let mut algorithm = self.clone();
        match &mut algorithm {
            Algorithm::Inclusive { with_comments } | Algorithm::Exclusive { with_comments, .. } => {
                *with_comments = false
            }
        }
        algorithm
    }
}

/// The canonical form of the whole of `doc`, minus the subtree rooted at
/// `exclude` (if any): the enveloped-signature node-set when `exclude` is the
/// `Signature` element.
///
/// Comments and processing instructions outside the document element are
/// output with the line break the spec asks for (after those before it,
/// before those after it); the XML declaration and DOCTYPE are not part of
/// the canonical form.
pub fn canonicalize_document(
    doc: &Document,
    algorithm: &Algorithm,
    exclude: Option<NodeId>,
) -> Vec<u8> {
    let mut canon = Canonicalizer::new(algorithm, doc.input_text().len());
    canon.document(doc.root(), exclude);
    canon.out
}

/// The canonical form of `node` and its descendants as a document subset,
/// as used for `SignedInfo`.
///
/// For an element, inclusive C14N puts on it every namespace declaration in
/// scope and the `xml:*` attributes it inherits from its ancestors; exclusive
/// C14N only the namespaces it and its attributes use (plus the
/// `PrefixList`). The document (root) node gives [`canonicalize_document`]
/// without exclusion; a text, comment or processing-instruction node gives
/// that node alone.
pub fn canonicalize_subtree(node: Node, algorithm: &Algorithm) -> Vec<u8> {
    let estimate = node.range().len();
    let mut canon = Canonicalizer::new(algorithm, estimate);
    match node.node_type() {
        NodeType::Root => canon.document(node, None),
        NodeType::Element => canon.subtree(node, None, true),
        NodeType::Text => canon.text(node.text().unwrap_or("")),
        NodeType::Comment => {
            if canon.with_comments {
                canon.comment(node.text().unwrap_or(""));
            }
        }
        NodeType::PI => canon.pi(node),
    }
    canon.out
}

/// XML line-end normalisation (XML 1.0 §2.11) of a whole document text,
/// to apply **before parsing** a document whose canonical form matters:
/// `\r\n` and a lone `\r` become `\n`. Borrowed when there is no `\r`.
///
/// roxmltree normalises line ends itself, except that a literal `\r`
/// directly followed by a reference (`\r&amp;`, `\r&#13;`) is kept as `\r`,
/// which C14N would then output as `&#xD;` where libxml2 outputs a line
/// break. Normalising first is what the XML spec prescribes anyway, and
/// leaves `&#13;` references (which must stay carriage returns) alone.
pub fn normalize_line_ends(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\r') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(text.len());
    push_normalized_line_ends(&mut out, text);
    // Only ASCII bytes were replaced by ASCII bytes.
    std::borrow::Cow::Owned(String::from_utf8(out).expect("still UTF-8"))
}

/// An attribute to output, with its sort key (namespace URI, local name).
struct Attr<'a> {
    ns: &'a str,
    local: &'a str,
    prefix: &'a str,
    value: &'a str,
}

/// An open element: its qualified name parts and where its entries start in
/// the two scoped maps.
struct Frame<'a> {
    prefix: &'a str,
    local: &'a str,
    scope_mark: usize,
    rendered_mark: usize,
}

/// FNV-1a: a fast hash for the short prefixes of the scoped maps.
#[derive(Default, Clone, Copy)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

type FnvBuild = std::hash::BuildHasherDefault<Fnv>;

/// A map from namespace prefix (`""` for the default namespace) to URI that
/// follows the element nesting: entries added for an element are removed
/// when it closes. Lookups cost O(1) however many namespaces are in scope,
/// so a document declaring thousands of them cannot make C14N quadratic.
#[derive(Default)]
struct ScopedMap<'a> {
    values: std::collections::HashMap<&'a str, Vec<&'a str>, FnvBuild>,
    log: Vec<&'a str>,
}

impl<'a> ScopedMap<'a> {
    fn get(&self, prefix: &str) -> Option<&'a str> {
        self.values.get(prefix).and_then(|v| v.last().copied())
    }

    fn push(&mut self, prefix: &'a str, uri: &'a str) {
        self.values.entry(prefix).or_default().push(uri);
        self.log.push(prefix);
    }

    fn mark(&self) -> usize {
        self.log.len()
    }

    fn truncate(&mut self, mark: usize) {
        while self.log.len() > mark {
            if let Some(prefix) = self.log.pop() {
                if let Some(stack) = self.values.get_mut(prefix) {
                    stack.pop();
                }
            }
        }
    }
}

struct Canonicalizer<'a> {
    out: Vec<u8>,
    with_comments: bool,
    exclusive: bool,
    /// Exclusive only: the `PrefixList` (`""` for `#default`).
    inclusive_prefixes: Vec<&'a str>,
    /// The namespaces in scope (`xmlns=""` as an empty URI).
    scope: ScopedMap<'a>,
    /// The namespace declarations output by the open elements.
    rendered: ScopedMap<'a>,
    open: Vec<Frame<'a>>,
    /// The namespaces the current element changes: (prefix, URI).
    changed: Vec<(&'a str, &'a str)>,
    ns_buf: Vec<(&'a str, &'a str)>,
    attr_buf: Vec<Attr<'a>>,
}

impl<'a> Canonicalizer<'a> {
    fn new(algorithm: &'a Algorithm, capacity: usize) -> Self {
        let (with_comments, exclusive, inclusive_prefixes) = match algorithm {
            Algorithm::Inclusive { with_comments } => (*with_comments, false, Vec::new()),
            Algorithm::Exclusive {
                with_comments,
                inclusive_prefixes,
            } => (
                *with_comments,
                true,
                inclusive_prefixes
                    .iter()
                    .map(|p| {
                        if p == DEFAULT_PREFIX_TOKEN {
                            ""
                        } else {
                            p.as_str()
                        }
                    })
                    .filter(|p| *p != "xml" && *p != "xmlns")
                    .collect(),
            ),
        };
        Canonicalizer {
            out: Vec::with_capacity(capacity + capacity / 8 + 64),
            with_comments,
            exclusive,
            inclusive_prefixes,
            scope: ScopedMap::default(),
            rendered: ScopedMap::default(),
            open: Vec::new(),
            changed: Vec::new(),
            ns_buf: Vec::new(),
            attr_buf: Vec::new(),
        }
    }

    /// The children of the root node; the document element is walked as a
    /// subtree with no ancestors.
    fn document<'input: 'a>(&mut self, root: Node<'a, 'input>, exclude: Option<NodeId>) {
        let mut after_element = false;
        for child in root.children() {
            if Some(child.id()) == exclude {
                if child.is_element() {
                    after_element = true;
                }
                continue;
            }
            match child.node_type() {
                NodeType::Element => {
                    self.subtree(child, exclude, false);
                    after_element = true;
                }
                NodeType::Comment if self.with_comments => {
                    if after_element {
                        self.out.push(b'\n');
                    }
                    self.comment(child.text().unwrap_or(""));
                    if !after_element {
                        self.out.push(b'\n');
                    }
                }
                NodeType::PI => {
                    if after_element {
                        self.out.push(b'\n');
                    }
                    self.pi(child);
                    if !after_element {
                        self.out.push(b'\n');
                    }
                }
                // Text outside the document element is not in the XPath
                // data model (roxmltree does not make any, anyway).
                _ => {}
            }
        }
    }

    /// `top` (an element) and its descendants, minus the subtree at
    /// `exclude`. `subset_apex` marks `top` as the apex of a document subset
    /// whose ancestors are left out (inherited `xml:*` attributes).
    fn subtree<'input: 'a>(
        &mut self,
        top: Node<'a, 'input>,
        exclude: Option<NodeId>,
        subset_apex: bool,
    ) {
        self.start_element(top, subset_apex);
        let Some(mut current) = top.first_child() else {
            self.end_element();
            return;
        };
        loop {
            let mut descended = false;
            if Some(current.id()) != exclude {
                match current.node_type() {
                    NodeType::Element => {
                        self.start_element(current, false);
                        if let Some(child) = current.first_child() {
                            current = child;
                            descended = true;
                        } else {
                            self.end_element();
                        }
                    }
                    NodeType::Text => self.text(current.text().unwrap_or("")),
                    NodeType::Comment => {
                        if self.with_comments {
                            self.comment(current.text().unwrap_or(""));
                        }
                    }
                    NodeType::PI => self.pi(current),
                    NodeType::Root => {}
                }
            }
            if descended {
                continue;
            }
            // Move to the next node in document order, closing the elements
            // that are left on the way up.
            loop {
                if let Some(next) = current.next_sibling() {
                    current = next;
                    break;
                }
                match current.parent() {
                    Some(parent) => {
                        self.end_element();
                        if parent == top {
                            return;
                        }
                        current = parent;
                    }
                    None => return,
                }
            }
        }
    }

    /// The non-empty URI bound to `prefix` in scope.
    fn bound(&self, prefix: &str) -> Option<&'a str> {
        self.scope.get(prefix).filter(|uri| !uri.is_empty())
    }

    /// Queue the namespace declaration (`prefix`, `uri`) for output unless
    /// the nearest output ancestor already rendered it with the same value.
    /// `uri` is `None` when `prefix` is not bound (only the default namespace
    /// can be unbound here): then `xmlns=""` is due if a non-empty default
    /// namespace was rendered.
    fn consider_namespace(&mut self, prefix: &'a str, uri: Option<&'a str>) {
        let rendered = self.rendered.get(prefix);
        match uri {
            Some(uri) => {
                if rendered != Some(uri) {
                    self.ns_buf.push((prefix, uri));
                }
            }
            None => {
                if prefix.is_empty() && rendered.is_some_and(|u| !u.is_empty()) {
                    self.ns_buf.push(("", ""));
                }
            }
        }
    }

    fn start_element<'input: 'a>(&mut self, node: Node<'a, 'input>, subset_apex: bool) {
        let local = node.tag_name().name();
        let scope_mark = self.scope.mark();
        let rendered_mark = self.rendered.mark();

        // The namespaces in scope: all of them at the top of the walk, else
        // only when the start tag declares some (otherwise they are the
        // parent's, at no cost however many there are).
        self.changed.clear();
        if self.open.is_empty() || declares_namespaces(node) {
            for ns in node.namespaces() {
                let p = ns.name().unwrap_or("");
                let uri = ns.uri();
                if p != "xml" && self.scope.get(p) != Some(uri) {
                    self.scope.push(p, uri);
                    self.changed.push((p, uri));
                }
            }
        }
        let prefix = self.element_prefix(node);

        // The namespace axis.
        self.ns_buf.clear();
        if self.exclusive {
            // Visibly utilized: the element's own prefix (the default
            // namespace when unprefixed) and its attributes' prefixes.
            if prefix != "xml" {
                self.consider_namespace(prefix, self.bound(prefix));
            }
            for attr in node.attributes() {
                if let Some(uri) = attr.namespace() {
                    if uri != XML_NS {
                        let attr_prefix = self.attribute_prefix(node, &attr);
                        if !attr_prefix.is_empty() {
                            self.consider_namespace(attr_prefix, Some(uri));
                        }
                    }
                }
            }
            // The PrefixList, handled as inclusive C14N does.
            for i in 0..self.inclusive_prefixes.len() {
                let wanted = self.inclusive_prefixes[i];
                match self.bound(wanted) {
                    Some(uri) => self.consider_namespace(wanted, Some(uri)),
                    None if wanted.is_empty() => self.consider_namespace("", None),
                    None => {}
                }
            }
            // A prefix used several times was queued several times.
            self.ns_buf.sort_unstable_by(|a, b| a.0.cmp(b.0));
            self.ns_buf.dedup_by(|a, b| a.0 == b.0);
        } else {
            // Every namespace whose binding differs from the parent's (all
            // of them at the apex), `xmlns=""` included.
            for i in 0..self.changed.len() {
                let (p, uri) = self.changed[i];
                if uri.is_empty() {
                    self.consider_namespace(p, None);
                } else {
                    self.consider_namespace(p, Some(uri));
                }
            }
            self.ns_buf.sort_unstable_by(|a, b| a.0.cmp(b.0));
        }

        // The attribute axis.
        self.attr_buf.clear();
        for attr in node.attributes() {
            let ns = attr.namespace().unwrap_or("");
            let attr_prefix = if ns.is_empty() {
                ""
            } else {
                self.attribute_prefix(node, &attr)
            };
            self.attr_buf.push(Attr {
                ns,
                local: attr.name(),
                prefix: attr_prefix,
                value: attr.value(),
            });
        }
        if subset_apex && !self.exclusive {
            // C14N 1.0 §2.4: the xml:* attributes of the omitted ancestors,
            // the nearest winning, unless the apex has its own.
            let mut ancestor = node.parent_element();
            while let Some(element) = ancestor {
                for attr in element.attributes() {
                    if attr.namespace() == Some(XML_NS)
                        && !self
                            .attr_buf
                            .iter()
                            .any(|a| a.ns == XML_NS && a.local == attr.name())
                    {
                        self.attr_buf.push(Attr {
                            ns: XML_NS,
                            local: attr.name(),
                            prefix: "xml",
                            value: attr.value(),
                        });
                    }
                }
                ancestor = element.parent_element();
            }
        }
        self.attr_buf
            .sort_unstable_by(|a, b| (a.ns, a.local).cmp(&(b.ns, b.local)));

        // The start tag.
        self.out.push(b'<');
        self.push_qname(prefix, local);
        for i in 0..self.ns_buf.len() {
            let (p, uri) = self.ns_buf[i];
            if p.is_empty() {
                self.out.extend_from_slice(b" xmlns=\"");
            } else {
                self.out.extend_from_slice(b" xmlns:");
                self.out.extend_from_slice(p.as_bytes());
                self.out.extend_from_slice(b"=\"");
            }
            escape_attribute(&mut self.out, uri);
            self.out.push(b'"');
            self.rendered.push(p, uri);
        }
        for i in 0..self.attr_buf.len() {
            let Attr {
                prefix: p,
                local: l,
                value,
                ..
            } = self.attr_buf[i];
            self.out.push(b' ');
            self.push_qname(p, l);
            self.out.extend_from_slice(b"=\"");
            escape_attribute(&mut self.out, value);
            self.out.push(b'"');
        }
        self.out.push(b'>');
        self.open.push(Frame {
            prefix,
            local,
            scope_mark,
            rendered_mark,
        });
    }

    fn end_element(&mut self) {
        if let Some(frame) = self.open.pop() {
            self.out.extend_from_slice(b"</");
            self.push_qname(frame.prefix, frame.local);
            self.out.push(b'>');
            self.scope.truncate(frame.scope_mark);
            self.rendered.truncate(frame.rendered_mark);
        }
    }

    /// The prefix of an element as written in the source (roxmltree keeps
    /// only the namespace URI), checked against the bindings in scope;
    /// derived from the bindings when the source text cannot tell.
    fn element_prefix<'input: 'a>(&self, node: Node<'a, 'input>) -> &'a str {
        let local = node.tag_name().name();
        let uri = node.tag_name().namespace();
        if let Some(raw) = start_tag_name(node) {
            if let Some(prefix) = prefix_of(raw, local) {
                if self.bound(prefix) == uri {
                    return prefix;
                }
            }
        }
        match uri {
            None => "",
            Some(uri) => node
                .namespaces()
                .filter(|ns| ns.uri() == uri)
                .min_by_key(|ns| ns.name().is_some())
                .and_then(|ns| ns.name())
                .unwrap_or(""),
        }
    }

    /// The prefix of a namespaced attribute as written in the source,
    /// checked against the bindings in scope (`xml` for the XML namespace).
    fn attribute_prefix<'input: 'a>(
        &self,
        node: Node<'a, 'input>,
        attr: &roxmltree::Attribute<'a, 'input>,
    ) -> &'a str {
        let Some(uri) = attr.namespace() else {
            return "";
        };
        if uri == XML_NS {
            return "xml";
        }
        let text: &'input str = node.document().input_text();
        if let Some(raw) = text.get(attr.range_qname()) {
            if let Some(prefix) = prefix_of(raw, attr.name()) {
                if !prefix.is_empty() && self.bound(prefix) == Some(uri) {
                    return prefix;
                }
            }
        }
        node.namespaces()
            .find(|ns| ns.uri() == uri && ns.name().is_some())
            .and_then(|ns| ns.name())
            .unwrap_or("")
    }

    fn push_qname(&mut self, prefix: &str, local: &str) {
        if !prefix.is_empty() {
            self.out.extend_from_slice(prefix.as_bytes());
            self.out.push(b':');
        }
        self.out.extend_from_slice(local.as_bytes());
    }

    fn text(&mut self, text: &str) {
        escape_text(&mut self.out, text);
    }

    fn comment(&mut self, text: &str) {
        self.out.extend_from_slice(b"<!--");
        push_normalized_line_ends(&mut self.out, text);
        self.out.extend_from_slice(b"-->");
    }

    fn pi(&mut self, node: Node) {
        if let Some(pi) = node.pi() {
            self.out.extend_from_slice(b"<?");
            self.out.extend_from_slice(pi.target.as_bytes());
            if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                self.out.push(b' ');
                push_normalized_line_ends(&mut self.out, value);
            }
            self.out.extend_from_slice(b"?>");
        }
    }
}

/// Split a raw qualified name `raw` into its prefix if its local part is
/// `local`: `Some("")` when unprefixed, `None` when it does not match.
fn prefix_of<'t>(raw: &'t str, local: &str) -> Option<&'t str> {
    if raw == local {
        return Some("");
    }
    let prefix = raw.strip_suffix(local)?.strip_suffix(':')?;
    (!prefix.is_empty() && !prefix.contains(':')).then_some(prefix)
}

fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The qualified name in the source start tag of `node`, if the source text
/// is there (roxmltree's element range starts at its `<`).
fn start_tag_name<'a, 'input: 'a>(node: Node<'a, 'input>) -> Option<&'input str> {
    let text: &'input str = node.document().input_text();
    let raw = text.get(node.range().start..)?.strip_prefix('<')?;
    let end = raw
        .bytes()
        .position(|b| is_xml_space(b) || b == b'/' || b == b'>')
        .unwrap_or(raw.len());
    Some(&raw[..end])
}

/// Whether the start tag of element `node` may declare namespaces: `false`
/// only when it certainly does not (same number of bindings as its parent
/// and no `xmlns` attribute in the source start tag), so that its bindings
/// are exactly its parent's.
fn declares_namespaces(node: Node) -> bool {
    match node.parent_element() {
        Some(parent) if parent.namespaces().len() == node.namespaces().len() => {}
        _ => return true,
    }
    let Some(name) = start_tag_name(node) else {
        return true;
    };
    if prefix_of(name, node.tag_name().name()).is_none() {
        return true;
    }
    let text = node.document().input_text().as_bytes();
    let mut i = node.range().start + 1 + name.len();
    loop {
        while text.get(i).copied().is_some_and(is_xml_space) {
            i += 1;
        }
        match text.get(i) {
            Some(b'/') | Some(b'>') => return false,
            None => return true,
            _ => {}
        }
        let start = i;
        while text.get(i).is_some_and(|&b| b != b'=' && !is_xml_space(b)) {
            i += 1;
        }
        let attr_name = &text[start..i];
        if attr_name == b"xmlns" || attr_name.starts_with(b"xmlns:") {
            return true;
        }
        while text.get(i).is_some_and(|&b| b != b'=') {
            i += 1;
        }
        i += 1;
        while text.get(i).copied().is_some_and(is_xml_space) {
            i += 1;
        }
        let quote = match text.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => q,
            _ => return true,
        };
        i += 1;
        while text.get(i).is_some_and(|&b| b != quote) {
            i += 1;
        }
        i += 1;
    }
}

/// Append `text` with the text-node escapes of C14N: `&amp; &lt; &gt; &#xD;`.
fn escape_text(out: &mut Vec<u8>, text: &str) {
    escape(out, text, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}

/// Append `value` with the attribute escapes of C14N:
/// `&amp; &lt; &quot; &#x9; &#xA; &#xD;`.
fn escape_attribute(out: &mut Vec<u8>, value: &str) {
    escape(out, value, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xA;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    });
}

#[inline]
fn escape(out: &mut Vec<u8>, text: &str, replacement: impl Fn(u8) -> Option<&'static [u8]>) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(entity) = replacement(b) {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(entity);
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Append `text` with XML line-end normalisation (`\r\n` and a lone `\r`
/// become `\n`), for the comments and processing instructions that
/// roxmltree stores raw.
fn push_normalized_line_ends(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    if !bytes.contains(&b'\r') {
        out.extend_from_slice(bytes);
        return;
    }
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' {
            out.push(b'\n');
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
        } else {
            out.push(bytes[i]);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inclusive(with_comments: bool) -> Algorithm {
        Algorithm::Inclusive { with_comments }
    }

    fn exclusive(with_comments: bool, prefixes: &[&str]) -> Algorithm {
        Algorithm::Exclusive {
            with_comments,
            inclusive_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn doc_c14n(text: &str, algorithm: &Algorithm) -> String {
        let doc = crate::document::xml::parse(text, "t").unwrap();
        String::from_utf8(canonicalize_document(&doc, algorithm, None)).unwrap()
    }

    fn subtree_c14n(text: &str, local: &str, algorithm: &Algorithm) -> String {
        let doc = crate::document::xml::parse(text, "t").unwrap();
        let node = doc
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == local)
            .unwrap();
        String::from_utf8(canonicalize_subtree(node, algorithm)).unwrap()
    }

    #[test]
    fn uris_round_trip() {
        for uri in [C14N, C14N_WITH_COMMENTS, EXC_C14N, EXC_C14N_WITH_COMMENTS] {
            let algorithm = Algorithm::from_uri(uri, "").unwrap();
            assert_eq!(algorithm.uri(), uri);
            assert_eq!(algorithm.with_comments(), uri.ends_with("#WithComments"));
            assert!(!algorithm.without_comments().with_comments());
        }
        assert_eq!(
            Algorithm::from_uri("http://www.w3.org/2006/12/xml-c14n11", ""),
            None
        );
        assert_eq!(
            Algorithm::from_uri(EXC_C14N, " a\t#default  b "),
            Some(exclusive(false, &["a", "#default", "b"]))
        );
        assert_eq!(Algorithm::from_uri(C14N, "a"), Some(inclusive(false)));
    }

    #[test]
    fn from_element_reads_the_prefix_list() {
        let text = r##"<T xmlns="http://www.w3.org/2000/09/xmldsig#" Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="p #default"/></T>"##;
        let doc = crate::document::xml::parse(text, "t").unwrap();
        assert_eq!(
            Algorithm::from_element(doc.root_element()),
            Some(exclusive(true, &["p", "#default"]))
        );
    }

    #[test]
    fn text_and_attribute_escapes() {
        let text =
            "<a b=\"&quot;&lt;&amp;&#9;&#10;&#13;>'\">&lt;&amp;&gt;&#13;\"'<![CDATA[<&>]]></a>";
        assert_eq!(
            doc_c14n(text, &inclusive(false)),
            "<a b=\"&quot;&lt;&amp;&#x9;&#xA;&#xD;>'\">&lt;&amp;&gt;&#xD;\"'&lt;&amp;&gt;</a>"
        );
    }

    #[test]
    fn literal_whitespace_in_attributes_is_normalised_by_the_parser() {
        assert_eq!(
            doc_c14n("<a b=\"x\ty\r\nz\nw\"/>", &inclusive(false)),
            "<a b=\"x y z w\"></a>"
        );
    }

    #[test]
    fn line_ends_in_text_comments_and_pis() {
        let text = "<?p a\r\nb?>\r\n<a>x\r\ny\rz<!--c\r\nd\re--><?q r\rs?></a>";
        assert_eq!(
            doc_c14n(text, &inclusive(true)),
            "<?p a\nb?>\n<a>x\ny\nz<!--c\nd\ne--><?q r\ns?></a>"
        );
    }

    #[test]
    fn a_carriage_return_before_a_reference_needs_normalising_first() {
        let raw = "<a>x\r&amp;y\r&#13;z</a>";
        assert_eq!(normalize_line_ends(raw), "<a>x\n&amp;y\n&#13;z</a>");
        assert!(matches!(
            normalize_line_ends("<a/>"),
            std::borrow::Cow::Borrowed(_)
        ));
        let text = normalize_line_ends(raw);
        assert_eq!(
            doc_c14n(&text, &inclusive(false)),
            "<a>x\n&amp;y\n&#xD;z</a>"
        );
        // What roxmltree alone gives (a known parser quirk, see
        // `normalize_line_ends`): if this starts failing, roxmltree was fixed.
        assert_eq!(
            doc_c14n(raw, &inclusive(false)),
            "<a>x&#xD;&amp;y&#xD;&#xD;z</a>"
        );
    }

    #[test]
    fn document_level_nodes_get_line_breaks() {
        let text = "<?xml version=\"1.0\"?>\n<!--one-->\n<?pi  data ?>\n<a/>\n<!--two--><?end?>\n";
        assert_eq!(
            doc_c14n(text, &inclusive(true)),
            "<!--one-->\n<?pi data ?>\n<a></a>\n<!--two-->\n<?end?>"
        );
        assert_eq!(
            doc_c14n(text, &inclusive(false)),
            "<?pi data ?>\n<a></a>\n<?end?>"
        );
    }

    #[test]
    fn attributes_sort_by_namespace_uri_then_local_name() {
        let text = r#"<e xmlns:b="http://b/" xmlns:a="http://c/" a:z="1" b:y="2" x="3" a:a="4" w="5" xml:lang="en"/>"#;
        assert_eq!(
            doc_c14n(text, &inclusive(false)),
            r#"<e xmlns:a="http://c/" xmlns:b="http://b/" w="5" x="3" b:y="2" a:a="4" a:z="1" xml:lang="en"></e>"#
        );
    }

    #[test]
    fn superfluous_declarations_are_dropped_and_redeclarations_kept() {
        let text = r#"<a xmlns="http://d/" xmlns:p="http://p/"><b xmlns="http://d/" xmlns:p="http://p/"><p:c xmlns:p="http://q/"/></b><d xmlns=""><e xmlns=""/></d></a>"#;
        assert_eq!(
            doc_c14n(text, &inclusive(false)),
            r#"<a xmlns="http://d/" xmlns:p="http://p/"><b><p:c xmlns:p="http://q/"></p:c></b><d xmlns=""><e></e></d></a>"#
        );
        let text = r#"<a xmlns=""><b/></a>"#;
        assert_eq!(doc_c14n(text, &inclusive(false)), "<a><b></b></a>");
    }

    #[test]
    fn excluded_subtree_keeps_the_whitespace_around_it() {
        let text = "<r>\n  <x>1</x>\n  <Signature><s/></Signature>\n</r>";
        let doc = crate::document::xml::parse(text, "t").unwrap();
        let signature = doc
            .descendants()
            .find(|n| n.has_tag_name("Signature"))
            .unwrap();
        let out = canonicalize_document(&doc, &inclusive(false), Some(signature.id()));
        assert_eq!(out, b"<r>\n  <x>1</x>\n  \n</r>");
    }

    #[test]
    fn subset_apex_inherits_namespaces_and_xml_attributes() {
        let text = r#"<r xmlns:u="http://u/" xmlns="http://d/" xml:lang="en" xml:base="http://b/"><m xml:lang="fr" xml:space="preserve"><s xml:space="default" a="1"><!--c--><t/></s></m></r>"#;
        assert_eq!(
            subtree_c14n(text, "s", &inclusive(true)),
            r#"<s xmlns="http://d/" xmlns:u="http://u/" a="1" xml:base="http://b/" xml:lang="fr" xml:space="default"><!--c--><t></t></s>"#
        );
        assert_eq!(
            subtree_c14n(text, "s", &exclusive(false, &[])),
            r#"<s xmlns="http://d/" a="1" xml:space="default"><t></t></s>"#
        );
        assert_eq!(
            subtree_c14n(text, "s", &exclusive(false, &["u"])),
            r#"<s xmlns="http://d/" xmlns:u="http://u/" a="1" xml:space="default"><t></t></s>"#
        );
    }

    #[test]
    fn exclusive_renders_only_visibly_utilized_namespaces() {
        let text = r#"<a:r xmlns:a="http://a/" xmlns:b="http://b/" xmlns:c="http://c/" xmlns="http://d/"><x b:at="1"><a:y><b:z/></a:y></x><w xmlns=""/></a:r>"#;
        assert_eq!(
            doc_c14n(text, &exclusive(false, &[])),
            r#"<a:r xmlns:a="http://a/"><x xmlns="http://d/" xmlns:b="http://b/" b:at="1"><a:y><b:z></b:z></a:y></x><w></w></a:r>"#
        );
        assert_eq!(
            doc_c14n(text, &exclusive(false, &["c", "#default"])),
            r#"<a:r xmlns="http://d/" xmlns:a="http://a/" xmlns:c="http://c/"><x xmlns:b="http://b/" b:at="1"><a:y><b:z></b:z></a:y></x><w xmlns=""></w></a:r>"#
        );
    }

    #[test]
    fn exclusive_undeclares_the_default_namespace_when_used() {
        let text = r#"<r xmlns="http://d/"><s xmlns=""><t/></s></r>"#;
        assert_eq!(
            doc_c14n(text, &exclusive(false, &[])),
            r#"<r xmlns="http://d/"><s xmlns=""><t></t></s></r>"#
        );
    }

    #[test]
    fn the_xml_namespace_is_never_declared() {
        let text = r#"<r xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:lang="en"><s xml:space="preserve"/></r>"#;
        for algorithm in [inclusive(false), exclusive(false, &["xml"])] {
            assert_eq!(
                doc_c14n(text, &algorithm),
                r#"<r xml:lang="en"><s xml:space="preserve"></s></r>"#
            );
        }
    }

    #[test]
    fn prefix_comes_from_the_source_when_two_prefixes_share_a_uri() {
        let text = r#"<r xmlns="http://s/" xmlns:p="http://s/"><p:e p:a="1"/><e/></r>"#;
        assert_eq!(
            doc_c14n(text, &inclusive(false)),
            r#"<r xmlns="http://s/" xmlns:p="http://s/"><p:e p:a="1"></p:e><e></e></r>"#
        );
    }

    #[test]
    fn declarations_are_found_in_any_start_tag_syntax() {
        // Same number of bindings as the parent (an override), quotes of
        // both kinds, `>` and `xmlns` inside values, spaces around `=`.
        let text = "<r xmlns:a=\"http://u/\"><e x = 'xmlns:a=\"z\" >'\n y=\"/>\" xmlns:a\t=\t'http://v/'><a:f/></e><a:g k='>' /></r>";
        assert_eq!(
            doc_c14n(text, &inclusive(false)),
            "<r xmlns:a=\"http://u/\"><e xmlns:a=\"http://v/\" x=\"xmlns:a=&quot;z&quot; >\" y=\"/>\"><a:f></a:f></e><a:g k=\">\"></a:g></r>"
        );
        let doc = crate::document::xml::parse(text, "t").unwrap();
        let flags: Vec<bool> = doc
            .descendants()
            .filter(|n| n.is_element())
            .map(declares_namespaces)
            .collect();
        assert_eq!(flags, [true, true, false, false]);
    }

    #[test]
    fn many_namespaces_in_scope() {
        let declarations: String = (0..crate::document::xml::limits::MAX_DECLARATIONS_PER_ELEMENT)
            .map(|i| format!(" xmlns:p{i}=\"http://x/{i}\""))
            .collect();
        let text = format!(
            "<r{declarations}><p7:e p31:a=\"1\"><p7:f xmlns:p7=\"http://x/7\"/></p7:e></r>"
        );
        let out = doc_c14n(&text, &exclusive(false, &["p3"]));
        assert_eq!(
            out,
            "<r xmlns:p3=\"http://x/3\"><p7:e xmlns:p31=\"http://x/31\" xmlns:p7=\"http://x/7\" p31:a=\"1\"><p7:f></p7:f></p7:e></r>"
        );
        let out = doc_c14n(&text, &inclusive(false));
        assert!(
            out.ends_with("><p7:e p31:a=\"1\"><p7:f></p7:f></p7:e></r>"),
            "{out}"
        );
        assert_eq!(out.matches("xmlns:").count(), 32);
    }

    #[test]
    fn non_element_subtrees() {
        let text = "<r>a&amp;b<!--c--><?p d?></r>";
        let doc = crate::document::xml::parse(text, "t").unwrap();
        let nodes: Vec<_> = doc.root_element().children().collect();
        let all = |n| String::from_utf8(canonicalize_subtree(n, &inclusive(true))).unwrap();
        assert_eq!(all(nodes[0]), "a&amp;b");
        assert_eq!(all(nodes[1]), "<!--c-->");
        assert_eq!(all(nodes[2]), "<?p d?>");
        assert_eq!(all(doc.root()), "<r>a&amp;b<!--c--><?p d?></r>");
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let depth = 100_000;
        let text = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let doc = roxmltree::Document::parse(&text).unwrap();
        let out = canonicalize_document(&doc, &inclusive(false), None);
        assert_eq!(out.len(), depth * 7);
    }
}
