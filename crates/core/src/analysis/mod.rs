//! Analysis: from classified events to the report's answers.
//!
//! An [`Analyzer`] takes [`Evidence`] one piece at a time and keeps compact, mergeable state: line
//! accounting, failures by class, principals, the creator's evidence, the timeline and the
//! correlation of `STS response` lines. Several analyzers (one per chunk or thread) merge in
//! input order into one, and [`Analyzer::finish`] turns the state into a [`Report`]. The
//! result does not depend on how the input was split.
//!
//! Rendering the report is `report`'s business; deciding classes is `classify`'s.

pub mod correlate;
mod creator;
mod output;
mod recovery;
mod verdict;

use crate::evidence::{Aggregate, Evidence};
use std::collections::{BTreeMap, BTreeSet};

use crate::accounting::Accounting;
use crate::audit::{AuditAcc, AuditEvent};
use crate::classify::{self, Arn, Class, Family};
use crate::event::{Event, Kind, Uid};
use crate::merge::Merge;

use self::correlate::{Correlator, Key, Role, Sts, When};
pub use self::creator::CreatorStatus;
pub(crate) use self::output::account_of;
pub use self::output::*;
pub use self::recovery::Recovery;
pub use self::verdict::{EntryEvidence, SourceStatus, SourceUse};

/// The analysis maps' `HashMap`: FxHash (rustc-hash). SipHash's setup and per-byte cost were
/// several percent of `report`'s time; keys come from log files the user chose to read, so
/// resistance to hash flooding is not worth that price. It is deterministic, so profiles are
/// reproducible (nothing in the output depends on map order: it is sorted).
type HashMap<K, V> = hashbrown::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// Which failures and principals a report keeps, and what it knows about the cluster.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Keep events at or after this time (epoch ms).
    pub since_ms: Option<i64>,
    /// Keep events at or before this time (epoch ms).
    pub until_ms: Option<i64>,
    /// Keep only failures of these classes (empty: all). Families match their classes.
    pub classes: Vec<Class>,
    /// Keep only failures of these families (empty: all).
    pub families: Vec<Family>,
    /// Keep only grants and denials whose ARN or username contains one of these
    /// (case-insensitive; empty: all).
    pub principals: Vec<String>,
    /// Show EKS-internal identities (`eks:*` usernames, `AWSWesleyClusterManagerLambda-*`).
    pub include_internal: bool,
    /// Cluster name, for remedies.
    pub cluster: Option<String>,
    /// Region, for remedies.
    pub region: Option<String>,
    /// The source already kept only events of the window (CloudWatch Logs Insights filters
    /// on `@timestamp`): keep every event, and count those whose own time lies outside.
    pub window_applied_by_source: bool,
}

impl Options {
    fn in_window(&self, t: Option<i64>) -> bool {
        match t {
            Some(t) => self.since_ms.is_none_or(|s| t >= s) && self.until_ms.is_none_or(|u| t <= u),
            // An event without a time cannot be placed; keep it unless a window was asked for.
            None => self.since_ms.is_none() && self.until_ms.is_none(),
        }
    }

    fn keeps_principal(&self, arn: Option<&str>, username: Option<&str>) -> bool {
        if self.principals.is_empty() {
            return true;
        }
        let hay = |s: Option<&str>, p: &str| {
            s.is_some_and(|s| s.to_ascii_lowercase().contains(&p.to_ascii_lowercase()))
        };
        self.principals
            .iter()
            .any(|p| hay(arn, p) || hay(username, p))
    }

    /// Whether failures of `class` are shown.
    pub fn keeps_class(&self, class: Class) -> bool {
        (self.classes.is_empty() && self.families.is_empty())
            || self.classes.contains(&class)
            || self.families.contains(&class.family())
    }

    /// Whether `events` prints an event of `class` (the base class, for not-mapped denials).
    /// Not-mapped denials are sub-classed only at the end, so a filter on a sub-class keeps
    /// the base class's events.
    pub fn keeps_event(&self, class: Option<Class>) -> bool {
        if self.classes.is_empty() && self.families.is_empty() {
            return true;
        }
        class.is_some_and(|c| {
            self.keeps_class(c)
                || (c == Class::IdentityNotMapped
                    && self.classes.iter().any(|w| {
                        matches!(
                            w,
                            Class::NodeRoleNotMapped
                                | Class::SsoRoleNotMapped
                                | Class::PrincipalRecreated
                                | Class::RolePathInMapping
                        )
                    }))
        })
    }
}

