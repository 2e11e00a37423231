//! Borrowing parser for the AWS ARNs and `uid` values the authenticator logs.
//!
//! This module owns ARN shape questions: which partition, which kind of principal, what the
//! authenticator's canonical form is (aws-iam-authenticator `pkg/arn/arn.go`, `Canonicalize`),
//! what an aws-auth entry must contain (`pkg/config/mapper.go`, `RoleMapping.Matches`; the
//! EKS User Guide page "Grant IAM users access to Kubernetes with a ConfigMap"), and how to
//! split a `uid` field (`pkg/server/server.go`, `authenticateEndpoint`). It never allocates
//! unless it has to build a new ARN string (canonicalising an assumed-role ARN, stripping a
//! role path).
//!
//! Case: old `ARN is not mapped: <arn>` errors carry the canonical ARN lower-cased, so every
//! keyword comparison here (resource type, `AWSReservedSSO_`, the SSO path, the EKS-internal
//! role prefix) is ASCII case-insensitive, and the returned slices keep the input's case.

use std::borrow::Cow;

/// The AWS partitions the authenticator recognises (aws-iam-authenticator
/// `pkg/endpoints/partitions.go`, `GetSTSPartitionDomain`; `pkg/arn/arn.go`, `checkPartition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Partition {
    /// `aws`: commercial regions.
    Aws,
    /// `aws-cn`: China regions.
    AwsCn,
    /// `aws-us-gov`: AWS GovCloud (US).
    AwsUsGov,
    /// `aws-iso`.
    AwsIso,
    /// `aws-iso-b`.
    AwsIsoB,
    /// `aws-iso-e`.
    AwsIsoE,
    /// `aws-iso-f`.
    AwsIsoF,
    /// `aws-eusc`: AWS European Sovereign Cloud.
    AwsEusc,
}

impl Partition {
    /// Every known partition.
    pub const ALL: &[Partition] = &[
        Partition::Aws,
        Partition::AwsCn,
        Partition::AwsUsGov,
        Partition::AwsIso,
        Partition::AwsIsoB,
        Partition::AwsIsoE,
        Partition::AwsIsoF,
        Partition::AwsEusc,
    ];

    /// The partition as it is written in an ARN.
    pub const fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
            Partition::AwsEusc => "aws-eusc",
        }
    }

    /// Looks a partition name up, ASCII case-insensitively (lower-cased ARNs stay valid).
    pub fn from_name(name: &str) -> Option<Partition> {
        Partition::ALL
            .iter()
            .copied()
            .find(|p| p.as_str().eq_ignore_ascii_case(name))
    }
}

/// What kind of principal an ARN names.
///
/// Only the forms the authenticator's `Canonicalize` accepts get their own variant; anything
/// else is [`PrincipalKind::Other`], which upstream rejects with an `sts getCallerIdentity
/// failed` error (`pkg/token/token.go`, `getIdentityFromSTSResponse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalKind<'a> {
    /// `iam … user/<path/>name`.
    User {
        /// Path between `user/` and the name, without its outer slashes; empty if none.
        path: &'a str,
        /// User name.
        name: &'a str,
    },
    /// `iam … role/<path/>name`.
    Role {
        /// Path between `role/` and the name, without its outer slashes; empty if none.
        path: &'a str,
        /// Role name.
        name: &'a str,
    },
    /// `sts … assumed-role/<role>/<session>`.
    AssumedRole {
        /// Everything between `assumed-role/` and the last `/`. STS never puts the role
        /// path here (PR #103), so in practice this is the bare role name.
        role: &'a str,
        /// Role session name (an instance id for node roles, an e-mail for SSO users …).
        session: &'a str,
    },
    /// `iam … root`.
    Root,
    /// `sts … federated-user/<name>`.
    FederatedUser {
        /// Federated user name.
        name: &'a str,
    },
    /// Any other service or resource; upstream refuses to canonicalise these.
    Other,
}

/// An ARN split into its parts, borrowing from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Arn<'a> {
    raw: &'a str,
    partition: &'a str,
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
    kind: PrincipalKind<'a>,
}

