//! The two registries and the three contracts of a deployment: which one a log came from, and each
//! registry's global state (pause, base URI).

use serde::{Deserialize, Serialize};

/// Which Laurel contract emitted a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Source {
    /// The soulbound CredentialRegistry.
    CredentialRegistry,
    /// The MembershipRegistry.
    MembershipRegistry,
    /// The AccessManager governing both.
    AccessManager,
}

/// One of the two registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registry {
    /// The CredentialRegistry.
    Credentials,
    /// The MembershipRegistry.
    Memberships,
}

impl Registry {
    /// The name stored in the `registry` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Registry::Credentials => "credentials",
            Registry::Memberships => "memberships",
        }
    }

    /// The registry named `s` in the `registry` column.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "credentials" => Some(Registry::Credentials),
            "memberships" => Some(Registry::Memberships),
            _ => None,
        }
    }
}

/// A registry's global state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryStateRow {
    /// The credential or the membership registry (`registry_state.registry`).
    pub registry: Registry,
    /// Whether the whole registry is paused.
    pub paused: bool,
    /// Base of token URIs (from the deployment record until a `BaseURISet`); None if unknown.
    pub base_uri: Option<String>,
    /// Block of the last change; None while as deployed.
    pub updated_block: Option<u64>,
}
