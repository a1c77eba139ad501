//! Issue 10's findings, tried as a hostile user would against the real stack (anvil, Postgres and the
//! `laurel` binary): each test plays the attack as the issue wrote it and checks the behaviour after the fix.

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256};
use alloy::providers::ProviderBuilder;
use alloy::transports::http::reqwest;
use anyhow::Result;
use laurel::chain::bindings::CredentialRegistry;
use serde_json::Value;

use super::api::{get, start, wait_for_head};
use super::support::{define_type, holder, Harness};

fn token(type_id: u64, who: Address) -> String {
    laurel::domain::token_id(type_id, who).to_string()
}

/// A co-issuer issues its own type directly on chain with the evidence hash of another type's document
/// (and of a document whose request never confirmed): Laurel serves a chain-only document for it, marked
/// unbound, never the other type's claim signed as bound.
#[tokio::test]
async fn a_borrowed_evidence_hash_gets_no_one_elses_claim() -> Result<()> {
    let h = Harness::new().await?;
    let a = holder(1);
    h.issue(h.type_id, a)?;

    let signer: alloy::signers::local::PrivateKeySigner = h.key_hex.parse()?;
    let wallet = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer.clone()))
        .connect_http(h.node.endpoint_url());
    let reg = CredentialRegistry::new(h.registry, &wallet);
    let other = define_type(&reg, "Borrowed Glory", 0, signer.address(), 3).await?;
    let (serve, base, _) = start(&h).await?;

    let own = reqwest::get(format!(
        "{base}/v1/credentials/31337/{}/ob3",
        token(h.type_id, a)
    ))
    .await?;
    assert_eq!(own.headers()["x-laurel-claim-bound"], "true");
    let stolen: B256 = own.headers()["x-laurel-claim-hash"].to_str()?.parse()?;

    // The attack: type `other`, same holder, the first document's hash as evidence.
    let receipt = reg
        .issue(other, a, 0, stolen)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    let other_id = other.to::<u64>();
    wait_for_head(&h, &base).await?;

    let path = format!("/v1/credentials/31337/{}/ob3", token(other_id, a));
    let r = reqwest::get(format!("{base}{path}")).await?;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-laurel-claim-bound"],
        "false",
        "another type's claim is not this one's"
    );
    let doc: Value = r.json().await?;
    assert_eq!(doc["name"], "Borrowed Glory", "{doc:#}");
    assert_eq!(
        doc["credentialSubject"]["achievement"]["name"],
        "Borrowed Glory"
    );
    assert!(!doc.to_string().contains("Rust Fundamentals"), "{doc:#}");
    let jwt = reqwest::get(format!("{base}{path}?format=jwt")).await?;
    assert_eq!(jwt.headers()["x-laurel-claim-bound"], "false");
    let (_, body) = get(&base, &path).await?;
    assert_eq!(body["name"], "Borrowed Glory");

    // The rightful credential keeps its bound claim.
    let own = reqwest::get(format!(
        "{base}/v1/credentials/31337/{}/ob3",
        token(h.type_id, a)
    ))
    .await?;
    assert_eq!(own.headers()["x-laurel-claim-bound"], "true");
    drop(serve);
    h.db.drop_now().await
}

