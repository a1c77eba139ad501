//! Follows the Laurel contracts' logs into the Postgres mirror.
//!
//! So far: [`decode`], which turns every log of the three contracts into a named event with JSON fields,
//! the form the `events` table stores.

pub mod decode;
