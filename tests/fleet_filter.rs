//! `fleet --reader`: the FilterLogEvents reader against a 127.0.0.1 fake of CloudWatch Logs
//! that does what moto does not: it honours `logStreamNamePrefix`, pages (a few events per
//! page, as a real 1 MB page may be partial), throttles a page once, and answers Logs
//! Insights' `| estimate` with the bytes the group's window holds, every stream included.
//!
//! The fake bills as Insights does: a query scans every stream of its groups in the window
//! (the audit streams hold `audit_bytes` more than the few lines it keeps), and reports
//! that in `statistics.bytesScanned`.
#![cfg(all(feature = "cloudwatch", unix))]

mod fake_http;

use std::collections::HashMap;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};

const PREFIX: &str = "authenticator-";

struct Group {
    name: String,
    stored_bytes: i64,
    /// (stream, timestamp ms, message), in time order.
    events: Vec<(String, i64, String)>,
    /// Audit bytes the group holds besides its events (not materialised), spread evenly
    /// over `audit_span` (epoch ms): a query scans the part its window covers.
    audit_bytes: u64,
    audit_span: (i64, i64),
}

impl Group {
    /// The audit bytes in `[from, to]` (ms).
    fn audit_in(&self, from: i64, to: i64) -> u64 {
        let (s, e) = self.audit_span;
        let overlap = (to.min(e) - from.max(s)).max(0) as f64;
        (self.audit_bytes as f64 * overlap / (e - s) as f64) as u64
    }
}

#[derive(Default)]
struct Seen {
    /// (operation, request body) of every request.
    requests: Vec<(String, Value)>,
    /// Query id → GetQueryResults answer.
    queries: HashMap<String, Value>,
    /// Tokens already throttled once.
    throttled: Vec<String>,
}

struct Fake {
    groups: Vec<Group>,
    /// Events per FilterLogEvents page (also capped at 1 MB, as AWS pages are).
    page: usize,
    /// Throttle the first request of the page with this token, once.
    throttle_token: Option<String>,
    seen: Mutex<Seen>,
}

fn ok(v: Value) -> fake_http::Answer {
    (200, None, v.to_string())
}

