//! The projections against a real anvil and a real Postgres: after indexing, every credential, type, tier,
//! membership, role, governance operation and registry flag equals what the contracts' views say; after a
//! reorg (anvil_rollback, then different transactions) they equal the chain again and a fresh index of it.

use std::collections::BTreeSet;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, FixedBytes, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use anyhow::{ensure, Context, Result};
use laurel::chain::bindings::{AccessManager, CredentialRegistry, MembershipRegistry};
use laurel::chain::Deployment;
use laurel::domain::roles::manager as roles;
use laurel::domain::{
    credential_status, membership_status, token_id, CredentialTypeRow, GovernanceOpRow,
    MembershipRow, OpState, RegistryStateRow, RoleRow, RoleScope, TierRow,
};
use laurel::indexer::decode::Contracts;
use laurel::indexer::follow::{FollowConfig, Follower, Step};
use laurel::store::Store;

use super::support::{confirm, deployed_stack, ScratchDb};

const CHAIN: u64 = 31337;

/// Sends a contract call and waits for its receipt by polling (safe after an anvil rollback).
macro_rules! send {
    ($provider:expr, $call:expr) => {{
        let pending = $call.send().await.context(stringify!($call))?;
        confirm(&$provider, *pending.tx_hash()).await?
    }};
}

fn wallet(
    node_url: alloy::transports::http::reqwest::Url,
    signer: PrivateKeySigner,
) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(node_url)
        .erased()
}

fn policy(
    name: &str,
    validity: u64,
    max_supply: u32,
    prerequisites: &[U256],
) -> CredentialRegistry::TypePolicy {
    CredentialRegistry::TypePolicy {
        uri: format!("ipfs://{name}"),
        maxSupply: max_supply,
        prerequisites: prerequisites.to_vec(),
        // renewable, revocable, suspendable, renounceable, re-issuable after expiry and revocation
        ..CredentialRegistry::TypePolicy::plain(name, validity, 63)
    }
}

fn tier_policy(
    name: &str,
    duration: u64,
    transferable: bool,
    eligibility: &[U256],
) -> MembershipRegistry::TierPolicy {
    MembershipRegistry::TierPolicy {
        name: name.into(),
        uri: format!("ipfs://{name}"),
        duration,
        holderRenewable: true,
        transferable,
        maxMembers: 0,
        eligibility: eligibility.to_vec(),
    }
}

fn word(a: Address) -> U256 {
    U256::from_be_slice(a.as_slice())
}

/// A store on a fresh scratch database with the deployment registered, and a follower over it.
async fn indexed_store(
    d: &Deployment,
    reader: &DynProvider,
) -> Result<(ScratchDb, Store, Follower)> {
    let db = ScratchDb::new().await?;
    let store = Store::connect(&db.url).await?;
    store.migrate().await?;
    store.register_deployment(d).await?;
    let follower = Follower::new(
        reader.clone(),
        store.clone(),
        Contracts::of(d),
        CHAIN,
        d.deploy_block,
        FollowConfig {
            max_range: 4,
            window: 32,
            confirmations: 2,
            finality_tags: true,
        },
    );
    Ok((db, store, follower))
}

/// Every projection row of the mirror, in a fixed order (for comparing two mirrors).
#[derive(Debug, PartialEq)]
struct Dump {
    types: Vec<CredentialTypeRow>,
    credentials: Vec<laurel::domain::CredentialRow>,
    tiers: Vec<TierRow>,
    memberships: Vec<MembershipRow>,
    roles: Vec<RoleRow>,
    ops: Vec<GovernanceOpRow>,
    registries: Vec<RegistryStateRow>,
}

async fn dump(store: &Store) -> Result<Dump> {
    let types = store.credential_types(CHAIN).await?;
    let mut credentials = Vec::new();
    for t in &types {
        credentials.extend(store.credentials_of_type(CHAIN, t.type_id).await?);
    }
    let tiers = store.tiers(CHAIN).await?;
    let mut memberships = Vec::new();
    for t in &tiers {
        memberships.extend(store.memberships_of_tier(CHAIN, t.tier_id).await?);
    }
    Ok(Dump {
        types,
        credentials,
        tiers,
        memberships,
        roles: store.roles(CHAIN, None).await?,
        ops: store.governance_ops(CHAIN, None).await?,
        registries: store.registry_state(CHAIN).await?,
    })
}

