//! Tests for `parse_line`: public EKS lines, each tolerance rule, and properties.

use proptest::prelude::*;

use super::*;
use eks_authlog_testkit::logrus::logrus_value;

fn decoded<'a>(r: &Record<'a>, key: &str) -> Option<String> {
    r.get(key).map(|v| v.decoded().into_owned())
}

#[test]
fn parses_the_public_cluster_creator_line() {
    // AWS re:Post knowledge-center/eks-get-control-plane-logs, CSV quote-doubling removed.
    let line = r#"time="2021-08-11T10:09:43Z" level=info msg="access granted" arn="arn:aws:iam::12345678910:user/awscli" client="127.0.0.1:51326" groups="[system:masters]" method=POST path=/authenticate sts=sts.eu-west-1.amazonaws.com uid="heptio-authenticator-aws:12345678910:ABCDEFGHIJKLMNOP" username=kubernetes-admin"#;
    let r = parse_line(line).unwrap();
    assert_eq!(r.form, Form::Logfmt);
    assert_eq!(r.time, Some("2021-08-11T10:09:43Z"));
    assert_eq!(r.level, Some(Level::Info));
    assert_eq!(r.msg_raw(), "access granted");
    let keys: Vec<&str> = r.fields().iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            "arn", "client", "groups", "method", "path", "sts", "uid", "username"
        ]
    );
    assert_eq!(decoded(&r, "username").as_deref(), Some("kubernetes-admin"));
    assert_eq!(decoded(&r, "groups").as_deref(), Some("[system:masters]"));
    assert_eq!(r.prefix, None);
    assert_eq!(r.trailing, None);
    assert!(!r.truncated);
}

#[test]
fn decodes_an_sts_body_with_escaped_quotes() {
    // AWS re:Post knowledge-center/eks-api-server-unauthorized-error.
    let line = r#"time="2022-12-26T20:46:48Z" level=warning msg="access denied" client="127.0.0.1:43440" error="sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {\"Error\":{\"Code\":\"InvalidClientTokenId\",\"Message\":\"The security token included in the request is invalid.\",\"Type\":\"Sender\"},\"RequestId\":\"a9068247-f1ab-47ef-b1b1-cda46a27be0e\"}" method=POST path=/authenticate"#;
    let r = parse_line(line).unwrap();
    assert_eq!(r.level, Some(Level::Warning));
    let err = decoded(&r, "error").unwrap();
    assert!(err.starts_with(
        "sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {\"Error\""
    ));
    assert!(err.ends_with("\"RequestId\":\"a9068247-f1ab-47ef-b1b1-cda46a27be0e\"}"));
    assert_eq!(decoded(&r, "method").as_deref(), Some("POST"));
}

#[test]
fn keeps_empty_values_and_their_neighbours() {
    // Public 2019 line (docs/authenticator-log.md#public-example-lines): `session= userid=…`.
    let line = r#"time="2019-10-31T20:16:50Z" level=info msg="STS response" accountid=1234567890 arn="arn:aws:iam::1234567890:user/dev-garland" client="127.0.0.1:55534" method=POST path=/authenticate session= userid=AIDAJOZJZRVACX2SX5NPE"#;
    let r = parse_line(line).unwrap();
    assert_eq!(decoded(&r, "session").as_deref(), Some(""));
    assert_eq!(
        decoded(&r, "userid").as_deref(),
        Some("AIDAJOZJZRVACX2SX5NPE")
    );
}

#[test]
fn keeps_equals_signs_inside_quoted_values() {
    let line = r#"time="2026-01-15T09:30:00Z" level=info msg="Calling ec2:DescribeInstances for the InstanceId = i-0123456789abcdef0 ""#;
    let r = parse_line(line).unwrap();
    assert_eq!(
        r.msg.unwrap().decoded(),
        "Calling ec2:DescribeInstances for the InstanceId = i-0123456789abcdef0 "
    );
    assert!(r.fields().is_empty());
}

#[test]
fn reads_a_line_without_time() {
    // Startup lines with the time prefix cropped, from
    // https://fun-every-day.com/2023/02/19/eks-authenticator-log/.
    let line = r#"level=info msg="mapping IAM role" groups="[]" role="arn:aws:iam::753431191269:role/AWSWesleyClusterManagerLambda-NodeManagerRole-1XKG670YXPD3V" username="eks:node-manager""#;
    let r = parse_line(line).unwrap();
    assert_eq!(r.time, None);
    assert_eq!(r.msg_raw(), "mapping IAM role");
    assert_eq!(decoded(&r, "username").as_deref(), Some("eks:node-manager"));
}

