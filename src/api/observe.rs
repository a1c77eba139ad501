//! Request metrics and the `/metrics` endpoint: every response is counted by its route template (axum's
//! matched path, `unmatched` for the fallback, so raw paths never become labels), method and status, and
//! timed; the scrape adds the queue's gauges, read from the store.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::telemetry::metrics::{self as m, Sample, HTTP, REGISTRY};

/// The method as a static name (extension methods are `OTHER`, so a client cannot mint label values).
fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// Middleware: counts and times each request by route template, method and status.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = method_name(req.method());
    let _in_flight = HTTP.start();
    let started = Instant::now();
    let response = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let secs = started.elapsed().as_secs_f64();
    HTTP.record(route, method, response.status().as_u16(), secs);
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
