//! Decoding of Laurel's logs (CredentialRegistry, MembershipRegistry, AccessManager) into named events with
//! JSON fields, using the `sol!` bindings generated from the committed artifacts.

use alloy::primitives::{Address, B256};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEventInterface;
use serde::Serialize;
use serde_json::Value;

use crate::chain::bindings::{AccessManager, CredentialRegistry, MembershipRegistry};
use crate::chain::Deployment;
use crate::domain::Source;

/// The contracts the indexer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contracts {
    /// The deployment's CredentialRegistry; its logs decode as credential and type events.
    pub credentials: Address,
    /// The deployment's MembershipRegistry; its logs decode as membership and tier events.
    pub memberships: Address,
    /// The deployment's AccessManager; its logs decode as role and scheduled-operation events.
    pub access_manager: Address,
}

impl Contracts {
    /// The contracts of a deployment.
    pub fn of(d: &Deployment) -> Self {
        Self {
            credentials: d.credential_registry,
            memberships: d.membership_registry,
            access_manager: d.access_manager,
        }
    }

    /// The three addresses, for an `eth_getLogs` filter.
    pub fn addresses(&self) -> [Address; 3] {
        [self.credentials, self.memberships, self.access_manager]
    }

    /// Which contract `address` is, if any.
    pub fn source_of(&self, address: Address) -> Option<Source> {
        if address == self.credentials {
            Some(Source::CredentialRegistry)
        } else if address == self.memberships {
            Some(Source::MembershipRegistry)
        } else if address == self.access_manager {
            Some(Source::AccessManager)
        } else {
            None
        }
    }
}

/// One decoded log and where it sits on chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodedLog {
    /// Which followed contract emitted the log (matched by its address).
    pub source: Source,
    /// Event name, e.g. `IssuedBatch`.
    pub name: String,
    /// Event fields by name (numbers as 0x-hex strings, addresses and hashes as 0x-hex).
    pub fields: Value,
    /// Number of the block the log was emitted in (`events.block_number`).
    pub block_number: u64,
    /// Hash of that block; a reorg shows as another hash at the same number.
    pub block_hash: B256,
    /// Hash of the emitting transaction; with `log_index` the event's key in `events`.
    pub tx_hash: B256,
    /// Transaction index in the block.
    pub tx_index: u64,
    /// Log index in the block.
    pub log_index: u64,
}

/// Why a log could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The log was not emitted by a followed contract.
    #[error("the log from {0} is not from a Laurel contract of this deployment")]
    ForeignAddress(Address),
    /// The log's topics and data match no event of its contract (an ABI mismatch: stale artifacts?).
    #[error("log {tx_hash}:{log_index} from {contract:?} matches no known event ({reason}); are the artifacts current?")]
    Unknown {
        /// The contract whose ABI has no event matching the log.
        contract: Source,
        /// Hash of the transaction that emitted the log.
        tx_hash: B256,
        /// Index of the log in its block.
        log_index: u64,
        /// Why alloy's decoder rejected the log's topics and data.
        reason: String,
    },
    /// The log lacks its block or transaction position (a pending log).
    #[error("the log has no {0}; only mined logs can be indexed")]
    Pending(&'static str),
}

/// Decodes one log of the followed contracts.
pub fn decode(contracts: &Contracts, log: &Log) -> Result<DecodedLog, DecodeError> {
    let address = log.address();
    let source = contracts
        .source_of(address)
        .ok_or(DecodeError::ForeignAddress(address))?;
    let block_number = log
        .block_number
        .ok_or(DecodeError::Pending("block number"))?;
    let block_hash = log.block_hash.ok_or(DecodeError::Pending("block hash"))?;
    let tx_hash = log
        .transaction_hash
        .ok_or(DecodeError::Pending("transaction hash"))?;
    let tx_index = log
        .transaction_index
        .ok_or(DecodeError::Pending("transaction index"))?;
    let log_index = log.log_index.ok_or(DecodeError::Pending("log index"))?;
    let topics = log.topics();
    let data = &log.data().data;
    let unknown = |reason: String| DecodeError::Unknown {
        contract: source,
        tx_hash,
        log_index,
        reason,
    };
    let tagged = match source {
        Source::CredentialRegistry => {
            CredentialRegistry::CredentialRegistryEvents::decode_raw_log(topics, data)
                .map(|e| to_json(&e))
        }
        Source::MembershipRegistry => {
            MembershipRegistry::MembershipRegistryEvents::decode_raw_log(topics, data)
                .map(|e| to_json(&e))
        }
        Source::AccessManager => {
            AccessManager::AccessManagerEvents::decode_raw_log(topics, data).map(|e| to_json(&e))
        }
    }
    .map_err(|e| unknown(e.to_string()))?;
    let (name, fields) =
        untag(tagged).ok_or_else(|| unknown("the decoded event has no name".into()))?;
    Ok(DecodedLog {
        source,
        name,
        fields,
        block_number,
        block_hash,
        tx_hash,
        tx_index,
        log_index,
    })
}

fn to_json<T: Serialize>(event: &T) -> Value {
    // Serializing generated types built from primitives cannot fail.
    serde_json::to_value(event).unwrap_or(Value::Null)
}

/// serde's externally tagged enum form `{"Name": fields}` → (Name, fields).
fn untag(v: Value) -> Option<(String, Value)> {
    match v {
        Value::Object(map) if map.len() == 1 => map.into_iter().next(),
        _ => None,
    }
}
