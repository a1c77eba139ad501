//! End-to-end benchmarks of the service against a real anvil and a real Postgres (run by `scripts/bench
//! issue|index`; release build).
//!
//! - `issue [N]` (default 10,000): N requests queued, batched, mined (anvil with 2-second blocks, like the
//!   OP-stack chains) and confirmed by the indexer, timed from the enqueue to the last confirmation. In the
//!   same run: the chain's ceiling (block gas limit ÷ gas per credential ÷ block time, with the gas measured
//!   from this run's receipts) and the naive rate (one `issue` transaction per credential, each awaited, as a
//!   plain script would). Writes `target/bench/issue.json`.
//! - `index [EVENTS]` (default 100,000): fills an anvil with batch issuances (each 1,000-holder batch logs
//!   2,001 events), then backfills a fresh mirror from the deploy block and times it. Writes
//!   `target/bench/index.json`.
//! - `rss`: the resident memory of an idle `laurel serve` (release build) with a caught-up mirror. Writes
//!   `target/bench/serve.json`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context, Result};
use laurel::chain::bindings::CredentialRegistry;
use laurel::chain::tx::encode;
use laurel::config::{Layer, Settings};
use laurel::governance::Sender;
use laurel::issuance::submit::{submit, Mode, Submission};
use laurel::startup::App;
use laurel::store::issuance::NewRequest;
use laurel::store::Store;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sh(cmd: &str) -> Result<String> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .env("LAUREL_ROOT", root())
        .current_dir(root())
        .output()?;
    if !out.status.success() {
        bail!("{cmd}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

fn anvil(block_time: Option<u64>) -> Result<AnvilInstance> {
    let path = sh(". scripts/lib.sh && foundry_bin anvil")?;
    let mut a = Anvil::at(path);
    if let Some(t) = block_time {
        a = a.block_time(t);
    }
    Ok(a.try_spawn()?)
}

/// Deploys with scripts/deploy, defines one plain type (issuer: the deployer), and connects an App to a
/// fresh database.
async fn stack(node: &AnvilInstance, db_name: &str) -> Result<(Arc<App>, PrivateKeySigner, u64)> {
    let key = node.keys()[0].clone();
    let key_hex = format!("0x{}", alloy::hex::encode(key.to_bytes()));
    let dir = std::env::temp_dir().join(format!("laurel-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let out = dir.join(format!("{db_name}.json"));
    let status = Command::new(root().join("scripts/deploy"))
        .args(["--rpc-url", node.endpoint().as_str(), "--out"])
        .arg(&out)
        .env("LAUREL_DEPLOYER_KEY", &key_hex)
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        bail!("scripts/deploy failed");
    }
    let admin = match std::env::var("DATABASE_URL") {
        Ok(u) => u,
        Err(_) => sh("scripts/pg")?,
    };
    let admin_store = Store::connect(&admin).await?;
    admin_store.drop_database(db_name).await?;
    let url = admin_store.create_database(&admin, db_name).await?;
    let settings = Settings::resolve(Layer {
        chain: Some("anvil".into()),
        rpc_url: Some(node.endpoint()),
        database_url: Some(url),
        deployment: Some(out),
        ..Layer::default()
    })?;
    let app = Arc::new(App::build(settings).await?);
    let signer = PrivateKeySigner::from(key);
    let sender = Sender::new(&app.node, &app.store, signer.clone());
    let policy = CredentialRegistry::TypePolicy::plain("Bench", 0, 2);
    let reg = app.node.deployment.credential_registry;
    for input in [
        encode(CredentialRegistry::defineTypeCall { policy }),
        encode(CredentialRegistry::setTypeRolesCall {
            typeId: U256::from(1),
            account: signer.address(),
            roles: 3,
        }),
    ] {
        sender.send(reg, input).await?;
    }
    Ok((app, signer, 1))
}

fn holder(i: u64) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0xbe;
    b[12..].copy_from_slice(&i.to_be_bytes());
    Address::from(b)
}

fn write_json(name: &str, v: &serde_json::Value) -> Result<PathBuf> {
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(v)? + "\n")?;
    Ok(path)
}

async fn bench_issue(n: u64) -> Result<()> {
    let block_time = 2u64;
    let node = anvil(Some(block_time))?;
    let (app, signer, type_id) = stack(&node, "laurel_bench_issue").await?;
    let chain_id = app.chain_id();

    // Naive: one transaction per credential, each awaited.
    let naive_n = 5u64;
    let sender = Sender::new(&app.node, &app.store, signer.clone());
    let started = Instant::now();
    for i in 0..naive_n {
        sender
            .send(
                app.node.deployment.credential_registry,
                encode(CredentialRegistry::issueCall {
                    typeId: U256::from(type_id),
                    holder: holder(1_000_000 + i),
                    expiresAt: 0,
                    evidenceHash: B256::ZERO,
                }),
            )
            .await?;
    }
    let naive = naive_n as f64 / started.elapsed().as_secs_f64();

    // Laurel: submit (pre-check, claims, queue), batch, mine, index, confirm. The mirror is brought up to
    // the chain first (the pre-check reads the type from it), outside the timed part.
    laurel::indexer::run::sync_mirror(
        &app.node,
        &app.store,
        &app.settings,
        Duration::from_secs(60),
    )
    .await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let requests: Vec<NewRequest> = (0..n)
        .map(|i| NewRequest {
            idempotency_key: format!("bench-{i}"),
            type_id: laurel::domain::TypeId::new(type_id).expect("the bench's type id"),
            holder: holder(i),
            expires_at: 0,
            evidence: B256::repeat_byte(7),
            document: None,
            source: "bench".into(),
            derived: false,
        })
        .collect();
    let program = laurel::credentials::ob3::Program::load(
        &app.store,
        chain_id,
        app.node.deployment.credential_registry,
        &app.settings.issuer_name,
    )
    .await?;
    let submission = Submission {
        actor: "bench".into(),
        requests,
        mode: Mode::AllOrNothing,
        detail: serde_json::json!({}),
    };
    let submitted = submit(
        &app.node,
        &app.store,
        &program,
        signer.address(),
        submission,
    )
    .await?;
    if !submitted.written || submitted.queued() as u64 != n {
        bail!(
            "the bench's requests were not all queued: {:?}",
            submitted.outcomes.first()
        );
    }
    let worker = Arc::new(app.worker(signer.clone()));
    let handles = laurel::cli::spawn_pipeline(&app.cli(), Some(worker), stop_rx);
    loop {
        let q = app.store.queue_stats(chain_id).await?;
        if q.confirmed + q.failed >= n {
            if q.failed > 0 {
                bail!("{} requests failed", q.failed);
            }
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("not confirmed after 600 s: {q:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    let q = app.store.queue_stats(chain_id).await?;
    let gas_per_credential = q.gas_used as f64 / q.mined_credentials as f64;
    let gas_limit = app
        .node
        .provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .context("no latest block")?
        .header
        .gas_limit;
    let ceiling = gas_limit as f64 / gas_per_credential / block_time as f64;
    let rate = n as f64 / elapsed;
    println!("bench issue: {n} credentials end to end in {elapsed:.2} s");
    println!("  credentials/s          {rate:>10.1}");
    println!(
        "  chain ceiling/s        {ceiling:>10.1}  (gas limit {gas_limit} ÷ {gas_per_credential:.0} gas/credential ÷ {block_time} s)"
    );
    println!("  naive/s                {naive:>10.2}  (one awaited transaction per credential)");
    println!(
        "  of ceiling             {:>9.1}%  (target ≥ 80%)",
        100.0 * rate / ceiling
    );
    println!(
        "  × naive                {:>10.1}  (target ≥ 20)",
        rate / naive
    );
    let path = write_json(
        "issue.json",
        &serde_json::json!({
            "credentials": n,
            "seconds": elapsed,
            "credentials_per_second": rate,
            "chain_ceiling_per_second": ceiling,
            "naive_per_second": naive,
            "gas_per_credential": gas_per_credential,
            "block_gas_limit": gas_limit,
            "block_time_seconds": block_time,
            "batches": q.mined_batches,
        }),
    )?;
    println!("  wrote {}", path.display());
    Ok(())
}

async fn bench_index(events: u64) -> Result<()> {
    let node = anvil(None)?;
    let (app, signer, type_id) = stack(&node, "laurel_bench_index").await?;
    let sender = Sender::new(&app.node, &app.store, signer.clone());
    let batches = events.div_ceil(2_001);
    eprintln!("bench index: writing {batches} batches of 1,000 credentials…");
    let fill = Instant::now();
    for b in 0..batches {
        let entries: Vec<U256> = (0..1_000u64)
            .map(|i| U256::from_be_slice(holder(b * 1_000 + i).as_slice()))
            .collect();
        sender
            .send(
                app.node.deployment.credential_registry,
                encode(CredentialRegistry::issueBatchCall {
                    typeId: U256::from(type_id),
                    holdersAndExpiries: entries,
                    evidenceHashes: vec![B256::repeat_byte(9); 1_000],
                }),
            )
            .await?;
    }
    eprintln!("  filled in {:.1} s", fill.elapsed().as_secs_f64());
    let mut follower = app.follower();
    let started = Instant::now();
    let steps = follower.catch_up(100_000).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let stored = app.store.event_count(app.chain_id()).await?;
    let head = app.node.provider.get_block_number().await?;
    let blocks = head - app.node.deployment.deploy_block + 1;
    let rate = stored as f64 / elapsed;
    println!(
        "bench index: backfilled {stored} events in {blocks} blocks in {elapsed:.2} s ({} steps)",
        steps.len()
    );
    println!("  events/s               {rate:>10.0}  (target ≥ 30,000)");
    println!("  blocks/s               {:>10.0}", blocks as f64 / elapsed);
    let path = write_json(
        "index.json",
        &serde_json::json!({
            "events": stored,
            "blocks": blocks,
            "seconds": elapsed,
            "events_per_second": rate,
            "blocks_per_second": blocks as f64 / elapsed,
            "steps": steps.len(),
        }),
    )?;
    println!("  wrote {}", path.display());
    Ok(())
}

/// Resident memory of an idle `laurel serve` (release build) against a deployed anvil with a caught-up
/// mirror: VmRSS after 10 s of idling, and the peak (VmHWM).
async fn bench_rss() -> Result<()> {
    let node = anvil(None)?;
    let (app, signer, _) = stack(&node, "laurel_bench_rss").await?;
    let bin = root().join("target/release/laurel");
    if !bin.exists() {
        bail!("build it first: cargo build --release --bin laurel");
    }
    let dir = std::env::temp_dir().join(format!("laurel-bench-{}", std::process::id()));
    let deployment = dir.join("laurel_bench_rss.json");
    let mut child = Command::new(&bin)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .env("LAUREL_CHAIN", "anvil")
        .env("LAUREL_RPC_URL", node.endpoint())
        .env(
            "DATABASE_URL",
            app.settings.database_url.clone().unwrap_or_default(),
        )
        .env("LAUREL_DEPLOYMENT", &deployment)
        .env(
            "LAUREL_PRIVATE_KEY",
            format!("0x{}", alloy::hex::encode(signer.to_bytes())),
        )
        .env("LAUREL_LOG", "warn")
        .spawn()?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?;
    let _ = child.kill();
    let _ = child.wait();
    let kb = |key: &str| -> Result<u64> {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {key} in /proc status"))
    };
    let (rss, peak) = (kb("VmRSS:")? as f64 / 1024.0, kb("VmHWM:")? as f64 / 1024.0);
    println!("bench rss: laurel serve idle for 10 s");
    println!("  resident MB            {rss:>10.1}  (target ≤ 64)");
    println!("  peak resident MB       {peak:>10.1}");
    let path = write_json(
        "serve.json",
        &serde_json::json!({"idle_rss_mb": rss, "peak_rss_mb": peak}),
    )?;
    println!("  wrote {}", path.display());
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if let Ok(filter) = std::env::var("LAUREL_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
    let rt = tokio::runtime::Runtime::new()?;
    match args.first().map(String::as_str) {
        Some("issue") => rt.block_on(bench_issue(args.get(1).map_or(Ok(10_000), |s| s.parse())?)),
        Some("index") => rt.block_on(bench_index(args.get(1).map_or(Ok(100_000), |s| s.parse())?)),
        Some("rss") => rt.block_on(bench_rss()),
        _ => bail!("usage: cargo bench --bench pipeline -- issue [N] | index [EVENTS] | rss"),
    }
}
