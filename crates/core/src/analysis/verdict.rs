//! The creator's one answer from every source: the authenticator and audit logs
//! (`creator`), CloudTrail's CreateCluster calls, the access configuration (the creator's
//! access entry) and IAM (does the principal still exist), weighed by fixed rules.
//!
//! Evidence per identity, strongest first:
//!
//! 3. `cloudtrail_create_cluster`: CloudTrail's record of the CreateCluster call for this
//!    cluster, the authoritative answer to who called it;
//! 2. `mapping_static` (the mapping EKS writes for the creator, logged at every authenticator
//!    start), and `access_entry_bootstrap` for the entry of the CreateCluster caller when
//!    `bootstrapClusterCreatorAdminPermissions` is true (EKS created it for the caller);
//! 1. `access_entry_bootstrap` for an entry created with the cluster (within
//!    [`WITH_CLUSTER_MS`] of its `createdAt`) with `AmazonEKSClusterAdminPolicy` at cluster
//!    scope: what EKS's bootstrap and IaC tools that disable it (the terraform-aws-eks module
//!    since v20 creates such an entry for its caller) both leave;
//! 0. `access_granted`, `audit_kubernetes_admin`: logins as `kubernetes-admin`, which anyone
//!    mapped to that name in aws-auth also makes.
//!
//! `found` when one identity has the strongest evidence and, below CloudTrail, no other
//! identity has any; `ambiguous` otherwise, with `likely_creator` on the one with the
//! strongest evidence when it is alone at that level. A CloudTrail call outweighs every
//! access entry and login (an entry missing for it is a finding, not a contradiction), but
//! not a static mapping of another identity: those two disagreeing is `ambiguous`. The
//! cluster's service role (`roleArn`) is never a candidate, and calls that name another
//! cluster, another region, or a cluster of the same name created at another time are left
//! out and counted.

use std::borrow::Cow;

use serde::Serialize;

use crate::access::{AccessConfig, IamCheck, Mode, iam};
use crate::classify::Arn;
use crate::cloudtrail::{Counts, CreateCall, Record};
use crate::time::{format_ms, parse_timestamp_ms};

use super::creator::{CreatorStatus, Evidence, Identity, key};
use super::output::{Creator, CreatorIdentity, account_of};
use super::recovery;

/// An access entry created this soon after the cluster counts as created with it (EKS makes
/// the bootstrap entry while the cluster is `CREATING`, about ten minutes).
pub const WITH_CLUSTER_MS: i64 = 30 * 60 * 1000;

/// A CreateCluster call this far from the cluster's `createdAt` is for another cluster of the
/// same name (deleted and created again).
pub const SAME_CLUSTER_MS: i64 = 60 * 60 * 1000;

/// The evidence kinds, in the order an identity lists them.
pub const KINDS: [&str; 5] = [
    "mapping_static",
    "access_granted",
    "audit_kubernetes_admin",
    "access_entry_bootstrap",
    "cloudtrail_create_cluster",
];

/// What the creator's answer is built from; kept in the report so that the access
/// configuration, more CloudTrail events and IAM's answers can join after the logs.
#[derive(Clone, Debug, Default)]
pub struct Basis {
    pub(super) ev: Evidence,
    pub(super) cluster: Option<String>,
    pub(super) region: Option<String>,
    /// Authenticator lines parsed (audit events not included).
    pub(super) log_lines: u64,
    /// Audit events read.
    pub(super) audit_events: u64,
    /// Whether identities logged in with ARN-style usernames (access entries).
    pub(super) arn_usernames: bool,
    pub(super) access: Option<AccessConfig>,
    pub(super) iam: Option<Vec<IamCheck>>,
    pub(super) sources: Vec<SourceUse>,
}

