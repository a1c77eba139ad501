//! The chain mirror's bookkeeping: deployments, the indexing cursor, the recent block-hash window and raw
//! events. A range is committed in one transaction (events, projections, blocks, cursor), so a crash never
//! leaves partial state, and a replayed range inserts (and folds) nothing twice. An unwind removes the events
//! above a fork point and restores the projections from their undo log in one transaction
//! (see [`projection`](super::projection)).

use super::{b256, i};
use std::collections::HashSet;

use alloy::primitives::{Address, B256};
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::Postgres;

use super::changes::{Current, Folded, Keys};
use super::{projection, Store, StoreError};
use crate::chain::Deployment;
use crate::domain::Source;

/// A decoded log ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Hash of the transaction that emitted the log.
    pub tx_hash: B256,
    /// Log index in the block.
    pub log_index: u64,
    /// Number of the block the log is in.
    pub block_number: u64,
    /// Hash of that block (checked against the header window before commit).
    pub block_hash: B256,
    /// Transaction index in the block.
    pub tx_index: u64,
    /// Address of the contract that emitted the log.
    pub contract: Address,
    /// Which Laurel contract that is (two registries share event names such as `Renewed`).
    pub source: Source,
    /// Timestamp of the event's block (unix seconds): credentials' issue time, memberships' grant time.
    pub block_timestamp: u64,
    /// Event name as the ABI declares it (`CredentialIssued`, `Renewed`, …).
    pub name: String,
    /// The event's arguments by name, as JSON (what the `events` table stores).
    pub fields: Value,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Number of the block the event was emitted in.
    pub block_number: u64,
    /// Log index in the block.
    pub log_index: u64,
    /// Hash of the transaction that emitted it.
    pub tx_hash: B256,
    /// Event name as the ABI declares it.
    pub name: String,
    /// The event's arguments by name, as stored.
    pub fields: Value,
}

/// A block in the reorg-detection window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    /// Height of the block.
    pub number: u64,
    /// Its hash, compared with the node's to detect a reorg.
    pub hash: B256,
    /// Parent block hash.
    pub parent_hash: B256,
    /// Block timestamp (unix seconds).
    pub timestamp: u64,
}

/// How far the mirror reflects the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Last block whose logs are stored; None before the first range.
    pub indexed_block: Option<u64>,
    /// Hash of that block.
    pub indexed_hash: Option<B256>,
    /// Highest block known to be final.
    pub final_block: u64,
}

/// The advisory lock that makes one process the writer of a deployment's mirror. Released by
/// [`WriterLock::release`], or when the process dies (the server drops a closed session's locks).
#[derive(Debug)]
pub struct WriterLock {
    conn: PoolConnection<Postgres>,
    key: i64,
}

/// Advisory lock key of a chain's writer ("LAUREL" in the high bytes, the chain id below).
fn writer_key(chain_id: u64) -> i64 {
    ((0x4c41_5552_454c_i64) << 16) ^ (chain_id as i64)
}

