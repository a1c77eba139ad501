//! Sending one administrative transaction (revoke, renew, a governance call…) safely: simulate first so a
//! refusal comes back as the contract's decoded error before any gas is spent ([`prepare`]), take the nonce the
//! caller allocated (the store's allocator, shared with the issuance worker across processes; never a cache
//! that a failed send leaves stale), sign locally, broadcast the raw bytes ([`Prepared::broadcast`]), and poll
//! for the receipt with a deadline ([`wait_for_receipt`]) instead of trusting a watcher that can miss blocks.

use std::time::{Duration, Instant};

use alloy::eips::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::transports::{RpcError, TransportErrorKind};

use crate::chain::bindings::{AccessManager, CredentialRegistry, MembershipRegistry};

/// Why a transaction did not go through.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// The contract refused the call (decoded from its custom error when known).
    #[error("the contract refused: {0}")]
    Refused(String),
    /// The RPC failed.
    #[error("RPC error: {0}")]
    Rpc(String),
    /// Building or signing the envelope with the wallet failed (alloy's message); nothing was sent.
    #[error("signing failed: {0}")]
    Sign(String),
    /// The transaction was not mined in time; it may still be mined.
    #[error(
        "transaction {hash} was not mined within {secs} s; check it later (it may still be mined)"
    )]
    Timeout {
        /// Hash of the broadcast transaction, to look up later (it may still be mined).
        hash: B256,
        /// The receipt timeout that ran out, in whole seconds.
        secs: u64,
    },
    /// The transaction was mined but reverted.
    #[error("transaction {0} reverted on chain")]
    Reverted(B256),
}

/// Decodes a revert from any Laurel contract into a readable message, if the error carries revert data.
pub fn refusal(err: &RpcError<TransportErrorKind>) -> Option<String> {
    let payload = err.as_error_resp()?;
    if let Some(e) =
        payload.as_decoded_interface_error::<CredentialRegistry::CredentialRegistryErrors>()
    {
        return Some(super::revert::describe(&e));
    }
    if let Some(e) =
        payload.as_decoded_interface_error::<MembershipRegistry::MembershipRegistryErrors>()
    {
        return Some(format!("{e:?}"));
    }
    if let Some(e) = payload.as_decoded_interface_error::<AccessManager::AccessManagerErrors>() {
        return Some(describe_manager(&e));
    }
    let data = payload.as_revert_data();
    (data.is_some() || payload.message.contains("revert")).then(|| payload.message.to_string())
}

fn describe_manager(e: &AccessManager::AccessManagerErrors) -> String {
    use AccessManager::AccessManagerErrors as M;
    match e {
        M::AccessManagerUnauthorizedCall(x) => format!(
            "{} may not call {} on {}; grant it the role that function needs, or use an account that has it",
            x.caller, x.selector, x.target
        ),
        M::AccessManagerUnauthorizedAccount(x) => format!(
            "{} lacks role {} for this operation",
            x.msgsender, x.roleId
        ),
        M::AccessManagerNotScheduled(_) => {
            "the operation is not scheduled; run `laurel gov schedule` first".into()
        }
        M::AccessManagerNotReady(_) => {
            "the operation's delay has not passed yet; see `laurel gov pending`".into()
        }
        M::AccessManagerExpired(_) => {
            "the scheduled operation expired (more than a week after it became ready); schedule it again".into()
        }
        M::AccessManagerAlreadyScheduled(_) => "the operation is already scheduled".into(),
        M::AccessManagerUnauthorizedCancel(x) => format!(
            "{} may not cancel this operation (only its scheduler or a guardian)",
            x.msgsender
        ),
        other => format!("{other:?}"),
    }
}

/// The gas limit for an estimate: 20% + 10,000 headroom, but never more than a block holds (and never
/// below the estimate).
pub fn gas_limit(estimate: u64, block_gas_limit: u64) -> u64 {
    (estimate + estimate / 5 + 10_000)
        .min(block_gas_limit)
        .max(estimate)
}

/// A locally signed EIP-1559 transaction: its hash and its EIP-2718 bytes.
pub struct Signed {
    /// Hash of the signed transaction, known before it is broadcast.
    pub hash: B256,
    /// Encoded signed transaction, ready for `eth_sendRawTransaction`.
    pub raw: Vec<u8>,
}

/// Fields of a transaction to sign.
pub struct Unsigned {
    /// Sender (the wallet's default signer).
    pub from: Address,
    /// Contract the transaction calls (a registry or the AccessManager).
    pub to: Address,
    /// ABI-encoded call: the 4-byte selector, then the arguments.
    pub input: Bytes,
    /// Sender's nonce, from the store's allocator.
    pub nonce: u64,
    /// EIP-155 chain id signed into the transaction (replay protection).
    pub chain_id: u64,
    /// Gas limit: the estimate plus headroom, capped at the block's (see [`gas_limit`]).
    pub gas_limit: u64,
    /// Max fee per gas (wei).
    pub max_fee_per_gas: u128,
    /// Max priority fee per gas (wei).
    pub max_priority_fee_per_gas: u128,
}

