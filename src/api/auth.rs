//! Who is calling an admin endpoint: an API key (`Authorization: Bearer <key>`), or an account that signed
//! the request with EIP-712 (`Authorization: EIP712 <signature>`, `X-Laurel-Issued-At: <unix seconds>`).
//!
//! A key is allowed what its scopes say. A signing account is allowed what its on-chain roles say, read
//! from the mirror: `issue` and `renew` need the issuer role of every type involved, `revoke` (revoke,
//! suspend, reinstate) the revoker role, `membership` the tier's manager role, and `read` any such role.
//! A signed request is good for five minutes around its `issuedAt`, and once.

use alloy::primitives::{keccak256, Address, Signature, B256};
use alloy::sol_types::SolStruct;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;
use crate::credentials::dates::unix_now as now;
use crate::domain::roles::TIER_MANAGER;
use crate::domain::{RoleScope, TypeRoles};
pub use crate::store::api_keys::SCOPES;
use crate::store::api_keys::{key_hash, ApiKey};

/// How far a signed request's `issuedAt` may be from the server's clock, in seconds.
pub const SIGNED_WINDOW_SECS: u64 = 300;

/// The header carrying a signed request's `issuedAt`.
pub const ISSUED_AT_HEADER: &str = "x-laurel-issued-at";

alloy::sol! {
    /// An admin API request as an account signs it (EIP-712, domain "Laurel API" version 1 with the chain
    /// id and the CredentialRegistry as verifying contract).
    #[derive(Debug)]
    struct LaurelRequest {
        string method;
        string path;
        bytes32 bodyHash;
        uint64 issuedAt;
    }
}

/// The EIP-712 domain of this deployment's admin API.
pub fn domain(chain_id: u64, registry: Address) -> alloy::sol_types::Eip712Domain {
    alloy::sol_types::eip712_domain! {
        name: "Laurel API",
        version: "1",
        chain_id: chain_id,
        verifying_contract: registry,
    }
}

/// The digest an account signs for a request: `method` (e.g. `POST`), `path` (no query), the body.
pub fn signing_digest(
    chain_id: u64,
    registry: Address,
    method: &str,
    path: &str,
    body: &[u8],
    issued_at: u64,
) -> B256 {
    LaurelRequest {
        method: method.to_string(),
        path: path.to_string(),
        bodyHash: keccak256(body),
        issuedAt: issued_at,
    }
    .eip712_signing_hash(&domain(chain_id, registry))
}

/// The account whose EIP-712 signature over the request [`verify_signed`] checked.
#[derive(Debug, Clone, Copy)]
pub struct SignedBy(pub Address);

/// Who a request authenticated as.
pub enum Caller {
    /// An API key.
    Key(ApiKey),
    /// An account that signed the request.
    Account(Address),
}

fn scope_role(scope: &str) -> Option<(RoleScope, u8, &'static str)> {
    match scope {
        "issue" | "renew" => Some((
            RoleScope::Type,
            TypeRoles::ISSUER.bits(),
            "issuer role of type",
        )),
        "revoke" => Some((
            RoleScope::Type,
            TypeRoles::REVOKER.bits(),
            "revoker role of type",
        )),
        "membership" => Some((RoleScope::Tier, TIER_MANAGER, "manager role of tier")),
        _ => None,
    }
}

impl Caller {
    /// How the caller is named in request sources, idempotency keys and the audit log.
    pub fn label(&self) -> String {
        match self {
            Caller::Key(k) => format!("api:{}", k.id),
            Caller::Account(a) => format!("eip712:{a:#x}"),
        }
    }

    /// Fails with 403 unless the caller may act under `scope` on `targets` (type or tier ids). A key
    /// needs the scope; an account needs the matching on-chain role on every target (with no targets, on
    /// at least one).
    pub async fn require(
        &self,
        state: &AppState,
        scope: &str,
        targets: &[u64],
    ) -> Result<(), ApiError> {
        let account = match self {
            Caller::Key(k) if k.scopes.iter().any(|s| s == scope) => return Ok(()),
            Caller::Key(k) => {
                return Err(ApiError::Forbidden(format!(
                "API key {:?} lacks the {scope:?} scope; create one with `laurel admin key create --scopes {scope}`",
                k.name
            )))
            }
            Caller::Account(a) => *a,
        };
        // An account's roles are read from the mirror: not when it may have missed a change of them.
        let health = state
            .store()
            .mirror_health(state.chain_id())
            .await?
            .unwrap_or_default();
        if let Some(why) = health.behind(state.settings.max_auth_lag) {
            return Err(ApiError::Unavailable(format!(
                "an account's roles are read from the mirror, and {why}: it might miss a role removed since; try again when it has caught up, or use an API key"
            )));
        }
        let roles = state.store().roles(state.chain_id(), None).await?;
        let holds = |kind: RoleScope, bit: u8, id: Option<u64>| {
            roles.iter().any(|r| {
                r.account == account
                    && r.scope == kind
                    && r.bits & bit != 0
                    && id.is_none_or(|id| r.scope_id == id)
            })
        };
        if scope == "read" {
            if holds(RoleScope::Type, TypeRoles::all().bits(), None)
                || holds(RoleScope::Tier, TIER_MANAGER, None)
            {
                return Ok(());
            }
            return Err(ApiError::Forbidden(format!(
                "account {account} holds no issuer, revoker or tier role on chain {}",
                state.chain_id()
            )));
        }
        let (kind, bit, what) = scope_role(scope)
            .ok_or_else(|| ApiError::Forbidden(format!("no role grants the {scope:?} scope")))?;
        let missing: Vec<u64> = if targets.is_empty() {
            if holds(kind, bit, None) {
                vec![]
            } else {
                vec![0]
            }
        } else {
            targets
                .iter()
                .copied()
                .filter(|t| !holds(kind, bit, Some(*t)))
                .collect()
        };
        match missing.first() {
            None => Ok(()),
            Some(0) if targets.is_empty() => Err(ApiError::Forbidden(format!(
                "account {account} holds no {what} on chain {}; grant one with `laurel gov role grant`",
                state.chain_id()
            ))),
            Some(t) => Err(ApiError::Forbidden(format!(
                "account {account} does not hold the {what} {t} on chain {}; grant it with `laurel gov role grant`",
                state.chain_id()
            ))),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(SignedBy(account)) = parts.extensions.get::<SignedBy>() {
            return Ok(Caller::Account(*account));
        }
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "send an API key (`Authorization: Bearer <key>`) or sign the request (`Authorization: EIP712 <signature>`)".into(),
                )
            })?;
        let key = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "the Authorization header must be `Bearer <key>` or `EIP712 <signature>`"
                        .into(),
                )
            })?;
        state
            .store()
            .api_key_by_hash(key_hash(key))
            .await?
            .map(Caller::Key)
            .ok_or_else(|| ApiError::Unauthorized("this API key is unknown or revoked".into()))
    }
}

