//! Admin endpoints, authenticated with API keys (`Authorization: Bearer <key>`; keys are created with
//! `laurel admin key create --scopes issue,…`, stored hashed, revocable) or signed with EIP-712 by an account
//! holding the on-chain role ([`super::auth`]). A missing or unknown credential is 401, one without the
//! endpoint's scope or role is 403, both as JSON.
//!
//! `POST /v1/issuances` queues one issuance or a batch (up to 1,000) after the same checks as the CLI; it is
//! all or nothing (a 422 lists every bad item and queues none). An `Idempotency-Key` header makes a repeat
//! return the first result. `GET /v1/issuances/{id}` tells where a request is.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::auth::{Caller, SCOPES};
use super::error::{ApiError, ErrorBody};
use super::extract::Path;
use super::operations::{self, Accepted, Done};
use super::AppState;
use crate::domain::{TierId, TypeId};
use crate::governance::{audited, CredentialOp, MembershipOp};
use crate::issuance::idempotency::{self, Content};
use crate::issuance::request::{parse_address, parse_expiry};
use crate::issuance::submit::{submit, Mode, Outcome as Issued, Submission, SubmitError};
use crate::store::issuance::{NewRequest, Request};

/// Largest batch one request may carry.
pub const MAX_ITEMS: usize = 1_000;

/// One issuance in a request body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuanceInput {
    /// Credential type id.
    #[serde(rename = "type")]
    pub type_id: u64,
    /// Holder address (EIP-55 checksum when mixed case).
    pub holder: String,
    /// Expiry: unix seconds or `YYYY-MM-DD`; absent = the type's default.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub expires: Option<serde_json::Value>,
    /// keccak-256 of the evidence document, 0x-prefixed.
    #[serde(default)]
    pub evidence_hash: Option<String>,
}

/// The body of `POST /v1/issuances`: one issuance, or `{"issuances": [...]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum IssuanceBody {
    /// Several issuances, checked all or nothing: `{"issuances": [...]}`.
    Batch {
        /// The issuances (1 to 1,000).
        issuances: Vec<IssuanceInput>,
    },
    /// A single issuance.
    One(IssuanceInput),
}

/// Where one issuance request is.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuanceStatus {
    /// Queue id (`issuance_requests.id`), as `GET /v1/issuances/{id}` takes it.
    pub id: i64,
    /// queued, submitted, confirmed or failed.
    pub state: &'static str,
    /// Credential type id.
    #[serde(rename = "type")]
    pub type_id: u64,
    /// Holder (EIP-55).
    pub holder: String,
    /// The transaction carrying it, once sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    /// The block whose event confirmed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<u64>,
    /// Why it failed, or why it waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub(super) fn status_of(r: &Request, tx: Option<alloy::primitives::B256>) -> IssuanceStatus {
    IssuanceStatus {
        id: r.id,
        state: r.state.as_str(),
        type_id: r.type_id,
        holder: r.holder.to_string(),
        tx_hash: r.confirmed_tx.or(tx).map(|h| format!("{h:#x}")),
        block: r.confirmed_block,
        reason: r.error.clone(),
    }
}

/// The answer of `POST /v1/issuances`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuanceAccepted {
    /// One entry per input, in order.
    pub issuances: Vec<IssuanceStatus>,
    /// False when this repeats an earlier request with the same Idempotency-Key.
    pub created: bool,
}

/// One bad item of a rejected batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemError {
    /// Index in `issuances` (0 for a single issuance).
    pub index: usize,
    /// Field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
    /// What is wrong.
    pub message: String,
}

/// A 422: every bad item; nothing was queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rejected {
    /// `invalid_items`.
    pub error: &'static str,
    /// How many items cannot be issued, and that nothing was queued.
    pub message: String,
    /// The bad items.
    pub items: Vec<ItemError>,
}

pub(super) fn reject(items: Vec<ItemError>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(Rejected {
            error: "invalid_items",
            message: format!(
                "{} item(s) cannot be issued; nothing was queued",
                items.len()
            ),
            items,
        }),
    )
        .into_response()
}

