//! The issuer as verifiers find it: its profile (`/issuer`), its DID document (`/.well-known/did.json`,
//! for `did:web`), its JWK set (`/.well-known/jwks.json`) and each key at its `kid` URL (`/keys/{id}`:
//! the bare public JWK). Retired keys stay published with the date they stopped signing; a compromised
//! key is withdrawn (410 at its URL, absent from the set, not an assertion method of the DID).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::error::{ApiError, ErrorBody};
use super::extract::Path;
use super::AppState;
use crate::credentials::dates::datetime;
use crate::credentials::did::{did_document, IssuerDid};
use crate::credentials::jwt::LEGACY_PREFIX;
use crate::credentials::keys::IssuerKey;
use crate::credentials::secure::kid_url;

/// The public JWK of `key` as published: `kid` (its URL), `alg`, `use`, and `retired` (RFC 3339) once it
/// stopped signing. A key imported from an earlier release keeps the bare `kid` its VC-JWTs name
/// (`laurel-<hex>`), so JWK-set lookups by `kid` still find it.
fn published_jwk(site: &str, key: &IssuerKey) -> Value {
    let mut jwk = key.public_jwk();
    jwk["kid"] = if key.id.starts_with(LEGACY_PREFIX) {
        key.id.clone().into()
    } else {
        kid_url(site, &key.id).into()
    };
    if let Some(at) = key.retired {
        jwk["retired"] = datetime(at).into();
    }
    jwk
}

/// The issuer's profile (OB 3.0 `Profile`), the `issuer` of every credential document.
#[utoipa::path(get, path = "/issuer", tag = "open badges",
    responses((status = 200, description = "The issuer profile", content((Object = "application/json")))))]
pub async fn issuer(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let program = state.program().await?;
    let mut profile = program.profile();
    profile["description"] = format!(
        "Issues soulbound credentials on chain {} from the CredentialRegistry {}. Credentials carry a Data Integrity proof (eddsa-rdfc-2022) by a key of {}, and are served as VC-JWTs whose kid URLs answer the key; every key is in {}.well-known/jwks.json.",
        program.chain_id,
        program.registry,
        program.issuer_id(),
        program.site
    )
    .into();
    Ok(Json(profile))
}

/// The issuer's public keys as a JWK set (RFC 7517): current and retired keys; VC-JWTs name theirs by
/// the `kid` URL.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "open badges",
    responses((status = 200, description = "The JWK set", content((Object = "application/json"))),
        (status = 503, body = ErrorBody)))]
pub async fn jwks(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let keys = state.keys.keys();
    if keys.keys.is_empty() {
        return Err(no_keys());
    }
    let program = state.program_for(&keys).await?;
    let set: Vec<Value> = keys
        .published()
        .map(|k| published_jwk(&program.site, k))
        .collect();
    Ok(Json(serde_json::json!({ "keys": set })))
}

/// One issuer key at its `kid` URL: the bare public JWK (never `d`). 410 for a key reported compromised,
/// 404 for an unknown one.
#[utoipa::path(get, path = "/keys/{keyId}", tag = "open badges",
    params(("keyId" = String, Path, description = "The key's id (the last segment of a VC-JWT's kid)")),
    responses((status = 200, description = "The public JWK", content((Object = "application/jwk+json"))),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn key(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let keys = state.keys.keys();
    let key = keys
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("the issuer has no key {id:?}")))?;
    if let Some(at) = key.compromised {
        return Err(ApiError::Gone(format!(
            "key {id} was reported compromised from {}: nothing it signs verifies; ask the issuer for a fresh copy of the credential",
            datetime(at)
        )));
    }
    let program = state.program_for(&keys).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/jwk+json")],
        Json(published_jwk(&program.site, key)),
    )
        .into_response())
}

/// The issuer's DID document (`did:web`): every issuer key as a verification method — Ed25519 keys as
/// `Multikey` (the keys of Data Integrity proofs), the others as `JsonWebKey` — current and retired ones
/// as assertion methods. 404 when the issuer is a `did:key` (the DID is the key; nothing to fetch).
#[utoipa::path(get, path = "/.well-known/did.json", tag = "open badges",
    responses((status = 200, description = "The DID document", content((Object = "application/did+json"))),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn did(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = state.keys.keys();
    let program = state.program_for(&keys).await?;
    match &program.did {
        Some(did @ IssuerDid::Web(_)) => {
            let doc = did_document(did, &keys);
            Ok((
                [(header::CONTENT_TYPE, "application/did+json")],
                Json(doc),
            )
                .into_response())
        }
        Some(IssuerDid::Key(d)) => Err(ApiError::NotFound(format!(
            "this issuer is {d} (its site is not HTTPS): a did:key resolves from itself, with no document to fetch"
        ))),
        None => Err(no_keys()),
    }
}

fn no_keys() -> ApiError {
    ApiError::Unavailable(
        "this server has no issuer keys: create a keystore with `laurel keys init --file <path>` and set LAUREL_ISSUER_KEYSTORE=<path>".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_keys_name_their_kid_url_and_legacy_keys_their_old_kid() {
        let key = IssuerKey::generate(crate::credentials::keys::Alg::Es256, 0).unwrap();
        let jwk = published_jwk("https://x.org/", &key);
        assert_eq!(jwk["kid"], format!("https://x.org/keys/{}", key.id));
        assert!(jwk.get("d").is_none());
        let mut legacy = crate::credentials::jwt::legacy_seed_key([3u8; 32], 0);
        legacy.retired = Some(86_400);
        let jwk = published_jwk("https://x.org/", &legacy);
        assert_eq!(jwk["kid"], legacy.id.as_str());
        assert_eq!(jwk["retired"], "1970-01-02T00:00:00Z");
    }
}
