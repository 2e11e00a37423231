//! Audit tests: the public samples, the mixed fixture's known answers in every envelope, the
//! join on generated timelines, and independence from order and from how input is split.

use std::io::Write as _;

use proptest::prelude::*;

use super::join::{self, Confidence, Denial, Knock};
use super::*;
use crate::analysis::{Analyzer, Options, Report};
use crate::classify::Class;
use crate::merge::Merge;
use crate::pipeline::Feed;
use crate::source::{self, Envelope, InputFormat, LineSink, Loc};

fn fixture(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/audit/");
    std::fs::read_to_string(format!("{path}{name}")).unwrap()
}

fn analyze_lines<'a>(lines: impl Iterator<Item = &'a str>, opts: Options) -> Report {
    let mut a = Analyzer::new(opts);
    for (i, line) in lines.enumerate() {
        Feed(&mut a).line(
            line.as_bytes(),
            &Envelope::default(),
            Loc {
                input: "mixed.log",
                line: i as u64 + 1,
            },
        );
    }
    a.finish()
}

fn analyze_bytes(name: &str, bytes: &[u8], format: InputFormat) -> Report {
    let mut a = Analyzer::new(Options::default());
    source::read_from(name, bytes, format, &mut Feed(&mut a)).unwrap();
    a.finish()
}

fn audit(r: &Report) -> &AuditSection {
    r.audit.as_ref().expect("an audit section")
}

fn caller(c: &CallerCount) -> (String, String, u64) {
    (
        c.source_ip.clone().unwrap_or_default(),
        c.user_agent.clone().unwrap_or_default(),
        c.count,
    )
}

const KUBECTL: &str = "kubectl/v1.29.3 (darwin/arm64) kubernetes/6813625";

#[test]
fn the_public_samples_parse_into_their_fields() {
    let text = fixture("samples.jsonl");
    let loc = Loc {
        input: "samples.jsonl",
        line: 1,
    };
    let events: Vec<AuditEvent<'_>> = text
        .lines()
        .map(|l| {
            AuditEvent::parse(l.as_bytes(), Envelope::default(), loc)
                .unwrap()
                .unwrap()
        })
        .collect();
    let [s2, s1, s3, s4, kc] = &events[..] else {
        panic!("five samples")
    };
    // A failed authentication: ResponseStarted, `user: {}`, code 401, with and without the
    // message (1.24 and later, 1.23 and earlier).
    assert!(s2.is_unauthorized() && s1.is_unauthorized());
    assert_eq!(s2.stage(), Some("ResponseStarted"));
    assert_eq!(s2.username(), None);
    assert_eq!(s2.message(), Some("Unauthorized"));
    assert_eq!(s1.message(), None);
    assert_eq!(s2.source_ip(), Some("10.0.152.130"));
    assert_eq!(s2.received_us, Some(1_684_232_848_826_058));
    assert_eq!(s2.stage_us, Some(1_684_232_848_837_875));
    assert_eq!(s2.resource(), Some("selfsubjectaccessreviews"));
    // The EKS 403: forbid, the `\u0026` of the URI decoded.
    assert!(s3.is_forbidden());
    assert_eq!(s3.code(), Some(403));
    assert_eq!(s3.reason(), Some(""));
    assert_eq!(
        s3.request_uri(),
        Some("/apis/policy/v1/poddisruptionbudgets?limit=500&resourceVersion=0")
    );
    assert_eq!(s3.api_group(), Some("policy"));
    // The access-entry user: every user.extra key.
    assert_eq!(
        s4.canonical_arn(),
        Some("arn:aws:iam::211125685544:role/sso_admin")
    );
    assert_eq!(s4.principal_id(), Some("AROATCKASJUUBCXRRKSFT"));
    assert_eq!(s4.access_key_id(), Some("ASIATCKASJUUEXAMPLE1"));
    assert_eq!(s4.session(), Some("gomyers@paloaltonetworks.com"));
    assert!(
        s4.reason()
            .unwrap()
            .starts_with("EKS Access Policy: allowed by")
    );
    assert!(!s4.is_forbidden());
    assert_eq!(kc.username(), Some(ADMIN));
    assert_eq!(
        kc.groups().collect::<Vec<_>>(),
        ["system:masters", "system:authenticated"]
    );
    // No principalId before authenticator v0.5.13.
    assert_eq!(kc.principal_id(), None);
}

