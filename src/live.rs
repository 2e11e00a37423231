//! Reading the access configuration live: the EKS API through `eks-authlog-aws`, and the
//! aws-auth ConfigMap through `kubectl` with the user's kubeconfig. Both land in the same
//! `AccessConfig` as `--access-config` files, and what could not be read is recorded there
//! (and said on stderr, one line each) instead of stopping the run.
//!
//! kubectl is run as a subprocess rather than through the `kube` crate: it already knows
//! every kubeconfig credential plugin (`aws eks get-token`, SSO, `aws-iam-authenticator`),
//! and one ConfigMap GET does not justify hyper, k8s-openapi and their build time.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[cfg(feature = "cloudwatch")]
use eks_authlog_core::access::{AccessConfig, Mode, Part, Unread};
use eks_authlog_core::secrets::mask_credentials;

/// What to read live, and how.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveAccess {
    /// The EKS cluster name.
    pub cluster: String,
    /// `--region` (else the default chain's).
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// Read aws-auth through kubectl (off with `--no-kubectl`).
    pub kubectl: bool,
    /// `--kube-context`: the kubeconfig context to use instead of the one whose server is the
    /// cluster's endpoint.
    pub kube_context: Option<String>,
    /// `access --cluster`: ask IAM whether each mapped principal exists (off with `--no-iam`).
    pub iam: bool,
}

/// How long kubectl may take, its own `--request-timeout` included (a credential plugin can
/// hang on an SSO prompt).
const KUBECTL_LIMIT: Duration = Duration::from_secs(60);

/// Reads the EKS API and (unless told not to, or files already gave aws-auth, or the mode
/// ignores it) aws-auth through kubectl into `cfg`. Each unread part is also written to
/// stderr unless `quiet`. Only an EKS read that got nothing at all is an error.
#[cfg(feature = "cloudwatch")]
pub fn read(
    live: &LiveAccess,
    cfg: &mut AccessConfig,
    quiet: bool,
) -> Result<(), eks_authlog_aws::eks::Error> {
    let opts = eks_authlog_aws::cloudwatch::ClientOptions {
        region: live.region.clone(),
        profile: live.profile.clone(),
        ..Default::default()
    };
    let mut snap = eks_authlog_aws::eks::read_blocking(&live.cluster, &opts)?;
    let aws_auth = if cfg.aws_auth.is_some() || snap.mode == Some(Mode::Api) {
        // Files gave it, or the cluster ignores it.
        None
    } else if !live.kubectl {
        Some(Err("not asked for (--no-kubectl)".to_owned()))
    } else {
        Some(aws_auth(
            snap.endpoint.as_deref(),
            live.kube_context.as_deref(),
        ))
    };
    match aws_auth {
        Some(Ok((bytes, via))) => match cfg.read(&via, &bytes) {
            Ok(()) => snap.live.aws_auth_via = Some(via),
            Err(e) => snap.live.unread.push(aws_auth_unread(e.to_string())),
        },
        Some(Err(why)) => snap.live.unread.push(aws_auth_unread(why)),
        None => {}
    }
    if !quiet {
        use std::io::Write as _;
        let mut err = std::io::stderr().lock();
        for u in &snap.live.unread {
            let _ = writeln!(err, "eks-authlog: note: {}", u.text());
        }
    }
    snap.apply(cfg);
    Ok(())
}

#[cfg(feature = "cloudwatch")]
fn aws_auth_unread(reason: String) -> Unread {
    Unread {
        part: Part::AwsAuth,
        action: None,
        principals: Vec::new(),
        reason,
    }
}

/// `kubectl get configmap aws-auth -n kube-system -o json` in the context that talks to
/// `endpoint` (or `context`): the bytes and a source name, or why not, in one line.
pub fn aws_auth(
    endpoint: Option<&str>,
    context: Option<&str>,
) -> Result<(Vec<u8>, String), String> {
    let context = match context {
        Some(c) => c.to_owned(),
        None => {
            let Some(endpoint) = endpoint else {
                return Err(
                    "the cluster's endpoint is unknown (DescribeCluster was not read), \
                            so no kubeconfig context can be matched to it; pass --kube-context"
                        .to_owned(),
                );
            };
            // Without --raw, kubectl leaves credentials out of `config view`.
            let view = kubectl("config view", &["config", "view", "-o", "json"])?;
            context_for(&view, endpoint)?
        }
    };
    let bytes = kubectl(
        &format!("--context {context} get configmap aws-auth"),
        &[
            "--context",
            &context,
            "--request-timeout=20s",
            "get",
            "configmap",
            "aws-auth",
            "-n",
            "kube-system",
            "-o",
            "json",
        ],
    )?;
    Ok((bytes, format!("kubectl --context {context}")))
}

