//! How to get back into a cluster whose creator may be gone: one path per case of IAM's
//! answer, with commands to paste.
//!
//! The facts the paths rest on: the creator's static `kubernetes-admin` mapping and aws-auth
//! match by ARN, so an IAM user or role re-created under the same name gets in again
//! (aws-iam-authenticator issue #281, maintainer's answer; AWS re:Post "EKS cluster creator
//! was deleted"); an access entry is bound to the principal's unique id, so a re-created
//! principal needs its entry re-created (EKS User Guide, "Create access entries"); any
//! principal allowed `eks:UpdateClusterConfig`, `eks:CreateAccessEntry` and
//! `eks:AssociateAccessPolicy` can switch the cluster to `API_AND_CONFIG_MAP` and give itself
//! an admin entry, without Kubernetes access (EKS User Guide, "Change authentication mode to
//! use access entries"); IAM Identity Center owns `AWSReservedSSO_*` roles, which cannot be
//! re-created by hand (IAM Identity Center User Guide, "Permission sets").

use serde::Serialize;

use crate::access::{IamState, IamStatus, Mode};
use crate::classify::{Arn, PrincipalKind};

/// A recovery path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recovery {
    /// `use_it`, `recreate_same_name`, `recreate_access_entry`, `access_entry_api`,
    /// `sso_reassign` or `check_iam`.
    pub case: &'static str,
    /// What to do, in words.
    pub summary: String,
    /// Commands, in order; `<…>` marks what to fill in.
    pub commands: Vec<String>,
}

/// What the path depends on.
pub(super) struct Situation<'a> {
    /// The creator's ARN (with its path when known).
    pub arn: &'a str,
    /// IAM's answer, judged.
    pub state: &'a IamState,
    /// The cluster's authentication mode, when known.
    pub mode: Option<Mode>,
    /// Whether the logs show the creator's static mapping (the CONFIG_MAP-era admin).
    pub static_mapping: bool,
    /// Whether the creator has an access entry.
    pub has_entry: bool,
    /// Cluster and region for the commands.
    pub cluster: &'a str,
    /// Region.
    pub region: &'a str,
}

/// The recovery path for one identity.
pub(super) fn plan(s: &Situation<'_>) -> Recovery {
    let parsed = Arn::parse(s.arn).ok();
    let sso = parsed.as_ref().is_some_and(Arn::is_sso_role);
    let role = matches!(
        parsed.as_ref().map(Arn::kind),
        Some(PrincipalKind::Role { .. })
    );
    let by_entry = s.mode == Some(Mode::Api) || (s.has_entry && !s.static_mapping);
    let login = login(s, role);
    match s.state.status {
        IamStatus::Exists if sso => Recovery {
            case: "sso_reassign",
            summary: format!(
                "{} exists: sign in through IAM Identity Center with its permission set. If the \
                 person who created the cluster (`person`) was removed from IAM Identity \
                 Center, assign another user to the same permission set in this account (the \
                 role stays the same)",
                s.arn
            ),
            commands: [
                "aws sso-admin create-account-assignment --instance-arn <SSO_INSTANCE_ARN> \
                 --target-type AWS_ACCOUNT --target-id <ACCOUNT_ID> --permission-set-arn \
                 <PERMISSION_SET_ARN> --principal-type USER --principal-id <USER_ID>"
                    .to_owned(),
            ]
            .into_iter()
            .chain(login)
            .collect(),
        },
        IamStatus::Exists => Recovery {
            case: "use_it",
            summary: format!(
                "{} still exists and is the principal that created the cluster: act as it and \
                 kubectl works as cluster admin",
                s.arn
            ),
            commands: login,
        },
        IamStatus::Recreated if !by_entry => Recovery {
            case: "use_it",
            summary: format!(
                "{} was re-created under the same name; the creator's mapping matches by ARN, so \
                 the new principal gets in as it did",
                s.arn
            ),
            commands: login,
        },
        IamStatus::Recreated => Recovery {
            case: "recreate_access_entry",
            summary: format!(
                "{} was re-created; its access entry is bound to the old unique id and no longer \
                 works. Re-create the entry, as any identity allowed the EKS access-entry API",
                s.arn
            ),
            commands: entry_commands(s, s.arn, true),
        },
        IamStatus::Gone if sso => Recovery {
            case: "access_entry_api",
            summary: format!(
                "{} is gone. IAM Identity Center owns AWSReservedSSO_ roles: it cannot be \
                 re-created by hand, and provisioning the permission set again gives a new role \
                 name suffix. Give another identity an admin access entry instead",
                s.arn
            ),
            commands: entry_commands(s, "<YOUR_ROLE_ARN>", false),
        },
        IamStatus::Gone if !by_entry => Recovery {
            case: "recreate_same_name",
            summary: format!(
                "{} is gone. Its mapping matches by ARN: create a {} of the same name{} and act \
                 as it. Or, with no IAM change, give another identity an admin access entry \
                 (the last commands)",
                s.arn,
                if role { "role" } else { "user" },
                if path_of(s.arn).is_empty() {
                    String::new()
                } else {
                    " and path".to_owned()
                }
            ),
            commands: recreate(s.arn, role)
                .into_iter()
                .chain(login)
                .chain(entry_commands(s, "<YOUR_ROLE_ARN>", false))
                .collect(),
        },
        IamStatus::Gone => Recovery {
            case: "access_entry_api",
            summary: format!(
                "{} is gone, and its access entry was bound to its unique id: re-creating the \
                 name does not bring it back. Give another identity an admin access entry",
                s.arn
            ),
            commands: entry_commands(s, "<YOUR_ROLE_ARN>", false),
        },
        IamStatus::Unknown => Recovery {
            case: "check_iam",
            summary: format!(
                "IAM could not tell whether {} exists ({}). Check it by hand; whatever the \
                 answer, an identity allowed the EKS access-entry API can give itself an admin \
                 entry (the last commands)",
                s.arn, s.state.reason
            ),
            commands: check(s.arn, role)
                .into_iter()
                .chain(entry_commands(s, "<YOUR_ROLE_ARN>", false))
                .collect(),
        },
    }
}

