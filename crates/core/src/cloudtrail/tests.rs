use super::*;

/// AWS's own EKS sample (EKS User Guide, "Log API calls as AWS CloudTrail events"), 2018: an
/// IAM user, the older `clusterName` request key.
const DOC_SAMPLE: &str = r#"{"eventVersion":"1.05","userIdentity":{"type":"IAMUser","principalId":"AKIAIOSFODNN7EXAMPLE","arn":"arn:aws:iam::111122223333:user/username","accountId":"111122223333","accessKeyId":"AKIAIOSFODNN7EXAMPLE","userName":"username"},"eventTime":"2018-05-28T19:16:43Z","eventSource":"eks.amazonaws.com","eventName":"CreateCluster","awsRegion":"region-code","sourceIPAddress":"205.251.233.178","userAgent":"PostmanRuntime/6.4.0","requestParameters":{"resourcesVpcConfig":{"subnetIds":["subnet-a670c2df","subnet-4f8c5004"]},"roleArn":"arn:aws:iam::111122223333:role/AWSServiceRoleForAmazonEKS-CAC1G1VH3ZKZ","clusterName":"test"},"responseElements":{"cluster":{"clusterName":"test","status":"CREATING","createdAt":1527535003.208,"arn":"arn:aws:eks:region-code:111122223333:cluster/test"}},"requestID":"a7a0735d-4d1c-11e8-9a39-8d1a35e2e6e2","eventID":"eab22523-174a-499c-9dd6-91e7be3ff8e3","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;

fn call(text: &str) -> CreateCall {
    match parse(text.as_bytes(), "t") {
        Some(Record::CreateCluster(c)) => *c,
        other => panic!("not a CreateCluster: {other:?}"),
    }
}

#[test]
fn an_iam_user_is_the_creator_and_the_service_role_is_only_noted() {
    let c = call(DOC_SAMPLE);
    assert_eq!(c.creator_arn, "arn:aws:iam::111122223333:user/username");
    assert_eq!(c.caller_type.as_deref(), Some("IAMUser"));
    assert_eq!(c.session, None);
    // The sample's principalId is an access key id, not a unique id: not kept as one.
    assert_eq!(c.principal_id, None);
    assert_eq!(c.cluster_name.as_deref(), Some("test"));
    assert_eq!(
        c.service_role.as_deref(),
        Some("arn:aws:iam::111122223333:role/AWSServiceRoleForAmazonEKS-CAC1G1VH3ZKZ")
    );
    assert_eq!(c.event_time.as_deref(), Some("2018-05-28T19:16:43Z"));
    assert!(!c.via_cloudformation());
}

#[test]
fn an_assumed_role_is_the_role_with_its_path_and_the_session_is_the_person() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/cloudtrail/trail-sso.json"
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let record = v["Records"][0].to_string();
    let c = call(&record);
    assert_eq!(
        c.creator_arn,
        "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/us-east-1/\
         AWSReservedSSO_AdministratorAccess_0123456789abcdef"
    );
    assert_eq!(c.session.as_deref(), Some("jane@example.com"));
    assert_eq!(c.principal_id.as_deref(), Some("AROAEXAMPLESSO0000001"));
    assert_eq!(c.cluster_name.as_deref(), Some("demo"));
}

#[test]
fn other_services_failed_calls_and_other_events_are_not_creator_evidence() {
    let ecs = DOC_SAMPLE.replace("eks.amazonaws.com", "ecs.amazonaws.com");
    assert_eq!(
        parse(ecs.as_bytes(), "t"),
        Some(Record::Ignored(Ignored::OtherService))
    );
    let failed = DOC_SAMPLE.replace(
        r#""readOnly":false"#,
        r#""readOnly":false,"errorCode":"ResourceInUseException""#,
    );
    assert_eq!(
        parse(failed.as_bytes(), "t"),
        Some(Record::Ignored(Ignored::Failed))
    );
    let other = DOC_SAMPLE.replace(r#""CreateCluster""#, r#""DescribeCluster""#);
    assert_eq!(
        parse(other.as_bytes(), "t"),
        Some(Record::Ignored(Ignored::OtherEvent))
    );
    let nobody = DOC_SAMPLE.replace(r#""arn":"arn:aws:iam::111122223333:user/username","#, "");
    assert_eq!(
        parse(nobody.as_bytes(), "t"),
        Some(Record::Ignored(Ignored::NoIdentity))
    );
    // Not CloudTrail at all: left to the other readers.
    assert_eq!(
        parse(br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1"}"#, "t"),
        None
    );
    assert_eq!(parse(b"time=\"x\" level=info", "t"), None);
    let mut counts = Counts::default();
    for r in [
        parse(DOC_SAMPLE.as_bytes(), "t").unwrap(),
        parse(ecs.as_bytes(), "t").unwrap(),
        parse(failed.as_bytes(), "t").unwrap(),
    ] {
        counts.add(&r);
    }
    assert_eq!(
        (
            counts.records,
            counts.create_cluster,
            counts.other_service,
            counts.failed
        ),
        (3, 1, 1, 1)
    );
}

#[test]
fn a_cloudformation_stack_is_recognised() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/cloudtrail/trail-cloudformation.json"
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let c = call(&v["Records"][0].to_string());
    assert!(c.via_cloudformation());
    assert_eq!(
        c.creator_arn,
        "arn:aws:iam::111122223333:role/eks-stack-role"
    );
    assert_eq!(
        c.invoked_by.as_deref(),
        Some("cloudformation.amazonaws.com")
    );
}
