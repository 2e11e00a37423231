//! Whether IAM principals still exist: `GetRole` / `GetUser` for a list of ARNs, at most
//! [`MAX_IN_FLIGHT`] at a time, throttling retried (the `retry` module). Returns plain facts
//! ([`IamCheck`]); what they mean (exists, re-created, gone) is the core's to decide
//! (`eks_authlog_core::access::iam::judge`).
//!
//! IAM API Reference: `GetRole` (`RoleName`; answers `Role {Arn, RoleId, CreateDate}`),
//! `GetUser` (`UserName`; `User {Arn, UserId, CreateDate}`), error `NoSuchEntity` when there
//! is none. A role or user ARN's name is its last path segment.

use aws_sdk_iam::Client;
use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};

use eks_authlog_core::access::iam::lookup_of;
use eks_authlog_core::access::{IamCheck, IamKind, IamOutcome};

use crate::cloudwatch::ClientOptions;
use crate::eks::{Error, failure};

/// Principals looked up at once.
pub const MAX_IN_FLIGHT: usize = 4;

/// An IAM client.
#[derive(Clone, Debug)]
pub struct Iam {
    client: Client,
}

/// What a lookup did: the answers in the order asked, and the calls made.
#[derive(Clone, Debug)]
pub struct Checked {
    /// One per ARN asked.
    pub checks: Vec<IamCheck>,
    /// GetRole and GetUser calls, retries included.
    pub api_calls: u64,
}

impl Iam {
    /// Builds the client from the default chain plus `opts`; `AWS_ENDPOINT_URL_IAM` points
    /// it elsewhere.
    pub async fn connect(opts: &ClientOptions) -> Result<Iam, Error> {
        let conf = crate::eks::config(opts).await?;
        Ok(Iam {
            client: Client::new(&conf),
        })
    }

    /// Wraps an existing client (tests).
    pub fn from_client(client: Client) -> Iam {
        Iam { client }
    }

    /// Looks up every ARN. Never fails as a whole: each ARN gets its own outcome.
    pub async fn check(&self, arns: &[String]) -> Checked {
        let mut checks = Vec::with_capacity(arns.len());
        let mut api_calls = 0;
        for chunk in arns.chunks(MAX_IN_FLIGHT) {
            let tasks: Vec<_> = chunk
                .iter()
                .map(|arn| {
                    let (client, arn) = (self.client.clone(), arn.clone());
                    tokio::spawn(async move {
                        let mut calls = 0;
                        let outcome = check_one(&client, &arn, &mut calls).await;
                        (IamCheck { arn, outcome }, calls)
                    })
                })
                .collect();
            for (task, arn) in tasks.into_iter().zip(chunk) {
                match task.await {
                    Ok((check, calls)) => {
                        checks.push(check);
                        api_calls += calls;
                    }
                    // Only if the SDK panics: that principal stays unknown.
                    Err(e) => checks.push(IamCheck {
                        arn: arn.clone(),
                        outcome: IamOutcome::Failed {
                            reason: format!("the lookup stopped unexpectedly ({e})"),
                        },
                    }),
                }
            }
        }
        Checked { checks, api_calls }
    }
}

fn exists(arn: &str, unique_id: &str, created: &DateTime) -> IamOutcome {
    IamOutcome::Exists {
        arn: arn.to_owned(),
        unique_id: unique_id.to_owned(),
        created: created.fmt(DateTimeFormat::DateTime).ok(),
    }
}

async fn check_one(client: &Client, arn: &str, calls: &mut u64) -> IamOutcome {
    let Some((kind, name)) = lookup_of(arn) else {
        return IamOutcome::NotAsked {
            reason: format!("{arn} is no IAM role or user: IAM was not asked"),
        };
    };
    let found = match kind {
        IamKind::Role => {
            crate::retry::throttled(calls, || client.get_role().role_name(&name).send())
                .await
                .map(|o| {
                    o.role()
                        .map(|r| exists(r.arn(), r.role_id(), r.create_date()))
                })
                .map_err(|e| failure(&e))
        }
        IamKind::User => {
            crate::retry::throttled(calls, || client.get_user().user_name(&name).send())
                .await
                .map(|o| {
                    o.user()
                        .map(|u| exists(u.arn(), u.user_id(), u.create_date()))
                })
                .map_err(|e| failure(&e))
        }
    };
    match found {
        Ok(Some(o)) => o,
        Ok(None) => IamOutcome::Failed {
            reason: "IAM answered without the principal".to_owned(),
        },
        Err(f) if f.code == "NoSuchEntity" => IamOutcome::NotFound,
        Err(f) if f.denied => IamOutcome::Denied {
            action: kind.action().to_owned(),
            message: f.reason,
        },
        Err(f) => IamOutcome::Failed { reason: f.reason },
    }
}

/// Looks up `arns` on a runtime of its own (the binary is synchronous).
pub fn check_blocking(arns: &[String], opts: &ClientOptions) -> Result<Checked, Error> {
    crate::eks::runtime()?.block_on(async {
        let iam = Iam::connect(opts).await?;
        Ok(iam.check(arns).await)
    })
}