/// Annual re-assessment: a type with a default validity, issued, let expire, issued to the same learner
/// again with the same command (same derived key) — the repeat issues anew, and repeating that answers the
/// new request; the API's keys are its caller's own.
#[tokio::test]
async fn a_repeat_after_the_credential_expired_issues_again() -> Result<()> {
    let h = Harness::new().await?;
    let signer: alloy::signers::local::PrivateKeySigner = h.key_hex.parse()?;
    let wallet = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer.clone()))
        .connect_http(h.node.endpoint_url());
    let reg = CredentialRegistry::new(h.registry, &wallet);
    // Revocable (2) and issuable again after expiry (16), valid 60 s from issue.
    let policy = CredentialRegistry::TypePolicy::plain("Yearly Check", 60, 2 | 16);
    reg.defineType(policy).send().await?.get_receipt().await?;
    let t = reg.typeCount().call().await?;
    reg.setTypeRoles(t, signer.address(), 3)
        .send()
        .await?
        .get_receipt()
        .await?;
    let a = holder(9);
    let issue = [
        "issue",
        "--type",
        &t.to_string(),
        "--holder",
        &format!("{a:#x}"),
    ];
    let (code, out) = h.run(&issue)?;
    anyhow::ensure!(code == 0, "issue failed: {out}");
    assert!(out.contains("queued 1 new"), "{out}");
    let (code, out) = h.run(&issue)?;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("queued 0 new request(s); 1 already"),
        "a live credential's repeat queues nothing: {out}"
    );
    let requests = || async { Ok::<_, anyhow::Error>(h.store.request_states(31337).await?.len()) };
    assert_eq!(requests().await?, 1);

    // A year later (here: two minutes of chain time), the same command issues again.
    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    use alloy::providers::Provider;
    provider
        .raw_request::<_, Value>("evm_increaseTime".into(), (120,))
        .await?;
    provider
        .raw_request::<_, Value>("evm_mine".into(), ())
        .await?;
    assert!(!reg.isValid(a, t).call().await?, "expired");
    let (code, out) = h.run(&issue)?;
    anyhow::ensure!(code == 0, "re-issue failed: {out}");
    assert!(
        out.contains("queued 1 new"),
        "the ended credential is issued again: {out}"
    );
    assert_eq!(requests().await?, 2);
    assert!(
        reg.isValid(a, t).call().await?,
        "valid again (issued again in place)"
    );
    let (code, out) = h.run(&issue)?;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("queued 0 new request(s); 1 already"), "{out}");
    assert_eq!(
        requests().await?,
        2,
        "the new round's repeat issues nothing"
    );
    h.db.drop_now().await
}

/// A stuck mirror says so and heals: while the indexer is stalled (another process holds the writer lock and
/// makes no progress), public answers are marked stale and judge expiry by the wall clock, an account's
/// signed request is refused (503) rather than authorised from old roles, and a mirror being rebuilt fails
/// `/readyz`, shows in `/metrics` and `laurel status` — until the indexer takes over and catches up.
#[tokio::test]
async fn a_stuck_mirror_says_so_refuses_to_authorise_and_heals() -> Result<()> {
    use alloy::providers::Provider;
    let h = Harness::new().await?;
    let (a, b) = (holder(21), holder(22));
    let t = h.type_id.to_string();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    };
    h.issue(h.type_id, a)?;
    let b_expires = now() + 15;
    let (code, out) = h.run(&[
        "issue",
        "--type",
        &t,
        "--holder",
        &format!("{b:#x}"),
        "--expires",
        &b_expires.to_string(),
    ])?;
    anyhow::ensure!(code == 0, "issue failed: {out}");

    // The indexer is stuck: this test holds the writer lock, and the last head it saw is 100 blocks on.
    let lock = h
        .store
        .try_writer_lock(31337)
        .await?
        .expect("no writer yet");
    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    let head = provider.get_block_number().await?;
    h.store.saw_head(31337, head + 100).await?;
    let mut serve = h.serve(0, &[])?;
    let base = format!(
        "http://{}",
        serve.listening_addr(std::time::Duration::from_secs(60))?
    );

    let verify = |who: Address| format!("/v1/verify?holder={who:#x}&type={t}");
    let (s, v) = get(&base, &verify(a)).await?;
    assert_eq!((s, v["valid"].as_bool()), (200, Some(true)), "{v}");
    assert_eq!(v["reflects"]["stale"], true, "{v}");
    assert!(
        v["reflects"]["stale_reason"]
            .as_str()
            .is_some_and(|r| r.contains("100 blocks behind")),
        "{v}"
    );
    let body = format!(
        r#"{{"issuances":[{{"type":1,"holder":"{:#x}"}}]}}"#,
        holder(23)
    );
    let signer: alloy::signers::local::PrivateKeySigner = h.key_hex.parse()?;
    let (s, e) =
        super::api::signed(&h, &base, &signer, ("POST", "/v1/issuances", &body), now()).await?;
    assert_eq!(s, 503, "roles from a lagging mirror authorise nothing: {e}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("behind the chain head")),
        "{e}"
    );

    // Expiry by the wall clock: no block is mined, so the mirror's last block time stays before b's expiry.
    while now() <= b_expires + 1 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let (_, v) = get(&base, &verify(b)).await?;
    assert_eq!(
        (v["valid"].as_bool(), v["status"].as_str()),
        (Some(false), Some("expired")),
        "{v}"
    );

    // A rebuild (what a deeper reorg or another chain starts) fails /readyz and shows in /metrics and status.
    h.store
        .rebuild_mirror(31337, "hostile test: injected", None)
        .await?;
    let r = reqwest::get(format!("{base}/readyz")).await?;
    assert_eq!(r.status(), 503);
    let health: Value = r.json().await?;
    assert!(
        health.to_string().contains("being rebuilt")
            && health.to_string().contains("hostile test: injected"),
        "{health}"
    );
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("laurel_mirror_rebuild_in_progress{reason=\"hostile test: injected\"} 1"),
        "{metrics}"
    );
    let (_, status) = h.run(&["status"])?;
    assert!(
        status.contains("REBUILDING") && status.contains("hostile test: injected"),
        "{status}"
    );

    // The writer goes away: the server's indexer takes over, rebuilds and catches up.
    lock.release().await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !reqwest::get(format!("{base}/readyz"))
        .await?
        .status()
        .is_success()
    {
        anyhow::ensure!(std::time::Instant::now() < deadline, "never healed");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    wait_for_head(&h, &base).await?;
    let (_, v) = get(&base, &verify(a)).await?;
    assert_eq!(
        (v["valid"].as_bool(), v["reflects"]["stale"].as_bool()),
        (Some(true), Some(false)),
        "{v}"
    );
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("laurel_mirror_rebuild_in_progress{reason=\"\"} 0"),
        "{metrics}"
    );
    drop(serve);
    h.db.drop_now().await
}

