//! What a range does to the projections, as the indexer's fold hands it to the store: the keys a range
//! touches, their current rows, and per table the rows to upsert, the keys to delete and the undo log.

use alloy::primitives::U256;

use crate::domain::{
    CredentialRow, CredentialTypeRow, GovernanceOpRow, MembershipRow, OpKey, Registry,
    RegistryStateRow, RoleKey, RoleRow, TierRow,
};

/// Every key a range touches, per table, sorted and without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    /// Credential token ids.
    pub credentials: Vec<U256>,
    /// Credential type ids.
    pub credential_types: Vec<u64>,
    /// Tier ids (from the tier events, and from membership token ids' high bits).
    pub tiers: Vec<u64>,
    /// Membership token ids.
    pub memberships: Vec<U256>,
    /// Role keys (scope, scope id, account) of the role events.
    pub roles: Vec<RoleKey>,
    /// Governance operation keys.
    pub governance_ops: Vec<OpKey>,
    /// Registries whose pause flag or base URI changed.
    pub registry_state: Vec<Registry>,
}

/// The current rows of the keys a range touches (absent keys have no row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Current {
    /// Rows of `credentials` for the touched token ids.
    pub credentials: Vec<CredentialRow>,
    /// Rows of `credential_types` for the touched type ids.
    pub credential_types: Vec<CredentialTypeRow>,
    /// Rows of `tiers` for the touched tier ids.
    pub tiers: Vec<TierRow>,
    /// Rows of `memberships` for the touched token ids.
    pub memberships: Vec<MembershipRow>,
    /// Rows of `roles` for the touched role keys.
    pub roles: Vec<RoleRow>,
    /// Rows of `governance_ops` for the touched operation keys.
    pub governance_ops: Vec<GovernanceOpRow>,
    /// Rows of `registry_state` for the touched registries.
    pub registry_state: Vec<RegistryStateRow>,
}

/// The before-image of one key at the first change in one block; `before` None = the key had no row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undo<K, V> {
    /// Block of the change.
    pub block: u64,
    /// The table's key of the row (token id, type id, role key, …).
    pub key: K,
    /// The row before the block's first change of it.
    pub before: Option<V>,
}

/// What a range does to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes<K, V> {
    /// Rows to insert or replace (final state of each changed key that has a row).
    pub upserts: Vec<V>,
    /// Keys whose row is gone at the end of the range.
    pub deletes: Vec<K>,
    /// Undo entries, in chain order.
    pub undo: Vec<Undo<K, V>>,
}

impl<K, V> Default for Changes<K, V> {
    fn default() -> Self {
        Self {
            upserts: Vec::new(),
            deletes: Vec::new(),
            undo: Vec::new(),
        }
    }
}

impl<K, V> Changes<K, V> {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.deletes.is_empty() && self.undo.is_empty()
    }
}

/// What a range does to every table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folded {
    /// Upserts, deletes and undo entries of `credentials`.
    pub credentials: Changes<U256, CredentialRow>,
    /// Upserts, deletes and undo entries of `credential_types` (supply counts included).
    pub credential_types: Changes<u64, CredentialTypeRow>,
    /// Upserts, deletes and undo entries of `tiers` (member counts included).
    pub tiers: Changes<u64, TierRow>,
    /// Upserts, deletes and undo entries of `memberships`.
    pub memberships: Changes<U256, MembershipRow>,
    /// Upserts, deletes and undo entries of `roles`.
    pub roles: Changes<RoleKey, RoleRow>,
    /// Upserts, deletes and undo entries of `governance_ops`.
    pub governance_ops: Changes<OpKey, GovernanceOpRow>,
    /// Upserts, deletes and undo entries of `registry_state`.
    pub registry_state: Changes<Registry, RegistryStateRow>,
}
