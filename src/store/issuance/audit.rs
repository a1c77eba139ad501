//! The audit log of admin actions.

use serde_json::Value;

use crate::store::{i, Store, StoreError};

/// Appends an audit record.
pub(crate) async fn audit<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: Option<u64>,
    actor: &str,
    action: &str,
    detail: &Value,
) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO audit_log (chain_id, actor, action, detail) VALUES ($1, $2, $3, $4)",
        chain_id.map(i),
        actor,
        action,
        detail
    )
    .execute(ex)
    .await?;
    Ok(())
}

impl Store {
    /// Appends an audit record.
    pub async fn audit(
        &self,
        chain_id: Option<u64>,
        actor: &str,
        action: &str,
        detail: &Value,
    ) -> Result<(), StoreError> {
        audit(self.pool(), chain_id, actor, action, detail).await
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The record's id.
    pub id: i64,
    /// Who asked (`api:<key id>`, `eip712:<account>`, `cli:<signer>`).
    pub actor: String,
    /// What (`revoke`, `gov.type.create`, …).
    pub action: String,
    /// The request's details.
    pub detail: Value,
    /// `pending` while it runs; then `done`, `scheduled`, `refused`, `failed` or `unknown` (sent, not yet
    /// known to be mined).
    pub status: String,
    /// How it ended, in words (the transaction, or why not).
    pub outcome: Option<String>,
    /// When it was asked for (unix seconds).
    pub started_at: i64,
    /// When it ended (unix seconds), if it has.
    pub completed_at: Option<i64>,
}

impl Store {
    /// Records that `actor` asked for `action` (with `detail`) on `chain_id`, before it is carried out;
    /// returns the record's id, which [`Store::audit_complete`] completes.
    pub async fn audit_begin(
        &self,
        chain_id: Option<u64>,
        actor: &str,
        action: &str,
        detail: &Value,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            "INSERT INTO audit_log (chain_id, actor, action, detail, status) VALUES ($1, $2, $3, $4, 'pending')
             RETURNING id",
            chain_id.map(i),
            actor,
            action,
            detail
        )
        .fetch_one(self.pool())
        .await?)
    }

    /// Completes audit record `id` with `status` and `outcome`.
    pub async fn audit_complete(
        &self,
        id: i64,
        status: &str,
        outcome: &str,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE audit_log SET status = $2, outcome = $3, completed_at = now() WHERE id = $1",
            id,
            status,
            outcome
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Audit record `id`, if there is one.
    pub async fn audit_entry(&self, id: i64) -> Result<Option<AuditEntry>, StoreError> {
        let row = sqlx::query!(
            r#"SELECT id, actor, action, detail, status, outcome,
                      EXTRACT(EPOCH FROM at)::BIGINT AS "started_at!",
                      EXTRACT(EPOCH FROM completed_at)::BIGINT AS completed_at
               FROM audit_log WHERE id = $1"#,
            id
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| AuditEntry {
            id: r.id,
            actor: r.actor,
            action: r.action,
            detail: r.detail,
            status: r.status,
            outcome: r.outcome,
            started_at: r.started_at,
            completed_at: r.completed_at,
        }))
    }
}
