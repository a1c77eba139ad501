//! Loading (and locking, `FOR UPDATE`) the current rows of the keys a range touches.

use alloy::primitives::U256;
use sqlx::PgConnection;

use super::rows::{DbCredential, DbMembership, DbOp, DbRegistry, DbRole, DbTier, DbType};
use super::word;
use crate::domain::{
    CredentialRow, CredentialTypeRow, GovernanceOpRow, MembershipRow, OpKey, Registry,
    RegistryStateRow, RoleKey, RoleRow, TierRow,
};
use crate::store::changes::{Current, Keys};
use crate::store::{i, StoreError};

/// Loads (and locks, `FOR UPDATE`) the current rows of the keys `k`, one table after another.
pub(in crate::store) async fn load(
    conn: &mut PgConnection,
    chain_id: u64,
    k: &Keys,
) -> Result<Current, StoreError> {
    let chain = i(chain_id);
    Ok(Current {
        credentials: load_credentials(conn, chain, &k.credentials).await?,
        credential_types: load_credential_types(conn, chain, &k.credential_types).await?,
        tiers: load_tiers(conn, chain, &k.tiers).await?,
        memberships: load_memberships(conn, chain, &k.memberships).await?,
        roles: load_roles(conn, chain, &k.roles).await?,
        governance_ops: load_governance_ops(conn, chain, &k.governance_ops).await?,
        registry_state: load_registry_state(conn, chain, &k.registry_state).await?,
    })
}

/// Loads (and locks) the credentials of `keys`.
pub(in crate::store) async fn load_credentials(
    conn: &mut PgConnection,
    chain: i64,
    keys: &[U256],
) -> Result<Vec<CredentialRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let words: Vec<[u8; 32]> = keys.iter().map(word).collect();
    let ids: Vec<&[u8]> = words.iter().map(|w| w.as_slice()).collect();
    Ok(sqlx::query_as!(
        DbCredential,
        "SELECT token_id, type_id, holder, issuer, issued_at, expires_at, status, reason, evidence_hash,
                    issued_block, issued_tx, updated_block, recovered_from, recovered_to
             FROM credentials WHERE chain_id = $1 AND token_id = ANY($2) FOR UPDATE",
        chain,
        &ids as &[&[u8]]
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Into::into)
    .collect())
}

/// Loads (and locks) the credential types of `keys`.
pub(in crate::store) async fn load_credential_types(
    conn: &mut PgConnection,
    chain: i64,
    keys: &[u64],
) -> Result<Vec<CredentialTypeRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = keys.iter().map(|v| i(*v)).collect();
    Ok(sqlx::query_as!(
        DbType,
        "SELECT type_id, name, uri, default_validity, max_validity, renewal_window, max_supply, quota_limit,
                    quota_period, flags, prerequisites, paused, supply, defined_block, updated_block
             FROM credential_types WHERE chain_id = $1 AND type_id = ANY($2) FOR UPDATE",
        chain,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Into::into)
    .collect())
}

/// Loads (and locks) the tiers of `keys`.
pub(in crate::store) async fn load_tiers(
    conn: &mut PgConnection,
    chain: i64,
    keys: &[u64],
) -> Result<Vec<TierRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = keys.iter().map(|v| i(*v)).collect();
    Ok(sqlx::query_as!(
        DbTier,
        "SELECT tier_id, name, uri, duration, holder_renewable, transferable, max_members, eligibility,
                    paused, members, defined_block, updated_block
             FROM tiers WHERE chain_id = $1 AND tier_id = ANY($2) FOR UPDATE",
        chain,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Into::into)
    .collect())
}

/// Loads (and locks) the memberships of `keys`.
pub(in crate::store) async fn load_memberships(
    conn: &mut PgConnection,
    chain: i64,
    keys: &[U256],
) -> Result<Vec<MembershipRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let words: Vec<[u8; 32]> = keys.iter().map(word).collect();
    let ids: Vec<&[u8]> = words.iter().map(|w| w.as_slice()).collect();
    Ok(sqlx::query_as!(
        DbMembership,
        "SELECT token_id, tier_id, holder, original_holder, expires_at, granted_at, status, reason, granted_by,
                    granted_block, granted_tx, moved_from, moved_to, updated_block
             FROM memberships WHERE chain_id = $1 AND token_id = ANY($2) FOR UPDATE",
        chain,
        &ids as &[&[u8]]
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Into::into)
    .collect())
}

/// Loads (and locks) the roles of `keys`.
pub(in crate::store) async fn load_roles(
    conn: &mut PgConnection,
    chain: i64,
    keys: &[RoleKey],
) -> Result<Vec<RoleRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let scopes: Vec<&str> = keys.iter().map(|r| r.scope.as_str()).collect();
    let ids: Vec<i64> = keys.iter().map(|r| i(r.scope_id)).collect();
    let accounts: Vec<&[u8]> = keys.iter().map(|r| r.account.as_slice()).collect();
    sqlx::query_as!(
        DbRole,
        "SELECT scope, scope_id, account, bits, since, delay, granted_block, updated_block
             FROM roles WHERE chain_id = $1
               AND (scope, scope_id, account) IN (SELECT * FROM UNNEST($2::text[], $3::bigint[], $4::bytea[]))
             FOR UPDATE",
        chain,
        &scopes as &[&str],
        &ids,
        &accounts as &[&[u8]]
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}

/// Loads (and locks) the governance operations of `keys`.
pub(in crate::store) async fn load_governance_ops(
    conn: &mut PgConnection,
    chain: i64,
    keys: &[OpKey],
) -> Result<Vec<GovernanceOpRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&[u8]> = keys.iter().map(|o| o.operation_id.as_slice()).collect();
    let nonces: Vec<i64> = keys.iter().map(|o| i64::from(o.nonce)).collect();
    sqlx::query_as!(
        DbOp,
        "SELECT operation_id, nonce, schedule, caller, target, data, state, scheduled_block, scheduled_tx,
                    updated_block
             FROM governance_ops WHERE chain_id = $1
               AND (operation_id, nonce) IN (SELECT * FROM UNNEST($2::bytea[], $3::bigint[]))
             FOR UPDATE",
        chain,
        &ids as &[&[u8]],
        &nonces
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}

/// Loads (and locks) the registry state of `keys`.
pub(in crate::store) async fn load_registry_state(
    conn: &mut PgConnection,
    chain: i64,
    keys: &[Registry],
) -> Result<Vec<RegistryStateRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = keys.iter().map(|r| r.as_str()).collect();
    sqlx::query_as!(
        DbRegistry,
        "SELECT registry, paused, base_uri, updated_block
             FROM registry_state WHERE chain_id = $1 AND registry = ANY($2) FOR UPDATE",
        chain,
        &names as &[&str]
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}