/// Signs `tx` with `wallet`, without sending it.
pub async fn sign(wallet: &EthereumWallet, tx: Unsigned) -> Result<Signed, TxError> {
    let envelope = TransactionRequest::default()
        .with_from(tx.from)
        .with_to(tx.to)
        .with_input(tx.input)
        .with_nonce(tx.nonce)
        .with_chain_id(tx.chain_id)
        .with_gas_limit(tx.gas_limit)
        .with_max_fee_per_gas(tx.max_fee_per_gas)
        .with_max_priority_fee_per_gas(tx.max_priority_fee_per_gas)
        .build(wallet)
        .await
        .map_err(|e| TxError::Sign(e.to_string()))?;
    Ok(Signed {
        hash: *envelope.tx_hash(),
        raw: envelope.encoded_2718(),
    })
}

/// A call simulated and priced, waiting for its nonce (which the caller allocates: see the store's
/// `allocate_nonce`, the one allocator of every transaction the service sends).
pub struct Prepared {
    from: Address,
    to: Address,
    input: Bytes,
    chain_id: u64,
    /// The gas limit: the estimate plus headroom, capped at the block's.
    pub gas_limit: u64,
    /// The fees it will offer.
    pub fees: alloy::eips::eip1559::Eip1559Estimation,
    /// The node's pending transaction count of the sender (the least nonce that can be used).
    pub chain_next: u64,
}

fn rpc_error(e: RpcError<TransportErrorKind>) -> TxError {
    match refusal(&e) {
        Some(why) => TxError::Refused(why),
        None => TxError::Rpc(crate::config::redact_urls(&e.to_string())),
    }
}

/// Simulates `input` to `to` from `from` (a refusal comes back decoded, and nothing is allocated or
/// spent) and prices it.
pub async fn prepare(
    provider: &DynProvider,
    from: Address,
    to: Address,
    input: Bytes,
) -> Result<Prepared, TxError> {
    let call = TransactionRequest::default()
        .with_from(from)
        .with_to(to)
        .with_input(input.clone());
    let gas = provider.estimate_gas(call).await.map_err(rpc_error)?;
    let fees = provider.estimate_eip1559_fees().await.map_err(rpc_error)?;
    let chain_next = provider
        .get_transaction_count(from)
        .pending()
        .await
        .map_err(rpc_error)?;
    let chain_id = provider.get_chain_id().await.map_err(rpc_error)?;
    let block_gas = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .map_err(rpc_error)?
        .map_or(u64::MAX, |b| b.header.gas_limit);
    Ok(Prepared {
        from,
        to,
        input,
        chain_id,
        gas_limit: gas_limit(gas, block_gas),
        fees,
        chain_next,
    })
}

impl Prepared {
    /// Signs the call with `nonce`, without sending it.
    pub async fn sign(&self, wallet: &EthereumWallet, nonce: u64) -> Result<Signed, TxError> {
        sign(
            wallet,
            Unsigned {
                from: self.from,
                to: self.to,
                input: self.input.clone(),
                nonce,
                chain_id: self.chain_id,
                gas_limit: self.gas_limit,
                max_fee_per_gas: self.fees.max_fee_per_gas,
                max_priority_fee_per_gas: self.fees.max_priority_fee_per_gas,
            },
        )
        .await
    }

    /// Signs the call with `nonce` and broadcasts it; its hash. An error means the node did not take it.
    pub async fn broadcast(
        self,
        provider: &DynProvider,
        wallet: &EthereumWallet,
        nonce: u64,
    ) -> Result<B256, TxError> {
        let signed = self.sign(wallet, nonce).await?;
        // The returned watcher is not used: the receipt is polled (see [`wait_for_receipt`]).
        let _watcher = provider
            .send_raw_transaction(&signed.raw)
            .await
            .map_err(rpc_error)?;
        Ok(signed.hash)
    }
}

/// Polls for `hash`'s receipt for at most `timeout`; a reverted receipt is an error.
pub async fn wait_for_receipt(
    provider: &DynProvider,
    hash: B256,
    timeout: Duration,
) -> Result<TransactionReceipt, TxError> {
    let started = Instant::now();
    loop {
        if let Some(r) = provider
            .get_transaction_receipt(hash)
            .await
            .map_err(|e| TxError::Rpc(crate::config::redact_urls(&e.to_string())))?
        {
            if !r.status() {
                return Err(TxError::Reverted(hash));
            }
            return Ok(r);
        }
        if started.elapsed() > timeout {
            return Err(TxError::Timeout {
                hash,
                secs: timeout.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Encodes a call of any sol! function.
pub fn encode<C: alloy::sol_types::SolCall>(call: C) -> Bytes {
    call.abi_encode().into()
}
