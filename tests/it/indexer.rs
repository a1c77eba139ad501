//! The indexer against a real anvil and a real Postgres: the mirror equals the chain, replays change nothing,
//! a reorg (anvil_rollback, then different blocks) is unwound and re-indexed, also when its fork point lies
//! inside the last range, and one deeper than the window (or another chain behind the same addresses)
//! rebuilds the mirror from the deploy block, keeping the service's own state; the range shrinks when
//! a provider (a limiting proxy in front of anvil) refuses it; finality comes from tags or from depth.

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, FixedBytes};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use anyhow::Result;
use laurel::chain::bindings::CredentialRegistry;
use laurel::indexer::decode::{decode, Contracts};
use laurel::indexer::follow::{FollowConfig, Follower, Step};
use laurel::store::Store;

use super::support::{confirm, define_type, deployed_stack, ScratchDb};

/// (block, log index, name) of every log the chain holds for the deployment, decoded.
async fn chain_view(
    provider: &impl Provider,
    contracts: &Contracts,
    from: u64,
) -> Result<Vec<(u64, u64, String)>> {
    let filter = Filter::new()
        .address(contracts.addresses().to_vec())
        .from_block(from);
    let mut v = Vec::new();
    for log in provider.get_logs(&filter).await? {
        let e = decode(contracts, &log)?;
        v.push((e.block_number, e.log_index, e.name));
    }
    Ok(v)
}

async fn mirror_view(store: &Store) -> Result<Vec<(u64, u64, String)>> {
    Ok(store
        .events_between(31337, 0, u64::MAX >> 2)
        .await?
        .into_iter()
        .map(|e| (e.block_number, e.log_index, e.name))
        .collect())
}

