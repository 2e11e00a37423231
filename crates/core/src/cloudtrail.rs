//! CloudTrail `CreateCluster` events: the record of which IAM principal called EKS's
//! CreateCluster, the authoritative answer to "who created this cluster".
//!
//! This module owns reading one CloudTrail event (the JSON the CloudTrail User Guide,
//! "CloudTrail record contents", describes: a trail object's `Records[]` item, the
//! `CloudTrailEvent` string of `aws cloudtrail lookup-events`, or a trail's line in a
//! CloudWatch Logs group) and deciding what it says about the creator. It does not read files
//! (that is `source::cloudtrail`), call CloudTrail (that is the `aws` crate) nor weigh the
//! evidence against the other sources (that is `report::creator`).
//!
//! The creator is the principal, not the session: for `AssumedRole` it is
//! `userIdentity.sessionContext.sessionIssuer.arn` (the role, its path kept here and stripped
//! when compared), with the session name as the person behind it; otherwise `userIdentity.arn`
//! (CloudTrail User Guide, "CloudTrail userIdentity element"). `requestParameters.roleArn` is
//! the cluster's service role, which is never the creator. `CreateCluster` also exists in
//! ECS, Redshift, MSK and others, so only `eventSource` `eks.amazonaws.com` counts, and a call
//! that failed (`errorCode`) created nothing.

use serde::Serialize;
use serde_json::Value;

use crate::merge::Merge;

/// The `eventSource` of EKS API calls.
pub const EKS_SOURCE: &str = "eks.amazonaws.com";

/// The source name of events read through CloudTrail's `LookupEvents` (Event history).
pub const LOOKUP_SOURCE: &str = "cloudtrail:LookupEvents";

/// The event name looked for.
pub const CREATE_CLUSTER: &str = "CreateCluster";

/// One successful EKS `CreateCluster` call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CreateCall {
    /// `eventID`.
    pub event_id: Option<String>,
    /// `eventTime` (RFC 3339).
    pub event_time: Option<String>,
    /// Where the event was read: a file, `cloudtrail:LookupEvents`, or a log group.
    pub source: String,
    /// `userIdentity.type`: `IAMUser`, `AssumedRole`, `Root`, `FederatedUser`, …
    pub caller_type: Option<String>,
    /// `userIdentity.arn`: the session ARN for an assumed role.
    pub caller_arn: Option<String>,
    /// The creator principal: the role (`sessionIssuer.arn`) of an assumed role, else the
    /// caller's ARN.
    pub creator_arn: String,
    /// The creator's IAM unique id (`AROA…` of the role, `AIDA…` of the user), when the event
    /// names it.
    pub principal_id: Option<String>,
    /// The role session name: the person (or tool) behind an assumed role.
    pub session: Option<String>,
    /// `userIdentity.sessionContext.sourceIdentity`, when set.
    pub source_identity: Option<String>,
    /// `userIdentity.accessKeyId`.
    pub access_key_id: Option<String>,
    /// `userIdentity.invokedBy` (`cloudformation.amazonaws.com` for a stack).
    pub invoked_by: Option<String>,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// `userAgent` (`aws-cli/…`, `eksctl/…`, `Terraform/…`, CloudFormation).
    pub user_agent: Option<String>,
    /// `awsRegion`.
    pub region: Option<String>,
    /// `recipientAccountId` (else `userIdentity.accountId`).
    pub account: Option<String>,
    /// The cluster's name: `requestParameters.name` (today's request), `.clusterName` (older
    /// events), else `responseElements.cluster.name`.
    pub cluster_name: Option<String>,
    /// `responseElements.cluster.arn`.
    pub cluster_arn: Option<String>,
    /// `requestParameters.roleArn`: the cluster's service role (never the creator).
    pub service_role: Option<String>,
    /// `requestParameters.accessConfig.bootstrapClusterCreatorAdminPermissions`.
    pub bootstrap: Option<bool>,
    /// `requestParameters.accessConfig.authenticationMode`.
    pub authentication_mode: Option<String>,
}

impl CreateCall {
    /// Whether the call came through a CloudFormation stack (`invokedBy`, or the user agent
    /// CloudFormation sends).
    pub fn via_cloudformation(&self) -> bool {
        let cfn = |s: &Option<String>| {
            s.as_deref()
                .is_some_and(|s| s.contains("cloudformation.amazonaws.com"))
        };
        cfn(&self.invoked_by) || cfn(&self.user_agent)
    }

    /// Epoch milliseconds of `eventTime`.
    pub fn time_ms(&self) -> Option<i64> {
        self.event_time
            .as_deref()
            .and_then(crate::time::parse_timestamp_ms)
    }
}

/// What one CloudTrail record is, for the creator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A successful EKS CreateCluster.
    CreateCluster(Box<CreateCall>),
    /// Any other event, or one the creator must not come from.
    Ignored(Ignored),
}

/// Why a CloudTrail record is not creator evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ignored {
    /// Another event name.
    OtherEvent,
    /// `CreateCluster` of another service (ECS, Redshift, MSK, …).
    OtherService,
    /// A CreateCluster that failed (`errorCode`): it created nothing.
    Failed,
    /// A CreateCluster whose `userIdentity` names no principal.
    NoIdentity,
}

