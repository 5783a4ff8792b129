//! The typed metadata document.
//!
//! Every term of the legacy format has a typed field with its cardinality:
//! `Option` for a term that appears at most once (`Some("")` is an element
//! that is present but empty, which legacy parsers require for some terms),
//! `Vec` for repeatable terms. Anything else in the description (terms of
//! other namespaces, `rdf:parseType="Resource"` subtrees, a second copy of a
//! single-valued term, a known term with unexpected attributes) is kept as
//! an [`Element`] tree and written back unchanged.

/// A checksum of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// The algorithm's legacy name: `MD5`, `SHA-1`, `SHA-256`, `SHA-512`.
    pub algorithm: String,
    /// The digest in hex.
    pub value: String,
}

/// Who signed the entry (`slreq:endorser`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endorser {
    /// The endorser's e-mail address: the Marketplace's key for the endorser.
    pub email: Option<String>,
    /// The certificate subject, as an RFC 2253 string.
    pub subject: Option<String>,
    /// The certificate issuer(s), as RFC 2253 strings; only the first is
    /// compared with the certificate.
    pub issuers: Vec<String>,
}

/// The endorsement: when and by whom the entry was signed. In a signed
/// document every part is present; a draft may carry only the endorser's
/// e-mail, for the signer to use when the certificate has none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endorsement {
    /// The signing time, `yyyy-MM-ddTHH:mm:ssZ`.
    pub created: Option<String>,
    /// The signer.
    pub endorser: Option<Endorser>,
}

/// The optional StratusLab and Dublin Core terms, in the legacy writing order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Terms {
    /// `dcterms:type`: the image type (`base`, `grid`, `machine`, ...); the
    /// constraint rules require exactly one.
    pub image_type: Option<String>,
    /// `slterms:kind`: `machine` or `disk`.
    pub kind: Option<String>,
    /// `slterms:os`.
    pub os: Option<String>,
    /// `slterms:os-version`.
    pub os_version: Option<String>,
    /// `slterms:os-arch`.
    pub os_arch: Option<String>,
    /// `slterms:version`: the image version.
    pub version: Option<String>,
    /// `dcterms:compression`: `gz`, `bz2`, `xz` or empty.
    pub compression: Option<String>,
    /// `slterms:location`: where the image can be downloaded, in order.
    pub locations: Vec<String>,
    /// `dcterms:format`: `raw`, `qcow2`, ...
    pub format: Option<String>,
    /// `dcterms:creator`: the image author.
    pub creator: Option<String>,
    /// `dcterms:created`: when the record was created (not the endorsement time).
    pub created: Option<String>,
    /// `dcterms:valid`: when the metadata expires.
    pub valid: Option<String>,
    /// `dcterms:title`.
    pub title: Option<String>,
    /// `dcterms:alternative`: the Marketplace tag.
    pub alternative: Option<String>,
    /// `dcterms:description`.
    pub description: Option<String>,
    /// `slterms:hypervisor`.
    pub hypervisor: Option<String>,
    /// `slterms:disks-bus`: `ide`, `scsi` or `virtio`.
    pub disks_bus: Option<String>,
    /// `dcterms:publisher`.
    pub publisher: Option<String>,
    /// `slterms:deprecated`: why the entry is deprecated; absent means not.
    pub deprecated: Option<String>,
    /// `slterms:serial-number`: index of the image within a series.
    pub serial_number: Option<String>,
    /// `slterms:inbound-port`: required inbound ports (0 = all).
    pub inbound_ports: Vec<String>,
    /// `slterms:outbound-port`: required outbound ports (0 = all).
    pub outbound_ports: Vec<String>,
    /// `slterms:icmp`: ICMP packet types.
    pub icmp: Vec<String>,
    /// `dcterms:isReplacedBy`: the identifier of a newer image.
    pub is_replaced_by: Option<String>,
    /// `dcterms:replaces`: the identifier of an older image.
    pub replaces: Option<String>,
    /// `dcterms:isVersionOf`: the identifier of the image this is a version of.
    pub is_version_of: Option<String>,
}

/// An XML element kept verbatim: an extension term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The namespace URI (empty for no namespace).
    pub namespace: String,
    /// The prefix it was written with; `None` for the default namespace.
    pub prefix: Option<String>,
    /// The local name.
    pub name: String,
    /// The attributes, in document order (namespace declarations excluded).
    pub attributes: Vec<Attribute>,
    /// The content, in document order.
    pub children: Vec<Node>,
}

