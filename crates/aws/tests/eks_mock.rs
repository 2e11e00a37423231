//! The live EKS read against canned SDK responses (`aws-smithy-mocks`): moto 5.2.5 answers
//! every access-entry call with a 404 and drops `accessConfig`, so these rules are how the
//! four calls are tested: pagination over several pages, an `AccessDeniedException` that
//! leaves one part unread while the read goes on, throttling that the SDK's retry absorbs,
//! and a mode that skips the access-entry calls. Errors are given as HTTP responses, so the
//! SDK's own REST-JSON error parsing and retry classification run. Time is paused.

use aws_sdk_eks::Client;
use aws_sdk_eks::config::retry::RetryConfig;
use aws_sdk_eks::operation::describe_access_entry::DescribeAccessEntryOutput;
use aws_sdk_eks::operation::describe_cluster::DescribeClusterOutput;
use aws_sdk_eks::operation::list_access_entries::ListAccessEntriesOutput;
use aws_sdk_eks::operation::list_associated_access_policies::ListAssociatedAccessPoliciesOutput;
use aws_sdk_eks::primitives::DateTime;
use aws_sdk_eks::types::{
    AccessConfigResponse, AccessEntry, AccessScope, AccessScopeType, AssociatedAccessPolicy,
    AuthenticationMode, Cluster,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use eks_authlog_aws::eks::{Eks, Error};
use eks_authlog_core::access::{AccessConfig, Mode, Part};

const CLUSTER: &str = "demo";
const ACCOUNT: &str = "111122223333";
const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const VIEW_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";

fn role(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// A client over `rules`, with the SDK's standard retry (3 attempts) as in production.
fn eks(rules: &[&Rule]) -> Eks {
    let client: Client = mock_client!(aws_sdk_eks, RuleMode::MatchAny, rules, |b| {
        b.retry_config(RetryConfig::standard().with_max_attempts(3))
    });
    Eks::from_client(client).unwrap()
}

fn cluster_rule(mode: AuthenticationMode) -> Rule {
    mock!(Client::describe_cluster)
        .match_requests(|r| r.name() == Some(CLUSTER))
        .then_output(move || {
            DescribeClusterOutput::builder()
                .cluster(
                    Cluster::builder()
                        .name(CLUSTER)
                        .arn(format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/{CLUSTER}"))
                        .created_at(DateTime::from_secs(1_700_000_000))
                        .role_arn(role("eks-cluster-role"))
                        .endpoint("https://ABCD.gr7.us-east-1.eks.amazonaws.com")
                        .access_config(
                            AccessConfigResponse::builder()
                                .authentication_mode(mode.clone())
                                .bootstrap_cluster_creator_admin_permissions(true)
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
}

/// ListAccessEntries in three pages: a, b | c | d.
fn list_rules() -> Vec<Rule> {
    let page = |token: Option<&'static str>,
                arns: &'static [&'static str],
                next: Option<&'static str>| {
        mock!(Client::list_access_entries)
            .match_requests(move |r| r.cluster_name() == Some(CLUSTER) && r.next_token() == token)
            .then_output(move || {
                let mut b = ListAccessEntriesOutput::builder()
                    .set_access_entries(Some(arns.iter().map(|a| role(a)).collect()));
                if let Some(n) = next {
                    b = b.next_token(n);
                }
                b.build()
            })
    };
    vec![
        page(None, &["a", "b"], Some("t1")),
        page(Some("t1"), &["c"], Some("t2")),
        page(Some("t2"), &["d"], None),
    ]
}

fn describe_rule() -> Rule {
    mock!(Client::describe_access_entry)
        .match_requests(|r| r.cluster_name() == Some(CLUSTER))
        .then_compute_output(|r| {
            let arn = r.principal_arn().unwrap().to_owned();
            let name = arn.rsplit('/').next().unwrap().to_owned();
            DescribeAccessEntryOutput::builder()
                .access_entry(
                    AccessEntry::builder()
                        .cluster_name(CLUSTER)
                        .principal_arn(&arn)
                        .username(format!("user-{name}"))
                        .kubernetes_groups(format!("group-{name}"))
                        .r#type("STANDARD")
                        .created_at(DateTime::from_secs(1_700_000_100))
                        .build(),
                )
                .build()
        })
}

fn policy(arn: &str, namespaces: &[&str]) -> AssociatedAccessPolicy {
    let scope = if namespaces.is_empty() {
        AccessScope::builder().r#type(AccessScopeType::Cluster)
    } else {
        AccessScope::builder()
            .r#type(AccessScopeType::Namespace)
            .set_namespaces(Some(namespaces.iter().map(|n| n.to_string()).collect()))
    };
    AssociatedAccessPolicy::builder()
        .policy_arn(arn)
        .access_scope(scope.build())
        .build()
}

/// Entry `a` has two policy pages (admin | view in `dev`); every other entry none.
fn policy_rules() -> Vec<Rule> {
    let a = role("a");
    let a2 = a.clone();
    vec![
        mock!(Client::list_associated_access_policies)
            .match_requests(move |r| {
                r.principal_arn() == Some(a.as_str()) && r.next_token().is_none()
            })
            .then_output(|| {
                ListAssociatedAccessPoliciesOutput::builder()
                    .associated_access_policies(policy(ADMIN_POLICY, &[]))
                    .next_token("p2")
                    .build()
            }),
        mock!(Client::list_associated_access_policies)
            .match_requests(move |r| {
                r.principal_arn() == Some(a2.as_str()) && r.next_token() == Some("p2")
            })
            .then_output(|| {
                ListAssociatedAccessPoliciesOutput::builder()
                    .associated_access_policies(policy(VIEW_POLICY, &["dev"]))
                    .build()
            }),
        mock!(Client::list_associated_access_policies)
            .match_requests(|r| r.principal_arn().is_some_and(|p| !p.ends_with("/a")))
            .then_output(|| ListAssociatedAccessPoliciesOutput::builder().build()),
    ]
}

/// An error as EKS sends it: REST-JSON with the code in `__type`.
fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({ "__type": code, "message": message }).to_string()
}

fn refs(rules: &[Rule]) -> Vec<&Rule> {
    rules.iter().collect()
}

#[tokio::test(start_paused = true)]
async fn every_page_of_every_call_is_read_into_the_config() {
    let cluster = cluster_rule(AuthenticationMode::ApiAndConfigMap);
    let lists = list_rules();
    let describe = describe_rule();
    let policies = policy_rules();
    let mut rules = vec![&cluster, &describe];
    rules.extend(refs(&lists));
    rules.extend(refs(&policies));
    let snap = eks(&rules).read(CLUSTER).await.unwrap();

    assert_eq!(snap.mode, Some(Mode::ApiAndConfigMap));
    assert_eq!(
        snap.endpoint.as_deref(),
        Some("https://ABCD.gr7.us-east-1.eks.amazonaws.com")
    );
    let calls = snap.live.api_calls;
    assert_eq!(calls.describe_cluster, 1);
    assert_eq!(calls.list_access_entries, 3, "three pages");
    assert_eq!(calls.describe_access_entry, 4);
    assert_eq!(calls.list_associated_access_policies, 5, "a has two pages");
    assert!(snap.live.unread.is_empty(), "{:?}", snap.live.unread);
    for l in &lists {
        assert_eq!(l.num_calls(), 1);
    }

    let mut cfg = AccessConfig::default();
    snap.apply(&mut cfg);
    let c = &cfg.entries.cluster;
    assert_eq!(c.name.as_deref(), Some(CLUSTER));
    assert_eq!(c.region.as_deref(), Some("us-east-1"));
    assert_eq!(c.mode, Some(Mode::ApiAndConfigMap));
    assert_eq!(c.bootstrap_creator_admin, Some(true));
    assert_eq!(c.created_at.as_deref(), Some("2023-11-14T22:13:20Z"));
    assert_eq!(
        c.role_arn.as_deref(),
        Some(role("eks-cluster-role").as_str())
    );
    let arns: Vec<&str> = cfg
        .entries
        .entries
        .iter()
        .map(|e| e.principal_arn.as_str())
        .collect();
    assert_eq!(arns, [role("a"), role("b"), role("c"), role("d")]);
    let a = &cfg.entries.entries[0];
    assert_eq!(a.username.as_deref(), Some("user-a"));
    assert_eq!(a.groups, ["group-a"]);
    assert_eq!(a.kind.as_deref(), Some("STANDARD"));
    let pols = a.policies.as_ref().expect("policies read");
    assert_eq!(pols.len(), 2, "both pages");
    assert!(pols[0].is_cluster_admin());
    assert_eq!(pols[1].access_scope.kind, "namespace");
    assert_eq!(pols[1].access_scope.namespaces, ["dev"]);
    assert_eq!(
        a.sources,
        [
            "eks:ListAccessEntries",
            "eks:DescribeAccessEntry",
            "eks:ListAssociatedAccessPolicies"
        ]
    );
    assert_eq!(cfg.entries.entries[3].policies.as_deref(), Some(&[][..]));
    assert!(cfg.unread().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_denied_action_is_named_and_the_read_goes_on() {
    let cluster = cluster_rule(AuthenticationMode::Api);
    let lists = list_rules();
    let describe = describe_rule();
    let denied = mock!(Client::list_associated_access_policies)
        .sequence()
        .http_status(
            403,
            Some(error_body(
                "AccessDeniedException",
                "User: arn:aws:sts::111122223333:assumed-role/ReadOnly/me is not authorized to \
                 perform: eks:ListAssociatedAccessPolicies",
            )),
        )
        .repeatedly()
        .build();
    let mut rules = vec![&cluster, &describe, &denied];
    rules.extend(refs(&lists));
    let snap = eks(&rules).read(CLUSTER).await.unwrap();

    assert_eq!(snap.live.unread.len(), 1, "{:?}", snap.live.unread);
    let u = &snap.live.unread[0];
    assert_eq!(u.part, Part::AccessPolicies);
    assert_eq!(
        u.action.as_deref(),
        Some("eks:ListAssociatedAccessPolicies")
    );
    assert_eq!(u.principals.len(), 4, "one line for the four entries");
    let text = u.text();
    assert!(
        text.starts_with(
            "access policies of 4 entries not read: eks:ListAssociatedAccessPolicies denied"
        ),
        "{text}"
    );
    assert!(text.contains("is not authorized"), "{text}");
    // A denial is not retried: one call per entry.
    assert_eq!(denied.num_calls(), 4);
    assert_eq!(snap.live.api_calls.list_associated_access_policies, 4);

    let mut cfg = AccessConfig::default();
    snap.apply(&mut cfg);
    // Everything else was read: the mode, and each entry's username.
    assert_eq!(cfg.mode(), Some(Mode::Api));
    assert_eq!(cfg.entries.entries.len(), 4);
    assert!(
        cfg.entries
            .entries
            .iter()
            .all(|e| e.username.is_some() && e.policies.is_none())
    );
    assert_eq!(cfg.unread(), [text]);
}

#[tokio::test(start_paused = true)]
async fn denied_list_and_describe_cluster_leave_their_parts_unread() {
    let cluster = mock!(Client::describe_cluster)
        .sequence()
        .http_status(
            403,
            Some(error_body(
                "AccessDeniedException",
                "not authorized to perform: eks:DescribeCluster",
            )),
        )
        .build();
    let list = mock!(Client::list_access_entries)
        .sequence()
        .http_status(
            403,
            Some(error_body(
                "AccessDeniedException",
                "not authorized to perform: eks:ListAccessEntries",
            )),
        )
        .build();
    let describe = describe_rule();
    let snap = eks(&[&cluster, &list, &describe])
        .read(CLUSTER)
        .await
        .unwrap();
    let parts: Vec<(Part, Option<&str>)> = snap
        .live
        .unread
        .iter()
        .map(|u| (u.part, u.action.as_deref()))
        .collect();
    assert_eq!(
        parts,
        [
            (Part::Cluster, Some("eks:DescribeCluster")),
            (Part::AccessEntries, Some("eks:ListAccessEntries")),
        ]
    );
    assert_eq!(snap.mode, None);
    assert_eq!(snap.endpoint, None);
    assert_eq!(describe.num_calls(), 0, "no entry to describe");
    let mut cfg = AccessConfig::default();
    snap.apply(&mut cfg);
    assert!(cfg.entries.entries.is_empty() && cfg.mode().is_none());
    assert_eq!(cfg.unread().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_by_the_sdk_until_it_answers() {
    let cluster = mock!(Client::describe_cluster)
        .sequence()
        .http_status(
            429,
            Some(error_body("ThrottlingException", "Rate exceeded")),
        )
        .times(2)
        .output(|| {
            DescribeClusterOutput::builder()
                .cluster(Cluster::builder().name(CLUSTER).build())
                .build()
        })
        .build();
    let list = mock!(Client::list_access_entries)
        .sequence()
        .http_status(
            429,
            Some(error_body("ThrottlingException", "Rate exceeded")),
        )
        .output(|| ListAccessEntriesOutput::builder().build())
        .build();
    let snap = eks(&[&cluster, &list]).read(CLUSTER).await.unwrap();
    assert_eq!(
        cluster.num_calls(),
        3,
        "two throttled attempts, then the answer"
    );
    assert_eq!(list.num_calls(), 2);
    assert!(snap.live.unread.is_empty(), "{:?}", snap.live.unread);
    // Our counters count calls, not the SDK's attempts.
    assert_eq!(snap.live.api_calls.describe_cluster, 1);
    assert_eq!(snap.live.api_calls.list_access_entries, 1);
}

#[tokio::test(start_paused = true)]
async fn throttling_through_every_retry_fails_describe_cluster_with_its_cause() {
    let cluster = mock!(Client::describe_cluster)
        .sequence()
        .http_status(
            429,
            Some(error_body("ThrottlingException", "Rate exceeded")),
        )
        .repeatedly()
        .build();
    let e = eks(&[&cluster]).read(CLUSTER).await.unwrap_err();
    assert_eq!(cluster.num_calls(), 3);
    let text = e.to_string();
    assert!(
        matches!(
            e,
            Error::Call {
                op: "DescribeCluster",
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("ThrottlingException: Rate exceeded"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_config_map_cluster_is_not_asked_for_access_entries() {
    let cluster = cluster_rule(AuthenticationMode::ConfigMap);
    let lists = list_rules();
    let mut rules = vec![&cluster];
    rules.extend(refs(&lists));
    let snap = eks(&rules).read(CLUSTER).await.unwrap();
    assert_eq!(snap.mode, Some(Mode::ConfigMap));
    assert!(lists.iter().all(|l| l.num_calls() == 0));
    assert_eq!(snap.live.api_calls.total(), 1);
    assert!(snap.live.unread.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_missing_cluster_is_an_error_naming_it() {
    let cluster = mock!(Client::describe_cluster)
        .sequence()
        .http_status(
            404,
            Some(error_body(
                "ResourceNotFoundException",
                "No cluster found for name: demo.",
            )),
        )
        .build();
    let e = eks(&[&cluster]).read(CLUSTER).await.unwrap_err();
    assert!(matches!(e, Error::ClusterNotFound { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("EKS cluster demo not found in us-east-1"),
        "{e}"
    );
}
