//! The fault campaign: injected reorgs of depth 1–10 (`anvil_reorg`) during a running issuance, the mirror
//! compared with a fresh index of the chain after each; and `laurel serve` killed with SIGKILL again and
//! again during an issuance. Each run counts what was lost (a request not issued, or confirmed without its
//! credential on chain), duplicated (more mints than requests) and where the mirror differs from the chain
//! (a fresh index of it) — all must be 0.
//!
//! The suite runs a small campaign; `scripts/bench faults` runs the full one (50 reorgs, 20 kills, 5,000
//! credentials) through the same tests, sized by `LAUREL_FAULT_REORGS`, `LAUREL_FAULT_KILLS` and
//! `LAUREL_FAULT_CREDENTIALS`, and reads the `FAULTS` line each prints.

use std::time::{Duration, Instant};

use alloy::providers::{Provider, ProviderBuilder};
use anyhow::{bail, Result};
use laurel::indexer::decode::Contracts;
use laurel::indexer::follow::{FollowConfig, Follower};
use laurel::store::Store;
use serde_json::Value;

use super::support::{Harness, ScratchDb};

fn sized(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A fresh index of the harness's chain in a scratch database, up to the head.
async fn fresh_index(h: &Harness) -> Result<(ScratchDb, Store)> {
    let d = laurel::chain::Deployment::load_for_chain(&h.dir.join("31337.json"), 31337)?;
    let db = ScratchDb::new().await?;
    let store = Store::connect(&db.url).await?;
    store.migrate().await?;
    store.register_deployment(&d).await?;
    let provider = ProviderBuilder::new()
        .connect_http(h.node.endpoint_url())
        .erased();
    let config = FollowConfig {
        finality_tags: false,
        ..FollowConfig::default()
    };
    Follower::new(
        provider,
        store.clone(),
        Contracts::of(&d),
        31337,
        d.deploy_block,
        config,
    )
    .catch_up(10_000)
    .await?;
    Ok((db, store))
}

/// (block, log index, name) of `store`'s events up to block `to`.
async fn events(store: &Store, to: u64) -> Result<Vec<(u64, u64, String)>> {
    Ok(store
        .events_between(31337, 0, to)
        .await?
        .into_iter()
        .map(|e| (e.block_number, e.log_index, e.name))
        .collect())
}

/// The credentials of the harness's type (token, holder, status, issue time, expiry) in `store`.
async fn credentials(store: &Store, type_id: u64) -> Result<Vec<String>> {
    let mut rows: Vec<String> = store
        .credentials_of_type(31337, type_id)
        .await?
        .into_iter()
        .map(|c| {
            format!(
                "{} {} {} {} {}",
                c.token_id, c.holder, c.status, c.issued_at, c.expires_at
            )
        })
        .collect();
    rows.sort();
    Ok(rows)
}

/// Waits until the mirror's last indexed block is on the chain and at least `at`; returns it.
async fn mirror_settles(h: &Harness, at: u64) -> Result<u64> {
    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(c) = h.store.cursor(31337).await? {
            if let (Some(b), Some(hash)) = (c.indexed_block, c.indexed_hash) {
                let on_chain = provider
                    .get_block_by_number(b.into())
                    .await?
                    .map(|blk| blk.header.hash);
                if b >= at && on_chain == Some(hash) {
                    return Ok(b);
                }
            }
        }
        if Instant::now() > deadline {
            bail!("the mirror did not settle on the chain at or past block {at}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Lost and duplicated credentials once every one of `n` requests settled: requests not confirmed, or
/// confirmed while the chain says the holder has no valid credential; and mints beyond `n`.
async fn lost_and_duplicated(h: &Harness, n: u32) -> Result<(u64, u64)> {
    let rows = h.store.request_states(31337).await?;
    let mut lost = rows.iter().filter(|(_, s)| s != "confirmed").count() as u64;
    for (who, s) in &rows {
        if s == "confirmed" && !h.valid_on_chain(*who).await? {
            lost += 1;
        }
    }
    lost += u64::from(n).saturating_sub(rows.len() as u64);
    let duplicated = h.mints().await?.saturating_sub(u64::from(n));
    Ok((lost, duplicated))
}

/// Rows where the mirror's credentials differ from a fresh index of the chain.
async fn mirror_differs(h: &Harness) -> Result<u64> {
    let (db, fresh) = fresh_index(h).await?;
    let (mine, theirs) = (
        credentials(&h.store, h.type_id).await?,
        credentials(&fresh, h.type_id).await?,
    );
    let differ = mine.iter().filter(|r| !theirs.contains(r)).count()
        + theirs.iter().filter(|r| !mine.contains(r)).count();
    fresh.pool().close().await;
    db.drop_now().await?;
    Ok(differ as u64)
}

#[tokio::test]
async fn reorgs_during_an_issuance_lose_double_and_misindex_nothing() -> Result<()> {
    let (reorgs, n) = (
        sized("LAUREL_FAULT_REORGS", 6),
        sized("LAUREL_FAULT_CREDENTIALS", 300),
    );
    let h = Harness::new().await?;
    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    h.queue_holders("reorgs.csv", 1..=n)?;
    // Small batches, one per block (anvil mines each transaction): the issuance spans many blocks.
    let env = [
        ("LAUREL_MAX_BATCH", "25"),
        ("LAUREL_MAX_IN_FLIGHT", "2"),
        ("LAUREL_CONFIRMATIONS", "12"),
    ];
    // The blocks of the setup (deployment, type, roles) are not reorged: only those of the issuance.
    let setup = provider.get_block_number().await?;
    let serve = h.serve(0, &env)?;
    let mut differing_windows = 0u64;
    let mut replaced = 0u64;
    for i in 0..reorgs {
        tokio::time::sleep(Duration::from_millis(200 + 97 * u64::from(i % 5))).await;
        let depth = 1 + u64::from(i * 7 % 10);
        let head = provider.get_block_number().await?;
        if head < setup + depth {
            // Too few issuance blocks yet: empty ones make up the depth.
            let missing = setup + depth - head;
            provider
                .raw_request::<_, Value>("anvil_mine".into(), (missing,))
                .await?;
        }
        let head = provider.get_block_number().await?;
        provider
            .raw_request::<_, Value>("anvil_reorg".into(), (depth, Vec::<Value>::new()))
            .await?;
        replaced += depth;
        // After each: the mirror, once it follows the new chain, equals a fresh index of it.
        let b = mirror_settles(&h, head - depth).await?;
        let (db, fresh) = fresh_index(&h).await?;
        if events(&h.store, b).await? != events(&fresh, b).await? {
            differing_windows += 1;
        }
        fresh.pool().close().await;
        db.drop_now().await?;
    }
    h.wait_settled(n as usize, 300).await?;
    let head = provider.get_block_number().await?;
    mirror_settles(&h, head).await?;
    let (lost, duplicated) = lost_and_duplicated(&h, n).await?;
    let differ = mirror_differs(&h).await? + differing_windows;
    eprintln!(
        "FAULTS kind=reorgs reorgs={reorgs} blocks_replaced={replaced} credentials={n} lost={lost} duplicated={duplicated} mirror_differs={differ}"
    );
    assert_eq!((lost, duplicated, differ), (0, 0, 0));
    drop(serve);
    h.db.drop_now().await
}

#[tokio::test]
async fn sigkills_during_an_issuance_lose_double_and_misindex_nothing() -> Result<()> {
    let (kills, n) = (
        sized("LAUREL_FAULT_KILLS", 4),
        sized("LAUREL_FAULT_CREDENTIALS", 300),
    );
    let h = Harness::new().await?;
    h.queue_holders("kills.csv", 1..=n)?;
    let env = [("LAUREL_MAX_BATCH", "25"), ("LAUREL_MAX_IN_FLIGHT", "3")];
    let mut done = 0;
    let mut in_flight = 0;
    while done < kills {
        let q = h.store.queue_stats(31337).await?;
        if q.confirmed + q.failed == u64::from(n) {
            break;
        }
        let mut s = h.serve(0, &env)?;
        // A varying moment of work, then the power is cut.
        tokio::time::sleep(Duration::from_millis(200 + 111 * u64::from(done % 7))).await;
        s.kill();
        done += 1;
        if h.store.queue_stats(31337).await?.pending_txs > 0 {
            in_flight += 1;
        }
    }
    let serve = h.serve(0, &env)?;
    h.wait_settled(n as usize, 300).await?;
    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    mirror_settles(&h, provider.get_block_number().await?).await?;
    let (lost, duplicated) = lost_and_duplicated(&h, n).await?;
    let differ = mirror_differs(&h).await?;
    eprintln!(
        "FAULTS kind=sigkill kills={done} kills_with_batch_in_flight={in_flight} credentials={n} lost={lost} duplicated={duplicated} mirror_differs={differ}"
    );
    assert_eq!((lost, duplicated, differ), (0, 0, 0));
    drop(serve);
    h.db.drop_now().await
}
