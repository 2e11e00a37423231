//! One kube-apiserver audit event (`audit.k8s.io/v1` `Event`), read from a record's message.
//!
//! The field names are those of `k8s.io/apiserver` `pkg/apis/audit/v1/types.go` (`Event`,
//! `ObjectReference`) and `k8s.io/api` `authentication/v1` `UserInfo`. Only what the analysis
//! uses is kept: request and response bodies are skipped by serde without being built, and of
//! `user.extra` only the keys aws-iam-authenticator sets (`pkg/server/server.go`,
//! `(*handler).authenticateEndpoint`) and of `annotations` only the authorization decision and
//! reason (`pkg/endpoints/filters/authorization.go`, `WithAuthorization`). Strings borrow from
//! the message unless JSON escapes had to be decoded.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::parse::{ParseError, ParseErrorKind};
use crate::source::{Envelope, Loc};
use crate::time;

/// A JSON string, borrowed from the message when it has no escapes.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The first string of a JSON array (`user.extra` values are `[value]`); later elements
/// are skipped without being kept, so a hostile array costs no memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct First<'a>(pub Option<Text<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for First<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = First<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element::<Text<'de>>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(First(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// `user` (`authentication/v1` `UserInfo`): `{}` when authentication failed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct User<'a> {
    /// Kubernetes username.
    #[serde(borrow, default)]
    pub username: Option<Text<'a>>,
    /// `aws-iam-authenticator:<account>:<unique id>` for IAM identities.
    #[serde(borrow, default)]
    pub uid: Option<Text<'a>>,
    /// Kubernetes groups.
    #[serde(borrow, default)]
    pub groups: Option<Vec<Text<'a>>>,
    /// What the authenticator added.
    #[serde(borrow, default)]
    pub extra: Option<Extra<'a>>,
}

/// The `user.extra` keys aws-iam-authenticator sets on a successful TokenReview
/// (`pkg/server/server.go`, `(*handler).authenticateEndpoint`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Extra<'a> {
    /// Raw STS ARN (`arn:aws:sts::<account>:assumed-role/<role>/<session>`).
    #[serde(borrow, default)]
    pub arn: First<'a>,
    /// Canonical ARN (`arn:aws:iam::<account>:role/<role>`).
    #[serde(borrow, default, rename = "canonicalArn")]
    pub canonical_arn: First<'a>,
    /// Role session name (empty for IAM users).
    #[serde(borrow, default, rename = "sessionName")]
    pub session_name: First<'a>,
    /// The access key that signed the token (`ASIA…` temporary, `AKIA…` long-term).
    #[serde(borrow, default, rename = "accessKeyId")]
    pub access_key_id: First<'a>,
    /// IAM unique id (`AROA…`, `AIDA…`), v0.5.13 and later.
    #[serde(borrow, default, rename = "principalId")]
    pub principal_id: First<'a>,
    /// The same unique id under its namespaced key (v0.6.25 and later).
    #[serde(
        borrow,
        default,
        rename = "sigs.k8s.io/aws-iam-authenticator/principalId"
    )]
    pub principal_id_namespaced: First<'a>,
}

/// `objectRef`: omitted for non-resource URLs (`/api`, `/version`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef<'a> {
    /// Resource (`pods`, `nodes`).
    #[serde(borrow, default)]
    pub resource: Option<Text<'a>>,
    /// Namespace, absent at cluster scope.
    #[serde(borrow, default)]
    pub namespace: Option<Text<'a>>,
    /// Object name (absent for `list` and `create`).
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// API group (empty for the core group).
    #[serde(borrow, default)]
    pub api_group: Option<Text<'a>>,
    /// Subresource (`log`, `exec`, `status`).
    #[serde(borrow, default)]
    pub subresource: Option<Text<'a>>,
}

/// `responseStatus` (a `metav1.Status` subset).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Status<'a> {
    /// HTTP code.
    #[serde(default)]
    pub code: Option<i64>,
    /// `Unauthorized`, `Forbidden`, …
    #[serde(borrow, default)]
    pub reason: Option<Text<'a>>,
    /// The message (for 403s: `… is forbidden: User "…" cannot …`).
    #[serde(borrow, default)]
    pub message: Option<Text<'a>>,
}

/// The two annotations authorization writes.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Annotations<'a> {
    /// `allow` or `forbid`.
    #[serde(borrow, default, rename = "authorization.k8s.io/decision")]
    pub decision: Option<Text<'a>>,
    /// Which binding allowed (RBAC, EKS access policy), or why it forbade (usually empty).
    #[serde(borrow, default, rename = "authorization.k8s.io/reason")]
    pub reason: Option<Text<'a>>,
}

