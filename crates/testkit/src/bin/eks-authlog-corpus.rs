//! `eks-authlog-corpus`: the benchmark corpus generator as a command (used by `scripts/bench`).
//! It lives in the test kit so that the `eks-authlog` binary does not ship it.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use eks_authlog_testkit::corpus::{self, CorpusFormat, Spec};

/// Writes a synthetic, realistic authenticator log corpus for benchmarks: the same seed gives
/// the same bytes.
#[derive(Debug, Parser)]
#[command(name = "eks-authlog-corpus", version)]
struct Args {
    /// Number of log lines.
    #[arg(long, conflicts_with = "bytes", required_unless_present = "bytes")]
    lines: Option<u64>,
    /// Uncompressed size to reach: 1G, 200M, 64k, or bytes.
    #[arg(long, value_parser = corpus::parse_size)]
    bytes: Option<u64>,
    /// Output shape.
    #[arg(long, value_enum, default_value_t = CorpusFormat::Raw)]
    format: CorpusFormat,
    /// PRNG seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Hours the timestamps span.
    #[arg(long, default_value_t = 24)]
    hours: u32,
    /// Number of authenticator log streams.
    #[arg(long, default_value_t = 4)]
    streams: usize,
    /// Gzip the output.
    #[arg(long)]
    gzip: bool,
    /// Output file (`-`: stdout).
    #[arg(short, long, default_value = "-")]
    output: String,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let spec = Spec {
        lines: a.lines,
        bytes: a.bytes,
        seed: a.seed,
        format: a.format,
        span_ms: i64::from(a.hours) * 3_600_000,
        streams: a.streams,
        ..Spec::default()
    };
    let path = a.output.as_str();
    let out: Box<dyn Write> = if path == "-" {
        Box::new(io::stdout().lock())
    } else {
        match std::fs::File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("eks-authlog-corpus: error: {path}: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let written = if a.gzip {
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        corpus::write(&spec, &mut gz).and_then(|w| gz.finish().map(|_| w))
    } else {
        corpus::write(&spec, out)
    };
    match written {
        Ok(w) => {
            eprintln!(
                "eks-authlog-corpus: wrote {} lines, {} bytes",
                w.lines, w.bytes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("eks-authlog-corpus: error: {path}: {e}");
            ExitCode::from(2)
        }
    }
}
