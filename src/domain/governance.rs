//! Governance operations: AccessManager's scheduled (time-locked) calls and where each stands.

use alloy::primitives::{Address, Bytes, B256};
use serde::{Deserialize, Serialize};

/// Where a scheduled AccessManager operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpState {
    /// Scheduled, not yet executed or canceled (it may have expired: see `schedule`).
    Scheduled,
    /// Run: the AccessManager emitted `OperationExecuted` for this id and nonce.
    Executed,
    /// Withdrawn by its scheduler or a guardian (`OperationCanceled`); it can no longer run.
    Canceled,
}

impl OpState {
    /// The name stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            OpState::Scheduled => "scheduled",
            OpState::Executed => "executed",
            OpState::Canceled => "canceled",
        }
    }

    /// The state named `s` in the `state` column.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "scheduled" => Some(OpState::Scheduled),
            "executed" => Some(OpState::Executed),
            "canceled" => Some(OpState::Canceled),
            _ => None,
        }
    }
}

/// Key of a governance operation: AccessManager reuses an operation id for the same call, with a new nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OpKey {
    /// `hashOperation(caller, target, data)`.
    pub operation_id: B256,
    /// Nonce of this scheduling.
    pub nonce: u32,
}

/// A scheduled AccessManager operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceOpRow {
    /// `hashOperation(caller, target, data)`.
    pub operation_id: B256,
    /// Nonce of this scheduling.
    pub nonce: u32,
    /// When it becomes executable (unix seconds); None if its scheduling was never seen.
    pub schedule: Option<u64>,
    /// Account that scheduled it (and may execute it).
    pub caller: Option<Address>,
    /// Contract it calls.
    pub target: Option<Address>,
    /// Calldata it sends to `target`; None if its scheduling was never seen.
    pub data: Option<Bytes>,
    /// Scheduled, executed or canceled: what the latest AccessManager event for this key says.
    pub state: OpState,
    /// Block of `OperationScheduled`.
    pub scheduled_block: Option<u64>,
    /// Transaction of `OperationScheduled`.
    pub scheduled_tx: Option<B256>,
    /// Block of the last change.
    pub updated_block: u64,
}

impl GovernanceOpRow {
    /// The row's key.
    pub fn key(&self) -> OpKey {
        OpKey {
            operation_id: self.operation_id,
            nonce: self.nonce,
        }
    }
}
