//! Binary entry point: parse arguments, run the library, map the outcome to an exit code.
mod cli;

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use eks_authlog::{Error, exit::Exit};

fn main() -> ExitCode {
    let args = cli::Args::parse(); // clap prints usage errors and exits 2 itself
    let config = match args.into_plan() {
        Ok(cli::Plan::Run(config)) => config,
        Ok(cli::Plan::Corpus(spec, path, gzip)) => return corpus(&spec, &path, gzip),
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
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Success.into(),
        Err(e) if e.is_interrupted() => {
            eprintln!("eks-authlog: interrupted; running queries were stopped");
            Exit::Interrupted.into()
        }
        Err(e) => {
            eprintln!("eks-authlog: error: {}", chain(&e));
            Exit::Error.into()
        }
    }
}

/// Writes a synthetic corpus (the hidden `corpus` subcommand, for benchmarks).
fn corpus(spec: &eks_authlog::corpus::Spec, path: &str, gzip: bool) -> ExitCode {
    let out: Box<dyn Write> = if path == "-" {
        Box::new(io::stdout().lock())
    } else {
        match std::fs::File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("eks-authlog: error: {path}: {e}");
                return Exit::Error.into();
            }
        }
    };
    let written = if gzip {
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        eks_authlog::corpus::write(spec, &mut gz).and_then(|w| gz.finish().map(|_| w))
    } else {
        eks_authlog::corpus::write(spec, out)
    };
    match written {
        Ok(w) => {
            eprintln!("eks-authlog: wrote {} lines, {} bytes", w.lines, w.bytes);
            Exit::Success.into()
        }
        Err(e) => {
            eprintln!("eks-authlog: error: {path}: {e}");
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
