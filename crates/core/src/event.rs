//! Typed authenticator events: a parsed [`Record`] plus where it came from and what it is.
//!
//! This module gives names to the fields the authenticator writes (`arn`, `username`,
//! `groups`, `uid`, `client`, `error`, the `STS response` fields, the mapping fields) and
//! sorts lines into a [`Kind`]. It does not judge them: failure classes and the creator are
//! `classify`'s and `analysis`'s business.

use std::borrow::Cow;

use crate::parse::{self, Known, Level, ParseError, Record};
use crate::source::{Envelope, Loc};
use crate::time;

/// What kind of line an event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `msg="access granted"`.
    AccessGranted,
    /// `msg="access denied"`.
    AccessDenied,
    /// `msg="STS response"`: the identity STS returned, before mapping.
    StsResponse,
    /// `msg="mapping IAM role|user|Account"`: static mappings logged at start.
    Mapping,
    /// Server start and stop, certificates, mapper backends (aws-auth watch, dynamic file).
    Lifecycle,
    /// Anything else.
    Other,
    /// A kube-apiserver audit event (`audit.k8s.io/v1` JSON), read by [`crate::audit`].
    Audit,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 7] = [
        Kind::AccessGranted,
        Kind::AccessDenied,
        Kind::StsResponse,
        Kind::Mapping,
        Kind::Lifecycle,
        Kind::Other,
        Kind::Audit,
    ];

    /// Stable snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::AccessGranted => "access_granted",
            Kind::AccessDenied => "access_denied",
            Kind::StsResponse => "sts_response",
            Kind::Mapping => "mapping",
            Kind::Lifecycle => "lifecycle",
            Kind::Other => "other",
            Kind::Audit => "audit",
        }
    }

    /// Sorts a message into a kind. `msg` is the raw (still escaped) message text.
    pub fn of_message(msg: &str) -> Kind {
        match msg {
            "access granted" => Kind::AccessGranted,
            "access denied" => Kind::AccessDenied,
            "STS response" => Kind::StsResponse,
            "mapping IAM role" | "mapping IAM user" | "mapping IAM Account" => Kind::Mapping,
            _ if LIFECYCLE_PREFIXES.iter().any(|p| msg.starts_with(p)) => Kind::Lifecycle,
            _ => Kind::Other,
        }
    }
}

/// Message prefixes of the server's start, stop and backend lines (aws-iam-authenticator
/// `pkg/server/server.go`, `pkg/config/certs/certs.go`, `pkg/mapper/configmap/configmap.go`,
/// `pkg/fileutil/util.go`, `pkg/mapper/dynamicfile/dynamicfile.go`,
/// `pkg/ec2provider/ec2provider.go`).
const LIFECYCLE_PREFIXES: &[&str] = &[
    "starting mapper",
    "listening on",
    "reconfigure your apiserver",
    "Starting the h.ec2Provider",
    "failed to get region from IMDS",
    "Region not found",
    "Creating certificate",
    "loaded existing keypair",
    "saving new key and certificate",
    "generated a new private key",
    "writing webhook kubeconfig",
    "SSORoleMatch feature",
    "ConfiguredInitDirectories feature",
    "warning: backend-mode",
    "Using assumed role for EC2 API",
    "configuring STS client",
    "shut down mapper",
    "http server exited",
    "HTTP server exited",
    "healthz server exited",
    "startLoadConfigMap",
    "stopCh is closed",
    "Unable to re-establish watch",
    "received a watch error",
    "recieved a watch error",
    "Resetting configmap on delete",
    "Received aws-auth watch event",
    "There was an error parsing the config maps",
    "error parsing config map",
    "Errors parsing configmap",
    "Watch channel closed",
    "LoadDynamicFile",
    "startLoadDynamicFile",
    "StartLoadDynamicFile",
    "ParseMap:",
    "logging latency metric",
    "error parsing latency",
    "BackendMode dynamic file",
    "CallBackForFileLoad",
    "error closing file watcher",
    "Batch call failed querying private DNS",
    "Making Batch Query to DescribeInstances",
    "creating event broadcaster",
    "setting up event handlers",
    "starting aws iam authenticator controller",
    "waiting for informer caches to sync",
    "starting workers",
    "started workers",
    "shutting down workers",
    "successfully synced",
];

