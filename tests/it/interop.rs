//! Laurel's credentials checked by verifiers nobody on the team wrote, installed by `scripts/setup` into
//! `tests/verifiers/`: the Digital Credentials Consortium's `@digitalcredentials/verifier-core` (what
//! Learner Credential Wallet and VerifierPlus run: Data Integrity proofs, DID issuers, Bitstring status)
//! and a stock JOSE library (`jose`) following OB 3.0 §8.2 step by step from the `kid` URL. The deployment
//! sits behind a TLS proxy on `https://localhost`, as a real one would, so its issuer is a `did:web`.
//!
//! Each verifier gets a valid, a revoked, a suspended, an expired and a tampered credential and must give
//! each its verdict; then the keys rotate (what was signed before still verifies), a key is reported
//! compromised (what it signs fails), and a revocation shows in the status list as soon as the mirror
//! holds its block.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use anyhow::{bail, ensure, Context, Result};
use laurel::chain::bindings::CredentialRegistry;
use serde_json::Value;

use alloy::transports::http::reqwest;

use super::badges::{token, unsecured};
use super::support::{holder, root, Harness};

/// The verifiers' directory; `scripts/setup` installs their npm packages there.
fn verifiers() -> Result<PathBuf> {
    let dir = root().join("tests/verifiers");
    ensure!(
        dir.join("node_modules/@digitalcredentials/verifier-core")
            .exists()
            && dir.join("node_modules/jose").exists(),
        "the verifiers are not installed in {}: run scripts/setup",
        dir.display()
    );
    Ok(dir)
}

/// A TLS proxy (tests/verifiers/https-proxy.mjs) on https://localhost:`port` in front of `target`, with
/// a self-signed certificate for `localhost` made by openssl; killed when dropped.
struct Tls {
    child: Child,
    cert: PathBuf,
    port: u16,
}

