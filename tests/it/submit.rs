//! The one submission path (`laurel::issuance::submit`) against a real anvil and Postgres: submissions on one
//! chain decide one after the other, so two callers racing to issue the same credential under different keys
//! queue it once; an all-or-nothing submission whose key conflicts writes nothing; a check-only one never
//! writes.

use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Result;
use laurel::config::{Layer, Settings};
use laurel::credentials::ob3::Program;
use laurel::issuance::precheck::Refusal;
use laurel::issuance::submit::{submit, Mode, Outcome, Submission};
use laurel::startup::App;
use laurel::store::issuance::NewRequest;

use super::support::Harness;

async fn app(h: &Harness) -> Result<(App, Program, Address)> {
    let settings = Settings::resolve(Layer {
        chain: Some("anvil".into()),
        rpc_url: Some(h.node.endpoint()),
        database_url: Some(h.db.url.clone()),
        deployment: Some(h.dir.join("31337.json")),
        ..Layer::default()
    })?;
    let app = App::build(settings).await?;
    laurel::indexer::run::sync_mirror(
        &app.node,
        &app.store,
        &app.settings,
        Duration::from_secs(60),
    )
    .await?;
    let program = Program::load(
        &app.store,
        31337,
        app.node.deployment.credential_registry,
        &app.settings.issuer_name,
    )
    .await?;
    let signer: PrivateKeySigner = h.key_hex.parse()?;
    Ok((app, program, signer.address()))
}

fn request(key: &str, type_id: u64, holder: Address) -> NewRequest {
    NewRequest {
        idempotency_key: key.into(),
        type_id: laurel::domain::TypeId::new(type_id).expect("test type ids start at 1"),
        holder,
        expires_at: 0,
        evidence: B256::ZERO,
        document: None,
        source: "test".into(),
        derived: false,
    }
}

fn submission(mode: Mode, requests: Vec<NewRequest>) -> Submission {
    Submission {
        actor: "test".into(),
        requests,
        mode,
        detail: serde_json::json!({}),
    }
}

#[tokio::test]
async fn two_submissions_racing_to_issue_one_credential_under_different_keys_queue_it_once(
) -> Result<()> {
    let h = Harness::new().await?;
    let (app, program, signer) = app(&h).await?;
    let t = h.type_id;
    for round in 0..10u8 {
        let holder = Address::repeat_byte(0x40 + round);
        let a = submission(
            Mode::LineByLine,
            vec![request(&format!("a-{round}"), t, holder)],
        );
        let b = submission(
            Mode::LineByLine,
            vec![request(&format!("b-{round}"), t, holder)],
        );
        let (a, b) = tokio::join!(
            submit(&app.node, &app.store, &program, signer, a),
            submit(&app.node, &app.store, &program, signer, b)
        );
        let outcomes = [a?.outcomes.remove(0), b?.outcomes.remove(0)];
        let queued = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Queued(_)))
            .count();
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Refused(Refusal::AlreadyQueued { .. })))
            .count();
        assert_eq!((queued, refused), (1, 1), "round {round}: {outcomes:?}");
    }
    assert_eq!(app.store.request_states(31337).await?.len(), 10);
    Ok(())
}

#[tokio::test]
async fn an_all_or_nothing_submission_with_a_conflicting_key_or_a_refusal_writes_nothing(
) -> Result<()> {
    let h = Harness::new().await?;
    let (app, program, signer) = app(&h).await?;
    let t = h.type_id;
    let (h1, h2, h3) = (
        Address::repeat_byte(0x51),
        Address::repeat_byte(0x52),
        Address::repeat_byte(0x53),
    );
    let first = submit(
        &app.node,
        &app.store,
        &program,
        signer,
        submission(Mode::AllOrNothing, vec![request("k1", t, h1)]),
    )
    .await?;
    assert!(first.written && first.queued() == 1, "{first:?}");
    let earlier = first.outcomes[0].request().map(|r| r.id);

    // k1 again for another holder, beside a good new request: refused whole; the new one is withheld.
    let mixed = vec![request("k1", t, h2), request("k2", t, h3)];
    let out = submit(
        &app.node,
        &app.store,
        &program,
        signer,
        submission(Mode::AllOrNothing, mixed),
    )
    .await?;
    assert!(!out.written, "{out:?}");
    assert_eq!(
        out.outcomes,
        vec![
            Outcome::KeyConflict {
                existing_id: earlier.unwrap()
            },
            Outcome::Withheld
        ]
    );
    // A pre-check refusal (an unknown type) withholds the good request too; check-only never writes.
    let refused = vec![request("k3", 99, h2), request("k4", t, h3)];
    let out = submit(
        &app.node,
        &app.store,
        &program,
        signer,
        submission(Mode::AllOrNothing, refused),
    )
    .await?;
    assert_eq!(
        out.outcomes,
        vec![
            Outcome::Refused(Refusal::UnknownType(99)),
            Outcome::Withheld
        ]
    );
    let good = vec![request("k5", t, h3)];
    let out = submit(
        &app.node,
        &app.store,
        &program,
        signer,
        submission(Mode::CheckOnly, good),
    )
    .await?;
    assert_eq!(
        (out.written, &out.outcomes),
        (false, &vec![Outcome::Withheld])
    );
    let states = app.store.request_states(31337).await?;
    assert_eq!(states.len(), 1, "only k1's request: {states:?}");
    assert_eq!(states[0].0, h1);

    // Line by line, the same mixed submission queues the good request and refuses the conflicting one.
    let mixed = vec![request("k1", t, h2), request("k2", t, h3)];
    let out = submit(
        &app.node,
        &app.store,
        &program,
        signer,
        submission(Mode::LineByLine, mixed),
    )
    .await?;
    assert!(
        out.written && out.queued() == 1 && out.refused() == 1,
        "{out:?}"
    );
    assert!(matches!(out.outcomes[1], Outcome::Queued(ref r) if r.holder == h3));
    Ok(())
}
