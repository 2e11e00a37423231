//! Serialized output types: the machine contract.
//!
//! These types borrow from events and reports and exist only to be serialized, so internal
//! types can change without changing what `jq` users see. Field names are snake_case. Every
//! change here is a schema change: bump the schema id and update the README.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::Hash;

use rustc_hash::FxBuildHasher;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::analysis::correlate::Sts;
use crate::audit::{AuditEvent, format_us};
use crate::event::{Event, Uid};
use crate::parse::Field;
use crate::report::redact::Redactor;
use crate::secrets::mask_credentials;
use crate::time::format_ms;

/// Schema id written in every NDJSON event record.
pub const EVENT_SCHEMA: &str = "eks-authlog.event/v1";

/// One event as written by `events` (NDJSON line, JSON array element).
#[derive(serde::Serialize)]
pub struct EventOut<'a> {
    /// Always [`EVENT_SCHEMA`].
    pub schema: &'static str,
    /// RFC 3339 UTC, or null when the line had no time.
    pub time: Option<String>,
    /// Log level, or null.
    pub level: Option<&'static str>,
    /// Decoded message.
    pub msg: Cow<'a, str>,
    /// Event kind.
    pub kind: &'static str,
    /// Failure class (null for lines that are not failures).
    pub class: Option<&'static str>,
    /// Family of the failure class.
    pub family: Option<&'static str>,
    /// `arn=`.
    pub arn: Option<Cow<'a, str>>,
    /// `username=`.
    pub username: Option<Cow<'a, str>>,
    /// `groups=`, split; empty when the line has none.
    pub groups: Vec<String>,
    /// `uid=`, split into its parts.
    pub uid: Option<UidOut<'a>>,
    /// `client=`.
    pub client: Option<Cow<'a, str>>,
    /// `error=`, decoded.
    pub error: Option<Cow<'a, str>>,
    /// The `STS response` paired with this grant or denial (same stream and client).
    pub sts: Option<StsOut>,
    /// CloudWatch log stream, when the input had it.
    pub stream: Option<Cow<'a, str>>,
    /// Logs Insights `@ptr` or CloudWatch event id, when the input had it.
    pub ptr: Option<&'a str>,
    /// Input and line number.
    pub source: SourceOut<'a>,
    /// Every data field (not `time`, `level`, `msg`), decoded; first occurrence of a key.
    pub fields: FieldsOut<'a>,
    /// Later occurrences of repeated keys, as `[key, value]` pairs (omitted when none).
    #[serde(skip_serializing_if = "RepeatedOut::is_empty")]
    pub fields_repeated: RepeatedOut<'a>,
    /// The line's last value had no closing quote (a cut line). Omitted when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The line carried a time outside 2000–2100, which `time` does not use. Omitted when
    /// false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub time_rejected: bool,
    /// The audit event's fields (`kind: "audit"` only; omitted otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditOut<'a>>,
}

/// A kube-apiserver audit event's fields, as `events` writes them.
#[derive(serde::Serialize)]
pub struct AuditOut<'a> {
    /// `responseStatus.code`.
    pub code: Option<i64>,
    /// `stage`.
    pub stage: Option<Cow<'a, str>>,
    /// `user.username`.
    pub username: Option<Cow<'a, str>>,
    /// `user.groups`.
    pub groups: Vec<Cow<'a, str>>,
    /// `user.extra.arn[0]`: the raw STS ARN.
    pub arn: Option<Cow<'a, str>>,
    /// `user.extra.canonicalArn[0]`: the IAM principal.
    pub canonical_arn: Option<Cow<'a, str>>,
    /// `user.extra.principalId[0]`: the IAM unique id.
    pub principal_id: Option<Cow<'a, str>>,
    /// `user.extra.accessKeyId[0]`.
    pub access_key_id: Option<Cow<'a, str>>,
    /// `user.extra.sessionName[0]`.
    pub session: Option<Cow<'a, str>>,
    /// `verb`.
    pub verb: Option<Cow<'a, str>>,
    /// `objectRef.resource`.
    pub resource: Option<Cow<'a, str>>,
    /// `objectRef.subresource`.
    pub subresource: Option<Cow<'a, str>>,
    /// `objectRef.namespace`.
    pub namespace: Option<Cow<'a, str>>,
    /// `objectRef.name`.
    pub name: Option<Cow<'a, str>>,
    /// `requestURI`.
    pub request_uri: Option<Cow<'a, str>>,
    /// `annotations["authorization.k8s.io/decision"]`: `allow` or `forbid`.
    pub decision: Option<Cow<'a, str>>,
    /// `annotations["authorization.k8s.io/reason"]`.
    pub reason: Option<Cow<'a, str>>,
    /// The connection's address: the last of `sourceIPs`.
    pub source_ip: Option<Cow<'a, str>>,
    /// `sourceIPs`.
    pub source_ips: Vec<Cow<'a, str>>,
    /// `userAgent`.
    pub user_agent: Option<Cow<'a, str>>,
    /// `auditID`.
    pub audit_id: Option<Cow<'a, str>>,
    /// `requestReceivedTimestamp` (RFC 3339, µs).
    pub received: Option<String>,
    /// `stageTimestamp` (RFC 3339, µs).
    pub completed: Option<String>,
}

