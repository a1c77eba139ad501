//! A submission's transaction: the pre-check's reads and the requests it writes, under a per-chain lock.

use alloy::primitives::{Address, B256};
use serde_json::Value;
use sqlx::{Postgres, Transaction};

use super::audit::audit;
use super::{NewRequest, Request, RequestState};
use crate::store::{b256, i, Store, StoreError};

/// A submission's transaction: what the pre-check reads and the requests it writes, under one per-chain
/// lock, so two submissions never decide on the same queue at once. Dropping it without
/// [`SubmissionTx::commit`] writes nothing.
pub struct SubmissionTx {
    tx: Transaction<'static, Postgres>,
    chain_id: u64,
}

/// A request as [`SubmissionTx::insert`] left it: the stored row for its key, what its first caller supplied,
/// and whether this insert created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The row stored under the key (new, or the earlier one).
    pub request: Request,
    /// The evidence the key's first caller supplied (the repeat comparison's input).
    pub supplied: B256,
    /// True when this insert created the row.
    pub created: bool,
}

/// Advisory-lock key of the submissions of a chain ("LAUR" in the high bytes, the chain id below).
fn submission_lock(chain_id: u64) -> i64 {
    (0x4C41_5552_u64 << 32 | (chain_id & 0xFFFF_FFFF)) as i64
}

impl SubmissionTx {
    /// The chain whose queue this submission writes.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Open requests for any of the (type, holder) pairs.
    pub async fn open_pairs(
        &mut self,
        pairs: &[(u64, Address)],
    ) -> Result<Vec<OpenPair>, StoreError> {
        open_pairs(&mut *self.tx, self.chain_id, pairs).await
    }

    /// Which of `keys` are already used (in any state).
    pub async fn used_keys(
        &mut self,
        keys: &[&str],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        used_keys(&mut *self.tx, self.chain_id, keys).await
    }

    /// Every credential type, by id (the mirror's).
    pub async fn credential_types(
        &mut self,
    ) -> Result<Vec<crate::domain::CredentialTypeRow>, StoreError> {
        crate::store::projection::credential_types(&mut *self.tx, self.chain_id).await
    }

    /// Both registries' pause flag and base URI (the mirror's).
    pub async fn registry_state(
        &mut self,
    ) -> Result<Vec<crate::domain::RegistryStateRow>, StoreError> {
        crate::store::projection::registry_state(&mut *self.tx, self.chain_id).await
    }

    /// Role holders in one scope or all (the mirror's).
    pub async fn roles(
        &mut self,
        scope: Option<crate::domain::RoleScope>,
    ) -> Result<Vec<crate::domain::RoleRow>, StoreError> {
        crate::store::projection::roles(&mut *self.tx, self.chain_id, scope).await
    }

    /// Every credential issued to any of `holders` (the mirror's).
    pub async fn credentials_of_holders(
        &mut self,
        holders: &[Address],
    ) -> Result<Vec<crate::domain::CredentialRow>, StoreError> {
        crate::store::projection::credentials_of_holders(&mut *self.tx, self.chain_id, holders)
            .await
    }

    /// Inserts `requests` (their claim documents first) under their idempotency keys; a key used before is
    /// left as it is. Returns, in input order, the row stored under each key.
    pub async fn insert(&mut self, requests: &[NewRequest]) -> Result<Vec<Stored>, StoreError> {
        let chain_id = self.chain_id;
        let keys: Vec<&str> = requests
            .iter()
            .map(|r| r.idempotency_key.as_str())
            .collect();
        let types: Vec<i64> = requests.iter().map(|r| i(r.type_id.get())).collect();
        let holders: Vec<&[u8]> = requests.iter().map(|r| r.holder.as_slice()).collect();
        let expiries: Vec<i64> = requests.iter().map(|r| i(r.expires_at)).collect();
        let evidence_hashes: Vec<B256> = requests.iter().map(|r| r.evidence_hash()).collect();
        let evidence: Vec<&[u8]> = evidence_hashes.iter().map(|h| h.as_slice()).collect();
        let supplied: Vec<&[u8]> = requests.iter().map(|r| r.evidence.as_slice()).collect();
        let sources: Vec<&str> = requests.iter().map(|r| r.source.as_str()).collect();
        let (doc_hashes, doc_texts): (Vec<&[u8]>, Vec<&str>) = requests
            .iter()
            .filter_map(|r| r.document.as_ref())
            .map(|d| (d.hash.as_slice(), d.text.as_str()))
            .unzip();
        let tx = &mut self.tx;
        // The documents first, in the same transaction: a queued request always has its document.
        sqlx::query!(
            "INSERT INTO credential_documents (chain_id, document_hash, document)
             SELECT $1, * FROM UNNEST($2::bytea[], $3::text[])
             ON CONFLICT (chain_id, document_hash) DO NOTHING",
            i(chain_id),
            &doc_hashes as &[&[u8]],
            &doc_texts as &[&str]
        )
        .execute(&mut **tx)
        .await?;
        let created: Vec<String> = sqlx::query_scalar!(
            "INSERT INTO issuance_requests
                 (chain_id, idempotency_key, type_id, holder, expires_at, evidence_hash, supplied_evidence, source)
             SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::bytea[], $5::bigint[], $6::bytea[], $7::bytea[],
                                      $8::text[])
             ON CONFLICT (chain_id, idempotency_key) DO NOTHING
             RETURNING idempotency_key",
            i(chain_id),
            &keys as &[&str],
            &types,
            &holders as &[&[u8]],
            &expiries,
            &evidence as &[&[u8]],
            &supplied as &[&[u8]],
            &sources as &[&str]
        )
        .fetch_all(&mut **tx)
        .await?;
        let created: std::collections::HashSet<String> = created.into_iter().collect();
        let by_key = stored_under(&mut **tx, chain_id, &keys).await?;
        Ok(requests
            .iter()
            .map(|n| {
                let (request, supplied) = by_key[&n.idempotency_key].clone();
                Stored {
                    request,
                    supplied,
                    created: created.contains(&n.idempotency_key),
                }
            })
            .collect())
    }

    /// The requests stored under any of `keys`, with the evidence their callers supplied, by key.
    pub async fn stored(
        &mut self,
        keys: &[&str],
    ) -> Result<std::collections::HashMap<String, (Request, B256)>, StoreError> {
        stored_under(&mut *self.tx, self.chain_id, keys).await
    }

    /// Appends an audit record in this transaction.
    pub async fn audit(
        &mut self,
        actor: &str,
        action: &str,
        detail: &Value,
    ) -> Result<(), StoreError> {
        audit(&mut *self.tx, Some(self.chain_id), actor, action, detail).await
    }

    /// Commits what the submission wrote, and releases the lock.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// An open (queued or submitted) request for a (type, holder) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPair {
    /// Credential type id.
    pub type_id: u64,
    /// The address the open request issues to.
    pub holder: Address,
    /// The request's idempotency key.
    pub idempotency_key: String,
    /// The request's id.
    pub id: i64,
}

