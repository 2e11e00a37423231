//! The fix for authorization denials: an EKS access policy for an access-entry principal,
//! otherwise a minimal Role or ClusterRole and its binding covering exactly the denied
//! requests, laid out as `liggitt/audit2rbac` writes them (`pkg/process.go`: one Role and
//! RoleBinding per namespace, one ClusterRole and ClusterRoleBinding for cluster-scoped
//! resources and non-resource URLs, rules grouped by API group and resource).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::output::{Fix, ForbiddenRequest};

/// What is known about the denied user.
pub struct Subject<'a> {
    /// Kubernetes username.
    pub username: &'a str,
    /// IAM principal, when the authenticator set it.
    pub canonical_arn: Option<&'a str>,
    /// Groups beyond `system:authenticated`.
    pub groups: &'a [String],
    /// An EKS access policy granted this principal something (an `EKS Access Policy: allowed
    /// by …` reason), or its username is an ARN (the access-entry default), so it is an
    /// access entry's principal.
    pub access_entry: bool,
    /// Any access policy was seen allowing it.
    pub has_policy: bool,
}

/// Cluster and region for commands.
pub struct Where<'a> {
    /// Cluster name.
    pub cluster: Option<&'a str>,
    /// Region.
    pub region: Option<&'a str>,
}

/// Resources only cluster administrators manage (`AmazonEKSClusterAdminPolicy`).
const CLUSTER_ADMIN: &[&str] = &[
    "nodes",
    "namespaces",
    "persistentvolumes",
    "clusterroles",
    "clusterrolebindings",
    "customresourcedefinitions",
    "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations",
    "storageclasses",
    "priorityclasses",
    "certificatesigningrequests",
];

/// RBAC objects (`AmazonEKSAdminPolicy` manages them within a namespace).
const RBAC: &[&str] = &["roles", "rolebindings"];

fn read_only(verb: &str) -> bool {
    matches!(verb, "get" | "list" | "watch")
}

/// Builds the fix for a user's denied requests.
pub fn fix(s: &Subject<'_>, requests: &[ForbiddenRequest], at: &Where<'_>) -> Fix {
    // No credentials were sent (`k8s.io/apiserver` `pkg/authentication/request/anonymous`):
    // the fix is on the client. Granting `system:anonymous` would open the API to anyone.
    if s.username == "system:anonymous" {
        return Fix {
            kind: "credentials",
            no_permissions: false,
            summary: "The client sent no credentials, so it ran as system:anonymous. Give it a token (an exec kubeconfig); never bind a role to system:anonymous or system:unauthenticated.".to_owned(),
            yaml: None,
            commands: vec![format!(
                "aws eks update-kubeconfig --name {} --region {}",
                at.cluster.unwrap_or("<CLUSTER>"),
                at.region.unwrap_or("<REGION>")
            )],
        };
    }
    let no_permissions = s.groups.is_empty() && !s.has_policy;
    if s.access_entry
        && let Some(arn) = s.canonical_arn
    {
        return access_policy(arn, s, requests, at, no_permissions);
    }
    rbac(s, requests, no_permissions)
}

/// The EKS access policy (`aws eks list-access-policies`) and scope that allow the requests.
fn access_policy(
    arn: &str,
    s: &Subject<'_>,
    requests: &[ForbiddenRequest],
    at: &Where<'_>,
    no_permissions: bool,
) -> Fix {
    let cluster_scoped = requests
        .iter()
        .any(|r| r.namespace.is_none() || r.resource.is_none());
    let writes = requests.iter().any(|r| !read_only(&r.verb));
    let admin_resource = requests.iter().any(|r| {
        r.resource
            .as_deref()
            .is_some_and(|x| CLUSTER_ADMIN.contains(&x))
    });
    let rbac = requests
        .iter()
        .any(|r| r.resource.as_deref().is_some_and(|x| RBAC.contains(&x)));
    let secrets = requests
        .iter()
        .any(|r| r.resource.as_deref() == Some("secrets"));
    let (policy, scope_cluster) = if writes && (admin_resource || cluster_scoped) {
        ("AmazonEKSClusterAdminPolicy", true)
    } else if cluster_scoped {
        ("AmazonEKSAdminViewPolicy", true)
    } else if secrets && !writes {
        // The view policy leaves secrets out; admin-view reads them, in the namespaces only.
        ("AmazonEKSAdminViewPolicy", false)
    } else if rbac {
        ("AmazonEKSAdminPolicy", false)
    } else if writes || secrets {
        ("AmazonEKSEditPolicy", false)
    } else {
        ("AmazonEKSViewPolicy", false)
    };
    let namespaces: BTreeSet<&str> = requests
        .iter()
        .filter_map(|r| r.namespace.as_deref())
        .collect();
    let scope = if scope_cluster {
        "type=cluster".to_owned()
    } else {
        format!(
            "type=namespace,namespaces={}",
            namespaces.iter().copied().collect::<Vec<_>>().join(",")
        )
    };
    let cluster = at.cluster.unwrap_or("<CLUSTER>");
    let region = at.region.unwrap_or("<REGION>");
    let scope_text = if scope_cluster {
        "at cluster scope".to_owned()
    } else {
        format!(
            "in namespace{} {}",
            if namespaces.len() == 1 { "" } else { "s" },
            namespaces.iter().copied().collect::<Vec<_>>().join(", ")
        )
    };
    let mut summary = String::new();
    if no_permissions {
        let _ = write!(
            summary,
            "{} authenticated through an access entry with no Kubernetes groups and no access policy, so it may do nothing beyond discovery. ",
            s.username
        );
    }
    let _ = write!(
        summary,
        "Associate {policy} {scope_text} with the access entry of {arn}: it allows the denied requests (EKS access policies: https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html)."
    );
    Fix {
        kind: "access_policy",
        no_permissions,
        summary,
        yaml: None,
        commands: vec![format!(
            "aws eks associate-access-policy --cluster-name {cluster} --region {region} --principal-arn {arn} --policy-arn arn:aws:eks::aws:cluster-access-policy/{policy} --access-scope {scope}"
        )],
    }
}

