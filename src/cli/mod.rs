//! What the `laurel` commands do (the binary parses flags and calls these). This is the edge of the
//! program, so errors are `anyhow` with messages meant for the admin at the terminal. Commands parse and
//! present; the work is done below (`issuance::submit`, `governance`, `store`). May import every module
//! below the front layer, never `api`; `startup` wires it.

pub mod admin;
pub mod args;
pub mod awards;
pub mod dev;
pub mod gov;
pub mod issue;
pub mod keys;
pub mod status;
pub mod verify;

use std::sync::Arc;

use tokio::sync::watch;

/// A shutdown signal: turns true on Ctrl-C or SIGTERM.
pub fn shutdown_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("installing the SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    rx
}

/// What a command works with: the settings, the node and the mirror (startup connects them).
#[derive(Clone)]
pub struct Ctx {
    /// Resolved settings: flags over environment over `laurel.toml` over defaults.
    pub settings: crate::config::Settings,
    /// The node and the deployment it serves.
    pub node: crate::chain::Node,
    /// The Postgres mirror, migrated and with this deployment registered (by startup).
    pub store: crate::store::Store,
}

impl Ctx {
    /// Chain id of the deployment.
    pub fn chain_id(&self) -> u64 {
        self.node.chain_id()
    }
}

/// Runs the indexer (or its standby) and, when given, the worker in the background until `shutdown` turns
/// true.
pub fn spawn_pipeline(
    ctx: &Ctx,
    worker: Option<Arc<crate::issuance::worker::Worker>>,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = vec![tokio::spawn(crate::indexer::run::run(
        ctx.node.clone(),
        ctx.store.clone(),
        ctx.settings.clone(),
        shutdown.clone(),
    ))];
    if let Some(w) = worker {
        let poll = ctx.settings.idle_poll();
        handles.push(tokio::spawn(crate::issuance::worker::run(
            w, poll, shutdown,
        )));
    }
    handles
}
