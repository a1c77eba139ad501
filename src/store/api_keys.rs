//! Admin API credentials: the scopes a key may hold, API keys (created with a name and scopes, stored as a hash,
//! looked up by hash, revocable), and the digests of accepted EIP-712 signed requests (each accepted once).

use alloy::primitives::{keccak256, B256};

use super::{Store, StoreError};

/// Scopes an API key may hold.
pub const SCOPES: &[&str] = &["issue", "read", "revoke", "renew", "membership"];

/// Hash under which a key is stored (keccak-256 of the key's text); the key itself is never stored.
pub fn key_hash(key: &str) -> B256 {
    keccak256(key.as_bytes())
}

/// A stored API key (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Row id in `api_keys`.
    pub id: i64,
    /// Name given at creation.
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    /// Scopes, e.g. `issue`, `revoke`.
    pub scopes: Vec<String>,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl Store {
    /// Stores a new key's hash; returns its id.
    pub async fn create_api_key(
        &self,
        name: &str,
        prefix: &str,
        key_hash: B256,
        scopes: &[String],
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            "INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4) RETURNING id",
            name,
            prefix,
            key_hash.as_slice(),
            scopes
        )
        .fetch_one(self.pool())
        .await?)
    }

    /// The live key with this hash, marking it used.
    pub async fn api_key_by_hash(&self, key_hash: B256) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query!(
            "UPDATE api_keys SET last_used_at = now() WHERE key_hash = $1 AND revoked_at IS NULL
             RETURNING id, name, prefix, scopes",
            key_hash.as_slice()
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| ApiKey {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            scopes: r.scopes,
            revoked: false,
        }))
    }

    /// Every key, newest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, name, prefix, scopes, revoked_at IS NOT NULL AS \"revoked!\" FROM api_keys ORDER BY id DESC"
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ApiKey {
                id: r.id,
                name: r.name,
                prefix: r.prefix,
                scopes: r.scopes,
                revoked: r.revoked,
            })
            .collect())
    }

    /// Revokes key `id`; false when no live key has that id.
    pub async fn revoke_api_key(&self, id: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query!(
            "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
            id
        )
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1)
    }
}

impl Store {
    /// Records the digest of an admin request `signer` signed; false when it was already used (a replay). Prunes
    /// digests older than an hour, long past their five-minute window.
    pub async fn use_signed_request(
        &self,
        chain_id: u64,
        digest: alloy::primitives::B256,
        signer: alloy::primitives::Address,
    ) -> Result<bool, StoreError> {
        sqlx::query!("DELETE FROM signed_requests WHERE used_at < now() - interval '1 hour'")
            .execute(self.pool())
            .await?;
        let fresh = sqlx::query_scalar!(
            "INSERT INTO signed_requests (chain_id, digest, signer) VALUES ($1, $2, $3)
             ON CONFLICT (chain_id, digest, signer) DO NOTHING RETURNING 1 AS \"one!\"",
            super::i(chain_id),
            digest.as_slice(),
            signer.as_slice()
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(fresh.is_some())
    }
}