/// Why a string is not an ARN at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    /// The text does not start with `arn:`.
    #[error("ARN does not start with \"arn:\"")]
    MissingPrefix,
    /// The text has fewer than the six `:`-separated sections an ARN needs.
    #[error("ARN has fewer than six ':'-separated sections")]
    TooFewSections,
}

impl<'a> Arn<'a> {
    /// Parses `arn:<partition>:<service>:<region>:<account>:<resource>`.
    ///
    /// Unknown partitions are kept (see [`Arn::known_partition`]) because EKS builds can be
    /// newer than this table. Leading and trailing ASCII whitespace is ignored.
    pub fn parse(text: &'a str) -> Result<Arn<'a>, ArnError> {
        let raw = text.trim_matches(|c: char| c.is_ascii_whitespace());
        let rest = strip_prefix_ci(raw, "arn:").ok_or(ArnError::MissingPrefix)?;
        let (partition, rest) = rest.split_once(':').ok_or(ArnError::TooFewSections)?;
        let (service, rest) = rest.split_once(':').ok_or(ArnError::TooFewSections)?;
        let (region, rest) = rest.split_once(':').ok_or(ArnError::TooFewSections)?;
        let (account, resource) = rest.split_once(':').ok_or(ArnError::TooFewSections)?;
        let kind = principal_kind(service, resource);
        Ok(Arn {
            raw,
            partition,
            service,
            region,
            account,
            resource,
            kind,
        })
    }

    /// The ARN text as given (trimmed).
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The partition section as written (`aws`, `aws-cn`, … or something unknown).
    pub fn partition(&self) -> &'a str {
        self.partition
    }

    /// The partition if it is one the authenticator recognises; `None` flags an unknown one.
    pub fn known_partition(&self) -> Option<Partition> {
        Partition::from_name(self.partition)
    }

