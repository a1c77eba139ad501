//! Telemetry: tracing set up once per process (stderr, filtered by `LAUREL_LOG`), and the process's
//! Prometheus metrics ([`metrics`]): HTTP requests by route, the issuance worker, the indexer, and the queue
//! gauges `/metrics` reads from the store when it is scraped.

pub mod metrics;

use std::io::Write;

/// Logs to stderr, filtered by `LAUREL_LOG` (e.g. `info,laurel=debug`) or else by `default`; sqlx at warn.
/// Every line goes through [`Redacting`]: no URL in a log line carries its credentials, path or query.
pub fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAUREL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default},sqlx=warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Redacting(std::io::stderr()))
        .try_init();
}

/// A writer that redacts every URL in what it is given ([`crate::config::redact_urls`]) before passing
/// it on: the log's last line of defence for RPC API keys and database passwords.
pub struct Redacting<W: Write>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        if text.contains("://") {
            self.0
                .write_all(crate::config::redact_urls(&text).as_bytes())?;
        } else {
            self.0.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_lose_the_secrets_of_their_urls() {
        let mut out = Redacting(Vec::new());
        write!(
            out,
            "error sending request for url (https://base.example/v2/SECRETKEY) and postgres://laurel:hunter2@db:5432/laurel"
        )
        .unwrap();
        let line = String::from_utf8(out.0).unwrap();
        assert!(
            !line.contains("SECRETKEY") && !line.contains("hunter2"),
            "{line}"
        );
        assert!(
            line.contains("https://base.example/***") && line.contains("db:5432"),
            "{line}"
        );
    }
}
