//! `POST /v1/relayed-issuances`: an issuer's own signed batch, relayed (see [`crate::issuance::relay`]).
//! Without `signature` the answer is the EIP-712 typed data to sign (nothing is written); with it, the
//! batch is checked (signature, then the chain's simulation, then the pre-check) and sent, 202.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::admin::{evidence_of, expiry_of, reject, status_of, IssuanceStatus, ItemError};
use super::error::{ApiError, ErrorBody};
use super::AppState;
use crate::domain::TypeId;
use crate::issuance::idempotency::Content;
use crate::issuance::relay::{self, Batch, RelayError};
use crate::issuance::request::parse_address;

/// One credential of a relayed batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayItem {
    /// Holder address.
    pub holder: String,
    /// Expiry: a date or unix seconds (default: the type's validity).
    #[schema(value_type = Option<String>)]
    pub expires: Option<serde_json::Value>,
    /// The supplied evidence's keccak-256 (0x, 32 bytes).
    pub evidence_hash: Option<String>,
}

/// The body of `POST /v1/relayed-issuances`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayBody {
    /// Credential type of every item.
    #[serde(rename = "type")]
    pub type_id: u64,
    /// The signing issuer's address.
    pub issuer: String,
    /// The signature's nonce (decimal), any unused one of the issuer's.
    pub nonce: String,
    /// Unix time after which the chain refuses the signature.
    pub deadline: u64,
    /// The credentials (1 to 1,000).
    pub issuances: Vec<RelayItem>,
    /// The issuer's EIP-712 signature of the typed data (absent: answer the typed data to sign).
    pub signature: Option<String>,
}

/// What to sign.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToSign {
    /// EIP-712 typed data for `eth_signTypedData_v4`.
    #[schema(value_type = Object)]
    pub typed_data: serde_json::Value,
    /// Its signing hash.
    pub digest: String,
}

/// A relayed batch accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelayAccepted {
    /// One entry per item, in order.
    pub issuances: Vec<IssuanceStatus>,
    /// The relay transaction sent now (absent for a repeat of a batch relayed before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
}

fn parse(body: Result<Bytes, BytesRejection>) -> Result<(Batch, Option<String>), ApiError> {
    let body = body.map_err(|e| ApiError::BadRequest {
        code: "invalid_body",
        message: e.body_text(),
        field: None,
    })?;
    let b: RelayBody = serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
        code: "invalid_json",
        message: format!("the body does not match this endpoint's schema: {e}"),
        field: None,
    })?;
    let type_id = TypeId::try_from(b.type_id)
        .map_err(|e| ApiError::field("invalid_type", "type", e.to_string()))?;
    let issuer = parse_address(&b.issuer)
        .map_err(|e| ApiError::field("invalid_address", "issuer", e.to_string()))?;
    let nonce = b.nonce.parse().map_err(|_| {
        ApiError::field(
            "invalid_nonce",
            "nonce",
            format!("{:?} is not a decimal nonce", b.nonce),
        )
    })?;
    let mut items = Vec::with_capacity(b.issuances.len());
    for (i, it) in b.issuances.iter().enumerate() {
        let field = |f: &str| format!("issuances[{i}].{f}");
        let holder = parse_address(&it.holder)
            .map_err(|e| ApiError::field("invalid_address", &field("holder"), e.to_string()))?;
        let expires_at = expiry_of(it.expires.as_ref())
            .map_err(|e| ApiError::field("invalid_expiry", &field("expires"), e))?;
        let evidence = evidence_of(it.evidence_hash.as_deref())
            .map_err(|e| ApiError::field("invalid_hash", &field("evidence_hash"), e))?;
        items.push(Content {
            type_id,
            holder,
            expires_at,
            evidence,
        });
    }
    Ok((
        Batch {
            issuer,
            type_id,
            items,
            nonce,
            deadline: b.deadline,
        },
        b.signature,
    ))
}

/// Relays an issuer's own signed batch (`issueBatchWithSig`): the chain checks and charges the issuer.
/// Without `signature`, answers the typed data to sign.
#[utoipa::path(post, path = "/v1/relayed-issuances", tag = "admin", request_body = RelayBody,
    responses((status = 200, body = ToSign), (status = 202, body = RelayAccepted), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn relayed_issuances(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (batch, signature) = parse(body)?;
    let program = state.program().await?;
    let Some(signature) = signature else {
        let types = state
            .store()
            .credential_types(state.chain_id())
            .await?
            .into_iter()
            .map(|t| (t.type_id, t))
            .collect();
        let p = relay::prepare(&program, &types, &batch).map_err(to_api)?;
        return Ok(Json(ToSign {
            typed_data: p.typed_data,
            digest: format!("{:#x}", p.digest),
        })
        .into_response());
    };
    let signature: alloy::primitives::Signature = signature.parse().map_err(|_| {
        ApiError::field(
            "invalid_signature",
            "signature",
            "not a 65-byte 0x hex signature",
        )
    })?;
    let relayer = state.signer.as_ref().ok_or_else(|| {
        ApiError::Unavailable(
            "this server has no signing key, so it cannot relay (it pays the gas)".into(),
        )
    })?;
    match relay::relay(
        &state.node,
        state.store(),
        &program,
        relayer,
        &batch,
        &signature,
    )
    .await
    {
        Ok(r) => Ok((
            StatusCode::ACCEPTED,
            Json(RelayAccepted {
                issuances: r.requests.iter().map(|q| status_of(q, r.tx)).collect(),
                tx_hash: r.tx.map(|h| format!("{h:#x}")),
            }),
        )
            .into_response()),
        Err(RelayError::Items(s)) => Ok(reject(
            s.outcomes
                .iter()
                .enumerate()
                .filter_map(|(index, o)| {
                    o.refusal().map(|message| ItemError {
                        index,
                        field: None,
                        message,
                    })
                })
                .collect(),
        )),
        Err(e) => Err(to_api(e)),
    }
}

fn to_api(e: RelayError) -> ApiError {
    match e {
        RelayError::Invalid(m) => ApiError::BadRequest {
            code: "invalid_batch",
            message: m,
            field: None,
        },
        e @ RelayError::WrongSigner { .. } => ApiError::Unauthorized(e.to_string()),
        e @ RelayError::Refused(_) => ApiError::Unprocessable(e.to_string()),
        RelayError::Unavailable(m) => ApiError::Unavailable(m),
        RelayError::Store(e) => e.into(),
        e @ RelayError::Items(_) => ApiError::Unprocessable(e.to_string()),
    }
}
