//! A node serving a deployment: the read-only provider every module reads the chain through, with the
//! addresses of the contracts it serves.

use std::time::Duration;

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::transports::http::reqwest;

use super::Deployment;

/// How long one JSON-RPC call may take before it fails (a node that hangs never hangs Laurel).
pub const RPC_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting to the node may take.
pub const RPC_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A read-only provider of `url` (no nonce or gas fillers: senders manage their own) whose every call
/// times out after [`RPC_TIMEOUT`].
pub fn read_only_provider(url: reqwest::Url) -> DynProvider {
    let client = reqwest::Client::builder()
        .timeout(RPC_TIMEOUT)
        .connect_timeout(RPC_CONNECT_TIMEOUT)
        .build()
        .unwrap_or_default();
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(RpcClient::new_http_with_client(client, url))
        .erased()
}

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
