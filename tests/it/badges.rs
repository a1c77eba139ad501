//! Open Badges 3.0 against the real stack: credentials issued through the CLI, then their documents read
//! from `laurel serve`, validated against 1EdTech's JSON schema, tied to the evidence hash the chain
//! recorded, verified as VC-JWTs by a stock JWT library with nothing but the key its `kid` URL answers and
//! as Data Integrity proofs with the issuer's DID key, and their status following revocation and
//! suspension in the Bitstring status lists. (`interop` runs the ecosystem's own verifiers on them.)

use alloy::primitives::{keccak256, Address, B256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use alloy::transports::http::reqwest;
use anyhow::{bail, Context, Result};
use jsonwebtoken::{decode, jwk::JwkSet, Algorithm, DecodingKey, Validation};
use laurel::chain::bindings::CredentialRegistry;
use laurel::credentials::canonical::canonical;
use serde_json::Value;

use super::api::{get, issue_two_revoke_second, start};
use super::support::{holder, Harness};

/// The schema 1EdTech publishes for `AchievementCredential` (draft 2019-09), kept beside the tests.
fn schema() -> Result<jsonschema::Validator> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ob_v3p0_achievementcredential_schema.json"
    ))?;
    let schema: Value = serde_json::from_str(&text)?;
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| anyhow::anyhow!("the schema does not load: {e}"))
}

/// The evidence hash the chain recorded when `who`'s credential was issued (single or batch event).
async fn evidence_on_chain(h: &Harness, type_id: u64, who: Address) -> Result<B256> {
    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    let logs = provider
        .get_logs(&Filter::new().address(h.registry).from_block(0))
        .await?;
    let mut found = None;
    for log in logs {
        if let Ok(e) = CredentialRegistry::IssuedBatch::decode_log(&log.inner) {
            if e.typeId != alloy::primitives::U256::from(type_id) {
                continue;
            }
            for (packed, hash) in e.holdersAndExpiries.iter().zip(&e.evidenceHashes) {
                let bytes = packed.to_be_bytes::<32>();
                if Address::from_slice(&bytes[12..]) == who {
                    found = Some(*hash);
                }
            }
        } else if let Ok(e) = CredentialRegistry::Issued::decode_log(&log.inner) {
            if e.tokenId == laurel::domain::token_id(type_id, who) {
                found = Some(e.evidenceHash);
            }
        }
    }
    found.with_context(|| format!("no issuance event of type {type_id} for {who}"))
}

/// The claim hash as docs/credentials.md defines it: keccak-256 of the canonical JSON (RFC 8785) of the
/// document without `validFrom`, `validUntil`, `credentialStatus`, `issuer` and `proof`.
pub(crate) fn claim_hash(document: &Value) -> B256 {
    let mut claim = document.clone();
    for f in [
        "validFrom",
        "validUntil",
        "credentialStatus",
        "issuer",
        "proof",
    ] {
        claim.as_object_mut().unwrap().remove(f);
    }
    keccak256(canonical(&claim))
}

/// Schema errors of a document. OB 3.0 (and so its schema) allows one `credentialStatus`; a credential of a
/// type that can be suspended carries two (revocation and suspension), as VC 2.0 and Bitstring Status List
/// allow and OB 3.1 plans (1EdTech/openbadges-specification#623): each is checked in the single place.
pub(crate) fn schema_errors(schema: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    let entries = match &doc["credentialStatus"] {
        Value::Array(list) => list.clone(),
        one => vec![one.clone()],
    };
    let mut errors = Vec::new();
    for entry in entries {
        let mut one = doc.clone();
        one["credentialStatus"] = entry;
        errors.extend(schema.iter_errors(&one).map(|e| e.to_string()));
    }
    errors
}

/// The document without its proof: what a VC-JWT carries and what the claim and status fields are read from.
pub(crate) fn unsecured(doc: &Value) -> Value {
    let mut d = doc.clone();
    d.as_object_mut().unwrap().remove("proof");
    d
}

pub(crate) fn token(type_id: u64, who: Address) -> String {
    laurel::domain::token_id(type_id, who).to_string()
}

