//! The issuer keystore: the issuer keys with their life dates, as a JSON file (written with mode 0600,
//! replaced atomically) or the same JSON in `LAUREL_ISSUER_KEYS`; and the [`KeyRing`] a running service
//! reads them through, which picks up a rotation made by `laurel keys` without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Alg, IssuerKey, KeyError};

/// The variable naming the keystore file.
pub const KEYSTORE_VAR: &str = "LAUREL_ISSUER_KEYSTORE";
/// The variable holding the keystore's JSON itself (for secrets passed in the environment).
pub const KEYS_VAR: &str = "LAUREL_ISSUER_KEYS";
/// The variable of the single Ed25519 seed older releases read; `laurel keys init` imports it.
pub const LEGACY_VAR: &str = "LAUREL_ISSUER_KEY";
/// The keystore format this build reads and writes.
const FORMAT: u32 = 1;

/// Why the keystore could not be read, changed or written.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The file could not be read.
    #[error("cannot read the issuer keystore {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write the issuer keystore {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The JSON is not a keystore (the text is not repeated: it holds secrets).
    #[error("the issuer keystore in {origin} is not valid: {detail}")]
    Invalid {
        /// Where it came from (a path or the variable).
        origin: String,
        /// What is wrong.
        detail: String,
    },
    /// A key in it is malformed.
    #[error("the issuer keystore in {origin}: {source}")]
    Key {
        /// Where it came from.
        origin: String,
        /// The key's problem.
        source: KeyError,
    },
    /// Both a keystore file and the keystore JSON are configured.
    #[error("both {KEYSTORE_VAR} and {KEYS_VAR} are set: keep one (the file, or the JSON in the environment)")]
    Both,
    /// The retired single-seed variable is set: its key must be imported.
    #[error("{LEGACY_VAR} is no longer read: run `laurel keys init --file <path>` with it set to import it as a retired key (what it signed keeps verifying), then set {KEYSTORE_VAR}=<path>")]
    Legacy,
    /// No key has that id.
    #[error("the issuer keystore has no key {0:?}: `laurel keys list` shows the ids")]
    UnknownKey(String),
    /// A compromise date lies in the future.
    #[error("a compromise date cannot lie in the future: give the date the key was exposed (RFC 3339, or `now`)")]
    FutureCompromise,
    /// The file exists already.
    #[error("{0} exists already: `laurel keys rotate` makes new keys in it")]
    Exists(PathBuf),
    /// Making a key failed.
    #[error(transparent)]
    Generate(KeyError),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    laurel_issuer_keystore: u32,
    keys: Vec<EntryForm>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryForm {
    id: String,
    alg: Alg,
    created: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retired: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compromised: Option<u64>,
    jwk: Map<String, Value>,
}

/// The issuer keys: current ones (one per algorithm at most), retired ones and compromised ones.
#[derive(Debug, Clone, Default)]
pub struct Keystore {
    /// Every key, oldest first.
    pub keys: Vec<IssuerKey>,
}

