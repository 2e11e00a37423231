//! The CloudWatch engine end to end against moto server on 127.0.0.1: events are written
//! through the real CloudWatch Logs API (PutLogEvents), then fetched through the engine.
//!
//! moto runs only `fields`, `sort` and `limit` (it ignores `filter`, `parse` and `stats`),
//! answers `Complete` on the first poll and returns `@timestamp` as epoch ms (moto's
//! `moto/logs/logs_query/`, observed with the version pinned in
//! `scripts/moto-requirements.txt`). So these tests check the plumbing
//! (requests, decoding, splitting, the local stream re-filter, errors, discovery), not query
//! semantics; `cloudwatch_mock.rs` covers what moto cannot do.
//!
//! Run with `scripts/test` (it starts moto and exports `EKS_AUTHLOG_MOTO_URL`). Without that
//! variable the tests print how to run them and pass, except under `CI`, where they fail.
#![cfg(feature = "cloudwatch")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Line, moto, now_ms, put};
use eks_authlog_aws::cloudwatch::{Error, Request, Silent};
use eks_authlog_core::queries;
use eks_authlog_core::source::{Envelope, Loc};

fn granted(ms: i64, i: usize) -> String {
    format!(
        "time=\"{ms}\" level=info msg=\"access granted\" arn=\"arn:aws:iam::111122223333:user/u{}\" \
         client=\"127.0.0.1:{}\" groups=\"[system:masters]\" method=POST path=/authenticate \
         username=kubernetes-admin",
        i % 7,
        40000 + i % 20000
    )
}

fn denied(ms: i64, i: usize) -> String {
    format!(
        "time=\"{ms}\" level=warning msg=\"access denied\" arn=\"arn:aws:iam::111122223333:role/r{}\" \
         client=\"127.0.0.1:{}\" error=\"ARN is not mapped\" method=POST path=/authenticate",
        i % 3,
        40000 + i % 20000
    )
}

/// `n` authenticator lines from `base`, `step` ms apart: grants, with every `deny_every`-th
/// line a denial.
fn mixed(n: usize, base: i64, step: i64, deny_every: usize) -> Vec<(i64, String)> {
    (0..n)
        .map(|i| {
            let ts = base + i as i64 * step;
            let line = if i % deny_every == 0 {
                denied(ts, i)
            } else {
                granted(ts, i)
            };
            (ts, line)
        })
        .collect()
}

fn audit(i: usize) -> String {
    // Mentions the words the authenticator queries look for, so an ignored filter shows.
    format!(
        "{{\"kind\":\"Event\",\"auditID\":\"{i}\",\"user\":{{\"username\":\"kubernetes-admin\"}},\
         \"annotations\":{{\"note\":\"access denied\"}}}}"
    )
}

const ALPHA: &str = "/aws/eks/alpha/cluster";
const BETA: &str = "/aws/eks/beta/cluster";
const AUTH_A: &str = "authenticator-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const AUTH_B: &str = "authenticator-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const AUDIT_A: &str = "kube-apiserver-audit-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

