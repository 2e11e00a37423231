//! The audit sections of the human report: 401 versus 403, who is failing, authorization
//! denials with their fixes, the identity map and anonymous requests.

use std::io::{self, Write};

use comfy_table::Cell;

use crate::audit::{AuditSection, CallerCount};

use super::{TableStyle, new_table};

/// Pairings drawn in the table; the JSON has up to a hundred.
const JOINS_SHOWN: usize = 20;

/// `5 from 10.0.3.17 kubectl/v1.29.3, 1 from 10.0.9.2 Terraform/1.7.0`.
pub fn callers_text(callers: &[CallerCount]) -> String {
    callers
        .iter()
        .map(|c| {
            format!(
                "{} from {} {}",
                c.count,
                c.source_ip.as_deref().unwrap_or("?"),
                c.user_agent.as_deref().unwrap_or("(no user agent)")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn who(c: &CallerCount) -> String {
    format!(
        "{} {}",
        c.source_ip.as_deref().unwrap_or("?"),
        c.user_agent.as_deref().unwrap_or("(no user agent)")
    )
}

/// Writes the audit sections.
pub fn write<W: Write>(out: &mut W, a: &AuditSection, style: TableStyle) -> io::Result<()> {
    let e = &a.events;
    writeln!(
        out,
        "Audit log: {} events, {} failed authentication (401), {} denied by authorization (403 forbid), {} denied by admission (403)",
        e.total, e.unauthorized, e.forbidden, e.forbidden_by_admission
    )?;
    writeln!(out, "  {}", a.explain.unauthorized)?;
    writeln!(out, "  {}", a.explain.forbidden)?;
    writeln!(out)?;

    let at = &a.attribution;
    writeln!(
        out,
        "Who is failing: {} denials without identity paired with audit 401s: {} exact, {} likely, {} ambiguous, {} without a 401{}",
        at.denials,
        at.exact,
        at.likely,
        at.ambiguous,
        at.unmatched,
        if at.not_joined > 0 {
            format!(", {} not joined", at.not_joined)
        } else {
            String::new()
        }
    )?;
    for c in &at.by_class {
        write!(out, "  {}: {}", c.class.as_str(), callers_text(&c.callers))?;
        if c.unmatched > 0 {
            write!(out, "; {} without a 401", c.unmatched)?;
        }
        writeln!(out)?;
    }
    if at.unauthorized_unpaired > 0 {
        writeln!(
            out,
            "  {} of {} 401s match no authenticator denial (service-account or OIDC tokens, or authenticator lines not read): {}",
            at.unauthorized_unpaired,
            at.unauthorized,
            callers_text(&at.unpaired_callers)
        )?;
    }
    if !at.joins.is_empty() {
        let mut t = new_table(style);
        t.set_header(["denial (UTC)", "class", "confidence", "caller", "request"]);
        for j in at.joins.iter().take(JOINS_SHOWN) {
            let mut caller = format!(
                "{} {}",
                j.source_ip.as_deref().unwrap_or("?"),
                j.user_agent.as_deref().unwrap_or("")
            );
            if !j.candidates.is_empty() {
                let c: Vec<String> = j.candidates.iter().map(who).collect();
                caller.push_str(&format!("\ncandidates: {}", c.join("; ")));
            }
            t.add_row([
                Cell::new(j.time.trim_end_matches('Z').replacen('T', " ", 1)),
                Cell::new(j.class.as_str()),
                Cell::new(j.confidence.as_str()),
                Cell::new(caller),
                Cell::new(format!(
                    "{} {}",
                    j.verb.as_deref().unwrap_or(""),
                    j.request_uri.as_deref().unwrap_or("")
                )),
            ]);
        }
        writeln!(out, "{t}")?;
        if at.joins.len() > JOINS_SHOWN {
            writeln!(
                out,
                "  (+{} more pairings in the JSON output)",
                at.joins.len() - JOINS_SHOWN
            )?;
        }
    }
    writeln!(out)?;

    let f = &a.forbidden;
    writeln!(out, "Authorization denials (403 forbid): {}", f.total)?;
    if !f.principals.is_empty() {
        let mut t = new_table(style);
        t.set_header(["user", "IAM principal / groups", "denied", "count"]);
        for p in &f.principals {
            let denied: Vec<String> = p
                .requests
                .iter()
                .map(|r| {
                    let what = match (&r.resource, &r.path) {
                        (Some(res), _) => {
                            let mut s = res.clone();
                            if let Some(sub) = &r.subresource {
                                s.push('/');
                                s.push_str(sub);
                            }
                            if let Some(g) = r.api_group.as_deref().filter(|g| !g.is_empty()) {
                                s.push('.');
                                s.push_str(g);
                            }
                            s
                        }
                        (None, Some(p)) => p.clone(),
                        (None, None) => String::new(),
                    };
                    let ns = r
                        .namespace
                        .as_deref()
                        .map_or_else(|| "cluster".to_owned(), |n| format!("ns {n}"));
                    format!("{} {what} ({ns}) ×{}", r.verb, r.count)
                })
                .collect();
            let mut principal = p.canonical_arn.clone().unwrap_or_else(|| "-".to_owned());
            if !p.groups.is_empty() {
                principal.push_str(&format!("\ngroups: {}", p.groups.join(", ")));
            }
            t.add_row([
                Cell::new(&p.username),
                Cell::new(principal),
                Cell::new(denied.join("\n")),
                Cell::new(p.count),
            ]);
        }
        writeln!(out, "{t}")?;
        for p in &f.principals {
            writeln!(
                out,
                "  Fix for {} ({}): {}",
                p.username, p.fix.kind, p.fix.summary
            )?;
            if let Some(yaml) = &p.fix.yaml {
                for l in yaml.lines() {
                    writeln!(out, "    {l}")?;
                }
            }
            for c in &p.fix.commands {
                writeln!(out, "    $ {c}")?;
            }
        }
    }
    writeln!(out)?;

    writeln!(
        out,
        "Identities in the audit log (user.extra): {}",
        a.identities.len()
    )?;
    if !a.identities.is_empty() {
        let mut t = new_table(style);
        t.set_header([
            "IAM principal",
            "acted as",
            "unique ids",
            "keys",
            "requests",
        ]);
        for i in &a.identities {
            let users: Vec<String> = i
                .usernames
                .iter()
                .map(|u| format!("{} ({})", u.name, u.count))
                .collect();
            let mut ids: Vec<String> = i.principal_ids.iter().map(|p| p.id.clone()).collect();
            if i.recreated {
                ids.push("re-created: the unique id changed".to_owned());
            }
            let mut keys: Vec<String> = i
                .long_term_keys
                .iter()
                .map(|k| format!("{} long-term ({})", k.id, k.count))
                .collect();
            if i.temporary_key_requests > 0 {
                keys.push(format!("temporary ({})", i.temporary_key_requests));
            }
            let mut requests = i.requests.to_string();
            if i.forbidden > 0 {
                requests.push_str(&format!("\n{} forbidden", i.forbidden));
            }
            t.add_row([
                Cell::new(&i.canonical_arn),
                Cell::new(users.join("\n")),
                Cell::new(ids.join("\n")),
                Cell::new(keys.join("\n")),
                Cell::new(requests),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    if a.anonymous.count > 0 {
        let codes: Vec<String> = a
            .anonymous
            .by_code
            .iter()
            .map(|(c, n)| format!("{n} × {c}"))
            .collect();
        writeln!(
            out,
            "Anonymous requests (system:anonymous, no credentials sent): {} ({}): {}",
            a.anonymous.count,
            codes.join(", "),
            callers_text(&a.anonymous.callers)
        )?;
    }
    writeln!(out)
}
