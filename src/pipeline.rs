//! Running a job over local inputs: read every input, parse every line, analyse, and hand the
//! result to a renderer.
//!
//! This is where `source`, `parse`, `analysis` and `report` meet; each stays ignorant of the
//! others. Large raw files are split at line boundaries and analysed on several threads; the
//! per-chunk analyses merge in input order, so results do not depend on `--threads`.

use std::io::{Read, Write};

use crate::analysis::{self, Analyzer, Report};
use crate::classify::Class;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::report::events::EventWriter;
use crate::report::wire::EventOut;
use crate::source::{self, Envelope, Input, InputFormat, InputStats, Loc};

/// What to read and how to analyse it.
#[derive(Clone, Debug, Default)]
pub struct Job {
    /// Local inputs, in order.
    pub inputs: Vec<Input>,
    /// Their shape (or auto-detection).
    pub format: InputFormat,
    /// Filters and context for the analysis.
    pub options: analysis::Options,
    /// Threads for large raw inputs (0: all cores).
    pub threads: usize,
    /// Fail when any line does not parse.
    pub strict: bool,
    /// Read from CloudWatch Logs Insights instead of `inputs`.
    #[cfg(feature = "cloudwatch")]
    pub cloudwatch: Option<crate::remote::CloudWatchJob>,
}

/// One input's statistics, for the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InputSummary {
    /// Input name.
    pub name: String,
    /// Detected shape.
    pub format: &'static str,
    /// Records (lines) read.
    pub records: u64,
    /// Bytes read as stored.
    pub bytes: u64,
}

impl InputSummary {
    fn new(name: &str, s: InputStats) -> InputSummary {
        InputSummary {
            name: name.to_owned(),
            format: s.format.as_str(),
            records: s.records,
            bytes: s.bytes,
        }
    }
}

/// Pushes one line into an analyzer.
pub fn feed(analyzer: &mut Analyzer, text: &[u8], env: &Envelope<'_>, loc: Loc<'_>) {
    match Event::parse(text, *env, loc) {
        Ok(e) => {
            analyzer.event(&e);
        }
        Err(err) => analyzer.reject(err.kind, loc.input, loc.line),
    }
}

/// What a job read: local inputs, or CloudWatch fetch metadata.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Local inputs.
    pub inputs: Vec<InputSummary>,
    /// CloudWatch metadata per region (serialized into the report's `source`).
    pub cloudwatch: Option<serde_json::Value>,
}

/// Analyses every input of the job (or its CloudWatch source) into a report.
pub fn report(job: &Job) -> Result<(Report, Sources)> {
    #[cfg(feature = "cloudwatch")]
    if let Some(cw) = &job.cloudwatch {
        let mut analyzer = Analyzer::new(job.options.clone());
        let mut aggregates = Vec::new();
        let metas = crate::remote::fetch(
            cw,
            &mut |t: &[u8], e: &Envelope<'_>, l: Loc<'_>| feed(&mut analyzer, t, e, l),
            &mut |a: &analysis::Aggregate<'_>| aggregates.push(owned_aggregate(a)),
        )?;
        for a in &aggregates {
            analyzer.aggregate(&a.borrowed());
        }
        check_strict(job, &analyzer)?;
        let source = serde_json::to_value(&metas).ok();
        return Ok((
            analyzer.finish(),
            Sources {
                inputs: Vec::new(),
                cloudwatch: source,
            },
        ));
    }
    let (report, inputs) = report_local(job)?;
    Ok((
        report,
        Sources {
            inputs,
            cloudwatch: None,
        },
    ))
}

/// An aggregate kept until the fetch returns (the sink closure cannot borrow the analyzer twice).
#[cfg(feature = "cloudwatch")]
struct OwnedAggregate {
    granted: bool,
    arn: Option<String>,
    username: Option<String>,
    error: Option<String>,
    sts_code: Option<String>,
    count: u64,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
}

#[cfg(feature = "cloudwatch")]
fn owned_aggregate(a: &analysis::Aggregate<'_>) -> OwnedAggregate {
    OwnedAggregate {
        granted: a.granted,
        arn: a.arn.map(str::to_owned),
        username: a.username.map(str::to_owned),
        error: a.error.map(str::to_owned),
        sts_code: a.sts_code.map(str::to_owned),
        count: a.count,
        first_ms: a.first_ms,
        last_ms: a.last_ms,
    }
}

#[cfg(feature = "cloudwatch")]
impl OwnedAggregate {
    fn borrowed(&self) -> analysis::Aggregate<'_> {
        analysis::Aggregate {
            granted: self.granted,
            arn: self.arn.as_deref(),
            username: self.username.as_deref(),
            error: self.error.as_deref(),
            sts_code: self.sts_code.as_deref(),
            count: self.count,
            first_ms: self.first_ms,
            last_ms: self.last_ms,
        }
    }
}