/// Queues issuances: one, or a batch of up to 1,000 (scope `issue`).
#[utoipa::path(post, path = "/v1/issuances", tag = "admin",
    request_body = IssuanceBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "A repeat with the same key returns the first result")),
    responses((status = 202, body = IssuanceAccepted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = Rejected)),
    security(("api_key" = []), ("eip712" = [])))]
pub async fn create_issuances(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(&state, "issue", &[]).await?;
    let items = parse_body(body)?;
    let idem = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(idempotency::header_key(v.as_bytes()).map_err(|e| {
            ApiError::field("invalid_idempotency_key", "Idempotency-Key", e.to_string())
        })?),
    };
    let signer = state.signer.as_ref().map(|s| s.address()).ok_or_else(|| {
        ApiError::Unavailable("this server has no signing key, so it cannot issue".into())
    })?;
    // Parse every item; all or nothing.
    let mut errors = Vec::new();
    let mut requests = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match parse_item(&state, &caller, idem.as_deref(), index, item) {
            Ok(r) => requests.push((index, r)),
            Err(e) => errors.push(e),
        }
    }
    // A signing account needs the issuer role of every type in the batch.
    let mut types: Vec<u64> = requests.iter().map(|(_, r)| r.type_id.get()).collect();
    types.sort_unstable();
    types.dedup();
    caller.require(&state, "issue", &types).await?;
    let (index, requests): (Vec<usize>, Vec<NewRequest>) = requests.into_iter().unzip();
    let submission = Submission {
        actor: caller.label(),
        requests,
        // With items that did not parse, the rest is only checked, so that every problem is told at once.
        mode: if errors.is_empty() {
            Mode::AllOrNothing
        } else {
            Mode::CheckOnly
        },
        detail: serde_json::json!({}),
    };
    let program = state.program().await?;
    let submitted = submit(&state.node, state.store(), &program, signer, submission)
        .await
        .map_err(|e| match e {
            SubmitError::Clock(_) => ApiError::Unavailable(
                "the chain node does not answer, so nothing can be checked or queued; try again shortly".into(),
            ),
            SubmitError::Store(e) => e.into(),
        })?;
    // Every problem at once: the items that did not parse and those the checks refuse.
    errors.extend(
        index
            .iter()
            .zip(&submitted.outcomes)
            .filter_map(|(index, o)| {
                o.refusal().map(|message| ItemError {
                    index: *index,
                    field: None,
                    message,
                })
            }),
    );
    if !errors.is_empty() || !submitted.written {
        errors.sort_by_key(|e| e.index);
        return Ok(reject(errors));
    }
    let created = submitted.queued() > 0;
    let out = submitted
        .outcomes
        .iter()
        .filter_map(Issued::request)
        .map(|r| status_of(r, None))
        .collect();
    Ok((
        StatusCode::ACCEPTED,
        Json(IssuanceAccepted {
            issuances: out,
            created,
        }),
    )
        .into_response())
}

/// The body's issuances (1 to [`MAX_ITEMS`]).
fn parse_body(body: Result<Bytes, BytesRejection>) -> Result<Vec<IssuanceInput>, ApiError> {
    let body = body_bytes(body)?;
    let parsed: IssuanceBody = serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
        code: "invalid_json",
        message: format!("the body is not an issuance or {{\"issuances\": [...]}}: {e}"),
        field: None,
    })?;
    let items = match parsed {
        IssuanceBody::Batch { issuances } => issuances,
        IssuanceBody::One(one) => vec![one],
    };
    if items.is_empty() {
        return Err(ApiError::field("empty", "issuances", "the batch is empty"));
    }
    if items.len() > MAX_ITEMS {
        return Err(ApiError::TooLarge(format!(
            "{} issuances in one request; the limit is {MAX_ITEMS}",
            items.len()
        )));
    }
    Ok(items)
}

