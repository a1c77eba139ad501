//! `laurel issue`: one credential from flags, or many from a CSV. Every input line is checked; valid lines are
//! queued under idempotency keys (a re-run queues nothing twice), then the command drives the pipeline (the
//! issuance worker and, unless a `serve` process already does it, the indexer) until each request is
//! confirmed by the mirror or failed, showing progress and ending with a summary.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;

use super::Ctx;
use crate::credentials::ob3::Program;
use crate::domain::TypeId;
use crate::issuance::idempotency::{explicit_key, keyed, Content};
use crate::issuance::request::{parse_address, parse_evidence, parse_expiry, read_csv};
use crate::issuance::submit::{submit, Mode, Submission};
use crate::store::issuance::{NewRequest, RequestState};

/// What to issue.
#[derive(Debug, Clone)]
pub struct IssueArgs {
    /// Credential type (required for a single issuance; the default for CSV lines without one).
    pub type_id: Option<TypeId>,
    /// Holder of a single issuance.
    pub holder: Option<String>,
    /// Expiry: unix seconds or YYYY-MM-DD.
    pub expires: Option<String>,
    /// Evidence: a 0x hash or a file to hash.
    pub evidence: Option<String>,
    /// CSV of many issuances.
    pub csv: Option<PathBuf>,
    /// Explicit idempotency key of a single issuance.
    pub key: Option<String>,
    /// Wait for confirmations (drive the pipeline) instead of only queueing.
    pub wait: bool,
    /// How long to wait.
    pub timeout: Duration,
    /// How long nothing may move before the command checks whether the pipeline can progress, and gives
    /// up (saying why) when it cannot.
    pub give_up_after: Duration,
}

/// The outcome, for the exit code and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueSummary {
    /// Input lines rejected before queueing.
    pub rejected: u64,
    /// Requests newly queued.
    pub queued_new: u64,
    /// Requests that were already queued under the same key (a re-run).
    pub already: u64,
    /// Requests confirmed: the mirror stored the event that issued them.
    pub confirmed: u64,
    /// Requests failed for good (a refusal no retry can fix); each is printed with its reason.
    pub failed: u64,
    /// Requests still pending when the wait ended.
    pub pending: u64,
}

impl IssueSummary {
    /// Whether everything asked for is issued (`waited`), or queued without error (not waited).
    pub fn all_ok(&self, waited: bool) -> bool {
        self.rejected == 0 && self.failed == 0 && (!waited || self.pending == 0)
    }
}

/// Runs `laurel issue`.
pub async fn run(
    app: Arc<Ctx>,
    signer: PrivateKeySigner,
    args: IssueArgs,
    shutdown: watch::Receiver<bool>,
) -> Result<IssueSummary> {
    let chain_id = app.chain_id();
    let mut summary = IssueSummary::default();
    let (labels, requests): (Vec<String>, Vec<NewRequest>) =
        read_inputs(&args, chain_id, &mut summary)?
            .into_iter()
            .unzip();
    // The checks read the mirror: bring it to the chain head first.
    crate::indexer::run::sync_mirror(
        &app.node,
        &app.store,
        &app.settings,
        Duration::from_secs(30),
    )
    .await?;
    let program = Program::load(
        &app.store,
        chain_id,
        app.node.deployment.credential_registry,
        &app.settings.issuer_name,
    )
    .await?;
    let submission = Submission {
        actor: format!("{:#x}", signer.address()),
        requests,
        mode: Mode::LineByLine,
        detail: serde_json::json!({"csv": args.csv, "unparsed": summary.rejected}),
    };
    let submitted = submit(
        &app.node,
        &app.store,
        &program,
        signer.address(),
        submission,
    )
    .await?;
    let mut ids = Vec::new();
    let mut by_id: HashMap<i64, String> = HashMap::new();
    for (label, outcome) in labels.into_iter().zip(&submitted.outcomes) {
        if let Some(why) = outcome.refusal() {
            eprintln!("{label}: {why}");
        } else if let Some(r) = outcome.request() {
            ids.push(r.id);
            by_id.insert(r.id, label);
        }
    }
    summary.queued_new = submitted.queued() as u64;
    summary.already = submitted.repeated() as u64;
    summary.rejected += submitted.refused() as u64;
    eprintln!(
        "queued {} new request(s); {} already queued earlier (same idempotency key); {} rejected",
        summary.queued_new, summary.already, summary.rejected
    );
    if ids.is_empty() {
        return Ok(summary);
    }
    let states = if args.wait {
        wait_for(
            &app,
            signer,
            &ids,
            (args.timeout, args.give_up_after),
            shutdown,
        )
        .await?
    } else {
        app.store.requests(&ids).await?
    };
    settle(&mut summary, &states, &by_id, args.wait);
    Ok(summary)
}

/// The flags or the CSV as labelled requests; lines that do not parse are counted in `summary` and named.
fn read_inputs(
    args: &IssueArgs,
    chain_id: u64,
    summary: &mut IssueSummary,
) -> Result<Vec<(String, NewRequest)>> {
    let Some(path) = &args.csv else {
        return Ok(vec![one_input(args, chain_id)?]);
    };
    if args.holder.is_some() {
        bail!("pass either --csv or --holder, not both");
    }
    let lines = read_csv(path, chain_id, args.type_id).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut inputs = Vec::new();
    for l in lines {
        match l.parsed {
            Ok(r) => inputs.push((format!("line {}", l.line), r)),
            Err(e) => {
                summary.rejected += 1;
                eprintln!("{}: line {}: {e}", path.display(), l.line);
            }
        }
    }
    Ok(inputs)
}

