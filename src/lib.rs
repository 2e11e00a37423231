//! The `eks-authlog` command line: validated settings ([`config`]), one run of a job
//! ([`run`]), exit codes ([`exit`]). It joins the workspace's layers: `eks-authlog-core`
//! reads, analyses and renders; `eks-authlog-aws` (feature `cloudwatch`) fetches from AWS.
//! Argument parsing (clap) stays in the binary, and only the binary writes to stderr.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
#[cfg(feature = "cloudwatch")]
pub mod cloudwatch;
pub mod config;
pub mod creator;
pub mod error;
pub mod exit;
pub mod explain;
#[cfg(feature = "cloudwatch")]
pub mod fleet;
pub mod live;
pub mod run;

pub use error::{Error, Result};
