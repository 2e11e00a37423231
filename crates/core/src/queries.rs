//! Logs Insights queries shipped in the binary. Source of truth: `queries/*.insights`.
//!
//! Each file is plain Insights syntax (it pastes into the console as is) and ends with an
//! explicit `| limit N` command: without it Insights returns 1,000 rows, and emulators return
//! everything. The engine replaces that one number with the row cap it asks for
//! ([`Query::with_limit`]); nothing else in a query is ever rewritten, and no user input is
//! spliced into query text. This module owns the texts; it does not run them.

/// What the rows of a query look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One row per log event: `@timestamp`, `@message`, `@logStream`, `@log` (and `@ptr`).
    Events,
    /// `stats` rows over "access granted" lines: `arn`, `username`, `hits`, `first_ms`, `last_ms`.
    GrantedStats,
    /// `stats` rows over "access denied" lines: `error`, `sts_code`, `arn`, `hits`, `first_ms`,
    /// `last_ms`.
    DeniedStats,
    /// `stats` rows over audit authorization denials: `user.username`,
    /// `user.extra.canonicalArn.0`, `verb`, `objectRef.*`, `hits`, `first_ms`, `last_ms`,
    /// `example`.
    AuditForbiddenStats,
    /// `stats` rows over successful audit events: `user.username`,
    /// `user.extra.canonicalArn.0`, `user.extra.principalId.0`, `key_type`, `hits`,
    /// `first_ms`, `last_ms`.
    AuditIdentityStats,
}

/// One embedded Logs Insights query.
#[derive(Debug, PartialEq, Eq)]
pub struct Query {
    /// Name, also the file stem under `queries/`.
    pub name: &'static str,
    /// Query text, exactly as in the file.
    pub text: &'static str,
    /// One line for `--help` and reports.
    pub description: &'static str,
    /// Row shape, which tells the engine how to decode results.
    pub shape: Shape,
}

macro_rules! query {
    ($name:literal, $shape:expr, $description:literal) => {
        Query {
            name: $name,
            text: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../queries/",
                $name,
                ".insights"
            )),
            description: $description,
            shape: $shape,
        }
    };
}

/// Lines naming `kubernetes-admin` (the creator of a CONFIG_MAP cluster), per line.
pub const CREATOR: Query = query!(
    "creator",
    Shape::Events,
    "authenticator lines that map an identity to kubernetes-admin (cluster creator evidence)"
);
/// Every authenticator line in the window.
pub const RECENT: Query = query!(
    "recent",
    Shape::Events,
    "every authenticator line in the window, oldest first"
);
/// Every "access denied" line.
pub const FAILURES: Query = query!(
    "failures",
    Shape::Events,
    "every access-denied authenticator line, oldest first"
);
/// Server-side identity map: count, first and last seen per (arn, username).
pub const AGG_IDENTITIES: Query = query!(
    "agg-identities",
    Shape::GrantedStats,
    "granted authentications aggregated server-side by (arn, username)"
);
/// Server-side failure summary: count, first and last seen per (error, sts_code, arn).
pub const AGG_FAILURES: Query = query!(
    "agg-failures",
    Shape::DeniedStats,
    "denied authentications aggregated server-side by (error, sts_code, arn)"
);

/// Every 401 in the audit streams, per event.
pub const AUDIT_UNAUTHORIZED: Query = query!(
    "audit-unauthorized",
    Shape::Events,
    "kube-apiserver audit 401s (failed authentication), per event, to name who sent rejected tokens"
);
/// Server-side summary of authorization denials.
pub const AUDIT_FORBIDDEN: Query = query!(
    "audit-forbidden",
    Shape::AuditForbiddenStats,
    "kube-apiserver audit authorization denials (403 forbid) aggregated by user, principal, verb, resource, namespace"
);
/// Server-side identity map from successful audit events.
pub const AUDIT_IDENTITIES: Query = query!(
    "audit-identities",
    Shape::AuditIdentityStats,
    "kube-apiserver audit identity map: IAM principal, username, unique id and key type of successful requests"
);

/// The EKS CreateCluster events of a CloudTrail trail's log group, per event.
pub const TRAIL_CREATE_CLUSTER: Query = query!(
    "cloudtrail-create-cluster",
    Shape::Events,
    "EKS CreateCluster events in a CloudTrail trail's log group (creator --trail-log-group), per event"
);

/// Every shipped query. A test checks that this list and `queries/*.insights` agree.
pub const ALL: &[Query] = &[
    CREATOR,
    RECENT,
    FAILURES,
    AGG_IDENTITIES,
    AGG_FAILURES,
    AUDIT_UNAUTHORIZED,
    AUDIT_FORBIDDEN,
    AUDIT_IDENTITIES,
    TRAIL_CREATE_CLUSTER,
];

/// Looks a query up by name.
pub fn get(name: &str) -> Option<&'static Query> {
    ALL.iter().find(|q| q.name == name)
}

impl Query {
    /// The row cap written in the query's final `| limit N` command.
    pub fn limit(&self) -> Option<u32> {
        let (_, digits) = split_limit(self.text)?;
        digits.parse().ok()
    }

