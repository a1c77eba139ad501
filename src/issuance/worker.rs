//! The batcher: claims queued requests (`FOR UPDATE SKIP LOCKED`), simulates the batch and isolates the
//! requests the chain would refuse, allocates the nonce from Postgres (its own nonce manager: alloy's cached
//! one never resyncs after a failed send), stores the signed transaction **before** broadcasting it, then
//! watches every open batch by polling receipts: fee-bumps a stuck transaction, re-broadcasts one a crash left
//! unsent, re-queues a batch whose nonce went elsewhere or whose transaction reverted.
//!
//! Requests become `confirmed` only when the indexer stores their events (see
//! `store::issuance::confirm_in_range`), so the chain, not the worker, has the last word.

use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::{Transaction as _, TxEnvelope};
use alloy::eips::{BlockNumberOrTag, Decodable2718};
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use tokio::sync::watch;

use crate::chain::bindings::CredentialRegistry::{issueBatchCall, issueCall};
use crate::chain::bindings::{GasPriceOracle, GAS_PRICE_ORACLE};
use crate::chain::revert::{classify, Revert};
use crate::chain::Node;
use crate::config::Settings;
use crate::domain::token::batch_entry;
use crate::store::issuance::{Mined, OpenBatch, Request, SignedTx};
use crate::store::{Store, StoreError};
use crate::telemetry::metrics::{self as m, REGISTRY};

/// Gas one credential of a batch needs, with calldata, rounded up (measured ≈ 27,100 + 1,024 calldata).
pub const GAS_PER_CREDENTIAL: u64 = 29_000;
/// Fixed gas of a batch transaction on top of its credentials.
pub const GAS_PER_BATCH: u64 = 80_000;
/// The registry's MAX_BATCH.
pub const MAX_BATCH: u64 = 1_000;

/// How the worker paces itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerConfig {
    /// Largest batch (capped by MAX_BATCH and by the block gas limit).
    pub max_batch: u64,
    /// Share of the block gas limit one batch may use.
    pub block_gas_share: f64,
    /// Batches sent but not yet mined, at most.
    pub max_in_flight: usize,
    /// A transaction unmined this long is replaced with higher fees.
    pub stuck_after: Duration,
    /// An unmined transaction is broadcast again this often.
    pub rebroadcast_after: Duration,
    /// Requests whose batch reverted this many times fail for good.
    pub max_attempts: i32,
    /// Whether to read the L1 data fee from the OP-stack GasPriceOracle.
    pub op_stack: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            max_batch: MAX_BATCH,
            block_gas_share: 0.97,
            max_in_flight: 4,
            stuck_after: Duration::from_secs(45),
            rebroadcast_after: Duration::from_secs(10),
            max_attempts: 3,
            op_stack: false,
        }
    }
}

/// Why a worker tick failed (the next tick retries).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The RPC failed.
    #[error("RPC error: {0}")]
    Rpc(String),
    /// The wallet could not sign the batch; the claim is dropped and its requests stay queued.
    #[error("signing the batch transaction failed: {0}")]
    Sign(String),
}

fn rpc<E: std::fmt::Display>(e: E) -> WorkerError {
    WorkerError::Rpc(crate::config::redact_urls(&e.to_string()))
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    /// Batches sent this tick.
    pub sent: Vec<i64>,
    /// Batches found mined.
    pub mined: u64,
    /// Transactions replaced with higher fees.
    pub bumped: u64,
    /// Requests failed by simulation.
    pub failed: u64,
    /// Why queued requests wait, if something blocks them.
    pub waiting: Option<String>,
    /// Batches still open after the tick.
    pub open: usize,
}

/// Sends batched issuance transactions for one signer.
pub struct Worker {
    provider: DynProvider,
    wallet: EthereumWallet,
    signer: Address,
    store: Store,
    chain_id: u64,
    registry: Address,
    config: WorkerConfig,
}

impl Worker {
    /// A worker issuing on `registry` with `wallet` (whose default signer is `signer`).
    pub fn new(
        provider: DynProvider,
        wallet: EthereumWallet,
        signer: Address,
        store: Store,
        chain_id: u64,
        registry: Address,
        config: WorkerConfig,
    ) -> Self {
        Self {
            provider,
            wallet,
            signer,
            store,
            chain_id,
            registry,
            config,
        }
    }

    /// The signer's address.
    pub fn signer(&self) -> Address {
        self.signer
    }

