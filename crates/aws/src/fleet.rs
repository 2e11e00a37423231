//! `fleet`: the audit of many accounts, regions and clusters in one run. Each (account,
//! region) is a *target*: its credentials (assumed once per account with `--assume-role`),
//! its clusters (the `/aws/eks/*/cluster` log groups), and one Logs Insights query per 50 of
//! them and per window, rows attributed to their cluster by `@log`.
//!
//! Targets run concurrently, at most [`FleetJob::parallel`] at once, each with its own
//! limit of running queries (the concurrency quota is per account and region). A target that
//! fails (the role cannot be assumed, access denied, the region is not enabled) is recorded
//! with its reason and the others go on. With a state file each log group's window starts
//! where its last completed window ended. The state moves only once the window's findings
//! are out: when the caller streams them ([`run`]'s `stream`, for NDJSON), each completed
//! window is written and flushed, then the state file is rewritten atomically; otherwise the
//! caller saves [`FleetOutcome::state`] after writing its document. A run killed half way
//! therefore loses no window; at worst (killed between the flush and the rename) the next run
//! repeats one window's findings, with the same ids.
//!
//! Each log group is read by one of two readers ([`ReaderChoice`]): the Insights query, or
//! FilterLogEvents on its `authenticator-*` streams only ([`crate::cloudwatch::filter`]),
//! chosen per group and window from the Insights estimate with `--reader auto`.
//!
//! Nothing here prints: the caller renders the [`FleetOutcome`].

use eks_authlog_core::error::chain;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::config::ProvideCredentials;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use eks_authlog_core::analysis::{Analyzer, Options};
use eks_authlog_core::evidence::{Aggregate, Evidence};
use eks_authlog_core::fleet::state::{Key, State, StateError};
use eks_authlog_core::fleet::{
    self as core_fleet, ClusterResult, FleetFinding, Reader, Scope, TargetResult, TargetStatus,
    Window,
};
use eks_authlog_core::pipeline::feed;
use eks_authlog_core::queries;
use eks_authlog_core::report::source::ApiCalls;
use eks_authlog_core::source::{Envelope, Loc};

use crate::cloudwatch::budget::{DEFAULT_MAX_SCAN_GB, ScanBudget};
use crate::cloudwatch::filter::{FILTER_TPS, RateLimiter};
use crate::cloudwatch::{
    self as cw, ClientOptions, Error, Insights, MAX_GROUPS_PER_QUERY, Notice, Progress, Request,
};
use crate::job::{Signals, StrategyChoice};

/// What a fleet run covers.
#[derive(Clone, Debug)]
pub struct FleetJob {
    /// Account ids (`--accounts`); empty: the account of the current credentials.
    pub accounts: Vec<String>,
    /// `--assume-role NAME`: the role assumed in every account (`arn:aws:iam::ID:role/NAME`).
    pub assume_role: Option<String>,
    /// `--external-id`.
    pub external_id: Option<String>,
    /// `--session-name`.
    pub session_name: String,
    /// `--org`: every account of the AWS Organization (Organizations ListAccounts) instead
    /// of [`FleetJob::accounts`]; accounts not ACTIVE are reported as skipped.
    pub org: bool,
    /// Regions; empty: the default chain's region.
    pub regions: Vec<String>,
    /// `--region all`: each account's enabled regions (Account ListRegions, asked with the
    /// account's own credentials) instead of [`FleetJob::regions`].
    pub all_regions: bool,
    /// `--profile`: the base credentials.
    pub profile: Option<String>,
    /// `--monitoring-account ID`: the base credentials are those of this CloudWatch
    /// cross-account observability (OAM) monitoring account, which reads the linked source
    /// accounts' log groups itself (no AssumeRole): one target per source account and
    /// region, [`FleetJob::accounts`] narrowing them. See [`Insights::discover_linked_clusters`].
    pub monitoring_account: Option<String>,
    /// Where a log group the state has never seen starts (epoch ms, `--since`).
    pub since_ms: i64,
    /// Where every window ends (epoch ms, a whole second: `--until`, else now minus `--lag`).
    pub end_ms: i64,
    /// `--state FILE`.
    pub state: Option<PathBuf>,
    /// Targets audited at once (`--parallel`).
    pub parallel: usize,
    /// Queries running at once per target (`--max-queries`).
    pub max_queries: usize,
    /// Log groups per query, 1..=50.
    pub batch: usize,
    /// `--timeout`: the whole run.
    pub timeout: Duration,
    /// `--strategy`: how each window is read ([`strategy_for`]).
    pub strategy: StrategyChoice,
    /// The run's one scan budget (`--max-scan-gb`, unlimited with `--yes`), shared by every
    /// query of every target: each is estimated (no charge) and admitted before it starts.
    pub budget: Arc<ScanBudget>,
    /// `--reader`: how each log group's authenticator lines are read.
    pub reader: ReaderChoice,
    /// `--filter-above-gb` in bytes: with [`ReaderChoice::Auto`], a log group whose share of
    /// the window's Insights estimate is at least this is read with FilterLogEvents.
    pub filter_above_bytes: f64,
}

/// `--reader`: which reader reads a log group's authenticator lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReaderChoice {
    /// Per log group and window, from the Insights estimate (no charge): FilterLogEvents
    /// when the group's share of the estimate is at least [`FleetJob::filter_above_bytes`]
    /// (or cannot be estimated), Insights otherwise.
    #[default]
    Auto,
    /// Logs Insights for every group (one query per 50 groups, billed per byte scanned).
    Insights,
    /// FilterLogEvents for every group (no scan charge; 5 requests per second per account
    /// and region).
    Filter,
}

/// The default `--filter-above-gb`: 1 GB, $0.005 of Insights scan per group and window at
/// the us-east-1 list price. Below it the scan charge saved is under half a cent, and one
/// Insights query reads 50 such groups at once; above it the group's window is mostly the
/// audit streams, which FilterLogEvents never reads, while its authenticator lines (a few
/// per cent of the bytes) come in 1 MB pages at 5 per second.
pub const DEFAULT_FILTER_ABOVE_GB: f64 = 1.0;

