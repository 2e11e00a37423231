//! The failure taxonomy: [`Class`], its [`Family`] and who fixes it ([`Fixer`]).
//!
//! Class names are a stable contract (`docs/authenticator-log.md#failure-classes`): they
//! appear in JSON output, in `--class` filters and in fixture file names, always in
//! snake_case. This module only names and describes classes; deciding which class a line
//! belongs to is `classify`'s job.

use std::fmt;
use std::str::FromStr;

/// One failure class (`docs/authenticator-log.md#failure-classes`).
///
/// The variants are in the order of that table, so sorting by class groups related failures.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
// clap is a dev-dependency: its derived variant list checks `ALL` in the tests below.
#[cfg_attr(test, derive(clap::ValueEnum), value(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// The bearer token is not an IAM-authenticator token (no `k8s-aws-v1.` prefix).
    TokenNotIam,
    /// The bearer token is larger than 4096 bytes.
    TokenTooLarge,
    /// The token is not valid base64 or not a usable pre-signed URL.
    TokenCorrupt,
    /// The token was hand-built or altered: smuggled, duplicate or foreign parameters.
    TokenForgedOrTampered,
    /// The token was signed for an STS host this cluster's partition or region rejects.
    TokenWrongStsEndpoint,
    /// The token does not sign the `x-k8s-aws-id` header, so it is not bound to a cluster.
    TokenNotClusterBound,
    /// `X-Amz-Expires` or `X-Amz-Date` is missing or malformed.
    TokenBadParams,
    /// The token was signed more than 15 minutes ago.
    TokenExpired,
    /// STS `SignatureDoesNotMatch`: token made for another cluster name, or wrong secret key.
    StsWrongClusterOrSecret,
    /// STS `SignatureDoesNotMatch` with `Signature expired` / `not yet current`: clock skew.
    StsClockSkew,
    /// STS `InvalidClientTokenId`: the access key is unknown to STS.
    StsInvalidCredentials,
    /// STS `ExpiredToken`: the token was signed with expired temporary credentials.
    StsExpiredCredentials,
    /// STS `RegionDisabledException`: STS is not active in that region for the account.
    StsRegionDisabled,
    /// STS throttled `GetCallerIdentity`.
    StsThrottled,
    /// The control plane could not reach STS or the connection dropped.
    StsUnreachable,
    /// STS answered with a 5xx status.
    StsServerError,
    /// STS rejected the token with a 4xx but this server build does not log why.
    StsRejectedOpaque,
    /// STS rejected the token for another reason (other codes, 3xx).
    StsRejectedOther,
    /// STS answered 200 but the identity in the answer could not be used.
    StsResponseUnusable,
    /// Access entry found by unique id, but its ARN differs (principal renamed or moved).
    AccessEntryArnMismatch,
    /// A `{{EC2PrivateDNSName}}` mapping matched a session that is not an EC2 instance.
    NodeTemplateSessionNotInstance,
    /// `ec2:DescribeInstances` was denied while rendering a node username.
    NodeTemplateEc2Denied,
    /// The node's EC2 instance was not found (other account, terminated).
    NodeTemplateInstanceNotFound,
    /// EC2 throttled the instance lookup, or a parallel lookup did not finish in time.
    NodeTemplateEc2Throttled,
    /// Any other username or group template failure.
    NodeTemplateOther,
    /// The mapped username starts with a reserved prefix.
    ReservedUsername,
    /// A mapper backend (aws-auth, CRD, file) failed while looking the identity up.
    MapperBackendError,
    /// No mapping (aws-auth entry or access entry) matched the identity.
    IdentityNotMapped,
    /// Not mapped, and the session is an EC2 instance id: a node role is missing.
    NodeRoleNotMapped,
    /// Not mapped, and the role is an IAM Identity Center (`AWSReservedSSO_`) role.
    SsoRoleNotMapped,
    /// Not mapped, though the same ARN was granted earlier under another unique id.
    PrincipalRecreated,
    /// Not mapped, and a static mapping names the same role with an IAM path.
    RolePathInMapping,
    /// Something other than kube-apiserver called the webhook (bad method or body).
    WebhookBadRequest,
    /// The aws-auth ConfigMap watch failed or was closed (non-request).
    BackendAwsAuthUnhealthy,
    /// aws-auth has entries that do not parse; they are dropped (non-request).
    BackendAwsAuthInvalid,
    /// aws-auth was deleted, so every aws-auth mapping is gone (non-request).
    BackendAwsAuthDeleted,
    /// The dynamic (access-entry) file could not be watched or parsed (non-request).
    BackendDynamicFileError,
    /// A batched `ec2:DescribeInstances` call failed (non-request).
    Ec2BatchFailure,
    /// Nothing above matched; the raw text is kept. The default, so an empty `Denial`
    /// claims nothing.
    #[default]
    Unclassified,
}

