//! Distinguished names as RFC 2253 strings, exactly as the legacy (Java) tools printed them, and the e-mail of a certificate.
//!
//! The endorsement of a signed document carries the signer's subject and
//! issuer as `javax.security.auth.x500.X500Principal.getName()` printed them,
//! and the Marketplace compares those strings byte for byte. [`rfc2253`]
//! reproduces that rendering (the rules are in `metadata.md` §4.5):
//!
//! - RDNs in **reverse** DER order, joined by `,` with no spaces; the values
//!   of a multi-valued RDN joined by `+` in DER (SET OF) order;
//! - keywords only for `CN`, `C`, `L`, `ST`, `O`, `OU`, `STREET`, `DC` and
//!   `UID`; any other attribute as `<dotted OID>=#<hex of the DER value>`
//!   (tag and length included, lower case), e.g. an emailAddress of
//!   `jane@example.org` is `1.2.840.113549.1.9.1=#16106a616e65406578616d706c652e6f7267`;
//! - string values decoded (UTF8String as UTF-8; PrintableString,
//!   TeletexString, IA5String and GeneralString as Latin-1; BMPString as
//!   UTF-16BE) and not otherwise escaped, except a backslash before each of
//!   `, = + < > # ; " \` anywhere, `\00` for a NUL character, and `\ ` for
//!   each leading or trailing space (or carriage return);
//! - any other value type of a keyword attribute (UniversalString included,
//!   which Java does not decode either) in the `#hex` form.
//!
//! The e-mail of a certificate is the first rfc822Name of its
//! subjectAltName ([`subject_email`]), the only source the legacy signer and
//! validator used; [`any_email`] also falls back to an emailAddress attribute
//! of the subject, as grid certificates often carry it there, and is what
//! the signer writes. [`certificate_emails`] lists every e-mail a
//! certificate carries, the addresses the verifier accepts in an
//! endorsement signed with it.

use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::extensions::GeneralName;
use x509_parser::x509::{AttributeTypeAndValue, RelativeDistinguishedName, X509Name};

/// The dotted OID of the PKCS#9 emailAddress attribute.
pub const EMAIL_ADDRESS_OID: &str = "1.2.840.113549.1.9.1";

/// The characters Java puts a backslash before, wherever they occur.
const ESCAPED: &[char] = &[',', '=', '+', '<', '>', '#', ';', '"', '\\'];

/// The name as Java's `X500Principal.getName()` (RFC 2253 form) prints it.
///
/// An empty name gives an empty string.
pub fn rfc2253(name: &X509Name<'_>) -> String {
    let rdns: Vec<&RelativeDistinguishedName<'_>> = name.iter_rdn().collect();
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, ava) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            push_ava(&mut out, ava);
        }
    }
    out
}

/// The name in OpenSSL's one-line "slash" form, as grid tools and IGTF
/// policy files write it, byte for byte what `openssl x509 -subject
/// -nameopt compat` prints (OpenSSL's `X509_NAME_oneline`):
/// `/C=CH/O=CERN/CN=Jane Doe`.
///
/// RDNs in DER order, each introduced by `/`; the values of a multi-valued
/// RDN joined by `+`; OpenSSL's short names (`emailAddress` included) or the
/// dotted OID. Values are their raw content bytes whatever their type
/// (only a GeneralString that looks like UCS-4 keeps every fourth byte),
/// with `/` and `+` escaped by a backslash and every byte outside printable
/// ASCII written `\xHH`.
pub fn openssl_slash(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for rdn in name.iter_rdn() {
        out.push('/');
        for (j, ava) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = ava.attr_type().to_id_string();
            out.push_str(openssl_short_name(&oid).unwrap_or(&oid));
            out.push('=');
            push_openssl_escaped(&mut out, &oneline_bytes(ava.attr_value()));
        }
    }
    out
}

/// Whether the parsed `name` holds every attribute of its DER: the
/// encoding is a SEQUENCE of non-empty SETs of `SEQUENCE { OID, value }`
/// with nothing left over, and the parser found as many attributes. (The
/// parser stops quietly at an RDN it cannot read, such as an empty SET, and
/// drops the rest of the name, which OpenSSL would print.)
pub fn fully_parsed(name: &X509Name<'_>) -> bool {
    let parsed = name.iter_attributes().count();
    count_attributes(name.as_raw()) == Some(parsed)
}

