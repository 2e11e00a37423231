//! The query runner: one StartQuery per (query, log group, time window), polled with a growing
//! interval until a terminal status, paged with `nextToken`, and split in halves when a window
//! hits the row cap. Queries run as tokio tasks under a semaphore, with StartQuery calls paced.
//! Cancellation, errors and the deadline all end in StopQuery for every query still running.
//!
//! This module returns raw rows per window; decoding, filtering and deduplication are the
//! caller's (`mod.rs`).

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsError;
use aws_sdk_cloudwatchlogs::operation::start_query::StartQueryError;
use aws_sdk_cloudwatchlogs::types::{QueryStatus, ResultField};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::budget::{Reservation, ScanBudget};
use super::{
    ApiCalls, Error, Estimate, EstimateSource, PollPolicy, Progress, QueryCost, RetryPolicy,
    Status, cluster_name, cost_usd,
};
use eks_authlog_core::queries::Query;

/// Error codes retried by this crate on top of the SDK's own attempts. A full concurrency
/// quota (`LimitExceededException`) frees up only as other queries finish, which can outlast
/// the SDK's three quick attempts. Server errors (5xx) and unreachable endpoints are not
/// retried here: the SDK already retried them, and more would only hide the cause for a
/// minute.
const RETRY_CODES: &[&str] = &[
    "LimitExceededException",
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// How often the progress line is refreshed while nothing else happens (a StartQuery that
/// does not answer, a long poll interval).
const TICK: Duration = Duration::from_secs(1);

/// Upper bound on GetQueryResults pages per query. With `limit` ≤ 10,000 one page is normal;
/// this only stops a server that keeps handing out tokens.
const MAX_PAGES: usize = 100;

/// How long StopQuery may take on the way out (Ctrl-C must not hang).
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct Job {
    pub query: usize,
    /// Index into [`Ctx::targets`]: the log groups this query reads.
    pub group: usize,
    pub start: i64,
    pub end: i64,
    pub depth: u32,
    /// Run the query's `| estimate` text instead (no charge, never split).
    pub estimate: bool,
    /// The job's hold on the scan budget, settled when it completes.
    pub reservation: Option<Reservation>,
}

impl Job {
    pub(crate) fn new(query: usize, group: usize, start: i64, end: i64) -> Job {
        Job {
            query,
            group,
            start,
            end,
            depth: 0,
            estimate: false,
            reservation: None,
        }
    }
}

/// The rows one query window returned.
pub(crate) struct WindowRows {
    pub job: Job,
    pub rows: Vec<Vec<ResultField>>,
    /// The window returned as many rows as the cap and could not be split further.
    pub capped: bool,
    /// What the window counted against the budget: its bytes scanned, else its estimate.
    pub spent: f64,
    /// An estimate job whose text the service rejected (MalformedQuery): its message.
    pub estimate_refused: Option<String>,
}

/// Bytes scanned and windows run by one (query, log group).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cost {
    pub bytes: f64,
    pub windows: u64,
    pub without_statistics: u64,
}

#[derive(Default)]
pub(crate) struct Stats {
    pub records_matched: f64,
    pub records_scanned: f64,
    pub bytes_scanned: f64,
    pub without_statistics: u64,
    pub completed: u64,
    pub windows_split: u64,
    /// Estimate queries completed.
    pub estimates_run: u64,
    /// Sum of the estimates admitted, for progress.
    pub bytes_estimated: f64,
    /// Per (query index, group index).
    pub costs: HashMap<(usize, usize), Cost>,
    /// The estimate of each (query index, group index, window start).
    pub estimates: HashMap<(usize, usize, i64), Estimate>,
}

#[derive(Default)]
pub(crate) struct Counters {
    start_query: AtomicU64,
    get_query_results: AtomicU64,
    stop_query: AtomicU64,
    pub describe_log_groups: AtomicU64,
}

