//! `laurel status`: chain head, indexed head, final head, the queue, pending transactions and the cost per
//! credential so far.

use alloy::providers::Provider;
use anyhow::Result;
use serde::Serialize;

use super::Ctx;

/// What `laurel status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// EIP-155 chain id of the deployment (startup checked the node serves it).
    pub chain_id: u64,
    /// The node's latest block.
    pub chain_head: u64,
    /// The mirror's last indexed block (None before the first range).
    pub indexed_head: Option<u64>,
    /// Highest block the mirror treats as final.
    pub final_head: u64,
    /// Contract events the mirror stores for this chain (rows of `events`, reorged ones removed).
    pub events: u64,
    /// Issuance requests waiting for a batch (state `queued`).
    pub queued: u64,
    /// Requests in sent batches.
    pub submitted: u64,
    /// Issuance requests the indexer confirmed by their on-chain event.
    pub confirmed: u64,
    /// Issuance requests failed for good (a refusal no retry can fix).
    pub failed: u64,
    /// Signed transactions not yet mined.
    pub pending_transactions: u64,
    /// Credentials carried by mined batches.
    pub mined_credentials: u64,
    /// Average L2 gas per credential.
    pub gas_per_credential: Option<f64>,
    /// Average fee per credential, in ETH (L2 execution + L1 data).
    pub eth_per_credential: Option<f64>,
    /// Why the mirror is being rebuilt from the deploy block (None: it is not).
    pub rebuilding: Option<String>,
}

/// Gathers the status.
pub async fn gather(app: &Ctx) -> Result<Status> {
    let chain_id = app.chain_id();
    let chain_head = app.node.provider.get_block_number().await?;
    let cursor = app.store.cursor(chain_id).await?;
    let q = app.store.queue_stats(chain_id).await?;
    let per = |x: f64| (q.mined_credentials > 0).then(|| x / q.mined_credentials as f64);
    Ok(Status {
        chain_id,
        chain_head,
        indexed_head: cursor.and_then(|c| c.indexed_block),
        final_head: cursor.map_or(0, |c| c.final_block),
        events: app.store.event_count(chain_id).await?,
        queued: q.queued,
        submitted: q.submitted,
        confirmed: q.confirmed,
        failed: q.failed,
        pending_transactions: q.pending_txs,
        mined_credentials: q.mined_credentials,
        gas_per_credential: per(q.gas_used as f64),
        eth_per_credential: per(q.fees_wei / 1e18),
        rebuilding: app
            .store
            .mirror_health(chain_id)
            .await?
            .and_then(|h| h.rebuild_reason),
    })
}

/// Prints the status for a terminal.
pub fn print(s: &Status) {
    let opt = |v: Option<u64>| v.map_or("none yet".to_string(), |v| v.to_string());
    println!("chain {}", s.chain_id);
    println!("  chain head        {}", s.chain_head);
    println!(
        "  indexed head      {} ({} behind)",
        opt(s.indexed_head),
        s.chain_head.saturating_sub(s.indexed_head.unwrap_or(0))
    );
    println!("  final head        {}", s.final_head);
    println!("  events mirrored   {}", s.events);
    if let Some(why) = &s.rebuilding {
        println!("  REBUILDING        from the deploy block, until it reaches the head: {why}");
    }
    println!(
        "queue: {} queued, {} submitted, {} confirmed, {} failed",
        s.queued, s.submitted, s.confirmed, s.failed
    );
    println!("  pending transactions {}", s.pending_transactions);
    match (s.gas_per_credential, s.eth_per_credential) {
        (Some(g), Some(e)) => println!(
            "cost: {} credentials mined, {g:.0} gas and {e:.3e} ETH per credential",
            s.mined_credentials
        ),
        _ => println!("cost: no credentials mined yet"),
    }
}
