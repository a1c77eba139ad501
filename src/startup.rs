//! Wiring the service together from [`Settings`]: the store, the chain provider, the deployment, and the
//! long-running loops (`laurel serve` runs the indexer, the issuance worker and the HTTP server; `laurel issue`
//! drives the same loops until its requests settle).

use std::sync::Arc;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;

use crate::chain::Deployment;
use crate::config::Settings;
use crate::indexer::decode::Contracts;
use crate::indexer::follow::{FollowConfig, Follower, Step};
use crate::issuance::worker::{Worker, WorkerConfig};
use crate::store::Store;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// No database is configured.
    #[error(
        "no database: set DATABASE_URL (or LAUREL_DATABASE_URL, or database_url in laurel.toml)"
    )]
    NoDatabase,
    /// The RPC URL does not parse.
    #[error("the RPC URL {0:?} is not a valid http(s) URL")]
    BadRpcUrl(String),
    /// The node did not answer.
    #[error("the node at {url} did not answer: {reason}. Is it running? Check --rpc-url / LAUREL_RPC_URL")]
    Rpc {
        /// RPC URL.
        url: String,
        /// Error.
        reason: String,
    },
    /// The node serves another chain than the deployment's.
    #[error("the node at {url} serves chain {node}, but the deployment {path} is for chain {deployment}")]
    WrongChain {
        /// RPC URL.
        url: String,
        /// Node's chain id.
        node: u64,
        /// Deployment's chain id.
        deployment: u64,
        /// Deployment file.
        path: String,
    },
    /// The deployment file is missing or invalid.
    #[error(transparent)]
    Deployment(#[from] crate::chain::DeploymentError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Everything a command needs to talk to the chain and the mirror.
#[derive(Clone)]
pub struct App {
    /// Effective settings.
    pub settings: Settings,
    /// The deployment followed.
    pub deployment: Deployment,
    /// The mirror.
    pub store: Store,
    /// A read-only provider (no nonce or gas fillers: the worker manages its own).
    pub provider: DynProvider,
}

impl App {
    /// Connects to the node and the database, loads the deployment, migrates and registers it.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let url: alloy::transports::http::reqwest::Url = settings
            .rpc_url
            .parse()
            .map_err(|_| StartupError::BadRpcUrl(settings.rpc_url.clone()))?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(url)
            .erased();
        let node_chain = provider
            .get_chain_id()
            .await
            .map_err(|e| StartupError::Rpc {
                url: settings.rpc_url.clone(),
                reason: e.to_string(),
            })?;
        let deployment = Deployment::load(&settings.deployment)?;
        if deployment.chain_id != node_chain {
            return Err(StartupError::WrongChain {
                url: settings.rpc_url.clone(),
                node: node_chain,
                deployment: deployment.chain_id,
                path: settings.deployment.display().to_string(),
            });
        }
        let db = settings
            .database_url
            .as_deref()
            .ok_or(StartupError::NoDatabase)?;
        let store = Store::connect(db).await?;
        store.migrate().await?;
        store.register_deployment(&deployment).await?;
        Ok(Self {
            settings,
            deployment,
            store,
            provider,
        })
    }

    /// Chain id of the deployment.
    pub fn chain_id(&self) -> u64 {
        self.deployment.chain_id
    }

    /// The indexer's configuration for this chain.
    pub fn follow_config(&self) -> FollowConfig {
        FollowConfig {
            confirmations: self.settings.confirmations,
            finality_tags: self.settings.chain.finality_tags,
            ..FollowConfig::default()
        }
    }

    /// A follower of this deployment.
    pub fn follower(&self) -> Follower {
        Follower::new(
            self.provider.clone(),
            self.store.clone(),
            Contracts::of(&self.deployment),
            self.chain_id(),
            self.deployment.deploy_block,
            self.follow_config(),
        )
    }

    /// An issuance worker signing with `signer`.
    pub fn worker(&self, signer: PrivateKeySigner, config: WorkerConfig) -> Worker {
        let address = signer.address();
        Worker::new(
            self.provider.clone(),
            EthereumWallet::from(signer),
            address,
            self.store.clone(),
            self.chain_id(),
            self.deployment.credential_registry,
            WorkerConfig {
                op_stack: self.settings.chain.op_stack,
                ..config
            },
        )
    }
}

