//! Telemetry: tracing set up once per process (stderr, filtered by `LAUREL_LOG`). The Prometheus metrics
//! of `/metrics` are the indexer's counters today (`indexer::progress`).

/// Logs to stderr, filtered by `LAUREL_LOG` (e.g. `info,laurel=debug`) or else by `default`; sqlx at warn.
pub fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAUREL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default},sqlx=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
