//! The credential documents Laurel issued (their claims, as hashed onto the chain).

use alloy::primitives::{Address, B256};

use super::{i, Store, StoreError};

/// The token a claim document is asked for: what its issuance request must have named and been
/// confirmed by.
#[derive(Debug, Clone, Copy)]
pub struct ClaimedToken {
    /// Chain of the token.
    pub chain_id: u64,
    /// The evidence hash the chain recorded at issuance (the claim's keccak-256).
    pub evidence_hash: B256,
    /// The token's credential type.
    pub type_id: u64,
    /// The token's holder.
    pub holder: Address,
    /// The transaction that issued the token.
    pub issued_tx: B256,
}

impl Store {
    /// The canonical claim text whose keccak-256 is the token's evidence hash — only when Laurel queued it
    /// for this very token (same chain, type and holder) and the indexer confirmed that request by the
    /// transaction that issued the token. A document saved for another type or holder, or for a request
    /// that failed or is still in flight, is not this token's claim.
    pub async fn confirmed_document(&self, t: &ClaimedToken) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT d.document FROM credential_documents d
             JOIN issuance_requests r ON r.chain_id = d.chain_id AND r.evidence_hash = d.document_hash
             WHERE d.chain_id = $1 AND d.document_hash = $2 AND r.type_id = $3 AND r.holder = $4
               AND r.state = 'confirmed' AND r.confirmed_tx = $5
             LIMIT 1",
            i(t.chain_id),
            t.evidence_hash.as_slice(),
            i(t.type_id),
            t.holder.as_slice(),
            t.issued_tx.as_slice()
        )
        .fetch_optional(self.pool())
        .await?)
    }
}