/// Item `index` as a request under its idempotency key (the header's, scoped, or one derived from it).
fn parse_item(
    state: &AppState,
    caller: &Caller,
    idem: Option<&str>,
    index: usize,
    item: &IssuanceInput,
) -> Result<NewRequest, ItemError> {
    let bad = |field: &'static str, message: String| ItemError {
        index,
        field: Some(field),
        message,
    };
    let holder = parse_address(&item.holder).map_err(|e| bad("holder", e.to_string()))?;
    let type_id = TypeId::try_from(item.type_id).map_err(|e| bad("type", e.to_string()))?;
    let expires_at = expiry_of(item.expires.as_ref()).map_err(|e| bad("expires", e))?;
    let evidence =
        evidence_of(item.evidence_hash.as_deref()).map_err(|e| bad("evidence_hash", e))?;
    let key = idem.map(|k| idempotency::scoped_key(&caller.label(), k, index));
    let content = Content {
        type_id,
        holder,
        expires_at,
        evidence,
    };
    Ok(idempotency::keyed(
        state.chain_id(),
        key,
        content,
        caller.label(),
        Some(&caller.label()),
    ))
}

/// An item's `expires`: absent or null (the type's default, 0), a date, or unix seconds.
pub(super) fn expiry_of(v: Option<&serde_json::Value>) -> Result<u64, String> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(0),
        Some(serde_json::Value::String(s)) => parse_expiry(s),
        Some(other) => parse_expiry(&other.to_string()),
    }
    .map_err(|e| e.to_string())
}

/// An item's `evidence_hash`: absent (zero), or a 0x-prefixed 32-byte hash.
pub(super) fn evidence_of(h: Option<&str>) -> Result<alloy::primitives::B256, String> {
    match h {
        None => Ok(alloy::primitives::B256::ZERO),
        Some(h) => h
            .parse()
            .ok()
            .filter(|_| h.len() == 66 && h.starts_with("0x"))
            .ok_or_else(|| format!("{h:?} is not a 0x-prefixed 32-byte hash")),
    }
}

/// Where an issuance request is (scope `issue` or `read`).
#[utoipa::path(get, path = "/v1/issuances/{id}", tag = "admin",
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, body = IssuanceStatus), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = []), ("eip712" = [])))]
pub async fn issuance(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IssuanceStatus>, ApiError> {
    if caller.require(&state, "read", &[]).await.is_err() {
        caller.require(&state, "issue", &[]).await?;
    }
    let id: i64 = id.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::field("invalid_id", "id", format!("{id:?} is not a request id"))
    })?;
    let r = state
        .store()
        .requests(&[id])
        .await?
        .pop()
        // Another caller's request is as unknown as a missing one.
        .filter(|r| idempotency::owned_by(&r.idempotency_key, &caller.label()))
        .ok_or_else(|| ApiError::NotFound(format!("no issuance request {id} of yours")))?;
    let tx = state.store().request_tx(id).await?;
    Ok(Json(status_of(&r, tx)))
}

/// A status change of one credential.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// Credential type id.
    #[serde(rename = "type")]
    pub type_id: u64,
    /// Holder, 0x-prefixed hex (mixed case must carry a valid EIP-55 checksum; not zero).
    pub holder: String,
    /// Reason code (revocations and suspensions; 0-255).
    #[serde(default)]
    pub reason: u8,
    /// New expiry (renewals): unix seconds or `YYYY-MM-DD`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub until: Option<serde_json::Value>,
}

/// A membership grant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipGrant {
    /// Tier to grant a membership of (from 1; 0 is refused as `invalid_tier`).
    pub tier: u64,
    /// Address to grant to, 0x-prefixed hex (mixed case must be valid EIP-55; not zero).
    pub holder: String,
}

/// The request body, or why there is none: over the 1 MiB limit (413), or unreadable (400).
fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge("the body is larger than 1 MiB".into())
        } else {
            ApiError::BadRequest {
                code: "invalid_body",
                message: e.body_text(),
                field: None,
            }
        }
    })
}

/// The request body parsed as `T` (400 `invalid_json`, naming what did not match).
fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body_bytes(body)?;
    serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
        code: "invalid_json",
        message: format!("the body does not match this endpoint's schema: {e}"),
        field: None,
    })
}

fn signer_of(state: &AppState) -> Result<alloy::signers::local::PrivateKeySigner, ApiError> {
    state.signer.clone().ok_or_else(|| {
        ApiError::Unavailable(
            "this server has no signing key, so it cannot send transactions".into(),
        )
    })
}

