//! Analysis tests: every class fixture through the real parser, the creator scenarios,
//! correlation, and independence from how the input is split.

use std::path::Path;

use super::*;
use crate::pipeline::feed;
use crate::source::{self, Envelope, InputFormat, Loc};

fn analyze_with(text: &str, opts: Options) -> Report {
    let mut a = Analyzer::new(opts);
    for (i, line) in text.lines().enumerate() {
        feed(
            &mut a,
            line.as_bytes(),
            &Envelope::default(),
            Loc {
                input: "t",
                line: i as u64 + 1,
            },
        );
    }
    a.finish()
}

fn analyze(text: &str) -> Report {
    analyze_with(text, Options::default())
}

fn classes(r: &Report) -> Vec<(&'static str, u64)> {
    r.failures
        .by_class
        .iter()
        .map(|c| (c.class.as_str(), c.count))
        .collect()
}

const ADMIN_GRANT: &str = r#"time="2026-01-15T09:00:00Z" level=info msg="access granted" arn="arn:aws:iam::111122223333:user/alice" client="127.0.0.1:40000" groups="[system:masters]" method=POST path=/authenticate uid="aws-iam-authenticator:111122223333:AIDAEXAMPLEALICE0001" username=kubernetes-admin"#;

#[test]
fn every_class_fixture_classifies_as_its_name() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("testdata/classes");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let want = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let r = analyze(&text);
        let got: Vec<&str> = r
            .failures
            .by_class
            .iter()
            .map(|c| c.class.as_str())
            .collect();
        assert_eq!(got, [want.as_str()], "{}", path.display());
        assert_eq!(
            r.events.unparsed + r.events.not_authenticator,
            0,
            "{}",
            path.display()
        );
        seen += 1;
    }
    assert_eq!(seen, Class::ALL.len(), "one fixture per class");
}

#[test]
fn one_creator_is_found_with_its_evidence() {
    let mapping = r#"time="2026-01-15T08:00:00Z" level=info msg="mapping IAM user" groups="[system:masters]" user="arn:aws:iam::111122223333:user/alice" username=kubernetes-admin"#;
    let r = analyze(&format!("{mapping}\n{ADMIN_GRANT}\n{ADMIN_GRANT}"));
    let c = &r.creator;
    assert_eq!(c.status, CreatorStatus::Found);
    assert_eq!(c.identities.len(), 1);
    let id = &c.identities[0];
    assert_eq!(id.canonical_arn, "arn:aws:iam::111122223333:user/alice");
    assert_eq!(id.account.as_deref(), Some("111122223333"));
    assert_eq!(id.evidence, ["mapping_static", "access_granted"]);
    assert_eq!(id.count, 3);
    assert_eq!(id.principal_ids, ["AIDAEXAMPLEALICE0001"]);
    assert_eq!(id.groups, ["system:masters"]);
    assert_eq!(id.first_seen.as_deref(), Some("2026-01-15T08:00:00Z"));
    assert_eq!(id.last_seen.as_deref(), Some("2026-01-15T09:00:00Z"));
    assert!(id.likely_creator);
    assert!(c.next_steps.is_empty());
}

#[test]
fn two_admins_are_ambiguous_and_both_listed() {
    let mapping = r#"level=info msg="mapping IAM role" groups="[system:masters]" role="arn:aws:iam::111122223333:role/Creator" username=kubernetes-admin"#;
    let r = analyze(&format!("{mapping}\n{ADMIN_GRANT}"));
    assert_eq!(r.creator.status, CreatorStatus::Ambiguous);
    let arns: Vec<(&str, bool)> = r
        .creator
        .identities
        .iter()
        .map(|i| (i.canonical_arn.as_str(), i.likely_creator))
        .collect();
    assert_eq!(
        arns,
        [
            ("arn:aws:iam::111122223333:role/Creator", true),
            ("arn:aws:iam::111122223333:user/alice", false)
        ]
    );
    assert!(
        r.creator
            .next_steps
            .iter()
            .any(|s| s.contains("CreateCluster"))
    );
}

