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

    // The authenticator pass alone: the audit pass (the default `--audit unauthorized`)
    // would read this audit stream's lines too, which the file does not hold.
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
            "--audit",
            "none",
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

/// An aws-iam-authenticator denial with no identity (an STS failure) at `ms`.
fn sts_denial(ms: i64, port: u16) -> String {
    format!(
        r#"time="{}" level=warning msg="access denied" client="127.0.0.1:{port}" error="sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {{\"Error\":{{\"Code\":\"InvalidClientTokenId\",\"Message\":\"The security token included in the request is invalid.\",\"Type\":\"Sender\"}},\"RequestId\":\"a9068247-f1ab-47ef-b1b1-cda46a27be0e\"}}" method=POST path=/authenticate"#,
        format_ms(ms / 1000 * 1000)
    )
}

/// The kube-apiserver audit event of a failed authentication (a 401) received at `ms`.
fn audit_401(ms: i64, ip: &str, agent: &str) -> String {
    let us = format_ms(ms);
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-{ms}","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{{}},"sourceIPs":["{ip}"],"userAgent":"{agent}","objectRef":{{"resource":"pods","namespace":"default","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}},"requestReceivedTimestamp":"{us}","stageTimestamp":"{us}"}}"#
    )
}

/// `report --cluster knock -o json --quiet` and `extra`, exit 0, decoded.
fn knock_json(url: &str, extra: &[&str]) -> Value {
    let mut args = vec!["report", "--cluster", "knock", "-o", "json", "--quiet"];
    args.extend(extra);
    run_json(url, &args, 0)
}

#[tokio::test(flavor = "multi_thread")]
async fn report_attributes_unattributed_failures_from_the_audit_windows_only() {
    let Some(m) = moto().await else { return };
    let url = std::env::var("EKS_AUTHLOG_MOTO_URL").unwrap();
    let group = "/aws/eks/knock/cluster";
    let base = (now_ms() - 2 * 3_600_000) / 1000 * 1000;
    let later = base + 1_800_000;
    put(
        m.client(),
        group,
        "authenticator-0123456789abcdef0123456789abcdef",
        &[
            (base, sts_denial(base, 50001)),
            (later, sts_denial(later, 50002)),
        ],
    )
    .await;
    let kubectl = "kubectl/v1.29.3 (linux/amd64) kubernetes/6813625";
    put(
        m.client(),
        group,
        "kube-apiserver-audit-0123456789abcdef0123456789abcdef",
        &[
            (base + 300, audit_401(base + 300, "10.0.3.17", kubectl)),
            (
                later + 200,
                audit_401(later + 200, "10.0.9.2", "Terraform/1.9.5"),
            ),
            // Far from any denial: outside every audit window, so never read.
            (
                base - 3_600_000,
                audit_401(base - 3_600_000, "10.9.9.9", "curl/8.5.0"),
            ),
            (
                base + 600_000,
                audit_401(base + 600_000, "10.9.9.8", "curl/8.5.0"),
            ),
        ],
    )
    .await;

    let doc = knock_json(&url, &[]);
    let audit = &doc["audit"];
    assert_eq!(
        audit["events"]["total"], 2,
        "only the windows were read: {audit}"
    );
    let attribution = &audit["attribution"];
    assert_eq!(attribution["denials"], 2, "{attribution}");
    assert_eq!(attribution["exact"], 2, "{attribution}");
    assert_eq!(attribution["unmatched"], 0, "{attribution}");
    let class = doc["failures"]["by_class"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["count"] == 2)
        .expect("one class holds both denials");
    let callers: Vec<(&str, &str)> = class["callers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["source_ip"].as_str().unwrap(),
                c["user_agent"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        callers,
        [("10.0.3.17", kubectl), ("10.0.9.2", "Terraform/1.9.5")]
    );

    let source = &doc["source"][0];
    assert_eq!(
        doc["source"].as_array().unwrap().len(),
        1,
        "one entry per region"
    );
    assert_eq!(
        source["queries"],
        serde_json::json!(["recent", "audit-unauthorized"])
    );
    assert_eq!(
        source["audit_windows"],
        serde_json::json!({"denials": 2, "windows": 2, "merged": 0, "max_per_group": 100})
    );
    assert_eq!(
        source["estimate_queries"], 3,
        "one estimate per query window"
    );
    assert_eq!(source["max_scan_bytes"], 10e9);
    let costs = source["query_costs"].as_array().unwrap();
    let summary: Vec<(&str, u64, &str)> = costs
        .iter()
        .map(|c| {
            (
                c["query"].as_str().unwrap(),
                c["windows"].as_u64().unwrap(),
                c["estimate_source"].as_str().unwrap(),
            )
        })
        .collect();
    // moto ignores `| estimate` and answers with ordinary rows: the tool says so and counts
    // the group's stored bytes instead, never zero.
    assert_eq!(
        summary,
        [
            ("recent", 1, "stored_bytes"),
            ("audit-unauthorized", 2, "stored_bytes")
        ]
    );
    for c in costs {
        assert!(c["estimated_bytes"].as_f64().unwrap() > 0.0, "{c}");
        assert!(
            c["estimate_note"]
                .as_str()
                .unwrap()
                .contains("could not be read"),
            "{c}"
        );
        assert_eq!(c["bytes_scanned"], Value::Null, "moto sends no statistics");
    }

    // The same run over a budget of nothing stops before the first query, exit 3.
    let over_budget = |gb: &str| {
        let args = [
            "report",
            "--cluster",
            "knock",
            "--max-scan-gb",
            gb,
            "-o",
            "json",
        ];
        run(&url, &args)
    };
    let o = over_budget("0");
    assert_eq!(o.status.code(), Some(3));
    assert!(o.stdout.is_empty(), "no report");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("query recent on /aws/eks/knock/cluster") && err.contains("--yes"),
        "{err}"
    );
    // --yes lifts the budget; the estimate is still made and reported.
    let doc = knock_json(&url, &["--yes"]);
    assert_eq!(doc["source"][0]["max_scan_bytes"], Value::Null);
    assert_eq!(doc["audit"]["attribution"]["exact"], 2);
    assert_eq!(doc["source"][0]["estimate_queries"], 3);

    // The aggregates when asked: estimated and run over the whole window; moto does not run
    // `stats`, so they are reported incomplete, never silently empty.
    let doc = knock_json(&url, &["--audit", "all"]);
    let source = &doc["source"][0];
    assert_eq!(
        source["queries"],
        serde_json::json!([
            "recent",
            "audit-unauthorized",
            "audit-forbidden",
            "audit-identities"
        ])
    );
    assert_eq!(source["estimate_queries"], 5);
    assert_eq!(source["complete"], false);
    assert!(
        source["incomplete_reason"]
            .as_str()
            .unwrap()
            .contains("no `hits` column"),
        "{source}"
    );
    assert_eq!(
        doc["audit"]["attribution"]["exact"], 2,
        "the windows still attribute"
    );
    // Only the aggregates: no window is queried.
    let doc = knock_json(&url, &["--audit", "identities"]);
    assert_eq!(
        doc["source"][0]["queries"],
        serde_json::json!(["recent", "audit-identities"])
    );
    assert!(doc["source"][0].get("audit_windows").is_none());

    // A budget that holds the authenticator pass but not the audit pass: the report of what
    // was paid for is still written, marked incomplete, and the run exits 3.
    let stored = m
        .client()
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .unwrap()
        .log_groups()[0]
        .stored_bytes()
        .unwrap() as f64;
    let gb = format!("{}", stored * 1.5 / 1e9);
    let o = over_budget(&gb);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("query audit-unauthorized on /aws/eks/knock/cluster"),
        "{err}"
    );
    let doc: Value = serde_json::from_slice(&o.stdout).expect("the report is written");
    let source = &doc["source"][0];
    assert_eq!(source["complete"], false);
    assert!(
        source["incomplete_reason"]
            .as_str()
            .unwrap()
            .contains("the audit pass was not run"),
        "{source}"
    );
    assert_eq!(
        doc["failures"]["total"], 2,
        "the authenticator pass is reported"
    );
    assert!(doc["audit"].is_null(), "no audit event was read");
}
