//! Batches and their signed transactions: recorded before broadcast, replaced, mined, abandoned, confirmed.

use alloy::primitives::{Address, B256};
use sqlx::{Postgres, Transaction};

use crate::store::{b256, i, Store, StoreError};

/// A signed transaction of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedTx {
    /// Hash of the signed transaction (known before it is broadcast).
    pub hash: B256,
    /// EIP-2718 encoded signed transaction.
    pub raw: Vec<u8>,
    /// Max fee per gas (wei).
    pub max_fee_per_gas: u128,
    /// Max priority fee per gas (wei).
    pub max_priority_fee_per_gas: u128,
    /// Seconds since it was last broadcast; None if never.
    pub sent_secs_ago: Option<f64>,
    /// Seconds since it was signed.
    pub age_secs: f64,
}

/// A batch whose outcome the worker still watches.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenBatch {
    /// Row id in `issuance_batches`.
    pub id: i64,
    /// Credential type id.
    pub type_id: u64,
    /// Nonce its transactions use.
    pub nonce: u64,
    /// Gas limit of its transactions.
    pub gas_limit: u64,
    /// True once a receipt showed it mined (the indexer has yet to confirm its requests).
    pub mined: bool,
    /// Its signed transactions, oldest first.
    pub txs: Vec<SignedTx>,
}

/// A batch's receipt, as recorded for cost reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mined {
    /// The transaction that was mined.
    pub tx_hash: B256,
    /// Number of the block it was mined in.
    pub block_number: u64,
    /// L2 gas used.
    pub gas_used: u64,
    /// Effective gas price (wei).
    pub effective_gas_price: u128,
    /// OP-stack L1 data fee (wei), when the chain charges one.
    pub l1_fee: Option<u128>,
}

/// Inside the indexer's range transaction: requests whose batch transaction emitted one of `tx_hashes`
/// (credential issuance events stored in this range, with their blocks) become confirmed. A batch
/// transaction that emitted an issuance event succeeded, and it issues all of its requests or none.
pub async fn confirm_in_range(
    tx: &mut Transaction<'static, Postgres>,
    chain_id: u64,
    tx_hashes: &[B256],
    blocks: &[u64],
) -> Result<u64, StoreError> {
    if tx_hashes.is_empty() {
        return Ok(0);
    }
    let hashes: Vec<&[u8]> = tx_hashes.iter().map(|h| h.as_slice()).collect();
    let blocks: Vec<i64> = blocks.iter().map(|b| i(*b)).collect();
    let n = sqlx::query!(
        "UPDATE issuance_requests r SET state = 'confirmed', confirmed_tx = e.tx_hash, confirmed_block = e.block,
             error = NULL, updated_at = now()
         FROM batch_transactions t, UNNEST($2::bytea[], $3::bigint[]) AS e(tx_hash, block)
         WHERE t.tx_hash = e.tx_hash AND r.batch_id = t.batch_id AND r.chain_id = $1 AND r.state = 'submitted'",
        i(chain_id),
        &hashes as &[&[u8]],
        &blocks
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n)
}

/// Inside the indexer's unwind transaction: requests confirmed by events above `fork` go back to
/// submitted (their batch is watched again and re-sent if the transaction left the chain).
pub async fn unconfirm_above(
    tx: &mut Transaction<'static, Postgres>,
    chain_id: u64,
    fork: u64,
) -> Result<u64, StoreError> {
    let n = sqlx::query!(
        "UPDATE issuance_requests SET state = 'submitted', confirmed_tx = NULL, confirmed_block = NULL,
             updated_at = now()
         WHERE chain_id = $1 AND state = 'confirmed' AND confirmed_block > $2",
        i(chain_id),
        i(fork)
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n)
}

/// A batch about to be recorded: who sends it, under which nonce and gas limit.
pub(super) struct NewBatch {
    pub(super) chain_id: u64,
    pub(super) type_id: u64,
    pub(super) signer: Address,
    pub(super) nonce: u64,
    pub(super) gas_limit: u64,
}