impl Default for FleetJob {
    fn default() -> Self {
        FleetJob {
            accounts: Vec::new(),
            assume_role: None,
            external_id: None,
            session_name: DEFAULT_SESSION_NAME.to_owned(),
            org: false,
            regions: Vec::new(),
            all_regions: false,
            profile: None,
            monitoring_account: None,
            since_ms: 0,
            end_ms: 0,
            state: None,
            parallel: 4,
            max_queries: 5,
            batch: MAX_GROUPS_PER_QUERY,
            timeout: Duration::from_secs(3600),
            strategy: StrategyChoice::Auto,
            budget: Arc::new(ScanBudget::from_gb(DEFAULT_MAX_SCAN_GB)),
            reader: ReaderChoice::Auto,
            filter_above_bytes: DEFAULT_FILTER_ABOVE_GB * 1e9,
        }
    }
}

/// The `--session-name` default: CloudTrail in each account shows who ran the audit.
pub const DEFAULT_SESSION_NAME: &str = "eks-authlog-fleet";

/// What a fleet run found.
#[derive(Debug)]
pub struct FleetOutcome {
    /// Every target, in account then region order.
    pub targets: Vec<TargetResult>,
    /// Every finding: the targets' in the same order, a skipped target's as one
    /// `target_skipped` finding.
    pub findings: Vec<FleetFinding>,
    /// STS AssumeRole calls made (one per account with `--assume-role`).
    pub sts_assume_role: u64,
    /// Wall time.
    pub elapsed_ms: u64,
    /// Set when a signal or the deadline stopped the run: the targets not finished are
    /// missing from `targets`, and the state holds only what completed.
    pub stopped: Option<Error>,
    /// The state after the run: every completed window recorded (already saved when the
    /// findings were streamed).
    pub state: State,
    /// Writing streamed findings or saving the state failed; the run stopped there.
    pub output_error: Option<OutputError>,
    /// Some target's query was refused by the scan budget (it is skipped, with the reason).
    pub over_budget: bool,
}

