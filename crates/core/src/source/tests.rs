//! Tests for `source`: one per input shape over the fixtures in `testdata/inputs/`, detection
//! on those files, error messages, the raw reader's buffer handling, gzip, and a proptest that
//! no input makes the readers panic.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use proptest::prelude::*;

use super::*;

/// AWS re:Post knowledge-center/eks-get-control-plane-logs (2021).
const L1: &str = r#"time="2021-08-11T10:09:43Z" level=info msg="access granted" arn="arn:aws:iam::12345678910:user/awscli" client="127.0.0.1:51326" groups="[system:masters]" method=POST path=/authenticate sts=sts.eu-west-1.amazonaws.com uid="heptio-authenticator-aws:12345678910:ABCDEFGHIJKLMNOP" username=kubernetes-admin"#;
/// AWS re:Post knowledge-center/eks-api-server-unauthorized-error (escaped JSON body, commas).
const L3: &str = r#"time="2022-12-26T20:46:48Z" level=warning msg="access denied" client="127.0.0.1:43440" error="sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {\"Error\":{\"Code\":\"InvalidClientTokenId\",\"Message\":\"The security token included in the request is invalid.\",\"Type\":\"Sender\"},\"RequestId\":\"a9068247-f1ab-47ef-b1b1-cda46a27be0e\"}" method=POST path=/authenticate"#;
/// AWS re:Post knowledge-center/eks-api-server-unauthorized-error.
const L4: &str = r#"time="2022-12-28T15:37:19Z" level=warning msg="access denied" arn="arn:aws:iam::XXXXXXXXXX:role/admin-test-role" client="127.0.0.1:33384" error="ARN is not mapped" method=POST path=/authenticate"#;
/// <https://fun-every-day.com/2023/02/19/eks-authenticator-log/>, first line.
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
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
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
    // It names the option that exists (before: `--format`, which clap refuses).
    assert!(
        e.to_string().ends_with("use --input-format to choose one"),
        "{e}"
    );
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

// ---- filter-log-events: the streaming reader ----

/// What reading a `filter-log-events` input amounts to, for comparing two readers.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Lines(Vec<Got>),
    /// A JSON error: position and serde_json's message without its own position suffix.
    Malformed {
        line: u64,
        column: u64,
        what: String,
    },
    Missing(u64),
}