impl Class {
    /// Every class, in declaration order.
    pub const ALL: &[Class] = &[
        Class::TokenNotIam,
        Class::TokenTooLarge,
        Class::TokenCorrupt,
        Class::TokenForgedOrTampered,
        Class::TokenWrongStsEndpoint,
        Class::TokenNotClusterBound,
        Class::TokenBadParams,
        Class::TokenExpired,
        Class::StsWrongClusterOrSecret,
        Class::StsClockSkew,
        Class::StsInvalidCredentials,
        Class::StsExpiredCredentials,
        Class::StsRegionDisabled,
        Class::StsThrottled,
        Class::StsUnreachable,
        Class::StsServerError,
        Class::StsRejectedOpaque,
        Class::StsRejectedOther,
        Class::StsResponseUnusable,
        Class::AccessEntryArnMismatch,
        Class::NodeTemplateSessionNotInstance,
        Class::NodeTemplateEc2Denied,
        Class::NodeTemplateInstanceNotFound,
        Class::NodeTemplateEc2Throttled,
        Class::NodeTemplateOther,
        Class::ReservedUsername,
        Class::MapperBackendError,
        Class::IdentityNotMapped,
        Class::NodeRoleNotMapped,
        Class::SsoRoleNotMapped,
        Class::PrincipalRecreated,
        Class::RolePathInMapping,
        Class::WebhookBadRequest,
        Class::BackendAwsAuthUnhealthy,
        Class::BackendAwsAuthInvalid,
        Class::BackendAwsAuthDeleted,
        Class::BackendDynamicFileError,
        Class::Ec2BatchFailure,
        Class::Unclassified,
    ];

