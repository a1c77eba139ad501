//! Securing documents with the issuer keys: the VC-JWT (OB 3.0 §8.2) and the embedded Data Integrity
//! proof (`eddsa-rdfc-2022`), both naming keys the issuer publishes — a `kid` URL at the site answering the
//! bare JWK, and a verification method of the issuer's DID.

use serde_json::Value;

use super::integrity::{self, IntegrityError};
use super::jwt::{sign_jwt, vc_jwt_claims};
use super::keys::keystore::Keystore;
use super::keys::{Alg, IssuerKey};
use super::ob3::Program;

/// Why a document could not be secured.
#[derive(Debug, thiserror::Error)]
pub enum SecureError {
    /// The keystore has no current key of the algorithm.
    #[error("the issuer keystore has no current {0} key: run `laurel keys rotate --alg {0}` (or `laurel keys init` for a new keystore) and point LAUREL_ISSUER_KEYSTORE at it")]
    NoKey(Alg),
    /// The issuer has no DID (an HTTP site and no Ed25519 key).
    #[error("the issuer has no DID: serve the site over HTTPS (did:web) or add an EdDSA key to the issuer keystore (did:key)")]
    NoDid,
    /// The Data Integrity proof could not be made.
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
}

/// A program's issuer keys, ready to sign its documents.
#[derive(Debug, Clone, Copy)]
pub struct Securing<'a> {
    /// The program (its site names the `kid` URLs; its DID the verification methods).
    pub program: &'a Program,
    /// The issuer keys.
    pub keys: &'a Keystore,
    /// The VC-JWT algorithm.
    pub jwt_alg: Alg,
}

/// The `kid` URL of key `id` at `site`: it answers the key's public JWK.
pub fn kid_url(site: &str, id: &str) -> String {
    format!("{site}keys/{id}")
}

impl Securing<'_> {
    fn current(&self, alg: Alg) -> Result<&IssuerKey, SecureError> {
        self.keys.current(alg).ok_or(SecureError::NoKey(alg))
    }

    /// The compact VC-JWT of `document`, valid from `valid_from` (unix) to `valid_until`, signed at `now`.
    pub fn jwt(
        &self,
        document: &Value,
        valid_from: u64,
        valid_until: Option<u64>,
        now: u64,
    ) -> Result<String, SecureError> {
        let key = self.current(self.jwt_alg)?;
        let claims = vc_jwt_claims(document, valid_from, valid_until, now);
        Ok(sign_jwt(
            key,
            &kid_url(&self.program.site, &key.id),
            &claims,
        ))
    }

    /// `document` with an embedded `eddsa-rdfc-2022` proof made at `now` by the current Ed25519 key.
    pub fn with_proof(&self, document: &Value, now: u64) -> Result<Value, SecureError> {
        let key = self.current(Alg::EdDsa)?;
        let did = self.program.did.as_ref().ok_or(SecureError::NoDid)?;
        Ok(integrity::sign(document, key, &did.method_id(key), now)?)
    }
}
