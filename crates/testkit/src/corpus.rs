//! A deterministic generator of realistic authenticator logs, for benchmarks and tests.
//!
//! The mix follows what a busy EKS cluster logs: about 85 % of requests are grants for a few
//! dozen principals (SSO humans, CI roles, nodes, the creator as `kubernetes-admin`, EKS's own
//! `eks:*` identities), about 12 % are denials of every class (error strings taken from
//! `testdata/classes/*.log`), and about 3 % are other lines (startup mappings, aws-auth watch
//! errors, klog lines, a few unparsable ones). Every grant and every denial that got past STS
//! is preceded by its `STS response` on the same `client`, as modern EKS logs it. Values are
//! quoted exactly as logrus's `TextFormatter` does (`text_formatter.go`, `needsQuoting`).
//!
//! The same seed always gives the same bytes: the generator carries its own small PRNG
//! (SplitMix64) so the output does not depend on a dependency's algorithm.

use std::io::{self, Write};

use eks_authlog_core::classify::Class;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift (bias is negligible for small `n`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A random element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The output shapes the generator writes (the shapes `eks-authlog` reads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "kebab-case")]
pub enum CorpusFormat {
    /// Plain log lines.
    #[default]
    Raw,
    /// One `aws logs filter-log-events` JSON document (pretty-printed like the AWS CLI).
    FilterLogEvents,
    /// NDJSON: one CloudWatch event object per line.
    Ndjson,
    /// `aws logs get-query-results` JSON.
    QueryResults,
    /// Logs Insights console CSV export.
    Csv,
    /// CloudWatch export-to-S3 objects (`<RFC 3339 time> <message>`).
    S3Export,
    /// Docker json-file logs.
    Docker,
}

impl CorpusFormat {
    /// Every format, raw first.
    pub const ALL: [CorpusFormat; 7] = [
        CorpusFormat::Raw,
        CorpusFormat::FilterLogEvents,
        CorpusFormat::Ndjson,
        CorpusFormat::QueryResults,
        CorpusFormat::Csv,
        CorpusFormat::S3Export,
        CorpusFormat::Docker,
    ];
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Stop after this many log lines (checked after each request, so a few more may come).
    pub lines: Option<u64>,
    /// Stop once this many bytes (uncompressed) were written.
    pub bytes: Option<u64>,
    /// PRNG seed.
    pub seed: u64,
    /// Output shape.
    pub format: CorpusFormat,
    /// Time of the first line, epoch milliseconds.
    pub start_ms: i64,
    /// Time the lines span, in milliseconds.
    pub span_ms: i64,
    /// Number of `authenticator-<32 hex>` log streams.
    pub streams: usize,
}

impl Default for Spec {
    fn default() -> Spec {
        Spec {
            lines: Some(10_000),
            bytes: None,
            seed: 42,
            format: CorpusFormat::Raw,
            // 2026-01-15T00:00:00Z
            start_ms: 1_768_435_200_000,
            span_ms: 24 * 3_600_000,
            streams: 4,
        }
    }
}

/// What one generated line is meant to be, for tests of the generator and the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// `STS response`.
    StsResponse,
    /// `access granted`.
    Grant,
    /// `access denied` of this class (the base class for not-mapped denials).
    Deny(Class),
    /// A startup `mapping IAM …` line.
    Mapping,
    /// A lifecycle or webhook line that classifies as this class.
    Failure(Class),
    /// A klog line (not an authenticator line).
    Klog,
    /// A line that is not logfmt at all.
    Garbage,
}

/// What a run wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Log lines generated.
    pub lines: u64,
    /// Bytes written (before gzip).
    pub bytes: u64,
}

const ACCOUNT: &str = "111122223333";

/// One principal that gets tokens accepted.
#[derive(Clone, Debug)]
struct Principal {
    /// Canonical ARN (on grants and mapping denials).
    arn: String,
    /// The ARN STS returns.
    sts_arn: String,
    session: String,
    userid: String,
    accesskeyid: String,
    username: String,
    groups: &'static str,
    /// Relative weight among grants.
    weight: u32,
}

/// One kind of denial.
struct DenialTemplate {
    class: Class,
    /// The error as Go holds it (decoded); the writer quotes it.
    error: &'static str,
    /// Whether STS accepted the token (so an `STS response` precedes it and `arn=` is set).
    mapped: bool,
    weight: u32,
}

macro_rules! deny {
    ($class:ident, $w:expr, $mapped:expr, $err:expr) => {
        DenialTemplate {
            class: Class::$class,
            error: $err,
            mapped: $mapped,
            weight: $w,
        }
    };
}

