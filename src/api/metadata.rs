//! Wallet metadata: the registries' `tokenURI` is `<base URI><token id>`, and the base URI points here.
//! ERC-721 metadata JSON (name, description, image, attributes: type, issued, expires, status) and an SVG
//! badge that shows the credential's name and status. Wallets learn of a status change from the ERC-4906
//! `MetadataUpdate` event the registries emit on every revoke, suspend, reinstate, renew and reissue, and
//! re-fetch this document; responses are cacheable for a few seconds only.

use alloy::primitives::U256;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use super::error::ApiError;
use super::extract::Path;
use super::AppState;
use crate::credentials::dates::date;
use crate::credentials::drawing::{badge_svg, Badge};
use crate::credentials::metadata::{date_attr, text_attr};
pub use crate::credentials::metadata::{Attribute, TokenMetadata};
use crate::credentials::ob3::site_root;
use crate::domain::{credential_status, membership_status};

pub(crate) fn parse_chain(state: &AppState, s: &str) -> Result<(), ApiError> {
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

async fn base_uri(state: &AppState, memberships: bool) -> Result<String, ApiError> {
    let wanted = if memberships {
        crate::domain::Registry::Memberships
    } else {
        crate::domain::Registry::Credentials
    };
    Ok(state
        .store()
        .base_uri(state.chain_id(), wanted)
        .await?
        .unwrap_or_default())
}

/// The credential at `/{chain}/{token}` of a URL: its token id and mirror row.
pub async fn credential_at(
    state: &AppState,
    chain: &str,
    token: &str,
) -> Result<(U256, crate::domain::CredentialRow), ApiError> {
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
) -> Result<(U256, crate::domain::CredentialRow, String, u64), ApiError> {
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

/// The SVG badge image of a credential token.
#[utoipa::path(get, path = "/v1/metadata/{chainId}/{tokenId}/image.svg", tag = "wallets",
    params(("chainId" = String, Path, description = "Chain id"), ("tokenId" = String, Path, description = "Token id")),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = super::error::ErrorBody)))]
pub async fn credential_image(
    State(state): State<AppState>,
    Path((chain, token)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let (_, svg) = credential_badge(&state, &chain, token.trim_end_matches(".svg")).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg))
}

/// The SVG badge of a credential token (its type's name, its status now, its holder), and the credential.
pub(crate) async fn credential_badge(
    state: &AppState,
    chain: &str,
    token: &str,
) -> Result<(crate::domain::CredentialRow, String), ApiError> {
    let (_, c, name, now) = load_credential(state, chain, token).await?;
    let holder = c.holder.to_string();
    let short = format!("{}…{}", &holder[..6], &holder[38..]);
    let mut dates = format!("Issued {}", date(c.issued_at));
    if c.expires_at != 0 {
        dates.push_str(&format!(" · Expires {}", date(c.expires_at)));
    }
    let svg = badge_svg(&Badge {
        name: &name,
        status: status_of(c.status, c.expires_at, now),
        dates: &dates,
        footer: &short,
    });
    Ok((c, svg))
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
        attributes: {
            let mut a = vec![
                text_attr("Tier", name.clone()),
                date_attr("Granted", m.granted_at),
            ];
            // A cancelled membership's expiry is 0 (ERC-5643): it has none to show.
            if m.expires_at != 0 {
                a.push(date_attr("Expires", m.expires_at));
            }
            a.push(text_attr("Status", status));
            a
        },
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
    let svg = membership_badge(state, chain, token).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg))
}

/// The SVG badge of a membership token: the tier's name, its status, and its dates.
async fn membership_badge(
    state: AppState,
    chain: String,
    token: String,
) -> Result<String, ApiError> {
    let token = token
        .trim_end_matches(".svg")
        .trim_end_matches(".png")
        .to_string();
    let Json(meta) = membership_metadata(State(state), Path((chain, token))).await?;
    let attr = |name: &str| meta.attributes.iter().find(|a| a.trait_type == name);
    let status = attr("Status")
        .and_then(|a| a.value.as_str().map(str::to_string))
        .unwrap_or_default();
    let when = |name: &str| {
        attr(name)
            .and_then(|a| a.value.as_u64())
            .filter(|&t| t != 0)
    };
    let mut dates = when("Granted").map_or_else(String::new, |t| format!("Since {}", date(t)));
    if let Some(t) = when("Expires") {
        dates.push_str(&format!(" · Until {}", date(t)));
    }
    Ok(badge_svg(&Badge {
        name: &meta.name,
        status: &status,
        dates: dates.trim_start_matches(" · "),
        footer: "membership",
    }))
}

/// The membership badge as a PNG: the same drawing as its SVG.
#[utoipa::path(get, path = "/v1/membership-metadata/{chainId}/{tokenId}/image.png", tag = "wallets",
    params(("chainId" = String, Path, description = "Chain id"), ("tokenId" = String, Path, description = "Token id")),
    responses((status = 200, description = "PNG badge", content((String = "image/png"))), (status = 404, body = super::error::ErrorBody)))]
pub async fn membership_image_png(
    State(state): State<AppState>,
    Path((chain, token)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let svg = membership_badge(state, chain, token).await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png_of(svg).await?))
}

/// The credential badge as a PNG: the same drawing as its SVG (unbaked; `badge.png` carries the credential).
#[utoipa::path(get, path = "/v1/metadata/{chainId}/{tokenId}/image.png", tag = "wallets",
    params(("chainId" = String, Path, description = "Chain id"), ("tokenId" = String, Path, description = "Token id, decimal or 0x hex")),
    responses((status = 200, description = "PNG badge", content((String = "image/png"))), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn credential_image_png(
    State(state): State<AppState>,
    Path((chain, token)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let (_, svg) = credential_badge(&state, &chain, token.trim_end_matches(".png")).await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png_of(svg).await?))
}

/// An SVG drawn as a PNG on the blocking pool.
pub(crate) async fn png_of(svg: String) -> Result<Vec<u8>, ApiError> {
    tokio::task::spawn_blocking(move || crate::credentials::baking::render_png(&svg))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))
}
