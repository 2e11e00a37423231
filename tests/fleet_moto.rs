//! `eks-authlog fleet` against moto: three accounts × two regions × 20 clusters, one account
//! whose role cannot be assumed, one region with no log groups, and a run killed half way
//! that the next run completes from the state file with nothing missed or doubled.
//!
//! moto gives each account its own data: STS AssumeRole into `arn:aws:iam::ID:role/…` returns
//! credentials that moto maps to account ID (moto `sts/models.py` `assume_role`: "The ARN can
//! point to another account"). moto assumes any role, so STS goes through a 127.0.0.1 proxy
//! that refuses one account's role (AccessDenied, as STS answers) and can hold another's
//! answer back, and forwards everything else to moto.
#![cfg(all(feature = "cloudwatch", unix))]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{Credentials, ProvideCredentials, Region};
use common::{now_ms, put};
use serde_json::Value;

const A: &str = "111111111111";
const B: &str = "222222222222";
/// Its role cannot be assumed.
const C: &str = "333333333333";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const CLUSTERS: usize = 20;

/// The SDK configuration of moto's default account in `region`.
async fn moto_config(url: &str, region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// Credentials of `account` from moto's STS (AssumeRole into any role of it).
async fn credentials_in(base: &aws_config::SdkConfig, account: &str) -> Credentials {
    aws_config::sts::AssumeRoleProvider::builder(format!("arn:aws:iam::{account}:role/setup"))
        .session_name("setup")
        .configure(base)
        .build()
        .await
        .provide_credentials()
        .await
        .unwrap()
}

/// A CloudWatch Logs client in `account` (assumed through moto's STS) and `region`.
async fn logs_in(url: &str, account: &str, region: &str) -> Client {
    let base = moto_config(url, region).await;
    let creds = credentials_in(&base, account).await;
    let conf = aws_sdk_cloudwatchlogs::config::Builder::from(&base)
        .credentials_provider(creds)
        .build();
    Client::from_conf(conf)
}

fn logfmt_time(ms: i64) -> String {
    eks_authlog_core::time::format_ms(ms / 1000 * 1000)
}

/// `head`, then the window of the tests (the last 3 hours, up to now) and `-o FORMAT`.
fn recent<'a>(head: &[&'a str], format: &'a str) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.extend(["--since", "3h", "--lag", "0s", "-o", format]);
    v
}

/// The principal denied in a cluster: its name says where it was denied, so a finding
/// attributed to the wrong cluster shows.
fn principal(account: &str, region: &str, cluster: usize) -> String {
    format!("arn:aws:iam::{account}:role/{region}-c{cluster:02}")
}

/// Denials of [`principal`] in cluster `i`.
fn denials(i: usize) -> u64 {
    1 + (i % 3) as u64
}

