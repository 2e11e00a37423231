//! Anything that stops a run: the core's errors, and the AWS sources' errors.

/// Anything that stops a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading, parsing or writing failed, or a value was unusable.
    #[error(transparent)]
    Core(#[from] eks_authlog_core::Error),
    /// CloudWatch Logs Insights failed (no credentials, missing log group, query failure…).
    #[cfg(feature = "cloudwatch")]
    #[error(transparent)]
    CloudWatch(#[from] eks_authlog_aws::cloudwatch::Error),
    /// The live EKS read got nothing (no credentials, no such cluster, endpoint unreachable).
    #[cfg(feature = "cloudwatch")]
    #[error(transparent)]
    Eks(#[from] eks_authlog_aws::eks::Error),
}

impl Error {
    /// Writing output failed.
    pub fn output(e: std::io::Error) -> Error {
        Error::Core(eks_authlog_core::Error::Output(e))
    }

    /// Writing output failed because the reader went away (`| head`): the reader's choice.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Core(eks_authlog_core::Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The run was interrupted (Ctrl-C or SIGTERM): the binary exits 130 or 143.
    pub fn is_interrupted(&self) -> bool {
        #[cfg(feature = "cloudwatch")]
        if let Error::CloudWatch(e) = self {
            return e.is_interrupted();
        }
        false
    }

    /// The scan budget refused a query: the binary exits 3.
    pub fn is_over_budget(&self) -> bool {
        #[cfg(feature = "cloudwatch")]
        if let Error::CloudWatch(eks_authlog_aws::cloudwatch::Error::Budget(_)) = self {
            return true;
        }
        false
    }

    /// The run was stopped by SIGTERM: the binary exits 143.
    pub fn is_terminated(&self) -> bool {
        #[cfg(feature = "cloudwatch")]
        if let Error::CloudWatch(e) = self {
            return e.is_terminated();
        }
        false
    }
}

/// Result alias for the command line.
pub type Result<T, E = Error> = std::result::Result<T, E>;
