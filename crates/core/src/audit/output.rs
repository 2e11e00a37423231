//! The audit section of the report (`audit` in `eks-authlog.report/v1`), and what audit
//! evidence adds to the failures and principals sections. Plain owned data; lists sorted.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::classify::Class;

use super::join::Confidence;

/// One line each: why a request fails authentication, and why it fails authorization.
pub const EXPLAIN_401: &str = "401 Unauthorized (\"You must be logged in to the server\"): authentication failed, the token was rejected before anyone knew who sent it; the fix is on the client's credentials or the identity's mapping (see failures).";
/// See [`EXPLAIN_401`].
pub const EXPLAIN_403: &str = "403 Forbidden (\"User ... cannot list resource ...\"): authentication succeeded and authorization (RBAC or an EKS access policy) denied the request; the fix is a permission for that user (see audit.forbidden).";

/// What the audit events read say.
#[derive(Clone, Debug, Serialize)]
pub struct AuditSection {
    /// Counts of the audit events in the window.
    pub events: AuditCounts,
    /// 401 versus 403, one line each.
    pub explain: Explain,
    /// Denials without identity joined to their 401s.
    pub attribution: Attribution,
    /// Authorization denials (`decision: forbid`) with a fix.
    pub forbidden: Forbidden,
    /// Who acted as whom, from successful requests' `user.extra`.
    pub identities: Vec<AuditIdentity>,
    /// Requests as `system:anonymous` (no credentials sent).
    pub anonymous: Anonymous,
}

/// Audit event counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuditCounts {
    /// Audit events in the window.
    pub total: u64,
    /// By response code (`"200"`, `"401"`, …; `"none"` without one).
    pub by_code: BTreeMap<String, u64>,
    /// 401s: failed authentication.
    pub unauthorized: u64,
    /// Authorization denials (`decision: forbid`).
    pub forbidden: u64,
    /// 403s authorization allowed (admission: pod security, webhooks, NodeRestriction).
    pub forbidden_by_admission: u64,
    /// RFC 3339, earliest event.
    pub first_seen: Option<String>,
    /// RFC 3339, latest event.
    pub last_seen: Option<String>,
}

/// 401 versus 403.
#[derive(Clone, Debug, Serialize)]
pub struct Explain {
    /// See [`EXPLAIN_401`].
    pub unauthorized: &'static str,
    /// See [`EXPLAIN_403`].
    pub forbidden: &'static str,
}

impl Default for Explain {
    fn default() -> Explain {
        Explain {
            unauthorized: EXPLAIN_401,
            forbidden: EXPLAIN_403,
        }
    }
}

/// The join of denials without identity (token and STS classes) to audit 401s.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Attribution {
    /// Denials without identity that have a time.
    pub denials: u64,
    /// Paired one to one.
    pub exact: u64,
    /// Paired, every candidate from the same caller.
    pub likely: u64,
    /// Paired, candidates from several callers.
    pub ambiguous: u64,
    /// No 401 in the window (audit delivery is best effort; `/version` and `/healthz` are not
    /// audited on EKS).
    pub unmatched: u64,
    /// Not joined: no time, or beyond the join's memory bound.
    pub not_joined: u64,
    /// 401s read.
    pub unauthorized: u64,
    /// 401s no denial was paired with (service-account or OIDC tokens, which never reach the
    /// IAM authenticator, or authenticator lines not read).
    pub unauthorized_unpaired: u64,
    /// Top callers of the unpaired 401s.
    pub unpaired_callers: Vec<CallerCount>,
    /// Per class.
    pub by_class: Vec<ClassAttribution>,
    /// The earliest pairings, at most [`MAX_JOINS`].
    pub joins: Vec<Join>,
}

/// Pairings listed in [`Attribution::joins`].
pub const MAX_JOINS: usize = 100;
/// Callers listed per class.
pub const TOP_CALLERS: usize = 5;

/// The join's counts for one class.
#[derive(Clone, Debug, Serialize)]
pub struct ClassAttribution {
    /// The class.
    pub class: Class,
    /// Denials joined.
    pub denials: u64,
    /// Paired one to one.
    pub exact: u64,
    /// Paired, one caller.
    pub likely: u64,
    /// Paired, several callers.
    pub ambiguous: u64,
    /// Not paired.
    pub unmatched: u64,
    /// Top (source IP, user agent) pairs, most denials first.
    pub callers: Vec<CallerCount>,
}

/// A (source IP, user agent) pair and how many denials or requests it made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallerCount {
    /// The connection's address (the last of `sourceIPs`).
    pub source_ip: Option<String>,
    /// `userAgent`.
    pub user_agent: Option<String>,
    /// How many.
    pub count: u64,
}