    /// The service section (`iam`, `sts`, …).
    pub fn service(&self) -> &'a str {
        self.service
    }

    /// The region section; empty for IAM and STS principal ARNs.
    pub fn region(&self) -> &'a str {
        self.region
    }

    /// The account id section.
    pub fn account(&self) -> &'a str {
        self.account
    }

    /// Everything after the account section (`role/Dev`, `assumed-role/Dev/alice`, `root`).
    pub fn resource(&self) -> &'a str {
        self.resource
    }

    /// The principal kind.
    pub fn kind(&self) -> PrincipalKind<'a> {
        self.kind
    }

    /// The authenticator's canonical form (aws-iam-authenticator `pkg/arn/arn.go`,
    /// `Canonicalize`).
    ///
    /// `sts … assumed-role/<role>/<session>` becomes `arn:<p>:iam::<acct>:role/<role>`;
    /// IAM roles, users, root and federated users come back unchanged (borrowed). Forms
    /// upstream rejects ([`PrincipalKind::Other`]) also come back unchanged, because there
    /// is no canonical form to give; check [`Arn::kind`] when that matters.
    pub fn canonical(&self) -> Cow<'a, str> {
        match self.kind {
            PrincipalKind::AssumedRole { role, .. } => Cow::Owned(self.iam_role_arn(role)),
            _ => Cow::Borrowed(self.raw),
        }
    }

    /// The role name: the last path segment of a role or assumed-role ARN.
    pub fn role_name(&self) -> Option<&'a str> {
        match self.kind {
            PrincipalKind::Role { name, .. } => Some(name),
            PrincipalKind::AssumedRole { role, .. } => Some(last_segment(role)),
            _ => None,
        }
    }

    /// The role session name of an assumed-role ARN.
    pub fn session(&self) -> Option<&'a str> {
        match self.kind {
            PrincipalKind::AssumedRole { session, .. } => Some(session),
            _ => None,
        }
    }

    /// The IAM path of a role or user without its outer slashes (`team/developers` for
    /// `role/team/developers/eks-admin`); empty when there is none or the kind has none.
    ///
    /// For an assumed-role ARN this is whatever sits between `assumed-role/` and the role
    /// name, which real STS answers leave empty (IAM User Guide, "IAM identifiers":
    /// `assumed-role/<role-name>/<session-name>`; aws-iam-authenticator issue #153).
    pub fn path(&self) -> &'a str {
        match self.kind {
            PrincipalKind::Role { path, .. } | PrincipalKind::User { path, .. } => path,
            PrincipalKind::AssumedRole { role, .. } => match role.rfind('/') {
                Some(i) => &role[..i],
                None => "",
            },
            _ => "",
        }
    }

    /// Whether this is an IAM Identity Center (SSO) role: the role name starts with
    /// `AWSReservedSSO_` or the path starts with `aws-reserved/sso.amazonaws.com` (AWS
    /// re:Post knowledge-center/eks-api-server-unauthorized-error; aws-iam-authenticator
    /// `pkg/config/mapper.go`, `RoleMapping.SSOArnLike`).
    pub fn is_sso_role(&self) -> bool {
        let Some(name) = self.role_name() else {
            return false;
        };
        let path = self.path();
        starts_with_ci(name, "AWSReservedSSO_")
            || path.eq_ignore_ascii_case("aws-reserved/sso.amazonaws.com")
            || starts_with_ci(path, "aws-reserved/sso.amazonaws.com/")
    }

    /// Whether this is one of the roles EKS maps for itself (`AWSWesleyClusterManagerLambda-*`,
    /// `docs/authenticator-log.md#what-eks-logs-that-upstream-does-not`), whose traffic is
    /// expected and not a user's problem.
    pub fn is_eks_internal(&self) -> bool {
        self.role_name()
            .is_some_and(|n| starts_with_ci(n, "AWSWesleyClusterManagerLambda-"))
    }

    /// What an aws-auth `rolearn` must contain for this principal (aws-iam-authenticator
    /// `pkg/config/mapper.go`, `RoleMapping.Matches`, compares it exactly): roles lose their
    /// path (`role/team/dev/eks-admin` → `role/eks-admin`), assumed-role ARNs become the
    /// path-less role ARN, and everything else is returned unchanged (IAM users keep their
    /// path in the canonical ARN, so `mapUsers` entries must keep it too).
    pub fn strip_path(&self) -> Cow<'a, str> {
        match self.kind {
            PrincipalKind::Role { path: "", .. } => Cow::Borrowed(self.raw),
            PrincipalKind::Role { name, .. } => Cow::Owned(self.iam_role_arn(name)),
            PrincipalKind::AssumedRole { role, .. } => {
                Cow::Owned(self.iam_role_arn(last_segment(role)))
            }
            _ => Cow::Borrowed(self.raw),
        }
    }

    /// `arn:<partition>:iam::<account>:role/<role>`, keeping the input's partition and
    /// account text. The `arn:` prefix is written lower-case because upstream writes it so.
    fn iam_role_arn(&self, role: &str) -> String {
        let mut s = String::with_capacity(
            "arn:".len()
                + self.partition.len()
                + ":iam::".len()
                + self.account.len()
                + 6
                + role.len(),
        );
        s.push_str("arn:");
        s.push_str(self.partition);
        s.push_str(":iam::");
        s.push_str(self.account);
        s.push_str(":role/");
        s.push_str(role);
        s
    }
}

/// Splits `resource` by service into a [`PrincipalKind`], following upstream
/// `Canonicalize` (`pkg/arn/arn.go`), which needs at least `assumed-role/<role>/<session>`.
fn principal_kind<'a>(service: &str, resource: &'a str) -> PrincipalKind<'a> {
    if service.eq_ignore_ascii_case("iam") {
        if resource.eq_ignore_ascii_case("root") {
            return PrincipalKind::Root;
        }
        if let Some(rest) = strip_prefix_ci(resource, "role/") {
            let (path, name) = split_path(rest);
            if !name.is_empty() {
                return PrincipalKind::Role { path, name };
            }
        } else if let Some(rest) = strip_prefix_ci(resource, "user/") {
            let (path, name) = split_path(rest);
            if !name.is_empty() {
                return PrincipalKind::User { path, name };
            }
        }
    } else if service.eq_ignore_ascii_case("sts") {
        if let Some(rest) = strip_prefix_ci(resource, "assumed-role/") {
            if let Some((role, session)) = rest.rsplit_once('/')
                && !role.is_empty()
            {
                return PrincipalKind::AssumedRole { role, session };
            }
        } else if let Some(name) = strip_prefix_ci(resource, "federated-user/") {
            return PrincipalKind::FederatedUser { name };
        }
    }
    PrincipalKind::Other
}

