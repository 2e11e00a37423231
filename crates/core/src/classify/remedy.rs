//! What to do about a class: one summary line plus commands a user can paste.
//!
//! This module owns the remedy text (causes as in
//! `docs/authenticator-log.md#failure-classes`). It fills commands with what the caller knows
//! ([`RemedyContext`]) and leaves clear `<PLACEHOLDER>`s for the rest; it states nothing its
//! sources do not. Values that come
//! from log lines are shell-quoted when they hold anything but safe characters, because a
//! pasted command must never run text an attacker put in a log field.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::arn::{Arn, Partition};
use super::taxonomy::Class;

/// What is known about the failure, all optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RemedyContext<'a> {
    /// EKS cluster name.
    pub cluster: Option<&'a str>,
    /// AWS region of the cluster.
    pub region: Option<&'a str>,
    /// Canonical ARN of the denied principal.
    pub arn: Option<&'a str>,
    /// Account id of the principal.
    pub account: Option<&'a str>,
    /// Kubernetes username (from the mapping, when one is known).
    pub username: Option<&'a str>,
    /// Role session name from the paired `STS response`.
    pub session: Option<&'a str>,
    /// EC2 instance id of a node-template failure.
    pub instance_id: Option<&'a str>,
    /// STS or EC2 request id, for a support case.
    pub request_id: Option<&'a str>,
}

/// A remedy: what to do, and the commands to do it with.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Remedy {
    /// One or two sentences.
    pub summary: String,
    /// Commands to paste, in order; `<UPPER_CASE>` marks a value to fill in.
    pub commands: Vec<String>,
}

