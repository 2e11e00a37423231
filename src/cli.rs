//! Command-line arguments (clap derive) and their translation into a library [`Config`].
//!
//! Declared only from `main.rs`: the library never sees clap's types.

use std::io::IsTerminal;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

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

Exit codes: 0 success, 1 --fail-on matched, 2 usage/input/AWS error, 130 interrupted.";

/// EKS authentication forensics: who created the cluster, and why every request was denied.
#[derive(Debug, Parser)]
#[command(name = "eks-authlog", version, about, after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// The cluster creator, failures by class with remedies, timeline and principals.
    Report(RunArgs),
    /// Only the cluster creator (the identity EKS maps to kubernetes-admin), with evidence.
    Creator(RunArgs),
    /// Only the failures: class, who fixes it, remedy, and when.
    Failures(RunArgs),
    /// One record per event (NDJSON when piped), classified.
    Events(RunArgs),
    /// The access inventory from aws-auth / access-entry files, with audit findings.
    Access(AccessArgs),
    /// List the failure classes: family, who fixes it, meaning.
    Classes,
    /// Print the Logs Insights queries (all, or one by name), ready to paste into the console.
    Queries {
        /// Query name (creator, recent, failures, agg-identities, agg-failures).
        name: Option<String>,
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

#[derive(Debug, ClapArgs)]
struct RunArgs {
    /// Log files to read (any supported shape, gzip too); `-` reads stdin. With none, stdin
    /// is read when it is not a terminal.
    #[arg(value_name = "INPUT")]
    inputs: Vec<String>,

    /// Shape of the inputs (detected per input by default).
    #[arg(long, value_enum, default_value_t = InputFormatArg::Auto)]
    input_format: InputFormatArg,

    /// Output format [default: table on a terminal; json (report) or ndjson (events) when piped].
    #[arg(short, long, value_enum)]
    output: Option<FormatArg>,

    /// Only events at or after this time: 15m, 24h, 7d (ago), RFC 3339, or a date.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,

    /// Only events at or before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,

    /// Only these failure classes or families (repeatable, or comma-separated).
    #[arg(long, value_name = "CLASS|FAMILY", value_delimiter = ',')]
    class: Vec<String>,

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
    #[arg(
        long,
        env = "EKS_AUTHLOG_REDACT_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    redact_key: Option<String>,

    /// Exit 1 when failures of this class or family (or `any`) were found (repeatable).
    #[arg(long, value_name = "CLASS|FAMILY|any", value_delimiter = ',')]
    fail_on: Vec<String>,

    /// Exit 2 when any line could not be parsed.
    #[arg(long)]
    strict: bool,

    /// Cluster name to fill into remedy commands.
    #[arg(long, value_name = "NAME")]
    cluster_name: Option<String>,

    /// AWS region: where to query CloudWatch (repeatable), and what remedies say.
    #[arg(long, value_name = "REGION", env = "AWS_REGION", value_delimiter = ',')]
    region: Vec<String>,

    /// CloudWatch: cluster to query, log group /aws/eks/NAME/cluster (repeatable).
    #[cfg(feature = "cloudwatch")]
    #[arg(long, value_name = "NAME", help_heading = "CloudWatch Logs Insights")]
    cluster: Vec<String>,

    /// CloudWatch: log group to query (repeatable).
    #[cfg(feature = "cloudwatch")]
    #[arg(long, value_name = "GROUP", help_heading = "CloudWatch Logs Insights")]
    log_group: Vec<String>,

    /// CloudWatch: every /aws/eks/*/cluster log group in each region.
    #[cfg(feature = "cloudwatch")]
    #[arg(long, help_heading = "CloudWatch Logs Insights")]
    all_clusters: bool,

    /// CloudWatch: AWS profile (default: the standard credential chain).
    #[cfg(feature = "cloudwatch")]
    #[arg(
        long,
        value_name = "PROFILE",
        help_heading = "CloudWatch Logs Insights"
    )]
    profile: Option<String>,

    /// CloudWatch: fetch lines (events) or aggregate in Insights (aggregate) [auto: events up
    /// to 7 days over up to 5 log groups; the default window is 24h, 90d for `creator`].
    #[cfg(feature = "cloudwatch")]
    #[arg(long, value_enum, default_value_t = StrategyArg::Auto, help_heading = "CloudWatch Logs Insights")]
    strategy: StrategyArg,

    /// Threads for large inputs (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,

    /// When to colour tables.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,

    /// Table width in columns.
    #[arg(long, env = "COLUMNS", default_value_t = 120)]
    width: u16,

    /// No summary line on stderr.
    #[arg(short, long)]
    quiet: bool,

    /// aws-auth / access-entry / describe-cluster files: diagnose each not-mapped principal
    /// (repeatable; see `eks-authlog access`).
    #[arg(long, value_name = "FILE")]
    access_config: Vec<String>,
}

#[derive(Debug, ClapArgs)]
struct AccessArgs {
    /// aws-auth (kubectl -o yaml|json, its data block, eksctl get iamidentitymapping -o
    /// json|yaml) and aws eks list-access-entries / describe-access-entry /
    /// list-associated-access-policies / describe-cluster JSON; `-` reads stdin.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<String>,

