//! A credential someone hands over — pasted (VC-JWT or JSON) or uploaded (JSON, or a baked SVG or PNG) —
//! read and checked against this program's own keys: what it is, whether its signature is by a key this
//! issuer publishes, whether its structure is an Open Badges credential of this program, and which token
//! it claims. The status and the chain's agreement are checked by the caller, which can read them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use super::baking::{extract_png, extract_svg, Baked};
use super::did::{did_key, IssuerDid};
use super::keys::keystore::Keystore;
use super::keys::{Alg, IssuerKey};
use super::ob3::{Program, OB3_CONTEXT, VC_CONTEXT};
use super::secure::kid_url;

/// The largest input read (a baked PNG of a long credential fits well inside).
pub const MAX_INPUT: usize = 1 << 20;

/// Why an input is not a credential at all (each message says what was expected).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    /// Nothing was given.
    #[error("nothing was given: paste a credential (a VC-JWT or its JSON) or upload its file (JSON, or a badge SVG or PNG)")]
    Empty,
    /// Over [`MAX_INPUT`].
    #[error("the input is {0} bytes; a credential or badge file is at most 1 MiB")]
    TooLarge(usize),
    /// A PNG or SVG with no credential baked in.
    #[error("this {0} badge has no credential baked in (OB 3.0 baking: an openbadgecredential iTXt chunk, or an <openbadges:credential> element)")]
    NotBaked(&'static str),
    /// Not a PNG, SVG, VC-JWT or JSON.
    #[error("this is not a credential: expected a VC-JWT (three base64url parts), credential JSON, or a baked badge SVG or PNG")]
    Unrecognised,
    /// JSON, but not an object.
    #[error("the JSON does not parse as a credential object ({0})")]
    BadJson(String),
    /// A compact JWS whose parts do not decode.
    #[error("the VC-JWT does not decode: {0}")]
    BadJwt(&'static str),
}

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Check {
    /// `signature`, `issuer`, `structure`, `dates`, `status`, `chain`, `claim`.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, or why it failed.
    pub detail: String,
}

impl Check {
    /// A check that passed.
    pub fn pass(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: true,
            detail: detail.into(),
        }
    }

    /// A check that failed.
    pub fn fail(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: false,
            detail: detail.into(),
        }
    }
}

/// A credential as handed over.
#[derive(Debug, Clone)]
pub struct Presented {
    /// `png`, `svg`, `jwt` or `json`: the form it came in.
    pub form: &'static str,
    /// The credential (the JWT's payload: its `vc` claim or the whole payload).
    pub credential: Value,
    /// The compact JWS, for a VC-JWT.
    pub jwt: Option<String>,
}

fn decode_part(part: &str, what: &'static str) -> Result<Value, InputError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| InputError::BadJwt(what))?;
    serde_json::from_slice(&bytes).map_err(|_| InputError::BadJwt(what))
}

fn of_text(text: &str, form: &'static str) -> Result<Presented, InputError> {
    match Baked::of(text) {
        Baked::Jwt(jwt) => {
            let mut parts = jwt.split('.');
            let (_, payload) = (parts.next(), parts.next().unwrap_or_default());
            let claims = decode_part(payload, "its payload is not base64url JSON")?;
            // The credential is the `vc` claim (VCDM 1.1-era tokens) or the payload without the registered
            // JWT claims OB 3.0 §8.2.4 adds.
            let credential = match claims.get("vc") {
                Some(vc) => vc.clone(),
                None => {
                    let mut c = claims;
                    if let Some(o) = c.as_object_mut() {
                        for k in ["iss", "sub", "jti", "nbf", "exp", "iat", "aud"] {
                            o.remove(k);
                        }
                    }
                    c
                }
            };
            Ok(Presented {
                form: if form == "text" { "jwt" } else { form },
                credential,
                jwt: Some(jwt),
            })
        }
        Baked::Json(json) => {
            let credential: Value = serde_json::from_str(&json).map_err(|e| {
                if form == "text" && !json.starts_with(['{', '[']) {
                    return InputError::Unrecognised;
                }
                InputError::BadJson(format!("line {}, column {}", e.line(), e.column()))
            })?;
            if !credential.is_object() {
                return Err(InputError::BadJson("not an object".into()));
            }
            Ok(Presented {
                form: if form == "text" { "json" } else { form },
                credential,
                jwt: None,
            })
        }
    }
}

/// Reads what was handed over: a PNG or SVG badge (its baked credential), a VC-JWT, or credential JSON.
pub fn read(input: &[u8]) -> Result<Presented, InputError> {
    if input.len() > MAX_INPUT {
        return Err(InputError::TooLarge(input.len()));
    }
    if input.starts_with(b"\x89PNG\r\n\x1a\n") {
        let baked = extract_png(input).ok_or(InputError::NotBaked("PNG"))?;
        return of_text(baked.text(), "png");
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| InputError::Unrecognised)?
        .trim();
    let text = text.trim_start_matches('\u{feff}');
    if text.is_empty() {
        return Err(InputError::Empty);
    }
    if text.starts_with('<') {
        if !text.contains("<svg") {
            return Err(InputError::Unrecognised);
        }
        let baked = extract_svg(text).ok_or(InputError::NotBaked("SVG"))?;
        return of_text(baked.text(), "svg");
    }
    of_text(text, "text")
}

