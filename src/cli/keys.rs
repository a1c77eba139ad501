//! `laurel keys init|rotate|compromise|list`: the issuer keystore — the keys that sign the program's Open
//! Badges credentials and status lists, apart from the transaction key. A running `laurel serve` picks up
//! a change to the file within seconds.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use crate::credentials::dates::datetime;
use crate::credentials::dates::unix_now as now;
use crate::credentials::jwt::{legacy_key, legacy_seed_key};
use crate::credentials::keys::keystore::{Keystore, KEYSTORE_VAR, LEGACY_VAR};
use crate::credentials::keys::Alg;

/// `laurel keys …`.
#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// Make a new keystore with one key per algorithm (RS256, ES256, EdDSA), written with mode 0600.
    Init {
        /// The keystore file [default: LAUREL_ISSUER_KEYSTORE or `issuer_keystore` in laurel.toml].
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Also import the issuer key of an earlier release (LAUREL_ISSUER_KEY, else the one it derived
        /// from the signing key) as a retired key, so the VC-JWTs it signed keep verifying.
        #[arg(long)]
        import_legacy: bool,
    },
    /// Retire the current key (of one algorithm, or all) and make a new one. Retired keys stay published,
    /// with the date they stopped signing.
    Rotate {
        /// RS256, ES256, EdDSA, or all.
        #[arg(long, default_value = "all", value_name = "ALG")]
        alg: String,
        /// The keystore file [default: LAUREL_ISSUER_KEYSTORE].
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Mark a key compromised from a date: it is withdrawn (its kid URL answers 410, it leaves the JWK set
    /// and the DID's assertion methods), and a current key is replaced.
    Compromise {
        /// The key's id (`laurel keys list`).
        id: String,
        /// When it was exposed: `now`, unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ.
        #[arg(long, value_name = "WHEN")]
        since: String,
        /// The keystore file [default: LAUREL_ISSUER_KEYSTORE].
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// List the keys: id, algorithm, made, retired, compromised (never the keys themselves).
    List {
        /// The keystore file [default: LAUREL_ISSUER_KEYSTORE].
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

fn file_of(given: Option<PathBuf>, configured: Option<&Path>) -> Result<PathBuf> {
    given
        .or_else(|| configured.map(Path::to_path_buf))
        .with_context(|| format!("which keystore? give --file <path> or set {KEYSTORE_VAR}=<path>"))
}

/// `now`, unix seconds, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`, as unix seconds.
pub fn parse_when(s: &str, now: u64) -> Result<u64> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    let bad = || {
        format!("{s:?} is not a date: give now, unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")
    };
    let (day, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t.strip_suffix('Z').with_context(bad)?)),
        None => (s, None),
    };
    let base = crate::issuance::request::parse_expiry(day)
        .ok()
        .with_context(bad)?;
    let Some(time) = time else {
        return Ok(base);
    };
    let hms: Vec<u64> = time
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()
        .with_context(bad)?;
    match hms[..] {
        [h, m, sec] if h < 24 && m < 60 && sec < 60 => Ok(base + h * 3_600 + m * 60 + sec),
        _ => bail!(bad()),
    }
}

fn when(t: Option<u64>) -> String {
    t.map_or_else(|| "-".to_string(), datetime)
}

/// Runs `laurel keys`. `configured` is the keystore path of the settings; `signer` the transaction key,
/// whose derived issuer key (earlier releases) `init` imports.
pub fn run(
    cmd: KeysCmd,
    configured: Option<&Path>,
    signer: Option<&alloy::signers::local::PrivateKeySigner>,
) -> Result<()> {
    let now = now();
    match cmd {
        KeysCmd::Init {
            file,
            import_legacy,
        } => {
            let path = file_of(file, configured)?;
            if path.exists() {
                bail!(crate::credentials::keys::keystore::KeystoreError::Exists(
                    path
                ));
            }
            let mut keys = Keystore::default();
            let legacy = match std::env::var(LEGACY_VAR).ok().filter(|_| import_legacy) {
                Some(v) => {
                    let bytes = alloy::primitives::hex::decode(v.trim()).ok();
                    let seed: [u8; 32] =
                        bytes.and_then(|b| b.try_into().ok()).with_context(|| {
                            format!("{LEGACY_VAR} is not a 32-byte hex Ed25519 seed")
                        })?;
                    Some(legacy_seed_key(seed, now))
                }
                None => signer.filter(|_| import_legacy).map(|s| legacy_key(s, now)),
            };
            if let Some(mut old) = legacy {
                old.retired = Some(now);
                println!(
                    "imported the earlier release's issuer key {} as retired",
                    old.id
                );
                keys.keys.push(old);
            }
            keys.rotate(&Alg::ALL, now)?;
            keys.write(&path)?;
            println!("wrote {} (mode 0600)", path.display());
            print_keys(&keys);
            println!("serve with {KEYSTORE_VAR}={}", path.display());
        }
        KeysCmd::Rotate { alg, file } => {
            let path = file_of(file, configured)?;
            let algs = if alg.eq_ignore_ascii_case("all") {
                Alg::ALL.to_vec()
            } else {
                vec![Alg::parse(&alg)
                    .with_context(|| format!("{alg:?} is not RS256, ES256, EdDSA or all"))?]
            };
            let made = Keystore::update(&path, |keys| keys.rotate(&algs, now))?;
            println!("new current keys: {}", made.join(", "));
            println!(
                "the keys they replace stay published, retired {}",
                datetime(now)
            );
        }
        KeysCmd::Compromise { id, since, file } => {
            let path = file_of(file, configured)?;
            let since = parse_when(&since, now)?;
            let replacement = Keystore::update(&path, |keys| keys.compromise(&id, since, now))?;
            println!("{id} is compromised from {}: withdrawn from the JWK set, its kid URL and the DID document", datetime(since));
            if let Some(r) = replacement {
                println!("{r} replaces it as the current key");
            }
        }
        KeysCmd::List { file } => {
            let path = file_of(file, configured)?;
            print_keys(&Keystore::read(&path)?);
        }
    }
    Ok(())
}

fn print_keys(keys: &Keystore) {
    println!(
        "{:<26} {:<6} {:<20} {:<20} {:<20}",
        "id", "alg", "made", "retired", "compromised"
    );
    for k in &keys.keys {
        println!(
            "{:<26} {:<6} {:<20} {:<20} {:<20}",
            k.id,
            k.alg().name(),
            datetime(k.created),
            when(k.retired),
            when(k.compromised)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_compromise() {
        assert_eq!(parse_when("now", 7).unwrap(), 7);
        assert_eq!(parse_when("1700000000", 7).unwrap(), 1_700_000_000);
        assert_eq!(parse_when("2024-02-29", 7).unwrap(), 1_709_164_800);
        assert_eq!(
            parse_when("2024-02-29T01:02:03Z", 7).unwrap(),
            1_709_164_800 + 3_723
        );
        for bad in [
            "2024-02-30",
            "2024-02-29T25:00:00Z",
            "yesterday",
            "2024-02-29T01:02",
        ] {
            let e = parse_when(bad, 7).unwrap_err().to_string();
            assert!(e.contains("is not a date"), "{bad}: {e}");
        }
    }
}
