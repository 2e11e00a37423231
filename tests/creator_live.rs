//! `creator --cluster` end to end through the AWS SDK, with no authenticator logs at all: a
//! 127.0.0.1 fake answers Logs Insights (the log group does not exist), the EKS reads and
//! CloudTrail's LookupEvents (moto 5.2.5 implements neither access entries nor LookupEvents),
//! and moto answers IAM's GetRole, with principals the test creates through the IAM API.
//! Every run is bounded in time; nothing leaves 127.0.0.1.
#![cfg(all(feature = "cloudwatch", unix))]

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

mod common;
mod fake_http;

const ACCOUNT: &str = "111122223333";
const CREATOR: &str = "arn:aws:iam::111122223333:role/team/CreatorE2E";
const DEPARTED: &str = "arn:aws:iam::111122223333:role/DepartedE2E";

/// The unique id moto gave the creator's role (the CloudTrail event carries it).
static CREATOR_ID: OnceLock<String> = OnceLock::new();

/// The clusters' createdAt: ten days ago at midnight, so the same in every request.
fn created_secs() -> i64 {
    (chrono::Utc::now().timestamp() / 86_400 - 10) * 86_400
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn create_cluster(cluster: &str, role: &str, id: &str) -> Value {
    let name = role.rsplit('/').next().unwrap();
    let event = json!({
        "eventVersion": "1.09", "eventSource": "eks.amazonaws.com", "eventName": "CreateCluster",
        "eventTime": rfc3339(created_secs() - 20), "awsRegion": "us-east-1",
        "eventID": format!("ev-{cluster}"), "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": "AssumedRole", "principalId": format!("{id}:bob"),
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{name}/bob"), "accountId": ACCOUNT,
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": id, "arn": role}}},
        "requestParameters": {"name": cluster, "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster-role"),
            "accessConfig": {"bootstrapClusterCreatorAdminPermissions": true}},
        "responseElements": {"cluster": {"name": cluster}},
    });
    json!({"EventId": format!("ev-{cluster}"), "EventName": "CreateCluster",
           "EventSource": "eks.amazonaws.com", "CloudTrailEvent": event.to_string()})
}

fn answer(method: &str, target: &str, path: &str) -> fake_http::Answer {
    let ok = |v: Value| (200, None, v.to_string());
    match target.rsplit('.').next().unwrap_or("") {
        "StartQuery" => {
            return (
                400,
                Some("ResourceNotFoundException"),
                json!({"__type": "ResourceNotFoundException",
                       "message": "The specified log group does not exist."})
                .to_string(),
            );
        }
        "LookupEvents" => {
            let ecs = json!({"EventId": "ecs-1", "EventName": "CreateCluster",
                             "EventSource": "ecs.amazonaws.com", "CloudTrailEvent": "{}"});
            let id = CREATOR_ID.get().map_or("AROAUNKNOWN", String::as_str);
            return ok(json!({"Events": [
                create_cluster("demo", CREATOR, id),
                ecs,
                create_cluster("gone", DEPARTED, "AROAEXAMPLEDEPARTED1"),
            ]}));
        }
        "" => {}
        _ => return ok(json!({})),
    }
    let parts: Vec<String> = path
        .split('?')
        .next()
        .unwrap_or("")
        .split('/')
        .skip(1)
        .map(fake_http::decode)
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let role = |cluster: &str| if cluster == "demo" { CREATOR } else { DEPARTED };
    match (method, parts.as_slice()) {
        ("GET", ["clusters", c]) => ok(json!({"cluster": {
            "name": c, "arn": format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/{c}"),
            "createdAt": created_secs(), "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster-role"),
            "endpoint": "https://FAKE0123.gr7.us-east-1.eks.amazonaws.com",
            "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP",
                             "bootstrapClusterCreatorAdminPermissions": true}}})),
        ("GET", ["clusters", c, "access-entries"]) => ok(json!({"accessEntries": [role(c)]})),
        ("GET", ["clusters", c, "access-entries", arn]) => ok(json!({"accessEntry": {
            "clusterName": c, "principalArn": arn, "kubernetesGroups": [],
            "createdAt": created_secs() + 60, "username": arn, "type": "STANDARD"}})),
        ("GET", ["clusters", c, "access-entries", arn, "access-policies"]) => ok(json!({
            "clusterName": c, "principalArn": arn,
            "associatedAccessPolicies": [{
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "accessScope": {"type": "cluster", "namespaces": []}, "associatedAt": created_secs() + 60}]})),
        _ => (
            404,
            Some("ResourceNotFoundException"),
            json!({"message": format!("no such resource: {path}")}).to_string(),
        ),
    }
}

/// Creates the creator's role in moto (its path included) and returns its unique id.
fn create_role(moto: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(moto)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await;
        let iam = aws_sdk_iam::Client::new(&conf);
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]});
        let _ = iam.delete_role().role_name("CreatorE2E").send().await;
        let role = iam
            .create_role()
            .role_name("CreatorE2E")
            .path("/team/")
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        role.role().unwrap().role_id().to_owned()
    })
}

