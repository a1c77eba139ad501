//! The undo log: the before-images of the window's blocks, and the unwind that restores them.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::write::write;
use super::{corrupt, tbl};
use crate::store::changes::{Changes, Folded, Undo};
use crate::store::{i, StoreError};

/// The undo entries of all tables, as the columns of `projection_undo`.
#[derive(Default)]
pub(in crate::store) struct UndoColumns {
    pub(in crate::store) blocks: Vec<i64>,
    pub(in crate::store) tables: Vec<&'static str>,
    pub(in crate::store) keys: Vec<Value>,
    pub(in crate::store) befores: Vec<Value>,
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

pub(in crate::store) async fn write_undo(
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
pub(in crate::store) async fn prune_undo(
    conn: &mut PgConnection,
    chain_id: u64,
    block: u64,
) -> Result<(), StoreError> {
    drop_undo(conn, chain_id, Entries::AtOrBelow(block)).await
}

/// Undo entries by their block.
enum Entries {
    /// Of the blocks at or below this one.
    AtOrBelow(u64),
    /// Of the blocks above this one.
    Above(u64),
}

/// Drops the undo entries of chain `chain_id` that `which` names.
async fn drop_undo(
    conn: &mut PgConnection,
    chain_id: u64,
    which: Entries,
) -> Result<(), StoreError> {
    let q = match which {
        Entries::AtOrBelow(b) => sqlx::query!(
            "DELETE FROM projection_undo WHERE chain_id = $1 AND block_number <= $2",
            i(chain_id),
            i(b)
        ),
        Entries::Above(b) => sqlx::query!(
            "DELETE FROM projection_undo WHERE chain_id = $1 AND block_number > $2",
            i(chain_id),
            i(b)
        ),
    };
    q.execute(&mut *conn).await?;
    Ok(())
}

pub(in crate::store) fn restore_into<K: DeserializeOwned, V: DeserializeOwned>(
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
pub(in crate::store) async fn unwind(
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
    drop_undo(conn, chain_id, Entries::Above(fork)).await?;
    Ok(restored)
}

/// Deletes every projection row of `chain_id` and its whole undo log (a rebuild from the deploy block
/// follows), inside the caller's transaction.
pub(in crate::store) async fn clear(
    conn: &mut PgConnection,
    chain_id: u64,
) -> Result<(), StoreError> {
    let c = i(chain_id);
    sqlx::query!("DELETE FROM credentials WHERE chain_id = $1", c)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM credential_types WHERE chain_id = $1", c)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM memberships WHERE chain_id = $1", c)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM tiers WHERE chain_id = $1", c)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM roles WHERE chain_id = $1", c)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM governance_ops WHERE chain_id = $1", c)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM registry_state WHERE chain_id = $1", c)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM projection_undo WHERE chain_id = $1", c)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Seeds the registry rows of a newly registered deployment (pause off, base URIs from its record).
pub(in crate::store) async fn seed_registries(
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