    /// Watches open batches, then sends new ones while fewer than `max_in_flight` are unmined.
    pub async fn tick(&self) -> Result<Tick, WorkerError> {
        let mut t = Tick::default();
        let open = self.store.open_batches(self.chain_id, self.signer).await?;
        let mut in_flight = 0;
        // The signer's mined nonce, read at most once per tick (only when a batch has no receipt).
        let mut chain_nonce = None;
        for b in &open {
            if self.track(b, &mut t, &mut chain_nonce).await? {
                in_flight += 1;
            }
        }
        let (max_batch, block_gas) = self.batch_limit().await?;
        while in_flight < self.config.max_in_flight {
            match self.send_next(max_batch, block_gas, &mut t).await? {
                Some(id) => {
                    t.sent.push(id);
                    in_flight += 1;
                }
                None => break,
            }
        }
        t.open = in_flight;
        REGISTRY.set(m::WORKER_IN_FLIGHT, &[], in_flight as f64);
        Ok(t)
    }

    /// Largest batch the block gas limit allows, and the block gas limit.
    async fn batch_limit(&self) -> Result<(u64, u64), WorkerError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(rpc)?
            .ok_or_else(|| WorkerError::Rpc("the node returned no latest block".into()))?;
        let budget = (block.header.gas_limit as f64 * self.config.block_gas_share) as u64;
        let by_gas = budget.saturating_sub(GAS_PER_BATCH) / GAS_PER_CREDENTIAL;
        Ok((
            by_gas.clamp(1, self.config.max_batch.min(MAX_BATCH)),
            block.header.gas_limit,
        ))
    }

    fn calldata(&self, type_id: u64, reqs: &[Request]) -> Bytes {
        if let [r] = reqs {
            return issueCall {
                typeId: U256::from(type_id),
                holder: r.holder,
                expiresAt: r.expires_at,
                evidenceHash: r.evidence_hash,
            }
            .abi_encode()
            .into();
        }
        issueBatchCall {
            typeId: U256::from(type_id),
            holdersAndExpiries: reqs
                .iter()
                .map(|r| batch_entry(r.holder, r.expires_at))
                .collect(),
            evidenceHashes: reqs.iter().map(|r| r.evidence_hash).collect(),
        }
        .abi_encode()
        .into()
    }

    async fn estimate(&self, type_id: u64, reqs: &[Request]) -> Result<u64, Revert> {
        let call = TransactionRequest::default()
            .with_from(self.signer)
            .with_to(self.registry)
            .with_input(self.calldata(type_id, reqs));
        self.provider
            .estimate_gas(call)
            .await
            .map_err(|e| classify(&e))
    }

    /// Claims, simulates, signs, records and broadcasts one batch. None when nothing is claimable (or the
    /// claimable requests are blocked).
    async fn send_next(
        &self,
        max_batch: u64,
        block_gas: u64,
        t: &mut Tick,
    ) -> Result<Option<i64>, WorkerError> {
        let Some(mut claim) = self.store.claim(self.chain_id, max_batch).await? else {
            return Ok(None);
        };
        let type_id = claim.type_id;
        // Simulate; while the chain would refuse, find the first request it refuses and fail it alone.
        let gas = loop {
            if claim.requests.is_empty() {
                claim.commit().await?;
                return Ok(None);
            }
            match self.estimate(type_id, &claim.requests).await {
                Ok(gas) => break gas,
                Err(Revert::Blocking(why)) => {
                    claim.commit().await?;
                    self.store
                        .note_waiting(self.chain_id, type_id, &format!("waiting: {why}"))
                        .await?;
                    t.waiting = Some(why);
                    return Ok(None);
                }
                Err(Revert::Transient(why)) => return Err(WorkerError::Rpc(why)),
                Err(Revert::Request(why)) => {
                    let (index, reason) = self.first_refused(type_id, &claim.requests, why).await?;
                    let id = claim.requests[index].id;
                    tracing::warn!(request = id, %reason, "request refused by simulation");
                    REGISTRY.add(m::WORKER_REQUESTS_REFUSED, &[], 1.0);
                    claim.fail(&[id], &reason).await?;
                    t.failed += 1;
                }
            }
        };
        let gas_limit = crate::chain::tx::gas_limit(gas, block_gas);
        let fees = self.provider.estimate_eip1559_fees().await.map_err(rpc)?;
        let chain_next = self
            .provider
            .get_transaction_count(self.signer)
            .pending()
            .await
            .map_err(rpc)?;
        let nonce = claim.allocate_nonce(self.signer, chain_next).await?;
        let input = self.calldata(type_id, &claim.requests);
        let signed = self
            .sign(
                nonce,
                gas_limit,
                input,
                fees.max_fee_per_gas,
                fees.max_priority_fee_per_gas,
            )
            .await?;
        let size = claim.requests.len();
        let batch = claim
            .commit_batch(self.signer, nonce, gas_limit, &signed)
            .await?;
        tracing::info!(batch, nonce, size, tx = %signed.hash, "batch recorded; broadcasting");
        REGISTRY.add(m::WORKER_BATCHES_SENT, &[], 1.0);
        crash_point("after-record");
        self.broadcast(&signed).await;
        Ok(Some(batch))
    }

    /// Index of the first request the chain refuses and the reason: the longest prefix that passes is found
    /// by bisection; the request after it is refused alone or only together with the prefix (a cap or quota).
    async fn first_refused(
        &self,
        type_id: u64,
        reqs: &[Request],
        whole: String,
    ) -> Result<(usize, String), WorkerError> {
        let (mut ok, mut bad, mut bad_why) = (0usize, reqs.len(), whole);
        while bad - ok > 1 {
            let mid = (ok + bad) / 2;
            match self.estimate(type_id, &reqs[..mid]).await {
                Ok(_) => ok = mid,
                Err(Revert::Transient(why)) => return Err(WorkerError::Rpc(why)),
                Err(Revert::Request(why)) | Err(Revert::Blocking(why)) => {
                    bad = mid;
                    bad_why = why;
                }
            }
        }
        let index = bad - 1;
        let alone = self.estimate(type_id, &reqs[index..=index]).await;
        let reason = match alone {
            Err(Revert::Request(why)) | Err(Revert::Blocking(why)) => why,
            _ => bad_why,
        };
        Ok((index, reason))
    }

    async fn sign(
        &self,
        nonce: u64,
        gas_limit: u64,
        input: Bytes,
        max_fee: u128,
        priority: u128,
    ) -> Result<SignedTx, WorkerError> {
        let signed = crate::chain::tx::sign(
            &self.wallet,
            crate::chain::tx::Unsigned {
                from: self.signer,
                to: self.registry,
                input,
                nonce,
                chain_id: self.chain_id,
                gas_limit,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: priority,
            },
        )
        .await
        .map_err(|e| WorkerError::Sign(e.to_string()))?;
        Ok(SignedTx {
            hash: signed.hash,
            raw: signed.raw,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: priority,
            sent_secs_ago: None,
            age_secs: 0.0,
        })
    }

    /// Broadcasts a stored transaction; a node that already has it (or already mined it) is fine, and any
    /// other failure is left for the next tick (the bytes are stored).
    async fn broadcast(&self, tx: &SignedTx) {
        match self.provider.send_raw_transaction(&tx.raw).await {
            Ok(_) => {}
            Err(e) => {
                let m = e.to_string().to_ascii_lowercase();
                if !(m.contains("already") || m.contains("known")) {
                    tracing::warn!(tx = %tx.hash, error = %e, "broadcast failed; will retry");
                    return;
                }
            }
        }
        if let Err(e) = self.store.mark_sent(tx.hash).await {
            tracing::warn!(tx = %tx.hash, error = %e, "could not record the broadcast");
        }
    }

    async fn receipt_of(&self, b: &OpenBatch) -> Result<Option<(B256, Mined, bool)>, WorkerError> {
        for tx in &b.txs {
            if let Some(r) = self
                .provider
                .get_transaction_receipt(tx.hash)
                .await
                .map_err(rpc)?
            {
                let l1_fee = if self.config.op_stack {
                    let oracle = GasPriceOracle::new(GAS_PRICE_ORACLE, &self.provider);
                    oracle
                        .getL1Fee(tx.raw.clone().into())
                        .call()
                        .await
                        .ok()
                        .map(|f| f.to::<u128>())
                } else {
                    None
                };
                let mined = Mined {
                    tx_hash: tx.hash,
                    block_number: r.block_number.unwrap_or_default(),
                    gas_used: r.gas_used,
                    effective_gas_price: r.effective_gas_price,
                    l1_fee,
                };
                return Ok(Some((tx.hash, mined, r.status())));
            }
        }
        Ok(None)
    }

    /// Follows one open batch; true while it is unmined (in flight).
    async fn track(
        &self,
        b: &OpenBatch,
        t: &mut Tick,
        chain_nonce: &mut Option<u64>,
    ) -> Result<bool, WorkerError> {
        if let Some((hash, mined, ok)) = self.receipt_of(b).await? {
            if ok {
                if !b.mined {
                    self.store.batch_mined(b.id, &mined).await?;
                    REGISTRY.add(m::WORKER_BATCHES_MINED, &[], 1.0);
                    t.mined += 1;
                }
                return Ok(false);
            }
            let why = format!(
                "batch transaction {hash} reverted on chain in block {}",
                mined.block_number
            );
            tracing::warn!(batch = b.id, %why, "batch reverted; its requests go back to the queue");
            REGISTRY.add(m::WORKER_BATCHES_ABANDONED, &[("reason", "reverted")], 1.0);
            self.store
                .batch_abandoned(b.id, true, &why, self.config.max_attempts)
                .await?;
            return Ok(false);
        }
        let Some(latest) = b.txs.last() else {
            return Ok(false);
        };
        if b.mined {
            tracing::warn!(
                batch = b.id,
                "the mined transaction left the chain (reorg); sending it again"
            );
            self.store.batch_unmined(b.id).await?;
            self.broadcast(latest).await;
            return Ok(true);
        }
        let chain_nonce = match *chain_nonce {
            Some(n) => n,
            None => {
                let n = self
                    .provider
                    .get_transaction_count(self.signer)
                    .latest()
                    .await
                    .map_err(rpc)?;
                *chain_nonce = Some(n);
                n
            }
        };
        if chain_nonce > b.nonce {
            // The nonce is used. By one of ours (mined between the two reads), or by someone else.
            if self.receipt_of(b).await?.is_some() {
                return Ok(true);
            }
            let why = format!(
                "nonce {} of {} was used by another transaction",
                b.nonce, self.signer
            );
            tracing::warn!(batch = b.id, %why, "batch dropped; its requests go back to the queue");
            REGISTRY.add(
                m::WORKER_BATCHES_ABANDONED,
                &[("reason", "nonce_taken")],
                1.0,
            );
            self.store
                .batch_abandoned(b.id, false, &why, self.config.max_attempts)
                .await?;
            return Ok(false);
        }
        if latest.age_secs >= self.config.stuck_after.as_secs_f64()
            && latest.sent_secs_ago.is_some()
        {
            let fees = self.provider.estimate_eip1559_fees().await.map_err(rpc)?;
            let bump = |old: u128, now: u128| (old + old / 4 + 1).max(now);
            let priority = bump(
                latest.max_priority_fee_per_gas,
                fees.max_priority_fee_per_gas,
            );
            let max_fee = bump(latest.max_fee_per_gas, fees.max_fee_per_gas).max(priority);
            let input = input_of(&latest.raw)?;
            let signed = self
                .sign(b.nonce, b.gas_limit, input, max_fee, priority)
                .await?;
            self.store.add_replacement(b.id, &signed).await?;
            tracing::info!(batch = b.id, old = %latest.hash, new = %signed.hash, max_fee, "replacing a stuck transaction");
            self.broadcast(&signed).await;
            REGISTRY.add(m::WORKER_FEE_BUMPS, &[], 1.0);
            t.bumped += 1;
        } else if latest
            .sent_secs_ago
            .is_none_or(|s| s >= self.config.rebroadcast_after.as_secs_f64())
        {
            self.broadcast(latest).await;
        }
        Ok(true)
    }
}