#[tokio::test]
async fn open_badges_credentials_follow_the_schema_tie_to_the_chain_and_verify_with_the_published_key(
) -> Result<()> {
    let h = Harness::new().await?;
    let t = h.type_id;
    let (a, b) = issue_two_revoke_second(&h, "4")?;
    // A second type that expires, can be suspended and requires the first; `a` earns it with an evidence
    // file, and it is then suspended.
    let me = format!(
        "{:#x}",
        h.key_hex
            .parse::<alloy::signers::local::PrivateKeySigner>()?
            .address()
    );
    for args in [
        &[
            "gov",
            "type",
            "create",
            "--name",
            "Capstone",
            "--validity-days",
            "365",
            "--flags",
            "renewable,revocable,suspendable",
            "--requires",
            &t.to_string(),
        ][..],
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
        ][..],
    ] {
        let (code, out) = h.run(args)?;
        anyhow::ensure!(code == 0, "{args:?} failed: {out}");
    }
    let evidence_file = h.dir.join("capstone.pdf");
    std::fs::write(&evidence_file, b"capstone project report")?;
    for args in [
        &[
            "issue",
            "--type",
            "2",
            "--holder",
            &format!("{a:#x}"),
            "--evidence",
            evidence_file.to_str().unwrap(),
        ][..],
        &[
            "suspend",
            "--type",
            "2",
            "--holder",
            &format!("{a:#x}"),
            "--reason",
            "7",
        ][..],
    ] {
        let (code, out) = h.run(args)?;
        anyhow::ensure!(code == 0, "{args:?} failed: {out}");
    }
    let (_serve, base, _) = start(&h).await?;
    let schema = schema()?;

    // The document: the OB 3.0 data model, valid against 1EdTech's schema.
    let (s, doc) = get(&base, &format!("/v1/credentials/31337/{}/ob3", token(t, a))).await?;
    assert_eq!(s, 200, "{doc}");
    let errors = schema_errors(&schema, &doc);
    assert!(errors.is_empty(), "schema errors: {errors:?}\n{doc:#}");
    let mut broken = doc.clone();
    broken.as_object_mut().unwrap().remove("validFrom");
    broken["@context"][1] = "https://example.org/context.json".into();
    assert_eq!(
        schema.iter_errors(&broken).count(),
        2,
        "the schema is enforced: no validFrom, wrong OB context"
    );
    assert_eq!(doc["@context"][0], "https://www.w3.org/ns/credentials/v2");
    assert_eq!(
        doc["@context"][1],
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
    );
    assert_eq!(
        doc["type"],
        serde_json::json!(["VerifiableCredential", "OpenBadgeCredential"])
    );
    assert_eq!(
        doc["credentialSubject"]["id"],
        format!("did:pkh:eip155:31337:{a}"),
        "the holder as did:pkh, EIP-55"
    );
    let achievement = &doc["credentialSubject"]["achievement"];
    assert_eq!(achievement["name"], "Rust Fundamentals");
    assert!(achievement["criteria"]["narrative"]
        .as_str()
        .is_some_and(|n| n.contains("Rust Fundamentals")));
    assert!(doc["validFrom"]
        .as_str()
        .is_some_and(|v| v.ends_with('Z') && v.len() == 20));
    let status = &doc["credentialStatus"];
    assert_eq!(
        (status["type"].as_str(), status["statusPurpose"].as_str()),
        (Some("BitstringStatusListEntry"), Some("revocation")),
        "one entry for a type that cannot be suspended: {status}"
    );
    let revocation_list = status["statusListCredential"].as_str().unwrap().to_string();
    assert!(
        revocation_list.ends_with("/v1/status-lists/31337/revocation/0"),
        "{revocation_list}"
    );
    let record = doc["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "On-chain record")
        .context("no link to the on-chain record")?;
    assert_eq!(
        record["id"],
        format!("eip155:31337/erc721:{}/{}", h.registry, token(t, a))
    );

    // The evidence hash on chain is the hash of the document's claim, as the docs define it.
    let on_chain = evidence_on_chain(&h, t, a).await?;
    assert_eq!(
        claim_hash(&doc),
        on_chain,
        "the chain commits to this document"
    );
    let r = reqwest::get(format!("{base}/v1/credentials/31337/{}/ob3", token(t, a))).await?;
    assert_eq!(r.headers()["x-laurel-claim-bound"], "true");
    assert_eq!(
        r.headers()["x-laurel-claim-hash"].to_str()?,
        format!("{on_chain:#x}")
    );

    // The supplied evidence is named in the document, and the document is still what the chain holds; the
    // criteria name the prerequisite, and the expiry is `validUntil`.
    let (_, doc_c) = get(&base, &format!("/v1/credentials/31337/{}/ob3", token(2, a))).await?;
    let file_hash = keccak256(b"capstone project report");
    assert!(
        doc_c["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == format!("urn:laurel:evidence:keccak256:{file_hash:#x}")),
        "{doc_c:#}"
    );
    assert_eq!(
        claim_hash(&doc_c),
        evidence_on_chain(&h, 2, a).await?,
        "{doc_c:#}"
    );
    assert!(schema_errors(&schema, &doc_c).is_empty());
    let entries = doc_c["credentialStatus"]
        .as_array()
        .context("two status entries")?;
    assert_eq!(
        entries
            .iter()
            .map(|e| e["statusPurpose"].as_str())
            .collect::<Vec<_>>(),
        [Some("revocation"), Some("suspension")]
    );
    assert_eq!(entries[0]["statusListIndex"], entries[1]["statusListIndex"]);
    let criteria = doc_c["credentialSubject"]["achievement"]["criteria"]["narrative"]
        .as_str()
        .unwrap();
    assert!(
        criteria.contains("Requires a valid credential of: Rust Fundamentals")
            && criteria.contains("365 days"),
        "{criteria}"
    );
    assert!(doc_c["validUntil"]
        .as_str()
        .is_some_and(|v| v > doc_c["validFrom"].as_str().unwrap()));
    // With an expiry the JWT has `exp`, and a default stock validation (which requires it) passes.
    let jwt_c = reqwest::get(format!(
        "{base}/v1/credentials/31337/{}/ob3?format=jwt",
        token(2, a)
    ))
    .await?
    .text()
    .await?;

    // The VC-JWT verifies with a stock library and nothing but the key its kid URL answers.
    let r = reqwest::get(format!(
        "{base}/v1/credentials/31337/{}/ob3?format=jwt",
        token(t, a)
    ))
    .await?;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    let jwt = r.text().await?;
    let client = reqwest::Client::new();
    let by_accept = client
        .get(format!("{base}/v1/credentials/31337/{}/ob3", token(t, a)))
        .header("accept", "application/vc+jwt")
        .send()
        .await?
        .text()
        .await?;
    assert_eq!(
        by_accept, jwt,
        "Accept: application/vc+jwt gives the same JWT"
    );
    let header = jsonwebtoken::decode_header(&jwt)?;
    assert_eq!(header.alg, Algorithm::RS256, "RS256 by default");
    let kid = header.kid.context("the JWT names no kid")?;
    // The kid is a URL of the program's site (the registry's base URI), which this server answers.
    let site = doc["issuer"]["url"].as_str().unwrap();
    let path = kid
        .strip_prefix(site)
        .context("the kid is not on the site")?;
    assert!(path.starts_with("keys/rs256-"), "{kid}");
    let bare: Value = reqwest::get(format!("{base}/{path}")).await?.json().await?;
    assert!(
        bare.get("d").is_none() && bare.get("p").is_none(),
        "public only: {bare}"
    );
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(bare)?;
    let (s, jwks) = get(&base, "/.well-known/jwks.json").await?;
    assert_eq!(s, 200);
    let set: JwkSet = serde_json::from_value(jwks)?;
    assert!(set.find(&kid).is_some(), "the JWK set holds the kid too");
    let key = DecodingKey::from_jwk(&jwk)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims.clear(); // this credential never expires, so it has no `exp`
    validation.set_issuer(&[doc["issuer"]["id"].as_str().unwrap()]);
    let claims = decode::<Value>(&jwt, &key, &validation)?.claims;
    assert_eq!(claims["sub"], doc["credentialSubject"]["id"]);
    assert_eq!(claims["jti"], doc["id"]);
    let mut body = claims.clone();
    for f in ["iss", "sub", "jti", "nbf", "exp", "iat"] {
        body.as_object_mut().unwrap().remove(f);
    }
    assert_eq!(
        body,
        unsecured(&doc),
        "the JWT carries exactly the served document"
    );
    // A changed payload no longer verifies.
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut forged = claims.clone();
    forged["credentialSubject"]["id"] = format!("did:pkh:eip155:31337:{}", holder(9)).into();
    use base64::Engine;
    let forged_jwt = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string()),
        parts[2]
    );
    assert!(decode::<Value>(&forged_jwt, &key, &validation).is_err());
    let strict = decode::<Value>(&jwt_c, &key, &Validation::new(Algorithm::RS256))?.claims;
    assert_eq!(
        strict["exp"]
            .as_u64()
            .map(|e| e > strict["nbf"].as_u64().unwrap()),
        Some(true)
    );

    // Status: the revoked and the suspended credentials are listed; the active one is not.
    let (s, st) = get(
        &base,
        &format!("/v1/credentials/31337/{}/status", token(t, a)),
    )
    .await?;
    assert_eq!(s, 200);
    assert_eq!(
        (st["status"].as_str(), st["valid"].as_bool()),
        (Some("active"), Some(true)),
        "{st}"
    );
    assert_eq!(st["revokedCredentials"], serde_json::json!([]));
    let (_, doc_b) = get(&base, &format!("/v1/credentials/31337/{}/ob3", token(t, b))).await?;
    let (_, st) = get(
        &base,
        &format!("/v1/credentials/31337/{}/status", token(t, b)),
    )
    .await?;
    assert_eq!(st["status"], "revoked", "{st}");
    assert_eq!(st["revokedCredentials"][0]["id"], doc_b["id"], "{st}");
    assert!(st["revokedCredentials"][0]["revocationReason"]
        .as_str()
        .is_some_and(|r| r.contains("revoked") && r.contains('4')));
    let (_, st) = get(
        &base,
        &format!("/v1/credentials/31337/{}/status", token(2, a)),
    )
    .await?;
    assert_eq!(
        (st["status"].as_str(), st["valid"].as_bool()),
        (Some("suspended"), Some(false)),
        "{st}"
    );
    assert_eq!(st["revokedCredentials"].as_array().map(Vec::len), Some(1));

    // The issuer profile is the documents' issuer: the did:key of an HTTP deployment, whose key proves
    // the embedded Data Integrity proof.
    let (s, issuer) = get(&base, "/issuer").await?;
    assert_eq!(s, 200);
    assert_eq!(issuer["id"], doc["issuer"]["id"]);
    assert_eq!(issuer["type"], serde_json::json!(["Profile"]));
    let did = doc["issuer"]["id"].as_str().unwrap();
    assert!(did.starts_with("did:key:z6Mk"), "{did}");
    assert!(
        laurel::credentials::integrity::verify(&doc, &did_key_public(did)?)?,
        "the proof verifies with the issuer's key"
    );
    let mut tampered = doc.clone();
    tampered["name"] = "Another Name".into();
    assert!(!laurel::credentials::integrity::verify(
        &tampered,
        &did_key_public(did)?
    )?);

    // Baked badges: the credential extracted from the SVG (JSON-LD) and the PNG (VC-JWT) is the signed
    // credential — its proof verifies and it is the served document.
    use laurel::credentials::baking::{extract_png, extract_svg, Baked};
    let svg = reqwest::get(format!(
        "{base}/v1/credentials/31337/{}/badge.svg",
        token(t, a)
    ))
    .await?;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await?;
    assert!(svg.contains("xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\""));
    let Some(Baked::Json(text)) = extract_svg(&svg) else {
        bail!("no JSON-LD credential baked in the SVG: {svg}");
    };
    let from_svg: Value = serde_json::from_str(&text)?;
    assert!(laurel::credentials::integrity::verify(
        &from_svg,
        &did_key_public(did)?
    )?);
    assert_eq!(unsecured(&from_svg), unsecured(&doc));
    let png = reqwest::get(format!(
        "{base}/v1/credentials/31337/{}/badge.png?format=jwt",
        token(t, a)
    ))
    .await?;
    assert_eq!(png.headers()["content-type"], "image/png");
    let png = png.bytes().await?;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(
        (&png[16..20], &png[20..24]),
        (&400u32.to_be_bytes()[..], &400u32.to_be_bytes()[..]),
        "400 x 400"
    );
    let Some(Baked::Jwt(baked_jwt)) = extract_png(&png) else {
        bail!("no VC-JWT baked in the PNG");
    };
    let claims = decode::<Value>(&baked_jwt, &key, &validation)?.claims;
    assert_eq!(claims["jti"], doc["id"]);
    let (s, e) = get(
        &base,
        &format!("/v1/credentials/31337/{}/badge.png?format=gif", token(t, a)),
    )
    .await?;
    assert_eq!((s, e["field"].as_str()), (400, Some("format")), "{e}");

    // The status lists: signed, 131,072 entries, the revoked credential's bit set in the revocation list
    // and the suspended one's in the suspension list.
    let (s, list) = get(&base, "/v1/status-lists/31337/revocation/0").await?;
    assert_eq!(s, 200, "{list}");
    assert!(laurel::credentials::integrity::verify(
        &list,
        &did_key_public(did)?
    )?);
    assert_eq!(list["credentialSubject"]["statusPurpose"], "revocation");
    let encoded = list["credentialSubject"]["encodedList"].as_str().unwrap();
    let bit = |e: &str, d: &Value| {
        let i = d["statusListIndex"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap();
        laurel::credentials::status_list::bit(e, i)
    };
    assert_eq!(
        bit(encoded, &doc_b["credentialStatus"]),
        Some(true),
        "B is revoked"
    );
    assert_eq!(
        bit(encoded, &doc["credentialStatus"]),
        Some(false),
        "A is not"
    );
    let size = laurel::credentials::status_list::LIST_SIZE;
    assert_eq!(size, 131_072);
    assert_eq!(
        (
            laurel::credentials::status_list::bit(encoded, size - 1),
            laurel::credentials::status_list::bit(encoded, size)
        ),
        (Some(false), None),
        "exactly 131,072 entries"
    );
    let (s, list) = get(&base, "/v1/status-lists/31337/suspension/0").await?;
    assert_eq!(s, 200, "{list}");
    let encoded = list["credentialSubject"]["encodedList"].as_str().unwrap();
    assert_eq!(bit(encoded, &entries[1]), Some(true), "(2, a) is suspended");
    assert_eq!(bit(encoded, &doc["credentialStatus"]), Some(false));

    // Bad input: JSON 4xx.
    let (s, e) = get(
        &base,
        &format!("/v1/credentials/31337/{}/ob3", token(t, holder(8))),
    )
    .await?;
    assert_eq!((s, e["error"].as_str()), (404, Some("not_found")), "{e}");
    let (s, e) = get(
        &base,
        &format!("/v1/credentials/31337/{}/ob3?format=xml", token(t, a)),
    )
    .await?;
    assert_eq!((s, e["field"].as_str()), (400, Some("format")), "{e}");
    let (s, _) = get(&base, &format!("/v1/credentials/1/{}/ob3", token(t, a))).await?;
    assert_eq!(s, 404, "another chain");
    for (path, code) in [
        ("/v1/status-lists/31337/revocation/9", 404),
        ("/v1/status-lists/31337/expiry/0", 400),
        ("/v1/status-lists/31337/revocation/x", 400),
        ("/keys/no-such-key", 404),
    ] {
        let (s, e) = get(&base, path).await?;
        assert_eq!(s, code, "{path}: {e}");
    }
    Ok(())
}

/// The Ed25519 public key of a `did:key:z6Mk…`.
pub(crate) fn did_key_public(did: &str) -> Result<[u8; 32]> {
    let multibase = did.strip_prefix("did:key:z").context("not a did:key")?;
    let bytes = bs58::decode(multibase).into_vec()?;
    anyhow::ensure!(
        bytes.len() == 34 && bytes[..2] == [0xed, 0x01],
        "not an Ed25519 did:key"
    );
    Ok(bytes[2..].try_into()?)
}
