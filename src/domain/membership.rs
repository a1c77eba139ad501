//! Memberships and their tiers: the records the MembershipRegistry keeps (and the mirror keeps of burned
//! tokens), their status codes and the rule `isActive` applies.

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

/// Membership status codes of the mirror: 1 and 2 as the MembershipRegistry stores them; the contract
/// deletes burned tokens, the mirror keeps them as 3 or 4.
pub mod membership_status {
    /// Granted and not cancelled (still subject to expiry).
    pub const ACTIVE: u8 = 1;
    /// Cancelled by its holder or a manager.
    pub const CANCELLED: u8 = 2;
    /// Revoked (token burned) by a manager.
    pub const REVOKED: u8 = 3;
    /// Moved to another tier (token burned, a new one minted; see `moved_to`).
    pub const MOVED: u8 = 4;
}

/// A membership tier: its policy, pause flag and active member count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierRow {
    /// Tier id (from 1).
    pub tier_id: u64,
    /// Human name from the tier's policy (`TierDefined`/`TierUpdated`).
    pub name: String,
    /// Metadata URI.
    pub uri: String,
    /// Seconds a grant lasts.
    pub duration: u64,
    /// Whether holders may renew their own membership.
    pub holder_renewable: bool,
    /// Whether tokens of the tier may be transferred.
    pub transferable: bool,
    /// Cap on members (0 = unlimited).
    pub max_members: u64,
    /// Credential types a member must hold valid.
    pub eligibility: Vec<u64>,
    /// Whether the tier itself is paused.
    pub paused: bool,
    /// Active (not cancelled, not burned) memberships: the contract's `memberCount`.
    pub members: u64,
    /// Block of `TierDefined`.
    pub defined_block: u64,
    /// Block of the last change.
    pub updated_block: u64,
}

/// One membership token ever minted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipRow {
    /// Token id = tier id << 160 | original holder.
    pub token_id: U256,
    /// Tier id (from 1): the token id's bits above the 160 holder bits.
    pub tier_id: u64,
    /// Current owner (the last owner for a burned token).
    pub holder: Address,
    /// The holder it was minted to (low 160 bits of the token id).
    pub original_holder: Address,
    /// Expiry (unix seconds; active strictly before).
    pub expires_at: u64,
    /// Grant time (unix seconds; kept across tier changes).
    pub granted_at: u64,
    /// Status ([`membership_status`]).
    pub status: u8,
    /// Revocation reason code.
    pub reason: u8,
    /// Manager who granted it (or moved it here from another tier).
    pub granted_by: Option<Address>,
    /// Block of the mint.
    pub granted_block: u64,
    /// Transaction of the mint.
    pub granted_tx: B256,
    /// Token id it was moved from by a tier change.
    pub moved_from: Option<U256>,
    /// Token id it was moved to by a tier change (status moved).
    pub moved_to: Option<U256>,
    /// Block of the last change.
    pub updated_block: u64,
}

impl MembershipRow {
    /// What the contract's `isActive` answers for its owner at unix time `now`.
    pub fn is_active_at(&self, now: u64) -> bool {
        self.status == membership_status::ACTIVE && now < self.expires_at
    }
}