/// Crash-test hook: when `LAUREL_CRASH_AT` names this point, the process dies here, as a power cut would
/// (the integration tests use it to prove that a restart loses and doubles nothing).
fn crash_point(name: &str) {
    if std::env::var("LAUREL_CRASH_AT").is_ok_and(|v| v == name) {
        eprintln!("LAUREL_CRASH_AT={name}: aborting");
        std::process::abort();
    }
}

/// The calldata of a stored signed transaction (a replacement carries exactly the same requests).
fn input_of(raw: &[u8]) -> Result<Bytes, WorkerError> {
    let envelope = TxEnvelope::decode_2718(&mut &raw[..])
        .map_err(|e| WorkerError::Sign(format!("a stored transaction does not decode: {e}")))?;
    Ok(envelope.input().clone())
}

impl Worker {
    /// A worker for `node`'s CredentialRegistry signing with `signer`, paced by the settings.
    pub fn of(node: &Node, store: &Store, settings: &Settings, signer: PrivateKeySigner) -> Self {
        let address = signer.address();
        Worker::new(
            node.provider.clone(),
            EthereumWallet::from(signer),
            address,
            store.clone(),
            node.chain_id(),
            node.deployment.credential_registry,
            WorkerConfig {
                max_batch: settings.pacing.max_batch,
                max_in_flight: settings.pacing.max_in_flight as usize,
                stuck_after: Duration::from_secs(settings.pacing.stuck_after_secs),
                op_stack: settings.chain.op_stack,
                ..WorkerConfig::default()
            },
        )
    }
}

/// Runs the issuance worker until `shutdown` turns true.
pub async fn run(worker: Arc<Worker>, poll: Duration, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(signer = %worker.signer(), "issuance worker started");
    loop {
        let wait = match worker.tick().await {
            Ok(t) if !t.sent.is_empty() || t.mined > 0 => Duration::ZERO.max(poll / 4),
            Ok(_) => poll,
            Err(e) => {
                REGISTRY.add(m::WORKER_TICK_ERRORS, &[], 1.0);
                tracing::warn!(error = %e, "issuance worker tick failed; retrying");
                Duration::from_secs(2)
            }
        };
        let stop = tokio::select! {
            _ = tokio::time::sleep(wait) => *shutdown.borrow(),
            r = shutdown.changed() => r.is_err() || *shutdown.borrow(),
        };
        if stop || *shutdown.borrow() {
            break;
        }
    }
}
