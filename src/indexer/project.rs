//! The projections' fold: how each decoded event changes the mirror's state tables (credentials, credential
//! types, tiers, memberships, roles, governance operations, registry state). Pure: no SQL, no I/O.
//!
//! A range is folded in three steps, all inside the store's range transaction:
//! 1. [`Plan::new`] reads the range's events (in chain order) into typed operations and lists every key
//!    they touch ([`Keys`]);
//! 2. the store loads the current rows of those keys ([`Current`]);
//! 3. [`Plan::fold`] applies the operations and returns, per table, the rows to upsert, the keys to delete
//!    and, for blocks at or above `undo_from`, the undo log: the before-image of each key at the first
//!    change of each block ([`Undo`]). Restoring, for every key, the before-image of its lowest block above
//!    a fork point gives exactly the state after the fork point.
//!
//! What each event implies is read from the contracts (see `docs/contracts.md`):
//! - credentials: `Issued` and `IssuedBatch` (entry = holder | expiresAt << 160, the resolved expiry) write a
//!   fresh record (issued at the block's timestamp, status active) whether it is a first issue, a re-issue
//!   after revocation or an in-place re-issue of an expired credential; `Revoked`/`RevokedBatch`,
//!   `Suspended`, `Reinstated`, `Renewed`, `Renounced` change status, reason or expiry; `Recovered` marks the
//!   old record recovered and copies it to the new token id (issuer, dates, status and reason move with it).
//!   A type's `supply` is its live count (active or suspended), for every type.
//! - memberships follow the ERC-721 `Transfer`s (mint, burn, transfer) and `SubscriptionUpdate` (expiry);
//!   `Granted` names the manager, `Cancelled`/`Revoked` set status and reason, `TierChanged` marks the old
//!   token moved and gives the new one the original grant time. A tier's `members` counts active ones.
//! - roles: AccessManager `RoleGranted`/`RoleRevoked`, registry `TypeRolesSet` (0 = removed) and
//!   `TierManagerSet` (false = removed) in one table keyed by scope.
//! - governance: AccessManager `OperationScheduled`/`OperationExecuted`/`OperationCanceled`.
//! - registry state: `PauseSet` and `BaseURISet` of each registry.
//!
//! Every other event (ERC-721 `Locked`, ERC-4906 metadata updates, AccessManager wiring) stays in the raw
//! `events` table only.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::hash::Hash;

use alloy::primitives::{Address, Bytes, B256, U256};
use serde::de::DeserializeOwned;

use crate::chain::bindings::{
    AccessManager as AM, CredentialRegistry as CR, MembershipRegistry as MR,
};
use crate::domain::{
    credential_status, holder_of, membership_status, token_id, CredentialRow, CredentialTypeRow,
    GovernanceOpRow, MembershipRow, OpKey, OpState, Registry, RegistryStateRow, RoleKey, RoleRow,
    RoleScope, Source, TierRow,
};
use crate::store::changes::{Changes, Current, Folded, Keys, Undo};
use crate::store::mirror::NewEvent;

/// Why a range could not be folded. Each is a mirror out of step with the chain, or artifacts out of step
/// with the contracts; the range is not committed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// An event's fields do not have the shape of its ABI.
    #[error("event {name} at block {block} (tx {tx}, log {log_index}) has fields that do not match its ABI: {reason}")]
    Fields {
        /// Name of the event whose fields did not deserialize, e.g. `IssuedBatch`.
        name: String,
        /// Number of the block the event was emitted in.
        block: u64,
        /// Hash of the transaction that emitted the event.
        tx: B256,
        /// Index of the event's log in its block.
        log_index: u64,
        /// serde's message on the first field that does not match the ABI.
        reason: String,
    },
    /// A type, tier, role or operation id does not fit the mirror's 63-bit columns.
    #[error("{what} {value} at block {block} does not fit in 63 bits")]
    OutOfRange {
        /// What the number is.
        what: &'static str,
        /// The value as the event carries it: above `i64::MAX`, the limit of the BIGINT columns.
        value: U256,
        /// Number of the block whose event carries the value.
        block: u64,
    },
    /// An event changes a row the mirror does not have (the mirror missed an earlier event).
    #[error("{event} at block {block} (tx {tx}) changes {table} {key}, which the mirror does not have; re-index from the deploy block")]
    Missing {
        /// The event that needs the row, e.g. `Revoked`.
        event: &'static str,
        /// Kind of row that is missing, e.g. `credential`, `tier`, `governance operation`.
        table: &'static str,
        /// The missing row's key in `Debug` form (for a credential or membership: its token id).
        key: String,
        /// Number of the block the event was emitted in.
        block: u64,
        /// Hash of the transaction that emitted the event.
        tx: B256,
    },
}

/// Where an operation happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct At {
    block: u64,
    tx: B256,
    ts: u64,
}

/// One state change read from an event (batch events become one per holder).
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Issue {
        token: U256,
        issuer: Address,
        expires_at: u64,
        evidence: B256,
    },
    Revoke {
        token: U256,
        reason: u8,
    },
    Suspend {
        token: U256,
        reason: u8,
    },
    Reinstate {
        token: U256,
    },
    Renew {
        token: U256,
        expires_at: u64,
    },
    Renounce {
        token: U256,
    },
    Recover {
        from: Address,
        to: Address,
        old: U256,
        new: U256,
    },
    DefineType {
        type_id: u64,
        policy: Box<CR::TypePolicy>,
        new: bool,
    },
    PauseType {
        type_id: u64,
        paused: bool,
    },
    TypeRoles {
        type_id: u64,
        account: Address,
        roles: u8,
    },
    Pause {
        registry: Registry,
        paused: bool,
    },
    BaseUri {
        registry: Registry,
        uri: String,
    },
    Mint {
        token: U256,
        to: Address,
    },
    Burn {
        token: U256,
    },
    Move {
        token: U256,
        to: Address,
    },
    Expiry {
        token: U256,
        expires_at: u64,
    },
    Granted {
        token: U256,
        manager: Address,
    },
    Cancel {
        token: U256,
    },
    RevokeMembership {
        token: U256,
        reason: u8,
    },
    ChangeTier {
        old: U256,
        new: U256,
        by: Address,
    },
    DefineTier {
        tier_id: u64,
        policy: Box<MR::TierPolicy>,
        new: bool,
    },
    PauseTier {
        tier_id: u64,
        paused: bool,
    },
    TierManager {
        tier_id: u64,
        account: Address,
        allowed: bool,
    },
    RoleGranted {
        role: u64,
        account: Address,
        delay: u64,
        since: u64,
        new_member: bool,
    },
    RoleRevoked {
        role: u64,
        account: Address,
    },
    Scheduled {
        key: OpKey,
        schedule: u64,
        caller: Address,
        target: Address,
        data: Bytes,
    },
    Settled {
        key: OpKey,
        state: OpState,
    },
}

/// The range's events read into operations, with the keys they touch.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    ops: Vec<(At, &'static str, Op)>,
    /// Every key the operations touch.
    pub keys: Keys,
}

fn small(what: &'static str, value: U256, block: u64) -> Result<u64, ProjectError> {
    u64::try_from(value)
        .ok()
        .filter(|v| *v <= i64::MAX as u64)
        .ok_or(ProjectError::OutOfRange { what, value, block })
}

fn fields<T: DeserializeOwned>(e: &NewEvent) -> Result<T, ProjectError> {
    T::deserialize(&e.fields).map_err(|err| ProjectError::Fields {
        name: e.name.clone(),
        block: e.block_number,
        tx: e.tx_hash,
        log_index: e.log_index,
        reason: err.to_string(),
    })
}

fn ids(what: &'static str, v: &[U256], block: u64) -> Result<Vec<u64>, ProjectError> {
    v.iter().map(|x| small(what, *x, block)).collect()
}

#[derive(Default)]
struct KeySets {
    credentials: BTreeSet<U256>,
    credential_types: BTreeSet<u64>,
    tiers: BTreeSet<u64>,
    memberships: BTreeSet<U256>,
    roles: BTreeSet<RoleKey>,
    governance_ops: BTreeSet<OpKey>,
    registry_state: BTreeSet<Registry>,
}

impl Plan {
    /// Reads `events` (any order; folded in chain order) into operations. Events that change no projection
    /// are skipped.
    pub fn new<'a>(events: impl IntoIterator<Item = &'a NewEvent>) -> Result<Self, ProjectError> {
        let mut ops = Vec::new();
        for e in in_chain_order(events) {
            let at = At {
                block: e.block_number,
                tx: e.tx_hash,
                ts: e.block_timestamp,
            };
            let mut push = |name: &'static str, op: Op| ops.push((at, name, op));
            match e.source {
                Source::CredentialRegistry => credential_op(e, &mut push)?,
                Source::MembershipRegistry => membership_op(e, &mut push)?,
                Source::AccessManager => manager_op(e, &mut push)?,
            }
        }
        let keys = keys_of(&ops)?;
        Ok(Self { ops, keys })
    }

    /// Whether no event of the range changes a projection.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Number of row-level operations (a batch event counts once per holder).
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Applies the operations to `current` (the rows of [`Plan::keys`]) and returns each table's changes;
    /// changes in blocks at or above `undo_from` also get undo entries.
    pub fn fold(&self, current: Current, undo_from: Option<u64>) -> Result<Folded, ProjectError> {
        let k = &self.keys;
        let mut s = State {
            undo_from,
            credentials: Tracked::new("credential", &k.credentials, current.credentials, |r| {
                r.token_id
            }),
            credential_types: Tracked::new(
                "credential type",
                &k.credential_types,
                current.credential_types,
                |r| r.type_id,
            ),
            tiers: Tracked::new("tier", &k.tiers, current.tiers, |r| r.tier_id),
            memberships: Tracked::new("membership", &k.memberships, current.memberships, |r| {
                r.token_id
            }),
            roles: Tracked::new("role", &k.roles, current.roles, RoleRow::key),
            governance_ops: Tracked::new(
                "governance operation",
                &k.governance_ops,
                current.governance_ops,
                GovernanceOpRow::key,
            ),
            registry_state: Tracked::new(
                "registry state",
                &k.registry_state,
                current.registry_state,
                |r| r.registry,
            ),
        };
        for (at, name, op) in &self.ops {
            s.apply(*at, name, op)?;
        }
        Ok(Folded {
            credentials: s.credentials.changes(),
            credential_types: s.credential_types.changes(),
            tiers: s.tiers.changes(),
            memberships: s.memberships.changes(),
            roles: s.roles.changes(),
            governance_ops: s.governance_ops.changes(),
            registry_state: s.registry_state.changes(),
        })
    }
}

