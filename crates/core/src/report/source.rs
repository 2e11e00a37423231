//! What a report was read from, as the report's `inputs` and `source` sections: one
//! [`InputSummary`] per local input, or one [`FetchMeta`] per CloudWatch region. These are
//! schema types of `eks-authlog.report/v1`: the sources fill them, the renderers read them.

use serde::Serialize;

use crate::source::InputStats;

/// One input's statistics, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct InputSummary {
    /// Input name.
    pub name: String,
    /// Detected shape.
    pub format: &'static str,
    /// Records (lines) read.
    pub records: u64,
    /// Bytes read as stored.
    pub bytes: u64,
    /// `get-query-results` input only: the `status` its documents carried (the first that
    /// was not `Complete`, else `Complete`). Omitted for other shapes and when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_status: Option<&'static str>,
}

impl InputSummary {
    /// The summary of input `name` from what its reader counted.
    pub fn new(name: &str, s: InputStats) -> InputSummary {
        InputSummary {
            name: name.to_owned(),
            format: s.format.as_str(),
            records: s.records,
            bytes: s.bytes,
            query_status: s.query_status.map(|q| q.as_str()),
        }
    }

    /// Whether this input is a saved query whose rows may be partial: its status was not
    /// `Complete` (`Running`, `Failed`, `Timeout`…).
    pub fn incomplete_query(&self) -> Option<&'static str> {
        self.query_status.filter(|s| *s != "Complete")
    }
}

/// What a job read: local inputs, or CloudWatch fetch metadata (one per region).
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Local inputs.
    pub inputs: Vec<InputSummary>,
    /// CloudWatch metadata per region (the report's `source`).
    pub cloudwatch: Option<Vec<FetchMeta>>,
}

/// Events (lines into the sink) or server-side aggregates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Fetch every matching line; the parser and classifier see everything.
    Events,
    /// Run `agg-identities` and `agg-failures`; rows stay few however long the window.
    Aggregate,
}

impl Strategy {
    /// Name for reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Strategy::Events => "events",
            Strategy::Aggregate => "aggregate",
        }
    }
}

/// Time window, epoch seconds, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QueryWindow {
    /// Start.
    pub start: i64,
    /// End.
    pub end: i64,
}

/// API calls made by this crate (each may hide SDK-level retries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApiCalls {
    /// StartQuery calls.
    pub start_query: u64,
    /// GetQueryResults calls (polls and pages).
    pub get_query_results: u64,
    /// StopQuery calls.
    pub stop_query: u64,
    /// DescribeLogGroups calls (the stored-bytes fallback of an estimate; only when made).
    #[serde(skip_serializing_if = "is_zero")]
    pub describe_log_groups: u64,
    /// FilterLogEvents calls (`fleet`'s FilterLogEvents reader; only when made).
    #[serde(skip_serializing_if = "is_zero")]
    pub filter_log_events: u64,
    /// EKS calls of the live access-configuration read (only those made appear in JSON).
    #[serde(flatten)]
    pub eks: crate::access::EksApiCalls,
}

/// What one CloudWatch fetch did; goes into the JSON report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FetchMeta {
    /// Strategy used.
    pub strategy: Strategy,
    /// Query names run.
    pub queries: Vec<&'static str>,
    /// Log groups queried.
    pub log_groups: Vec<String>,
    /// Regions queried.
    pub regions: Vec<String>,
    /// Requested window.
    pub window: QueryWindow,
    /// Queries that reached `Complete` (split windows count each).
    pub queries_run: u64,
    /// API calls.
    pub api_calls: ApiCalls,
    /// Sum of `statistics.recordsMatched`.
    pub records_matched: f64,
    /// Sum of `statistics.recordsScanned`.
    pub records_scanned: f64,
    /// Sum of `statistics.bytesScanned`.
    pub bytes_scanned: f64,
    /// `bytes_scanned / 1e9 × 0.005` (us-east-1 list price).
    pub cost_usd: f64,
    /// Queries whose results carried no statistics (emulators); the sums above omit them.
    pub queries_without_statistics: u64,
    /// Windows split because they hit the row cap.
    pub windows_split: u64,
    /// Rows delivered (lines pushed, or aggregate rows returned).
    pub rows: u64,
    /// Rows dropped because they did not come from an `authenticator-` stream.
    pub rows_filtered: u64,
    /// Rows dropped because they lacked `@message` (events) or `hits` (aggregates).
    pub rows_malformed: u64,
    /// Rows dropped as repeats of an earlier `@ptr`.
    pub duplicates_dropped: u64,
    /// False when some window still hit the row cap, or rows were unusable.
    pub complete: bool,
    /// Why the result is incomplete.
    pub incomplete_reason: Option<String>,
    /// Wall time of the fetch.
    pub elapsed_ms: u64,
    /// Estimate queries run (`| estimate`, no charge) before the queries above.
    pub estimate_queries: u64,
    /// Sum of the estimates of the queries run, bytes; `None` when none was estimated.
    pub estimated_bytes: Option<f64>,
    /// `estimated_bytes` at the list price.
    pub estimated_cost_usd: Option<f64>,
    /// The `--max-scan-gb` budget of the run, bytes; `None` with `--yes`.
    pub max_scan_bytes: Option<f64>,
    /// Per query and log group: the estimate before, the bytes scanned after.
    pub query_costs: Vec<QueryCost>,
    /// The audit pass over the windows around the denials without identity, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_windows: Option<AuditWindows>,
}

