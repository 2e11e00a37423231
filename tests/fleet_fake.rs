//! `eks-authlog fleet` against a small CloudWatch Logs fake on 127.0.0.1, for what moto cannot
//! answer: `stats` rows (moto returns one `@ptr` row per event), so `--strategy aggregate`
//! can be checked against `--strategy events` over the same lines; and the lock on the state
//! file, which a second run must find taken before it asks AWS anything.
#![cfg(all(feature = "cloudwatch", unix))]

mod fake_http;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

const ACCOUNT: &str = "111122223333";
const CI: &str = "arn:aws:iam::111122223333:role/ci";
const SSO: &str = "arn:aws:iam::111122223333:role/AWSReservedSSO_Dev_0123456789abcdef";
const OPS: &str = "arn:aws:iam::111122223333:role/ops";
const EXPIRED: &str = "input token was not properly formatted: X-Amz-Date parameter is expired (15 minute expiration) 2026-01-15 09:10:02 +0000 UTC";

static QUERIES: AtomicU64 = AtomicU64::new(0);

/// An hour ago, in whole seconds: inside the tests' 3-hour window.
fn base_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now - 3_600_000) / 1000 * 1000
}

fn log(cluster: &str) -> String {
    format!("{ACCOUNT}:/aws/eks/{cluster}/cluster")
}

/// The lines of the two clusters: (cluster, offset s, denied arn or granted, error).
fn lines() -> Vec<(
    &'static str,
    i64,
    Option<&'static str>,
    Option<&'static str>,
)> {
    vec![
        ("a", 1, Some(CI), Some("ARN is not mapped")),
        ("a", 2, Some(CI), Some("ARN is not mapped")),
        ("a", 3, None, Some(EXPIRED)),
        ("a", 4, Some(CI), Some("ARN is not mapped")),
        ("a", 5, Some(OPS), None),
        ("b", 6, Some(SSO), Some("ARN is not mapped")),
        ("b", 7, Some(SSO), Some("ARN is not mapped")),
    ]
}

fn cells(pairs: &[(&str, String)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(f, v)| json!({"field": f, "value": v}))
            .collect(),
    )
}

