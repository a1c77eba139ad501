//! The queue of requests: reads by id and holder, the worker's claim (`FOR UPDATE SKIP LOCKED`), waiting notes.

use alloy::primitives::{Address, B256};
use sqlx::{Postgres, Transaction};

use super::batches::SignedTx;
use super::{Request, RequestState};
use crate::store::{b256, i, Store, StoreError};

/// A claimed set of queued requests and the open transaction that holds their row locks. Dropping it
/// without [`Claim::commit`] releases them untouched.
pub struct Claim {
    tx: Transaction<'static, Postgres>,
    chain_id: u64,
    /// The credential type all claimed requests share.
    pub type_id: u64,
    /// Claimed requests, oldest first.
    pub requests: Vec<Request>,
}

/// The one nonce allocator of every transaction the service sends (issuance batches, admin operations),
/// across processes: the next nonce of `signer` on `chain_id` is the larger of the stored next nonce and
/// `chain_next` (the node's pending count), and the stored one moves past it in the same statement.
async fn allocate_nonce<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: u64,
    signer: Address,
    chain_next: u64,
) -> Result<u64, StoreError> {
    let n = sqlx::query_scalar!(
        "INSERT INTO signer_nonces (chain_id, signer, next_nonce) VALUES ($1, $2, $3::bigint + 1)
         ON CONFLICT (chain_id, signer) DO UPDATE
             SET next_nonce = GREATEST(signer_nonces.next_nonce, $3::bigint) + 1
         RETURNING next_nonce - 1 AS \"n!\"",
        i(chain_id),
        signer.as_slice(),
        i(chain_next)
    )
    .fetch_one(ex)
    .await?;
    Ok(n as u64)
}

impl Store {
    /// Allocates the next nonce of `signer` for a transaction sent on its own (an admin operation).
    pub async fn allocate_nonce(
        &self,
        chain_id: u64,
        signer: Address,
        chain_next: u64,
    ) -> Result<u64, StoreError> {
        allocate_nonce(self.pool(), chain_id, signer, chain_next).await
    }

    /// Gives back `nonce` of `signer` when the node did not take its transaction and nothing was
    /// allocated after it (else the next send's node check closes the gap: see the worker); true when
    /// given back.
    pub async fn release_nonce(
        &self,
        chain_id: u64,
        signer: Address,
        nonce: u64,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query!(
            "UPDATE signer_nonces SET next_nonce = $3::bigint WHERE chain_id = $1 AND signer = $2 AND next_nonce = $3::bigint + 1",
            i(chain_id),
            signer.as_slice(),
            i(nonce)
        )
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1)
    }
}

