//! Checks issuance requests before any gas is spent, against the queue and the mirrored policy: the type
//! exists and is not paused (nor the registry), the signer holds the type's issuer role, the holder has valid
//! credentials of every prerequisite type, the type's supply cap leaves room, the holder has no live
//! credential of the type already (and may be issued again if a past one ended), and no other open request
//! issues the same credential. A request the chain would refuse is rejected here with a message that says
//! what to do. (Issuer quotas are not mirrored; the worker's simulation catches those before sending.)

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy::primitives::Address;

use crate::domain::{
    credential_status, CredentialRow, CredentialTypeRow, Registry, RoleScope, TypeFlags, TypeRoles,
};
use crate::store::issuance::{NewRequest, SubmissionTx};
use crate::store::StoreError;

/// Why a request was refused before queueing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The same type and holder appear twice in one submission.
    #[error("type {type_id} to {holder} appears twice in this submission; the first one is kept")]
    DuplicateInput {
        /// Credential type id both inputs ask for.
        type_id: u64,
        /// Holder address both inputs ask for.
        holder: Address,
    },
    /// Another open request (different key) already issues this credential.
    #[error("request {id} (key {key:?}) already issues type {type_id} to {holder}; wait for it or check `laurel status`")]
    AlreadyQueued {
        /// Credential type id the open request already issues.
        type_id: u64,
        /// Holder the open request already issues to.
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
        /// Credential type whose issuer role the signer lacks (per the mirrored roles).
        type_id: u64,
        /// The service's signing account, which would send the batch.
        signer: Address,
    },
    /// A prerequisite credential is missing.
    #[error("{holder} lacks a valid credential of prerequisite type {prerequisite} (type {type_id} is a pathway step); issue type {prerequisite} first")]
    MissingPrerequisite {
        /// Credential type asked for: a pathway step with prerequisites.
        type_id: u64,
        /// Holder without a valid credential of `prerequisite` (judged at the chain's time).
        holder: Address,
        /// Missing prerequisite type.
        prerequisite: u64,
    },
    /// The holder already has a live credential of the type.
    #[error("{holder} already holds a live credential of type {type_id}")]
    AlreadyHeld {
        /// Credential type of which the holder has an active or suspended, unexpired credential.
        type_id: u64,
        /// Holder of that live credential.
        holder: Address,
    },
    /// The holder's earlier credential ended and the policy forbids issuing again.
    #[error("{holder} held a credential of type {type_id} ({status}) and the type's policy does not allow issuing it again")]
    NoReissue {
        /// Credential type whose policy flags forbid issuing again after that ending.
        type_id: u64,
        /// Holder whose earlier credential of the type ended.
        holder: Address,
        /// How the earlier one ended.
        status: &'static str,
    },
    /// The type's supply cap is reached.
    #[error("type {type_id} is capped at {max_supply} live credentials and this request would exceed it")]
    SupplyExhausted {
        /// Credential type whose cap is reached.
        type_id: u64,
        /// The type's cap on live credentials; mirrored supply plus earlier requests here reach it.
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

/// What the decision on one submission reads: the rows of the queue and the mirror it depends on.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The account the requests would be issued by.
    pub signer: Address,
    /// Open requests by (type, holder): their id and idempotency key.
    pub open: HashMap<(u64, Address), (i64, String)>,
    /// The submission's idempotency keys that were used before (such a request is a repeat).
    pub repeats: HashSet<String>,
    /// Every credential type, by id.
    pub types: BTreeMap<u64, CredentialTypeRow>,
    /// Whether the credential registry is paused.
    pub registry_paused: bool,
    /// The types whose issuer role the signer holds.
    pub issuer_of: HashSet<u64>,
    /// The requested holders' credentials, by holder and type (a holder with none may be absent).
    pub held: HashMap<Address, HashMap<u64, CredentialRow>>,
}

