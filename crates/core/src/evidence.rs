//! Evidence beside the log lines: facts a source has already summarised, which the analysis
//! takes as they are.

/// `count` grants or denials that Logs Insights aggregated server-side (strategy
/// `aggregate`): the same identity and error, with the first and last time seen.
#[derive(Clone, Copy, Debug, Default)]
pub struct Aggregate<'a> {
    /// Grants (`true`) or denials.
    pub granted: bool,
    /// `arn=`.
    pub arn: Option<&'a str>,
    /// `username=` (grants).
    pub username: Option<&'a str>,
    /// `error=` (denials), possibly cut before an STS body.
    pub error: Option<&'a str>,
    /// The STS error code found in the body, when the error was cut before it.
    pub sts_code: Option<&'a str>,
    /// How many lines.
    pub count: u64,
    /// First time seen (epoch ms).
    pub first_ms: Option<i64>,
    /// Last time seen (epoch ms).
    pub last_ms: Option<i64>,
}
