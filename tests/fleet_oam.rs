//! `eks-authlog fleet` against a small CloudWatch Logs fake on 127.0.0.1, for what moto
//! cannot answer: a monitoring account's cross-account view (moto has no OAM, and answers
//! StartQuery with `logGroupIdentifiers` with a 500), and the lock on the state file, which a
//! second run must find taken before it asks AWS anything.
#![cfg(all(feature = "cloudwatch", unix))]

mod fake_http;

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

/// The monitoring account: it owns no cluster, and reads its source accounts' groups.
const MONITORING: &str = "999999999999";
const A: &str = "111111111111";
const B: &str = "222222222222";

/// The source accounts' clusters: (account, cluster, denials of [`principal`]). Both accounts
/// have a cluster `shared`: only the account in `@log` tells its rows apart.
const CLUSTERS: [(&str, &str, u64); 4] = [
    (A, "a1", 1),
    (A, "shared", 2),
    (B, "b1", 4),
    (B, "shared", 3),
];

/// The principal denied in a cluster: its name says where, so a row attributed to the wrong
/// account or cluster shows in the findings.
fn principal(account: &str, cluster: &str) -> String {
    format!("arn:aws:iam::{account}:role/{cluster}-deployer")
}

fn group_arn(account: &str, cluster: &str) -> String {
    format!("arn:aws:logs:us-east-1:{account}:log-group:/aws/eks/{cluster}/cluster")
}

fn cells(pairs: &[(&str, String)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(f, v)| json!({"field": f, "value": v}))
            .collect(),
    )
}

/// The `recent` rows of one source account's cluster, `@log` as a cross-account query gives
/// it (`account-id:log-group-name`).
fn rows_of(account: &str, cluster: &str, denials: u64, base_ms: i64) -> Vec<Value> {
    (0..denials)
        .map(|i| {
            let t = base_ms + i as i64 * 1000;
            let time = eks_authlog_core::time::format_ms(t);
            let msg = format!(
                r#"time="{time}" level=warning msg="access denied" arn="{}" client="127.0.0.1:{i}" error="ARN is not mapped" method=POST path=/authenticate"#,
                principal(account, cluster)
            );
            cells(&[
                ("@ptr", format!("{account}-{cluster}-{i}")),
                ("@timestamp", t.to_string()),
                ("@message", msg),
                ("@logStream", "authenticator-0123456789abcdef".to_owned()),
                ("@log", format!("{account}:/aws/eks/{cluster}/cluster")),
            ])
        })
        .collect()
}

/// A monitoring account's CloudWatch Logs: DescribeLogGroups lists the linked accounts'
/// groups only with `includeLinkedAccounts`; StartQuery remembers the groups it names by ARN
/// in `logGroupIdentifiers`, and GetQueryResults returns those groups' rows (an estimate's
/// one row for an estimate). A query naming groups any other way gets no rows.
fn monitoring_logs() -> impl Fn(&str, &str) -> fake_http::Answer + Send + Sync + 'static {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let base_ms = (now - 3_600_000) / 1000 * 1000;
    let queries: Mutex<HashMap<String, Vec<String>>> = Mutex::default();
    let n = AtomicU64::new(0);
    move |op, body| {
        let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        match op {
            "DescribeLogGroups" => {
                let linked = body["includeLinkedAccounts"] == json!(true);
                let groups: Vec<Value> = CLUSTERS
                    .iter()
                    .filter(|_| linked)
                    .map(|(account, cluster, _)| {
                        let arn = group_arn(account, cluster);
                        json!({
                            "logGroupName": format!("/aws/eks/{cluster}/cluster"),
                            "arn": format!("{arn}:*"),
                            "logGroupArn": arn,
                            "storedBytes": 1000,
                        })
                    })
                    .collect();
                (200, None, json!({"logGroups": groups}).to_string())
            }
            "StartQuery" => {
                let q = body["queryString"].as_str().unwrap_or("");
                let kind = if q.contains("| estimate") {
                    "estimate"
                } else {
                    "events"
                };
                let id = format!("{kind}-{}", n.fetch_add(1, Ordering::Relaxed));
                let ids = body["logGroupIdentifiers"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                queries.lock().unwrap().insert(id.clone(), ids);
                (200, None, json!({"queryId": id}).to_string())
            }
            "GetQueryResults" => {
                let id = body["queryId"].as_str().unwrap_or("");
                let named = queries.lock().unwrap().get(id).cloned().unwrap_or_default();
                let rows: Vec<Value> = if id.starts_with("estimate") {
                    vec![cells(&[("estimatedBytes", "1000".to_owned())])]
                } else {
                    CLUSTERS
                        .iter()
                        .filter(|(a, c, _)| named.contains(&group_arn(a, c)))
                        .flat_map(|(a, c, d)| rows_of(a, c, *d, base_ms))
                        .collect()
                };
                let reply = json!({
                    "status": "Complete",
                    "results": rows,
                    "statistics": {"recordsMatched": 1.0, "recordsScanned": 1.0, "bytesScanned": 500.0},
                });
                (200, None, reply.to_string())
            }
            _ => (
                400,
                Some("InvalidParameterException"),
                json!({"message": format!("{op} is not faked")}).to_string(),
            ),
        }
    }
}

