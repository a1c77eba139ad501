//! Single operations on one holder: revoke, suspend, reinstate and renew a credential, governed recovery,
//! and membership grant, renew and cancel. Each goes through the [`Sender`]; callers run them under their
//! audit record ([`super::audited`]).

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;

use super::sender::{Outcome, Sender};
use super::GovernanceError;
use crate::chain::bindings::{CredentialRegistry, MembershipRegistry};
use crate::chain::tx::encode;
use crate::chain::Node;
use crate::domain::{TierId, TypeId};
use crate::store::Store;

/// A credential status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialOp {
    /// Revoke (burn) with a reason code.
    Revoke(u8),
    /// Suspend with a reason code.
    Suspend(u8),
    /// Reinstate a suspended credential.
    Reinstate,
    /// Renew to a new expiry (unix seconds).
    Renew(u64),
}

impl CredentialOp {
    /// The audit log's name of the operation.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Revoke(_) => "revoke",
            Self::Suspend(_) => "suspend",
            Self::Reinstate => "reinstate",
            Self::Renew(_) => "renew",
        }
    }
}

/// Runs a credential status change on `holder`'s credential of `type_id`.
pub async fn credential_op(
    node: &Node,
    store: &Store,
    signer: PrivateKeySigner,
    type_id: TypeId,
    holder: Address,
    op: CredentialOp,
) -> Result<Outcome, GovernanceError> {
    let s = Sender::new(node, store, signer);
    let id = type_id.token(holder);
    let input = match op {
        CredentialOp::Revoke(reason) => encode(CredentialRegistry::revokeCall {
            tokenId: id,
            reason,
        }),
        CredentialOp::Suspend(reason) => encode(CredentialRegistry::suspendCall {
            tokenId: id,
            reason,
        }),
        CredentialOp::Reinstate => encode(CredentialRegistry::reinstateCall { tokenId: id }),
        CredentialOp::Renew(until) => encode(CredentialRegistry::renewCall {
            tokenId: id,
            newExpiresAt: until,
        }),
    };
    s.send(node.deployment.credential_registry, input).await
}

/// Moves every credential of `from` to `to` (governed recovery).
pub async fn recover(
    node: &Node,
    store: &Store,
    signer: PrivateKeySigner,
    from: Address,
    to: Address,
) -> Result<Outcome, GovernanceError> {
    let s = Sender::new(node, store, signer);
    s.governed(
        node.deployment.credential_registry,
        encode(CredentialRegistry::recoverCall { from, to }),
    )
    .await
}

/// A membership change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipOp {
    /// Grant a membership of the tier.
    Grant,
    /// Renew by this many seconds.
    Renew(u64),
    /// Cancel it (`cancelSubscription`): the token stays, status cancelled, no longer a member.
    Cancel,
}

/// Runs a membership change for `holder` in `tier`.
pub async fn membership_op(
    node: &Node,
    store: &Store,
    signer: PrivateKeySigner,
    tier: TierId,
    holder: Address,
    op: MembershipOp,
) -> Result<Outcome, GovernanceError> {
    let s = Sender::new(node, store, signer);
    let reg = MembershipRegistry::new(node.deployment.membership_registry, &node.provider);
    let input = match op {
        MembershipOp::Grant => encode(MembershipRegistry::grantCall {
            tierId: U256::from(tier.get()),
            holder,
        }),
        MembershipOp::Renew(secs) => encode(MembershipRegistry::renewSubscriptionCall {
            tokenId: reg
                .tokenIdOf(holder, U256::from(tier.get()))
                .call()
                .await
                .map_err(super::rpc)?,
            duration: secs,
        }),
        MembershipOp::Cancel => encode(MembershipRegistry::cancelSubscriptionCall {
            tokenId: reg
                .tokenIdOf(holder, U256::from(tier.get()))
                .call()
                .await
                .map_err(super::rpc)?,
        }),
    };
    s.send(node.deployment.membership_registry, input).await
}
