//! The cluster creator: the IAM identity EKS maps to `kubernetes-admin`
//! (`docs/authenticator-log.md#cluster-creator`).
//!
//! Two kinds of evidence: the startup `mapping IAM user|role` line with
//! `username=kubernetes-admin` (the static mapping EKS writes for the creator; best signal),
//! and `access granted` with exactly `username=kubernetes-admin` (not
//! `kubernetes-admin:<session>`). Anyone can map another principal to `kubernetes-admin` in
//! aws-auth, so several identities are all reported, never one picked silently.

use std::collections::{BTreeMap, BTreeSet};

use crate::classify::Arn;
use crate::event::{Event, Uid};

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

    /// `count` grants aggregated server-side (no uid or groups in the aggregate).
    pub fn add_grants(&mut self, arn: &str, count: u64, span: Span) {
        let id = self.entry(arn);
        id.grants += count;
        id.span.merge(span);
    }

    pub fn merge(&mut self, other: Evidence) {
        for (k, o) in other.ids {
            let id = self.ids.entry(k).or_insert_with(|| Identity {
                arn: o.arn.clone(),
                canonical: o.canonical.clone(),
                ..Identity::default()
            });
            id.mapping += o.mapping;
            id.grants += o.grants;
            id.span.merge(o.span);
            id.principal_ids.extend(o.principal_ids);
            id.groups.extend(o.groups);
        }
    }
}
