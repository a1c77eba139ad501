//! Credentials and their types: the records the CredentialRegistry keeps, their status codes, the type
//! policy's flag bits and the validity rule `isValid` applies.

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

/// Credential status codes, as the CredentialRegistry stores them.
pub mod credential_status {
    /// Issued and in force (still subject to expiry).
    pub const ACTIVE: u8 = 1;
    /// Suspended by a revoker; may be reinstated.
    pub const SUSPENDED: u8 = 2;
    /// Revoked (token burned).
    pub const REVOKED: u8 = 3;
    /// Renounced by its holder (token burned).
    pub const RENOUNCED: u8 = 4;
    /// Moved to another address by governed recovery (token burned).
    pub const RECOVERED: u8 = 5;

    /// The name of a status as people read it, at unix time `now`: an active credential past its expiry
    /// is `expired`; 0 (never issued) is `none`.
    pub fn name(status: u8, expires_at: u64, now: u64) -> &'static str {
        match status {
            0 => "none",
            ACTIVE if expires_at != 0 && expires_at <= now => "expired",
            ACTIVE => "active",
            SUSPENDED => "suspended",
            REVOKED => "revoked",
            RENOUNCED => "renounced",
            RECOVERED => "recovered",
            _ => "unknown",
        }
    }

    /// The name of a status as the chain reports it (`credentialOf`): its `valid` flag tells an expired
    /// active credential from a live one at the queried block.
    pub fn name_on_chain(status: u8, valid: bool, expires_at: u64) -> &'static str {
        if status == ACTIVE && !valid && expires_at != 0 {
            "expired"
        } else {
            name(status, 0, 0)
        }
    }
}

bitflags::bitflags! {
    /// A credential type's policy flags (`FLAG_*` of the CredentialRegistry).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct TypeFlags: u16 {
        /// Holders' credentials may be renewed (their expiry moved).
        const RENEWABLE = 1;
        /// Credentials may be revoked (burned) by a revoker.
        const REVOCABLE = 2;
        /// Credentials may be suspended and reinstated.
        const SUSPENDABLE = 4;
        /// Holders may renounce (burn) their own credential.
        const RENOUNCEABLE = 8;
        /// An expired credential may be issued again to the same holder.
        const REISSUE_AFTER_EXPIRY = 16;
        /// A revoked credential may be issued again to the same holder.
        const REISSUE_AFTER_REVOCATION = 32;
    }
}

/// The CLI names of the flags, in bit order.
const FLAG_NAMES: [(&str, TypeFlags); 6] = [
    ("renewable", TypeFlags::RENEWABLE),
    ("revocable", TypeFlags::REVOCABLE),
    ("suspendable", TypeFlags::SUSPENDABLE),
    ("renounceable", TypeFlags::RENOUNCEABLE),
    ("reissue", TypeFlags::REISSUE_AFTER_EXPIRY),
    ("reissue-revoked", TypeFlags::REISSUE_AFTER_REVOCATION),
];

/// A flag name that is not one of [`TypeFlags`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flag {0:?}: use renewable, revocable, suspendable, renounceable, reissue, reissue-revoked")]
pub struct UnknownFlag(pub String);

impl TypeFlags {
    /// Parses a comma-separated list of flag names (`renewable,revocable`; empty or `-` = none).
    pub fn parse_names(list: &str) -> Result<Self, UnknownFlag> {
        let mut flags = TypeFlags::empty();
        for name in list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "-")
        {
            let (_, f) = FLAG_NAMES
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| UnknownFlag(name.to_string()))?;
            flags |= *f;
        }
        Ok(flags)
    }

    /// The flags' names, comma-separated, in bit order (`-` for none).
    pub fn names(self) -> String {
        let v: Vec<&str> = FLAG_NAMES
            .iter()
            .filter(|(_, f)| self.contains(*f))
            .map(|(n, _)| *n)
            .collect();
        if v.is_empty() {
            "-".into()
        } else {
            v.join(",")
        }
    }
}

/// One credential (a token id of the CredentialRegistry ever issued).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRow {
    /// Token id = type id << 160 | holder.
    pub token_id: U256,
    /// Credential type id (from 1): the token id's bits above the 160 holder bits.
    pub type_id: u64,
    /// Holder (the low 160 bits of the token id).
    pub holder: Address,
    /// Issuer (the EIP-712 signer for delegated issuance).
    pub issuer: Address,
    /// Issue time (unix seconds, the issuing block's timestamp).
    pub issued_at: u64,
    /// Expiry (unix seconds; 0 = never).
    pub expires_at: u64,
    /// Status ([`credential_status`]).
    pub status: u8,
    /// Revocation or suspension reason code (0 when active).
    pub reason: u8,
    /// Evidence hash from the issuance event.
    pub evidence_hash: B256,
    /// Block of the issuance (for a recovered credential: of the original issuance).
    pub issued_block: u64,
    /// Transaction of the issuance.
    pub issued_tx: B256,
    /// Block of the last change.
    pub updated_block: u64,
    /// The lost address this credential was recovered from, if it was.
    pub recovered_from: Option<Address>,
    /// The address this credential was recovered to (status recovered).
    pub recovered_to: Option<Address>,
}

impl CredentialRow {
    /// Whether its token exists (active or suspended).
    pub fn is_live(&self) -> bool {
        matches!(
            self.status,
            credential_status::ACTIVE | credential_status::SUSPENDED
        )
    }

    /// What the contract's `isValid` answers at unix time `now`: active and not past its expiry.
    pub fn is_valid_at(&self, now: u64) -> bool {
        self.status == credential_status::ACTIVE && (self.expires_at == 0 || self.expires_at > now)
    }
}

/// A credential type: its policy, pause flag and live supply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialTypeRow {
    /// Type id (from 1).
    pub type_id: u64,
    /// Human name from the type's policy (`TypeDefined`/`TypeUpdated`), e.g. "Rust Fundamentals".
    pub name: String,
    /// Metadata URI of every token of the type (empty: base URI + token id).
    pub uri: String,
    /// Seconds from issue to expiry by default (0 = never expires).
    pub default_validity: u64,
    /// Upper bound on any expiry, seconds from now (0 = unbounded).
    pub max_validity: u64,
    /// Renewal allowed only this many seconds before expiry (0 = any time).
    pub renewal_window: u64,
    /// Cap on live credentials (0 = unlimited).
    pub max_supply: u32,
    /// Issuances per issuer per period (0 = no quota).
    pub quota_limit: u32,
    /// Quota period in seconds (0 with a limit = lifetime).
    pub quota_period: u32,
    /// FLAG_* bits of the CredentialRegistry.
    pub flags: u16,
    /// Types whose valid credentials a holder needs first.
    pub prerequisites: Vec<u64>,
    /// Whether the type itself is paused.
    pub paused: bool,
    /// Live credentials (active or suspended) of the type.
    pub supply: u64,
    /// Block of `TypeDefined`.
    pub defined_block: u64,
    /// Block of the last change (policy, pause or supply).
    pub updated_block: u64,
}

impl CredentialTypeRow {
    /// The policy flags as a set.
    pub fn type_flags(&self) -> TypeFlags {
        TypeFlags::from_bits_retain(self.flags)
    }

    /// A type known only by its id (named "Credential type N", no policy).
    pub fn unknown(type_id: u64) -> Self {
        Self {
            type_id,
            name: format!("Credential type {type_id}"),
            ..Self::default()
        }
    }
}