fn outcome(result: Result<(), Error>, got: Vec<Got>) -> Outcome {
    match result {
        Ok(()) => Outcome::Lines(got),
        Err(Error::MalformedJson {
            line,
            column,
            source,
            ..
        }) => {
            let msg = source.to_string();
            let what = match msg.rfind(" at line ") {
                Some(at) => msg[..at].to_owned(),
                None => msg,
            };
            Outcome::Malformed { line, column, what }
        }
        Err(Error::MissingMessage { record, .. }) => Outcome::Missing(record),
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

const MEM: Ctx<'static> = Ctx {
    input: "mem",
    gzip: false,
};

/// The streaming reader with a buffer of `capacity` bytes, fed `step` bytes per read.
fn fle(data: &[u8], capacity: usize, step: usize) -> Outcome {
    let mut sink = Collect::default();
    let mut reader = Trickle {
        data,
        step,
        fail: false,
    };
    let r = json::read_filter_log_events_with(&MEM, &mut reader, capacity, &mut sink);
    outcome(r, sink.0)
}

/// The reader as it was before streaming.
fn fle_reference(data: &[u8]) -> Outcome {
    let mut sink = Collect::default();
    let r = json::reference::read_filter_log_events(&MEM, &mut &data[..], &mut sink);
    outcome(r, sink.0)
}

/// Messages that trip up a splitter that does not track strings and escapes.
const TRICKY: &[&str] = &[
    r#"time="2022-12-26T20:46:48Z" level=warning msg="access denied" error="Body: {\"Error\":{\"Code\":\"InvalidClientTokenId\"}}""#,
    "closers ] } ]] }} and openers [ { [[ {{ in text",
    r#"backslashes \ \\ \\\ and a quote \" at the end \"#,
    "unicode é ü ß 😀 and DEL \u{7f}",
    "controls \u{8}\u{c}\t and an inner\nnewline, \r too",
    "a slash / and a line separator \u{2028}",
    "",
];

/// One event as `aws logs` prints it, `pretty` or compact.
fn event_json(n: usize, message: &str, pretty: bool) -> String {
    let fields = [
        (
            "logStreamName",
            serde_json::to_string(&format!("stream-{n}\"}}")),
        ),
        ("timestamp", Ok((1_700_000_000_000 + n).to_string())),
        ("message", serde_json::to_string(message)),
        ("ingestionTime", Ok((1_700_000_000_500 + n).to_string())),
        ("eventId", Ok(format!("\"{n:056}\""))),
    ];
    let fields: Vec<String> = fields
        .into_iter()
        .map(|(k, v)| format!("\"{k}\": {}", v.unwrap()))
        .collect();
    if pretty {
        format!(
            "{{\n            {}\n        }}",
            fields.join(",\n            ")
        )
    } else {
        format!("{{{}}}", fields.join(","))
    }
}

/// A page of `events`, followed by `tail` members (each `"key": value`).
fn page_json(events: &[String], tail: &[&str], pretty: bool) -> String {
    let mut members = vec![if pretty {
        format!(
            "\"events\": [\n        {}\n    ]",
            events.join(",\n        ")
        )
    } else {
        format!("\"events\":[{}]", events.join(","))
    }];
    members.extend(tail.iter().map(|m| m.to_string()));
    if pretty {
        format!("{{\n    {}\n}}\n", members.join(",\n    "))
    } else {
        format!("{{{}}}", members.join(","))
    }
}

/// The `Got` of event `n` of [`event_json`] with message `message`, as record `record`.
fn event_got(n: usize, message: &str, record: u64) -> Got {
    Got {
        text: message.into(),
        ts: Some(1_700_000_000_000 + n as i64),
        stream: Some(format!("stream-{n}\"}}")),
        ptr: Some(format!("{n:056}")),
        ingestion: Some(1_700_000_000_500 + n as i64),
        input: "mem".into(),
        line: record,
    }
}

/// Tails with strings that hold brackets and escapes, as `searchedLogStreams` and
/// `nextToken` can.
const TAIL: &[&str] = &[
    r#""searchedLogStreams": [{"logStreamName": "a]}\"", "searchedCompletely": true}, {"logStreamName": "b\\", "searchedCompletely": false}]"#,
    r#""nextToken": "f/3}]{[\"\\\u0041""#,
];

/// Inputs that read fine, in every shape the reader takes.
fn good_inputs() -> Vec<(&'static str, String)> {
    let messages = |pretty| -> Vec<String> {
        TRICKY
            .iter()
            .enumerate()
            .map(|(n, m)| event_json(n, m, pretty))
            .collect()
    };
    let pretty = page_json(&messages(true), TAIL, true);
    let compact = page_json(&messages(false), TAIL, false);
    let mut out = vec![
        ("pretty page", pretty.clone()),
        ("compact page", compact.clone()),
        ("pages back to back", format!("{pretty}{pretty}")),
        (
            "compact pages back to back after a pretty one",
            format!("{pretty}{compact}{compact}\n"),
        ),
        ("pretty top-level events", messages(true).join("\n")),
        ("ndjson of events", messages(false).join("\n")),
        (
            "ndjson of pages, blank lines, CRLF",
            format!("\n  \n{compact}\r\n\r\n{compact}\n"),
        ),
        (
            "page whose events are not first",
            format!(
                "{{\"nextToken\": \"x\", \"events\": [{}]}}\n{pretty}",
                messages(true).join(",")
            ),
        ),
        (
            "empty pages",
            "{\n\"events\":[\n]\n}\n{\"events\": []}{\"events\":[]}\n".into(),
        ),
        ("blank lines before a document", format!("\n\n  \n{pretty}")),
        ("no events at all", "\n\n".into()),
        (
            "null events make an event",
            "{\"events\": null,\n\"message\": \"c\"}{\"events\": null, \"message\": \"d\"}".into(),
        ),
        (
            "tabs and CRs as whitespace",
            pretty.replace("    ", "\t").replace('\n', "\r\n"),
        ),
    ];
    // Events the fast path leaves to serde, between ordinary ones.
    let unusual = [
        event_json(0, "plain", false),
        // An unknown key.
        r#"{"message": "extra key", "extra": [1, {"a": "}"}], "timestamp": 5}"#.into(),
        // Escapes in a key.
        r#"{"m\u0065ssage": "escaped key"}"#.into(),
        // Nulls, and an empty object... no: that one has no message.
        r#"{"logStreamName": null, "timestamp": null, "message": "nulls", "ingestionTime": null, "eventId": null}"#.into(),
        // Hand-written escapes serde_json never writes.
        r#"{"message": "\u00e9\/\ud83d\ude00\u0041\u2028 \uD834\uDD1E"}"#.into(),
        // Exponent-free big and negative integers.
        r#"{"message": "times", "timestamp": -1, "ingestionTime": 999999999999999999}"#.into(),
        r#"{"message": "huge", "timestamp": 9223372036854775807}"#.into(),
        // A trailing newline in the message is dropped.
        r#"{"message": "ends in newline\r\n"}"#.into(),
        // Positional form: serde accepts an array for a struct.
        r#"["array-stream", 7, "positional"]"#.into(),
    ];
    out.push(("unusual events in a page", page_json(&unusual, &[], true)));
    // At the top level an array would be a positional page, not an event.
    let unusual = &unusual[..unusual.len() - 1];
    out.push(("unusual events as ndjson", unusual.join("\n")));
    out
}

#[test]
fn fle_first_line_decides_like_before() {
    // The first non-empty line is NDJSON when it is a complete value, else a document starts
    // there. serde_json's idea of "complete" depends on the type asked for ("0." ends too
    // soon for a struct, but is an invalid number when ignored).
    for input in [
        &b"0.\n"[..],
        b"\n 1\n",
        b"[\n",
        b"{\"a\":\n1}",
        b"\"abc\n\"",
        b"{\"events\": [1,\n{}]}",
        b"{\"message\": \"a\"} {\n",
        b"  \x0c\n{\"message\": \"a\"}\n",
    ] {
        let want = fle_reference(input);
        for capacity in [1, 3, 64] {
            assert_eq!(
                fle(input, capacity, 1),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}

#[test]
fn fle_reads_what_it_was_given() {
    let messages: Vec<String> = TRICKY
        .iter()
        .enumerate()
        .map(|(n, m)| event_json(n, m, true))
        .collect();
    let doc = page_json(&messages, TAIL, true);
    let twice = format!("{doc}{doc}");
    let want: Vec<Got> = (0..2)
        .flat_map(|page| {
            TRICKY.iter().enumerate().map(move |(n, m)| {
                let record = (page * TRICKY.len() + n + 1) as u64;
                event_got(n, m, record)
            })
        })
        .collect();
    for capacity in [1, 5, 64, 4096, 1 << 20] {
        assert_eq!(
            fle(twice.as_bytes(), capacity, 4096),
            Outcome::Lines(want.clone()),
            "capacity {capacity}"
        );
    }
    // Escapes serde_json does not write itself.
    let doc = r#"{"events": [{"message": "\u00e9\/\ud83d\ude00\u0041 \b\f\n\r\t \uD834\uDD1E"}]}"#;
    let Outcome::Lines(got) = fle(doc.as_bytes(), 8, 3) else {
        panic!("{doc}");
    };
    assert_eq!(got[0].text, "é/😀A \u{8}\u{c}\n\r\t 𝄞".as_bytes());
}

#[test]
fn fle_streaming_equals_reference_at_every_buffer_split() {
    for (name, input) in good_inputs() {
        let want = fle_reference(input.as_bytes());
        assert!(matches!(want, Outcome::Lines(_)), "{name}: {want:?}");
        for capacity in (1..=70).chain([257, 4096, 1 << 20]) {
            for step in [1, 7, 4096] {
                assert_eq!(
                    fle(input.as_bytes(), capacity, step),
                    want,
                    "{name}: capacity {capacity}, step {step}"
                );
            }
        }
    }
}

#[test]
fn fle_truncated_anywhere_is_what_the_reference_says() {
    for (name, input) in good_inputs() {
        let input = input.as_bytes();
        for cut in 0..input.len() {
            let want = fle_reference(&input[..cut]);
            for capacity in [3, 64] {
                assert_eq!(
                    fle(&input[..cut], capacity, 5),
                    want,
                    "{name} cut at {cut}, capacity {capacity}: {:?}",
                    String::from_utf8_lossy(&input[..cut])
                );
            }
        }
    }
}

#[test]
fn fle_truncated_document_is_an_error_at_its_end() {
    let doc = page_json(
        &[event_json(0, "one", true), event_json(1, "two", true)],
        TAIL,
        true,
    );
    let lines = doc.lines().count() as u64;
    // Cut just after `then`, first found after `anchor`: inside a string, between elements,
    // after a comma, in the tail.
    let cut_at = |anchor: &str, then: &str| {
        let at = doc.find(anchor).unwrap();
        at + doc[at..].find(then).unwrap() + then.len()
    };
    for (cut, what) in [
        (
            cut_at("\"message\": \"two", "tw"),
            "EOF while parsing a string",
        ),
        (
            cut_at("\"message\": \"two", "}"),
            "EOF while parsing a list",
        ),
        (
            cut_at("\"message\": \"one", "},"),
            "EOF while parsing a value",
        ),
        (
            cut_at("\"searchedLogStreams", "["),
            "EOF while parsing a list",
        ),
        (
            cut_at("\"nextToken", "f/3}]{["),
            "EOF while parsing a string",
        ),
    ] {
        let outcome = fle(&doc.as_bytes()[..cut], 16, 7);
        let Outcome::Malformed {
            line, what: got, ..
        } = &outcome
        else {
            panic!("{what}: {outcome:?}");
        };
        assert_eq!(got, what);
        assert!(*line > 1 && *line <= lines, "{what}: {outcome:?}");
        assert_eq!(outcome, fle_reference(&doc.as_bytes()[..cut]));
    }
    let cut = doc.trim_end().len() - 1;
    assert_eq!(
        fle(&doc.as_bytes()[..cut], 16, 7),
        Outcome::Malformed {
            line: lines,
            column: 0,
            what: "EOF while parsing an object".into()
        }
    );
}

#[test]
fn fle_errors_name_the_position_in_the_input() {
    // The position serde reports inside a message is the one in the input, as outside it:
    // not the position within the event or line that was parsed.
    let doc = "{\n  \"events\": [\n    {\"message\": \"a\"},\n    {\"message\": 5}\n  ]\n}\n";
    let e = read_bytes(doc.as_bytes(), InputFormat::FilterLogEvents).unwrap_err();
    assert_eq!(e.to_string(), "mem: malformed JSON at line 4, column 17");
    let source = std::error::Error::source(&e).unwrap().to_string();
    assert_eq!(
        source,
        "invalid type: integer `5`, expected a string at line 4 column 17"
    );
    let ndjson = "{\"message\":\"a\"}\n\n  {\"message\":\"b\",}\n";
    let e = read_bytes(ndjson.as_bytes(), InputFormat::FilterLogEvents).unwrap_err();
    assert_eq!(e.to_string(), "mem: malformed JSON at line 3, column 18");
    let source = std::error::Error::source(&e).unwrap().to_string();
    assert_eq!(source, "trailing comma at line 3 column 18");
}

#[test]
fn fle_syntax_errors_between_events_match_serde() {
    let ev = |m: &str| format!("{{\"message\": \"{m}\"}}");
    let (a, b) = (ev("a"), ev("b"));
    for doc in [
        format!("{{\"events\": [{a} {b}]}}"),
        format!("{{\"events\": [{a},]}}"),
        format!("{{\"events\": [{a}, ]}}\n"),
        format!("{{\"events\": [{a}]]}}"),
        format!("{{\"events\": [{a}], \"events\": []}}"),
        format!("{{\"events\": [{a}], \"message\": 1}}"),
        format!("{{\"events\": [{a}], \"nextToken\": \"t\",}}"),
        format!("{{\"events\": [{a}], 5: 1}}"),
        format!("{{\"events\": [{a}] \"x\": 1}}"),
        format!("{{\"events\": [{a}], \"x\" 1}}"),
        format!("{{\"events\": [{a}]}} x"),
        format!("{{\"events\": [{a}]}}\n{{\"events\": [1]}}"),
        format!("{{\"events\": [{a}, \"text\"]}}"),
        format!("{{\"events\": [{a}, null]}}"),
        format!("{{\"events\": [{a}, {{\"message\": \"\\x\"}}]}}"),
        format!("{{\"events\": [{a}, {{\"message\": \"\\ud800\"}}]}}"),
        format!("{{\"events\": [{a}, {{\"message\": \"\\udc00\"}}]}}"),
        format!("{{\"events\": [{a}, {{\"message\": \"\\ud800\\u0041\"}}]}}"),
        format!("{{\"events\": [{a}, {{\"message\": \"tab\there\"}}]}}"),
        format!("{{\"events\": [{a}, {{\"message\": \"m\", \"timestamp\": 1.5}}]}}"),
        format!("{{\"events\": [{a}, {{\"message\": \"m\", \"timestamp\": -0}}]}}"),
        format!("{{\"events\": [{a}, {{\"message\": \"m\", \"timestamp\": 01}}]}}"),
        format!("{{\"events\": [{a}, {{\"message\": \"m\", \"timestamp\": 1e3}}]}}"),
        format!(
            "{{\"events\": [{a}, {{\"message\": \"m\", \"timestamp\": 99999999999999999999}}]}}"
        ),
        format!("{{\"events\": [{a}, {{\"message\": \"m\", \"timestamp\": \"1\"}}]}}"),
        format!("{{\"events\": [{a}, {{\"message\": \"m\", \"message\": \"m\"}}]}}"),
        format!("{{\"events\": [{a}, {{\"message\": \"m\" \"eventId\": \"i\"}}]}}"),
        format!("{{\"events\": [{a}, {{\"message\": nul}}]}}"),
        format!("{{\"events\": [{a}, {b}, {{\"timestamp\": 1}}]}}"),
        format!("{{\"events\": [{a}, {{}}]}}"),
        format!("{a}\n{{\"events\": null}}"),
        format!("[{a}]"),
    ] {
        let want = fle_reference(doc.as_bytes());
        assert!(!matches!(want, Outcome::Lines(_)), "{doc}: {want:?}");
        for capacity in [1, 6, 4096] {
            assert_eq!(
                fle(doc.as_bytes(), capacity, 3),
                want,
                "{doc} capacity {capacity}"
            );
        }
        // The same as a pretty document.
        let pretty = format!("\n{}\n", doc.replace(", ", ",\n  "));
        assert_eq!(
            fle(pretty.as_bytes(), 7, 3),
            fle_reference(pretty.as_bytes()),
            "{pretty}"
        );
    }
}

#[test]
fn fle_invalid_utf8_in_a_string_is_an_error() {
    for doc in [
        &b"{\"events\": [{\"message\": \"ok \xff\"}]}"[..],
        b"{\"events\": [{\"message\": \"x\", \"logStreamName\": \"\xc3(\"}]}",
        b"{\"message\": \"\xe2\x82 \\n\"}\n",
    ] {
        let want = fle_reference(doc);
        assert!(
            matches!(&want, Outcome::Malformed { what, .. } if what.contains("invalid unicode")),
            "{want:?}"
        );
        assert_eq!(fle(doc, 4, 2), want);
    }
}

#[test]
fn fle_document_memory_is_bounded_by_the_buffer() {
    /// Records the largest read asked for.
    struct Largest<'a> {
        data: &'a [u8],
        largest: usize,
    }
    impl Read for Largest<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.largest = self.largest.max(buf.len());
            self.data.read(buf)
        }
    }
    let events: Vec<String> = (0..4000)
        .map(|n| event_json(n, TRICKY[n % 7], true))
        .collect();
    let doc = page_json(&events, TAIL, true).repeat(3);
    assert!(doc.len() > 3 << 20);
    let mut reader = Largest {
        data: doc.as_bytes(),
        largest: 0,
    };
    let mut n = 0u64;
    json::read_filter_log_events_with(
        &MEM,
        &mut reader,
        4096,
        &mut |_: &[u8], _: &Envelope<'_>, _: Loc<'_>| n += 1,
    )
    .unwrap();
    assert_eq!(n, 12_000);
    // Never more than the buffer, so the buffer never grew.
    assert!(reader.largest <= 4096, "{}", reader.largest);
}

#[test]
fn fle_value_larger_than_the_buffer_is_read_whole() {
    let long = "k=v ".repeat(50_000);
    let doc = page_json(
        &[event_json(0, &long, true), event_json(1, "short", true)],
        TAIL,
        true,
    );
    for capacity in [1, 100, 4096] {
        assert_eq!(
            fle(doc.as_bytes(), capacity, 1000),
            Outcome::Lines(vec![event_got(0, &long, 1), event_got(1, "short", 2)]),
        );
    }
}

/// One mutation: where, what (0 overwrite, 1 insert, 2 delete) and which byte.
type Edit = (prop::sample::Index, u8, u8);

/// Applies `edits` to `data` in order.
fn mutate(data: &mut Vec<u8>, edits: &[Edit]) {
    for &(at, op, byte) in edits {
        if data.is_empty() {
            break;
        }
        let i = at.index(data.len());
        match op {
            0 => data[i] = byte,
            1 => data.insert(i, byte),
            _ => {
                data.remove(i);
            }
        }
    }
}

/// The streaming reader's outcome on `data` equals the reference reader's, except that
/// streaming may meet an event without message before a syntax error later in the same
/// page, which the reference only saw after parsing the whole page.
fn agrees_with_reference(data: &[u8], got: Outcome) -> Result<(), TestCaseError> {
    let want = fle_reference(data);
    if !(matches!(want, Outcome::Malformed { .. }) && matches!(got, Outcome::Missing(_))) {
        prop_assert_eq!(got, want, "{:?}", String::from_utf8_lossy(data));
    }
    Ok(())
}

/// Small inputs where most bytes are structure, for the mutation test.
const SMALL: &[&str] = &[
    "{\"events\":[{\"message\":\"a\\\"}\"},{\"timestamp\":12,\"message\":\"b\",\"eventId\":null}],\"nextToken\":\"x]\"}",
    "{\n \"events\": [\n  {\"message\": \"[a\\u00e9]\"},\n  {\"message\": \"b\", \"ingestionTime\": -3}\n ],\n \"searchedLogStreams\": [{}]\n}\n{\"events\":[]}",
    "{\"message\":\"a\",\"timestamp\":1}\n\n{\"events\":[{\"message\":\"b\"}]}\n",
    "{\n\"message\": \"a\\n\", \"logStreamName\": \"s\"}\n{\"message\": \"b\"}",
];

proptest! {
    #[test]
    fn fle_mutated_small_inputs_match_reference(
        which in 0..SMALL.len(),
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), 0u8..3, prop::sample::select(b"{}[],:\" \n\\u0a1-.eEn\xc3".to_vec())),
            1..4,
        ),
        capacity in 1usize..40,
    ) {
        let mut data = SMALL[which].as_bytes().to_vec();
        mutate(&mut data, &edits);
        agrees_with_reference(&data, fle(&data, capacity, 5))?;
    }

    #[test]
    fn fle_mutated_inputs_match_reference(
        which in 0usize..14,
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), 0u8..3, prop::sample::select(b"{}[],:\" \n\\/u0a1-.eE\xc3".to_vec())),
            1..4,
        ),
        capacity in 1usize..80,
    ) {
        let inputs = good_inputs();
        let mut data = inputs[which % inputs.len()].1.clone().into_bytes();
        mutate(&mut data, &edits);
        agrees_with_reference(&data, fle(&data, capacity, 13))?;
    }
}

