//! Wallet metadata: the registries' `tokenURI` is `<base URI><token id>`, and the base URI points here.
//! ERC-721 metadata JSON (name, description, image, attributes: type, issued, expires, status) and an SVG
//! badge that shows the credential's name and status. Wallets learn of a status change from the ERC-4906
//! `MetadataUpdate` event the registries emit on every revoke, suspend, reinstate, renew and reissue, and
//! re-fetch this document; responses are cacheable for a few seconds only.

use alloy::primitives::U256;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::AppState;
use crate::indexer::project::{credential_status, membership_status};

/// One ERC-721 metadata attribute.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attribute {
    /// Trait name.
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
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Badge image URL (SVG).
    pub image: String,
    /// Where to verify it.
    pub external_url: String,
    /// Type, issued, expires, status.
    pub attributes: Vec<Attribute>,
}

fn parse_chain(state: &AppState, s: &str) -> Result<(), ApiError> {
    match s.parse::<u64>() {
        Ok(c) if c == state.chain_id() => Ok(()),
        Ok(c) => Err(ApiError::NotFound(format!(
            "this service mirrors chain {}, not chain {c}",
            state.chain_id()
        ))),
        Err(_) => Err(ApiError::field(
            "invalid_chain",
            "chainId",
            format!("{s:?} is not a chain id"),
        )),
    }
}

/// Parses a token id: decimal, or 0x-prefixed hex.
pub fn parse_token(s: &str) -> Result<U256, ApiError> {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => U256::from_str_radix(hex, 16),
        None => U256::from_str_radix(s, 10),
    };
    parsed.map_err(|_| {
        ApiError::field(
            "invalid_token",
            "tokenId",
            format!("{s:?} is not a token id (decimal or 0x hex)"),
        )
    })
}

fn status_of(status: u8, expires_at: u64, now: u64) -> &'static str {
    credential_status::name(status, expires_at, now)
}

fn date_attr(name: &'static str, t: u64) -> Attribute {
    Attribute {
        trait_type: name,
        value: t.into(),
        display_type: Some("date"),
    }
}

fn text_attr(name: &'static str, v: impl Into<String>) -> Attribute {
    Attribute {
        trait_type: name,
        value: serde_json::Value::String(v.into()),
        display_type: None,
    }
}

async fn base_uri(state: &AppState, memberships: bool) -> Result<String, ApiError> {
    let wanted = if memberships {
        crate::indexer::project::Registry::Memberships
    } else {
        crate::indexer::project::Registry::Credentials
    };
    Ok(state
        .store()
        .registry_state(state.chain_id())
        .await?
        .into_iter()
        .find(|r| r.registry == wanted)
        .and_then(|r| r.base_uri)
        .unwrap_or_default())
}

/// The credential at `/{chain}/{token}` of a URL: its token id and mirror row.
pub async fn credential_at(
    state: &AppState,
    chain: &str,
    token: &str,
) -> Result<(U256, crate::indexer::project::CredentialRow), ApiError> {
    parse_chain(state, chain)?;
    let token = parse_token(token)?;
    let c = state
        .store()
        .credential_by_token(state.chain_id(), token)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no credential has token id {token}")))?;
    Ok((token, c))
}

/// The credential behind a metadata URL: its token id, mirror row, type name, and the mirror's clock.
async fn load_credential(
    state: &AppState,
    chain: &str,
    token: &str,
) -> Result<(U256, crate::indexer::project::CredentialRow, String, u64), ApiError> {
    let (token, c) = credential_at(state, chain, token).await?;
    let name = state
        .store()
        .credential_type(state.chain_id(), c.type_id)
        .await?
        .map_or_else(|| format!("Credential type {}", c.type_id), |t| t.name);
    let now = super::public::mirror_now(state).await?;
    Ok((token, c, name, now))
}

