//! Wiring the service together from [`Settings`], the one place that does: the node (checked to serve the
//! deployment's chain), the store (migrated, the deployment registered), `laurel serve` (the HTTP server,
//! the indexer or its standby, the issuance worker) and `laurel dev`; [`commands`] runs each command of
//! the parsed command line. May import every module.

pub mod commands;

use std::sync::Arc;

use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;

use crate::chain::{Deployment, Node};
use crate::config::{redact_url, redact_urls, Settings};
use crate::indexer::follow::Follower;
use crate::issuance::worker::Worker;
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
        /// The provider's error for the `eth_chainId` call, as text.
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
        /// Path of the deployment record whose chain id differs (`settings.deployment`).
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
    /// Resolved settings: flags over environment over `laurel.toml` over defaults.
    pub settings: Settings,
    /// The node and the deployment it serves.
    pub node: Node,
    /// The Postgres mirror, migrated and with this deployment registered.
    pub store: Store,
}

impl App {
    /// Connects to the node and the database, loads the deployment, migrates and registers it.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let url: alloy::transports::http::reqwest::Url = settings
            .rpc_url
            .parse()
            .map_err(|_| StartupError::BadRpcUrl(redact_url(&settings.rpc_url)))?;
        let provider = crate::chain::node::read_only_provider(url);
        let node_chain = provider
            .get_chain_id()
            .await
            .map_err(|e| StartupError::Rpc {
                url: redact_url(&settings.rpc_url),
                reason: redact_urls(&e.to_string()),
            })?;
        let deployment = Deployment::load(&settings.deployment)?;
        if deployment.chain_id != node_chain {
            return Err(StartupError::WrongChain {
                url: redact_url(&settings.rpc_url),
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
            node: Node {
                provider,
                deployment,
            },
            store,
        })
    }

    /// Chain id of the deployment.
    pub fn chain_id(&self) -> u64 {
        self.node.chain_id()
    }

    /// A follower of this deployment.
    pub fn follower(&self) -> Follower {
        crate::indexer::run::follower(&self.node, &self.store, &self.settings)
    }

    /// An issuance worker signing with `signer`, paced by the settings.
    pub fn worker(&self, signer: PrivateKeySigner) -> Worker {
        Worker::of(&self.node, &self.store, &self.settings, signer)
    }

    /// What the CLI's commands work with.
    pub fn cli(&self) -> crate::cli::Ctx {
        crate::cli::Ctx {
            settings: self.settings.clone(),
            node: self.node.clone(),
            store: self.store.clone(),
        }
    }
}

/// Connections of the API's database pool (the indexer and the worker share the other, of 10).
pub const API_POOL: u32 = 16;

/// `laurel serve`: runs the HTTP server (on a database pool of its own), the indexer (or its standby)
/// and, with a signing key, the issuance worker until `shutdown` turns true. Several `serve` processes may
/// share one database: one indexes, all issue without sharing a nonce or a request.
/// `on_listening` runs once the HTTP port is bound (`laurel dev` prints its banner there).
pub async fn serve(
    app: Arc<App>,
    signer: Option<PrivateKeySigner>,
    shutdown: watch::Receiver<bool>,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> anyhow::Result<()> {
    let keys = issuer_keys(&app.settings, shutdown.clone())?;
    let listener = crate::api::bind(app.settings.listen).await?;
    on_listening(listener.local_addr()?);
    let api_signer = signer.clone();
    let worker = signer.map(|s| Arc::new(app.worker(s)));
    if worker.is_none() {
        tracing::warn!(
            "no signing key configured (LAUREL_PRIVATE_KEY or --keystore): serving without issuing"
        );
    }
    let handles = crate::cli::spawn_pipeline(&app.cli(), worker, shutdown.clone());
    // The API reads through a pool of its own: the indexer and the worker keep theirs under any load.
    let db = app
        .settings
        .database_url
        .as_deref()
        .ok_or(StartupError::NoDatabase)?;
    let api_store = crate::store::Store::connect_with(db, API_POOL).await?;
    let router = crate::api::router(
        crate::api::AppState::new(app.settings.clone(), app.node.clone(), api_store)
            .with_signer(api_signer)
            .with_keys(keys),
    );
    let served = crate::api::serve(listener, router, shutdown.clone()).await;
    for h in handles {
        let _ = h.await;
    }
    Ok(served?)
}

/// Seconds between checks of the issuer keystore file for a rotation.
const KEYSTORE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// The issuer keys of the settings (the keystore file, re-read when `laurel keys` changes it, or
/// `LAUREL_ISSUER_KEYS`), logged by id; none configured is a warning: nothing can be signed.
fn issuer_keys(
    settings: &crate::config::Settings,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Arc<crate::credentials::keys::keystore::KeyRing>> {
    use crate::credentials::keys::keystore::{KeyRing, KeySource};
    let env = |k: &str| std::env::var(k).ok();
    let source = KeySource::of(env, settings.issuer_keystore.as_deref())?;
    let ring = Arc::new(KeyRing::load(&source, env)?);
    let keys = ring.keys();
    if keys.keys.is_empty() {
        tracing::warn!(
            "no issuer keys (LAUREL_ISSUER_KEYSTORE or LAUREL_ISSUER_KEYS): Open Badges documents and status lists answer 503; `laurel keys init --file <path>` makes a keystore"
        );
    }
    for k in keys.keys.iter().filter(|k| k.is_current()) {
        tracing::info!(key = %k.id, alg = %k.alg(), "issuer key loaded");
    }
    if ring.watches_file() {
        let watched = ring.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(KEYSTORE_POLL) => {}
                    _ = shutdown.changed() => return,
                }
                match watched.refresh() {
                    Ok(true) => tracing::info!("issuer keystore changed: keys reloaded"),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "issuer keystore unreadable: keeping the keys in use")
                    }
                }
            }
        });
    }
    Ok(ring)
}

/// `laurel dev`: the local stack (Postgres, anvil, the contracts, a demo program) and the service on it,
/// until Ctrl-C; the stack is stopped (anvil saving its chain) however the service ends.
pub async fn dev(args: crate::cli::dev::DevArgs) -> anyhow::Result<()> {
    let stack = crate::cli::dev::start(&args).await?;
    let result = async {
        let settings = stack.deploy().await?;
        let app = Arc::new(App::build(settings).await.map_err(|e| match e {
            StartupError::Store(crate::store::StoreError::OtherDeployment { .. }) => {
                anyhow::anyhow!(
                    "the dev database mirrors an older deployment; run `scripts/dev --fresh`"
                )
            }
            e => e.into(),
        })?);
        let signer = crate::cli::dev::dev_signer();
        let banner = stack.program(&app.cli(), signer.clone()).await?;
        let shutdown = crate::cli::shutdown_on_signals();
        // The banner (and the env file's promise) only once the HTTP port is bound.
        serve(app, Some(signer), shutdown, move |listen| {
            println!("{}", banner.replace("{listen}", &listen.to_string()));
        })
        .await
    }
    .await;
    stack.stop().await;
    result
}