/// Asserts that the projections equal what the contracts' views answer now, for `holders` (and every
/// account with a role or membership in the mirror).
async fn assert_mirror_equals_chain(
    store: &Store,
    provider: &DynProvider,
    d: &Deployment,
    holders: &[Address],
) -> Result<()> {
    let reg = CredentialRegistry::new(d.credential_registry, provider);
    let mem = MembershipRegistry::new(d.membership_registry, provider);
    let mgr = AccessManager::new(d.access_manager, provider);
    let now = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .context("latest block")?
        .header
        .timestamp;

    // Types: policy, pause flag, supply (the contract counts it for capped types; the mirror for all).
    let type_count: u64 = reg.typeCount().call().await?.to();
    let types = store.credential_types(CHAIN).await?;
    ensure!(
        types.len() as u64 == type_count,
        "{} types in the mirror, {type_count} on chain",
        types.len()
    );
    for t in &types {
        let id = U256::from(t.type_id);
        let p = reg.typePolicy(id).call().await?;
        assert_eq!(
            (
                t.name.as_str(),
                t.uri.as_str(),
                t.default_validity,
                t.max_validity,
                t.renewal_window
            ),
            (
                p.name.as_str(),
                p.uri.as_str(),
                p.defaultValidity.to::<u64>(),
                p.maxValidity.to::<u64>(),
                p.renewalWindow.to::<u64>()
            ),
            "type {}",
            t.type_id
        );
        assert_eq!(
            (t.max_supply, t.quota_limit, t.quota_period, t.flags),
            (p.maxSupply, p.quotaLimit, p.quotaPeriod, p.flags),
            "type {}",
            t.type_id
        );
        let pre: Vec<u64> = p.prerequisites.iter().map(|x| x.to::<u64>()).collect();
        assert_eq!(t.prerequisites, pre, "type {} prerequisites", t.type_id);
        let state = reg.typeState(id).call().await?;
        assert_eq!(t.paused, state.isPaused, "type {} pause", t.type_id);
        if t.max_supply != 0 {
            assert_eq!(
                t.supply,
                state.supply.to::<u64>(),
                "type {} supply",
                t.type_id
            );
        }
        let live = store
            .credentials_of_type(CHAIN, t.type_id)
            .await?
            .iter()
            .filter(|c| c.is_live())
            .count() as u64;
        assert_eq!(
            t.supply, live,
            "type {} supply = its live credentials",
            t.type_id
        );
    }

    // Credentials: every (type, holder) of interest, compared with credentialOf and isValid.
    let mut accounts: BTreeSet<Address> = holders.iter().copied().collect();
    for t in &types {
        for c in store.credentials_of_type(CHAIN, t.type_id).await? {
            accounts.insert(c.holder);
        }
    }
    for t in &types {
        for &h in &accounts {
            let chain = reg.credentialOf(h, U256::from(t.type_id)).call().await?;
            let row = store.credential(CHAIN, t.type_id, h).await?;
            // The hot path's read (row and cursor in one statement) gives the same row and the cursor.
            let (joined, block) = store.credential_as_of_cursor(CHAIN, t.type_id, h).await?;
            assert_eq!(joined, row, "type {} holder {h}", t.type_id);
            assert_eq!(
                block,
                store.cursor(CHAIN).await?.and_then(|c| c.indexed_block)
            );
            match row {
                None => assert_eq!(
                    chain.status, 0,
                    "type {} holder {h}: on chain but not mirrored",
                    t.type_id
                ),
                Some(r) => {
                    assert_eq!(r.token_id, chain.tokenId);
                    assert_eq!(
                        (
                            r.holder,
                            r.issuer,
                            r.issued_at,
                            r.expires_at,
                            r.status,
                            r.reason
                        ),
                        (
                            chain.holder,
                            chain.issuer,
                            chain.issuedAt.to::<u64>(),
                            chain.expiresAt.to::<u64>(),
                            chain.status,
                            chain.reason
                        ),
                        "type {} holder {h}",
                        t.type_id
                    );
                    assert_eq!(
                        r.is_valid_at(now),
                        reg.isValid(h, U256::from(t.type_id)).call().await?
                    );
                    assert_eq!(r.is_valid_at(now), chain.valid);
                }
            }
        }
    }

    // Tiers and memberships.
    let tier_count: u64 = mem.tierCount().call().await?.to();
    let tiers = store.tiers(CHAIN).await?;
    ensure!(
        tiers.len() as u64 == tier_count,
        "{} tiers in the mirror, {tier_count} on chain",
        tiers.len()
    );
    for t in &tiers {
        let id = U256::from(t.tier_id);
        let p = mem.tierPolicy(id).call().await?;
        assert_eq!(
            (
                t.name.as_str(),
                t.uri.as_str(),
                t.duration,
                t.holder_renewable,
                t.transferable,
                t.max_members
            ),
            (
                p.name.as_str(),
                p.uri.as_str(),
                p.duration,
                p.holderRenewable,
                p.transferable,
                p.maxMembers
            ),
            "tier {}",
            t.tier_id
        );
        let elig: Vec<u64> = p.eligibility.iter().map(|x| x.to::<u64>()).collect();
        assert_eq!(t.eligibility, elig);
        assert_eq!(
            t.members,
            mem.memberCount(id).call().await?.to::<u64>(),
            "tier {} members",
            t.tier_id
        );
        assert_eq!(
            t.paused,
            mem.tierPaused(id).call().await?,
            "tier {} pause",
            t.tier_id
        );
        for m in store.memberships_of_tier(CHAIN, t.tier_id).await? {
            let live = matches!(
                m.status,
                membership_status::ACTIVE | membership_status::CANCELLED
            );
            match mem.membership(m.token_id).call().await {
                Ok(c) => {
                    ensure!(
                        live,
                        "membership {} is burned in the mirror but exists on chain",
                        m.token_id
                    );
                    assert_eq!(
                        (m.holder, m.expires_at, m.status, m.granted_at),
                        (c.holder, c.expiresAt, c.status, c.grantedAt),
                        "membership {:#x}",
                        m.token_id
                    );
                    assert_eq!(m.holder, mem.ownerOf(m.token_id).call().await?);
                    assert_eq!(m.expires_at, mem.expiresAt(m.token_id).call().await?);
                    assert_eq!(
                        m.is_active_at(now) && m.status == membership_status::ACTIVE,
                        mem.isActive(m.holder, U256::from(m.tier_id)).call().await?
                    );
                }
                Err(_) => ensure!(
                    !live,
                    "membership {:#x} is live in the mirror but not on chain",
                    m.token_id
                ),
            }
        }
        // No live membership on chain is missing from the mirror.
        for &h in &accounts {
            let held = mem.tokenIdOf(h, id).call().await?;
            if !held.is_zero() {
                let row = store
                    .membership(CHAIN, held)
                    .await?
                    .context("a held membership is mirrored")?;
                assert_eq!(row.holder, h);
            }
        }
    }

    // Roles: every mirrored role holds on chain, and every candidate account without a row holds none.
    let mirrored = store.roles(CHAIN, None).await?;
    for r in &mirrored {
        match r.scope {
            RoleScope::Manager => {
                let access = mgr.getAccess(r.scope_id, r.account).call().await?;
                assert_eq!(r.since, Some(access.since.to::<u64>()), "role {r:?}");
                let has = mgr.hasRole(r.scope_id, r.account).call().await?;
                assert!(has.isMember || access.since.to::<u64>() > now, "role {r:?}");
                // The delay last granted: pending until its effect time, then current.
                let last = if access.effect.is_zero() {
                    access.currentDelay
                } else {
                    access.pendingDelay
                };
                assert_eq!(r.delay, Some(u64::from(last)), "role {r:?}");
            }
            RoleScope::Type => {
                assert_eq!(
                    r.bits,
                    reg.rolesOf(U256::from(r.scope_id), r.account)
                        .call()
                        .await?,
                    "{r:?}"
                );
            }
            RoleScope::Tier => {
                assert!(
                    mem.isTierManager(U256::from(r.scope_id), r.account)
                        .call()
                        .await?,
                    "{r:?}"
                );
            }
        }
    }
    let candidates: BTreeSet<Address> = accounts
        .iter()
        .copied()
        .chain(mirrored.iter().map(|r| r.account))
        .collect();
    for &a in &candidates {
        for role in [
            roles::ADMIN,
            roles::GOVERNOR,
            roles::RECOVERY,
            roles::PAUSER,
            roles::GUARDIAN,
        ] {
            let on_chain = mgr.getAccess(role, a).call().await?.since.to::<u64>() != 0;
            let in_mirror = mirrored
                .iter()
                .any(|r| r.scope == RoleScope::Manager && r.scope_id == role && r.account == a);
            assert_eq!(on_chain, in_mirror, "role {role} of {a}");
        }
        for t in &types {
            let bits = reg.rolesOf(U256::from(t.type_id), a).call().await?;
            let in_mirror = mirrored
                .iter()
                .find(|r| r.scope == RoleScope::Type && r.scope_id == t.type_id && r.account == a)
                .map_or(0, |r| r.bits);
            assert_eq!(bits, in_mirror, "type {} roles of {a}", t.type_id);
        }
        for t in &tiers {
            let on_chain = mem.isTierManager(U256::from(t.tier_id), a).call().await?;
            let in_mirror = mirrored
                .iter()
                .any(|r| r.scope == RoleScope::Tier && r.scope_id == t.tier_id && r.account == a);
            assert_eq!(on_chain, in_mirror, "tier {} manager {a}", t.tier_id);
        }
    }

    // Governance operations: the pending ones are what getSchedule says; done ones are cleared on chain.
    for op in store.governance_ops(CHAIN, None).await? {
        let schedule: u64 = mgr.getSchedule(op.operation_id).call().await?.to();
        let nonce = mgr.getNonce(op.operation_id).call().await?;
        assert_eq!(
            nonce, op.nonce,
            "the newest scheduling of {}",
            op.operation_id
        );
        match op.state {
            OpState::Scheduled => assert_eq!(Some(schedule), op.schedule, "{op:?}"),
            OpState::Executed | OpState::Canceled => assert_eq!(schedule, 0, "{op:?}"),
        }
        let id = mgr
            .hashOperation(
                op.caller.unwrap(),
                op.target.unwrap(),
                op.data.clone().unwrap(),
            )
            .call()
            .await?;
        assert_eq!(id, op.operation_id);
    }

    // Registry flags.
    let state = store.registry_state(CHAIN).await?;
    assert_eq!(state.len(), 2);
    for s in state {
        let (paused, base) = match s.registry {
            laurel::domain::Registry::Credentials => {
                (reg.paused().call().await?, reg.baseURI().call().await?)
            }
            laurel::domain::Registry::Memberships => {
                (mem.paused().call().await?, mem.baseURI().call().await?)
            }
        };
        assert_eq!(
            (s.paused, s.base_uri),
            (paused, Some(base)),
            "{:?}",
            s.registry
        );
    }
    Ok(())
}

