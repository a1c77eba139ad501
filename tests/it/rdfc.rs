//! Laurel's RDF canonicalization (`credentials::rdfc`: json-ld + rdf-canon) against outputs saved from
//! jsonld.js 9.0.0, the reference implementation verifiers run (RDFC-1.0, application/n-quads, safe mode,
//! a local-only document loader with the two bundled contexts).
//!
//! * `tests/data/rdfc/*.jsonld`        -> must equal `*.nq` byte for byte
//! * `tests/data/rdfc/deep/*.jsonld`   -> same, with an unbounded work factor
//!   (jsonld.js run with `maxWorkFactor: Infinity`)
//! * `tests/data/rdfc/errors/*.jsonld` -> jsonld.js failed (`*.err`); we must fail too
//! * `tests/data/rdfc/divergent/*.jsonld` -> jsonld.js succeeded (`*.nq`) but
//!   json-ld/rdf-canon would produce different bytes (jsonld.js quirks or
//!   spec deviations); we must refuse rather than sign something a jsonld.js
//!   verifier cannot reproduce

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use laurel::credentials::rdfc::{canonize, canonize_with, Error, Limits};
use serde_json::{json, Value};

const V2: &str = "https://www.w3.org/ns/credentials/v2";
const OB: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap()
}

fn contexts() -> HashMap<String, Value> {
    HashMap::from([
        (
            V2.to_owned(),
            read_json(&root().join("src/credentials/contexts/credentials-v2.jsonld")),
        ),
        (
            OB.to_owned(),
            read_json(&root().join("src/credentials/contexts/ob-context-3.0.3.json")),
        ),
    ])
}

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(root().join("tests/data/rdfc").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonld"))
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

fn check_matches(dir: &str, limits: &Limits) {
    let ctx = contexts();
    for p in fixtures(dir) {
        let expected = fs::read_to_string(p.with_extension("nq"))
            .unwrap_or_else(|_| panic!("no jsonld.js output for {}", p.display()));
        let got = canonize_with(&read_json(&p), &ctx, limits)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(got, expected, "mismatch with jsonld.js for {}", p.display());
    }
}

#[test]
fn matches_jsonld_js() {
    check_matches("", &Limits::default());
}

#[test]
fn matches_jsonld_js_unbounded_work() {
    check_matches(
        "deep",
        &Limits {
            max_work_factor: 64,
            ..Limits::default()
        },
    );
}

#[test]
fn rejects_what_jsonld_js_safe_mode_rejects() {
    let ctx = contexts();
    for p in fixtures("errors") {
        assert!(
            p.with_extension("err").exists(),
            "jsonld.js did not fail on {}",
            p.display()
        );
        let r = canonize(&read_json(&p), &ctx);
        assert!(
            r.is_err(),
            "{} should fail, got:\n{}",
            p.display(),
            r.unwrap()
        );
        eprintln!(
            "{}: {}",
            p.file_name().unwrap().to_string_lossy(),
            r.unwrap_err()
        );
    }
}

#[test]
fn refuses_inputs_where_outputs_would_diverge() {
    let ctx = contexts();
    for p in fixtures("divergent") {
        assert!(
            p.with_extension("nq").exists(),
            "no jsonld.js output for {}",
            p.display()
        );
        let r = canonize(&read_json(&p), &ctx);
        assert!(
            r.is_err(),
            "{} should be refused, got:\n{}",
            p.display(),
            r.unwrap()
        );
        eprintln!(
            "{}: {}",
            p.file_name().unwrap().to_string_lossy(),
            r.unwrap_err()
        );
    }
}

#[test]
fn canonicalization_guards_are_needed() {
    // Without our guards, plain rdf-canon output differs from jsonld.js:
    // astral-*: code point vs UTF-16 sort; self-reference: rdf-canon 0.15.3
    // counts a quad `_:x p _:x` twice in the first-degree hash.
    let ctx = contexts();
    for name in ["astral-sort", "astral-in-bnode-hash", "self-reference"] {
        let p = root().join(format!("tests/data/rdfc/divergent/{name}.jsonld"));
        let ds = laurel::credentials::rdfc::to_dataset(&read_json(&p), &ctx, &Limits::default())
            .unwrap();
        let plain = rdf_canon::canonicalize(&ds).unwrap();
        assert_ne!(
            plain,
            fs::read_to_string(p.with_extension("nq")).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn unknown_context_is_refused_not_fetched() {
    let doc = json!({"@context": [V2, "https://example.org/ctx.jsonld"], "id": "urn:x", "type": "VerifiableCredential"});
    match canonize(&doc, &contexts()) {
        Err(Error::ContextNotAllowed(u)) => assert_eq!(u, "https://example.org/ctx.jsonld"),
        other => panic!("{other:?}"),
    }
    // Even the VC context is refused when not in the map.
    let doc = json!({"@context": V2, "id": "urn:x", "type": "VerifiableCredential"});
    assert!(matches!(
        canonize(&doc, &HashMap::new()),
        Err(Error::ContextNotAllowed(_))
    ));
}

#[test]
fn work_limit_mirrors_jsonld_js_default() {
    // rings.jsonld needs more HNDQ calls than blank nodes with shared hashes:
    // jsonld.js (maxWorkFactor 1) fails with "Maximum deep iterations exceeded (5)".
    let p = root().join("tests/data/rdfc/deep/rings.jsonld");
    match canonize(&read_json(&p), &contexts()) {
        Err(Error::Canonicalization(rdf_canon::CanonicalizationError::HndqCallLimitExceeded(
            5,
        ))) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn size_limits() {
    let ctx = contexts();
    let mut deep = json!("x");
    for _ in 0..40 {
        deep = json!({ "name": deep });
    }
    let doc = json!({"@context": V2, "id": "urn:x", "description": deep});
    assert!(matches!(canonize(&doc, &ctx), Err(Error::TooLarge(_))));

    let many: Vec<Value> = (0..200).map(|i| json!(format!("v{i}"))).collect();
    let doc = json!({"@context": V2, "id": "urn:x", "name": many});
    let small = Limits {
        max_quads: 100,
        ..Limits::default()
    };
    assert!(matches!(
        canonize_with(&doc, &ctx, &small),
        Err(Error::TooLarge(_))
    ));
    assert!(canonize(&doc, &ctx).is_ok());

    // json-ld caches loaded contexts, so repeating one is cheap; distinct
    // loads are capped by `max_context_loads`.
    let ctxs: Vec<Value> = (0..1000).map(|_| json!(V2)).collect();
    let doc = json!({"@context": ctxs, "id": "urn:x", "name": "n"});
    assert!(canonize(&doc, &ctx).is_ok());
    let doc = read_json(&root().join("tests/data/rdfc/ob-credential.jsonld"));
    let one = Limits {
        max_context_loads: 1,
        ..Limits::default()
    };
    assert!(matches!(
        canonize_with(&doc, &ctx, &one),
        Err(Error::TooLarge(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_inside_tokio() {
    let p = root().join("tests/data/rdfc/ob-credential.jsonld");
    let expected = fs::read_to_string(p.with_extension("nq")).unwrap();
    let doc = read_json(&p);
    let ctx = contexts();
    // directly on a runtime thread
    assert_eq!(canonize(&doc, &ctx).unwrap(), expected);
    // and via spawn_blocking
    let got = tokio::task::spawn_blocking(move || canonize(&doc, &ctx))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "current_thread")]
async fn works_inside_current_thread_tokio() {
    let p = root().join("tests/data/rdfc/proof-config.jsonld");
    let expected = fs::read_to_string(p.with_extension("nq")).unwrap();
    assert_eq!(canonize(&read_json(&p), &contexts()).unwrap(), expected);
}
