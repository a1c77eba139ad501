//! Admin operations that send a transaction (status changes, membership grants): each runs under its audit
//! record (written before the send, completed after, with who asked), and the request waits for it only so
//! long. An operation that outlasts the wait answers `202 Accepted` with the record's id, which
//! `GET /v1/operations/{id}` follows to its end — never a bare 503 after the transaction was broadcast.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::Path;
use super::AppState;
use crate::chain::tx::TxError;
use crate::governance::audited::Audited;
use crate::governance::{GovernanceError, Outcome};
use crate::store::issuance::audit::AuditEntry;

/// How long a request waits for its operation before answering 202 (under the server's 10 s timeout).
pub const WAIT: Duration = Duration::from_secs(8);

/// A change carried out.
#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    /// Hash of the transaction that executed the change, 0x-prefixed hex.
    pub tx_hash: String,
    /// Block it was mined in.
    pub block: u64,
    /// The operation's audit record (`GET /v1/operations/{id}`).
    pub operation: i64,
}

/// An operation still running when the request stopped waiting.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// The operation's audit record.
    pub operation: i64,
    /// Where to follow it.
    pub status_url: String,
    /// `pending`.
    pub status: &'static str,
}

/// The answer to an operation: its result when it ends within [`WAIT`], else 202 with where to poll.
pub async fn answer(a: Result<Audited, GovernanceError>) -> Result<Response, ApiError> {
    let mut a = a.map_err(|e| ApiError::Internal(e.to_string()))?;
    let id = a.id;
    match tokio::time::timeout(WAIT, &mut a.done).await {
        Err(_) => Ok((
            StatusCode::ACCEPTED,
            Json(Accepted {
                operation: id,
                status_url: format!("/v1/operations/{id}"),
                status: "pending",
            }),
        )
            .into_response()),
        Ok(Err(e)) => Err(ApiError::Internal(format!("operation {id} failed: {e}"))),
        Ok(Ok(r)) => result(id, r).map(IntoResponse::into_response),
    }
}

/// An operation's result as the API answers it.
fn result(id: i64, r: Result<Outcome, GovernanceError>) -> Result<Json<Done>, ApiError> {
    match r {
        Ok(Outcome::Executed { tx, block }) => Ok(Json(Done {
            tx_hash: tx,
            block,
            operation: id,
        })),
        Ok(Outcome::Scheduled { tx, when }) => Err(ApiError::Unprocessable(format!(
            "the change needs a governance delay; it was scheduled in {tx}, executable from unix time {when} (operation {id})"
        ))),
        Err(GovernanceError::Tx(TxError::Refused(why))) => Err(ApiError::Unprocessable(why)),
        Err(GovernanceError::Tx(TxError::Timeout { hash, .. })) => Err(ApiError::Unavailable(format!(
            "transaction {hash} was sent but not mined in time; follow it at /v1/operations/{id}"
        ))),
        Err(e) => Err(ApiError::Internal(format!("operation {id}: {e}"))),
    }
}

/// An admin operation as its audit record tells it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Operation {
    /// The record's id.
    pub id: i64,
    /// Who asked (`api:<key id>` or `eip712:<account>`).
    pub actor: String,
    /// What (`revoke`, `suspend`, `reinstate`, `renew`, `membership`, …).
    pub action: String,
    /// The request's details (type or tier, holder, the operation, the sending account).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// `pending` while it runs; then `done`, `scheduled`, `refused`, `failed`, or `unknown` (sent, not
    /// known to be mined).
    pub status: String,
    /// How it ended, in words (the transaction, or why not).
    pub outcome: Option<String>,
    /// When it was asked for (unix seconds).
    pub started_at: i64,
    /// When it ended (unix seconds), if it has.
    pub completed_at: Option<i64>,
}

impl From<AuditEntry> for Operation {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            actor: e.actor,
            action: e.action,
            detail: e.detail,
            status: e.status,
            outcome: e.outcome,
            started_at: e.started_at,
            completed_at: e.completed_at,
        }
    }
}

/// An admin operation: who asked, what, and how it ended (scope: the caller's own operations).
#[utoipa::path(get, path = "/v1/operations/{id}", tag = "admin",
    params(("id" = String, Path, description = "Operation id (the audit record's)")),
    responses((status = 200, body = Operation), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("api_key" = []), ("eip712" = [])))]
pub async fn operation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Operation>, ApiError> {
    let id: i64 = id.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::field("invalid_id", "id", format!("{id:?} is not an operation id"))
    })?;
    state
        .store()
        .audit_entry(id)
        .await?
        .filter(|e| e.actor == caller.label())
        .map(|e| Json(e.into()))
        .ok_or_else(|| ApiError::NotFound(format!("no operation {id} of yours")))
}