/// The number of attributes of a well-formed Name DER, or `None`.
fn count_attributes(der: &[u8]) -> Option<usize> {
    use x509_parser::der_parser::asn1_rs::FromDer;
    let (rest, name) = Any::from_der(der).ok()?;
    if !rest.is_empty() || name.tag() != Tag::Sequence {
        return None;
    }
    let mut count = 0;
    let mut rdns = name.data;
    while !rdns.is_empty() {
        let (next, rdn) = Any::from_der(rdns).ok()?;
        if rdn.tag() != Tag::Set || rdn.data.is_empty() {
            return None;
        }
        let mut avas = rdn.data;
        while !avas.is_empty() {
            let (next_ava, ava) = Any::from_der(avas).ok()?;
            let (value, oid) = Any::from_der(ava.data).ok()?;
            let (trailing, _) = Any::from_der(value).ok()?;
            if ava.tag() != Tag::Sequence || oid.tag() != Tag::Oid || !trailing.is_empty() {
                return None;
            }
            count += 1;
            avas = next_ava;
        }
        rdns = next;
    }
    Some(count)
}

/// The bytes `X509_NAME_oneline` prints for a value: the content, except
/// that a GeneralString of a multiple of four bytes whose first three bytes
/// of every four are zero is taken as UCS-4 and only the fourth is kept.
fn oneline_bytes(value: &Any<'_>) -> Vec<u8> {
    // OpenSSL keeps a constructed or non-universal value whole (tag, length
    // and content) and a primitive universal one as its content.
    if value.class() != Class::Universal || value.header.is_constructed() {
        return der_encoding(value);
    }
    let data = value.data;
    let ucs4 = value.class() == Class::Universal
        && value.tag() == Tag::GeneralString
        && data.len() % 4 == 0
        && data.chunks(4).all(|c| c[..3] == [0, 0, 0]);
    if ucs4 {
        data.chunks(4).map(|c| c[3]).collect()
    } else {
        data.to_vec()
    }
}

/// Appends raw value bytes as OpenSSL's compat form does: `\/` and `\+`,
/// and `\xHH` (upper case) for bytes outside printable ASCII.
fn push_openssl_escaped(out: &mut String, bytes: &[u8]) {
    for &byte in bytes {
        match byte {
            b'/' | b'+' => {
                out.push('\\');
                out.push(char::from(byte));
            }
            0x20..=0x7e => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\x{byte:02X}")),
        }
    }
}

/// OpenSSL's short name of an attribute type, for the usual ones.
fn openssl_short_name(dotted_oid: &str) -> Option<&'static str> {
    Some(match dotted_oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.13" => "description",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.41" => "name",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.45" => "x500UniqueIdentifier",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.16" => "postalAddress",
        "2.5.4.18" => "postOfficeBox",
        "2.5.4.19" => "physicalDeliveryOfficeName",
        "2.5.4.20" => "telephoneNumber",
        "2.5.4.23" => "facsimileTelephoneNumber",
        "2.5.4.51" => "houseIdentifier",
        "2.5.4.54" => "dmdName",
        "2.5.4.65" => "pseudonym",
        "2.5.4.72" => "role",
        "2.5.4.97" => "organizationIdentifier",
        "0.9.2342.19200300.100.1.3" => "mail",
        "1.2.840.113549.1.9.2" => "unstructuredName",
        "1.2.840.113549.1.9.8" => "unstructuredAddress",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        EMAIL_ADDRESS_OID => "emailAddress",
        _ => return None,
    })
}

/// The certificate's e-mail as the legacy tools found it: the first
/// rfc822Name of the subjectAltName extension, in extension order.
///
/// `None` when the extension is absent, unparsable (including a duplicated
/// extension) or holds no rfc822Name.
pub fn subject_email(cert: &X509Certificate<'_>) -> Option<String> {
    let san = cert.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|name| match name {
        GeneralName::RFC822Name(email) => Some((*email).to_string()),
        _ => None,
    })
}

/// The certificate's e-mail from the subjectAltName ([`subject_email`]),
/// or else the first emailAddress attribute (in DER order) of the subject
/// name, decoded as a string.
pub fn any_email(cert: &X509Certificate<'_>) -> Option<String> {
    subject_email(cert).or_else(|| {
        cert.subject()
            .iter_attributes()
            .filter(|ava| ava.attr_type().to_id_string() == EMAIL_ADDRESS_OID)
            .find_map(|ava| decode_string(ava.attr_value()))
    })
}

