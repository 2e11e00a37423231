//! The core's error: one variant per layer, each carrying what a user needs.

use crate::source;

/// Anything that stops a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading an input failed.
    #[error(transparent)]
    Source(#[from] source::Error),
    /// Writing output failed (a broken pipe is handled by the binary, not reported).
    #[error("writing output failed")]
    Output(#[source] std::io::Error),
    /// `--strict` and some lines did not parse.
    #[error("{unparsed} line(s) could not be parsed (--strict); first: {first}")]
    Strict {
        /// How many lines did not parse.
        unparsed: u64,
        /// Where the first one was, and why.
        first: String,
    },
    /// `--strict` and a saved `get-query-results` input whose query had not completed.
    #[error(
        "{input}: the saved query's status is {status}, not Complete, so its rows may be partial (--strict)"
    )]
    StrictIncomplete {
        /// The input.
        input: String,
        /// Its `status` (`Running`, `Failed`, `Timeout`…).
        status: &'static str,
    },
    /// Lines were read from an input but not one parsed as an authenticator line.
    #[error(
        "{input}: no authenticator line could be read ({unparsed} unparsed: {reasons}); \
         is this an aws-iam-authenticator log? (a binary file, another program's log, or a \
         shape that --input-format names)"
    )]
    NothingParsed {
        /// Input name.
        input: String,
        /// Lines that did not parse.
        unparsed: u64,
        /// Their reasons with counts (`invalid_utf8 40552, not_logfmt 175`).
        reasons: String,
    },
    /// An access-configuration file (`access`, `--access-config`) could not be read.
    #[error(transparent)]
    Access(#[from] crate::access::ReadError),
    /// `fleet --state FILE` could not be read or written.
    #[error(transparent)]
    FleetState(#[from] crate::fleet::state::StateError),
    /// A bad argument value that clap cannot check (a time range, a filter).
    #[error("{0}")]
    Usage(String),
}

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its causes joined with `: ` (as `{:#}` prints them in anyhow): the one-line
/// form the CLI's messages and the fleet's skipped-target reasons both use.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod chain_tests {
    use super::{Error, chain};

    #[test]
    fn chain_joins_each_cause_in_order() {
        let inner = std::io::Error::other("connection refused");
        let outer = Error::Output(inner);
        assert_eq!(chain(&outer), "writing output failed: connection refused");
    }
}
