//! `eks-authlog access` and `--access-config`: the inventory document, the diagnoses attached
//! to the bundled sample's not-mapped principals, and a clear error for a bad file.

use assert_cmd::Command;

const SAMPLE_CONFIG: [&str; 6] = [
    "--access-config",
    "testdata/access/sample/aws-auth.yaml",
    "--access-config",
    "testdata/access/sample/describe-cluster.json",
    "--access-config",
    "testdata/access/sample/describe-access-entry-deployer.json",
];

fn cmd() -> Command {
    let mut c = Command::cargo_bin("eks-authlog").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("AWS_REGION")
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR");
    c
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = cmd().args(args).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn access_prints_the_inventory_document() {
    let v = json(&[
        "access",
        "-o",
        "json",
        "testdata/access/aws-auth.yaml",
        "testdata/access/describe-cluster-api-and-config-map.json",
        "testdata/access/list-access-entries.json",
        "testdata/access/describe-access-entry-role.json",
        "testdata/access/list-associated-access-policies-role.json",
    ]);
    assert_eq!(v["schema"], "eks-authlog.access/v1");
    assert_eq!(v["cluster"]["mode"], "API_AND_CONFIG_MAP");
    assert_eq!(v["mappings"][1]["line"], 9);
    assert_eq!(v["access_entries"].as_array().unwrap().len(), 3);
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"admin_mapping"), "{kinds:?}");
    assert!(kinds.contains(&"entry_unmatchable"), "{kinds:?}");
}

