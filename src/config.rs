//! Validated, clap-free settings for a run, and the parsing of values clap cannot check
//! (times) or checks by name only (`--fail-on`, `--class`: the CLI lists the names to clap
//! and parses the chosen one here).

use std::str::FromStr;

use eks_authlog_core::classify::{Class, Family};
use eks_authlog_core::error::{Error, Result};
use eks_authlog_core::pipeline::Job;
use eks_authlog_core::report::{Format, TableStyle};
use eks_authlog_core::time::{RFC3339_FIRST_MS, RFC3339_LAST_MS, parse_timestamp_ms};

/// Which job to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Everything: creator, failures, timeline, principals.
    Report,
    /// The creator section.
    Creator,
    /// Failures with remedies and timeline.
    Failures,
    /// One record per event.
    Events,
}

/// What `--fail-on` matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// Any failure.
    Any,
    /// One class.
    Class(Class),
    /// Every class of a family.
    Family(Family),
}

impl FromStr for FailOn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "any" {
            return Ok(FailOn::Any);
        }
        match ClassOrFamily::from_str(s)? {
            ClassOrFamily::Class(c) => Ok(FailOn::Class(c)),
            ClassOrFamily::Family(f) => Ok(FailOn::Family(f)),
        }
    }
}

impl FailOn {
    /// Whether failures of `class` match.
    pub fn matches(self, class: Class) -> bool {
        match self {
            FailOn::Any => true,
            FailOn::Class(c) => c == class,
            FailOn::Family(f) => class.family() == f,
        }
    }
}

/// A `--class` value: a class or a family name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassOrFamily {
    /// A class.
    Class(Class),
    /// A family.
    Family(Family),
}

impl FromStr for ClassOrFamily {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(c) = Class::from_str(s) {
            return Ok(ClassOrFamily::Class(c));
        }
        if let Ok(f) = Family::from_str(s) {
            return Ok(ClassOrFamily::Family(f));
        }
        Err(format!(
            "unknown class or family '{s}' (see `eks-authlog classes`)"
        ))
    }
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The job.
    pub command: Command,
    /// What to read and how to analyse it.
    pub job: Job,
    /// Read from CloudWatch Logs Insights instead of the job's inputs.
    #[cfg(feature = "cloudwatch")]
    pub cloudwatch: Option<eks_authlog_aws::CloudWatchJob>,
    /// Output format.
    pub format: Format,
    /// Table width and colour.
    pub table: TableStyle,
    /// Replace identifiers with pseudonyms.
    pub redact: bool,
    /// Key for redaction pseudonyms.
    pub redact_key: Vec<u8>,
    /// Exit 1 when these match.
    pub fail_on: Vec<FailOn>,
    /// No summary on stderr.
    pub quiet: bool,
    /// Access-configuration files whose diagnoses are attached to not-mapped principals.
    pub access_config: Vec<String>,
    /// Also read the access configuration live (report, creator and failures over
    /// CloudWatch).
    pub live_access: Option<crate::live::LiveAccess>,
    /// `--audit`: the audit queries a CloudWatch run adds after the authenticator pass.
    pub audit: AuditQueries,
    /// `creator --cluster`: CloudTrail and IAM join the answer.
    pub creator_live: Option<crate::creator::CreatorLive>,
}

/// `--audit`: which kube-apiserver audit queries a CloudWatch `report`, `creator` or
/// `failures` runs after the authenticator pass. Audit streams are the largest of the log
/// group, so each is opt-in but the first, which only looks at the seconds around the
/// denials that need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditQueries {
    /// `audit-unauthorized` over the windows around the denials without identity (default).
    pub unauthorized: bool,
    /// `audit-forbidden` over the whole window: authorization denials, explained.
    pub forbidden: bool,
    /// `audit-identities` over the whole window: the identity map of successful requests.
    pub identities: bool,
}

impl Default for AuditQueries {
    fn default() -> Self {
        AuditQueries {
            unauthorized: true,
            forbidden: false,
            identities: false,
        }
    }
}

/// Parses a `--since`/`--until` value relative to `now_ms`: a duration ago (`15m`, `24h`,
/// `7d`, `2w`, `90s`), an RFC 3339 time, or a date (`2026-01-15`, midnight UTC).
pub fn parse_time(s: &str, now_ms: i64) -> Result<i64> {
    let s = s.trim();
    // A bare number is ambiguous (seconds? milliseconds? a duration without its unit?).
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_time(s));
    }
    if let Some(t) = parse_timestamp_ms(s) {
        return Ok(t);
    }
    if s.len() == 10
        && let Some(t) = parse_timestamp_ms(&format!("{s}T00:00:00Z"))
    {
        return Ok(t);
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad_time(s))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(bad_time(s)),
    };
    n.checked_mul(unit_ms)
        .and_then(|d| now_ms.checked_sub(d))
        // Years 0000 to 9999 only: the report writes the window as RFC 3339.
        .filter(|t| (RFC3339_FIRST_MS..=RFC3339_LAST_MS).contains(t))
        .ok_or_else(|| bad_time(s))
}

fn bad_time(s: &str) -> Error {
    Error::Usage(format!(
        "cannot read time '{s}': use a duration ago (15m, 24h, 7d), an RFC 3339 time (2026-01-15T09:30:00Z) or a date (2026-01-15)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_768_469_400_000; // 2026-01-15T09:30:00Z

    #[test]
    fn times_read_durations_timestamps_and_dates() {
        assert_eq!(parse_time("15m", NOW).unwrap(), NOW - 900_000);
        assert_eq!(parse_time("24h", NOW).unwrap(), NOW - 86_400_000);
        assert_eq!(parse_time("7d", NOW).unwrap(), NOW - 7 * 86_400_000);
        assert_eq!(parse_time("2026-01-15T09:30:00Z", 0).unwrap(), NOW);
        assert_eq!(
            parse_time("2026-01-15", 0).unwrap(),
            NOW - (9 * 3600 + 1800) * 1000
        );
    }

    #[test]
    fn bad_times_say_what_is_accepted() {
        // The last two are years -273 million and -9382 (not writable as RFC 3339).
        let far = ["99999999999d", "100000000h"];
        for bad in ["", "yesterday", "15", "5y", "99999999999999999999d"]
            .into_iter()
            .chain(far)
        {
            let e = parse_time(bad, NOW).unwrap_err().to_string();
            assert!(e.contains("duration ago"), "{bad}: {e}");
        }
    }

    #[test]
    fn fail_on_reads_classes_families_and_any() {
        assert_eq!("any".parse::<FailOn>().unwrap(), FailOn::Any);
        assert_eq!(
            "identity_not_mapped".parse::<FailOn>().unwrap(),
            FailOn::Class(Class::IdentityNotMapped)
        );
        let fam = "sts".parse::<FailOn>().unwrap();
        assert!(fam.matches(Class::StsInvalidCredentials));
        assert!(!fam.matches(Class::IdentityNotMapped));
        assert!(
            "nonsense"
                .parse::<FailOn>()
                .unwrap_err()
                .contains("eks-authlog classes")
        );
    }
}
