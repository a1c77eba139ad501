//! ERC-721 metadata (what the registries' `tokenURI` points to) and the SVG badge images of credentials and
//! memberships.

use serde::Serialize;
use utoipa::ToSchema;

/// Escapes text for HTML and XML (the verify page, the SVG badges).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
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

/// The SVG badge of a credential: its name and status.
pub fn badge_svg(name: &str, status: &str, subtitle: &str) -> String {
    let (ring, fill) = match status {
        "active" => ("#1f7a4d", "#e8f5ee"),
        "suspended" | "expired" => ("#a36a00", "#fff5e0"),
        _ => ("#9b1c1c", "#fdecec"),
    };
    let name = escape(name);
    let subtitle = escape(subtitle);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400" role="img" aria-label="{name}: {status}">
  <rect width="400" height="400" rx="32" fill="{fill}"/>
  <circle cx="200" cy="150" r="90" fill="none" stroke="{ring}" stroke-width="12"/>
  <text x="200" y="165" font-family="sans-serif" font-size="48" text-anchor="middle" fill="{ring}">&#x2605;</text>
  <text x="200" y="285" font-family="sans-serif" font-size="22" font-weight="bold" text-anchor="middle" fill="#1a1a1a">{name}</text>
  <text x="200" y="320" font-family="sans-serif" font-size="18" text-anchor="middle" fill="{ring}">{status}</text>
  <text x="200" y="360" font-family="monospace" font-size="11" text-anchor="middle" fill="#555">{subtitle}</text>
</svg>
"##
    )
}