#[test]
fn a_session_suffixed_admin_username_is_not_the_creator() {
    let line = ADMIN_GRANT.replace(
        "username=kubernetes-admin",
        r#"username="kubernetes-admin:ci-run-7""#,
    );
    let r = analyze(&line);
    assert_eq!(r.creator.status, CreatorStatus::NotFound);
    assert_eq!(
        r.principals.list[0].usernames[0].name,
        "kubernetes-admin:ci-run-7"
    );
}

#[test]
fn mapping_only_evidence_finds_the_creator() {
    let mapping = r#"time="2026-01-15T08:00:00Z" level=info msg="mapping IAM role" groups="[system:masters]" role="arn:aws:iam::111122223333:role/Creator" username=kubernetes-admin"#;
    let r = analyze(mapping);
    assert_eq!(r.creator.status, CreatorStatus::Found);
    assert_eq!(r.creator.identities[0].evidence, ["mapping_static"]);
}

#[test]
fn no_evidence_says_why_and_what_next() {
    let grant = r#"time="2026-01-15T09:00:00Z" level=info msg="access granted" arn="arn:aws:iam::111122223333:role/Dev" client="127.0.0.1:1" groups="[]" method=POST path=/authenticate uid="aws-iam-authenticator:111122223333:AROAEXAMPLEDEV000001" username="arn:aws:sts::111122223333:assumed-role/Dev/{{SessionName}}""#;
    let r = analyze_with(
        grant,
        Options {
            cluster: Some("demo".into()),
            region: Some("eu-west-1".into()),
            ..Options::default()
        },
    );
    assert_eq!(r.creator.status, CreatorStatus::NotFound);
    assert!(
        r.creator.reasons[0].contains("access entries"),
        "{:?}",
        r.creator.reasons
    );
    assert!(
        r.creator
            .next_steps
            .iter()
            .any(|s| s == "aws eks list-access-entries --cluster-name demo --region eu-west-1")
    );
}

#[test]
fn internal_identities_are_counted_but_hidden() {
    let line = r#"time="2025-12-24T19:48:32Z" level=info msg="access granted" arn="arn:aws:iam::927209226484:role/AWSWesleyClusterManagerLambda-Add-AddonManagerRole-1CRTQUJF13T5U" client="127.0.0.1:54812" groups="[]" method=POST path=/authenticate stsendpoint=sts.us-east-1.amazonaws.com uid="aws-iam-authenticator:927209226484:AROA5PYP2AD2FVXU23CA6" username="eks:addon-manager""#;
    let r = analyze(line);
    assert!(r.principals.list.is_empty());
    assert_eq!(r.principals.internal_hidden, 1);
    let r = analyze_with(
        line,
        Options {
            include_internal: true,
            ..Options::default()
        },
    );
    assert_eq!(r.principals.list.len(), 1);
    assert!(r.principals.list[0].internal);
}

#[test]
fn a_node_denial_pairs_with_its_sts_response() {
    let text = std::fs::read_to_string(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("testdata/classes/node_role_not_mapped.log"),
    )
    .unwrap();
    let r = analyze(&text);
    let c = &r.failures.by_class[0];
    assert_eq!(c.class, Class::NodeRoleNotMapped);
    assert_eq!(
        c.principals,
        [Count {
            name: "arn:aws:iam::111122223333:role/eks-node-role".into(),
            count: 1,
            diagnosis: None,
            span: c.principals[0].span,
        }]
    );
    // Without the STS response the same denial is only "not mapped".
    let deny_only: String = text
        .lines()
        .filter(|l| l.contains("access denied"))
        .collect();
    assert_eq!(classes(&analyze(&deny_only)), [("identity_not_mapped", 1)]);
}