/// The `recent` query's rows: every line, as Insights returns them.
fn event_rows() -> Vec<Value> {
    let base = base_ms();
    lines()
        .into_iter()
        .enumerate()
        .map(|(i, (cluster, off, arn, error))| {
            let t = base + off * 1000;
            let time = eks_authlog_core::time::format_ms(t);
            let msg = match (arn, error) {
                (arn, Some(e)) => {
                    let arn = arn.map(|a| format!(r#" arn="{a}""#)).unwrap_or_default();
                    format!(
                        r#"time="{time}" level=warning msg="access denied"{arn} client="127.0.0.1:{i}" error="{e}" method=POST path=/authenticate"#
                    )
                }
                (arn, None) => format!(
                    r#"time="{time}" level=info msg="access granted" arn="{}" client="127.0.0.1:{i}" groups="[]" method=POST path=/authenticate uid="aws-iam-authenticator:{ACCOUNT}:AROAEXAMPLE" username=ops"#,
                    arn.unwrap()
                ),
            };
            cells(&[
                ("@ptr", format!("p{i}")),
                ("@timestamp", t.to_string()),
                ("@message", msg),
                ("@logStream", "authenticator-0123456789abcdef".to_owned()),
                ("@log", log(cluster)),
            ])
        })
        .collect()
}

/// A stats row's group-by key (log group, arn, error) and its (count, first, last).
type StatsGroups<'a> = BTreeMap<(&'a str, Option<&'a str>, Option<&'a str>), (u64, i64, i64)>;

/// What `agg-failures` (denied) or `agg-identities` (granted) count over [`lines`].
fn stats_rows(denied: bool) -> Vec<Value> {
    let base = base_ms();
    let mut groups: StatsGroups = BTreeMap::new();
    for (cluster, off, arn, error) in lines() {
        if error.is_some() != denied {
            continue;
        }
        let t = base + off * 1000;
        let g = groups.entry((cluster, arn, error)).or_insert((0, t, t));
        g.0 += 1;
        g.1 = g.1.min(t);
        g.2 = g.2.max(t);
    }
    groups
        .into_iter()
        .map(|((cluster, arn, error), (hits, first, last))| {
            let mut c = vec![
                ("@log", log(cluster)),
                ("hits", hits.to_string()),
                ("first_ms", first.to_string()),
                ("last_ms", last.to_string()),
            ];
            if let Some(a) = arn {
                c.push(("arn", a.to_owned()));
            }
            match error {
                Some(e) => c.push(("error", e.to_owned())),
                None => c.push(("username", "ops".to_owned())),
            }
            cells(&c)
        })
        .collect()
}

/// CloudWatch Logs for two clusters of one account: DescribeLogGroups, StartQuery (the
/// query's kind goes into its id), GetQueryResults with the rows of that kind.
fn logs(op: &str, body: &str) -> fake_http::Answer {
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match op {
        "DescribeLogGroups" => {
            let groups: Vec<Value> = ["a", "b"]
                .iter()
                .map(|c| {
                    let name = format!("/aws/eks/{c}/cluster");
                    json!({
                        "logGroupName": name,
                        "arn": format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}:*"),
                        "logGroupArn": format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}"),
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
            } else if q.contains("stats") && q.contains("access denied") {
                "denied"
            } else if q.contains("stats") {
                "granted"
            } else {
                "events"
            };
            let n = QUERIES.fetch_add(1, Ordering::Relaxed);
            (
                200,
                None,
                json!({"queryId": format!("{kind}-{n}")}).to_string(),
            )
        }
        "GetQueryResults" => {
            let id = body["queryId"].as_str().unwrap_or("");
            let rows = match id.split('-').next().unwrap_or("") {
                "estimate" => vec![cells(&[("estimatedBytes", "1000".to_owned())])],
                "denied" => stats_rows(true),
                "granted" => stats_rows(false),
                _ => event_rows(),
            };
            let reply = json!({
                "status": "Complete",
                "results": rows,
                "statistics": {"recordsMatched": 7.0, "recordsScanned": 20.0, "bytesScanned": 2000.0},
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

fn fleet(url: &str, args: &[&str]) -> Command {
    fake_http::fleet_command(url, args)
}

/// (cluster, kind, principal) → (id, count) of the failure findings.
type Found = BTreeMap<(String, String, String), (String, u64)>;

fn run_json(url: &str, strategy: &str) -> (Value, Found) {
    let out = fleet(
        url,
        &[
            "--since",
            "3h",
            "--lag",
            "0s",
            "-o",
            "json",
            "--strategy",
            strategy,
        ],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{strategy}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found = Found::new();
    for f in doc["findings"].as_array().unwrap() {
        let s = |k: &str| f[k].as_str().unwrap_or("-").to_owned();
        let key = (s("cluster"), s("kind"), s("principal"));
        let prev = found.insert(key, (s("id"), f["count"].as_u64().unwrap()));
        assert!(prev.is_none(), "{strategy}: one finding per key: {f}");
    }
    (doc, found)
}

#[test]
fn aggregate_gives_the_findings_and_ids_of_events() {
    let (url, _) = fake_http::serve_json(logs);
    let (events_doc, events) = run_json(&url, "events");
    let (agg_doc, agg) = run_json(&url, "aggregate");
    let key = |c: &str, k: &str, p: &str| (c.to_owned(), k.to_owned(), p.to_owned());
    assert_eq!(events[&key("a", "identity_not_mapped", CI)].1, 3);
    assert_eq!(events[&key("a", "token_expired", "-")].1, 1);
    assert_eq!(events[&key("b", "sso_role_not_mapped", SSO)].1, 2);
    assert_eq!(events.len(), 3, "{events:?}");
    // The same findings, counts and stable ids, whichever strategy read the window.
    assert_eq!(agg, events);
    for (doc, strategy, lines) in [
        (&events_doc, "events", [5, 2]),
        (&agg_doc, "aggregate", [5, 2]),
    ] {
        let target = &doc["targets"][0];
        assert_eq!(target["account"], ACCOUNT);
        assert_eq!(target["status"], "audited", "{strategy}: {target}");
        let clusters = target["clusters"].as_array().unwrap();
        assert_eq!(clusters.len(), 2);
        for (c, n) in clusters.iter().zip(lines) {
            assert_eq!(c["strategy"], strategy, "{c}");
            assert_eq!(c["lines"], n, "{strategy}: {c}");
        }
    }
    // Aggregate rows are counted in the window's lines; each cluster's failures add up.
    assert_eq!(agg_doc["targets"][0]["clusters"][0]["failures"], 4);
}

#[test]
fn a_second_run_on_one_state_file_fails_at_once_naming_it() {
    let (url, seen) = fake_http::serve_json(logs);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("fleet.json");
    // The first run's lock, held as `fleet` holds it (an exclusive lock on FILE.lock).
    let held = eks_authlog_core::fleet::state::lock(&state).unwrap();
    let out = fleet(
        &url,
        &[
            "--since",
            "3h",
            "-o",
            "json",
            "--state",
            state.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&*state.to_string_lossy())
            && stderr.contains("another eks-authlog fleet run holds it"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert!(seen.lock().unwrap().is_empty(), "nothing asked of AWS");
    assert!(!state.exists(), "the state is not touched");
    // Once the first run ends, the next one runs and writes the state.
    drop(held);
    let out = fleet(
        &url,
        &[
            "--since",
            "3h",
            "--lag",
            "0s",
            "-o",
            "json",
            "--state",
            state.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(state.exists());
}