/// Builds the remedy for `class`, filled with what `ctx` knows.
pub fn remedy(class: Class, ctx: &RemedyContext<'_>) -> Remedy {
    let v = Values::new(ctx);
    let Values {
        cluster: c,
        region: r,
        ..
    } = &v;
    let update_kubeconfig = format!("aws eks update-kubeconfig --name {c} --region {r}");
    let get_token = format!("aws eks get-token --cluster-name {c} --region {r}");
    let whoami = "aws sts get-caller-identity".to_owned();
    let view_kubeconfig = "kubectl config view --minify".to_owned();
    let aws_auth = "kubectl -n kube-system get configmap aws-auth -o yaml".to_owned();

    use Class::*;
    let (summary, commands): (String, Vec<String>) = match class {
        TokenNotIam => (
            "The caller sent a bearer token that is not an IAM token (expired service-account, OIDC or static token). Find the caller in the kube-apiserver audit log (401s: sourceIPs, userAgent); this is usually not an IAM problem.".into(),
            vec![view_kubeconfig],
        ),
        TokenTooLarge => (
            "The client sends something other than an IAM token (over 4096 bytes). Check the kubeconfig user and regenerate the token.".into(),
            vec![view_kubeconfig, get_token],
        ),
        TokenCorrupt => (
            "The token was truncated or corrupted (copy-paste, environment-variable quoting). Regenerate it instead of copying it.".into(),
            vec![get_token],
        ),
        TokenForgedOrTampered => (
            "The token was hand-built or altered. Treat it as a security event: find the caller in the kube-apiserver audit log and investigate.".into(),
            vec![],
        ),
        TokenWrongStsEndpoint => (
            "The token was signed for an STS endpoint this cluster does not accept. Generate it in the cluster's partition and region, against the regional STS endpoint, and update old CLIs.".into(),
            vec![
                "export AWS_STS_REGIONAL_ENDPOINTS=regional".into(),
                get_token,
                "aws --version".into(),
            ],
        ),
        TokenNotClusterBound => (
            "The token is a generic pre-signed URL without the cluster id header. Use `aws eks get-token` or aws-iam-authenticator, for example through an exec kubeconfig.".into(),
            vec![update_kubeconfig],
        ),
        TokenBadParams => (
            "The token's X-Amz-Expires or X-Amz-Date is missing or malformed: a custom token generator is broken. Use `aws eks get-token` instead.".into(),
            vec![get_token],
        ),
        TokenExpired => (
            "The token is older than 15 minutes. Generate one per request (exec kubeconfig; in Terraform an `exec` block, not a static token) and check the client clock.".into(),
            vec![update_kubeconfig, "date -u".into()],
        ),
        StsWrongClusterOrSecret => (
            format!("STS rejected the signature: the token was made for another cluster name, or the secret key is wrong. Regenerate the kubeconfig for exactly {c} (check --cluster-name in its exec args) and check the credentials."),
            vec![update_kubeconfig, whoami],
        ),
        StsClockSkew => (
            "The client clock is more than 15 minutes off. Fix NTP on the client, then regenerate the token.".into(),
            vec!["date -u".into(), "timedatectl status".into(), "sudo timedatectl set-ntp true".into()],
        ),
        StsInvalidCredentials => (
            "STS does not know the access key: deleted, inactive or mistyped key, a temporary key without its session token, or a session token not valid in an opt-in region. Check the same profile with get-caller-identity and refresh or rotate the credentials.".into(),
            vec![whoami, "aws sso login".into()],
        ),
        StsExpiredCredentials => (
            "The token was signed with expired temporary credentials. Drop stale environment variables and log in again.".into(),
            vec![
                "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN".into(),
                "aws sso login".into(),
                whoami,
            ],
        ),
        StsRegionDisabled => (
            format!("STS is not activated in the token's region for account {}. Activate it in the IAM account settings, or generate tokens against a region where it is active.", v.account),
            vec![format!("aws eks get-token --cluster-name {c} --region <ACTIVE_STS_REGION>")],
        ),
        StsThrottled => (
            "STS throttled GetCallerIdentity. Reduce token churn (cache tokens in clients, fewer parallel CI jobs) and spread clients over regional endpoints; it is transient.".into(),
            vec![],
        ),
        StsUnreachable => (
            "The control plane could not reach STS. It is usually transient: retry, check AWS Health, and if one region's endpoint keeps failing have clients use another regional endpoint.".into(),
            vec![],
        ),
        StsServerError => (
            format!("STS answered with a server error; retry.{}", v.request_id_note()),
            vec![],
        ),
        StsRejectedOpaque => (
            "STS rejected the token but this authenticator build hides why. The likely causes are invalid credentials, expired credentials or a token for another cluster name: check all three.".into(),
            vec![whoami, update_kubeconfig],
        ),
        StsRejectedOther => (
            format!("STS rejected the token with an uncommon code; read its code and message.{}", v.request_id_note()),
            vec![whoami],
        ),
        StsResponseUnusable => (
            format!("STS answered but its identity could not be used. This should not happen with real STS; investigate the caller and escalate.{}", v.request_id_note()),
            vec![],
        ),
        AccessEntryArnMismatch => (
            format!("An access entry is bound to this principal's unique id under another ARN (renamed or moved principal). Delete it and create it again with the current ARN {}.", v.arn),
            vec![
                format!("aws eks list-access-entries --cluster-name {c} --region {r}"),
                format!("aws eks delete-access-entry --cluster-name {c} --principal-arn <OLD_PRINCIPAL_ARN> --region {r}"),
                v.create_access_entry(&v.arn),
                v.associate_policy(&v.arn),
            ],
        ),
        NodeTemplateSessionNotInstance => (
            format!("A node-role mapping was used by a session that is not an EC2 instance{}. Do not let people or tools use the node role: give them their own role and mapping; nodes must use the instance profile.", v.session_note()),
            vec![v.create_access_entry("<YOUR_OWN_ROLE_ARN>"), v.associate_policy("<YOUR_OWN_ROLE_ARN>")],
        ),
        NodeTemplateEc2Denied | Ec2BatchFailure => (
            "The cluster IAM role may not call ec2:DescribeInstances. Attach AmazonEKSClusterPolicy to the cluster role.".into(),
            vec![
                format!("aws eks describe-cluster --name {c} --region {r} --query cluster.roleArn --output text"),
                format!("aws iam attach-role-policy --role-name <CLUSTER_ROLE_NAME> --policy-arn arn:{}:iam::aws:policy/AmazonEKSClusterPolicy", v.partition),
            ],
        ),
        NodeTemplateInstanceNotFound => (
            format!("EC2 did not find instance {} (another account or region, or terminated). Cross-account nodes need a {{{{SessionName}}}}-based username or same-account nodes.", v.instance_id),
            vec![format!("aws ec2 describe-instances --instance-ids {} --region {r}", v.instance_id)],
        ),
        NodeTemplateEc2Throttled => (
            "EC2 throttled the node-name lookup, or a parallel lookup did not finish in time. It is transient during scale-out.".into(),
            vec![],
        ),
        NodeTemplateOther => (
            "A username or group template in the mapping could not be rendered. Fix the template in aws-auth or the access entry.".into(),
            vec![aws_auth, format!("aws eks list-access-entries --cluster-name {c} --region {r}")],
        ),
        ReservedUsername => (
            format!("The mapping gives username {} with a reserved prefix. Rename it in the mapping.", v.username),
            vec![
                "kubectl -n kube-system edit configmap aws-auth".into(),
                format!("aws eks update-access-entry --cluster-name {c} --principal-arn {} --username <NEW_USERNAME> --region {r}", v.arn),
            ],
        ),
        MapperBackendError => (
            "A mapping backend failed during the lookup. Check the backend health lines (aws-auth watch, access-entry file) around this time.".into(),
            vec![aws_auth],
        ),
        IdentityNotMapped => {
            let stripped = v.stripped_arn();
            (
                format!("{} is not mapped. Add an access entry, or an aws-auth entry for the path-less ARN. A role session ARN (arn:…:sts::…:assumed-role/…) in aws-auth never matches: map the role ARN. A just-created access entry can take a moment to apply.", v.arn),
                vec![
                    v.create_access_entry(&v.arn),
                    v.associate_policy(&v.arn),
                    v.eksctl_mapping(&stripped, &v.username, &["<GROUP>"]),
                ],
            )
        }
        NodeRoleNotMapped => (
            format!("The node role {} is not mapped, so nodes cannot join or go NotReady{}. Restore its EC2_LINUX access entry or its aws-auth node mapping.", v.arn, v.session_note()),
            vec![
                format!("aws eks create-access-entry --cluster-name {c} --principal-arn {} --type EC2_LINUX --region {r}", v.arn),
                v.eksctl_mapping(&v.stripped_arn(), "'system:node:{{EC2PrivateDNSName}}'", &["system:bootstrappers", "system:nodes"]),
            ],
        ),
        SsoRoleNotMapped => {
            let stripped = v.stripped_arn();
            (
                format!("The IAM Identity Center role is not mapped. Map {stripped} without its aws-reserved/sso.amazonaws.com/ path, and re-check the suffix after the permission set is re-provisioned."),
                vec![
                    v.create_access_entry(&stripped),
                    v.associate_policy(&stripped),
                    v.eksctl_mapping(&stripped, &v.username, &["<GROUP>"]),
                ],
            )
        }
        PrincipalRecreated => (
            format!("{} was deleted and re-created, so its access entry is bound to the old unique id. Delete the access entry and create it again.", v.arn),
            vec![
                format!("aws eks delete-access-entry --cluster-name {c} --principal-arn {} --region {r}", v.arn),
                v.create_access_entry(&v.arn),
                v.associate_policy(&v.arn),
            ],
        ),
        RolePathInMapping => {
            let stripped = v.stripped_arn();
            (
                format!("The role is mapped with an IAM path, which never matches. Change rolearn in aws-auth to {stripped}."),
                vec![
                    "kubectl -n kube-system edit configmap aws-auth".into(),
                    v.eksctl_mapping(&stripped, &v.username, &["<GROUP>"]),
                ],
            )
        }
        WebhookBadRequest => (
            "Something other than kube-apiserver called the authentication webhook. Find out what is calling it.".into(),
            vec![],
        ),
        BackendAwsAuthUnhealthy => (
            "The aws-auth watch failed. It is transient while the control plane starts; if it persists, open an AWS support case.".into(),
            vec![],
        ),
        BackendAwsAuthInvalid => (
            "aws-auth has entries that do not parse, and those entries are silently dropped. Fix the YAML.".into(),
            vec![aws_auth, "kubectl -n kube-system edit configmap aws-auth".into()],
        ),
        BackendAwsAuthDeleted => (
            "aws-auth was deleted, so every aws-auth mapping is gone (including node roles). Re-create it from a backup, or move the mappings to access entries.".into(),
            vec![
                aws_auth,
                format!("aws eks list-access-entries --cluster-name {c} --region {r}"),
            ],
        ),
        BackendDynamicFileError => (
            "The authenticator could not watch or parse its access-entry file. This is EKS-internal; escalate to AWS support if it persists.".into(),
            vec![],
        ),
        Unclassified => (
            "The failure did not match a known pattern; read the raw error.".into(),
            vec![],
        ),
    };
    Remedy { summary, commands }
}

