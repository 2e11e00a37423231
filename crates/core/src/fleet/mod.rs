//! The fleet audit's pure parts: the findings of each cluster's report as
//! `eks-authlog.finding/v1` lines, the `eks-authlog.fleet/v1` document and the summary table
//! by account and region, and (in [`state`]) the file of incremental windows.
//!
//! Fetching (accounts, regions, clusters, Logs Insights) is `eks-authlog-aws`'s; this module
//! only turns what was fetched and analysed into output.

pub mod state;

use std::collections::BTreeMap;
use std::io;

use serde::Serialize;

use crate::access::Severity;
use crate::access::inventory::FINDING_SCHEMA;
use crate::analysis::Report;
use crate::classify::{self, Class, Family, Fixer, Remedy, RemedyContext};
use crate::finding::stable_id;
use crate::report::source::ApiCalls;
use crate::time::format_ms;

/// The JSON schema id of the `fleet -o json` document.
pub const SCHEMA: &str = "eks-authlog.fleet/v1";

/// The finding kind of an account and region that could not be audited.
pub const TARGET_SKIPPED: &str = "target_skipped";

/// How much a failure class matters to an audit. Lock-outs (nodes that cannot join, an
/// aws-auth the authenticator cannot read) and traffic that wants a security review are
/// high; what the cluster or account administrator must fix is medium; a caller's own
/// credentials, clock or kubeconfig, and AWS-side transient errors, are low.
pub const fn class_severity(class: Class) -> Severity {
    match class {
        Class::NodeRoleNotMapped | Class::BackendAwsAuthInvalid | Class::BackendAwsAuthDeleted => {
            Severity::High
        }
        _ => match class.fixer() {
            Fixer::Security => Severity::High,
            Fixer::ClusterAdmin | Fixer::AccountAdmin | Fixer::Unknown => Severity::Medium,
            Fixer::Client | Fixer::AwsTransient => Severity::Low,
        },
    }
}

/// A half-open time window `[start_ms, end_ms)`, epoch ms: what one cluster's audit covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First millisecond covered.
    pub start_ms: i64,
    /// First millisecond not covered (the next run starts here).
    pub end_ms: i64,
}

impl Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Window", 2)?;
        st.serialize_field("start", &format_ms(self.start_ms))?;
        st.serialize_field("end", &format_ms(self.end_ms))?;
        st.end()
    }
}

/// Where a cluster is.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// AWS account id.
    pub account: &'a str,
    /// Region.
    pub region: &'a str,
    /// Cluster name.
    pub cluster: &'a str,
}

/// One `fleet -o ndjson` line (`eks-authlog.finding/v1`, the schema `access -o ndjson` writes,
/// with the fleet's fields added).
#[derive(Clone, Debug, Serialize)]
pub struct FleetFinding {
    /// [`FINDING_SCHEMA`].
    pub schema: &'static str,
    /// Stable id: a hash of account, region, cluster, kind and principal.
    pub id: String,
    /// AWS account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Cluster name; null for [`TARGET_SKIPPED`].
    pub cluster: Option<String>,
    /// A failure class name (`identity_not_mapped`, …) or [`TARGET_SKIPPED`].
    pub kind: String,
    /// The class's family; null for [`TARGET_SKIPPED`].
    pub family: Option<Family>,
    /// How much it matters.
    pub severity: Severity,
    /// The denied IAM ARN; null when the failure names none (token and STS failures).
    pub principal: Option<String>,
    /// Failures of this principal in this class in the window.
    pub count: u64,
    /// First failure (RFC 3339).
    pub first_seen: Option<String>,
    /// Last failure (RFC 3339).
    pub last_seen: Option<String>,
    /// What to do, filled with the cluster, region and principal.
    pub remedy: Option<Remedy>,
    /// What it means, in a sentence.
    pub message: String,
    /// The window the cluster's audit covered.
    pub window: Option<Window>,
}

