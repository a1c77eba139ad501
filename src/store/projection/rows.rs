//! Rows as the database returns them, and their conversion to the domain's records.

use alloy::primitives::{Bytes, B256};

use super::{addr, corrupt, u256};
use crate::domain::{
    CredentialRow, CredentialTypeRow, GovernanceOpRow, MembershipRow, OpState, Registry,
    RegistryStateRow, RoleRow, RoleScope, TierRow,
};
use crate::store::StoreError;

pub(in crate::store) struct DbCredential {
    pub(in crate::store) token_id: Vec<u8>,
    pub(in crate::store) type_id: i64,
    pub(in crate::store) holder: Vec<u8>,
    pub(in crate::store) issuer: Vec<u8>,
    pub(in crate::store) issued_at: i64,
    pub(in crate::store) expires_at: i64,
    pub(in crate::store) status: i16,
    pub(in crate::store) reason: i16,
    pub(in crate::store) evidence_hash: Vec<u8>,
    pub(in crate::store) issued_block: i64,
    pub(in crate::store) issued_tx: Vec<u8>,
    pub(in crate::store) updated_block: i64,
    pub(in crate::store) recovered_from: Option<Vec<u8>>,
    pub(in crate::store) recovered_to: Option<Vec<u8>>,
}

impl From<DbCredential> for CredentialRow {
    fn from(r: DbCredential) -> Self {
        Self {
            token_id: u256(&r.token_id),
            type_id: r.type_id as u64,
            holder: addr(&r.holder),
            issuer: addr(&r.issuer),
            issued_at: r.issued_at as u64,
            expires_at: r.expires_at as u64,
            status: r.status as u8,
            reason: r.reason as u8,
            evidence_hash: B256::from_slice(&r.evidence_hash),
            issued_block: r.issued_block as u64,
            issued_tx: B256::from_slice(&r.issued_tx),
            updated_block: r.updated_block as u64,
            recovered_from: r.recovered_from.as_deref().map(addr),
            recovered_to: r.recovered_to.as_deref().map(addr),
        }
    }
}

pub(in crate::store) struct DbType {
    pub(in crate::store) type_id: i64,
    pub(in crate::store) name: String,
    pub(in crate::store) uri: String,
    pub(in crate::store) default_validity: i64,
    pub(in crate::store) max_validity: i64,
    pub(in crate::store) renewal_window: i64,
    pub(in crate::store) max_supply: i64,
    pub(in crate::store) quota_limit: i64,
    pub(in crate::store) quota_period: i64,
    pub(in crate::store) flags: i32,
    pub(in crate::store) prerequisites: Vec<i64>,
    pub(in crate::store) paused: bool,
    pub(in crate::store) supply: i64,
    pub(in crate::store) defined_block: i64,
    pub(in crate::store) updated_block: i64,
}

impl From<DbType> for CredentialTypeRow {
    fn from(r: DbType) -> Self {
        Self {
            type_id: r.type_id as u64,
            name: r.name,
            uri: r.uri,
            default_validity: r.default_validity as u64,
            max_validity: r.max_validity as u64,
            renewal_window: r.renewal_window as u64,
            max_supply: r.max_supply as u32,
            quota_limit: r.quota_limit as u32,
            quota_period: r.quota_period as u32,
            flags: r.flags as u16,
            prerequisites: r.prerequisites.into_iter().map(|p| p as u64).collect(),
            paused: r.paused,
            supply: r.supply as u64,
            defined_block: r.defined_block as u64,
            updated_block: r.updated_block as u64,
        }
    }
}

pub(in crate::store) struct DbTier {
    pub(in crate::store) tier_id: i64,
    pub(in crate::store) name: String,
    pub(in crate::store) uri: String,
    pub(in crate::store) duration: i64,
    pub(in crate::store) holder_renewable: bool,
    pub(in crate::store) transferable: bool,
    pub(in crate::store) max_members: i64,
    pub(in crate::store) eligibility: Vec<i64>,
    pub(in crate::store) paused: bool,
    pub(in crate::store) members: i64,
    pub(in crate::store) defined_block: i64,
    pub(in crate::store) updated_block: i64,
}

impl From<DbTier> for TierRow {
    fn from(r: DbTier) -> Self {
        Self {
            tier_id: r.tier_id as u64,
            name: r.name,
            uri: r.uri,
            duration: r.duration as u64,
            holder_renewable: r.holder_renewable,
            transferable: r.transferable,
            max_members: r.max_members as u64,
            eligibility: r.eligibility.into_iter().map(|p| p as u64).collect(),
            paused: r.paused,
            members: r.members as u64,
            defined_block: r.defined_block as u64,
            updated_block: r.updated_block as u64,
        }
    }
}

