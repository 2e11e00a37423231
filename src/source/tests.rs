//! Tests for `source`: one per input shape over the fixtures in `testdata/inputs/`, detection
//! on those files, error messages, the raw reader's buffer handling, gzip, and a proptest that
//! no input makes the readers panic.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use proptest::prelude::*;

use super::*;

/// §1.5 example 1 of the authenticator log reference.
const L1: &str = r#"time="2021-08-11T10:09:43Z" level=info msg="access granted" arn="arn:aws:iam::12345678910:user/awscli" client="127.0.0.1:51326" groups="[system:masters]" method=POST path=/authenticate sts=sts.eu-west-1.amazonaws.com uid="heptio-authenticator-aws:12345678910:ABCDEFGHIJKLMNOP" username=kubernetes-admin"#;
/// §1.5 example 3 (escaped JSON body, commas).
const L3: &str = r#"time="2022-12-26T20:46:48Z" level=warning msg="access denied" client="127.0.0.1:43440" error="sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {\"Error\":{\"Code\":\"InvalidClientTokenId\",\"Message\":\"The security token included in the request is invalid.\",\"Type\":\"Sender\"},\"RequestId\":\"a9068247-f1ab-47ef-b1b1-cda46a27be0e\"}" method=POST path=/authenticate"#;
/// §1.5 example 4.
const L4: &str = r#"time="2022-12-28T15:37:19Z" level=warning msg="access denied" arn="arn:aws:iam::XXXXXXXXXX:role/admin-test-role" client="127.0.0.1:33384" error="ARN is not mapped" method=POST path=/authenticate"#;
/// §1.5 example 9, first line.
const L9: &str = r#"level=info msg="starting mapper \"MountedFile\"""#;
const STREAM: &str = "authenticator-0123456789abcdef0123456789abcdef";

/// One pushed line, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    text: Vec<u8>,
    ts: Option<i64>,
    stream: Option<String>,
    ptr: Option<String>,
    ingestion: Option<i64>,
    input: String,
    line: u64,
}

/// A line with no envelope.
fn plain(text: &str, input: &str, line: u64) -> Got {
    Got {
        text: text.into(),
        ts: None,
        stream: None,
        ptr: None,
        ingestion: None,
        input: input.into(),
        line,
    }
}

fn with_ts(text: &str, ts: i64, input: &str, line: u64) -> Got {
    Got {
        ts: Some(ts),
        ..plain(text, input, line)
    }
}

#[derive(Default)]
struct Collect(Vec<Got>);