/// `events` in chain order (block, log index); already ordered input is kept as it is.
fn in_chain_order<'a>(events: impl IntoIterator<Item = &'a NewEvent>) -> Vec<&'a NewEvent> {
    let mut events: Vec<&NewEvent> = events.into_iter().collect();
    if !events
        .windows(2)
        .all(|w| (w[0].block_number, w[0].log_index) < (w[1].block_number, w[1].log_index))
    {
        events.sort_by_key(|e| (e.block_number, e.log_index));
    }
    events
}

/// Every key `ops` touch, per table, sorted and without repeats.
fn keys_of(ops: &[(At, &'static str, Op)]) -> Result<Keys, ProjectError> {
    let mut k = KeySets::default();
    for (at, _, op) in ops {
        op.keys(at.block, &mut k)?;
    }
    Ok(Keys {
        credentials: k.credentials.into_iter().collect(),
        credential_types: k.credential_types.into_iter().collect(),
        tiers: k.tiers.into_iter().collect(),
        memberships: k.memberships.into_iter().collect(),
        roles: k.roles.into_iter().collect(),
        governance_ops: k.governance_ops.into_iter().collect(),
        registry_state: k.registry_state.into_iter().collect(),
    })
}

/// Reads a CredentialRegistry issue or recovery event; others go on to [`credential_status_op`].
fn credential_op(
    e: &NewEvent,
    push: &mut impl FnMut(&'static str, Op),
) -> Result<(), ProjectError> {
    let b = e.block_number;
    match e.name.as_str() {
        "Issued" => {
            let f: CR::Issued = fields(e)?;
            let packed = f.issuerAndExpiry;
            push(
                "Issued",
                Op::Issue {
                    token: f.tokenId,
                    issuer: holder_of(packed),
                    expires_at: small("expiry", packed >> 160, b)?,
                    evidence: f.evidenceHash,
                },
            );
        }
        "IssuedBatch" => {
            let f: CR::IssuedBatch = fields(e)?;
            let type_id = small("type id", f.typeId, b)?;
            for (i, entry) in f.holdersAndExpiries.iter().enumerate() {
                push(
                    "IssuedBatch",
                    Op::Issue {
                        token: token_id(type_id, holder_of(*entry)),
                        issuer: f.issuer,
                        expires_at: small("expiry", *entry >> 160, b)?,
                        evidence: f.evidenceHashes.get(i).copied().unwrap_or_default(),
                    },
                );
            }
        }
        "Recovered" => {
            let f: CR::Recovered = fields(e)?;
            push(
                "Recovered",
                Op::Recover {
                    from: f.from,
                    to: f.to,
                    old: f.oldTokenId,
                    new: f.newTokenId,
                },
            );
        }
        _ => credential_status_op(e, push)?,
    }
    Ok(())
}

/// Reads a CredentialRegistry status or expiry event; others go on to [`credential_type_op`].
fn credential_status_op(
    e: &NewEvent,
    push: &mut impl FnMut(&'static str, Op),
) -> Result<(), ProjectError> {
    let b = e.block_number;
    match e.name.as_str() {
        "Revoked" => {
            let f: CR::Revoked = fields(e)?;
            push(
                "Revoked",
                Op::Revoke {
                    token: f.tokenId,
                    reason: f.reason,
                },
            );
        }
        "RevokedBatch" => {
            let f: CR::RevokedBatch = fields(e)?;
            let type_id = small("type id", f.typeId, b)?;
            for h in f.holders {
                push(
                    "RevokedBatch",
                    Op::Revoke {
                        token: token_id(type_id, h),
                        reason: f.reason,
                    },
                );
            }
        }
        "Suspended" => {
            let f: CR::Suspended = fields(e)?;
            push(
                "Suspended",
                Op::Suspend {
                    token: f.tokenId,
                    reason: f.reason,
                },
            );
        }
        "Reinstated" => {
            let f: CR::Reinstated = fields(e)?;
            push("Reinstated", Op::Reinstate { token: f.tokenId });
        }
        "Renewed" => {
            let f: CR::Renewed = fields(e)?;
            push(
                "Renewed",
                Op::Renew {
                    token: f.tokenId,
                    expires_at: f.expiresAt,
                },
            );
        }
        "Renounced" => {
            let f: CR::Renounced = fields(e)?;
            push("Renounced", Op::Renounce { token: f.tokenId });
        }
        _ => credential_type_op(e, push)?,
    }
    Ok(())
}

/// Reads a CredentialRegistry type, type role or settings event; others change no projection.
fn credential_type_op(
    e: &NewEvent,
    push: &mut impl FnMut(&'static str, Op),
) -> Result<(), ProjectError> {
    let b = e.block_number;
    match e.name.as_str() {
        "TypeDefined" => {
            let f: CR::TypeDefined = fields(e)?;
            push(
                "TypeDefined",
                Op::DefineType {
                    type_id: small("type id", f.typeId, b)?,
                    policy: Box::new(f.policy),
                    new: true,
                },
            );
        }
        "TypeUpdated" => {
            let f: CR::TypeUpdated = fields(e)?;
            push(
                "TypeUpdated",
                Op::DefineType {
                    type_id: small("type id", f.typeId, b)?,
                    policy: Box::new(f.policy),
                    new: false,
                },
            );
        }
        "TypePauseSet" => {
            let f: CR::TypePauseSet = fields(e)?;
            push(
                "TypePauseSet",
                Op::PauseType {
                    type_id: small("type id", f.typeId, b)?,
                    paused: f.paused,
                },
            );
        }
        "TypeRolesSet" => {
            let f: CR::TypeRolesSet = fields(e)?;
            push(
                "TypeRolesSet",
                Op::TypeRoles {
                    type_id: small("type id", f.typeId, b)?,
                    account: f.account,
                    roles: f.roles,
                },
            );
        }
        "PauseSet" => {
            let f: CR::PauseSet = fields(e)?;
            push(
                "PauseSet",
                Op::Pause {
                    registry: Registry::Credentials,
                    paused: f.paused,
                },
            );
        }
        "BaseURISet" => {
            let f: CR::BaseURISet = fields(e)?;
            push(
                "BaseURISet",
                Op::BaseUri {
                    registry: Registry::Credentials,
                    uri: f.baseURI,
                },
            );
        }
        _ => {}
    }
    Ok(())
}

/// Reads a MembershipRegistry membership event; others go on to [`tier_op`].
fn membership_op(
    e: &NewEvent,
    push: &mut impl FnMut(&'static str, Op),
) -> Result<(), ProjectError> {
    let b = e.block_number;
    match e.name.as_str() {
        "Transfer" => {
            let f: MR::Transfer = fields(e)?;
            let op = if f.from.is_zero() {
                Op::Mint {
                    token: f.tokenId,
                    to: f.to,
                }
            } else if f.to.is_zero() {
                Op::Burn { token: f.tokenId }
            } else {
                Op::Move {
                    token: f.tokenId,
                    to: f.to,
                }
            };
            push("Transfer", op);
        }
        "SubscriptionUpdate" => {
            let f: MR::SubscriptionUpdate = fields(e)?;
            push(
                "SubscriptionUpdate",
                Op::Expiry {
                    token: f.tokenId,
                    expires_at: f.expiration,
                },
            );
        }
        "Granted" => {
            let f: MR::Granted = fields(e)?;
            let tier_id = small("tier id", f.tierId, b)?;
            for h in f.holders {
                push(
                    "Granted",
                    Op::Granted {
                        token: token_id(tier_id, h),
                        manager: f.manager,
                    },
                );
            }
        }
        "Cancelled" => {
            let f: MR::Cancelled = fields(e)?;
            push("Cancelled", Op::Cancel { token: f.tokenId });
        }
        "Revoked" => {
            let f: MR::Revoked = fields(e)?;
            push(
                "Revoked",
                Op::RevokeMembership {
                    token: f.tokenId,
                    reason: f.reason,
                },
            );
        }
        "TierChanged" => {
            let f: MR::TierChanged = fields(e)?;
            push(
                "TierChanged",
                Op::ChangeTier {
                    old: f.oldTokenId,
                    new: f.newTokenId,
                    by: f.by,
                },
            );
        }
        _ => tier_op(e, push)?,
    }
    Ok(())
}

/// Reads a MembershipRegistry tier, tier manager or settings event; others change no projection.
fn tier_op(e: &NewEvent, push: &mut impl FnMut(&'static str, Op)) -> Result<(), ProjectError> {
    let b = e.block_number;
    match e.name.as_str() {
        "TierDefined" => {
            let f: MR::TierDefined = fields(e)?;
            push(
                "TierDefined",
                Op::DefineTier {
                    tier_id: small("tier id", f.tierId, b)?,
                    policy: Box::new(f.policy),
                    new: true,
                },
            );
        }
        "TierUpdated" => {
            let f: MR::TierUpdated = fields(e)?;
            push(
                "TierUpdated",
                Op::DefineTier {
                    tier_id: small("tier id", f.tierId, b)?,
                    policy: Box::new(f.policy),
                    new: false,
                },
            );
        }
        "TierPauseSet" => {
            let f: MR::TierPauseSet = fields(e)?;
            push(
                "TierPauseSet",
                Op::PauseTier {
                    tier_id: small("tier id", f.tierId, b)?,
                    paused: f.paused,
                },
            );
        }
        "TierManagerSet" => {
            let f: MR::TierManagerSet = fields(e)?;
            push(
                "TierManagerSet",
                Op::TierManager {
                    tier_id: small("tier id", f.tierId, b)?,
                    account: f.account,
                    allowed: f.allowed,
                },
            );
        }
        "PauseSet" => {
            let f: MR::PauseSet = fields(e)?;
            push(
                "PauseSet",
                Op::Pause {
                    registry: Registry::Memberships,
                    paused: f.paused,
                },
            );
        }
        "BaseURISet" => {
            let f: MR::BaseURISet = fields(e)?;
            push(
                "BaseURISet",
                Op::BaseUri {
                    registry: Registry::Memberships,
                    uri: f.baseURI,
                },
            );
        }
        _ => {}
    }
    Ok(())
}

/// Reads an AccessManager role event; others go on to [`governance_op`].
fn manager_op(e: &NewEvent, push: &mut impl FnMut(&'static str, Op)) -> Result<(), ProjectError> {
    let b = e.block_number;
    match e.name.as_str() {
        "RoleGranted" => {
            let f: AM::RoleGranted = fields(e)?;
            push(
                "RoleGranted",
                Op::RoleGranted {
                    role: small("role id", U256::from(f.roleId), b)?,
                    account: f.account,
                    delay: u64::from(f.delay),
                    since: f.since.to::<u64>(),
                    new_member: f.newMember,
                },
            );
        }
        "RoleRevoked" => {
            let f: AM::RoleRevoked = fields(e)?;
            push(
                "RoleRevoked",
                Op::RoleRevoked {
                    role: small("role id", U256::from(f.roleId), b)?,
                    account: f.account,
                },
            );
        }
        _ => governance_op(e, push)?,
    }
    Ok(())
}

/// Reads an AccessManager operation event (scheduled, executed, canceled); others change no projection.
fn governance_op(
    e: &NewEvent,
    push: &mut impl FnMut(&'static str, Op),
) -> Result<(), ProjectError> {
    match e.name.as_str() {
        "OperationScheduled" => {
            let f: AM::OperationScheduled = fields(e)?;
            push(
                "OperationScheduled",
                Op::Scheduled {
                    key: OpKey {
                        operation_id: f.operationId,
                        nonce: f.nonce,
                    },
                    schedule: f.schedule.to::<u64>(),
                    caller: f.caller,
                    target: f.target,
                    data: f.data,
                },
            );
        }
        "OperationExecuted" => {
            let f: AM::OperationExecuted = fields(e)?;
            push(
                "OperationExecuted",
                Op::Settled {
                    key: OpKey {
                        operation_id: f.operationId,
                        nonce: f.nonce,
                    },
                    state: OpState::Executed,
                },
            );
        }
        "OperationCanceled" => {
            let f: AM::OperationCanceled = fields(e)?;
            push(
                "OperationCanceled",
                Op::Settled {
                    key: OpKey {
                        operation_id: f.operationId,
                        nonce: f.nonce,
                    },
                    state: OpState::Canceled,
                },
            );
        }
        _ => {}
    }
    Ok(())
}

impl Op {
    fn keys(&self, block: u64, k: &mut KeySets) -> Result<(), ProjectError> {
        let type_of = |t: &U256| small("type id", *t >> 160, block);
        match self {
            Op::Issue { token, .. }
            | Op::Revoke { token, .. }
            | Op::Suspend { token, .. }
            | Op::Reinstate { token }
            | Op::Renew { token, .. }
            | Op::Renounce { token } => {
                k.credentials.insert(*token);
                k.credential_types.insert(type_of(token)?);
            }
            Op::Recover { old, new, .. } => {
                k.credentials.insert(*old);
                k.credentials.insert(*new);
                k.credential_types.insert(type_of(old)?);
                k.credential_types.insert(type_of(new)?);
            }
            Op::DefineType { type_id, .. } | Op::PauseType { type_id, .. } => {
                k.credential_types.insert(*type_id);
            }
            Op::TypeRoles {
                type_id, account, ..
            } => {
                k.roles.insert(RoleKey {
                    scope: RoleScope::Type,
                    scope_id: *type_id,
                    account: *account,
                });
            }
            Op::Pause { registry, .. } | Op::BaseUri { registry, .. } => {
                k.registry_state.insert(*registry);
            }
            Op::Mint { token, .. }
            | Op::Burn { token }
            | Op::Move { token, .. }
            | Op::Expiry { token, .. }
            | Op::Granted { token, .. }
            | Op::Cancel { token }
            | Op::RevokeMembership { token, .. } => {
                k.memberships.insert(*token);
                k.tiers.insert(small("tier id", *token >> 160, block)?);
            }
            Op::ChangeTier { old, new, .. } => {
                for t in [old, new] {
                    k.memberships.insert(*t);
                    k.tiers.insert(small("tier id", *t >> 160, block)?);
                }
            }
            Op::DefineTier { tier_id, .. } | Op::PauseTier { tier_id, .. } => {
                k.tiers.insert(*tier_id);
            }
            Op::TierManager {
                tier_id, account, ..
            } => {
                k.roles.insert(RoleKey {
                    scope: RoleScope::Tier,
                    scope_id: *tier_id,
                    account: *account,
                });
            }
            Op::RoleGranted { role, account, .. } | Op::RoleRevoked { role, account } => {
                k.roles.insert(RoleKey {
                    scope: RoleScope::Manager,
                    scope_id: *role,
                    account: *account,
                });
            }
            Op::Scheduled { key, .. } | Op::Settled { key, .. } => {
                k.governance_ops.insert(*key);
            }
        }
        Ok(())
    }
}

/// One row's state during a fold.
struct Slot<V> {
    value: Option<V>,
    dirty: bool,
    undo_block: Option<u64>,
}

/// The rows of one table's touched keys, with what changed and the undo log.
struct Tracked<K, V> {
    table: &'static str,
    rows: HashMap<K, Slot<V>>,
    undo: Vec<Undo<K, V>>,
}

impl<K: Eq + Hash + Ord + Clone + Debug, V: Clone> Tracked<K, V> {
    fn new(table: &'static str, keys: &[K], loaded: Vec<V>, key_of: impl Fn(&V) -> K) -> Self {
        let mut rows: HashMap<K, Slot<V>> = keys
            .iter()
            .map(|k| {
                (
                    k.clone(),
                    Slot {
                        value: None,
                        dirty: false,
                        undo_block: None,
                    },
                )
            })
            .collect();
        for v in loaded {
            if let Some(slot) = rows.get_mut(&key_of(&v)) {
                slot.value = Some(v);
            }
        }
        Self {
            table,
            rows,
            undo: Vec::new(),
        }
    }

    fn missing(&self, key: &K, at: At, event: &'static str) -> ProjectError {
        ProjectError::Missing {
            event,
            table: self.table,
            key: format!("{key:?}"),
            block: at.block,
            tx: at.tx,
        }
    }

    /// The current row of `key`.
    fn get(&self, key: &K) -> Option<&V> {
        self.rows.get(key).and_then(|s| s.value.as_ref())
    }

    /// The row of `key` for writing: marks it changed and, in an undo block, records its before-image at
    /// the block's first change. Every key was listed by the plan, so a key not loaded is a bug upstream.
    fn slot(
        &mut self,
        key: &K,
        at: At,
        undo_from: Option<u64>,
        event: &'static str,
    ) -> Result<&mut Option<V>, ProjectError> {
        if !self.rows.contains_key(key) {
            return Err(self.missing(key, at, event));
        }
        let slot = self.rows.get_mut(key).expect("checked above");
        slot.dirty = true;
        if undo_from.is_some_and(|f| at.block >= f) && slot.undo_block != Some(at.block) {
            slot.undo_block = Some(at.block);
            self.undo.push(Undo {
                block: at.block,
                key: key.clone(),
                before: slot.value.clone(),
            });
        }
        Ok(&mut slot.value)
    }

    /// Changes the existing row of `key` with `f`; an absent row is an error.
    fn update<R>(
        &mut self,
        key: &K,
        at: At,
        undo_from: Option<u64>,
        event: &'static str,
        f: impl FnOnce(&mut V) -> R,
    ) -> Result<R, ProjectError> {
        if self.get(key).is_none() {
            return Err(self.missing(key, at, event));
        }
        let v = self.slot(key, at, undo_from, event)?;
        Ok(f(v.as_mut().expect("checked above")))
    }

    fn changes(self) -> Changes<K, V> {
        let mut dirty: Vec<(K, Option<V>)> = self
            .rows
            .into_iter()
            .filter(|(_, s)| s.dirty)
            .map(|(k, s)| (k, s.value))
            .collect();
        dirty.sort_by(|a, b| a.0.cmp(&b.0));
        let mut c = Changes {
            undo: self.undo,
            ..Changes::default()
        };
        for (k, v) in dirty {
            match v {
                Some(v) => c.upserts.push(v),
                None => c.deletes.push(k),
            }
        }
        c
    }
}

struct State {
    undo_from: Option<u64>,
    credentials: Tracked<U256, CredentialRow>,
    credential_types: Tracked<u64, CredentialTypeRow>,
    tiers: Tracked<u64, TierRow>,
    memberships: Tracked<U256, MembershipRow>,
    roles: Tracked<RoleKey, RoleRow>,
    governance_ops: Tracked<OpKey, GovernanceOpRow>,
    registry_state: Tracked<Registry, RegistryStateRow>,
}

fn type_row(
    type_id: u64,
    p: &CR::TypePolicy,
    block: u64,
) -> Result<CredentialTypeRow, ProjectError> {
    Ok(CredentialTypeRow {
        type_id,
        name: p.name.clone(),
        uri: p.uri.clone(),
        default_validity: p.defaultValidity.to::<u64>(),
        max_validity: p.maxValidity.to::<u64>(),
        renewal_window: p.renewalWindow.to::<u64>(),
        max_supply: p.maxSupply,
        quota_limit: p.quotaLimit,
        quota_period: p.quotaPeriod,
        flags: p.flags,
        prerequisites: ids("prerequisite type id", &p.prerequisites, block)?,
        paused: false,
        supply: 0,
        defined_block: block,
        updated_block: block,
    })
}

fn tier_row(tier_id: u64, p: &MR::TierPolicy, block: u64) -> Result<TierRow, ProjectError> {
    Ok(TierRow {
        tier_id,
        name: p.name.clone(),
        uri: p.uri.clone(),
        duration: p.duration,
        holder_renewable: p.holderRenewable,
        transferable: p.transferable,
        max_members: p.maxMembers,
        eligibility: ids("eligibility type id", &p.eligibility, block)?,
        paused: false,
        members: 0,
        defined_block: block,
        updated_block: block,
    })
}

/// A token row its scope counts: a live credential in its type's supply, an active membership in its tier's
/// members.
trait Counted {
    /// Whether the scope counts this row now.
    fn counted(&self) -> bool;
    /// Records that the row changed in `block`.
    fn touch(&mut self, block: u64);
}

/// A scope row (type or tier) holding the count of its counted tokens.
trait Tally {
    /// Counts one token more (`up`) or less, changed in `block`.
    fn tally(&mut self, up: bool, block: u64);
}

impl Counted for CredentialRow {
    fn counted(&self) -> bool {
        self.is_live()
    }
    fn touch(&mut self, block: u64) {
        self.updated_block = block;
    }
}

impl Counted for MembershipRow {
    fn counted(&self) -> bool {
        self.status == membership_status::ACTIVE
    }
    fn touch(&mut self, block: u64) {
        self.updated_block = block;
    }
}

/// A count one higher (`up`) or one lower, never below zero.
fn step(n: u64, up: bool) -> u64 {
    if up {
        n + 1
    } else {
        n.saturating_sub(1)
    }
}

impl Tally for CredentialTypeRow {
    fn tally(&mut self, up: bool, block: u64) {
        self.supply = step(self.supply, up);
        self.updated_block = block;
    }
}

impl Tally for TierRow {
    fn tally(&mut self, up: bool, block: u64) {
        self.members = step(self.members, up);
        self.updated_block = block;
    }
}

/// Changes token row `token` with `f` and, when that changes whether its scope counts it, the scope's count
/// (the scope id is the token id's high bits, `what` names it in errors).
#[allow(clippy::too_many_arguments)]
fn counted_change<V: Counted + Clone, P: Tally + Clone>(
    rows: &mut Tracked<U256, V>,
    scopes: &mut Tracked<u64, P>,
    what: &'static str,
    undo_from: Option<u64>,
    at: At,
    event: &'static str,
    token: U256,
    f: impl FnOnce(&mut Option<V>, At) -> Result<(), ProjectError>,
) -> Result<(), ProjectError> {
    let slot = rows.slot(&token, at, undo_from, event)?;
    let was = slot.as_ref().is_some_and(V::counted);
    f(slot, at)?;
    let is = slot.as_ref().is_some_and(V::counted);
    if was != is {
        let scope = small(what, token >> 160, at.block)?;
        scopes.update(&scope, at, undo_from, event, |p| p.tally(is, at.block))?;
    }
    Ok(())
}

/// Changes the existing token row `token` with `f` (an absent row is an error), as [`counted_change`].
#[allow(clippy::too_many_arguments)]
fn counted_update<V: Counted + Clone, P: Tally + Clone>(
    rows: &mut Tracked<U256, V>,
    scopes: &mut Tracked<u64, P>,
    what: &'static str,
    undo_from: Option<u64>,
    at: At,
    event: &'static str,
    token: U256,
    f: impl FnOnce(&mut V),
) -> Result<(), ProjectError> {
    if rows.get(&token).is_none() {
        return Err(rows.missing(&token, at, event));
    }
    counted_change(
        rows,
        scopes,
        what,
        undo_from,
        at,
        event,
        token,
        |slot, at| {
            if let Some(row) = slot.as_mut() {
                f(row);
                row.touch(at.block);
            }
            Ok(())
        },
    )
}

impl State {
    /// Changes credential `token` with `f` and keeps its type's live supply in step.
    fn credential(
        &mut self,
        at: At,
        event: &'static str,
        token: U256,
        f: impl FnOnce(&mut Option<CredentialRow>, At) -> Result<(), ProjectError>,
    ) -> Result<(), ProjectError> {
        let (rows, parents) = (&mut self.credentials, &mut self.credential_types);
        counted_change(
            rows,
            parents,
            "type id",
            self.undo_from,
            at,
            event,
            token,
            f,
        )
    }

    /// Changes the existing credential `token` with `f`.
    fn credential_update(
        &mut self,
        at: At,
        event: &'static str,
        token: U256,
        f: impl FnOnce(&mut CredentialRow),
    ) -> Result<(), ProjectError> {
        let (rows, parents) = (&mut self.credentials, &mut self.credential_types);
        counted_update(
            rows,
            parents,
            "type id",
            self.undo_from,
            at,
            event,
            token,
            f,
        )
    }

    /// Changes membership `token` with `f` and keeps its tier's active member count in step.
    fn membership(
        &mut self,
        at: At,
        event: &'static str,
        token: U256,
        f: impl FnOnce(&mut Option<MembershipRow>, At) -> Result<(), ProjectError>,
    ) -> Result<(), ProjectError> {
        let (rows, parents) = (&mut self.memberships, &mut self.tiers);
        counted_change(
            rows,
            parents,
            "tier id",
            self.undo_from,
            at,
            event,
            token,
            f,
        )
    }

    /// Changes the existing membership `token` with `f`.
    fn membership_update(
        &mut self,
        at: At,
        event: &'static str,
        token: U256,
        f: impl FnOnce(&mut MembershipRow),
    ) -> Result<(), ProjectError> {
        let (rows, parents) = (&mut self.memberships, &mut self.tiers);
        counted_update(
            rows,
            parents,
            "tier id",
            self.undo_from,
            at,
            event,
            token,
            f,
        )
    }

    fn registry(
        &mut self,
        at: At,
        event: &'static str,
        registry: Registry,
        f: impl FnOnce(&mut RegistryStateRow),
    ) -> Result<(), ProjectError> {
        let slot = self
            .registry_state
            .slot(&registry, at, self.undo_from, event)?;
        let row = slot.get_or_insert_with(|| RegistryStateRow {
            registry,
            paused: false,
            base_uri: None,
            updated_block: None,
        });
        f(row);
        row.updated_block = Some(at.block);
        Ok(())
    }

    fn role(
        &mut self,
        at: At,
        event: &'static str,
        key: RoleKey,
        grant: Option<(u8, Option<u64>, Option<u64>)>,
    ) -> Result<(), ProjectError> {
        let slot = self.roles.slot(&key, at, self.undo_from, event)?;
        let granted_block = slot.as_ref().map_or(at.block, |r| r.granted_block);
        *slot = grant.map(|(bits, since, delay)| RoleRow {
            scope: key.scope,
            scope_id: key.scope_id,
            account: key.account,
            bits,
            since,
            delay,
            granted_block,
            updated_block: at.block,
        });
        Ok(())
    }

    /// Applies one operation, through the function of its contract and table family.
    fn apply(&mut self, at: At, event: &'static str, op: &Op) -> Result<(), ProjectError> {
        match op {
            Op::Issue { .. } | Op::Recover { .. } => self.apply_credential(at, event, op),
            Op::Revoke { .. }
            | Op::Suspend { .. }
            | Op::Reinstate { .. }
            | Op::Renew { .. }
            | Op::Renounce { .. } => self.apply_credential_status(at, event, op),
            Op::DefineType { .. } | Op::PauseType { .. } | Op::TypeRoles { .. } => {
                self.apply_credential_type(at, event, op)
            }
            Op::Pause { registry, paused } => {
                self.registry(at, event, *registry, |r| r.paused = *paused)
            }
            Op::BaseUri { registry, uri } => {
                self.registry(at, event, *registry, |r| r.base_uri = Some(uri.clone()))
            }
            Op::Mint { .. } | Op::ChangeTier { .. } => self.apply_membership(at, event, op),
            Op::Burn { .. }
            | Op::Move { .. }
            | Op::Expiry { .. }
            | Op::Granted { .. }
            | Op::Cancel { .. }
            | Op::RevokeMembership { .. } => self.apply_membership_update(at, event, op),
            Op::DefineTier { .. } | Op::PauseTier { .. } | Op::TierManager { .. } => {
                self.apply_tier(at, event, op)
            }
            Op::RoleGranted { .. } | Op::RoleRevoked { .. } => {
                self.apply_manager_role(at, event, op)
            }
            Op::Scheduled { .. } | Op::Settled { .. } => self.apply_governance(at, event, op),
        }
    }

    /// Applies a credential issue (first, again or in place) or recovery.
    fn apply_credential(
        &mut self,
        at: At,
        event: &'static str,
        op: &Op,
    ) -> Result<(), ProjectError> {
        use credential_status as cs;
        match op {
            Op::Issue {
                token,
                issuer,
                expires_at,
                evidence,
            } => {
                let type_id = small("type id", *token >> 160, at.block)?;
                self.credential(at, event, *token, |slot, at| {
                    *slot = Some(CredentialRow {
                        token_id: *token,
                        type_id,
                        holder: holder_of(*token),
                        issuer: *issuer,
                        issued_at: at.ts,
                        expires_at: *expires_at,
                        status: cs::ACTIVE,
                        reason: 0,
                        evidence_hash: *evidence,
                        issued_block: at.block,
                        issued_tx: at.tx,
                        updated_block: at.block,
                        recovered_from: None,
                        recovered_to: None,
                    });
                    Ok(())
                })?;
            }
            Op::Recover { from, to, old, new } => {
                let moved = self
                    .credentials
                    .get(old)
                    .cloned()
                    .ok_or_else(|| self.credentials.missing(old, at, event))?;
                self.credential_update(at, event, *old, |r| {
                    r.status = cs::RECOVERED;
                    r.reason = 0;
                    r.recovered_to = Some(*to);
                })?;
                self.credential(at, event, *new, |slot, at| {
                    *slot = Some(CredentialRow {
                        token_id: *new,
                        holder: *to,
                        recovered_from: Some(*from),
                        recovered_to: None,
                        updated_block: at.block,
                        ..moved
                    });
                    Ok(())
                })?;
            }
            other => unreachable!("apply_credential got {other:?}"),
        }
        Ok(())
    }

    /// Applies a change to an existing credential: its status and reason, or its expiry.
    fn apply_credential_status(
        &mut self,
        at: At,
        event: &'static str,
        op: &Op,
    ) -> Result<(), ProjectError> {
        use credential_status as cs;
        match op {
            Op::Revoke { token, reason } => {
                self.credential_update(at, event, *token, |r| {
                    r.status = cs::REVOKED;
                    r.reason = *reason;
                })?;
            }
            Op::Suspend { token, reason } => {
                self.credential_update(at, event, *token, |r| {
                    r.status = cs::SUSPENDED;
                    r.reason = *reason;
                })?;
            }
            Op::Reinstate { token } => {
                self.credential_update(at, event, *token, |r| {
                    r.status = cs::ACTIVE;
                    r.reason = 0;
                })?;
            }
            Op::Renew { token, expires_at } => {
                self.credential_update(at, event, *token, |r| r.expires_at = *expires_at)?;
            }
            Op::Renounce { token } => {
                self.credential_update(at, event, *token, |r| {
                    r.status = cs::RENOUNCED;
                    r.reason = 0;
                })?;
            }
            other => unreachable!("apply_credential_status got {other:?}"),
        }
        Ok(())
    }

    /// Applies a credential type operation: its definition, pause or a type role.
    fn apply_credential_type(
        &mut self,
        at: At,
        event: &'static str,
        op: &Op,
    ) -> Result<(), ProjectError> {
        let u = self.undo_from;
        match op {
            Op::DefineType {
                type_id,
                policy,
                new,
            } => {
                let mut row = type_row(*type_id, policy, at.block)?;
                if !*new {
                    let old = self
                        .credential_types
                        .get(type_id)
                        .ok_or_else(|| self.credential_types.missing(type_id, at, event))?;
                    row.paused = old.paused;
                    row.supply = old.supply;
                    row.defined_block = old.defined_block;
                }
                *self.credential_types.slot(type_id, at, u, event)? = Some(row);
            }
            Op::PauseType { type_id, paused } => {
                self.credential_types.update(type_id, at, u, event, |t| {
                    t.paused = *paused;
                    t.updated_block = at.block;
                })?;
            }
            Op::TypeRoles {
                type_id,
                account,
                roles,
            } => {
                let key = RoleKey {
                    scope: RoleScope::Type,
                    scope_id: *type_id,
                    account: *account,
                };
                self.role(
                    at,
                    event,
                    key,
                    (*roles != 0).then_some((*roles, None, None)),
                )?;
            }
            other => unreachable!("apply_credential_type got {other:?}"),
        }
        Ok(())
    }

    /// Applies a membership mint, or a tier change (the new token keeps the original grant time).
    fn apply_membership(
        &mut self,
        at: At,
        event: &'static str,
        op: &Op,
    ) -> Result<(), ProjectError> {
        use membership_status as ms;
        match op {
            Op::Mint { token, to } => {
                let tier_id = small("tier id", *token >> 160, at.block)?;
                self.membership(at, event, *token, |slot, at| {
                    *slot = Some(MembershipRow {
                        token_id: *token,
                        tier_id,
                        holder: *to,
                        original_holder: holder_of(*token),
                        expires_at: 0,
                        granted_at: at.ts,
                        status: ms::ACTIVE,
                        reason: 0,
                        granted_by: None,
                        granted_block: at.block,
                        granted_tx: at.tx,
                        moved_from: None,
                        moved_to: None,
                        updated_block: at.block,
                    });
                    Ok(())
                })?;
            }
            Op::ChangeTier { old, new, by } => {
                let granted_at = self
                    .memberships
                    .get(old)
                    .map(|m| m.granted_at)
                    .ok_or_else(|| self.memberships.missing(old, at, event))?;
                self.membership_update(at, event, *old, |m| {
                    m.status = ms::MOVED;
                    m.moved_to = Some(*new);
                })?;
                self.membership_update(at, event, *new, |m| {
                    m.granted_at = granted_at;
                    m.granted_by = Some(*by);
                    m.moved_from = Some(*old);
                })?;
            }
            other => unreachable!("apply_membership got {other:?}"),
        }
        Ok(())
    }

    /// Applies a change to an existing membership: its status and reason, holder, expiry or manager.
    fn apply_membership_update(
        &mut self,
        at: At,
        event: &'static str,
        op: &Op,
    ) -> Result<(), ProjectError> {
        use membership_status as ms;
        match op {
            Op::Burn { token } => {
                self.membership_update(at, event, *token, |m| {
                    m.status = ms::REVOKED;
                    m.reason = 0;
                })?;
            }
            Op::Move { token, to } => {
                self.membership_update(at, event, *token, |m| m.holder = *to)?;
            }
            Op::Expiry { token, expires_at } => {
                self.membership_update(at, event, *token, |m| m.expires_at = *expires_at)?;
            }
            Op::Granted { token, manager } => {
                self.membership_update(at, event, *token, |m| m.granted_by = Some(*manager))?;
            }
            Op::Cancel { token } => {
                self.membership_update(at, event, *token, |m| m.status = ms::CANCELLED)?;
            }
            Op::RevokeMembership { token, reason } => {
                self.membership_update(at, event, *token, |m| {
                    m.status = ms::REVOKED;
                    m.reason = *reason;
                })?;
            }
            other => unreachable!("apply_membership_update got {other:?}"),
        }
        Ok(())
    }

    /// Applies a tier operation: its definition, pause or a tier manager.
    fn apply_tier(&mut self, at: At, event: &'static str, op: &Op) -> Result<(), ProjectError> {
        let u = self.undo_from;
        match op {
            Op::DefineTier {
                tier_id,
                policy,
                new,
            } => {
                let mut row = tier_row(*tier_id, policy, at.block)?;
                if !*new {
                    let old = self
                        .tiers
                        .get(tier_id)
                        .ok_or_else(|| self.tiers.missing(tier_id, at, event))?;
                    row.paused = old.paused;
                    row.members = old.members;
                    row.defined_block = old.defined_block;
                }
                *self.tiers.slot(tier_id, at, u, event)? = Some(row);
            }
            Op::PauseTier { tier_id, paused } => {
                self.tiers.update(tier_id, at, u, event, |t| {
                    t.paused = *paused;
                    t.updated_block = at.block;
                })?;
            }
            Op::TierManager {
                tier_id,
                account,
                allowed,
            } => {
                let key = RoleKey {
                    scope: RoleScope::Tier,
                    scope_id: *tier_id,
                    account: *account,
                };
                self.role(at, event, key, allowed.then_some((1, None, None)))?;
            }
            other => unreachable!("apply_tier got {other:?}"),
        }
        Ok(())
    }

    /// Applies an AccessManager role grant or revocation.
    fn apply_manager_role(
        &mut self,
        at: At,
        event: &'static str,
        op: &Op,
    ) -> Result<(), ProjectError> {
        match op {
            Op::RoleGranted {
                role,
                account,
                delay,
                since,
                new_member,
            } => {
                let key = RoleKey {
                    scope: RoleScope::Manager,
                    scope_id: *role,
                    account: *account,
                };
                // A grant to a member only changes the delay (`since` is then when the new delay applies).
                let since = match self.roles.get(&key) {
                    Some(r) if !*new_member => r.since,
                    _ => Some(*since),
                };
                self.role(at, event, key, Some((1, since, Some(*delay))))?;
            }
            Op::RoleRevoked { role, account } => {
                let key = RoleKey {
                    scope: RoleScope::Manager,
                    scope_id: *role,
                    account: *account,
                };
                self.role(at, event, key, None)?;
            }
            other => unreachable!("apply_manager_role got {other:?}"),
        }
        Ok(())
    }

    /// Applies an AccessManager operation being scheduled, executed or canceled.
    fn apply_governance(
        &mut self,
        at: At,
        event: &'static str,
        op: &Op,
    ) -> Result<(), ProjectError> {
        let u = self.undo_from;
        match op {
            Op::Scheduled {
                key,
                schedule,
                caller,
                target,
                data,
            } => {
                *self.governance_ops.slot(key, at, u, event)? = Some(GovernanceOpRow {
                    operation_id: key.operation_id,
                    nonce: key.nonce,
                    schedule: Some(*schedule),
                    caller: Some(*caller),
                    target: Some(*target),
                    data: Some(data.clone()),
                    state: OpState::Scheduled,
                    scheduled_block: Some(at.block),
                    scheduled_tx: Some(at.tx),
                    updated_block: at.block,
                });
            }
            Op::Settled { key, state } => {
                let slot = self.governance_ops.slot(key, at, u, event)?;
                let row = slot.get_or_insert_with(|| GovernanceOpRow {
                    operation_id: key.operation_id,
                    nonce: key.nonce,
                    schedule: None,
                    caller: None,
                    target: None,
                    data: None,
                    state: *state,
                    scheduled_block: None,
                    scheduled_tx: None,
                    updated_block: at.block,
                });
                row.state = *state;
                row.updated_block = at.block;
            }
            other => unreachable!("apply_governance got {other:?}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use alloy::primitives::aliases::U48;
    use serde::Serialize;

    use super::*;

    const ME: Address = Address::repeat_byte(0xee);
    const A: Address = Address::repeat_byte(0x0a);
    const B: Address = Address::repeat_byte(0x0b);
    const C: Address = Address::repeat_byte(0x0c);
    const D: Address = Address::repeat_byte(0x0d);

    fn ts(block: u64) -> u64 {
        1_700_000_000 + block * 12
    }

    fn ev<T: Serialize>(block: u64, log: u64, source: Source, name: &str, f: T) -> NewEvent {
        NewEvent {
            tx_hash: B256::with_last_byte(block as u8),
            log_index: log,
            block_number: block,
            block_hash: B256::repeat_byte(block as u8),
            tx_index: 0,
            contract: Address::ZERO,
            source,
            block_timestamp: ts(block),
            name: name.into(),
            fields: serde_json::to_value(f).unwrap(),
        }
    }

    fn cr<T: Serialize>(block: u64, log: u64, name: &str, f: T) -> NewEvent {
        ev(block, log, Source::CredentialRegistry, name, f)
    }

    fn mr<T: Serialize>(block: u64, log: u64, name: &str, f: T) -> NewEvent {
        ev(block, log, Source::MembershipRegistry, name, f)
    }

    fn am<T: Serialize>(block: u64, log: u64, name: &str, f: T) -> NewEvent {
        ev(block, log, Source::AccessManager, name, f)
    }

    fn policy(name: &str, validity: u64, prerequisites: &[u64]) -> CR::TypePolicy {
        CR::TypePolicy {
            prerequisites: prerequisites.iter().map(|p| U256::from(*p)).collect(),
            ..CR::TypePolicy::plain(name, validity, 63)
        }
    }

    fn tier(name: &str, duration: u64) -> MR::TierPolicy {
        MR::TierPolicy {
            name: name.into(),
            uri: format!("ipfs://{name}"),
            duration,
            holderRenewable: true,
            transferable: false,
            maxMembers: 0,
            eligibility: vec![],
        }
    }

    fn packed(who: Address, expiry: u64) -> U256 {
        U256::from_be_slice(who.as_slice()) | (U256::from(expiry) << 160)
    }

    fn issued(block: u64, log: u64, type_id: u64, holder: Address, expiry: u64) -> NewEvent {
        cr(
            block,
            log,
            "Issued",
            CR::Issued {
                tokenId: token_id(type_id, holder),
                issuerAndExpiry: packed(ME, expiry),
                evidenceHash: B256::repeat_byte(holder.0[0]),
            },
        )
    }

    fn transfer(block: u64, log: u64, from: Address, to: Address, token: U256) -> NewEvent {
        mr(
            block,
            log,
            "Transfer",
            MR::Transfer {
                from,
                to,
                tokenId: token,
            },
        )
    }

    fn expiry(block: u64, log: u64, token: U256, at: u64) -> NewEvent {
        mr(
            block,
            log,
            "SubscriptionUpdate",
            MR::SubscriptionUpdate {
                tokenId: token,
                expiration: at,
            },
        )
    }

    /// A history touching every table and most kinds of event, over blocks 1..=12.
    fn history() -> Vec<NewEvent> {
        let op = B256::repeat_byte(0x77);
        let t = token_id;
        vec![
            cr(
                1,
                0,
                "TypeDefined",
                CR::TypeDefined {
                    typeId: U256::from(1),
                    policy: policy("Rust", 1000, &[]),
                },
            ),
            cr(
                1,
                1,
                "TypeDefined",
                CR::TypeDefined {
                    typeId: U256::from(2),
                    policy: policy("Async", 0, &[1]),
                },
            ),
            cr(
                1,
                2,
                "TypeRolesSet",
                CR::TypeRolesSet {
                    typeId: U256::from(1),
                    account: ME,
                    roles: 3,
                },
            ),
            mr(
                1,
                3,
                "TierDefined",
                MR::TierDefined {
                    tierId: U256::from(1),
                    policy: tier("Silver", 100),
                },
            ),
            mr(
                1,
                4,
                "TierDefined",
                MR::TierDefined {
                    tierId: U256::from(2),
                    policy: tier("Gold", 200),
                },
            ),
            mr(
                1,
                5,
                "TierManagerSet",
                MR::TierManagerSet {
                    tierId: U256::from(1),
                    account: ME,
                    allowed: true,
                },
            ),
            am(
                1,
                6,
                "RoleGranted",
                AM::RoleGranted {
                    roleId: 1,
                    account: ME,
                    delay: 0,
                    since: U48::from(ts(1)),
                    newMember: true,
                },
            ),
            issued(2, 0, 1, A, ts(2) + 1000),
            cr(
                2,
                1,
                "IssuedBatch",
                CR::IssuedBatch {
                    typeId: U256::from(1),
                    issuer: ME,
                    holdersAndExpiries: vec![packed(B, ts(2) + 1000), packed(C, ts(2) + 1000)],
                    evidenceHashes: vec![B256::repeat_byte(0xb0), B256::repeat_byte(0xc0)],
                },
            ),
            cr(
                3,
                0,
                "Revoked",
                CR::Revoked {
                    tokenId: t(1, B),
                    revoker: ME,
                    reason: 7,
                },
            ),
            cr(
                3,
                1,
                "Suspended",
                CR::Suspended {
                    tokenId: t(1, C),
                    revoker: ME,
                    reason: 2,
                },
            ),
            cr(
                4,
                0,
                "Reinstated",
                CR::Reinstated {
                    tokenId: t(1, C),
                    revoker: ME,
                },
            ),
            cr(
                4,
                1,
                "Renewed",
                CR::Renewed {
                    tokenId: t(1, A),
                    issuer: ME,
                    expiresAt: ts(4) + 5000,
                },
            ),
            cr(
                4,
                2,
                "IssuedBatch",
                CR::IssuedBatch {
                    typeId: U256::from(2),
                    issuer: ME,
                    holdersAndExpiries: vec![packed(A, 0)],
                    evidenceHashes: vec![B256::repeat_byte(0xa2)],
                },
            ),
            cr(
                5,
                0,
                "Recovered",
                CR::Recovered {
                    from: A,
                    to: D,
                    oldTokenId: t(1, A),
                    newTokenId: t(1, D),
                },
            ),
            cr(
                5,
                1,
                "Recovered",
                CR::Recovered {
                    from: A,
                    to: D,
                    oldTokenId: t(2, A),
                    newTokenId: t(2, D),
                },
            ),
            cr(6, 0, "Renounced", CR::Renounced { tokenId: t(1, C) }),
            issued(6, 1, 1, B, 0),
            transfer(7, 0, Address::ZERO, A, t(1, A)),
            expiry(7, 1, t(1, A), ts(7) + 100),
            transfer(7, 2, Address::ZERO, B, t(1, B)),
            expiry(7, 3, t(1, B), ts(7) + 100),
            mr(
                7,
                4,
                "Granted",
                MR::Granted {
                    tierId: U256::from(1),
                    manager: ME,
                    holders: vec![A, B],
                    expiresAt: ts(7) + 100,
                },
            ),
            mr(
                8,
                0,
                "Cancelled",
                MR::Cancelled {
                    tokenId: t(1, B),
                    by: B,
                },
            ),
            expiry(8, 1, t(1, A), ts(7) + 200),
            mr(
                8,
                2,
                "Renewed",
                MR::Renewed {
                    tokenId: t(1, A),
                    by: ME,
                },
            ),
            transfer(9, 0, A, Address::ZERO, t(1, A)),
            transfer(9, 1, Address::ZERO, A, t(2, A)),
            expiry(9, 2, t(2, A), ts(9) + 200),
            mr(
                9,
                3,
                "TierChanged",
                MR::TierChanged {
                    oldTokenId: t(1, A),
                    newTokenId: t(2, A),
                    by: ME,
                },
            ),
            transfer(10, 0, B, Address::ZERO, t(1, B)),
            mr(
                10,
                1,
                "Revoked",
                MR::Revoked {
                    tokenId: t(1, B),
                    by: ME,
                    reason: 3,
                },
            ),
            am(
                11,
                0,
                "OperationScheduled",
                AM::OperationScheduled {
                    operationId: op,
                    nonce: 1,
                    schedule: U48::from(ts(11) + 60),
                    caller: ME,
                    target: C,
                    data: Bytes::from(vec![1, 2, 3, 4]),
                },
            ),
            cr(
                11,
                1,
                "TypePauseSet",
                CR::TypePauseSet {
                    typeId: U256::from(1),
                    paused: true,
                },
            ),
            cr(11, 2, "PauseSet", CR::PauseSet { paused: true }),
            mr(
                11,
                3,
                "BaseURISet",
                MR::BaseURISet {
                    baseURI: "https://m/".into(),
                },
            ),
            am(
                11,
                4,
                "RoleGranted",
                AM::RoleGranted {
                    roleId: 1,
                    account: ME,
                    delay: 60,
                    since: U48::from(ts(11)),
                    newMember: false,
                },
            ),
            am(
                12,
                0,
                "OperationExecuted",
                AM::OperationExecuted {
                    operationId: op,
                    nonce: 1,
                },
            ),
            cr(
                12,
                1,
                "TypeRolesSet",
                CR::TypeRolesSet {
                    typeId: U256::from(1),
                    account: ME,
                    roles: 0,
                },
            ),
            am(
                12,
                2,
                "RoleRevoked",
                AM::RoleRevoked {
                    roleId: 1,
                    account: ME,
                },
            ),
            mr(
                12,
                3,
                "TierManagerSet",
                MR::TierManagerSet {
                    tierId: U256::from(1),
                    account: ME,
                    allowed: false,
                },
            ),
            cr(
                12,
                4,
                "TypeUpdated",
                CR::TypeUpdated {
                    typeId: U256::from(1),
                    policy: policy("Rust 2", 2000, &[]),
                },
            ),
        ]
    }

    /// One table of an in-memory store: the rows a fold's changes produce (the pure fold's tests; the
    /// undo log and unwinding are tested against Postgres below).
    struct Mem<K, V> {
        rows: BTreeMap<K, V>,
    }

    impl<K: Ord + Clone, V: Clone + PartialEq + Debug> Mem<K, V> {
        fn new() -> Self {
            Self {
                rows: BTreeMap::new(),
            }
        }

        fn load(&self, keys: &[K]) -> Vec<V> {
            keys.iter()
                .filter_map(|k| self.rows.get(k).cloned())
                .collect()
        }

        fn apply(&mut self, c: Changes<K, V>, key_of: impl Fn(&V) -> K) {
            for v in c.upserts {
                self.rows.insert(key_of(&v), v);
            }
            for k in c.deletes {
                self.rows.remove(&k);
            }
        }
    }

    /// The whole store in memory.
    struct Db {
        credentials: Mem<U256, CredentialRow>,
        credential_types: Mem<u64, CredentialTypeRow>,
        tiers: Mem<u64, TierRow>,
        memberships: Mem<U256, MembershipRow>,
        roles: Mem<RoleKey, RoleRow>,
        governance_ops: Mem<OpKey, GovernanceOpRow>,
        registry_state: Mem<Registry, RegistryStateRow>,
    }

    impl Db {
        fn new() -> Self {
            let mut registry_state = Mem::new();
            for r in [Registry::Credentials, Registry::Memberships] {
                registry_state.rows.insert(
                    r,
                    RegistryStateRow {
                        registry: r,
                        paused: false,
                        base_uri: Some("https://base/".into()),
                        updated_block: None,
                    },
                );
            }
            Self {
                credentials: Mem::new(),
                credential_types: Mem::new(),
                tiers: Mem::new(),
                memberships: Mem::new(),
                roles: Mem::new(),
                governance_ops: Mem::new(),
                registry_state,
            }
        }

        fn commit(
            &mut self,
            events: &[NewEvent],
            undo_from: Option<u64>,
        ) -> Result<(), ProjectError> {
            let plan = Plan::new(events)?;
            let k = &plan.keys;
            let current = Current {
                credentials: self.credentials.load(&k.credentials),
                credential_types: self.credential_types.load(&k.credential_types),
                tiers: self.tiers.load(&k.tiers),
                memberships: self.memberships.load(&k.memberships),
                roles: self.roles.load(&k.roles),
                governance_ops: self.governance_ops.load(&k.governance_ops),
                registry_state: self.registry_state.load(&k.registry_state),
            };
            let f = plan.fold(current, undo_from)?;
            self.credentials.apply(f.credentials, |r| r.token_id);
            self.credential_types
                .apply(f.credential_types, |r| r.type_id);
            self.tiers.apply(f.tiers, |r| r.tier_id);
            self.memberships.apply(f.memberships, |r| r.token_id);
            self.roles.apply(f.roles, RoleRow::key);
            self.governance_ops
                .apply(f.governance_ops, GovernanceOpRow::key);
            self.registry_state.apply(f.registry_state, |r| r.registry);
            Ok(())
        }
    }

    fn fresh(events: &[NewEvent]) -> Db {
        let mut db = Db::new();
        db.commit(events, None).unwrap();
        db
    }

    #[test]
    fn the_history_folds_into_what_the_contracts_hold() {
        let db = fresh(&history());
        let cred = |t: u64, h: Address| db.credentials.rows[&token_id(t, h)].clone();
        let s = credential_status::ACTIVE;

        // A: issued, renewed, recovered to D (both types).
        let a = cred(1, A);
        assert_eq!(a.status, credential_status::RECOVERED);
        assert_eq!(a.recovered_to, Some(D));
        let d = cred(1, D);
        assert_eq!((d.status, d.holder, d.issuer), (s, D, ME));
        assert_eq!(d.issued_at, ts(2), "recovery keeps the original issue time");
        assert_eq!(d.expires_at, ts(4) + 5000, "and the renewed expiry");
        assert_eq!(d.recovered_from, Some(A));
        assert_eq!(d.issued_block, 2);
        assert_eq!(cred(2, D).evidence_hash, B256::repeat_byte(0xa2));
        assert_eq!(cred(2, D).expires_at, 0);
        // B: batch-issued, revoked (7), issued again with its own evidence.
        let b = cred(1, B);
        assert_eq!(
            (b.status, b.reason, b.issued_block, b.issued_at),
            (s, 0, 6, ts(6))
        );
        assert_eq!(b.evidence_hash, B256::repeat_byte(0x0b));
        // C: suspended, reinstated, renounced.
        assert_eq!(cred(1, C).status, credential_status::RENOUNCED);
        assert_eq!(cred(1, C).evidence_hash, B256::repeat_byte(0xc0));

        let t1 = &db.credential_types.rows[&1];
        assert_eq!(t1.supply, 2, "D and B are live");
        assert_eq!((t1.name.as_str(), t1.default_validity), ("Rust 2", 2000));
        assert!(t1.paused, "the update keeps the pause");
        assert_eq!((t1.defined_block, t1.updated_block), (1, 12));
        assert_eq!(db.credential_types.rows[&2].prerequisites, vec![1]);
        assert_eq!(db.credential_types.rows[&2].supply, 1);

        // Memberships: A moved from tier 1 to 2 keeping its grant time; B cancelled then revoked.
        let m = |t: u64, h: Address| db.memberships.rows[&token_id(t, h)].clone();
        assert_eq!(m(1, A).status, membership_status::MOVED);
        assert_eq!(m(1, A).moved_to, Some(token_id(2, A)));
        let a2 = m(2, A);
        assert_eq!(
            (a2.status, a2.granted_at, a2.expires_at),
            (1, ts(7), ts(9) + 200)
        );
        assert_eq!(
            (a2.granted_by, a2.moved_from),
            (Some(ME), Some(token_id(1, A)))
        );
        assert_eq!(
            (m(1, B).status, m(1, B).reason),
            (membership_status::REVOKED, 3)
        );
        assert_eq!(m(1, B).granted_by, Some(ME));
        assert_eq!(db.tiers.rows[&1].members, 0);
        assert_eq!(db.tiers.rows[&2].members, 1);

        // Roles: all three revoked by block 12.
        assert!(db.roles.rows.is_empty(), "{:?}", db.roles.rows);
        let op = db.governance_ops.rows.values().next().unwrap();
        assert_eq!(op.state, OpState::Executed);
        assert_eq!(op.schedule, Some(ts(11) + 60));
        assert_eq!(
            op.data.as_ref().map(|d| d.to_vec()),
            Some(vec![1u8, 2, 3, 4])
        );
        assert_eq!((op.scheduled_block, op.updated_block), (Some(11), 12));
        assert!(db.registry_state.rows[&Registry::Credentials].paused);
        assert_eq!(
            db.registry_state.rows[&Registry::Memberships]
                .base_uri
                .as_deref(),
            Some("https://m/")
        );
    }

    #[test]
    fn a_delay_change_keeps_the_membership_start_and_a_revoke_removes_the_row() {
        let h = history();
        let db = fresh(&h[..h.len() - 3]);
        let r = &db.roles.rows[&RoleKey {
            scope: RoleScope::Manager,
            scope_id: 1,
            account: ME,
        }];
        assert_eq!((r.since, r.delay), (Some(ts(1)), Some(60)));
        assert_eq!((r.granted_block, r.updated_block), (1, 11));
        let tier_manager = RoleKey {
            scope: RoleScope::Tier,
            scope_id: 1,
            account: ME,
        };
        assert_eq!(db.roles.rows[&tier_manager].bits, 1);
        assert!(!db.roles.rows.contains_key(&RoleKey {
            scope: RoleScope::Type,
            scope_id: 1,
            account: ME
        }));
    }

    #[test]
    fn undo_records_each_key_once_per_block_with_the_image_before_that_block() {
        let h = history();
        let plan = Plan::new(&h).unwrap();
        let mut db = Db::new();
        let current = Current {
            registry_state: db.registry_state.load(&plan.keys.registry_state),
            ..Current::default()
        };
        let f = plan.fold(current, Some(3)).unwrap();
        // Nothing logged below block 3.
        assert!(f.credentials.undo.iter().all(|u| u.block >= 3));
        // Type 1's supply: 3 issued by block 2; revoke at 3; recovery at 5 (-1 +1); renounce and re-issue at 6;
        // pause at 11; update at 12.
        let t1: Vec<(u64, Option<u64>)> = f
            .credential_types
            .undo
            .iter()
            .filter(|u| u.key == 1)
            .map(|u| (u.block, u.before.as_ref().map(|t| t.supply)))
            .collect();
        assert_eq!(
            t1,
            [
                (3, Some(3)),
                (5, Some(2)),
                (6, Some(2)),
                (11, Some(2)),
                (12, Some(2))
            ]
        );
        // Credential (1, D) did not exist before block 5.
        let d: Vec<_> = f
            .credentials
            .undo
            .iter()
            .filter(|u| u.key == token_id(1, D))
            .collect();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].block, d[0].before.is_none()), (5, true));
        // One entry per (block, key).
        let mut seen = std::collections::HashSet::new();
        assert!(f
            .credentials
            .undo
            .iter()
            .all(|u| seen.insert((u.block, u.key))));
        db.registry_state.apply(f.registry_state, |r| r.registry);
    }

    /// A deployment record for chain `chain_id` (fixed fake addresses), as the store registers it.
    fn fake_deployment(chain_id: u64) -> crate::chain::Deployment {
        let contracts = crate::chain::deployment::Contracts {
            access_manager: Address::repeat_byte(0x01),
            credential_registry: Address::repeat_byte(0x02),
            membership_registry: Address::repeat_byte(0x03),
        };
        crate::chain::Deployment::single_admin(chain_id, 0, ME, contracts, "https://base/")
    }

    /// The window entry of block `n` of the synthetic chain (hashes as [`ev`] makes them).
    fn block_ref(n: u64) -> crate::store::mirror::BlockRef {
        crate::store::mirror::BlockRef {
            number: n,
            hash: B256::repeat_byte(n as u8),
            parent_hash: B256::repeat_byte(n.saturating_sub(1) as u8),
            timestamp: ts(n),
        }
    }

    /// A real Postgres store in a scratch database, for the properties the store itself must keep.
    struct PgScratch {
        store: crate::store::Store,
        admin: crate::store::Store,
        name: String,
    }

    impl PgScratch {
        async fn new(tag: &str) -> PgScratch {
            let admin_url = std::env::var("DATABASE_URL")
                .unwrap_or_else(|_| "postgres://127.0.0.1:5432/postgres".into());
            let admin = crate::store::Store::connect(&admin_url)
                .await
                .expect("Postgres at DATABASE_URL (scripts/test sets it; scripts/pg finds one)");
            let name = format!("laurel_ut_{}_{tag}", std::process::id());
            let _ = admin.drop_database(&name).await;
            let url = admin.create_database(&admin_url, &name).await.unwrap();
            let store = crate::store::Store::connect(&url).await.unwrap();
            store.migrate().await.unwrap();
            PgScratch { store, admin, name }
        }

        async fn drop_now(self) {
            self.store.pool().close().await;
            self.admin.drop_database(&self.name).await.unwrap();
        }
    }

    /// Indexes `events` for `chain_id` through [`commit_range`](crate::indexer::commit::commit_range) in
    /// ranges of `chunk` events, the window holding every block from 0 (so any block can be unwound to).
    async fn index_in_chunks(
        store: &crate::store::Store,
        chain_id: u64,
        events: &[NewEvent],
        chunk: usize,
    ) {
        for part in events.chunks(chunk.max(1)) {
            let cursor = store.cursor(chain_id).await.unwrap().unwrap();
            let from = cursor.indexed_block.map_or(0, |b| b + 1);
            let to = part.last().unwrap().block_number.max(from);
            let blocks: Vec<_> = (from..=to).map(block_ref).collect();
            let next = crate::store::mirror::Cursor {
                indexed_block: Some(to),
                indexed_hash: Some(block_ref(to).hash),
                final_block: 0,
            };
            crate::indexer::commit::commit_range(store, chain_id, &cursor, &next, part, &blocks, 0)
                .await
                .unwrap();
        }
    }

    /// Every projection of `chain_id` as the store reads it back, for comparison.
    async fn pg_snapshot(store: &crate::store::Store, chain_id: u64) -> String {
        let mut out = format!(
            "{:#?}\n{:#?}\n{:#?}\n{:#?}\n{:#?}\n",
            store.credential_types(chain_id).await.unwrap(),
            store.tiers(chain_id).await.unwrap(),
            store.roles(chain_id, None).await.unwrap(),
            store.governance_ops(chain_id, None).await.unwrap(),
            store.registry_state(chain_id).await.unwrap(),
        );
        for id in 0..=8 {
            out += &format!(
                "{:#?}\n{:#?}\n",
                store.credentials_of_type(chain_id, id).await.unwrap(),
                store.memberships_of_tier(chain_id, id).await.unwrap()
            );
        }
        out
    }

    /// The fork-point property against the real store: index the history in ranges of any size, unwind to any
    /// block with [`Store::unwind_to`](crate::store::Store::unwind_to), and the projections equal a fresh
    /// index of the blocks up to it; indexing the rest again gives the full state.
    #[tokio::test]
    async fn unwinding_the_store_to_any_block_equals_a_fresh_index_of_the_blocks_up_to_it() {
        let h = history();
        let last = h.last().unwrap().block_number;
        let pg = PgScratch::new("fork_point").await;
        let store = &pg.store;
        // Chain ids partition the store: one per fresh index and one per (chunking, fork) run.
        let mut next_chain = 1_000u64;
        let mut fresh_index = |events: Vec<NewEvent>| {
            next_chain += 1;
            let chain_id = next_chain;
            async move {
                store
                    .register_deployment(&fake_deployment(chain_id))
                    .await
                    .unwrap();
                index_in_chunks(store, chain_id, &events, events.len()).await;
                pg_snapshot(store, chain_id).await
            }
        };
        let full = fresh_index(h.clone()).await;
        let mut prefixes = Vec::new();
        for fork in 0..=last {
            let prefix: Vec<NewEvent> = h
                .iter()
                .filter(|e| e.block_number <= fork)
                .cloned()
                .collect();
            prefixes.push(if prefix.is_empty() {
                let chain_id = 999;
                store
                    .register_deployment(&fake_deployment(chain_id))
                    .await
                    .unwrap();
                pg_snapshot(store, chain_id).await
            } else {
                fresh_index(prefix).await
            });
        }
        let mut chain_id = 2_000u64;
        for chunk in [1usize, 3, 7, h.len()] {
            for fork in 0..=last {
                chain_id += 1;
                store
                    .register_deployment(&fake_deployment(chain_id))
                    .await
                    .unwrap();
                index_in_chunks(store, chain_id, &h, chunk).await;
                store.unwind_to(chain_id, &block_ref(fork)).await.unwrap();
                assert_eq!(
                    pg_snapshot(store, chain_id).await,
                    prefixes[fork as usize],
                    "chunks of {chunk}, unwound to {fork}"
                );
                let cursor = store.cursor(chain_id).await.unwrap().unwrap();
                assert_eq!(cursor.indexed_block, Some(fork));
                let rest: Vec<NewEvent> = h
                    .iter()
                    .filter(|e| e.block_number > fork)
                    .cloned()
                    .collect();
                if !rest.is_empty() {
                    index_in_chunks(store, chain_id, &rest, chunk).await;
                }
                assert_eq!(
                    pg_snapshot(store, chain_id).await,
                    full,
                    "chunks of {chunk}, unwound to {fork}, then re-indexed"
                );
            }
        }
        pg.drop_now().await;
    }

    #[test]
    fn an_expired_credential_reissued_in_place_keeps_the_supply() {
        let h = history();
        let mut events: Vec<NewEvent> = h[..2].to_vec();
        events.push(issued(2, 0, 1, A, ts(2) + 10));
        // Expired by block 100; the re-issue writes a new record without a new mint.
        events.push(issued(100, 0, 1, A, ts(100) + 10));
        let db = fresh(&events);
        assert_eq!(db.credential_types.rows[&1].supply, 1);
        let a = &db.credentials.rows[&token_id(1, A)];
        assert_eq!((a.issued_at, a.issued_block), (ts(100), 100));
        assert!(!a.is_valid_at(ts(100) + 10) && a.is_valid_at(ts(100) + 9));
    }

    #[test]
    fn an_event_on_a_row_the_mirror_lacks_is_an_error_that_names_it() {
        let err = fresh_err(&[cr(
            3,
            0,
            "Revoked",
            CR::Revoked {
                tokenId: token_id(1, B),
                revoker: ME,
                reason: 1,
            },
        )]);
        assert!(
            matches!(
                &err,
                ProjectError::Missing {
                    event: "Revoked",
                    table: "credential",
                    block: 3,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn fields_that_do_not_match_the_abi_are_an_error() {
        let e = cr(3, 0, "Issued", serde_json::json!({ "n": 1 }));
        let err = Plan::new([&e]).unwrap_err();
        assert!(
            matches!(err, ProjectError::Fields { block: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn other_events_change_nothing_and_renewed_is_told_apart_by_its_contract() {
        let locked = cr(3, 0, "Locked", serde_json::json!({ "tokenId": "0x1" }));
        let renewed = mr(
            3,
            1,
            "Renewed",
            MR::Renewed {
                tokenId: token_id(1, A),
                by: ME,
            },
        );
        let plan = Plan::new([&locked, &renewed]).unwrap();
        assert!(
            plan.is_empty(),
            "membership Renewed carries no state (SubscriptionUpdate does)"
        );
        let cred_renewed = cr(
            3,
            1,
            "Renewed",
            CR::Renewed {
                tokenId: token_id(1, A),
                issuer: ME,
                expiresAt: 5,
            },
        );
        assert_eq!(Plan::new([&cred_renewed]).unwrap().len(), 1);
    }

    fn fresh_err(events: &[NewEvent]) -> ProjectError {
        let mut db = Db::new();
        db.commit(events, None).unwrap_err()
    }
}
