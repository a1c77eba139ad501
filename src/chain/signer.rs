//! Where the service's signing key comes from: an encrypted keystore file (password from
//! `LAUREL_KEYSTORE_PASSWORD` or a prompt) or `LAUREL_PRIVATE_KEY`. Never from argv; never printed.

use std::path::{Path, PathBuf};

use alloy::signers::local::PrivateKeySigner;

/// Environment variable holding a hex private key (used when no keystore is configured).
pub const PRIVATE_KEY_VAR: &str = "LAUREL_PRIVATE_KEY";
/// Environment variable holding the keystore's password.
pub const KEYSTORE_PASSWORD_VAR: &str = "LAUREL_KEYSTORE_PASSWORD";

/// Why no signer could be loaded. No variant ever carries a key or a password.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// Neither a keystore nor a private key is configured.
    #[error(
        "no signing key: pass --keystore FILE (or set LAUREL_KEYSTORE), or set LAUREL_PRIVATE_KEY"
    )]
    Missing,
    /// `LAUREL_PRIVATE_KEY` is not a private key (its value is not repeated here).
    #[error("LAUREL_PRIVATE_KEY is not a 32-byte hex private key (0x followed by 64 hex digits)")]
    BadPrivateKey,
    /// The keystore needs a password and none is available.
    #[error("the keystore {0} needs a password: set LAUREL_KEYSTORE_PASSWORD or run in a terminal to be asked")]
    NoPassword(PathBuf),
    /// The keystore could not be read or decrypted.
    #[error("cannot unlock the keystore {path}: {reason}")]
    Keystore {
        /// Path of the keystore file that could not be read or decrypted.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Loads the signer: the keystore when one is configured, else `LAUREL_PRIVATE_KEY`.
/// `env` reads environment variables; `prompt` asks for the keystore password (None when no terminal).
pub fn load_signer(
    keystore: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
    prompt: impl FnOnce(&Path) -> Option<String>,
) -> Result<PrivateKeySigner, SignerError> {
    if let Some(path) = keystore {
        let password = env(KEYSTORE_PASSWORD_VAR)
            .or_else(|| prompt(path))
            .ok_or_else(|| SignerError::NoPassword(path.to_owned()))?;
        return PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| {
            SignerError::Keystore {
                path: path.to_owned(),
                reason: keystore_reason(&e.to_string()),
            }
        });
    }
    let key = env(PRIVATE_KEY_VAR).ok_or(SignerError::Missing)?;
    key.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| SignerError::BadPrivateKey)
}

/// A user-facing reason for a keystore failure.
fn keystore_reason(raw: &str) -> String {
    if raw.contains("Mac Mismatch") || raw.contains("MacMismatch") {
        "wrong password".to_string()
    } else if raw.contains("No such file") || raw.contains("os error 2") {
        "the file does not exist".to_string()
    } else {
        raw.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    fn no_prompt(_: &Path) -> Option<String> {
        None
    }

    fn keystore(tag: &str, password: &str) -> (PathBuf, alloy::primitives::Address) {
        let dir =
            std::env::temp_dir().join(format!("laurel-keystore-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let signer: PrivateKeySigner = KEY.parse().unwrap();
        // The file takes the given name (the returned value is the keystore's UUID).
        PrivateKeySigner::encrypt_keystore(
            &dir,
            &mut rand::thread_rng(),
            signer.to_bytes(),
            password,
            Some("service.json"),
        )
        .unwrap();
        (dir.join("service.json"), signer.address())
    }

    #[test]
    fn a_keystore_unlocks_with_the_password_from_the_environment_or_the_prompt() {
        let (path, address) = keystore("unlock", "correct horse");
        let s = load_signer(
            Some(&path),
            |k| (k == KEYSTORE_PASSWORD_VAR).then(|| "correct horse".into()),
            no_prompt,
        )
        .unwrap();
        assert_eq!(s.address(), address);
        let s = load_signer(Some(&path), |_| None, |_| Some("correct horse".into())).unwrap();
        assert_eq!(s.address(), address);
    }

    #[test]
    fn a_wrong_or_missing_password_is_a_clear_error_without_secrets() {
        let (path, _) = keystore("wrong", "battery staple");
        let err = load_signer(Some(&path), |_| Some("guess".into()), no_prompt).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("wrong password") && msg.contains("service.json"),
            "{msg}"
        );
        assert!(!msg.contains("guess") && !msg.contains("battery"));
        let err = load_signer(Some(&path), |_| None, no_prompt).unwrap_err();
        assert!(matches!(err, SignerError::NoPassword(_)), "{err}");
        let err = load_signer(
            Some(Path::new("/nonexistent/k.json")),
            |_| Some("x".into()),
            no_prompt,
        )
        .unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn the_private_key_variable_is_used_without_a_keystore_and_never_echoed() {
        let s = load_signer(
            None,
            |k| (k == PRIVATE_KEY_VAR).then(|| KEY.into()),
            no_prompt,
        )
        .unwrap();
        assert_eq!(
            s.address(),
            KEY.parse::<PrivateKeySigner>().unwrap().address()
        );
        let err = load_signer(None, |_| Some("0xdeadbeefnotakey".into()), no_prompt).unwrap_err();
        assert!(matches!(err, SignerError::BadPrivateKey));
        assert!(!err.to_string().contains("deadbeef"));
        assert!(matches!(
            load_signer(None, |_| None, no_prompt),
            Err(SignerError::Missing)
        ));
    }
}
