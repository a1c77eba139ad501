//! Configuration: flags, then environment (`LAUREL_*`, `DATABASE_URL`), then `laurel.toml`, then defaults.
//!
//! Each source is a [`Layer`] of optional values; [`Layer::over`] stacks them and [`Settings::resolve`] turns
//! the result into checked settings. Chain profiles give each supported network its chain id, confirmation
//! depth fallback and whether its RPCs serve the `safe`/`finalized` block tags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a supported network is like, as far as Laurel cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChainProfile {
    /// Name used in config files and `--chain`.
    pub name: &'static str,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Blocks after which a block counts as final when the node serves no `finalized`/`safe` tag.
    pub confirmation_depth: u64,
    /// Whether the chain's RPCs answer the `safe` and `finalized` block tags.
    pub finality_tags: bool,
    /// OP-stack chain: transactions also pay an L1 data fee (GasPriceOracle predeploy).
    pub op_stack: bool,
    /// Typical block time in milliseconds.
    pub block_time_ms: u64,
}

/// Every chain Laurel has a profile for.
pub const CHAINS: &[ChainProfile] = &[
    ChainProfile {
        name: "anvil",
        chain_id: 31337,
        confirmation_depth: 2,
        finality_tags: true,
        op_stack: false,
        block_time_ms: 1000,
    },
    ChainProfile {
        name: "base",
        chain_id: 8453,
        confirmation_depth: 60,
        finality_tags: true,
        op_stack: true,
        block_time_ms: 2000,
    },
    ChainProfile {
        name: "base-sepolia",
        chain_id: 84532,
        confirmation_depth: 60,
        finality_tags: true,
        op_stack: true,
        block_time_ms: 2000,
    },
    ChainProfile {
        name: "optimism",
        chain_id: 10,
        confirmation_depth: 60,
        finality_tags: true,
        op_stack: true,
        block_time_ms: 2000,
    },
    ChainProfile {
        name: "optimism-sepolia",
        chain_id: 11155420,
        confirmation_depth: 60,
        finality_tags: true,
        op_stack: true,
        block_time_ms: 2000,
    },
    ChainProfile {
        name: "arbitrum",
        chain_id: 42161,
        confirmation_depth: 240,
        finality_tags: true,
        op_stack: false,
        block_time_ms: 250,
    },
    ChainProfile {
        name: "arbitrum-sepolia",
        chain_id: 421614,
        confirmation_depth: 240,
        finality_tags: true,
        op_stack: false,
        block_time_ms: 250,
    },
];

impl ChainProfile {
    /// The profile named `name` (case-insensitive).
    pub fn by_name(name: &str) -> Option<&'static ChainProfile> {
        CHAINS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The profile of chain id `id`.
    pub fn by_id(id: u64) -> Option<&'static ChainProfile> {
        CHAINS.iter().find(|c| c.chain_id == id)
    }
}