/// One source of creator evidence, what it was and what it cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceUse {
    /// `authenticator_log`, `audit_log`, `access_config`, `cloudtrail` or `iam`.
    pub source: &'static str,
    /// Where: file names, an API (`cloudtrail:LookupEvents`), a log group; null for the
    /// inputs read, or when nothing was.
    pub via: Option<String>,
    /// `used` (it gave evidence), `nothing_found`, `not_available`, `skipped` or `failed`.
    pub status: SourceStatus,
    /// Records read from it (lines, events, entries, principals asked).
    pub records: Option<u64>,
    /// API calls made for it.
    pub api_calls: Option<u64>,
    /// Bytes Logs Insights scanned for it.
    pub bytes_scanned: Option<u64>,
    /// Bytes the query was estimated to scan before it ran (`| estimate`, else the log
    /// group's `storedBytes`), what the scan budget admitted; only for a Logs Insights query
    /// with a budget (a trail's log group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_bytes: Option<u64>,
    /// One sentence.
    pub detail: String,
}

/// What became of a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceStatus {
    /// It gave evidence.
    Used,
    /// It was read and named no creator.
    NothingFound,
    /// Nothing of it was given or could be read.
    NotAvailable,
    /// Not asked for (a `--no-…` flag).
    Skipped,
    /// Reading it failed.
    Failed,
}

/// An access entry that is creator evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryEvidence {
    /// `principalArn`.
    pub principal_arn: String,
    /// `type`.
    pub kind: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `createdAt`.
    pub created_at: Option<String>,
    /// `caller` (the CreateCluster caller's entry, bootstrap on) or `created_with_cluster`.
    pub matched: &'static str,
}

/// One candidate while the evidence is weighed.
struct Cand<'a> {
    key: String,
    arn: String,
    log: Option<&'a Identity>,
    calls: Vec<&'a CreateCall>,
    entry: Option<EntryEvidence>,
}

impl Cand<'_> {
    fn tier(&self) -> u8 {
        if !self.calls.is_empty() {
            3
        } else if self.log.is_some_and(|l| l.mapping > 0)
            || self.entry.as_ref().is_some_and(|e| e.matched == "caller")
        {
            2
        } else if self.entry.is_some() {
            1
        } else {
            0
        }
    }

    fn has_static(&self) -> bool {
        self.log.is_some_and(|l| l.mapping > 0)
    }
}

/// The cluster facts the rules need.
struct Cluster<'a> {
    name: Option<&'a str>,
    region: Option<&'a str>,
    created_ms: Option<i64>,
    created: Option<&'a str>,
    bootstrap: Option<bool>,
    mode: Option<Mode>,
}

/// Epoch ms of a time as the AWS CLI or the API writes it: RFC 3339, or epoch seconds.
fn time_ms(s: &str) -> Option<i64> {
    parse_timestamp_ms(s).or_else(|| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f > 0.0 && *f < 1e11)
            .map(|f| (f * 1000.0) as i64)
    })
}

