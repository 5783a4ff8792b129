//! E-mail addresses as identities: comparing the endorsement's address with
//! the ones a certificate carries, and the e-mail name constraints a CA puts
//! on the certificates below it.
//!
//! **Mailboxes** ([`same_mailbox`]). An address is split at its last `@`
//! (a quoted local part may hold an `@`, a domain never does). The local
//! part is compared exactly, byte for byte: RFC 5321 §2.4 leaves its case to
//! the receiving host, which may treat `Jane` and `jane` as two mailboxes.
//! The domain part is compared ignoring ASCII case, as domain names are
//! (RFC 5321 §2.4, RFC 1035 §2.3.3). Nothing else is normalised: no
//! Unicode case folding, no removal of dots or `+tags`.
//!
//! **Name constraints** ([`EmailConstraints`]). The rfc822Name subtrees of a
//! CA's nameConstraints extension (RFC 5280 §4.2.1.10) hold three forms:
//! a mailbox (`root@example.org`: that address only), a host
//! (`example.org`: every address at that host) and a domain
//! (`.example.org`: every address at any host under that domain, not at
//! the domain itself). An address is within a CA's constraints when it is
//! within at least one permitted subtree (if the CA has any of this form)
//! and within no excluded one. Local parts compare exactly and hosts
//! ignoring ASCII case, as for mailboxes and as OpenSSL applies them. An
//! address without `@` is within no subtree, so any constraint refuses it.
//!
//! The extension is read strictly: a GeneralSubtree with `minimum` or
//! `maximum` (which RFC 5280 forbids), a non-ASCII rfc822Name or trailing
//! bytes make the whole extension unreadable, and the certificate unusable.

use x509_parser::der_parser::asn1_rs::{Any, Class, FromDer, Tag};

/// The context-specific tag number of rfc822Name in a GeneralName.
const RFC822_NAME: u32 = 1;

/// Whether two addresses name the same mailbox: the local parts equal, the
/// domains equal ignoring ASCII case. Addresses without `@` compare exactly.
pub fn same_mailbox(a: &str, b: &str) -> bool {
    match (a.rsplit_once('@'), b.rsplit_once('@')) {
        (Some((local_a, domain_a)), Some((local_b, domain_b))) => {
            local_a == local_b && domain_a.eq_ignore_ascii_case(domain_b)
        }
        (None, None) => a == b,
        _ => false,
    }
}

/// Whether `address` is within the rfc822Name subtree `base` (RFC 5280
/// §4.2.1.10): a mailbox, a host, or a domain written with a leading dot.
pub fn within(base: &str, address: &str) -> bool {
    let Some((local, host)) = address.rsplit_once('@') else {
        return false;
    };
    match base.rsplit_once('@') {
        // A mailbox; an empty local part (`@host`) is read as the host, as
        // OpenSSL reads it.
        Some((base_local, base_host)) => {
            (base_local.is_empty() || base_local == local) && base_host.eq_ignore_ascii_case(host)
        }
        None if base.starts_with('.') => {
            host.len() > base.len()
                && host.is_char_boundary(host.len() - base.len())
                && host[host.len() - base.len()..].eq_ignore_ascii_case(base)
        }
        None => base.eq_ignore_ascii_case(host),
    }
}

/// The rfc822Name subtrees of one CA's nameConstraints extension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailConstraints {
    /// Permitted subtrees (none: every address is permitted).
    pub permitted: Vec<String>,
    /// Excluded subtrees.
    pub excluded: Vec<String>,
}

impl EmailConstraints {
    /// Whether the CA constrains e-mail names at all.
    pub fn is_empty(&self) -> bool {
        self.permitted.is_empty() && self.excluded.is_empty()
    }

    /// Whether `address` is within these constraints.
    pub fn allows(&self, address: &str) -> bool {
        let permitted =
            self.permitted.is_empty() || self.permitted.iter().any(|base| within(base, address));
        permitted && !self.excluded.iter().any(|base| within(base, address))
    }
}

/// A nameConstraints extension split in two: the e-mail subtrees, and the
/// rest of the extension re-encoded without them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitConstraints {
    /// The rfc822Name subtrees.
    pub email: EmailConstraints,
    /// The content of the NameConstraints SEQUENCE without the rfc822Name
    /// subtrees (the form rustls-webpki keeps for a trust anchor), or
    /// `None` when no other subtree is left.
    pub others: Option<Vec<u8>>,
}

/// Why a nameConstraints extension could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedConstraints(pub String);

impl std::fmt::Display for MalformedConstraints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unreadable name constraints: {}", self.0)
    }
}

impl std::error::Error for MalformedConstraints {}

