//! Safe XML parsing: DTDs (and so every entity declaration) are refused, the
//! number of nodes is bounded, so an entity bomb or a huge flat document
//! cannot exhaust memory, and the shape of the document is bounded
//! ([`limits`]), so that no document makes the parser work harder than in
//! proportion to its length.

pub mod c14n;
pub mod limits;

use crate::error::{Error, Invalid, Result, Stage};
use std::borrow::Cow;

/// The RDF namespace.
pub const RDF_NS: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
/// The Dublin Core terms namespace.
pub const DCTERMS_NS: &str = "http://purl.org/dc/terms/";
/// The StratusLab required-terms namespace.
pub const SLREQ_NS: &str = "http://mp.stratuslab.eu/slreq#";
/// The StratusLab optional-terms namespace.
pub const SLTERMS_NS: &str = "http://mp.stratuslab.eu/slterms#";
/// The XML-DSig namespace.
pub const XMLDSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The `xml:` namespace.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The only `xml:base` a metadata document may carry.
pub const MARKETPLACE_BASE: &str = "http://mp.stratuslab.eu/";

/// The most nodes a metadata document may have. Real documents have a few
/// hundred; this bounds the memory a hostile document can cost.
pub const MAX_NODES: u32 = 200_000;

/// Decode a document's bytes as text, as an XML parser must: UTF-8 (with or
/// without a byte-order mark) or UTF-16 (recognised by its byte-order mark
/// or its first characters), and the ISO-8859-1 and US-ASCII encodings when
/// the XML declaration names them. `source_name` names the document in
/// errors.
///
/// Line ends are normalised (CR LF and lone CR become LF, XML 1.0 §2.11)
/// before parsing, since the parser misses a CR directly before a reference.
pub fn decode_text<'a>(bytes: &'a [u8], source_name: &str) -> Result<Cow<'a, str>> {
    let text = decode_encoding(bytes, source_name)?;
    Ok(match text {
        Cow::Borrowed(text) => c14n::normalize_line_ends(text),
        Cow::Owned(text) => Cow::Owned(c14n::normalize_line_ends(&text).into_owned()),
    })
}

fn decode_encoding<'a>(bytes: &'a [u8], source_name: &str) -> Result<Cow<'a, str>> {
    let refuse = |message: String| Error::Invalid {
        source_name: source_name.to_string(),
        reason: Invalid::new(Stage::Xml, message),
    };
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest).map(Cow::Borrowed).map_err(refuse);
    }
    match bytes {
        [0xFF, 0xFE, rest @ ..] => {
            return utf16(rest, u16::from_le_bytes)
                .map(Cow::Owned)
                .map_err(refuse)
        }
        [0xFE, 0xFF, rest @ ..] => {
            return utf16(rest, u16::from_be_bytes)
                .map(Cow::Owned)
                .map_err(refuse)
        }
        [b'<', 0, b'?', 0, ..] => {
            return utf16(bytes, u16::from_le_bytes)
                .map(Cow::Owned)
                .map_err(refuse)
        }
        [0, b'<', 0, b'?', ..] => {
            return utf16(bytes, u16::from_be_bytes)
                .map(Cow::Owned)
                .map_err(refuse)
        }
        _ => {}
    }
    match declared_encoding(bytes)
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("utf-8" | "utf8") => utf8(bytes).map(Cow::Borrowed).map_err(refuse),
        Some("iso-8859-1" | "latin1" | "iso_8859-1" | "l1") => {
            Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()))
        }
        Some("us-ascii" | "ascii") if bytes.is_ascii() => {
            utf8(bytes).map(Cow::Borrowed).map_err(refuse)
        }
        Some(other) => Err(refuse(format!(
            "unsupported encoding '{other}' (UTF-8, UTF-16, ISO-8859-1 and US-ASCII are read)"
        ))),
    }
}

fn utf8(bytes: &[u8]) -> std::result::Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        )
    })
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> std::result::Result<String, String> {
    if bytes.len() % 2 != 0 {
        return Err("not UTF-16 text (odd number of bytes)".into());
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units)
        .collect::<std::result::Result<String, _>>()
        .map_err(|e| {
            format!(
                "not UTF-16 text (unpaired surrogate {:04X})",
                e.unpaired_surrogate()
            )
        })
}

/// The `encoding` of the XML declaration, if there is one.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let head = bytes.strip_prefix(b"<?xml")?;
    let end = head.windows(2).position(|w| w == b"?>")?;
    let declaration = std::str::from_utf8(&head[..end]).ok()?;
    let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    value.find(quote).map(|end| &value[..end])
}

/// Parse `text` as XML with DTDs refused, a node limit, and the limits of
/// [`limits`] checked first, so that parsing costs time and memory linear
/// in the length of `text`.
pub fn parse<'a>(text: &'a str, source_name: &str) -> Result<roxmltree::Document<'a>> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    let refuse = |message: String| Error::Invalid {
        source_name: source_name.to_string(),
        reason: Invalid::new(Stage::Xml, message),
    };
    limits::check_shape(text).map_err(|e| refuse(e.to_string()))?;
    let doc = roxmltree::Document::parse_with_options(text, options)
        .map_err(|e| refuse(describe_parse_error(&e)))?;
    check_processing_instructions(&doc).map_err(refuse)?;
    Ok(doc)
}

