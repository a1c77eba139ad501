//! The issuance queue's tables: requests under idempotency keys, batches claimed with `FOR UPDATE SKIP
//! LOCKED`, every signed transaction (stored before it is broadcast), the nonce each signer uses next, and the
//! audit log.

use super::{b256, i};
use alloy::primitives::{Address, B256};
use serde_json::Value;
use sqlx::{Postgres, Transaction};

use super::{Store, StoreError};

/// A request to issue one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    /// Caller-chosen key; a second request with the same key returns the first.
    pub idempotency_key: String,
    /// Credential type id.
    pub type_id: u64,
    /// Holder address.
    pub holder: Address,
    /// Expiry (unix seconds); 0 = the type's default validity.
    pub expires_at: u64,
    /// The evidence the caller supplied (a hash; zero when none), from which the idempotency key derives.
    pub evidence: B256,
    /// The credential document's claim, whose hash goes on chain; without one the supplied evidence does.
    pub document: Option<ClaimDocument>,
    /// Who asked ("cli", "csv:<file>:<line>", "api:<key>").
    pub source: String,
}

/// A credential document's claim as hashed: its canonical JSON text and the keccak-256 of that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimDocument {
    /// Canonical JSON (RFC 8785) of the claim.
    pub text: String,
    /// keccak-256 of `text`: the evidence hash on chain.
    pub hash: B256,
}

impl NewRequest {
    /// The evidence hash the issuance puts on chain: the claim document's hash, else the supplied evidence.
    pub fn evidence_hash(&self) -> B256 {
        self.document.as_ref().map_or(self.evidence, |d| d.hash)
    }
}

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    /// Waiting for a batch.
    Queued,
    /// In a batch whose transaction was sent.
    Submitted,
    /// The indexer stored its event.
    Confirmed,
    /// Refused for a reason retrying cannot fix.
    Failed,
}

impl RequestState {
    fn parse(s: &str) -> Self {
        match s {
            "submitted" => Self::Submitted,
            "confirmed" => Self::Confirmed,
            "failed" => Self::Failed,
            _ => Self::Queued,
        }
    }

    /// The state's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Submitted => "submitted",
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
        }
    }

    /// Whether the request will not change any more (short of a reorg).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Confirmed | Self::Failed)
    }
}

/// A stored request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Queue id.
    pub id: i64,
    /// Idempotency key.
    pub idempotency_key: String,
    /// Credential type id.
    pub type_id: u64,
    /// Holder address.
    pub holder: Address,
    /// Requested expiry (0 = type default).
    pub expires_at: u64,
    /// Evidence hash.
    pub evidence_hash: B256,
    /// State.
    pub state: RequestState,
    /// Batch carrying it, once claimed.
    pub batch_id: Option<i64>,
    /// Failure or waiting reason.
    pub error: Option<String>,
    /// Transaction whose event confirmed it.
    pub confirmed_tx: Option<B256>,
    /// Block of that event.
    pub confirmed_block: Option<u64>,
    /// Times a batch carrying it failed on chain.
    pub attempts: i32,
}

/// A signed transaction of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedTx {
    /// Transaction hash.
    pub hash: B256,
    /// EIP-2718 encoded signed transaction.
    pub raw: Vec<u8>,
    /// Max fee per gas (wei).
    pub max_fee_per_gas: u128,
    /// Max priority fee per gas (wei).
    pub max_priority_fee_per_gas: u128,
    /// Seconds since it was last broadcast; None if never.
    pub sent_secs_ago: Option<f64>,
    /// Seconds since it was signed.
    pub age_secs: f64,
}

/// A batch whose outcome the worker still watches.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenBatch {
    /// Batch id.
    pub id: i64,
    /// Credential type id.
    pub type_id: u64,
    /// Nonce its transactions use.
    pub nonce: u64,
    /// Gas limit of its transactions.
    pub gas_limit: u64,
    /// True once a receipt showed it mined (the indexer has yet to confirm its requests).
    pub mined: bool,
    /// Its signed transactions, oldest first.
    pub txs: Vec<SignedTx>,
}

