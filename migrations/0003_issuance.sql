-- The issuance queue: requests (each under an idempotency key), the batched transactions that carry them,
-- every signed transaction (stored before it is sent, so a crash never loses track of one), the nonce each
-- signer uses next, and an audit log of what admins asked for.

-- A batch: one transaction's worth of requests of one credential type, sent with one nonce. Fee bumps
-- re-sign the same nonce, so a batch may own several transactions; at most one of them is ever mined.
CREATE TABLE issuance_batches (
    id                  BIGSERIAL PRIMARY KEY,
    chain_id            BIGINT NOT NULL REFERENCES deployments (chain_id),
    type_id             BIGINT NOT NULL CHECK (type_id > 0),
    signer              BYTEA NOT NULL CHECK (octet_length(signer) = 20),
    nonce               BIGINT NOT NULL CHECK (nonce >= 0),
    size                INTEGER NOT NULL CHECK (size > 0),
    -- pending: sent or about to be; mined: a transaction succeeded; reverted: it failed on chain;
    -- dropped: the nonce was used by another transaction, the requests went back to the queue.
    state               TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'mined', 'reverted', 'dropped')),
    gas_limit           BIGINT NOT NULL,
    tx_hash             BYTEA CHECK (octet_length(tx_hash) = 32), -- the transaction that was mined
    block_number        BIGINT,
    gas_used            BIGINT,
    effective_gas_price BIGINT,
    l1_fee              BIGINT, -- OP-stack L1 data fee in wei; NULL elsewhere
    error               TEXT,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Two live batches never share a signer's nonce.
CREATE UNIQUE INDEX issuance_batches_live_nonce ON issuance_batches (chain_id, signer, nonce)
    WHERE state IN ('pending', 'mined');
CREATE INDEX issuance_batches_pending ON issuance_batches (chain_id, signer) WHERE state = 'pending';

-- Every signed transaction of a batch, written before it is broadcast (sent_at stays NULL until the node
-- accepted it, so a restart re-broadcasts the same bytes and the same hash).
CREATE TABLE batch_transactions (
    tx_hash                  BYTEA PRIMARY KEY CHECK (octet_length(tx_hash) = 32),
    batch_id                 BIGINT NOT NULL REFERENCES issuance_batches (id),
    max_fee_per_gas          BIGINT NOT NULL,
    max_priority_fee_per_gas BIGINT NOT NULL,
    raw                      BYTEA NOT NULL,
    created_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at                  TIMESTAMPTZ
);
CREATE INDEX batch_transactions_by_batch ON batch_transactions (batch_id);

-- One credential to issue. The idempotency key makes a repeated request (a re-run CSV, a retried API call)
-- return the first one instead of queueing a second.
CREATE TABLE issuance_requests (
    id              BIGSERIAL PRIMARY KEY,
    chain_id        BIGINT NOT NULL REFERENCES deployments (chain_id),
    idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    type_id         BIGINT NOT NULL CHECK (type_id > 0),
    holder          BYTEA NOT NULL CHECK (octet_length(holder) = 20),
    expires_at      BIGINT NOT NULL CHECK (expires_at >= 0), -- 0: the type's default validity
    evidence_hash   BYTEA NOT NULL CHECK (octet_length(evidence_hash) = 32),
    source          TEXT NOT NULL, -- who asked: "cli", "csv:<file>:<line>", "api:<key id>"
    -- queued: waiting for a batch; submitted: in a pending or mined batch; confirmed: the indexer stored
    -- its event; failed: refused by the chain for a reason retrying cannot fix (see error).
    state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'submitted', 'confirmed', 'failed')),
    batch_id        BIGINT REFERENCES issuance_batches (id),
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    confirmed_tx    BYTEA CHECK (octet_length(confirmed_tx) = 32),
    confirmed_block BIGINT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (chain_id, idempotency_key)
);
CREATE INDEX issuance_requests_queued ON issuance_requests (chain_id, id) WHERE state = 'queued';
CREATE INDEX issuance_requests_by_batch ON issuance_requests (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX issuance_requests_by_holder ON issuance_requests (chain_id, holder);

-- The next nonce each signer will use, advanced in the same transaction that records a batch, so several
-- workers sharing a key never pick the same nonce.
CREATE TABLE signer_nonces (
    chain_id   BIGINT NOT NULL REFERENCES deployments (chain_id),
    signer     BYTEA NOT NULL CHECK (octet_length(signer) = 20),
    next_nonce BIGINT NOT NULL CHECK (next_nonce >= 0),
    PRIMARY KEY (chain_id, signer)
);

-- What admins asked Laurel to do, and what came of it.
CREATE TABLE audit_log (
    id       BIGSERIAL PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    chain_id BIGINT,
    actor    TEXT NOT NULL,  -- signer address, API key id, or "cli"
    action   TEXT NOT NULL,  -- e.g. "issue.enqueue", "revoke", "gov.schedule"
    detail   JSONB NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at);
