//! The Postgres store against a real server: migrations and connection errors.

use anyhow::Result;
use laurel::store::{Store, StoreError};

use super::support::ScratchDb;

#[tokio::test]
async fn migrations_apply_to_a_fresh_database_and_rerunning_is_a_noop() -> Result<()> {
    let db = ScratchDb::new().await?;
    let store = Store::connect(&db.url).await?;
    assert_eq!(
        store.schema_version().await?,
        None,
        "a fresh database was never migrated"
    );

    store.migrate().await?;
    let version = store.schema_version().await?;
    assert_eq!(
        version,
        laurel::store::MIGRATOR.iter().map(|m| m.version).max()
    );
    let tables = store.tables().await?;
    for t in [
        "blocks",
        "cursors",
        "deployments",
        "events",
        "issuance_requests",
        "issuance_batches",
        "batch_transactions",
        "signer_nonces",
        "audit_log",
        "credential_types",
        "credentials",
        "tiers",
        "memberships",
        "roles",
        "governance_ops",
        "registry_state",
        "projection_undo",
    ] {
        assert!(
            tables.iter().any(|x| x == t),
            "table {t} exists: {tables:?}"
        );
    }

    store.migrate().await?;
    assert_eq!(
        store.schema_version().await?,
        version,
        "re-running migrations changes nothing"
    );
    assert_eq!(store.tables().await?, tables);

    store.pool().close().await;
    db.drop_now().await
}

#[tokio::test]
async fn an_unreachable_server_fails_with_a_message_that_names_it() {
    let err = Store::connect("postgres://postgres@127.0.0.1:1/laurel")
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("127.0.0.1:1/laurel") && msg.contains("scripts/pg"),
        "says where and what to do: {msg}"
    );
}

#[tokio::test]
async fn a_malformed_url_is_rejected_before_connecting() {
    let err = Store::connect("mysql://nope")
        .await
        .expect_err("not a postgres URL");
    assert!(matches!(err, StoreError::BadUrl(_)), "{err:?}");
}

mod mirror {
    use alloy::primitives::{Address, B256};
    use anyhow::Result;
    use laurel::chain::Deployment;
    use laurel::domain::Source;
    use laurel::indexer::commit::{commit_range, CommitError};
    use laurel::store::mirror::{BlockRef, Cursor, NewEvent};
    use laurel::store::{Store, StoreError};
    use serde_json::json;

    use super::ScratchDb;

    fn deployment(registry_byte: u8) -> Deployment {
        super::super::support::fake_deployment(5, registry_byte)
    }

    fn block(n: u64, fork: u8) -> BlockRef {
        BlockRef {
            number: n,
            hash: B256::repeat_byte(fork ^ n as u8),
            parent_hash: B256::repeat_byte(fork ^ (n as u8).wrapping_sub(1)),
            timestamp: 1_000 + n,
        }
    }

    /// A registry event that changes no projection (these tests are about the bookkeeping; the projections
    /// have their own in `projection.rs`).
    fn event(n: u64, log: u64, name: &str) -> NewEvent {
        NewEvent {
            tx_hash: B256::repeat_byte(n as u8 + 100),
            log_index: log,
            block_number: n,
            block_hash: block(n, 0).hash,
            tx_index: 0,
            contract: Address::repeat_byte(0x02),
            source: Source::CredentialRegistry,
            block_timestamp: 1_000 + n,
            name: name.into(),
            fields: json!({ "n": n, "log": log }),
        }
    }

    fn at(b: &BlockRef, final_block: u64) -> Cursor {
        Cursor {
            indexed_block: Some(b.number),
            indexed_hash: Some(b.hash),
            final_block,
        }
    }

    async fn migrated() -> Result<(ScratchDb, Store)> {
        let db = ScratchDb::new().await?;
        let store = Store::connect(&db.url).await?;
        store.migrate().await?;
        Ok((db, store))
    }

