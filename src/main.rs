//! Binary entry point: parse arguments, run the library, map the outcome to an exit code.
mod cli;

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use eks_authlog::exit::Exit;

fn main() -> ExitCode {
    let args = cli::Args::parse(); // clap prints usage errors and exits 2 itself
    let config = match args.into_plan() {
        Ok(cli::Plan::Run(config)) => config,
        Ok(cli::Plan::Print(text)) => {
            // Errors (a closed pipe, as with `| head`) are the reader's choice.
            let _ = io::stdout().write_all(&text);
            return Exit::Success.into();
        }
        Err(msg) => {
            eprintln!("eks-authlog: {msg}");
            return Exit::Error.into();
        }
    };
    let stdout = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    match eks_authlog::run::run(&config, stdout) {
        Ok(outcome) => {
            if !config.quiet {
                eprintln!("eks-authlog: {}", outcome.summary);
            }
            outcome.exit.into()
        }
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.is_broken_pipe() => Exit::Success.into(),
        Err(e) if e.is_interrupted() => {
            eprintln!("eks-authlog: {e}");
            if e.is_terminated() {
                Exit::Terminated.into()
            } else {
                Exit::Interrupted.into()
            }
        }
        Err(e) => {
            eprintln!("eks-authlog: error: {}", chain(&e));
            Exit::Error.into()
        }
    }
}

/// The error and its causes, joined the way `{:#}` does in anyhow.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