/// One source of configuration; every field optional. Field names are the `laurel.toml` keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Chain profile name (`anvil`, `base`, `optimism`, `arbitrum`, and their `-sepolia` test networks).
    pub chain: Option<String>,
    /// JSON-RPC endpoint of the chain.
    pub rpc_url: Option<String>,
    /// Postgres URL of the mirror.
    pub database_url: Option<String>,
    /// Deployment record written by `scripts/deploy` (default `deployments/<chainId>.json`).
    pub deployment: Option<PathBuf>,
    /// HTTP listen address.
    pub listen: Option<String>,
    /// Overrides the profile's confirmation depth.
    pub confirmations: Option<u64>,
    /// Encrypted keystore file holding the service's signing key.
    pub keystore: Option<PathBuf>,
    /// The program's name as the issuer of its Open Badges credentials.
    pub issuer_name: Option<String>,
    /// The worker replaces a transaction unmined this many seconds with higher fees.
    pub stuck_after_secs: Option<u64>,
    /// Requests per issuance batch (at most 1,000).
    pub max_batch: Option<u64>,
    /// Issuance batches sent but not yet mined, at most.
    pub max_in_flight: Option<u64>,
    /// Blocks the mirror may lag the chain head before authorization read from it is refused.
    pub max_auth_lag: Option<u64>,
    /// The issuer keystore file (the keys that sign Open Badges credentials; `laurel keys init` makes it).
    pub issuer_keystore: Option<PathBuf>,
    /// The VC-JWT algorithm: `RS256` (default), `ES256` or `EdDSA`.
    pub jwt_alg: Option<String>,
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// File that was read.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for Laurel.
    #[error("the config file {path} is not valid: {message}")]
    Parse {
        /// File that was parsed.
        path: PathBuf,
        /// What was wrong, with line and column.
        message: String,
    },
    /// The chain name is not one Laurel knows.
    #[error("unknown chain {name:?}; known chains: {known}")]
    UnknownChain {
        /// The chain name as given (`--chain`, `LAUREL_CHAIN` or `chain` in `laurel.toml`).
        name: String,
        /// Comma-separated known names.
        known: String,
    },
    /// An environment variable holds a value of the wrong kind.
    #[error("environment variable {var}={value:?} is not valid: {why}")]
    BadEnv {
        /// The environment variable that holds it, e.g. `LAUREL_MAX_BATCH`.
        var: &'static str,
        /// The variable's text as set (not trimmed).
        value: String,
        /// Why it was rejected.
        why: String,
    },
    /// The listen address does not parse.
    #[error("listen address {0:?} is not host:port (e.g. 127.0.0.1:8787)")]
    BadListen(String),
    /// The VC-JWT algorithm is not one Laurel signs with.
    #[error("JWT algorithm {0:?} (LAUREL_JWT_ALG or jwt_alg) is not one of RS256, ES256, EdDSA")]
    BadJwtAlg(String),
}

impl Layer {
    /// `self` with every unset field taken from `lower` (self wins).
    pub fn over(self, lower: Layer) -> Layer {
        Layer {
            chain: self.chain.or(lower.chain),
            rpc_url: self.rpc_url.or(lower.rpc_url),
            database_url: self.database_url.or(lower.database_url),
            deployment: self.deployment.or(lower.deployment),
            listen: self.listen.or(lower.listen),
            confirmations: self.confirmations.or(lower.confirmations),
            keystore: self.keystore.or(lower.keystore),
            issuer_name: self.issuer_name.or(lower.issuer_name),
            stuck_after_secs: self.stuck_after_secs.or(lower.stuck_after_secs),
            max_batch: self.max_batch.or(lower.max_batch),
            max_in_flight: self.max_in_flight.or(lower.max_in_flight),
            max_auth_lag: self.max_auth_lag.or(lower.max_auth_lag),
            issuer_keystore: self.issuer_keystore.or(lower.issuer_keystore),
            jwt_alg: self.jwt_alg.or(lower.jwt_alg),
        }
    }

    /// Reads `laurel.toml`-style configuration from `path`; a missing file is an empty layer only when
    /// `required` is false.
    pub fn from_file(path: &Path, required: bool) -> Result<Layer, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Layer::default())
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Reads the `LAUREL_*` variables and `DATABASE_URL` through `get` (the process environment in production).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Layer, ConfigError> {
        let number = |var: &'static str| match get(var) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(Some)
                .map_err(|e| ConfigError::BadEnv {
                    var,
                    value: v.clone(),
                    why: e.to_string(),
                }),
        };
        let confirmations = number("LAUREL_CONFIRMATIONS")?;
        let stuck_after_secs = number("LAUREL_STUCK_AFTER_SECS")?;
        let max_batch = number("LAUREL_MAX_BATCH")?;
        let max_in_flight = number("LAUREL_MAX_IN_FLIGHT")?;
        let max_auth_lag = number("LAUREL_MAX_AUTH_LAG")?;
        Ok(Layer {
            chain: get("LAUREL_CHAIN"),
            rpc_url: get("LAUREL_RPC_URL"),
            database_url: get("LAUREL_DATABASE_URL").or_else(|| get("DATABASE_URL")),
            deployment: get("LAUREL_DEPLOYMENT").map(PathBuf::from),
            listen: get("LAUREL_LISTEN"),
            confirmations,
            keystore: get("LAUREL_KEYSTORE").map(PathBuf::from),
            issuer_name: get("LAUREL_ISSUER_NAME"),
            stuck_after_secs,
            max_batch,
            max_in_flight,
            max_auth_lag,
            issuer_keystore: get("LAUREL_ISSUER_KEYSTORE").map(PathBuf::from),
            jwt_alg: get("LAUREL_JWT_ALG"),
        })
    }
}

