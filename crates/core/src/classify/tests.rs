//! Behaviour tests for the classifier: a case table per rule, the not-mapped refinement,
//! the `testdata/classes/*.log` fixtures, and "never panics" properties.
//!
//! The fixture test carries its own tiny logfmt reader (logrus `text_formatter.go`) and
//! correlator (`docs/authenticator-log.md#correlation`) so that this module does not depend
//! on `parse`; it also re-renders every line with logrus' quoting rules and demands the exact
//! original bytes, which is what keeps the fixtures faithful for the real parser.

use std::collections::HashMap;
use std::path::Path;

use proptest::prelude::*;
use rstest::rstest;

use super::*;
use eks_authlog_testkit::logrus::logrus_value;

#[rstest]
// token_* (pkg/token/token.go, tokenVerifier.Verify)
#[case::not_iam(
    r#"input token was not properly formatted: token is missing expected "k8s-aws-v1." prefix"#,
    Class::TokenNotIam
)]
#[case::too_large(
    "input token was not properly formatted: token is too large",
    Class::TokenTooLarge
)]
#[case::base64(
    "input token was not properly formatted: illegal base64 data at input byte 4",
    Class::TokenCorrupt
)]
#[case::url_parse(r#"input token was not properly formatted: parse "https://sts.amazonaws.com/%zz": invalid URL escape "%zz""#, Class::TokenCorrupt)]
#[case::bad_path(
    "input token was not properly formatted: unexpected path in pre-signed URL",
    Class::TokenCorrupt
)]
#[case::bad_query(
    "input token was not properly formatted: malformed query parameter",
    Class::TokenCorrupt
)]
#[case::multi_values(
    "input token was not properly formatted: query parameter with multiple values not supported",
    Class::TokenCorrupt
)]
#[case::http_request(
    "input token was not properly formatted: error creating HTTP request: net/http: nil Context",
    Class::TokenCorrupt
)]
#[case::duplicate(r#"input token was not properly formatted: duplicate query parameter found: "X-Amz-Credential""#, Class::TokenForgedOrTampered)]
#[case::non_whitelisted(
    r#"input token was not properly formatted: non-whitelisted query parameter "X-Amz-Foo""#,
    Class::TokenForgedOrTampered
)]
#[case::action(
    "input token was not properly formatted: unexpected action parameter in pre-signed URL",
    Class::TokenForgedOrTampered
)]
#[case::scheme(
    r#"input token was not properly formatted: unexpected scheme "http" in pre-signed URL"#,
    Class::TokenForgedOrTampered
)]
#[case::hostname(r#"input token was not properly formatted: unexpected hostname "sts.cn-north-1.amazonaws.com.cn" in pre-signed URL"#, Class::TokenWrongStsEndpoint)]
#[case::hostname_v030(
    "input token was not properly formatted: unexpected hostname in pre-signed URL",
    Class::TokenWrongStsEndpoint
)]
#[case::parse_region(
    "input token was not properly formatted: could not parse region for pre-signed URL amazonaws.com, invalid host format",
    Class::TokenWrongStsEndpoint
)]
#[case::global_unsupported(
    "input token was not properly formatted: global endpoint unsupported in partition aws-us-gov",
    Class::TokenWrongStsEndpoint
)]
#[case::region_format(
    "input token was not properly formatted: invalid region identifier format provided: US_EAST_1",
    Class::TokenWrongStsEndpoint
)]
#[case::partition_host(
    "input token was not properly formatted: partition {aws} does not support hostname sts.cn-north-1.amazonaws.com.cn",
    Class::TokenWrongStsEndpoint
)]
#[case::raw_labels(
    "invalid host format, too few labels: amazonaws.com",
    Class::TokenWrongStsEndpoint
)]
#[case::raw_partition("partition aws-mars not valid", Class::TokenWrongStsEndpoint)]
#[case::not_bound(
    "input token was not properly formatted: client did not sign the x-k8s-aws-id header in the pre-signed URL",
    Class::TokenNotClusterBound
)]
#[case::expires(
    "input token was not properly formatted: invalid X-Amz-Expires parameter in pre-signed URL: 0",
    Class::TokenBadParams
)]
#[case::expires_v030(
    "input token was not properly formatted: invalid X-Amz-Expires parameter in pre-signed URL",
    Class::TokenBadParams
)]
#[case::date_missing(
    "input token was not properly formatted: X-Amz-Date parameter must be present in pre-signed URL",
    Class::TokenBadParams
)]
#[case::date_parse(
    "input token was not properly formatted: error parsing X-Amz-Date parameter x into format 20060102T150405Z: bad",
    Class::TokenBadParams
)]
#[case::expired(
    "input token was not properly formatted: X-Amz-Date parameter is expired (15 minute expiration) 2026-01-15 09:10:02 +0000 UTC",
    Class::TokenExpired
)]
// sts_* (pkg/token/token.go, tokenVerifier.Verify; STS error codes)
#[case::signature(r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {"Error":{"Code":"SignatureDoesNotMatch","Message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.","Type":"Sender"},"RequestId":"r"}"#, Class::StsWrongClusterOrSecret)]
#[case::skew_past(r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403) on us-east-1 endpoint. Body: {"Error":{"Code":"SignatureDoesNotMatch","Message":"Signature expired: 20260115T084500Z is now earlier than 20260115T084600Z (20260115T090100Z - 15 min.)","Type":"Sender"},"RequestId":"r"}"#, Class::StsClockSkew)]
#[case::skew_future(r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {"Error":{"Code":"SignatureDoesNotMatch","Message":"Signature not yet current: a is still later than b (c + 15 min.)","Type":"Sender"},"RequestId":"r"}"#, Class::StsClockSkew)]
#[case::public_invalid_token(r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {"Error":{"Code":"InvalidClientTokenId","Message":"The security token included in the request is invalid.","Type":"Sender"},"RequestId":"a9068247-f1ab-47ef-b1b1-cda46a27be0e"}"#, Class::StsInvalidCredentials)]
#[case::expired_token(r#"sts getCallerIdentity failed: error from AWS (expected 200, got 400). Body: {"Error":{"Code":"ExpiredToken","Message":"The security token included in the request is expired","Type":"Sender"},"RequestId":"r"}"#, Class::StsExpiredCredentials)]
#[case::region_disabled(r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403) on ap-east-1 endpoint. Body: {"Error":{"Code":"RegionDisabledException","Message":"STS is not activated in this region for account:111122223333.","Type":"Sender"},"RequestId":"r"}"#, Class::StsRegionDisabled)]
#[case::throttled(r#"sts getCallerIdentity was throttled: {"Error":{"Code":"Throttling","Message":"Rate exceeded","Type":"Sender"},"RequestId":"00000000-0000-0000-0000-000000000000"}"#, Class::StsThrottled)]
#[case::throttled_old(r#"sts getCallerIdentity failed: error from AWS (expected 200, got 400). Body: {"Error":{"Code":"Throttling","Message":"Rate exceeded","Type":"Sender"},"RequestId":"r"}"#, Class::StsThrottled)]
#[case::get_timeout(
    "sts getCallerIdentity failed: error during GET: context deadline exceeded (Client.Timeout exceeded while awaiting headers) on us-west-2 endpoint",
    Class::StsUnreachable
)]
#[case::get_old(
    "sts getCallerIdentity failed: error during GET: dial tcp: i/o timeout",
    Class::StsUnreachable
)]
#[case::read(
    "sts getCallerIdentity failed: error reading HTTP result: unexpected EOF",
    Class::StsUnreachable
)]
#[case::server_500(
    "sts getCallerIdentity failed: error from AWS (expected 200, got 500)",
    Class::StsServerError
)]
#[case::server_503_body(r#"sts getCallerIdentity failed: error from AWS (expected 200, got 503) on global endpoint. Body: {"Error":{"Code":"ServiceUnavailable","Message":"x","Type":"Receiver"},"RequestId":"r"}"#, Class::StsServerError)]
#[case::opaque(
    "sts getCallerIdentity failed: error from AWS (expected 200, got 403)",
    Class::StsRejectedOpaque
)]
#[case::opaque_region(
    "sts getCallerIdentity failed: error from AWS (expected 200, got 400) on us-east-1 endpoint",
    Class::StsRejectedOpaque
)]
#[case::access_denied(r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {"Error":{"Code":"AccessDenied","Message":"no","Type":"Sender"},"RequestId":"r"}"#, Class::StsRejectedOther)]
#[case::redirect(
    "sts getCallerIdentity failed: error from AWS (expected 200, got 307)",
    Class::StsRejectedOther
)]
#[case::opt_in(r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {"Error":{"Code":"OptInRequired","Message":"x","Type":"Sender"},"RequestId":"r"}"#, Class::StsRejectedOther)]
#[case::invalid_action(r#"sts getCallerIdentity failed: error from AWS (expected 200, got 400). Body: {"Error":{"Code":"InvalidAction","Message":"Could not find operation AssumeRole for version 2011-06-15","Type":"Sender"},"RequestId":"r"}"#, Class::TokenForgedOrTampered)]
#[case::arn_invalid(
    "sts getCallerIdentity failed: arn '' is invalid: 'arn: invalid prefix'",
    Class::StsResponseUnusable
)]
#[case::no_role(
    "sts getCallerIdentity failed: assumed-role arn 'arn:aws:sts::1:assumed-role/x' does not have a role",
    Class::StsResponseUnusable
)]
#[case::user_id(
    r#"sts getCallerIdentity failed: malformed UserID "AROAEXAMPLE""#,
    Class::StsResponseUnusable
)]
#[case::json(
    "sts getCallerIdentity failed: invalid character '<' looking for beginning of value",
    Class::StsResponseUnusable
)]
// mapping (pkg/server/server.go, doMapping)
#[case::arn_mismatch(
    "mapper DynamicFile Map error: ARN does not match User ID",
    Class::AccessEntryArnMismatch
)]
#[case::arn_mismatch_agg(
    "[mapper CRD Map error: Index with name arn does not exist, mapper DynamicFile Map error: ARN does not match User ID]",
    Class::AccessEntryArnMismatch
)]
#[case::session_not_instance(r#"mapper DynamicFile renderTemplates error: error rendering username template "system:node:{{EC2PrivateDNSName}}": SessionName did not contain an instance id"#, Class::NodeTemplateSessionNotInstance)]
#[case::session_not_instance_fork(
    "failed mapping username: SessionName did not contain an instance id",
    Class::NodeTemplateSessionNotInstance
)]
#[case::ec2_denied_v1(
    "mapper EKSConfigMap renderTemplates error: error rendering username template \"system:node:{{EC2PrivateDNSName}}\": failed querying private DNS from EC2 API for node i-0123456789abcdef0: UnauthorizedOperation: You are not authorized to perform this operation.\n\tstatus code: 403, request id: 00000000-0000-0000-0000-000000000000 ",
    Class::NodeTemplateEc2Denied
)]
#[case::ec2_denied_v2(
    "mapper DynamicFile renderTemplates error: error rendering username template \"system:node:{{EC2PrivateDNSName}}\": failed querying private DNS from EC2 API for node i-0123456789abcdef0: operation error EC2: DescribeInstances, https response error StatusCode: 403, RequestID: r, api error UnauthorizedOperation: You are not authorized to perform this operation. ",
    Class::NodeTemplateEc2Denied
)]
#[case::ec2_access_denied(
    "failed mapping username: failed querying private DNS from EC2 API for node i-0123456789abcdef0: AccessDenied: no",
    Class::NodeTemplateEc2Denied
)]
#[case::instance_not_found(
    "mapper EKSConfigMap renderTemplates error: error rendering username template \"system:node:{{EC2PrivateDNSName}}\": failed querying private DNS from EC2 API for node i-0123456789abcdef0: InvalidInstanceID.NotFound: The instance ID 'i-0123456789abcdef0' does not exist\n\tstatus code: 400, request id: r ",
    Class::NodeTemplateInstanceNotFound
)]
#[case::failed_to_find(
    "mapper EKSConfigMap renderTemplates error: error rendering username template \"system:node:{{EC2PrivateDNSName}}\": failed to find node i-0123456789abcdef0 ",
    Class::NodeTemplateInstanceNotFound
)]
#[case::ec2_throttled(
    "mapper EKSConfigMap renderTemplates error: error rendering username template \"system:node:{{EC2PrivateDNSName}}\": failed querying private DNS from EC2 API for node i-0123456789abcdef0: RequestLimitExceeded: Request limit exceeded.\n\tstatus code: 503, request id: r ",
    Class::NodeTemplateEc2Throttled
)]
#[case::cache_loop(
    "mapper EKSConfigMap renderTemplates error: error rendering username template \"system:node:{{EC2PrivateDNSName}}\": failed to find node i-0123456789abcdef0 in PrivateDNSNameCache returning from loop",
    Class::NodeTemplateEc2Throttled
)]
#[case::dns_1123(
    "failed mapping username: username or group is not a DNS-1123 hostname",
    Class::NodeTemplateOther
)]
#[case::group_template(
    "mapper EKSConfigMap renderTemplates error: error rendering group template \"{{Foo}}\": template: x: function \"Foo\" not defined",
    Class::NodeTemplateOther
)]
#[case::ec2_other_code(
    "failed mapping group: failed querying private DNS from EC2 API for node i-01234567: AuthFailure: x",
    Class::NodeTemplateOther
)]
#[case::reserved(
    "invalid username 'eks:admin' for mapper DynamicFile: username must not begin with with the following prefixes: [system: eks: aws: amazon: iam:]",
    Class::ReservedUsername
)]
#[case::backend(
    "mapper CRD Map error: Index with name arn does not exist",
    Class::MapperBackendError
)]
#[case::backend_agg(
    "[mapper EKSConfigMap Map error: a, mapper CRD Map error: b]",
    Class::MapperBackendError
)]
#[case::backend_old_name("mapper ConfigMap Map error: x", Class::MapperBackendError)]
#[case::not_mapped_public("ARN is not mapped", Class::IdentityNotMapped)]
#[case::not_mapped_arn(
    "ARN is not mapped: arn:aws:iam::111122223333:role/github_oidc",
    Class::IdentityNotMapped
)]
#[case::not_mapped_identity("Identity is not mapped", Class::IdentityNotMapped)]
#[case::not_mapped_lower("identity is not mapped", Class::IdentityNotMapped)]
#[case::unknown("something this classifier has never seen", Class::Unclassified)]
#[case::empty("", Class::Unclassified)]
#[case::prefix_without_detail("mapper ", Class::Unclassified)]
fn classifies_denials(#[case] error: &str, #[case] want: Class) {
    assert_eq!(classify_denial(error).class, want, "{error}");
}

