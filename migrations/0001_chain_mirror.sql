-- The chain mirror's bookkeeping: the deployment it follows, how far it has indexed, the recent block hashes
-- it checks for reorgs, and every Laurel log it has seen. Projections and the issuance queue build on these.

-- One row per deployment this database mirrors (deployments/<chainId>.json as loaded).
CREATE TABLE deployments (
    chain_id            BIGINT PRIMARY KEY,
    access_manager      BYTEA NOT NULL CHECK (octet_length(access_manager) = 20),
    credential_registry BYTEA NOT NULL CHECK (octet_length(credential_registry) = 20),
    membership_registry BYTEA NOT NULL CHECK (octet_length(membership_registry) = 20),
    deploy_block        BIGINT NOT NULL CHECK (deploy_block >= 0),
    record              JSONB NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- How far the mirror reflects the chain. Written in the same transaction as each range's data, so a crash
-- never leaves the cursor ahead of (or behind) what is stored.
CREATE TABLE cursors (
    chain_id      BIGINT PRIMARY KEY REFERENCES deployments (chain_id),
    indexed_block BIGINT NOT NULL CHECK (indexed_block >= -1), -- -1: nothing indexed yet
    indexed_hash  BYTEA CHECK (octet_length(indexed_hash) = 32),
    final_block   BIGINT NOT NULL DEFAULT 0 CHECK (final_block >= 0),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Recent block hashes: each new block's parent is checked against this window to detect reorgs.
CREATE TABLE blocks (
    chain_id    BIGINT NOT NULL REFERENCES deployments (chain_id),
    number      BIGINT NOT NULL CHECK (number >= 0),
    hash        BYTEA NOT NULL CHECK (octet_length(hash) = 32),
    parent_hash BYTEA NOT NULL CHECK (octet_length(parent_hash) = 32),
    timestamp   BIGINT NOT NULL,
    PRIMARY KEY (chain_id, number)
);

-- Every Laurel log, decoded. The key makes a replayed range insert nothing twice.
CREATE TABLE events (
    chain_id     BIGINT NOT NULL REFERENCES deployments (chain_id),
    tx_hash      BYTEA NOT NULL CHECK (octet_length(tx_hash) = 32),
    log_index    INTEGER NOT NULL CHECK (log_index >= 0),
    block_number BIGINT NOT NULL CHECK (block_number >= 0),
    block_hash   BYTEA NOT NULL CHECK (octet_length(block_hash) = 32),
    tx_index     INTEGER NOT NULL CHECK (tx_index >= 0),
    contract     BYTEA NOT NULL CHECK (octet_length(contract) = 20),
    name         TEXT NOT NULL,
    fields       JSONB NOT NULL,
    PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX events_by_block ON events (chain_id, block_number, log_index);
