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
            count: 1
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
    a.aggregate(&Aggregate {
        granted: true,
        arn: Some("arn:aws:iam::111122223333:user/alice"),
        username: Some("kubernetes-admin"),
        count: 40,
        first_ms: Some(1_000),
        last_ms: Some(9_000),
        ..Aggregate::default()
    });
    // The aggregate query cuts the error before the STS body and reports the code apart.
    a.aggregate(&Aggregate {
        granted: false,
        error: Some("sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: "),
        sts_code: Some("InvalidClientTokenId"),
        count: 7,
        first_ms: Some(2_000),
        last_ms: Some(3_000),
        ..Aggregate::default()
    });
    a.aggregate(&Aggregate {
        granted: false,
        arn: Some("arn:aws:iam::111122223333:role/Dev"),
        error: Some("identity is not mapped"),
        count: 3,
        ..Aggregate::default()
    });
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
