//! The access inventory: every mapping the configuration holds, and the findings an audit
//! wants (admin-level mappings, duplicates, entries the authenticator drops or cannot match,
//! stray whitespace, `mapAccounts` breadth, shadowing and mode conflicts).
//!
//! This module owns [`inventory`] and its two renderings (the `eks-authlog.access/v1` JSON
//! document and a table). It does not read files and does not diagnose denials.

use std::collections::HashMap;
use std::io;

use serde::Serialize;

use super::awsauth::{AccountMapping, EntryState, Mapping, SectionKind};
use super::entries::{AccessEntry, ClusterInfo, Mode};
use super::usage::{self, HiddenMapping, LogUse, Usage};
use super::{AccessConfig, Document};
use crate::classify::{Arn, PrincipalKind};

/// The JSON schema id of the `access` document.
pub const SCHEMA: &str = "eks-authlog.access/v1";

/// The JSON schema id of one `access -o ndjson` line.
pub const FINDING_SCHEMA: &str = "eks-authlog.finding/v1";

/// The placeholders the authenticator renders (`pkg/server/server.go`, `renderTemplate`); any
/// other `{{…}}` reaches RBAC literally.
const TEMPLATES: [&str; 5] = [
    "{{EC2PrivateDNSName}}",
    "{{AccountID}}",
    "{{SessionName}}",
    "{{SessionNameRaw}}",
    "{{AccessKeyID}}",
];

/// What a finding is about. Names are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// `system:masters` in aws-auth, or `AmazonEKSClusterAdminPolicy` at cluster scope.
    AdminMapping,
    /// The same ARN mapped twice; the message says which wins.
    DuplicateMapping,
    /// A whole section the authenticator drops (YAML error, not a list, not a string).
    SectionUnparsable,
    /// A data key that is not exactly `mapRoles`/`mapUsers`/`mapAccounts`.
    TopLevelKeyMisspelt,
    /// An entry `Validate()` drops (no ARN under the key the section reads).
    EntryDropped,
    /// An entry that is stored but can never match (a path, a session ARN, a wildcard, a
    /// malformed ARN, a non-lower-case key).
    EntryUnmatchable,
    /// A group with leading, trailing or inner whitespace (` - system:nodes` folded in).
    GroupWhitespace,
    /// A field of the wrong type, kept empty (`username: 12345`, `groups: system:masters`,
    /// an unquoted `on`).
    FieldTypeError,
    /// A `{{…}}` placeholder the authenticator does not know.
    UnknownTemplate,
    /// A kept entry with no username.
    EmptyUsername,
    /// `mapAccounts` lets every principal of an account authenticate.
    MapAccountsBreadth,
    /// An aws-auth entry overridden by an access entry for the same ARN.
    ShadowedByAccessEntry,
    /// aws-auth on an `API` cluster, which ignores it.
    AwsAuthIgnoredByMode,
    /// Access entries on a `CONFIG_MAP` cluster, which ignores them.
    AccessEntriesIgnoredByMode,
    /// A mapping that granted nothing in the logs read (only with logs).
    NeverUsed,
    /// A node role the logs show denied as not mapped, with no mapping in the configuration.
    NodeRoleNotMapped,
    /// A node mapping without `system:bootstrappers` and `system:nodes`, or without the
    /// `system:node:{{EC2PrivateDNSName}}` username: nodes authenticate but cannot join.
    NodeMappingIncomplete,
    /// The mapped principal does not exist in IAM (only with the IAM check).
    PrincipalNotFound,
    /// The access entry's principal was deleted and re-created after the entry: the entry is
    /// bound to the old unique id (only with the IAM check).
    PrincipalRecreated,
}

