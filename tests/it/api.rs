//! The public HTTP API against the real stack: a `laurel serve` process over anvil and Postgres, credentials
//! issued and revoked through the CLI, then every public endpoint read over HTTP — and bad input answered
//! with JSON 4xx errors.

use std::time::{Duration, Instant};

use alloy::providers::{Provider, ProviderBuilder};
use alloy::transports::http::reqwest;
use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::support::{holder, Harness};

/// Issues the harness's type to holder(1) and holder(2) through the CLI, then revokes holder(2)'s with
/// `reason`; returns the two holders.
pub(crate) fn issue_two_revoke_second(
    h: &Harness,
    reason: &str,
) -> Result<(alloy::primitives::Address, alloy::primitives::Address)> {
    let t = h.type_id.to_string();
    let (a, b) = (holder(1), holder(2));
    for who in [a, b] {
        let (code, out) = h.run(&["issue", "--type", &t, "--holder", &format!("{who:#x}")])?;
        anyhow::ensure!(code == 0, "issue failed: {out}");
    }
    let revoke = [
        "revoke",
        "--type",
        &t,
        "--holder",
        &format!("{b:#x}"),
        "--reason",
        reason,
    ];
    let (code, out) = h.run(&revoke)?;
    anyhow::ensure!(code == 0, "revoke failed: {out}");
    Ok((a, b))
}

