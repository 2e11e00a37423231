//! Why one principal is `not mapped`, read from the cluster's own access configuration.
//!
//! This module owns [`diagnose`]: given a denied ARN and an [`AccessConfig`], it names the
//! cause (one of the stable [`Cause`] names), points at the evidence (file, section, line,
//! entry) and writes the fix (the corrected aws-auth entry and the `aws eks` / `eksctl`
//! commands). It reads nothing itself and knows nothing of the report layout.
//!
//! Matching is the authenticator's: aws-auth entries match the canonical caller ARN by
//! case-folded string equality, with no path stripping and no wildcards
//! (aws-iam-authenticator `pkg/mapper/configmap/mapper.go`, `Map`, and `pkg/config/mapper.go`,
//! `RoleMapping.Matches`); access entries are looked up by the principal's unique ID and then
//! compared with `arn.StripPath(entry ARN)` (`pkg/mapper/dynamicfile/mapper.go`, `Map`). The
//! mode decides which of the two is read (EKS User Guide, "Change authentication mode to use
//! access entries"): on `API` we never advise editing aws-auth, and on `CONFIG_MAP` we never
//! advise an access entry without the mode change that must come first.

use std::fmt::Write as _;

use serde::Serialize;

use super::AccessConfig;
use super::awsauth::{EntryState, Mapping, SectionKind, edit_distance};
use super::entries::{AccessEntry, Mode};
use crate::classify::{Arn, PrincipalKind};

/// Why the configuration does not map a principal. The names are stable (they are JSON
/// values and `--fail-on` arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// No entry relates to the principal.
    NoEntry,
    /// The mapped role ARN has a path; the caller's canonical ARN never does.
    RolePathInMapping,
    /// The mapped role ARN has the IAM Identity Center `aws-reserved/sso.amazonaws.com/…` path.
    SsoPathInMapping,
    /// An STS session ARN (`assumed-role/<role>/<session>`) is mapped instead of the role.
    AssumedRoleArnInMapping,
    /// The same role or user in another account is mapped.
    WrongAccount,
    /// An IAM user is mapped with a different (or no) path; user ARNs keep their path.
    UserPathMismatch,
    /// The section holding (or meant to hold) the entry fails to parse and is dropped whole.
    SectionUnparsable,
    /// The entry's ARN is under a key the authenticator does not read for it.
    EntryKeyMisspelt,
    /// The section's data key is not exactly `mapRoles`/`mapUsers`/`mapAccounts`.
    TopLevelKeyMisspelt,
    /// The list item is a bare string, not a mapping.
    EntryNotAMap,
    /// An access entry for the principal wins over its aws-auth entry.
    ShadowedByAccessEntry,
    /// An access entry exists but the cluster's mode (`CONFIG_MAP`) ignores access entries.
    AccessEntriesIgnoredByMode,
    /// An aws-auth entry exists but the cluster's mode (`API`) ignores aws-auth.
    AwsAuthIgnoredByMode,
    /// An access entry exists for the ARN but is bound to a deleted, re-created principal.
    EntryBoundToOldPrincipal,
    /// The mapping uses a wildcard; aws-auth has none.
    WildcardInMapping,
    /// The mapped ARN is malformed (a region inside an IAM ARN, whitespace, a wrong service).
    MalformedArnInMapping,
    /// A mapping is one edit away, or an SSO role whose hex suffix changed.
    NearMiss,
    /// The configuration maps the principal: the cause is elsewhere.
    EntryIsFine,
}

impl Cause {
    /// Every cause, in declaration order.
    pub const ALL: &[Cause] = &[
        Cause::NoEntry,
        Cause::RolePathInMapping,
        Cause::SsoPathInMapping,
        Cause::AssumedRoleArnInMapping,
        Cause::WrongAccount,
        Cause::UserPathMismatch,
        Cause::SectionUnparsable,
        Cause::EntryKeyMisspelt,
        Cause::TopLevelKeyMisspelt,
        Cause::EntryNotAMap,
        Cause::ShadowedByAccessEntry,
        Cause::AccessEntriesIgnoredByMode,
        Cause::AwsAuthIgnoredByMode,
        Cause::EntryBoundToOldPrincipal,
        Cause::WildcardInMapping,
        Cause::MalformedArnInMapping,
        Cause::NearMiss,
        Cause::EntryIsFine,
    ];

    /// The stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Cause::NoEntry => "no_entry",
            Cause::RolePathInMapping => "role_path_in_mapping",
            Cause::SsoPathInMapping => "sso_path_in_mapping",
            Cause::AssumedRoleArnInMapping => "assumed_role_arn_in_mapping",
            Cause::WrongAccount => "wrong_account",
            Cause::UserPathMismatch => "user_path_mismatch",
            Cause::SectionUnparsable => "section_unparsable",
            Cause::EntryKeyMisspelt => "entry_key_misspelt",
            Cause::TopLevelKeyMisspelt => "top_level_key_misspelt",
            Cause::EntryNotAMap => "entry_not_a_map",
            Cause::ShadowedByAccessEntry => "shadowed_by_access_entry",
            Cause::AccessEntriesIgnoredByMode => "access_entries_ignored_by_mode",
            Cause::AwsAuthIgnoredByMode => "aws_auth_ignored_by_mode",
            Cause::EntryBoundToOldPrincipal => "entry_bound_to_old_principal",
            Cause::WildcardInMapping => "wildcard_in_mapping",
            Cause::MalformedArnInMapping => "malformed_arn_in_mapping",
            Cause::NearMiss => "near_miss",
            Cause::EntryIsFine => "entry_is_fine",
        }
    }
}

