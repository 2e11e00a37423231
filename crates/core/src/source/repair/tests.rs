//! Tests for the paste repairer: each repair on its own, the guards that keep two real
//! records apart, and properties over arbitrary input (no panic, no line lost uncounted).

use proptest::prelude::*;

use super::*;

/// AWS re:Post knowledge-center/eks-api-server-unauthorized-error.
const L4: &str = r#"time="2022-12-28T15:37:19Z" level=warning msg="access denied" arn="arn:aws:iam::XXXXXXXXXX:role/admin-test-role" client="127.0.0.1:33384" error="ARN is not mapped" method=POST path=/authenticate"#;
/// AWS re:Post knowledge-center/eks-api-server-unauthorized-error (the cluster creator).
const CREATOR: &str = r#"time="2022-05-26T18:55:30Z" level=info msg="access granted" arn="arn:aws:iam::123456789000:user/testuser" client="127.0.0.1:57586" groups="[system:masters]" method=POST path=/authenticate uid="aws-iam-authenticator:123456789000:AROAFFXXXXXXXXXX" username=kubernetes-admin"#;

/// One record as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    text: String,
    line: u64,
    repairs: Repairs,
    joined: u32,
    timestamp_ms: Option<i64>,
}

fn split(input: &str) -> (Vec<Got>, u64) {
    split_bytes(input.as_bytes())
}

fn split_bytes(input: &[u8]) -> (Vec<Got>, u64) {
    let mut got = Vec::new();
    let n = split_repaired(
        input,
        1,
        "t",
        &mut |text: &[u8], e: &Envelope<'_>, loc: Loc<'_>| {
            got.push(Got {
                text: String::from_utf8_lossy(text).into_owned(),
                line: loc.line,
                repairs: e.repairs,
                joined: e.joined,
                timestamp_ms: e.timestamp_ms,
            })
        },
    );
    (got, n)
}

fn texts(got: &[Got]) -> Vec<&str> {
    got.iter().map(|g| g.text.as_str()).collect()
}

fn kinds(r: Repairs) -> Vec<&'static str> {
    r.kinds().map(RepairKind::as_str).collect()
}

#[test]
fn clean_lines_pass_untouched_and_unmarked() {
    let input = format!("{L4}\n{CREATOR}\n\n{L4}");
    let (got, n) = split(&input);
    assert_eq!(n, 4);
    assert_eq!(texts(&got), [L4, CREATOR, "", L4]);
    assert!(got.iter().all(|g| g.repairs.is_empty() && g.joined == 0));
    assert_eq!(got.iter().map(|g| g.line).collect::<Vec<_>>(), [1, 2, 3, 4]);
}

#[test]
fn crlf_is_dropped_and_counted() {
    let (got, _) = split(&format!("{L4}\r\n{L4}\r\n"));
    assert_eq!(texts(&got), [L4, L4]);
    assert_eq!(kinds(got[0].repairs), ["crlf"]);
}

#[test]
fn a_terminal_wrap_is_joined_inside_tokens_and_quoted_values() {
    for width in [40, 61, 80, 100, 120] {
        let wrapped: Vec<String> = CREATOR
            .as_bytes()
            .chunks(width)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let input = format!("{}\n{L4}\n", wrapped.join("\n"));
        let (got, n) = split(&input);
        assert_eq!(texts(&got), [CREATOR, L4], "width {width}");
        assert_eq!(got[0].joined as usize, wrapped.len() - 1);
        assert_eq!(kinds(got[0].repairs), ["wrapped"]);
        assert_eq!(got[1].line, wrapped.len() as u64 + 1);
        assert_eq!(n, wrapped.len() as u64 + 1);
    }
}

#[test]
fn an_editor_wrap_at_spaces_gets_its_space_back() {
    // `fmt`/`textwrap` style: wrapped at word boundaries, the space at the break dropped.
    let input = "time=\"2022-05-26T18:55:30Z\" level=info\nmsg=\"access granted\" arn=\"arn:aws:iam::123456789000:user/testuser\"\nclient=\"127.0.0.1:57586\"\n";
    let (got, _) = split(input);
    assert_eq!(
        texts(&got),
        [
            "time=\"2022-05-26T18:55:30Z\" level=info msg=\"access granted\" arn=\"arn:aws:iam::123456789000:user/testuser\" client=\"127.0.0.1:57586\""
        ]
    );
}

