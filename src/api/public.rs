//! Public, unauthenticated reads: credential types and tiers, a holder's credentials and memberships, and
//! the verify endpoint (from the mirror, or `source=chain` from a live `eth_call`). Every answer says which
//! block it reflects and whether that block is final.

use std::collections::HashMap;

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::AppState;
use crate::chain::bindings::CredentialRegistry;
use crate::domain::{
    credential_status, membership_status, CredentialRow, CredentialTypeRow, MembershipRow, TierRow,
    TypeId,
};
use crate::store::Store;

/// A credential type and its policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct TypeDto {
    /// Type id (from 1), as in `/v1/types/{id}` and the high bits of its token ids.
    pub id: u64,
    /// Human name from the type's policy (`TypeDefined`/`TypeUpdated`), e.g. "Rust Fundamentals".
    pub name: String,
    /// Metadata URI of its tokens (empty: the registry's base URI + token id).
    pub uri: String,
    /// Default validity in seconds (0 = never expires).
    pub default_validity: u64,
    /// Latest expiry an issuer may set, seconds from issue (0 = unbounded).
    pub max_validity: u64,
    /// Renewal only this many seconds before expiry (0 = any time).
    pub renewal_window: u64,
    /// Cap on live credentials (0 = none).
    pub max_supply: u32,
    /// Live credentials (active or suspended) of the type; counted against `max_supply`.
    pub supply: u64,
    /// Policy flags by name.
    pub flags: Vec<&'static str>,
    /// Prerequisite type ids (the pathway graph's incoming edges).
    pub prerequisites: Vec<u64>,
    /// Whether issuance of the type is paused.
    pub paused: bool,
}

impl From<CredentialTypeRow> for TypeDto {
    fn from(t: CredentialTypeRow) -> Self {
        let names = [
            "renewable",
            "revocable",
            "suspendable",
            "renounceable",
            "reissue_after_expiry",
            "reissue_after_revocation",
        ];
        Self {
            id: t.type_id,
            name: t.name,
            uri: t.uri,
            default_validity: t.default_validity,
            max_validity: t.max_validity,
            renewal_window: t.renewal_window,
            max_supply: t.max_supply,
            supply: t.supply,
            flags: names
                .iter()
                .enumerate()
                .filter(|(i, _)| t.flags & (1 << i) != 0)
                .map(|(_, n)| *n)
                .collect(),
            prerequisites: t.prerequisites,
            paused: t.paused,
        }
    }
}

/// A membership tier.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierDto {
    /// Tier id (from 1); the high bits of its memberships' token ids.
    pub id: u64,
    /// Human name from the tier's policy (`TierDefined`/`TierUpdated`).
    pub name: String,
    /// Seconds a grant lasts.
    pub duration: u64,
    /// Holders may renew their own membership.
    pub holder_renewable: bool,
    /// Memberships may be transferred.
    pub transferable: bool,
    /// Cap on members (0 = none).
    pub max_members: u64,
    /// Memberships neither cancelled nor burned (the contract's `memberCount`); counts against `max_members`.
    pub members: u64,
    /// Credential types a member must hold valid.
    pub eligibility: Vec<u64>,
    /// Whether grants are paused.
    pub paused: bool,
}

impl From<TierRow> for TierDto {
    fn from(t: TierRow) -> Self {
        Self {
            id: t.tier_id,
            name: t.name,
            duration: t.duration,
            holder_renewable: t.holder_renewable,
            transferable: t.transferable,
            max_members: t.max_members,
            members: t.members,
            eligibility: t.eligibility,
            paused: t.paused,
        }
    }
}

/// One credential as the mirror holds it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialDto {
    /// Token id (decimal).
    pub token_id: String,
    /// Credential type id.
    pub type_id: u64,
    /// Name of the credential type (empty when the mirror has no such type).
    pub type_name: String,
    /// Holder (EIP-55).
    pub holder: String,
    /// Issuer (EIP-55).
    pub issuer: String,
    /// Status: active, suspended, revoked, renounced, recovered, expired.
    pub status: String,
    /// Whether `isValid` is true now.
    pub valid: bool,
    /// Issue time, unix seconds.
    pub issued_at: u64,
    /// Expiry, unix seconds (0 = never).
    pub expires_at: u64,
    /// Revocation or suspension reason code (0 = none).
    pub reason: u8,
    /// keccak-256 of the evidence document.
    pub evidence_hash: String,
    /// Block of the issuance.
    pub issued_block: u64,
}

fn credential_status_name(c: &CredentialRow, now: u64) -> String {
    credential_status::name(c.status, c.expires_at, now).into()
}

