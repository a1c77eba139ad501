//! Awards to learners without an address, and their claim links (only the code's hash is stored).

use alloy::primitives::{Address, B256};

use super::{b256, i, Store, StoreError};

/// An award to record.
#[derive(Debug, Clone)]
pub struct NewAward {
    /// Chain of the deployment.
    pub chain_id: u64,
    /// The credential type.
    pub type_id: u64,
    /// The learner's email (normalised: trimmed, lower case).
    pub email: String,
    /// The program's own id of the learner, if given.
    pub learner_id: Option<String>,
    /// Idempotency key: a second award under it is the first one.
    pub idempotency_key: String,
    /// Expiry of the credential (unix seconds; 0 = the type's default).
    pub expires_at: u64,
    /// Evidence hash (zero: none).
    pub evidence: B256,
    /// SHA-256 of the claim code.
    pub code_hash: B256,
    /// Unix time the claim link stops working.
    pub code_expires_at: u64,
    /// Who awarded it (the audit log's actor).
    pub actor: String,
}

/// A stored award.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardRow {
    /// Its id.
    pub id: i64,
    /// Chain of the deployment.
    pub chain_id: u64,
    /// The credential type.
    pub type_id: u64,
    /// The learner's email.
    pub email: String,
    /// The program's learner id.
    pub learner_id: Option<String>,
    /// The idempotency key it was recorded under.
    pub idempotency_key: String,
    /// Expiry of the credential (0 = the type's default).
    pub expires_at: u64,
    /// Evidence hash.
    pub evidence: B256,
    /// Unix time the claim link stops working.
    pub code_expires_at: u64,
    /// `open`, `claimed` or `withdrawn`.
    pub state: String,
    /// The address it was claimed to.
    pub holder: Option<Address>,
    /// The issuance request that mints it, once claimed.
    pub request_id: Option<i64>,
}

macro_rules! award_row {
    ($r:expr) => {
        AwardRow {
            id: $r.id,
            chain_id: $r.chain_id as u64,
            type_id: $r.type_id as u64,
            email: $r.email,
            learner_id: $r.learner_id,
            idempotency_key: $r.idempotency_key,
            expires_at: $r.expires_at as u64,
            evidence: b256(&$r.evidence_hash),
            code_expires_at: $r.code_expires_at as u64,
            state: $r.state,
            holder: $r.holder.as_deref().map(Address::from_slice),
            request_id: $r.request_id,
        }
    };
}

impl Store {
    /// Records an award, with the audit entry, unless its key was used: returns it and whether it is new.
    pub async fn create_award(&self, a: &NewAward) -> Result<(AwardRow, bool), StoreError> {
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query_scalar!(
            "INSERT INTO awards (chain_id, type_id, email, learner_id, idempotency_key, expires_at, evidence_hash,
                                 code_hash, code_expires_at, actor)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (chain_id, idempotency_key) DO NOTHING RETURNING id",
            i(a.chain_id),
            i(a.type_id),
            a.email,
            a.learner_id,
            a.idempotency_key,
            i(a.expires_at),
            a.evidence.as_slice(),
            a.code_hash.as_slice(),
            i(a.code_expires_at),
            a.actor
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = inserted {
            let detail =
                serde_json::json!({"award": id, "type": a.type_id, "learner_id": a.learner_id});
            super::issuance::audit_in(&mut *tx, Some(a.chain_id), &a.actor, "award", &detail)
                .await?;
        }
        tx.commit().await?;
        let row = self
            .award_by_key(a.chain_id, &a.idempotency_key)
            .await?
            .ok_or_else(|| StoreError::Corrupt("an award vanished after its insert".into()))?;
        Ok((row, inserted.is_some()))
    }

    /// The award recorded under `key`.
    pub async fn award_by_key(
        &self,
        chain_id: u64,
        key: &str,
    ) -> Result<Option<AwardRow>, StoreError> {
        let r = sqlx::query!(
            "SELECT id, chain_id, type_id, email, learner_id, idempotency_key, expires_at, evidence_hash,
                    code_expires_at, state, holder, request_id
             FROM awards WHERE chain_id = $1 AND idempotency_key = $2",
            i(chain_id),
            key
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(r.map(|r| award_row!(r)))
    }

    /// The award of `chain_id` whose claim code hashes to `code_hash`.
    pub async fn award_by_code(
        &self,
        chain_id: u64,
        code_hash: B256,
    ) -> Result<Option<AwardRow>, StoreError> {
        let r = sqlx::query!(
            "SELECT id, chain_id, type_id, email, learner_id, idempotency_key, expires_at, evidence_hash,
                    code_expires_at, state, holder, request_id
             FROM awards WHERE code_hash = $1 AND chain_id = $2",
            code_hash.as_slice(),
            i(chain_id)
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(r.map(|r| award_row!(r)))
    }

    /// Every award of `chain_id`, newest first.
    pub async fn awards(&self, chain_id: u64) -> Result<Vec<AwardRow>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, chain_id, type_id, email, learner_id, idempotency_key, expires_at, evidence_hash,
                    code_expires_at, state, holder, request_id
             FROM awards WHERE chain_id = $1 ORDER BY id DESC",
            i(chain_id)
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| award_row!(r)).collect())
    }

    /// The issuance request queued under `key` on `chain_id` (a claim's `award:<chain>:<id>`), if any.
    pub async fn request_under_key(
        &self,
        chain_id: u64,
        key: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT id FROM issuance_requests WHERE chain_id = $1 AND idempotency_key = $2 ORDER BY id DESC LIMIT 1",
            i(chain_id),
            key
        )
        .fetch_optional(self.pool())
        .await?)
    }

    /// Marks open award `id` claimed by `holder` through request `request_id`; false if it was not open.
    pub async fn mark_claimed(
        &self,
        id: i64,
        holder: Address,
        request_id: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query!(
            "UPDATE awards SET state = 'claimed', holder = $2, request_id = $3, claimed_at = now()
             WHERE id = $1 AND state = 'open'",
            id,
            holder.as_slice(),
            request_id
        )
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Gives open award `id` a new claim code (the old link stops working) valid until `until`, audited
    /// as `action` by `actor`; false if it is not open.
    pub async fn renew_award_code(
        &self,
        id: i64,
        code_hash: Option<B256>,
        until: u64,
        actor: &str,
        action: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query_scalar!(
            "UPDATE awards SET code_hash = COALESCE($2, code_hash), code_expires_at = $3
             WHERE id = $1 AND state = 'open' RETURNING chain_id",
            id,
            code_hash.as_ref().map(|h| h.as_slice()),
            i(until)
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(chain) = done {
            let detail = serde_json::json!({"award": id, "until": until});
            super::issuance::audit_in(&mut *tx, Some(chain as u64), actor, action, &detail).await?;
        }
        tx.commit().await?;
        Ok(done.is_some())
    }

    /// Withdraws open award `id` (its link stops working for good), audited; false if it is not open.
    pub async fn withdraw_award(&self, id: i64, actor: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query_scalar!(
            "UPDATE awards SET state = 'withdrawn' WHERE id = $1 AND state = 'open' RETURNING chain_id",
            id
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(chain) = done {
            let detail = serde_json::json!({"award": id});
            super::issuance::audit_in(
                &mut *tx,
                Some(chain as u64),
                actor,
                "award.withdraw",
                &detail,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(done.is_some())
    }
}