#[test]
fn the_samples_are_counted_parsed_and_name_the_creator() {
    let text = fixture("samples.jsonl");
    let r = analyze_lines(text.lines(), Options::default());
    assert_eq!(
        (r.events.total, r.events.parsed, r.events.unparsed),
        (5, 5, 0)
    );
    assert_eq!(r.events.by_kind["audit"], 5);
    let a = audit(&r);
    assert_eq!(a.events.unauthorized, 2);
    assert_eq!(a.events.forbidden, 1);
    assert_eq!(a.events.by_code["200"], 2);
    // The creator, from the audit log alone.
    assert_eq!(r.creator.identities.len(), 1);
    let c = &r.creator.identities[0];
    assert_eq!(c.canonical_arn, "arn:aws:iam::111122223333:role/Admin");
    assert_eq!(c.evidence, ["audit_kubernetes_admin"]);
    // The scheduler has no IAM principal: an rbac fix with a ClusterRole.
    let f = &a.forbidden.principals[0];
    assert_eq!(f.username, "system:kube-scheduler");
    assert_eq!(f.fix.kind, "rbac");
    let yaml = f.fix.yaml.as_deref().unwrap();
    assert!(yaml.contains("kind: ClusterRole\n"), "{yaml}");
    assert!(
        yaml.contains("- policy\n  resources:\n  - poddisruptionbudgets\n  verbs:\n  - list\n"),
        "{yaml}"
    );
}

/// What the join made of the mixed fixture, as (class, exact, likely, ambiguous, unmatched).
fn pairing_counts(r: &Report) -> Vec<(Class, u64, u64, u64, u64)> {
    audit(r)
        .attribution
        .by_class
        .iter()
        .map(|c| (c.class, c.exact, c.likely, c.ambiguous, c.unmatched))
        .collect()
}

fn check_mixed(r: &Report, what: &str) {
    assert_eq!(r.events.total, 33, "{what}");
    assert_eq!(r.events.parsed, 33, "{what}");
    assert_eq!(r.events.by_kind["audit"], 21, "{what}");
    let a = audit(r);
    let at = &a.attribution;
    assert_eq!(at.denials, 12, "{what}");
    assert_eq!(
        (at.exact, at.likely, at.ambiguous, at.unmatched),
        (6, 3, 2, 1),
        "{what}"
    );
    assert_eq!(
        pairing_counts(r),
        [
            (Class::TokenExpired, 3, 3, 0, 1),
            (Class::StsThrottled, 3, 0, 0, 0),
            (Class::StsInvalidCredentials, 0, 0, 2, 0),
        ],
        "{what}"
    );
    // The 401 of the service-account token is paired with nothing.
    assert_eq!(
        (at.unauthorized, at.unauthorized_unpaired),
        (10, 1),
        "{what}"
    );
    assert_eq!(
        at.unpaired_callers.iter().map(caller).collect::<Vec<_>>(),
        [(
            "10.0.8.8".to_owned(),
            "argocd-application-controller/v2.9.3".to_owned(),
            1
        )],
        "{what}"
    );
    // The failures section names who sent the expired tokens.
    let expired = r
        .failures
        .by_class
        .iter()
        .find(|c| c.class == Class::TokenExpired)
        .unwrap();
    assert_eq!(
        expired.callers.iter().map(caller).collect::<Vec<_>>(),
        [
            ("10.0.3.17".to_owned(), KUBECTL.to_owned(), 5),
            (
                "10.0.9.2".to_owned(),
                "Terraform/1.7.0 (+https://www.terraform.io) terraform-provider-kubernetes/2.25.2"
                    .to_owned(),
                1
            ),
        ],
        "{what}"
    );
    assert_eq!(expired.attribution.as_ref().unwrap().unmatched, 1);
    // Ambiguous pairings list both callers.
    let amb: Vec<&Join> = at
        .joins
        .iter()
        .filter(|j| j.confidence == Confidence::Ambiguous)
        .collect();
    assert_eq!(amb.len(), 2, "{what}");
    assert_eq!(amb[0].candidates.len(), 2, "{what}");
    assert_eq!(at.joins[0].request_uri.as_deref(), Some("/api?timeout=32s"));
    assert_eq!(at.joins[0].received, "2026-01-15T09:00:00.412018Z");
}