/// A split `uid`.
#[derive(serde::Serialize)]
pub struct UidOut<'a> {
    /// The value as written.
    pub raw: Cow<'a, str>,
    /// `aws-iam-authenticator` or `heptio-authenticator-aws`.
    pub prefix: Option<&'a str>,
    /// Account id (or `administrative`).
    pub account: Option<Cow<'a, str>>,
    /// IAM unique id.
    pub principal_id: Option<Cow<'a, str>>,
}

/// What the paired `STS response` said about the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StsOut {
    /// The raw STS ARN (`…:assumed-role/<role>/<session>`).
    pub arn: Option<String>,
    /// Role session name (an instance id for nodes; empty for IAM users).
    pub session: Option<String>,
    /// IAM unique id.
    pub userid: Option<String>,
    /// Access key id (`ASIA…` temporary, `AKIA…` long-term).
    pub accesskeyid: Option<String>,
}

impl From<&Sts> for StsOut {
    fn from(s: &Sts) -> StsOut {
        StsOut {
            arn: s.arn().map(str::to_owned),
            session: s.session().map(str::to_owned),
            userid: s.userid().map(str::to_owned),
            accesskeyid: s.accesskeyid().map(str::to_owned),
        }
    }
}

/// Where a record came from.
#[derive(serde::Serialize)]
pub struct SourceOut<'a> {
    /// Input name (`-` for stdin, a path, a log group).
    pub input: Cow<'a, str>,
    /// 1-based line or record number.
    pub line: u64,
}

/// Serializes fields as a JSON object of decoded values, first occurrence of each key; with
/// a redactor, each value redacted by its key.
pub struct FieldsOut<'a>(pub &'a [Field<'a>], pub Option<&'a Redactor>);

/// A field's decoded value as written: credentials masked, then redacted by key when asked.
fn field_value<'v>(k: &str, v: Cow<'v, str>, r: Option<&Redactor>) -> Cow<'v, str> {
    let v = match mask_credentials(&v) {
        Cow::Borrowed(_) => v,
        Cow::Owned(m) => Cow::Owned(m),
    };
    match r {
        Some(r) => r.field(k, v),
        None => v,
    }
}

impl Serialize for FieldsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let repeats = Repeats::new(self.0);
        let mut map = s.serialize_map(None)?;
        for (i, (k, v)) in self.0.iter().enumerate() {
            if !repeats.at(i) {
                map.serialize_entry(k, &field_value(k, v.decoded(), self.1))?;
            }
        }
        map.end()
    }
}

/// Serializes the repeats of keys as `[key, value]` pairs.
pub struct RepeatedOut<'a>(pub &'a [Field<'a>], pub Option<&'a Redactor>);

impl RepeatedOut<'_> {
    fn is_empty(&self) -> bool {
        let repeats = Repeats::new(self.0);
        !(0..self.0.len()).any(|i| repeats.at(i))
    }
}

impl Serialize for RepeatedOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let repeats = Repeats::new(self.0);
        s.collect_seq(
            self.0
                .iter()
                .enumerate()
                .filter(|(i, _)| repeats.at(*i))
                .map(|(_, (k, v))| (k, field_value(k, v.decoded(), self.1))),
        )
    }
}

/// Up to this many fields, whether a key is a repeat is found by scanning the keys before it
/// (at most a few hundred comparisons, no allocation); above it, by one hash-set pass.
const SCAN_MAX: usize = 16;

/// Which fields of a line repeat an earlier key, in time linear in the number of fields.
///
/// Scanning the earlier keys for every field is quadratic: a line of 80,000 `key=value` pairs
/// took 26 s in `events`. Logfmt lines are usually short, so short lines keep the scan.
struct Repeats<'f> {
    fields: &'f [Field<'f>],
    /// One flag per field, for lines longer than [`SCAN_MAX`].
    flags: Option<Vec<bool>>,
}

