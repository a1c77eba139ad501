//! Counts and costs of a chain's queue, for `laurel status` and `/metrics`.

use crate::store::{i, Store, StoreError};

/// Counts and costs for `laurel status`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueStats {
    /// Requests waiting for a batch.
    pub queued: u64,
    /// Age of the oldest request waiting for a batch, seconds (0 when none waits).
    pub oldest_queued_secs: f64,
    /// Requests in sent batches.
    pub submitted: u64,
    /// Requests confirmed by the indexer.
    pub confirmed: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Transactions signed but not yet mined.
    pub pending_txs: u64,
    /// Of those, transactions the node has not accepted yet (a crash between record and broadcast).
    pub unsent_txs: u64,
    /// Batches whose transaction was mined successfully (state `mined`).
    pub mined_batches: u64,
    /// Credentials carried by mined batches.
    pub mined_credentials: u64,
    /// Total L2 gas of mined batches.
    pub gas_used: u64,
    /// Total fees paid (L2 execution + L1 data), in wei.
    pub fees_wei: f64,
}

impl Store {
    /// Counts and costs of `chain_id`'s queue.
    pub async fn queue_stats(&self, chain_id: u64) -> Result<QueueStats, StoreError> {
        let counts = sqlx::query!(
            r#"SELECT state AS "state!", count(*) AS "n!",
                      extract(epoch FROM now() - min(created_at))::float8 AS "oldest_secs!"
               FROM issuance_requests WHERE chain_id = $1 GROUP BY state"#,
            i(chain_id)
        )
        .fetch_all(self.pool())
        .await?;
        let mut s = QueueStats::default();
        for c in counts {
            let n = c.n as u64;
            match c.state.as_str() {
                "queued" => {
                    s.queued = n;
                    s.oldest_queued_secs = c.oldest_secs.max(0.0);
                }
                "submitted" => s.submitted = n,
                "confirmed" => s.confirmed = n,
                _ => s.failed = n,
            }
        }
        let cost = sqlx::query!(
            r#"SELECT count(*) AS "batches!", coalesce(sum(size), 0)::bigint AS "credentials!",
                      coalesce(sum(gas_used), 0)::bigint AS "gas!",
                      coalesce(sum(gas_used::numeric * effective_gas_price + coalesce(l1_fee, 0)), 0)::float8 AS "fees!"
               FROM issuance_batches WHERE chain_id = $1 AND state = 'mined'"#,
            i(chain_id)
        )
        .fetch_one(self.pool())
        .await?;
        s.mined_batches = cost.batches as u64;
        s.mined_credentials = cost.credentials as u64;
        s.gas_used = cost.gas as u64;
        s.fees_wei = cost.fees;
        let pending = sqlx::query!(
            r#"SELECT count(*) AS "n!", count(*) FILTER (WHERE t.sent_at IS NULL) AS "unsent!"
               FROM batch_transactions t JOIN issuance_batches b ON b.id = t.batch_id
               WHERE b.chain_id = $1 AND b.state = 'pending'"#,
            i(chain_id)
        )
        .fetch_one(self.pool())
        .await?;
        s.pending_txs = pending.n as u64;
        s.unsent_txs = pending.unsent as u64;
        Ok(s)
    }
}
