//! W3C Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (VC DI EdDSA §3.2): the document and
//! the proof configuration are each canonicalized (JSON-LD to RDF, RDFC-1.0, with the contexts bundled in
//! `contexts/`), hashed with SHA-256, and the 64 bytes `hash(proof config) || hash(document)` are signed
//! with Ed25519; `proofValue` is the signature in multibase base58btc (`z…`). The proof is embedded as a
//! set of one (`"proof": [{…}]`), the form both VC 2.0 and the OB 3.0 JSON schema take.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::dates::datetime;
use super::keys::{Alg, IssuerKey};
use super::rdfc;

/// The cryptosuite name.
pub const CRYPTOSUITE: &str = "eddsa-rdfc-2022";

/// Why a proof could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// The key is not an Ed25519 key.
    #[error("eddsa-rdfc-2022 proofs need an Ed25519 (EdDSA) key, and {0} is not one")]
    NotEd25519(String),
    /// The document does not canonicalize (an undefined term, an unknown context, too large, …).
    #[error("the document cannot be canonicalized: {0}")]
    Canonicalize(#[from] rdfc::Error),
    /// The proof is not an `eddsa-rdfc-2022` DataIntegrityProof of the expected form.
    #[error("the proof is not an eddsa-rdfc-2022 DataIntegrityProof: {0}")]
    Malformed(&'static str),
}

/// The contexts documents may name, by URL: the W3C VC 2.0 and OB 3.0.3 contexts, as verifiers bundle them.
pub fn contexts() -> &'static HashMap<String, Value> {
    static CONTEXTS: OnceLock<HashMap<String, Value>> = OnceLock::new();
    CONTEXTS.get_or_init(|| {
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
        HashMap::from([
            (
                super::ob3::VC_CONTEXT.to_string(),
                parse(include_str!("contexts/credentials-v2.jsonld")),
            ),
            (
                super::ob3::OB3_CONTEXT.to_string(),
                parse(include_str!("contexts/ob-context-3.0.3.json")),
            ),
        ])
    })
}

/// The RDFC-1.0 canonical N-Quads of `document` (its contexts from [`contexts`]).
pub fn canonical_nquads(document: &Value) -> Result<String, IntegrityError> {
    Ok(rdfc::canonize(document, contexts())?)
}

/// The 64 bytes an `eddsa-rdfc-2022` proof signs: SHA-256 of the canonical proof configuration (the
/// proof options with the document's `@context`), then SHA-256 of the canonical document (without proof).
pub fn hash_data(unsecured: &Value, options: &Value) -> Result<[u8; 64], IntegrityError> {
    let mut config = options.clone();
    config["@context"] = unsecured["@context"].clone();
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&Sha256::digest(canonical_nquads(&config)?.as_bytes()));
    out[32..].copy_from_slice(&Sha256::digest(canonical_nquads(unsecured)?.as_bytes()));
    Ok(out)
}

/// `document` with an embedded proof by `key` (Ed25519), named by verification method `method`, made at
/// unix time `created`.
pub fn sign(
    document: &Value,
    key: &IssuerKey,
    method: &str,
    created: u64,
) -> Result<Value, IntegrityError> {
    if key.alg() != Alg::EdDsa {
        return Err(IntegrityError::NotEd25519(key.id.clone()));
    }
    let mut unsecured = document.clone();
    if let Some(o) = unsecured.as_object_mut() {
        o.remove("proof");
    }
    let mut proof = json!({
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": datetime(created),
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
    });
    let signature = key.sign(&hash_data(&unsecured, &proof)?);
    proof["proofValue"] = format!("z{}", bs58::encode(signature).into_string()).into();
    unsecured["proof"] = Value::Array(vec![proof]);
    Ok(unsecured)
}

/// Whether the embedded `eddsa-rdfc-2022` proof of `secured` verifies with the Ed25519 public key
/// `public` (the key its `verificationMethod` names, resolved by the caller).
pub fn verify(secured: &Value, public: &[u8; 32]) -> Result<bool, IntegrityError> {
    use ed25519_dalek::Verifier;
    let proof = match secured.get("proof") {
        Some(Value::Array(set)) if set.len() == 1 => &set[0],
        Some(p @ Value::Object(_)) => p,
        _ => return Err(IntegrityError::Malformed("not exactly one proof")),
    };
    if proof["type"] != "DataIntegrityProof" || proof["cryptosuite"] != CRYPTOSUITE {
        return Err(IntegrityError::Malformed("another type or cryptosuite"));
    }
    let value = proof["proofValue"]
        .as_str()
        .and_then(|v| v.strip_prefix('z'))
        .and_then(|v| bs58::decode(v).into_vec().ok())
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or(IntegrityError::Malformed(
            "proofValue is not a base58btc 64-byte signature",
        ))?;
    let mut options = proof.clone();
    if let Some(o) = options.as_object_mut() {
        o.remove("proofValue");
    }
    let mut unsecured = secured.clone();
    if let Some(o) = unsecured.as_object_mut() {
        o.remove("proof");
    }
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public) else {
        return Ok(false);
    };
    let signature = ed25519_dalek::Signature::from_bytes(&value);
    Ok(key
        .verify(&hash_data(&unsecured, &options)?, &signature)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/data/integrity/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// The signature the Digital Bazaar libraries (jsonld.js, @digitalbazaar/eddsa-rdfc-2022-cryptosuite)
    /// made over the same document with the same key and time: the two implementations agree byte for byte.
    #[test]
    fn proofs_match_the_reference_implementation() {
        let reference: Value = serde_json::from_str(&fixture("credential.signed.json")).unwrap();
        let mut unsecured = reference.clone();
        unsecured.as_object_mut().unwrap().remove("proof");
        assert_eq!(
            canonical_nquads(&unsecured).unwrap(),
            fixture("document.canonical.nq")
        );
        let key = IssuerKey::ed25519_from_seed("ref", [1u8; 32], 0);
        let method = reference["proof"]["verificationMethod"].as_str().unwrap();
        let created = 1_796_083_200; // 2026-12-01T00:00:00Z
        let ours = sign(&unsecured, &key, method, created).unwrap();
        assert_eq!(ours["proof"][0], reference["proof"]);
        assert!(verify(&ours, &key.ed25519_public().unwrap()).unwrap());
        let public = key.ed25519_public().unwrap();
        assert!(verify(&reference, &public).unwrap());
        let mut tampered = reference.clone();
        tampered["credentialSubject"]["achievement"]["name"] = "Something Else".into();
        assert!(!verify(&tampered, &public).unwrap());
    }

    #[test]
    fn unknown_contexts_and_terms_are_refused_not_fetched() {
        let doc = json!({"@context": ["https://example.org/ctx"], "id": "urn:x", "type": "T"});
        assert!(matches!(
            canonical_nquads(&doc),
            Err(IntegrityError::Canonicalize(_))
        ));
        let undefined = json!({"@context": [super::super::ob3::VC_CONTEXT], "id": "urn:x", "type": ["VerifiableCredential"], "madeUp": 1});
        assert!(canonical_nquads(&undefined).is_err());
        let key = IssuerKey::generate(Alg::Es256, 0).unwrap();
        assert!(matches!(
            sign(&json!({}), &key, "did:x#y", 0),
            Err(IntegrityError::NotEd25519(_))
        ));
    }
}
