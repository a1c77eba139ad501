//! The issuance queue's tables: requests under idempotency keys, batches claimed with `FOR UPDATE SKIP
//! LOCKED`, every signed transaction (stored before it is broadcast), the nonce each signer uses next, and the
//! audit log.
//!
//! One file per job: [`submission`] (the submission's transaction), [`queue`] (requests and the worker's
//! claim), [`batches`] (batches and their transactions), [`stats`] and [`audit`].

use alloy::primitives::{Address, B256};

/// A request to issue one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    /// Caller-chosen key; a second request with the same key returns the first.
    pub idempotency_key: String,
    /// Credential type id.
    pub type_id: crate::domain::TypeId,
    /// The address the credential is issued to.
    pub holder: Address,
    /// Expiry (unix seconds); 0 = the type's default validity.
    pub expires_at: u64,
    /// The evidence the caller supplied (a hash; zero when none), from which the idempotency key derives.
    pub evidence: B256,
    /// The credential document's claim, whose hash goes on chain; without one the supplied evidence does.
    pub document: Option<ClaimDocument>,
    /// Who asked ("cli", "csv:<file>:<line>", "api:<key>").
    pub source: String,
    /// Whether the key was derived from the content (not given by the caller): such a key moves on to a
    /// new round once the credential it issued has ended (see `issuance::idempotency`).
    pub derived: bool,
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
    /// Row id in `issuance_requests` (what the API's `/v1/issuances/{id}` takes).
    pub id: i64,
    /// The key it was stored under (given by the caller or derived from its content).
    pub idempotency_key: String,
    /// Credential type id.
    pub type_id: u64,
    /// The address the credential is issued to.
    pub holder: Address,
    /// Requested expiry (0 = type default).
    pub expires_at: u64,
    /// Evidence hash put on chain (the claim document's hash when one was attached).
    pub evidence_hash: B256,
    /// Where it is in the queue (queued, submitted, confirmed, failed).
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

pub mod audit;
pub mod batches;
pub mod queue;
pub mod stats;
pub mod submission;

pub(crate) use audit::audit as audit_in;
pub use batches::{confirm_in_range, unconfirm_above, Mined, OpenBatch, SignedTx};
pub use queue::Claim;
pub use stats::QueueStats;
pub use submission::{OpenPair, Stored, SubmissionTx};