/// One finding per (failure class, principal) of `report`, plus one per class for the
/// failures that name no principal (their first and last seen are the class's).
pub fn findings(report: &Report, scope: Scope<'_>, window: Window) -> Vec<FleetFinding> {
    let mut out = Vec::new();
    for c in &report.failures.by_class {
        let remedy = |arn: Option<&str>| {
            let account = arn.and_then(crate::analysis::account_of);
            classify::remedy(
                c.class,
                &RemedyContext {
                    cluster: Some(scope.cluster),
                    region: Some(scope.region),
                    arn,
                    account: account.as_deref(),
                    ..RemedyContext::default()
                },
            )
        };
        let mut push = |principal: Option<&str>, count, first: Option<String>, last| {
            out.push(FleetFinding {
                schema: FINDING_SCHEMA,
                id: stable_id(
                    &[
                        scope.account,
                        scope.region,
                        scope.cluster,
                        c.class.as_str(),
                        principal.unwrap_or(""),
                    ],
                    None,
                ),
                account: scope.account.to_owned(),
                region: scope.region.to_owned(),
                cluster: Some(scope.cluster.to_owned()),
                kind: c.class.as_str().to_owned(),
                family: Some(c.family),
                severity: class_severity(c.class),
                principal: principal.map(str::to_owned),
                count,
                first_seen: first,
                last_seen: last,
                remedy: Some(remedy(principal)),
                message: c.meaning.to_owned(),
                window: Some(window),
            });
        };
        for p in &c.principals {
            let (first, last) = p.span.map_or((None, None), |(f, l)| {
                (Some(format_ms(f)), Some(format_ms(l)))
            });
            push(Some(&p.name), p.count, first, last);
        }
        if c.unattributed > 0 {
            push(
                None,
                c.unattributed,
                c.first_seen.clone(),
                c.last_seen.clone(),
            );
        }
    }
    out
}

/// The finding that says an account and region were not audited, and why.
pub fn skipped(account: &str, region: &str, reason: &str) -> FleetFinding {
    FleetFinding {
        schema: FINDING_SCHEMA,
        id: stable_id(&[account, region, "", TARGET_SKIPPED, ""], None),
        account: account.to_owned(),
        region: region.to_owned(),
        cluster: None,
        kind: TARGET_SKIPPED.to_owned(),
        family: None,
        severity: Severity::High,
        principal: None,
        count: 0,
        first_seen: None,
        last_seen: None,
        remedy: None,
        message: reason.to_owned(),
        window: None,
    }
}

/// Whether `--fail-on NAME` matches `f` (the rule `access --fail-on` uses).
pub fn fails_on(name: &str, f: &FleetFinding) -> bool {
    crate::finding::fails_on(name, &f.kind, f.family.map(Family::as_str), f.severity)
}

/// Whether one account and region was audited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// Every cluster found was audited.
    Audited,
    /// Not audited (or not completely): `reason` says why.
    Skipped,
}

/// How a cluster's authenticator lines were read (`fleet --reader`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reader {
    /// One Logs Insights query per 50 log groups: billed per byte scanned, every stream of
    /// the group in the window.
    Insights,
    /// FilterLogEvents on the `authenticator-*` streams only: no scan charge, one request
    /// per page, 5 requests per second per account and region.
    Filter,
}

impl Reader {
    /// `insights` or `filter`, as in the JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reader::Insights => "insights",
            Reader::Filter => "filter",
        }
    }
}