/// The fields of an audit `Event` the analysis uses, as JSON names them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fields<'a> {
    /// `Event`.
    #[serde(borrow, default)]
    pub kind: Option<Text<'a>>,
    /// `audit.k8s.io/v1` (or an older version).
    #[serde(borrow, default)]
    pub api_version: Option<Text<'a>>,
    /// `Metadata`, `Request`, `RequestResponse`.
    #[serde(borrow, default)]
    pub level: Option<Text<'a>>,
    /// Unique per request, the same in every stage.
    #[serde(borrow, default, rename = "auditID")]
    pub audit_id: Option<Text<'a>>,
    /// `RequestReceived`, `ResponseStarted`, `ResponseComplete`, `Panic`.
    #[serde(borrow, default)]
    pub stage: Option<Text<'a>>,
    /// Path and query.
    #[serde(borrow, default, rename = "requestURI")]
    pub request_uri: Option<Text<'a>>,
    /// Kubernetes verb (or the lower-cased HTTP method for non-resource URLs).
    #[serde(borrow, default)]
    pub verb: Option<Text<'a>>,
    /// Who made the request; `{}` when authentication failed.
    #[serde(borrow, default)]
    pub user: Option<User<'a>>,
    /// `--as` impersonation, when used.
    #[serde(borrow, default)]
    pub impersonated_user: Option<User<'a>>,
    /// X-Forwarded-For, X-Real-Ip, then the connection's address (the last is the only one a
    /// client cannot choose).
    #[serde(borrow, default, rename = "sourceIPs")]
    pub source_ips: Option<Vec<Text<'a>>>,
    /// Client-supplied user agent.
    #[serde(borrow, default)]
    pub user_agent: Option<Text<'a>>,
    /// What was acted on.
    #[serde(borrow, default)]
    pub object_ref: Option<ObjectRef<'a>>,
    /// The answer.
    #[serde(borrow, default)]
    pub response_status: Option<Status<'a>>,
    /// RFC 3339 with microseconds, before authentication ran.
    #[serde(borrow, default)]
    pub request_received_timestamp: Option<Text<'a>>,
    /// RFC 3339 with microseconds, when this stage was written.
    #[serde(borrow, default)]
    pub stage_timestamp: Option<Text<'a>>,
    /// Authorization's decision and reason.
    #[serde(borrow, default)]
    pub annotations: Option<Annotations<'a>>,
}

/// A parsed audit event with where it came from.
#[derive(Clone, Debug)]
pub struct AuditEvent<'a> {
    /// The event's fields.
    pub fields: Fields<'a>,
    /// Transport data (stream, timestamp, `@ptr`) when the input had it.
    pub envelope: Envelope<'a>,
    /// Input name and record number.
    pub loc: Loc<'a>,
    /// `requestReceivedTimestamp` in epoch microseconds, when plausible.
    pub received_us: Option<i64>,
    /// `stageTimestamp` in epoch microseconds, when plausible.
    pub stage_us: Option<i64>,
}

/// How many bytes of a broken message are searched for the audit API group, to tell a
/// damaged audit event from other JSON.
const SNIFF_BYTES: usize = 512;

/// Whether a message may be an audit event: the cheap test on the authenticator's hot path
/// (a logrus line never starts with `{`).
#[inline]
pub fn may_be_audit(text: &[u8]) -> bool {
    text.first() == Some(&b'{')
}

