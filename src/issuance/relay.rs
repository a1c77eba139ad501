//! Relayed issuance: an account issues with its **own** on-chain authority. It signs the registry's EIP-712
//! `BatchIssuance` (one signature for the whole batch) and Laurel relays it with `issueBatchWithSig`: the
//! chain checks the signer's issuer role, charges its quota and records it as the issuer; the service's key
//! only pays the gas. Nothing is authorised from the mirror.
//!
//! Two steps, both deterministic from the same input: [`prepare`] turns the items (holders, expiries,
//! evidence), the issuer, a nonce and a deadline into the message to sign — its evidence hashes are the
//! hashes of the Open Badges claims Laurel will serve, keyed `relay:<issuer>:<nonce>:<index>` — and
//! [`relay`] rebuilds that message, checks the signature recovers the issuer, has the chain simulate the
//! call (a refusal costs nothing and writes nothing), queues the requests under those keys (the nonce,
//! spent on chain once, makes them unique; a repeat of the same signed batch answers the first) and sends
//! the transaction under a nonce of the service's allocator. The worker then tracks it like its own
//! batches, except that a relayed batch that fails is never re-sent under the service's authority: its
//! requests fail, and the issuer signs again.

use std::collections::BTreeMap;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Signature, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{eip712_domain, Eip712Domain, SolCall, SolStruct};
use serde_json::{json, Value};

use super::idempotency::Content;
use super::submit::{submit, Mode, Outcome, Submission, SubmitError, Submitted};
use crate::chain::bindings::CredentialRegistry::{issueBatchWithSigCall, BatchIssuance};
use crate::chain::tx::{prepare as simulate, TxError};
use crate::chain::Node;
use crate::credentials::ob3::{attach_claims, Program};
use crate::domain::{CredentialTypeRow, TypeId};
use crate::store::issuance::{NewRequest, Request, SignedTx};
use crate::store::{Store, StoreError};

/// What an issuer asks to be relayed: one type, its items, and the signature's nonce and deadline.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The signing account (the issuer the chain will check and record).
    pub issuer: Address,
    /// Credential type of every item.
    pub type_id: TypeId,
    /// Holder, expiry (0: the type's default) and supplied evidence of each credential.
    pub items: Vec<Content>,
    /// The signature's nonce (any unused one of the issuer's; the chain spends it).
    pub nonce: U256,
    /// Unix time after which the signature is refused.
    pub deadline: u64,
}

/// The message to sign and the requests it issues.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The registry's `BatchIssuance`, its evidence hashes being the claims' hashes.
    pub message: BatchIssuance,
    /// Its EIP-712 signing hash.
    pub digest: B256,
    /// The typed data for a wallet (`eth_signTypedData_v4`).
    pub typed_data: Value,
    /// The requests, with their claim documents, under their relay keys.
    pub requests: Vec<NewRequest>,
}

/// Why a relay did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The batch is empty, too large, or names an unknown type.
    #[error("{0}")]
    Invalid(String),
    /// The signature does not recover the issuer.
    #[error("the signature recovers {recovered}, not the issuer {issuer}: sign the typed data this endpoint returns without a signature")]
    WrongSigner {
        /// The account named as issuer.
        issuer: Address,
        /// The account the signature recovers.
        recovered: Address,
    },
    /// The chain refuses the call (its reason: a role, the quota, a used nonce, the deadline…).
    #[error("the chain refuses this relay: {0}")]
    Refused(String),
    /// The pre-check (or an earlier use of the keys) refuses some items; nothing was written.
    #[error("the batch was refused")]
    Items(Submitted),
    /// The service cannot send (no signing key, the node).
    #[error("{0}")]
    Unavailable(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The registry's EIP-712 domain on `chain_id`.
pub fn domain(chain_id: u64, registry: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Laurel CredentialRegistry",
        version: "1",
        chain_id: chain_id,
        verifying_contract: registry,
    }
}