async fn credential_change(
    state: AppState,
    caller: Caller,
    scope: &str,
    body: Result<Bytes, BytesRejection>,
    make: impl FnOnce(&StatusChange) -> Result<CredentialOp, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(&state, scope, &[]).await?;
    let req: StatusChange = json_body(body)?;
    let holder = super::public::address("holder", &req.holder)?;
    let type_id = TypeId::try_from(req.type_id)
        .map_err(|e| ApiError::field("invalid_type", "type", e.to_string()))?;
    caller.require(&state, scope, &[type_id.get()]).await?;
    let op = make(&req)?;
    let signer = signer_of(&state)?;
    let actor = caller.label();
    let op = audited::credential(
        &state.node,
        &state.store,
        signer,
        &actor,
        (type_id, holder),
        op,
    );
    operations::answer(op.await).await
}

/// One POST handler per credential status change: its OpenAPI entry (path, scope), and the operation a
/// request asks for.
macro_rules! credential_change_handler {
    ($(#[$doc:meta])* $name:ident, $path:tt, $scope:tt, $op:expr) => {
        $(#[$doc])*
        #[utoipa::path(post, path = $path, tag = "admin", request_body = StatusChange,
            responses((status = 200, body = Done), (status = 202, body = Accepted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
                      (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
            security(("api_key" = []), ("eip712" = [])))]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            body: Result<Bytes, BytesRejection>,
        ) -> Result<Response, ApiError> {
            credential_change(state, caller, $scope, body, $op).await
        }
    };
}

credential_change_handler!(
    /// Revokes a credential (scope `revoke`).
    revocations,
    "/v1/revocations",
    "revoke",
    |r| Ok(CredentialOp::Revoke(r.reason))
);
credential_change_handler!(
    /// Suspends a credential (scope `revoke`).
    suspensions,
    "/v1/suspensions",
    "revoke",
    |r| Ok(CredentialOp::Suspend(r.reason))
);
credential_change_handler!(
    /// Reinstates a suspended credential (scope `revoke`).
    reinstatements,
    "/v1/reinstatements",
    "revoke",
    |_| Ok(CredentialOp::Reinstate)
);
credential_change_handler!(
    /// Renews a credential to a new expiry (scope `renew`).
    renewals,
    "/v1/renewals",
    "renew",
    renew_op
);

/// The renewal a request asks for: `until`, a date or unix seconds, required.
fn renew_op(r: &StatusChange) -> Result<CredentialOp, ApiError> {
    let until = match &r.until {
        Some(serde_json::Value::String(s)) => parse_expiry(s),
        Some(serde_json::Value::Number(n)) => parse_expiry(&n.to_string()),
        _ => {
            return Err(ApiError::field(
                "missing",
                "until",
                "until (the new expiry) is required",
            ))
        }
    }
    .map_err(|e| ApiError::field("invalid_expiry", "until", e.to_string()))?;
    if until == 0 {
        return Err(ApiError::field(
            "invalid_expiry",
            "until",
            "until must be a date",
        ));
    }
    Ok(CredentialOp::Renew(until))
}

/// Grants a membership of a tier (scope `membership`).
#[utoipa::path(post, path = "/v1/membership-grants", tag = "admin", request_body = MembershipGrant,
    responses((status = 200, body = Done), (status = 202, body = Accepted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("eip712" = [])))]
pub async fn membership_grants(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(&state, "membership", &[]).await?;
    let req: MembershipGrant = json_body(body)?;
    let holder = super::public::address("holder", &req.holder)?;
    let tier = TierId::try_from(req.tier)
        .map_err(|e| ApiError::field("invalid_tier", "tier", e.to_string()))?;
    caller.require(&state, "membership", &[tier.get()]).await?;
    let signer = signer_of(&state)?;
    let actor = caller.label();
    let op = audited::membership(
        &state.node,
        &state.store,
        signer,
        &actor,
        (tier, holder),
        MembershipOp::Grant,
    );
    operations::answer(op.await).await
}
