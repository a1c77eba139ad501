//! Idempotency keys: how an issuance request gets its key, and what a request under a key used before does.
//! Every rule is here; the CLI, the API and the store only call these functions.
//!
//! - **The key.** A request carries the key its caller gave — CLI `--key` or a CSV `key` column (1 to 200
//!   characters), or the API's `Idempotency-Key` header (1 to 150 visible ASCII characters), which is scoped
//!   to the caller and the item's position (`<caller>:<key>:<index>`) so that two API keys never collide —
//!   or else a key derived from its content ([`derived_key`]: chain, type, holder, expiry, supplied evidence).
//! - **A repeat** (a key used before, with the same type, holder, expiry and supplied evidence) queues nothing
//!   and answers with the earlier request, whatever its state (queued, submitted, confirmed or failed). The
//!   comparison is on what the caller supplied, not on the claim document: a type renamed since the first
//!   request changes the document, not the credential asked for.
//! - **A conflicting repeat** (a key used before, with other content) is refused, naming the earlier request.
//!   In an all-or-nothing submission (the API) it refuses the whole submission and nothing is written; in a
//!   line-by-line submission (the CLI) only that line is refused.
//! - **A key is bound to its first request for good**: it is never reused, even after that request failed.
//!   To try again after a failure, give a new key (or change the content a derived key is made of).

use alloy::primitives::{keccak256, Address, B256};

use crate::domain::TypeId;
use crate::store::issuance::{NewRequest, Stored};

/// Longest key a CLI flag or CSV line may give.
pub const MAX_EXPLICIT_KEY: usize = 200;
/// Longest `Idempotency-Key` header the API takes.
pub const MAX_HEADER_KEY: usize = 150;

/// Why a caller's key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A CLI or CSV key that is empty or too long.
    #[error("the key must be 1 to {MAX_EXPLICIT_KEY} characters (it has {0})")]
    Explicit(usize),
    /// An `Idempotency-Key` header that is empty, too long or not visible ASCII.
    #[error("the Idempotency-Key must be 1 to {MAX_HEADER_KEY} visible ASCII characters")]
    Header,
}

/// The key of an issuance derived from its content: the same chain, type, holder, expiry and evidence always
/// give the same key.
pub fn derived_key(
    chain_id: u64,
    type_id: TypeId,
    holder: Address,
    expires_at: u64,
    evidence: B256,
) -> String {
    let text = format!("issue:{chain_id}:{type_id}:{holder:#x}:{expires_at}:{evidence:#x}");
    format!(
        "iss-{}",
        &alloy::primitives::hex::encode(keccak256(text.as_bytes()))[..40]
    )
}

/// What an issuance asks for, before it has a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Content {
    /// Credential type to issue (part of the derived key).
    pub type_id: TypeId,
    /// Address to issue to (part of the derived key).
    pub holder: Address,
    /// Requested expiry (unix seconds; 0 = the type's default validity).
    pub expires_at: u64,
    /// Evidence hash (zero when none).
    pub evidence: B256,
}

/// The request for `c` from `source`, under `key` when one was given (already checked), else under the key
/// derived from its content on `chain_id`.
pub fn keyed(chain_id: u64, key: Option<String>, c: Content, source: String) -> NewRequest {
    let idempotency_key =
        key.unwrap_or_else(|| derived_key(chain_id, c.type_id, c.holder, c.expires_at, c.evidence));
    NewRequest {
        idempotency_key,
        type_id: c.type_id,
        holder: c.holder,
        expires_at: c.expires_at,
        evidence: c.evidence,
        document: None,
        source,
    }
}

/// A key given on the command line or in a CSV line, checked.
pub fn explicit_key(key: &str) -> Result<String, KeyError> {
    if key.is_empty() || key.chars().count() > MAX_EXPLICIT_KEY {
        return Err(KeyError::Explicit(key.chars().count()));
    }
    Ok(key.to_string())
}

/// An API `Idempotency-Key` header's value (its bytes), checked.
pub fn header_key(value: &[u8]) -> Result<String, KeyError> {
    let visible = |b: &u8| (0x20..0x7f).contains(b);
    if value.is_empty() || value.len() > MAX_HEADER_KEY || !value.iter().all(visible) {
        return Err(KeyError::Header);
    }
    Ok(String::from_utf8_lossy(value).into_owned())
}

/// The stored key of item `index` of an API submission by `caller` under header key `key`.
pub fn scoped_key(caller: &str, key: &str, index: usize) -> String {
    format!("{caller}:{key}:{index}")
}