#[tokio::test]
async fn projections_equal_the_chain_after_every_kind_of_change() -> Result<()> {
    let (node, d, signer) = deployed_stack()?;
    let me = signer.address();
    let url = node.endpoint_url();
    let admin = wallet(url.clone(), signer);
    let reader = ProviderBuilder::new().connect_http(url.clone()).erased();
    let reg = CredentialRegistry::new(d.credential_registry, &admin);
    let mem = MembershipRegistry::new(d.membership_registry, &admin);
    let mgr = AccessManager::new(d.access_manager, &admin);
    let key = |i: usize| PrivateKeySigner::from(node.keys()[i].clone());
    let renouncer = key(1);
    let governor = key(2);
    let pauser = key(3);
    let h = |b: u8| Address::repeat_byte(b);

    // Types: a capped pathway type needs the first.
    send!(admin, reg.defineType(policy("Rust", 365 * 86_400, 0, &[])));
    let t1 = reg.typeCount().call().await?;
    send!(
        admin,
        reg.defineType(policy("Async Rust", 365 * 86_400, 10, &[t1]))
    );
    let t2 = reg.typeCount().call().await?;
    for t in [t1, t2] {
        send!(admin, reg.setTypeRoles(t, me, 3));
    }
    send!(admin, reg.setTypeRoles(t1, h(0x99), 1));
    send!(admin, reg.setTypeRoles(t1, h(0x99), 0));

    // Issue: one, then batches (one per type; the pathway to holders of the first).
    send!(admin, reg.issue(t1, h(1), 0, FixedBytes::repeat_byte(1)));
    let batch: Vec<U256> = [h(2), h(3), h(4), h(5), h(6), renouncer.address(), h(8)]
        .iter()
        .map(|a| word(*a))
        .collect();
    let evidence: Vec<FixedBytes<32>> = (0..batch.len())
        .map(|i| FixedBytes::repeat_byte(0x10 + i as u8))
        .collect();
    send!(admin, reg.issueBatch(t1, batch, evidence));
    let far = reader
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .unwrap()
        .header
        .timestamp
        + 30 * 86_400;
    send!(
        admin,
        reg.issueBatch(
            t2,
            vec![word(h(1)), word(h(2)) | (U256::from(far) << 160)],
            vec![FixedBytes::repeat_byte(0xa1); 2]
        )
    );

    // Status changes.
    send!(admin, reg.revoke(token_id(t1.to(), h(3)), 5));
    send!(admin, reg.revokeBatch(t1, vec![h(4)], 6));
    send!(admin, reg.suspend(token_id(t1.to(), h(5)), 2));
    send!(admin, reg.suspend(token_id(t1.to(), h(6)), 3));
    send!(admin, reg.reinstate(token_id(t1.to(), h(6))));
    send!(admin, reg.renew(token_id(t1.to(), h(1)), 0));
    let as_renouncer = wallet(url.clone(), renouncer.clone());
    send!(
        as_renouncer,
        CredentialRegistry::new(d.credential_registry, &as_renouncer).renounce(t1)
    );
    send!(admin, reg.issue(t1, h(3), 0, FixedBytes::repeat_byte(3))); // re-issue after revocation
    send!(admin, reg.recover(h(1), h(7))); // moves h1's credentials of both types to h7

    // Memberships: tiers, managers, grants, renewal, cancel, revoke, tier change, a transfer.
    send!(
        admin,
        mem.defineTier(tier_policy("Silver", 30 * 86_400, false, &[]))
    );
    send!(
        admin,
        mem.defineTier(tier_policy("Gold", 60 * 86_400, false, &[t1]))
    );
    send!(
        admin,
        mem.defineTier(tier_policy("Pass", 10 * 86_400, true, &[]))
    );
    for tier in 1..=3u64 {
        send!(admin, mem.setTierManager(U256::from(tier), me, true));
    }
    send!(admin, mem.setTierManager(U256::from(1), h(0x98), true));
    send!(admin, mem.setTierManager(U256::from(1), h(0x98), false));
    let silver = U256::from(1);
    let gold = U256::from(2);
    let pass = U256::from(3);
    send!(admin, mem.grantBatch(silver, vec![h(2), h(3), h(8)]));
    send!(admin, mem.grant(silver, h(9)));
    send!(admin, mem.renewSubscription(token_id(1, h(2)), 86_400));
    send!(admin, mem.cancelSubscription(token_id(1, h(3))));
    send!(admin, mem.changeTier(token_id(1, h(8)), gold));
    send!(admin, mem.revoke(token_id(1, h(9)), 4));
    send!(admin, mem.grant(pass, renouncer.address()));
    send!(
        as_renouncer,
        MembershipRegistry::new(d.membership_registry, &as_renouncer).transferFrom(
            renouncer.address(),
            h(0x0a),
            token_id(3, renouncer.address())
        )
    );

    // Governance: a GOVERNOR with a delay schedules, a guardian cancels one, the other executes later.
    send!(
        admin,
        mgr.grantRole(roles::GOVERNOR, governor.address(), 10)
    );
    send!(admin, mgr.grantRole(roles::PAUSER, pauser.address(), 0));
    send!(admin, mgr.revokeRole(roles::PAUSER, pauser.address()));
    let as_governor = wallet(url.clone(), governor.clone());
    let gm = AccessManager::new(d.access_manager, &as_governor);
    let define: Bytes = CredentialRegistry::defineTypeCall {
        policy: policy("Scheduled", 86_400, 0, &[]),
    }
    .abi_encode()
    .into();
    let base: Bytes = CredentialRegistry::setBaseURICall {
        baseURI_: "https://cancelled/".into(),
    }
    .abi_encode()
    .into();
    send!(
        as_governor,
        gm.schedule(
            d.credential_registry,
            define.clone(),
            alloy::primitives::aliases::U48::ZERO
        )
    );
    send!(
        as_governor,
        gm.schedule(
            d.credential_registry,
            base.clone(),
            alloy::primitives::aliases::U48::ZERO
        )
    );
    send!(
        admin,
        mgr.cancel(governor.address(), d.credential_registry, base)
    );
    let _: serde_json::Value = reader
        .raw_request("evm_increaseTime".into(), (20u64,))
        .await?;
    let _: serde_json::Value = reader.raw_request("evm_mine".into(), ()).await?;
    send!(as_governor, gm.execute(d.credential_registry, define));
    // One left pending.
    let pending_uri: Bytes = MembershipRegistry::setBaseURICall {
        baseURI_: "https://later/".into(),
    }
    .abi_encode()
    .into();
    send!(
        as_governor,
        gm.schedule(
            d.membership_registry,
            pending_uri,
            alloy::primitives::aliases::U48::ZERO
        )
    );

    // Pauses and base URIs.
    send!(admin, reg.pauseType(t2));
    send!(admin, mem.pauseTier(gold));
    send!(admin, mem.pause());
    send!(admin, mem.unpause());
    send!(admin, reg.setBaseURI("https://creds/".into()));

    let (db, store, mut follower) = indexed_store(&d, &reader).await?;
    let steps = follower.catch_up(1_000).await?;
    assert!(steps.len() > 3, "several ranges: {steps:?}");
    let holders: Vec<Address> = (1..=10)
        .map(h)
        .chain([
            renouncer.address(),
            me,
            governor.address(),
            pauser.address(),
        ])
        .collect();
    assert_mirror_equals_chain(&store, &reader, &d, &holders).await?;

    // Spot checks of what the views do not show.
    let h7 = store.credential(CHAIN, t1.to(), h(7)).await?.unwrap();
    assert_eq!(h7.recovered_from, Some(h(1)));
    assert_eq!(
        store
            .credential(CHAIN, t1.to(), h(1))
            .await?
            .unwrap()
            .recovered_to,
        Some(h(7))
    );
    assert_eq!(
        store
            .credential(CHAIN, t1.to(), h(2))
            .await?
            .unwrap()
            .evidence_hash,
        B256::repeat_byte(0x10),
        "batch evidence per holder"
    );
    assert_eq!(
        store
            .credential(CHAIN, t1.to(), renouncer.address())
            .await?
            .unwrap()
            .status,
        credential_status::RENOUNCED
    );
    let mine: Vec<u64> = store
        .credentials_of_holder(CHAIN, h(7))
        .await?
        .iter()
        .map(|c| c.type_id)
        .collect();
    assert_eq!(mine, [t1.to::<u64>(), t2.to()]);
    let moved = store.membership(CHAIN, token_id(1, h(8))).await?.unwrap();
    assert_eq!(
        (moved.status, moved.moved_to),
        (membership_status::MOVED, Some(token_id(2, h(8))))
    );
    let gold_m = store.membership(CHAIN, token_id(2, h(8))).await?.unwrap();
    assert_eq!(
        gold_m.granted_at, moved.granted_at,
        "a tier change keeps the grant time"
    );
    let revoked = store.membership(CHAIN, token_id(1, h(9))).await?.unwrap();
    assert_eq!(
        (revoked.status, revoked.reason),
        (membership_status::REVOKED, 4)
    );
    let passed = store.memberships_of_holder(CHAIN, h(0x0a)).await?;
    assert_eq!(passed.len(), 1);
    assert_eq!(passed[0].original_holder, renouncer.address());
    let ops = store.governance_ops(CHAIN, None).await?;
    let states: Vec<OpState> = ops.iter().map(|o| o.state).collect();
    assert_eq!(
        states,
        [OpState::Executed, OpState::Canceled, OpState::Scheduled]
    );
    assert_eq!(
        store
            .governance_ops(CHAIN, Some(OpState::Scheduled))
            .await?
            .len(),
        1
    );
    assert_eq!(
        store.credential_types(CHAIN).await?.len(),
        3,
        "the scheduled definition ran"
    );
    assert!(store
        .roles(CHAIN, Some(RoleScope::Tier))
        .await?
        .iter()
        .all(|r| r.account == me));
    assert!(store
        .roles(CHAIN, Some(RoleScope::Type))
        .await?
        .iter()
        .all(|r| r.account == me));
    let gov = store
        .roles(CHAIN, Some(RoleScope::Manager))
        .await?
        .into_iter()
        .find(|r| r.account == governor.address())
        .unwrap();
    assert_eq!((gov.scope_id, gov.delay), (roles::GOVERNOR, Some(10)));

    store.pool().close().await;
    db.drop_now().await
}

