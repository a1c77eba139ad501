//! The Bitstring status lists (W3C Bitstring Status List 1.0): `GET /v1/status-lists/{chainId}/{purpose}/{list}`
//! answers a signed `BitstringStatusListCredential` — JSON-LD with a Data Integrity proof, or the VC-JWT
//! with `format=jwt`.
//!
//! A list reflects the mirror as of the latest block it indexed: its bits are recomputed whenever the mirror
//! has indexed a new block (and at least every [`REUSE_SECS`]), so a revocation shows in the list as soon
//! as the mirror holds its block. While the mirror is being rebuilt, or is more than [`MAX_LAG_BLOCKS`]
//! behind the head, no list is computed: the last one built stays served until it is half way to its
//! `validUntil`, then the answer is 503 — never a list missing withdrawn credentials. Signed lists are
//! reused while their bits and the keys are unchanged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use super::badges::VC_LD_JSON;
use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::AppState;
use crate::credentials::dates::unix_now;
use crate::credentials::keys::keystore::Keystore;
use crate::credentials::secure::Securing;
use crate::credentials::status_list::{self, Purpose, LIST_LIFETIME, LIST_SIZE};
use crate::store::health::MirrorHealth;
use crate::store::status::Withdrawn;

/// Seconds a computed list is reused while the mirror has no new block.
pub const REUSE_SECS: u64 = 30;
/// Blocks the mirror may lag the chain head before no new list is computed (the last one is served until
/// it is half way to its `validUntil`, then 503).
pub const MAX_LAG_BLOCKS: u64 = 20;

/// One computed list: its bits, what it reflects, and its signed forms once made.
#[derive(Debug, Clone)]
struct Built {
    encoded: String,
    block: Option<u64>,
    at: u64,
    /// (JWT or not) → (the keys that signed, the signed text).
    signed: Vec<(bool, Arc<Keystore>, String)>,
}

/// The lists computed lately, by (purpose, list), and the one computation allowed at a time.
#[derive(Debug, Default)]
pub struct StatusLists {
    built: Mutex<HashMap<(Purpose, u64), Built>>,
    computing: tokio::sync::Mutex<()>,
}

impl StatusLists {
    fn get(&self, k: (Purpose, u64)) -> Option<Built> {
        self.built.lock().ok()?.get(&k).cloned()
    }

    fn put(&self, k: (Purpose, u64), b: Built) {
        if let Ok(mut m) = self.built.lock() {
            m.insert(k, b);
        }
    }

    fn remember(&self, k: (Purpose, u64), at: u64, jwt: bool, keys: &Arc<Keystore>, text: &str) {
        if let Ok(mut m) = self.built.lock() {
            if let Some(b) = m.get_mut(&k).filter(|b| b.at == at) {
                b.signed.retain(|(j, _, _)| *j != jwt);
                b.signed.push((jwt, keys.clone(), text.to_string()));
            }
        }
    }
}

fn parse_list(
    state: &AppState,
    chain: &str,
    purpose: &str,
    list: &str,
) -> Result<(Purpose, u64), ApiError> {
    super::metadata::parse_chain(state, chain)?;
    let purpose = Purpose::parse(purpose).ok_or_else(|| {
        ApiError::field(
            "invalid_purpose",
            "purpose",
            format!("{purpose:?} is not a status purpose: use revocation or suspension"),
        )
    })?;
    let list = list.parse::<u64>().map_err(|_| {
        ApiError::field(
            "invalid_list",
            "list",
            format!("{list:?} is not a list number (0, 1, …)"),
        )
    })?;
    Ok((purpose, list))
}

/// Why no fresh list can be computed now, if none can: the mirror is rebuilding or too far behind.
fn unfit(health: &MirrorHealth) -> Option<String> {
    health.behind(MAX_LAG_BLOCKS)
}

/// The last list built, while it is young enough to serve in place of a fresh one; else 503 saying why.
fn fallback(cached: Option<Built>, now: u64, why: String) -> Result<Built, ApiError> {
    match cached {
        Some(b) if now < b.at + LIST_LIFETIME / 2 => Ok(b),
        _ => Err(ApiError::Unavailable(format!(
            "no status list can be computed now ({why}): lists are published again once the mirror has caught up; retry in a minute"
        ))),
    }
}

