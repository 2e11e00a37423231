//! CloudWatch Logs Insights source: runs the embedded queries
//! ([`eks_authlog_core::queries`]) over `/aws/eks/<cluster>/cluster` log groups and either pushes each
//! authenticator line into a [`LineSink`] (strategy [`Strategy::Events`]) or returns
//! server-side aggregates ([`Strategy::Aggregate`]).
//!
//! What it guarantees:
//! - every query is sent with an explicit row cap; a window that returns as many rows as the
//!   cap is split in halves until every window is under it, and a window that cannot be split
//!   further makes the result *incomplete* ([`FetchMeta::complete`]), never silently cut;
//! - event rows are deduplicated by `@ptr` and re-checked locally: a row whose `@logStream` is
//!   not an `authenticator-` stream is dropped and counted (servers may ignore `filter`;
//!   moto does);
//! - on cancellation, error or deadline every running query is stopped (StopQuery), because a
//!   query left running keeps scanning and billing;
//! - with a [`budget::ScanBudget`] in the [`Request`], every query is first estimated
//!   (`| estimate`, no charge; [`Insights::estimate`]) and admitted against the budget before
//!   any of them starts; a refusal ([`Error::Budget`]) spends nothing.
//!
//! It knows nothing about logfmt: lines go to the sink as bytes, with their envelope.

pub mod budget;
mod engine;
pub(crate) mod error;
pub mod filter;
mod rows;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::ConfigLoader;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::ResultField;
use serde::Serialize;

use eks_authlog_core::queries::{self, Query, Shape};
use eks_authlog_core::source::{Envelope, LineSink, Loc};

pub use eks_authlog_core::report::source::{
    ApiCalls, EstimateSource, FetchMeta, PRICE_USD_PER_GB, QueryCost, QueryWindow, Strategy,
    cost_usd,
};
pub use error::Error;
pub use rows::{AUTHENTICATOR_STREAM_PREFIX, AggKind, AggregateRow, ForbiddenRow, IdentityRow};

use budget::ScanBudget;

/// Rows per GetQueryResults page, and the largest row cap this crate asks for.
pub const MAX_LIMIT: u32 = 10_000;

/// Most log groups one StartQuery may name (`logGroupNames`, StartQuery API reference).
pub const MAX_GROUPS_PER_QUERY: usize = 50;

/// Log group of an EKS cluster's control-plane logs.
pub fn log_group_for_cluster(cluster: &str) -> String {
    format!("/aws/eks/{cluster}/cluster")
}

/// The cluster name of a `/aws/eks/<cluster>/cluster` log group.
pub fn cluster_name(log_group: &str) -> Option<&str> {
    let c = log_group
        .strip_prefix("/aws/eks/")?
        .strip_suffix("/cluster")?;
    (!c.is_empty() && !c.contains('/')).then_some(c)
}

/// How to build the SDK client. Everything left `None` comes from the default chain
/// (environment, shared config, SSO, web identity, container, IMDS).
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// Total attempts per API call inside the SDK (standard retry mode). `None` keeps the
    /// SDK default (3), which `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` can change.
    pub max_attempts: Option<u32>,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of one HTTP attempt. Insights calls return quickly: the query runs server-side.
    pub attempt_timeout: Duration,
    /// Timeout of one API call, the SDK's retries included: an endpoint that accepts
    /// connections and never answers is reported ([`Error::Unreachable`]) after this long.
    pub operation_timeout: Duration,
    /// How long resolving credentials may take before we give up with a clear error (the
    /// chain may probe IMDS for seconds when nothing is configured).
    pub credentials_timeout: Duration,
    /// Endpoint override (an emulator); normally `None`, or `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`.
    pub endpoint_url: Option<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            region: None,
            profile: None,
            max_attempts: None,
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(20),
            operation_timeout: Duration::from_secs(60),
            credentials_timeout: Duration::from_secs(10),
            endpoint_url: None,
        }
    }
}

/// The default [`PollPolicy::deadline`] (and `--timeout`): 10 minutes.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10 * 60);

/// When to stop waiting. The interval starts at `initial`, grows by `factor` after every
/// poll, and never exceeds `max`. `deadline` bounds the whole fetch (all queries, splits and
/// retries); when it passes, running queries are stopped and [`Error::DeadlineExceeded`] is
/// returned.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PollPolicy {
    /// First wait after StartQuery.
    pub initial: Duration,
    /// Longest wait between polls.
    pub max: Duration,
    /// Growth per poll (values below 1 count as 1).
    pub factor: f64,
    /// Limit for the whole fetch; `None` waits as long as the service lets queries run (60 min).
    pub deadline: Option<Duration>,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(5),
            factor: 1.5,
            deadline: Some(DEFAULT_DEADLINE),
        }
    }
}

/// Retries on top of the SDK's: throttling and `LimitExceededException` (the account's query
/// concurrency is full), which clear by waiting. Server errors (5xx), refused connections and
/// timeouts get only the SDK's own attempts, then fail with their cause. Backoff doubles from
/// `base` up to `max`, half of it random.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Extra attempts after the first.
    pub max_retries: u32,
    /// First backoff.
    pub base: Duration,
    /// Largest backoff.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            base: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

