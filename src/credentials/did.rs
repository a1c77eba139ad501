//! The issuer as a DID: `did:web` of the public site when it is served over HTTPS (its DID document at
//! `/.well-known/did.json`, listing every published issuer key), else `did:key` of the current Ed25519
//! issuer key (a deployment with no public origin, such as `laurel dev`).

use serde_json::{json, Value};

use super::dates::datetime;
use super::keys::keystore::Keystore;
use super::keys::{Alg, IssuerKey};

/// The multicodec prefix of an Ed25519 public key (`ed25519-pub`, varint 0xed).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// The DID contexts of the DID document: DID Core, Multikey and JSON Web Key verification methods.
pub const DID_CONTEXTS: [&str; 3] = [
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/multikey/v1",
    "https://w3id.org/security/jwk/v1",
];

/// The multibase (base58btc, `z`) Multikey form of an Ed25519 public key: `z6Mk…`.
pub fn ed25519_multikey(public: &[u8; 32]) -> String {
    let mut bytes = ED25519_PUB.to_vec();
    bytes.extend_from_slice(public);
    format!("z{}", bs58::encode(bytes).into_string())
}

/// `did:key` of an Ed25519 public key.
pub fn did_key(public: &[u8; 32]) -> String {
    format!("did:key:{}", ed25519_multikey(public))
}

/// `did:web` of an `https://` site (`https://host[:port]/[path/]`), or none for any other site.
pub fn did_web(site: &str) -> Option<String> {
    let rest = site.strip_prefix("https://")?;
    let rest = rest.trim_end_matches('/');
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() || host.contains(['@', '?', '#']) {
        return None;
    }
    let mut did = format!("did:web:{}", host.replace(':', "%3A"));
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        did.push(':');
        did.push_str(segment);
    }
    Some(did)
}

/// The issuer's DID and how it resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerDid {
    /// `did:web`: the site publishes the DID document; keys are named by their ids.
    Web(String),
    /// `did:key` of one Ed25519 key: the DID is the key.
    Key(String),
}

impl IssuerDid {
    /// The issuer DID of a site: `did:web` for HTTPS; else `did:key` of the current Ed25519 key of `keys`.
    pub fn of(site: &str, keys: &Keystore) -> Option<IssuerDid> {
        if let Some(web) = did_web(site) {
            return Some(IssuerDid::Web(web));
        }
        let public = keys.current(Alg::EdDsa)?.ed25519_public()?;
        Some(IssuerDid::Key(did_key(&public)))
    }

    /// The DID.
    pub fn id(&self) -> &str {
        match self {
            IssuerDid::Web(d) | IssuerDid::Key(d) => d,
        }
    }

    /// The verification method id of `key` under this DID (`did#key-id`, or `did:key:z…#z…`).
    pub fn method_id(&self, key: &IssuerKey) -> String {
        match self {
            IssuerDid::Web(d) => format!("{d}#{}", key.id),
            IssuerDid::Key(d) => format!("{d}#{}", d.trim_start_matches("did:key:")),
        }
    }
}

/// The verification method of `key` under `did`: Ed25519 as a `Multikey`, the others as `JsonWebKey`.
fn method(did: &IssuerDid, key: &IssuerKey) -> Value {
    let mut m = json!({
        "id": did.method_id(key),
        "controller": did.id(),
    });
    match key.ed25519_public() {
        Some(public) => {
            m["type"] = "Multikey".into();
            m["publicKeyMultibase"] = ed25519_multikey(&public).into();
        }
        None => {
            m["type"] = "JsonWebKey".into();
            m["publicKeyJwk"] = key.public_jwk();
        }
    }
    if let Some(at) = key.retired {
        // The date the key stopped signing: no standard member says it, and verifiers ignore this one
        // (what the key signed before stays valid).
        m["retired"] = datetime(at).into();
    }
    m
}

/// The DID document of a `did:web` issuer: every key that is not compromised (current and retired) as a
/// verification method for assertions. A compromised key is left out altogether — no key material, no
/// relationship — so no verifier, however it looks keys up, takes a proof by it (a method absent from the
/// latest document is invalid, Controlled Identifiers 1.0).
pub fn did_document(did: &IssuerDid, keys: &Keystore) -> Value {
    let methods: Vec<Value> = keys.published().map(|k| method(did, k)).collect();
    let asserting: Vec<Value> = keys
        .published()
        .map(|k| Value::String(did.method_id(k)))
        .collect();
    json!({
        "@context": DID_CONTEXTS,
        "id": did.id(),
        "verificationMethod": methods,
        "assertionMethod": asserting,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_web_follows_the_method_spec() {
        assert_eq!(
            did_web("https://badges.example.edu/").as_deref(),
            Some("did:web:badges.example.edu")
        );
        assert_eq!(
            did_web("https://localhost:8443/").as_deref(),
            Some("did:web:localhost%3A8443")
        );
        assert_eq!(
            did_web("https://x.org/academy/badges/").as_deref(),
            Some("did:web:x.org:academy:badges")
        );
        assert_eq!(did_web("http://127.0.0.1:8787/"), None);
    }

    #[test]
    fn did_key_of_the_rfc8032_test_key() {
        // The W3C did:key test vector for the Ed25519 public key of seed 0x00…: "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp".
        let key = IssuerKey::ed25519_from_seed("k", [0u8; 32], 0);
        let public = key.ed25519_public().unwrap();
        assert_eq!(
            did_key(&public),
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        );
    }

    #[test]
    fn the_document_lists_retired_keys_and_refuses_compromised_ones() {
        let mut keys = Keystore::default();
        keys.rotate(&[Alg::EdDsa, Alg::Es256], 100).unwrap();
        let old = keys.current(Alg::EdDsa).unwrap().id.clone();
        keys.rotate(&[Alg::EdDsa], 200).unwrap();
        let bad = keys.current(Alg::Es256).unwrap().id.clone();
        keys.compromise(&bad, 150, 300).unwrap();
        let did = IssuerDid::of("https://x.org/", &keys).unwrap();
        let doc = did_document(&did, &keys);
        let methods = doc["verificationMethod"].as_array().unwrap();
        assert_eq!(
            methods.len(),
            3,
            "two EdDSA keys and the compromised ES256 key's replacement"
        );
        let asserting: Vec<&str> = doc["assertionMethod"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(asserting.contains(&format!("did:web:x.org#{old}").as_str()));
        assert!(
            !doc.to_string().contains(&bad),
            "the compromised key is gone"
        );
        let retired = methods
            .iter()
            .find(|m| m["id"] == format!("did:web:x.org#{old}"))
            .unwrap();
        assert_eq!(retired["retired"], datetime(200));
        assert!(methods
            .iter()
            .all(|m| m.to_string().find("\"d\"").is_none()));
    }
}
