//! One writer that follows the chain into the mirror, a step at a time (reth's stage model: each step either
//! executes the next range or unwinds to a fork point).
//!
//! A step:
//! 1. checks that the block under the cursor is still on the chain (hash compare; a chain now shorter than
//!    the cursor counts as a reorg too); if not, finds the newest block of the stored window that is, and
//!    unwinds the mirror to it in one transaction;
//! 2. fetches the logs of the next range with `eth_getLogs` (the range doubles after a success and halves
//!    when the provider says "too many results" or "range too large");
//! 3. checks the range against the headers it fetched (the first block's parent is the cursor block; logs in
//!    the window carry their block's hash), so a reorg during the step is retried rather than stored;
//! 4. commits events (with their block's timestamp), the projections folded from them, window blocks and
//!    cursor in one transaction; the store logs the projections' undo for the window's blocks.
//!
//! On an unwind the store restores the projections from that undo log in the same transaction that removes
//! the events, so after any unwind they equal a fresh index of the surviving chain.

use std::collections::HashMap;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;

use super::commit::{commit_range, CommitError};
use super::decode::{decode, Contracts, DecodeError};
use super::heal;
use super::project::ProjectError;
use crate::store::mirror::{BlockRef, Cursor, NewEvent};
use crate::store::{Store, StoreError};

/// How the indexer sizes its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowConfig {
    /// Largest `eth_getLogs` range, in blocks.
    pub max_range: u64,
    /// Blocks below the tip whose hashes are kept for reorg detection.
    pub window: u64,
    /// Depth after which a block counts as final when the node serves no `finalized` tag.
    pub confirmations: u64,
    /// Whether to ask the node for the `finalized` tag.
    pub finality_tags: bool,
}

