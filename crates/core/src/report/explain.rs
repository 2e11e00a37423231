//! `eks-authlog explain` output: a table per text for people, one JSON document
//! (`eks-authlog.explain/v1`) for machines. Credentials quoted in an error text are masked in
//! both; control characters are escaped in the table.

use std::io::{self, Write};

use serde::Serialize;

use super::document::Tool;
use super::redact::escape_controls;
use super::{TableStyle, new_table};
use crate::classify::explain::Explanation;
use crate::secrets::mask_credentials;

/// Schema id of the explain document.
pub const EXPLAIN_SCHEMA: &str = "eks-authlog.explain/v1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    tool: Tool,
    results: &'a [Explanation],
}

/// Masks the credentials an explanation quotes (in its error text).
fn masked(x: &Explanation) -> Explanation {
    let mut x = x.clone();
    if let std::borrow::Cow::Owned(m) = mask_credentials(&x.error) {
        x.error = m;
    }
    x
}

/// Writes the explanations as one pretty JSON document followed by a newline.
pub fn write_json<W: Write>(out: &mut W, results: &[Explanation]) -> io::Result<()> {
    let results: Vec<Explanation> = results.iter().map(masked).collect();
    let doc = Document {
        schema: EXPLAIN_SCHEMA,
        tool: Tool {
            name: "eks-authlog",
            version: env!("CARGO_PKG_VERSION"),
        },
        results: &results,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes one two-column table per explanation, a blank line between them.
pub fn write_table<W: Write>(
    out: &mut W,
    results: &[Explanation],
    style: TableStyle,
) -> io::Result<()> {
    for (i, x) in results.iter().enumerate() {
        if i > 0 {
            out.write_all(b"\n")?;
        }
        let x = masked(x);
        let mut t = new_table(style);
        let class = format!("{} ({})", x.class.as_str(), x.family.as_str());
        let mut remedy = x.remedy.summary.clone();
        for c in &x.remedy.commands {
            remedy.push_str("\n$ ");
            remedy.push_str(c);
        }
        for (k, v) in [
            ("error", escape_controls(&x.error).into_owned()),
            ("class", class),
            ("meaning", x.meaning.to_owned()),
            ("who fixes", x.fixer.as_str().to_owned()),
            ("remedy", remedy),
        ] {
            t.add_row([k.to_owned(), v]);
        }
        writeln!(out, "{t}")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::explain::explain;

    #[test]
    fn json_is_one_versioned_document_with_masked_credentials() {
        let x = [
            explain("ARN is not mapped"),
            explain("failed: X-Amz-Signature=0123456789abcdef"),
        ];
        let mut out = Vec::new();
        write_json(&mut out, &x).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["schema"], EXPLAIN_SCHEMA);
        assert_eq!(doc["results"][0]["class"], "identity_not_mapped");
        assert_eq!(doc["results"][0]["form"], "text");
        assert_eq!(doc["results"][0]["fixer"], "cluster_admin");
        assert!(doc["results"][0]["remedy"]["summary"].is_string());
        assert!(doc["results"][0]["remedy"]["commands"].is_array());
        assert_eq!(doc["results"][1]["class"], "unclassified");
        let s = String::from_utf8(out).unwrap();
        assert!(!s.contains("0123456789abcdef"), "{s}");
    }

    #[test]
    fn table_escapes_control_characters() {
        let mut out = Vec::new();
        write_table(
            &mut out,
            &[explain("bad \x1b]0;PWNED\x07 text")],
            TableStyle::default(),
        )
        .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(!s.contains('\x1b'), "{s}");
        assert!(s.contains("unclassified"), "{s}");
    }
}