impl Snapshot {
    /// Loads what [`decide`] needs for `signer`'s `requests`, from the queue and the mirror, inside the
    /// submission's transaction.
    pub async fn load(
        tx: &mut SubmissionTx,
        signer: Address,
        requests: &[&NewRequest],
    ) -> Result<Self, StoreError> {
        let pairs: Vec<(u64, Address)> = requests
            .iter()
            .map(|r| (r.type_id.get(), r.holder))
            .collect();
        let open = tx
            .open_pairs(&pairs)
            .await?
            .into_iter()
            .map(|o| ((o.type_id, o.holder), (o.id, o.idempotency_key)))
            .collect();
        // A key used before makes the request a repeat: it returns the first request, whatever its state.
        let keys: Vec<&str> = requests
            .iter()
            .map(|r| r.idempotency_key.as_str())
            .collect();
        let repeats = tx.used_keys(&keys).await?;
        let types = tx
            .credential_types()
            .await?
            .into_iter()
            .map(|t| (t.type_id, t))
            .collect();
        let registry_paused = tx
            .registry_state()
            .await?
            .iter()
            .any(|r| r.registry == Registry::Credentials && r.paused);
        let issuer_of = tx
            .roles(Some(RoleScope::Type))
            .await?
            .into_iter()
            .filter(|r| r.account == signer && r.type_roles().contains(TypeRoles::ISSUER))
            .map(|r| r.scope_id)
            .collect();
        // Every holder's credentials, in one query.
        let holders: Vec<Address> = requests
            .iter()
            .map(|r| r.holder)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut held: HashMap<Address, HashMap<u64, CredentialRow>> = HashMap::new();
        for c in tx.credentials_of_holders(&holders).await? {
            held.entry(c.holder).or_default().insert(c.type_id, c);
        }
        Ok(Self {
            signer,
            open,
            repeats,
            types,
            registry_paused,
            issuer_of,
            held,
        })
    }
}

/// Decides `requests` in order (each sees those before it) against `snapshot` at unix time `now`; no I/O.
pub fn decide(snapshot: &Snapshot, requests: &[&NewRequest], now: u64) -> Vec<Result<(), Refusal>> {
    let mut seen = HashSet::new();
    let mut added: HashMap<u64, u64> = HashMap::new();
    requests
        .iter()
        .map(|r| verdict(snapshot, r, now, &mut seen, &mut added))
        .collect()
}

/// The decision on one request, given the pairs `seen` and the supply `added` by the requests before it.
fn verdict(
    s: &Snapshot,
    r: &NewRequest,
    now: u64,
    seen: &mut HashSet<(u64, Address)>,
    added: &mut HashMap<u64, u64>,
) -> Result<(), Refusal> {
    let (t, h) = (r.type_id.get(), r.holder);
    if !seen.insert((t, h)) {
        return Err(Refusal::DuplicateInput {
            type_id: t,
            holder: h,
        });
    }
    if already_queued(s, r)? {
        return Ok(());
    }
    let ty = s.types.get(&t).ok_or(Refusal::UnknownType(t))?;
    check_policy(s, ty, r, now)?;
    let earlier = s.held.get(&h).and_then(|mine| mine.get(&t));
    check_earlier(ty, earlier, h, now)?;
    take_supply(ty, added)
}

/// Whether `r` is queued already (a used key, or the same open request); refused if another one issues it.
fn already_queued(s: &Snapshot, r: &NewRequest) -> Result<bool, Refusal> {
    if s.repeats.contains(&r.idempotency_key) {
        return Ok(true);
    }
    match s.open.get(&(r.type_id.get(), r.holder)) {
        Some((id, key)) if *key != r.idempotency_key => Err(Refusal::AlreadyQueued {
            type_id: r.type_id.get(),
            holder: r.holder,
            id: *id,
            key: key.clone(),
        }),
        // The same request again: idempotent, nothing to check.
        Some(_) => Ok(true),
        None => Ok(false),
    }
}

/// Refuses `r` on a paused registry or type, a signer without the role, a past expiry, a missing prerequisite.
fn check_policy(
    s: &Snapshot,
    ty: &CredentialTypeRow,
    r: &NewRequest,
    now: u64,
) -> Result<(), Refusal> {
    let (t, h) = (r.type_id.get(), r.holder);
    if s.registry_paused {
        return Err(Refusal::Paused("the credential registry".into()));
    }
    if ty.paused {
        return Err(Refusal::Paused(format!("credential type {t}")));
    }
    if !s.issuer_of.contains(&t) {
        return Err(Refusal::NotIssuer {
            type_id: t,
            signer: s.signer,
        });
    }
    if r.expires_at != 0 && r.expires_at <= now {
        return Err(Refusal::ExpiryInPast(r.expires_at));
    }
    let mine = s.held.get(&h);
    for p in &ty.prerequisites {
        if !mine
            .and_then(|m| m.get(p))
            .is_some_and(|c| c.is_valid_at(now))
        {
            return Err(Refusal::MissingPrerequisite {
                type_id: t,
                holder: h,
                prerequisite: *p,
            });
        }
    }
    Ok(())
}

/// Whether `c`, a credential of `ty`, has ended (at `now`) in a way that lets it be issued again.
pub fn may_issue_again(ty: &CredentialTypeRow, c: &CredentialRow, now: u64) -> bool {
    check_earlier(ty, Some(c), c.holder, now).is_ok()
}