/// Middleware of the admin routes: checks an `Authorization: EIP712 <signature>` request (its time, its
/// signature over method, path, body and time, and that it was not used before) and passes the signer on
/// as [`SignedBy`]. Other requests pass untouched.
pub async fn verify_signed(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match check_signed(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn check_signed(state: &AppState, req: Request) -> Result<Request, ApiError> {
    let signature = match req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("EIP712 "))
    {
        Some(s) => s.trim().to_string(),
        None => return Ok(req),
    };
    let signature: Signature = signature.parse().map_err(|_| {
        ApiError::Unauthorized(
            "the EIP712 signature is not a 65-byte 0x hex signature (r, s, v)".into(),
        )
    })?;
    let issued_at: u64 = req
        .headers()
        .get(ISSUED_AT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::Unauthorized(format!(
                "a signed request needs `{ISSUED_AT_HEADER}: <unix seconds>`, the issuedAt it signed"
            ))
        })?;
    let clock = now();
    if issued_at.abs_diff(clock) > SIGNED_WINDOW_SECS {
        return Err(ApiError::Unauthorized(format!(
            "the signed request's issuedAt {issued_at} is more than {SIGNED_WINDOW_SECS} s from the server's clock ({clock}); sign it again"
        )));
    }
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > 1 << 20) {
        return Err(ApiError::TooLarge("the body is larger than 1 MiB".into()));
    }
    let (mut parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .map_err(|_| ApiError::TooLarge("the body is larger than 1 MiB".into()))?;
    let digest = signing_digest(
        state.chain_id(),
        state.registry(),
        parts.method.as_str(),
        parts.uri.path(),
        &bytes,
        issued_at,
    );
    let account = signature
        .recover_address_from_prehash(&digest)
        .map_err(|_| ApiError::Unauthorized("the EIP712 signature recovers no account".into()))?;
    // Cheapest checks first: an account with no role at all (any random signature recovers one) is
    // refused on a read, before anything is written for it.
    let roles = state.store().roles(state.chain_id(), None).await?;
    if !roles.iter().any(|r| r.account == account && r.bits != 0) {
        return Err(ApiError::Forbidden(format!(
            "account {account} holds no issuer role, revoker role or tier role on chain {}",
            state.chain_id()
        )));
    }
    if !state
        .store()
        .use_signed_request(state.chain_id(), digest, account)
        .await?
    {
        return Err(ApiError::Unauthorized(
            "this signed request was already used; sign a new one with a fresh issuedAt".into(),
        ));
    }
    parts.extensions.insert(SignedBy(account));
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::local::PrivateKeySigner;
    use alloy::signers::SignerSync;

    #[test]
    fn the_signer_is_recovered_from_the_digest_and_any_change_moves_it() {
        let account = PrivateKeySigner::from_bytes(&[9u8; 32].into()).unwrap();
        let registry = Address::repeat_byte(1);
        let d = signing_digest(
            31337,
            registry,
            "POST",
            "/v1/issuances",
            b"{}",
            1_700_000_000,
        );
        let sig = account.sign_hash_sync(&d).unwrap();
        assert_eq!(
            sig.recover_address_from_prehash(&d).unwrap(),
            account.address()
        );
        for other in [
            signing_digest(
                31337,
                registry,
                "POST",
                "/v1/issuances",
                b"{ }",
                1_700_000_000,
            ),
            signing_digest(
                31337,
                registry,
                "POST",
                "/v1/revocations",
                b"{}",
                1_700_000_000,
            ),
            signing_digest(
                8453,
                registry,
                "POST",
                "/v1/issuances",
                b"{}",
                1_700_000_000,
            ),
            signing_digest(
                31337,
                registry,
                "POST",
                "/v1/issuances",
                b"{}",
                1_700_000_001,
            ),
        ] {
            assert_ne!(other, d);
            assert_ne!(
                sig.recover_address_from_prehash(&other).ok(),
                Some(account.address())
            );
        }
    }
}