/// Every e-mail address a certificate carries: each rfc822Name of its
/// subjectAltName (in extension order), then each emailAddress attribute of
/// its subject (in DER order). An emailAddress whose value is not a string
/// is listed in the `#hex` form of [`rfc2253`], which no address equals.
///
/// `Err` when an e-mail could be missed: the subjectAltName extension
/// cannot be read (malformed, present twice, or holding an entry that
/// cannot be decoded), or the subject is not parsed whole
/// ([`fully_parsed`]).
pub fn certificate_emails(cert: &X509Certificate<'_>) -> Result<Vec<String>, String> {
    if !fully_parsed(cert.subject()) {
        return Err("the subject name cannot be read whole".into());
    }
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("the subjectAltName extension cannot be read: {e}"))?;
    let mut emails = Vec::new();
    for name in san.iter().flat_map(|san| san.value.general_names.iter()) {
        match name {
            GeneralName::RFC822Name(email) => emails.push((*email).to_string()),
            // x509-parser keeps what it cannot decode (an rfc822Name that
            // is not ASCII, an unknown tag) aside instead of failing.
            GeneralName::Invalid(tag, _) => {
                return Err(format!(
                    "the subjectAltName holds an entry that cannot be read (tag [{}])",
                    tag.0
                ))
            }
            _ => {}
        }
    }
    for ava in cert.subject().iter_attributes() {
        if ava.attr_type().to_id_string() == EMAIL_ADDRESS_OID {
            let value = ava.attr_value();
            emails.push(decode_string(value).unwrap_or_else(|| {
                let mut hex = String::new();
                push_hex(&mut hex, value);
                hex
            }));
        }
    }
    Ok(emails)
}