/// What to fetch: log groups and a time window. Build it with [`Request::new`] and adjust.
#[derive(Clone, Debug)]
pub struct Request {
    /// Log groups, queried [`Request::batch`] per query.
    pub log_groups: Vec<String>,
    /// Log groups per query, 1..=[`MAX_GROUPS_PER_QUERY`] (default 1: errors then name the
    /// group, and rows need no `@log`). Above 1, one StartQuery names several groups
    /// (`logGroupNames`) and each row is attributed to its group by `@log`, which is
    /// `account-id:group-name` on AWS and the bare name on moto; a row whose `@log` names no
    /// group of its query is counted in `rows_malformed`. The row cap is then shared by the
    /// batch, so capped windows split sooner.
    pub batch: usize,
    /// Window start, epoch seconds, inclusive.
    pub start: i64,
    /// Window end, epoch seconds, inclusive.
    pub end: i64,
    /// Row cap per query, 1..=[`MAX_LIMIT`]. Written into the query's `limit` command and sent
    /// as the StartQuery `limit`.
    pub limit: u32,
    /// Queries running at once in this region (the account quota is 100, shared with
    /// dashboards and other users; default 5).
    pub max_concurrency: usize,
    /// Minimum spacing between StartQuery calls (the API rate is ~5 TPS per account).
    pub start_interval: Duration,
    /// How often a capped window may be halved (depth 10 = 1,024 windows per group).
    pub max_split_depth: u32,
    /// Polling and deadline.
    pub poll: PollPolicy,
    /// Retries beyond the SDK's own.
    pub retry: RetryPolicy,
    /// The run's scan budget, shared by every query of the run. With one, every query is
    /// estimated first and admitted against it before any starts (an unlimited budget still
    /// estimates and counts); `None` (the default) neither estimates nor limits.
    pub budget: Option<Arc<ScanBudget>>,
    /// Query only these windows (epoch seconds, inclusive) of every log group instead of
    /// `start..end`; each is its own query, estimated and budgeted on its own. Empty: the
    /// whole `start..end`.
    pub windows: Vec<QueryWindow>,
    /// Estimates already made for exactly these log groups, batches and windows
    /// ([`Insights::estimate_counted`], one per query, batch and window in that order):
    /// with a budget they are admitted instead of estimating again. Empty, or of another
    /// length: the fetch estimates itself.
    pub estimates: Vec<Estimate>,
}

impl Request {
    /// A request with the defaults: cap 10,000, 5 concurrent queries, 250 ms between
    /// StartQuery calls, split depth 10, default poll and retry policies.
    pub fn new(log_groups: Vec<String>, start: i64, end: i64) -> Self {
        Request {
            log_groups,
            batch: 1,
            start,
            end,
            limit: MAX_LIMIT,
            max_concurrency: 5,
            start_interval: Duration::from_millis(250),
            max_split_depth: 10,
            poll: PollPolicy::default(),
            retry: RetryPolicy::default(),
            budget: None,
            windows: Vec::new(),
            estimates: Vec::new(),
        }
    }

    /// The windows queried: [`Request::windows`], else `start..end`.
    fn spans(&self) -> Vec<(i64, i64)> {
        if self.windows.is_empty() {
            vec![(self.start, self.end)]
        } else {
            self.windows.iter().map(|w| (w.start, w.end)).collect()
        }
    }

    fn validate(&self) -> Result<Vec<String>, Error> {
        let bad = |m: String| Err(Error::InvalidRequest(m));
        if self.log_groups.is_empty() {
            return bad("no log group given".into());
        }
        if let Some(g) = self.log_groups.iter().find(|g| g.trim().is_empty()) {
            return bad(format!("empty log group name {g:?}"));
        }
        if let Some((start, end)) = self
            .spans()
            .into_iter()
            .chain([(self.start, self.end)])
            .find(|(s, e)| *s < 0 || e < s)
        {
            return bad(format!(
                "bad time window {start}..{end} (epoch seconds, start <= end)"
            ));
        }
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            return bad(format!("limit {} outside 1..={MAX_LIMIT}", self.limit));
        }
        if self.max_concurrency == 0 {
            return bad("max_concurrency must be at least 1".into());
        }
        if !(1..=MAX_GROUPS_PER_QUERY).contains(&self.batch) {
            return bad(format!(
                "batch {} outside 1..={MAX_GROUPS_PER_QUERY} log groups per query",
                self.batch
            ));
        }
        let mut seen = HashSet::new();
        Ok(self
            .log_groups
            .iter()
            .filter(|g| seen.insert(g.as_str()))
            .cloned()
            .collect())
    }
}

/// Longest window for which [`choose_strategy`] picks events: 7 days.
pub const EVENTS_MAX_WINDOW_SECS: i64 = 7 * 24 * 3600;
/// Most log groups for which [`choose_strategy`] picks events.
pub const EVENTS_MAX_GROUPS: usize = 5;

/// Picks a strategy for `--strategy auto`: events for windows up to
/// [`EVENTS_MAX_WINDOW_SECS`] (7 days) over at most [`EVENTS_MAX_GROUPS`] (5) log groups,
/// aggregate otherwise. An incident responder asking about the last hours wants every line;
/// an audit over months or many clusters would fetch (and split for) hundreds of thousands of
/// lines, at the same scan cost as one aggregate query.
pub fn choose_strategy(window_secs: i64, n_groups: usize) -> Strategy {
    if window_secs <= EVENTS_MAX_WINDOW_SECS && n_groups <= EVENTS_MAX_GROUPS {
        Strategy::Events
    } else {
        Strategy::Aggregate
    }
}

/// A control-plane log group found by [`Insights::discover_clusters`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogGroupInfo {
    /// Log group name.
    pub name: String,
    /// Cluster name from `/aws/eks/<cluster>/cluster`.
    pub cluster: String,
    /// Retention in days; `None` means never expire.
    pub retention_days: Option<i32>,
    /// Creation time, epoch ms: no authenticator history exists before it.
    pub creation_time_ms: Option<i64>,
    /// Stored bytes as DescribeLogGroups reports them (drives the scan cost).
    pub stored_bytes: Option<i64>,
    /// The account that owns it, from its ARN (`arn:aws:logs:REGION:ACCOUNT:log-group:…`).
    pub account: Option<String>,
    /// Its ARN without the trailing `:*` (`logGroupArn`), as a monitoring account names a
    /// source account's group in StartQuery's `logGroupIdentifiers`. Not serialized: the
    /// documents that list log groups keep their fields.
    #[serde(skip)]
    pub arn: Option<String>,
}

impl LogGroupInfo {
    /// Earliest time (epoch ms) from which this group can still hold events at `now_ms`: the
    /// later of its creation and `now - retention`. A window starting before it cannot be
    /// fully answered, so "no evidence" there is not "not found".
    pub fn history_start_ms(&self, now_ms: i64) -> Option<i64> {
        let retained = self
            .retention_days
            .map(|d| now_ms - i64::from(d) * 86_400_000);
        match (self.creation_time_ms, retained) {
            (Some(c), Some(r)) => Some(c.max(r)),
            (c, r) => c.or(r),
        }
    }
}

