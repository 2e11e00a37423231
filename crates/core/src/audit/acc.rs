//! The audit accumulator: bounded, mergeable state of the audit events and of the denials
//! waiting to be joined, and its turn into the report's audit section at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::classify::{Class, Family};
use crate::merge::Merge;
use crate::source::Loc;
use crate::time::format_ms;

use super::event::AuditEvent;
use super::fix::{self, Subject, Where};
use super::join::{self, Confidence, Denial, Knock};
use super::output::*;

/// Denials and 401s the join keeps (each); more are counted in `not_joined`. About 40 bytes
/// each, plus one copy of each distinct caller.
pub const MAX_JOINED: usize = 1_000_000;
/// Object names kept per denied request kind.
const MAX_NAMES: usize = 8;
/// Distinct denied request kinds kept per user; more are counted only.
const MAX_REQUESTS: usize = 200;
/// Callers kept for anonymous requests.
const MAX_CALLERS: usize = 10_000;
/// The username EKS gives the cluster creator.
pub const ADMIN: &str = "kubernetes-admin";

/// First and last time (epoch ms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Earliest.
    pub first: Option<i64>,
    /// Latest.
    pub last: Option<i64>,
    /// How many.
    pub count: u64,
}

impl Seen {
    fn add(&mut self, t: Option<i64>) {
        self.count += 1;
        self.widen(t);
    }

    fn widen(&mut self, t: Option<i64>) {
        if let Some(t) = t {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }
}

impl Merge for Seen {
    fn merge(&mut self, later: Seen) {
        let Seen { first, last, count } = later;
        self.widen(first);
        self.widen(last);
        self.count += count;
    }
}

/// Who sent a 401: `(source IP, user agent, verb, request URI)`.
pub type Caller = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

#[derive(Clone, Debug, Default)]
struct RequestAcc {
    seen: Seen,
    names: BTreeSet<String>,
    message: Option<String>,
}

impl Merge for RequestAcc {
    fn merge(&mut self, later: RequestAcc) {
        let RequestAcc {
            seen,
            names,
            message,
        } = later;
        self.seen.merge(seen);
        for n in names {
            keep_smallest(&mut self.names, n);
        }
        if self.message.is_none() {
            self.message = message;
        }
    }
}

/// `(verb, api group, resource, subresource, namespace, path)`.
type RequestKey = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

#[derive(Clone, Debug, Default)]
struct ForbidAcc {
    seen: Seen,
    groups: BTreeSet<String>,
    requests: BTreeMap<RequestKey, RequestAcc>,
    requests_dropped: u64,
    /// Some of it came from server-side aggregates, which carry no allow reasons: whether an
    /// access policy applies is then not known.
    aggregated: bool,
}

impl ForbidAcc {
    /// Counts `seen` denials of the request `key`, keeping up to [`MAX_REQUESTS`] kinds.
    fn request(&mut self, key: RequestKey, seen: Seen, name: Option<&str>, message: Option<&str>) {
        if !self.requests.contains_key(&key)
            && let Some(evicted) = insert_bounded(
                &mut self.requests,
                key.clone(),
                RequestAcc::default(),
                MAX_REQUESTS,
            )
        {
            self.requests_dropped += evicted.seen.count;
        }
        let Some(r) = self.requests.get_mut(&key) else {
            self.requests_dropped += seen.count;
            return;
        };
        r.seen.merge(seen);
        if let Some(n) = name
            && !r.names.contains(n)
        {
            keep_smallest(&mut r.names, n.to_owned());
        }
        if r.message.is_none() {
            r.message = message.map(str::to_owned);
        }
    }
}

/// The grouping key of a denied request; the API group only for resource requests.
fn request_key(
    verb: Option<&str>,
    api_group: Option<&str>,
    resource: Option<&str>,
    subresource: Option<&str>,
    namespace: Option<&str>,
    path: Option<&str>,
) -> RequestKey {
    let own = |v: Option<&str>| v.map(str::to_owned);
    (
        verb.unwrap_or("").to_owned(),
        resource.map(|_| api_group.unwrap_or("").to_owned()),
        own(resource),
        own(subresource),
        own(namespace),
        own(path),
    )
}

/// `count` authorization denials (403, `decision: forbid`) of one user and request, as the
/// `audit-forbidden` query aggregates them server-side.
#[derive(Clone, Debug, Default)]
pub struct ForbiddenAggregate<'a> {
    /// `user.username`.
    pub username: Option<&'a str>,
    /// `user.extra.canonicalArn`.
    pub canonical_arn: Option<&'a str>,
    /// The user's first groups (`user.groups.0..2`).
    pub groups: Vec<&'a str>,
    /// `verb`.
    pub verb: Option<&'a str>,
    /// `objectRef.apiGroup`.
    pub api_group: Option<&'a str>,
    /// `objectRef.resource`.
    pub resource: Option<&'a str>,
    /// `objectRef.subresource`.
    pub subresource: Option<&'a str>,
    /// `objectRef.namespace`.
    pub namespace: Option<&'a str>,
    /// One denial's message.
    pub example: Option<&'a str>,
    /// How many.
    pub count: u64,
    /// First seen (epoch ms).
    pub first_ms: Option<i64>,
    /// Last seen (epoch ms).
    pub last_ms: Option<i64>,
}

