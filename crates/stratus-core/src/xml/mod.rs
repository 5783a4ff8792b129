//! Safe XML parsing: DTDs (and so every entity declaration) are refused, and
//! the number of nodes is bounded, so an entity bomb or a huge flat document
//! cannot exhaust memory.

pub mod c14n;

use crate::error::{Error, Invalid, Result, Stage};

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

/// Decode `bytes` as UTF-8 text, naming `source_name` when it is not.
pub fn decode_utf8<'a>(bytes: &'a [u8], source_name: &str) -> Result<&'a str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| Error::Invalid {
        source_name: source_name.to_string(),
        reason: Invalid::new(
            Stage::Xml,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ),
        ),
    })
}

/// Parse `text` as XML with DTDs refused and a node limit.
pub fn parse<'a>(text: &'a str, source_name: &str) -> Result<roxmltree::Document<'a>> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, options).map_err(|e| Error::Invalid {
        source_name: source_name.to_string(),
        reason: Invalid::new(Stage::Xml, describe_parse_error(&e)),
    })
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
    fn bom_is_skipped_and_bad_utf8_named() {
        assert_eq!(decode_utf8(b"\xEF\xBB\xBF<a/>", "f").unwrap(), "<a/>");
        assert!(decode_utf8(b"<a>\xff</a>", "f")
            .unwrap_err()
            .to_string()
            .contains("offset 3"));
    }
}
