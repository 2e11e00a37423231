//! Command-line arguments (clap derive) and their translation into a library [`Config`].
//!
//! Declared only from `main.rs`: the library never sees clap's types.

use std::ffi::OsStr;
use std::io::IsTerminal;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{ArgGroup, Args as ClapArgs, CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use eks_authlog::config::{ClassOrFamily, Command, Config, FailOn, parse_time};
use eks_authlog_core::analysis::Options;
use eks_authlog_core::classify::{Class, Family};
use eks_authlog_core::pipeline::Job;
use eks_authlog_core::report::{Format, TableStyle};
use eks_authlog_core::source::{Input, InputFormat};

const AFTER_HELP: &str = "\
Examples:
  eks-authlog report testdata/sample.log          # the bundled sample
  aws logs filter-log-events --log-group-name /aws/eks/demo/cluster \\
      --log-stream-name-prefix authenticator | eks-authlog report
  eks-authlog events authenticator.log.gz | jq 'select(.class != null)'
  eks-authlog failures --fail-on any -o json export.json   # exit 1 when failures exist

Exit codes: 0 success, 1 --fail-on matched, 2 usage/input/AWS error, 3 over the --max-scan-gb
budget (nothing more was spent), 4 fleet: a target skipped, 130 interrupted, 143 SIGTERM.";

/// `--version`: the version and the optional features built in.
#[cfg(feature = "cloudwatch")]
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (features: +cloudwatch)");
#[cfg(not(feature = "cloudwatch"))]
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (features: -cloudwatch)");

/// Table width when neither `--width`, the terminal nor `COLUMNS` gives one.
const DEFAULT_WIDTH: u16 = 120;

/// The subcommands `eks-authlog man COMMAND` writes a page for (a test keeps this in step
/// with `Sub`).
const MAN_PAGES: &[&str] = &[
    "report",
    "creator",
    "failures",
    "events",
    "access",
    "fleet",
    "classes",
    "queries",
    "explain",
    "completions",
    "man",
];

/// EKS authentication forensics: who created the cluster, and why every request was denied.
#[derive(Debug, Parser)]
#[command(name = "eks-authlog", version = VERSION, about, after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// The cluster creator, failures by class with remedies, timeline and principals.
    Report(StreamArgs),
    /// Only the cluster creator (the identity EKS maps to kubernetes-admin), with evidence.
    Creator(DocArgs),
    /// Only the failures: class, who fixes it, remedy, and when.
    Failures(DocArgs),
    /// One record per event (NDJSON when piped), classified.
    Events(StreamArgs),
    /// The access inventory from aws-auth / access-entry files, with audit findings.
    Access(AccessArgs),
    /// Audit every cluster of many accounts and regions (scheduled jobs): findings as NDJSON,
    /// a summary by account and region, incremental windows with --state.
    Fleet(FleetArgs),
    /// List the failure classes: family, who fixes it, meaning.
    Classes,
    /// Print the Logs Insights queries (all, or one by name), ready to paste into the console.
    Queries {
        /// Query name (all queries when omitted).
        #[arg(value_parser = query_names())]
        name: Option<String>,
    },
    /// Classify one error text: bare, as `error="…"`, or a whole log line (with no TEXT, each
    /// line of stdin): its class, meaning, who fixes it and the remedy.
    Explain {
        /// The text to classify (each non-blank line of stdin when omitted or `-`).
        text: Option<String>,
        /// Output format [default: table on a terminal, json when piped].
        #[arg(short, long, value_enum)]
        output: Option<DocFormat>,
        /// Table width in columns [default: as for the other commands].
        #[arg(long, value_name = "COLUMNS")]
        width: Option<u16>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff) to stdout: eks-authlog(1), or eks-authlog-COMMAND(1).
    Man {
        /// The subcommand whose page to print (the main page when omitted).
        #[arg(value_parser = PossibleValuesParser::new(MAN_PAGES))]
        command: Option<String>,
    },
}

