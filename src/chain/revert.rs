//! Turning the CredentialRegistry's custom errors into messages an admin can act on, and sorting them into
//! errors of one request (fail it, keep the rest) and errors of the whole type (wait; retrying later helps).

use alloy::transports::{RpcError, TransportErrorKind};

use crate::chain::bindings::CredentialRegistry::CredentialRegistryErrors as E;
use crate::domain::token::{high_of, holder_of};

/// What a failed simulation or transaction means for the requests it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revert {
    /// Something about the type or the signer blocks every request of the type (paused, role missing):
    /// keep them queued and say why.
    Blocking(String),
    /// The chain refused one or more of the requests (already issued, prerequisite missing, …).
    Request(String),
    /// Not a contract revert (RPC down, out of funds, …): retry later.
    Transient(String),
}

/// A message for one decoded CredentialRegistry error.
pub fn describe(e: &E) -> String {
    match e {
        E::UnknownType(x) => format!("credential type {} does not exist", x.typeId),
        E::NotIssuer(x) => format!(
            "{} does not hold the issuer role of type {}; grant it with `laurel gov role grant`",
            x.account, x.typeId
        ),
        E::TypePaused(x) => format!("credential type {} is paused", x.typeId),
        E::RegistryPaused(_) => "the credential registry is paused".into(),
        E::MissingPrerequisite(x) => format!(
            "{} lacks a valid credential of prerequisite type {}",
            x.holder, x.prerequisiteTypeId
        ),
        E::AlreadyIssued(x) => format!(
            "{} already holds a live credential of type {}",
            holder_of(x.tokenId),
            high_of(x.tokenId)
        ),
        E::ReissueNotAllowed(x) => format!(
            "{} held a credential of type {} (status {}) and the type does not allow issuing it again",
            holder_of(x.tokenId),
            high_of(x.tokenId),
            x.status
        ),
        E::SupplyExhausted(x) => format!(
            "type {} reached its supply cap of {}",
            x.typeId, x.maxSupply
        ),
        E::QuotaExhausted(x) => format!(
            "issuer {} used its quota of {} credentials of type {} for this period",
            x.issuer, x.limit, x.typeId
        ),
        E::InvalidExpiry(x) => format!("expiry {} is in the past", x.expiresAt),
        E::ExpiryBeyondMax(x) => format!(
            "expiry {} is later than the type allows (latest {})",
            x.expiresAt, x.latestAllowed
        ),
        E::ZeroAddress(_) => "the holder is the zero address".into(),
        E::MalformedEntry(x) => format!("batch entry {} is malformed", x.index),
        E::TypeIdOutOfRange(x) => format!("type id {} is out of range", x.typeId),
        E::NotRevoker(x) => format!(
            "{} does not hold the revoker role of type {}; grant it with `laurel gov role grant`",
            x.account, x.typeId
        ),
        E::CredentialNotLive(x) => format!(
            "{} has no live credential of type {} (never issued, revoked, renounced or recovered)",
            holder_of(x.tokenId),
            high_of(x.tokenId)
        ),
        E::CredentialNotActive(x) => format!(
            "the credential of type {} held by {} is not active (suspended?)",
            high_of(x.tokenId),
            holder_of(x.tokenId)
        ),
        E::CredentialNotSuspended(x) => format!(
            "the credential of type {} held by {} is not suspended",
            high_of(x.tokenId),
            holder_of(x.tokenId)
        ),
        E::NotRevocable(x) => format!("credentials of type {} cannot be revoked (policy)", x.typeId),
        E::NotSuspendable(x) => format!("credentials of type {} cannot be suspended (policy)", x.typeId),
        E::NotRenewable(x) => format!("credentials of type {} cannot be renewed (policy)", x.typeId),
        E::RenewalTooEarly(x) => format!(
            "the renewal window of this credential opens at unix time {}",
            x.opensAt
        ),
        E::ExpiryNotExtended(x) => format!(
            "the new expiry {} is not later than the current one ({})",
            x.requested, x.current
        ),
        E::NothingToRecover(x) => format!("{} holds no credentials to recover", x.from),
        E::RecoveryConflict(x) => format!(
            "{} already holds a credential of type {}; recovery would merge two",
            x.to, x.typeId
        ),
        E::SameAddress(_) => "the old and new addresses are the same".into(),
        other => format!("the registry refused: {other:?}"),
    }
}

/// Classifies an RPC error from `eth_estimateGas` / `eth_call` / `eth_sendRawTransaction`.
pub fn classify(err: &RpcError<TransportErrorKind>) -> Revert {
    let Some(payload) = err.as_error_resp() else {
        return Revert::Transient(err.to_string());
    };
    match payload.as_decoded_interface_error::<E>() {
        Some(
            e @ (E::TypePaused(_) | E::RegistryPaused(_) | E::NotIssuer(_) | E::UnknownType(_)),
        ) => Revert::Blocking(describe(&e)),
        Some(e) => Revert::Request(describe(&e)),
        None if payload.as_revert_data().is_some() || payload.message.contains("revert") => {
            Revert::Request(format!("the registry refused: {}", payload.message))
        }
        None => Revert::Transient(payload.message.to_string()),
    }
}
