//! Admin operations under their audit record: the record (who asked, what) is written before the operation
//! starts and completed after it with how it ended, so a crash mid-way leaves a `pending` record rather than
//! nothing, and an operation that outlasts its HTTP request can be polled by the record's id.

use std::future::Future;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use super::ops::{credential_op, membership_op, recover, CredentialOp, MembershipOp};
use super::sender::{Outcome, Sender};
use super::{Change, GovernanceError};
use crate::chain::tx::TxError;
use crate::chain::Node;
use crate::domain::{TierId, TypeId};
use crate::store::Store;

/// An operation started under audit record `id`; `done` ends with its result (the record is completed
/// by then).
pub struct Audited {
    /// The audit record's id (what `GET /v1/operations/{id}` takes).
    pub id: i64,
    /// The running operation.
    pub done: JoinHandle<Result<Outcome, GovernanceError>>,
}

/// What a result means in the audit log: its status and outcome text.
pub fn status_of(r: &Result<Outcome, GovernanceError>) -> (&'static str, String) {
    match r {
        Ok(o @ Outcome::Executed { .. }) => ("done", o.to_string()),
        Ok(o @ Outcome::Scheduled { .. }) => ("scheduled", o.to_string()),
        Err(e @ GovernanceError::Tx(TxError::Refused(_))) => ("refused", e.to_string()),
        Err(e @ GovernanceError::NoRole { .. }) => ("refused", e.to_string()),
        Err(e @ GovernanceError::Tx(TxError::Timeout { .. })) => ("unknown", e.to_string()),
        Err(e) => ("failed", e.to_string()),
    }
}

/// Records that `actor` asks for `action` (`detail`) on `chain_id`, then runs `op` in its own task, which
/// completes the record with the result whether or not anyone still waits for it.
pub async fn start(
    store: &Store,
    chain_id: u64,
    actor: &str,
    action: &str,
    detail: Value,
    op: impl Future<Output = Result<Outcome, GovernanceError>> + Send + 'static,
) -> Result<Audited, GovernanceError> {
    let id = store
        .audit_begin(Some(chain_id), actor, action, &detail)
        .await?;
    let store = store.clone();
    let done = tokio::spawn(async move {
        let r = op.await;
        let (status, outcome) = status_of(&r);
        if let Err(e) = store.audit_complete(id, status, &outcome).await {
            tracing::error!(audit = id, error = %e, "completing an audit record failed");
        }
        r
    });
    Ok(Audited { id, done })
}

impl Audited {
    /// Waits for the operation (the CLI).
    pub async fn finish(self) -> Result<Outcome, GovernanceError> {
        self.done
            .await
            .map_err(|e| GovernanceError::Rpc(format!("the operation's task failed: {e}")))?
    }
}

/// [`credential_op`] on `holder`'s credential of `type_id`, asked by `actor`, under its audit record.
pub async fn credential(
    node: &Node,
    store: &Store,
    signer: PrivateKeySigner,
    actor: &str,
    (type_id, holder): (TypeId, Address),
    op: CredentialOp,
) -> Result<Audited, GovernanceError> {
    let detail = json!({"type": type_id, "holder": holder, "op": format!("{op:?}"), "sender": signer.address()});
    let (n, s) = (node.clone(), store.clone());
    let run = async move { credential_op(&n, &s, signer, type_id, holder, op).await };
    start(store, node.chain_id(), actor, op.action(), detail, run).await
}

/// [`membership_op`] on `holder`'s membership of `tier`, asked by `actor`, under its audit record.
pub async fn membership(
    node: &Node,
    store: &Store,
    signer: PrivateKeySigner,
    actor: &str,
    (tier, holder): (TierId, Address),
    op: MembershipOp,
) -> Result<Audited, GovernanceError> {
    let detail = json!({"tier": tier, "holder": holder, "op": format!("{op:?}"), "sender": signer.address()});
    let (n, s) = (node.clone(), store.clone());
    let run = async move { membership_op(&n, &s, signer, tier, holder, op).await };
    start(store, node.chain_id(), actor, "membership", detail, run).await
}

/// [`recover`] of `from`'s credentials to `to`, asked by `actor`, under its audit record.
pub async fn recovery(
    node: &Node,
    store: &Store,
    signer: PrivateKeySigner,
    actor: &str,
    (from, to): (Address, Address),
) -> Result<Audited, GovernanceError> {
    let detail = json!({"from": from, "to": to, "sender": signer.address()});
    let (n, s) = (node.clone(), store.clone());
    let run = async move { recover(&n, &s, signer, from, to).await };
    start(store, node.chain_id(), actor, "recover", detail, run).await
}

/// A governed `change`, asked by `actor`, under its audit record.
pub async fn change(
    node: &Node,
    store: &Store,
    signer: PrivateKeySigner,
    actor: &str,
    change: Change,
) -> Result<Audited, GovernanceError> {
    let detail =
        json!({"target": change.target, "input": change.input, "sender": signer.address()});
    let (n, s) = (node.clone(), store.clone());
    let action = change.action;
    let run = async move { Sender::new(&n, &s, signer).apply(&change).await };
    start(store, node.chain_id(), actor, action, detail, run).await
}
