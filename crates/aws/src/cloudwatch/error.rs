//! Errors of the CloudWatch source. Each variant carries what a user needs to act on it (log
//! group, query id, status); SDK detail is rendered with `DisplayErrorContext`, because the
//! SDK's own `Display` says only "service error".

use std::time::Duration;

use aws_sdk_cloudwatchlogs::error::DisplayErrorContext;

/// Everything that can go wrong while talking to CloudWatch Logs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The async runtime could not be started (out of threads or memory).
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// No region from `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile.
    #[error(
        "no AWS region configured: pass --region, set AWS_REGION, or set `region` in the profile"
    )]
    NoRegion,
    /// The credentials chain found nothing usable (or took too long).
    #[error("no usable AWS credentials: {detail}")]
    NoCredentials {
        /// The chain's own report (which providers were tried). Never contains secrets.
        detail: String,
    },
    /// The request itself is invalid (checked before any API call).
    #[error("invalid CloudWatch request: {0}")]
    InvalidRequest(String),
    /// StartQuery said the log group does not exist.
    #[error(
        "log group {log_group} not found in {region}: authenticator logging may be off for this \
         cluster. Enable it with: aws eks update-cluster-config --name {} --region {region} \
         --logging '{{\"clusterLogging\":[{{\"types\":[\"authenticator\"],\"enabled\":true}}]}}'",
        cluster.as_deref().unwrap_or("<cluster>")
    )]
    LogGroupNotFound {
        /// The log group asked for.
        log_group: String,
        /// The cluster name, when the group is `/aws/eks/<cluster>/cluster`.
        cluster: Option<String>,
        /// The region queried.
        region: String,
    },
    /// StartQuery rejected the query text.
    #[error("query {query} was rejected as malformed: {message}{}", location_note(.location, .excerpt))]
    MalformedQuery {
        /// Registry name of the query.
        query: &'static str,
        /// The service's message.
        message: String,
        /// `queryCompileError` start and end character offsets into the query text.
        location: Option<(i32, i32)>,
        /// The query text at that location.
        excerpt: Option<String>,
    },
    /// The caller lacks an IAM permission.
    #[error(
        "access denied calling {op} on {log_group}: {message} (needs logs:StartQuery, \
         logs:GetQueryResults, logs:StopQuery, logs:DescribeLogGroups)"
    )]
    AccessDenied {
        /// API operation.
        op: &'static str,
        /// Log group (or prefix) involved.
        log_group: String,
        /// The service's message.
        message: String,
    },
    /// Throttling or the concurrency quota persisted through every retry.
    #[error(
        "{op} on {log_group} still throttled after {attempts} attempts ({}): too many concurrent \
         Logs Insights queries in this account and region; retry later or lower the concurrency",
        DisplayErrorContext(.sdk.as_ref())
    )]
    Throttled {
        /// API operation.
        op: &'static str,
        /// Log group involved.
        log_group: String,
        /// Attempts made by this crate (each may include the SDK's own retries).
        attempts: u32,
        /// The last error.
        sdk: Box<aws_sdk_cloudwatchlogs::Error>,
    },
    /// The query ended without completing (`Failed`, `Cancelled`, `Timeout`) or with a status
    /// this crate does not know.
    #[error("query {query_id} on {log_group} ended with status {status}")]
    QueryEnded {
        /// Log group queried.
        log_group: String,
        /// Logs Insights query id.
        query_id: String,
        /// The status as the service spelled it.
        status: String,
    },
    /// The local deadline passed; running queries were stopped.
    #[error("gave up after {elapsed:?}: queries still not complete (deadline {deadline:?})")]
    DeadlineExceeded {
        /// The configured deadline.
        deadline: Duration,
        /// Time spent.
        elapsed: Duration,
    },
    /// The caller's cancellation signal fired; running queries were stopped.
    #[error("interrupted")]
    Interrupted,
    /// Any other SDK failure.
    #[error("CloudWatch Logs {op} failed for {log_group}: {}", DisplayErrorContext(.sdk.as_ref()))]
    Aws {
        /// API operation.
        op: &'static str,
        /// Log group (or prefix) involved.
        log_group: String,
        /// The SDK error, boxed: it is large.
        sdk: Box<aws_sdk_cloudwatchlogs::Error>,
    },
}

fn location_note(location: &Option<(i32, i32)>, excerpt: &Option<String>) -> String {
    match (location, excerpt) {
        (Some((s, e)), Some(x)) => format!(" (characters {s}..{e}: `{x}`)"),
        (Some((s, e)), None) => format!(" (characters {s}..{e})"),
        _ => String::new(),
    }
}

impl Error {
    /// True for [`Error::Interrupted`]: the binary exits 130.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Interrupted)
    }
}
