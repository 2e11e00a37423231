//! Joining diagnoses to a report: every principal of a not-mapped failure class gets the
//! [`Diagnosis`] its cluster's access configuration gives, and the table shows it in place of
//! the class's generic remedy.
//!
//! This module owns which classes are "not mapped" and how a diagnosis reads as text. It does
//! not build the report (that is `analysis`) nor diagnose (that is `access`), nor lay out the
//! table (that is `report::table`, which calls [`write_text`]). It sits in the report layer
//! because it reads both: `access` never imports the analysis.

use std::io::{self, Write};

use crate::access::usage::HiddenMapping;
use crate::access::{AccessConfig, Denial, Diagnosis, LogUse, PrincipalUse, diagnose};
use crate::analysis::Report;
use crate::classify::Class;

/// What to run for a diagnosis when no access configuration was given.
pub const HINT: &str = "add --access-config FILE for the exact cause and fix (kubectl get \
     configmap aws-auth -n kube-system -o yaml; aws eks describe-cluster, list-access-entries, \
     describe-access-entry JSON)";

/// Whether the class is a principal that no mapping matched, which the configuration explains.
pub const fn is_not_mapped(class: Class) -> bool {
    matches!(
        class,
        Class::IdentityNotMapped
            | Class::NodeRoleNotMapped
            | Class::SsoRoleNotMapped
            | Class::PrincipalRecreated
            | Class::RolePathInMapping
    )
}

/// Diagnoses every principal of every not-mapped class of `report`.
pub fn attach(report: &mut Report, cfg: &AccessConfig) {
    for class in &mut report.failures.by_class {
        if !is_not_mapped(class.class) {
            continue;
        }
        let node = class.class == Class::NodeRoleNotMapped;
        let time = class.last_seen.clone();
        for p in &mut class.principals {
            let d = diagnose(
                cfg,
                &Denial {
                    arn: &p.name,
                    session: None,
                    time: time.as_deref(),
                    node,
                },
            );
            p.diagnosis = Some(Box::new(d));
        }
    }
}

/// Writes a diagnosis as indented text: cause, evidence, summary, YAML and commands.
pub fn write_text<W: Write>(out: &mut W, arn: &str, d: &Diagnosis) -> io::Result<()> {
    writeln!(out, "  {arn}: {}", d.cause.as_str())?;
    let ev = &d.evidence;
    let mut at: Vec<String> = Vec::new();
    at.extend(ev.source.clone());
    at.extend(ev.section.clone());
    at.extend(ev.line.map(|l| format!("line {l}")));
    if !at.is_empty() {
        write!(out, "    at {}", at.join(" "))?;
        match &ev.entry {
            Some(e) => writeln!(out, ": {e}")?,
            None => writeln!(out)?,
        }
    }
    writeln!(out, "    {}", d.fix.summary)?;
    if let Some(yaml) = &d.fix.yaml {
        writeln!(out, "    aws-auth entry:")?;
        for line in yaml.lines() {
            writeln!(out, "      {line}")?;
        }
    }
    for cmd in &d.fix.commands {
        writeln!(out, "    $ {cmd}")?;
    }
    for u in &d.unread {
        writeln!(out, "    (not based on: {u})")?;
    }
    Ok(())
}

/// What `report` says about the principals, in the form the access inventory joins
/// ([`Inventory::with_usage`](crate::access::Inventory::with_usage)). Analyse with
/// `include_internal` so that node roles are in it.
pub fn log_use(report: &Report) -> LogUse {
    let principals = report
        .principals
        .list
        .iter()
        .map(|p| PrincipalUse {
            arn: p.arn.clone(),
            granted: p.granted,
            usernames: p.usernames.iter().map(|u| u.name.clone()).collect(),
            node_role_denials: p
                .denied_by_class
                .iter()
                .filter(|c| c.name == Class::NodeRoleNotMapped.as_str())
                .map(|c| c.count)
                .sum(),
            internal: p.internal,
            first_seen: p.first_seen.clone(),
            last_seen: p.last_seen.clone(),
        })
        .collect();
    let creator = report
        .creator
        .identities
        .iter()
        .map(|c| HiddenMapping {
            arn: c.canonical_arn.clone(),
            username: "kubernetes-admin".to_owned(),
            groups: c.groups.clone(),
            evidence: c.evidence.iter().map(|e| (*e).to_owned()).collect(),
            granted: c.count,
            first_seen: c.first_seen.clone(),
            last_seen: c.last_seen.clone(),
        })
        .collect();
    LogUse {
        events: report.events.parsed,
        first_seen: report.window.start.clone(),
        last_seen: report.window.end.clone(),
        principals,
        creator,
    }
}