fn read_text(path: &Path) -> Result<String, KeystoreError> {
    std::fs::read_to_string(path).map_err(|source| KeystoreError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Keystore {
    /// A keystore of one new key per algorithm, made at unix time `now`.
    pub fn generate(now: u64) -> Result<Keystore, KeystoreError> {
        let keys = Alg::ALL
            .into_iter()
            .map(|alg| IssuerKey::generate(alg, now))
            .collect::<Result<_, _>>()
            .map_err(KeystoreError::Generate)?;
        Ok(Keystore { keys })
    }

    /// The keystore in `text`, which came from `origin` (named in errors; the text never is).
    pub fn parse(text: &str, origin: &str) -> Result<Keystore, KeystoreError> {
        let invalid = |detail: String| KeystoreError::Invalid {
            origin: origin.to_string(),
            detail,
        };
        let form: FileForm = serde_json::from_str(text).map_err(|e| {
            invalid(format!(
                "not keystore JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if form.laurel_issuer_keystore != FORMAT {
            return Err(invalid(format!(
                "format {} is not the format {FORMAT} this build reads",
                form.laurel_issuer_keystore
            )));
        }
        let mut store = Keystore::default();
        for e in form.keys {
            if !valid_id(&e.id) {
                return Err(invalid(format!(
                    "key id {:?} is not 1-64 of a-z, 0-9, - and _",
                    e.id
                )));
            }
            if store.get(&e.id).is_some() {
                return Err(invalid(format!("key id {:?} appears twice", e.id)));
            }
            let mut key = IssuerKey::from_private_jwk(&e.id, &e.jwk).map_err(|source| {
                KeystoreError::Key {
                    origin: origin.to_string(),
                    source,
                }
            })?;
            if key.alg() != e.alg {
                return Err(invalid(format!(
                    "key {:?} is said to be {} but is a {} key",
                    e.id,
                    e.alg,
                    key.alg()
                )));
            }
            key.created = e.created;
            key.retired = e.retired;
            key.compromised = e.compromised;
            if key.is_current() && store.current(e.alg).is_some() {
                return Err(invalid(format!(
                    "two {} keys are current: retire one with `laurel keys rotate`",
                    e.alg
                )));
            }
            store.keys.push(key);
        }
        Ok(store)
    }

    /// The keystore as its JSON file holds it.
    pub fn to_json(&self) -> Result<String, KeystoreError> {
        let form = FileForm {
            laurel_issuer_keystore: FORMAT,
            keys: self
                .keys
                .iter()
                .map(|k| EntryForm {
                    id: k.id.clone(),
                    alg: k.alg(),
                    created: k.created,
                    retired: k.retired,
                    compromised: k.compromised,
                    jwk: k.private_jwk().as_object().cloned().unwrap_or_default(),
                })
                .collect(),
        };
        serde_json::to_string_pretty(&form)
            .map(|t| t + "\n")
            .map_err(|e| KeystoreError::Invalid {
                origin: "memory".into(),
                detail: e.to_string(),
            })
    }

    /// The keystore in file `path`.
    pub fn read(path: &Path) -> Result<Keystore, KeystoreError> {
        Keystore::parse(&read_text(path)?, &path.display().to_string())
    }

    /// Writes the keystore to `path`: to a new temporary file of mode 0600 beside it (never an existing
    /// file or a link), synced, then renamed over it and the directory synced, so a crash leaves the old
    /// keystore or the new one, never half of one. Callers changing a keystore use [`Keystore::update`].
    pub fn write(&self, path: &Path) -> Result<(), KeystoreError> {
        use std::io::Write;
        let err = |source| KeystoreError::Write {
            path: path.to_path_buf(),
            source,
        };
        let text = self.to_json()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmp = path.with_extension(format!("json.{}.{nanos}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&tmp).and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(err(e));
        }
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Ok(d) = std::fs::File::open(dir.unwrap_or(Path::new("."))) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Reads the keystore in `path`, changes it with `change` and writes it back, holding an exclusive lock
    /// on `<path>.lock` throughout, so two `laurel keys` runs at once cannot lose each other's change.
    pub fn update<T>(
        path: &Path,
        change: impl FnOnce(&mut Keystore) -> Result<T, KeystoreError>,
    ) -> Result<T, KeystoreError> {
        let lock_path = path.with_extension("json.lock");
        let err = |source| KeystoreError::Write {
            path: lock_path.clone(),
            source,
        };
        let lock = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(err)?;
        lock.lock().map_err(err)?;
        let mut keys = Keystore::read(path)?;
        let out = change(&mut keys)?;
        keys.write(path)?;
        Ok(out)
    }

    /// The current key of `alg`.
    pub fn current(&self, alg: Alg) -> Option<&IssuerKey> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.alg() == alg && k.is_current())
    }

    /// The key named `id`.
    pub fn get(&self, id: &str) -> Option<&IssuerKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// The keys verifiers may use: every key not reported compromised, current and retired.
    pub fn published(&self) -> impl Iterator<Item = &IssuerKey> {
        self.keys.iter().filter(|k| k.compromised.is_none())
    }

    /// Retires the current key of each of `algs` at `now` and makes a new one; returns the new keys' ids.
    pub fn rotate(&mut self, algs: &[Alg], now: u64) -> Result<Vec<String>, KeystoreError> {
        let mut made = Vec::new();
        for &alg in algs {
            let key = IssuerKey::generate(alg, now).map_err(KeystoreError::Generate)?;
            for k in self.keys.iter_mut().filter(|k| k.alg() == alg) {
                if k.is_current() {
                    k.retired = Some(now);
                }
            }
            made.push(key.id.clone());
            self.keys.push(key);
        }
        Ok(made)
    }

    /// Marks key `id` compromised from unix time `since` (at most `now`); a current key is replaced by a
    /// new one, whose id is returned.
    pub fn compromise(
        &mut self,
        id: &str,
        since: u64,
        now: u64,
    ) -> Result<Option<String>, KeystoreError> {
        if since > now {
            return Err(KeystoreError::FutureCompromise);
        }
        let key = self
            .keys
            .iter_mut()
            .find(|k| k.id == id)
            .ok_or_else(|| KeystoreError::UnknownKey(id.to_string()))?;
        let was_current = key.is_current();
        let alg = key.alg();
        key.compromised = Some(key.compromised.map_or(since, |c| c.min(since)));
        if key.retired.is_none() {
            key.retired = Some(now);
        }
        if !was_current {
            return Ok(None);
        }
        Ok(self.rotate(&[alg], now)?.pop())
    }
}

/// Where a service's issuer keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A keystore file, re-read when it changes.
    File(PathBuf),
    /// The keystore JSON in `LAUREL_ISSUER_KEYS`.
    Env,
    /// None configured: nothing is signed.
    None,
}

impl KeySource {
    /// The source that `get` (the environment) and the configured keystore path name.
    pub fn of(
        get: impl Fn(&str) -> Option<String>,
        path: Option<&Path>,
    ) -> Result<KeySource, KeystoreError> {
        if get(LEGACY_VAR).is_some() {
            return Err(KeystoreError::Legacy);
        }
        match (path, get(KEYS_VAR)) {
            (Some(_), Some(_)) => Err(KeystoreError::Both),
            (Some(p), None) => Ok(KeySource::File(p.to_path_buf())),
            (None, Some(_)) => Ok(KeySource::Env),
            (None, None) => Ok(KeySource::None),
        }
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The issuer keys a running service signs with, re-read from their file when it changes.
#[derive(Debug)]
pub struct KeyRing {
    path: Option<PathBuf>,
    state: RwLock<(Arc<Keystore>, [u8; 32])>,
}

impl KeyRing {
    /// The keys of `source` (`get` reads the environment).
    pub fn load(
        source: &KeySource,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<KeyRing, KeystoreError> {
        let (text, origin, path) = match source {
            KeySource::File(p) => (read_text(p)?, p.display().to_string(), Some(p.clone())),
            KeySource::Env => (
                get(KEYS_VAR).unwrap_or_default(),
                KEYS_VAR.to_string(),
                None,
            ),
            KeySource::None => {
                return Ok(KeyRing::fixed(Keystore::default()));
            }
        };
        let keys = Keystore::parse(&text, &origin)?;
        Ok(KeyRing {
            path,
            state: RwLock::new((Arc::new(keys), digest(&text))),
        })
    }

    /// A ring of `keys` that never changes (tests, tools).
    pub fn fixed(keys: Keystore) -> KeyRing {
        KeyRing {
            path: None,
            state: RwLock::new((Arc::new(keys), [0; 32])),
        }
    }

    /// The keys now.
    pub fn keys(&self) -> Arc<Keystore> {
        self.state
            .read()
            .map(|s| s.0.clone())
            .unwrap_or_else(|p| p.into_inner().0.clone())
    }

    /// Re-reads the file and takes its keys if its content changed (compared by hash, so a rewrite that
    /// keeps the modification time is seen too); a file that no longer reads keeps the keys in use (the
    /// error is returned for the caller to log). Returns whether the keys changed.
    pub fn refresh(&self) -> Result<bool, KeystoreError> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let text = read_text(path)?;
        let stamp = digest(&text);
        let known = self.state.read().map(|s| s.1).unwrap_or([0; 32]);
        if stamp == known {
            return Ok(false);
        }
        let keys = Keystore::parse(&text, &path.display().to_string())?;
        if let Ok(mut s) = self.state.write() {
            *s = (Arc::new(keys), stamp);
        }
        Ok(true)
    }

    /// Whether the ring has a file to watch.
    pub fn watches_file(&self) -> bool {
        self.path.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_764_806_400;

    fn small() -> Keystore {
        // RSA generation is the slow part; two fast algorithms show the bookkeeping.
        let mut k = Keystore::default();
        k.rotate(&[Alg::Es256, Alg::EdDsa], NOW).unwrap();
        k
    }

    #[test]
    fn rotation_retires_and_compromise_replaces() {
        let mut k = small();
        let first = k.current(Alg::Es256).unwrap().id.clone();
        let made = k.rotate(&[Alg::Es256], NOW + 10).unwrap();
        assert_eq!(k.current(Alg::Es256).unwrap().id, made[0]);
        assert_eq!(k.get(&first).unwrap().retired, Some(NOW + 10));
        assert_eq!(k.published().count(), 3, "the retired key stays published");
        let ed = k.current(Alg::EdDsa).unwrap().id.clone();
        assert!(matches!(
            k.compromise(&ed, NOW + 99, NOW + 20),
            Err(KeystoreError::FutureCompromise)
        ));
        let replacement = k.compromise(&ed, NOW + 5, NOW + 20).unwrap().unwrap();
        assert_ne!(replacement, ed);
        assert_eq!(k.current(Alg::EdDsa).unwrap().id, replacement);
        assert!(k.published().all(|p| p.id != ed), "withdrawn");
        assert!(k.compromise(&first, NOW, NOW + 20).unwrap().is_none());
        assert!(matches!(
            k.compromise("nope", NOW, NOW),
            Err(KeystoreError::UnknownKey(_))
        ));
    }

    #[test]
    fn the_file_round_trips_and_bad_files_are_refused_without_their_secrets() {
        let mut k = small();
        k.rotate(&[Alg::Es256], NOW + 1).unwrap();
        let text = k.to_json().unwrap();
        let back = Keystore::parse(&text, "test").unwrap();
        assert_eq!(back.to_json().unwrap(), text);
        let mut two_current: Value = serde_json::from_str(&text).unwrap();
        two_current["keys"][0]
            .as_object_mut()
            .unwrap()
            .remove("retired");
        let e = Keystore::parse(&two_current.to_string(), "f.json").unwrap_err();
        assert!(e.to_string().contains("two ES256 keys are current"), "{e}");
        let e = Keystore::parse("{\"d\": \"secret-bytes\"", "f.json").unwrap_err();
        assert!(e.to_string().contains("f.json"), "{e}");
        assert!(!e.to_string().contains("secret-bytes"), "{e}");
    }

    #[test]
    fn sources_refuse_ambiguity_and_the_retired_variable() {
        let env = |vars: &'static [&'static str]| {
            move |k: &str| vars.contains(&k).then(|| "x".to_string())
        };
        assert_eq!(KeySource::of(env(&[]), None).unwrap(), KeySource::None);
        assert_eq!(
            KeySource::of(env(&[KEYS_VAR]), None).unwrap(),
            KeySource::Env
        );
        assert!(matches!(
            KeySource::of(env(&[KEYS_VAR]), Some(Path::new("k.json"))),
            Err(KeystoreError::Both)
        ));
        assert!(matches!(
            KeySource::of(env(&[LEGACY_VAR]), None),
            Err(KeystoreError::Legacy)
        ));
    }

    #[test]
    fn the_ring_picks_up_a_rewritten_file_and_updates_are_locked() {
        let dir = std::env::temp_dir().join(format!("laurel-keyring-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.json");
        small().write(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let ring = KeyRing::load(&KeySource::File(path.clone()), |_| None).unwrap();
        assert!(!ring.refresh().unwrap());
        // Two updates at once: both changes land.
        let threads: Vec<_> = [Alg::EdDsa, Alg::Es256]
            .into_iter()
            .map(|alg| {
                let path = path.clone();
                std::thread::spawn(move || {
                    Keystore::update(&path, |k| k.rotate(&[alg], NOW + 1)).unwrap()
                })
            })
            .collect();
        let made: Vec<String> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let keys = Keystore::read(&path).unwrap();
        assert_eq!(keys.keys.len(), 4, "neither rotation lost");
        assert!(ring.refresh().unwrap(), "the content changed");
        for id in &made {
            assert!(ring.keys().get(id).is_some_and(|k| k.is_current()), "{id}");
        }
        std::fs::write(&path, "{").unwrap();
        assert!(ring.refresh().is_err(), "an unreadable file is reported");
        assert_eq!(ring.keys().keys.len(), 4, "and the keys in use are kept");
        std::fs::remove_dir_all(&dir).ok();
    }
}
