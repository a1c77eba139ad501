//! The claim page, where a claim link lands: `GET /claim/{code}` shows the award and asks for the
//! learner's address (typed twice; the page shows its checksum form); `POST /claim/{code}` queues the mint
//! to it through the normal pipeline and shows what became of it. Server-rendered, without JavaScript,
//! at phone width. A used, expired, withdrawn or unknown code gets a clear page, never a 5xx; attempts are
//! limited per client address and per code.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;

use super::extract::Path;
use super::page::layout;
use super::AppState;
use crate::credentials::dates::unix_now;
use crate::issuance::claims::{claim, code_hash, open_award, ClaimError};
use crate::issuance::request::parse_address;

use super::escape as esc;

/// Attempts allowed per window: per client address, and per code.
const PER_CLIENT: u32 = 60;
const PER_CODE: u32 = 10;
const WINDOW: Duration = Duration::from_secs(600);

/// Keys the limiter remembers at most; when full of live entries, new keys are refused.
const MAX_KEYS: usize = 100_000;

/// Counts a recent attempt under `key` (`get:…`, `post:…`, `code:…`); true when over `limit`. Memory is
/// bounded: expired entries are dropped when the map fills, and a full map refuses new keys.
fn over_limit(key: String, limit: u32) -> bool {
    static SEEN: Mutex<Option<HashMap<String, (Instant, u32)>>> = Mutex::new(None);
    let mut guard = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    let seen = guard.get_or_insert_with(HashMap::new);
    let now = Instant::now();
    if seen.len() >= MAX_KEYS && !seen.contains_key(&key) {
        seen.retain(|_, (at, _)| now.duration_since(*at) < WINDOW);
        if seen.len() >= MAX_KEYS {
            return true;
        }
    }
    let entry = seen.entry(key).or_insert((now, 0));
    if now.duration_since(entry.0) >= WINDOW {
        *entry = (now, 0);
    }
    entry.1 += 1;
    entry.1 > limit
}

/// The client as the limiter counts it: its IPv4 address, or its IPv6 /64 (one subscriber's block).
fn client_key(client: Option<SocketAddr>) -> String {
    match client.map(|c| c.ip()) {
        Some(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    }
}

fn limited(client: Option<SocketAddr>, code: &str, post: bool) -> bool {
    let who = client_key(client);
    if post {
        over_limit(format!("post:{who}"), PER_CLIENT / 4)
            || over_limit(format!("code:{}", code_hash(code)), PER_CODE)
    } else {
        over_limit(format!("get:{who}"), PER_CLIENT)
    }
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        Html(layout(title, &format!("<h1>{}</h1>{body}", esc(title)))),
    )
        .into_response()
}

fn error_page(e: &ClaimError) -> Response {
    let (status, title) = match e {
        ClaimError::UnknownCode => (StatusCode::NOT_FOUND, "This claim link is not valid"),
        ClaimError::Withdrawn => (StatusCode::GONE, "This award was withdrawn"),
        ClaimError::Expired(_) => (StatusCode::GONE, "This claim link has expired"),
        ClaimError::AlreadyClaimed(_) => (StatusCode::CONFLICT, "Already claimed"),
        ClaimError::Refused(_) | ClaimError::BadEmail(_) | ClaimError::UnknownType(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "The credential cannot be issued",
        ),
        ClaimError::Unavailable | ClaimError::Store(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "Try again in a minute")
        }
    };
    let message = match e {
        ClaimError::Store(_) => "the service cannot reach its database right now".to_string(),
        e => e.to_string(),
    };
    let mut body = format!("<p class=\"error\">{}</p>", esc(&message));
    if let ClaimError::AlreadyClaimed(holder) = e {
        body.push_str(&format!(
            "<p><a href=\"/verify/{holder}\">See the credentials of {holder}</a></p>"
        ));
    }
    page(status, title, &body)
}

fn too_many() -> Response {
    page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        "<p class=\"error\">Too many attempts from here or on this link; wait ten minutes and try again.</p>",
    )
}