/// Context values, shell-quoted when known and placeholders otherwise.
struct Values<'a> {
    cluster: Cow<'a, str>,
    region: Cow<'a, str>,
    arn: Cow<'a, str>,
    raw_arn: Option<&'a str>,
    account: Cow<'a, str>,
    username: Cow<'a, str>,
    session: Option<&'a str>,
    instance_id: Cow<'a, str>,
    request_id: Option<&'a str>,
    partition: &'static str,
}

impl<'a> Values<'a> {
    fn new(ctx: &RemedyContext<'a>) -> Values<'a> {
        let fill = |v: Option<&'a str>, placeholder: &'static str| match v {
            Some(v) if !v.is_empty() => shell_quote(v),
            _ => Cow::Borrowed(placeholder),
        };
        let parsed = ctx.arn.and_then(|a| Arn::parse(a).ok());
        let account = ctx.account.or(parsed.as_ref().map(Arn::account));
        Values {
            cluster: fill(ctx.cluster, "<CLUSTER>"),
            region: fill(ctx.region, "<REGION>"),
            arn: fill(ctx.arn, "<PRINCIPAL_ARN>"),
            raw_arn: ctx.arn,
            account: fill(account, "<ACCOUNT_ID>"),
            username: fill(ctx.username, "<USERNAME>"),
            session: ctx.session.filter(|s| !s.is_empty()),
            instance_id: fill(ctx.instance_id, "<INSTANCE_ID>"),
            request_id: ctx.request_id.filter(|s| !s.is_empty()),
            partition: partition(parsed.as_ref(), ctx.region),
        }
    }

    /// The path-less ARN an aws-auth entry needs (EKS User Guide, "Grant IAM users access to
    /// Kubernetes with a ConfigMap"), quoted.
    fn stripped_arn(&self) -> Cow<'a, str> {
        match self.raw_arn.and_then(|a| Arn::parse(a).ok()) {
            Some(arn) => match arn.strip_path() {
                Cow::Borrowed(s) => shell_quote(s),
                Cow::Owned(s) => Cow::Owned(shell_quote(&s).into_owned()),
            },
            None => self.arn.clone(),
        }
    }

