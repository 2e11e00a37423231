//! Decoding of `GetQueryResults` rows. Rows are lists of `{field, value}` pairs whose order is
//! not guaranteed and where null fields may be missing, so cells are looked up by name. All
//! values are strings.

use aws_sdk_cloudwatchlogs::types::ResultField;
use serde::Serialize;

pub use eks_authlog_core::queries::AUTHENTICATOR_STREAM_PREFIX;

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

    /// True when the row comes from a stream named `prefix…` (an authenticator or an audit
    /// stream, [`Query::stream_prefix`](eks_authlog_core::queries::Query::stream_prefix)). A
    /// row without `@logStream` is not trusted: every event query selects it.
    pub(crate) fn is_from(&self, prefix: &str) -> bool {
        self.stream
            .as_deref()
            .is_some_and(|s| s.starts_with(prefix))
    }
}

/// The bytes an `| estimate` query answered. The command's documentation (CloudWatch Logs
/// user guide, `CWL_QuerySyntax-Estimate`) says it returns "the estimated bytes that the
/// query would scan" but not the result's field name, so this assumes only what any such
/// answer must look like: exactly one row holding exactly one field besides the hidden
/// `@ptr`, whose value is a finite, non-negative number. Anything else (no row, several
/// rows, several fields, text) is an error saying what came back, never a zero: an emulator
/// that ignores the command returns the query's ordinary rows, and a wrong zero would admit
/// any scan.
pub(crate) fn estimate_bytes(rows: &[Vec<ResultField>]) -> Result<f64, String> {
    let [row] = rows else {
        return Err(format!("expected one row, got {}", rows.len()));
    };
    let fields: Vec<&ResultField> = row.iter().filter(|f| f.field() != Some("@ptr")).collect();
    let [only] = fields[..] else {
        let names: Vec<&str> = fields.iter().map(|f| f.field().unwrap_or("?")).collect();
        return Err(format!(
            "expected one field, got {} ({})",
            fields.len(),
            names.join(", ")
        ));
    };
    let value = only.value().unwrap_or("").trim();
    value
        .parse::<f64>()
        .ok()
        .filter(|b| b.is_finite() && *b >= 0.0)
        .ok_or_else(|| {
            format!(
                "field {} is {value:?}, not a number of bytes",
                only.field().unwrap_or("?")
            )
        })
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
        let (count, first_ms, last_ms) = counts(row)?;
        let error = text(row, "error").map(|e| {
            let e = e.strip_suffix("Body:").unwrap_or(&e).trim_end();
            e.to_owned()
        });
        Some(AggregateRow {
            kind,
            arn: text(row, "arn"),
            username: text(row, "username"),
            error,
            sts_code: text(row, "sts_code"),
            count,
            first_ms,
            last_ms,
            log_group: log_group.to_owned(),
        })
    }
}

/// One `audit-forbidden` row: authorization denials of one user and request, owned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ForbiddenRow {
    /// `user.username`.
    pub username: Option<String>,
    /// `user.extra.canonicalArn.0`.
    pub canonical_arn: Option<String>,
    /// `user.groups.0..2`, those present.
    pub groups: Vec<String>,
    /// `verb`.
    pub verb: Option<String>,
    /// `objectRef.apiGroup`.
    pub api_group: Option<String>,
    /// `objectRef.resource`.
    pub resource: Option<String>,
    /// `objectRef.subresource`.
    pub subresource: Option<String>,
    /// `objectRef.namespace`.
    pub namespace: Option<String>,
    /// `latest(responseStatus.message)`.
    pub example: Option<String>,
    /// `hits`.
    pub count: u64,
    /// `first_ms`.
    pub first_ms: Option<i64>,
    /// `last_ms`.
    pub last_ms: Option<i64>,
}

/// One `audit-identities` row: successful requests of one IAM principal, owned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IdentityRow {
    /// `user.extra.canonicalArn.0`.
    pub canonical_arn: String,
    /// `user.username`.
    pub username: Option<String>,
    /// `user.extra.principalId.0`.
    pub principal_id: Option<String>,
    /// `key_type`: the access key id's first four characters.
    pub key_type: Option<String>,
    /// `hits`.
    pub count: u64,
    /// `first_ms`.
    pub first_ms: Option<i64>,
    /// `last_ms`.
    pub last_ms: Option<i64>,
}

