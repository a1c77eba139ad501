//! Checking a credential a candidate handed over: `POST /v1/credential-checks` (JSON) and the verify
//! page's upload form (`POST /verify/credential`). One report: signature, issuer, structure, dates, the
//! status the chain holds, whether the chain agrees (token, holder, type, validity) and whether the
//! content is what the chain recorded at issuance — each check with its reason when it fails.

use alloy::primitives::Address;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::AppState;
use crate::credentials::dates::unix_now;
use crate::credentials::ob3::{seal, Program};
use crate::credentials::presented::{self, Check, Presented};
use crate::domain::{credential_status, token_id};

/// The checks a credential passed and failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Report {
    /// Whether every check that decides passed (all but `claim`, which credentials issued by other means
    /// cannot pass).
    pub valid: bool,
    /// The form it came in: `jwt`, `json`, `svg` or `png`.
    pub form: &'static str,
    /// The credential's id, if it has one.
    pub credential: Option<String>,
    /// The achievement's name, if it has one.
    pub name: Option<String>,
    /// Each check in order.
    pub checks: Vec<Check>,
}

fn dates(c: &Value, now: u64) -> Check {
    let secs = |v: &Value| {
        v.as_str()
            .and_then(crate::credentials::dates::parse_datetime)
    };
    let from = secs(&c["validFrom"]);
    let until = secs(&c["validUntil"]);
    match (from, until) {
        (None, _) => Check::fail("dates", "validFrom is missing or not an RFC 3339 date"),
        (Some(f), _) if f > now + 300 => {
            Check::fail("dates", format!("not valid before {}", c["validFrom"]))
        }
        (_, Some(u)) if u <= now => Check::fail("dates", format!("expired at {}", c["validUntil"])),
        (Some(_), None) => Check::pass(
            "dates",
            format!("valid from {}, never expires", c["validFrom"]),
        ),
        (Some(_), Some(_)) => Check::pass(
            "dates",
            format!("valid from {} until {}", c["validFrom"], c["validUntil"]),
        ),
    }
}

/// The holder a `did:pkh:eip155:<chain>:<address>` subject names.
fn holder_of(c: &Value, chain_id: u64) -> Option<Address> {
    let id = c["credentialSubject"]["id"].as_str()?;
    id.strip_prefix(&format!("did:pkh:eip155:{chain_id}:"))?
        .parse()
        .ok()
}

/// The chain's view: status (from the mirror's record of the token), whether the chain agrees on token,
/// holder, type and validity (a live call), and whether the claim is the one the chain recorded.
async fn chain_checks(
    state: &AppState,
    program: &Program,
    p: &Presented,
) -> Result<Vec<Check>, ApiError> {
    let c = &p.credential;
    let Some((chain, registry, token)) = presented::claimed_token(c) else {
        return Ok(vec![Check::fail(
            "chain",
            "the credential names no on-chain record (eip155:…/erc721:…/token) to check",
        )]);
    };
    if chain != program.chain_id || registry != program.registry {
        return Ok(vec![Check::fail(
            "chain",
            format!("its on-chain record is token {token} of {registry} on chain {chain}, not this program's registry {} on chain {}", program.registry, program.chain_id),
        )]);
    }
    let Ok(type_id) = u64::try_from(token >> 160_usize) else {
        return Ok(vec![Check::fail(
            "chain",
            format!("token {token} names no credential type of this registry"),
        )]);
    };
    let Some(holder) = holder_of(c, chain).filter(|h| token_id(type_id, *h) == token) else {
        return Ok(vec![Check::fail(
            "chain",
            "its subject is not the holder of the token it names",
        )]);
    };
    let Some(row) = state.store().credential_by_token(chain, token).await? else {
        return Ok(vec![Check::fail(
            "status",
            format!(
                "the chain holds no token {token}: it was never issued (or is not yet indexed)"
            ),
        )]);
    };
    let now = unix_now();
    let status = credential_status::name(row.status, row.expires_at, now);
    let mut checks = vec![if row.is_valid_at(now) {
        Check::pass("status", "active on chain")
    } else {
        Check::fail(
            "status",
            format!("{status} on chain (reason code {})", row.reason),
        )
    }];
    let live = super::public::verify_from_chain(state, holder, type_id, String::new()).await;
    checks.push(match live {
        Ok(v) if v.valid => Check::pass(
            "chain",
            format!(
                "isValid({holder}, {type_id}) is true at block {}",
                v.reflects.block.unwrap_or(0)
            ),
        ),
        Ok(v) => Check::fail(
            "chain",
            format!(
                "isValid({holder}, {type_id}) is false at block {}: {}",
                v.reflects.block.unwrap_or(0),
                v.status
            ),
        ),
        Err(e) => Check::fail("chain", format!("the chain could not be asked: {e}")),
    });
    let mut document = c.clone();
    if let Some(o) = document.as_object_mut() {
        o.remove("proof");
    }
    let claim = seal(&document).hash;
    checks.push(if claim == row.evidence_hash {
        Check::pass("claim", "its content hashes to the evidence hash the chain recorded at issuance")
    } else {
        Check::fail("claim", "its content does not hash to the evidence hash the chain recorded (issued by other means, or an earlier release's document)")
    });
    Ok(checks)
}

/// Every check of what was handed over (`input`: the raw bytes).
pub async fn check(state: &AppState, input: &[u8]) -> Result<Report, ApiError> {
    let p = presented::read(input).map_err(|e| match e {
        presented::InputError::TooLarge(_) => ApiError::TooLarge(e.to_string()),
        e => ApiError::field("not_a_credential", "credential", e.to_string()),
    })?;
    let keys = state.keys.keys();
    let program = state.program_for(&keys).await?;
    // The signature check canonicalizes what a stranger sent (bounded, but CPU work): off the async threads.
    let (pp, pk, pg) = (p.clone(), keys.clone(), program.clone());
    let signature = tokio::task::spawn_blocking(move || presented::check_signature(&pp, &pg, &pk))
        .await
        .map_err(|e| ApiError::Internal(format!("signature check: {e}")))?;
    let mut checks = vec![
        signature,
        presented::check_issuer(&p, &program, &keys),
        presented::check_structure(&p),
        dates(&p.credential, unix_now()),
    ];
    // The chain is asked only about a credential this issuer signed (no node calls for strangers' input).
    if checks[0].ok && checks[1].ok {
        checks.extend(chain_checks(state, &program, &p).await?);
    } else {
        checks.push(Check::fail(
            "chain",
            "not asked: the signature or the issuer check failed",
        ));
    }
    Ok(Report {
        valid: checks.iter().filter(|c| c.name != "claim").all(|c| c.ok),
        form: p.form,
        credential: p.credential["id"].as_str().map(str::to_string),
        name: p.credential["credentialSubject"]["achievement"]["name"]
            .as_str()
            .map(str::to_string),
        checks,
    })
}

/// Checks a credential someone handed over: the body is the credential itself — a VC-JWT, its JSON, or a
/// baked badge SVG or PNG (at most 1 MiB). 200 with the report whatever the verdict; 400 when the body is
/// not a credential at all.
#[utoipa::path(post, path = "/v1/credential-checks", tag = "open badges",
    request_body(content = String, description = "A VC-JWT, credential JSON, or a baked SVG/PNG badge", content_type = "application/octet-stream"),
    responses((status = 200, body = Report), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn credential_checks(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Report>, ApiError> {
    Ok(Json(check(&state, &body).await?))
}
