//! Running a job against CloudWatch Logs Insights: the AWS crate fetches, the core analyses,
//! exactly as for local inputs. Progress and notices go to stderr through [`StderrProgress`].

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use crate::config::AuditQueries;
use eks_authlog_aws::cloudwatch::budget::Bytes;
use eks_authlog_aws::cloudwatch::{
    AuditAggregates, FetchMeta, Notice, Progress, QueryWindow, Status,
};
use eks_authlog_aws::{AuditPass, CloudWatchJob};
use eks_authlog_core::analysis::{Analyzer, Report};
use eks_authlog_core::audit::join::SearchWindows;
use eks_authlog_core::audit::{ForbiddenAggregate, IdentityAggregate};
use eks_authlog_core::evidence::{Aggregate, Evidence};
use eks_authlog_core::pipeline::{self, Feed, Job};
use eks_authlog_core::report::source::{AuditWindows, Sources};
use eks_authlog_core::report::stream::EventWriter;
use eks_authlog_core::source::{Envelope, Loc};

use crate::error::{Error, Result};

/// Audit windows queried per log group at most: each is one estimate and one query
/// (StartQuery is paced at 4 a second), so 100 windows take about a minute of API calls.
/// Windows beyond it are joined with their nearest neighbour (see
/// [`eks_authlog_core::audit::join::search_windows`]).
pub const MAX_AUDIT_WINDOWS: usize = 100;

/// Fetches the job's lines or aggregates and analyses them into a report. Then, as `audit`
/// asks, the audit pass: `audit-unauthorized` over only the windows around the denials that
/// carry no identity, in the same analyzer, so the join attributes them as for files, and
/// the aggregates. When the budget refuses the audit pass, the report of the authenticator
/// pass (already paid for) is still returned, marked incomplete, with the refusal for the
/// caller to raise once it is written.
pub fn report(
    cw: &CloudWatchJob,
    job: &Job,
    audit: AuditQueries,
    quiet: bool,
) -> Result<(Report, Sources, Option<eks_authlog_aws::cloudwatch::Error>)> {
    let mut analyzer = Analyzer::new(source_windowed(job));
    let mut aggregates = Vec::new();
    let progress: Arc<StderrProgress> = Arc::new(StderrProgress::new(quiet));
    let t0 = std::time::Instant::now();
    let mut metas = eks_authlog_aws::fetch(
        cw,
        &mut Feed(&mut analyzer),
        &mut |a: &Aggregate<'_>| aggregates.push(OwnedAggregate::from(a)),
        progress.clone(),
    )?;
    for a in &aggregates {
        analyzer.add(Evidence::Aggregate(&a.borrowed()));
    }
    let windows = match audit.unauthorized {
        true => analyzer.audit_search_windows(MAX_AUDIT_WINDOWS),
        false => SearchWindows::default(),
    };
    let pass = audit_pass(&metas, &windows, audit);
    let mut rows = Vec::new();
    let mut rest = cw.clone();
    let timeout = cw
        .timeout
        .unwrap_or(eks_authlog_aws::cloudwatch::DEFAULT_DEADLINE);
    rest.timeout = Some(timeout.saturating_sub(t0.elapsed()));
    let fetched = eks_authlog_aws::fetch_audit(
        &rest,
        &pass,
        &mut Feed(&mut analyzer),
        &mut |got: &AuditAggregates| rows.push(got.clone()),
        progress,
    );
    let (later, refused) = match fetched {
        Ok(later) => (later, None),
        Err(e @ eks_authlog_aws::cloudwatch::Error::Budget(_)) => {
            for m in &mut metas {
                let note = format!("the audit pass was not run: {e}");
                m.complete = false;
                m.incomplete_reason = Some(match m.incomplete_reason.take() {
                    Some(r) => format!("{r}; {note}"),
                    None => note,
                });
            }
            (Vec::new(), Some(e))
        }
        Err(e) => return Err(e.into()),
    };
    for m in later {
        match metas.iter_mut().find(|mine| mine.regions == m.regions) {
            Some(mine) => mine.absorb(m),
            None => metas.push(m),
        }
    }
    for got in &rows {
        add_audit_aggregates(&mut analyzer, got);
    }
    pipeline::check_strict(job, &analyzer)?;
    Ok((
        analyzer.finish(),
        Sources {
            inputs: Vec::new(),
            cloudwatch: Some(metas),
        },
        refused,
    ))
}

