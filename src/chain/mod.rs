//! Chain access: bindings generated from the committed contract artifacts and the deployment record.

pub mod bindings;
pub mod deployment;
pub mod signer;
pub mod tx;

pub use deployment::{Deployment, DeploymentError};