/// `count` successful requests of one IAM principal under one username, unique id and key
/// type, as the `audit-identities` query aggregates them server-side.
#[derive(Clone, Debug, Default)]
pub struct IdentityAggregate<'a> {
    /// `user.extra.canonicalArn`.
    pub canonical_arn: &'a str,
    /// `user.username`.
    pub username: Option<&'a str>,
    /// `user.extra.principalId`.
    pub principal_id: Option<&'a str>,
    /// The access key id's first four characters (`AKIA`: long-term, `ASIA`: temporary).
    pub key_type: Option<&'a str>,
    /// How many.
    pub count: u64,
    /// First seen (epoch ms).
    pub first_ms: Option<i64>,
    /// Last seen (epoch ms).
    pub last_ms: Option<i64>,
}

impl Merge for ForbidAcc {
    fn merge(&mut self, later: ForbidAcc) {
        let ForbidAcc {
            seen,
            groups,
            requests,
            requests_dropped,
            aggregated,
        } = later;
        self.seen.merge(seen);
        self.groups.merge(groups);
        self.aggregated |= aggregated;
        self.requests_dropped += requests_dropped;
        for (k, v) in requests {
            if let Some(mine) = self.requests.get_mut(&k) {
                mine.merge(v);
            } else if let Some(evicted) = insert_bounded(&mut self.requests, k, v, MAX_REQUESTS) {
                self.requests_dropped += evicted.seen.count;
            }
        }
    }
}

#[derive(Clone, Debug, Default)]
struct IdentityAcc {
    seen: Seen,
    usernames: BTreeMap<String, u64>,
    ids: BTreeMap<String, Seen>,
    long_term: BTreeMap<String, Seen>,
    temporary: u64,
    forbidden: u64,
    /// An EKS access policy allowed a request of it.
    policy: bool,
    /// As `kubernetes-admin`: requests, raw ARN first seen, groups.
    admin: Seen,
    admin_arn: Option<String>,
    admin_groups: BTreeSet<String>,
}

impl Merge for IdentityAcc {
    fn merge(&mut self, later: IdentityAcc) {
        let IdentityAcc {
            seen,
            usernames,
            ids,
            long_term,
            temporary,
            forbidden,
            policy,
            admin,
            admin_arn,
            admin_groups,
        } = later;
        self.seen.merge(seen);
        Merge::merge(&mut self.usernames, usernames);
        Merge::merge(&mut self.ids, ids);
        Merge::merge(&mut self.long_term, long_term);
        self.temporary += temporary;
        self.forbidden += forbidden;
        self.policy |= policy;
        self.admin.merge(admin);
        if self.admin_arn.is_none() {
            self.admin_arn = admin_arn;
        }
        self.admin_groups.merge(admin_groups);
    }
}

/// The audit state of one piece of input.
#[derive(Clone, Debug, Default)]
pub struct AuditAcc {
    events: Seen,
    by_code: BTreeMap<String, u64>,
    unauthorized: u64,
    forbidden: u64,
    admission: u64,
    /// 401s: (received µs, caller index).
    knocks: Vec<(i64, u32)>,
    callers: Vec<Caller>,
    caller_ids: std::collections::HashMap<Caller, u32>,
    denials: Vec<Denial>,
    not_joined: u64,
    last_input: Option<Arc<str>>,
    forbid: BTreeMap<(String, Option<String>), ForbidAcc>,
    identities: BTreeMap<String, IdentityAcc>,
    anonymous: Seen,
    anonymous_codes: BTreeMap<String, u64>,
    anonymous_callers: BTreeMap<(Option<String>, Option<String>), u64>,
}

