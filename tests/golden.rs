//! Golden output for the bundled sample in every format, and the JSON decoded field by field.
//!
//! `UPDATE_GOLDEN=1 cargo test --test golden` rewrites the files; review the diff.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> String {
    let out = Command::cargo_bin("eks-authlog")
        .unwrap()
        .current_dir(root())
        .env_remove("AWS_REGION")
        .env_remove("COLUMNS")
        .env_remove("EKS_AUTHLOG_REDACT_KEY")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sample(format: &str) -> String {
    run(&[
        "report",
        "testdata/sample.log",
        "--cluster",
        "demo",
        "--region",
        "us-east-1",
        "--color",
        "never",
        "--width",
        "120",
        "-o",
        format,
    ])
}

fn check_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 creates it)", path.display()));
    if expected != actual {
        panic!(
            "\n{name} differs from its golden file (UPDATE_GOLDEN=1 rewrites it)\n---- expected ----\n{expected}\n---- actual ----\n{actual}\n------------------\n"
        );
    }
}

#[test]
fn sample_table_matches_golden() {
    check_golden("sample.table.txt", &sample("table"));
}

#[test]
fn sample_json_matches_golden() {
    check_golden("sample.json", &sample("json"));
}

#[test]
fn sample_ndjson_matches_golden() {
    check_golden("sample.ndjson", &sample("ndjson"));
}

#[test]
fn sample_json_answers_both_questions() {
    let doc: Value = serde_json::from_str(&sample("json")).unwrap();
    assert_eq!(doc["schema"], "eks-authlog.report/v1");
    assert_eq!(doc["tool"]["name"], "eks-authlog");
    assert_eq!(doc["inputs"][0]["name"], "testdata/sample.log");
    assert_eq!(doc["inputs"][0]["format"], "raw");

    let lines = std::fs::read_to_string(root().join("testdata/sample.log"))
        .unwrap()
        .lines()
        .count() as u64;
    let ev = &doc["events"];
    assert_eq!(ev["total"], lines);
    let sum = ev["parsed"].as_u64().unwrap()
        + ev["unparsed"].as_u64().unwrap()
        + ev["not_authenticator"].as_u64().unwrap();
    assert_eq!(sum, lines, "every line is accounted for");
    assert_eq!(ev["unparsed_by_reason"]["not_logfmt"], 1);
    assert_eq!(ev["not_authenticator_by_reason"]["klog"], 1);
    assert_eq!(ev["not_authenticator_by_reason"]["version_banner"], 1);
    let kinds: u64 = ev["by_kind"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(kinds, ev["parsed"].as_u64().unwrap());

    let creator = &doc["creator"];
    assert_eq!(creator["status"], "found");
    let id = &creator["identities"][0];
    assert_eq!(
        id["canonical_arn"],
        "arn:aws:iam::111122223333:role/PlatformAdmin"
    );
    assert_eq!(id["account"], "111122223333");
    assert_eq!(
        id["evidence"],
        serde_json::json!(["mapping_static", "access_granted"])
    );
    assert_eq!(id["groups"], serde_json::json!(["system:masters"]));
    assert_eq!(
        id["principal_ids"],
        serde_json::json!(["AROAEXAMPLEADMIN0001"])
    );
    assert_eq!(id["first_seen"], "2026-11-20T08:00:00Z");
    assert_eq!(id["likely_creator"], true);

    let failures = &doc["failures"];
    let by_class = failures["by_class"].as_array().unwrap();
    let total: u64 = by_class.iter().map(|c| c["count"].as_u64().unwrap()).sum();
    assert_eq!(failures["total"], total);
    let names: Vec<&str> = by_class
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    let fixtures = std::fs::read_dir(root().join("testdata/classes"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count();
    assert_eq!(
        names.len(),
        fixtures,
        "the sample exercises every class: {names:?}"
    );
    let node = by_class
        .iter()
        .find(|c| c["class"] == "node_role_not_mapped")
        .unwrap();
    assert_eq!(node["family"], "mapping");
    assert_eq!(node["fixer"], "cluster_admin");
    assert_eq!(node["count"], 6);
    assert_eq!(
        node["principals"][0]["name"],
        "arn:aws:iam::111122223333:role/eks-node-role"
    );
    assert!(node["remedy"]["summary"].as_str().unwrap().len() > 20);
    let sso = by_class
        .iter()
        .find(|c| c["class"] == "sso_role_not_mapped")
        .unwrap();
    let cmds = sso["remedy"]["commands"].as_array().unwrap();
    assert!(
        cmds.iter()
            .any(|c| c.as_str().unwrap().contains("--cluster-name demo")),
        "{cmds:?}"
    );
    let expired = by_class
        .iter()
        .find(|c| c["class"] == "sts_expired_credentials")
        .unwrap();
    assert_eq!(expired["unattributed"], 6);
    assert!(
        expired["example"]["error"]
            .as_str()
            .unwrap()
            .contains("ExpiredToken")
    );

    let principals = &doc["principals"];
    assert_eq!(principals["internal_hidden"], 1);
    let node_role = principals["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["arn"] == "arn:aws:iam::111122223333:role/eks-node-role")
        .unwrap();
    assert!(
        node_role["granted"].as_u64().unwrap() > 0 && node_role["denied"].as_u64().unwrap() > 0
    );

    let tl = &doc["timeline"];
    assert_eq!(tl["bin"], "hour");
    let binned: u64 = tl["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["total"].as_u64().unwrap())
        .sum();
    assert_eq!(binned, total);
    assert_eq!(doc["window"]["start"], "2026-11-20T08:00:00Z");
}

#[test]
fn sample_ndjson_records_are_classified_events() {
    let text = sample("ndjson");
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let doc: Value = serde_json::from_str(&sample("json")).unwrap();
    assert_eq!(
        records.len() as u64,
        doc["events"]["parsed"].as_u64().unwrap(),
        "one record per parsed line"
    );
    for r in &records {
        assert_eq!(r["schema"], "eks-authlog.event/v1");
        assert!(r["source"]["line"].as_u64().unwrap() > 0);
        assert!(r["fields"].is_object() && r["groups"].is_array());
        if r["kind"] == "access_denied" {
            assert!(r["class"].is_string() && r["family"].is_string(), "{r}");
        }
    }
    let node = records
        .iter()
        .find(|r| r["kind"] == "access_denied" && r["sts"]["session"] == "i-0123456789abcdef0")
        .unwrap();
    assert_eq!(
        node["class"], "identity_not_mapped",
        "events carry the base class; the report refines it"
    );
    assert_eq!(node["sts"]["userid"], "AROAEXAMPLENODE12345");
    let grant = records
        .iter()
        .find(|r| r["kind"] == "access_granted" && r["username"] == "kubernetes-admin")
        .unwrap();
    assert_eq!(grant["uid"]["principal_id"], "AROAEXAMPLEADMIN0001");
    assert_eq!(grant["groups"], serde_json::json!(["system:masters"]));
}
