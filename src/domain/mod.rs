//! What things are, with no I/O: type and tier ids (parsed once, at the edges), token-id packing, credential and membership records and their statuses,
//! type policy flags and role bits as named sets, governance operations, the registries, and the validity
//! rule. Every other module reads these; this one imports nothing of the crate (`scripts/layers` checks).

pub mod credential;
pub mod governance;
pub mod ids;
pub mod membership;
pub mod registry;
pub mod roles;
pub mod token;

pub use credential::{credential_status, CredentialRow, CredentialTypeRow, TypeFlags};
pub use governance::{GovernanceOpRow, OpKey, OpState};
pub use ids::{IdError, TierId, TypeId};
pub use membership::{membership_status, MembershipRow, TierRow};
pub use registry::{Registry, RegistryStateRow, Source};
pub use roles::{RoleKey, RoleRow, RoleScope, TypeRoles};
pub use token::{holder_of, token_id};