/// First and last time seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// Earliest time (epoch ms).
    pub first: Option<i64>,
    /// Latest time (epoch ms).
    pub last: Option<i64>,
}

impl Span {
    fn add(&mut self, t: Option<i64>) {
        if let Some(t) = t {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }
}

impl Merge for Span {
    fn merge(&mut self, later: Span) {
        let Span { first, last } = later;
        self.add(first);
        self.add(last);
    }
}

/// How often one principal failed in one class, and when.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub count: u64,
    pub span: Span,
}

impl Tally {
    fn add(&mut self, count: u64, span: Span) {
        self.count += count;
        self.span.merge(span);
    }
}

impl Merge for Tally {
    fn merge(&mut self, later: Tally) {
        let Tally { count, span } = later;
        self.add(count, span);
    }
}

/// Where an example line is, to order examples deterministically (earliest wins).
type ExampleKey = (i64, String, u64);

/// One example failure, kept for the report.
#[derive(Clone, Debug)]
struct Example {
    key: ExampleKey,
    error: String,
    arn: Option<String>,
    session: Option<String>,
    instance_id: Option<String>,
    request_id: Option<String>,
    input: String,
    line: u64,
}

#[derive(Clone, Debug, Default)]
struct FailureAcc {
    count: u64,
    span: Span,
    principals: HashMap<String, Tally>,
    internal: u64,
    unattributed: u64,
    example: Option<Example>,
}

impl Merge for FailureAcc {
    fn merge(&mut self, later: FailureAcc) {
        let FailureAcc {
            count,
            span,
            principals,
            internal,
            unattributed,
            example,
        } = later;
        self.count.merge(count);
        self.span.merge(span);
        self.principals.merge(principals);
        self.internal.merge(internal);
        self.unattributed.merge(unattributed);
        self.example = pick_earliest(self.example.take(), example);
    }
}

/// The earliest example; at equal times the one that sorts first by its content, then by
/// where it was read, so that the example does not depend on the order lines were read in.
fn pick_earliest(a: Option<Example>, b: Option<Example>) -> Option<Example> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.rank() < a.rank() { b } else { a }),
        (a, b) => a.or(b),
    }
}

impl Example {
    #[allow(clippy::type_complexity)] // a tuple compares field by field, which is the point
    fn rank(
        &self,
    ) -> (
        i64,
        &str,
        Option<&str>,
        Option<&str>,
        Option<&str>,
        Option<&str>,
        &ExampleKey,
    ) {
        (
            self.key.0,
            &self.error,
            self.arn.as_deref(),
            self.session.as_deref(),
            self.instance_id.as_deref(),
            self.request_id.as_deref(),
            &self.key,
        )
    }
}

#[derive(Clone, Debug, Default)]
struct PrincipalAcc {
    usernames: BTreeMap<String, u64>,
    granted: u64,
    denied: u64,
    denied_by_class: BTreeMap<Class, u64>,
    span: Span,
    internal: bool,
    /// Whether the ARN itself is an EKS-internal one, worked out on the first grant (parsing
    /// the ARN on every grant showed in profiles). A cache: not merged, not reported.
    arn_internal: Option<bool>,
    /// The unique ids (`uid=`) this ARN was granted under, with when: a later denial under
    /// another id means the principal was deleted and re-created.
    ids: BTreeMap<String, Span>,
}

// `Merge::merge(&mut map, …)` on `BTreeMap`s: std has an unstable `BTreeMap::merge`.
impl Merge for PrincipalAcc {
    fn merge(&mut self, later: PrincipalAcc) {
        let PrincipalAcc {
            usernames,
            granted,
            denied,
            denied_by_class,
            span,
            internal,
            arn_internal: _,
            ids,
        } = later;
        Merge::merge(&mut self.usernames, usernames);
        self.granted.merge(granted);
        self.denied.merge(denied);
        Merge::merge(&mut self.denied_by_class, denied_by_class);
        self.span.merge(span);
        self.internal |= internal;
        Merge::merge(&mut self.ids, ids);
    }
}

