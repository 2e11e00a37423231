//! The failure classifier: pure functions from decoded log text to a [`Class`].
//!
//! This module owns the rules of `docs/authenticator-log.md` (`#failure-classes`,
//! `#rule-order`): [`classify_denial`] for the `error` of an `access denied` line,
//! [`classify_message`] for backend health and webhook lines, and [`refine_not_mapped`] for
//! the not-mapped sub-classes, which need context that only the correlator has. It does not
//! parse logfmt (inputs are already unquoted), does not correlate lines, and does not render
//! anything. Everything here borrows from its input and never allocates; [`remedy()`] is the
//! one place that builds strings, and only on demand.

pub mod arn;
pub mod explain;
pub mod remedy;
pub mod sts;
pub mod taxonomy;

#[cfg(test)]
mod tests;

use crate::bytes;

pub use self::arn::{Arn, ArnError, Partition, PrincipalKind, Uid, UidPrefix};
pub use self::remedy::{Remedy, RemedyContext, remedy};
pub use self::sts::StsFailure;
pub use self::taxonomy::{Class, Family, Fixer, UnknownName};

const FORMAT: &str = "input token was not properly formatted: ";
const THROTTLED: &str = "sts getCallerIdentity was throttled: ";
const STS: &str = "sts getCallerIdentity failed: ";

/// A classified `access denied` error with the details the rules read, borrowed from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Denial<'a> {
    /// The failure class.
    pub class: Class,
    /// The text after the recognised prefix (`input token was not properly formatted: `,
    /// `sts getCallerIdentity failed: `, `mapper X renderTemplates error: …: `), or the whole
    /// error when there is no prefix.
    pub detail: &'a str,
    /// STS status, region, code, message and request id, for the STS and throttled forms.
    pub sts: Option<StsFailure<'a>>,
    /// The ARN appended to `ARN is not mapped: <arn>` (old builds; lower-cased canonical).
    pub arn: Option<&'a str>,
    /// The mapper named in the error (`MountedFile`, `EKSConfigMap`, `CRD`, `DynamicFile`).
    pub mapper: Option<&'a str>,
    /// The username or group template that failed to render, as logged (Go-quoted inside).
    pub template: Option<&'a str>,
    /// The EC2 instance id of a node-template failure.
    pub instance_id: Option<&'a str>,
    /// The EC2 error code of a failed `DescribeInstances` (`UnauthorizedOperation`, …).
    pub ec2_code: Option<&'a str>,
    /// The rejected username of a reserved-prefix failure.
    pub username: Option<&'a str>,
}

impl<'a> Denial<'a> {
    fn new(class: Class, detail: &'a str) -> Denial<'a> {
        Denial {
            class,
            detail,
            ..Denial::default()
        }
    }
}

/// Classifies the decoded `error` value of an `access denied` line.
///
/// Rules run top-down and the first match wins (`docs/authenticator-log.md#rule-order`): the
/// token-format prefix, the throttled prefix, the STS prefix, the two raw host-check errors,
/// then the mapping forms. Mapping forms are told apart by their prefix first and only then by
/// the cause inside, which gives the same answer as a plain top-down order on every documented
/// string but cannot be fooled by a cause that quotes another form's text (a username, an URL).
///
/// A not-mapped error returns [`Class::IdentityNotMapped`]; its sub-classes need other
/// lines, see [`refine_not_mapped`].
pub fn classify_denial(error: &str) -> Denial<'_> {
    let error = error.trim_end_matches(['\n', '\r']);
    if let Some(detail) = error.strip_prefix(FORMAT) {
        return Denial::new(token_class(detail), detail);
    }
    if let Some(body) = error.strip_prefix(THROTTLED) {
        let mut d = Denial::new(Class::StsThrottled, body);
        d.sts = Some(StsFailure::parse(body));
        return d;
    }
    if let Some(detail) = error.strip_prefix(STS) {
        let sts = StsFailure::parse(detail);
        let mut d = Denial::new(sts_class(detail, &sts), detail);
        d.sts = Some(sts);
        return d;
    }
    if is_raw_host_error(error) {
        return Denial::new(Class::TokenWrongStsEndpoint, error);
    }
    mapping(error)
}