fn code_key(code: Option<i64>) -> String {
    code.map_or_else(|| "none".to_owned(), |c| c.to_string())
}

/// Per class: the top callers, and the pairings as `[exact, likely, ambiguous, unmatched]`.
pub type PerClass = BTreeMap<Class, (Vec<CallerCount>, [u64; 4])>;

/// Whether a denial's class is one the join attributes: token and STS failures carry no
/// identity in the authenticator log.
pub fn joinable(class: Class) -> bool {
    matches!(class.family(), Family::Token | Family::Sts)
}

impl AuditAcc {
    /// Whether any audit event was read.
    pub fn is_empty(&self) -> bool {
        self.events.count == 0
    }

    /// Takes an audit event inside the window.
    pub fn add(&mut self, e: &AuditEvent<'_>) {
        let t = e.time_ms();
        self.events.add(t);
        let code = e.code();
        *self.by_code.entry(code_key(code)).or_default() += 1;
        let username = e.username();
        if username == Some("system:anonymous") {
            self.anonymous.add(t);
            *self.anonymous_codes.entry(code_key(code)).or_default() += 1;
            let key = (
                e.source_ip().map(str::to_owned),
                e.user_agent().map(str::to_owned),
            );
            if let Some(n) = self.anonymous_callers.get_mut(&key) {
                *n += 1;
            } else {
                insert_bounded(&mut self.anonymous_callers, key, 1, MAX_CALLERS);
            }
        }
        if e.is_unauthorized() {
            self.unauthorized += 1;
            self.knock(e);
            return;
        }
        let forbidden = e.is_forbidden();
        if forbidden {
            self.forbidden += 1;
            self.forbid(e, t);
        } else if code == Some(403) {
            self.admission += 1;
        }
        let Some(arn) = e.canonical_arn() else {
            return;
        };
        let id = match self.identities.get_mut(arn) {
            Some(id) => id,
            None => self.identities.entry(arn.to_owned()).or_default(),
        };
        id.seen.add(t);
        id.forbidden += u64::from(forbidden);
        if let Some(u) = username {
            *id.usernames.entry(u.to_owned()).or_default() += 1;
            if u == ADMIN {
                id.admin.add(t);
                if id.admin_arn.is_none() {
                    id.admin_arn = e.arn().map(str::to_owned);
                }
                id.admin_groups.extend(e.groups().map(str::to_owned));
            }
        }
        if let Some(p) = e.principal_id() {
            id.ids.entry(p.to_owned()).or_default().add(t);
        }
        match e.access_key_id() {
            Some(k) if k.starts_with("AKIA") => {
                id.long_term.entry(k.to_owned()).or_default().add(t)
            }
            Some(_) => id.temporary += 1,
            None => {}
        }
        if e.reason()
            .is_some_and(|r| r.starts_with("EKS Access Policy:"))
        {
            id.policy = true;
        }
    }

    fn knock(&mut self, e: &AuditEvent<'_>) {
        let Some(us) = e.received_us.or(e.stage_us) else {
            self.not_joined += 1;
            return;
        };
        if self.knocks.len() >= MAX_JOINED {
            self.not_joined += 1;
            return;
        }
        let caller: Caller = (
            e.source_ip().map(str::to_owned),
            e.user_agent().map(str::to_owned),
            e.verb().map(str::to_owned),
            e.request_uri().map(str::to_owned),
        );
        let id = self.intern(caller);
        self.knocks.push((us, id));
    }

    fn intern(&mut self, caller: Caller) -> u32 {
        if let Some(id) = self.caller_ids.get(&caller) {
            return *id;
        }
        let id = self.callers.len() as u32;
        self.callers.push(caller.clone());
        self.caller_ids.insert(caller, id);
        id
    }

    fn forbid(&mut self, e: &AuditEvent<'_>, t: Option<i64>) {
        let resource = e.resource();
        let key = request_key(
            e.verb(),
            e.api_group(),
            resource,
            e.subresource(),
            e.namespace(),
            // A non-resource URL: the path without its query.
            resource
                .is_none()
                .then(|| e.request_uri().map(|u| u.split('?').next().unwrap_or(u)))
                .flatten(),
        );
        let mut seen = Seen::default();
        seen.add(t);
        let acc = self.forbid_acc(e.username(), e.canonical_arn(), e.groups());
        acc.seen.merge(seen);
        acc.request(key, seen, e.name(), e.message());
    }

