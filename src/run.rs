//! One run: do the configured job and render its result.

use std::io::Write;

use eks_authlog_core::analysis::Report;
use eks_authlog_core::pipeline;
use eks_authlog_core::report::redact::{RedactingWriter, Redactor};
use eks_authlog_core::report::source::Sources;
use eks_authlog_core::report::table::View;
use eks_authlog_core::report::{Format, document, events::EventWriter, table};

use crate::config::{Command, Config};
use crate::error::{Error, Result};
use crate::exit::Exit;

/// How a run ended, for the binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The exit code to use.
    pub exit: Exit,
    /// One line accounting for every line read, for stderr.
    pub summary: String,
}

/// Runs the job and writes its output to `out`.
pub fn run<W: Write>(config: &Config, out: W) -> Result<Outcome> {
    if config.redact {
        let out = RedactingWriter::new(out, Redactor::new(&config.redact_key));
        render(config, out)
    } else {
        render(config, out)
    }
}

fn render<W: Write>(config: &Config, mut out: W) -> Result<Outcome> {
    let report = match (config.command, config.format) {
        (Command::Events, _) | (_, Format::Ndjson) => {
            let mut writer = EventWriter::new(config.format, &mut out, config.table);
            let report = events(config, &mut writer)?;
            writer.finish().map_err(Error::output)?;
            report
        }
        (command, format) => {
            let (report, sources) = report(config)?;
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
            report
        }
    };
    Ok(Outcome {
        exit: exit_for(config, &report),
        summary: report.events.summary(),
    })
}

/// The report over the configured CloudWatch source, or over the job's local inputs.
fn report(config: &Config) -> Result<(Report, Sources)> {
    #[cfg(feature = "cloudwatch")]
    if let Some(cw) = &config.cloudwatch {
        return crate::cloudwatch::report(cw, &config.job, config.quiet);
    }
    let (report, inputs) = pipeline::report(&config.job)?;
    Ok((
        report,
        Sources {
            inputs,
            cloudwatch: None,
        },
    ))
}

/// Streams the events of the configured CloudWatch source, or of the job's local inputs.
fn events<W: Write>(config: &Config, writer: &mut EventWriter<W>) -> Result<Report> {
    #[cfg(feature = "cloudwatch")]
    if let Some(cw) = &config.cloudwatch {
        return crate::cloudwatch::events(cw, &config.job, writer, config.quiet);
    }
    Ok(pipeline::events(&config.job, writer)?)
}

/// `Findings` when `--fail-on` matches a failure class present in the report.
pub fn exit_for(config: &Config, report: &Report) -> Exit {
    let hit = report
        .failures
        .by_class
        .iter()
        .any(|c| c.count > 0 && config.fail_on.iter().any(|f| f.matches(c.class)));
    if hit { Exit::Findings } else { Exit::Success }
}
