//! Running a job over local inputs: read every input, parse every line, analyse, and hand the
//! result to a renderer.
//!
//! This is where `source`, `parse`, `analysis` and `report` meet; each stays ignorant of the
//! others. [`Feed`] turns lines into the analysis's evidence; `engine` runs that on several
//! threads, with the same result as one pass whatever `--threads` is.

use std::io::{Read, Write};

use crate::analysis::{self, Analyzer, Report};
use crate::audit::{self, AuditEvent};
use crate::engine::{self, Fold};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::evidence::Evidence;
use crate::parse::ParseError;
use crate::report::source::InputSummary;
use crate::report::stream::EventWriter;
use crate::report::wire::{EventOut, StsOut};
use crate::source::{self, Envelope, Input, InputFormat, LineSink, Loc};

pub use crate::engine::PARALLEL_MIN;

/// What to read and how to analyse it.
#[derive(Clone, Debug, Default)]
pub struct Job {
    /// Local inputs, in order.
    pub inputs: Vec<Input>,
    /// Their shape (or auto-detection).
    pub format: InputFormat,
    /// Filters and context for the analysis.
    pub options: analysis::Options,
    /// Threads for large or non-raw inputs (0: all cores).
    pub threads: usize,
    /// Fail when any line does not parse.
    pub strict: bool,
}

/// Pushes one line into an analyzer.
pub fn feed(analyzer: &mut Analyzer, text: &[u8], env: &Envelope<'_>, loc: Loc<'_>) {
    Feed(analyzer).line(text, env, loc)
}

/// An analyzer as a [`LineSink`].
pub struct Feed<'a>(pub &'a mut Analyzer);

impl Feed<'_> {
    #[inline]
    fn take(&mut self, e: &Event<'_>, parsed: Result<(), ParseError>) {
        self.0.add(match parsed {
            Ok(()) => Evidence::Event(e),
            Err(err) => Evidence::Unparsed {
                error: err,
                input: e.loc.input,
                line: e.loc.line,
            },
        });
    }
}

impl Feed<'_> {
    /// Takes the message as an audit event when it is one (its first byte is `{` and it is
    /// `audit.k8s.io` JSON); says whether it was.
    #[cold]
    #[inline(never)]
    fn audit(&mut self, text: &[u8], env: &Envelope<'_>, loc: Loc<'_>) -> bool {
        match AuditEvent::parse(text, *env, loc) {
            None => false,
            Some(Ok(e)) => {
                self.0.add(Evidence::Audit(&e));
                true
            }
            Some(Err(error)) => {
                self.0.add(Evidence::Unparsed {
                    error,
                    input: loc.input,
                    line: loc.line,
                });
                true
            }
        }
    }
}

impl LineSink for Feed<'_> {
    #[inline]
    fn line(&mut self, text: &[u8], env: &Envelope<'_>, loc: Loc<'_>) {
        // One byte decides: a logrus line never starts with `{`, an audit event always does.
        if audit::may_be_audit(text) && self.audit(text, env, loc) {
            return;
        }
        // Built here and filled in place: the record is too big to return through the parser.
        let mut e = Event::empty(*env, loc);
        let parsed = e.fill(text);
        self.take(&e, parsed);
    }

    #[inline]
    fn line_str(&mut self, text: &str, env: &Envelope<'_>, loc: Loc<'_>) {
        if audit::may_be_audit(text.as_bytes()) && self.audit(text.as_bytes(), env, loc) {
            return;
        }
        let mut e = Event::empty(*env, loc);
        let parsed = e.fill_str(text);
        self.take(&e, parsed);
    }
}

/// The job's analysis, as the engines run it: an analyzer per piece of input, fed lines.
pub(crate) struct Analyse<'a>(pub &'a analysis::Options);

impl Fold for Analyse<'_> {
    type Acc = Analyzer;

    fn fresh(&self) -> Analyzer {
        Analyzer::new(self.0.clone())
    }

    #[inline]
    fn line(&self, a: &mut Analyzer, text: &[u8], env: &Envelope<'_>, loc: Loc<'_>) {
        Feed(a).line(text, env, loc);
    }

    #[inline]
    fn line_str(&self, a: &mut Analyzer, text: &str, env: &Envelope<'_>, loc: Loc<'_>) {
        Feed(a).line_str(text, env, loc);
    }
}

/// Analyses every local input of the job into a report.
pub fn report(job: &Job) -> Result<(Report, Vec<InputSummary>)> {
    let threads = engine::resolve_threads(job.threads);
    let fold = Analyse(&job.options);
    let mut analyzer = fold.fresh();
    let mut inputs = Vec::new();
    for input in &job.inputs {
        let name = input.name();
        let stats = engine::read_input(input, &name, job.format, threads, &fold, &mut analyzer)?;
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
    let stats = source::read_from(name, reader, job.format, &mut Feed(&mut analyzer))?;
    check_strict(job, &analyzer)?;
    Ok((analyzer.finish(), vec![InputSummary::new(name, stats)]))
}

/// `--strict`: an error naming the first line that did not parse, if any did not.
pub fn check_strict(job: &Job, a: &Analyzer) -> Result<()> {
    let acct = &a.accounting;
    if job.strict && acct.unparsed() > 0 {
        let first = acct.first_unparsed_text().unwrap_or_default();
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

/// Classifies one line and writes it as an event, when it passes the job's filters.
pub fn write_event<W: Write>(
    analyzer: &mut Analyzer,
    writer: &mut EventWriter<W>,
    opts: &analysis::Options,
    text: &[u8],
    env: &Envelope<'_>,
    loc: Loc<'_>,
) -> std::io::Result<()> {
    if audit::may_be_audit(text) {
        match AuditEvent::parse(text, *env, loc) {
            None => {}
            Some(Ok(e)) => {
                // Audit events are not failure classes: a class or family filter leaves them
                // out, as it leaves out grants.
                if analyzer.add(Evidence::Audit(&e)).is_none() || !opts.keeps_event(None) {
                    return Ok(());
                }
                return writer.write(&EventOut::audit(&e));
            }
            Some(Err(error)) => {
                analyzer.add(Evidence::Unparsed {
                    error,
                    input: loc.input,
                    line: loc.line,
                });
                return Ok(());
            }
        }
    }
    let e = match Event::parse(text, *env, loc) {
        Ok(e) => e,
        Err(err) => {
            analyzer.add(Evidence::Unparsed {
                error: err,
                input: loc.input,
                line: loc.line,
            });
            return Ok(());
        }
    };
    let Some(verdict) = analyzer.add(Evidence::Event(&e)) else {
        return Ok(());
    };
    if !opts.keeps_event(verdict.class) {
        return Ok(());
    }
    let class = verdict.class.map(|c| (c.as_str(), c.family().as_str()));
    writer.write(&EventOut::new(
        &e,
        class,
        verdict.sts.as_ref().map(StsOut::from),
    ))
}