// ---- get-query-results: the streaming reader ----

/// The streaming query-results reader with a buffer of `capacity` bytes, fed `step` bytes per
/// read; the status it found.
fn qr(data: &[u8], capacity: usize, step: usize) -> (Outcome, Option<QueryStatus>) {
    let mut sink = Collect::default();
    let mut reader = Trickle {
        data,
        step,
        fail: false,
    };
    let r = query::read_query_results_with(&MEM, &mut reader, capacity, &mut sink);
    let status = r.as_ref().ok().copied().flatten();
    (outcome(r.map(|_| ()), sink.0), status)
}

/// The query-results reader as it was before streaming (the whole document, serde).
fn qr_reference(data: &[u8]) -> Outcome {
    let mut sink = Collect::default();
    let r = json::query_reference::read_query_results(&MEM, &mut &data[..], &mut sink);
    outcome(r, sink.0)
}

/// One row as `aws logs get-query-results` prints it.
fn row_json(n: usize, message: &str, pretty: bool) -> String {
    let cells = [
        (
            "@timestamp",
            format!("2026-11-20 08:00:{:02}.{n:03}", n % 60),
        ),
        ("@logStream", format!("authenticator-{n}\"]}}")),
        ("@message", message.to_owned()),
        ("@ptr", format!("ptr{n}")),
    ];
    let sep = if pretty { "\n            " } else { "" };
    let cells: Vec<String> = cells
        .iter()
        .map(|(f, v)| {
            format!(
                "{sep}{{{sep}\"field\": {},{sep}\"value\": {}{sep}}}",
                serde_json::to_string(f).unwrap(),
                serde_json::to_string(v).unwrap()
            )
        })
        .collect();
    format!("[{}{sep}]", cells.join(","))
}