impl Fake {
    fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    fn answer(&self, r: &fake_http::Request) -> fake_http::Answer {
        let op = r.target.rsplit('.').next().unwrap_or("").to_owned();
        let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        let mut seen = self.seen.lock().unwrap();
        seen.requests.push((op.clone(), body.clone()));
        match op.as_str() {
            "DescribeLogGroups" => {
                let prefix = body["logGroupNamePrefix"].as_str().unwrap_or("");
                let groups: Vec<Value> = self
                    .groups
                    .iter()
                    .filter(|g| g.name.starts_with(prefix))
                    .map(|g| {
                        json!({
                            "logGroupName": g.name,
                            "arn": format!("arn:aws:logs:us-east-1:111122223333:log-group:{}:*", g.name),
                            "logGroupArn": format!("arn:aws:logs:us-east-1:111122223333:log-group:{}", g.name),
                            "storedBytes": g.stored_bytes,
                            "creationTime": 0,
                        })
                    })
                    .collect();
                ok(json!({ "logGroups": groups }))
            }
            "StartQuery" => {
                let names: Vec<String> = match body["logGroupName"].as_str() {
                    Some(n) => vec![n.to_owned()],
                    None => body["logGroupNames"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_owned())
                        .collect(),
                };
                // Insights windows: epoch seconds, both ends inclusive.
                let from = body["startTime"].as_i64().unwrap() * 1000;
                let to = body["endTime"].as_i64().unwrap() * 1000 + 999;
                let mut rows = Vec::new();
                let mut scanned = 0u64;
                let mut scanned_records = 0u64;
                for n in &names {
                    let g = self.group(n).unwrap();
                    scanned += g.audit_in(from, to);
                    for (i, (stream, ts, msg)) in g.events.iter().enumerate() {
                        if *ts < from || *ts > to {
                            continue;
                        }
                        scanned += msg.len() as u64;
                        scanned_records += 1;
                        if stream.starts_with(PREFIX) {
                            rows.push(json!([
                                {"field": "@ptr", "value": format!("{n}#{i}")},
                                {"field": "@timestamp", "value": ts.to_string()},
                                {"field": "@message", "value": msg},
                                {"field": "@logStream", "value": stream},
                                {"field": "@log", "value": format!("111122223333:{n}")},
                            ]));
                        }
                    }
                }
                let query = body["queryString"].as_str().unwrap();
                let results = if query.contains("| estimate") {
                    json!([[{"field": "estimatedBytes", "value": scanned.to_string()}]])
                } else {
                    Value::Array(rows.clone())
                };
                let id = format!("q{}", seen.queries.len());
                seen.queries.insert(
                    id.clone(),
                    json!({
                        "status": "Complete",
                        "results": results,
                        "statistics": {
                            "recordsMatched": rows.len(),
                            "recordsScanned": scanned_records,
                            "bytesScanned": if query.contains("| estimate") { 0 } else { scanned },
                        },
                    }),
                );
                ok(json!({ "queryId": id }))
            }
            "GetQueryResults" => {
                let id = body["queryId"].as_str().unwrap();
                ok(seen.queries[id].clone())
            }
            "StopQuery" => ok(json!({"success": true})),
            "FilterLogEvents" => {
                let token = body["nextToken"].as_str().map(str::to_owned);
                if let (Some(t), Some(bad)) = (&token, &self.throttle_token)
                    && t == bad
                    && !seen.throttled.contains(t)
                {
                    seen.throttled.push(t.clone());
                    return (
                        400,
                        Some("ThrottlingException"),
                        json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
                            .to_string(),
                    );
                }
                let g = self.group(body["logGroupName"].as_str().unwrap()).unwrap();
                let prefix = body["logStreamNamePrefix"].as_str().unwrap_or("");
                // FilterLogEvents: startTime and endTime in ms, both inclusive.
                let from = body["startTime"].as_i64().unwrap_or(i64::MIN);
                let to = body["endTime"].as_i64().unwrap_or(i64::MAX);
                let matching: Vec<(usize, &(String, i64, String))> = g
                    .events
                    .iter()
                    .enumerate()
                    .filter(|(_, (s, ts, _))| s.starts_with(prefix) && *ts >= from && *ts <= to)
                    .collect();
                let offset: usize = token
                    .as_deref()
                    .map_or(0, |t| t.trim_start_matches("tok-").parse().unwrap());
                let mut events = Vec::new();
                let mut bytes = 0;
                let mut next = offset;
                for (i, (s, ts, msg)) in matching.iter().skip(offset) {
                    if events.len() == self.page || bytes + msg.len() > 1_000_000 {
                        break;
                    }
                    bytes += msg.len();
                    next += 1;
                    events.push(json!({
                        "logStreamName": s, "timestamp": ts, "message": msg,
                        "ingestionTime": ts + 1000, "eventId": format!("e{i}"),
                    }));
                }
                let mut page = json!({ "events": events, "searchedLogStreams": [] });
                if next < matching.len() {
                    page["nextToken"] = json!(format!("tok-{next}"));
                }
                ok(page)
            }
            other => (
                400,
                Some("UnknownOperationException"),
                json!({"message": format!("fake: {other}")}).to_string(),
            ),
        }
    }

    /// (operation, body) of the requests made so far.
    fn requests(&self, op: &str) -> Vec<Value> {
        let seen = self.seen.lock().unwrap();
        seen.requests
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, b)| b.clone())
            .collect()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn logfmt_time(ms: i64) -> String {
    eks_authlog_core::time::format_ms(ms / 1000 * 1000)
}

