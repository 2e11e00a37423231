//! The human report: creator, failures with remedies, timeline sparkline, principals and
//! line accounting, drawn with comfy-table.

use std::io::{self, Write};

use comfy_table::{Attribute, Cell, Color};

use crate::analysis::{self as eks_sources, CreatorStatus, Report, Timeline};
use crate::report::source::{FetchMeta, InputSummary, QueryCost};

use super::{TableStyle, new_table};

/// Which sections a table shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Everything.
    Report,
    /// The creator only.
    Creator,
    /// Failures, with their timeline and remedies.
    Failures,
}

fn escape_in_place(s: &mut String) {
    if let std::borrow::Cow::Owned(e) = super::redact::escape_controls(s) {
        *s = e;
    }
}

/// How many principals a failure row names before "+N more".
const PRINCIPALS_PER_ROW: usize = 3;

/// Writes the report as text tables.
pub fn write<W: Write>(
    out: &mut W,
    r: &Report,
    inputs: &[InputSummary],
    cloudwatch: Option<&[FetchMeta]>,
    view: View,
    style: TableStyle,
) -> io::Result<()> {
    // Texts from the log (an error quoting the client's hostname, an ARN with a NUL) reach
    // the terminal with their control characters escaped, so they cannot move the cursor,
    // set the title or clear the screen. Done before layout, so widths are measured on what
    // is printed.
    let mut escaped = r.clone();
    super::redact::each_string(&mut escaped, &mut escape_in_place);
    let r = &escaped;
    let names: Vec<String> = inputs
        .iter()
        .map(|i| {
            let name = super::redact::escape_controls(&i.name);
            match i.incomplete_query() {
                Some(status) => format!("{name}: query {status}, rows may be missing"),
                None => name.into_owned(),
            }
        })
        .collect();
    let span = match (&r.window.start, &r.window.end) {
        (Some(s), Some(e)) => format!("{s} → {e}"),
        // Only authenticator lines set the window: CloudTrail events or an access
        // configuration alone have times of their own, so "no timestamps" would mislead.
        _ if r.events.parsed == 0 => "no authenticator lines".to_owned(),
        _ => "no timestamps".to_owned(),
    };
    writeln!(out, "eks-authlog: {} ({})", span, names.join(", "))?;
    if let Some(cw) = cloudwatch {
        source_lines(out, cw)?;
    }
    writeln!(out)?;
    if matches!(view, View::Report | View::Creator) {
        creator(out, r, style)?;
    }
    if matches!(view, View::Report | View::Failures) {
        failures(out, r, style)?;
        timeline(out, &r.timeline, style)?;
    }
    if view == View::Report {
        principals(out, r, style)?;
        if let Some(a) = &r.audit {
            super::audit::write(out, a, style)?;
        }
    }
    let e = &r.events;
    write!(
        out,
        "Lines: {} read, {} parsed, {} unparsed",
        e.total, e.parsed, e.unparsed
    )?;
    if !e.unparsed_by_reason.is_empty() {
        let reasons: Vec<String> = e
            .unparsed_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        write!(out, " ({})", reasons.join(", "))?;
    }
    write!(out, ", {} not authenticator lines", e.not_authenticator)?;
    if !e.not_authenticator_by_reason.is_empty() {
        let reasons: Vec<String> = e
            .not_authenticator_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        write!(out, " ({})", reasons.join(", "))?;
    }
    if e.outside_window > 0 {
        write!(out, ", {} outside the time window", e.outside_window)?;
    }
    if e.filtered_out > 0 {
        write!(out, ", {} left out by --principal", e.filtered_out)?;
    }
    if e.window_skew > 0 {
        write!(
            out,
            ", {} kept with a time= outside the window (clock skew)",
            e.window_skew
        )?;
    }
    if e.implausible_time > 0 {
        write!(
            out,
            ", {} with an implausible time (not used)",
            e.implausible_time
        )?;
    }
    writeln!(out, ".")
}