/// Token-format details (aws-iam-authenticator `pkg/token/token.go`, `tokenVerifier.Verify`,
/// `FormatError`). Anything not listed is a Go base64 or URL-parse error, whose text varies
/// by Go version, so the fallback is [`Class::TokenCorrupt`].
fn token_class(detail: &str) -> Class {
    const RULES: &[(&str, Class)] = &[
        ("token is missing expected ", Class::TokenNotIam),
        ("token is too large", Class::TokenTooLarge),
        (
            "duplicate query parameter found",
            Class::TokenForgedOrTampered,
        ),
        (
            "non-whitelisted query parameter",
            Class::TokenForgedOrTampered,
        ),
        ("unexpected action parameter", Class::TokenForgedOrTampered),
        ("unexpected scheme", Class::TokenForgedOrTampered),
        ("unexpected hostname", Class::TokenWrongStsEndpoint),
        (
            "could not parse region for pre-signed URL",
            Class::TokenWrongStsEndpoint,
        ),
        (
            "global endpoint unsupported in partition",
            Class::TokenWrongStsEndpoint,
        ),
        (
            "invalid region identifier format provided",
            Class::TokenWrongStsEndpoint,
        ),
        (
            "invalid host format, too few labels",
            Class::TokenWrongStsEndpoint,
        ),
        (
            "client did not sign the x-k8s-aws-id header",
            Class::TokenNotClusterBound,
        ),
        ("invalid X-Amz-Expires", Class::TokenBadParams),
        (
            "X-Amz-Date parameter must be present",
            Class::TokenBadParams,
        ),
        ("error parsing X-Amz-Date", Class::TokenBadParams),
        ("X-Amz-Date parameter is expired", Class::TokenExpired),
    ];
    if let Some(&(_, class)) = RULES.iter().find(|(p, _)| detail.starts_with(p)) {
        return class;
    }
    // `partition {<p>} does not support hostname <host>` (v0.7.5+) has the variable part
    // first, so it is the one rule that cannot be a prefix.
    if detail.starts_with("partition ") && contains(detail, " does not support hostname") {
        return Class::TokenWrongStsEndpoint;
    }
    Class::TokenCorrupt
}

/// STS call details (aws-iam-authenticator `pkg/token/token.go`, `tokenVerifier.Verify`,
/// `STSError`), in rule order: body code, then transport, then status.
fn sts_class(detail: &str, sts: &StsFailure<'_>) -> Class {
    if detail.starts_with("error from AWS") {
        match sts.code {
            Some("SignatureDoesNotMatch") => {
                let m = sts.message.unwrap_or("");
                return if m.starts_with("Signature expired")
                    || m.starts_with("Signature not yet current")
                {
                    Class::StsClockSkew
                } else {
                    Class::StsWrongClusterOrSecret
                };
            }
            Some("InvalidClientTokenId") => return Class::StsInvalidCredentials,
            Some("ExpiredToken") => return Class::StsExpiredCredentials,
            Some("RegionDisabledException") => return Class::StsRegionDisabled,
            Some("Throttling") => return Class::StsThrottled,
            Some("InvalidAction") => return Class::TokenForgedOrTampered,
            _ => {}
        }
        if sts.is_server_error() {
            return Class::StsServerError;
        }
        if sts.body.is_none() && matches!(sts.status, Some(400..=499)) {
            return Class::StsRejectedOpaque;
        }
        return Class::StsRejectedOther;
    }
    if detail.starts_with("error during GET:") || detail.starts_with("error reading HTTP result:") {
        return Class::StsUnreachable;
    }
    // Every other STSError upstream raises comes after a 200 answer: the JSON decode error,
    // the Canonicalize errors (`pkg/arn/arn.go`) and `malformed UserID`. Their texts vary (Go
    // JSON errors, embedded ARNs), so they are the fallback rather than a list.
    Class::StsResponseUnusable
}

