//! Tests for `access`: one per row of the aws-auth mistake catalog (each from the aws-auth
//! text in `testdata/access/catalog/` to the cause and the fix), the readers over every input
//! shape in `testdata/access/`, the mode rules, and "never panics" properties.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

const ADMIN: &str = "arn:aws:iam::111122223333:role/eks-admin";
const NODE: &str = "arn:aws:iam::111122223333:role/my-node-role";

fn dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("testdata/access")
}

fn load(files: &[&str]) -> AccessConfig {
    let mut cfg = AccessConfig::default();
    for f in files {
        let bytes = std::fs::read(dir().join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        cfg.read(f, &bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    cfg
}

fn row(name: &str) -> AccessConfig {
    load(&[&format!("catalog/{name}.yaml")])
}

fn diag(cfg: &AccessConfig, arn: &str) -> Diagnosis {
    diagnose(
        cfg,
        &Denial {
            arn,
            ..Denial::default()
        },
    )
}

fn errors<'a>(cfg: &'a AccessConfig, key: &str) -> &'a [String] {
    &cfg.aws_auth.as_ref().unwrap().section(key).unwrap().errors
}

fn kinds(cfg: &AccessConfig) -> Vec<FindingKind> {
    inventory(cfg).findings.iter().map(|f| f.kind).collect()
}

#[track_caller]
fn assert_yaml_maps(d: &Diagnosis, arn_line: &str) {
    let yaml = d
        .fix
        .yaml
        .as_deref()
        .unwrap_or_else(|| panic!("no fix.yaml: {d:#?}"));
    assert!(
        yaml.contains(arn_line),
        "fix.yaml lacks {arn_line:?}:\n{yaml}"
    );
    // The corrected entry must itself parse and keep the ARN.
    let node = yaml::parse(yaml).unwrap().unwrap();
    assert!(matches!(node.value, yaml::Value::Seq(_)));
}

#[test]
fn m01_path_in_rolearn_is_role_path_in_mapping() {
    let cfg = row("m01-role-path");
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::RolePathInMapping);
    assert_eq!(d.evidence.section.as_deref(), Some("mapRoles"));
    assert_eq!(d.evidence.line, Some(14));
    assert_eq!(
        d.evidence.entry.as_deref(),
        Some("arn:aws:iam::111122223333:role/team/dev/eks-admin")
    );
    assert_yaml_maps(&d, "rolearn: arn:aws:iam::111122223333:role/eks-admin\n");
    assert!(d.fix.yaml.as_deref().unwrap().contains("system:masters"));
    assert_eq!(
        d.fix.commands[0],
        "eksctl delete iamidentitymapping --cluster <cluster> --arn arn:aws:iam::111122223333:role/team/dev/eks-admin"
    );
    assert!(d.fix.commands[1].starts_with(
        "eksctl create iamidentitymapping --cluster <cluster> --arn arn:aws:iam::111122223333:role/eks-admin --username 'admin' --group system:masters"
    ));
}

#[test]
fn m02_sso_role_with_its_path_is_sso_path_in_mapping() {
    let cfg = row("m02-sso-path");
    let arn = "arn:aws:iam::111122223333:role/AWSReservedSSO_AdministratorAccess_0123456789abcdef";
    let d = diag(&cfg, arn);
    assert_eq!(d.cause, Cause::SsoPathInMapping);
    assert!(d.fix.summary.contains("aws-reserved/sso.amazonaws.com"));
    assert_yaml_maps(&d, &format!("rolearn: {arn}\n"));
}

#[test]
fn m02_sso_role_whose_suffix_changed_is_a_near_miss() {
    let cfg = row("m02-sso-path");
    let d = diag(
        &cfg,
        "arn:aws:iam::111122223333:role/AWSReservedSSO_AdministratorAccess_fedcba9876543210",
    );
    assert_eq!(d.cause, Cause::NearMiss);
    assert!(
        d.fix.summary.contains("suffix changed"),
        "{}",
        d.fix.summary
    );
}

#[test]
fn m03_session_arn_mapped_is_assumed_role_arn_in_mapping() {
    let d = diag(&row("m03-assumed-role"), ADMIN);
    assert_eq!(d.cause, Cause::AssumedRoleArnInMapping);
    assert_yaml_maps(&d, &format!("rolearn: {ADMIN}\n"));
}

#[test]
fn m04_role_of_another_account_is_wrong_account() {
    let d = diag(&row("m04-wrong-account"), ADMIN);
    assert_eq!(d.cause, Cause::WrongAccount);
    assert!(d.fix.summary.contains("444455556666"));
    assert_yaml_maps(&d, &format!("rolearn: {ADMIN}\n"));
}

