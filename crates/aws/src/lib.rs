//! eks-authlog's AWS sources: the only crate of the workspace that links the AWS SDK.
//!
//! CloudWatch Logs Insights ([`cloudwatch`]): the queries of `queries/` run
//! over `/aws/eks/<cluster>/cluster` log groups, and their rows reach the core's analysis as
//! lines (through a [`LineSink`](eks_authlog_core::source::LineSink)) or as aggregates
//! ([`Aggregate`](eks_authlog_core::evidence::Aggregate)). [`fetch`] runs a whole job: every
//! region, its log groups, the strategy, and Ctrl-C. The EKS API ([`eks`]): the cluster's
//! authentication mode and access entries, read live for the access inventory and diagnoses.
//! For the cluster creator: CloudTrail's Event history ([`cloudtrail`], the CreateCluster
//! calls) and IAM ([`iam`], whether a principal still exists).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cloudtrail;
pub mod cloudwatch;
pub mod eks;
pub mod fleet;
pub mod iam;
mod job;
pub mod org;
mod retry;
mod sdk;

pub use job::{
    AuditPass, CloudWatchJob, StrategyChoice, TrailGroup, TrailJob, fetch, fetch_audit, fetch_trail,
};
