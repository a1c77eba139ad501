-- Projections: the current state of credentials, types, tiers, memberships, roles, governance operations and
-- registry flags, folded from the events of each range in the same transaction that stores them
-- (src/indexer/project.rs), plus the undo log that lets a reorg restore them exactly (src/store/projection.rs).
-- Token ids are 32-byte big-endian; addresses 20 bytes; times unix seconds; block numbers as in `blocks`.

-- The block's timestamp of every stored event (credentials' issue time, memberships' grant time).
ALTER TABLE events ADD COLUMN block_timestamp BIGINT;

-- Credential types: policy as in TypeDefined/TypeUpdated, the type's own pause flag, and the live supply
-- (active + suspended credentials; counted for every type, where the contract counts only capped ones).
CREATE TABLE credential_types (
    chain_id         BIGINT NOT NULL REFERENCES deployments (chain_id),
    type_id          BIGINT NOT NULL CHECK (type_id > 0),
    name             TEXT NOT NULL,
    uri              TEXT NOT NULL,
    default_validity BIGINT NOT NULL CHECK (default_validity >= 0),
    max_validity     BIGINT NOT NULL CHECK (max_validity >= 0),
    renewal_window   BIGINT NOT NULL CHECK (renewal_window >= 0),
    max_supply       BIGINT NOT NULL CHECK (max_supply >= 0),
    quota_limit      BIGINT NOT NULL CHECK (quota_limit >= 0),
    quota_period     BIGINT NOT NULL CHECK (quota_period >= 0),
    flags            INTEGER NOT NULL CHECK (flags >= 0),
    prerequisites    BIGINT[] NOT NULL,
    paused           BOOLEAN NOT NULL,
    supply           BIGINT NOT NULL CHECK (supply >= 0),
    defined_block    BIGINT NOT NULL,
    updated_block    BIGINT NOT NULL,
    PRIMARY KEY (chain_id, type_id)
);

-- Every credential ever issued (token id = type_id << 160 | holder). Burned ones keep their row, like the
-- contract keeps their record: status 1 active, 2 suspended, 3 revoked, 4 renounced, 5 recovered.
CREATE TABLE credentials (
    chain_id       BIGINT NOT NULL REFERENCES deployments (chain_id),
    token_id       BYTEA NOT NULL CHECK (octet_length(token_id) = 32),
    type_id        BIGINT NOT NULL,
    holder         BYTEA NOT NULL CHECK (octet_length(holder) = 20),
    issuer         BYTEA NOT NULL CHECK (octet_length(issuer) = 20),
    issued_at      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL, -- 0 = never
    status         SMALLINT NOT NULL CHECK (status BETWEEN 1 AND 5),
    reason         SMALLINT NOT NULL,
    evidence_hash  BYTEA NOT NULL CHECK (octet_length(evidence_hash) = 32),
    issued_block   BIGINT NOT NULL,
    issued_tx      BYTEA NOT NULL CHECK (octet_length(issued_tx) = 32),
    updated_block  BIGINT NOT NULL,
    recovered_from BYTEA CHECK (octet_length(recovered_from) = 20),
    recovered_to   BYTEA CHECK (octet_length(recovered_to) = 20),
    PRIMARY KEY (chain_id, token_id)
);
CREATE INDEX credentials_by_holder ON credentials (chain_id, holder);
CREATE INDEX credentials_by_type ON credentials (chain_id, type_id);