/// Why streaming the findings or saving the state failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The findings could not be written.
    #[error("writing findings failed")]
    Write(#[source] std::io::Error),
    /// The state file could not be saved.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Where streamed findings go, window by window, before the state moves past them.
pub type Stream<'a> = &'a mut dyn FnMut(&[FleetFinding]) -> std::io::Result<()>;

/// A window that completed, on its way to the output and the state.
struct Completed {
    findings: Vec<FleetFinding>,
    keys: Vec<Key>,
    end_ms: i64,
    /// Answered once the findings are written and the state saved.
    ack: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Runs the fleet audit from `state` (read from [`FleetJob::state`] by the caller, which
/// reports an unreadable file before anything runs). Errors are what stops every target:
/// no base credentials or region, no runtime.
pub fn run(
    job: &FleetJob,
    state: State,
    progress: Arc<dyn Progress>,
    stream: Option<Stream<'_>>,
) -> Result<FleetOutcome, Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    rt.block_on(run_all(job, state, progress, stream))
}

/// Everything the targets share.
struct Shared {
    job: FleetJob,
    progress: Arc<dyn Progress>,
    /// The state as the run found it: where each window starts.
    start: State,
    done: tokio::sync::mpsc::UnboundedSender<Completed>,
    /// Set to true on Ctrl-C, SIGTERM or the deadline: every running fetch stops its queries.
    stop: watch::Receiver<bool>,
    sts_calls: std::sync::atomic::AtomicU64,
    over_budget: std::sync::atomic::AtomicBool,
}

async fn run_all(
    job: &FleetJob,
    mut state: State,
    progress: Arc<dyn Progress>,
    mut stream: Option<Stream<'_>>,
) -> Result<FleetOutcome, Error> {
    let t0 = Instant::now();
    let mut signals = Signals::new().map_err(Error::Runtime)?;
    let base_opts = ClientOptions {
        profile: job.profile.clone(),
        region: job.regions.first().cloned(),
        ..ClientOptions::default()
    };
    // The base credentials and region must work: without them no target can.
    let (base, default_region) = crate::sdk::load(crate::sdk::loader(&base_opts), &base_opts)
        .await
        .map_err(|e| match e {
            crate::sdk::LoadError::NoRegion => Error::NoRegion,
            crate::sdk::LoadError::NoCredentials(detail) => Error::NoCredentials { detail },
        })?;
    let regions = if job.regions.is_empty() {
        vec![default_region]
    } else {
        job.regions.clone()
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Completed>();
    let shared = Arc::new(Shared {
        job: job.clone(),
        progress,
        start: state.clone(),
        done: done_tx,
        stop: stop_rx,
        sts_calls: Default::default(),
        over_budget: Default::default(),
    });
    // One account's credentials serve all its regions: AssumeRole once per account. An
    // account that is known not to be auditable (not ACTIVE in the organization) carries
    // its reason instead.
    let accounts: Vec<(Option<String>, Option<Arc<Error>>)> = if job.org {
        let org = crate::org::accounts(&base).await?;
        let mut all: Vec<_> = org.active.into_iter().map(|a| (Some(a), None)).collect();
        all.extend(
            org.inactive
                .into_iter()
                .map(|(a, state)| (Some(a), Some(Arc::new(Error::AccountNotActive { state })))),
        );
        all
    } else if job.accounts.is_empty() {
        vec![(None, None)]
    } else {
        job.accounts
            .iter()
            .cloned()
            .map(|a| (Some(a), None))
            .collect()
    };
    let limit = Arc::new(Semaphore::new(job.parallel.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let accounts = if let Some(monitoring) = &job.monitoring_account {
        // Every region is read from the monitoring account itself: one task per region.
        let regions = if job.all_regions {
            enabled_regions(&base, None).await?
        } else {
            regions.clone()
        };
        for (ri, region) in regions.into_iter().enumerate() {
            let shared = shared.clone();
            let limit = limit.clone();
            let monitoring = monitoring.clone();
            set.spawn(async move {
                let _permit = limit.acquire_owned().await.expect("never closed");
                if *shared.stop.borrow() {
                    return Vec::new();
                }
                audit_linked(&shared, &monitoring, ri, &region).await
            });
        }
        Vec::new()
    } else {
        accounts
    };
    for (ai, (account, not_auditable)) in accounts.into_iter().enumerate() {
        let shared = shared.clone();
        let base = base.clone();
        let regions = regions.clone();
        let limit = limit.clone();
        set.spawn(async move {
            let mut creds = match (&account, &shared.job.assume_role, not_auditable) {
                (_, _, Some(e)) => Some(Err(e)),
                (Some(id), Some(role), None) => Some(assume(&shared, &base, id, role).await),
                _ => None,
            };
            let regions = if shared.job.all_regions {
                match &creds {
                    // Skipped whatever its regions: one row says why.
                    Some(Err(_)) => vec![ALL_REGIONS.to_owned()],
                    Some(Ok(c)) => match enabled_regions(&base, Some(c.clone())).await {
                        Ok(r) => r,
                        Err(e) => {
                            creds = Some(Err(Arc::new(e)));
                            vec![ALL_REGIONS.to_owned()]
                        }
                    },
                    None => match enabled_regions(&base, None).await {
                        Ok(r) => r,
                        Err(e) => {
                            creds = Some(Err(Arc::new(e)));
                            vec![ALL_REGIONS.to_owned()]
                        }
                    },
                }
            } else {
                regions
            };
            let mut tasks = tokio::task::JoinSet::new();
            for (ri, region) in regions.into_iter().enumerate() {
                let shared = shared.clone();
                let account = account.clone();
                let creds = creds.clone();
                let limit = limit.clone();
                tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await.expect("never closed");
                    // Stopped while waiting for a turn: start nothing more.
                    if *shared.stop.borrow() {
                        return ((ai, ri), region, Err(Failure::Stopped));
                    }
                    let result = match creds {
                        Some(Err(e)) => {
                            let id = account.as_deref().unwrap_or("");
                            Err(Failure::Failed(Box::new((
                                skipped_target(id, &region, &e),
                                Vec::new(),
                            ))))
                        }
                        Some(Ok(c)) => audit(&shared, account.as_deref(), &region, Some(c)).await,
                        None => audit(&shared, account.as_deref(), &region, None).await,
                    };
                    ((ai, ri), region, result)
                });
            }
            let mut out = Vec::new();
            while let Some(j) = tasks.join_next().await {
                match j {
                    Ok(r) => out.push(r),
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(_) => {}
                }
            }
            out
        });
    }
    let mut results = Vec::new();
    let deadline = tokio::time::sleep_until(t0 + job.timeout);
    tokio::pin!(deadline);
    let mut stopped = None;
    let mut output_error: Option<OutputError> = None;
    loop {
        tokio::select! {
            j = set.join_next() => match j {
                Some(Ok(mut r)) => {
                    // A skipped target's finding goes out as soon as it is known.
                    for (_, region, result) in &r {
                        let target = match result {
                            Ok((t, _)) => Some(t),
                            Err(Failure::Failed(t)) => Some(&t.0),
                            Err(Failure::Stopped) => None,
                        };
                        if let Some(t) = target.filter(|t| t.status == TargetStatus::Skipped)
                            && let Some(s) = stream.as_mut()
                            && output_error.is_none()
                            && let Err(e) = s(&[skipped_finding(t, region)])
                        {
                            output_error = Some(OutputError::Write(e));
                            let _ = stop_tx.send(true);
                        }
                    }
                    results.append(&mut r);
                }
                Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Some(Err(_)) => {}
                None => break,
            },
            Some(c) = done_rx.recv() => {
                let saved = complete(&mut state, &mut stream, c.findings, c.keys, c.end_ms, job);
                if let Err(e) = saved {
                    let why = e.to_string();
                    output_error.get_or_insert(e);
                    let _ = stop_tx.send(true);
                    let _ = c.ack.send(Err(why));
                } else {
                    let _ = c.ack.send(Ok(()));
                }
            }
            s = signals.recv(), if stopped.is_none() => {
                stopped = Some(Error::Interrupted { signal: Some(s), stopped: 0 });
                let _ = stop_tx.send(true);
            }
            () = &mut deadline, if stopped.is_none() => {
                stopped = Some(Error::DeadlineExceeded {
                    deadline: job.timeout,
                    elapsed: t0.elapsed(),
                    stopped: 0,
                });
                let _ = stop_tx.send(true);
            }
        }
    }
    results.sort_by_key(|r| r.0);
    let mut targets = Vec::new();
    let mut findings = Vec::new();
    for (_, region, result) in results {
        let (target, mut f) = match result {
            Ok(done) => done,
            Err(Failure::Stopped) => continue,
            Err(Failure::Failed(partial)) => *partial,
        };
        if target.status == TargetStatus::Skipped {
            f.push(skipped_finding(&target, &region));
        }
        targets.push(target);
        findings.append(&mut f);
    }
    Ok(FleetOutcome {
        targets,
        findings,
        sts_assume_role: shared.sts_calls.load(std::sync::atomic::Ordering::Relaxed),
        elapsed_ms: t0.elapsed().as_millis() as u64,
        stopped,
        state,
        output_error,
        over_budget: shared
            .over_budget
            .load(std::sync::atomic::Ordering::Relaxed),
    })
}

/// The region of an account skipped before its regions were known (`--region all`).
pub const ALL_REGIONS: &str = "all";

/// `--region all`: the account's enabled regions, with its assumed credentials (else the
/// base ones).
async fn enabled_regions(
    base: &aws_config::SdkConfig,
    creds: Option<Creds>,
) -> Result<Vec<String>, Error> {
    let config = match creds {
        Some(c) => base
            .to_builder()
            .credentials_provider(aws_sdk_cloudwatchlogs::config::SharedCredentialsProvider::new(c))
            .build(),
        None => base.clone(),
    };
    let regions = crate::org::enabled_regions(&config).await?;
    if regions.is_empty() {
        return Err(Error::ListRegions {
            detail: "ListRegions returned no enabled region".to_owned(),
        });
    }
    Ok(regions)
}

fn skipped_finding(t: &TargetResult, region: &str) -> FleetFinding {
    core_fleet::skipped(&t.account, region, t.reason.as_deref().unwrap_or(""))
}

/// A window's findings go out (streamed and flushed), then the state moves past the window
/// and, when streaming, is saved. Without a stream the caller saves it after its document.
fn complete(
    state: &mut State,
    stream: &mut Option<Stream<'_>>,
    findings: Vec<FleetFinding>,
    keys: Vec<Key>,
    end_ms: i64,
    job: &FleetJob,
) -> Result<(), OutputError> {
    let Some(s) = stream.as_mut() else {
        for k in keys {
            state.complete(k, end_ms);
        }
        return Ok(());
    };
    s(&findings).map_err(OutputError::Write)?;
    for k in keys {
        state.complete(k, end_ms);
    }
    if let Some(path) = &job.state {
        state.save(path)?;
    }
    Ok(())
}

/// How a target ended when it did not complete.
enum Failure {
    /// Interrupted or out of time: not recorded (the run reports the stop).
    Stopped,
    /// Recorded as skipped, with what did complete.
    Failed(Box<(TargetResult, Vec<FleetFinding>)>),
}

type Creds = aws_sdk_cloudwatchlogs::config::Credentials;

/// Assumes `arn:aws:iam::ACCOUNT:role/ROLE` with the base credentials, once for every region
/// of the account (aws-config's `AssumeRoleProvider`, which calls STS AssumeRole). The error
/// is every region's reason.
async fn assume(
    shared: &Shared,
    base: &aws_config::SdkConfig,
    account: &str,
    role: &str,
) -> Result<Creds, Arc<Error>> {
    let role_arn = if role.starts_with("arn:") {
        role.replace("{account}", account)
    } else {
        format!("arn:aws:iam::{account}:role/{role}")
    };
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(&role_arn)
        .session_name(&shared.job.session_name);
    if let Some(id) = &shared.job.external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.configure(base).build().await;
    shared
        .sts_calls
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let opts = ClientOptions::default();
    let detail = match tokio::time::timeout(
        opts.credentials_timeout,
        provider.provide_credentials(),
    )
    .await
    {
        Ok(Ok(c)) => return Ok(c),
        // The causes' own words (STS's code and message), not DisplayErrorContext's dump of
        // the raw response.
        Ok(Err(e)) => chain(&e),
        Err(_) => format!("no answer from STS within {:?}", opts.credentials_timeout),
    };
    Err(Arc::new(Error::AssumeRole { role_arn, detail }))
}

fn skipped_target(account: &str, region: &str, e: &Error) -> TargetResult {
    TargetResult {
        account: account.to_owned(),
        region: region.to_owned(),
        status: TargetStatus::Skipped,
        reason: Some(chain(e)),
        clusters: Vec::new(),
        queries_run: 0,
        api_calls: ApiCalls::default(),
        describe_log_groups: 0,
        bytes_scanned: 0.0,
        estimated_bytes: 0.0,
        queries_without_statistics: 0,
        stored_bytes: 0,
        cost_usd: 0.0,
        bytes_read: 0,
        elapsed_ms: 0,
    }
}

/// Audits one account and region.
async fn audit(
    shared: &Arc<Shared>,
    account: Option<&str>,
    region: &str,
    creds: Option<Creds>,
) -> Result<(TargetResult, Vec<FleetFinding>), Failure> {
    let t0 = Instant::now();
    let job = &shared.job;
    let opts = ClientOptions {
        region: Some(region.to_owned()),
        profile: job.profile.clone(),
        ..ClientOptions::default()
    };
    let mut loader = crate::sdk::loader(&opts);
    if let Some(c) = creds {
        loader = loader.credentials_provider(c);
    }
    let account_name = account.unwrap_or("").to_owned();
    let fail = |target: TargetResult, findings| Failure::Failed(Box::new((target, findings)));
    let insights = Insights::from_loader(loader, &opts)
        .await
        .map_err(|e| fail(skipped_target(&account_name, region, &e), Vec::new()))?;
    let groups = match insights.discover_clusters("/aws/eks/").await {
        Ok(g) => g,
        Err(e) => {
            let mut t = skipped_target(&account_name, region, &e);
            t.describe_log_groups = insights.describe_calls();
            return Err(fail(t, Vec::new()));
        }
    };
    // Without --accounts the account is the one that owns the log groups.
    let account = account
        .map(str::to_owned)
        .or_else(|| groups.iter().find_map(|g| g.account.clone()))
        .unwrap_or_else(|| "unknown".to_owned());
    let describe = insights.describe_calls();
    audit_groups(
        shared, &insights, &account, region, &groups, false, describe, t0,
    )
    .await
}

/// `--monitoring-account`: lists the `/aws/eks/*/cluster` groups of `region` in the
/// monitoring account and every linked source account (DescribeLogGroups with
/// `includeLinkedAccounts`), keeps those of [`FleetJob::accounts`] when given, and audits
/// each source account as its own target with the monitoring account's client: the queries
/// name the groups by ARN (`logGroupIdentifiers`) and their rows are attributed by `@log`
/// (`account-id:log-group-name`), so costs, findings and state keys are per source account
/// exactly as with `--assume-role`. The region's DescribeLogGroups calls are counted on its
/// first target. Cross-account observability:
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Unified-Cross-Account.html>.
async fn audit_linked(
    shared: &Arc<Shared>,
    monitoring: &str,
    ri: usize,
    region: &str,
) -> Vec<(
    (usize, usize),
    String,
    Result<(TargetResult, Vec<FleetFinding>), Failure>,
)> {
    let t0 = Instant::now();
    let job = &shared.job;
    let opts = ClientOptions {
        region: Some(region.to_owned()),
        profile: job.profile.clone(),
        ..ClientOptions::default()
    };
    // Targets sort by the order of --accounts, else by account id.
    let order = |account: &str| {
        job.accounts
            .iter()
            .position(|a| a == account)
            .unwrap_or_else(|| account.parse().unwrap_or(usize::MAX))
    };
    let named: Vec<String> = if job.accounts.is_empty() {
        vec![monitoring.to_owned()]
    } else {
        job.accounts.clone()
    };
    let skip_all = |e: &Error, describe: u64| {
        named
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let mut t = skipped_target(a, region, e);
                if i == 0 {
                    t.describe_log_groups = describe;
                }
                (
                    (order(a), ri),
                    region.to_owned(),
                    Err(Failure::Failed(Box::new((t, Vec::new())))),
                )
            })
            .collect()
    };
    let insights = match Insights::from_loader(crate::sdk::loader(&opts), &opts).await {
        Ok(i) => i,
        Err(e) => return skip_all(&e, 0),
    };
    let groups = match insights.discover_linked_clusters("/aws/eks/").await {
        Ok(g) => g,
        Err(e) => return skip_all(&e, insights.describe_calls()),
    };
    let mut by_account: BTreeMap<String, Vec<cw::LogGroupInfo>> = BTreeMap::new();
    for a in &job.accounts {
        // A source account named but not linked (or without clusters here) is audited empty.
        by_account.entry(a.clone()).or_default();
    }
    for g in groups {
        // A group without an ARN can only be the caller's own.
        let account = g.account.clone().unwrap_or_else(|| monitoring.to_owned());
        if job.accounts.is_empty() || job.accounts.contains(&account) {
            by_account.entry(account).or_default().push(g);
        }
    }
    let mut describe = insights.describe_calls();
    let mut out = Vec::new();
    for (account, groups) in by_account {
        if *shared.stop.borrow() {
            out.push((
                (order(&account), ri),
                region.to_owned(),
                Err(Failure::Stopped),
            ));
            continue;
        }
        let r = audit_groups(
            shared, &insights, &account, region, &groups, true, describe, t0,
        )
        .await;
        describe = 0;
        out.push(((order(&account), ri), region.to_owned(), r));
    }
    out
}

/// Audits `groups` of `account` in `region` with `insights`: by name, or by ARN (`by_arn`,
/// a monitoring account reading a source account's groups).
#[allow(clippy::too_many_arguments)]
async fn audit_groups(
    shared: &Arc<Shared>,
    insights: &Insights,
    account: &str,
    region: &str,
    groups: &[cw::LogGroupInfo],
    by_arn: bool,
    describe_log_groups: u64,
    t0: Instant,
) -> Result<(TargetResult, Vec<FleetFinding>), Failure> {
    let job = &shared.job;
    let account = account.to_owned();
    let mut target = TargetResult {
        account: account.clone(),
        region: region.to_owned(),
        status: TargetStatus::Audited,
        reason: None,
        clusters: Vec::new(),
        queries_run: 0,
        api_calls: ApiCalls::default(),
        describe_log_groups,
        bytes_scanned: 0.0,
        estimated_bytes: 0.0,
        queries_without_statistics: 0,
        stored_bytes: groups
            .iter()
            .filter_map(|g| g.stored_bytes)
            .map(|b| b.max(0) as u64)
            .sum(),
        cost_usd: 0.0,
        bytes_read: 0,
        elapsed_ms: 0,
    };
    // FilterLogEvents' 5 requests per second are counted per account and region: one
    // limiter for every window and log group of this target.
    let limiter = RateLimiter::per_second(FILTER_TPS);
    // Keyed as the queries name the groups: by ARN from a monitoring account.
    let stored: HashMap<String, i64> = groups
        .iter()
        .filter_map(|g| {
            let id = match (&g.arn, by_arn) {
                (Some(arn), true) => arn.clone(),
                _ => g.name.clone(),
            };
            Some((id, g.stored_bytes?))
        })
        .collect();
    if groups.is_empty() {
        shared.progress.notice(&Notice::NoLogGroups {
            region: region.to_owned(),
        });
    }
    let key = |g: &str| Key {
        account: account.clone(),
        region: region.to_owned(),
        log_group: g.to_owned(),
    };
    // Log groups whose windows start at the same time share queries.
    let mut by_start: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for g in groups {
        let start = shared.start.start(&key(&g.name), job.since_ms);
        // What the query names: the group, or (from a monitoring account) its ARN.
        let id = match (&g.arn, by_arn) {
            (Some(arn), true) => arn.clone(),
            _ => g.name.clone(),
        };
        by_start.entry(start).or_default().push(id);
    }
    let mut findings = Vec::new();
    for (start_ms, names) in by_start {
        let window = Window {
            start_ms,
            end_ms: job.end_ms.max(start_ms),
        };
        let strategy = strategy_for(job.strategy, window);
        let fetched = match strategy {
            cw::Strategy::Events => {
                fetch_window(shared, insights, &names, &stored, &limiter, window).await
            }
            cw::Strategy::Aggregate => aggregate_window(shared, insights, &names, window).await,
        };
        match fetched {
            Ok((meta, extra_calls, reports)) => {
                add_calls(&mut target.api_calls, extra_calls);
                if let Some(meta) = &meta {
                    target.queries_run += meta.queries_run;
                    add_calls(&mut target.api_calls, meta.api_calls);
                    target.bytes_scanned += meta.bytes_scanned;
                    target.estimated_bytes += meta.estimated_bytes.unwrap_or(0.0);
                    target.queries_without_statistics += meta.queries_without_statistics;
                }
                let mut window_findings = Vec::new();
                for (id, read) in names.iter().zip(reports) {
                    let group = cw::group_name(id);
                    let report = read.report;
                    let cluster = cw::cluster_name(group).unwrap_or(group).to_owned();
                    let mut f = core_fleet::findings(
                        &report,
                        Scope {
                            account: &account,
                            region,
                            cluster: &cluster,
                        },
                        window,
                    );
                    target.clusters.push(ClusterResult {
                        cluster,
                        log_group: group.to_owned(),
                        window,
                        strategy,
                        lines: read.lines,
                        outside_window: read.outside,
                        failures: report.failures.total,
                        findings: f.len() as u64,
                        reader: read.reader,
                        bytes_read: read.bytes_read,
                        estimated_bytes: read.estimated,
                        other_streams: read.other_streams,
                    });
                    target.bytes_read += read.bytes_read;
                    window_findings.append(&mut f);
                }
                if let Some(meta) = meta.filter(|m| !m.complete) {
                    // A capped window is not complete: its findings are reported, but the
                    // state stays where it was so that the next run reads it again.
                    target.status = TargetStatus::Skipped;
                    target.reason = meta.incomplete_reason.clone();
                    findings.append(&mut window_findings);
                    continue;
                }
                let (ack, acked) = tokio::sync::oneshot::channel();
                let sent = shared.done.send(Completed {
                    findings: window_findings.clone(),
                    keys: names.iter().map(|g| key(cw::group_name(g))).collect(),
                    end_ms: window.end_ms,
                    ack,
                });
                findings.append(&mut window_findings);
                match (sent, acked.await) {
                    (Ok(()), Ok(Ok(()))) => {}
                    (Ok(()), Ok(Err(why))) => {
                        target.status = TargetStatus::Skipped;
                        target.reason = Some(why);
                    }
                    _ => return Err(Failure::Stopped),
                }
            }
            Err(e) if e.is_interrupted() || matches!(e, Error::DeadlineExceeded { .. }) => {
                return Err(Failure::Stopped);
            }
            Err(e) => {
                if matches!(e, Error::Budget(_)) {
                    shared
                        .over_budget
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                target.status = TargetStatus::Skipped;
                target.reason = Some(chain(&e));
            }
        }
    }
    finish_target(&mut target, t0);
    Ok((target, findings))
}

fn finish_target(t: &mut TargetResult, t0: Instant) {
    t.cost_usd = t.bytes_scanned / 1e9 * cw::PRICE_USD_PER_GB;
    t.elapsed_ms = t0.elapsed().as_millis() as u64;
}

fn add_calls(total: &mut ApiCalls, more: ApiCalls) {
    total.start_query += more.start_query;
    total.get_query_results += more.get_query_results;
    total.stop_query += more.stop_query;
    total.describe_log_groups += more.describe_log_groups;
    total.filter_log_events += more.filter_log_events;
}

/// One cluster's part of a window: its report and how it was read.
struct GroupRead {
    report: eks_authlog_core::analysis::Report,
    /// Lines analysed.
    lines: u64,
    /// Lines returned outside the window, dropped.
    outside: u64,
    reader: Reader,
    /// Bytes of the messages returned.
    bytes_read: u64,
    /// Its share of the window's Insights estimate (`--reader auto`).
    estimated: Option<f64>,
    /// FilterLogEvents events from other streams (the server ignored the prefix).
    other_streams: u64,
}

/// Per log group, its share of the Insights estimate of its batch: the estimate is a total
/// over the batch's groups (one `| estimate` query per 50 groups, like the query itself),
/// so it is split by the groups' DescribeLogGroups `storedBytes` (known per group, at no
/// extra call: discovery read it; DescribeLogStreams' `storedBytes` would say how much of
/// a group is audit logs, but it is always 0 since 2019, DescribeLogStreams API reference;
/// an even split where one is missing or all are zero). A batch estimated
/// below the threshold gives every group a share below it: that conclusion is exact; the
/// split only decides which groups of a large batch carry it. `None` where the batch has
/// no estimate.
fn estimate_shares(
    groups: &[String],
    batch: usize,
    estimates: &[Option<f64>],
    stored: &HashMap<String, i64>,
) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(groups.len());
    for (chunk, estimate) in groups.chunks(batch.max(1)).zip(estimates) {
        let weights: Option<Vec<f64>> = chunk
            .iter()
            .map(|g| stored.get(g).map(|b| (*b).max(0) as f64))
            .collect();
        let total = weights.as_ref().map_or(0.0, |w| w.iter().sum::<f64>());
        for i in 0..chunk.len() {
            out.push(estimate.map(|e| match &weights {
                Some(w) if total > 0.0 => e * w[i] / total,
                _ => e / chunk.len() as f64,
            }));
        }
    }
    out.resize(groups.len(), None);
    out
}

/// The reader of a group from its share of the estimate: FilterLogEvents at or above
/// `threshold`, and where the scan could not be estimated (it needs no scan budget);
/// Insights below it.
fn reader_for(share: Option<f64>, threshold: f64) -> Reader {
    match share {
        Some(b) if b < threshold => Reader::Insights,
        _ => Reader::Filter,
    }
}

/// Fetches every authenticator line of `groups` in `window` and analyses each group's lines
/// as one cluster: the Insights groups with one query per 50 log groups, the FilterLogEvents
/// groups one by one (paced by `limiter`), as [`FleetJob::reader`] chooses. Returns the
/// Insights fetch's metadata (`None` when no query ran), the API calls made besides it (the
/// auto choice's estimates, FilterLogEvents), and one [`GroupRead`] per group. Any error
/// fails the whole window, so its state does not move.
async fn fetch_window(
    shared: &Shared,
    insights: &Insights,
    groups: &[String],
    stored: &HashMap<String, i64>,
    limiter: &RateLimiter,
    window: Window,
) -> Result<(Option<cw::FetchMeta>, ApiCalls, Vec<GroupRead>), Error> {
    let cluster_opts = |g: &str| Options {
        cluster: cw::cluster_name(cw::group_name(g)).map(str::to_owned),
        region: Some(insights.region().to_owned()),
        window_applied_by_source: true,
        ..Options::default()
    };
    let index: HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.as_str(), i))
        .collect();
    // (analyser, lines, outside the window, bytes read)
    let mut analysers: Vec<(Analyzer, u64, u64, u64)> = groups
        .iter()
        .map(|g| (Analyzer::new(cluster_opts(g)), 0, 0, 0))
        .collect();
    let mut extra = ApiCalls::default();
    let job = &shared.job;
    let fixed = |r: Reader| vec![(r, None); groups.len()];
    if window.start_ms >= window.end_ms {
        // Nothing to read (the state is already at the end): no query.
        let readers = match job.reader {
            ReaderChoice::Filter => fixed(Reader::Filter),
            _ => fixed(Reader::Insights),
        };
        return Ok((None, extra, finish(analysers, readers, &[])));
    }
    // Insights windows are whole seconds, both ends inclusive: ask for every second the
    // window touches, then keep only the rows inside it, by their @timestamp.
    let start = window.start_ms.div_euclid(1000);
    let end = (window.end_ms + 999).div_euclid(1000);
    let batch = job.batch.clamp(1, MAX_GROUPS_PER_QUERY);
    let request = |groups: Vec<String>| {
        let mut req = Request::new(groups, start, end);
        req.batch = batch;
        req.max_concurrency = job.max_queries.max(1);
        req.poll.deadline = None;
        req.budget = Some(job.budget.clone());
        req
    };
    let cancel = || {
        let mut stop = shared.stop.clone();
        async move {
            let _ = stop.wait_for(|s| *s).await;
        }
    };
    let query = queries::get("recent")
        .ok_or_else(|| Error::InvalidRequest("query recent is missing".into()))?;
    let mut estimates = Vec::new();
    let readers: Vec<(Reader, Option<f64>)> = match job.reader {
        ReaderChoice::Insights => fixed(Reader::Insights),
        ReaderChoice::Filter => fixed(Reader::Filter),
        ReaderChoice::Auto => {
            // The estimate the Insights fetch makes anyway, made first: it costs nothing
            // and, when every group stays with Insights, the fetch admits it as it is.
            let (e, calls) = insights
                .estimate_counted(
                    &request(groups.to_vec()),
                    &[query],
                    shared.progress.clone(),
                    cancel(),
                )
                .await?;
            add_calls(&mut extra, calls);
            let bytes: Vec<Option<f64>> = e.iter().map(|e| e.bytes).collect();
            estimates = e;
            estimate_shares(groups, batch, &bytes, stored)
                .into_iter()
                .map(|share| (reader_for(share, job.filter_above_bytes), share))
                .collect()
        }
    };
    let mut sink = |text: &[u8], env: &Envelope<'_>, loc: Loc<'_>| {
        let Some(&i) = index.get(loc.input) else {
            return;
        };
        let a = &mut analysers[i];
        a.3 += text.len() as u64;
        match env.timestamp_ms {
            Some(t) if t < window.start_ms || t >= window.end_ms => a.2 += 1,
            _ => {
                a.1 += 1;
                feed(&mut a.0, text, env, loc);
            }
        }
    };
    let with = |r: Reader| -> Vec<String> {
        groups
            .iter()
            .zip(&readers)
            .filter(|(_, (reader, _))| *reader == r)
            .map(|(g, _)| g.clone())
            .collect()
    };
    let (by_insights, by_filter) = (with(Reader::Insights), with(Reader::Filter));
    let mut meta = None;
    if !by_insights.is_empty() {
        let mut req = request(by_insights.clone());
        if by_insights.len() == groups.len() {
            req.estimates = estimates;
        }
        meta = Some(
            insights
                .fetch_events(&req, query, &mut sink, shared.progress.clone(), cancel())
                .await?,
        );
    }
    let calls = std::sync::atomic::AtomicU64::new(0);
    let mut other = vec![0u64; groups.len()];
    let mut filter_bytes: Vec<Option<u64>> = vec![None; groups.len()];
    for g in &by_filter {
        let read = insights
            .filter_events(
                g,
                window.start_ms,
                window.end_ms,
                limiter,
                cw::RetryPolicy::default(),
                &calls,
                &mut sink,
                cancel(),
            )
            .await;
        extra.filter_log_events = calls.load(std::sync::atomic::Ordering::Relaxed);
        let stats = read?;
        let i = index[g.as_str()];
        other[i] = stats.other_streams + stats.malformed;
        filter_bytes[i] = Some(stats.bytes);
    }
    // Events from other streams were transferred too: they are bytes read.
    for (a, b) in analysers.iter_mut().zip(filter_bytes) {
        if let Some(b) = b {
            a.3 = b;
        }
    }
    Ok((meta, extra, finish(analysers, readers, &other)))
}