/// The parts of a `uid` value: `aws-iam-authenticator:<account>:<principal id>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Uid<'a> {
    /// `aws-iam-authenticator` (or the old `heptio-authenticator-aws`).
    pub prefix: &'a str,
    /// The account id, or `administrative` for scrubbed accounts.
    pub account: &'a str,
    /// The IAM unique id (`AROA…`, `AIDA…`), or the username for scrubbed accounts.
    pub principal_id: &'a str,
}

impl<'a> Uid<'a> {
    /// Splits a uid value; `None` when it does not have three `:`-separated parts.
    pub fn parse(s: &'a str) -> Option<Uid<'a>> {
        // A byte loop: the parts are a dozen to twenty bytes, too short for `memchr` to pay
        // for its set-up on every grant.
        let colon = |t: &'a str| {
            let i = t.bytes().position(|c| c == b':')?;
            Some((&t[..i], &t[i + 1..]))
        };
        let (prefix, rest) = colon(s)?;
        let (account, principal_id) = colon(rest)?;
        (!prefix.is_empty() && !account.is_empty()).then_some(Uid {
            prefix,
            account,
            principal_id,
        })
    }
}

/// Splits a `groups` value (`[system:bootstrappers system:nodes]`) into its groups.
pub fn split_groups(groups: &str) -> impl Iterator<Item = &str> {
    let inner = groups
        .strip_prefix('[')
        .and_then(|g| g.strip_suffix(']'))
        .unwrap_or(groups);
    inner.split(' ').filter(|g| !g.is_empty())
}

/// A record longer than [`MAX_RECORD`](crate::source::MAX_RECORD) is not read (readers hand on
/// at most one byte more, so that it is seen).
#[inline]
fn too_long(len: usize) -> Result<(), ParseError> {
    if len > crate::source::MAX_RECORD {
        return Err(ParseError {
            offset: crate::source::MAX_RECORD,
            kind: parse::ParseErrorKind::TooLong,
        });
    }
    Ok(())
}

/// One parsed authenticator line with its origin.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    /// The parsed line.
    pub record: Record<'a>,
    /// Transport data (stream, timestamp, `@ptr`) when the input had it.
    pub envelope: Envelope<'a>,
    /// Input name and line number.
    pub loc: Loc<'a>,
    /// Event time in epoch ms: `time=`, else the envelope's timestamp, else a timestamp
    /// prefix on the line.
    pub time_ms: Option<i64>,
    /// The line carried a time that is not a [plausible](time::plausible) date (or no date
    /// at all), so `time_ms` does not use it (reports count these lines).
    pub time_rejected: bool,
    /// What kind of line this is.
    pub kind: Kind,
}