impl Claim {
    /// Marks claimed requests failed for good with `error` (a revert no retry can fix) and drops them
    /// from this claim.
    pub async fn fail(&mut self, ids: &[i64], error: &str) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE issuance_requests SET state = 'failed', error = $2, updated_at = now() WHERE id = ANY($1)",
            ids,
            error
        )
        .execute(&mut *self.tx)
        .await?;
        self.requests.retain(|r| !ids.contains(&r.id));
        Ok(())
    }

    /// Allocates the next nonce of `signer` (see [`allocate_nonce`]), locking the signer's row until commit.
    pub async fn allocate_nonce(
        &mut self,
        signer: Address,
        chain_next: u64,
    ) -> Result<u64, StoreError> {
        allocate_nonce(&mut *self.tx, self.chain_id, signer, chain_next).await
    }

    /// Records the batch of the remaining requests and its first signed transaction, marks the requests
    /// submitted, and commits. The transaction must be broadcast only after this returns.
    pub async fn commit_batch(
        mut self,
        signer: Address,
        nonce: u64,
        gas_limit: u64,
        signed: &SignedTx,
    ) -> Result<i64, StoreError> {
        let ids: Vec<i64> = self.requests.iter().map(|r| r.id).collect();
        let batch = super::batches::NewBatch {
            chain_id: self.chain_id,
            type_id: self.type_id,
            signer,
            nonce,
            gas_limit,
        };
        let batch_id = super::batches::record_batch(&mut self.tx, &batch, signed, &ids).await?;
        self.tx.commit().await?;
        Ok(batch_id)
    }

    /// Commits what was decided so far (failed requests) without recording a batch.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// The requests with these ids (missing ids are skipped), in id order.
    pub async fn requests(&self, ids: &[i64]) -> Result<Vec<Request>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, idempotency_key, type_id, holder, expires_at, evidence_hash, state, batch_id, error,
                    confirmed_tx, confirmed_block, attempts
             FROM issuance_requests WHERE id = ANY($1) ORDER BY id",
            ids
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| request_from_row!(r)).collect())
    }

    /// The live (queued or submitted) requests of `chain_id` for `holder`.
    pub async fn open_requests_of(
        &self,
        chain_id: u64,
        holder: Address,
    ) -> Result<Vec<Request>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, idempotency_key, type_id, holder, expires_at, evidence_hash, state, batch_id, error,
                    confirmed_tx, confirmed_block, attempts
             FROM issuance_requests WHERE chain_id = $1 AND holder = $2 AND state IN ('queued', 'submitted')
             ORDER BY id",
            i(chain_id),
            holder.as_slice()
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| request_from_row!(r)).collect())
    }

    /// Claims up to `max` queued requests of one credential type (the type of the oldest claimable request),
    /// skipping rows other workers hold. None when nothing is claimable.
    pub async fn claim(&self, chain_id: u64, max: u64) -> Result<Option<Claim>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let first = sqlx::query_scalar!(
            "SELECT type_id FROM issuance_requests WHERE chain_id = $1 AND state = 'queued'
               AND source NOT LIKE 'relay:%'
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
            i(chain_id)
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(type_id) = first else {
            return Ok(None);
        };
        let rows = sqlx::query!(
            "SELECT id, idempotency_key, type_id, holder, expires_at, evidence_hash, state, batch_id, error,
                    confirmed_tx, confirmed_block, attempts
             FROM issuance_requests WHERE chain_id = $1 AND state = 'queued' AND type_id = $2
               AND source NOT LIKE 'relay:%'
             ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED",
            i(chain_id),
            type_id,
            i(max)
        )
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(Claim {
            tx,
            chain_id,
            type_id: type_id as u64,
            requests: rows.into_iter().map(|r| request_from_row!(r)).collect(),
        }))
    }

    /// Notes why queued requests of a type are waiting (e.g. the type is paused), without changing state.
    pub async fn note_waiting(
        &self,
        chain_id: u64,
        type_id: u64,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE issuance_requests SET error = $3, updated_at = now()
             WHERE chain_id = $1 AND type_id = $2 AND state = 'queued' AND error IS DISTINCT FROM $3",
            i(chain_id),
            i(type_id),
            reason
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// (holder, state) of every request of `chain_id`, in id order.
    pub async fn request_states(
        &self,
        chain_id: u64,
    ) -> Result<Vec<(Address, String)>, StoreError> {
        let rows = sqlx::query!(
            "SELECT holder, state FROM issuance_requests WHERE chain_id = $1 ORDER BY id",
            i(chain_id)
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (Address::from_slice(&r.holder), r.state))
            .collect())
    }

    /// The transaction carrying request `id`'s batch: the mined one, else the newest signed one.
    pub async fn request_tx(&self, id: i64) -> Result<Option<B256>, StoreError> {
        let hash = sqlx::query_scalar!(
            r#"SELECT coalesce(b.tx_hash, (SELECT t.tx_hash FROM batch_transactions t WHERE t.batch_id = b.id
                                           ORDER BY t.created_at DESC, t.tx_hash LIMIT 1)) AS "hash"
               FROM issuance_requests r JOIN issuance_batches b ON b.id = r.batch_id WHERE r.id = $1"#,
            id
        )
        .fetch_optional(self.pool())
        .await?
        .flatten();
        Ok(hash.as_deref().map(b256))
    }
}