#[tokio::test]
async fn fetches_exactly_the_authenticator_lines_of_two_groups() {
    let Some(moto) = moto().await else { return };
    let base = now_ms() - 3 * 3600 * 1000;
    let auth_a = mixed(30, base + 123, 60_000, 4);
    let audit_a: Vec<(i64, String)> = (0..20)
        .map(|i| (base + i as i64 * 90_000 + 7, audit(i)))
        .collect();
    let auth_b: Vec<(i64, String)> = (0..10)
        .map(|i| (base + i as i64 * 30_000 + 999, granted(base, 100 + i)))
        .collect();
    put(moto.client(), ALPHA, AUTH_A, &auth_a).await;
    put(moto.client(), ALPHA, AUDIT_A, &audit_a).await;
    put(moto.client(), BETA, AUTH_B, &auth_b).await;

    let mut req = Request::new(
        vec![ALPHA.into(), BETA.into()],
        base / 1000 - 60,
        now_ms() / 1000 + 60,
    );
    common::fast(&mut req);
    let (lines, meta) = common::fetch_lines(&moto.insights, &req).await.unwrap();

    let expected: Vec<Line> = auth_a
        .iter()
        .map(|e| (ALPHA, AUTH_A, e))
        .chain(auth_b.iter().map(|e| (BETA, AUTH_B, e)))
        .scan((None, 0), |(group, n), (g, stream, (ts, msg))| {
            if *group != Some(g) {
                *group = Some(g);
                *n = 0;
            }
            *n += 1;
            Some(Line {
                text: msg.clone(),
                ts: Some(*ts),
                stream: Some(stream.to_owned()),
                ptr: None,
                input: g.to_owned(),
                line: *n,
            })
        })
        .collect();
    let got: Vec<Line> = lines
        .iter()
        .map(|l| Line {
            ptr: None,
            ..l.clone()
        })
        .collect();
    assert_eq!(got, expected);
    let mut ptrs: Vec<_> = lines.iter().map(|l| l.ptr.clone().unwrap()).collect();
    ptrs.sort();
    ptrs.dedup();
    assert_eq!(ptrs.len(), 40, "every line has its own @ptr");
    assert_eq!(meta.rows, 40);
    assert_eq!(
        meta.rows_filtered, 20,
        "audit lines dropped locally (moto ignores filter)"
    );
    assert_eq!(meta.duplicates_dropped, 0);
    assert_eq!(meta.api_calls.start_query, 2);
    assert_eq!(meta.queries_without_statistics, 2);
    assert_eq!(meta.log_groups, [ALPHA, BETA]);
    assert_eq!(meta.regions, ["us-east-1"]);
    assert!(meta.complete, "{:?}", meta.incomplete_reason);
}

#[tokio::test]
async fn capped_windows_are_split_until_complete() {
    let Some(moto) = moto().await else { return };
    let base = now_ms() - 2 * 3600 * 1000;
    // 25 lines a minute apart, three of them sharing one second, plus audit noise that
    // moto returns too and that counts against the cap.
    let mut auth: Vec<(i64, String)> = (0..22)
        .map(|i| {
            let ts = base + i as i64 * 60_000;
            (ts, granted(ts, i))
        })
        .collect();
    for k in 0..3 {
        let ts = base + 10 * 60_000 + 30_000 + k * 200;
        auth.push((ts, denied(ts, 50 + k as usize)));
    }
    auth.sort_by_key(|(ts, _)| *ts);
    let noise: Vec<(i64, String)> = (0..6)
        .map(|i| (base + i as i64 * 200_000 + 5, audit(i)))
        .collect();
    put(moto.client(), ALPHA, AUTH_A, &auth).await;
    put(moto.client(), ALPHA, AUDIT_A, &noise).await;

    let mut req = Request::new(vec![ALPHA.into()], base / 1000 - 1, base / 1000 + 1800);
    req.limit = 4;
    common::fast(&mut req);
    let (lines, meta) = common::fetch_lines(&moto.insights, &req).await.unwrap();
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    let expected: Vec<&str> = auth.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(texts, expected);
    assert!(meta.complete, "{:?}", meta.incomplete_reason);
    assert!(meta.windows_split >= 3, "{meta:?}");
    assert_eq!(meta.queries_run, meta.api_calls.start_query);
    assert_eq!(meta.queries_run, 1 + 2 * meta.windows_split);
    assert_eq!(meta.rows_filtered, 6);
}

#[tokio::test]
async fn missing_log_group_is_reported_with_the_fix() {
    let Some(moto) = moto().await else { return };
    put(
        moto.client(),
        ALPHA,
        AUTH_A,
        &[(now_ms() - 60_000, granted(0, 1))],
    )
    .await;
    let mut req = Request::new(
        vec![ALPHA.into(), "/aws/eks/ghost/cluster".into()],
        now_ms() / 1000 - 3600,
        now_ms() / 1000,
    );
    common::fast(&mut req);
    let err = common::fetch_lines(&moto.insights, &req).await.unwrap_err();
    assert!(
        matches!(&err, Error::LogGroupNotFound { log_group, cluster: Some(c), region }
            if log_group == "/aws/eks/ghost/cluster" && c == "ghost" && region == "us-east-1"),
        "{err:?}"
    );
    assert!(err.to_string().contains("--name ghost --region us-east-1"));
}

