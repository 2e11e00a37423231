//! The binary's contract: exit codes, inputs, errors, --strict, --fail-on, --redact, colour,
//! table width, completions, man pages, --version, and a quiet exit on a closed pipe.

use std::io::Read;
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;

fn cmd() -> Command {
    let mut c = Command::cargo_bin("eks-authlog").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("AWS_REGION")
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR");
    c
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn report_succeeds_and_summarises_on_stderr() {
    let o = cmd()
        .args(["report", "testdata/sample.log", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("578 lines read: 574 parsed, 1 unparsed (not_logfmt 1)"),
        "{}",
        stderr(&o)
    );
    let q = cmd()
        .args(["report", "testdata/sample.log", "-o", "json", "--quiet"])
        .output()
        .unwrap();
    assert!(q.stderr.is_empty());
}

#[test]
fn fail_on_exits_1_only_when_matching_failures_exist() {
    // (extra arguments after `failures testdata/sample.log -o json`, expected exit code)
    let cases: [(&[&str], i32); 4] = [
        (&["--fail-on", "any"], 1),
        (&["--fail-on", "node_role_not_mapped"], 1),
        (&["--fail-on", "sts"], 1),
        // --class narrows what --fail-on sees.
        (&["--class", "token", "--fail-on", "mapping"], 0),
    ];
    for (extra, want) in cases {
        let o = cmd()
            .args(["failures", "testdata/sample.log", "-o", "json"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(want), "{extra:?}: {}", stderr(&o));
    }
    // A file with only grants has nothing to fail on.
    let o = cmd()
        .args(["report", "-", "-o", "json", "--fail-on", "any"])
        .write_stdin(r#"time="2026-11-20T09:00:00Z" level=info msg="access granted" arn="arn:aws:iam::111122223333:user/a" client="127.0.0.1:1" groups="[]" method=POST path=/authenticate uid="aws-iam-authenticator:111122223333:AIDAEXAMPLE000000001" username=a"#)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn usage_and_input_errors_exit_2_with_a_clear_message() {
    let o = cmd().args(["report", "no/such/file.log"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/file.log"), "{}", stderr(&o));
    let o = cmd()
        .args(["report", "testdata/sample.log", "--class", "bogus"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid value 'bogus' for '--class"),
        "clap knows the class names: {}",
        stderr(&o)
    );
    let o = cmd()
        .args(["report", "testdata/sample.log", "--since", "tomorrow"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = cmd()
        .args(["report", "--output", "xml", "testdata/sample.log"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "clap's own usage errors exit 2");
    let o = cmd()
        .args(["report", "-"])
        .write_stdin("{\"unexpected\": true}\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains('-'),
        "the error names stdin: {}",
        stderr(&o)
    );
}

#[test]
fn strict_fails_on_unparsed_lines_only() {
    let o = cmd()
        .args(["report", "testdata/sample.log", "-o", "json", "--strict"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("first: testdata/sample.log:577: not_logfmt at byte 0"),
        "names the line, why and the byte: {}",
        stderr(&o)
    );
    let clean = "testdata/classes/token_expired.log";
    assert_eq!(
        cmd()
            .args(["report", clean, "-o", "json", "--strict"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn reads_stdin_when_piped_and_gzip_from_files() {
    let sample = std::fs::read("testdata/sample.log").unwrap();
    let o = cmd()
        .args(["report", "-o", "json"])
        .write_stdin(sample)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["inputs"][0]["name"], "-");
    assert_eq!(doc["creator"]["status"], "found");
    let o = cmd()
        .args(["events", "testdata/inputs/s3-export.log.gz"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .all(|l| l.starts_with("{\"schema\":\"eks-authlog.event/v1\""))
    );
}

#[test]
fn events_filter_by_class_and_time() {
    let o = cmd()
        .args([
            "events",
            "testdata/sample.log",
            "--class",
            "sts_expired_credentials",
        ])
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert!(
        lines
            .iter()
            .all(|r| r["class"] == "sts_expired_credentials")
    );
    let o = cmd()
        .args([
            "events",
            "testdata/sample.log",
            "--since",
            "2026-11-20T13:00:00Z",
            "--until",
            "2026-11-20T13:10:00Z",
        ])
        .output()
        .unwrap();
    let times: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["time"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(!times.is_empty());
    assert!(
        times
            .iter()
            .all(|t| t.as_str() >= "2026-11-20T13:00:00Z" && t.as_str() <= "2026-11-20T13:10:00Z")
    );
}

#[test]
fn redact_leaves_no_account_key_or_session_behind() {
    for format in ["table", "json", "ndjson"] {
        let o = cmd()
            .args(["report", "testdata/sample.log", "--redact", "-o", format])
            .output()
            .unwrap();
        let out = String::from_utf8(o.stdout).unwrap();
        for secret in [
            "111122223333",
            "ASIAEXAMPLEEXAMPLE12",
            "AROAEXAMPLEADMIN0001",
            "alice@example.com",
            "i-0123456789abcdef0",
        ] {
            assert!(!out.contains(secret), "{format}: {secret} leaked");
        }
        assert!(out.contains("acct-"), "{format}");
    }
}

#[test]
fn redacted_tables_leak_nothing_at_ordinary_widths() {
    // Before, redaction ran over the drawn table: at width 120 `events --redact` printed
    // account ids, e-mails and instance ids split across wrapped cells (`arn:aws:sts::11` /
    // `1122223333:assu…`), and `report --redact --width 80` the same.
    let secrets = [
        "111122223333",
        "alice@example.com",
        "bob@example.com",
        "i-0123456789abcdef0",
    ];
    for (command, width) in [
        ("events", "120"),
        ("events", "80"),
        ("report", "80"),
        ("report", "60"),
    ] {
        let o = cmd()
            .args([command, "testdata/sample.log", "--redact", "-o", "table"])
            .args(["--width", width, "--color", "never"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = String::from_utf8(o.stdout).unwrap();
        for secret in secrets {
            for w in secret.as_bytes().windows(8) {
                let w = std::str::from_utf8(w).unwrap();
                if !"user-@example.invalid".contains(w) {
                    assert!(!out.contains(w), "{command} at {width}: {w:?} of {secret}");
                }
            }
        }
        assert!(!out.contains("AROAEXAMPLE"), "{command} at {width}");
    }
}

#[test]
fn redact_key_alone_redacts() {
    // Before, `--redact-key` without `--redact` printed every account id in clear.
    let o = cmd()
        .args([
            "report",
            "testdata/sample.log",
            "--redact-key",
            "abc",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(!out.contains("111122223333") && out.contains("acct-"));
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let plain = cmd()
        .args(["report", "testdata/sample.log", "-o", "table"])
        .output()
        .unwrap();
    assert!(
        !plain.stdout.contains(&0x1b),
        "piped output has no ANSI codes"
    );
    let forced = cmd()
        .args([
            "report",
            "testdata/sample.log",
            "-o",
            "table",
            "--color",
            "always",
        ])
        .output()
        .unwrap();
    assert!(forced.stdout.contains(&0x1b));
}

#[test]
fn a_closed_pipe_exits_quietly_with_0() {
    let bin = assert_cmd::cargo::cargo_bin("eks-authlog");
    let big: String = std::fs::read_to_string("testdata/sample.log")
        .unwrap()
        .repeat(40);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    std::fs::write(&path, big).unwrap();
    let mut child = StdCommand::new(bin)
        .args(["events", path.to_str().unwrap(), "-o", "ndjson"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout); // like `| head -c 64`
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("error"), "{err}");
}

#[test]
fn classes_lists_every_class() {
    let o = cmd().arg("classes").output().unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    for name in [
        "identity_not_mapped",
        "node_role_not_mapped",
        "sts_clock_skew",
        "backend_aws_auth_invalid",
        "unclassified",
    ] {
        assert!(out.contains(name), "{name}");
    }
}

#[test]
fn queries_prints_pasteable_insights_queries() {
    let o = cmd().args(["queries", "creator"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("kubernetes-admin") && text.contains("| limit "),
        "{text}"
    );
    let all = String::from_utf8(cmd().arg("queries").output().unwrap().stdout).unwrap();
    for name in [
        "creator",
        "recent",
        "failures",
        "agg-identities",
        "agg-failures",
    ] {
        assert!(all.contains(&format!("# ---- {name}:")), "{name}");
    }
    let o = cmd().args(["queries", "nope"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("possible values: creator, recent"),
        "{}",
        stderr(&o)
    );
}

fn table_width(stdout: &[u8]) -> usize {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('┌'))
        .map(|l| l.chars().count())
        .max()
        .expect("a table")
}

#[test]
fn table_width_follows_width_then_columns_and_never_fails_on_bad_columns() {
    let width = |columns: Option<&str>, extra: &[&str]| {
        let mut c = cmd();
        if let Some(v) = columns {
            c.env("COLUMNS", v);
        }
        let o = c
            .args(["failures", "testdata/sample.log", "-o", "table"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{columns:?}: {}", stderr(&o));
        table_width(&o.stdout)
    };
    // Piped (not a terminal): COLUMNS when valid, else 120; --width wins.
    assert_eq!(width(None, &[]), 120);
    assert_eq!(width(Some("100"), &[]), 100);
    assert_eq!(width(Some("100"), &["--width", "80"]), 80);
    for bad in ["", "abc", "0", "-1"] {
        assert_eq!(width(Some(bad), &[]), 120, "COLUMNS={bad:?}");
    }
}

#[test]
fn completions_know_subcommands_and_values() {
    let script = |shell: &str| {
        let o = cmd().args(["completions", shell]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let bash = script("bash");
    for word in [
        "failures",
        "identity_not_mapped",
        "agg-identities",
        "--fail-on",
    ] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    assert!(
        !bash.contains("corpus"),
        "the hidden developer tool stays hidden"
    );
    for shell in ["zsh", "fish"] {
        assert!(script(shell).contains("node_role_not_mapped"), "{shell}");
    }
    // These two complete subcommands and flags, not values.
    for shell in ["elvish", "powershell"] {
        assert!(script(shell).contains("failures"), "{shell}");
    }
    let o = cmd().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn man_pages_are_roff_for_the_binary_and_each_subcommand() {
    let o = cmd().arg("man").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(page.contains("\n.TH eks-authlog 1"), "{page}");
    assert!(
        page.contains("eks\\-authlog\\-report(1)"),
        "lists the subcommand pages"
    );
    let page = String::from_utf8(cmd().args(["man", "failures"]).output().unwrap().stdout).unwrap();
    assert!(page.contains(".TH eks-authlog-failures 1"), "{page}");
    assert!(
        page.contains("sts_clock_skew"),
        "class values are in the page"
    );
}

#[test]
fn version_says_which_features_were_built_in() {
    let o = cmd().arg("--version").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let v = String::from_utf8(o.stdout).unwrap();
    let want = if cfg!(feature = "cloudwatch") {
        "+cloudwatch"
    } else {
        "-cloudwatch"
    };
    assert_eq!(
        v.trim(),
        format!(
            "eks-authlog {} (features: {want})",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn creator_and_failures_refuse_ndjson() {
    for sub in ["creator", "failures"] {
        let o = cmd()
            .args([sub, "testdata/sample.log", "-o", "ndjson"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{sub}");
        assert!(
            stderr(&o).contains("possible values: table, json"),
            "{sub}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn cluster_names_the_cluster_in_remedies_when_reading_files() {
    let remedies = |args: &[&str]| {
        let o = cmd()
            .args(["failures", "testdata/sample.log", "-o", "json"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let named = remedies(&["--cluster", "demo"]);
    assert!(
        named.contains("--cluster-name demo"),
        "aws eks remedy names it"
    );
    assert!(!remedies(&[]).contains("--cluster-name demo"));
    assert_eq!(
        named,
        remedies(&["--cluster-name", "demo"]),
        "the old spelling"
    );
}

#[cfg(feature = "cloudwatch")]
#[test]
fn cloudwatch_only_flags_are_errors_next_to_log_files() {
    for extra in [
        &["--profile", "p"][..],
        &["--strategy", "events"],
        &["--log-group", "/aws/eks/demo/cluster"],
        &["--all-clusters"],
        &["--max-scan-gb", "1"],
        &["--yes"],
        &["--audit", "none"],
    ] {
        let o = cmd()
            .args(["report", "testdata/sample.log", "-o", "json"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    }
    // Without any source at all, they say what they need.
    let o = cmd()
        .args(["report", "--profile", "p"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--cluster <NAME>"), "{}", stderr(&o));
}

#[cfg(feature = "cloudwatch")]
#[test]
fn help_shows_the_scan_budget_its_default_and_the_audit_queries() {
    let o = cmd().args(["report", "--help"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8(o.stdout).unwrap();
    for part in [
        "--max-scan-gb <GB>",
        "[default: 10]",
        "--yes",
        "--audit <QUERIES>",
        "[default: unauthorized]",
    ] {
        assert!(help.contains(part), "{part}:\n{help}");
    }
    let o = cmd().arg("--help").output().unwrap();
    let top = String::from_utf8(o.stdout).unwrap();
    assert!(top.contains("3 over the --max-scan-gb"), "{top}");
    // A budget and --yes contradict each other; a budget is a number.
    let o = cmd()
        .args(["report", "--cluster", "demo", "--yes", "--max-scan-gb", "5"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    let o = cmd()
        .args(["report", "--cluster", "demo", "--max-scan-gb", "lots"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("number of GB"), "{}", stderr(&o));
}

/// The binary as a std command, for redirecting its stdout or stderr to a file.
fn std_cmd() -> StdCommand {
    let mut c = StdCommand::new(assert_cmd::cargo::cargo_bin("eks-authlog"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("AWS_REGION")
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR");
    c
}

/// A run whose stderr cannot be written keeps its documented exit code: 0, 1 for `--fail-on`,
/// 2 for `--strict` and for errors (never a panic, 101).
#[test]
fn unwritable_stderr_keeps_the_exit_code() {
    let cases: [(&[&str], i32); 4] = [
        (&["report", "testdata/sample.log", "-o", "json"], 0),
        (
            &[
                "report",
                "testdata/sample.log",
                "-o",
                "json",
                "--fail-on",
                "any",
            ],
            1,
        ),
        (
            &["report", "testdata/sample.log", "-o", "json", "--strict"],
            2,
        ),
        (&["report", "/nonexistent/x.log"], 2),
    ];
    for (args, want) in cases {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = std_cmd().args(args).stderr(full).output().unwrap();
        assert_eq!(o.status.code(), Some(want), "{args:?}");
    }
}

/// `classes` and `queries` exit 2 when their output cannot be written.
#[test]
fn printing_commands_exit_2_when_stdout_fails() {
    for args in [&["classes"][..], &["queries"], &["queries", "failures"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = std_cmd().args(args).stdout(full).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("writing output failed"),
            "{}",
            stderr(&o)
        );
    }
}

/// `report --strict` prints the whole report, then exits 2 naming the first unparsed line.
#[test]
fn strict_report_is_printed_before_exiting_2() {
    let lenient = cmd()
        .args(["report", "testdata/sample.log", "-o", "json"])
        .output()
        .unwrap();
    for args in [
        &["report", "testdata/sample.log", "-o", "json", "--strict"][..],
        &["failures", "testdata/sample.log", "-o", "json", "--strict"],
    ] {
        let o = cmd().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains("(--strict); first: "), "{}", stderr(&o));
        if args[0] == "report" {
            assert!(
                o.stdout == lenient.stdout,
                "the report differs from the lenient one"
            );
        } else {
            assert!(!o.stdout.is_empty());
        }
    }
}

/// `--principal` leaves out failures that name no principal, so `--fail-on` cannot fail on
/// them.
#[test]
fn principal_filter_leaves_out_failures_without_a_principal() {
    let o = cmd()
        .args(["failures", "testdata/sample.log", "-o", "json"])
        .args(["--principal", "no-such-principal", "--fail-on", "any"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["failures"]["total"], 0, "{doc}");
}

/// `--fail-on` over an input where nothing was read passes, with a warning on stderr.
#[test]
fn fail_on_warns_when_nothing_was_read() {
    let o = cmd()
        .args(["failures", "-", "-o", "json", "--fail-on", "any"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("warning: --fail-on checked nothing"),
        "{}",
        stderr(&o)
    );
    // Also under --quiet: the warning is not the summary.
    let q = cmd()
        .args(["failures", "-", "-o", "json", "--fail-on", "any", "-q"])
        .write_stdin("")
        .output()
        .unwrap();
    assert!(stderr(&q).contains("warning: --fail-on checked nothing"));
}

fn explain_json(args: &[&str], stdin: &str) -> serde_json::Value {
    let o = cmd()
        .arg("explain")
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `explain` classifies a bare error text, an `error="…"` pair and a whole log line alike.
#[test]
fn explain_classifies_each_form() {
    let line = r#"time="2022-12-28T15:37:19Z" level=warning msg="access denied" arn="arn:aws:iam::123456789012:role/x" client="127.0.0.1:33384" error="ARN is not mapped" method=POST path=/authenticate"#;
    for (text, form) in [
        ("ARN is not mapped", "text"),
        (r#"error="ARN is not mapped""#, "error_field"),
        (line, "log_line"),
    ] {
        let doc = explain_json(&[text, "-o", "json"], "");
        assert_eq!(doc["schema"], "eks-authlog.explain/v1");
        let r = &doc["results"][0];
        assert_eq!(r["form"], form, "{text}");
        assert_eq!(r["class"], "identity_not_mapped", "{text}");
        assert_eq!(r["family"], "mapping");
        assert_eq!(r["fixer"], "cluster_admin");
        assert_eq!(r["error"], "ARN is not mapped");
        assert!(r["meaning"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(
            r["remedy"]["summary"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

/// Several lines on stdin give one result each; an unknown text is `unclassified`, exit 0.
#[test]
fn explain_reads_stdin_one_result_per_line() {
    let doc = explain_json(
        &["-o", "json"],
        "ARN is not mapped\n\r\nthe moon is made of cheese\r\nerror=\"Unable to re-establish watch: x\"\n",
    );
    let classes: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["class"].as_str().unwrap())
        .collect();
    assert_eq!(
        classes,
        [
            "identity_not_mapped",
            "unclassified",
            "backend_aws_auth_unhealthy"
        ]
    );
    let doc = explain_json(&["-", "-o", "json"], "nothing known\n");
    assert_eq!(doc["results"][0]["class"], "unclassified");
}

/// The table names the class, its meaning, who fixes it and the remedy.
#[test]
fn explain_table_names_class_meaning_fixer_and_remedy() {
    let o = cmd()
        .args(["explain", "ARN is not mapped", "-o", "table"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let s = String::from_utf8(o.stdout).unwrap();
    for want in [
        "identity_not_mapped (mapping)",
        "meaning",
        "who fixes",
        "cluster_admin",
        "remedy",
    ] {
        assert!(s.contains(want), "{want}: {s}");
    }
}