/// A batch's receipt, as recorded for cost reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mined {
    /// The transaction that was mined.
    pub tx_hash: B256,
    /// Its block.
    pub block_number: u64,
    /// L2 gas used.
    pub gas_used: u64,
    /// Effective gas price (wei).
    pub effective_gas_price: u128,
    /// OP-stack L1 data fee (wei), when the chain charges one.
    pub l1_fee: Option<u128>,
}

/// Counts and costs for `laurel status`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueStats {
    /// Requests waiting for a batch.
    pub queued: u64,
    /// Age of the oldest request waiting for a batch, seconds (0 when none waits).
    pub oldest_queued_secs: f64,
    /// Requests in sent batches.
    pub submitted: u64,
    /// Requests confirmed by the indexer.
    pub confirmed: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Transactions signed but not yet mined.
    pub pending_txs: u64,
    /// Of those, transactions the node has not accepted yet (a crash between record and broadcast).
    pub unsent_txs: u64,
    /// Mined batches.
    pub mined_batches: u64,
    /// Credentials carried by mined batches.
    pub mined_credentials: u64,
    /// Total L2 gas of mined batches.
    pub gas_used: u64,
    /// Total fees paid (L2 execution + L1 data), in wei.
    pub fees_wei: f64,
}

/// A claimed set of queued requests and the open transaction that holds their row locks. Dropping it
/// without [`Claim::commit`] releases them untouched.
pub struct Claim {
    tx: Transaction<'static, Postgres>,
    chain_id: u64,
    /// The credential type all claimed requests share.
    pub type_id: u64,
    /// Claimed requests, oldest first.
    pub requests: Vec<Request>,
}

