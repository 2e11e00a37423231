//! The whole tool against moto: `eks-authlog report --cluster demo` gives the same report as
//! the same lines read from a file. The bundled sample is re-timed to end an hour ago (moto,
//! like AWS, drops events older than 14 days), written through the CloudWatch Logs API into an
//! authenticator stream next to an audit stream, then read back by the binary.
#![cfg(feature = "cloudwatch")]

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::{moto, now_ms, put};
use eks_authlog_core::time::{format_ms, parse_timestamp_ms};
use serde_json::Value;

/// The sample's lines, shifted to end an hour ago, each with its CloudWatch timestamp.
/// CloudWatch stores no empty events, so blank lines are left out (of the file too).
fn sample_now() -> Vec<(i64, String)> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample.log"))
            .unwrap();
    let time_of = |l: &str| {
        l.strip_prefix("time=\"")
            .and_then(|r| r.get(..20))
            .and_then(parse_timestamp_ms)
    };
    let last = text.lines().filter_map(time_of).max().unwrap();
    let shift = (now_ms() - 3_600_000) / 1000 * 1000 - last;
    let mut prev = last + shift;
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (ts, line) = match time_of(line) {
            Some(t) => (
                t + shift,
                format!("time=\"{}\"{}", format_ms(t + shift), &line[27..]),
            ),
            None => (prev, line.to_owned()),
        };
        prev = ts;
        out.push((ts, line));
    }
    out
}

fn run(url: &str, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("eks-authlog")
        .unwrap()
        .args(args)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", url)
        // The live access read of report --cluster: moto has no such cluster (a note).
        .env("AWS_ENDPOINT_URL_EKS", url)
        // creator --cluster asks CloudTrail (moto: HTTP 500, a note) and IAM too.
        .env("AWS_ENDPOINT_URL_CLOUDTRAIL", url)
        .env("AWS_ENDPOINT_URL_IAM", url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap()
}

/// Runs the binary, checks its exit code (showing stderr when it differs) and decodes the
/// JSON it printed.
fn run_json(url: &str, args: &[&str], code: i32) -> Value {
    let o = run(url, args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The parts of a report that must not depend on where the lines came from.
fn comparable(doc: &Value) -> Value {
    let mut failures = doc["failures"].clone();
    for c in failures["by_class"].as_array_mut().unwrap() {
        // Examples name their input and row: a file path and line, or a log group and row.
        c["example"]
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k == "time" || k == "error");
    }
    serde_json::json!({
        // `since`/`until` differ by design: CloudWatch runs have a default window.
        "window": [&doc["window"]["start"], &doc["window"]["end"]],
        "events": doc["events"],
        "creator": doc["creator"],
        "failures": failures,
        "principals": doc["principals"],
        "timeline": doc["timeline"],
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn report_from_cloudwatch_equals_report_from_a_file() {
    let Some(m) = moto().await else { return };
    let url = std::env::var("EKS_AUTHLOG_MOTO_URL").unwrap();
    let events = sample_now();
    put(
        m.client(),
        "/aws/eks/demo/cluster",
        "authenticator-0123456789abcdef0123456789abcdef",
        &events,
    )
    .await;
    let audit: Vec<(i64, String)> = events
        .iter()
        .step_by(10)
        .map(|(t, _)| (*t, r#"{"kind":"Event","verb":"get","user":{"username":"kubernetes-admin"},"responseStatus":{"code":401}} access denied"#.to_owned()))
        .collect();
    put(
        m.client(),
        "/aws/eks/demo/cluster",
        "kube-apiserver-audit-0123456789abcdef0123456789abcdef",
        &audit,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.log");
    let text: Vec<&str> = events.iter().map(|(_, l)| l.as_str()).collect();
    std::fs::write(&file, text.join("\n") + "\n").unwrap();

    let remote = run_json(
        &url,
        &[
            "report",
            "--cluster",
            "demo",
            "--since",
            "3d",
            "-o",
            "json",
            "--quiet",
        ],
        0,
    );
    let local = run_json(
        &url,
        &[
            "report",
            file.to_str().unwrap(),
            "--cluster",
            "demo",
            "-o",
            "json",
            "--quiet",
        ],
        0,
    );

    assert_eq!(comparable(&remote), comparable(&local));
    assert_eq!(remote["creator"]["status"], "found");
    assert_eq!(
        remote["events"]["total"].as_u64().unwrap() as usize,
        events.len(),
        "the audit stream's lines were filtered out"
    );
    let source = &remote["source"][0];
    assert_eq!(source["log_groups"][0], "/aws/eks/demo/cluster");
    assert_eq!(source["strategy"], "events");
    assert_eq!(source["complete"], true);
    assert_eq!(
        source["rows_filtered"].as_u64().unwrap() as usize,
        audit.len()
    );
    assert!(source["api_calls"]["start_query"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn creator_and_discovery_through_the_cli() {
    let Some(m) = moto().await else { return };
    let url = std::env::var("EKS_AUTHLOG_MOTO_URL").unwrap();
    let events = sample_now();
    put(
        m.client(),
        "/aws/eks/demo/cluster",
        "authenticator-aaaa",
        &events,
    )
    .await;
    put(
        m.client(),
        "/aws/eks/other/cluster",
        "authenticator-bbbb",
        &events[..20],
    )
    .await;

    let doc = run_json(
        &url,
        &["creator", "--cluster", "demo", "-o", "json", "--quiet"],
        0,
    );
    assert_eq!(
        doc["creator"]["identities"][0]["canonical_arn"],
        "arn:aws:iam::111122223333:role/PlatformAdmin"
    );
    assert_eq!(doc["source"][0]["queries"][0], "creator");

    // Exit 1: failures were found.
    let doc = run_json(
        &url,
        &[
            "failures",
            "--all-clusters",
            "--since",
            "3d",
            "-o",
            "json",
            "--quiet",
            "--fail-on",
            "any",
        ],
        1,
    );
    let groups: Vec<&str> = doc["source"][0]["log_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert_eq!(groups, ["/aws/eks/demo/cluster", "/aws/eks/other/cluster"]);

    let o = run(&url, &["report", "--cluster", "missing", "-o", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("/aws/eks/missing/cluster") && err.contains("update-cluster-config"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_without_authenticator_lines_says_how_to_enable_them() {
    let Some(m) = moto().await else { return };
    let url = std::env::var("EKS_AUTHLOG_MOTO_URL").unwrap();
    let audit = vec![(
        now_ms() - 60_000,
        r#"{"kind":"Event","verb":"get"}"#.to_owned(),
    )];
    put(
        m.client(),
        "/aws/eks/quiet/cluster",
        "kube-apiserver-audit-cccc",
        &audit,
    )
    .await;
    let o = run(&url, &["report", "--cluster", "quiet", "-o", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no authenticator lines in /aws/eks/quiet/cluster"),
        "{err}"
    );
    assert!(
        err.contains("aws eks update-cluster-config --name quiet --region us-east-1"),
        "{err}"
    );
}
