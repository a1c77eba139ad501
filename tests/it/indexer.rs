//! The indexer against a real anvil and a real Postgres: the mirror equals the chain, replays change nothing,
//! and a reorg (anvil_rollback, then different blocks) is unwound and re-indexed.

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