/// Aggregate rows and what it took to get them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregates {
    /// Rows sorted by kind, log group, count (descending), then arn.
    pub rows: Vec<AggregateRow>,
    /// Metadata.
    pub meta: FetchMeta,
}

/// Audit aggregate rows and what it took to get them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditAggregates {
    /// `audit-forbidden` rows.
    pub forbidden: Vec<ForbiddenRow>,
    /// `audit-identities` rows.
    pub identities: Vec<IdentityRow>,
    /// Metadata.
    pub meta: FetchMeta,
}

/// A progress snapshot.
#[derive(Clone, Debug)]
pub struct Status {
    /// Queries started and not yet finished.
    pub running: usize,
    /// Queries completed.
    pub completed: u64,
    /// Last status seen (`Scheduled`, `Running`, `Complete`).
    pub last_status: &'static str,
    /// Records scanned so far, as the service reports them.
    pub records_scanned: f64,
    /// Bytes scanned by the queries completed so far, as the service reports them.
    pub bytes_scanned: f64,
    /// Sum of the estimates of the queries admitted (0 until they are estimated).
    pub bytes_estimated: f64,
    /// Time since the fetch began.
    pub elapsed: Duration,
}

/// Receives progress and notices; called from query tasks, so it must be `Send + Sync`. The
/// crate never prints: the CLI implements this for a terminal.
pub trait Progress: Send + Sync {
    /// A query changed state or reported progress.
    fn update(&self, status: &Status);
    /// The fetch ended (successfully or not).
    fn finish(&self) {}
    /// Something the user should know that is not an error.
    fn notice(&self, _notice: &Notice) {}
}

/// Something a fetch found that is not an error but usually means the user must act, or
/// what the queries are about to cost and did cost.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// `--all-clusters` found no `/aws/eks/*/cluster` log group in a region.
    NoLogGroups {
        /// The region searched.
        region: String,
    },
    /// A log group returned no authenticator lines for the window.
    NoAuthenticatorLines {
        /// The log group.
        log_group: String,
        /// Its region.
        region: String,
    },
    /// Every query of a fetch was estimated and admitted; none has started yet.
    Estimated {
        /// The region.
        region: String,
        /// Queries admitted (one per query, log group and window).
        queries: usize,
        /// Sum of their estimates, bytes.
        bytes: f64,
        /// Queries among them without any estimate (admitted by an unlimited budget).
        unknown: usize,
        /// What is left of the budget after them; `None` when unlimited.
        left: Option<f64>,
    },
    /// What one query cost over one log group, once it completed.
    Cost(QueryCost),
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::NoLogGroups { region } => {
                write!(f, "no /aws/eks/*/cluster log groups in {region}")
            }
            Notice::NoAuthenticatorLines { log_group, region } => {
                let cluster = cluster_name(log_group).unwrap_or("<CLUSTER>");
                write!(
                    f,
                    "no authenticator lines in {log_group} for this window. If authenticator logging is off, enable it:\n  \
                     aws eks update-cluster-config --name {cluster} --region {region} --logging '{{\"clusterLogging\":[{{\"types\":[\"authenticator\"],\"enabled\":true}}]}}'"
                )
            }
            Notice::Estimated {
                region,
                queries,
                bytes,
                unknown,
                left,
            } => {
                let n = if *queries == 1 { "query" } else { "queries" };
                write!(
                    f,
                    "cloudwatch: {queries} {n} in {region} estimated to scan {} (~${:.4})",
                    budget::Bytes(*bytes),
                    cost_usd(*bytes)
                )?;
                if *unknown > 0 {
                    write!(f, ", {unknown} of them not estimated")?;
                }
                match left {
                    Some(l) => write!(f, "; {} of the scan budget left", budget::Bytes(*l)),
                    None => write!(f, "; no scan budget (--yes)"),
                }
            }
            Notice::Cost(c) => write!(
                f,
                "cloudwatch: {}",
                eks_authlog_core::report::table::query_cost_text(c)
            ),
        }
    }
}

/// Progress that goes nowhere (tests, `--quiet`, pipes).
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn update(&self, _: &Status) {}
}

/// A CloudWatch Logs client for one region, with credentials checked.
#[derive(Clone, Debug)]
pub struct Insights {
    client: Client,
    region: String,
    /// For errors: the endpoint override, else "CloudWatch Logs in REGION".
    endpoint: String,
    /// DescribeLogGroups pages read by [`Insights::discover_clusters`] (API calls).
    describe_pages: Arc<std::sync::atomic::AtomicU64>,
}

