//! Limits on the shape of a document, checked in one linear pass over its
//! text before the tree parser sees it.
//!
//! The tree parser (roxmltree) has costs that grow faster than its input:
//! an element that declares namespaces copies every binding in scope (and
//! checks each copy against the others), a prefixed name is looked up by
//! a scan of the bindings in scope, and duplicate attributes are found by
//! comparing each attribute with every earlier one. Bounding the
//! declarations, the attributes and the nesting depth bounds each of these
//! by a constant, so parsing costs time and memory linear in the input.
//! The pass also refuses what the parser would let through on one element
//! (two declarations of one prefix, a prefix bound to the empty name) and
//! an XML declaration for another version than 1.0.
//!
//! The pass tokenizes with quick-xml, which the RDF/XML parser already
//! uses, configured to report only what it must (unclosed constructs), so
//! every mismatched or misplaced tag is still reported by the tree parser.

use quick_xml::events::{BytesStart, Event};
use std::fmt;
use std::ops::Range;

/// The deepest nesting of elements (real documents nest about 8 deep).
pub const MAX_DEPTH: usize = 128;
/// The most attributes on one element, namespace declarations not counted.
pub const MAX_ATTRIBUTES_PER_ELEMENT: usize = 64;
/// The most attributes in a document, namespace declarations not counted.
pub const MAX_ATTRIBUTES: usize = 200_000;
/// The most namespace declarations on one element.
pub const MAX_DECLARATIONS_PER_ELEMENT: usize = 32;
/// The most namespace declarations in a document (real documents have
/// about ten).
pub const MAX_DECLARATIONS: usize = 256;
/// The longest start tag, from its `<` to its `>`, in bytes.
pub const MAX_START_TAG_BYTES: usize = 64 * 1024;

/// A limit on the shape of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`MAX_DEPTH`].
    Depth,
    /// [`MAX_ATTRIBUTES_PER_ELEMENT`].
    AttributesPerElement,
    /// [`MAX_ATTRIBUTES`].
    Attributes,
    /// [`MAX_DECLARATIONS_PER_ELEMENT`].
    DeclarationsPerElement,
    /// [`MAX_DECLARATIONS`].
    Declarations,
    /// [`MAX_START_TAG_BYTES`].
    StartTagBytes,
}

impl Limit {
    /// The largest value the limit allows.
    pub fn value(self) -> usize {
        match self {
            Limit::Depth => MAX_DEPTH,
            Limit::AttributesPerElement => MAX_ATTRIBUTES_PER_ELEMENT,
            Limit::Attributes => MAX_ATTRIBUTES,
            Limit::DeclarationsPerElement => MAX_DECLARATIONS_PER_ELEMENT,
            Limit::Declarations => MAX_DECLARATIONS,
            Limit::StartTagBytes => MAX_START_TAG_BYTES,
        }
    }

    /// What the limit counts, in a message.
    fn counts(self) -> &'static str {
        match self {
            Limit::Depth => "levels of nested elements",
            Limit::AttributesPerElement => "attributes on one element",
            Limit::Attributes => "attributes in the document",
            Limit::DeclarationsPerElement => "namespace declarations on one element",
            Limit::Declarations => "namespace declarations in the document",
            Limit::StartTagBytes => "bytes in one start tag",
        }
    }
}

/// Why the pass refused a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// A limit was exceeded at the element `element`, at `position`.
    Limit {
        /// The limit.
        limit: Limit,
        /// The qualified name of the element at fault.
        element: String,
        /// Line and column (`3:17`) of the element's start tag.
        position: String,
    },
    /// Something the tree parser would accept but must not be: the message
    /// says what and where.
    NotAccepted(String),
    /// The text is not well-formed XML in a way the pass must stop at.
    Malformed(String),
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::Limit {
                limit,
                element,
                position,
            } => write!(
                f,
                "not accepted: the element '{element}' at {position} exceeds the limit of {} {}",
                limit.value(),
                limit.counts()
            ),
            ShapeError::NotAccepted(message) => write!(f, "not accepted: {message}"),
            ShapeError::Malformed(message) => write!(f, "not well-formed XML: {message}"),
        }
    }
}

