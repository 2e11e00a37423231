//! `eks-authlog access`: read the cluster's access configuration from files (and live, with
//! `--cluster`: [`crate::live`]) and print its inventory and findings, joined with the logs
//! given. The reading, findings, usage join and rendering are the core's
//! (`eks_authlog_core::access`); this module only joins them to the command line.

use std::io::Write;

use eks_authlog_core::access::{AccessConfig, ConfigFormat, FindingKind, inventory};
use eks_authlog_core::analysis;
use eks_authlog_core::pipeline::{self, Job};
use eks_authlog_core::report::Format;
use eks_authlog_core::report::diagnoses::log_use;
use eks_authlog_core::source::{Input, InputFormat};

use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::live::LiveAccess;

/// What `access` reads and writes.
#[derive(Clone, Debug)]
pub struct AccessJob {
    /// Access-configuration files (`-` is stdin).
    pub files: Vec<String>,
    /// Their kind, or detection.
    pub config_format: ConfigFormat,
    /// Authenticator log files to join.
    pub logs: Vec<String>,
    /// Output format.
    pub format: Format,
    /// `--fail-on`: finding kinds, severities or `any`.
    pub fail_on: Vec<String>,
    /// `--cluster`: read the configuration live as well.
    pub live: Option<LiveAccess>,
}

/// How `access` ended.
#[derive(Debug)]
pub struct AccessOutcome {
    /// One line for stderr.
    pub summary: String,
    /// Warnings for stderr.
    pub warnings: Vec<String>,
    /// `Findings` when `--fail-on` matched.
    pub exit: Exit,
}

/// Reads the job's files and writes the inventory to `out` as a table, the
/// `eks-authlog.access/v1` JSON document (a snapshot), or `eks-authlog.finding/v1` lines.
pub fn run<W: Write>(job: &AccessJob, mut out: W) -> Result<AccessOutcome> {
    let mut cfg = AccessConfig::from_paths_as(&job.files, job.config_format)
        .map_err(eks_authlog_core::Error::from)?;
    if let Some(live) = &job.live {
        read_live(live, &mut cfg)?;
    }
    let mut warnings = Vec::new();
    let mut inv = inventory(&cfg);
    if !job.logs.is_empty() {
        let logs = Job {
            inputs: job.logs.iter().map(|p| Input::from_arg(p)).collect(),
            format: InputFormat::Auto,
            options: analysis::Options {
                include_internal: true,
                ..analysis::Options::default()
            },
            ..Job::default()
        };
        let (report, _) = pipeline::report(&logs)?;
        if report.events.parsed == 0 {
            warnings.push(format!(
                "no authenticator event in {}: usage and never_used are not reported",
                job.logs.join(", ")
            ));
        }
        inv = inv.with_usage(&log_use(&report));
    }
    if let Some(live) = job.live.as_ref().filter(|l| l.iam) {
        match check_iam(live, &inv.principals()) {
            Ok(checks) => inv = inv.with_iam(&checks),
            Err(e) => warnings.push(format!(
                "IAM not asked ({e}): principal_not_found and principal_recreated are not reported"
            )),
        }
    }
    match job.format {
        Format::Table => inv.write_table(&mut out),
        Format::Ndjson => inv.write_ndjson(&mut out),
        Format::Json => inv.write_json(&mut out),
    }
    .and_then(|()| out.flush())
    .map_err(Error::output)?;
    let hit = inv
        .findings
        .iter()
        .any(|f| job.fail_on.iter().any(|name| fails_on(name, f.kind)));
    if !job.fail_on.is_empty() && inv.findings.is_empty() && cfg.documents.is_empty() {
        warnings.push("--fail-on: nothing was read".to_owned());
    }
    Ok(AccessOutcome {
        summary: format!(
            "{} aws-auth mapping(s), {} access entr(y/ies), {} finding(s)",
            inv.mappings.len() + inv.accounts.len(),
            inv.access_entries.len(),
            inv.findings.len()
        ),
        warnings,
        exit: if hit { Exit::Findings } else { Exit::Success },
    })
}

/// Whether `--fail-on NAME` matches a finding of `kind` (the rule `fleet` shares:
/// [`eks_authlog_core::finding::fails_on`]).
fn fails_on(name: &str, kind: FindingKind) -> bool {
    eks_authlog_core::finding::fails_on(name, kind.name(), None, kind.severity())
}

/// The live read for `access`: an EKS read that gets nothing fails the command (exit 2).
#[cfg(feature = "cloudwatch")]
fn read_live(live: &LiveAccess, cfg: &mut AccessConfig) -> Result<()> {
    crate::live::read(live, cfg, false)?;
    Ok(())
}

/// IAM's answer for each principal (`GetRole` / `GetUser`, through `eks-authlog-aws`).
#[cfg(feature = "cloudwatch")]
fn check_iam(
    live: &LiveAccess,
    arns: &[String],
) -> Result<Vec<eks_authlog_core::access::IamCheck>> {
    let opts = eks_authlog_aws::cloudwatch::ClientOptions {
        region: live.region.clone(),
        profile: live.profile.clone(),
        ..Default::default()
    };
    Ok(eks_authlog_aws::iam::check_blocking(arns, &opts)?.checks)
}

#[cfg(not(feature = "cloudwatch"))]
fn check_iam(_: &LiveAccess, _: &[String]) -> Result<Vec<eks_authlog_core::access::IamCheck>> {
    Ok(Vec::new())
}

#[cfg(not(feature = "cloudwatch"))]
fn read_live(_: &LiveAccess, _: &mut AccessConfig) -> Result<()> {
    Err(eks_authlog_core::Error::Usage(
        "this eks-authlog was built without AWS support (feature `cloudwatch`): --cluster \
         cannot read the access configuration live; give files"
            .to_owned(),
    )
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_matches_kinds_severities_at_or_above_and_any() {
        assert!(fails_on("any", FindingKind::GroupWhitespace));
        assert!(fails_on("never_used", FindingKind::NeverUsed));
        assert!(!fails_on("never_used", FindingKind::AdminMapping));
        assert!(fails_on("medium", FindingKind::AdminMapping));
        assert!(fails_on("medium", FindingKind::NeverUsed));
        assert!(!fails_on("medium", FindingKind::GroupWhitespace));
        assert!(!fails_on("high", FindingKind::NeverUsed));
        assert!(fails_on("low", FindingKind::GroupWhitespace));
    }
}
