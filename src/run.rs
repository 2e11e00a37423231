//! One run: do the configured job and render its result.

use std::io::Write;

use eks_authlog_core::access::AccessConfig;
use eks_authlog_core::analysis::Report;
use eks_authlog_core::classify::Class;
use eks_authlog_core::pipeline;
use eks_authlog_core::report::redact::Redactor;
use eks_authlog_core::report::source::{InputSummary, Sources};
use eks_authlog_core::report::table::View;
use eks_authlog_core::report::{Format, document, stream::EventWriter, table};

use crate::config::{Command, Config, FailOn};
use crate::error::{Error, Result};
use crate::exit::Exit;

/// How a run ended, for the binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The exit code to use.
    pub exit: Exit,
    /// One line accounting for every line read, for stderr.
    pub summary: String,
    /// Warnings for stderr (printed even under `--quiet`).
    pub warnings: Vec<String>,
}

/// Runs the job and writes its output to `out`.
///
/// With `--redact`, every value is redacted by field before it is serialised or laid out in a
/// table (see [`Redactor`]); the rendered output is never rewritten.
pub fn run<W: Write>(config: &Config, mut out: W) -> Result<Outcome> {
    let redactor = config.redact.then(|| Redactor::new(&config.redact_key));
    let (report, inputs) = match (config.command, config.format) {
        (Command::Events, _) | (_, Format::Ndjson) => {
            let mut writer = EventWriter::new(config.format, &mut out, config.table);
            if let Some(r) = &redactor {
                writer = writer.redacting(r.clone());
            }
            let (report, inputs) = events(config, &mut writer)?;
            writer.finish().map_err(Error::output)?;
            check_complete(config, &inputs)?;
            (report, inputs)
        }
        (command, format) => {
            let (mut report, mut sources, refused) = report(config)?;
            if let Some(r) = &redactor {
                r.report(&mut report);
                r.sources(&mut sources);
            }
            let inputs = &sources.inputs;
            let written = if format == Format::Json {
                document::write(&mut out, &report, inputs, sources.cloudwatch.as_deref())
            } else {
                let view = match command {
                    Command::Creator => View::Creator,
                    Command::Failures => View::Failures,
                    _ => View::Report,
                };
                table::write(
                    &mut out,
                    &report,
                    inputs,
                    sources.cloudwatch.as_deref(),
                    view,
                    config.table,
                )
            };
            written.and_then(|()| out.flush()).map_err(Error::output)?;
            // A budget refusal of the audit pass, and `--strict`, fail the run only once the
            // report of what was fetched is out.
            if let Some(e) = refused {
                return Err(e);
            }
            if config.job.strict {
                report.events.check_strict()?;
            }
            check_complete(config, &sources.inputs)?;
            (report, sources.inputs)
        }
    };
    Ok(Outcome {
        exit: exit_for(config, &report),
        summary: report.events.summary(),
        warnings: warnings(config, &report, &inputs),
    })
}

/// `--strict` fails (once the output is written) on a saved `get-query-results` whose query
/// had not completed: its rows are part of the answer at best.
fn check_complete(config: &Config, inputs: &[InputSummary]) -> Result<()> {
    if !config.job.strict {
        return Ok(());
    }
    match inputs.iter().find_map(|i| Some((i, i.incomplete_query()?))) {
        Some((input, status)) => Err(eks_authlog_core::Error::StrictIncomplete {
            input: input.name.clone(),
            status,
        }
        .into()),
        None => Ok(()),
    }
}

/// What stderr should say besides the summary: a saved query that had not completed, and
/// `--fail-on` that had nothing to check.
fn warnings(config: &Config, report: &Report, inputs: &[InputSummary]) -> Vec<String> {
    let mut w = Vec::new();
    for input in inputs {
        if let Some(status) = input.incomplete_query() {
            w.push(format!(
                "{}: the saved query's status is {status}, not Complete: its rows may be partial \
                 (save get-query-results again once the query is Complete)",
                input.name
            ));
        }
    }
    if !config.fail_on.is_empty() && report.events.parsed == 0 {
        w.push(format!(
            "--fail-on checked nothing: no authenticator lines were read ({} lines in all)",
            report.events.total
        ));
    }
    w
}

