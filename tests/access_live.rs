//! The live access-configuration read of the binary, end to end through the AWS SDK: a small
//! fake of the four EKS reads (and of Logs Insights, for `failures --cluster`) on 127.0.0.1,
//! reached through `AWS_ENDPOINT_URL_EKS`, and a fake `kubectl` script on PATH for aws-auth
//! (moto 5.2.5 answers every access-entry call with a 404 and drops `accessConfig`). Every
//! run is bounded in time; nothing leaves 127.0.0.1.
#![cfg(all(feature = "cloudwatch", unix))]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

mod fake_http;

use fake_http::decode;

const ACCOUNT: &str = "111122223333";
/// The Kubernetes endpoint DescribeCluster gives, and the kubeconfig's server for it.
const K8S_ENDPOINT: &str = "https://FAKE0123.gr7.us-east-1.eks.amazonaws.com";
const DENIED: &str = "arn:aws:iam::111122223333:role/admin-test-role";

fn node_role() -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/eks-node-role")
}

fn admin_role() -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/PlatformAdmin")
}

/// The fake's answer to one request: status, `x-amzn-errortype`, body.
fn answer(method: &str, target: &str, path: &str) -> fake_http::Answer {
    let ok = |v: serde_json::Value| (200, None, v.to_string());
    // Logs Insights (JSON 1.1, by X-Amz-Target): one complete query with one denial.
    match target.rsplit('.').next().unwrap_or("") {
        "StartQuery" => return ok(serde_json::json!({"queryId": "q-1"})),
        "GetQueryResults" => {
            let line = format!(
                "time=\"2026-11-30T09:27:00Z\" level=warning msg=\"access denied\" arn=\"{DENIED}\" \
                 client=\"127.0.0.1:50969\" error=\"ARN is not mapped\" method=POST path=/authenticate"
            );
            let now = chrono::Utc::now()
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string();
            return ok(serde_json::json!({
                "status": "Complete",
                "results": [[
                    {"field": "@timestamp", "value": now},
                    {"field": "@message", "value": line},
                    {"field": "@logStream", "value": "authenticator-0123"},
                    {"field": "@ptr", "value": "ptr-1"},
                ]],
                "statistics": {"recordsMatched": 1.0, "recordsScanned": 10.0, "bytesScanned": 1000.0},
            }));
        }
        // The estimate fallback: the fake answers `| estimate` with its ordinary row, so the
        // run counts the group's stored bytes against its budget instead.
        "DescribeLogGroups" => {
            return ok(serde_json::json!({"logGroups": [
                {"logGroupName": "/aws/eks/demo/cluster", "storedBytes": 5000},
                {"logGroupName": "/aws/eks/nope/cluster", "storedBytes": 5000},
            ]}));
        }
        "" => {}
        _ => return ok(serde_json::json!({})),
    }
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let parts: Vec<String> = path.split('/').skip(1).map(decode).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    match (method, parts.as_slice()) {
        ("GET", ["clusters", "demo"]) => ok(serde_json::json!({"cluster": {
            "name": "demo",
            "arn": format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/demo"),
            "createdAt": 1.7e9,
            "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster-role"),
            "endpoint": K8S_ENDPOINT,
            "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP",
                             "bootstrapClusterCreatorAdminPermissions": true},
        }})),
        // Two pages.
        ("GET", ["clusters", "demo", "access-entries"]) if !query.contains("nextToken=") => {
            ok(serde_json::json!({"accessEntries": [node_role()], "nextToken": "t1"}))
        }
        ("GET", ["clusters", "demo", "access-entries"]) if query.contains("nextToken=t1") => {
            ok(serde_json::json!({"accessEntries": [admin_role()]}))
        }
        ("GET", ["clusters", "demo", "access-entries", arn]) => {
            let node = *arn == node_role();
            ok(serde_json::json!({"accessEntry": {
                "clusterName": "demo",
                "principalArn": arn,
                "kubernetesGroups": if node { vec!["system:nodes"] } else { vec![] },
                "createdAt": 1.7e9,
                "username": if node { "system:node:{{EC2PrivateDNSName}}".to_owned() } else { arn.to_string() },
                "type": if node { "EC2_LINUX" } else { "STANDARD" },
            }}))
        }
        ("GET", ["clusters", "demo", "access-entries", arn, "access-policies"]) => {
            if *arn == node_role() {
                (
                    403,
                    Some("AccessDeniedException"),
                    serde_json::json!({"message": format!(
                        "User: arn:aws:sts::{ACCOUNT}:assumed-role/ReadOnly/me is not authorized to \
                         perform: eks:ListAssociatedAccessPolicies on resource: {arn}"
                    )})
                    .to_string(),
                )
            } else {
                ok(serde_json::json!({
                    "clusterName": "demo",
                    "principalArn": arn,
                    "associatedAccessPolicies": [{
                        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                        "accessScope": {"type": "cluster", "namespaces": []},
                        "associatedAt": 1.7e9,
                    }],
                }))
            }
        }
        _ => (
            404,
            Some("ResourceNotFoundException"),
            serde_json::json!({"message": format!("no such resource: {path}")}).to_string(),
        ),
    }
}

