//! Engine tests: any thread count, block and batch size gives the one-pass report; panics
//! and read errors come out as they would on one thread.

use std::fs::File;
use std::io::Write;
use std::panic::AssertUnwindSafe;

use eks_authlog_testkit::corpus::{self, Spec};

use super::*;
use crate::analysis::{Analyzer, Report};
use crate::error::Result;
use crate::pipeline::{Analyse, Job, check_strict, report, report_from};
use crate::report::source::InputSummary;
use crate::source::LineBatch;

fn json(r: &Report, inputs: &[InputSummary]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::report::document::write(&mut out, r, inputs, None).unwrap();
    out
}

#[test]
fn small_blocks_and_any_thread_count_give_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.log");
    let spec = Spec {
        lines: Some(3000),
        ..Spec::default()
    };
    let mut file = File::create(&path).unwrap();
    corpus::write(&spec, &mut file).unwrap();
    // A line longer than the block, so a batch has to grow.
    writeln!(
        file,
        "time=\"2026-01-16T00:00:00Z\" level=info msg=\"{}\"",
        "x".repeat(9000)
    )
    .unwrap();
    drop(file);
    let job = Job {
        inputs: vec![Input::File(path.clone())],
        threads: 1,
        ..Job::default()
    };
    let (r, inputs) = report(&job).unwrap();
    let want = json(&r, &inputs);
    for threads in [2, 3, 7] {
        for block in [4096, 1 << 20] {
            let mut a = Analyzer::new(job.options.clone());
            let stats = read_file(
                &path,
                &inputs[0].name,
                job.format,
                threads,
                block,
                1 << 20,
                &Analyse(&job.options),
                &mut a,
            )
            .unwrap();
            let got = json(&a.finish(), &[InputSummary::new(&inputs[0].name, stats)]);
            assert!(got == want, "threads {threads}, block {block}");
        }
    }
}

/// The JSON report of `data` read on one thread straight into the analyzer, as
/// `--threads 1` does.
fn direct(data: &[u8], job: &Job) -> Result<Vec<u8>> {
    let (r, inputs) = report_from("in", data, job)?;
    Ok(json(&r, &inputs))
}

/// The JSON report of `data` read through batches of `batch` bytes on `threads` threads.
fn batched(data: &[u8], job: &Job, threads: usize, batch: usize) -> Result<Vec<u8>> {
    let mut a = Analyzer::new(job.options.clone());
    let stats = pool::read(
        "in",
        data,
        job.format,
        threads,
        batch,
        &Analyse(&job.options),
        &mut a,
    )?;
    check_strict(job, &a)?;
    Ok(json(&a.finish(), &[InputSummary::new("in", stats)]))
}

/// Batch sizes from one line per batch to everything in one batch.
const BATCHES: [usize; 4] = [1, 700, 4096, 1 << 20];

fn same_report_batched(what: &str, data: &[u8], job: &Job) {
    let want = direct(data, job).unwrap();
    for threads in 1..=4 {
        for batch in BATCHES {
            let got = batched(data, job, threads, batch).unwrap();
            assert!(
                got == want,
                "{what}: threads {threads}, batch {batch}:\n{}\n---\n{}",
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&got)
            );
        }
    }
}

#[test]
fn a_panicking_worker_neither_hangs_nor_loses_its_panic() {
    let mut data = Vec::new();
    let spec = Spec {
        lines: Some(500),
        ..Spec::default()
    };
    corpus::write(&spec, &mut data).unwrap();
    for threads in 1..=3 {
        for batch in [1, 4096] {
            let calls = std::sync::atomic::AtomicUsize::new(0);
            let analyze = |_: &LineBatch| {
                if calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 2 {
                    panic!("analysis bug");
                }
                1u64
            };
            let mut a = 0u64;
            let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
                pool::read_with(
                    "in",
                    &data[..],
                    InputFormat::Raw,
                    threads,
                    batch,
                    &mut a,
                    &analyze,
                )
            }));
            let panic = run.expect_err("the panic is raised again");
            assert_eq!(
                panic.downcast_ref::<&str>(),
                Some(&"analysis bug"),
                "threads {threads}, batch {batch}"
            );
        }
    }
}