/// `team/dev/eks-admin` → (`team/dev`, `eks-admin`); `eks-admin` → (``, `eks-admin`).
fn split_path(rest: &str) -> (&str, &str) {
    match rest.rsplit_once('/') {
        Some((path, name)) => (path.trim_matches('/'), name),
        None => ("", rest),
    }
}

fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// `str::strip_prefix`, ASCII case-insensitive, never slicing inside a UTF-8 character.
pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if starts_with_ci(s, prefix) {
        // `prefix` is matched byte for byte against ASCII, so this index is a boundary
        // whenever `prefix` itself is ASCII, which every caller's literal is.
        s.get(prefix.len()..)
    } else {
        None
    }
}

pub(crate) fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Which program wrote a `uid` value (EKS kept the pre-2018 prefix into 2021;
/// `docs/authenticator-log.md#version-markers`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UidPrefix {
    /// `aws-iam-authenticator:` (upstream since v0.4.0).
    AwsIamAuthenticator,
    /// `heptio-authenticator-aws:` (pre-2018 upstream and the EKS fork).
    HeptioAuthenticatorAws,
}

impl UidPrefix {
    /// The prefix as logged, without the trailing `:`.
    pub const fn as_str(self) -> &'static str {
        match self {
            UidPrefix::AwsIamAuthenticator => "aws-iam-authenticator",
            UidPrefix::HeptioAuthenticatorAws => "heptio-authenticator-aws",
        }
    }
}

/// A `uid` value split into its parts (`aws-iam-authenticator:<account>:<unique id>`, built
/// in aws-iam-authenticator `pkg/server/server.go`, `authenticateEndpoint`), borrowing from
/// the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Uid<'a> {
    /// Which prefix it had.
    pub prefix: UidPrefix,
    /// The account id, or `administrative` for scrubbed accounts.
    pub account: &'a str,
    /// The principal's unique id (`AROA…`, `AIDA…`, the account id for root,
    /// `<acct>:<name>` for federated users), or the username for scrubbed accounts.
    pub principal_id: &'a str,
}

