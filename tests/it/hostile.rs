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
    let (code, out) = h.run(&[
        "issue",
        "--type",
        &h.type_id.to_string(),
        "--holder",
        &format!("{a:#x}"),
    ])?;
    anyhow::ensure!(code == 0, "issue failed: {out}");

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
