//! Laurel: soulbound credentials and memberships on an Ethereum L2, mirrored into Postgres.
//!
//! This crate holds the service's library and the `laurel` binary. Modules are layered and import only
//! downward (`scripts/layers` checks it): `domain` <- `chain` <- `store` <- {`indexer`, `issuance`,
//! `governance`, `credentials`} <- {`api`, `cli`} <- `startup` / the binary; `config` is a leaf every
//! module may read. See `docs/contracts.md` for the contracts it talks to and `docs/mirror.md` for the
//! mirror's tables.

pub mod api;
pub mod chain;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod domain;
pub mod governance;
pub mod indexer;
pub mod issuance;
pub mod startup;
pub mod store;
pub mod telemetry;