/// Writes 20 clusters into `account`/`region`: per cluster, [`denials`] "not mapped" denials,
/// one expired token, one grant, an audit-stream line (not authenticator), and a denial four
/// hours ago (before every window of the tests).
async fn seed(url: &str, account: &str, region: &str, base_ms: i64) {
    let client = logs_in(url, account, region).await;
    for i in 0..CLUSTERS {
        let group = format!("/aws/eks/c{i:02}/cluster");
        let arn = principal(account, region, i);
        let mut lines = Vec::new();
        let mut t = base_ms + i as i64 * 1000;
        let old = now_ms() - 4 * 3_600_000;
        lines.push((old, format!(r#"time="{}" level=warning msg="access denied" arn="arn:aws:iam::{account}:role/too-old" client="127.0.0.1:1" error="ARN is not mapped" method=POST path=/authenticate"#, logfmt_time(old))));
        for _ in 0..denials(i) {
            t += 1000;
            lines.push((t, format!(r#"time="{}" level=warning msg="access denied" arn="{arn}" client="127.0.0.1:2" error="ARN is not mapped" method=POST path=/authenticate"#, logfmt_time(t))));
        }
        t += 1000;
        lines.push((t, format!(r#"time="{}" level=warning msg="access denied" client="127.0.0.1:3" error="input token was not properly formatted: X-Amz-Date parameter is expired (15 minute expiration) 2026-01-15 09:10:02 +0000 UTC" method=POST path=/authenticate"#, logfmt_time(t))));
        t += 1000;
        lines.push((t, format!(r#"time="{}" level=info msg="access granted" arn="arn:aws:iam::{account}:role/ops" client="127.0.0.1:4" groups="[]" method=POST path=/authenticate uid="aws-iam-authenticator:{account}:AROAEXAMPLE" username=ops"#, logfmt_time(t))));
        put(&client, &group, "authenticator-0123456789abcdef", &lines).await;
        put(
            &client,
            &group,
            "kube-apiserver-audit-0123456789abcdef",
            &[(
                t,
                r#"{"kind":"Event","msg":"access denied username=kubernetes-admin"}"#.to_owned(),
            )],
        )
        .await;
    }
}

/// STS on 127.0.0.1: AssumeRole into `deny`'s roles is refused, into `hold`'s waits until
/// released; everything else goes to moto. Counts AssumeRole calls.
struct Sts {
    url: String,
    calls: Arc<AtomicU64>,
    hold: Arc<(Mutex<bool>, Condvar)>,
}

impl Sts {
    fn start(moto: &str, deny: &'static str, hold: Option<&'static str>) -> Sts {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let moto = moto.strip_prefix("http://").unwrap().to_owned();
        let calls = Arc::new(AtomicU64::new(0));
        let gate = Arc::new((Mutex::new(hold.is_some()), Condvar::new()));
        let (c, g) = (calls.clone(), gate.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (moto, c, g) = (moto.clone(), c.clone(), g.clone());
                thread::spawn(move || proxy(conn, &moto, deny, hold, &c, &g));
            }
        });
        Sts {
            url,
            calls,
            hold: gate,
        }
    }

    fn release(&self) {
        *self.hold.0.lock().unwrap() = false;
        self.hold.1.notify_all();
    }
}

/// Reads one request: head lines and body.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<(Vec<String>, Vec<u8>)> {
    let mut head = Vec::new();
    let mut len = 0;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
        head.push(line);
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some((head, body))
}

fn proxy(
    conn: TcpStream,
    moto: &str,
    deny: &str,
    hold: Option<&str>,
    calls: &AtomicU64,
    gate: &(Mutex<bool>, Condvar),
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    while let Some((head, body)) = read_request(&mut reader) {
        let text = String::from_utf8_lossy(&body).into_owned();
        if text.contains("Action=AssumeRole") {
            calls.fetch_add(1, Ordering::Relaxed);
        }
        if hold.is_some_and(|h| text.contains(h)) {
            let mut held = gate.0.lock().unwrap();
            while *held {
                held = gate.1.wait(held).unwrap();
            }
        }
        let answer = if text.contains(deny) {
            let xml = format!(
                r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{deny}:role/auditor</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"#
            );
            format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
                xml.len()
            )
            .into_bytes()
        } else {
            forward(moto, &head, &body)
        };
        if conn.write_all(&answer).is_err() {
            return;
        }
    }
}

/// Sends the request to moto on a fresh connection and returns its answer with an exact
/// `Content-Length`, for the kept-alive client connection.
fn forward(moto: &str, head: &[String], body: &[u8]) -> Vec<u8> {
    let mut up = TcpStream::connect(moto).unwrap();
    let mut req = String::new();
    for h in head {
        let lower = h.to_ascii_lowercase();
        if !lower.starts_with("connection:") {
            req.push_str(h);
            req.push_str("\r\n");
        }
    }
    req.push_str("Connection: close\r\n\r\n");
    up.write_all(req.as_bytes()).unwrap();
    up.write_all(body).unwrap();
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let (head, rest) = (
        String::from_utf8_lossy(&answer[..split]),
        &answer[split + 4..],
    );
    let mut out = String::new();
    for h in head.split("\r\n") {
        let lower = h.to_ascii_lowercase();
        if !lower.starts_with("connection:") && !lower.starts_with("content-length:") {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", rest.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(rest);
    bytes
}

/// The binary with moto for CloudWatch Logs and the proxy for STS.
fn fleet(moto: &str, sts: &str, args: &[&str]) -> Command {
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
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", moto)
        .env("AWS_ENDPOINT_URL_STS", sts)
        .env("AWS_ENDPOINT_URL_ORGANIZATIONS", moto)
        .env("AWS_ENDPOINT_URL_ACCOUNT", moto)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Drains a child's pipe on a thread (a full pipe would stop the child mid-write).
fn drain(pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let mut pipe = pipe;
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Waits for `child` at most `limit` (then kills it and fails), reading its output meanwhile.
fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let t0 = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if t0.elapsed() > limit {
            child.kill().unwrap();
            let _ = child.wait();
            panic!(
                "still running after {limit:?}: {}",
                String::from_utf8_lossy(&err.join().unwrap())
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn run(cmd: &mut Command, code: i32) -> Output {
    let out = wait_bounded(cmd.spawn().unwrap(), Duration::from_secs(300));
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ndjson(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (account, region, cluster, kind, principal) → count, over findings of failure classes.
type Counts = BTreeMap<(String, String, String, String, String), u64>;

fn counts(findings: &[Value]) -> Counts {
    let mut c = Counts::new();
    for f in findings.iter().filter(|f| f["kind"] != "target_skipped") {
        let s = |k: &str| f[k].as_str().unwrap_or("-").to_owned();
        let key = (
            s("account"),
            s("region"),
            s("cluster"),
            s("kind"),
            s("principal"),
        );
        *c.entry(key).or_default() += f["count"].as_u64().unwrap();
    }
    c
}

/// What every audited cluster of `targets` must report.
fn expected(targets: &[(&str, &str)]) -> Counts {
    let mut c = Counts::new();
    for (account, region) in targets {
        for i in 0..CLUSTERS {
            let cluster = format!("c{i:02}");
            let at = |kind: &str, who: String| {
                (
                    (*account).to_owned(),
                    (*region).to_owned(),
                    cluster.clone(),
                    kind.to_owned(),
                    who,
                )
            };
            c.insert(
                at("identity_not_mapped", principal(account, region, i)),
                denials(i),
            );
            c.insert(at("token_expired", "-".to_owned()), 1);
        }
    }
    c
}

fn state_entries(path: &std::path::Path) -> Vec<Value> {
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(doc["schema"], "eks-authlog.fleet-state/v1");
    doc["log_groups"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn fleet_audits_accounts_regions_and_clusters() {
    let Some(_moto) = common::moto().await else {
        return;
    };
    let url = common::moto_url().unwrap();
    let base = now_ms() - 3_600_000;
    seed(&url, A, REGIONS[0], base).await;
    seed(&url, A, REGIONS[1], base).await;
    seed(&url, B, REGIONS[0], base).await;
    // B has no log groups in eu-west-1; C has clusters, but its role cannot be assumed.
    seed(&url, C, REGIONS[0], base).await;
    let sts = Sts::start(&url, C, None);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let args = [
        "--accounts",
        "111111111111,222222222222,333333333333",
        "--assume-role",
        "auditor",
        "--region",
        "us-east-1,eu-west-1",
        "--since",
        "3h",
        "--lag",
        "0s",
        "--state",
        state.to_str().unwrap(),
        "-o",
        "json",
    ];
    let t0 = Instant::now();
    let out = run(&mut fleet(&url, &sts.url, &args), 4);
    let wall = t0.elapsed();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "eks-authlog.fleet/v1");
    let targets = doc["targets"].as_array().unwrap();
    let summary: Vec<(String, String, String, usize)> = targets
        .iter()
        .map(|t| {
            (
                t["account"].as_str().unwrap().to_owned(),
                t["region"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
                t["clusters"].as_array().unwrap().len(),
            )
        })
        .collect();
    let row = |a: &str, r: &str, s: &str, n| (a.to_owned(), r.to_owned(), s.to_owned(), n);
    assert_eq!(
        summary,
        [
            row(A, "us-east-1", "audited", 20),
            row(A, "eu-west-1", "audited", 20),
            row(B, "us-east-1", "audited", 20),
            row(B, "eu-west-1", "audited", 0),
            row(C, "us-east-1", "skipped", 0),
            row(C, "eu-west-1", "skipped", 0),
        ]
    );
    for t in &targets[4..] {
        let reason = t["reason"].as_str().unwrap();
        assert!(
            reason.contains("arn:aws:iam::333333333333:role/auditor")
                && reason.contains("AccessDenied"),
            "{reason}"
        );
    }
    // Every cluster's findings, attributed to the right cluster, nothing from before the
    // window, nothing from C.
    let findings = doc["findings"].as_array().unwrap();
    let audited = [(A, REGIONS[0]), (A, REGIONS[1]), (B, REGIONS[0])];
    assert_eq!(counts(findings), expected(&audited));
    let skipped: Vec<&Value> = findings
        .iter()
        .filter(|f| f["kind"] == "target_skipped")
        .collect();
    assert_eq!(skipped.len(), 2);
    assert!(
        skipped
            .iter()
            .all(|f| f["account"] == C && f["severity"] == "high")
    );
    for f in findings {
        assert_eq!(f["schema"], "eks-authlog.finding/v1");
    }
    let f = findings
        .iter()
        .find(|f| f["principal"] == principal(A, "eu-west-1", 7).as_str())
        .unwrap();
    assert_eq!(f["cluster"], "c07");
    assert_eq!(f["severity"], "medium");
    assert!(
        f["remedy"]["commands"]
            .to_string()
            .contains("--cluster-name c07")
    );
    assert!(f["first_seen"].as_str().unwrap() <= f["last_seen"].as_str().unwrap());
    // Ids: unique in the run.
    let ids: BTreeSet<&str> = findings.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), findings.len());
    // The cost and the calls it took: per region one `| estimate` query and one query over
    // its 20 log groups; one AssumeRole per account, counted by the proxy too. moto answers
    // the estimate with ordinary rows, so each group's stored bytes stand in for it (one
    // DescribeLogGroups each), never a silent zero.
    let totals = &doc["totals"];
    assert_eq!(totals["sts_assume_role"], 3);
    assert_eq!(sts.calls.load(Ordering::Relaxed), 3);
    for t in &targets[..3] {
        assert_eq!(t["api_calls"]["start_query"], 2, "{t}");
        assert_eq!(t["api_calls"]["describe_log_groups"], 20, "{t}");
        assert_eq!(
            t["estimated_bytes"].as_f64(),
            t["stored_bytes"].as_f64(),
            "{t}"
        );
        assert!(t["estimated_bytes"].as_f64().unwrap() > 0.0, "{t}");
        for c in t["clusters"].as_array().unwrap() {
            let i: usize = c["cluster"].as_str().unwrap()[1..].parse().unwrap();
            // The denials, the expired token and the grant; not the audit line, not the old one.
            assert_eq!(c["lines"], denials(i) + 2, "{c}");
            assert_eq!(c["outside_window"], 0);
        }
    }
    eprintln!(
        "fleet over moto: {} targets, {} clusters, {} findings, {} API calls, {} bytes estimated, {:?}",
        totals["targets"],
        totals["clusters"],
        totals["findings"],
        totals["api_calls"],
        totals["estimated_bytes"],
        wall
    );
    // The state has every audited log group, none of C's, each ending at the run's end.
    let entries = state_entries(&state);
    assert_eq!(entries.len(), 60);
    assert!(entries.iter().all(|e| e["account"] != C));
    let end = doc["end"].as_str().unwrap();
    assert!(entries.iter().all(|e| e["end"] == end));

    // The same run as NDJSON, from scratch: the same findings with the same ids.
    let nd = ndjson(&run(fleet(&url, &sts.url, &args[..10]).args(["-o", "ndjson"]), 4).stdout);
    let again: BTreeSet<&str> = nd.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(again, ids);

    // --fail-on: one account, nothing skipped.
    let one = [
        "--accounts",
        A,
        "--assume-role",
        "auditor",
        "--region",
        "us-east-1",
        "--since",
        "3h",
        "--lag",
        "0s",
        "-o",
        "ndjson",
        "--quiet",
    ];
    run(
        fleet(&url, &sts.url, &one).args(["--fail-on", "identity_not_mapped"]),
        1,
    );
    run(fleet(&url, &sts.url, &one).args(["--fail-on", "high"]), 0);
    run(fleet(&url, &sts.url, &one).args(["--fail-on", "token"]), 1);

    // One budget for the whole run: 10 kB is less than one region's estimate, so nothing is
    // scanned and the exit code says over budget; --yes lifts it.
    let out = run(
        fleet(&url, &sts.url, &one).args(["--max-scan-gb", "0.00001"]),
        3,
    );
    let skipped = ndjson(&out.stdout);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0]["kind"], "target_skipped");
    assert!(
        skipped[0]["message"]
            .as_str()
            .unwrap()
            .contains("scan budget"),
        "{skipped:?}"
    );
    run(fleet(&url, &sts.url, &one).args(["--yes"]), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_run_resumes_from_the_state_without_gap_or_overlap() {
    let Some(_moto) = common::moto().await else {
        return;
    };
    let url = common::moto_url().unwrap();
    let base = now_ms() - 3_600_000;
    seed(&url, A, REGIONS[0], base).await;
    seed(&url, A, REGIONS[1], base).await;
    seed(&url, B, REGIONS[0], base).await;
    // B's credentials do not come until released: the run is killed while it waits.
    let sts = Sts::start(&url, C, Some(B));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let args = [
        "--accounts",
        "111111111111,222222222222",
        "--assume-role",
        "auditor",
        "--region",
        "us-east-1,eu-west-1",
        "--since",
        "3h",
        "--lag",
        "0s",
        "--state",
        state.to_str().unwrap(),
    ];
    let mut first = fleet(&url, &sts.url, &args)
        .args(["-o", "ndjson"])
        .spawn()
        .unwrap();
    let first_out = drain(first.stdout.take().unwrap());
    let first_err = drain(first.stderr.take().unwrap());
    let t0 = Instant::now();
    // A's two regions complete (40 log groups in the state), B is still waiting for STS.
    while !state.exists() || state_entries(&state).len() < 40 {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended on its own"
        );
        assert!(t0.elapsed() < Duration::from_secs(120), "A never completed");
        thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap(); // SIGKILL: no clean-up of any kind
    let status = first.wait().unwrap();
    let (stdout, stderr) = (first_out.join().unwrap(), first_err.join().unwrap());
    assert_eq!(
        status.code(),
        None,
        "killed by a signal: {}",
        String::from_utf8_lossy(&stderr)
    );
    let after_kill = state_entries(&state);
    assert!(
        after_kill.iter().all(|e| e["account"] == A),
        "{after_kill:?}"
    );
    let first_findings = ndjson(&stdout);
    assert_eq!(
        counts(&first_findings),
        expected(&[(A, REGIONS[0]), (A, REGIONS[1])]),
        "what the state says is done was written before the kill"
    );

    sts.release();
    let second = run(fleet(&url, &sts.url, &args).args(["-o", "json"]), 0);
    let doc: Value = serde_json::from_slice(&second.stdout).unwrap();
    // A's clusters start where the killed run ended; B's at --since.
    let ends: BTreeMap<String, String> = after_kill
        .iter()
        .map(|e| {
            (
                format!(
                    "{}/{}",
                    e["region"].as_str().unwrap(),
                    e["log_group"].as_str().unwrap()
                ),
                e["end"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for t in doc["targets"].as_array().unwrap() {
        for c in t["clusters"].as_array().unwrap() {
            let key = format!(
                "{}/{}",
                t["region"].as_str().unwrap(),
                c["log_group"].as_str().unwrap()
            );
            match t["account"].as_str().unwrap() {
                A => assert_eq!(
                    c["window"]["start"].as_str(),
                    ends.get(&key).map(String::as_str),
                    "{key}"
                ),
                _ => assert_ne!(
                    ends.get(&key),
                    Some(&c["window"]["start"].as_str().unwrap().to_owned())
                ),
            }
            assert_eq!(c["window"]["end"], doc["end"]);
        }
    }
    // Both runs together: every cluster's failures exactly once.
    let mut all = first_findings;
    all.extend(doc["findings"].as_array().unwrap().iter().cloned());
    assert_eq!(
        counts(&all),
        expected(&[(A, REGIONS[0]), (A, REGIONS[1]), (B, REGIONS[0])])
    );
    let entries = state_entries(&state);
    assert_eq!(entries.len(), 60);
    assert!(entries.iter().all(|e| e["end"] == doc["end"]));
}

/// `fleet --org`: the accounts come from moto's Organizations ListAccounts: the management
/// account and a member are audited (the member's clusters attributed to it), a closed
/// (SUSPENDED) member is listed as skipped with its state, and the exit code says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_audits_the_active_accounts_and_lists_the_suspended_ones() {
    let Some(_moto) = common::moto().await else {
        return;
    };
    let url = common::moto_url().unwrap();
    let base = moto_config(&url, "us-east-1").await;
    let org = aws_sdk_organizations::Client::new(&base);
    // One organization per moto; a rerun against the same moto finds it there.
    if let Err(e) = org.create_organization().send().await {
        let e = aws_sdk_organizations::Error::from(e);
        assert!(
            matches!(
                e,
                aws_sdk_organizations::Error::AlreadyInOrganizationException(_)
            ),
            "{e:?}"
        );
    }
    let mut ids = Vec::new();
    for name in ["member", "closed"] {
        let created = org
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        ids.push(
            created
                .create_account_status()
                .and_then(|s| s.account_id())
                .unwrap()
                .to_owned(),
        );
    }
    let (member, closed) = (ids[0].clone(), ids[1].clone());
    org.close_account()
        .account_id(&closed)
        .send()
        .await
        .unwrap();
    let now = now_ms() - 3_600_000;
    seed(&url, &member, "us-east-1", now).await;
    let args = recent(
        &["--org", "--assume-role", "auditor", "--region", "us-east-1"],
        "json",
    );
    let out = run(&mut fleet(&url, &url, &args), 4);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = doc["targets"].as_array().unwrap();
    let target = |id: &str| {
        targets
            .iter()
            .find(|t| t["account"] == id)
            .unwrap_or_else(|| panic!("no target for {id}: {targets:?}"))
    };
    let m = target(&member);
    assert_eq!(m["status"], "audited");
    assert_eq!(m["clusters"].as_array().unwrap().len(), CLUSTERS);
    // The management account (moto's default) is listed too (other tests write log groups
    // there meanwhile: its status is theirs to decide).
    target("123456789012");
    let c = target(&closed);
    assert_eq!(c["status"], "skipped");
    let reason = c["reason"].as_str().unwrap();
    assert!(reason.contains("SUSPENDED"), "{reason}");
    // The member's findings are its own.
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(
        counts(findings)
            .into_iter()
            .filter(|((a, ..), _)| a == &member)
            .collect::<Counts>(),
        expected(&[(member.as_str(), "us-east-1")])
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{closed} us-east-1 skipped")),
        "{stderr}"
    );
}

/// `fleet --org` where the caller is in no organization: a clear error, before anything is
/// audited (moto: an account that never created one, whose credentials
/// come from STS AssumeRole as moto maps them to that account).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_outside_an_organization_says_so() {
    let Some(_moto) = common::moto().await else {
        return;
    };
    let url = common::moto_url().unwrap();
    let base = moto_config(&url, "us-east-1").await;
    let creds = credentials_in(&base, "999988887777").await;
    let mut cmd = fleet(
        &url,
        &url,
        &["--org", "--assume-role", "auditor", "-o", "json"],
    );
    cmd.env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
        .env("AWS_SESSION_TOKEN", creds.session_token().unwrap());
    let out = tokio::task::spawn_blocking(move || run(&mut cmd, 2))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // moto answers ListAccounts outside an organization with no account (AWS with
    // AWSOrganizationsNotInUseException, whose message a unit test checks): either way an
    // error, never a run of nothing that exits 0.
    assert!(
        stderr.contains("fleet --org: cannot list the organization's accounts")
            && stderr.contains("listed no account"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

/// A 127.0.0.1 Account API (moto has no ListRegions): two pages of regions, one disabled,
/// or AccessDenied for every call. Counts the calls.
fn fake_account_api(deny: bool) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let c = c.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                while let Some((head, body)) = read_request(&mut reader) {
                    c.fetch_add(1, Ordering::Relaxed);
                    assert!(head[0].starts_with("POST /listRegions"), "{head:?}");
                    let body = String::from_utf8_lossy(&body).into_owned();
                    let (status, extra, reply) = if deny {
                        (
                            "403 Forbidden",
                            "x-amzn-errortype: AccessDeniedException\r\n",
                            r#"{"message":"not authorized to perform account:ListRegions"}"#
                                .to_owned(),
                        )
                    } else if body.contains("page2") {
                        ("200 OK", "", r#"{"Regions":[{"RegionName":"us-east-1","RegionOptStatus":"ENABLED_BY_DEFAULT"},{"RegionName":"ap-east-1","RegionOptStatus":"DISABLED"}]}"#.to_owned())
                    } else {
                        ("200 OK", "", r#"{"NextToken":"page2","Regions":[{"RegionName":"eu-west-1","RegionOptStatus":"ENABLED"}]}"#.to_owned())
                    };
                    let _ = write!(
                        conn,
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{reply}",
                        reply.len()
                    );
                }
            });
        }
    });
    (url, calls)
}

/// `fleet --region all`: each account's enabled regions from ListRegions (every page, the
/// disabled one left out), asked with the account's assumed credentials; denied, the account
/// is skipped with the permission named and the exit code says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_all_audits_each_enabled_region_or_skips_the_account() {
    let Some(_moto) = common::moto().await else {
        return;
    };
    let url = common::moto_url().unwrap();
    const D: &str = "444444444444";
    seed(&url, D, "us-east-1", now_ms() - 3_600_000).await;
    let args = recent(
        &[
            "--accounts",
            D,
            "--assume-role",
            "auditor",
            "--region",
            "all",
        ],
        "json",
    );
    let (api, calls) = fake_account_api(false);
    let mut cmd = fleet(&url, &url, &args);
    cmd.env("AWS_ENDPOINT_URL_ACCOUNT", &api);
    let out = tokio::task::spawn_blocking(move || run(&mut cmd, 0))
        .await
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(String, String, usize)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["status"], "audited", "{t}");
            (
                t["account"].as_str().unwrap().to_owned(),
                t["region"].as_str().unwrap().to_owned(),
                t["clusters"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (D.to_owned(), "eu-west-1".to_owned(), 0),
            (D.to_owned(), "us-east-1".to_owned(), CLUSTERS),
        ]
    );
    assert_eq!(calls.load(Ordering::Relaxed), 2, "two pages");

    let (api, _) = fake_account_api(true);
    let mut cmd = fleet(&url, &url, &args);
    cmd.env("AWS_ENDPOINT_URL_ACCOUNT", &api);
    let out = tokio::task::spawn_blocking(move || run(&mut cmd, 4))
        .await
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["status"], "skipped");
    assert_eq!(targets[0]["region"], "all");
    let reason = targets[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("account:ListRegions") && reason.contains("AccessDenied"),
        "{reason}"
    );
}

/// `fleet --reader filter` against moto: FilterLogEvents on groups that hold only
/// authenticator streams (moto ignores `logStreamNamePrefix`, so a group with an audit
/// stream would test moto, not the reader; tests/fleet_filter.rs covers the prefix). Every
/// cluster is read by it, nothing is scanned, and the findings are the Insights run's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filter_reader_reads_moto_groups_with_the_same_findings() {
    let Some(_moto) = common::moto().await else {
        return;
    };
    let url = common::moto_url().unwrap();
    const E: &str = "555555555555";
    let client = logs_in(&url, E, "us-east-1").await;
    let base = now_ms() - 3_600_000;
    for i in 0..3usize {
        let arn = principal(E, "us-east-1", i);
        let lines: Vec<(i64, String)> = (0..denials(i))
            .map(|k| {
                let t = base + (i as i64 * 10 + k as i64) * 1000;
                (t, format!(r#"time="{}" level=warning msg="access denied" arn="{arn}" client="127.0.0.1:2" error="ARN is not mapped" method=POST path=/authenticate"#, logfmt_time(t)))
            })
            .collect();
        put(
            &client,
            &format!("/aws/eks/f{i}/cluster"),
            "authenticator-0123456789abcdef",
            &lines,
        )
        .await;
    }
    // One window for both runs: their findings (windows included) compare.
    let (since, until) = (logfmt_time(now_ms() - 3 * 3_600_000), logfmt_time(now_ms()));
    let args = [
        "--accounts",
        E,
        "--assume-role",
        "auditor",
        "--region",
        "us-east-1",
        "--since",
        &since,
        "--until",
        &until,
        "-o",
        "json",
    ];
    let (by_filter, by_insights) = {
        let f = run(fleet(&url, &url, &args).args(["--reader", "filter"]), 0);
        let i = run(fleet(&url, &url, &args).args(["--reader", "insights"]), 0);
        (
            serde_json::from_slice::<Value>(&f.stdout).unwrap(),
            serde_json::from_slice::<Value>(&i.stdout).unwrap(),
        )
    };
    let t = &by_filter["targets"][0];
    assert_eq!(t["api_calls"]["start_query"], 0, "{t}");
    assert_eq!(
        t["api_calls"]["filter_log_events"], 3,
        "one page per group: {t}"
    );
    for c in t["clusters"].as_array().unwrap() {
        assert_eq!(c["reader"], "filter", "{c}");
        let i: usize = c["cluster"].as_str().unwrap()[1..].parse().unwrap();
        assert_eq!(c["lines"], denials(i), "{c}");
    }
    let mut f = by_filter["findings"].as_array().unwrap().clone();
    let mut i = by_insights["findings"].as_array().unwrap().clone();
    f.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    i.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    assert_eq!(f.len(), 3);
    assert_eq!(f, i);
}