/// Refuses `holder` a fresh `ty` while their `earlier` one is live, or when the policy bars issuing it again.
fn check_earlier(
    ty: &CredentialTypeRow,
    earlier: Option<&CredentialRow>,
    holder: Address,
    now: u64,
) -> Result<(), Refusal> {
    let Some(c) = earlier else {
        return Ok(());
    };
    let no_reissue = || Refusal::NoReissue {
        type_id: ty.type_id,
        holder,
        status: status_name(c.status),
    };
    if c.is_live() {
        let expired = c.expires_at != 0 && c.expires_at <= now;
        if !expired {
            return Err(Refusal::AlreadyHeld {
                type_id: ty.type_id,
                holder,
            });
        }
        if c.status == credential_status::SUSPENDED
            || !ty.type_flags().contains(TypeFlags::REISSUE_AFTER_EXPIRY)
        {
            return Err(no_reissue());
        }
    } else if !ty
        .type_flags()
        .contains(TypeFlags::REISSUE_AFTER_REVOCATION)
    {
        return Err(no_reissue());
    }
    Ok(())
}

/// Takes one of the type's supply cap (`added`: what the requests before took); refuses when it is full.
fn take_supply(ty: &CredentialTypeRow, added: &mut HashMap<u64, u64>) -> Result<(), Refusal> {
    if ty.max_supply > 0 {
        let n = added.entry(ty.type_id).or_insert(0);
        if ty.supply + *n + 1 > u64::from(ty.max_supply) {
            return Err(Refusal::SupplyExhausted {
                type_id: ty.type_id,
                max_supply: ty.max_supply,
            });
        }
        *n += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256, U256};

    use super::*;

    const NOW: u64 = 1_000_000;
    const SIGNER: Address = Address::repeat_byte(0x51);

    fn holder(n: u8) -> Address {
        Address::repeat_byte(n)
    }

    fn request(key: &str, type_id: u64, holder: Address) -> NewRequest {
        NewRequest {
            idempotency_key: key.into(),
            type_id: crate::domain::TypeId::new(type_id).expect("test type ids start at 1"),
            holder,
            expires_at: 0,
            evidence: B256::ZERO,
            document: None,
            source: "test".into(),
            derived: false,
        }
    }

    fn credential(type_id: u64, holder: Address, status: u8, expires_at: u64) -> CredentialRow {
        CredentialRow {
            token_id: (U256::from(type_id) << 160) | U256::from_be_slice(holder.as_slice()),
            type_id,
            holder,
            status,
            expires_at,
            ..CredentialRow::default()
        }
    }

    /// Types 1 (open), 2 (requires type 1) and 3 (the signer is not its issuer); nothing queued or held.
    fn snapshot() -> Snapshot {
        let mut types = BTreeMap::new();
        for id in 1..=3 {
            types.insert(id, CredentialTypeRow::unknown(id));
        }
        types.get_mut(&2).unwrap().prerequisites = vec![1];
        Snapshot {
            signer: SIGNER,
            types,
            issuer_of: [1, 2].into(),
            ..Snapshot::default()
        }
    }

    fn hold(s: &mut Snapshot, c: CredentialRow) {
        s.held.entry(c.holder).or_default().insert(c.type_id, c);
    }

    fn decide_one(s: &Snapshot, r: NewRequest) -> Result<(), Refusal> {
        decide(s, &[&r], NOW).remove(0)
    }

    #[test]
    fn a_request_the_chain_would_take_passes() {
        assert_eq!(decide_one(&snapshot(), request("k", 1, holder(1))), Ok(()));
    }

    #[test]
    fn a_type_that_does_not_exist_is_refused() {
        assert_eq!(
            decide_one(&snapshot(), request("k", 9, holder(1))),
            Err(Refusal::UnknownType(9))
        );
    }

    #[test]
    fn an_issuer_without_the_role_is_refused() {
        assert_eq!(
            decide_one(&snapshot(), request("k", 3, holder(1))),
            Err(Refusal::NotIssuer {
                type_id: 3,
                signer: SIGNER
            })
        );
    }

    #[test]
    fn a_pathway_step_needs_a_valid_prerequisite() {
        let missing = Err(Refusal::MissingPrerequisite {
            type_id: 2,
            holder: holder(1),
            prerequisite: 1,
        });
        let mut s = snapshot();
        assert_eq!(decide_one(&s, request("k", 2, holder(1))), missing);
        hold(
            &mut s,
            credential(1, holder(1), credential_status::ACTIVE, NOW),
        );
        assert_eq!(
            decide_one(&s, request("k", 2, holder(1))),
            missing,
            "expired"
        );
        hold(
            &mut s,
            credential(1, holder(1), credential_status::REVOKED, 0),
        );
        assert_eq!(
            decide_one(&s, request("k", 2, holder(1))),
            missing,
            "revoked"
        );
        hold(
            &mut s,
            credential(1, holder(1), credential_status::ACTIVE, NOW + 1),
        );
        assert_eq!(decide_one(&s, request("k", 2, holder(1))), Ok(()));
    }

    #[test]
    fn the_supply_cap_counts_the_live_ones_and_the_requests_before() {
        let mut s = snapshot();
        let t = s.types.get_mut(&1).unwrap();
        t.max_supply = 3;
        t.supply = 1;
        let (a, b, c) = (
            request("a", 1, holder(1)),
            request("b", 1, holder(2)),
            request("c", 1, holder(3)),
        );
        let exhausted = Err(Refusal::SupplyExhausted {
            type_id: 1,
            max_supply: 3,
        });
        assert_eq!(decide(&s, &[&a, &b, &c], NOW), [Ok(()), Ok(()), exhausted]);
    }

    #[test]
    fn a_paused_type_or_registry_is_refused() {
        let mut s = snapshot();
        s.types.get_mut(&1).unwrap().paused = true;
        assert_eq!(
            decide_one(&s, request("k", 1, holder(1))),
            Err(Refusal::Paused("credential type 1".into()))
        );
        s.registry_paused = true;
        assert_eq!(
            decide_one(&s, request("k", 2, holder(1))),
            Err(Refusal::Paused("the credential registry".into()))
        );
    }

    #[test]
    fn an_expiry_in_the_past_is_refused() {
        let mut r = request("k", 1, holder(1));
        r.expires_at = NOW;
        assert_eq!(decide_one(&snapshot(), r), Err(Refusal::ExpiryInPast(NOW)));
    }

    #[test]
    fn a_pair_twice_in_one_submission_keeps_the_first() {
        let (a, b) = (request("a", 1, holder(1)), request("b", 1, holder(1)));
        assert_eq!(
            decide(&snapshot(), &[&a, &b], NOW),
            [
                Ok(()),
                Err(Refusal::DuplicateInput {
                    type_id: 1,
                    holder: holder(1)
                })
            ]
        );
    }

    #[test]
    fn a_queued_request_again_passes_and_another_one_for_the_pair_is_refused() {
        let mut s = snapshot();
        s.open.insert((9, holder(1)), (7, "first".into()));
        s.repeats.insert("used".into());
        // Nothing else is checked for the same request again, nor for a used key (type 9 does not exist).
        assert_eq!(decide_one(&s, request("first", 9, holder(1))), Ok(()));
        assert_eq!(decide_one(&s, request("used", 9, holder(2))), Ok(()));
        assert_eq!(
            decide_one(&s, request("second", 9, holder(1))),
            Err(Refusal::AlreadyQueued {
                type_id: 9,
                holder: holder(1),
                id: 7,
                key: "first".into()
            })
        );
    }

    #[test]
    fn an_earlier_credential_is_issued_again_only_as_the_policy_allows() {
        let h = holder(1);
        let again = |status, expires_at, flags| {
            let mut s = snapshot();
            s.types.get_mut(&1).unwrap().flags = flags;
            hold(&mut s, credential(1, h, status, expires_at));
            decide_one(&s, request("k", 1, h))
        };
        let no = |status| {
            Err(Refusal::NoReissue {
                type_id: 1,
                holder: h,
                status,
            })
        };
        let (active, suspended, revoked) = (
            credential_status::ACTIVE,
            credential_status::SUSPENDED,
            credential_status::REVOKED,
        );
        let held = Err(Refusal::AlreadyHeld {
            type_id: 1,
            holder: h,
        });
        assert_eq!(again(active, 0, 0xff), held);
        assert_eq!(again(suspended, NOW + 1, 0xff), held);
        assert_eq!(again(active, NOW, 0), no("expired"));
        assert_eq!(
            again(active, NOW, TypeFlags::REISSUE_AFTER_EXPIRY.bits()),
            Ok(())
        );
        assert_eq!(again(suspended, NOW, 0xff), no("suspended"));
        assert_eq!(
            again(revoked, 0, TypeFlags::REISSUE_AFTER_EXPIRY.bits()),
            no("revoked")
        );
        assert_eq!(
            again(revoked, 0, TypeFlags::REISSUE_AFTER_REVOCATION.bits()),
            Ok(())
        );
    }
}
