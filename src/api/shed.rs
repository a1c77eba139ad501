//! Load shedding: every request belongs to a route class, and each class has a concurrency limit and a
//! token-bucket rate. A request over either is answered at once with 429 and `Retry-After` (JSON, like
//! every error) instead of queueing behind the flood, so that the cheap paths — and the probes, which are
//! never shed — keep answering while an expensive class is flooded.
//!
//! | class | what | concurrency | rate (per s, burst) |
//! |---|---|---|---|
//! | `probe` | `/healthz`, `/readyz`, `/metrics` | — | — |
//! | `chain` | public answers read from the node (`source=chain`) | 32 | 200, 400 |
//! | `admin` | the admin API (signature and key checks, sends) | 64 | 200, 400 |
//! | `public` | every other public read (served from the mirror and its cache) | 1,024 | — |
//!
//! The public class has no rate: its reads are served from memory, and a global bucket on the hot path
//! (one lock per request) would cost the verify endpoint more than it protects.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::error::ApiError;

/// A route class's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassLimits {
    /// Requests of the class served at once.
    pub concurrency: usize,
    /// Sustained requests per second (0: no rate limit, only the concurrency limit).
    pub rate: f64,
    /// Requests that may arrive at once after a quiet spell.
    pub burst: f64,
}

/// The classes requests are sorted into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Health and metrics probes: never shed.
    Probe,
    /// Public answers read from the node, or that cost real CPU (credential checks, claims, PNG drawing).
    Chain,
    /// The admin API.
    Admin,
    /// Public reads from the mirror.
    Public,
}

impl Class {
    /// The class of a request to `path` with query `query`.
    pub fn of(path: &str, query: Option<&str>) -> Self {
        match path {
            "/healthz" | "/readyz" | "/metrics" => Self::Probe,
            p if p.starts_with("/v1/issuances")
                || p.starts_with("/v1/operations")
                || p.starts_with("/v1/revocations")
                || p.starts_with("/v1/suspensions")
                || p.starts_with("/v1/reinstatements")
                || p.starts_with("/v1/renewals")
                || p.starts_with("/v1/membership-grants")
                || p.starts_with("/v1/relayed-issuances") =>
            {
                Self::Admin
            }
            _ if query.is_some_and(|q| q.split('&').any(|kv| kv == "source=chain")) => Self::Chain,
            p if p == "/v1/credential-checks"
                || p == "/verify/credential"
                || p.starts_with("/claim/")
                || p.ends_with(".png") =>
            {
                Self::Chain
            }
            _ => Self::Public,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Probe => "probe",
            Self::Chain => "chain",
            Self::Admin => "admin",
            Self::Public => "public",
        }
    }
}

/// A token bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One class's live limits.
#[derive(Debug)]
struct Gate {
    limits: ClassLimits,
    slots: Arc<Semaphore>,
    bucket: Mutex<Bucket>,
}

impl Gate {
    fn new(limits: ClassLimits) -> Self {
        Self {
            limits,
            slots: Arc::new(Semaphore::new(limits.concurrency)),
            bucket: Mutex::new(Bucket {
                tokens: limits.burst,
                at: Instant::now(),
            }),
        }
    }

    /// Takes a token; else the seconds until one is there.
    fn take(&self) -> Result<(), u64> {
        if self.limits.rate <= 0.0 {
            return Ok(());
        }
        let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(b.at).as_secs_f64() * self.limits.rate;
        b.tokens = (b.tokens + refill).min(self.limits.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.limits.rate).ceil().max(1.0) as u64)
        }
    }
}

/// The server's gates, one per shed class.
#[derive(Debug, Clone)]
pub struct Shedder {
    chain: Arc<Gate>,
    admin: Arc<Gate>,
    public: Arc<Gate>,
}

impl Default for Shedder {
    fn default() -> Self {
        Self::new(
            ClassLimits {
                concurrency: 32,
                rate: 200.0,
                burst: 400.0,
            },
            ClassLimits {
                concurrency: 64,
                rate: 200.0,
                burst: 400.0,
            },
            ClassLimits {
                concurrency: 1_024,
                rate: 0.0,
                burst: 0.0,
            },
        )
    }
}

impl Shedder {
    /// Gates with these limits for the chain, admin and public classes.
    pub fn new(chain: ClassLimits, admin: ClassLimits, public: ClassLimits) -> Self {
        Self {
            chain: Arc::new(Gate::new(chain)),
            admin: Arc::new(Gate::new(admin)),
            public: Arc::new(Gate::new(public)),
        }
    }

    fn gate(&self, class: Class) -> Option<&Gate> {
        match class {
            Class::Probe => None,
            Class::Chain => Some(&self.chain),
            Class::Admin => Some(&self.admin),
            Class::Public => Some(&self.public),
        }
    }
}

/// Middleware: serves the request within its class's limits and the server's time limit, or sheds it
/// with 429 (one layer for both, so the hot path pays for one middleware).
pub async fn shed(State(s): State<Shedder>, req: Request, next: Next) -> Response {
    let class = Class::of(req.uri().path(), req.uri().query());
    let Some(gate) = s.gate(class) else {
        return super::within_time_limit(next.run(req)).await;
    };
    let shed = |retry_after: u64, why: &str| {
        crate::telemetry::metrics::REGISTRY.add(
            crate::telemetry::metrics::HTTP_SHED,
            &[("class", class.name())],
            1.0,
        );
        ApiError::TooMany {
            message: format!(
                "too many {} requests right now ({why}); try again in {retry_after} s",
                class.name()
            ),
            retry_after,
        }
        .into_response()
    };
    if let Err(wait) = gate.take() {
        return shed(wait, "over the rate limit");
    }
    let Ok(_slot) = gate.slots.clone().try_acquire_owned() else {
        return shed(1, "every slot is busy");
    };
    super::within_time_limit(next.run(req)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classed_by_path_and_source() {
        assert_eq!(Class::of("/healthz", None), Class::Probe);
        assert_eq!(
            Class::of("/v1/verify", Some("holder=0x1&type=1&source=chain")),
            Class::Chain
        );
        assert_eq!(
            Class::of("/v1/verify", Some("holder=0x1&type=1")),
            Class::Public
        );
        assert_eq!(
            Class::of("/v1/verify", Some("source=chainx")),
            Class::Public
        );
        assert_eq!(Class::of("/v1/issuances/7", None), Class::Admin);
        assert_eq!(Class::of("/v1/revocations", None), Class::Admin);
    }

    #[test]
    fn a_bucket_gives_its_burst_then_its_rate() {
        let g = Gate::new(ClassLimits {
            concurrency: 1,
            rate: 1.0,
            burst: 3.0,
        });
        assert!((0..3).all(|_| g.take().is_ok()));
        assert_eq!(g.take(), Err(1), "empty: a token comes in about a second");
    }
}
