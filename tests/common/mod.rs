//! Helpers shared by the tests that need the moto CloudWatch Logs emulator.
//!
//! Run them with `scripts/test` (it starts moto and exports `EKS_AUTHLOG_MOTO_URL`). Without
//! that variable a test prints how to run it and passes, except under `CI`, where it fails:
//! emulator tests are never silently skipped in CI.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use std::sync::Arc;

use eks_authlog_aws::cloudwatch::{
    ClientOptions, Error, FetchMeta, Insights, PollPolicy, Request, Silent,
};
use eks_authlog_core::queries;
use eks_authlog_core::source::{Envelope, Loc};
use tokio::sync::{Mutex, MutexGuard};

/// The emulator's URL, or `None` (with a note) when it is not running outside CI.
pub fn moto_url() -> Option<String> {
    match std::env::var("EKS_AUTHLOG_MOTO_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "EKS_AUTHLOG_MOTO_URL is not set but CI is: run the tests with scripts/test, \
                 which starts moto"
            );
            eprintln!(
                "NOTE: CloudWatch integration test not run: EKS_AUTHLOG_MOTO_URL is not set. \
                 Run scripts/test (it starts a pinned moto server on 127.0.0.1)."
            );
            None
        }
    }
}

/// moto's state is global, so tests that reset it must not overlap.
static MOTO: Mutex<()> = Mutex::const_new(());

pub struct Moto {
    pub insights: Insights,
    _serial: MutexGuard<'static, ()>,
}

impl Moto {
    pub fn client(&self) -> &Client {
        self.insights.client()
    }
}

/// Connects to a freshly reset moto, or explains how to run the test and returns `None`.
pub async fn moto() -> Option<Moto> {
    let url = moto_url()?;
    let addr = url
        .strip_prefix("http://127.0.0.1:")
        .map(|port| format!("127.0.0.1:{port}"))
        .unwrap_or_else(|| {
            panic!("EKS_AUTHLOG_MOTO_URL must be http://127.0.0.1:<port>, not {url}")
        });
    let serial = MOTO.lock().await;
    reset(&addr);
    // Explicit endpoint, region and dummy credentials: the test can never reach AWS, whatever
    // the environment says.
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"));
    let opts = ClientOptions {
        max_attempts: Some(1),
        ..ClientOptions::default()
    };
    let insights = Insights::from_loader(loader, &opts).await.unwrap();
    Some(Moto {
        insights,
        _serial: serial,
    })
}

pub fn reset(addr: &str) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /moto-api/reset HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "moto reset: {answer}");
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Creates the group (if needed) and stream, and writes `events` (sorted by time).
pub async fn put(client: &Client, group: &str, stream: &str, events: &[(i64, String)]) {
    if let Err(e) = client.create_log_group().log_group_name(group).send().await {
        let e = e.into_service_error();
        assert!(e.is_resource_already_exists_exception(), "{e:?}");
    }
    client
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    let mut events = events.to_vec();
    events.sort_by_key(|(ts, _)| *ts);
    for chunk in events.chunks(10_000) {
        let mut req = client
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream);
        for (ts, msg) in chunk {
            req = req.log_events(
                InputLogEvent::builder()
                    .timestamp(*ts)
                    .message(msg)
                    .build()
                    .unwrap(),
            );
        }
        let out = req.send().await.unwrap();
        assert!(out.rejected_log_events_info().is_none(), "{out:?}");
    }
}

/// A line the engine pushed, with its envelope and location, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    pub ts: Option<i64>,
    pub stream: Option<String>,
    pub ptr: Option<String>,
    pub input: String,
    pub line: u64,
}

/// Polls and paces fast: moto answers at once.
pub fn fast(req: &mut Request) {
    req.start_interval = Duration::ZERO;
    req.poll = PollPolicy {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
        factor: 2.0,
        deadline: Some(Duration::from_secs(600)),
    };
}

/// Fetches with the `recent` query and collects every line pushed.
pub async fn fetch_lines(ins: &Insights, req: &Request) -> Result<(Vec<Line>, FetchMeta), Error> {
    let mut lines = Vec::new();
    let mut sink = |text: &[u8], env: &Envelope<'_>, loc: Loc<'_>| {
        lines.push(Line {
            text: String::from_utf8(text.to_vec()).unwrap(),
            ts: env.timestamp_ms,
            stream: env.stream.map(str::to_owned),
            ptr: env.ptr.map(str::to_owned),
            input: loc.input.to_owned(),
            line: loc.line,
        })
    };
    let meta = ins
        .fetch_events(
            req,
            &queries::RECENT,
            &mut sink,
            Arc::new(Silent),
            std::future::pending(),
        )
        .await?;
    Ok((lines, meta))
}
