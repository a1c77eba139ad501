//! Idempotency keys: how an issuance request gets its key, and what a request under a key used before does.
//! Every rule is here; the CLI, the API and the store only call these functions.
//!
//! - **The key.** A request carries the key its caller gave — CLI `--key` or a CSV `key` column (1 to 200
//!   characters), or the API's `Idempotency-Key` header (1 to 150 visible ASCII characters) — or else a key
//!   derived from its content ([`derived_key`]: chain, type, holder, expiry, supplied evidence). Every key
//!   an API caller uses is scoped to it (`<caller>:<key>:<index>`, or `<caller>:<derived key>`): two
//!   callers never share a key, and a caller sees only its own requests ([`owned_by`]).
//! - **A repeat** (a key used before, with the same type, holder, expiry and supplied evidence) queues nothing
//!   and answers with the earlier request, whatever its state (queued, submitted, confirmed or failed). The
//!   comparison is on what the caller supplied, not on the claim document: a type renamed since the first
//!   request changes the document, not the credential asked for.
//! - **A repeat after the credential ended.** Under a *derived* key, a repeat whose earlier request was
//!   confirmed, while the credential it issued has since ended (expired, or revoked or renounced) and the
//!   type's policy lets it be issued again, is a new issuance: the annual re-assessment of a type with a
//!   default validity. Its key is the next round of the derived key ([`next_round`], the earlier key and the
//!   transaction that confirmed it), so a repeat of *that* answers the new request until it ends in turn.
//!   A key the caller gave names one request for good, so it never moves on.
//! - **A conflicting repeat** (a key used before, with other content) is refused, naming the earlier request.
//!   In an all-or-nothing submission (the API) it refuses the whole submission and nothing is written; in a
//!   line-by-line submission (the CLI) only that line is refused.
//! - **A key is bound to its first request for good**: it is never reused, even after that request failed.
//!   To try again after a failure, give a new key (or change the content a derived key is made of).
//! - **One open request per credential.** Submissions on a chain are serialised (one transaction each, under
//!   a lock), and a request for a (type, holder) that another open request already issues is refused.

use alloy::primitives::{keccak256, Address, B256};

use crate::domain::{CredentialRow, TypeId};
use crate::store::issuance::{NewRequest, Request, RequestState, Stored};

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

/// The key of the next round of derived key `key`, whose request was confirmed by `confirmed_tx` and whose
/// credential has ended: the same scope prefix, and a hash of the earlier key and that transaction.
pub fn next_round(key: &str, confirmed_tx: B256) -> String {
    let hash = keccak256(format!("round:{key}:{confirmed_tx:#x}").as_bytes());
    let tail = format!("iss-{}", &alloy::primitives::hex::encode(hash)[..40]);
    // A derived key ends in `iss-` and 40 hex digits (after the caller's scope, for the API).
    let scope = key.len().saturating_sub(tail.len());
    format!("{}{tail}", &key[..scope])
}