/// Check the shape of `text` against every limit of this module, and the
/// namespace and XML-declaration rules the parser does not enforce.
pub fn check_shape(text: &str) -> Result<(), ShapeError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    let mut walk = Walk {
        text,
        depth: 0,
        attributes: 0,
        declarations: 0,
    };
    loop {
        let start = offset(reader.buffer_position());
        let event = reader.read_event().map_err(|e| {
            let at = offset(reader.error_position());
            ShapeError::Malformed(format!("{e} at {}", position(text, at)))
        })?;
        let span = start..offset(reader.buffer_position());
        match event {
            Event::Start(tag) => {
                walk.depth += 1;
                walk.start_tag(&tag, span)?;
            }
            Event::Empty(tag) => {
                walk.depth += 1;
                walk.start_tag(&tag, span)?;
                walk.depth -= 1;
            }
            Event::End(_) => walk.depth = walk.depth.saturating_sub(1),
            Event::Decl(decl) => check_version(&decl, text, start)?,
            Event::DocType(_) => {
                return Err(ShapeError::NotAccepted(
                    "the document has a DTD (<!DOCTYPE>); DTDs and entity declarations are refused"
                        .into(),
                ))
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// The counters of the pass.
struct Walk<'t> {
    text: &'t str,
    depth: usize,
    attributes: usize,
    declarations: usize,
}

impl Walk<'_> {
    /// Check one start tag (of an element at the current depth) that spans
    /// the bytes `span` of the text.
    fn start_tag(&mut self, tag: &BytesStart, span: Range<usize>) -> Result<(), ShapeError> {
        let start = span.start;
        let over = |limit| ShapeError::Limit {
            limit,
            element: String::from_utf8_lossy(tag.name().as_ref()).into_owned(),
            position: position(self.text, start),
        };
        if self.depth > MAX_DEPTH {
            return Err(over(Limit::Depth));
        }
        let mut own: Vec<&[u8]> = Vec::new();
        let mut attributes = 0;
        for attribute in tag.attributes().with_checks(false) {
            let attribute = attribute.map_err(|e| {
                ShapeError::Malformed(format!(
                    "{e} in the start tag at {}",
                    position(self.text, start)
                ))
            })?;
            let name = attribute.key.into_inner();
            let declared = match name {
                b"xmlns" => Some(&b""[..]),
                _ => name.strip_prefix(b"xmlns:"),
            };
            let Some(prefix) = declared else {
                attributes += 1;
                if attributes > MAX_ATTRIBUTES_PER_ELEMENT {
                    return Err(over(Limit::AttributesPerElement));
                }
                continue;
            };
            if !prefix.is_empty() && attribute.value.is_empty() {
                return Err(ShapeError::NotAccepted(format!(
                    "the prefix '{}' is bound to an empty namespace name at {}",
                    String::from_utf8_lossy(prefix),
                    position(self.text, start)
                )));
            }
            if own.len() == MAX_DECLARATIONS_PER_ELEMENT {
                return Err(over(Limit::DeclarationsPerElement));
            }
            if own.contains(&prefix) {
                return Err(ShapeError::NotAccepted(format!(
                    "{} is declared twice on one element at {}",
                    match prefix {
                        b"" => "the default namespace".to_string(),
                        p => format!("the prefix '{}'", String::from_utf8_lossy(p)),
                    },
                    position(self.text, start)
                )));
            }
            own.push(prefix);
        }
        if span.len() > MAX_START_TAG_BYTES {
            return Err(over(Limit::StartTagBytes));
        }
        self.attributes += attributes;
        if self.attributes > MAX_ATTRIBUTES {
            return Err(over(Limit::Attributes));
        }
        self.declarations += own.len();
        if self.declarations > MAX_DECLARATIONS {
            return Err(over(Limit::Declarations));
        }
        Ok(())
    }
}

/// Refuse an XML declaration for another version than 1.0: an XML 1.1
/// reader reads other characters (and other line ends) from the same bytes.
fn check_version(
    decl: &quick_xml::events::BytesDecl,
    text: &str,
    start: usize,
) -> Result<(), ShapeError> {
    match decl.version() {
        Ok(version) if version.as_ref() == b"1.0" => Ok(()),
        Ok(version) => Err(ShapeError::NotAccepted(format!(
            "the XML declaration at {} gives version '{}'; only XML 1.0 is read",
            position(text, start),
            String::from_utf8_lossy(&version)
        ))),
        Err(e) => Err(ShapeError::Malformed(format!(
            "{e} in the XML declaration at {}",
            position(text, start)
        ))),
    }
}

/// A reader position as an index into the text (which is in memory, so it
/// fits).
fn offset(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

/// The line and column (both from 1, the column in characters) of byte
/// `offset` of `text`, as the tree parser writes positions.
fn position(text: &str, offset: usize) -> String {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    format!("{line}:{column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit_of(text: &str) -> Option<Limit> {
        match check_shape(text) {
            Err(ShapeError::Limit { limit, .. }) => Some(limit),
            _ => None,
        }
    }

    #[test]
    fn each_limit_is_reached_exactly() {
        let attrs = |n: usize| (0..n).map(|i| format!(" a{i}='v'")).collect::<String>();
        let decls = |n: usize| {
            (0..n)
                .map(|i| format!(" xmlns:p{i}='urn:{i}'"))
                .collect::<String>()
        };
        let nested = |n: usize| "<e>".repeat(n) + &"</e>".repeat(n);
        check_shape(&format!("<r{}/>", attrs(MAX_ATTRIBUTES_PER_ELEMENT))).unwrap();
        assert_eq!(
            limit_of(&format!("<r{}/>", attrs(MAX_ATTRIBUTES_PER_ELEMENT + 1))),
            Some(Limit::AttributesPerElement)
        );
        check_shape(&format!("<r{}/>", decls(MAX_DECLARATIONS_PER_ELEMENT))).unwrap();
        assert_eq!(
            limit_of(&format!("<r{}/>", decls(MAX_DECLARATIONS_PER_ELEMENT + 1))),
            Some(Limit::DeclarationsPerElement)
        );
        check_shape(&nested(MAX_DEPTH)).unwrap();
        assert_eq!(limit_of(&nested(MAX_DEPTH + 1)), Some(Limit::Depth));
        let long = |n: usize| format!("<r a='{}'/>", "x".repeat(n - "<r a=''/>".len()));
        check_shape(&long(MAX_START_TAG_BYTES)).unwrap();
        assert_eq!(
            limit_of(&long(MAX_START_TAG_BYTES + 1)),
            Some(Limit::StartTagBytes)
        );
    }

    #[test]
    fn document_totals_are_counted_across_elements() {
        let per = MAX_DECLARATIONS_PER_ELEMENT;
        let element = |i: usize| {
            let decls: String = (0..per).map(|j| format!(" xmlns:p{j}='urn:{i}'")).collect();
            format!("<e{decls}/>")
        };
        let doc = |n: usize| format!("<r>{}</r>", (0..n).map(element).collect::<String>());
        check_shape(&doc(MAX_DECLARATIONS / per)).unwrap();
        assert_eq!(
            limit_of(&doc(MAX_DECLARATIONS / per + 1)),
            Some(Limit::Declarations)
        );
        let attrs: String = (0..MAX_ATTRIBUTES_PER_ELEMENT)
            .map(|i| format!(" a{i}='v'"))
            .collect();
        let doc = |n: usize| format!("<r>{}</r>", format!("<e{attrs}/>").repeat(n));
        check_shape(&doc(MAX_ATTRIBUTES / MAX_ATTRIBUTES_PER_ELEMENT)).unwrap();
        assert_eq!(
            limit_of(&doc(MAX_ATTRIBUTES / MAX_ATTRIBUTES_PER_ELEMENT + 1)),
            Some(Limit::Attributes)
        );
    }

    #[test]
    fn the_message_names_the_element_position_and_limit() {
        let attrs: String = (0..70).map(|i| format!(" a{i}='v'")).collect();
        let text = format!("<r>\n  <big{attrs}/></r>");
        let message = check_shape(&text).unwrap_err().to_string();
        assert_eq!(
            message,
            "not accepted: the element 'big' at 2:3 exceeds the limit of 64 attributes on one element"
        );
    }

    #[test]
    fn own_declarations_are_checked_and_inherited_ones_are_not() {
        for (text, expected) in [
            (
                r#"<a xmlns="" xmlns="urn:b"/>"#,
                "the default namespace is declared twice",
            ),
            (
                r#"<a xmlns:p="urn:a" xmlns:p="urn:b"/>"#,
                "the prefix 'p' is declared twice",
            ),
            (
                r#"<a xmlns:p=""/>"#,
                "the prefix 'p' is bound to an empty namespace name at 1:1",
            ),
        ] {
            let message = check_shape(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
        }
        check_shape(r#"<a xmlns="urn:a" xmlns:p="urn:p"><b xmlns="urn:b" xmlns:p="urn:q"/><c xmlns=""/></a>"#).unwrap();
    }

    #[test]
    fn only_xml_1_0_is_read() {
        check_shape("<?xml version='1.0' encoding='UTF-8'?><a/>").unwrap();
        check_shape("<a/>").unwrap();
        let message = check_shape("<?xml version=\"1.1\"?>\n<a/>")
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "not accepted: the XML declaration at 1:1 gives version '1.1'; only XML 1.0 is read"
        );
    }

    #[test]
    fn dtd_and_unclosed_constructs_are_refused() {
        let message = check_shape("<!DOCTYPE a><a/>").unwrap_err().to_string();
        assert!(message.contains("DTD"), "{message}");
        let message = check_shape("<a>\n<!-- open").unwrap_err().to_string();
        assert!(message.contains("comment not closed"), "{message}");
        assert!(message.ends_with("at 2:1"), "{message}");
    }

    #[test]
    fn mismatched_tags_are_left_to_the_tree_parser() {
        check_shape("<a><b></a>").unwrap();
        check_shape("</a><a>").unwrap();
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(position("ab\nc\u{e9}d", 6), "2:3");
        assert_eq!(position("abc", 0), "1:1");
        assert_eq!(position("\u{e9}", 1), "1:1");
    }
}