/// How much a finding matters to an audit. Names are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Something does not work as written, or grants more than it seems.
    Medium,
    /// Cluster-admin or whole-account access, or a mistake that locks principals out.
    High,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: &[Severity] = &[Severity::Low, Severity::Medium, Severity::High];

    /// The stable name.
    pub const fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl FindingKind {
    /// Every kind, in declaration order.
    pub const ALL: &[FindingKind] = &[
        FindingKind::AdminMapping,
        FindingKind::DuplicateMapping,
        FindingKind::SectionUnparsable,
        FindingKind::TopLevelKeyMisspelt,
        FindingKind::EntryDropped,
        FindingKind::EntryUnmatchable,
        FindingKind::GroupWhitespace,
        FindingKind::FieldTypeError,
        FindingKind::UnknownTemplate,
        FindingKind::EmptyUsername,
        FindingKind::MapAccountsBreadth,
        FindingKind::ShadowedByAccessEntry,
        FindingKind::AwsAuthIgnoredByMode,
        FindingKind::AccessEntriesIgnoredByMode,
        FindingKind::NeverUsed,
        FindingKind::NodeRoleNotMapped,
        FindingKind::NodeMappingIncomplete,
        FindingKind::PrincipalNotFound,
        FindingKind::PrincipalRecreated,
    ];

    /// The stable name (as in the JSON).
    pub const fn name(self) -> &'static str {
        match self {
            FindingKind::AdminMapping => "admin_mapping",
            FindingKind::DuplicateMapping => "duplicate_mapping",
            FindingKind::SectionUnparsable => "section_unparsable",
            FindingKind::TopLevelKeyMisspelt => "top_level_key_misspelt",
            FindingKind::EntryDropped => "entry_dropped",
            FindingKind::EntryUnmatchable => "entry_unmatchable",
            FindingKind::GroupWhitespace => "group_whitespace",
            FindingKind::FieldTypeError => "field_type_error",
            FindingKind::UnknownTemplate => "unknown_template",
            FindingKind::EmptyUsername => "empty_username",
            FindingKind::MapAccountsBreadth => "map_accounts_breadth",
            FindingKind::ShadowedByAccessEntry => "shadowed_by_access_entry",
            FindingKind::AwsAuthIgnoredByMode => "aws_auth_ignored_by_mode",
            FindingKind::AccessEntriesIgnoredByMode => "access_entries_ignored_by_mode",
            FindingKind::NeverUsed => "never_used",
            FindingKind::NodeRoleNotMapped => "node_role_not_mapped",
            FindingKind::NodeMappingIncomplete => "node_mapping_incomplete",
            FindingKind::PrincipalNotFound => "principal_not_found",
            FindingKind::PrincipalRecreated => "principal_recreated",
        }
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<FindingKind> {
        FindingKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// How much it matters.
    pub const fn severity(self) -> Severity {
        match self {
            FindingKind::AdminMapping
            | FindingKind::MapAccountsBreadth
            | FindingKind::SectionUnparsable
            | FindingKind::TopLevelKeyMisspelt
            | FindingKind::NodeRoleNotMapped
            | FindingKind::NodeMappingIncomplete
            | FindingKind::PrincipalRecreated => Severity::High,
            FindingKind::DuplicateMapping
            | FindingKind::EntryDropped
            | FindingKind::EntryUnmatchable
            | FindingKind::FieldTypeError
            | FindingKind::ShadowedByAccessEntry
            | FindingKind::AwsAuthIgnoredByMode
            | FindingKind::AccessEntriesIgnoredByMode
            | FindingKind::NeverUsed
            | FindingKind::PrincipalNotFound => Severity::Medium,
            FindingKind::GroupWhitespace
            | FindingKind::UnknownTemplate
            | FindingKind::EmptyUsername => Severity::Low,
        }
    }
}

/// One finding.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// What it is about.
    pub kind: FindingKind,
    /// How much it matters (from the kind).
    pub severity: Severity,
    /// The file.
    pub source: Option<String>,
    /// The aws-auth data key, or `access_entries`.
    pub section: Option<String>,
    /// The line in the file.
    pub line: Option<usize>,
    /// The entry's ARN or text.
    pub entry: Option<String>,
    /// What is wrong, in a sentence.
    pub message: String,
}

/// The inventory document (`eks-authlog.access/v1`).
#[derive(Clone, Debug, Serialize)]
pub struct Inventory<'a> {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// `describe-cluster` facts.
    pub cluster: &'a ClusterInfo,
    /// The aws-auth file.
    pub aws_auth_source: Option<&'a str>,
    /// aws-auth role and user entries.
    pub mappings: &'a [Mapping],
    /// `mapAccounts`.
    pub accounts: &'a [AccountMapping],
    /// Access entries.
    pub access_entries: &'a [AccessEntry],
    /// The creator's mapping EKS keeps outside aws-auth, when the logs show it.
    pub hidden_mappings: Vec<HiddenMapping>,
    /// Who used each mapping and when, when logs were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Findings.
    pub findings: Vec<Finding>,
    /// The documents read, verbatim: this document is a snapshot later runs read back.
    pub documents: &'a [Document],
    #[serde(skip)]
    cfg: &'a AccessConfig,
    /// What the live read did and could not read; null for files only.
    pub live: Option<&'a super::Live>,
}