/// A not-mapped denial whose sub-class is decided at the end, when all history is known.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct NotMappedKey {
    arn: Option<String>,
    userid: Option<String>,
    instance_session: bool,
}

#[derive(Clone, Debug, Default)]
struct NotMappedAcc {
    count: u64,
    span: Span,
    hours: BTreeMap<i64, u64>,
    internal: bool,
    example: Option<Example>,
}

impl Merge for NotMappedAcc {
    fn merge(&mut self, later: NotMappedAcc) {
        let NotMappedAcc {
            count,
            span,
            hours,
            internal,
            example,
        } = later;
        self.count.merge(count);
        self.span.merge(span);
        Merge::merge(&mut self.hours, hours);
        self.internal |= internal;
        self.example = pick_earliest(self.example.take(), example);
    }
}

/// What a denial still needs once its place in time gives it a response (or none).
#[derive(Clone, Debug)]
enum Pending {
    /// A not-mapped denial: its sub-class key and example need the response.
    NotMapped {
        arn: Option<String>,
        time: Option<i64>,
        internal: bool,
        example: Example,
    },
    /// A denial of a settled class, already counted: its example shows the session.
    Example { class: Class, example: Example },
}

const HOUR_MS: i64 = 3_600_000;

/// Mergeable analysis state. Feed it evidence with [`Analyzer::add`].
#[derive(Debug, Default)]
pub struct Analyzer {
    opts: Options,
    /// Line accounting.
    pub accounting: Accounting,
    span: Span,
    failures: HashMap<Class, FailureAcc>,
    hours: HashMap<(i64, Class), u64>,
    principals: HashMap<String, PrincipalAcc>,
    creator: creator::Evidence,
    static_roles: BTreeSet<String>,
    not_mapped: HashMap<NotMappedKey, NotMappedAcc>,
    corr: Correlator<Box<Pending>>,
    /// Read-order pairing, only for the `sts` of [`Verdict`]s (`events` prints each line as
    /// it is read, before its place in time is known); see [`Analyzer::pair_verdicts`].
    verdicts: Option<HashMap<Key, Option<Sts>>>,
    filtered_out: u64,
    /// Keeps no state per principal (see [`Analyzer::for_events`]).
    lean: bool,
    /// Audit events, and the denials without identity waiting for their 401s.
    audit: AuditAcc,
}

impl Analyzer {
    /// Where the 401s of the denials without identity read so far can be, per input, at
    /// most `max` windows each: the audit windows a CloudWatch source queries after the
    /// authenticator pass.
    pub fn audit_search_windows(&self, max: usize) -> crate::audit::join::SearchWindows {
        self.audit.search_windows(max)
    }

    /// A fresh analyzer with these options. It settles pairs itself, through a sort window
    /// of [`correlate::SORT_WINDOW`] events; a piece of input smaller than that can still be
    /// [merged](Merge) into another analyzer exactly.
    pub fn new(opts: Options) -> Analyzer {
        Analyzer {
            opts,
            ..Analyzer::default()
        }
    }

    /// An analyzer for `events`, which streams: it keeps the line accounting, failure counts
    /// by class (with one example each) and the STS pairing the records need, and nothing per
    /// principal (no principals, creator evidence, per-principal failure counts or not-mapped
    /// history), so its memory does not grow with the number of identities. Not-mapped
    /// denials stay under their base class `identity_not_mapped`, as the records show them.
    pub fn for_events(opts: Options) -> Analyzer {
        Analyzer {
            lean: true,
            ..Analyzer::new(opts)
        }
    }

    /// An analyzer for a chunk of an input that will be merged, in input order, into
    /// another: it only collects its correlation events, which the analyzer it merges into
    /// settles, so the result does not depend on where the input was cut. Holds every
    /// response, grant and denial of the chunk until then.
    pub fn piece(opts: Options) -> Analyzer {
        Analyzer {
            opts,
            corr: Correlator::collecting(),
            ..Analyzer::default()
        }
    }

    /// Uses a sort window of `events` correlation events instead of the default.
    pub fn with_sort_window(mut self, events: usize) -> Analyzer {
        self.corr = Correlator::with_window(events);
        self
    }

