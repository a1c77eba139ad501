//! Single administrative transactions: revoke, suspend, reinstate, renew, recover, and membership grant,
//! renew and cancel. Each is simulated first (a refusal prints the contract's reason and spends nothing),
//! sent with a locally managed nonce, confirmed by polling its receipt, and written to the audit log.
//! Calls restricted by the AccessManager run directly when the signer may call them now, and are scheduled
//! when the signer's role carries an execution delay (then `laurel gov execute` finishes them).

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Result};

use crate::chain::bindings::{AccessManager, CredentialRegistry, MembershipRegistry};
use crate::chain::tx::{encode, send_call};
use crate::startup::App;

/// How long a command waits for its receipt.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// A signer bound to the app, for sending.
pub struct Sender<'a> {
    app: &'a App,
    wallet: EthereumWallet,
    from: Address,
}

/// What happened to a (possibly governed) call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Executed in this transaction and block.
    Executed {
        /// Transaction hash.
        tx: String,
        /// Block number.
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
    /// A sender signing with `signer`.
    pub fn new(app: &'a App, signer: PrivateKeySigner) -> Self {
        let from = signer.address();
        Self {
            app,
            wallet: EthereumWallet::from(signer),
            from,
        }
    }

    /// The signing address.
    pub fn address(&self) -> Address {
        self.from
    }

    /// Sends `input` to `to` directly.
    pub async fn send(&self, to: Address, input: Bytes) -> Result<Outcome> {
        let r = send_call(
            &self.app.provider,
            &self.wallet,
            self.from,
            to,
            input,
            RECEIPT_TIMEOUT,
        )
        .await?;
        Ok(Outcome::Executed {
            tx: format!("{:#x}", r.transaction_hash),
            block: r.block_number.unwrap_or_default(),
        })
    }

    /// Sends a call to a function the AccessManager restricts: directly when the signer may call it now,
    /// scheduled when its role has an execution delay, refused when it has no role for it.
    pub async fn governed(&self, target: Address, input: Bytes) -> Result<Outcome> {
        let manager = AccessManager::new(self.app.deployment.access_manager, &self.app.provider);
        let selector: [u8; 4] = input[..4].try_into()?;
        let can = manager
            .canCall(self.from, target, selector.into())
            .call()
            .await?;
        if can.immediate {
            return self.send(target, input).await;
        }
        if can.delay == 0 {
            bail!(
                "{} holds no role that may call 0x{} on {target}; see `laurel gov role list`",
                self.from,
                alloy::hex::encode(selector)
            );
        }
        let r = send_call(
            &self.app.provider,
            &self.wallet,
            self.from,
            self.app.deployment.access_manager,
            encode(AccessManager::scheduleCall {
                target,
                data: input.clone(),
                when: alloy::primitives::Uint::from(0u64),
            }),
            RECEIPT_TIMEOUT,
        )
        .await?;
        let id = manager
            .hashOperation(self.from, target, input)
            .call()
            .await?;
        let when = manager.getSchedule(id).call().await?;
        Ok(Outcome::Scheduled {
            tx: format!("{:#x}", r.transaction_hash),
            when: when.to::<u64>(),
        })
    }

    /// Records an admin action in the audit log.
    pub async fn audit(&self, action: &str, detail: serde_json::Value) -> Result<()> {
        self.app
            .store
            .audit(
                Some(self.app.chain_id()),
                &format!("{:#x}", self.from),
                action,
                &detail,
            )
            .await?;
        Ok(())
    }
}

/// The token id of `holder`'s credential (or membership) of `type_id`: `type_id << 160 | holder`.
pub fn token_id(type_id: u64, holder: Address) -> U256 {
    (U256::from(type_id) << 160) | U256::from_be_slice(holder.as_slice())
}

/// A credential status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialOp {
    /// Revoke (burn) with a reason code.
    Revoke(u8),
    /// Suspend with a reason code.
    Suspend(u8),
    /// Reinstate a suspended credential.
    Reinstate,
    /// Renew to a new expiry (unix seconds).
    Renew(u64),
}

/// Runs a credential status change on `holder`'s credential of `type_id`.
pub async fn credential_op(
    app: &App,
    signer: PrivateKeySigner,
    type_id: u64,
    holder: Address,
    op: CredentialOp,
) -> Result<Outcome> {
    let s = Sender::new(app, signer);
    let id = token_id(type_id, holder);
    let (name, input) = match op {
        CredentialOp::Revoke(reason) => (
            "revoke",
            encode(CredentialRegistry::revokeCall {
                tokenId: id,
                reason,
            }),
        ),
        CredentialOp::Suspend(reason) => (
            "suspend",
            encode(CredentialRegistry::suspendCall {
                tokenId: id,
                reason,
            }),
        ),
        CredentialOp::Reinstate => (
            "reinstate",
            encode(CredentialRegistry::reinstateCall { tokenId: id }),
        ),
        CredentialOp::Renew(until) => (
            "renew",
            encode(CredentialRegistry::renewCall {
                tokenId: id,
                newExpiresAt: until,
            }),
        ),
    };
    let out = s.send(app.deployment.credential_registry, input).await?;
    s.audit(
        name,
        serde_json::json!({"type": type_id, "holder": holder, "op": format!("{op:?}"), "outcome": out.to_string()}),
    )
    .await?;
    Ok(out)
}

/// Moves every credential of `from` to `to` (governed recovery).
pub async fn recover(
    app: &App,
    signer: PrivateKeySigner,
    from: Address,
    to: Address,
) -> Result<Outcome> {
    let s = Sender::new(app, signer);
    let out = s
        .governed(
            app.deployment.credential_registry,
            encode(CredentialRegistry::recoverCall { from, to }),
        )
        .await?;
    s.audit(
        "recover",
        serde_json::json!({"from": from, "to": to, "outcome": out.to_string()}),
    )
    .await?;
    Ok(out)
}

/// A membership change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipOp {
    /// Grant a membership of the tier.
    Grant,
    /// Renew by this many seconds.
    Renew(u64),
    /// Cancel.
    Cancel,
}

/// Runs a membership change for `holder` in `tier`.
pub async fn membership_op(
    app: &App,
    signer: PrivateKeySigner,
    tier: u64,
    holder: Address,
    op: MembershipOp,
) -> Result<Outcome> {
    let s = Sender::new(app, signer);
    let reg = MembershipRegistry::new(app.deployment.membership_registry, &app.provider);
    let input = match op {
        MembershipOp::Grant => encode(MembershipRegistry::grantCall {
            tierId: U256::from(tier),
            holder,
        }),
        MembershipOp::Renew(secs) => encode(MembershipRegistry::renewSubscriptionCall {
            tokenId: reg.tokenIdOf(holder, U256::from(tier)).call().await?,
            duration: secs,
        }),
        MembershipOp::Cancel => encode(MembershipRegistry::cancelSubscriptionCall {
            tokenId: reg.tokenIdOf(holder, U256::from(tier)).call().await?,
        }),
    };
    let out = s.send(app.deployment.membership_registry, input).await?;
    s.audit(
        "membership",
        serde_json::json!({"tier": tier, "holder": holder, "op": format!("{op:?}"), "outcome": out.to_string()}),
    )
    .await?;
    Ok(out)
}
