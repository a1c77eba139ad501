//! The learner's page, `GET /learners/{address}`: public, one per address. Every credential and membership
//! with its badge, status and dates; progress along each pathway (what is next and what it requires); and
//! for each credential an Add-to-LinkedIn link (LinkedIn's add-to-profile form for certifications,
//! prefilled), a share link, the baked badge and the Open Badges file to download, and a QR code of the
//! verify link. Open Graph and Twitter card tags make a shared link preview with the badge (a PNG).

use std::collections::{BTreeMap, HashSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::error::ApiError;
use super::extract::Path;
use super::public::address;
use super::AppState;
use crate::credentials::dates::date;
use crate::credentials::dates::unix_now;
use crate::domain::{credential_status, CredentialRow, CredentialTypeRow};

use super::escape as esc;

/// Percent-encoding of a URL query value (RFC 3986 unreserved characters kept).
pub fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// `(year, month)` of a unix time.
fn year_month(t: u64) -> (String, String) {
    let d = date(t);
    let month = d[5..7].trim_start_matches('0').to_string();
    (d[..4].to_string(), month)
}

/// LinkedIn's add-to-profile link for a certification, prefilled.
pub fn linkedin_url(
    name: &str,
    organization: &str,
    issued: u64,
    expires: u64,
    url: &str,
    id: &str,
) -> String {
    let (iy, im) = year_month(issued);
    let mut link = format!(
        "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name={}&organizationName={}&issueYear={iy}&issueMonth={im}",
        pct(name),
        pct(organization)
    );
    if expires != 0 {
        let (ey, em) = year_month(expires);
        link.push_str(&format!("&expirationYear={ey}&expirationMonth={em}"));
    }
    link.push_str(&format!("&certUrl={}&certId={}", pct(url), pct(id)));
    link
}

/// A QR code of `text` as inline SVG.
fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(132, 132)
                .quiet_zone(true)
                .build();
            let start = svg.find("<svg").unwrap_or(0);
            svg[start..].replacen(
                "<svg",
                "<svg role=\"img\" aria-label=\"QR code of the verify link\"",
                1,
            )
        }
        Err(_) => String::new(),
    }
}

/// Pathway progress lines: for each type with prerequisites, how many of its steps the holder has, and
/// what is next.
fn pathways(types: &BTreeMap<u64, CredentialTypeRow>, held: &HashSet<u64>) -> Vec<String> {
    let mut out = Vec::new();
    for t in types.values().filter(|t| !t.prerequisites.is_empty()) {
        let mut steps: Vec<u64> = t.prerequisites.clone();
        steps.push(t.type_id);
        let done = steps.iter().filter(|s| held.contains(s)).count();
        if done == 0 {
            continue;
        }
        let name = |id: &u64| {
            types
                .get(id)
                .map_or_else(|| format!("type {id}"), |t| t.name.clone())
        };
        let next = steps.iter().find(|s| !held.contains(s)).map(|s| {
            let requires: Vec<String> = types
                .get(s)
                .map(|t| t.prerequisites.iter().map(name).collect())
                .unwrap_or_default();
            if requires.is_empty() || *s != t.type_id {
                format!("Next: {}.", esc(&name(s)))
            } else {
                format!(
                    "Next: {} (requires {}).",
                    esc(&name(s)),
                    esc(&requires.join(", "))
                )
            }
        });
        out.push(format!(
            "<div class=\"card\"><h2>Pathway: {}</h2><p>{done} of {} steps of {}. {}</p></div>",
            esc(&t.name),
            steps.len(),
            esc(&t.name),
            next.unwrap_or_else(|| "Complete.".into())
        ));
    }
    out
}

fn credential_card(
    state: &AppState,
    site: &str,
    c: &CredentialRow,
    name: &str,
    now: u64,
) -> String {
    let chain = state.chain_id();
    let token = c.token_id;
    let (label, class) = match c.status {
        credential_status::ACTIVE if c.is_valid_at(now) => ("Valid", "valid"),
        credential_status::ACTIVE => ("Expired", "warn"),
        credential_status::SUSPENDED => ("Suspended", "warn"),
        _ => ("Not valid", "bad"),
    };
    let verify = format!("{site}verify/{}", c.holder);
    let linkedin = linkedin_url(
        name,
        &state.settings.issuer_name,
        c.issued_at,
        c.expires_at,
        &verify,
        &token.to_string(),
    );
    let expires = if c.expires_at == 0 {
        "never".to_string()
    } else {
        date(c.expires_at)
    };
    format!(
        "<div class=\"card\"><img src=\"/v1/metadata/{chain}/{token}/image.svg\" width=\"120\" height=\"120\" alt=\"{n} badge\" style=\"float:right;margin-left:.5rem\">\
         <h2>{n}</h2><p><span class=\"status {class}\">{label}</span></p>\
         <dl><dt>Issued</dt><dd>{}</dd><dt>Expires</dt><dd>{expires}</dd></dl>\
         <p><a href=\"{}\" rel=\"noopener\">Add to LinkedIn</a> · <a href=\"/v1/credentials/{chain}/{token}/badge.png\" download=\"{n}.png\">Download the badge</a> · \
         <a href=\"/v1/credentials/{chain}/{token}/ob3\" download=\"{n}.json\">Open Badges file</a></p>\
         <label class=\"muted\">Share link <input readonly value=\"{}\"></label>\
         <div style=\"clear:both\">{}</div></div>",
        date(c.issued_at),
        esc(&linkedin),
        esc(&verify),
        qr_svg(&verify),
        n = esc(name),
    )
}

