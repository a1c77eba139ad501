//! `laurel dev`: the whole stack on one machine, from a checkout. It starts anvil (the npm-installed binary;
//! chain state kept in `.laurel/dev/anvil-state.json`), finds or starts Postgres (`DATABASE_URL` if it answers,
//! else `scripts/pg`), deploys the contracts with `scripts/deploy`, defines a demo program (three credential
//! types, two of them a pathway, and an alumni membership tier), then runs the service until Ctrl-C, which
//! stops anvil cleanly (saving its state). Run again, it reuses all of that; `--fresh` starts over.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context, Result};
use tokio::process::{Child, Command};

use super::Ctx;
use crate::chain::bindings::{CredentialRegistry, MembershipRegistry};
use crate::config::{Layer, Settings};
use crate::domain::{TierId, TypeFlags, TypeId, TypeRoles};
use crate::governance::{Change, Sender};

/// anvil's first dev account: a publicly known key that only ever holds test ether on a local chain.
pub const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// Options of `laurel dev`.
#[derive(Debug, Clone)]
pub struct DevArgs {
    /// The checkout (where scripts/ and node_modules/ live).
    pub root: PathBuf,
    /// anvil's port.
    pub anvil_port: u16,
    /// Seconds between blocks (0 = a block per transaction).
    pub block_time: u64,
    /// Throw away the chain, the deployment and the dev database first.
    pub fresh: bool,
    /// Where the chain state, logs and env file live [default: .laurel/dev, with the deployment record in
    /// deployments/31337.json]; when set, the deployment record goes there too.
    pub state_dir: Option<PathBuf>,
    /// Name of the dev database.
    pub database: String,
    /// Settings from flags, environment and laurel.toml (the RPC URL and deployment are set by dev).
    pub layer: Layer,
}

