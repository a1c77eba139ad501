//! Laurel: soulbound credentials and memberships on an Ethereum L2, mirrored into Postgres.