/// A trimmed, non-empty text cell (Insights renders a null group-by key as an empty cell, or
/// leaves it out).
fn text(row: &[ResultField], name: &str) -> Option<String> {
    cell(row, name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `hits`, `first_ms` and `last_ms`; `None` without `hits` (a server that ignored `stats`).
fn counts(row: &[ResultField]) -> Option<(u64, Option<i64>, Option<i64>)> {
    let count = cell(row, "hits")?.trim().parse::<f64>().ok()?;
    let ms = |name| cell(row, name).and_then(parse_number_ms);
    Some((count as u64, ms("first_ms"), ms("last_ms")))
}

impl ForbiddenRow {
    /// Decodes an `audit-forbidden` row; `None` without `hits`.
    pub(crate) fn decode(row: &[ResultField]) -> Option<Self> {
        let (count, first_ms, last_ms) = counts(row)?;
        Some(ForbiddenRow {
            username: text(row, "user.username"),
            canonical_arn: text(row, "user.extra.canonicalArn.0"),
            groups: (0..3)
                .filter_map(|i| text(row, &format!("user.groups.{i}")))
                .collect(),
            verb: text(row, "verb"),
            api_group: text(row, "objectRef.apiGroup"),
            resource: text(row, "objectRef.resource"),
            subresource: text(row, "objectRef.subresource"),
            namespace: text(row, "objectRef.namespace"),
            example: text(row, "example"),
            count,
            first_ms,
            last_ms,
        })
    }
}

impl IdentityRow {
    /// Decodes an `audit-identities` row; `None` without `hits` or without the ARN the query
    /// filters on.
    pub(crate) fn decode(row: &[ResultField]) -> Option<Self> {
        let (count, first_ms, last_ms) = counts(row)?;
        Some(IdentityRow {
            canonical_arn: text(row, "user.extra.canonicalArn.0")?,
            username: text(row, "user.username"),
            principal_id: text(row, "user.extra.principalId.0"),
            key_type: text(row, "key_type"),
            count,
            first_ms,
            last_ms,
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
        assert!(r.is_from(AUTHENTICATOR_STREAM_PREFIX));
        let audit = EventRow::decode(&row(&[("@logStream", "kube-apiserver-audit-abc")]));
        assert!(!audit.is_from(AUTHENTICATOR_STREAM_PREFIX));
        assert!(audit.is_from(eks_authlog_core::queries::AUDIT_STREAM_PREFIX));
        assert!(!EventRow::decode(&row(&[("@message", "x")])).is_from(AUTHENTICATOR_STREAM_PREFIX));
    }

    #[test]
    fn an_estimate_is_the_one_number_of_the_one_row() {
        let one = |cells: &[(&str, &str)]| estimate_bytes(&[row(cells)]);
        assert_eq!(one(&[("estimatedBytes", "1234567")]), Ok(1_234_567.0));
        assert_eq!(one(&[("@ptr", "x"), ("bytes", "2.5e9")]), Ok(2.5e9));
        // What moto returns for an events query: ordinary rows.
        let moto = one(&[
            ("@ptr", "7"),
            ("@timestamp", "1795319612520"),
            ("@message", "time=..."),
        ])
        .unwrap_err();
        assert!(
            moto.contains("expected one field, got 2 (@timestamp, @message)"),
            "{moto}"
        );
        // An aggregate query on moto: one @ptr-only row per event, never a zero.
        assert!(one(&[("@ptr", "3")]).unwrap_err().contains("got 0"));
        assert!(
            one(&[("bytes", "lots")])
                .unwrap_err()
                .contains("not a number")
        );
        assert!(one(&[("bytes", "-1")]).is_err());
        assert!(estimate_bytes(&[]).unwrap_err().contains("got 0"));
        let two = [row(&[("bytes", "1")]), row(&[("bytes", "2")])];
        assert!(estimate_bytes(&two).unwrap_err().contains("got 2"));
    }

    #[test]
    fn audit_stats_rows_decode_by_their_group_by_names() {
        let r = ForbiddenRow::decode(&row(&[
            ("user.username", "testuser"),
            (
                "user.extra.canonicalArn.0",
                "arn:aws:iam::111122223333:user/testuser",
            ),
            ("user.groups.0", "dev-readers"),
            ("user.groups.1", ""),
            ("user.groups.2", "system:authenticated"),
            ("verb", "list"),
            ("objectRef.apiGroup", ""),
            ("objectRef.resource", "nodes"),
            ("hits", "4"),
            ("first_ms", "1795000000000"),
            ("last_ms", "1795000060000.0"),
            ("example", "nodes is forbidden"),
        ]))
        .unwrap();
        assert_eq!(r.groups, ["dev-readers", "system:authenticated"]);
        assert_eq!((r.api_group, r.subresource), (None, None));
        assert_eq!((r.count, r.last_ms), (4, Some(1_795_000_060_000)));
        let i = IdentityRow::decode(&row(&[
            (
                "user.extra.canonicalArn.0",
                "arn:aws:iam::111122223333:role/deployer",
            ),
            ("user.extra.principalId.0", "AROANEW"),
            ("key_type", "AKIA"),
            ("hits", "2"),
        ]))
        .unwrap();
        assert_eq!(i.key_type.as_deref(), Some("AKIA"));
        assert_eq!(i.username, None);
        // What moto returns for a stats query, and a row without the principal.
        assert!(ForbiddenRow::decode(&row(&[("@ptr", "1")])).is_none());
        assert!(IdentityRow::decode(&row(&[("hits", "3")])).is_none());
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