impl Store {
    /// Records the deployment this database mirrors and creates its cursor (nothing indexed yet).
    /// Idempotent for the same deployment; a different deployment on the same chain is an error.
    pub async fn register_deployment(&self, d: &Deployment) -> Result<(), StoreError> {
        let record = serde_json::to_value(d)
            .map_err(|e| StoreError::Query(sqlx::Error::Encode(Box::new(e))))?;
        let mut tx = self.pool().begin().await?;
        let existing = sqlx::query!(
            "SELECT credential_registry, membership_registry, access_manager, deploy_block FROM deployments
             WHERE chain_id = $1",
            i(d.chain_id)
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = existing {
            // Same addresses and deploy block: on a dev chain the addresses repeat after a restart, but a
            // database that mirrored the earlier chain must not be taken for this one.
            let same = row.credential_registry == d.credential_registry.as_slice()
                && row.membership_registry == d.membership_registry.as_slice()
                && row.access_manager == d.access_manager.as_slice()
                && row.deploy_block == i(d.deploy_block);
            if !same {
                return Err(StoreError::OtherDeployment {
                    chain_id: d.chain_id,
                });
            }
            return Ok(());
        }
        // Another process may register the same deployment at the same moment: the loser's insert waits for
        // the winner's commit and then does nothing, and the cursor insert likewise.
        sqlx::query!(
            "INSERT INTO deployments (chain_id, access_manager, credential_registry, membership_registry, deploy_block, record)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (chain_id) DO NOTHING",
            i(d.chain_id),
            d.access_manager.as_slice(),
            d.credential_registry.as_slice(),
            d.membership_registry.as_slice(),
            i(d.deploy_block),
            record
        )
        .execute(&mut *tx)
        .await?;
        projection::seed_registries(&mut tx, d.chain_id, &d.base_uri, &d.membership_base_uri)
            .await?;
        sqlx::query!(
            "INSERT INTO cursors (chain_id, indexed_block, final_block) VALUES ($1, $2, 0)
             ON CONFLICT (chain_id) DO NOTHING",
            i(d.chain_id),
            i(d.deploy_block) - 1
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // Whoever won, the stored deployment must be this one.
        let stored = sqlx::query!(
            "SELECT credential_registry, membership_registry, access_manager, deploy_block FROM deployments
             WHERE chain_id = $1",
            i(d.chain_id)
        )
        .fetch_one(self.pool())
        .await?;
        if stored.credential_registry != d.credential_registry.as_slice()
            || stored.membership_registry != d.membership_registry.as_slice()
            || stored.access_manager != d.access_manager.as_slice()
            || stored.deploy_block != i(d.deploy_block)
        {
            return Err(StoreError::OtherDeployment {
                chain_id: d.chain_id,
            });
        }
        Ok(())
    }

    /// The cursor of `chain_id`, if the deployment is registered.
    pub async fn cursor(&self, chain_id: u64) -> Result<Option<Cursor>, StoreError> {
        let row = sqlx::query!(
            "SELECT indexed_block, indexed_hash, final_block FROM cursors WHERE chain_id = $1",
            i(chain_id)
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| Cursor {
            indexed_block: (r.indexed_block >= 0).then_some(r.indexed_block as u64),
            indexed_hash: r.indexed_hash.as_deref().map(b256),
            final_block: r.final_block as u64,
        }))
    }

    /// Begins committing one indexed range, in a single transaction that [`RangeWrite::commit`] ends: the
    /// cursor moves from `expected` to `next` first, failing with [`StoreError::CursorMoved`] (writing
    /// nothing) when it is not at `expected`. The indexer then drives the rest (reth's stage drives the
    /// write): [`RangeWrite::record`] the events and blocks, fold the new events, [`RangeWrite::load`] the
    /// rows they touch and [`RangeWrite::write`] the fold's changes. Dropping it unfinished writes nothing.
    pub async fn begin_range(
        &self,
        chain_id: u64,
        expected: &Cursor,
        next: &Cursor,
    ) -> Result<RangeWrite, StoreError> {
        let mut tx = self.pool().begin().await?;
        let moved = sqlx::query!(
            "UPDATE cursors SET indexed_block = $2, indexed_hash = $3, final_block = $4, updated_at = now()
             WHERE chain_id = $1 AND indexed_block = $5",
            i(chain_id),
            next.indexed_block.map_or(-1, i),
            next.indexed_hash.as_ref().map(|h| h.as_slice()),
            i(next.final_block),
            expected.indexed_block.map_or(-1, i)
        )
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::CursorMoved { chain_id });
        }

