//! eks-authlog's AWS sources: the only crate of the workspace that links the AWS SDK.
//!
//! CloudWatch Logs Insights ([`cloudwatch`]): the queries of `queries/` run
//! over `/aws/eks/<cluster>/cluster` log groups, and their rows reach the core's analysis as
//! lines (through a [`LineSink`](eks_authlog_core::source::LineSink)) or as aggregates
//! ([`Aggregate`](eks_authlog_core::evidence::Aggregate)). [`fetch`] runs a whole job: every
//! region, its log groups, the strategy, and Ctrl-C. The EKS API ([`eks`]): the cluster's
//! authentication mode and access entries, read live for the access inventory and diagnoses.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cloudwatch;
pub mod eks;
pub mod fleet;
mod job;
pub mod org;
mod sdk;

pub use job::{AuditPass, CloudWatchJob, StrategyChoice, fetch, fetch_audit};
