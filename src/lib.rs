//! eks-authlog: EKS authentication forensics.
//!
//! The library reads aws-iam-authenticator log lines (from files, stdin or CloudWatch Logs
//! Insights), parses them with a zero-copy logfmt parser, classifies every failure, finds the
//! cluster creator and renders reports. Data flows one way:
//! `source` → `parse` → `classify` → `report`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounting;
pub mod analysis;
pub mod classify;
pub mod config;
pub mod corpus;
pub mod error;
pub mod event;
pub mod exit;
pub mod parse;
pub mod pipeline;
pub mod queries;
#[cfg(feature = "cloudwatch")]
pub mod remote;
pub mod report;
pub mod run;
pub mod source;

pub use error::{Error, Result};