fn finish(
    analysers: Vec<(Analyzer, u64, u64, u64)>,
    readers: Vec<(Reader, Option<f64>)>,
    other: &[u64],
) -> Vec<GroupRead> {
    analysers
        .into_iter()
        .zip(readers)
        .enumerate()
        .map(
            |(i, ((a, lines, outside, bytes_read), (reader, estimated)))| GroupRead {
                report: a.finish(),
                lines,
                outside,
                reader,
                bytes_read,
                estimated,
                other_streams: other.get(i).copied().unwrap_or(0),
            },
        )
        .collect()
}

/// The strategy of one window. `auto` reads a window as events up to
/// [`cw::EVENTS_MAX_WINDOW_SECS`] (7 days) and aggregates it inside Insights beyond (a first
/// run over 30 or 90 days). Unlike `report`'s [`cw::choose_strategy`], the number of log
/// groups does not switch it: the fleet always reads many groups, 50 per query, and splits a
/// capped window until it is complete, while events keep every class exact, so the daily
/// windows of a schedule give the same finding ids from one run to the next.
pub fn strategy_for(choice: StrategyChoice, window: Window) -> cw::Strategy {
    match choice {
        StrategyChoice::Events => cw::Strategy::Events,
        StrategyChoice::Aggregate => cw::Strategy::Aggregate,
        StrategyChoice::Auto => {
            let secs = (window.end_ms - window.start_ms).div_euclid(1000);
            if secs > cw::EVENTS_MAX_WINDOW_SECS {
                cw::Strategy::Aggregate
            } else {
                cw::Strategy::Events
            }
        }
    }
}