/// Read the value of a nameConstraints extension (the DER of the
/// NameConstraints SEQUENCE, the content of the extension's OCTET STRING).
pub fn split_name_constraints(value: &[u8]) -> Result<SplitConstraints, MalformedConstraints> {
    let bad = |what: &str| MalformedConstraints(what.to_string());
    let (rest, sequence) = Any::from_der(value).map_err(|_| bad("not DER"))?;
    if !rest.is_empty() || sequence.tag() != Tag::Sequence || sequence.class() != Class::Universal {
        return Err(bad("not a single SEQUENCE"));
    }
    let mut split = SplitConstraints::default();
    let mut others = Vec::new();
    let mut input = sequence.data;
    let mut last_tag = None;
    while !input.is_empty() {
        let (next, subtrees) = Any::from_der(input).map_err(|_| bad("not DER"))?;
        let Tag(number) = subtrees.tag();
        let constructed = subtrees.header.is_constructed();
        if subtrees.class() != Class::ContextSpecific || !constructed || number > 1 {
            return Err(bad(
                "expected permittedSubtrees [0] or excludedSubtrees [1]",
            ));
        }
        if last_tag.is_some_and(|last| last >= number) {
            return Err(bad("subtrees out of order or repeated"));
        }
        last_tag = Some(number);
        let kept = split_subtrees(subtrees.data, |address| {
            let list = if number == 0 {
                &mut split.email.permitted
            } else {
                &mut split.email.excluded
            };
            list.push(address);
        })?;
        if !kept.is_empty() {
            others.push(0xa0 | number as u8);
            push_length(&mut others, kept.len());
            others.extend_from_slice(&kept);
        }
        input = next;
    }
    if !others.is_empty() {
        split.others = Some(others);
    }
    Ok(split)
}

/// Walk the GeneralSubtree elements of one `[0]` or `[1]`: hand each
/// rfc822Name to `email`, return the DER of the other subtrees.
fn split_subtrees(
    mut input: &[u8],
    mut email: impl FnMut(String),
) -> Result<Vec<u8>, MalformedConstraints> {
    let bad = |what: &str| MalformedConstraints(what.to_string());
    let mut kept = Vec::new();
    if input.is_empty() {
        // RFC 5280: GeneralSubtrees is SIZE (1..MAX).
        return Err(bad("an empty list of subtrees"));
    }
    while !input.is_empty() {
        let (next, subtree) = Any::from_der(input).map_err(|_| bad("not DER"))?;
        let raw = &input[..input.len() - next.len()];
        if subtree.tag() != Tag::Sequence || subtree.class() != Class::Universal {
            return Err(bad("a GeneralSubtree that is not a SEQUENCE"));
        }
        let (trailing, base) = Any::from_der(subtree.data).map_err(|_| bad("not DER"))?;
        if !trailing.is_empty() {
            // minimum and maximum: RFC 5280 says they are never used.
            return Err(bad("a GeneralSubtree with minimum or maximum"));
        }
        let Tag(number) = base.tag();
        if base.class() == Class::ContextSpecific && number == RFC822_NAME {
            if base.header.is_constructed() || !base.data.is_ascii() {
                return Err(bad("an rfc822Name that is not an IA5String"));
            }
            email(String::from_utf8_lossy(base.data).into_owned());
        } else {
            kept.extend_from_slice(raw);
        }
        input = next;
    }
    Ok(kept)
}