/// Builds the inventory and its findings.
pub fn inventory(cfg: &AccessConfig) -> Inventory<'_> {
    let aws = cfg.aws_auth.as_ref();
    let source = aws.map(|a| a.source.clone());
    let mut findings = Vec::new();
    let mode = cfg.mode();
    let mut push =
        |kind: FindingKind, section: Option<&str>, line, entry: Option<&str>, message: String| {
            findings.push(Finding {
                kind,
                severity: kind.severity(),
                source: source.clone(),
                section: section.map(str::to_owned),
                line,
                entry: entry.map(str::to_owned),
                message,
            });
        };
    if let Some(aws) = aws {
        if mode == Some(Mode::Api) && !aws.mappings.is_empty() {
            push(
                FindingKind::AwsAuthIgnoredByMode,
                None,
                None,
                None,
                "The cluster's authentication mode is API: aws-auth is ignored entirely."
                    .to_owned(),
            );
        }
        for s in &aws.sections {
            if !s.read && s.kind.is_some() {
                push(
                    FindingKind::TopLevelKeyMisspelt,
                    Some(&s.key),
                    s.line,
                    None,
                    format!(
                        "Data key `{}` is never read; the authenticator reads exactly `{}`.",
                        s.key,
                        s.kind.map(SectionKind::key).unwrap_or("")
                    ),
                );
            }
            if s.dropped && s.read {
                push(
                    FindingKind::SectionUnparsable,
                    Some(&s.key),
                    s.error_line.or(s.line),
                    None,
                    format!(
                        "The authenticator drops the whole {}: {}",
                        s.key,
                        s.errors.join("; ")
                    ),
                );
            }
            if s.not_a_string {
                push(
                    FindingKind::SectionUnparsable,
                    Some(&s.key),
                    s.line,
                    None,
                    format!(
                        "`{}` is not a string (missing `|`): the API server rejects this ConfigMap.",
                        s.key
                    ),
                );
            }
        }
        let mut seen: HashMap<String, &Mapping> = HashMap::new();
        for m in &aws.mappings {
            let entry = m.arn.as_deref();
            if let EntryState::Dropped(reason) = &m.state {
                push(
                    FindingKind::EntryDropped,
                    Some(&m.section),
                    m.line,
                    entry,
                    format!("The authenticator drops this entry: {reason}."),
                );
            }
            for t in &m.type_errors {
                push(
                    FindingKind::FieldTypeError,
                    Some(&m.section),
                    m.line,
                    entry,
                    format!("{t} (the field is kept empty)."),
                );
            }
            if m.state != EntryState::Kept {
                continue;
            }
            if let Some(why) = m.arn.as_deref().and_then(|a| unmatchable(a, m)) {
                push(
                    FindingKind::EntryUnmatchable,
                    Some(&m.section),
                    m.line,
                    entry,
                    why,
                );
            }
            if m.groups.iter().any(|g| g == "system:masters") {
                push(
                    FindingKind::AdminMapping,
                    Some(&m.section),
                    m.line,
                    entry,
                    "Group system:masters: cluster-admin that RBAC cannot revoke.".to_owned(),
                );
            }
            for g in &m.groups {
                if g.trim() != g || g.contains(char::is_whitespace) {
                    push(
                        FindingKind::GroupWhitespace,
                        Some(&m.section),
                        m.line,
                        entry,
                        format!(
                            "Group `{g}` contains whitespace; RBAC compares group names exactly."
                        ),
                    );
                }
            }
            for text in std::iter::once(&m.username).chain(&m.groups) {
                if let Some(t) = unknown_template(text) {
                    push(
                        FindingKind::UnknownTemplate,
                        Some(&m.section),
                        m.line,
                        entry,
                        format!(
                            "`{t}` is not a placeholder the authenticator renders (they are case-sensitive); it reaches RBAC literally."
                        ),
                    );
                }
            }
            if let Some(why) = incomplete_node_mapping(m) {
                push(
                    FindingKind::NodeMappingIncomplete,
                    Some(&m.section),
                    m.line,
                    entry,
                    why,
                );
            }
            if m.username.is_empty() {
                push(
                    FindingKind::EmptyUsername,
                    Some(&m.section),
                    m.line,
                    entry,
                    "No username: the authenticator returns an empty username.".to_owned(),
                );
            }
            let Some(arn) = m.arn.as_deref() else {
                continue;
            };
            // Roles are stored lower-cased (one wins); users are not (both kept, one picked at
            // random per login): pkg/config/mapper.go `Key`, configmap.go `saveMap`.
            let key = match m.kind {
                SectionKind::Users => format!("u:{arn}"),
                _ => format!("r:{}", arn.to_ascii_lowercase()),
            };
            if let Some(prev) = seen.insert(key, m) {
                push(
                    FindingKind::DuplicateMapping,
                    Some(&m.section),
                    m.line,
                    entry,
                    format!(
                        "Also mapped at {} line {}; this later entry wins.",
                        prev.section,
                        prev.line.unwrap_or(0)
                    ),
                );
            } else if m.kind == SectionKind::Users
                && let Some(other) = seen
                    .iter()
                    .find(|(k, o)| {
                        k.starts_with("u:")
                            && !std::ptr::eq(**o, m)
                            && o.arn
                                .as_deref()
                                .is_some_and(|a| a != arn && a.eq_ignore_ascii_case(arn))
                    })
                    .map(|(_, o)| *o)
            {
                push(
                    FindingKind::DuplicateMapping,
                    Some(&m.section),
                    m.line,
                    entry,
                    format!(
                        "Differs only in case from {} line {}; both are kept and each login picks one at random.",
                        other.section,
                        other.line.unwrap_or(0)
                    ),
                );
            }
            if mode.is_none_or(Mode::reads_access_entries)
                && let Some(e) = cfg
                    .entries
                    .entries
                    .iter()
                    .find(|e| same_principal(&e.principal_arn, arn))
            {
                push(
                    FindingKind::ShadowedByAccessEntry,
                    Some(&m.section),
                    m.line,
                    entry,
                    format!(
                        "The access entry for {} overrides this aws-auth entry.",
                        e.principal_arn
                    ),
                );
            }
        }
        for a in aws.accounts.iter().filter(|a| a.read) {
            push(
                FindingKind::MapAccountsBreadth,
                Some("mapAccounts"),
                a.line,
                Some(&a.account),
                format!(
                    "Every IAM principal of account {} authenticates (as its ARN, with no groups).",
                    a.account
                ),
            );
        }
    }
    if mode == Some(Mode::ConfigMap) && !cfg.entries.entries.is_empty() {
        findings.push(Finding {
            kind: FindingKind::AccessEntriesIgnoredByMode,
            severity: FindingKind::AccessEntriesIgnoredByMode.severity(),
            source: None,
            section: Some("access_entries".to_owned()),
            line: None,
            entry: None,
            message: "The cluster's authentication mode is CONFIG_MAP: access entries are ignored."
                .to_owned(),
        });
    }
    for e in &cfg.entries.entries {
        for p in e.policies.iter().flatten().filter(|p| p.is_cluster_admin()) {
            findings.push(Finding {
                kind: FindingKind::AdminMapping,
                severity: FindingKind::AdminMapping.severity(),
                source: e.sources.first().cloned(),
                section: Some("access_entries".to_owned()),
                line: None,
                entry: Some(e.principal_arn.clone()),
                message: format!("{} at cluster scope.", p.name()),
            });
        }
        for g in &e.groups {
            if g.trim() != g {
                findings.push(Finding {
                    kind: FindingKind::GroupWhitespace,
                    severity: FindingKind::GroupWhitespace.severity(),
                    source: e.sources.first().cloned(),
                    section: Some("access_entries".to_owned()),
                    line: None,
                    entry: Some(e.principal_arn.clone()),
                    message: format!("Kubernetes group `{g}` has leading or trailing whitespace."),
                });
            }
        }
    }
    Inventory {
        schema: SCHEMA,
        cluster: &cfg.entries.cluster,
        aws_auth_source: aws.map(|a| a.source.as_str()),
        mappings: aws.map_or(&[][..], |a| &a.mappings),
        accounts: aws.map_or(&[][..], |a| &a.accounts),
        access_entries: &cfg.entries.entries,
        hidden_mappings: Vec::new(),
        usage: None,
        findings,
        documents: &cfg.documents,
        live: cfg.live.as_ref(),
        cfg,
    }
}