    fn forbid_acc<'g>(
        &mut self,
        username: Option<&str>,
        arn: Option<&str>,
        groups: impl Iterator<Item = &'g str>,
    ) -> &mut ForbidAcc {
        let user = username.unwrap_or("").to_owned();
        let acc = self
            .forbid
            .entry((user, arn.map(str::to_owned)))
            .or_default();
        acc.groups.extend(
            groups
                .filter(|g| *g != "system:authenticated")
                .map(str::to_owned),
        );
        acc
    }

    /// Takes `n` authorization denials Logs Insights aggregated server-side
    /// (`audit-forbidden`): they count and group as that many events would, without object
    /// names.
    pub fn add_forbidden(&mut self, a: &ForbiddenAggregate<'_>) {
        let seen = Seen {
            first: a.first_ms,
            last: a.last_ms,
            count: a.count,
        };
        self.events.merge(seen);
        *self.by_code.entry("403".to_owned()).or_default() += a.count;
        self.forbidden += a.count;
        let key = request_key(
            a.verb,
            a.api_group,
            a.resource,
            a.subresource,
            a.namespace,
            None,
        );
        let acc = self.forbid_acc(a.username, a.canonical_arn, a.groups.iter().copied());
        acc.seen.merge(seen);
        acc.aggregated = true;
        acc.request(key, seen, None, a.example);
        if let Some(arn) = a.canonical_arn {
            self.identities.entry(arn.to_owned()).or_default().forbidden += a.count;
        }
    }

    /// Takes `n` successful requests of one IAM principal Logs Insights aggregated
    /// server-side (`audit-identities`): the identity map as from that many events. Only the
    /// key's type is aggregated, so a long-term key is listed as `AKIA` without its id.
    pub fn add_identity(&mut self, a: &IdentityAggregate<'_>) {
        let seen = Seen {
            first: a.first_ms,
            last: a.last_ms,
            count: a.count,
        };
        let id = self
            .identities
            .entry(a.canonical_arn.to_owned())
            .or_default();
        id.seen.merge(seen);
        if let Some(u) = a.username {
            *id.usernames.entry(u.to_owned()).or_default() += a.count;
            if u == ADMIN {
                id.admin.merge(seen);
            }
        }
        if let Some(p) = a.principal_id {
            id.ids.entry(p.to_owned()).or_default().merge(seen);
        }
        match a.key_type {
            Some("AKIA") => id
                .long_term
                .entry("AKIA".to_owned())
                .or_default()
                .merge(seen),
            Some(_) => id.temporary += a.count,
            None => {}
        }
    }

    /// Takes an authenticator denial that carries no identity, for the join.
    pub fn deny(&mut self, time_ms: Option<i64>, class: Class, loc: Loc<'_>) {
        let Some(t) = time_ms else {
            self.not_joined += 1;
            return;
        };
        if self.denials.len() >= MAX_JOINED {
            self.not_joined += 1;
            return;
        }
        let input = match &self.last_input {
            Some(i) if &**i == loc.input => Arc::clone(i),
            _ => {
                let i: Arc<str> = loc.input.into();
                self.last_input = Some(Arc::clone(&i));
                i
            }
        };
        self.denials.push(Denial {
            time_ms: t,
            class,
            input,
            line: loc.line,
        });
    }

    /// Where the 401s of the denials taken so far can be, per input, at most `max` windows
    /// each ([`join::search_windows`]): what a CloudWatch source queries the audit streams
    /// over, instead of the whole window.
    pub fn search_windows(&self, max: usize) -> join::SearchWindows {
        join::search_windows(&self.denials, max)
    }

    /// `kubernetes-admin` activity, for the creator section.
    pub fn admin_activity(&self) -> Vec<AdminActivity> {
        self.identities
            .iter()
            .filter(|(_, id)| id.admin.count > 0)
            .map(|(arn, id)| AdminActivity {
                canonical_arn: arn.clone(),
                arn: id.admin_arn.clone(),
                principal_ids: id.ids.keys().cloned().collect(),
                groups: id.admin_groups.iter().cloned().collect(),
                count: id.admin.count,
                first_ms: id.admin.first,
                last_ms: id.admin.last,
            })
            .collect()
    }

    /// The audit evidence of each IAM principal, by canonical ARN.
    pub fn principals(&self) -> BTreeMap<String, (PrincipalAudit, Option<i64>, Option<i64>)> {
        self.identities
            .iter()
            .map(|(arn, id)| {
                (
                    arn.clone(),
                    (
                        PrincipalAudit {
                            requests: id.seen.count,
                            forbidden: id.forbidden,
                            usernames: name_counts(&id.usernames),
                            principal_ids: id.ids.keys().cloned().collect(),
                            recreated: id.ids.len() > 1,
                            long_term_keys: id.long_term.keys().cloned().collect(),
                        },
                        id.seen.first,
                        id.seen.last,
                    ),
                )
            })
            .collect()
    }

    /// Joins, groups and explains: the audit section, and the callers per class for the
    /// failures section. Call once, with every piece merged.
    pub fn finish(
        &mut self,
        cluster: Option<&str>,
        region: Option<&str>,
    ) -> (AuditSection, PerClass) {
        let (attribution, per_class) = self.attribution();
        let section = AuditSection {
            events: AuditCounts {
                total: self.events.count,
                by_code: self.by_code.clone(),
                unauthorized: self.unauthorized,
                forbidden: self.forbidden,
                forbidden_by_admission: self.admission,
                first_seen: self.events.first.map(format_ms),
                last_seen: self.events.last.map(format_ms),
            },
            explain: Explain::default(),
            attribution,
            forbidden: self.forbidden_section(cluster, region),
            identities: self.identity_list(),
            anonymous: Anonymous {
                count: self.anonymous.count,
                by_code: self.anonymous_codes.clone(),
                callers: top(
                    self.anonymous_callers
                        .iter()
                        .map(|((ip, ua), n)| ((ip.clone(), ua.clone()), *n)),
                    TOP_CALLERS,
                ),
            },
        };
        (section, per_class)
    }

    fn attribution(&mut self) -> (Attribution, PerClass) {
        // Callers sorted by content, so indices (and the join's order) do not depend on the
        // order they were met in.
        let mut order: Vec<u32> = (0..self.callers.len() as u32).collect();
        order.sort_by(|a, b| self.callers[*a as usize].cmp(&self.callers[*b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (r, old) in order.iter().enumerate() {
            rank[*old as usize] = r as u32;
        }
        let callers: Vec<&Caller> = order.iter().map(|o| &self.callers[*o as usize]).collect();
        // (source IP, user agent) pairs, also by content.
        let whos: BTreeSet<(&Option<String>, &Option<String>)> =
            callers.iter().map(|c| (&c.0, &c.1)).collect();
        let whos: Vec<(&Option<String>, &Option<String>)> = whos.into_iter().collect();
        let who_of = |c: &Caller| whos.binary_search(&(&c.0, &c.1)).unwrap_or_default() as u32;
        let mut knocks: Vec<Knock> = self
            .knocks
            .iter()
            .map(|(us, c)| {
                let caller = rank[*c as usize];
                Knock {
                    received_us: *us,
                    caller,
                    who: who_of(callers[caller as usize]),
                }
            })
            .collect();
        let mut denials = std::mem::take(&mut self.denials);
        let pairs = join::join(&mut denials, &mut knocks);
        let mut used = vec![false; knocks.len()];
        let mut a = Attribution {
            denials: denials.len() as u64,
            not_joined: self.not_joined,
            unauthorized: self.unauthorized,
            ..Attribution::default()
        };
        #[derive(Default)]
        struct PerClass {
            n: [u64; 4],
            who: BTreeMap<u32, u64>,
        }
        let mut per: BTreeMap<Class, PerClass> = BTreeMap::new();
        let caller_count = |w: u32, count: u64| CallerCount {
            source_ip: whos[w as usize].0.clone(),
            user_agent: whos[w as usize].1.clone(),
            count,
        };
        for (d, p) in denials.iter().zip(&pairs) {
            let c = per.entry(d.class).or_default();
            let Some(p) = p else {
                a.unmatched += 1;
                c.n[3] += 1;
                continue;
            };
            used[p.knock] = true;
            let k = &knocks[p.knock];
            let slot = match p.confidence {
                Confidence::Exact => &mut a.exact,
                Confidence::Likely => &mut a.likely,
                Confidence::Ambiguous => &mut a.ambiguous,
            };
            *slot += 1;
            c.n[p.confidence as usize] += 1;
            *c.who.entry(k.who).or_default() += 1;
            if a.joins.len() < MAX_JOINS {
                let caller = callers[k.caller as usize];
                a.joins.push(Join {
                    time: format_ms(d.time_ms),
                    class: d.class,
                    input: d.input.to_string(),
                    line: d.line,
                    confidence: p.confidence,
                    source_ip: caller.0.clone(),
                    user_agent: caller.1.clone(),
                    verb: caller.2.clone(),
                    request_uri: caller.3.clone(),
                    received: format_us(k.received_us),
                    candidates: p.candidates.iter().map(|w| caller_count(*w, 0)).collect(),
                });
            }
        }
        let mut unpaired: BTreeMap<u32, u64> = BTreeMap::new();
        for (k, u) in knocks.iter().zip(&used) {
            if !u {
                a.unauthorized_unpaired += 1;
                *unpaired.entry(k.who).or_default() += 1;
            }
        }
        a.unpaired_callers = top_counts(&unpaired, &caller_count);
        let mut digest = BTreeMap::new();
        for (class, c) in per {
            let callers = top_counts(&c.who, &caller_count);
            a.by_class.push(ClassAttribution {
                class,
                denials: c.n.iter().sum(),
                exact: c.n[0],
                likely: c.n[1],
                ambiguous: c.n[2],
                unmatched: c.n[3],
                callers: callers.clone(),
            });
            digest.insert(class, (callers, c.n));
        }
        a.by_class
            .sort_by(|x, y| y.denials.cmp(&x.denials).then(x.class.cmp(&y.class)));
        (a, digest)
    }

    fn forbidden_section(&self, cluster: Option<&str>, region: Option<&str>) -> Forbidden {
        let at = Where { cluster, region };
        let mut principals: Vec<ForbiddenPrincipal> = self
            .forbid
            .iter()
            .map(|((user, arn), acc)| {
                let mut requests: Vec<ForbiddenRequest> = acc
                    .requests
                    .iter()
                    .map(|((verb, group, res, sub, ns, path), r)| ForbiddenRequest {
                        verb: verb.clone(),
                        api_group: group.clone(),
                        resource: res.clone(),
                        subresource: sub.clone(),
                        namespace: ns.clone(),
                        path: path.clone(),
                        names: r.names.iter().cloned().collect(),
                        count: r.seen.count,
                        first_seen: r.seen.first.map(format_ms),
                        last_seen: r.seen.last.map(format_ms),
                        message: r.message.clone(),
                    })
                    .collect();
                requests.sort_by_key(|r| std::cmp::Reverse(r.count));
                let groups: Vec<String> = acc.groups.iter().cloned().collect();
                let id = arn.as_ref().and_then(|a| self.identities.get(a));
                let has_policy = id.is_some_and(|i| i.policy);
                let subject = Subject {
                    username: user,
                    canonical_arn: arn.as_deref(),
                    groups: &groups,
                    access_entry: has_policy || user.starts_with("arn:aws"),
                    // Aggregates carry no allow reasons: a policy may apply, so such a
                    // principal is never called one without permissions.
                    has_policy: has_policy || acc.aggregated,
                };
                let fix = fix::fix(&subject, &requests, &at);
                ForbiddenPrincipal {
                    username: user.clone(),
                    canonical_arn: arn.clone(),
                    groups,
                    count: acc.seen.count,
                    first_seen: acc.seen.first.map(format_ms),
                    last_seen: acc.seen.last.map(format_ms),
                    requests,
                    requests_not_listed: acc.requests_dropped,
                    fix,
                }
            })
            .collect();
        principals.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.username.cmp(&b.username))
        });
        Forbidden {
            total: self.forbidden,
            principals,
        }
    }

    fn identity_list(&self) -> Vec<AuditIdentity> {
        let seen = |s: &BTreeMap<String, Seen>| {
            s.iter()
                .map(|(id, s)| IdSeen {
                    id: id.clone(),
                    count: s.count,
                    first_seen: s.first.map(format_ms),
                    last_seen: s.last.map(format_ms),
                })
                .collect::<Vec<_>>()
        };
        let mut v: Vec<AuditIdentity> = self
            .identities
            .iter()
            .map(|(arn, id)| AuditIdentity {
                canonical_arn: arn.clone(),
                usernames: name_counts(&id.usernames),
                principal_ids: seen(&id.ids),
                recreated: id.ids.len() > 1,
                long_term_keys: seen(&id.long_term),
                temporary_key_requests: id.temporary,
                requests: id.seen.count,
                forbidden: id.forbidden,
                first_seen: id.seen.first.map(format_ms),
                last_seen: id.seen.last.map(format_ms),
            })
            .collect();
        v.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then_with(|| a.canonical_arn.cmp(&b.canonical_arn))
        });
        v
    }
}