impl LineSink for Collect {
    fn line(&mut self, text: &[u8], envelope: &Envelope<'_>, loc: Loc<'_>) {
        self.0.push(Got {
            text: text.to_vec(),
            ts: envelope.timestamp_ms,
            stream: envelope.stream.map(Into::into),
            ptr: envelope.ptr.map(Into::into),
            ingestion: envelope.ingestion_ms,
            input: loc.input.into(),
            line: loc.line,
        });
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/inputs")
        .join(name)
}

/// Reads a fixture file through [`read_input`], as the CLI does.
fn read_fixture(name: &str, format: InputFormat) -> (Vec<Got>, InputStats) {
    let input = Input::File(fixture(name));
    let mut sink = Collect::default();
    let stats = read_input(&input, format, &mut sink)
        .unwrap_or_else(|e| panic!("{name} as {format}: {e:#?}"));
    assert_eq!(stats.records, sink.0.len() as u64);
    (sink.0, stats)
}

fn read_bytes(bytes: &[u8], format: InputFormat) -> Result<Vec<Got>, Error> {
    let mut sink = Collect::default();
    read_from("mem", bytes, format, &mut sink)?;
    Ok(sink.0)
}

fn show(got: &[Got]) -> String {
    got.iter()
        .map(|g| {
            format!(
                "{}:{} {}\n",
                g.input,
                g.line,
                String::from_utf8_lossy(&g.text)
            )
        })
        .collect()
}

#[test]
fn filter_log_events_document() {
    let name = fixture("filter-log-events.json")
        .to_string_lossy()
        .into_owned();
    let event = |text: &str, ts: i64, ingest: i64, id: &str, line| Got {
        text: text.into(),
        ts: Some(ts),
        stream: Some(STREAM.into()),
        ptr: Some(id.into()),
        ingestion: Some(ts + ingest),
        input: name.clone(),
        line,
    };
    let (got, stats) = read_fixture("filter-log-events.json", InputFormat::FilterLogEvents);
    assert_eq!(
        got,
        vec![
            event(
                L1,
                1_628_676_583_000,
                512,
                "36301960390346545925843925466463447327451238062645329920",
                1
            ),
            event(
                L3,
                1_672_087_608_000,
                730,
                "37300848452226047371425616735584131245040327826398527488",
                2
            ),
            event(
                L4,
                1_672_241_839_000,
                401,
                "37304287915298128009107405339437932219906618047234572288",
                3
            ),
        ]
    );
    assert_eq!(stats.format, InputFormat::FilterLogEvents);
    assert_eq!(
        stats.bytes,
        std::fs::metadata(fixture("filter-log-events.json"))
            .unwrap()
            .len()
    );
}

#[test]
fn filter_log_events_ndjson_of_events_and_pages() {
    let name = fixture("events.ndjson").to_string_lossy().into_owned();
    let (got, _) = read_fixture("events.ndjson", InputFormat::FilterLogEvents);
    let e = |text: &str, ts, stream: Option<&str>, ptr: Option<&str>, ingestion, line| Got {
        text: text.into(),
        ts: Some(ts),
        stream: stream.map(Into::into),
        ptr: ptr.map(Into::into),
        ingestion,
        input: name.clone(),
        line,
    };
    assert_eq!(
        got,
        vec![
            e(
                L1,
                1_628_676_583_000,
                Some(STREAM),
                Some("e1"),
                Some(1_628_676_583_512),
                1
            ),
            // The message's trailing "\n" is dropped.
            e(L3, 1_672_087_608_000, None, None, None, 2),
            e(
                L4,
                1_672_241_839_000,
                Some(STREAM),
                Some("e3"),
                Some(1_672_241_839_401),
                3
            ),
            e(L9, 1, Some("authenticator-x"), None, None, 4),
        ]
    );
}

#[test]
fn filter_log_events_concatenated_pretty_pages() {
    let doc = std::fs::read(fixture("filter-log-events.json")).unwrap();
    let twice = [&doc[..], &doc[..]].concat();
    let got = read_bytes(&twice, InputFormat::Auto).unwrap();
    assert_eq!(got.len(), 6);
    assert_eq!(got[3].text, L1.as_bytes());
    assert_eq!(got[5].line, 6);
}

#[test]
fn query_results_both_timestamp_forms_and_missing_cells() {
    let name = fixture("query-results.json").to_string_lossy().into_owned();
    let (got, stats) = read_fixture("query-results.json", InputFormat::QueryResults);
    assert_eq!(
        got,
        vec![
            Got {
                stream: Some(STREAM.into()),
                ptr: Some(
                    "CmAKJwojMTIzNDU2Nzg5MDEyOi9hd3MvZWtzL2RlbW8vY2x1c3RlchAHEjUaGAIGZ".into()
                ),
                ..with_ts(L1, 1_628_676_583_000, &name, 1)
            },
            Got {
                stream: Some("authenticator-abc123".into()),
                ptr: Some("2299".into()),
                ..with_ts(L3, 1_672_087_608_123, &name, 2)
            },
            plain(L4, &name, 3),
        ]
    );
    assert_eq!(stats.format, InputFormat::QueryResults);
}

#[test]
fn insights_csv_export_with_doubled_quotes_and_commas() {
    let name = fixture("insights-export.csv")
        .to_string_lossy()
        .into_owned();
    let (got, _) = read_fixture("insights-export.csv", InputFormat::Csv);
    assert_eq!(
        got,
        vec![
            Got {
                stream: Some(STREAM.into()),
                ..with_ts(L1, 1_628_676_583_000, &name, 2)
            },
            Got {
                stream: Some(STREAM.into()),
                ..with_ts(L3, 1_672_087_608_000, &name, 3)
            },
            // An empty @logStream cell is no stream.
            with_ts(L4, 1_672_241_839_250, &name, 4),
        ]
    );
}

#[test]
fn csv_quoted_field_spanning_lines_and_bom() {
    let csv = "\u{feff}\"@message\",\"@timestamp\"\n\"first\nsecond\",1000\n\"a,b\",\n";
    let got = read_bytes(csv.as_bytes(), InputFormat::Auto).unwrap();
    assert_eq!(
        got,
        vec![
            with_ts("first\nsecond", 1000, "mem", 2),
            plain("a,b", "mem", 3)
        ]
    );
}

#[test]
fn docker_json_file_joins_split_lines() {
    let name = fixture("docker.log").to_string_lossy().into_owned();
    let (got, _) = read_fixture("docker.log", InputFormat::Docker);
    let d = |text: &str, ts, stream: &str, line| Got {
        stream: Some(stream.into()),
        ..with_ts(text, ts, &name, line)
    };
    assert_eq!(
        got,
        vec![
            d(L4, 1_672_241_839_123, "stderr", 1),
            d(L3, 1_672_087_608_000, "stderr", 2),
            d(
                r#"Authenticator Version: "v0.7.18", "81b1daba""#,
                1_768_469_400_500,
                "stdout",
                4
            ),
        ],
        "{}",
        show(&got)
    );
}

#[test]
fn docker_split_line_at_end_of_input_is_kept() {
    let input = br#"{"log":"half a li","stream":"stderr","time":"1970-01-01T00:00:01Z"}
{"log":"ne","stream":"stderr","time":"1970-01-01T00:00:02Z"}"#;
    let got = read_bytes(input, InputFormat::Docker).unwrap();
    assert_eq!(
        got,
        vec![Got {
            stream: Some("stderr".into()),
            ..with_ts("half a line", 2000, "mem", 1)
        }]
    );
}

fn s3_expected(name: &str) -> Vec<Got> {
    vec![
        with_ts(
            r#"Authenticator Version: "v0.7.18", "81b1daba00d194c00d3cdd8b0a0fece5ba648d4e""#,
            1_768_469_400_123,
            name,
            1,
        ),
        with_ts(L9, 1_768_469_400_456, name, 2),
        with_ts(L1, 1_768_469_401_000, name, 3),
        with_ts(L4, 1_768_469_402_789, name, 5),
    ]
}

#[test]
fn s3_export_moves_timestamp_to_envelope() {
    let name = fixture("s3-export.log").to_string_lossy().into_owned();
    let (got, _) = read_fixture("s3-export.log", InputFormat::S3Export);
    assert_eq!(got, s3_expected(&name));
    // A line without the prefix is passed on whole.
    let got = read_bytes(b"no timestamp here\n", InputFormat::S3Export).unwrap();
    assert_eq!(got, vec![plain("no timestamp here", "mem", 1)]);
}

#[test]
fn s3_export_gzip_is_detected_and_equals_plain() {
    let name = fixture("s3-export.log.gz").to_string_lossy().into_owned();
    let (got, stats) = read_fixture("s3-export.log.gz", InputFormat::Auto);
    assert_eq!(got, s3_expected(&name));
    assert_eq!(stats.format, InputFormat::S3Export);
    assert_eq!(
        stats.bytes,
        std::fs::metadata(fixture("s3-export.log.gz"))
            .unwrap()
            .len()
    );
}

#[test]
fn raw_strips_cr_and_keeps_empty_lines() {
    let name = fixture("raw-crlf.log").to_string_lossy().into_owned();
    let (got, stats) = read_fixture("raw-crlf.log", InputFormat::Raw);
    assert_eq!(
        got,
        vec![
            plain(L1, &name, 1),
            plain(L3, &name, 2),
            plain("", &name, 3),
            plain(L4, &name, 4),
            plain(L9, &name, 5),
        ]
    );
    assert_eq!(stats.records, 5);
}

#[test]
fn raw_passes_invalid_utf8_through() {
    let got = read_bytes(b"ok\n\xff\xfe bad \xc3\n", InputFormat::Raw).unwrap();
    assert_eq!(got[1].text, b"\xff\xfe bad \xc3");
}

#[test]
fn auto_detects_every_fixture() {
    for (file, want) in [
        ("filter-log-events.json", InputFormat::FilterLogEvents),
        ("events.ndjson", InputFormat::FilterLogEvents),
        ("query-results.json", InputFormat::QueryResults),
        ("insights-export.csv", InputFormat::Csv),
        ("docker.log", InputFormat::Docker),
        ("s3-export.log", InputFormat::S3Export),
        ("s3-export.log.gz", InputFormat::S3Export),
        ("raw-crlf.log", InputFormat::Raw),
    ] {
        let (auto, stats) = read_fixture(file, InputFormat::Auto);
        assert_eq!(stats.format, want, "{file}");
        let (explicit, _) = read_fixture(file, want);
        assert_eq!(auto, explicit, "{file}");
        assert!(!auto.is_empty(), "{file}");
    }
}

#[test]
fn input_names() {
    assert_eq!(Input::from_arg("-"), Input::Stdin);
    assert_eq!(Input::from_arg("a.log"), Input::File("a.log".into()));
    assert_eq!(Input::Stdin.to_string(), "-");
    assert_eq!(Input::from_arg("dir/a.log").name(), "dir/a.log");
}

#[test]
fn format_names_are_kebab_case() {
    use clap::ValueEnum;
    let names: Vec<_> = InputFormat::value_variants()
        .iter()
        .map(|f| f.to_possible_value().unwrap().get_name().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "auto",
            "raw",
            "filter-log-events",
            "query-results",
            "csv",
            "docker",
            "s3-export"
        ]
    );
    for f in InputFormat::value_variants() {
        assert_eq!(f.to_possible_value().unwrap().get_name(), f.as_str());
    }
}