#[test]
fn the_mixed_fixture_gives_its_known_answers() {
    let text = fixture("mixed.log");
    let r = analyze_lines(text.lines(), Options::default());
    check_mixed(&r, "raw");
    let a = audit(&r);
    // 403s: only `forbid` ones (the pod-security 403 is admission), grouped by user.
    assert_eq!(
        (a.events.forbidden, a.events.forbidden_by_admission),
        (5, 1)
    );
    let users: Vec<(&str, u64, &str)> = a
        .forbidden
        .principals
        .iter()
        .map(|p| (p.username.as_str(), p.count, p.fix.kind))
        .collect();
    assert_eq!(
        users,
        [
            (
                "arn:aws:sts::111122223333:assumed-role/dev/alice",
                3,
                "access_policy"
            ),
            ("system:anonymous", 1, "credentials"),
            ("testuser", 1, "rbac"),
        ]
    );
    let alice = &a.forbidden.principals[0];
    assert_eq!(
        alice.canonical_arn.as_deref(),
        Some("arn:aws:iam::111122223333:role/dev")
    );
    assert!(alice.fix.no_permissions, "no groups and no access policy");
    // Secrets are outside the view policy: admin-view, in the one namespace.
    assert!(
        alice.fix.commands[0]
            .contains("AmazonEKSAdminViewPolicy --access-scope type=namespace,namespaces=web"),
        "{}",
        alice.fix.commands[0]
    );
    assert_eq!(alice.requests[0].count, 2);
    assert_eq!(alice.requests[0].resource.as_deref(), Some("pods"));
    let test = &a.forbidden.principals[2];
    assert!(!test.fix.no_permissions);
    assert_eq!(test.groups, ["dev-readers"]);
    assert!(test.fix.yaml.as_deref().unwrap().contains("  - nodes\n"));
    // The identity map.
    let deployer = a
        .identities
        .iter()
        .find(|i| i.canonical_arn.ends_with("role/deployer"))
        .unwrap();
    assert!(deployer.recreated);
    assert_eq!(deployer.principal_ids.len(), 2);
    let test_id = a
        .identities
        .iter()
        .find(|i| i.canonical_arn.ends_with("user/testuser"))
        .unwrap();
    assert_eq!(test_id.long_term_keys[0].id, "AKIAEXAMPLELONGTERM1");
    assert_eq!(test_id.long_term_keys[0].count, 3);
    assert_eq!((a.anonymous.count, a.anonymous.by_code["403"]), (1, 1));
    // Principals and creator join the report.
    let p = r
        .principals
        .list
        .iter()
        .find(|p| p.arn.ends_with("role/deployer"))
        .unwrap();
    let pa = p.audit.as_ref().unwrap();
    assert!(pa.recreated);
    assert_eq!(pa.usernames[0].name, "deployer");
    assert_eq!(r.creator.identities.len(), 1);
    assert_eq!(
        r.creator.identities[0].canonical_arn,
        "arn:aws:iam::111122223333:role/PlatformAdmin"
    );
    assert_eq!(r.creator.identities[0].evidence, ["audit_kubernetes_admin"]);
    assert_eq!(
        r.creator.identities[0].principal_ids,
        ["AROAEXAMPLEADMIN0001"]
    );
}

/// The mixed fixture's lines as CloudWatch returns them: (message, epoch ms).
fn mixed_messages() -> Vec<(String, i64)> {
    fixture("mixed.log")
        .lines()
        .enumerate()
        .map(|(i, l)| (l.to_owned(), 1_768_467_600_000 + i as i64))
        .collect()
}