/// `laurel issue` never hangs: when the mirror that confirms its requests stands still (another process
/// holds the indexer lock and makes no progress), it gives up after `--give-up-after` seconds saying why,
/// exits 2, and a later `serve` finishes the request without issuing it twice.
#[tokio::test]
async fn laurel_issue_gives_up_with_a_reason_when_the_pipeline_cannot_progress() -> Result<()> {
    let h = Harness::new().await?;
    let t = h.type_id.to_string();
    let (code, out) = h.run(&[
        "issue",
        "--type",
        &t,
        "--holder",
        &format!("{:#x}", holder(31)),
    ])?;
    anyhow::ensure!(code == 0, "issue failed: {out}");
    let lock = h
        .store
        .try_writer_lock(31337)
        .await?
        .expect("no writer now");
    let started = std::time::Instant::now();
    let (code, out) = h.run(&[
        "issue",
        "--type",
        &t,
        "--holder",
        &format!("{:#x}", holder(32)),
        "--give-up-after",
        "3",
    ])?;
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("giving up") && out.contains("stands still"),
        "{out}"
    );
    assert!(
        out.contains("another process holds the indexer lock"),
        "{out}"
    );
    assert!(out.contains("1 pending"), "{out}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "it did not hang"
    );
    lock.release().await?;
    let (serve, _, _) = start(&h).await?;
    let states = h.wait_settled(2, 60).await?;
    assert!(states.iter().all(|(_, s)| s == "confirmed"), "{states:?}");
    assert_eq!(h.mints().await?, 2, "issued once");
    drop(serve);
    h.db.drop_now().await
}

