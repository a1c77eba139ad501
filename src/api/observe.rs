//! Request metrics and the `/metrics` endpoint: every response is counted by its route template (axum's
//! matched path, `unmatched` for the fallback, so raw paths never become labels), method and status, and
//! timed; the scrape adds the queue's gauges, read from the store.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::telemetry::metrics::{self as m, InFlight, Sample, HTTP, REGISTRY};

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

/// The layer that counts and times each request by route template, method and status (a plain tower
/// layer: no boxed service or future per request, which `middleware::from_fn` costs).
#[derive(Debug, Clone, Copy, Default)]
pub struct TrackLayer;

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;
    fn layer(&self, inner: S) -> Track<S> {
        Track { inner }
    }
}

/// [`TrackLayer`]'s service around one route.
#[derive(Debug, Clone)]
pub struct Track<S> {
    inner: S,
}

impl<S, B> Service<axum::http::Request<B>> for Track<S>
where
    S: Service<axum::http::Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let route = req.extensions().get::<MatchedPath>().cloned();
        let method = method_name(req.method());
        TrackFuture {
            in_flight: HTTP.start(),
            route,
            method,
            started: Instant::now(),
            inner: self.inner.call(req),
        }
    }
}

pin_project! {
    /// A tracked request's response future: records the answer when it is ready.
    pub struct TrackFuture<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
        method: &'static str,
        started: Instant,
        in_flight: InFlight<'static>,
    }
}

impl<F, E> Future for TrackFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        if let Ok(response) = &out {
            let route = this.route.as_ref().map_or("unmatched", MatchedPath::as_str);
            let secs = this.started.elapsed().as_secs_f64();
            HTTP.record(route, this.method, response.status().as_u16(), secs);
        }
        Poll::Ready(out)
    }
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
    match s.store.mirror_health(s.node.chain_id()).await {
        Ok(Some(h)) => {
            let reason = h.rebuild_reason.clone().unwrap_or_default();
            let rebuilding = if h.rebuild_reason.is_some() { 1.0 } else { 0.0 };
            extra.push((m::MIRROR_REBUILD, vec![("reason", reason)], rebuilding));
            if let Some(lag) = h.lag() {
                extra.push((m::MIRROR_LAG, vec![], lag as f64));
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "metrics: the mirror's health could not be read"),
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        REGISTRY.render(&extra),
    )
        .into_response()
}