macro_rules! request_from_row {
    ($r:expr) => {
        Request {
            id: $r.id,
            idempotency_key: $r.idempotency_key,
            type_id: $r.type_id as u64,
            holder: Address::from_slice(&$r.holder),
            expires_at: $r.expires_at as u64,
            evidence_hash: b256(&$r.evidence_hash),
            state: RequestState::parse(&$r.state),
            batch_id: $r.batch_id,
            error: $r.error,
            confirmed_tx: $r.confirmed_tx.as_deref().map(b256),
            confirmed_block: $r.confirmed_block.map(|b| b as u64),
            attempts: $r.attempts,
        }
    };
}

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
        super::projection::credential_types(&mut *self.tx, self.chain_id).await
    }

    /// Both registries' pause flag and base URI (the mirror's).
    pub async fn registry_state(
        &mut self,
    ) -> Result<Vec<crate::domain::RegistryStateRow>, StoreError> {
        super::projection::registry_state(&mut *self.tx, self.chain_id).await
    }

    /// Role holders in one scope or all (the mirror's).
    pub async fn roles(
        &mut self,
        scope: Option<crate::domain::RoleScope>,
    ) -> Result<Vec<crate::domain::RoleRow>, StoreError> {
        super::projection::roles(&mut *self.tx, self.chain_id, scope).await
    }

    /// Every credential issued to any of `holders` (the mirror's).
    pub async fn credentials_of_holders(
        &mut self,
        holders: &[Address],
    ) -> Result<Vec<crate::domain::CredentialRow>, StoreError> {
        super::projection::credentials_of_holders(&mut *self.tx, self.chain_id, holders).await
    }

    /// Inserts `requests` (their claim documents first) under their idempotency keys; a key used before is
    /// left as it is. Returns, in input order, the row stored under each key.
    pub async fn insert(&mut self, requests: &[NewRequest]) -> Result<Vec<Stored>, StoreError> {
        let chain_id = self.chain_id;
        let keys: Vec<&str> = requests
            .iter()
            .map(|r| r.idempotency_key.as_str())
            .collect();
        let types: Vec<i64> = requests.iter().map(|r| i(r.type_id)).collect();
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
        let rows = sqlx::query!(
            "SELECT id, idempotency_key, type_id, holder, expires_at, evidence_hash, state, batch_id, error,
                    confirmed_tx, confirmed_block, attempts, supplied_evidence
             FROM issuance_requests WHERE chain_id = $1 AND idempotency_key = ANY($2)",
            i(chain_id),
            &keys as &[&str]
        )
        .fetch_all(&mut **tx)
        .await?;
        let created: std::collections::HashSet<String> = created.into_iter().collect();
        let by_key: std::collections::HashMap<String, (Request, B256)> = rows
            .into_iter()
            .map(|r| {
                let supplied = b256(&r.supplied_evidence);
                (r.idempotency_key.clone(), (request_from_row!(r), supplied))
            })
            .collect();
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

impl Store {
    /// The requests with these ids (missing ids are skipped), in id order.
    pub async fn requests(&self, ids: &[i64]) -> Result<Vec<Request>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, idempotency_key, type_id, holder, expires_at, evidence_hash, state, batch_id, error,
                    confirmed_tx, confirmed_block, attempts
             FROM issuance_requests WHERE id = ANY($1) ORDER BY id",
            ids
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| request_from_row!(r)).collect())
    }

    /// The live (queued or submitted) requests of `chain_id` for `holder`.
    pub async fn open_requests_of(
        &self,
        chain_id: u64,
        holder: Address,
    ) -> Result<Vec<Request>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, idempotency_key, type_id, holder, expires_at, evidence_hash, state, batch_id, error,
                    confirmed_tx, confirmed_block, attempts
             FROM issuance_requests WHERE chain_id = $1 AND holder = $2 AND state IN ('queued', 'submitted')
             ORDER BY id",
            i(chain_id),
            holder.as_slice()
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| request_from_row!(r)).collect())
    }

    /// Claims up to `max` queued requests of one credential type (the type of the oldest claimable request),
    /// skipping rows other workers hold. None when nothing is claimable.
    pub async fn claim(&self, chain_id: u64, max: u64) -> Result<Option<Claim>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let first = sqlx::query_scalar!(
            "SELECT type_id FROM issuance_requests WHERE chain_id = $1 AND state = 'queued'
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
            i(chain_id)
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(type_id) = first else {
            return Ok(None);
        };
        let rows = sqlx::query!(
            "SELECT id, idempotency_key, type_id, holder, expires_at, evidence_hash, state, batch_id, error,
                    confirmed_tx, confirmed_block, attempts
             FROM issuance_requests WHERE chain_id = $1 AND state = 'queued' AND type_id = $2
             ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED",
            i(chain_id),
            type_id,
            i(max)
        )
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(Claim {
            tx,
            chain_id,
            type_id: type_id as u64,
            requests: rows.into_iter().map(|r| request_from_row!(r)).collect(),
        }))
    }

    /// Batches of `signer` that are pending, or mined with requests the indexer has not confirmed yet.
    pub async fn open_batches(
        &self,
        chain_id: u64,
        signer: Address,
    ) -> Result<Vec<OpenBatch>, StoreError> {
        let batches = sqlx::query!(
            "SELECT b.id, b.type_id, b.nonce, b.gas_limit, b.state FROM issuance_batches b
             WHERE b.chain_id = $1 AND b.signer = $2 AND (b.state = 'pending' OR (b.state = 'mined' AND EXISTS (
                 SELECT 1 FROM issuance_requests r WHERE r.batch_id = b.id AND r.state = 'submitted')))
             ORDER BY b.nonce",
            i(chain_id),
            signer.as_slice()
        )
        .fetch_all(self.pool())
        .await?;
        let ids: Vec<i64> = batches.iter().map(|b| b.id).collect();
        let txs = sqlx::query!(
            r#"SELECT batch_id, tx_hash, raw, max_fee_per_gas, max_priority_fee_per_gas,
                    EXTRACT(EPOCH FROM now() - sent_at)::float8 AS "sent_ago?",
                    EXTRACT(EPOCH FROM now() - created_at)::float8 AS "age!"
             FROM batch_transactions WHERE batch_id = ANY($1) ORDER BY created_at, tx_hash"#,
            &ids
        )
        .fetch_all(self.pool())
        .await?;
        Ok(batches
            .into_iter()
            .map(|b| OpenBatch {
                id: b.id,
                type_id: b.type_id as u64,
                nonce: b.nonce as u64,
                gas_limit: b.gas_limit as u64,
                mined: b.state == "mined",
                txs: txs
                    .iter()
                    .filter(|t| t.batch_id == b.id)
                    .map(|t| SignedTx {
                        hash: b256(&t.tx_hash),
                        raw: t.raw.clone(),
                        max_fee_per_gas: t.max_fee_per_gas as u128,
                        max_priority_fee_per_gas: t.max_priority_fee_per_gas as u128,
                        sent_secs_ago: t.sent_ago,
                        age_secs: t.age,
                    })
                    .collect(),
            })
            .collect())
    }

    /// Records that the node accepted transaction `hash`.
    pub async fn mark_sent(&self, hash: B256) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE batch_transactions SET sent_at = now() WHERE tx_hash = $1",
            hash.as_slice()
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Stores a fee-bumped replacement of a batch's transaction (same nonce), before it is broadcast.
    pub async fn add_replacement(&self, batch_id: i64, tx: &SignedTx) -> Result<(), StoreError> {
        sqlx::query!(
            "INSERT INTO batch_transactions (tx_hash, batch_id, max_fee_per_gas, max_priority_fee_per_gas, raw)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tx_hash) DO NOTHING",
            tx.hash.as_slice(),
            batch_id,
            tx.max_fee_per_gas as i64,
            tx.max_priority_fee_per_gas as i64,
            &tx.raw
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records a batch's successful receipt (idempotent; a later call with another receipt overwrites it).
    pub async fn batch_mined(&self, batch_id: i64, m: &Mined) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE issuance_batches SET state = 'mined', tx_hash = $2, block_number = $3, gas_used = $4,
                 effective_gas_price = $5, l1_fee = $6, error = NULL, updated_at = now()
             WHERE id = $1",
            batch_id,
            m.tx_hash.as_slice(),
            i(m.block_number),
            i(m.gas_used),
            m.effective_gas_price as i64,
            m.l1_fee.map(|f| f as i64)
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A mined batch whose receipt vanished (its block was reorged out) goes back to pending.
    pub async fn batch_unmined(&self, batch_id: i64) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE issuance_batches SET state = 'pending', tx_hash = NULL, block_number = NULL, gas_used = NULL,
                 effective_gas_price = NULL, l1_fee = NULL, updated_at = now()
             WHERE id = $1 AND state = 'mined'",
            batch_id
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Ends a batch that will not issue (`reverted` on chain, or `dropped`: its nonce went to another
    /// transaction). Its unconfirmed requests go back to the queue; those that already failed in
    /// `max_attempts` batches fail for good with `error`.
    pub async fn batch_abandoned(
        &self,
        batch_id: i64,
        reverted: bool,
        error: &str,
        max_attempts: i32,
    ) -> Result<(), StoreError> {
        let state = if reverted { "reverted" } else { "dropped" };
        let mut tx = self.pool().begin().await?;
        sqlx::query!(
            "UPDATE issuance_batches SET state = $2, error = $3, updated_at = now() WHERE id = $1",
            batch_id,
            state,
            error
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE issuance_requests SET
                 attempts = attempts + $2::int,
                 state = CASE WHEN attempts + $2::int >= $3 THEN 'failed' ELSE 'queued' END,
                 error = CASE WHEN attempts + $2::int >= $3 THEN $4 ELSE error END,
                 batch_id = CASE WHEN attempts + $2::int >= $3 THEN batch_id ELSE NULL END,
                 updated_at = now()
             WHERE batch_id = $1 AND state = 'submitted'",
            batch_id,
            if reverted { 1 } else { 0 },
            max_attempts,
            error
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Notes why queued requests of a type are waiting (e.g. the type is paused), without changing state.
    pub async fn note_waiting(
        &self,
        chain_id: u64,
        type_id: u64,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE issuance_requests SET error = $3, updated_at = now()
             WHERE chain_id = $1 AND type_id = $2 AND state = 'queued' AND error IS DISTINCT FROM $3",
            i(chain_id),
            i(type_id),
            reason
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Counts and costs of `chain_id`'s queue.
    pub async fn queue_stats(&self, chain_id: u64) -> Result<QueueStats, StoreError> {
        let counts = sqlx::query!(
            r#"SELECT state AS "state!", count(*) AS "n!",
                      extract(epoch FROM now() - min(created_at))::float8 AS "oldest_secs!"
               FROM issuance_requests WHERE chain_id = $1 GROUP BY state"#,
            i(chain_id)
        )
        .fetch_all(self.pool())
        .await?;
        let mut s = QueueStats::default();
        for c in counts {
            let n = c.n as u64;
            match c.state.as_str() {
                "queued" => {
                    s.queued = n;
                    s.oldest_queued_secs = c.oldest_secs.max(0.0);
                }
                "submitted" => s.submitted = n,
                "confirmed" => s.confirmed = n,
                _ => s.failed = n,
            }
        }
        let cost = sqlx::query!(
            r#"SELECT count(*) AS "batches!", coalesce(sum(size), 0)::bigint AS "credentials!",
                      coalesce(sum(gas_used), 0)::bigint AS "gas!",
                      coalesce(sum(gas_used::numeric * effective_gas_price + coalesce(l1_fee, 0)), 0)::float8 AS "fees!"
               FROM issuance_batches WHERE chain_id = $1 AND state = 'mined'"#,
            i(chain_id)
        )
        .fetch_one(self.pool())
        .await?;
        s.mined_batches = cost.batches as u64;
        s.mined_credentials = cost.credentials as u64;
        s.gas_used = cost.gas as u64;
        s.fees_wei = cost.fees;
        let pending = sqlx::query!(
            r#"SELECT count(*) AS "n!", count(*) FILTER (WHERE t.sent_at IS NULL) AS "unsent!"
               FROM batch_transactions t JOIN issuance_batches b ON b.id = t.batch_id
               WHERE b.chain_id = $1 AND b.state = 'pending'"#,
            i(chain_id)
        )
        .fetch_one(self.pool())
        .await?;
        s.pending_txs = pending.n as u64;
        s.unsent_txs = pending.unsent as u64;
        Ok(s)
    }

    /// Appends an audit record.
    pub async fn audit(
        &self,
        chain_id: Option<u64>,
        actor: &str,
        action: &str,
        detail: &Value,
    ) -> Result<(), StoreError> {
        audit(self.pool(), chain_id, actor, action, detail).await
    }
}

/// Inside the indexer's range transaction: requests whose batch transaction emitted one of `tx_hashes`
/// (credential issuance events stored in this range, with their blocks) become confirmed. A batch
/// transaction that emitted an issuance event succeeded, and it issues all of its requests or none.
pub async fn confirm_in_range(
    tx: &mut Transaction<'static, Postgres>,
    chain_id: u64,
    tx_hashes: &[B256],
    blocks: &[u64],
) -> Result<u64, StoreError> {
    if tx_hashes.is_empty() {
        return Ok(0);
    }
    let hashes: Vec<&[u8]> = tx_hashes.iter().map(|h| h.as_slice()).collect();
    let blocks: Vec<i64> = blocks.iter().map(|b| i(*b)).collect();
    let n = sqlx::query!(
        "UPDATE issuance_requests r SET state = 'confirmed', confirmed_tx = e.tx_hash, confirmed_block = e.block,
             error = NULL, updated_at = now()
         FROM batch_transactions t, UNNEST($2::bytea[], $3::bigint[]) AS e(tx_hash, block)
         WHERE t.tx_hash = e.tx_hash AND r.batch_id = t.batch_id AND r.chain_id = $1 AND r.state = 'submitted'",
        i(chain_id),
        &hashes as &[&[u8]],
        &blocks
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n)
}

/// Inside the indexer's unwind transaction: requests confirmed by events above `fork` go back to
/// submitted (their batch is watched again and re-sent if the transaction left the chain).
pub async fn unconfirm_above(
    tx: &mut Transaction<'static, Postgres>,
    chain_id: u64,
    fork: u64,
) -> Result<u64, StoreError> {
    let n = sqlx::query!(
        "UPDATE issuance_requests SET state = 'submitted', confirmed_tx = NULL, confirmed_block = NULL,
             updated_at = now()
         WHERE chain_id = $1 AND state = 'confirmed' AND confirmed_block > $2",
        i(chain_id),
        i(fork)
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n)
}

impl Claim {
    /// Marks claimed requests failed for good with `error` (a revert no retry can fix) and drops them
    /// from this claim.
    pub async fn fail(&mut self, ids: &[i64], error: &str) -> Result<(), StoreError> {
        sqlx::query!(
            "UPDATE issuance_requests SET state = 'failed', error = $2, updated_at = now() WHERE id = ANY($1)",
            ids,
            error
        )
        .execute(&mut *self.tx)
        .await?;
        self.requests.retain(|r| !ids.contains(&r.id));
        Ok(())
    }

    /// Allocates the next nonce of `signer`: the larger of the stored next nonce and `chain_next` (the
    /// chain's pending transaction count), locking the signer's row until commit.
    pub async fn allocate_nonce(
        &mut self,
        signer: Address,
        chain_next: u64,
    ) -> Result<u64, StoreError> {
        let n = sqlx::query_scalar!(
            "INSERT INTO signer_nonces (chain_id, signer, next_nonce) VALUES ($1, $2, $3::bigint + 1)
             ON CONFLICT (chain_id, signer) DO UPDATE
                 SET next_nonce = GREATEST(signer_nonces.next_nonce, $3::bigint) + 1
             RETURNING next_nonce - 1 AS \"n!\"",
            i(self.chain_id),
            signer.as_slice(),
            i(chain_next)
        )
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n as u64)
    }

    /// Records the batch of the remaining requests and its first signed transaction, marks the requests
    /// submitted, and commits. The transaction must be broadcast only after this returns.
    pub async fn commit_batch(
        mut self,
        signer: Address,
        nonce: u64,
        gas_limit: u64,
        signed: &SignedTx,
    ) -> Result<i64, StoreError> {
        let batch_id = sqlx::query_scalar!(
            "INSERT INTO issuance_batches (chain_id, type_id, signer, nonce, size, gas_limit)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            i(self.chain_id),
            i(self.type_id),
            signer.as_slice(),
            i(nonce),
            self.requests.len() as i32,
            i(gas_limit)
        )
        .fetch_one(&mut *self.tx)
        .await?;
        sqlx::query!(
            "INSERT INTO batch_transactions (tx_hash, batch_id, max_fee_per_gas, max_priority_fee_per_gas, raw)
             VALUES ($1, $2, $3, $4, $5)",
            signed.hash.as_slice(),
            batch_id,
            signed.max_fee_per_gas as i64,
            signed.max_priority_fee_per_gas as i64,
            &signed.raw
        )
        .execute(&mut *self.tx)
        .await?;
        let ids: Vec<i64> = self.requests.iter().map(|r| r.id).collect();
        sqlx::query!(
            "UPDATE issuance_requests SET state = 'submitted', batch_id = $2, error = NULL, updated_at = now()
             WHERE id = ANY($1)",
            &ids,
            batch_id
        )
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(batch_id)
    }

    /// Commits what was decided so far (failed requests) without recording a batch.
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
    /// Holder.
    pub holder: Address,
    /// The request's idempotency key.
    pub idempotency_key: String,
    /// The request's id.
    pub id: i64,
}

impl Store {
    /// Open requests of `chain_id` for any of the (type, holder) pairs.
    pub async fn open_pairs(
        &self,
        chain_id: u64,
        pairs: &[(u64, Address)],
    ) -> Result<Vec<OpenPair>, StoreError> {
        open_pairs(self.pool(), chain_id, pairs).await
    }
}

impl Store {
    /// (holder, state) of every request of `chain_id`, in id order.
    pub async fn request_states(
        &self,
        chain_id: u64,
    ) -> Result<Vec<(Address, String)>, StoreError> {
        let rows = sqlx::query!(
            "SELECT holder, state FROM issuance_requests WHERE chain_id = $1 ORDER BY id",
            i(chain_id)
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (Address::from_slice(&r.holder), r.state))
            .collect())
    }

    /// (batch id, nonce, state) of every batch of `chain_id`, by nonce.
    pub async fn batch_nonces(&self, chain_id: u64) -> Result<Vec<(i64, u64, String)>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, nonce, state FROM issuance_batches WHERE chain_id = $1 AND state IN ('pending', 'mined')
             ORDER BY nonce, id",
            i(chain_id)
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.id, r.nonce as u64, r.state))
            .collect())
    }
}

