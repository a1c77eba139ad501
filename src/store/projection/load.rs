//! Loading (and locking, `FOR UPDATE`) the current rows of the keys a range touches.

use sqlx::{AssertSqlSafe, PgConnection};

use super::rows::{Key, Projection};
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
        credentials: load_rows(conn, chain, &k.credentials).await?,
        credential_types: load_rows(conn, chain, &k.credential_types).await?,
        tiers: load_rows(conn, chain, &k.tiers).await?,
        memberships: load_rows(conn, chain, &k.memberships).await?,
        roles: load_rows(conn, chain, &k.roles).await?,
        governance_ops: load_rows(conn, chain, &k.governance_ops).await?,
        registry_state: load_rows(conn, chain, &k.registry_state).await?,
    })
}

/// Loads (and locks) the rows of table `T` with the keys `keys`, in one statement.
pub(in crate::store) async fn load_rows<T: Projection>(
    conn: &mut PgConnection,
    chain: i64,
    keys: &[T::Key],
) -> Result<Vec<T>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // Built from the table's description only: no input reaches the text.
    let sql = T::select(&format!("{} FOR UPDATE", T::key_filter()));
    let q = sqlx::query(AssertSqlSafe(sql)).bind(chain);
    <T::Key as Key>::bind(q, keys)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(T::from_row)
        .collect()
}
