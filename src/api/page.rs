//! The employer's verify page: `GET /verify` (a form) and `GET /verify/{address}` (or `/verify?address=`).
//! Server-rendered HTML, useful without JavaScript and readable on a phone. For each credential it shows
//! the status, the dates, the block the answer reflects (and whether it is final), and the exact one-line
//! on-chain call that checks it without trusting this service.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::extract::{Path, Query};
use super::public::{address, mirror_view};
use super::AppState;
use crate::credentials::dates::date;
use crate::domain::credential_status;

use super::escape as esc;

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1a1a1a;line-height:1.45}
main{max-width:46rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}
form{display:flex;flex-wrap:wrap;gap:.5rem;margin-bottom:1rem}
textarea{flex:1 1 100%;font:inherit;font-size:.85rem;padding:.6rem;border:1px solid #bbb;border-radius:.4rem;min-height:6rem}
input{flex:1 1 16rem;font:inherit;padding:.6rem;border:1px solid #bbb;border-radius:.4rem;min-width:0}
button{font:inherit;padding:.6rem 1rem;border:0;border-radius:.4rem;background:#1f4fa3;color:#fff}
.card{background:#fff;border:1px solid #e2e4e8;border-radius:.6rem;padding:1rem;margin:.75rem 0}
.card h2{font-size:1.1rem;margin:0 0 .4rem}
.status{display:inline-block;font-weight:600;padding:.1rem .5rem;border-radius:1rem;font-size:.9rem}
.valid{background:#e8f5ee;color:#1f7a4d}.warn{background:#fff5e0;color:#8a5a00}.bad{background:#fdecec;color:#9b1c1c}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.6rem 0}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere}
code{display:block;background:#0f172a;color:#e2e8f0;padding:.6rem;border-radius:.4rem;font-size:.8rem;overflow-wrap:anywhere;white-space:pre-wrap}
.muted{color:#555;font-size:.9rem;overflow-wrap:anywhere}.error{color:#9b1c1c}
"#;

pub(crate) fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n",
        esc(title)
    )
}

fn form(value: &str) -> String {
    format!(
        "<h1>Verify Laurel credentials</h1>\
         <form method=\"get\" action=\"/verify\"><label class=\"muted\" for=\"address\" style=\"flex-basis:100%\">Wallet address of the holder</label>\
         <input id=\"address\" name=\"address\" placeholder=\"0x…\" value=\"{}\" autocomplete=\"off\" spellcheck=\"false\">\
         <button type=\"submit\">Verify</button></form>",
        esc(value)
    )
}

/// `GET /verify` — the form, or the results when `?address=` is given.
pub async fn verify_form(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match q.get("address").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(a) => results(&state, a).await,
        None => Html(layout(
            "Verify Laurel credentials",
            &format!(
                "{}<p class=\"muted\">Paste a wallet address to see its credentials, as the chain holds them, \
                 with the one-line call that checks each without trusting this page.</p>{}",
                form(""),
                super::upload::form()
            ),
        ))
        .into_response(),
    }
}

/// `GET /verify/{address}` — the results for one holder.
pub async fn verify_address(State(state): State<AppState>, Path(a): Path<String>) -> Response {
    results(&state, &a).await
}

async fn results(state: &AppState, input: &str) -> Response {
    let holder = match address("address", input) {
        Ok(h) => h,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Html(layout(
                    "Not an address",
                    &format!(
                        "{}<p class=\"error\">{}</p>",
                        form(input),
                        esc(&e.to_string())
                    ),
                )),
            )
                .into_response()
        }
    };
    match render(state, holder).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn render(
    state: &AppState,
    holder: alloy::primitives::Address,
) -> Result<String, super::error::ApiError> {
    let (reflects, now) = mirror_view(state.store(), state.chain_id()).await?;
    let (block, is_final) = (reflects.block, reflects.is_final);
    let names: HashMap<u64, String> = state
        .store()
        .credential_types(state.chain_id())
        .await?
        .into_iter()
        .map(|t| (t.type_id, t.name))
        .collect();
    let creds = state
        .store()
        .credentials_of_holder(state.chain_id(), holder)
        .await?;
    let mut body = form(&holder.to_string());
    body.push_str(&format!(
        "<p class=\"muted\">Holder <strong>{holder}</strong> on chain {}. {}</p>",
        state.chain_id(),
        match block {
            Some(b) => format!(
                "This page reflects block {b}{}.",
                if is_final {
                    " (final)"
                } else {
                    " (not yet final)"
                }
            ),
            None => "The mirror has not indexed any block yet.".into(),
        }
    ));
    if let Some(why) = &reflects.stale_reason {
        body.push_str(&format!(
            "<p class=\"warn\">This page may be out of date: {}. The one-line chain check below is always current.</p>",
            esc(why)
        ));
    }
    if creds.is_empty() {
        body.push_str("<div class=\"card\"><h2>No credentials</h2><p>This address was never issued a Laurel credential on this chain.</p></div>");
    }
    for c in creds {
        let valid = c.is_valid_at(now);
        let (label, class) = match c.status {
            credential_status::ACTIVE if valid => ("Valid", "valid"),
            credential_status::ACTIVE => ("Expired", "warn"),
            credential_status::SUSPENDED => ("Suspended", "warn"),
            credential_status::REVOKED => ("Revoked", "bad"),
            credential_status::RENOUNCED => ("Renounced", "bad"),
            credential_status::RECOVERED => ("Moved to a new wallet", "bad"),
            _ => ("Unknown", "bad"),
        };
        let name = names
            .get(&c.type_id)
            .cloned()
            .unwrap_or_else(|| format!("Credential type {}", c.type_id));
        let call = format!(
            "cast call {} \"isValid(address,uint256)(bool)\" {holder} {} --rpc-url <RPC URL of chain {}>",
            state.registry(), c.type_id, state.chain_id()
        );
        body.push_str(&format!(
            "<section class=\"card\"><h2>{}</h2><span class=\"status {class}\">{label}</span>\
             <dl><dt>Type</dt><dd>{}</dd><dt>Issued</dt><dd>{}</dd><dt>Expires</dt><dd>{}</dd>{}\
             <dt>Issuer</dt><dd>{}</dd><dt>Reflects</dt><dd>block {}{}</dd></dl>\
             <p class=\"muted\">Check it yourself, without trusting this page:</p><code>{}</code>\
             <p><a href=\"/v1/credentials/{}/{}/ob3\">Open Badges 3.0 credential</a> \
             (<a href=\"/v1/credentials/{}/{}/ob3?format=jwt\">signed VC-JWT</a>)</p></section>",
            esc(&name),
            c.type_id,
            date(c.issued_at),
            if c.expires_at == 0 {
                "never".to_string()
            } else {
                date(c.expires_at)
            },
            if c.reason != 0 {
                format!("<dt>Reason code</dt><dd>{}</dd>", c.reason)
            } else {
                String::new()
            },
            c.issuer,
            block.map_or("-".into(), |b| b.to_string()),
            if is_final { " (final)" } else { "" },
            esc(&call),
            state.chain_id(),
            c.token_id,
            state.chain_id(),
            c.token_id
        ));
    }
    Ok(layout(&format!("Credentials of {holder}"), &body))
}

/// `GET /docs` — the API reference, rendered on the server from the same OpenAPI document as
/// `/openapi.json`.
pub async fn docs() -> Html<String> {
    use utoipa::OpenApi;
    let doc = super::ApiDoc::openapi();
    let mut body = String::from(
        "<h1>Laurel API</h1><p class=\"muted\">Generated from the code; the machine-readable document is \
         <a href=\"/openapi.json\">/openapi.json</a>. Admin endpoints take <code style=\"display:inline;padding:.1rem .3rem\">Authorization: Bearer &lt;key&gt;</code> \
         (keys from <code style=\"display:inline;padding:.1rem .3rem\">laurel admin key create</code>). Errors are JSON <code style=\"display:inline;padding:.1rem .3rem\">{error, message, field?}</code>.</p>",
    );
    for (path, item) in doc.paths.paths.iter() {
        let ops = [
            ("GET", item.get.as_ref()),
            ("POST", item.post.as_ref()),
            ("PUT", item.put.as_ref()),
            ("DELETE", item.delete.as_ref()),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let summary = op
                .summary
                .clone()
                .or_else(|| op.description.clone())
                .unwrap_or_default();
            let params: Vec<String> = op
                .parameters
                .iter()
                .flatten()
                .map(|p| esc(&p.name))
                .collect();
            let codes: Vec<String> = op.responses.responses.keys().map(|c| esc(c)).collect();
            body.push_str(&format!(
                "<section class=\"card\"><h2><span class=\"status valid\">{method}</span> {}</h2><p>{}</p>\
                 <dl>{}<dt>Responses</dt><dd>{}</dd></dl></section>",
                esc(path),
                esc(&summary),
                if params.is_empty() {
                    String::new()
                } else {
                    format!("<dt>Parameters</dt><dd>{}</dd>", params.join(", "))
                },
                codes.join(", ")
            ));
        }
    }
    Html(layout("Laurel API", &body))
}
