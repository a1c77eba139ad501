//! Checks a batch of issuance requests before any gas is spent, against the queue and the mirror: a request
//! the chain would refuse is rejected here with a message that says what to do.

use std::collections::{HashMap, HashSet};

use alloy::primitives::Address;

use crate::store::issuance::NewRequest;
use crate::store::{Store, StoreError};

/// Why a request was refused before queueing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The same type and holder appear twice in one submission.
    #[error("type {type_id} to {holder} appears twice in this submission; the first one is kept")]
    DuplicateInput {
        /// Type.
        type_id: u64,
        /// Holder.
        holder: Address,
    },
    /// Another open request (different key) already issues this credential.
    #[error("request {id} (key {key:?}) already issues type {type_id} to {holder}; wait for it or check `laurel status`")]
    AlreadyQueued {
        /// Type.
        type_id: u64,
        /// Holder.
        holder: Address,
        /// That request's id.
        id: i64,
        /// That request's key.
        key: String,
    },
}

/// Checks `requests` (in order) for `signer`; one result per request.
pub async fn check_all<'a>(
    store: &Store,
    chain_id: u64,
    _signer: Address,
    requests: impl Iterator<Item = &'a NewRequest>,
) -> Result<Vec<Result<(), Refusal>>, StoreError> {
    let requests: Vec<&NewRequest> = requests.collect();
    let pairs: Vec<(u64, Address)> = requests.iter().map(|r| (r.type_id, r.holder)).collect();
    let open: HashMap<(u64, Address), (i64, String)> = store
        .open_pairs(chain_id, &pairs)
        .await?
        .into_iter()
        .map(|o| ((o.type_id, o.holder), (o.id, o.idempotency_key)))
        .collect();
    let mut seen = HashSet::new();
    Ok(requests
        .iter()
        .map(|r| {
            let pair = (r.type_id, r.holder);
            if !seen.insert(pair) {
                return Err(Refusal::DuplicateInput {
                    type_id: r.type_id,
                    holder: r.holder,
                });
            }
            match open.get(&pair) {
                Some((id, key)) if *key != r.idempotency_key => Err(Refusal::AlreadyQueued {
                    type_id: r.type_id,
                    holder: r.holder,
                    id: *id,
                    key: key.clone(),
                }),
                _ => Ok(()),
            }
        })
        .collect())
}
