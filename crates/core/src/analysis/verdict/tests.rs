//! The creator's answer from every source: one test per rule of the module, each built from
//! real inputs (log lines, CloudTrail events, `aws eks` JSON) through the same readers as the
//! binary.

use serde_json::{Value, json};

use crate::access::{AccessConfig, IamCheck, IamOutcome, IamStatus};
use crate::analysis::{CreatorStatus, Options, Report};
use crate::pipeline::{self, Job};

const ACCT: &str = "111122223333";
/// The cluster's createdAt in every test: 2026-06-01T10:00:00Z.
const CREATED: &str = "2026-06-01T10:00:00Z";
const SERVICE_ROLE: &str = "arn:aws:iam::111122223333:role/eks-cluster-role";

fn testdata(name: &str) -> String {
    format!(
        "{}/../../testdata/cloudtrail/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn report_of(text: &str) -> Report {
    let job = Job {
        options: Options {
            cluster: Some("demo".into()),
            region: Some("us-east-1".into()),
            ..Options::default()
        },
        ..Job::default()
    };
    pipeline::report_from("t", text.as_bytes(), &job).unwrap().0
}

fn report_of_files(files: &[&str]) -> Report {
    let job = Job {
        inputs: files
            .iter()
            .map(|f| crate::source::Input::from_arg(&testdata(f)))
            .collect(),
        options: Options {
            cluster: Some("demo".into()),
            ..Options::default()
        },
        ..Job::default()
    };
    pipeline::report(&job).unwrap().0
}

/// One successful EKS CreateCluster by `issuer` (a role, through a session) or a user.
fn create_cluster(creator: &str, time: &str, name: &str) -> String {
    let who = if creator.contains(":role/") {
        let role = creator.rsplit('/').next().unwrap();
        json!({"type": "AssumedRole",
               "principalId": "AROAEXAMPLECREATOR01:alice",
               "arn": format!("arn:aws:sts::{ACCT}:assumed-role/{role}/alice"),
               "accountId": ACCT,
               "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLECREATOR01",
                                                    "arn": creator, "accountId": ACCT, "userName": role}}})
    } else {
        json!({"type": "IAMUser", "principalId": "AIDAEXAMPLECREATOR01", "arn": creator,
               "accountId": ACCT, "userName": creator.rsplit('/').next().unwrap()})
    };
    json!({"eventVersion": "1.09", "userIdentity": who, "eventTime": time,
           "eventSource": "eks.amazonaws.com", "eventName": "CreateCluster",
           "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.10", "userAgent": "aws-cli/2.15.0",
           "requestParameters": {"name": name, "roleArn": SERVICE_ROLE},
           "responseElements": {"cluster": {"name": name,
               "arn": format!("arn:aws:eks:us-east-1:{ACCT}:cluster/{name}")}},
           "eventID": format!("ev-{creator}-{time}"), "recipientAccountId": ACCT})
    .to_string()
}

fn static_mapping(role: &str) -> String {
    format!(
        r#"time="2026-06-02T08:00:00Z" level=info msg="mapping IAM role" groups="[system:masters]" role="{role}" username=kubernetes-admin"#
    )
}