    /// The snake_case name (the same text serde and clap use).
    pub const fn as_str(self) -> &'static str {
        match self {
            Class::TokenNotIam => "token_not_iam",
            Class::TokenTooLarge => "token_too_large",
            Class::TokenCorrupt => "token_corrupt",
            Class::TokenForgedOrTampered => "token_forged_or_tampered",
            Class::TokenWrongStsEndpoint => "token_wrong_sts_endpoint",
            Class::TokenNotClusterBound => "token_not_cluster_bound",
            Class::TokenBadParams => "token_bad_params",
            Class::TokenExpired => "token_expired",
            Class::StsWrongClusterOrSecret => "sts_wrong_cluster_or_secret",
            Class::StsClockSkew => "sts_clock_skew",
            Class::StsInvalidCredentials => "sts_invalid_credentials",
            Class::StsExpiredCredentials => "sts_expired_credentials",
            Class::StsRegionDisabled => "sts_region_disabled",
            Class::StsThrottled => "sts_throttled",
            Class::StsUnreachable => "sts_unreachable",
            Class::StsServerError => "sts_server_error",
            Class::StsRejectedOpaque => "sts_rejected_opaque",
            Class::StsRejectedOther => "sts_rejected_other",
            Class::StsResponseUnusable => "sts_response_unusable",
            Class::AccessEntryArnMismatch => "access_entry_arn_mismatch",
            Class::NodeTemplateSessionNotInstance => "node_template_session_not_instance",
            Class::NodeTemplateEc2Denied => "node_template_ec2_denied",
            Class::NodeTemplateInstanceNotFound => "node_template_instance_not_found",
            Class::NodeTemplateEc2Throttled => "node_template_ec2_throttled",
            Class::NodeTemplateOther => "node_template_other",
            Class::ReservedUsername => "reserved_username",
            Class::MapperBackendError => "mapper_backend_error",
            Class::IdentityNotMapped => "identity_not_mapped",
            Class::NodeRoleNotMapped => "node_role_not_mapped",
            Class::SsoRoleNotMapped => "sso_role_not_mapped",
            Class::PrincipalRecreated => "principal_recreated",
            Class::RolePathInMapping => "role_path_in_mapping",
            Class::WebhookBadRequest => "webhook_bad_request",
            Class::BackendAwsAuthUnhealthy => "backend_aws_auth_unhealthy",
            Class::BackendAwsAuthInvalid => "backend_aws_auth_invalid",
            Class::BackendAwsAuthDeleted => "backend_aws_auth_deleted",
            Class::BackendDynamicFileError => "backend_dynamic_file_error",
            Class::Ec2BatchFailure => "ec2_batch_failure",
            Class::Unclassified => "unclassified",
        }
    }

    /// Where in the authentication path the failure happened.
    pub const fn family(self) -> Family {
        use Class::*;
        match self {
            TokenNotIam
            | TokenTooLarge
            | TokenCorrupt
            | TokenForgedOrTampered
            | TokenWrongStsEndpoint
            | TokenNotClusterBound
            | TokenBadParams
            | TokenExpired => Family::Token,
            StsWrongClusterOrSecret
            | StsClockSkew
            | StsInvalidCredentials
            | StsExpiredCredentials
            | StsRegionDisabled
            | StsThrottled
            | StsUnreachable
            | StsServerError
            | StsRejectedOpaque
            | StsRejectedOther
            | StsResponseUnusable => Family::Sts,
            AccessEntryArnMismatch
            | ReservedUsername
            | IdentityNotMapped
            | NodeRoleNotMapped
            | SsoRoleNotMapped
            | PrincipalRecreated
            | RolePathInMapping => Family::Mapping,
            // The batch failure is the same DescribeInstances lookup that feeds
            // `{{EC2PrivateDNSName}}`, seen from the provider's side instead of a request's.
            NodeTemplateSessionNotInstance
            | NodeTemplateEc2Denied
            | NodeTemplateInstanceNotFound
            | NodeTemplateEc2Throttled
            | NodeTemplateOther
            | Ec2BatchFailure => Family::NodeTemplate,
            WebhookBadRequest => Family::Webhook,
            // A mapper error on a request is the request-side symptom of an unhealthy
            // backend, so it sits with the backend health classes.
            MapperBackendError
            | BackendAwsAuthUnhealthy
            | BackendAwsAuthInvalid
            | BackendAwsAuthDeleted
            | BackendDynamicFileError => Family::Backend,
            Unclassified => Family::Unclassified,
        }
    }

    /// Who can fix it.
    pub const fn fixer(self) -> Fixer {
        use Class::*;
        match self {
            TokenNotIam
            | TokenTooLarge
            | TokenCorrupt
            | TokenWrongStsEndpoint
            | TokenNotClusterBound
            | TokenBadParams
            | TokenExpired
            | StsWrongClusterOrSecret
            | StsClockSkew
            | StsInvalidCredentials
            | StsExpiredCredentials
            | StsRejectedOpaque => Fixer::Client,
            // A forged token, an unusable STS answer (seen in the 2022 parameter-smuggling
            // write-up) and odd webhook callers all want an investigation first.
            TokenForgedOrTampered | StsResponseUnusable | WebhookBadRequest => Fixer::Security,
            StsRegionDisabled => Fixer::AccountAdmin,
            StsThrottled
            | StsUnreachable
            | StsServerError
            | NodeTemplateEc2Throttled
            | BackendAwsAuthUnhealthy
            | BackendDynamicFileError => Fixer::AwsTransient,
            AccessEntryArnMismatch
            | NodeTemplateSessionNotInstance
            | NodeTemplateEc2Denied
            | NodeTemplateInstanceNotFound
            | NodeTemplateOther
            | ReservedUsername
            | MapperBackendError
            | IdentityNotMapped
            | NodeRoleNotMapped
            | SsoRoleNotMapped
            | PrincipalRecreated
            | RolePathInMapping
            | BackendAwsAuthInvalid
            | BackendAwsAuthDeleted
            | Ec2BatchFailure => Fixer::ClusterAdmin,
            StsRejectedOther | Unclassified => Fixer::Unknown,
        }
    }

    /// Whether the class comes from a request line (`access denied`, webhook errors) rather
    /// than from a backend health line.
    pub const fn is_request(self) -> bool {
        !matches!(
            self,
            Class::BackendAwsAuthUnhealthy
                | Class::BackendAwsAuthInvalid
                | Class::BackendAwsAuthDeleted
                | Class::BackendDynamicFileError
                | Class::Ec2BatchFailure
        )
    }

    /// One plain-English line saying what happened.
    pub const fn meaning(self) -> &'static str {
        use Class::*;
        match self {
            TokenNotIam => {
                "The bearer token is not an AWS IAM token (for example an expired service-account, OIDC or static token)."
            }
            TokenTooLarge => {
                "The bearer token is over 4096 bytes, so the client sent something other than an IAM token."
            }
            TokenCorrupt => "The IAM token is truncated or corrupted and cannot be decoded.",
            TokenForgedOrTampered => {
                "The IAM token was hand-built or altered (unexpected, duplicate or foreign parameters)."
            }
            TokenWrongStsEndpoint => {
                "The token was signed for an STS endpoint outside the cluster's partition or region."
            }
            TokenNotClusterBound => {
                "The token does not sign the cluster id header, so it was not made by aws eks get-token."
            }
            TokenBadParams => {
                "The token's X-Amz-Expires or X-Amz-Date parameter is missing or malformed."
            }
            TokenExpired => {
                "The token was signed more than 15 minutes ago (reused token or client clock behind)."
            }
            StsWrongClusterOrSecret => {
                "STS found the signature wrong: token made for another cluster name, or a wrong secret key."
            }
            StsClockSkew => {
                "STS rejected the signature time: the client clock is more than 15 minutes off."
            }
            StsInvalidCredentials => {
                "STS does not know the access key (deleted, inactive, mistyped, or missing its session token)."
            }
            StsExpiredCredentials => "The token was signed with expired temporary credentials.",
            StsRegionDisabled => {
                "STS is not activated in the token's region for the caller's account."
            }
            StsThrottled => "STS throttled GetCallerIdentity for this endpoint.",
            StsUnreachable => "The control plane could not reach STS or lost the connection.",
            StsServerError => "STS answered with a server error.",
            StsRejectedOpaque => {
                "STS rejected the token, but this authenticator build does not log why."
            }
            StsRejectedOther => {
                "STS rejected the token for an uncommon reason; see its code and message."
            }
            StsResponseUnusable => {
                "STS answered, but the identity in its answer could not be used."
            }
            AccessEntryArnMismatch => {
                "An access entry matched the principal's unique id but its ARN differs (renamed or moved principal)."
            }
            NodeTemplateSessionNotInstance => {
                "A node-role mapping was used by a session that is not an EC2 instance."
            }
            NodeTemplateEc2Denied => {
                "The cluster role may not call ec2:DescribeInstances to name the node."
            }
            NodeTemplateInstanceNotFound => {
                "The node's EC2 instance was not found (other account, other region, or terminated)."
            }
            NodeTemplateEc2Throttled => {
                "The EC2 lookup for the node's name was throttled or timed out."
            }
            NodeTemplateOther => {
                "A username or group template in the mapping could not be rendered."
            }
            ReservedUsername => "The mapping gives a username with a reserved prefix.",
            MapperBackendError => "A mapping backend failed while looking the identity up.",
            IdentityNotMapped => {
                "The IAM identity is valid but no aws-auth entry or access entry maps it."
            }
            NodeRoleNotMapped => {
                "A node's IAM role is not mapped, so the node cannot join or goes NotReady."
            }
            SsoRoleNotMapped => {
                "An IAM Identity Center (SSO) role is not mapped, or is mapped with its path."
            }
            PrincipalRecreated => {
                "The principal was deleted and re-created; its access entry is bound to the old unique id."
            }
            RolePathInMapping => {
                "The role is mapped with an IAM path, which never matches the path-less canonical ARN."
            }
            WebhookBadRequest => {
                "Something other than kube-apiserver called the authentication webhook."
            }
            BackendAwsAuthUnhealthy => {
                "The authenticator lost its watch on the aws-auth ConfigMap."
            }
            BackendAwsAuthInvalid => {
                "aws-auth contains entries that do not parse; those entries are ignored."
            }
            BackendAwsAuthDeleted => {
                "The aws-auth ConfigMap was deleted; all of its mappings are gone."
            }
            BackendDynamicFileError => {
                "The access-entry (dynamic) file could not be watched or parsed."
            }
            Ec2BatchFailure => "A batched ec2:DescribeInstances call for node names failed.",
            Unclassified => "The failure did not match any known pattern.",
        }
    }
}

