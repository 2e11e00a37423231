//! `creator --cluster NAME`: the creator's answer from every live source, after the logs.
//! CloudTrail's Event history (`LookupEvents`, around the cluster's `createdAt`, which the
//! live access read gives) and IAM (whether the candidates still exist) join the report's
//! creator section through the core (`Creator::join_*`), which decides; each source's use and
//! cost is recorded in `creator.sources`. None of them fails the run: what could not be read
//! is said there, and on stderr.

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
    /// Ask IAM whether the candidates still exist (off with `--no-iam`).
    pub iam: bool,
    /// Milliseconds since the epoch, now (the Event history's 90 days end here).
    pub now_ms: i64,
}

/// Candidates asked about at most, when no one is the likely creator.
const MAX_IAM: usize = 10;

/// How far around the cluster's `createdAt` the CreateCluster call is looked for.
const AROUND_MS: i64 = 3_600_000;

#[cfg(feature = "cloudwatch")]
impl CreatorLive {
    fn options(&self) -> eks_authlog_aws::cloudwatch::ClientOptions {
        eks_authlog_aws::cloudwatch::ClientOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
            ..Default::default()
        }
    }

    /// Joins CloudTrail and IAM to `report`'s creator, noting on stderr (unless `quiet`) what
    /// could not be read.
    pub fn join(&self, report: &mut Report, quiet: bool) {
        let note = |text: &str| {
            if !quiet {
                use std::io::Write as _;
                let _ = writeln!(std::io::stderr().lock(), "eks-authlog: note: {text}");
            }
        };
        if self.cloudtrail {
            self.lookup(report, &note);
        } else {
            report
                .creator
                .join_source(skipped("cloudtrail", "--no-cloudtrail"));
        }
        if self.iam {
            self.check_iam(report, &note);
        } else {
            report.creator.join_source(skipped("iam", "--no-iam"));
        }
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
        detail: format!("not asked ({flag})"),
    }
}