#[test]
fn every_envelope_carries_audit_events() {
    let msgs = mixed_messages();
    let events: Vec<serde_json::Value> = msgs
        .iter()
        .map(|(m, ts)| {
            serde_json::json!({"logStreamName": "kube-apiserver-audit-0123", "timestamp": ts,
                "message": m, "ingestionTime": ts, "eventId": ts.to_string()})
        })
        .collect();
    let fle = serde_json::to_vec(&serde_json::json!({"events": events})).unwrap();
    check_mixed(
        &analyze_bytes("fle.json", &fle, InputFormat::Auto),
        "filter-log-events",
    );
    let rows: Vec<serde_json::Value> = msgs
        .iter()
        .map(|(m, ts)| {
            serde_json::json!([{"field": "@timestamp", "value": ts.to_string()},
                {"field": "@message", "value": m}, {"field": "@logStream", "value": "kube-apiserver-audit-0123"}])
        })
        .collect();
    let qr =
        serde_json::to_vec(&serde_json::json!({"status": "Complete", "results": rows})).unwrap();
    check_mixed(
        &analyze_bytes("qr.json", &qr, InputFormat::Auto),
        "query-results",
    );
    let mut csv = b"@timestamp,@message\n".to_vec();
    for (m, _) in &msgs {
        writeln!(
            csv,
            "2026-01-15 09:00:00.000,\"{}\"",
            m.replace('"', "\"\"")
        )
        .unwrap();
    }
    check_mixed(&analyze_bytes("export.csv", &csv, InputFormat::Auto), "csv");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(fixture("mixed.log").as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    check_mixed(
        &analyze_bytes("mixed.log.gz", &gz, InputFormat::Auto),
        "gzip",
    );
    // A file that starts with an audit event is raw lines too.
    let mut audit_first: Vec<&str> = fixture_lines_audit_first();
    audit_first.dedup();
    let text = audit_first.join("\n");
    let r = analyze_bytes("audit-first.log", text.as_bytes(), InputFormat::Auto);
    check_mixed(&r, "audit first");
}

fn fixture_lines_audit_first() -> Vec<&'static str> {
    let text: &'static str = Box::leak(fixture("mixed.log").into_boxed_str());
    let (audit, auth): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with('{'));
    audit.into_iter().chain(auth).collect()
}

#[test]
fn the_report_does_not_depend_on_how_input_is_split_or_ordered() {
    let text = fixture("mixed.log");
    let lines: Vec<&str> = text.lines().collect();
    let whole = analyze_lines(lines.iter().copied(), Options::default());
    let json = |r: &Report| serde_json::to_string(r).unwrap();
    for size in [1, 2, 5, 7, 16] {
        let mut acc = Analyzer::new(Options::default());
        for (n, chunk) in lines.chunks(size).enumerate() {
            let mut a = Analyzer::new(Options::default());
            for (i, l) in chunk.iter().enumerate() {
                Feed(&mut a).line(
                    l.as_bytes(),
                    &Envelope::default(),
                    Loc {
                        input: "mixed.log",
                        line: (n * size + i) as u64 + 1,
                    },
                );
            }
            acc.merge(a);
        }
        assert_eq!(json(&acc.finish()), json(&whole), "chunks of {size}");
    }
    // Reordered (audit events first, then authenticator lines): the same pairings.
    let r = analyze_lines(fixture_lines_audit_first().into_iter(), Options::default());
    assert_eq!(pairing_counts(&r), pairing_counts(&whole));
}

#[test]
fn damaged_audit_events_are_counted_unparsed() {
    let text = fixture("mixed.log");
    let line = text.lines().nth(1).unwrap();
    let cut = &line[..line.len() / 2];
    let r = analyze_lines([cut, line].into_iter(), Options::default());
    assert_eq!(
        (r.events.total, r.events.parsed, r.events.unparsed),
        (2, 1, 1)
    );
    assert_eq!(r.events.unparsed_by_reason["malformed_audit"], 1);
    let first = r.events.first_unparsed.as_deref().unwrap();
    assert!(
        first.starts_with("mixed.log:1: malformed_audit at byte "),
        "{first}"
    );
    let at: usize = first.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        at + 2 >= cut.len() && at <= cut.len(),
        "{first} for {} bytes",
        cut.len()
    );
}

