//! The HTTP server. For now: `/healthz` (the process answers and the database responds) and `/metrics`
//! (Prometheus text); the public and admin API arrive with issue 4.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio::sync::watch;

use crate::indexer::progress::METRICS;
use crate::store::Store;

/// The router.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(store)
}

async fn healthz(State(store): State<Store>) -> impl IntoResponse {
    match store.schema_version().await {
        Ok(Some(v)) => (
            StatusCode::OK,
            Json(serde_json::json!({"status": "ok", "schema": v})),
        ),
        Ok(None) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                serde_json::json!({"status": "unavailable", "error": "the database is not migrated"}),
            ),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                serde_json::json!({"status": "unavailable", "error": "the database does not answer"}),
            ),
        ),
    }
}

async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        METRICS.render(),
    )
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address is taken or not allowed.
    #[error(
        "cannot listen on {addr}: {source}. Is another laurel running? Use --listen HOST:PORT"
    )]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The server failed.
    #[error("the HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves `router` on `addr` until `shutdown` turns true, finishing in-flight requests.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    tracing::info!(%addr, "HTTP listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        })
        .await?;
    Ok(())
}
