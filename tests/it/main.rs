//! Laurel's integration tests: one binary, a module per area, against real parts
//! (the Solidity compiler, an anvil node and the deploy script; Postgres from issue 3 on).

mod admin;
mod api;
mod artifacts;
mod badges;
mod checks;
mod claims;
mod cli;
mod decode;
mod deploy;
mod dev;
mod faults;
mod hostile;
mod indexer;
mod interop;
mod issuance;
mod projection;
mod rdfc;
mod store;
mod submit;
mod support;
mod toolchain;