/// The RFC 2253 keyword Java uses for an attribute type, if any.
fn keyword(dotted_oid: &str) -> Option<&'static str> {
    Some(match dotted_oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// Appends one `type=value` pair.
fn push_ava(out: &mut String, ava: &AttributeTypeAndValue<'_>) {
    let oid = ava.attr_type().to_id_string();
    let value = ava.attr_value();
    match keyword(&oid) {
        Some(kw) => {
            out.push_str(kw);
            out.push('=');
            match decode_string(value) {
                Some(text) => push_escaped(out, &text),
                None => push_hex(out, value),
            }
        }
        None => {
            out.push_str(&oid);
            out.push('=');
            push_hex(out, value);
        }
    }
}

/// Decodes a value of one of the string types Java renders as text
/// (`AVA.isDerString` and `AVA.getCharset` of current JDKs).
fn decode_string(value: &Any<'_>) -> Option<String> {
    if value.class() != Class::Universal || value.header.is_constructed() {
        return None;
    }
    let data = value.data;
    match value.tag() {
        Tag::Utf8String => Some(String::from_utf8_lossy(data).into_owned()),
        Tag::PrintableString | Tag::TeletexString | Tag::Ia5String | Tag::GeneralString => {
            Some(data.iter().map(|&b| char::from(b)).collect())
        }
        Tag::BmpString => {
            let units = data
                .chunks(2)
                .map(|pair| match pair {
                    [hi, lo] => u16::from_be_bytes([*hi, *lo]),
                    // An odd trailing byte is malformed input.
                    _ => 0xFFFD,
                })
                .collect::<Vec<u16>>();
            Some(
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Appends a decoded string value with Java's escaping.
fn push_escaped(out: &mut String, value: &str) {
    // First pass: backslash before the special characters, `\00` for NUL.
    let mut escaped: Vec<char> = Vec::with_capacity(value.len());
    for c in value.chars() {
        if ESCAPED.contains(&c) {
            escaped.push('\\');
            escaped.push(c);
        } else if c == '\0' {
            escaped.extend(['\\', '0', '0']);
        } else {
            escaped.push(c);
        }
    }
    // Second pass, over the escaped text as Java does: a backslash before
    // each leading and trailing space or carriage return.
    let is_blank = |c: &char| *c == ' ' || *c == '\r';
    let lead = escaped.iter().take_while(|c| is_blank(c)).count();
    let trail = escaped.len() - escaped.iter().rev().take_while(|c| is_blank(c)).count();
    for (i, c) in escaped.iter().enumerate() {
        if i < lead || i >= trail {
            out.push('\\');
        }
        out.push(*c);
    }
}

/// Appends `#` and the lower-case hex of the value's DER encoding (tag,
/// minimal length, content), as Java's `DerValue.toByteArray()` re-encodes it.
fn push_hex(out: &mut String, value: &Any<'_>) {
    out.push('#');
    for byte in der_encoding(value) {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
    }
}

/// The DER encoding of a value: identifier octets, minimal length, content.
fn der_encoding(value: &Any<'_>) -> Vec<u8> {
    let data = value.data;
    let mut der = Vec::with_capacity(data.len() + 8);
    let class_bits = (value.class() as u8) << 6;
    let constructed = if value.header.is_constructed() {
        0x20
    } else {
        0
    };
    let Tag(number) = value.tag();
    if number < 31 {
        der.push(class_bits | constructed | number as u8);
    } else {
        der.push(class_bits | constructed | 0x1f);
        let mut groups = Vec::new();
        let mut n = number;
        loop {
            groups.push((n & 0x7f) as u8);
            n >>= 7;
            if n == 0 {
                break;
            }
        }
        for (i, group) in groups.iter().rev().enumerate() {
            let more = if i + 1 < groups.len() { 0x80 } else { 0 };
            der.push(group | more);
        }
    }
    let len = data.len();
    if len < 0x80 {
        der.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        der.push(0x80 | (bytes.len() - skip) as u8);
        der.extend_from_slice(&bytes[skip..]);
    }
    der.extend_from_slice(data);
    der
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-attribute name (CN) whose value is the DER `value`.
    fn name_with_cn(value: &[u8]) -> Vec<u8> {
        let mut ava = vec![0x06, 0x03, 0x55, 0x04, 0x03];
        ava.extend_from_slice(value);
        let ava = [&[0x30, ava.len() as u8][..], &ava].concat();
        let set = [&[0x31, ava.len() as u8][..], &ava].concat();
        [&[0x30, set.len() as u8][..], &set].concat()
    }

    fn slash(name_der: &[u8]) -> String {
        use x509_parser::prelude::FromDer;
        let (_, name) = X509Name::from_der(name_der).unwrap();
        openssl_slash(&name)
    }

    #[test]
    fn a_name_the_parser_cuts_short_is_not_fully_parsed() {
        let whole = name_with_cn(&[0x0c, 1, b'a']);
        let (_, name) = {
            use x509_parser::prelude::FromDer;
            X509Name::from_der(&whole).unwrap()
        };
        assert!(fully_parsed(&name));
        // The same name followed by an empty RDN and another CN.
        let ava = [0x30, 8, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 1, b'b'];
        let mut content = whole[2..].to_vec();
        content.extend_from_slice(&[0x31, 0]);
        content.extend_from_slice(&[0x31, ava.len() as u8]);
        content.extend_from_slice(&ava);
        let cut = [&[0x30, content.len() as u8][..], &content].concat();
        use x509_parser::prelude::FromDer;
        // The parser accepts it, dropping what follows the empty RDN.
        let (_, name) = X509Name::from_der(&cut).unwrap();
        assert_eq!(openssl_slash(&name), "/CN=a");
        assert!(!fully_parsed(&name));
    }

    #[test]
    fn slash_form_of_unusual_value_types() {
        // An ObjectDescriptor prints as its bytes, as OpenSSL prints it.
        assert_eq!(
            slash(&name_with_cn(&[0x07, 4, b'C', b'C', b'C', b'C'])),
            "/CN=CCCC"
        );
        // A GeneralString that looks like UCS-4 keeps every fourth byte.
        let ucs4 = [0x1b, 8, 0, 0, 0, b'A', 0, 0, 0, b'B'];
        assert_eq!(slash(&name_with_cn(&ucs4)), "/CN=AB");
        // A constructed value is printed whole, escaped.
        let sequence = [0x30, 3, 0x0c, 1, b'/'];
        assert_eq!(slash(&name_with_cn(&sequence)), "/CN=0\\x03\\x0C\\x01\\/");
    }

    fn escaped(value: &str) -> String {
        let mut out = String::new();
        push_escaped(&mut out, value);
        out
    }

    #[test]
    fn escapes_like_java() {
        assert_eq!(escaped("O=Acme, Inc."), "O\\=Acme\\, Inc.");
        assert_eq!(escaped("x#y"), "x\\#y");
        assert_eq!(escaped(" a "), "\\ a\\ ");
        assert_eq!(escaped("  "), "\\ \\ ");
        assert_eq!(escaped("a\0b"), "a\\00b");
        assert_eq!(escaped("\\"), "\\\\");
        assert_eq!(escaped("Genève"), "Genève");
        assert_eq!(escaped(""), "");
    }

    #[test]
    fn long_form_length_and_tag() {
        let data = vec![b'a'; 200];
        let any = Any::from_tag_and_data(Tag::Ia5String, &data);
        let der = der_encoding(&any);
        assert_eq!(&der[..3], &[0x16, 0x81, 200]);
        assert_eq!(der.len(), 203);
        let any = Any::from_tag_and_data(Tag(40), b"");
        assert_eq!(der_encoding(&any), vec![0x1f, 40, 0]);
        let any = Any::from_tag_and_data(Tag(200), b"");
        assert_eq!(der_encoding(&any), vec![0x1f, 0x81, 0x48, 0]);
    }
}
