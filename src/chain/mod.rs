//! Chain access: bindings generated from the committed contract artifacts and the deployment record.

pub mod bindings;
pub mod deployment;

pub use deployment::{Deployment, DeploymentError};
