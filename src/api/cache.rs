//! An in-memory view of the mirror for the hot read path (`/v1/verify`): the cursor, the time of the block it
//! reflects and the set of defined types, refreshed at most every 200 ms; and each (holder, type) answer,
//! kept only while the mirror still reflects the block it was computed at. An answer therefore never
//! claims a block it does not reflect, and a request costs no database round trip while the mirror is
//! unchanged.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use alloy::primitives::Address;

use super::error::ApiError;
use crate::store::Store;

/// How long a snapshot of the cursor is trusted before it is read again.
const FRESH_FOR: Duration = Duration::from_millis(200);
/// Answers kept at most (the map is cleared when it grows past this).
const MAX_ANSWERS: usize = 100_000;

/// What the mirror reflects right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Last indexed block (None: nothing indexed).
    pub block: Option<u64>,
    /// Whether that block is final.
    pub is_final: bool,
    /// Its timestamp (the clock expiry is judged by).
    pub time: u64,
    /// Defined credential type ids.
    pub types: Arc<HashSet<u64>>,
}

/// A cached answer for (holder, type).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The mirror's credential row, if any.
    pub row: Option<crate::indexer::project::CredentialRow>,
}

/// Cached answers by (holder, type), with the block each was computed at.
type Answers = HashMap<(Address, u64), (Option<u64>, Answer)>;

/// The cache shared by the handlers.
#[derive(Default)]
pub struct MirrorCache {
    snapshot: RwLock<Option<(Instant, Snapshot)>>,
    refresh: tokio::sync::Mutex<()>,
    answers: Mutex<Answers>,
}

impl MirrorCache {
    /// The current snapshot, re-read from the store when older than 200 ms (one refresher at a time).
    pub async fn snapshot(&self, store: &Store, chain_id: u64) -> Result<Snapshot, ApiError> {
        if let Some((at, s)) = self.snapshot.read().expect("cache lock").as_ref() {
            if at.elapsed() < FRESH_FOR {
                return Ok(s.clone());
            }
        }
        let _one = self.refresh.lock().await;
        if let Some((at, s)) = self.snapshot.read().expect("cache lock").as_ref() {
            if at.elapsed() < FRESH_FOR {
                return Ok(s.clone());
            }
        }
        let (reflects, time) = super::public::mirror_view(store, chain_id).await?;
        let types: HashSet<u64> = store
            .credential_types(chain_id)
            .await?
            .into_iter()
            .map(|t| t.type_id)
            .collect();
        let s = Snapshot {
            block: reflects.block,
            is_final: reflects.is_final,
            time,
            types: Arc::new(types),
        };
        *self.snapshot.write().expect("cache lock") = Some((Instant::now(), s.clone()));
        Ok(s)
    }

    /// The answer for (holder, type) at the snapshot's block: cached, or read once from the store.
    pub async fn answer(
        &self,
        store: &Store,
        chain_id: u64,
        snapshot: &Snapshot,
        holder: Address,
        type_id: u64,
    ) -> Result<Answer, ApiError> {
        if let Some((block, a)) = self
            .answers
            .lock()
            .expect("cache lock")
            .get(&(holder, type_id))
        {
            if *block == snapshot.block {
                return Ok(a.clone());
            }
        }
        let row = store.credential(chain_id, type_id, holder).await?;
        let a = Answer { row };
        let mut answers = self.answers.lock().expect("cache lock");
        if answers.len() >= MAX_ANSWERS {
            answers.clear();
        }
        answers.insert((holder, type_id), (snapshot.block, a.clone()));
        Ok(a)
    }
}
