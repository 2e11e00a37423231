//! The FilterLogEvents reader: a log group's `authenticator-*` streams read directly, page by
//! page, instead of with a Logs Insights query.
//!
//! Why: Logs Insights bills every byte of every stream of the group in the window ($0.005
//! per GB scanned, <https://aws.amazon.com/cloudwatch/pricing/>), the large
//! `kube-apiserver-audit-*` streams included, even when the query keeps only the
//! authenticator streams. FilterLogEvents with `logStreamNamePrefix` reads only the streams
//! named so (FilterLogEvents API reference,
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html>),
//! and the pricing page lists no per-GB scan charge for it: it is paid in requests and wall
//! time instead. Each call reads one log group and returns at most 10,000 events or 1 MB, a
//! page may be partly full or even empty while a `nextToken` says more may follow, and the
//! operation is limited to 5 requests per second per account and region, a quota that
//! cannot be raised (CloudWatch Logs quotas,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html>).
//!
//! What it guarantees, as the Insights path does:
//! - the window is half-open, `[start_ms, end_ms)`: `endTime` is inclusive in the API ("events
//!   with a timestamp later than this time are not returned"), so it is sent as `end_ms - 1`,
//!   and the caller's sink still checks every event's timestamp;
//! - every page is read (`nextToken` until none), or the call fails: a window is complete
//!   only when its last page was read, and only then may its state move;
//! - every event is counted: fed to the sink, or counted as from another stream (a server
//!   that ignores the prefix; moto does) or as without a message;
//! - calls share one [`RateLimiter`] per account and region, and `ThrottlingException` is
//!   retried with backoff;
//! - cancellation (Ctrl-C, SIGTERM, the deadline) ends the read between calls.
//!
//! Lines reach the sink with the envelope the Insights rows have (timestamp, stream, the
//! event id as `ptr`), so the analysis, and the findings, are those of the same lines read
//! through Insights.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::SdkError;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::{
    FilterLogEventsError, FilterLogEventsOutput,
};
use serde::Serialize;
use tokio::time::Instant;

use eks_authlog_core::source::{Envelope, LineSink, Loc};

use super::{AUTHENTICATOR_STREAM_PREFIX, Error, Insights, RetryPolicy, cluster_name};

/// FilterLogEvents' rate: 5 requests per second per account and region, a hard quota
/// (CloudWatch Logs quotas page).
pub const FILTER_TPS: u32 = 5;

