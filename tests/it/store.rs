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
    assert_eq!(version, Some(1));
    let tables = store.tables().await?;
    for t in ["blocks", "cursors", "deployments", "events"] {
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
