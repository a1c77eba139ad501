//! An in-memory view of the mirror for the hot read path (`/v1/verify`): the cursor, the time of the block it
//! reflects and the set of defined types, refreshed at most every 200 ms; and each (holder, type) answer,
//! read in one statement with the block it reflects and kept only while the mirror still reflects that
//! block. An answer therefore never claims a block it does not reflect, and a request costs no database
//! round trip while the mirror is unchanged.

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
    /// The clock expiry is judged by: the later of its timestamp and the wall clock.
    pub time: u64,
    /// Why the mirror is stale, when it is.
    pub stale: Option<String>,
    /// Defined credential type ids.
    pub types: Arc<HashSet<u64>>,
}

/// A cached answer for (holder, type).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The mirror's credential row, if any.
    pub row: Option<crate::domain::CredentialRow>,
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
        self.snapshot_newer_than(store, chain_id, None).await
    }

    /// The snapshot, re-read when older than 200 ms or when it reflects `stale` (a block the mirror has
    /// moved past).
    async fn snapshot_newer_than(
        &self,
        store: &Store,
        chain_id: u64,
        stale: Option<Option<u64>>,
    ) -> Result<Snapshot, ApiError> {
        let usable =
            |at: &Instant, s: &Snapshot| at.elapsed() < FRESH_FOR && Some(s.block) != stale;
        if let Some((at, s)) = self.snapshot.read().expect("cache lock").as_ref() {
            if usable(at, s) {
                return Ok(s.clone());
            }
        }
        let _one = self.refresh.lock().await;
        if let Some((at, s)) = self.snapshot.read().expect("cache lock").as_ref() {
            if usable(at, s) {
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
            stale: reflects.stale_reason,
            types: Arc::new(types),
        };
        *self.snapshot.write().expect("cache lock") = Some((Instant::now(), s.clone()));
        Ok(s)
    }

    /// The answer for (holder, type) and the snapshot it is consistent with: cached for the snapshot's
    /// block, or read from the store together with the block it reflects. When the mirror moved past the
    /// snapshot in between, the snapshot is re-read, so the answer never claims a block it does not reflect.
    pub async fn answer(
        &self,
        store: &Store,
        chain_id: u64,
        snapshot: Snapshot,
        holder: Address,
        type_id: u64,
    ) -> Result<(Answer, Snapshot), ApiError> {
        if let Some((block, a)) = self
            .answers
            .lock()
            .expect("cache lock")
            .get(&(holder, type_id))
        {
            if *block == snapshot.block {
                return Ok((a.clone(), snapshot));
            }
        }
        let mut snapshot = snapshot;
        let mut tries = 0;
        let (row, block) = loop {
            tries += 1;
            let (row, block) = store
                .credential_as_of_cursor(chain_id, type_id, holder)
                .await?;
            if block == snapshot.block {
                break (row, block);
            }
            let stale = snapshot.block;
            snapshot = self
                .snapshot_newer_than(store, chain_id, Some(stale))
                .await?;
            if block == snapshot.block {
                break (row, block);
            }
            if tries == 5 {
                // The mirror keeps moving under us: label the answer with the block it was read at.
                snapshot.block = block;
                snapshot.is_final = false;
                break (row, block);
            }
            // The mirror moved again between the two reads: read the row once more.
        };
        let a = Answer { row };
        let mut answers = self.answers.lock().expect("cache lock");
        if answers.len() >= MAX_ANSWERS {
            answers.clear();
        }
        answers.insert((holder, type_id), (block, a.clone()));
        Ok((a, snapshot))
    }
}