/// What a request under its key turned out to be, once inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// The key was new: this request is queued.
    New,
    /// The key was used before for the same credential: the earlier request answers.
    Repeat,
    /// The key was used before for another credential (request `existing_id`): refused.
    Conflict {
        /// The earlier request's id.
        existing_id: i64,
    },
}

/// Judges `asked` against the row `stored` under its key.
pub fn judge(asked: &NewRequest, stored: &Stored) -> Judgement {
    if stored.created {
        return Judgement::New;
    }
    let r = &stored.request;
    let same = r.type_id == asked.type_id.get()
        && r.holder == asked.holder
        && r.expires_at == asked.expires_at
        && stored.supplied == asked.evidence;
    if same {
        Judgement::Repeat
    } else {
        Judgement::Conflict { existing_id: r.id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::issuance::{Request, RequestState};

    fn asked() -> NewRequest {
        NewRequest {
            idempotency_key: "k".into(),
            type_id: TypeId::new(2).expect("an id"),
            holder: Address::repeat_byte(1),
            expires_at: 0,
            evidence: B256::repeat_byte(7),
            document: None,
            source: "test".into(),
        }
    }

    fn stored(created: bool, tweak: impl FnOnce(&mut Request, &mut B256)) -> Stored {
        let a = asked();
        let mut request = Request {
            id: 41,
            idempotency_key: a.idempotency_key,
            type_id: a.type_id.get(),
            holder: a.holder,
            expires_at: a.expires_at,
            evidence_hash: B256::repeat_byte(9),
            state: RequestState::Failed,
            batch_id: None,
            error: None,
            confirmed_tx: None,
            confirmed_block: None,
            attempts: 3,
        };
        let mut supplied = a.evidence;
        tweak(&mut request, &mut supplied);
        Stored {
            request,
            supplied,
            created,
        }
    }

    #[test]
    fn derived_keys_depend_on_every_field() {
        let h = Address::repeat_byte(1);
        let ty = |n| TypeId::new(n).expect("an id");
        let k = derived_key(1, ty(2), h, 0, B256::ZERO);
        assert_eq!(k, derived_key(1, ty(2), h, 0, B256::ZERO));
        assert_ne!(k, derived_key(2, ty(2), h, 0, B256::ZERO));
        assert_ne!(k, derived_key(1, ty(3), h, 0, B256::ZERO));
        assert_ne!(k, derived_key(1, ty(2), h, 5, B256::ZERO));
        assert_ne!(
            k,
            derived_key(1, ty(2), Address::repeat_byte(2), 0, B256::ZERO)
        );
        assert_ne!(k, derived_key(1, ty(2), h, 0, B256::repeat_byte(1)));
    }

    #[test]
    fn a_new_key_queues_and_a_same_content_repeat_answers_with_the_earlier_request_in_any_state() {
        assert_eq!(judge(&asked(), &stored(true, |_, _| {})), Judgement::New);
        // Failed, with another document hash (the type was renamed): still the same credential asked for.
        assert_eq!(
            judge(&asked(), &stored(false, |_, _| {})),
            Judgement::Repeat
        );
    }

    #[test]
    fn a_repeat_with_any_other_field_conflicts_with_the_earlier_request() {
        let conflict = Judgement::Conflict { existing_id: 41 };
        assert_eq!(
            judge(&asked(), &stored(false, |r, _| r.type_id = 3)),
            conflict
        );
        assert_eq!(
            judge(
                &asked(),
                &stored(false, |r, _| r.holder = Address::repeat_byte(2))
            ),
            conflict
        );
        assert_eq!(
            judge(&asked(), &stored(false, |r, _| r.expires_at = 9)),
            conflict
        );
        assert_eq!(
            judge(&asked(), &stored(false, |_, s| *s = B256::ZERO)),
            conflict
        );
    }

    #[test]
    fn caller_keys_are_bounded_and_header_keys_are_visible_ascii() {
        assert_eq!(explicit_key("abc"), Ok("abc".into()));
        assert_eq!(explicit_key(""), Err(KeyError::Explicit(0)));
        assert_eq!(explicit_key(&"x".repeat(201)), Err(KeyError::Explicit(201)));
        assert_eq!(header_key(b"order-7"), Ok("order-7".into()));
        assert_eq!(header_key(b""), Err(KeyError::Header));
        assert_eq!(header_key(&[b'a'; 151]), Err(KeyError::Header));
        assert_eq!(header_key(b"tab\there"), Err(KeyError::Header));
        assert_eq!(header_key("é".as_bytes()), Err(KeyError::Header));
        assert_eq!(scoped_key("api:ab12", "order-7", 3), "api:ab12:order-7:3");
    }
}