/// One denial and the 401 it was paired with.
#[derive(Clone, Debug, Serialize)]
pub struct Join {
    /// The denial's time (RFC 3339).
    pub time: String,
    /// Its class.
    pub class: Class,
    /// Its input.
    pub input: String,
    /// Its line.
    pub line: u64,
    /// How sure.
    pub confidence: Confidence,
    /// The 401's caller.
    pub source_ip: Option<String>,
    /// The 401's user agent.
    pub user_agent: Option<String>,
    /// The 401's verb.
    pub verb: Option<String>,
    /// The 401's request URI.
    pub request_uri: Option<String>,
    /// When the 401 was received (RFC 3339, µs).
    pub received: String,
    /// For `ambiguous`: the callers in its window.
    pub candidates: Vec<CallerCount>,
}

/// Authorization denials.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Forbidden {
    /// Denials (`decision: forbid`) in the window.
    pub total: u64,
    /// By user, most denials first.
    pub principals: Vec<ForbiddenPrincipal>,
}

/// One denied user.
#[derive(Clone, Debug, Serialize)]
pub struct ForbiddenPrincipal {
    /// Kubernetes username.
    pub username: String,
    /// IAM principal (`user.extra.canonicalArn`), when the authenticator set it.
    pub canonical_arn: Option<String>,
    /// Kubernetes groups it had.
    pub groups: Vec<String>,
    /// Denials.
    pub count: u64,
    /// RFC 3339.
    pub first_seen: Option<String>,
    /// RFC 3339.
    pub last_seen: Option<String>,
    /// What was denied, most first.
    pub requests: Vec<ForbiddenRequest>,
    /// Denials of request kinds beyond the 200 listed (counted, not listed).
    pub requests_not_listed: u64,
    /// What would allow exactly those requests.
    pub fix: Fix,
}

/// Denied requests of one kind.
#[derive(Clone, Debug, Serialize)]
pub struct ForbiddenRequest {
    /// Verb.
    pub verb: String,
    /// API group (`""` for core), or null for a non-resource URL.
    pub api_group: Option<String>,
    /// Resource, or null for a non-resource URL.
    pub resource: Option<String>,
    /// Subresource.
    pub subresource: Option<String>,
    /// Namespace, null at cluster scope.
    pub namespace: Option<String>,
    /// The path, for a non-resource URL.
    pub path: Option<String>,
    /// Object names asked for (at most a few; empty for list, watch and create).
    pub names: Vec<String>,
    /// How many.
    pub count: u64,
    /// RFC 3339.
    pub first_seen: Option<String>,
    /// RFC 3339.
    pub last_seen: Option<String>,
    /// The apiserver's message, once.
    pub message: Option<String>,
}

/// What would allow the denied requests.
#[derive(Clone, Debug, Serialize)]
pub struct Fix {
    /// `access_policy` (an EKS access entry's principal), `rbac`, or `credentials`
    /// (`system:anonymous`: the client sent none).
    pub kind: &'static str,
    /// Authenticated, but in no group and with no access policy seen: it can do nothing
    /// beyond discovery.
    pub no_permissions: bool,
    /// One or two sentences.
    pub summary: String,
    /// Role/ClusterRole and binding YAML (`rbac`), or null.
    pub yaml: Option<String>,
    /// Commands to paste.
    pub commands: Vec<String>,
}

/// One IAM principal seen in successful requests.
#[derive(Clone, Debug, Serialize)]
pub struct AuditIdentity {
    /// `user.extra.canonicalArn`.
    pub canonical_arn: String,
    /// Kubernetes usernames it acted under.
    pub usernames: Vec<NameCount>,
    /// Unique ids (`user.extra.principalId`) with when: more than one means the principal
    /// was deleted and re-created under the same ARN.
    pub principal_ids: Vec<IdSeen>,
    /// Re-created under the same ARN.
    pub recreated: bool,
    /// Long-term access keys (`AKIA…`) that signed its tokens.
    pub long_term_keys: Vec<IdSeen>,
    /// Requests signed with temporary keys (`ASIA…`).
    pub temporary_key_requests: u64,
    /// Requests.
    pub requests: u64,
    /// Of which denied by authorization.
    pub forbidden: u64,
    /// RFC 3339.
    pub first_seen: Option<String>,
    /// RFC 3339.
    pub last_seen: Option<String>,
}

/// A name and a count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NameCount {
    /// The name.
    pub name: String,
    /// How many.
    pub count: u64,
}

