//! The verify page's second form: check a credential a candidate sent. `POST /verify/credential` takes
//! a pasted VC-JWT or JSON (`credential`) or an uploaded file (`file`: JSON, a VC-JWT, a baked SVG or
//! PNG), as a multipart or URL-encoded form, and answers one server-rendered page with every check and
//! its reason. A bad upload gets a 400 page saying what was wrong, never a 5xx.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::checks::{check, Report};
use super::error::ApiError;
use super::page::layout;
use super::AppState;
use crate::credentials::presented::MAX_INPUT;

use super::escape as esc;

/// The upload form.
pub fn form() -> String {
    "<h2 style=\"font-size:1.2rem;margin-top:2rem\">Check a credential a candidate sent</h2>\
     <form method=\"post\" action=\"/verify/credential\" enctype=\"multipart/form-data\">\
     <label class=\"muted\" for=\"credential\" style=\"flex-basis:100%\">Paste the credential (a VC-JWT, or its JSON)…</label>\
     <textarea id=\"credential\" name=\"credential\" spellcheck=\"false\" placeholder=\"eyJhbGciOi… or {&quot;@context&quot;: …}\"></textarea>\
     <label class=\"muted\" for=\"file\" style=\"flex-basis:100%\">…or upload its file: JSON, or the badge image (SVG or PNG) with the credential baked in</label>\
     <input id=\"file\" type=\"file\" name=\"file\" accept=\".json,.jwt,.jws,.txt,.svg,.png,application/json,image/svg+xml,image/png\">\
     <button type=\"submit\">Check</button></form>"
        .to_string()
}

fn page(status: StatusCode, title: &str, body: String) -> Response {
    (
        status,
        Html(layout(
            title,
            &format!("<h1>{}</h1>{body}{}", esc(title), form()),
        )),
    )
        .into_response()
}

fn refused(message: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Not a credential",
        format!("<p class=\"error\">{}</p>", esc(message)),
    )
}

/// What the form sent: the uploaded file if one was chosen, else the pasted text.
async fn input_of(state: &AppState, req: Request) -> Result<Vec<u8>, String> {
    let kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if kind.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(req, state)
            .await
            .map_err(|e| format!("the form did not arrive whole: {e}"))?;
        let (mut file, mut text) = (Vec::new(), Vec::new());
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| format!("the form did not arrive whole: {e}"))?
        {
            let name = field.name().unwrap_or_default().to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| format!("the upload did not arrive whole: {e}"))?;
            match name.as_str() {
                "file" => file = bytes.to_vec(),
                "credential" => text = bytes.to_vec(),
                _ => {}
            }
        }
        return Ok(if file.is_empty() { text } else { file });
    }
    let body = axum::body::to_bytes(req.into_body(), MAX_INPUT + 1)
        .await
        .map_err(|_| "the credential is larger than 1 MiB".to_string())?;
    if kind.starts_with("application/x-www-form-urlencoded") {
        let fields = url_decode_form(&String::from_utf8_lossy(&body));
        return Ok(fields
            .into_iter()
            .find(|(k, _)| k == "credential")
            .map(|(_, v)| v.into_bytes())
            .unwrap_or_default());
    }
    Ok(body.to_vec())
}

/// The `key=value` pairs of a URL-encoded form, decoded (`+` is a space, `%XX` a byte).
pub(crate) fn url_decode_form(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            match (
                bytes[i],
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                (b'%', Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                }
                (b, _, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn render(r: &Report) -> String {
    let (label, class) = if r.valid {
        ("Genuine and valid", "valid")
    } else {
        ("Not valid", "bad")
    };
    let rows: String = r
        .checks
        .iter()
        .map(|c| {
            format!(
                "<dt>{} {}</dt><dd>{}</dd>",
                if c.ok { "✓" } else { "✗" },
                esc(c.name),
                esc(&c.detail)
            )
        })
        .collect();
    format!(
        "<div class=\"card\"><h2>{}</h2><p><span class=\"status {class}\">{label}</span> \
         <span class=\"muted\">({} received{})</span></p><dl>{rows}</dl></div>",
        esc(r.name.as_deref().unwrap_or("Credential")),
        esc(r.form),
        r.credential
            .as_deref()
            .map_or_else(String::new, |id| format!(", id {}", esc(id)))
    )
}

/// `POST /verify/credential` — the report on a pasted or uploaded credential, as a page.
pub async fn verify_credential(State(state): State<AppState>, req: Request) -> Response {
    let input = match input_of(&state, req).await {
        Ok(i) => i,
        Err(message) => return refused(&message),
    };
    match check(&state, &input).await {
        Ok(report) => page(StatusCode::OK, "Credential check", render(&report)),
        Err(ApiError::BadRequest { message, .. } | ApiError::TooLarge(message)) => {
            refused(&message)
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn forms_decode() {
        let pairs = super::url_decode_form("credential=%7B%22a%22%3A+1%7D&x=%ZZ");
        assert_eq!(pairs[0], ("credential".into(), "{\"a\": 1}".into()));
        assert_eq!(pairs[1], ("x".into(), "%ZZ".into()));
    }
}