// ---- errors ----

fn err(bytes: &[u8], format: InputFormat) -> Error {
    match read_bytes(bytes, format) {
        Ok(got) => panic!("expected an error, got {}", show(&got)),
        Err(e) => e,
    }
}

#[test]
fn open_failure_names_the_path() {
    let input = Input::File("/nonexistent/dir/x.log".into());
    let e = read_input(&input, InputFormat::Auto, &mut Collect::default()).unwrap_err();
    assert!(matches!(e, Error::Open { .. }), "{e:?}");
    assert_eq!(e.to_string(), "cannot open /nonexistent/dir/x.log");
    assert_eq!(e.input(), "/nonexistent/dir/x.log");
}

#[test]
fn unknown_json_shape_names_the_input() {
    let e = err(
        br#"{"level":"warning","msg":"access denied"}"#,
        InputFormat::Auto,
    );
    assert!(matches!(e, Error::UnknownShape { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("mem: JSON input of unknown shape"),
        "{e}"
    );
    let e = err(b"[{\"message\":\"x\"}]", InputFormat::Auto);
    assert!(matches!(e, Error::UnknownShape { .. }), "{e:?}");
}

#[test]
fn malformed_json_gives_line_and_column() {
    let cases: &[(&[u8], InputFormat, u64, u64)] = &[
        // An event that is not an object.
        (b"\n{\"events\": [1,}", InputFormat::Auto, 2, 13),
        // Detection spots it.
        (b"\n{\"events\" [1]}", InputFormat::Auto, 2, 11),
        (b"{\"a\":", InputFormat::Auto, 1, 5),
        // NDJSON: the third line is broken.
        (
            b"{\"timestamp\":1,\"message\":\"a\"}\n\n{\"timestamp\":2,\"message\":\"b\"\n",
            InputFormat::Auto,
            3,
            28,
        ),
        // A pretty document, broken on its third line.
        (
            b"{\n \"events\": [\n  {\"message\": x}]}",
            InputFormat::FilterLogEvents,
            3,
            15,
        ),
        (
            b"{\"results\": [[{\"field\": 1}]]}",
            InputFormat::QueryResults,
            1,
            25,
        ),
        // Docker line without `log`.
        (
            b"{\"log\":\"a\\n\",\"stream\":\"stderr\"}\n{\"stream\":\"stderr\",\"time\":\"x\"}",
            InputFormat::Auto,
            2,
            30,
        ),
    ];
    for (input, format, line, column) in cases {
        let e = err(input, *format);
        match &e {
            Error::MalformedJson {
                input,
                line: l,
                column: c,
                ..
            } => {
                assert_eq!((input.as_str(), *l, *c), ("mem", *line, *column), "{e:#}");
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(input)),
        }
        assert!(e.to_string().starts_with("mem: malformed JSON at line"));
    }
}

#[test]
fn missing_message_is_an_error() {
    let e = err(
        br#"{"results":[[{"field":"@ptr","value":"1"}]]}"#,
        InputFormat::Auto,
    );
    assert!(
        matches!(e, Error::MissingMessage { record: 1, .. }),
        "{e:?}"
    );
    let e = err(
        b"{\"timestamp\":1,\"message\":\"a\"}\n{\"timestamp\":2}\n",
        InputFormat::FilterLogEvents,
    );
    assert!(
        matches!(e, Error::MissingMessage { record: 2, .. }),
        "{e:?}"
    );
    let e = err(b"@timestamp,@log\n1,x\n", InputFormat::Csv);
    assert!(matches!(e, Error::MissingMessageColumn { .. }), "{e:?}");
    assert_eq!(e.to_string(), "mem: the CSV header has no @message column");
}

#[test]
fn malformed_csv_names_the_record() {
    let e = err(
        b"@timestamp,@message\n1,\"ok\"\n2,\"never closed\n",
        InputFormat::Csv,
    );
    assert!(matches!(e, Error::MalformedCsv { record: 3, .. }), "{e:?}");
    let e = err(b"@timestamp,@log,@message\n1,x\n", InputFormat::Csv);
    assert!(matches!(e, Error::MalformedCsv { record: 2, .. }), "{e:?}");
}

#[test]
fn corrupt_gzip_is_a_gzip_error() {
    let plain = std::fs::read(fixture("s3-export.log")).unwrap();
    let mut gz = std::fs::read(fixture("s3-export.log.gz")).unwrap();
    let len = gz.len();
    gz[len / 2] ^= 0xff;
    let e = err(&gz, InputFormat::Auto);
    assert!(matches!(e, Error::Gzip { .. }), "{e:?}");
    // Truncated.
    let e = err(&gz[..len / 2], InputFormat::Raw);
    assert!(matches!(e, Error::Gzip { .. }), "{e:?}");
    assert!(!plain.is_empty());
}

/// Yields `data` in reads of at most `step` bytes, then fails if `fail` is set.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
    fail: bool,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() && self.fail {
            return Err(io::Error::other("disk on fire"));
        }
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn read_failure_is_a_read_error_even_under_gzip() {
    let gz = std::fs::read(fixture("s3-export.log.gz")).unwrap();
    for data in [&b"line one\nline two"[..], &gz[..20]] {
        let reader = Trickle {
            data,
            step: 7,
            fail: true,
        };
        let e = read_from("flaky", reader, InputFormat::Auto, &mut Collect::default()).unwrap_err();
        match &e {
            Error::Read { input, source } => {
                assert_eq!(input, "flaky");
                assert_eq!(source.to_string(), "disk on fire");
            }
            other => panic!("{other:?}"),
        }
    }
}

// ---- the raw reader's buffer handling ----

fn raw_with(data: &[u8], buffer: usize, step: usize) -> Vec<Got> {
    let mut sink = Collect::default();
    let reader = Trickle {
        data,
        step,
        fail: false,
    };
    read_with("mem", reader, InputFormat::Raw, buffer, &mut sink).unwrap();
    sink.0
}

#[test]
fn raw_output_is_the_same_for_every_buffer_size() {
    let mut data = std::fs::read(fixture("raw-crlf.log")).unwrap();
    data.extend_from_slice(b"\n\nshort\n\r\nx");
    let reference = split_reference(&data);
    assert_eq!(reference.len(), 9);
    for buffer in 1..=64 {
        for step in [1, 3, 64, 1 << 20] {
            assert_eq!(
                raw_with(&data, buffer, step),
                reference,
                "buffer {buffer} step {step}"
            );
        }
    }
}

/// The expected raw output, computed the slow obvious way.
fn split_reference(data: &[u8]) -> Vec<Got> {
    let mut pieces: Vec<&[u8]> = data.split(|&c| c == b'\n').collect();
    // The piece after a final newline (or of empty input) is not a line.
    if data.is_empty() || data.ends_with(b"\n") {
        pieces.pop();
    }
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, l)| Got {
            text: l.strip_suffix(b"\r").unwrap_or(l).to_vec(),
            ..plain("", "mem", i as u64 + 1)
        })
        .collect()
}

