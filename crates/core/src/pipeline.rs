//! Running a job over local inputs: read every input, parse every line, analyse, and hand the
//! result to a renderer.
//!
//! This is where `source`, `parse`, `analysis` and `report` meet; each stays ignorant of the
//! others. [`Feed`] turns lines into the analysis's evidence; `engine` runs that on several
//! threads, with the same result as one pass whatever `--threads` is.

use std::io::{Read, Write};

use crate::analysis::{self, Analyzer, Report};
use crate::audit::{self, AuditEvent};
use crate::cloudtrail;
use crate::engine::{self, Fold};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::evidence::Evidence;
use crate::parse::ParseError;
use crate::report::source::InputSummary;
use crate::report::stream::EventWriter;
use crate::report::wire::{EventOut, StsOut};
use crate::source::{self, Envelope, Input, InputFormat, LineSink, Loc, RepairKind};

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
        if !e.envelope.repairs.is_empty() {
            self.0.accounting.repaired(&e.envelope);
        }
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
    /// Takes the message as a CloudTrail event or an audit event when it is one (its first
    /// byte is `{` and it is CloudTrail or `audit.k8s.io` JSON); says whether it was.
    #[cold]
    #[inline(never)]
    fn audit(&mut self, text: &[u8], env: &Envelope<'_>, loc: Loc<'_>) -> bool {
        if let Some(record) = cloudtrail::parse(text, loc.input) {
            self.0.add(Evidence::CloudTrail {
                record: &record,
                input: loc.input,
                line: loc.line,
            });
            return true;
        }
        let parsed = AuditEvent::parse(text, *env, loc);
        if parsed.is_some() && !env.repairs.is_empty() {
            self.0.accounting.repaired(env);
        }
        match parsed {
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
        match std::str::from_utf8(text) {
            Ok(s) => self.line_str(s, env, loc),
            Err(_) => {
                let (fixed, env) = lossy(text, env);
                let fixed = fixed.as_deref();
                // Built here and filled in place: the record is too big to return through
                // the parser.
                let mut e = Event::empty(env, loc);
                let parsed = match fixed {
                    Some(s) => e.fill_str(s),
                    None => e.fill(text),
                };
                self.take(&e, parsed);
            }
        }
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

/// A line with a few bytes of invalid UTF-8 (one bad byte in an ARN, a `\xff` in an error
/// text), decoded with U+FFFD in their place and marked [`RepairKind::LossyUtf8`], so that the
/// event is kept. A line where more than one byte in 16 is invalid is binary, not a damaged
/// log line: `None`, and it is counted as `invalid_utf8`.
fn lossy<'e>(text: &[u8], env: &Envelope<'e>) -> (Option<String>, Envelope<'e>) {
    let bad: usize = text.utf8_chunks().map(|c| c.invalid().len()).sum();
    if bad == 0 || bad * 16 > text.len() {
        return (None, *env);
    }
    let mut env = *env;
    env.repairs = env.repairs.with(RepairKind::LossyUtf8);
    (Some(String::from_utf8_lossy(text).into_owned()), env)
}

/// The job's analysis, as the engines run it: an analyzer per piece of input, fed lines.
pub(crate) struct Analyse<'a>(pub &'a analysis::Options);

