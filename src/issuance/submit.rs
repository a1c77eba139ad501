//! The one way issuance requests enter the queue, whatever their source (a CLI line, a CSV, an API batch):
//! in one transaction, under the chain's clock, the requests are pre-checked ([`super::precheck`]), given
//! their claim documents ([`crate::credentials::ob3::attach_claims`]), judged under their idempotency keys
//! ([`super::idempotency`]) and written with their audit record. The CLI and the API only parse what they
//! were given and present the [`Submitted`] answer.

use alloy::primitives::Address;
use serde_json::{json, Value};

use std::collections::{BTreeMap, HashMap};

use super::idempotency::{ended_round, judge, next_round, Judgement};
use super::precheck::{decide, may_issue_again, Refusal, Snapshot};
use crate::chain::Node;
use crate::credentials::ob3::{attach_claims, Program};
use crate::domain::CredentialRow;
use crate::store::issuance::{NewRequest, Request, SubmissionTx};
use crate::store::{Store, StoreError};

/// What to submit.
#[derive(Debug, Clone)]
pub struct Submission {
    /// Who asks, as the audit log names them (the signer's address, an API key's label).
    pub actor: String,
    /// The requests, in input order.
    pub requests: Vec<NewRequest>,
    /// Line by line, all or nothing, or only checked.
    pub mode: Mode,
    /// More for the audit record (e.g. the CSV file), merged into its detail.
    pub detail: Value,
}

/// How a submission treats a refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every acceptable request is queued and the others are refused one by one (the CLI, a CSV).
    LineByLine,
    /// One refused request refuses them all and nothing is written (the API).
    AllOrNothing,
    /// Nothing is written: the requests are only pre-checked, for a caller that already refuses the
    /// submission (some of its input did not parse) and reports every problem at once.
    CheckOnly,
}

/// What became of one request of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Queued now under a new key.
    Queued(Request),
    /// Its key was used before for the same credential: the earlier request, in whatever state it is.
    Repeat(Request),
    /// The pre-check refused it: the chain would not take it.
    Refused(Refusal),
    /// Its key was used before for another credential (request `existing_id`).
    KeyConflict {
        /// The earlier request's id.
        existing_id: i64,
    },
    /// Acceptable, but not written because another request of an all-or-nothing submission was refused.
    Withheld,
}

impl Outcome {
    /// The stored request (new or earlier), when there is one.
    pub fn request(&self) -> Option<&Request> {
        match self {
            Self::Queued(r) | Self::Repeat(r) => Some(r),
            _ => None,
        }
    }

    /// Why it was refused, when it was (None for queued, repeated and withheld requests).
    pub fn refusal(&self) -> Option<String> {
        match self {
            Self::Refused(r) => Some(r.to_string()),
            Self::KeyConflict { existing_id } => Some(format!(
                "the idempotency key was already used by request {existing_id} for a different credential"
            )),
            _ => None,
        }
    }
}

/// The answer to a submission: one outcome per request, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// One per request.
    pub outcomes: Vec<Outcome>,
    /// Whether anything was written (false when an all-or-nothing submission was refused).
    pub written: bool,
}

impl Submitted {
    /// Requests queued now.
    pub fn queued(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Queued(_)))
    }

    /// Requests that repeated an earlier one.
    pub fn repeated(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Repeat(_)))
    }

    /// Requests refused (by the pre-check or for a key conflict).
    pub fn refused(&self) -> usize {
        self.count(|o| o.refusal().is_some())
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(o)).count()
    }
}

