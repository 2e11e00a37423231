//! Errors of the CloudWatch source. Each variant carries what a user needs to act on it (log
//! group, query id, status); SDK detail is rendered with `DisplayErrorContext`, because the
//! SDK's own `Display` says only "service error".

use std::time::Duration;

use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

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
    /// `fleet --assume-role`: STS would not give credentials for the account's role (a
    /// missing role, a trust policy that does not name the caller, a wrong external id, STS
    /// disabled in the region).
    #[error("cannot assume role {role_arn}: {detail}")]
    AssumeRole {
        /// The role asked for.
        role_arn: String,
        /// STS's answer, with its error code (never a secret).
        detail: String,
    },
    /// `fleet --org`: Organizations ListAccounts failed, so no account is known. `detail`
    /// names the missing permission (`organizations:ListAccounts`, from the management
    /// account or a delegated administrator) or the state (the account is in no
    /// organization).
    #[error("fleet --org: cannot list the organization's accounts: {detail}")]
    Organizations {
        /// What failed and what to do, with the service's error code (never a secret).
        detail: String,
    },
    /// `fleet --region all`: Account ListRegions failed for this account, so its enabled
    /// regions are unknown (the account is skipped with this reason).
    #[error("fleet --region all: cannot list the enabled regions: {detail}")]
    ListRegions {
        /// The service's answer, with its error code and the permission it needs.
        detail: String,
    },
    /// `fleet --org`: the account is not ACTIVE in the organization (suspended or closing),
    /// so it is not audited.
    #[error("account is {state} in the organization, not ACTIVE: not audited")]
    AccountNotActive {
        /// The account's state (or status) as Organizations spelled it.
        state: String,
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
        "{op} on {log_group} still throttled after {attempts} attempts ({}): {}",
        DisplayErrorContext(.sdk.as_ref()),
        throttle_advice(.sdk.as_ref())
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
    /// No answer from the endpoint: connection refused, DNS, TLS, or a timeout, after the
    /// SDK's own retries.
    #[error("{op} on {log_group}: cannot reach {endpoint}: {cause}")]
    Unreachable {
        /// API operation.
        op: &'static str,
        /// Log group (or prefix) involved.
        log_group: String,
        /// The endpoint override (`AWS_ENDPOINT_URL…`), else "CloudWatch Logs in REGION".
        endpoint: String,
        /// What failed, in words ("connection refused", "no answer within 60s").
        cause: String,
    },
    /// The service answered with an HTTP server error (5xx), after the SDK's own retries.
    #[error(
        "{op} on {log_group}: {endpoint} answered HTTP {status}{}",
        code.as_deref().map(|c| format!(" ({c}{})", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())).unwrap_or_default()
    )]
    ServerError {
        /// API operation.
        op: &'static str,
        /// Log group (or prefix) involved.
        log_group: String,
        /// The endpoint override, else "CloudWatch Logs in REGION".
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The error code, when the body had one.
        code: Option<String>,
        /// The service's message.
        message: Option<String>,
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
    #[error(
        "gave up after {}: the {} deadline passed (--timeout){}",
        secs(*.elapsed), secs(*.deadline), stopped_note(*.stopped, "before any query was running")
    )]
    DeadlineExceeded {
        /// The configured deadline.
        deadline: Duration,
        /// Time spent.
        elapsed: Duration,
        /// Queries that were still running and were stopped (StopQuery).
        stopped: usize,
    },
    /// The caller's cancellation signal fired; running queries were stopped.
    #[error("interrupted{}{}", .signal.map(|s| format!(" by {s}")).unwrap_or_default(), stopped_note(*.stopped, "before any query was running"))]
    Interrupted {
        /// The signal's name (`SIGINT`, `SIGTERM`), when the caller knows it.
        signal: Option<&'static str>,
        /// Queries that were still running and were stopped (StopQuery).
        stopped: usize,
    },
    /// The scan budget refused a query (over budget, or no estimate to check): nothing more
    /// was started.
    #[error(transparent)]
    Budget(#[from] super::budget::BudgetError),
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

fn throttle_advice(sdk: &aws_sdk_cloudwatchlogs::Error) -> &'static str {
    if matches!(
        sdk,
        aws_sdk_cloudwatchlogs::Error::LimitExceededException(_)
    ) || sdk.code() == Some("LimitExceededException")
    {
        "too many concurrent Logs Insights queries in this account and region; retry later or \
         lower the concurrency"
    } else {
        "the API request rate is exceeded in this account and region; retry later"
    }
}

fn stopped_note(stopped: usize, none: &str) -> String {
    match stopped {
        0 => format!(" {none}"),
        1 => "; the running query was stopped".to_owned(),
        n => format!("; the {n} running queries were stopped"),
    }
}

/// `90s`, `10m`, `10m30s`: whole seconds, the way `--timeout` is written.
fn secs(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

impl Error {
    /// True for [`Error::Interrupted`]: the binary exits 130 (143 for SIGTERM).
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Interrupted { .. })
    }

    /// True when [`Error::Interrupted`] came from SIGTERM.
    pub fn is_terminated(&self) -> bool {
        matches!(
            self,
            Error::Interrupted {
                signal: Some("SIGTERM"),
                ..
            }
        )
    }
}

/// Maps an SDK error that this crate does not retry: access denied, unreachable endpoint
/// (refused, DNS, TLS, timeout), HTTP 5xx, or anything else as [`Error::Aws`].
pub(crate) fn classify<E>(
    client: &aws_sdk_cloudwatchlogs::Client,
    endpoint: &str,
    op: &'static str,
    log_group: &str,
    err: SdkError<E, HttpResponse>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    aws_sdk_cloudwatchlogs::Error: From<SdkError<E, HttpResponse>>,
{
    let log_group = log_group.to_owned();
    if err.code().is_some_and(|c| c.starts_with("AccessDenied")) {
        return Error::AccessDenied {
            op,
            log_group,
            message: err.message().unwrap_or("").to_owned(),
        };
    }
    let unreachable = |cause: String| Error::Unreachable {
        op,
        log_group: log_group.clone(),
        endpoint: endpoint.to_owned(),
        cause,
    };
    match &err {
        SdkError::TimeoutError(_) => {
            let timeouts = client.config().timeout_config();
            let within = timeouts
                .and_then(|t| t.operation_timeout().or(t.operation_attempt_timeout()))
                .map(|d| format!(" within {}", secs(d)))
                .unwrap_or_default();
            return unreachable(format!("no answer{within}"));
        }
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            return unreachable(format!("timed out ({})", innermost(&err)));
        }
        SdkError::DispatchFailure(d) if d.is_io() || d.is_other() => {
            return unreachable(innermost(&err));
        }
        _ => {}
    }
    if let Some(status) = err
        .raw_response()
        .map(|r| r.status())
        .filter(|s| s.is_server_error())
    {
        return Error::ServerError {
            op,
            log_group,
            endpoint: endpoint.to_owned(),
            status: status.as_u16(),
            code: err.code().map(str::to_owned),
            message: err.message().map(str::to_owned),
        };
    }
    Error::Aws {
        op,
        log_group,
        sdk: Box::new(aws_sdk_cloudwatchlogs::Error::from(err)),
    }
}

/// The deepest cause's own words ("Connection refused (os error 111)" → "connection
/// refused"), which is what the user can act on; the layers above only say "dispatch failure".
pub(crate) fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    if let Some(io) = cur.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::ConnectionRefused
    {
        return "connection refused".to_owned();
    }
    cur.to_string()
}
