//! The HTTP server: public reads (types, tiers, holders, verify), health, readiness, metrics and the
//! OpenAPI document generated from the handlers. Every response that fails is JSON `{error, message,
//! field?}`; every request runs in a tracing span carrying its `x-request-id`, under a timeout and a body
//! size limit, with CORS open for the public reads; [`observe`] counts and times each request by route.
//! May import every module below the front layer (`domain` to `credentials`, `config`, `telemetry`), never
//! `cli`; `startup` wires it.

pub mod admin;
pub mod auth;
pub mod badges;
pub mod cache;
pub mod checks;
pub mod claim;
pub mod error;
pub mod extract;
pub mod issuer;
pub mod learner;
pub mod metadata;
pub mod observe;
pub mod operations;
pub mod page;
pub mod public;
pub mod relay;
pub mod shed;
pub mod status_lists;
pub mod upload;

use std::net::SocketAddr;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio::sync::watch;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use crate::credentials::keys::keystore::{KeyRing, Keystore};
use crate::credentials::keys::Alg;
use crate::credentials::ob3::Program;
use crate::credentials::secure::Securing;

use crate::store::Store;

/// What every handler reads.
#[derive(Clone)]
pub struct AppState {
    /// Blocks behind the head after which `/readyz` reports the indexer as lagging.
    pub max_lag: u64,
    /// The service's signing key, when it has one (admin issuance and status changes need it).
    pub signer: Option<alloy::signers::local::PrivateKeySigner>,
    /// Resolved settings: flags over environment over `laurel.toml` over defaults.
    pub settings: crate::config::Settings,
    /// The node and the deployment it serves.
    pub node: crate::chain::Node,
    /// The Postgres mirror of the deployment's contracts (read by most handlers).
    pub store: Store,
    /// The hot-path view of the mirror.
    pub cache: std::sync::Arc<cache::MirrorCache>,
    /// The issuer keys that sign Open Badges credentials and status lists (none: nothing is signed).
    pub keys: std::sync::Arc<KeyRing>,
    /// The Bitstring status lists computed lately.
    pub status_lists: std::sync::Arc<status_lists::StatusLists>,
}

impl AppState {
    /// The state over connected parts (startup connects them), with no signing or issuer key.
    pub fn new(settings: crate::config::Settings, node: crate::chain::Node, store: Store) -> Self {
        Self {
            max_lag: 20,
            signer: None,
            settings,
            node,
            store,
            cache: Default::default(),
            keys: std::sync::Arc::new(KeyRing::fixed(Default::default())),
            status_lists: Default::default(),
        }
    }

    /// The Postgres mirror handlers read from (the state's `store`).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The node, for live checks.
    pub fn provider(&self) -> &DynProvider {
        &self.node.provider
    }

    /// Chain id of the deployment.
    pub fn chain_id(&self) -> u64 {
        self.node.chain_id()
    }

    /// Address of the deployment's CredentialRegistry, from the deployment record.
    pub fn registry(&self) -> Address {
        self.node.deployment.credential_registry
    }

    /// The issuing program as credential documents name it, its DID settled by the issuer keys now.
    pub async fn program(
        &self,
    ) -> Result<crate::credentials::ob3::Program, crate::store::StoreError> {
        self.program_for(&self.keys.keys()).await
    }

    /// The issuing program with its DID settled by `keys` (the snapshot that will also sign).
    pub async fn program_for(
        &self,
        keys: &Keystore,
    ) -> Result<crate::credentials::ob3::Program, crate::store::StoreError> {
        let program = crate::credentials::ob3::Program::load(
            self.store(),
            self.chain_id(),
            self.registry(),
            &self.settings.issuer_name,
        )
        .await?;
        Ok(program.with_keys(keys))
    }

    /// The configured VC-JWT algorithm.
    pub fn jwt_alg(&self) -> Alg {
        Alg::parse(&self.settings.jwt_alg).unwrap_or(Alg::Rs256)
    }

    /// The issuer keys of `keys` signing `program`'s documents, with the configured VC-JWT algorithm.
    pub fn securing<'a>(&self, program: &'a Program, keys: &'a Keystore) -> Securing<'a> {
        Securing {
            program,
            keys,
            jwt_alg: self.jwt_alg(),
        }
    }

    /// The same state with the issuer keys that sign Open Badges credentials.
    pub fn with_keys(self, keys: std::sync::Arc<KeyRing>) -> Self {
        Self { keys, ..self }
    }

    /// The same state with the service's signing key.
    pub fn with_signer(self, signer: Option<alloy::signers::local::PrivateKeySigner>) -> Self {
        Self { signer, ..self }
    }
}

