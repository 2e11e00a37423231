//! The CloudWatch engine against canned SDK responses (`aws-smithy-mocks`): everything moto
//! cannot produce (Scheduled/Running, statistics, throttling, Failed/Timeout/Cancelled,
//! MalformedQuery, StopQuery on cancel). Time is paused, so poll intervals and backoffs cost
//! nothing and can be measured exactly. No network.
#![cfg(feature = "cloudwatch")]

mod common;

use common::Line;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::retry::RetryConfig;
use aws_sdk_cloudwatchlogs::error::ErrorMetadata;
use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
use aws_sdk_cloudwatchlogs::operation::get_query_results::{
    GetQueryResultsError, GetQueryResultsOutput,
};
use aws_sdk_cloudwatchlogs::operation::start_query::{StartQueryError, StartQueryOutput};
use aws_sdk_cloudwatchlogs::operation::stop_query::StopQueryOutput;
use aws_sdk_cloudwatchlogs::types::error::{
    LimitExceededException, MalformedQueryException, ResourceNotFoundException,
};
use aws_sdk_cloudwatchlogs::types::{
    LogGroup, QueryCompileError, QueryCompileErrorLocation, QueryStatistics, QueryStatus,
    ResultField,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use eks_authlog_aws::cloudwatch::budget::{BudgetError, ScanBudget};
use eks_authlog_aws::cloudwatch::{
    AggKind, Error, EstimateSource, Insights, PollPolicy, QueryWindow, Request, RetryPolicy, Silent,
};
use eks_authlog_core::queries;
use eks_authlog_core::source::{Envelope, Loc};
use tokio::time::Instant;

const S: i64 = 1_795_000_000;
const GROUP: &str = "/aws/eks/demo/cluster";

/// A recorded GetQueryResults page from `testdata/insights/<name>.json`.
fn page(name: &str) -> GetQueryResultsOutput {
    let path = format!(
        "{}/testdata/insights/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let rows = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    ResultField::builder()
                        .field(c["field"].as_str().unwrap())
                        .value(c["value"].as_str().unwrap())
                        .build()
                })
                .collect()
        })
        .collect();
    let mut b = GetQueryResultsOutput::builder()
        .set_results(Some(rows))
        .status(QueryStatus::from(v["status"].as_str().unwrap()));
    if let Some(t) = v["nextToken"].as_str() {
        b = b.next_token(t);
    }
    if let Some(s) = v.get("statistics") {
        b = b.statistics(
            QueryStatistics::builder()
                .records_matched(s["recordsMatched"].as_f64().unwrap())
                .records_scanned(s["recordsScanned"].as_f64().unwrap())
                .bytes_scanned(s["bytesScanned"].as_f64().unwrap())
                .build(),
        );
    }
    b.build()
}

fn status(s: &str) -> GetQueryResultsOutput {
    GetQueryResultsOutput::builder()
        .status(QueryStatus::from(s))
        .build()
}

fn started(id: &str) -> StartQueryOutput {
    StartQueryOutput::builder().query_id(id).build()
}

/// A client over `rules`; the SDK's own retries are off so every retry seen is ours.
fn insights(rules: &[&Rule]) -> Insights {
    let client: Client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, rules, |b| {
        b.retry_config(RetryConfig::disabled())
    });
    Insights::from_client(client).unwrap()
}

fn request(groups: &[&str], start: i64, end: i64) -> Request {
    let mut r = Request::new(groups.iter().map(|g| g.to_string()).collect(), start, end);
    r.start_interval = Duration::ZERO;
    r
}

#[tokio::test(start_paused = true)]
async fn scheduled_running_complete_with_growing_poll_interval() {
    let start = mock!(Client::start_query)
        .match_requests(|r| {
            r.limit() == Some(10_000)
                && r.query_string()
                    .is_some_and(|q| q.ends_with("| limit 10000\n"))
                && r.log_group_name() == Some(GROUP)
                && r.start_time() == Some(S)
                && r.end_time() == Some(S + 100)
        })
        .then_output(|| started("q-1"));
    let poll = mock!(Client::get_query_results)
        .match_requests(|r| r.query_id() == Some("q-1"))
        .sequence()
        .output(|| status("Scheduled"))
        .output(|| status("Running"))
        .output(|| page("two-lines"))
        .build();
    let ins = insights(&[&start, &poll]);
    let t0 = Instant::now();
    let (lines, meta) = common::fetch_lines(&ins, &request(&[GROUP], S, S + 100))
        .await
        .unwrap();
    // 500 ms, then ×1.5: 750 ms, 1125 ms.
    assert_eq!(t0.elapsed(), Duration::from_millis(500 + 750 + 1125));
    assert_eq!(poll.num_calls(), 3);
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0],
        Line {
            text: lines[0].text.clone(),
            ts: Some(S * 1000 + 5_250),
            stream: Some("authenticator-0123456789abcdef0123456789abcdef".into()),
            ptr: Some("p1".into()),
            input: GROUP.into(),
            line: 1,
        }
    );
    assert!(lines[0].text.starts_with("time=\"2026-11-18T"));
    assert!(lines[0].text.contains("msg=\"access granted\""));
    assert_eq!((lines[1].ptr.as_deref(), lines[1].line), (Some("p2"), 2));
    assert_eq!(meta.api_calls.start_query, 1);
    assert_eq!(meta.api_calls.get_query_results, 3);
    assert_eq!(meta.api_calls.stop_query, 0);
    assert_eq!(meta.queries_run, 1);
    assert_eq!(meta.rows, 2);
    assert_eq!(meta.records_scanned, 1500.0);
    assert_eq!(meta.bytes_scanned, 2e9);
    assert!((meta.cost_usd - 0.01).abs() < 1e-12);
    assert!(meta.complete);
    let json = serde_json::to_value(&meta).unwrap();
    assert_eq!(json["api_calls"]["get_query_results"], 3);
    assert_eq!(json["strategy"], "events");
    assert_eq!(json["window"]["start"], S);
}