/// The host-check errors of v0.7.5+ that reach the deny line without a prefix
/// (aws-iam-authenticator `pkg/token/token.go`, `verifySTSHostnameFormat`;
/// `pkg/endpoints/partitions.go`, `GetSTSPartitionDomain`).
fn is_raw_host_error(error: &str) -> bool {
    error.starts_with("invalid host format, too few labels")
        || (error.starts_with("partition ") && error.ends_with(" not valid"))
}

/// The four not-mapped wordings across aws-iam-authenticator versions (`pkg/errutil/errors.go`,
/// `ErrNotMapped`, and its predecessors), without the old `: <arn>` suffix.
const NOT_MAPPED: &[&str] = &[
    "ARN is not mapped",
    "Identity is not mapped",
    "identity is not mapped",
];

fn mapping(error: &str) -> Denial<'_> {
    let trimmed = error.trim();
    if NOT_MAPPED.contains(&trimmed) {
        return Denial::new(Class::IdentityNotMapped, trimmed);
    }
    if let Some(arn) = trimmed.strip_prefix("ARN is not mapped: ") {
        let mut d = Denial::new(Class::IdentityNotMapped, trimmed);
        d.arn = Some(arn.trim());
        return d;
    }
    if let Some(rest) = trimmed.strip_prefix("invalid username '")
        && contains(rest, "username must not begin with")
    {
        return reserved(trimmed, rest);
    }
    if let Some(rest) = trimmed.strip_prefix("mapper ")
        && let Some((name, after)) = rest.split_once(' ')
        && let Some(cause) = after.strip_prefix("renderTemplates error: ")
    {
        let mut d = render(cause);
        d.mapper = Some(name);
        return d;
    }
    for what in ["failed mapping username: ", "failed mapping group: "] {
        if let Some(cause) = trimmed.strip_prefix(what) {
            return template_cause(cause);
        }
    }
    if trimmed.starts_with("mapper ") || trimmed.starts_with("[mapper ") {
        return aggregate(trimmed);
    }
    Denial::new(Class::Unclassified, error)
}

/// `invalid username '<u>' for mapper <NAME>: username must not begin with with …`.
fn reserved<'a>(error: &'a str, rest: &'a str) -> Denial<'a> {
    let mut d = Denial::new(Class::ReservedUsername, error);
    // The username can contain `'`; the fixed text after it is the reliable anchor.
    if let Some(i) = rest.rfind("' for mapper ") {
        d.username = Some(&rest[..i]);
        let after = &rest[i + "' for mapper ".len()..];
        d.mapper = after.split_once(':').map(|(m, _)| m);
    }
    d
}

/// `error rendering (username|group) template "<tpl>": <cause>` (v0.5.0+).
fn render(text: &str) -> Denial<'_> {
    let rest = text
        .strip_prefix("error rendering username template \"")
        .or_else(|| text.strip_prefix("error rendering group template \""));
    let Some(rest) = rest else {
        return template_cause(text);
    };
    match rest.find("\": ") {
        Some(i) => {
            let mut d = template_cause(&rest[i + 3..]);
            d.template = Some(&rest[..i]);
            d
        }
        None => template_cause(text),
    }
}

