-- Open Badges 3.0 credential documents. The evidence hash Laurel puts on chain for an issuance is the
-- keccak-256 of its credential document's claim (docs/credentials.md); the claim is kept here, as the
-- canonical JSON text that was hashed, so the served credential is exactly the one the chain commits to.
-- This is the service's own record, not part of the mirror: re-indexing never touches it.
CREATE TABLE credential_documents (
    chain_id      BIGINT NOT NULL,
    document_hash BYTEA NOT NULL CHECK (octet_length(document_hash) = 32),
    document      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, document_hash)
);

-- What the caller supplied as evidence (zero: none). The on-chain evidence_hash is now the hash of the
-- credential document, which names this evidence; a repeated request is compared on what was supplied.
ALTER TABLE issuance_requests ADD COLUMN supplied_evidence BYTEA
    CHECK (octet_length(supplied_evidence) = 32);
UPDATE issuance_requests SET supplied_evidence = evidence_hash;
ALTER TABLE issuance_requests ALTER COLUMN supplied_evidence SET NOT NULL;