/// One cluster's part of the run.
#[derive(Clone, Debug, Serialize)]
pub struct ClusterResult {
    /// Cluster name.
    pub cluster: String,
    /// Its log group.
    pub log_group: String,
    /// The window covered.
    pub window: Window,
    /// How the window was read: `events` (every line, analysed here) or `aggregate`
    /// (counted inside Logs Insights).
    pub strategy: crate::report::source::Strategy,
    /// Authenticator lines read in the window (with `aggregate`, the lines the rows count).
    pub lines: u64,
    /// Rows Insights returned outside the window (whole-second query bounds), dropped here.
    pub outside_window: u64,
    /// Failures in the window.
    pub failures: u64,
    /// Findings written for it.
    pub findings: u64,
    /// The reader that read its lines.
    pub reader: Reader,
    /// Bytes of the messages the reader returned for it (Insights rows or FilterLogEvents
    /// events, whatever their stream).
    pub bytes_read: u64,
    /// With `--reader auto`, its share of the window's Insights estimate, which chose the
    /// reader (bytes); null otherwise.
    pub estimated_bytes: Option<f64>,
    /// Events FilterLogEvents returned from streams other than `authenticator-*` (a server
    /// that ignored the prefix) or without a message: counted, not analysed. Only when not
    /// zero.
    #[serde(skip_serializing_if = "is_zero")]
    pub other_streams: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One account and region.
#[derive(Clone, Debug, Serialize)]
pub struct TargetResult {
    /// AWS account id (from `--accounts`, the organization, or the log groups' ARNs).
    pub account: String,
    /// Region.
    pub region: String,
    /// Audited or skipped.
    pub status: TargetStatus,
    /// Why it was skipped (the error, with its AWS error code).
    pub reason: Option<String>,
    /// Clusters audited.
    pub clusters: Vec<ClusterResult>,
    /// Logs Insights queries that completed.
    pub queries_run: u64,
    /// API calls made for it (Logs Insights and DescribeLogGroups; STS is counted in
    /// `sts_assume_role` of the run).
    pub api_calls: ApiCalls,
    /// DescribeLogGroups pages read to find the clusters.
    pub describe_log_groups: u64,
    /// Bytes scanned, as the service reported them.
    pub bytes_scanned: f64,
    /// What the queries were estimated to scan before they ran (Insights' `estimate`, or
    /// the log groups' stored bytes where it could not be read).
    pub estimated_bytes: f64,
    /// Queries whose results carried no statistics (emulators): their bytes are unknown.
    pub queries_without_statistics: u64,
    /// Stored bytes of the log groups audited (DescribeLogGroups `storedBytes`): what a
    /// query over their whole retention would scan at most.
    pub stored_bytes: u64,
    /// `bytes_scanned / 1e9 × 0.005`.
    pub cost_usd: f64,
    /// Bytes of the messages read, by either reader (the clusters' `bytes_read`).
    pub bytes_read: u64,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// The whole run (`eks-authlog.fleet/v1`).
#[derive(Clone, Debug, Serialize)]
pub struct FleetDocument<'a> {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// `{name, version}`.
    pub tool: Tool,
    /// The run's end: every window ends here.
    pub end: String,
    /// `--monitoring-account`: the CloudWatch cross-account observability monitoring account
    /// every target was read through (its id); `null` when each account was read with its own
    /// (or assumed) credentials.
    pub monitoring_account: Option<&'a str>,
    /// Every account and region.
    pub targets: &'a [TargetResult],
    /// Every finding.
    pub findings: &'a [FleetFinding],
    /// Sums over the targets.
    pub totals: Totals,
}

/// The tool that wrote a document.
#[derive(Clone, Debug, Serialize)]
pub struct Tool {
    /// `eks-authlog`.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
}

/// Sums over every target.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Accounts and regions.
    pub targets: u64,
    /// Of those, skipped.
    pub skipped: u64,
    /// Clusters audited.
    pub clusters: u64,
    /// Findings (skipped targets included).
    pub findings: u64,
    /// API calls: Logs Insights, DescribeLogGroups and STS AssumeRole.
    pub api_calls: u64,
    /// STS AssumeRole calls (one per account).
    pub sts_assume_role: u64,
    /// Bytes scanned, as reported.
    pub bytes_scanned: f64,
    /// Bytes estimated before the queries ran.
    pub estimated_bytes: f64,
    /// Stored bytes of every log group audited.
    pub stored_bytes: u64,
    /// Cost of the bytes scanned.
    pub cost_usd: f64,
    /// Bytes of the messages read, by either reader.
    pub bytes_read: u64,
    /// Clusters read with FilterLogEvents (the others with Logs Insights).
    pub clusters_filter: u64,
    /// Wall time of the whole run.
    pub elapsed_ms: u64,
}

impl Totals {
    /// Sums `targets`; `sts_assume_role` and `elapsed_ms` are the run's.
    pub fn of(
        targets: &[TargetResult],
        findings: usize,
        sts_assume_role: u64,
        elapsed_ms: u64,
    ) -> Totals {
        let mut t = Totals {
            targets: targets.len() as u64,
            findings: findings as u64,
            sts_assume_role,
            api_calls: sts_assume_role,
            elapsed_ms,
            ..Totals::default()
        };
        for r in targets {
            t.skipped += u64::from(r.status == TargetStatus::Skipped);
            t.clusters += r.clusters.len() as u64;
            t.api_calls += api_total(&r.api_calls) + r.describe_log_groups;
            t.bytes_scanned += r.bytes_scanned;
            t.estimated_bytes += r.estimated_bytes;
            t.stored_bytes += r.stored_bytes;
            t.cost_usd += r.cost_usd;
            t.bytes_read += r.bytes_read;
            t.clusters_filter += r
                .clusters
                .iter()
                .filter(|c| c.reader == Reader::Filter)
                .count() as u64;
        }
        t
    }
}

fn api_total(a: &ApiCalls) -> u64 {
    a.start_query
        + a.get_query_results
        + a.stop_query
        + a.describe_log_groups
        + a.filter_log_events
        + a.eks.total()
}