/// Classifies the cause of a template failure (aws-iam-authenticator `pkg/server/server.go`,
/// `renderTemplates`; `pkg/ec2provider/ec2provider.go`, `GetPrivateDNSName`).
fn template_cause(cause: &str) -> Denial<'_> {
    let mut d = Denial::new(Class::NodeTemplateOther, cause);
    if cause.starts_with("SessionName did not contain an instance id") {
        d.class = Class::NodeTemplateSessionNotInstance;
        return d;
    }
    if let Some(i) = bytes::find(
        cause.as_bytes(),
        b"failed querying private DNS from EC2 API for node ",
    ) {
        let rest = &cause[i + "failed querying private DNS from EC2 API for node ".len()..];
        let (id, ec2err) = rest.split_once(": ").unwrap_or((rest, ""));
        d.instance_id = Some(id.trim());
        d.ec2_code = ec2_code(ec2err);
        d.class = match d.ec2_code {
            Some("UnauthorizedOperation" | "AccessDenied") => Class::NodeTemplateEc2Denied,
            Some("InvalidInstanceID.NotFound") => Class::NodeTemplateInstanceNotFound,
            Some("RequestLimitExceeded") => Class::NodeTemplateEc2Throttled,
            _ => Class::NodeTemplateOther,
        };
        return d;
    }
    if let Some(i) = bytes::find(cause.as_bytes(), b"failed to find node ") {
        let rest = &cause[i + "failed to find node ".len()..];
        d.instance_id = rest.split(' ').next().filter(|s| !s.is_empty());
        d.class = if contains(rest, "in PrivateDNSNameCache returning from loop") {
            Class::NodeTemplateEc2Throttled
        } else {
            Class::NodeTemplateInstanceNotFound
        };
    }
    d
}

/// The EC2 error code at the start of an SDK v1 error (`Code: Message\n\tstatus code: …`) or
/// after `api error ` in an SDK v2 error (`operation error EC2: …, api error Code: Message`).
fn ec2_code(err: &str) -> Option<&str> {
    let start = match bytes::find(err.as_bytes(), b"api error ") {
        Some(i) => &err[i + "api error ".len()..],
        None => err,
    };
    let code = start.split(':').next()?.trim();
    let ok = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    ok.then_some(code)
}

/// `mapper X Map error: …` or `[mapper X Map error: …, mapper Y Map error: …]`
/// (aws-iam-authenticator `pkg/server/server.go`, `doMapping`, via `utilerrors.NewAggregate`).
fn aggregate(error: &str) -> Denial<'_> {
    let inner = error.strip_prefix('[').unwrap_or(error);
    let inner = inner.strip_suffix(']').unwrap_or(inner);
    // The ARN mismatch wins over any other item: it is the real cause, the others are
    // backends that simply had no entry (`docs/authenticator-log.md#rule-order`).
    let (class, at) = match bytes::find(inner.as_bytes(), b"ARN does not match User ID") {
        Some(i) => (Class::AccessEntryArnMismatch, i),
        None => (Class::MapperBackendError, 0),
    };
    let mut d = Denial::new(class, inner);
    // The item's mapper is the last `mapper ` before the match (`at` is 0 otherwise).
    let start = inner[..at].rfind("mapper ").unwrap_or(0);
    if let Some(item) = inner[start..].strip_prefix("mapper ")
        && let Some(i) = item.find(" Map error: ")
    {
        d.mapper = Some(&item[..i]);
        if class == Class::MapperBackendError {
            let cause = &item[i + " Map error: ".len()..];
            d.detail = cause.split(", mapper ").next().unwrap_or(cause);
        }
    }
    d
}

fn contains(hay: &str, needle: &str) -> bool {
    bytes::find(hay.as_bytes(), needle.as_bytes()).is_some()
}

/// Classifies a non-request line (backend health, webhook misuse) by its level and `msg`.
///
/// Returns `None` for lines that are not failures, including `access denied` itself, which
/// goes through [`classify_denial`]. The level matters for `startLoadDynamicFile:` lines:
/// the same prefix is used by routine info lines (`got WRITE/CREATE event`).
pub fn classify_message(level: &str, msg: &str) -> Option<Class> {
    const PREFIXES: &[(&str, Class)] = &[
        (
            "Unable to re-establish watch",
            Class::BackendAwsAuthUnhealthy,
        ),
        ("received a watch error", Class::BackendAwsAuthUnhealthy),
        // The typo is what v0.5.0–v0.7.11 log (`pkg/mapper/configmap/configmap.go`,
        // `startLoadConfigMap`).
        ("recieved a watch error", Class::BackendAwsAuthUnhealthy),
        ("Watch channel closed", Class::BackendAwsAuthUnhealthy),
        ("Errors parsing configmap", Class::BackendAwsAuthInvalid),
        (
            "There was an error parsing the config maps",
            Class::BackendAwsAuthInvalid,
        ),
        ("error parsing config map:", Class::BackendAwsAuthInvalid),
        (
            "Resetting configmap on delete",
            Class::BackendAwsAuthDeleted,
        ),
        ("ParseMap:", Class::BackendDynamicFileError),
        (
            "Batch call failed querying private DNS from EC2 API",
            Class::Ec2BatchFailure,
        ),
        ("unexpected request method", Class::WebhookBadRequest),
        ("empty request body", Class::WebhookBadRequest),
        ("could not parse request body", Class::WebhookBadRequest),
    ];
    if let Some(&(_, class)) = PREFIXES.iter().find(|(p, _)| msg.starts_with(p)) {
        return Some(class);
    }
    let is_error = matches!(level, "error" | "fatal" | "panic");
    let dynamic =
        msg.starts_with("startLoadDynamicFile:") || msg.starts_with("StartLoadDynamicFile:");
    (is_error && dynamic).then_some(Class::BackendDynamicFileError)
}