impl Drop for Tls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn tls_proxy(dir: &Path, port: u16, target: u16) -> Result<Tls> {
    let (cert, key) = (dir.join("localhost.pem"), dir.join("localhost.key"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .context("running openssl (Debian's openssl package)")?;
    ensure!(
        made.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut child = Command::new("node")
        .arg(verifiers()?.join("https-proxy.mjs"))
        .arg(&cert)
        .arg(&key)
        .args([port.to_string(), target.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().context("proxy stdout")?),
        &mut line,
    )?;
    ensure!(
        line.starts_with("listening"),
        "the TLS proxy did not start: {line:?}"
    );
    Ok(Tls { child, cert, port })
}

/// The one-line JSON verdict of `script` (dcc.mjs or jwt.mjs) on `file`, trusting the proxy's certificate.
fn verdict(tls: &Tls, script: &str, file: &Path) -> Result<Value> {
    let out = Command::new("node")
        .arg(verifiers()?.join(script))
        .arg(file)
        .env("NODE_EXTRA_CA_CERTS", &tls.cert)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| {
        format!(
            "{script} printed no verdict: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Fetches `path` from the server itself (what the proxy serves at the same path), as text.
async fn fetch(base: &str, path: &str, accept: &str) -> Result<String> {
    let url = format!("{base}/{}", path.trim_start_matches('/'));
    let r = reqwest::Client::new()
        .get(&url)
        .header("accept", accept)
        .send()
        .await?;
    ensure!(r.status().is_success(), "GET {url}: {}", r.status());
    Ok(r.text().await?)
}

/// A credential as each verifier receives it: the JSON-LD file and the VC-JWT file.
struct Copies {
    json: PathBuf,
    jwt: PathBuf,
}

async fn copies(h: &Harness, base: &str, name: &str, token_id: &str) -> Result<Copies> {
    let url = format!("v1/credentials/31337/{token_id}/ob3");
    let json = h.dir.join(format!("{name}.json"));
    let jwt = h.dir.join(format!("{name}.jwt"));
    std::fs::write(&json, fetch(base, &url, "application/vc+ld+json").await?)?;
    std::fs::write(
        &jwt,
        fetch(base, &format!("{url}?format=jwt"), "text/plain").await?,
    )?;
    Ok(Copies { json, jwt })
}

fn run_ok(h: &Harness, args: &[&str]) -> Result<String> {
    let (code, out) = h.run(args)?;
    ensure!(code == 0, "{args:?} failed: {out}");
    Ok(out)
}

/// Points the registry's base URI at `site` (the deployer holds the admin role without delay on anvil).
async fn set_site(h: &Harness, site: &str) -> Result<()> {
    let signer: alloy::signers::local::PrivateKeySigner = h.key_hex.parse()?;
    let wallet = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(h.node.endpoint_url());
    let reg = CredentialRegistry::new(h.registry, &wallet);
    reg.setBaseURI(format!("{site}v1/metadata/31337/"))
        .send()
        .await?
        .get_receipt()
        .await?;
    Ok(())
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await? {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// Issues the five cases on a revocable, suspendable type: A valid, B revoked, C suspended, D expiring in
/// a few seconds; returns their holders and D's expiry.
fn issue_cases(h: &Harness) -> Result<([Address; 4], u64)> {
    let me = format!(
        "{:#x}",
        h.key_hex
            .parse::<alloy::signers::local::PrivateKeySigner>()?
            .address()
    );
    run_ok(
        h,
        &[
            "gov",
            "type",
            "create",
            "--name",
            "Interop",
            "--flags",
            "revocable,suspendable",
        ],
    )?;
    run_ok(
        h,
        &[
            "gov",
            "role",
            "grant",
            "--issuer",
            "--revoker",
            "--type",
            "2",
            "--account",
            &me,
        ],
    )?;
    let who = [holder(71), holder(72), holder(73), holder(74)];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let expiry = now + 40;
    for (i, w) in who.iter().enumerate() {
        let w = format!("{w:#x}");
        let mut args = vec!["issue", "--type", "2", "--holder", &w];
        let e = expiry.to_string();
        if i == 3 {
            args.extend(["--expires", &e]);
        }
        run_ok(h, &args)?;
    }
    run_ok(
        h,
        &[
            "revoke",
            "--type",
            "2",
            "--holder",
            &format!("{:#x}", who[1]),
            "--reason",
            "1",
        ],
    )?;
    run_ok(
        h,
        &[
            "suspend",
            "--type",
            "2",
            "--holder",
            &format!("{:#x}", who[2]),
            "--reason",
            "2",
        ],
    )?;
    Ok((who, expiry))
}

/// A copy of `file` with the achievement renamed (JSON), or the payload changed under the same signature.
fn tamper(json: &Path, jwt: &Path, dir: &Path) -> Result<Copies> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(json)?)?;
    doc["credentialSubject"]["achievement"]["name"] = "Senior Staff Engineer".into();
    let token = std::fs::read_to_string(jwt)?;
    let parts: Vec<&str> = token.trim().split('.').collect();
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1])?)?;
    claims["credentialSubject"]["achievement"]["name"] = "Senior Staff Engineer".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    let out = Copies {
        json: dir.join("tampered.json"),
        jwt: dir.join("tampered.jwt"),
    };
    std::fs::write(&out.json, doc.to_string())?;
    std::fs::write(&out.jwt, forged)?;
    Ok(out)
}

#[tokio::test]
async fn the_ecosystems_verifiers_give_each_credential_its_verdict() -> Result<()> {
    verifiers()?;
    let h = Harness::new().await?;
    let (who, expiry) = issue_cases(&h)?;
    let (_serve, base, _) = super::api::start(&h).await?;
    let target: u16 = base.rsplit(':').next().context("port")?.parse()?;
    let port = free_port()?;
    let tls = tls_proxy(&h.dir, port, target)?;
    let site = format!("https://localhost:{port}/");
    set_site(&h, &site).await?;
    let did = format!("did:web:localhost%3A{port}");
    wait_until("the did:web issuer", async || {
        Ok(super::api::get(&base, "/issuer").await?.1["id"] == did.as_str())
    })
    .await?;

    let names = ["valid", "revoked", "suspended", "expired"];
    let mut cases = Vec::new();
    for (name, w) in names.iter().zip(who) {
        cases.push((
            name.to_string(),
            copies(&h, &base, name, &token(2, w)).await?,
        ));
    }
    let t = tamper(&cases[0].1.json, &cases[0].1.jwt, &h.dir)?;
    cases.push(("tampered".into(), t));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&cases[0].1.json)?)?;
    assert_eq!(doc["issuer"]["id"], did.as_str(), "{doc}");
    assert!(doc["proof"][0]["verificationMethod"]
        .as_str()
        .is_some_and(|m| m.starts_with(&format!("{did}#eddsa-"))));
    // D expires in seconds: verify once it has.
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
    };
    while now()? <= expiry {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut table = Vec::new();
    for (name, c) in &cases {
        let dcc = verdict(&tls, "dcc.mjs", &c.json)?;
        let jose = verdict(&tls, "jwt.mjs", &c.jwt)?;
        println!(
            "{name:<10} verifier-core: {:<10} jose (OB 3.0 §8.2): {}",
            dcc["outcome"], jose["outcome"]
        );
        table.push((name.clone(), dcc, jose));
    }
    for (name, dcc, jose) in &table {
        assert_eq!(
            dcc["outcome"],
            name.as_str(),
            "verifier-core on the {name} credential: {dcc}"
        );
        assert_eq!(
            jose["outcome"],
            name.as_str(),
            "jose on the {name} credential: {jose}"
        );
        assert_eq!(dcc["verified"], *name == "valid", "{dcc}");
    }
    baked_badges_verify(&h, &tls, &base, who[0]).await?;
    rotation_and_compromise(&h, &tls, &base, &cases[0].1, who[0]).await?;
    revocation_reaches_the_list(&h, &tls, &base, who[0]).await?;
    Ok(())
}

/// The credential extracted from a baked PNG (JSON-LD) and a baked SVG (VC-JWT) verifies with the
/// ecosystem's verifiers like the document itself.
async fn baked_badges_verify(h: &Harness, tls: &Tls, base: &str, a: Address) -> Result<()> {
    use laurel::credentials::baking::{extract_png, extract_svg};
    let path = format!("{base}/v1/credentials/31337/{}", token(2, a));
    let png = reqwest::get(format!("{path}/badge.png"))
        .await?
        .bytes()
        .await?;
    let svg = reqwest::get(format!("{path}/badge.svg?format=jwt"))
        .await?
        .text()
        .await?;
    std::fs::write(h.dir.join("badge.png"), &png)?;
    let (json, jwt) = (h.dir.join("from-png.json"), h.dir.join("from-svg.jwt"));
    std::fs::write(
        &json,
        extract_png(&png)
            .context("nothing baked in the PNG")?
            .text(),
    )?;
    std::fs::write(
        &jwt,
        extract_svg(&svg)
            .context("nothing baked in the SVG")?
            .text(),
    )?;
    for (script, file) in [("dcc.mjs", &json), ("jwt.mjs", &jwt)] {
        let v = verdict(tls, script, file)?;
        assert_eq!(
            v["outcome"], "valid",
            "{script} on the baked badge's credential: {v}"
        );
    }
    Ok(())
}

/// After a rotation, copies signed before still verify and new ones name the new keys; once the old keys
/// are reported compromised, what they sign fails — a forgery made with them now, and (since a verifier
/// cannot tell a backdated forgery from a genuine old signature) the old copies too.
async fn rotation_and_compromise(
    h: &Harness,
    tls: &Tls,
    base: &str,
    before: &Copies,
    a: Address,
) -> Result<()> {
    let old = laurel::credentials::keys::keystore::Keystore::read(&h.issuer_keystore())?;
    run_ok(h, &["keys", "rotate"])?;
    let rotated = laurel::credentials::keys::keystore::Keystore::read(&h.issuer_keystore())?;
    let new_rs = rotated
        .current(laurel::credentials::keys::Alg::Rs256)
        .context("RS256")?
        .id
        .clone();
    wait_until("the rotated keys to be served", async || {
        Ok(fetch(base, ".well-known/jwks.json", "application/json")
            .await?
            .contains(&new_rs))
    })
    .await?;
    for (script, file) in [("dcc.mjs", &before.json), ("jwt.mjs", &before.jwt)] {
        let v = verdict(tls, script, file)?;
        assert_eq!(
            v["outcome"], "valid",
            "{script} on a copy signed before the rotation: {v}"
        );
    }
    let after = copies(h, base, "after-rotation", &token(2, a)).await?;
    let header = std::fs::read_to_string(&after.jwt)?;
    assert!(header.split('.').next().is_some_and(|p| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .is_ok_and(|h| String::from_utf8_lossy(&h).contains(&new_rs))
    }));
    for (script, file) in [("dcc.mjs", &after.json), ("jwt.mjs", &after.jwt)] {
        assert_eq!(
            verdict(tls, script, file)?["outcome"],
            "valid",
            "{script} after rotation"
        );
    }
    // The old keys leak: reported compromised now; a forgery signed with them afterwards fails.
    let old_ed = old
        .current(laurel::credentials::keys::Alg::EdDsa)
        .context("EdDSA")?;
    let old_rs = old
        .current(laurel::credentials::keys::Alg::Rs256)
        .context("RS256")?;
    for id in [&old_ed.id, &old_rs.id] {
        run_ok(h, &["keys", "compromise", id, "--since", "now"])?;
    }
    let site = format!("https://localhost:{}/", tls.port);
    let gone = format!("{site}keys/{}", old_rs.id);
    let path = format!("keys/{}", old_rs.id);
    wait_until("the compromised key to be withdrawn", async || {
        Ok(fetch(base, &path, "*/*").await.is_err())
    })
    .await?;
    let doc = unsecured(&serde_json::from_str(&std::fs::read_to_string(
        &after.json,
    )?)?);
    let mut forged = doc.clone();
    forged["credentialSubject"]["achievement"]["name"] = "Forged After The Leak".into();
    let did = doc["issuer"]["id"].as_str().context("issuer")?;
    let signed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let forged_json = laurel::credentials::integrity::sign(
        &forged,
        old_ed,
        &format!("{did}#{}", old_ed.id),
        signed_at,
    )?;
    let claims = laurel::credentials::jwt::vc_jwt_claims(&forged, signed_at - 60, None, signed_at);
    let forged_jwt = laurel::credentials::jwt::sign_jwt(old_rs, &gone, &claims);
    let (fj, ft) = (h.dir.join("forged.json"), h.dir.join("forged.jwt"));
    std::fs::write(&fj, forged_json.to_string())?;
    std::fs::write(&ft, forged_jwt)?;
    for (script, file) in [
        ("dcc.mjs", &fj),
        ("jwt.mjs", &ft),
        ("dcc.mjs", &before.json),
        ("jwt.mjs", &before.jwt),
    ] {
        let v = verdict(tls, script, file)?;
        assert_eq!(v["verified"], false, "{script} on {}: {v}", file.display());
    }
    Ok(())
}