impl Basis {
    /// The creator section from everything gathered so far.
    pub(super) fn settle(&self) -> Creator {
        let info = self.access.as_ref().map(|a| &a.entries.cluster);
        let cluster = Cluster {
            name: self
                .cluster
                .as_deref()
                .or(info.and_then(|c| c.name.as_deref())),
            region: info
                .and_then(|c| c.region.as_deref())
                .or(self.region.as_deref()),
            created_ms: info.and_then(|c| c.created_at.as_deref()).and_then(time_ms),
            created: info.and_then(|c| c.created_at.as_deref()),
            bootstrap: info.and_then(|c| c.bootstrap_creator_admin),
            mode: info.and_then(|c| c.mode),
        };
        let mut reasons = Vec::new();
        let calls = self.calls_for(&cluster, &mut reasons);
        let mut service: Vec<String> = info
            .and_then(|c| c.role_arn.clone())
            .into_iter()
            .chain(calls.iter().filter_map(|c| c.service_role.clone()))
            .collect();
        service.sort();
        service.dedup();
        let service_keys: Vec<String> = service.iter().map(|s| key(s)).collect();

        let mut cands: Vec<Cand<'_>> = Vec::new();
        let at = |cands: &mut Vec<Cand<'_>>, k: &str| cands.iter().position(|c| c.key == k);
        for (k, id) in &self.ev.ids {
            cands.push(Cand {
                key: k.clone(),
                arn: id.arn.clone(),
                log: Some(id),
                calls: Vec::new(),
                entry: None,
            });
        }
        for call in &calls {
            let k = key(&call.creator_arn);
            match at(&mut cands, &k) {
                Some(i) => cands[i].calls.push(call),
                None => cands.push(Cand {
                    key: k,
                    arn: call.creator_arn.clone(),
                    log: None,
                    calls: vec![call],
                    entry: None,
                }),
            }
        }
        if let Some(cfg) = &self.access {
            self.entries(cfg, &cluster, &calls, &mut cands);
        }
        let before = cands.len();
        cands.retain(|c| !service_keys.contains(&c.key));
        if cands.len() < before {
            reasons.push(format!(
                "{} is the cluster's service role (roleArn), which EKS itself assumes: it is \
                 never the creator",
                service.join(", ")
            ));
        }

        let (status, likely) = decide(&cands);
        self.explain(&cands, status, likely, &cluster, &mut reasons);
        let mut identities: Vec<CreatorIdentity> = cands
            .iter()
            .enumerate()
            .map(|(i, c)| self.identity(c, likely == Some(i), &cluster))
            .collect();
        identities.sort_by(|a, b| {
            b.likely_creator
                .cmp(&a.likely_creator)
                .then(strength(b).cmp(&strength(a)))
                .then(a.canonical_arn.cmp(&b.canonical_arn))
        });
        let sources = self.sources(&calls, &identities);
        if status == CreatorStatus::NotFound {
            self.not_found(&sources, &cluster, &mut reasons);
        }
        let next_steps = if status == CreatorStatus::Found {
            Vec::new()
        } else {
            self.next_steps(&sources)
        };
        Creator {
            status,
            identities,
            reasons,
            next_steps,
            service_role: service.first().cloned(),
            sources,
            basis: Box::new(self.clone()),
        }
    }

    /// The CreateCluster calls of this cluster, each once; the others are counted in
    /// `reasons`.
    fn calls_for(&self, c: &Cluster<'_>, reasons: &mut Vec<String>) -> Vec<&CreateCall> {
        let mut seen: Vec<&str> = Vec::new();
        let (mut other, mut earlier) = (0, 0);
        let mut calls = Vec::new();
        for call in &self.ev.calls {
            if let Some(id) = call.event_id.as_deref() {
                if seen.contains(&id) {
                    continue;
                }
                seen.push(id);
            }
            let name = call.cluster_name.as_deref().or_else(|| {
                call.cluster_arn
                    .as_deref()
                    .and_then(|a| a.rsplit_once('/'))
                    .map(|(_, n)| n)
            });
            let other_name = matches!((c.name, name), (Some(want), Some(got)) if want != got);
            let other_region = matches!((c.region, call.region.as_deref()),
                (Some(want), Some(got)) if want != got);
            if other_name || other_region {
                other += 1;
                continue;
            }
            if let (Some(created), Some(t)) = (c.created_ms, call.time_ms())
                && (t - created).abs() > SAME_CLUSTER_MS
            {
                earlier += 1;
                continue;
            }
            calls.push(call);
        }
        if other > 0 {
            reasons.push(format!(
                "{other} CreateCluster call(s) for other clusters (another name or region) left out"
            ));
        }
        if earlier > 0 {
            reasons.push(format!(
                "{earlier} CreateCluster call(s) for {} more than an hour away from its \
                 createdAt {} left out: an earlier cluster of the same name",
                c.name.unwrap_or("this cluster"),
                c.created.unwrap_or_default()
            ));
        }
        calls
    }