/// The DIDs this program has issued under: its `did:web`, or the `did:key` of each published Ed25519 key.
fn issuer_dids(program: &Program, keys: &Keystore) -> Vec<String> {
    let mut dids: Vec<String> = keys
        .published()
        .filter_map(IssuerKey::ed25519_public)
        .map(|p| did_key(&p))
        .collect();
    if let Some(IssuerDid::Web(d)) = &program.did {
        dids.push(d.clone());
    }
    dids
}

fn issuer_of(credential: &Value) -> Option<&str> {
    match &credential["issuer"] {
        Value::String(s) => Some(s),
        other => other["id"].as_str(),
    }
}

/// Whether the credential names this program as its issuer.
pub fn check_issuer(p: &Presented, program: &Program, keys: &Keystore) -> Check {
    match issuer_of(&p.credential) {
        Some(i) if issuer_dids(program, keys).iter().any(|d| d == i) => {
            Check::pass("issuer", format!("issued by {} ({i})", program.issuer_name))
        }
        Some(i) => Check::fail(
            "issuer",
            format!("issued by {i}, not by this program ({}): check it with that issuer or a general verifier", program.issuer_id()),
        ),
        None => Check::fail("issuer", "the credential names no issuer"),
    }
}

/// Whether its signature (the VC-JWT's, else the embedded Data Integrity proof) is by a key this issuer
/// publishes — current or retired, never one reported compromised.
pub fn check_signature(p: &Presented, program: &Program, keys: &Keystore) -> Check {
    match &p.jwt {
        Some(jwt) => check_jwt(jwt, program, keys),
        None => check_proof(&p.credential, program, keys),
    }
}

fn check_jwt(jwt: &str, program: &Program, keys: &Keystore) -> Check {
    let parts: Vec<&str> = jwt.split('.').collect();
    let Ok(header) = decode_part(parts[0], "header") else {
        return Check::fail("signature", "the VC-JWT's header does not decode");
    };
    let kid = header["kid"].as_str().unwrap_or_default();
    let key = keys
        .published()
        .find(|k| kid == kid_url(&program.site, &k.id) || kid == k.id);
    let Some(key) = key else {
        let withdrawn = keys
            .keys
            .iter()
            .any(|k| k.compromised.is_some() && kid.ends_with(&k.id));
        return Check::fail(
            "signature",
            if withdrawn {
                format!("signed by {kid}, a key this issuer reported compromised: nothing it signs is trusted; ask the holder for a fresh copy")
            } else {
                format!("signed by {kid:?}, which is not a key of this issuer")
            },
        );
    };
    if header["alg"].as_str() != Some(key.alg().name()) {
        return Check::fail(
            "signature",
            format!(
                "the header's alg is not {}, the algorithm of {kid}",
                key.alg()
            ),
        );
    }
    let Ok(signature) = URL_SAFE_NO_PAD.decode(parts[2]) else {
        return Check::fail("signature", "the signature is not base64url");
    };
    let input = format!("{}.{}", parts[0], parts[1]);
    if key.verify(input.as_bytes(), &signature) {
        Check::pass("signature", format!("VC-JWT signed {} by {kid}", key.alg()))
    } else {
        Check::fail(
            "signature",
            format!(
                "the {} signature does not match: the credential was changed after it was signed",
                key.alg()
            ),
        )
    }
}

fn check_proof(credential: &Value, program: &Program, keys: &Keystore) -> Check {
    let proof = match &credential["proof"] {
        Value::Array(set) if set.len() == 1 => &set[0],
        p @ Value::Object(_) => p,
        Value::Null => {
            return Check::fail(
                "signature",
                "the credential has no proof: it is unsigned (or paste its VC-JWT instead)",
            )
        }
        _ => {
            return Check::fail(
                "signature",
                "the credential has several proofs; this page checks one",
            )
        }
    };
    let method = proof["verificationMethod"].as_str().unwrap_or_default();
    let key = keys
        .published()
        .filter(|k| k.alg() == Alg::EdDsa)
        .find(|k| {
            let by_key = k
                .ed25519_public()
                .map(|p| IssuerDid::Key(did_key(&p)).method_id(k));
            let by_web = match &program.did {
                Some(d @ IssuerDid::Web(_)) => Some(d.method_id(k)),
                _ => None,
            };
            by_key.as_deref() == Some(method) || by_web.as_deref() == Some(method)
        });
    let (Some(key), Some(public)) = (key, key.and_then(IssuerKey::ed25519_public)) else {
        return Check::fail(
            "signature",
            format!("signed by {method:?}, which is not a current or retired key of this issuer"),
        );
    };
    match super::integrity::verify(credential, &public) {
        Ok(true) => Check::pass(
            "signature",
            format!("Data Integrity proof (eddsa-rdfc-2022) by {}", key.id),
        ),
        Ok(false) => Check::fail(
            "signature",
            "the proof does not match: the credential was changed after it was signed",
        ),
        Err(e) => Check::fail("signature", format!("the proof cannot be checked: {e}")),
    }
}