/// Errors copied from `testdata/classes/*.log`, decoded. Weights make not-mapped and expired
/// tokens the common cases, as on real clusters.
const DENIALS: &[DenialTemplate] = &[
    deny!(
        TokenNotIam,
        2,
        false,
        r#"input token was not properly formatted: token is missing expected "k8s-aws-v1." prefix"#
    ),
    deny!(
        TokenTooLarge,
        1,
        false,
        "input token was not properly formatted: token is too large"
    ),
    deny!(
        TokenCorrupt,
        2,
        false,
        "input token was not properly formatted: illegal base64 data at input byte 12"
    ),
    deny!(
        TokenForgedOrTampered,
        1,
        false,
        r#"input token was not properly formatted: duplicate query parameter found: "X-Amz-Credential""#
    ),
    deny!(
        TokenWrongStsEndpoint,
        1,
        false,
        r#"input token was not properly formatted: unexpected hostname "sts.cn-north-1.amazonaws.com.cn" in pre-signed URL"#
    ),
    deny!(
        TokenNotClusterBound,
        1,
        false,
        "input token was not properly formatted: client did not sign the x-k8s-aws-id header in the pre-signed URL"
    ),
    deny!(
        TokenBadParams,
        1,
        false,
        "input token was not properly formatted: X-Amz-Date parameter must be present in pre-signed URL"
    ),
    deny!(
        TokenExpired,
        12,
        false,
        "input token was not properly formatted: X-Amz-Date parameter is expired (15 minute expiration) 2026-01-15 09:10:02 +0000 UTC"
    ),
    deny!(
        StsWrongClusterOrSecret,
        4,
        false,
        r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403) on us-east-1 endpoint. Body: {"Error":{"Code":"SignatureDoesNotMatch","Message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.","Type":"Sender"},"RequestId":"00000000-0000-0000-0000-000000000000"}"#
    ),
    deny!(
        StsClockSkew,
        2,
        false,
        r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403) on us-east-1 endpoint. Body: {"Error":{"Code":"SignatureDoesNotMatch","Message":"Signature expired: 20260115T084500Z is now earlier than 20260115T084600Z (20260115T090100Z - 15 min.)","Type":"Sender"},"RequestId":"00000000-0000-0000-0000-000000000000"}"#
    ),
    deny!(
        StsInvalidCredentials,
        5,
        false,
        r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403). Body: {"Error":{"Code":"InvalidClientTokenId","Message":"The security token included in the request is invalid.","Type":"Sender"},"RequestId":"a9068247-f1ab-47ef-b1b1-cda46a27be0e"}"#
    ),
    deny!(
        StsExpiredCredentials,
        6,
        false,
        r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403) on eu-west-1 endpoint. Body: {"Error":{"Code":"ExpiredToken","Message":"The security token included in the request is expired","Type":"Sender"},"RequestId":"00000000-0000-0000-0000-000000000000"}"#
    ),
    deny!(
        StsRegionDisabled,
        1,
        false,
        r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403) on ap-east-1 endpoint. Body: {"Error":{"Code":"RegionDisabledException","Message":"STS is not activated in this region for account:111122223333.","Type":"Sender"},"RequestId":"00000000-0000-0000-0000-000000000000"}"#
    ),
    deny!(
        StsThrottled,
        2,
        false,
        r#"sts getCallerIdentity was throttled: {"Error":{"Code":"Throttling","Message":"Rate exceeded","Type":"Sender"},"RequestId":"00000000-0000-0000-0000-000000000000"}"#
    ),
    deny!(
        StsUnreachable,
        1,
        false,
        "sts getCallerIdentity failed: error during GET: context deadline exceeded (Client.Timeout exceeded while awaiting headers) on us-west-2 endpoint"
    ),
    deny!(
        StsServerError,
        1,
        false,
        "sts getCallerIdentity failed: error from AWS (expected 200, got 500)"
    ),
    deny!(
        StsRejectedOpaque,
        2,
        false,
        "sts getCallerIdentity failed: error from AWS (expected 200, got 403)"
    ),
    deny!(
        StsRejectedOther,
        1,
        false,
        r#"sts getCallerIdentity failed: error from AWS (expected 200, got 403) on us-east-1 endpoint. Body: {"Error":{"Code":"AccessDenied","Message":"Access denied","Type":"Sender"},"RequestId":"00000000-0000-0000-0000-000000000000"}"#
    ),
    deny!(
        StsResponseUnusable,
        1,
        false,
        "sts getCallerIdentity failed: invalid character '<' looking for beginning of value"
    ),
    deny!(IdentityNotMapped, 30, true, "ARN is not mapped"),
    deny!(IdentityNotMapped, 12, true, "identity is not mapped"),
    deny!(
        AccessEntryArnMismatch,
        1,
        true,
        "mapper DynamicFile Map error: ARN does not match User ID"
    ),
    deny!(
        ReservedUsername,
        1,
        true,
        "invalid username 'eks:admin' for mapper DynamicFile: username must not begin with with the following prefixes: [system: eks: aws: amazon: iam:]"
    ),
    deny!(
        MapperBackendError,
        1,
        true,
        "mapper CRD Map error: Index with name arn does not exist"
    ),
    deny!(
        NodeTemplateSessionNotInstance,
        1,
        true,
        "failed mapping username: SessionName did not contain an instance id"
    ),
    deny!(
        NodeTemplateEc2Denied,
        2,
        true,
        "mapper EKSConfigMap renderTemplates error: error rendering username template \"system:node:{{EC2PrivateDNSName}}\": failed querying private DNS from EC2 API for node i-0123456789abcdef0: UnauthorizedOperation: You are not authorized to perform this operation.\n\tstatus code: 403, request id: 00000000-0000-0000-0000-000000000000 "
    ),
    deny!(
        NodeTemplateInstanceNotFound,
        2,
        true,
        "mapper EKSConfigMap renderTemplates error: error rendering username template \"system:node:{{EC2PrivateDNSName}}\": failed querying private DNS from EC2 API for node i-0123456789abcdef0: InvalidInstanceID.NotFound: The instance ID 'i-0123456789abcdef0' does not exist\n\tstatus code: 400, request id: 00000000-0000-0000-0000-000000000000 "
    ),
    deny!(
        NodeTemplateEc2Throttled,
        1,
        true,
        "mapper EKSConfigMap renderTemplates error: error rendering username template \"system:node:{{EC2PrivateDNSName}}\": failed querying private DNS from EC2 API for node i-0123456789abcdef0: RequestLimitExceeded: Request limit exceeded.\n\tstatus code: 503, request id: 00000000-0000-0000-0000-000000000000 "
    ),
    deny!(
        Unclassified,
        1,
        false,
        "something this classifier has never seen"
    ),
];

