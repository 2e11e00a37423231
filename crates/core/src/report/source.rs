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
}
