//! The solc-js shim (`scripts/solc`) that forge runs in place of a native compiler.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::support::root;

fn solc(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(root().join("scripts/solc"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scripts/solc (is node installed? run scripts/setup)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_is_what_forge_parses() {
    let (ok, stdout, _) = solc(&["--version"], "");
    assert!(ok);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Version: "))
        .expect("a 'Version:' line");
    assert!(
        line.starts_with("Version: 0.8.30+commit."),
        "pinned solc 0.8.30: {line}"
    );
}

#[test]
fn compiles_and_resolves_imports_from_the_base_path() {
    let dir = std::env::temp_dir().join(format!("laurel-solc-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(dir.join("lib/Answer.sol"), "pragma solidity ^0.8.0; library Answer { function get() internal pure returns (uint256) { return 42; } }").unwrap();
    let input = json!({
        "language": "Solidity",
        "sources": { "Main.sol": { "content": "pragma solidity ^0.8.0; import \"lib/Answer.sol\"; contract Main { function f() external pure returns (uint256) { return Answer.get(); } }" } },
        "settings": { "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object"] } } }
    });
    let base = dir.to_string_lossy().into_owned();
    let (ok, stdout, stderr) = solc(
        &["--standard-json", "--base-path", &base],
        &input.to_string(),
    );
    assert!(ok, "{stderr}");
    let out: Value = serde_json::from_str(&stdout).expect("standard JSON output");
    let errors: Vec<&Value> = out["errors"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["severity"] == "error").collect())
        .unwrap_or_default();
    assert!(errors.is_empty(), "no compile errors: {errors:?}");
    let bytecode = out["contracts"]["Main.sol"]["Main"]["evm"]["bytecode"]["object"]
        .as_str()
        .unwrap();
    assert!(bytecode.len() > 100, "Main was compiled with its import");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn compiler_errors_come_back_as_standard_json_for_forge_to_show() {
    let input = json!({
        "language": "Solidity",
        "sources": { "Bad.sol": { "content": "pragma solidity ^0.8.0; contract Bad { function f() external { undefinedThing(); } }" } },
        "settings": { "outputSelection": { "*": { "*": ["abi"] } } }
    });
    let (ok, stdout, _) = solc(&["--standard-json"], &input.to_string());
    assert!(
        ok,
        "like native solc, the process succeeds and the errors are in the JSON"
    );
    let out: Value = serde_json::from_str(&stdout).unwrap();
    let err = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["severity"] == "error")
        .expect("an error");
    let msg = err["formattedMessage"].as_str().unwrap();
    assert!(
        msg.contains("Undeclared identifier") && msg.contains("Bad.sol"),
        "solc's own message with its location: {msg}"
    );
}

#[test]
fn a_missing_import_is_reported_with_its_name() {
    let input = json!({
        "language": "Solidity",
        "sources": { "A.sol": { "content": "pragma solidity ^0.8.0; import \"nowhere/Missing.sol\"; contract A {}" } },
        "settings": { "outputSelection": { "*": { "*": ["abi"] } } }
    });
    let (_, stdout, _) = solc(
        &["--standard-json", "--base-path", "/nonexistent-laurel"],
        &input.to_string(),
    );
    let out: Value = serde_json::from_str(&stdout).unwrap();
    let text = out["errors"].to_string();
    assert!(
        text.contains("nowhere/Missing.sol"),
        "the unresolved import is named: {text}"
    );
}