/// Lines that are neither grants nor denials: (level, msg, error, intent). `error` is empty
/// when the line has none.
const OTHERS: &[(&str, &str, &str, Intent)] = &[
    (
        "error",
        "Unable to re-establish watch: Get \"https://172.16.42.46:443/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Daws-auth&watch=true\": dial tcp 172.16.42.46:443: connect: connection refused, sleeping for 5 seconds.",
        "",
        Intent::Failure(Class::BackendAwsAuthUnhealthy),
    ),
    (
        "error",
        "recieved a watch error",
        "{ERROR &Status{ListMeta:ListMeta{SelfLink:,ResourceVersion:,Continue:,RemainingItemCount:nil,},Status:Failure,Message:too old resource version: 1 (2),Reason:Expired,Details:nil,Code:410,}}",
        Intent::Failure(Class::BackendAwsAuthUnhealthy),
    ),
    (
        "warning",
        "Watch channel closed. Reconnecting...",
        "",
        Intent::Failure(Class::BackendAwsAuthUnhealthy),
    ),
    (
        "error",
        "could not parse request body",
        "invalid character 'h' looking for beginning of value",
        Intent::Failure(Class::WebhookBadRequest),
    ),
];

/// Generates log lines one request at a time.
pub struct Generator {
    rng: Rng,
    principals: Vec<Principal>,
    principal_total: u32,
    denial_total: u32,
    streams: Vec<String>,
    start_ms: i64,
    span_ms: i64,
    /// Expected number of requests, to spread times over the span.
    expected: u64,
    step: u64,
    last_ms: i64,
    time_buf: String,
}

/// One generated line, borrowed from the generator's scratch buffer by the caller.
#[derive(Clone, Copy, Debug)]
pub struct LineInfo {
    /// Index of its log stream.
    pub stream: usize,
    /// Its time, epoch milliseconds.
    pub time_ms: i64,
    /// What it is meant to be.
    pub intent: Intent,
}

fn hex(rng: &mut Rng, n: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..n)
        .map(|_| HEX[rng.below(16) as usize] as char)
        .collect()
}

fn upper_id(rng: &mut Rng, prefix: &str, n: usize) -> String {
    const ALNUM: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut s = prefix.to_owned();
    s.extend((0..n).map(|_| ALNUM[rng.below(36) as usize] as char));
    s
}