/// Mirrors an enum of the library as a clap value enum: the library does not depend on clap.
/// Each variant's doc comment is its help text; `From` maps it to the library's variant.
macro_rules! value_enum {
    ($(#[$meta:meta])* enum $name:ident => $target:path { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
        enum $name { $($(#[$vmeta])* $variant),+ }

        impl From<$name> for $target {
            fn from(v: $name) -> $target {
                match v { $($name::$variant => <$target>::$variant),+ }
            }
        }
    };
}

value_enum! {
    /// `--input-format`: the shape of the inputs.
    enum InputFormatArg => InputFormat {
        /// Detect the shape from the first bytes.
        Auto,
        /// Plain log lines, one per line.
        Raw,
        /// `aws logs filter-log-events` JSON, whole documents or NDJSON of events or pages.
        FilterLogEvents,
        /// `aws logs get-query-results` JSON.
        QueryResults,
        /// Logs Insights console CSV export (header row with `@message`).
        Csv,
        /// Docker json-file logs (`{"log":…,"stream":…,"time":…}` per line).
        Docker,
        /// CloudWatch export-to-S3 objects (`<RFC 3339 time> <message>` per line).
        S3Export,
        /// CloudTrail: a trail's S3 object (`Records[]`) or `aws cloudtrail lookup-events` JSON.
        #[value(name = "cloudtrail")]
        CloudTrail,
    }
}

value_enum! {
    /// `--output`.
    enum FormatArg => Format {
        /// A readable table (comfy-table).
        Table,
        /// One JSON document.
        Json,
        /// One JSON object per line.
        Ndjson,
    }
}

#[cfg(feature = "cloudwatch")]
value_enum! {
    /// `--strategy`.
    enum StrategyArg => eks_authlog_aws::StrategyChoice {
        /// Events for windows up to 7 days over up to 5 log groups, aggregate otherwise.
        Auto,
        /// Fetch every authenticator line and analyse it here (exact).
        Events,
        /// Aggregate inside Logs Insights (long windows, many clusters).
        Aggregate,
    }
}

/// `--audit` values.
#[cfg(feature = "cloudwatch")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum AuditArg {
    /// No audit query.
    None,
    /// `audit-unauthorized` over the windows around the denials without identity (token and
    /// STS classes): the source IP and user agent that sent each rejected token.
    Unauthorized,
    /// `audit-forbidden` over the whole window: authorization denials (403, forbid) by user
    /// and request, with the fix.
    Forbidden,
    /// `audit-identities` over the whole window: which IAM principal acted under which
    /// username, re-created principals, long-term keys, kubernetes-admin.
    Identities,
    /// All three.
    All,
}

/// `--audit` as the run's choice: `none` wins over anything listed with it.
#[cfg(feature = "cloudwatch")]
fn audit_queries(args: &[AuditArg]) -> eks_authlog::config::AuditQueries {
    let none = args.contains(&AuditArg::None);
    let has = |q| !none && (args.contains(&q) || args.contains(&AuditArg::All));
    eks_authlog::config::AuditQueries {
        unauthorized: has(AuditArg::Unauthorized),
        forbidden: has(AuditArg::Forbidden),
        identities: has(AuditArg::Identities),
    }
}

/// `--max-scan-gb`, `fleet --filter-above-gb`: a non-negative number of decimal GB.
fn parse_gb(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(gb) if gb.is_finite() && gb >= 0.0 => Ok(gb),
        _ => Err("use a number of GB, such as 10 or 0.5".to_owned()),
    }
}

/// When to colour tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum ColorWhen {
    /// When stdout is a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Arguments of `report` and `events`, whose `-o ndjson` streams the classified events.
#[derive(Debug, ClapArgs)]
struct StreamArgs {
    /// Output format [default: table on a terminal; json (report) or ndjson (events) when
    /// piped]. ndjson is one classified event per line, as `events` writes.
    #[arg(short, long, value_enum)]
    output: Option<FormatArg>,

    #[command(flatten)]
    run: RunArgs,
}

/// Arguments of `creator` and `failures`: their output is one document.
#[derive(Debug, ClapArgs)]
struct DocArgs {
    /// Output format [default: table on a terminal, json when piped]. For one record per
    /// line, use `eks-authlog events`.
    #[arg(short, long, value_enum)]
    output: Option<DocFormat>,

    #[command(flatten)]
    run: RunArgs,
}

/// The output formats of a single document (`creator`, `failures`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DocFormat {
    /// A readable table.
    Table,
    /// One JSON document (eks-authlog.report/v1).
    Json,
}

impl From<DocFormat> for Format {
    fn from(f: DocFormat) -> Format {
        match f {
            DocFormat::Table => Format::Table,
            DocFormat::Json => Format::Json,
        }
    }
}

#[derive(Debug, ClapArgs)]
#[command(group(ArgGroup::new("cloudwatch_source").multiple(true)))]
struct RunArgs {
    /// Log files to read (any supported shape, gzip too); `-` reads stdin. With none, stdin
    /// is read when it is not a terminal, unless a CloudWatch source is named.
    #[arg(value_name = "INPUT")]
    inputs: Vec<String>,

    /// Shape of the inputs (detected per input by default).
    #[arg(long, value_enum, default_value_t = InputFormatArg::Auto)]
    input_format: InputFormatArg,

    /// Only events at or after this time: 15m, 24h, 7d (ago), RFC 3339, or a date.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,

    /// Only events at or before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,

    /// Only these failure classes or families (repeatable, or comma-separated; `eks-authlog
    /// classes` explains each).
    #[arg(long, value_name = "CLASS|FAMILY", value_delimiter = ',', value_parser = class_or_family())]
    class: Vec<ClassOrFamily>,

    /// Only grants and denials whose ARN or username contains this text (repeatable).
    #[arg(long, value_name = "TEXT")]
    principal: Vec<String>,

    /// Also list EKS-internal identities (eks:* usernames, AWSWesleyClusterManagerLambda roles).
    #[arg(long)]
    include_internal: bool,

    /// Replace account ids, access key ids, unique ids and session names with stable pseudonyms.
    #[arg(long)]
    redact: bool,

    /// Key for --redact pseudonyms (without one, a 12-digit account id can be brute-forced).
    /// Implies --redact. EKS_AUTHLOG_REDACT_KEY sets the key without turning --redact on.
    #[arg(long, value_name = "KEY")]
    redact_key: Option<String>,

    /// Exit 1 when failures of this class or family (or `any`) were found (repeatable).
    #[arg(long, value_name = "CLASS|FAMILY|any", value_delimiter = ',', value_parser = fail_on())]
    fail_on: Vec<FailOn>,

    /// Exit 2 when any line could not be parsed.
    #[arg(long)]
    strict: bool,

    /// The EKS cluster the logs belong to: its name goes into remedy commands. With no INPUT,
    /// its CloudWatch log group /aws/eks/NAME/cluster is queried (repeatable then).
    #[arg(long, value_name = "NAME", group = "cloudwatch_source")]
    cluster: Vec<String>,

    /// The old spelling of `--cluster` with log files.
    #[arg(long, value_name = "NAME", hide = true, conflicts_with = "cluster")]
    cluster_name: Option<String>,

    /// AWS region: where to query CloudWatch (repeatable), and what remedies say.
    #[arg(long, value_name = "REGION", env = "AWS_REGION", value_delimiter = ',')]
    region: Vec<String>,

    /// Log group to query instead of log files (repeatable).
    #[cfg(feature = "cloudwatch")]
    #[arg(
        long,
        value_name = "GROUP",
        help_heading = "CloudWatch Logs Insights",
        group = "cloudwatch_source",
        conflicts_with = "inputs"
    )]
    log_group: Vec<String>,

    /// Query every /aws/eks/*/cluster log group in each region instead of log files.
    #[cfg(feature = "cloudwatch")]
    #[arg(
        long,
        help_heading = "CloudWatch Logs Insights",
        group = "cloudwatch_source",
        conflicts_with = "inputs"
    )]
    all_clusters: bool,

    /// AWS profile (default: the standard credential chain). Needs --cluster, --log-group or
    /// --all-clusters without INPUT, or creator --iam with INPUT.
    #[cfg(feature = "cloudwatch")]
    #[arg(
        long,
        value_name = "PROFILE",
        help_heading = "CloudWatch Logs Insights"
    )]
    profile: Option<String>,

    /// Fetch lines (events) or aggregate in Insights (aggregate) [auto: events up to 7 days
    /// over up to 5 log groups; the default window is 24h, 90d for `creator`].
    #[cfg(feature = "cloudwatch")]
    #[arg(
        long,
        value_enum,
        default_value_t = StrategyArg::Auto,
        help_heading = "CloudWatch Logs Insights",
        requires = "cloudwatch_source",
        conflicts_with = "inputs"
    )]
    strategy: StrategyArg,

    /// Give up after this long (90s, 10m, 1h), every region included: running queries are
    /// stopped and the exit code is 2.
    #[cfg(feature = "cloudwatch")]
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10m",
        value_parser = parse_timeout,
        help_heading = "CloudWatch Logs Insights",
        requires = "cloudwatch_source",
        conflicts_with = "inputs"
    )]
    timeout: std::time::Duration,

    /// Stop before Logs Insights would scan more than this many GB (decimal, every query and
    /// region of the run; $0.005/GB list price). Every query is first estimated at no charge;
    /// one that would pass the budget is not started and the exit code is 3.
    #[cfg(feature = "cloudwatch")]
    #[arg(
        long,
        value_name = "GB",
        default_value_t = eks_authlog_aws::cloudwatch::budget::DEFAULT_MAX_SCAN_GB,
        value_parser = parse_gb,
        help_heading = "CloudWatch Logs Insights",
        requires = "cloudwatch_source",
        conflicts_with = "inputs"
    )]
    max_scan_gb: f64,

    /// Run without a scan budget: queries are still estimated first and their cost reported,
    /// but none is refused (also when an estimate cannot be read). Never prompts.
    #[cfg(feature = "cloudwatch")]
    #[arg(
        long,
        help_heading = "CloudWatch Logs Insights",
        requires = "cloudwatch_source",
        conflicts_with_all = ["inputs", "max_scan_gb"]
    )]
    yes: bool,

    /// Kube-apiserver audit queries to add after the authenticator queries (comma-separated):
    /// `unauthorized` looks up who sent the tokens denied without an identity, only over the
    /// seconds around those denials; `forbidden` and `identities` aggregate the 403 denials
    /// and the identity map over the whole window (audit streams are large: see the
    /// estimate); `all`; `none` adds nothing.
    #[cfg(feature = "cloudwatch")]
    #[arg(
        long,
        value_name = "QUERIES",
        value_enum,
        value_delimiter = ',',
        default_value = "unauthorized",
        help_heading = "CloudWatch Logs Insights",
        requires = "cloudwatch_source",
        conflicts_with = "inputs"
    )]
    audit: Vec<AuditArg>,

    /// Threads for large inputs (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,

    /// When to colour tables.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,

    /// Table width in columns [default: the terminal's width; when not writing to a terminal,
    /// $COLUMNS, else 120].
    #[arg(long, value_name = "COLUMNS")]
    width: Option<u16>,

    /// No summary line on stderr.
    #[arg(short, long)]
    quiet: bool,

    /// aws-auth / access-entry / describe-cluster files: diagnose each not-mapped principal
    /// (repeatable; see `eks-authlog access`).
    #[arg(long, value_name = "FILE")]
    access_config: Vec<String>,

    /// With --cluster and no INPUT, report and failures also read the cluster's access
    /// configuration live (EKS API, and aws-auth through kubectl) to diagnose each not-mapped
    /// principal; this turns that off.
    #[cfg(feature = "cloudwatch")]
    #[arg(long, help_heading = "Live access configuration")]
    no_live_access: bool,

    #[cfg(feature = "cloudwatch")]
    #[command(flatten)]
    kube: KubeArgs,

    /// creator --cluster: do not look the CreateCluster call up in CloudTrail's Event history
    /// (LookupEvents).
    #[cfg(feature = "cloudwatch")]
    #[arg(long, help_heading = "Cluster creator")]
    no_cloudtrail: bool,

    /// creator --cluster: do not ask IAM (GetRole, GetUser) whether the creator still exists.
    #[cfg(feature = "cloudwatch")]
    #[arg(long, help_heading = "Cluster creator")]
    no_iam: bool,

    /// creator with log files: also ask IAM (GetRole, GetUser, with --region and --profile)
    /// whether the creator still exists, was re-created, or is gone (with --cluster and no
    /// INPUT it is asked anyway).
    #[cfg(feature = "cloudwatch")]
    #[arg(long, help_heading = "Cluster creator", conflicts_with = "no_iam")]
    iam: bool,

    /// creator --cluster: also search this CloudWatch Logs group, where a CloudTrail trail
    /// delivers its events, for the cluster's CreateCluster (Logs Insights, estimated and
    /// budgeted like every query; repeatable).
    #[cfg(feature = "cloudwatch")]
    #[arg(
        long,
        value_name = "GROUP",
        help_heading = "Cluster creator",
        long_help = "creator --cluster: also search this CloudWatch Logs group, where a \
            CloudTrail trail delivers its events, for the cluster's EKS CreateCluster event, \
            through Logs Insights (repeatable). The window is the cluster's createdAt ±1 hour \
            (DescribeCluster); when that is not known, --since/--until, by default the last 90 \
            days. Every query is estimated first and admitted by the scan budget \
            (--max-scan-gb, --yes; exit 3 when refused). It works with or without \
            --no-cloudtrail, which turns off only the Event history (LookupEvents): a trail \
            keeps events past its 90 days."
    )]
    trail_log_group: Vec<String>,
}

