//! Rendering: the report document and event streams, as table, JSON or NDJSON.
//!
//! Every renderer writes to a `W: io::Write` handed in by the caller, never to stdout
//! directly, so tests render into a `Vec<u8>`. Machine formats serialize the wire types in
//! [`wire`]; tables use comfy-table with a fixed width and colour decided in one place.

pub mod audit;
pub mod diagnoses;
pub mod document;
pub mod explain;
pub mod redact;
pub mod source;
pub mod stream;
pub mod table;
pub mod wire;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A readable table (comfy-table).
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// How tables are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableStyle {
    /// Total width in columns.
    pub width: u16,
    /// Whether to use ANSI colour.
    pub color: bool,
}

impl Default for TableStyle {
    fn default() -> Self {
        TableStyle {
            width: 120,
            color: false,
        }
    }
}

/// A new comfy-table with our fixed settings: deterministic width, no TTY probing.
pub(crate) fn new_table(style: TableStyle) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .force_no_tty()
        .set_width(style.width);
    if style.color {
        t.enforce_styling();
    }
    t
}
