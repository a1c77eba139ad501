//! The credential documents Laurel issued (their claims, as hashed onto the chain).

use alloy::primitives::B256;

use super::{i, Store, StoreError};

impl Store {
    /// The canonical claim text whose keccak-256 is `hash`, if Laurel issued it on `chain_id`.
    pub async fn credential_document(
        &self,
        chain_id: u64,
        hash: B256,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT document FROM credential_documents WHERE chain_id = $1 AND document_hash = $2",
            i(chain_id),
            hash.as_slice()
        )
        .fetch_optional(self.pool())
        .await?)
    }
}