/// Checked, complete settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// The chain profile.
    pub chain: ChainProfile,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// Postgres URL, if configured.
    pub database_url: Option<String>,
    /// Deployment record path.
    pub deployment: PathBuf,
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Blocks after which a block is final when the node has no finality tags.
    pub confirmations: u64,
    /// Keystore file, if configured.
    pub keystore: Option<PathBuf>,
    /// The issuer name in Open Badges credentials (default "Laurel").
    pub issuer_name: String,
    /// The issuance worker's pacing.
    pub pacing: Pacing,
    /// Blocks the mirror may lag the chain head before the API refuses (503) an authorization decision it
    /// would read from the mirror (an account's roles), default 10.
    pub max_auth_lag: u64,
    /// The issuer keystore file, if configured (else `LAUREL_ISSUER_KEYS` may hold the keys).
    pub issuer_keystore: Option<PathBuf>,
    /// The VC-JWT algorithm, by its JOSE name (`RS256` by default: the one OB 3.0 requires verifiers take).
    pub jwt_alg: String,
}

/// The algorithms a VC-JWT may be signed with, by JOSE name.
pub const JWT_ALGS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// How the issuance worker paces its batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pacing {
    /// Seconds after which an unmined transaction is replaced with higher fees (default 45, at least 1).
    pub stuck_after_secs: u64,
    /// Requests per batch (default and ceiling 1,000, at least 1).
    pub max_batch: u64,
    /// Batches sent but not yet mined, at most (default 4, at least 1).
    pub max_in_flight: u64,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            stuck_after_secs: 45,
            max_batch: 1_000,
            max_in_flight: 4,
        }
    }
}

/// The issuer name of Open Badges credentials when none is configured.
pub const DEFAULT_ISSUER_NAME: &str = "Laurel";

/// Blocks the mirror may lag before authorization read from it is refused, by default.
pub const DEFAULT_MAX_AUTH_LAG: u64 = 10;

/// Default HTTP listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

impl Settings {
    /// Fills defaults and checks values: chain `anvil` at `http://127.0.0.1:8545`, listen `127.0.0.1:8787`,
    /// deployment `deployments/<chainId>.json`, confirmations from the chain profile.
    pub fn resolve(layer: Layer) -> Result<Settings, ConfigError> {
        let name = layer.chain.unwrap_or_else(|| "anvil".to_string());
        let chain = *ChainProfile::by_name(&name).ok_or_else(|| ConfigError::UnknownChain {
            name: name.clone(),
            known: CHAINS.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
        })?;
        let listen_text = layer.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text
            .parse::<SocketAddr>()
            .map_err(|_| ConfigError::BadListen(listen_text.clone()))?;
        let jwt_alg = match layer.jwt_alg {
            None => JWT_ALGS[0].to_string(),
            Some(a) => JWT_ALGS
                .iter()
                .find(|k| k.eq_ignore_ascii_case(a.trim()))
                .map(|k| k.to_string())
                .ok_or(ConfigError::BadJwtAlg(a))?,
        };
        Ok(Settings {
            chain,
            rpc_url: layer
                .rpc_url
                .unwrap_or_else(|| "http://127.0.0.1:8545".to_string()),
            database_url: layer.database_url,
            deployment: layer
                .deployment
                .unwrap_or_else(|| PathBuf::from(format!("deployments/{}.json", chain.chain_id))),
            listen,
            confirmations: layer.confirmations.unwrap_or(chain.confirmation_depth),
            keystore: layer.keystore,
            issuer_name: layer
                .issuer_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_ISSUER_NAME.to_string()),
            pacing: Pacing {
                stuck_after_secs: layer.stuck_after_secs.map_or(45, |v| v.max(1)),
                max_batch: layer.max_batch.map_or(1_000, |v| v.clamp(1, 1_000)),
                max_in_flight: layer.max_in_flight.map_or(4, |v| v.max(1)),
            },
            max_auth_lag: layer.max_auth_lag.unwrap_or(DEFAULT_MAX_AUTH_LAG),
            issuer_keystore: layer.issuer_keystore,
            jwt_alg,
        })
    }

    /// How often the long-running loops poll when idle: half the chain's block time, within 0.1–1 s.
    pub fn idle_poll(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.chain.block_time_ms.clamp(200, 2_000) / 2)
    }

    /// The settings as TOML for display: the database URL's password and the RPC URL's credentials, path and
    /// query (where providers put API keys) replaced by `***`.
    pub fn to_display_toml(&self) -> String {
        let mut lines = vec![
            format!(
                "chain = {:?}  # chain id {}",
                self.chain.name, self.chain.chain_id
            ),
            format!("rpc_url = {:?}", redact_url(&self.rpc_url)),
        ];
        if let Some(db) = &self.database_url {
            lines.push(format!("database_url = {:?}", redact_password(db)));
        }
        lines.push(format!(
            "deployment = {:?}",
            self.deployment.display().to_string()
        ));
        lines.push(format!("listen = {:?}", self.listen.to_string()));
        lines.push(format!("confirmations = {}", self.confirmations));
        if let Some(k) = &self.keystore {
            lines.push(format!("keystore = {:?}", k.display().to_string()));
        }
        lines.push(format!("issuer_name = {:?}", self.issuer_name));
        lines.push(format!(
            "stuck_after_secs = {}",
            self.pacing.stuck_after_secs
        ));
        lines.push(format!("max_batch = {}", self.pacing.max_batch));
        lines.push(format!("max_in_flight = {}", self.pacing.max_in_flight));
        lines.push(format!("max_auth_lag = {}", self.max_auth_lag));
        if let Some(k) = &self.issuer_keystore {
            lines.push(format!("issuer_keystore = {:?}", k.display().to_string()));
        }
        lines.push(format!("jwt_alg = {:?}", self.jwt_alg));
        lines.join("\n") + "\n"
    }
}