#[test]
fn failures_attach_a_diagnosis_to_each_not_mapped_principal() {
    let mut args = vec!["failures", "testdata/sample.log", "-o", "json", "-q"];
    args.extend(SAMPLE_CONFIG);
    let v = json(&args);
    let mut got = Vec::new();
    for c in v["failures"]["by_class"].as_array().unwrap() {
        for p in c["principals"].as_array().unwrap() {
            if let Some(d) = p.get("diagnosis") {
                got.push((
                    p["name"].as_str().unwrap().to_owned(),
                    d["cause"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    let want = [
        ("role/eks-node-role", "no_entry"),
        (
            "role/AWSReservedSSO_devops_admin_595c0f4da82205f0",
            "sso_path_in_mapping",
        ),
        ("role/Dev", "assumed_role_arn_in_mapping"),
        ("role/admin-test-role", "wrong_account"),
        ("role/github_oidc", "wildcard_in_mapping"),
        ("user/dev-garland", "user_path_mismatch"),
        ("role/Deployer", "shadowed_by_access_entry"),
        ("role/eks-admin", "role_path_in_mapping"),
    ];
    for (arn, cause) in want {
        let arn = format!("arn:aws:iam::111122223333:{arn}");
        assert!(
            got.iter().any(|(a, c)| *a == arn && c == cause),
            "{arn} {cause} not in {got:?}"
        );
    }
    // Only not-mapped classes are diagnosed.
    assert_eq!(got.len(), want.len(), "{got:?}");
}

#[test]
fn the_table_shows_the_diagnosis_in_place_of_the_remedy() {
    let mut args = vec!["failures", "testdata/sample.log", "-o", "table", "-q"];
    args.extend(SAMPLE_CONFIG);
    let o = cmd().args(&args).output().unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("Diagnosis from the access configuration:"));
    assert!(out.contains("arn:aws:iam::111122223333:role/eks-admin: role_path_in_mapping"));
    assert!(out.contains(
        "$ aws eks delete-access-entry --cluster-name demo --region us-east-1 --principal-arn arn:aws:iam::111122223333:role/Deployer"
    ));
    assert!(out.contains("--kubernetes-groups deployers"));
}

#[test]
fn a_bad_access_file_names_the_file_and_line() {
    let o = cmd()
        .args(["access", "testdata/sample.log"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("testdata/sample.log:"), "{err}");
    let o = cmd()
        .args(["access", "does-not-exist.yaml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does-not-exist.yaml: cannot read"));
}

const SAMPLE_FILES: [&str; 3] = [
    "testdata/access/sample/aws-auth.yaml",
    "testdata/access/sample/describe-cluster.json",
    "testdata/access/sample/describe-access-entry-deployer.json",
];

fn access(extra: &[&str]) -> std::process::Output {
    cmd()
        .arg("access")
        .args(SAMPLE_FILES)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn access_with_logs_says_who_used_each_mapping_and_names_the_unused() {
    let v = json(
        &[
            &["access", "-o", "json", "--logs", "testdata/sample.log"][..],
            &SAMPLE_FILES[..],
        ]
        .concat(),
    );
    let usage = &v["usage"];
    assert!(usage["events"].as_u64().unwrap() > 0, "{usage}");
    let used: Vec<(&str, u64)> = usage["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["entry"].as_str().unwrap(), m["granted"].as_u64().unwrap()))
        .collect();
    assert!(used.iter().any(|(_, g)| *g > 0), "{used:?}");
    let never: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "never_used")
        .map(|f| f["entry"].as_str().unwrap())
        .collect();
    // Every mapping with no grant, and only those, is called never used.
    let zero: Vec<&str> = used
        .iter()
        .filter(|(_, g)| *g == 0)
        .map(|(e, _)| *e)
        .collect();
    assert_eq!(never, zero);
    // The sample's creator shows up as EKS's hidden mapping.
    assert_eq!(v["hidden_mappings"][0]["username"], "kubernetes-admin");
}

#[test]
fn access_ndjson_is_one_finding_per_line() {
    let o = access(&["-o", "ndjson"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    for l in &lines {
        assert_eq!(l["schema"], "eks-authlog.finding/v1");
        assert_eq!(l["cluster"], "demo");
        assert_eq!(l["region"], "us-east-1");
    }
}

#[test]
fn access_fail_on_exits_1_on_a_matching_kind_and_0_otherwise() {
    let o = access(&["-o", "ndjson"]);
    let kinds: Vec<String> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let present = &kinds[0];
    assert_eq!(
        access(&["-o", "json", "--fail-on", present]).status.code(),
        Some(1)
    );
    assert_eq!(
        access(&["-o", "json", "--fail-on", "any"]).status.code(),
        Some(1)
    );
    let absent = eks_kinds()
        .into_iter()
        .find(|k| !kinds.contains(k))
        .unwrap();
    assert_eq!(
        access(&["-o", "json", "--fail-on", &absent]).status.code(),
        Some(0)
    );
    // An unknown kind is a usage error, not a silent pass.
    assert_eq!(
        access(&["--fail-on", "no_such_kind"]).status.code(),
        Some(2)
    );
}

fn eks_kinds() -> Vec<String> {
    [
        "duplicate_mapping",
        "unknown_template",
        "empty_username",
        "node_mapping_incomplete",
        "field_type_error",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[test]
fn an_access_snapshot_reads_back_as_files_and_as_access_config() {
    let first = access(&["-o", "json"]);
    assert_eq!(first.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snapshot.json");
    std::fs::write(&snap, &first.stdout).unwrap();
    let snap = snap.to_str().unwrap();
    let again = cmd().args(["access", "-o", "json", snap]).output().unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(first.stdout).unwrap(),
        String::from_utf8(again.stdout).unwrap()
    );
    // The report diagnoses from the snapshot exactly as from the files.
    let from_files = json(
        &[
            &["failures", "-o", "json", "testdata/sample.log"][..],
            &SAMPLE_CONFIG[..],
        ]
        .concat(),
    );
    let from_snapshot = json(&[
        "failures",
        "-o",
        "json",
        "testdata/sample.log",
        "--access-config",
        snap,
    ]);
    assert_eq!(from_files["failures"], from_snapshot["failures"]);
    // Forced to the wrong kind, the snapshot is refused with its name.
    let o = cmd()
        .args(["access", "--config-format", "aws-auth", snap])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("snapshot.json"));
}
