//! `laurel serve`: the indexer (when this process holds the deployment's writer lock; otherwise it stands by),
//! the issuance worker (when a signing key is configured) and the HTTP server, until Ctrl-C or SIGTERM.
//! Several `serve` processes may share one database: one indexes, all issue without sharing a nonce or a
//! request.

use std::sync::Arc;

use alloy::signers::local::PrivateKeySigner;
use anyhow::Result;
use tokio::sync::watch;

use crate::issuance::worker::WorkerConfig;
use crate::startup::App;

/// Runs the service until `shutdown` turns true.
pub async fn run(
    app: Arc<App>,
    signer: Option<PrivateKeySigner>,
    shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let worker = signer.map(|s| Arc::new(app.worker(s, WorkerConfig::default())));
    if worker.is_none() {
        tracing::warn!(
            "no signing key configured (LAUREL_PRIVATE_KEY or --keystore): serving without issuing"
        );
    }
    let handles = super::spawn_pipeline(&app, worker, shutdown.clone());
    let router = crate::api::router(app.store.clone());
    let served = crate::api::serve(app.settings.listen, router, shutdown.clone()).await;
    for h in handles {
        let _ = h.await;
    }
    Ok(served?)
}