#[test]
fn a_reused_port_does_not_pair_with_an_old_response() {
    let text = std::fs::read_to_string(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("testdata/classes/node_role_not_mapped.log"),
    )
    .unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    // A grant on the same client consumes the response before the denial arrives.
    let grant = r#"time="2026-01-15T09:28:00Z" level=info msg="access granted" arn="arn:aws:iam::111122223333:role/eks-node-role" client="127.0.0.1:51020" groups="[system:nodes]" method=POST path=/authenticate uid="aws-iam-authenticator:111122223333:AROAEXAMPLENODE12345" username="system:node:ip-10-0-1-23""#;
    lines.insert(1, grant);
    assert_eq!(
        classes(&analyze(&lines.join("\n"))),
        [("identity_not_mapped", 1)]
    );
}

#[test]
fn principal_recreated_needs_the_earlier_grant() {
    let text = std::fs::read_to_string(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("testdata/classes/principal_recreated.log"),
    )
    .unwrap();
    assert_eq!(classes(&analyze(&text)), [("principal_recreated", 1)]);
    let without_grant: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("access granted"))
        .collect();
    assert_eq!(
        classes(&analyze(&without_grant.join("\n"))),
        [("identity_not_mapped", 1)]
    );
}

#[test]
fn filters_by_time_principal_and_class() {
    let text = std::fs::read_to_string(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("testdata/classes/token_expired.log"),
    )
    .unwrap();
    let late = Options {
        since_ms: Some(i64::MAX / 2),
        ..Options::default()
    };
    let r = analyze_with(&text, late);
    assert_eq!(r.failures.total, 0);
    assert_eq!(r.events.outside_window, r.events.parsed);
    let sts_only = Options {
        families: vec![Family::Sts],
        ..Options::default()
    };
    assert_eq!(analyze_with(&text, sts_only).failures.total, 0);
    let tokens = Options {
        families: vec![Family::Token],
        ..Options::default()
    };
    assert_eq!(analyze_with(&text, tokens).failures.total, 1);
    let who = Options {
        principals: vec!["alice".into()],
        ..Options::default()
    };
    let r = analyze_with(ADMIN_GRANT, who);
    assert_eq!((r.principals.list.len(), r.events.filtered_out), (1, 0));
    let r = analyze_with(
        ADMIN_GRANT,
        Options {
            principals: vec!["bob".into()],
            ..Options::default()
        },
    );
    assert_eq!((r.principals.list.len(), r.events.filtered_out), (0, 1));
}

#[test]
fn timeline_bins_failures_by_hour() {
    let deny = |t: &str| {
        format!(
            r#"time="{t}" level=warning msg="access denied" client="127.0.0.1:1" error="input token was not properly formatted: token is too large" method=POST path=/authenticate"#
        )
    };
    let text = [
        deny("2026-01-15T09:10:00Z"),
        deny("2026-01-15T09:50:00Z"),
        deny("2026-01-15T11:05:00Z"),
    ]
    .join("\n");
    let t = analyze(&text).timeline;
    assert_eq!(t.bin, "hour");
    let bins: Vec<(&str, u64)> = t.bins.iter().map(|b| (b.start.as_str(), b.total)).collect();
    assert_eq!(
        bins,
        [
            ("2026-01-15T09:00:00Z", 2),
            ("2026-01-15T10:00:00Z", 0),
            ("2026-01-15T11:00:00Z", 1)
        ]
    );
}

/// Analyses `text` split into `parts` chunks at line boundaries, merged in order.
fn analyze_split(text: &str, parts: usize) -> Report {
    let buf = text.as_bytes();
    let mut merged = Analyzer::new(Options::default());
    let mut line = 1;
    for range in source::chunk_boundaries(buf, parts) {
        let mut a = Analyzer::new(Options::default());
        line += source::split_lines(
            &buf[range],
            line,
            "t",
            &mut |t: &[u8], e: &Envelope<'_>, l: Loc<'_>| feed(&mut a, t, e, l),
        );
        merged.merge(a);
    }
    merged.finish()
}

#[test]
fn splitting_the_input_never_changes_the_report() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("testdata/classes");
    let mut all = String::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    names.sort();
    for p in names {
        all.push_str(&std::fs::read_to_string(p).unwrap());
    }
    let whole = serde_json::to_value(analyze_split(&all, 1)).unwrap();
    for parts in [2, 3, 7, 50, 400] {
        let split = serde_json::to_value(analyze_split(&all, parts)).unwrap();
        assert_eq!(split, whole, "{parts} chunks");
    }
    // Sanity: the split is real and the sub-classes that need pairing survive it.
    assert!(
        whole["failures"]["by_class"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["class"] == "node_role_not_mapped")
    );
}