/// The single issuance the flags describe.
fn one_input(args: &IssueArgs, chain_id: u64) -> Result<(String, NewRequest)> {
    let holder = args
        .holder
        .as_deref()
        .context("pass --holder ADDRESS (and --type ID), or --csv FILE")?;
    let type_id = args.type_id.context("pass --type ID")?;
    let holder = parse_address(holder)?;
    let expires_at = parse_expiry(args.expires.as_deref().unwrap_or(""))?;
    let evidence = parse_evidence(args.evidence.as_deref().unwrap_or(""), ".".as_ref())?;
    let key = args.key.as_deref().map(explicit_key).transpose()?;
    let content = Content {
        type_id,
        holder,
        expires_at,
        evidence,
    };
    let request = keyed(chain_id, key, content, "cli".into(), None);
    Ok((format!("{holder}"), request))
}

/// Counts the settled `states` into `summary` and names the failures and what is left pending.
fn settle(
    summary: &mut IssueSummary,
    states: &[crate::store::issuance::Request],
    labels: &HashMap<i64, String>,
    waited: bool,
) {
    for r in states {
        match r.state {
            RequestState::Confirmed => summary.confirmed += 1,
            RequestState::Failed => {
                summary.failed += 1;
                eprintln!(
                    "{}: failed: {}",
                    labels.get(&r.id).map_or("request", |s| s.as_str()),
                    r.error.as_deref().unwrap_or("unknown reason")
                );
            }
            _ => summary.pending += 1,
        }
    }
    if waited && summary.pending > 0 {
        eprintln!(
            "{} request(s) still pending; `laurel serve` (or running this command again) finishes them, and nothing is issued twice",
            summary.pending
        );
    }
    eprintln!(
        "summary: {} confirmed, {} failed, {} pending, {} rejected",
        summary.confirmed, summary.failed, summary.pending, summary.rejected
    );
}

/// Why the pipeline cannot progress, if it cannot — asked after nothing moved for a while: the node does
/// not answer, or the mirror (which confirms the requests) stands still behind the chain head (being
/// rebuilt, or indexed by another process that is stuck).
async fn stalled(app: &Ctx, indexed: Option<u64>) -> Option<String> {
    use alloy::providers::Provider;
    let head = match app.node.provider.get_block_number().await {
        Ok(h) => h,
        Err(e) => {
            return Some(format!(
                "the node does not answer ({}); check LAUREL_RPC_URL, then run this command again (nothing is issued twice)",
                crate::config::redact_urls(&e.to_string())
            ))
        }
    };
    if indexed.is_some_and(|b| b >= head) {
        return None;
    }
    let health = app.store.mirror_health(app.chain_id()).await.ok()??;
    let why = health.rebuild_reason.map_or_else(
        || "another process holds the indexer lock and makes no progress (see `laurel status` and that process's logs)".to_string(),
        |r| format!("it is being rebuilt from the deploy block: {r}"),
    );
    Some(format!(
        "the mirror, which confirms the requests, stands still at block {} while the chain is at {head}: {why}. The requests stay queued; `laurel serve` (or this command, run again) finishes them, and nothing is issued twice",
        indexed.map_or_else(|| "none".into(), |b| b.to_string()),
    ))
}

async fn wait_for(
    app: &Arc<Ctx>,
    signer: PrivateKeySigner,
    ids: &[i64],
    (timeout, give_up_after): (Duration, Duration),
    mut outer: watch::Receiver<bool>,
) -> Result<Vec<crate::store::issuance::Request>> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = Arc::new(crate::issuance::worker::Worker::of(
        &app.node,
        &app.store,
        &app.settings,
        signer,
    ));
    let handles = super::spawn_pipeline(app, Some(worker), stop_rx);
    let bar = ProgressBar::new(ids.len() as u64);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} settled {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut moved = (Instant::now(), (0, 0, None));
    let states = loop {
        let states = app.store.requests(ids).await?;
        let settled = states.iter().filter(|r| r.state.is_terminal()).count();
        let submitted = states
            .iter()
            .filter(|r| r.state == RequestState::Submitted)
            .count();
        bar.set_position(settled as u64);
        bar.set_message(format!("({submitted} in flight)"));
        if settled == states.len() || started.elapsed() >= timeout || *outer.borrow() {
            break states;
        }
        let indexed = app
            .store
            .cursor(app.chain_id())
            .await?
            .and_then(|c| c.indexed_block);
        if (settled, submitted, indexed) != moved.1 {
            moved = (Instant::now(), (settled, submitted, indexed));
        } else if moved.0.elapsed() >= give_up_after {
            if let Some(why) = stalled(app, indexed).await {
                bar.suspend(|| {
                    eprintln!(
                        "giving up: no request moved for {} s, and {why}",
                        moved.0.elapsed().as_secs()
                    )
                });
                break states;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = outer.changed() => {}
        }
    };
    bar.finish_and_clear();
    let _ = stop_tx.send(true);
    // The loops stop at their next await; one stuck in a call is cut off rather than waited for.
    for mut h in handles {
        if tokio::time::timeout(Duration::from_secs(10), &mut h)
            .await
            .is_err()
        {
            h.abort();
        }
    }
    Ok(states)
}