/// An attribute of an [`Element`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The namespace URI, empty for an unqualified attribute.
    pub namespace: String,
    /// The prefix it was written with, when qualified.
    pub prefix: Option<String>,
    /// The local name.
    pub name: String,
    /// The value.
    pub value: String,
}

/// The content of an [`Element`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (entities resolved).
    Text(String),
}

/// A metadata document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// `rdf:type`, the optional first child of the description.
    pub rdf_type: Option<String>,
    /// `dcterms:identifier`: the 27-character image identifier.
    pub identifier: String,
    /// `slreq:bytes`: the (decompressed) image size.
    pub bytes: u64,
    /// `slreq:checksum`: at least one, exactly one of them SHA-1.
    pub checksums: Vec<Checksum>,
    /// `slreq:endorsement`; `None` is the empty element of an unsigned draft.
    pub endorsement: Option<Endorsement>,
    /// The optional terms.
    pub terms: Terms,
    /// Everything else in the description, in document order.
    pub extensions: Vec<Element>,
}

impl Manifest {
    /// The checksum value for `algorithm` (legacy name, e.g. `SHA-1`).
    pub fn checksum(&self, algorithm: &str) -> Option<&str> {
        self.checksums
            .iter()
            .find(|c| c.algorithm == algorithm)
            .map(|c| c.value.as_str())
    }

    /// The endorser's e-mail, when the entry is endorsed.
    pub fn endorser_email(&self) -> Option<&str> {
        self.endorsement
            .as_ref()
            .and_then(|e| e.endorser.as_ref())
            .and_then(|e| e.email.as_deref())
    }
}

/// A term's value(s), as the reader and writer walk [`Terms`].
pub(crate) enum TermValues<'a> {
    /// A term that appears at most once.
    One(&'a Option<String>),
    /// A repeatable term.
    Many(&'a Vec<String>),
}

/// Where the reader stores a term's value.
pub(crate) enum TermSlot<'a> {
    /// A term that appears at most once.
    One(&'a mut Option<String>),
    /// A repeatable term.
    Many(&'a mut Vec<String>),
}

/// Declares the known terms once, in the legacy writing order, and derives
/// the walk used by the writer and the lookup used by the reader from it.
macro_rules! known_terms {
    ($( $field:ident : $kind:ident = ($ns:expr, $local:expr) ),* $(,)?) => {
        impl Terms {
            /// The terms in legacy writing order: (namespace, local name, values).
            pub(crate) fn in_writing_order(&self) -> Vec<(&'static str, &'static str, TermValues<'_>)> {
                vec![$( ($ns, $local, TermValues::$kind(&self.$field)) ),*]
            }

            /// The field that holds the term `{ns}local`, if it is a known term.
            pub(crate) fn slot(&mut self, ns: &str, local: &str) -> Option<TermSlot<'_>> {
                $( if ns == $ns && local == $local {
                    return Some(TermSlot::$kind(&mut self.$field));
                } )*
                None
            }
        }
    };
}

use crate::document::xml::{DCTERMS_NS as DC, SLTERMS_NS as SL};

known_terms! {
    image_type: One = (DC, "type"),
    kind: One = (SL, "kind"),
    os: One = (SL, "os"),
    os_version: One = (SL, "os-version"),
    os_arch: One = (SL, "os-arch"),
    version: One = (SL, "version"),
    compression: One = (DC, "compression"),
    locations: Many = (SL, "location"),
    format: One = (DC, "format"),
    creator: One = (DC, "creator"),
    created: One = (DC, "created"),
    valid: One = (DC, "valid"),
    title: One = (DC, "title"),
    alternative: One = (DC, "alternative"),
    description: One = (DC, "description"),
    hypervisor: One = (SL, "hypervisor"),
    disks_bus: One = (SL, "disks-bus"),
    publisher: One = (DC, "publisher"),
    deprecated: One = (SL, "deprecated"),
    serial_number: One = (SL, "serial-number"),
    inbound_ports: Many = (SL, "inbound-port"),
    outbound_ports: Many = (SL, "outbound-port"),
    icmp: Many = (SL, "icmp"),
    is_replaced_by: One = (DC, "isReplacedBy"),
    replaces: One = (DC, "replaces"),
    is_version_of: One = (DC, "isVersionOf"),
}
