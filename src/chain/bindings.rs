//! Alloy bindings for Laurel's contracts, generated at compile time from `contracts/artifacts/*.json`.
//!
//! The artifacts (ABI plus creation and runtime bytecode) are written by `scripts/artifacts` and committed,
//! so building this crate needs no Solidity compiler; an integration test fails when they are stale.
#![allow(missing_docs, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc, all_derives, extra_derives(serde::Serialize, serde::Deserialize))]
    CredentialRegistry,
    "contracts/artifacts/CredentialRegistry.json"
);

sol!(
    #[sol(rpc, all_derives, extra_derives(serde::Serialize, serde::Deserialize))]
    MembershipRegistry,
    "contracts/artifacts/MembershipRegistry.json"
);

sol!(
    #[sol(rpc, all_derives, extra_derives(serde::Serialize, serde::Deserialize))]
    AccessManager,
    "contracts/artifacts/AccessManager.json"
);

impl CredentialRegistry::TypePolicy {
    /// A type policy with a name, a default validity (seconds; 0 = never expires) and `FLAG_*` bits, and
    /// nothing else set: no URI, maximum validity, renewal window, supply cap, quota or prerequisites.
    pub fn plain(name: &str, default_validity: u64, flags: u16) -> Self {
        use alloy::primitives::Uint;
        Self {
            name: name.into(),
            uri: String::new(),
            defaultValidity: Uint::from(default_validity),
            maxValidity: Uint::ZERO,
            renewalWindow: Uint::ZERO,
            maxSupply: 0,
            quotaLimit: 0,
            quotaPeriod: 0,
            flags,
            prerequisites: vec![],
        }
    }
}

sol!(
    /// The OP-stack GasPriceOracle predeploy: the L1 data fee a transaction pays on Base and OP Mainnet.
    #[sol(rpc)]
    interface GasPriceOracle {
        function getL1Fee(bytes memory data) external view returns (uint256);
    }
);

/// Address of the GasPriceOracle predeploy on every OP-stack chain.
pub const GAS_PRICE_ORACLE: alloy::primitives::Address =
    alloy::primitives::address!("420000000000000000000000000000000000000F");