/// How the live read reaches aws-auth (`access --cluster`, and report/failures over CloudWatch).
#[derive(Debug, ClapArgs)]
struct KubeArgs {
    /// Do not run kubectl for aws-auth; use only what the EKS API (and files) give.
    #[arg(long, help_heading = "Live access configuration")]
    no_kubectl: bool,

    /// The kubeconfig context for aws-auth [default: the one whose server is the cluster's
    /// endpoint, as DescribeCluster gives it].
    #[arg(
        long,
        value_name = "CONTEXT",
        help_heading = "Live access configuration",
        conflicts_with = "no_kubectl"
    )]
    kube_context: Option<String>,
}

#[derive(Debug, ClapArgs)]
struct AccessArgs {
    /// aws-auth (kubectl -o yaml|json, its data block, eksctl get iamidentitymapping -o
    /// json|yaml) and aws eks list-access-entries / describe-access-entry /
    /// list-associated-access-policies / describe-cluster JSON; `-` reads stdin.
    #[arg(value_name = "FILE", required_unless_present = "cluster")]
    files: Vec<String>,

    /// Read the cluster's access configuration live: DescribeCluster and its access entries
    /// through the EKS API, aws-auth through kubectl. Combines with FILEs.
    #[arg(long, value_name = "NAME", help_heading = "Live access configuration")]
    cluster: Option<String>,

    /// AWS region of the cluster [default: the standard chain's].
    #[arg(
        long,
        value_name = "REGION",
        requires = "cluster",
        help_heading = "Live access configuration"
    )]
    region: Option<String>,

    /// AWS profile [default: the standard credential chain].
    #[arg(
        long,
        value_name = "PROFILE",
        requires = "cluster",
        help_heading = "Live access configuration"
    )]
    profile: Option<String>,

    #[command(flatten)]
    kube: KubeArgs,

    /// With --cluster, do not ask IAM (GetRole, GetUser) whether each mapped principal exists
    /// (findings principal_not_found and principal_recreated).
    #[arg(long, requires = "cluster", help_heading = "Live access configuration")]
    no_iam: bool,

    /// Output format [default: table on a terminal, json when piped]. `json` is also a
    /// snapshot that later runs read back; `ndjson` is one eks-authlog.finding/v1 per line.
    #[arg(short, long, value_enum)]
    output: Option<FormatArg>,

    /// Authenticator log files (any shape `report` reads; `-` is stdin): who used each
    /// mapping, and when; mappings never used; node roles denied (repeatable).
    #[arg(long, value_name = "FILE")]
    logs: Vec<String>,

    /// Force the kind of every FILE instead of detecting it.
    #[arg(long, value_enum, default_value_t = ConfigFormatArg::Auto)]
    config_format: ConfigFormatArg,

    /// Exit 1 when a finding of these kinds or severities is present (comma-separated).
    #[arg(long, value_name = "KIND|SEVERITY|any", value_delimiter = ',',
          value_parser = access_fail_on())]
    fail_on: Vec<String>,
}

/// Arguments of `fleet`.
#[derive(Debug, ClapArgs)]
#[command(group(ArgGroup::new("account_source").args(["accounts", "org"]).multiple(false)))]
struct FleetArgs {
    /// Accounts to audit: 12-digit ids separated by commas, or a file with one per line
    /// (repeatable). Without it (and without --org), the account of the current credentials.
    #[arg(long, value_name = "IDS|FILE", help_heading = "Accounts and regions")]
    accounts: Vec<String>,

    /// Audit every ACTIVE account of the AWS Organization (Organizations ListAccounts: run
    /// from the management account or a delegated administrator, with
    /// organizations:ListAccounts); suspended or closing accounts are listed as skipped.
    #[arg(long, requires = "assume_role", help_heading = "Accounts and regions")]
    org: bool,

    /// Run from this CloudWatch cross-account observability (OAM) monitoring account, with
    /// its own credentials: the EKS log groups of every source account linked to it (or of
    /// --accounts only) are found with DescribeLogGroups includeLinkedAccounts and queried by
    /// ARN, and each row is attributed to its source account by @log. One target per source
    /// account and region, as with --assume-role, but no role is assumed anywhere.
    #[arg(
        long,
        value_name = "ID",
        value_parser = parse_account_id,
        conflicts_with_all = ["assume_role", "org"],
        help_heading = "Accounts and regions"
    )]
    monitoring_account: Option<String>,

    /// The role to assume in each account (STS AssumeRole with the current credentials):
    /// a name (arn:aws:iam::ACCOUNT:role/NAME) or an ARN with {account} in it.
    #[arg(
        long,
        value_name = "NAME",
        requires = "account_source",
        help_heading = "Accounts and regions"
    )]
    assume_role: Option<String>,

    /// The external id the roles' trust policies require.
    #[arg(
        long,
        value_name = "ID",
        requires = "assume_role",
        help_heading = "Accounts and regions"
    )]
    external_id: Option<String>,

    /// The role session name (CloudTrail shows it in each account).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "eks-authlog-fleet",
        requires = "assume_role",
        value_parser = parse_session_name,
        help_heading = "Accounts and regions"
    )]
    session_name: String,

    /// Regions to audit (repeatable, comma-separated), or `all`: every region enabled for each
    /// account (Account ListRegions with the account's credentials, needs account:ListRegions)
    /// [default: the standard chain's].
    #[arg(
        long,
        value_name = "REGION",
        value_delimiter = ',',
        help_heading = "Accounts and regions"
    )]
    region: Vec<String>,

    /// AWS profile for the base credentials [default: the standard credential chain].
    #[arg(long, value_name = "PROFILE", help_heading = "Accounts and regions")]
    profile: Option<String>,

    /// Start of the window for log groups the state file has not seen (or without --state):
    /// 15m, 24h, 7d (ago), RFC 3339, or a date.
    #[arg(long, value_name = "TIME", default_value = "24h")]
    since: String,

    /// End of every window [default: now minus --lag].
    #[arg(long, value_name = "TIME")]
    until: Option<String>,

    /// How far behind now windows end without --until: CloudWatch Logs may deliver events
    /// minutes after their time, and a window closed before they arrive would miss them.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_lag)]
    lag: std::time::Duration,

    /// Keep, per log group, where the last completed window ended; the next run starts there
    /// (no gap, no overlap). Written atomically as windows complete. The run holds an
    /// exclusive lock on FILE.lock: a second run on the same FILE fails at once (exit 2).
    #[arg(long, value_name = "FILE")]
    state: Option<std::path::PathBuf>,

    /// Accounts and regions audited at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    parallel: u16,

    /// Logs Insights queries running at once per account and region (the account's quota is
    /// 100, shared with dashboards and other users).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=50))]
    max_queries: u16,

    /// How each window is read: events (every authenticator line, analysed here: exact),
    /// aggregate (counted inside Logs Insights: few rows over any window, but the classes that
    /// need a denial's STS response come out as identity_not_mapped), or auto: events for
    /// windows up to 7 days, aggregate beyond (a first run over 30 or 90 days).
    #[cfg(feature = "cloudwatch")]
    #[arg(long, value_enum, default_value_t = StrategyArg::Auto)]
    strategy: StrategyArg,

    /// Give up after this long (90s, 10m, 1h): running queries are stopped, what completed is
    /// written and kept in the state, and the exit code is 2.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_timeout)]
    timeout: std::time::Duration,

    /// Scan budget of the whole run in GB, every account and region together ($0.005/GB list
    /// price). Every query is first estimated at no charge; one that would pass the budget is
    /// not started, its target is skipped with the reason, and the exit code is 3.
    #[cfg(feature = "cloudwatch")]
    #[arg(
        long,
        value_name = "GB",
        default_value_t = eks_authlog_aws::cloudwatch::budget::DEFAULT_MAX_SCAN_GB,
        value_parser = parse_gb
    )]
    max_scan_gb: f64,

    /// Run without a scan budget: queries are still estimated first and their cost reported,
    /// but none is refused. Never prompts.
    #[cfg(feature = "cloudwatch")]
    #[arg(long, conflicts_with = "max_scan_gb")]
    yes: bool,

    /// How each log group's authenticator lines are read: auto chooses per log group and
    /// window from the Insights estimate (no charge), FilterLogEvents at or above
    /// --filter-above-gb, Insights below.
    #[arg(long, value_enum, default_value_t = ReaderArg::Auto)]
    reader: ReaderArg,

    /// With --reader auto, read a log group with FilterLogEvents when its share of the
    /// window's Insights estimate is at least this many GB (Insights bills $0.005/GB scanned,
    /// audit streams included; FilterLogEvents reads only the authenticator streams).
    #[arg(long, value_name = "GB", default_value_t = 1.0, value_parser = parse_gb)]
    filter_above_gb: f64,

    /// Output format [default: table on a terminal, ndjson when piped]: ndjson is one
    /// eks-authlog.finding/v1 per line, json the eks-authlog.fleet/v1 document.
    #[arg(short, long, value_enum)]
    output: Option<FormatArg>,

    /// Exit 1 when a finding of these kinds (failure classes, target_skipped), families or
    /// severities (and above) is present, or `any` (comma-separated).
    #[arg(long, value_name = "KIND|FAMILY|SEVERITY|any", value_delimiter = ',',
          value_parser = fleet_fail_on())]
    fail_on: Vec<String>,

    /// Table width in columns [default: as for the other commands].
    #[arg(long, value_name = "COLUMNS")]
    width: Option<u16>,

    /// No progress or summary on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// A role session name as STS accepts it: 2 to 64 of `[A-Za-z0-9+=,.@_-]` (AssumeRole API
