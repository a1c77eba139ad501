-- Admin actions are recorded before they are sent and completed after: who asked (an API key id, an
-- EIP-712 account, the CLI's signer), what, and — once known — how it ended. A record still `pending` after
-- a crash says an operation was asked for and may or may not have reached the chain.
ALTER TABLE audit_log ADD COLUMN status TEXT NOT NULL DEFAULT 'done'
    CHECK (status IN ('pending', 'done', 'scheduled', 'refused', 'failed', 'unknown'));
ALTER TABLE audit_log ADD COLUMN outcome TEXT;
ALTER TABLE audit_log ADD COLUMN completed_at TIMESTAMPTZ;
UPDATE audit_log SET completed_at = at;