#[tokio::test]
async fn a_reorg_restores_the_projections_to_a_fresh_index_of_the_surviving_chain() -> Result<()> {
    let (node, d, signer) = deployed_stack()?;
    let me = signer.address();
    let url = node.endpoint_url();
    let admin = wallet(url.clone(), signer.clone());
    let reader = ProviderBuilder::new().connect_http(url.clone()).erased();
    let reg = CredentialRegistry::new(d.credential_registry, &admin);
    let mem = MembershipRegistry::new(d.membership_registry, &admin);
    let h = |b: u8| Address::repeat_byte(b);

    send!(admin, reg.defineType(policy("Rust", 365 * 86_400, 5, &[])));
    let t = reg.typeCount().call().await?;
    send!(admin, reg.setTypeRoles(t, me, 3));
    send!(
        admin,
        reg.issueBatch(
            t,
            vec![word(h(1)), word(h(2)), word(h(3))],
            vec![FixedBytes::repeat_byte(1); 3]
        )
    );
    send!(
        admin,
        mem.defineTier(tier_policy("Silver", 30 * 86_400, false, &[]))
    );
    send!(admin, mem.setTierManager(U256::from(1), me, true));
    send!(admin, mem.grant(U256::from(1), h(1)));

    let (db, store, mut follower) = indexed_store(&d, &reader).await?;
    follower.catch_up(1_000).await?;
    let holders: Vec<Address> = (1..=6).map(h).chain([me]).collect();
    assert_mirror_equals_chain(&store, &reader, &d, &holders).await?;
    let fork = reader.get_block_number().await?;

    // The blocks that will be replaced: renew h1, suspend h2, a new type, issue to h4, a role, a membership
    // renewal and a grant, a pause.
    send!(admin, reg.renew(token_id(t.to(), h(1)), 0));
    send!(admin, reg.suspend(token_id(t.to(), h(2)), 9));
    send!(admin, reg.defineType(policy("Doomed", 86_400, 0, &[t])));
    send!(admin, reg.issue(t, h(4), 0, FixedBytes::repeat_byte(4)));
    send!(admin, reg.setTypeRoles(t, h(0x99), 2));
    send!(admin, mem.renewSubscription(token_id(1, h(1)), 86_400));
    send!(admin, mem.grant(U256::from(1), h(2)));
    send!(admin, reg.pause());
    let replaced = reader.get_block_number().await? - fork;
    // Index part of it, then the rest: ranges of up to 4 blocks, all in the window, so undo is logged.
    follower.step().await?;
    follower.catch_up(1_000).await?;
    assert_mirror_equals_chain(&store, &reader, &d, &holders).await?;
    let undo = store.undo_log(CHAIN).await?;
    for b in fork + 1..=fork + replaced {
        assert!(
            undo.contains_key(&b),
            "block {b} has undo entries: {undo:?}"
        );
    }

    // Reorg: roll the replaced blocks back, then mine different ones (revoke h1 instead of renewing it,
    // issue to h5, cancel h1's membership, revoke a role that was there before).
    let _: serde_json::Value = reader
        .raw_request("anvil_rollback".into(), (replaced,))
        .await?;
    assert_eq!(reader.get_block_number().await?, fork);
    // alloy's cached nonce is stale after a rollback: a new wallet provider reads it afresh.
    let admin = wallet(url.clone(), signer);
    let reg = CredentialRegistry::new(d.credential_registry, &admin);
    let mem = MembershipRegistry::new(d.membership_registry, &admin);
    send!(admin, reg.revoke(token_id(t.to(), h(1)), 7));
    send!(admin, reg.issue(t, h(5), 0, FixedBytes::repeat_byte(5)));
    send!(admin, mem.cancelSubscription(token_id(1, h(1))));
    send!(admin, mem.setTierManager(U256::from(1), me, false));

    let steps = follower.catch_up(1_000).await?;
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::Unwound { to, .. } if *to == fork)),
        "unwound to the fork point {fork}: {steps:?}"
    );
    assert_mirror_equals_chain(&store, &reader, &d, &holders).await?;
    assert!(
        store.credential(CHAIN, t.to(), h(4)).await?.is_none(),
        "the replaced issue is gone"
    );
    assert_eq!(
        store.credential_types(CHAIN).await?.len(),
        1,
        "the replaced type definition is gone"
    );
    assert!(
        store.membership(CHAIN, token_id(1, h(2))).await?.is_none(),
        "the replaced grant is gone"
    );
    assert!(
        !store.registry_state(CHAIN).await?[0].paused,
        "the replaced pause is gone"
    );

    // A fresh index of the same chain gives the same projections, row for row.
    let (db2, fresh, mut follower2) = indexed_store(&d, &reader).await?;
    follower2.catch_up(1_000).await?;
    assert_eq!(dump(&store).await?, dump(&fresh).await?);

    store.pool().close().await;
    fresh.pool().close().await;
    db.drop_now().await?;
    db2.drop_now().await
}