fn credential_dto(c: CredentialRow, names: &HashMap<u64, String>, now: u64) -> CredentialDto {
    CredentialDto {
        token_id: c.token_id.to_string(),
        type_id: c.type_id,
        type_name: names.get(&c.type_id).cloned().unwrap_or_default(),
        holder: c.holder.to_string(),
        issuer: c.issuer.to_string(),
        status: credential_status_name(&c, now),
        valid: c.is_valid_at(now),
        issued_at: c.issued_at,
        expires_at: c.expires_at,
        reason: c.reason,
        evidence_hash: format!("{:#x}", c.evidence_hash),
        issued_block: c.issued_block,
    }
}

/// One membership as the mirror holds it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipDto {
    /// Token id (decimal).
    pub token_id: String,
    /// Tier id of the membership (its token id is tier id << 160 | original holder).
    pub tier_id: u64,
    /// Current holder (EIP-55).
    pub holder: String,
    /// Status: active, expired, cancelled, revoked, moved.
    pub status: String,
    /// Whether `isActive` is true now.
    pub active: bool,
    /// Expiry, unix seconds.
    pub expires_at: u64,
    /// Grant time, unix seconds.
    pub granted_at: u64,
}

fn membership_dto(m: MembershipRow, now: u64) -> MembershipDto {
    let status = match m.status {
        membership_status::ACTIVE if m.expires_at <= now => "expired",
        membership_status::ACTIVE => "active",
        membership_status::CANCELLED => "cancelled",
        membership_status::REVOKED => "revoked",
        membership_status::MOVED => "moved",
        _ => "unknown",
    };
    MembershipDto {
        token_id: m.token_id.to_string(),
        tier_id: m.tier_id,
        holder: m.holder.to_string(),
        status: status.into(),
        active: m.is_active_at(now),
        expires_at: m.expires_at,
        granted_at: m.granted_at,
    }
}

/// Which block an answer reflects.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reflects {
    /// Block number (None: the mirror has indexed nothing yet).
    pub block: Option<u64>,
    /// Whether that block is final.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Whether the mirror is behind the chain (more than 20 blocks, rebuilding, or no indexer reporting):
    /// the answer may be out of date; `source=chain` asks the chain itself.
    pub stale: bool,
    /// Why it is stale, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_reason: Option<String>,
}

/// A holder's credentials.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderCredentials {
    /// Holder (EIP-55).
    pub holder: String,
    /// The block the answer reflects.
    pub reflects: Reflects,
    /// Every credential the holder was ever issued.
    pub credentials: Vec<CredentialDto>,
}

/// A holder's memberships.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderMemberships {
    /// Holder (EIP-55).
    pub holder: String,
    /// The block the answer reflects.
    pub reflects: Reflects,
    /// Every membership the holder holds or held.
    pub memberships: Vec<MembershipDto>,
}

/// The answer of `/v1/verify`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// Holder (EIP-55).
    pub holder: String,
    /// Credential type id.
    pub type_id: u64,
    /// What `isValid(holder, type)` answers.
    pub valid: bool,
    /// Status: none, active, suspended, revoked, renounced, recovered, expired.
    pub status: String,
    /// Issue time, unix seconds (0 when none).
    pub issued_at: u64,
    /// Expiry, unix seconds (0 = never).
    pub expires_at: u64,
    /// Revocation or suspension reason code.
    pub reason: u8,
    /// `mirror` or `chain`.
    pub source: &'static str,
    /// The block the answer reflects.
    pub reflects: Reflects,
    /// The one call that checks it without trusting this service.
    pub check_yourself: String,
}

/// Parses an address path or query value; mixed case must carry a valid EIP-55 checksum.
pub fn address(field: &str, s: &str) -> Result<Address, ApiError> {
    crate::issuance::request::parse_address(s)
        .map_err(|e| ApiError::field("invalid_address", field, e.to_string()))
}

/// Parses a credential type id (a path or query value); the number, since the mirror's rows carry numbers.
fn type_id(field: &str, s: &str) -> Result<u64, ApiError> {
    s.parse::<TypeId>()
        .map(TypeId::get)
        .map_err(|e| ApiError::field("invalid_type", field, e.to_string()))
}

