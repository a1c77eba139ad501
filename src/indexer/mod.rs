//! Follows the Laurel contracts' logs into the Postgres mirror.
//!
//! [`decode`] turns every log of the three contracts into a named event with JSON fields (the form the
//! `events` table stores); [`project`] folds a range's events into the projection rows (credentials, types,
//! tiers, memberships, roles, governance operations, registry state) with their undo images, without I/O;
//! [`follow`] is the writer that walks the chain into the mirror, reorg-safe.

pub mod decode;
pub mod follow;
pub mod progress;
pub mod project;
