//! eks-authlog: EKS authentication forensics.
//!
//! The library reads aws-iam-authenticator log lines (from files, stdin or CloudWatch Logs
//! Insights), parses them with a zero-copy logfmt parser, classifies every failure, finds the
//! cluster creator and renders reports. Data flows one way:
//! `source` → `parse` → `classify` → `report`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod queries;
pub mod source;