/// `role/path/` of an ARN (empty when none).
fn path_of(arn: &str) -> String {
    Arn::parse(arn)
        .map(|a| a.path().to_owned())
        .unwrap_or_default()
}

fn name_of(arn: &str) -> String {
    Arn::parse(arn)
        .ok()
        .and_then(|a| match a.kind() {
            PrincipalKind::Role { name, .. } | PrincipalKind::User { name, .. } => {
                Some(name.to_owned())
            }
            _ => None,
        })
        .unwrap_or_else(|| "<NAME>".to_owned())
}

/// Acting as the principal, then a kubeconfig for the cluster.
fn login(s: &Situation<'_>, role: bool) -> Vec<String> {
    let kube = format!(
        "aws eks update-kubeconfig --name {} --region {}",
        s.cluster, s.region
    );
    if role {
        vec![
            format!(
                "aws sts assume-role --role-arn {} --role-session-name recovery   # or a profile \
                 with this role_arn",
                s.arn
            ),
            format!("{kube} --role-arn {}", s.arn),
            "kubectl auth can-i '*' '*' --all-namespaces".to_owned(),
        ]
    } else {
        vec![
            format!("{kube}   # with the user's access keys (AWS_PROFILE)"),
            "kubectl auth can-i '*' '*' --all-namespaces".to_owned(),
        ]
    }
}

fn recreate(arn: &str, role: bool) -> Vec<String> {
    let name = name_of(arn);
    let path = path_of(arn);
    let path = if path.is_empty() {
        String::new()
    } else {
        format!(" --path /{path}/")
    };
    if role {
        vec![format!(
            "aws iam create-role --role-name {name}{path} --assume-role-policy-document \
             file://trust.json   # trust.json: who may assume it"
        )]
    } else {
        vec![
            format!("aws iam create-user --user-name {name}{path}"),
            format!("aws iam create-access-key --user-name {name}"),
        ]
    }
}

fn check(arn: &str, role: bool) -> Vec<String> {
    let name = name_of(arn);
    if role {
        vec![format!("aws iam get-role --role-name {name}")]
    } else {
        vec![format!("aws iam get-user --user-name {name}")]
    }
}

/// The EKS-API path: switch a CONFIG_MAP cluster to `API_AND_CONFIG_MAP` (never back), then
/// an admin entry for `principal`; with `replace`, delete its stale entry first.
fn entry_commands(s: &Situation<'_>, principal: &str, replace: bool) -> Vec<String> {
    let (c, r) = (s.cluster, s.region);
    let partition = Arn::parse(s.arn)
        .map_or("aws", |a| a.partition())
        .to_owned();
    let mut out = Vec::new();
    if s.mode.is_none_or(|m| m == Mode::ConfigMap) {
        out.push(format!(
            "aws eks update-cluster-config --name {c} --region {r} --access-config \
             authenticationMode=API_AND_CONFIG_MAP   # one-way; needs an access-entry platform \
             version"
        ));
    }
    if replace {
        out.push(format!(
            "aws eks delete-access-entry --cluster-name {c} --region {r} --principal-arn {principal}"
        ));
    }
    out.push(format!(
        "aws eks create-access-entry --cluster-name {c} --region {r} --principal-arn {principal}"
    ));
    out.push(format!(
        "aws eks associate-access-policy --cluster-name {c} --region {r} --principal-arn \
         {principal} --policy-arn arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy \
         --access-scope type=cluster"
    ));
    out
}
