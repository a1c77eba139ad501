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

impl Node {
    /// The chain's clock: the timestamp of the node's latest block (0 before the first block).
    pub async fn head_time(&self) -> Result<u64, alloy::transports::TransportError> {
        use alloy::providers::Provider;
        Ok(self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .map_or(0, |b| b.header.timestamp))
    }
}