/// Writes one finding per line.
pub fn write_ndjson<W: io::Write>(w: &mut W, findings: &[FleetFinding]) -> io::Result<()> {
    for f in findings {
        serde_json::to_writer(&mut *w, f)?;
        writeln!(w)?;
    }
    Ok(())
}

/// Writes the document.
pub fn write_json<W: io::Write>(w: &mut W, doc: &FleetDocument<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, doc)?;
    writeln!(w)
}

/// Writes the summary by account and region, the skipped targets with their reasons, and the
/// findings of medium severity and above.
pub fn write_table<W: io::Write>(
    w: &mut W,
    targets: &[TargetResult],
    findings: &[FleetFinding],
    totals: &Totals,
    width: u16,
) -> io::Result<()> {
    let mut by_target: BTreeMap<(&str, &str), [u64; 3]> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.kind != TARGET_SKIPPED) {
        let sev = by_target.entry((&f.account, &f.region)).or_default();
        sev[Severity::ALL
            .iter()
            .position(|s| *s == f.severity)
            .unwrap_or(0)] += 1;
    }
    let mut t = table(width);
    t.set_header([
        "ACCOUNT",
        "REGION",
        "STATUS",
        "CLUSTERS",
        "LINES",
        "HIGH",
        "MEDIUM",
        "LOW",
        "API CALLS",
        "ESTIMATED",
        "SCANNED",
        "COST",
    ]);
    for r in targets {
        let sev = by_target
            .get(&(r.account.as_str(), r.region.as_str()))
            .copied()
            .unwrap_or_default();
        t.add_row(vec![
            r.account.clone(),
            r.region.clone(),
            match r.status {
                TargetStatus::Audited => "audited".to_owned(),
                TargetStatus::Skipped => "SKIPPED".to_owned(),
            },
            r.clusters.len().to_string(),
            r.clusters.iter().map(|c| c.lines).sum::<u64>().to_string(),
            sev[2].to_string(),
            sev[1].to_string(),
            sev[0].to_string(),
            (api_total(&r.api_calls) + r.describe_log_groups).to_string(),
            megabytes(r.estimated_bytes),
            scanned(r.bytes_scanned, r.queries_without_statistics),
            format!("${:.4}", r.cost_usd),
        ]);
    }
    writeln!(w, "{t}")?;
    writeln!(
        w,
        "{} of {} account/region targets audited, {} clusters ({} read with FilterLogEvents), {} findings, {} API calls ({} STS AssumeRole), {} estimated, {} scanned (${:.4}), {} read, {:.1}s",
        totals.targets - totals.skipped,
        totals.targets,
        totals.clusters,
        totals.clusters_filter,
        totals.findings,
        totals.api_calls,
        totals.sts_assume_role,
        megabytes(totals.estimated_bytes),
        megabytes(totals.bytes_scanned),
        totals.cost_usd,
        megabytes(totals.bytes_read as f64),
        totals.elapsed_ms as f64 / 1000.0
    )?;
    for r in targets.iter().filter(|r| r.status == TargetStatus::Skipped) {
        writeln!(
            w,
            "SKIPPED {} {}: {}",
            r.account,
            r.region,
            r.reason.as_deref().unwrap_or("")
        )?;
    }
    let shown: Vec<&FleetFinding> = findings
        .iter()
        .filter(|f| f.kind != TARGET_SKIPPED && f.severity >= Severity::Medium)
        .collect();
    if !shown.is_empty() {
        let mut t = table(width);
        t.set_header([
            "SEVERITY",
            "ACCOUNT",
            "REGION",
            "CLUSTER",
            "KIND",
            "PRINCIPAL",
            "COUNT",
            "LAST SEEN",
        ]);
        for f in shown {
            t.add_row(vec![
                f.severity.name().to_owned(),
                f.account.clone(),
                f.region.clone(),
                f.cluster.clone().unwrap_or_default(),
                f.kind.clone(),
                f.principal.clone().unwrap_or_else(|| "-".to_owned()),
                f.count.to_string(),
                f.last_seen.clone().unwrap_or_default(),
            ]);
        }
        writeln!(w, "\n{t}")?;
    }
    Ok(())
}

/// `1.2 MB`, or `unknown` when no query reported statistics (moto reports none).
fn scanned(bytes: f64, without_statistics: u64) -> String {
    if bytes == 0.0 && without_statistics > 0 {
        "unknown".to_owned()
    } else {
        megabytes(bytes)
    }
}

/// Bytes in decimal megabytes, as the report's header line writes them.
fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

fn table(width: u16) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .force_no_tty()
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(width);
    t
}

#[cfg(test)]
mod tests;
