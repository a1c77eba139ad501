//! Follows the Laurel contracts' logs into the Postgres mirror.
//!
//! [`decode`] turns every log of the three contracts into a named event with JSON fields (the form the
//! `events` table stores); [`project`] folds a range's events into the projection rows (credentials, types,
//! tiers, memberships, roles, governance operations, registry state) with their undo images, without I/O;
//! [`commit`] drives the store's range transaction through the fold; [`follow`] is the writer that walks the
//! chain into the mirror, reorg-safe, and [`heal`] checks the node's chain against the mirror's identity and
//! rebuilds a mirror that no longer matches it; [`run`] holds its loops (the long-running one with a standby, and
//! the catch-up a command runs before it reads), [`progress`] its rates and metrics.
//! May import `domain`, `chain`, `store`, `config` and `telemetry`; nothing above.

pub mod commit;
pub mod decode;
pub mod follow;
pub mod heal;
pub mod progress;
pub mod project;
pub mod run;
