//! The report does not depend on `--threads`: byte-for-byte identical output on generated
//! corpora large enough for the parallel paths (raw files split in place; JSON, gzip and
//! stdin read in batches).

use std::io::Write;
use std::path::Path;

use assert_cmd::Command;

use eks_authlog_core::pipeline::PARALLEL_MIN;
use eks_authlog_testkit::corpus::{self, CorpusFormat, Spec};

/// A corpus a little larger than [`PARALLEL_MIN`], optionally gzipped.
fn write_corpus(path: &Path, format: CorpusFormat, gzip: bool) {
    let spec = Spec {
        lines: None,
        bytes: Some(PARALLEL_MIN + (1 << 20)),
        seed: 7,
        format,
        ..Spec::default()
    };
    let file = std::fs::File::create(path).unwrap();
    if gzip {
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        corpus::write(&spec, &mut gz).unwrap();
        gz.finish().unwrap().flush().unwrap();
    } else {
        corpus::write(&spec, file).unwrap();
    }
}

/// Runs `eks-authlog ARGS --threads N` (with `stdin` as standard input) and returns stdout.
fn run(args: &[&str], threads: &str, stdin: Option<&[u8]>) -> Vec<u8> {
    let mut cmd = Command::cargo_bin("eks-authlog").unwrap();
    cmd.args(args)
        .args(["-q", "--threads", threads])
        .env_remove("COLUMNS");
    if let Some(data) = stdin {
        cmd.write_stdin(data.to_vec());
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Checks that every thread count gives what `--threads 1` gives.
fn same_for_every_thread_count(args: &[&str], stdin: Option<&[u8]>) {
    let one = run(args, "1", stdin);
    assert!(one.len() > 1000, "{args:?}");
    for threads in ["2", "4", "0"] {
        assert!(
            run(args, threads, stdin) == one,
            "{args:?}: --threads {threads} differs from --threads 1"
        );
    }
}

#[test]
fn json_output_is_identical_whatever_the_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corpus.log");
    write_corpus(&path, CorpusFormat::Raw, false);
    same_for_every_thread_count(&["report", "-o", "json", path.to_str().unwrap()], None);
}

#[test]
fn batched_shapes_are_identical_whatever_the_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format, gzip) in [
        ("c.ndjson", CorpusFormat::Ndjson, false),
        ("c.json", CorpusFormat::FilterLogEvents, false),
        ("c.csv", CorpusFormat::Csv, false),
        ("c.log.gz", CorpusFormat::Raw, true),
        ("c.ndjson.gz", CorpusFormat::Ndjson, true),
    ] {
        let path = dir.path().join(name);
        write_corpus(&path, format, gzip);
        let path = path.to_str().unwrap();
        same_for_every_thread_count(&["report", "-o", "json", path], None);
    }
    // The views of the report (tables) go through the same analysis.
    let path = dir.path().join("c.ndjson");
    let path = path.to_str().unwrap();
    same_for_every_thread_count(&["failures", path], None);
    same_for_every_thread_count(&["creator", path], None);
}

#[test]
fn stdin_is_identical_whatever_the_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    for format in [CorpusFormat::Raw, CorpusFormat::Ndjson] {
        let path = dir.path().join("stdin");
        write_corpus(&path, format, false);
        let data = std::fs::read(&path).unwrap();
        same_for_every_thread_count(&["report", "-o", "json", "-"], Some(&data));
    }
}

#[test]
fn read_errors_are_the_same_whatever_the_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ndjson");
    write_corpus(&good, CorpusFormat::Ndjson, false);
    let data = std::fs::read(&good).unwrap();
    // A broken event in the middle, and a gzip stream cut short.
    let mid = data.len() / 2
        + data[data.len() / 2..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap();
    let broken = [&data[..=mid], b"{\"message\": oops}\n", &data[mid + 1..]].concat();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&data).unwrap();
    let gz = gz.finish().unwrap();
    let cut = &gz[..gz.len() * 2 / 3];
    for (name, bytes) in [("broken.ndjson", &broken[..]), ("cut.ndjson.gz", cut)] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let run = |threads: &str| {
            Command::cargo_bin("eks-authlog")
                .unwrap()
                .args(["report", "-o", "json", "--threads", threads])
                .arg(&path)
                .timeout(std::time::Duration::from_secs(60))
                .output()
                .unwrap()
        };
        let one = run("1");
        assert_eq!(one.status.code(), Some(2), "{name}");
        assert!(one.stdout.is_empty(), "{name}");
        let message = String::from_utf8_lossy(&one.stderr).into_owned();
        assert!(message.contains(name), "{name}: {message}");
        for threads in ["2", "4"] {
            let other = run(threads);
            assert_eq!(other.status.code(), Some(2), "{name} --threads {threads}");
            assert_eq!(
                String::from_utf8_lossy(&other.stderr),
                message,
                "{name} --threads {threads}"
            );
            assert!(other.stdout.is_empty(), "{name} --threads {threads}");
        }
    }
}

/// `--threads 5000` once asked for 8 MiB per thread (42 GB) and aborted: the count is
/// clamped, and the output is the same.
#[test]
fn huge_thread_counts_are_clamped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corpus.log");
    write_corpus(&path, CorpusFormat::Raw, false);
    let args = ["report", "-o", "json", path.to_str().unwrap()];
    let one = run(&args, "1", None);
    for threads in ["5000", "99999999999"] {
        assert!(run(&args, threads, None) == one, "--threads {threads}");
    }
}
