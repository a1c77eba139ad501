//! `scripts/deploy` against a real anvil: the record it writes, the wiring on chain, and a first credential
//! issued through the generated bindings.

use alloy::hex;
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, FixedBytes};
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use anyhow::{ensure, Result};
use laurel::chain::bindings::{AccessManager, CredentialRegistry, MembershipRegistry};
use laurel::chain::Deployment;
use laurel::domain::roles::manager as roles;

use super::support::{anvil, define_type, run_deploy, tempdir};

#[tokio::test]
async fn deploy_writes_the_record_and_wires_governance() -> Result<()> {
    let node = anvil()?;
    let dir = tempdir()?;
    let out = dir.join("31337.json");
    let key = node.keys()[0].clone();
    let key_hex = format!("0x{}", hex::encode(key.to_bytes()));

    let res = run_deploy(node.endpoint().as_str(), &key_hex, &out)?;
    ensure!(
        res.status.success(),
        "deploy failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );

    let d = Deployment::load_for_chain(&out, 31337)?;
    let signer = PrivateKeySigner::from(key);
    let me = signer.address();
    assert_eq!(d.deployer, me);
    assert_eq!(d.roles.governor, me);
    assert!(d.deploy_block >= 1, "deploy block comes from the receipts");
    assert_eq!(d.delays.policy, 0, "a dev chain deploys without delays");

    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(node.endpoint_url());
    let reg = CredentialRegistry::new(d.credential_registry, &provider);
    let mgr = AccessManager::new(d.access_manager, &provider);

    // Standards a wallet checks.
    for id in ["0x80ac58cd", "0x5b5e139f", "0xb45a3c0e", "0x49064906"] {
        let id = FixedBytes::<4>::from_slice(&hex::decode(id)?);
        assert!(
            reg.supportsInterface(id).call().await?,
            "interface {id} supported"
        );
    }
    assert_eq!(reg.name().call().await?, "Laurel Credentials");
    assert_eq!(reg.authority().call().await?, d.access_manager);
    let mem = MembershipRegistry::new(d.membership_registry, &provider);
    assert_eq!(mem.authority().call().await?, d.access_manager);
    assert_eq!(mem.credentials().call().await?, d.credential_registry);
    let erc5643 = FixedBytes::<4>::from_slice(&hex::decode("8c65f84d")?);
    assert!(
        mem.supportsInterface(erc5643).call().await?,
        "ERC-5643 supported"
    );
    let tier_sel = FixedBytes::from(MembershipRegistry::defineTierCall::SELECTOR);
    assert_eq!(
        mgr.getTargetFunctionRole(d.membership_registry, tier_sel)
            .call()
            .await?,
        roles::GOVERNOR
    );

    // Governance wiring: defineType is the GOVERNOR's, pause the PAUSER's; the deployer holds both.
    let define_sel = FixedBytes::from(CredentialRegistry::defineTypeCall::SELECTOR);
    let pause_sel = FixedBytes::from(CredentialRegistry::pauseCall::SELECTOR);
    assert_eq!(
        mgr.getTargetFunctionRole(d.credential_registry, define_sel)
            .call()
            .await?,
        roles::GOVERNOR
    );
    assert_eq!(
        mgr.getTargetFunctionRole(d.credential_registry, pause_sel)
            .call()
            .await?,
        roles::PAUSER
    );
    let gov = mgr.hasRole(roles::GOVERNOR, me).call().await?;
    assert!(gov.isMember);

    // A first type, issuer role and credential through the bindings.
    let type_id = define_type(&reg, "Rust Fundamentals", 365 * 86_400, me, 1).await?;
    let holder = Address::repeat_byte(0x42);
    let receipt = reg
        .issue(type_id, holder, 0, FixedBytes::repeat_byte(7))
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    assert!(reg.isValid(holder, type_id).call().await?);
    let token = reg.tokenIdOf(holder, type_id).call().await?;
    assert_eq!(reg.ownerOf(token).call().await?, holder);
    Ok(())
}

#[tokio::test]
async fn deploy_with_an_unfunded_key_fails_and_writes_nothing() -> Result<()> {
    let node = anvil()?;
    let dir = tempdir()?;
    let out = dir.join("31337.json");
    let res = run_deploy(node.endpoint().as_str(), "0x01", &out)?;
    assert!(!res.status.success(), "an unfunded deployer cannot deploy");
    assert!(
        !out.exists(),
        "no record is written when the broadcast fails"
    );
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(
        stderr.contains("nothing was written"),
        "the failure says so: {stderr}"
    );
    Ok(())
}