/// A Role per namespace and a ClusterRole for the rest, each with its binding to the user.
fn rbac(s: &Subject<'_>, requests: &[ForbiddenRequest], no_permissions: bool) -> Fix {
    // (namespace or cluster) → (api group, resource) → (verbs, names); non-resource paths → verbs.
    type Rules<'r> = BTreeMap<(&'r str, String), (BTreeSet<&'r str>, BTreeSet<&'r str>, bool)>;
    let mut scoped: BTreeMap<Option<&str>, Rules<'_>> = BTreeMap::new();
    let mut paths: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in requests {
        let Some(resource) = r.resource.as_deref() else {
            if let Some(p) = r.path.as_deref() {
                paths.entry(p).or_default().insert(&r.verb);
            }
            continue;
        };
        let res = match &r.subresource {
            Some(sub) => format!("{resource}/{sub}"),
            None => resource.to_owned(),
        };
        let group = r.api_group.as_deref().unwrap_or("");
        let e = scoped
            .entry(r.namespace.as_deref())
            .or_default()
            .entry((group, res))
            .or_insert_with(|| (BTreeSet::new(), BTreeSet::new(), true));
        e.0.insert(&r.verb);
        // Names only when every request of the rule named its object (audit2rbac keeps
        // resourceNames unless told to --expand-multi-name).
        if r.names.is_empty() {
            e.2 = false;
        }
        e.1.extend(r.names.iter().map(String::as_str));
    }
    let name = format!("eks-authlog:{}", rbac_name(s.username));
    let mut yaml = String::new();
    let mut doc = |kind: &str, ns: Option<&str>, rules: &str| {
        if !yaml.is_empty() {
            yaml.push_str("---\n");
        }
        let binding = if kind == "Role" {
            "RoleBinding"
        } else {
            "ClusterRoleBinding"
        };
        let meta_ns = ns.map_or(String::new(), |n| format!("  namespace: {}\n", quote(n)));
        let _ = write!(
            yaml,
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  labels:\n    eks-authlog/generated: \"true\"\n  name: {name}\n{meta_ns}rules:\n{rules}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {binding}\nmetadata:\n  labels:\n    eks-authlog/generated: \"true\"\n  name: {name}\n{meta_ns}roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {kind}\n  name: {name}\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: {}\n",
            quote(s.username)
        );
    };
    let rules_text = |rules: &Rules<'_>| {
        let mut out = String::new();
        for ((group, res), (verbs, names, all_named)) in rules {
            let _ = write!(
                out,
                "- apiGroups:\n  - {}\n  resources:\n  - {}\n",
                quote(group),
                quote(res)
            );
            if *all_named && !names.is_empty() {
                out.push_str("  resourceNames:\n");
                for n in names {
                    let _ = writeln!(out, "  - {}", quote(n));
                }
            }
            out.push_str("  verbs:\n");
            for v in verbs {
                let _ = writeln!(out, "  - {}", quote(v));
            }
        }
        out
    };
    let cluster_rules = scoped.remove(&None);
    if cluster_rules.is_some() || !paths.is_empty() {
        let mut text = cluster_rules.as_ref().map(&rules_text).unwrap_or_default();
        for (p, verbs) in &paths {
            let _ = write!(text, "- nonResourceURLs:\n  - {}\n  verbs:\n", quote(p));
            for v in verbs {
                let _ = writeln!(text, "  - {}", quote(v));
            }
        }
        doc("ClusterRole", None, &text);
    }
    for (ns, rules) in &scoped {
        doc("Role", *ns, &rules_text(rules));
    }
    let mut summary = String::new();
    if no_permissions {
        let _ = write!(
            summary,
            "{} authenticated but is in no Kubernetes group and has no access policy, so RBAC allows it nothing beyond discovery. ",
            s.username
        );
    }
    let _ = write!(
        summary,
        "Grant exactly the denied requests with this Role/ClusterRole and binding (review it; kubectl auth can-i checks it)."
    );
    let can_i = requests
        .iter()
        .find_map(|r| {
            let res = r.resource.as_deref()?;
            let ns = r
                .namespace
                .as_deref()
                .map_or(String::new(), |n| format!(" -n {}", shell(n)));
            Some(format!(
                "kubectl auth can-i {} {}{ns} --as {}",
                shell(&r.verb),
                shell(res),
                shell(s.username)
            ))
        })
        .into_iter();
    Fix {
        kind: "rbac",
        no_permissions,
        summary,
        yaml: Some(yaml),
        commands: std::iter::once("kubectl apply -f fix.yaml   # the yaml above, saved".to_owned())
            .chain(can_i)
            .collect(),
    }
}