/// Waits until the server's mirror reflects the chain's current head.
pub(crate) async fn wait_for_head(h: &Harness, base: &str) -> Result<u64> {
    let head = ProviderBuilder::new()
        .connect_http(h.node.endpoint_url())
        .get_block_number()
        .await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/v1/holders/{:#x}/credentials", holder(0))).await
        {
            if let Ok(v) = r.json::<Value>().await {
                if v["reflects"]["block"].as_u64().is_some_and(|b| b >= head) {
                    return Ok(head);
                }
            }
        }
        if Instant::now() > deadline {
            bail!("the mirror never reached block {head}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts `laurel serve` on a free port and waits until it is ready (node, database, indexer) and its mirror
/// reflects the chain head; returns the process and the base URL.
pub(crate) async fn start(h: &Harness) -> Result<(super::support::Serve, String, u64)> {
    // Port 0: the kernel picks a free port and the server reports it (no window for another test to take it).
    let mut serve = h.serve(0, &[])?;
    let base = format!("http://{}", serve.listening_addr(Duration::from_secs(60))?);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        if Instant::now() > deadline {
            bail!("/readyz never became ready");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let head = wait_for_head(h, &base).await?;
    Ok((serve, base, head))
}

/// The value of one series (`name{labels}` exactly as rendered) in a Prometheus text exposition.
pub(crate) fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

pub(crate) async fn get(base: &str, path: &str) -> Result<(u16, Value)> {
    json_of(reqwest::get(format!("{base}{path}")).await?).await
}

#[tokio::test]
async fn public_endpoints_answer_from_the_mirror_and_the_chain_and_bad_input_gets_json_4xx(
) -> Result<()> {
    let h = Harness::new().await?;
    let t = h.type_id.to_string();
    let (a, b) = issue_two_revoke_second(&h, "4")?;

    let (serve, base, head) = start(&h).await?;

    let (s, types) = get(&base, "/v1/types").await?;
    assert_eq!(s, 200);
    assert_eq!(types[0]["name"], "Rust Fundamentals", "{types}");
    assert_eq!(types[0]["supply"], 1, "one live credential: {types}");
    let (s, one) = get(&base, &format!("/v1/types/{t}")).await?;
    assert_eq!((s, one["id"].as_u64()), (200, Some(h.type_id)));
    assert!(one["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == "revocable")));
    let (s, e) = get(&base, "/v1/types/999").await?;
    assert_eq!((s, e["error"].as_str()), (404, Some("not_found")), "{e}");
    let (s, e) = get(&base, "/v1/types/abc").await?;
    assert_eq!(
        (s, e["error"].as_str(), e["field"].as_str()),
        (400, Some("invalid_type"), Some("id")),
        "{e}"
    );
    let (s, tiers) = get(&base, "/v1/tiers").await?;
    assert_eq!((s, tiers.as_array().map(Vec::len)), (200, Some(0)));

    let (s, creds) = get(&base, &format!("/v1/holders/{a:#x}/credentials")).await?;
    assert_eq!(s, 200);
    assert_eq!(creds["reflects"]["block"], head, "{creds}");
    let c = &creds["credentials"][0];
    assert_eq!(
        (c["status"].as_str(), c["valid"].as_bool()),
        (Some("active"), Some(true)),
        "{creds}"
    );
    assert_eq!(c["type_name"], "Rust Fundamentals");
    let (s, creds) = get(&base, &format!("/v1/holders/{b:#x}/credentials")).await?;
    assert_eq!(s, 200);
    assert_eq!(creds["credentials"][0]["status"], "revoked");
    assert_eq!(creds["credentials"][0]["reason"], 4);
    let (s, ms) = get(&base, &format!("/v1/holders/{a:#x}/memberships")).await?;
    assert_eq!(
        (s, ms["memberships"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    let (s, e) = get(
        &base,
        "/v1/holders/0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD/credentials",
    )
    .await?;
    assert_eq!(
        (s, e["error"].as_str(), e["field"].as_str()),
        (400, Some("invalid_address"), Some("address")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("checksum")),
        "{e}"
    );

    for source in ["mirror", "chain"] {
        let (s, v) = get(
            &base,
            &format!("/v1/verify?holder={a:#x}&type={t}&source={source}"),
        )
        .await?;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (v["valid"].as_bool(), v["status"].as_str()),
            (Some(true), Some("active")),
            "{v}"
        );
        assert_eq!(v["source"], source);
        assert_eq!(v["reflects"]["block"], head);
        assert!(v["check_yourself"]
            .as_str()
            .is_some_and(|c| c.starts_with("cast call ")));
        let (_, v) = get(
            &base,
            &format!("/v1/verify?holder={b:#x}&type={t}&source={source}"),
        )
        .await?;
        assert_eq!(
            (
                v["valid"].as_bool(),
                v["status"].as_str(),
                v["reason"].as_u64()
            ),
            (Some(false), Some("revoked"), Some(4)),
            "{v}"
        );
        let (_, v) = get(
            &base,
            &format!(
                "/v1/verify?holder={:#x}&type={t}&source={source}",
                holder(3)
            ),
        )
        .await?;
        assert_eq!(
            (v["valid"].as_bool(), v["status"].as_str()),
            (Some(false), Some("none")),
            "{v}"
        );
        let (s, e) = get(
            &base,
            &format!("/v1/verify?holder={a:#x}&type=999&source={source}"),
        )
        .await?;
        assert_eq!(s, 404, "{e}");
    }
    for (query, field) in [
        (format!("holder={a:#x}"), "type"),
        (format!("type={t}"), "holder"),
        (format!("holder=0x12&type={t}"), "holder"),
        (format!("holder={a:#x}&type=-1"), "type"),
        (format!("holder={a:#x}&type={t}&source=oracle"), "source"),
    ] {
        let (s, e) = get(&base, &format!("/v1/verify?{query}")).await?;
        assert_eq!((s, e["field"].as_str()), (400, Some(field)), "{query}: {e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    // Wallet metadata: tokenURI = <base URI><token id>, which the deployment points at this server.
    let token = |who: alloy::primitives::Address| {
        (alloy::primitives::U256::from(h.type_id) << 160)
            | alloy::primitives::U256::from_be_slice(who.as_slice())
    };
    let (s, m) = get(&base, &format!("/v1/metadata/31337/{}", token(a))).await?;
    assert_eq!(
        (s, m["name"].as_str()),
        (200, Some("Rust Fundamentals")),
        "{m}"
    );
    let attr = |m: &Value, k: &str| {
        m["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["trait_type"] == k))
            .map(|x| x["value"].clone())
    };
    assert_eq!(attr(&m, "Status"), Some(Value::from("active")), "{m}");
    assert!(attr(&m, "Issued")
        .and_then(|v| v.as_u64())
        .is_some_and(|t| t > 0));
    let image = m["image"].as_str().unwrap_or_default().to_string();
    assert!(
        image.ends_with(&format!("/{}/image.svg", token(a))),
        "{image}"
    );
    let svg = reqwest::get(format!("{base}/v1/metadata/31337/{}/image.svg", token(a))).await?;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert_eq!(svg.headers()["x-content-type-options"], "nosniff");
    let csp = svg.headers()["content-security-policy"].to_str()?;
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("script"),
        "{csp}"
    );
    let svg = svg.text().await?;
    assert!(
        svg.starts_with("<svg") && svg.contains("Rust Fundamentals") && svg.contains(">active<"),
        "{svg}"
    );
    // The same drawing as a PNG (for previews and places without SVG), with nothing baked in.
    let png = reqwest::get(format!("{base}/v1/metadata/31337/{}/image.png", token(a))).await?;
    assert_eq!(png.headers()["content-type"], "image/png");
    let png = png.bytes().await?;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[16..24], &[0, 0, 1, 144, 0, 0, 1, 144], "400 x 400");
    assert!(laurel::credentials::baking::extract_png(&png).is_none());
    let (_, m) = get(&base, &format!("/v1/metadata/31337/{:#x}", token(b))).await?;
    assert_eq!(
        attr(&m, "Status"),
        Some(Value::from("revoked")),
        "hex token ids work too: {m}"
    );
    let svg = reqwest::get(format!("{base}/v1/metadata/31337/{}/image.svg", token(b)))
        .await?
        .text()
        .await?;
    assert!(svg.contains(">revoked<"), "{svg}");
    let (s, e) = get(&base, &format!("/v1/metadata/1/{}", token(a))).await?;
    assert_eq!(
        (s, e["error"].as_str()),
        (404, Some("not_found")),
        "another chain: {e}"
    );
    let (s, e) = get(&base, "/v1/metadata/31337/12ab").await?;
    assert_eq!((s, e["field"].as_str()), (400, Some("tokenId")), "{e}");
    let (s, _) = get(&base, "/v1/membership-metadata/31337/5").await?;
    assert_eq!(s, 404);

    // A path value that does not decode gets the API's JSON error, not axum's plain text.
    let (s, e) = get(&base, "/v1/types/%FF").await?;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_path")), "{e}");
    // A query value that is not UTF-8 decodes lossily, and is then refused for what it is.
    let (s, e) = get(&base, "/v1/verify?holder=%FF&type=1").await?;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_address")),
        "{e}"
    );
    let page = reqwest::get(format!("{base}/verify")).await?;
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let csp = page.headers()["content-security-policy"].to_str()?;
    assert!(
        csp.contains("default-src 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    let json = reqwest::get(format!("{base}/v1/types")).await?;
    assert_eq!(json.headers()["x-content-type-options"], "nosniff");
    assert!(json.headers().get("content-security-policy").is_none());

    let (s, e) = get(&base, "/v1/nothing-here").await?;
    assert_eq!((s, e["error"].as_str()), (404, Some("not_found")));
    let (s, health) = get(&base, "/healthz").await?;
    assert_eq!((s, health["status"].as_str()), (200, Some("ok")));
    let (s, doc) = get(&base, "/openapi.json").await?;
    assert_eq!(s, 200);
    for path in [
        "/v1/verify",
        "/v1/types/{id}",
        "/v1/holders/{address}/credentials",
        "/readyz",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let docs = reqwest::get(format!("{base}/docs")).await?.text().await?;
    assert!(
        docs.contains("/v1/verify")
            && docs.contains("/v1/issuances")
            && docs.contains("/openapi.json"),
        "{docs}"
    );
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    assert!(
        metric(&metrics, "laurel_indexer_events_total").is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    assert!(
        metric(&metrics, "laurel_indexer_indexed_block").is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    let types_ok = "laurel_http_requests_total{method=\"GET\",route=\"/v1/types\",status=\"200\"}";
    assert!(
        metric(&metrics, types_ok).is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    let unmatched = "laurel_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}";
    assert!(
        metric(&metrics, unmatched).is_some_and(|n| n >= 1.0),
        "{metrics}"
    );

    // CORS is open for the public reads, and every response carries a request id.
    let r = reqwest::Client::new()
        .get(format!("{base}/v1/types"))
        .header("origin", "https://employer.example")
        .send()
        .await?;
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers().contains_key("x-request-id"));
    assert!(r.headers()["cache-control"].to_str()?.contains("max-age"));

    drop(serve);
    h.db.drop_now().await
}

/// Runs headless Chromium (Debian's package, installed by scripts/setup) with `args`.
pub(crate) fn chromium(args: &[&str]) -> Result<std::process::Output> {
    let bin = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| {
            std::process::Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "headless Chromium is not installed: run scripts/setup (apt-get install chromium)"
            )
        })?;
    Ok(std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
        ])
        .args(args)
        .output()?)
}

#[tokio::test]
async fn the_verify_page_renders_in_headless_chromium_without_javascript() -> Result<()> {
    let h = Harness::new().await?;
    let (a, b) = issue_two_revoke_second(&h, "2")?;
    let (serve, base, _) = start(&h).await?;

    // Server-rendered: the HTML itself carries the answers, and no script is needed.
    let html = reqwest::get(format!("{base}/verify/{a:#x}"))
        .await?
        .text()
        .await?;
    assert!(
        !html.contains("<script"),
        "the page must work without JavaScript"
    );
    assert!(html.contains("name=\"viewport\""), "readable on a phone");
    for want in [
        "Rust Fundamentals",
        "Valid",
        "cast call",
        "isValid(address,uint256)(bool)",
        "Reflects",
    ] {
        assert!(html.contains(want), "{want} missing: {html}");
    }
    // Each credential links to its Open Badges document, and the link answers.
    let token = laurel::domain::token_id(h.type_id, a);
    let link = format!("/v1/credentials/31337/{token}/ob3");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    let (s, doc) = get(&base, &link).await?;
    assert_eq!(
        (s, doc["type"][1].as_str()),
        (200, Some("OpenBadgeCredential"))
    );
    let html = reqwest::get(format!("{base}/verify?address={b:#x}"))
        .await?
        .text()
        .await?;
    assert!(
        html.contains("Revoked") && html.contains("Reason code"),
        "{html}"
    );
    let r = reqwest::get(format!("{base}/verify?address=0x1234")).await?;
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await?.contains("is not an address"));
    let form = reqwest::get(format!("{base}/verify")).await?.text().await?;
    assert!(form.contains("<form") && form.contains("name=\"address\""));

    // Headless Chromium renders it at a phone's width; the screenshot is kept for people to look at.
    let shots = super::support::root().join("target/screenshots");
    std::fs::create_dir_all(&shots)?;
    let png = shots.join("verify-page.png");
    let _ = std::fs::remove_file(&png);
    let url = format!("{base}/verify/{a:#x}");
    let out = chromium(&[
        "--window-size=412,915",
        &format!("--screenshot={}", png.display()),
        &url,
    ])?;
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png)?;
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 5_000,
        "a real PNG ({} bytes)",
        bytes.len()
    );
    let dom = chromium(&["--dump-dom", &url])?;
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("Rust Fundamentals") && dom.contains("Valid"),
        "{dom}"
    );
    drop(serve);
    h.db.drop_now().await
}

async fn post(
    base: &str,
    key: Option<&str>,
    idem: Option<&str>,
    body: String,
) -> Result<(u16, Value)> {
    let mut r = reqwest::Client::new()
        .post(format!("{base}/v1/issuances"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    if let Some(i) = idem {
        r = r.header("idempotency-key", i);
    }
    json_of(r.send().await?).await
}

/// The status and JSON body of a response (panics, showing the body, when it is not JSON).
async fn json_of(r: reqwest::Response) -> Result<(u16, Value)> {
    let status = r.status().as_u16();
    let text = r.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")),
    ))
}

#[tokio::test]
async fn admin_issuance_needs_a_scoped_key_is_all_or_nothing_and_idempotent() -> Result<()> {
    let h = Harness::new().await?;
    let (serve, base, _) = start(&h).await?;
    let create = |name: &str, scopes: &str| h.api_key(name, scopes);
    let issuer = create("erp", "issue")?;
    let reader = create("dashboard", "read")?;
    assert!(issuer.starts_with("lrl_") && issuer.len() > 60);
    let (h1, h2) = (format!("{:#x}", holder(1)), format!("{:#x}", holder(2)));
    let batch = format!(
        r#"{{"issuances":[{{"type":1,"holder":"{h1}"}},{{"type":1,"holder":"{h2}","expires":"2030-01-01"}}]}}"#
    );

    let (s, e) = post(&base, None, None, batch.clone()).await?;
    assert_eq!((s, e["error"].as_str()), (401, Some("unauthorized")), "{e}");
    let (s, _) = post(&base, Some("lrl_nonsense"), None, batch.clone()).await?;
    assert_eq!(s, 401);
    let (s, e) = post(&base, Some(&reader), None, batch.clone()).await?;
    assert_eq!((s, e["error"].as_str()), (403, Some("forbidden")), "{e}");

    let (s, first) = post(&base, Some(&issuer), Some("batch-1"), batch.clone()).await?;
    assert_eq!(s, 202, "{first}");
    assert_eq!(first["created"], true);
    let ids: Vec<i64> = first["issuances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    let (s, again) = post(&base, Some(&issuer), Some("batch-1"), batch.clone()).await?;
    assert_eq!(
        (s, again["created"].as_bool()),
        (202, Some(false)),
        "{again}"
    );
    let again_ids: Vec<i64> = again["issuances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(again_ids, ids, "a repeat returns the first result");

    // All or nothing: two bad items, nothing queued.
    let bad = format!(
        r#"{{"issuances":[{{"type":1,"holder":"0x12"}},{{"type":99,"holder":"{:#x}"}}]}}"#,
        holder(3)
    );
    let (s, e) = post(&base, Some(&issuer), None, bad).await?;
    assert_eq!(
        (s, e["error"].as_str()),
        (422, Some("invalid_items")),
        "{e}"
    );
    assert_eq!(e["items"][0]["field"], "holder");
    assert_eq!(e["items"][1]["index"], 1, "{e}");
    assert!(
        e["items"][1]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{e}"
    );
    // A mixed batch: two good items and one bad. The bad one is reported and the good ones are not queued.
    let mixed = format!(
        r#"{{"issuances":[{{"type":1,"holder":"{:#x}"}},{{"type":99,"holder":"{:#x}"}},{{"type":1,"holder":"{:#x}"}}]}}"#,
        holder(4),
        holder(5),
        holder(6)
    );
    let (s, e) = post(&base, Some(&issuer), None, mixed).await?;
    assert_eq!(
        (s, e["error"].as_str()),
        (422, Some("invalid_items")),
        "{e}"
    );
    assert_eq!(e["items"].as_array().map(Vec::len), Some(1), "{e}");
    assert_eq!(e["items"][0]["index"], 1, "{e}");
    let queued: Vec<alloy::primitives::Address> = h
        .store
        .request_states(31337)
        .await?
        .into_iter()
        .map(|(who, _)| who)
        .collect();
    assert_eq!(queued.len(), 2, "only the first batch's two: {queued:?}");
    for i in [3, 4, 5, 6] {
        assert!(!queued.contains(&holder(i)), "holder {i} was queued");
    }
    // A re-POST under the used Idempotency-Key with other items: item 0 repeats, item 1 reuses its key for
    // another holder, item 2 is new. The whole batch is refused and the new item is not queued either.
    let changed = format!(
        r#"{{"issuances":[{{"type":1,"holder":"{h1}"}},{{"type":1,"holder":"{:#x}"}},{{"type":1,"holder":"{:#x}"}}]}}"#,
        holder(7),
        holder(8)
    );
    let (s, e) = post(&base, Some(&issuer), Some("batch-1"), changed).await?;
    assert_eq!(
        (s, e["error"].as_str()),
        (422, Some("invalid_items")),
        "{e}"
    );
    assert_eq!(e["items"].as_array().map(Vec::len), Some(1), "{e}");
    assert_eq!(e["items"][0]["index"], 1, "{e}");
    assert!(
        e["items"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("already used by request {}", ids[1])),
        "{e}"
    );
    let queued: Vec<alloy::primitives::Address> = h
        .store
        .request_states(31337)
        .await?
        .into_iter()
        .map(|(who, _)| who)
        .collect();
    assert_eq!(
        queued.len(),
        2,
        "still only the first batch's two: {queued:?}"
    );
    assert!(
        !queued.contains(&holder(7)) && !queued.contains(&holder(8)),
        "{queued:?}"
    );
    let (s, e) = post(&base, Some(&issuer), None, "{not json".into()).await?;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_json")), "{e}");
    let many = format!(
        r#"{{"issuances":[{}]}}"#,
        (0..1001)
            .map(|i| format!(r#"{{"type":1,"holder":"{:#x}"}}"#, holder(10_000 + i)))
            .collect::<Vec<_>>()
            .join(",")
    );
    let (s, e) = post(&base, Some(&issuer), None, many).await?;
    assert_eq!(s, 413, "{e}");
    assert!(e["message"].as_str().unwrap().contains("1000"), "{e}");

    // Requests are their caller's: another key (even one with the read scope) does not see them.
    let r = reqwest::Client::new()
        .get(format!("{base}/v1/issuances/{}", ids[0]))
        .bearer_auth(&reader)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 404);
    let v: Value = r.json().await?;
    assert_eq!(v["error"], "not_found", "{v}");
    // The running serve issues them; the issuing key follows them to confirmation.
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in &ids {
        loop {
            let r = reqwest::Client::new()
                .get(format!("{base}/v1/issuances/{id}"))
                .bearer_auth(&issuer)
                .send()
                .await?;
            assert_eq!(r.status().as_u16(), 200);
            let v: Value = r.json().await?;
            if v["state"] == "confirmed" {
                assert!(v["tx_hash"].as_str().is_some_and(|t| t.len() == 66), "{v}");
                assert!(v["block"].as_u64().is_some(), "{v}");
                break;
            }
            if Instant::now() > deadline {
                bail!("request {id} not confirmed: {v}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert_eq!(h.mints().await?, 2);

    // /metrics counts the requests above by route template, method and status, and shows the worker's
    // batches and the queue as the store holds it.
    let text = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    let posted = |status: &str| {
        metric(
            &text,
            &format!(
                "laurel_http_requests_total{{method=\"POST\",route=\"/v1/issuances\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(posted("401"), Some(2.0), "{text}");
    assert_eq!(posted("403"), Some(1.0), "{text}");
    assert_eq!(posted("413"), Some(1.0), "{text}");
    assert!(posted("202").is_some_and(|n| n >= 1.0), "{text}");
    let polled =
        "laurel_http_requests_total{method=\"GET\",route=\"/v1/issuances/{id}\",status=\"200\"}";
    assert!(metric(&text, polled).is_some_and(|n| n >= 2.0), "{text}");
    assert!(
        !text.contains(&format!("route=\"/v1/issuances/{}", ids[0])),
        "raw paths are not labels: {text}"
    );
    // The indexer may confirm the requests before the worker's next tick reads the batch's receipt: the
    // worker's counters catch up within a few ticks.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (sent, mined, worker_text) = loop {
        let text = reqwest::get(format!("{base}/metrics"))
            .await?
            .text()
            .await?;
        let sent = metric(&text, "laurel_worker_batches_sent_total").unwrap_or(0.0);
        let mined = metric(&text, "laurel_worker_batches_mined_total").unwrap_or(0.0);
        if mined >= 1.0 || Instant::now() > deadline {
            break (sent, mined, text);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        sent >= 1.0 && mined >= 1.0 && mined <= sent,
        "{worker_text}"
    );
    assert_eq!(
        metric(&text, "laurel_queue_requests{status=\"confirmed\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "laurel_queue_requests{status=\"queued\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "laurel_queue_oldest_pending_age_seconds"),
        Some(0.0),
        "{text}"
    );
    let timed =
        "laurel_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/issuances\"}";
    assert!(metric(&text, timed).is_some_and(|n| n >= 5.0), "{text}");

    let r = reqwest::Client::new()
        .get(format!("{base}/v1/issuances/999999"))
        .bearer_auth(&reader)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 404);

    // Status changes, sent by the server's key for a key with the scope; refusals name the chain's reason.
    let changer = create("registrar", "revoke,renew,membership")?;
    let send = |path: &'static str, key: String, body: String| {
        let base = base.clone();
        async move {
            let r = reqwest::Client::new()
                .post(format!("{base}{path}"))
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await?;
            let status = r.status().as_u16();
            Ok::<_, anyhow::Error>((status, r.json::<Value>().await?))
        }
    };
    let (s, e) = send(
        "/v1/revocations",
        issuer.clone(),
        format!(r#"{{"type":1,"holder":"{h1}","reason":5}}"#),
    )
    .await?;
    assert_eq!(s, 403, "the issue scope does not revoke: {e}");
    let (s, e) = send(
        "/v1/suspensions",
        changer.clone(),
        format!(r#"{{"type":1,"holder":"{h1}","reason":1}}"#),
    )
    .await?;
    assert_eq!((s, e["error"].as_str()), (422, Some("refused")), "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("cannot be suspended"),
        "{e}"
    );
    let (s, done) = send(
        "/v1/revocations",
        changer.clone(),
        format!(r#"{{"type":1,"holder":"{h1}","reason":5}}"#),
    )
    .await?;
    assert_eq!(s, 200, "{done}");
    assert!(
        done["tx_hash"].as_str().is_some_and(|t| t.len() == 66),
        "{done}"
    );
    let (s, e) = send(
        "/v1/revocations",
        changer.clone(),
        format!(r#"{{"type":1,"holder":"{h1}","reason":5}}"#),
    )
    .await?;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("no live credential"),
        "{e}"
    );
    let (s, e) = send(
        "/v1/renewals",
        changer.clone(),
        format!(r#"{{"type":1,"holder":"{h2}"}}"#),
    )
    .await?;
    assert_eq!((s, e["field"].as_str()), (400, Some("until")), "{e}");
    let (s, e) = send(
        "/v1/revocations",
        changer.clone(),
        r#"{"type":1,"holder":"0x12"}"#.into(),
    )
    .await?;
    assert_eq!((s, e["field"].as_str()), (400, Some("holder")), "{e}");
    let (s, e) = send(
        "/v1/membership-grants",
        changer.clone(),
        format!(r#"{{"tier":7,"holder":"{h2}"}}"#),
    )
    .await?;
    assert_eq!(s, 422, "no such tier: {e}");
    assert!(!h.valid_on_chain(holder(1)).await?, "revoked on chain");

    // A revoked key stops working.
    let out = h.laurel(&["admin", "key", "list"]).output()?;
    let list = String::from_utf8(out.stdout)?;
    assert!(
        list.contains("erp") && list.contains("live") && !list.contains(&issuer),
        "{list}"
    );
    let id = list
        .lines()
        .find(|l| l.contains("erp"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(h
        .laurel(&["admin", "key", "revoke", &id])
        .status()?
        .success());
    let (s, _) = post(&base, Some(&issuer), None, batch).await?;
    assert_eq!(s, 401);
    drop(serve);
    h.db.drop_now().await
}

/// A SIGTERM while a request is in flight: the request still gets its full answer, then the process exits
/// cleanly and stops accepting connections.
#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_then_exits() -> Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Harness::new().await?;
    let (mut serve, base, _) = start(&h).await?;
    let key = h.api_key("drain", "issue")?;
    let body = format!(
        r#"{{"issuances":[{{"type":1,"holder":"{:#x}"}}]}}"#,
        holder(77)
    );
    let (first, rest) = body.split_at(body.len() / 2);
    let addr = base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    // The head and half of the body: the server has the request and is reading its body.
    conn.write_all(
        format!(
            "POST /v1/issuances HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
            body.len()
        )
        .as_bytes(),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    serve.terminate()?;
    serve.wait_for_log("HTTP shutting down", Duration::from_secs(10))?;
    assert!(
        serve.wait_for_exit(Duration::ZERO)?.is_none(),
        "the server waits for the request in flight"
    );
    conn.write_all(rest.as_bytes()).await?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(20), conn.read_to_string(&mut response)).await??;
    assert!(
        response.starts_with("HTTP/1.1 202"),
        "the request in flight is answered in full: {response}"
    );
    assert!(response.contains(r#""state":"queued""#), "{response}");
    let status = serve
        .wait_for_exit(Duration::from_secs(30))?
        .context("the server did not exit after its last request")?;
    assert!(status.success(), "clean exit: {status}");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no new connections after shutdown"
    );
    Ok(())
}

/// Sends `body` to `path`, signed with EIP-712 by `account` at `issued_at`; the status and JSON answer.
pub(crate) async fn signed(
    h: &Harness,
    base: &str,
    account: &alloy::signers::local::PrivateKeySigner,
    (method, path, body): (&str, &str, &str),
    issued_at: u64,
) -> Result<(u16, Value)> {
    use alloy::signers::SignerSync;
    let digest = laurel::api::auth::signing_digest(
        31337,
        h.registry,
        method,
        path,
        body.as_bytes(),
        issued_at,
    );
    let signature = account.sign_hash_sync(&digest)?;
    let r = reqwest::Client::new()
        .request(method.parse()?, format!("{base}{path}"))
        .header(
            "authorization",
            format!("EIP712 0x{}", alloy::hex::encode(signature.as_bytes())),
        )
        .header("x-laurel-issued-at", issued_at.to_string())
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    json_of(r).await
}

#[tokio::test]
async fn an_account_holding_the_on_chain_role_signs_admin_requests_with_eip712() -> Result<()> {
    use alloy::signers::local::PrivateKeySigner;
    let h = Harness::new().await?;
    let (_serve, base, _) = start(&h).await?;
    let issuer = PrivateKeySigner::random();
    let outsider = PrivateKeySigner::random();
    let (code, out) = h.run(&[
        "gov",
        "role",
        "grant",
        "--issuer",
        "--type",
        "1",
        "--account",
        &format!("{:#x}", issuer.address()),
    ])?;
    anyhow::ensure!(code == 0, "grant failed: {out}");
    wait_for_head(&h, &base).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let body = format!(
        r#"{{"issuances":[{{"type":1,"holder":"{:#x}"}}]}}"#,
        holder(41)
    );
    let req = ("POST", "/v1/issuances", body.as_str());

    // The issuer's signature is accepted, once.
    let (s, accepted) = signed(&h, &base, &issuer, req, now).await?;
    assert_eq!(s, 202, "{accepted}");
    let (s, e) = signed(&h, &base, &issuer, req, now).await?;
    assert_eq!(s, 401, "a replay is refused: {e}");
    assert!(
        e["message"].as_str().unwrap().contains("already used"),
        "{e}"
    );
    // A fresh signature reads the request back (any role may read).
    let id = accepted["issuances"][0]["id"].as_i64().context("no id")?;
    let path = format!("/v1/issuances/{id}");
    let (s, st) = signed(&h, &base, &issuer, ("GET", &path, ""), now + 1).await?;
    assert_eq!((s, st["id"].as_i64()), (200, Some(id)), "{st}");

    // An account without the role, a stale signature, and a body changed after signing.
    let (s, e) = signed(&h, &base, &outsider, req, now).await?;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("holds no issuer role"),
        "{e}"
    );
    let (s, e) = signed(&h, &base, &issuer, req, now - 3_600).await?;
    assert_eq!(s, 401, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("sign it again"),
        "{e}"
    );
    let other_type = format!(
        r#"{{"issuances":[{{"type":2,"holder":"{:#x}"}}]}}"#,
        holder(42)
    );
    let (s, e) = signed(
        &h,
        &base,
        &issuer,
        ("POST", "/v1/issuances", &other_type),
        now + 2,
    )
    .await?;
    assert_eq!(s, 403, "the role is per type: {e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("issuer role of type 2"),
        "{e}"
    );
    // The issuer role does not revoke.
    let revoke = format!(r#"{{"type":1,"holder":"{:#x}","reason":1}}"#, holder(41));
    let (s, e) = signed(
        &h,
        &base,
        &issuer,
        ("POST", "/v1/revocations", &revoke),
        now + 3,
    )
    .await?;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("revoker role"),
        "{e}"
    );
    // A tampered body: the signature recovers some other account, which holds nothing.
    let digest_for_body = |b: &str| {
        laurel::api::auth::signing_digest(
            31337,
            h.registry,
            "POST",
            "/v1/issuances",
            b.as_bytes(),
            now + 4,
        )
    };
    use alloy::signers::SignerSync;
    let sig = issuer.sign_hash_sync(&digest_for_body(&body))?;
    let tampered = body.replace(&format!("{:#x}", holder(41)), &format!("{:#x}", holder(43)));
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/issuances"))
        .header(
            "authorization",
            format!("EIP712 0x{}", alloy::hex::encode(sig.as_bytes())),
        )
        .header("x-laurel-issued-at", (now + 4).to_string())
        .body(tampered)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 403, "{}", r.text().await?);
    let (s, e) = get(&base, "/v1/issuances/1").await?;
    assert_eq!(s, 401, "no credentials at all: {e}");
    Ok(())
}

/// `/readyz` of `base`: status code and body.
async fn readyz(base: &str) -> Result<(u16, Value)> {
    get(base, "/readyz").await
}

/// Polls `/readyz` of `base` until `pred` holds for its answer, for up to 60 s.
async fn wait_readyz(base: &str, what: &str, pred: impl Fn(u16, &Value) -> bool) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (s, v) = readyz(base).await?;
        if pred(s, &v) {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("/readyz never showed {what}: {s} {v}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_standby_serve_takes_over_when_the_indexer_dies_and_readyz_refuses_while_it_cannot_serve(
) -> Result<()> {
    let h = Harness::new().await?;
    let (mut a, _, _) = start(&h).await?;
    a.wait_for_log("indexer started", Duration::from_secs(30))?;
    let mut b = h.serve(0, &[])?;
    let base_b = format!("http://{}", b.listening_addr(Duration::from_secs(60))?);
    wait_readyz(&base_b, "ready", |s, _| s == 200).await?;
    assert!(!b.logged("indexer started")?, "b stands by while a indexes");

    // The indexer hangs (its lock is still held) while the chain moves on: b is not ready, and says why.
    a.signal("STOP")?;
    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    provider
        .raw_request::<_, Value>("anvil_mine".into(), ("0x1e",))
        .await?;
    let v = wait_readyz(&base_b, "the lag", |s, _| s == 503).await?;
    assert_eq!(v["status"], "unavailable", "{v}");
    assert!(
        v["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("blocks behind the head")),
        "{v}"
    );

    // The indexer dies: its lock goes with its connection, b takes over and catches up.
    a.signal("KILL")?;
    let v = wait_readyz(&base_b, "ready again", |s, _| s == 200).await?;
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["indexed_block"], v["chain_head"], "{v}");
    assert!(b.logged("indexer started")?, "b took over the indexing");
    // And b alone issues and confirms.
    h.queue_holders("takeover.csv", 1..=3)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while h
        .store
        .request_states(31337)
        .await?
        .iter()
        .any(|(_, s)| s != "confirmed")
    {
        if Instant::now() > deadline {
            bail!("b did not confirm the requests");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(h.mints().await?, 3);

    // The node goes away: not ready, and the body names it.
    drop(h.node);
    let v = wait_readyz(&base_b, "the node down", |s, _| s == 503).await?;
    assert!(
        v["problems"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p == "the node does not answer")),
        "{v}"
    );
    drop(b);
    h.db.drop_now().await
}