/// The binary with `args`, the fake for EKS, Logs and CloudTrail, moto for IAM; at most 60 s.
fn eks_authlog(fake: &str, moto: &str, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("eks-authlog")
        .unwrap()
        .args(args)
        .args(["--region", "us-east-1", "--no-kubectl"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_ENDPOINT_URL_EKS", fake)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", fake)
        .env("AWS_ENDPOINT_URL_CLOUDTRAIL", fake)
        .env("AWS_ENDPOINT_URL_IAM", moto)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn creator(fake: &str, moto: &str, args: &[&str]) -> (Value, String) {
    let args = [&["creator", "-o", "json"], args].concat();
    let out = eks_authlog(fake, moto, &args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {err}");
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (doc, err)
}

fn source<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["creator"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == name)
        .unwrap_or_else(|| panic!("no source {name}: {}", doc["creator"]["sources"]))
}

#[test]
fn creator_without_any_authenticator_log_answers_from_eks_cloudtrail_and_iam() {
    let Some(moto) = common::moto_url() else {
        return;
    };
    let id = create_role(&moto);
    CREATOR_ID.set(id.clone()).unwrap();
    let (fake, seen) = fake_http::serve(answer);

    // The creator exists, with the unique id CloudTrail saw.
    let (doc, err) = creator(&fake, &moto, &["--cluster", "demo"]);
    let c = &doc["creator"];
    assert_eq!(c["status"], "found", "{c:#}");
    let id0 = &c["identities"][0];
    assert_eq!(id0["arn"], CREATOR);
    assert_eq!(
        id0["canonical_arn"],
        "arn:aws:iam::111122223333:role/CreatorE2E"
    );
    assert_eq!(
        id0["evidence"],
        json!(["access_entry_bootstrap", "cloudtrail_create_cluster"])
    );
    assert_eq!(id0["person"], "bob");
    assert_eq!(id0["iam"]["status"], "exists", "{:#}", id0["iam"]);
    assert_eq!(id0["iam"]["unique_id"], id.as_str());
    assert_eq!(id0["recovery"]["case"], "use_it");
    assert!(
        err.contains("log group /aws/eks/demo/cluster not found"),
        "{err}"
    );
    // Which sources answered, and what each cost.
    assert_eq!(source(&doc, "authenticator_log")["status"], "not_available");
    let eks = source(&doc, "access_config");
    assert_eq!(eks["status"], "used");
    assert_eq!(
        eks["api_calls"], 4,
        "describe, list, describe entry, its policies"
    );
    let ct = source(&doc, "cloudtrail");
    assert_eq!(ct["status"], "used");
    assert_eq!(ct["api_calls"], 1);
    assert!(
        ct["detail"]
            .as_str()
            .unwrap()
            .contains("1 of other services"),
        "{ct}"
    );
    let iam = source(&doc, "iam");
    assert_eq!(
        (iam["status"].as_str(), iam["api_calls"].as_u64()),
        (Some("used"), Some(1))
    );
    let calls = seen.lock().unwrap().clone();
    assert!(calls.iter().any(|c| c == "LookupEvents"), "{calls:?}");

    // The other cluster's creator is gone: its access entry cannot come back by re-creating
    // the role; the recovery gives another identity an admin entry.
    let (doc, _) = creator(&fake, &moto, &["--cluster", "gone"]);
    let id0 = &doc["creator"]["identities"][0];
    assert_eq!(id0["arn"], DEPARTED);
    assert_eq!(id0["iam"]["status"], "gone");
    assert_eq!(id0["recovery"]["case"], "access_entry_api");
    let cmds: Vec<&str> = id0["recovery"]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        cmds.iter().any(|c| c.starts_with(
            "aws eks create-access-entry --cluster-name gone --region us-east-1 --principal-arn <YOUR_ROLE_ARN>"
        )),
        "{cmds:?}"
    );

    // --no-iam and --no-cloudtrail: those sources are skipped, and said so.
    let (doc, _) = creator(
        &fake,
        &moto,
        &["--cluster", "demo", "--no-iam", "--no-cloudtrail"],
    );
    assert_eq!(source(&doc, "iam")["status"], "skipped");
    assert_eq!(source(&doc, "cloudtrail")["status"], "skipped");
    let id0 = &doc["creator"]["identities"][0];
    assert_eq!(id0["iam"], Value::Null);
    assert_eq!(id0["evidence"], json!(["access_entry_bootstrap"]));

    // access --cluster asks IAM about every mapped principal: the gone cluster's entry names
    // a principal IAM does not have; the demo entry's role was created (here, in moto) after
    // its entry, so the entry is bound to an older principal.
    let findings = |cluster: &str| {
        let out = eks_authlog(
            &fake,
            &moto,
            &["access", "--cluster", cluster, "-o", "ndjson"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|f| {
                f["kind"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("principal_"))
            })
            .map(|f| {
                (
                    f["kind"].as_str().unwrap().to_owned(),
                    f["entry"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        findings("gone"),
        [("principal_not_found".to_owned(), DEPARTED.to_owned())]
    );
    assert_eq!(
        findings("demo"),
        [("principal_recreated".to_owned(), CREATOR.to_owned())]
    );
}
