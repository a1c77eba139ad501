//! Reads of the projections, for the CLI, the API and the submission path.

use alloy::primitives::{Address, U256};
use std::collections::BTreeMap;

use super::rows::{DbCredential, DbMembership, DbOp, DbRegistry, DbRole, DbTier, DbType};
use super::word;
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
        let w = word(&token_id(type_id, holder));
        let Some(r) = sqlx::query!(
            r#"SELECT c.indexed_block, cr.token_id AS "token_id?", cr.type_id AS "type_id?",
                      cr.holder AS "holder?", cr.issuer AS "issuer?", cr.issued_at AS "issued_at?",
                      cr.expires_at AS "expires_at?", cr.status AS "status?", cr.reason AS "reason?",
                      cr.evidence_hash AS "evidence_hash?", cr.issued_block AS "issued_block?",
                      cr.issued_tx AS "issued_tx?", cr.updated_block AS "updated_block?",
                      cr.recovered_from, cr.recovered_to
               FROM cursors c LEFT JOIN credentials cr ON cr.chain_id = c.chain_id AND cr.token_id = $2
               WHERE c.chain_id = $1"#,
            i(chain_id),
            w.as_slice()
        )
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok((None, None));
        };
        let block = (r.indexed_block >= 0).then_some(r.indexed_block as u64);
        // The columns are NOT NULL in the table: they are present whenever the row is.
        let row = r.token_id.map(|token_id| {
            CredentialRow::from(DbCredential {
                token_id,
                type_id: r.type_id.unwrap_or_default(),
                holder: r.holder.unwrap_or_default(),
                issuer: r.issuer.unwrap_or_default(),
                issued_at: r.issued_at.unwrap_or_default(),
                expires_at: r.expires_at.unwrap_or_default(),
                status: r.status.unwrap_or_default(),
                reason: r.reason.unwrap_or_default(),
                evidence_hash: r.evidence_hash.unwrap_or_default(),
                issued_block: r.issued_block.unwrap_or_default(),
                issued_tx: r.issued_tx.unwrap_or_default(),
                updated_block: r.updated_block.unwrap_or_default(),
                recovered_from: r.recovered_from,
                recovered_to: r.recovered_to,
            })
        });
        Ok((row, block))
    }

    /// The credential with token id `token`, if it was ever issued.
    pub async fn credential_by_token(
        &self,
        chain_id: u64,
        token: U256,
    ) -> Result<Option<CredentialRow>, StoreError> {
        let w = word(&token);
        Ok(sqlx::query_as!(
            DbCredential,
            "SELECT token_id, type_id, holder, issuer, issued_at, expires_at, status, reason, evidence_hash,
                    issued_block, issued_tx, updated_block, recovered_from, recovered_to
             FROM credentials WHERE chain_id = $1 AND token_id = $2",
            i(chain_id),
            w.as_slice()
        )
        .fetch_optional(self.pool())
        .await?
        .map(Into::into))
    }

    /// Every credential ever issued to `holder` (any status), by type id.
    pub async fn credentials_of_holder(
        &self,
        chain_id: u64,
        holder: Address,
    ) -> Result<Vec<CredentialRow>, StoreError> {
        Ok(sqlx::query_as!(
            DbCredential,
            "SELECT token_id, type_id, holder, issuer, issued_at, expires_at, status, reason, evidence_hash,
                    issued_block, issued_tx, updated_block, recovered_from, recovered_to
             FROM credentials WHERE chain_id = $1 AND holder = $2 ORDER BY type_id",
            i(chain_id),
            holder.as_slice()
        )
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
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
        Ok(sqlx::query_as!(
            DbCredential,
            "SELECT token_id, type_id, holder, issuer, issued_at, expires_at, status, reason, evidence_hash,
                    issued_block, issued_tx, updated_block, recovered_from, recovered_to
             FROM credentials WHERE chain_id = $1 AND type_id = $2 ORDER BY holder",
            i(chain_id),
            i(type_id)
        )
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
    }

    /// Credential type `type_id`, if defined.
    pub async fn credential_type(
        &self,
        chain_id: u64,
        type_id: u64,
    ) -> Result<Option<CredentialTypeRow>, StoreError> {
        Ok(sqlx::query_as!(
            DbType,
            "SELECT type_id, name, uri, default_validity, max_validity, renewal_window, max_supply, quota_limit,
                    quota_period, flags, prerequisites, paused, supply, defined_block, updated_block
             FROM credential_types WHERE chain_id = $1 AND type_id = $2",
            i(chain_id),
            i(type_id)
        )
        .fetch_optional(self.pool())
        .await?
        .map(Into::into))
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
        Ok(sqlx::query_as!(
            DbTier,
            "SELECT tier_id, name, uri, duration, holder_renewable, transferable, max_members, eligibility,
                    paused, members, defined_block, updated_block
             FROM tiers WHERE chain_id = $1 ORDER BY tier_id",
            i(chain_id)
        )
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
    }

    /// The membership with token id `token`, if it was ever minted.
    pub async fn membership(
        &self,
        chain_id: u64,
        token: U256,
    ) -> Result<Option<MembershipRow>, StoreError> {
        let w = word(&token);
        Ok(sqlx::query_as!(
            DbMembership,
            "SELECT token_id, tier_id, holder, original_holder, expires_at, granted_at, status, reason, granted_by,
                    granted_block, granted_tx, moved_from, moved_to, updated_block
             FROM memberships WHERE chain_id = $1 AND token_id = $2",
            i(chain_id),
            w.as_slice()
        )
        .fetch_optional(self.pool())
        .await?
        .map(Into::into))
    }

    /// Every membership whose current (or, if burned, last) owner is `holder`, by tier id.
    pub async fn memberships_of_holder(
        &self,
        chain_id: u64,
        holder: Address,
    ) -> Result<Vec<MembershipRow>, StoreError> {
        Ok(sqlx::query_as!(
            DbMembership,
            "SELECT token_id, tier_id, holder, original_holder, expires_at, granted_at, status, reason, granted_by,
                    granted_block, granted_tx, moved_from, moved_to, updated_block
             FROM memberships WHERE chain_id = $1 AND holder = $2 ORDER BY tier_id, token_id",
            i(chain_id),
            holder.as_slice()
        )
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
    }

    /// Every membership of tier `tier_id` (any status), by token id.
    pub async fn memberships_of_tier(
        &self,
        chain_id: u64,
        tier_id: u64,
    ) -> Result<Vec<MembershipRow>, StoreError> {
        Ok(sqlx::query_as!(
            DbMembership,
            "SELECT token_id, tier_id, holder, original_holder, expires_at, granted_at, status, reason, granted_by,
                    granted_block, granted_tx, moved_from, moved_to, updated_block
             FROM memberships WHERE chain_id = $1 AND tier_id = $2 ORDER BY token_id",
            i(chain_id),
            i(tier_id)
        )
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
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
        sqlx::query_as!(
            DbOp,
            "SELECT operation_id, nonce, schedule, caller, target, data, state, scheduled_block, scheduled_tx,
                    updated_block
             FROM governance_ops WHERE chain_id = $1 AND ($2::text IS NULL OR state = $2)
             ORDER BY scheduled_block NULLS FIRST, operation_id, nonce",
            i(chain_id),
            state.map(OpState::as_str)
        )
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
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
    let holders: Vec<&[u8]> = holders.iter().map(|h| h.as_slice()).collect();
    Ok(sqlx::query_as!(
        DbCredential,
        "SELECT token_id, type_id, holder, issuer, issued_at, expires_at, status, reason, evidence_hash,
                issued_block, issued_tx, updated_block, recovered_from, recovered_to
         FROM credentials WHERE chain_id = $1 AND holder = ANY($2) ORDER BY holder, type_id",
        i(chain_id),
        &holders as &[&[u8]]
    )
    .fetch_all(ex)
    .await?
    .into_iter()
    .map(Into::into)
    .collect())
}

/// Every credential type, by id.
pub(in crate::store) async fn credential_types<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: u64,
) -> Result<Vec<CredentialTypeRow>, StoreError> {
    Ok(sqlx::query_as!(
        DbType,
        "SELECT type_id, name, uri, default_validity, max_validity, renewal_window, max_supply, quota_limit,
                quota_period, flags, prerequisites, paused, supply, defined_block, updated_block
         FROM credential_types WHERE chain_id = $1 ORDER BY type_id",
        i(chain_id)
    )
    .fetch_all(ex)
    .await?
    .into_iter()
    .map(Into::into)
    .collect())
}

/// Role holders, in one scope or (None) all, by scope, scope id and account.
pub(in crate::store) async fn roles<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: u64,
    scope: Option<RoleScope>,
) -> Result<Vec<RoleRow>, StoreError> {
    sqlx::query_as!(
        DbRole,
        "SELECT scope, scope_id, account, bits, since, delay, granted_block, updated_block
         FROM roles WHERE chain_id = $1 AND ($2::text IS NULL OR scope = $2)
         ORDER BY scope, scope_id, account",
        i(chain_id),
        scope.map(RoleScope::as_str)
    )
    .fetch_all(ex)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}

/// Both registries' pause flag and base URI.
pub(in crate::store) async fn registry_state<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: u64,
) -> Result<Vec<RegistryStateRow>, StoreError> {
    sqlx::query_as!(
        DbRegistry,
        "SELECT registry, paused, base_uri, updated_block FROM registry_state WHERE chain_id = $1
         ORDER BY registry",
        i(chain_id)
    )
    .fetch_all(ex)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}