#[test]
fn m05_user_mapped_without_its_path_is_user_path_mismatch() {
    let arn = "arn:aws:iam::111122223333:user/engineering/bob";
    let d = diag(&row("m05-user-path"), arn);
    assert_eq!(d.cause, Cause::UserPathMismatch);
    assert_eq!(d.evidence.section.as_deref(), Some("mapUsers"));
    assert_yaml_maps(&d, &format!("userarn: {arn}\n"));
}

#[test]
fn m06a_user_arn_under_maproles_matches_and_is_not_flagged() {
    let cfg = row("m06a-user-under-maproles");
    let d = diag(&cfg, "arn:aws:iam::111122223333:user/bob");
    assert_eq!(d.cause, Cause::EntryIsFine);
    assert!(errors(&cfg, "mapRoles").is_empty());
    assert!(!kinds(&cfg).contains(&FindingKind::EntryUnmatchable));
}

#[test]
fn m06b_rolearn_key_under_mapusers_is_entry_key_misspelt() {
    let cfg = row("m06b-rolearn-under-mapusers");
    assert_eq!(
        errors(&cfg, "mapUsers"),
        ["value for userarn must be supplied"]
    );
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::EntryKeyMisspelt);
    assert!(d.fix.summary.contains("`rolearn`"), "{}", d.fix.summary);
    assert_yaml_maps(&d, &format!("rolearn: {ADMIN}\n"));
    assert!(kinds(&cfg).contains(&FindingKind::EntryDropped));
}

#[test]
fn m06c_role_arn_under_mapusers_with_userarn_matches() {
    let cfg = row("m06c-role-under-mapusers");
    assert_eq!(diag(&cfg, ADMIN).cause, Cause::EntryIsFine);
    assert!(errors(&cfg, "mapUsers").is_empty());
}

#[test]
fn m07_tab_drops_maproles_only_with_the_authenticators_error() {
    let cfg = row("m07-tab");
    assert_eq!(
        errors(&cfg, "mapRoles"),
        ["yaml: line 7: found a tab character that violates indentation"]
    );
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::SectionUnparsable);
    assert_eq!(d.evidence.line, Some(15), "the tab's line in the file");
    assert!(d.fix.summary.contains("found a tab character"));
    // Nodes are in the same section and lose their mapping too.
    assert_eq!(diag(&cfg, NODE).cause, Cause::SectionUnparsable);
    // mapUsers is parsed on its own and still maps its users.
    assert!(errors(&cfg, "mapUsers").is_empty());
    assert_eq!(
        diag(&cfg, "arn:aws:iam::111122223333:user/admin").cause,
        Cause::EntryIsFine
    );
}

#[test]
fn m08_bad_indentation_reports_the_line_before_as_yaml_v2_does() {
    let cfg = row("m08-bad-indent");
    assert_eq!(
        errors(&cfg, "mapRoles"),
        ["yaml: line 7: did not find expected '-' indicator"]
    );
    assert_eq!(diag(&cfg, NODE).cause, Cause::SectionUnparsable);
}

#[test]
fn m08b_over_indented_item_is_did_not_find_expected_key() {
    let cfg = row("m08b-item-over-indented");
    assert_eq!(
        errors(&cfg, "mapRoles"),
        ["yaml: line 9: did not find expected key"]
    );
    assert_eq!(diag(&cfg, ADMIN).cause, Cause::SectionUnparsable);
}

#[test]
fn m09_duplicate_rolearn_later_entry_wins() {
    let cfg = row("m09-duplicate-rolearn");
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::EntryIsFine);
    assert_eq!(
        d.evidence.line,
        Some(18),
        "the later entry is the effective one"
    );
    let inv = inventory(&cfg);
    let dup = inv
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::DuplicateMapping)
        .expect("duplicate finding");
    assert_eq!(dup.line, Some(18));
    assert!(dup.message.contains("later entry wins"));
}

#[test]
fn m10_space_before_a_group_item_folds_into_one_group() {
    let cfg = row("m10-group-space");
    let m = &cfg.aws_auth.as_ref().unwrap().mappings[0];
    assert_eq!(m.groups, ["system:bootstrappers - system:nodes"]);
    assert!(kinds(&cfg).contains(&FindingKind::GroupWhitespace));
    assert_eq!(diag(&cfg, NODE).cause, Cause::EntryIsFine);
}

#[test]
fn m11_numeric_username_is_kept_empty_with_the_json_error() {
    let cfg = row("m11-username-number");
    assert_eq!(
        errors(&cfg, "mapRoles"),
        ["json: cannot unmarshal number into Go struct field RoleMapping.username of type string"]
    );
    let m = &cfg.aws_auth.as_ref().unwrap().mappings[1];
    assert_eq!(m.state, EntryState::Kept);
    assert_eq!(m.username, "");
    assert!(kinds(&cfg).contains(&FindingKind::FieldTypeError));
    assert_eq!(diag(&cfg, ADMIN).cause, Cause::EntryIsFine);
}