impl Store {
    /// Which of `keys` are already used by requests of `chain_id` (in any state).
    pub async fn used_keys(
        &self,
        chain_id: u64,
        keys: &[&str],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        used_keys(self.pool(), chain_id, keys).await
    }
}

impl Store {
    /// (hash, max fee per gas, max priority fee per gas) of every transaction of batch `batch_id`, oldest first.
    pub async fn batch_transactions(
        &self,
        batch_id: i64,
    ) -> Result<Vec<(B256, u128, u128)>, StoreError> {
        let rows = sqlx::query!(
            "SELECT tx_hash, max_fee_per_gas, max_priority_fee_per_gas FROM batch_transactions
             WHERE batch_id = $1 ORDER BY created_at, tx_hash",
            batch_id
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    b256(&r.tx_hash),
                    r.max_fee_per_gas as u128,
                    r.max_priority_fee_per_gas as u128,
                )
            })
            .collect())
    }
}

impl Store {
    /// The transaction carrying request `id`'s batch: the mined one, else the newest signed one.
    pub async fn request_tx(&self, id: i64) -> Result<Option<B256>, StoreError> {
        let hash = sqlx::query_scalar!(
            r#"SELECT coalesce(b.tx_hash, (SELECT t.tx_hash FROM batch_transactions t WHERE t.batch_id = b.id
                                           ORDER BY t.created_at DESC, t.tx_hash LIMIT 1)) AS "hash"
               FROM issuance_requests r JOIN issuance_batches b ON b.id = r.batch_id WHERE r.id = $1"#,
            id
        )
        .fetch_optional(self.pool())
        .await?
        .flatten();
        Ok(hash.as_deref().map(b256))
    }
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

/// Appends an audit record.
async fn audit<'c>(
    ex: impl sqlx::PgExecutor<'c>,
    chain_id: Option<u64>,
    actor: &str,
    action: &str,
    detail: &Value,
) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO audit_log (chain_id, actor, action, detail) VALUES ($1, $2, $3, $4)",
        chain_id.map(i),
        actor,
        action,
        detail
    )
    .execute(ex)
    .await?;
    Ok(())
}