    /// Access entries that are creator evidence (see the module's rules).
    fn entries<'a>(
        &self,
        cfg: &AccessConfig,
        c: &Cluster<'_>,
        calls: &[&'a CreateCall],
        cands: &mut Vec<Cand<'a>>,
    ) {
        if c.mode.is_some_and(|m| !m.reads_access_entries()) {
            return;
        }
        let callers: Vec<String> = calls.iter().map(|c| key(&c.creator_arn)).collect();
        for e in &cfg.entries.entries {
            let k = key(&e.principal_arn);
            let caller = c.bootstrap == Some(true) && callers.contains(&k);
            let admin = e
                .policies
                .as_ref()
                .is_some_and(|p| p.iter().any(|p| p.is_cluster_admin()));
            let standard = e.kind.as_deref().is_none_or(|t| t == "STANDARD");
            let with_cluster = match (c.created_ms, e.created_at.as_deref().and_then(time_ms)) {
                (Some(cl), Some(t)) => t >= cl - 60_000 && t - cl <= WITH_CLUSTER_MS,
                _ => false,
            };
            let matched = if caller {
                "caller"
            } else if admin && standard && with_cluster {
                "created_with_cluster"
            } else {
                continue;
            };
            let ev = EntryEvidence {
                principal_arn: e.principal_arn.clone(),
                kind: e.kind.clone(),
                username: e.username.clone(),
                created_at: e.created_at.clone(),
                matched,
            };
            match cands.iter().position(|c| c.key == k) {
                Some(i) => cands[i].entry = Some(ev),
                None => cands.push(Cand {
                    key: k,
                    arn: e.principal_arn.clone(),
                    log: None,
                    calls: Vec::new(),
                    entry: Some(ev),
                }),
            }
        }
    }

    fn identity(&self, c: &Cand<'_>, likely: bool, cluster: &Cluster<'_>) -> CreatorIdentity {
        let mut ids: Vec<String> = Vec::new();
        let mut groups = Vec::new();
        let mut span = super::Span::default();
        let (mut mapping, mut grants, mut audit) = (0, 0, 0);
        if let Some(l) = c.log {
            ids.extend(l.principal_ids.iter().cloned());
            groups.extend(l.groups.iter().cloned());
            span = l.span;
            (mapping, grants, audit) = (l.mapping, l.grants, l.audit);
        }
        for call in &c.calls {
            ids.extend(call.principal_id.clone());
            span.add(call.time_ms());
        }
        ids.sort();
        ids.dedup();
        let evidence: Vec<&'static str> = KINDS
            .iter()
            .zip([
                mapping > 0,
                grants > 0,
                audit > 0,
                c.entry.is_some(),
                !c.calls.is_empty(),
            ])
            .filter(|(_, has)| *has)
            .map(|(k, _)| *k)
            .collect();
        // A path-bearing ARN (CloudTrail's issuer, the entry) names the role IAM knows.
        let arn = c
            .calls
            .first()
            .map(|c| c.creator_arn.clone())
            .unwrap_or_else(|| c.arn.clone());
        let canonical =
            Arn::parse(&arn).map_or_else(|_| arn.clone(), |a| a.strip_path().into_owned());
        let person = c
            .calls
            .iter()
            .find(|c| !c.via_cloudformation())
            .and_then(|c| c.session.clone());
        let since = [cluster.created_ms, span.first].into_iter().flatten().min();
        let iam = self.iam.as_ref().and_then(|checks| {
            checks
                .iter()
                .find(|k| key(&k.arn) == c.key)
                .map(|k| iam::judge(k, &ids, since))
        });
        let recovery = iam.as_ref().map(|state| {
            recovery::plan(&recovery::Situation {
                arn: &arn,
                state,
                mode: cluster.mode,
                static_mapping: mapping > 0,
                has_entry: c.entry.is_some()
                    || self.access.as_ref().is_some_and(|a| {
                        a.entries
                            .entries
                            .iter()
                            .any(|e| key(&e.principal_arn) == c.key)
                    }),
                cluster: cluster.name.unwrap_or("<CLUSTER>"),
                region: cluster.region.unwrap_or("<REGION>"),
            })
        });
        CreatorIdentity {
            account: account_of(&canonical),
            principal_ids: ids,
            groups,
            evidence,
            count: mapping + grants + audit + c.calls.len() as u64 + u64::from(c.entry.is_some()),
            first_seen: span.first.map(format_ms),
            last_seen: span.last.map(format_ms),
            likely_creator: likely,
            person,
            create_cluster: c.calls.iter().map(|c| (*c).clone()).collect(),
            access_entry: c.entry.clone(),
            iam,
            recovery,
            canonical_arn: canonical,
            arn,
        }
    }
}