#[test]
fn m12_scalar_groups_are_dropped_with_the_json_error() {
    let cfg = row("m12-groups-scalar");
    assert_eq!(
        errors(&cfg, "mapRoles"),
        ["json: cannot unmarshal string into Go struct field RoleMapping.groups of type []string"]
    );
    assert!(cfg.aws_auth.as_ref().unwrap().mappings[1].groups.is_empty());
    assert_eq!(diag(&cfg, ADMIN).cause, Cause::EntryIsFine);
}

#[test]
fn m13_unquoted_on_is_a_yaml11_boolean() {
    let cfg = row("m13-yaml11-bool-group");
    assert_eq!(
        errors(&cfg, "mapRoles"),
        ["json: cannot unmarshal bool into Go struct field RoleMapping.groups of type string"]
    );
    assert_eq!(cfg.aws_auth.as_ref().unwrap().mappings[1].groups, [""]);
}

#[test]
fn m14_lower_case_maproles_key_is_never_read() {
    let cfg = row("m14-top-level-key-case");
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::TopLevelKeyMisspelt);
    assert!(d.fix.summary.contains("`mapRoles`"));
    assert_eq!(diag(&cfg, NODE).cause, Cause::TopLevelKeyMisspelt);
    assert!(kinds(&cfg).contains(&FindingKind::TopLevelKeyMisspelt));
    // Other spellings of the same mistake.
    for key in ["MapRoles", "mapRole", "map_roles"] {
        assert_eq!(
            awsauth::SectionKind::from_misspelt(key),
            Some(SectionKind::Roles)
        );
    }
}

#[test]
fn m15_misspelt_rolearn_key_is_entry_key_misspelt() {
    let cfg = row("m15-misspelt-entry-key");
    assert_eq!(
        errors(&cfg, "mapRoles"),
        ["one of rolearn or SSO must be supplied"]
    );
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::EntryKeyMisspelt);
    assert!(d.fix.summary.contains("`rolarn`"));
    assert_yaml_maps(&d, &format!("- rolearn: {ADMIN}\n"));
    assert_eq!(
        d.fix.commands[0],
        "kubectl edit configmap aws-auth -n kube-system"
    );
}

#[test]
fn m16_camel_case_key_is_flagged_as_misspelt() {
    let cfg = row("m16-camel-case-key");
    assert!(
        errors(&cfg, "mapRoles").is_empty(),
        "JSON-based builds accept it silently"
    );
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::EntryKeyMisspelt);
    assert!(d.fix.summary.contains("`roleARN`"));
    assert!(kinds(&cfg).contains(&FindingKind::EntryUnmatchable));
}

#[test]
fn m17_bare_string_item_is_entry_not_a_map() {
    let cfg = row("m17-bare-string-item");
    assert_eq!(
        errors(&cfg, "mapRoles"),
        [
            "json: cannot unmarshal string into Go value of type config.RoleMapping",
            "one of rolearn or SSO must be supplied"
        ]
    );
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::EntryNotAMap);
    assert_yaml_maps(&d, &format!("- rolearn: {ADMIN}\n"));
}

#[test]
fn m18_single_mapping_instead_of_a_list_drops_the_section() {
    let cfg = row("m18-single-mapping");
    assert_eq!(
        errors(&cfg, "mapRoles"),
        ["json: cannot unmarshal object into Go value of type []config.RoleMapping"]
    );
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::SectionUnparsable);
    // A JSON object section goes through as JSON and fails the same way.
    let mut json = AccessConfig::default();
    json.read(
        "x.json",
        br#"{"data":{"mapRoles":"{\"rolearn\":\"arn:aws:iam::111122223333:role/eks-admin\"}"}}"#,
    )
    .unwrap();
    assert_eq!(
        errors(&json, "mapRoles"),
        ["json: cannot unmarshal object into Go value of type []config.RoleMapping"]
    );
}

#[test]
fn m19_mapusers_case_duplicates_are_both_kept() {
    let cfg = row("m19-mapusers-case-duplicates");
    let inv = inventory(&cfg);
    let dup = inv
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::DuplicateMapping)
        .expect("duplicate finding");
    assert!(dup.message.contains("at random"), "{}", dup.message);
}

#[test]
fn m20_unclosed_quote_runs_to_the_end_of_the_section() {
    let cfg = row("m20-unclosed-quote");
    assert_eq!(
        errors(&cfg, "mapRoles"),
        ["yaml: line 10: found unexpected end of stream"]
    );
    assert_eq!(diag(&cfg, ADMIN).cause, Cause::SectionUnparsable);
}

#[test]
fn m21_wrong_case_template_reaches_rbac_literally() {
    let cfg = row("m21-unknown-template");
    let inv = inventory(&cfg);
    let f = inv
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::UnknownTemplate)
        .expect("template finding");
    assert!(f.message.contains("{{sessionname}}"));
    assert_eq!(diag(&cfg, ADMIN).cause, Cause::EntryIsFine);
}

