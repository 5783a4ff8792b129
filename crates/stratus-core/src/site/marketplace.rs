//! The Marketplace client (client.md §6, §7, §9; marketplace.md §2): the
//! only code that talks to a Marketplace, used by every command.
//!
//! - entries of an image: `GET /metadata/<id>[/<email>]?status=all` (the
//!   latest entry of each endorser, deprecated and expired ones included,
//!   so that the site policy decides and says why) or the stored document
//!   `GET /metadata/<id>/<email>/<created>`;
//! - listings with the server's filters (`GET /metadata[/...]?...`);
//! - uploads, `POST /metadata` (201 committed, 202 awaiting e-mail
//!   confirmation).
//!
//! Every request sends `Accept: application/xml` (client.md §9's
//! recommendation). A listing is a `<metadata>` wrapper of signed `rdf:RDF`
//! documents: [`split_documents`] cuts it into the exact text of each, so
//! that each is verified on the bytes that were received.

use super::endpoint::Endpoint;
use super::http::Client;
use super::SiteError;
use crate::document::input::MAX_DOCUMENT_BYTES;

/// The largest listing read (the legacy Marketplace's whole listing is a
/// few MiB).
pub const MAX_LISTING_BYTES: u64 = 64 * 1024 * 1024;

/// One metadata document as received: where it came from and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The URL (or file name) it came from.
    pub origin: String,
    /// The document's exact text (for an entry of a listing, the text of
    /// its `rdf:RDF` element).
    pub text: String,
}

/// The key of a Marketplace entry, or of the entries of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryKey {
    /// The image identifier.
    pub identifier: String,
    /// The endorser's e-mail.
    pub email: Option<String>,
    /// The endorsement time (then `email` is set too).
    pub created: Option<String>,
}

/// How the Marketplace took an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// `201 Created`: committed and published.
    Created,
    /// `202 Accepted`: a confirmation e-mail was sent to the endorser; the
    /// entry is published once confirmed.
    AwaitingConfirmation,
    /// Another 2xx status (the legacy client took any 2xx as success).
    Other(u16),
}

/// A Marketplace: its endpoint and the HTTP client.
#[derive(Debug, Clone)]
pub struct Marketplace {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The client.
    pub client: Client,
}

impl Marketplace {
    /// A Marketplace at `endpoint`, reached through `client`.
    pub fn new(endpoint: Endpoint, client: Client) -> Marketplace {
        Marketplace { endpoint, client }
    }

    /// The URL that lists the entries of `key` (see the module doc).
    pub fn key_url(&self, key: &EntryKey) -> String {
        match (&key.email, &key.created) {
            (Some(email), Some(created)) => {
                self.endpoint.entry_url(&key.identifier, email, created)
            }
            (Some(email), None) => format!(
                "{}?status=all",
                self.endpoint.metadata_path(&[&key.identifier, email])
            ),
            _ => format!(
                "{}?status=all",
                self.endpoint.metadata_path(&[&key.identifier])
            ),
        }
    }

    /// The documents of `key`.
    pub fn entries(&self, key: &EntryKey) -> Result<Vec<Received>, SiteError> {
        self.fetch(&self.key_url(key))
    }

    /// The documents at `url`: a listing or one stored document.
    pub fn fetch(&self, url: &str) -> Result<Vec<Received>, SiteError> {
        let (final_url, body) = self.client.get_xml(url, MAX_LISTING_BYTES)?;
        let text = crate::document::xml::decode_text(&body, &final_url).map_err(|e| {
            SiteError::BadResponse {
                url: final_url.clone(),
                detail: format!("not a metadata document: {e}"),
            }
        })?;
        split_documents(&text, &final_url)
    }

