//! `--redact`: stable pseudonyms for account ids, access key ids, IAM unique ids, role
//! session names, instance ids and e-mail addresses, so output can be pasted into a ticket;
//! and, under every output, masks for the credentials that error texts can quote.
//!
//! Redaction works on values, never on rendered output: the report and every event are
//! redacted field by field before they are serialised or laid out in a table, so a wrapped
//! table cell cannot split an identifier away from the pattern that would have caught it, and
//! a number (`bytes_scanned`) is never mistaken for one. Keys whose values are identifiers
//! (`accountid`, `session`, `userid`, `accesskeyid`) are pseudonymised whole; every other
//! text value is scanned for the identifier patterns.
//!
//! A pseudonym is a tag of the value: the first 48 bits of HMAC-SHA256 under the key, as 12
//! hex digits, the same for the same value in every run, so reports can still be compared.
//! 48 bits keep collisions away for any realistic number of ids (a 24-bit tag collides at a
//! few thousand). Set `EKS_AUTHLOG_REDACT_KEY` to key the HMAC: without a key, a 12-digit
//! account id could be recovered by trying every number.

use std::borrow::Cow;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::analysis::Report;
use crate::report::source::Sources;

/// Replaces identifiers in values with stable pseudonyms.
#[derive(Clone)]
pub struct Redactor {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor { .. }")
    }
}

impl Default for Redactor {
    fn default() -> Redactor {
        Redactor::new(b"")
    }
}

const KEY_PREFIXES: [&str; 10] = [
    "AKIA", "ASIA", "AROA", "AIDA", "AGPA", "ANPA", "ANVA", "AIPA", "APKA", "ABIA",
];

pub use crate::secrets::MASK;

impl Redactor {
    /// A redactor keyed with `key` (may be empty).
    pub fn new(key: &[u8]) -> Redactor {
        Redactor {
            // HMAC takes a key of any length (longer ones are hashed first).
            mac: Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length"),
        }
    }