/// Streams the job's events to `writer`, classified (events need lines: strategy `events`).
pub fn events<W: Write>(
    cw: &CloudWatchJob,
    job: &Job,
    writer: &mut EventWriter<W>,
    quiet: bool,
) -> Result<Report> {
    let mut analyzer = Analyzer::for_events(source_windowed(job));
    let mut failed: Option<std::io::Error> = None;
    let mut events_only = cw.clone();
    events_only.strategy = eks_authlog_aws::StrategyChoice::Events;
    eks_authlog_aws::fetch(
        &events_only,
        &mut |t: &[u8], e: &Envelope<'_>, l: Loc<'_>| {
            if failed.is_none()
                && let Err(e) = pipeline::write_event(&mut analyzer, writer, &job.options, t, e, l)
            {
                failed = Some(e);
            }
        },
        &mut |_: &Aggregate<'_>| {},
        Arc::new(StderrProgress::new(quiet)),
    )?;
    if let Some(e) = failed.take() {
        return Err(Error::output(e));
    }
    pipeline::check_strict(job, &analyzer)?;
    Ok(analyzer.finish())
}

/// The audit pass for `windows` (keyed by the log group the denials were read from): each
/// group's windows go to the region whose fetch read that group.
fn audit_pass(metas: &[FetchMeta], windows: &SearchWindows, audit: AuditQueries) -> AuditPass {
    let mut pass = AuditPass {
        windows: AuditWindows {
            denials: windows.denials,
            windows: windows.len() as u64,
            merged: windows.merged,
            max_per_group: MAX_AUDIT_WINDOWS as u64,
        },
        forbidden: audit.forbidden,
        identities: audit.identities,
        ..AuditPass::default()
    };
    for m in metas {
        let Some(region) = m.regions.first() else {
            continue;
        };
        pass.groups
            .entry(region.clone())
            .or_default()
            .extend(m.log_groups.iter().cloned());
        for group in &m.log_groups {
            if let Some(w) = windows.by_input.get(group) {
                let w = w.iter().map(|&(start, end)| QueryWindow { start, end });
                pass.unauthorized
                    .entry(region.clone())
                    .or_default()
                    .insert(group.clone(), w.collect());
            }
        }
    }
    pass
}

/// Hands the audit aggregate rows to the analysis, as the audit types it groups.
fn add_audit_aggregates(analyzer: &mut Analyzer, got: &AuditAggregates) {
    for r in &got.forbidden {
        analyzer.add(Evidence::AuditForbidden(&ForbiddenAggregate {
            username: r.username.as_deref(),
            canonical_arn: r.canonical_arn.as_deref(),
            groups: r.groups.iter().map(String::as_str).collect(),
            verb: r.verb.as_deref(),
            api_group: r.api_group.as_deref(),
            resource: r.resource.as_deref(),
            subresource: r.subresource.as_deref(),
            namespace: r.namespace.as_deref(),
            example: r.example.as_deref(),
            count: r.count,
            first_ms: r.first_ms,
            last_ms: r.last_ms,
        }));
    }
    for r in &got.identities {
        analyzer.add(Evidence::AuditIdentity(&IdentityAggregate {
            canonical_arn: &r.canonical_arn,
            username: r.username.as_deref(),
            principal_id: r.principal_id.as_deref(),
            key_type: r.key_type.as_deref(),
            count: r.count,
            first_ms: r.first_ms,
            last_ms: r.last_ms,
        }));
    }
}

/// The job's options for rows Insights returned: it already applied the window (on
/// `@timestamp`), so a row is not dropped again because its own `time=` says otherwise.
fn source_windowed(job: &Job) -> eks_authlog_core::analysis::Options {
    let mut options = job.options.clone();
    options.window_applied_by_source = true;
    options
}