fn principals(rng: &mut Rng) -> Vec<Principal> {
    let mut out = Vec::new();
    let role = |rng: &mut Rng,
                name: &str,
                session: &str,
                username: String,
                groups: &'static str,
                weight: u32| Principal {
        arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
        sts_arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/{name}/{session}"),
        session: session.to_owned(),
        userid: upper_id(rng, "AROA", 17),
        accesskeyid: upper_id(rng, "ASIA", 16),
        username,
        groups,
        weight,
    };
    // Humans through IAM Identity Center.
    let sso = [
        format!("AWSReservedSSO_AdministratorAccess_{}", hex(rng, 16)),
        format!("AWSReservedSSO_PowerUserAccess_{}", hex(rng, 16)),
        format!("AWSReservedSSO_ReadOnly_{}", hex(rng, 16)),
    ];
    for (i, user) in [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
        "mallory", "oscar",
    ]
    .iter()
    .enumerate()
    {
        let session = format!("{user}@example.com");
        let (groups, name) = match i % 3 {
            0 => ("[system:masters]", &sso[0]),
            1 => ("[developers]", &sso[1]),
            _ => ("[viewers]", &sso[2]),
        };
        let username = format!("sso:{session}");
        out.push(role(rng, name, &session, username, groups, 15));
    }
    // CI.
    for (name, session) in [
        ("github-actions-deploy", "GitHubActions"),
        ("gitlab-runner-prod", "gitlab-runner"),
        ("argocd-cluster-manager", "argocd"),
    ] {
        let username = format!("ci:{name}");
        out.push(role(rng, name, session, username, "[system:masters]", 50));
    }
    // Nodes: one role, many instances.
    let node_role = format!(
        "eks-nodegroup-general-NodeInstanceRole-{}",
        upper_id(rng, "", 12)
    );
    for _ in 0..20 {
        let instance = format!("i-0{}", hex(rng, 16));
        let ip = format!(
            "ip-10-0-{}-{}.ec2.internal",
            rng.below(256),
            1 + rng.below(254)
        );
        let mut p = role(
            rng,
            &node_role,
            &instance,
            format!("system:node:{ip}"),
            "[system:bootstrappers system:nodes]",
            20,
        );
        // All instances of a role share its unique id.
        p.userid = out
            .iter()
            .find(|q: &&Principal| q.arn == p.arn)
            .map_or(p.userid, |q| q.userid.clone());
        out.push(p);
    }
    // EKS's own identities.
    for (name, username) in [
        (
            format!(
                "AWSWesleyClusterManagerLambda-NodeManagerRole-{}",
                upper_id(rng, "", 13)
            ),
            "eks:node-manager",
        ),
        (
            format!(
                "AWSWesleyClusterManagerLambda-Add-AddonManagerRole-{}",
                upper_id(rng, "", 12)
            ),
            "eks:addon-manager",
        ),
        (
            format!(
                "AWSWesleyClusterManagerLambda-CertificateManagerRole-{}",
                upper_id(rng, "", 12)
            ),
            "eks:certificate-controller",
        ),
    ] {
        out.push(role(
            rng,
            &name,
            "EKSAuthTokenSession",
            username.to_owned(),
            "[]",
            80,
        ));
    }
    // The cluster creator: an IAM user mapped to kubernetes-admin.
    out.push(Principal {
        arn: format!("arn:aws:iam::{ACCOUNT}:user/cluster-creator"),
        sts_arn: format!("arn:aws:iam::{ACCOUNT}:user/cluster-creator"),
        session: String::new(),
        userid: upper_id(rng, "AIDA", 17),
        accesskeyid: upper_id(rng, "AKIA", 16),
        username: "kubernetes-admin".to_owned(),
        groups: "[system:masters]",
        weight: 20,
    });
    out
}

/// Go's `strconv.Quote` for the ASCII text the generator writes, as logrus applies it.
fn put_value(out: &mut Vec<u8>, v: &str) {
    let safe = !v.is_empty()
        && v.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'/' | b'@' | b'^' | b'+')
        });
    if safe || v.is_empty() {
        out.extend_from_slice(v.as_bytes());
        return;
    }
    out.push(b'"');
    for &c in v.as_bytes() {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\r' => out.extend_from_slice(b"\\r"),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// `time="…" level=… msg=…`: the fixed keys, in logrus order.
fn head(out: &mut Vec<u8>, time: &str, level: &str, msg: &str) {
    out.extend_from_slice(b"time=\"");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"\" level=");
    out.extend_from_slice(level.as_bytes());
    put(out, "msg", msg);
}

fn put(out: &mut Vec<u8>, key: &str, v: &str) {
    out.push(b' ');
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    put_value(out, v);
}

