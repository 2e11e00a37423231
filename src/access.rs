//! `eks-authlog access`: read the cluster's access configuration from files (and live, with
//! `--cluster`: [`crate::live`]) and print its inventory and findings. The reading, findings
//! and rendering are the core's (`eks_authlog_core::access`); this module only joins them to
//! the command line.

use std::io::Write;

use eks_authlog_core::access::{AccessConfig, inventory};
use eks_authlog_core::report::Format;

use crate::error::{Error, Result};
use crate::live::LiveAccess;

/// Reads `paths` (and `live`, when given) and writes the inventory to `out` as a table or the
/// `eks-authlog.access/v1` JSON document. Returns a one-line summary for stderr.
pub fn run<W: Write>(
    paths: &[String],
    format: Format,
    live: Option<&LiveAccess>,
    mut out: W,
) -> Result<String> {
    let mut cfg = AccessConfig::from_paths(paths).map_err(eks_authlog_core::Error::from)?;
    if let Some(live) = live {
        read_live(live, &mut cfg)?;
    }
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

/// The live read for `access`: an EKS read that gets nothing fails the command (exit 2).
#[cfg(feature = "cloudwatch")]
fn read_live(live: &LiveAccess, cfg: &mut AccessConfig) -> Result<()> {
    crate::live::read(live, cfg, false)?;
    Ok(())
}

#[cfg(not(feature = "cloudwatch"))]
fn read_live(_: &LiveAccess, _: &mut AccessConfig) -> Result<()> {
    Err(eks_authlog_core::Error::Usage(
        "this eks-authlog was built without AWS support (feature `cloudwatch`): --cluster \
         cannot read the access configuration live; give files"
            .to_owned(),
    )
    .into())
}