/// `2026-11-20 09:48:00` and, on a second line, `→ 10:43:05` (the date only when it differs).
fn when(first: Option<&str>, last: Option<&str>) -> String {
    let short = |t: &str| t.trim_end_matches('Z').replacen('T', " ", 1);
    match (first, last) {
        (Some(f), Some(l)) if f == l => short(f),
        (Some(f), Some(l)) if f.get(..10) == l.get(..10) => {
            format!("{}\n→ {}", short(f), short(l).get(11..).unwrap_or(""))
        }
        (Some(f), Some(l)) => format!("{}\n→ {}", short(f), short(l)),
        (Some(t), None) | (None, Some(t)) => short(t),
        (None, None) => "-".to_owned(),
    }
}

/// One line per region fetched from CloudWatch: groups, queries, scan and cost, completeness.
fn source_lines<W: Write>(out: &mut W, metas: &[FetchMeta]) -> io::Result<()> {
    for m in metas {
        write!(
            out,
            "CloudWatch {}: {} ({} strategy), {} queries, {} rows, {:.1} MB scanned (~${:.4})",
            m.regions.join(","),
            m.log_groups.join(", "),
            m.strategy.as_str(),
            m.queries_run,
            m.rows,
            m.bytes_scanned / 1e6,
            m.cost_usd,
        )?;
        if let Some(est) = m.estimated_bytes {
            write!(
                out,
                ", estimated {:.1} MB (~${:.4}) before",
                est / 1e6,
                m.estimated_cost_usd.unwrap_or_default()
            )?;
        }
        let eks = m.api_calls.eks.total();
        if eks > 0 {
            write!(out, ", {eks} EKS API calls (access configuration)")?;
        }
        if !m.complete {
            write!(
                out,
                ", INCOMPLETE: {}",
                m.incomplete_reason.as_deref().unwrap_or("see JSON")
            )?;
        }
        writeln!(out)?;
        // Per query only when there are several: one query's figures are the line above.
        if m.query_costs.len() > 1 {
            for c in &m.query_costs {
                writeln!(out, "  {}", query_cost_text(c))?;
            }
        }
    }
    Ok(())
}

/// `audit-unauthorized on /aws/eks/demo/cluster (3 windows): estimated 1.2 MB (insights),
/// scanned 1.1 MB (~$0.0000)`.
pub fn query_cost_text(c: &QueryCost) -> String {
    let mb = |b: f64| format!("{:.1} MB", b / 1e6);
    let windows = if c.windows == 1 {
        String::new()
    } else {
        format!(" ({} windows)", c.windows)
    };
    let estimate = match c.estimated_bytes {
        Some(b) => format!("estimated {} ({})", mb(b), c.estimate_source.as_str()),
        None => "not estimated".to_owned(),
    };
    let scanned = match (c.bytes_scanned, c.cost_usd) {
        (Some(b), Some(usd)) => format!("scanned {} (~${usd:.4})", mb(b)),
        _ => "scanned: no statistics".to_owned(),
    };
    format!(
        "{} on {}{windows}: {estimate}, {scanned}",
        c.query, c.log_group
    )
}

fn heading<W: Write>(out: &mut W, text: &str, style: TableStyle) -> io::Result<()> {
    if style.color {
        writeln!(out, "\x1b[1m{text}\x1b[0m")
    } else {
        writeln!(out, "{text}")
    }
}

fn colored(text: impl Into<String>, color: Color, style: TableStyle) -> Cell {
    let c = Cell::new(text.into());
    if style.color {
        c.fg(color).add_attribute(Attribute::Bold)
    } else {
        c
    }
}