        Ok(RangeWrite {
            tx,
            chain_id,
            oldest: None,
        })
    }

    /// The newest `limit` blocks of the window, newest first.
    pub async fn recent_blocks(
        &self,
        chain_id: u64,
        limit: u64,
    ) -> Result<Vec<BlockRef>, StoreError> {
        let rows = sqlx::query!(
            "SELECT number, hash, parent_hash, timestamp FROM blocks WHERE chain_id = $1 ORDER BY number DESC LIMIT $2",
            i(chain_id),
            i(limit)
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| BlockRef {
                number: r.number as u64,
                hash: b256(&r.hash),
                parent_hash: b256(&r.parent_hash),
                timestamp: r.timestamp as u64,
            })
            .collect())
    }

    /// Rolls the mirror back to `fork` (the last block both chains share) in one transaction: events and
    /// window blocks above it are deleted, the projections are restored to their state at `fork` from the
    /// undo log, and the cursor points at it. A fork below the window's oldest block is refused
    /// ([`StoreError::ForkBelowWindow`]): no undo reaches that far. Returns the number of events removed.
    pub async fn unwind_to(&self, chain_id: u64, fork: &BlockRef) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let oldest = sqlx::query_scalar!(
            "SELECT min(number) FROM blocks WHERE chain_id = $1",
            i(chain_id)
        )
        .fetch_one(&mut *tx)
        .await?;
        if let Some(oldest) = oldest.filter(|o| *o > i(fork.number)) {
            return Err(StoreError::ForkBelowWindow {
                chain_id,
                fork: fork.number,
                oldest: oldest as u64,
            });
        }
        projection::unwind(&mut tx, chain_id, fork.number).await?;
        let removed = sqlx::query!(
            "DELETE FROM events WHERE chain_id = $1 AND block_number > $2",
            i(chain_id),
            i(fork.number)
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        super::issuance::unconfirm_above(&mut tx, chain_id, fork.number).await?;
        sqlx::query!(
            "DELETE FROM blocks WHERE chain_id = $1 AND number > $2",
            i(chain_id),
            i(fork.number)
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE cursors SET indexed_block = $2, indexed_hash = $3, final_block = LEAST(final_block, $2),
                 updated_at = now()
             WHERE chain_id = $1",
            i(chain_id),
            i(fork.number),
            fork.hash.as_slice()
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// Events of `chain_id` in blocks `from..=to`, in chain order.
    pub async fn events_between(
        &self,
        chain_id: u64,
        from: u64,
        to: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query!(
            "SELECT block_number, log_index, tx_hash, name, fields FROM events
             WHERE chain_id = $1 AND block_number BETWEEN $2 AND $3 ORDER BY block_number, log_index",
            i(chain_id),
            i(from),
            i(to)
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredEvent {
                block_number: r.block_number as u64,
                log_index: r.log_index as u64,
                tx_hash: b256(&r.tx_hash),
                name: r.name,
                fields: r.fields,
            })
            .collect())
    }

    /// Number of events stored for `chain_id`.
    pub async fn event_count(&self, chain_id: u64) -> Result<u64, StoreError> {
        let n = sqlx::query_scalar!(
            "SELECT count(*) FROM events WHERE chain_id = $1",
            i(chain_id)
        )
        .fetch_one(self.pool())
        .await?;
        Ok(n.unwrap_or(0) as u64)
    }

    /// Tries to become the one writer of `chain_id`'s mirror; None when another process holds the lock.
    pub async fn try_writer_lock(&self, chain_id: u64) -> Result<Option<WriterLock>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let key = writer_key(chain_id);
        let got = sqlx::query_scalar!("SELECT pg_try_advisory_lock($1)", key)
            .fetch_one(&mut *conn)
            .await?;
        Ok(got.unwrap_or(false).then_some(WriterLock { conn, key }))
    }
}

impl WriterLock {
    /// Releases the lock.
    pub async fn release(mut self) -> Result<(), StoreError> {
        sqlx::query_scalar!("SELECT pg_advisory_unlock($1)", self.key)
            .fetch_one(&mut *self.conn)
            .await?;
        Ok(())
    }
}

impl Store {
    /// Timestamp of window block `number` of `chain_id`, if the window holds it.
    pub async fn block_time(&self, chain_id: u64, number: u64) -> Result<Option<u64>, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT timestamp FROM blocks WHERE chain_id = $1 AND number = $2",
            i(chain_id),
            i(number)
        )
        .fetch_optional(self.pool())
        .await?
        .map(|t| t as u64))
    }
}

/// One range being committed (see [`Store::begin_range`]): an open transaction whose cursor has moved.
pub struct RangeWrite {
    tx: sqlx::Transaction<'static, Postgres>,
    chain_id: u64,
    oldest: Option<u64>,
}

/// The events of a range that were not stored before, and from which block their changes are undo-logged.
#[derive(Debug)]
pub struct Fresh<'a> {
    /// The events newly stored (a replayed event was folded when it was first stored), in input order.
    pub events: Vec<&'a NewEvent>,
    /// Changes in blocks at or above this one are logged for a later unwind: the blocks above the oldest
    /// window block after this commit (none during a backfill far below the head, where the window holds
    /// just the range's last block).
    pub undo_from: Option<u64>,
}