/// The kubeconfig context whose cluster's `server` is `endpoint`: the current context when
/// it is one, else the first in the file.
pub fn context_for(view: &[u8], endpoint: &str) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_slice(view)
        .map_err(|e| format!("kubectl config view printed no JSON ({e})"))?;
    let norm = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
    let want = norm(endpoint);
    let servers: Vec<&str> = v["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["cluster"]["server"]
                .as_str()
                .is_some_and(|s| norm(s) == want)
        })
        .filter_map(|c| c["name"].as_str())
        .collect();
    let contexts: Vec<&str> = v["contexts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["context"]["cluster"]
                .as_str()
                .is_some_and(|n| servers.contains(&n))
        })
        .filter_map(|c| c["name"].as_str())
        .collect();
    let current = v["current-context"].as_str();
    match current
        .filter(|c| contexts.contains(c))
        .or(contexts.first().copied())
    {
        Some(c) => Ok(c.to_owned()),
        None => Err(format!(
            "no kubeconfig context talks to {endpoint} (`aws eks update-kubeconfig --name \
             CLUSTER` adds one)"
        )),
    }
}

/// Runs kubectl with `args` for at most [`KUBECTL_LIMIT`]: its stdout, or its last error
/// line (credentials masked) after `what` was run.
fn kubectl(what: &str, args: &[&str]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("kubectl")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "kubectl is not installed (not on PATH)".to_owned(),
            _ => format!("cannot run kubectl: {e}"),
        })?;
    // Drain both pipes on threads, so that a large answer cannot block kubectl.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped")));
    let err = drain(Box::new(child.stderr.take().expect("piped")));
    let t0 = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if t0.elapsed() > KUBECTL_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "kubectl gave no answer within {}s",
                    KUBECTL_LIMIT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for kubectl failed: {e}")),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if status.success() {
        return Ok(stdout);
    }
    let text = String::from_utf8_lossy(&stderr);
    let last = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no error text");
    let last: String = mask_credentials(last).chars().take(300).collect();
    Err(format!("kubectl {what}: {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIEW: &str = r#"{
      "clusters": [
        {"name": "other", "cluster": {"server": "https://OTHER.gr7.us-east-1.eks.amazonaws.com"}},
        {"name": "arn:aws:eks:us-east-1:111122223333:cluster/demo",
         "cluster": {"server": "https://ABCD.gr7.us-east-1.eks.amazonaws.com/"}}
      ],
      "contexts": [
        {"name": "other-ctx", "context": {"cluster": "other"}},
        {"name": "demo-ctx", "context": {"cluster": "arn:aws:eks:us-east-1:111122223333:cluster/demo"}},
        {"name": "demo-2", "context": {"cluster": "arn:aws:eks:us-east-1:111122223333:cluster/demo"}}
      ],
      "current-context": "other-ctx"
    }"#;

    #[test]
    fn the_context_is_the_one_whose_server_is_the_endpoint() {
        let ep = "https://abcd.gr7.us-east-1.eks.amazonaws.com";
        // Not the current context, which talks to another cluster.
        assert_eq!(context_for(VIEW.as_bytes(), ep).unwrap(), "demo-ctx");
        let current = VIEW.replace(
            r#""current-context": "other-ctx""#,
            r#""current-context": "demo-2""#,
        );
        assert_eq!(context_for(current.as_bytes(), ep).unwrap(), "demo-2");
        let e = context_for(VIEW.as_bytes(), "https://NONE.eks.amazonaws.com").unwrap_err();
        assert!(e.contains("aws eks update-kubeconfig"), "{e}");
        assert!(context_for(b"nope", ep).unwrap_err().contains("no JSON"));
    }
}