#[test]
fn m22_missing_username_is_reported() {
    let cfg = row("m22-empty-username");
    assert!(kinds(&cfg).contains(&FindingKind::EmptyUsername));
    assert_eq!(diag(&cfg, ADMIN).cause, Cause::EntryIsFine);
}

#[test]
fn m23_unquoted_account_keeps_its_leading_zero() {
    let cfg = row("m23-mapaccounts-unquoted");
    let aws = cfg.aws_auth.as_ref().unwrap();
    assert_eq!(aws.accounts[0].account, "012345678901");
    assert!(kinds(&cfg).contains(&FindingKind::MapAccountsBreadth));
    let d = diag(&cfg, "arn:aws:iam::012345678901:role/anything");
    assert_eq!(d.cause, Cause::EntryIsFine);
    assert_eq!(d.evidence.section.as_deref(), Some("mapAccounts"));
}

#[test]
fn m24_aws_auth_without_data_maps_nobody() {
    let cfg = row("m24-deleted");
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::NoEntry);
    assert_yaml_maps(&d, &format!("- rolearn: {ADMIN}\n"));
    assert!(d.fix.commands[0].starts_with("eksctl create iamidentitymapping"));
}

#[test]
fn m25_missing_pipe_is_rejected_by_the_api_server() {
    let cfg = row("m25-missing-pipe");
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::SectionUnparsable);
    assert!(d.fix.summary.contains("rejects"), "{}", d.fix.summary);
    assert!(kinds(&cfg).contains(&FindingKind::SectionUnparsable));
}

#[test]
fn m26_recreated_principal_still_matches_aws_auth_but_not_its_access_entry() {
    let cfg = row("m26-principal-recreated");
    assert_eq!(diag(&cfg, ADMIN).cause, Cause::EntryIsFine);
    // With an access entry for the same ARN on API_AND_CONFIG_MAP, the entry wins.
    let mut cfg = cfg;
    cfg.read(
        "describe-access-entry.json",
        format!(r#"{{"accessEntry":{{"clusterName":"my-cluster","principalArn":"{ADMIN}","type":"STANDARD"}}}}"#)
            .as_bytes(),
    )
    .unwrap();
    cfg.entries.cluster.mode = Some(Mode::ApiAndConfigMap);
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::ShadowedByAccessEntry);
    assert!(d.fix.commands[0].starts_with("aws eks delete-access-entry --cluster-name my-cluster"));
    // Without the aws-auth entry: the access entry is bound to the old principal.
    let only_entry = AccessConfig {
        entries: cfg.entries.clone(),
        ..AccessConfig::default()
    };
    let d = diag(&only_entry, ADMIN);
    assert_eq!(d.cause, Cause::EntryBoundToOldPrincipal);
    assert!(d.fix.yaml.is_none());
}