/// reference, RoleSessionName).
fn parse_session_name(s: &str) -> Result<String, String> {
    let ok = (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(s.to_owned())
    } else {
        Err("use 2 to 64 letters, digits or + = , . @ _ -".to_owned())
    }
}

/// `fleet --reader`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReaderArg {
    /// Per log group and window, from the Insights estimate: FilterLogEvents for a large
    /// scan, Insights (50 log groups per query) for small ones.
    Auto,
    /// Logs Insights for every log group (billed per GB scanned, every stream).
    Insights,
    /// FilterLogEvents on the authenticator-* streams of every log group (no scan charge,
    /// 5 requests per second per account and region).
    Filter,
}

/// `fleet --lag`: like `--timeout`, but zero is allowed.
fn parse_lag(s: &str) -> Result<std::time::Duration, String> {
    let digits = s.strip_suffix(['s', 'm', 'h']).unwrap_or("");
    if !digits.is_empty() && digits.bytes().all(|b| b == b'0') {
        return Ok(std::time::Duration::ZERO);
    }
    parse_timeout(s)
}

/// `fleet --fail-on` values: `any`, every severity, every failure class and family, and
/// `target_skipped`.
fn fleet_fail_on() -> PossibleValuesParser {
    let mut names = vec!["any", "low", "medium", "high", "target_skipped"];
    names.extend(class_or_family_names());
    PossibleValuesParser::new(names)
}

value_enum! {
    /// `access --config-format`.
    enum ConfigFormatArg => eks_authlog_core::access::ConfigFormat {
        /// Detect each file's kind by content.
        Auto,
        /// The aws-auth ConfigMap (YAML or JSON), its data block, or eksctl's identity list.
        AwsAuth,
        /// aws eks list-access-entries, describe-access-entry, list-associated-access-policies
        /// or describe-cluster JSON.
        Eks,
        /// A snapshot written by `eks-authlog access -o json`.
        Snapshot,
    }
}

/// `access --fail-on` values: `any`, every severity, every finding kind.
fn access_fail_on() -> PossibleValuesParser {
    use eks_authlog_core::access::FindingKind;
    let mut names = vec!["any", "low", "medium", "high"];
    names.extend(FindingKind::ALL.iter().map(|k| k.name()));
    PossibleValuesParser::new(names)
}

/// `--timeout`: a positive number of seconds, minutes or hours (`90s`, `10m`, `1h`).
fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err("use a number and s, m or h (90s, 10m, 1h)".to_owned()),
    };
    match num
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_secs))
    {
        Some(secs) if secs > 0 => Ok(std::time::Duration::from_secs(secs)),
        _ => Err("use a positive number and s, m or h (90s, 10m, 1h)".to_owned()),
    }
}

/// `--class` values: every family, then every class (`unclassified` names both, the same
/// failures).
fn class_or_family_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Family::ALL.iter().map(|f| f.as_str()).collect();
    names.extend(
        Class::ALL
            .iter()
            .map(|c| c.as_str())
            .filter(|c| c.parse::<Family>().is_err()),
    );
    names
}

fn class_or_family() -> impl TypedValueParser<Value = ClassOrFamily> {
    PossibleValuesParser::new(class_or_family_names()).try_map(|s| s.parse::<ClassOrFamily>())
}

fn fail_on() -> impl TypedValueParser<Value = FailOn> {
    let mut names = vec!["any"];
    names.extend(class_or_family_names());
    PossibleValuesParser::new(names).try_map(|s| s.parse::<FailOn>())
}

fn query_names() -> PossibleValuesParser {
    PossibleValuesParser::new(
        eks_authlog_core::queries::ALL
            .iter()
            .map(|q| PossibleValue::new(q.name).help(q.description)),
    )
}

/// The table width: `--width`, else the terminal's (when stdout is one), else a valid
/// `COLUMNS`, else 120. An empty or unreadable `COLUMNS` is skipped, never an error: shells
/// set it without exporting it, and some export it empty.
fn table_width(flag: Option<u16>, stdout_tty: bool, columns: Option<&OsStr>) -> u16 {
    let terminal = || {
        stdout_tty
            .then(|| terminal_size::terminal_size_of(std::io::stdout()))
            .flatten()
            .map(|(w, _)| w.0)
            .filter(|&w| w > 0)
    };
    let env = || {
        columns
            .and_then(OsStr::to_str)
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|&w| w > 0)
    };
    flag.or_else(terminal)
        .or_else(env)
        .unwrap_or(DEFAULT_WIDTH)
        .max(40)
}

/// The live read of `access --cluster`.
fn access_live(a: &AccessArgs) -> Option<eks_authlog::live::LiveAccess> {
    let cluster = a.cluster.clone()?;
    Some(eks_authlog::live::LiveAccess {
        cluster,
        region: a.region.clone(),
        profile: a.profile.clone(),
        kubectl: !a.kube.no_kubectl,
        kube_context: a.kube.kube_context.clone(),
        iam: !a.no_iam,
    })
}

/// The live read of `report` and `failures` over CloudWatch: one cluster in one region,
/// unless `--no-live-access`. The live-read flags anywhere else are a usage error.
#[cfg(feature = "cloudwatch")]
fn run_live(
    command: Command,
    off: bool,
    kube: &KubeArgs,
    cloudwatch: Option<&eks_authlog_aws::CloudWatchJob>,
) -> Result<Option<eks_authlog::live::LiveAccess>, String> {
    let flags = off || kube.no_kubectl || kube.kube_context.is_some();
    let applies = matches!(
        command,
        Command::Report | Command::Failures | Command::Creator
    ) && cloudwatch.is_some();
    if !applies {
        if flags {
            return Err(
                "--no-live-access, --no-kubectl and --kube-context apply to report, creator and \
                        failures with --cluster and no INPUT (and to access --cluster)"
                    .to_owned(),
            );
        }
        return Ok(None);
    }
    // Several clusters or regions: which configuration would explain which denial is not
    // known; `access --cluster` reads each.
    let Some(cw) = cloudwatch.filter(|c| {
        c.clusters.len() == 1 && c.log_groups.is_empty() && !c.all_clusters && c.regions.len() <= 1
    }) else {
        return Ok(None);
    };
    if off {
        return Ok(None);
    }
    Ok(Some(eks_authlog::live::LiveAccess {
        cluster: cw.clusters[0].clone(),
        region: cw.regions.first().cloned(),
        profile: cw.profile.clone(),
        kubectl: !kube.no_kubectl,
        kube_context: kube.kube_context.clone(),
        iam: false,
    }))
}