#[test]
fn raw_lines_longer_than_the_buffer() {
    let long = "k=v ".repeat(10_000);
    let data = format!("{long}\nshort\n{long}{long}");
    for buffer in [1, 16, 4096] {
        let got = raw_with(data.as_bytes(), buffer, 1000);
        assert_eq!(got, split_reference(data.as_bytes()), "buffer {buffer}");
        assert_eq!(got[2].text.len(), 80_000);
    }
}

#[test]
fn split_lines_numbers_from_start_line() {
    let mut sink = Collect::default();
    let n = split_lines(b"a\r\n\nb", 41, "big", &mut sink);
    assert_eq!(n, 3);
    assert_eq!(
        sink.0,
        vec![
            plain("a", "big", 41),
            plain("", "big", 42),
            plain("b", "big", 43)
        ]
    );
}

#[test]
fn chunked_split_equals_sequential() {
    let data = std::fs::read(fixture("raw-crlf.log")).unwrap().repeat(50);
    let reference = read_bytes(&data, InputFormat::Raw).unwrap();
    for n in [1, 2, 3, 8, 1000] {
        let mut sink = Collect::default();
        let mut line = 1;
        for range in chunk_boundaries(&data, n) {
            line += split_lines(&data[range], line, "mem", &mut sink);
        }
        assert_eq!(sink.0, reference, "n={n}");
    }
}