#[test]
fn m27_missing_node_role_gets_a_node_mapping() {
    let cfg = row("m27-node-role-missing");
    let d = diagnose(
        &cfg,
        &Denial {
            arn: "arn:aws:iam::111122223333:role/eksctl-my-cluster-NodeInstanceRole-1ABC",
            session: Some("i-0123456789abcdef0"),
            ..Denial::default()
        },
    );
    assert_eq!(d.cause, Cause::NoEntry);
    let yaml = d.fix.yaml.as_deref().unwrap();
    assert!(
        yaml.contains("username: system:node:{{EC2PrivateDNSName}}\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("- system:bootstrappers\n    - system:nodes"),
        "{yaml}"
    );
}

#[test]
fn m28_node_role_used_by_a_human_is_explained() {
    let cfg = row("m28-node-role-used-by-human");
    let d = diagnose(
        &cfg,
        &Denial {
            arn: NODE,
            session: Some("alice"),
            ..Denial::default()
        },
    );
    assert_eq!(d.cause, Cause::EntryIsFine);
    assert!(d.fix.summary.contains("only nodes"), "{}", d.fix.summary);
}

// --- beyond the catalog: wildcards, malformed ARNs, near misses, modes ---

fn one_role(arn: &str) -> AccessConfig {
    let mut cfg = AccessConfig::default();
    let text = format!("mapRoles: |\n  - rolearn: {arn}\n    username: admin\n");
    cfg.read("data.yaml", text.as_bytes()).unwrap();
    cfg
}

#[test]
fn wildcard_in_rolearn_is_wildcard_in_mapping() {
    let d = diag(&one_role("arn:aws:iam::111122223333:role/eks-*"), ADMIN);
    assert_eq!(d.cause, Cause::WildcardInMapping);
}

#[test]
fn region_inside_an_iam_arn_is_malformed() {
    let d = diag(
        &one_role("arn:aws:iam:us-east-1:111122223333:role/eks-admin"),
        ADMIN,
    );
    assert_eq!(d.cause, Cause::MalformedArnInMapping);
    assert!(d.fix.summary.contains("us-east-1"));
}

#[test]
fn one_character_off_is_a_near_miss() {
    let d = diag(&one_role("arn:aws:iam::111122223333:role/eks-admn"), ADMIN);
    assert_eq!(d.cause, Cause::NearMiss);
}

#[test]
fn api_mode_never_advises_editing_aws_auth() {
    let mut cfg = row("m26-principal-recreated");
    cfg.read(
        "describe-cluster-api.json",
        &std::fs::read(dir().join("describe-cluster-api.json")).unwrap(),
    )
    .unwrap();
    let d = diag(&cfg, ADMIN);
    assert_eq!(d.cause, Cause::AwsAuthIgnoredByMode);
    assert!(d.fix.yaml.is_none());
    assert_eq!(
        d.fix.commands[0],
        format!(
            "aws eks create-access-entry --cluster-name my-cluster --region us-west-2 --principal-arn {ADMIN}"
        )
    );
    assert!(
        d.fix
            .commands
            .iter()
            .all(|c| !c.contains("eksctl") && !c.contains("configmap"))
    );
    // And for a principal nobody maps.
    let d = diag(&cfg, "arn:aws:iam::111122223333:role/other");
    assert_eq!(d.cause, Cause::NoEntry);
    assert!(d.fix.yaml.is_none());
}

#[test]
fn config_map_mode_says_the_mode_must_change_before_access_entries_work() {
    let cfg = load(&[
        "describe-cluster-config-map.json",
        "list-access-entries.json",
        "describe-access-entry-role.json",
    ]);
    let d = diag(&cfg, "arn:aws:iam::111122223333:role/my-role");
    assert_eq!(d.cause, Cause::AccessEntriesIgnoredByMode);
    assert!(d.fix.summary.contains("change the mode"));
    assert!(d.fix.commands.iter().any(|c| c.contains(
        "aws eks update-cluster-config --name my-cluster --region us-west-2 --access-config authenticationMode=API_AND_CONFIG_MAP"
    )));
    // On CONFIG_MAP a missing principal gets aws-auth advice only.
    let d = diag(&cfg, "arn:aws:iam::111122223333:role/other");
    assert_eq!(d.cause, Cause::NoEntry);
    assert!(
        d.fix
            .commands
            .iter()
            .all(|c| !c.contains("create-access-entry"))
    );
}

#[test]
fn access_entry_created_seconds_before_the_denial_is_propagation() {
    let cfg = load(&[
        "describe-cluster-api.json",
        "describe-access-entry-role.json",
    ]);
    let d = diagnose(
        &cfg,
        &Denial {
            arn: "arn:aws:iam::111122223333:role/my-role",
            time: Some("2024-04-29T17:50:20Z"),
            ..Denial::default()
        },
    );
    assert_eq!(d.cause, Cause::EntryIsFine);
}

#[test]
fn every_cause_name_is_its_serde_name() {
    for c in Cause::ALL {
        assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
    }
    assert_eq!(Cause::ALL.len(), 18);
}

#[test]
fn readme_documents_every_cause_and_finding_kind() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    for c in Cause::ALL {
        assert!(
            readme.contains(&format!("| `{}` |", c.as_str())),
            "README lacks cause {c:?}"
        );
    }
    for k in FindingKind::ALL {
        let name = serde_json::to_value(k).unwrap();
        let name = name.as_str().unwrap();
        assert!(
            readme.contains(&format!("`{name}`")),
            "README lacks finding {name}"
        );
    }
}

// --- readers ---

#[test]
fn kubectl_yaml_and_json_read_the_same_entries() {
    let y = load(&["aws-auth.yaml"]);
    let j = load(&["aws-auth.json"]);
    let arns = |c: &AccessConfig| -> Vec<String> {
        c.aws_auth
            .as_ref()
            .unwrap()
            .mappings
            .iter()
            .filter_map(|m| m.arn.clone())
            .collect()
    };
    assert_eq!(arns(&j), arns(&y)[..3]);
    let m = &y.aws_auth.as_ref().unwrap().mappings;
    assert_eq!(m[0].line, Some(4));
    assert_eq!(m[1].line, Some(9));
    assert_eq!(m[2].section, "mapUsers");
    assert_eq!(diag(&y, ADMIN).evidence.line, Some(9));
    assert_eq!(diag(&j, ADMIN).cause, Cause::RolePathInMapping);
}

#[test]
fn eksctl_and_data_block_inputs_are_detected() {
    for f in ["eksctl-identities.json", "eksctl-identities.yaml"] {
        let c = load(&[f]);
        let a = c.aws_auth.as_ref().unwrap();
        assert_eq!(a.format, AwsAuthFormat::Eksctl);
        assert!(a.mappings.iter().any(|m| m.kind == SectionKind::Users));
    }
    let c = load(&["data-block.yaml"]);
    let a = c.aws_auth.as_ref().unwrap();
    assert_eq!(a.format, AwsAuthFormat::DataBlock);
    assert_eq!(a.accounts[0].account, "111122223333");
}

