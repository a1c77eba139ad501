//! VC-JWTs as OB 3.0 §8.2 defines them: a compact JWS whose header names the algorithm, `typ` "JWT" and a
//! `kid` URL that answers the public JWK, and whose payload is the credential with the registered claims
//! `iss`, `sub`, `jti`, `nbf`, `exp` and `iat` beside its members.

use alloy::primitives::keccak256;
use alloy::signers::local::PrivateKeySigner;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::keys::IssuerKey;

/// A compact JWS of `claims` signed by `key`, its header naming `kid`.
pub fn sign_jwt(key: &IssuerKey, kid: &str, claims: &Value) -> String {
    let header = json!({"alg": key.alg().name(), "typ": "JWT", "kid": kid});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The VC-JWT claims of a credential document: the document's members, with the registered claims `iss`
/// (issuer id), `sub` (subject id), `jti` (credential id), `nbf` (`validFrom`), `exp` (`validUntil`) and
/// `iat` (when it was signed).
pub fn vc_jwt_claims(
    document: &Value,
    valid_from: u64,
    valid_until: Option<u64>,
    signed_at: u64,
) -> Value {
    let mut claims = document.as_object().cloned().unwrap_or_default();
    let pick = |v: &Value| v.as_str().map(|s| Value::String(s.to_string()));
    let issuer = match &document["issuer"] {
        Value::String(s) => Some(Value::String(s.clone())),
        other => pick(&other["id"]),
    };
    if let Some(iss) = issuer {
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
    claims.insert("iat".into(), signed_at.into());
    Value::Object(claims)
}

/// The id prefix of keys imported from earlier releases (their VC-JWTs name them by this bare `kid`).
pub const LEGACY_PREFIX: &str = "laurel-";

/// The Ed25519 issuer key earlier releases derived from the transaction key, named by its old `kid`: what
/// `laurel keys init` imports as a retired key so that the VC-JWTs it signed keep verifying.
pub fn legacy_key(signer: &PrivateKeySigner, created: u64) -> IssuerKey {
    let mut material = b"laurel/ob3-issuer-key/v1".to_vec();
    material.extend_from_slice(signer.to_bytes().as_slice());
    legacy_seed_key(keccak256(&material).0, created)
}

/// The Ed25519 key of a seed as earlier releases named it (`laurel-` and 8 bytes of its public key's hash).
pub fn legacy_seed_key(seed: [u8; 32], created: u64) -> IssuerKey {
    let probe = IssuerKey::ed25519_from_seed("probe", seed, created);
    let public = probe.ed25519_public().unwrap_or_default();
    let id = format!(
        "{LEGACY_PREFIX}{}",
        alloy::primitives::hex::encode(&keccak256(public)[..8])
    );
    IssuerKey::ed25519_from_seed(&id, seed, created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::keys::Alg;

    #[test]
    fn jwts_name_their_key_and_carry_the_registered_claims() {
        let k = IssuerKey::generate(Alg::Es256, 1).unwrap();
        let doc = json!({"id": "urn:uuid:x", "issuer": {"id": "did:web:x"}, "credentialSubject": {"id": "did:pkh:1"}});
        let jwt = sign_jwt(&k, "https://x/keys/a", &vc_jwt_claims(&doc, 5, Some(9), 7));
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            json!({"alg": "ES256", "typ": "JWT", "kid": "https://x/keys/a"})
        );
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            (
                &claims["iss"],
                &claims["sub"],
                &claims["jti"],
                &claims["nbf"],
                &claims["exp"],
                &claims["iat"]
            ),
            (
                &json!("did:web:x"),
                &json!("did:pkh:1"),
                &json!("urn:uuid:x"),
                &json!(5),
                &json!(9),
                &json!(7)
            )
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 64);
    }

    #[test]
    fn the_legacy_key_keeps_its_old_name() {
        let signer = PrivateKeySigner::from_bytes(&[7u8; 32].into()).unwrap();
        let a = legacy_key(&signer, 1);
        assert!(a.id.starts_with("laurel-") && a.id.len() == 23, "{}", a.id);
        assert_eq!(a.id, legacy_key(&signer, 2).id);
        assert_eq!(a.alg(), Alg::EdDsa);
    }
}