/// The creator flags, taken before the run's arguments are moved into the plan.
#[cfg(feature = "cloudwatch")]
struct CreatorFlags {
    no_cloudtrail: bool,
    no_iam: bool,
    iam: bool,
    trail_log_group: Vec<String>,
    region: Vec<String>,
    profile: Option<String>,
}

/// The CloudTrail and IAM reads of `creator --cluster NAME` (one cluster, at most one
/// region), and IAM's for `creator FILES --iam`. `--no-cloudtrail`, `--no-iam` and
/// `--trail-log-group` anywhere else are a usage error, and so is `--iam`.
#[cfg(feature = "cloudwatch")]
fn creator_live(
    command: Command,
    a: &CreatorFlags,
    cloudwatch: Option<&eks_authlog_aws::CloudWatchJob>,
    cluster: Option<&str>,
    window: (Option<i64>, Option<i64>),
    now_ms: i64,
) -> Result<Option<eks_authlog::creator::CreatorLive>, String> {
    let (since_ms, until_ms) = window;
    if command == Command::Creator && cloudwatch.is_none() {
        // Exported files: IAM only when asked.
        if a.no_cloudtrail || a.no_iam || !a.trail_log_group.is_empty() {
            return Err(
                "--no-cloudtrail, --no-iam and --trail-log-group apply to creator with \
                        one --cluster and no INPUT; with log files, --iam asks IAM"
                    .to_owned(),
            );
        }
        if a.region.len() > 1 {
            return Err("creator --iam asks IAM in one --region".to_owned());
        }
        return Ok(a.iam.then(|| eks_authlog::creator::CreatorLive {
            cluster: cluster.unwrap_or_default().to_owned(),
            region: a.region.first().cloned(),
            profile: a.profile.clone(),
            cloudtrail: false,
            iam: true,
            trail_log_groups: Vec::new(),
            since_ms,
            until_ms,
            now_ms,
        }));
    }
    let one = cloudwatch.filter(|c| {
        c.clusters.len() == 1 && c.log_groups.is_empty() && !c.all_clusters && c.regions.len() <= 1
    });
    let Some(cw) = one.filter(|_| command == Command::Creator) else {
        if a.no_cloudtrail || a.no_iam || a.iam || !a.trail_log_group.is_empty() {
            return Err(
                "--no-cloudtrail, --no-iam and --trail-log-group apply to creator with \
                        one --cluster and no INPUT, --iam to creator with log files"
                    .to_owned(),
            );
        }
        return Ok(None);
    };
    if let Some(g) = a.trail_log_group.iter().find(|g| g.trim().is_empty()) {
        return Err(format!(
            "--trail-log-group {g:?}: a log group name is not empty"
        ));
    }
    Ok(Some(eks_authlog::creator::CreatorLive {
        cluster: cw.clusters[0].clone(),
        region: cw.regions.first().cloned(),
        profile: cw.profile.clone(),
        cloudtrail: !a.no_cloudtrail,
        iam: !a.no_iam,
        trail_log_groups: a.trail_log_group.clone(),
        since_ms,
        until_ms,
        now_ms,
    }))
}

/// What `main` should do.
pub enum Plan {
    /// Run a job.
    Run(Box<Config>),
    /// Write this text to stdout (class list, queries, completions, man page).
    Print(Vec<u8>),
    /// Print the access inventory.
    Access(eks_authlog::access::AccessJob),
    /// Audit the fleet.
    #[cfg(feature = "cloudwatch")]
    Fleet(Box<eks_authlog::fleet::FleetCommand>),
}

