//! Generated documents of the shapes that made the parser's cost grow
//! faster than its input (many namespace declarations, deep nesting with a
//! declaration at each level, many attributes), and of the other shapes a
//! hostile document can take, each at and just over the limit that bounds
//! it, and in growing sizes below it.
//!
//! Used by the parsing tests (limits and verdicts), the benchmark (time
//! against size, `make bench`) and as fuzzing seeds (`make fuzz`). Each
//! document is a complete draft: a minimal valid description with the
//! shape inside it, so that every stage of validation sees it.

// Not every user of this module uses every item.
#![allow(dead_code)]

/// The limits the shapes probe; kept equal to the library's by a test of
/// the parsing limits (the generator must not depend on the library, so
/// that it also builds for the benchmark tools).
pub const MAX_DEPTH: usize = 128;
/// See [`MAX_DEPTH`].
pub const MAX_ATTRIBUTES_PER_ELEMENT: usize = 64;
/// See [`MAX_DEPTH`].
pub const MAX_ATTRIBUTES: usize = 200_000;
/// See [`MAX_DEPTH`].
pub const MAX_DECLARATIONS_PER_ELEMENT: usize = 32;
/// See [`MAX_DEPTH`].
pub const MAX_DECLARATIONS: usize = 256;
/// See [`MAX_DEPTH`].
pub const MAX_START_TAG_BYTES: usize = 64 * 1024;
/// See [`MAX_DEPTH`].
pub const MAX_NODES: usize = 200_000;
/// See [`MAX_DEPTH`].
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// The namespace declarations of the template's root element.
const ROOT_DECLARATIONS: usize = 5;
/// The attributes of the template (`xml:base`, `rdf:about`, three
/// `rdf:parseType`).
const TEMPLATE_ATTRIBUTES: usize = 5;
/// Elements above an extension property: `rdf:RDF`, `rdf:Description`.
const ABOVE_EXTENSIONS: usize = 2;

/// What validating a generated document must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Valid as a draft (`--no-signature`).
    Valid,
    /// Refused, with a message containing this text.
    Refused(&'static str),
}

/// One generated document.
pub struct Sample {
    /// A file name for it (`depth-at-limit.xml`).
    pub name: String,
    /// The document.
    pub text: String,
    /// The verdict it must get.
    pub expect: Expect,
}

/// A family of documents of one shape, in sizes `1..=max_units` units.
pub struct Shape {
    /// The shape's name.
    pub name: &'static str,
    /// The most units a document of this shape may have and still pass
    /// every limit.
    pub max_units: usize,
    /// The document of `units` units.
    pub build: fn(usize) -> String,
}

/// A minimal draft description with `extensions` among its properties and
/// `declarations` (` xmlns:x="..."`, each with a leading space) on the root.
pub fn draft(declarations: &str, extensions: &str) -> String {
    format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:slreq="http://mp.stratuslab.eu/slreq#" xmlns:slterms="http://mp.stratuslab.eu/slterms#" xmlns:ex="http://example.org/shape#"{declarations} xml:base="http://mp.stratuslab.eu/">
<rdf:Description rdf:about="#MMZu9WvwKIro-rtBQfDk4PsKO7_">
<dcterms:identifier>MMZu9WvwKIro-rtBQfDk4PsKO7_</dcterms:identifier>
<slreq:bytes>100</slreq:bytes>
<slreq:checksum rdf:parseType="Resource">
<slreq:algorithm>SHA-1</slreq:algorithm>
<slreq:value>c319bbd5afc0a22ba3eaed0507c39383ec28eeff</slreq:value>
</slreq:checksum>
<slreq:endorsement rdf:parseType="Resource">
<dcterms:created>2011-01-24T09:59:42Z</dcterms:created>
<slreq:endorser rdf:parseType="Resource">
<slreq:email>jane.tester@example.org</slreq:email>
</slreq:endorser>
</slreq:endorsement>
{extensions}<dcterms:type>machine</dcterms:type>
</rdf:Description>
</rdf:RDF>
"##
    )
}

