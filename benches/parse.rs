//! Parser benchmarks: one line at a time, alone and with classification.
//!
//! Three shapes of line: a plain modern grant, a long denial carrying an escaped STS JSON
//! body, and an escape-heavy node-template denial. `parse_line` times the nom parser alone;
//! `parse_classify` adds the typed event and the failure class, which is what every line of
//! `report` costs before the analysis proper.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use eks_authlog_core::classify::classify_denial;
use eks_authlog_core::event::Event;
use eks_authlog_core::parse::parse_bytes;
use eks_authlog_core::source::{Envelope, Loc};

const GRANT: &[u8] = br#"time="2025-12-24T19:48:32Z" level=info msg="access granted" arn="arn:aws:iam::927209226484:role/AWSWesleyClusterManagerLambda-Add-AddonManagerRole-1CRTQUJF13T5U" client="127.0.0.1:54812" groups="[]" method=POST path=/authenticate stsendpoint=sts.us-east-1.amazonaws.com uid="aws-iam-authenticator:927209226484:AROA5PYP2AD2FVXU23CA6" username="eks:addon-manager""#;

/// The longest realistic line: STS's JSON error body, every quote escaped.
const STS_DENIAL: &[u8] = include_bytes!("../testdata/classes/sts_wrong_cluster_or_secret.log");

/// Escapes of every kind a node-template denial carries (`\"`, `\n`, `\t`).
const ESCAPES: &[u8] = include_bytes!("../testdata/classes/node_template_ec2_denied.log");

fn first_line(b: &[u8]) -> &[u8] {
    b.split(|&c| c == b'\n').next().unwrap_or(b)
}

fn inputs() -> [(&'static str, &'static [u8]); 3] {
    [
        ("grant", GRANT),
        ("sts_denial", first_line(STS_DENIAL)),
        ("escapes", first_line(ESCAPES)),
    ]
}

fn parse_line(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_line");
    for (name, line) in inputs() {
        g.throughput(Throughput::Bytes(line.len() as u64));
        g.bench_with_input(BenchmarkId::new(name, line.len()), line, |b, line| {
            b.iter(|| black_box(parse_bytes(black_box(line)).map(|r| r.fields().len())))
        });
    }
    g.finish();
}

fn parse_classify(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_classify");
    let loc = Loc {
        input: "bench",
        line: 1,
    };
    for (name, line) in inputs() {
        g.throughput(Throughput::Bytes(line.len() as u64));
        g.bench_with_input(BenchmarkId::new(name, line.len()), line, |b, line| {
            b.iter(|| {
                let e = Event::parse(black_box(line), Envelope::default(), loc).ok()?;
                let class = e.error().map(|err| classify_denial(&err).class);
                black_box(Some((e.kind, e.time_ms, class)))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parse_line, parse_classify);
criterion_main!(benches);