/// Where the audit pass looked for the 401s of the denials without identity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditWindows {
    /// Denials without identity (token and STS classes) the windows cover.
    pub denials: u64,
    /// Windows queried (before any split), all log groups together.
    pub windows: u64,
    /// Windows joined with a neighbour to stay within `max_per_group`.
    pub merged: u64,
    /// The most windows queried per log group.
    pub max_per_group: u64,
}

impl FetchMeta {
    /// Adds a later fetch of the same region (the audit pass after the authenticator pass)
    /// to this one, so that `source` stays one entry per region: counts and costs add up,
    /// queries and log groups are listed once, and either being incomplete makes both so.
    pub fn absorb(&mut self, later: FetchMeta) {
        for q in later.queries {
            if !self.queries.contains(&q) {
                self.queries.push(q);
            }
        }
        for g in later.log_groups {
            if !self.log_groups.contains(&g) {
                self.log_groups.push(g);
            }
        }
        self.queries_run += later.queries_run;
        let (a, b) = (&mut self.api_calls, later.api_calls);
        a.start_query += b.start_query;
        a.get_query_results += b.get_query_results;
        a.stop_query += b.stop_query;
        a.describe_log_groups += b.describe_log_groups;
        self.records_matched += later.records_matched;
        self.records_scanned += later.records_scanned;
        self.bytes_scanned += later.bytes_scanned;
        self.cost_usd += later.cost_usd;
        self.queries_without_statistics += later.queries_without_statistics;
        self.windows_split += later.windows_split;
        self.rows += later.rows;
        self.rows_filtered += later.rows_filtered;
        self.rows_malformed += later.rows_malformed;
        self.duplicates_dropped += later.duplicates_dropped;
        self.complete &= later.complete;
        self.incomplete_reason = match (self.incomplete_reason.take(), later.incomplete_reason) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        self.elapsed_ms += later.elapsed_ms;
        self.estimate_queries += later.estimate_queries;
        self.estimated_bytes = match (self.estimated_bytes, later.estimated_bytes) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.estimated_cost_usd = self.estimated_bytes.map(cost_usd);
        self.max_scan_bytes = self.max_scan_bytes.or(later.max_scan_bytes);
        self.query_costs.extend(later.query_costs);
        self.audit_windows = self.audit_windows.or(later.audit_windows);
    }
}

/// Where a query's estimate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimateSource {
    /// Logs Insights' `estimate` command (no charge).
    Insights,
    /// The log group's `storedBytes` (DescribeLogGroups), when the estimate answer could not
    /// be read: everything the group holds, over all time, as CloudWatch counts storage
    /// (which may be compressed, so it is a rough figure, not a bound).
    StoredBytes,
    /// No estimate (both failed); the query ran only because the budget was lifted (`--yes`).
    None,
}

impl EstimateSource {
    /// Name for reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            EstimateSource::Insights => "insights",
            EstimateSource::StoredBytes => "stored_bytes",
            EstimateSource::None => "none",
        }
    }
}

/// What one query cost over one log group (all its windows and splits).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueryCost {
    /// Query name (`queries/<name>.insights`).
    pub query: &'static str,
    /// Log group.
    pub log_group: String,
    /// Windows queried (the asked-for windows, plus the halves of split ones).
    pub windows: u64,
    /// The estimate before it ran, bytes.
    pub estimated_bytes: Option<f64>,
    /// Where the estimate came from.
    pub estimate_source: EstimateSource,
    /// Why the estimate is not Insights' own (the answer that could not be read).
    pub estimate_note: Option<String>,
    /// `statistics.bytesScanned` summed over its windows; `None` when no window reported
    /// statistics (emulators).
    pub bytes_scanned: Option<f64>,
    /// `estimated_bytes` at the list price.
    pub estimated_cost_usd: Option<f64>,
    /// `bytes_scanned` at the list price.
    pub cost_usd: Option<f64>,
}

/// Logs Insights list price per GB scanned (us-east-1; other regions differ).
pub const PRICE_USD_PER_GB: f64 = 0.005;

/// `bytes` at [`PRICE_USD_PER_GB`] (decimal GB, as billed).
pub fn cost_usd(bytes: f64) -> f64 {
    bytes / 1e9 * PRICE_USD_PER_GB
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