// ---- gzip ----

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_equals_plain_for_every_shape() {
    for file in [
        "filter-log-events.json",
        "events.ndjson",
        "query-results.json",
        "insights-export.csv",
        "docker.log",
        "s3-export.log",
        "raw-crlf.log",
    ] {
        let data = std::fs::read(fixture(file)).unwrap();
        let plain = read_bytes(&data, InputFormat::Auto).unwrap();
        assert_eq!(
            read_bytes(&gzip(&data), InputFormat::Auto).unwrap(),
            plain,
            "{file}"
        );
        // Concatenated members, split mid-line, read a few bytes at a time.
        let (a, b) = data.split_at(data.len() / 3);
        let members = [gzip(a), gzip(b)].concat();
        let mut sink = Collect::default();
        let reader = Trickle {
            data: &members,
            step: 5,
            fail: false,
        };
        read_from("mem", reader, InputFormat::Auto, &mut sink).unwrap();
        assert_eq!(sink.0, plain, "{file} (two members)");
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_bytes(&bytes, InputFormat::Auto);
    }

    #[test]
    fn json_like_bytes_never_panic(
        tail in "[{}\\[\\]\",:a-z0-9 \\\\\n@-]{0,200}",
        head in prop::sample::select(vec!["{", "{\"events\":", "{\"results\":[[", "{\"log\":", "@message,", "2026-01-15T09:30:00Z "]),
    ) {
        let _ = read_bytes(format!("{head}{tail}").as_bytes(), InputFormat::Auto);
        let _ = read_bytes(&gzip(format!("{head}{tail}").as_bytes()), InputFormat::Auto);
    }

    #[test]
    fn raw_matches_reference(data in proptest::collection::vec(prop::sample::select(vec![b'a', b'\n', b'\r', 0xff]), 0..200), buffer in 1usize..32) {
        prop_assert_eq!(raw_with(&data, buffer, 7), split_reference(&data));
    }
}
