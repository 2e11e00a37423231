//! `eks-authlog access`: read the cluster's access configuration from files and print its
//! inventory and findings. The reading, findings and rendering are the core's
//! (`eks_authlog_core::access`); this module only joins them to the command line.

use std::io::Write;

use eks_authlog_core::access::{AccessConfig, inventory};
use eks_authlog_core::report::Format;

use crate::error::{Error, Result};

/// Reads `paths` and writes the inventory to `out` as a table or the
/// `eks-authlog.access/v1` JSON document. Returns a one-line summary for stderr.
pub fn run<W: Write>(paths: &[String], format: Format, mut out: W) -> Result<String> {
    let cfg = AccessConfig::from_paths(paths).map_err(eks_authlog_core::Error::from)?;
    let inv = inventory(&cfg);
    match format {
        Format::Table => inv.write_table(&mut out),
        _ => inv.write_json(&mut out),
    }
    .and_then(|()| out.flush())
    .map_err(Error::output)?;
    Ok(format!(
        "{} aws-auth mapping(s), {} access entr(y/ies), {} finding(s)",
        inv.mappings.len() + inv.accounts.len(),
        inv.access_entries.len(),
        inv.findings.len()
    ))
}
