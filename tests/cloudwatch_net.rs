//! The binary against endpoints that misbehave at the network level, all on 127.0.0.1: a
//! closed port, a server that accepts and never answers, and a fake Logs API whose query
//! never leaves `Running` (for `--timeout` and SIGTERM). Every test is bounded in time.
#![cfg(all(feature = "cloudwatch", unix))]

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

mod fake_http;

/// The binary with bogus static credentials, pointed at `endpoint`; nothing else of the
/// environment's AWS configuration is used.
fn eks_authlog(endpoint: &str, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("eks-authlog"));
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "not-a-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", endpoint)
        // report --cluster also reads the access configuration live: never from AWS here.
        .env("AWS_ENDPOINT_URL_EKS", endpoint)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Waits for `child` at most `limit`, killing it after that (the test then fails).
fn wait_bounded(mut child: Child, limit: Duration) -> (Output, Duration) {
    let t0 = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return (child.wait_with_output().unwrap(), t0.elapsed());
        }
        if t0.elapsed() > limit {
            child.kill().unwrap();
            panic!(
                "still running after {limit:?}: {:?}",
                child.wait_with_output()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the binary against `endpoint` for at most 30 s: its output, stderr and wall time.
fn run_bounded(endpoint: &str, args: &[&str]) -> (Output, String, Duration) {
    let child = eks_authlog(endpoint, args).spawn().unwrap();
    let (out, took) = wait_bounded(child, Duration::from_secs(30));
    let err = stderr(&out);
    (out, err, took)
}

#[test]
fn closed_port_is_reported_as_connection_refused_quickly() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let (out, err, took) = run_bounded(&endpoint, &["report", "--cluster", "demo"]);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("cannot reach {endpoint}")), "{err}");
    assert!(err.contains("connection refused"), "{err}");
    assert!(!err.contains("concurrent"), "{err}");
    // The SDK's three attempts, not a minute of retries on top.
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[test]
fn silent_server_is_bounded_by_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accepts and holds every connection, never answering.
    thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let (out, err, took) = run_bounded(
        &endpoint,
        &["report", "--cluster", "demo", "--timeout", "3s"],
    );
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the 3s deadline passed (--timeout) before any query was running"),
        "{err}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

/// A fake Logs API: StartQuery answers `q-1`, GetQueryResults always `Running`, StopQuery
/// is recorded. Returns the endpoint and the operations seen, in order.
fn fake_running() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let ops = Arc::new(Mutex::new(Vec::new()));
    let seen = ops.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            thread::spawn(move || serve(stream, &seen));
        }
    });
    (endpoint, ops)
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let Some(target) = fake_http::read_request(&mut reader) else {
            return;
        };
        let op = target.rsplit('.').next().unwrap_or("").to_owned();
        let reply = match op.as_str() {
            "StartQuery" => r#"{"queryId":"q-1"}"#,
            "GetQueryResults" => {
                r#"{"status":"Running","results":[],"statistics":{"recordsMatched":0,"recordsScanned":0,"bytesScanned":0}}"#
            }
            "StopQuery" => r#"{"success":true}"#,
            _ => r#"{}"#,
        };
        seen.lock().unwrap().push(op);
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n",
            reply.len()
        );
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(reply.as_bytes()).is_err()
        {
            return;
        }
    }
}

fn count(ops: &Mutex<Vec<String>>, op: &str) -> usize {
    ops.lock().unwrap().iter().filter(|o| *o == op).count()
}

#[test]
fn stuck_running_query_is_stopped_at_the_timeout() {
    let (endpoint, ops) = fake_running();
    let (out, err, took) = run_bounded(
        &endpoint,
        &["report", "--cluster", "demo", "--timeout", "3s"],
    );
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the 3s deadline passed (--timeout); the running query was stopped"),
        "{err}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(count(&ops, "StopQuery"), 1, "{:?}", ops.lock().unwrap());
}

#[test]
fn sigterm_stops_the_running_query_and_exits_143() {
    let (endpoint, ops) = fake_running();
    let child = eks_authlog(&endpoint, &["report", "--cluster", "demo"])
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while count(&ops, "GetQueryResults") == 0 {
        assert!(t0.elapsed() < Duration::from_secs(20), "no poll seen");
        thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let (out, _) = wait_bounded(child, Duration::from_secs(20));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(
        err.contains("interrupted by SIGTERM; the running query was stopped"),
        "{err}"
    );
    assert_eq!(count(&ops, "StopQuery"), 1, "{:?}", ops.lock().unwrap());
}

#[tokio::test]
async fn silent_server_is_unreachable_after_the_operation_timeout() {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_cloudwatchlogs::config::Credentials;
    use eks_authlog_aws::cloudwatch::{ClientOptions, Error, Insights, Request, Silent};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "x", None, None, "test"))
        .endpoint_url(&endpoint);
    let opts = ClientOptions {
        attempt_timeout: Duration::from_millis(400),
        operation_timeout: Duration::from_secs(1),
        ..ClientOptions::default()
    };
    let ins = Insights::from_loader(loader, &opts).await.unwrap();
    let req = Request::new(
        vec!["/aws/eks/demo/cluster".into()],
        1_795_000_000,
        1_795_000_100,
    );
    let mut sink =
        |_: &[u8],
         _: &eks_authlog_core::source::Envelope<'_>,
         _: eks_authlog_core::source::Loc<'_>| panic!("no line expected");
    let t0 = Instant::now();
    let err = ins
        .fetch_events(
            &req,
            &eks_authlog_core::queries::RECENT,
            &mut sink,
            Arc::new(Silent),
            std::future::pending(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unreachable { op: "StartQuery", cause, .. } if cause == "no answer within 1s"),
        "{err:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[test]
fn since_in_the_future_says_so() {
    let out = eks_authlog(
        "http://127.0.0.1:9",
        &["report", "--cluster", "demo", "--since", "2099-01-01"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "eks-authlog: --since is in the future\n");
}
