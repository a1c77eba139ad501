//! The projection tables (credentials, credential types, tiers, memberships, roles, governance operations,
//! registry state): written inside the range transactions of [`mirror`](super::mirror), read by the CLI and
//! the API.
//!
//! Per committed range, a constant number of statements per table: load the touched keys' rows
//! (`= ANY`/`IN UNNEST`, `FOR UPDATE`), let the indexer fold the range, upsert the new rows and delete the gone
//! ones with one UNNEST statement each, and write the undo log of the blocks a reorg may still replace.
//! An unwind restores, for every key with undo entries above the fork, the before-image of its lowest such
//! block (no image: the row is deleted), with the same statements, then drops those entries.

use super::i;
use std::collections::BTreeMap;

use alloy::primitives::{Address, Bytes, B256, U256};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::changes::{Changes, Current, Folded, Keys, Undo};
use super::{Store, StoreError};
use crate::domain::{
    token_id, CredentialRow, CredentialTypeRow, GovernanceOpRow, MembershipRow, OpKey, OpState,
    Registry, RegistryStateRow, RoleKey, RoleRow, RoleScope, TierRow,
};

/// Names of the projection tables in `projection_undo.tbl`.
mod tbl {
    pub const CREDENTIALS: &str = "credentials";
    pub const CREDENTIAL_TYPES: &str = "credential_types";
    pub const TIERS: &str = "tiers";
    pub const MEMBERSHIPS: &str = "memberships";
    pub const ROLES: &str = "roles";
    pub const GOVERNANCE_OPS: &str = "governance_ops";
    pub const REGISTRY_STATE: &str = "registry_state";
}