/// An id, how often and when it was seen.
#[derive(Clone, Debug, Serialize)]
pub struct IdSeen {
    /// The id.
    pub id: String,
    /// Requests.
    pub count: u64,
    /// RFC 3339.
    pub first_seen: Option<String>,
    /// RFC 3339.
    pub last_seen: Option<String>,
}

/// Requests without credentials.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Anonymous {
    /// Requests as `system:anonymous`.
    pub count: u64,
    /// By response code.
    pub by_code: BTreeMap<String, u64>,
    /// Top callers.
    pub callers: Vec<CallerCount>,
}

/// What audit evidence says about one principal of the report's `principals` list.
#[derive(Clone, Debug, Serialize)]
pub struct PrincipalAudit {
    /// Requests in the audit log.
    pub requests: u64,
    /// Of which denied by authorization.
    pub forbidden: u64,
    /// Kubernetes usernames it acted under.
    pub usernames: Vec<NameCount>,
    /// Unique ids seen.
    pub principal_ids: Vec<String>,
    /// Re-created under the same ARN.
    pub recreated: bool,
    /// Long-term access keys in use.
    pub long_term_keys: Vec<String>,
}

/// `kubernetes-admin` activity in the audit log, for the creator section.
#[derive(Clone, Debug)]
pub struct AdminActivity {
    /// The canonical ARN that acted as `kubernetes-admin`.
    pub canonical_arn: String,
    /// The raw ARN first seen.
    pub arn: Option<String>,
    /// Unique ids.
    pub principal_ids: Vec<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Requests.
    pub count: u64,
    /// Epoch ms.
    pub first_ms: Option<i64>,
    /// Epoch ms.
    pub last_ms: Option<i64>,
}

/// Every string of the audit section that came from a log, for redaction and escaping.
pub fn each_string(s: &mut AuditSection, f: &mut impl FnMut(&mut String)) {
    let caller = |c: &mut CallerCount, f: &mut dyn FnMut(&mut String)| {
        c.source_ip.iter_mut().for_each(&mut *f);
        c.user_agent.iter_mut().for_each(&mut *f);
    };
    let mut g = |s: &mut String| f(s);
    let a = &mut s.attribution;
    a.unpaired_callers
        .iter_mut()
        .for_each(|c| caller(c, &mut g));
    for c in &mut a.by_class {
        c.callers.iter_mut().for_each(|c| caller(c, &mut g));
    }
    for j in &mut a.joins {
        g(&mut j.input);
        for t in [
            &mut j.source_ip,
            &mut j.user_agent,
            &mut j.verb,
            &mut j.request_uri,
        ] {
            t.iter_mut().for_each(&mut g);
        }
        j.candidates.iter_mut().for_each(|c| caller(c, &mut g));
    }
    for p in &mut s.forbidden.principals {
        g(&mut p.username);
        p.canonical_arn.iter_mut().for_each(&mut g);
        p.groups.iter_mut().for_each(&mut g);
        for r in &mut p.requests {
            for t in [
                &mut r.api_group,
                &mut r.resource,
                &mut r.subresource,
                &mut r.namespace,
                &mut r.path,
                &mut r.message,
            ] {
                t.iter_mut().for_each(&mut g);
            }
            r.names.iter_mut().for_each(&mut g);
            g(&mut r.verb);
        }
        g(&mut p.fix.summary);
        p.fix.yaml.iter_mut().for_each(&mut g);
        p.fix.commands.iter_mut().for_each(&mut g);
    }
    for i in &mut s.identities {
        g(&mut i.canonical_arn);
        i.usernames.iter_mut().for_each(|u| g(&mut u.name));
        i.principal_ids.iter_mut().for_each(|p| g(&mut p.id));
        i.long_term_keys.iter_mut().for_each(|p| g(&mut p.id));
    }
    s.anonymous
        .callers
        .iter_mut()
        .for_each(|c| caller(c, &mut g));
}

/// Every string of a principal's audit evidence.
pub fn each_principal_string(p: &mut PrincipalAudit, f: &mut impl FnMut(&mut String)) {
    p.usernames.iter_mut().for_each(|u| f(&mut u.name));
    p.principal_ids.iter_mut().for_each(&mut *f);
    p.long_term_keys.iter_mut().for_each(&mut *f);
}

/// Every string of a caller list.
pub fn each_caller_string(c: &mut [CallerCount], f: &mut impl FnMut(&mut String)) {
    for c in c {
        c.source_ip.iter_mut().for_each(&mut *f);
        c.user_agent.iter_mut().for_each(&mut *f);
    }
}