async fn output(root: &Path, cmd: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let mut c = Command::new(root.join(cmd));
    c.args(args)
        .current_dir(root)
        .env_clear()
        .envs(crate::config::child_env());
    // scripts/pg looks for the server DATABASE_URL names first: the one thing it needs beyond the basics.
    if let Ok(db) = std::env::var("DATABASE_URL") {
        c.env("DATABASE_URL", db);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().await.with_context(|| format!("running {cmd}"))?;
    if !out.status.success() {
        bail!(
            "{cmd} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

async fn anvil_path(root: &Path) -> Result<PathBuf> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(". scripts/lib.sh && foundry_bin anvil")
        .env("LAUREL_ROOT", root)
        .current_dir(root)
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "anvil is not installed ({}); run scripts/setup",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
async fn port_busy(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

async fn start_anvil(root: &Path, state: &Path, port: u16, block_time: u64) -> Result<Child> {
    if port_busy(port).await {
        bail!("port {port} is taken (another anvil or laurel dev?); stop it or pass --anvil-port");
    }
    let log = std::fs::File::create(state.with_file_name("anvil.log"))?;
    let mut cmd = Command::new(anvil_path(root).await?);
    cmd.env_clear()
        .envs(crate::config::child_env())
        .args(["--port", &port.to_string(), "--state"])
        .arg(state)
        .args(["--chain-id", "31337"])
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .kill_on_drop(true);
    if block_time > 0 {
        cmd.args(["--block-time", &block_time.to_string()]);
    }
    let child = cmd.spawn().context("starting anvil")?;
    let url = format!("http://127.0.0.1:{port}");
    let provider = ProviderBuilder::new().connect_http(url.parse()?);
    for _ in 0..100 {
        if provider.get_chain_id().await.is_ok() {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "anvil did not answer on {url}; see {}",
        state.with_file_name("anvil.log").display()
    )
}

/// Stops anvil with SIGINT so it writes its state, waiting up to 10 s.
async fn stop_anvil(mut child: Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
        if tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}

/// The dev database URL: `laurel_dev` on the server DATABASE_URL names (if it answers) or scripts/pg finds,
/// and whether this run started scripts/pg's scratch cluster (then it is stopped on exit).
async fn dev_database(
    root: &Path,
    admin_hint: Option<&str>,
    name: &str,
    fresh: bool,
) -> Result<(String, bool)> {
    let pid_file = root.join(".laurel/pg/data/postmaster.pid");
    let was_running = pid_file.exists();
    let admin = match admin_hint {
        Some(u) if crate::store::Store::connect(u).await.is_ok() => u.to_string(),
        _ => output(root, "scripts/pg", &[], &[]).await?,
    };
    let started_pg = !was_running && pid_file.exists();
    let store = crate::store::Store::connect(&admin).await?;
    if fresh {
        store.drop_database(name).await?;
    }
    let base = admin.split('?').next().unwrap_or(&admin);
    let server = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |j| j + 2) => &base[..i],
        _ => base,
    };
    if store
        .databases_with_prefix(name)
        .await?
        .iter()
        .any(|d| d == name)
    {
        return Ok((format!("{server}/{name}"), started_pg));
    }
    Ok((store.create_database(&admin, name).await?, started_pg))
}

/// Defines whatever part of the demo program is missing (so an interrupted first run completes next time).
async fn demo_program(app: &Ctx, signer: PrivateKeySigner) -> Result<()> {
    let creds =
        CredentialRegistry::new(app.node.deployment.credential_registry, &app.node.provider);
    let members =
        MembershipRegistry::new(app.node.deployment.membership_registry, &app.node.provider);
    let type_count = creds.typeCount().call().await?.to::<u64>();
    let tier_count = members.tierCount().call().await?.to::<u64>();
    let me = signer.address();
    let s = Sender::new(&app.node, &app.store, signer);
    let d = &app.node.deployment;
    let year = 365 * 24 * 3600u64;
    // Renewable needs a validity; the workshop never expires, so it is not renewable nor re-issued.
    let workshop = TypeFlags::REVOCABLE | TypeFlags::SUSPENDABLE | TypeFlags::RENOUNCEABLE;
    let course = workshop | TypeFlags::RENEWABLE | TypeFlags::REISSUE_AFTER_EXPIRY;
    let types = [
        ("Rust Fundamentals", year, course.bits(), vec![]),
        (
            "Async Rust in Production",
            year,
            course.bits(),
            vec![U256::from(1)],
        ),
        (
            "Workshop: Testing with Real Parts",
            0,
            workshop.bits(),
            vec![],
        ),
    ];
    for (i, (name, validity, flags, prerequisites)) in types.into_iter().enumerate() {
        if (i as u64) < type_count {
            continue;
        }
        let policy = CredentialRegistry::TypePolicy {
            prerequisites,
            ..CredentialRegistry::TypePolicy::plain(name, validity, flags)
        };
        s.apply(&Change::define_type(d, policy)).await?;
    }
    for t in (1..=3).filter_map(TypeId::new) {
        s.apply(&Change::type_roles(d, t, me, TypeRoles::all().bits(), true))
            .await?;
    }
    let tier = MembershipRegistry::TierPolicy {
        name: "Alumni".into(),
        uri: String::new(),
        duration: year,
        holderRenewable: true,
        transferable: false,
        maxMembers: 0,
        eligibility: vec![U256::from(1)],
    };
    if tier_count == 0 {
        s.apply(&Change::define_tier(d, tier)).await?;
    }
    let alumni = TierId::new(1).expect("tiers are numbered from 1");
    s.apply(&Change::tier_manager(d, alumni, me, true)).await?;
    Ok(())
}

/// The local stack `laurel dev` runs: a Postgres database and an anvil node (saving its chain on stop),
/// with the deployment record the contracts are (or will be) deployed under.
pub struct Stack {
    root: PathBuf,
    dir: PathBuf,
    deployment: PathBuf,
    reused: bool,
    anvil: Child,
    started_pg: bool,
    rpc: String,
    database_url: String,
    layer: Layer,
}

/// The anvil dev key `laurel dev` deploys and issues with (anvil's public first account; never use it
/// elsewhere).
pub fn dev_signer() -> PrivateKeySigner {
    DEV_KEY.parse().expect("the dev key parses")
}

/// Starts the local stack: checks the checkout, finds or starts Postgres (a new chain gets a new mirror)
/// and starts anvil on its saved chain, if any.
pub async fn start(args: &DevArgs) -> Result<Stack> {
    let root = args.root.canonicalize().context("the checkout directory")?;
    if !root.join("scripts/lib.sh").exists() {
        bail!(
            "`laurel dev` runs from a Laurel checkout (scripts/ and node_modules/); {} is not one",
            root.display()
        );
    }
    let (dir, deployment) = match &args.state_dir {
        Some(d) => (d.clone(), d.join("31337.json")),
        None => (
            root.join(".laurel/dev"),
            root.join("deployments/31337.json"),
        ),
    };
    if args.fresh {
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(&deployment);
    }
    std::fs::create_dir_all(&dir)?;
    let state = dir.join("anvil-state.json");
    let reused = state.exists() && deployment.exists();

    // A new chain gets a new mirror: a database that mirrored another chain (same deterministic addresses,
    // other history) would answer for the wrong one.
    eprintln!("dev: Postgres…");
    let db_hint = args
        .layer
        .database_url
        .clone()
        .or_else(|| std::env::var("DATABASE_URL").ok());
    let (database_url, started_pg) = dev_database(
        &root,
        db_hint.as_deref(),
        &args.database,
        args.fresh || !reused,
    )
    .await?;

    eprintln!("dev: anvil on port {}…", args.anvil_port);
    let anvil = start_anvil(&root, &state, args.anvil_port, args.block_time).await?;
    Ok(Stack {
        root,
        dir,
        deployment,
        reused,
        anvil,
        started_pg,
        rpc: format!("http://127.0.0.1:{}", args.anvil_port),
        database_url,
        layer: args.layer.clone(),
    })
}

impl Stack {
    /// Deploys the contracts unless the saved chain holds them, and returns the stack's settings.
    pub async fn deploy(&self) -> Result<Settings> {
        let rpc = &self.rpc;
        let provider = ProviderBuilder::new().connect_http(rpc.parse()?);
        let deployed = match crate::chain::Deployment::load(&self.deployment) {
            Ok(d) => !provider
                .get_code_at(d.credential_registry)
                .await?
                .is_empty(),
            Err(_) => false,
        };
        if !deployed {
            if self.reused {
                bail!(
                    "the saved chain does not hold the deployment in {}; run `scripts/dev --fresh`",
                    self.deployment.display()
                );
            }
            eprintln!("dev: deploying the contracts…");
            output(
                &self.root,
                "scripts/deploy",
                &["--out", &self.deployment.display().to_string()],
                &[("LAUREL_DEPLOYER_KEY", DEV_KEY), ("LAUREL_RPC_URL", rpc)],
            )
            .await?;
        }
        let layer = Layer {
            chain: Some("anvil".into()),
            rpc_url: Some(rpc.clone()),
            database_url: Some(self.database_url.clone()),
            deployment: Some(self.deployment.clone()),
            issuer_keystore: Some(self.issuer_keystore()?),
            ..Layer::default()
        };
        Ok(Settings::resolve(layer.over(self.layer.clone()))?)
    }

    /// The dev issuer keystore (`<state dir>/issuer-keys.json`), made on first use: the issuer is the
    /// `did:key` of its Ed25519 key, the same across runs.
    fn issuer_keystore(&self) -> Result<PathBuf> {
        let path = self.dir.join("issuer-keys.json");
        if !path.exists() {
            eprintln!("dev: making the issuer keys…");
            let now = crate::credentials::dates::unix_now();
            crate::credentials::keys::keystore::Keystore::generate(now)?.write(&path)?;
        }
        Ok(path)
    }

    /// Defines the demo program where it is missing, writes the env file and returns the banner to print
    /// once the HTTP port is bound (`{listen}` stands for its address).
    pub async fn program(&self, app: &Ctx, signer: PrivateKeySigner) -> Result<String> {
        let (rpc, database_url) = (&self.rpc, &self.database_url);
        demo_program(app, signer).await?;
        let env_file = self.dir.join("env");
        std::fs::write(
            &env_file,
            format!(
                "# Written by laurel dev: the local stack's settings (anvil's public dev key; never use it elsewhere).\n\
                 export LAUREL_CHAIN=anvil\nexport LAUREL_RPC_URL={rpc}\nexport DATABASE_URL={database_url}\n\
                 export LAUREL_DEPLOYMENT={}\nexport LAUREL_PRIVATE_KEY={DEV_KEY}\n\
                 # For plain `cast call`s: the registries, and the npm-installed Foundry tools on PATH.\n\
                 export CREDENTIAL_REGISTRY={}\nexport MEMBERSHIP_REGISTRY={}\n\
                 export PATH=\"{}:$PATH\"\n",
                self.deployment.display(),
                app.node.deployment.credential_registry,
                app.node.deployment.membership_registry,
                self.root.join("node_modules/.bin").display()
            ),
        )?;
        Ok(banner(self, app, &env_file))
    }

    /// Stops anvil (saving the chain) and any scratch Postgres cluster the stack started.
    pub async fn stop(self) {
        eprintln!("dev: stopping anvil (saving the chain)…");
        stop_anvil(self.anvil).await;
        if self.started_pg {
            eprintln!("dev: stopping the scratch Postgres cluster it started…");
            if let Err(e) = output(&self.root, "scripts/pg", &["stop"], &[]).await {
                eprintln!("dev: {e}");
            }
        }
    }
}

fn banner(stack: &Stack, app: &Ctx, env_file: &std::path::Path) -> String {
    let d = &app.node.deployment;
    format!(
        "\nLaurel dev stack {}\n\
         \n  chain       anvil, chain id 31337, {}\
         \n  database    {}\
         \n  HTTP        http://{{listen}}  (the verify page at /verify, the API reference at /docs)\
         \n  credentials {}\
         \n  memberships {}\
         \n  governance  {}\
         \n  program     types 1 Rust Fundamentals, 2 Async Rust in Production (needs 1), 3 Workshop; tier 1 Alumni (needs type 1)\
         \n\nIn another terminal:\
         \n  source {}\
         \n  cargo run -q -- issue --type 1 --holder 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\
         \n  cargo run -q -- verify 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\
         \n  cargo run -q -- revoke --type 1 --holder 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --reason 1\
         \n  cargo run -q -- status\
         \n\nCtrl-C stops everything (the chain is saved; `scripts/dev --fresh` starts over).",
        if stack.reused { "(reused)" } else { "(new)" },
        stack.rpc,
        crate::config::redact_password(&stack.database_url),
        d.credential_registry,
        d.membership_registry,
        d.access_manager,
        env_file.display(),
    )
}