impl<'a> Uid<'a> {
    /// Parses `aws-iam-authenticator:<acct>:<id>` or `heptio-authenticator-aws:<acct>:<id>`.
    ///
    /// Only the first two `:` split; federated-user ids contain a `:` themselves.
    pub fn parse(text: &'a str) -> Option<Uid<'a>> {
        let (prefix, rest) = text.split_once(':')?;
        let prefix = match prefix {
            "aws-iam-authenticator" => UidPrefix::AwsIamAuthenticator,
            "heptio-authenticator-aws" => UidPrefix::HeptioAuthenticatorAws,
            _ => return None,
        };
        let (account, principal_id) = rest.split_once(':')?;
        if account.is_empty() || principal_id.is_empty() {
            return None;
        }
        Some(Uid {
            prefix,
            account,
            principal_id,
        })
    }

    /// Whether the account was scrubbed (`…:administrative:<username>`, v0.5.2+), in which
    /// case `principal_id` is a username, not a unique id.
    pub fn is_scrubbed(&self) -> bool {
        self.account == "administrative"
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::assumed_role(
        "arn:aws:sts::111122223333:assumed-role/Dev/alice",
        "arn:aws:iam::111122223333:role/Dev"
    )]
    #[case::gov_assumed_role(
        "arn:aws-us-gov:sts::111122223333:assumed-role/Dev/i-0123456789abcdef0",
        "arn:aws-us-gov:iam::111122223333:role/Dev"
    )]
    #[case::cn_assumed_role(
        "arn:aws-cn:sts::111122223333:assumed-role/Dev/EKSGetTokenAuth",
        "arn:aws-cn:iam::111122223333:role/Dev"
    )]
    #[case::eusc(
        "arn:aws-eusc:sts::111122223333:assumed-role/Dev/s",
        "arn:aws-eusc:iam::111122223333:role/Dev"
    )]
    #[case::role_unchanged(
        "arn:aws:iam::111122223333:role/team/dev/eks-admin",
        "arn:aws:iam::111122223333:role/team/dev/eks-admin"
    )]
    #[case::user_unchanged(
        "arn:aws:iam::111122223333:user/ops/bob",
        "arn:aws:iam::111122223333:user/ops/bob"
    )]
    #[case::root_unchanged("arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:root")]
    #[case::federated_unchanged(
        "arn:aws:sts::111122223333:federated-user/bob",
        "arn:aws:sts::111122223333:federated-user/bob"
    )]
    #[case::sso(
        "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_devops_admin_595c0f4da82205f0/gkan@example.com",
        "arn:aws:iam::111122223333:role/AWSReservedSSO_devops_admin_595c0f4da82205f0"
    )]
    #[case::session_with_slash_free_role_path(
        "arn:aws:sts::111122223333:assumed-role/a/b/sess",
        "arn:aws:iam::111122223333:role/a/b"
    )]
    #[case::unknown_partition_kept(
        "arn:aws-future:sts::111122223333:assumed-role/Dev/s",
        "arn:aws-future:iam::111122223333:role/Dev"
    )]
    fn canonicalises(#[case] input: &str, #[case] want: &str) {
        assert_eq!(Arn::parse(input).unwrap().canonical(), want);
    }

    #[rstest]
    #[case("arn:aws:iam::111122223333:role/Dev", Some(Partition::Aws))]
    #[case("arn:aws-cn:iam::111122223333:role/Dev", Some(Partition::AwsCn))]
    #[case("arn:aws-us-gov:iam::111122223333:role/Dev", Some(Partition::AwsUsGov))]
    #[case("arn:aws-iso:iam::111122223333:role/Dev", Some(Partition::AwsIso))]
    #[case("arn:aws-iso-b:iam::111122223333:role/Dev", Some(Partition::AwsIsoB))]
    #[case("arn:aws-iso-e:iam::111122223333:role/Dev", Some(Partition::AwsIsoE))]
    #[case("arn:aws-iso-f:iam::111122223333:role/Dev", Some(Partition::AwsIsoF))]
    #[case("arn:aws-eusc:iam::111122223333:role/Dev", Some(Partition::AwsEusc))]
    #[case("arn:aws-mars:iam::111122223333:role/Dev", None)]
    fn flags_partitions(#[case] input: &str, #[case] want: Option<Partition>) {
        let arn = Arn::parse(input).unwrap();
        assert_eq!(arn.known_partition(), want);
        assert_eq!(arn.account(), "111122223333");
        assert_eq!(arn.role_name(), Some("Dev"));
    }

    #[test]
    fn lower_cased_sso_role_is_still_sso() {
        let arn =
            Arn::parse("arn:aws:iam::111122223333:role/awsreservedsso_admin_0123456789abcdef")
                .unwrap();
        assert!(arn.is_sso_role());
        assert_eq!(
            arn.role_name(),
            Some("awsreservedsso_admin_0123456789abcdef")
        );
    }

    #[test]
    fn sso_path_is_sso_and_strips_to_bare_role() {
        let arn = Arn::parse(
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef",
        )
        .unwrap();
        assert!(arn.is_sso_role());
        assert_eq!(arn.path(), "aws-reserved/sso.amazonaws.com/eu-west-1");
        assert_eq!(
            arn.strip_path(),
            "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef"
        );
        // Older SSO roles lack the region segment.
        let old =
            Arn::parse("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/Renamed")
                .unwrap();
        assert!(old.is_sso_role());
    }

    #[test]
    fn plain_role_is_not_sso_or_internal() {
        let arn = Arn::parse("arn:aws:iam::111122223333:role/Dev").unwrap();
        assert!(!arn.is_sso_role());
        assert!(!arn.is_eks_internal());
        assert_eq!(arn.path(), "");
        assert!(matches!(arn.strip_path(), Cow::Borrowed(_)));
    }

    #[test]
    fn strip_path_keeps_user_path_and_drops_role_path() {
        let user = Arn::parse("arn:aws:iam::111122223333:user/ops/bob").unwrap();
        assert_eq!(user.strip_path(), "arn:aws:iam::111122223333:user/ops/bob");
        assert_eq!(user.path(), "ops");
        let role =
            Arn::parse("arn:aws-cn:iam::111122223333:role/team/developers/eks-admin").unwrap();
        assert_eq!(
            role.strip_path(),
            "arn:aws-cn:iam::111122223333:role/eks-admin"
        );
        assert_eq!(role.path(), "team/developers");
        let assumed = Arn::parse("arn:aws:sts::111122223333:assumed-role/Dev/alice").unwrap();
        assert_eq!(assumed.strip_path(), "arn:aws:iam::111122223333:role/Dev");
        assert_eq!(assumed.session(), Some("alice"));
    }

    #[test]
    fn eks_internal_roles() {
        let arn = Arn::parse(
            "arn:aws:sts::927209226484:assumed-role/AWSWesleyClusterManagerLambda-NodeManagerRole-1W15HHFYBJTFL/EKSAuthTokenSession",
        )
        .unwrap();
        assert!(arn.is_eks_internal());
        assert_eq!(
            arn.canonical(),
            "arn:aws:iam::927209226484:role/AWSWesleyClusterManagerLambda-NodeManagerRole-1W15HHFYBJTFL"
        );
    }

    #[test]
    fn kinds() {
        let k = |s| Arn::parse(s).unwrap().kind();
        assert_eq!(k("arn:aws:iam::1:root"), PrincipalKind::Root);
        assert_eq!(
            k("arn:aws:iam::1:user/awscli"),
            PrincipalKind::User {
                path: "",
                name: "awscli"
            }
        );
        assert_eq!(
            k("arn:aws:sts::1:federated-user/bob"),
            PrincipalKind::FederatedUser { name: "bob" }
        );
        // Upstream rejects these: a role without a session, and services other than iam/sts.
        assert_eq!(k("arn:aws:sts::1:assumed-role/Dev"), PrincipalKind::Other);
        assert_eq!(k("arn:aws:s3:::bucket/key"), PrincipalKind::Other);
        assert_eq!(k("arn:aws:iam::1:group/devs"), PrincipalKind::Other);
    }

    #[test]
    fn rejects_non_arns() {
        assert_eq!(Arn::parse("role/Dev"), Err(ArnError::MissingPrefix));
        assert_eq!(Arn::parse("arn:aws:iam::1"), Err(ArnError::TooFewSections));
        assert_eq!(Arn::parse(""), Err(ArnError::MissingPrefix));
    }

    #[rstest]
    #[case(
        "aws-iam-authenticator:123456789000:AROAFFXXXXXXXXXX",
        UidPrefix::AwsIamAuthenticator,
        "123456789000",
        "AROAFFXXXXXXXXXX",
        false
    )]
    #[case(
        "heptio-authenticator-aws:12345678910:ABCDEFGHIJKLMNOP",
        UidPrefix::HeptioAuthenticatorAws,
        "12345678910",
        "ABCDEFGHIJKLMNOP",
        false
    )]
    #[case(
        "aws-iam-authenticator:administrative:eks:node-manager",
        UidPrefix::AwsIamAuthenticator,
        "administrative",
        "eks:node-manager",
        true
    )]
    #[case(
        "aws-iam-authenticator:111122223333:111122223333:bob",
        UidPrefix::AwsIamAuthenticator,
        "111122223333",
        "111122223333:bob",
        false
    )]
    fn parses_uids(
        #[case] input: &str,
        #[case] prefix: UidPrefix,
        #[case] account: &str,
        #[case] id: &str,
        #[case] scrubbed: bool,
    ) {
        let uid = Uid::parse(input).unwrap();
        assert_eq!(
            (uid.prefix, uid.account, uid.principal_id),
            (prefix, account, id)
        );
        assert_eq!(uid.is_scrubbed(), scrubbed);
    }

    #[rstest]
    #[case("AROAFFXXXXXXXXXX")]
    #[case("other-authenticator:1:AROA")]
    #[case("aws-iam-authenticator:111122223333")]
    #[case("aws-iam-authenticator::AROA")]
    fn rejects_bad_uids(#[case] input: &str) {
        assert_eq!(Uid::parse(input), None);
    }
}