/// `depth` nested blank-node properties around a literal one.
fn nested(depth: usize) -> String {
    let mut text = "<ex:n rdf:parseType=\"Resource\">".repeat(depth);
    text.push_str("<ex:leaf>x</ex:leaf>");
    text.push_str(&"</ex:n>".repeat(depth));
    text
}

/// A property element with `n` property attributes: a blank node.
fn with_attributes(n: usize) -> String {
    let attributes: String = (0..n).map(|i| format!(" ex:a{i}=\"v\"")).collect();
    format!("<ex:attrs{attributes}/>\n")
}

/// `n` extra namespace declarations for the root.
fn root_declarations(n: usize) -> String {
    (0..n)
        .map(|i| format!(" xmlns:p{i}=\"http://example.org/p{i}#\""))
        .collect()
}

/// `n` properties, each declaring its own prefix.
fn declaring_siblings(n: usize) -> String {
    (0..n)
        .map(|i| format!("<d{i}:k xmlns:d{i}=\"http://example.org/d{i}#\">v</d{i}:k>\n"))
        .collect()
}

/// The issue's shape (b): `depth` nested properties, each declaring a
/// prefix that the next one uses.
fn declaring_chain(depth: usize) -> String {
    let mut text = String::new();
    for i in 0..depth {
        text.push_str(&format!(
            "<q{i}:n xmlns:q{i}=\"http://example.org/q{i}#\" rdf:parseType=\"Resource\">"
        ));
    }
    text.push_str("<ex:leaf>x</ex:leaf>");
    for i in (0..depth).rev() {
        text.push_str(&format!("</q{i}:n>"));
    }
    text
}

/// A property whose start tag is `bytes` long.
fn long_start_tag(bytes: usize) -> String {
    let frame = "<ex:long ex:v=\"\"/>".len();
    format!("<ex:long ex:v=\"{}\"/>\n", "x".repeat(bytes - frame))
}

/// The shapes that scale: each grows with its units, and stays within
/// every limit up to `max_units`.
pub fn shapes() -> Vec<Shape> {
    vec![
        Shape {
            name: "flat-properties",
            // Each property is three nodes (element, text, line break).
            max_units: MAX_NODES / 3 - 100,
            build: |n| draft("", &"<ex:k>value</ex:k>\n".repeat(n)),
        },
        Shape {
            name: "attributes",
            max_units: (MAX_ATTRIBUTES - TEMPLATE_ATTRIBUTES) / MAX_ATTRIBUTES_PER_ELEMENT,
            build: |n| draft("", &with_attributes(MAX_ATTRIBUTES_PER_ELEMENT).repeat(n)),
        },
        Shape {
            name: "prefixed-names",
            // Every name is looked up among the most declarations in scope.
            max_units: MAX_NODES / 3 - 100,
            build: |n| {
                let last = MAX_DECLARATIONS_PER_ELEMENT - ROOT_DECLARATIONS - 1;
                let property = format!("<p{last}:k p0:a=\"v\"/>\n");
                draft(&root_declarations(last + 1), &property.repeat(n))
            },
        },
        Shape {
            name: "deep-subtrees",
            max_units: MAX_NODES / (3 * (MAX_DEPTH - ABOVE_EXTENSIONS)),
            build: |n| draft("", &nested(MAX_DEPTH - ABOVE_EXTENSIONS - 1).repeat(n)),
        },
        Shape {
            name: "long-text",
            max_units: (MAX_DOCUMENT_BYTES - 4096) / 16,
            build: |n| {
                draft(
                    "",
                    &format!("<ex:t>{}</ex:t>\n", "text &amp; more.".repeat(n)),
                )
            },
        },
        Shape {
            name: "comments",
            max_units: MAX_NODES / 2 - 100,
            build: |n| draft("", &"<!-- a comment -->\n".repeat(n)),
        },
    ]
}