impl<'a> Event<'a> {
    /// Parses a line (as bytes) into an event.
    pub fn parse(
        line: &'a [u8],
        envelope: Envelope<'a>,
        loc: Loc<'a>,
    ) -> Result<Event<'a>, ParseError> {
        let mut e = Event::empty(envelope, loc);
        e.fill(line)?;
        Ok(e)
    }

    /// An event with an empty record, to [`fill`](Event::fill) in place: the hot path
    /// builds the event on its own stack instead of moving a ~700-byte value out of the
    /// parser.
    #[inline]
    pub fn empty(envelope: Envelope<'a>, loc: Loc<'a>) -> Event<'a> {
        Event {
            record: Record::empty(),
            envelope,
            loc,
            time_ms: None,
            time_rejected: false,
            kind: Kind::Other,
        }
    }

    /// Parses `line` into this event (record, time and kind), in place. On error the
    /// event's content is unspecified.
    #[inline]
    pub fn fill(&mut self, line: &'a [u8]) -> Result<(), ParseError> {
        too_long(line.len())?;
        parse::parse_bytes_into(line, &mut self.record)?;
        self.settle();
        Ok(())
    }

    /// [`fill`](Event::fill) for a line already known to be UTF-8.
    #[inline]
    pub fn fill_str(&mut self, line: &'a str) -> Result<(), ParseError> {
        too_long(line.len())?;
        parse::parse_line_into(line, &mut self.record)?;
        self.settle();
        Ok(())
    }

    /// Wraps a parsed record.
    pub fn from_record(record: Record<'a>, envelope: Envelope<'a>, loc: Loc<'a>) -> Event<'a> {
        let mut e = Event {
            record,
            envelope,
            loc,
            time_ms: None,
            time_rejected: false,
            kind: Kind::Other,
        };
        e.settle();
        e
    }

    /// Derives the time and kind from the record.
    #[inline]
    fn settle(&mut self) {
        let record = &self.record;
        let mut rejected = false;
        let mut trust = |t: Option<i64>| match t {
            Some(ms) if time::plausible(ms) => Some(ms),
            Some(_) => {
                rejected = true;
                None
            }
            None => None,
        };
        // A `time=` that is no date (a bare integer, the TTY layout's `WARN[0042]`) counts as
        // rejected as well: the line said when it happened, and that cannot be used.
        let own = record
            .time
            .map(|t| time::parse_log_time(t).unwrap_or(i64::MIN));
        self.time_ms = trust(own)
            .or_else(|| trust(self.envelope.timestamp_ms))
            .or_else(|| trust(record.prefix.and_then(prefix_timestamp)));
        self.time_rejected = rejected;
        self.kind = Kind::of_message(record.msg_raw());
    }

    /// The level, if recognised.
    pub fn level(&self) -> Option<Level> {
        self.record.level
    }

    /// The decoded message.
    pub fn msg(&self) -> Cow<'a, str> {
        self.record.msg.map_or(Cow::Borrowed(""), |m| m.decoded())
    }

    /// The decoded value of a data field.
    #[inline]
    pub fn field(&self, key: &str) -> Option<Cow<'a, str>> {
        self.record.get(key).map(|v| v.decoded())
    }

    /// The decoded value of a known data field.
    #[inline]
    fn known(&self, key: Known) -> Option<Cow<'a, str>> {
        self.record.known(key).map(|v| v.decoded())
    }

    /// `arn=`: canonical on grants and mapping denials, raw STS ARN on `STS response`.
    pub fn arn(&self) -> Option<Cow<'a, str>> {
        self.known(Known::Arn)
    }

    /// `username=`.
    pub fn username(&self) -> Option<Cow<'a, str>> {
        self.known(Known::Username)
    }

    /// `client=` (the kube-apiserver's address and port on EKS).
    pub fn client(&self) -> Option<Cow<'a, str>> {
        self.known(Known::Client)
    }

    /// `error=`, decoded.
    pub fn error(&self) -> Option<Cow<'a, str>> {
        self.known(Known::Error)
    }

    /// `session=` on `STS response` lines (empty for IAM users).
    pub fn session(&self) -> Option<Cow<'a, str>> {
        self.known(Known::Session)
    }

    /// `userid=` on `STS response` lines.
    pub fn userid(&self) -> Option<Cow<'a, str>> {
        self.known(Known::Userid)
    }

    /// `accesskeyid=` on `STS response` lines.
    pub fn accesskeyid(&self) -> Option<Cow<'a, str>> {
        self.known(Known::Accesskeyid)
    }

    /// `accountid=` on `STS response` lines.
    pub fn accountid(&self) -> Option<Cow<'a, str>> {
        self.known(Known::Accountid)
    }

    /// The STS host the token was signed for: `stsendpoint=`, or EKS's older `sts=`.
    pub fn sts_endpoint(&self) -> Option<Cow<'a, str>> {
        self.known(Known::Stsendpoint)
            .or_else(|| self.known(Known::Sts))
    }

    /// The raw `uid` value; split it with [`Uid::parse`].
    pub fn uid_raw(&self) -> Option<&'a str> {
        self.record.known(Known::Uid).map(|v| v.raw())
    }

    /// The mapped identity on `mapping IAM role|user` lines (`role=` or `user=`).
    pub fn mapping_arn(&self) -> Option<Cow<'a, str>> {
        self.known(Known::Role).or_else(|| self.known(Known::User))
    }

    /// The groups on grants and mapping lines.
    pub fn groups(&self) -> Vec<String> {
        self.known(Known::Groups)
            .map(|g| split_groups(&g).map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

/// A timestamp at the start of a prefix (the CloudWatch console and S3 export forms).
fn prefix_timestamp(prefix: &str) -> Option<i64> {
    let b = prefix.as_bytes();
    // `2026-01-15T09:30:00.123Z` or `2026-01-15 09:30:00.123`: up to the second space.
    let end = if b.get(10) == Some(&b' ') {
        prefix[11..].find(' ').map_or(prefix.len(), |p| p + 11)
    } else {
        prefix.find(' ').unwrap_or(prefix.len())
    };
    time::parse_timestamp_ms(&prefix[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(line: &str) -> Event<'_> {
        Event::parse(
            line.as_bytes(),
            Envelope::default(),
            Loc {
                input: "t",
                line: 1,
            },
        )
        .unwrap()
    }

    #[test]
    fn kinds_come_from_the_message() {
        assert_eq!(Kind::of_message("access granted"), Kind::AccessGranted);
        assert_eq!(Kind::of_message("access denied"), Kind::AccessDenied);
        assert_eq!(Kind::of_message("STS response"), Kind::StsResponse);
        assert_eq!(Kind::of_message("mapping IAM user"), Kind::Mapping);
        assert_eq!(
            Kind::of_message(r#"starting mapper \"MountedFile\""#),
            Kind::Lifecycle
        );
        assert_eq!(Kind::of_message("recieved a watch error"), Kind::Lifecycle);
        assert_eq!(
            Kind::of_message("Calling ec2:DescribeInstances for the InstanceId = i-1 "),
            Kind::Other
        );
    }

    #[test]
    fn typed_fields_of_an_sts_response() {
        // Public EKS line (2025); see `docs/authenticator-log.md#public-example-lines`.
        let e = event(
            r#"time="2025-12-24T19:52:38Z" level=info msg="STS response" accesskeyid=ASIA5PYP2AD2ANOSYXTN accountid=927209226484 arn="arn:aws:sts::927209226484:assumed-role/AWSWesleyClusterManagerLambda-NodeManagerRole-1W15HHFYBJTFL/EKSAuthTokenSession" client="127.0.0.1:38940" method=POST path=/authenticate session=EKSAuthTokenSession stsendpoint=sts.us-east-1.amazonaws.com userid=AROA5PYP2AD2O47IG7477"#,
        );
        assert_eq!(e.kind, Kind::StsResponse);
        assert_eq!(e.time_ms, Some(1_766_605_958_000));
        assert_eq!(e.session().as_deref(), Some("EKSAuthTokenSession"));
        assert_eq!(e.userid().as_deref(), Some("AROA5PYP2AD2O47IG7477"));
        assert_eq!(e.accesskeyid().as_deref(), Some("ASIA5PYP2AD2ANOSYXTN"));
        assert_eq!(e.accountid().as_deref(), Some("927209226484"));
        assert_eq!(
            e.sts_endpoint().as_deref(),
            Some("sts.us-east-1.amazonaws.com")
        );
        assert_eq!(e.client().as_deref(), Some("127.0.0.1:38940"));
    }

    #[test]
    fn typed_fields_of_a_grant() {
        let e = event(
            r#"time="2021-08-11T10:09:43Z" level=info msg="access granted" arn="arn:aws:iam::12345678910:user/awscli" client="127.0.0.1:51326" groups="[system:masters]" method=POST path=/authenticate sts=sts.eu-west-1.amazonaws.com uid="heptio-authenticator-aws:12345678910:ABCDEFGHIJKLMNOP" username=kubernetes-admin"#,
        );
        assert_eq!(e.kind, Kind::AccessGranted);
        assert_eq!(e.groups(), ["system:masters"]);
        assert_eq!(
            e.sts_endpoint().as_deref(),
            Some("sts.eu-west-1.amazonaws.com")
        );
        let uid = Uid::parse(e.uid_raw().unwrap()).unwrap();
        assert_eq!(
            uid,
            Uid {
                prefix: "heptio-authenticator-aws",
                account: "12345678910",
                principal_id: "ABCDEFGHIJKLMNOP"
            }
        );
    }

    #[test]
    fn groups_split_on_single_spaces() {
        assert_eq!(
            split_groups("[system:bootstrappers system:nodes]").collect::<Vec<_>>(),
            ["system:bootstrappers", "system:nodes"]
        );
        assert_eq!(split_groups("[]").count(), 0);
    }

    #[test]
    fn time_falls_back_to_the_envelope_then_the_prefix() {
        let line = br#"level=info msg="mapping IAM role" role="arn:aws:iam::111122223333:role/Admin" username=kubernetes-admin"#;
        let env = Envelope {
            timestamp_ms: Some(1_768_469_400_042),
            ..Envelope::default()
        };
        let e = Event::parse(
            line,
            env,
            Loc {
                input: "t",
                line: 1,
            },
        )
        .unwrap();
        assert_eq!(e.time_ms, Some(1_768_469_400_042));
        assert!(!e.time_rejected);
        assert_eq!(
            e.mapping_arn().as_deref(),
            Some("arn:aws:iam::111122223333:role/Admin")
        );
        let e = event(r#"2026-01-15 09:30:00.250 level=info msg="access granted" username=x"#);
        assert_eq!(e.time_ms, Some(1_768_469_400_250));
        let e = event(r#"2026-01-15T09:30:00Z level=info msg=x"#);
        assert_eq!(e.time_ms, Some(1_768_469_400_000));
    }
}