/// Starts the fake; returns its URL and the requests seen (`GET /clusters/demo`, or the
/// Logs operation).
fn fake() -> (String, Arc<Mutex<Vec<String>>>) {
    fake_http::serve(answer)
}

/// A directory with a fake `kubectl` (it logs its arguments to `kubectl.log`), the
/// kubeconfig view it prints, and the aws-auth ConfigMap it returns.
fn kubectl_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let view = serde_json::json!({
        "clusters": [
            {"name": "elsewhere", "cluster": {"server": "https://OTHER.gr7.us-east-1.eks.amazonaws.com"}},
            {"name": "demo-cluster", "cluster": {"server": K8S_ENDPOINT.to_ascii_lowercase()}},
        ],
        "contexts": [
            {"name": "other", "context": {"cluster": "elsewhere"}},
            {"name": "demo-ctx", "context": {"cluster": "demo-cluster"}},
        ],
        "current-context": "other",
    });
    std::fs::write(p.join("view.json"), view.to_string()).unwrap();
    let aws_auth = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": {"mapRoles": format!(
            "- rolearn: arn:aws:iam::{ACCOUNT}:role/devops/admin-test-role\n  username: admin\n  groups:\n    - system:masters\n"
        )},
    });
    std::fs::write(p.join("aws-auth.json"), aws_auth.to_string()).unwrap();
    let script = format!(
        r#"#!/bin/sh
echo "$*" >> '{dir}/kubectl.log'
case "$*" in
  "config view -o json") cat '{dir}/view.json' ;;
  *"get configmap aws-auth"*)
    if [ "$FAKE_KUBECTL" = unauthorized ]; then
      echo "E1130 09:27:00 memcache.go:265] couldn't get current server API group list" >&2
      echo "error: You must be logged in to the server (Unauthorized)" >&2
      exit 1
    fi
    cat '{dir}/aws-auth.json' ;;
  *) echo "unexpected kubectl $*" >&2; exit 3 ;;
esac
"#,
        dir = p.display()
    );
    let k = p.join("kubectl");
    std::fs::write(&k, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// The binary against the fake, with `path_dir` first on PATH, for at most 30 s.
fn run(url: &str, path_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (Output, String) {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("eks-authlog"));
    c.args(args)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", path_dir.display()))
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "not-a-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_ENDPOINT_URL_EKS", url)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", url)
        // access --cluster asks IAM too: the fake does not speak it, so those checks fail
        // (and are no findings); IAM's answers are tested in creator_live.rs.
        .env("AWS_ENDPOINT_URL_IAM", url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("still running after 30s: {:?}", child.wait_with_output());
        }
        thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, err)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn kubectl_calls(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("kubectl.log")).unwrap_or_default()
}