#[test]
fn inputs_of_every_shape_analyse_the_same() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("testdata/inputs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let mut a = Analyzer::new(Options::default());
        let file = std::fs::File::open(&path).unwrap();
        let r = source::read_from(
            "x",
            file,
            InputFormat::Auto,
            &mut |t: &[u8], e: &Envelope<'_>, l: Loc<'_>| feed(&mut a, t, e, l),
        );
        if r.is_err() {
            continue; // fixtures of malformed shapes
        }
        let report = a.finish();
        assert_eq!(
            report.events.total,
            report.events.parsed + report.events.unparsed + report.events.not_authenticator,
            "{}",
            path.display()
        );
    }
}

#[test]
fn server_side_aggregates_feed_the_same_report() {
    let mut a = Analyzer::new(Options::default());
    a.add(Evidence::Aggregate(&Aggregate {
        granted: true,
        arn: Some("arn:aws:iam::111122223333:user/alice"),
        username: Some("kubernetes-admin"),
        count: 40,
        first_ms: Some(1_000),
        last_ms: Some(9_000),
        ..Aggregate::default()
    }));
    // The aggregate query cuts the error before the STS body and reports the code apart.
    a.add(Evidence::Aggregate(&Aggregate {
        granted: false,
        error: Some("sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: "),
        sts_code: Some("InvalidClientTokenId"),
        count: 7,
        first_ms: Some(2_000),
        last_ms: Some(3_000),
        ..Aggregate::default()
    }));
    a.add(Evidence::Aggregate(&Aggregate {
        granted: false,
        arn: Some("arn:aws:iam::111122223333:role/Dev"),
        error: Some("identity is not mapped"),
        count: 3,
        ..Aggregate::default()
    }));
    let r = a.finish();
    assert_eq!(r.creator.status, CreatorStatus::Found);
    assert_eq!(r.creator.identities[0].count, 40);
    assert_eq!(
        classes(&r),
        [("sts_invalid_credentials", 7), ("identity_not_mapped", 3)]
    );
    assert_eq!((r.events.total, r.events.parsed), (50, 50));
    assert_eq!(r.events.by_kind["access_granted"], 40);
    assert_eq!(r.window.start.as_deref(), Some("1970-01-01T00:00:01Z"));
}

