//! ERC-721 metadata (what the registries' `tokenURI` points to), and the escaping the badge drawing and the
//! pages use.

use serde::Serialize;
use utoipa::ToSchema;

/// Escapes text for HTML and XML (the verify page, the SVG badges). Characters XML 1.0 forbids even as
/// references (control characters other than tab, line feed and carriage return; U+FFFE, U+FFFF) become
/// U+FFFD, so a name set on chain cannot make a badge an invalid document.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// One ERC-721 metadata attribute.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attribute {
    /// Label wallets show, e.g. `Type`, `Issued`, `Expires`, `Status`, `Tier`, `Granted`.
    pub trait_type: &'static str,
    /// Value (a string, or a unix time for dates).
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    /// `date` for unix times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_type: Option<&'static str>,
}

/// ERC-721 metadata of a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenMetadata {
    /// The credential type's or tier's name (`Credential type N` / `Tier N` when unknown).
    pub name: String,
    /// One sentence for wallets: what the token is and its status (credentials: how to check it).
    pub description: String,
    /// Badge image URL (SVG).
    pub image: String,
    /// Where to verify it.
    pub external_url: String,
    /// Type, issued, expires, status.
    pub attributes: Vec<Attribute>,
}

/// A date attribute (unix seconds, shown as a date by wallets).
pub fn date_attr(name: &'static str, t: u64) -> Attribute {
    Attribute {
        trait_type: name,
        value: t.into(),
        display_type: Some("date"),
    }
}

/// A text attribute.
pub fn text_attr(name: &'static str, v: impl Into<String>) -> Attribute {
    Attribute {
        trait_type: name,
        value: serde_json::Value::String(v.into()),
        display_type: None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hostile_name_cannot_break_the_badge_document() {
        let name =
            "Rust</text><script>alert(1)</script>\u{0}\u{1b}[31m\u{7f}\u{FFFF} & \"Friends\"";
        let svg = super::super::drawing::badge_svg(&super::super::drawing::Badge {
            name,
            status: "active",
            dates: "Issued 2026-12-03",
            footer: "0x70997970…79C8",
        });
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("Rust&lt;/text&gt;&lt;script&gt;"), "{svg}");
        assert!(svg.contains("&amp; &quot;Friends&quot;"), "{svg}");
        let forbidden = |c: char| {
            (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
                || c == '\u{FFFE}'
                || c == '\u{FFFF}'
        };
        assert!(
            !svg.chars().any(forbidden),
            "a character XML 1.0 forbids: {svg:?}"
        );
        assert_eq!(
            svg.matches('\u{FFFD}').count(),
            8,
            "four in the label, four in the text: {svg:?}"
        );
    }
}
