//! Awards by email and their claim links, against the real stack: a CSV of learners becomes a CSV of
//! links; a link opens the claim page; the address typed twice queues the mint, which lands on chain once
//! even when the same link is submitted twice at the same moment; used, withdrawn, expired, replaced and
//! unknown links get a clear page, never a 5xx.

use std::path::Path;

use alloy::primitives::Address;
use alloy::transports::http::reqwest;
use anyhow::{ensure, Context, Result};

use super::api::start;
use super::support::{holder, Harness};

/// The links CSV as (email, award id, claim URL) rows.
fn links(path: &Path) -> Result<Vec<(String, String, String)>> {
    let mut r = csv::Reader::from_path(path)?;
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        out.push((rec[0].to_string(), rec[2].to_string(), rec[3].to_string()));
    }
    Ok(out)
}

/// `url` (on the program's site) as served by this test's server at `base`.
fn local(url: &str, base: &str) -> Result<String> {
    let path = url.split_once("/claim/").context("not a claim link")?.1;
    Ok(format!("{base}/claim/{path}"))
}

async fn submit(url: &str, address: Address, again: &str) -> Result<(u16, String)> {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("address={address:#x}&again={again}"))
        .send()
        .await?;
    Ok((r.status().as_u16(), r.text().await?))
}

async fn page(url: &str) -> Result<(u16, String)> {
    let r = reqwest::get(url).await?;
    Ok((r.status().as_u16(), r.text().await?))
}

#[tokio::test]
async fn learners_without_a_wallet_claim_their_award_once_with_a_link() -> Result<()> {
    let h = Harness::new().await?;
    let csv = h.dir.join("learners.csv");
    std::fs::write(
        &csv,
        "email,learner_id\nAda@Example.edu,L-1\nbob@example.edu,L-2\nnot-an-email,L-3\ncarol@example.edu,L-4\n",
    )?;
    let out = h.dir.join("links.csv");
    let (code, text) = h.run(&[
        "awards",
        "create",
        "--csv",
        csv.to_str().unwrap(),
        "--type",
        "1",
        "--out",
        out.to_str().unwrap(),
    ])?;
    assert_eq!(code, 2, "one line refused: {text}");
    assert!(
        text.contains("line 4: \"not-an-email\" is not an email address"),
        "{text}"
    );
    let rows = links(&out)?;
    assert_eq!(rows.len(), 3, "{rows:?}\n{text}");
    assert_eq!(rows[0].0, "ada@example.edu", "emails are normalised");
    // The same CSV again awards nothing twice (and prints no new link).
    let (_, again) = h.run(&[
        "awards",
        "create",
        "--csv",
        csv.to_str().unwrap(),
        "--type",
        "1",
        "--out",
        out.to_str().unwrap(),
    ])?;
    assert!(
        again.contains("0 new award(s) with a link, 3 awarded before, 1 line(s) refused"),
        "{again}"
    );
    assert!(links(&out)?.is_empty());

    let (_serve, base, _) = start(&h).await?;
    let ada = local(&rows[0].2, &base)?;
    let (s, html) = page(&ada).await?;
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("Claim your credential") && html.contains("Rust Fundamentals"),
        "{html}"
    );
    assert!(
        html.contains("a***@example.edu") && !html.contains("ada@example.edu"),
        "the email is masked"
    );
    assert!(html.contains("name=\"viewport\""), "phone width");

    // Two different addresses typed: refused, nothing queued.
    let learner = holder(501);
    let (s, html) = submit(&ada, learner, &format!("{:#x}", holder(502))).await?;
    assert_eq!(s, 400, "{html}");
    assert!(
        html.contains("the two addresses differ") && html.contains(&learner.to_string()),
        "{html}"
    );
    // A bad checksum: refused with the reason.
    let (s, html) = submit(&ada, learner, "0xAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAbAb").await?;
    assert_eq!(s, 400, "{html}");

    // The same link submitted twice at the same moment, to two addresses: one claim, one mint.
    let other = holder(503);
    let (again_learner, again_other) = (format!("{learner:#x}"), format!("{other:#x}"));
    let (first, second) = tokio::join!(
        submit(&ada, learner, &again_learner),
        submit(&ada, other, &again_other)
    );
    let (first, second) = (first?, second?);
    let statuses = [first.0, second.0];
    ensure!(
        statuses.contains(&200) && statuses.contains(&409),
        "one claim wins: {first:?} {second:?}"
    );
    let winner = if first.0 == 200 { learner } else { other };
    let loser = if winner == learner { other } else { learner };
    h.wait_settled(1, 120).await?;
    let provider = alloy::providers::ProviderBuilder::new().connect_http(h.node.endpoint_url());
    let reg = laurel::chain::bindings::CredentialRegistry::new(h.registry, &provider);
    assert!(
        reg.isValid(winner, alloy::primitives::U256::from(h.type_id))
            .call()
            .await?
    );
    assert!(
        !reg.isValid(loser, alloy::primitives::U256::from(h.type_id))
            .call()
            .await?
    );
    assert_eq!(h.mints().await?, 1, "minted once");
    // Used: a clear page naming where it went.
    let (s, html) = page(&ada).await?;
    assert_eq!(s, 409, "{html}");
    assert!(
        html.contains("already claimed") && html.contains(&winner.to_string()),
        "{html}"
    );
    let (s, _) = submit(&ada, winner, &format!("{winner:#x}")).await?;
    assert_eq!(s, 409, "a second claim by the winner is refused too");

    // Withdrawn, expired, replaced and unknown links.
    let bob = local(&rows[1].2, &base)?;
    let carol = local(&rows[2].2, &base)?;
    h.run(&["awards", "withdraw", &rows[1].1])?;
    let (s, html) = page(&bob).await?;
    assert_eq!(s, 410, "{html}");
    assert!(html.contains("withdrawn"), "{html}");
    let (code, out) = h.run(&["awards", "extend", &rows[2].1, "--days", "0"])?;
    assert_eq!(code, 0, "{out}");
    let (s, html) = page(&carol).await?;
    assert_eq!(s, 410, "{html}");
    assert!(html.contains("expired"), "{html}");
    let (code, fresh) = h.run(&["awards", "resend", &rows[2].1])?;
    assert_eq!(code, 0, "{fresh}");
    let fresh = local(
        fresh
            .lines()
            .find(|l| l.contains("/claim/"))
            .context("no new link")?
            .trim(),
        &base,
    )?;
    assert_eq!(
        page(&carol).await?.0,
        404,
        "the replaced link no longer works"
    );
    assert_eq!(page(&fresh).await?.0, 200, "the new one does");
    let (s, html) = page(&format!("{base}/claim/not-a-real-code-at-all")).await?;
    assert_eq!(s, 404, "{html}");
    assert!(html.contains("not valid"), "{html}");
    let (code, list) = h.run(&["awards", "list"])?;
    assert_eq!(code, 0);
    assert!(
        list.contains("claimed")
            && list.contains("withdrawn")
            && list.contains(&winner.to_string()),
        "{list}"
    );
    let (code, e) = h.run(&["awards", "withdraw", &rows[0].1])?;
    assert!(
        code != 0 && e.contains("is not open"),
        "a claimed award cannot be withdrawn: {e}"
    );
    learner_page(&h, &base, winner, &fresh).await
}

