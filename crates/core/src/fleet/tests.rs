//! Fleet findings from a real report: one per (class, principal) with that principal's own
//! count and times, one per class for failures that name nobody, stable ids.

use super::*;
use crate::analysis::{Analyzer, Options};
use crate::pipeline::feed;
use crate::source::{Envelope, Loc};

const DENY_A1: &str = r#"time="2026-01-15T09:00:00Z" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/ci" client="127.0.0.1:1" error="ARN is not mapped" method=POST path=/authenticate"#;
const DENY_B: &str = r#"time="2026-01-15T09:05:00Z" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/dev" client="127.0.0.1:2" error="ARN is not mapped" method=POST path=/authenticate"#;
const DENY_A2: &str = r#"time="2026-01-15T09:10:00Z" level=warning msg="access denied" arn="arn:aws:iam::111122223333:role/ci" client="127.0.0.1:3" error="ARN is not mapped" method=POST path=/authenticate"#;
const EXPIRED: &str = r#"time="2026-01-15T09:07:00Z" level=warning msg="access denied" client="127.0.0.1:4" error="input token was not properly formatted: X-Amz-Date parameter is expired (15 minute expiration) 2026-01-15 09:10:02 +0000 UTC" method=POST path=/authenticate"#;

fn report(lines: &[&str]) -> Report {
    let mut a = Analyzer::new(Options::default());
    for (i, l) in lines.iter().enumerate() {
        let loc = Loc {
            input: "t",
            line: i as u64 + 1,
        };
        feed(&mut a, l.as_bytes(), &Envelope::default(), loc);
    }
    a.finish()
}

const SCOPE: Scope<'static> = Scope {
    account: "111122223333",
    region: "eu-west-1",
    cluster: "prod",
};

const WINDOW: Window = Window {
    start_ms: 1_768_467_600_000,
    end_ms: 1_768_471_200_000,
};

#[test]
fn one_finding_per_class_and_principal_with_its_own_times() {
    let f = findings(&report(&[DENY_A1, DENY_B, EXPIRED, DENY_A2]), SCOPE, WINDOW);
    let ci = f
        .iter()
        .find(|f| f.principal.as_deref() == Some("arn:aws:iam::111122223333:role/ci"))
        .unwrap();
    assert_eq!(ci.kind, "identity_not_mapped");
    assert_eq!(ci.count, 2);
    assert_eq!(ci.first_seen.as_deref(), Some("2026-01-15T09:00:00Z"));
    assert_eq!(ci.last_seen.as_deref(), Some("2026-01-15T09:10:00Z"));
    assert_eq!(ci.severity, Severity::Medium);
    assert_eq!(ci.schema, FINDING_SCHEMA);
    assert_eq!(
        (
            ci.account.as_str(),
            ci.region.as_str(),
            ci.cluster.as_deref()
        ),
        ("111122223333", "eu-west-1", Some("prod"))
    );
    let remedy = ci.remedy.as_ref().unwrap();
    assert!(
        remedy
            .commands
            .iter()
            .any(|c| c.contains("--cluster-name prod")
                && c.contains("arn:aws:iam::111122223333:role/ci")),
        "{remedy:?}"
    );
    let dev = f
        .iter()
        .find(|f| f.principal.as_deref() == Some("arn:aws:iam::111122223333:role/dev"))
        .unwrap();
    assert_eq!(dev.count, 1);
    assert_eq!(dev.first_seen, dev.last_seen);
    // The expired token names nobody: one finding for the class, low severity.
    let expired = f.iter().find(|f| f.kind == "token_expired").unwrap();
    assert_eq!((expired.principal.as_deref(), expired.count), (None, 1));
    assert_eq!(expired.severity, Severity::Low);
    assert_eq!(f.len(), 3);
}

#[test]
fn ids_are_stable_across_windows_and_distinct_across_scopes() {
    let first = findings(&report(&[DENY_A1]), SCOPE, WINDOW);
    let later = findings(
        &report(&[DENY_A1, DENY_A2]),
        SCOPE,
        Window {
            start_ms: WINDOW.end_ms,
            end_ms: WINDOW.end_ms + 3_600_000,
        },
    );
    assert_eq!(first[0].id, later[0].id, "same finding, next run: same id");
    let other = Scope {
        region: "us-east-1",
        ..SCOPE
    };
    assert_ne!(
        first[0].id,
        findings(&report(&[DENY_A1]), other, WINDOW)[0].id
    );
    let s = skipped("111122223333", "eu-west-1", "AccessDenied");
    assert_eq!(s.id, skipped("111122223333", "eu-west-1", "other words").id);
    assert_eq!(
        (s.kind.as_str(), s.severity),
        (TARGET_SKIPPED, Severity::High)
    );
}

#[test]
fn fail_on_by_kind_family_and_severity() {
    let f = findings(&report(&[DENY_A1, EXPIRED]), SCOPE, WINDOW);
    let hits = |name: &str| f.iter().filter(|x| fails_on(name, x)).count();
    assert_eq!(hits("identity_not_mapped"), 1);
    assert_eq!(hits("token"), 1, "the family of token_expired");
    assert_eq!(hits("medium"), 1);
    assert_eq!(hits("low"), 2);
    assert_eq!(hits("high"), 0);
    assert_eq!(hits("any"), 2);
}

#[test]
fn severities_follow_who_fixes_it() {
    assert_eq!(class_severity(Class::NodeRoleNotMapped), Severity::High);
    assert_eq!(class_severity(Class::TokenForgedOrTampered), Severity::High);
    assert_eq!(class_severity(Class::IdentityNotMapped), Severity::Medium);
    assert_eq!(class_severity(Class::StsThrottled), Severity::Low);
    assert_eq!(class_severity(Class::TokenExpired), Severity::Low);
}

#[test]
fn windows_serialize_as_rfc3339() {
    let v = serde_json::to_value(WINDOW).unwrap();
    assert_eq!(v["start"], "2026-01-15T09:00:00Z");
    assert_eq!(v["end"], "2026-01-15T10:00:00Z");
}
