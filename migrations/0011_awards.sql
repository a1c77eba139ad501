-- Awards to learners who have no address yet: who (an email, and the program's learner id), what (type,
-- expiry, evidence), and the claim link. Only the SHA-256 of the link's code is kept. Once claimed, the
-- award names the address and the issuance request that mints to it (idempotency key award:<chain>:<id>).
CREATE TABLE awards (
    id               BIGSERIAL PRIMARY KEY,
    chain_id         BIGINT NOT NULL,
    type_id          BIGINT NOT NULL CHECK (type_id > 0),
    email            TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    learner_id       TEXT CHECK (length(learner_id) <= 200),
    idempotency_key  TEXT NOT NULL,
    expires_at       BIGINT NOT NULL DEFAULT 0,
    evidence_hash    BYTEA NOT NULL CHECK (octet_length(evidence_hash) = 32),
    code_hash        BYTEA NOT NULL UNIQUE CHECK (octet_length(code_hash) = 32),
    code_expires_at  BIGINT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'claimed', 'withdrawn')),
    holder           BYTEA CHECK (octet_length(holder) = 20),
    request_id       BIGINT,
    actor            TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_at       TIMESTAMPTZ,
    UNIQUE (chain_id, idempotency_key)
);
CREATE INDEX awards_by_email ON awards (chain_id, email);
