//! The durable issuance pipeline: requests checked against the mirrored policy, queued under idempotency
//! keys, batched into transactions by the worker, and confirmed by the indexer.

pub mod precheck;
pub mod request;
pub mod worker;