/// ERC-721 metadata of a credential token (what its `tokenURI` returns).
#[utoipa::path(get, path = "/v1/metadata/{chainId}/{tokenId}", tag = "wallets",
    params(("chainId" = String, Path, description = "Chain id"), ("tokenId" = String, Path, description = "Token id, decimal or 0x hex")),
    responses((status = 200, body = TokenMetadata), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn credential_metadata(
    State(state): State<AppState>,
    Path((chain, token)): Path<(String, String)>,
) -> Result<Json<TokenMetadata>, ApiError> {
    let (token, c, name, now) = load_credential(&state, &chain, &token).await?;
    let status = status_of(c.status, c.expires_at, now);
    let base = base_uri(&state, false).await?;
    let mut attributes = vec![
        text_attr("Type", name.clone()),
        date_attr("Issued", c.issued_at),
        text_attr("Status", status),
    ];
    if c.expires_at != 0 {
        attributes.insert(2, date_attr("Expires", c.expires_at));
    }
    Ok(Json(TokenMetadata {
        description: format!(
            "A soulbound Laurel credential: {name}, held by {}. Status: {status}. Check it on chain with isValid(holder, {}).",
            c.holder, c.type_id
        ),
        name,
        image: format!("{base}{token}/image.svg"),
        external_url: format!("{}verify/{}", site_root(&base), c.holder),
        attributes,
    }))
}

use crate::credentials::ob3::site_root;

use super::escape as xml_escape;

/// The SVG badge of a credential: its name and status.
pub fn badge_svg(name: &str, status: &str, subtitle: &str) -> String {
    let (ring, fill) = match status {
        "active" => ("#1f7a4d", "#e8f5ee"),
        "suspended" | "expired" => ("#a36a00", "#fff5e0"),
        _ => ("#9b1c1c", "#fdecec"),
    };
    let name = xml_escape(name);
    let subtitle = xml_escape(subtitle);
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

/// The SVG badge image of a credential token.
#[utoipa::path(get, path = "/v1/metadata/{chainId}/{tokenId}/image.svg", tag = "wallets",
    params(("chainId" = String, Path, description = "Chain id"), ("tokenId" = String, Path, description = "Token id")),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = super::error::ErrorBody)))]
pub async fn credential_image(
    State(state): State<AppState>,
    Path((chain, token)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let (_, c, name, now) = load_credential(&state, &chain, token.trim_end_matches(".svg")).await?;
    let holder = c.holder.to_string();
    let short = format!("{}…{}", &holder[..6], &holder[38..]);
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml")],
        badge_svg(&name, status_of(c.status, c.expires_at, now), &short),
    ))
}

/// ERC-721 metadata of a membership token.
#[utoipa::path(get, path = "/v1/membership-metadata/{chainId}/{tokenId}", tag = "wallets",
    params(("chainId" = String, Path, description = "Chain id"), ("tokenId" = String, Path, description = "Token id")),
    responses((status = 200, body = TokenMetadata), (status = 404, body = super::error::ErrorBody)))]
pub async fn membership_metadata(
    State(state): State<AppState>,
    Path((chain, token)): Path<(String, String)>,
) -> Result<Json<TokenMetadata>, ApiError> {
    parse_chain(&state, &chain)?;
    let token = parse_token(&token)?;
    let m = state
        .store()
        .membership(state.chain_id(), token)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no membership has token id {token}")))?;
    let tier = state
        .store()
        .tiers(state.chain_id())
        .await?
        .into_iter()
        .find(|t| t.tier_id == m.tier_id);
    let name = tier.map_or_else(|| format!("Tier {}", m.tier_id), |t| t.name);
    let now = super::public::mirror_now(&state).await?;
    let status = match m.status {
        membership_status::ACTIVE if m.expires_at <= now => "expired",
        membership_status::ACTIVE => "active",
        membership_status::CANCELLED => "cancelled",
        membership_status::REVOKED => "revoked",
        _ => "moved",
    };
    let base = base_uri(&state, true).await?;
    Ok(Json(TokenMetadata {
        description: format!("A Laurel membership: {name}. Status: {status}."),
        image: format!("{base}{token}/image.svg"),
        external_url: format!("{}verify/{}", site_root(&base), m.holder),
        attributes: vec![
            text_attr("Tier", name.clone()),
            date_attr("Granted", m.granted_at),
            date_attr("Expires", m.expires_at),
            text_attr("Status", status),
        ],
        name,
    }))
}

/// The SVG badge image of a membership token.
#[utoipa::path(get, path = "/v1/membership-metadata/{chainId}/{tokenId}/image.svg", tag = "wallets",
    params(("chainId" = String, Path, description = "Chain id"), ("tokenId" = String, Path, description = "Token id")),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = super::error::ErrorBody)))]
pub async fn membership_image(
    State(state): State<AppState>,
    Path((chain, token)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(meta) = membership_metadata(State(state), Path((chain, token))).await?;
    let status = meta
        .attributes
        .iter()
        .find(|a| a.trait_type == "Status")
        .and_then(|a| a.value.as_str().map(str::to_string))
        .unwrap_or_default();
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml")],
        badge_svg(&meta.name, &status, "membership"),
    ))
}