#[test]
fn denial_details_are_borrowed_out() {
    let d = classify_denial(
        r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403) on us-west-2 endpoint. Body: {"Error":{"Code":"InvalidClientTokenId","Message":"The security token included in the request is invalid.","Type":"Sender"},"RequestId":"a9068247-f1ab-47ef-b1b1-cda46a27be0e"}"#,
    );
    let sts = d.sts.unwrap();
    assert_eq!(sts.status, Some(403));
    assert_eq!(sts.region, Some("us-west-2"));
    assert_eq!(sts.code, Some("InvalidClientTokenId"));
    assert_eq!(sts.request_id, Some("a9068247-f1ab-47ef-b1b1-cda46a27be0e"));

    let d =
        classify_denial("ARN is not mapped: arn:aws:iam::111122223333:role/dev-tooling-operator");
    assert_eq!(
        d.arn,
        Some("arn:aws:iam::111122223333:role/dev-tooling-operator")
    );

    let d = classify_denial(
        "mapper DynamicFile renderTemplates error: error rendering username template \"system:node:{{EC2PrivateDNSName}}\": failed querying private DNS from EC2 API for node i-0123456789abcdef0: operation error EC2: DescribeInstances, https response error StatusCode: 403, RequestID: r, api error UnauthorizedOperation: You are not authorized to perform this operation. ",
    );
    assert_eq!(d.mapper, Some("DynamicFile"));
    assert_eq!(d.template, Some("system:node:{{EC2PrivateDNSName}}"));
    assert_eq!(d.instance_id, Some("i-0123456789abcdef0"));
    assert_eq!(d.ec2_code, Some("UnauthorizedOperation"));

    let d = classify_denial("failed mapping username: failed to find node i-0123456789abcdef0 ");
    assert_eq!(d.instance_id, Some("i-0123456789abcdef0"));

    let d = classify_denial(
        "invalid username 'eks:admin' for mapper DynamicFile: username must not begin with with the following prefixes: [system: eks:]",
    );
    assert_eq!(
        (d.username, d.mapper),
        (Some("eks:admin"), Some("DynamicFile"))
    );

    let d = classify_denial(
        "[mapper CRD Map error: x, mapper DynamicFile Map error: ARN does not match User ID]",
    );
    assert_eq!(d.mapper, Some("DynamicFile"));
    let d = classify_denial("[mapper EKSConfigMap Map error: a, mapper CRD Map error: b]");
    assert_eq!((d.mapper, d.detail), (Some("EKSConfigMap"), "a"));

    let d = classify_denial("input token was not properly formatted: token is too large");
    assert_eq!(d.detail, "token is too large");
    assert_eq!(d.sts, None);
}