    /// Also pairs in read order, for the `sts` of each [`Verdict`] (`events`).
    pub fn pair_verdicts(&mut self) {
        self.verdicts.get_or_insert_with(HashMap::default);
    }

    /// Ends one input: its sort window is settled, and the next input decides its own
    /// direction (see [`correlate`]). Without this call, inputs run together as one.
    pub fn end_input(&mut self) {
        self.corr.end_input();
        self.take_settled();
    }

    /// Applies the denials the correlator settled.
    #[inline]
    fn take_settled(&mut self) {
        if self.corr.settled().is_empty() {
            return;
        }
        let mut done = std::mem::take(self.corr.settled());
        for (p, sts) in done.drain(..) {
            self.settle(*p, sts);
        }
        *self.corr.settled() = done;
    }

    fn settle(&mut self, p: Pending, sts: Option<Sts>) {
        match p {
            Pending::NotMapped {
                arn,
                time,
                internal,
                example,
            } => self.add_not_mapped(arn, sts.as_ref(), time, internal, example),
            Pending::Example { class, mut example } => {
                example.session = sts.as_ref().and_then(|s| s.session()).map(str::to_owned);
                let acc = self.failures.entry(class).or_default();
                acc.example = pick_earliest(acc.example.take(), Some(example));
            }
        }
    }

    /// Hands a correlation event to the correlator, and applies what it settled.
    #[inline]
    fn correlate(&mut self, e: &Event<'_>, key: Key, role: Role<Box<Pending>>) {
        self.corr.push(key, when(e), role);
        self.take_settled();
    }

    /// Takes one piece of evidence. Returns what the analyzer made of an event (class and
    /// pairing) for callers that also print events.
    #[inline]
    pub fn add(&mut self, evidence: Evidence<'_, '_>) -> Option<Verdict> {
        match evidence {
            Evidence::Event(e) => self.event(e),
            Evidence::Audit(e) => self.audit_event(e).then(Verdict::default),
            Evidence::Aggregate(a) => {
                self.aggregate(a);
                None
            }
            Evidence::AuditForbidden(a) => {
                if self.audit_aggregate(a.canonical_arn, a.username, a.count, a.first_ms, a.last_ms)
                {
                    self.audit.add_forbidden(a);
                }
                None
            }
            Evidence::AuditIdentity(a) => {
                if self.audit_aggregate(
                    Some(a.canonical_arn),
                    a.username,
                    a.count,
                    a.first_ms,
                    a.last_ms,
                ) {
                    self.audit.add_identity(a);
                }
                None
            }
            Evidence::Unparsed { error, input, line } => {
                self.accounting.reject(error, input, line);
                None
            }
            Evidence::CloudTrail {
                record,
                input,
                line,
            } => {
                // Counted like any record that is not an authenticator line; never windowed:
                // the cluster was created long before the logs read.
                let error = crate::parse::ParseError {
                    offset: 0,
                    kind: crate::parse::ParseErrorKind::CloudTrail,
                };
                self.accounting.reject(error, input, line);
                self.creator.add_cloudtrail(input, record);
                None
            }
        }
    }

