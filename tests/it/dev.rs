//! `laurel dev` as a user runs it: the stack comes up (anvil, Postgres, contracts, demo program, service),
//! a credential issued with the printed settings verifies, Ctrl-C stops everything and saves the chain, and
//! a second run reuses it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::support::{admin_database_url, root, tempdir};

/// A port the kernel just had free. Another process may take it before `laurel dev` binds it: that race is
/// why [`start_on_free_ports`] retries when laurel dev reports a port taken.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `laurel dev` on fresh free ports (with `extra` arguments), choosing new ports and trying again, at
/// most three times, when it exits because one was taken meanwhile; returns the process, its banner and
/// the HTTP port.
fn start_on_free_ports(
    extra: &[&str],
    state: &std::path::Path,
    db_url: &str,
) -> Result<(Dev, String, u16)> {
    let mut last = None;
    for _ in 0..3 {
        let (anvil_port, http_port) = (free_port()?, free_port()?);
        let (a, l) = (anvil_port.to_string(), format!("127.0.0.1:{http_port}"));
        let mut args = vec!["--anvil-port", a.as_str(), "--listen", l.as_str()];
        args.extend_from_slice(extra);
        match start(&args, state, db_url) {
            Ok((dev, banner)) => return Ok((dev, banner, http_port)),
            Err(e) => {
                let stderr = std::fs::read_to_string(state.join("dev.stderr")).unwrap_or_default();
                if !(stderr.contains("is taken") || stderr.contains("cannot listen")) {
                    bail!("{e:#}; stderr: {stderr}");
                }
                last = Some(e);
            }
        }
    }
    Err(last.context("no attempt was made")?).context("the ports kept being taken by others")
}

struct Dev(Child);

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn clean_env(cmd: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("LAUREL_") {
            cmd.env_remove(k);
        }
    }
}

/// Starts `laurel dev` and waits for its banner; returns the process and the banner.
fn start(args: &[&str], state: &std::path::Path, db_url: &str) -> Result<(Dev, String)> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_laurel"));
    clean_env(&mut cmd);
    cmd.arg("dev")
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .env("LAUREL_ROOT", root())
        .env("DATABASE_URL", db_url)
        .env("LAUREL_LOG", "warn")
        .current_dir(state)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(state.join("dev.stderr"))?);
    let mut child = Dev(cmd.spawn()?);
    let stdout = child.0.stdout.take().context("stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut banner = String::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                banner.push_str(&line);
                banner.push('\n');
                if line.starts_with("Ctrl-C stops everything") {
                    return Ok((child, banner));
                }
            }
            Err(_) if Instant::now() > deadline => bail!("no banner after 180 s: {banner}"),
            Err(_) => {
                if let Some(status) = child.0.try_wait()? {
                    bail!("laurel dev exited with {status}: {banner}");
                }
            }
        }
    }
}

/// Runs a laurel command with the settings `laurel dev` wrote to `<state>/env`.
fn with_dev_env(state: &std::path::Path, args: &[&str]) -> Result<(i32, String)> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_laurel"));
    clean_env(&mut cmd);
    for line in std::fs::read_to_string(state.join("env"))?.lines() {
        if let Some((k, v)) = line
            .strip_prefix("export ")
            .and_then(|kv| kv.split_once('='))
        {
            if k != "PATH" {
                cmd.env(k, v);
            }
        }
    }
    let out = cmd.args(args).current_dir(state).output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

fn interrupt(dev: &mut Dev) -> Result<std::process::ExitStatus> {
    Command::new("kill")
        .args(["-INT", &dev.0.id().to_string()])
        .status()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = dev.0.try_wait()? {
            return Ok(s);
        }
        if Instant::now() > deadline {
            bail!("laurel dev did not stop within 30 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn laurel_dev_brings_the_stack_up_stops_on_ctrl_c_and_resumes() -> Result<()> {
    let state = tempdir()?;
    let admin = admin_database_url()?;
    let db = format!("laurel_it_{}_dev", std::process::id());
    let (mut dev, banner, http_port) =
        start_on_free_ports(&["--database", &db, "--fresh"], &state, &admin)?;
    assert!(
        banner.contains("(new)") && banner.contains("Rust Fundamentals"),
        "{banner}"
    );

    let health =
        alloy::transports::http::reqwest::get(format!("http://127.0.0.1:{http_port}/healthz"))
            .await?;
    assert!(health.status().is_success());

    let holder = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let (code, out) = with_dev_env(&state, &["issue", "--type", "1", "--holder", holder])?;
    assert_eq!(code, 0, "{out}");
    // The pathway: type 2 needs type 1, which the holder now has.
    let (code, out) = with_dev_env(&state, &["issue", "--type", "2", "--holder", holder])?;
    assert_eq!(code, 0, "{out}");
    let (code, out) = with_dev_env(&state, &["verify", holder])?;
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("chain:  VALID active").count(), 2, "{out}");

    let status = interrupt(&mut dev)?;
    assert!(
        status.success(),
        "Ctrl-C should end laurel dev cleanly: {status}"
    );
    assert!(
        state.join("anvil-state.json").exists(),
        "the chain was not saved"
    );

    // Again, without --fresh: the same chain, deployment and database.
    let (mut dev, banner, _) = start_on_free_ports(&["--database", &db], &state, &admin)?;
    assert!(banner.contains("(reused)"), "{banner}");
    let (code, out) = with_dev_env(&state, &["verify", holder, "--type", "1"])?;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("chain:  VALID active") && out.contains("mirror: VALID active"),
        "{out}"
    );
    interrupt(&mut dev)?;
    laurel::store::Store::connect(&admin)
        .await?
        .drop_database(&db)
        .await?;
    Ok(())
}
