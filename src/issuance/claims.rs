//! Awards to learners who have no address yet, and claiming them. An award names the learner by email (and
//! the program's learner id) and gets a claim link: a single-use code of 128 random bits, of which only
//! the SHA-256 is stored, valid 90 days unless extended. Claiming submits the mint to the learner's address
//! through the same submission path as every issuance (pre-checked, idempotent, audited) under the key
//! `award:<chain>:<id>`, so two claims at once — even to two addresses — mint once.

use alloy::primitives::{Address, B256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::submit::{submit, Mode, Outcome, Submission, SubmitError};
use crate::chain::Node;
use crate::credentials::ob3::Program;
use crate::store::awards::{AwardRow, NewAward};
use crate::store::issuance::{NewRequest, Request};
use crate::store::{Store, StoreError};

/// Days a claim link works by default.
pub const LINK_DAYS: u64 = 90;

/// Why an award could not be recorded or claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The email is not one.
    #[error("{0:?} is not an email address")]
    BadEmail(String),
    /// The type is not in the mirror.
    #[error("credential type {0} does not exist (see `laurel gov type list`)")]
    UnknownType(u64),
    /// The link's code is unknown.
    #[error("this claim link is not valid: check that it was copied whole, or ask the program for a new one")]
    UnknownCode,
    /// The award was withdrawn.
    #[error(
        "this award was withdrawn by the program; contact them if you think this is a mistake"
    )]
    Withdrawn,
    /// The link expired.
    #[error("this claim link expired on {0}; ask the program to extend it or send a new one")]
    Expired(String),
    /// Claimed before.
    #[error("this award was already claimed, to {0}")]
    AlreadyClaimed(Address),
    /// The pre-check refused the mint to that address.
    #[error("the credential cannot be issued to that address: {0}")]
    Refused(String),
    /// The chain's clock could not be read.
    #[error("the chain node does not answer; try again in a minute")]
    Unavailable,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new claim code (22 base64url characters: 128 random bits) and its hash.
pub fn new_code() -> (String, B256) {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let code = URL_SAFE_NO_PAD.encode(bytes);
    let hash = code_hash(&code);
    (code, hash)
}

/// The stored form of a code: its SHA-256.
pub fn code_hash(code: &str) -> B256 {
    B256::from_slice(&Sha256::digest(code.trim().as_bytes()))
}

/// The claim link of `code` at `site`.
pub fn claim_url(site: &str, code: &str) -> String {
    format!("{site}claim/{code}")
}

/// `s` as a stored email: trimmed, lower case, one `@` with text each side and a dot in the domain.
pub fn normalise_email(s: &str) -> Result<String, ClaimError> {
    let e = s.trim().to_ascii_lowercase();
    let ok = e.len() <= 254
        && !e.contains(char::is_whitespace)
        && !e.contains([':', ',', '<', '>', '"'])
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if ok {
        Ok(e)
    } else {
        Err(ClaimError::BadEmail(s.to_string()))
    }
}

/// One award asked for.
#[derive(Debug, Clone)]
pub struct AwardInput {
    /// The learner's email.
    pub email: String,
    /// The program's learner id.
    pub learner_id: Option<String>,
    /// The credential type.
    pub type_id: u64,
    /// Expiry of the credential (0: the type's default).
    pub expires_at: u64,
    /// Evidence hash (zero: none).
    pub evidence: B256,
    /// An explicit idempotency key (else one derived from the type, the email and the learner id).
    pub key: Option<String>,
}

/// The credential types the chain has defined (`typeCount`): types 1 to that number exist.
pub async fn type_count(node: &Node) -> Result<u64, ClaimError> {
    let reg = crate::chain::bindings::CredentialRegistry::new(
        node.deployment.credential_registry,
        &node.provider,
    );
    let count = reg
        .typeCount()
        .call()
        .await
        .map_err(|_| ClaimError::Unavailable)?;
    Ok(u64::try_from(count).unwrap_or(u64::MAX))
}

/// Records award `a` for `chain_id` by `actor`, its type checked against the chain's `types` (the type
/// count): the award and, when it is new, the code of its link (valid `days` from `now`); an award
/// already recorded under the same key is returned without one.
pub async fn award(
    store: &Store,
    (chain_id, types): (u64, u64),
    actor: &str,
    a: &AwardInput,
    days: u64,
    now: u64,
) -> Result<(AwardRow, Option<String>), ClaimError> {
    let email = normalise_email(&a.email)?;
    if a.type_id == 0 || a.type_id > types {
        return Err(ClaimError::UnknownType(a.type_id));
    }
    let key = a.key.clone().unwrap_or_else(|| {
        format!(
            "award:{}:{email}:{}",
            a.type_id,
            a.learner_id.as_deref().unwrap_or("")
        )
    });
    let (code, hash) = new_code();
    let (row, fresh) = store
        .create_award(&NewAward {
            chain_id,
            type_id: a.type_id,
            email,
            learner_id: a.learner_id.clone(),
            idempotency_key: key,
            expires_at: a.expires_at,
            evidence: a.evidence,
            code_hash: hash,
            code_expires_at: now + days * 86_400,
            actor: actor.to_string(),
        })
        .await?;
    Ok((row, fresh.then_some(code)))
}