    /// Takes one parsed event.
    fn event(&mut self, e: &Event<'_>) -> Option<Verdict> {
        let in_window = self.opts.in_window(e.time_ms);
        let (in_window, skew) = match self.opts.window_applied_by_source {
            true => (true, !in_window),
            false => (in_window, false),
        };
        self.accounting.window_skew += u64::from(skew);
        self.accounting.accept(e.kind, in_window);
        self.accounting.implausible_time += u64::from(e.time_rejected);
        if !in_window {
            return None;
        }
        self.span.add(e.time_ms);
        match e.kind {
            Kind::StsResponse => {
                let key = corr_key(e);
                let sts = Sts::new([
                    e.arn().as_deref(),
                    e.session().as_deref(),
                    e.userid().as_deref(),
                    e.accesskeyid().as_deref(),
                ]);
                if let Some(v) = &mut self.verdicts {
                    v.insert(key, Some(sts.clone()));
                }
                self.correlate(e, key, Role::Response(sts));
                Some(Verdict::default())
            }
            Kind::AccessGranted => self.grant(e),
            Kind::AccessDenied => self.deny(e),
            Kind::Mapping => {
                if self.lean {
                    return Some(Verdict::default());
                }
                let arn = e.mapping_arn();
                if e.record.msg_raw() == "mapping IAM role"
                    && let Some(a) = &arn
                {
                    self.static_roles.insert(a.to_string());
                }
                if let (Some(a), Some(u)) = (&arn, e.username())
                    && u == creator::ADMIN
                {
                    self.creator.add_mapping(a, e);
                }
                Some(Verdict::default())
            }
            // Audit events come as `Evidence::Audit`, never as a parsed line.
            Kind::Audit => Some(Verdict::default()),
            Kind::Lifecycle | Kind::Other => {
                let level = e.level().map_or("", |l| l.as_str());
                let Some(class) = classify::classify_message(level, &e.msg()) else {
                    return Some(Verdict::default());
                };
                // These failures name no principal: `--principal` leaves them out.
                if !self.opts.keeps_principal(None, None) {
                    self.filtered_out += 1;
                    return None;
                }
                let example = self.example(e, None, None);
                let acc = self.failures.entry(class).or_default();
                acc.count += 1;
                acc.unattributed += 1;
                acc.span.add(e.time_ms);
                acc.example = pick_earliest(acc.example.take(), Some(example));
                self.hour(e.time_ms, class);
                Some(Verdict {
                    class: Some(class),
                    sts: None,
                })
            }
        }
    }

    /// Takes one kube-apiserver audit event; says whether the window and `--principal` kept
    /// it.
    fn audit_event(&mut self, e: &AuditEvent<'_>) -> bool {
        let t = e.time_ms();
        let in_window = self.opts.in_window(t);
        let (in_window, skew) = match self.opts.window_applied_by_source {
            true => (true, !in_window),
            false => (in_window, false),
        };
        self.accounting.window_skew += u64::from(skew);
        self.accounting.accept(Kind::Audit, in_window);
        if !in_window {
            return false;
        }
        if !self.opts.keeps_principal(e.canonical_arn(), e.username()) {
            self.filtered_out += 1;
            return false;
        }
        self.span.add(t);
        // `events` streams each audit event as it reads it and keeps no identity map.
        if !self.lean {
            self.audit.add(e);
        }
        true
    }

    /// Counts `n` audit events a source aggregated (inside its window); says whether
    /// `--principal` keeps them.
    fn audit_aggregate(
        &mut self,
        arn: Option<&str>,
        username: Option<&str>,
        n: u64,
        first: Option<i64>,
        last: Option<i64>,
    ) -> bool {
        self.accounting.accept_aggregated(Kind::Audit, n);
        if !self.opts.keeps_principal(arn, username) {
            self.filtered_out += n;
            return false;
        }
        self.span.merge(Span { first, last });
        // `events` keeps no audit state (see `audit_event`).
        !self.lean
    }

