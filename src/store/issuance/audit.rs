//! The audit log of admin actions.

use serde_json::Value;

use crate::store::{i, Store, StoreError};

/// Appends an audit record.
pub(super) async fn audit<'c>(
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
