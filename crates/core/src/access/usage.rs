//! Who used each mapping, and when, in the logs read: the join of the access inventory with
//! the authenticator's grants.
//!
//! The access module reads no logs; the caller turns an analysis report into a [`LogUse`]
//! (`report::diagnoses::log_use`) and [`Inventory::with_usage`](super::Inventory::with_usage)
//! attributes each principal's grants to the mapping that granted them, the way the
//! authenticator picks it: an access entry first on a cluster that reads them, then the
//! aws-auth role or user entry, then `mapAccounts` (aws-iam-authenticator
//! `pkg/server/server.go`, `doMapping`: the mappers are tried in the configured order, and EKS
//! puts the access-entry mapper first in `API_AND_CONFIG_MAP`; `pkg/config/mapper.go`).

use serde::Serialize;

use super::awsauth::{EntryState, Mapping, SectionKind};
use super::entries::{AccessEntries, AccessEntry, Mode};
use crate::classify::Arn;

/// One IAM principal as the logs show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrincipalUse {
    /// Canonical ARN (assumed-role sessions folded to the role, as the authenticator maps).
    pub arn: String,
    /// Grants.
    pub granted: u64,
    /// Kubernetes usernames it was granted as.
    pub usernames: Vec<String>,
    /// `node_role_not_mapped` denials.
    pub node_role_denials: u64,
    /// An EKS-internal identity, mapped by EKS itself (never "unattributed").
    pub internal: bool,
    /// RFC 3339.
    pub first_seen: Option<String>,
    /// RFC 3339.
    pub last_seen: Option<String>,
}

/// An identity the logs show mapped to `kubernetes-admin` by EKS itself: the creator's
/// mapping, which is in no ConfigMap and no access entry on a `CONFIG_MAP` cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HiddenMapping {
    /// Canonical ARN.
    pub arn: String,
    /// Always `kubernetes-admin`.
    pub username: String,
    /// The groups the logs show (EKS gives `system:masters`).
    pub groups: Vec<String>,
    /// The report's creator evidence kinds (`mapping_static`, `access_granted`).
    pub evidence: Vec<String>,
    /// Grants seen.
    pub granted: u64,
    /// RFC 3339.
    pub first_seen: Option<String>,
    /// RFC 3339.
    pub last_seen: Option<String>,
}

/// What the logs read say about the principals, for the access inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogUse {
    /// Authenticator events read (0: the window shows nothing, so nothing is "never used").
    pub events: u64,
    /// First event time (RFC 3339).
    pub first_seen: Option<String>,
    /// Last event time (RFC 3339).
    pub last_seen: Option<String>,
    /// Every principal seen (EKS-internal ones included: node roles matter here).
    pub principals: Vec<PrincipalUse>,
    /// The creator's mapping, when the logs show it.
    pub creator: Vec<HiddenMapping>,
}

/// Which mapping a use is attributed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MappedBy {
    /// An aws-auth `mapRoles` / `mapUsers` entry.
    AwsAuth,
    /// A `mapAccounts` item.
    MapAccounts,
    /// An access entry.
    AccessEntry,
    /// The creator's mapping EKS keeps itself.
    Hidden,
}

/// One mapping's use in the window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MappingUse {
    /// Where the mapping is.
    pub mapped_by: MappedBy,
    /// The aws-auth data key, `mapAccounts` or `access_entries`.
    pub section: Option<String>,
    /// The line in the aws-auth file.
    pub line: Option<usize>,
    /// The mapping's ARN (or account id for `mapAccounts`).
    pub entry: String,
    /// Grants attributed to it.
    pub granted: u64,
    /// The principals that used it (canonical ARNs; one for a role or user, any number for
    /// `mapAccounts`).
    pub principals: Vec<String>,
    /// The Kubernetes usernames granted through it.
    pub usernames: Vec<String>,
    /// RFC 3339.
    pub first_seen: Option<String>,
    /// RFC 3339.
    pub last_seen: Option<String>,
}

/// The usage section of the inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Authenticator events read.
    pub events: u64,
    /// First event time (RFC 3339).
    pub first_seen: Option<String>,
    /// Last event time (RFC 3339).
    pub last_seen: Option<String>,
    /// Each mapping that can match, with its use (zero grants included).
    pub mappings: Vec<MappingUse>,
    /// Principals granted by none of the mappings read (the configuration given is not the
    /// one the cluster used, or it changed within the window).
    pub unattributed: Vec<String>,
}

impl MappingUse {
    fn new(mapped_by: MappedBy, section: Option<&str>, line: Option<usize>, entry: &str) -> Self {
        MappingUse {
            mapped_by,
            section: section.map(str::to_owned),
            line,
            entry: entry.to_owned(),
            granted: 0,
            principals: Vec::new(),
            usernames: Vec::new(),
            first_seen: None,
            last_seen: None,
        }
    }

