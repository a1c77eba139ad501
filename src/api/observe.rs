//! Request metrics and the `/metrics` endpoint: every response is counted by its route template (axum's
//! matched path, `unmatched` for the fallback, so raw paths never become labels), method and status, and
//! timed; the scrape adds the queue's gauges, read from the store.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::telemetry::metrics::{self as m, Sample, REGISTRY};

/// Decrements the in-flight gauge when a request ends, answered or dropped (a client gone, a timeout).
struct InFlight;

impl Drop for InFlight {
    fn drop(&mut self) {
        REGISTRY.add(m::HTTP_IN_FLIGHT, &[], -1.0);
    }
}

/// Middleware: counts and times each request by route template, method and status.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    REGISTRY.add(m::HTTP_IN_FLIGHT, &[], 1.0);
    let _in_flight = InFlight;
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route.as_str()), ("method", method.as_str())];
    REGISTRY.observe(m::HTTP_DURATION, &labels, started.elapsed().as_secs_f64());
    REGISTRY.add(
        m::HTTP_REQUESTS,
        &[labels[0], labels[1], ("status", status.as_str())],
        1.0,
    );
    response
}

/// `GET /metrics`: the registry in the Prometheus text format, with the queue's gauges read now (left out,
/// and logged, when the store does not answer: the rest still renders).
pub async fn metrics(State(s): State<AppState>) -> Response {
    let mut extra: Vec<Sample> = Vec::new();
    match s.store.queue_stats(s.node.chain_id()).await {
        Ok(q) => {
            for (status, n) in [
                ("queued", q.queued),
                ("submitted", q.submitted),
                ("confirmed", q.confirmed),
                ("failed", q.failed),
            ] {
                extra.push((m::QUEUE_REQUESTS, vec![("status", status.into())], n as f64));
            }
            extra.push((m::QUEUE_OLDEST_PENDING, vec![], q.oldest_queued_secs));
        }
        Err(e) => tracing::warn!(error = %e, "metrics: the queue's gauges could not be read"),
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        REGISTRY.render(&extra),
    )
        .into_response()
}