#[test]
fn access_entry_files_merge_by_principal() {
    let cfg = load(&[
        "describe-cluster-api-and-config-map.json",
        "list-access-entries.json",
        "describe-access-entry-node.json",
        "describe-access-entry-role.json",
        "list-associated-access-policies-role.json",
    ]);
    assert_eq!(cfg.mode(), Some(Mode::ApiAndConfigMap));
    assert_eq!(cfg.entries.cluster.region.as_deref(), Some("us-west-2"));
    assert_eq!(cfg.entries.entries.len(), 3);
    let role = &cfg.entries.entries[0];
    assert_eq!(role.kind.as_deref(), Some("STANDARD"));
    assert_eq!(role.policies.as_ref().unwrap().len(), 2);
    assert!(kinds(&cfg).contains(&FindingKind::AdminMapping));
    let mut json = Vec::new();
    inventory(&cfg).write_json(&mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["schema"], "eks-authlog.access/v1");
    let mut table = Vec::new();
    inventory(&cfg).write_table(&mut table).unwrap();
    assert!(
        String::from_utf8(table)
            .unwrap()
            .contains("AmazonEKSClusterAdminPolicy (cluster)")
    );
}

#[test]
fn bad_input_names_the_file_and_line() {
    let mut cfg = AccessConfig::default();
    let e = cfg
        .read("broken.json", b"{\n  \"accessEntries\": [\n")
        .unwrap_err();
    assert_eq!(e.file, "broken.json");
    assert!(
        e.to_string().starts_with("broken.json:3: not valid JSON"),
        "{e}"
    );
    let e = cfg.read("other.yaml", b"just: text\n").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("other.yaml:1: not an access-configuration document"),
        "{e}"
    );
    let e = cfg.read("bad.yaml", b"a: [\n").unwrap_err();
    assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
    let e = cfg.read("bin", b"\xff\xfe").unwrap_err();
    assert!(e.to_string().contains("not UTF-8"), "{e}");
}

proptest! {
    #[test]
    fn reader_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut cfg = AccessConfig::default();
        let _ = cfg.read("fuzz", &bytes);
        let _ = inventory(&cfg);
        let _ = diag(&cfg, ADMIN);
    }

    #[test]
    fn section_parser_never_panics_on_strings(section in "[ \t\n\\-:a-z{}\\[\\]\"'|>#&*!?,0-9]{0,200}") {
        for key in ["mapRoles", "mapUsers", "mapAccounts", "maproles"] {
            let doc = serde_json::json!({ "data": { key: section } }).to_string();
            let mut cfg = AccessConfig::default();
            let _ = cfg.read("fuzz.json", doc.as_bytes());
            let _ = inventory(&cfg);
            let _ = diag(&cfg, ADMIN);
            let _ = diag(&cfg, "arn:aws:iam::111122223333:user/bob");
        }
    }

    #[test]
    fn section_parser_never_panics_on_any_string(section in any::<String>()) {
        let doc = serde_json::json!({ "data": { "mapRoles": section } }).to_string();
        let mut cfg = AccessConfig::default();
        let _ = cfg.read("fuzz.json", doc.as_bytes());
        let _ = diag(&cfg, ADMIN);
    }
}

// ---- the snapshot, forced formats, usage, node mappings, NDJSON ----

fn use_of(arn: &str, granted: u64, username: &str) -> PrincipalUse {
    PrincipalUse {
        arn: arn.to_owned(),
        granted,
        usernames: vec![username.to_owned()],
        first_seen: Some("2024-05-01T10:00:00Z".to_owned()),
        last_seen: Some("2024-05-02T11:00:00Z".to_owned()),
        ..PrincipalUse::default()
    }
}

#[test]
fn a_snapshot_reads_back_to_the_same_inventory() {
    let cfg = load(&[
        "aws-auth.yaml",
        "list-access-entries.json",
        "describe-access-entry-role.json",
        "describe-cluster-api-and-config-map.json",
    ]);
    let mut first = Vec::new();
    inventory(&cfg).write_json(&mut first).unwrap();
    let mut again = AccessConfig::default();
    again.read("snapshot.json", &first).unwrap();
    let mut second = Vec::new();
    inventory(&again).write_json(&mut second).unwrap();
    assert_eq!(
        String::from_utf8(first).unwrap(),
        String::from_utf8(second).unwrap()
    );
    // The documents keep their own names, so findings still point at the original file.
    assert_eq!(again.documents.len(), 4);
    assert_eq!(again.aws_auth.as_ref().unwrap().source, "aws-auth.yaml");
}