    /// The 48-bit tag of `value`, as 12 lower-case hex digits.
    fn tag(&self, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        let out = mac.finalize().into_bytes();
        out[..6].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Redacts one value of data field `key` (`accountid`, `session`, `error`, …).
    pub fn field<'a>(&self, key: &str, value: Cow<'a, str>) -> Cow<'a, str> {
        if value.is_empty() {
            return value;
        }
        let v = value.as_ref();
        let whole = match key {
            "accountid" | "account" if v.bytes().all(|c| c.is_ascii_digit()) => {
                format!("acct-{}", self.tag(v))
            }
            "session" => format!("session-{}", self.tag(v)),
            "userid" | "accesskeyid" | "principal_id" if v.len() > 4 && v.is_ascii() => {
                format!("{}-{}", &v[..4], self.tag(v))
            }
            _ if is_secret_key(key) => MASK.to_owned(),
            _ => return self.value(value),
        };
        Cow::Owned(whole)
    }

    /// Redacts one free-text value (an ARN, an error text, a remedy), borrowing it when
    /// there is nothing to change.
    pub fn value<'a>(&self, value: Cow<'a, str>) -> Cow<'a, str> {
        let out = self.redact(&value);
        if out == *value {
            value
        } else {
            Cow::Owned(out)
        }
    }

    /// Redacts a string in place.
    fn string(&self, s: &mut String) {
        let out = self.redact(s);
        if out != *s {
            *s = out;
        }
    }

    /// Redacts every text of a report in place: ARNs, accounts, unique ids, usernames,
    /// groups, error examples, input names, remedies and next steps.
    pub fn report(&self, report: &mut Report) {
        // Session names (the person behind a role) are identifiers whole, like `session=`.
        for id in &mut report.creator.identities {
            let calls = id.create_cluster.iter_mut().map(|c| &mut c.session);
            for s in std::iter::once(&mut id.person).chain(calls).flatten() {
                *s = self
                    .field("session", Cow::Borrowed(s.as_str()))
                    .into_owned();
            }
        }
        each_string(report, &mut |s| self.string(s));
    }

    /// Redacts what a report was read from: input names, log groups, reasons.
    pub fn sources(&self, sources: &mut Sources) {
        each_source_string(sources, &mut |s| self.string(s));
    }

    /// Redacts one piece of text.
    pub fn redact(&self, text: &str) -> String {
        let b = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        let word = |c: u8| c.is_ascii_alphanumeric();
        while i < b.len() {
            let boundary = i == 0 || !word(b[i - 1]);
            // `aws_secret_access_key=…`, `password: …`: the key stays, the value goes.
            if boundary && (b[i].is_ascii_alphabetic() || b[i] == b'_') {
                let n = b[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'-')
                    .count();
                let key = &text[i..i + n];
                let sep = [&b"="[..], b": ", b":"]
                    .into_iter()
                    .find(|s| b[i + n..].starts_with(s))
                    .map_or(0, <[u8]>::len);
                if sep > 0 && is_secret_key(key) {
                    let v = i + n + sep;
                    let quoted = b.get(v).is_some_and(|c| *c == b'"' || *c == b'\'');
                    let from = v + usize::from(quoted);
                    let len = text[from..]
                        .find(|c: char| c.is_whitespace() || "\"',&;".contains(c))
                        .unwrap_or(text.len() - from);
                    out.push_str(&text[i..from]);
                    if len > 0 {
                        out.push_str(MASK);
                    }
                    i = from + len;
                    continue;
                }
            }
            // 12-digit account ids, also glued to letters (`account111122223333`), but not
            // part of a longer number.
            let after_digit = i > 0 && b[i - 1].is_ascii_digit();
            if !after_digit && b[i].is_ascii_digit() {
                let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                if n == 12 {
                    out.push_str(&format!("acct-{}", self.tag(&text[i..i + n])));
                    i += n;
                    continue;
                }
                out.push_str(&text[i..i + n]);
                i += n;
                continue;
            }
            // Access key ids and IAM unique ids: a known prefix and 12+ upper-case letters or digits.
            if boundary
                && b.len() - i >= 16
                && KEY_PREFIXES
                    .iter()
                    .any(|p| b[i..].starts_with(p.as_bytes()))
            {
                let n = b[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                    .count();
                if n >= 16
                    && !b
                        .get(i + n)
                        .copied()
                        .is_some_and(|c| c.is_ascii_lowercase())
                {
                    out.push_str(&format!(
                        "{}-{}",
                        &text[i..i + 4],
                        self.tag(&text[i..i + n])
                    ));
                    i += n;
                    continue;
                }
            }
            // EC2 instance ids: the session names of node roles, also quoted in EC2 errors.
            if boundary && b[i..].starts_with(b"i-") {
                let n = b[i + 2..]
                    .iter()
                    .take_while(|c| c.is_ascii_hexdigit())
                    .count();
                if (n == 8 || n == 17) && !b.get(i + 2 + n).copied().is_some_and(word) {
                    out.push_str(&format!("i-{}", self.tag(&text[i..i + 2 + n])));
                    i += 2 + n;
                    continue;
                }
            }
            // Role session names: `assumed-role/<role>/<session>` and `session=<session>`.
            for marker in ["assumed-role/", "session=", "\"session\":\""] {
                if b[i..].starts_with(marker.as_bytes()) {
                    let start = i + marker.len();
                    let session_from = if marker == "assumed-role/" {
                        match text[start..].find(['/', '"', ' ']) {
                            Some(p) if b[start + p] == b'/' => start + p + 1,
                            _ => break,
                        }
                    } else {
                        start
                    };
                    let n = text[session_from..]
                        .find(['"', ' ', ',', '\n', '\\'])
                        .unwrap_or(text.len() - session_from);
                    out.push_str(&text[i..session_from]);
                    if n > 0 {
                        out.push_str(&format!(
                            "session-{}",
                            self.tag(&text[session_from..session_from + n])
                        ));
                    }
                    i = session_from + n;
                    break;
                }
            }
            if i >= b.len() {
                break;
            }
            // E-mail addresses (SSO session names): redact the local part and domain.
            if b[i] == b'@' && i > 0 && word(b[i - 1]) {
                let start = out
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || "._+-".contains(c)))
                    .map_or(0, |p| p + 1);
                let domain = text[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || ".-".contains(c)))
                    .unwrap_or(text.len() - i - 1);
                if domain > 0 && text[i + 1..i + 1 + domain].contains('.') {
                    let local = out[start..].to_owned();
                    out.truncate(start);
                    out.push_str(&format!(
                        "user-{}@example.invalid",
                        self.tag(&format!("{local}@{}", &text[i + 1..i + 1 + domain]))
                    ));
                    i += 1 + domain;
                    continue;
                }
            }
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
        out
    }
}