#[test]
fn implausible_times_are_counted_and_never_trusted() {
    // A bare integer in `time=`, a time before 1970, Go's zero time, the logrus TTY layout's
    // seconds-since-start: none of them is a time the report may use. Before, the first two
    // made `report` panic in the timeline and the others put the window in 1970 or year 1.
    let denied = r#"level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/x" client="127.0.0.1:1" error="ARN is not mapped" method=POST path=/authenticate"#;
    let text = [
        format!(r#"time="9223372036854775807" {denied}"#),
        format!(r#"time="1960-01-01T00:00:00Z" {denied}"#),
        format!(r#"time="0001-01-01T00:00:00Z" {denied}"#),
        format!(r#"time="2026-01-15T09:00:00Z" {denied}"#),
        r#"WARN[0042] access denied                                 arn="arn:aws:iam::111122223333:role/x" client="127.0.0.1:1" error="ARN is not mapped""#.to_owned(),
    ]
    .join("\n");
    let r = analyze(&text);
    assert_eq!(r.failures.total, 5);
    assert_eq!(r.events.implausible_time, 4);
    assert_eq!(r.window.start.as_deref(), Some("2026-01-15T09:00:00Z"));
    assert_eq!(r.window.end, r.window.start);
    assert_eq!(r.timeline.bins.len(), 1);
    assert_eq!(r.timeline.bins[0].total, 1);
    assert!(r.events.summary().contains("4 with an implausible time"));
}

#[test]
fn rows_the_source_windowed_are_counted_as_skew_not_dropped() {
    // CloudWatch Insights filters on `@timestamp`; a row whose own `time=` is a little
    // outside the window was dropped a second time before ("outside the time window").
    let line = r#"time="2026-01-15T08:59:59Z" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/x" client="127.0.0.1:1" error="ARN is not mapped" method=POST path=/authenticate"#;
    let window = Options {
        since_ms: Some(1_768_467_600_000), // 2026-01-15T09:00:00Z
        ..Options::default()
    };
    let local = analyze_with(line, window.clone());
    assert_eq!((local.events.outside_window, local.failures.total), (1, 0));
    let cw = analyze_with(
        line,
        Options {
            window_applied_by_source: true,
            ..window
        },
    );
    assert_eq!(cw.events.outside_window, 0);
    assert_eq!((cw.events.window_skew, cw.failures.total), (1, 1));
    assert!(
        cw.events
            .summary()
            .contains("1 kept with a time= outside the window")
    );
}

/// One piece of evidence in a property-test input.
#[derive(Clone, Debug)]
enum Item {
    Line(Vec<u8>),
    Aggregate(usize),
}

/// Aggregates to mix into property-test inputs: a creator grant, a denial the classifier
/// needs the STS code for, and a not-mapped denial.
const AGGREGATES: [Aggregate<'static>; 3] = [
    Aggregate {
        granted: true,
        arn: Some("arn:aws:iam::111122223333:user/alice"),
        username: Some("kubernetes-admin"),
        error: None,
        sts_code: None,
        count: 4,
        first_ms: Some(1_768_435_300_000),
        last_ms: Some(1_768_440_000_000),
    },
    Aggregate {
        granted: false,
        arn: None,
        username: None,
        error: Some("sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: "),
        sts_code: Some("InvalidClientTokenId"),
        count: 2,
        first_ms: Some(1_768_436_000_000),
        last_ms: None,
    },
    Aggregate {
        granted: false,
        arn: Some("arn:aws:iam::111122223333:role/Dev"),
        username: None,
        error: Some("identity is not mapped"),
        count: 3,
        sts_code: None,
        first_ms: None,
        last_ms: None,
    },
];

/// An `STS response` and the denial it pairs with, of a class settled when it is read.
const PAIR: [&str; 2] = [
    r#"time="2026-01-15T04:28:17Z" level=info msg="STS response" arn="arn:aws:sts::111122223333:assumed-role/Ops/EKSAuthTokenSession" client="127.0.0.1:57518" session=EKSAuthTokenSession userid=AROAFB62VQG413OU82O05"#,
    r#"time="2026-01-15T04:28:17Z" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/Ops" client="127.0.0.1:57518" error="failed mapping username: SessionName did not contain an instance id""#,
];

/// The analysis of `items` (numbered from `first`) by one fresh analyzer.
fn analyse_items(items: &[Item], first: usize, opts: &Options) -> Analyzer {
    let mut a = Analyzer::new(opts.clone());
    for (i, item) in items.iter().enumerate() {
        match item {
            Item::Line(text) => {
                let loc = Loc {
                    input: "t",
                    line: (first + i) as u64 + 1,
                };
                feed(&mut a, text, &Envelope::default(), loc);
            }
            Item::Aggregate(n) => {
                a.add(Evidence::Aggregate(&AGGREGATES[*n]));
            }
        }
    }
    a
}

/// Every line of the class fixtures and the sample log.
fn fixture_lines() -> Vec<Vec<u8>> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata"));
    let mut files: Vec<_> = std::fs::read_dir(root.join("classes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files.push(root.join("sample.log"));
    files
        .iter()
        .flat_map(|p| {
            let text = std::fs::read(p).unwrap();
            text.split(|&b| b == b'\n')
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Filters that change what the accumulators keep: none, a principal, a time window.
fn property_options(n: usize) -> Options {
    match n {
        0 => Options::default(),
        1 => Options {
            principals: vec!["role".to_owned()],
            ..Options::default()
        },
        _ => Options {
            since_ms: Some(1_768_435_200_000 + 2 * HOUR_MS),
            until_ms: Some(1_768_435_200_000 + 20 * HOUR_MS),
            ..Options::default()
        },
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// `merge(analyse(a), analyse(b)) == analyse(a ++ b)` for the whole analysis: any input
    /// (a generated corpus around the fixtures, with aggregates mixed in) cut at random line
    /// boundaries into 2 to 5 parts, each analysed apart and merged in order, gives the
    /// report of one pass. Cuts fall between an `STS response` and the denial after it, so
    /// pairs straddle a cut.
    #[test]
    fn merging_the_parts_gives_the_report_of_the_whole(
        seed in proptest::prelude::any::<u64>(),
        lines in 20u64..400,
        at in proptest::prelude::any::<proptest::sample::Index>(),
        at2 in proptest::prelude::any::<proptest::sample::Index>(),
        aggregates in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), 0..AGGREGATES.len()),
            0..4,
        ),
        cuts in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..3),
        straddle in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 1..3),
        opts in 0usize..3,
    ) {
        use eks_authlog_testkit::corpus::{self, Spec};
        let mut generated = Vec::new();
        let spec = Spec { lines: Some(lines), seed, streams: 2, ..Spec::default() };
        corpus::write(&spec, &mut generated).unwrap();
        let mut items: Vec<Item> = generated
            .split(|&b| b == b'\n')
            .map(|l| Item::Line(l.to_vec()))
            .collect();
        let fixtures = fixture_lines().into_iter().map(Item::Line);
        let at = at.index(items.len() + 1);
        items.splice(at..at, fixtures);
        // A response and the denial of a settled class it pairs with, earlier than any other
        // of that class: its example has the session only if the merge pairs them.
        let paired = at2.index(items.len() + 1);
        items.splice(paired..paired, PAIR.iter().map(|l| Item::Line(l.as_bytes().to_vec())));
        for (i, n) in aggregates {
            items.insert(i.index(items.len() + 1), Item::Aggregate(n));
        }
        let has = |i: usize, msg: &[u8]| {
            matches!(items.get(i), Some(Item::Line(l)) if l.windows(msg.len()).any(|w| w == msg))
        };
        // Where a response is followed by a denial: the fixtures always have some.
        let pairs: Vec<usize> = (1..items.len())
            .filter(|&i| has(i - 1, b"msg=\"STS response\"") && has(i, b"msg=\"access denied\""))
            .collect();
        proptest::prop_assert!(!pairs.is_empty());
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(items.len() + 1)).collect();
        bounds.extend(straddle.iter().map(|s| pairs[s.index(pairs.len())]));
        let paired = items
            .iter()
            .position(|it| matches!(it, Item::Line(l) if l == PAIR[1].as_bytes()))
            .unwrap();
        bounds.push(paired);
        bounds.push(0);
        bounds.push(items.len());
        bounds.sort_unstable();
        let opts = property_options(opts);
        let whole = serde_json::to_value(analyse_items(&items, 0, &opts).finish()).unwrap();
        let mut merged = Analyzer::new(opts.clone());
        for w in bounds.windows(2) {
            merged.merge(analyse_items(&items[w[0]..w[1]], w[0], &opts));
        }
        let split = serde_json::to_value(merged.finish()).unwrap();
        proptest::prop_assert_eq!(split, whole, "cut at {:?}", bounds);
    }
}

/// Regression (issue 10): `events` kept the full per-principal state (470 MB with 200k
/// principals) although it only streams. Its analyzer keeps nothing per principal, whatever
/// their number, and still counts every failure by class, with not-mapped denials under the
/// base class the records carry.
#[test]
fn the_events_analyzer_keeps_nothing_per_principal() {
    let sample = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample.log"),
    )
    .expect("sample.log");
    let mut lean = Analyzer::for_events(Options::default());
    let mut full = Analyzer::new(Options::default());
    for (i, line) in sample.lines().enumerate() {
        let loc = Loc {
            input: "sample.log",
            line: i as u64 + 1,
        };
        feed(&mut lean, line.as_bytes(), &Envelope::default(), loc);
        feed(&mut full, line.as_bytes(), &Envelope::default(), loc);
    }
    assert!(!full.principals.is_empty());
    assert!(lean.principals.is_empty(), "principals kept");
    assert!(lean.not_mapped.is_empty(), "not-mapped history kept");
    assert!(lean.static_roles.is_empty());
    assert!(lean.failures.values().all(|f| f.principals.is_empty()));
    let (lean, full) = (lean.finish(), full.finish());
    assert_eq!(
        lean.events.summary(),
        full.events.summary(),
        "the same accounting"
    );
    assert!(lean.principals.list.is_empty());
    // The same failures, not-mapped sub-classes folded into their base class.
    let base = |r: &Report| {
        let mut m: BTreeMap<&str, u64> = BTreeMap::new();
        for c in &r.failures.by_class {
            let class = match c.class {
                Class::NodeRoleNotMapped
                | Class::SsoRoleNotMapped
                | Class::PrincipalRecreated
                | Class::RolePathInMapping => Class::IdentityNotMapped,
                c => c,
            };
            *m.entry(class.as_str()).or_default() += c.count;
        }
        m
    };
    assert_eq!(base(&lean), base(&full));
    assert!(base(&full)["identity_not_mapped"] > 0);
}

/// The report of `data` read as one input, as JSON without its line references (the `line`
/// of each example): the one thing another order of the same lines may change.
fn report_without_lines(data: &[u8]) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("line");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let job = crate::pipeline::Job::default();
    let (r, _) = crate::pipeline::report_from("in", data, &job).unwrap();
    let mut v = serde_json::to_value(r).unwrap();
    strip(&mut v);
    v
}

/// A generated corpus of `lines` raw lines.
fn corpus_lines(
    seed: u64,
    lines: u64,
    format: eks_authlog_testkit::corpus::CorpusFormat,
) -> Vec<u8> {
    use eks_authlog_testkit::corpus::{self, Spec};
    let mut out = Vec::new();
    let spec = Spec {
        lines: Some(lines),
        seed,
        format,
        streams: 2,
        ..Spec::default()
    };
    corpus::write(&spec, &mut out).unwrap();
    out
}

/// Gives every line that starts with `time="…"` its own second, in order, so that no two
/// events share a time (on any key) at the input's precision.
fn distinct_times(corpus: &[u8]) -> Vec<Vec<u8>> {
    corpus
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| {
            const HEAD: &[u8] = b"time=\"2026-01-15T00:00:00Z\"";
            if !l.starts_with(b"time=\"") || l.len() < HEAD.len() {
                return l.to_vec();
            }
            let t = crate::time::format_ms(1_768_435_200_000 + i as i64 * 1000);
            let mut out = format!("time=\"{t}\"").into_bytes();
            out.extend_from_slice(&l[HEAD.len()..]);
            out
        })
        .collect()
}