impl RangeWrite {
    /// Inserts `events` (skipping any already stored), marks the issuances they confirm, records `blocks`
    /// in the window and drops window blocks below `keep_from`. Returns the events newly stored.
    pub async fn record<'a>(
        &mut self,
        events: &'a [NewEvent],
        blocks: &[BlockRef],
        keep_from: u64,
    ) -> Result<Fresh<'a>, StoreError> {
        let chain_id = self.chain_id;
        let tx = &mut self.tx;
        let tx_hashes: Vec<&[u8]> = events.iter().map(|e| e.tx_hash.as_slice()).collect();
        let log_indexes: Vec<i32> = events.iter().map(|e| e.log_index as i32).collect();
        let numbers: Vec<i64> = events.iter().map(|e| i(e.block_number)).collect();
        let hashes: Vec<&[u8]> = events.iter().map(|e| e.block_hash.as_slice()).collect();
        let tx_indexes: Vec<i32> = events.iter().map(|e| e.tx_index as i32).collect();
        let contracts: Vec<&[u8]> = events.iter().map(|e| e.contract.as_slice()).collect();
        let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
        let fields: Vec<Value> = events.iter().map(|e| e.fields.clone()).collect();
        let times: Vec<i64> = events.iter().map(|e| i(e.block_timestamp)).collect();
        // (block, log index) names a log as well as (tx hash, log index) does, in two integers.
        let fresh = sqlx::query!(
            "INSERT INTO events (chain_id, tx_hash, log_index, block_number, block_hash, tx_index, contract, name, fields,
                 block_timestamp)
             SELECT $1, * FROM UNNEST($2::bytea[], $3::int[], $4::bigint[], $5::bytea[], $6::int[], $7::bytea[], $8::text[], $9::jsonb[], $10::bigint[])
             ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING
             RETURNING block_number, log_index",
            i(chain_id),
            &tx_hashes as &[&[u8]],
            &log_indexes,
            &numbers,
            &hashes as &[&[u8]],
            &tx_indexes,
            &contracts as &[&[u8]],
            &names as &[&str],
            &fields,
            &times
        )
        .fetch_all(&mut **tx)
        .await?;
        let issuing: Vec<&NewEvent> = events
            .iter()
            .filter(|e| e.name == "Issued" || e.name == "IssuedBatch")
            .collect();
        super::issuance::confirm_in_range(
            tx,
            chain_id,
            &issuing.iter().map(|e| e.tx_hash).collect::<Vec<_>>(),
            &issuing.iter().map(|e| e.block_number).collect::<Vec<_>>(),
        )
        .await?;

        let b_numbers: Vec<i64> = blocks.iter().map(|b| i(b.number)).collect();
        let b_hashes: Vec<&[u8]> = blocks.iter().map(|b| b.hash.as_slice()).collect();
        let b_parents: Vec<&[u8]> = blocks.iter().map(|b| b.parent_hash.as_slice()).collect();
        let b_times: Vec<i64> = blocks.iter().map(|b| i(b.timestamp)).collect();
        sqlx::query!(
            "INSERT INTO blocks (chain_id, number, hash, parent_hash, timestamp)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[], $4::bytea[], $5::bigint[])
             ON CONFLICT (chain_id, number) DO UPDATE SET hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash,
                 timestamp = EXCLUDED.timestamp",
            i(chain_id),
            &b_numbers,
            &b_hashes as &[&[u8]],
            &b_parents as &[&[u8]],
            &b_times
        )
        .execute(&mut **tx)
        .await?;
        sqlx::query!(
            "DELETE FROM blocks WHERE chain_id = $1 AND number < $2",
            i(chain_id),
            i(keep_from)
        )
        .execute(&mut **tx)
        .await?;

        let oldest = sqlx::query_scalar!(
            "SELECT min(number) FROM blocks WHERE chain_id = $1",
            i(chain_id)
        )
        .fetch_one(&mut **tx)
        .await?
        .map(|n| n as u64);
        self.oldest = oldest;
        let undo_from = Some(oldest.map_or(0, |n| n + 1));
        let events = if fresh.len() == events.len() {
            events.iter().collect()
        } else {
            let fresh: HashSet<(i64, i32)> = fresh
                .into_iter()
                .map(|r| (r.block_number, r.log_index))
                .collect();
            events
                .iter()
                .filter(|e| fresh.contains(&(i(e.block_number), e.log_index as i32)))
                .collect()
        };
        Ok(Fresh { events, undo_from })
    }

    /// The current rows of the keys the range's fold touches, locked for this transaction.
    pub async fn load(&mut self, keys: &Keys) -> Result<Current, StoreError> {
        projection::load(&mut self.tx, self.chain_id, keys).await
    }

    /// Writes what the fold made of the range: upserts, deletes and the undo log.
    pub async fn write(&mut self, folded: &Folded) -> Result<(), StoreError> {
        projection::write(&mut self.tx, self.chain_id, folded).await?;
        projection::write_undo(&mut self.tx, self.chain_id, folded).await
    }

    /// Drops undo entries no fork point can reach any more and commits the range.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        if let Some(oldest) = self.oldest {
            projection::prune_undo(&mut self.tx, self.chain_id, oldest).await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}