/// Every string of a report that came from a log or names an identity, for redaction and
/// for escaping before a table. Times, class names and counts are left out: they are ours.
pub fn each_string(report: &mut Report, f: &mut impl FnMut(&mut String)) {
    for id in &mut report.creator.identities {
        f(&mut id.arn);
        f(&mut id.canonical_arn);
        id.account.iter_mut().for_each(&mut *f);
        id.principal_ids.iter_mut().for_each(&mut *f);
        id.groups.iter_mut().for_each(&mut *f);
    }
    for id in &mut report.creator.identities {
        for call in &mut id.create_cluster {
            for s in [
                &mut call.caller_arn,
                &mut call.principal_id,
                &mut call.source_identity,
                &mut call.access_key_id,
                &mut call.source_ip,
                &mut call.user_agent,
                &mut call.account,
                &mut call.cluster_arn,
                &mut call.service_role,
            ] {
                s.iter_mut().for_each(&mut *f);
            }
            f(&mut call.creator_arn);
            f(&mut call.source);
        }
        if let Some(e) = &mut id.access_entry {
            f(&mut e.principal_arn);
            e.username.iter_mut().for_each(&mut *f);
        }
        if let Some(i) = &mut id.iam {
            i.arn.iter_mut().for_each(&mut *f);
            i.unique_id.iter_mut().for_each(&mut *f);
            f(&mut i.reason);
        }
        if let Some(r) = &mut id.recovery {
            f(&mut r.summary);
            r.commands.iter_mut().for_each(&mut *f);
        }
    }
    report.creator.service_role.iter_mut().for_each(&mut *f);
    for s in &mut report.creator.sources {
        s.via.iter_mut().for_each(&mut *f);
        f(&mut s.detail);
    }
    report.creator.reasons.iter_mut().for_each(&mut *f);
    report.creator.next_steps.iter_mut().for_each(&mut *f);
    for c in &mut report.failures.by_class {
        c.principals.iter_mut().for_each(|p| f(&mut p.name));
        if let Some(ex) = &mut c.example {
            f(&mut ex.error);
            f(&mut ex.input);
        }
        f(&mut c.remedy.summary);
        c.remedy.commands.iter_mut().for_each(&mut *f);
    }
    for p in &mut report.principals.list {
        f(&mut p.arn);
        p.account.iter_mut().for_each(&mut *f);
        p.usernames.iter_mut().for_each(|u| f(&mut u.name));
        if let Some(a) = &mut p.audit {
            crate::audit::each_principal_string(a, &mut *f);
        }
    }
    for c in &mut report.failures.by_class {
        crate::audit::each_caller_string(&mut c.callers, &mut *f);
    }
    if let Some(a) = &mut report.audit {
        crate::audit::each_string(a, f);
    }
}

/// Every string of [`Sources`] that names something of the user's.
pub fn each_source_string(sources: &mut Sources, f: &mut impl FnMut(&mut String)) {
    sources.inputs.iter_mut().for_each(|i| f(&mut i.name));
    for m in sources.cloudwatch.iter_mut().flatten() {
        m.log_groups.iter_mut().for_each(&mut *f);
        m.incomplete_reason.iter_mut().for_each(&mut *f);
        for c in &mut m.query_costs {
            f(&mut c.log_group);
            c.estimate_note.iter_mut().for_each(&mut *f);
        }
    }
}