#[test]
fn a_quoted_username_cannot_fake_another_form() {
    // The reserved-username form wins on its prefix even if the username quotes a cause.
    let d = classify_denial(
        "invalid username 'ARN does not match User ID' for mapper DynamicFile: username must not begin with with the following prefixes: [eks:]",
    );
    assert_eq!(d.class, Class::ReservedUsername);
}

#[rstest]
#[case(
    "error",
    "Unable to re-establish watch: Get \"https://172.16.42.46:443/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Daws-auth&watch=true\": dial tcp 172.16.42.46:443: connect: connection refused, sleeping for 5 seconds.",
    Some(Class::BackendAwsAuthUnhealthy)
)]
#[case(
    "warning",
    "Unable to re-establish watch.  Sleeping for 5 seconds",
    Some(Class::BackendAwsAuthUnhealthy)
)]
#[case(
    "error",
    "recieved a watch error",
    Some(Class::BackendAwsAuthUnhealthy)
)]
#[case(
    "error",
    "received a watch error",
    Some(Class::BackendAwsAuthUnhealthy)
)]
#[case(
    "warning",
    "Watch channel closed. Reconnecting...",
    Some(Class::BackendAwsAuthUnhealthy)
)]
#[case("error", "Watch channel closed.", Some(Class::BackendAwsAuthUnhealthy))]
#[case(
    "warning",
    "Errors parsing configmap: [x]",
    Some(Class::BackendAwsAuthInvalid)
)]
#[case(
    "error",
    "There was an error parsing the config maps.  Only saving data that was good, x",
    Some(Class::BackendAwsAuthInvalid)
)]
#[case(
    "error",
    "error parsing config map: [x y]",
    Some(Class::BackendAwsAuthInvalid)
)]
#[case(
    "info",
    "Resetting configmap on delete",
    Some(Class::BackendAwsAuthDeleted)
)]
#[case(
    "error",
    "startLoadDynamicFile: failed when loading file /x, y",
    Some(Class::BackendDynamicFileError)
)]
#[case(
    "error",
    "StartLoadDynamicFile: error in loadDynamicFile, y",
    Some(Class::BackendDynamicFileError)
)]
#[case(
    "info",
    "startLoadDynamicFile: got WRITE/CREATE event reload it the memory",
    None
)]
#[case(
    "error",
    "ParseMap: could not unmarshal dynamic file.",
    Some(Class::BackendDynamicFileError)
)]
#[case(
    "warning",
    "ParseMap: Errors parsing dynamic file: [x]",
    Some(Class::BackendDynamicFileError)
)]
#[case(
    "error",
    "Batch call failed querying private DNS from EC2 API for nodes [i-0123456789abcdef0] : with error = []x ",
    Some(Class::Ec2BatchFailure)
)]
#[case("error", "unexpected request method", Some(Class::WebhookBadRequest))]
#[case("error", "empty request body", Some(Class::WebhookBadRequest))]
#[case(
    "error",
    "could not parse request body",
    Some(Class::WebhookBadRequest)
)]
#[case("warning", "access denied", None)]
#[case("info", "access granted", None)]
#[case("info", "Received aws-auth watch event", None)]
#[case("info", "mapping IAM role", None)]
fn classifies_messages(#[case] level: &str, #[case] msg: &str, #[case] want: Option<Class>) {
    assert_eq!(classify_message(level, msg), want, "{msg}");
}