/// What the mirror reflects (its block, whether that block is final, whether it is stale) and the clock
/// expiry is judged by: the later of that block's time and the wall clock, so that a stalled indexer
/// never keeps an expired credential valid (and a chain whose clock runs ahead, as a time-travelled dev
/// chain's does, is still judged by its own). Two reads.
pub async fn mirror_view(store: &Store, chain_id: u64) -> Result<(Reflects, u64), ApiError> {
    let health = store.mirror_health(chain_id).await?.unwrap_or_default();
    let block = health.indexed_block;
    let block_time = match block {
        Some(b) => store.block_time(chain_id, b).await?,
        None => None,
    };
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let time = block_time.unwrap_or(0).max(wall);
    let is_final = block.is_some_and(|b| b <= health.final_block);
    let stale = health.behind(STALE_AFTER_BLOCKS);
    Ok((
        Reflects {
            block,
            is_final,
            stale: stale.is_some(),
            stale_reason: stale,
        },
        time,
    ))
}

/// Blocks behind the head after which public answers say the mirror is stale.
pub const STALE_AFTER_BLOCKS: u64 = 20;

/// The time of the block the mirror reflects, for judging expiry.
pub async fn mirror_now(state: &AppState) -> Result<u64, ApiError> {
    Ok(mirror_view(state.store(), state.chain_id()).await?.1)
}

async fn type_names(state: &AppState) -> Result<HashMap<u64, String>, ApiError> {
    Ok(state
        .store()
        .credential_types(state.chain_id())
        .await?
        .into_iter()
        .map(|t| (t.type_id, t.name))
        .collect())
}

/// Every credential type.
#[utoipa::path(get, path = "/v1/types", tag = "public",
    responses((status = 200, body = Vec<TypeDto>)))]
