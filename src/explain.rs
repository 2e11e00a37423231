//! `eks-authlog explain`: classify error texts given as an argument or on stdin.

use std::io::{IsTerminal, Read};

use eks_authlog_core::classify::explain::{Explanation, explain};
use eks_authlog_core::report::TableStyle;
use eks_authlog_core::report::explain::{write_json, write_table};

/// Explains `text`, or each non-blank line of stdin when `text` is `None` or `-`, and renders
/// the results as JSON or a table.
pub fn render(text: Option<&str>, json: bool, style: TableStyle) -> Result<Vec<u8>, String> {
    let results: Vec<Explanation> = match text {
        Some(t) if t != "-" => vec![explain(t)],
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(
                    "no text: give the error text as an argument, or pipe lines in".to_owned(),
                );
            }
            let mut bytes = Vec::new();
            stdin
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            explain_lines(&String::from_utf8_lossy(&bytes))
        }
    };
    let mut out = Vec::new();
    let written = match json {
        true => write_json(&mut out, &results),
        false => write_table(&mut out, &results, style),
    };
    written.map_err(|e| e.to_string())?;
    Ok(out)
}

/// One explanation per non-blank line.
pub fn explain_lines(text: &str) -> Vec<Explanation> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(explain)
        .collect()
}