/// The open award of a link's code on `chain_id` at unix time `now`, or why it cannot be claimed.
pub async fn open_award(
    store: &Store,
    chain_id: u64,
    code: &str,
    now: u64,
) -> Result<AwardRow, ClaimError> {
    let a = store
        .award_by_code(chain_id, code_hash(code))
        .await?
        .ok_or(ClaimError::UnknownCode)?;
    match a.state.as_str() {
        "withdrawn" => Err(ClaimError::Withdrawn),
        "claimed" => Err(ClaimError::AlreadyClaimed(a.holder.unwrap_or_default())),
        _ if a.code_expires_at <= now => Err(ClaimError::Expired(crate::credentials::dates::date(
            a.code_expires_at,
        ))),
        _ => Ok(a),
    }
}

/// Claims the award of `code` for `holder`: the mint is queued (once, whatever else claims at the same
/// time) and the award marked claimed. Returns the award and the issuance request.
pub async fn claim(
    node: &Node,
    store: &Store,
    program: &Program,
    signer: Address,
    code: &str,
    holder: Address,
    now: u64,
) -> Result<(AwardRow, Request), ClaimError> {
    let a = open_award(store, node.chain_id(), code, now).await?;
    let key = format!("award:{}:{}", a.chain_id, a.id);
    // A claim whose mint was queued but not yet marked (a crash in between, or the mint already landed):
    // the same address finishes it; another is told where it went.
    if let Some(id) = store.request_under_key(a.chain_id, &key).await? {
        if let Some(r) = store.requests(&[id]).await?.pop() {
            if r.holder != holder {
                return Err(ClaimError::AlreadyClaimed(r.holder));
            }
            store.mark_claimed(a.id, holder, r.id).await?;
            return Ok((a, r));
        }
    }
    let type_id =
        crate::domain::TypeId::new(a.type_id).ok_or(ClaimError::UnknownType(a.type_id))?;
    let submission = Submission {
        actor: format!("claim:award:{}", a.id),
        requests: vec![NewRequest {
            idempotency_key: key,
            type_id,
            holder,
            expires_at: a.expires_at,
            evidence: a.evidence,
            document: None,
            source: format!("claim:award:{}", a.id),
            derived: false,
        }],
        mode: Mode::AllOrNothing,
        detail: serde_json::json!({"award": a.id}),
    };
    let submitted = submit(node, store, program, signer, submission)
        .await
        .map_err(|e| match e {
            SubmitError::Clock(_) => ClaimError::Unavailable,
            SubmitError::Store(e) => ClaimError::Store(e),
        })?;
    let request = match submitted.outcomes.into_iter().next() {
        Some(Outcome::Queued(r) | Outcome::Repeat(r)) if r.holder == holder => r,
        Some(Outcome::Queued(r) | Outcome::Repeat(r)) => {
            return Err(ClaimError::AlreadyClaimed(r.holder))
        }
        Some(Outcome::KeyConflict { existing_id }) => {
            let holder = store
                .requests(&[existing_id])
                .await?
                .pop()
                .map(|r| r.holder)
                .unwrap_or_default();
            return Err(ClaimError::AlreadyClaimed(holder));
        }
        Some(Outcome::Refused(r)) => return Err(ClaimError::Refused(r.to_string())),
        Some(Outcome::Withheld) | None => {
            return Err(ClaimError::Refused("the submission was not written".into()))
        }
    };
    store.mark_claimed(a.id, holder, request.id).await?;
    Ok((a, request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_128_random_bits_kept_as_a_hash() {
        let (a, ha) = new_code();
        let (b, _) = new_code();
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 16);
        assert_eq!(code_hash(&a), ha);
        assert_eq!(
            code_hash(&format!(" {a}\n")),
            ha,
            "a pasted link with whitespace still works"
        );
    }

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            normalise_email(" Ada@Example.EDU ").unwrap(),
            "ada@example.edu"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.org",
            "ada@localhost",
            "a b@x.org",
            "a@x@y.org",
            "ada@.org",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }
}