/// An admin operation that outlasts its request: the audit record (who asked, what) is written before the
/// send, the request answers 202 with the operation's id instead of a bare 503, and the record is completed
/// with the outcome once the transaction is mined; another caller cannot read it.
#[tokio::test]
async fn a_slow_admin_operation_answers_202_and_its_audit_record_follows_it_to_the_end(
) -> Result<()> {
    use alloy::providers::Provider;
    let h = Harness::new().await?;
    let a = holder(41);
    h.issue(h.type_id, a)?;
    let (serve, base, _) = start(&h).await?;
    let (registrar, other) = (
        h.api_key("registrar", "revoke")?,
        h.api_key("other", "revoke")?,
    );

    // Blocks stop being mined: the revocation is broadcast and waits in the pool.
    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    provider
        .raw_request::<_, Value>("evm_setAutomine".into(), (false,))
        .await?;
    let started = std::time::Instant::now();
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/revocations"))
        .bearer_auth(&registrar)
        .json(&serde_json::json!({"type": h.type_id, "holder": format!("{a:#x}"), "reason": 4}))
        .send()
        .await?;
    assert_eq!(r.status(), 202, "{:?}", r.text().await);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "answered before the 10 s timeout"
    );
    let accepted: Value = r.json().await?;
    let id = accepted["operation"].as_i64().expect("an operation id");
    assert_eq!(accepted["status_url"], format!("/v1/operations/{id}"));
    let op = |key: String| {
        let base = base.clone();
        async move {
            let r = reqwest::Client::new()
                .get(format!("{base}/v1/operations/{id}"))
                .bearer_auth(key)
                .send()
                .await?;
            Ok::<_, anyhow::Error>((r.status().as_u16(), r.json::<Value>().await?))
        }
    };
    let (s, pending) = op(registrar.clone()).await?;
    assert_eq!(
        (s, pending["status"].as_str()),
        (200, Some("pending")),
        "{pending}"
    );
    assert_eq!(pending["action"], "revoke");
    assert!(
        pending["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("api:")),
        "who asked: {pending}"
    );
    assert_eq!(pending["detail"]["holder"], format!("{a:#x}"), "{pending}");
    let (s, e) = op(other).await?;
    assert_eq!(
        (s, e["error"].as_str()),
        (404, Some("not_found")),
        "another caller's: {e}"
    );

    // Mining resumes: the record is completed with the transaction.
    provider
        .raw_request::<_, Value>("evm_setAutomine".into(), (true,))
        .await?;
    provider
        .raw_request::<_, Value>("evm_mine".into(), ())
        .await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let done = loop {
        let (_, v) = op(registrar.clone()).await?;
        if v["status"] != "pending" {
            break v;
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "never completed: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(done["status"], "done", "{done}");
    assert!(
        done["outcome"]
            .as_str()
            .is_some_and(|o| o.contains("done in transaction 0x")),
        "{done}"
    );
    assert!(done["completed_at"].as_i64() >= done["started_at"].as_i64());
    assert!(!h.valid_on_chain(a).await?, "revoked");
    drop(serve);
    h.db.drop_now().await
}

/// A flood of anonymous requests — verifies asking the node (`source=chain`) and admin POSTs with a bad
/// EIP-712 signature, 256 at a time — is shed with JSON 429s and `Retry-After`, while `/healthz` answers,
/// the indexer keeps up with the head and an issuance goes through.
#[tokio::test]
async fn a_flood_of_anonymous_requests_is_shed_and_the_service_goes_on() -> Result<()> {
    use alloy::providers::Provider;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let h = Harness::new().await?;
    let (serve, base, _) = start(&h).await?;
    let chain_url = format!(
        "{base}/v1/verify?holder={:#x}&type=1&source=chain",
        holder(1)
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;
    let (shed, answered, retry_after) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let until = Instant::now() + Duration::from_secs(8);
    let mut flood = Vec::new();
    for i in 0..256 {
        let (client, chain_url, base) = (client.clone(), chain_url.clone(), base.clone());
        let (shed, answered, retry_after) = (shed.clone(), answered.clone(), retry_after.clone());
        flood.push(tokio::spawn(async move {
            while Instant::now() < until {
                let r = if i % 2 == 0 {
                    client.get(&chain_url).send().await
                } else {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    client
                        .post(format!("{base}/v1/issuances"))
                        .header("authorization", format!("EIP712 0x{}1b", "ab".repeat(64)))
                        .header("x-laurel-issued-at", now.to_string())
                        .body(r#"{"type":1,"holder":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}"#)
                        .send()
                        .await
                };
                let Ok(r) = r else { continue };
                if r.status() == 429 {
                    shed.fetch_add(1, Ordering::Relaxed);
                    if r.headers().contains_key("retry-after") {
                        retry_after.fetch_add(1, Ordering::Relaxed);
                    }
                } else {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                let body = r.text().await.unwrap_or_default();
                assert!(body.starts_with('{'), "every answer is JSON: {body}");
            }
        }));
    }
    // Meanwhile: the probe answers quickly, and an issuance goes through.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let t = Instant::now();
        let r = client.get(format!("{base}/healthz")).send().await?;
        assert!(r.status().is_success());
        slowest = slowest.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Latency targets live in `scripts/bench api flood` (a release build); here the probe only has to keep
    // answering, on a debug build sharing two cores with the flood.
    assert!(
        slowest < Duration::from_secs(5),
        "/healthz took {slowest:?} under the flood"
    );
    h.queue_holders("flood.csv", 50..=52)?;
    let states = h.wait_settled(3, 60).await?;
    assert!(states.iter().all(|(_, s)| s == "confirmed"), "{states:?}");
    for f in flood {
        f.await?;
    }
    let (shed, answered) = (
        shed.load(Ordering::Relaxed),
        answered.load(Ordering::Relaxed),
    );
    assert!(shed > 0, "the flood was shed ({answered} answered)");
    assert_eq!(
        retry_after.load(Ordering::Relaxed),
        shed,
        "every 429 says when to retry"
    );
    // The indexer kept up.
    let head = ProviderBuilder::new()
        .connect_http(h.node.endpoint_url())
        .get_block_number()
        .await?;
    let (_, ready) = get(&base, "/readyz").await?;
    assert!(
        ready["indexed_block"]
            .as_u64()
            .is_some_and(|b| b + 2 >= head),
        "{ready}"
    );
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("laurel_http_shed_total{class="),
        "{metrics}"
    );
    drop(serve);
    h.db.drop_now().await
}

/// The chain sees who asks: an issuer signs the registry's own EIP-712 `BatchIssuance` and Laurel relays
/// it. The chain records that issuer, checks its role and charges its quota; a wrong signature, an issuer
/// whose role was removed (whatever the mirror says) and an exhausted quota are refused before any gas is
/// spent, and a repeat of a relayed batch answers the first.
#[tokio::test]
async fn a_relayed_batch_is_issued_with_the_signers_own_authority() -> Result<()> {
    use alloy::signers::local::PrivateKeySigner;
    use alloy::signers::SignerSync;
    let h = Harness::new().await?;
    let issuer = PrivateKeySigner::random();
    let quota = h.define_quota_type(2).await?;
    for t in [h.type_id, quota] {
        let (code, out) = h.run(&[
            "gov",
            "role",
            "grant",
            "--issuer",
            "--type",
            &t.to_string(),
            "--account",
            &format!("{:#x}", issuer.address()),
        ])?;
        anyhow::ensure!(code == 0, "grant failed: {out}");
    }
    let (serve, base, _) = start(&h).await?;
    let client = reqwest::Client::new();
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        + 3_600;
    let body = |t: u64, nonce: u64, holders: &[Address], signature: Option<String>| {
        let items: Vec<Value> = holders
            .iter()
            .map(|a| serde_json::json!({"holder": format!("{a:#x}")}))
            .collect();
        let mut b = serde_json::json!({"type": t, "issuer": format!("{:#x}", issuer.address()),
            "nonce": nonce.to_string(), "deadline": deadline, "issuances": items});
        if let Some(s) = signature {
            b["signature"] = s.into();
        }
        b
    };
    let post = |b: Value| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let r = client
                .post(format!("{base}/v1/relayed-issuances"))
                .json(&b)
                .send()
                .await?;
            let status = r.status().as_u16();
            Ok::<_, anyhow::Error>((status, r.json::<Value>().await?))
        }
    };
    let sign = |who: &PrivateKeySigner, to_sign: &Value| -> Result<String> {
        let digest: B256 = to_sign["digest"].as_str().unwrap_or_default().parse()?;
        Ok(format!(
            "0x{}",
            alloy::hex::encode(who.sign_hash_sync(&digest)?.as_bytes())
        ))
    };
    let holders = [holder(61), holder(62)];

    // What to sign: the registry's typed data, whose evidence hashes are the claims Laurel will serve.
    let (s, to_sign) = post(body(h.type_id, 7, &holders, None)).await?;
    assert_eq!(s, 200, "{to_sign}");
    assert_eq!(to_sign["typed_data"]["primaryType"], "BatchIssuance");
    assert_eq!(
        to_sign["typed_data"]["message"]["evidenceHashes"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // Signed by someone else: refused, nothing written.
    let other = PrivateKeySigner::random();
    let (s, e) = post(body(h.type_id, 7, &holders, Some(sign(&other, &to_sign)?))).await?;
    assert_eq!(s, 401, "{e}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("not the issuer")),
        "{e}"
    );

    // Signed by the issuer: relayed, and the chain records the issuer (not the service).
    let signed = body(h.type_id, 7, &holders, Some(sign(&issuer, &to_sign)?));
    let (s, accepted) = post(signed.clone()).await?;
    assert_eq!(s, 202, "{accepted}");
    assert!(
        accepted["tx_hash"].as_str().is_some_and(|t| t.len() == 66),
        "{accepted}"
    );
    let states = h.wait_settled(2, 60).await?;
    assert!(states.iter().all(|(_, s)| s == "confirmed"), "{states:?}");
    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    let reg = CredentialRegistry::new(h.registry, &provider);
    for a in holders {
        let c = reg
            .credentialOf(a, alloy::primitives::U256::from(h.type_id))
            .call()
            .await?;
        assert_eq!(c.issuer, issuer.address(), "the chain records who signed");
        assert!(c.valid);
    }
    // The claim the chain commits to is served bound.
    let r = reqwest::get(format!(
        "{base}/v1/credentials/31337/{}/ob3",
        token(h.type_id, holders[0])
    ))
    .await?;
    assert_eq!(r.headers()["x-laurel-claim-bound"], "true");
    // The same signed batch again: the first answer, nothing sent.
    let (s, again) = post(signed).await?;
    assert_eq!(s, 202, "{again}");
    assert!(again.get("tx_hash").is_none(), "{again}");
    assert_eq!(again["issuances"][0]["id"], accepted["issuances"][0]["id"]);

    // The quota is the issuer's, charged by the chain: two of the quota type, then a third is refused.
    let (_, q) = post(body(quota, 8, &[holder(63), holder(64)], None)).await?;
    let (s, ok) = post(body(
        quota,
        8,
        &[holder(63), holder(64)],
        Some(sign(&issuer, &q)?),
    ))
    .await?;
    assert_eq!(s, 202, "{ok}");
    h.wait_settled(4, 60).await?;
    let (_, q) = post(body(quota, 9, &[holder(65)], None)).await?;
    let (s, e) = post(body(quota, 9, &[holder(65)], Some(sign(&issuer, &q)?))).await?;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains("uota")),
        "the chain's reason: {e}"
    );

    // The role is removed on chain: the next relay is refused by the chain itself.
    let (code, out) = h.run(&[
        "gov",
        "role",
        "revoke",
        "--issuer",
        "--type",
        &h.type_id.to_string(),
        "--account",
        &format!("{:#x}", issuer.address()),
    ])?;
    anyhow::ensure!(code == 0, "revoke failed: {out}");
    let (_, t) = post(body(h.type_id, 10, &[holder(66)], None)).await?;
    let (s, e) = post(body(h.type_id, 10, &[holder(66)], Some(sign(&issuer, &t)?))).await?;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains("refuses")),
        "{e}"
    );
    assert_eq!(
        h.store.request_states(31337).await?.len(),
        4,
        "refused relays wrote nothing"
    );
    drop(serve);
    h.db.drop_now().await
}