fn creator<W: Write>(out: &mut W, r: &Report, style: TableStyle) -> io::Result<()> {
    let c = &r.creator;
    let (label, color) = match c.status {
        CreatorStatus::Found => ("found", Color::Green),
        CreatorStatus::Ambiguous => (
            "ambiguous: the evidence names several identities",
            Color::Yellow,
        ),
        CreatorStatus::NotFound => ("not found in these logs", Color::Red),
    };
    let status = if style.color {
        format!(
            "\x1b[{}m{label}\x1b[0m",
            if color == Color::Green {
                32
            } else if color == Color::Yellow {
                33
            } else {
                31
            }
        )
    } else {
        label.to_owned()
    };
    heading(
        out,
        &format!("Cluster creator (kubernetes-admin): {status}"),
        style,
    )?;
    if !c.identities.is_empty() {
        let mut t = new_table(style);
        t.set_header(["identity", "evidence", "count", "when (UTC)"]);
        for id in &c.identities {
            let mut name = id.canonical_arn.clone();
            if id.arn != id.canonical_arn {
                name.push_str(&format!("\n(as {})", id.arn));
            }
            if !id.principal_ids.is_empty() {
                name.push_str(&format!("\nunique id {}", id.principal_ids.join(", ")));
            }
            if let Some(p) = &id.person {
                name.push_str(&format!("\nperson (session) {p}"));
            }
            if c.identities.len() > 1 && id.likely_creator {
                name.push_str("\n← likely creator");
            }
            t.add_row([
                Cell::new(name),
                Cell::new(id.evidence.join(", ")),
                Cell::new(id.count),
                Cell::new(when(id.first_seen.as_deref(), id.last_seen.as_deref())),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    for id in c
        .identities
        .iter()
        .filter(|i| i.iam.is_some() || !i.create_cluster.is_empty())
    {
        for call in &id.create_cluster {
            writeln!(
                out,
                "  CreateCluster {} by {} ({}){}",
                call.event_time.as_deref().unwrap_or("(no time)"),
                call.caller_arn.as_deref().unwrap_or(&call.creator_arn),
                call.source,
                call.user_agent
                    .as_deref()
                    .map(|u| format!(", user agent {u}"))
                    .unwrap_or_default()
            )?;
        }
        if let Some(iam) = &id.iam {
            writeln!(out, "  IAM: {}: {}", iam.status.as_str(), iam.reason)?;
        }
        if let Some(r) = &id.recovery {
            writeln!(out, "  Recovery ({}): {}", r.case, r.summary)?;
            for cmd in &r.commands {
                writeln!(out, "    $ {cmd}")?;
            }
        }
    }
    for reason in &c.reasons {
        writeln!(out, "  - {reason}")?;
    }
    let mut used: Vec<String> = Vec::new();
    for s in c
        .sources
        .iter()
        .filter(|s| s.status == eks_sources::SourceStatus::Used)
    {
        let text = match (s.api_calls, s.bytes_scanned) {
            (Some(n), Some(b)) => format!("{} ({n} calls, {b} bytes scanned)", s.source),
            (Some(n), None) => format!("{} ({n} calls)", s.source),
            _ => s.source.to_owned(),
        };
        if !used.contains(&text) {
            used.push(text);
        }
    }
    if !used.is_empty() {
        writeln!(out, "  Sources used: {}", used.join(", "))?;
    }
    if !c.next_steps.is_empty() {
        writeln!(out, "  Next steps:")?;
        for step in &c.next_steps {
            writeln!(out, "    $ {step}")?;
        }
    }
    writeln!(out)
}

fn failures<W: Write>(out: &mut W, r: &Report, style: TableStyle) -> io::Result<()> {
    let f = &r.failures;
    heading(
        out,
        &format!("Failures: {} in {} classes", f.total, f.by_class.len()),
        style,
    )?;
    if f.by_class.is_empty() {
        return writeln!(out);
    }
    let mut t = new_table(style);
    t.set_header(["class", "who fixes", "count", "principals", "when (UTC)"]);
    for c in &f.by_class {
        let mut who: Vec<String> = c
            .principals
            .iter()
            .take(PRINCIPALS_PER_ROW)
            .map(|p| format!("{} ({})", p.name, p.count))
            .collect();
        if c.principals.len() > PRINCIPALS_PER_ROW {
            who.push(format!("+{} more", c.principals.len() - PRINCIPALS_PER_ROW));
        }
        if c.unattributed > 0 {
            who.push(format!("{} without identity", c.unattributed));
        }
        if c.internal > 0 {
            who.push(format!("{} EKS-internal", c.internal));
        }
        t.add_row([
            colored(c.class.as_str(), Color::Red, style),
            Cell::new(c.fixer.as_str()),
            Cell::new(c.count),
            Cell::new(who.join("\n")),
            Cell::new(when(c.first_seen.as_deref(), c.last_seen.as_deref())),
        ]);
    }
    writeln!(out, "{t}")?;
    for c in &f.by_class {
        writeln!(out, "{} — {}", c.class.as_str(), c.meaning)?;
        if let Some(ex) = &c.example {
            writeln!(out, "  e.g. {}:{}: {}", ex.input, ex.line, ex.error)?;
        }
        if !c.callers.is_empty() {
            writeln!(
                out,
                "  Sent by (audit 401s): {}",
                super::audit::callers_text(&c.callers)
            )?;
        }
        // With --access-config, each principal's diagnosis replaces the generic remedy.
        let diagnosed: Vec<_> = c
            .principals
            .iter()
            .filter_map(|p| p.diagnosis.as_ref().map(|d| (p, d)))
            .collect();
        if !diagnosed.is_empty() {
            writeln!(out, "  Diagnosis from the access configuration:")?;
            for (p, d) in diagnosed {
                crate::report::diagnoses::write_text(out, &p.name, d)?;
            }
            continue;
        }
        writeln!(out, "  Fix ({}): {}", c.fixer.as_str(), c.remedy.summary)?;
        for cmd in &c.remedy.commands {
            writeln!(out, "    $ {cmd}")?;
        }
        if crate::report::diagnoses::is_not_mapped(c.class) && !c.principals.is_empty() {
            writeln!(out, "  Diagnose: {}", crate::report::diagnoses::HINT)?;
        }
    }
    writeln!(out)
}

/// Block characters for sparklines, lowest first.
const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Classes drawn in the timeline, most frequent first.
const TIMELINE_CLASSES: usize = 8;
/// Most columns a sparkline takes; more bins are summed into this many.
const SPARK_WIDTH: usize = 60;

/// Draws counts as a sparkline of at most `SPARK_WIDTH` columns (a blank for zero).
pub fn sparkline(counts: &[u64]) -> String {
    let per = counts.len().div_ceil(SPARK_WIDTH).max(1);
    let cols: Vec<u64> = counts.chunks(per).map(|c| c.iter().sum()).collect();
    let max = cols.iter().copied().max().unwrap_or(0);
    cols.iter()
        .map(|&n| match n {
            0 => ' ',
            n => SPARKS[((n * 8).div_ceil(max.max(1)) - 1).min(7) as usize],
        })
        .collect()
}

fn timeline<W: Write>(out: &mut W, tl: &Timeline, style: TableStyle) -> io::Result<()> {
    let (Some(first), Some(last)) = (tl.bins.first(), tl.bins.last()) else {
        return Ok(());
    };
    heading(
        out,
        &format!(
            "Timeline (per {}, {} → {})",
            tl.bin, first.start, last.start
        ),
        style,
    )?;
    let mut by_class: std::collections::BTreeMap<_, u64> = std::collections::BTreeMap::new();
    for b in &tl.bins {
        for (c, n) in &b.by_class {
            *by_class.entry(*c).or_default() += n;
        }
    }
    let mut classes: Vec<_> = by_class.into_iter().collect();
    classes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown = &classes[..classes.len().min(TIMELINE_CLASSES)];
    let totals: Vec<u64> = tl.bins.iter().map(|b| b.total).collect();
    let width = shown
        .iter()
        .map(|(c, _)| c.as_str().len())
        .max()
        .unwrap_or(0)
        .max(5);
    let total: u64 = totals.iter().sum();
    writeln!(out, "  {:<width$} |{}| {total}", "all", sparkline(&totals))?;
    for (c, n) in shown {
        let counts: Vec<u64> = tl
            .bins
            .iter()
            .map(|b| b.by_class.get(c).copied().unwrap_or(0))
            .collect();
        writeln!(out, "  {:<width$} |{}| {n}", c.as_str(), sparkline(&counts))?;
    }
    if classes.len() > shown.len() {
        let rest = classes.len() - shown.len();
        writeln!(
            out,
            "  (+{rest} more classes; the JSON output has every class per bin)"
        )?;
    }
    writeln!(out)
}

fn principals<W: Write>(out: &mut W, r: &Report, style: TableStyle) -> io::Result<()> {
    let p = &r.principals;
    let hidden = if p.internal_hidden > 0 {
        format!(
            " ({} EKS-internal hidden; --include-internal)",
            p.internal_hidden
        )
    } else {
        String::new()
    };
    heading(out, &format!("Principals: {}{hidden}", p.list.len()), style)?;
    if p.list.is_empty() {
        return writeln!(out);
    }
    let mut t = new_table(style);
    t.set_header([
        "principal",
        "authenticated as",
        "granted",
        "denied",
        "when (UTC)",
    ]);
    for pr in &p.list {
        let users: Vec<String> = pr
            .usernames
            .iter()
            .map(|u| format!("{} ({})", u.name, u.count))
            .collect();
        let denied: Vec<String> = pr
            .denied_by_class
            .iter()
            .map(|c| format!("{} {}", c.count, c.name))
            .collect();
        let denied_cell = if pr.denied > 0 {
            colored(
                format!("{}\n{}", pr.denied, denied.join("\n")),
                Color::Red,
                style,
            )
        } else {
            Cell::new(0)
        };
        t.add_row([
            Cell::new(&pr.arn),
            Cell::new(users.join("\n")),
            Cell::new(pr.granted),
            denied_cell,
            Cell::new(when(pr.first_seen.as_deref(), pr.last_seen.as_deref())),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_to_the_maximum() {
        assert_eq!(sparkline(&[0, 1, 8]), " ▁█");
        assert_eq!(sparkline(&[4, 4]), "██");
        assert_eq!(sparkline(&[]), "");
    }

    fn header_of(text: &str) -> String {
        let (report, inputs) =
            crate::pipeline::report_from("in", text.as_bytes(), &crate::pipeline::Job::default())
                .unwrap();
        let mut out = Vec::new();
        write(
            &mut out,
            &report,
            &inputs,
            None,
            View::Creator,
            TableStyle {
                width: 120,
                color: false,
            },
        )
        .unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_cloudtrail_only_input_says_no_authenticator_lines_not_no_timestamps() {
        let trail = r#"{"Records": [{"eventVersion": "1.09", "eventTime": "2026-06-01T10:00:00Z",
            "eventSource": "eks.amazonaws.com", "eventName": "CreateCluster",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"},
            "requestParameters": {"name": "demo"}}]}"#;
        assert_eq!(header_of(trail), "eks-authlog: no authenticator lines (in)");
        // Authenticator lines without a time still say so.
        let untimed = r#"level=info msg="access granted" arn="arn:aws:iam::111122223333:user/alice" username=alice"#;
        assert_eq!(header_of(untimed), "eks-authlog: no timestamps (in)");
    }

    #[test]
    fn sparkline_sums_bins_beyond_its_width() {
        let counts = vec![1u64; 120];
        assert_eq!(sparkline(&counts).chars().count(), 60);
    }
}