pub(in crate::store) struct DbMembership {
    pub(in crate::store) token_id: Vec<u8>,
    pub(in crate::store) tier_id: i64,
    pub(in crate::store) holder: Vec<u8>,
    pub(in crate::store) original_holder: Vec<u8>,
    pub(in crate::store) expires_at: i64,
    pub(in crate::store) granted_at: i64,
    pub(in crate::store) status: i16,
    pub(in crate::store) reason: i16,
    pub(in crate::store) granted_by: Option<Vec<u8>>,
    pub(in crate::store) granted_block: i64,
    pub(in crate::store) granted_tx: Vec<u8>,
    pub(in crate::store) moved_from: Option<Vec<u8>>,
    pub(in crate::store) moved_to: Option<Vec<u8>>,
    pub(in crate::store) updated_block: i64,
}

impl From<DbMembership> for MembershipRow {
    fn from(r: DbMembership) -> Self {
        Self {
            token_id: u256(&r.token_id),
            tier_id: r.tier_id as u64,
            holder: addr(&r.holder),
            original_holder: addr(&r.original_holder),
            expires_at: r.expires_at as u64,
            granted_at: r.granted_at as u64,
            status: r.status as u8,
            reason: r.reason as u8,
            granted_by: r.granted_by.as_deref().map(addr),
            granted_block: r.granted_block as u64,
            granted_tx: B256::from_slice(&r.granted_tx),
            moved_from: r.moved_from.as_deref().map(u256),
            moved_to: r.moved_to.as_deref().map(u256),
            updated_block: r.updated_block as u64,
        }
    }
}

pub(in crate::store) struct DbRole {
    pub(in crate::store) scope: String,
    pub(in crate::store) scope_id: i64,
    pub(in crate::store) account: Vec<u8>,
    pub(in crate::store) bits: i16,
    pub(in crate::store) since: Option<i64>,
    pub(in crate::store) delay: Option<i64>,
    pub(in crate::store) granted_block: i64,
    pub(in crate::store) updated_block: i64,
}

impl TryFrom<DbRole> for RoleRow {
    type Error = StoreError;
    fn try_from(r: DbRole) -> Result<Self, StoreError> {
        Ok(Self {
            scope: RoleScope::parse(&r.scope)
                .ok_or_else(|| corrupt(format!("unknown role scope {:?}", r.scope)))?,
            scope_id: r.scope_id as u64,
            account: addr(&r.account),
            bits: r.bits as u8,
            since: r.since.map(|v| v as u64),
            delay: r.delay.map(|v| v as u64),
            granted_block: r.granted_block as u64,
            updated_block: r.updated_block as u64,
        })
    }
}

pub(in crate::store) struct DbOp {
    pub(in crate::store) operation_id: Vec<u8>,
    pub(in crate::store) nonce: i64,
    pub(in crate::store) schedule: Option<i64>,
    pub(in crate::store) caller: Option<Vec<u8>>,
    pub(in crate::store) target: Option<Vec<u8>>,
    pub(in crate::store) data: Option<Vec<u8>>,
    pub(in crate::store) state: String,
    pub(in crate::store) scheduled_block: Option<i64>,
    pub(in crate::store) scheduled_tx: Option<Vec<u8>>,
    pub(in crate::store) updated_block: i64,
}

impl TryFrom<DbOp> for GovernanceOpRow {
    type Error = StoreError;
    fn try_from(r: DbOp) -> Result<Self, StoreError> {
        Ok(Self {
            operation_id: B256::from_slice(&r.operation_id),
            nonce: r.nonce as u32,
            schedule: r.schedule.map(|v| v as u64),
            caller: r.caller.as_deref().map(addr),
            target: r.target.as_deref().map(addr),
            data: r.data.map(Bytes::from),
            state: OpState::parse(&r.state)
                .ok_or_else(|| corrupt(format!("unknown operation state {:?}", r.state)))?,
            scheduled_block: r.scheduled_block.map(|v| v as u64),
            scheduled_tx: r.scheduled_tx.as_deref().map(B256::from_slice),
            updated_block: r.updated_block as u64,
        })
    }
}

pub(in crate::store) struct DbRegistry {
    pub(in crate::store) registry: String,
    pub(in crate::store) paused: bool,
    pub(in crate::store) base_uri: Option<String>,
    pub(in crate::store) updated_block: Option<i64>,
}

impl TryFrom<DbRegistry> for RegistryStateRow {
    type Error = StoreError;
    fn try_from(r: DbRegistry) -> Result<Self, StoreError> {
        Ok(Self {
            registry: Registry::parse(&r.registry)
                .ok_or_else(|| corrupt(format!("unknown registry {:?}", r.registry)))?,
            paused: r.paused,
            base_uri: r.base_uri,
            updated_block: r.updated_block.map(|v| v as u64),
        })
    }
}
