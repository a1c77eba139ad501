//! The `laurel` command line: the clap tree every command is parsed from, the settings its flags resolve
//! to, and the signing key they point at. Only parsing: what a command does is in its own module.

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;
use clap::{Args, Parser, Subcommand};

use crate::config::{ConfigError, Layer, Settings};
use crate::domain::{TierId, TypeId};

/// Verifiable micro-credentials and memberships on an Ethereum L2.
///
/// Configuration comes from flags, then the environment (LAUREL_CHAIN, LAUREL_RPC_URL, LAUREL_DATABASE_URL or
/// DATABASE_URL, LAUREL_DEPLOYMENT, LAUREL_LISTEN, LAUREL_CONFIRMATIONS, LAUREL_KEYSTORE), then laurel.toml,
/// then defaults (a local anvil).
#[derive(Parser, Debug)]
#[command(name = "laurel", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings shared by every command; each overrides the environment and the config file.
#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// Config file [default: ./laurel.toml when it exists].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Chain profile: anvil, base, optimism, arbitrum, or their -sepolia test networks.
    #[arg(long, global = true, value_name = "NAME")]
    pub chain: Option<String>,
    /// JSON-RPC endpoint of the chain.
    #[arg(long, global = true, value_name = "URL")]
    pub rpc_url: Option<String>,
    /// Postgres URL of the mirror (prefer the environment when it holds a password).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Deployment record [default: deployments/<chainId>.json].
    #[arg(long, global = true, value_name = "FILE")]
    pub deployment: Option<PathBuf>,
    /// HTTP listen address [default: 127.0.0.1:8787].
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Blocks after which a block is final when the node serves no finality tags.
    #[arg(long, global = true, value_name = "BLOCKS")]
    pub confirmations: Option<u64>,
    /// Encrypted keystore file with the service's signing key (its password comes from a prompt or the
    /// environment, never from flags).
    #[arg(long, global = true, value_name = "FILE")]
    pub keystore: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
        /// Holder address, 0x-prefixed (mixed case must carry a valid EIP-55 checksum).
        holder: String,
        /// Only this credential type.
        #[arg(long = "type", value_name = "ID")]
        type_id: Option<TypeId>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Governance: credential types and pathways, tiers, roles, pauses, and time-locked operations
    /// (a change is scheduled automatically when the signer's role has an execution delay).
    #[command(subcommand)]
    Gov(super::gov::GovCmd),
    /// Administration of the service itself: API keys of the admin HTTP API.
    #[command(subcommand)]
    Admin(super::admin::AdminCmd),
    /// Awards to learners by email, claimed with a link: create (from a CSV), list, resend, extend, withdraw.
    #[command(subcommand)]
    Awards(super::awards::AwardsCmd),
    /// The issuer keys that sign Open Badges credentials: init, rotate, compromise, list.
    #[command(subcommand)]
    Keys(super::keys::KeysCmd),
    /// Chain head, indexed head, final head, queue depth, pending transactions, cost per credential.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Which credential: a type and a holder.
#[derive(Args, Debug)]
pub struct CredentialRef {
    /// Credential type id.
    #[arg(long = "type", value_name = "ID")]
    pub type_id: TypeId,
    /// Holder address, 0x-prefixed (mixed case must carry a valid EIP-55 checksum).
    #[arg(long, value_name = "ADDRESS")]
    pub holder: String,
}

/// A credential and a reason code.
#[derive(Args, Debug)]
pub struct StatusCmd {
    #[command(flatten)]
    pub credential: CredentialRef,
    /// Reason code (0-255; your program's meaning, e.g. 1 = misconduct, 2 = issued in error).
    #[arg(long, default_value_t = 0)]
    pub reason: u8,
}

/// `laurel membership …`.
#[derive(Subcommand, Debug)]
pub enum MembershipCmd {
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
pub struct MemberRef {
    /// Membership tier id, from 1 (`laurel gov tier list` shows them).
    #[arg(long, value_name = "ID")]
    pub tier: TierId,
    /// Holder address, 0x-prefixed (mixed case must carry a valid EIP-55 checksum).
    #[arg(long, value_name = "ADDRESS")]
    pub holder: String,
}

/// Flags of `laurel issue`.
#[derive(Args, Debug)]
pub struct IssueCmd {
    /// Credential type id (for CSV: the type of lines without a `type` column).
    #[arg(long = "type", value_name = "ID")]
    pub type_id: Option<TypeId>,
    /// Holder address of a single credential.
    #[arg(long, value_name = "ADDRESS")]
    pub holder: Option<String>,
    /// Expiry: unix seconds or YYYY-MM-DD [default: the type's default validity].
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    /// Evidence: a 0x-prefixed 32-byte hash, or a file whose keccak-256 is recorded.
    #[arg(long, value_name = "FILE|HASH")]
    pub evidence: Option<String>,
    /// CSV file of many issuances.
    #[arg(long, value_name = "FILE", conflicts_with = "holder")]
    pub csv: Option<PathBuf>,
    /// Idempotency key of a single issuance [default: derived from type, holder, expiry and evidence].
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Only queue the requests (a running `laurel serve` issues them); do not wait.
    #[arg(long)]
    pub no_wait: bool,
    /// Seconds to wait for confirmations.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub timeout: u64,
    /// Seconds without progress after which the command gives up, saying why, when the pipeline cannot
    /// progress (the node does not answer, or the mirror stands still behind the chain).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub give_up_after: u64,
}

impl GlobalArgs {
    /// The effective settings: these flags, then the environment, then the config file, then defaults.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let g = self;
        let (path, required) = match &g.config {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from("laurel.toml"), false),
        };
        for warning in argv_secrets(g) {
            eprintln!("warning: {warning}");
        }
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
            ..Layer::default()
        };
        Settings::resolve(flags.over(env.over(file)))
    }
}

/// Warnings for secrets given on the command line, where every user of the machine can read them (`ps`,
/// `/proc/<pid>/cmdline`, shell history): an RPC URL carrying credentials, a path or a query (where
/// providers put their API key), and a database URL with a password.
pub fn argv_secrets(g: &GlobalArgs) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(url) = &g.rpc_url {
        if crate::config::redact_url(url) != *url && url.contains("://") {
            out.push(format!(
                "--rpc-url {} carries what looks like an API key, and the command line is visible to every user of this machine; set LAUREL_RPC_URL (or rpc_url in laurel.toml) instead",
                crate::config::redact_url(url)
            ));
        }
    }
    if let Some(url) = &g.database_url {
        if crate::config::redact_password(url) != *url {
            out.push(format!(
                "--database-url {} carries a password, and the command line is visible to every user of this machine; set DATABASE_URL instead",
                crate::config::redact_password(url)
            ));
        }
    }
    out
}

/// The service's signing key: the keystore the settings name (its password from the environment or, on a
/// terminal, a prompt) or `LAUREL_PRIVATE_KEY`.
pub fn signer(s: &Settings) -> Result<PrivateKeySigner, crate::chain::signer::SignerError> {
    crate::chain::signer::load_signer(
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