/// Whether it is shaped as an Open Badges 3.0 credential: the contexts, the types, a subject and an
/// achievement.
pub fn check_structure(p: &Presented) -> Check {
    let c = &p.credential;
    let has = |v: &Value, s: &str| match v {
        Value::Array(a) => a.iter().any(|x| x == s),
        x => x == s,
    };
    let problems: Vec<&str> = [
        (
            c["@context"][0] != VC_CONTEXT,
            "@context does not start with the VC 2.0 context",
        ),
        (
            !has(&c["@context"], OB3_CONTEXT),
            "the Open Badges 3.0.3 context is missing",
        ),
        (
            !has(&c["type"], "VerifiableCredential"),
            "type lacks VerifiableCredential",
        ),
        (
            !has(&c["type"], "OpenBadgeCredential") && !has(&c["type"], "AchievementCredential"),
            "type lacks OpenBadgeCredential",
        ),
        (
            c["credentialSubject"]["achievement"].is_null(),
            "credentialSubject has no achievement",
        ),
        (c["validFrom"].as_str().is_none(), "there is no validFrom"),
    ]
    .into_iter()
    .filter_map(|(bad, why)| bad.then_some(why))
    .collect();
    if problems.is_empty() {
        let name = c["credentialSubject"]["achievement"]["name"]
            .as_str()
            .unwrap_or("?");
        Check::pass(
            "structure",
            format!("an Open Badges 3.0 credential: {name}"),
        )
    } else {
        Check::fail("structure", problems.join("; "))
    }
}

/// The token the credential claims: (chain id, registry, token id) from its on-chain record.
pub fn claimed_token(
    credential: &Value,
) -> Option<(u64, alloy::primitives::Address, alloy::primitives::U256)> {
    credential["evidence"].as_array()?.iter().find_map(|e| {
        let id = e["id"].as_str()?.strip_prefix("eip155:")?;
        let (chain, rest) = id.split_once("/erc721:")?;
        let (registry, token) = rest.split_once('/')?;
        Some((
            chain.parse().ok()?,
            registry.parse().ok()?,
            token.parse().ok()?,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_gets_a_clear_refusal() {
        assert_eq!(read(b"").unwrap_err(), InputError::Empty);
        assert_eq!(read(b"   \n").unwrap_err(), InputError::Empty);
        assert_eq!(
            read(&vec![b'a'; MAX_INPUT + 1]).unwrap_err(),
            InputError::TooLarge(MAX_INPUT + 1)
        );
        assert_eq!(read(b"hello world").unwrap_err(), InputError::Unrecognised);
        assert_eq!(
            read(&[0xff, 0xfe, 0x00]).unwrap_err(),
            InputError::Unrecognised
        );
        assert!(matches!(read(b"{\"a\": "), Err(InputError::BadJson(_))));
        assert!(matches!(read(b"[1,2]"), Err(InputError::BadJson(_))));
        assert!(matches!(read(b"a.b.c"), Err(InputError::BadJwt(_))));
        assert_eq!(
            read(b"<html></html>").unwrap_err(),
            InputError::Unrecognised
        );
        assert_eq!(
            read(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap_err(),
            InputError::NotBaked("SVG")
        );
        assert_eq!(
            read(b"\x89PNG\r\n\x1a\nrest").unwrap_err(),
            InputError::NotBaked("PNG")
        );
        for e in [
            InputError::Empty,
            InputError::Unrecognised,
            InputError::NotBaked("PNG"),
        ] {
            assert!(e.to_string().len() > 30, "{e}");
        }
    }

    #[test]
    fn the_forms_are_recognised() {
        let json = read(b"{\"id\": \"urn:x\"}").unwrap();
        assert_eq!(
            (json.form, json.credential["id"].as_str()),
            ("json", Some("urn:x"))
        );
        let payload = URL_SAFE_NO_PAD.encode(b"{\"vc\": {\"id\": \"urn:y\"}}");
        let jwt = read(format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln").as_bytes()).unwrap();
        assert_eq!(
            (jwt.form, jwt.credential["id"].as_str()),
            ("jwt", Some("urn:y"))
        );
        let record = serde_json::json!({"evidence": [{"id": "eip155:31337/erc721:0x1111111111111111111111111111111111111111/42"}]});
        let (chain, _, token) = claimed_token(&record).unwrap();
        assert_eq!((chain, token), (31337, alloy::primitives::U256::from(42)));
    }
}
