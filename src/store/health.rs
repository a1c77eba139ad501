//! What the mirror knows of the chain it mirrors: the chain's identity (its genesis block's and the deploy
//! block's hashes), the head the indexer last saw, and the rebuild that replaces a derived mirror which no
//! longer matches the node's chain. The rebuild keeps the service's own state (the issuance queue, claim
//! documents, API keys, audit log): only the events, the block window and the projections are derived.

use alloy::primitives::B256;

use super::{b256, i, projection, Store, StoreError};

/// The hashes that tell one chain from another with the same id and the same contract addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainIdentity {
    /// Hash of block 0.
    pub genesis: B256,
    /// Hash of the deployment's deploy block.
    pub deploy_block: B256,
}

/// How the mirror stands against the chain, as any process can read it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MirrorHealth {
    /// Last indexed block (None: nothing yet).
    pub indexed_block: Option<u64>,
    /// Highest block the mirror treats as final.
    pub final_block: u64,
    /// The chain head the indexer last saw (None: it has not looked yet).
    pub head_block: Option<u64>,
    /// Seconds since it saw that head.
    pub head_age_secs: Option<u64>,
    /// Why the mirror is being rebuilt (None: it is not).
    pub rebuild_reason: Option<String>,
    /// Seconds since the rebuild began.
    pub rebuild_age_secs: Option<u64>,
}

/// Seconds without the indexer reporting the chain head after which the mirror counts as stale.
pub const HEAD_UNSEEN_AFTER_SECS: u64 = 60;

impl MirrorHealth {
    /// Blocks between the head last seen and the last indexed block (None: no head seen yet).
    pub fn lag(&self) -> Option<u64> {
        let head = self.head_block?;
        Some(head.saturating_sub(self.indexed_block.unwrap_or(0)))
    }

    /// Why the mirror cannot be trusted to be within `max_lag` blocks of the chain now, if it cannot: it is
    /// being rebuilt, is further behind, or no indexer has reported the head for a minute.
    pub fn behind(&self, max_lag: u64) -> Option<String> {
        if let Some(reason) = &self.rebuild_reason {
            return Some(format!(
                "the mirror is being rebuilt from the deploy block ({reason})"
            ));
        }
        match (self.lag(), self.head_age_secs) {
            (None, _) | (_, None) => Some("no indexer has reported the chain head yet".into()),
            (_, Some(age)) if age > HEAD_UNSEEN_AFTER_SECS => Some(format!(
                "no indexer has reported the chain head for {age} s (is `laurel serve` running?)"
            )),
            (Some(lag), _) if lag > max_lag => Some(format!(
                "the mirror is {lag} blocks behind the chain head (the limit is {max_lag})"
            )),
            _ => None,
        }
    }
}

/// What a rebuild removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rebuilt {
    /// Events removed.
    pub events: u64,
    /// Confirmed issuance requests put back to submitted (the worker watches their batches again).
    pub unconfirmed: u64,
}

