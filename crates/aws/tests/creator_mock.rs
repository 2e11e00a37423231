//! CloudTrail's LookupEvents and IAM's GetRole/GetUser against canned SDK responses
//! (`aws-smithy-mocks`): moto 5.2.5 answers LookupEvents with HTTP 500 (not implemented), so
//! these rules are how the lookup is tested: every page, the ECS look-alike left out,
//! throttling retried with backoff, a denial named. IAM's existence check runs against moto
//! too (`tests/creator_live.rs`); here its throttling, denial and missing principal. Errors are
//! HTTP responses, so the SDK's own error parsing runs. Time is paused.

use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput;
use aws_sdk_cloudtrail::types::Event;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use eks_authlog_aws::cloudtrail::CloudTrail;
use eks_authlog_aws::iam::Iam;
use eks_authlog_core::access::{IamOutcome, IamStatus, iam::judge};
use eks_authlog_core::cloudtrail::{Record, parse};

fn event(source: &str, id: &str, creator: &str) -> Event {
    let json = serde_json::json!({
        "eventVersion": "1.09", "eventSource": source, "eventName": "CreateCluster",
        "eventID": id, "eventTime": "2026-06-01T10:00:00Z", "awsRegion": "us-east-1",
        "userIdentity": {"type": "IAMUser", "arn": creator, "principalId": "AIDAEXAMPLEUSER000001"},
        "requestParameters": {"name": "demo", "roleArn": "arn:aws:iam::111122223333:role/eks-cluster-role"},
    });
    Event::builder()
        .event_id(id)
        .event_name("CreateCluster")
        .event_source(source)
        .cloud_trail_event(json.to_string())
        .build()
}

/// The SDK's own retries off: the lookup's throttling retry is what is tested.
fn cloudtrail(rules: &[&Rule]) -> CloudTrail {
    CloudTrail::from_client(mock_client!(
        aws_sdk_cloudtrail,
        RuleMode::MatchAny,
        rules,
        |b| b.retry_config(aws_sdk_cloudtrail::config::retry::RetryConfig::disabled())
    ))
}

#[tokio::test(start_paused = true)]
async fn every_page_is_read_and_only_eks_events_are_kept() {
    let user = "arn:aws:iam::111122223333:user/ops/username";
    let first = mock!(aws_sdk_cloudtrail::Client::lookup_events)
        .match_requests(|r| {
            let attr = &r.lookup_attributes()[0];
            attr.attribute_value() == "CreateCluster"
                && r.next_token().is_none()
                && r.max_results() == Some(50)
        })
        .then_output(move || {
            LookupEventsOutput::builder()
                .events(event("ecs.amazonaws.com", "ecs-1", user))
                .events(event("eks.amazonaws.com", "eks-1", user))
                .next_token("page-2")
                .build()
        });
    // The second page is throttled once, then answers.
    let second = mock!(aws_sdk_cloudtrail::Client::lookup_events)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned()),
        )
        .output(move || {
            LookupEventsOutput::builder()
                .events(event("eks.amazonaws.com", "eks-2", user))
                .build()
        })
        .build();
    let ct = cloudtrail(&[&first, &second]);
    let t0 = tokio::time::Instant::now();
    let found = ct
        .create_cluster(1_780_000_000_000, 1_780_007_200_000)
        .await
        .unwrap();
    assert_eq!(found.events.len(), 2);
    assert_eq!(found.other_source, 1, "the ECS CreateCluster");
    assert_eq!(found.api_calls, 3, "two pages, one retried");
    assert!(!found.truncated);
    // Paced: the page interval, then the backoff.
    assert!(t0.elapsed() >= eks_authlog_aws::cloudtrail::PAGE_INTERVAL);
    let records: Vec<Record> = found
        .events
        .iter()
        .filter_map(|e| parse(e.as_bytes(), "cloudtrail:LookupEvents"))
        .collect();
    assert!(matches!(&records[0], Record::CreateCluster(c) if c.creator_arn == user));
}

#[tokio::test(start_paused = true)]
async fn a_denied_lookup_names_the_action() {
    let denied = mock!(aws_sdk_cloudtrail::Client::lookup_events)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"AccessDeniedException","message":"User: arn:aws:sts::111122223333:assumed-role/ReadOnly/me is not authorized to perform: cloudtrail:LookupEvents"}"#.to_owned()),
        )
        .repeatedly()
        .build();
    let e = cloudtrail(&[&denied])
        .create_cluster(0, 1)
        .await
        .unwrap_err();
    assert_eq!(e.denied_action, Some("cloudtrail:LookupEvents"));
    assert!(e.reason.contains("not authorized"), "{}", e.reason);
    assert_eq!(e.api_calls, 1, "a denial is not retried");
}

/// An IAM error as IAM sends it (awsQuery XML).
fn iam_error(code: &str) -> Option<String> {
    Some(format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{code} for the test</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    ))
}

#[tokio::test(start_paused = true)]
async fn iam_answers_each_principal_throttling_retried() {
    let gone = mock!(aws_sdk_iam::Client::get_role)
        .match_requests(|r| r.role_name() == Some("Gone"))
        .sequence()
        .http_status(404, iam_error("NoSuchEntity"))
        .build();
    let user = mock!(aws_sdk_iam::Client::get_user)
        .match_requests(|r| r.user_name() == Some("alice"))
        .sequence()
        .http_status(400, iam_error("Throttling"))
        .output(|| {
            aws_sdk_iam::operation::get_user::GetUserOutput::builder()
                .user(
                    aws_sdk_iam::types::User::builder()
                        .path("/ops/")
                        .user_name("alice")
                        .user_id("AIDANEWUSER000000001")
                        .arn("arn:aws:iam::111122223333:user/ops/alice")
                        .create_date(aws_sdk_iam::primitives::DateTime::from_secs(1_790_000_000))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .build();
    let denied = mock!(aws_sdk_iam::Client::get_role)
        .match_requests(|r| r.role_name() == Some("Secret"))
        .sequence()
        .http_status(403, iam_error("AccessDenied"))
        .build();
    let client = mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        &[&gone, &user, &denied],
        |b| b.retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled())
    );
    let arns = [
        "arn:aws:iam::111122223333:role/team/Gone",
        "arn:aws:iam::111122223333:user/ops/alice",
        "arn:aws:iam::111122223333:role/Secret",
        "arn:aws:iam::111122223333:root",
    ]
    .map(str::to_owned);
    let checked = Iam::from_client(client).check(&arns).await;
    let outcomes: Vec<&IamOutcome> = checked.checks.iter().map(|c| &c.outcome).collect();
    assert_eq!(outcomes[0], &IamOutcome::NotFound);
    assert!(
        matches!(outcomes[1], IamOutcome::Exists { unique_id, .. } if unique_id == "AIDANEWUSER000000001")
    );
    assert!(matches!(outcomes[2], IamOutcome::Denied { action, .. } if action == "iam:GetRole"));
    assert!(matches!(outcomes[3], IamOutcome::NotAsked { .. }));
    assert_eq!(user.num_calls(), 2, "throttled once, then answered");
    assert_eq!(
        checked.api_calls, 4,
        "one call each, one retry; root is not asked"
    );
    // The user the logs saw had another unique id: re-created.
    let state = judge(
        &checked.checks[1],
        &["AIDAEXAMPLEUSER000001".to_owned()],
        None,
    );
    assert_eq!(state.status, IamStatus::Recreated);
}
