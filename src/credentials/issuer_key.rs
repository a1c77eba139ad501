//! The program's issuer key: an Ed25519 key that signs Open Badges credentials as VC-JWTs (`EdDSA`), and
//! its public half as a JWK set for `/.well-known/jwks.json`.
//!
//! The key is `LAUREL_ISSUER_KEY` (32 bytes of hex, an Ed25519 seed) when set; otherwise it is derived from
//! the service's signing key (keccak-256 of a fixed label and that key), so one secret serves both and the
//! published key stays the same across restarts.

use alloy::primitives::{hex, keccak256};
use alloy::signers::local::PrivateKeySigner;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

/// The variable holding an explicit issuer key.
pub const ISSUER_KEY_VAR: &str = "LAUREL_ISSUER_KEY";

/// Why the issuer key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum IssuerKeyError {
    /// `LAUREL_ISSUER_KEY` is not 32 bytes of hex (its value is not repeated here).
    #[error("LAUREL_ISSUER_KEY is not a 32-byte hex Ed25519 seed (0x followed by 64 hex digits)")]
    Malformed,
}

/// An Ed25519 issuer key and its key id.
#[derive(Clone)]
pub struct IssuerKey {
    key: SigningKey,
    kid: String,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey").field("kid", &self.kid).finish()
    }
}

impl IssuerKey {
    /// The key of a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let public = key.verifying_key().to_bytes();
        let kid = format!("laurel-{}", hex::encode(&keccak256(public)[..8]));
        Self { key, kid }
    }

    /// The key derived from the service's signing key.
    pub fn derived(signer: &PrivateKeySigner) -> Self {
        let mut material = b"laurel/ob3-issuer-key/v1".to_vec();
        material.extend_from_slice(signer.to_bytes().as_slice());
        Self::from_seed(keccak256(&material).0)
    }

    /// `LAUREL_ISSUER_KEY` through `get`, else the key derived from `signer`, else none.
    pub fn load(
        get: impl Fn(&str) -> Option<String>,
        signer: Option<&PrivateKeySigner>,
    ) -> Result<Option<Self>, IssuerKeyError> {
        match get(ISSUER_KEY_VAR) {
            Some(v) => {
                let bytes = hex::decode(v.trim()).map_err(|_| IssuerKeyError::Malformed)?;
                let seed: [u8; 32] = bytes.try_into().map_err(|_| IssuerKeyError::Malformed)?;
                Ok(Some(Self::from_seed(seed)))
            }
            None => Ok(signer.map(Self::derived)),
        }
    }

    /// The key id (`kid`) in JWT headers and the JWK set.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (RFC 8037: `OKP`, `Ed25519`).
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.key.verifying_key().to_bytes()),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }

    /// The JWK set served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// A compact JWS (`alg` EdDSA) of `claims`.
    pub fn sign_jwt(&self, claims: &Value) -> String {
        let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// The VC-JWT claims of a credential document: the document's members, with the registered claims `iss`
/// (issuer id), `sub` (subject id), `jti` (credential id), `nbf` (`validFrom`) and `exp` (`validUntil`).
pub fn vc_jwt_claims(document: &Value, valid_from: u64, valid_until: Option<u64>) -> Value {
    let mut claims = document.as_object().cloned().unwrap_or_default();
    let pick = |v: &Value| v.as_str().map(|s| Value::String(s.to_string()));
    if let Some(iss) = pick(&document["issuer"]["id"]) {
        claims.insert("iss".into(), iss);
    }
    if let Some(sub) = pick(&document["credentialSubject"]["id"]) {
        claims.insert("sub".into(), sub);
    }
    if let Some(jti) = pick(&document["id"]) {
        claims.insert("jti".into(), jti);
    }
    claims.insert("nbf".into(), valid_from.into());
    if let Some(exp) = valid_until {
        claims.insert("exp".into(), exp.into());
    }
    Value::Object(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_from_env_or_derives() {
        let signer = PrivateKeySigner::from_bytes(&[7u8; 32].into()).unwrap();
        let derived = IssuerKey::load(|_| None, Some(&signer)).unwrap().unwrap();
        assert_eq!(
            derived.kid(),
            IssuerKey::derived(&signer).kid(),
            "stable across loads"
        );
        assert!(IssuerKey::load(|_| None, None).unwrap().is_none());
        let set = |v: &'static str| move |k: &str| (k == ISSUER_KEY_VAR).then(|| v.to_string());
        let explicit = IssuerKey::load(
            set("0x0101010101010101010101010101010101010101010101010101010101010101"),
            Some(&signer),
        )
        .unwrap()
        .unwrap();
        assert_ne!(explicit.kid(), derived.kid(), "the explicit key wins");
        let e = IssuerKey::load(set("0x1234"), None).unwrap_err();
        assert!(e.to_string().contains("LAUREL_ISSUER_KEY"), "{e}");
        assert!(!e.to_string().contains("1234"), "the value is not echoed");
    }

    #[test]
    fn jwt_has_three_parts_and_a_64_byte_signature() {
        let k = IssuerKey::from_seed([1u8; 32]);
        let jwt = k.sign_jwt(&json!({"a": 1}));
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 64);
        assert_eq!(k.jwk()["x"].as_str().unwrap().len(), 43);
    }
}