#[test]
fn two_real_records_are_never_glued() {
    // Each line below starts something of its own after a record.
    let others = [
        L4,
        "level=info msg=\"x\"",
        "2026-01-15T09:30:00.123Z time=\"x\"",
        "W0101 12:00:00.000000 1 reflector.go:1] x",
        "Authenticator Version: \"v0.7.18\", \"abc\"",
        "pod-abc aws-iam-authenticator time=\"2022-12-28T15:37:19Z\" level=info msg=\"x\"",
        "{\"log\":\"x\"}",
        "WARN[0042] access denied",
        "goroutine 1 [running]:",
        "just some words",
    ];
    for other in others {
        let (got, _) = split(&format!("{L4}\n{other}\n"));
        assert_eq!(got.len(), 2, "{other}");
        assert_eq!(got[0].text, L4, "{other}");
        assert!(!got[0].repairs.has(RepairKind::Wrapped), "{other}");
    }
}

#[test]
fn a_json_encoded_line_is_decoded() {
    let encoded = serde_json::to_string(L4).unwrap();
    let (got, _) = split(&format!("{encoded}\n"));
    assert_eq!(texts(&got), [L4]);
    assert_eq!(kinds(got[0].repairs), ["json_string"]);
    // A JSON string that is no log line is left alone.
    let (got, _) = split("\"hello\"\n");
    assert_eq!(texts(&got), ["\"hello\""]);
    assert!(got[0].repairs.is_empty());
}

#[test]
fn typographic_quotes_and_dashes_become_ascii() {
    let curly = L4
        .replacen('"', "\u{201c}", 1)
        .replacen('"', "\u{201d}", 1)
        .replace("admin-test", "admin\u{2013}test")
        .replace("test-role", "test\u{2014}role");
    let (got, _) = split(&format!("{curly}\n"));
    assert_eq!(texts(&got), [L4]);
    assert_eq!(kinds(got[0].repairs), ["typographic"]);
    let single = "time=\"x\" msg=\u{2018}a\u{2019}";
    assert_eq!(split(single).0[0].text, "time=\"x\" msg='a'");
}

#[test]
fn markdown_around_and_inside_a_line_is_removed() {
    let cases = [
        format!("`{L4}`"),
        format!("**{L4}**"),
        format!("> {L4}"),
        format!("> > {L4}"),
        L4.replace("error=", "`error=")
            .replace("\" method=", "\"` method="),
    ];
    for case in &cases {
        let (got, _) = split(&format!("{case}\n"));
        assert_eq!(texts(&got), [L4], "{case}");
        assert_eq!(kinds(got[0].repairs), ["markdown"], "{case}");
    }
    // Inside a quoted value a backtick is data.
    let quoted = "time=\"x\" error=\"a `b` **c**\"";
    let (got, _) = split(quoted);
    assert_eq!(texts(&got), [quoted]);
    // A fence is counted and becomes a blank line, so the line count stays whole.
    let (got, n) = split(&format!("```text\n{L4}\n```\n"));
    assert_eq!(n, 3);
    assert_eq!(texts(&got), ["", L4, ""]);
    assert_eq!(kinds(got[0].repairs), ["markdown"]);
}

#[test]
fn json_event_lines_are_unwrapped_with_their_timestamp() {
    let fle = serde_json::json!({"logStreamName": "authenticator-1", "timestamp": 1_672_241_839_000_i64, "message": L4});
    let fluent = serde_json::json!({"date": 1_672_241_839.5, "log": format!("{L4}\n"), "kubernetes": {"pod_name": "a"}});
    let insights = serde_json::json!({"@timestamp": "2022-12-28 15:37:19.000", "@message": L4});
    for (obj, ts) in [
        (fle, 1_672_241_839_000),
        (fluent, 1_672_241_839_500),
        (insights, 1_672_241_839_000),
    ] {
        let (got, _) = split(&format!("{CREATOR}\n{obj}\n"));
        assert_eq!(texts(&got), [CREATOR, L4], "{obj}");
        assert_eq!(kinds(got[1].repairs), ["json_line"], "{obj}");
        assert_eq!(got[1].timestamp_ms, Some(ts), "{obj}");
    }
    // JSON without a message is not unwrapped: it stays a line of its own.
    let (got, _) = split(&format!("{CREATOR}\n{{\"a\":1}}\n"));
    assert_eq!(texts(&got), [CREATOR, "{\"a\":1}"]);
}