/// Whether a role session name is an EC2 instance id, `^i-[0-9a-f]{8}([0-9a-f]{9})?$`: the
/// session an instance profile gets, so the denied principal is a node.
pub fn is_instance_session(session: &str) -> bool {
    let Some(hex) = session.strip_prefix("i-") else {
        return false;
    };
    (hex.len() == 8 || hex.len() == 17)
        && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Picks the not-mapped sub-class from context the correlator collected
/// (`docs/authenticator-log.md#failure-classes`).
///
/// * `canonical_arn`: the deny line's `arn` (or the ARN in `ARN is not mapped: <arn>`).
/// * `paired_session`: `session` of the paired `STS response` (same stream and `client`).
/// * `earlier_uid`: `uid` of an earlier `access granted` for the same canonical ARN.
/// * `current_userid`: `userid` of the paired `STS response`.
/// * `static_mapping_arns`: `role=` values of the startup `mapping IAM role` lines.
///
/// Precedence, first match wins: `node_role_not_mapped` (an instance session is the most
/// direct evidence, and a node that cannot join is the most urgent), `sso_role_not_mapped`
/// (the role name proves it), `principal_recreated` (needs both unique ids, and they must
/// differ; a scrubbed earlier uid cannot be compared), `role_path_in_mapping` (a static
/// mapping of a role with a path whose name and account equal the denied role's, compared
/// case-insensitively as the mappers do), else `identity_not_mapped`.
pub fn refine_not_mapped(
    canonical_arn: Option<&str>,
    paired_session: Option<&str>,
    earlier_uid: Option<&str>,
    current_userid: Option<&str>,
    static_mapping_arns: &[&str],
) -> Class {
    if paired_session.is_some_and(is_instance_session) {
        return Class::NodeRoleNotMapped;
    }
    let denied = canonical_arn.and_then(|a| Arn::parse(a).ok());
    if denied.as_ref().is_some_and(Arn::is_sso_role) {
        return Class::SsoRoleNotMapped;
    }
    if let (Some(earlier), Some(current)) = (earlier_uid, current_userid) {
        let earlier_id = match Uid::parse(earlier) {
            Some(uid) if uid.is_scrubbed() => None,
            Some(uid) => Some(uid.principal_id),
            None => Some(earlier),
        };
        if earlier_id.is_some_and(|id| !id.is_empty() && !current.is_empty() && id != current) {
            return Class::PrincipalRecreated;
        }
    }
    if let Some(name) = denied.as_ref().and_then(Arn::role_name) {
        let account = denied.as_ref().map_or("", Arn::account);
        let pathed_match = static_mapping_arns
            .iter()
            .filter_map(|m| Arn::parse(m).ok())
            .any(|m| {
                matches!(m.kind(), PrincipalKind::Role { path, .. } if !path.is_empty())
                    && m.role_name().is_some_and(|n| n.eq_ignore_ascii_case(name))
                    && m.account().eq_ignore_ascii_case(account)
            });
        if pathed_match {
            return Class::RolePathInMapping;
        }
    }
    Class::IdentityNotMapped
}
