-- Admin API requests signed with EIP-712 that were accepted: a digest is accepted once per signer (replays
-- are refused, whatever the signature's encoding). Requests are good for five minutes, so rows older than
-- an hour are pruned as new ones arrive.
CREATE TABLE signed_requests (
    chain_id BIGINT NOT NULL,
    digest   BYTEA NOT NULL CHECK (octet_length(digest) = 32),
    signer   BYTEA NOT NULL CHECK (octet_length(signer) = 20),
    used_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, digest, signer)
);
CREATE INDEX signed_requests_used_at ON signed_requests (used_at);
