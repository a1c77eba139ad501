//! Committing one indexed range: the indexer drives the store's range transaction (reth's stage drives the
//! write): the cursor moves, the events and blocks are recorded, the events not stored before are folded
//! ([`Plan`]) over the rows they touch, and the fold's changes are written, all or nothing.

use super::project::{Plan, ProjectError};
use crate::store::mirror::{BlockRef, Cursor, NewEvent};
use crate::store::{Store, StoreError};

/// Why a range was not committed; nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The store failed, or the cursor moved under this writer ([`StoreError::CursorMoved`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The range's events could not be folded into the projections.
    #[error("projecting the range failed: {0}")]
    Fold(#[from] ProjectError),
}

/// Commits one indexed range in a single transaction: inserts `events` (skipping any already stored),
/// folds the newly inserted ones into the projections, records `blocks` in the window, drops window blocks
/// below `keep_from`, and moves the cursor from `expected` to `next`. Fails with
/// [`StoreError::CursorMoved`] (writing nothing) when the cursor is not at `expected`. Returns the number
/// of events newly inserted.
pub async fn commit_range(
    store: &Store,
    chain_id: u64,
    expected: &Cursor,
    next: &Cursor,
    events: &[NewEvent],
    blocks: &[BlockRef],
    keep_from: u64,
) -> Result<u64, CommitError> {
    let mut range = store.begin_range(chain_id, expected, next).await?;
    let fresh = range.record(events, blocks, keep_from).await?;
    let plan = Plan::new(fresh.events.iter().copied())?;
    if !plan.is_empty() {
        let current = range.load(&plan.keys).await?;
        let folded = plan.fold(current, fresh.undo_from)?;
        range.write(&folded).await?;
    }
    range.commit().await?;
    Ok(fresh.events.len() as u64)
}
