//! The cluster's access configuration, read live from the EKS API: `DescribeCluster`
//! (authentication mode, `bootstrapClusterCreatorAdminPermissions`, `createdAt`, `roleArn`,
//! the Kubernetes endpoint), `ListAccessEntries` (paginated), and per entry
//! `DescribeAccessEntry` and `ListAssociatedAccessPolicies` (paginated), at most
//! [`MAX_IN_FLIGHT`] entries at a time.
//!
//! The answers become the JSON documents `aws eks …` prints for the same calls (EKS API
//! reference, API version 2017-11-01), which the core reads exactly like files
//! ([`AccessConfig::read_json`]): one reading path, so merging files and live answers and the
//! meaning of every field are defined once. The cost is a few small JSON values per entry.
//!
//! An `AccessDeniedException` on any call leaves that part unread and names the IAM action
//! ([`Unread`]); the read goes on. Throttling is retried by the SDK's standard retry mode;
//! every call is bounded by the [`ClientOptions`] timeouts, as CloudWatch calls are.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use aws_sdk_eks::Client;
use aws_sdk_eks::config::http::HttpResponse;
use aws_sdk_eks::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_eks::primitives::{DateTime, DateTimeFormat};
use serde_json::{Map, Value, json};

use eks_authlog_core::access::{AccessConfig, EksApiCalls, Live, Mode, Part, Unread};

use crate::cloudwatch::ClientOptions;
use crate::cloudwatch::error::innermost;

/// Access entries read at once (each is one DescribeAccessEntry, then its policy pages). EKS
/// documents no rate limit for these reads; 4 keeps a large cluster quick without bursts.
pub const MAX_IN_FLIGHT: usize = 4;

/// What stops a live read: nothing can be read at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The async runtime could not be started.
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// No region from `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile.
    #[error(
        "no AWS region configured for the EKS API: pass --region, set AWS_REGION, or set \
         `region` in the profile"
    )]
    NoRegion,
    /// The credential chain found nothing usable (or took too long).
    #[error("no usable AWS credentials for the EKS API: {detail}")]
    NoCredentials {
        /// The chain's own report. Never contains secrets.
        detail: String,
    },
    /// DescribeCluster (or ListAccessEntries) said there is no such cluster.
    #[error(
        "EKS cluster {cluster} not found in {region} (aws eks list-clusters --region {region} \
         lists the names)"
    )]
    ClusterNotFound {
        /// The name asked for.
        cluster: String,
        /// The region asked.
        region: String,
    },
    /// DescribeCluster failed for another reason than a denial: the endpoint is unreachable,
    /// answered 5xx, or still throttled after the SDK's retries.
    #[error("EKS {op} for {cluster} failed ({endpoint}): {cause}")]
    Call {
        /// The operation.
        op: &'static str,
        /// The cluster.
        cluster: String,
        /// The endpoint override, else "EKS in REGION".
        endpoint: String,
        /// What failed, in words.
        cause: String,
    },
}

/// An EKS client for one region.
#[derive(Clone, Debug)]
pub struct Eks {
    client: Client,
    region: String,
    endpoint: String,
}

/// What a live read got: the documents for [`AccessConfig`], what it did and missed.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// AWS-CLI-shaped documents with their source names (`eks:DescribeCluster`, …).
    pub docs: Vec<(&'static str, Value)>,
    /// Calls made and parts unread.
    pub live: Live,
    /// The cluster's Kubernetes API server URL, when DescribeCluster answered (to pick the
    /// kubeconfig context that talks to this cluster).
    pub endpoint: Option<String>,
    /// The authentication mode, when DescribeCluster answered.
    pub mode: Option<Mode>,
}

impl Snapshot {
    /// Merges the documents into `cfg` through the same path as files, and records the read.
    pub fn apply(self, cfg: &mut AccessConfig) {
        for (source, doc) in &self.docs {
            cfg.read_json(source, doc);
        }
        cfg.live = Some(self.live);
    }
}

/// A call that failed, as far as a read is concerned.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    /// `AccessDenied…` (or HTTP 403).
    pub denied: bool,
    /// `ResourceNotFoundException`.
    pub not_found: bool,
    /// The service's error code, empty when there is none.
    pub code: String,
    /// The service's message, or what failed.
    pub reason: String,
}

/// What failed in a call of any of this crate's SDK clients (their errors share the
/// runtime's types).
pub(crate) fn failure<E>(err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().unwrap_or_default();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let denied = code.starts_with("AccessDenied") || status == Some(403);
    let reason = match err {
        SdkError::TimeoutError(_) => "no answer in time".to_owned(),
        SdkError::DispatchFailure(_) => innermost(err),
        _ => match (err.code(), err.message()) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.to_owned(),
            (None, Some(m)) => m.to_owned(),
            (None, None) => match status {
                Some(s) => format!("HTTP {s}"),
                None => DisplayErrorContext(err).to_string(),
            },
        },
    };
    Failure {
        denied,
        not_found: code == "ResourceNotFoundException",
        code: code.to_owned(),
        reason,
    }
}

