-- The two tables a backfill writes hundreds of rows per block into lose their per-row foreign-key check on
-- deployments: it cost about a quarter of each range's insert time. Integrity is kept by construction: they
-- are written only inside the range transaction that moves the chain's cursor, and the cursor row itself
-- references deployments.
ALTER TABLE events DROP CONSTRAINT events_chain_id_fkey;
ALTER TABLE credentials DROP CONSTRAINT credentials_chain_id_fkey;