/// Why a node mapping cannot work, if it cannot. A node mapping is one with the node
/// username or the node groups (the entry EKS managed node groups and eksctl write: username
/// `system:node:{{EC2PrivateDNSName}}`, groups `system:bootstrappers` and `system:nodes`;
/// <https://docs.aws.amazon.com/eks/latest/userguide/auth-configmap.html>).
fn incomplete_node_mapping(m: &Mapping) -> Option<String> {
    const NODE_USER: &str = "system:node:{{EC2PrivateDNSName}}";
    let node_user = m.username == NODE_USER;
    let has = |g: &str| m.groups.iter().any(|x| x == g);
    let node_groups = has("system:nodes") || has("system:bootstrappers");
    if m.kind != SectionKind::Roles || !(node_user || node_groups) {
        return None;
    }
    let missing: Vec<&str> = ["system:bootstrappers", "system:nodes"]
        .into_iter()
        .filter(|g| !has(g))
        .collect();
    if !node_user {
        Some(format!(
            "A node mapping whose username is `{}`, not `{NODE_USER}`: the node authenticates but its kubelet is not authorised as a node.",
            m.username
        ))
    } else if !missing.is_empty() {
        Some(format!(
            "A node mapping without group(s) {}: nodes authenticate but cannot join.",
            missing.join(", ")
        ))
    } else {
        None
    }
}