/// Where the cause is visible.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The file it was read from.
    pub source: Option<String>,
    /// The aws-auth data key, or `access_entries`.
    pub section: Option<String>,
    /// The line in the file.
    pub line: Option<usize>,
    /// The entry's ARN (or text) as configured.
    pub entry: Option<String>,
}

/// What to do about it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// One or two sentences.
    pub summary: String,
    /// The corrected aws-auth entry, as YAML for `mapRoles`/`mapUsers`; never on an `API`
    /// cluster.
    pub yaml: Option<String>,
    /// `aws eks` / `eksctl` / `kubectl` commands, in order.
    pub commands: Vec<String>,
}

/// The diagnosis of one principal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// The cause.
    pub cause: Cause,
    /// Where it shows.
    pub evidence: Evidence,
    /// The fix.
    pub fix: Fix,
    /// Parts of the configuration a live read could not get (an IAM action denied, kubectl
    /// unauthorized), one line each: the cause may lie in them. Only when not empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
}

/// A rejected principal, as the authenticator's deny line and its paired STS line show it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Denial<'a> {
    /// The denied (canonical) ARN.
    pub arn: &'a str,
    /// The role session name, when known (an instance ID marks a node).
    pub session: Option<&'a str>,
    /// When the denial happened (RFC 3339), for telling propagation delay from a dead entry.
    pub time: Option<&'a str>,
    /// The log already showed this is a node (an instance-ID session on the paired STS line).
    pub node: bool,
}

/// Seconds an access entry may take to become effective ("may take several seconds", EKS
/// User Guide, "Create access entries"); we allow a generous margin.
const PROPAGATION_SECONDS: i64 = 120;

/// Diagnoses one `identity is not mapped` / `ARN is not mapped` principal.
pub fn diagnose(cfg: &AccessConfig, denial: &Denial<'_>) -> Diagnosis {
    let mut d = diagnose_read(cfg, denial);
    d.unread = cfg.unread();
    d
}

/// [`diagnose`] from what was read, before the unread parts are noted.
fn diagnose_read(cfg: &AccessConfig, denial: &Denial<'_>) -> Diagnosis {
    let ctx = Ctx::new(cfg, denial);
    let Some(p) = ctx.principal.as_ref() else {
        return ctx.finish(
            Cause::NoEntry,
            Evidence::default(),
            format!(
                "`{}` is not an ARN, so no mapping can match it.",
                denial.arn
            ),
            None,
        );
    };
    let mode = cfg.mode();
    let reads_entries = mode.is_none_or(Mode::reads_access_entries);
    let reads_aws_auth = mode.is_none_or(Mode::reads_aws_auth);

    // Access entries: DynamicFile compares arn.StripPath(entry ARN) with the canonical ARN.
    let exact_entry = cfg
        .entries
        .entries
        .iter()
        .find(|e| strip_path_lower(&e.principal_arn).as_deref() == Some(p.lower.as_str()));
    let aws_auth_match = ctx.best_aws_auth_match();

    if let Some(entry) = exact_entry {
        let ev = entry_evidence(entry);
        if !reads_entries {
            if let Some(m) = aws_auth_match
                .as_ref()
                .filter(|m| m.cause != Cause::EntryIsFine)
            {
                return ctx.diagnosis_for(p, m);
            }
            return ctx.finish(
                Cause::AccessEntriesIgnoredByMode,
                ev,
                "An access entry exists for this principal, but the cluster's authentication mode is \
                 CONFIG_MAP, which reads only aws-auth. Either map it in aws-auth, or change the mode \
                 first (one-way: CONFIG_MAP → API_AND_CONFIG_MAP → API)."
                    .to_owned(),
                Some(p.canonical.clone()),
            );
        }
        let propagating = within_propagation(entry.created_at.as_deref(), denial.time);
        if propagating {
            return ctx.finish(
                Cause::EntryIsFine,
                ev,
                "The access entry was created moments before this denial; new entries take several \
                 seconds to become effective. Retry; nothing needs changing."
                    .to_owned(),
                None,
            );
        }
        if let Some(m) = aws_auth_match
            .as_ref()
            .filter(|m| m.cause == Cause::EntryIsFine && reads_aws_auth)
        {
            let mut ev = ev;
            ev.entry = Some(format!(
                "{} (shadows aws-auth {} line {})",
                entry.principal_arn,
                m.mapping.section,
                m.mapping.line.unwrap_or(0)
            ));
            return ctx.finish(
                Cause::ShadowedByAccessEntry,
                ev,
                "Both an access entry and aws-auth map this ARN; the access entry wins, and it does not \
                 map this principal (it is bound to an earlier principal with the same ARN). Delete \
                 and re-create the access entry, or delete it so the aws-auth entry applies."
                    .to_owned(),
                Some(entry.principal_arn.clone()),
            );
        }
        return ctx.finish(
            Cause::EntryBoundToOldPrincipal,
            ev,
            "An access entry exists for this ARN, yet the principal is not mapped: EKS binds an entry \
             to the principal's unique ID, so a role or user deleted and re-created under the same \
             name no longer matches it. Delete and re-create the access entry."
                .to_owned(),
            Some(entry.principal_arn.clone()),
        );
    }

    if !reads_aws_auth {
        if let Some(m) = &aws_auth_match {
            let ev = ctx.mapping_evidence(m.mapping);
            return ctx.finish(
                Cause::AwsAuthIgnoredByMode,
                ev,
                "The cluster's authentication mode is API, which ignores aws-auth: editing aws-auth \
                 cannot fix this. Create an access entry."
                    .to_owned(),
                Some(m.full_arn.clone().unwrap_or_else(|| p.canonical.clone())),
            );
        }
        if let Some(d) = ctx.related_access_entry() {
            return d;
        }
        return ctx.finish(
            Cause::NoEntry,
            Evidence {
                section: Some("access_entries".to_owned()),
                ..Evidence::default()
            },
            "No access entry maps this principal, and on an API cluster only access entries count."
                .to_owned(),
            Some(p.canonical.clone()),
        );
    }

    if let Some(m) = aws_auth_match {
        return ctx.diagnosis_for(p, &m);
    }
    if let Some(d) = ctx.dropped_section() {
        return d;
    }
    if let Some(d) = ctx.related_access_entry() {
        return d;
    }
    if let Some(a) = ctx.mapped_account() {
        return a;
    }
    let summary = match &cfg.aws_auth {
        Some(_) => "No aws-auth entry (and no access entry) relates to this principal.",
        None => "No entry relates to this principal (no aws-auth was given).",
    };
    ctx.finish(
        Cause::NoEntry,
        Evidence {
            source: cfg.aws_auth.as_ref().map(|a| a.source.clone()),
            ..Evidence::default()
        },
        summary.to_owned(),
        Some(p.canonical.clone()),
    )
}