impl Store {
    /// The identity recorded for `chain_id`'s mirror (None: not recorded yet, or not registered).
    pub async fn chain_identity(&self, chain_id: u64) -> Result<Option<ChainIdentity>, StoreError> {
        let row = sqlx::query!(
            "SELECT genesis_hash, deploy_block_hash FROM deployments WHERE chain_id = $1",
            i(chain_id)
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(
            row.and_then(|r| match (r.genesis_hash, r.deploy_block_hash) {
                (Some(g), Some(d)) => Some(ChainIdentity {
                    genesis: b256(&g),
                    deploy_block: b256(&d),
                }),
                _ => None,
            }),
        )
    }

    /// Records `id` as the identity of the chain `chain_id`'s mirror holds.
    pub async fn record_identity(
        &self,
        chain_id: u64,
        id: &ChainIdentity,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE deployments SET genesis_hash = $2, deploy_block_hash = $3 WHERE chain_id = $1",
            i(chain_id),
            id.genesis.as_slice(),
            id.deploy_block.as_slice()
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Notes that the indexer saw `head` as the chain's head just now.
    pub async fn saw_head(&self, chain_id: u64, head: u64) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE cursors SET head_block = $2, head_seen_at = now() WHERE chain_id = $1",
            i(chain_id),
            i(head)
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// How `chain_id`'s mirror stands (None: not registered).
    pub async fn mirror_health(&self, chain_id: u64) -> Result<Option<MirrorHealth>, StoreError> {
        let row = sqlx::query!(
            r#"SELECT indexed_block, final_block, head_block, rebuild_reason,
                      EXTRACT(EPOCH FROM now() - head_seen_at)::BIGINT AS "head_age: i64",
                      EXTRACT(EPOCH FROM now() - rebuild_started_at)::BIGINT AS "rebuild_age: i64"
               FROM cursors WHERE chain_id = $1"#,
            i(chain_id)
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| MirrorHealth {
            indexed_block: (r.indexed_block >= 0).then_some(r.indexed_block as u64),
            final_block: r.final_block as u64,
            head_block: r.head_block.map(|h| h as u64),
            head_age_secs: r.head_age.map(|s| s.max(0) as u64),
            rebuild_reason: r.rebuild_reason,
            rebuild_age_secs: r.rebuild_age.map(|s| s.max(0) as u64),
        }))
    }

    /// Throws away `chain_id`'s derived mirror (events, block window, projections and their undo log) in
    /// one transaction, puts the cursor back before the deploy block, sends confirmed issuance requests
    /// back to submitted, records `identity` as the chain's (when given) and `reason` as why, until
    /// [`Store::rebuild_done`]. The queue, documents, keys and audit log are kept.
    pub async fn rebuild_mirror(
        &self,
        chain_id: u64,
        reason: &str,
        identity: Option<&ChainIdentity>,
    ) -> Result<Rebuilt, StoreError> {
        let mut tx = self.pool().begin().await?;
        let d = sqlx::query!(
            "SELECT deploy_block, record->>'base_uri' AS base_uri,
                    record->>'membership_base_uri' AS membership_base_uri
             FROM deployments WHERE chain_id = $1 FOR UPDATE",
            i(chain_id)
        )
        .fetch_one(&mut *tx)
        .await?;
        let events = sqlx::query!("DELETE FROM events WHERE chain_id = $1", i(chain_id))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query!("DELETE FROM blocks WHERE chain_id = $1", i(chain_id))
            .execute(&mut *tx)
            .await?;
        projection::clear(&mut tx, chain_id).await?;
        projection::seed_registries(
            &mut tx,
            chain_id,
            d.base_uri.as_deref().unwrap_or_default(),
            d.membership_base_uri.as_deref().unwrap_or_default(),
        )
        .await?;
        let before_deploy = (d.deploy_block - 1).max(0) as u64;
        let unconfirmed =
            super::issuance::unconfirm_above(&mut tx, chain_id, before_deploy).await?;
        sqlx::query!(
            "UPDATE cursors SET indexed_block = $2, indexed_hash = NULL, final_block = 0, updated_at = now(),
                 rebuild_reason = $3, rebuild_started_at = now()
             WHERE chain_id = $1",
            i(chain_id),
            d.deploy_block - 1,
            reason
        )
        .execute(&mut *tx)
        .await?;
        if let Some(id) = identity {
            sqlx::query!(
                "UPDATE deployments SET genesis_hash = $2, deploy_block_hash = $3 WHERE chain_id = $1",
                i(chain_id),
                id.genesis.as_slice(),
                id.deploy_block.as_slice()
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Rebuilt {
            events,
            unconfirmed,
        })
    }

    /// Marks the rebuild of `chain_id`'s mirror finished (it reached the head); true when one was running.
    pub async fn rebuild_done(&self, chain_id: u64) -> Result<bool, StoreError> {
        Ok(sqlx::query!(
            "UPDATE cursors SET rebuild_reason = NULL, rebuild_started_at = NULL
             WHERE chain_id = $1 AND rebuild_reason IS NOT NULL",
            i(chain_id)
        )
        .execute(self.pool())
        .await?
        .rows_affected()
            > 0)
    }
}