#[tokio::test(start_paused = true)]
async fn poll_interval_stops_growing_at_max() {
    let start = mock!(Client::start_query).then_output(|| started("q-1"));
    let poll = mock!(Client::get_query_results)
        .sequence()
        .output(|| status("Running"))
        .times(6)
        .output(|| page("two-lines"))
        .build();
    let ins = insights(&[&start, &poll]);
    let mut req = request(&[GROUP], S, S + 100);
    req.poll = PollPolicy {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(3),
        factor: 2.0,
        deadline: None,
    };
    let t0 = Instant::now();
    common::fetch_lines(&ins, &req).await.unwrap();
    assert_eq!(t0.elapsed(), Duration::from_secs(1 + 2 + 3 + 3 + 3 + 3 + 3));
    assert_eq!(poll.num_calls(), 7);
}

#[tokio::test(start_paused = true)]
async fn next_token_pages_are_followed() {
    let start = mock!(Client::start_query).then_output(|| started("q-1"));
    let first = mock!(Client::get_query_results)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| page("paged-1"));
    let second = mock!(Client::get_query_results)
        .match_requests(|r| r.next_token() == Some("page-2-token") && r.query_id() == Some("q-1"))
        .then_output(|| page("paged-2"));
    let ins = insights(&[&start, &first, &second]);
    let (lines, meta) = common::fetch_lines(&ins, &request(&[GROUP], S, S + 100))
        .await
        .unwrap();
    let ptrs: Vec<_> = lines.iter().map(|l| l.ptr.clone().unwrap()).collect();
    assert_eq!(ptrs, ["q0", "q1", "q2", "q3", "q4"]);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    assert_eq!(meta.api_calls.get_query_results, 2);
    assert_eq!(meta.rows, 5);
}

fn window_rule(start: i64, end: i64, id: &'static str) -> Rule {
    mock!(Client::start_query)
        .match_requests(move |r| r.start_time() == Some(start) && r.end_time() == Some(end))
        .then_output(move || started(id))
}

fn results_rule(id: &'static str, page_name: &'static str) -> Rule {
    mock!(Client::get_query_results)
        .match_requests(move |r| r.query_id() == Some(id))
        .then_output(move || page(page_name))
}