impl Args {
    /// Validates the arguments into a plan.
    pub fn into_plan(self) -> Result<Plan, String> {
        let (command, format, a) = match self.command {
            Sub::Report(s) => (Command::Report, s.output.map(Format::from), s.run),
            Sub::Creator(d) => (Command::Creator, d.output.map(Format::from), d.run),
            Sub::Failures(d) => (Command::Failures, d.output.map(Format::from), d.run),
            Sub::Events(s) => (Command::Events, s.output.map(Format::from), s.run),
            Sub::Classes => return Ok(Plan::Print(classes_table().into_bytes())),
            Sub::Queries { name } => {
                return queries_text(name.as_deref()).map(|t| Plan::Print(t.into_bytes()));
            }
            Sub::Completions { shell } => {
                let mut out = Vec::new();
                clap_complete::generate(shell, &mut completion_command(), "eks-authlog", &mut out);
                return Ok(Plan::Print(out));
            }
            Sub::Man { command } => return man_page(command.as_deref()).map(Plan::Print),
            Sub::Access(a) => {
                if a.files.iter().chain(&a.logs).filter(|f| *f == "-").count() > 1 {
                    return Err("stdin (`-`) can be read only once".to_owned());
                }
                let tty = std::io::stdout().is_terminal();
                let format = a.output.map(Format::from).unwrap_or(if tty {
                    Format::Table
                } else {
                    Format::Json
                });
                let live = access_live(&a);
                return Ok(Plan::Access(eks_authlog::access::AccessJob {
                    files: a.files,
                    config_format: a.config_format.into(),
                    logs: a.logs,
                    format,
                    fail_on: a.fail_on,
                    live,
                }));
            }
            Sub::Fleet(f) => return fleet_plan(f),
            Sub::Explain {
                text,
                output,
                width,
            } => {
                let tty = std::io::stdout().is_terminal();
                let json = output.map_or(!tty, |o| o == DocFormat::Json);
                let columns = std::env::var_os("COLUMNS");
                let style = TableStyle {
                    width: table_width(width, tty, columns.as_deref()),
                    color: false,
                };
                return eks_authlog::explain::render(text.as_deref(), json, style).map(Plan::Print);
            }
        };
        let now = chrono::Utc::now().timestamp_millis();
        let time = |s: &Option<String>| {
            s.as_deref()
                .map(|s| parse_time(s, now))
                .transpose()
                .map_err(|e| e.to_string())
        };
        let (since_ms, until_ms) = (time(&a.since)?, time(&a.until)?);
        if let (Some(s), Some(u)) = (since_ms, until_ms)
            && s > u
        {
            return Err("--since is after --until".to_owned());
        }
        let mut classes = Vec::new();
        let mut families = Vec::new();
        for c in &a.class {
            match *c {
                ClassOrFamily::Class(c) => classes.push(c),
                ClassOrFamily::Family(f) => families.push(f),
            }
        }
        let mut inputs: Vec<Input> = a.inputs.iter().map(|i| Input::from_arg(i)).collect();
        let mut clusters = a.cluster;
        if let Some(name) = a.cluster_name {
            if inputs.is_empty() {
                return Err("--cluster-name is now --cluster; with no INPUT, --cluster queries CloudWatch, so name the input (`-` for stdin)".to_owned());
            }
            clusters.push(name);
        }
        #[cfg(feature = "cloudwatch")]
        let cw_source = !clusters.is_empty() || !a.log_group.is_empty() || a.all_clusters;
        #[cfg(feature = "cloudwatch")]
        let creator_flags = CreatorFlags {
            no_cloudtrail: a.no_cloudtrail,
            no_iam: a.no_iam,
            iam: a.iam,
            trail_log_group: a.trail_log_group.clone(),
            region: a.region.clone(),
            profile: a.profile.clone(),
        };
        // --profile picks the credentials of a CloudWatch source, or IAM's for creator --iam
        // with log files; anywhere else it would be ignored, so it is an error.
        #[cfg(feature = "cloudwatch")]
        if a.profile.is_some() {
            let files = !a.inputs.is_empty();
            if !files && !cw_source {
                return Err(
                    "--profile needs a CloudWatch source: --cluster <NAME>, --log-group \
                            or --all-clusters with no INPUT (or creator --iam with log files)"
                        .to_owned(),
                );
            }
            if files && !(command == Command::Creator && a.iam) {
                return Err(
                    "--profile cannot be used with log files (INPUT): it picks the \
                            credentials of a CloudWatch source, or of creator --iam"
                        .to_owned(),
                );
            }
        }
        #[cfg(not(feature = "cloudwatch"))]
        let cw_source = !clusters.is_empty();
        // With log files `--cluster` only names the cluster (clap refuses the other
        // CloudWatch flags next to INPUT); without, it is where to read from.
        let (cluster, remote) = if !inputs.is_empty() || !cw_source {
            if clusters.len() > 1 {
                return Err("with log files, --cluster names the one cluster they come from (for remedy commands); give it once".to_owned());
            }
            (clusters.pop(), false)
        } else {
            if a.input_format != InputFormatArg::Auto {
                return Err(
                    "--input-format applies to log files, not to a CloudWatch source".to_owned(),
                );
            }
            (None, true)
        };
        #[cfg(not(feature = "cloudwatch"))]
        if remote {
            return Err("this eks-authlog was built without CloudWatch support (feature `cloudwatch`): give log files, or `-` for stdin, and --cluster names the cluster in remedies".to_owned());
        }
        #[cfg(feature = "cloudwatch")]
        let cloudwatch = if remote {
            let default_window = if command == Command::Creator {
                "90d"
            } else {
                "24h"
            };
            Some(eks_authlog_aws::CloudWatchJob {
                clusters,
                log_groups: a.log_group,
                all_clusters: a.all_clusters,
                regions: a.region.clone(),
                profile: a.profile,
                strategy: a.strategy.into(),
                start_ms: match since_ms {
                    Some(s) => s,
                    None => parse_time(default_window, now).map_err(|e| e.to_string())?,
                },
                end_ms: match (since_ms, until_ms) {
                    (Some(s), None) if s > now => {
                        return Err("--since is in the future".to_owned());
                    }
                    (_, u) => u.unwrap_or(now),
                },
                creator_only: command == Command::Creator,
                timeout: Some(a.timeout),
                // One budget for the whole run: every region, the audit pass included.
                budget: Some(std::sync::Arc::new(if a.yes {
                    eks_authlog_aws::cloudwatch::budget::ScanBudget::unlimited()
                } else {
                    eks_authlog_aws::cloudwatch::budget::ScanBudget::from_gb(a.max_scan_gb)
                })),
            })
        } else {
            None
        };
        if inputs.is_empty() && !remote {
            if std::io::stdin().is_terminal() {
                return Err("no input: give log files (or `-` for stdin), pipe lines in, or name a CloudWatch source (--cluster)".to_owned());
            }
            inputs.push(Input::Stdin);
        }
        let stdout_tty = std::io::stdout().is_terminal();
        let format = format.unwrap_or(match (stdout_tty, command) {
            (true, _) => Format::Table,
            (false, Command::Events) => Format::Ndjson,
            (false, _) => Format::Json,
        });
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match a.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => stdout_tty && !no_color,
        };
        let options = Options {
            since_ms,
            until_ms,
            classes,
            families,
            principals: a.principal,
            include_internal: a.include_internal,
            cluster,
            region: a.region.first().cloned(),
            ..Options::default()
        };
        #[cfg(feature = "cloudwatch")]
        let options = Options {
            cluster: options
                .cluster
                .or_else(|| cloudwatch.as_ref().and_then(|c| c.single_cluster())),
            ..options
        };
        #[cfg(feature = "cloudwatch")]
        let live_access = run_live(command, a.no_live_access, &a.kube, cloudwatch.as_ref())?;
        #[cfg(not(feature = "cloudwatch"))]
        let live_access = None;
        #[cfg(feature = "cloudwatch")]
        let creator_live = creator_live(
            command,
            &creator_flags,
            cloudwatch.as_ref(),
            options.cluster.as_deref(),
            (since_ms, until_ms),
            now,
        )?;
        #[cfg(not(feature = "cloudwatch"))]
        let creator_live = None;
        let columns = std::env::var_os("COLUMNS");
        Ok(Plan::Run(Box::new(Config {
            command,
            job: Job {
                inputs,
                format: a.input_format.into(),
                options,
                threads: a.threads,
                strict: a.strict,
            },
            #[cfg(feature = "cloudwatch")]
            cloudwatch,
            format,
            table: TableStyle {
                width: table_width(a.width, stdout_tty, columns.as_deref()),
                color,
            },
            redact: a.redact || a.redact_key.is_some(),
            redact_key: (a.redact_key)
                .or_else(|| std::env::var(REDACT_KEY_ENV).ok())
                .unwrap_or_default()
                .into_bytes(),
            fail_on: a.fail_on,
            quiet: a.quiet,
            access_config: a.access_config,
            live_access,
            #[cfg(feature = "cloudwatch")]
            audit: audit_queries(&a.audit),
            #[cfg(not(feature = "cloudwatch"))]
            audit: eks_authlog::config::AuditQueries::default(),
            creator_live,
        })))
    }
}

/// `--monitoring-account`: a 12-digit account id.
fn parse_account_id(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(format!("`{s}` is not a 12-digit account id"))
    }
}

/// Validates `fleet`'s arguments.
#[cfg(feature = "cloudwatch")]
fn fleet_plan(f: FleetArgs) -> Result<Plan, String> {
    let now = chrono::Utc::now().timestamp_millis();
    let time = |s: &str| parse_time(s, now).map_err(|e| e.to_string());
    let since_ms = time(&f.since)?;
    let end_ms = match &f.until {
        Some(u) => time(u)?,
        None => now - f.lag.as_millis() as i64,
    };
    // Whole seconds: Logs Insights windows are, and the state then holds round numbers.
    let end_ms = end_ms.div_euclid(1000) * 1000;
    if since_ms >= end_ms {
        return Err(
            "fleet: --since is not before the end of the window (--until, or now minus --lag)"
                .to_owned(),
        );
    }
    let mut accounts = Vec::new();
    for a in &f.accounts {
        for id in eks_authlog::fleet::read_accounts(a)? {
            if !accounts.contains(&id) {
                accounts.push(id);
            }
        }
    }
    if let Some(r) = f.region.iter().find(|r| r.trim().is_empty()) {
        return Err(format!("fleet: empty region name {r:?} in --region"));
    }
    let all_regions = f.region.iter().any(|r| r == "all");
    if all_regions && f.region.len() > 1 {
        return Err("fleet: --region all cannot be combined with other regions".to_owned());
    }
    let regions = if all_regions { Vec::new() } else { f.region };
    let tty = std::io::stdout().is_terminal();
    let columns = std::env::var_os("COLUMNS");
    Ok(Plan::Fleet(Box::new(eks_authlog::fleet::FleetCommand {
        job: eks_authlog_aws::fleet::FleetJob {
            accounts,
            assume_role: f.assume_role,
            external_id: f.external_id,
            session_name: f.session_name,
            org: f.org,
            regions,
            all_regions,
            profile: f.profile,
            monitoring_account: f.monitoring_account,
            since_ms,
            end_ms,
            state: f.state,
            parallel: usize::from(f.parallel),
            max_queries: usize::from(f.max_queries),
            timeout: f.timeout,
            reader: match f.reader {
                ReaderArg::Auto => eks_authlog_aws::fleet::ReaderChoice::Auto,
                ReaderArg::Insights => eks_authlog_aws::fleet::ReaderChoice::Insights,
                ReaderArg::Filter => eks_authlog_aws::fleet::ReaderChoice::Filter,
            },
            filter_above_bytes: f.filter_above_gb * 1e9,
            strategy: f.strategy.into(),
            budget: std::sync::Arc::new(if f.yes {
                eks_authlog_aws::cloudwatch::budget::ScanBudget::unlimited()
            } else {
                eks_authlog_aws::cloudwatch::budget::ScanBudget::from_gb(f.max_scan_gb)
            }),
            ..eks_authlog_aws::fleet::FleetJob::default()
        },
        format: f.output.map(Format::from).unwrap_or(if tty {
            Format::Table
        } else {
            Format::Ndjson
        }),
        width: table_width(f.width, tty, columns.as_deref()),
        fail_on: f.fail_on,
        quiet: f.quiet,
    })))
}

#[cfg(not(feature = "cloudwatch"))]
fn fleet_plan(_: FleetArgs) -> Result<Plan, String> {
    Err(
        "this eks-authlog was built without AWS support (feature `cloudwatch`): fleet needs it"
            .to_owned(),
    )
}