#[test]
fn merge_pairs_every_denial_that_heads_a_chunk() {
    // One line per batch: the denial is analysed apart from its response.
    let data = concat!(
        r#"time="2026-01-15T04:28:17Z" level=info msg="STS response" arn="arn:aws:sts::111122223333:assumed-role/Ops/EKSAuthTokenSession" client="127.0.0.1:57518" session=EKSAuthTokenSession userid=AROAFB62VQG413OU82O05"#,
        "\n",
        r#"time="2026-01-15T04:28:17Z" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/Ops" client="127.0.0.1:57518" error="failed mapping username: SessionName did not contain an instance id""#,
        "\n",
    );
    let want = direct(data.as_bytes(), &Job::default()).unwrap();
    assert!(String::from_utf8_lossy(&want).contains("(session EKSAuthTokenSession)"));
    let got = batched(data.as_bytes(), &Job::default(), 2, 1).unwrap();
    assert!(
        String::from_utf8_lossy(&got).contains("(session EKSAuthTokenSession)"),
        "the merged report lost the session of the paired STS response"
    );
    assert!(got == want);
}

#[test]
fn batches_give_the_same_report_on_every_fixture() {
    let dir =
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("testdata/inputs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        same_report_batched(&path.display().to_string(), &data, &Job::default());
        seen += 1;
    }
    assert!(seen >= 8, "fixtures in {}", dir.display());
}

#[test]
fn batches_give_the_same_report_on_a_generated_corpus_in_every_shape() {
    use corpus::CorpusFormat;
    for format in CorpusFormat::ALL {
        let spec = Spec {
            lines: Some(1500),
            format,
            seed: 3,
            ..Spec::default()
        };
        let mut data = Vec::new();
        corpus::write(&spec, &mut data).unwrap();
        same_report_batched(&format!("{format:?}"), &data, &Job::default());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        same_report_batched(
            &format!("{format:?} gzip"),
            &gz.finish().unwrap(),
            &Job::default(),
        );
    }
}

#[test]
fn batches_keep_odd_lines_and_their_numbers() {
    // Blank lines, CRLF, invalid UTF-8, a character split over two lines, a line longer
    // than a batch, and no final newline.
    let mut data = Vec::new();
    let spec = Spec {
        lines: Some(200),
        ..Spec::default()
    };
    corpus::write(&spec, &mut data).unwrap();
    data.extend_from_slice(b"\n\r\nlevel=info msg=\"caf\xc3\n\xa9\" x=1\nbad \xff\n");
    data.extend_from_slice(format!("level=info msg=\"{}\"\n", "y".repeat(5000)).as_bytes());
    data.extend_from_slice(&data.clone()[..2000]);
    data.extend_from_slice(b"time=\"2026-01-15T00:00:00Z\" level=info msg=last");
    same_report_batched("odd lines", &data, &Job::default());
}

#[test]
fn batches_give_the_same_strict_error() {
    let data = b"level=info msg=ok\nnot logfmt at all\nlevel=info msg=ok\n";
    let job = Job {
        strict: true,
        format: InputFormat::Raw,
        ..Job::default()
    };
    let want = direct(data, &job).unwrap_err().to_string();
    assert!(want.contains("in:2"), "{want}");
    for threads in 1..=4 {
        for batch in BATCHES {
            let got = batched(data, &job, threads, batch).unwrap_err().to_string();
            assert_eq!(got, want, "threads {threads}, batch {batch}");
        }
    }
}

#[test]
fn batches_give_the_same_read_error() {
    let spec = Spec {
        lines: Some(300),
        format: corpus::CorpusFormat::Ndjson,
        ..Spec::default()
    };
    let mut good = Vec::new();
    corpus::write(&spec, &mut good).unwrap();
    let mut document = Vec::new();
    corpus::write(
        &Spec {
            format: corpus::CorpusFormat::FilterLogEvents,
            ..spec.clone()
        },
        &mut document,
    )
    .unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "bad NDJSON line",
            [&good[..], b"{\"message\": oops}\n", &good[..]].concat(),
        ),
        ("truncated NDJSON", good[..good.len() - 40].to_vec()),
        (
            "truncated document",
            document[..document.len() / 2].to_vec(),
        ),
        (
            "bad first line",
            [&b"{\"message\": \n"[..], &good[..]].concat(),
        ),
    ];
    for (what, data) in cases {
        let want = direct(&data, &Job::default()).unwrap_err().to_string();
        for threads in 1..=4 {
            for batch in BATCHES {
                let got = batched(&data, &Job::default(), threads, batch)
                    .unwrap_err()
                    .to_string();
                assert_eq!(got, want, "{what}: threads {threads}, batch {batch}");
            }
        }
    }
}

