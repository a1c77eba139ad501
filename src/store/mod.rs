//! Postgres access (sqlx): the only module that writes SQL.
//!
//! [`mirror`] keeps the chain mirror's bookkeeping (deployments, cursor, block window, raw events), opens
//! the range transaction the indexer drives ([`mirror::RangeWrite`]) and unwinds ranges; [`projection`]
//! holds the state tables folded from the events in the same transactions, their undo log, and the reads
//! the CLI and API use; [`changes`] is the shape of what a fold hands the store to write. [`issuance`] is the
//! queue (a submission's transaction, the worker's claim, batches and their transactions, stats, the audit
//! log); [`health`] is what the mirror knows of its chain (identity, head, rebuild); [`api_keys`] and [`documents`] hold the admin API's keys and the stored claim documents; [`status`] the credentials' places in their Bitstring status lists. The store
//! imports only `domain`, `chain` and `config`: it never calls the fold, it writes what the indexer gives it.

pub mod api_keys;
pub mod awards;
pub mod changes;
pub mod documents;
pub mod health;
pub mod issuance;
pub mod mirror;
pub mod projection;
pub mod status;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// A u64 as Postgres BIGINT (ids, blocks and times fit in 63 bits).
pub(crate) fn i(v: u64) -> i64 {
    v as i64
}

/// A 32-byte column as a hash.
pub(crate) fn b256(bytes: &[u8]) -> alloy::primitives::B256 {
    alloy::primitives::B256::from_slice(bytes)
}

/// The migrations under `migrations/`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL does not parse.
    #[error("DATABASE_URL is not a valid postgres:// URL: {0}")]
    BadUrl(#[source] sqlx::Error),
    /// The server did not accept a connection.
    #[error(
        "cannot connect to Postgres at {target}: {source}. Check DATABASE_URL, or run scripts/pg to find or start a server"
    )]
    Connect {
        /// host:port/database (no credentials).
        target: String,
        /// What sqlx reported (refused, timed out, authentication failed, …).
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed; the database is left at the last migration that succeeded.
    #[error("applying the database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// The database already mirrors another deployment on this chain.
    #[error("this database already mirrors a different Laurel deployment on chain {chain_id}; use another database")]
    OtherDeployment {
        /// The chain whose deployment this database already mirrors.
        chain_id: u64,
    },
    /// Stored data does not read back as written (a row or undo entry of an unexpected shape).
    #[error("the mirror holds data it cannot read back: {0}")]
    Corrupt(String),
    /// An unwind asked for a fork point older than the reorg window (and so than the undo log).
    #[error(
        "cannot unwind chain {chain_id} to block {fork}: the reorg window starts at block {oldest}; re-index from the deploy block"
    )]
    ForkBelowWindow {
        /// The chain whose mirror was asked to unwind.
        chain_id: u64,
        /// Requested fork point.
        fork: u64,
        /// Oldest block of the window.
        oldest: u64,
    },
    /// Another writer moved the cursor (or it is not where this writer left it); nothing was written.
    #[error(
        "the indexing cursor of chain {chain_id} moved under this writer; nothing was written"
    )]
    CursorMoved {
        /// The chain whose cursor moved.
        chain_id: u64,
    },
}

/// A pool of Postgres connections for the mirror and the service's tables.
#[derive(Clone, Debug)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects to `url` (a `postgres://` URL), failing fast with a message that names the server.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, 10).await
    }

    /// Connects with a pool of at most `max_connections` (the server gives its API a pool of its own, so
    /// a flood of requests never starves the indexer and the worker).
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            let scheme = url.split("://").next().unwrap_or(url);
            return Err(StoreError::BadUrl(sqlx::Error::Configuration(
                format!("the scheme is {scheme:?}; it must be postgres:// or postgresql://").into(),
            )));
        }
        let options = PgConnectOptions::from_str(url).map_err(StoreError::BadUrl)?;
        let target = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("(default database)")
        );
        // A quarter of the pool is kept open, so that a burst after a quiet spell (or right after startup)
        // does not wait for connections to be made.
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections((max_connections / 4).max(1))
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { target, source })?;
        Ok(Self { pool })
    }

    /// Applies every pending migration; a no-op when the schema is current.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Version of the newest migration applied, or None on a database never migrated.
    pub async fn schema_version(&self) -> Result<Option<i64>, StoreError> {
        let migrated: bool =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        if !migrated {
            return Ok(None);
        }
        let v: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok(v)
    }

    /// Names of the tables in the public schema, sorted.
    pub async fn tables(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Creates a new, empty database named `name` on the server of this (admin) connection and returns
    /// the URL of `admin_url` pointed at it. Used for scratch databases (tests, `laurel dev --fresh`).
    pub async fn create_database(&self, admin_url: &str, name: &str) -> Result<String, StoreError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(StoreError::BadUrl(sqlx::Error::Configuration(
                format!("database name {name:?} must be lowercase letters, digits and underscores")
                    .into(),
            )));
        }
        // Identifiers cannot be bound as parameters; the name was checked above.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&self.pool)
            .await?;
        PgConnectOptions::from_str(admin_url).map_err(StoreError::BadUrl)?;
        Ok(format!("{}/{name}", url_without_database(admin_url)))
    }

    /// Names of the databases on this server that start with `prefix`.
    pub async fn databases_with_prefix(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1",
        )
        .bind(prefix)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Drops database `name` if it exists (closing other sessions on it).
    pub async fn drop_database(&self, name: &str) -> Result<(), StoreError> {
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Ok(());
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// `postgres://user@host:port/db?x` → `postgres://user@host:port` (query parameters dropped).
fn url_without_database(url: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    match base[scheme_end..].find('/') {
        Some(i) => base[..scheme_end + i].to_string(),
        None => base.to_string(),
    }
}
