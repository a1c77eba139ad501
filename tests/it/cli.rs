//! The `laurel` binary: configuration precedence and error messages, as a user runs it.

use std::process::Command;

fn laurel(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_laurel"));
    cmd.args(args).current_dir(dir);
    for var in [
        "LAUREL_CHAIN",
        "LAUREL_RPC_URL",
        "LAUREL_DATABASE_URL",
        "DATABASE_URL",
        "LAUREL_DEPLOYMENT",
        "LAUREL_LISTEN",
        "LAUREL_CONFIRMATIONS",
        "LAUREL_KEYSTORE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("run laurel");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("laurel-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn flags_override_environment_override_laurel_toml() {
    let dir = scratch_dir("precedence");
    std::fs::write(
        dir.join("laurel.toml"),
        "chain = \"optimism\"\nrpc_url = \"http://from-file\"\nlisten = \"0.0.0.0:9999\"\n",
    )
    .unwrap();
    let (ok, out, err) = laurel(
        &["config", "--rpc-url", "http://from-flag"],
        &[
            ("LAUREL_RPC_URL", "http://from-env"),
            ("DATABASE_URL", "postgres://app:hunter2@db:5432/laurel"),
            ("LAUREL_LISTEN", "127.0.0.1:7000"),
        ],
        &dir,
    );
    assert!(ok, "{err}");
    assert!(out.contains("chain = \"optimism\"  # chain id 10"), "{out}");
    assert!(out.contains("rpc_url = \"http://from-flag\""), "{out}");
    assert!(
        out.contains("listen = \"127.0.0.1:7000\""),
        "env beats the file: {out}"
    );
    assert!(
        out.contains("database_url = \"postgres://app:***@db:5432/laurel\""),
        "{out}"
    );
    assert!(!out.contains("hunter2"), "the password never prints");
    assert!(
        out.contains("deployment = \"deployments/10.json\""),
        "{out}"
    );
}

#[test]
fn bad_configuration_exits_non_zero_with_a_clear_message() {
    let dir = scratch_dir("errors");
    let (ok, _, err) = laurel(&["config", "--chain", "dogechain"], &[], &dir);
    assert!(!ok);
    assert!(
        err.contains("unknown chain \"dogechain\"") && err.contains("arbitrum-sepolia"),
        "{err}"
    );

    std::fs::write(dir.join("laurel.toml"), "rpc = \"typo\"\n").unwrap();
    let (ok, _, err) = laurel(&["config"], &[], &dir);
    assert!(!ok);
    assert!(
        err.contains("laurel.toml") && err.contains("unknown field"),
        "{err}"
    );

    let (ok, _, err) = laurel(
        &["config", "--config", "/nonexistent/laurel.toml"],
        &[],
        &dir,
    );
    assert!(!ok);
    assert!(
        err.contains("cannot read the config file /nonexistent/laurel.toml"),
        "{err}"
    );
}

/// Issue 10, "no secret leaves": providers put the API key in the RPC URL's path; `laurel config` shows
/// only its scheme and host, and so does the error when that node does not answer.
#[test]
fn the_rpc_urls_key_never_prints() {
    let dir = scratch_dir("redact");
    let url = "http://user:pw@127.0.0.1:9/v2/SECRETKEY?token=T0KEN";
    let (ok, out, err) = laurel(&["config", "--rpc-url", url], &[], &dir);
    assert!(ok, "{err}");
    assert!(
        out.contains("rpc_url = \"http://***@127.0.0.1:9/***\""),
        "{out}"
    );
    assert!(
        err.contains(
            "warning: --rpc-url http://***@127.0.0.1:9/*** carries what looks like an API key"
        ) && err.contains("set LAUREL_RPC_URL"),
        "a secret on argv is warned about: {err}"
    );
    let (ok, out, err) = laurel(&["status", "--rpc-url", url], &[], &dir);
    assert!(!ok, "nothing answers on port 9: {out}");
    // The same URL from the environment: no warning, and the logs of a command that keeps trying (debug
    // level, every RPC error logged) never show it either.
    let (ok, out2, err2) = laurel(
        &["status"],
        &[("LAUREL_RPC_URL", url), ("LAUREL_LOG", "debug")],
        &dir,
    );
    assert!(!ok);
    assert!(!err2.contains("warning: --rpc-url"), "{err2}");
    for secret in ["SECRETKEY", "T0KEN", "pw@"] {
        for text in [&out, &err, &out2, &err2] {
            assert!(!text.contains(secret), "{secret} printed: {text}");
        }
    }
    let (_, _, err) = laurel(
        &[
            "config",
            "--database-url",
            "postgres://laurel:hunter2@db:5432/laurel",
        ],
        &[],
        &dir,
    );
    assert!(
        err.contains("--database-url postgres://laurel:***@db:5432/laurel carries a password")
            && !err.contains("hunter2"),
        "{err}"
    );
}

/// Type and tier ids are parsed where they enter: 0, signs and text are refused before anything connects.
#[test]
fn a_type_or_tier_id_that_is_not_a_whole_number_from_one_is_refused_with_its_name() {
    let dir = scratch_dir("ids");
    let holder = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    for (args, what) in [
        (
            vec!["revoke", "--type", "0", "--holder", holder],
            "credential type",
        ),
        (
            vec!["issue", "--type=-3", "--holder", holder],
            "credential type",
        ),
        (vec!["verify", holder, "--type", "one"], "credential type"),
        (
            vec!["membership", "grant", "--tier", "0", "--holder", holder],
            "membership tier",
        ),
        (vec!["gov", "pause", "--tier", "0x1"], "membership tier"),
    ] {
        let (ok, _, err) = laurel(&args, &[], &dir);
        assert!(!ok, "{args:?} was accepted");
        assert!(
            err.contains(&format!("is not a {what} id")) && err.contains("whole numbers from 1"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn every_command_has_help() {
    let dir = scratch_dir("help");
    // Walk the whole command tree from `laurel --help`: every command and subcommand answers --help.
    let mut queue: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    while let Some(path) = queue.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (ok, out, _) = laurel(&args, &[], &dir);
        assert!(ok && out.contains("Usage: laurel"), "{args:?}: {out}");
        seen += 1;
        if let Some(list) = out.split("Commands:\n").nth(1) {
            for line in list.lines().take_while(|l| l.starts_with("  ")) {
                // A command line is indented two spaces; wrapped descriptions are indented further.
                let name = line.split_whitespace().next().unwrap_or("");
                if !line[2..].starts_with(' ') && !name.is_empty() && name != "help" {
                    let mut child = path.clone();
                    child.push(name.to_string());
                    queue.push(child);
                }
            }
        }
    }
    assert!(seen >= 30, "only {seen} commands found");
    let (ok, out, _) = laurel(&["chains"], &[], &dir);
    assert!(
        ok && out.contains("base-sepolia") && out.contains("84532"),
        "{out}"
    );
}
