//! Whole-pipeline benchmarks on a generated corpus, and the renderers.
//!
//! `report` reads a few megabytes of realistic lines (from `eks_authlog_testkit::corpus`, fixed seed)
//! as raw lines and as `filter-log-events` JSON, on one thread, so the numbers are per core.
//! The renderers write the resulting report (table, JSON) and the event stream (NDJSON) into
//! a reused `Vec<u8>`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use eks_authlog_core::event::Event;
use eks_authlog_core::pipeline::{self, Job};
use eks_authlog_core::report::stream::EventWriter;
use eks_authlog_core::report::table::{self, View};
use eks_authlog_core::report::wire::EventOut;
use eks_authlog_core::report::{Format, TableStyle, document};
use eks_authlog_core::source::{Envelope, InputFormat, Loc};
use eks_authlog_testkit::corpus::{self, CorpusFormat, Spec};

fn generate(format: CorpusFormat) -> Vec<u8> {
    let spec = Spec {
        lines: None,
        bytes: Some(8 << 20),
        format,
        ..Spec::default()
    };
    let mut out = Vec::new();
    corpus::write(&spec, &mut out).expect("writing to a Vec");
    out
}

fn job(format: InputFormat) -> Job {
    Job {
        format,
        threads: 1,
        ..Job::default()
    }
}

fn report(c: &mut Criterion) {
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    for (name, format, input) in [
        ("raw", InputFormat::Raw, CorpusFormat::Raw),
        (
            "filter_log_events",
            InputFormat::FilterLogEvents,
            CorpusFormat::FilterLogEvents,
        ),
        ("ndjson", InputFormat::FilterLogEvents, CorpusFormat::Ndjson),
        (
            "query_results",
            InputFormat::QueryResults,
            CorpusFormat::QueryResults,
        ),
    ] {
        let data = generate(input);
        bench_report(&mut g, name, format, data);
    }
    // Both streams in one input: the audit fixture (authenticator denials and audit JSON
    // events, 401s to join, 403s to group) repeated to a few megabytes.
    let mixed = include_bytes!("../testdata/audit/mixed.log");
    let data: Vec<u8> = mixed.repeat((4 << 20) / mixed.len());
    bench_report(&mut g, "audit_mixed", InputFormat::Raw, data);
    g.finish();
}

/// The raw reader's line splitting alone (with paste-repair detection), into a sink that
/// only counts: the clean path's cost of looking for pasted damage shows here first.
fn split(c: &mut Criterion) {
    let mut g = c.benchmark_group("split");
    g.sample_size(20);
    let data = generate(CorpusFormat::Raw);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function(BenchmarkId::new("raw_lines", data.len()), |b| {
        b.iter(|| {
            let mut n = 0u64;
            eks_authlog_core::source::split_lines(
                black_box(&data[..]),
                1,
                "bench",
                &mut |t: &[u8], _: &Envelope<'_>, _: Loc<'_>| n += t.len() as u64,
            );
            black_box(n)
        })
    });
    g.finish();
}

fn bench_report(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    format: InputFormat,
    data: Vec<u8>,
) {
    let job = job(format);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_with_input(BenchmarkId::new(name, data.len()), &data, |b, data| {
        b.iter(|| {
            let (r, _) = pipeline::report_from("bench", black_box(&data[..]), &job)
                .expect("the corpus reads");
            black_box(r.events.total)
        })
    });
}

fn render(c: &mut Criterion) {
    let data = generate(CorpusFormat::Raw);
    let (report, inputs) =
        pipeline::report_from("bench", &data[..], &job(InputFormat::Raw)).expect("reads");
    let mut g = c.benchmark_group("render");
    let mut out = Vec::with_capacity(1 << 20);
    // Throughput is the size of what each renderer writes.
    document::write(&mut out, &report, &inputs, None).expect("renders");
    g.throughput(Throughput::Bytes(out.len() as u64));
    g.bench_function(BenchmarkId::new("json", out.len()), |b| {
        b.iter(|| {
            out.clear();
            document::write(&mut out, black_box(&report), &inputs, None).expect("renders");
            black_box(out.len())
        })
    });
    out.clear();
    let style = TableStyle::default();
    table::write(&mut out, &report, &inputs, None, View::Report, style).expect("renders");
    g.throughput(Throughput::Bytes(out.len() as u64));
    g.bench_function(BenchmarkId::new("table", out.len()), |b| {
        b.iter(|| {
            out.clear();
            table::write(
                &mut out,
                black_box(&report),
                &inputs,
                None,
                View::Report,
                style,
            )
            .expect("renders");
            black_box(out.len())
        })
    });

    // NDJSON events: parse once, time only the writing.
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .take(20_000)
        .collect();
    let events: Vec<Event<'_>> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let loc = Loc {
                input: "bench",
                line: i as u64 + 1,
            };
            Event::parse(l, Envelope::default(), loc).ok()
        })
        .collect();
    let mut buf: Vec<u8> = Vec::with_capacity(16 << 20);
    let write_all = |buf: &mut Vec<u8>| {
        buf.clear();
        let mut w = EventWriter::new(Format::Ndjson, &mut *buf, style);
        for e in &events {
            w.write(&EventOut::new(e, None, None)).expect("writes");
        }
        w.finish().expect("writes");
    };
    write_all(&mut buf);
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function(BenchmarkId::new("ndjson_events", buf.len()), |b| {
        b.iter(|| {
            write_all(&mut buf);
            black_box(buf.len())
        })
    });

    // One line of 80,000 distinct key=value pairs (issue 10: 26 s in `events` when each field
    // scanned the keys before it; linear now).
    let mut wide = String::from(r#"time="2026-11-20T08:00:00Z" level=info msg="access granted""#);
    for i in 0..80_000 {
        wide.push_str(&format!(" k{i}=v{i}"));
    }
    let loc = Loc {
        input: "bench",
        line: 1,
    };
    let event = Event::parse(wide.as_bytes(), Envelope::default(), loc).expect("parses");
    g.throughput(Throughput::Bytes(wide.len() as u64));
    g.bench_function(
        BenchmarkId::new("ndjson_event_80k_pairs", wide.len()),
        |b| {
            b.iter(|| {
                buf.clear();
                let mut w = EventWriter::new(Format::Ndjson, &mut buf, style);
                w.write(&EventOut::new(black_box(&event), None, None))
                    .expect("writes");
                w.finish().expect("writes");
                black_box(buf.len())
            })
        },
    );
    g.finish();
}

criterion_group!(benches, report, split, render);
criterion_main!(benches);