/// Where in the authentication path a class sits.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
// clap is a dev-dependency: its derived variant list checks `ALL` in the tests below.
#[cfg_attr(test, derive(clap::ValueEnum), value(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// The bearer token itself, checked before any network call.
    Token,
    /// The STS `GetCallerIdentity` call.
    Sts,
    /// Mapping the verified identity to a Kubernetes user (aws-auth, access entries).
    Mapping,
    /// Rendering `{{EC2PrivateDNSName}}`-style templates, including their EC2 lookups.
    NodeTemplate,
    /// The webhook HTTP request itself.
    Webhook,
    /// Health of the mapping backends (aws-auth watch, access-entry file).
    Backend,
    /// Did not match anything known.
    Unclassified,
}

impl Family {
    /// Every family, in declaration order.
    pub const ALL: &[Family] = &[
        Family::Token,
        Family::Sts,
        Family::Mapping,
        Family::NodeTemplate,
        Family::Webhook,
        Family::Backend,
        Family::Unclassified,
    ];

    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Family::Token => "token",
            Family::Sts => "sts",
            Family::Mapping => "mapping",
            Family::NodeTemplate => "node_template",
            Family::Webhook => "webhook",
            Family::Backend => "backend",
            Family::Unclassified => "unclassified",
        }
    }
}

