//! Bitstring Status List positions: the stable place of each credential in its status lists, and the
//! positions of a range that are withdrawn for a purpose.

use alloy::primitives::{B256, U256};

use super::{i, Store, StoreError};

/// A credential as its status position names it: the token and the transaction that issued it.
#[derive(Debug, Clone, Copy)]
pub struct StatusKey {
    /// Chain of the token.
    pub chain_id: u64,
    /// The token.
    pub token_id: U256,
    /// The transaction that issued this credential of the token.
    pub issued_tx: B256,
}

/// Which withdrawn credentials a list publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawn {
    /// Revoked, renounced or recovered — or superseded by a later issuance of the token, or gone from the
    /// chain.
    ForGood,
    /// Suspended now.
    ForNow,
}

impl Store {
    /// The status position of credential `k`, allocated on first use and the same ever after.
    pub async fn status_position(&self, k: &StatusKey) -> Result<u64, StoreError> {
        let token = k.token_id.to_be_bytes::<32>();
        let known = sqlx::query_scalar!(
            "SELECT position FROM status_positions WHERE chain_id = $1 AND token_id = $2 AND issued_tx = $3",
            i(k.chain_id),
            &token[..],
            k.issued_tx.as_slice()
        )
        .fetch_optional(self.pool())
        .await?;
        if let Some(p) = known {
            return Ok(p as u64);
        }
        // Two first readers at once: one insert wins, the other's sequence value is left unused.
        sqlx::query!(
            "INSERT INTO status_positions (chain_id, token_id, issued_tx, position)
             VALUES ($1, $2, $3, nextval('status_position_seq'))
             ON CONFLICT (chain_id, token_id, issued_tx) DO NOTHING",
            i(k.chain_id),
            &token[..],
            k.issued_tx.as_slice()
        )
        .execute(self.pool())
        .await?;
        let p = sqlx::query_scalar!(
            "SELECT position FROM status_positions WHERE chain_id = $1 AND token_id = $2 AND issued_tx = $3",
            i(k.chain_id),
            &token[..],
            k.issued_tx.as_slice()
        )
        .fetch_one(self.pool())
        .await?;
        Ok(p as u64)
    }

    /// The positions in `[from, to)` on `chain_id` whose credential the mirror shows withdrawn as `which`.
    /// A credential the mirror no longer holds (reorged away and not re-included) is withdrawn for good:
    /// the chain does not have it. Callers must not ask while the mirror is being rebuilt.
    pub async fn withdrawn_positions(
        &self,
        chain_id: u64,
        from: u64,
        to: u64,
        which: Withdrawn,
    ) -> Result<Vec<u64>, StoreError> {
        use crate::domain::credential_status as s;
        let rows = sqlx::query!(
            "SELECT p.position, c.status AS \"status?\", (c.issued_tx = p.issued_tx) AS \"same?\"
             FROM status_positions p
             LEFT JOIN credentials c ON c.chain_id = p.chain_id AND c.token_id = p.token_id
             WHERE p.chain_id = $1 AND p.position >= $2 AND p.position < $3
               AND (c.status IS NULL OR c.status <> $4 OR c.issued_tx <> p.issued_tx)",
            i(chain_id),
            i(from),
            i(to),
            i16::from(s::ACTIVE)
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter(|r| {
                let current = r.same == Some(true);
                let suspended = r.status.is_some_and(|st| st as u8 == s::SUSPENDED);
                match which {
                    Withdrawn::ForGood => !current || !suspended,
                    Withdrawn::ForNow => current && suspended,
                }
            })
            .map(|r| r.position as u64)
            .collect())
    }
}

impl Store {
    /// The highest status position allocated on `chain_id` (None: none yet).
    pub async fn last_status_position(&self, chain_id: u64) -> Result<Option<u64>, StoreError> {
        let p = sqlx::query_scalar!(
            "SELECT max(position) FROM status_positions WHERE chain_id = $1",
            i(chain_id)
        )
        .fetch_one(self.pool())
        .await?;
        Ok(p.map(|p| p as u64))
    }
}
