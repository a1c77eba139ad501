//! The program's issuer keys: the keys that sign its Open Badges credentials (VC-JWTs with RS256, ES256
//! or EdDSA; Data Integrity proofs with Ed25519), kept apart from the transaction key.
//!
//! One key per algorithm is current at a time. A rotation retires the current key (it stops signing and
//! stays published, so what it signed keeps verifying) and makes a new one; a key reported compromised
//! is withdrawn from publication from the date given. The keys live in a keystore file
//! ([`keystore::Keystore`]) or in the environment.

pub mod keystore;

use alloy::primitives::{hex, keccak256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::dates::date;

/// A JOSE signing algorithm of an issuer key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys: the algorithm OB 3.0 requires every verifier to take.
    #[serde(rename = "RS256")]
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519 (RFC 8037); also the key of `eddsa-rdfc-2022` Data Integrity proofs.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl Alg {
    /// Every algorithm, in the order keystores list them.
    pub const ALL: [Alg; 3] = [Alg::Rs256, Alg::Es256, Alg::EdDsa];

    /// The JOSE name (`RS256`, `ES256`, `EdDSA`).
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// The algorithm of a JOSE name, case-insensitively.
    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A private JWK lacks a member or has one of the wrong form.
    #[error("issuer key {id}: its private JWK is malformed ({what})")]
    Malformed {
        /// The key's id.
        id: String,
        /// What is wrong.
        what: String,
    },
    /// RSA key generation failed.
    #[error("cannot generate an RSA key: {0}")]
    Generate(String),
}

/// The secret half of an issuer key.
#[derive(Clone)]
enum Secret {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// One issuer key: its id, algorithm, life dates and secret.
#[derive(Clone)]
pub struct IssuerKey {
    /// The key's id: the last segment of its `kid` URL and the fragment of its DID verification method.
    pub id: String,
    /// Unix time the key was made.
    pub created: u64,
    /// Unix time the key stopped signing (a rotation), if it has.
    pub retired: Option<u64>,
    /// Unix time from which the key is to be treated as compromised, if it was reported so.
    pub compromised: Option<u64>,
    secret: Secret,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey")
            .field("id", &self.id)
            .field("alg", &self.alg())
            .field("retired", &self.retired)
            .field("compromised", &self.compromised)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa_uint(n: &rsa::BigUint) -> String {
    b64(&n.to_bytes_be())
}

impl IssuerKey {
    /// A new key of `alg`, made at unix time `now` from the operating system's randomness.
    pub fn generate(alg: Alg, now: u64) -> Result<IssuerKey, KeyError> {
        use rand::RngCore;
        let mut rng = rand::rngs::OsRng;
        let secret = match alg {
            Alg::Rs256 => Secret::Rsa(Box::new(
                rsa::RsaPrivateKey::new(&mut rng, 2048)
                    .map_err(|e| KeyError::Generate(e.to_string()))?,
            )),
            Alg::Es256 => Secret::P256(p256::ecdsa::SigningKey::random(&mut rng)),
            Alg::EdDsa => {
                let mut seed = [0u8; 32];
                rng.fill_bytes(&mut seed);
                Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
        };
        Ok(Self::with_secret(secret, now))
    }

    /// The Ed25519 key of a 32-byte seed, named `id` (a key imported from `LAUREL_ISSUER_KEY`).
    pub fn ed25519_from_seed(id: &str, seed: [u8; 32], created: u64) -> IssuerKey {
        IssuerKey {
            id: id.to_string(),
            created,
            retired: None,
            compromised: None,
            secret: Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)),
        }
    }

    fn with_secret(secret: Secret, now: u64) -> IssuerKey {
        let mut key = IssuerKey {
            id: String::new(),
            created: now,
            retired: None,
            compromised: None,
            secret,
        };
        let thumb = keccak256(key.public_jwk().to_string());
        key.id = format!(
            "{}-{}-{}",
            key.alg().name().to_ascii_lowercase(),
            date(now).replace('-', ""),
            hex::encode(&thumb[..4])
        );
        key
    }

    /// The key's algorithm.
    pub fn alg(&self) -> Alg {
        match self.secret {
            Secret::Rsa(_) => Alg::Rs256,
            Secret::P256(_) => Alg::Es256,
            Secret::Ed25519(_) => Alg::EdDsa,
        }
    }

    /// Whether the key signs now: neither retired nor compromised.
    pub fn is_current(&self) -> bool {
        self.retired.is_none() && self.compromised.is_none()
    }

    /// The public key as a JWK (RFC 7517/7518/8037) with `alg` and `use`, and no `kid`.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = match &self.secret {
            Secret::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                json!({"kty": "RSA", "n": rsa_uint(k.n()), "e": rsa_uint(k.e())})
            }
            Secret::P256(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": b64(&point.x().map(|x| x.to_vec()).unwrap_or_default()),
                    "y": b64(&point.y().map(|y| y.to_vec()).unwrap_or_default()),
                })
            }
            Secret::Ed25519(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&k.verifying_key().to_bytes())})
            }
        };
        jwk["alg"] = self.alg().name().into();
        jwk["use"] = "sig".into();
        jwk
    }

    /// The Ed25519 public key's 32 bytes, for an EdDSA key.
    pub fn ed25519_public(&self) -> Option<[u8; 32]> {
        match &self.secret {
            Secret::Ed25519(k) => Some(k.verifying_key().to_bytes()),
            _ => None,
        }
    }

    /// The signature of `message`: RS256 (PKCS#1 v1.5, SHA-256), ES256 (`r || s`, 64 bytes) or Ed25519.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.secret {
            Secret::Rsa(k) => {
                // Randomized: the private operation is blinded (no timing side channel on the key).
                use rsa::signature::{RandomizedSigner, SignatureEncoding};
                rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone())
                    .sign_with_rng(&mut rand::rngs::OsRng, message)
                    .to_vec()
            }
            Secret::P256(k) => {
                use p256::ecdsa::signature::Signer;
                let signature: p256::ecdsa::Signature = k.sign(message);
                signature.to_bytes().to_vec()
            }
            Secret::Ed25519(k) => {
                use ed25519_dalek::Signer;
                k.sign(message).to_bytes().to_vec()
            }
        }
    }

    /// Whether `signature` is this key's signature of `message` (the forms [`IssuerKey::sign`] makes).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.secret {
            Secret::Rsa(k) => {
                use rsa::signature::Verifier;
                let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else {
                    return false;
                };
                rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(k.to_public_key())
                    .verify(message, &sig)
                    .is_ok()
            }
            Secret::P256(k) => {
                use p256::ecdsa::signature::Verifier;
                let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else {
                    return false;
                };
                k.verifying_key().verify(message, &sig).is_ok()
            }
            Secret::Ed25519(k) => {
                use ed25519_dalek::Verifier;
                let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
                    return false;
                };
                k.verifying_key()
                    .verify(message, &ed25519_dalek::Signature::from_bytes(&bytes))
                    .is_ok()
            }
        }
    }

    /// The private key as a JWK (with `d` and, for RSA, the CRT members): the keystore's form.
    pub fn private_jwk(&self) -> Value {
        let mut jwk = self.public_jwk();
        match &self.secret {
            Secret::Rsa(k) => {
                use rsa::traits::PrivateKeyParts;
                let primes = k.primes();
                jwk["d"] = rsa_uint(k.d()).into();
                if let (Some(p), Some(q)) = (primes.first(), primes.get(1)) {
                    jwk["p"] = rsa_uint(p).into();
                    jwk["q"] = rsa_uint(q).into();
                }
                if let (Some(dp), Some(dq), Some(qi)) = (k.dp(), k.dq(), k.crt_coefficient()) {
                    jwk["dp"] = rsa_uint(dp).into();
                    jwk["dq"] = rsa_uint(dq).into();
                    jwk["qi"] = rsa_uint(&qi).into();
                }
            }
            Secret::P256(k) => jwk["d"] = b64(&k.to_bytes()).into(),
            Secret::Ed25519(k) => jwk["d"] = b64(&k.to_bytes()).into(),
        }
        jwk
    }

    /// The key named `id` of a private JWK written by [`IssuerKey::private_jwk`].
    pub fn from_private_jwk(id: &str, jwk: &Map<String, Value>) -> Result<IssuerKey, KeyError> {
        let bad = |what: &str| KeyError::Malformed {
            id: id.to_string(),
            what: what.to_string(),
        };
        let member = |name: &str| -> Result<Vec<u8>, KeyError> {
            let text = jwk
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&format!("no \"{name}\"")))?;
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| bad(&format!("\"{name}\" is not base64url")))
        };
        let secret = match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let uint = |name: &str| member(name).map(|b| rsa::BigUint::from_bytes_be(&b));
                let key = rsa::RsaPrivateKey::from_components(
                    uint("n")?,
                    uint("e")?,
                    uint("d")?,
                    vec![uint("p")?, uint("q")?],
                )
                .map_err(|e| bad(&format!("not an RSA key: {e}")))?;
                key.validate()
                    .map_err(|e| bad(&format!("not an RSA key: {e}")))?;
                Secret::Rsa(Box::new(key))
            }
            Some("EC") => {
                let d = member("d")?;
                let key = p256::ecdsa::SigningKey::from_slice(&d)
                    .map_err(|_| bad("\"d\" is not a P-256 scalar"))?;
                Secret::P256(key)
            }
            Some("OKP") => {
                let d: [u8; 32] = member("d")?
                    .try_into()
                    .map_err(|_| bad("\"d\" is not 32 bytes"))?;
                Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&d))
            }
            _ => return Err(bad("\"kty\" is not RSA, EC or OKP")),
        };
        Ok(IssuerKey {
            id: id.to_string(),
            created: 0,
            retired: None,
            compromised: None,
            secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_private_jwk_and_sign_alike() {
        for alg in Alg::ALL {
            let key = IssuerKey::generate(alg, 1_764_806_400).unwrap();
            assert!(key
                .id
                .starts_with(&format!("{}-20251204-", alg.name().to_ascii_lowercase())));
            let jwk = key.private_jwk();
            let back = IssuerKey::from_private_jwk(&key.id, jwk.as_object().unwrap()).unwrap();
            assert_eq!(back.public_jwk(), key.public_jwk(), "{alg}");
            assert!(key.public_jwk().get("d").is_none(), "{alg}: no secret");
            let size = key.sign(b"m").len();
            assert_eq!(size, if alg == Alg::Rs256 { 256 } else { 64 }, "{alg}");
            let signature = key.sign(b"m");
            assert!(back.verify(b"m", &signature), "{alg}");
            assert!(!back.verify(b"n", &signature), "{alg}: another message");
            assert!(
                !back.verify(b"m", &signature[1..]),
                "{alg}: a cut signature"
            );
            if alg != Alg::Rs256 {
                // ES256 (RFC 6979) and Ed25519 are deterministic.
                assert_eq!(back.sign(b"m"), key.sign(b"m"), "{alg}");
            }
        }
    }

    #[test]
    fn malformed_jwks_are_named_not_echoed() {
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "d": "c2VjcmV0"});
        let e = IssuerKey::from_private_jwk("k1", jwk.as_object().unwrap()).unwrap_err();
        assert!(e.to_string().contains("k1"), "{e}");
        assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
        assert_eq!(Alg::parse("es256"), Some(Alg::Es256));
        assert_eq!(Alg::parse("HS256"), None);
    }
}