/// The message `b` asks the issuer to sign, with the requests it issues (claims attached from `types`).
pub fn prepare(
    p: &Program,
    types: &BTreeMap<u64, CredentialTypeRow>,
    b: &Batch,
) -> Result<Prepared, RelayError> {
    if b.items.is_empty() || b.items.len() > 1_000 {
        return Err(RelayError::Invalid(format!(
            "a relayed batch holds 1 to 1,000 issuances (this one {})",
            b.items.len()
        )));
    }
    if !types.contains_key(&b.type_id.get()) {
        return Err(RelayError::Invalid(format!(
            "credential type {} does not exist",
            b.type_id
        )));
    }
    let source = format!("relay:{:#x}", b.issuer);
    let mut requests: Vec<NewRequest> = b
        .items
        .iter()
        .enumerate()
        .map(|(i, c)| NewRequest {
            idempotency_key: format!("{source}:{}:{i}", b.nonce),
            type_id: b.type_id,
            holder: c.holder,
            expires_at: c.expires_at,
            evidence: c.evidence,
            document: None,
            source: source.clone(),
            derived: false,
        })
        .collect();
    attach_claims(p, types, requests.iter_mut());
    let message = BatchIssuance {
        typeId: U256::from(b.type_id.get()),
        holdersAndExpiries: requests
            .iter()
            .map(|r| U256::from_be_slice(r.holder.as_slice()) | (U256::from(r.expires_at) << 160))
            .collect(),
        evidenceHashes: requests.iter().map(NewRequest::evidence_hash).collect(),
        issuer: b.issuer,
        nonce: b.nonce,
        deadline: U256::from(b.deadline),
    };
    let d = domain(p.chain_id, p.registry);
    let digest = message.eip712_signing_hash(&d);
    let typed_data = json!({
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "BatchIssuance": [
                {"name": "typeId", "type": "uint256"},
                {"name": "holdersAndExpiries", "type": "uint256[]"},
                {"name": "evidenceHashes", "type": "bytes32[]"},
                {"name": "issuer", "type": "address"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "BatchIssuance",
        "domain": {"name": "Laurel CredentialRegistry", "version": "1", "chainId": p.chain_id,
                   "verifyingContract": p.registry},
        "message": {
            "typeId": message.typeId.to_string(),
            "holdersAndExpiries": message.holdersAndExpiries.iter().map(U256::to_string).collect::<Vec<_>>(),
            "evidenceHashes": message.evidenceHashes,
            "issuer": message.issuer,
            "nonce": message.nonce.to_string(),
            "deadline": message.deadline.to_string(),
        },
    });
    Ok(Prepared {
        message,
        digest,
        typed_data,
        requests,
    })
}

/// What a relay did: the requests it queued (or, for a repeat of the same signed batch, the earlier
/// ones) and the transaction, when this call sent one.
#[derive(Debug, Clone)]
pub struct Relayed {
    /// The requests, in item order.
    pub requests: Vec<Request>,
    /// The relay transaction sent now (None: a repeat).
    pub tx: Option<B256>,
}

/// Relays `b`, signed with `signature`, sending with `relayer` (which pays the gas only).
pub async fn relay(
    node: &Node,
    store: &Store,
    program: &Program,
    relayer: &PrivateKeySigner,
    b: &Batch,
    signature: &Signature,
) -> Result<Relayed, RelayError> {
    let types = store
        .credential_types(node.chain_id())
        .await?
        .into_iter()
        .map(|t| (t.type_id, t))
        .collect();
    let p = prepare(program, &types, b)?;
    // Cheapest first: the signature is checked before anything is read from the chain or written.
    let recovered = signature
        .recover_address_from_prehash(&p.digest)
        .map_err(|_| RelayError::WrongSigner {
            issuer: b.issuer,
            recovered: Address::ZERO,
        })?;
    if recovered != b.issuer {
        return Err(RelayError::WrongSigner {
            issuer: b.issuer,
            recovered,
        });
    }
    let input = issueBatchWithSigCall {
        req: p.message.clone(),
        signature: signature.as_bytes().to_vec().into(),
    }
    .abi_encode();
    let submission = Submission {
        actor: format!("relay:{:#x}", b.issuer),
        requests: p.requests.clone(),
        mode: Mode::AllOrNothing,
        detail: json!({"relayed_for": b.issuer, "nonce": b.nonce.to_string()}),
    };
    // A repeat of a batch already relayed answers the first; its signature's nonce is spent on chain.
    let keys: Vec<&str> = p
        .requests
        .iter()
        .map(|r| r.idempotency_key.as_str())
        .collect();
    let earlier = store.used_keys(node.chain_id(), &keys).await?;
    if !earlier.is_empty() {
        let submitted = submit(node, store, program, b.issuer, submission.clone())
            .await
            .map_err(submit_error)?;
        let Some(requests) = requests_of(&submitted).filter(|_| submitted.queued() == 0) else {
            return Err(RelayError::Items(submitted));
        };
        // Queued by a call that stopped before sending (the nonce is then unspent): send it now.
        let unsent = requests.iter().all(|r| {
            r.batch_id.is_none() && r.state == crate::store::issuance::RequestState::Queued
        });
        if !unsent {
            return Ok(Relayed { requests, tx: None });
        }
        let call = simulate_relay(node, relayer, input).await?;
        let tx = send(node, store, relayer, b.type_id, &requests, call).await?;
        return Ok(Relayed {
            requests,
            tx: Some(tx),
        });
    }
    let call = simulate_relay(node, relayer, input).await?;
    let submitted = submit(node, store, program, b.issuer, submission)
        .await
        .map_err(submit_error)?;
    let requests = match requests_of(&submitted) {
        Some(r) if submitted.written => r,
        _ => return Err(RelayError::Items(submitted)),
    };
    let tx = send(node, store, relayer, b.type_id, &requests, call).await?;
    Ok(Relayed {
        requests,
        tx: Some(tx),
    })
}

/// The chain's simulation of the relay call `input` from `relayer`: the chain's refusal, or the call priced.
async fn simulate_relay(
    node: &Node,
    relayer: &PrivateKeySigner,
    input: Vec<u8>,
) -> Result<crate::chain::tx::Prepared, RelayError> {
    simulate(
        &node.provider,
        relayer.address(),
        node.deployment.credential_registry,
        input.into(),
    )
    .await
    .map_err(|e| match e {
        TxError::Refused(why) => RelayError::Refused(why),
        e => RelayError::Unavailable(format!("the node could not simulate the relay: {e}")),
    })
}

/// The stored request of every outcome, or None when one has none (refused, withheld).
fn requests_of(s: &Submitted) -> Option<Vec<Request>> {
    s.outcomes
        .iter()
        .map(|o| match o {
            Outcome::Queued(r) | Outcome::Repeat(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn submit_error(e: SubmitError) -> RelayError {
    match e {
        SubmitError::Clock(_) => RelayError::Unavailable(
            "the chain node does not answer, so nothing can be checked or relayed; try again shortly".into(),
        ),
        SubmitError::Store(e) => e.into(),
    }
}

/// Signs the simulated `call` under a nonce of the allocator, records it as the requests' batch, and
/// broadcasts it (a failed broadcast is retried by the worker, which tracks the recorded batch).
async fn send(
    node: &Node,
    store: &Store,
    relayer: &PrivateKeySigner,
    type_id: TypeId,
    requests: &[Request],
    call: crate::chain::tx::Prepared,
) -> Result<B256, RelayError> {
    use alloy::providers::Provider;
    let chain = node.chain_id();
    let nonce = store
        .allocate_nonce(chain, relayer.address(), call.chain_next)
        .await?;
    let wallet = EthereumWallet::from(relayer.clone());
    let signed = call
        .sign(&wallet, nonce)
        .await
        .map_err(|e| RelayError::Unavailable(e.to_string()))?;
    let record = SignedTx {
        hash: signed.hash,
        raw: signed.raw.clone(),
        max_fee_per_gas: call.fees.max_fee_per_gas,
        max_priority_fee_per_gas: call.fees.max_priority_fee_per_gas,
        sent_secs_ago: None,
        age_secs: 0.0,
    };
    let ids: Vec<i64> = requests.iter().map(|r| r.id).collect();
    let recorded = store
        .record_relay(
            chain,
            type_id.get(),
            &ids,
            relayer.address(),
            nonce,
            call.gas_limit,
            &record,
        )
        .await?;
    if recorded.is_none() {
        return Err(RelayError::Unavailable(
            "these requests were relayed by another process meanwhile".into(),
        ));
    }
    if let Err(e) = node.provider.send_raw_transaction(&signed.raw).await {
        tracing::warn!(tx = %signed.hash, error = %crate::config::redact_urls(&e.to_string()), "relay broadcast failed; the worker retries it");
    }
    Ok(signed.hash)
}
