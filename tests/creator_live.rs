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
/// The cluster whose creator only a trail's log group knows, and that creator.
const TRAILED: &str = "trailed";
const TRAIL_CREATOR: &str = "arn:aws:iam::111122223333:role/ops/TrailCreator";
/// The trail's log group in moto (each test its own: moto is shared, never reset here).
const TRAIL_GROUP: &str = "/aws/cloudtrail/org-trail-e2e";
const SMALL_GROUP: &str = "/aws/cloudtrail/org-trail-budget-e2e";

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

/// A CloudTrail CreateCluster event of `source` (as a trail delivers it) by a session
/// `person` of `role`.
fn raw_create_cluster(source: &str, cluster: &str, role: &str, id: &str, person: &str) -> Value {
    let name = role.rsplit('/').next().unwrap();
    json!({
        "eventVersion": "1.09", "eventSource": source, "eventName": "CreateCluster",
        "eventTime": rfc3339(created_secs() - 20), "awsRegion": "us-east-1",
        "eventID": format!("ev-{cluster}-{source}"), "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": "AssumedRole", "principalId": format!("{id}:{person}"),
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{name}/{person}"), "accountId": ACCOUNT,
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": id, "arn": role}}},
        "requestParameters": {"name": cluster, "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster-role"),
            "accessConfig": {"bootstrapClusterCreatorAdminPermissions": true}},
        "responseElements": {"cluster": {"name": cluster}},
    })
}

/// The same event as LookupEvents returns it.
fn create_cluster(cluster: &str, role: &str, id: &str) -> Value {
    let event = raw_create_cluster("eks.amazonaws.com", cluster, role, id, "bob");
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
        // The trail's cluster has no access entry: only the trail knows its creator.
        ("GET", ["clusters", TRAILED, "access-entries"]) => ok(json!({"accessEntries": []})),
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
    create_named_role(moto, "CreatorE2E", "/team/")
}

/// Creates (afresh) the role `name` with `path` in moto and returns its unique id.
fn create_named_role(moto: &str, name: &str, path: &str) -> String {
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
        let _ = iam.delete_role().role_name(name).send().await;
        let role = iam
            .create_role()
            .role_name(name)
            .path(path)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        role.role().unwrap().role_id().to_owned()
    })
}

/// The binary with `args`, the fake for EKS, Logs and CloudTrail, moto for IAM; at most 60 s.
fn eks_authlog(fake: &str, moto: &str, args: &[&str]) -> std::process::Output {
    eks_authlog_logs(fake, moto, fake, args)
}

/// [`eks_authlog`] with CloudWatch Logs at `logs`.
fn eks_authlog_logs(fake: &str, moto: &str, logs: &str, args: &[&str]) -> std::process::Output {
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
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", logs)
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

/// A CloudWatch Logs client of moto.
async fn moto_logs(moto: &str) -> aws_sdk_cloudwatchlogs::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    aws_sdk_cloudwatchlogs::Client::new(&conf)
}

/// Fills `group` (a trail's log group, made afresh) with three CreateCluster events around
/// the cluster's createdAt: ECS's, another EKS cluster's, and the trailed cluster's own, made
/// by the session `carol` of a role with a path.
fn fill_trail(moto: &str, group: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let logs = moto_logs(moto).await;
        let _ = logs.delete_log_group().log_group_name(group).send().await;
        let at = (created_secs() - 20) * 1000;
        let id = "AROAEXAMPLETRAIL0001";
        let events = [
            raw_create_cluster("ecs.amazonaws.com", TRAILED, TRAIL_CREATOR, id, "mallory"),
            raw_create_cluster(
                "eks.amazonaws.com",
                "other",
                DEPARTED,
                "AROAEXAMPLEOTHER0001",
                "eve",
            ),
            raw_create_cluster("eks.amazonaws.com", TRAILED, TRAIL_CREATOR, id, "carol"),
        ];
        let events: Vec<(i64, String)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (at + i as i64, e.to_string()))
            .collect();
        common::put(&logs, group, "111122223333_CloudTrail_us-east-1", &events).await;
    });
}

/// The query strings moto was asked to run over `group`.
fn queries_run(moto: &str, group: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let logs = moto_logs(moto).await;
        let out = logs
            .describe_queries()
            .log_group_name(group)
            .send()
            .await
            .unwrap();
        out.queries()
            .iter()
            .filter_map(|q| q.query_string().map(str::to_owned))
            .collect()
    })
}