/// Inside the caller's transaction: records batch `b` of requests `ids` with its first transaction
/// `signed`, and marks the requests submitted in it. Returns the batch id. The one place a batch is
/// written, for the worker's batches and for relays alike.
pub(super) async fn record_batch(
    conn: &mut sqlx::PgConnection,
    b: &NewBatch,
    signed: &SignedTx,
    ids: &[i64],
) -> Result<i64, StoreError> {
    let batch_id = sqlx::query_scalar!(
        "INSERT INTO issuance_batches (chain_id, type_id, signer, nonce, size, gas_limit)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        i(b.chain_id),
        i(b.type_id),
        b.signer.as_slice(),
        i(b.nonce),
        ids.len() as i32,
        i(b.gas_limit)
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO batch_transactions (tx_hash, batch_id, max_fee_per_gas, max_priority_fee_per_gas, raw)
         VALUES ($1, $2, $3, $4, $5)",
        signed.hash.as_slice(),
        batch_id,
        signed.max_fee_per_gas as i64,
        signed.max_priority_fee_per_gas as i64,
        &signed.raw
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE issuance_requests SET state = 'submitted', batch_id = $2, error = NULL, updated_at = now()
         WHERE id = ANY($1)",
        ids,
        batch_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(batch_id)
}

impl Store {
    /// Batches of `signer` that are pending, or mined with requests the indexer has not confirmed yet.
    pub async fn open_batches(
        &self,
        chain_id: u64,
        signer: Address,
    ) -> Result<Vec<OpenBatch>, StoreError> {
        let batches = sqlx::query!(
            "SELECT b.id, b.type_id, b.nonce, b.gas_limit, b.state FROM issuance_batches b
             WHERE b.chain_id = $1 AND b.signer = $2 AND (b.state = 'pending' OR (b.state = 'mined' AND EXISTS (
                 SELECT 1 FROM issuance_requests r WHERE r.batch_id = b.id AND r.state = 'submitted')))
             ORDER BY b.nonce",
            i(chain_id),
            signer.as_slice()
        )
        .fetch_all(self.pool())
        .await?;
        let ids: Vec<i64> = batches.iter().map(|b| b.id).collect();
        let txs = sqlx::query!(
            r#"SELECT batch_id, tx_hash, raw, max_fee_per_gas, max_priority_fee_per_gas,
                    EXTRACT(EPOCH FROM now() - sent_at)::float8 AS "sent_ago?",
                    EXTRACT(EPOCH FROM now() - created_at)::float8 AS "age!"
             FROM batch_transactions WHERE batch_id = ANY($1) ORDER BY created_at, tx_hash"#,
            &ids
        )
        .fetch_all(self.pool())
        .await?;
        Ok(batches
            .into_iter()
            .map(|b| OpenBatch {
                id: b.id,
                type_id: b.type_id as u64,
                nonce: b.nonce as u64,
                gas_limit: b.gas_limit as u64,
                mined: b.state == "mined",
                txs: txs
                    .iter()
                    .filter(|t| t.batch_id == b.id)
                    .map(|t| SignedTx {
                        hash: b256(&t.tx_hash),
                        raw: t.raw.clone(),
                        max_fee_per_gas: t.max_fee_per_gas as u128,
                        max_priority_fee_per_gas: t.max_priority_fee_per_gas as u128,
                        sent_secs_ago: t.sent_ago,
                        age_secs: t.age,
                    })
                    .collect(),
            })
            .collect())
    }

    /// Records that the node accepted transaction `hash`.
    pub async fn mark_sent(&self, hash: B256) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE batch_transactions SET sent_at = now() WHERE tx_hash = $1",
            hash.as_slice()
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Stores a fee-bumped replacement of a batch's transaction (same nonce), before it is broadcast.
    pub async fn add_replacement(&self, batch_id: i64, tx: &SignedTx) -> Result<(), StoreError> {
        sqlx::query!(
            "INSERT INTO batch_transactions (tx_hash, batch_id, max_fee_per_gas, max_priority_fee_per_gas, raw)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tx_hash) DO NOTHING",
            tx.hash.as_slice(),
            batch_id,
            tx.max_fee_per_gas as i64,
            tx.max_priority_fee_per_gas as i64,
            &tx.raw
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records a batch's successful receipt (idempotent; a later call with another receipt overwrites it).
    pub async fn batch_mined(&self, batch_id: i64, m: &Mined) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE issuance_batches SET state = 'mined', tx_hash = $2, block_number = $3, gas_used = $4,
                 effective_gas_price = $5, l1_fee = $6, error = NULL, updated_at = now()
             WHERE id = $1",
            batch_id,
            m.tx_hash.as_slice(),
            i(m.block_number),
            i(m.gas_used),
            m.effective_gas_price as i64,
            m.l1_fee.map(|f| f as i64)
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A mined batch whose receipt vanished (its block was reorged out) goes back to pending.
    pub async fn batch_unmined(&self, batch_id: i64) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE issuance_batches SET state = 'pending', tx_hash = NULL, block_number = NULL, gas_used = NULL,
                 effective_gas_price = NULL, l1_fee = NULL, updated_at = now()
             WHERE id = $1 AND state = 'mined'",
            batch_id
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Ends a batch that will not issue (`reverted` on chain, or `dropped`: its nonce went to another
    /// transaction). Its unconfirmed requests go back to the queue; those that already failed in
    /// `max_attempts` batches fail for good with `error`, and so do relayed ones (source `relay:…`: only
    /// their signer's signature may issue them, so the service never re-sends them under its own authority).
    pub async fn batch_abandoned(
        &self,
        batch_id: i64,
        reverted: bool,
        error: &str,
        max_attempts: i32,
    ) -> Result<(), StoreError> {
        let state = if reverted { "reverted" } else { "dropped" };
        let mut tx = self.pool().begin().await?;
        sqlx::query!(
            "UPDATE issuance_batches SET state = $2, error = $3, updated_at = now() WHERE id = $1",
            batch_id,
            state,
            error
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE issuance_requests SET
                 attempts = attempts + $2::int,
                 state = CASE WHEN attempts + $2::int >= $3 OR source LIKE 'relay:%' THEN 'failed' ELSE 'queued' END,
                 error = CASE WHEN attempts + $2::int >= $3 OR source LIKE 'relay:%' THEN $4 ELSE error END,
                 batch_id = CASE WHEN attempts + $2::int >= $3 OR source LIKE 'relay:%' THEN batch_id ELSE NULL END,
                 updated_at = now()
             WHERE batch_id = $1 AND state = 'submitted'",
            batch_id,
            if reverted { 1 } else { 0 },
            max_attempts,
            error
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the relayed batch that issues requests `ids` (queued relay requests of `type_id`, none in a
    /// batch yet) with `signed`, sent by `relayer` under `nonce`, and marks them submitted, in one
    /// transaction. The worker then tracks it like any batch of its signer. Returns the batch id, or None
    /// when a request is not a waiting relay request any more (another process recorded it).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_relay(
        &self,
        chain_id: u64,
        type_id: u64,
        ids: &[i64],
        relayer: Address,
        nonce: u64,
        gas_limit: u64,
        signed: &SignedTx,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let waiting = sqlx::query_scalar!(
            "SELECT count(*) AS \"n!\" FROM issuance_requests
             WHERE id = ANY($1) AND state = 'queued' AND batch_id IS NULL AND source LIKE 'relay:%'",
            ids
        )
        .fetch_one(&mut *tx)
        .await?;
        if waiting != ids.len() as i64 {
            return Ok(None);
        }
        let batch = NewBatch {
            chain_id,
            type_id,
            signer: relayer,
            nonce,
            gas_limit,
        };
        let batch_id = record_batch(&mut tx, &batch, signed, ids).await?;
        tx.commit().await?;
        Ok(Some(batch_id))
    }

    /// (batch id, nonce, state) of every batch of `chain_id`, by nonce.
    pub async fn batch_nonces(&self, chain_id: u64) -> Result<Vec<(i64, u64, String)>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, nonce, state FROM issuance_batches WHERE chain_id = $1 AND state IN ('pending', 'mined')
             ORDER BY nonce, id",
            i(chain_id)
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.id, r.nonce as u64, r.state))
            .collect())
    }

    /// (hash, max fee per gas, max priority fee per gas) of every transaction of batch `batch_id`, oldest first.
    pub async fn batch_transactions(
        &self,
        batch_id: i64,
    ) -> Result<Vec<(B256, u128, u128)>, StoreError> {
        let rows = sqlx::query!(
            "SELECT tx_hash, max_fee_per_gas, max_priority_fee_per_gas FROM batch_transactions
             WHERE batch_id = $1 ORDER BY created_at, tx_hash",
            batch_id
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    b256(&r.tx_hash),
                    r.max_fee_per_gas as u128,
                    r.max_priority_fee_per_gas as u128,
                )
            })
            .collect())
    }
}