/// An aggregate kept until the fetch returns (the sink closure cannot borrow the analyzer twice).
struct OwnedAggregate {
    granted: bool,
    arn: Option<String>,
    username: Option<String>,
    error: Option<String>,
    sts_code: Option<String>,
    count: u64,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
}

impl From<&Aggregate<'_>> for OwnedAggregate {
    fn from(a: &Aggregate<'_>) -> OwnedAggregate {
        OwnedAggregate {
            granted: a.granted,
            arn: a.arn.map(str::to_owned),
            username: a.username.map(str::to_owned),
            error: a.error.map(str::to_owned),
            sts_code: a.sts_code.map(str::to_owned),
            count: a.count,
            first_ms: a.first_ms,
            last_ms: a.last_ms,
        }
    }
}

impl OwnedAggregate {
    fn borrowed(&self) -> Aggregate<'_> {
        Aggregate {
            granted: self.granted,
            arn: self.arn.as_deref(),
            username: self.username.as_deref(),
            error: self.error.as_deref(),
            sts_code: self.sts_code.as_deref(),
            count: self.count,
            first_ms: self.first_ms,
            last_ms: self.last_ms,
        }
    }
}

/// On a terminal, one self-rewriting status line on stderr; otherwise (CI logs) a plain
/// "still waiting" line every `PLAIN_EVERY`. Notices as lines of their own. Nothing at all
/// when quiet.
#[derive(Debug)]
pub struct StderrProgress {
    terminal: bool,
    quiet: bool,
    /// When the last plain line was written (off a terminal).
    last_plain: std::sync::Mutex<Option<std::time::Duration>>,
}

/// How often a plain progress line is written when stderr is not a terminal.
const PLAIN_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

impl StderrProgress {
    /// Silent if `quiet`; a status line if stderr is a terminal, plain lines otherwise.
    pub fn new(quiet: bool) -> Self {
        StderrProgress {
            terminal: std::io::stderr().is_terminal(),
            quiet,
            last_plain: std::sync::Mutex::new(None),
        }
    }
}

/// `1 running, 0 done, Running, 1234 records scanned, 1.2 MB of 4.0 MB estimated, 12.0s`,
/// or `starting queries, 3.0s` while no query is running yet.
fn status_text(s: &Status) -> String {
    if s.running == 0 && s.completed == 0 && s.last_status == "Starting" {
        return format!("starting queries, {:.1}s", s.elapsed.as_secs_f64());
    }
    let bytes = if s.bytes_estimated > 0.0 {
        format!(
            ", {} of {} estimated",
            Bytes(s.bytes_scanned),
            Bytes(s.bytes_estimated)
        )
    } else {
        format!(", {} scanned", Bytes(s.bytes_scanned))
    };
    format!(
        "{} running, {} done, {}, {:.0} records scanned{bytes}, {:.1}s",
        s.running,
        s.completed,
        s.last_status,
        s.records_scanned,
        s.elapsed.as_secs_f64()
    )
}

impl Progress for StderrProgress {
    fn update(&self, s: &Status) {
        if self.quiet {
            return;
        }
        if self.terminal {
            let _ = write!(
                std::io::stderr().lock(),
                "\r\x1b[2Kcloudwatch: {}",
                status_text(s)
            );
            return;
        }
        let mut last = self.last_plain.lock().unwrap();
        let due = last.map_or(PLAIN_EVERY, |t| t + PLAIN_EVERY);
        if s.elapsed >= due {
            *last = Some(s.elapsed);
            let _ = writeln!(
                std::io::stderr().lock(),
                "eks-authlog: cloudwatch: still waiting: {}",
                status_text(s)
            );
        }
    }

    fn notice(&self, notice: &Notice) {
        if !self.quiet {
            self.finish();
            let _ = writeln!(std::io::stderr().lock(), "eks-authlog: {notice}");
        }
    }

    fn finish(&self) {
        if self.terminal && !self.quiet {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}
