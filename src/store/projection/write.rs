//! Writing a folded range: upserts and deletes, one UNNEST statement per table.

use alloy::primitives::U256;
use sqlx::PgConnection;

use super::{id_array, word};
use crate::domain::{
    CredentialRow, CredentialTypeRow, GovernanceOpRow, MembershipRow, OpKey, Registry,
    RegistryStateRow, RoleKey, RoleRow, TierRow,
};
use crate::store::changes::{Changes, Folded};
use crate::store::{i, StoreError};

pub(in crate::store) async fn write_credentials(
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

pub(in crate::store) async fn write_types(
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

pub(in crate::store) async fn write_tiers(
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

pub(in crate::store) async fn write_memberships(
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

pub(in crate::store) async fn write_roles(
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

pub(in crate::store) async fn write_ops(
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

pub(in crate::store) async fn write_registries(
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

pub(in crate::store) async fn write(
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