/// The report over the configured CloudWatch source, or over the job's local inputs, and
/// the budget's refusal of the audit pass when there was one. `--strict` and the refusal are
/// left to the caller, which raises them once the report is written.
fn report(config: &Config) -> Result<(Report, Sources, Option<Error>)> {
    let job = pipeline::Job {
        strict: false,
        ..config.job.clone()
    };
    #[cfg(feature = "cloudwatch")]
    if let Some(cw) = &config.cloudwatch {
        let (mut report, mut sources, refused) = cloudwatch_report(config, cw, &job)?;
        let mut cfg = read_access_config(config)?;
        if let Some(live) = &config.live_access {
            read_live(live, config.quiet, &mut cfg, &mut sources);
        }
        if let Some(cfg) = cfg.filter(has_config) {
            eks_authlog_core::report::diagnoses::attach(&mut report, &cfg);
            report.creator.join_access(&cfg);
        }
        let mut refused = refused;
        if let Some(live) = &config.creator_live {
            let stopped = live.join(&mut report, config.quiet, cw.budget.clone());
            refused = refused.or(stopped);
        }
        return Ok((report, sources, refused.map(Error::from)));
    }
    let (mut report, inputs) = pipeline::report(&job)?;
    attach_diagnoses(config, &mut report)?;
    // `creator FILES --iam`: IAM only (no query, so no budget to refuse).
    #[cfg(feature = "cloudwatch")]
    if let Some(live) = &config.creator_live
        && let Some(stopped) = live.join(&mut report, config.quiet, None)
    {
        return Ok((
            report,
            Sources {
                inputs,
                cloudwatch: None,
            },
            Some(Error::from(stopped)),
        ));
    }
    Ok((
        report,
        Sources {
            inputs,
            cloudwatch: None,
        },
        None,
    ))
}

/// With `--access-config`, diagnoses every not-mapped principal from those files, and joins
/// them to the creator's evidence.
fn attach_diagnoses(config: &Config, report: &mut Report) -> Result<()> {
    if let Some(cfg) = read_access_config(config)? {
        eks_authlog_core::report::diagnoses::attach(report, &cfg);
        report.creator.join_access(&cfg);
    }
    Ok(())
}

/// The CloudWatch report. For `creator --cluster`, a cluster without authenticator logs is
/// no error: the other sources still answer, and `creator.sources` says the log was missing.
#[cfg(feature = "cloudwatch")]
fn cloudwatch_report(
    config: &Config,
    cw: &eks_authlog_aws::CloudWatchJob,
    job: &pipeline::Job,
) -> Result<(Report, Sources, Option<eks_authlog_aws::cloudwatch::Error>)> {
    use eks_authlog_aws::cloudwatch::Error as CwError;
    use eks_authlog_core::analysis::{Analyzer, SourceStatus, SourceUse};
    match crate::cloudwatch::report(cw, job, config.audit, config.quiet) {
        Ok((mut report, sources, refused)) => {
            if config.creator_live.is_some() {
                let metas = sources.cloudwatch.iter().flatten();
                let (mut calls, mut bytes, mut groups) = (0, 0.0, Vec::new());
                for m in metas {
                    let a = &m.api_calls;
                    calls += a.start_query + a.get_query_results + a.stop_query;
                    bytes += m.bytes_scanned;
                    groups.extend(m.log_groups.iter().cloned());
                }
                let found = report.creator.identities.iter().any(|i| {
                    i.evidence
                        .iter()
                        .any(|e| *e == "mapping_static" || *e == "access_granted")
                });
                report.creator.join_source(SourceUse {
                    source: "authenticator_log",
                    via: Some(groups.join(", ")),
                    status: if found {
                        SourceStatus::Used
                    } else {
                        SourceStatus::NothingFound
                    },
                    records: Some(report.events.parsed),
                    api_calls: Some(calls),
                    bytes_scanned: Some(bytes as u64),
                    estimated_bytes: None,
                    detail: format!(
                        "Logs Insights query creator: {} lines, {} bytes scanned",
                        report.events.parsed, bytes as u64
                    ),
                });
            }
            Ok((report, sources, refused))
        }
        Err(crate::Error::CloudWatch(CwError::LogGroupNotFound {
            log_group, region, ..
        })) if config.creator_live.is_some() => {
            if !config.quiet {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "eks-authlog: note: log group {log_group} not found in {region}: no authenticator logs; answering from the other sources"
                );
            }
            let mut report = Analyzer::new(job.options.clone()).finish();
            report.creator.join_source(SourceUse {
                source: "authenticator_log",
                via: Some(log_group.clone()),
                status: SourceStatus::NotAvailable,
                records: Some(0),
                api_calls: None,
                bytes_scanned: Some(0),
                estimated_bytes: None,
                detail: format!(
                    "log group {log_group} not found in {region}: authenticator logging is off, or was never on"
                ),
            });
            Ok((
                report,
                Sources {
                    inputs: Vec::new(),
                    cloudwatch: None,
                },
                None,
            ))
        }
        Err(e) => Err(e),
    }
}