/// A URL safe to show: scheme, host and port only; credentials, path and query (where providers put API
/// keys) become `***`. `https://key@rpc.example/v2/abc?x=1` → `https://***@rpc.example/***`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return "***".into();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = match authority.rfind('@') {
        Some(at) => format!("***@{}", &authority[at + 1..]),
        None => authority.to_string(),
    };
    let tail = if tail.is_empty() || tail == "/" {
        tail
    } else {
        "/***"
    };
    format!("{}{host}{tail}", &url[..scheme_end])
}

/// `text` with every URL in it (`http`, `https`, `ws`, `wss`) shown as [`redact_url`] shows it: for error
/// messages, which carry the RPC URL in the forms the HTTP client prints (credentials dropped or not).
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let schemes = [
        "http://",
        "https://",
        "ws://",
        "wss://",
        "postgres://",
        "postgresql://",
    ];
    while let Some(start) = schemes.iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '<' | '>' | ','))
            .unwrap_or(tail.len());
        let url = &tail[..end];
        // A database URL keeps its host and database (they help, and are no secret); its password goes.
        if url.starts_with("postgres") {
            out.push_str(&redact_password(url));
        } else {
            out.push_str(&redact_url(url));
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// What a child process (anvil, the Postgres and deploy scripts, forge) inherits of Laurel's environment:
/// the system's basics and the scripts' own settings — never the signing key, the database URL or the RPC
/// URL unless the caller passes one on purpose.
pub const CHILD_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TERM",
    "NO_COLOR",
    "LAUREL_ROOT",
    "LAUREL_PG_PORT",
    "LAUREL_PG_SCRATCH",
];

/// The variables of [`CHILD_ENV`] that are set, with their values.
pub fn child_env() -> Vec<(String, String)> {
    CHILD_ENV
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect()
}

