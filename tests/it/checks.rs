//! Checking what a candidate sends (`POST /v1/credential-checks` and the verify page's upload form): a
//! valid credential in each form it travels in, a revoked one, a tampered one, another issuer's, and
//! garbage — each with the verdict and the failing check's reason, and never a 5xx.

use alloy::transports::http::reqwest;
use anyhow::Result;
use serde_json::Value;

use super::api::{issue_two_revoke_second, start};
use super::badges::token;
use super::support::Harness;

async fn check(base: &str, body: Vec<u8>) -> Result<(u16, Value)> {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/credential-checks"))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    let text = r.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

fn failed(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter(|c| c["ok"] == false)
                .map(|c| {
                    format!(
                        "{}: {}",
                        c["name"].as_str().unwrap_or(""),
                        c["detail"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn bytes(url: String) -> Result<Vec<u8>> {
    Ok(reqwest::get(url).await?.bytes().await?.to_vec())
}

/// A multipart form with one file field.
fn multipart(name: &str, filename: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "laurel-test-boundary-7d1f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"credential\"\r\n\r\n\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn what_a_candidate_sends_gets_each_check_and_its_reason_and_garbage_never_a_5xx(
) -> Result<()> {
    let h = Harness::new().await?;
    let (a, b) = issue_two_revoke_second(&h, "4")?;
    let (_serve, base, _) = start(&h).await?;
    let t = h.type_id;
    let doc = |w| format!("{base}/v1/credentials/31337/{}", token(t, w));

    // A valid credential: as JSON, as a VC-JWT, and baked in a PNG and an SVG.
    for (form, body) in [
        ("json", bytes(format!("{}/ob3", doc(a))).await?),
        ("jwt", bytes(format!("{}/ob3?format=jwt", doc(a))).await?),
        ("png", bytes(format!("{}/badge.png", doc(a))).await?),
        (
            "svg",
            bytes(format!("{}/badge.svg?format=jwt", doc(a))).await?,
        ),
    ] {
        let (s, r) = check(&base, body).await?;
        assert_eq!(s, 200, "{r}");
        assert_eq!(
            (r["valid"].as_bool(), r["form"].as_str()),
            (Some(true), Some(form)),
            "{form}: {:?}",
            failed(&r)
        );
        assert!(
            failed(&r).is_empty(),
            "{form}: even the claim check passes: {:?}",
            failed(&r)
        );
    }

    // Revoked: genuine, but the status and the chain say no.
    let (s, r) = check(&base, bytes(format!("{}/ob3", doc(b))).await?).await?;
    assert_eq!((s, r["valid"].as_bool()), (200, Some(false)), "{r}");
    let why = failed(&r);
    assert!(
        why.iter()
            .any(|w| w.starts_with("status: revoked on chain (reason code 4)")),
        "{why:?}"
    );
    assert!(
        why.iter().any(|w| w.starts_with("chain: isValid(")),
        "{why:?}"
    );
    assert!(
        !why.iter().any(|w| w.starts_with("signature")),
        "the signature is fine: {why:?}"
    );

    // Tampered: the JSON's achievement renamed, and a JWT's payload swapped under its signature.
    let mut tampered: Value = serde_json::from_slice(&bytes(format!("{}/ob3", doc(a))).await?)?;
    tampered["credentialSubject"]["achievement"]["name"] = "Principal Engineer".into();
    let (_, r) = check(&base, tampered.to_string().into_bytes()).await?;
    assert_eq!(r["valid"], false);
    assert!(
        failed(&r)
            .iter()
            .any(|w| w.contains("changed after it was signed")),
        "{:?}",
        failed(&r)
    );
    let jwt_a = String::from_utf8(bytes(format!("{}/ob3?format=jwt", doc(a))).await?)?;
    let jwt_b = String::from_utf8(bytes(format!("{}/ob3?format=jwt", doc(b))).await?)?;
    let (pa, pb): (Vec<&str>, Vec<&str>) = (jwt_a.split('.').collect(), jwt_b.split('.').collect());
    let swapped = format!("{}.{}.{}", pa[0], pb[1], pa[2]);
    let (_, r) = check(&base, swapped.into_bytes()).await?;
    assert!(
        failed(&r).iter().any(|w| w.starts_with("signature:")),
        "{r}"
    );

    // Another issuer's credential (signed by Digital Bazaar's library with a key of its own).
    let foreign = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/integrity/credential.signed.json"
    ))?;
    let (_, r) = check(&base, foreign).await?;
    assert_eq!(r["valid"], false);
    let why = failed(&r);
    assert!(
        why.iter()
            .any(|w| w.starts_with("issuer: issued by did:key:z6Mkon3N")),
        "{why:?}"
    );
    assert!(why.iter().any(|w| w.starts_with("signature:")), "{why:?}");

    // Garbage: a clear 4xx, never a 5xx.
    let png_plain = bytes(format!(
        "{base}/v1/metadata/31337/{}/image.png",
        token(t, a)
    ))
    .await?;
    for (what, body, want) in [
        ("text", b"hello, this is my badge".to_vec(), 400),
        ("binary", vec![0u8, 159, 146, 150, 255, 1, 2], 400),
        ("empty", Vec::new(), 400),
        ("unbaked png", png_plain, 400),
        ("a JSON array", b"[1, 2, 3]".to_vec(), 400),
        ("huge", vec![b'{'; 3 << 20], 413),
    ] {
        let (s, r) = check(&base, body).await?;
        assert_eq!(s, want, "{what}: {r}");
        if s == 400 {
            assert!(
                r["message"].as_str().is_some_and(|m| m.len() > 30),
                "{what}: {r}"
            );
        }
    }
    let (s, r) = check(&base, b"{}".to_vec()).await?;
    assert_eq!(
        (s, r["valid"].as_bool()),
        (200, Some(false)),
        "an empty object is checked and fails: {r}"
    );

    // The page: an uploaded baked PNG, a pasted JWT, and garbage.
    let client = reqwest::Client::new();
    let (kind, body) = multipart(
        "file",
        "badge.png",
        &bytes(format!("{}/badge.png", doc(a))).await?,
    );
    let r = client
        .post(format!("{base}/verify/credential"))
        .header("content-type", kind)
        .body(body)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let html = r.text().await?;
    assert!(
        html.contains("Genuine and valid") && html.contains("png received"),
        "{html}"
    );
    let pasted = format!("credential={}", jwt_a.replace('=', "%3D"));
    let r = client
        .post(format!("{base}/verify/credential"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(pasted)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    assert!(r.text().await?.contains("Genuine and valid"));
    let (kind, body) = multipart("file", "cat.gif", b"GIF89a not a badge");
    let r = client
        .post(format!("{base}/verify/credential"))
        .header("content-type", kind)
        .body(body)
        .send()
        .await?;
    assert_eq!(r.status(), 400);
    let html = r.text().await?;
    assert!(
        html.contains("Not a credential") && html.contains("expected a VC-JWT"),
        "{html}"
    );
    let revoked_page = {
        let pasted = format!(
            "credential={}",
            String::from_utf8(bytes(format!("{}/ob3?format=jwt", doc(b))).await?)?
        );
        client
            .post(format!("{base}/verify/credential"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(pasted)
            .send()
            .await?
            .text()
            .await?
    };
    assert!(
        revoked_page.contains("Not valid") && revoked_page.contains("revoked on chain"),
        "{revoked_page}"
    );
    let form = reqwest::get(format!("{base}/verify")).await?.text().await?;
    assert!(form.contains("action=\"/verify/credential\"") && form.contains("type=\"file\""));
    Ok(())
}
