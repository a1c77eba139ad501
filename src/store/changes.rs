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
    /// Tier ids.
    pub tiers: Vec<u64>,
    /// Membership token ids.
    pub memberships: Vec<U256>,
    /// Role keys.
    pub roles: Vec<RoleKey>,
    /// Governance operation keys.
    pub governance_ops: Vec<OpKey>,
    /// Registries.
    pub registry_state: Vec<Registry>,
}

/// The current rows of the keys a range touches (absent keys have no row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Current {
    /// Credentials.
    pub credentials: Vec<CredentialRow>,
    /// Credential types.
    pub credential_types: Vec<CredentialTypeRow>,
    /// Tiers.
    pub tiers: Vec<TierRow>,
    /// Memberships.
    pub memberships: Vec<MembershipRow>,
    /// Roles.
    pub roles: Vec<RoleRow>,
    /// Governance operations.
    pub governance_ops: Vec<GovernanceOpRow>,
    /// Registry state.
    pub registry_state: Vec<RegistryStateRow>,
}

/// The before-image of one key at the first change in one block; `before` None = the key had no row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undo<K, V> {
    /// Block of the change.
    pub block: u64,
    /// Key.
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
    /// Credentials.
    pub credentials: Changes<U256, CredentialRow>,
    /// Credential types.
    pub credential_types: Changes<u64, CredentialTypeRow>,
    /// Tiers.
    pub tiers: Changes<u64, TierRow>,
    /// Memberships.
    pub memberships: Changes<U256, MembershipRow>,
    /// Roles.
    pub roles: Changes<RoleKey, RoleRow>,
    /// Governance operations.
    pub governance_ops: Changes<OpKey, GovernanceOpRow>,
    /// Registry state.
    pub registry_state: Changes<Registry, RegistryStateRow>,
}