const STATISTICS: &str =
    r#""statistics": {"recordsMatched": 3.0, "recordsScanned": 10.0, "bytesScanned": 2048.0}"#;

/// Good query-results inputs: keys in every order, pretty and compact, several documents.
fn qr_good_inputs() -> Vec<(&'static str, String)> {
    let rows = |pretty: bool| -> Vec<String> {
        TRICKY
            .iter()
            .enumerate()
            .map(|(i, m)| row_json(i, m, pretty))
            .collect()
    };
    let results = |pretty: bool| {
        let sep = if pretty { ",\n        " } else { "," };
        format!("\"results\": [{}]", rows(pretty).join(sep))
    };
    vec![
        (
            "compact, results first",
            format!(
                "{{{},{STATISTICS},\"status\":\"Complete\"}}",
                results(false)
            ),
        ),
        (
            "pretty, status and statistics first",
            format!(
                "{{\n    \"status\": \"Complete\",\n    {STATISTICS},\n    {}\n}}\n",
                results(true)
            ),
        ),
        (
            "statistics between, unknown keys",
            format!(
                "{{\"queryLanguage\":\"CWLI\",{},\"encryptionKey\":null,{STATISTICS},\"status\":\"Running\",\"x\":[[{{}}]]}}",
                results(false)
            ),
        ),
        (
            "two documents, empty results, no status",
            format!(
                "{{{}}}\n{{\"results\": [], \"status\": \"Complete\"}}\n{{ \"results\" : [ ] }}",
                results(true)
            ),
        ),
        ("an empty object's results", "{\"results\":[[]]}".to_owned()),
        (
            "escaped key",
            format!("{{\"resu\\u006cts\":[{}]}}", row_json(1, "a", false)),
        ),
    ]
}

