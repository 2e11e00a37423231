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