/// Why a submission could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The node did not tell the chain's time.
    #[error("the node does not answer, so the chain's time is unknown: {0}")]
    Clock(#[source] alloy::transports::TransportError),
    /// The store failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Submits `s`, to be issued by `signer` on `node`'s chain, with `program`'s claim documents.
pub async fn submit(
    node: &Node,
    store: &Store,
    program: &Program,
    signer: Address,
    mut s: Submission,
) -> Result<Submitted, SubmitError> {
    let now = node.head_time().await.map_err(SubmitError::Clock)?;
    let mut tx = store.begin_submission(node.chain_id()).await?;
    next_rounds(&mut tx, &mut s.requests, now).await?;
    let refs: Vec<&NewRequest> = s.requests.iter().collect();
    let snapshot = Snapshot::load(&mut tx, signer, &refs).await?;
    let verdicts = decide(&snapshot, &refs, now);
    let refused = verdicts.iter().any(Result::is_err);
    if s.mode == Mode::CheckOnly || (s.mode == Mode::AllOrNothing && refused) {
        let outcomes = verdicts
            .into_iter()
            .map(|v| v.map_or_else(Outcome::Refused, |()| Outcome::Withheld))
            .collect();
        return Ok(Submitted {
            outcomes,
            written: false,
        });
    }
    let mut outcomes: Vec<Option<Outcome>> = verdicts
        .iter()
        .map(|v| v.clone().err().map(Outcome::Refused))
        .collect();
    let mut accepted: Vec<(usize, &mut NewRequest)> = s
        .requests
        .iter_mut()
        .enumerate()
        .filter(|(i, _)| outcomes[*i].is_none())
        .collect();
    attach_claims(
        program,
        &snapshot.types,
        accepted.iter_mut().map(|(_, r)| &mut **r),
    );
    let (index, accepted): (Vec<usize>, Vec<NewRequest>) =
        accepted.into_iter().map(|(i, r)| (i, r.clone())).unzip();
    let stored = tx.insert(&accepted).await?;
    for ((i, asked), st) in index.into_iter().zip(&accepted).zip(stored) {
        outcomes[i] = Some(match judge(asked, &st) {
            Judgement::New => Outcome::Queued(st.request),
            Judgement::Repeat => Outcome::Repeat(st.request),
            Judgement::Conflict { existing_id } => Outcome::KeyConflict { existing_id },
        });
    }
    let outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();
    let mut submitted = Submitted {
        outcomes,
        written: true,
    };
    if s.mode == Mode::AllOrNothing && submitted.refused() > 0 {
        // Dropping the transaction undoes the inserts: a conflicting key refuses the whole submission.
        drop(tx);
        for o in &mut submitted.outcomes {
            if o.refusal().is_none() {
                *o = Outcome::Withheld;
            }
        }
        submitted.written = false;
        return Ok(submitted);
    }
    let mut detail = json!({"new": submitted.queued(), "repeated": submitted.repeated(),
        "refused": submitted.refused()});
    if let (Some(d), Some(extra)) = (detail.as_object_mut(), s.detail.as_object()) {
        d.extend(extra.clone());
    }
    tx.audit(&s.actor, "issue.enqueue", &detail).await?;
    tx.commit().await?;
    Ok(submitted)
}

/// Moves each derived-key request that repeats an earlier round whose credential has since ended (and may
/// be issued again) on to the next round of its key, as many rounds as there were (see
/// [`super::idempotency`]).
async fn next_rounds(
    tx: &mut SubmissionTx,
    requests: &mut [NewRequest],
    now: u64,
) -> Result<(), StoreError> {
    let mut pending: Vec<usize> = (0..requests.len())
        .filter(|i| requests[*i].derived)
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let types: BTreeMap<u64, _> = tx
        .credential_types()
        .await?
        .into_iter()
        .map(|t| (t.type_id, t))
        .collect();
    let mut holders: Vec<Address> = pending.iter().map(|i| requests[*i].holder).collect();
    holders.sort_unstable();
    holders.dedup();
    let held: HashMap<(u64, Address), CredentialRow> = tx
        .credentials_of_holders(&holders)
        .await?
        .into_iter()
        .map(|c| ((c.type_id, c.holder), c))
        .collect();
    while !pending.is_empty() {
        let keys: Vec<String> = pending
            .iter()
            .map(|i| requests[*i].idempotency_key.clone())
            .collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let stored = tx.stored(&refs).await?;
        let mut moved = Vec::new();
        for i in pending {
            let r = &mut requests[i];
            let Some((earlier, supplied)) = stored.get(&r.idempotency_key) else {
                continue;
            };
            let held = held.get(&(r.type_id.get(), r.holder));
            let reissuable = |c: &CredentialRow| {
                types
                    .get(&c.type_id)
                    .is_some_and(|ty| may_issue_again(ty, c, now))
            };
            if let Some(confirmed) = ended_round(r, earlier, *supplied, held, reissuable) {
                r.idempotency_key = next_round(&r.idempotency_key, confirmed);
                moved.push(i);
            }
        }
        pending = moved;
    }
    Ok(())
}
