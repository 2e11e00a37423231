//! CloudTrail Event history: the EKS `CreateCluster` calls of a time range, through
//! `LookupEvents` (CloudTrail API Reference: management events of the last 90 days, per
//! region; one lookup attribute per request; at most 50 events a page; "two per second, per
//! account, per Region").
//!
//! One attribute, `EventName = CreateCluster`, every page (`NextToken`), the pages at least
//! [`PAGE_INTERVAL`] apart and throttling retried (the `retry` module). ECS, Redshift and MSK
//! have a CreateCluster too: only events whose `EventSource` is `eks.amazonaws.com` are kept,
//! the others counted. Each kept event is its `CloudTrailEvent` JSON, which the core reads
//! like a trail's record (`eks_authlog_core::cloudtrail`).

use std::time::Duration;

use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};

use eks_authlog_core::cloudtrail::{CREATE_CLUSTER, EKS_SOURCE};

use crate::cloudwatch::ClientOptions;
use crate::eks::{Error, failure};

/// How far back Event history goes.
pub const HISTORY: Duration = Duration::from_secs(90 * 24 * 3600);

/// The least time between two LookupEvents calls (the documented rate is two a second).
pub const PAGE_INTERVAL: Duration = Duration::from_millis(500);

/// Pages read at most (50 events each): CreateCluster calls are rare; a range holding more
/// is cut, and said so.
pub const MAX_PAGES: u64 = 40;

/// What a lookup found.
#[derive(Clone, Debug, Default)]
pub struct Lookup {
    /// The `CloudTrailEvent` JSON of each EKS CreateCluster event, newest first.
    pub events: Vec<String>,
    /// CreateCluster events of other services, left out.
    pub other_source: u64,
    /// LookupEvents calls made, retries included.
    pub api_calls: u64,
    /// Whether [`MAX_PAGES`] stopped the read before the last page.
    pub truncated: bool,
}

/// Why a lookup got nothing.
#[derive(Clone, Debug)]
pub struct LookupError {
    /// The IAM action to grant, when the call was denied.
    pub denied_action: Option<&'static str>,
    /// What failed.
    pub reason: String,
    /// Calls made before it failed.
    pub api_calls: u64,
}

/// A CloudTrail client for one region.
#[derive(Clone, Debug)]
pub struct CloudTrail {
    client: Client,
}

impl CloudTrail {
    /// Builds the client from the default chain plus `opts`; `AWS_ENDPOINT_URL_CLOUDTRAIL`
    /// points it elsewhere.
    pub async fn connect(opts: &ClientOptions) -> Result<CloudTrail, Error> {
        let conf = crate::eks::config(opts).await?;
        Ok(CloudTrail {
            client: Client::new(&conf),
        })
    }

    /// Wraps an existing client (tests).
    pub fn from_client(client: Client) -> CloudTrail {
        CloudTrail { client }
    }

    /// The EKS CreateCluster events between `start_ms` and `end_ms` (epoch ms).
    pub async fn create_cluster(&self, start_ms: i64, end_ms: i64) -> Result<Lookup, LookupError> {
        let attr = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::EventName)
            .attribute_value(CREATE_CLUSTER)
            .build()
            .map_err(|e| LookupError {
                denied_action: None,
                reason: e.to_string(),
                api_calls: 0,
            })?;
        let mut out = Lookup::default();
        let mut token: Option<String> = None;
        for page in 0..MAX_PAGES {
            if page > 0 {
                tokio::time::sleep(PAGE_INTERVAL).await;
            }
            let answer = crate::retry::throttled(&mut out.api_calls, || {
                self.client
                    .lookup_events()
                    .lookup_attributes(attr.clone())
                    .start_time(DateTime::from_millis(start_ms))
                    .end_time(DateTime::from_millis(end_ms))
                    .max_results(50)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| {
                let f = failure(&e);
                LookupError {
                    denied_action: f.denied.then_some("cloudtrail:LookupEvents"),
                    reason: f.reason,
                    api_calls: out.api_calls,
                }
            })?;
            for ev in answer.events() {
                match (ev.event_source(), ev.cloud_trail_event()) {
                    (Some(EKS_SOURCE), Some(json)) => out.events.push(json.to_owned()),
                    _ => out.other_source += 1,
                }
            }
            token = answer.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
        out.truncated = true;
        Ok(out)
    }
}

/// Looks up the EKS CreateCluster events between `start_ms` and `end_ms` on a runtime of its
/// own (the binary is synchronous). The outer error is a client that could not be built.
pub fn create_cluster_blocking(
    start_ms: i64,
    end_ms: i64,
    opts: &ClientOptions,
) -> Result<Result<Lookup, LookupError>, Error> {
    crate::eks::runtime()?.block_on(async {
        let ct = CloudTrail::connect(opts).await?;
        Ok(ct.create_cluster(start_ms, end_ms).await)
    })
}