#[rstest]
#[case("i-0123abcd", true)]
#[case("i-0123456789abcdef0", true)]
#[case("i-0123456789ABCDEF0", false)]
#[case("i-0123456789abcdef", false)]
#[case("i-", false)]
#[case("EKSAuthTokenSession", false)]
#[case("alice@example.com", false)]
fn instance_sessions(#[case] session: &str, #[case] want: bool) {
    assert_eq!(is_instance_session(session), want);
}

const DEV: &str = "arn:aws:iam::111122223333:role/Dev";

#[rstest]
#[case::node(Some(DEV), Some("i-0123456789abcdef0"), None, None, &[], Class::NodeRoleNotMapped)]
#[case::node_short_id(Some(DEV), Some("i-0123abcd"), None, None, &[], Class::NodeRoleNotMapped)]
#[case::node_wins_over_recreated(Some(DEV), Some("i-0123abcd"), Some("aws-iam-authenticator:111122223333:AROAOLD"), Some("AROANEW"), &[], Class::NodeRoleNotMapped)]
#[case::sso(Some("arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef"), Some("alice@example.com"), None, None, &[], Class::SsoRoleNotMapped)]
#[case::sso_lower(Some("arn:aws:iam::111122223333:role/awsreservedsso_admin_0123456789abcdef"), None, None, None, &[], Class::SsoRoleNotMapped)]
#[case::recreated(Some(DEV), Some("ci"), Some("aws-iam-authenticator:111122223333:AROAOLD"), Some("AROANEW"), &[], Class::PrincipalRecreated)]
#[case::recreated_heptio(Some(DEV), None, Some("heptio-authenticator-aws:111122223333:AIDAOLD"), Some("AIDANEW"), &[], Class::PrincipalRecreated)]
#[case::same_uid(Some(DEV), Some("ci"), Some("aws-iam-authenticator:111122223333:AROASAME"), Some("AROASAME"), &[], Class::IdentityNotMapped)]
#[case::no_current_userid(Some(DEV), Some("ci"), Some("aws-iam-authenticator:111122223333:AROAOLD"), None, &[], Class::IdentityNotMapped)]
#[case::scrubbed(Some(DEV), None, Some("aws-iam-authenticator:administrative:dev"), Some("AROANEW"), &[], Class::IdentityNotMapped)]
#[case::path(Some("arn:aws:iam::111122223333:role/eks-admin"), Some("alice"), None, None, &["arn:aws:iam::111122223333:role/team/developers/eks-admin"], Class::RolePathInMapping)]
#[case::path_lower_deny(Some("arn:aws:iam::111122223333:role/eks-admin"), None, None, None, &["arn:aws:iam::111122223333:role/Team/EKS-Admin"], Class::RolePathInMapping)]
#[case::path_other_account(Some("arn:aws:iam::111122223333:role/eks-admin"), None, None, None, &["arn:aws:iam::444455556666:role/team/eks-admin"], Class::IdentityNotMapped)]
#[case::pathless_mapping(Some("arn:aws:iam::111122223333:role/eks-admin"), None, None, None, &["arn:aws:iam::111122223333:role/eks-admin"], Class::IdentityNotMapped)]
#[case::other_name(Some(DEV), None, None, None, &["arn:aws:iam::111122223333:role/team/eks-admin"], Class::IdentityNotMapped)]
#[case::user_mapping_ignored(Some("arn:aws:iam::111122223333:user/bob"), None, None, None, &["arn:aws:iam::111122223333:user/ops/bob"], Class::IdentityNotMapped)]
#[case::nothing(None, None, None, None, &[], Class::IdentityNotMapped)]
#[case::garbage(Some("not an arn"), Some(""), Some(""), Some(""), &["also not"], Class::IdentityNotMapped)]
fn refines_not_mapped(
    #[case] arn: Option<&str>,
    #[case] session: Option<&str>,
    #[case] earlier_uid: Option<&str>,
    #[case] userid: Option<&str>,
    #[case] statics: &[&str],
    #[case] want: Class,
) {
    assert_eq!(
        refine_not_mapped(arn, session, earlier_uid, userid, statics),
        want
    );
}