/// Whether `key` (a stored request's) belongs to API caller `caller`.
pub fn owned_by(key: &str, caller: &str) -> bool {
    key.strip_prefix(caller)
        .is_some_and(|rest| rest.starts_with(':'))
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
/// derived from its content on `chain_id` — scoped to `scope` (an API caller) when there is one.
pub fn keyed(
    chain_id: u64,
    key: Option<String>,
    c: Content,
    source: String,
    scope: Option<&str>,
) -> NewRequest {
    let derived = key.is_none();
    let idempotency_key = key.unwrap_or_else(|| {
        let k = derived_key(chain_id, c.type_id, c.holder, c.expires_at, c.evidence);
        scope.map_or_else(|| k.clone(), |s| format!("{s}:{k}"))
    });
    NewRequest {
        idempotency_key,
        type_id: c.type_id,
        holder: c.holder,
        expires_at: c.expires_at,
        evidence: c.evidence,
        document: None,
        source,
        derived,
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

/// Whether `asked` asks for what `earlier` (which its caller supplied `supplied` as evidence) asked for.
fn same_content(asked: &NewRequest, earlier: &Request, supplied: B256) -> bool {
    earlier.type_id == asked.type_id.get()
        && earlier.holder == asked.holder
        && earlier.expires_at == asked.expires_at
        && supplied == asked.evidence
}

/// The transaction that confirmed `earlier` — the request stored under `asked`'s derived key, which its
/// caller supplied `supplied` as evidence for — when `asked` repeats it after its credential `held` ended
/// and `reissuable` says the type lets it be issued again: `asked` then moves on to the [`next_round`].
pub fn ended_round(
    asked: &NewRequest,
    earlier: &Request,
    supplied: B256,
    held: Option<&CredentialRow>,
    reissuable: impl Fn(&CredentialRow) -> bool,
) -> Option<B256> {
    if !asked.derived || !same_content(asked, earlier, supplied) {
        return None;
    }
    if earlier.state != RequestState::Confirmed {
        return None;
    }
    let c = held?;
    reissuable(c).then_some(earlier.confirmed_tx?)
}

/// Judges `asked` against the row `stored` under its key.
pub fn judge(asked: &NewRequest, stored: &Stored) -> Judgement {
    if stored.created {
        return Judgement::New;
    }
    if same_content(asked, &stored.request, stored.supplied) {
        Judgement::Repeat
    } else {
        Judgement::Conflict {
            existing_id: stored.request.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked() -> NewRequest {
        NewRequest {
            idempotency_key: "k".into(),
            type_id: TypeId::new(2).expect("an id"),
            holder: Address::repeat_byte(1),
            expires_at: 0,
            evidence: B256::repeat_byte(7),
            document: None,
            source: "test".into(),
            derived: false,
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

    #[test]
    fn a_derived_key_moves_on_only_after_its_confirmed_credential_ended() {
        let c = Content {
            type_id: TypeId::new(2).expect("an id"),
            holder: Address::repeat_byte(1),
            expires_at: 0,
            evidence: B256::repeat_byte(7),
        };
        let mine = keyed(1, None, c, "api:k1".into(), Some("api:k1"));
        assert!(mine.derived && mine.idempotency_key.starts_with("api:k1:iss-"));
        assert!(owned_by(&mine.idempotency_key, "api:k1"));
        assert!(
            !owned_by(&mine.idempotency_key, "api:k"),
            "a prefix of a label is not the label"
        );
        let tx = B256::repeat_byte(0x42);
        let next = next_round(&mine.idempotency_key, tx);
        assert!(
            next.starts_with("api:k1:iss-") && next.len() == mine.idempotency_key.len(),
            "{next}"
        );
        assert_ne!(next, mine.idempotency_key);
        assert_ne!(next, next_round(&next, tx), "each round has its own key");

        let confirmed = stored(false, |r, _| {
            r.state = RequestState::Confirmed;
            r.confirmed_tx = Some(tx);
        })
        .request;
        let supplied = c.evidence;
        let held = CredentialRow::default();
        let ended = |_: &CredentialRow| true;
        assert_eq!(
            ended_round(&mine, &confirmed, supplied, Some(&held), ended),
            Some(tx)
        );
        assert_eq!(
            ended_round(&mine, &confirmed, supplied, Some(&held), |_| false),
            None,
            "still live, or not re-issuable"
        );
        assert_eq!(ended_round(&mine, &confirmed, supplied, None, ended), None);
        let failed = stored(false, |_, _| {}).request;
        assert_eq!(
            ended_round(&mine, &failed, supplied, Some(&held), ended),
            None,
            "a failed key is bound for good"
        );
        assert_eq!(
            ended_round(&mine, &confirmed, B256::ZERO, Some(&held), ended),
            None,
            "other content"
        );
        let given = keyed(1, Some("order-7".into()), c, "cli".into(), None);
        assert_eq!(
            ended_round(&given, &confirmed, supplied, Some(&held), ended),
            None,
            "a given key never moves on"
        );
    }
}
