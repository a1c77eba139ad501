//! Open Badges 3.0: the credential document of a token — JSON-LD with an embedded Data Integrity proof
//! (`eddsa-rdfc-2022`), or the VC-JWT (OB 3.0 §8.2) — and its status view (JSON, with the chain's status
//! beside it). The issuer's profile, DID document and keys are in `issuer`; the status lists in
//! `status_lists`.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::metadata::{credential_at, credential_badge};
use super::public::Reflects;
use super::AppState;
use crate::credentials::baking::{bake_png, bake_svg, Baked};
use crate::credentials::dates::unix_now;
use crate::credentials::ob3::{claim_of, complete, seal, status_place};
use crate::credentials::secure::SecureError;
use crate::domain::credential_status;

/// The media type of a VC-JWT asked for by `Accept`.
pub const VC_JWT: &str = "application/vc+jwt";
/// The media type of a credential document (OB 3.0 §5: JSON-LD verifiable credential).
pub const VC_LD_JSON: &str = "application/vc+ld+json";

/// The media type the caller asked a VC-JWT in, or none for JSON-LD: `?format=jwt` (`text/plain`, as
/// OB 3.0 §5 serves the compact form), `?format=json`, else `Accept: application/vc+jwt`.
pub fn wants_jwt(
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Option<&'static str>, ApiError> {
    match q.get("format").map(String::as_str) {
        Some("jwt") => Ok(Some("text/plain; charset=utf-8")),
        Some("json") => Ok(None),
        Some(other) => Err(ApiError::field(
            "invalid_format",
            "format",
            format!("{other:?} is not a format: use json (the default) or jwt"),
        )),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains(VC_JWT))
            .then_some(VC_JWT)),
    }
}

/// A securing failure as the API reports it: no key or DID is the deployment's to fix (503).
pub fn secure_error(e: SecureError) -> ApiError {
    match e {
        SecureError::Integrity(e) => ApiError::Internal(format!("data integrity proof: {e}")),
        e => ApiError::Unavailable(e.to_string()),
    }
}

/// The Open Badges 3.0 `AchievementCredential` of a credential token, signed now by the issuer's current
/// keys: JSON-LD with an `eddsa-rdfc-2022` Data Integrity proof by default, or the VC-JWT (RS256 unless
/// configured otherwise; its `kid` is a URL answering the public JWK) with `format=jwt`.
/// `x-laurel-claim-hash` is the keccak-256 of the document's claim (docs/credentials.md) and
/// `x-laurel-claim-bound` says whether it is the hash the chain recorded at issuance.
#[utoipa::path(get, path = "/v1/credentials/{chainId}/{tokenId}/ob3", tag = "open badges",
    params(
        ("chainId" = String, Path, description = "Chain id"),
        ("tokenId" = String, Path, description = "Token id, decimal or 0x hex"),
        ("format" = Option<String>, Query, description = "`json` (default) or `jwt`"),
    ),
    responses(
        (status = 200, description = "The credential", content(
            (Object = "application/vc+ld+json"),
            (String = "text/plain"),
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
    let signed = signed(&state, &c, jwt.is_some()).await?;
    let media = jwt.unwrap_or(VC_LD_JSON);
    let mut response = (
        [(header::CONTENT_TYPE, media)],
        signed.credential.text().to_string(),
    )
        .into_response();
    claim_headers(&mut response, &signed);
    Ok(response)
}

/// A credential document signed now: the VC-JWT or the JSON-LD with its proof, and its claim's hash and
/// binding.
pub struct Signed {
    /// The credential as served.
    pub credential: Baked,
    /// keccak-256 of its claim.
    pub claim_hash: alloy::primitives::B256,
    /// Whether that is the hash the chain recorded.
    pub bound: bool,
}

/// Credential `c`'s document, signed now by the current keys (as a VC-JWT when `jwt`). The signing
/// (RDF canonicalization, RSA) runs off the async threads.
pub async fn signed(
    state: &AppState,
    c: &crate::domain::CredentialRow,
    jwt: bool,
) -> Result<Signed, ApiError> {
    let keys = state.keys.keys();
    let program = state.program_for(&keys).await?;
    let (claim, bound) = claim_of(state.store(), &program, c).await?;
    let place = status_place(state.store(), &program, c).await?;
    let document = complete(&program, &claim, c, &place);
    // Bound: the stored claim hashes to what the chain recorded (claims of earlier releases kept `issuer`).
    let claim_hash = if bound {
        c.evidence_hash
    } else {
        seal(&document).hash
    };
    let (jwt_alg, issued_at) = (state.jwt_alg(), c.issued_at);
    let valid_until = (c.expires_at != 0).then_some(c.expires_at);
    let credential = sign_off_thread(move || {
        let securing = crate::credentials::secure::Securing {
            program: &program,
            keys: &keys,
            jwt_alg,
        };
        let now = unix_now();
        Ok(if jwt {
            Baked::Jwt(securing.jwt(&document, issued_at, valid_until, now)?)
        } else {
            Baked::Json(securing.with_proof(&document, now)?.to_string())
        })
    })
    .await?;
    Ok(Signed {
        credential,
        claim_hash,
        bound,
    })
}

/// Runs a signing closure on the blocking pool.
pub async fn sign_off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SecureError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("signing task: {e}")))?
        .map_err(secure_error)
}