/// `describe-cluster` and the entries given, each `(principal, created, admin, type)`.
fn access(mode: &str, bootstrap: bool, entries: &[(&str, &str, bool, &str)]) -> AccessConfig {
    let mut cfg = AccessConfig::default();
    let cluster = json!({"cluster": {"name": "demo",
        "arn": format!("arn:aws:eks:us-east-1:{ACCT}:cluster/demo"),
        "createdAt": CREATED, "roleArn": SERVICE_ROLE,
        "accessConfig": {"authenticationMode": mode,
                         "bootstrapClusterCreatorAdminPermissions": bootstrap}}});
    assert!(cfg.read_json("cluster.json", &cluster));
    let arns: Vec<&str> = entries.iter().map(|e| e.0).collect();
    assert!(cfg.read_json("entries.json", &json!({ "accessEntries": arns })));
    for (arn, created, admin, kind) in entries {
        let entry = json!({"accessEntry": {"clusterName": "demo", "principalArn": arn,
            "kubernetesGroups": [], "createdAt": created, "username": arn, "type": kind}});
        assert!(cfg.read_json("entry.json", &entry));
        let policies: Vec<Value> = if *admin {
            vec![
                json!({"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                        "accessScope": {"type": "cluster", "namespaces": []}}),
            ]
        } else {
            vec![]
        };
        let doc = json!({"clusterName": "demo", "principalArn": arn,
                         "associatedAccessPolicies": policies});
        assert!(cfg.read_json("policies.json", &doc));
    }
    cfg
}

fn who(r: &Report) -> Vec<(&str, bool, Vec<&str>)> {
    r.creator
        .identities
        .iter()
        .map(|i| {
            (
                i.canonical_arn.as_str(),
                i.likely_creator,
                i.evidence.clone(),
            )
        })
        .collect()
}

fn said(r: &Report, text: &str) -> bool {
    r.creator.reasons.iter().any(|s| s.contains(text))
}

#[test]
fn the_reason_names_the_role_as_eks_maps_it_without_its_path() {
    // The trail's sessionIssuer carries the role's path (role/ci/TerraformDeploy); EKS maps
    // the path-less role, which is what the identity's canonical ARN and the reason say.
    let r = report_of_files(&["lookup-events.json"]);
    let reason = r
        .creator
        .reasons
        .iter()
        .find(|s| s.contains("called CreateCluster"))
        .unwrap();
    assert!(
        reason.contains("EKS maps the role arn:aws:iam::111122223333:role/TerraformDeploy,"),
        "{reason}"
    );
    assert!(!reason.contains("role/ci/"), "{reason}");
}

#[test]
fn lookup_events_output_alone_names_the_role_and_the_person() {
    let r = report_of_files(&["lookup-events.json"]);
    assert_eq!(r.creator.status, CreatorStatus::Found);
    let id = &r.creator.identities[0];
    // The role with its path (IAM needs it), compared without it.
    assert_eq!(id.arn, "arn:aws:iam::111122223333:role/ci/TerraformDeploy");
    assert_eq!(
        id.canonical_arn,
        "arn:aws:iam::111122223333:role/TerraformDeploy"
    );
    assert_eq!(id.evidence, ["cloudtrail_create_cluster"]);
    assert_eq!(id.person.as_deref(), Some("alice"));
    assert_eq!(id.principal_ids, ["AROAEXAMPLETERRAFORM1"]);
    assert_eq!(id.create_cluster.len(), 1);
    assert_eq!(id.create_cluster[0].bootstrap, Some(false));
    // The ECS look-alike, the failed call and the other event are counted, not used; every
    // record is accounted for as a line that is not an authenticator line.
    assert_eq!(r.events.total, 4);
    assert_eq!(r.events.not_authenticator_by_reason["cloudtrail"], 4);
    let src = r
        .creator
        .sources
        .iter()
        .find(|s| s.source == "cloudtrail")
        .unwrap();
    assert_eq!(src.records, Some(4));
    assert!(
        src.detail.contains("1 CreateCluster of other services"),
        "{}",
        src.detail
    );
    assert!(
        src.detail.contains("1 failed CreateCluster"),
        "{}",
        src.detail
    );
    assert_eq!(r.creator.service_role.as_deref(), Some(SERVICE_ROLE));
}

#[test]
fn a_trail_object_names_the_user_and_never_the_service_role() {
    let r = report_of_files(&["trail-iam-user.json.gz"]);
    assert_eq!(r.creator.status, CreatorStatus::Found);
    assert_eq!(
        who(&r),
        [(
            "arn:aws:iam::111122223333:user/ops/username",
            true,
            vec!["cloudtrail_create_cluster"]
        )]
    );
    assert_eq!(r.creator.identities[0].person, None);
    assert_eq!(
        r.creator.identities[0].principal_ids,
        ["AIDAEXAMPLEUSER000001"]
    );
    // The decoy: EKS assuming the service role is no creator evidence.
    assert!(r.creator.identities.iter().all(|i| i.arn != SERVICE_ROLE));
}

#[test]
fn an_sso_role_is_the_creator_and_its_session_the_person() {
    let r = report_of_files(&["trail-sso.json"]);
    let id = &r.creator.identities[0];
    assert_eq!(r.creator.status, CreatorStatus::Found);
    assert_eq!(
        id.canonical_arn,
        "arn:aws:iam::111122223333:role/AWSReservedSSO_AdministratorAccess_0123456789abcdef"
    );
    assert!(
        id.arn
            .contains("/aws-reserved/sso.amazonaws.com/us-east-1/")
    );
    assert_eq!(id.person.as_deref(), Some("jane@example.com"));
}

#[test]
fn every_source_agreeing_is_found_with_every_kind_of_evidence() {
    let role = "arn:aws:iam::111122223333:role/Creator";
    let grant = format!(
        r#"time="2026-06-02T09:00:00Z" level=info msg="access granted" arn="{role}" client="127.0.0.1:1" groups="[system:masters]" method=POST path=/authenticate uid="aws-iam-authenticator:{ACCT}:AROAEXAMPLECREATOR01" username=kubernetes-admin"#
    );
    let text = format!(
        "{}\n{grant}\n{}",
        static_mapping(role),
        create_cluster(role, CREATED, "demo")
    );
    let mut r = report_of(&text);
    r.creator.join_access(&access(
        "API_AND_CONFIG_MAP",
        true,
        &[(role, "2026-06-01T10:04:00Z", true, "STANDARD")],
    ));
    assert_eq!(r.creator.status, CreatorStatus::Found);
    assert_eq!(
        who(&r),
        [(
            role,
            true,
            vec![
                "mapping_static",
                "access_granted",
                "access_entry_bootstrap",
                "cloudtrail_create_cluster"
            ]
        )]
    );
    let entry = r.creator.identities[0].access_entry.as_ref().unwrap();
    assert_eq!(entry.matched, "caller");
}

#[test]
fn terraform_bootstrap_off_its_own_admin_entry_is_the_creator() {
    let tf = "arn:aws:iam::111122223333:role/TerraformDeploy";
    let node = "arn:aws:iam::111122223333:role/eks-node-role";
    let admin2 = "arn:aws:iam::111122223333:role/PlatformAdmin";
    // No CloudTrail: the one admin entry created with the cluster (the node role's EC2_LINUX
    // entry is not creator evidence).
    let entries = [
        (tf, "2026-06-01T10:02:00Z", true, "STANDARD"),
        (node, "2026-06-01T10:20:00Z", false, "EC2_LINUX"),
    ];
    let mut r = report_of("");
    r.creator.join_access(&access("API", false, &entries));
    assert_eq!(r.creator.status, CreatorStatus::Found);
    assert_eq!(who(&r), [(tf, true, vec!["access_entry_bootstrap"])]);
    assert!(said(&r, "terraform-aws-eks"), "{:?}", r.creator.reasons);

    // The module also gave a second admin an entry at creation: without CloudTrail, either.
    let two = [
        entries[0],
        (admin2, "2026-06-01T10:02:30Z", true, "STANDARD"),
    ];
    let mut r = report_of("");
    r.creator.join_access(&access("API", false, &two));
    assert_eq!(r.creator.status, CreatorStatus::Ambiguous);
    assert!(r.creator.identities.iter().all(|i| !i.likely_creator));

    // CloudTrail's call settles it.
    let mut r = report_of(&create_cluster(tf, "2026-06-01T09:59:30Z", "demo"));
    r.creator.join_access(&access("API", false, &two));
    assert_eq!(r.creator.status, CreatorStatus::Found);
    assert_eq!(
        who(&r)[0],
        (
            tf,
            true,
            vec!["access_entry_bootstrap", "cloudtrail_create_cluster"]
        )
    );
    assert!(said(
        &r,
        &format!("{admin2} has an admin access entry created with the cluster")
    ));
}

#[test]
fn a_cloudformation_stack_role_is_the_mapped_creator() {
    let stack_role = "arn:aws:iam::111122223333:role/eks-stack-role";
    let trail = std::fs::read_to_string(testdata("trail-cloudformation.json")).unwrap();
    let record = serde_json::from_str::<Value>(&trail).unwrap()["Records"][0].to_string();
    let r = report_of(&format!("{}\n{record}", static_mapping(stack_role)));
    assert_eq!(r.creator.status, CreatorStatus::Found);
    assert_eq!(
        who(&r),
        [(
            stack_role,
            true,
            vec!["mapping_static", "cloudtrail_create_cluster"]
        )]
    );
    // The stack's session is no person.
    assert_eq!(r.creator.identities[0].person, None);
    assert!(said(&r, "CloudFormation stack"), "{:?}", r.creator.reasons);
}

#[test]
fn a_cloudtrail_call_without_its_access_entry_is_still_the_creator() {
    let creator = "arn:aws:iam::111122223333:role/Creator";
    let other = "arn:aws:iam::111122223333:role/PlatformAdmin";
    let mut r = report_of(&create_cluster(creator, CREATED, "demo"));
    r.creator.join_access(&access(
        "API",
        true,
        &[(other, "2026-06-01T10:03:00Z", true, "STANDARD")],
    ));
    assert_eq!(r.creator.status, CreatorStatus::Found);
    assert_eq!(
        who(&r),
        [
            (creator, true, vec!["cloudtrail_create_cluster"]),
            (other, false, vec!["access_entry_bootstrap"])
        ]
    );
    assert!(said(&r, "its entry was deleted"), "{:?}", r.creator.reasons);
}

#[test]
fn cloudtrail_and_another_static_mapping_disagreeing_is_ambiguous() {
    let creator = "arn:aws:iam::111122223333:role/Creator";
    let mapped = "arn:aws:iam::111122223333:role/OldAdmin";
    let r = report_of(&format!(
        "{}\n{}",
        static_mapping(mapped),
        create_cluster(creator, CREATED, "demo")
    ));
    assert_eq!(r.creator.status, CreatorStatus::Ambiguous);
    assert_eq!(
        who(&r)[0],
        (creator, true, vec!["cloudtrail_create_cluster"])
    );
    assert_eq!(who(&r)[1], (mapped, false, vec!["mapping_static"]));
    assert!(
        said(&r, "name different identities"),
        "{:?}",
        r.creator.reasons
    );
}

#[test]
fn the_service_role_is_never_a_candidate() {
    let creator = "arn:aws:iam::111122223333:user/ops/username";
    // Even an admin entry for the service role, made with the cluster, is not evidence.
    let mut r = report_of(&create_cluster(creator, CREATED, "demo"));
    r.creator.join_access(&access(
        "API",
        true,
        &[(SERVICE_ROLE, "2026-06-01T10:01:00Z", true, "STANDARD")],
    ));
    assert_eq!(r.creator.status, CreatorStatus::Found);
    assert_eq!(
        who(&r),
        [(creator, true, vec!["cloudtrail_create_cluster"])]
    );
    assert!(said(&r, "service role"), "{:?}", r.creator.reasons);
}

#[test]
fn calls_for_other_clusters_and_an_earlier_cluster_of_the_same_name_are_left_out() {
    let creator = "arn:aws:iam::111122223333:role/Creator";
    let earlier = "arn:aws:iam::111122223333:role/Departed";
    let text = [
        create_cluster(creator, CREATED, "demo"),
        create_cluster(earlier, "2025-01-10T10:00:00Z", "demo"),
        create_cluster(earlier, CREATED, "other-cluster"),
    ]
    .join("\n");
    // Without createdAt, the two calls for `demo` are both candidates.
    let r = report_of(&text);
    assert_eq!(r.creator.status, CreatorStatus::Ambiguous);
    assert!(
        said(&r, "give the cluster's createdAt"),
        "{:?}",
        r.creator.reasons
    );
    // With it, the earlier cluster of the same name drops out.
    let mut r = report_of(&text);
    r.creator.join_access(&access("API", true, &[]));
    assert_eq!(r.creator.status, CreatorStatus::Found);
    assert_eq!(
        who(&r),
        [(creator, true, vec!["cloudtrail_create_cluster"])]
    );
    assert!(said(&r, "1 CreateCluster call(s) for other clusters"));
    assert!(said(&r, "an earlier cluster of the same name"));
}

#[test]
fn not_found_says_what_was_searched_and_what_was_not_available() {
    let grant = r#"time="2026-06-02T09:00:00Z" level=info msg="access granted" arn="arn:aws:iam::111122223333:role/Dev" client="127.0.0.1:1" groups="[]" method=POST path=/authenticate uid="aws-iam-authenticator:111122223333:AROAEXAMPLEDEV000001" username="arn:aws:sts::111122223333:assumed-role/Dev/{{SessionName}}""#;
    let mut r = report_of(grant);
    r.creator.join_access(&access("API", false, &[]));
    assert_eq!(r.creator.status, CreatorStatus::NotFound);
    assert!(said(
        &r,
        "authenticator_log (searched, nothing found): 1 authenticator lines read"
    ));
    assert!(
        said(
            &r,
            "access_config (searched, nothing found): 0 access entries read; bootstrapClusterCreatorAdminPermissions false"
        ),
        "{:?}",
        r.creator.reasons
    );
    assert!(said(&r, "cloudtrail (not available)"));
    assert!(
        r.creator
            .next_steps
            .iter()
            .any(|s| s.contains("aws cloudtrail lookup-events"))
    );
    // With CloudTrail read and empty, it says so instead.
    r.creator
        .join_cloudtrail(crate::cloudtrail::LOOKUP_SOURCE, &[]);
    assert!(
        said(&r, "cloudtrail (searched, nothing found)"),
        "{:?}",
        r.creator.reasons
    );
    assert!(said(&r, "keeps 90 days"));
    assert!(
        !r.creator
            .next_steps
            .iter()
            .any(|s| s.contains("lookup-events"))
    );
}

fn exists(arn: &str, id: &str, created: &str) -> IamCheck {
    IamCheck {
        arn: arn.to_owned(),
        outcome: IamOutcome::Exists {
            arn: arn.to_owned(),
            unique_id: id.to_owned(),
            created: Some(created.to_owned()),
        },
    }
}

fn recovery(r: &Report) -> (IamStatus, &'static str, Vec<String>) {
    let id = &r.creator.identities[0];
    let rec = id.recovery.as_ref().unwrap();
    (
        id.iam.as_ref().unwrap().status,
        rec.case,
        rec.commands.clone(),
    )
}

#[test]
fn iam_existence_and_the_recovery_path_of_each_case() {
    let role = "arn:aws:iam::111122223333:role/team/Creator";
    let ct = create_cluster(role, CREATED, "demo");
    let base = || {
        let mut r = report_of(&ct);
        r.creator.join_access(&access(
            "API",
            true,
            &[(role, "2026-06-01T10:04:00Z", true, "STANDARD")],
        ));
        r
    };

    // Exists, the unique id CloudTrail saw: act as it.
    let mut r = base();
    r.creator.join_iam(vec![exists(
        role,
        "AROAEXAMPLECREATOR01",
        "2025-01-01T00:00:00Z",
    )]);
    let (status, case, cmds) = recovery(&r);
    assert_eq!((status, case), (IamStatus::Exists, "use_it"));
    assert!(
        cmds.iter()
            .any(|c| c.contains("update-kubeconfig --name demo --region us-east-1 --role-arn"))
    );

    // Re-created (new unique id) on an access-entry cluster: the entry must be re-created.
    let mut r = base();
    r.creator.join_iam(vec![exists(
        role,
        "AROANEWROLE000000001",
        "2026-07-01T00:00:00Z",
    )]);
    let (status, case, cmds) = recovery(&r);
    assert_eq!(
        (status, case),
        (IamStatus::Recreated, "recreate_access_entry")
    );
    assert!(
        cmds[0].starts_with("aws eks delete-access-entry --cluster-name demo"),
        "{cmds:?}"
    );
    assert!(
        cmds.iter()
            .any(|c| c.contains("AmazonEKSClusterAdminPolicy --access-scope type=cluster"))
    );
    // Created after the cluster, with no unique id seen: re-created too.
    let mut r = report_of(&ct.replace("AROAEXAMPLECREATOR01", "XXXX"));
    r.creator.join_iam(vec![exists(
        role,
        "AROANEWROLE000000001",
        "2026-07-01T00:00:00Z",
    )]);
    assert_eq!(recovery(&r).0, IamStatus::Recreated);

    // The aws-auth era: a static mapping matches by ARN, so a re-created role gets in again;
    // a gone one is re-created under the same name and path.
    let config_map = || {
        let mut r = report_of(&format!("{}\n{ct}", static_mapping(role)));
        r.creator.join_access(&access("CONFIG_MAP", true, &[]));
        r
    };
    let mut r = config_map();
    r.creator.join_iam(vec![exists(
        role,
        "AROANEWROLE000000001",
        "2026-07-01T00:00:00Z",
    )]);
    assert_eq!(&recovery(&r).1, &"use_it");
    let mut r = config_map();
    r.creator.join_iam(vec![IamCheck {
        arn: role.to_owned(),
        outcome: IamOutcome::NotFound,
    }]);
    let (status, case, cmds) = recovery(&r);
    assert_eq!((status, case), (IamStatus::Gone, "recreate_same_name"));
    assert!(
        cmds[0].starts_with("aws iam create-role --role-name Creator --path /team/"),
        "{cmds:?}"
    );
    // ... or the EKS API path, switching the mode first.
    assert!(
        cmds.iter()
            .any(|c| c.contains("authenticationMode=API_AND_CONFIG_MAP"))
    );

    // Gone on an access-entry cluster: re-creating the name does not help.
    let mut r = base();
    r.creator.join_iam(vec![IamCheck {
        arn: role.to_owned(),
        outcome: IamOutcome::NotFound,
    }]);
    let (status, case, cmds) = recovery(&r);
    assert_eq!((status, case), (IamStatus::Gone, "access_entry_api"));
    assert!(!cmds.iter().any(|c| c.contains("create-role")));
    assert!(
        !cmds.iter().any(|c| c.contains("update-cluster-config")),
        "already API: {cmds:?}"
    );
    assert!(cmds.iter().any(|c| c.contains(
        "create-access-entry --cluster-name demo --region us-east-1 --principal-arn <YOUR_ROLE_ARN>"
    )));

    // IAM refused: which action, and how to check by hand.
    let mut r = base();
    r.creator.join_iam(vec![IamCheck {
        arn: role.to_owned(),
        outcome: IamOutcome::Denied {
            action: "iam:GetRole".into(),
            message: "not authorized".into(),
        },
    }]);
    let (status, case, cmds) = recovery(&r);
    assert_eq!((status, case), (IamStatus::Unknown, "check_iam"));
    assert_eq!(
        r.creator.identities[0]
            .iam
            .as_ref()
            .unwrap()
            .denied_action
            .as_deref(),
        Some("iam:GetRole")
    );
    assert_eq!(cmds[0], "aws iam get-role --role-name Creator");
}

#[test]
fn an_sso_creator_is_reassigned_or_replaced_never_recreated() {
    let r0 = report_of_files(&["trail-sso.json"]);
    let arn = r0.creator.identities[0].arn.clone();
    let mut r = r0.clone();
    r.creator.join_iam(vec![exists(
        &arn,
        "AROAEXAMPLESSO0000001",
        "2025-01-01T00:00:00Z",
    )]);
    let (status, case, cmds) = recovery(&r);
    assert_eq!((status, case), (IamStatus::Exists, "sso_reassign"));
    assert!(cmds[0].starts_with("aws sso-admin create-account-assignment"));
    let mut r = r0;
    r.creator.join_iam(vec![IamCheck {
        arn,
        outcome: IamOutcome::NotFound,
    }]);
    let (status, case, _) = recovery(&r);
    assert_eq!((status, case), (IamStatus::Gone, "access_entry_api"));
    assert!(
        r.creator.identities[0]
            .recovery
            .as_ref()
            .unwrap()
            .summary
            .contains("IAM Identity Center")
    );
}
