//! The cluster creator: the IAM identity EKS maps to `kubernetes-admin`
//! (`docs/authenticator-log.md#cluster-creator`).
//!
//! Two kinds of evidence: the startup `mapping IAM user|role` line with
//! `username=kubernetes-admin` (the static mapping EKS writes for the creator; best signal),
//! and `access granted` with exactly `username=kubernetes-admin` (not
//! `kubernetes-admin:<session>`). Anyone can map another principal to `kubernetes-admin` in
//! aws-auth, so several identities are all reported, never one picked silently. With audit
//! events, requests made as `kubernetes-admin` name the creator's canonical ARN too
//! (`user.extra.canonicalArn`), evidence `audit_kubernetes_admin`.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use crate::classify::Arn;
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
pub(super) struct Identity {
    pub arn: String,
    pub canonical: String,
    pub mapping: u64,
    pub grants: u64,
    /// Audit events of requests made as `kubernetes-admin`.
    pub audit: u64,
    pub span: Span,
    pub principal_ids: BTreeSet<String>,
    pub groups: BTreeSet<String>,
}

/// Creator evidence by lower-cased canonical ARN (mappers compare case-insensitively).
#[derive(Debug, Default)]
pub(super) struct Evidence {
    pub ids: BTreeMap<String, Identity>,
}

impl Evidence {
    fn entry(&mut self, arn: &str) -> &mut Identity {
        let canonical =
            Arn::parse(arn).map_or_else(|_| arn.to_owned(), |a| a.canonical().into_owned());
        self.ids
            .entry(canonical.to_ascii_lowercase())
            .or_insert_with(|| Identity {
                arn: arn.to_owned(),
                canonical,
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
            canonical: _,
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
        let Evidence { ids } = later;
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