fn claim_headers(response: &mut Response, signed: &Signed) {
    for (name, value) in [
        ("x-laurel-claim-hash", format!("{:#x}", signed.claim_hash)),
        ("x-laurel-claim-bound", signed.bound.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
}

/// Which credential form a baked badge carries: `format=json` (default: the JSON-LD with its Data
/// Integrity proof) or `format=jwt` (the VC-JWT); the same `format` the document takes.
fn baked_jwt(q: &HashMap<String, String>) -> Result<bool, ApiError> {
    Ok(wants_jwt(q, &HeaderMap::new())?.is_some())
}

/// The baked SVG badge of a credential (OB 3.0 §5.3): the badge image with an `<openbadges:credential>`
/// element holding the credential signed now — the JSON-LD with its proof in CDATA, or with `format=jwt`
/// the VC-JWT in its `verify` attribute. The wallet image (`/v1/metadata/…/image.svg`) stays unbaked.
#[utoipa::path(get, path = "/v1/credentials/{chainId}/{tokenId}/badge.svg", tag = "open badges",
    params(
        ("chainId" = String, Path, description = "Chain id"),
        ("tokenId" = String, Path, description = "Token id, decimal or 0x hex"),
        ("format" = Option<String>, Query, description = "`json` (default) or `jwt`"),
    ),
    responses((status = 200, description = "The baked badge", content((String = "image/svg+xml"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn badge_svg(
    State(state): State<AppState>,
    Path((chain, token)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let jwt = baked_jwt(&q)?;
    let (c, svg) = credential_badge(&state, &chain, &token).await?;
    let signed = signed(&state, &c, jwt).await?;
    let baked =
        bake_svg(&svg, &signed.credential).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response = ([(header::CONTENT_TYPE, "image/svg+xml")], baked).into_response();
    claim_headers(&mut response, &signed);
    Ok(response)
}

/// The baked PNG badge of a credential (OB 3.0 §5.3): the badge drawn from its SVG, with one `iTXt`
/// chunk `openbadgecredential` holding the credential signed now (JSON-LD, or the VC-JWT with
/// `format=jwt`).
#[utoipa::path(get, path = "/v1/credentials/{chainId}/{tokenId}/badge.png", tag = "open badges",
    params(
        ("chainId" = String, Path, description = "Chain id"),
        ("tokenId" = String, Path, description = "Token id, decimal or 0x hex"),
        ("format" = Option<String>, Query, description = "`json` (default) or `jwt`"),
    ),
    responses((status = 200, description = "The baked badge", content((String = "image/png"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn badge_png(
    State(state): State<AppState>,
    Path((chain, token)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let jwt = baked_jwt(&q)?;
    let (c, svg) = credential_badge(&state, &chain, &token).await?;
    let signed = signed(&state, &c, jwt).await?;
    let png = bake_png(&super::metadata::png_of(svg).await?, &signed.credential)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response = ([(header::CONTENT_TYPE, "image/png")], png).into_response();
    claim_headers(&mut response, &signed);
    Ok(response)
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
