//! The projection tables (credentials, credential types, tiers, memberships, roles, governance operations,
//! registry state): written inside the range transactions of [`mirror`](super::mirror), read by the CLI and
//! the API.
//!
//! Per committed range, a constant number of statements per table: load the touched keys' rows
//! (`= ANY`/`IN UNNEST`, `FOR UPDATE`), let the indexer fold the range, upsert the new rows and delete the gone
//! ones with one UNNEST statement each, and write the undo log of the blocks a reorg may still replace.
//! An unwind restores, for every key with undo entries above the fork, the before-image of its lowest such
//! block (no image: the row is deleted), with the same statements, then drops those entries.

//!
//! One file per job: [`rows`] (rows as the database returns them), [`load`], [`write`], [`undo`] (the undo
//! log and the unwind) and [`read`].

use alloy::primitives::{Address, U256};

use super::StoreError;

/// Names of the projection tables in `projection_undo.tbl`.
mod tbl {
    pub const CREDENTIALS: &str = "credentials";
    pub const CREDENTIAL_TYPES: &str = "credential_types";
    pub const TIERS: &str = "tiers";
    pub const MEMBERSHIPS: &str = "memberships";
    pub const ROLES: &str = "roles";
    pub const GOVERNANCE_OPS: &str = "governance_ops";
    pub const REGISTRY_STATE: &str = "registry_state";
}

fn word(v: &U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

fn u256(b: &[u8]) -> U256 {
    U256::from_be_slice(b)
}

fn addr(b: &[u8]) -> Address {
    Address::from_slice(b)
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Postgres array literal of ids, cast to BIGINT[] in SQL (UNNEST cannot take an array of arrays).
fn id_array(ids: &[u64]) -> String {
    let items: Vec<String> = ids.iter().map(u64::to_string).collect();
    format!("{{{}}}", items.join(","))
}

pub mod load;
pub mod read;
pub mod rows;
pub mod undo;
pub mod write;

pub(super) use load::load;
pub(super) use read::{credential_types, credentials_of_holders, registry_state, roles};
pub(super) use undo::{clear, prune_undo, seed_registries, unwind, write_undo};
pub(super) use write::write;
