//! The cluster creator: the IAM identity EKS maps to `kubernetes-admin`
//! (`docs/authenticator-log.md#cluster-creator`).
//!
//! Two kinds of evidence: the startup `mapping IAM user|role` line with
//! `username=kubernetes-admin` (the static mapping EKS writes for the creator; best signal),
//! and `access granted` with exactly `username=kubernetes-admin` (not
//! `kubernetes-admin:<session>`). Anyone can map another principal to `kubernetes-admin` in
//! aws-auth, so several identities are all reported, never one picked silently. With audit
//! events, requests made as `kubernetes-admin` name the creator's canonical ARN too
//! (`user.extra.canonicalArn`), evidence `audit_kubernetes_admin`. CloudTrail's
//! `CreateCluster` events read with the logs ([`crate::cloudtrail`]) are kept whole here;
//! `verdict` weighs all of it, with the access configuration and IAM, into one answer.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use crate::cloudtrail::{Counts, CreateCall, Record};
use crate::event::{Event, Uid};
use crate::merge::Merge;

use super::Span;

/// The username EKS gives the cluster creator.
pub const ADMIN: &str = "kubernetes-admin";

/// What the creator section concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CreatorStatus {
    /// Exactly one identity.
    Found,
    /// Several identities: all are listed.
    Ambiguous,
    /// No evidence in the logs read.
    NotFound,
}

impl CreatorStatus {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CreatorStatus::Found => "found",
            CreatorStatus::Ambiguous => "ambiguous",
            CreatorStatus::NotFound => "not_found",
        }
    }
}

/// Evidence for one identity.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub arn: String,
    pub mapping: u64,
    pub grants: u64,
    /// Audit events of requests made as `kubernetes-admin`.
    pub audit: u64,
    pub span: Span,
    pub principal_ids: BTreeSet<String>,
    pub groups: BTreeSet<String>,
}

/// Creator evidence from the logs and CloudTrail records read: log identities by
/// [`key`], and every EKS CreateCluster call.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Identities the logs map to `kubernetes-admin`, by [`key`].
    pub ids: BTreeMap<String, Identity>,
    /// EKS CreateCluster calls, in the order read.
    pub calls: Vec<CreateCall>,
    /// CloudTrail records read, by source (input or API), in the order first seen.
    pub trail: Vec<(String, Counts)>,
}

pub use crate::access::iam::principal_key as key;

impl Evidence {
    fn entry(&mut self, arn: &str) -> &mut Identity {
        self.ids.entry(key(arn)).or_insert_with(|| Identity {
            arn: arn.to_owned(),
            ..Identity::default()
        })
    }

    pub fn add_mapping(&mut self, arn: &str, e: &Event<'_>) {
        let groups = e.groups();
        let id = self.entry(arn);
        id.mapping += 1;
        id.span.add(e.time_ms);
        id.groups.extend(groups);
    }

    pub fn add_grant(&mut self, arn: &str, e: &Event<'_>) {
        let groups = e.groups();
        let principal = e
            .uid_raw()
            .and_then(Uid::parse)
            .map(|u| u.principal_id.to_owned());
        let id = self.entry(arn);
        id.grants += 1;
        id.span.add(e.time_ms);
        id.groups.extend(groups);
        id.principal_ids.extend(principal);
    }

    /// Requests the audit log shows made as `kubernetes-admin` by this canonical ARN.
    pub fn add_audit(&mut self, a: &crate::audit::AdminActivity) {
        let id = self.entry(a.arn.as_deref().unwrap_or(&a.canonical_arn));
        id.audit += a.count;
        id.span.merge(Span {
            first: a.first_ms,
            last: a.last_ms,
        });
        id.principal_ids.extend(a.principal_ids.iter().cloned());
        id.groups.extend(a.groups.iter().cloned());
    }

    /// One CloudTrail record read from `source`: counted, and kept when it is a CreateCall.
    pub fn add_cloudtrail(&mut self, source: &str, record: &Record) {
        match self.trail.iter_mut().find(|(s, _)| s == source) {
            Some((_, c)) => c.add(record),
            None => {
                let mut c = Counts::default();
                c.add(record);
                self.trail.push((source.to_owned(), c));
            }
        }
        if let Record::CreateCluster(call) = record {
            self.calls.push((**call).clone());
        }
    }

    /// `count` grants aggregated server-side (no uid or groups in the aggregate).
    pub fn add_grants(&mut self, arn: &str, count: u64, span: Span) {
        let id = self.entry(arn);
        id.grants += count;
        id.span.merge(span);
    }
}

impl Merge for Identity {
    fn merge(&mut self, later: Identity) {
        let Identity {
            // The earlier input's spelling names the identity.
            arn: _,
            mapping,
            grants,
            audit,
            span,
            principal_ids,
            groups,
        } = later;
        self.mapping.merge(mapping);
        self.grants.merge(grants);
        self.audit.merge(audit);
        self.span.merge(span);
        self.principal_ids.merge(principal_ids);
        self.groups.merge(groups);
    }
}

impl Merge for Evidence {
    fn merge(&mut self, later: Evidence) {
        let Evidence { ids, calls, trail } = later;
        self.calls.extend(calls);
        for (source, counts) in trail {
            match self.trail.iter_mut().find(|(s, _)| *s == source) {
                Some((_, c)) => c.merge(counts),
                None => self.trail.push((source, counts)),
            }
        }
        for (k, id) in ids {
            match self.ids.entry(k) {
                Entry::Vacant(v) => {
                    v.insert(id);
                }
                Entry::Occupied(mut o) => o.get_mut().merge(id),
            }
        }
    }
}
