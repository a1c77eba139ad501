//! The Bitstring status lists (W3C Bitstring Status List 1.0): `GET /v1/status-lists/{chainId}/{purpose}/{list}`
//! answers a signed `BitstringStatusListCredential` — JSON-LD with a Data Integrity proof, or the VC-JWT
//! with `format=jwt`.
//!
//! A list reflects the mirror as of the latest block it indexed: its bits are recomputed whenever the mirror
//! has indexed a new block (and at least every [`REUSE_SECS`]), so a revocation shows in the list as soon
//! as the mirror holds its block. While the mirror is being rebuilt the last list built stays served until
//! it expires; then the answer is 503, never a list missing withdrawn credentials.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::badges::{secure_error, wall_clock, VC_LD_JSON};
use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::AppState;
use crate::credentials::status_list::{self, Purpose, LIST_LIFETIME, LIST_SIZE};
use crate::store::status::Withdrawn;

/// Seconds a computed list is reused while the mirror has no new block.
pub const REUSE_SECS: u64 = 30;

/// One computed list: its bits and what it reflects.
#[derive(Debug, Clone)]
struct Built {
    encoded: String,
    block: Option<u64>,
    at: u64,
}

/// The lists computed lately, by (purpose, list).
#[derive(Debug, Default)]
pub struct StatusLists {
    built: Mutex<HashMap<(Purpose, u64), Built>>,
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

/// The bits of a list now: reused while fresh, recomputed from the mirror otherwise.
async fn bits(state: &AppState, purpose: Purpose, list: u64) -> Result<Built, ApiError> {
    let store = state.store();
    let chain_id = state.chain_id();
    let now = wall_clock();
    let health = store.mirror_health(chain_id).await?.unwrap_or_default();
    let cached = state.status_lists.get((purpose, list));
    if let Some(b) = &cached {
        let same_block = b.block == health.indexed_block;
        if (same_block && now < b.at + REUSE_SECS)
            || (health.rebuild_reason.is_some() && now < b.at + LIST_LIFETIME / 2)
        {
            return Ok(b.clone());
        }
    }
    if let Some(reason) = &health.rebuild_reason {
        return Err(ApiError::Unavailable(format!(
            "the mirror is being rebuilt ({reason}): status lists are published again once it has caught up; retry in a minute"
        )));
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
    let built = Built {
        encoded: status_list::encode(positions.into_iter().map(|p| status_list::slot(p).1)),
        block: health.indexed_block,
        at: now,
    };
    state.status_lists.put((purpose, list), built.clone());
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
    let program = state.program().await?;
    let document = status_list::list_credential(&program, purpose, list, built.encoded, built.at);
    let securing = state.securing(&program, &keys);
    let reflects = built
        .block
        .map_or_else(|| "none".to_string(), |b| b.to_string());
    let cache = [
        (header::CACHE_CONTROL, "public, max-age=2".to_string()),
        (
            header::HeaderName::from_static("x-laurel-reflects-block"),
            reflects,
        ),
    ];
    Ok(match jwt {
        Some(media) => {
            let token = securing
                .jwt(
                    &document,
                    built.at,
                    Some(built.at + LIST_LIFETIME),
                    wall_clock(),
                )
                .map_err(secure_error)?;
            (cache, [(header::CONTENT_TYPE, media)], token).into_response()
        }
        None => {
            let signed = securing
                .with_proof(&document, wall_clock())
                .map_err(secure_error)?;
            (cache, [(header::CONTENT_TYPE, VC_LD_JSON)], Json(signed)).into_response()
        }
    })
}