/// The OpenAPI document of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Laurel",
        description = "Verifiable micro-credentials and memberships on an Ethereum L2: public reads, verification, wallet metadata and admin issuance."
    ),
    paths(
        public::types,
        public::type_by_id,
        public::tiers,
        public::holder_credentials,
        public::holder_memberships,
        public::verify,
        metadata::credential_metadata,
        metadata::credential_image,
        metadata::membership_metadata,
        metadata::membership_image,
        badges::credential,
        checks::credential_checks,
        metadata::credential_image_png,
        metadata::membership_image_png,
        badges::badge_svg,
        badges::badge_png,
        badges::status,
        issuer::issuer,
        issuer::jwks,
        issuer::key,
        issuer::did,
        status_lists::status_list,
        admin::create_issuances,
        admin::issuance,
        admin::revocations,
        admin::suspensions,
        admin::reinstatements,
        admin::renewals,
        admin::membership_grants,
        operations::operation,
        relay::relayed_issuances,
        healthz,
        readyz
    ),
    components(schemas(
        error::ErrorBody,
        public::TypeDto,
        public::TierDto,
        public::CredentialDto,
        public::MembershipDto,
        public::HolderCredentials,
        public::HolderMemberships,
        public::Verification,
        public::Reflects,
        metadata::TokenMetadata,
        metadata::Attribute,
        badges::CredentialStatusList,
        badges::RevokedCredential,
        checks::Report,
        crate::credentials::presented::Check,
        admin::IssuanceBody,
        admin::IssuanceInput,
        admin::IssuanceStatus,
        admin::IssuanceAccepted,
        admin::Rejected,
        admin::ItemError,
        admin::StatusChange,
        admin::MembershipGrant,
        operations::Done,
        operations::Accepted,
        operations::Operation,
        relay::RelayBody,
        relay::RelayItem,
        relay::ToSign,
        relay::RelayAccepted,
        Health
    )),
    modifiers(&ApiKeyScheme)
)]
pub struct ApiDoc;

/// Declares the `api_key` bearer scheme the admin endpoints use.
struct ApiKeyScheme;

impl utoipa::Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "eip712",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`EIP712 <signature>` by an account holding the on-chain role, with `X-Laurel-Issued-At: <unix seconds>`. \
                 The account signs the EIP-712 struct LaurelRequest(string method,string path,bytes32 bodyHash,uint64 issuedAt) \
                 (bodyHash = keccak-256 of the body) in the domain {name: \"Laurel API\", version: \"1\", chainId, \
                 verifyingContract: the CredentialRegistry}. Good for 5 minutes around issuedAt, once.",
            ))),
        );
    }
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    let public = public_routes();
    let admin = admin_routes(&state);
    Router::new()
        .merge(public)
        .merge(admin)
        .route("/verify", get(page::verify_form))
        .route("/verify/{address}", get(page::verify_address))
        .route(
            "/verify/credential",
            axum::routing::post(upload::verify_credential),
        )
        .route("/learners/{address}", get(learner::learner_page))
        .route(
            "/claim/{code}",
            get(claim::claim_page).post(claim::claim_submit),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(observe::metrics))
        .route("/openapi.json", get(openapi))
        .route("/docs", get(page::docs))
        .fallback(not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(1 << 20))
        .layer(axum::middleware::from_fn_with_state(
            shed::Shedder::default(),
            shed::shed,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // A claim link's code is a secret: the span names the route, not the code.
                let path = req.uri().path();
                let path = if path.starts_with("/claim/") { "/claim/{code}" } else { path };
                tracing::info_span!("request", method = %req.method(), path = %path, request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            content_security_policy,
        ))
        .layer(observe::TrackLayer)
}

/// The public reads: types, tiers, holders, verify, wallet metadata and images, Open Badges, the issuer.
fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/types", get(public::types))
        .route("/v1/types/{id}", get(public::type_by_id))
        .route("/v1/tiers", get(public::tiers))
        .route(
            "/v1/holders/{address}/credentials",
            get(public::holder_credentials),
        )
        .route(
            "/v1/holders/{address}/memberships",
            get(public::holder_memberships),
        )
        .route("/v1/verify", get(public::verify))
        .route(
            "/v1/metadata/{chain}/{token}",
            get(metadata::credential_metadata),
        )
        .route(
            "/v1/metadata/{chain}/{token}/image.svg",
            get(metadata::credential_image),
        )
        .route(
            "/v1/membership-metadata/{chain}/{token}",
            get(metadata::membership_metadata),
        )
        .route(
            "/v1/membership-metadata/{chain}/{token}/image.svg",
            get(metadata::membership_image),
        )
        .route(
            "/v1/membership-metadata/{chain}/{token}/image.png",
            get(metadata::membership_image_png),
        )
        .route(
            "/v1/metadata/{chain}/{token}/image.png",
            get(metadata::credential_image_png),
        )
        .route(
            "/v1/credentials/{chain}/{token}/ob3",
            get(badges::credential),
        )
        .route(
            "/v1/credentials/{chain}/{token}/status",
            get(badges::status),
        )
        .route(
            "/v1/credentials/{chain}/{token}/badge.svg",
            get(badges::badge_svg),
        )
        .route(
            "/v1/credentials/{chain}/{token}/badge.png",
            get(badges::badge_png),
        )
        .route(
            "/v1/status-lists/{chain}/{purpose}/{list}",
            get(status_lists::status_list),
        )
        .route(
            "/v1/credential-checks",
            axum::routing::post(checks::credential_checks),
        )
        .route("/issuer", get(issuer::issuer))
        .route("/.well-known/jwks.json", get(issuer::jwks))
        .route("/.well-known/did.json", get(issuer::did))
        // did:web resolvers that read a bare-domain DID as `https://host/did.json` find it here too.
        .route("/did.json", get(issuer::did))
        .route("/keys/{id}", get(issuer::key))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=2"),
        ))
        .layer(CorsLayer::permissive())
}

