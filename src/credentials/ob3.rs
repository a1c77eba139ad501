//! Open Badges 3.0 `AchievementCredential` documents, and the claim whose hash goes on chain.
//!
//! A credential document has two parts. The **claim** is fixed when the issuance is requested: who issues
//! (the program's profile), to whom (`did:pkh` of the holder), what (the achievement, with its criteria),
//! the evidence supplied, and the on-chain record that will hold it. Its keccak-256 over the canonical JSON
//! (RFC 8785) is the evidence hash of the issuance (see `docs/credentials.md`). The **chain fields** come
//! from the chain and the deployment and may change over the credential's life: `validFrom` (the issuing
//! block's time), `validUntil` (the expiry, which renewals move), `credentialStatus` (its places in the
//! Bitstring status lists), `issuer` (the program's DID profile, whose keys rotate) and `proof`. They are
//! left out of the hash; the chain and the deployment are their source of truth.

use std::collections::BTreeMap;

use alloy::primitives::{keccak256, Address, B256, U256};
use serde_json::{json, Map, Value};

use super::canonical::canonical;
use super::dates::datetime;
use super::did::{did_web, IssuerDid};
use super::keys::keystore::Keystore;
use super::status_list::{self, Purpose};
use crate::domain::{token_id, CredentialRow, CredentialTypeRow, TypeFlags};
use crate::store::documents::ClaimedToken;
use crate::store::issuance::{ClaimDocument, NewRequest};
use crate::store::{Store, StoreError};

/// The W3C Verifiable Credentials 2.0 context (always first).
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The Open Badges 3.0 context (second).
pub const OB3_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// The top-level members that are not part of the claim: set from the chain or the deployment, or the proof.
pub const CHAIN_FIELDS: [&str; 5] = [
    "validFrom",
    "validUntil",
    "credentialStatus",
    "issuer",
    "proof",
];
/// Where a site serves when the registry's base URI says nothing usable.
const DEFAULT_SITE: &str = "http://127.0.0.1:8787/";

/// The issuing program as its documents name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Chain id of the deployment.
    pub chain_id: u64,
    /// The deployment's CredentialRegistry: in the on-chain evidence id, `cast` line and URNs.
    pub registry: Address,
    /// The public site, ending in `/` (from the registry's on-chain base URI).
    pub site: String,
    /// The issuer's name.
    pub issuer_name: String,
    /// The issuer's DID: `did:web` of an HTTPS site, else `did:key` of the current Ed25519 issuer key
    /// (none when the site is not HTTPS and there is no such key).
    pub did: Option<IssuerDid>,
}

/// `http://host:port/` of a base URI `http://host:port/v1/metadata/<chain>/`.
pub fn site_root(base: &str) -> String {
    match base.find("/v1/") {
        Some(i) => format!("{}/", &base[..i]),
        None if base.ends_with('/') => base.to_string(),
        None => format!("{base}/"),
    }
}

impl Program {
    /// The program of a deployment, its site taken from the credential registry's mirrored base URI.
    pub async fn load(
        store: &Store,
        chain_id: u64,
        registry: Address,
        issuer_name: &str,
    ) -> Result<Program, StoreError> {
        let base = store
            .base_uri(chain_id, crate::domain::Registry::Credentials)
            .await?
            .filter(|b| b.starts_with("http://") || b.starts_with("https://"));
        let site = base.map_or_else(|| DEFAULT_SITE.to_string(), |b| site_root(&b));
        Ok(Program {
            chain_id,
            registry,
            did: did_web(&site).map(IssuerDid::Web),
            site,
            issuer_name: issuer_name.to_string(),
        })
    }

    /// The same program with its DID settled by the issuer keys (`did:key` when the site is not HTTPS).
    pub fn with_keys(self, keys: &Keystore) -> Program {
        Program {
            did: IssuerDid::of(&self.site, keys),
            ..self
        }
    }

    /// The issuer's id: its DID, or (no DID: nothing can be signed) the URL of its profile.
    pub fn issuer_id(&self) -> String {
        match &self.did {
            Some(d) => d.id().to_string(),
            None => format!("{}issuer", self.site),
        }
    }

    /// The issuer profile (OB 3.0 `Profile`), as served at `/issuer` and embedded in every document.
    pub fn profile(&self) -> Value {
        json!({
            "id": self.issuer_id(),
            "type": ["Profile"],
            "name": self.issuer_name,
            "url": self.site,
        })
    }

