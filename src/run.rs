//! The library's entry point: run a configured job and render its result.

use std::io::Write;

use crate::analysis::Report;
use crate::config::{Command, Config};
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::pipeline;
use crate::report::redact::{RedactingWriter, Redactor};
use crate::report::table::View;
use crate::report::{Format, document, events::EventWriter, table};

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
            let report = pipeline::events(&config.job, &mut writer)?;
            writer.finish().map_err(Error::Output)?;
            report
        }
        (command, format) => {
            let (report, sources) = pipeline::report(&config.job)?;
            let inputs = &sources.inputs;
            let written = if format == Format::Json {
                document::write(&mut out, &report, inputs, sources.cloudwatch.clone())
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
                    sources.cloudwatch.as_ref(),
                    view,
                    config.table,
                )
            };
            written.and_then(|()| out.flush()).map_err(Error::Output)?;
            report
        }
    };
    Ok(Outcome {
        exit: exit_for(config, &report),
        summary: report.events.summary(),
    })
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