-- Membership tiers: policy as in TierDefined/TierUpdated, the tier's own pause flag, active member count
-- (the contract's memberCount). Tier managers are in `roles` (scope 'tier').
CREATE TABLE tiers (
    chain_id         BIGINT NOT NULL REFERENCES deployments (chain_id),
    tier_id          BIGINT NOT NULL CHECK (tier_id > 0),
    name             TEXT NOT NULL,
    uri              TEXT NOT NULL,
    duration         BIGINT NOT NULL CHECK (duration >= 0),
    holder_renewable BOOLEAN NOT NULL,
    transferable     BOOLEAN NOT NULL,
    max_members      BIGINT NOT NULL CHECK (max_members >= 0),
    eligibility      BIGINT[] NOT NULL,
    paused           BOOLEAN NOT NULL,
    members          BIGINT NOT NULL CHECK (members >= 0),
    defined_block    BIGINT NOT NULL,
    updated_block    BIGINT NOT NULL,
    PRIMARY KEY (chain_id, tier_id)
);

-- Every membership token ever minted (token id = tier_id << 160 | original holder). Status 1 active,
-- 2 cancelled (as on chain), 3 revoked and 4 moved to another tier (burned on chain; kept here).
CREATE TABLE memberships (
    chain_id        BIGINT NOT NULL REFERENCES deployments (chain_id),
    token_id        BYTEA NOT NULL CHECK (octet_length(token_id) = 32),
    tier_id         BIGINT NOT NULL,
    holder          BYTEA NOT NULL CHECK (octet_length(holder) = 20), -- current owner
    original_holder BYTEA NOT NULL CHECK (octet_length(original_holder) = 20),
    expires_at      BIGINT NOT NULL,
    granted_at      BIGINT NOT NULL,
    status          SMALLINT NOT NULL CHECK (status BETWEEN 1 AND 4),
    reason          SMALLINT NOT NULL,
    granted_by      BYTEA CHECK (octet_length(granted_by) = 20),
    granted_block   BIGINT NOT NULL,
    granted_tx      BYTEA NOT NULL CHECK (octet_length(granted_tx) = 32),
    moved_from      BYTEA CHECK (octet_length(moved_from) = 32),
    moved_to        BYTEA CHECK (octet_length(moved_to) = 32),
    updated_block   BIGINT NOT NULL,
    PRIMARY KEY (chain_id, token_id)
);
CREATE INDEX memberships_by_holder ON memberships (chain_id, holder);
CREATE INDEX memberships_by_tier ON memberships (chain_id, tier_id);

-- Who holds which role, one table for the three kinds of role:
--   scope 'manager': AccessManager role `scope_id` (RoleGranted/RoleRevoked), with `since` and `delay`;
--   scope 'type':    CredentialRegistry per-type roles of type `scope_id` (TypeRolesSet), `bits` = 1 issuer | 2 revoker;
--   scope 'tier':    MembershipRegistry managers of tier `scope_id` (TierManagerSet), `bits` = 1.
-- A revoked role has no row.
CREATE TABLE roles (
    chain_id      BIGINT NOT NULL REFERENCES deployments (chain_id),
    scope         TEXT NOT NULL CHECK (scope IN ('manager', 'type', 'tier')),
    scope_id      BIGINT NOT NULL CHECK (scope_id >= 0),
    account       BYTEA NOT NULL CHECK (octet_length(account) = 20),
    bits          SMALLINT NOT NULL CHECK (bits > 0),
    since         BIGINT,
    delay         BIGINT,
    granted_block BIGINT NOT NULL,
    updated_block BIGINT NOT NULL,
    PRIMARY KEY (chain_id, scope, scope_id, account)
);
CREATE INDEX roles_by_account ON roles (chain_id, account);

-- AccessManager operations scheduled for later execution (schedule → delay → execute, or a guardian's
-- cancel). AccessManager reuses an operation id for the same (caller, target, data); the nonce tells them
-- apart. A scheduled operation past `schedule` + the manager's expiration (1 week) can no longer run.
CREATE TABLE governance_ops (
    chain_id        BIGINT NOT NULL REFERENCES deployments (chain_id),
    operation_id    BYTEA NOT NULL CHECK (octet_length(operation_id) = 32),
    nonce           BIGINT NOT NULL CHECK (nonce >= 0),
    schedule        BIGINT, -- NULL only for an operation whose scheduling the mirror never saw
    caller          BYTEA CHECK (octet_length(caller) = 20),
    target          BYTEA CHECK (octet_length(target) = 20),
    data            BYTEA,
    state           TEXT NOT NULL CHECK (state IN ('scheduled', 'executed', 'canceled')),
    scheduled_block BIGINT,
    scheduled_tx    BYTEA CHECK (octet_length(scheduled_tx) = 32),
    updated_block   BIGINT NOT NULL,
    PRIMARY KEY (chain_id, operation_id, nonce)
);
CREATE INDEX governance_ops_by_state ON governance_ops (chain_id, state);

-- Each registry's global pause flag and base URI (seeded from the deployment record when it is registered;
-- updated_block NULL = as deployed).
CREATE TABLE registry_state (
    chain_id      BIGINT NOT NULL REFERENCES deployments (chain_id),
    registry      TEXT NOT NULL CHECK (registry IN ('credentials', 'memberships')),
    paused        BOOLEAN NOT NULL,
    base_uri      TEXT,
    updated_block BIGINT,
    PRIMARY KEY (chain_id, registry)
);

-- The undo log of the projections for the blocks a reorg may still replace: for each block, the row of each
-- key it changes as it was before the block's first change of it (`before` NULL = no row). Unwinding to a
-- fork restores, per key, the image of its lowest block above the fork. `key` is the row's key as JSON,
-- `before` the row as JSON (src/indexer/project.rs row types).
CREATE TABLE projection_undo (
    chain_id     BIGINT NOT NULL REFERENCES deployments (chain_id),
    block_number BIGINT NOT NULL,
    tbl          TEXT NOT NULL,
    key          JSONB NOT NULL,
    before       JSONB,
    PRIMARY KEY (chain_id, block_number, tbl, key)
);

-- Registered deployments get their registry rows; a mirror indexed before projections existed is re-indexed
-- from its deploy block (the follower's next step starts there), so its projections are folded from the
-- start like any other.
INSERT INTO registry_state (chain_id, registry, paused, base_uri)
SELECT chain_id, 'credentials', false, record ->> 'baseURI' FROM deployments
UNION ALL
SELECT chain_id, 'memberships', false, record ->> 'membershipBaseURI' FROM deployments;
DELETE FROM events;
DELETE FROM blocks;
UPDATE cursors c SET indexed_block = d.deploy_block - 1, indexed_hash = NULL, final_block = 0, updated_at = now()
FROM deployments d WHERE d.chain_id = c.chain_id;
