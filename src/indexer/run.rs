//! The indexer's loops: the long-running one of `laurel serve` (only the holder of the deployment's writer
//! lock indexes; other processes stand by and take over when it goes away), and the catch-up a command runs
//! before it reads the mirror.

use std::time::Duration;

use alloy::providers::Provider;
use tokio::sync::watch;

use super::decode::Contracts;
use super::follow::{FollowConfig, FollowError, Follower, Step};
use crate::chain::Node;
use crate::config::Settings;
use crate::store::Store;

/// A follower of `node`'s deployment writing to `store`, with the settings' confirmation depth and tags.
pub fn follower(node: &Node, store: &Store, settings: &Settings) -> Follower {
    Follower::new(
        node.provider.clone(),
        store.clone(),
        Contracts::of(&node.deployment),
        node.chain_id(),
        node.deployment.deploy_block,
        FollowConfig {
            confirmations: settings.confirmations,
            finality_tags: settings.chain.finality_tags,
            ..FollowConfig::default()
        },
    )
}

/// Brings the mirror up to the chain head before a command reads it: indexes here when no other process
/// holds the writer lock, else waits for that writer, for at most `timeout`; then refuses with
/// [`FollowError::Behind`] rather than let a command read a stale mirror.
pub async fn sync_mirror(
    node: &Node,
    store: &Store,
    settings: &Settings,
    timeout: Duration,
) -> Result<(), FollowError> {
    let started = std::time::Instant::now();
    let chain_id = node.chain_id();
    loop {
        let head = node
            .provider
            .get_block_number()
            .await
            .map_err(|e| FollowError::Rpc(crate::config::redact_urls(&e.to_string())))?;
        let indexed = store.cursor(chain_id).await?.and_then(|c| c.indexed_block);
        if indexed.is_some_and(|b| b >= head) {
            return Ok(());
        }
        if let Some(lock) = store.try_writer_lock(chain_id).await? {
            let res = follower(node, store, settings).catch_up(10_000).await;
            lock.release().await?;
            res?;
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(FollowError::Behind {
                indexed: indexed.unwrap_or(0),
                head,
                secs: timeout.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs the indexer until `shutdown` turns true. Only the holder of the deployment's writer lock indexes;
/// other processes wait as standbys and take over when the writer goes away.
pub async fn run(
    node: Node,
    store: Store,
    settings: Settings,
    mut shutdown: watch::Receiver<bool>,
) {
    let poll = settings.idle_poll();
    let chain_id = node.chain_id();
    let lock = loop {
        match store.try_writer_lock(chain_id).await {
            Ok(Some(lock)) => break lock,
            Ok(None) => tracing::debug!("another process indexes chain {chain_id}; standing by"),
            Err(e) => tracing::warn!(error = %e, "cannot take the indexer lock"),
        }
        if sleep_or_shutdown(&mut shutdown, Duration::from_secs(2)).await {
            return;
        }
    };
    tracing::info!(chain_id, "indexer started");
    let mut follower = follower(&node, &store, &settings);
    let mut progress = super::progress::Progress::new();
    loop {
        let wait = match follower.step().await {
            Ok(Step::UpToDate) => poll,
            Ok(s) => {
                progress.record(&s);
                Duration::ZERO
            }
            Err(e) => {
                super::progress::record_error(&e);
                tracing::warn!(error = %e, "indexer step failed; retrying");
                Duration::from_secs(2)
            }
        };
        if sleep_or_shutdown(&mut shutdown, wait).await {
            break;
        }
    }
    if let Err(e) = lock.release().await {
        tracing::warn!(error = %e, "releasing the indexer lock");
    }
}

/// Sleeps for `d`; true when shutdown was requested meanwhile.
pub async fn sleep_or_shutdown(shutdown: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *shutdown.borrow(),
        r = shutdown.changed() => r.is_err() || *shutdown.borrow(),
    }
}