    fn take(&mut self, p: &PrincipalUse) {
        self.granted += p.granted;
        if !self.principals.contains(&p.arn) {
            self.principals.push(p.arn.clone());
        }
        for u in &p.usernames {
            if !self.usernames.contains(u) {
                self.usernames.push(u.clone());
            }
        }
        // RFC 3339 in one offset (UTC) compares as text.
        if p.first_seen.is_some() && (self.first_seen.is_none() || p.first_seen < self.first_seen) {
            self.first_seen.clone_from(&p.first_seen);
        }
        if p.last_seen > self.last_seen {
            self.last_seen.clone_from(&p.last_seen);
        }
    }
}

/// Attributes each principal's grants to the mapping that granted them.
pub(super) fn attribute(
    mappings: &[Mapping],
    accounts: &[super::awsauth::AccountMapping],
    entries: &AccessEntries,
    mode: Option<Mode>,
    logs: &LogUse,
) -> Usage {
    let reads_entries = mode.is_none_or(Mode::reads_access_entries);
    let reads_aws_auth = mode.is_none_or(Mode::reads_aws_auth);
    let mut uses: Vec<MappingUse> = Vec::new();
    let mut entry_slots = Vec::new();
    if reads_entries {
        for e in &entries.entries {
            entry_slots.push((uses.len(), e));
            uses.push(MappingUse::new(
                MappedBy::AccessEntry,
                Some("access_entries"),
                None,
                &e.principal_arn,
            ));
        }
    }
    let mut role_slots = Vec::new();
    let mut account_slots = Vec::new();
    if reads_aws_auth {
        for m in mappings.iter().filter(|m| m.state == EntryState::Kept) {
            let Some(arn) = m.arn.as_deref() else {
                continue;
            };
            role_slots.push((uses.len(), m, arn));
            uses.push(MappingUse::new(
                MappedBy::AwsAuth,
                Some(&m.section),
                m.line,
                arn,
            ));
        }
        for a in accounts.iter().filter(|a| a.read) {
            account_slots.push((uses.len(), a.account.as_str()));
            uses.push(MappingUse::new(
                MappedBy::MapAccounts,
                Some("mapAccounts"),
                a.line,
                &a.account,
            ));
        }
    }
    let mut hidden_slots = Vec::new();
    for h in &logs.creator {
        hidden_slots.push((uses.len(), h.arn.as_str()));
        uses.push(MappingUse::new(MappedBy::Hidden, None, None, &h.arn));
    }
    let mut unattributed = Vec::new();
    for p in logs.principals.iter().filter(|p| p.granted > 0) {
        let admin = p.usernames.iter().any(|u| u == "kubernetes-admin");
        let slot = hidden_slots
            .iter()
            .find(|(_, arn)| admin && arn.eq_ignore_ascii_case(&p.arn))
            .map(|(i, _)| *i)
            .or_else(|| {
                entry_slots
                    .iter()
                    .find(|(_, e)| entry_matches(e, &p.arn))
                    .map(|(i, _)| *i)
            })
            // The last matching role entry wins (the authenticator's map keeps the last).
            .or_else(|| {
                role_slots
                    .iter()
                    .rev()
                    .find(|(_, m, arn)| mapping_matches(m, arn, &p.arn))
                    .map(|(i, _, _)| *i)
            })
            .or_else(|| {
                let account = Arn::parse(&p.arn).ok().map(|a| a.account().to_owned());
                account_slots
                    .iter()
                    .find(|(_, acct)| account.as_deref() == Some(*acct))
                    .map(|(i, _)| *i)
            });
        match slot {
            Some(i) => uses[i].take(p),
            None if p.internal => {}
            None => unattributed.push(p.arn.clone()),
        }
    }
    Usage {
        events: logs.events,
        first_seen: logs.first_seen.clone(),
        last_seen: logs.last_seen.clone(),
        mappings: uses,
        unattributed,
    }
}

/// Roles are matched lower-cased, users exactly (aws-iam-authenticator `pkg/config/mapper.go`,
/// `Key`; `pkg/mapper/configmap/configmap.go`, `saveMap`).
fn mapping_matches(m: &Mapping, mapped: &str, canonical: &str) -> bool {
    match m.kind {
        SectionKind::Users => mapped == canonical,
        _ => mapped.eq_ignore_ascii_case(canonical),
    }
}

/// EKS resolves an access entry's principal by its role or user, path included in the entry
/// but not in the caller's canonical ARN.
fn entry_matches(e: &AccessEntry, canonical: &str) -> bool {
    let strip = |s: &str| {
        Arn::parse(s)
            .ok()
            .map(|a| a.strip_path().to_ascii_lowercase())
    };
    let a = strip(&e.principal_arn);
    a.is_some() && a == strip(canonical)
}