    /// The query text with its final `limit` set to `limit`. `None` if the query has no final
    /// `| limit N` command (a test makes sure every shipped query has one).
    ///
    /// The engine sends the same number as the StartQuery `limit` parameter, but AWS lets the
    /// query's own `limit` command win, and moto ignores the parameter, so the text is what
    /// counts.
    pub fn with_limit(&self, limit: u32) -> Option<String> {
        let (head, digits) = split_limit(self.text)?;
        let tail = &self.text[head.len() + digits.len()..];
        Some(format!("{head}{limit}{tail}"))
    }

    /// The query text with its final `| limit N` command replaced by `| estimate`: Logs
    /// Insights then answers, without running the query and at no charge, the bytes it would
    /// scan over the same log groups and time range ("estimate", CloudWatch Logs user guide,
    /// `CWL_QuerySyntax-Estimate`). `estimate` must be the last command; a `limit` before it
    /// would say nothing about the scan, so it is dropped rather than kept. `None` if the
    /// query has no final `| limit N` command.
    pub fn estimate_text(&self) -> Option<String> {
        let (head, _) = split_limit(self.text)?;
        let line_start = head.rfind('\n').map_or(0, |i| i + 1);
        Some(format!("{}| estimate\n", &head[..line_start]))
    }

    /// The stream-name prefix whose rows this query is about: `kube-apiserver-audit-` for
    /// the `audit-*` queries, none (every stream) for the `cloudtrail-*` queries over a
    /// trail's log group, `authenticator-` for the others. Rows from other streams are
    /// dropped and counted by the engine (servers may ignore `filter`; moto does).
    pub fn stream_prefix(&self) -> &'static str {
        if self.name.starts_with("audit-") {
            AUDIT_STREAM_PREFIX
        } else if self.name.starts_with("cloudtrail-") {
            ""
        } else {
            AUTHENTICATOR_STREAM_PREFIX
        }
    }
}

/// Stream-name prefix of aws-iam-authenticator streams in `/aws/eks/<cluster>/cluster`.
pub const AUTHENTICATOR_STREAM_PREFIX: &str = "authenticator-";
/// Stream-name prefix of kube-apiserver audit streams in `/aws/eks/<cluster>/cluster`
/// (EKS user guide, "Send control plane logs to CloudWatch Logs").
pub const AUDIT_STREAM_PREFIX: &str = "kube-apiserver-audit-";

