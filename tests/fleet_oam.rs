//! `eks-authlog fleet` against a small CloudWatch Logs fake on 127.0.0.1, for what moto
//! cannot answer: a monitoring account's cross-account view (moto has no OAM, and answers
//! StartQuery with `logGroupIdentifiers` with a 500), and the lock on the state file, which a
//! second run must find taken before it asks AWS anything.
#![cfg(all(feature = "cloudwatch", unix))]

mod fake_http;

use std::process::{Command, Output, Stdio};

/// The binary with CloudWatch Logs at `logs` and every other service at a closed port.
fn fleet(logs: &str, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("eks-authlog"));
    c.arg("fleet")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", logs)
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .env("AWS_ENDPOINT_URL_ORGANIZATIONS", "http://127.0.0.1:9")
        .env("AWS_ENDPOINT_URL_ACCOUNT", "http://127.0.0.1:9")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run(cmd: &mut Command, code: i32) -> Output {
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

#[test]
fn a_second_run_on_a_locked_state_file_fails_at_once_and_calls_nothing() {
    let (url, seen) = fake_http::serve_json(|_, _| (500, None, "{}".to_owned()));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("fleet.json");
    std::fs::write(&state, "not json: the locked run must not even read it").unwrap();
    // Another run holds the lock (in this process: a second open file description conflicts
    // as another process's would).
    let held = eks_authlog_core::fleet::state::lock(&state).unwrap();
    let out = run(
        &mut fleet(&url, &["--since", "1h", "--state", state.to_str().unwrap()]),
        2,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("state file {}", state.display()))
            && err.contains("another eks-authlog fleet run holds it")
            && err.contains("fleet.json.lock"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    // Released, the next run gets past the lock (and stops at the unreadable state).
    drop(held);
    let out = run(
        &mut fleet(&url, &["--since", "1h", "--state", state.to_str().unwrap()]),
        2,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("holds it"), "{err}");
    assert!(err.contains("fleet.json"), "{err}");
}