    fn create_access_entry(&self, arn: &str) -> String {
        format!(
            "aws eks create-access-entry --cluster-name {} --principal-arn {arn} --region {}",
            self.cluster, self.region
        )
    }

    fn associate_policy(&self, arn: &str) -> String {
        format!(
            "aws eks associate-access-policy --cluster-name {} --principal-arn {arn} --policy-arn arn:{}:eks::aws:cluster-access-policy/<ACCESS_POLICY_NAME> --access-scope type=cluster --region {}",
            self.cluster, self.partition, self.region
        )
    }

    fn eksctl_mapping(&self, arn: &str, username: &str, groups: &[&str]) -> String {
        let mut s = format!(
            "eksctl create iamidentitymapping --cluster {} --region {} --arn {arn} --username {username}",
            self.cluster, self.region
        );
        for g in groups {
            let _ = write!(s, " --group {g}");
        }
        s
    }

    fn request_id_note(&self) -> String {
        match self.request_id {
            Some(id) => format!(" If it persists, escalate to AWS support with request id {id}."),
            None => String::new(),
        }
    }

    fn session_note(&self) -> String {
        match self.session {
            Some(s) => format!(" (session {s})"),
            None => String::new(),
        }
    }
}

/// The partition for AWS-managed policy ARNs: the principal's own, else the one a GovCloud or
/// China region implies, else `aws`.
fn partition(arn: Option<&Arn<'_>>, region: Option<&str>) -> &'static str {
    if let Some(p) = arn.and_then(Arn::known_partition) {
        return p.as_str();
    }
    match region {
        Some(r) if r.starts_with("us-gov-") => Partition::AwsUsGov.as_str(),
        Some(r) if r.starts_with("cn-") => Partition::AwsCn.as_str(),
        _ => Partition::Aws.as_str(),
    }
}

/// Quotes `s` for a POSIX shell unless every byte is safe; `'` is written as `'\''`.
fn shell_quote(s: &str) -> Cow<'_, str> {
    let safe = s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'/' | b':' | b'@' | b'=' | b'+' | b','
            )
    });
    if safe && !s.is_empty() {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("'{}'", s.replace('\'', r"'\''")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RemedyContext<'static> {
        RemedyContext {
            cluster: Some("demo"),
            region: Some("us-east-1"),
            arn: Some("arn:aws:iam::111122223333:role/Dev"),
            ..RemedyContext::default()
        }
    }

    #[test]
    fn not_mapped_fills_access_entry_and_eksctl() {
        let r = remedy(Class::IdentityNotMapped, &ctx());
        assert!(r.commands.contains(
            &"aws eks create-access-entry --cluster-name demo --principal-arn arn:aws:iam::111122223333:role/Dev --region us-east-1".to_owned()
        ));
        assert!(r.commands.iter().any(|c| c.starts_with(
            "eksctl create iamidentitymapping --cluster demo --region us-east-1 --arn arn:aws:iam::111122223333:role/Dev --username <USERNAME> --group <GROUP>"
        )));
        assert!(
            r.commands
                .iter()
                .any(|c| c.contains("arn:aws:eks::aws:cluster-access-policy/"))
        );
    }

    #[test]
    fn missing_values_become_placeholders() {
        let r = remedy(Class::IdentityNotMapped, &RemedyContext::default());
        assert!(r.commands[0].contains(
            "--cluster-name <CLUSTER> --principal-arn <PRINCIPAL_ARN> --region <REGION>"
        ));
        let r = remedy(Class::StsWrongClusterOrSecret, &RemedyContext::default());
        assert_eq!(
            r.commands[0],
            "aws eks update-kubeconfig --name <CLUSTER> --region <REGION>"
        );
    }

    #[test]
    fn sso_maps_the_path_less_arn() {
        let c = RemedyContext {
            arn: Some(
                "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef",
            ),
            ..ctx()
        };
        let r = remedy(Class::SsoRoleNotMapped, &c);
        let want = "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef";
        assert!(r.summary.contains(want));
        assert!(
            r.commands.iter().all(|c| !c.contains("aws-reserved")),
            "{:?}",
            r.commands
        );
        assert!(
            r.commands
                .iter()
                .any(|c| c.contains(&format!("--arn {want} ")))
        );
    }

    #[test]
    fn role_path_maps_the_path_less_arn() {
        let c = RemedyContext {
            arn: Some("arn:aws:iam::111122223333:role/eks-admin"),
            username: Some("admin"),
            ..ctx()
        };
        let r = remedy(Class::RolePathInMapping, &c);
        assert!(
            r.commands[1]
                .contains("--arn arn:aws:iam::111122223333:role/eks-admin --username admin")
        );
    }

    #[test]
    fn cluster_policy_uses_the_principal_partition() {
        let c = RemedyContext {
            arn: Some("arn:aws-us-gov:iam::111122223333:role/eks-node"),
            region: Some("us-gov-west-1"),
            ..ctx()
        };
        let r = remedy(Class::NodeTemplateEc2Denied, &c);
        assert!(
            r.commands[1]
                .ends_with("--policy-arn arn:aws-us-gov:iam::aws:policy/AmazonEKSClusterPolicy")
        );
        let cn = RemedyContext {
            arn: None,
            region: Some("cn-north-1"),
            ..ctx()
        };
        let r = remedy(Class::Ec2BatchFailure, &cn);
        assert!(r.commands[1].contains("arn:aws-cn:iam::aws:policy/AmazonEKSClusterPolicy"));
        let r = remedy(Class::Ec2BatchFailure, &RemedyContext::default());
        assert!(r.commands[1].contains("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"));
    }

    #[test]
    fn node_role_remedy_names_session_and_node_groups() {
        let c = RemedyContext {
            arn: Some("arn:aws:iam::111122223333:role/eks-node-role"),
            session: Some("i-0123456789abcdef0"),
            ..ctx()
        };
        let r = remedy(Class::NodeRoleNotMapped, &c);
        assert!(r.summary.contains("i-0123456789abcdef0"));
        assert!(r.commands[0].contains("--type EC2_LINUX"));
        assert!(r.commands[1].ends_with(
            "--username 'system:node:{{EC2PrivateDNSName}}' --group system:bootstrappers --group system:nodes"
        ));
    }

    #[test]
    fn instance_and_request_ids_are_used() {
        let c = RemedyContext {
            instance_id: Some("i-0123456789abcdef0"),
            request_id: Some("a9068247-f1ab-47ef-b1b1-cda46a27be0e"),
            ..ctx()
        };
        let r = remedy(Class::NodeTemplateInstanceNotFound, &c);
        assert_eq!(
            r.commands[0],
            "aws ec2 describe-instances --instance-ids i-0123456789abcdef0 --region us-east-1"
        );
        let r = remedy(Class::StsRejectedOther, &c);
        assert!(r.summary.contains("a9068247-f1ab-47ef-b1b1-cda46a27be0e"));
    }

    #[test]
    fn hostile_values_are_quoted() {
        let c = RemedyContext {
            cluster: Some("demo; rm -rf ~"),
            username: Some("it's"),
            ..ctx()
        };
        let r = remedy(Class::IdentityNotMapped, &c);
        assert!(r.commands[0].contains("--cluster-name 'demo; rm -rf ~' "));
        assert!(r.commands[2].contains(r"--username 'it'\''s'"));
    }

    #[test]
    fn every_class_has_a_summary() {
        for &class in Class::ALL {
            assert!(!remedy(class, &ctx()).summary.is_empty(), "{class}");
        }
    }
}
