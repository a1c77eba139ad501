//! Helpers shared by the integration tests: repository paths, the npm-installed Foundry tools, anvil.

use std::path::{Path, PathBuf};
use std::process::Command;

use alloy::node_bindings::{Anvil, AnvilInstance};
use anyhow::{bail, Context, Result};

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
    use alloy::primitives::Address;
    use laurel::chain::deployment::{Delays, RoleHolders, RoleIds};
    let a = Address::repeat_byte(0xaa);
    laurel::chain::Deployment {
        chain_id: 31337,
        deploy_block,
        deployer: a,
        access_manager: Address::repeat_byte(0x01),
        credential_registry: Address::repeat_byte(registry_byte),
        membership_registry: Address::repeat_byte(0x03),
        base_uri: "http://x/".into(),
        membership_base_uri: "http://y/".into(),
        roles: RoleHolders {
            admin: a,
            governor: a,
            pauser: a,
            recovery: a,
            guardian: a,
        },
        role_ids: RoleIds {
            admin: 0,
            governor: 1,
            recovery: 2,
            pauser: 3,
            guardian: 4,
        },
        delays: Delays {
            policy: 0,
            recovery: 0,
            admin: 0,
        },
    }
}