    /// The URL of a credential's own status view (JSON, with the chain's status beside it).
    pub fn status_url(&self, token: U256) -> String {
        format!(
            "{}v1/credentials/{}/{token}/status",
            self.site, self.chain_id
        )
    }
}

/// Where a credential's status is published: its position in the status lists, and whether its type
/// can be suspended (only then is it in a suspension list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusPlace {
    /// The credential's status position.
    pub position: u64,
    /// Whether the type can be suspended.
    pub suspendable: bool,
}

impl StatusPlace {
    /// The `credentialStatus` value: the revocation entry, and the suspension entry beside it (an array)
    /// when the type can be suspended.
    pub fn credential_status(&self, p: &Program) -> Value {
        let revocation = status_list::entry(p, Purpose::Revocation, self.position);
        if !self.suspendable {
            return revocation;
        }
        Value::Array(vec![
            revocation,
            status_list::entry(p, Purpose::Suspension, self.position),
        ])
    }
}

/// `did:pkh` of an account on this chain (CAIP-10, EIP-55 address).
pub fn did_pkh(chain_id: u64, account: Address) -> String {
    format!("did:pkh:eip155:{chain_id}:{account}")
}

/// A `urn:uuid:` (version 8, name-based on keccak-256) for the credential requested under `key`.
fn credential_urn(p: &Program, token: U256, key: &str) -> String {
    let h = keccak256(format!(
        "laurel:credential:{}:{:#x}:{token}:{key}",
        p.chain_id, p.registry
    ));
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = alloy::primitives::hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

fn days(secs: u64) -> String {
    match secs / 86_400 {
        1 => "1 day".into(),
        d if secs.is_multiple_of(86_400) => format!("{d} days"),
        _ => format!("{secs} seconds"),
    }
}

/// The criteria narrative of a type: who awards it, what it requires, how long it lasts.
fn criteria(p: &Program, ty: &CredentialTypeRow, prerequisites: &[String]) -> String {
    let mut text = format!(
        "Awarded by {} to learners who complete {}.",
        p.issuer_name, ty.name
    );
    if !prerequisites.is_empty() {
        text.push_str(&format!(
            " Requires a valid credential of: {}.",
            prerequisites.join(", ")
        ));
    }
    if ty.default_validity > 0 {
        text.push_str(&format!(
            " Valid for {} from issue unless renewed.",
            days(ty.default_validity)
        ));
    }
    text
}

/// The claim of a credential of `ty` for `holder`, requested under idempotency key `key` with the
/// supplied `evidence` (zero: none). `prerequisites` are the names of the type's prerequisite types.
pub fn claim(
    p: &Program,
    ty: &CredentialTypeRow,
    prerequisites: &[String],
    holder: Address,
    evidence: B256,
    key: &str,
) -> Value {
    let token = token_id(ty.type_id, holder);
    let mut items = Vec::new();
    if evidence != B256::ZERO {
        items.push(json!({
            "id": format!("urn:laurel:evidence:keccak256:{evidence:#x}"),
            "type": ["Evidence"],
            "name": "Evidence supplied at issuance",
            "description": "The keccak-256 hash of the evidence the issuer supplied with this award; the file whose hash it is proves it.",
        }));
    }
    items.push(json!({
        "id": format!("eip155:{}/erc721:{}/{token}", p.chain_id, p.registry),
        "type": ["Evidence"],
        "name": "On-chain record",
        "genre": "Blockchain record",
        "description": format!(
            "Token {token} of the CredentialRegistry {} on chain {}, held by {holder}. The credential is valid while isValid(holder, typeId) is true.",
            p.registry, p.chain_id
        ),
        "narrative": format!(
            "Check it without trusting the issuer: cast call {} 'isValid(address,uint256)(bool)' {holder} {} --rpc-url <an RPC of chain {}>. Verify page: {}verify/{holder}",
            p.registry, ty.type_id, p.chain_id, p.site
        ),
    }));
    json!({
        "@context": [VC_CONTEXT, OB3_CONTEXT],
        "id": credential_urn(p, token, key),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": ty.name,
        "credentialSubject": {
            "id": did_pkh(p.chain_id, holder),
            "type": ["AchievementSubject"],
            "achievement": {
                "id": format!("{}v1/types/{}", p.site, ty.type_id),
                "type": ["Achievement"],
                "name": ty.name,
                "description": format!(
                    "{}: a credential of {}, held as a soulbound token on chain {}.",
                    ty.name, p.issuer_name, p.chain_id
                ),
                "criteria": {"narrative": criteria(p, ty, prerequisites)},
            },
        },
        "evidence": items,
    })
}

/// The claim of a document: the document without its [`CHAIN_FIELDS`], as canonical JSON and its hash.
pub fn seal(document: &Value) -> ClaimDocument {
    let mut claim = document.clone();
    if let Some(o) = claim.as_object_mut() {
        for f in CHAIN_FIELDS {
            o.remove(f);
        }
    }
    let text = canonical(&claim);
    ClaimDocument {
        hash: keccak256(text.as_bytes()),
        text,
    }
}

/// The full (unsigned) document: `claim` with the chain fields of credential `c` — issuer profile, issue
/// time, expiry and its places in the status lists.
pub fn complete(p: &Program, claim: &Value, c: &CredentialRow, status: &StatusPlace) -> Value {
    let mut doc: Map<String, Value> = claim.as_object().cloned().unwrap_or_default();
    doc.insert("issuer".into(), p.profile());
    doc.insert("validFrom".into(), datetime(c.issued_at).into());
    if c.expires_at != 0 {
        doc.insert("validUntil".into(), datetime(c.expires_at).into());
    }
    doc.insert("credentialStatus".into(), status.credential_status(p));
    Value::Object(doc)
}

/// Where credential `c` is published in the status lists (its position is allocated on first use).
pub async fn status_place(
    store: &Store,
    p: &Program,
    c: &CredentialRow,
) -> Result<StatusPlace, StoreError> {
    let position = store
        .status_position(&crate::store::status::StatusKey {
            chain_id: p.chain_id,
            token_id: c.token_id,
            issued_tx: c.issued_tx,
        })
        .await?;
    let suspendable = store
        .credential_type(p.chain_id, c.type_id)
        .await?
        .is_some_and(|t| TypeFlags::from_bits_truncate(t.flags).contains(TypeFlags::SUSPENDABLE));
    Ok(StatusPlace {
        position,
        suspendable,
    })
}

/// The mirrored credential types by id.
async fn catalog(
    store: &Store,
    chain_id: u64,
) -> Result<BTreeMap<u64, CredentialTypeRow>, StoreError> {
    Ok(store
        .credential_types(chain_id)
        .await?
        .into_iter()
        .map(|t| (t.type_id, t))
        .collect())
}

/// The names of `ty`'s prerequisite types.
fn prerequisite_names(
    types: &BTreeMap<u64, CredentialTypeRow>,
    ty: &CredentialTypeRow,
) -> Vec<String> {
    ty.prerequisites
        .iter()
        .map(|id| {
            types
                .get(id)
                .map_or_else(|| format!("type {id}"), |t| t.name.clone())
        })
        .collect()
}

/// Whether claim `v` is about credential `c`: its subject is `c`'s holder on this chain, its achievement
/// is `c`'s type, and its on-chain record is `c`'s token of this registry.
fn names_token(p: &Program, v: &Value, c: &CredentialRow) -> bool {
    let record = format!("eip155:{}/erc721:{}/{}", p.chain_id, p.registry, c.token_id);
    v["credentialSubject"]["id"].as_str() == Some(did_pkh(p.chain_id, c.holder).as_str())
        && v["credentialSubject"]["achievement"]["id"]
            .as_str()
            .is_some_and(|id| id.ends_with(&format!("/v1/types/{}", c.type_id)))
        && v["evidence"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|e| e["id"].as_str() == Some(record.as_str()))
        })
}