/// Per-operation call counters, shared by the entry workers.
#[derive(Debug, Default)]
struct Counters {
    describe_cluster: AtomicU64,
    list_access_entries: AtomicU64,
    describe_access_entry: AtomicU64,
    list_associated_access_policies: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> EksApiCalls {
        EksApiCalls {
            describe_cluster: self.describe_cluster.load(Ordering::Relaxed),
            list_access_entries: self.list_access_entries.load(Ordering::Relaxed),
            describe_access_entry: self.describe_access_entry.load(Ordering::Relaxed),
            list_associated_access_policies: self
                .list_associated_access_policies
                .load(Ordering::Relaxed),
        }
    }
}

/// What was read about one entry.
struct EntryRead {
    describe: Result<Value, Failure>,
    /// `None` when not asked (the describe said the entry is gone).
    policies: Option<Result<Value, Failure>>,
}

impl Eks {
    /// Builds the client from the default chain plus `opts` (region, profile, timeouts), and
    /// fails fast when there is no region or no credentials. `AWS_ENDPOINT_URL_EKS` (or
    /// `AWS_ENDPOINT_URL`) points it elsewhere, as for any SDK client.
    pub async fn connect(opts: &ClientOptions) -> Result<Eks, Error> {
        let conf = config(opts).await?;
        let region = conf.region().map(ToString::to_string).unwrap_or_default();
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let endpoint = env("AWS_ENDPOINT_URL_EKS")
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("EKS in {region}"));
        Ok(Eks {
            client: Client::new(&conf),
            region,
            endpoint,
        })
    }

    /// Wraps an existing client (tests with `aws-smithy-mocks`). No credential check.
    pub fn from_client(client: Client) -> Result<Eks, Error> {
        let region = client.config().region().ok_or(Error::NoRegion)?.to_string();
        Ok(Eks {
            endpoint: format!("EKS in {region}"),
            client,
            region,
        })
    }

    /// The region called.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Reads the access configuration of `cluster`. Denied calls become [`Unread`] parts;
    /// only a missing cluster or a DescribeCluster that cannot be answered at all (endpoint
    /// unreachable, 5xx, throttled through every retry) is an error.
    pub async fn read(&self, cluster: &str) -> Result<Snapshot, Error> {
        let counters = Arc::new(Counters::default());
        let mut docs = Vec::new();
        let mut unread = Vec::new();
        let mut snapshot_endpoint = None;
        let mut mode = None;

        counters.describe_cluster.fetch_add(1, Ordering::Relaxed);
        match self.client.describe_cluster().name(cluster).send().await {
            Ok(out) => {
                if let Some(c) = out.cluster() {
                    snapshot_endpoint = c.endpoint().map(str::to_owned);
                    mode = c
                        .access_config()
                        .and_then(|a| a.authentication_mode())
                        .and_then(|m| serde_json::from_value(json!(m.as_str())).ok());
                    docs.push(("eks:DescribeCluster", cluster_doc(c)));
                }
            }
            Err(e) => {
                let f = failure(&e);
                if f.not_found {
                    return Err(self.not_found(cluster));
                }
                if !f.denied {
                    return Err(Error::Call {
                        op: "DescribeCluster",
                        cluster: cluster.to_owned(),
                        endpoint: self.endpoint.clone(),
                        cause: f.reason,
                    });
                }
                unread.push(denied(Part::Cluster, "eks:DescribeCluster", vec![], f));
            }
        }

        // A CONFIG_MAP cluster ignores access entries, and the calls may be refused there
        // (eksctl checks the mode first: `pkg/ctl/get/access_entry.go`).
        if mode != Some(Mode::ConfigMap) {
            match self.list_entries(cluster, &counters).await {
                Ok(arns) => {
                    docs.push(("eks:ListAccessEntries", json!({ "accessEntries": arns })));
                    let reads = self.read_entries(cluster, &arns, &counters).await;
                    collect_entries(&arns, reads, &mut docs, &mut unread);
                }
                Err(f) if f.not_found => return Err(self.not_found(cluster)),
                Err(f) if f.denied => {
                    unread.push(denied(
                        Part::AccessEntries,
                        "eks:ListAccessEntries",
                        vec![],
                        f,
                    ));
                }
                Err(f) => unread.push(Unread {
                    part: Part::AccessEntries,
                    action: None,
                    principals: vec![],
                    reason: f.reason,
                }),
            }
        }
        Ok(Snapshot {
            docs,
            live: Live {
                cluster: cluster.to_owned(),
                region: self.region.clone(),
                api_calls: counters.snapshot(),
                aws_auth_via: None,
                unread,
            },
            endpoint: snapshot_endpoint,
            mode,
        })
    }

    fn not_found(&self, cluster: &str) -> Error {
        Error::ClusterNotFound {
            cluster: cluster.to_owned(),
            region: self.region.clone(),
        }
    }

    /// Every page of ListAccessEntries.
    async fn list_entries(
        &self,
        cluster: &str,
        counters: &Counters,
    ) -> Result<Vec<String>, Failure> {
        let mut pages = self
            .client
            .list_access_entries()
            .cluster_name(cluster)
            .into_paginator()
            .send();
        let mut arns = Vec::new();
        loop {
            counters.list_access_entries.fetch_add(1, Ordering::Relaxed);
            match pages.next().await {
                None => {
                    // The paginator makes no call once the last page said no nextToken.
                    counters.list_access_entries.fetch_sub(1, Ordering::Relaxed);
                    return Ok(arns);
                }
                Some(Ok(page)) => arns.extend(page.access_entries().iter().cloned()),
                Some(Err(e)) => return Err(failure(&e)),
            }
        }
    }

    /// DescribeAccessEntry and ListAssociatedAccessPolicies for every ARN, [`MAX_IN_FLIGHT`]
    /// entries at a time. Results are in `arns` order.
    async fn read_entries(
        &self,
        cluster: &str,
        arns: &[String],
        counters: &Arc<Counters>,
    ) -> Vec<EntryRead> {
        let arns: Arc<Vec<String>> = Arc::new(arns.to_vec());
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for _ in 0..MAX_IN_FLIGHT.min(arns.len()) {
            let (client, cluster, arns, next, counters) = (
                self.client.clone(),
                cluster.to_owned(),
                arns.clone(),
                next.clone(),
                counters.clone(),
            );
            workers.push(tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(arn) = arns.get(i) else {
                        return done;
                    };
                    done.push((i, read_entry(&client, &cluster, arn, &counters).await));
                }
            }));
        }
        let mut all: Vec<Option<EntryRead>> = (0..arns.len()).map(|_| None).collect();
        for w in workers {
            // A worker only panics if the SDK does; its entries are then reported unread.
            if let Ok(done) = w.await {
                for (i, r) in done {
                    all[i] = Some(r);
                }
            }
        }
        all.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| EntryRead {
                    describe: Err(Failure {
                        denied: false,
                        not_found: false,
                        code: String::new(),
                        reason: "the read of this entry stopped unexpectedly".into(),
                    }),
                    policies: None,
                })
            })
            .collect()
    }
}