/// A cluster's authenticator lines: `denials` "not mapped" denials of `arn`, an expired
/// token, a grant; plus an audit-stream line (never analysed) and a denial before the
/// window, all from `t0` on.
fn cluster_events(arn: &str, denials: usize, t0: i64, before: i64) -> Vec<(String, i64, String)> {
    let auth = "authenticator-0123456789abcdef".to_owned();
    let mut v = vec![(
        auth.clone(),
        before,
        format!(
            r#"time="{}" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/too-old" client="127.0.0.1:1" error="ARN is not mapped" method=POST path=/authenticate"#,
            logfmt_time(before)
        ),
    )];
    let mut t = t0;
    for _ in 0..denials {
        t += 1000;
        v.push((auth.clone(), t, format!(r#"time="{}" level=warning msg="access denied" arn="{arn}" client="127.0.0.1:2" error="ARN is not mapped" method=POST path=/authenticate"#, logfmt_time(t))));
    }
    t += 1000;
    v.push((
        "kube-apiserver-audit-0123456789abcdef".to_owned(),
        t,
        r#"{"kind":"Event","msg":"access denied username=kubernetes-admin"}"#.to_owned(),
    ));
    t += 1000;
    v.push((auth.clone(), t, format!(r#"time="{}" level=warning msg="access denied" client="127.0.0.1:3" error="input token was not properly formatted: X-Amz-Date parameter is expired (15 minute expiration) 2026-01-15 09:10:02 +0000 UTC" method=POST path=/authenticate"#, logfmt_time(t))));
    t += 1000;
    v.push((auth, t, format!(r#"time="{}" level=info msg="access granted" arn="arn:aws:iam::111122223333:role/ops" client="127.0.0.1:4" groups="[]" method=POST path=/authenticate uid="aws-iam-authenticator:111122223333:AROAEXAMPLE" username=ops"#, logfmt_time(t))));
    v
}

/// Two clusters: `big` (about 3.4 GB of audit logs in the window) and `small`.
fn two_clusters(page: usize, throttle: Option<&str>) -> (Arc<Fake>, String, [String; 2]) {
    let now = now_ms();
    let before = now - 4 * 3_600_000;
    let fake = Arc::new(Fake {
        groups: vec![
            Group {
                name: "/aws/eks/big/cluster".into(),
                stored_bytes: 5_000_000_000,
                events: cluster_events(
                    "arn:aws:iam::111122223333:role/big-dev",
                    5,
                    now - 3_600_000,
                    before,
                ),
                audit_bytes: 4_000_000_000,
                audit_span: (now - 3_600_000 * 7 / 2, now),
            },
            Group {
                name: "/aws/eks/small/cluster".into(),
                stored_bytes: 1_000_000,
                events: cluster_events(
                    "arn:aws:iam::111122223333:role/small-dev",
                    1,
                    now - 1_800_000,
                    before,
                ),
                audit_bytes: 1_000,
                audit_span: (now - 3_600_000 * 7 / 2, now),
            },
        ],
        page,
        throttle_token: throttle.map(str::to_owned),
        seen: Mutex::default(),
    });
    let f = fake.clone();
    let (url, _) = fake_http::serve_with(Arc::new(move |r: &fake_http::Request| f.answer(r)));
    // One window for every run of a test: the findings (their windows included) compare.
    let window = [logfmt_time(now - 3 * 3_600_000), logfmt_time(now - 60_000)];
    (fake, url, window)
}

fn fleet(url: &str, window: &[String; 2], args: &[&str]) -> Command {
    let fixed = ["--region", "us-east-1", "-o", "json", "--quiet", "--since"];
    let fixed = fixed
        .iter()
        .copied()
        .chain([window[0].as_str(), "--until", &window[1]]);
    let all: Vec<&str> = fixed.chain(args.iter().copied()).collect();
    let mut c = fake_http::fleet_command(url, &all);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run(cmd: &mut Command, code: i32) -> (Value, Output) {
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (doc, out)
}

fn cluster<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["targets"][0]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == name)
        .unwrap_or_else(|| panic!("no cluster {name}: {doc}"))
}

/// The findings, by id.
fn findings(doc: &Value) -> Vec<Value> {
    let mut f = doc["findings"].as_array().unwrap().clone();
    f.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    f
}

/// Authenticator lines of `g` in the window, and their bytes.
fn authenticator(fake: &Fake, g: &str, window: &[String; 2]) -> (u64, u64) {
    let ms = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .timestamp_millis()
    };
    let (from, to) = (ms(&window[0]), ms(&window[1]));
    let g = fake.group(g).unwrap();
    let lines: Vec<&String> = g
        .events
        .iter()
        .filter(|(s, ts, _)| s.starts_with(PREFIX) && *ts >= from && *ts < to)
        .map(|(_, _, m)| m)
        .collect();
    (
        lines.len() as u64,
        lines.iter().map(|m| m.len() as u64).sum(),
    )
}

#[test]
fn filter_reads_only_authenticator_streams_every_page_and_retries_a_throttle() {
    // Two events per page; the second page of the first group is throttled once.
    let (fake, url, window) = two_clusters(2, Some("tok-2"));
    let (doc, _) = run(&mut fleet(&url, &window, &["--reader", "filter"]), 0);
    // No Insights query at all.
    assert!(fake.requests("StartQuery").is_empty());
    let calls = fake.requests("FilterLogEvents");
    for body in &calls {
        assert_eq!(body["logStreamNamePrefix"], PREFIX, "{body}");
        // The half-open window: endTime is inclusive in the API, so one ms before the end.
        let end = chrono::DateTime::parse_from_rfc3339(&window[1])
            .unwrap()
            .timestamp_millis();
        assert_eq!(body["endTime"].as_i64(), Some(end - 1), "{body}");
    }
    // big: 7 authenticator events in the window (5 denials, the token, the grant) → 4
    // pages of 2; small: 3 → 2 pages. The denial before the window is never returned.
    let t = &doc["targets"][0];
    for (name, group) in [
        ("big", "/aws/eks/big/cluster"),
        ("small", "/aws/eks/small/cluster"),
    ] {
        let c = cluster(&doc, name);
        let (lines, bytes) = authenticator(&fake, group, &window);
        assert_eq!(c["reader"], "filter", "{c}");
        assert_eq!(c["lines"], lines, "{c}");
        assert_eq!(c["bytes_read"], bytes, "only authenticator bytes: {c}");
        assert_eq!(c["outside_window"], 0, "{c}");
        assert!(c.get("other_streams").is_none(), "{c}");
    }
    let pages = |lines: u64| lines.div_ceil(2);
    let (big, _) = authenticator(&fake, "/aws/eks/big/cluster", &window);
    let (small, _) = authenticator(&fake, "/aws/eks/small/cluster", &window);
    // Every page, plus the throttled request once more.
    let expected = pages(big) + pages(small) + 1;
    assert_eq!(calls.len() as u64, expected);
    assert_eq!(t["api_calls"]["filter_log_events"], expected, "{t}");
    assert_eq!(t["api_calls"]["start_query"], 0, "{t}");
    assert_eq!(t["bytes_scanned"], 0.0);
    assert_eq!(doc["totals"]["clusters_filter"], 2);
    // Every finding: 5 + 1 denials, one expired token each, nothing from before the window.
    let f = findings(&doc);
    let count = |kind: &str, who: &str| {
        f.iter()
            .filter(|f| f["kind"] == kind && f["principal"].as_str().unwrap_or("-") == who)
            .map(|f| f["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        count(
            "identity_not_mapped",
            "arn:aws:iam::111122223333:role/big-dev"
        ),
        5
    );
    assert_eq!(
        count(
            "identity_not_mapped",
            "arn:aws:iam::111122223333:role/small-dev"
        ),
        1
    );
    assert_eq!(
        count(
            "identity_not_mapped",
            "arn:aws:iam::111122223333:role/too-old"
        ),
        0
    );
    assert_eq!(count("token_expired", "-"), 2);
}

#[test]
fn filter_and_insights_give_the_same_findings() {
    let (fake, url, window) = two_clusters(3, None);
    let (by_filter, _) = run(
        &mut fleet(&url, &window, &["--reader", "filter", "--yes"]),
        0,
    );
    let (by_insights, _) = run(
        &mut fleet(&url, &window, &["--reader", "insights", "--yes"]),
        0,
    );
    assert!(!fake.requests("StartQuery").is_empty());
    assert_eq!(findings(&by_filter), findings(&by_insights));
    assert!(!findings(&by_filter).is_empty());
    for name in ["big", "small"] {
        let (f, i) = (cluster(&by_filter, name), cluster(&by_insights, name));
        assert_eq!(
            (f["reader"].as_str(), i["reader"].as_str()),
            (Some("filter"), Some("insights"))
        );
        for k in ["lines", "failures", "findings", "window", "bytes_read"] {
            assert_eq!(f[k], i[k], "{name} {k}");
        }
    }
    // What each cost: Insights scanned the audit bytes too, FilterLogEvents nothing.
    let scanned = by_insights["targets"][0]["bytes_scanned"].as_f64().unwrap();
    assert!(scanned > 3e9, "{scanned}");
    assert_eq!(by_filter["targets"][0]["bytes_scanned"].as_f64(), Some(0.0));
}

#[test]
fn auto_picks_each_reader_from_the_estimate() {
    let (fake, url, window) = two_clusters(10, None);
    // 1 GB threshold: big's share of the 3.4 GB estimate is above it, small's far below.
    let (doc, _) = run(&mut fleet(&url, &window, &[]), 0);
    let (big, small) = (cluster(&doc, "big"), cluster(&doc, "small"));
    assert_eq!(big["reader"], "filter", "{big}");
    assert_eq!(small["reader"], "insights", "{small}");
    assert!(big["estimated_bytes"].as_f64().unwrap() > 1e9, "{big}");
    assert!(small["estimated_bytes"].as_f64().unwrap() < 1e9, "{small}");
    // The estimate named both groups; the query only small; FilterLogEvents only big.
    let starts = fake.requests("StartQuery");
    let names = |b: &Value| -> Vec<String> {
        match b["logGroupName"].as_str() {
            Some(n) => vec![n.to_owned()],
            None => b["logGroupNames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
        }
    };
    let (estimates, queries): (Vec<&Value>, Vec<&Value>) = starts
        .iter()
        .partition(|b| b["queryString"].as_str().unwrap().contains("| estimate"));
    assert_eq!(names(estimates[0]).len(), 2);
    assert_eq!(queries.len(), 1);
    assert_eq!(names(queries[0]), ["/aws/eks/small/cluster"]);
    assert!(
        fake.requests("FilterLogEvents")
            .iter()
            .all(|b| b["logGroupName"] == "/aws/eks/big/cluster")
    );
    // The budget holds only what Insights scans: 1 MB is enough for small's window, far
    // from big's 3.4 GB, and auto needs no more; Insights for both is refused (exit 3).
    run(&mut fleet(&url, &window, &["--max-scan-gb", "0.001"]), 0);
    run(
        &mut fleet(
            &url,
            &window,
            &["--max-scan-gb", "0.001", "--reader", "insights"],
        ),
        3,
    );
    // Above both shares: Insights for both, and the estimate made for the choice is the
    // one the budget admits (one estimate query, one query).
    let before = fake.requests("StartQuery").len();
    let (doc, _) = run(&mut fleet(&url, &window, &["--filter-above-gb", "100"]), 0);
    assert_eq!(cluster(&doc, "big")["reader"], "insights");
    assert_eq!(fake.requests("StartQuery").len() - before, 2);
    assert_eq!(doc["targets"][0]["api_calls"]["start_query"], 2);
}

/// The measurement in BENCHMARKS.md: one cluster with a small authenticator stream (20,000
/// lines, about 5 MB) and a large audit stream (5 GB in the hour), read by each reader.
/// Run with `scripts/test --test fleet_filter -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a test: run it for BENCHMARKS.md"]
fn measure_insights_versus_filter() {
    let now = now_ms();
    let auth = "authenticator-0123456789abcdef".to_owned();
    let mut events = Vec::new();
    for i in 0..20_000i64 {
        let t = now - 3_000_000 + i * 100;
        events.push((auth.clone(), t, format!(r#"time="{}" level=info msg="access granted" arn="arn:aws:iam::111122223333:role/ops-{}" client="127.0.0.1:4" groups="[]" method=POST path=/authenticate uid="aws-iam-authenticator:111122223333:AROAEXAMPLE{:06}" username=ops"#, logfmt_time(t), i % 50, i)));
    }
    let fake = Arc::new(Fake {
        groups: vec![Group {
            name: "/aws/eks/busy/cluster".into(),
            stored_bytes: 150_000_000_000,
            events,
            audit_bytes: 5_000_000_000,
            audit_span: (now - 3_600_000, now),
        }],
        page: 10_000,
        throttle_token: None,
        seen: Mutex::default(),
    });
    let f = fake.clone();
    let (url, _) = fake_http::serve_with(Arc::new(move |r: &fake_http::Request| f.answer(r)));
    let window = [logfmt_time(now - 3_600_000), logfmt_time(now)];
    eprintln!(
        "reader    | estimated    | scanned      | cost     | calls (FLE / StartQuery / GQR) | bytes read | lines | wall"
    );
    for reader in ["insights", "filter", "auto"] {
        let t0 = Instant::now();
        let (doc, _) = run(&mut fleet(&url, &window, &["--reader", reader, "--yes"]), 0);
        let wall = t0.elapsed();
        let t = &doc["targets"][0];
        let c = &t["clusters"][0];
        eprintln!(
            "{reader:9} | {:>9.3} GB | {:>9.3} GB | ${:.4}  | {} / {} / {} | {:.2} MB | {} | {:.2}s",
            t["estimated_bytes"].as_f64().unwrap() / 1e9,
            t["bytes_scanned"].as_f64().unwrap() / 1e9,
            t["cost_usd"].as_f64().unwrap(),
            t["api_calls"]["filter_log_events"].as_u64().unwrap_or(0),
            t["api_calls"]["start_query"],
            t["api_calls"]["get_query_results"],
            c["bytes_read"].as_f64().unwrap() / 1e6,
            c["lines"],
            wall.as_secs_f64()
        );
    }
}