/// Brings the mirror up to the chain head before a command reads it: indexes here when no other process
/// holds the writer lock, else waits for that writer, for at most `timeout`; then refuses with
/// [`FollowError::Behind`](crate::indexer::follow::FollowError::Behind) rather than let a command read a stale mirror.
pub async fn sync_mirror(
    app: &App,
    timeout: Duration,
) -> Result<(), crate::indexer::follow::FollowError> {
    let started = std::time::Instant::now();
    let chain_id = app.chain_id();
    loop {
        let head = app
            .provider
            .get_block_number()
            .await
            .map_err(|e| crate::indexer::follow::FollowError::Rpc(e.to_string()))?;
        let indexed = app
            .store
            .cursor(chain_id)
            .await?
            .and_then(|c| c.indexed_block);
        if indexed.is_some_and(|b| b >= head) {
            return Ok(());
        }
        if let Some(lock) = app.store.try_writer_lock(chain_id).await? {
            let res = app.follower().catch_up(10_000).await;
            lock.release().await?;
            res?;
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(crate::indexer::follow::FollowError::Behind {
                indexed: indexed.unwrap_or(0),
                head,
                secs: timeout.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How often the loops poll when idle.
pub fn idle_poll(settings: &Settings) -> Duration {
    Duration::from_millis(settings.chain.block_time_ms.clamp(200, 2_000) / 2)
}

/// Runs the indexer until `shutdown` turns true. Only the holder of the deployment's writer lock indexes;
/// other processes wait as standbys and take over when the writer goes away.
pub async fn run_indexer(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let poll = idle_poll(&app.settings);
    let chain_id = app.chain_id();
    let lock = loop {
        match app.store.try_writer_lock(chain_id).await {
            Ok(Some(lock)) => break lock,
            Ok(None) => tracing::debug!("another process indexes chain {chain_id}; standing by"),
            Err(e) => tracing::warn!(error = %e, "cannot take the indexer lock"),
        }
        if sleep_or_shutdown(&mut shutdown, Duration::from_secs(2)).await {
            return;
        }
    };
    tracing::info!(chain_id, "indexer started");
    let mut follower = app.follower();
    let mut progress = crate::indexer::progress::Progress::new();
    loop {
        let wait = match follower.step().await {
            Ok(Step::UpToDate) => poll,
            Ok(s) => {
                progress.record(&s);
                Duration::ZERO
            }
            Err(e) => {
                tracing::warn!(error = %e, "indexer step failed; retrying");
                Duration::from_secs(2)
            }
        };
        if sleep_or_shutdown(&mut shutdown, wait).await {
            break;
        }
    }
    if let Err(e) = lock.release().await {
        tracing::warn!(error = %e, "releasing the indexer lock");
    }
}

/// Runs the issuance worker until `shutdown` turns true.
pub async fn run_worker(worker: Arc<Worker>, poll: Duration, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(signer = %worker.signer(), "issuance worker started");
    loop {
        let wait = match worker.tick().await {
            Ok(t) if !t.sent.is_empty() || t.mined > 0 => Duration::ZERO.max(poll / 4),
            Ok(_) => poll,
            Err(e) => {
                tracing::warn!(error = %e, "issuance worker tick failed; retrying");
                Duration::from_secs(2)
            }
        };
        if sleep_or_shutdown(&mut shutdown, wait).await {
            break;
        }
    }
}

/// Sleeps for `d`; true when shutdown was requested meanwhile.
pub async fn sleep_or_shutdown(shutdown: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *shutdown.borrow(),
        r = shutdown.changed() => r.is_err() || *shutdown.borrow(),
    }
}
