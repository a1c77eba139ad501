//! Backfill progress: blocks and events per second, logged every few seconds and exported as Prometheus
//! metrics (the HTTP server's `/metrics` renders [`METRICS`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::follow::Step;

/// Process-wide indexer counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Blocks indexed since start.
    pub blocks: AtomicU64,
    /// Events stored since start.
    pub events: AtomicU64,
    /// Last indexed block.
    pub indexed_block: AtomicU64,
    /// Reorgs unwound since start.
    pub reorgs: AtomicU64,
    /// Blocks per second over the last report interval, ×1000.
    pub blocks_per_sec_milli: AtomicU64,
    /// Events per second over the last report interval, ×1000.
    pub events_per_sec_milli: AtomicU64,
}

/// The indexer metrics of this process.
pub static METRICS: Metrics = Metrics {
    blocks: AtomicU64::new(0),
    events: AtomicU64::new(0),
    indexed_block: AtomicU64::new(0),
    reorgs: AtomicU64::new(0),
    blocks_per_sec_milli: AtomicU64::new(0),
    events_per_sec_milli: AtomicU64::new(0),
};

impl Metrics {
    /// Prometheus text exposition of the counters.
    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# HELP laurel_indexer_blocks_total Blocks indexed by this process.\n# TYPE laurel_indexer_blocks_total counter\nlaurel_indexer_blocks_total {}\n\
             # HELP laurel_indexer_events_total Events stored by this process.\n# TYPE laurel_indexer_events_total counter\nlaurel_indexer_events_total {}\n\
             # HELP laurel_indexer_indexed_block Last block indexed.\n# TYPE laurel_indexer_indexed_block gauge\nlaurel_indexer_indexed_block {}\n\
             # HELP laurel_indexer_reorgs_total Reorgs unwound.\n# TYPE laurel_indexer_reorgs_total counter\nlaurel_indexer_reorgs_total {}\n\
             # HELP laurel_indexer_blocks_per_second Recent indexing rate.\n# TYPE laurel_indexer_blocks_per_second gauge\nlaurel_indexer_blocks_per_second {:.3}\n\
             # HELP laurel_indexer_events_per_second Recent event rate.\n# TYPE laurel_indexer_events_per_second gauge\nlaurel_indexer_events_per_second {:.3}\n",
            g(&self.blocks),
            g(&self.events),
            g(&self.indexed_block),
            g(&self.reorgs),
            g(&self.blocks_per_sec_milli) as f64 / 1000.0,
            g(&self.events_per_sec_milli) as f64 / 1000.0,
        )
    }
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
                METRICS.blocks.fetch_add(blocks, Ordering::Relaxed);
                METRICS.events.fetch_add(events, Ordering::Relaxed);
                METRICS.indexed_block.store(to, Ordering::Relaxed);
            }
            Step::Unwound { to, events } => {
                METRICS.reorgs.fetch_add(1, Ordering::Relaxed);
                METRICS.indexed_block.store(to, Ordering::Relaxed);
                tracing::warn!(fork = to, removed = events, "reorg: mirror rolled back");
            }
            _ => {}
        }
        let elapsed = self.since.elapsed();
        if elapsed >= self.every {
            let s = elapsed.as_secs_f64();
            let (bps, eps) = (self.blocks as f64 / s, self.events as f64 / s);
            METRICS
                .blocks_per_sec_milli
                .store((bps * 1000.0) as u64, Ordering::Relaxed);
            METRICS
                .events_per_sec_milli
                .store((eps * 1000.0) as u64, Ordering::Relaxed);
            if self.blocks > 0 {
                tracing::info!(
                    block = METRICS.indexed_block.load(Ordering::Relaxed),
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