/// The bits of a list now: reused while fresh, recomputed from the mirror otherwise (one computation at
/// a time), never from a mirror that is rebuilding or far behind.
async fn bits(state: &AppState, purpose: Purpose, list: u64) -> Result<Built, ApiError> {
    let store = state.store();
    let chain_id = state.chain_id();
    let key = (purpose, list);
    let fresh = |b: &Built, health: &MirrorHealth, now: u64| {
        b.block == health.indexed_block && now < b.at + REUSE_SECS
    };
    let health = store.mirror_health(chain_id).await?.unwrap_or_default();
    let now = unix_now();
    if let Some(b) = state
        .status_lists
        .get(key)
        .filter(|b| fresh(b, &health, now))
    {
        return Ok(b);
    }
    if let Some(why) = unfit(&health) {
        return fallback(state.status_lists.get(key), now, why);
    }
    let _one = state.status_lists.computing.lock().await;
    // Another request may have computed it while this one waited.
    let health = store.mirror_health(chain_id).await?.unwrap_or_default();
    let now = unix_now();
    if let Some(b) = state
        .status_lists
        .get(key)
        .filter(|b| fresh(b, &health, now))
    {
        return Ok(b);
    }
    let last = store.last_status_position(chain_id).await?;
    if last.is_none_or(|p| p / LIST_SIZE < list) {
        return Err(ApiError::NotFound(format!(
            "status list {list} does not exist yet: lists are numbered from 0 and each holds {LIST_SIZE} credentials"
        )));
    }
    let which = match purpose {
        Purpose::Revocation => Withdrawn::ForGood,
        Purpose::Suspension => Withdrawn::ForNow,
    };
    let positions = store
        .withdrawn_positions(chain_id, list * LIST_SIZE, (list + 1) * LIST_SIZE, which)
        .await?;
    // A rebuild that began (or a reorg that rewound the mirror) during the read may have hidden
    // withdrawn credentials: the result is thrown away.
    let after = store.mirror_health(chain_id).await?.unwrap_or_default();
    if let Some(why) = unfit(&after) {
        return fallback(state.status_lists.get(key), now, why);
    }
    if after.indexed_block < health.indexed_block {
        return fallback(
            state.status_lists.get(key),
            now,
            "the mirror was rewound by a reorg".into(),
        );
    }
    let built = Built {
        encoded: status_list::encode(positions.into_iter().map(|p| status_list::slot(p).1)),
        block: health.indexed_block,
        at: now,
        signed: Vec::new(),
    };
    state.status_lists.put(key, built.clone());
    Ok(built)
}

/// A Bitstring status list of the issuer's credentials (131,072 entries; `statusPurpose` `revocation` or
/// `suspension`), signed now: JSON-LD with an `eddsa-rdfc-2022` proof, or the VC-JWT with `format=jwt`.
/// `validUntil` is at most 15 minutes ahead and `ttl` is 60 s; `x-laurel-reflects-block` names the block.
#[utoipa::path(get, path = "/v1/status-lists/{chainId}/{purpose}/{list}", tag = "open badges",
    params(
        ("chainId" = String, Path, description = "Chain id"),
        ("purpose" = String, Path, description = "`revocation` or `suspension`"),
        ("list" = String, Path, description = "List number, from 0"),
        ("format" = Option<String>, Query, description = "`json` (default) or `jwt`"),
    ),
    responses(
        (status = 200, description = "The status list credential", content(
            (Object = "application/vc+ld+json"),
            (String = "text/plain"),
            (String = "application/vc+jwt"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn status_list(
    State(state): State<AppState>,
    Path((chain, purpose, list)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (purpose, list) = parse_list(&state, &chain, &purpose, &list)?;
    let jwt = super::badges::wants_jwt(&q, &headers)?;
    let built = bits(&state, purpose, list).await?;
    let keys = state.keys.keys();
    let reflects = built
        .block
        .map_or_else(|| "none".to_string(), |b| b.to_string());
    let headers = [
        (header::CACHE_CONTROL, "public, max-age=2".to_string()),
        (
            header::HeaderName::from_static("x-laurel-reflects-block"),
            reflects,
        ),
        (header::CONTENT_TYPE, jwt.unwrap_or(VC_LD_JSON).to_string()),
    ];
    let made = built
        .signed
        .iter()
        .find(|(j, k, _)| *j == jwt.is_some() && Arc::ptr_eq(k, &keys))
        .map(|(_, _, text)| text.clone());
    if let Some(text) = made {
        return Ok((headers, text).into_response());
    }
    let program = state.program_for(&keys).await?;
    let document =
        status_list::list_credential(&program, purpose, list, built.encoded.clone(), built.at);
    let (jwt_alg, signer_keys, at) = (state.jwt_alg(), keys.clone(), built.at);
    let as_jwt = jwt.is_some();
    let text = super::badges::sign_off_thread(move || {
        let securing = Securing {
            program: &program,
            keys: &signer_keys,
            jwt_alg,
        };
        Ok(if as_jwt {
            securing.jwt(&document, at, Some(at + LIST_LIFETIME), unix_now())?
        } else {
            securing.with_proof(&document, unix_now())?.to_string()
        })
    })
    .await?;
    state
        .status_lists
        .remember((purpose, list), at, as_jwt, &keys, &text);
    Ok((headers, text).into_response())
}