impl Generator {
    /// A generator for `spec`.
    pub fn new(spec: &Spec) -> Generator {
        let mut rng = Rng::new(spec.seed);
        let principals = principals(&mut rng);
        let streams = (0..spec.streams.max(1))
            .map(|_| format!("authenticator-{}", hex(&mut rng, 32)))
            .collect();
        // About 1.9 lines and 700 bytes per request on average.
        let expected = spec
            .lines
            .map(|l| l * 10 / 19)
            .or(spec.bytes.map(|b| b / 700))
            .unwrap_or(1)
            .max(1);
        Generator {
            principal_total: principals.iter().map(|p| p.weight).sum(),
            denial_total: DENIALS.iter().map(|d| d.weight).sum(),
            principals,
            streams,
            start_ms: spec.start_ms,
            span_ms: spec.span_ms,
            expected,
            step: 0,
            last_ms: spec.start_ms,
            rng,
            time_buf: String::new(),
        }
    }

    /// The log stream names.
    pub fn streams(&self) -> &[String] {
        &self.streams
    }

    fn head(&self, out: &mut Vec<u8>, level: &str, msg: &str) {
        head(out, &self.time_buf, level, msg);
    }

    /// Generates the lines of one request (or one other line), calling `emit` with each
    /// line's text and info.
    pub fn request(&mut self, mut emit: impl FnMut(&[u8], LineInfo)) {
        let frac = (self.step as f64 / self.expected as f64).min(1.0);
        self.step += 1;
        let t = (self.start_ms + (frac * self.span_ms as f64) as i64).max(self.last_ms);
        self.last_ms = t;
        let secs = t.div_euclid(1000) * 1000;
        self.time_buf = eks_authlog_core::time::format_ms(secs);
        let stream = self.rng.below(self.streams.len() as u64) as usize;
        let client = format!("127.0.0.1:{}", 32768 + self.rng.below(28232));
        let info = |intent| LineInfo {
            stream,
            time_ms: secs,
            intent,
        };
        let mut line = Vec::with_capacity(1024);
        let roll = self.rng.below(1000);
        if roll < 850 {
            let p = self.pick_principal();
            self.sts_response(&mut line, p, &client);
            emit(&line, info(Intent::StsResponse));
            line.clear();
            let p = &self.principals[p];
            head(&mut line, &self.time_buf, "info", "access granted");
            put(&mut line, "arn", &p.arn);
            put(&mut line, "client", &client);
            put(&mut line, "groups", p.groups);
            put(&mut line, "method", "POST");
            put(&mut line, "path", "/authenticate");
            put(&mut line, "stsendpoint", "sts.us-east-1.amazonaws.com");
            put(
                &mut line,
                "uid",
                &format!("aws-iam-authenticator:{ACCOUNT}:{}", p.userid),
            );
            put(&mut line, "username", &p.username);
            emit(&line, info(Intent::Grant));
        } else if roll < 970 {
            let d = self.pick_denial();
            let d = &DENIALS[d];
            let arn = if d.mapped {
                let p = self.pick_principal();
                self.sts_response(&mut line, p, &client);
                emit(&line, info(Intent::StsResponse));
                line.clear();
                Some(self.principals[p].arn.clone())
            } else {
                None
            };
            head(&mut line, &self.time_buf, "warning", "access denied");
            if let Some(a) = &arn {
                put(&mut line, "arn", a);
            }
            put(&mut line, "client", &client);
            put(&mut line, "error", d.error);
            put(&mut line, "method", "POST");
            put(&mut line, "path", "/authenticate");
            emit(&line, info(Intent::Deny(d.class)));
        } else {
            let intent = self.other(&mut line, &client);
            emit(&line, info(intent));
        }
    }

    fn pick_principal(&mut self) -> usize {
        let mut r = self.rng.below(u64::from(self.principal_total)) as u32;
        for (i, p) in self.principals.iter().enumerate() {
            if r < p.weight {
                return i;
            }
            r -= p.weight;
        }
        self.principals.len() - 1
    }

    fn pick_denial(&mut self) -> usize {
        let mut r = self.rng.below(u64::from(self.denial_total)) as u32;
        for (i, d) in DENIALS.iter().enumerate() {
            if r < d.weight {
                return i;
            }
            r -= d.weight;
        }
        DENIALS.len() - 1
    }

    fn sts_response(&mut self, out: &mut Vec<u8>, p: usize, client: &str) {
        self.head(out, "info", "STS response");
        let p = &self.principals[p];
        put(out, "accesskeyid", &p.accesskeyid);
        put(out, "accountid", ACCOUNT);
        put(out, "arn", &p.sts_arn);
        put(out, "client", client);
        put(out, "method", "POST");
        put(out, "path", "/authenticate");
        put(out, "session", &p.session);
        put(out, "stsendpoint", "sts.us-east-1.amazonaws.com");
        put(out, "userid", &p.userid);
    }

