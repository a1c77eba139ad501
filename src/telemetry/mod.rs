//! Telemetry: tracing set up once per process (stderr, filtered by `LAUREL_LOG`), and the process's
//! Prometheus metrics ([`metrics`]): HTTP requests by route, the issuance worker, the indexer, and the queue
//! gauges `/metrics` reads from the store when it is scraped.

pub mod metrics;

/// Logs to stderr, filtered by `LAUREL_LOG` (e.g. `info,laurel=debug`) or else by `default`; sqlx at warn.
pub fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAUREL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default},sqlx=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
