//! eks-authlog: EKS authentication forensics.
//!
//! The library reads aws-iam-authenticator log lines (from files, stdin or CloudWatch Logs
//! Insights), parses them with a zero-copy logfmt parser, classifies every failure, finds the
//! cluster creator and renders reports. Data flows one way:
//! `source` → `parse` → `classify` → `report`.
//!
//! Parsing one line and classifying its failure:
//!
//! ```
//! use eks_authlog::classify::{Class, classify_denial};
//! use eks_authlog::event::{Event, Kind};
//! use eks_authlog::source::{Envelope, Loc};
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

pub mod accounting;
pub mod analysis;
mod bytes;
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
pub mod time;

#[cfg(test)]
mod testutil;

pub use error::{Error, Result};