#[test]
fn events_write_audit_records() {
    let text = fixture("samples.jsonl");
    let line = text.lines().nth(3).unwrap();
    let e = AuditEvent::parse(
        line.as_bytes(),
        Envelope::default(),
        Loc {
            input: "s",
            line: 4,
        },
    )
    .unwrap()
    .unwrap();
    let out = crate::report::wire::EventOut::audit(&e);
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["kind"], "audit");
    assert_eq!(v["audit"]["code"], 200);
    assert_eq!(
        v["audit"]["canonical_arn"],
        "arn:aws:iam::211125685544:role/sso_admin"
    );
    assert_eq!(v["audit"]["decision"], "allow");
    assert_eq!(v["audit"]["received"], "2024-08-14T17:41:09.516372Z");
    assert_eq!(
        v["audit"]["source_ips"],
        serde_json::json!(["52.94.133.131"])
    );
    assert_eq!(v["uid"]["principal_id"], "AROATCKASJUUBCXRRKSFT");
    let keys: Vec<&str> = v["audit"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 23, "{keys:?}");
    let r = crate::report::redact::Redactor::new(b"");
    let red = serde_json::to_string(&out.redacted(&r)).unwrap();
    for leak in [
        "211125685544",
        "AROATCKASJUUBCXRRKSFT",
        "ASIATCKASJUUEXAMPLE1",
        "gomyers",
    ] {
        assert!(!red.contains(leak), "{leak} in {red}");
    }
}

#[test]
fn redaction_reaches_the_audit_section() {
    let mut r = analyze_lines(fixture("mixed.log").lines(), Options::default());
    crate::report::redact::Redactor::new(b"").report(&mut r);
    let json = serde_json::to_string(&r).unwrap();
    for leak in [
        "111122223333",
        "AKIAEXAMPLELONGTERM1",
        "AROAEXAMPLEDEPLOY0001",
        "/alice",
    ] {
        assert!(!json.contains(leak), "{leak} leaked");
    }
}

// The join on generated timelines with known answers.

/// One generated request: when it was received, who sent it, whether STS throttled it, and
/// whether its audit event reached the log.
#[derive(Clone, Debug)]
struct Req {
    received_us: i64,
    who: u32,
    throttled: u8,
    audited: bool,
    /// Authenticator clock minus apiserver clock, µs.
    skew_us: i64,
}

const T0_US: i64 = 1_768_467_600_000_000;

/// The denials and 401s of `reqs`, and the true caller of each denial.
fn timeline(reqs: &[Req]) -> (Vec<Denial>, Vec<Knock>, Vec<(i64, u32)>) {
    let mut denials = Vec::new();
    let mut knocks = Vec::new();
    let mut truth = Vec::new();
    for (n, r) in reqs.iter().enumerate() {
        let retries = r.throttled.max(1);
        for k in 0..retries {
            // The webhook is called 20 ms after receipt, retries 0.5 s × 1.5 apart; the
            // authenticator writes whole seconds.
            let at = r.received_us
                + 20_000
                + [0, 500_000, 1_250_000, 2_375_000, 4_062_500][k as usize]
                + r.skew_us;
            let ms = at.div_euclid(1_000_000) * 1000;
            denials.push(Denial {
                time_ms: ms,
                class: if r.throttled > 0 {
                    Class::StsThrottled
                } else {
                    Class::TokenExpired
                },
                input: "gen".into(),
                line: (n * 8 + k as usize) as u64,
            });
            truth.push((ms, r.who));
        }
        if r.audited {
            knocks.push(Knock {
                received_us: r.received_us,
                caller: r.who,
                who: r.who,
            });
        }
    }
    (denials, knocks, truth)
}

fn req() -> impl Strategy<Value = Req> {
    (
        0i64..600_000_000,
        0u32..4,
        0u8..6,
        any::<bool>(),
        -400_000i64..400_000,
    )
        .prop_map(|(t, who, throttled, audited, skew_us)| Req {
            received_us: T0_US + t,
            who,
            throttled: if throttled > 3 { throttled - 1 } else { 0 },
            audited,
            skew_us,
        })
}

/// (denial, who, confidence) for every pairing, in the sorted denials' order.
fn outcome(
    denials: &mut [Denial],
    knocks: &mut [Knock],
) -> Vec<(Denial, Option<(u32, Confidence)>)> {
    let r = join::join(denials, knocks);
    denials
        .iter()
        .cloned()
        .zip(
            r.into_iter()
                .map(|p| p.map(|p| (knocks[p.knock].who, p.confidence))),
        )
        .collect()
}