impl<'a> AuditEvent<'a> {
    /// Reads a message as an audit event. `None` when it is not one (not JSON, or JSON of
    /// another kind: the caller reads it as an authenticator line); `Some(Err)` when it is
    /// a damaged audit event (cut, wrong types, invalid UTF-8), with the byte where JSON
    /// parsing gave up.
    pub fn parse(
        text: &'a [u8],
        envelope: Envelope<'a>,
        loc: Loc<'a>,
    ) -> Option<Result<AuditEvent<'a>, ParseError>> {
        if !may_be_audit(text) {
            return None;
        }
        match serde_json::from_slice::<Fields<'a>>(text) {
            Ok(fields) if fields.is_audit() => {
                let us = |t: &Option<Text<'_>>| {
                    t.as_ref()
                        .and_then(|t| micros(t.as_str()))
                        .filter(|us| time::plausible(us.div_euclid(1000)))
                };
                let received_us = us(&fields.request_received_timestamp);
                let stage_us = us(&fields.stage_timestamp);
                Some(Ok(AuditEvent {
                    fields,
                    envelope,
                    loc,
                    received_us,
                    stage_us,
                }))
            }
            Ok(_) => None,
            Err(e) => {
                let head = &text[..text.len().min(SNIFF_BYTES)];
                memchr::memmem::find(head, b"\"audit.k8s.io/")?;
                let offset = if e.line() == 1 {
                    e.column().saturating_sub(1).min(text.len())
                } else {
                    0
                };
                Some(Err(ParseError {
                    offset,
                    kind: ParseErrorKind::MalformedAudit,
                }))
            }
        }
    }

    /// The event's time in epoch ms: when the request was received, else when this stage was
    /// written, else the envelope's timestamp.
    pub fn time_ms(&self) -> Option<i64> {
        self.received_us
            .or(self.stage_us)
            .map(|us| us.div_euclid(1000))
            .or(self.envelope.timestamp_ms.filter(|ms| time::plausible(*ms)))
    }

    /// The response code.
    pub fn code(&self) -> Option<i64> {
        self.fields.response_status.as_ref().and_then(|s| s.code)
    }

    /// `annotations["authorization.k8s.io/decision"]`.
    pub fn decision(&self) -> Option<&str> {
        self.fields
            .annotations
            .as_ref()
            .and_then(|a| a.decision.as_ref())
            .map(Text::as_str)
    }

    /// `annotations["authorization.k8s.io/reason"]`.
    pub fn reason(&self) -> Option<&str> {
        self.fields
            .annotations
            .as_ref()
            .and_then(|a| a.reason.as_ref())
            .map(Text::as_str)
    }

    /// The user the request ran as: the impersonated user when `--as` was used.
    pub fn user(&self) -> Option<&User<'a>> {
        self.fields.user.as_ref()
    }

    /// `user.username`.
    pub fn username(&self) -> Option<&str> {
        self.user()
            .and_then(|u| u.username.as_ref())
            .map(Text::as_str)
    }

    /// `user.groups`.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.user()
            .and_then(|u| u.groups.as_deref())
            .unwrap_or_default()
            .iter()
            .map(Text::as_str)
    }

    fn extra(&self, f: impl for<'x> Fn(&'x Extra<'a>) -> &'x First<'a>) -> Option<&str> {
        self.user()
            .and_then(|u| u.extra.as_ref())
            .and_then(|x| f(x).0.as_ref())
            .map(Text::as_str)
    }

    /// `user.extra.arn[0]`: the raw STS ARN.
    pub fn arn(&self) -> Option<&str> {
        self.extra(|x| &x.arn)
    }

    /// `user.extra.canonicalArn[0]`: the IAM principal.
    pub fn canonical_arn(&self) -> Option<&str> {
        self.extra(|x| &x.canonical_arn)
    }

    /// `user.extra.principalId[0]` (or its namespaced twin): the IAM unique id.
    pub fn principal_id(&self) -> Option<&str> {
        self.extra(|x| &x.principal_id)
            .or_else(|| self.extra(|x| &x.principal_id_namespaced))
    }

    /// `user.extra.accessKeyId[0]`.
    pub fn access_key_id(&self) -> Option<&str> {
        self.extra(|x| &x.access_key_id)
    }

    /// `user.extra.sessionName[0]`.
    pub fn session(&self) -> Option<&str> {
        self.extra(|x| &x.session_name)
    }

    /// The client's address: the last of `sourceIPs`, the connection's remote address, which
    /// is the one a client cannot set (`types.go`: "All but the last IP can be arbitrarily set
    /// by the client").
    pub fn source_ip(&self) -> Option<&str> {
        self.source_ips().last().copied()
    }

    /// `sourceIPs`.
    pub fn source_ips(&self) -> Vec<&str> {
        self.fields
            .source_ips
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(Text::as_str)
            .collect()
    }

    /// `userAgent`.
    pub fn user_agent(&self) -> Option<&str> {
        self.fields.user_agent.as_ref().map(Text::as_str)
    }

    /// `verb`.
    pub fn verb(&self) -> Option<&str> {
        self.fields.verb.as_ref().map(Text::as_str)
    }

    /// `requestURI`.
    pub fn request_uri(&self) -> Option<&str> {
        self.fields.request_uri.as_ref().map(Text::as_str)
    }

    /// `stage`.
    pub fn stage(&self) -> Option<&str> {
        self.fields.stage.as_ref().map(Text::as_str)
    }

    /// `auditID`.
    pub fn audit_id(&self) -> Option<&str> {
        self.fields.audit_id.as_ref().map(Text::as_str)
    }

    fn object(
        &self,
        f: impl for<'x> Fn(&'x ObjectRef<'a>) -> &'x Option<Text<'a>>,
    ) -> Option<&str> {
        self.fields
            .object_ref
            .as_ref()
            .and_then(|o| f(o).as_ref())
            .map(Text::as_str)
    }

    /// `objectRef.resource`.
    pub fn resource(&self) -> Option<&str> {
        self.object(|o| &o.resource)
    }

    /// `objectRef.subresource`.
    pub fn subresource(&self) -> Option<&str> {
        self.object(|o| &o.subresource)
    }

    /// `objectRef.namespace`.
    pub fn namespace(&self) -> Option<&str> {
        self.object(|o| &o.namespace)
    }

    /// `objectRef.name`.
    pub fn name(&self) -> Option<&str> {
        self.object(|o| &o.name)
    }

    /// `objectRef.apiGroup` (empty for the core group).
    pub fn api_group(&self) -> Option<&str> {
        self.object(|o| &o.api_group)
    }

    /// `responseStatus.message`.
    pub fn message(&self) -> Option<&str> {
        self.fields
            .response_status
            .as_ref()
            .and_then(|s| s.message.as_ref())
            .map(Text::as_str)
    }

    /// A failed authentication: code 401 (written at stage `ResponseStarted` with `user: {}`,
    /// `k8s.io/apiserver` `pkg/endpoints/filters/authn_audit.go`).
    pub fn is_unauthorized(&self) -> bool {
        self.code() == Some(401)
    }

    /// An authorization denial: `decision: forbid`. Not every 403: admission answers 403
    /// after authorization allowed.
    pub fn is_forbidden(&self) -> bool {
        self.decision() == Some("forbid")
    }
}

