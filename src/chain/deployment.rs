//! The deployment record `deployments/<chainId>.json` that `scripts/deploy` writes for the service.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

/// Every address, the deploy block and the role holders of one Laurel deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Chain id the contracts live on.
    pub chain_id: u64,
    /// Block of the first deployment transaction; indexing starts here.
    pub deploy_block: u64,
    /// Account that paid for the deployment.
    pub deployer: Address,
    /// The OpenZeppelin AccessManager governing both registries.
    pub access_manager: Address,
    /// The soulbound CredentialRegistry.
    pub credential_registry: Address,
    /// The MembershipRegistry.
    pub membership_registry: Address,
    /// Base of credential token metadata URIs.
    #[serde(rename = "baseURI")]
    pub base_uri: String,
    /// Base of membership token metadata URIs.
    #[serde(rename = "membershipBaseURI")]
    pub membership_base_uri: String,
    /// Who held each role at deploy time.
    pub roles: RoleHolders,
    /// AccessManager role ids.
    pub role_ids: RoleIds,
    /// Execution delays in seconds.
    pub delays: Delays,
}

/// Accounts granted each role at deploy time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleHolders {
    /// Holder of ADMIN (role 0): manages every other role and delay.
    pub admin: Address,
    /// Holder of GOVERNOR: defines and updates types and tiers, per-type roles and base URIs.
    pub governor: Address,
    /// Holder of PAUSER: may pause (never unpause) a type, a tier or a whole registry.
    pub pauser: Address,
    /// Holder of RECOVERY: moves a lost wallet's credentials to a new address.
    pub recovery: Address,
    /// Cancels scheduled operations.
    pub guardian: Address,
}

/// AccessManager role ids used by the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleIds {
    /// Admin role id.
    pub admin: u64,
    /// Governor role id.
    pub governor: u64,
    /// Recovery role id.
    pub recovery: u64,
    /// Pauser role id.
    pub pauser: u64,
    /// Guardian role id.
    pub guardian: u64,
}

/// Execution delays (seconds) set at deploy time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delays {
    /// Delay of GOVERNOR calls.
    pub policy: u64,
    /// Delay of RECOVERY calls.
    pub recovery: u64,
    /// Delay of ADMIN calls once the deployer handed over.
    pub admin: u64,
}

/// Why a deployment record could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// The file could not be read.
    #[error("cannot read the deployment file {path}: {source}; deploy first with scripts/deploy")]
    Read {
        /// File that was read.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not a deployment record.
    #[error("the deployment file {path} is not a valid deployment record: {source}")]
    Parse {
        /// File that was parsed.
        path: PathBuf,
        /// Underlying JSON error.
        source: serde_json::Error,
    },
    /// The record belongs to another chain.
    #[error(
        "the deployment file {path} is for chain {found}, but the RPC serves chain {expected}"
    )]
    WrongChain {
        /// File that was read.
        path: PathBuf,
        /// Chain id in the file.
        found: u64,
        /// Chain id the caller expected.
        expected: u64,
    },
}

/// The three contracts of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contracts {
    /// The AccessManager.
    pub access_manager: Address,
    /// The CredentialRegistry.
    pub credential_registry: Address,
    /// The MembershipRegistry.
    pub membership_registry: Address,
}

impl Deployment {
    /// The record of a deployment where one account deployed and holds every role, with the default role ids
    /// and no execution delays (a fresh local chain; test fixtures build theirs with it).
    pub fn single_admin(
        chain_id: u64,
        deploy_block: u64,
        admin: Address,
        contracts: Contracts,
        base_uri: &str,
    ) -> Self {
        Self {
            chain_id,
            deploy_block,
            deployer: admin,
            access_manager: contracts.access_manager,
            credential_registry: contracts.credential_registry,
            membership_registry: contracts.membership_registry,
            base_uri: base_uri.into(),
            membership_base_uri: base_uri.into(),
            roles: RoleHolders {
                admin,
                governor: admin,
                pauser: admin,
                recovery: admin,
                guardian: admin,
            },
            role_ids: RoleIds {
                admin: 0,
                governor: 1,
                recovery: 2,
                pauser: 3,
                guardian: 4,
            },
            delays: Delays {
                policy: 0,
                recovery: 0,
                admin: 0,
            },
        }
    }

    /// The conventional path of chain `chain_id`'s record under `dir` (`<dir>/<chainId>.json`).
    pub fn path_for(dir: &Path, chain_id: u64) -> PathBuf {
        dir.join(format!("{chain_id}.json"))
    }

    /// Reads and parses a deployment record.
    pub fn load(path: &Path) -> Result<Self, DeploymentError> {
        let text = std::fs::read_to_string(path).map_err(|source| DeploymentError::Read {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| DeploymentError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads a record and checks that it belongs to `chain_id`.
    pub fn load_for_chain(path: &Path, chain_id: u64) -> Result<Self, DeploymentError> {
        let d = Self::load(path)?;
        if d.chain_id != chain_id {
            return Err(DeploymentError::WrongChain {
                path: path.to_owned(),
                found: d.chain_id,
                expected: chain_id,
            });
        }
        Ok(d)
    }
}