/// Refuse processing instructions the XML grammar forbids and the parser
/// lets through: one named `xml` in any case (the name is reserved, and an
/// XML declaration may only open the document), and one whose content
/// follows its name without a space (`<?a$b?>`). Canonicalization would
/// write either back as a different, or not well-formed, instruction.
fn check_processing_instructions(doc: &roxmltree::Document) -> std::result::Result<(), String> {
    for node in doc.descendants() {
        let Some(pi) = node.pi() else { continue };
        let position = || doc.text_pos_at(node.range().start);
        if pi.target.eq_ignore_ascii_case("xml") {
            return Err(format!(
                "not well-formed XML: a processing instruction named '{}' at {} (an XML declaration is allowed only at the start of the document)",
                pi.target,
                position()
            ));
        }
        let raw = &doc.input_text()[node.range()];
        let after_target = raw.get(2 + pi.target.len()..).unwrap_or_default();
        if !(after_target.starts_with("?>") || after_target.starts_with(is_xml_space)) {
            return Err(format!(
                "not well-formed XML: no space after the processing instruction target '{}' at {}",
                pi.target,
                position()
            ));
        }
    }
    Ok(())
}

/// The XML white space characters (production S).
fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn describe_parse_error(error: &roxmltree::Error) -> String {
    match error {
        roxmltree::Error::DtdDetected => {
            "not accepted: the document has a DTD (<!DOCTYPE>); DTDs and entity declarations are refused".to_string()
        }
        roxmltree::Error::NodesLimitReached => {
            format!("not accepted: the document has more than {MAX_NODES} XML nodes")
        }
        other => format!("not well-formed XML: {other}"),
    }
}

/// Whether XML 1.0 can carry `c` in content (control characters other than
/// tab, newline and carriage return, surrogates and U+FFFE/U+FFFF cannot).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The text content of `node` (all descendant text, untrimmed), as XPath's
/// `string()` gives it.
pub fn string_value(node: roxmltree::Node) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// Whether `node` is an element named `{ns}local`.
pub fn is_element(node: roxmltree::Node, ns: &str, local: &str) -> bool {
    node.is_element() && node.tag_name().name() == local && node.tag_name().namespace() == Some(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_namespace_declarations_are_refused() {
        for text in [
            r#"<a xmlns="" xmlns="urn:b"><b/></a>"#,
            r#"<a><b xmlns="urn:a" xmlns="urn:b"/></a>"#,
            r#"<a xmlns:p=""><p:b/></a>"#,
        ] {
            let err = parse(text, "d.xml").unwrap_err().to_string();
            assert!(err.contains("not accepted"), "{text}: {err}");
        }
        for text in [
            r#"<a xmlns="urn:a"><b xmlns="urn:b"/><c xmlns=""/></a>"#,
            r#"<a xmlns:p="urn:a"><b xmlns:p="urn:b"/></a>"#,
        ] {
            parse(text, "d.xml").unwrap();
        }
    }

    /// Found by fuzzing the canonicalizer: the parser took `<?xml$version`
    /// for an instruction named `xml`, whose canonical form no parser reads.
    #[test]
    fn malformed_processing_instructions_are_refused() {
        for text in [
            "<?xml$version=\"1.0\"?><a/>",
            "<a/><?xml version=\"1.0\"?>",
            "<a><?XML x?></a>",
            "<a><?pi$x?></a>",
        ] {
            let err = parse(text, "d.xml").unwrap_err().to_string();
            assert!(
                err.contains("processing instruction") || err.contains("XML declaration"),
                "{text}: {err}"
            );
        }
        for text in [
            "<?xml version=\"1.0\"?><a/>",
            "<?xml-stylesheet href=\"s.xsl\"?><a><?pi?><?pi\tdata?></a>",
        ] {
            parse(text, "d.xml").unwrap();
        }
    }

    #[test]
    fn dtd_is_refused() {
        let text = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>"#;
        let err = parse(text, "doc.xml").unwrap_err();
        assert!(err.to_string().contains("DTD"), "{err}");
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn malformed_is_refused_with_position() {
        let err = parse("<a><b></a>", "x.xml").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("x.xml: not well-formed XML"), "{text}");
        assert!(text.contains("1:"), "{text}");
    }

    #[test]
    fn encodings_are_decoded() {
        assert_eq!(decode_text(b"\xEF\xBB\xBF<a/>", "f").unwrap(), "<a/>");
        let err = decode_text(b"<a>\xff</a>", "f").unwrap_err().to_string();
        assert!(err.contains("offset 3"), "{err}");
        let utf16le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<a>\u{e9}</a>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode_text(&utf16le, "f").unwrap(), "<a>\u{e9}</a>");
        let utf16be: Vec<u8> = "<?xml version=\"1.0\"?><a/>"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(
            decode_text(&utf16be, "f").unwrap(),
            "<?xml version=\"1.0\"?><a/>"
        );
        let latin1 = b"<?xml version='1.0' encoding='ISO-8859-1'?><a>\xe9</a>";
        assert_eq!(
            decode_text(latin1, "f").unwrap(),
            "<?xml version='1.0' encoding='ISO-8859-1'?><a>\u{e9}</a>"
        );
        let err = decode_text(b"<?xml version='1.0' encoding='EBCDIC'?><a/>", "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported encoding 'ebcdic'"), "{err}");
    }
}