pub(crate) struct Ctx {
    pub client: Client,
    pub region: String,
    /// Where requests go, for errors: the endpoint override, else "CloudWatch Logs in REGION".
    pub endpoint: String,
    /// (query, text with the row cap substituted).
    pub queries: Vec<(&'static Query, String)>,
    /// Each query's `| estimate` text (same order).
    pub estimate_texts: Vec<String>,
    /// The run's scan budget; `None`: queries are neither estimated nor budgeted.
    pub budget: Option<Arc<ScanBudget>>,
    /// What each query reads: one log group, or up to 50 (one StartQuery with
    /// `logGroupNames`; rows then say their group in `@log`).
    pub targets: Vec<Vec<String>>,
    pub limit: u32,
    pub max_split_depth: u32,
    pub poll: PollPolicy,
    pub retry: RetryPolicy,
    pub start_interval: Duration,
    pub progress: Arc<dyn Progress>,
    sem: Semaphore,
    next_start: Mutex<Instant>,
    /// Running query id → (query index, group index, records scanned so far).
    running: Mutex<HashMap<String, (usize, usize, f64)>>,
    pub counters: Counters,
    pub stats: Mutex<Stats>,
    t0: Instant,
    /// The last status reported, repeated by the progress tick.
    last_status: Mutex<&'static str>,
    jitter: std::collections::hash_map::RandomState,
    jitter_seq: AtomicU64,
}

impl Ctx {
    #[allow(clippy::too_many_arguments)] // internal constructor, called from two places
    pub(crate) fn new(
        client: Client,
        region: String,
        endpoint: String,
        queries: Vec<(&'static Query, String)>,
        targets: Vec<Vec<String>>,
        req: &super::Request,
        max_split_depth: u32,
        progress: Arc<dyn Progress>,
    ) -> Self {
        let estimate_texts = queries
            .iter()
            .map(|(q, _)| q.estimate_text().unwrap_or_default())
            .collect();
        Ctx {
            client,
            region,
            endpoint,
            queries,
            estimate_texts,
            budget: req.budget.clone(),
            targets,
            limit: req.limit,
            max_split_depth,
            poll: req.poll,
            retry: req.retry,
            start_interval: req.start_interval,
            progress,
            sem: Semaphore::new(req.max_concurrency.max(1)),
            next_start: Mutex::new(Instant::now()),
            running: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            stats: Mutex::new(Stats::default()),
            t0: Instant::now(),
            last_status: Mutex::new("Starting"),
            jitter: std::collections::hash_map::RandomState::new(),
            jitter_seq: AtomicU64::new(0),
        }
    }

    pub(crate) fn api_calls(&self) -> ApiCalls {
        ApiCalls {
            start_query: self.counters.start_query.load(Ordering::Relaxed),
            get_query_results: self.counters.get_query_results.load(Ordering::Relaxed),
            stop_query: self.counters.stop_query.load(Ordering::Relaxed),
            describe_log_groups: self.counters.describe_log_groups.load(Ordering::Relaxed),
            ..ApiCalls::default()
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.t0.elapsed()
    }

    fn report(&self, status: &'static str) {
        *self.last_status.lock().unwrap() = status;
        let (running, scanning) = {
            let r = self.running.lock().unwrap();
            (r.len(), r.values().map(|v| v.2).sum::<f64>())
        };
        let (completed, scanned, bytes_scanned, bytes_estimated) = {
            let s = self.stats.lock().unwrap();
            (
                s.completed,
                s.records_scanned,
                s.bytes_scanned,
                s.bytes_estimated,
            )
        };
        self.progress.update(&Status {
            running,
            completed,
            last_status: status,
            records_scanned: scanned + scanning,
            bytes_scanned,
            bytes_estimated,
            elapsed: self.elapsed(),
        });
    }

    /// Waits for this StartQuery's slot: calls are spaced `start_interval` apart.
    async fn pace(&self) {
        let at = {
            let mut next = self.next_start.lock().unwrap();
            let at = (*next).max(Instant::now());
            *next = at + self.start_interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Exponential backoff with "equal jitter": half fixed, half random.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.retry.max);
        let r = self
            .jitter
            .hash_one(self.jitter_seq.fetch_add(1, Ordering::Relaxed));
        let frac = (r % 1_000_001) as f64 / 1_000_000.0;
        exp / 2 + (exp / 2).mul_f64(frac)
    }

    /// Every log group, in request order (the targets' groups, concatenated).
    pub(crate) fn groups(&self) -> Vec<String> {
        self.targets.concat()
    }

    /// The log group a target reads, or `N log groups (first, …)` for a batch: errors and
    /// notes name it.
    pub(crate) fn group_name(&self, target: usize) -> String {
        match self.targets[target].as_slice() {
            [one] => one.clone(),
            many => format!(
                "{} log groups ({}, …)",
                many.len(),
                many.first().map_or("", String::as_str)
            ),
        }
    }

    /// Per (query, log group), in query then group order: the estimates before and the bytes
    /// scanned after, over all its windows.
    pub(crate) fn query_costs(&self, s: &Stats) -> Vec<QueryCost> {
        let mut keys: BTreeSet<(usize, usize)> = s.costs.keys().copied().collect();
        keys.extend(s.estimates.keys().map(|&(q, g, _)| (q, g)));
        keys.into_iter()
            .map(|(q, g)| {
                let mut starts: Vec<&(usize, usize, i64)> = s
                    .estimates
                    .keys()
                    .filter(|&&(eq, eg, _)| (eq, eg) == (q, g))
                    .collect();
                starts.sort();
                let estimates: Vec<&Estimate> = starts.iter().map(|k| &s.estimates[*k]).collect();
                let estimated = (!estimates.is_empty())
                    .then(|| estimates.iter().map(|e| e.bytes).sum::<Option<f64>>())
                    .flatten();
                // The weakest source of its windows.
                let source = estimates
                    .iter()
                    .map(|e| e.source)
                    .max_by_key(|s| match s {
                        EstimateSource::Insights => 0,
                        EstimateSource::StoredBytes => 1,
                        EstimateSource::None => 2,
                    })
                    .unwrap_or(EstimateSource::None);
                let cost = s.costs.get(&(q, g)).copied().unwrap_or_default();
                let scanned = (cost.windows > cost.without_statistics).then_some(cost.bytes);
                QueryCost {
                    query: self.queries[q].0.name,
                    log_group: self.group_name(g),
                    windows: cost.windows,
                    estimated_bytes: estimated,
                    estimate_source: source,
                    estimate_note: estimates.iter().find_map(|e| e.note.clone()),
                    bytes_scanned: scanned,
                    estimated_cost_usd: estimated.map(cost_usd),
                    cost_usd: scanned.map(cost_usd),
                }
            })
            .collect()
    }

    /// `query recent on /aws/eks/demo/cluster, 1795000000..1795086400`: a job, for budget
    /// errors.
    pub(crate) fn what(&self, job: &Job) -> String {
        format!(
            "query {} on {}, {}..{}",
            self.queries[job.query].0.name,
            self.group_name(job.group),
            job.start,
            job.end
        )
    }
}

/// `modeled` says whether the operation's modeled error is a retryable one (the error code is
/// not always in the metadata of modeled errors, so matching codes alone is not enough). Only
/// throttling and a full concurrency quota are: they clear by waiting.
fn is_retryable<E: ProvideErrorMetadata>(
    err: &SdkError<E, HttpResponse>,
    modeled: fn(&E) -> bool,
) -> bool {
    if err.as_service_error().is_some_and(modeled) {
        return true;
    }
    match err {
        SdkError::ResponseError(_) | SdkError::ServiceError(_) => {
            err.code().is_some_and(|c| RETRY_CODES.contains(&c))
        }
        _ => false,
    }
}

/// Calls `f` until it succeeds, fails with a non-retryable error, or `retry.max_retries` extra
/// attempts are spent. Returns the last error and the number of attempts.
async fn with_retry<T, E, F, Fut>(
    ctx: &Ctx,
    counter: &AtomicU64,
    modeled: fn(&E) -> bool,
    mut f: F,
) -> Result<T, (SdkError<E, HttpResponse>, u32, bool)>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let mut attempt = 0;
    loop {
        counter.fetch_add(1, Ordering::Relaxed);
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                let retryable = is_retryable(&e, modeled);
                if !retryable || attempt >= ctx.retry.max_retries {
                    return Err((e, attempt + 1, retryable));
                }
                tokio::time::sleep(ctx.backoff(attempt)).await;
                attempt += 1;
            }
        }
    }
}

