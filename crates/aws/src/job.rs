//! Running a job against CloudWatch Logs Insights: resolve the log groups in every region,
//! pick a strategy, run the queries, and hand lines (strategy `events`) or aggregates
//! (strategy `aggregate`) to the caller, who analyses them like local files.
//!
//! Nothing here prints: progress and notices go to the caller's [`Progress`].

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use eks_authlog_core::evidence::Aggregate;
use eks_authlog_core::queries;
use eks_authlog_core::source::LineSink;

use crate::cloudwatch::budget::ScanBudget;
use crate::cloudwatch::{
    self as cw, AggKind, AuditAggregates, ClientOptions, Error, FetchMeta, Insights, Notice,
    Progress, QueryWindow, Request, Strategy,
};
use eks_authlog_core::report::source::AuditWindows;

type Result<T, E = Error> = std::result::Result<T, E>;

/// `--strategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StrategyChoice {
    /// Events for windows up to 7 days over up to 5 log groups, aggregate otherwise.
    #[default]
    Auto,
    /// Fetch every authenticator line and analyse it here (exact).
    Events,
    /// Aggregate inside Logs Insights (long windows, many clusters).
    Aggregate,
}

/// Which log groups, where, and when.
#[derive(Clone, Debug, Default)]
pub struct CloudWatchJob {
    /// `--cluster`: log groups `/aws/eks/<name>/cluster`.
    pub clusters: Vec<String>,
    /// `--log-group`.
    pub log_groups: Vec<String>,
    /// `--all-clusters`: every `/aws/eks/*/cluster` group in each region.
    pub all_clusters: bool,
    /// `--region` (empty: the default chain's region).
    pub regions: Vec<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--strategy`.
    pub strategy: StrategyChoice,
    /// Window start, epoch ms.
    pub start_ms: i64,
    /// Window end, epoch ms.
    pub end_ms: i64,
    /// Only the creator's lines are needed (the `creator` query).
    pub creator_only: bool,
    /// `--timeout`: the whole fetch, every region included; `None` is
    /// [`cw::DEFAULT_DEADLINE`]. When it passes, running queries are stopped and
    /// [`Error::DeadlineExceeded`] is returned.
    pub timeout: Option<Duration>,
    /// The scan budget of the whole job, every region included (`--max-scan-gb`, `--yes`):
    /// every query is estimated and admitted against it before it starts. `None` neither
    /// estimates nor limits (library callers that budget elsewhere).
    pub budget: Option<Arc<ScanBudget>>,
}

impl CloudWatchJob {
    /// The window in epoch seconds, as Logs Insights takes it.
    fn window_secs(&self) -> (i64, i64) {
        (self.start_ms.div_euclid(1000), self.end_ms.div_euclid(1000))
    }

    fn client_options(&self, region: Option<String>) -> ClientOptions {
        ClientOptions {
            region,
            profile: self.profile.clone(),
            ..ClientOptions::default()
        }
    }

    /// The cluster name when the job is about exactly one cluster (for remedies).
    pub fn single_cluster(&self) -> Option<String> {
        let mut names: Vec<String> = self.clusters.clone();
        names.extend(
            self.log_groups
                .iter()
                .filter_map(|g| cw::cluster_name(g).map(str::to_owned)),
        );
        names.dedup();
        (names.len() == 1 && !self.all_clusters).then(|| names.remove(0))
    }
}

/// Runs the job's queries. Lines go to `lines`, aggregates to `aggregates`; returns the
/// metadata of every region's fetch.
pub fn fetch(
    job: &CloudWatchJob,
    lines: &mut dyn LineSink,
    aggregates: &mut dyn FnMut(&Aggregate<'_>),
    progress: Arc<dyn Progress>,
) -> Result<Vec<FetchMeta>> {
    let rt = crate::sdk::runtime().map_err(Error::Runtime)?;
    rt.block_on(fetch_all(job, lines, aggregates, progress))
}

async fn fetch_all(
    job: &CloudWatchJob,
    lines: &mut dyn LineSink,
    aggregates: &mut dyn FnMut(&Aggregate<'_>),
    progress: Arc<dyn Progress>,
) -> Result<Vec<FetchMeta>> {
    let regions: Vec<Option<String>> = if job.regions.is_empty() {
        vec![None]
    } else {
        job.regions.iter().cloned().map(Some).collect()
    };
    let (start, end) = job.window_secs();
    let mut until = Until::new(job)?;
    let mut metas = Vec::new();
    for region in regions {
        let insights = until
            .guard(Insights::connect(&job.client_options(region)))
            .await?;
        let mut groups: Vec<String> = job
            .clusters
            .iter()
            .map(|c| cw::log_group_for_cluster(c))
            .collect();
        groups.extend(job.log_groups.iter().cloned());
        if job.all_clusters {
            groups.extend(
                until
                    .guard(insights.discover_clusters("/aws/eks/"))
                    .await?
                    .into_iter()
                    .map(|g| g.name),
            );
        }
        let mut seen = std::collections::HashSet::new();
        groups.retain(|g| seen.insert(g.clone()));
        if groups.is_empty() {
            progress.notice(&Notice::NoLogGroups {
                region: insights.region().to_owned(),
            });
            continue;
        }
        let strategy = match job.strategy {
            StrategyChoice::Events => Strategy::Events,
            StrategyChoice::Aggregate => Strategy::Aggregate,
            // The creator query returns few rows over any window: always fetch them.
            StrategyChoice::Auto if job.creator_only => Strategy::Events,
            StrategyChoice::Auto => cw::choose_strategy(end - start, groups.len()),
        };
        let mut req = Request::new(groups, start, end);
        req.budget = job.budget.clone();
        req.poll.deadline = Some(until.left());
        let cancel = until.cancel();
        let fetched = async {
            Ok::<FetchMeta, Error>(match strategy {
                Strategy::Events => {
                    let name = if job.creator_only {
                        "creator"
                    } else {
                        "recent"
                    };
                    let query = queries::get(name)
                        .ok_or_else(|| Error::InvalidRequest(format!("query {name} is missing")))?;
                    insights
                        .fetch_events(&req, query, lines, progress.clone(), cancel)
                        .await?
                }
                Strategy::Aggregate => {
                    let got = insights
                        .fetch_aggregates(&req, progress.clone(), cancel)
                        .await?;
                    for r in &got.rows {
                        aggregates(&Aggregate {
                            granted: r.kind == AggKind::Granted,
                            arn: r.arn.as_deref(),
                            username: r.username.as_deref(),
                            error: r.error.as_deref(),
                            sts_code: r.sts_code.as_deref(),
                            count: r.count,
                            first_ms: r.first_ms,
                            last_ms: r.last_ms,
                        });
                    }
                    got.meta
                }
            })
        };
        let meta = fetched.await.map_err(|e| until.restore(e))?;
        if meta.rows == 0 {
            // Zero authenticator rows: the usual cause is that authenticator logging is off
            // (the group exists because other control-plane log types are on).
            for group in &meta.log_groups {
                progress.notice(&Notice::NoAuthenticatorLines {
                    log_group: group.clone(),
                    region: insights.region().to_owned(),
                });
            }
        }
        metas.push(meta);
    }
    Ok(metas)
}

/// The log groups of a CloudTrail trail delivered to CloudWatch Logs, searched for the
/// cluster's CreateCluster (`creator --trail-log-group`; CloudTrail User Guide, "Sending
/// events to CloudWatch Logs").
#[derive(Clone, Debug, Default)]
pub struct TrailJob {
    /// The trail's log groups.
    pub log_groups: Vec<String>,
    /// `--region` (`None`: the default chain's region).
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// Window start, epoch ms.
    pub start_ms: i64,
    /// Window end, epoch ms.
    pub end_ms: i64,
    /// The whole fetch; `None` is [`cw::DEFAULT_DEADLINE`].
    pub timeout: Option<Duration>,
    /// The run's scan budget: each query is estimated and admitted against it first.
    pub budget: Option<Arc<ScanBudget>>,
}

/// What one trail log group gave.
#[derive(Clone, Debug)]
pub struct TrailGroup {
    /// The log group.
    pub log_group: String,
    /// The window searched, epoch ms.
    pub window_ms: (i64, i64),
    /// Each row's `@message` (a CloudTrail event as JSON), oldest first.
    pub events: Vec<String>,
    /// What the query did and cost (its estimate and API calls included).
    pub meta: FetchMeta,
}

/// Runs [`queries::TRAIL_CREATE_CLUSTER`] over each log group of `job`, one group after the
/// other, each estimated and admitted against the budget before it starts. Each group's
/// answer or error comes back with its name; after a refusal of the budget, an interruption
/// or the deadline, no further group is queried (that error is the last entry). The outer
/// error is a runtime or client that could not be built.
pub fn fetch_trail(
    job: &TrailJob,
    progress: Arc<dyn Progress>,
) -> Result<Vec<(String, Result<TrailGroup>)>> {
    let rt = crate::sdk::runtime().map_err(Error::Runtime)?;
    rt.block_on(async {
        let mut until = Until::new(&CloudWatchJob {
            timeout: job.timeout,
            ..CloudWatchJob::default()
        })?;
        let opts = ClientOptions {
            region: job.region.clone(),
            profile: job.profile.clone(),
            ..ClientOptions::default()
        };
        let insights = until.guard(Insights::connect(&opts)).await?;
        let mut out = Vec::new();
        for group in &job.log_groups {
            let got = trail_group(&insights, job, group, &mut until, progress.clone()).await;
            let stop = matches!(
                got,
                Err(Error::Budget(_) | Error::Interrupted { .. } | Error::DeadlineExceeded { .. })
            );
            out.push((group.clone(), got));
            if stop {
                break;
            }
        }
        Ok(out)
    })
}

async fn trail_group(
    insights: &Insights,
    job: &TrailJob,
    group: &str,
    until: &mut Until,
    progress: Arc<dyn Progress>,
) -> Result<TrailGroup> {
    let (start_ms, end_ms) = (job.start_ms, job.end_ms);
    let mut req = Request::new(
        vec![group.to_owned()],
        start_ms.div_euclid(1000),
        end_ms.div_euclid(1000),
    );
    req.budget = job.budget.clone();
    req.poll.deadline = Some(until.left());
    let mut events = Vec::new();
    let mut sink = |text: &[u8],
                    _: &eks_authlog_core::source::Envelope<'_>,
                    _: eks_authlog_core::source::Loc<'_>| {
        events.push(String::from_utf8_lossy(text).into_owned());
    };
    let cancel = until.cancel();
    let fetched = insights
        .fetch_events(
            &req,
            &queries::TRAIL_CREATE_CLUSTER,
            &mut sink,
            progress,
            cancel,
        )
        .await;
    let meta = fetched.map_err(|e| until.restore(e))?;
    Ok(TrailGroup {
        log_group: group.to_owned(),
        window_ms: (start_ms, end_ms),
        events,
        meta,
    })
}

/// The audit pass of a job, after its authenticator pass: which audit queries to run where.
#[derive(Clone, Debug, Default)]
pub struct AuditPass {
    /// Per region (as the authenticator pass's [`FetchMeta::regions`] named it): per log
    /// group, the windows (epoch seconds, inclusive) to run `audit-unauthorized` over, the
    /// windows around its denials without identity.
    pub unauthorized: BTreeMap<String, BTreeMap<String, Vec<QueryWindow>>>,
    /// What the windows cover, for the report.
    pub windows: AuditWindows,
    /// Per region: the log groups to run the aggregate queries over (the job's whole window).
    pub groups: BTreeMap<String, Vec<String>>,
    /// Run `audit-forbidden` (authorization denials by user and request).
    pub forbidden: bool,
    /// Run `audit-identities` (the identity map of successful requests).
    pub identities: bool,
}

/// Runs `audit-unauthorized` over exactly the windows of `pass` on each log group's audit
/// streams, and the aggregate queries `pass` asks for over its groups, every query
/// estimated and admitted against the job's budget first. The 401 events go into `lines`
/// (the same sink as the authenticator lines: the analysis detects audit events per
/// record), the aggregate rows to `aggregates`. Returns one [`FetchMeta`] per region
/// queried, to be [absorbed](FetchMeta::absorb) into the authenticator pass's.
pub fn fetch_audit(
    job: &CloudWatchJob,
    pass: &AuditPass,
    lines: &mut dyn LineSink,
    aggregates: &mut dyn FnMut(&AuditAggregates),
    progress: Arc<dyn Progress>,
) -> Result<Vec<FetchMeta>> {
    let aggregated = pass.forbidden || pass.identities;
    let mut regions: Vec<&String> = pass
        .unauthorized
        .iter()
        .filter(|(_, g)| g.values().any(|w| !w.is_empty()))
        .map(|(r, _)| r)
        .collect();
    if aggregated {
        regions.extend(
            pass.groups
                .iter()
                .filter(|(_, g)| !g.is_empty())
                .map(|(r, _)| r),
        );
    }
    regions.sort();
    regions.dedup();
    if regions.is_empty() {
        return Ok(Vec::new());
    }
    let rt = crate::sdk::runtime().map_err(Error::Runtime)?;
    rt.block_on(async {
        let mut until = Until::new(job)?;
        let (start, end) = job.window_secs();
        let mut metas = Vec::new();
        for region in regions {
            let insights = until
                .guard(Insights::connect(&job.client_options(Some(region.clone()))))
                .await?;
            let mut region_meta: Option<FetchMeta> = None;
            let mut add = |meta: FetchMeta| match &mut region_meta {
                Some(m) => m.absorb(meta),
                None => region_meta = Some(meta),
            };
            let windowed = pass.unauthorized.get(region).into_iter().flatten();
            for (group, windows) in windowed.filter(|(_, w)| !w.is_empty()) {
                let mut req = Request::new(vec![group.clone()], start, end);
                req.windows = windows.clone();
                req.budget = job.budget.clone();
                req.poll.deadline = Some(until.left());
                let meta = insights
                    .fetch_events(
                        &req,
                        &queries::AUDIT_UNAUTHORIZED,
                        &mut *lines,
                        progress.clone(),
                        until.cancel(),
                    )
                    .await
                    .map_err(|e| until.restore(e))?;
                add(meta);
            }
            if let Some(groups) = pass
                .groups
                .get(region)
                .filter(|g| aggregated && !g.is_empty())
            {
                let mut req = Request::new(groups.clone(), start, end);
                req.budget = job.budget.clone();
                req.poll.deadline = Some(until.left());
                let got = insights
                    .fetch_audit_aggregates(
                        &req,
                        pass.forbidden,
                        pass.identities,
                        progress.clone(),
                        until.cancel(),
                    )
                    .await
                    .map_err(|e| until.restore(e))?;
                aggregates(&got);
                add(got.meta);
            }
            if let Some(mut m) = region_meta {
                if pass.windows.windows > 0 {
                    m.audit_windows = Some(pass.windows);
                }
                metas.push(m);
            }
        }
        Ok(metas)
    })
}

/// The job's deadline and the signals that interrupt it, for the steps before and between the
/// queries (connecting, listing log groups).
struct Until {
    signals: Signals,
    /// The signal that interrupted the last fetch.
    caught: Cell<Option<&'static str>>,
    deadline: Instant,
    timeout: Duration,
    t0: Instant,
}

impl Until {
    /// Starts the job's clock and catches its signals.
    fn new(job: &CloudWatchJob) -> Result<Until> {
        let timeout = job.timeout.unwrap_or(cw::DEFAULT_DEADLINE);
        let t0 = Instant::now();
        Ok(Until {
            signals: Signals::new().map_err(Error::Runtime)?,
            caught: Cell::new(None),
            deadline: t0 + timeout,
            timeout,
            t0,
        })
    }

    /// What is left of the job's time, for the engine's deadline.
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The cancellation future of one fetch: Ctrl-C and SIGTERM stop every running query
    /// (they bill while they scan); the signal is kept for [`Until::restore`].
    async fn cancel(&mut self) {
        let s = self.signals.recv().await;
        self.caught.set(Some(s));
    }

    /// An engine error in the job's terms: the signal that was caught, and the job's
    /// deadline (the engine's was what was left of it).
    fn restore(&self, e: Error) -> Error {
        match e {
            Error::Interrupted { stopped, .. } => Error::Interrupted {
                signal: self.caught.get(),
                stopped,
            },
            Error::DeadlineExceeded { stopped, .. } => Error::DeadlineExceeded {
                deadline: self.timeout,
                elapsed: self.t0.elapsed(),
                stopped,
            },
            e => e,
        }
    }

    async fn guard<T>(&mut self, step: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            r = step => r,
            s = self.signals.recv() => Err(Error::Interrupted { signal: Some(s), stopped: 0 }),
            () = tokio::time::sleep_until(self.deadline) => Err(Error::DeadlineExceeded {
                deadline: self.timeout,
                elapsed: self.t0.elapsed(),
                stopped: 0,
            }),
        }
    }
}

/// SIGINT (Ctrl-C) and SIGTERM (`timeout`, CI runners, Kubernetes), installed when the job
/// starts so that neither kills the process while queries run.
pub(crate) struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    pub(crate) fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The name of the next signal.
    pub(crate) async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => "SIGINT",
                _ = self.term.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
