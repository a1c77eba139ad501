//! The committed artifacts that `sol!` reads must equal a fresh compile of the contracts.

use std::process::Command;

use super::support::root;

#[test]
fn committed_artifacts_match_a_fresh_compile() {
    let out = Command::new(root().join("scripts/artifacts"))
        .arg("--check")
        .current_dir(root())
        .output()
        .expect("run scripts/artifacts --check");
    assert!(
        out.status.success(),
        "scripts/artifacts --check failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
