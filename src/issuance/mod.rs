//! The durable issuance pipeline: requests from any source enter through [`submit`] (pre-checked against the
//! mirrored policy by [`precheck`], keyed by the rules of [`idempotency`], queued with their claim documents
//! in one transaction), are batched into transactions by the [`worker`] (or, signed by their issuer, relayed
//! by [`relay`]), and are confirmed by the indexer.
//! May import `domain`, `chain`, `store` and — for the claim documents — `credentials`.

pub mod claims;
pub mod idempotency;
pub mod precheck;
pub mod relay;
pub mod request;
pub mod submit;
pub mod worker;