#[tokio::test(start_paused = true)]
async fn capped_window_is_split_in_halves_and_deduplicated() {
    let rules = [
        window_rule(S, S + 100, "full"),
        window_rule(S, S + 50, "left"),
        window_rule(S + 50, S + 100, "right"),
        results_rule("full", "split-full"),
        results_rule("left", "split-left"),
        results_rule("right", "split-right"),
    ];
    let ins = insights(&rules.iter().collect::<Vec<_>>());
    let mut req = request(&[GROUP], S, S + 100);
    req.limit = 4;
    let (lines, meta) = common::fetch_lines(&ins, &req).await.unwrap();
    let ptrs: Vec<_> = lines.iter().map(|l| l.ptr.clone().unwrap()).collect();
    assert_eq!(ptrs, ["s0", "s1", "s2", "s3", "s4"]);
    assert_eq!(
        lines.iter().map(|l| l.line).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert!(lines.windows(2).all(|w| w[0].ts < w[1].ts));
    assert_eq!(meta.windows_split, 1);
    assert_eq!(meta.queries_run, 3);
    assert_eq!(meta.duplicates_dropped, 1);
    assert!(meta.complete, "{:?}", meta.incomplete_reason);
    for r in &rules {
        assert_eq!(r.num_calls(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn window_that_stays_capped_is_incomplete_not_cut() {
    // Every window returns the cap. A 1-second window cannot be split.
    let start = mock!(Client::start_query).then_output(|| started("q"));
    let poll = mock!(Client::get_query_results).then_output(|| page("split-full"));
    let ins = insights(&[&start, &poll]);
    let mut req = request(&[GROUP], S, S + 1);
    req.limit = 4;
    let (lines, meta) = common::fetch_lines(&ins, &req).await.unwrap();
    assert_eq!(start.num_calls(), 1);
    assert_eq!(lines.len(), 4, "the capped rows are still delivered");
    assert!(!meta.complete);
    let reason = meta.incomplete_reason.unwrap();
    assert!(
        reason.contains(&format!("{GROUP} window {S}..{}", S + 1)),
        "{reason}"
    );
    assert!(reason.contains("4 rows"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn split_depth_is_bounded() {
    let start = mock!(Client::start_query).then_output(|| started("q"));
    let poll = mock!(Client::get_query_results).then_output(|| page("split-full"));
    let ins = insights(&[&start, &poll]);
    let mut req = request(&[GROUP], S, S + 1000);
    req.limit = 4;
    req.max_split_depth = 2;
    let (_, meta) = common::fetch_lines(&ins, &req).await.unwrap();
    assert_eq!(start.num_calls(), 1 + 2 + 4);
    assert_eq!(meta.windows_split, 3);
    assert!(!meta.complete);
    assert!(meta.incomplete_reason.unwrap().contains("(and 1 more)"));
}

#[tokio::test(start_paused = true)]
async fn throttling_and_limit_exceeded_are_retried_with_backoff() {
    let start = mock!(Client::start_query)
        .sequence()
        .error(|| {
            StartQueryError::LimitExceededException(
                LimitExceededException::builder()
                    .message("Account maximum query concurrency limit of [100] reached")
                    .build(),
            )
        })
        .times(2)
        .output(|| started("q-1"))
        .build();
    let poll = mock!(Client::get_query_results)
        .sequence()
        .error(|| {
            GetQueryResultsError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .times(2)
        .output(|| page("two-lines"))
        .build();
    let ins = insights(&[&start, &poll]);
    let mut req = request(&[GROUP], S, S + 100);
    req.retry = RetryPolicy {
        max_retries: 3,
        base: Duration::from_secs(2),
        max: Duration::from_secs(60),
    };
    let t0 = Instant::now();
    let (lines, meta) = common::fetch_lines(&ins, &req).await.unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!((start.num_calls(), poll.num_calls()), (3, 3));
    assert_eq!(meta.api_calls.start_query, 3);
    assert_eq!(meta.api_calls.get_query_results, 3);
    // Backoffs: [1,2] + [2,4] s for StartQuery, [1,2] + [2,4] s for GetQueryResults, plus the
    // 500 ms first poll wait.
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(6_500), "{waited:?}");
    assert!(waited <= Duration::from_millis(12_500), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn persistent_limit_exceeded_becomes_throttled_error() {
    let start = mock!(Client::start_query).then_error(|| {
        StartQueryError::LimitExceededException(LimitExceededException::builder().build())
    });
    let ins = insights(&[&start]);
    let mut req = request(&[GROUP], S, S + 100);
    req.retry.max_retries = 2;
    let err = common::fetch_lines(&ins, &req).await.unwrap_err();
    assert!(
        matches!(&err, Error::Throttled { op: "StartQuery", attempts: 3, log_group, .. } if log_group == GROUP),
        "{err:?}"
    );
    assert_eq!(start.num_calls(), 3);
    assert!(err.to_string().contains("LimitExceededException"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn failed_timeout_cancelled_and_unknown_statuses_are_errors() {
    for s in ["Failed", "Timeout", "Cancelled", "Unknown", "SomethingNew"] {
        let start = mock!(Client::start_query).then_output(|| started("q-9"));
        let poll = mock!(Client::get_query_results)
            .sequence()
            .output(|| status("Running"))
            .output(move || status(s))
            .build();
        let stop = mock!(Client::stop_query).then_output(|| StopQueryOutput::builder().build());
        let ins = insights(&[&start, &poll, &stop]);
        let err = common::fetch_lines(&ins, &request(&[GROUP], S, S + 100))
            .await
            .unwrap_err();
        match &err {
            Error::QueryEnded {
                log_group,
                query_id,
                status,
            } => {
                assert_eq!((log_group.as_str(), query_id.as_str()), (GROUP, "q-9"));
                assert_eq!(status, s);
            }
            other => panic!("{s}: {other:?}"),
        }
        assert!(err.to_string().contains("q-9"), "{err}");
        assert_eq!(stop.num_calls(), 0, "{s}: the query has already ended");
    }
}

#[tokio::test(start_paused = true)]
async fn malformed_query_shows_compile_error_location() {
    let start = mock!(Client::start_query).then_error(|| {
        StartQueryError::MalformedQueryException(
            MalformedQueryException::builder()
                .message("Query is malformed")
                .query_compile_error(
                    QueryCompileError::builder()
                        .message("unexpected symbol found")
                        .location(
                            QueryCompileErrorLocation::builder()
                                .start_char_offset(46)
                                .end_char_offset(52)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
    });
    let ins = insights(&[&start]);
    let err = common::fetch_lines(&ins, &request(&[GROUP], S, S + 100))
        .await
        .unwrap_err();
    let text = queries::RECENT.with_limit(10_000).unwrap();
    let expected: String = text.chars().skip(46).take(6).collect();
    match &err {
        Error::MalformedQuery {
            query,
            location,
            excerpt,
            ..
        } => {
            assert_eq!(*query, "recent");
            assert_eq!(*location, Some((46, 52)));
            assert_eq!(excerpt.as_deref(), Some(expected.as_str()));
        }
        other => panic!("{other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.contains("unexpected symbol found"), "{shown}");
    assert!(shown.contains("characters 46..52"), "{shown}");
    assert_eq!(start.num_calls(), 1, "a malformed query is not retried");
}

#[tokio::test(start_paused = true)]
async fn missing_log_group_says_how_to_enable_authenticator_logs() {
    let start = mock!(Client::start_query).then_error(|| {
        StartQueryError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("The specified log group does not exist.")
                .build(),
        )
    });
    let ins = insights(&[&start]);
    let err = common::fetch_lines(&ins, &request(&[GROUP], S, S + 100))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::LogGroupNotFound { log_group, cluster: Some(c), region }
            if log_group == GROUP && c == "demo" && region == "us-east-1"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("aws eks update-cluster-config --name demo --region us-east-1"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn access_denied_is_reported_not_retried() {
    let start = mock!(Client::start_query).then_error(|| {
        StartQueryError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message(
                    "User: arn:aws:iam::1:user/x is not authorized to perform: logs:StartQuery",
                )
                .build(),
        )
    });
    let ins = insights(&[&start]);
    let err = common::fetch_lines(&ins, &request(&[GROUP], S, S + 100))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::AccessDenied { op: "StartQuery", message, .. } if message.contains("logs:StartQuery")),
        "{err:?}"
    );
    assert_eq!(start.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_every_running_query() {
    let n = Arc::new(AtomicUsize::new(0));
    let ids = n.clone();
    let start = mock!(Client::start_query).then_compute_output(move |_| {
        started(&format!("q-{}", ids.fetch_add(1, Ordering::SeqCst)))
    });
    let poll = mock!(Client::get_query_results).then_output(|| status("Running"));
    let stopped = Arc::new(Mutex::new(Vec::new()));
    let seen = stopped.clone();
    // The first StopQuery fails like moto's (HTTP 500); it must not matter.
    let stop_fail = mock!(Client::stop_query)
        .match_requests(move |r| {
            seen.lock().unwrap().push(r.query_id().unwrap().to_owned());
            true
        })
        .sequence()
        .http_status(500, Some("<html>not implemented</html>".into()))
        .output(|| StopQueryOutput::builder().success(true).build())
        .build();
    let ins = insights(&[&start, &poll, &stop_fail]);
    let req = request(&[GROUP, "/aws/eks/other/cluster"], S, S + 100);
    let mut sink = |_: &[u8], _: &Envelope<'_>, _: Loc<'_>| panic!("no line expected");
    let t0 = Instant::now();
    let err = ins
        .fetch_events(
            &req,
            &queries::RECENT,
            &mut sink,
            Arc::new(Silent),
            tokio::time::sleep(Duration::from_secs(3)),
        )
        .await
        .unwrap_err();
    assert!(err.is_interrupted(), "{err:?}");
    assert_eq!(t0.elapsed(), Duration::from_secs(3));
    let mut stopped = stopped.lock().unwrap().clone();
    stopped.sort();
    assert_eq!(stopped, ["q-0", "q-1"]);
    assert_eq!(n.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn deadline_stops_the_query_and_says_so() {
    let start = mock!(Client::start_query).then_output(|| started("slow"));
    let poll = mock!(Client::get_query_results).then_output(|| status("Running"));
    let stop = mock!(Client::stop_query)
        .match_requests(|r| r.query_id() == Some("slow"))
        .then_output(|| StopQueryOutput::builder().success(true).build());
    let ins = insights(&[&start, &poll, &stop]);
    let mut req = request(&[GROUP], S, S + 100);
    req.poll.deadline = Some(Duration::from_secs(10));
    let t0 = Instant::now();
    let err = common::fetch_lines(&ins, &req).await.unwrap_err();
    assert!(
        matches!(err, Error::DeadlineExceeded { deadline, .. } if deadline == Duration::from_secs(10)),
        "{err:?}"
    );
    assert_eq!(t0.elapsed(), Duration::from_secs(10));
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn rows_are_deduplicated_and_refiltered_by_stream() {
    let start = mock!(Client::start_query).then_output(|| started("q-1"));
    let poll = mock!(Client::get_query_results).then_output(|| page("mixed-streams"));
    let ins = insights(&[&start, &poll]);
    let (lines, meta) = common::fetch_lines(&ins, &request(&[GROUP], S, S + 100))
        .await
        .unwrap();
    let ptrs: Vec<_> = lines.iter().map(|l| l.ptr.as_deref().unwrap()).collect();
    assert_eq!(ptrs, ["1", "3"]);
    assert_eq!(lines[0].ts, Some(S * 1000 + 1_000), "epoch-ms @timestamp");
    assert!(lines.iter().all(|l| l.text.contains("msg=\"access")));
    assert_eq!(meta.duplicates_dropped, 1);
    assert_eq!(meta.rows_filtered, 2);
    assert_eq!(meta.rows_malformed, 1);
    assert_eq!(meta.rows, 2);
    assert_eq!(meta.queries_without_statistics, 1);
    assert!(!meta.complete, "a row without @message is reported");
}

#[tokio::test(start_paused = true)]
async fn aggregate_rows_are_decoded() {
    let granted = text_rule("access granted", "g");
    let denied = text_rule("access denied", "d");
    let g = results_rule("g", "agg-identities");
    let d = results_rule("d", "agg-failures");
    let ins = insights(&[&granted, &denied, &g, &d]);
    let out = ins
        .fetch_aggregates(
            &request(&[GROUP], S, S + 100),
            Arc::new(Silent),
            std::future::pending(),
        )
        .await
        .unwrap();
    let rows = &out.rows;
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].kind, AggKind::Granted);
    assert_eq!(
        rows[0].arn.as_deref(),
        Some("arn:aws:iam::111122223333:user/alice")
    );
    assert_eq!(rows[0].username.as_deref(), Some("kubernetes-admin"));
    assert_eq!(rows[0].count, 42);
    assert_eq!(rows[0].first_ms, Some(S * 1000 + 1000));
    assert_eq!(rows[0].last_ms, Some(S * 1000 + 90_000));
    assert_eq!(rows[0].log_group, GROUP);
    assert_eq!(rows[1].count, 7);
    // Denied rows: sorted by count, descending.
    assert_eq!(rows[2].kind, AggKind::Denied);
    assert_eq!(rows[2].count, 5);
    assert_eq!(rows[2].arn, None);
    assert_eq!(rows[2].sts_code.as_deref(), Some("InvalidClientTokenId"));
    assert_eq!(
        rows[2].error.as_deref(),
        Some("sts getCallerIdentity failed: error from AWS (expected 200, got 403).")
    );
    assert_eq!(rows[3].error.as_deref(), Some("ARN is not mapped"));
    let meta = &out.meta;
    assert_eq!(meta.queries, ["agg-identities", "agg-failures"]);
    assert_eq!(meta.queries_run, 2);
    assert_eq!(meta.bytes_scanned, 2e9);
    assert_eq!(meta.rows, 4);
    assert!(meta.complete);
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["rows"][2]["kind"], "denied");
    assert_eq!(json["meta"]["strategy"], "aggregate");
}

#[tokio::test(start_paused = true)]
async fn aggregate_rows_from_a_server_without_stats_mark_the_result_incomplete() {
    let start = mock!(Client::start_query).then_output(|| started("q"));
    let poll = mock!(Client::get_query_results).then_output(|| page("moto-stats-ignored"));
    let ins = insights(&[&start, &poll]);
    let out = ins
        .fetch_aggregates(
            &request(&[GROUP], S, S + 100),
            Arc::new(Silent),
            std::future::pending(),
        )
        .await
        .unwrap();
    assert!(out.rows.is_empty());
    assert_eq!(out.meta.rows_malformed, 4);
    assert!(!out.meta.complete);
    assert!(out.meta.incomplete_reason.unwrap().contains("`stats`"));
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_and_start_query_is_paced() {
    let inflight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let starts = Arc::new(Mutex::new(Vec::new()));
    let (i1, p1, s1) = (inflight.clone(), peak.clone(), starts.clone());
    let start = mock!(Client::start_query).then_compute_output(move |_| {
        let now = i1.fetch_add(1, Ordering::SeqCst) + 1;
        p1.fetch_max(now, Ordering::SeqCst);
        s1.lock().unwrap().push(Instant::now());
        started("q")
    });
    let i2 = inflight.clone();
    let poll = mock!(Client::get_query_results).then_compute_output(move |_| {
        i2.fetch_sub(1, Ordering::SeqCst);
        page("two-lines")
    });
    let ins = insights(&[&start, &poll]);
    let groups: Vec<String> = (0..6).map(|i| format!("/aws/eks/c{i}/cluster")).collect();
    let mut req = Request::new(groups.clone(), S, S + 100);
    req.max_concurrency = 2;
    req.start_interval = Duration::from_secs(1);
    // Polls come after the next StartQuery slot, so two queries really overlap.
    req.poll.initial = Duration::from_secs(3);
    let mut inputs = Vec::new();
    let mut sink = |_: &[u8], _: &Envelope<'_>, loc: Loc<'_>| inputs.push(loc.input.to_owned());
    let meta = ins
        .fetch_events(
            &req,
            &queries::RECENT,
            &mut sink,
            Arc::new(Silent),
            std::future::pending(),
        )
        .await
        .unwrap();
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    let starts = starts.lock().unwrap();
    assert_eq!(starts.len(), 6);
    for w in starts.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_secs(1), "{:?}", w[1] - w[0]);
    }
    // Lines come group by group, in request order, whatever order queries finished in.
    let expected: Vec<String> = groups.iter().flat_map(|g| [g.clone(), g.clone()]).collect();
    assert_eq!(inputs, expected);
    assert_eq!(meta.rows, 12);
    assert_eq!(meta.queries_run, 6);
}

#[tokio::test]
async fn missing_region_and_credentials_fail_fast() {
    use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Region};
    use eks_authlog_aws::cloudwatch::ClientOptions;
    let opts = ClientOptions::default();
    let no_region = aws_config::defaults(BehaviorVersion::latest())
        .region(None::<Region>)
        .no_credentials();
    let err = Insights::from_loader(no_region, &opts).await.unwrap_err();
    assert!(matches!(err, Error::NoRegion), "{err:?}");
    assert!(err.to_string().contains("--region"));
    let no_creds = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .no_credentials();
    let err = Insights::from_loader(no_creds, &opts).await.unwrap_err();
    assert!(matches!(err, Error::NoCredentials { .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn server_error_is_named_with_its_status_not_as_throttling() {
    let start = mock!(Client::start_query)
        .sequence()
        .http_status(
            500,
            Some(r#"{"__type":"ServiceUnavailableException","message":"internal"}"#.into()),
        )
        .repeatedly()
        .build();
    let ins = insights(&[&start]);
    let t0 = Instant::now();
    let err = common::fetch_lines(&ins, &request(&[GROUP], S, S + 100))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::ServerError {
                op: "StartQuery",
                status: 500,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("answered HTTP 500"), "{text}");
    assert!(text.contains("ServiceUnavailableException"), "{text}");
    assert!(!text.contains("concurrent"), "{text}");
    // The SDK retries 5xx itself; this crate does not add a minute of its own.
    assert_eq!(start.num_calls(), 1);
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
}

#[tokio::test(start_paused = true)]
async fn rate_throttling_is_not_called_a_concurrency_limit() {
    let start = mock!(Client::start_query).then_error(|| {
        StartQueryError::generic(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
        )
    });
    let ins = insights(&[&start]);
    let mut req = request(&[GROUP], S, S + 100);
    req.retry.max_retries = 1;
    let err = common::fetch_lines(&ins, &req).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(&err, Error::Throttled { .. }), "{err:?}");
    assert!(text.contains("request rate"), "{text}");
    assert!(!text.contains("concurrent"), "{text}");
}

/// Records every progress update's elapsed time.
#[derive(Default)]
struct Recorder(Mutex<Vec<(Duration, &'static str)>>);

impl eks_authlog_aws::cloudwatch::Progress for Recorder {
    fn update(&self, s: &eks_authlog_aws::cloudwatch::Status) {
        self.0.lock().unwrap().push((s.elapsed, s.last_status));
    }
}

#[tokio::test(start_paused = true)]
async fn stuck_running_query_hits_the_default_deadline_with_progress_throughout() {
    let start = mock!(Client::start_query).then_output(|| started("stuck"));
    let poll = mock!(Client::get_query_results).then_output(|| status("Running"));
    let stop = mock!(Client::stop_query)
        .match_requests(|r| r.query_id() == Some("stuck"))
        .then_output(|| StopQueryOutput::builder().success(true).build());
    let ins = insights(&[&start, &poll, &stop]);
    let req = request(&[GROUP], S, S + 100);
    assert_eq!(req.poll.deadline, Some(Duration::from_secs(600)));
    let progress = Arc::new(Recorder::default());
    let mut sink = |_: &[u8], _: &Envelope<'_>, _: Loc<'_>| panic!("no line expected");
    let t0 = Instant::now();
    let err = ins
        .fetch_events(
            &req,
            &queries::RECENT,
            &mut sink,
            progress.clone(),
            std::future::pending(),
        )
        .await
        .unwrap_err();
    assert_eq!(t0.elapsed(), Duration::from_secs(600));
    assert!(
        matches!(err, Error::DeadlineExceeded { stopped: 1, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("the running query was stopped"),
        "{err}"
    );
    assert_eq!(stop.num_calls(), 1);
    // An update at least every second, Running ones included, until the deadline.
    let seen = progress.0.lock().unwrap().clone();
    let mut last = Duration::ZERO;
    for (at, _) in &seen {
        assert!(*at - last <= Duration::from_secs(1), "gap before {at:?}");
        last = *at;
    }
    assert!(last >= Duration::from_secs(599), "{last:?}");
    assert!(seen.iter().any(|(_, s)| *s == "Running"));
}

#[tokio::test(start_paused = true)]
async fn interruption_says_how_many_queries_were_stopped() {
    let start = mock!(Client::start_query).then_output(|| started("q"));
    let poll = mock!(Client::get_query_results).then_output(|| status("Running"));
    let stop = mock!(Client::stop_query).then_output(|| StopQueryOutput::builder().build());
    let ins = insights(&[&start, &poll, &stop]);
    let mut sink = |_: &[u8], _: &Envelope<'_>, _: Loc<'_>| panic!("no line expected");
    let err = ins
        .fetch_events(
            &request(&[GROUP], S, S + 100),
            &queries::RECENT,
            &mut sink,
            Arc::new(Silent),
            tokio::time::sleep(Duration::from_secs(2)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Interrupted { stopped: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "interrupted; the running query was stopped"
    );
}

// ---- Estimates and the scan budget ----------------------------------------------------------

/// Every StartQuery the engine sent: (start, end, query text, limit parameter).
type Sent = Arc<Mutex<Vec<(i64, i64, String, Option<i32>)>>>;

/// A StartQuery rule that records every request it sees and answers `id`.
fn recording_start(sent: &Sent, id: &'static str) -> Rule {
    let sent = sent.clone();
    mock!(Client::start_query)
        .match_requests(move |r| {
            sent.lock().unwrap().push((
                r.start_time().unwrap(),
                r.end_time().unwrap(),
                r.query_string().unwrap().to_owned(),
                r.limit(),
            ));
            true
        })
        .then_output(move || started(id))
}

fn estimate_rows(cells: &[(&str, &str)]) -> GetQueryResultsOutput {
    let row = cells
        .iter()
        .map(|(f, v)| ResultField::builder().field(*f).value(*v).build())
        .collect();
    GetQueryResultsOutput::builder()
        .status(QueryStatus::Complete)
        .results(row)
        .build()
}

/// StartQuery rules, both recording into `sent`: `| estimate` texts get query id `e-1`,
/// every other text `q-1`. The estimate rule comes first, so it sees every request.
fn start_by_kind(sent: &Sent) -> (Rule, Rule) {
    let estimate = {
        let sent = sent.clone();
        mock!(Client::start_query)
            .match_requests(move |r| {
                let text = r.query_string().unwrap_or_default();
                let is = text.ends_with("| estimate\n");
                if is {
                    sent.lock().unwrap().push((
                        r.start_time().unwrap(),
                        r.end_time().unwrap(),
                        text.to_owned(),
                        r.limit(),
                    ));
                }
                is
            })
            .then_output(|| started("e-1"))
    };
    (estimate, recording_start(sent, "q-1"))
}

/// A StartQuery rule for texts that contain `needle`, answering `id`.
fn text_rule(needle: &'static str, id: &'static str) -> Rule {
    mock!(Client::start_query)
        .match_requests(move |r| r.query_string().is_some_and(|q| q.contains(needle)))
        .then_output(move || started(id))
}

/// A StartQuery rule for `| estimate` texts, answering `e-1`.
fn estimate_rule() -> Rule {
    text_rule("| estimate\n", "e-1")
}

fn with_budget(mut req: Request, budget: &Arc<ScanBudget>) -> Request {
    req.budget = Some(budget.clone());
    req
}

#[tokio::test(start_paused = true)]
async fn every_query_is_estimated_before_it_runs_and_costs_are_reported() {
    let sent: Sent = Arc::default();
    let (estimate, query) = start_by_kind(&sent);
    let estimate_answer = results_rule("e-1", "estimate");
    let rows = results_rule("q-1", "two-lines");
    let ins = insights(&[&estimate, &query, &estimate_answer, &rows]);
    let budget = Arc::new(ScanBudget::from_gb(10.0));
    let req = with_budget(request(&[GROUP], S, S + 100), &budget);
    let (lines, meta) = common::fetch_lines(&ins, &req).await.unwrap();
    assert_eq!(lines.len(), 2);

    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "{sent:?}");
    let (s0, e0, text0, limit0) = &sent[0];
    assert_eq!((*s0, *e0), (S, S + 100));
    assert_eq!(text0, &queries::RECENT.estimate_text().unwrap());
    assert_eq!(*limit0, None, "an estimate is sent without a row cap");
    assert!(
        sent[1].2.ends_with("| limit 10000\n"),
        "then the query itself"
    );

    assert_eq!(meta.estimate_queries, 1);
    assert_eq!(meta.queries_run, 1);
    assert_eq!(meta.estimated_bytes, Some(5e6));
    assert_eq!(meta.max_scan_bytes, Some(10e9));
    let [cost] = &meta.query_costs[..] else {
        panic!("{:?}", meta.query_costs)
    };
    assert_eq!(cost.query, "recent");
    assert_eq!(cost.log_group, GROUP);
    assert_eq!(cost.estimated_bytes, Some(5e6));
    assert_eq!(cost.estimate_source, EstimateSource::Insights);
    assert_eq!(cost.bytes_scanned, Some(2e9));
    assert_eq!(cost.cost_usd, Some(0.01));
    // The budget was charged what the query scanned, not what was estimated.
    assert_eq!(budget.spent_bytes(), 2e9);
    assert_eq!(budget.left_bytes(), Some(8e9));
}

#[tokio::test(start_paused = true)]
async fn an_estimate_over_the_budget_refuses_before_anything_is_spent() {
    let sent: Sent = Arc::default();
    let (estimate, query) = start_by_kind(&sent);
    let big = mock!(Client::get_query_results)
        .match_requests(|r| r.query_id() == Some("e-1"))
        .then_output(|| estimate_rows(&[("bytes", "25000000000")]));
    let ins = insights(&[&estimate, &query, &big]);
    let budget = Arc::new(ScanBudget::from_gb(10.0));
    let req = with_budget(request(&[GROUP], S, S + 100), &budget);
    let e = common::fetch_lines(&ins, &req).await.unwrap_err();
    let Error::Budget(BudgetError::Exceeded {
        what,
        estimate_bytes,
        left_bytes,
        ..
    }) = &e
    else {
        panic!("{e}")
    };
    assert!(what.contains("recent") && what.contains(GROUP), "{what}");
    assert_eq!((*estimate_bytes, *left_bytes), (25e9, 10e9));
    let text = e.to_string();
    for part in ["25.00 GB", "10.00 GB", "--max-scan-gb", "--yes"] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert_eq!(query.num_calls(), 0, "no query was started");
    assert_eq!(budget.spent_bytes(), 0.0);
    assert_eq!(budget.left_bytes(), Some(10e9), "the refusal holds nothing");
}

#[tokio::test(start_paused = true)]
async fn a_rejected_estimate_falls_back_to_stored_bytes_and_says_so() {
    let rejected = mock!(Client::start_query)
        .match_requests(|r| {
            r.query_string()
                .unwrap_or_default()
                .ends_with("| estimate\n")
        })
        .then_error(|| {
            StartQueryError::MalformedQueryException(
                MalformedQueryException::builder()
                    .message("unknown command estimate")
                    .build(),
            )
        });
    let query = mock!(Client::start_query).then_output(|| started("q-1"));
    let rows = results_rule("q-1", "two-lines");
    let stored = mock!(Client::describe_log_groups)
        .match_requests(|r| r.log_group_name_prefix() == Some(GROUP))
        .then_output(|| {
            DescribeLogGroupsOutput::builder()
                .log_groups(
                    LogGroup::builder()
                        .log_group_name(format!("{GROUP}-other"))
                        .stored_bytes(1)
                        .build(),
                )
                .log_groups(
                    LogGroup::builder()
                        .log_group_name(GROUP)
                        .stored_bytes(3_000_000_000)
                        .build(),
                )
                .build()
        });
    let ins = insights(&[&rejected, &query, &rows, &stored]);
    let budget = Arc::new(ScanBudget::from_gb(10.0));
    let req = with_budget(request(&[GROUP], S, S + 100), &budget);
    let (_, meta) = common::fetch_lines(&ins, &req).await.unwrap();
    let cost = &meta.query_costs[0];
    assert_eq!(cost.estimate_source, EstimateSource::StoredBytes);
    assert_eq!(
        cost.estimated_bytes,
        Some(3e9),
        "the exact group, not the prefix match"
    );
    let note = cost.estimate_note.as_deref().unwrap();
    assert!(
        note.contains("rejected") && note.contains("unknown command estimate"),
        "{note}"
    );
    assert_eq!(meta.api_calls.describe_log_groups, 1);
    assert_eq!(query.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_estimate_with_no_fallback_is_refused_unless_the_budget_is_lifted() {
    // What moto does: it ignores `| estimate` and returns the query's ordinary rows.
    let start = mock!(Client::start_query).then_output(|| started("q-1"));
    let rows = results_rule("q-1", "two-lines");
    let no_stored = mock!(Client::describe_log_groups)
        .then_output(|| DescribeLogGroupsOutput::builder().build());
    let ins = insights(&[&start, &rows, &no_stored]);

    let limited = Arc::new(ScanBudget::from_gb(10.0));
    let req = with_budget(request(&[GROUP], S, S + 100), &limited);
    let e = common::fetch_lines(&ins, &req).await.unwrap_err();
    let Error::Budget(BudgetError::Unknown { what, why, .. }) = &e else {
        panic!("{e}")
    };
    assert!(what.contains("recent"), "{what}");
    assert!(
        why.contains("the estimate of recent could not be read: expected one row, got 2"),
        "{why}"
    );
    assert!(why.contains("no storedBytes"), "{why}");
    assert!(e.to_string().contains("--yes"), "{e}");
    assert_eq!(start.num_calls(), 1, "only the estimate was sent");

    let open = Arc::new(ScanBudget::unlimited());
    let req = with_budget(request(&[GROUP], S, S + 100), &open);
    let (lines, meta) = common::fetch_lines(&ins, &req).await.unwrap();
    assert_eq!(lines.len(), 2);
    let cost = &meta.query_costs[0];
    assert_eq!(cost.estimate_source, EstimateSource::None);
    assert_eq!(cost.estimated_bytes, None, "never a silent zero");
    assert_eq!(cost.bytes_scanned, Some(2e9));
    assert_eq!(meta.max_scan_bytes, None);
    assert_eq!(open.spent_bytes(), 2e9);
}

#[tokio::test(start_paused = true)]
async fn a_failed_estimate_query_is_an_error_naming_its_group() {
    let sent: Sent = Arc::default();
    let (estimate, query) = start_by_kind(&sent);
    let failed = mock!(Client::get_query_results)
        .match_requests(|r| r.query_id() == Some("e-1"))
        .then_output(|| status("Failed"));
    let ins = insights(&[&estimate, &query, &failed]);
    let budget = Arc::new(ScanBudget::from_gb(10.0));
    let req = with_budget(request(&[GROUP], S, S + 100), &budget);
    let e = common::fetch_lines(&ins, &req).await.unwrap_err();
    assert!(
        matches!(&e, Error::QueryEnded { log_group, status, .. } if log_group == GROUP && status == "Failed"),
        "{e}"
    );
    assert_eq!(query.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn split_halves_are_budgeted_from_what_the_capped_window_scanned() {
    // Each half is expected to scan half of the whole window's 2 GB; a 2.5 GB budget admits
    // the first estimate (1 GB) and the whole window (2 GB scanned leaves 0.5 GB), then
    // refuses the halves (1 GB each).
    let estimate = estimate_rule();
    let answer = mock!(Client::get_query_results)
        .match_requests(|r| r.query_id() == Some("e-1"))
        .then_output(|| estimate_rows(&[("bytes", "1000000000")]));
    let full = window_rule(S, S + 100, "full");
    let full_rows = results_rule("full", "two-lines");
    let ins = insights(&[&estimate, &answer, &full, &full_rows]);
    let budget = Arc::new(ScanBudget::from_gb(2.5));
    let mut req = with_budget(request(&[GROUP], S, S + 100), &budget);
    req.limit = 2; // two-lines has 2 rows: the window is capped
    let e = common::fetch_lines(&ins, &req).await.unwrap_err();
    let Error::Budget(BudgetError::Exceeded {
        what,
        estimate_bytes,
        ..
    }) = &e
    else {
        panic!("{e}")
    };
    assert_eq!(*estimate_bytes, 1e9);
    assert!(what.contains(&format!("{S}..{}", S + 50)), "{what}");
    assert_eq!(budget.spent_bytes(), 2e9);
}

#[tokio::test(start_paused = true)]
async fn windowed_queries_run_over_exactly_the_windows_and_keep_audit_rows() {
    let sent: Sent = Arc::default();
    let (estimate, query) = start_by_kind(&sent);
    let answer = results_rule("e-1", "estimate");
    let rows = results_rule("q-1", "audit-401s");
    let ins = insights(&[&estimate, &query, &answer, &rows]);
    let budget = Arc::new(ScanBudget::from_gb(10.0));
    let mut req = with_budget(request(&[GROUP], S - 3600, S + 3600), &budget);
    req.windows = vec![
        QueryWindow {
            start: S + 1,
            end: S + 13,
        },
        QueryWindow {
            start: S + 600,
            end: S + 611,
        },
    ];
    let mut lines = Vec::new();
    let meta = ins
        .fetch_events(
            &req,
            &queries::AUDIT_UNAUTHORIZED,
            &mut |t: &[u8], e: &Envelope<'_>, l: Loc<'_>| {
                lines.push((
                    String::from_utf8(t.to_vec()).unwrap(),
                    e.stream.map(str::to_owned),
                    l.input.to_owned(),
                ))
            },
            Arc::new(Silent),
            std::future::pending(),
        )
        .await
        .unwrap();
    let mut sent = sent.lock().unwrap().clone();
    sent.sort();
    let spans: Vec<(i64, i64, bool)> = sent
        .iter()
        .map(|(s, e, t, _)| (*s, *e, t.ends_with("| estimate\n")))
        .collect();
    assert_eq!(
        spans,
        [
            (S + 1, S + 13, true),
            (S + 1, S + 13, false),
            (S + 600, S + 611, true),
            (S + 600, S + 611, false)
        ],
        "each window estimated and queried; never the whole request window"
    );
    for (_, _, text, _) in &sent {
        assert!(
            text.contains("filter @logStream like /^kube-apiserver-audit-/")
                && text.contains("filter responseStatus.code = 401"),
            "{text}"
        );
    }
    // Both windows answered the same page: each row twice (same @ptr), and the
    // authenticator row is dropped as from the wrong stream.
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].0.contains("\"code\":401"));
    assert_eq!(lines[0].2, GROUP);
    assert_eq!(meta.duplicates_dropped, 2);
    assert_eq!(meta.rows_filtered, 1);
    assert_eq!(meta.estimate_queries, 2);
    let [cost] = &meta.query_costs[..] else {
        panic!("{:?}", meta.query_costs)
    };
    assert_eq!((cost.query, cost.windows), ("audit-unauthorized", 2));
    assert_eq!(cost.estimated_bytes, Some(10e6));
    assert_eq!(cost.bytes_scanned, Some(6e6));
}

#[tokio::test(start_paused = true)]
async fn the_public_estimate_reads_every_query_group_and_window() {
    let sent: Sent = Arc::default();
    let (estimate, _) = start_by_kind(&sent);
    let answer = results_rule("e-1", "estimate");
    let ins = insights(&[&estimate, &answer]);
    let other = "/aws/eks/other/cluster";
    let req = request(&[GROUP, other], S, S + 100);
    let estimates = ins
        .estimate(
            &req,
            &[&queries::AGG_IDENTITIES, &queries::AGG_FAILURES],
            Arc::new(Silent),
            std::future::pending(),
        )
        .await
        .unwrap();
    let got: Vec<(&str, &str, Option<f64>, EstimateSource)> = estimates
        .iter()
        .map(|e| (e.query, e.log_group.as_str(), e.bytes, e.source))
        .collect();
    let i = EstimateSource::Insights;
    assert_eq!(
        got,
        [
            ("agg-identities", GROUP, Some(5e6), i),
            ("agg-identities", other, Some(5e6), i),
            ("agg-failures", GROUP, Some(5e6), i),
            ("agg-failures", other, Some(5e6), i),
        ]
    );
    assert_eq!(sent.lock().unwrap().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn audit_aggregates_are_estimated_budgeted_and_decoded() {
    let estimate = estimate_rule();
    let answer = results_rule("e-1", "estimate");
    let forbidden = text_rule("\"forbid\"", "f");
    let identities = text_rule("ispresent(user.extra.canonicalArn.0)", "i");
    let forbidden_rows = results_rule("f", "audit-forbidden");
    let identity_rows = results_rule("i", "audit-identities");
    let ins = insights(&[
        &estimate,
        &answer,
        &forbidden,
        &identities,
        &forbidden_rows,
        &identity_rows,
    ]);
    let budget = Arc::new(ScanBudget::from_gb(1.0));
    let req = with_budget(request(&[GROUP], S, S + 86_400), &budget);
    let got = ins
        .fetch_audit_aggregates(&req, true, true, Arc::new(Silent), std::future::pending())
        .await
        .unwrap();
    let [f] = &got.forbidden[..] else {
        panic!("{:?}", got.forbidden)
    };
    assert_eq!(f.username.as_deref(), Some("testuser"));
    assert_eq!(f.groups, ["system:authenticated", "dev-readers"]);
    assert_eq!((f.resource.as_deref(), f.count), (Some("nodes"), 4));
    assert_eq!(got.identities.len(), 2);
    assert_eq!(got.identities[1].key_type.as_deref(), Some("AKIA"));
    let meta = &got.meta;
    assert!(meta.complete, "{:?}", meta.incomplete_reason);
    assert_eq!(meta.queries, ["audit-forbidden", "audit-identities"]);
    assert_eq!(meta.estimate_queries, 2);
    assert_eq!(meta.rows, 3);
    let costs: Vec<(&str, Option<f64>, Option<f64>)> = meta
        .query_costs
        .iter()
        .map(|c| (c.query, c.estimated_bytes, c.bytes_scanned))
        .collect();
    assert_eq!(
        costs,
        [
            ("audit-forbidden", Some(5e6), Some(4e8)),
            ("audit-identities", Some(5e6), Some(4e8))
        ]
    );
    assert_eq!(budget.spent_bytes(), 8e8);
    // The next one would not fit what is left.
    assert!(budget.reserve(3e8, "more").is_err());
}