#[tokio::test]
async fn the_mirror_equals_the_chain_through_a_reorg() -> Result<()> {
    let (node, d, signer) = deployed_stack()?;
    let me = signer.address();
    let wallet = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer.clone()))
        .connect_http(node.endpoint_url());
    let reader = ProviderBuilder::new()
        .connect_http(node.endpoint_url())
        .erased();
    let reg = CredentialRegistry::new(d.credential_registry, &wallet);

    let db = ScratchDb::new().await?;
    let store = Store::connect(&db.url).await?;
    store.migrate().await?;
    store.register_deployment(&d).await?;
    let contracts = Contracts::of(&d);
    let config = FollowConfig {
        max_range: 4,
        window: 32,
        confirmations: 2,
        finality_tags: true,
    };
    let mut follower = Follower::new(
        reader.clone(),
        store.clone(),
        contracts,
        31337,
        d.deploy_block,
        config,
    );

    let t = define_type(&reg, "Testing", 0, me, 3).await?;
    for b in 1..=3u8 {
        reg.issue(t, Address::repeat_byte(b), 0, FixedBytes::repeat_byte(b))
            .send()
            .await?
            .get_receipt()
            .await?;
    }

    // Backfill in small ranges (max 4 blocks) to the head: the mirror is the chain.
    let steps = follower.catch_up(200).await?;
    assert!(
        steps
            .iter()
            .filter(|s| matches!(s, Step::Indexed { .. }))
            .count()
            >= 2,
        "several ranges: {steps:?}"
    );
    let chain = chain_view(&reader, &contracts, d.deploy_block).await?;
    assert_eq!(mirror_view(&store).await?, chain);
    let before = store.event_count(31337).await?;
    assert_eq!(follower.step().await?, Step::UpToDate);
    assert_eq!(
        store.event_count(31337).await?,
        before,
        "nothing stored twice"
    );

    // Reorg: drop the last two blocks (holders 2 and 3), then mine different ones (holders 7, 8, 9).
    let head = reader.get_block_number().await?;
    let _: serde_json::Value = reader.raw_request("anvil_rollback".into(), (2u64,)).await?;
    assert_eq!(reader.get_block_number().await?, head - 2);
    // alloy's cached nonces do not resync after a rollback (alloy#2385), and its receipt watcher can miss
    // blocks: a new provider reads the nonce afresh, and receipts are polled directly.
    let wallet = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(node.endpoint_url());
    let reg = CredentialRegistry::new(d.credential_registry, &wallet);
    for b in 7..=9u8 {
        let pending = reg
            .issue(t, Address::repeat_byte(b), 0, FixedBytes::repeat_byte(b))
            .send()
            .await?;
        confirm(&wallet, *pending.tx_hash()).await?;
    }
    let steps = follower.catch_up(200).await?;
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::Unwound { to, .. } if *to == head - 2)),
        "unwound to the fork point {}: {steps:?}",
        head - 2
    );
    let chain = chain_view(&reader, &contracts, d.deploy_block).await?;
    assert_eq!(
        mirror_view(&store).await?,
        chain,
        "after the reorg the mirror equals the chain"
    );
    let holders: Vec<String> = store
        .events_between(31337, 0, u64::MAX >> 2)
        .await?
        .into_iter()
        .filter(|e| e.name == "Transfer")
        .map(|e| e.fields["to"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    let gone = format!("{}", Address::repeat_byte(3)).to_lowercase();
    let new = format!("{}", Address::repeat_byte(9)).to_lowercase();
    assert!(
        !holders.contains(&gone),
        "the replaced block's mint is gone: {holders:?}"
    );
    assert!(
        holders.contains(&new),
        "the new chain's mint is there: {holders:?}"
    );

    store.pool().close().await;
    db.drop_now().await
}

/// A JSON-RPC proxy in front of `upstream` that refuses `eth_getLogs` over more than `max_blocks` blocks the
/// way hosted providers do, and counts the refusals. Returns its URL and the counter.
async fn limiting_proxy(
    upstream: String,
    max_blocks: u64,
) -> Result<(String, std::sync::Arc<std::sync::atomic::AtomicU64>)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let refused = Arc::new(AtomicU64::new(0));
    let counter = refused.clone();
    let client = alloy::transports::http::reqwest::Client::new();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |axum::Json(req): axum::Json<serde_json::Value>| {
            let (client, upstream, counter) = (client.clone(), upstream.clone(), counter.clone());
            async move {
                let block = |k: &str| {
                    req["params"][0][k]
                        .as_str()
                        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
                };
                if req["method"] == "eth_getLogs" {
                    if let (Some(from), Some(to)) = (block("fromBlock"), block("toBlock")) {
                        if to + 1 - from > max_blocks {
                            counter.fetch_add(1, Ordering::SeqCst);
                            return axum::Json(serde_json::json!({
                                "jsonrpc": "2.0", "id": req["id"],
                                "error": {"code": -32005,
                                          "message": format!("query exceeds max block range {max_blocks}")}
                            }));
                        }
                    }
                }
                let answer: serde_json::Value = client
                    .post(&upstream)
                    .json(&req)
                    .send()
                    .await
                    .expect("upstream answers")
                    .json()
                    .await
                    .expect("upstream JSON");
                axum::Json(answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, refused))
}

/// A deployed anvil with `n` credentials issued in `n` blocks, a registered scratch store and a follower on
/// `rpc` (the node itself when None).
struct Indexing {
    node: alloy::node_bindings::AnvilInstance,
    d: laurel::chain::Deployment,
    signer: alloy::signers::local::PrivateKeySigner,
    type_id: alloy::primitives::U256,
    db: ScratchDb,
    store: Store,
}

impl Indexing {
    async fn new(n: u8) -> Result<Self> {
        let (node, d, signer) = deployed_stack()?;
        let wallet = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer.clone()))
            .connect_http(node.endpoint_url());
        let reg = CredentialRegistry::new(d.credential_registry, &wallet);
        let type_id = define_type(&reg, "Testing", 0, signer.address(), 3).await?;
        for b in 1..=n {
            reg.issue(
                type_id,
                Address::repeat_byte(b),
                0,
                FixedBytes::repeat_byte(b),
            )
            .send()
            .await?
            .get_receipt()
            .await?;
        }
        let db = ScratchDb::new().await?;
        let store = Store::connect(&db.url).await?;
        store.migrate().await?;
        store.register_deployment(&d).await?;
        Ok(Self {
            node,
            d,
            signer,
            type_id,
            db,
            store,
        })
    }

    fn follower(&self, rpc: &str, config: FollowConfig) -> Result<Follower> {
        let provider = ProviderBuilder::new().connect_http(rpc.parse()?).erased();
        Ok(Follower::new(
            provider,
            self.store.clone(),
            Contracts::of(&self.d),
            31337,
            self.d.deploy_block,
            config,
        ))
    }

    /// A scratch store with `d` registered (for a fresh index to compare with).
    async fn fresh_store(d: &laurel::chain::Deployment) -> Result<(ScratchDb, Store)> {
        let db = ScratchDb::new().await?;
        let store = Store::connect(&db.url).await?;
        store.migrate().await?;
        store.register_deployment(d).await?;
        Ok((db, store))
    }

    fn reader(&self) -> alloy::providers::DynProvider {
        ProviderBuilder::new()
            .connect_http(self.node.endpoint_url())
            .erased()
    }

    /// Rolls back `depth` blocks and mines `n` different ones (new holders from 0x70 on).
    async fn reorg(&self, depth: u64, n: u8) -> Result<()> {
        let reader = self.reader();
        let _: serde_json::Value = reader
            .raw_request("anvil_rollback".into(), (depth,))
            .await?;
        let wallet = ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.signer.clone()))
            .connect_http(self.node.endpoint_url());
        let reg = CredentialRegistry::new(self.d.credential_registry, &wallet);
        for b in 0..n {
            let pending = reg
                .issue(
                    self.type_id,
                    Address::repeat_byte(0x70 + b),
                    0,
                    FixedBytes::repeat_byte(0x70 + b),
                )
                .send()
                .await?;
            confirm(&wallet, *pending.tx_hash()).await?;
        }
        Ok(())
    }

    async fn mirror_equals_chain(&self) -> Result<()> {
        let chain =
            chain_view(&self.reader(), &Contracts::of(&self.d), self.d.deploy_block).await?;
        assert_eq!(
            mirror_view(&self.store).await?,
            chain,
            "the mirror equals the chain"
        );
        Ok(())
    }

    async fn done(self) -> Result<()> {
        self.store.pool().close().await;
        self.db.drop_now().await
    }
}

