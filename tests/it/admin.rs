//! The admin commands through the `laurel` binary, against a real anvil and a real Postgres: a pathway type
//! created with `gov`, prerequisites enforced before any gas is spent, suspend / reinstate / renew / revoke /
//! recover reflected in the mirror exactly as the chain holds them (`laurel verify --json` shows both), and
//! a governance change that waits for its execution delay (anvil time travel) or is cancelled by a guardian.

use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use anyhow::{Context, Result};
use serde_json::Value;

use super::support::{holder, Harness};

/// `laurel verify --json` for `holder` and `type_id`: (chain status, mirror status, chain valid, mirror expiry).
fn verify(h: &Harness, who: Address, type_id: u64) -> Result<(String, String, bool, u64)> {
    let (chain, mirror, valid, expires, _) = verify_full(h, who, type_id)?;
    Ok((chain, mirror, valid, expires))
}

/// (chain status, mirror status, chain valid, mirror expiry, (chain issued at, chain expires at)).
type FullVerify = (String, String, bool, u64, (u64, u64));

/// As [`verify`], plus the chain's (issued at, expires at).
fn verify_full(h: &Harness, who: Address, type_id: u64) -> Result<FullVerify> {
    let (code, out) = h.run(&[
        "verify",
        &format!("{who:#x}"),
        "--type",
        &type_id.to_string(),
        "--json",
    ])?;
    anyhow::ensure!(code == 0, "verify failed: {out}");
    let json_start = out.find('{').context("no JSON")?;
    let v: Value = serde_json::from_str(&out[json_start..])?;
    let line = &v["lines"][0];
    Ok((
        line["chain"]["status"].as_str().unwrap_or("").to_string(),
        line["mirror"]["status"]
            .as_str()
            .unwrap_or("no record")
            .to_string(),
        line["chain"]["valid"].as_bool().unwrap_or(false),
        line["mirror"]["expires_at"].as_u64().unwrap_or(0),
        (
            line["chain"]["issued_at"].as_u64().unwrap_or(0),
            line["chain"]["expires_at"].as_u64().unwrap_or(0),
        ),
    ))
}

fn ok(h: &Harness, args: &[&str]) -> Result<String> {
    let (code, out) = h.run(args)?;
    anyhow::ensure!(code == 0, "laurel {args:?} failed ({code}): {out}");
    Ok(out)
}