// ---- fixtures ------------------------------------------------------------------------------

/// Splits a logrus text line into raw `(key, value)` pairs, values still quoted (logrus
/// `text_formatter.go`, `needsQuoting`).
fn pairs(line: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let eq = rest.find('=').expect("key without '='");
        let key = &rest[..eq];
        assert!(
            !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'.'),
            "bad key {key:?} in {line}"
        );
        let v = &rest[eq + 1..];
        let end = if v.starts_with('"') {
            let b = v.as_bytes();
            let mut i = 1;
            while b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i + 1
        } else {
            v.find(' ').unwrap_or(v.len())
        };
        out.push((key, &v[..end]));
        // Pairs are separated by exactly one space; anything else means a stray quote.
        rest = &v[end..];
        if !rest.is_empty() {
            rest = rest
                .strip_prefix(' ')
                .expect("value not followed by a space");
            assert!(
                !rest.starts_with(' ') && !rest.is_empty(),
                "double or trailing space in {line}"
            );
        }
    }
    out
}

/// Go-unquotes a logrus value (ASCII escapes only; the fixtures are ASCII).
fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return v.to_owned();
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().unwrap() {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(char::from(u8::from_str_radix(&hex, 16).unwrap()));
            }
            other => panic!("escape \\{other} not expected in fixtures"),
        }
    }
    out
}