#[test]
fn decodes_escapes_in_messages() {
    let line = r#"level=info msg="starting mapper \"MountedFile\"""#;
    let r = parse_line(line).unwrap();
    assert_eq!(r.msg.unwrap().decoded(), r#"starting mapper "MountedFile""#);
    let line = r#"time="2026-01-15T09:30:00Z" level=warning msg="error closing response body\t" error="x""#;
    assert_eq!(
        parse_line(line).unwrap().msg.unwrap().decoded(),
        "error closing response body\t"
    );
}

#[test]
fn keeps_duplicate_keys_in_order() {
    let r = parse_line(r#"level=info msg=x a=1 b=2 a=3 level=debug"#).unwrap();
    assert_eq!(r.level, Some(Level::Info), "the first level wins");
    let pairs: Vec<(&str, &str)> = r.fields().iter().map(|(k, v)| (*k, v.raw())).collect();
    assert_eq!(
        pairs,
        [("a", "1"), ("b", "2"), ("a", "3"), ("level", "debug")]
    );
}

#[test]
fn tolerates_an_unterminated_final_quote() {
    let line = r#"time="2026-01-15T09:30:00Z" level=info msg="LoadDynamicFile: /etc/x.json is available. content is {\"mapRoles\":[{\"rolearn"#;
    let r = parse_line(line).unwrap();
    assert!(r.truncated);
    assert!(
        r.msg
            .unwrap()
            .decoded()
            .ends_with("{\"mapRoles\":[{\"rolearn")
    );
}

#[test]
fn hands_back_stray_trailing_text() {
    let line = r#"time="2026-01-15T09:30:00Z" level=info msg="access granted" username=bob (copied from a ticket)"#;
    let r = parse_line(line).unwrap();
    assert_eq!(decoded(&r, "username").as_deref(), Some("bob"));
    assert_eq!(r.trailing, Some("(copied from a ticket)"));
}

#[test]
fn strips_a_crlf_ending() {
    let r = parse_line("level=info msg=x a=1\r").unwrap();
    assert_eq!(r.get("a").unwrap().raw(), "1");
}

#[test]
fn reads_the_tty_layout() {
    // aws-iam-authenticator PR #178 test output (logrus `text_formatter.go`, `printColored`).
    let line = r#"WARN[2019-04-27T20:00:09Z] access denied                                 client="127.0.0.1:55340" error="sts getCallerIdentity failed: error from AWS (expected 200, got 403)" method=POST path=/authenticate"#;
    let r = parse_line(line).unwrap();
    assert_eq!(r.form, Form::Tty);
    assert_eq!(r.level, Some(Level::Warning));
    assert_eq!(r.time, Some("2019-04-27T20:00:09Z"));
    assert_eq!(r.msg_raw(), "access denied");
    assert_eq!(decoded(&r, "client").as_deref(), Some("127.0.0.1:55340"));
    assert_eq!(r.fields().len(), 4);
}

#[test]
fn tty_message_may_contain_a_spaced_equals_sign() {
    let line = "INFO[2026-01-15T09:30:00Z] Calling ec2:DescribeInstances for the InstanceId = i-0123456789abcdef0 ";
    let r = parse_line(line).unwrap();
    assert_eq!(
        r.msg_raw(),
        "Calling ec2:DescribeInstances for the InstanceId = i-0123456789abcdef0"
    );
    assert!(r.fields().is_empty());
}

#[test]
fn strips_prefixes_added_on_the_way() {
    let body = r#"time="2022-12-28T15:37:19Z" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/admin-test-role" client="127.0.0.1:33384" error="ARN is not mapped" method=POST path=/authenticate"#;
    for prefix in [
        "[pod/aws-iam-authenticator-x7k2p/aws-iam-authenticator] ",
        "aws-iam-authenticator-x7k2p aws-iam-authenticator ",
        "2022-12-28T15:37:19.512Z ",
        "2022-12-28 15:37:19.512 ",
    ] {
        let line = format!("{prefix}{body}");
        let r = parse_line(&line).unwrap();
        assert_eq!(r.prefix, Some(prefix.trim()), "{prefix}");
        assert_eq!(r.time, Some("2022-12-28T15:37:19Z"));
        assert_eq!(decoded(&r, "error").as_deref(), Some("ARN is not mapped"));
    }
    let tty = "my-pod my-container ERRO[2026-01-15T09:30:00Z] Unable to re-establish watch";
    let r = parse_line(tty).unwrap();
    assert_eq!((r.form, r.prefix), (Form::Tty, Some("my-pod my-container")));
}

#[test]
fn names_lines_that_are_not_authenticator_lines() {
    let cases = [
        ("", ParseErrorKind::Blank),
        ("   ", ParseErrorKind::Blank),
        (
            r#"Authenticator Version: "v0.6.14", "abcdef""#,
            ParseErrorKind::VersionBanner,
        ),
        (
            "W0101 12:00:00.000000       1 reflector.go:324] watch of *v1.ConfigMap ended",
            ParseErrorKind::Klog,
        ),
        (
            "panic: runtime error: invalid memory address",
            ParseErrorKind::GoRuntime,
        ),
        ("goroutine 1 [running]:", ParseErrorKind::GoRuntime),
        (
            "\t/go/src/sigs.k8s.io/aws-iam-authenticator/pkg/server/server.go:401 +0x1a5",
            ParseErrorKind::GoRuntime,
        ),
        ("hello world", ParseErrorKind::NotLogfmt),
        ("{\"level\":\"info\"}", ParseErrorKind::NotLogfmt),
    ];
    for (line, kind) in cases {
        let e = parse_line(line).unwrap_err();
        assert_eq!(e.kind, kind, "{line:?}");
    }
    assert!(ParseErrorKind::Klog.is_foreign());
    assert!(!ParseErrorKind::NotLogfmt.is_foreign());
}

#[test]
fn reports_malformed_pairs_and_invalid_utf8() {
    assert_eq!(parse_line("level= =x").unwrap().trailing, Some("=x"));
    let e = parse_line(r#"time="x"y level=info"#).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::MalformedPair);
    let e = parse_bytes(b"level=info msg=\xff\xfe").unwrap_err();
    assert_eq!((e.kind, e.offset), (ParseErrorKind::InvalidUtf8, 15));
    assert_eq!(e.to_string(), "invalid UTF-8 at byte 15");
}

/// A logrus line with a fixed time and level, the message `msg` and the data `pairs`.
fn logrus_line(msg: &str, pairs: &[(String, String)]) -> String {
    let mut line = format!(
        "time=\"2026-01-15T09:30:00Z\" level=info msg={}",
        logrus_value(msg)
    );
    for (k, v) in pairs {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        line.push_str(&logrus_value(v));
    }
    line
}

/// Every indexed key, a repeat of `msg`, and look-alikes of indexed keys; the last one,
/// `level`, is only looked up (a fixed key, never among the generated pairs).
const INDEX_PROBES: [&str; 19] = [
    "arn",
    "username",
    "uid",
    "client",
    "error",
    "sts",
    "stsendpoint",
    "role",
    "user",
    "groups",
    "session",
    "userid",
    "accesskeyid",
    "accountid",
    "msg",
    "x",
    "usernames",
    "ar",
    "level",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_bytes(&bytes);
    }

    #[test]
    fn never_panics_on_near_logfmt(s in r#"(time="|level=|WARN\[| |=|"|\\|[a-z]{1,4}|\]){0,40}"#) {
        let _ = parse_line(&s);
    }

    #[test]
    fn logrus_output_parses_back_to_the_same_pairs(
        msg in "\\PC{0,30}",
        pairs in proptest::collection::vec(("[a-z][a-zA-Z_.]{0,8}", "(\\PC|[\"\\\\\t\n\r= \u{1}\u{7f}\u{85}]){0,30}"), 0..10),
    ) {
        let line = logrus_line(&msg, &pairs);
        let r = parse_line(&line).unwrap();
        prop_assert_eq!(r.msg.map(|m| m.decoded().into_owned()), Some(msg.clone()));
        prop_assert_eq!(r.trailing, None);
        prop_assert!(!r.truncated);
        let got: Vec<(String, String)> = r.fields().iter().map(|(k, v)| (k.to_string(), v.decoded().into_owned())).collect();
        // Repeats of the fixed keys are data: they stay in the fields, in order.
        let want: Vec<(String, String)> = pairs.clone();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn indexed_keys_find_the_first_pair_like_a_scan(
        pairs in proptest::collection::vec((
            prop::sample::select(&INDEX_PROBES[..INDEX_PROBES.len() - 1]).prop_map(str::to_owned),
            "[a-z0-9:/ ]{0,12}",
        ), 0..24),
    ) {
        let line = logrus_line("m", &pairs);
        let r = parse_line(&line).unwrap();
        for key in INDEX_PROBES {
            let scan = r.fields().iter().find(|(k, _)| *k == key).map(|(_, v)| v.decoded().into_owned());
            prop_assert_eq!(decoded(&r, key), scan, "key {}", key);
        }
    }
}

#[test]
fn a_malformed_first_pair_reports_the_byte_where_it_broke() {
    // A closing quote glued to text: the pair gives up at the byte after the quote.
    let err = parse_line(r#"time="x"y level=info"#).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::MalformedPair);
    assert_eq!(err.offset, 8);
    // Behind a prefix the offset still counts from the start of the line.
    let err = parse_line(r#"pod/a time="x"y"#).unwrap_err();
    assert_eq!((err.kind, err.offset), (ParseErrorKind::MalformedPair, 14));
    // Foreign lines give up at once.
    let err = parse_line("W0101 12:00:00.000000 1 reflector.go:1] x").unwrap_err();
    assert_eq!((err.kind, err.offset), (ParseErrorKind::Klog, 0));
    // A TTY head without its `]`: `tty_time` runs to the end, so `]` is missing there.
    let line = "WARN[2019-04-27T20:00:09Z access denied";
    let err = parse_line(line).unwrap_err();
    assert_eq!(
        (err.kind, err.offset),
        (ParseErrorKind::NotLogfmt, line.len())
    );
    assert_eq!(
        err.to_string(),
        format!("not a logrus line at byte {}", line.len())
    );
}