#[test]
fn sparse_timelines_pair_exactly_and_leave_missing_events_unmatched() {
    // Requests 20 s apart: every window holds one request.
    let reqs: Vec<Req> = (0..40)
        .map(|i| Req {
            received_us: T0_US + i * 20_000_000 + (i * 7_919 % 1_000_000),
            who: (i % 3) as u32,
            throttled: if i % 5 == 0 { 3 } else { 0 },
            audited: i % 7 != 0,
            skew_us: (i % 4) * 150_000 - 200_000,
        })
        .collect();
    let (mut d, mut k, truth) = timeline(&reqs);
    let out = outcome(&mut d, &mut k);
    for (d, got) in &out {
        let who = truth
            .iter()
            .find(|(ms, _)| *ms == d.time_ms)
            .map(|(_, w)| *w)
            .unwrap();
        let audited = reqs
            .iter()
            .find(|r| r.who == who && (d.time_ms * 1000 - r.received_us).abs() < 6_000_000)
            .unwrap()
            .audited;
        match got {
            Some((w, c)) => {
                assert!(audited, "{d:?} paired though its 401 is missing");
                assert_eq!((*w, *c), (who, Confidence::Exact), "{d:?}");
            }
            None => assert!(!audited, "{d:?} unmatched though audited"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_audit_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut text = b"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",".to_vec();
        text.extend_from_slice(&bytes);
        let loc = Loc { input: "p", line: 1 };
        for t in [&text[..], &bytes[..]] {
            if let Some(Err(e)) = AuditEvent::parse(t, Envelope::default(), loc) {
                prop_assert!(e.offset <= t.len());
            }
            let mut a = Analyzer::new(Options::default());
            Feed(&mut a).line(t, &Envelope::default(), loc);
            let r = a.finish();
            prop_assert_eq!(r.events.total, 1);
        }
    }

    #[test]
    fn damaged_fixture_lines_never_panic(cut in 0usize..2000, flip in 0usize..2000, byte in any::<u8>()) {
        let text = fixture("mixed.log");
        let mut a = Analyzer::new(Options::default());
        for (i, l) in text.lines().enumerate() {
            let mut b = l.as_bytes().to_vec();
            if !b.is_empty() {
                let f = flip % b.len();
                b[f] = byte;
                b.truncate(cut.max(1).min(b.len()));
            }
            Feed(&mut a).line(&b, &Envelope::default(), Loc { input: "m", line: i as u64 + 1 });
        }
        let r = a.finish();
        prop_assert_eq!(r.events.total, 33);
        prop_assert_eq!(r.events.total, r.events.parsed + r.events.unparsed + r.events.not_authenticator);
    }

    #[test]
    fn the_join_is_order_independent(reqs in proptest::collection::vec(req(), 0..60), seed in any::<u64>()) {
        let (mut d, mut k, _) = timeline(&reqs);
        let want = outcome(&mut d.clone(), &mut k.clone());
        // Shuffle both sides with a simple LCG.
        let mut s = seed | 1;
        let mut next = |n: usize| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 33) as usize % n.max(1) };
        for i in (1..d.len()).rev() { let j = next(i + 1); d.swap(i, j); }
        for i in (1..k.len()).rev() { let j = next(i + 1); k.swap(i, j); }
        prop_assert_eq!(outcome(&mut d, &mut k), want);
    }

    #[test]
    fn complete_timelines_name_the_true_caller(reqs in proptest::collection::vec(req(), 1..40)) {
        // Every 401 delivered, skew within the tight window: an exact or likely pairing names
        // the caller that sent the request, and an ambiguous one lists it.
        let reqs: Vec<Req> = reqs.into_iter().map(|r| Req { audited: true, ..r }).collect();
        let (mut d, mut k, truth) = timeline(&reqs);
        let out = outcome(&mut d, &mut k);
        let r = join::join(&mut d.clone(), &mut k.clone());
        for ((den, got), p) in out.iter().zip(&r) {
            // The callers that had a denial at this second.
            let whos: Vec<u32> = truth.iter().filter(|(ms, _)| *ms == den.time_ms).map(|(_, w)| *w).collect();
            let Some((w, c)) = got else {
                // Only when throttled retries of several requests crowd one 401's capacity.
                prop_assert!(den.class == Class::StsThrottled || reqs.len() > 1);
                continue;
            };
            match c {
                Confidence::Exact => prop_assert!(whos.contains(w), "{den:?} → {w}, want {whos:?}"),
                Confidence::Likely => prop_assert!(whos.contains(w) || whos.is_empty(), "{den:?} → {w}, want {whos:?}"),
                Confidence::Ambiguous => {
                    let cands = &p.as_ref().unwrap().candidates;
                    prop_assert!(whos.iter().any(|x| cands.contains(x)), "{den:?} → {cands:?}, want {whos:?}");
                }
            }
        }
    }
}