#[test]
fn creator_from_a_trail_log_group_keeps_only_this_clusters_eks_create_cluster() {
    let Some(moto) = common::moto_url() else {
        return;
    };
    fill_trail(&moto, TRAIL_GROUP);
    let (fake, _) = fake_http::serve(answer);
    // --no-cloudtrail turns off the Event history only; the trail is still asked. moto's
    // Insights ignores `filter` and returns all three rows: the reader keeps the one.
    let args = [
        "creator",
        "-o",
        "json",
        "--cluster",
        TRAILED,
        "--no-cloudtrail",
        "--no-iam",
        "--trail-log-group",
        TRAIL_GROUP,
    ];
    let out = eks_authlog_logs(&fake, &moto, &moto, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &doc["creator"];
    assert_eq!(c["status"], "found", "{c:#}");
    assert_eq!(c["identities"].as_array().unwrap().len(), 1, "{c:#}");
    let id0 = &c["identities"][0];
    assert_eq!(
        id0["canonical_arn"], "arn:aws:iam::111122223333:role/TrailCreator",
        "the role, its path stripped"
    );
    assert_eq!(id0["person"], "carol", "the session name");
    assert_eq!(id0["evidence"], json!(["cloudtrail_create_cluster"]));

    let sources = c["sources"].as_array().unwrap();
    let trail = sources
        .iter()
        .find(|s| s["via"] == TRAIL_GROUP)
        .unwrap_or_else(|| panic!("no trail source: {sources:#?}"));
    assert_eq!(trail["source"], "cloudtrail");
    assert_eq!(trail["status"], "used", "{trail}");
    assert_eq!(trail["records"], 3, "every row moto returned is counted");
    // The estimate (StartQuery + GetQueryResults; moto has no `| estimate`, so also
    // DescribeLogGroups for storedBytes), then the query (StartQuery + GetQueryResults).
    assert_eq!(trail["api_calls"], 5, "{trail}");
    assert_eq!(trail["bytes_scanned"], 0, "moto sends no statistics");
    assert!(trail["estimated_bytes"].as_u64().unwrap() > 0, "{trail}");
    let detail = trail["detail"].as_str().unwrap();
    for part in [
        "Logs Insights query cloudtrail-create-cluster",
        "the cluster's createdAt ±1 h",
        "3 row(s), 1 CreateCluster of this cluster",
        "1 EKS CreateCluster not this cluster's",
        "1 CreateCluster of other services",
    ] {
        assert!(detail.contains(part), "{part:?} not in {detail}");
    }
    // The Event history was not asked, and says so.
    assert!(
        sources
            .iter()
            .any(|s| s["source"] == "cloudtrail" && s["status"] == "skipped"),
        "{sources:#?}"
    );
    // The query the trail ran filters on the EKS event source, as the reader does.
    let run = queries_run(&moto, TRAIL_GROUP);
    assert!(
        run.iter().any(|q| !q.contains("estimate")
            && q.contains(
                r#"filter eventSource = "eks.amazonaws.com" and eventName = "CreateCluster""#
            )),
        "{run:#?}"
    );
}

#[test]
fn a_too_small_budget_refuses_the_trail_query_with_exit_3_and_starts_none() {
    let Some(moto) = common::moto_url() else {
        return;
    };
    fill_trail(&moto, SMALL_GROUP);
    let (fake, _) = fake_http::serve(answer);
    let args = [
        "creator",
        "-o",
        "json",
        "--cluster",
        TRAILED,
        "--no-cloudtrail",
        "--no-iam",
        "--trail-log-group",
        SMALL_GROUP,
        "--max-scan-gb",
        "0.000000001",
    ];
    let out = eks_authlog_logs(&fake, &moto, &moto, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    for part in [
        &format!("query cloudtrail-create-cluster on {SMALL_GROUP}"),
        "(its estimate)",
        "--max-scan-gb",
        "--yes",
    ] {
        assert!(err.contains(part), "{part:?} not in {err}");
    }
    // Only the estimate ran: no query that scans was started.
    let run = queries_run(&moto, SMALL_GROUP);
    assert!(!run.is_empty(), "the estimate ran");
    assert!(run.iter().all(|q| q.contains("estimate")), "{run:#?}");
}

#[test]
fn creator_files_with_iam_asks_iam_about_the_creator_found_in_them() {
    let Some(moto) = common::moto_url() else {
        return;
    };
    // The fixture's creator, role/ci/TerraformDeploy, re-created since: same name, another
    // unique id than the AROAEXAMPLETERRAFORM1 CloudTrail saw.
    let id = create_named_role(&moto, "TerraformDeploy", "/ci/");
    let run = |extra: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("eks-authlog")
            .unwrap()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "creator",
                "testdata/cloudtrail/lookup-events.json",
                "-o",
                "json",
            ])
            .args(extra)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_ENDPOINT_URL_IAM", &moto)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{extra:?}: {err}");
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let doc = run(&["--iam", "--region", "us-east-1"]);
    let id0 = &doc["creator"]["identities"][0];
    assert_eq!(
        id0["canonical_arn"],
        "arn:aws:iam::111122223333:role/TerraformDeploy"
    );
    assert_eq!(id0["iam"]["status"], "recreated", "{:#}", id0["iam"]);
    assert_eq!(id0["iam"]["unique_id"], id.as_str());
    let iam = source(&doc, "iam");
    assert_eq!(
        (iam["status"].as_str(), iam["api_calls"].as_u64()),
        (Some("used"), Some(1)),
        "{iam}"
    );
    // Without --iam, files never reach AWS.
    let doc = run(&[]);
    assert_eq!(doc["creator"]["identities"][0]["iam"], Value::Null);
    assert!(
        doc["creator"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["source"] != "iam"),
        "{}",
        doc["creator"]["sources"]
    );
}
