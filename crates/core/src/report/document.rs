//! The JSON report document (`eks-authlog.report/v1`): the analysis plus what was read.

use std::io::{self, Write};

use serde::Serialize;

use crate::analysis::Report;
use crate::report::source::{FetchMeta, InputSummary};

/// Schema id of the report document.
pub const REPORT_SCHEMA: &str = "eks-authlog.report/v1";

/// The tool that wrote a document.
#[derive(Serialize)]
pub struct Tool {
    /// `eks-authlog`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// The JSON document: schema header, inputs, source metadata, then the report's sections.
#[derive(Serialize)]
pub struct Document<'a> {
    /// Always [`REPORT_SCHEMA`].
    pub schema: &'static str,
    /// Which tool and version wrote it.
    pub tool: Tool,
    /// Local inputs read (empty for CloudWatch).
    pub inputs: &'a [InputSummary],
    /// CloudWatch query metadata, one per region (null for local inputs).
    pub source: Option<&'a [FetchMeta]>,
    /// The report.
    #[serde(flatten)]
    pub report: &'a Report,
}

/// Writes the document as pretty JSON followed by a newline.
pub fn write<W: Write>(
    out: &mut W,
    report: &Report,
    inputs: &[InputSummary],
    source: Option<&[FetchMeta]>,
) -> io::Result<()> {
    let doc = Document {
        schema: REPORT_SCHEMA,
        tool: Tool {
            // The tool, not this crate: every crate of the workspace shares its version.
            name: "eks-authlog",
            version: env!("CARGO_PKG_VERSION"),
        },
        inputs,
        source,
        report,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")?;
    out.flush()
}
