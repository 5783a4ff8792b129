//! Content negotiation (marketplace.md §1.4) and the choice of error-body
//! style (§1.5).
//!
//! The legacy server used Restlet's flexible negotiation, which never
//! answers 406. Its practical effect, reproduced here: the client's
//! explicit types win by q-value (ties by their order in the header);
//! parent types (`application/*`) count a little, `*/*` hardly at all; the
//! XML variant is the server's default; a resource with one variant always
//! serves it.

/// One entry of an `Accept` header.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRange {
    /// The type, lower case (`application`, `*`).
    pub main: String,
    /// The subtype, lower case (`xml`, `*`).
    pub sub: String,
    /// The quality, 0 to 1.
    pub q: f32,
}

/// The most entries of an `Accept` header looked at.
const MAX_RANGES: usize = 64;

/// Parse an `Accept` header (entries in header order; malformed ones and
/// those with `q=0` skipped).
pub fn parse_accept(header: &str) -> Vec<MediaRange> {
    header
        .split(',')
        .take(MAX_RANGES)
        .filter_map(|item| {
            let mut parts = item.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let (main, sub) = media.split_once('/')?;
            if main.is_empty() || sub.is_empty() {
                return None;
            }
            let mut q = 1.0f32;
            for parameter in parts {
                if let Some((name, value)) = parameter.split_once('=') {
                    if name.trim().eq_ignore_ascii_case("q") {
                        q = value.trim().parse::<f32>().ok()?.clamp(0.0, 1.0);
                    }
                }
            }
            (q > 0.0).then(|| MediaRange {
                main: main.to_string(),
                sub: sub.to_string(),
                q,
            })
        })
        .collect()
}

/// A representation a resource offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// XML (labelled per resource: `application/xml`, `application/rdf+xml`).
    Xml,
    /// JSON.
    Json,
    /// HTML.
    Html,
}

impl Variant {
    fn types(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Variant::Xml => &[
                ("application", "xml"),
                ("text", "xml"),
                ("application", "rdf+xml"),
            ],
            Variant::Json => &[("application", "json")],
            Variant::Html => &[("text", "html"), ("application", "xhtml+xml")],
        }
    }

    /// How much `range` wants this variant.
    fn weight(self, range: &MediaRange) -> f32 {
        let types = self.types();
        if types
            .iter()
            .any(|(main, sub)| range.main == *main && range.sub == *sub)
        {
            range.q
        } else if range.sub == "*" && types.iter().any(|(main, _)| range.main == *main) {
            range.q * 0.01
        } else if range.main == "*" && range.sub == "*" {
            range.q * 0.0001
        } else {
            0.0
        }
    }
}

/// The variant of `offered` (in the resource's order of preference, XML
/// first when it has one) to serve for `accept`.
pub fn choose(accept: &[MediaRange], offered: &[Variant]) -> Variant {
    let default = offered.first().copied().unwrap_or(Variant::Xml);
    let mut best = (default, server_default(default), usize::MAX);
    for &variant in offered {
        let mut score = (server_default(variant), usize::MAX);
        for (position, range) in accept.iter().enumerate() {
            let weight = variant.weight(range);
            if weight > score.0 {
                score = (weight, position);
            }
        }
        let better = score.0 > best.1 || (score.0 == best.1 && score.1 < best.2);
        if better {
            best = (variant, score.0, score.1);
        }
    }
    best.0
}

/// The small weight the server's default (XML) gets on its own.
fn server_default(variant: Variant) -> f32 {
    if variant == Variant::Xml {
        0.000_01
    } else {
        0.0
    }
}

/// The body style of error and status messages: from the first entry of
/// the `Accept` header as sent (§1.5), not from q-values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `<error>…</error>` (first entry an XML type).
    Xml,
    /// `{"404" : "…"}` (first entry `application/json`).
    Json,
    /// An HTML page (anything else, or no `Accept`).
    Html,
}

/// The style the first entry of `accept` selects.
pub fn style(accept: &[MediaRange]) -> Style {
    match accept.first() {
        Some(r)
            if Variant::Xml
                .types()
                .contains(&(r.main.as_str(), r.sub.as_str())) =>
        {
            Style::Xml
        }
        Some(r) if r.main == "application" && r.sub == "json" => Style::Json,
        _ => Style::Html,
    }
}

/// The media type a `?media=` value stands for (§1.2).
pub fn tunnelled(media: &str) -> Option<&'static str> {
    Some(match media {
        "xml" | "application_xml" => "application/xml",
        "json" => "application/json",
        "html" => "text/html",
        "rdf" | "application_rdf" => "application/rdf+xml",
        "txt" => "text/plain",
        "multipart" => "multipart/form-data",
        "www_form" => "application/x-www-form-urlencoded",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Variant::{Html, Json, Xml};

    fn serve(accept: &str, offered: &[Variant]) -> Variant {
        choose(&parse_accept(accept), offered)
    }

    #[test]
    fn the_decision_table() {
        let all = [Xml, Json, Html];
        for accept in [
            "",
            "*/*",
            "application/xml",
            "text/xml",
            "application/rdf+xml",
            "image/png",
        ] {
            assert_eq!(serve(accept, &all), Xml, "{accept}");
        }
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert_eq!(serve(browser, &all), Html);
        assert_eq!(serve(browser, &[Xml, Json]), Xml);
        assert_eq!(serve("application/json", &all), Json);
        assert_eq!(serve("application/json, application/xml", &all), Json);
        assert_eq!(serve("application/xml, application/json", &all), Xml);
        assert_eq!(serve("application/json;q=0.5, application/xml", &all), Xml);
        assert_eq!(serve("application/*", &[Xml, Json]), Xml);
        assert_eq!(serve("application/json", &[Xml]), Xml);
        assert_eq!(serve("text/plain", &[Html]), Html);
    }

    #[test]
    fn error_style_is_the_first_entry() {
        let of = |accept: &str| style(&parse_accept(accept));
        assert_eq!(of("text/xml"), Style::Xml);
        assert_eq!(
            of("application/rdf+xml;q=0.1, application/json"),
            Style::Xml
        );
        assert_eq!(of("application/json"), Style::Json);
        assert_eq!(of("text/html, application/xml"), Style::Html);
        assert_eq!(of("*/*"), Style::Html);
        assert_eq!(of(""), Style::Html);
    }
}