impl Fields<'_> {
    fn is_audit(&self) -> bool {
        self.kind.as_ref().is_some_and(|k| k.as_str() == "Event")
            && self
                .api_version
                .as_ref()
                .is_some_and(|v| v.as_str().starts_with("audit.k8s.io/"))
    }
}

/// An RFC 3339 timestamp in epoch microseconds (the audit log writes six fraction digits).
pub fn micros(s: &str) -> Option<i64> {
    let (ms, n) = time::rfc3339_prefix(s.as_bytes())?;
    if n != s.len() {
        return None;
    }
    // `rfc3339_prefix` truncated the fraction to ms; add its 4th to 6th digits.
    let frac = s
        .get(19..)
        .and_then(|f| f.strip_prefix('.'))
        .map(|f| {
            f.bytes()
                .take_while(u8::is_ascii_digit)
                .collect::<Vec<u8>>()
        })
        .unwrap_or_default();
    let sub: i64 = frac
        .iter()
        .skip(3)
        .chain(std::iter::repeat(&b'0'))
        .take(3)
        .fold(0, |acc, d| acc * 10 + i64::from(d - b'0'));
    ms.checked_mul(1000)?.checked_add(sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOC: Loc<'static> = Loc {
        input: "t",
        line: 1,
    };

    #[test]
    fn microseconds_are_kept() {
        assert_eq!(
            micros("2023-05-16T10:27:28.826058Z"),
            Some(1_684_232_848_826_058)
        );
        assert_eq!(micros("2023-05-16T10:27:28Z"), Some(1_684_232_848_000_000));
        assert_eq!(
            micros("2023-05-16T10:27:28.8Z"),
            Some(1_684_232_848_800_000)
        );
        assert_eq!(micros("2023-05-16T10:27:28.826Z junk"), None);
    }

    #[test]
    fn other_json_is_not_audit() {
        for text in [
            &br#"{"log":"x","stream":"stderr"}"#[..],
            br#"{"kind":"Pod","apiVersion":"v1"}"#,
            br#"time="2023-05-16T10:27:28Z" level=info msg="x""#,
            br#"{not json at all"#,
        ] {
            assert!(
                AuditEvent::parse(text, Envelope::default(), LOC).is_none(),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn a_damaged_audit_event_is_unparsed_with_its_offset() {
        let text = br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","responseStatus":{"code":"four-oh-one"}}"#;
        let err = AuditEvent::parse(text, Envelope::default(), LOC)
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind, ParseErrorKind::MalformedAudit);
        assert!(err.offset > 60 && err.offset <= text.len(), "{err:?}");
        let cut = br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Meta"#;
        let err = AuditEvent::parse(cut, Envelope::default(), LOC)
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind, ParseErrorKind::MalformedAudit);
    }

    #[test]
    fn extra_values_keep_only_their_first_element() {
        let text = br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","user":{"username":"u","extra":{"canonicalArn":["arn:aws:iam::111122223333:role/a","second"],"accessKeyId":[]}}}"#;
        let e = AuditEvent::parse(text, Envelope::default(), LOC)
            .unwrap()
            .unwrap();
        assert_eq!(e.canonical_arn(), Some("arn:aws:iam::111122223333:role/a"));
        assert_eq!(e.access_key_id(), None);
        assert!(matches!(
            e.fields.user.as_ref().unwrap().username.as_ref().unwrap().0,
            Cow::Borrowed(_)
        ));
    }
}
