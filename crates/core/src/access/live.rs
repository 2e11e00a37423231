//! What a live read of the access configuration did and could not do: the EKS API calls made
//! and the parts left unread (an IAM action denied, kubectl unauthorized), so that the
//! inventory and every diagnosis can say what they were not based on.
//!
//! This module owns only that record. The reading itself is elsewhere: the `aws` crate calls
//! the EKS API and hands the answers to [`AccessConfig`](super::AccessConfig) as the AWS CLI
//! would print them, and the binary runs kubectl; both go through the same path as files.

use serde::Serialize;

/// EKS API calls made by a live read, one count per operation (each may hide SDK retries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EksApiCalls {
    /// DescribeCluster calls.
    #[serde(skip_serializing_if = "is_zero")]
    pub describe_cluster: u64,
    /// ListAccessEntries calls (one per page).
    #[serde(skip_serializing_if = "is_zero")]
    pub list_access_entries: u64,
    /// DescribeAccessEntry calls.
    #[serde(skip_serializing_if = "is_zero")]
    pub describe_access_entry: u64,
    /// ListAssociatedAccessPolicies calls (one per page).
    #[serde(skip_serializing_if = "is_zero")]
    pub list_associated_access_policies: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl EksApiCalls {
    /// All calls together.
    pub fn total(&self) -> u64 {
        self.describe_cluster
            + self.list_access_entries
            + self.describe_access_entry
            + self.list_associated_access_policies
    }
}

/// A part of the access configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// DescribeCluster: the authentication mode, the creator flag, the endpoint.
    Cluster,
    /// ListAccessEntries: which principals have an access entry.
    AccessEntries,
    /// DescribeAccessEntry: an entry's type, username and groups.
    AccessEntry,
    /// ListAssociatedAccessPolicies: an entry's access policies.
    AccessPolicies,
    /// The aws-auth ConfigMap (through the Kubernetes API).
    AwsAuth,
}

impl Part {
    /// The name used in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Part::Cluster => "cluster",
            Part::AccessEntries => "access_entries",
            Part::AccessEntry => "access_entry",
            Part::AccessPolicies => "access_policies",
            Part::AwsAuth => "aws_auth",
        }
    }

    /// What the part holds, in words.
    pub const fn describe(self) -> &'static str {
        match self {
            Part::Cluster => "the authentication mode (DescribeCluster)",
            Part::AccessEntries => "the list of access entries",
            Part::AccessEntry => "access-entry details (type, username, groups)",
            Part::AccessPolicies => "access policies",
            Part::AwsAuth => "the aws-auth ConfigMap",
        }
    }
}

/// A part that a live read could not get.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unread {
    /// Which part.
    pub part: Part,
    /// The IAM action that was denied (`eks:ListAccessEntries`), when a denial is the cause.
    pub action: Option<String>,
    /// For per-entry parts: the principals whose part is missing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
    /// Why, in one line (the service's message, kubectl's error, a switch).
    pub reason: String,
}

impl Unread {
    /// One line: `access policies of 2 entries not read: eks:ListAssociatedAccessPolicies
    /// denied (…)`.
    pub fn text(&self) -> String {
        let what = match self.principals.len() {
            0 => self.part.describe().to_owned(),
            1 => format!("{} of {}", self.part.describe(), self.principals[0]),
            n => format!("{} of {n} entries", self.part.describe()),
        };
        match &self.action {
            Some(a) => format!(
                "{what} not read: {a} denied ({}); grant {a} to read it",
                self.reason
            ),
            None => format!("{what} not read: {}", self.reason),
        }
    }
}

/// What a live read did: where, how many calls, how aws-auth was read, what is missing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Live {
    /// The cluster name asked for.
    pub cluster: String,
    /// The region of the EKS API called.
    pub region: String,
    /// EKS API calls made.
    pub api_calls: EksApiCalls,
    /// How aws-auth was read (`kubectl --context NAME`), or null when it was not.
    pub aws_auth_via: Option<String>,
    /// The parts that could not be read; empty when everything was.
    pub unread: Vec<Unread>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unread_text_names_the_action_and_the_count() {
        let mut u = Unread {
            part: Part::AccessPolicies,
            action: Some("eks:ListAssociatedAccessPolicies".into()),
            principals: vec!["arn:a".into(), "arn:b".into()],
            reason: "User: x is not authorized".into(),
        };
        assert_eq!(
            u.text(),
            "access policies of 2 entries not read: eks:ListAssociatedAccessPolicies denied \
             (User: x is not authorized); grant eks:ListAssociatedAccessPolicies to read it"
        );
        u.principals.truncate(1);
        assert!(u.text().starts_with("access policies of arn:a not read"));
        let k = Unread {
            part: Part::AwsAuth,
            action: None,
            principals: vec![],
            reason: "kubectl: Unauthorized".into(),
        };
        assert_eq!(
            k.text(),
            "the aws-auth ConfigMap not read: kubectl: Unauthorized"
        );
    }

    #[test]
    fn zero_counts_are_left_out_of_json() {
        let c = EksApiCalls {
            describe_cluster: 1,
            ..EksApiCalls::default()
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"describe_cluster":1}"#
        );
        assert_eq!(c.total(), 1);
    }
}