#[tokio::test]
async fn pathway_and_status_changes_through_the_cli_match_on_chain_and_in_the_mirror() -> Result<()>
{
    let h = Harness::new().await?;
    let me = format!(
        "{:#x}",
        h.key_hex
            .parse::<alloy::signers::local::PrivateKeySigner>()?
            .address()
    );
    // Type 2: a pathway step after type 1, renewable, revocable, suspendable.
    let out = ok(
        &h,
        &[
            "gov",
            "type",
            "create",
            "--name",
            "Advanced",
            "--validity-days",
            "365",
            "--flags",
            "renewable,revocable,suspendable",
            "--requires",
            &h.type_id.to_string(),
        ],
    )?;
    assert!(out.contains("type 2 defined"), "{out}");
    ok(
        &h,
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
    let list = ok(&h, &["gov", "type", "list"])?;
    assert!(list.contains("Advanced") && list.contains("365d"), "{list}");

    let a = holder(1);
    let a_hex = format!("{a:#x}");
    // The prerequisite is missing: refused before any gas is spent.
    let (code, out) = h.run(&["issue", "--type", "2", "--holder", &a_hex])?;
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("lacks a valid credential of prerequisite type 1"),
        "{out}"
    );
    assert_eq!(h.mints().await?, 0);
    ok(&h, &["issue", "--type", "1", "--holder", &a_hex])?;
    ok(&h, &["issue", "--type", "2", "--holder", &a_hex])?;
    // Type 2's default validity is 365 days: the chain's expiry is issue time + 365 d, and the mirror's equals it.
    let (chain, mirror, valid, mirror_expiry, (issued, chain_expiry)) = verify_full(&h, a, 2)?;
    assert_eq!(
        (chain.as_str(), mirror.as_str(), valid),
        ("active", "active", true)
    );
    assert!(issued > 0, "the chain records an issue time");
    assert_eq!(chain_expiry, issued + 365 * 86_400);
    assert_eq!(mirror_expiry, chain_expiry);

    ok(
        &h,
        &[
            "suspend", "--type", "2", "--holder", &a_hex, "--reason", "7",
        ],
    )?;
    let (chain, mirror, valid, _) = verify(&h, a, 2)?;
    assert_eq!(
        (chain.as_str(), mirror.as_str(), valid),
        ("suspended", "suspended", false)
    );

    ok(&h, &["reinstate", "--type", "2", "--holder", &a_hex])?;
    assert_eq!(verify(&h, a, 2)?.0, "active");

    ok(
        &h,
        &[
            "renew",
            "--type",
            "2",
            "--holder",
            &a_hex,
            "--until",
            "2030-01-01",
        ],
    )?;
    let (chain, mirror, valid, expires) = verify(&h, a, 2)?;
    assert_eq!(
        (chain.as_str(), mirror.as_str(), valid),
        ("active", "active", true)
    );
    assert_eq!(expires, 1_893_456_000);

    // Revoking a credential that does not exist is refused with the contract's reason.
    let (code, out) = h.run(&[
        "revoke",
        "--type",
        "2",
        "--holder",
        &format!("{:#x}", holder(9)),
    ])?;
    assert_ne!(code, 0);
    assert!(out.contains("has no live credential of type 2"), "{out}");

    ok(
        &h,
        &["revoke", "--type", "2", "--holder", &a_hex, "--reason", "3"],
    )?;
    let (chain, mirror, valid, _) = verify(&h, a, 2)?;
    assert_eq!(
        (chain.as_str(), mirror.as_str(), valid),
        ("revoked", "revoked", false)
    );

    // Lost wallet: type 1 moves to a new address (RECOVERY has no delay on a dev chain).
    let b = holder(2);
    ok(
        &h,
        &["recover", "--from", &a_hex, "--to", &format!("{b:#x}")],
    )?;
    let (chain, mirror, valid, _) = verify(&h, a, 1)?;
    assert_eq!(
        (chain.as_str(), mirror.as_str(), valid),
        ("recovered", "recovered", false)
    );
    let (chain, mirror, valid, _) = verify(&h, b, 1)?;
    assert_eq!(
        (chain.as_str(), mirror.as_str(), valid),
        ("active", "active", true)
    );

    // Memberships: a tier that requires type 1, managed by the signer; b is eligible, a no longer is.
    let out = ok(
        &h,
        &[
            "gov",
            "tier",
            "create",
            "--name",
            "Alumni",
            "--duration-days",
            "30",
            "--requires",
            "1",
        ],
    )?;
    assert!(out.contains("tier 1 defined"), "{out}");
    ok(
        &h,
        &[
            "gov",
            "role",
            "grant",
            "--manager",
            "--tier",
            "1",
            "--account",
            &me,
        ],
    )?;
    let (code, out) = h.run(&["membership", "grant", "--tier", "1", "--holder", &a_hex])?;
    assert_ne!(
        code, 0,
        "a holder without the required credential is refused: {out}"
    );
    // Refused for the reason that matters (the recovered credential left a), and nothing was granted.
    assert!(
        out.contains("NotEligible") && out.contains("credentialType: 1"),
        "refused as ineligible for lack of type 1: {out}"
    );
    ok(
        &h,
        &[
            "membership",
            "grant",
            "--tier",
            "1",
            "--holder",
            &format!("{b:#x}"),
        ],
    )?;
    ok(
        &h,
        &[
            "membership",
            "renew",
            "--tier",
            "1",
            "--holder",
            &format!("{b:#x}"),
            "--days",
            "10",
        ],
    )?;
    let provider = alloy::providers::ProviderBuilder::new().connect_http(h.node.endpoint_url());
    let now = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .context("latest block")?
        .header
        .timestamp;
    ok(&h, &["gov", "tier", "list"])?;
    let m = h.store.memberships_of_holder(31337, b).await?;
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        h.store.memberships_of_holder(31337, a).await?.is_empty(),
        "the ineligible holder was granted nothing"
    );
    assert_eq!(m[0].status, laurel::domain::membership_status::ACTIVE);
    assert!(
        m[0].expires_at >= now + 39 * 86_400,
        "30 days + 10 days: {m:?}"
    );
    ok(
        &h,
        &[
            "membership",
            "cancel",
            "--tier",
            "1",
            "--holder",
            &format!("{b:#x}"),
        ],
    )?;
    ok(&h, &["gov", "tier", "list"])?;
    let m = h.store.memberships_of_holder(31337, b).await?;
    assert_eq!(m[0].status, laurel::domain::membership_status::CANCELLED);

    let text = ok(&h, &["verify", &format!("{b:#x}")])?;
    assert!(
        text.contains("cast call") && text.contains("isValid(address,uint256)(bool)"),
        "{text}"
    );
    h.db.drop_now().await
}