/// Documents at each limit (valid) and just over it (refused, naming the
/// limit), and the three shapes that once made the parser's cost grow with
/// the square or cube of their size, at the size that did.
pub fn near_limits() -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut pair = |name: &str, at: String, over: String, message: &'static str| {
        samples.push(Sample {
            name: format!("{name}-at-limit.xml"),
            text: at,
            expect: Expect::Valid,
        });
        samples.push(Sample {
            name: format!("{name}-over-limit.xml"),
            text: over,
            expect: Expect::Refused(message),
        });
    };
    let depth = MAX_DEPTH - ABOVE_EXTENSIONS - 1;
    pair(
        "depth",
        draft("", &nested(depth)),
        draft("", &nested(depth + 1)),
        "levels of nested elements",
    );
    pair(
        "attributes-per-element",
        draft("", &with_attributes(MAX_ATTRIBUTES_PER_ELEMENT)),
        draft("", &with_attributes(MAX_ATTRIBUTES_PER_ELEMENT + 1)),
        "attributes on one element",
    );
    let room = MAX_ATTRIBUTES - TEMPLATE_ATTRIBUTES;
    let full =
        with_attributes(MAX_ATTRIBUTES_PER_ELEMENT).repeat(room / MAX_ATTRIBUTES_PER_ELEMENT);
    let rest = room % MAX_ATTRIBUTES_PER_ELEMENT;
    pair(
        "attributes",
        draft("", &(full.clone() + &with_attributes(rest))),
        draft("", &(full + &with_attributes(rest + 1))),
        "attributes in the document",
    );
    let room = MAX_DECLARATIONS_PER_ELEMENT - ROOT_DECLARATIONS;
    pair(
        "declarations-per-element",
        draft(&root_declarations(room), ""),
        draft(&root_declarations(room + 1), ""),
        "namespace declarations on one element",
    );
    let room = MAX_DECLARATIONS - ROOT_DECLARATIONS;
    pair(
        "declarations",
        draft("", &declaring_siblings(room)),
        draft("", &declaring_siblings(room + 1)),
        "namespace declarations in the document",
    );
    pair(
        "start-tag",
        draft("", &long_start_tag(MAX_START_TAG_BYTES)),
        draft("", &long_start_tag(MAX_START_TAG_BYTES + 1)),
        "bytes in one start tag",
    );
    pair(
        "nodes",
        draft("", &"<ex:k>value</ex:k>\n".repeat(MAX_NODES / 3 - 100)),
        draft("", &"<ex:k>value</ex:k>\n".repeat(MAX_NODES / 3 + 100)),
        "XML nodes",
    );
    let filler = MAX_DOCUMENT_BYTES - draft("", "<ex:t></ex:t>\n").len();
    pair(
        "document-bytes",
        draft("", &format!("<ex:t>{}</ex:t>\n", "x".repeat(filler))),
        draft("", &format!("<ex:t>{}</ex:t>\n", "x".repeat(filler + 1))),
        "16777216 bytes",
    );
    // The issue's shapes (a), (b) and (c) at the sizes that took a minute.
    let root_children: String = "<ex:k>v</ex:k>\n".repeat(4000);
    samples.push(Sample {
        name: "many-root-declarations.xml".into(),
        text: draft(&root_declarations(4000), &root_children),
        expect: Expect::Refused("namespace declarations on one element"),
    });
    samples.push(Sample {
        name: "declaring-chain.xml".into(),
        text: draft("", &declaring_chain(2000)),
        expect: Expect::Refused("levels of nested elements"),
    });
    samples.push(Sample {
        name: "declaring-chain-within-depth.xml".into(),
        text: draft("", &declaring_chain(MAX_DEPTH - ABOVE_EXTENSIONS - 1)),
        expect: Expect::Valid,
    });
    samples.push(Sample {
        name: "many-attributes.xml".into(),
        text: draft("", &with_attributes(10_000)),
        expect: Expect::Refused("attributes on one element"),
    });
    samples
}
