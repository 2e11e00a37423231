//! Whether an IAM principal still exists, and whether it is the one a log or an access entry
//! saw: the facts IAM's `GetRole` / `GetUser` give (the `aws` crate asks), and what they mean.
//!
//! EKS binds an access entry to the principal's unique id (`AROA…`, `AIDA…`), so an entry
//! outlives neither a deleted nor a deleted-and-re-created principal (EKS User Guide, "Create
//! access entries": "If you delete the IAM principal and then recreate it with the same ARN,
//! the access entry won't work"), while aws-auth and the creator's static mapping match by
//! ARN, which a re-created principal of the same name satisfies again (aws-iam-authenticator
//! issue #281). This module only judges; it calls nothing.

use serde::Serialize;

use crate::classify::{Arn, PrincipalKind};

/// What IAM said about one principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IamCheck {
    /// The ARN asked about, as given.
    pub arn: String,
    /// The answer.
    pub outcome: IamOutcome,
}

/// IAM's answer for one principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IamOutcome {
    /// `GetRole` / `GetUser` found it.
    Exists {
        /// Its ARN as IAM gives it (with its path).
        arn: String,
        /// Its unique id (`RoleId` / `UserId`).
        unique_id: String,
        /// `CreateDate`, RFC 3339.
        created: Option<String>,
    },
    /// `NoSuchEntity`: there is no role or user of that name.
    NotFound,
    /// The call was refused; `action` is the IAM action to grant (`iam:GetRole`).
    Denied {
        /// The IAM action.
        action: String,
        /// The service's message.
        message: String,
    },
    /// The call failed otherwise (unreachable, throttled through every retry).
    Failed {
        /// What failed.
        reason: String,
    },
    /// Not asked: the ARN is no IAM role or user (root, a federated user, not an ARN).
    NotAsked {
        /// Why.
        reason: String,
    },
}

/// What the principal's state means for getting in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IamStatus {
    /// It exists and is the principal the evidence saw.
    Exists,
    /// It exists under the same name, but is a new principal: its unique id differs from the
    /// one the logs or the entry saw, or it was created after the cluster.
    Recreated,
    /// There is no such role or user.
    Gone,
    /// IAM could not be asked (denied, failed, not an IAM principal).
    Unknown,
}

impl IamStatus {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            IamStatus::Exists => "exists",
            IamStatus::Recreated => "recreated",
            IamStatus::Gone => "gone",
            IamStatus::Unknown => "unknown",
        }
    }
}

/// The judged state of one principal, as the reports show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IamState {
    /// `exists`, `recreated`, `gone` or `unknown`.
    pub status: IamStatus,
    /// The ARN IAM gives (with its path), when it exists.
    pub arn: Option<String>,
    /// Its unique id now, when it exists.
    pub unique_id: Option<String>,
    /// Its `CreateDate`, when it exists.
    pub created: Option<String>,
    /// The IAM action that was denied, when IAM refused.
    pub denied_action: Option<String>,
    /// One sentence: why this status.
    pub reason: String,
}

/// How principals are compared: the lower-cased ARN the authenticator would match, without a
/// role's path (a static mapping, an access entry or CloudTrail's `sessionIssuer.arn` may carry
/// one; callers' canonical ARNs never do; mappers compare case-insensitively).
pub fn principal_key(arn: &str) -> String {
    Arn::parse(arn)
        .map_or_else(|_| arn.to_owned(), |a| a.strip_path().into_owned())
        .to_ascii_lowercase()
}

/// The IAM call that answers for `arn`: `GetRole` with the role name (the last path segment)
/// or `GetUser` with the user name; `None` for anything else (root, federated users,
/// sessions are asked as their role by the caller).
pub fn lookup_of(arn: &str) -> Option<(IamKind, String)> {
    let a = Arn::parse(arn).ok()?;
    match a.kind() {
        PrincipalKind::Role { name, .. } => Some((IamKind::Role, name.to_owned())),
        PrincipalKind::AssumedRole { .. } => a.role_name().map(|n| (IamKind::Role, n.to_owned())),
        PrincipalKind::User { name, .. } => Some((IamKind::User, name.to_owned())),
        _ => None,
    }
}

/// Which IAM call asks about a principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IamKind {
    /// `GetRole`.
    Role,
    /// `GetUser`.
    User,
}

impl IamKind {
    /// The IAM action a call of this kind needs.
    pub const fn action(self) -> &'static str {
        match self {
            IamKind::Role => "iam:GetRole",
            IamKind::User => "iam:GetUser",
        }
    }
}

/// Judges an answer against what the evidence saw: `seen_ids` are the unique ids the logs
/// (authenticator `uid`, audit `principalId`, CloudTrail) recorded for the principal, and
/// `since_ms` the earliest time the evidence saw it (the cluster's creation for the creator):
/// a principal created after that is a new one under the old name.
pub fn judge(check: &IamCheck, seen_ids: &[String], since_ms: Option<i64>) -> IamState {
    let state = |status, reason: String| IamState {
        status,
        arn: None,
        unique_id: None,
        created: None,
        denied_action: None,
        reason,
    };
    match &check.outcome {
        IamOutcome::Exists {
            arn,
            unique_id,
            created,
        } => {
            // The id the evidence saw is the principal's now: the same one, whatever its
            // creation date says. Otherwise another id, or a creation after the evidence,
            // means a new principal under the old name.
            let same = seen_ids.iter().any(|id| id.eq_ignore_ascii_case(unique_id));
            let other_id = seen_ids
                .iter()
                .find(|id| !id.eq_ignore_ascii_case(unique_id))
                .filter(|_| !same);
            let created_ms = created.as_deref().and_then(crate::time::parse_timestamp_ms);
            let newer = !same && matches!((created_ms, since_ms), (Some(c), Some(s)) if c > s);
            let (status, reason) = match (other_id, newer) {
                (Some(old), _) => (
                    IamStatus::Recreated,
                    format!(
                        "{arn} exists, but its unique id is {unique_id} and the evidence saw \
                         {old}: it was deleted and re-created under the same name"
                    ),
                ),
                (None, true) => (
                    IamStatus::Recreated,
                    format!(
                        "{arn} exists, but was created {}, after the evidence saw it: it was \
                         deleted and re-created under the same name",
                        created.as_deref().unwrap_or_default()
                    ),
                ),
                (None, false) => (
                    IamStatus::Exists,
                    match seen_ids.first() {
                        Some(id) => {
                            format!("{arn} exists, with the unique id {id} the evidence saw")
                        }
                        None => format!("{arn} exists (unique id {unique_id})"),
                    },
                ),
            };
            IamState {
                arn: Some(arn.clone()),
                unique_id: Some(unique_id.clone()),
                created: created.clone(),
                ..state(status, reason)
            }
        }
        IamOutcome::NotFound => state(
            IamStatus::Gone,
            format!("{}: IAM has no such principal (NoSuchEntity)", check.arn),
        ),
        IamOutcome::Denied { action, message } => IamState {
            denied_action: Some(action.clone()),
            ..state(
                IamStatus::Unknown,
                format!("{action} denied ({message}): grant it, or check by hand"),
            )
        },
        IamOutcome::Failed { reason } => state(
            IamStatus::Unknown,
            format!("IAM could not be asked: {reason}"),
        ),
        IamOutcome::NotAsked { reason } => state(IamStatus::Unknown, reason.clone()),
    }
}
