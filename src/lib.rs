//! Laurel: soulbound credentials and memberships on an Ethereum L2, mirrored into Postgres.
//!
//! This crate holds the service's library (chain access, the Postgres store with its projections, the
//! indexer; issuance and the API later) and the `laurel` binary. See `docs/contracts.md` for the contracts
//! it talks to and `docs/mirror.md` for the mirror's tables.

pub mod api;
pub mod chain;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod indexer;
pub mod issuance;
pub mod startup;
pub mod store;
