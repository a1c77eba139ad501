//! Reads of the projections, for the CLI, the API and the submission path.

use alloy::primitives::{Address, U256};
use std::collections::BTreeMap;

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgExecutor, Row};

use super::rows::{bind_column, Column, PgQuery, Projection};
use crate::domain::{
    token_id, CredentialRow, CredentialTypeRow, GovernanceOpRow, MembershipRow, OpState,
    RegistryStateRow, RoleRow, RoleScope, TierRow,
};
use crate::store::{i, Store, StoreError};

impl Store {
    /// `holder`'s credential of type `type_id` (any status), if one was ever issued.
    pub async fn credential(
        &self,
        chain_id: u64,
        type_id: u64,
        holder: Address,
    ) -> Result<Option<CredentialRow>, StoreError> {
        self.credential_by_token(chain_id, token_id(type_id, holder))
            .await
    }

    /// The credential of (`type_id`, `holder`) and the block the mirror reflects, read in one statement, so
    /// the row is exactly as of that block (None: nothing indexed yet).
    pub async fn credential_as_of_cursor(
        &self,
        chain_id: u64,
        type_id: u64,
        holder: Address,
    ) -> Result<(Option<CredentialRow>, Option<u64>), StoreError> {
        // Built from the table's description only: no input reaches the text.
        let sql = format!(
            "SELECT c.indexed_block, {} FROM cursors c
               LEFT JOIN {} cr ON cr.chain_id = c.chain_id AND cr.token_id = $2
             WHERE c.chain_id = $1",
            CredentialRow::columns("cr."),
            CredentialRow::TABLE
        );
        let Some(r) = sqlx::query(AssertSqlSafe(sql))
            .bind(i(chain_id))
            .bind(token_id(type_id, holder).enc())
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok((None, None));
        };
        let indexed: i64 = r.try_get("indexed_block")?;
        let block = (indexed >= 0).then_some(indexed as u64);
        // The columns are NOT NULL in the table: they are present whenever the row is.
        let present: Option<Vec<u8>> = r.try_get("token_id")?;
        let row = present.map(|_| CredentialRow::from_row(&r)).transpose()?;
        Ok((row, block))
    }

    /// The credential with token id `token`, if it was ever issued.
    pub async fn credential_by_token(
        &self,
        chain_id: u64,
        token: U256,
    ) -> Result<Option<CredentialRow>, StoreError> {
        row_where::<CredentialRow, _>(self.pool(), chain_id, "token_id = $2", &token).await
    }

    /// Every credential ever issued to `holder` (any status), by type id.
    pub async fn credentials_of_holder(
        &self,
        chain_id: u64,
        holder: Address,
    ) -> Result<Vec<CredentialRow>, StoreError> {
        rows_where::<CredentialRow, _>(
            self.pool(),
            chain_id,
            "holder = $2 ORDER BY type_id",
            &holder,
        )
        .await
    }

    /// Every credential ever issued to any of `holders` (any status).
    pub async fn credentials_of_holders(
        &self,
        chain_id: u64,
        holders: &[Address],
    ) -> Result<Vec<CredentialRow>, StoreError> {
        credentials_of_holders(self.pool(), chain_id, holders).await
    }

    /// Every credential of type `type_id` (any status), by holder.
    pub async fn credentials_of_type(
        &self,
        chain_id: u64,
        type_id: u64,
    ) -> Result<Vec<CredentialRow>, StoreError> {
        rows_where::<CredentialRow, _>(
            self.pool(),
            chain_id,
            "type_id = $2 ORDER BY holder",
            &type_id,
        )
        .await
    }

    /// Credential type `type_id`, if defined.
    pub async fn credential_type(
        &self,
        chain_id: u64,
        type_id: u64,
    ) -> Result<Option<CredentialTypeRow>, StoreError> {
        row_where::<CredentialTypeRow, _>(self.pool(), chain_id, "type_id = $2", &type_id).await
    }

    /// Every credential type, by id.
    pub async fn credential_types(
        &self,
        chain_id: u64,
    ) -> Result<Vec<CredentialTypeRow>, StoreError> {
        credential_types(self.pool(), chain_id).await
    }

    /// Every membership tier, by id.
    pub async fn tiers(&self, chain_id: u64) -> Result<Vec<TierRow>, StoreError> {
        let q = select::<TierRow>("chain_id = $1 ORDER BY tier_id").bind(i(chain_id));
        records(q.fetch_all(self.pool()).await?)
    }

    /// The membership with token id `token`, if it was ever minted.
    pub async fn membership(
        &self,
        chain_id: u64,
        token: U256,
    ) -> Result<Option<MembershipRow>, StoreError> {
        row_where::<MembershipRow, _>(self.pool(), chain_id, "token_id = $2", &token).await
    }

    /// Every membership whose current (or, if burned, last) owner is `holder`, by tier id.
    pub async fn memberships_of_holder(
        &self,
        chain_id: u64,
        holder: Address,
    ) -> Result<Vec<MembershipRow>, StoreError> {
        rows_where::<MembershipRow, _>(
            self.pool(),
            chain_id,
            "holder = $2 ORDER BY tier_id, token_id",
            &holder,
        )
        .await
    }

    /// Every membership of tier `tier_id` (any status), by token id.
    pub async fn memberships_of_tier(
        &self,
        chain_id: u64,
        tier_id: u64,
    ) -> Result<Vec<MembershipRow>, StoreError> {
        rows_where::<MembershipRow, _>(
            self.pool(),
            chain_id,
            "tier_id = $2 ORDER BY token_id",
            &tier_id,
        )
        .await
    }

    /// Role holders, in one scope or (None) all, by scope, scope id and account.
    pub async fn roles(
        &self,
        chain_id: u64,
        scope: Option<RoleScope>,
    ) -> Result<Vec<RoleRow>, StoreError> {
        roles(self.pool(), chain_id, scope).await
    }

    /// Scheduled AccessManager operations in `state` (None: all), in the order they were scheduled.
    pub async fn governance_ops(
        &self,
        chain_id: u64,
        state: Option<OpState>,
    ) -> Result<Vec<GovernanceOpRow>, StoreError> {
        let filter = "($2::text IS NULL OR state = $2) ORDER BY scheduled_block NULLS FIRST, operation_id, nonce";
        rows_where::<GovernanceOpRow, _>(self.pool(), chain_id, filter, &state).await
    }

    /// The base of `registry`'s token URIs, if known.
    pub async fn base_uri(
        &self,
        chain_id: u64,
        registry: crate::domain::Registry,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .registry_state(chain_id)
            .await?
            .into_iter()
            .find(|r| r.registry == registry)
            .and_then(|r| r.base_uri))
    }

    /// Both registries' pause flag and base URI.
    pub async fn registry_state(&self, chain_id: u64) -> Result<Vec<RegistryStateRow>, StoreError> {
        registry_state(self.pool(), chain_id).await
    }

    /// Number of undo entries per block kept for `chain_id` (the blocks a reorg may still replace).
    pub async fn undo_log(&self, chain_id: u64) -> Result<BTreeMap<u64, u64>, StoreError> {
        let rows = sqlx::query!(
            "SELECT block_number, count(*) AS \"n!\" FROM projection_undo WHERE chain_id = $1
             GROUP BY block_number ORDER BY block_number",
            i(chain_id)
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.block_number as u64, r.n as u64))
            .collect())
    }
}

