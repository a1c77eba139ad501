//! W3C Bitstring Status List 1.0: where each credential's status is published, and the lists themselves.
//!
//! Every credential token has a stable **position** (allocated once, in `store::status`); position `p`
//! lies in list `p / LIST_SIZE` at index `scatter(p % LIST_SIZE)`, a fixed permutation, so neighbouring
//! credentials do not sit side by side (herd privacy) and no index is used twice. The same index is
//! published in a `revocation` list (revoked, renounced or recovered: for good) and, for types that can
//! be suspended, a `suspension` list (suspended now; cleared on reinstatement).

use std::io::Write;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::dates::datetime;
use super::ob3::{Program, VC_CONTEXT};

/// Entries per list: 131,072 (16 KiB), the minimum the specification sets.
pub const LIST_SIZE: u64 = 131_072;
/// The entry type.
pub const ENTRY_TYPE: &str = "BitstringStatusListEntry";
/// Milliseconds a verifier may cache a list (`ttl`): one minute.
pub const TTL_MS: u64 = 60_000;
/// Seconds a list credential is valid from its issue (`validUntil`): fifteen minutes. Lists are reissued
/// long before: a served list always has at least [`LIST_LIFETIME`] minus the server's reuse window left.
pub const LIST_LIFETIME: u64 = 900;
/// An odd multiplier: `i -> i * K mod LIST_SIZE` is a bijection of the indexes of one list.
const SCATTER: u64 = 0x9E37_79B9 | 1;

/// Why a credential is published in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Withdrawn for good.
    Revocation,
    /// Withdrawn for now.
    Suspension,
}

impl Purpose {
    /// The `statusPurpose` value.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Revocation => "revocation",
            Purpose::Suspension => "suspension",
        }
    }

    /// The purpose named `s`.
    pub fn parse(s: &str) -> Option<Purpose> {
        match s {
            "revocation" => Some(Purpose::Revocation),
            "suspension" => Some(Purpose::Suspension),
            _ => None,
        }
    }
}

/// The list and index of position `p`.
pub fn slot(position: u64) -> (u64, u64) {
    let list = position / LIST_SIZE;
    let index = (position % LIST_SIZE).wrapping_mul(SCATTER) % LIST_SIZE;
    (list, index)
}

/// The URL of list `list` of `purpose`.
pub fn list_url(p: &Program, purpose: Purpose, list: u64) -> String {
    format!(
        "{}v1/status-lists/{}/{}/{list}",
        p.site,
        p.chain_id,
        purpose.name()
    )
}

/// The `credentialStatus` entry of a credential at `position` for `purpose`.
pub fn entry(p: &Program, purpose: Purpose, position: u64) -> Value {
    let (list, index) = slot(position);
    let url = list_url(p, purpose, list);
    json!({
        "id": format!("{url}#{index}"),
        "type": ENTRY_TYPE,
        "statusPurpose": purpose.name(),
        "statusListIndex": index.to_string(),
        "statusListCredential": url,
    })
}

/// `encodedList`: multibase base64url (`u`, no padding) of the GZIP of a 16 KiB bitstring whose bits
/// `set` (indexes below [`LIST_SIZE`]) are 1; index 0 is the left-most bit of the first byte.
pub fn encode(set: impl IntoIterator<Item = u64>) -> String {
    let mut bits = vec![0u8; (LIST_SIZE / 8) as usize];
    for i in set.into_iter().filter(|&i| i < LIST_SIZE) {
        bits[(i / 8) as usize] |= 0x80 >> (i % 8);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(&bits);
    let zipped = gz.finish().unwrap_or_default();
    format!("u{}", URL_SAFE_NO_PAD.encode(zipped))
}

/// The bit at `index` of an `encodedList`, or none when it does not decode to a long enough list.
pub fn bit(encoded: &str, index: u64) -> Option<bool> {
    use std::io::Read;
    let zipped = URL_SAFE_NO_PAD.decode(encoded.strip_prefix('u')?).ok()?;
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .take(16 << 20)
        .read_to_end(&mut bits)
        .ok()?;
    let byte = bits.get((index / 8) as usize)?;
    Some(byte & (0x80 >> (index % 8)) != 0)
}

/// The unsigned `BitstringStatusListCredential` of list `list` of `purpose`, issued at `now` (wall clock).
pub fn list_credential(
    p: &Program,
    purpose: Purpose,
    list: u64,
    encoded: String,
    now: u64,
) -> Value {
    let url = list_url(p, purpose, list);
    json!({
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        // The issuer by id: the list carries only the VC 2.0 context, which has no `Profile`.
        "issuer": p.issuer_id(),
        "validFrom": datetime(now),
        "validUntil": datetime(now + LIST_LIFETIME),
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose.name(),
            "encodedList": encoded,
            "ttl": TTL_MS,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_scatter_without_collisions() {
        let mut seen = std::collections::HashSet::new();
        for p in 0..LIST_SIZE {
            let (list, index) = slot(p);
            assert_eq!(list, 0);
            assert!(seen.insert(index), "index {index} twice");
        }
        assert_eq!(slot(LIST_SIZE).0, 1);
        assert_ne!(slot(1).1, 1, "neighbours are apart");
    }

    #[test]
    fn a_list_credential_uses_only_defined_terms_and_signs() {
        let p = Program {
            chain_id: 31337,
            registry: alloy::primitives::Address::repeat_byte(0x11),
            site: "https://badges.example.edu/".into(),
            issuer_name: "Example Academy".into(),
            did: Some(crate::credentials::did::IssuerDid::Web(
                "did:web:badges.example.edu".into(),
            )),
        };
        let list = list_credential(&p, Purpose::Suspension, 0, encode([3]), 1_800_000_000);
        let key = crate::credentials::keys::IssuerKey::ed25519_from_seed("k", [2u8; 32], 0);
        let signed =
            crate::credentials::integrity::sign(&list, &key, "did:web:badges.example.edu#k", 1)
                .expect("every term is defined by the VC 2.0 context");
        assert!(
            crate::credentials::integrity::verify(&signed, &key.ed25519_public().unwrap()).unwrap()
        );
        assert_eq!(list["issuer"], "did:web:badges.example.edu");
        assert_eq!(list["credentialSubject"]["ttl"], TTL_MS);
    }

    #[test]
    fn the_encoding_is_msb_first_gzip_multibase() {
        let encoded = encode([0, 9, LIST_SIZE - 1]);
        assert!(encoded.starts_with("uH4sI"), "{encoded}");
        for (i, want) in [(0, true), (1, false), (9, true), (LIST_SIZE - 1, true)] {
            assert_eq!(bit(&encoded, i), Some(want), "bit {i}");
        }
        assert_eq!(bit(&encoded, LIST_SIZE), None);
        assert_eq!(bit("not-multibase", 0), None);
    }
}
