//! The one-transaction sender: a call is simulated first (a refusal carries the contract's reason and
//! spends nothing), sent with its nonce from the store's allocator (the one the issuance worker uses, so an
//! admin operation never takes an in-flight batch's nonce), confirmed by polling its receipt, and recorded
//! in the audit log. Calls the AccessManager restricts run directly when the signer may call them now and
//! are scheduled when its role carries an execution delay (`laurel gov execute` finishes them).

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes};
use alloy::signers::local::PrivateKeySigner;

use super::GovernanceError;
use crate::chain::bindings::AccessManager;
use crate::chain::tx::{encode, prepare, wait_for_receipt};
use crate::chain::Node;
use crate::store::Store;

/// How long a command waits for its receipt.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// A signer bound to a node and the audit log, for sending.
pub struct Sender<'a> {
    node: &'a Node,
    store: &'a Store,
    wallet: EthereumWallet,
    from: Address,
}
/// What happened to a (possibly governed) call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Executed in this transaction and block.
    Executed {
        /// Hash of the executing transaction, 0x-prefixed hex.
        tx: String,
        /// Block the receipt says it was mined in (0 when the receipt omits it).
        block: u64,
    },
    /// Scheduled through the AccessManager; executable from `when` (unix seconds).
    Scheduled {
        /// Transaction hash of the schedule call.
        tx: String,
        /// Unix time from which `laurel gov execute` can run it.
        when: u64,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Executed { tx, block } => write!(f, "done in transaction {tx} (block {block})"),
            Outcome::Scheduled { tx, when } => write!(
                f,
                "scheduled in transaction {tx}; it can be executed from unix time {when} with `laurel gov execute` (see `laurel gov pending`)"
            ),
        }
    }
}

impl<'a> Sender<'a> {
    /// A sender signing with `signer`, sending through `node` and auditing into `store`.
    pub fn new(node: &'a Node, store: &'a Store, signer: PrivateKeySigner) -> Self {
        let from = signer.address();
        Self {
            node,
            store,
            wallet: EthereumWallet::from(signer),
            from,
        }
    }

    /// The signing address.
    pub fn address(&self) -> Address {
        self.from
    }

    /// Simulates `input` to `to`, sends it under a nonce from the allocator and waits for its receipt.
    async fn send_call(
        &self,
        to: Address,
        input: Bytes,
    ) -> Result<alloy::rpc::types::TransactionReceipt, GovernanceError> {
        let provider = &self.node.provider;
        let p = prepare(provider, self.from, to, input).await?;
        let chain = self.node.chain_id();
        let nonce = self
            .store
            .allocate_nonce(chain, self.from, p.chain_next)
            .await?;
        let hash = match p.broadcast(provider, &self.wallet, nonce).await {
            Ok(h) => h,
            Err(e) => {
                // The node did not take it: the nonce goes back, unless another send took the next one;
                // then it is filled (a transfer of nothing to itself), so that later nonces are not stuck.
                if !self.store.release_nonce(chain, self.from, nonce).await? {
                    self.fill_nonce(nonce).await;
                }
                return Err(e.into());
            }
        };
        Ok(wait_for_receipt(provider, hash, RECEIPT_TIMEOUT).await?)
    }

    /// Uses `nonce` with a transfer of nothing to the sender itself (best effort, logged when it fails).
    async fn fill_nonce(&self, nonce: u64) {
        let provider = &self.node.provider;
        let filled = async {
            let p = prepare(provider, self.from, self.from, Bytes::new()).await?;
            p.broadcast(provider, &self.wallet, nonce).await
        };
        match filled.await {
            Ok(hash) => {
                tracing::warn!(nonce, tx = %hash, "filled an allocated nonce whose send failed")
            }
            Err(e) => {
                tracing::error!(nonce, error = %e, "nonce {nonce} is allocated but unused, and filling it failed: later transactions of this signer wait until it is used (the next admin operation retries)")
            }
        }
    }

    /// Sends `input` to `to` directly.
    pub async fn send(&self, to: Address, input: Bytes) -> Result<Outcome, GovernanceError> {
        let r = self.send_call(to, input).await?;
        Ok(Outcome::Executed {
            tx: format!("{:#x}", r.transaction_hash),
            block: r.block_number.unwrap_or_default(),
        })
    }

    /// Sends a call to a function the AccessManager restricts: directly when the signer may call it now,
    /// scheduled when its role has an execution delay, refused when it has no role for it.
    pub async fn governed(
        &self,
        target: Address,
        input: Bytes,
    ) -> Result<Outcome, GovernanceError> {
        let manager = AccessManager::new(self.node.deployment.access_manager, &self.node.provider);
        let selector: [u8; 4] = input
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .ok_or(GovernanceError::NoSelector)?;
        let can = manager
            .canCall(self.from, target, selector.into())
            .call()
            .await
            .map_err(super::rpc)?;
        if can.immediate {
            return self.send(target, input).await;
        }
        if can.delay == 0 {
            return Err(GovernanceError::NoRole {
                account: self.from,
                selector: alloy::hex::encode(selector),
                target,
            });
        }
        let r = self
            .send_call(
                self.node.deployment.access_manager,
                encode(AccessManager::scheduleCall {
                    target,
                    data: input.clone(),
                    when: alloy::primitives::Uint::from(0u64),
                }),
            )
            .await?;
        let id = manager
            .hashOperation(self.from, target, input)
            .call()
            .await
            .map_err(super::rpc)?;
        let when = manager.getSchedule(id).call().await.map_err(super::rpc)?;
        Ok(Outcome::Scheduled {
            tx: format!("{:#x}", r.transaction_hash),
            when: when.to::<u64>(),
        })
    }

    /// Sends a change by its route.
    pub async fn apply(&self, change: &super::Change) -> Result<Outcome, GovernanceError> {
        match change.route {
            super::Route::Governed => self.governed(change.target, change.input.clone()).await,
            super::Route::Direct => self.send(change.target, change.input.clone()).await,
        }
    }

    /// Records an admin action in the audit log.
    pub async fn audit(
        &self,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), GovernanceError> {
        self.store
            .audit(
                Some(self.node.chain_id()),
                &format!("{:#x}", self.from),
                action,
                &detail,
            )
            .await?;
        Ok(())
    }
}