/// Gives each request whose type is in `types` (the mirror's catalogue) the claim document of its credential,
/// so that the claim's hash is what goes on chain. Requests of unknown types are left without (the pre-check
/// refuses them).
pub fn attach_claims<'a>(
    p: &Program,
    types: &BTreeMap<u64, CredentialTypeRow>,
    requests: impl IntoIterator<Item = &'a mut NewRequest>,
) {
    for r in requests {
        let Some(ty) = types.get(&r.type_id.get()) else {
            continue;
        };
        let prerequisites = prerequisite_names(types, ty);
        let doc = claim(
            p,
            ty,
            &prerequisites,
            r.holder,
            r.evidence,
            &r.idempotency_key,
        );
        r.document = Some(seal(&doc));
    }
}

/// The claim behind credential `c`: the one Laurel issued it with (`bound`) — stored for this token's
/// chain, type and holder, its request confirmed by the transaction that issued the token, and naming this
/// token — else (a credential issued by other means, recovered to another holder, or whose evidence hash
/// points at a document of another token) one made now from the chain alone, which its hash does not match.
pub async fn claim_of(
    store: &Store,
    p: &Program,
    c: &CredentialRow,
) -> Result<(Value, bool), StoreError> {
    let asked = ClaimedToken {
        chain_id: p.chain_id,
        evidence_hash: c.evidence_hash,
        type_id: c.type_id,
        holder: c.holder,
        issued_tx: c.issued_tx,
    };
    if let Some(text) = store.confirmed_document(&asked).await? {
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            // The stored text is exactly what was hashed (earlier releases kept `issuer` in the claim).
            if names_token(p, &v, c) && keccak256(text.as_bytes()) == c.evidence_hash {
                return Ok((v, true));
            }
        }
    }
    let types = catalog(store, p.chain_id).await?;
    // A type the mirror lacks cannot happen for a mirrored credential; it is named plainly if it does.
    let ty = types
        .get(&c.type_id)
        .cloned()
        .unwrap_or_else(|| CredentialTypeRow::unknown(c.type_id));
    let prerequisites = prerequisite_names(&types, &ty);
    let key = format!("{:#x}", c.issued_tx);
    Ok((
        claim(p, &ty, &prerequisites, c.holder, c.evidence_hash, &key),
        false,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program() -> Program {
        Program {
            chain_id: 31337,
            registry: Address::repeat_byte(0x11),
            site: "https://badges.example.edu/".into(),
            issuer_name: "Example Academy".into(),
            did: Some(IssuerDid::Web("did:web:badges.example.edu".into())),
        }
    }

    #[test]
    fn site_roots() {
        assert_eq!(
            site_root("https://x.org/v1/metadata/8453/"),
            "https://x.org/"
        );
        assert_eq!(site_root("https://x.org"), "https://x.org/");
    }

    #[test]
    fn the_hash_ignores_chain_fields_only() {
        let ty = CredentialTypeRow::unknown(3);
        let holder = Address::repeat_byte(0x22);
        let c = claim(&program(), &ty, &[], holder, B256::ZERO, "k");
        let sealed = seal(&c);
        let row = CredentialRow {
            token_id: token_id(3, holder),
            type_id: 3,
            holder,
            issued_at: 1_700_000_000,
            expires_at: 1_800_000_000,
            ..CredentialRow::default()
        };
        let place = StatusPlace {
            position: 5,
            suspendable: true,
        };
        let full = complete(&program(), &c, &row, &place);
        assert_eq!(full["validFrom"], "2023-11-14T22:13:20Z");
        assert_eq!(full["issuer"]["id"], "did:web:badges.example.edu");
        assert_eq!(full["credentialStatus"][1]["statusPurpose"], "suspension");
        assert_eq!(
            full["credentialStatus"][0]["statusListIndex"],
            full["credentialStatus"][1]["statusListIndex"]
        );
        assert_eq!(
            seal(&full),
            sealed,
            "adding the chain fields leaves the hash alone"
        );
        let key = crate::credentials::keys::IssuerKey::ed25519_from_seed("k", [2u8; 32], 0);
        crate::credentials::integrity::sign(&full, &key, "did:web:badges.example.edu#k", 1)
            .expect("every term of the document is defined by its contexts");
        let mut other = full.clone();
        other["credentialSubject"]["id"] = did_pkh(31337, Address::repeat_byte(0x33)).into();
        assert_ne!(seal(&other).hash, sealed.hash, "the subject is bound");
        assert_eq!(sealed.hash, keccak256(sealed.text.as_bytes()));
        assert!(!sealed.text.contains("validFrom"));
    }

    #[test]
    fn ids_are_stable_uuids() {
        let u = credential_urn(&program(), U256::from(7), "k");
        assert_eq!(u, credential_urn(&program(), U256::from(7), "k"));
        assert_ne!(u, credential_urn(&program(), U256::from(7), "k2"));
        assert_eq!(u.len(), "urn:uuid:".len() + 36);
        assert_eq!(&u[23..24], "8", "version 8: {u}");
    }
}