impl Insights {
    /// Builds the client from the default chain plus `opts`, and fails fast with a clear error
    /// when there is no region or no credentials.
    pub async fn connect(opts: &ClientOptions) -> Result<Self, Error> {
        let mut loader = crate::sdk::loader(opts);
        if let Some(u) = &opts.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        let mut ins = Self::from_loader(loader, opts).await?;
        // The SDK reads these itself; they are read here only to name the endpoint in errors.
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(u) = (opts.endpoint_url.clone())
            .or_else(|| env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"))
            .or_else(|| env("AWS_ENDPOINT_URL"))
        {
            ins.endpoint = u;
        }
        Ok(ins)
    }

    /// Like [`Insights::connect`] but from a caller-prepared loader (tests, custom credential
    /// providers). Applies the timeouts and `max_attempts` of `opts`.
    pub async fn from_loader(loader: ConfigLoader, opts: &ClientOptions) -> Result<Self, Error> {
        let (conf, region) = crate::sdk::load(loader, opts).await.map_err(|e| match e {
            crate::sdk::LoadError::NoRegion => Error::NoRegion,
            crate::sdk::LoadError::NoCredentials(detail) => Error::NoCredentials { detail },
        })?;
        Ok(Insights {
            client: Client::new(&conf),
            endpoint: default_endpoint(&region),
            region,
            describe_pages: Arc::default(),
        })
    }

    /// Wraps an existing client (tests with `aws-smithy-mocks`). No credential check.
    pub fn from_client(client: Client) -> Result<Self, Error> {
        let region = client.config().region().ok_or(Error::NoRegion)?.to_string();
        Ok(Insights {
            client,
            endpoint: default_endpoint(&region),
            region,
            describe_pages: Arc::default(),
        })
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The region queried.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// DescribeLogGroups calls made so far by [`Insights::discover_clusters`] (one per page).
    pub fn describe_calls(&self) -> u64 {
        self.describe_pages
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Lists `/aws/eks/<cluster>/cluster` log groups whose name starts with `prefix`
    /// (normally `"/aws/eks/"`), sorted by name, for `--all-clusters`.
    pub async fn discover_clusters(&self, prefix: &str) -> Result<Vec<LogGroupInfo>, Error> {
        self.discover(prefix, false).await
    }

    /// Like [`Insights::discover_clusters`], from a monitoring account of CloudWatch
    /// cross-account observability (OAM): DescribeLogGroups with `includeLinkedAccounts`
    /// lists the monitoring account's groups and those of every source account linked to it,
    /// each with its `logGroupArn` (so [`LogGroupInfo::account`] is the source account).
    /// Sorted by account, then name. See
    /// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Unified-Cross-Account.html>
    /// and the API's `includeLinkedAccounts`
    /// (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogGroups.html>).
    pub async fn discover_linked_clusters(&self, prefix: &str) -> Result<Vec<LogGroupInfo>, Error> {
        let mut out = self.discover(prefix, true).await?;
        out.sort_by(|a, b| (&a.account, &a.name).cmp(&(&b.account, &b.name)));
        Ok(out)
    }

    async fn discover(&self, prefix: &str, linked: bool) -> Result<Vec<LogGroupInfo>, Error> {
        let mut request = self
            .client
            .describe_log_groups()
            .log_group_name_prefix(prefix);
        if linked {
            request = request.include_linked_accounts(true);
        }
        let mut pages = request.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            self.describe_pages
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let page = page.map_err(|e| {
                error::classify(
                    &self.client,
                    &self.endpoint,
                    "DescribeLogGroups",
                    &format!("{prefix}*"),
                    e,
                )
            })?;
            for g in page.log_groups() {
                let Some(name) = g.log_group_name() else {
                    continue;
                };
                let Some(cluster) = cluster_name(name) else {
                    continue;
                };
                let arn = g.log_group_arn().or(g.arn());
                out.push(LogGroupInfo {
                    name: name.to_owned(),
                    cluster: cluster.to_owned(),
                    retention_days: g.retention_in_days(),
                    creation_time_ms: g.creation_time(),
                    stored_bytes: g.stored_bytes(),
                    account: arn
                        .and_then(|a| a.split(':').nth(4))
                        .filter(|a| !a.is_empty())
                        .map(str::to_owned),
                    arn: arn.map(|a| a.strip_suffix(":*").unwrap_or(a).to_owned()),
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Strategy `events`: runs `query` (an events-shaped query, e.g. [`queries::RECENT`]) over
    /// every log group and pushes each authenticator line into `sink`, group by group in
    /// request order, each group oldest first. `Loc.input` is the log group, `Loc.line` the
    /// 1-based row number within it.
    ///
    /// `cancel` is any future that completes when the user interrupts (e.g.
    /// `async { tokio::signal::ctrl_c().await.ok(); }`); running queries are then stopped and
    /// [`Error::Interrupted`] is returned.
    pub async fn fetch_events<S, C>(
        &self,
        req: &Request,
        query: &'static Query,
        sink: &mut S,
        progress: Arc<dyn Progress>,
        cancel: C,
    ) -> Result<FetchMeta, Error>
    where
        S: LineSink + ?Sized,
        C: Future<Output = ()>,
    {
        if query.shape != Shape::Events {
            return Err(Error::InvalidRequest(format!(
                "query {} is an aggregate query; use fetch_aggregates",
                query.name
            )));
        }
        let (ctx, windows, groups) = self
            .run_plan(req, &[query], req.max_split_depth, &progress, cancel)
            .await?;
        let batches = &ctx.targets;

        let mut meta = self.meta(&ctx, Strategy::Events, req, &groups);
        let prefix = query.stream_prefix();
        let mut per_group: Vec<Vec<(i64, usize, rows::EventRow)>> = vec![Vec::new(); groups.len()];
        let mut incomplete = Vec::new();
        let mut unattributed = 0u64;
        for w in windows {
            let batch = &batches[w.job.group];
            if w.capped {
                incomplete.push(capped_note(&batch.join(", "), &w.job, req.limit));
            }
            for (i, raw) in w.rows.iter().enumerate() {
                let row = rows::EventRow::decode(raw);
                match attribute(&groups, batch, row.log.as_deref()) {
                    Some(g) => per_group[g].push((w.job.start, i, row)),
                    None => unattributed += 1,
                }
            }
        }
        if unattributed > 0 {
            meta.rows_malformed += unattributed;
            incomplete.push(format!(
                "{unattributed} rows had no @log naming a log group of their query"
            ));
        }
        for (group, mut rows) in groups.iter().zip(per_group) {
            // Windows finish in any order; sort by time, then window and row position, so the
            // output is deterministic.
            rows.sort_by_key(|(wstart, i, r)| (r.ts_ms.unwrap_or(i64::MIN), *wstart, *i));
            let mut seen = HashSet::new();
            let mut line = 0u64;
            for (_, _, row) in &rows {
                if let Some(ptr) = &row.ptr
                    && !seen.insert(ptr.as_str())
                {
                    meta.duplicates_dropped += 1;
                    continue;
                }
                if !row.is_from(prefix) {
                    meta.rows_filtered += 1;
                    continue;
                }
                let Some(message) = &row.message else {
                    meta.rows_malformed += 1;
                    continue;
                };
                line += 1;
                let envelope = Envelope {
                    timestamp_ms: row.ts_ms,
                    stream: row.stream.as_deref(),
                    ptr: row.ptr.as_deref(),
                    ingestion_ms: None,
                    ..Envelope::default()
                };
                sink.line(message.as_bytes(), &envelope, Loc { input: group, line });
            }
            meta.rows += line;
        }
        if meta.rows_malformed > unattributed {
            incomplete.push(format!(
                "{} rows had no @message",
                meta.rows_malformed - unattributed
            ));
        }
        finish_meta(&mut meta, incomplete);
        Ok(meta)
    }

    /// Strategy `aggregate`: runs [`queries::AGG_IDENTITIES`] and [`queries::AGG_FAILURES`]
    /// over every log group. Capped aggregate windows are not split (halves would count the
    /// boundary second twice, and would not reduce the number of groups): they mark the
    /// result incomplete instead. See [`Insights::fetch_events`] for `cancel`.
    pub async fn fetch_aggregates<C>(
        &self,
        req: &Request,
        progress: Arc<dyn Progress>,
        cancel: C,
    ) -> Result<Aggregates, Error>
    where
        C: Future<Output = ()>,
    {
        let plan: [(&'static Query, AggKind); 2] = [
            (&queries::AGG_IDENTITIES, AggKind::Granted),
            (&queries::AGG_FAILURES, AggKind::Denied),
        ];
        let mut out = Vec::new();
        let mut meta = self
            .fetch_stats(
                req,
                &plan.map(|(q, _)| q),
                progress,
                cancel,
                |query, raw, group| {
                    let row = AggregateRow::decode(plan[query].1, raw, group);
                    row.map(|r| out.push(r)).is_some()
                },
            )
            .await?;
        out.sort_by(|a, b| {
            (
                a.kind,
                &a.log_group,
                std::cmp::Reverse(a.count),
                &a.arn,
                &a.username,
                &a.error,
            )
                .cmp(&(
                    b.kind,
                    &b.log_group,
                    std::cmp::Reverse(b.count),
                    &b.arn,
                    &b.username,
                    &b.error,
                ))
        });
        meta.rows = out.len() as u64;
        Ok(Aggregates { rows: out, meta })
    }

    /// The audit aggregates: `audit-forbidden` (authorization denials by user and request)
    /// and/or `audit-identities` (the identity map of successful requests) over every log
    /// group and the whole window of `req`, estimated and budgeted like every query. See
    /// [`Insights::fetch_events`] for `cancel`.
    pub async fn fetch_audit_aggregates<C>(
        &self,
        req: &Request,
        forbidden: bool,
        identities: bool,
        progress: Arc<dyn Progress>,
        cancel: C,
    ) -> Result<AuditAggregates, Error>
    where
        C: Future<Output = ()>,
    {
        let mut plan: Vec<&'static Query> = Vec::new();
        if forbidden {
            plan.push(&queries::AUDIT_FORBIDDEN);
        }
        if identities {
            plan.push(&queries::AUDIT_IDENTITIES);
        }
        let (mut forbidden_rows, mut identity_rows) = (Vec::new(), Vec::new());
        let mut meta = self
            .fetch_stats(req, &plan, progress, cancel, |query, raw, _| {
                match plan[query].shape {
                    Shape::AuditForbiddenStats => {
                        ForbiddenRow::decode(raw).map(|r| forbidden_rows.push(r))
                    }
                    _ => IdentityRow::decode(raw).map(|r| identity_rows.push(r)),
                }
                .is_some()
            })
            .await?;
        meta.rows = (forbidden_rows.len() + identity_rows.len()) as u64;
        Ok(AuditAggregates {
            forbidden: forbidden_rows,
            identities: identity_rows,
            meta,
        })
    }

    /// Runs `stats` queries (never split: halves would count the boundary second twice, and
    /// would not reduce the number of groups; a capped window marks the result incomplete)
    /// and hands each row to `decode(query index, row, log group)`, which says whether it
    /// could read it.
    async fn fetch_stats<C: Future<Output = ()>>(
        &self,
        req: &Request,
        plan: &[&'static Query],
        progress: Arc<dyn Progress>,
        cancel: C,
        mut decode: impl FnMut(usize, &[ResultField], &str) -> bool,
    ) -> Result<FetchMeta, Error> {
        let (ctx, windows, groups) = self.run_plan(req, plan, 0, &progress, cancel).await?;
        let mut meta = self.meta(&ctx, Strategy::Aggregate, req, &groups);
        let mut incomplete = Vec::new();
        for w in windows {
            let batch = &ctx.targets[w.job.group];
            if w.capped {
                incomplete.push(capped_note(&batch.join(", "), &w.job, req.limit));
            }
            for raw in &w.rows {
                let group = attribute(&groups, batch, rows::log_cell(raw));
                if !group.is_some_and(|g| decode(w.job.query, raw, &groups[g])) {
                    meta.rows_malformed += 1;
                }
            }
        }
        if meta.rows_malformed > 0 {
            incomplete.push(format!(
                "{} rows had no `hits` column: the server did not run `stats` (an emulator?)",
                meta.rows_malformed
            ));
        }
        finish_meta(&mut meta, incomplete);
        Ok(meta)
    }

    fn meta(
        &self,
        ctx: &engine::Ctx,
        strategy: Strategy,
        req: &Request,
        groups: &[String],
    ) -> FetchMeta {
        let s = ctx.stats.lock().unwrap();
        FetchMeta {
            strategy,
            queries: ctx.queries.iter().map(|(q, _)| q.name).collect(),
            log_groups: groups.to_vec(),
            regions: vec![self.region.clone()],
            window: QueryWindow {
                start: req.start,
                end: req.end,
            },
            queries_run: s.completed,
            api_calls: ctx.api_calls(),
            records_matched: s.records_matched,
            records_scanned: s.records_scanned,
            bytes_scanned: s.bytes_scanned,
            cost_usd: s.bytes_scanned / 1e9 * PRICE_USD_PER_GB,
            queries_without_statistics: s.without_statistics,
            windows_split: s.windows_split,
            rows: 0,
            rows_filtered: 0,
            rows_malformed: 0,
            duplicates_dropped: 0,
            complete: true,
            incomplete_reason: None,
            elapsed_ms: ctx.elapsed().as_millis() as u64,
            estimate_queries: s.estimates_run,
            estimated_bytes: ctx.budget.as_ref().map(|_| s.bytes_estimated),
            estimated_cost_usd: ctx.budget.as_ref().map(|_| cost_usd(s.bytes_estimated)),
            max_scan_bytes: ctx.budget.as_ref().and_then(|b| b.limit_bytes()),
            query_costs: ctx.query_costs(&s),
            audit_windows: None,
        }
    }

    /// Runs `queries` over every log group and window of `req`: with a budget, estimates
    /// every (query, group, window) first and admits them all before the first starts; then
    /// runs them (splitting capped windows down to `split_depth`), reporting each query's
    /// cost to `progress` at the end.
    async fn run_plan<C: Future<Output = ()>>(
        &self,
        req: &Request,
        queries: &[&'static Query],
        split_depth: u32,
        progress: &Arc<dyn Progress>,
        cancel: C,
    ) -> Result<(Arc<engine::Ctx>, Vec<engine::WindowRows>, Vec<String>), Error> {
        let ctx = self.context(req, queries, split_depth, progress)?;
        let groups = ctx.groups();
        let mut cancel = std::pin::pin!(cancel);
        let mut jobs = initial_jobs(queries.len(), ctx.targets.len(), req);
        let result = async {
            if let Some(budget) = &ctx.budget {
                let estimates = if req.estimates.len() == jobs.len() {
                    req.estimates.clone()
                } else {
                    self.estimate_jobs(&ctx, &jobs, cancel.as_mut()).await?
                };
                let mut unknown = 0;
                for (job, e) in jobs.iter_mut().zip(&estimates) {
                    let what = ctx.what(job);
                    job.reservation = Some(match e.bytes {
                        Some(b) => budget.reserve(b, &what)?,
                        None => {
                            unknown += 1;
                            let why = e.note.as_deref().unwrap_or("no estimate");
                            budget.reserve_unknown(&what, why)?
                        }
                    });
                }
                let bytes: f64 = estimates.iter().filter_map(|e| e.bytes).sum();
                let mut s = ctx.stats.lock().unwrap();
                s.bytes_estimated = bytes;
                for (job, e) in jobs.iter().zip(estimates) {
                    s.estimates.insert((job.query, job.group, job.start), e);
                }
                drop(s);
                progress.notice(&Notice::Estimated {
                    region: self.region.clone(),
                    queries: jobs.len(),
                    bytes,
                    unknown,
                    left: budget.left_bytes(),
                });
            }
            engine::run(ctx.clone(), jobs, cancel.as_mut()).await
        }
        .await;
        progress.finish();
        let windows = result?;
        if ctx.budget.is_some() {
            let s = ctx.stats.lock().unwrap();
            for c in ctx.query_costs(&s) {
                progress.notice(&Notice::Cost(c));
            }
        }
        Ok((ctx, windows, groups))
    }

    /// Estimates, at no charge, the bytes each query of `queries` would scan over each log
    /// group and window of `req` (Logs Insights' `estimate` command), one [`Estimate`] per
    /// (query, group, window) in that order. `req.budget` is not consulted: admitting the
    /// estimates is the caller's ([`ScanBudget::reserve`]). See [`Insights::fetch_events`]
    /// for `cancel`.
    ///
    /// An answer that cannot be read as one number (a service without `estimate`, or an
    /// emulator that ignores the command and returns ordinary rows) is never taken as zero:
    /// the estimate falls back to the log group's `storedBytes` (DescribeLogGroups), and says
    /// so in [`Estimate::source`] and [`Estimate::note`]; if that fails too, `bytes` is
    /// `None`.
    pub async fn estimate<C: Future<Output = ()>>(
        &self,
        req: &Request,
        queries: &[&'static Query],
        progress: Arc<dyn Progress>,
        cancel: C,
    ) -> Result<Vec<Estimate>, Error> {
        Ok(self
            .estimate_counted(req, queries, progress, cancel)
            .await?
            .0)
    }

    /// [`Insights::estimate`], with the API calls it made (the `| estimate` queries, and
    /// DescribeLogGroups where their answer could not be read).
    pub async fn estimate_counted<C: Future<Output = ()>>(
        &self,
        req: &Request,
        queries: &[&'static Query],
        progress: Arc<dyn Progress>,
        cancel: C,
    ) -> Result<(Vec<Estimate>, ApiCalls), Error> {
        let ctx = self.context(req, queries, 0, &progress)?;
        let jobs = initial_jobs(queries.len(), ctx.targets.len(), req);
        let result = self.estimate_jobs(&ctx, &jobs, cancel).await;
        progress.finish();
        Ok((result?, ctx.api_calls()))
    }

    /// The engine's context for `queries` over the groups of `req` (validated).
    fn context(
        &self,
        req: &Request,
        queries: &[&'static Query],
        split_depth: u32,
        progress: &Arc<dyn Progress>,
    ) -> Result<Arc<engine::Ctx>, Error> {
        let groups = req.validate()?;
        let mut texts = Vec::new();
        for q in queries {
            texts.push((*q, query_text(q, req.limit)?));
        }
        Ok(Arc::new(engine::Ctx::new(
            self.client.clone(),
            self.region.clone(),
            self.endpoint.clone(),
            texts,
            batches(&groups, req.batch),
            req,
            split_depth,
            progress.clone(),
        )))
    }

    async fn estimate_jobs<C: Future<Output = ()>>(
        &self,
        ctx: &Arc<engine::Ctx>,
        jobs: &[engine::Job],
        cancel: C,
    ) -> Result<Vec<Estimate>, Error> {
        let estimate_jobs = jobs
            .iter()
            .map(|j| engine::Job {
                estimate: true,
                ..engine::Job::new(j.query, j.group, j.start, j.end)
            })
            .collect();
        let mut answers: HashMap<(usize, usize, i64), Result<f64, String>> = HashMap::new();
        for w in engine::run(ctx.clone(), estimate_jobs, cancel).await? {
            let name = ctx.queries[w.job.query].0.name;
            let answer = match &w.estimate_refused {
                Some(m) => Err(format!("the service rejected `| estimate` for {name}: {m}")),
                None => rows::estimate_bytes(&w.rows)
                    .map_err(|why| format!("the estimate of {name} could not be read: {why}")),
            };
            answers.insert((w.job.query, w.job.group, w.job.start), answer);
        }
        // The stored-bytes fallback is the whole group, over all time: it is counted once
        // per (query, group), not once per window.
        let mut stored: HashMap<usize, Result<f64, String>> = HashMap::new();
        let mut fallen_back: HashSet<(usize, usize)> = HashSet::new();
        let mut out = Vec::with_capacity(jobs.len());
        for j in jobs {
            let group = ctx.group_name(j.group);
            let answer = answers
                .remove(&(j.query, j.group, j.start))
                .unwrap_or_else(|| Err("no estimate answer".to_owned()));
            let (bytes, source, note) = match answer {
                Ok(b) => (Some(b), EstimateSource::Insights, None),
                Err(why) => {
                    if let std::collections::hash_map::Entry::Vacant(slot) = stored.entry(j.group) {
                        slot.insert(self.stored_bytes(ctx, &ctx.targets[j.group]).await);
                    }
                    match &stored[&j.group] {
                        Ok(_) if !fallen_back.insert((j.query, j.group)) => (
                            Some(0.0),
                            EstimateSource::StoredBytes,
                            Some(format!(
                                "{why}; the group's stored bytes are counted with its first window"
                            )),
                        ),
                        Ok(b) => (
                            Some(*b),
                            EstimateSource::StoredBytes,
                            Some(format!("{why}; counted the group's stored bytes instead")),
                        ),
                        Err(e) => (None, EstimateSource::None, Some(format!("{why}; {e}"))),
                    }
                }
            };
            out.push(Estimate {
                query: ctx.queries[j.query].0.name,
                log_group: group,
                window: QueryWindow {
                    start: j.start,
                    end: j.end,
                },
                bytes,
                source,
                note,
            });
        }
        Ok(out)
    }

    /// The log groups' `storedBytes` (DescribeLogGroups, one call per group), summed, or
    /// why there is none.
    async fn stored_bytes(&self, ctx: &engine::Ctx, groups: &[String]) -> Result<f64, String> {
        let mut sum = 0.0;
        for g in groups {
            sum += self.group_stored_bytes(ctx, g).await?;
        }
        Ok(sum)
    }

    /// The log group's `storedBytes` (DescribeLogGroups), or why there is none.
    async fn group_stored_bytes(&self, ctx: &engine::Ctx, group: &str) -> Result<f64, String> {
        ctx.counters
            .describe_log_groups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // A source account's group (named by its ARN) is looked up by its identifier.
        let request = self.client.describe_log_groups();
        let request = match arn_parts(group) {
            Some(_) => request.log_group_identifiers(group),
            None => request.log_group_name_prefix(group),
        };
        let out = request.send().await.map_err(|e| {
            let e = error::classify(&self.client, &self.endpoint, "DescribeLogGroups", group, e);
            format!("its stored bytes are unknown too ({e})")
        })?;
        out.log_groups()
            .iter()
            .find(|g| {
                g.log_group_name() == Some(group)
                    || g.log_group_arn()
                        .is_some_and(|a| a.strip_suffix(":*").unwrap_or(a) == group)
            })
            .and_then(|g| g.stored_bytes())
            .map(|b| b as f64)
            .ok_or_else(|| "DescribeLogGroups gave no storedBytes for it either".to_owned())
    }
}

/// What a query would scan over one log group and window, before it runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// Query name.
    pub query: &'static str,
    /// Log group.
    pub log_group: String,
    /// The window estimated (epoch seconds, inclusive).
    pub window: QueryWindow,
    /// Bytes it would scan; `None` when neither the estimate nor the fallback answered.
    pub bytes: Option<f64>,
    /// Where `bytes` came from.
    pub source: EstimateSource,
    /// Why `source` is not [`EstimateSource::Insights`].
    pub note: Option<String>,
}

fn default_endpoint(region: &str) -> String {
    format!("CloudWatch Logs in {region}")
}

fn query_text(query: &Query, limit: u32) -> Result<String, Error> {
    query.with_limit(limit).ok_or_else(|| {
        Error::InvalidRequest(format!(
            "query {} has no final `| limit N` command",
            query.name
        ))
    })
}

/// The log groups of each query: `batch` at a time, in request order.
fn batches(groups: &[String], batch: usize) -> Vec<Vec<String>> {
    groups
        .chunks(batch.max(1))
        .map(<[String]>::to_vec)
        .collect()
}

/// The index in `groups` of the group a row of a query over `batch` belongs to: the one group
/// of a single-group query, else the group its `@log` names (`account-id:name` on AWS, the
/// bare name on moto).
///
/// A group named by its ARN (a monitoring account's cross-account query) is the one whose
/// account and name `@log` gives: in a cross-account query `@log` is
/// `source-account-id:log-group-name` (the `@log` field,
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html>).
/// A bare name (moto) matches only when one group of the batch has it: two accounts' groups
/// of one name cannot be told apart, and such a row is not attributed (the caller counts it).
fn attribute(groups: &[String], batch: &[String], log: Option<&str>) -> Option<usize> {
    let name = match batch {
        [one] => one.as_str(),
        _ => {
            let log = log?;
            let names = |g: &&String| match arn_parts(g) {
                Some((account, name)) => {
                    log == name || log.split_once(':') == Some((account, name))
                }
                None => log == g.as_str() || log.split_once(':').is_some_and(|(_, n)| n == *g),
            };
            let mut found = batch.iter().filter(names);
            let one = found.next()?;
            if found.next().is_some() {
                return None;
            }
            one
        }
    };
    groups.iter().position(|g| g == name)
}

/// The account and name of a log group ARN (`arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME`,
/// with or without a trailing `:*`); `None` for a plain name.
pub fn arn_parts(id: &str) -> Option<(&str, &str)> {
    let rest = id.strip_prefix("arn:")?;
    let mut parts = rest.splitn(6, ':');
    let (_partition, service, _region, account) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if service != "logs" || parts.next()? != "log-group" {
        return None;
    }
    let name = parts.next()?;
    Some((account, name.strip_suffix(":*").unwrap_or(name)))
}

/// The log group name of a name or a log group ARN ([`arn_parts`]).
pub fn group_name(id: &str) -> &str {
    arn_parts(id).map_or(id, |(_, name)| name)
}

fn initial_jobs(n_queries: usize, n_groups: usize, req: &Request) -> Vec<engine::Job> {
    let spans = req.spans();
    let mut jobs = Vec::new();
    for query in 0..n_queries {
        for group in 0..n_groups {
            for &(start, end) in &spans {
                jobs.push(engine::Job::new(query, group, start, end));
            }
        }
    }
    jobs
}

fn capped_note(group: &str, job: &engine::Job, limit: u32) -> String {
    format!(
        "{group} window {}..{} still returned {limit} rows (the cap) and was not split further",
        job.start, job.end
    )
}

fn finish_meta(meta: &mut FetchMeta, mut reasons: Vec<String>) {
    if reasons.is_empty() {
        return;
    }
    meta.complete = false;
    let n = reasons.len();
    reasons.truncate(3);
    let mut text = reasons.join("; ");
    if n > 3 {
        text.push_str(&format!(" (and {} more)", n - 3));
    }
    meta.incomplete_reason = Some(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_round_trip() {
        assert_eq!(
            cluster_name(&log_group_for_cluster("prod-1")),
            Some("prod-1")
        );
        assert_eq!(cluster_name("/aws/eks/a/b/cluster"), None);
        assert_eq!(cluster_name("/aws/eks//cluster"), None);
        assert_eq!(cluster_name("/aws/lambda/x"), None);
    }

    #[test]
    fn history_starts_at_creation_or_retention_horizon() {
        let day = 86_400_000;
        let mut g = LogGroupInfo {
            name: "/aws/eks/a/cluster".into(),
            cluster: "a".into(),
            retention_days: Some(30),
            creation_time_ms: Some(100 * day),
            stored_bytes: None,
            account: None,
            arn: None,
        };
        assert_eq!(g.history_start_ms(200 * day), Some(170 * day));
        assert_eq!(g.history_start_ms(110 * day), Some(100 * day));
        g.retention_days = None;
        assert_eq!(g.history_start_ms(200 * day), Some(100 * day));
        g.creation_time_ms = None;
        assert_eq!(g.history_start_ms(200 * day), None);
    }

    #[test]
    fn strategy_thresholds() {
        assert_eq!(choose_strategy(3600, 1), Strategy::Events);
        assert_eq!(
            choose_strategy(EVENTS_MAX_WINDOW_SECS, EVENTS_MAX_GROUPS),
            Strategy::Events
        );
        assert_eq!(
            choose_strategy(EVENTS_MAX_WINDOW_SECS + 1, 1),
            Strategy::Aggregate
        );
        assert_eq!(
            choose_strategy(3600, EVENTS_MAX_GROUPS + 1),
            Strategy::Aggregate
        );
    }

    #[test]
    fn cross_account_rows_are_attributed_by_account_and_name() {
        let arn =
            |a: &str, c: &str| format!("arn:aws:logs:us-east-1:{a}:log-group:/aws/eks/{c}/cluster");
        // One cluster name in two source accounts, and another cluster.
        let groups = vec![
            arn("111111111111", "c0"),
            arn("222222222222", "c0"),
            arn("222222222222", "c1"),
        ];
        let g = &groups;
        assert_eq!(
            attribute(g, g, Some("222222222222:/aws/eks/c0/cluster")),
            Some(1)
        );
        assert_eq!(
            attribute(g, g, Some("111111111111:/aws/eks/c0/cluster")),
            Some(0)
        );
        // Another account's group of that name is not one of the query's.
        assert_eq!(
            attribute(g, g, Some("333333333333:/aws/eks/c0/cluster")),
            None
        );
        // A bare name is attributed only where one group has it.
        assert_eq!(attribute(g, g, Some("/aws/eks/c0/cluster")), None);
        assert_eq!(attribute(g, g, Some("/aws/eks/c1/cluster")), Some(2));
        assert_eq!(
            arn_parts(&format!("{}:*", groups[2])),
            Some(("222222222222", "/aws/eks/c1/cluster"))
        );
        assert_eq!(group_name(&groups[0]), "/aws/eks/c0/cluster");
        assert_eq!(group_name("/aws/eks/c0/cluster"), "/aws/eks/c0/cluster");
        assert_eq!(arn_parts("arn:aws:iam::111111111111:role/x"), None);
    }

    #[test]
    fn batches_attribute_rows_by_log_on_aws_and_moto() {
        let groups: Vec<String> = (0..5)
            .map(|i| log_group_for_cluster(&format!("c{i}")))
            .collect();
        let b = batches(&groups, 2);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        // AWS writes `account-id:name`, moto the bare name.
        assert_eq!(
            attribute(&groups, &b[0], Some("111122223333:/aws/eks/c1/cluster")),
            Some(1)
        );
        assert_eq!(
            attribute(&groups, &b[1], Some("/aws/eks/c2/cluster")),
            Some(2)
        );
        // A group of another batch, or no @log, is not attributed.
        assert_eq!(attribute(&groups, &b[0], Some("/aws/eks/c2/cluster")), None);
        assert_eq!(attribute(&groups, &b[0], None), None);
        // A one-group query needs no @log.
        assert_eq!(attribute(&groups, &b[2], None), Some(4));
        let mut r = Request::new(groups, 1, 2);
        r.batch = MAX_GROUPS_PER_QUERY + 1;
        assert!(r.validate().is_err());
        r.batch = 0;
        assert!(r.validate().is_err());
    }

    #[test]
    fn requests_are_validated() {
        let ok = Request::new(vec!["g".into(), "g".into(), "h".into()], 10, 20);
        assert_eq!(ok.validate().unwrap(), vec!["g".to_owned(), "h".to_owned()]);
        let mut r = ok.clone();
        r.limit = 0;
        assert!(r.validate().is_err());
        r.limit = MAX_LIMIT + 1;
        assert!(r.validate().is_err());
        let r = Request::new(vec![], 10, 20);
        assert!(r.validate().is_err());
        let r = Request::new(vec!["g".into()], 20, 10);
        assert!(r.validate().is_err());
        let r = Request::new(vec![" ".into()], 10, 20);
        assert!(r.validate().is_err());
    }

    #[test]
    fn not_found_message_names_the_fix() {
        let e = Error::LogGroupNotFound {
            log_group: "/aws/eks/prod/cluster".into(),
            cluster: Some("prod".into()),
            region: "eu-west-1".into(),
        };
        let text = e.to_string();
        assert!(text.contains("authenticator logging may be off"), "{text}");
        assert!(
            text.contains(
                r#"aws eks update-cluster-config --name prod --region eu-west-1 --logging '{"clusterLogging":[{"types":["authenticator"],"enabled":true}]}'"#
            ),
            "{text}"
        );
    }
}