/// Open requests of `chain_id` for any of the (type, holder) pairs.
async fn open_pairs<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: u64,
    pairs: &[(u64, Address)],
) -> Result<Vec<OpenPair>, StoreError> {
    let types: Vec<i64> = pairs.iter().map(|p| i(p.0)).collect();
    let holders: Vec<&[u8]> = pairs.iter().map(|p| p.1.as_slice()).collect();
    let rows = sqlx::query!(
        "SELECT r.type_id, r.holder, r.idempotency_key, r.id FROM issuance_requests r
         JOIN UNNEST($2::bigint[], $3::bytea[]) AS p(type_id, holder)
           ON r.type_id = p.type_id AND r.holder = p.holder
         WHERE r.chain_id = $1 AND r.state IN ('queued', 'submitted')",
        i(chain_id),
        &types,
        &holders as &[&[u8]]
    )
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OpenPair {
            type_id: r.type_id as u64,
            holder: Address::from_slice(&r.holder),
            idempotency_key: r.idempotency_key,
            id: r.id,
        })
        .collect())
}

/// The requests of `chain_id` under any of `keys`, with the evidence their callers supplied, by key.
async fn stored_under<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: u64,
    keys: &[&str],
) -> Result<std::collections::HashMap<String, (Request, B256)>, StoreError> {
    let rows = sqlx::query!(
        "SELECT id, idempotency_key, type_id, holder, expires_at, evidence_hash, state, batch_id, error,
                confirmed_tx, confirmed_block, attempts, supplied_evidence
         FROM issuance_requests WHERE chain_id = $1 AND idempotency_key = ANY($2)",
        i(chain_id),
        keys as &[&str]
    )
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let supplied = b256(&r.supplied_evidence);
            (r.idempotency_key.clone(), (request_from_row!(r), supplied))
        })
        .collect())
}

/// Which of `keys` are already used by requests of `chain_id` (in any state).
async fn used_keys<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: u64,
    keys: &[&str],
) -> Result<std::collections::HashSet<String>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT idempotency_key FROM issuance_requests WHERE chain_id = $1 AND idempotency_key = ANY($2)",
        i(chain_id),
        keys as &[&str]
    )
    .fetch_all(ex)
    .await?
    .into_iter()
    .collect())
}

impl Store {
    /// Opens a submission's transaction on `chain_id`, waiting for any other submission on it to end.
    pub async fn begin_submission(&self, chain_id: u64) -> Result<SubmissionTx, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(submission_lock(chain_id))
            .execute(&mut *tx)
            .await?;
        Ok(SubmissionTx { tx, chain_id })
    }

    /// Open requests of `chain_id` for any of the (type, holder) pairs.
    pub async fn open_pairs(
        &self,
        chain_id: u64,
        pairs: &[(u64, Address)],
    ) -> Result<Vec<OpenPair>, StoreError> {
        open_pairs(self.pool(), chain_id, pairs).await
    }

    /// Which of `keys` are already used by requests of `chain_id` (in any state).
    pub async fn used_keys(
        &self,
        chain_id: u64,
        keys: &[&str],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        used_keys(self.pool(), chain_id, keys).await
    }
}
