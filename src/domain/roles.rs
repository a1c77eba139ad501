//! Roles: where a role applies (AccessManager roles, per-type roles, tier managers), the per-type role
//! bits and the AccessManager role ids of `contracts/src/Roles.sol`.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

/// AccessManager role ids, as in `contracts/src/Roles.sol`.
pub mod manager {
    /// AccessManager's built-in admin role.
    pub const ADMIN: u64 = 0;
    /// Policy changes (types, tiers, per-type roles, base URIs); runs with the policy delay.
    pub const GOVERNOR: u64 = 1;
    /// Governed wallet recovery; runs with the recovery delay.
    pub const RECOVERY: u64 = 2;
    /// Emergency pause (never unpause).
    pub const PAUSER: u64 = 3;
    /// Cancels scheduled GOVERNOR/RECOVERY/PAUSER operations.
    pub const GUARDIAN: u64 = 4;
}

bitflags::bitflags! {
    /// An account's roles for one credential type (`ROLE_*` of the CredentialRegistry).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct TypeRoles: u8 {
        /// May issue credentials of the type.
        const ISSUER = 1;
        /// May revoke, suspend, reinstate and renew credentials of the type.
        const REVOKER = 2;
    }
}

/// The bits of a tier manager's (and of an AccessManager member's) role row: it holds the role or has no row.
pub const TIER_MANAGER: u8 = 1;

impl TypeRoles {
    /// How people name the set: `issuer`, `revoker`, `issuer+revoker` or `none`.
    pub fn describe(self) -> &'static str {
        match (self.contains(Self::ISSUER), self.contains(Self::REVOKER)) {
            (true, true) => "issuer+revoker",
            (true, false) => "issuer",
            (false, true) => "revoker",
            (false, false) => "none",
        }
    }
}

/// Where a role applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleScope {
    /// An AccessManager role (scope id = role id).
    Manager,
    /// Per-type roles of the CredentialRegistry (scope id = type id; bits = ROLE_ISSUER | ROLE_REVOKER).
    Type,
    /// A tier manager of the MembershipRegistry (scope id = tier id).
    Tier,
}

impl RoleScope {
    /// The name stored in the `scope` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleScope::Manager => "manager",
            RoleScope::Type => "type",
            RoleScope::Tier => "tier",
        }
    }

    /// The scope named `s` in the `scope` column.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manager" => Some(RoleScope::Manager),
            "type" => Some(RoleScope::Type),
            "tier" => Some(RoleScope::Tier),
            _ => None,
        }
    }
}

/// Key of a role row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoleKey {
    /// Where the role applies: an AccessManager role, a credential type, or a tier.
    pub scope: RoleScope,
    /// Role id, type id or tier id.
    pub scope_id: u64,
    /// Account holding it.
    pub account: Address,
}

/// One account's role in one scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRow {
    /// Where the role applies: an AccessManager role, a credential type, or a tier.
    pub scope: RoleScope,
    /// Role id (manager), type id (type) or tier id (tier).
    pub scope_id: u64,
    /// Account the role is granted to.
    pub account: Address,
    /// Role bits: ROLE_ISSUER 1 | ROLE_REVOKER 2 for types; 1 otherwise.
    pub bits: u8,
    /// AccessManager roles: when membership takes effect (unix seconds).
    pub since: Option<u64>,
    /// AccessManager roles: the execution delay last granted, in seconds (a lowered delay may take effect
    /// later; AccessManager's `getAccess` tells when).
    pub delay: Option<u64>,
    /// Block of the grant.
    pub granted_block: u64,
    /// Block of the last change.
    pub updated_block: u64,
}

impl RoleRow {
    /// The per-type role bits as a set (meaningful for [`RoleScope::Type`] rows).
    pub fn type_roles(&self) -> TypeRoles {
        TypeRoles::from_bits_retain(self.bits)
    }

    /// The row's key.
    pub fn key(&self) -> RoleKey {
        RoleKey {
            scope: self.scope,
            scope_id: self.scope_id,
            account: self.account,
        }
    }
}