/// The operation id on the first line of `gov pending` that names one.
fn first_op_id(pending: &str) -> Option<String> {
    pending
        .split_whitespace()
        .find(|w| w.starts_with("0x") && w.len() == 66)
        .map(str::to_string)
}

#[tokio::test]
async fn a_governance_change_waits_for_its_delay_and_a_guardian_can_cancel_one() -> Result<()> {
    let h = Harness::new().await?;
    let second = h.node.keys()[1].clone();
    let second_hex = format!("0x{}", alloy::hex::encode(second.to_bytes()));
    let second_addr = alloy::signers::local::PrivateKeySigner::from(second).address();
    // A second governor whose calls wait one hour.
    ok(
        &h,
        &[
            "gov",
            "role",
            "grant",
            "--role",
            "governor",
            "--account",
            &format!("{second_addr:#x}"),
            "--delay",
            "3600",
        ],
    )?;
    let roles = ok(&h, &["gov", "role", "list"])?;
    assert!(
        roles.contains(&second_addr.to_string()) && roles.contains("execution delay 3600s"),
        "{roles}"
    );

    let as_second = |args: &[&str]| -> Result<(i32, String)> {
        let out = h
            .laurel(args)
            .env("LAUREL_PRIVATE_KEY", &second_hex)
            .output()?;
        Ok((
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ))
    };
    let (code, out) = as_second(&["gov", "type", "create", "--name", "Delayed"])?;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("scheduled"), "{out}");
    let pending = ok(&h, &["gov", "pending"])?;
    assert!(pending.contains("executable in"), "{pending}");
    let id = first_op_id(&pending).context("no operation id")?;

    // Too early: refused with the AccessManager's reason.
    let (code, out) = as_second(&["gov", "execute", "--id", &id])?;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("delay has not passed"), "{out}");

    let provider = ProviderBuilder::new().connect_http(h.node.endpoint_url());
    provider
        .raw_request::<_, Value>("evm_increaseTime".into(), (3601,))
        .await?;
    provider
        .raw_request::<_, Value>("evm_mine".into(), ())
        .await?;
    let (code, out) = as_second(&["gov", "execute", "--id", &id])?;
    assert_eq!(code, 0, "{out}");
    let list = ok(&h, &["gov", "type", "list"])?;
    assert!(list.contains("Delayed"), "{list}");
    assert!(ok(&h, &["gov", "pending"])?.contains("none"));

    // Scheduled again, then cancelled by the guardian (the deployer holds GUARDIAN on a dev chain).
    let (code, out) = as_second(&["gov", "type", "create", "--name", "Withdrawn"])?;
    assert_eq!(code, 0, "{out}");
    let id = first_op_id(&ok(&h, &["gov", "pending"])?).context("no operation id")?;
    ok(&h, &["gov", "cancel", "--id", &id])?;
    assert!(ok(&h, &["gov", "pending"])?.contains("none"));
    assert!(!ok(&h, &["gov", "type", "list"])?.contains("Withdrawn"));
    h.db.drop_now().await
}

/// Issue 10, "a pause stops revocation": pausing a type (the first move when an issuer key leaks) must not
/// stop its credentials from being revoked, while it still stops issuance.
#[tokio::test]
async fn a_paused_type_still_revokes_through_the_cli_and_issues_nothing() -> Result<()> {
    let h = Harness::new().await?;
    let t = h.type_id.to_string();
    let (a, b) = (format!("{:#x}", holder(1)), format!("{:#x}", holder(2)));
    ok(&h, &["issue", "--type", &t, "--holder", &a])?;
    ok(&h, &["gov", "pause", "--type", &t])?;
    let out = ok(
        &h,
        &["revoke", "--type", &t, "--holder", &a, "--reason", "7"],
    )?;
    assert!(!out.to_lowercase().contains("paused"), "{out}");
    let (chain, mirror, valid, _) = verify(&h, holder(1), h.type_id)?;
    assert_eq!(
        (chain.as_str(), mirror.as_str(), valid),
        ("revoked", "revoked", false)
    );
    let (code, out) = h.run(&["issue", "--type", &t, "--holder", &b])?;
    assert_ne!(code, 0, "issuing into a paused type must be refused: {out}");
    assert!(out.contains("paused"), "{out}");
    assert_eq!(h.mints().await?, 1, "nothing was issued while paused");
    Ok(())
}