/// Splits `text` at the number of its last non-comment line, which must be `| limit <digits>`.
/// Returns (everything before the digits, the digits).
fn split_limit(text: &str) -> Option<(&str, &str)> {
    let mut line_start = 0;
    let mut last = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            last = Some((line_start, line));
        }
        line_start += line.len();
    }
    let (start, line) = last?;
    let rest = line.trim_start().strip_prefix('|')?.trim_start();
    let rest = rest.strip_prefix("limit")?;
    let digits = rest.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let offset = start + line.find(digits)?;
    Some((&text[..offset], digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_on_disk_is_registered_and_back() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../queries");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "insights"))
            .map(|p| p.file_stem().unwrap().to_str().unwrap().to_owned())
            .collect();
        on_disk.sort();
        let mut registered: Vec<String> = ALL.iter().map(|q| q.name.to_owned()).collect();
        registered.sort();
        assert_eq!(on_disk, registered);
        for q in ALL {
            let path = format!("{dir}/{}.insights", q.name);
            assert_eq!(std::fs::read_to_string(path).unwrap(), q.text, "{}", q.name);
        }
    }

    #[test]
    fn names_are_unique_and_get_finds_them() {
        for q in ALL {
            assert_eq!(get(q.name).map(|g| g.name), Some(q.name));
            assert_eq!(ALL.iter().filter(|o| o.name == q.name).count(), 1);
        }
        assert!(get("nope").is_none());
    }

    #[test]
    fn texts_are_clean() {
        for q in ALL {
            assert!(!q.text.trim().is_empty(), "{} is empty", q.name);
            assert!(!q.description.is_empty(), "{} has no description", q.name);
            assert!(q.text.ends_with('\n'), "{} lacks a final newline", q.name);
            for (i, line) in q.text.lines().enumerate() {
                assert!(!line.contains('\t'), "{}:{} has a tab", q.name, i + 1);
                assert_eq!(line.trim_end(), line, "{}:{} trailing space", q.name, i + 1);
                assert!(
                    !line.contains("{{"),
                    "{}:{} has a placeholder",
                    q.name,
                    i + 1
                );
            }
        }
    }

    #[test]
    fn estimate_text_replaces_the_final_limit_and_keeps_everything_else() {
        for q in ALL {
            let e = q
                .estimate_text()
                .unwrap_or_else(|| panic!("{} has no estimate text", q.name));
            assert!(e.ends_with("| estimate\n"), "{}: {e}", q.name);
            assert!(!e.contains("| limit"), "{}: {e}", q.name);
            let kept = q.text.lines().count() - 1;
            assert_eq!(
                e.lines().take(kept).collect::<Vec<_>>(),
                q.text.lines().take(kept).collect::<Vec<_>>(),
                "{}",
                q.name
            );
        }
        assert!(
            RECENT
                .estimate_text()
                .unwrap()
                .ends_with("| sort @timestamp asc\n| estimate\n")
        );
    }

    #[test]
    fn audit_queries_keep_audit_rows_and_the_others_authenticator_rows() {
        for q in ALL {
            if q.name.starts_with("cloudtrail-") {
                // A trail's log group: CloudTrail's own streams, whatever their names.
                assert_eq!(q.stream_prefix(), "", "{}", q.name);
                assert!(!q.text.contains("@logStream like"), "{}", q.name);
                continue;
            }
            let want = if q.text.contains("/^kube-apiserver-audit-/") {
                AUDIT_STREAM_PREFIX
            } else {
                AUTHENTICATOR_STREAM_PREFIX
            };
            assert_eq!(q.stream_prefix(), want, "{}", q.name);
            assert!(q.text.contains(&format!("/^{want}/")), "{}", q.name);
        }
    }

    #[test]
    fn the_trail_query_keeps_only_eks_create_cluster_as_the_reader_does() {
        // The same test as `cloudtrail::classify`: ECS has a CreateCluster too.
        assert!(TRAIL_CREATE_CLUSTER.text.contains(
            "filter eventSource = \"eks.amazonaws.com\" and eventName = \"CreateCluster\""
        ));
        assert_eq!(crate::cloudtrail::EKS_SOURCE, "eks.amazonaws.com");
        assert_eq!(crate::cloudtrail::CREATE_CLUSTER, "CreateCluster");
    }

    #[test]
    fn every_query_has_an_explicit_limit_within_a_page() {
        for q in ALL {
            let limit = q
                .limit()
                .unwrap_or_else(|| panic!("{} has no final limit", q.name));
            assert!((1..=10_000).contains(&limit), "{}: limit {limit}", q.name);
        }
    }

    #[test]
    fn event_queries_select_the_fields_the_engine_reads() {
        for q in ALL.iter().filter(|q| q.shape == Shape::Events) {
            let first = q.text.lines().find(|l| !l.starts_with('#')).unwrap();
            for f in ["@timestamp", "@message", "@logStream", "@log"] {
                assert!(first.contains(f), "{} does not select {f}", q.name);
            }
        }
    }

    #[test]
    fn audit_queries_read_only_the_audit_streams_and_filter_as_the_reader_does() {
        for q in [AUDIT_UNAUTHORIZED, AUDIT_FORBIDDEN, AUDIT_IDENTITIES] {
            assert!(
                q.text
                    .contains("filter @logStream like /^kube-apiserver-audit-/"),
                "{}",
                q.name
            );
        }
        // The same tests as `audit::AuditEvent::is_unauthorized` and `is_forbidden`.
        assert!(
            AUDIT_UNAUTHORIZED
                .text
                .contains("responseStatus.code = 401")
        );
        assert!(
            AUDIT_FORBIDDEN
                .text
                .contains("`annotations.authorization.k8s.io/decision` = \"forbid\"")
        );
        assert!(
            AUDIT_IDENTITIES
                .text
                .contains("ispresent(user.extra.canonicalArn.0)")
        );
    }

    #[test]
    fn stats_queries_name_the_columns_the_decoder_reads() {
        for q in ALL.iter().filter(|q| q.shape != Shape::Events) {
            for col in [
                "as hits",
                "as first_ms",
                "as last_ms",
                "user.extra.canonicalArn.0",
            ] {
                if matches!(q.shape, Shape::GrantedStats | Shape::DeniedStats) && col.contains('.')
                {
                    continue;
                }
                assert!(q.text.contains(col), "{} lacks {col}", q.name);
            }
            if matches!(q.shape, Shape::GrantedStats | Shape::DeniedStats) {
                assert!(q.text.contains("arn"), "{} lacks arn", q.name);
            }
        }
        assert!(AGG_IDENTITIES.text.contains("by @log, arn, username"));
        assert!(AGG_FAILURES.text.contains("by @log, error, sts_code, arn"));
    }

    #[test]
    fn with_limit_replaces_only_the_final_number() {
        let text = RECENT.with_limit(7).unwrap();
        assert!(text.ends_with("| limit 7\n"), "{text}");
        assert_eq!(text.replace("limit 7", "limit 10000"), RECENT.text);
        let q = Query {
            name: "t",
            text: "fields @message # limit 3\n| limit 50\n# trailing comment\n",
            description: "t",
            shape: Shape::Events,
        };
        assert_eq!(q.limit(), Some(50));
        assert_eq!(
            q.with_limit(9).unwrap(),
            "fields @message # limit 3\n| limit 9\n# trailing comment\n"
        );
    }

    #[test]
    fn with_limit_refuses_queries_without_a_final_limit() {
        for text in [
            "fields @message\n",
            "limit 5 | fields @message\n",
            "| limit x\n",
        ] {
            let q = Query {
                name: "t",
                text,
                description: "t",
                shape: Shape::Events,
            };
            assert_eq!(q.with_limit(5), None, "{text}");
        }
    }
}