/// Spaces calls to one API `1 / tps` apart, however many tasks share it. One per account and
/// region: the quota is counted there.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    /// At most `tps` calls per second (at least 1).
    pub fn per_second(tps: u32) -> RateLimiter {
        RateLimiter {
            interval: Duration::from_secs(1) / tps.max(1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this call's turn.
    pub async fn acquire(&self) {
        let at = {
            let mut next = self.next.lock().unwrap();
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// What reading one log group with FilterLogEvents did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FilterStats {
    /// FilterLogEvents calls, throttled ones included.
    pub calls: u64,
    /// Pages read (calls answered).
    pub pages: u64,
    /// Calls answered with `ThrottlingException` and retried.
    pub throttled: u64,
    /// Events returned.
    pub events: u64,
    /// Bytes of the messages returned (what the reader transferred, UTF-8).
    pub bytes: u64,
    /// Events from a stream not named `authenticator-*`: the server ignored the prefix.
    /// Counted, not analysed.
    pub other_streams: u64,
    /// Events without a message. Counted, not analysed.
    pub malformed: u64,
}

/// Error codes retried here, on top of the SDK's own attempts (FilterLogEvents models no
/// throttling error: it comes as `ThrottlingException`, an unmodeled code).
const RETRY_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

impl Insights {
    /// Reads every event of `log_group`'s `authenticator-*` streams in `[start_ms, end_ms)`
    /// with FilterLogEvents and pushes each into `sink` (`Loc.input` is the log group,
    /// `Loc.line` the 1-based event number), page by page in the order the service returns
    /// them (by timestamp). Returns only when the last page was read; an error, or
    /// `cancel` completing ([`Error::Interrupted`]), leaves the window incomplete.
    /// `calls` counts every FilterLogEvents request as it is sent.
    #[allow(clippy::too_many_arguments)] // one window of one group, as the Insights fetch
    pub async fn filter_events<S, C>(
        &self,
        log_group: &str,
        start_ms: i64,
        end_ms: i64,
        limiter: &RateLimiter,
        retry: RetryPolicy,
        calls: &AtomicU64,
        sink: &mut S,
        cancel: C,
    ) -> Result<FilterStats, Error>
    where
        S: LineSink + ?Sized,
        C: Future<Output = ()>,
    {
        if end_ms <= start_ms {
            return Err(Error::InvalidRequest(format!(
                "bad time window {start_ms}..{end_ms} for {log_group} (epoch ms, start < end)"
            )));
        }
        let mut cancel = std::pin::pin!(cancel);
        let mut stats = FilterStats::default();
        let mut token: Option<String> = None;
        let mut line = 0u64;
        // A hand-written loop rather than the SDK's paginator: a throttled page is asked for
        // again with the same token, which the paginator does not let us do.
        loop {
            let page = tokio::select! {
                page = self.filter_page(log_group, start_ms, end_ms, token.as_deref(), limiter, retry, calls, &mut stats) => page?,
                () = &mut cancel => return Err(Error::Interrupted { signal: None, stopped: 0 }),
            };
            stats.pages += 1;
            for e in page.events() {
                stats.events += 1;
                let Some(message) = e.message() else {
                    stats.malformed += 1;
                    continue;
                };
                stats.bytes += message.len() as u64;
                if !e
                    .log_stream_name()
                    .is_some_and(|s| s.starts_with(AUTHENTICATOR_STREAM_PREFIX))
                {
                    stats.other_streams += 1;
                    continue;
                }
                line += 1;
                let envelope = Envelope {
                    timestamp_ms: e.timestamp(),
                    stream: e.log_stream_name(),
                    ptr: e.event_id(),
                    // The Insights rows carry none either: the same envelope, the same report.
                    ingestion_ms: None,
                    ..Envelope::default()
                };
                sink.line(
                    message.as_bytes(),
                    &envelope,
                    Loc {
                        input: log_group,
                        line,
                    },
                );
            }
            // No token: the last page. A token handed back unchanged would loop forever.
            match page.next_token() {
                Some(t) if token.as_deref() != Some(t) => token = Some(t.to_owned()),
                _ => return Ok(stats),
            }
        }
    }

    /// One page, paced by `limiter`, `ThrottlingException` retried with backoff.
    #[allow(clippy::too_many_arguments)]
    async fn filter_page(
        &self,
        log_group: &str,
        start_ms: i64,
        end_ms: i64,
        token: Option<&str>,
        limiter: &RateLimiter,
        retry: RetryPolicy,
        calls: &AtomicU64,
        stats: &mut FilterStats,
    ) -> Result<FilterLogEventsOutput, Error> {
        let mut attempt = 0u32;
        loop {
            limiter.acquire().await;
            calls.fetch_add(1, Ordering::Relaxed);
            stats.calls += 1;
            // A source account's group, read from a monitoring account, is named by its ARN
            // (`logGroupIdentifier`, the parameter that takes ARNs).
            let request = self.client.filter_log_events();
            let request = match super::arn_parts(log_group) {
                Some(_) => request.log_group_identifier(log_group),
                None => request.log_group_name(log_group),
            };
            let sent = request
                .log_stream_name_prefix(AUTHENTICATOR_STREAM_PREFIX)
                .start_time(start_ms)
                .end_time(end_ms - 1)
                .set_next_token(token.map(str::to_owned))
                .send()
                .await;
            let err = match sent {
                Ok(page) => return Ok(page),
                Err(e) => e,
            };
            let throttled = is_throttled(&err);
            if throttled && attempt < retry.max_retries {
                stats.throttled += 1;
                tokio::time::sleep(backoff(retry, attempt)).await;
                attempt += 1;
                continue;
            }
            return Err(self.filter_error(log_group, err, attempt + 1, throttled));
        }
    }

    fn filter_error(
        &self,
        log_group: &str,
        err: SdkError<FilterLogEventsError, HttpResponse>,
        attempts: u32,
        throttled: bool,
    ) -> Error {
        if err
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception())
        {
            return Error::LogGroupNotFound {
                log_group: log_group.to_owned(),
                cluster: cluster_name(log_group).map(str::to_owned),
                region: self.region.clone(),
            };
        }
        if throttled {
            return Error::Throttled {
                op: "FilterLogEvents",
                log_group: log_group.to_owned(),
                attempts,
                sdk: Box::new(aws_sdk_cloudwatchlogs::Error::from(err)),
            };
        }
        super::error::classify(
            &self.client,
            &self.endpoint,
            "FilterLogEvents",
            log_group,
            err,
        )
    }
}

fn is_throttled(err: &SdkError<FilterLogEventsError, HttpResponse>) -> bool {
    use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
    matches!(err, SdkError::ServiceError(_) | SdkError::ResponseError(_))
        && err.code().is_some_and(|c| RETRY_CODES.contains(&c))
}

/// Doubling from `base` up to `max`, with a quarter of it varied by the clock so that
/// targets throttled together do not retry together.
fn backoff(retry: RetryPolicy, attempt: u32) -> Duration {
    let exp = retry
        .base
        .saturating_mul(1u32 << attempt.min(16))
        .min(retry.max);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    exp * 3 / 4 + (exp / 4).mul_f64(f64::from(nanos % 1000) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_limiter_spaces_calls_at_the_rate() {
        let l = RateLimiter::per_second(FILTER_TPS);
        let t0 = Instant::now();
        for _ in 0..6 {
            l.acquire().await;
        }
        // Six calls at 5 per second: the sixth goes one second after the first.
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let r = RetryPolicy {
            max_retries: 3,
            base: Duration::from_millis(100),
            max: Duration::from_millis(300),
        };
        let b0 = backoff(r, 0);
        assert!(b0 >= Duration::from_millis(75) && b0 <= Duration::from_millis(100));
        let b5 = backoff(r, 5);
        assert!(b5 >= Duration::from_millis(225) && b5 <= Duration::from_millis(300));
    }
}