pub async fn types(State(state): State<AppState>) -> Result<Json<Vec<TypeDto>>, ApiError> {
    Ok(Json(
        state
            .store()
            .credential_types(state.chain_id())
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// One credential type: its policy and prerequisites.
#[utoipa::path(get, path = "/v1/types/{id}", tag = "public",
    params(("id" = String, Path, description = "Credential type id")),
    responses((status = 200, body = TypeDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn type_by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TypeDto>, ApiError> {
    let id = type_id("id", &id)?;
    state
        .store()
        .credential_type(state.chain_id(), id)
        .await?
        .map(|t| Json(t.into()))
        .ok_or_else(|| ApiError::NotFound(format!("credential type {id} does not exist")))
}

/// Every membership tier.
#[utoipa::path(get, path = "/v1/tiers", tag = "public",
    responses((status = 200, body = Vec<TierDto>)))]
pub async fn tiers(State(state): State<AppState>) -> Result<Json<Vec<TierDto>>, ApiError> {
    Ok(Json(
        state
            .store()
            .tiers(state.chain_id())
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Every credential a holder was ever issued, with its status.
#[utoipa::path(get, path = "/v1/holders/{address}/credentials", tag = "public",
    params(("address" = String, Path, description = "Holder address (EIP-55 checksum when mixed case)")),
    responses((status = 200, body = HolderCredentials), (status = 400, body = ErrorBody)))]
pub async fn holder_credentials(
    State(state): State<AppState>,
    Path(holder): Path<String>,
) -> Result<Json<HolderCredentials>, ApiError> {
    let holder = address("address", &holder)?;
    let names = type_names(&state).await?;
    let (reflects, now) = mirror_view(state.store(), state.chain_id()).await?;
    let credentials = state
        .store()
        .credentials_of_holder(state.chain_id(), holder)
        .await?
        .into_iter()
        .map(|c| credential_dto(c, &names, now))
        .collect();
    Ok(Json(HolderCredentials {
        holder: holder.to_string(),
        reflects,
        credentials,
    }))
}

/// Every membership a holder holds or held, with its status.
#[utoipa::path(get, path = "/v1/holders/{address}/memberships", tag = "public",
    params(("address" = String, Path, description = "Holder address (EIP-55 checksum when mixed case)")),
    responses((status = 200, body = HolderMemberships), (status = 400, body = ErrorBody)))]
pub async fn holder_memberships(
    State(state): State<AppState>,
    Path(holder): Path<String>,
) -> Result<Json<HolderMemberships>, ApiError> {
    let holder = address("address", &holder)?;
    let (reflects, now) = mirror_view(state.store(), state.chain_id()).await?;
    let memberships = state
        .store()
        .memberships_of_holder(state.chain_id(), holder)
        .await?
        .into_iter()
        .map(|m| membership_dto(m, now))
        .collect();
    Ok(Json(HolderMemberships {
        holder: holder.to_string(),
        reflects,
        memberships,
    }))
}

/// Whether a holder holds a valid credential of a type: from the mirror, or with `source=chain` from a
/// live `eth_call`.
#[utoipa::path(get, path = "/v1/verify", tag = "public",
    params(
        ("holder" = String, Query, description = "Holder address"),
        ("type" = String, Query, description = "Credential type id"),
        ("source" = Option<String>, Query, description = "`mirror` (default) or `chain`"),
    ),
    responses((status = 200, body = Verification), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Verification>, ApiError> {
    let (holder, t) = verify_params(&q)?;
    let check_yourself = format!(
        "cast call {} \"isValid(address,uint256)(bool)\" {holder} {t} --rpc-url <your RPC>",
        state.registry()
    );
    match q.get("source").map(String::as_str).unwrap_or("mirror") {
        "mirror" => Ok(Json(
            verify_from_mirror(&state, holder, t, check_yourself).await?,
        )),
        "chain" => Ok(Json(
            verify_from_chain(&state, holder, t, check_yourself).await?,
        )),
        other => Err(ApiError::field(
            "invalid_source",
            "source",
            format!("source {other:?} is not one of: mirror, chain"),
        )),
    }
}

/// The holder and the credential type a verification asks about, from its query.
fn verify_params(q: &HashMap<String, String>) -> Result<(Address, u64), ApiError> {
    let holder = address(
        "holder",
        q.get("holder")
            .ok_or_else(|| ApiError::field("missing", "holder", "holder is required"))?,
    )?;
    let t = type_id(
        "type",
        q.get("type")
            .ok_or_else(|| ApiError::field("missing", "type", "type is required"))?,
    )?;
    Ok((holder, t))
}

/// The mirror's answer for (holder, type `t`), through the answer cache, at the block the mirror reflects.
async fn verify_from_mirror(
    state: &AppState,
    holder: Address,
    t: u64,
    check_yourself: String,
) -> Result<Verification, ApiError> {
    let snap = state
        .cache
        .snapshot(state.store(), state.chain_id())
        .await?;
    if !snap.types.contains(&t) {
        return Err(ApiError::NotFound(format!(
            "credential type {t} does not exist"
        )));
    }
    let (answer, snap) = state
        .cache
        .answer(state.store(), state.chain_id(), snap, holder, t)
        .await?;
    let now = snap.time;
    let reflects = Reflects {
        block: snap.block,
        is_final: snap.is_final,
        stale: snap.stale.is_some(),
        stale_reason: snap.stale.clone(),
    };
    let (valid, status, issued_at, expires_at, reason) = match answer.row {
        Some(c) => (
            c.is_valid_at(now),
            credential_status_name(&c, now),
            c.issued_at,
            c.expires_at,
            c.reason,
        ),
        None => (false, "none".into(), 0, 0, 0),
    };
    Ok(Verification {
        holder: holder.to_string(),
        type_id: t,
        valid,
        status,
        issued_at,
        expires_at,
        reason,
        source: "mirror",
        reflects,
        check_yourself,
    })
}

/// The chain's answer for (holder, type `t`): a live `credentialOf` call at the node's head.
pub(crate) async fn verify_from_chain(
    state: &AppState,
    holder: Address,
    t: u64,
    check_yourself: String,
) -> Result<Verification, ApiError> {
    let no_answer = |e: &dyn std::fmt::Display| {
        let e = crate::config::redact_urls(&e.to_string());
        ApiError::Unavailable(format!("the node did not answer: {e}"))
    };
    let unavailable = |e: alloy::contract::Error| no_answer(&e);
    let head = state
        .provider()
        .get_block_number()
        .await
        .map_err(|e| no_answer(&e))?;
    let reg = CredentialRegistry::new(state.registry(), state.provider());
    let count = reg
        .typeCount()
        .block(BlockId::number(head))
        .call()
        .await
        .map_err(unavailable)?;
    if U256::from(t) > count {
        return Err(ApiError::NotFound(format!(
            "credential type {t} does not exist"
        )));
    }
    let c = reg
        .credentialOf(holder, U256::from(t))
        .block(BlockId::number(head))
        .call()
        .await
        .map_err(unavailable)?;
    let expires_at = c.expiresAt.to::<u64>();
    let status = credential_status::name_on_chain(c.status, c.valid, expires_at).to_string();
    let final_block = state
        .store()
        .cursor(state.chain_id())
        .await?
        .map_or(0, |c| c.final_block);
    Ok(Verification {
        holder: holder.to_string(),
        type_id: t,
        valid: c.valid,
        status,
        issued_at: c.issuedAt.to::<u64>(),
        expires_at,
        reason: c.reason,
        source: "chain",
        reflects: Reflects {
            block: Some(head),
            is_final: head <= final_block,
            stale: false,
            stale_reason: None,
        },
        check_yourself,
    })
}