/// Counts of CloudTrail records read, by what became of them: `records == create_cluster +
/// other_event + other_service + failed + no_identity`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// CloudTrail records read.
    pub records: u64,
    /// Successful EKS CreateCluster calls.
    pub create_cluster: u64,
    /// Other events.
    pub other_event: u64,
    /// CreateCluster of another service (ECS and others).
    pub other_service: u64,
    /// Failed CreateCluster calls.
    pub failed: u64,
    /// CreateCluster events with no principal in `userIdentity`.
    pub no_identity: u64,
}

impl Counts {
    /// Counts one record.
    pub fn add(&mut self, r: &Record) {
        self.records += 1;
        match r {
            Record::CreateCluster(_) => self.create_cluster += 1,
            Record::Ignored(Ignored::OtherEvent) => self.other_event += 1,
            Record::Ignored(Ignored::OtherService) => self.other_service += 1,
            Record::Ignored(Ignored::Failed) => self.failed += 1,
            Record::Ignored(Ignored::NoIdentity) => self.no_identity += 1,
        }
    }
}

impl Merge for Counts {
    fn merge(&mut self, later: Counts) {
        let Counts {
            records,
            create_cluster,
            other_event,
            other_service,
            failed,
            no_identity,
        } = later;
        self.records.merge(records);
        self.create_cluster.merge(create_cluster);
        self.other_event.merge(other_event);
        self.other_service.merge(other_service);
        self.failed.merge(failed);
        self.no_identity.merge(no_identity);
    }
}

/// Whether a message may be a CloudTrail event: a JSON object that names `eventVersion`
/// within its first bytes (every CloudTrail record has it; no audit event or authenticator
/// line does). Checked only for messages that start with `{`.
pub fn may_be_cloudtrail(text: &[u8]) -> bool {
    text.first() == Some(&b'{') && crate::bytes::find(text, b"\"eventVersion\"").is_some()
}

/// Reads a message as a CloudTrail event: `None` when it is not one (not JSON, or JSON
/// without `eventName` and `eventSource`), else what it says about the creator.
pub fn parse(text: &[u8], source: &str) -> Option<Record> {
    if !may_be_cloudtrail(text) {
        return None;
    }
    let v: Value = serde_json::from_slice(text).ok()?;
    classify(&v, source)
}

/// What a parsed CloudTrail event says about the creator; `None` when `v` is not a
/// CloudTrail event.
pub fn classify(v: &Value, source: &str) -> Option<Record> {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let name = v.get("eventName")?.as_str()?;
    let event_source = v.get("eventSource")?.as_str()?;
    if name != CREATE_CLUSTER {
        return Some(Record::Ignored(Ignored::OtherEvent));
    }
    if event_source != EKS_SOURCE {
        return Some(Record::Ignored(Ignored::OtherService));
    }
    if v.get("errorCode").is_some_and(|c| !c.is_null()) {
        return Some(Record::Ignored(Ignored::Failed));
    }
    let who = v.get("userIdentity").unwrap_or(&Value::Null);
    let caller_type = s(who, "type");
    let caller_arn = s(who, "arn");
    let issuer = &who["sessionContext"]["sessionIssuer"];
    let assumed = caller_type.as_deref() == Some("AssumedRole");
    let (creator_arn, principal_id) = if assumed {
        (s(issuer, "arn"), s(issuer, "principalId"))
    } else {
        (caller_arn.clone(), s(who, "principalId"))
    };
    let Some(creator_arn) = creator_arn.or_else(|| caller_arn.clone()) else {
        return Some(Record::Ignored(Ignored::NoIdentity));
    };
    // Only IAM unique ids: an IAM user's `principalId` is its `AIDA…` id, an assumed role's
    // `AROA…:<session>` (the issuer's is the bare `AROA…`).
    let principal_id = principal_id
        .map(|p| p.split(':').next().unwrap_or_default().to_owned())
        .filter(|p| p.starts_with("AROA") || p.starts_with("AIDA"));
    let session = if assumed {
        caller_arn
            .as_deref()
            .and_then(|a| a.rsplit_once('/'))
            .map(|(_, s)| s.to_owned())
    } else {
        None
    };
    let req = &v["requestParameters"];
    let cluster = &v["responseElements"]["cluster"];
    let access = &req["accessConfig"];
    Some(Record::CreateCluster(Box::new(CreateCall {
        event_id: s(v, "eventID"),
        event_time: s(v, "eventTime"),
        source: source.to_owned(),
        caller_type,
        creator_arn,
        principal_id,
        session,
        source_identity: s(&who["sessionContext"], "sourceIdentity"),
        access_key_id: s(who, "accessKeyId"),
        invoked_by: s(who, "invokedBy"),
        source_ip: s(v, "sourceIPAddress"),
        user_agent: s(v, "userAgent"),
        region: s(v, "awsRegion"),
        account: s(v, "recipientAccountId").or_else(|| s(who, "accountId")),
        cluster_name: s(req, "name")
            .or_else(|| s(req, "clusterName"))
            .or_else(|| s(cluster, "name")),
        cluster_arn: s(cluster, "arn"),
        service_role: s(req, "roleArn"),
        bootstrap: access
            .get("bootstrapClusterCreatorAdminPermissions")
            .and_then(Value::as_bool),
        authentication_mode: s(access, "authenticationMode"),
        caller_arn,
    })))
}

#[cfg(test)]
mod tests;