    /// Takes a server-side aggregate. Its lines count as parsed events; it adds to failures,
    /// principals and the creator, but not to the timeline, which needs each line's time.
    fn aggregate(&mut self, a: &Aggregate<'_>) {
        let kind = if a.granted {
            Kind::AccessGranted
        } else {
            Kind::AccessDenied
        };
        let span = Span {
            first: a.first_ms,
            last: a.last_ms,
        };
        if !self.opts.keeps_principal(a.arn, a.username) {
            self.accounting.accept_aggregated(kind, a.count);
            self.filtered_out += a.count;
            return;
        }
        self.accounting.accept_aggregated(kind, a.count);
        self.span.merge(span);
        let internal = is_internal(a.arn, a.username);
        if let Some(arn) = a.arn {
            let p = self.principals.entry(arn.to_owned()).or_default();
            p.span.merge(span);
            p.internal |= internal;
            if a.granted {
                p.granted += a.count;
                if let Some(u) = a.username {
                    *p.usernames.entry(u.to_owned()).or_default() += a.count;
                }
            } else {
                p.denied += a.count;
            }
        }
        if a.granted {
            if a.username == Some(creator::ADMIN)
                && let Some(arn) = a.arn
            {
                self.creator.add_grants(arn, a.count, span);
            }
            return;
        }
        // The aggregate query cuts errors before an STS body; put the code back so the
        // classifier sees what it would have seen in the line.
        let error = match (a.error, a.sts_code) {
            (Some(e), Some(code)) if !e.contains(code) => {
                format!("{e}{{\"Error\":{{\"Code\":\"{code}\"}}}}")
            }
            (e, _) => e.unwrap_or_default().to_owned(),
        };
        let denial = classify::classify_denial(&error);
        let arn = a
            .arn
            .map(str::to_owned)
            .or_else(|| denial.arn.map(str::to_owned));
        let example = Example {
            key: (a.first_ms.unwrap_or(i64::MAX), String::new(), 0),
            error: error.clone(),
            arn: arn.clone(),
            session: None,
            instance_id: denial.instance_id.map(str::to_owned),
            request_id: None,
            input: "cloudwatch aggregate".to_owned(),
            line: 0,
        };
        if denial.class == Class::IdentityNotMapped {
            let key = NotMappedKey {
                arn,
                userid: None,
                instance_session: false,
            };
            let acc = self.not_mapped.entry(key).or_default();
            acc.count += a.count;
            acc.span.merge(span);
            acc.internal |= internal;
            acc.example = pick_earliest(acc.example.take(), Some(example));
            return;
        }
        if let Some(arn) = &arn {
            *self
                .principals
                .entry(arn.clone())
                .or_default()
                .denied_by_class
                .entry(denial.class)
                .or_default() += a.count;
        }
        let f = self.failures.entry(denial.class).or_default();
        f.count += a.count;
        f.span.merge(span);
        match (&arn, internal) {
            (Some(_), true) => f.internal += a.count,
            (Some(arn), false) => f
                .principals
                .entry(arn.clone())
                .or_default()
                .add(a.count, span),
            (None, _) => f.unattributed += a.count,
        }
        f.example = pick_earliest(f.example.take(), Some(example));
    }

    fn grant(&mut self, e: &Event<'_>) -> Option<Verdict> {
        let key = corr_key(e);
        let arn = e.arn();
        let username = e.username();
        if !self
            .opts
            .keeps_principal(arn.as_deref(), username.as_deref())
        {
            self.filtered_out += 1;
            return None;
        }
        let sts = self.verdict_sts(key);
        self.correlate(e, key, Role::Grant);
        if self.lean {
            return Some(Verdict { class: None, sts });
        }
        if let Some(arn) = &arn {
            // One hash per line; the owned key is built only for a new principal (grants repeat
            // a few dozen principals millions of times).
            let p = self.principals.entry_ref(arn.as_ref()).or_default();
            // `is_internal`, with the ARN half parsed once per principal.
            let internal = is_internal(None, username.as_deref())
                || *p
                    .arn_internal
                    .get_or_insert_with(|| is_internal(Some(arn), None));
            p.granted += 1;
            p.span.add(e.time_ms);
            p.internal |= internal;
            if let Some(u) = &username {
                match p.usernames.get_mut(u.as_ref()) {
                    Some(n) => *n += 1,
                    None => {
                        p.usernames.insert(u.to_string(), 1);
                    }
                }
            }
            if let Some(uid) = e.uid_raw().and_then(Uid::parse) {
                match p.ids.get_mut(uid.principal_id) {
                    Some(span) => span.add(e.time_ms),
                    None => {
                        let mut span = Span::default();
                        span.add(e.time_ms);
                        p.ids.insert(uid.principal_id.to_owned(), span);
                    }
                }
            }
        }
        if username.as_deref() == Some(creator::ADMIN)
            && let Some(arn) = &arn
        {
            self.creator.add_grant(arn, e);
        }
        Some(Verdict { class: None, sts })
    }

