//! The paste fixtures in `testdata/paste/` end to end, and the source damage of issue 10
//! (JSON lines in raw files, Fluent Bit records, invalid UTF-8, other compressions, files in
//! which nothing parses, records of unbounded length): each read, or refused by name.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use super::*;
use crate::analysis::Report;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/paste")
        .join(name)
}

fn run(inputs: Vec<Input>, threads: usize) -> Result<Report> {
    let job = Job {
        inputs,
        threads,
        ..Job::default()
    };
    report(&job).map(|(r, _)| r)
}

fn read(name: &str) -> Report {
    run(vec![Input::File(fixture(name))], 1).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `(granted, denied, failures, repairs)` of a report.
fn outcome(r: &Report) -> (u64, u64, u64, BTreeMap<&'static str, u64>) {
    (
        r.events.by_kind["access_granted"],
        r.events.by_kind["access_denied"],
        r.failures.total,
        r.events.repairs.clone(),
    )
}

fn map(pairs: &[(&'static str, u64)]) -> BTreeMap<&'static str, u64> {
    pairs.iter().copied().collect()
}

#[test]
fn every_paste_fixture_reads_with_its_repairs_counted() {
    // The fixtures hold three public lines (re:Post: a grant, an STS denial, a not-mapped
    // denial) and the re:Post creator grant, in each pasted shape.
    /// Fixture, grants, denials (each one failure), repairs.
    type Case = (&'static str, u64, u64, &'static [(&'static str, u64)]);
    let cases: &[Case] = &[
        ("bom-crlf.log", 1, 2, &[("bom", 1), ("crlf", 3)]),
        ("console-table.txt", 1, 0, &[("header_joined", 1)]),
        ("csv-header-joined.csv", 1, 2, &[("header_joined", 1)]),
        ("csv-no-header.csv", 1, 2, &[("csv_no_header", 3)]),
        ("csv-semicolon.csv", 1, 2, &[("csv_semicolon", 3)]),
        ("fluent-bit.log", 1, 2, &[]),
        ("json-lines-in-raw.log", 2, 2, &[("json_line", 3)]),
        ("json-string.log", 1, 2, &[("json_string", 3)]),
        ("lossy-utf8.log", 1, 1, &[("lossy_utf8", 1)]),
        ("markdown.md", 2, 2, &[("markdown", 5)]),
        ("pretty-json.log", 2, 2, &[("pretty_json", 18)]),
        ("typographic.log", 1, 1, &[("typographic", 2)]),
        (
            "utf16be.log",
            1,
            2,
            &[("bom", 1), ("crlf", 3), ("utf16", 3)],
        ),
        (
            "utf16le.log",
            1,
            2,
            &[("bom", 1), ("crlf", 3), ("utf16", 3)],
        ),
        ("wrapped.log", 2, 2, &[("wrapped", 12)]),
    ];
    let mut table = String::from("| fixture | repairs |\n|---|---|\n");
    for &(name, granted, denied, repairs) in cases {
        let r = read(name);
        let got = outcome(&r);
        table.push_str(&format!("| {name} | {:?} |\n", got.3));
        assert_eq!(
            got,
            (granted, denied, denied, map(repairs)),
            "{name}: {}",
            r.events.summary()
        );
        // Every physical line is accounted for.
        let physical = std::fs::read(fixture(name)).unwrap();
        let joined = r.events.repairs.get("wrapped").unwrap_or(&0)
            + r.events.repairs.get("pretty_json").unwrap_or(&0);
        if !name.ends_with(".csv") && !name.starts_with("utf16") && name != "fluent-bit.log" {
            assert_eq!(
                r.events.total + joined,
                crate::source::count_lines(&physical),
                "{name}"
            );
        }
    }
    println!("{table}");
}

#[test]
fn fluent_bit_records_are_one_event_each() {
    // Before: detected as Docker and glued into one record, 0 failures.
    let r = read("fluent-bit.log");
    assert_eq!(r.events.total, 3);
    assert_eq!(r.failures.total, 2);
}

#[test]
fn json_event_lines_in_a_raw_file_are_read_not_counted_as_other() {
    // Before: parsed as `kind: other` with empty fields, their events lost.
    let r = read("json-lines-in-raw.log");
    assert_eq!(r.events.by_kind["other"], 0);
    assert_eq!(r.events.parsed, 4);
}

#[test]
fn one_invalid_byte_keeps_the_event() {
    // Before: the line was `invalid_utf8` and its denial lost.
    let r = read("lossy-utf8.log");
    assert_eq!(r.events.unparsed, 0);
    assert_eq!(r.failures.total, 1);
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eks-authlog-paste-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    path
}

#[test]
fn other_compressions_are_refused_by_name() {
    for (name, magic, format) in [
        ("x.bz2", &b"BZh91AY&SY"[..], "bzip2"),
        ("x.xz", &[0xFD, b'7', b'z', b'X', b'Z', 0, 0, 4][..], "xz"),
        ("x.zst", &[0x28, 0xB5, 0x2F, 0xFD, 0x24, 0x00][..], "zstd"),
    ] {
        let path = temp(name, magic);
        let err = run(vec![Input::File(path)], 1).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains(format), "{err}");
    }
}

#[test]
fn a_file_in_which_nothing_parsed_is_an_error_naming_it() {
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let path = temp("garbage.bin", &garbage);
    let err = run(vec![Input::File(path)], 1).unwrap_err().to_string();
    assert!(
        err.contains("garbage.bin") && err.contains("no authenticator line"),
        "{err}"
    );
    // Blank and empty inputs stay fine.
    let blank = temp("blank.log", b"\n\n\n");
    assert_eq!(run(vec![Input::File(blank)], 1).unwrap().events.total, 3);
}

#[test]
fn a_record_longer_than_the_maximum_is_counted_too_long_and_reading_goes_on() {
    let good = br#"time="2022-12-28T15:37:19Z" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/x" client="127.0.0.1:1" error="ARN is not mapped" method=POST path=/authenticate"#;
    for (long, threads) in [(3 << 20, 1), (20 << 20, 2)] {
        let mut data = good.to_vec();
        data.push(b'\n');
        data.extend(std::iter::repeat_n(b'A', long));
        data.push(b'\n');
        data.extend_from_slice(good);
        data.push(b'\n');
        let path = temp(&format!("long-{threads}.log"), &data);
        let r = run(vec![Input::File(path)], threads).unwrap();
        assert_eq!(
            r.events.unparsed_by_reason.get("too_long"),
            Some(&1),
            "{threads}"
        );
        assert_eq!((r.events.total, r.failures.total), (3, 2), "{threads}");
    }
}
