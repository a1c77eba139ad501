//! Writing a folded range: upserts and deletes, one UNNEST statement per table.

use sqlx::{AssertSqlSafe, PgConnection};

use super::rows::{Key, Projection};
use crate::store::changes::{Changes, Folded};
use crate::store::{i, StoreError};

/// Upserts the rows and deletes the keys of one table's changes, one statement each.
pub(in crate::store) async fn write_rows<T: Projection>(
    conn: &mut PgConnection,
    chain: i64,
    c: &Changes<T::Key, T>,
) -> Result<(), StoreError> {
    // The statements are built from the table's description only: no input reaches their text.
    if !c.upserts.is_empty() {
        let q = sqlx::query(AssertSqlSafe(T::upsert_sql())).bind(chain);
        T::bind_rows(q, &c.upserts).execute(&mut *conn).await?;
    }
    if !c.deletes.is_empty() {
        let sql = format!("DELETE FROM {} WHERE {}", T::TABLE, T::key_filter());
        let q = sqlx::query(AssertSqlSafe(sql)).bind(chain);
        <T::Key as Key>::bind(q, &c.deletes)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Writes every table's changes, one table after another.
pub(in crate::store) async fn write(
    conn: &mut PgConnection,
    chain_id: u64,
    f: &Folded,
) -> Result<(), StoreError> {
    let chain = i(chain_id);
    write_rows(conn, chain, &f.credentials).await?;
    write_rows(conn, chain, &f.credential_types).await?;
    write_rows(conn, chain, &f.tiers).await?;
    write_rows(conn, chain, &f.memberships).await?;
    write_rows(conn, chain, &f.roles).await?;
    write_rows(conn, chain, &f.governance_ops).await?;
    write_rows(conn, chain, &f.registry_state).await?;
    Ok(())
}
