//! Binary entry point: parse arguments, run the library, map the outcome to an exit code.
mod cli;

use eks_authlog_core::error::chain;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use eks_authlog::exit::Exit;

fn main() -> ExitCode {
    let args = cli::Args::parse(); // clap prints usage errors and exits 2 itself
    let config = match args.into_plan() {
        Ok(cli::Plan::Run(config)) => config,
        Ok(cli::Plan::Print(text)) => {
            let mut stdout = io::stdout().lock();
            return match stdout.write_all(&text).and_then(|()| stdout.flush()) {
                Ok(()) => Exit::Success,
                // A closed pipe (`| head`) is the reader's choice, not an error.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Success,
                Err(e) => {
                    say(format_args!("error: writing output failed: {e}"));
                    Exit::Error
                }
            }
            .into();
        }
        Ok(cli::Plan::Access(job)) => {
            let stdout = BufWriter::new(io::stdout().lock());
            return match eks_authlog::access::run(&job, stdout) {
                Ok(outcome) => {
                    say(format_args!("{}", outcome.summary));
                    for w in &outcome.warnings {
                        say(format_args!("warning: {w}"));
                    }
                    outcome.exit.into()
                }
                Err(e) if e.is_broken_pipe() => Exit::Success.into(),
                Err(e) => {
                    say(format_args!("error: {}", chain(&e)));
                    Exit::Error.into()
                }
            };
        }
        #[cfg(feature = "cloudwatch")]
        Ok(cli::Plan::Fleet(cmd)) => {
            let stdout = BufWriter::new(io::stdout().lock());
            return match eks_authlog::fleet::run(&cmd, stdout) {
                Ok(end) => {
                    if !cmd.quiet {
                        say(format_args!("{}", end.summary));
                    }
                    for w in &end.warnings {
                        say(format_args!("warning: {w}"));
                    }
                    end.exit.into()
                }
                Err(e) => fail(&e),
            };
        }
        Err(msg) => {
            say(format_args!("{msg}"));
            return Exit::Error.into();
        }
    };
    let stdout = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    match eks_authlog::run::run(&config, stdout) {
        Ok(outcome) => {
            if !config.quiet {
                say(format_args!("{}", outcome.summary));
            }
            for w in &outcome.warnings {
                say(format_args!("warning: {w}"));
            }
            outcome.exit.into()
        }
        Err(e) => fail(&e),
    }
}

/// The exit code of a run that failed, with its message on stderr.
fn fail(e: &eks_authlog::Error) -> ExitCode {
    // A closed pipe (`| head`) is the reader's choice, not an error.
    if e.is_broken_pipe() {
        return Exit::Success.into();
    }
    if e.is_interrupted() {
        say(format_args!("{e}"));
        return if e.is_terminated() {
            Exit::Terminated.into()
        } else {
            Exit::Interrupted.into()
        };
    }
    if e.is_over_budget() {
        say(format_args!("stopped: {}", chain(e)));
        return Exit::OverBudget.into();
    }
    say(format_args!("error: {}", chain(e)));
    Exit::Error.into()
}

/// Writes one line to stderr. A stderr that cannot be written (a full disk, a closed
/// descriptor) changes nothing: the exit code stays the documented one.
fn say(msg: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "eks-authlog: {msg}");
}
