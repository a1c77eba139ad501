//! Chain access: bindings generated from the committed contract artifacts, the deployment record, signing and
//! sending one transaction, and decoding the contracts' reverts into messages. May import only `domain`
//! and `config`.

pub mod bindings;
pub mod deployment;
pub mod node;
pub mod revert;
pub mod signer;
pub mod tx;

pub use deployment::{Deployment, DeploymentError};
pub use node::Node;