/// One nonce allocator: an admin operation takes its nonce from the allocator the issuance worker uses,
/// so a nonce a batch was given (recorded, not yet broadcast) is never taken by the operation — before,
/// it read the node's pending count and sent under that very nonce.
#[tokio::test]
async fn an_admin_operation_never_takes_the_nonce_of_a_batch_in_flight() -> Result<()> {
    use alloy::network::TransactionBuilder;
    use alloy::providers::Provider;
    let h = Harness::new().await?;
    let a = holder(71);
    h.issue(h.type_id, a)?;
    let signer: alloy::signers::local::PrivateKeySigner = h.key_hex.parse()?;
    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    let pending = provider
        .get_transaction_count(signer.address())
        .pending()
        .await?;
    // A batch was just given the next nonce (as the worker's claim does) and is about to be broadcast.
    let batch_nonce = h
        .store
        .allocate_nonce(31337, signer.address(), pending)
        .await?;
    assert_eq!(batch_nonce, pending);
    let revoke = h
        .laurel(&[
            "revoke",
            "--type",
            &h.type_id.to_string(),
            "--holder",
            &format!("{a:#x}"),
            "--reason",
            "4",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // The revocation waits behind the batch's nonce; the "batch" is broadcast now (a plain transfer).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let wallet = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer.clone()))
        .connect_http(h.node.endpoint_url());
    let fill = alloy::rpc::types::TransactionRequest::default()
        .with_to(signer.address())
        .with_nonce(batch_nonce);
    let sent = wallet.send_transaction(fill).await?;
    super::support::confirm(&wallet, *sent.tx_hash()).await?;
    let out = revoke.wait_with_output()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash: B256 = text
        .split_whitespace()
        .find(|w| w.starts_with("0x") && w.len() == 66)
        .expect("the revocation's transaction")
        .parse()?;
    let tx = provider
        .get_transaction_by_hash(hash)
        .await?
        .expect("mined");
    use alloy::consensus::Transaction;
    assert_eq!(
        tx.nonce(),
        batch_nonce + 1,
        "the operation took the next nonce, not the batch's"
    );
    assert!(!h.valid_on_chain(a).await?, "revoked");
    h.db.drop_now().await
}