/// A revocation on chain shows in the revocation list from the first list that reflects its block.
async fn revocation_reaches_the_list(h: &Harness, tls: &Tls, base: &str, a: Address) -> Result<()> {
    let doc: Value = serde_json::from_str(
        &fetch(
            base,
            &format!("v1/credentials/31337/{}/ob3", token(2, a)),
            "*/*",
        )
        .await?,
    )?;
    let entry = &doc["credentialStatus"][0];
    let index: u64 = entry["statusListIndex"]
        .as_str()
        .context("index")?
        .parse()?;
    let list_path = format!("/v1/status-lists/31337/revocation/{}", 0);
    run_ok(
        h,
        &[
            "revoke",
            "--type",
            "2",
            "--holder",
            &format!("{a:#x}"),
            "--reason",
            "3",
        ],
    )?;
    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    let revoked_in = provider.get_block_number().await?;
    let mut lists = 0;
    loop {
        let r = reqwest::get(format!("{base}{list_path}")).await?;
        let reflects: u64 = r.headers()["x-laurel-reflects-block"].to_str()?.parse()?;
        let list: Value = r.json().await?;
        let encoded = list["credentialSubject"]["encodedList"]
            .as_str()
            .context("encodedList")?;
        let set = laurel::credentials::status_list::bit(encoded, index) == Some(true);
        lists += 1;
        if reflects >= revoked_in {
            assert!(
                set,
                "the list reflecting block {reflects} misses the revocation of block {revoked_in}"
            );
            println!("revocation of block {revoked_in}: in the first list reflecting it (block {reflects}, list {lists})");
            break;
        }
        assert!(!set || reflects >= revoked_in);
        ensure!(lists < 400, "the mirror never reached block {revoked_in}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let json = h.dir.join("revoked-later.json");
    std::fs::write(&json, doc.to_string())?;
    assert_eq!(verdict(tls, "dcc.mjs", &json)?["outcome"], "revoked");
    Ok(())
}