fn start_query_retryable(e: &StartQueryError) -> bool {
    e.is_limit_exceeded_exception()
}

fn results_retryable(_: &GetQueryResultsError) -> bool {
    false
}

fn sdk_error<E>(
    ctx: &Ctx,
    op: &'static str,
    log_group: &str,
    err: SdkError<E, HttpResponse>,
    attempts: u32,
    retryable: bool,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    aws_sdk_cloudwatchlogs::Error: From<SdkError<E, HttpResponse>>,
{
    if retryable {
        return Error::Throttled {
            op,
            log_group: log_group.to_owned(),
            attempts,
            sdk: Box::new(aws_sdk_cloudwatchlogs::Error::from(err)),
        };
    }
    super::error::classify(&ctx.client, &ctx.endpoint, op, log_group, err)
}

fn start_query_error(
    ctx: &Ctx,
    job: &Job,
    err: SdkError<StartQueryError, HttpResponse>,
    attempts: u32,
    retryable: bool,
) -> Error {
    let log_group = ctx.group_name(job.group);
    let log_group = log_group.as_str();
    let (query, text) = &ctx.queries[job.query];
    if let Some(StartQueryError::MalformedQueryException(m)) = err.as_service_error() {
        let compile = m.query_compile_error();
        let location = compile
            .and_then(|c| c.location())
            .and_then(|l| Some((l.start_char_offset()?, l.end_char_offset()?)));
        let excerpt = location.map(|(s, e)| {
            let s = s.max(0) as usize;
            let e = (e.max(0) as usize).max(s + 1);
            text.chars().skip(s).take(e - s).collect::<String>()
        });
        let message = compile
            .and_then(|c| c.message())
            .or(m.message())
            .unwrap_or("")
            .to_owned();
        return Error::MalformedQuery {
            query: query.name,
            message,
            location,
            excerpt,
        };
    }
    if err
        .as_service_error()
        .is_some_and(|e| e.is_resource_not_found_exception())
    {
        return Error::LogGroupNotFound {
            log_group: log_group.to_owned(),
            cluster: cluster_name(log_group).map(str::to_owned),
            region: ctx.region.clone(),
        };
    }
    sdk_error(ctx, "StartQuery", log_group, err, attempts, retryable)
}

/// Runs one window: StartQuery, poll, page. Holds a concurrency permit throughout.
async fn run_window(ctx: Arc<Ctx>, mut job: Job) -> Result<WindowRows, Error> {
    let _permit = ctx.sem.acquire().await.expect("semaphore never closed");
    let log_group = ctx.group_name(job.group);
    let targets = &ctx.targets[job.group];
    let estimate = job.estimate;
    let text = if estimate {
        ctx.estimate_texts[job.query].as_str()
    } else {
        ctx.queries[job.query].1.as_str()
    };
    // An estimate returns one row; the row cap would only be one more thing to reject.
    let limit = (!estimate).then_some(ctx.limit as i32);
    ctx.pace().await;
    let started = with_retry(
        &ctx,
        &ctx.counters.start_query,
        start_query_retryable,
        || {
            let start = ctx.client.start_query();
            // One group keeps `logGroupName`, which every server (and moto) understands.
            // Groups named by ARN (a monitoring account's source-account groups) go in
            // `logGroupIdentifiers`, the one parameter that takes ARNs.
            let start = match targets.as_slice() {
                ids if ids.iter().any(|g| super::arn_parts(g).is_some()) => {
                    start.set_log_group_identifiers(Some(ids.to_vec()))
                }
                [one] => start.log_group_name(one),
                many => start.set_log_group_names(Some(many.to_vec())),
            };
            start
                .start_time(job.start)
                .end_time(job.end)
                .query_string(text)
                .set_limit(limit)
                .send()
        },
    )
    .await;
    let started = match started {
        Ok(s) => s,
        Err((e, n, r)) => {
            let err = start_query_error(&ctx, &job, e, n, r);
            // A service without `estimate` rejects the text: that query then has no estimate
            // (the caller falls back), which is not a reason to fail the run.
            if let (true, Error::MalformedQuery { message, .. }) = (estimate, &err) {
                let refused = Some(message.clone());
                return Ok(WindowRows {
                    job,
                    rows: Vec::new(),
                    capped: false,
                    spent: 0.0,
                    estimate_refused: refused,
                });
            }
            return Err(err);
        }
    };
    let id = started.query_id().unwrap_or_default().to_owned();
    if id.is_empty() {
        return Err(Error::QueryEnded {
            log_group,
            query_id: String::new(),
            status: "<no query id returned>".into(),
        });
    }
    ctx.running
        .lock()
        .unwrap()
        .insert(id.clone(), (job.query, job.group, 0.0));
    ctx.report(if estimate { "Estimating" } else { "Scheduled" });

    let mut delay = ctx.poll.initial;
    let first = loop {
        tokio::time::sleep(delay).await;
        delay = delay.mul_f64(ctx.poll.factor.max(1.0)).min(ctx.poll.max);
        let out = with_retry(
            &ctx,
            &ctx.counters.get_query_results,
            results_retryable,
            || ctx.client.get_query_results().query_id(&id).send(),
        )
        .await
        .map_err(|(e, n, r)| sdk_error(&ctx, "GetQueryResults", &log_group, e, n, r))?;
        let scanned = out.statistics().map(|s| s.records_scanned());
        let status = out.status().cloned();
        match status {
            Some(QueryStatus::Complete) => break out,
            Some(QueryStatus::Scheduled) | Some(QueryStatus::Running) => {
                if let Some(scanned) = scanned
                    && let Some(r) = ctx.running.lock().unwrap().get_mut(&id)
                {
                    r.2 = scanned;
                }
                let name = match status {
                    _ if estimate => "Estimating",
                    Some(QueryStatus::Scheduled) => "Scheduled",
                    _ => "Running",
                };
                ctx.report(name);
            }
            other => {
                // Failed, Cancelled, Timeout, "Unknown" and anything newer: nothing is
                // running any more, and nothing can be trusted.
                ctx.running.lock().unwrap().remove(&id);
                return Err(Error::QueryEnded {
                    log_group,
                    query_id: id,
                    status: other.map_or("<none>".to_owned(), |s| s.as_str().to_owned()),
                });
            }
        }
    };
    ctx.running.lock().unwrap().remove(&id);

    let bytes_scanned = first.statistics().map(|st| st.bytes_scanned());
    let spent =
        bytes_scanned.unwrap_or_else(|| job.reservation.as_ref().map_or(0.0, |r| r.bytes()));
    if let Some(r) = job.reservation.take() {
        r.record(bytes_scanned);
    }
    {
        let mut s = ctx.stats.lock().unwrap();
        if estimate {
            s.estimates_run += 1;
        } else {
            s.completed += 1;
            let cost = s.costs.entry((job.query, job.group)).or_default();
            cost.windows += 1;
            match first.statistics() {
                Some(st) => {
                    cost.bytes += st.bytes_scanned();
                    s.records_matched += st.records_matched();
                    s.records_scanned += st.records_scanned();
                    s.bytes_scanned += st.bytes_scanned();
                }
                None => {
                    cost.without_statistics += 1;
                    s.without_statistics += 1;
                }
            }
        }
    }
    let mut next = first.next_token().map(str::to_owned);
    let mut rows = first.results.unwrap_or_default();
    let mut pages = 1;
    while let Some(token) = next.take() {
        if pages >= MAX_PAGES {
            break;
        }
        let page = with_retry(
            &ctx,
            &ctx.counters.get_query_results,
            results_retryable,
            || {
                ctx.client
                    .get_query_results()
                    .query_id(&id)
                    .next_token(&token)
                    .send()
            },
        )
        .await
        .map_err(|(e, n, r)| sdk_error(&ctx, "GetQueryResults", &log_group, e, n, r))?;
        pages += 1;
        next = page.next_token().filter(|t| *t != token).map(str::to_owned);
        rows.extend(page.results.unwrap_or_default());
    }
    ctx.report("Complete");
    let capped = !estimate && rows.len() >= ctx.limit as usize;
    Ok(WindowRows {
        job,
        rows,
        capped,
        spent,
        estimate_refused: None,
    })
}

/// A window is split only if both halves are strictly smaller: `[s, m]` and `[m, e]` overlap
/// in second `m` because both ends are inclusive and sub-second events at `m` would otherwise
/// fall between the halves; the caller removes the overlap by `@ptr`.
fn halves(job: &Job, max_depth: u32) -> Option<(Job, Job)> {
    let width = job.end - job.start;
    if width < 2 || job.depth >= max_depth {
        return None;
    }
    let mid = job.start + width / 2;
    let half = |start, end| Job {
        depth: job.depth + 1,
        ..Job::new(job.query, job.group, start, end)
    };
    Some((half(job.start, mid), half(mid, job.end)))
}

/// Runs every job (and the halves of capped windows) to completion. On error, cancellation
/// or deadline, every query still running is stopped before returning.
pub(crate) async fn run<C: Future<Output = ()>>(
    ctx: Arc<Ctx>,
    jobs: Vec<Job>,
    cancel: C,
) -> Result<Vec<WindowRows>, Error> {
    let mut set = JoinSet::new();
    for job in jobs {
        set.spawn(run_window(ctx.clone(), job));
    }
    let mut done = Vec::new();
    let deadline = async {
        match ctx.poll.deadline {
            Some(d) => tokio::time::sleep_until(ctx.t0 + d).await,
            None => std::future::pending().await,
        }
    };
    let ticker = async {
        let mut tick = tokio::time::interval_at(ctx.t0 + TICK, TICK);
        loop {
            tick.tick().await;
            let status = *ctx.last_status.lock().unwrap();
            ctx.report(status);
        }
    };
    let outcome = {
        let work = drive(&ctx, &mut set, &mut done);
        tokio::select! {
            r = work => r,
            () = cancel => Err(Error::Interrupted { signal: None, stopped: 0 }),
            () = deadline => Err(Error::DeadlineExceeded {
                deadline: ctx.poll.deadline.unwrap_or_default(),
                elapsed: ctx.elapsed(),
                stopped: 0,
            }),
            () = ticker => unreachable!("the progress tick never ends"),
        }
    };
    // Aborts tasks that are still polling (their queries stay in `running`) and waits for
    // them, so the set of running queries is final.
    set.shutdown().await;
    match outcome {
        Ok(()) => Ok(done),
        Err(mut e) => {
            let n = stop_running(&ctx).await;
            if let Error::Interrupted { stopped, .. } | Error::DeadlineExceeded { stopped, .. } =
                &mut e
            {
                *stopped = n;
            }
            Err(e)
        }
    }
}

async fn drive(
    ctx: &Arc<Ctx>,
    set: &mut JoinSet<Result<WindowRows, Error>>,
    done: &mut Vec<WindowRows>,
) -> Result<(), Error> {
    while let Some(joined) = set.join_next().await {
        let window = match joined {
            Ok(r) => r?,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => continue, // aborted: only happens during shutdown
        };
        if window.capped
            && let Some((mut a, mut b)) = halves(&window.job, ctx.max_split_depth)
        {
            // The capped rows are dropped: the halves cover the same span, and scan it again.
            // Each half is expected to scan half of what the whole window did.
            if let Some(budget) = &ctx.budget {
                let half = window.spent / 2.0;
                a.reservation = Some(budget.reserve(half, &ctx.what(&a))?);
                b.reservation = Some(budget.reserve(half, &ctx.what(&b))?);
            }
            ctx.stats.lock().unwrap().windows_split += 1;
            set.spawn(run_window(ctx.clone(), a));
            set.spawn(run_window(ctx.clone(), b));
            continue;
        }
        done.push(window);
    }
    Ok(())
}

/// Best-effort StopQuery for every query still running. A query that ended meanwhile answers
/// with an error ("not running"), and moto answers 500 to every StopQuery; both are ignored.
/// Returns how many queries were asked to stop.
async fn stop_running(ctx: &Arc<Ctx>) -> usize {
    let ids: Vec<String> = ctx
        .running
        .lock()
        .unwrap()
        .drain()
        .map(|(k, _)| k)
        .collect();
    let n = ids.len();
    let mut set = JoinSet::new();
    for id in ids {
        let ctx = ctx.clone();
        set.spawn(async move {
            ctx.counters.stop_query.fetch_add(1, Ordering::Relaxed);
            let _ = tokio::time::timeout(STOP_TIMEOUT, ctx.client.stop_query().query_id(id).send())
                .await;
        });
    }
    while set.join_next().await.is_some() {}
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(start: i64, end: i64, depth: u32) -> Job {
        Job {
            depth,
            ..Job::new(0, 0, start, end)
        }
    }

    #[test]
    fn halves_overlap_in_the_middle_second_and_shrink() {
        let (a, b) = halves(&job(100, 200, 0), 10).unwrap();
        assert_eq!((a.start, a.end, a.depth), (100, 150, 1));
        assert_eq!((b.start, b.end, b.depth), (150, 200, 1));
        let (a, b) = halves(&job(10, 12, 0), 10).unwrap();
        assert_eq!((a.start, a.end), (10, 11));
        assert_eq!((b.start, b.end), (11, 12));
    }

    #[test]
    fn one_second_windows_and_max_depth_do_not_split() {
        assert!(halves(&job(10, 11, 0), 10).is_none());
        assert!(halves(&job(10, 10, 0), 10).is_none());
        assert!(halves(&job(0, 1000, 3), 3).is_none());
    }
}