fn word(v: &U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

fn u256(b: &[u8]) -> U256 {
    U256::from_be_slice(b)
}

fn addr(b: &[u8]) -> Address {
    Address::from_slice(b)
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Postgres array literal of ids, cast to BIGINT[] in SQL (UNNEST cannot take an array of arrays).
fn id_array(ids: &[u64]) -> String {
    let items: Vec<String> = ids.iter().map(u64::to_string).collect();
    format!("{{{}}}", items.join(","))
}

// ---------------------------------------------------------------------------------------------------------
// Rows as the database returns them
// ---------------------------------------------------------------------------------------------------------

struct DbCredential {
    token_id: Vec<u8>,
    type_id: i64,
    holder: Vec<u8>,
    issuer: Vec<u8>,
    issued_at: i64,
    expires_at: i64,
    status: i16,
    reason: i16,
    evidence_hash: Vec<u8>,
    issued_block: i64,
    issued_tx: Vec<u8>,
    updated_block: i64,
    recovered_from: Option<Vec<u8>>,
    recovered_to: Option<Vec<u8>>,
}

impl From<DbCredential> for CredentialRow {
    fn from(r: DbCredential) -> Self {
        Self {
            token_id: u256(&r.token_id),
            type_id: r.type_id as u64,
            holder: addr(&r.holder),
            issuer: addr(&r.issuer),
            issued_at: r.issued_at as u64,
            expires_at: r.expires_at as u64,
            status: r.status as u8,
            reason: r.reason as u8,
            evidence_hash: B256::from_slice(&r.evidence_hash),
            issued_block: r.issued_block as u64,
            issued_tx: B256::from_slice(&r.issued_tx),
            updated_block: r.updated_block as u64,
            recovered_from: r.recovered_from.as_deref().map(addr),
            recovered_to: r.recovered_to.as_deref().map(addr),
        }
    }
}

struct DbType {
    type_id: i64,
    name: String,
    uri: String,
    default_validity: i64,
    max_validity: i64,
    renewal_window: i64,
    max_supply: i64,
    quota_limit: i64,
    quota_period: i64,
    flags: i32,
    prerequisites: Vec<i64>,
    paused: bool,
    supply: i64,
    defined_block: i64,
    updated_block: i64,
}

impl From<DbType> for CredentialTypeRow {
    fn from(r: DbType) -> Self {
        Self {
            type_id: r.type_id as u64,
            name: r.name,
            uri: r.uri,
            default_validity: r.default_validity as u64,
            max_validity: r.max_validity as u64,
            renewal_window: r.renewal_window as u64,
            max_supply: r.max_supply as u32,
            quota_limit: r.quota_limit as u32,
            quota_period: r.quota_period as u32,
            flags: r.flags as u16,
            prerequisites: r.prerequisites.into_iter().map(|p| p as u64).collect(),
            paused: r.paused,
            supply: r.supply as u64,
            defined_block: r.defined_block as u64,
            updated_block: r.updated_block as u64,
        }
    }
}

struct DbTier {
    tier_id: i64,
    name: String,
    uri: String,
    duration: i64,
    holder_renewable: bool,
    transferable: bool,
    max_members: i64,
    eligibility: Vec<i64>,
    paused: bool,
    members: i64,
    defined_block: i64,
    updated_block: i64,
}

impl From<DbTier> for TierRow {
    fn from(r: DbTier) -> Self {
        Self {
            tier_id: r.tier_id as u64,
            name: r.name,
            uri: r.uri,
            duration: r.duration as u64,
            holder_renewable: r.holder_renewable,
            transferable: r.transferable,
            max_members: r.max_members as u64,
            eligibility: r.eligibility.into_iter().map(|p| p as u64).collect(),
            paused: r.paused,
            members: r.members as u64,
            defined_block: r.defined_block as u64,
            updated_block: r.updated_block as u64,
        }
    }
}

struct DbMembership {
    token_id: Vec<u8>,
    tier_id: i64,
    holder: Vec<u8>,
    original_holder: Vec<u8>,
    expires_at: i64,
    granted_at: i64,
    status: i16,
    reason: i16,
    granted_by: Option<Vec<u8>>,
    granted_block: i64,
    granted_tx: Vec<u8>,
    moved_from: Option<Vec<u8>>,
    moved_to: Option<Vec<u8>>,
    updated_block: i64,
}

impl From<DbMembership> for MembershipRow {
    fn from(r: DbMembership) -> Self {
        Self {
            token_id: u256(&r.token_id),
            tier_id: r.tier_id as u64,
            holder: addr(&r.holder),
            original_holder: addr(&r.original_holder),
            expires_at: r.expires_at as u64,
            granted_at: r.granted_at as u64,
            status: r.status as u8,
            reason: r.reason as u8,
            granted_by: r.granted_by.as_deref().map(addr),
            granted_block: r.granted_block as u64,
            granted_tx: B256::from_slice(&r.granted_tx),
            moved_from: r.moved_from.as_deref().map(u256),
            moved_to: r.moved_to.as_deref().map(u256),
            updated_block: r.updated_block as u64,
        }
    }
}

struct DbRole {
    scope: String,
    scope_id: i64,
    account: Vec<u8>,
    bits: i16,
    since: Option<i64>,
    delay: Option<i64>,
    granted_block: i64,
    updated_block: i64,
}

impl TryFrom<DbRole> for RoleRow {
    type Error = StoreError;
    fn try_from(r: DbRole) -> Result<Self, StoreError> {
        Ok(Self {
            scope: RoleScope::parse(&r.scope)
                .ok_or_else(|| corrupt(format!("unknown role scope {:?}", r.scope)))?,
            scope_id: r.scope_id as u64,
            account: addr(&r.account),
            bits: r.bits as u8,
            since: r.since.map(|v| v as u64),
            delay: r.delay.map(|v| v as u64),
            granted_block: r.granted_block as u64,
            updated_block: r.updated_block as u64,
        })
    }
}

struct DbOp {
    operation_id: Vec<u8>,
    nonce: i64,
    schedule: Option<i64>,
    caller: Option<Vec<u8>>,
    target: Option<Vec<u8>>,
    data: Option<Vec<u8>>,
    state: String,
    scheduled_block: Option<i64>,
    scheduled_tx: Option<Vec<u8>>,
    updated_block: i64,
}

impl TryFrom<DbOp> for GovernanceOpRow {
    type Error = StoreError;
    fn try_from(r: DbOp) -> Result<Self, StoreError> {
        Ok(Self {
            operation_id: B256::from_slice(&r.operation_id),
            nonce: r.nonce as u32,
            schedule: r.schedule.map(|v| v as u64),
            caller: r.caller.as_deref().map(addr),
            target: r.target.as_deref().map(addr),
            data: r.data.map(Bytes::from),
            state: OpState::parse(&r.state)
                .ok_or_else(|| corrupt(format!("unknown operation state {:?}", r.state)))?,
            scheduled_block: r.scheduled_block.map(|v| v as u64),
            scheduled_tx: r.scheduled_tx.as_deref().map(B256::from_slice),
            updated_block: r.updated_block as u64,
        })
    }
}

struct DbRegistry {
    registry: String,
    paused: bool,
    base_uri: Option<String>,
    updated_block: Option<i64>,
}

impl TryFrom<DbRegistry> for RegistryStateRow {
    type Error = StoreError;
    fn try_from(r: DbRegistry) -> Result<Self, StoreError> {
        Ok(Self {
            registry: Registry::parse(&r.registry)
                .ok_or_else(|| corrupt(format!("unknown registry {:?}", r.registry)))?,
            paused: r.paused,
            base_uri: r.base_uri,
            updated_block: r.updated_block.map(|v| v as u64),
        })
    }
}

// ---------------------------------------------------------------------------------------------------------
// Loading the touched keys
// ---------------------------------------------------------------------------------------------------------

/// Loads (and locks, `FOR UPDATE`) the current rows of the keys `k`, one table after another.
pub(super) async fn load(
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
async fn load_credentials(
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
async fn load_credential_types(
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
async fn load_tiers(
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
async fn load_memberships(
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
async fn load_roles(
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
async fn load_governance_ops(
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
async fn load_registry_state(
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

// ---------------------------------------------------------------------------------------------------------
// Writing changes
// ---------------------------------------------------------------------------------------------------------

async fn write_credentials(
    conn: &mut PgConnection,
    chain: i64,
    c: &Changes<U256, CredentialRow>,
) -> Result<(), StoreError> {
    if !c.upserts.is_empty() {
        let rows = &c.upserts;
        let tokens: Vec<[u8; 32]> = rows.iter().map(|r| word(&r.token_id)).collect();
        let token_ids: Vec<&[u8]> = tokens.iter().map(|t| t.as_slice()).collect();
        let type_ids: Vec<i64> = rows.iter().map(|r| i(r.type_id)).collect();
        let holders: Vec<&[u8]> = rows.iter().map(|r| r.holder.as_slice()).collect();
        let issuers: Vec<&[u8]> = rows.iter().map(|r| r.issuer.as_slice()).collect();
        let issued_at: Vec<i64> = rows.iter().map(|r| i(r.issued_at)).collect();
        let expires_at: Vec<i64> = rows.iter().map(|r| i(r.expires_at)).collect();
        let status: Vec<i16> = rows.iter().map(|r| i16::from(r.status)).collect();
        let reason: Vec<i16> = rows.iter().map(|r| i16::from(r.reason)).collect();
        let evidence: Vec<&[u8]> = rows.iter().map(|r| r.evidence_hash.as_slice()).collect();
        let issued_block: Vec<i64> = rows.iter().map(|r| i(r.issued_block)).collect();
        let issued_tx: Vec<&[u8]> = rows.iter().map(|r| r.issued_tx.as_slice()).collect();
        let updated_block: Vec<i64> = rows.iter().map(|r| i(r.updated_block)).collect();
        // Absent addresses travel as empty byte strings (NULLIF below).
        let from: Vec<&[u8]> = rows
            .iter()
            .map(|r| r.recovered_from.as_ref().map_or(&[][..], |a| a.as_slice()))
            .collect();
        let to: Vec<&[u8]> = rows
            .iter()
            .map(|r| r.recovered_to.as_ref().map_or(&[][..], |a| a.as_slice()))
            .collect();
        sqlx::query!(
            "INSERT INTO credentials (chain_id, token_id, type_id, holder, issuer, issued_at, expires_at, status, reason,
                 evidence_hash, issued_block, issued_tx, updated_block, recovered_from, recovered_to)
             SELECT $1, u.token_id, u.type_id, u.holder, u.issuer, u.issued_at, u.expires_at, u.status, u.reason,
                 u.evidence_hash, u.issued_block, u.issued_tx, u.updated_block,
                 NULLIF(u.recovered_from, ''::bytea), NULLIF(u.recovered_to, ''::bytea)
             FROM UNNEST($2::bytea[], $3::bigint[], $4::bytea[], $5::bytea[], $6::bigint[], $7::bigint[],
                 $8::smallint[], $9::smallint[], $10::bytea[], $11::bigint[], $12::bytea[], $13::bigint[],
                 $14::bytea[], $15::bytea[])
               AS u(token_id, type_id, holder, issuer, issued_at, expires_at, status, reason, evidence_hash,
                 issued_block, issued_tx, updated_block, recovered_from, recovered_to)
             ON CONFLICT (chain_id, token_id) DO UPDATE SET type_id = EXCLUDED.type_id, holder = EXCLUDED.holder,
                 issuer = EXCLUDED.issuer, issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at,
                 status = EXCLUDED.status, reason = EXCLUDED.reason, evidence_hash = EXCLUDED.evidence_hash,
                 issued_block = EXCLUDED.issued_block, issued_tx = EXCLUDED.issued_tx,
                 updated_block = EXCLUDED.updated_block, recovered_from = EXCLUDED.recovered_from,
                 recovered_to = EXCLUDED.recovered_to",
            chain,
            &token_ids as &[&[u8]],
            &type_ids,
            &holders as &[&[u8]],
            &issuers as &[&[u8]],
            &issued_at,
            &expires_at,
            &status,
            &reason,
            &evidence as &[&[u8]],
            &issued_block,
            &issued_tx as &[&[u8]],
            &updated_block,
            &from as &[&[u8]],
            &to as &[&[u8]]
        )
        .execute(&mut *conn)
        .await?;
    }
    if !c.deletes.is_empty() {
        let words: Vec<[u8; 32]> = c.deletes.iter().map(word).collect();
        let ids: Vec<&[u8]> = words.iter().map(|w| w.as_slice()).collect();
        sqlx::query!(
            "DELETE FROM credentials WHERE chain_id = $1 AND token_id = ANY($2)",
            chain,
            &ids as &[&[u8]]
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn write_types(
    conn: &mut PgConnection,
    chain: i64,
    c: &Changes<u64, CredentialTypeRow>,
) -> Result<(), StoreError> {
    if !c.upserts.is_empty() {
        let rows = &c.upserts;
        let ids: Vec<i64> = rows.iter().map(|r| i(r.type_id)).collect();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let uris: Vec<&str> = rows.iter().map(|r| r.uri.as_str()).collect();
        let dv: Vec<i64> = rows.iter().map(|r| i(r.default_validity)).collect();
        let mv: Vec<i64> = rows.iter().map(|r| i(r.max_validity)).collect();
        let rw: Vec<i64> = rows.iter().map(|r| i(r.renewal_window)).collect();
        let ms: Vec<i64> = rows.iter().map(|r| i64::from(r.max_supply)).collect();
        let ql: Vec<i64> = rows.iter().map(|r| i64::from(r.quota_limit)).collect();
        let qp: Vec<i64> = rows.iter().map(|r| i64::from(r.quota_period)).collect();
        let flags: Vec<i32> = rows.iter().map(|r| i32::from(r.flags)).collect();
        let pre: Vec<String> = rows.iter().map(|r| id_array(&r.prerequisites)).collect();
        let paused: Vec<bool> = rows.iter().map(|r| r.paused).collect();
        let supply: Vec<i64> = rows.iter().map(|r| i(r.supply)).collect();
        let defined: Vec<i64> = rows.iter().map(|r| i(r.defined_block)).collect();
        let updated: Vec<i64> = rows.iter().map(|r| i(r.updated_block)).collect();
        sqlx::query!(
            "INSERT INTO credential_types (chain_id, type_id, name, uri, default_validity, max_validity, renewal_window,
                 max_supply, quota_limit, quota_period, flags, prerequisites, paused, supply, defined_block,
                 updated_block)
             SELECT $1, u.type_id, u.name, u.uri, u.dv, u.mv, u.rw, u.ms, u.ql, u.qp, u.flags, u.pre::bigint[],
                 u.paused, u.supply, u.defined, u.updated
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
                 $8::bigint[], $9::bigint[], $10::bigint[], $11::int[], $12::text[], $13::bool[], $14::bigint[],
                 $15::bigint[], $16::bigint[])
               AS u(type_id, name, uri, dv, mv, rw, ms, ql, qp, flags, pre, paused, supply, defined, updated)
             ON CONFLICT (chain_id, type_id) DO UPDATE SET name = EXCLUDED.name, uri = EXCLUDED.uri,
                 default_validity = EXCLUDED.default_validity, max_validity = EXCLUDED.max_validity,
                 renewal_window = EXCLUDED.renewal_window, max_supply = EXCLUDED.max_supply,
                 quota_limit = EXCLUDED.quota_limit, quota_period = EXCLUDED.quota_period, flags = EXCLUDED.flags,
                 prerequisites = EXCLUDED.prerequisites, paused = EXCLUDED.paused, supply = EXCLUDED.supply,
                 defined_block = EXCLUDED.defined_block, updated_block = EXCLUDED.updated_block",
            chain,
            &ids,
            &names as &[&str],
            &uris as &[&str],
            &dv,
            &mv,
            &rw,
            &ms,
            &ql,
            &qp,
            &flags,
            &pre,
            &paused,
            &supply,
            &defined,
            &updated
        )
        .execute(&mut *conn)
        .await?;
    }
    if !c.deletes.is_empty() {
        let ids: Vec<i64> = c.deletes.iter().map(|v| i(*v)).collect();
        sqlx::query!(
            "DELETE FROM credential_types WHERE chain_id = $1 AND type_id = ANY($2)",
            chain,
            &ids
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn write_tiers(
    conn: &mut PgConnection,
    chain: i64,
    c: &Changes<u64, TierRow>,
) -> Result<(), StoreError> {
    if !c.upserts.is_empty() {
        let rows = &c.upserts;
        let ids: Vec<i64> = rows.iter().map(|r| i(r.tier_id)).collect();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let uris: Vec<&str> = rows.iter().map(|r| r.uri.as_str()).collect();
        let duration: Vec<i64> = rows.iter().map(|r| i(r.duration)).collect();
        let renewable: Vec<bool> = rows.iter().map(|r| r.holder_renewable).collect();
        let transferable: Vec<bool> = rows.iter().map(|r| r.transferable).collect();
        let max: Vec<i64> = rows.iter().map(|r| i(r.max_members)).collect();
        let elig: Vec<String> = rows.iter().map(|r| id_array(&r.eligibility)).collect();
        let paused: Vec<bool> = rows.iter().map(|r| r.paused).collect();
        let members: Vec<i64> = rows.iter().map(|r| i(r.members)).collect();
        let defined: Vec<i64> = rows.iter().map(|r| i(r.defined_block)).collect();
        let updated: Vec<i64> = rows.iter().map(|r| i(r.updated_block)).collect();
        sqlx::query!(
            "INSERT INTO tiers (chain_id, tier_id, name, uri, duration, holder_renewable, transferable, max_members,
                 eligibility, paused, members, defined_block, updated_block)
             SELECT $1, u.tier_id, u.name, u.uri, u.duration, u.renewable, u.transferable, u.max, u.elig::bigint[],
                 u.paused, u.members, u.defined, u.updated
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bool[], $7::bool[], $8::bigint[],
                 $9::text[], $10::bool[], $11::bigint[], $12::bigint[], $13::bigint[])
               AS u(tier_id, name, uri, duration, renewable, transferable, max, elig, paused, members, defined,
                 updated)
             ON CONFLICT (chain_id, tier_id) DO UPDATE SET name = EXCLUDED.name, uri = EXCLUDED.uri,
                 duration = EXCLUDED.duration, holder_renewable = EXCLUDED.holder_renewable,
                 transferable = EXCLUDED.transferable, max_members = EXCLUDED.max_members,
                 eligibility = EXCLUDED.eligibility, paused = EXCLUDED.paused, members = EXCLUDED.members,
                 defined_block = EXCLUDED.defined_block, updated_block = EXCLUDED.updated_block",
            chain,
            &ids,
            &names as &[&str],
            &uris as &[&str],
            &duration,
            &renewable,
            &transferable,
            &max,
            &elig,
            &paused,
            &members,
            &defined,
            &updated
        )
        .execute(&mut *conn)
        .await?;
    }
    if !c.deletes.is_empty() {
        let ids: Vec<i64> = c.deletes.iter().map(|v| i(*v)).collect();
        sqlx::query!(
            "DELETE FROM tiers WHERE chain_id = $1 AND tier_id = ANY($2)",
            chain,
            &ids
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn write_memberships(
    conn: &mut PgConnection,
    chain: i64,
    c: &Changes<U256, MembershipRow>,
) -> Result<(), StoreError> {
    if !c.upserts.is_empty() {
        let rows = &c.upserts;
        let tokens: Vec<[u8; 32]> = rows.iter().map(|r| word(&r.token_id)).collect();
        let token_ids: Vec<&[u8]> = tokens.iter().map(|t| t.as_slice()).collect();
        let tier_ids: Vec<i64> = rows.iter().map(|r| i(r.tier_id)).collect();
        let holders: Vec<&[u8]> = rows.iter().map(|r| r.holder.as_slice()).collect();
        let originals: Vec<&[u8]> = rows.iter().map(|r| r.original_holder.as_slice()).collect();
        let expires_at: Vec<i64> = rows.iter().map(|r| i(r.expires_at)).collect();
        let granted_at: Vec<i64> = rows.iter().map(|r| i(r.granted_at)).collect();
        let status: Vec<i16> = rows.iter().map(|r| i16::from(r.status)).collect();
        let reason: Vec<i16> = rows.iter().map(|r| i16::from(r.reason)).collect();
        // Absent values travel as empty byte strings (NULLIF below).
        let granted_by: Vec<&[u8]> = rows
            .iter()
            .map(|r| r.granted_by.as_ref().map_or(&[][..], |a| a.as_slice()))
            .collect();
        let granted_block: Vec<i64> = rows.iter().map(|r| i(r.granted_block)).collect();
        let granted_tx: Vec<&[u8]> = rows.iter().map(|r| r.granted_tx.as_slice()).collect();
        let moved_from_w: Vec<Option<[u8; 32]>> = rows
            .iter()
            .map(|r| r.moved_from.as_ref().map(word))
            .collect();
        let moved_from: Vec<&[u8]> = moved_from_w
            .iter()
            .map(|w| w.as_ref().map_or(&[][..], |w| w.as_slice()))
            .collect();
        let moved_to_w: Vec<Option<[u8; 32]>> =
            rows.iter().map(|r| r.moved_to.as_ref().map(word)).collect();
        let moved_to: Vec<&[u8]> = moved_to_w
            .iter()
            .map(|w| w.as_ref().map_or(&[][..], |w| w.as_slice()))
            .collect();
        let updated: Vec<i64> = rows.iter().map(|r| i(r.updated_block)).collect();
        sqlx::query!(
            "INSERT INTO memberships (chain_id, token_id, tier_id, holder, original_holder, expires_at, granted_at,
                 status, reason, granted_by, granted_block, granted_tx, moved_from, moved_to, updated_block)
             SELECT $1, u.token_id, u.tier_id, u.holder, u.original_holder, u.expires_at, u.granted_at, u.status,
                 u.reason, NULLIF(u.granted_by, ''::bytea), u.granted_block, u.granted_tx,
                 NULLIF(u.moved_from, ''::bytea), NULLIF(u.moved_to, ''::bytea), u.updated_block
             FROM UNNEST($2::bytea[], $3::bigint[], $4::bytea[], $5::bytea[], $6::bigint[], $7::bigint[],
                 $8::smallint[], $9::smallint[], $10::bytea[], $11::bigint[], $12::bytea[], $13::bytea[],
                 $14::bytea[], $15::bigint[])
               AS u(token_id, tier_id, holder, original_holder, expires_at, granted_at, status, reason, granted_by,
                 granted_block, granted_tx, moved_from, moved_to, updated_block)
             ON CONFLICT (chain_id, token_id) DO UPDATE SET tier_id = EXCLUDED.tier_id, holder = EXCLUDED.holder,
                 original_holder = EXCLUDED.original_holder, expires_at = EXCLUDED.expires_at,
                 granted_at = EXCLUDED.granted_at, status = EXCLUDED.status, reason = EXCLUDED.reason,
                 granted_by = EXCLUDED.granted_by, granted_block = EXCLUDED.granted_block,
                 granted_tx = EXCLUDED.granted_tx, moved_from = EXCLUDED.moved_from, moved_to = EXCLUDED.moved_to,
                 updated_block = EXCLUDED.updated_block",
            chain,
            &token_ids as &[&[u8]],
            &tier_ids,
            &holders as &[&[u8]],
            &originals as &[&[u8]],
            &expires_at,
            &granted_at,
            &status,
            &reason,
            &granted_by as &[&[u8]],
            &granted_block,
            &granted_tx as &[&[u8]],
            &moved_from as &[&[u8]],
            &moved_to as &[&[u8]],
            &updated
        )
        .execute(&mut *conn)
        .await?;
    }
    if !c.deletes.is_empty() {
        let words: Vec<[u8; 32]> = c.deletes.iter().map(word).collect();
        let ids: Vec<&[u8]> = words.iter().map(|w| w.as_slice()).collect();
        sqlx::query!(
            "DELETE FROM memberships WHERE chain_id = $1 AND token_id = ANY($2)",
            chain,
            &ids as &[&[u8]]
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn write_roles(
    conn: &mut PgConnection,
    chain: i64,
    c: &Changes<RoleKey, RoleRow>,
) -> Result<(), StoreError> {
    if !c.upserts.is_empty() {
        let rows = &c.upserts;
        let scopes: Vec<&str> = rows.iter().map(|r| r.scope.as_str()).collect();
        let ids: Vec<i64> = rows.iter().map(|r| i(r.scope_id)).collect();
        let accounts: Vec<&[u8]> = rows.iter().map(|r| r.account.as_slice()).collect();
        let bits: Vec<i16> = rows.iter().map(|r| i16::from(r.bits)).collect();
        // Absent numbers travel as -1 (NULLIF below).
        let since: Vec<i64> = rows.iter().map(|r| r.since.map_or(-1, i)).collect();
        let delay: Vec<i64> = rows.iter().map(|r| r.delay.map_or(-1, i)).collect();
        let granted: Vec<i64> = rows.iter().map(|r| i(r.granted_block)).collect();
        let updated: Vec<i64> = rows.iter().map(|r| i(r.updated_block)).collect();
        sqlx::query!(
            "INSERT INTO roles (chain_id, scope, scope_id, account, bits, since, delay, granted_block, updated_block)
             SELECT $1, u.scope, u.scope_id, u.account, u.bits, NULLIF(u.since, -1), NULLIF(u.delay, -1),
                 u.granted, u.updated
             FROM UNNEST($2::text[], $3::bigint[], $4::bytea[], $5::smallint[], $6::bigint[], $7::bigint[],
                 $8::bigint[], $9::bigint[])
               AS u(scope, scope_id, account, bits, since, delay, granted, updated)
             ON CONFLICT (chain_id, scope, scope_id, account) DO UPDATE SET bits = EXCLUDED.bits,
                 since = EXCLUDED.since, delay = EXCLUDED.delay, granted_block = EXCLUDED.granted_block,
                 updated_block = EXCLUDED.updated_block",
            chain,
            &scopes as &[&str],
            &ids,
            &accounts as &[&[u8]],
            &bits,
            &since,
            &delay,
            &granted,
            &updated
        )
        .execute(&mut *conn)
        .await?;
    }
    if !c.deletes.is_empty() {
        let scopes: Vec<&str> = c.deletes.iter().map(|r| r.scope.as_str()).collect();
        let ids: Vec<i64> = c.deletes.iter().map(|r| i(r.scope_id)).collect();
        let accounts: Vec<&[u8]> = c.deletes.iter().map(|r| r.account.as_slice()).collect();
        sqlx::query!(
            "DELETE FROM roles WHERE chain_id = $1
               AND (scope, scope_id, account) IN (SELECT * FROM UNNEST($2::text[], $3::bigint[], $4::bytea[]))",
            chain,
            &scopes as &[&str],
            &ids,
            &accounts as &[&[u8]]
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn write_ops(
    conn: &mut PgConnection,
    chain: i64,
    c: &Changes<OpKey, GovernanceOpRow>,
) -> Result<(), StoreError> {
    if !c.upserts.is_empty() {
        let rows = &c.upserts;
        let ids: Vec<&[u8]> = rows.iter().map(|r| r.operation_id.as_slice()).collect();
        let nonces: Vec<i64> = rows.iter().map(|r| i64::from(r.nonce)).collect();
        // Absent values travel as -1 or empty byte strings (NULLIF below); `has_data` keeps empty calldata.
        let schedule: Vec<i64> = rows.iter().map(|r| r.schedule.map_or(-1, i)).collect();
        let callers: Vec<&[u8]> = rows
            .iter()
            .map(|r| r.caller.as_ref().map_or(&[][..], |a| a.as_slice()))
            .collect();
        let targets: Vec<&[u8]> = rows
            .iter()
            .map(|r| r.target.as_ref().map_or(&[][..], |a| a.as_slice()))
            .collect();
        let data: Vec<&[u8]> = rows
            .iter()
            .map(|r| r.data.as_ref().map_or(&[][..], |d| d.as_ref()))
            .collect();
        let has_data: Vec<bool> = rows.iter().map(|r| r.data.is_some()).collect();
        let states: Vec<&str> = rows.iter().map(|r| r.state.as_str()).collect();
        let sblock: Vec<i64> = rows
            .iter()
            .map(|r| r.scheduled_block.map_or(-1, i))
            .collect();
        let stx: Vec<&[u8]> = rows
            .iter()
            .map(|r| r.scheduled_tx.as_ref().map_or(&[][..], |t| t.as_slice()))
            .collect();
        let updated: Vec<i64> = rows.iter().map(|r| i(r.updated_block)).collect();
        sqlx::query!(
            "INSERT INTO governance_ops (chain_id, operation_id, nonce, schedule, caller, target, data, state,
                 scheduled_block, scheduled_tx, updated_block)
             SELECT $1, u.id, u.nonce, NULLIF(u.schedule, -1), NULLIF(u.caller, ''::bytea),
                 NULLIF(u.target, ''::bytea), CASE WHEN u.has_data THEN u.data END, u.state,
                 NULLIF(u.sblock, -1), NULLIF(u.stx, ''::bytea), u.updated
             FROM UNNEST($2::bytea[], $3::bigint[], $4::bigint[], $5::bytea[], $6::bytea[], $7::bytea[],
                 $8::bool[], $9::text[], $10::bigint[], $11::bytea[], $12::bigint[])
               AS u(id, nonce, schedule, caller, target, data, has_data, state, sblock, stx, updated)
             ON CONFLICT (chain_id, operation_id, nonce) DO UPDATE SET schedule = EXCLUDED.schedule,
                 caller = EXCLUDED.caller, target = EXCLUDED.target, data = EXCLUDED.data, state = EXCLUDED.state,
                 scheduled_block = EXCLUDED.scheduled_block, scheduled_tx = EXCLUDED.scheduled_tx,
                 updated_block = EXCLUDED.updated_block",
            chain,
            &ids as &[&[u8]],
            &nonces,
            &schedule,
            &callers as &[&[u8]],
            &targets as &[&[u8]],
            &data as &[&[u8]],
            &has_data,
            &states as &[&str],
            &sblock,
            &stx as &[&[u8]],
            &updated
        )
        .execute(&mut *conn)
        .await?;
    }
    if !c.deletes.is_empty() {
        let ids: Vec<&[u8]> = c
            .deletes
            .iter()
            .map(|o| o.operation_id.as_slice())
            .collect();
        let nonces: Vec<i64> = c.deletes.iter().map(|o| i64::from(o.nonce)).collect();
        sqlx::query!(
            "DELETE FROM governance_ops WHERE chain_id = $1
               AND (operation_id, nonce) IN (SELECT * FROM UNNEST($2::bytea[], $3::bigint[]))",
            chain,
            &ids as &[&[u8]],
            &nonces
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn write_registries(
    conn: &mut PgConnection,
    chain: i64,
    c: &Changes<Registry, RegistryStateRow>,
) -> Result<(), StoreError> {
    if !c.upserts.is_empty() {
        let rows = &c.upserts;
        let names: Vec<&str> = rows.iter().map(|r| r.registry.as_str()).collect();
        let paused: Vec<bool> = rows.iter().map(|r| r.paused).collect();
        let uris: Vec<&str> = rows
            .iter()
            .map(|r| r.base_uri.as_deref().unwrap_or(""))
            .collect();
        let has_uri: Vec<bool> = rows.iter().map(|r| r.base_uri.is_some()).collect();
        let updated: Vec<i64> = rows.iter().map(|r| r.updated_block.map_or(-1, i)).collect();
        sqlx::query!(
            "INSERT INTO registry_state (chain_id, registry, paused, base_uri, updated_block)
             SELECT $1, u.registry, u.paused, CASE WHEN u.has_uri THEN u.uri END, NULLIF(u.updated, -1)
             FROM UNNEST($2::text[], $3::bool[], $4::text[], $5::bool[], $6::bigint[])
               AS u(registry, paused, uri, has_uri, updated)
             ON CONFLICT (chain_id, registry) DO UPDATE SET paused = EXCLUDED.paused, base_uri = EXCLUDED.base_uri,
                 updated_block = EXCLUDED.updated_block",
            chain,
            &names as &[&str],
            &paused,
            &uris as &[&str],
            &has_uri,
            &updated
        )
        .execute(&mut *conn)
        .await?;
    }
    if !c.deletes.is_empty() {
        let names: Vec<&str> = c.deletes.iter().map(|r| r.as_str()).collect();
        sqlx::query!(
            "DELETE FROM registry_state WHERE chain_id = $1 AND registry = ANY($2)",
            chain,
            &names as &[&str]
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn write(
    conn: &mut PgConnection,
    chain_id: u64,
    f: &Folded,
) -> Result<(), StoreError> {
    let chain = i(chain_id);
    write_credentials(conn, chain, &f.credentials).await?;
    write_types(conn, chain, &f.credential_types).await?;
    write_tiers(conn, chain, &f.tiers).await?;
    write_memberships(conn, chain, &f.memberships).await?;
    write_roles(conn, chain, &f.roles).await?;
    write_ops(conn, chain, &f.governance_ops).await?;
    write_registries(conn, chain, &f.registry_state).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// The undo log
// ---------------------------------------------------------------------------------------------------------

/// The undo entries of all tables, as the columns of `projection_undo`.
#[derive(Default)]
struct UndoColumns {
    blocks: Vec<i64>,
    tables: Vec<&'static str>,
    keys: Vec<Value>,
    befores: Vec<Value>,
}

impl UndoColumns {
    fn add<K: Serialize, V: Serialize>(
        &mut self,
        table: &'static str,
        undo: &[Undo<K, V>],
    ) -> Result<(), StoreError> {
        for u in undo {
            self.blocks.push(i(u.block));
            self.tables.push(table);
            self.keys
                .push(serde_json::to_value(&u.key).map_err(corrupt)?);
            // No row travels as JSON null (stored as SQL NULL).
            self.befores
                .push(serde_json::to_value(&u.before).map_err(corrupt)?);
        }
        Ok(())
    }
}

pub(super) async fn write_undo(
    conn: &mut PgConnection,
    chain_id: u64,
    f: &Folded,
) -> Result<(), StoreError> {
    let mut u = UndoColumns::default();
    u.add(tbl::CREDENTIALS, &f.credentials.undo)?;
    u.add(tbl::CREDENTIAL_TYPES, &f.credential_types.undo)?;
    u.add(tbl::TIERS, &f.tiers.undo)?;
    u.add(tbl::MEMBERSHIPS, &f.memberships.undo)?;
    u.add(tbl::ROLES, &f.roles.undo)?;
    u.add(tbl::GOVERNANCE_OPS, &f.governance_ops.undo)?;
    u.add(tbl::REGISTRY_STATE, &f.registry_state.undo)?;
    if u.blocks.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO projection_undo (chain_id, block_number, tbl, key, before)
         SELECT $1, u.block_number, u.tbl, u.key, NULLIF(u.before, 'null'::jsonb)
         FROM UNNEST($2::bigint[], $3::text[], $4::jsonb[], $5::jsonb[]) AS u(block_number, tbl, key, before)
         ON CONFLICT (chain_id, block_number, tbl, key) DO NOTHING",
        i(chain_id),
        &u.blocks,
        &u.tables as &[&str],
        &u.keys,
        &u.befores
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Drops undo entries of blocks at or below `block` (no fork point can be below them any more).
pub(super) async fn prune_undo(
    conn: &mut PgConnection,
    chain_id: u64,
    block: u64,
) -> Result<(), StoreError> {
    sqlx::query!(
        "DELETE FROM projection_undo WHERE chain_id = $1 AND block_number <= $2",
        i(chain_id),
        i(block)
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn restore_into<K: DeserializeOwned, V: DeserializeOwned>(
    c: &mut Changes<K, V>,
    key: Value,
    before: Option<Value>,
) -> Result<(), StoreError> {
    match before {
        Some(v) => c
            .upserts
            .push(serde_json::from_value(v).map_err(|e| corrupt(format!("undo image: {e}")))?),
        None => c
            .deletes
            .push(serde_json::from_value(key).map_err(|e| corrupt(format!("undo key: {e}")))?),
    }
    Ok(())
}

/// Restores the projections to their state at the end of block `fork` inside the caller's transaction, and
/// drops the undo entries above it. Returns the number of rows restored or deleted.
pub(super) async fn unwind(
    conn: &mut PgConnection,
    chain_id: u64,
    fork: u64,
) -> Result<u64, StoreError> {
    let images = sqlx::query!(
        "SELECT DISTINCT ON (tbl, key) tbl, key, before FROM projection_undo
         WHERE chain_id = $1 AND block_number > $2 ORDER BY tbl, key, block_number",
        i(chain_id),
        i(fork)
    )
    .fetch_all(&mut *conn)
    .await?;
    let restored = images.len() as u64;
    let mut f = Folded::default();
    for r in images {
        match r.tbl.as_str() {
            tbl::CREDENTIALS => restore_into(&mut f.credentials, r.key, r.before)?,
            tbl::CREDENTIAL_TYPES => restore_into(&mut f.credential_types, r.key, r.before)?,
            tbl::TIERS => restore_into(&mut f.tiers, r.key, r.before)?,
            tbl::MEMBERSHIPS => restore_into(&mut f.memberships, r.key, r.before)?,
            tbl::ROLES => restore_into(&mut f.roles, r.key, r.before)?,
            tbl::GOVERNANCE_OPS => restore_into(&mut f.governance_ops, r.key, r.before)?,
            tbl::REGISTRY_STATE => restore_into(&mut f.registry_state, r.key, r.before)?,
            other => return Err(corrupt(format!("undo entry for unknown table {other:?}"))),
        }
    }
    write(conn, chain_id, &f).await?;
    sqlx::query!(
        "DELETE FROM projection_undo WHERE chain_id = $1 AND block_number > $2",
        i(chain_id),
        i(fork)
    )
    .execute(&mut *conn)
    .await?;
    Ok(restored)
}

/// Seeds the registry rows of a newly registered deployment (pause off, base URIs from its record).
pub(super) async fn seed_registries(
    conn: &mut PgConnection,
    chain_id: u64,
    credentials_base_uri: &str,
    memberships_base_uri: &str,
) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO registry_state (chain_id, registry, paused, base_uri)
         VALUES ($1, 'credentials', false, $2), ($1, 'memberships', false, $3)
         ON CONFLICT (chain_id, registry) DO NOTHING",
        i(chain_id),
        credentials_base_uri,
        memberships_base_uri
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------------------

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
pub(super) async fn credentials_of_holders<'c>(
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
pub(super) async fn credential_types<'c>(
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
pub(super) async fn roles<'c>(
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
pub(super) async fn registry_state<'c>(
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