/// The sort order of identities after `likely_creator`.
fn strength(i: &CreatorIdentity) -> (bool, bool, bool, u64) {
    let has = |k: &str| i.evidence.contains(&k);
    (
        has("cloudtrail_create_cluster"),
        has("mapping_static"),
        has("access_entry_bootstrap"),
        i.count,
    )
}

/// The status, and which candidate (by index) is the likely creator.
fn decide(cands: &[Cand<'_>]) -> (CreatorStatus, Option<usize>) {
    let Some(top) = cands.iter().map(Cand::tier).max() else {
        return (CreatorStatus::NotFound, None);
    };
    let at_top: Vec<usize> = (0..cands.len())
        .filter(|&i| cands[i].tier() == top)
        .collect();
    let [one] = at_top[..] else {
        return (CreatorStatus::Ambiguous, None);
    };
    let found = if top == 3 {
        // CloudTrail outweighs entries and logins, not another static mapping.
        !cands
            .iter()
            .enumerate()
            .any(|(i, c)| i != one && c.has_static())
    } else {
        cands.len() == 1
    };
    let status = if found {
        CreatorStatus::Found
    } else {
        CreatorStatus::Ambiguous
    };
    // Logins as kubernetes-admin alone single no one out among several identities.
    let likely = (found || top > 0).then_some(one);
    (status, likely)
}

impl Basis {
    /// Reasons that explain the answer: disagreements and what each rule made of them.
    fn explain(
        &self,
        cands: &[Cand<'_>],
        status: CreatorStatus,
        likely: Option<usize>,
        cluster: &Cluster<'_>,
        reasons: &mut Vec<String>,
    ) {
        let Some(l) = likely.map(|i| &cands[i]) else {
            if status == CreatorStatus::Ambiguous
                && cands.iter().filter(|c| !c.calls.is_empty()).count() > 1
            {
                reasons.push(
                    "CloudTrail has CreateCluster calls by several principals for this cluster \
                     name: give the cluster's createdAt (aws eks describe-cluster JSON, or \
                     --cluster) to tell which created the cluster that exists now"
                        .to_owned(),
                );
            }
            return;
        };
        if let Some(call) = l.calls.first() {
            if call.via_cloudformation() {
                reasons.push(format!(
                    "CreateCluster was called through a CloudFormation stack: the creator is the \
                     identity the stack ran as, {} (its service role when the stack was given \
                     one), not the person who created the stack (see that stack's CreateStack \
                     event)",
                    l.arn
                ));
            } else if call.session.is_some() {
                // EKS maps the role without its path (aws-iam-authenticator
                // `pkg/arn/arn.go`, `Canonicalize`), as the identity's canonical ARN shows it.
                let role = Arn::parse(&call.creator_arn)
                    .map_or(Cow::Borrowed(call.creator_arn.as_str()), |a| a.strip_path());
                reasons.push(format!(
                    "CloudTrail: {} called CreateCluster; EKS maps the role {role}, so any \
                     session of it is the creator, and the session name (person) says who acted",
                    call.caller_arn.as_deref().unwrap_or_default(),
                ));
            }
            if cluster.bootstrap == Some(true)
                && cluster.mode.is_some_and(Mode::reads_access_entries)
                && self.access.as_ref().is_some_and(|a| a.entries.listed)
                && l.entry.is_none()
            {
                reasons.push(format!(
                    "bootstrapClusterCreatorAdminPermissions is true but the access entries read \
                     have none for {}: its entry was deleted (CloudTrail's record still stands)",
                    l.arn
                ));
            }
        }
        if l.entry
            .as_ref()
            .is_some_and(|e| e.matched == "created_with_cluster")
        {
            let why = if cluster.bootstrap == Some(false) {
                "bootstrapClusterCreatorAdminPermissions is false, so EKS made no entry for the \
                 creator: an admin entry created with the cluster is the one an IaC tool made \
                 for its caller (the terraform-aws-eks module does so since v20)"
            } else {
                "an admin entry created with the cluster is EKS's bootstrap entry for the \
                 creator, or one an IaC tool made with it"
            };
            reasons.push(format!("{}: {why}", l.arn));
        }
        for c in cands {
            if std::ptr::eq(c, l) {
                continue;
            }
            let what = if c.has_static() {
                "also has the static kubernetes-admin mapping EKS writes for the creator"
            } else if c.entry.is_some() {
                "has an admin access entry created with the cluster"
            } else {
                "logged in as kubernetes-admin (aws-auth can map anyone to that name)"
            };
            let verdict = if status == CreatorStatus::Found {
                "it can get in as an admin, but did not call CreateCluster"
            } else {
                "the evidence does not tell which created the cluster"
            };
            reasons.push(format!("{} {what}: {verdict}", c.arn));
        }
        if status == CreatorStatus::Ambiguous && l.tier() == 3 {
            reasons.push(
                "CloudTrail and the authenticator's static mapping name different identities: \
                 the cluster may have been created again under the same name, or the mapping \
                 comes from another cluster's logs; CloudTrail is the record of who called \
                 CreateCluster"
                    .to_owned(),
            );
        }
    }

    /// What was read, per source; the CLI's own entries (live reads, costs) replace the
    /// defaults built here for the same source.
    fn sources(&self, calls: &[&CreateCall], ids: &[CreatorIdentity]) -> Vec<SourceUse> {
        let with = |k: &str| ids.iter().any(|i| i.evidence.contains(&k));
        let use_of = |source, via: &str, status, records, detail: String| SourceUse {
            source,
            via: (!via.is_empty()).then(|| via.to_owned()),
            status,
            records,
            api_calls: None,
            bytes_scanned: None,
            estimated_bytes: None,
            detail,
        };
        let mut out = Vec::new();
        let logs = with("mapping_static") || with("access_granted");
        out.push(use_of(
            "authenticator_log",
            "",
            match (logs, self.log_lines) {
                (true, _) => SourceStatus::Used,
                (false, 0) => SourceStatus::NotAvailable,
                _ => SourceStatus::NothingFound,
            },
            Some(self.log_lines),
            match self.log_lines {
                0 => "no authenticator lines read".to_owned(),
                n => format!("{n} authenticator lines read"),
            },
        ));
        if self.audit_events > 0 {
            out.push(use_of(
                "audit_log",
                "",
                if with("audit_kubernetes_admin") {
                    SourceStatus::Used
                } else {
                    SourceStatus::NothingFound
                },
                Some(self.audit_events),
                format!("{} audit events read", self.audit_events),
            ));
        }
        out.push(match &self.access {
            Some(cfg) => {
                let mut via: Vec<&str> = Vec::new();
                for d in &cfg.documents {
                    if !via.contains(&d.source.as_str()) {
                        via.push(&d.source);
                    }
                }
                let entries = cfg.entries.entries.len() as u64;
                let mut u = use_of(
                    "access_config",
                    &via.join(", "),
                    if with("access_entry_bootstrap") {
                        SourceStatus::Used
                    } else {
                        SourceStatus::NothingFound
                    },
                    Some(entries),
                    format!(
                        "{entries} access entries read{}",
                        match cfg.entries.cluster.bootstrap_creator_admin {
                            Some(b) => format!("; bootstrapClusterCreatorAdminPermissions {b}"),
                            None => String::new(),
                        }
                    ),
                );
                u.api_calls = cfg.live.as_ref().map(|l| l.api_calls.total());
                u
            }
            None => use_of(
                "access_config",
                "",
                SourceStatus::NotAvailable,
                None,
                "no access configuration read (describe-cluster, list-access-entries JSON, or \
                 --cluster)"
                    .to_owned(),
            ),
        });
        if self.ev.trail.is_empty() {
            out.push(use_of(
                "cloudtrail",
                "",
                SourceStatus::NotAvailable,
                None,
                "no CloudTrail events read (lookup-events JSON, trail objects, or --cluster)"
                    .to_owned(),
            ));
        }
        for (via, counts) in &self.ev.trail {
            let here = calls.iter().filter(|c| c.source == *via).count();
            out.push(use_of(
                "cloudtrail",
                via,
                if here > 0 {
                    SourceStatus::Used
                } else {
                    SourceStatus::NothingFound
                },
                Some(counts.records),
                trail_detail(counts, here),
            ));
        }
        if let Some(checks) = &self.iam {
            out.push(use_of(
                "iam",
                "iam:GetRole, iam:GetUser",
                SourceStatus::Used,
                Some(checks.len() as u64),
                format!("{} principal(s) looked up", checks.len()),
            ));
        }
        for s in &self.sources {
            match out
                .iter()
                .position(|o| o.source == s.source && (o.via == s.via || o.via.is_none()))
            {
                Some(i) => out[i] = s.clone(),
                None => out.push(s.clone()),
            }
        }
        out
    }

    /// Why nothing was found: what was searched, and what was not available.
    fn not_found(&self, sources: &[SourceUse], c: &Cluster<'_>, reasons: &mut Vec<String>) {
        if self.arn_usernames {
            reasons.push("Identities logged in with ARN-style usernames: the cluster uses access entries, where the creator's entry authenticates under its ARN, not kubernetes-admin.".to_owned());
        } else if self.log_lines > 0 {
            reasons.push("The cluster may use access entries, where the creator authenticates under its ARN, not kubernetes-admin (or was created with bootstrapClusterCreatorAdminPermissions=false).".to_owned());
            reasons.push("The creator did not use kubectl in the window read, and no authenticator restart (static mapping lines) fell in it.".to_owned());
            reasons.push("The log group's retention dropped older lines, or authenticator logging was enabled after the creator's last login.".to_owned());
        }
        for s in sources {
            reasons.push(format!(
                "{} ({}): {}",
                s.source,
                match s.status {
                    SourceStatus::Used => "used",
                    SourceStatus::NothingFound => "searched, nothing found",
                    SourceStatus::NotAvailable => "not available",
                    SourceStatus::Skipped => "skipped",
                    SourceStatus::Failed => "failed",
                },
                s.detail
            ));
        }
        if c.created.is_some()
            && self
                .ev
                .trail
                .iter()
                .any(|(s, _)| s == crate::cloudtrail::LOOKUP_SOURCE)
        {
            reasons.push(format!(
                "CloudTrail Event history (LookupEvents) keeps 90 days; the cluster was created \
                 {}: an older CreateCluster is only in a trail (--trail-log-group, its S3 \
                 objects), CloudTrail Lake or Amazon Detective",
                c.created.unwrap_or_default()
            ));
        }
    }

    /// Commands that read the sources that were not available.
    fn next_steps(&self, sources: &[SourceUse]) -> Vec<String> {
        let cluster = self.cluster.as_deref().unwrap_or("<CLUSTER>");
        let region = self.region.as_deref().unwrap_or("<REGION>");
        let missing = |s: &str| {
            sources
                .iter()
                .filter(|u| u.source == s)
                .all(|u| u.status == SourceStatus::NotAvailable)
        };
        let mut steps = Vec::new();
        if missing("cloudtrail") {
            steps.push(format!("aws cloudtrail lookup-events --region {region} --lookup-attributes AttributeKey=EventName,AttributeValue=CreateCluster --output json > create-cluster.json   # last 90 days; then give the file to eks-authlog creator"));
        }
        if missing("access_config") || self.access.as_ref().is_some_and(|a| !a.entries.listed) {
            steps.push(format!(
                "aws eks list-access-entries --cluster-name {cluster} --region {region}"
            ));
        }
        if self
            .access
            .as_ref()
            .is_none_or(|a| a.entries.cluster.created_at.is_none())
        {
            steps.push(format!("aws eks describe-cluster --name {cluster} --region {region} --query cluster.accessConfig"));
        }
        steps
    }
}

/// `12 records: 1 EKS CreateCluster (1 for this cluster), 2 of other services, 1 failed`.
fn trail_detail(c: &Counts, here: usize) -> String {
    let mut parts = vec![format!(
        "{} EKS CreateCluster ({here} for this cluster)",
        c.create_cluster
    )];
    for (n, what) in [
        (c.other_service, "CreateCluster of other services (ECS, …)"),
        (c.failed, "failed CreateCluster"),
        (c.other_event, "other events"),
        (c.no_identity, "without a principal"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    format!("{} CloudTrail records: {}", c.records, parts.join(", "))
}

impl Creator {
    /// Joins the cluster's access configuration (its creator entry, createdAt, the service
    /// role, the mode) and answers again.
    pub fn join_access(&mut self, cfg: &AccessConfig) {
        let mut b = std::mem::take(&mut self.basis);
        b.access = Some(cfg.clone());
        *self = b.settle();
    }

    /// Joins CloudTrail records read after the logs (LookupEvents, a trail's log group),
    /// `source` naming where, and answers again.
    pub fn join_cloudtrail(&mut self, source: &str, records: &[Record]) {
        let mut b = std::mem::take(&mut self.basis);
        if records.is_empty() && !b.ev.trail.iter().any(|(s, _)| s == source) {
            b.ev.trail.push((source.to_owned(), Counts::default()));
        }
        for r in records {
            b.ev.add_cloudtrail(source, r);
        }
        *self = b.settle();
    }

    /// Joins IAM's answers for the identities and answers again, with a recovery path each.
    pub fn join_iam(&mut self, checks: Vec<IamCheck>) {
        let mut b = std::mem::take(&mut self.basis);
        b.iam = Some(checks);
        *self = b.settle();
    }

    /// Records what a source was and cost (a live read, a query); replaces the default
    /// entry for the same source.
    pub fn join_source(&mut self, source: SourceUse) {
        let mut b = std::mem::take(&mut self.basis);
        b.sources
            .retain(|s| !(s.source == source.source && s.via == source.via));
        b.sources.push(source);
        *self = b.settle();
    }

    /// The ARNs IAM should be asked about: the likely creator, or every identity when none
    /// is likely (at most `max`).
    pub fn principals_to_check(&self, max: usize) -> Vec<String> {
        let likely: Vec<String> = self
            .identities
            .iter()
            .filter(|i| i.likely_creator)
            .map(|i| i.arn.clone())
            .collect();
        if !likely.is_empty() {
            return likely;
        }
        self.identities
            .iter()
            .take(max)
            .map(|i| i.arn.clone())
            .collect()
    }

    /// The cluster's creation time, when the access configuration gave it (epoch ms).
    pub fn cluster_created_ms(&self) -> Option<i64> {
        self.basis
            .access
            .as_ref()
            .and_then(|a| a.entries.cluster.created_at.as_deref())
            .and_then(time_ms)
    }
}

#[cfg(test)]
mod tests;