    fn other(&mut self, out: &mut Vec<u8>, client: &str) -> Intent {
        match self.rng.below(10) {
            0..=2 => {
                // A startup mapping line: the creator or a node role.
                let p = if self.rng.below(2) == 0 {
                    self.principals.len() - 1
                } else {
                    self.pick_principal()
                };
                let (arn, username, groups) = {
                    let p = &self.principals[p];
                    (p.arn.clone(), p.username.clone(), p.groups)
                };
                let user = arn.contains(":user/");
                self.head(
                    out,
                    "info",
                    if user {
                        "mapping IAM user"
                    } else {
                        "mapping IAM role"
                    },
                );
                put(out, "groups", groups);
                put(out, if user { "user" } else { "role" }, &arn);
                put(out, "username", &username);
                Intent::Mapping
            }
            3..=6 => {
                let (level, msg, error, intent) = *self.rng.pick(OTHERS);
                self.head(out, level, msg);
                if intent == Intent::Failure(Class::WebhookBadRequest) {
                    put(out, "client", client);
                }
                if !error.is_empty() {
                    put(out, "error", error);
                }
                if intent == Intent::Failure(Class::WebhookBadRequest) {
                    put(out, "method", "POST");
                    put(out, "path", "/authenticate");
                }
                intent
            }
            7 | 8 => {
                let t = &self.time_buf;
                let _ = write!(
                    out,
                    "W{}{} {}.{:06}       1 reflector.go:324] k8s.io/client-go/informers/factory.go:134: watch of *v1.ConfigMap ended with: an error on the server (\"unable to decode an event from the watch stream: http2: client connection lost\") has prevented the request from succeeding",
                    &t[5..7],
                    &t[8..10],
                    &t[11..19],
                    self.rng.below(1_000_000)
                );
                Intent::Klog
            }
            _ => {
                out.extend_from_slice(
                    b"E! unexpected output from sidecar: connection reset by peer",
                );
                Intent::Garbage
            }
        }
    }
}

