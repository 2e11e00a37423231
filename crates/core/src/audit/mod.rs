//! The kube-apiserver audit stream: reading `audit.k8s.io/v1` events from a record's
//! message, and what they add to the report.
//!
//! EKS ships the audit log to the same log group as the authenticator's
//! (`kube-apiserver-audit-*` streams; EKS user guide, "Send control plane logs to CloudWatch
//! Logs"), one JSON event per log event. A record whose message starts with `{` is tried as
//! an audit event first ([`AuditEvent::parse`]); anything else, and JSON of other kinds, is
//! read as an authenticator line as before, so both streams can be mixed in one input.
//!
//! The audit log answers what the authenticator's cannot:
//!
//! * who sent the tokens it rejected without an identity (the 401s, [`join`]);
//! * which authorization denials (403 with `decision: forbid`) each user hit, and the
//!   access policy or Role that would allow them ([`fix`]);
//! * which IAM principal acted under which username, with which keys and unique ids, from
//!   the `user.extra` aws-iam-authenticator adds to every successful request.
//!
//! This module sits between `classify` and `analysis`: the analyzer owns an [`AuditAcc`] and
//! feeds it; nothing here looks at the analyzer.

mod acc;
pub mod event;
pub mod fix;
pub mod join;
pub mod output;

pub use acc::{
    ADMIN, AuditAcc, ForbiddenAggregate, IdentityAggregate, MAX_JOINED, format_us, joinable,
};
pub use event::{AuditEvent, may_be_audit};
pub use output::*;

#[cfg(test)]
mod tests;