impl Default for FollowConfig {
    fn default() -> Self {
        Self {
            max_range: 5_000,
            window: 128,
            confirmations: 2,
            finality_tags: true,
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Blocks `from..=to` were indexed; `events` new events stored.
    Indexed {
        /// First block of the range.
        from: u64,
        /// Last block of the range.
        to: u64,
        /// Events newly stored.
        events: u64,
    },
    /// A reorg was found; the mirror was rolled back to block `to`, removing `events` events.
    Unwound {
        /// The fork point (last block both chains share).
        to: u64,
        /// Stored events deleted because their block was above the fork point.
        events: u64,
    },
    /// The provider refused the range; the next step asks for `range` blocks.
    Shrunk {
        /// New range size.
        range: u64,
    },
    /// The chain changed during the step; nothing was stored, the next step retries.
    Retry,
    /// Nothing new: the cursor is at the chain head.
    UpToDate,
    /// The mirror no longer matched the node's chain and was thrown away; indexing restarts at the deploy
    /// block.
    Rebuilt {
        /// Why.
        reason: String,
    },
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The RPC failed.
    #[error("RPC error: {0}")]
    Rpc(String),
    /// The node does not know a block it just reported.
    #[error("the node has no block {0}")]
    MissingBlock(u64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A range could not be folded into the projections; nothing was written.
    #[error(transparent)]
    Fold(#[from] ProjectError),
    /// A log did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The deployment is not registered in this database.
    #[error("chain {0} is not registered in the database; register its deployment first")]
    NotRegistered(u64),
    /// `catch_up` ran out of steps before reaching the head.
    #[error("the indexer did not reach the chain head; steps taken: {steps}")]
    NoProgress {
        /// The steps, for the log.
        steps: String,
    },
    /// The mirror did not reach the chain head in time (another process holds the indexer lock and lags).
    #[error("the mirror is at block {indexed} but the chain is at {head}, and it did not catch up within {secs} s; the `laurel serve` that indexes this deployment is behind or stuck (see `laurel status` and its logs)")]
    Behind {
        /// Last indexed block (0: none).
        indexed: u64,
        /// The node's latest block number at the last check.
        head: u64,
        /// How long the caller waited for the mirror, in seconds (its timeout).
        secs: u64,
    },
    /// The node has no block at the deployment's deploy block: the deployment is not on its chain.
    #[error("the node has no block {deploy_block}, where the deployment was made: it serves another (shorter) chain; check LAUREL_RPC_URL and the deployment record")]
    NotOnChain {
        /// The deployment's deploy block.
        deploy_block: u64,
    },
    /// No block of the stored window is on the chain any more.
    #[error("a reorg deeper than the stored window ({window} blocks) replaced block {from}; re-index from the deploy block")]
    ReorgTooDeep {
        /// Recent stored blocks checked for a common ancestor (`FollowConfig::window`).
        window: u64,
        /// Oldest stored block checked (the deploy block when none is stored).
        from: u64,
    },
}

/// What fetching a range's logs gave.
enum Fetched {
    /// The range's logs.
    Logs(Vec<alloy::rpc::types::Log>),
    /// The provider refused the range as too large; the range was halved.
    Shrunk,
}

/// Follows one deployment's logs into the mirror.
pub struct Follower {
    provider: DynProvider,
    store: Store,
    contracts: Contracts,
    chain_id: u64,
    deploy_block: u64,
    config: FollowConfig,
    range: u64,
    /// Whether the node's chain was checked against the mirror's identity since this follower started.
    checked: bool,
}

impl From<CommitError> for FollowError {
    fn from(e: CommitError) -> Self {
        match e {
            CommitError::Store(e) => FollowError::Store(e),
            CommitError::Fold(e) => FollowError::Fold(e),
        }
    }
}

fn rpc<E: std::fmt::Display>(e: E) -> FollowError {
    FollowError::Rpc(crate::config::redact_urls(&e.to_string()))
}

/// Whether a provider error means "ask for fewer blocks".
fn is_range_error(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "more than",
        "too many",
        "range",
        "limit",
        "exceed",
        "-32005",
        "response size",
    ]
    .iter()
    .any(|k| m.contains(k))
}

impl Follower {
    /// A follower of `contracts` on `chain_id`, writing to `store`.
    pub fn new(
        provider: DynProvider,
        store: Store,
        contracts: Contracts,
        chain_id: u64,
        deploy_block: u64,
        config: FollowConfig,
    ) -> Self {
        let range = config.max_range.clamp(1, 64);
        Self {
            provider,
            store,
            contracts,
            chain_id,
            deploy_block,
            config,
            range,
            checked: false,
        }
    }

    /// The current `eth_getLogs` range size.
    pub fn range(&self) -> u64 {
        self.range
    }

    /// Block `n`'s header, or None when the node has no such block (its chain is shorter now: a reorg).
    async fn block(&self, n: u64) -> Result<Option<BlockRef>, FollowError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await
            .map_err(rpc)?;
        Ok(block.map(|b| BlockRef {
            number: b.header.number,
            hash: b.header.hash,
            parent_hash: b.header.parent_hash,
            timestamp: b.header.timestamp,
        }))
    }

    /// Block `n`'s header; the node must have it (it reported a head at or above `n`).
    async fn header(&self, n: u64) -> Result<BlockRef, FollowError> {
        self.block(n).await?.ok_or(FollowError::MissingBlock(n))
    }

    /// Hash of block `n`, or None when the node has no such block.
    async fn hash_at(&self, n: u64) -> Result<Option<B256>, FollowError> {
        Ok(self.block(n).await?.map(|b| b.hash))
    }

    async fn final_block(&self, head: u64) -> Result<u64, FollowError> {
        if self.config.finality_tags {
            if let Ok(Some(b)) = self
                .provider
                .get_block_by_number(BlockNumberOrTag::Finalized)
                .await
            {
                return Ok(b.header.number.min(head));
            }
        }
        Ok(head.saturating_sub(self.config.confirmations))
    }

    /// Runs one step: check the cursor's block, fetch the next range, check it against its headers, commit it.
    pub async fn step(&mut self) -> Result<Step, FollowError> {
        let cursor = self
            .store
            .cursor(self.chain_id)
            .await?
            .ok_or(FollowError::NotRegistered(self.chain_id))?;

        // 0. Is the node's chain the one the mirror holds?
        if !self.checked {
            let identity = heal::check(
                &self.provider,
                &self.store,
                self.chain_id,
                self.deploy_block,
            )
            .await?;
            self.checked = true;
            if let heal::Identity::Other(reason, _) = identity {
                return self.rebuild(reason).await;
            }
        }

        // 1. Is the block under the cursor still on the chain?
        if !self.cursor_on_chain(&cursor).await? {
            return match self.unwind().await {
                Err(e @ FollowError::ReorgTooDeep { .. }) => self.rebuild(e.to_string()).await,
                other => other,
            };
        }

        // 2. The next range and its logs.
        let head = self.provider.get_block_number().await.map_err(rpc)?;
        self.store.saw_head(self.chain_id, head).await?;
        let from = cursor
            .indexed_block
            .map_or(self.deploy_block, |n| n + 1)
            .max(self.deploy_block);
        if from > head {
            heal::caught_up(&self.store, self.chain_id).await?;
            return Ok(Step::UpToDate);
        }
        let to = head.min(from + self.range - 1);
        let fetch_started = std::time::Instant::now();
        let logs = match self.fetch_logs(from, to).await? {
            Fetched::Logs(logs) => logs,
            Fetched::Shrunk => return Ok(Step::Shrunk { range: self.range }),
        };
        let fetched = fetch_started.elapsed();

        // 3. The range checked against its headers, and its events with their blocks' times.
        let Some(blocks) = self.headers(&cursor, from, to, head).await? else {
            return Ok(Step::Retry);
        };
        let Some(events) = self.events(&logs, &blocks).await? else {
            return Ok(Step::Retry);
        };
        let decoded = fetch_started.elapsed() - fetched;

        // 4. One transaction for the whole range.
        let inserted = self.commit(&cursor, head, to, &events, &blocks).await?;
        tracing::debug!(
            from,
            to,
            logs = logs.len(),
            fetch_ms = fetched.as_millis() as u64,
            headers_and_decode_ms = decoded.as_millis() as u64,
            commit_ms = (fetch_started.elapsed() - fetched - decoded).as_millis() as u64,
            "range indexed"
        );
        self.range = (self.range * 2).min(self.config.max_range.max(1));
        Ok(Step::Indexed {
            from,
            to,
            events: inserted,
        })
    }

    /// Throws the mirror away for `reason` and starts again from the deploy block.
    async fn rebuild(&mut self, reason: String) -> Result<Step, FollowError> {
        heal::rebuild(
            &self.provider,
            &self.store,
            self.chain_id,
            self.deploy_block,
            &reason,
        )
        .await?;
        Ok(Step::Rebuilt { reason })
    }

    /// Whether the block under the cursor is still on the chain (true when nothing is indexed yet).
    async fn cursor_on_chain(&self, cursor: &Cursor) -> Result<bool, FollowError> {
        match (cursor.indexed_block, cursor.indexed_hash) {
            (Some(n), Some(hash)) => Ok(self.hash_at(n).await? == Some(hash)),
            _ => Ok(true),
        }
    }

    /// The logs of blocks `from..=to`; halves the range instead when the provider refuses it as too large.
    async fn fetch_logs(&mut self, from: u64, to: u64) -> Result<Fetched, FollowError> {
        let filter = Filter::new()
            .address(self.contracts.addresses().to_vec())
            .from_block(from)
            .to_block(to);
        match self.provider.get_logs(&filter).await {
            Ok(logs) => Ok(Fetched::Logs(logs)),
            Err(e) if is_range_error(&e.to_string()) && self.range > 1 => {
                self.range = (self.range / 2).max(1);
                Ok(Fetched::Shrunk)
            }
            Err(e) => Err(rpc(e)),
        }
    }

    /// The headers of every block of the window near the tip within `from..=to`, and of `to` itself (last);
    /// None when the range's first block no longer follows the cursor's (the chain changed: retry).
    async fn headers(
        &self,
        cursor: &Cursor,
        from: u64,
        to: u64,
        head: u64,
    ) -> Result<Option<Vec<BlockRef>>, FollowError> {
        let window_from = head.saturating_sub(self.config.window - 1).max(from);
        let mut blocks = Vec::new();
        for n in window_from..=to {
            blocks.push(self.header(n).await?);
        }
        if blocks.last().is_none_or(|b| b.number != to) {
            blocks.push(self.header(to).await?);
        }
        let first = if blocks[0].number == from {
            blocks[0]
        } else {
            self.header(from).await?
        };
        if cursor
            .indexed_hash
            .is_some_and(|parent| first.parent_hash != parent)
        {
            return Ok(None);
        }
        // The headers were fetched one by one: a reorg between two fetches leaves them not one chain.
        if !linked(std::iter::once(&first).chain(&blocks)) {
            return Ok(None);
        }
        Ok(Some(blocks))
    }

    /// The range's logs decoded, each with its block's timestamp; None when a log's block is not the one the
    /// headers name (the chain changed: retry).
    async fn events(
        &self,
        logs: &[alloy::rpc::types::Log],
        blocks: &[BlockRef],
    ) -> Result<Option<Vec<NewEvent>>, FollowError> {
        let hash_of = |n: u64| blocks.iter().find(|b| b.number == n).map(|b| b.hash);
        // Block timestamps: from the log where the node serves `blockTimestamp` (anvil, reth, recent geth),
        // else from the headers above, else one header per block that holds events.
        let mut times: HashMap<u64, u64> = blocks.iter().map(|b| (b.number, b.timestamp)).collect();
        let mut events = Vec::with_capacity(logs.len());
        for log in logs {
            let e = decode(&self.contracts, log)?;
            if hash_of(e.block_number).is_some_and(|h: B256| h != e.block_hash) {
                return Ok(None);
            }
            let block_timestamp = match log
                .block_timestamp
                .or_else(|| times.get(&e.block_number).copied())
            {
                Some(t) => t,
                None => {
                    let h = self.header(e.block_number).await?;
                    if h.hash != e.block_hash {
                        return Ok(None);
                    }
                    times.insert(h.number, h.timestamp);
                    h.timestamp
                }
            };
            events.push(NewEvent {
                tx_hash: e.tx_hash,
                log_index: e.log_index,
                block_number: e.block_number,
                block_hash: e.block_hash,
                tx_index: e.tx_index,
                contract: log.address(),
                source: e.source,
                block_timestamp,
                name: e.name,
                fields: e.fields,
            });
        }
        Ok(Some(events))
    }

    /// Commits the range ending at `to` (events, projections, window blocks, cursor) in one transaction;
    /// returns the number of events newly stored.
    async fn commit(
        &self,
        cursor: &Cursor,
        head: u64,
        to: u64,
        events: &[NewEvent],
        blocks: &[BlockRef],
    ) -> Result<u64, FollowError> {
        let last = blocks
            .last()
            .expect("headers() always returns block `to` last");
        let final_block = self.final_block(head).await?.max(cursor.final_block);
        let next = Cursor {
            indexed_block: Some(to),
            indexed_hash: Some(last.hash),
            final_block,
        };
        let keep_from = to.saturating_sub(self.config.window);
        Ok(commit_range(
            &self.store,
            self.chain_id,
            cursor,
            &next,
            events,
            blocks,
            keep_from,
        )
        .await?)
    }

    /// Finds the newest stored block still on the chain and rolls the mirror back to it.
    async fn unwind(&mut self) -> Result<Step, FollowError> {
        let window = self
            .store
            .recent_blocks(self.chain_id, self.config.window)
            .await?;
        for b in &window {
            if self.hash_at(b.number).await? == Some(b.hash) {
                let removed = self.store.unwind_to(self.chain_id, b).await?;
                return Ok(Step::Unwound {
                    to: b.number,
                    events: removed,
                });
            }
        }
        Err(FollowError::ReorgTooDeep {
            window: self.config.window,
            from: window.last().map_or(self.deploy_block, |b| b.number),
        })
    }

    /// Steps until the mirror reaches the chain head (at most `max_steps`), returning the steps taken.
    pub async fn catch_up(&mut self, max_steps: usize) -> Result<Vec<Step>, FollowError> {
        let mut steps = Vec::new();
        while steps.len() < max_steps {
            let s = self.step().await?;
            let done = s == Step::UpToDate;
            steps.push(s);
            if done {
                return Ok(steps);
            }
        }
        Err(FollowError::NoProgress {
            steps: format!("{steps:?}"),
        })
    }
}

/// Whether every header of `blocks` (ascending) that follows the one before it by one height names it as
/// its parent: the headers are one parent-linked chain (gaps, and a repeated height, are not checked).
pub fn linked<'a>(blocks: impl IntoIterator<Item = &'a BlockRef>) -> bool {
    let mut before: Option<&BlockRef> = None;
    for b in blocks {
        if let Some(p) = before {
            if b.number == p.number + 1 && b.parent_hash != p.hash {
                return false;
            }
        }
        before = Some(b);
    }
    true
}

#[cfg(test)]
mod linked_tests {
    use super::*;

    fn block(number: u64, hash: u8, parent: u8) -> BlockRef {
        BlockRef {
            number,
            hash: B256::repeat_byte(hash),
            parent_hash: B256::repeat_byte(parent),
            timestamp: number,
        }
    }

    #[test]
    fn a_header_window_must_be_one_parent_linked_chain() {
        assert!(linked(&[block(5, 5, 4), block(6, 6, 5), block(7, 7, 6)]));
        assert!(
            linked(&[block(5, 5, 5), block(5, 5, 5)]),
            "the range's first block fetched twice"
        );
        // Block 7 fetched after a reorg replaced 6: its parent is not the 6 fetched before.
        assert!(!linked(&[
            block(5, 5, 4),
            block(6, 6, 5),
            block(7, 0x77, 0x66)
        ]));
        assert!(
            linked(&[block(1, 1, 0), block(9, 9, 8)]),
            "no claim across a gap"
        );
        assert!(linked(&[]));
    }
}