fn joined(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = lines.join(&b'\n');
    out.push(b'\n');
    out
}

/// A corpus with its log lines newest first: raw lines reversed, or the rows of a
/// `get-query-results` document reversed (what `sort @timestamp desc` returns).
fn newest_first(data: &[u8], format: eks_authlog_testkit::corpus::CorpusFormat) -> Vec<u8> {
    use eks_authlog_testkit::corpus::CorpusFormat;
    match format {
        CorpusFormat::QueryResults => {
            let mut doc: serde_json::Value = serde_json::from_slice(data).unwrap();
            doc["results"].as_array_mut().unwrap().reverse();
            serde_json::to_vec(&doc).unwrap()
        }
        _ => {
            let mut lines: Vec<Vec<u8>> = data
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            lines.reverse();
            joined(&lines)
        }
    }
}

/// Issue 10, item 1: a generated corpus given newest first (as `get-query-results` and the
/// console's CSV return it) reported not-mapped denials paired with the response of the
/// *next* request in time: hundreds of `identity_not_mapped` and `sso_role_not_mapped`
/// denials came out as `node_role_not_mapped` or `principal_recreated`, and the other way
/// round. Raw lines have whole-second times, so a response and its denial tie: the
/// direction of the input decides.
#[test]
fn regression_10_newest_first_gives_the_report_of_oldest_first() {
    use eks_authlog_testkit::corpus::CorpusFormat;
    for format in [CorpusFormat::QueryResults, CorpusFormat::Raw] {
        let data = corpus_lines(7, 5000, format);
        let want = report_without_lines(&data);
        let got = report_without_lines(&newest_first(&data, format));
        assert_eq!(got, want, "{format:?}");
        assert_eq!(want["events"]["out_of_order_beyond_window"], 0);
        // The corpus has the sub-classes that need pairing.
        let count = |class: &str| {
            want["failures"]["by_class"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["class"] == class)
                .map_or(0, |c| c["count"].as_u64().unwrap())
        };
        assert!(count("node_role_not_mapped") > 10, "{format:?}");
        assert!(count("sso_role_not_mapped") > 10, "{format:?}");
    }
}