/// The denied principal in the forms matching needs.
struct Principal<'a> {
    arn: Arn<'a>,
    /// The canonical ARN (assumed-role → role).
    canonical: String,
    /// Lower-cased canonical ARN.
    lower: String,
}

/// One aws-auth entry related to the principal.
struct Match<'m> {
    cause: Cause,
    mapping: &'m Mapping,
    /// The configured text the relation was found in.
    configured: String,
    /// The role's full ARN, path included, when the mapping shows it (for access entries).
    full_arn: Option<String>,
    note: String,
}

struct Ctx<'a> {
    cfg: &'a AccessConfig,
    denial: &'a Denial<'a>,
    principal: Option<Principal<'a>>,
}

impl<'a> Ctx<'a> {
    fn new(cfg: &'a AccessConfig, denial: &'a Denial<'a>) -> Ctx<'a> {
        let principal = Arn::parse(denial.arn).ok().and_then(|arn| {
            if matches!(arn.kind(), PrincipalKind::Other) {
                return None;
            }
            let canonical = arn.canonical().into_owned();
            Some(Principal {
                arn,
                lower: canonical.to_ascii_lowercase(),
                canonical,
            })
        });
        Ctx {
            cfg,
            denial,
            principal,
        }
    }

    fn is_node(&self) -> bool {
        let session_is_instance =
            self.denial.node || self.denial.session.is_some_and(is_instance_id);
        let name_says_node = self
            .principal
            .as_ref()
            .and_then(|p| p.arn.role_name())
            .is_some_and(|n| n.to_ascii_lowercase().contains("nodeinstancerole"));
        session_is_instance || name_says_node
    }

    /// The best-ranked aws-auth entry related to the principal.
    fn best_aws_auth_match(&self) -> Option<Match<'a>> {
        let p = self.principal.as_ref()?;
        let aws = self.cfg.aws_auth.as_ref()?;
        let mut best: Option<(u8, Match<'a>)> = None;
        for m in &aws.mappings {
            let texts = [
                m.arn.as_deref(),
                m.stray_arn.as_ref().map(|(_, v)| v.as_str()),
                m.not_a_map.as_deref(),
            ];
            for (which, text) in texts.into_iter().enumerate() {
                let Some(text) = text else { continue };
                let Some((rank, cause, full_arn, note)) = relate(p, m, which, text) else {
                    continue;
                };
                // Later entries win among equals, as the authenticator's store keeps the last.
                if best.as_ref().is_none_or(|(r, _)| rank <= *r) {
                    best = Some((
                        rank,
                        Match {
                            cause,
                            mapping: m,
                            configured: text.to_owned(),
                            full_arn,
                            note,
                        },
                    ));
                }
            }
        }
        best.map(|(_, m)| m)
    }

    fn mapping_evidence(&self, m: &Mapping) -> Evidence {
        Evidence {
            source: self.cfg.aws_auth.as_ref().map(|a| a.source.clone()),
            section: Some(m.section.clone()),
            line: m.line,
            entry: m
                .arn
                .clone()
                .or_else(|| m.stray_arn.as_ref().map(|(k, v)| format!("{k}: {v}")))
                .or_else(|| m.not_a_map.clone()),
        }
    }

    /// The diagnosis an aws-auth match gives principal `p` (matches exist only for a
    /// principal, so the caller has it in hand).
    fn diagnosis_for(&self, p: &Principal<'_>, m: &Match<'_>) -> Diagnosis {
        let ev = self.mapping_evidence(m.mapping);
        let configured = &m.configured;
        let summary = match m.cause {
            Cause::RolePathInMapping => format!(
                "The mapped role ARN `{configured}` includes the role's path; the authenticator \
                 compares against the path-less ARN `{}`, so remove the path.",
                p.canonical
            ),
            Cause::SsoPathInMapping => format!(
                "The mapped role ARN `{configured}` includes the IAM Identity Center path \
                 `aws-reserved/sso.amazonaws.com/…`; remove it: map `{}`.",
                p.canonical
            ),
            Cause::AssumedRoleArnInMapping => format!(
                "`{configured}` is an STS session ARN; map the role itself, `{}`.",
                p.canonical
            ),
            Cause::WrongAccount => format!(
                "`{configured}` names account {}, but the caller is in account {}.",
                Arn::parse(configured).map(|a| a.account()).unwrap_or("?"),
                p.arn.account()
            ),
            Cause::UserPathMismatch => format!(
                "`{configured}` has a different path from the caller `{}`; IAM user ARNs keep their \
                 path, so the mapping must include it.",
                p.canonical
            ),
            Cause::WildcardInMapping => format!(
                "`{configured}` uses a wildcard; aws-auth matches exact ARNs only. Map `{}`.",
                p.canonical
            ),
            Cause::MalformedArnInMapping => format!(
                "`{configured}` is not a well-formed IAM ARN{}; map `{}`.",
                m.note, p.canonical
            ),
            Cause::NearMiss => format!(
                "`{configured}` is close to but not `{}`{}.",
                p.canonical, m.note
            ),
            Cause::EntryKeyMisspelt => m.note.clone(),
            Cause::EntryNotAMap => format!(
                "The {} item `{configured}` is a bare string; each item must be a mapping with a \
                 `{}` key (the authenticator logs `one of rolearn or SSO must be supplied`).",
                m.mapping.section,
                m.mapping.kind.arn_field()
            ),
            Cause::TopLevelKeyMisspelt => format!(
                "The entry sits under data key `{}`, which the authenticator never reads (the keys \
                 are exactly mapRoles, mapUsers, mapAccounts); rename it to `{}`.",
                m.mapping.section,
                m.mapping.kind.key()
            ),
            Cause::SectionUnparsable => m.note.clone(),
            Cause::EntryIsFine => self.fine_summary(m.mapping),
            _ => m.note.clone(),
        };
        let arn = match m.cause {
            Cause::EntryIsFine => None,
            _ => Some(m.full_arn.clone().unwrap_or_else(|| p.canonical.clone())),
        };
        let mut d = self.finish(m.cause, ev, summary, arn);
        if m.cause != Cause::EntryIsFine && d.fix.yaml.is_some() {
            // Keep the entry's own username and groups in the corrected entry.
            d.fix.yaml = Some(yaml_entry(
                SectionKind::for_principal(&p.arn),
                &p.canonical,
                &m.mapping.username,
                &m.mapping.groups,
            ));
            d.fix.commands = self.aws_auth_commands(Some(m), &p.canonical, m.mapping);
        }
        d
    }

    fn fine_summary(&self, m: &Mapping) -> String {
        let mut s = format!(
            "aws-auth maps this principal ({} line {}), so the configuration is not the cause",
            m.section,
            m.line.unwrap_or(0)
        );
        if m.username.contains("{{EC2PrivateDNSName}}")
            && self.denial.session.is_some_and(|x| !is_instance_id(x))
        {
            s.push_str(
                "; but it is a node mapping and this session is not an instance ID, so the \
                 username template cannot render: only nodes may use the node role",
            );
        }
        s.push_str(
            ". Check that the request reached this cluster (kubeconfig context, region), that the \
             token is fresh, and, for a change made seconds ago, wait and retry.",
        );
        s
    }

    /// A section that is dropped whole and could hold the principal.
    fn dropped_section(&self) -> Option<Diagnosis> {
        let p = self.principal.as_ref()?;
        let aws = self.cfg.aws_auth.as_ref()?;
        let natural = SectionKind::for_principal(&p.arn);
        let name = p.arn.role_name().or(match p.arn.kind() {
            PrincipalKind::User { name, .. } => Some(name),
            _ => None,
        })?;
        let lower_name = name.to_ascii_lowercase();
        let section = aws
            .sections
            .iter()
            .filter(|s| s.read && s.dropped)
            .find(|s| s.text.to_ascii_lowercase().contains(&lower_name))
            .or_else(|| {
                aws.sections
                    .iter()
                    .find(|s| s.read && s.dropped && s.kind == Some(natural))
            })?;
        let mut summary = format!(
            "The authenticator drops the whole {} section: {}.",
            section.key,
            section.errors.join("; ")
        );
        if !section.text.to_ascii_lowercase().contains(&lower_name) {
            summary.push_str(" Whether it holds this principal cannot be seen until it parses.");
        } else {
            summary
                .push_str(" Every principal in it is denied, nodes included. Fix the YAML there.");
        }
        Some(self.finish(
            Cause::SectionUnparsable,
            Evidence {
                source: Some(aws.source.clone()),
                section: Some(section.key.clone()),
                line: section.error_line.or(section.line),
                entry: None,
            },
            summary,
            Some(p.canonical.clone()),
        ))
    }

    /// An access entry for the same role in another account, or one edit away.
    fn related_access_entry(&self) -> Option<Diagnosis> {
        let p = self.principal.as_ref()?;
        for e in &self.cfg.entries.entries {
            let Some(lower) = strip_path_lower(&e.principal_arn) else {
                continue;
            };
            let Ok(a) = Arn::parse(&e.principal_arn) else {
                continue;
            };
            let cause = if same_resource(&a, &p.arn) && a.account() != p.arn.account() {
                Cause::WrongAccount
            } else if edit_distance(&lower, &p.lower) <= 1 || sso_suffix_changed(&a, &p.arn) {
                Cause::NearMiss
            } else {
                continue;
            };
            return Some(self.finish(
                cause,
                entry_evidence(e),
                format!(
                    "The access entry `{}` is not this principal `{}`.",
                    e.principal_arn, p.canonical
                ),
                Some(p.canonical.clone()),
            ));
        }
        None
    }

    fn mapped_account(&self) -> Option<Diagnosis> {
        let p = self.principal.as_ref()?;
        let aws = self.cfg.aws_auth.as_ref()?;
        let a = aws
            .accounts
            .iter()
            .find(|a| a.read && a.account == p.arn.account())?;
        Some(self.finish(
            Cause::EntryIsFine,
            Evidence {
                source: Some(aws.source.clone()),
                section: Some("mapAccounts".to_owned()),
                line: a.line,
                entry: Some(a.account.clone()),
            },
            format!(
                "mapAccounts lists account {}, so the authenticator maps every principal of it (as its \
                 ARN, with no groups); the configuration is not why this one is denied.",
                a.account
            ),
            None,
        ))
    }

    /// Builds the diagnosis with the mode-appropriate fix for mapping `arn`.
    fn finish(
        &self,
        cause: Cause,
        evidence: Evidence,
        summary: String,
        arn: Option<String>,
    ) -> Diagnosis {
        let mut fix = Fix {
            summary,
            yaml: None,
            commands: Vec::new(),
        };
        if let (Some(arn), Some(p)) = (arn, self.principal.as_ref()) {
            let mode = self.cfg.mode();
            let kind = SectionKind::for_principal(&p.arn);
            let (username, groups) = self.default_identity();
            let aws_auth_fix = || {
                (
                    yaml_entry(kind, &p.canonical, &username, &groups),
                    self.eksctl_create(&p.canonical, &username, &groups),
                )
            };
            match (cause, mode) {
                (Cause::EntryBoundToOldPrincipal | Cause::ShadowedByAccessEntry, _) => {
                    fix.commands.push(self.aws("delete-access-entry", &arn));
                    match self
                        .cfg
                        .entries
                        .entries
                        .iter()
                        .find(|e| e.principal_arn == arn)
                    {
                        Some(e) if e.kind.is_some() => fix.commands.extend(self.recreate(e)),
                        _ => fix.commands.extend(self.access_entry_commands(&arn)),
                    }
                }
                (_, Some(Mode::Api)) => fix.commands.extend(self.access_entry_commands(&arn)),
                (Cause::AccessEntriesIgnoredByMode, _) | (_, Some(Mode::ConfigMap)) => {
                    let (yaml, cmd) = aws_auth_fix();
                    fix.yaml = Some(yaml);
                    fix.commands.push(cmd);
                    if cause == Cause::AccessEntriesIgnoredByMode {
                        fix.commands.push(format!(
                            "aws eks update-cluster-config --name {}{} --access-config authenticationMode=API_AND_CONFIG_MAP",
                            self.cluster(),
                            self.region_flag()
                        ));
                    }
                }
                (_, Some(Mode::ApiAndConfigMap)) => {
                    let (yaml, cmd) = aws_auth_fix();
                    fix.yaml = Some(yaml);
                    fix.commands.push(cmd);
                    if cause == Cause::NoEntry {
                        fix.commands.extend(self.access_entry_commands(&arn));
                        let _ = write!(
                            fix.summary,
                            " Map it in aws-auth or (preferred on API_AND_CONFIG_MAP) with an access entry."
                        );
                    }
                }
                (_, None) => {
                    let (yaml, cmd) = aws_auth_fix();
                    fix.yaml = Some(yaml);
                    fix.commands.push(cmd);
                    if cause == Cause::NoEntry {
                        let _ = write!(
                            fix.summary,
                            " The authentication mode is unknown (give `aws eks describe-cluster` \
                             output): on an API cluster only an access entry (`aws eks \
                             create-access-entry`) helps."
                        );
                    }
                }
            }
        }
        Diagnosis {
            cause,
            evidence,
            fix,
            unread: Vec::new(),
        }
    }

    /// Commands to replace a wrong aws-auth entry with the right one.
    fn aws_auth_commands(
        &self,
        m: Option<&Match<'_>>,
        arn: &str,
        mapping: &Mapping,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let can_eksctl_delete = m.is_some_and(|m| {
            m.mapping.state == EntryState::Kept
                && m.mapping.arn.as_deref() == Some(m.configured.as_str())
        });
        if let Some(m) = m.filter(|_| can_eksctl_delete) {
            out.push(format!(
                "eksctl delete iamidentitymapping --cluster {}{} --arn {}",
                self.cluster(),
                self.region_flag(),
                m.configured
            ));
        } else {
            out.push("kubectl edit configmap aws-auth -n kube-system".to_owned());
        }
        let (username, groups) = if mapping.username.is_empty() && mapping.groups.is_empty() {
            self.default_identity()
        } else {
            (mapping.username.clone(), mapping.groups.clone())
        };
        if can_eksctl_delete {
            out.push(self.eksctl_create(arn, &username, &groups));
        }
        if self.cfg.mode() == Some(Mode::ApiAndConfigMap) {
            out.extend(self.access_entry_commands(arn));
        }
        out
    }

    fn default_identity(&self) -> (String, Vec<String>) {
        if self.is_node() {
            return (
                "system:node:{{EC2PrivateDNSName}}".to_owned(),
                vec!["system:bootstrappers".to_owned(), "system:nodes".to_owned()],
            );
        }
        let p = self.principal.as_ref();
        let username = match p.map(|p| p.arn.kind()) {
            Some(PrincipalKind::User { name, .. }) => name.to_owned(),
            _ => format!(
                "{}:{{{{SessionName}}}}",
                p.and_then(|p| p.arn.role_name()).unwrap_or("user")
            ),
        };
        (username, Vec::new())
    }

    fn cluster(&self) -> String {
        self.cfg
            .entries
            .cluster
            .name
            .clone()
            .unwrap_or_else(|| "<cluster>".to_owned())
    }

    fn region_flag(&self) -> String {
        self.cfg
            .entries
            .cluster
            .region
            .as_ref()
            .map(|r| format!(" --region {r}"))
            .unwrap_or_default()
    }

    fn aws(&self, op: &str, arn: &str) -> String {
        format!(
            "aws eks {op} --cluster-name {}{} --principal-arn {arn}",
            self.cluster(),
            self.region_flag()
        )
    }

    fn access_entry_commands(&self, arn: &str) -> Vec<String> {
        if self.is_node() {
            return vec![format!(
                "{} --type EC2_LINUX",
                self.aws("create-access-entry", arn)
            )];
        }
        vec![
            self.aws("create-access-entry", arn),
            format!(
                "{} --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy --access-scope type=cluster",
                self.aws("associate-access-policy", arn)
            ),
        ]
    }

    /// Re-creates an access entry as it was described: type, username, groups, policies.
    fn recreate(&self, e: &AccessEntry) -> Vec<String> {
        let mut create = self.aws("create-access-entry", &e.principal_arn);
        if let Some(kind) = e.kind.as_deref().filter(|k| *k != "STANDARD") {
            let _ = write!(create, " --type {kind}");
        }
        let default_username = e
            .username
            .as_deref()
            .is_none_or(|u| u.starts_with("arn:") || u.starts_with("system:node:"));
        if let Some(u) = e.username.as_deref().filter(|_| !default_username) {
            let _ = write!(create, " --username '{u}'");
        }
        if !e.groups.is_empty() {
            let _ = write!(create, " --kubernetes-groups {}", e.groups.join(" "));
        }
        let mut out = vec![create];
        for p in e.policies.iter().flatten() {
            let scope = if p.access_scope.kind == "namespace" {
                format!(
                    "type=namespace,namespaces={}",
                    p.access_scope.namespaces.join(",")
                )
            } else {
                "type=cluster".to_owned()
            };
            out.push(format!(
                "{} --policy-arn {} --access-scope {scope}",
                self.aws("associate-access-policy", &e.principal_arn),
                p.policy_arn
            ));
        }
        out
    }

    fn eksctl_create(&self, arn: &str, username: &str, groups: &[String]) -> String {
        let mut s = format!(
            "eksctl create iamidentitymapping --cluster {}{} --arn {arn}",
            self.cluster(),
            self.region_flag()
        );
        if !username.is_empty() {
            let _ = write!(s, " --username '{username}'");
        }
        for g in groups.iter().filter(|g| !g.trim().is_empty()) {
            let _ = write!(s, " --group {}", g.trim());
        }
        s
    }
}

impl SectionKind {
    /// The section a principal is usually mapped in (both match: `configmap/mapper.go`).
    fn for_principal(arn: &Arn<'_>) -> SectionKind {
        match arn.kind() {
            PrincipalKind::User { .. } => SectionKind::Users,
            _ => SectionKind::Roles,
        }
    }
}

/// How `text` (configured in mapping `m`, found under its ARN field, a stray key, or as a
/// bare item: `which` 0, 1, 2) relates to the principal: rank (lower is stronger), cause,
/// the full configured ARN when it is the same role with a path, and a note.
fn relate(
    p: &Principal<'_>,
    m: &Mapping,
    which: usize,
    text: &str,
) -> Option<(u8, Cause, Option<String>, String)> {
    let lower = text.to_ascii_lowercase();
    let exact = lower == p.lower;
    let state_cause = match m.state {
        EntryState::SectionIgnored => Some(Cause::TopLevelKeyMisspelt),
        EntryState::SectionDropped => Some(Cause::SectionUnparsable),
        EntryState::Rejected => Some(Cause::SectionUnparsable),
        _ => None,
    };
    let rejected_note = || {
        format!(
            "`{}` is a YAML list, not a string (`{}: |` is missing its `|`): the API server rejects \
             such a ConfigMap, so the aws-auth in force is still the old one. Write the section as a \
             block string.",
            m.section, m.section
        )
    };
    if exact {
        if let Some(c) = state_cause {
            let note = if m.state == EntryState::Rejected {
                rejected_note()
            } else {
                String::new()
            };
            return Some((0, c, None, note));
        }
        return match which {
            2 => Some((0, Cause::EntryNotAMap, None, String::new())),
            1 => {
                let (key, _) = m.stray_arn.as_ref()?;
                Some((
                    0,
                    Cause::EntryKeyMisspelt,
                    None,
                    format!(
                        "The ARN is under key `{key}`, which a {} entry does not have (the \
                         authenticator logs `{}`); use `{}`.",
                        m.section,
                        match m.kind {
                            SectionKind::Users => "value for userarn must be supplied",
                            _ => "one of rolearn or SSO must be supplied",
                        },
                        m.kind.arn_field()
                    ),
                ))
            }
            _ => match &m.state {
                EntryState::Dropped(reason) => Some((
                    0,
                    Cause::EntryKeyMisspelt,
                    None,
                    format!("The authenticator drops this entry: {reason}."),
                )),
                _ if m.arn_key_not_lowercase() => Some((
                    0,
                    Cause::EntryKeyMisspelt,
                    None,
                    format!(
                        "The key `{}` is not lower case: JSON-based authenticator builds accept it, \
                         but the yaml-based ones (v0.5.8–v0.5.27) and, by EKS users' reports, EKS \
                         silently never match it. Write `{}`.",
                        m.arn_key.as_deref().unwrap_or(""),
                        m.kind.arn_field()
                    ),
                )),
                _ => Some((9, Cause::EntryIsFine, None, String::new())),
            },
        };
    }
    let with_state = |rank: u8, cause: Cause, full: Option<String>, note: String| {
        let note = match m.state {
            EntryState::Rejected => format!("{note} Also: {}", rejected_note()),
            _ => note,
        };
        Some((rank, cause, full, note))
    };
    if text.contains('*') {
        if glob_match(&lower, &p.lower) {
            return with_state(1, Cause::WildcardInMapping, None, String::new());
        }
        return None;
    }
    let Ok(a) = Arn::parse(text) else {
        return loose_malformed(text, p)
            .then(|| (2, Cause::MalformedArnInMapping, None, String::new()));
    };
    // Same role, with a path.
    if let PrincipalKind::Role { path, .. } = a.kind()
        && !path.is_empty()
        && a.strip_path().to_ascii_lowercase() == p.lower
    {
        let cause = if path
            .to_ascii_lowercase()
            .starts_with("aws-reserved/sso.amazonaws.com")
        {
            Cause::SsoPathInMapping
        } else {
            Cause::RolePathInMapping
        };
        return with_state(1, cause, Some(a.as_str().to_owned()), String::new());
    }
    if let PrincipalKind::AssumedRole { .. } = a.kind()
        && a.canonical().to_ascii_lowercase() == p.lower
    {
        return with_state(1, Cause::AssumedRoleArnInMapping, None, String::new());
    }
    if let (PrincipalKind::User { name: n1, .. }, PrincipalKind::User { name: n2, .. }) =
        (a.kind(), p.arn.kind())
        && n1.eq_ignore_ascii_case(n2)
        && a.account() == p.arn.account()
    {
        return with_state(1, Cause::UserPathMismatch, None, String::new());
    }
    if same_resource(&a, &p.arn) && a.account() != p.arn.account() {
        return with_state(1, Cause::WrongAccount, None, String::new());
    }
    if (!a.region().is_empty()
        || text.chars().any(char::is_whitespace)
        || !a.service().eq_ignore_ascii_case(expected_service(&a)))
        && loose_malformed(text, p)
    {
        let note = if !a.region().is_empty() {
            format!(
                " (IAM ARNs have no region, but this one has `{}`)",
                a.region()
            )
        } else {
            String::new()
        };
        return with_state(2, Cause::MalformedArnInMapping, None, note);
    }
    if sso_suffix_changed(&a, &p.arn) {
        return with_state(
            3,
            Cause::NearMiss,
            None,
            " (the permission set's role suffix changed, as it does when IAM Identity Center \
             re-provisions the permission set)"
                .to_owned(),
        );
    }
    if edit_distance(&a.strip_path().to_ascii_lowercase(), &p.lower) <= 1 {
        return with_state(
            3,
            Cause::NearMiss,
            None,
            " (one character differs)".to_owned(),
        );
    }
    None
}

/// The service a principal ARN of this kind must name.
fn expected_service(a: &Arn<'_>) -> &'static str {
    match a.kind() {
        PrincipalKind::AssumedRole { .. } | PrincipalKind::FederatedUser { .. } => "sts",
        _ => "iam",
    }
}

/// Whether `text`, with whitespace and any region removed and the service forced to `iam`,
/// names the principal.
fn loose_malformed(text: &str, p: &Principal<'_>) -> bool {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let parts: Vec<&str> = squeezed.splitn(6, ':').collect();
    if parts.len() != 6 {
        return false;
    }
    let rebuilt = format!("arn:{}:iam::{}:{}", parts[1], parts[4], parts[5]);
    Arn::parse(&rebuilt)
        .map(|a| a.strip_path().to_ascii_lowercase() == p.lower)
        .unwrap_or(false)
}

/// Same kind, same name (paths ignored for roles), any account.
fn same_resource(a: &Arn<'_>, b: &Arn<'_>) -> bool {
    match (a.kind(), b.kind()) {
        (PrincipalKind::Role { name: x, .. }, PrincipalKind::Role { name: y, .. }) => {
            x.eq_ignore_ascii_case(y)
        }
        (PrincipalKind::User { .. }, PrincipalKind::User { .. }) => {
            a.resource().eq_ignore_ascii_case(b.resource())
        }
        (PrincipalKind::AssumedRole { .. }, PrincipalKind::Role { name: y, .. }) => {
            a.role_name().is_some_and(|x| x.eq_ignore_ascii_case(y))
        }
        _ => false,
    }
}

/// Two `AWSReservedSSO_<permission set>_<hex>` roles of one account and permission set whose
/// hex suffix differs.
fn sso_suffix_changed(a: &Arn<'_>, b: &Arn<'_>) -> bool {
    let split = |n: &str| {
        let lower = n.to_ascii_lowercase();
        let rest = lower.strip_prefix("awsreservedsso_")?.to_owned();
        let (set, hex) = rest.rsplit_once('_')?;
        hex.chars()
            .all(|c| c.is_ascii_hexdigit())
            .then(|| (set.to_owned(), hex.to_owned()))
    };
    let (Some(x), Some(y)) = (a.role_name().and_then(split), b.role_name().and_then(split)) else {
        return false;
    };
    a.account() == b.account() && x.0 == y.0 && x.1 != y.1
}

/// `*` matches any run of characters, `?` one.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn strip_path_lower(arn: &str) -> Option<String> {
    Arn::parse(arn)
        .ok()
        .map(|a| a.strip_path().to_ascii_lowercase())
}

fn entry_evidence(e: &AccessEntry) -> Evidence {
    Evidence {
        source: e.sources.first().cloned(),
        section: Some("access_entries".to_owned()),
        line: None,
        entry: Some(e.principal_arn.clone()),
    }
}

/// `^i-(\w{8}|\w{17})$` (aws-iam-authenticator `pkg/server/server.go`, `instanceIDPattern`).
fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|rest| {
        (rest.len() == 8 || rest.len() == 17)
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// Whether the entry was created within [`PROPAGATION_SECONDS`] before the denial.
fn within_propagation(created: Option<&str>, denied: Option<&str>) -> bool {
    let (Some(c), Some(d)) = (created, denied) else {
        return false;
    };
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    match (parse(c), parse(d)) {
        (Some(c), Some(d)) => {
            let secs = (d - c).num_seconds();
            (0..=PROPAGATION_SECONDS).contains(&secs)
        }
        _ => false,
    }
}

/// One aws-auth entry as YAML, for `mapRoles` or `mapUsers`.
pub fn yaml_entry(kind: SectionKind, arn: &str, username: &str, groups: &[String]) -> String {
    let mut s = format!("- {}: {arn}\n", kind.arn_field());
    if !username.is_empty() {
        let _ = writeln!(s, "  username: {}", quote_if_needed(username));
    }
    let groups: Vec<&str> = groups
        .iter()
        .map(|g| g.trim())
        .filter(|g| !g.is_empty())
        .collect();
    if !groups.is_empty() {
        s.push_str("  groups:\n");
        for g in groups {
            let _ = writeln!(s, "    - {}", quote_if_needed(g));
        }
    }
    s
}

/// Quotes text that YAML would not read back as the same string (`{{`, YAML 1.1 booleans,
/// numbers).
fn quote_if_needed(s: &str) -> String {
    let plain_ok = super::yaml::resolve_plain(s) == super::yaml::Kind::String
        && !s.starts_with([
            '{', '[', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '-', '?',
        ])
        && !s.contains(": ")
        && !s.contains(" #");
    if plain_ok {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}