/// Why a stored aws-auth ARN can never equal a caller's canonical ARN, if it cannot.
fn unmatchable(arn: &str, m: &Mapping) -> Option<String> {
    if m.arn_key_not_lowercase() {
        return Some(format!(
            "Key `{}` is not lower case; some authenticator builds (and EKS, by users' reports) never match it.",
            m.arn_key.as_deref().unwrap_or("")
        ));
    }
    if arn.contains('*') {
        return Some("aws-auth has no wildcards; this matches only the literal text.".to_owned());
    }
    let Ok(a) = Arn::parse(arn) else {
        return Some("Not an ARN.".to_owned());
    };
    if arn.trim() != arn || arn.contains(char::is_whitespace) {
        return Some("The ARN contains whitespace.".to_owned());
    }
    if !a.region().is_empty() {
        return Some(format!(
            "IAM ARNs have no region; this one has `{}`.",
            a.region()
        ));
    }
    match a.kind() {
        PrincipalKind::Role { path, .. } if !path.is_empty() => Some(format!(
            "The role path `{path}/` never appears in a caller's canonical ARN; map `{}`.",
            a.strip_path()
        )),
        PrincipalKind::AssumedRole { .. } => Some(format!(
            "An STS session ARN never matches; map the role `{}`.",
            a.canonical()
        )),
        PrincipalKind::Other => Some("Not an IAM user or role ARN.".to_owned()),
        _ => None,
    }
}

fn unknown_template(text: &str) -> Option<&str> {
    let start = text.find("{{").or_else(|| text.find('{'))?;
    let rest = &text[start..];
    let end = rest.find('}').map_or(rest.len(), |i| {
        if rest[i..].starts_with("}}") {
            i + 2
        } else {
            i + 1
        }
    });
    let t = &rest[..end];
    (!TEMPLATES.contains(&t)).then_some(t)
}

fn same_principal(a: &str, b: &str) -> bool {
    let strip = |s: &str| {
        Arn::parse(s)
            .ok()
            .map(|x| x.strip_path().to_ascii_lowercase())
    };
    strip(a).is_some() && strip(a) == strip(b)
}