impl Fold for Analyse<'_> {
    type Acc = Analyzer;

    fn fresh(&self) -> Analyzer {
        // A piece merges into the job's analyzer, which settles its pairs in read order.
        Analyzer::piece(self.0.clone())
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
    let mut analyzer = Analyzer::new(job.options.clone());
    let mut inputs = Vec::new();
    for input in &job.inputs {
        let name = input.name();
        let before = Tally::of(&analyzer);
        let stats = engine::read_input(input, &name, job.format, threads, &fold, &mut analyzer)?;
        // Each input has its own direction in time and its own sort window.
        analyzer.end_input();
        before.check(&name, &analyzer)?;
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
    Tally::default().check(name, &analyzer)?;
    check_strict(job, &analyzer)?;
    Ok((analyzer.finish(), vec![InputSummary::new(name, stats)]))
}

/// The parsed and unparsed counts before an input, to tell what that input added.
#[derive(Default)]
struct Tally {
    parsed: u64,
    unparsed: u64,
    rejected: Vec<u64>,
}

impl Tally {
    fn of(a: &Analyzer) -> Tally {
        Tally {
            parsed: a.accounting.parsed,
            unparsed: a.accounting.unparsed(),
            rejected: a.accounting.rejected.to_vec(),
        }
    }

    /// An input in which lines were read but none parsed is no authenticator log (a binary
    /// file, another program's log, an encoding we do not read): say so, naming it, rather
    /// than print an empty report. Blank or empty inputs are fine.
    fn check(&self, input: &str, a: &Analyzer) -> Result<()> {
        let acct = &a.accounting;
        let unparsed = acct.unparsed() - self.unparsed;
        if acct.parsed > self.parsed || unparsed == 0 {
            return Ok(());
        }
        let reasons: Vec<String> = crate::parse::ParseErrorKind::ALL
            .iter()
            .filter(|k| !k.is_foreign())
            .filter_map(|k| {
                let i = *k as usize;
                let n = acct.rejected[i] - self.rejected.get(i).copied().unwrap_or(0);
                (n > 0).then(|| format!("{} {n}", k.as_str()))
            })
            .collect();
        Err(Error::NothingParsed {
            input: input.to_owned(),
            unparsed,
            reasons: reasons.join(", "),
        })
    }
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
/// Also returns what each input amounted to.
///
/// This streams: the analyzer keeps nothing per principal ([`Analyzer::for_events`]), so
/// memory stays flat however many identities the input holds.
pub fn events<W: Write>(
    job: &Job,
    writer: &mut EventWriter<W>,
) -> Result<(Report, Vec<InputSummary>)> {
    let mut analyzer = Analyzer::for_events(job.options.clone());
    let mut failed: Option<std::io::Error> = None;
    let mut inputs = Vec::new();
    for input in &job.inputs {
        let before = Tally::of(&analyzer);
        let mut sink = |t: &[u8], e: &Envelope<'_>, l: Loc<'_>| {
            if failed.is_some() {
                return;
            }
            if let Err(e) = write_event(&mut analyzer, writer, &job.options, t, e, l) {
                failed = Some(e);
            }
        };
        let stats = source::read_input(input, job.format, &mut sink)?;
        if let Some(e) = failed.take() {
            return Err(Error::Output(e));
        }
        analyzer.end_input();
        inputs.push(InputSummary::new(&input.name(), stats));
        before.check(&input.name(), &analyzer)?;
    }
    check_strict(job, &analyzer)?;
    Ok((analyzer.finish(), inputs))
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
                if !env.repairs.is_empty() {
                    analyzer.accounting.repaired(env);
                }
                // Audit events are not failure classes: a class or family filter leaves them
                // out, as it leaves out grants.
                if analyzer.add(Evidence::Audit(&e)).is_none() || !opts.keeps_event(None) {
                    return Ok(());
                }
                return writer.write(&EventOut::audit(&e));
            }
            Some(Err(error)) => {
                if !env.repairs.is_empty() {
                    analyzer.accounting.repaired(env);
                }
                analyzer.add(Evidence::Unparsed {
                    error,
                    input: loc.input,
                    line: loc.line,
                });
                return Ok(());
            }
        }
    }
    let (fixed, env) = match std::str::from_utf8(text) {
        Ok(_) => (None, *env),
        Err(_) => lossy(text, env),
    };
    if !env.repairs.is_empty() {
        analyzer.accounting.repaired(&env);
    }
    let parsed = match &fixed {
        Some(s) => Event::parse(s.as_bytes(), env, loc),
        None => Event::parse(text, env, loc),
    };
    let e = match parsed {
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
    analyzer.pair_verdicts();
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

#[cfg(test)]
mod tests;
