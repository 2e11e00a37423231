//! Exit codes: one enum, documented in the README.

/// How the process ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The job ran (whatever it found, unless `--fail-on` says otherwise).
    Success,
    /// `--fail-on` matched failures in the report.
    Findings,
    /// Usage or input error, I/O error, AWS error, query failure.
    Error,
    /// The scan budget (`--max-scan-gb`) refused a query before it started: nothing more
    /// was spent. `--yes` lifts the budget.
    OverBudget,
    /// `fleet`: an account or region was skipped (its reason is in the output); the rest
    /// was audited and written.
    Partial,
    /// Interrupted (Ctrl-C); running queries were stopped first.
    Interrupted,
    /// Terminated (SIGTERM, as `timeout`, CI runners and Kubernetes send); running queries
    /// were stopped first.
    Terminated,
}

impl Exit {
    /// The numeric code.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Findings => 1,
            Exit::Error => 2,
            Exit::OverBudget => 3,
            Exit::Partial => 4,
            Exit::Interrupted => 130,
            Exit::Terminated => 143,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        assert_eq!(
            [
                Exit::Success,
                Exit::Findings,
                Exit::Error,
                Exit::OverBudget,
                Exit::Partial,
                Exit::Interrupted,
                Exit::Terminated
            ]
            .map(Exit::code),
            [0, 1, 2, 3, 4, 130, 143]
        );
    }
}