/// The `--access-config` files, or `None` when none were given.
fn read_access_config(config: &Config) -> Result<Option<AccessConfig>> {
    if config.access_config.is_empty() {
        return Ok(None);
    }
    AccessConfig::from_paths(&config.access_config)
        .map(Some)
        .map_err(|e| eks_authlog_core::Error::from(e).into())
}

/// Whether anything was read to diagnose from (a live read that failed leaves nothing, and
/// "no entry" would then be a guess).
#[cfg(feature = "cloudwatch")]
fn has_config(cfg: &AccessConfig) -> bool {
    cfg.aws_auth.is_some()
        || cfg.live.is_some()
        || !cfg.entries.entries.is_empty()
        || cfg.mode().is_some()
}

/// The live read for `report` and `failures`: it never fails the run, whose logs are the main
/// answer. Its EKS calls are counted in the region's `api_calls`.
#[cfg(feature = "cloudwatch")]
fn read_live(
    live: &crate::live::LiveAccess,
    quiet: bool,
    cfg: &mut Option<AccessConfig>,
    sources: &mut Sources,
) {
    let cfg = cfg.get_or_insert_with(AccessConfig::default);
    if let Err(e) = crate::live::read(live, cfg, quiet) {
        if !quiet {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr().lock(),
                "eks-authlog: note: access configuration not read live ({e}); diagnoses need \
                 it or --access-config"
            );
        }
        return;
    }
    let Some(read) = &cfg.live else { return };
    let metas = sources.cloudwatch.iter_mut().flatten();
    let mut metas: Vec<_> = metas.collect();
    let at = metas
        .iter()
        .position(|m| m.regions.contains(&read.region))
        .unwrap_or(0);
    if let Some(m) = metas.get_mut(at) {
        m.api_calls.eks = read.api_calls;
    }
}

/// Streams the events of the configured CloudWatch source, or of the job's local inputs.
fn events<W: Write>(
    config: &Config,
    writer: &mut EventWriter<W>,
) -> Result<(Report, Vec<InputSummary>)> {
    #[cfg(feature = "cloudwatch")]
    if let Some(cw) = &config.cloudwatch {
        let report = crate::cloudwatch::events(cw, &config.job, writer, config.quiet)?;
        return Ok((report, Vec::new()));
    }
    Ok(pipeline::events(&config.job, writer)?)
}

/// `Findings` when `--fail-on` matches a failure class present in the report.
///
/// `events` streams and counts not-mapped denials under their base class
/// `identity_not_mapped`, as its records show them; there a sub-class (`node_role_not_mapped`…)
/// matches that base class, as `--class` does.
pub fn exit_for(config: &Config, report: &Report) -> Exit {
    let streamed = config.command == Command::Events || config.format == Format::Ndjson;
    let hit = report.failures.by_class.iter().any(|c| {
        c.count > 0
            && config.fail_on.iter().any(|f| {
                f.matches(c.class)
                    || (streamed
                        && c.class == Class::IdentityNotMapped
                        && matches!(
                            f,
                            FailOn::Class(
                                Class::NodeRoleNotMapped
                                    | Class::SsoRoleNotMapped
                                    | Class::PrincipalRecreated
                                    | Class::RolePathInMapping
                            )
                        ))
            })
    });
    if hit { Exit::Findings } else { Exit::Success }
}