#[test]
fn qr_streaming_equals_reference_at_every_buffer_split() {
    for (name, input) in qr_good_inputs() {
        let want = qr_reference(input.as_bytes());
        if name == "an empty object's results" {
            assert_eq!(want, Outcome::Missing(1), "{name}");
        } else {
            assert!(matches!(want, Outcome::Lines(_)), "{name}: {want:?}");
        }
        for capacity in (1..=40).chain([257, 4096, 1 << 20]) {
            for step in [1, 7, 4096] {
                assert_eq!(
                    qr(input.as_bytes(), capacity, step).0,
                    want,
                    "{name}: capacity {capacity}, step {step}"
                );
            }
        }
    }
}

#[test]
fn qr_truncated_anywhere_is_an_error_like_the_reference() {
    for (name, input) in qr_good_inputs() {
        let input = input.as_bytes();
        for cut in 0..input.len() {
            let want = qr_reference(&input[..cut]);
            for capacity in [3, 64] {
                let (got, _) = qr(&input[..cut], capacity, 5);
                // Streaming meets a row without message before the cut, which the reference
                // never reached: both reject the input.
                if matches!(want, Outcome::Malformed { .. }) && matches!(got, Outcome::Missing(_)) {
                    continue;
                }
                assert_eq!(
                    got,
                    want,
                    "{name} cut at {cut}, capacity {capacity}: {:?}",
                    String::from_utf8_lossy(&input[..cut])
                );
            }
        }
    }
}