/// Counts bytes on their way to the real writer.
struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn json_str(out: &mut Vec<u8>, s: &[u8]) {
    // The generator writes ASCII only, so this is a valid JSON string.
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn insights_time(ms: i64) -> String {
    // `2026-01-15 09:30:00.000`
    let t = eks_authlog_core::time::format_ms(ms - ms.rem_euclid(1000));
    format!("{} {}.{:03}", &t[..10], &t[11..19], ms.rem_euclid(1000))
}

fn rfc3339_ms(ms: i64) -> String {
    let t = eks_authlog_core::time::format_ms(ms - ms.rem_euclid(1000));
    format!("{}.{:03}Z", &t[..19], ms.rem_euclid(1000))
}

/// Writes a corpus for `spec` to `w` (uncompressed; wrap `w` in a gzip encoder for `.gz`).
pub fn write<W: Write>(spec: &Spec, w: W) -> io::Result<Written> {
    let mut w = Counting {
        inner: io::BufWriter::with_capacity(1 << 20, w),
        n: 0,
    };
    let mut generator = Generator::new(spec);
    let streams = generator.streams().to_vec();
    let mut rng = Rng::new(spec.seed ^ 0x5EED);
    let mut lines = 0u64;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut first = true;
    match spec.format {
        CorpusFormat::FilterLogEvents => w.write_all(b"{\n    \"events\": [")?,
        CorpusFormat::QueryResults => w.write_all(b"{\n  \"results\": [")?,
        CorpusFormat::Csv => w.write_all(b"@timestamp,@message,@logStream,@log\r\n")?,
        _ => {}
    }
    let done = |lines: u64, bytes: u64| {
        spec.lines.is_some_and(|l| lines >= l) || spec.bytes.is_some_and(|b| bytes >= b)
    };
    let mut last_ts = i64::MIN;
    while !done(lines, w.n + buf.len() as u64) {
        generator.request(|line, info| {
            lines += 1;
            let stream = streams[info.stream].as_str();
            // Milliseconds within the line's second that never go back: the lines of one
            // request are written microseconds apart, so CloudWatch stamps them in order
            // (random milliseconds put a denial before its own `STS response`).
            let ts = (info.time_ms + rng.below(1000) as i64).max(last_ts);
            last_ts = ts;
            match spec.format {
                CorpusFormat::Raw => {
                    buf.extend_from_slice(line);
                    buf.push(b'\n');
                }
                CorpusFormat::S3Export => {
                    buf.extend_from_slice(rfc3339_ms(ts).as_bytes());
                    buf.push(b' ');
                    buf.extend_from_slice(line);
                    buf.push(b'\n');
                }
                CorpusFormat::Docker => {
                    let mut log = line.to_vec();
                    log.push(b'\n');
                    buf.extend_from_slice(b"{\"log\":");
                    json_str(&mut buf, &log);
                    let _ = writeln!(
                        buf,
                        ",\"stream\":\"stderr\",\"time\":\"{}{:06}Z\"}}",
                        &rfc3339_ms(ts)[..23],
                        rng.below(1_000_000)
                    );
                }
                CorpusFormat::Csv => {
                    buf.extend_from_slice(insights_time(ts).as_bytes());
                    buf.extend_from_slice(b",\"");
                    for &c in line {
                        if c == b'"' {
                            buf.push(b'"');
                        }
                        buf.push(c);
                    }
                    let _ = write!(buf, "\",{stream},{ACCOUNT}:/aws/eks/demo/cluster\r\n");
                }
                CorpusFormat::Ndjson | CorpusFormat::FilterLogEvents => {
                    let pretty = spec.format == CorpusFormat::FilterLogEvents;
                    let (open, sep, close) = if pretty {
                        (
                            if first { "\n        {" } else { ",\n        {" },
                            ",\n            ",
                            "\n        }",
                        )
                    } else {
                        ("{", ",", "}\n")
                    };
                    let ind = if pretty { "\n            " } else { "" };
                    let sp = if pretty { " " } else { "" };
                    let _ = write!(
                        buf,
                        "{open}{ind}\"logStreamName\":{sp}\"{stream}\"{sep}\"timestamp\":{sp}{ts}{sep}\"message\":{sp}"
                    );
                    json_str(&mut buf, line);
                    let _ = write!(
                        buf,
                        "{sep}\"ingestionTime\":{sp}{}{sep}\"eventId\":{sp}\"",
                        ts + 300 + rng.below(700) as i64
                    );
                    for _ in 0..56 {
                        buf.push(b'0' + rng.below(10) as u8);
                    }
                    let _ = write!(buf, "\"{close}");
                }
                CorpusFormat::QueryResults => {
                    buf.extend_from_slice(if first { b"\n    [" } else { b",\n    [" });
                    let _ = write!(
                        buf,
                        "{{\"field\":\"@timestamp\",\"value\":\"{}\"}},{{\"field\":\"@message\",\"value\":",
                        insights_time(ts)
                    );
                    json_str(&mut buf, line);
                    let _ = write!(
                        buf,
                        "}},{{\"field\":\"@logStream\",\"value\":\"{stream}\"}},{{\"field\":\"@ptr\",\"value\":\"Cm{}\"}}]",
                        hex(&mut rng, 40)
                    );
                }
            }
            first = false;
        });
        if buf.len() >= 1 << 15 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)?;
    match spec.format {
        CorpusFormat::FilterLogEvents => w.write_all(b"\n    ],\n    \"searchedLogStreams\": []\n}\n")?,
        CorpusFormat::QueryResults => w.write_all(
            b"\n  ],\n  \"statistics\": {\"recordsMatched\": 0.0, \"recordsScanned\": 0.0, \"bytesScanned\": 0.0},\n  \"status\": \"Complete\"\n}\n",
        )?,
        _ => {}
    }
    w.flush()?;
    Ok(Written { lines, bytes: w.n })
}

/// Parses a size such as `1G`, `200M`, `64k` or `12345` (binary multiples).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let unit = s[i..].to_ascii_lowercase();
            let m = match unit.trim_end_matches(['b', 'i']) {
                "" => 1,
                "k" => 1 << 10,
                "m" => 1 << 20,
                "g" => 1 << 30,
                _ => return Err(format!("unknown size unit in {s:?}")),
            };
            (&s[..i], m)
        }
        None => (s, 1),
    };
    num.trim()
        .parse::<u64>()
        .map(|n| n * mult)
        .map_err(|e| format!("bad size {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use eks_authlog_core::classify::{classify_denial, classify_message};
    use eks_authlog_core::event::{Event, Kind};
    use eks_authlog_core::parse::ParseErrorKind;
    use eks_authlog_core::source::{Envelope, Loc};

    fn lines(spec: &Spec) -> Vec<(Vec<u8>, LineInfo)> {
        let mut g = Generator::new(spec);
        let mut out = Vec::new();
        while (out.len() as u64) < spec.lines.unwrap() {
            g.request(|l, i| out.push((l.to_vec(), i)));
        }
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        for format in [
            CorpusFormat::Raw,
            CorpusFormat::FilterLogEvents,
            CorpusFormat::Csv,
        ] {
            let spec = Spec {
                lines: Some(2000),
                format,
                ..Spec::default()
            };
            let (mut a, mut b) = (Vec::new(), Vec::new());
            write(&spec, &mut a).unwrap();
            write(&spec, &mut b).unwrap();
            assert_eq!(a, b);
            let mut c = Vec::new();
            write(
                &Spec {
                    seed: 7,
                    ..spec.clone()
                },
                &mut c,
            )
            .unwrap();
            assert_ne!(a, c);
        }
    }

    #[test]
    fn every_line_parses_and_classifies_as_intended() {
        let spec = Spec {
            lines: Some(30_000),
            ..Spec::default()
        };
        let mut last = i64::MIN;
        for (n, (line, info)) in lines(&spec).iter().enumerate() {
            let loc = Loc {
                input: "t",
                line: n as u64 + 1,
            };
            let text = String::from_utf8_lossy(line);
            assert!(info.time_ms >= last, "times increase");
            last = info.time_ms;
            let parsed = Event::parse(line, Envelope::default(), loc);
            match info.intent {
                Intent::Klog => {
                    assert_eq!(parsed.unwrap_err().kind, ParseErrorKind::Klog, "{text}");
                    continue;
                }
                Intent::Garbage => {
                    assert_eq!(parsed.unwrap_err().kind, ParseErrorKind::NotLogfmt);
                    continue;
                }
                _ => {}
            }
            let e = parsed.unwrap_or_else(|err| panic!("{err}: {text}"));
            assert!(e.record.trailing.is_none() && !e.record.truncated, "{text}");
            assert_eq!(e.time_ms, Some(info.time_ms), "{text}");
            match info.intent {
                Intent::StsResponse => assert_eq!(e.kind, Kind::StsResponse),
                Intent::Grant => {
                    assert_eq!(e.kind, Kind::AccessGranted);
                    assert!(e.arn().is_some() && e.username().is_some());
                }
                Intent::Deny(class) => {
                    assert_eq!(e.kind, Kind::AccessDenied);
                    let error = e.error().unwrap();
                    assert_eq!(classify_denial(&error).class, class, "{text}");
                }
                Intent::Mapping => assert_eq!(e.kind, Kind::Mapping, "{text}"),
                Intent::Failure(class) => {
                    let level = e.level().unwrap().as_str();
                    assert_eq!(classify_message(level, &e.msg()), Some(class), "{text}");
                }
                Intent::Klog | Intent::Garbage => unreachable!(),
            }
        }
    }

    #[test]
    fn the_mix_is_mostly_grants_with_every_denial_class() {
        let spec = Spec {
            lines: Some(200_000),
            ..Spec::default()
        };
        let all = lines(&spec);
        let count = |f: &dyn Fn(Intent) -> bool| all.iter().filter(|(_, i)| f(i.intent)).count();
        let grants = count(&|i| i == Intent::Grant) as f64;
        let denials = count(&|i| matches!(i, Intent::Deny(_))) as f64;
        let other =
            count(&|i| !matches!(i, Intent::Grant | Intent::Deny(_) | Intent::StsResponse)) as f64;
        let requests = grants + denials + other;
        assert!(
            (grants / requests - 0.85).abs() < 0.01,
            "{}",
            grants / requests
        );
        assert!(
            (denials / requests - 0.12).abs() < 0.01,
            "{}",
            denials / requests
        );
        assert!(
            (other / requests - 0.03).abs() < 0.005,
            "{}",
            other / requests
        );
        for d in DENIALS {
            assert!(count(&|i| i == Intent::Deny(d.class)) > 0, "{:?}", d.class);
        }
        // Every grant and every mapped denial follows its STS response on the same client.
        for w in all.windows(2) {
            if matches!(w[1].1.intent, Intent::Grant) {
                assert_eq!(w[0].1.intent, Intent::StsResponse);
                let client = |l: &[u8]| {
                    let s = String::from_utf8_lossy(l).into_owned();
                    let rest = s.split(" client=").nth(1).unwrap().to_owned();
                    rest.split(' ').next().unwrap().to_owned()
                };
                assert_eq!(client(&w[0].0), client(&w[1].0));
            }
        }
    }

    #[test]
    fn every_format_reads_back_with_the_same_lines() {
        use eks_authlog_core::source::{InputFormat, read_from};
        let base = Spec {
            lines: Some(3000),
            ..Spec::default()
        };
        let mut raw = Vec::new();
        write(&base, &mut raw).unwrap();
        let want: Vec<Vec<u8>> = raw
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        // Every format but raw, the one they are compared with.
        for format in CorpusFormat::ALL.into_iter().skip(1) {
            let mut buf = Vec::new();
            write(
                &Spec {
                    format,
                    ..base.clone()
                },
                &mut buf,
            )
            .unwrap();
            let mut got = Vec::new();
            read_from(
                "t",
                &buf[..],
                InputFormat::Auto,
                &mut |t: &[u8], _: &Envelope<'_>, _: Loc<'_>| got.push(t.to_vec()),
            )
            .unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(got, want, "{format:?}");
        }
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("200MB"), Ok(200 << 20));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("3 parsecs").is_err());
    }
}