/// Classifies every failure line of a fixture, correlating like the real pipeline
/// (`docs/authenticator-log.md#correlation`):
/// an `STS response` pairs with the next grant/deny of the same `client`, grants remember
/// `arn → uid`, and startup `mapping IAM role` lines are the static mappings.
fn classify_fixture(text: &str) -> Vec<(usize, Class)> {
    let mut statics: Vec<String> = Vec::new();
    let mut pending: HashMap<String, (String, String)> = HashMap::new();
    let mut granted: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let raw = pairs(line);
        let keys: Vec<&str> = raw.iter().map(|(k, _)| *k).collect();
        assert_eq!(&keys[..2], ["time", "level"], "line {n}: fixed keys first");
        let data = if keys.get(2) == Some(&"msg") {
            &keys[3..]
        } else {
            &keys[2..]
        };
        assert!(
            data.windows(2).all(|w| w[0] < w[1]),
            "line {n}: data keys not sorted: {keys:?}"
        );
        let f: HashMap<&str, String> = raw.iter().map(|(k, v)| (*k, unquote(v))).collect();
        for (k, v) in &raw {
            let want = if *k == "time" {
                format!("\"{}\"", f[k])
            } else {
                logrus_value(&f[k])
            };
            assert_eq!(*v, want, "line {n}: value of {k} is not logrus-quoted");
        }
        let get = |k: &str| f.get(k).map(String::as_str);
        match get("msg").unwrap_or("") {
            "mapping IAM role" => statics.extend(get("role").map(str::to_owned)),
            "STS response" => {
                let v = (
                    get("session").unwrap_or("").to_owned(),
                    get("userid").unwrap_or("").to_owned(),
                );
                pending.insert(get("client").unwrap().to_owned(), v);
            }
            "access granted" => {
                pending.remove(get("client").unwrap());
                granted.insert(
                    get("arn").unwrap().to_owned(),
                    get("uid").unwrap().to_owned(),
                );
            }
            "access denied" => {
                let paired = pending.remove(get("client").unwrap());
                let d = classify_denial(get("error").unwrap());
                let mut class = d.class;
                if class == Class::IdentityNotMapped {
                    let arn = get("arn").or(d.arn);
                    let statics: Vec<&str> = statics.iter().map(String::as_str).collect();
                    class = refine_not_mapped(
                        arn,
                        paired.as_ref().map(|p| p.0.as_str()),
                        arn.and_then(|a| granted.get(a)).map(String::as_str),
                        paired.as_ref().map(|p| p.1.as_str()),
                        &statics,
                    );
                }
                out.push((n, class));
            }
            msg => out.extend(classify_message(get("level").unwrap(), msg).map(|c| (n, c))),
        }
    }
    out
}