/// Append a DER length.
fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_ignore_the_case_of_the_domain_only() {
        assert!(same_mailbox("jane@example.org", "jane@example.org"));
        assert!(same_mailbox("jane@Example.ORG", "jane@example.org"));
        assert!(!same_mailbox("Jane@example.org", "jane@example.org"));
        assert!(!same_mailbox("jane@example.org", "jane@example.org.evil"));
        assert!(!same_mailbox("jane@example.org", "jane"));
        assert!(!same_mailbox("jane+x@example.org", "jane@example.org"));
        // Split at the last `@`: a quoted local part may hold one.
        assert!(same_mailbox("\"a@b\"@EXAMPLE.org", "\"a@b\"@example.org"));
        assert!(!same_mailbox("\"a@B\"@example.org", "\"a@b\"@example.org"));
        assert!(same_mailbox("plain", "plain"));
        assert!(!same_mailbox("plain", "Plain"));
    }

    #[test]
    fn the_three_forms_of_an_rfc822name_subtree() {
        // A mailbox.
        assert!(within("root@example.org", "root@EXAMPLE.org"));
        assert!(!within("root@example.org", "Root@example.org"));
        assert!(!within("root@example.org", "root@sub.example.org"));
        // A host.
        assert!(within("example.org", "anyone@Example.Org"));
        assert!(!within("example.org", "anyone@sub.example.org"));
        assert!(!within("example.org", "anyone@badexample.org"));
        // A domain: hosts under it, not the domain itself.
        assert!(within(".example.org", "a@sub.example.org"));
        assert!(within(".example.org", "a@deep.sub.EXAMPLE.org"));
        assert!(!within(".example.org", "a@example.org"));
        assert!(!within(".example.org", "a@badexample.org"));
        // `@host` reads as the host, as OpenSSL reads it.
        assert!(within("@example.org", "a@example.org"));
        // An address without `@` is within nothing.
        assert!(!within("example.org", "example.org"));
        assert!(!within(".example.org", "x.example.org"));
        // A local part that looks like a domain does not help.
        assert!(!within(".example.org", "a.example.org@evil.net"));
    }

    #[test]
    fn permitted_and_excluded_subtrees() {
        let constraints = EmailConstraints {
            permitted: vec![".example.org".into(), "example.org".into()],
            excluded: vec!["bad.example.org".into(), "boss@example.org".into()],
        };
        assert!(constraints.allows("jane@example.org"));
        assert!(constraints.allows("jane@good.example.org"));
        assert!(!constraints.allows("jane@bad.example.org"));
        assert!(!constraints.allows("boss@example.org"));
        assert!(!constraints.allows("jane@example.net"));
        let excluded_only = EmailConstraints {
            permitted: vec![],
            excluded: vec![".evil.net".into()],
        };
        assert!(excluded_only.allows("jane@example.net"));
        assert!(!excluded_only.allows("jane@x.evil.net"));
        assert!(EmailConstraints::default().allows("anything"));
    }

    /// `[n] { SEQUENCE { name } ... }` with each name's DER.
    fn subtrees(number: u8, names: &[&[u8]]) -> Vec<u8> {
        let mut content = Vec::new();
        for name in names {
            content.push(0x30);
            push_length(&mut content, name.len());
            content.extend_from_slice(name);
        }
        let mut out = vec![0xa0 | number];
        push_length(&mut out, content.len());
        out.extend(content);
        out
    }

    fn implicit(tag: u8, text: &str) -> Vec<u8> {
        let mut out = vec![tag, text.len() as u8];
        out.extend_from_slice(text.as_bytes());
        out
    }

    fn sequence(parts: &[Vec<u8>]) -> Vec<u8> {
        let content = parts.concat();
        let mut out = vec![0x30];
        push_length(&mut out, content.len());
        out.extend(content);
        out
    }

    #[test]
    fn e_mail_subtrees_are_split_from_the_others() {
        let email = implicit(0x81, ".example.org");
        let dns = implicit(0x82, "example.org");
        let excluded = implicit(0x81, "boss@example.org");
        let value = sequence(&[subtrees(0, &[&email, &dns]), subtrees(1, &[&excluded])]);
        let split = split_name_constraints(&value).unwrap();
        assert_eq!(split.email.permitted, vec![".example.org".to_string()]);
        assert_eq!(split.email.excluded, vec!["boss@example.org".to_string()]);
        // Only the DNS subtree is left, as the content of the SEQUENCE.
        assert_eq!(split.others, Some(subtrees(0, &[&dns])));
        // E-mail subtrees only: nothing left for the chain library.
        let only = sequence(&[subtrees(1, &[&excluded])]);
        assert_eq!(split_name_constraints(&only).unwrap().others, None);
    }

    #[test]
    fn long_lists_keep_their_lengths() {
        let names: Vec<Vec<u8>> = (0..40)
            .map(|i| implicit(0x82, &format!("host{i}.example.org")))
            .collect();
        let refs: Vec<&[u8]> = names.iter().map(|n| n.as_slice()).collect();
        let value = sequence(&[subtrees(0, &refs)]);
        assert!(value.len() > 255);
        let split = split_name_constraints(&value).unwrap();
        assert_eq!(split.others, Some(subtrees(0, &refs)));
    }

    #[test]
    fn malformed_constraints_are_refused() {
        let email = implicit(0x81, "example.org");
        // minimum [0] present.
        let with_minimum = {
            let mut inner = email.clone();
            inner.extend_from_slice(&[0x80, 1, 0]);
            let mut sub = vec![0x30, inner.len() as u8];
            sub.extend(inner);
            let mut out = vec![0xa0, sub.len() as u8];
            out.extend(sub);
            sequence(&[out])
        };
        assert!(split_name_constraints(&with_minimum).is_err());
        // Excluded before permitted, repeated, empty, trailing bytes.
        let p = subtrees(0, &[&email]);
        let x = subtrees(1, &[&email]);
        assert!(split_name_constraints(&sequence(&[x, p.clone()])).is_err());
        assert!(split_name_constraints(&sequence(&[p.clone(), p.clone()])).is_err());
        assert!(split_name_constraints(&sequence(&[vec![0xa0, 0]])).is_err());
        let mut trailing = sequence(&[p]);
        trailing.push(0);
        assert!(split_name_constraints(&trailing).is_err());
        // A non-ASCII rfc822Name.
        let latin = vec![0x81, 2, 0xe9, b'x'];
        assert!(split_name_constraints(&sequence(&[subtrees(0, &[&latin])])).is_err());
        // An empty NameConstraints is readable and constrains nothing.
        let empty = split_name_constraints(&sequence(&[])).unwrap();
        assert!(empty.email.is_empty() && empty.others.is_none());
    }
}