/// The winner's page: the badge, pathway progress, an Add-to-LinkedIn link with its parameters, the
/// Open Graph image (a PNG that decodes), and screenshots at desktop and phone widths, with the claim page.
async fn learner_page(h: &Harness, base: &str, learner: Address, claim_link: &str) -> Result<()> {
    let (code, out) = h.run(&[
        "gov",
        "type",
        "create",
        "--name",
        "Async Rust in Production",
        "--requires",
        "1",
    ])?;
    ensure!(code == 0, "{out}");
    super::api::wait_for_head(h, base).await?;
    let url = format!("{base}/learners/{learner:#x}");
    let (s, html) = page(&url).await?;
    assert_eq!(s, 200, "{html}");
    assert!(!html.contains("<script"), "no JavaScript");
    for want in [
        "Rust Fundamentals",
        "Valid",
        "image.svg",
        "badge.png",
        "/ob3",
        "Share link",
        "QR code",
    ] {
        assert!(html.contains(want), "{want} missing: {html}");
    }
    assert!(
        html.contains("1 of 2 steps of Async Rust in Production"),
        "{html}"
    );
    assert!(
        html.contains("Next: Async Rust in Production (requires Rust Fundamentals)"),
        "{html}"
    );
    let href = html
        .split("href=\"")
        .map(|h| h.split('"').next().unwrap_or(""))
        .find(|h| h.starts_with("https://www.linkedin.com/profile/add"))
        .context("no LinkedIn link")?
        .replace("&amp;", "&");
    let query: std::collections::HashMap<String, String> = href
        .split_once('?')
        .context("no query")?
        .1
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k.to_string(),
                v.replace("%20", " ")
                    .replace("%3A", ":")
                    .replace("%2F", "/"),
            )
        })
        .collect();
    assert_eq!(query["startTask"], "CERTIFICATION_NAME");
    assert_eq!(query["name"], "Rust Fundamentals");
    assert_eq!(query["organizationName"], "Laurel");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let year = laurel::credentials::dates::date(now);
    assert_eq!(query["issueYear"], year[..4]);
    assert!(
        query["certUrl"].ends_with(&format!("/verify/{learner}")),
        "{query:?}"
    );
    assert_eq!(
        query["certId"],
        laurel::domain::token_id(1, learner).to_string()
    );
    let og = html
        .split("property=\"og:image\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .context("no og:image")?;
    assert!(html.contains("twitter:card") && html.contains("summary_large_image"));
    let path = og.split_once("/v1/").context("og:image path")?.1;
    let png = reqwest::get(format!("{base}/v1/{path}"))
        .await?
        .bytes()
        .await?;
    let decoded =
        resvg::tiny_skia::Pixmap::decode_png(&png).context("the og:image is not a PNG")?;
    assert_eq!((decoded.width(), decoded.height()), (400, 400));
    let shots = super::support::root().join("target/screenshots");
    std::fs::create_dir_all(&shots)?;
    for (name, target, size) in [
        ("learner-desktop", url.as_str(), "1280,1000"),
        ("learner-phone", url.as_str(), "412,915"),
        ("claim-desktop", claim_link, "1280,900"),
        ("claim-phone", claim_link, "412,915"),
    ] {
        let file = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&file);
        let out = super::api::chromium(&[
            &format!("--window-size={size}"),
            &format!("--screenshot={}", file.display()),
            target,
        ])?;
        let bytes = std::fs::read(&file).with_context(|| {
            format!(
                "no screenshot {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 5_000,
            "{name}: {} bytes",
            bytes.len()
        );
    }
    let (s, _) = page(&format!("{base}/learners/0x1234")).await?;
    assert_eq!(s, 400);
    Ok(())
}