#[test]
fn every_fixture_classifies_as_its_name() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("testdata/classes");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let want: Class = stem
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = std::fs::read_to_string(&path).unwrap();
        let got = classify_fixture(&text);
        assert!(!got.is_empty(), "{stem}: no failure line");
        for (n, class) in got {
            assert_eq!(class, want, "{stem}.log line {}", n + 1);
        }
        seen.push(want);
    }
    // Every class the classifier can emit has a fixture.
    for &class in Class::ALL {
        assert!(seen.contains(&class), "no testdata/classes/{class}.log");
    }
}

// ---- properties ----------------------------------------------------------------------------

/// Prefixes that steer arbitrary text into each rule, so the property reaches deep code.
const STEERS: &[&str] = &[
    "",
    "input token was not properly formatted: ",
    "sts getCallerIdentity was throttled: ",
    "sts getCallerIdentity failed: error from AWS (expected 200, got ",
    "sts getCallerIdentity failed: error during GET: ",
    "sts getCallerIdentity failed: ",
    "ARN is not mapped: ",
    "invalid username '",
    "mapper ",
    "[mapper ",
    "mapper X renderTemplates error: error rendering username template \"",
    "failed mapping username: failed querying private DNS from EC2 API for node ",
    "failed mapping group: failed to find node ",
    "partition ",
];

