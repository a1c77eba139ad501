//! A node serving a deployment: the read-only provider every module reads the chain through, with the
//! addresses of the contracts it serves.

use alloy::providers::DynProvider;

use super::Deployment;

/// A node and the deployment it serves (checked by startup to be on the deployment's chain).
#[derive(Clone)]
pub struct Node {
    /// A read-only provider (no nonce or gas fillers: senders manage their own).
    pub provider: DynProvider,
    /// The deployment followed.
    pub deployment: Deployment,
}

impl Node {
    /// Chain id of the deployment.
    pub fn chain_id(&self) -> u64 {
        self.deployment.chain_id
    }
}