#[test]
fn a_snapshot_inside_a_snapshot_is_refused_with_the_file_named() {
    let cfg = load(&["aws-auth.yaml"]);
    let mut inner = Vec::new();
    inventory(&cfg).write_json(&mut inner).unwrap();
    let outer = serde_json::json!({
        "schema": SCHEMA,
        "documents": [{"source": "inner.json", "text": String::from_utf8(inner).unwrap()}],
    });
    let err = AccessConfig::default()
        .read("outer.json", outer.to_string().as_bytes())
        .unwrap_err();
    assert_eq!(err.file, "inner.json");
    assert!(err.message.contains("snapshot inside a snapshot"), "{err}");
    assert!(err.message.contains("outer.json"), "{err}");
}

#[test]
fn a_forced_format_refuses_another_kind_naming_it() {
    let bytes = std::fs::read(dir().join("aws-auth.json")).unwrap();
    let err = AccessConfig::default()
        .read_as("aws-auth.json", &bytes, ConfigFormat::Eks)
        .unwrap_err();
    assert!(err.message.contains("not aws eks JSON"), "{err}");
    let err = AccessConfig::default()
        .read_as("aws-auth.json", &bytes, ConfigFormat::Snapshot)
        .unwrap_err();
    assert!(err.message.contains("snapshot"), "{err}");
    // Forced aws-auth reads the JSON ConfigMap as YAML, as detection does.
    let mut cfg = AccessConfig::default();
    cfg.read_as("aws-auth.json", &bytes, ConfigFormat::AwsAuth)
        .unwrap();
    assert!(!cfg.aws_auth.unwrap().mappings.is_empty());
    // A describe-cluster document forced to aws-auth is not an aws-auth document.
    let bytes = std::fs::read(dir().join("describe-cluster-api.json")).unwrap();
    assert!(
        AccessConfig::default()
            .read_as("d.json", &bytes, ConfigFormat::AwsAuth)
            .is_err()
    );
}

#[test]
fn usage_attributes_grants_to_the_mapping_that_grants_them() {
    let cfg = load(&["aws-auth.yaml"]);
    let logs = LogUse {
        events: 10,
        first_seen: Some("2024-05-01T00:00:00Z".to_owned()),
        last_seen: Some("2024-05-03T00:00:00Z".to_owned()),
        principals: vec![
            use_of(NODE, 7, "system:node:ip-10-0-0-1.ec2.internal"),
            use_of("arn:aws:iam::111122223333:user/admin", 2, "admin"),
            use_of("arn:aws:iam::999999999999:role/stranger", 1, "x"),
        ],
        creator: Vec::new(),
    };
    let inv = inventory(&cfg).with_usage(&logs);
    let usage = inv.usage.as_ref().unwrap();
    let node = usage.mappings.iter().find(|m| m.entry == NODE).unwrap();
    assert_eq!(node.granted, 7);
    assert_eq!(node.last_seen.as_deref(), Some("2024-05-02T11:00:00Z"));
    assert_eq!(
        usage.unattributed,
        ["arn:aws:iam::999999999999:role/stranger"]
    );
    // The role with a path and my-user granted nothing: never used.
    let never: Vec<&str> = inv
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::NeverUsed)
        .filter_map(|f| f.entry.as_deref())
        .collect();
    assert_eq!(
        never,
        [
            "arn:aws:iam::111122223333:role/team/dev/eks-admin",
            "arn:aws:iam::444455556666:user/my-user"
        ]
    );
}

#[test]
fn an_access_entry_wins_over_aws_auth_when_the_mode_reads_entries() {
    let node =
        "arn:aws:iam::111122223333:role/eksctl-my-cluster-nodegroup-NodeInstanceRole-647HpxD4e9mr";
    let mut cfg = load(&[
        "describe-access-entry-node.json",
        "describe-cluster-api-and-config-map.json",
    ]);
    let aws_auth = format!(
        "data:\n  mapRoles: |\n    - rolearn: {node}\n      username: system:node:{{{{EC2PrivateDNSName}}}}\n      groups:\n        - system:bootstrappers\n        - system:nodes\n"
    );
    cfg.read("aws-auth.yaml", aws_auth.as_bytes()).unwrap();
    let logs = LogUse {
        events: 1,
        principals: vec![use_of(node, 3, "system:node:ip")],
        ..LogUse::default()
    };
    let by = |cfg: &AccessConfig| -> Vec<(usage::MappedBy, u64)> {
        inventory(cfg)
            .with_usage(&logs)
            .usage
            .unwrap()
            .mappings
            .iter()
            .filter(|m| m.entry == node)
            .map(|m| (m.mapped_by.clone(), m.granted))
            .collect()
    };
    assert_eq!(
        by(&cfg),
        [
            (usage::MappedBy::AccessEntry, 3),
            (usage::MappedBy::AwsAuth, 0)
        ]
    );
    // On a CONFIG_MAP cluster the access entry is not read: aws-auth granted it.
    cfg.entries.cluster.mode = Some(Mode::ConfigMap);
    assert_eq!(by(&cfg), [(usage::MappedBy::AwsAuth, 3)]);
}