proptest! {
    #[test]
    fn classify_denial_never_panics(steer in proptest::sample::select(STEERS), tail in ".{0,200}") {
        let text = format!("{steer}{tail}");
        let d = classify_denial(&text);
        // Every borrowed detail really is a slice of the input.
        let range = text.as_ptr() as usize..=text.as_ptr() as usize + text.len();
        prop_assert!(range.contains(&(d.detail.as_ptr() as usize)));
    }

    #[test]
    fn classify_denial_never_panics_on_json_ish(tail in r#"[{}\[\]":,\\ a-zA-Z0-9<>/.-]{0,120}"#) {
        let _ = classify_denial(&format!("sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {tail}"));
        let _ = classify_denial(&format!("sts getCallerIdentity was throttled: {tail}"));
    }

    #[test]
    fn arn_parse_never_panics(steer in proptest::sample::select(&["", "arn:", "arn:aws:sts::1:assumed-role/", "arn:aws:iam::1:role/"][..]), tail in ".{0,120}") {
        let text = format!("{steer}{tail}");
        if let Ok(arn) = Arn::parse(&text) {
            let _ = (arn.canonical(), arn.strip_path(), arn.role_name(), arn.path(), arn.is_sso_role(), arn.is_eks_internal());
        }
        let _ = Uid::parse(&text);
    }

    #[test]
    fn refine_and_message_never_panic(a in ".{0,60}", b in ".{0,30}", c in ".{0,60}", d in ".{0,30}") {
        let _ = refine_not_mapped(Some(&a), Some(&b), Some(&c), Some(&d), &[a.as_str(), c.as_str()]);
        let _ = classify_message(&b, &a);
    }
}