/// The binary with CloudWatch Logs at `logs` and every other service at a closed port.
fn fleet(logs: &str, args: &[&str]) -> Command {
    let mut c = fake_http::fleet_command(logs, args);
    c.env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
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

/// The failure findings: (account, cluster, principal) → count.
fn denials_found(findings: &[Value]) -> BTreeMap<(String, String, String), u64> {
    findings
        .iter()
        .filter(|f| f["principal"].is_string() && f["kind"] != "target_skipped")
        .map(|f| {
            let key = (
                f["account"].as_str().unwrap().to_owned(),
                f["cluster"].as_str().unwrap_or("").to_owned(),
                f["principal"].as_str().unwrap().to_owned(),
            );
            (key, f["count"].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn monitoring_account_reads_linked_accounts_by_arn_and_attributes_rows_by_log() {
    let (url, seen) = fake_http::serve_json(monitoring_logs());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("fleet.json");
    let out = run(
        &mut fleet(
            &url,
            &[
                "--monitoring-account",
                MONITORING,
                "--since",
                "3h",
                "--lag",
                "0s",
                "-o",
                "json",
                "--state",
                state.to_str().unwrap(),
            ],
        ),
        0,
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "eks-authlog.fleet/v1");
    assert_eq!(doc["monitoring_account"], MONITORING);
    // One target per source account (the monitoring account owns no cluster), each audited.
    let targets = doc["targets"].as_array().unwrap();
    let accounts: Vec<&str> = targets
        .iter()
        .map(|t| t["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, [A, B], "{targets:?}");
    for t in targets {
        assert_eq!(t["status"], "audited", "{t}");
        assert_eq!(t["region"], "us-east-1");
        assert!(t["bytes_scanned"].as_f64().unwrap() > 0.0, "{t}");
    }
    let clusters = |t: &Value| -> Vec<(String, String, u64)> {
        t["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["cluster"].as_str().unwrap().to_owned(),
                    c["log_group"].as_str().unwrap().to_owned(),
                    c["failures"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let g = |c: &str| format!("/aws/eks/{c}/cluster");
    assert_eq!(
        clusters(&targets[0]),
        [("a1".into(), g("a1"), 1), ("shared".into(), g("shared"), 2)]
    );
    assert_eq!(
        clusters(&targets[1]),
        [("b1".into(), g("b1"), 4), ("shared".into(), g("shared"), 3)]
    );
    // Every row's finding is in its own account and cluster, with its own count.
    let expected: BTreeMap<_, _> = CLUSTERS
        .iter()
        .map(|(a, c, d)| ((a.to_string(), c.to_string(), principal(a, c)), *d))
        .collect();
    assert_eq!(denials_found(doc["findings"].as_array().unwrap()), expected);

    // Discovery asked for the linked accounts; every query named its groups by ARN, in
    // logGroupIdentifiers, and never mixed two accounts.
    let calls = seen.lock().unwrap().clone();
    let describe: Vec<Value> = calls
        .iter()
        .filter(|(op, _)| op == "DescribeLogGroups")
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    assert!(!describe.is_empty());
    assert!(
        describe
            .iter()
            .all(|b| b["includeLinkedAccounts"] == json!(true)),
        "{describe:?}"
    );
    let mut queried = Vec::new();
    for (op, body) in calls.iter().filter(|(op, _)| op == "StartQuery") {
        let b: Value = serde_json::from_str(body).unwrap();
        assert!(
            b.get("logGroupNames").is_none() && b.get("logGroupName").is_none(),
            "{op} {b}"
        );
        let ids: Vec<String> = b["logGroupIdentifiers"]
            .as_array()
            .unwrap_or_else(|| panic!("no logGroupIdentifiers: {b}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert!(ids.len() <= 50);
        let account = |arn: &str| arn.split(':').nth(4).unwrap().to_owned();
        assert!(
            ids.iter().all(|i| account(i) == account(&ids[0])),
            "{ids:?}"
        );
        queried.extend(ids);
    }
    queried.sort();
    queried.dedup();
    let mut all: Vec<String> = CLUSTERS.iter().map(|(a, c, _)| group_arn(a, c)).collect();
    all.sort();
    assert_eq!(queried, all);

    // The state keys are per source account and log group name, as with --assume-role.
    let state_doc: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let mut keys: Vec<(String, String, String)> = state_doc["log_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["account"].as_str().unwrap().to_owned(),
                e["region"].as_str().unwrap().to_owned(),
                e["log_group"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    keys.sort();
    let mut want: Vec<_> = CLUSTERS
        .iter()
        .map(|(a, c, _)| (a.to_string(), "us-east-1".to_owned(), g(c)))
        .collect();
    want.sort();
    assert_eq!(keys, want);
}

#[test]
fn monitoring_account_with_accounts_reads_only_those_source_accounts() {
    let (url, seen) = fake_http::serve_json(monitoring_logs());
    let out = run(
        &mut fleet(
            &url,
            &[
                "--monitoring-account",
                MONITORING,
                "--accounts",
                B,
                "--since",
                "3h",
                "--lag",
                "0s",
                "-o",
                "ndjson",
            ],
        ),
        0,
    );
    let findings: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected: BTreeMap<_, _> = CLUSTERS
        .iter()
        .filter(|(a, _, _)| *a == B)
        .map(|(a, c, d)| ((a.to_string(), c.to_string(), principal(a, c)), *d))
        .collect();
    assert_eq!(denials_found(&findings), expected);
    for (op, body) in seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(op, _)| op == "StartQuery")
    {
        assert!(!body.contains(A), "{op} asked for account {A}: {body}");
    }
}

#[test]
fn monitoring_account_conflicts_with_assume_role_and_wants_an_account_id() {
    let (url, _) = fake_http::serve_json(|_, _| (500, None, "{}".to_owned()));
    let out = run(
        &mut fleet(
            &url,
            &[
                "--monitoring-account",
                MONITORING,
                "--accounts",
                A,
                "--assume-role",
                "audit",
            ],
        ),
        2,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--monitoring-account") && err.contains("--assume-role"),
        "{err}"
    );
    let out = run(&mut fleet(&url, &["--monitoring-account", "12345"]), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`12345` is not a 12-digit account id"),
        "{err}"
    );
}