    #[tokio::test]
    async fn a_deployment_registers_once_and_starts_its_cursor_before_the_deploy_block(
    ) -> Result<()> {
        let (db, store) = migrated().await?;
        store.register_deployment(&deployment(0x02)).await?;
        store.register_deployment(&deployment(0x02)).await?;
        let err = store
            .register_deployment(&deployment(0x09))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::OtherDeployment { chain_id: 31337 }),
            "{err}"
        );
        let c = store.cursor(31337).await?.unwrap();
        assert_eq!(
            c.indexed_block,
            Some(4),
            "the first range starts at the deploy block"
        );
        assert_eq!(store.cursor(1).await?, None);
        store.pool().close().await;
        db.drop_now().await
    }

    #[tokio::test]
    async fn a_range_commits_whole_and_a_replay_or_a_stale_writer_changes_nothing() -> Result<()> {
        let (db, store) = migrated().await?;
        store.register_deployment(&deployment(0x02)).await?;
        let start = store.cursor(31337).await?.unwrap();
        let events = vec![
            event(5, 0, "MetadataUpdate"),
            event(6, 0, "Transfer"),
            event(6, 1, "Locked"),
        ];
        let blocks = vec![block(5, 0), block(6, 0)];
        let next = at(&blocks[1], 0);
        assert_eq!(
            commit_range(&store, 31337, &start, &next, &events, &blocks, 0).await?,
            3
        );
        assert_eq!(store.cursor(31337).await?.unwrap(), next);

        // The same range again from where the cursor now is: nothing is inserted twice.
        assert_eq!(
            commit_range(&store, 31337, &next, &next, &events, &blocks, 0).await?,
            0
        );
        assert_eq!(store.event_count(31337).await?, 3);

        // A writer that still believes the old cursor writes nothing.
        let later = vec![event(7, 0, "BatchMetadataUpdate")];
        let err = commit_range(
            &store,
            31337,
            &start,
            &at(&block(7, 0), 0),
            &later,
            &[block(7, 0)],
            0,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, CommitError::Store(StoreError::CursorMoved { .. })),
            "{err}"
        );
        assert_eq!(store.event_count(31337).await?, 3);
        assert_eq!(store.cursor(31337).await?.unwrap(), next);

        // A range that fails part-way (two rows for one block) leaves no trace: not its events, not the cursor.
        let bad_blocks = vec![block(7, 0), block(7, 1)];
        assert!(commit_range(
            &store,
            31337,
            &next,
            &at(&block(7, 0), 0),
            &later,
            &bad_blocks,
            0
        )
        .await
        .is_err());
        assert_eq!(store.event_count(31337).await?, 3);
        assert_eq!(store.cursor(31337).await?.unwrap(), next);

        let stored = store.events_between(31337, 0, 100).await?;
        let names: Vec<_> = stored.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["MetadataUpdate", "Transfer", "Locked"],
            "chain order"
        );
        assert_eq!(stored[2].fields, json!({ "n": 6, "log": 1 }));
        store.pool().close().await;
        db.drop_now().await
    }

    #[tokio::test]
    async fn unwinding_to_a_fork_point_removes_everything_above_it_at_once() -> Result<()> {
        let (db, store) = migrated().await?;
        store.register_deployment(&deployment(0x02)).await?;
        let start = store.cursor(31337).await?.unwrap();
        let blocks: Vec<_> = (5..=9).map(|n| block(n, 0)).collect();
        let events: Vec<_> = (5..=9).map(|n| event(n, 0, "Transfer")).collect();
        let tip = at(&blocks[4], 6);
        commit_range(&store, 31337, &start, &tip, &events, &blocks, 5).await?;

        let removed = store.unwind_to(31337, &blocks[2]).await?;
        assert_eq!(removed, 2, "blocks 8 and 9");
        let c = store.cursor(31337).await?.unwrap();
        assert_eq!(
            c,
            Cursor {
                indexed_block: Some(7),
                indexed_hash: Some(blocks[2].hash),
                final_block: 6
            }
        );
        let window: Vec<u64> = store
            .recent_blocks(31337, 10)
            .await?
            .iter()
            .map(|b| b.number)
            .collect();
        assert_eq!(window, [7, 6, 5]);
        assert_eq!(store.event_count(31337).await?, 3);

        // The replacement chain is then indexed on top of the fork point.
        let fork: Vec<_> = (8..=9).map(|n| block(n, 0x55)).collect();
        commit_range(
            &store,
            31337,
            &c,
            &at(&fork[1], 6),
            &[event(8, 3, "BatchMetadataUpdate")],
            &fork,
            5,
        )
        .await?;
        assert_eq!(store.recent_blocks(31337, 1).await?[0].hash, fork[1].hash);
        store.pool().close().await;
        db.drop_now().await
    }

    #[tokio::test]
    async fn only_one_writer_holds_a_chain_at_a_time() -> Result<()> {
        let (db, store) = migrated().await?;
        let other = Store::connect(&db.url).await?;
        let lock = store
            .try_writer_lock(31337)
            .await?
            .expect("first writer gets the lock");
        assert!(
            other.try_writer_lock(31337).await?.is_none(),
            "a second writer is refused"
        );
        assert!(
            other.try_writer_lock(10).await?.is_some(),
            "another chain is independent"
        );
        lock.release().await?;
        assert!(
            other.try_writer_lock(31337).await?.is_some(),
            "free again once released"
        );
        store.pool().close().await;
        other.pool().close().await;
        db.drop_now().await
    }
}
