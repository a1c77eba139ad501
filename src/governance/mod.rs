//! Governance: single administrative transactions and governed (time-locked) policy changes, for the CLI
//! and the API alike. [`sender`] sends one transaction (directly, or scheduled through the AccessManager
//! when the signer's role has an execution delay); [`ops`] holds the single operations on one holder;
//! [`audited`] runs any of them under an audit record written before and completed after;
//! [`changes`] builds the deployment's governed changes (types, tiers, roles, pauses, scheduled operations).
//! May import `domain`, `chain` and `store`; nothing above.

pub mod audited;
pub mod changes;
pub mod ops;
pub mod sender;

pub use changes::{Change, PauseScope, Route};
pub use ops::{credential_op, membership_op, recover, CredentialOp, MembershipOp};
pub use sender::{Outcome, Sender, RECEIPT_TIMEOUT};

use alloy::primitives::Address;

use crate::chain::tx::TxError;
use crate::store::StoreError;

/// Why a governance operation did not happen (or may not have).
#[derive(Debug, thiserror::Error)]
pub enum GovernanceError {
    /// Sending failed: refused by the contract (with its reason), RPC, signing, or not mined in time.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// The signer holds no role that may call the restricted function, not even with a delay.
    #[error("{account} holds no role that may call 0x{selector} on {target}; see `laurel gov role list`")]
    NoRole {
        /// The signing account, which holds no role for the function.
        account: Address,
        /// The function's selector, hex.
        selector: String,
        /// The contract called.
        target: Address,
    },
    /// The calldata is shorter than a function selector.
    #[error("the call has no function selector")]
    NoSelector,
    /// A read from the node failed.
    #[error("RPC error: {0}")]
    Rpc(String),
    /// The audit log could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn rpc(e: impl std::fmt::Display) -> GovernanceError {
    GovernanceError::Rpc(crate::config::redact_urls(&e.to_string()))
}