#[test]
fn a_pretty_printed_object_becomes_one_record() {
    let obj = serde_json::json!({"timestamp": 1_672_241_839_000_i64, "message": L4});
    let pretty = serde_json::to_string_pretty(&obj).unwrap();
    let lines = pretty.lines().count();
    let (got, n) = split(&format!("{CREATOR}\n{pretty}\n{CREATOR}\n"));
    assert_eq!(texts(&got), [CREATOR, L4, CREATOR]);
    assert_eq!(kinds(got[1].repairs), ["pretty_json"]);
    assert_eq!(got[1].joined as usize, lines - 1);
    assert_eq!(got[2].line as usize, lines + 2);
    assert_eq!(n as usize, lines + 2);
    // An object that never closes is left as lines.
    let (got, n) = split("{\n  \"message\": \"x\"\n");
    assert_eq!(n, 2);
    assert_eq!(got.len(), 2);
}

#[test]
fn the_console_header_run_into_a_line_is_removed() {
    let (got, _) = split(&format!("@message{CREATOR}\n"));
    assert_eq!(texts(&got), [CREATOR]);
    assert_eq!(kinds(got[0].repairs), ["header_joined"]);
}

#[test]
fn record_cut_keeps_a_record_with_its_continuations() {
    let buf = format!("{L4}\n{CREATOR}\nclient=\"x\"\n");
    let cut = record_cut(buf.as_bytes());
    assert_eq!(cut, L4.len() + 1);
    // Nothing but clean lines: the last one (which may yet be continued) is held back.
    let buf = format!("{L4}\n{L4}\n");
    assert_eq!(record_cut(buf.as_bytes()), L4.len() + 1);
    // No line begins a record: cut after everything.
    assert_eq!(record_cut(b"a\nb\n"), 4);
    // A chunk boundary is moved past continuation lines.
    let buf = format!("{L4}\nclient=\"x\"\n{L4}\n");
    assert_eq!(record_end(buf.as_bytes(), L4.len() + 1), L4.len() + 12);
}

/// Lines made of pieces of log lines, JSON, markdown, typography and wrapping.
fn pasted() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(L4.to_owned()),
        Just(CREATOR.to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("  \"message\": \"time=\\\"x\\\" level=info\",".to_owned()),
        Just("```".to_owned()),
        Just("> ".to_owned()),
        Just("`".to_owned()),
        Just("**".to_owned()),
        Just("\u{201c}".to_owned()),
        Just("\r".to_owned()),
        Just("\n".to_owned()),
        Just("=".to_owned()),
        Just("\"".to_owned()),
        "[ -~]{0,20}",
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat().into_bytes())
}

proptest! {
    /// The repairer never panics, and every physical line is accounted for: records pushed
    /// plus the lines they joined equal the lines in the input, and each record carries its
    /// first physical line's number.
    #[test]
    fn every_physical_line_is_accounted_for(input in pasted()) {
        let (got, n) = split_bytes(&input);
        prop_assert_eq!(n, crate::source::count_lines(&input));
        let joined: u64 = got.iter().map(|g| u64::from(g.joined)).sum();
        prop_assert_eq!(got.len() as u64 + joined, n);
        let mut next = 1;
        for g in &got {
            prop_assert_eq!(g.line, next);
            next += 1 + u64::from(g.joined);
        }
        // A record that joined lines says how.
        for g in got.iter().filter(|g| g.joined > 0) {
            prop_assert!(g.repairs.has(RepairKind::Wrapped) || g.repairs.has(RepairKind::PrettyJson));
        }
    }

    /// Any bytes at all: no panic, and the same accounting.
    #[test]
    fn arbitrary_bytes_are_accounted_for(input in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let (got, n) = split_bytes(&input);
        let joined: u64 = got.iter().map(|g| u64::from(g.joined)).sum();
        prop_assert_eq!(got.len() as u64 + joined, n);
    }

    /// Clean input (authenticator lines, blank lines) comes out exactly as it went in.
    #[test]
    fn clean_input_is_never_changed(picks in proptest::collection::vec(0..3usize, 0..30)) {
        let lines: Vec<&str> = picks.iter().map(|p| [L4, CREATOR, ""][*p]).collect();
        let input = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        let (got, _) = split(&input);
        prop_assert_eq!(texts(&got), lines);
        prop_assert!(got.iter().all(|g| g.repairs.is_empty()));
    }
}