#[test]
fn qr_status_is_read_wherever_it_is() {
    let cases: &[(&str, Option<QueryStatus>)] = &[
        (
            r#"{"results":[],"status":"Running"}"#,
            Some(QueryStatus::Running),
        ),
        (
            r#"{"status":"Failed","results":[]}"#,
            Some(QueryStatus::Failed),
        ),
        (
            r#"{"status":"Timeout","statistics":{},"results":[]}"#,
            Some(QueryStatus::Timeout),
        ),
        (
            r#"{"results":[],"status":"Cancelled"}"#,
            Some(QueryStatus::Cancelled),
        ),
        (
            r#"{"results":[],"status":"Scheduled"}"#,
            Some(QueryStatus::Scheduled),
        ),
        (
            r#"{"results":[],"status":"Complete"}"#,
            Some(QueryStatus::Complete),
        ),
        (
            r#"{"results":[],"status":"Nope"}"#,
            Some(QueryStatus::Unknown),
        ),
        (r#"{"results":[],"status":7}"#, Some(QueryStatus::Unknown)),
        (r#"{"results":[],"status":null}"#, None),
        (r#"{"results":[]}"#, None),
        // The first document that is not complete decides.
        (
            r#"{"results":[],"status":"Complete"} {"results":[],"status":"Running"} {"results":[],"status":"Failed"}"#,
            Some(QueryStatus::Running),
        ),
    ];
    for (doc, want) in cases {
        for capacity in [1, 5, 4096] {
            let (outcome, status) = qr(doc.as_bytes(), capacity, 3);
            assert_eq!(outcome, Outcome::Lines(vec![]), "{doc}");
            assert_eq!(status, *want, "{doc}, capacity {capacity}");
        }
    }
    // And it reaches the input's statistics.
    let mut sink = Collect::default();
    let stats = read_from(
        "saved.json",
        &br#"{"status":"Running","results":[[{"field":"@message","value":"a"}]]}"#[..],
        InputFormat::Auto,
        &mut sink,
    )
    .unwrap();
    assert_eq!(stats.format, InputFormat::QueryResults);
    assert_eq!(stats.query_status, Some(QueryStatus::Running));
    assert_eq!(sink.0.len(), 1);
}

/// Memory does not follow the document: a document of many rows is read with a buffer that
/// never grows past the initial size, because no unit (a row) is larger than it.
#[test]
fn qr_buffer_stays_bounded_on_a_large_document() {
    let rows: Vec<String> = (0..20_000).map(|i| row_json(i, L3, false)).collect();
    let doc = format!(
        "{{\"status\":\"Complete\",\"results\":[{}],{STATISTICS}}}",
        rows.join(",")
    );
    assert!(doc.len() > 10 << 20);
    let mut reader = Peak {
        data: doc.as_bytes(),
        largest: 0,
    };
    let mut n = 0u64;
    let mut sink = |_: &[u8], _: &Envelope<'_>, _: Loc<'_>| n += 1;
    let status = query::read_query_results_with(&MEM, &mut reader, 64 << 10, &mut sink).unwrap();
    assert_eq!(n, 20_000);
    assert_eq!(status, Some(QueryStatus::Complete));
    assert!(
        reader.largest <= 64 << 10,
        "asked for {} bytes at once",
        reader.largest
    );
}

/// A reader that remembers the largest read it was asked for (the reader's buffer size).
struct Peak<'a> {
    data: &'a [u8],
    largest: usize,
}

impl Read for Peak<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.largest = self.largest.max(buf.len());
        let n = buf.len().min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

const QR_SMALL: &[&str] = &[
    r#"{"results":[[{"field":"@message","value":"a\"]"},{"field":"@ptr","value":null}],[{"field":"@message","value":"b"}]],"status":"Complete"}"#,
    "{\n \"status\": \"Running\",\n \"statistics\": {\"a\": [1, {\"b\": \"}\"}]},\n \"results\": [\n  [{\"field\": \"@message\", \"value\": \"x\"}]\n ]\n}\n{\"results\":[]}",
];

proptest! {
    #[test]
    fn qr_mutated_inputs_agree_with_reference(
        which in 0..QR_SMALL.len(),
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), 0u8..3, prop::sample::select(b"{}[],:\" \n\\u0a1-.en\xc3".to_vec())),
            1..4,
        ),
        capacity in 1usize..40,
    ) {
        let mut data = QR_SMALL[which].as_bytes().to_vec();
        mutate(&mut data, &edits);
        let want = qr_reference(&data);
        let (got, _) = qr(&data, capacity, 5);
        match (&want, &got) {
            // Streaming meets a row without message before an error later in the document,
            // which the reference only saw after parsing all of it.
            (Outcome::Malformed { .. }, Outcome::Missing(_)) => {}
            // Both reject it; where and how may be worded differently.
            (Outcome::Malformed { .. } | Outcome::Missing(_), Outcome::Malformed { .. } | Outcome::Missing(_)) => {}
            _ => prop_assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&data)),
        }
    }
}