    fn deny(&mut self, e: &Event<'_>) -> Option<Verdict> {
        let error = e.error().unwrap_or_default();
        let denial = classify::classify_denial(&error);
        let arn = e
            .arn()
            .map(|a| a.into_owned())
            .or_else(|| denial.arn.map(str::to_owned));
        if !self.opts.keeps_principal(arn.as_deref(), None) {
            self.filtered_out += 1;
            return None;
        }
        let key = corr_key(e);
        let sts = self.verdict_sts(key);
        let internal = is_internal(arn.as_deref(), None);
        // The session comes with the response the denial pairs with in time.
        let example = self.example(e, None, Some(&denial));
        let principal = arn.as_deref().filter(|_| !self.lean).map(|a| {
            let p = self.principals.entry_ref(a).or_default();
            p.denied += 1;
            p.span.add(e.time_ms);
            p.internal |= internal;
            p
        });
        if denial.class == Class::IdentityNotMapped && !self.lean {
            let pending = Pending::NotMapped {
                arn,
                time: e.time_ms,
                internal,
                example,
            };
            self.correlate(e, key, Role::Denial(Box::new(pending)));
            // The sub-class is decided at the end; events see the base class.
            return Some(Verdict {
                class: Some(Class::IdentityNotMapped),
                sts,
            });
        }
        let class = denial.class;
        if let Some(p) = principal {
            *p.denied_by_class.entry(class).or_default() += 1;
        }
        let acc = self.failures.entry(class).or_default();
        acc.count += 1;
        acc.span.add(e.time_ms);
        match (&arn, internal) {
            (Some(_), true) => acc.internal += 1,
            (Some(_), false) if self.lean => {}
            (Some(a), false) => acc.principals.entry(a.clone()).or_default().add(
                1,
                Span {
                    first: e.time_ms,
                    last: e.time_ms,
                },
            ),
            (None, _) => acc.unattributed += 1,
        }
        self.hour(e.time_ms, class);
        if arn.is_none() && !self.lean && crate::audit::joinable(class) {
            self.audit.deny(e.time_ms, class, e.loc);
        }
        let pending = Pending::Example { class, example };
        self.correlate(e, key, Role::Denial(Box::new(pending)));
        Some(Verdict {
            class: Some(class),
            sts,
        })
    }

    /// The read-order response for a [`Verdict`], when asked for.
    fn verdict_sts(&mut self, key: Key) -> Option<Sts> {
        let v = self.verdicts.as_mut()?;
        v.insert(key, None).flatten()
    }

    fn add_not_mapped(
        &mut self,
        arn: Option<String>,
        sts: Option<&Sts>,
        time: Option<i64>,
        internal: bool,
        mut example: Example,
    ) {
        let session = sts.and_then(|s| s.session()).map(str::to_owned);
        let key = NotMappedKey {
            arn,
            userid: sts.and_then(|s| s.userid()).map(str::to_owned),
            instance_session: session
                .as_deref()
                .is_some_and(classify::is_instance_session),
        };
        if example.session.is_none() {
            example.session = session;
        }
        let acc = self.not_mapped.entry(key).or_default();
        acc.count += 1;
        acc.span.add(time);
        acc.internal |= internal;
        if let Some(t) = time {
            *acc.hours
                .entry(t.div_euclid(HOUR_MS) * HOUR_MS)
                .or_default() += 1;
        }
        acc.example = pick_earliest(acc.example.take(), Some(example));
    }

    fn hour(&mut self, t: Option<i64>, class: Class) {
        if let Some(t) = t {
            *self
                .hours
                .entry((t.div_euclid(HOUR_MS) * HOUR_MS, class))
                .or_default() += 1;
        }
    }

    fn example(
        &self,
        e: &Event<'_>,
        sts: Option<&Sts>,
        denial: Option<&classify::Denial<'_>>,
    ) -> Example {
        Example {
            key: (
                e.time_ms.unwrap_or(i64::MAX),
                e.loc.input.to_owned(),
                e.loc.line,
            ),
            error: e
                .error()
                .map_or_else(|| e.msg().into_owned(), |x| x.into_owned()),
            arn: e.arn().map(Into::into),
            session: sts.and_then(|s| s.session()).map(str::to_owned),
            instance_id: denial.and_then(|d| d.instance_id).map(str::to_owned),
            request_id: denial
                .and_then(|d| d.sts.and_then(|s| s.request_id))
                .map(str::to_owned),
            input: e.loc.input.to_owned(),
            line: e.loc.line,
        }
    }