/// Who is in a position to fix a class.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
// clap is a dev-dependency: its derived variant list checks `ALL` in the tests below.
#[cfg_attr(test, derive(clap::ValueEnum), value(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Fixer {
    /// The person or tool calling the cluster (credentials, kubeconfig, clock).
    Client,
    /// The cluster administrator (aws-auth, access entries, cluster role).
    ClusterAdmin,
    /// The AWS account administrator (account-wide settings such as STS regions).
    AccountAdmin,
    /// Nobody: AWS-side or transient; retry, and escalate if it persists.
    AwsTransient,
    /// Security review first: the traffic looks forged or foreign.
    Security,
    /// Not known from the log line alone.
    Unknown,
}

impl Fixer {
    /// Every fixer, in declaration order.
    pub const ALL: &[Fixer] = &[
        Fixer::Client,
        Fixer::ClusterAdmin,
        Fixer::AccountAdmin,
        Fixer::AwsTransient,
        Fixer::Security,
        Fixer::Unknown,
    ];

    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Fixer::Client => "client",
            Fixer::ClusterAdmin => "cluster_admin",
            Fixer::AccountAdmin => "account_admin",
            Fixer::AwsTransient => "aws_transient",
            Fixer::Security => "security",
            Fixer::Unknown => "unknown",
        }
    }
}

/// A name that is not one of the known snake_case names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {name:?}")]
pub struct UnknownName {
    what: &'static str,
    name: String,
}

macro_rules! name_traits {
    ($ty:ty, $what:literal) => {
        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName {
                        what: $what,
                        name: s.to_owned(),
                    })
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

name_traits!(Class, "class");
name_traits!(Family, "family");
name_traits!(Fixer, "fixer");

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn class_names_round_trip_through_from_str_serde_and_clap() {
        for &c in Class::ALL {
            let name = c.as_str();
            assert_eq!(name.parse::<Class>(), Ok(c));
            assert_eq!(c.to_string(), name);
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Class>(&json).unwrap(), c);
            assert_eq!(
                <Class as ValueEnum>::from_str(name, false),
                Ok(c),
                "clap name of {name}"
            );
            assert!(!c.meaning().is_empty());
        }
    }

    #[test]
    fn all_lists_every_variant_once_in_order() {
        // ValueEnum's own list is derived from the enum, so it catches a variant left out.
        assert_eq!(Class::ALL, <Class as ValueEnum>::value_variants());
        assert_eq!(Family::ALL, <Family as ValueEnum>::value_variants());
        assert_eq!(Fixer::ALL, <Fixer as ValueEnum>::value_variants());
        assert!(Class::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn family_and_fixer_names_round_trip() {
        for &f in Family::ALL {
            assert_eq!(f.as_str().parse::<Family>(), Ok(f));
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(serde_json::from_str::<Family>(&json).unwrap(), f);
            assert_eq!(json, format!("\"{}\"", f.as_str()));
        }
        for &f in Fixer::ALL {
            assert_eq!(f.as_str().parse::<Fixer>(), Ok(f));
            assert_eq!(
                serde_json::to_string(&f).unwrap(),
                format!("\"{}\"", f.as_str())
            );
        }
    }

    #[test]
    fn every_family_has_a_class() {
        for &f in Family::ALL {
            assert!(Class::ALL.iter().any(|c| c.family() == f), "{f} is empty");
        }
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!("token-not-iam".parse::<Class>().is_err());
        assert!("TokenNotIam".parse::<Class>().is_err());
        assert!("".parse::<Family>().is_err());
    }

    #[test]
    fn chosen_families_and_fixers() {
        assert_eq!(Class::SsoRoleNotMapped.family(), Family::Mapping);
        assert_eq!(Class::MapperBackendError.family(), Family::Backend);
        assert_eq!(Class::Ec2BatchFailure.family(), Family::NodeTemplate);
        assert_eq!(Class::StsRegionDisabled.fixer(), Fixer::AccountAdmin);
        assert_eq!(Class::TokenForgedOrTampered.fixer(), Fixer::Security);
        assert!(!Class::BackendAwsAuthDeleted.is_request());
        assert!(Class::WebhookBadRequest.is_request());
    }
}