impl<'f> Repeats<'f> {
    fn new(fields: &'f [Field<'f>]) -> Repeats<'f> {
        let flags = (fields.len() > SCAN_MAX).then(|| repeat_flags(fields.iter().map(|(k, _)| *k)));
        Repeats { fields, flags }
    }

    /// Whether field `i` repeats the key of an earlier field.
    fn at(&self, i: usize) -> bool {
        match &self.flags {
            Some(flags) => flags[i],
            None => {
                let key = self.fields[i].0;
                self.fields[..i].iter().any(|(k, _)| *k == key)
            }
        }
    }
}

/// For each key in order, whether an earlier key equals it: one pass with a hash set, so each
/// key is hashed once and compared only with the keys of its bucket.
fn repeat_flags<K: Hash + Eq>(keys: impl ExactSizeIterator<Item = K>) -> Vec<bool> {
    let mut seen = HashSet::with_capacity_and_hasher(keys.len(), FxBuildHasher);
    keys.map(|k| !seen.insert(k)).collect()
}

impl<'a> EventOut<'a> {
    /// Builds the output record for an event and its classification.
    pub fn new<'e: 'a>(
        e: &'a Event<'e>,
        class: Option<(&'static str, &'static str)>,
        sts: Option<StsOut>,
    ) -> EventOut<'a> {
        EventOut {
            schema: EVENT_SCHEMA,
            time: e.time_ms.map(format_ms),
            level: e.level().map(|l| l.as_str()),
            msg: e.msg(),
            kind: e.kind.as_str(),
            class: class.map(|c| c.0),
            family: class.map(|c| c.1),
            arn: e.arn(),
            username: e.username(),
            groups: e.groups(),
            uid: e.uid_raw().map(|raw| {
                let parts = Uid::parse(raw);
                UidOut {
                    raw: Cow::Borrowed(raw),
                    prefix: parts.map(|u| u.prefix),
                    account: parts.map(|u| Cow::Borrowed(u.account)),
                    principal_id: parts.map(|u| Cow::Borrowed(u.principal_id)),
                }
            }),
            client: e.client(),
            error: e.error().map(|t| match mask_credentials(&t) {
                Cow::Borrowed(_) => t,
                Cow::Owned(m) => Cow::Owned(m),
            }),
            sts,
            stream: e.envelope.stream.map(Cow::Borrowed),
            ptr: e.envelope.ptr,
            source: SourceOut {
                input: Cow::Borrowed(e.loc.input),
                line: e.loc.line,
            },
            fields: FieldsOut(e.record.fields(), None),
            fields_repeated: RepeatedOut(e.record.fields(), None),
            truncated: e.record.truncated,
            time_rejected: e.time_rejected,
            audit: None,
        }
    }

    /// Builds the output record for an audit event.
    pub fn audit<'e: 'a>(e: &'a AuditEvent<'e>) -> EventOut<'a> {
        let b = |s: Option<&'a str>| s.map(Cow::Borrowed);
        let username = e.username();
        let uid = e.user().and_then(|u| u.uid.as_ref()).map(|u| u.as_str());
        EventOut {
            schema: EVENT_SCHEMA,
            time: e.time_ms().map(format_ms),
            level: None,
            msg: Cow::Borrowed(e.message().unwrap_or("")),
            kind: crate::event::Kind::Audit.as_str(),
            class: None,
            family: None,
            arn: b(e.arn()),
            username: b(username),
            groups: e.groups().map(str::to_owned).collect(),
            uid: uid.map(|raw| {
                let parts = Uid::parse(raw);
                UidOut {
                    raw: Cow::Borrowed(raw),
                    prefix: parts.map(|u| u.prefix),
                    account: parts.map(|u| Cow::Borrowed(u.account)),
                    principal_id: parts.map(|u| Cow::Borrowed(u.principal_id)),
                }
            }),
            client: None,
            error: None,
            sts: None,
            stream: e.envelope.stream.map(Cow::Borrowed),
            ptr: e.envelope.ptr,
            source: SourceOut {
                input: Cow::Borrowed(e.loc.input),
                line: e.loc.line,
            },
            fields: FieldsOut(&[], None),
            fields_repeated: RepeatedOut(&[], None),
            truncated: false,
            time_rejected: false,
            audit: Some(AuditOut {
                code: e.code(),
                stage: b(e.stage()),
                username: b(username),
                groups: e.groups().map(Cow::Borrowed).collect(),
                arn: b(e.arn()),
                canonical_arn: b(e.canonical_arn()),
                principal_id: b(e.principal_id()),
                access_key_id: b(e.access_key_id()),
                session: b(e.session()),
                verb: b(e.verb()),
                resource: b(e.resource()),
                subresource: b(e.subresource()),
                namespace: b(e.namespace()),
                name: b(e.name()),
                request_uri: b(e.request_uri()),
                decision: b(e.decision()),
                reason: b(e.reason()),
                source_ip: b(e.source_ip()),
                source_ips: e.source_ips().into_iter().map(Cow::Borrowed).collect(),
                user_agent: b(e.user_agent()),
                audit_id: b(e.audit_id()),
                received: e.received_us.map(format_us),
                completed: e.stage_us.map(format_us),
            }),
        }
    }

    /// This record with every text redacted by field, for `--redact`: identifier fields
    /// (`session`, `userid`, `accesskeyid`, the uid's account and unique id) become
    /// pseudonyms whole, free texts are scanned. Times, kinds, classes and numbers are kept.
    pub fn redacted<'b>(&'b self, r: &'b Redactor) -> EventOut<'b> {
        let text = |v: &'b Cow<'a, str>| r.value(Cow::Borrowed(v.as_ref()));
        let opt = |v: &'b Option<Cow<'a, str>>| v.as_ref().map(text);
        let by_key = |k: &str, v: &'b Option<String>| {
            v.as_deref()
                .map(|v| r.field(k, Cow::Borrowed(v)).into_owned())
        };
        EventOut {
            schema: self.schema,
            time: self.time.clone(),
            level: self.level,
            msg: text(&self.msg),
            kind: self.kind,
            class: self.class,
            family: self.family,
            arn: opt(&self.arn),
            username: opt(&self.username),
            groups: self.groups.iter().map(|g| r.redact(g)).collect(),
            uid: self.uid.as_ref().map(|u| UidOut {
                raw: text(&u.raw),
                prefix: u.prefix,
                account: u
                    .account
                    .as_ref()
                    .map(|a| r.field("accountid", Cow::Borrowed(a.as_ref()))),
                principal_id: u
                    .principal_id
                    .as_ref()
                    .map(|p| r.field("principal_id", Cow::Borrowed(p.as_ref()))),
            }),
            client: opt(&self.client),
            error: opt(&self.error),
            sts: self.sts.as_ref().map(|s| StsOut {
                arn: s.arn.as_deref().map(|a| r.redact(a)),
                session: by_key("session", &s.session),
                userid: by_key("userid", &s.userid),
                accesskeyid: by_key("accesskeyid", &s.accesskeyid),
            }),
            stream: opt(&self.stream),
            ptr: self.ptr,
            source: SourceOut {
                input: text(&self.source.input),
                line: self.source.line,
            },
            fields: FieldsOut(self.fields.0, Some(r)),
            fields_repeated: RepeatedOut(self.fields_repeated.0, Some(r)),
            truncated: self.truncated,
            time_rejected: self.time_rejected,
            audit: self.audit.as_ref().map(|a| a.redacted(r)),
        }
    }
}