/// Keys `--redact` pseudonyms. Read here rather than by clap, so that a key kept in the
/// environment does not turn redaction on the way `--redact-key` does.
const REDACT_KEY_ENV: &str = "EKS_AUTHLOG_REDACT_KEY";

/// The command line that completions describe: the visible subcommands only (clap_complete
/// would also complete the hidden developer tool `corpus`).
fn completion_command() -> clap::Command {
    let full = Args::command();
    let mut cmd = clap::Command::new("eks-authlog")
        .version(VERSION)
        .subcommand_required(true);
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    cmd.subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

/// The man page of the binary (`None`) or of one subcommand, titled eks-authlog-COMMAND.
fn man_page(command: Option<&str>) -> Result<Vec<u8>, String> {
    let mut cmd = Args::command().disable_help_subcommand(true);
    // Building names each subcommand eks-authlog-COMMAND (display name) and gives its
    // synopsis the full `eks-authlog COMMAND` (bin name).
    cmd.build();
    let page = match command {
        None => cmd,
        Some(name) => cmd
            .find_subcommand(name)
            .ok_or_else(|| format!("no subcommand named '{name}'"))?
            .clone(),
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("eks-authlog {VERSION}"))
        .render(&mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// The `queries` listing: each query with its name and purpose as comments.
fn queries_text(name: Option<&str>) -> Result<String, String> {
    let chosen: Vec<&eks_authlog_core::queries::Query> = match name {
        Some(n) => vec![eks_authlog_core::queries::get(n).ok_or_else(|| {
            let names: Vec<&str> = eks_authlog_core::queries::ALL
                .iter()
                .map(|q| q.name)
                .collect();
            format!("no query named '{n}' (have: {})", names.join(", "))
        })?],
        None => eks_authlog_core::queries::ALL.iter().collect(),
    };
    let mut out = String::new();
    for q in chosen {
        if name.is_none() {
            out.push_str(&format!("# ---- {}: {}\n", q.name, q.description));
        }
        out.push_str(q.text.trim_end());
        out.push_str("\n\n");
    }
    Ok(out)
}

/// The `classes` listing.
fn classes_table() -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(["class", "family", "who fixes", "meaning"]);
    for c in Class::ALL {
        t.add_row([
            c.as_str(),
            c.family().as_str(),
            c.fixer().as_str(),
            c.meaning(),
        ]);
    }
    let families: Vec<&str> = Family::ALL.iter().map(|f| f.as_str()).collect();
    format!(
        "{t}\nFamilies (usable with --class and --fail-on): {}\n",
        families.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::*;

    fn run_plan(argv: &[&str]) -> Result<Box<Config>, String> {
        match Args::try_parse_from(argv).unwrap().into_plan()? {
            Plan::Run(c) => Ok(c),
            _ => panic!("expected a run"),
        }
    }

    fn clap_error(argv: &[&str]) -> clap::Error {
        Args::try_parse_from(argv).expect_err("clap refuses it")
    }

    #[test]
    fn input_format_names_are_the_library_names() {
        // The clap mirror and the library enum must agree on every name, in order.
        let names: Vec<String> = InputFormatArg::value_variants()
            .iter()
            .map(|f| f.to_possible_value().unwrap().get_name().to_owned())
            .collect();
        let library: Vec<&str> = InputFormatArg::value_variants()
            .iter()
            .map(|&f| InputFormat::from(f).as_str())
            .collect();
        assert_eq!(names, library);
        assert_eq!(
            library,
            [
                "auto",
                "raw",
                "filter-log-events",
                "query-results",
                "csv",
                "docker",
                "s3-export",
                "cloudtrail"
            ]
        );
    }

    #[test]
    fn verify_cli() {
        Args::command().debug_assert();
    }

    #[test]
    fn parses_a_representative_command_line() {
        let c = run_plan(&[
            "eks-authlog",
            "report",
            "a.log",
            "-",
            "--since",
            "24h",
            "--class",
            "sts,identity_not_mapped",
            "--fail-on",
            "any",
            "-o",
            "json",
            "--redact",
        ])
        .unwrap();
        assert_eq!(c.command, Command::Report);
        assert_eq!(c.format, Format::Json);
        assert_eq!(c.job.inputs, [Input::File("a.log".into()), Input::Stdin]);
        assert_eq!(c.job.options.classes, [Class::IdentityNotMapped]);
        assert_eq!(c.job.options.families, [Family::Sts]);
        assert_eq!(c.fail_on, [FailOn::Any]);
        assert!(c.redact && c.job.options.since_ms.is_some());
    }

    #[test]
    fn redact_key_implies_redact() {
        // Before, `--redact-key abc` alone printed every account id as it was.
        let args = Args::try_parse_from(["eks-authlog", "report", "a.log", "--redact-key", "k"]);
        let Plan::Run(c) = args.unwrap().into_plan().unwrap() else {
            panic!("expected a run")
        };
        assert!(c.redact);
        assert_eq!(c.redact_key, b"k");
    }

    #[test]
    fn rejects_bad_values_with_a_reason() {
        let plan = |argv: &[&str]| run_plan(argv).err().unwrap_or_default();
        assert!(
            plan(&[
                "eks-authlog",
                "report",
                "x",
                "--since",
                "1h",
                "--until",
                "2h"
            ])
            .contains("after --until")
        );
        assert!(plan(&["eks-authlog", "report", "x", "--since", "soon"]).contains("duration ago"));
    }

    #[test]
    fn class_fail_on_and_query_names_are_known_to_clap() {
        let e = clap_error(&["eks-authlog", "report", "x", "--class", "nope"]);
        assert_eq!(e.kind(), ErrorKind::InvalidValue);
        let e = clap_error(&["eks-authlog", "report", "x", "--fail-on", "token_expird"]);
        assert!(e.to_string().contains("token_expired"), "suggests: {e}");
        let e = clap_error(&["eks-authlog", "queries", "nope"]);
        assert_eq!(e.kind(), ErrorKind::InvalidValue);
        // Every class and family name is accepted, by both flags.
        for name in class_or_family_names() {
            let c = run_plan(&[
                "eks-authlog",
                "report",
                "x",
                "--class",
                name,
                "--fail-on",
                name,
            ])
            .unwrap();
            assert_eq!(c.fail_on.len(), 1, "{name}");
        }
        assert_eq!(
            class_or_family_names().len(),
            Class::ALL.len() + Family::ALL.len() - 1,
            "only `unclassified` names both a class and a family"
        );
    }

    #[test]
    fn cluster_names_the_cluster_for_remedies_with_files() {
        let c = run_plan(&["eks-authlog", "report", "a.log", "--cluster", "demo"]).unwrap();
        assert_eq!(c.job.options.cluster.as_deref(), Some("demo"));
        #[cfg(feature = "cloudwatch")]
        assert!(c.cloudwatch.is_none());
        // The old spelling still works with files, and only there.
        let c = run_plan(&["eks-authlog", "report", "a.log", "--cluster-name", "demo"]).unwrap();
        assert_eq!(c.job.options.cluster.as_deref(), Some("demo"));
        let e = run_plan(&["eks-authlog", "report", "--cluster-name", "demo"]).unwrap_err();
        assert!(e.contains("now --cluster"), "{e}");
        let e = run_plan(&[
            "eks-authlog",
            "report",
            "a.log",
            "--cluster",
            "a",
            "--cluster",
            "b",
        ])
        .unwrap_err();
        assert!(e.contains("give it once"), "{e}");
    }

    #[cfg(feature = "cloudwatch")]
    #[test]
    fn cluster_without_inputs_queries_cloudwatch() {
        let c = run_plan(&["eks-authlog", "failures", "--cluster", "demo"]).unwrap();
        let cw = c.cloudwatch.as_ref().expect("a CloudWatch job");
        assert_eq!(cw.clusters, ["demo"]);
        assert_eq!(c.job.options.cluster.as_deref(), Some("demo"));
        assert!(c.job.inputs.is_empty());
    }

    #[cfg(feature = "cloudwatch")]
    #[test]
    fn cloudwatch_only_flags_need_a_cloudwatch_source() {
        for argv in [
            &["eks-authlog", "report", "x", "--strategy", "events"][..],
            &[
                "eks-authlog",
                "report",
                "x",
                "--log-group",
                "/aws/eks/a/cluster",
            ],
            &["eks-authlog", "report", "x", "--all-clusters"],
        ] {
            assert_eq!(
                clap_error(argv).kind(),
                ErrorKind::ArgumentConflict,
                "{argv:?}"
            );
        }
        // --profile is checked after clap (creator FILES --iam takes it): with log files
        // anywhere else, or with no source at all, it is a usage error naming the fix.
        for (argv, says) in [
            (
                &["eks-authlog", "report", "x", "--profile", "p"][..],
                "cannot be used with log files",
            ),
            (
                &[
                    "eks-authlog",
                    "report",
                    "x",
                    "--cluster",
                    "a",
                    "--profile",
                    "p",
                ],
                "cannot be used with log files",
            ),
            (
                &["eks-authlog", "report", "--profile", "p"],
                "--cluster <NAME>",
            ),
        ] {
            let e = run_plan(argv).unwrap_err();
            assert!(e.contains(says), "{argv:?}: {e}");
        }
        assert!(run_plan(&["eks-authlog", "creator", "x", "--iam", "--profile", "p"]).is_ok());
        assert_eq!(
            clap_error(&["eks-authlog", "creator", "--strategy", "aggregate"]).kind(),
            ErrorKind::MissingRequiredArgument
        );
        let c = run_plan(&[
            "eks-authlog",
            "report",
            "--log-group",
            "/aws/eks/a/cluster",
            "--profile",
            "p",
            "--strategy",
            "events",
        ])
        .unwrap();
        assert_eq!(c.cloudwatch.unwrap().profile.as_deref(), Some("p"));
        let e = run_plan(&[
            "eks-authlog",
            "report",
            "--cluster",
            "a",
            "--input-format",
            "csv",
        ])
        .unwrap_err();
        assert!(e.contains("--input-format"), "{e}");
    }

    #[cfg(feature = "cloudwatch")]
    #[test]
    fn budget_and_audit_flags_reach_the_job() {
        let c = run_plan(&["eks-authlog", "report", "--cluster", "a"]).unwrap();
        let budget = c.cloudwatch.as_ref().unwrap().budget.as_ref().unwrap();
        assert_eq!(budget.limit_bytes(), Some(10e9), "the default budget");
        assert!(c.audit.unauthorized, "audit-unauthorized by default");
        let c = run_plan(&[
            "eks-authlog",
            "failures",
            "--cluster",
            "a",
            "--max-scan-gb",
            "0.5",
            "--audit",
            "unauthorized,none",
        ])
        .unwrap();
        let budget = c.cloudwatch.as_ref().unwrap().budget.as_ref().unwrap();
        assert_eq!(budget.limit_bytes(), Some(0.5e9));
        assert!(!c.audit.unauthorized, "none wins");
        let c = run_plan(&[
            "eks-authlog",
            "report",
            "--cluster",
            "a",
            "--audit",
            "forbidden,identities",
        ])
        .unwrap();
        assert_eq!(
            (c.audit.unauthorized, c.audit.forbidden, c.audit.identities),
            (false, true, true)
        );
        let c = run_plan(&["eks-authlog", "report", "--cluster", "a", "--audit", "all"]).unwrap();
        assert!(c.audit.unauthorized && c.audit.forbidden && c.audit.identities);
        let c = run_plan(&["eks-authlog", "report", "--cluster", "a", "--yes"]).unwrap();
        let budget = c.cloudwatch.as_ref().unwrap().budget.as_ref().unwrap();
        assert_eq!(budget.limit_bytes(), None);
    }

    #[cfg(feature = "cloudwatch")]
    #[test]
    fn fleet_flags_reach_the_job_and_bad_ones_say_why() {
        let plan = |argv: &[&str]| {
            let mut full = vec!["eks-authlog", "fleet"];
            full.extend_from_slice(argv);
            match Args::try_parse_from(full).unwrap().into_plan() {
                Ok(Plan::Fleet(f)) => Ok(f),
                Ok(_) => panic!("expected a fleet"),
                Err(e) => Err(e),
            }
        };
        let f = plan(&[
            "--accounts",
            "111122223333,444455556666",
            "--assume-role",
            "Audit",
            "--external-id",
            "x",
            "--region",
            "us-east-1,eu-west-1",
            "--until",
            "2026-01-15T10:00:00.500Z",
            "--since",
            "2026-01-15",
            "-o",
            "ndjson",
            "--fail-on",
            "high,target_skipped",
            "--yes",
        ])
        .unwrap();
        assert_eq!(f.job.accounts, ["111122223333", "444455556666"]);
        assert_eq!(f.job.regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(f.job.session_name, "eks-authlog-fleet");
        // Windows end on a whole second.
        assert_eq!(f.job.end_ms % 1000, 0);
        assert!(
            f.job.budget.limit_bytes().is_none(),
            "--yes lifts the budget"
        );
        assert_eq!(f.format, Format::Ndjson);
        assert_eq!(f.fail_on, ["high", "target_skipped"]);
        assert!(!f.job.org && !f.job.all_regions);
        assert_eq!(f.job.reader, eks_authlog_aws::fleet::ReaderChoice::Auto);
        assert_eq!(f.job.filter_above_bytes, 1e9);
        let f = plan(&["--reader", "filter", "--filter-above-gb", "0.25"]).unwrap();
        assert_eq!(f.job.reader, eks_authlog_aws::fleet::ReaderChoice::Filter);
        assert_eq!(f.job.filter_above_bytes, 0.25e9);
        let f = plan(&["--org", "--assume-role", "Audit", "--region", "all"]).unwrap();
        assert!(f.job.org && f.job.all_regions && f.job.accounts.is_empty());
        assert!(f.job.regions.is_empty());
        let e = plan(&["--region", "all,us-east-1"]).unwrap_err();
        assert!(e.contains("--region all"), "{e}");
        let e = plan(&["--accounts", "1234"]).unwrap_err();
        assert!(e.contains("1234"), "{e}");
        let e = plan(&["--since", "1h", "--until", "2h"]).unwrap_err();
        assert!(e.contains("--since"), "{e}");
        for bad in [
            &["fleet", "--external-id", "x"][..],
            &[
                "fleet",
                "--accounts",
                "111122223333",
                "--session-name",
                "a b",
            ],
            &["fleet", "--yes", "--max-scan-gb", "1"],
            &["fleet", "--fail-on", "nope"],
            &["fleet", "--reader", "both"],
            &["fleet", "--filter-above-gb", "-1"],
            // --org and --accounts are exclusive; --org needs a role to assume.
            &[
                "fleet",
                "--org",
                "--accounts",
                "111122223333",
                "--assume-role",
                "A",
            ],
            &["fleet", "--org"],
        ] {
            let mut argv = vec!["eks-authlog"];
            argv.extend_from_slice(bad);
            assert!(Args::try_parse_from(argv).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn creator_and_failures_refuse_ndjson() {
        for sub in ["creator", "failures"] {
            let e = clap_error(&["eks-authlog", sub, "x", "-o", "ndjson"]);
            assert_eq!(e.kind(), ErrorKind::InvalidValue, "{sub}");
            let c = run_plan(&["eks-authlog", sub, "x", "-o", "json"]).unwrap();
            assert_eq!(c.format, Format::Json);
        }
        let c = run_plan(&["eks-authlog", "report", "x", "-o", "ndjson"]).unwrap();
        assert_eq!(c.format, Format::Ndjson);
    }

    #[test]
    fn width_flag_then_terminal_then_valid_columns_then_120() {
        let os = |s: &'static str| Some(OsStr::new(s));
        assert_eq!(table_width(Some(90), false, os("200")), 90);
        assert_eq!(table_width(Some(10), false, None), 40);
        assert_eq!(table_width(None, false, os("200")), 200);
        assert_eq!(table_width(None, false, os(" 100 ")), 100);
        for bad in ["", "abc", "0", "-5", "99999"] {
            assert_eq!(table_width(None, false, os(bad)), 120, "{bad:?}");
        }
        assert_eq!(table_width(None, false, None), 120);
    }

    #[test]
    fn man_pages_cover_every_visible_subcommand() {
        let visible: Vec<String> = Args::command()
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_owned())
            .collect();
        assert_eq!(visible, MAN_PAGES);
        for page in MAN_PAGES {
            let text = String::from_utf8(man_page(Some(page)).unwrap()).unwrap();
            assert!(text.contains(&format!("eks-authlog-{page}")), "{page}");
        }
    }
}