async fn read_entry(client: &Client, cluster: &str, arn: &str, counters: &Counters) -> EntryRead {
    counters
        .describe_access_entry
        .fetch_add(1, Ordering::Relaxed);
    let describe = match client
        .describe_access_entry()
        .cluster_name(cluster)
        .principal_arn(arn)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .access_entry()
            .map(|e| entry_doc(e, arn))
            .unwrap_or_else(|| json!({ "accessEntry": { "principalArn": arn } }))),
        Err(e) => Err(failure(&e)),
    };
    // An entry deleted since the list has no policies to list.
    if matches!(&describe, Err(f) if f.not_found) {
        return EntryRead {
            describe,
            policies: None,
        };
    }
    let mut pages = client
        .list_associated_access_policies()
        .cluster_name(cluster)
        .principal_arn(arn)
        .into_paginator()
        .send();
    let mut policies = Vec::new();
    let policies = loop {
        counters
            .list_associated_access_policies
            .fetch_add(1, Ordering::Relaxed);
        match pages.next().await {
            None => {
                counters
                    .list_associated_access_policies
                    .fetch_sub(1, Ordering::Relaxed);
                break Ok(json!({
                    "clusterName": cluster,
                    "principalArn": arn,
                    "associatedAccessPolicies": policies,
                }));
            }
            Some(Ok(page)) => {
                policies.extend(page.associated_access_policies().iter().map(policy_doc))
            }
            Some(Err(e)) => break Err(failure(&e)),
        }
    };
    EntryRead {
        describe,
        policies: Some(policies),
    }
}

