//! What the `laurel` commands do (the binary parses flags and calls these). This is the edge of the
//! program, so errors are `anyhow` with messages meant for the admin at the terminal.

pub mod admin;
pub mod dev;
pub mod gov;
pub mod issue;
pub mod ops;
pub mod serve;
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

/// Runs the indexer and the worker in the background until the returned sender is dropped or set.
pub fn spawn_pipeline(
    app: &Arc<crate::startup::App>,
    worker: Option<Arc<crate::issuance::worker::Worker>>,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = vec![tokio::spawn(crate::startup::run_indexer(
        app.clone(),
        shutdown.clone(),
    ))];
    if let Some(w) = worker {
        let poll = crate::startup::idle_poll(&app.settings);
        handles.push(tokio::spawn(crate::startup::run_worker(w, poll, shutdown)));
    }
    handles
}
