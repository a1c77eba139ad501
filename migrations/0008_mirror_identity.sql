-- The chain a mirror holds, beyond its id and addresses: the genesis block's hash and the deploy block's
-- hash, recorded when the indexer first checks them (NULL until then). A node that answers with other
-- hashes serves another chain (a dev chain restarted, a fork): the derived mirror is rebuilt.
ALTER TABLE deployments ADD COLUMN genesis_hash BYTEA CHECK (octet_length(genesis_hash) = 32);
ALTER TABLE deployments ADD COLUMN deploy_block_hash BYTEA CHECK (octet_length(deploy_block_hash) = 32);

-- What the indexer last saw of the chain (its head, and when), so any process can tell how far behind the
-- mirror is without asking the node; and why the mirror is being rebuilt, until it has caught up.
ALTER TABLE cursors ADD COLUMN head_block BIGINT CHECK (head_block >= 0);
ALTER TABLE cursors ADD COLUMN head_seen_at TIMESTAMPTZ;
ALTER TABLE cursors ADD COLUMN rebuild_reason TEXT;
ALTER TABLE cursors ADD COLUMN rebuild_started_at TIMESTAMPTZ;