/// A synthetic deployment record (no chain needed for store-level tests).
fn fake_deployment() -> Deployment {
    super::support::fake_deployment(1, 0x02)
}

/// The logs of one `issueBatch` of `n` fresh holders in block `block`, as the decoder writes them:
/// a Transfer and a Locked per holder, then the IssuedBatch.
fn batch_logs(
    block: u64,
    type_id: u64,
    first: u32,
    n: u32,
) -> Vec<laurel::store::mirror::NewEvent> {
    use laurel::domain::Source;
    let tx = B256::from(U256::from(block));
    let holders: Vec<Address> = (first..first + n)
        .map(|i| Address::from_word(B256::from(U256::from(i + 1))))
        .collect();
    let mk = |log: u64, name: &str, fields: serde_json::Value| laurel::store::mirror::NewEvent {
        tx_hash: tx,
        log_index: log,
        block_number: block,
        block_hash: B256::repeat_byte(block as u8),
        tx_index: 0,
        contract: Address::repeat_byte(0x02),
        source: Source::CredentialRegistry,
        block_timestamp: 1_700_000_000 + block,
        name: name.into(),
        fields,
    };
    let mut logs = Vec::with_capacity(2 * n as usize + 1);
    for (i, h) in holders.iter().enumerate() {
        let token = token_id(type_id, *h);
        let transfer = CredentialRegistry::Transfer {
            from: Address::ZERO,
            to: *h,
            tokenId: token,
        };
        logs.push(mk(
            2 * i as u64,
            "Transfer",
            serde_json::to_value(transfer).unwrap(),
        ));
        let locked = CredentialRegistry::Locked { tokenId: token };
        logs.push(mk(
            2 * i as u64 + 1,
            "Locked",
            serde_json::to_value(locked).unwrap(),
        ));
    }
    let batch = CredentialRegistry::IssuedBatch {
        typeId: U256::from(type_id),
        issuer: Address::repeat_byte(0xaa),
        holdersAndExpiries: holders
            .iter()
            .map(|h| word(*h) | (U256::from(1_800_000_000u64) << 160))
            .collect(),
        evidenceHashes: holders
            .iter()
            .map(|h| B256::left_padding_from(h.as_slice()))
            .collect(),
    };
    logs.push(mk(
        2 * n as u64,
        "IssuedBatch",
        serde_json::to_value(batch).unwrap(),
    ));
    logs
}