/// Counts lines: the engines run any mergeable accumulator, not only the analysis.
struct CountLines;

impl Fold for CountLines {
    type Acc = u64;

    fn fresh(&self) -> u64 {
        0
    }

    fn line(&self, n: &mut u64, _: &[u8], _: &Envelope<'_>, _: Loc<'_>) {
        *n += 1;
    }
}

#[test]
fn any_fold_runs_on_the_split_and_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.log");
    let spec = Spec {
        lines: Some(2000),
        ..Spec::default()
    };
    corpus::write(&spec, &mut File::create(&path).unwrap()).unwrap();
    let data = std::fs::read(&path).unwrap();
    let lines = source::count_lines(&data);
    for threads in [2, 5] {
        let mut n = 0;
        let stats = read_file(
            &path,
            "c",
            InputFormat::Raw,
            threads,
            4096,
            700,
            &CountLines,
            &mut n,
        )
        .unwrap();
        assert_eq!(
            (n, stats.records),
            (lines, lines),
            "split, threads {threads}"
        );
        let mut n = 0;
        pool::read(
            "c",
            &data[..],
            InputFormat::Raw,
            threads,
            700,
            &CountLines,
            &mut n,
        )
        .unwrap();
        assert_eq!(n, lines, "pool, threads {threads}");
    }
}

#[test]
fn thread_counts_are_clamped() {
    // `--threads 5000` asked for 42 GB of batch buffers and aborted.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let most = (cores * THREADS_PER_CORE).min(MAX_THREADS);
    assert_eq!(resolve_threads(0), cores.min(most));
    assert_eq!(resolve_threads(1), 1);
    for n in [5000, 99_999_999_999, usize::MAX] {
        assert_eq!(resolve_threads(n), most, "{n}");
    }
}

/// Issue 10, item 1: a newest-first file cut into chunks on several threads gives the report
/// of one pass, and that is the report of the same lines oldest first (but for the line of
/// each example). Chunks only collect their responses, grants and denials; the analyzer
/// they merge into places them in time.
#[test]
fn a_newest_first_file_on_any_thread_count_gives_the_oldest_first_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut oldest = Vec::new();
    let spec = Spec {
        lines: Some(4000),
        ..Spec::default()
    };
    corpus::write(&spec, &mut oldest).unwrap();
    let mut lines: Vec<&[u8]> = oldest
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    lines.reverse();
    let newest = [lines.join(&b'\n'), b"\n".to_vec()].concat();
    let path = dir.path().join("newest.log");
    std::fs::write(&path, &newest).unwrap();
    let job = Job {
        inputs: vec![Input::File(path.clone())],
        threads: 1,
        ..Job::default()
    };
    let (r, inputs) = report(&job).unwrap();
    let want = json(&r, &inputs);
    for threads in [2, 3, 7] {
        let mut a = Analyzer::new(job.options.clone());
        let stats = read_file(
            &path,
            &inputs[0].name,
            job.format,
            threads,
            4096,
            1 << 20,
            &Analyse(&job.options),
            &mut a,
        )
        .unwrap();
        let got = json(&a.finish(), &[InputSummary::new(&inputs[0].name, stats)]);
        assert!(got == want, "threads {threads}");
    }
    // The same classes as oldest first.
    let (o, _) = report_from("in", &oldest[..], &Job::default()).unwrap();
    let classes = |r: &Report| {
        r.failures
            .by_class
            .iter()
            .map(|c| (c.class, c.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(classes(&r), classes(&o));
    assert!(
        classes(&o)
            .iter()
            .any(|(c, _)| c.as_str() == "node_role_not_mapped")
    );
}
