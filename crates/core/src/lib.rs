//! eks-authlog's core: EKS authentication forensics without any AWS SDK.
//!
//! The crate reads aws-iam-authenticator log lines from local inputs (files, stdin, any
//! reader; the `eks-authlog-aws` crate feeds it lines from CloudWatch Logs Insights), parses
//! them with a zero-copy logfmt parser, classifies every failure, finds the cluster creator
//! and renders reports. Data flows one way, and no module imports from one to its right:
//! `source` → `parse` → `classify` → `analysis` → `report` → `pipeline`.
//! The analysis takes typed [`evidence`] and its accumulators [`merge`] in input order, so
//! the thread engines (which know only `source` and `merge`) run it on any number of threads
//! with the same result.
//!
//! Parsing one line and classifying its failure:
//!
//! ```
//! use eks_authlog_core::classify::{Class, classify_denial};
//! use eks_authlog_core::event::{Event, Kind};
//! use eks_authlog_core::source::{Envelope, Loc};
//!
//! let line = br#"time="2022-12-28T15:37:19Z" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/admin-test-role" client="127.0.0.1:33384" error="ARN is not mapped" method=POST path=/authenticate"#;
//! let event = Event::parse(line, Envelope::default(), Loc { input: "example", line: 1 }).unwrap();
//! assert_eq!(event.kind, Kind::AccessDenied);
//! assert_eq!(event.arn().as_deref(), Some("arn:aws:iam::111122223333:role/admin-test-role"));
//! let error = event.error().unwrap();
//! let denial = classify_denial(&error);
//! assert_eq!(denial.class, Class::IdentityNotMapped);
//! assert_eq!(denial.class.fixer().as_str(), "cluster_admin");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod accounting;
pub mod analysis;
pub mod audit;
mod bytes;
pub mod classify;
pub mod cloudtrail;
mod engine;
pub mod error;
pub mod event;
pub mod evidence;
pub mod finding;
pub mod fleet;
pub mod merge;
pub mod parse;
pub mod pipeline;
pub mod queries;
pub mod report;
pub mod secrets;
pub mod source;
pub mod time;

pub use error::{Error, Result};
