//! Helpers shared by the integration tests: repository paths, the npm-installed Foundry tools, anvil.

use std::path::{Path, PathBuf};
use std::process::Command;

use alloy::node_bindings::{Anvil, AnvilInstance};
use anyhow::{bail, Context, Result};

/// The repository root (where Cargo.toml lives).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Path of a Foundry tool (`forge`, `anvil`, `cast`) from the npm packages, resolved by `scripts/lib.sh`.
pub fn foundry_bin(tool: &str) -> Result<PathBuf> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(". scripts/lib.sh && foundry_bin {tool}"))
        .env("LAUREL_ROOT", root())
        .current_dir(root())
        .output()
        .context("running bash to locate the Foundry tools")?;
    if !out.status.success() {
        bail!(
            "{tool} is not installed: {} (run scripts/setup)",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

/// A fresh anvil node from the npm package, on a free port.
pub fn anvil() -> Result<AnvilInstance> {
    Anvil::at(foundry_bin("anvil")?)
        .try_spawn()
        .context("starting anvil")
}
