//! Follows the Laurel contracts' logs into the Postgres mirror.
//!
//! [`decode`] turns every log of the three contracts into a named event with JSON fields (the form the
//! `events` table stores); [`follow`] is the writer that walks the chain into the mirror, reorg-safe.

pub mod decode;
pub mod follow;
pub mod progress;
