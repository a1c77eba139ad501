//! The `laurel` command-line entry point: parses flags, loads configuration, runs a command.

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use clap::{Args, Parser, Subcommand};
use laurel::cli::issue::IssueArgs;
use laurel::cli::ops::{CredentialOp, MembershipOp};
use laurel::cli::shutdown_on_signals;
use laurel::config::{ChainProfile, Layer, Settings, CHAINS};
use laurel::issuance::request::parse_address;
use laurel::startup::App;

/// Verifiable micro-credentials and memberships on an Ethereum L2.
///
/// Configuration comes from flags, then the environment (LAUREL_CHAIN, LAUREL_RPC_URL, LAUREL_DATABASE_URL or
/// DATABASE_URL, LAUREL_DEPLOYMENT, LAUREL_LISTEN, LAUREL_CONFIRMATIONS, LAUREL_KEYSTORE), then laurel.toml,
/// then defaults (a local anvil).
#[derive(Parser, Debug)]
#[command(name = "laurel", version)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Settings shared by every command; each overrides the environment and the config file.
#[derive(Args, Debug)]
struct GlobalArgs {
    /// Config file [default: ./laurel.toml when it exists].
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Chain profile: anvil, base, optimism, arbitrum, or their -sepolia test networks.
    #[arg(long, global = true, value_name = "NAME")]
    chain: Option<String>,
    /// JSON-RPC endpoint of the chain.
    #[arg(long, global = true, value_name = "URL")]
    rpc_url: Option<String>,
    /// Postgres URL of the mirror (prefer the environment when it holds a password).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Deployment record [default: deployments/<chainId>.json].
    #[arg(long, global = true, value_name = "FILE")]
    deployment: Option<PathBuf>,
    /// HTTP listen address [default: 127.0.0.1:8787].
    #[arg(long, global = true, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Blocks after which a block is final when the node serves no finality tags.
    #[arg(long, global = true, value_name = "BLOCKS")]
    confirmations: Option<u64>,
    /// Encrypted keystore file with the service's signing key (its password comes from a prompt or the
    /// environment, never from flags).
    #[arg(long, global = true, value_name = "FILE")]
    keystore: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the effective configuration after flags, environment, laurel.toml and defaults (passwords redacted).
    Config,
    /// List the chain profiles: chain id, confirmation depth, finality tags, OP-stack L1 fee.
    Chains,
    /// Print the address of the service's signing key (from --keystore or LAUREL_PRIVATE_KEY), to fund it
    /// and grant it roles.
    Address,
    /// Run the service: indexer, issuance worker (when a signing key is configured) and HTTP, until Ctrl-C.
    Serve,
    /// Issue one credential (--type --holder) or many (--csv FILE); waits until each is confirmed or failed.
    ///
    /// CSV columns (header line required): holder, type (or pass --type), expires (unix seconds or
    /// YYYY-MM-DD; empty = the type's default), evidence (0x hash, or a file relative to the CSV), key (an
    /// explicit idempotency key). Bad lines are reported by number and the rest still go through; running the
    /// same CSV again issues nothing twice.
    Issue(IssueCmd),
    /// Revoke a credential (its token is burned) with a reason code.
    Revoke(StatusCmd),
    /// Suspend a credential (it stops being valid until reinstated) with a reason code.
    Suspend(StatusCmd),
    /// Reinstate a suspended credential.
    Reinstate(CredentialRef),
    /// Renew a credential to a new expiry.
    Renew {
        #[command(flatten)]
        credential: CredentialRef,
        /// New expiry: unix seconds or YYYY-MM-DD.
        #[arg(long, value_name = "WHEN")]
        until: String,
    },
    /// Move every credential of a lost wallet to a new one (governed: scheduled when RECOVERY has a delay).
    Recover {
        /// The lost address.
        #[arg(long, value_name = "ADDRESS")]
        from: String,
        /// The new address.
        #[arg(long, value_name = "ADDRESS")]
        to: String,
    },
    /// Memberships: grant, renew, cancel.
    #[command(subcommand)]
    Membership(MembershipCmd),
    /// Deploy the contracts to --rpc-url and write deployments/<chainId>.json (runs scripts/deploy from the
    /// checkout; the deployer key comes from LAUREL_DEPLOYER_KEY or LAUREL_PRIVATE_KEY, never argv).
    Deploy {
        /// Where to write the deployment record [default: deployments/<chainId>.json].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Run the whole stack locally: anvil, Postgres, the contracts, a demo program and the service.
    Dev {
        /// anvil's port.
        #[arg(long, default_value_t = 8545)]
        anvil_port: u16,
        /// Seconds between blocks [default: 0, a block per transaction].
        #[arg(long, default_value_t = 0)]
        block_time: u64,
        /// Start over: a new chain, deployment and dev database.
        #[arg(long)]
        fresh: bool,
        /// Keep the chain, logs, env file and deployment record here [default: .laurel/dev, and
        /// deployments/31337.json].
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Name of the dev database.
        #[arg(long, default_value = "laurel_dev", value_name = "NAME")]
        database: String,
    },
    /// A holder's credentials as the chain and the mirror see them, the block each reflects, and the one-line
    /// `cast call` that checks it without trusting Laurel.
    Verify {
        /// Holder address.
        holder: String,
        /// Only this credential type.
        #[arg(long = "type", value_name = "ID")]
        type_id: Option<u64>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Governance: credential types and pathways, tiers, roles, pauses, and time-locked operations
    /// (a change is scheduled automatically when the signer's role has an execution delay).
    #[command(subcommand)]
    Gov(laurel::cli::gov::GovCmd),
    /// Administration of the service itself: API keys of the admin HTTP API.
    #[command(subcommand)]
    Admin(laurel::cli::admin::AdminCmd),
    /// Chain head, indexed head, final head, queue depth, pending transactions, cost per credential.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Which credential: a type and a holder.
#[derive(Args, Debug)]
struct CredentialRef {
    /// Credential type id.
    #[arg(long = "type", value_name = "ID")]
    type_id: u64,
    /// Holder address.
    #[arg(long, value_name = "ADDRESS")]
    holder: String,
}

/// A credential and a reason code.
#[derive(Args, Debug)]
struct StatusCmd {
    #[command(flatten)]
    credential: CredentialRef,
    /// Reason code (0-255; your program's meaning, e.g. 1 = misconduct, 2 = issued in error).
    #[arg(long, default_value_t = 0)]
    reason: u8,
}

/// `laurel membership …`.
#[derive(Subcommand, Debug)]
enum MembershipCmd {
    /// Grant a membership of a tier.
    Grant(MemberRef),
    /// Renew a membership by a number of days.
    Renew {
        #[command(flatten)]
        member: MemberRef,
        /// Days to extend by.
        #[arg(long, default_value_t = 365)]
        days: u64,
    },
    /// Cancel a membership.
    Cancel(MemberRef),
}

/// Which membership: a tier and a holder.
#[derive(Args, Debug)]
struct MemberRef {
    /// Tier id.
    #[arg(long, value_name = "ID")]
    tier: u64,
    /// Holder address.
    #[arg(long, value_name = "ADDRESS")]
    holder: String,
}

/// Flags of `laurel issue`.
#[derive(Args, Debug)]
struct IssueCmd {
    /// Credential type id (for CSV: the type of lines without a `type` column).
    #[arg(long = "type", value_name = "ID")]
    type_id: Option<u64>,
    /// Holder address of a single credential.
    #[arg(long, value_name = "ADDRESS")]
    holder: Option<String>,
    /// Expiry: unix seconds or YYYY-MM-DD [default: the type's default validity].
    #[arg(long, value_name = "WHEN")]
    expires: Option<String>,
    /// Evidence: a 0x-prefixed 32-byte hash, or a file whose keccak-256 is recorded.
    #[arg(long, value_name = "FILE|HASH")]
    evidence: Option<String>,
    /// CSV file of many issuances.
    #[arg(long, value_name = "FILE", conflicts_with = "holder")]
    csv: Option<PathBuf>,
    /// Idempotency key of a single issuance [default: derived from type, holder, expiry and evidence].
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// Only queue the requests (a running `laurel serve` issues them); do not wait.
    #[arg(long)]
    no_wait: bool,
    /// Seconds to wait for confirmations.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    timeout: u64,
}

fn settings(g: &GlobalArgs) -> anyhow::Result<Settings> {
    let (path, required) = match &g.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("laurel.toml"), false),
    };
    let file = Layer::from_file(&path, required)?;
    let env = Layer::from_env(|k| std::env::var(k).ok())?;
    let flags = Layer {
        chain: g.chain.clone(),
        rpc_url: g.rpc_url.clone(),
        database_url: g.database_url.clone(),
        deployment: g.deployment.clone(),
        listen: g.listen.clone(),
        confirmations: g.confirmations,
        keystore: g.keystore.clone(),
        issuer_name: None,
    };
    Ok(Settings::resolve(flags.over(env.over(file)))?)
}

fn signer(s: &Settings) -> Result<PrivateKeySigner, laurel::chain::signer::SignerError> {
    laurel::chain::signer::load_signer(
        s.keystore.as_deref(),
        |k| std::env::var(k).ok(),
        |path| {
            use std::io::IsTerminal;
            if !std::io::stdin().is_terminal() {
                return None;
            }
            rpassword::prompt_password(format!("password for {}: ", path.display())).ok()
        },
    )
}

async fn credential_op(g: &GlobalArgs, c: CredentialRef, op: CredentialOp) -> anyhow::Result<()> {
    init_tracing("warn");
    let s = settings(g)?;
    let key = signer(&s)?;
    let app = App::build(s).await?;
    let holder = parse_address(&c.holder)?;
    println!(
        "{}",
        laurel::cli::ops::credential_op(&app, key, c.type_id, holder, op).await?
    );
    Ok(())
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAUREL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default},sqlx=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve => {
            init_tracing("info");
            let s = settings(&cli.global)?;
            let key = match signer(&s) {
                Ok(k) => Some(k),
                Err(laurel::chain::signer::SignerError::Missing) => None,
                Err(e) => return Err(e.into()),
            };
            let app = Arc::new(App::build(s).await?);
            laurel::cli::serve::run(app, key, shutdown_on_signals(), |_| {}).await?;
        }
        Command::Issue(a) => {
            init_tracing("warn");
            let s = settings(&cli.global)?;
            let key = signer(&s)?;
            let app = Arc::new(App::build(s).await?);
            let args = IssueArgs {
                type_id: a.type_id,
                holder: a.holder,
                expires: a.expires,
                evidence: a.evidence,
                csv: a.csv,
                key: a.key,
                wait: !a.no_wait,
                timeout: Duration::from_secs(a.timeout),
            };
            let waited = args.wait;
            let summary = laurel::cli::issue::run(app, key, args, shutdown_on_signals()).await?;
            if !summary.all_ok(waited) {
                return Ok(ExitCode::from(2));
            }
        }
        Command::Revoke(StatusCmd { credential, reason }) => {
            credential_op(&cli.global, credential, CredentialOp::Revoke(reason)).await?;
        }
        Command::Suspend(StatusCmd { credential, reason }) => {
            credential_op(&cli.global, credential, CredentialOp::Suspend(reason)).await?;
        }
        Command::Reinstate(credential) => {
            credential_op(&cli.global, credential, CredentialOp::Reinstate).await?;
        }
        Command::Renew { credential, until } => {
            let until = laurel::issuance::request::parse_expiry(&until)?;
            credential_op(&cli.global, credential, CredentialOp::Renew(until)).await?;
        }
        Command::Recover { from, to } => {
            init_tracing("warn");
            let s = settings(&cli.global)?;
            let key = signer(&s)?;
            let app = App::build(s).await?;
            let from = parse_address(&from)?;
            let to = parse_address(&to)?;
            println!("{}", laurel::cli::ops::recover(&app, key, from, to).await?);
        }
        Command::Membership(m) => {
            init_tracing("warn");
            let s = settings(&cli.global)?;
            let key = signer(&s)?;
            let app = App::build(s).await?;
            let (r, op) = match m {
                MembershipCmd::Grant(r) => (r, MembershipOp::Grant),
                MembershipCmd::Renew { member, days } => {
                    (member, MembershipOp::Renew(days * 86_400))
                }
                MembershipCmd::Cancel(r) => (r, MembershipOp::Cancel),
            };
            let holder = parse_address(&r.holder)?;
            println!(
                "{}",
                laurel::cli::ops::membership_op(&app, key, r.tier, holder, op).await?
            );
        }
        Command::Deploy { out } => {
            let s = settings(&cli.global)?;
            let key = std::env::var("LAUREL_DEPLOYER_KEY")
                .or_else(|_| std::env::var("LAUREL_PRIVATE_KEY"))
                .map_err(|_| {
                    anyhow::anyhow!(
                        "set LAUREL_DEPLOYER_KEY (or LAUREL_PRIVATE_KEY) to the deployer's key"
                    )
                })?;
            let root = std::env::var("LAUREL_ROOT")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from("."));
            let script = root.join("scripts/deploy");
            if !script.exists() {
                anyhow::bail!("`laurel deploy` runs scripts/deploy from a Laurel checkout; run it there or set LAUREL_ROOT");
            }
            let mut cmd = std::process::Command::new(script);
            cmd.args(["--rpc-url", &s.rpc_url])
                .env("LAUREL_DEPLOYER_KEY", key);
            if let Some(out) = out {
                cmd.arg("--out").arg(out);
            }
            let status = cmd.status()?;
            if !status.success() {
                anyhow::bail!("the deployment failed (see above); nothing was written");
            }
        }
        Command::Dev {
            anvil_port,
            block_time,
            fresh,
            state_dir,
            database,
        } => {
            init_tracing("info");
            let g = &cli.global;
            let flags = Layer {
                database_url: g.database_url.clone(),
                listen: g.listen.clone(),
                confirmations: g.confirmations,
                ..Layer::default()
            };
            let env = Layer::from_env(|k| std::env::var(k).ok())?;
            let root = std::env::var("LAUREL_ROOT")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from("."));
            laurel::cli::dev::run(laurel::cli::dev::DevArgs {
                root,
                anvil_port,
                block_time,
                fresh,
                state_dir,
                database,
                layer: flags.over(env),
            })
            .await?;
        }
        Command::Verify {
            holder,
            type_id,
            json,
        } => {
            init_tracing("warn");
            let app = App::build(settings(&cli.global)?).await?;
            let holder = parse_address(&holder)?;
            // The report names the block the mirror reflects, so a lagging mirror is shown, not hidden.
            match laurel::startup::sync_mirror(&app, Duration::from_secs(5)).await {
                Err(e @ laurel::indexer::follow::FollowError::Behind { .. }) => {
                    eprintln!("warning: {e}")
                }
                other => other?,
            }
            let r = laurel::cli::verify::report(&app, holder, type_id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                laurel::cli::verify::print(&r);
            }
        }
        Command::Gov(cmd) => {
            init_tracing("warn");
            let s = settings(&cli.global)?;
            let key = match signer(&s) {
                Ok(k) => Some(k),
                Err(laurel::chain::signer::SignerError::Missing) => None,
                Err(e) => return Err(e.into()),
            };
            let app = App::build(s).await?;
            laurel::startup::sync_mirror(&app, Duration::from_secs(5)).await?;
            laurel::cli::gov::run(&app, key, cmd).await?;
        }
        Command::Admin(cmd) => {
            init_tracing("warn");
            let s = settings(&cli.global)?;
            let url = s
                .database_url
                .clone()
                .ok_or_else(|| anyhow::anyhow!("no database: set DATABASE_URL"))?;
            let store = laurel::store::Store::connect(&url).await?;
            store.migrate().await?;
            laurel::cli::admin::run(&store, cmd).await?;
        }
        Command::Status { json } => {
            init_tracing("warn");
            let app = App::build(settings(&cli.global)?).await?;
            let st = laurel::cli::status::gather(&app).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                laurel::cli::status::print(&st);
            }
        }
        Command::Config => {
            let s = settings(&cli.global)?;
            print!("{}", s.to_display_toml());
        }
        Command::Address => {
            println!("{}", signer(&settings(&cli.global)?)?.address());
        }
        Command::Chains => {
            println!(
                "{:<18} {:>9} {:>13} {:>14} {:>9}",
                "chain", "chain id", "confirmations", "finality tags", "L1 fee"
            );
            for c in CHAINS {
                let ChainProfile {
                    name,
                    chain_id,
                    confirmation_depth,
                    finality_tags,
                    op_stack,
                    ..
                } = *c;
                let yes_no = |b: bool| if b { "yes" } else { "no" };
                println!(
                    "{name:<18} {chain_id:>9} {confirmation_depth:>13} {:>14} {:>9}",
                    yes_no(finality_tags),
                    yes_no(op_stack)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
