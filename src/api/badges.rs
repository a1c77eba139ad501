//! Open Badges 3.0: the credential document of a token (JSON, or a VC-JWT signed with the issuer key), its
//! status (a 1EdTech revocation list of that one credential), the issuer profile and the issuer's JWK set.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::metadata::credential_at;
use super::public::Reflects;
use super::AppState;
use crate::credentials::issuer_key::vc_jwt_claims;
use crate::credentials::ob3::{claim_of, complete, seal};
use crate::domain::credential_status;

/// The media type of a VC-JWT.
pub const VC_JWT: &str = "application/vc+jwt";

/// Whether the caller asked for the VC-JWT: `?format=jwt`, or `Accept: application/vc+jwt` without a
/// `format`.
fn wants_jwt(q: &HashMap<String, String>, headers: &HeaderMap) -> Result<bool, ApiError> {
    match q.get("format").map(String::as_str) {
        Some("jwt") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::field(
            "invalid_format",
            "format",
            format!("{other:?} is not a format: use json (the default) or jwt"),
        )),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains(VC_JWT))),
    }
}

/// The Open Badges 3.0 `AchievementCredential` of a credential token: JSON by default, or the VC-JWT
/// (EdDSA, key at `/.well-known/jwks.json`) with `format=jwt`. `x-laurel-claim-hash` is the keccak-256 of
/// the document's claim (docs/credentials.md) and `x-laurel-claim-bound` says whether it is the hash the
/// chain recorded at issuance.
#[utoipa::path(get, path = "/v1/credentials/{chainId}/{tokenId}/ob3", tag = "open badges",
    params(
        ("chainId" = String, Path, description = "Chain id"),
        ("tokenId" = String, Path, description = "Token id, decimal or 0x hex"),
        ("format" = Option<String>, Query, description = "`json` (default) or `jwt`"),
    ),
    responses(
        (status = 200, description = "The credential", content(
            (Object = "application/json"),
            (String = "application/vc+jwt"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn credential(
    State(state): State<AppState>,
    Path((chain, token)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let jwt = wants_jwt(&q, &headers)?;
    let (_, c) = credential_at(&state, &chain, &token).await?;
    let program = state.program().await?;
    let (claim, bound) = claim_of(state.store(), &program, &c).await?;
    let document = complete(&program, &claim, &c);
    let sealed = seal(&document);
    let claim_headers = [
        ("x-laurel-claim-hash", format!("{:#x}", sealed.hash)),
        ("x-laurel-claim-bound", bound.to_string()),
    ];
    let mut response = if jwt {
        let key = state.issuer_key.as_ref().ok_or_else(no_key)?;
        let claims = vc_jwt_claims(
            &document,
            c.issued_at,
            (c.expires_at != 0).then_some(c.expires_at),
        );
        ([(header::CONTENT_TYPE, VC_JWT)], key.sign_jwt(&claims)).into_response()
    } else {
        Json(document).into_response()
    };
    for (name, value) in claim_headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    Ok(response)
}

fn no_key() -> ApiError {
    ApiError::Unavailable(
        "this server has no issuer key: set LAUREL_ISSUER_KEY (a 32-byte hex Ed25519 seed) or give it a signing key (LAUREL_PRIVATE_KEY or --keystore)".into(),
    )
}

/// One entry of a revocation list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedCredential {
    /// The credential's id (its `id` in the document).
    pub id: String,
    /// Why it is not valid now.
    #[serde(rename = "revocationReason")]
    pub revocation_reason: String,
}

/// A credential's status: a 1EdTech revocation list holding that credential when it is revoked,
/// suspended, renounced or recovered, with the chain's status beside it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialStatusList {
    /// This list's URL (the document's `credentialStatus.id`).
    pub id: String,
    /// The issuer's id.
    pub issuer: String,
    /// The credentials of this list that are withdrawn (this one, or none).
    #[serde(rename = "revokedCredentials")]
    pub revoked_credentials: Vec<RevokedCredential>,
    /// The credential's id.
    pub credential: String,
    /// `active`, `expired`, `suspended`, `revoked`, `renounced` or `recovered`.
    pub status: &'static str,
    /// Whether the credential is valid now (active and not expired).
    pub valid: bool,
    /// Revocation or suspension reason code (0 = none).
    pub reason: u8,
    /// The block the answer reflects.
    pub reflects: Reflects,
}

/// The status of a credential, for the `credentialStatus` of its Open Badges document.
#[utoipa::path(get, path = "/v1/credentials/{chainId}/{tokenId}/status", tag = "open badges",
    params(
        ("chainId" = String, Path, description = "Chain id"),
        ("tokenId" = String, Path, description = "Token id, decimal or 0x hex"),
    ),
    responses((status = 200, body = CredentialStatusList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    Path((chain, token)): Path<(String, String)>,
) -> Result<Json<CredentialStatusList>, ApiError> {
    let (token, c) = credential_at(&state, &chain, &token).await?;
    let (reflects, now) = super::public::mirror_view(state.store(), state.chain_id()).await?;
    let program = state.program().await?;
    let (claim, _) = claim_of(state.store(), &program, &c).await?;
    let id = claim["id"].as_str().unwrap_or_default().to_string();
    let status = credential_status::name(c.status, c.expires_at, now);
    let withdrawn = match c.status {
        credential_status::SUSPENDED => Some(format!("suspended (reason code {})", c.reason)),
        credential_status::REVOKED => Some(format!("revoked (reason code {})", c.reason)),
        credential_status::RENOUNCED => Some("renounced by the holder".to_string()),
        credential_status::RECOVERED => Some(match c.recovered_to {
            Some(to) => format!("recovered to {to}"),
            None => "recovered to another address".to_string(),
        }),
        _ => None,
    };
    Ok(Json(CredentialStatusList {
        id: program.status_url(token),
        issuer: program.issuer_id(),
        revoked_credentials: withdrawn
            .map(|r| RevokedCredential {
                id: id.clone(),
                revocation_reason: r,
            })
            .into_iter()
            .collect(),
        credential: id,
        status,
        valid: c.is_valid_at(now),
        reason: c.reason,
        reflects,
    }))
}

/// The issuer's profile (OB 3.0 `Profile`), the `issuer` of every credential document.
#[utoipa::path(get, path = "/issuer", tag = "open badges",
    responses((status = 200, description = "The issuer profile", content((Object = "application/json")))))]
pub async fn issuer(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let program = state.program().await?;
    let mut profile = program.profile();
    profile["description"] = format!(
        "Issues soulbound credentials on chain {} from the CredentialRegistry {}. Credentials are signed as VC-JWTs with the key at {}.well-known/jwks.json.",
        program.chain_id, program.registry, program.site
    )
    .into();
    Ok(Json(profile))
}

/// The issuer's public keys as a JWK set (RFC 7517); VC-JWTs name theirs in the `kid` header.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "open badges",
    responses((status = 200, description = "The JWK set", content((Object = "application/json"))),
        (status = 503, body = ErrorBody)))]
pub async fn jwks(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let key = state.issuer_key.as_ref().ok_or_else(no_key)?;
    Ok(Json(key.jwks()))
}
