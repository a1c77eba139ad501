//! Every log the contracts emit decodes into a named event with its fields, on a real chain.

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, FixedBytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use anyhow::Result;
use laurel::chain::bindings::CredentialRegistry;
use laurel::domain::Source;
use laurel::indexer::decode::{decode, Contracts, DecodeError};

use super::support::{define_type, deployed_stack};

#[tokio::test]
async fn laurel_logs_decode_into_named_events() -> Result<()> {
    let (node, d, signer) = deployed_stack()?;
    let me = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(node.endpoint_url());
    let reg = CredentialRegistry::new(d.credential_registry, &provider);

    let t = define_type(&reg, "Databases", 86_400 * 365, me, 3).await?;
    let evidence = FixedBytes::repeat_byte(0xab);
    reg.issue(t, Address::repeat_byte(1), 0, evidence)
        .send()
        .await?
        .get_receipt()
        .await?;
    let holders: Vec<U256> = (2u8..5)
        .map(|b| U256::from_be_slice(Address::repeat_byte(b).as_slice()))
        .collect();
    let evidences = vec![FixedBytes::repeat_byte(0xcd); 3];
    reg.issueBatch(t, holders, evidences)
        .send()
        .await?
        .get_receipt()
        .await?;
    reg.revokeBatch(t, vec![Address::repeat_byte(2)], 7)
        .send()
        .await?
        .get_receipt()
        .await?;

    let contracts = Contracts::of(&d);
    let filter = Filter::new()
        .address(contracts.addresses().to_vec())
        .from_block(d.deploy_block);
    let logs = provider.get_logs(&filter).await?;
    let decoded: Vec<_> = logs
        .iter()
        .map(|l| decode(&contracts, l))
        .collect::<Result<_, _>>()?;
    let names: Vec<&str> = decoded.iter().map(|e| e.name.as_str()).collect();

    // Governance wiring from the deploy, then the registry's own events.
    for expected in [
        "RoleGranted",
        "TargetFunctionRoleUpdated",
        "RoleGuardianChanged",
        "TypeDefined",
        "TypeRolesSet",
        "Issued",
        "IssuedBatch",
        "RevokedBatch",
        "Transfer",
        "Locked",
    ] {
        assert!(names.contains(&expected), "{expected} among {names:?}");
    }
    assert_eq!(
        names.iter().filter(|n| **n == "Transfer").count(),
        5,
        "4 mints + 1 burn"
    );

    let issued = decoded.iter().find(|e| e.name == "Issued").unwrap();
    assert_eq!(issued.source, Source::CredentialRegistry);
    assert_eq!(
        issued.fields["evidenceHash"],
        serde_json::json!(format!("{evidence}"))
    );
    let batch = decoded.iter().find(|e| e.name == "IssuedBatch").unwrap();
    assert_eq!(
        batch.fields["holdersAndExpiries"].as_array().unwrap().len(),
        3
    );
    let revoked = decoded.iter().find(|e| e.name == "RevokedBatch").unwrap();
    assert_eq!(revoked.fields["reason"], serde_json::json!(7));

    // Positions are those of the chain, and strictly ordered.
    let mut last = (0u64, 0u64);
    for e in &decoded {
        assert!(
            (e.block_number, e.log_index) > last || last == (0, 0),
            "ordered by block and log index"
        );
        last = (e.block_number, e.log_index);
        let block = provider
            .get_block_by_number(e.block_number.into())
            .await?
            .unwrap();
        assert_eq!(block.header.hash, e.block_hash);
    }

    // A log from another contract is refused by name.
    let mut foreign = logs[0].clone();
    foreign.inner.address = Address::repeat_byte(0x99);
    assert!(matches!(
        decode(&contracts, &foreign),
        Err(DecodeError::ForeignAddress(_))
    ));
    Ok(())
}
