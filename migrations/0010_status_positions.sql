-- Bitstring Status List positions: one per credential (a token as issued by one transaction; a token
-- re-issued after revocation or expiry is a new credential with a new position). Allocated once from a
-- sequence and never reused or deleted: not part of the projection, so reorgs and mirror rebuilds keep it.
CREATE SEQUENCE status_position_seq AS BIGINT MINVALUE 0 START 0;

CREATE TABLE status_positions (
    chain_id   BIGINT NOT NULL,
    token_id   BYTEA NOT NULL CHECK (octet_length(token_id) = 32),
    issued_tx  BYTEA NOT NULL CHECK (octet_length(issued_tx) = 32),
    position   BIGINT NOT NULL UNIQUE CHECK (position >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, token_id, issued_tx)
);
CREATE INDEX status_positions_by_position ON status_positions (chain_id, position);