fn report_local(job: &Job) -> Result<(Report, Vec<InputSummary>)> {
    let mut analyzer = Analyzer::new(job.options.clone());
    let mut inputs = Vec::new();
    for input in &job.inputs {
        let name = input.name();
        let stats = source::read_input(
            input,
            job.format,
            &mut |t: &[u8], e: &Envelope<'_>, l: Loc<'_>| feed(&mut analyzer, t, e, l),
        )?;
        inputs.push(InputSummary::new(&name, stats));
    }
    check_strict(job, &analyzer)?;
    Ok((analyzer.finish(), inputs))
}

/// Analyses lines from any reader (stdin, a test buffer) as one input.
pub fn report_from(
    name: &str,
    reader: impl Read,
    job: &Job,
) -> Result<(Report, Vec<InputSummary>)> {
    let mut analyzer = Analyzer::new(job.options.clone());
    let stats = source::read_from(
        name,
        reader,
        job.format,
        &mut |t: &[u8], e: &Envelope<'_>, l: Loc<'_>| feed(&mut analyzer, t, e, l),
    )?;
    check_strict(job, &analyzer)?;
    Ok((analyzer.finish(), vec![InputSummary::new(name, stats)]))
}

fn check_strict(job: &Job, a: &Analyzer) -> Result<()> {
    let acct = &a.accounting;
    if job.strict && acct.unparsed() > 0 {
        let first = acct
            .first_unparsed
            .as_ref()
            .map(|(input, line, kind)| format!("{input}:{line}: {}", kind.as_str()))
            .unwrap_or_default();
        return Err(Error::Strict {
            unparsed: acct.unparsed(),
            first,
        });
    }
    Ok(())
}

/// Streams the job's events to `writer`, classified. Returns the analysis of what was read
/// (for the summary line and `--fail-on`).
pub fn events<W: Write>(job: &Job, writer: &mut EventWriter<W>) -> Result<Report> {
    let mut analyzer = Analyzer::new(job.options.clone());
    let mut failed: Option<std::io::Error> = None;
    #[cfg(feature = "cloudwatch")]
    if let Some(cw) = &job.cloudwatch {
        let mut events_only = cw.clone();
        // Events need lines: aggregates have none to print.
        events_only.strategy = crate::remote::StrategyChoice::Events;
        crate::remote::fetch(
            &events_only,
            &mut |t: &[u8], e: &Envelope<'_>, l: Loc<'_>| {
                if failed.is_none()
                    && let Err(e) = write_event(&mut analyzer, writer, &job.options, t, e, l)
                {
                    failed = Some(e);
                }
            },
            &mut |_: &analysis::Aggregate<'_>| {},
        )?;
        if let Some(e) = failed.take() {
            return Err(Error::Output(e));
        }
        check_strict(job, &analyzer)?;
        return Ok(analyzer.finish());
    }
    for input in &job.inputs {
        let mut sink = |t: &[u8], e: &Envelope<'_>, l: Loc<'_>| {
            if failed.is_some() {
                return;
            }
            if let Err(e) = write_event(&mut analyzer, writer, &job.options, t, e, l) {
                failed = Some(e);
            }
        };
        source::read_input(input, job.format, &mut sink)?;
        if let Some(e) = failed.take() {
            return Err(Error::Output(e));
        }
    }
    check_strict(job, &analyzer)?;
    Ok(analyzer.finish())
}

fn write_event<W: Write>(
    analyzer: &mut Analyzer,
    writer: &mut EventWriter<W>,
    opts: &analysis::Options,
    text: &[u8],
    env: &Envelope<'_>,
    loc: Loc<'_>,
) -> std::io::Result<()> {
    let e = match Event::parse(text, *env, loc) {
        Ok(e) => e,
        Err(err) => {
            analyzer.reject(err.kind, loc.input, loc.line);
            return Ok(());
        }
    };
    let Some(verdict) = analyzer.event(&e) else {
        return Ok(());
    };
    let filtering = !opts.classes.is_empty() || !opts.families.is_empty();
    if filtering
        && !verdict
            .class
            .is_some_and(|c| opts.keeps_class(c) || sub_class_wanted(c, opts))
    {
        return Ok(());
    }
    let class = verdict.class.map(|c| (c.as_str(), c.family().as_str()));
    writer.write(&EventOut::new(&e, class, verdict.sts))
}

/// Not-mapped denials are sub-classed only at the end, so a filter on a sub-class keeps the
/// base class's events.
fn sub_class_wanted(c: Class, opts: &analysis::Options) -> bool {
    c == Class::IdentityNotMapped
        && opts.classes.iter().any(|w| {
            matches!(
                w,
                Class::NodeRoleNotMapped
                    | Class::SsoRoleNotMapped
                    | Class::PrincipalRecreated
                    | Class::RolePathInMapping
            )
        })
}