#[test]
fn a_response_later_than_the_sort_window_is_counted_not_paired() {
    let data = corpus_lines(3, 400, eks_authlog_testkit::corpus::CorpusFormat::Raw);
    let lines = distinct_times(&data);
    let want = report_without_lines(&joined(&lines));
    // The response of the first denial that has one, moved to the end: more than a window
    // of 8 events after the denial, which has been settled by then.
    let has = |l: &[u8], m: &[u8]| l.windows(m.len()).any(|w| w == m);
    let at = (1..lines.len())
        .find(|&i| has(&lines[i], b"access denied") && has(&lines[i - 1], b"STS response"))
        .unwrap();
    let mut moved = lines.clone();
    let r = moved.remove(at - 1);
    moved.push(r);
    let job = crate::pipeline::Job::default();
    let mut a = Analyzer::new(job.options.clone()).with_sort_window(8);
    source::read_from(
        "in",
        &joined(&moved)[..],
        InputFormat::Auto,
        &mut crate::pipeline::Feed(&mut a),
    )
    .unwrap();
    let r = serde_json::to_value(a.finish()).unwrap();
    assert_eq!(r["events"]["out_of_order_beyond_window"], 1);
    assert_eq!(r["events"]["total"], want["events"]["total"]);
    // With the default window the same input is placed exactly.
    assert_eq!(report_without_lines(&joined(&moved)), want);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Issue 10, item 1: any permutation of an input gives the same report except for the
    /// line references. Every event has its own second here (so no two events on a key tie
    /// at the input's precision, and read order cannot matter); the inputs fit the sort
    /// window. Newest first with ties is `regression_10_newest_first_gives_the_report_of_oldest_first`.
    #[test]
    fn any_order_of_the_lines_gives_the_same_report(
        seed in proptest::prelude::any::<u64>(),
        lines in 30u64..500,
        order in proptest::prelude::any::<u64>(),
        shape in 0usize..3,
    ) {
        let lines = distinct_times(&corpus_lines(seed, lines, eks_authlog_testkit::corpus::CorpusFormat::Raw));
        let want = report_without_lines(&joined(&lines));
        let mut permuted = lines.clone();
        let mut rng = eks_authlog_testkit::corpus::Rng::new(order);
        match shape {
            // Newest first.
            0 => permuted.reverse(),
            // Shuffled.
            1 => {
                for i in (1..permuted.len()).rev() {
                    let j = rng.below(i as u64 + 1) as usize;
                    permuted.swap(i, j);
                }
            }
            // Concatenated pieces out of order, some of them reversed.
            _ => {
                let mut pieces: Vec<Vec<Vec<u8>>> = permuted
                    .chunks(1 + rng.below(permuted.len() as u64) as usize)
                    .map(<[Vec<u8>]>::to_vec)
                    .collect();
                for p in &mut pieces {
                    if rng.below(2) == 0 {
                        p.reverse();
                    }
                }
                pieces.reverse();
                permuted = pieces.concat();
            }
        }
        let got = report_without_lines(&joined(&permuted));
        proptest::prop_assert_eq!(got, want);
    }
}