    /// Settles what needed all the history (not-mapped sub-classes) and builds the report.
    pub fn finish(mut self) -> Report {
        self.corr.finish();
        self.take_settled();
        let statics: Vec<&str> = self.static_roles.iter().map(String::as_str).collect();
        let mut failures = std::mem::take(&mut self.failures);
        let mut hours = std::mem::take(&mut self.hours);
        let mut not_mapped: Vec<_> = std::mem::take(&mut self.not_mapped).into_iter().collect();
        not_mapped.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, acc) in not_mapped {
            let first_deny = acc.span.first;
            // A grant for the same ARN under another unique id, before this denial.
            let earlier = key
                .arn
                .as_ref()
                .and_then(|a| self.principals.get(a))
                .and_then(|p| {
                    p.ids
                        .iter()
                        .filter(|(id, span)| {
                            Some(id.as_str()) != key.userid.as_deref()
                                && span.first.zip(first_deny).is_none_or(|(g, d)| g <= d)
                        })
                        .map(|(id, _)| id.as_str())
                        .next()
                });
            let session = acc
                .example
                .as_ref()
                .and_then(|x| x.session.as_deref())
                .filter(|_| key.instance_session);
            let class = classify::refine_not_mapped(
                key.arn.as_deref(),
                session,
                earlier,
                key.userid.as_deref(),
                &statics,
            );
            if let Some(a) = &key.arn {
                *self
                    .principals
                    .entry(a.clone())
                    .or_default()
                    .denied_by_class
                    .entry(class)
                    .or_default() += acc.count;
            }
            let f = failures.entry(class).or_default();
            f.count += acc.count;
            f.span.merge(acc.span);
            match (&key.arn, acc.internal) {
                (Some(_), true) => f.internal += acc.count,
                (Some(a), false) => f
                    .principals
                    .entry(a.clone())
                    .or_default()
                    .add(acc.count, acc.span),
                (None, _) => f.unattributed += acc.count,
            }
            f.example = pick_earliest(f.example.take(), acc.example);
            for (h, n) in acc.hours {
                *hours.entry((h, class)).or_default() += n;
            }
        }
        output::build(self, failures, hours)
    }
}

/// Appends the analysis of the input (or chunk) that follows this one. Merging in input order
/// gives the same result as one analyzer reading everything.
impl Merge for Analyzer {
    fn merge(&mut self, later: Analyzer) {
        let Analyzer {
            // Both sides ran with the job's options.
            opts: _,
            accounting,
            span,
            failures,
            hours,
            principals,
            creator,
            static_roles,
            not_mapped,
            corr,
            verdicts,
            filtered_out,
            // Both sides were made by the same constructor.
            lean: _,
            audit,
        } = later;
        self.accounting.merge(accounting);
        self.span.merge(span);
        self.failures.merge(failures);
        self.hours.merge(hours);
        self.principals.merge(principals);
        self.creator.merge(creator);
        self.static_roles.merge(static_roles);
        self.not_mapped.merge(not_mapped);
        self.filtered_out.merge(filtered_out);
        // The later side's correlation events, in its read order, continue this side's: its
        // denials are settled here, as in one pass.
        self.corr.append(corr);
        self.take_settled();
        // Read-order pairing (verdicts) is only ever asked of an analyzer fed in one pass.
        if let (Some(v), Some(later)) = (&mut self.verdicts, verdicts) {
            v.extend(later);
        }
        self.audit.merge(audit);
    }
}

/// What the analyzer made of one event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The failure class (for not-mapped denials, the base class: sub-classes need history).
    pub class: Option<Class>,
    /// The paired `STS response`, for grants and denials.
    pub sts: Option<Sts>,
}

/// When an event happened, for placing it in time: `time=` (or the envelope's time), then
/// the envelope's milliseconds, the finest time the input has.
fn when(e: &Event<'_>) -> Option<When> {
    let time = e.time_ms?;
    let fine = e
        .envelope
        .timestamp_ms
        .filter(|&t| crate::time::plausible(t))
        .unwrap_or(time);
    Some(When { time, fine })
}

fn corr_key(e: &Event<'_>) -> Key {
    let stream = e.envelope.stream.unwrap_or(e.loc.input);
    correlate::key(stream, e.client().as_deref().unwrap_or(""))
}

/// EKS's own identities: `eks:*` usernames and the `AWSWesleyClusterManagerLambda-*` roles.
pub fn is_internal(arn: Option<&str>, username: Option<&str>) -> bool {
    username.is_some_and(|u| u.starts_with("eks:"))
        || arn
            .and_then(|a| Arn::parse(a).ok())
            .is_some_and(|a| a.is_eks_internal())
}

#[cfg(test)]
mod tests;
