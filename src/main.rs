//! The `laurel` command-line entry point: parses flags, loads configuration, runs a command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use laurel::config::{ChainProfile, Layer, Settings, CHAINS};

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
    };
    Ok(Settings::resolve(flags.over(env.over(file)))?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Config => {
            let s = settings(&cli.global)?;
            print!("{}", s.to_display_toml());
        }
        Command::Address => {
            let s = settings(&cli.global)?;
            let signer = laurel::chain::signer::load_signer(
                s.keystore.as_deref(),
                |k| std::env::var(k).ok(),
                |path| {
                    use std::io::IsTerminal;
                    if !std::io::stdin().is_terminal() {
                        return None;
                    }
                    rpassword::prompt_password(format!("password for {}: ", path.display())).ok()
                },
            )?;
            println!("{}", signer.address());
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
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
