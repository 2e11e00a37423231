//! `eks-authlog fleet`: the audit of every cluster of many accounts and regions, for scheduled
//! jobs. The AWS crate fetches and analyses ([`eks_authlog_aws::fleet`]); the core renders
//! ([`eks_authlog_core::fleet`]); this module reads the account list and the state file,
//! writes the output, and picks the exit code.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use eks_authlog_aws::fleet::{FleetJob, FleetOutcome};
use eks_authlog_core::fleet::state::State;
use eks_authlog_core::fleet::{self as core_fleet, FleetDocument, TargetStatus, Tool, Totals};
use eks_authlog_core::report::Format;

use crate::error::{Error, Result};
use crate::exit::Exit;

/// What `fleet` runs and writes.
#[derive(Clone, Debug)]
pub struct FleetCommand {
    /// The fetch.
    pub job: FleetJob,
    /// Output format.
    pub format: Format,
    /// Table width.
    pub width: u16,
    /// `--fail-on`: finding kinds, families, severities or `any`.
    pub fail_on: Vec<String>,
    /// No progress on stderr.
    pub quiet: bool,
}

/// How `fleet` ended.
#[derive(Debug)]
pub struct FleetEnd {
    /// One line for stderr.
    pub summary: String,
    /// Warnings for stderr.
    pub warnings: Vec<String>,
    /// The exit code.
    pub exit: Exit,
}

/// Runs the audit and writes its output to `out`. NDJSON streams: each completed window's
/// findings are written and flushed before the state file moves past the window. A document
/// or table is written at the end, and the state saved after it. A signal or the deadline
/// still writes what completed, then fails (exit 130, 143 or 2).
pub fn run<W: Write>(cmd: &FleetCommand, mut out: W) -> Result<FleetEnd> {
    // Held until the run returns: a second run on the same file fails here, before it reads
    // the state or spends anything.
    let _lock = match &cmd.job.state {
        Some(p) => {
            Some(eks_authlog_core::fleet::state::lock(p).map_err(eks_authlog_core::Error::from)?)
        }
        None => None,
    };
    let state = match &cmd.job.state {
        Some(p) => State::load(p).map_err(eks_authlog_core::Error::from)?,
        None => State::default(),
    };
    let progress = Arc::new(crate::cloudwatch::StderrProgress::new(cmd.quiet));
    let streaming = cmd.format == Format::Ndjson;
    let mut write_lines = |f: &[core_fleet::FleetFinding]| {
        core_fleet::write_ndjson(&mut out, f).and_then(|()| out.flush())
    };
    let stream: Option<eks_authlog_aws::fleet::Stream<'_>> =
        streaming.then_some(&mut write_lines as _);
    let outcome = eks_authlog_aws::fleet::run(&cmd.job, state, progress, stream)?;
    match outcome.output_error {
        Some(eks_authlog_aws::fleet::OutputError::Write(e)) => return Err(Error::output(e)),
        Some(eks_authlog_aws::fleet::OutputError::State(e)) => {
            return Err(eks_authlog_core::Error::from(e).into());
        }
        None => {}
    }
    let totals = Totals::of(
        &outcome.targets,
        outcome.findings.len(),
        outcome.sts_assume_role,
        outcome.elapsed_ms,
    );
    if !streaming {
        write(cmd, &outcome, &totals, &mut out)
            .and_then(|()| out.flush())
            .map_err(Error::output)?;
        if let Some(path) = &cmd.job.state {
            outcome
                .state
                .save(path)
                .map_err(eks_authlog_core::Error::from)?;
        }
    }
    if let Some(stop) = outcome.stopped {
        return Err(stop.into());
    }
    let hit = outcome
        .findings
        .iter()
        .any(|f| cmd.fail_on.iter().any(|n| core_fleet::fails_on(n, f)));
    let warnings = outcome
        .targets
        .iter()
        .filter(|t| t.status == TargetStatus::Skipped)
        .map(|t| {
            format!(
                "{} {} skipped: {}",
                t.account,
                t.region,
                t.reason.as_deref().unwrap_or("")
            )
        })
        .collect();
    Ok(FleetEnd {
        summary: format!(
            "fleet: {} of {} targets audited, {} clusters, {} findings, {} API calls ({} STS), {:.1} MB scanned, {:.1}s",
            totals.targets - totals.skipped,
            totals.targets,
            totals.clusters,
            totals.findings,
            totals.api_calls,
            totals.sts_assume_role,
            totals.bytes_scanned / 1e6,
            totals.elapsed_ms as f64 / 1000.0
        ),
        warnings,
        exit: if outcome.over_budget {
            Exit::OverBudget
        } else if totals.skipped > 0 {
            Exit::Partial
        } else if hit {
            Exit::Findings
        } else {
            Exit::Success
        },
    })
}

