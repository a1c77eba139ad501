//! The mirror knows what it mirrors, and heals: the node's chain is checked against the identity the mirror
//! recorded (genesis and deploy block hashes), and a mirror of another chain — or one a reorg deeper than
//! the block window left without a common ancestor — is rebuilt from the deploy block, keeping the
//! service's own state (see [`crate::store::health`]).

use alloy::eips::BlockNumberOrTag;
use alloy::providers::{DynProvider, Provider};

use super::follow::FollowError;
use crate::store::health::ChainIdentity;
use crate::store::Store;
use crate::telemetry::metrics::{self as m, REGISTRY};

/// What the node says the chain is, against what the mirror recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The same chain (or a first look, now recorded).
    Same,
    /// Another chain: the mirror must be rebuilt, for this reason; the node's identity.
    Other(String, ChainIdentity),
}

/// The node's identity of the chain, for a deployment at `deploy_block`.
async fn node_identity(
    provider: &DynProvider,
    deploy_block: u64,
) -> Result<ChainIdentity, FollowError> {
    let hash = |n: u64| async move {
        provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await
            .map_err(|e| FollowError::Rpc(crate::config::redact_urls(&e.to_string())))?
            .map(|b| b.header.hash)
            .ok_or(FollowError::NotOnChain { deploy_block })
    };
    Ok(ChainIdentity {
        genesis: hash(0).await?,
        deploy_block: hash(deploy_block).await?,
    })
}

/// Compares the node's chain with the identity `store` recorded for `chain_id` (recording it on a first
/// look).
pub async fn check(
    provider: &DynProvider,
    store: &Store,
    chain_id: u64,
    deploy_block: u64,
) -> Result<Identity, FollowError> {
    let node = node_identity(provider, deploy_block).await?;
    match store.chain_identity(chain_id).await? {
        None => {
            store.record_identity(chain_id, &node).await?;
            Ok(Identity::Same)
        }
        Some(mine) if mine == node => Ok(Identity::Same),
        Some(mine) => {
            let what = if mine.genesis != node.genesis {
                format!(
                    "genesis {:#x}, the mirror's {:#x}",
                    node.genesis, mine.genesis
                )
            } else {
                format!(
                    "deploy block {deploy_block} is {:#x}, the mirror's {:#x}",
                    node.deploy_block, mine.deploy_block
                )
            };
            Ok(Identity::Other(
                format!("the node serves another chain than the mirror holds ({what})"),
                node,
            ))
        }
    }
}

/// Rebuilds `chain_id`'s mirror from the deploy block because of `reason`, recording `identity` (when the
/// node's is known) as the chain's.
pub async fn rebuild(
    provider: &DynProvider,
    store: &Store,
    chain_id: u64,
    deploy_block: u64,
    reason: &str,
) -> Result<(), FollowError> {
    let identity = node_identity(provider, deploy_block).await?;
    let done = store
        .rebuild_mirror(chain_id, reason, Some(&identity))
        .await?;
    REGISTRY.add(m::MIRROR_REBUILDS, &[], 1.0);
    REGISTRY.set(m::MIRROR_REBUILDING, &[], 1.0);
    tracing::error!(
        chain_id,
        reason,
        events_removed = done.events,
        requests_unconfirmed = done.unconfirmed,
        "rebuilding the mirror from the deploy block"
    );
    Ok(())
}

/// Ends a rebuild of `chain_id`'s mirror once it reached the head (a no-op when none runs).
pub async fn caught_up(store: &Store, chain_id: u64) -> Result<(), FollowError> {
    if store.rebuild_done(chain_id).await? {
        tracing::info!(chain_id, "mirror rebuilt: it reflects the chain head again");
    }
    REGISTRY.set(m::MIRROR_REBUILDING, &[], 0.0);
    Ok(())
}