    /// A listing: `GET <endpoint>/metadata[/<segment>...]?<query>`, every
    /// entry of it (none when the server says 404: nothing matched).
    pub fn listing(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Vec<Received>, SiteError> {
        let mut url = self.endpoint.metadata_path(segments);
        if !query.is_empty() {
            let encoded: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish();
            url = format!("{url}?{encoded}");
        }
        match self.fetch(&url) {
            Err(SiteError::Status { status: 404, .. }) => Ok(Vec::new()),
            other => other,
        }
    }

    /// Upload a signed document: `POST <endpoint>/metadata`.
    pub fn upload(&self, document: &[u8]) -> Result<Upload, SiteError> {
        match self
            .client
            .post_xml(&self.endpoint.metadata_url(), document)
        {
            Ok((201, _)) => Ok(Upload::Created),
            Ok((202, _)) => Ok(Upload::AwaitingConfirmation),
            Ok((status, _)) => Ok(Upload::Other(status)),
            Err(SiteError::Status {
                method,
                url,
                status,
                message,
                hint: None,
            }) => {
                let hint = message.as_deref().and_then(upload_hint);
                Err(SiteError::Status {
                    method,
                    url,
                    status,
                    message,
                    hint,
                })
            }
            Err(other) => Err(other),
        }
    }
}

/// What a refusal of an upload means, where the server's words mislead.
fn upload_hint(message: &str) -> Option<String> {
    if message.contains("cannot find validation key") {
        return Some(
            "this is a legacy Marketplace, which verifies only RSA-SHA1 signatures: sign with \
             `stratus-sign-metadata --legacy-sha1`, or set `signature_profile = legacy-sha1` in \
             the user configuration"
                .into(),
        );
    }
    if message.contains("older than latest") {
        return Some(
            "a newer entry of this image by the same endorser exists: sign the document again"
                .into(),
        );
    }
    None
}

/// The documents in `text`: the `rdf:RDF` children of a `<metadata>`
/// listing, or the whole text when it is one document. Each keeps its
/// exact text. The wrapper itself is read with quick-xml, as a stream: no
/// DTD, no tree of the whole listing.
pub fn split_documents(text: &str, origin: &str) -> Result<Vec<Received>, SiteError> {
    use quick_xml::events::Event;
    let bad = |detail: String| SiteError::BadResponse {
        url: origin.to_string(),
        detail,
    };
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut root: Option<String> = None;
    let mut start = 0usize;
    let mut documents = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| bad(format!("not well-formed XML: {e}")))?;
        match event {
            Event::DocType(_) => return Err(bad("a DTD is not accepted".into())),
            Event::Start(element) => {
                let name = String::from_utf8_lossy(element.name().as_ref()).into_owned();
                if depth == 0 {
                    if is_rdf(&name) {
                        return Ok(vec![single(text, origin)?]);
                    }
                    if name != "metadata" {
                        return Err(bad(format!(
                            "<{name}> is neither a metadata document (rdf:RDF) nor a listing (metadata)"
                        )));
                    }
                    root = Some(name);
                } else if depth == 1 {
                    if !is_rdf(&name) {
                        return Err(bad(format!("the listing holds a <{name}>, not an rdf:RDF")));
                    }
                    start = before;
                }
                depth += 1;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    let end = reader.buffer_position() as usize;
                    let document = &text[start..end];
                    if document.len() as u64 > MAX_DOCUMENT_BYTES {
                        return Err(bad(format!(
                            "an entry is larger than {MAX_DOCUMENT_BYTES} bytes"
                        )));
                    }
                    documents.push(Received {
                        origin: origin.to_string(),
                        text: document.to_string(),
                    });
                }
            }
            Event::Empty(element) if depth <= 1 => {
                let name = String::from_utf8_lossy(element.name().as_ref()).into_owned();
                if depth == 0 && name == "metadata" {
                    return Ok(Vec::new());
                }
                return Err(bad(format!("an empty <{name}> is not a metadata document")));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match root {
        Some(_) if depth == 0 => Ok(documents),
        Some(_) => Err(bad("the listing ends before </metadata>".into())),
        None => Err(bad("no XML element in the answer".into())),
    }
}

fn is_rdf(name: &str) -> bool {
    name == "RDF" || name.ends_with(":RDF")
}

fn single(text: &str, origin: &str) -> Result<Received, SiteError> {
    if text.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(SiteError::BadResponse {
            url: origin.to_string(),
            detail: format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes"),
        });
    }
    Ok(Received {
        origin: origin.to_string(),
        text: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RDF: &str = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description/></rdf:RDF>"#;

    #[test]
    fn listings_are_cut_into_exact_documents() {
        let listing = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?><metadata>{RDF}\n{RDF}\n</metadata>"
        );
        let documents = split_documents(&listing, "u").unwrap();
        assert_eq!(documents.len(), 2);
        assert!(documents.iter().all(|d| d.text == RDF));
        let single_doc = format!("<?xml version=\"1.0\"?>\n{RDF}\n");
        assert_eq!(
            split_documents(&single_doc, "u").unwrap()[0].text,
            single_doc
        );
        assert!(split_documents("<metadata/>", "u").unwrap().is_empty());
        for bad in [
            "<html><body/></html>",
            "<metadata><other/></metadata>",
            "<metadata>",
            "<!DOCTYPE metadata [<!ENTITY a 'b'>]><metadata/>",
            "not xml at all",
        ] {
            assert!(split_documents(bad, "u").is_err(), "{bad}");
        }
    }

    #[test]
    fn the_legacy_rsa_sha1_refusal_is_explained() {
        let hint = upload_hint("invalid metadata: cannot find validation key").unwrap();
        assert!(hint.contains("--legacy-sha1"), "{hint}");
        assert_eq!(upload_hint("invalid metadata: other"), None);
    }
}