#[tokio::test]
async fn discovers_eks_control_plane_log_groups() {
    let Some(moto) = moto().await else { return };
    let c = moto.client();
    for g in [BETA, ALPHA, "/aws/eks/beta/other", "/aws/lambda/unrelated"] {
        c.create_log_group().log_group_name(g).send().await.unwrap();
    }
    c.put_retention_policy()
        .log_group_name(ALPHA)
        .retention_in_days(30)
        .send()
        .await
        .unwrap();
    let found = moto.insights.discover_clusters("/aws/eks/").await.unwrap();
    let summary: Vec<_> = found
        .iter()
        .map(|g| (g.name.as_str(), g.cluster.as_str(), g.retention_days))
        .collect();
    assert_eq!(summary, [(ALPHA, "alpha", Some(30)), (BETA, "beta", None)]);
    assert!(
        found
            .iter()
            .all(|g| g.creation_time_ms.is_some_and(|t| t > 0))
    );
}

#[tokio::test]
async fn aggregate_queries_on_a_server_without_stats_are_incomplete() {
    let Some(moto) = moto().await else { return };
    let base = now_ms() - 3600 * 1000;
    let auth: Vec<(i64, String)> = (0..5)
        .map(|i| (base + i as i64 * 1000, granted(base, i)))
        .collect();
    put(moto.client(), ALPHA, AUTH_A, &auth).await;
    let mut req = Request::new(vec![ALPHA.into()], base / 1000 - 1, now_ms() / 1000);
    common::fast(&mut req);
    let out = moto
        .insights
        .fetch_aggregates(&req, Arc::new(Silent), std::future::pending())
        .await
        .unwrap();
    assert!(out.rows.is_empty());
    assert_eq!(out.meta.rows_malformed, 10, "5 @ptr-only rows per query");
    assert!(!out.meta.complete);
}

#[tokio::test]
async fn cancellation_calls_stop_query_even_when_it_fails() {
    let Some(moto) = moto().await else { return };
    put(
        moto.client(),
        ALPHA,
        AUTH_A,
        &[(now_ms() - 60_000, granted(0, 1))],
    )
    .await;
    let mut req = Request::new(vec![ALPHA.into()], now_ms() / 1000 - 3600, now_ms() / 1000);
    req.poll.initial = Duration::from_secs(30);
    let mut sink = |_: &[u8], _: &Envelope<'_>, _: Loc<'_>| {};
    let t0 = std::time::Instant::now();
    let err = moto
        .insights
        .fetch_events(
            &req,
            &queries::RECENT,
            &mut sink,
            Arc::new(Silent),
            tokio::time::sleep(Duration::from_millis(500)),
        )
        .await
        .unwrap_err();
    assert!(err.is_interrupted(), "{err:?}");
    // moto answers StopQuery with HTTP 500; with one attempt that costs nothing.
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
}

/// 100,000 events in one group, fetched with the default 10,000-row cap. Measures API calls
/// and wall time; run with `scripts/test --test cloudwatch_moto -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "slow (about a minute): a measurement, run on demand"]
async fn hundred_thousand_events() {
    let Some(moto) = moto().await else { return };
    let n = 100_000usize;
    let base = now_ms() - 2 * 3600 * 1000;
    let step = (2 * 3600 * 1000 - 60_000) / n as i64; // spread over ~2 h
    let events = mixed(n, base, step, 10);
    let t_put = std::time::Instant::now();
    put(moto.client(), ALPHA, AUTH_A, &events).await;
    let put_time = t_put.elapsed();

    let mut req = Request::new(vec![ALPHA.into()], base / 1000 - 1, now_ms() / 1000 + 1);
    common::fast(&mut req);
    let t0 = std::time::Instant::now();
    let mut count = 0usize;
    let mut last_ts = i64::MIN;
    let mut ptrs = std::collections::HashSet::new();
    let mut sink = |_: &[u8], env: &Envelope<'_>, _: Loc<'_>| {
        count += 1;
        let ts = env.timestamp_ms.unwrap();
        assert!(ts >= last_ts);
        last_ts = ts;
        assert!(ptrs.insert(env.ptr.unwrap().to_owned()));
    };
    let meta = moto
        .insights
        .fetch_events(
            &req,
            &queries::RECENT,
            &mut sink,
            Arc::new(Silent),
            std::future::pending(),
        )
        .await
        .unwrap();
    let fetch_time = t0.elapsed();
    assert_eq!(count, n);
    assert!(meta.complete, "{:?}", meta.incomplete_reason);
    eprintln!(
        "100k events: put {:.1}s; fetch {:.1}s; {}",
        put_time.as_secs_f64(),
        fetch_time.as_secs_f64(),
        serde_json::to_string(&meta).unwrap()
    );
}