/// Adds what was read per entry to `docs`, and one [`Unread`] per part, action and kind of
/// failure (a denied action is usually denied for every entry: one line, not one per entry).
fn collect_entries(
    arns: &[String],
    reads: Vec<EntryRead>,
    docs: &mut Vec<(&'static str, Value)>,
    unread: &mut Vec<Unread>,
) {
    let mut missing: Vec<Unread> = Vec::new();
    let mut note = |part: Part, action: &'static str, arn: &str, f: Failure| {
        let action = f.denied.then(|| action.to_owned());
        match missing
            .iter_mut()
            .find(|u| u.part == part && u.action == action)
        {
            Some(u) => u.principals.push(arn.to_owned()),
            None => missing.push(Unread {
                part,
                action,
                principals: vec![arn.to_owned()],
                reason: f.reason,
            }),
        }
    };
    for (arn, r) in arns.iter().zip(reads) {
        match r.describe {
            Ok(doc) => docs.push(("eks:DescribeAccessEntry", doc)),
            Err(f) => note(Part::AccessEntry, "eks:DescribeAccessEntry", arn, f),
        }
        match r.policies {
            Some(Ok(doc)) => docs.push(("eks:ListAssociatedAccessPolicies", doc)),
            Some(Err(f)) => note(
                Part::AccessPolicies,
                "eks:ListAssociatedAccessPolicies",
                arn,
                f,
            ),
            None => {}
        }
    }
    unread.extend(missing);
}

fn denied(part: Part, action: &str, principals: Vec<String>, f: Failure) -> Unread {
    Unread {
        part,
        action: Some(action.to_owned()),
        principals,
        reason: f.reason,
    }
}

/// The AWS CLI prints times as ISO 8601; `DateTime` writes RFC 3339.
fn time(t: Option<&DateTime>) -> Value {
    t.and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
        .map_or(Value::Null, Value::String)
}

fn opt(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

/// `aws eks describe-cluster` JSON, the fields the core reads.
fn cluster_doc(c: &aws_sdk_eks::types::Cluster) -> Value {
    let mut access = Map::new();
    if let Some(a) = c.access_config() {
        if let Some(m) = a.authentication_mode() {
            access.insert("authenticationMode".into(), json!(m.as_str()));
        }
        if let Some(b) = a.bootstrap_cluster_creator_admin_permissions() {
            access.insert("bootstrapClusterCreatorAdminPermissions".into(), json!(b));
        }
    }
    json!({ "cluster": {
        "name": opt(c.name()),
        "arn": opt(c.arn()),
        "createdAt": time(c.created_at()),
        "roleArn": opt(c.role_arn()),
        "endpoint": opt(c.endpoint()),
        "accessConfig": access,
    }})
}

/// `aws eks describe-access-entry` JSON.
fn entry_doc(e: &aws_sdk_eks::types::AccessEntry, asked: &str) -> Value {
    json!({ "accessEntry": {
        "clusterName": opt(e.cluster_name()),
        "principalArn": e.principal_arn().unwrap_or(asked),
        "kubernetesGroups": e.kubernetes_groups(),
        "accessEntryArn": opt(e.access_entry_arn()),
        "createdAt": time(e.created_at()),
        "modifiedAt": time(e.modified_at()),
        "username": opt(e.username()),
        "type": opt(e.r#type()),
    }})
}

/// One `associatedAccessPolicies[]` item of `aws eks list-associated-access-policies`.
fn policy_doc(p: &aws_sdk_eks::types::AssociatedAccessPolicy) -> Value {
    let scope = p.access_scope();
    // Strings, never null: the core reads the list as a whole, typed.
    json!({
        "policyArn": p.policy_arn().unwrap_or_default(),
        "accessScope": {
            "type": scope.and_then(|s| s.r#type()).map_or("", |t| t.as_str()),
            "namespaces": scope.map(|s| s.namespaces()).unwrap_or_default(),
        },
        "associatedAt": time(p.associated_at()),
    })
}

/// The SDK configuration for the EKS, CloudTrail and IAM clients: the default chain plus
/// `opts`, with a region and credentials checked.
pub async fn config(opts: &ClientOptions) -> Result<aws_config::SdkConfig, Error> {
    crate::sdk::load(crate::sdk::loader(opts), opts)
        .await
        .map(|(conf, _)| conf)
        .map_err(|e| match e {
            crate::sdk::LoadError::NoRegion => Error::NoRegion,
            crate::sdk::LoadError::NoCredentials(detail) => Error::NoCredentials { detail },
        })
}

/// The SDK's runtime for one blocking read (the binary is synchronous), with this module's
/// error (the CloudTrail and IAM reads use it too).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    crate::sdk::runtime().map_err(Error::Runtime)
}

/// Reads `cluster` on a runtime of its own (the binary is synchronous).
pub fn read_blocking(cluster: &str, opts: &ClientOptions) -> Result<Snapshot, Error> {
    runtime()?.block_on(async {
        let eks = Eks::connect(opts).await?;
        eks.read(cluster).await
    })
}