impl<'a> AuditOut<'a> {
    /// This record redacted: identifiers (`session`, `access_key_id`, `principal_id`) whole,
    /// the other texts scanned.
    fn redacted<'b>(&'b self, r: &'b Redactor) -> AuditOut<'b> {
        let text = |v: &'b Option<Cow<'a, str>>| v.as_deref().map(|v| r.value(Cow::Borrowed(v)));
        let key = |k: &str, v: &'b Option<Cow<'a, str>>| {
            v.as_deref().map(|v| r.field(k, Cow::Borrowed(v)))
        };
        let all = |v: &'b [Cow<'a, str>]| v.iter().map(|g| r.value(Cow::Borrowed(g))).collect();
        AuditOut {
            code: self.code,
            stage: text(&self.stage),
            username: text(&self.username),
            groups: all(&self.groups),
            arn: text(&self.arn),
            canonical_arn: text(&self.canonical_arn),
            principal_id: key("principal_id", &self.principal_id),
            access_key_id: key("accesskeyid", &self.access_key_id),
            session: key("session", &self.session),
            verb: text(&self.verb),
            resource: text(&self.resource),
            subresource: text(&self.subresource),
            namespace: text(&self.namespace),
            name: text(&self.name),
            request_uri: text(&self.request_uri),
            decision: text(&self.decision),
            reason: text(&self.reason),
            source_ip: text(&self.source_ip),
            source_ips: all(&self.source_ips),
            user_agent: text(&self.user_agent),
            audit_id: text(&self.audit_id),
            received: self.received.clone(),
            completed: self.completed.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::hash::Hasher;

    use super::*;
    use crate::parse::parse_line;

    thread_local! {
        static COMPARED: Cell<u64> = const { Cell::new(0) };
        static HASHED: Cell<u64> = const { Cell::new(0) };
    }

    /// A key that counts how often it is compared and hashed.
    struct Counted(u32);

    impl PartialEq for Counted {
        fn eq(&self, other: &Self) -> bool {
            COMPARED.with(|c| c.set(c.get() + 1));
            self.0 == other.0
        }
    }
    impl Eq for Counted {}
    impl Hash for Counted {
        fn hash<H: Hasher>(&self, h: &mut H) {
            HASHED.with(|c| c.set(c.get() + 1));
            self.0.hash(h)
        }
    }

    /// Regression (issue 10): 80k pairs on one line took 26 s because every field scanned the
    /// keys before it. The work per key must not grow with the line: a scan makes n²/2
    /// comparisons (50 million here), the hash set about one per repeat.
    #[test]
    fn repeat_flags_compares_each_key_a_bounded_number_of_times() {
        let n = 10_000u32;
        // Every key twice: 0, 1, …, n-1, 0, 1, …, n-1.
        let keys = (0..2 * n).map(|i| Counted(i % n));
        COMPARED.with(|c| c.set(0));
        HASHED.with(|c| c.set(0));
        let flags = repeat_flags(keys);
        let compared = COMPARED.with(Cell::get);
        let hashed = HASHED.with(Cell::get);
        assert_eq!(flags.len(), 2 * n as usize);
        assert!(flags[..n as usize].iter().all(|f| !f));
        assert!(flags[n as usize..].iter().all(|f| *f));
        assert_eq!(hashed, u64::from(2 * n), "each key is hashed once");
        assert!(
            compared <= u64::from(4 * n),
            "{compared} comparisons for {} keys: not linear",
            2 * n
        );
    }

    fn line_of_pairs(keys: &[String]) -> String {
        let mut line = String::from(r#"time="2026-11-20T08:00:00Z" level=info msg="x""#);
        for (i, k) in keys.iter().enumerate() {
            line.push_str(&format!(" {k}=v{i}"));
        }
        line
    }

    /// A long line takes the hash-set path and writes the same `fields` and
    /// `fields_repeated` as the scan: first occurrences in order, then the repeats.
    #[test]
    fn long_lines_split_first_occurrences_and_repeats_like_short_ones() {
        let keys: Vec<String> = (0..3 * SCAN_MAX)
            .map(|i| format!("k{}", i % (SCAN_MAX + 3)))
            .collect();
        let line = line_of_pairs(&keys);
        let record = parse_line(&line).expect("parses");
        let fields = record.fields();
        assert!(
            Repeats::new(fields).flags.is_some(),
            "takes the linear path"
        );
        let json = |v: &dyn ToJson| v.json();
        let got_fields = json(&FieldsOut(fields, None));
        let got_repeats = json(&RepeatedOut(fields, None));
        // The expectation, by the definition: a key is a repeat when it occurred before.
        let mut first = serde_json::Map::new();
        let mut repeats = Vec::new();
        for (i, (k, v)) in fields.iter().enumerate() {
            let value = serde_json::Value::from(v.decoded().into_owned());
            if fields[..i].iter().any(|(seen, _)| seen == k) {
                repeats.push(serde_json::json!([k, value]));
            } else {
                first.insert((*k).to_owned(), value);
            }
        }
        assert_eq!(got_fields, serde_json::Value::Object(first));
        assert_eq!(got_repeats, serde_json::Value::Array(repeats));
        assert!(!RepeatedOut(fields, None).is_empty());
        // And the short path agrees on a short line with a repeat.
        let short = parse_line(r#"time="2026-11-20T08:00:00Z" level=info msg="x" a=1 b=2 a=3"#)
            .expect("parses");
        assert!(Repeats::new(short.fields()).flags.is_none());
        assert_eq!(
            json(&RepeatedOut(short.fields(), None)),
            serde_json::json!([["a", "3"]])
        );
    }

    /// Serializes to a JSON value (object-safe, so the test can take either wire type).
    trait ToJson {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: Serialize> ToJson for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("serializes")
        }
    }
}