/// A Role name from a username: RBAC names are path segments, so no `/`.
fn rbac_name(user: &str) -> String {
    let mut s: String = user
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '.' | ':' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    s.truncate(200);
    s
}

/// A YAML scalar: plain when safe, else double-quoted with JSON escapes (valid YAML).
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/".contains(c))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "~"
        )
        && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.');
    if plain {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
    }
}

/// A shell word, single-quoted unless plain.
fn shell(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/:@=".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(
        verb: &str,
        group: &str,
        res: &str,
        ns: Option<&str>,
        names: &[&str],
    ) -> ForbiddenRequest {
        ForbiddenRequest {
            verb: verb.to_owned(),
            api_group: Some(group.to_owned()),
            resource: Some(res.to_owned()),
            subresource: None,
            namespace: ns.map(str::to_owned),
            path: None,
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            count: 1,
            first_seen: None,
            last_seen: None,
            message: None,
        }
    }

    const AT: Where<'static> = Where {
        cluster: Some("demo"),
        region: Some("us-east-1"),
    };

    #[test]
    fn rbac_covers_exactly_the_denied_requests() {
        let s = Subject {
            username: "testuser",
            canonical_arn: None,
            groups: &["dev".to_owned()],
            access_entry: false,
            has_policy: false,
        };
        let f = fix(
            &s,
            &[
                req("list", "", "nodes", None, &[]),
                req("get", "apps", "deployments", Some("web"), &["front"]),
                req("list", "", "pods", Some("web"), &[]),
            ],
            &AT,
        );
        assert_eq!(f.kind, "rbac");
        assert!(!f.no_permissions);
        let yaml = f.yaml.unwrap();
        let docs: Vec<&str> = yaml.split("---\n").collect();
        assert_eq!(docs.len(), 4, "{yaml}");
        assert!(docs[0].contains("kind: ClusterRole\n") && docs[0].contains("  - nodes\n"));
        assert!(
            docs[1].contains("kind: ClusterRoleBinding\n") && docs[1].contains("name: testuser\n")
        );
        assert!(docs[2].contains("kind: Role\n") && docs[2].contains("namespace: web\n"));
        assert!(docs[2].contains("- apps\n  resources:\n  - deployments\n  resourceNames:\n  - front\n  verbs:\n  - get\n"), "{}", docs[2]);
        assert!(docs[2].contains("- \"\"\n  resources:\n  - pods\n  verbs:\n  - list\n"));
        assert!(!docs[2].contains("nodes"));
    }

    #[test]
    fn an_access_entry_gets_the_narrowest_policy_and_scope() {
        let arn = "arn:aws:iam::111122223333:role/dev";
        let s = Subject {
            username: "arn:aws:sts::111122223333:assumed-role/dev/alice",
            canonical_arn: Some(arn),
            groups: &[],
            access_entry: true,
            has_policy: false,
        };
        let f = fix(&s, &[req("list", "", "pods", Some("web"), &[])], &AT);
        assert_eq!(f.kind, "access_policy");
        assert!(f.no_permissions, "no groups, no policy");
        assert!(
            f.commands[0]
                .contains("AmazonEKSViewPolicy --access-scope type=namespace,namespaces=web"),
            "{}",
            f.commands[0]
        );
        let f = fix(
            &s,
            &[req("create", "apps", "deployments", Some("a"), &[])],
            &AT,
        );
        assert!(f.commands[0].contains("AmazonEKSEditPolicy"));
        let f = fix(&s, &[req("delete", "", "nodes", None, &["n1"])], &AT);
        assert!(f.commands[0].contains("AmazonEKSClusterAdminPolicy --access-scope type=cluster"));
        let f = fix(&s, &[req("list", "", "nodes", None, &[])], &AT);
        assert!(f.commands[0].contains("AmazonEKSAdminViewPolicy --access-scope type=cluster"));
    }

    #[test]
    fn yaml_scalars_are_quoted_when_needed() {
        assert_eq!(quote("pods"), "pods");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(
            quote("arn:aws:sts::1:assumed-role/x/y"),
            "\"arn:aws:sts::1:assumed-role/x/y\""
        );
        assert_eq!(quote("yes"), "\"yes\"");
        assert_eq!(
            rbac_name("arn:aws:sts::1:assumed-role/X/y"),
            "arn:aws:sts::1:assumed-role-x-y"
        );
    }
}
