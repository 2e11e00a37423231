//! What the analysis takes: typed evidence from any source, not lines.
//!
//! Today that is authenticator events (parsed from lines by `pipeline::Feed`), kube-apiserver
//! audit events (a record whose message is `audit.k8s.io` JSON), lines that did not parse,
//! and grants or denials Logs Insights aggregated server-side. A new kind of evidence
//! (access-configuration snapshots, CloudTrail events) is a variant here, a reader that
//! produces it, and an accumulator in the analysis that takes it.

use crate::audit::{AuditEvent, ForbiddenAggregate, IdentityAggregate};
use crate::cloudtrail;
use crate::event::Event;
use crate::parse::ParseError;

/// One piece of evidence for [`Analyzer::add`](crate::analysis::Analyzer::add), borrowed for
/// `'e` from data that lives for `'a` (an [`Event`] is invariant in its lifetime).
#[derive(Clone, Copy, Debug)]
pub enum Evidence<'e, 'a> {
    /// A parsed authenticator log line.
    Event(&'e Event<'a>),
    /// A kube-apiserver audit event (`audit.k8s.io/v1`).
    Audit(&'e AuditEvent<'a>),
    /// Grants or denials a source has already aggregated.
    Aggregate(&'e Aggregate<'a>),
    /// Audit authorization denials a source has already aggregated (`audit-forbidden`).
    AuditForbidden(&'e ForbiddenAggregate<'a>),
    /// Successful audit requests of one principal a source has already aggregated
    /// (`audit-identities`).
    AuditIdentity(&'e IdentityAggregate<'a>),
    /// A CloudTrail event (creator evidence when it is EKS's CreateCluster).
    CloudTrail {
        /// What the event says about the creator.
        record: &'e cloudtrail::Record,
        /// The input's name.
        input: &'e str,
        /// Its record number.
        line: u64,
    },
    /// A line that did not parse.
    Unparsed {
        /// Why, and the byte of the line where parsing gave up.
        error: ParseError,
        /// The input's name.
        input: &'e str,
        /// Its line number.
        line: u64,
    },
}

/// `count` grants or denials that Logs Insights aggregated server-side (strategy
/// `aggregate`): the same identity and error, with the first and last time seen.
#[derive(Clone, Copy, Debug, Default)]
pub struct Aggregate<'a> {
    /// Grants (`true`) or denials.
    pub granted: bool,
    /// `arn=`.
    pub arn: Option<&'a str>,
    /// `username=` (grants).
    pub username: Option<&'a str>,
    /// `error=` (denials), possibly cut before an STS body.
    pub error: Option<&'a str>,
    /// The STS error code found in the body, when the error was cut before it.
    pub sts_code: Option<&'a str>,
    /// How many lines.
    pub count: u64,
    /// First time seen (epoch ms).
    pub first_ms: Option<i64>,
    /// Last time seen (epoch ms).
    pub last_ms: Option<i64>,
}
