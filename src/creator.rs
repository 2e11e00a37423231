//! `creator --cluster NAME`: the creator's answer from every live source, after the logs.
//! CloudTrail's Event history (`LookupEvents`, around the cluster's `createdAt`, which the
//! live access read gives) and IAM (whether the candidates still exist) join the report's
//! creator section through the core (`Creator::join_*`), which decides; each source's use and
//! cost is recorded in `creator.sources`. None of them fails the run: what could not be read
//! is said there, and on stderr.

#[cfg(feature = "cloudwatch")]
use std::sync::Arc;

#[cfg(feature = "cloudwatch")]
use eks_authlog_aws::cloudwatch::budget::ScanBudget;
use eks_authlog_core::analysis::{Report, SourceStatus, SourceUse};
use eks_authlog_core::cloudtrail::{self, Ignored, LOOKUP_SOURCE, Record};

/// What `creator --cluster` reads besides the logs and the access configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatorLive {
    /// The cluster.
    pub cluster: String,
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// Look CreateCluster up in CloudTrail's Event history (off with `--no-cloudtrail`).
    pub cloudtrail: bool,
    /// Ask IAM whether the candidates still exist (off with `--no-iam`; for files, on with
    /// `--iam`).
    pub iam: bool,
    /// `--trail-log-group`: CloudTrail trails' log groups, searched through Logs Insights.
    pub trail_log_groups: Vec<String>,
    /// `--since`, `--until` (epoch ms): the trail's window when the cluster's createdAt is
    /// not known.
    pub since_ms: Option<i64>,
    /// See `since_ms`.
    pub until_ms: Option<i64>,
    /// Milliseconds since the epoch, now (the Event history's 90 days end here).
    pub now_ms: i64,
}

/// Candidates asked about at most, when no one is the likely creator.
const MAX_IAM: usize = 10;

/// How far around the cluster's `createdAt` the CreateCluster call is looked for.
const AROUND_MS: i64 = 3_600_000;

/// A trail's window when the cluster's createdAt is not known and `--since` is not given.
const TRAIL_DEFAULT_MS: i64 = 90 * 86_400_000;