fn config(max_range: u64, window: u64) -> FollowConfig {
    FollowConfig {
        max_range,
        window,
        confirmations: 2,
        finality_tags: false,
    }
}

#[tokio::test]
async fn the_range_shrinks_when_the_provider_refuses_it_and_the_mirror_still_equals_the_chain(
) -> Result<()> {
    let x = Indexing::new(12).await?;
    let (proxy, refused) = limiting_proxy(x.node.endpoint(), 3).await?;
    let mut follower = x.follower(&proxy, config(64, 32))?;
    let steps = follower.catch_up(500).await?;
    let shrunk: Vec<u64> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Shrunk { range } => Some(*range),
            _ => None,
        })
        .collect();
    // Halved until the provider accepts; after each success the range doubles again, is refused again at 4
    // blocks, and goes back to 2.
    assert_eq!(shrunk[..5], [32, 16, 8, 4, 2], "{steps:?}");
    assert!(shrunk[5..].iter().all(|r| *r == 2), "{steps:?}");
    assert_eq!(
        refused.load(std::sync::atomic::Ordering::SeqCst),
        shrunk.len() as u64,
        "each refusal shrank the range once"
    );
    assert!(
        steps.iter().all(|s| match s {
            Step::Indexed { from, to, .. } => to + 1 - from <= 3,
            _ => true,
        }),
        "no accepted range is over the limit: {steps:?}"
    );
    x.mirror_equals_chain().await?;
    x.done().await
}

#[tokio::test]
async fn a_reorg_whose_fork_point_is_inside_the_last_range_unwinds_to_it() -> Result<()> {
    let x = Indexing::new(8).await?;
    let node = x.node.endpoint();
    // One range covers everything, so the fork point lies inside the last committed range.
    let mut follower = x.follower(&node, config(5_000, 64))?;
    let steps = follower.catch_up(50).await?;
    let ranges: Vec<_> = steps
        .iter()
        .filter(|s| matches!(s, Step::Indexed { .. }))
        .collect();
    assert_eq!(ranges.len(), 1, "{steps:?}");
    let head = x.reader().get_block_number().await?;
    x.reorg(4, 5).await?;
    let steps = follower.catch_up(50).await?;
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::Unwound { to, .. } if *to == head - 4)),
        "unwound to block {}: {steps:?}",
        head - 4
    );
    x.mirror_equals_chain().await?;
    x.done().await
}

/// The credentials of the harness's type as `store` mirrors them (token, holder, status, issue time).
async fn credentials(store: &Store, type_id: u64) -> Result<Vec<(String, Address, u8, u64)>> {
    let mut rows: Vec<_> = store
        .credentials_of_type(31337, type_id)
        .await?
        .into_iter()
        .map(|c| (c.token_id.to_string(), c.holder, c.status, c.issued_at))
        .collect();
    rows.sort();
    Ok(rows)
}