/// The admin endpoints, behind the API-key or EIP-712 check.
fn admin_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/v1/issuances",
            axum::routing::post(admin::create_issuances),
        )
        .route("/v1/issuances/{id}", get(admin::issuance))
        .route("/v1/operations/{id}", get(operations::operation))
        .route(
            "/v1/relayed-issuances",
            axum::routing::post(relay::relayed_issuances),
        )
        .route("/v1/revocations", axum::routing::post(admin::revocations))
        .route("/v1/suspensions", axum::routing::post(admin::suspensions))
        .route(
            "/v1/reinstatements",
            axum::routing::post(admin::reinstatements),
        )
        .route("/v1/renewals", axum::routing::post(admin::renewals))
        .route(
            "/v1/membership-grants",
            axum::routing::post(admin::membership_grants),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::verify_signed,
        ))
}

pub use crate::credentials::metadata::escape;

/// The Content-Security-Policy of a document a browser renders: the verify and docs pages (no scripts, their
/// own inline styles, images and forms from this origin) and the SVG badges (nothing loads at all).
fn content_security_policy(res: &axum::response::Response) -> Option<HeaderValue> {
    let kind = res.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    if kind.starts_with("text/html") {
        Some(HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ))
    } else if kind.starts_with("image/svg+xml") {
        Some(HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
    } else {
        None
    }
}

async fn not_found() -> error::ApiError {
    error::ApiError::NotFound("no such endpoint; see /openapi.json".into())
}

async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

/// Health or readiness.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// What failed, when something did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Chain head, when the node answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_head: Option<u64>,
    /// Last indexed block, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexed_block: Option<u64>,
}

/// Liveness: the process answers and the database responds.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let ok = matches!(state.store().schema_version().await, Ok(Some(_)));
    let h = Health {
        status: if ok { "ok" } else { "unavailable" },
        problems: if ok {
            vec![]
        } else {
            vec!["the database does not answer or is not migrated".into()]
        },
        chain_head: None,
        indexed_block: None,
    };
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(h),
    )
}

/// How long any request may take before it is answered 503 (JSON); admin operations answer 202 before.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// `res`, or a JSON 503 when it is not ready within [`REQUEST_TIMEOUT`] (see [`shed::shed`]).
pub async fn within_time_limit(
    res: impl std::future::Future<Output = axum::response::Response>,
) -> axum::response::Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, res).await {
        Ok(res) => res,
        Err(_) => error::ApiError::Unavailable(format!(
            "the request took longer than {} s and was cut off; try again shortly",
            REQUEST_TIMEOUT.as_secs()
        ))
        .into_response(),
    }
}

/// Readiness: the database answers, the node answers, and the indexer is within `max_lag` blocks of the head.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let mut problems = Vec::new();
    let cursor = match state.store().cursor(state.chain_id()).await {
        Ok(c) => c,
        Err(_) => {
            problems.push("the database does not answer".to_string());
            None
        }
    };
    let head = match state.provider().get_block_number().await {
        Ok(h) => Some(h),
        Err(_) => {
            problems.push("the node does not answer".to_string());
            None
        }
    };
    let indexed = cursor.and_then(|c| c.indexed_block);
    if let Ok(Some(health)) = state.store().mirror_health(state.chain_id()).await {
        if let Some(reason) = health.rebuild_reason {
            problems.push(format!(
                "the mirror is being rebuilt from the deploy block ({} s so far): {reason}",
                health.rebuild_age_secs.unwrap_or(0)
            ));
        }
    }
    if let Some(h) = head {
        let lag = h.saturating_sub(indexed.unwrap_or(0));
        if indexed.is_none() || lag > state.max_lag {
            problems.push(format!("the indexer is {lag} blocks behind the head"));
        }
    }
    let ok = problems.is_empty();
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(Health {
            status: if ok { "ok" } else { "unavailable" },
            problems,
            chain_head: head,
            indexed_block: indexed,
        }),
    )
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address is taken or not allowed.
    #[error(
        "cannot listen on {addr}: {source}. Is another laurel running? Use --listen HOST:PORT"
    )]
    Bind {
        /// The listen address that could not be bound.
        addr: SocketAddr,
        /// The OS error from binding, e.g. address in use or permission denied.
        #[source]
        source: std::io::Error,
    },
    /// The server failed.
    #[error("the HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Binds the listen address (before anything announces it).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serves `router` on `listener` until `shutdown` turns true, finishing in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    tracing::info!(addr = %listener.local_addr()?, "HTTP listening");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
        tracing::info!("HTTP shutting down: no new connections; finishing the requests in flight");
    })
    .await?;
    Ok(())
}