/// Whether a key names a secret (`aws_secret_access_key`, `password`, `client_secret`).
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "password", "passwd"]
        .iter()
        .any(|w| k.contains(w))
}

/// Escapes control characters (C0, DEL, C1) in text for a terminal: an error text from the
/// client (`\x1b]0;…` sets the window title, `\x1b[2J` clears the screen) must reach the
/// screen as text. Newlines and tabs are kept: the AWS SDK for Go writes its errors on
/// several lines (`…operation.\n\tstatus code: 403, request id: …`), and they move nothing
/// but the cursor to the next line or column. A carriage return, which could overwrite what
/// a line already shows, is escaped.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    let escaped = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !escaped(c) => out.push(c),
            '\r' => out.push_str("\\r"),
            // `char::is_control` is C0, DEL and C1: all below U+0100.
            c => out.push_str(&format!("\\x{:02x}", c as u32)),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::mask_credentials;

    #[test]
    fn redacts_accounts_keys_sessions_and_emails() {
        let r = Redactor::new(b"");
        let line = r#"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com accesskeyid=ASIAEXAMPLEEXAMPLE12 userid=AROAEXAMPLEEXAMPLE123 session=i-0123456789abcdef0 node i-0fedcba9876543210: denied"#;
        let out = r.redact(line);
        for secret in [
            "111122223333",
            "alice",
            "example.com",
            "ASIAEXAMPLEEXAMPLE12",
            "AROAEXAMPLEEXAMPLE123",
            "i-0123456789abcdef0",
            "i-0fedcba9876543210",
        ] {
            assert!(!out.contains(secret), "{secret} leaked in {out}");
        }
        assert!(out.contains("arn:aws:sts::acct-"));
        assert!(
            out.contains("accesskeyid=ASIA-"),
            "the key type stays visible: {out}"
        );
        assert!(
            out.contains("AWSReservedSSO_Admin_0123456789abcdef/session-"),
            "role names stay: {out}"
        );
    }

    #[test]
    fn pseudonyms_are_stable_and_keyed() {
        let a = Redactor::new(b"");
        assert_eq!(a.redact("111122223333"), a.redact("111122223333"));
        assert_ne!(a.redact("111122223333"), a.redact("444455556666"));
        assert_ne!(
            a.redact("111122223333"),
            Redactor::new(b"k").redact("111122223333")
        );
    }

    #[test]
    fn leaves_other_numbers_and_text_alone() {
        let r = Redactor::new(b"");
        let text = "port 127.0.0.1:51326 count 1234567890123 time 2026-01-15T09:30:00Z café";
        assert_eq!(r.redact(text), text);
    }

    #[test]
    fn json_session_fields_are_redacted() {
        let r = Redactor::new(b"");
        let out = r.redact(r#"{"session":"EKSGetTokenAuth","userid":"AIDAEXAMPLEEXAMPLE789"}"#);
        assert!(
            !out.contains("EKSGetTokenAuth") && !out.contains("EXAMPLE789"),
            "{out}"
        );
    }

    /// The sample log analysed, as the CLI would.
    fn sample_report() -> Report {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sample.log");
        let text = std::fs::read_to_string(path).unwrap();
        let mut a = crate::analysis::Analyzer::new(crate::analysis::Options::default());
        for (i, line) in text.lines().enumerate() {
            crate::pipeline::feed(
                &mut a,
                line.as_bytes(),
                &crate::source::Envelope::default(),
                crate::source::Loc {
                    input: "sample.log",
                    line: i as u64 + 1,
                },
            );
        }
        a.finish()
    }

    /// Identifiers of testdata/sample.log that must not survive redaction, even in part.
    const SAMPLE_SECRETS: [&str; 6] = [
        "111122223333",
        "alice@example.com",
        "bob@example.com",
        "gkan@example.com",
        "i-0123456789abcdef0",
        "i-0fedcba9876543210",
    ];

    fn assert_no_fragment(out: &str, what: &str) {
        for secret in SAMPLE_SECRETS {
            for w in secret.as_bytes().windows(8) {
                let w = std::str::from_utf8(w).unwrap();
                if "user-@example.invalid".contains(w) {
                    continue; // part of the pseudonym
                }
                assert!(!out.contains(w), "{what}: {w:?} of {secret} leaked");
            }
        }
        assert!(!out.contains("AROAEXAMPLE"), "{what}: a unique id leaked");
    }

    #[test]
    fn tables_are_redacted_before_layout_at_every_width() {
        // Before, redaction ran over the drawn table, so an identifier wrapped across two
        // lines of a cell (`arn:aws:iam::1111` / `22223333:role/…`) was printed in clear.
        let mut report = sample_report();
        Redactor::new(b"").report(&mut report);
        let inputs = [crate::report::source::InputSummary {
            name: "alice@example.com.log".to_owned(),
            format: "raw",
            records: 1,
            bytes: 1,
            query_status: None,
        }];
        let mut sources = Sources {
            inputs: inputs.to_vec(),
            cloudwatch: None,
        };
        Redactor::new(b"").sources(&mut sources);
        for width in [40, 60, 80, 100, 120, 200, 1000] {
            let mut out = Vec::new();
            crate::report::table::write(
                &mut out,
                &report,
                &sources.inputs,
                None,
                crate::report::table::View::Report,
                crate::report::TableStyle {
                    width,
                    color: false,
                },
            )
            .unwrap();
            assert_no_fragment(&String::from_utf8(out).unwrap(), &format!("width {width}"));
        }
        let mut json = Vec::new();
        crate::report::document::write(&mut json, &report, &sources.inputs, None).unwrap();
        let json = String::from_utf8(json).unwrap();
        assert_no_fragment(&json, "json");
        assert!(json.contains("acct-"), "{json}");
    }

    #[test]
    fn numbers_are_never_redacted() {
        // Before, `--redact` rewrote every 12-digit run of the rendered JSON, so a query
        // that scanned 100 GB to 1 TB printed `"bytes_scanned": acct-xxxxxx.0` (not JSON).
        use crate::report::source::{ApiCalls, FetchMeta, QueryWindow, Strategy};
        let meta = FetchMeta {
            strategy: Strategy::Events,
            queries: vec!["failures"],
            log_groups: vec!["/aws/eks/111122223333/cluster".to_owned()],
            regions: vec!["us-east-1".to_owned()],
            window: QueryWindow {
                start: 1_768_000_000,
                end: 1_768_469_400,
            },
            queries_run: 1,
            api_calls: ApiCalls::default(),
            records_matched: 111_122_223_333.0,
            records_scanned: 111_122_223_333.0,
            bytes_scanned: 123_456_789_012.0,
            cost_usd: 0.617,
            queries_without_statistics: 0,
            windows_split: 0,
            rows: 123_456_789_012,
            rows_filtered: 0,
            rows_malformed: 0,
            duplicates_dropped: 0,
            complete: true,
            incomplete_reason: None,
            elapsed_ms: 100_000_000_000,
            estimate_queries: 1,
            estimated_bytes: Some(111_122_223_333.0),
            estimated_cost_usd: Some(0.555),
            max_scan_bytes: Some(222_233_334_444.0),
            query_costs: vec![crate::report::source::QueryCost {
                query: "failures",
                log_group: "/aws/eks/111122223333/cluster".to_owned(),
                windows: 1,
                estimated_bytes: Some(111_122_223_333.0),
                estimate_source: crate::report::source::EstimateSource::Insights,
                estimate_note: None,
                bytes_scanned: Some(123_456_789_012.0),
                estimated_cost_usd: Some(0.555),
                cost_usd: Some(0.617),
            }],
            audit_windows: None,
        };
        let mut sources = Sources {
            inputs: Vec::new(),
            cloudwatch: Some(vec![meta]),
        };
        let mut report = sample_report();
        let r = Redactor::new(b"");
        r.report(&mut report);
        r.sources(&mut sources);
        let mut out = Vec::new();
        crate::report::document::write(&mut out, &report, &[], sources.cloudwatch.as_deref())
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).expect("still JSON");
        let src = &doc["source"][0];
        assert_eq!(src["bytes_scanned"], 123_456_789_012.0);
        assert_eq!(src["rows"], 123_456_789_012u64);
        assert!(
            !src["log_groups"][0]
                .as_str()
                .unwrap()
                .contains("111122223333")
        );
        let cost = &src["query_costs"][0];
        assert_eq!(cost["estimated_bytes"], 111_122_223_333.0);
        assert_eq!(src["max_scan_bytes"], 222_233_334_444.0);
        assert!(!cost["log_group"].as_str().unwrap().contains("111122223333"));
    }

    #[test]
    fn tags_have_48_bits() {
        // 24-bit tags collided at a few thousand ids (20,000 accounts gave 19,994 pseudonyms).
        let r = Redactor::new(b"k");
        let tags: std::collections::HashSet<String> = (0..20_000u64)
            .map(|n| r.redact(&format!("{:012}", 210_000_000_000 + n)))
            .collect();
        assert_eq!(tags.len(), 20_000);
        let t = r.redact("111122223333");
        assert_eq!(t.len(), "acct-".len() + 12, "{t}");
    }

    #[test]
    fn fields_are_redacted_by_key() {
        let r = Redactor::new(b"");
        for (k, v) in [
            ("accountid", "111122223333"),
            ("session", "EKSGetTokenAuth"),
            ("userid", "AROAEXAMPLEEXAMPLE123"),
            ("accesskeyid", "ASIAEXAMPLEEXAMPLE12"),
            (
                "aws_secret_access_key",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
        ] {
            let out = r.field(k, Cow::Borrowed(v));
            assert!(!out.contains(&v[4..]), "{k}: {out}");
        }
        assert_eq!(
            r.field("client", Cow::Borrowed("127.0.0.1:1")),
            "127.0.0.1:1"
        );
    }

    #[test]
    fn secrets_and_glued_account_ids_are_redacted_in_text() {
        // Before, both went through `--redact` verbatim.
        let r = Redactor::new(b"");
        let out = r.redact(
            "bad config account678901234567 aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, password: \"hunter2\" done",
        );
        for leak in ["678901234567", "wJalr", "EXAMPLEKEY", "hunter2"] {
            assert!(!out.contains(leak), "{leak} in {out}");
        }
        assert!(
            out.contains("aws_secret_access_key=<masked>,") && out.ends_with(" done"),
            "{out}"
        );
        assert!(out.contains("accountacct-"), "{out}");
    }

    #[test]
    fn credentials_in_error_texts_are_masked() {
        // Go's HTTP client quotes the pre-signed STS URL when the call fails; before, the
        // session token and signature were printed whole, even under --redact.
        let err = r#"Get "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&X-Amz-Credential=ASIAEXAMPLEEXAMPLE12%2F20260115%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2Fabc%3D&X-Amz-Signature=0123456789abcdef0123": dial tcp 1.2.3.4:443: i/o timeout; token k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9u-xyz_ then"#;
        let out = mask_credentials(err);
        for leak in ["IQoJ", "0123456789abcdef0123", "aHR0cHM6"] {
            assert!(!out.contains(leak), "{leak} in {out}");
        }
        assert!(out.contains("X-Amz-Security-Token=<masked>&X-Amz-Signature=<masked>\""));
        assert!(out.contains("k8s-aws-v1.<masked> then"), "{out}");
        assert!(matches!(
            mask_credentials("ARN is not mapped"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn control_characters_are_escaped() {
        let t =
            "unexpected hostname \"\x1b]0;PWNED\x07\x1b[2J\x1b[31mevil.example\" role/x\0y\u{9b}";
        let out = escape_controls(t);
        assert!(!out.chars().any(char::is_control), "{out}");
        assert_eq!(escape_controls("a\n\tb\rc"), "a\n\tb\\rc");
        assert_eq!(
            out,
            "unexpected hostname \"\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mevil.example\" role/x\\x00y\\x9b"
        );
        assert!(matches!(escape_controls("plain"), Cow::Borrowed(_)));
    }
}