#[cfg(feature = "cloudwatch")]
impl CreatorLive {
    fn options(&self) -> eks_authlog_aws::cloudwatch::ClientOptions {
        eks_authlog_aws::cloudwatch::ClientOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
            ..Default::default()
        }
    }

    /// Joins CloudTrail (Event history, then each trail log group) and IAM to `report`'s
    /// creator, noting on stderr (unless `quiet`) what could not be read. Every trail query
    /// is estimated and admitted by `budget` first; its refusal (or an interruption) is
    /// returned, for the caller to raise once the report is written: IAM is then not asked.
    pub fn join(
        &self,
        report: &mut Report,
        quiet: bool,
        budget: Option<Arc<ScanBudget>>,
    ) -> Option<eks_authlog_aws::cloudwatch::Error> {
        let note = |text: &str| {
            if !quiet {
                use std::io::Write as _;
                let _ = writeln!(std::io::stderr().lock(), "eks-authlog: note: {text}");
            }
        };
        if self.cloudtrail {
            self.lookup(report, &note);
        } else {
            // Only the Event history: a trail's log group is asked all the same.
            report
                .creator
                .join_source(skipped("cloudtrail", "--no-cloudtrail"));
        }
        if !self.trail_log_groups.is_empty()
            && let Some(stop) = self.trail(report, quiet, budget, &note)
        {
            return Some(stop);
        }
        if self.iam {
            self.check_iam(report, &note);
        } else {
            report.creator.join_source(skipped("iam", "--no-iam"));
        }
        None
    }

    /// The trail's window: the cluster's createdAt ±1 hour when known (CreateCluster is
    /// logged when the call is made, createdAt when it returns), else `--since` (default: 90
    /// days back, as far as the Event history goes) to `--until` (default: now), and what it
    /// is, for the source entry.
    fn trail_window(&self, report: &Report) -> (i64, i64, &'static str) {
        match report.creator.cluster_created_ms() {
            Some(created) => (
                created - AROUND_MS,
                (created + AROUND_MS).min(self.now_ms),
                "the cluster's createdAt ±1 h",
            ),
            None => {
                let end = self.until_ms.unwrap_or(self.now_ms);
                let start = self.since_ms.unwrap_or(end - TRAIL_DEFAULT_MS).min(end);
                let what = match (self.since_ms, self.until_ms) {
                    (Some(_), _) => "createdAt unknown: --since/--until",
                    (None, Some(_)) => "createdAt unknown: 90 days up to --until",
                    (None, None) => "createdAt unknown: the last 90 days",
                };
                (start, end, what)
            }
        }
    }

    /// Runs the trail query over each `--trail-log-group` and joins what it found.
    fn trail(
        &self,
        report: &mut Report,
        quiet: bool,
        budget: Option<Arc<ScanBudget>>,
        note: &dyn Fn(&str),
    ) -> Option<eks_authlog_aws::cloudwatch::Error> {
        use eks_authlog_aws::cloudwatch::Error as CwError;
        let (start, end, what) = self.trail_window(report);
        let job = eks_authlog_aws::TrailJob {
            log_groups: self.trail_log_groups.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            start_ms: start,
            end_ms: end,
            timeout: None,
            budget,
        };
        let progress = Arc::new(crate::cloudwatch::StderrProgress::new(quiet));
        let failed = |group: &str, api_calls: u64, detail: String| SourceUse {
            source: "cloudtrail",
            via: Some(group.to_owned()),
            status: SourceStatus::Failed,
            records: None,
            api_calls: Some(api_calls),
            bytes_scanned: Some(0),
            estimated_bytes: None,
            detail,
        };
        let answers = match eks_authlog_aws::fetch_trail(&job, progress) {
            Ok(a) => a,
            Err(e) => {
                note(&format!("CloudTrail log groups not read: {e}"));
                for g in &self.trail_log_groups {
                    report.creator.join_source(failed(g, 0, e.to_string()));
                }
                return None;
            }
        };
        for (group, answer) in answers {
            let got = match answer {
                Ok(got) => got,
                Err(e @ (CwError::Budget(_) | CwError::Interrupted { .. })) => {
                    report
                        .creator
                        .join_source(failed(&group, 0, format!("not queried: {e}")));
                    return Some(e);
                }
                Err(e) => {
                    note(&format!("CloudTrail log group {group} not read: {e}"));
                    report.creator.join_source(failed(&group, 0, e.to_string()));
                    continue;
                }
            };
            // Each row is one CloudTrail event, read as the files' and LookupEvents' are: a
            // row that is no CloudTrail event (a server that ignored the filter, a foreign
            // line) is counted, not used.
            let mut records = Vec::new();
            let mut foreign = 0u64;
            for e in &got.events {
                match cloudtrail::parse(e.as_bytes(), &group) {
                    Some(r) => records.push(r),
                    None => foreign += 1,
                }
            }
            report.creator.join_cloudtrail(&group, &records);
            let here = report
                .creator
                .identities
                .iter()
                .flat_map(|i| &i.create_cluster)
                .filter(|c| c.source == group)
                .count();
            let m = &got.meta;
            let api_calls = m.api_calls.start_query
                + m.api_calls.get_query_results
                + m.api_calls.stop_query
                + m.api_calls.describe_log_groups;
            let mut detail = format!(
                "Logs Insights query cloudtrail-create-cluster from {} to {} ({what}): {} \
                 row(s), {here} CreateCluster of this cluster",
                eks_authlog_core::time::format_ms(got.window_ms.0),
                eks_authlog_core::time::format_ms(got.window_ms.1),
                got.events.len(),
            );
            let mut counts = cloudtrail::Counts::default();
            records.iter().for_each(|r| counts.add(r));
            for (n, kind) in [
                (
                    counts.create_cluster.saturating_sub(here as u64),
                    "EKS CreateCluster not this cluster's (another cluster or creation, the \
                     service role)",
                ),
                (counts.other_service, "CreateCluster of other services"),
                (counts.failed, "failed CreateCluster"),
                (counts.other_event, "other events"),
                (counts.no_identity, "without a principal"),
                (foreign, "not CloudTrail events"),
            ] {
                if n > 0 {
                    detail.push_str(&format!(", {n} {kind}"));
                }
            }
            detail.push_str(&format!(", {} bytes scanned", m.bytes_scanned as u64));
            if let Some(reason) = &m.incomplete_reason {
                detail.push_str(&format!("; incomplete: {reason}"));
            }
            report.creator.join_source(SourceUse {
                source: "cloudtrail",
                via: Some(group.clone()),
                status: if here > 0 {
                    SourceStatus::Used
                } else {
                    SourceStatus::NothingFound
                },
                records: Some(got.events.len() as u64),
                api_calls: Some(api_calls),
                bytes_scanned: Some(m.bytes_scanned as u64),
                estimated_bytes: m.estimated_bytes.map(|b| b as u64),
                detail,
            });
        }
        None
    }

    fn lookup(&self, report: &mut Report, note: &dyn Fn(&str)) {
        let history = eks_authlog_aws::cloudtrail::HISTORY.as_millis() as i64;
        let oldest = self.now_ms - history;
        let (start, end) = match report.creator.cluster_created_ms() {
            Some(created) if created + AROUND_MS < oldest => {
                report.creator.join_source(SourceUse {
                    source: "cloudtrail",
                    via: Some(LOOKUP_SOURCE.to_owned()),
                    status: SourceStatus::NotAvailable,
                    records: None,
                    api_calls: Some(0),
                    bytes_scanned: None,
                    estimated_bytes: None,
                    detail: format!(
                        "the cluster was created {}, before the 90 days of CloudTrail Event \
                         history: not asked (a trail's log group, --trail-log-group, or its S3 \
                         objects given as files, may still hold it)",
                        eks_authlog_core::time::format_ms(created)
                    ),
                });
                return;
            }
            Some(created) => (
                (created - AROUND_MS).max(oldest),
                (created + AROUND_MS).min(self.now_ms),
            ),
            None => (oldest, self.now_ms),
        };
        let found =
            eks_authlog_aws::cloudtrail::create_cluster_blocking(start, end, &self.options());
        let use_of = |status, records, api_calls, detail: String| SourceUse {
            source: "cloudtrail",
            via: Some(LOOKUP_SOURCE.to_owned()),
            status,
            records,
            api_calls: Some(api_calls),
            bytes_scanned: None,
            estimated_bytes: None,
            detail,
        };
        match found {
            Ok(Ok(lookup)) => {
                let mut records: Vec<Record> = lookup
                    .events
                    .iter()
                    .filter_map(|e| cloudtrail::parse(e.as_bytes(), LOOKUP_SOURCE))
                    .collect();
                records.extend(
                    (0..lookup.other_source).map(|_| Record::Ignored(Ignored::OtherService)),
                );
                let n = records.len() as u64;
                report.creator.join_cloudtrail(LOOKUP_SOURCE, &records);
                let used = report
                    .creator
                    .identities
                    .iter()
                    .any(|i| i.create_cluster.iter().any(|c| c.source == LOOKUP_SOURCE));
                let mut detail = format!(
                    "LookupEvents EventName=CreateCluster from {} to {}: {} EKS CreateCluster \
                     event(s), {} of other services",
                    eks_authlog_core::time::format_ms(start),
                    eks_authlog_core::time::format_ms(end),
                    lookup.events.len(),
                    lookup.other_source
                );
                if lookup.truncated {
                    detail.push_str("; stopped after the page limit");
                }
                let status = if used {
                    SourceStatus::Used
                } else {
                    SourceStatus::NothingFound
                };
                report
                    .creator
                    .join_source(use_of(status, Some(n), lookup.api_calls, detail));
            }
            Ok(Err(e)) => {
                let detail = match e.denied_action {
                    Some(action) => format!("{action} denied ({}): grant it", e.reason),
                    None => format!("LookupEvents failed: {}", e.reason),
                };
                note(&format!("CloudTrail not read: {detail}"));
                report
                    .creator
                    .join_source(use_of(SourceStatus::Failed, None, e.api_calls, detail));
            }
            Err(e) => {
                note(&format!("CloudTrail not read: {e}"));
                report
                    .creator
                    .join_source(use_of(SourceStatus::Failed, None, 0, e.to_string()));
            }
        }
    }

    fn check_iam(&self, report: &mut Report, note: &dyn Fn(&str)) {
        let arns = report.creator.principals_to_check(MAX_IAM);
        if arns.is_empty() {
            return;
        }
        match eks_authlog_aws::iam::check_blocking(&arns, &self.options()) {
            Ok(checked) => {
                let api_calls = checked.api_calls;
                let n = checked.checks.len() as u64;
                report.creator.join_iam(checked.checks);
                report.creator.join_source(SourceUse {
                    source: "iam",
                    via: Some("iam:GetRole, iam:GetUser".to_owned()),
                    status: SourceStatus::Used,
                    records: Some(n),
                    api_calls: Some(api_calls),
                    bytes_scanned: None,
                    estimated_bytes: None,
                    detail: format!("{n} principal(s) looked up"),
                });
            }
            Err(e) => {
                note(&format!("IAM not asked: {e}"));
                report.creator.join_source(SourceUse {
                    source: "iam",
                    via: Some("iam:GetRole, iam:GetUser".to_owned()),
                    status: SourceStatus::Failed,
                    records: None,
                    api_calls: Some(0),
                    bytes_scanned: None,
                    estimated_bytes: None,
                    detail: e.to_string(),
                });
            }
        }
    }
}

fn skipped(source: &'static str, flag: &str) -> SourceUse {
    SourceUse {
        source,
        via: None,
        status: SourceStatus::Skipped,
        records: None,
        api_calls: None,
        bytes_scanned: None,
        estimated_bytes: None,
        detail: format!("not asked ({flag})"),
    }
}
