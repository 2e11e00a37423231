//! EKS access entries and the cluster's access configuration, from the AWS CLI's JSON.
//!
//! This module owns reading what `aws eks list-access-entries`, `aws eks
//! describe-access-entry`, `aws eks list-associated-access-policies` and `aws eks
//! describe-cluster` print (EKS API reference, API version 2017-11-01: `ListAccessEntries`,
//! `DescribeAccessEntry`, `ListAssociatedAccessPolicies`, `DescribeCluster`), several files
//! merged into one [`AccessEntries`]. It does not call the API (the `aws` crate will) and does
//! not decide what an entry means for a login (that is `diagnose`).

use serde::{Deserialize, Serialize};

/// `accessConfig.authenticationMode` (EKS User Guide, "Change authentication mode to use
/// access entries"): which sources the authenticator consults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    /// Only the aws-auth ConfigMap (and the creator's hidden mapping).
    ConfigMap,
    /// Access entries first, then aws-auth.
    ApiAndConfigMap,
    /// Only access entries.
    Api,
}

impl Mode {
    /// The API's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::ConfigMap => "CONFIG_MAP",
            Mode::ApiAndConfigMap => "API_AND_CONFIG_MAP",
            Mode::Api => "API",
        }
    }

    /// Whether the authenticator reads aws-auth in this mode.
    pub const fn reads_aws_auth(self) -> bool {
        !matches!(self, Mode::Api)
    }

    /// Whether it reads access entries.
    pub const fn reads_access_entries(self) -> bool {
        !matches!(self, Mode::ConfigMap)
    }
}

/// The parts of `describe-cluster` that matter for access.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClusterInfo {
    /// `cluster.name`.
    pub name: Option<String>,
    /// The region, from `cluster.arn`.
    pub region: Option<String>,
    /// `cluster.accessConfig.authenticationMode`; `None` when absent or unknown.
    pub mode: Option<Mode>,
    /// `cluster.accessConfig.bootstrapClusterCreatorAdminPermissions`.
    pub bootstrap_creator_admin: Option<bool>,
    /// `cluster.createdAt` as printed.
    pub created_at: Option<String>,
    /// `cluster.roleArn`: the cluster's IAM service role (not the creator).
    pub role_arn: Option<String>,
}

/// One associated access policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociatedPolicy {
    /// `policyArn`.
    pub policy_arn: String,
    /// `accessScope`.
    #[serde(default)]
    pub access_scope: AccessScope,
    /// `associatedAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_at: Option<serde_json::Value>,
}

impl AssociatedPolicy {
    /// The policy name (`AmazonEKSClusterAdminPolicy`).
    pub fn name(&self) -> &str {
        self.policy_arn
            .rsplit('/')
            .next()
            .unwrap_or(&self.policy_arn)
    }

    /// Whether this grants cluster-admin: `AmazonEKSClusterAdminPolicy` at cluster scope
    /// (EKS User Guide, "Review access policy permissions").
    pub fn is_cluster_admin(&self) -> bool {
        self.name() == "AmazonEKSClusterAdminPolicy" && self.access_scope.kind == "cluster"
    }
}

/// `accessScope`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessScope {
    /// `cluster` or `namespace`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Namespaces for a `namespace` scope.
    #[serde(default)]
    pub namespaces: Vec<String>,
}

/// One access entry, merged from whichever files mention its principal.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AccessEntry {
    /// `principalArn`.
    pub principal_arn: String,
    /// `type` (`STANDARD`, `EC2_LINUX`, …); `None` when only listed, not described.
    pub kind: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `kubernetesGroups`.
    pub groups: Vec<String>,
    /// `createdAt` as printed.
    pub created_at: Option<String>,
    /// Associated access policies; `None` when no `list-associated-access-policies` output
    /// was given for this principal.
    pub policies: Option<Vec<AssociatedPolicy>>,
    /// The files it came from.
    pub sources: Vec<String>,
}

/// Access entries and cluster information merged from any number of files.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AccessEntries {
    /// From `describe-cluster`.
    pub cluster: ClusterInfo,
    /// The entries, in the order first seen.
    pub entries: Vec<AccessEntry>,
    /// Whether any access-entry file (as opposed to only `describe-cluster`) was read.
    pub listed: bool,
}