    /// Output format [default: table on a terminal, json when piped].
    #[arg(short, long, value_enum)]
    output: Option<FormatArg>,
}

/// What `main` should do.
pub enum Plan {
    /// Run a job.
    Run(Box<Config>),
    /// Print the class list.
    Classes,
    /// Print queries.
    Queries(Option<String>),
    /// Print the access inventory of these files.
    Access(Vec<String>, Format),
}

impl Args {
    /// Validates the arguments into a plan.
    pub fn into_plan(self) -> Result<Plan, String> {
        let (command, a) = match self.command {
            Sub::Report(a) => (Command::Report, a),
            Sub::Creator(a) => (Command::Creator, a),
            Sub::Failures(a) => (Command::Failures, a),
            Sub::Events(a) => (Command::Events, a),
            Sub::Access(a) => {
                let tty = std::io::stdout().is_terminal();
                let format = a.output.map(Format::from).unwrap_or(if tty {
                    Format::Table
                } else {
                    Format::Json
                });
                return Ok(Plan::Access(a.files, format));
            }
            Sub::Classes => return Ok(Plan::Classes),
            Sub::Queries { name } => return Ok(Plan::Queries(name)),
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
            match c.parse::<ClassOrFamily>()? {
                ClassOrFamily::Class(c) => classes.push(c),
                ClassOrFamily::Family(f) => families.push(f),
            }
        }
        let fail_on = a
            .fail_on
            .iter()
            .map(|f| f.parse::<FailOn>())
            .collect::<Result<Vec<_>, _>>()?;
        let mut inputs: Vec<Input> = a.inputs.iter().map(|i| Input::from_arg(i)).collect();
        #[cfg(feature = "cloudwatch")]
        let cloudwatch = if a.cluster.is_empty() && a.log_group.is_empty() && !a.all_clusters {
            None
        } else {
            if !inputs.is_empty() {
                return Err("give log files or a CloudWatch source (--cluster, --log-group, --all-clusters), not both".to_owned());
            }
            let default_window = if command == Command::Creator {
                "90d"
            } else {
                "24h"
            };
            Some(eks_authlog_aws::CloudWatchJob {
                clusters: a.cluster,
                log_groups: a.log_group,
                all_clusters: a.all_clusters,
                regions: a.region.clone(),
                profile: a.profile,
                strategy: a.strategy.into(),
                start_ms: match since_ms {
                    Some(s) => s,
                    None => parse_time(default_window, now).map_err(|e| e.to_string())?,
                },
                end_ms: until_ms.unwrap_or(now),
                creator_only: command == Command::Creator,
            })
        };
        #[cfg(feature = "cloudwatch")]
        let remote = cloudwatch.is_some();
        #[cfg(not(feature = "cloudwatch"))]
        let remote = false;
        if inputs.is_empty() && !remote {
            if std::io::stdin().is_terminal() {
                return Err("no input: give log files (or `-` for stdin), pipe lines in, or name a CloudWatch source (--cluster)".to_owned());
            }
            inputs.push(Input::Stdin);
        }
        let stdout_tty = std::io::stdout().is_terminal();
        let format = a
            .output
            .map(Format::from)
            .unwrap_or(match (stdout_tty, command) {
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
            cluster: a.cluster_name,
            region: a.region.first().cloned(),
        };
        #[cfg(feature = "cloudwatch")]
        let options = Options {
            cluster: options
                .cluster
                .or_else(|| cloudwatch.as_ref().and_then(|c| c.single_cluster())),
            ..options
        };
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
                width: a.width.max(40),
                color,
            },
            redact: a.redact,
            redact_key: a.redact_key.unwrap_or_default().into_bytes(),
            fail_on,
            quiet: a.quiet,
            access_config: a.access_config,
        })))
    }
}

/// The `queries` listing: each query with its name and purpose as comments.
pub fn queries_text(name: Option<&str>) -> Result<String, String> {
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
pub fn classes_table() -> String {
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
    use clap::CommandFactory;

    use super::*;

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
                "s3-export"
            ]
        );
    }

    #[test]
    fn verify_cli() {
        Args::command().debug_assert();
    }

    #[test]
    fn parses_a_representative_command_line() {
        let args = Args::try_parse_from([
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
        let Plan::Run(c) = args.into_plan().unwrap() else {
            panic!("expected a run")
        };
        assert_eq!(c.command, Command::Report);
        assert_eq!(c.format, Format::Json);
        assert_eq!(c.job.inputs, [Input::File("a.log".into()), Input::Stdin]);
        assert_eq!(c.job.options.classes, [Class::IdentityNotMapped]);
        assert_eq!(c.job.options.families, [Family::Sts]);
        assert_eq!(c.fail_on, [FailOn::Any]);
        assert!(c.redact && c.job.options.since_ms.is_some());
    }

    #[test]
    fn rejects_bad_values_with_a_reason() {
        let plan = |argv: &[&str]| {
            Args::try_parse_from(argv)
                .unwrap()
                .into_plan()
                .err()
                .unwrap_or_default()
        };
        assert!(plan(&["eks-authlog", "report", "x", "--class", "nope"]).contains("unknown class"));
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
}