/// Every credential ever issued to any of `holders` (any status).
pub(in crate::store) async fn credentials_of_holders<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: u64,
    holders: &[Address],
) -> Result<Vec<CredentialRow>, StoreError> {
    let q = select::<CredentialRow>("chain_id = $1 AND holder = ANY($2) ORDER BY holder, type_id")
        .bind(i(chain_id));
    records(bind_column(q, holders, |h| h).fetch_all(ex).await?)
}

/// Every credential type, by id.
pub(in crate::store) async fn credential_types<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: u64,
) -> Result<Vec<CredentialTypeRow>, StoreError> {
    let q = select::<CredentialTypeRow>("chain_id = $1 ORDER BY type_id").bind(i(chain_id));
    records(q.fetch_all(ex).await?)
}

/// Role holders, in one scope or (None) all, by scope, scope id and account.
pub(in crate::store) async fn roles<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: u64,
    scope: Option<RoleScope>,
) -> Result<Vec<RoleRow>, StoreError> {
    let q = select::<RoleRow>(
        "chain_id = $1 AND ($2::text IS NULL OR scope = $2) ORDER BY scope, scope_id, account",
    )
    .bind(i(chain_id))
    .bind(scope.map(RoleScope::as_str));
    records(q.fetch_all(ex).await?)
}

/// Both registries' pause flag and base URI.
pub(in crate::store) async fn registry_state<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: u64,
) -> Result<Vec<RegistryStateRow>, StoreError> {
    let q = select::<RegistryStateRow>("chain_id = $1 ORDER BY registry").bind(i(chain_id));
    records(q.fetch_all(ex).await?)
}

/// The statement selecting `T`'s rows `WHERE filter`, to bind and run.
fn select<'q, T: Projection>(filter: &'static str) -> PgQuery<'q> {
    // `filter` is a literal of this file: no input reaches the text.
    sqlx::query(AssertSqlSafe(T::select(filter)))
}

/// `T`'s rows of chain `chain_id` (`$1`) that `filter` keeps, with `arg` (in its column's codec) as `$2`.
async fn rows_where<'c, T: Projection, A: Column + Sync>(
    ex: impl PgExecutor<'c>,
    chain_id: u64,
    filter: &'static str,
    arg: &A,
) -> Result<Vec<T>, StoreError> {
    // `filter` is a literal of this file: no input reaches the text.
    let sql = T::select(&format!("chain_id = $1 AND {filter}"));
    let q = sqlx::query(AssertSqlSafe(sql))
        .bind(i(chain_id))
        .bind(arg.enc());
    records(q.fetch_all(ex).await?)
}

/// `T`'s row of chain `chain_id` (`$1`) that `filter` keeps, with `arg` (in its column's codec) as `$2`, if there is one.
async fn row_where<'c, T: Projection, A: Column + Sync>(
    ex: impl PgExecutor<'c>,
    chain_id: u64,
    filter: &'static str,
    arg: &A,
) -> Result<Option<T>, StoreError> {
    Ok(rows_where(ex, chain_id, filter, arg).await?.pop())
}

/// The rows read, as records.
fn records<T: Projection>(rows: Vec<PgRow>) -> Result<Vec<T>, StoreError> {
    rows.iter().map(T::from_row).collect()
}