fn form(code: &str, value: &str, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\">{}</p>", esc(e))
    });
    format!(
        "{error}<form method=\"post\" action=\"/claim/{}\">\
         <label class=\"muted\" for=\"address\" style=\"flex-basis:100%\">Your wallet address (where the badge will live)</label>\
         <input id=\"address\" name=\"address\" placeholder=\"0x…\" value=\"{}\" autocomplete=\"off\" spellcheck=\"false\" required>\
         <label class=\"muted\" for=\"again\" style=\"flex-basis:100%\">The same address again</label>\
         <input id=\"again\" name=\"again\" placeholder=\"0x…\" autocomplete=\"off\" spellcheck=\"false\" required>\
         <button type=\"submit\">Claim my credential</button></form>\
         <p class=\"muted\">The credential is soulbound: it cannot be moved once issued, so use an address you control.</p>",
        esc(code),
        esc(value)
    )
}

async fn award_card(state: &AppState, type_id: u64, email: &str) -> String {
    let name = state
        .store()
        .credential_type(state.chain_id(), type_id)
        .await
        .ok()
        .flatten()
        .map_or_else(|| format!("Credential type {type_id}"), |t| t.name);
    format!(
        "<div class=\"card\"><h2>{}</h2><p>Awarded by {} to {}.</p></div>",
        esc(&name),
        esc(&state.settings.issuer_name),
        esc(&mask(email))
    )
}

/// `a***@example.edu`: enough for the learner to recognise, not enough to harvest.
fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

/// `GET /claim/{code}` — the award and the address form, or why the link does not work.
pub async fn claim_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Response {
    if limited(client.map(|c| c.0 .0), &code, false) {
        return too_many();
    }
    match open_award(state.store(), state.chain_id(), &code, unix_now()).await {
        Ok(a) => {
            let card = award_card(&state, a.type_id, &a.email).await;
            page(
                StatusCode::OK,
                "Claim your credential",
                &format!("{card}{}", form(&code, "", None)),
            )
        }
        Err(e) => error_page(&e),
    }
}

/// The `address` and `again` fields of the claim form.
fn fields(body: &[u8]) -> (String, String) {
    let pairs = super::upload::url_decode_form(&String::from_utf8_lossy(body));
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or_else(String::new, |(_, v)| v.trim().to_string())
    };
    (get("address"), get("again"))
}

/// The claim form again, with what was typed and why it was refused.
async fn retry(
    state: &AppState,
    award: &crate::store::awards::AwardRow,
    code: &str,
    address: &str,
    message: &str,
) -> Response {
    let card = award_card(state, award.type_id, &award.email).await;
    page(
        StatusCode::BAD_REQUEST,
        "Claim your credential",
        &format!("{card}{}", form(code, address, Some(message))),
    )
}

/// `POST /claim/{code}` — claims the award for the address given twice.
pub async fn claim_submit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: axum::body::Bytes,
) -> Response {
    if limited(client.map(|c| c.0 .0), &code, true) {
        return too_many();
    }
    let (address, again) = fields(&body);
    let award = match open_award(state.store(), state.chain_id(), &code, unix_now()).await {
        Ok(a) => a,
        Err(e) => return error_page(&e),
    };
    let holder = match parse_address(&address) {
        Ok(h) => h,
        Err(e) => return retry(&state, &award, &code, &address, &e.to_string()).await,
    };
    if !again.eq_ignore_ascii_case(&address) {
        let message = format!("the two addresses differ: check both; the first one reads {holder} in its checksum form");
        return retry(&state, &award, &code, &address, &message).await;
    }
    let Some(signer) = state.signer.as_ref().map(|s| s.address()) else {
        return error_page(&ClaimError::Unavailable);
    };
    let program = match state.program().await {
        Ok(p) => p,
        Err(e) => return error_page(&ClaimError::Store(e)),
    };
    match claim(&state.node, state.store(), &program, signer, &code, holder, unix_now()).await {
        Ok((_, request)) => page(
            StatusCode::OK,
            "Your credential is on its way",
            &format!(
                "<div class=\"card\"><p><span class=\"status valid\">Claimed</span></p>\
                 <p>It is being issued to <strong>{holder}</strong> (request {}, {:?}). It appears on chain within a minute.</p>\
                 <p><a href=\"/learners/{holder}\">Your page</a>: your badges, to share and add to LinkedIn · \
                 <a href=\"/verify/{holder}\">what the chain says</a></p></div>",
                request.id, request.state
            ),
        ),
        Err(e) => error_page(&e),
    }
}