#[test]
fn server_side_aggregates_group_and_fix_as_their_events_would() {
    use crate::evidence::Evidence;
    let mut a = Analyzer::new(Options::default());
    let t = 1_795_000_000_000;
    let forbidden = ForbiddenAggregate {
        username: Some("testuser"),
        canonical_arn: Some("arn:aws:iam::111122223333:user/testuser"),
        groups: vec!["system:authenticated", "dev-readers"],
        verb: Some("list"),
        api_group: Some(""),
        resource: Some("nodes"),
        example: Some("nodes is forbidden: User \"testuser\" cannot list resource \"nodes\""),
        count: 4,
        first_ms: Some(t),
        last_ms: Some(t + 60_000),
        ..ForbiddenAggregate::default()
    };
    a.add(Evidence::AuditForbidden(&forbidden));
    let alice = ForbiddenAggregate {
        username: Some("arn:aws:sts::111122223333:assumed-role/dev/alice"),
        canonical_arn: Some("arn:aws:iam::111122223333:role/dev"),
        verb: Some("get"),
        resource: Some("secrets"),
        namespace: Some("web"),
        count: 2,
        ..ForbiddenAggregate::default()
    };
    a.add(Evidence::AuditForbidden(&alice));
    let id = |username, principal_id, key_type, count| IdentityAggregate {
        canonical_arn: "arn:aws:iam::111122223333:role/deployer",
        username: Some(username),
        principal_id: Some(principal_id),
        key_type: Some(key_type),
        count,
        first_ms: Some(t),
        last_ms: Some(t + 1000),
    };
    a.add(Evidence::AuditIdentity(&id(
        "deployer", "AROAOLD", "ASIA", 5,
    )));
    a.add(Evidence::AuditIdentity(&id(
        "deployer", "AROANEW", "AKIA", 2,
    )));
    a.add(Evidence::AuditIdentity(&IdentityAggregate {
        canonical_arn: "arn:aws:iam::111122223333:role/PlatformAdmin",
        username: Some("kubernetes-admin"),
        count: 1,
        ..IdentityAggregate::default()
    }));
    let r = a.finish();
    assert_eq!(r.events.by_kind["audit"], 4 + 2 + 5 + 2 + 1);
    let s = audit(&r);
    assert_eq!(s.events.forbidden, 6);
    let test = s
        .forbidden
        .principals
        .iter()
        .find(|p| p.username == "testuser")
        .unwrap();
    assert_eq!(
        (test.count, test.groups.as_slice()),
        (4, &["dev-readers".to_owned()][..])
    );
    assert_eq!(test.fix.kind, "rbac");
    assert!(test.fix.yaml.as_deref().unwrap().contains("  - nodes\n"));
    assert_eq!(test.requests[0].message.as_deref(), forbidden.example);
    let alice = s
        .forbidden
        .principals
        .iter()
        .find(|p| p.username.starts_with("arn:"))
        .unwrap();
    assert_eq!(alice.fix.kind, "access_policy");
    assert!(
        !alice.fix.no_permissions,
        "aggregates carry no allow reasons: a policy may apply"
    );
    let deployer = s
        .identities
        .iter()
        .find(|i| i.canonical_arn.ends_with("role/deployer"))
        .unwrap();
    assert!(deployer.recreated);
    assert_eq!(deployer.requests, 7);
    assert_eq!(deployer.long_term_keys[0].id, "AKIA");
    assert_eq!(deployer.long_term_keys[0].count, 2);
    assert_eq!(r.creator.identities[0].evidence, ["audit_kubernetes_admin"]);
}