/// `scheme://user:secret@host/...` → `scheme://user:***@host/...`.
pub fn redact_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let Some(at) = rest.find('@') else {
        return url.to_string();
    };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &userinfo[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn flags_beat_env_beat_file_beat_defaults() {
        let file: Layer = toml::from_str("chain = \"base\"\nrpc_url = \"http://file\"\nlisten = \"0.0.0.0:9000\"\nconfirmations = 5\n").unwrap();
        let envl = Layer::from_env(env(&[
            ("LAUREL_RPC_URL", "http://env"),
            ("DATABASE_URL", "postgres://env/db"),
        ]))
        .unwrap();
        let flags = Layer {
            rpc_url: Some("http://flag".into()),
            ..Layer::default()
        };
        let s = Settings::resolve(flags.over(envl.over(file))).unwrap();
        assert_eq!(s.rpc_url, "http://flag");
        assert_eq!(s.database_url.as_deref(), Some("postgres://env/db"));
        assert_eq!(s.chain.chain_id, 8453, "chain from the file");
        assert_eq!(s.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(
            s.confirmations, 5,
            "explicit confirmations override the profile"
        );
        assert_eq!(s.deployment, PathBuf::from("deployments/8453.json"));
    }

    #[test]
    fn defaults_are_a_local_anvil() {
        let s = Settings::resolve(Layer::default()).unwrap();
        assert_eq!(s.chain.name, "anvil");
        assert_eq!(s.rpc_url, "http://127.0.0.1:8545");
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.confirmations, 2);
        assert_eq!(s.deployment, PathBuf::from("deployments/31337.json"));
    }

    #[test]
    fn laurel_database_url_beats_database_url() {
        let l = Layer::from_env(env(&[
            ("DATABASE_URL", "postgres://a/a"),
            ("LAUREL_DATABASE_URL", "postgres://b/b"),
        ]))
        .unwrap();
        assert_eq!(l.database_url.as_deref(), Some("postgres://b/b"));
    }

    #[test]
    fn bad_values_name_what_is_wrong() {
        let e = Settings::resolve(Layer {
            chain: Some("solana".into()),
            ..Layer::default()
        })
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("solana") && msg.contains("base-sepolia"),
            "{msg}"
        );
        let e = Layer::from_env(env(&[("LAUREL_CONFIRMATIONS", "ten")])).unwrap_err();
        assert!(e.to_string().contains("LAUREL_CONFIRMATIONS"), "{e}");
        let e = Settings::resolve(Layer {
            listen: Some("8787".into()),
            ..Layer::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("host:port"), "{e}");
        let e = toml::from_str::<Layer>("rpc = \"x\"").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn a_missing_optional_file_is_empty_but_a_named_one_must_exist() {
        let missing = Path::new("/nonexistent/laurel.toml");
        assert_eq!(Layer::from_file(missing, false).unwrap(), Layer::default());
        assert!(matches!(
            Layer::from_file(missing, true),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn profiles_cover_the_l2s_and_their_test_networks() {
        for (name, id) in [
            ("base", 8453),
            ("optimism", 10),
            ("arbitrum", 42161),
            ("base-sepolia", 84532),
            ("optimism-sepolia", 11155420),
            ("arbitrum-sepolia", 421614),
        ] {
            assert_eq!(ChainProfile::by_name(name).map(|c| c.chain_id), Some(id));
            assert_eq!(ChainProfile::by_id(id).map(|c| c.name), Some(name));
        }
        assert!(ChainProfile::by_name("base").unwrap().op_stack);
        assert!(!ChainProfile::by_name("arbitrum").unwrap().op_stack);
    }

    #[test]
    fn urls_are_redacted_to_scheme_and_host() {
        assert_eq!(
            redact_url("https://key:pw@rpc.example:8545/v2/abc?x=1"),
            "https://***@rpc.example:8545/***"
        );
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(
            redact_url("http://127.0.0.1:8545/"),
            "http://127.0.0.1:8545/"
        );
        assert_eq!(redact_url("wss://h/?k=v"), "wss://h/***");
        assert_eq!(redact_url("no scheme"), "***");
        let e = "error sending request for url (https://arb.example/v2/SECRETKEY?k=1): refused; \
                 retried http://u:pw@10.0.0.1:8545/x, gave up";
        assert_eq!(
            redact_urls(e),
            "error sending request for url (https://arb.example/***): refused; \
                 retried http://***@10.0.0.1:8545/***, gave up"
        );
    }

    #[test]
    fn passwords_are_redacted_for_display() {
        assert_eq!(
            redact_password("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_password("postgres://u@h/db"), "postgres://u@h/db");
        let s = Settings::resolve(Layer {
            database_url: Some("postgres://u:pw@h/db".into()),
            ..Layer::default()
        })
        .unwrap();
        assert!(!s.to_display_toml().contains("pw"));
    }
}
