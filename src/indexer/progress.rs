//! Backfill progress: blocks and events per second, logged every few seconds and recorded as Prometheus
//! metrics in [`crate::telemetry::metrics::REGISTRY`] (the HTTP server's `/metrics` renders it).

use std::time::{Duration, Instant};

use super::follow::{FollowError, Step};
use crate::telemetry::metrics::{self as m, REGISTRY};

/// Counts a failed step by its kind of error (`laurel_indexer_step_errors_total{kind}`).
pub fn record_error(e: &FollowError) {
    let kind = match e {
        FollowError::Rpc(_) | FollowError::MissingBlock(_) => "rpc",
        FollowError::Store(_) => "store",
        FollowError::Fold(_) => "fold",
        FollowError::Decode(_) => "decode",
        FollowError::NotRegistered(_) => "not_registered",
        FollowError::NoProgress { .. } | FollowError::Behind { .. } => "behind",
        FollowError::ReorgTooDeep { .. } => "reorg_too_deep",
        FollowError::NotOnChain { .. } => "not_on_chain",
    };
    REGISTRY.add(m::INDEXER_ERRORS, &[("kind", kind)], 1.0);
}

/// Accumulates steps and reports rates every `every`.
#[derive(Debug)]
pub struct Progress {
    since: Instant,
    blocks: u64,
    events: u64,
    every: Duration,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// A reporter logging every 5 seconds.
    pub fn new() -> Self {
        Self {
            since: Instant::now(),
            blocks: 0,
            events: 0,
            every: Duration::from_secs(5),
        }
    }

    /// Records one step; logs and updates the rate gauges when the interval has passed.
    pub fn record(&mut self, step: &Step) {
        match *step {
            Step::Indexed { from, to, events } => {
                let blocks = to - from + 1;
                self.blocks += blocks;
                self.events += events;
                REGISTRY.add(m::INDEXER_BLOCKS, &[], blocks as f64);
                REGISTRY.add(m::INDEXER_EVENTS, &[], events as f64);
                REGISTRY.set(m::INDEXER_BLOCK, &[], to as f64);
            }
            Step::Unwound { to, events } => {
                REGISTRY.add(m::INDEXER_REORGS, &[], 1.0);
                REGISTRY.set(m::INDEXER_BLOCK, &[], to as f64);
                tracing::warn!(fork = to, removed = events, "reorg: mirror rolled back");
            }
            _ => {}
        }
        let elapsed = self.since.elapsed();
        if elapsed >= self.every {
            let s = elapsed.as_secs_f64();
            let (bps, eps) = (self.blocks as f64 / s, self.events as f64 / s);
            REGISTRY.set(m::INDEXER_BLOCK_RATE, &[], (bps * 1000.0).round() / 1000.0);
            REGISTRY.set(m::INDEXER_EVENT_RATE, &[], (eps * 1000.0).round() / 1000.0);
            if self.blocks > 0 {
                tracing::info!(
                    block = REGISTRY.value(m::INDEXER_BLOCK, &[]).unwrap_or(0.0) as u64,
                    blocks_per_s = format!("{bps:.0}"),
                    events_per_s = format!("{eps:.0}"),
                    "indexing"
                );
            }
            self.since = Instant::now();
            self.blocks = 0;
            self.events = 0;
        }
    }
}