async fn render(state: &AppState, holder: alloy::primitives::Address) -> Result<String, ApiError> {
    let chain = state.chain_id();
    let store = state.store();
    let program = state.program().await?;
    let types: BTreeMap<u64, CredentialTypeRow> = store
        .credential_types(chain)
        .await?
        .into_iter()
        .map(|t| (t.type_id, t))
        .collect();
    let creds = store.credentials_of_holder(chain, holder).await?;
    let members = store.memberships_of_holder(chain, holder).await?;
    let tiers: BTreeMap<u64, String> = store
        .tiers(chain)
        .await?
        .into_iter()
        .map(|t| (t.tier_id, t.name))
        .collect();
    let now = unix_now();
    let name_of = |id: u64| {
        types
            .get(&id)
            .map_or_else(|| format!("Credential type {id}"), |t| t.name.clone())
    };
    let held: HashSet<u64> = creds
        .iter()
        .filter(|c| c.is_valid_at(now))
        .map(|c| c.type_id)
        .collect();
    let mut body = format!(
        "<h1>Credentials of {holder}</h1><p class=\"muted\">Issued by {} on chain {chain}; each can be checked on chain without trusting this page.</p>",
        esc(&program.issuer_name)
    );
    body.extend(pathways(&types, &held));
    if creds.is_empty() && members.is_empty() {
        body.push_str("<div class=\"card\"><h2>Nothing yet</h2><p>This address holds no credential or membership of this program.</p></div>");
    }
    for c in &creds {
        body.push_str(&credential_card(
            state,
            &program.site,
            c,
            &name_of(c.type_id),
            now,
        ));
    }
    for m in &members {
        let tier = tiers
            .get(&m.tier_id)
            .cloned()
            .unwrap_or_else(|| format!("Tier {}", m.tier_id));
        let until = if m.expires_at == 0 {
            "no end".to_string()
        } else {
            date(m.expires_at)
        };
        body.push_str(&format!(
            "<div class=\"card\"><img src=\"/v1/membership-metadata/{chain}/{}/image.svg\" width=\"96\" height=\"96\" alt=\"\" style=\"float:right\">\
             <h2>{} (membership)</h2><dl><dt>Since</dt><dd>{}</dd><dt>Until</dt><dd>{until}</dd></dl><div style=\"clear:both\"></div></div>",
            m.token_id,
            esc(&tier),
            date(m.granted_at)
        ));
    }
    let preview = creds.iter().find(|c| c.is_valid_at(now)).or(creds.first());
    let title = format!("Credentials of {holder}");
    let description = format!("{} credential(s) from {}", creds.len(), program.issuer_name);
    let mut head = format!(
        "<meta property=\"og:type\" content=\"profile\"><meta property=\"og:title\" content=\"{t}\">\
         <meta property=\"og:description\" content=\"{d}\"><meta property=\"og:url\" content=\"{}learners/{holder}\">\
         <meta name=\"twitter:title\" content=\"{t}\"><meta name=\"twitter:description\" content=\"{d}\">",
        esc(&program.site),
        t = esc(&title),
        d = esc(&description)
    );
    if let Some(c) = preview {
        let image = format!(
            "{}v1/metadata/{chain}/{}/image.png",
            program.site, c.token_id
        );
        head.push_str(&format!(
            "<meta property=\"og:image\" content=\"{i}\"><meta property=\"og:image:width\" content=\"400\"><meta property=\"og:image:height\" content=\"400\">\
             <meta name=\"twitter:card\" content=\"summary_large_image\"><meta name=\"twitter:image\" content=\"{i}\">",
            i = esc(&image)
        ));
    }
    Ok(super::page::layout(&title, &body).replacen("</head>", &format!("{head}</head>"), 1))
}

/// `GET /learners/{address}` — the learner's page.
pub async fn learner_page(State(state): State<AppState>, Path(a): Path<String>) -> Response {
    let holder = match address("address", &a) {
        Ok(h) => h,
        Err(e) => {
            let body = format!(
                "<h1>Not an address</h1><p class=\"error\">{}</p>",
                esc(&e.to_string())
            );
            return (
                StatusCode::BAD_REQUEST,
                Html(super::page::layout("Not an address", &body)),
            )
                .into_response();
        }
    };
    match render(&state, holder).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linkedin_link_carries_the_certification() {
        let link = linkedin_url(
            "Async Rust & Tokio",
            "Example Academy",
            1_796_083_200,
            1_827_619_200,
            "https://x.org/verify/0xab",
            "42",
        );
        assert!(
            link.starts_with("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&")
        );
        for want in [
            "name=Async%20Rust%20%26%20Tokio",
            "organizationName=Example%20Academy",
            "issueYear=2026",
            "issueMonth=12",
            "expirationYear=2027",
            "expirationMonth=12",
            "certUrl=https%3A%2F%2Fx.org%2Fverify%2F0xab",
            "certId=42",
        ] {
            assert!(link.contains(want), "{want}: {link}");
        }
        assert!(!linkedin_url("a", "b", 1_796_083_200, 0, "u", "1").contains("expiration"));
        assert!(qr_svg("https://x.org/verify/0xab").starts_with("<svg"));
    }
}