/// Strategy `aggregate`: the `agg-identities` and `agg-failures` queries count the grants and
/// denials of `groups` in `window` inside Insights (50 log groups per query, rows attributed
/// by `@log`), and each group's rows are analysed as one cluster, as `report --strategy
/// aggregate` does. Rows stay few however long the window; what is lost is in the README
/// (classes settled from the STS response a denial pairs with). A `stats` row cannot be cut
/// at the window's milliseconds, so the query covers the whole seconds the window touches.
async fn aggregate_window(
    shared: &Shared,
    insights: &Insights,
    groups: &[String],
    window: Window,
) -> Result<(Option<cw::FetchMeta>, ApiCalls, Vec<GroupRead>), Error> {
    let cluster_opts = |g: &str| Options {
        cluster: cw::cluster_name(g).map(str::to_owned),
        region: Some(insights.region().to_owned()),
        window_applied_by_source: true,
        ..Options::default()
    };
    let mut analysers: Vec<(Analyzer, u64, u64, u64)> = groups
        .iter()
        .map(|g| (Analyzer::new(cluster_opts(g)), 0, 0, 0))
        .collect();
    // Aggregates are Insights rows: no FilterLogEvents, no per-group share of an estimate.
    let readers = || {
        groups
            .iter()
            .map(|_| (Reader::Insights, None))
            .collect::<Vec<_>>()
    };
    if window.start_ms >= window.end_ms {
        return Ok((None, ApiCalls::default(), finish(analysers, readers(), &[])));
    }
    let start = window.start_ms.div_euclid(1000);
    let end = (window.end_ms + 999).div_euclid(1000);
    let mut req = Request::new(groups.to_vec(), start, end);
    req.batch = shared.job.batch.clamp(1, MAX_GROUPS_PER_QUERY);
    req.max_concurrency = shared.job.max_queries.max(1);
    req.poll.deadline = None;
    req.budget = Some(shared.job.budget.clone());
    let mut stop = shared.stop.clone();
    let cancel = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let mut got = insights
        .fetch_aggregates(&req, shared.progress.clone(), cancel)
        .await?;
    for r in &got.rows {
        // Every row was attributed to a group of its query by the fetch.
        let Some(a) = groups
            .iter()
            .position(|g| *g == r.log_group)
            .map(|i| &mut analysers[i])
        else {
            got.meta.rows_malformed += 1;
            continue;
        };
        a.1 += r.count;
        a.0.add(Evidence::Aggregate(&Aggregate {
            granted: r.kind == cw::AggKind::Granted,
            arn: r.arn.as_deref(),
            username: r.username.as_deref(),
            error: r.error.as_deref(),
            sts_code: r.sts_code.as_deref(),
            count: r.count,
            first_ms: r.first_ms,
            last_ms: r.last_ms,
        }));
    }
    Ok((
        Some(got.meta),
        ApiCalls::default(),
        finish(analysers, readers(), &[]),
    ))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_estimate_is_split_by_stored_bytes() {
        let groups: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let stored: HashMap<String, i64> =
            [("a".into(), 900), ("b".into(), 100), ("c".into(), 50)].into();
        // Batches [a, b] and [c].
        let shares = estimate_shares(&groups, 2, &[Some(10e9), Some(2e9)], &stored);
        assert_eq!(shares, [Some(9e9), Some(1e9), Some(2e9)]);
        // A missing storedBytes: an even split of its batch; no estimate: none.
        let stored: HashMap<String, i64> = [("a".into(), 900)].into();
        let shares = estimate_shares(&groups, 2, &[Some(10e9), None], &stored);
        assert_eq!(shares, [Some(5e9), Some(5e9), None]);
    }

    #[test]
    fn the_reader_follows_the_threshold() {
        assert_eq!(reader_for(Some(0.5e9), 1e9), Reader::Insights);
        assert_eq!(reader_for(Some(1e9), 1e9), Reader::Filter);
        assert_eq!(reader_for(Some(3e9), 1e9), Reader::Filter);
        // No estimate: the reader that needs no scan budget.
        assert_eq!(reader_for(None, 1e9), Reader::Filter);
    }

    #[test]
    fn auto_aggregates_only_windows_over_seven_days() {
        let day = 86_400_000;
        let w = |days: i64| Window {
            start_ms: 0,
            end_ms: days * day,
        };
        assert_eq!(
            strategy_for(StrategyChoice::Auto, w(1)),
            cw::Strategy::Events
        );
        assert_eq!(
            strategy_for(StrategyChoice::Auto, w(7)),
            cw::Strategy::Events
        );
        assert_eq!(
            strategy_for(StrategyChoice::Auto, w(30)),
            cw::Strategy::Aggregate
        );
        assert_eq!(
            strategy_for(StrategyChoice::Events, w(90)),
            cw::Strategy::Events
        );
        assert_eq!(
            strategy_for(StrategyChoice::Aggregate, w(1)),
            cw::Strategy::Aggregate
        );
    }
}