impl Inventory<'_> {
    /// Joins the logs read: who used each mapping and when, the creator's hidden mapping,
    /// mappings never used, and node roles denied for want of a mapping.
    pub fn with_usage(mut self, logs: &LogUse) -> Self {
        let cfg = self.cfg;
        let usage = usage::attribute(self.mappings, self.accounts, &cfg.entries, cfg.mode(), logs);
        if logs.events > 0 {
            for u in usage.mappings.iter().filter(|u| u.granted == 0) {
                self.findings.push(Finding {
                    kind: FindingKind::NeverUsed,
                    severity: FindingKind::NeverUsed.severity(),
                    source: match u.mapped_by {
                        usage::MappedBy::AccessEntry => cfg
                            .entries
                            .entries
                            .iter()
                            .find(|e| e.principal_arn == u.entry)
                            .and_then(|e| e.sources.first().cloned()),
                        _ => self.aws_auth_source.map(str::to_owned),
                    },
                    section: u.section.clone(),
                    line: u.line,
                    entry: Some(u.entry.clone()),
                    message: format!(
                        "No grant in the {} event(s) read ({} to {}).",
                        logs.events,
                        logs.first_seen.as_deref().unwrap_or("?"),
                        logs.last_seen.as_deref().unwrap_or("?")
                    ),
                });
            }
        }
        for p in logs.principals.iter().filter(|p| p.node_role_denials > 0) {
            let role = Arn::parse(&p.arn)
                .map(|a| a.strip_path().into_owned())
                .unwrap_or_else(|_| p.arn.clone());
            self.findings.push(Finding {
                kind: FindingKind::NodeRoleNotMapped,
                severity: FindingKind::NodeRoleNotMapped.severity(),
                source: None,
                section: Some("mapRoles".to_owned()),
                line: None,
                entry: Some(p.arn.clone()),
                message: format!(
                    "{} node-role denial(s) ({} to {}): map it with username system:node:{{{{EC2PrivateDNSName}}}} and groups system:bootstrappers, system:nodes (eksctl create iamidentitymapping --arn {role} --group system:bootstrappers --group system:nodes --username 'system:node:{{{{EC2PrivateDNSName}}}}'), or an EC2_LINUX access entry.",
                    p.node_role_denials,
                    p.first_seen.as_deref().unwrap_or("?"),
                    p.last_seen.as_deref().unwrap_or("?")
                ),
            });
        }
        self.hidden_mappings.clone_from(&logs.creator);
        self.usage = Some(usage);
        self
    }

    /// Joins IAM's answers for the mapped principals: a mapping or entry whose principal IAM
    /// does not have (`principal_not_found`), and an access entry whose principal was created
    /// after the entry (`principal_recreated`: EKS binds the entry to the unique id, so the
    /// principal of that name now is another one; aws-auth matches by ARN and is not affected).
    pub fn with_iam(mut self, checks: &[super::IamCheck]) -> Self {
        use super::IamOutcome;
        use super::iam::principal_key as key;
        let time = |s: &str| crate::time::parse_timestamp_ms(s);
        for check in checks {
            let k = key(&check.arn);
            let entries = self
                .access_entries
                .iter()
                .filter(|e| key(&e.principal_arn) == k);
            let mappings = self
                .mappings
                .iter()
                .filter(|m| m.arn.as_deref().is_some_and(|a| key(a) == k));
            match &check.outcome {
                IamOutcome::NotFound => {
                    let gone = |what: &str| {
                        format!(
                            "IAM has no principal {} ({what}); {}",
                            check.arn,
                            if what == "access entry" {
                                "the entry grants no one, and re-creating the principal does not \
                                 revive it (it is bound to the old unique id): delete it"
                            } else {
                                "the mapping grants no one until a principal of that name exists \
                                 again (aws-auth matches by ARN)"
                            }
                        )
                    };
                    for e in entries {
                        self.findings.push(Finding {
                            kind: FindingKind::PrincipalNotFound,
                            severity: FindingKind::PrincipalNotFound.severity(),
                            source: e.sources.first().cloned(),
                            section: Some("access_entries".to_owned()),
                            line: None,
                            entry: Some(e.principal_arn.clone()),
                            message: gone("access entry"),
                        });
                    }
                    for m in mappings {
                        self.findings.push(Finding {
                            kind: FindingKind::PrincipalNotFound,
                            severity: FindingKind::PrincipalNotFound.severity(),
                            source: self.aws_auth_source.map(str::to_owned),
                            section: Some(m.section.clone()),
                            line: m.line,
                            entry: m.arn.clone(),
                            message: gone("aws-auth"),
                        });
                    }
                }
                IamOutcome::Exists { created, .. } => {
                    let Some(created_ms) = created.as_deref().and_then(time) else {
                        continue;
                    };
                    for e in entries {
                        let Some(entry_ms) = e.created_at.as_deref().and_then(time) else {
                            continue;
                        };
                        if created_ms > entry_ms {
                            self.findings.push(Finding {
                                kind: FindingKind::PrincipalRecreated,
                                severity: FindingKind::PrincipalRecreated.severity(),
                                source: e.sources.first().cloned(),
                                section: Some("access_entries".to_owned()),
                                line: None,
                                entry: Some(e.principal_arn.clone()),
                                message: format!(
                                    "{} was created {}, after its access entry ({}): the entry \
                                     is bound to the old principal's unique id and no longer \
                                     works; delete and re-create it (aws eks delete-access-entry, \
                                     then create-access-entry)",
                                    check.arn,
                                    created.as_deref().unwrap_or_default(),
                                    e.created_at.as_deref().unwrap_or_default()
                                ),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        self
    }

    /// The principals IAM can be asked about: every aws-auth role or user and access entry,
    /// each once.
    pub fn principals(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let arns = self
            .mappings
            .iter()
            .filter_map(|m| m.arn.clone())
            .chain(self.access_entries.iter().map(|e| e.principal_arn.clone()));
        for a in arns {
            if super::iam::lookup_of(&a).is_some() && !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    /// Writes one `eks-authlog.finding/v1` JSON object per line, one per finding.
    pub fn write_ndjson<W: io::Write>(&self, w: &mut W) -> io::Result<()> {
        for f in &self.findings {
            serde_json::to_writer(&mut *w, &self.finding_line(f))?;
            writeln!(w)?;
        }
        Ok(())
    }

    fn finding_line<'f>(&'f self, f: &'f Finding) -> FindingLine<'f> {
        let account = f
            .entry
            .as_deref()
            .and_then(|e| Arn::parse(e).ok().map(|a| a.account().to_owned()))
            .filter(|a| !a.is_empty());
        let used = self.usage.as_ref().and_then(|u| {
            u.mappings
                .iter()
                .find(|m| f.entry.as_deref() == Some(m.entry.as_str()) && m.line == f.line)
        });
        FindingLine {
            schema: FINDING_SCHEMA,
            id: finding_id(self.cluster.name.as_deref(), f),
            cluster: self.cluster.name.as_deref(),
            region: self.cluster.region.as_deref(),
            account,
            kind: f.kind,
            severity: f.severity,
            source: f.source.as_deref(),
            section: f.section.as_deref(),
            line: f.line,
            entry: f.entry.as_deref(),
            granted: used.map(|u| u.granted),
            first_seen: used.and_then(|u| u.first_seen.as_deref()),
            last_seen: used.and_then(|u| u.last_seen.as_deref()),
            message: &f.message,
        }
    }

    /// Writes the JSON document.
    pub fn write_json<W: io::Write>(&self, w: &mut W) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        writeln!(w)
    }

    /// Writes the inventory and findings as tables.
    pub fn write_table<W: io::Write>(&self, w: &mut W) -> io::Result<()> {
        if let Some(live) = self.live {
            write_live(w, live)?;
        }
        let mut header = vec![
            "SOURCE",
            "SECTION",
            "LINE",
            "ARN",
            "USERNAME",
            "GROUPS / POLICIES",
            "STATE",
        ];
        if self.usage.is_some() {
            header.extend(["GRANTS", "LAST USED"]);
        }
        let mut t = table(&header);
        let used = |entry: &str, line: Option<usize>| -> Vec<String> {
            let Some(u) = &self.usage else {
                return Vec::new();
            };
            match u
                .mappings
                .iter()
                .find(|m| m.entry == entry && m.line == line)
            {
                Some(m) => vec![
                    m.granted.to_string(),
                    m.last_seen.clone().unwrap_or_default(),
                ],
                None => vec![String::new(), String::new()],
            }
        };
        for h in &self.hidden_mappings {
            let mut row = vec![
                "eks (hidden)".to_owned(),
                String::new(),
                String::new(),
                h.arn.clone(),
                h.username.clone(),
                h.groups.join(","),
                format!("creator: {}", h.evidence.join(",")),
            ];
            row.extend(used(&h.arn, None));
            t.add_row(row);
        }
        for m in self.mappings {
            let state = match &m.state {
                EntryState::Kept => "kept".to_owned(),
                EntryState::Dropped(r) => format!("dropped: {r}"),
                EntryState::SectionDropped => "section dropped".to_owned(),
                EntryState::SectionIgnored => "key never read".to_owned(),
                EntryState::Rejected => "rejected by API server".to_owned(),
            };
            let arn = m
                .arn
                .clone()
                .or_else(|| m.stray_arn.as_ref().map(|(k, v)| format!("{k}: {v}")))
                .or_else(|| m.not_a_map.clone())
                .unwrap_or_default();
            let mut row = vec![
                "aws-auth".to_owned(),
                m.section.clone(),
                m.line.map(|l| l.to_string()).unwrap_or_default(),
                arn.clone(),
                m.username.clone(),
                m.groups.join(","),
                state,
            ];
            row.extend(used(&arn, m.line));
            t.add_row(row);
        }
        for a in self.accounts {
            let mut row = vec![
                "aws-auth".to_owned(),
                "mapAccounts".to_owned(),
                a.line.map(|l| l.to_string()).unwrap_or_default(),
                a.account.clone(),
                String::new(),
                String::new(),
                if a.read { "kept" } else { "key never read" }.to_owned(),
            ];
            row.extend(used(&a.account, a.line));
            t.add_row(row);
        }
        for e in self.access_entries {
            let mut grants = e.groups.clone();
            for p in e.policies.iter().flatten() {
                let scope = if p.access_scope.kind == "namespace" {
                    format!("namespace:{}", p.access_scope.namespaces.join("|"))
                } else {
                    p.access_scope.kind.clone()
                };
                grants.push(format!("{} ({scope})", p.name()));
            }
            let mut row = vec![
                "access entry".to_owned(),
                e.kind.clone().unwrap_or_default(),
                String::new(),
                e.principal_arn.clone(),
                e.username.clone().unwrap_or_default(),
                grants.join(","),
                String::new(),
            ];
            row.extend(used(&e.principal_arn, None));
            t.add_row(row);
        }
        writeln!(w, "{t}")?;
        if let Some(u) = self.usage.as_ref().filter(|u| !u.unattributed.is_empty()) {
            writeln!(
                w,
                "\nGranted by no mapping read (the configuration given is not the one the cluster used, or it changed): {}",
                u.unattributed.join(", ")
            )?;
        }
        if !self.findings.is_empty() {
            let mut f = table(&["FINDING", "SEVERITY", "SECTION", "LINE", "ENTRY", "MESSAGE"]);
            for x in &self.findings {
                f.add_row(vec![
                    x.kind.name().to_owned(),
                    x.severity.name().to_owned(),
                    x.section.clone().unwrap_or_default(),
                    x.line.map(|l| l.to_string()).unwrap_or_default(),
                    x.entry.clone().unwrap_or_default(),
                    x.message.clone(),
                ]);
            }
            writeln!(w, "{f}")?;
        }
        Ok(())
    }
}

/// One `access -o ndjson` line (`eks-authlog.finding/v1`).
#[derive(Serialize)]
struct FindingLine<'a> {
    schema: &'static str,
    id: String,
    cluster: Option<&'a str>,
    region: Option<&'a str>,
    account: Option<String>,
    kind: FindingKind,
    severity: Severity,
    source: Option<&'a str>,
    section: Option<&'a str>,
    line: Option<usize>,
    entry: Option<&'a str>,
    granted: Option<u64>,
    first_seen: Option<&'a str>,
    last_seen: Option<&'a str>,
    message: &'a str,
}

/// A finding's stable id: the same finding on the next run has the same id. It hashes what
/// identifies the finding (cluster, kind, section, entry), not its line or message, which move
/// when the file is edited elsewhere or the window changes.
fn finding_id(cluster: Option<&str>, f: &Finding) -> String {
    let parts = [
        cluster.unwrap_or(""),
        f.kind.name(),
        f.section.as_deref().unwrap_or(""),
        f.entry.as_deref().unwrap_or(""),
    ];
    // Two findings of one kind on one entry (a group with whitespace twice) differ by their
    // message; the messages that quote counts or the window are left out, so that they keep
    // their id from run to run.
    let counts = matches!(
        f.kind,
        FindingKind::NeverUsed | FindingKind::NodeRoleNotMapped
    );
    crate::finding::stable_id(&parts, (!counts).then_some(f.message.as_str()))
}

/// What was read live, and one line per part that was not.
fn write_live<W: io::Write>(w: &mut W, live: &super::Live) -> io::Result<()> {
    let via = live
        .aws_auth_via
        .as_deref()
        .map(|v| format!("; aws-auth through {v}"))
        .unwrap_or_default();
    writeln!(
        w,
        "Read live: cluster {} in {}, {} EKS API calls{via}",
        live.cluster,
        live.region,
        live.api_calls.total()
    )?;
    for u in &live.unread {
        writeln!(w, "Not read: {}", u.text())?;
    }
    writeln!(w)
}

fn table(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .force_no_tty()
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.to_vec());
    t
}