/// Inserts into a set that keeps its `MAX_NAMES` smallest elements: what is kept does not
/// depend on the order elements came in, so neither on `--threads`.
fn keep_smallest(set: &mut BTreeSet<String>, v: String) {
    set.insert(v);
    if set.len() > MAX_NAMES {
        set.pop_last();
    }
}

/// Inserts into a map that keeps its `cap` smallest keys; returns the value evicted (or
/// `v` itself when its key is the largest), so the caller can count it.
fn insert_bounded<K: Ord, V>(m: &mut BTreeMap<K, V>, k: K, v: V, cap: usize) -> Option<V> {
    m.insert(k, v);
    if m.len() > cap {
        m.pop_last().map(|(_, v)| v)
    } else {
        None
    }
}

fn name_counts(m: &BTreeMap<String, u64>) -> Vec<NameCount> {
    let mut v: Vec<NameCount> = m
        .iter()
        .map(|(name, count)| NameCount {
            name: name.clone(),
            count: *count,
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v
}

fn top_counts(m: &BTreeMap<u32, u64>, f: &impl Fn(u32, u64) -> CallerCount) -> Vec<CallerCount> {
    let mut v: Vec<(u32, u64)> = m.iter().map(|(w, n)| (*w, *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter()
        .take(TOP_CALLERS)
        .map(|(w, n)| f(w, n))
        .collect()
}

fn top(
    it: impl Iterator<Item = ((Option<String>, Option<String>), u64)>,
    n: usize,
) -> Vec<CallerCount> {
    let mut v: Vec<_> = it.collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter()
        .take(n)
        .map(|((source_ip, user_agent), count)| CallerCount {
            source_ip,
            user_agent,
            count,
        })
        .collect()
}

/// Epoch µs as RFC 3339 UTC with microseconds.
pub fn format_us(us: i64) -> String {
    match chrono::DateTime::<chrono::Utc>::from_timestamp_micros(us) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        None => format_ms(us.div_euclid(1000)),
    }
}

impl Merge for AuditAcc {
    fn merge(&mut self, later: AuditAcc) {
        let AuditAcc {
            events,
            by_code,
            unauthorized,
            forbidden,
            admission,
            knocks,
            callers,
            caller_ids: _,
            denials,
            not_joined,
            last_input: _,
            forbid,
            identities,
            anonymous,
            anonymous_codes,
            anonymous_callers,
        } = later;
        self.events.merge(events);
        Merge::merge(&mut self.by_code, by_code);
        self.unauthorized += unauthorized;
        self.forbidden += forbidden;
        self.admission += admission;
        self.not_joined += not_joined;
        // The earlier pieces' first MAX_JOINED are kept, as one pass keeps its first ones.
        let remap: Vec<u32> = callers.into_iter().map(|c| self.intern(c)).collect();
        for (us, c) in knocks {
            if self.knocks.len() < MAX_JOINED {
                self.knocks.push((us, remap[c as usize]));
            } else {
                self.not_joined += 1;
            }
        }
        for d in denials {
            if self.denials.len() < MAX_JOINED {
                self.denials.push(d);
            } else {
                self.not_joined += 1;
            }
        }
        Merge::merge(&mut self.forbid, forbid);
        Merge::merge(&mut self.identities, identities);
        self.anonymous.merge(anonymous);
        Merge::merge(&mut self.anonymous_codes, anonymous_codes);
        for (k, n) in anonymous_callers {
            if let Some(m) = self.anonymous_callers.get_mut(&k) {
                *m += n;
            } else {
                insert_bounded(&mut self.anonymous_callers, k, n, MAX_CALLERS);
            }
        }
    }
}