#[tokio::test]
async fn a_reorg_deeper_than_the_window_rebuilds_the_mirror_from_the_deploy_block() -> Result<()> {
    let x = Indexing::new(12).await?;
    let node = x.node.endpoint();
    let mut follower = x.follower(&node, config(4, 4))?;
    follower.catch_up(100).await?;
    x.store
        .create_api_key(
            "kept",
            "lrl_kept",
            alloy::primitives::B256::repeat_byte(1),
            &["read".into()],
        )
        .await?;
    x.reorg(8, 9).await?;
    let step = follower.step().await?;
    let Step::Rebuilt { reason } = step else {
        panic!("a reorg deeper than the window rebuilds the mirror: {step:?}");
    };
    assert!(
        reason.contains("deeper than the stored window (4 blocks)"),
        "{reason}"
    );
    let health = x.store.mirror_health(31337).await?.expect("registered");
    assert_eq!(health.rebuild_reason.as_deref(), Some(reason.as_str()));
    assert_eq!(
        x.store.event_count(31337).await?,
        0,
        "the derived mirror was thrown away"
    );
    assert!(health.behind(1_000).is_some_and(|w| w.contains("rebuilt")));

    follower.catch_up(200).await?;
    x.mirror_equals_chain().await?;
    let health = x.store.mirror_health(31337).await?.expect("registered");
    assert_eq!(
        health.rebuild_reason, None,
        "caught up: the rebuild is over"
    );
    assert_eq!(health.behind(1_000), None);
    // The projections equal a fresh index of the same chain, and the service's own state is kept.
    let fresh = Indexing::fresh_store(&x.d).await?;
    let mut f = Follower::new(
        x.reader(),
        fresh.1.clone(),
        Contracts::of(&x.d),
        31337,
        x.d.deploy_block,
        config(64, 32),
    );
    f.catch_up(100).await?;
    let t = x.type_id.to::<u64>();
    assert_eq!(
        credentials(&x.store, t).await?,
        credentials(&fresh.1, t).await?
    );
    assert_eq!(
        credentials(&x.store, t).await?.len(),
        4 + 9,
        "12 issued, 8 blocks replaced by 9"
    );
    assert_eq!(
        x.store.api_keys().await?.len(),
        1,
        "the service's own state is kept"
    );
    fresh.1.pool().close().await;
    fresh.0.drop_now().await?;
    x.done().await
}

#[tokio::test]
async fn a_mirror_of_another_chain_with_the_same_addresses_is_rebuilt() -> Result<()> {
    // Chain A is mirrored; then the node serves chain B: the same deployer, so the same addresses and
    // deploy block, but other blocks (a dev chain restarted). The mirror notices and rebuilds.
    let a = Indexing::new(3).await?;
    let node = a.node.endpoint();
    a.follower(&node, config(64, 32))?.catch_up(100).await?;
    let b = Indexing::new(5).await?;
    assert_eq!(b.d.credential_registry, a.d.credential_registry);
    assert_eq!(b.d.deploy_block, a.d.deploy_block);
    let on_b = b.node.endpoint();
    let mut follower = a.follower(&on_b, config(64, 32))?;
    let step = follower.step().await?;
    let Step::Rebuilt { reason } = step else {
        panic!("another chain is not taken for this one: {step:?}");
    };
    assert!(
        reason.contains("another chain") && reason.contains("genesis"),
        "{reason}"
    );
    follower.catch_up(100).await?;
    let chain = chain_view(&b.reader(), &Contracts::of(&b.d), b.d.deploy_block).await?;
    assert_eq!(
        mirror_view(&a.store).await?,
        chain,
        "the mirror now holds chain B"
    );
    assert_eq!(credentials(&a.store, 1).await?.len(), 5);
    assert_eq!(
        follower.step().await?,
        Step::UpToDate,
        "B is now the mirror's chain"
    );
    b.done().await?;
    a.done().await
}

#[tokio::test]
async fn finality_comes_from_the_nodes_finalized_tag_or_else_from_the_confirmation_depth(
) -> Result<()> {
    let x = Indexing::new(2).await?;
    let reader = x.reader();
    // A chain long enough for anvil to report a finalized block.
    let _: serde_json::Value = reader.raw_request("anvil_mine".into(), ("0x96",)).await?;
    let head = reader.get_block_number().await?;
    let finalized = reader
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Finalized)
        .await?
        .map(|b| b.header.number)
        .unwrap_or(0);
    assert!(
        finalized > 0 && finalized < head - 2,
        "anvil finalizes behind the head: {finalized} of {head}"
    );
    let node = x.node.endpoint();
    let mut by_depth = x.follower(&node, config(5_000, 32))?;
    by_depth.catch_up(50).await?;
    assert_eq!(
        x.store.cursor(31337).await?.map(|c| c.final_block),
        Some(head - 2),
        "without tags: the head less the confirmation depth"
    );
    // With tags the node's word counts (by depth it would now be head - 1), and the final block never moves
    // back below what was final before.
    let _: serde_json::Value = reader.raw_request("anvil_mine".into(), ("0x1",)).await?;
    let mut by_tag = x.follower(
        &node,
        FollowConfig {
            finality_tags: true,
            ..config(5_000, 32)
        },
    )?;
    by_tag.catch_up(50).await?;
    let finalized = reader
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Finalized)
        .await?
        .map(|b| b.header.number)
        .unwrap_or(0);
    assert_eq!(
        x.store.cursor(31337).await?.map(|c| c.final_block),
        Some(finalized.max(head - 2)),
        "with tags: the node's finalized block (never below what was final before)"
    );
    x.done().await
}
