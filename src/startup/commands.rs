//! What each `laurel` command runs, wired from the parsed command line (`cli::args`): settings and keys
//! are read, the parts connected (`App::build`), and the command's own module called. The binary only
//! parses and calls [`run`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::App;
use crate::cli::admin::AdminCmd;
use crate::cli::args::{
    signer, Cli, Command, CredentialRef, GlobalArgs, IssueCmd, MembershipCmd, StatusCmd,
};
use crate::cli::gov::GovCmd;
use crate::cli::issue::IssueArgs;
use crate::cli::shutdown_on_signals;
use crate::config::{ChainProfile, Layer, CHAINS};
use crate::domain::TypeId;
use crate::governance::{audited, CredentialOp, MembershipOp};
use crate::issuance::request::parse_address;
use crate::telemetry::init_tracing;

/// Runs the parsed command line; the exit code says whether it did what was asked.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve => {
            serve(&cli.global).await?;
        }
        Command::Issue(a) => return issue(&cli.global, a).await,
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
            let until = crate::issuance::request::parse_expiry(&until)?;
            credential_op(&cli.global, credential, CredentialOp::Renew(until)).await?;
        }
        Command::Recover { from, to } => {
            recover(&cli.global, from, to).await?;
        }
        Command::Membership(m) => {
            membership(&cli.global, m).await?;
        }
        Command::Deploy { out } => {
            deploy(&cli.global, out)?;
        }
        Command::Dev {
            anvil_port,
            block_time,
            fresh,
            state_dir,
            database,
        } => {
            dev(
                &cli.global,
                anvil_port,
                block_time,
                fresh,
                state_dir,
                database,
            )
            .await?;
        }
        Command::Verify {
            holder,
            type_id,
            json,
        } => {
            verify(&cli.global, holder, type_id, json).await?;
        }
        Command::Gov(cmd) => {
            gov(&cli.global, cmd).await?;
        }
        Command::Admin(cmd) => {
            admin(&cli.global, cmd).await?;
        }
        Command::Awards(cmd) => return awards(&cli.global, cmd).await,
        Command::Keys(cmd) => {
            let s = cli.global.settings()?;
            let key = signer(&s).ok();
            crate::cli::keys::run(cmd, s.issuer_keystore.as_deref(), key.as_ref())?;
        }
        Command::Status { json } => {
            status(&cli.global, json).await?;
        }
        Command::Config => {
            let s = cli.global.settings()?;
            print!("{}", s.to_display_toml());
        }
        Command::Address => {
            println!("{}", signer(&cli.global.settings()?)?.address());
        }
        Command::Chains => {
            chains();
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `laurel revoke`, `suspend`, `reinstate` and `renew`.
async fn credential_op(g: &GlobalArgs, c: CredentialRef, op: CredentialOp) -> Result<()> {
    init_tracing("warn");
    let s = g.settings()?;
    let key = signer(&s)?;
    let app = App::build(s).await?;
    let holder = parse_address(&c.holder)?;
    let actor = format!("cli:{:#x}", key.address());
    let op = audited::credential(&app.node, &app.store, key, &actor, (c.type_id, holder), op);
    println!("{}", op.await?.finish().await?);
    Ok(())
}

/// `laurel serve`.
async fn serve(g: &GlobalArgs) -> Result<()> {
    init_tracing("info");
    let s = g.settings()?;
    let key = match signer(&s) {
        Ok(k) => Some(k),
        Err(crate::chain::signer::SignerError::Missing) => None,
        Err(e) => return Err(e.into()),
    };
    let app = Arc::new(App::build(s).await?);
    crate::startup::serve(app, key, shutdown_on_signals(), |_| {}).await?;
    Ok(())
}

/// `laurel issue`: exit code 2 when a request failed (or, waiting, did not settle).
async fn issue(g: &GlobalArgs, a: IssueCmd) -> Result<ExitCode> {
    init_tracing("warn");
    let s = g.settings()?;
    let key = signer(&s)?;
    let app = App::build(s).await?;
    let args = IssueArgs {
        type_id: a.type_id,
        holder: a.holder,
        expires: a.expires,
        evidence: a.evidence,
        csv: a.csv,
        key: a.key,
        wait: !a.no_wait,
        timeout: Duration::from_secs(a.timeout),
        give_up_after: Duration::from_secs(a.give_up_after.max(1)),
    };
    let waited = args.wait;
    let summary =
        crate::cli::issue::run(Arc::new(app.cli()), key, args, shutdown_on_signals()).await?;
    if !summary.all_ok(waited) {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// `laurel recover`.
async fn recover(g: &GlobalArgs, from: String, to: String) -> Result<()> {
    init_tracing("warn");
    let s = g.settings()?;
    let key = signer(&s)?;
    let app = App::build(s).await?;
    let from = parse_address(&from)?;
    let to = parse_address(&to)?;
    let actor = format!("cli:{:#x}", key.address());
    let op = audited::recovery(&app.node, &app.store, key, &actor, (from, to));
    println!("{}", op.await?.finish().await?);
    Ok(())
}

/// `laurel membership …`.
async fn membership(g: &GlobalArgs, m: MembershipCmd) -> Result<()> {
    init_tracing("warn");
    let s = g.settings()?;
    let key = signer(&s)?;
    let app = App::build(s).await?;
    let (r, op) = match m {
        MembershipCmd::Grant(r) => (r, MembershipOp::Grant),
        MembershipCmd::Renew { member, days } => (member, MembershipOp::Renew(days * 86_400)),
        MembershipCmd::Cancel(r) => (r, MembershipOp::Cancel),
    };
    let holder = parse_address(&r.holder)?;
    let actor = format!("cli:{:#x}", key.address());
    let op = audited::membership(&app.node, &app.store, key, &actor, (r.tier, holder), op);
    println!("{}", op.await?.finish().await?);
    Ok(())
}

/// `laurel deploy`: runs scripts/deploy from the checkout.
fn deploy(g: &GlobalArgs, out: Option<PathBuf>) -> Result<()> {
    let s = g.settings()?;
    let key = std::env::var("LAUREL_DEPLOYER_KEY")
        .or_else(|_| std::env::var("LAUREL_PRIVATE_KEY"))
        .map_err(|_| {
            anyhow::anyhow!("set LAUREL_DEPLOYER_KEY (or LAUREL_PRIVATE_KEY) to the deployer's key")
        })?;
    let root = std::env::var("LAUREL_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("."));
    let script = root.join("scripts/deploy");
    if !script.exists() {
        anyhow::bail!("`laurel deploy` runs scripts/deploy from a Laurel checkout; run it there or set LAUREL_ROOT");
    }
    // The key and the RPC URL go through the environment (argv is visible to every user), and the script
    // gets nothing else of ours.
    let mut cmd = std::process::Command::new(script);
    cmd.env_clear()
        .envs(crate::config::child_env())
        .envs(deploy_settings())
        .env("LAUREL_RPC_URL", &s.rpc_url)
        .env("LAUREL_DEPLOYER_KEY", key);
    if let Some(out) = out {
        cmd.arg("--out").arg(out);
    }
    let status = cmd.status()?;
    if !status.success() {
        anyhow::bail!("the deployment failed (see above); nothing was written");
    }
    Ok(())
}

/// The deploy script's own settings from the environment (`LAUREL_ADMIN`, `LAUREL_ADMIN_DELAY`, …: the
/// roles' accounts and delays Deploy.s.sol reads), never a key, password or the service's URLs.
fn deploy_settings() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("LAUREL_")
                && !["KEY", "PASSWORD", "SECRET", "URL"]
                    .iter()
                    .any(|s| k.contains(s))
        })
        .collect()
}

/// `laurel dev`.
async fn dev(
    g: &GlobalArgs,
    anvil_port: u16,
    block_time: u64,
    fresh: bool,
    state_dir: Option<PathBuf>,
    database: String,
) -> Result<()> {
    init_tracing("info");
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
    crate::startup::dev(crate::cli::dev::DevArgs {
        root,
        anvil_port,
        block_time,
        fresh,
        state_dir,
        database,
        layer: flags.over(env),
    })
    .await?;
    Ok(())
}

/// `laurel verify`.
async fn verify(g: &GlobalArgs, holder: String, type_id: Option<TypeId>, json: bool) -> Result<()> {
    init_tracing("warn");
    let app = App::build(g.settings()?).await?;
    let holder = parse_address(&holder)?;
    // The report names the block the mirror reflects, so a lagging mirror is shown, not hidden.
    match crate::indexer::run::sync_mirror(
        &app.node,
        &app.store,
        &app.settings,
        Duration::from_secs(5),
    )
    .await
    {
        Err(e @ crate::indexer::follow::FollowError::Behind { .. }) => {
            eprintln!("warning: {e}")
        }
        other => other?,
    }
    let r = crate::cli::verify::report(&app.cli(), holder, type_id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        crate::cli::verify::print(&r);
    }
    Ok(())
}

/// `laurel gov …`.
async fn gov(g: &GlobalArgs, cmd: GovCmd) -> Result<()> {
    init_tracing("warn");
    let s = g.settings()?;
    let key = match signer(&s) {
        Ok(k) => Some(k),
        Err(crate::chain::signer::SignerError::Missing) => None,
        Err(e) => return Err(e.into()),
    };
    let app = App::build(s).await?;
    crate::indexer::run::sync_mirror(&app.node, &app.store, &app.settings, Duration::from_secs(5))
        .await?;
    crate::cli::gov::run(&app.cli(), key, cmd).await?;
    Ok(())
}

/// `laurel awards`: exit code 2 when a CSV line was refused.
async fn awards(g: &GlobalArgs, cmd: crate::cli::awards::AwardsCmd) -> Result<ExitCode> {
    init_tracing("warn");
    let s = g.settings()?;
    let actor =
        signer(&s).map_or_else(|_| "cli".to_string(), |k| format!("cli:{:#x}", k.address()));
    let app = App::build(s).await?;
    let program = crate::credentials::ob3::Program::load(
        &app.store,
        app.node.chain_id(),
        app.node.deployment.credential_registry,
        &app.settings.issuer_name,
    )
    .await?;
    let bad = crate::cli::awards::run(&app.store, &app.node, &program.site, &actor, cmd).await?;
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// `laurel admin …`.
async fn admin(g: &GlobalArgs, cmd: AdminCmd) -> Result<()> {
    init_tracing("warn");
    let s = g.settings()?;
    let url = s
        .database_url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no database: set DATABASE_URL"))?;
    let store = crate::store::Store::connect(&url).await?;
    store.migrate().await?;
    crate::cli::admin::run(&store, cmd).await?;
    Ok(())
}

/// `laurel status`.
async fn status(g: &GlobalArgs, json: bool) -> Result<()> {
    init_tracing("warn");
    let app = App::build(g.settings()?).await?;
    let st = crate::cli::status::gather(&app.cli()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        crate::cli::status::print(&st);
    }
    Ok(())
}

/// `laurel chains`: the chain profiles.
fn chains() {
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
