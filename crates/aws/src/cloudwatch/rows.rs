//! Decoding of `GetQueryResults` rows. Rows are lists of `{field, value}` pairs whose order is
//! not guaranteed and where null fields may be missing, so cells are looked up by name. All
//! values are strings.

use aws_sdk_cloudwatchlogs::types::ResultField;
use serde::Serialize;

/// Stream-name prefix of aws-iam-authenticator streams in `/aws/eks/<cluster>/cluster`.
pub const AUTHENTICATOR_STREAM_PREFIX: &str = "authenticator-";

/// One event row, owned (the `source` boundary turns rows into owned lines).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EventRow {
    pub ptr: Option<String>,
    pub ts_ms: Option<i64>,
    pub stream: Option<String>,
    pub message: Option<String>,
    /// `@log`: which log group the row came from (queries over several groups).
    pub log: Option<String>,
}

/// The `@log` cell of a row: `account-id:group-name` on AWS, the bare name on moto.
pub(crate) fn log_cell(row: &[ResultField]) -> Option<&str> {
    cell(row, "@log")
}

fn cell<'a>(row: &'a [ResultField], name: &str) -> Option<&'a str> {
    row.iter()
        .find(|f| f.field() == Some(name))
        .and_then(|f| f.value())
}

impl EventRow {
    pub(crate) fn decode(row: &[ResultField]) -> Self {
        EventRow {
            ptr: cell(row, "@ptr").map(str::to_owned),
            ts_ms: cell(row, "@timestamp").and_then(eks_authlog_core::time::parse_timestamp_ms),
            stream: cell(row, "@logStream").map(str::to_owned),
            message: cell(row, "@message").map(str::to_owned),
            log: log_cell(row).map(str::to_owned),
        }
    }

    /// True when the row comes from an authenticator stream. A row without `@logStream` is not
    /// trusted: every event query selects it.
    pub(crate) fn is_authenticator(&self) -> bool {
        self.stream
            .as_deref()
            .is_some_and(|s| s.starts_with(AUTHENTICATOR_STREAM_PREFIX))
    }
}

/// Which aggregate query a row came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AggKind {
    /// "access granted" lines.
    Granted,
    /// "access denied" lines.
    Denied,
}

/// One server-side aggregate row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AggregateRow {
    /// Granted or denied.
    pub kind: AggKind,
    /// Canonical IAM ARN from `arn="…"` (absent for token-verification failures).
    pub arn: Option<String>,
    /// Kubernetes username (granted rows).
    pub username: Option<String>,
    /// Error text up to the first quote, backslash or `{` (denied rows), trailing `Body:` cut.
    pub error: Option<String>,
    /// STS error code from the response body inside the error (denied rows), e.g.
    /// `InvalidClientTokenId`.
    pub sts_code: Option<String>,
    /// Number of lines in the group.
    pub count: u64,
    /// First line's timestamp, epoch ms.
    pub first_ms: Option<i64>,
    /// Last line's timestamp, epoch ms.
    pub last_ms: Option<i64>,
    /// Log group queried.
    pub log_group: String,
}

impl AggregateRow {
    /// Decodes a `stats` row. `None` when the row has no `hits` column, which is what a server
    /// that ignores `stats` returns (moto gives one `@ptr`-only row per event).
    pub(crate) fn decode(kind: AggKind, row: &[ResultField], log_group: &str) -> Option<Self> {
        let count = cell(row, "hits")?.trim().parse::<f64>().ok()?;
        let text = |name| {
            cell(row, name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let ms = |name| cell(row, name).and_then(parse_number_ms);
        let error = text("error").map(|e| {
            let e = e.strip_suffix("Body:").unwrap_or(&e).trim_end();
            e.to_owned()
        });
        Some(AggregateRow {
            kind,
            arn: text("arn"),
            username: text("username"),
            error,
            sts_code: text("sts_code"),
            count: count as u64,
            first_ms: ms("first_ms"),
            last_ms: ms("last_ms"),
            log_group: log_group.to_owned(),
        })
    }
}

/// `toMillis` aggregates come back as decimal strings, possibly with a fraction (`1.7e12` has
/// not been seen, but `min` over numbers may render as a float).
fn parse_number_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    s.parse::<i64>()
        .ok()
        .or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| f as i64)
        })
        .or_else(|| eks_authlog_core::time::parse_timestamp_ms(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[(&str, &str)]) -> Vec<ResultField> {
        cells
            .iter()
            .map(|(f, v)| ResultField::builder().field(*f).value(*v).build())
            .collect()
    }

    #[test]
    fn event_rows_are_read_by_name_not_position() {
        let r = EventRow::decode(&row(&[
            ("@logStream", "authenticator-abc"),
            ("@message", "msg=x"),
            ("@timestamp", "1000"),
            ("@ptr", "p1"),
        ]));
        assert_eq!(r.ptr.as_deref(), Some("p1"));
        assert_eq!(r.ts_ms, Some(1000));
        assert!(r.is_authenticator());
        let audit = EventRow::decode(&row(&[("@logStream", "kube-apiserver-audit-abc")]));
        assert!(!audit.is_authenticator());
        assert!(!EventRow::decode(&row(&[("@message", "x")])).is_authenticator());
    }

    #[test]
    fn aggregate_rows_decode_and_missing_columns_are_none() {
        let r = AggregateRow::decode(
            AggKind::Denied,
            &row(&[
                (
                    "error",
                    "sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: ",
                ),
                ("sts_code", "InvalidClientTokenId"),
                ("hits", "12"),
                ("first_ms", "1795319612520"),
                ("last_ms", "1795319612999.0"),
            ]),
            "/aws/eks/a/cluster",
        )
        .unwrap();
        assert_eq!(
            r.error.as_deref(),
            Some("sts getCallerIdentity failed: error from AWS (expected 200, got 403).")
        );
        assert_eq!(r.sts_code.as_deref(), Some("InvalidClientTokenId"));
        assert_eq!(r.arn, None);
        assert_eq!(r.count, 12);
        assert_eq!(r.first_ms, Some(1_795_319_612_520));
        assert_eq!(r.last_ms, Some(1_795_319_612_999));
        assert!(AggregateRow::decode(AggKind::Granted, &row(&[("@ptr", "1")]), "g").is_none());
    }
}