#[test]
fn access_reads_the_eks_api_and_aws_auth_through_the_matching_context() {
    let (url, seen) = fake();
    let k = kubectl_dir();
    let (out, err) = run(
        &url,
        k.path(),
        &[],
        &["access", "--cluster", "demo", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
    let doc = json(&out);
    assert_eq!(doc["cluster"]["mode"], "API_AND_CONFIG_MAP");
    assert_eq!(
        doc["cluster"]["role_arn"],
        format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster-role")
    );
    let entries: Vec<&str> = doc["access_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["principal_arn"].as_str().unwrap())
        .collect();
    assert_eq!(entries, [node_role(), admin_role()], "both pages");
    assert_eq!(doc["access_entries"][0]["kind"], "EC2_LINUX");
    assert_eq!(
        doc["access_entries"][0]["policies"],
        serde_json::Value::Null,
        "denied"
    );
    assert_eq!(
        doc["access_entries"][1]["policies"][0]["policyArn"],
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    );
    // aws-auth came through kubectl, in the context whose server is the cluster's endpoint
    // (not the current context, which is another cluster's).
    assert_eq!(doc["aws_auth_source"], "kubectl --context demo-ctx");
    assert_eq!(
        doc["mappings"][0]["arn"],
        format!("arn:aws:iam::{ACCOUNT}:role/devops/admin-test-role")
    );
    assert!(kubectl_calls(k.path()).contains(
        "--context demo-ctx --request-timeout=20s get configmap aws-auth -n kube-system -o json"
    ));
    let live = &doc["live"];
    assert_eq!(live["cluster"], "demo");
    assert_eq!(live["region"], "us-east-1");
    assert_eq!(live["aws_auth_via"], "kubectl --context demo-ctx");
    assert_eq!(
        live["api_calls"],
        serde_json::json!({"describe_cluster": 1, "list_access_entries": 2,
                           "describe_access_entry": 2, "list_associated_access_policies": 2})
    );
    let unread = live["unread"].as_array().unwrap();
    assert_eq!(unread.len(), 1, "{unread:?}");
    assert_eq!(unread[0]["part"], "access_policies");
    assert_eq!(unread[0]["action"], "eks:ListAssociatedAccessPolicies");
    assert_eq!(unread[0]["principals"], serde_json::json!([node_role()]));
    // Findings still come from what was read: the admin policy, the path in the mapping.
    let kinds: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"admin_mapping"), "{kinds:?}");
    assert!(kinds.contains(&"entry_unmatchable"), "{kinds:?}");
    // One stderr line names the missing action.
    assert!(
        err.contains(&format!(
            "note: access policies of {} not read: eks:ListAssociatedAccessPolicies denied",
            node_role()
        )),
        "{err}"
    );
    assert!(!err.contains("not-a-secret") && !out.stdout.windows(12).any(|w| w == b"not-a-secret"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0], "GET /clusters/demo", "{seen:?}");
    // Seven EKS reads, then IAM's GetRole (an awsQuery POST) for the two entries' roles and
    // the aws-auth role, which the fake does not answer (no finding comes of that).
    let iam = seen.iter().filter(|s| *s == "POST /").count();
    assert_eq!((seen.len() - iam, iam), (7, 3), "{seen:?}");
}

#[test]
fn an_unauthorized_kubectl_is_one_line_and_the_eks_api_answers_stay() {
    let (url, _) = fake();
    let k = kubectl_dir();
    let (out, err) = run(
        &url,
        k.path(),
        &[("FAKE_KUBECTL", "unauthorized")],
        &["access", "--cluster", "demo", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
    let doc = json(&out);
    assert_eq!(doc["access_entries"].as_array().unwrap().len(), 2);
    assert_eq!(doc["aws_auth_source"], serde_json::Value::Null);
    let unread = doc["live"]["unread"].as_array().unwrap();
    let aws_auth = unread
        .iter()
        .find(|u| u["part"] == "aws_auth")
        .expect("aws-auth unread");
    assert_eq!(
        aws_auth["reason"],
        "kubectl --context demo-ctx get configmap aws-auth: error: You must be logged in to the server (Unauthorized)"
    );
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("note:") && l.contains("aws-auth"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("the aws-auth ConfigMap not read: kubectl"),
        "{err}"
    );
}

#[test]
fn no_kubectl_and_a_missing_kubectl_are_said_and_files_win() {
    let (url, _) = fake();
    let k = kubectl_dir();
    let (out, err) = run(
        &url,
        k.path(),
        &[],
        &["access", "--cluster", "demo", "--no-kubectl", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(kubectl_calls(k.path()), "", "kubectl was run");
    assert!(
        err.contains("the aws-auth ConfigMap not read: not asked for (--no-kubectl)"),
        "{err}"
    );

    // PATH holds nothing else: this machine may have a real kubectl in /usr/bin.
    let empty = tempfile::tempdir().unwrap();
    let only = empty.path().to_str().unwrap();
    let (out, err) = run(
        &url,
        empty.path(),
        &[("PATH", only)],
        &["access", "--cluster", "demo", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("kubectl is not installed (not on PATH)"),
        "{err}"
    );

    // An aws-auth file is used as it is: kubectl is not asked, and the EKS answers join it.
    let file = k.path().join("aws-auth.json");
    let (out, err) = run(
        &url,
        k.path(),
        &[],
        &[
            "access",
            file.to_str().unwrap(),
            "--cluster",
            "demo",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(kubectl_calls(k.path()), "", "kubectl was run");
    let doc = json(&out);
    assert_eq!(doc["aws_auth_source"], file.to_str().unwrap());
    assert_eq!(doc["access_entries"].as_array().unwrap().len(), 2);
}

#[test]
fn a_missing_cluster_fails_access() {
    let (url, _) = fake();
    let k = kubectl_dir();
    let (out, err) = run(
        &url,
        k.path(),
        &[],
        &["access", "--cluster", "nope", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("EKS cluster nope not found in us-east-1"),
        "{err}"
    );
}

#[test]
fn failures_over_cloudwatch_diagnose_from_the_live_configuration() {
    let (url, seen) = fake();
    let k = kubectl_dir();
    let (out, err) = run(
        &url,
        k.path(),
        &[],
        &["failures", "--cluster", "demo", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
    let doc = json(&out);
    let class = doc["failures"]["by_class"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["principals"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["name"] == DENIED))
        })
        .unwrap_or_else(|| panic!("no failure for {DENIED}: {doc}"));
    let p = class["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == DENIED)
        .unwrap();
    assert_eq!(p["diagnosis"]["cause"], "role_path_in_mapping", "{p}");
    assert_eq!(
        p["diagnosis"]["evidence"]["source"],
        "kubectl --context demo-ctx"
    );
    // The denied policy read is said in the diagnosis too.
    assert!(
        p["diagnosis"]["unread"][0]
            .as_str()
            .unwrap()
            .contains("eks:ListAssociatedAccessPolicies denied"),
        "{p}"
    );
    assert_eq!(doc["source"][0]["api_calls"]["describe_cluster"], 1);
    assert_eq!(doc["source"][0]["api_calls"]["list_access_entries"], 2);
    assert!(seen.lock().unwrap().iter().any(|s| s == "StartQuery"));

    // Without kubectl the cause is unknown, and the diagnosis says what it lacked.
    let (out, err) = run(
        &url,
        k.path(),
        &[("FAKE_KUBECTL", "unauthorized")],
        &["failures", "--cluster", "demo", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the aws-auth ConfigMap not read: kubectl"),
        "{text}"
    );

    // --no-live-access: no EKS call, no diagnosis.
    let before = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.starts_with("GET "))
        .count();
    let (out, err) = run(
        &url,
        k.path(),
        &[],
        &[
            "failures",
            "--cluster",
            "demo",
            "--no-live-access",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
    let after = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.starts_with("GET "))
        .count();
    assert_eq!(before, after, "EKS was called");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\"diagnosis\""));

    // A cluster the EKS API does not know: the logs are still reported, with a note.
    let (out, err) = run(
        &url,
        k.path(),
        &[],
        &["failures", "--cluster", "nope", "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("access configuration not read live (EKS cluster nope not found"),
        "{err}"
    );
}
