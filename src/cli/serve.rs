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

/// The worker's pacing, with `LAUREL_STUCK_AFTER_SECS` (replace an unmined transaction with higher fees
/// after this long; default 45), `LAUREL_MAX_BATCH` (requests per batch; default and ceiling 1,000) and
/// `LAUREL_MAX_IN_FLIGHT` (unmined batches at once; default 4) applied.
pub fn worker_config_from_env() -> WorkerConfig {
    let mut c = WorkerConfig::default();
    if let Some(s) = std::env::var("LAUREL_STUCK_AFTER_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        c.stuck_after = std::time::Duration::from_secs(s.max(1));
    }
    if let Some(n) = std::env::var("LAUREL_MAX_BATCH")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        c.max_batch = n.max(1);
    }
    if let Some(n) = std::env::var("LAUREL_MAX_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        c.max_in_flight = n.max(1);
    }
    c
}

/// Runs the service until `shutdown` turns true.
/// `on_listening` runs once the HTTP port is bound (`laurel dev` prints its banner there).
pub async fn run(
    app: Arc<App>,
    signer: Option<PrivateKeySigner>,
    shutdown: watch::Receiver<bool>,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    let issuer_key = crate::credentials::issuer_key::IssuerKey::load(
        |k| std::env::var(k).ok(),
        signer.as_ref(),
    )?;
    let listener = crate::api::bind(app.settings.listen).await?;
    on_listening(listener.local_addr()?);
    let api_signer = signer.clone();
    let worker = signer.map(|s| Arc::new(app.worker(s, worker_config_from_env())));
    if worker.is_none() {
        tracing::warn!(
            "no signing key configured (LAUREL_PRIVATE_KEY or --keystore): serving without issuing"
        );
    }
    let handles = super::spawn_pipeline(&app, worker, shutdown.clone());
    if let Some(k) = &issuer_key {
        tracing::info!(kid = k.kid(), "Open Badges issuer key loaded");
    }
    let router = crate::api::router(
        crate::api::AppState::of(&app)
            .with_signer(api_signer)
            .with_issuer_key(issuer_key),
    );
    let served = crate::api::serve(listener, router, shutdown.clone()).await;
    for h in handles {
        let _ = h.await;
    }
    Ok(served?)
}