/// Commits ranges of batch issuances (as a backfill far below the head: no undo; and near the head: undo
/// for every block), checks what was stored, and prints the throughput. `LAUREL_BENCH_BATCHES` (default 10)
/// batches of 1000 holders per range.
#[tokio::test]
async fn ranges_of_batch_issuances_commit_in_one_transaction_each() -> Result<()> {
    use laurel::domain::Source;
    use laurel::indexer::commit::commit_range;
    use laurel::store::mirror::{BlockRef, Cursor, NewEvent};
    let batches: u64 = std::env::var("LAUREL_BENCH_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let per_batch = 1000u32;
    let db = ScratchDb::new().await?;
    let store = Store::connect(&db.url).await?;
    store.migrate().await?;
    let d = fake_deployment();
    store.register_deployment(&d).await?;
    let block = |n: u64| BlockRef {
        number: n,
        hash: B256::repeat_byte(n as u8),
        parent_hash: B256::repeat_byte((n as u8).wrapping_sub(1)),
        timestamp: 1_700_000_000 + n,
    };
    let at = |n: u64| Cursor {
        indexed_block: Some(n),
        indexed_hash: Some(block(n).hash),
        final_block: 0,
    };

    // Block 1: the type.
    let define = CredentialRegistry::TypeDefined {
        typeId: U256::from(1),
        policy: policy("Bench", 0, 0, &[]),
    };
    let type_event = NewEvent {
        tx_hash: B256::repeat_byte(1),
        log_index: 0,
        block_number: 1,
        block_hash: block(1).hash,
        tx_index: 0,
        contract: d.credential_registry,
        source: Source::CredentialRegistry,
        block_timestamp: block(1).timestamp,
        name: "TypeDefined".into(),
        fields: serde_json::to_value(define)?,
    };
    let start = store.cursor(CHAIN).await?.unwrap();
    commit_range(&store, CHAIN, &start, &at(1), &[type_event], &[block(1)], 0).await?;

    let mut cursor = at(1);
    let mut holder = 0u32;
    let mut report = Vec::new();
    let mut last = (Vec::new(), Vec::new(), 0u64);
    for (label, undo) in [
        ("backfill (no undo)", false),
        ("near the head (undo per block)", true),
    ] {
        let from = cursor.indexed_block.unwrap() + 1;
        let to = from + batches - 1;
        let mut events = Vec::new();
        for b in from..=to {
            events.extend(batch_logs(b, 1, holder, per_batch));
            holder += per_batch;
        }
        // Far from the head the follower stores only the range's last header; near it, every block's.
        let blocks: Vec<BlockRef> = if undo {
            (from..=to).map(block).collect()
        } else {
            vec![block(to)]
        };
        let keep_from = if undo { from.saturating_sub(1) } else { to };
        let t0 = std::time::Instant::now();
        let inserted =
            commit_range(&store, CHAIN, &cursor, &at(to), &events, &blocks, keep_from).await?;
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(inserted, events.len() as u64);
        let undo_rows: u64 = store.undo_log(CHAIN).await?.values().sum();
        if undo {
            assert_eq!(
                undo_rows,
                batches * (u64::from(per_batch) + 1),
                "a credential and the type per block"
            );
        } else {
            assert_eq!(undo_rows, 0, "no undo below the window");
        }
        report.push(format!(
            "{label}: {} events ({} credentials) in {secs:.2} s = {:.0} events/s",
            events.len(),
            batches * u64::from(per_batch),
            events.len() as f64 / secs
        ));
        cursor = at(to);
        last = (events, blocks, keep_from);
    }
    let t = store.credential_type(CHAIN, 1).await?.unwrap();
    assert_eq!(t.supply, u64::from(holder));
    assert_eq!(
        store.credentials_of_type(CHAIN, 1).await?.len() as u32,
        holder
    );
    let one = store
        .credential(CHAIN, 1, Address::from_word(B256::from(U256::from(5))))
        .await?
        .unwrap();
    assert_eq!(
        (one.issued_block, one.expires_at, one.status),
        (2, 1_800_000_000, credential_status::ACTIVE)
    );

    // Replaying the last range stores and folds nothing twice.
    let (events, blocks, keep_from) = last;
    let replayed =
        commit_range(&store, CHAIN, &cursor, &cursor, &events, &blocks, keep_from).await?;
    assert_eq!(replayed, 0);
    assert_eq!(
        store.credential_type(CHAIN, 1).await?.unwrap().supply,
        u64::from(holder)
    );

    // No undo reaches below the window: such an unwind is refused, changing nothing.
    let err = store.unwind_to(CHAIN, &block(2)).await.unwrap_err();
    assert!(
        matches!(
            err,
            laurel::store::StoreError::ForkBelowWindow { fork: 2, .. }
        ),
        "{err}"
    );
    assert_eq!(store.cursor(CHAIN).await?.unwrap(), cursor);

    // Unwinding into the middle of the last range restores the state at that block.
    let to = cursor.indexed_block.unwrap();
    let fork = to - batches / 2;
    let gone = (to - fork) * u64::from(per_batch);
    store.unwind_to(CHAIN, &block(fork)).await?;
    let live = u64::from(holder) - gone;
    assert_eq!(store.credential_type(CHAIN, 1).await?.unwrap().supply, live);
    assert_eq!(
        store.credentials_of_type(CHAIN, 1).await?.len() as u64,
        live
    );
    assert!(store.undo_log(CHAIN).await?.keys().all(|b| *b <= fork));
    for line in report {
        println!("{line}");
    }
    store.pool().close().await;
    db.drop_now().await
}
