//! `laurel admin key create|list|revoke`: API keys of the admin HTTP API. A key is printed once, at creation;
//! only its hash is stored.

use anyhow::{bail, Result};
use clap::Subcommand;

use crate::store::api_keys::{key_hash, SCOPES};
use crate::store::Store;

/// `laurel admin …`.
#[derive(Subcommand, Debug)]
pub enum AdminCmd {
    /// API keys of the admin HTTP API.
    #[command(subcommand)]
    Key(KeyCmd),
}

/// `laurel admin key …`.
#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Create a key; it is printed once and only its hash is stored.
    Create {
        /// A name to recognise it by (e.g. the system that will use it).
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: issue (queue issuances), read (read issuance requests), revoke (revoke,
        /// suspend, reinstate), renew, membership (grant memberships).
        #[arg(long, value_name = "LIST")]
        scopes: String,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id.
    Revoke {
        /// Key id (from `list`).
        id: i64,
    },
}

/// Runs `laurel admin`.
pub async fn run(store: &Store, cmd: AdminCmd) -> Result<()> {
    match cmd {
        AdminCmd::Key(KeyCmd::Create { name, scopes }) => {
            let scopes: Vec<String> = scopes
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect();
            if scopes.is_empty() {
                bail!("give at least one scope: {}", SCOPES.join(", "));
            }
            if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
                bail!("unknown scope {bad:?}; scopes are {}", SCOPES.join(", "));
            }
            let key = format!(
                "lrl_{}",
                alloy::hex::encode(alloy::signers::local::PrivateKeySigner::random().to_bytes())
            );
            let id = store
                .create_api_key(&name, &key[..10], key_hash(&key), &scopes)
                .await?;
            eprintln!(
                "API key {id} ({name}; scopes {}) — shown once, store it now:",
                scopes.join(",")
            );
            println!("{key}");
        }
        AdminCmd::Key(KeyCmd::List) => {
            println!(
                "{:>4}  {:<12} {:<24} {:<14} state",
                "id", "prefix", "name", "scopes"
            );
            for k in store.api_keys().await? {
                println!(
                    "{:>4}  {:<12} {:<24} {:<14} {}",
                    k.id,
                    format!("{}…", k.prefix),
                    k.name,
                    k.scopes.join(","),
                    if k.revoked { "revoked" } else { "live" }
                );
            }
        }
        AdminCmd::Key(KeyCmd::Revoke { id }) => {
            if !store.revoke_api_key(id).await? {
                bail!("no live API key has id {id}; see `laurel admin key list`");
            }
            println!("API key {id} revoked");
        }
    }
    Ok(())
}