#[test]
fn no_events_read_means_nothing_is_called_never_used() {
    let cfg = load(&["aws-auth.yaml"]);
    let inv = inventory(&cfg).with_usage(&LogUse::default());
    assert!(
        !inv.findings
            .iter()
            .any(|f| f.kind == FindingKind::NeverUsed)
    );
}

#[test]
fn the_creator_hidden_mapping_takes_its_kubernetes_admin_grants() {
    let cfg = load(&["aws-auth.yaml"]);
    let creator = "arn:aws:iam::111122223333:role/creator";
    let logs = LogUse {
        events: 5,
        principals: vec![use_of(creator, 5, "kubernetes-admin")],
        creator: vec![usage::HiddenMapping {
            arn: creator.to_owned(),
            username: "kubernetes-admin".to_owned(),
            groups: vec!["system:masters".to_owned()],
            evidence: vec!["mapping_static".to_owned()],
            granted: 5,
            ..usage::HiddenMapping::default()
        }],
        ..LogUse::default()
    };
    let inv = inventory(&cfg).with_usage(&logs);
    assert_eq!(inv.hidden_mappings.len(), 1);
    let u = inv.usage.as_ref().unwrap();
    let hidden = u.mappings.iter().find(|m| m.entry == creator).unwrap();
    assert_eq!(
        (hidden.mapped_by.clone(), hidden.granted),
        (usage::MappedBy::Hidden, 5)
    );
    assert!(u.unattributed.is_empty());
    let mut table = Vec::new();
    inv.write_table(&mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(table.contains("eks (hidden)"), "{table}");
}

#[test]
fn a_node_role_denied_in_the_logs_is_a_finding_with_the_mapping_to_add() {
    let cfg = load(&["data-block.yaml"]);
    let role = "arn:aws:iam::111122223333:role/eksctl-ng-NodeInstanceRole-1ABC";
    let logs = LogUse {
        events: 4,
        principals: vec![PrincipalUse {
            arn: role.to_owned(),
            node_role_denials: 4,
            ..PrincipalUse::default()
        }],
        ..LogUse::default()
    };
    let inv = inventory(&cfg).with_usage(&logs);
    let f = inv
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::NodeRoleNotMapped)
        .unwrap();
    assert_eq!(f.entry.as_deref(), Some(role));
    assert_eq!(f.severity, Severity::High);
    assert!(
        f.message
            .contains("--arn arn:aws:iam::111122223333:role/eksctl-ng-NodeInstanceRole-1ABC"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("system:node:{{EC2PrivateDNSName}}"),
        "{}",
        f.message
    );
}

#[test]
fn a_node_mapping_without_its_groups_or_username_is_incomplete() {
    let text = "data:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/ng-a\n      username: system:node:{{EC2PrivateDNSName}}\n      groups:\n        - system:nodes\n    - rolearn: arn:aws:iam::111122223333:role/ng-b\n      username: ng-b\n      groups:\n        - system:bootstrappers\n        - system:nodes\n    - rolearn: arn:aws:iam::111122223333:role/ng-c\n      username: system:node:{{EC2PrivateDNSName}}\n      groups:\n        - system:bootstrappers\n        - system:nodes\n";
    let mut cfg = AccessConfig::default();
    cfg.read("aws-auth.yaml", text.as_bytes()).unwrap();
    let inv = inventory(&cfg);
    let hits: Vec<(&str, &str)> = inv
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::NodeMappingIncomplete)
        .map(|f| (f.entry.as_deref().unwrap(), f.message.as_str()))
        .collect();
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert!(hits[0].0.ends_with("ng-a") && hits[0].1.contains("system:bootstrappers"));
    assert!(hits[1].0.ends_with("ng-b") && hits[1].1.contains("username"));
}

#[test]
fn ndjson_lines_carry_the_schema_and_ids_that_survive_a_line_shift() {
    let text = std::fs::read_to_string(dir().join("catalog/m01-role-path.yaml")).unwrap();
    let lines = |text: &str| -> Vec<serde_json::Value> {
        let mut cfg = AccessConfig::default();
        cfg.read("aws-auth.yaml", text.as_bytes()).unwrap();
        let mut out = Vec::new();
        inventory(&cfg).write_ndjson(&mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let before = lines(&text);
    assert!(!before.is_empty());
    for l in &before {
        assert_eq!(l["schema"], "eks-authlog.finding/v1");
        assert!(l["id"].as_str().unwrap().len() == 16);
        assert!(l["severity"].is_string() && l["kind"].is_string());
    }
    // A comment line at the top moves every line number; ids stay.
    let shifted = lines(&format!("# moved\n{text}"));
    let ids = |v: &[serde_json::Value]| -> Vec<String> {
        v.iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&before), ids(&shifted));
    assert_ne!(before[0]["line"], shifted[0]["line"]);
    let mut unique = ids(&before);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), before.len(), "ids are unique within a run");
}
