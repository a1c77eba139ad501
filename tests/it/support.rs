//! Helpers shared by the integration tests: repository paths, the npm-installed Foundry tools, anvil, scratch
//! databases, and the [`Harness`] (a deployed chain, a database and the `laurel` binary's environment) with
//! the [`Serve`] processes it starts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, FixedBytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use anyhow::{bail, Context, Result};
use laurel::chain::bindings::CredentialRegistry;
use laurel::store::Store;

/// The repository root (where Cargo.toml lives).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Path of a Foundry tool (`forge`, `anvil`, `cast`) from the npm packages, resolved by `scripts/lib.sh`.
pub fn foundry_bin(tool: &str) -> Result<PathBuf> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(". scripts/lib.sh && foundry_bin {tool}"))
        .env("LAUREL_ROOT", root())
        .current_dir(root())
        .output()
        .context("running bash to locate the Foundry tools")?;
    if !out.status.success() {
        bail!(
            "{tool} is not installed: {} (run scripts/setup)",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

/// A fresh anvil node from the npm package, on a free port.
pub fn anvil() -> Result<AnvilInstance> {
    Anvil::at(foundry_bin("anvil")?)
        .try_spawn()
        .context("starting anvil")
}

/// The admin URL of a Postgres server: `DATABASE_URL`, else whatever `scripts/pg` finds or starts.
pub fn admin_database_url() -> Result<String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return Ok(url);
    }
    let out = Command::new(root().join("scripts/pg"))
        .current_dir(root())
        .output()
        .context("running scripts/pg")?;
    if !out.status.success() {
        bail!(
            "no Postgres: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// A fresh, empty database for one test, dropped by [`ScratchDb::drop_now`]. Databases left behind by test
/// processes that died are swept when the next one is created.
pub struct ScratchDb {
    /// URL of the scratch database.
    pub url: String,
    name: String,
    admin: laurel::store::Store,
}

impl ScratchDb {
    /// Creates `laurel_it_<pid>_<n>` on the admin server.
    pub async fn new() -> Result<Self> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let admin_url = admin_database_url()?;
        let admin = laurel::store::Store::connect(&admin_url).await?;
        for stale in admin.databases_with_prefix("laurel_it_").await? {
            let pid = stale.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| {
                p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists()
            }) {
                admin.drop_database(&stale).await?;
            }
        }
        let name = format!(
            "laurel_it_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let url = admin.create_database(&admin_url, &name).await?;
        Ok(Self { url, name, admin })
    }

    /// Drops the database (call at the end of the test).
    pub async fn drop_now(self) -> Result<()> {
        self.admin.drop_database(&self.name).await?;
        Ok(())
    }
}

/// Runs `scripts/deploy` against `rpc` with the deployer key in the environment, writing the record to `out`.
pub fn run_deploy(rpc: &str, key_hex: &str, out: &Path) -> Result<std::process::Output> {
    Command::new(root().join("scripts/deploy"))
        .args(["--rpc-url", rpc, "--out"])
        .arg(out)
        .env("LAUREL_DEPLOYER_KEY", key_hex)
        .current_dir(root())
        .output()
        .context("running scripts/deploy")
}

/// A fresh anvil with Laurel deployed by `scripts/deploy` (deployer = anvil's first account, every role).
pub fn deployed_stack() -> Result<(
    AnvilInstance,
    laurel::chain::Deployment,
    alloy::signers::local::PrivateKeySigner,
)> {
    let node = anvil()?;
    let out = tempdir()?.join("31337.json");
    let key = node.keys()[0].clone();
    let key_hex = format!("0x{}", alloy::hex::encode(key.to_bytes()));
    let res = run_deploy(node.endpoint().as_str(), &key_hex, &out)?;
    if !res.status.success() {
        bail!("deploy failed: {}", String::from_utf8_lossy(&res.stderr));
    }
    let d = laurel::chain::Deployment::load_for_chain(&out, 31337)?;
    Ok((node, d, alloy::signers::local::PrivateKeySigner::from(key)))
}

/// A new empty temporary directory.
pub fn tempdir() -> Result<PathBuf> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "laurel-it-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Waits for a transaction's receipt by polling `eth_getTransactionReceipt` (alloy's pending-transaction
/// watcher can miss blocks, e.g. after an anvil rollback), failing after 30 s or if it reverted.
pub async fn confirm<P: alloy::providers::Provider>(
    provider: &P,
    tx: alloy::primitives::B256,
) -> Result<alloy::rpc::types::TransactionReceipt> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(r) = provider.get_transaction_receipt(tx).await? {
            if !r.status() {
                bail!("transaction {tx} reverted");
            }
            return Ok(r);
        }
        if std::time::Instant::now() > deadline {
            bail!("no receipt for {tx} after 30 s");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Defines a revocable credential type (as the deployer, GOVERNOR on a dev chain) with `default_validity`
/// seconds (0 = never expires), grants `account` the per-type `roles`, and returns the type id.
pub async fn define_type<P: alloy::providers::Provider>(
    reg: &laurel::chain::bindings::CredentialRegistry::CredentialRegistryInstance<P>,
    name: &str,
    default_validity: u64,
    account: alloy::primitives::Address,
    roles: u8,
) -> Result<alloy::primitives::U256> {
    let policy =
        laurel::chain::bindings::CredentialRegistry::TypePolicy::plain(name, default_validity, 2);
    reg.defineType(policy).send().await?.get_receipt().await?;
    let type_id = reg.typeCount().call().await?;
    reg.setTypeRoles(type_id, account, roles)
        .send()
        .await?
        .get_receipt()
        .await?;
    Ok(type_id)
}

/// A deployment record of made-up addresses on chain 31337 (for store tests that need no contracts):
/// every role held by 0xaa…, the CredentialRegistry at `registry_byte` repeated.
pub fn fake_deployment(deploy_block: u64, registry_byte: u8) -> laurel::chain::Deployment {
    let contracts = laurel::chain::deployment::Contracts {
        access_manager: Address::repeat_byte(0x01),
        credential_registry: Address::repeat_byte(registry_byte),
        membership_registry: Address::repeat_byte(0x03),
    };
    let a = Address::repeat_byte(0xaa);
    laurel::chain::Deployment {
        membership_base_uri: "http://y/".into(),
        ..laurel::chain::Deployment::single_admin(31337, deploy_block, a, contracts, "http://x/")
    }
}

/// The issuer keystore of this test process (one RSA key generation for every harness), as JSON.
pub(crate) fn issuer_keys() -> Result<String> {
    static KEYS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(k) = KEYS.get() {
        return Ok(k.clone());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let made = laurel::credentials::keys::keystore::Keystore::generate(now)?.to_json()?;
    Ok(KEYS.get_or_init(|| made).clone())
}

/// A deployed anvil, a scratch database, one credential type whose issuer is the deployer, and the
/// environment the `laurel` binary needs to use them.
pub(crate) struct Harness {
    pub(crate) node: alloy::node_bindings::AnvilInstance,
    pub(crate) dir: PathBuf,
    deployment: PathBuf,
    pub(crate) db: ScratchDb,
    pub(crate) key_hex: String,
    pub(crate) type_id: u64,
    pub(crate) registry: Address,
    pub(crate) store: Store,
}

impl Harness {
    pub(crate) async fn new() -> Result<Self> {
        let (node, d, signer) = deployed_stack()?;
        let wallet = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer.clone()))
            .connect_http(node.endpoint_url());
        let reg = CredentialRegistry::new(d.credential_registry, &wallet);
        let type_id = define_type(&reg, "Rust Fundamentals", 0, signer.address(), 3).await?;
        let dir = tempdir()?;
        let deployment = dir.join("31337.json");
        std::fs::write(&deployment, serde_json::to_vec_pretty(&d)?)?;
        let db = ScratchDb::new().await?;
        let store = Store::connect(&db.url).await?;
        std::fs::write(dir.join("issuer-keys.json"), issuer_keys()?)?;
        Ok(Self {
            key_hex: format!("0x{}", alloy::hex::encode(signer.to_bytes())),
            node,
            dir,
            deployment,
            db,
            type_id: type_id.to::<u64>(),
            registry: d.credential_registry,
            store,
        })
    }

    /// Defines a credential type with a lifetime quota of `limit` issuances per issuer; returns its id.
    pub(crate) async fn define_quota_type(&self, limit: u32) -> Result<u64> {
        let signer: alloy::signers::local::PrivateKeySigner = self.key_hex.parse()?;
        let wallet = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer.clone()))
            .connect_http(self.node.endpoint_url());
        let reg = CredentialRegistry::new(self.registry, &wallet);
        let policy = CredentialRegistry::TypePolicy {
            quotaLimit: limit,
            ..CredentialRegistry::TypePolicy::plain("Quota", 0, 2)
        };
        reg.defineType(policy).send().await?.get_receipt().await?;
        let id = reg.typeCount().call().await?;
        reg.setTypeRoles(id, signer.address(), 1)
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(id.to::<u64>())
    }

    pub(crate) fn laurel(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_laurel"));
        for (k, _) in std::env::vars() {
            if k.starts_with("LAUREL_") || k == "DATABASE_URL" {
                cmd.env_remove(k);
            }
        }
        cmd.args(args)
            .current_dir(&self.dir)
            .env("LAUREL_CHAIN", "anvil")
            .env("LAUREL_RPC_URL", self.node.endpoint())
            .env("DATABASE_URL", &self.db.url)
            .env("LAUREL_DEPLOYMENT", &self.deployment)
            .env("LAUREL_PRIVATE_KEY", &self.key_hex)
            .env("LAUREL_ISSUER_KEYSTORE", self.issuer_keystore())
            .env("LAUREL_LOG", "info,sqlx=warn");
        cmd
    }

    /// The harness's issuer keystore (a copy of the test process's, free to rotate).
    pub(crate) fn issuer_keystore(&self) -> PathBuf {
        self.dir.join("issuer-keys.json")
    }

    /// A new admin API key named `name` with `scopes` (comma-separated), made by `laurel admin key create`.
    pub(crate) fn api_key(&self, name: &str, scopes: &str) -> Result<String> {
        let out = self
            .laurel(&["admin", "key", "create", "--name", name, "--scopes", scopes])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?.trim().to_string())
    }

    /// Issues a credential of `type_id` to `who` with `laurel issue` (waiting for it); its output.
    pub(crate) fn issue(&self, type_id: u64, who: Address) -> Result<String> {
        let (code, out) = self.run(&[
            "issue",
            "--type",
            &type_id.to_string(),
            "--holder",
            &format!("{who:#x}"),
        ])?;
        anyhow::ensure!(code == 0, "issue failed: {out}");
        Ok(out)
    }

    pub(crate) fn run(&self, args: &[&str]) -> Result<(i32, String)> {
        let out = self.laurel(args).output()?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((out.status.code().unwrap_or(-1), text))
    }

    pub(crate) fn serve(&self, port: u16, extra_env: &[(&str, &str)]) -> Result<Serve> {
        let mut cmd = self.laurel(&["serve", "--listen", &format!("127.0.0.1:{port}")]);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        // Each process logs to its own file in the test directory (kept for a failing test's post-mortem).
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = self
            .dir
            .join(format!("serve-{}.log", NEXT.fetch_add(1, Ordering::SeqCst)));
        let log = std::fs::File::create(&path)?;
        Ok(Serve(cmd.stdout(Stdio::null()).stderr(log).spawn()?, path))
    }

    /// Number of credentials minted on chain (Transfer events from the zero address).
    pub(crate) async fn mints(&self) -> Result<u64> {
        let provider = ProviderBuilder::new().connect_http(self.node.endpoint_url());
        let filter = Filter::new()
            .address(self.registry)
            .event_signature(CredentialRegistry::Transfer::SIGNATURE_HASH)
            .topic1(FixedBytes::<32>::ZERO)
            .from_block(0);
        Ok(provider.get_logs(&filter).await?.len() as u64)
    }

    /// Whether `holder` holds a valid credential of the harness's type, asked of the chain.
    pub(crate) async fn valid_on_chain(&self, holder: Address) -> Result<bool> {
        let provider = ProviderBuilder::new().connect_http(self.node.endpoint_url());
        let reg = CredentialRegistry::new(self.registry, &provider);
        Ok(reg.isValid(holder, U256::from(self.type_id)).call().await?)
    }

    /// States of every request, by holder, once all are settled (or the deadline passes).
    pub(crate) async fn wait_settled(
        &self,
        expected: usize,
        secs: u64,
    ) -> Result<Vec<(Address, String)>> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let rows = self.store.request_states(31337).await?;
            let settled = rows
                .iter()
                .filter(|(_, s)| s == "confirmed" || s == "failed")
                .count();
            if rows.len() >= expected && settled == rows.len() {
                return Ok(rows);
            }
            if Instant::now() > deadline {
                bail!("requests not settled after {secs} s: {rows:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until a live batch other than those in `seen` has its transaction broadcast and not yet mined
    /// (in the pool, when mining is off); its id and nonce.
    pub(crate) async fn batch_in_pool(&self, seen: &[i64]) -> Result<(i64, u64)> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let q = self.store.queue_stats(31337).await?;
            let open = self.store.batch_nonces(31337).await?;
            if let Some((id, nonce, _)) = open.iter().find(|(id, ..)| !seen.contains(id)) {
                if q.pending_txs > 0 && q.unsent_txs == 0 {
                    return Ok((*id, *nonce));
                }
            }
            if Instant::now() > deadline {
                bail!("no new batch was broadcast within 60 s: {q:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Queues credentials of the harness's type for `holder(i)`, i in `range`, with `laurel issue --csv
    /// --no-wait` (a running `serve` issues them).
    pub(crate) fn queue_holders(
        &self,
        csv: &str,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<()> {
        let lines: Vec<String> = range.map(|i| format!("{:#x},", holder(i))).collect();
        let path = self.write_csv(csv, &lines)?;
        let (code, out) = self.run(&[
            "issue",
            "--type",
            &self.type_id.to_string(),
            "--csv",
            &path.display().to_string(),
            "--no-wait",
        ])?;
        anyhow::ensure!(code == 0, "queueing {csv} failed: {out}");
        Ok(())
    }

    pub(crate) fn write_csv(&self, name: &str, lines: &[String]) -> Result<PathBuf> {
        let path = self.dir.join(name);
        std::fs::write(&path, format!("holder,expires\n{}\n", lines.join("\n")))?;
        Ok(path)
    }
}

/// `text` without terminal colour codes (`ESC [ … m`), which the log may carry.
pub(crate) fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn holder(i: u32) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0xab;
    b[16..].copy_from_slice(&i.to_be_bytes());
    Address::from(b)
}

/// A `laurel serve` child process, killed when dropped (so a failing test leaves no process behind), and the
/// file it logs to.
pub(crate) struct Serve(Child, PathBuf);

impl Serve {
    /// The address its HTTP server bound (read from its "HTTP listening" log line), waiting up to `timeout`.
    pub(crate) fn listening_addr(&mut self, timeout: Duration) -> Result<std::net::SocketAddr> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = strip_ansi(&std::fs::read_to_string(&self.1)?);
            if let Some(addr) = log
                .lines()
                .filter(|l| l.contains("HTTP listening"))
                .find_map(|l| l.split("addr=").nth(1))
            {
                let addr = addr.split_whitespace().next().unwrap_or_default();
                return Ok(addr.parse()?);
            }
            if let Some(status) = self.0.try_wait()? {
                bail!("serve exited ({status}) before listening: {log}");
            }
            if Instant::now() > deadline {
                bail!("serve did not listen within {timeout:?}: {log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits up to `timeout` for a log line containing `needle`.
    pub(crate) fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while !strip_ansi(&std::fs::read_to_string(&self.1)?).contains(needle) {
            if Instant::now() > deadline {
                bail!("serve did not log {needle:?} within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Whether the process is still running.
    pub(crate) fn alive(&mut self) -> Result<bool> {
        Ok(self.0.try_wait()?.is_none())
    }

    /// Batches this process recorded and broadcast (its "batch recorded" log lines).
    pub(crate) fn batches_sent(&self) -> Result<usize> {
        Ok(std::fs::read_to_string(&self.1)?
            .lines()
            .filter(|l| l.contains("batch recorded; broadcasting"))
            .count())
    }

    /// Sends SIGTERM (what a process manager sends to stop the service).
    pub(crate) fn terminate(&self) -> Result<()> {
        self.signal("TERM")
    }

    /// Sends the signal `name` (`TERM`, `STOP`, `KILL`, …).
    pub(crate) fn signal(&self, name: &str) -> Result<()> {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.0.id().to_string()])
            .status()?
            .success();
        anyhow::ensure!(ok, "kill -{name} failed");
        Ok(())
    }

    /// Whether the process logged a line containing `needle`.
    pub(crate) fn logged(&self, needle: &str) -> Result<bool> {
        Ok(strip_ansi(&std::fs::read_to_string(&self.1)?).contains(needle))
    }

    /// Waits up to `timeout` for the process to exit; its status, or None if it is still running.
    pub(crate) fn wait_for_exit(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<Option<std::process::ExitStatus>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.0.try_wait()? {
                return Ok(Some(status));
            }
            if std::time::Instant::now() > deadline {
                return Ok(None);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}
