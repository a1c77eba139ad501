//! Checks issuance requests before any gas is spent, against the queue and the mirrored policy: the type
//! exists and is not paused (nor the registry), the signer holds the type's issuer role, the holder has valid
//! credentials of every prerequisite type, the type's supply cap leaves room, the holder has no live
//! credential of the type already (and may be issued again if a past one ended), and no other open request
//! issues the same credential. A request the chain would refuse is rejected here with a message that says
//! what to do. (Issuer quotas are not mirrored; the worker's simulation catches those before sending.)

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy::primitives::Address;

use crate::domain::{credential_status, CredentialTypeRow, Registry, RoleScope};
use crate::store::issuance::NewRequest;
use crate::store::{Store, StoreError};

/// CredentialRegistry policy flag: a holder whose credential expired may be issued a fresh one.
const FLAG_REISSUE_AFTER_EXPIRY: u16 = 16;
/// CredentialRegistry policy flag: a holder whose credential was revoked, renounced or recovered away may
/// be issued a fresh one.
const FLAG_REISSUE_AFTER_REVOCATION: u16 = 32;

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
    /// The type is not defined (in the mirror).
    #[error("credential type {0} does not exist; see `laurel gov type list` (is `laurel serve` indexing?)")]
    UnknownType(u64),
    /// The type or the registry is paused.
    #[error("{0} is paused; `laurel gov unpause` lifts it")]
    Paused(String),
    /// The signer may not issue the type.
    #[error("{signer} does not hold the issuer role of type {type_id}; grant it with `laurel gov role grant --issuer --type {type_id} --account {signer}`")]
    NotIssuer {
        /// Type.
        type_id: u64,
        /// Signer.
        signer: Address,
    },
    /// A prerequisite credential is missing.
    #[error("{holder} lacks a valid credential of prerequisite type {prerequisite} (type {type_id} is a pathway step); issue type {prerequisite} first")]
    MissingPrerequisite {
        /// Type.
        type_id: u64,
        /// Holder.
        holder: Address,
        /// Missing prerequisite type.
        prerequisite: u64,
    },
    /// The holder already has a live credential of the type.
    #[error("{holder} already holds a live credential of type {type_id}")]
    AlreadyHeld {
        /// Type.
        type_id: u64,
        /// Holder.
        holder: Address,
    },
    /// The holder's earlier credential ended and the policy forbids issuing again.
    #[error("{holder} held a credential of type {type_id} ({status}) and the type's policy does not allow issuing it again")]
    NoReissue {
        /// Type.
        type_id: u64,
        /// Holder.
        holder: Address,
        /// How the earlier one ended.
        status: &'static str,
    },
    /// The type's supply cap is reached.
    #[error("type {type_id} is capped at {max_supply} live credentials and this request would exceed it")]
    SupplyExhausted {
        /// Type.
        type_id: u64,
        /// Cap.
        max_supply: u32,
    },
    /// The expiry is in the past.
    #[error("expiry {0} is in the past")]
    ExpiryInPast(u64),
}

fn status_name(s: u8) -> &'static str {
    match s {
        credential_status::SUSPENDED => "suspended",
        credential_status::REVOKED => "revoked",
        credential_status::RENOUNCED => "renounced",
        credential_status::RECOVERED => "recovered to another address",
        _ => "expired",
    }
}

/// Checks `requests` (in order) for `signer` at unix time `now`; one result per request.
pub async fn check_all<'a>(
    store: &Store,
    chain_id: u64,
    signer: Address,
    now: u64,
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
    // A key used before makes the request a repeat: it returns the first request, whatever its state.
    let keys: Vec<&str> = requests
        .iter()
        .map(|r| r.idempotency_key.as_str())
        .collect();
    let repeats = store.used_keys(chain_id, &keys).await?;
    let types: BTreeMap<u64, CredentialTypeRow> = store
        .credential_types(chain_id)
        .await?
        .into_iter()
        .map(|t| (t.type_id, t))
        .collect();
    let registry_paused = store
        .registry_state(chain_id)
        .await?
        .iter()
        .any(|r| r.registry == Registry::Credentials && r.paused);
    let issuer_of: HashSet<u64> = store
        .roles(chain_id, Some(RoleScope::Type))
        .await?
        .into_iter()
        .filter(|r| r.account == signer && r.bits & 1 != 0)
        .map(|r| r.scope_id)
        .collect();
    // Every holder's credentials, in one query.
    let holders: Vec<Address> = requests
        .iter()
        .map(|r| r.holder)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut held: HashMap<Address, HashMap<u64, crate::domain::CredentialRow>> =
        holders.iter().map(|h| (*h, HashMap::new())).collect();
    for c in store.credentials_of_holders(chain_id, &holders).await? {
        held.entry(c.holder).or_default().insert(c.type_id, c);
    }
    let mut seen = HashSet::new();
    let mut added: HashMap<u64, u64> = HashMap::new();
    let mut out = Vec::with_capacity(requests.len());
    for r in &requests {
        let check = (|| {
            let (t, h) = (r.type_id, r.holder);
            if !seen.insert((t, h)) {
                return Err(Refusal::DuplicateInput {
                    type_id: t,
                    holder: h,
                });
            }
            if repeats.contains(&r.idempotency_key) {
                return Ok(());
            }
            if let Some((id, key)) = open.get(&(t, h)) {
                if *key != r.idempotency_key {
                    return Err(Refusal::AlreadyQueued {
                        type_id: t,
                        holder: h,
                        id: *id,
                        key: key.clone(),
                    });
                }
                // The same request again: idempotent, nothing to check.
                return Ok(());
            }
            let ty = types.get(&t).ok_or(Refusal::UnknownType(t))?;
            if registry_paused {
                return Err(Refusal::Paused("the credential registry".into()));
            }
            if ty.paused {
                return Err(Refusal::Paused(format!("credential type {t}")));
            }
            if !issuer_of.contains(&t) {
                return Err(Refusal::NotIssuer { type_id: t, signer });
            }
            if r.expires_at != 0 && r.expires_at <= now {
                return Err(Refusal::ExpiryInPast(r.expires_at));
            }
            let mine = &held[&h];
            for p in &ty.prerequisites {
                if !mine.get(p).is_some_and(|c| c.is_valid_at(now)) {
                    return Err(Refusal::MissingPrerequisite {
                        type_id: t,
                        holder: h,
                        prerequisite: *p,
                    });
                }
            }
            if let Some(c) = mine.get(&t) {
                if c.is_live() {
                    let expired = c.expires_at != 0 && c.expires_at <= now;
                    if !expired {
                        return Err(Refusal::AlreadyHeld {
                            type_id: t,
                            holder: h,
                        });
                    }
                    if c.status == credential_status::SUSPENDED
                        || ty.flags & FLAG_REISSUE_AFTER_EXPIRY == 0
                    {
                        return Err(Refusal::NoReissue {
                            type_id: t,
                            holder: h,
                            status: status_name(c.status),
                        });
                    }
                } else if ty.flags & FLAG_REISSUE_AFTER_REVOCATION == 0 {
                    return Err(Refusal::NoReissue {
                        type_id: t,
                        holder: h,
                        status: status_name(c.status),
                    });
                }
            }
            if ty.max_supply > 0 {
                let n = added.entry(t).or_insert(0);
                if ty.supply + *n + 1 > u64::from(ty.max_supply) {
                    return Err(Refusal::SupplyExhausted {
                        type_id: t,
                        max_supply: ty.max_supply,
                    });
                }
                *n += 1;
            }
            Ok(())
        })();
        out.push(check);
    }
    Ok(out)
}