fn write<W: Write>(
    cmd: &FleetCommand,
    outcome: &FleetOutcome,
    totals: &Totals,
    out: &mut W,
) -> std::io::Result<()> {
    match cmd.format {
        Format::Ndjson => core_fleet::write_ndjson(out, &outcome.findings),
        Format::Json => core_fleet::write_json(
            out,
            &FleetDocument {
                schema: core_fleet::SCHEMA,
                tool: Tool {
                    name: env!("CARGO_PKG_NAME"),
                    version: env!("CARGO_PKG_VERSION"),
                },
                end: eks_authlog_core::time::format_ms(cmd.job.end_ms),
                monitoring_account: cmd.job.monitoring_account.as_deref(),
                targets: &outcome.targets,
                findings: &outcome.findings,
                totals: totals.clone(),
            },
        ),
        Format::Table => {
            core_fleet::write_table(out, &outcome.targets, &outcome.findings, totals, cmd.width)
        }
    }
}

/// Reads `--accounts`: a comma-separated list of 12-digit account ids, or a file with one per
/// line (`#` starts a comment; anything after the id on a line, such as a name, is ignored).
pub fn read_accounts(value: &str) -> std::result::Result<Vec<String>, String> {
    let is_id = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    let listed: Vec<&str> = value.split(',').map(str::trim).collect();
    if listed.iter().all(|s| is_id(s)) {
        return Ok(listed.into_iter().map(str::to_owned).collect());
    }
    let path = Path::new(value);
    if !path.exists() && value.contains(',') {
        let bad = listed.iter().find(|s| !is_id(s)).unwrap_or(&"");
        return Err(format!(
            "--accounts: `{bad}` is not a 12-digit account id (give ids separated by commas, or a file with one per line)"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "--accounts {value}: neither a list of 12-digit account ids nor a readable file ({e})"
        )
    })?;
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(first) = line.split(|c: char| c == ',' || c.is_whitespace()).next() else {
            continue;
        };
        if first.is_empty() {
            continue;
        }
        if !is_id(first) {
            return Err(format!(
                "--accounts {value} line {}: `{first}` is not a 12-digit account id",
                n + 1
            ));
        }
        if !ids.iter().any(|i| i == first) {
            ids.push(first.to_owned());
        }
    }
    if ids.is_empty() {
        return Err(format!("--accounts {value}: no account id in the file"));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_from_a_list_or_a_file() {
        assert_eq!(
            read_accounts("111122223333, 444455556666").unwrap(),
            ["111122223333", "444455556666"]
        );
        let e = read_accounts("111122223333,12").unwrap_err();
        assert!(e.contains("`12` is not a 12-digit"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("accounts.txt");
        std::fs::write(
            &f,
            "# prod\n111122223333 prod-main\n\n444455556666,staging # comment\n111122223333\n",
        )
        .unwrap();
        let p = f.to_str().unwrap();
        assert_eq!(read_accounts(p).unwrap(), ["111122223333", "444455556666"]);
        std::fs::write(&f, "111122223333\nabc\n").unwrap();
        let e = read_accounts(p).unwrap_err();
        assert!(e.contains("line 2") && e.contains("`abc`"), "{e}");
        let e = read_accounts("/nonexistent/accounts").unwrap_err();
        assert!(e.contains("neither a list"), "{e}");
    }
}