/// Which AWS CLI output a JSON document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntriesDoc {
    /// `list-access-entries`.
    List,
    /// `describe-access-entry`.
    Describe,
    /// `list-associated-access-policies`.
    Policies,
    /// `describe-cluster`.
    Cluster,
}

impl EntriesDoc {
    /// Recognises a document by its top-level key.
    pub fn detect(v: &serde_json::Value) -> Option<EntriesDoc> {
        let o = v.as_object()?;
        if o.get("accessEntries").is_some_and(|a| a.is_array()) {
            Some(EntriesDoc::List)
        } else if o.get("accessEntry").is_some_and(|a| a.is_object()) {
            Some(EntriesDoc::Describe)
        } else if o.contains_key("associatedAccessPolicies") {
            Some(EntriesDoc::Policies)
        } else if o.get("cluster").is_some_and(|c| c.is_object()) {
            Some(EntriesDoc::Cluster)
        } else {
            None
        }
    }
}

impl AccessEntries {
    /// Merges one document of the given kind.
    pub fn add(&mut self, source: &str, doc: EntriesDoc, v: &serde_json::Value) {
        let s =
            |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        match doc {
            EntriesDoc::List => {
                self.listed = true;
                for arn in v["accessEntries"].as_array().into_iter().flatten() {
                    if let Some(arn) = arn.as_str() {
                        self.entry(arn, source);
                    }
                }
            }
            EntriesDoc::Describe => {
                self.listed = true;
                let e = &v["accessEntry"];
                let Some(arn) = s(e, "principalArn") else {
                    return;
                };
                let groups = string_list(&e["kubernetesGroups"]);
                let entry = self.entry(&arn, source);
                entry.kind = s(e, "type").or(entry.kind.take());
                entry.username = s(e, "username").or(entry.username.take());
                entry.groups = groups;
                entry.created_at = time_text(&e["createdAt"]).or(entry.created_at.take());
                if let Some(cluster) = s(e, "clusterName") {
                    self.cluster.name.get_or_insert(cluster);
                }
            }
            EntriesDoc::Policies => {
                self.listed = true;
                let Some(arn) = s(v, "principalArn") else {
                    return;
                };
                let policies: Vec<AssociatedPolicy> =
                    serde_json::from_value(v["associatedAccessPolicies"].clone())
                        .unwrap_or_default();
                let entry = self.entry(&arn, source);
                entry.policies.get_or_insert_with(Vec::new).extend(policies);
                if let Some(cluster) = s(v, "clusterName") {
                    self.cluster.name.get_or_insert(cluster);
                }
            }
            EntriesDoc::Cluster => {
                let c = &v["cluster"];
                let ac = &c["accessConfig"];
                self.cluster.name = s(c, "name").or(self.cluster.name.take());
                self.cluster.region = s(c, "arn")
                    .and_then(|a| a.split(':').nth(3).map(str::to_owned))
                    .filter(|r| !r.is_empty())
                    .or(self.cluster.region.take());
                self.cluster.mode = ac
                    .get("authenticationMode")
                    .and_then(|m| serde_json::from_value(m.clone()).ok())
                    .or(self.cluster.mode);
                self.cluster.bootstrap_creator_admin = ac
                    .get("bootstrapClusterCreatorAdminPermissions")
                    .and_then(|b| b.as_bool())
                    .or(self.cluster.bootstrap_creator_admin);
                self.cluster.created_at =
                    time_text(&c["createdAt"]).or(self.cluster.created_at.take());
                self.cluster.role_arn = s(c, "roleArn").or(self.cluster.role_arn.take());
            }
        }
    }

    fn entry(&mut self, arn: &str, source: &str) -> &mut AccessEntry {
        let i = match self.entries.iter().position(|e| e.principal_arn == arn) {
            Some(i) => i,
            None => {
                self.entries.push(AccessEntry {
                    principal_arn: arn.to_owned(),
                    ..AccessEntry::default()
                });
                self.entries.len() - 1
            }
        };
        let e = &mut self.entries[i];
        if !e.sources.iter().any(|s| s == source) {
            e.sources.push(source.to_owned());
        }
        e
    }
}

fn string_list(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_owned))
        .collect()
}

/// The AWS CLI prints ISO 8601 strings; the wire (and some tools) give epoch seconds.
fn time_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
