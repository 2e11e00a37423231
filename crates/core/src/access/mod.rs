//! The cluster's own access configuration: aws-auth, access entries and the authentication
//! mode, read from files, and what they say about each rejected identity.
//!
//! This module owns reading access-configuration documents ([`AccessConfig::read`], detected by content),
//! merging them into one [`AccessConfig`], the inventory and its findings ([`inventory()`]),
//! and the diagnosis of an `identity is not mapped` denial ([`diagnose()`]). It reads no logs and
//! calls no API: the live EKS reads belong to the `aws` crate, and the report only attaches
//! what [`diagnose()`] returns.

pub mod awsauth;
pub mod diagnose;
pub mod entries;
pub mod inventory;
pub mod live;
pub mod yaml;

#[cfg(test)]
mod tests;

pub use self::awsauth::{AwsAuth, AwsAuthFormat, EntryState, Mapping, SectionKind};
pub use self::diagnose::{Cause, Denial, Diagnosis, Evidence, Fix, diagnose};
pub use self::entries::{AccessEntries, AccessEntry, ClusterInfo, Mode};
pub use self::inventory::{Finding, FindingKind, Inventory, inventory};
pub use self::live::{EksApiCalls, Live, Part, Unread};

/// An access-configuration file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ReadError {
    /// The file (or `-` for stdin).
    pub file: String,
    /// The 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Everything read about one cluster's access configuration.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct AccessConfig {
    /// The aws-auth ConfigMap, if given.
    pub aws_auth: Option<AwsAuth>,
    /// Access entries and `describe-cluster` facts.
    pub entries: AccessEntries,
    /// What a live read (EKS API, kubectl) did and could not read; `None` for files only.
    pub live: Option<Live>,
}

impl AccessConfig {
    /// The authentication mode, when `describe-cluster` output was given.
    pub fn mode(&self) -> Option<Mode> {
        self.entries.cluster.mode
    }

    /// One line per part a live read could not get (empty for files, or a complete read).
    pub fn unread(&self) -> Vec<String> {
        self.live
            .iter()
            .flat_map(|l| &l.unread)
            .map(Unread::text)
            .collect()
    }

    /// Merges one AWS CLI JSON document (`list-access-entries`, `describe-access-entry`,
    /// `list-associated-access-policies`, `describe-cluster`), as [`AccessConfig::read`] does
    /// for a file holding it. Returns false when `v` is none of these. The live EKS read
    /// builds these documents from the API's answers, so files and the API share one path.
    pub fn read_json(&mut self, source: &str, v: &serde_json::Value) -> bool {
        match entries::EntriesDoc::detect(v) {
            Some(doc) => {
                self.entries.add(source, doc, v);
                true
            }
            None => false,
        }
    }

    /// Reads the files (`-` is stdin) into one configuration.
    pub fn from_paths<S: AsRef<str>>(paths: &[S]) -> Result<AccessConfig, ReadError> {
        let mut cfg = AccessConfig::default();
        for path in paths {
            let path = path.as_ref();
            let bytes = if path == "-" {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf).map(|_| buf)
            } else {
                std::fs::read(path)
            };
            let bytes = bytes.map_err(|e| ReadError {
                file: path.to_owned(),
                line: None,
                message: format!("cannot read: {e}"),
            })?;
            cfg.read(path, &bytes)?;
        }
        Ok(cfg)
    }

    /// Reads one document (a file's bytes) and merges it in. The kind is detected by
    /// content: aws-auth (ConfigMap YAML/JSON, its `data` block, eksctl's identity list) or
    /// AWS CLI JSON (`list-access-entries`, `describe-access-entry`,
    /// `list-associated-access-policies`, `describe-cluster`).
    pub fn read(&mut self, file: &str, bytes: &[u8]) -> Result<(), ReadError> {
        let err = |line: Option<usize>, message: String| ReadError {
            file: file.to_owned(),
            line,
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            err(Some(line), "not UTF-8 text".to_owned())
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim_start().starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| err(Some(e.line()), format!("not valid JSON: {e}")))?;
            if self.read_json(file, &v) {
                return Ok(());
            }
        }
        // aws-auth: YAML, or JSON read as YAML so that every node keeps its line.
        let root = yaml::parse(text)
            .map_err(|e| err(Some(e.line), format!("not valid YAML: {}", e.problem)))?
            .ok_or_else(|| err(None, "empty document".to_owned()))?;
        let aws_auth = AwsAuth::from_node(file, &root).ok_or_else(|| {
            err(
                Some(root.line),
                "not an access-configuration document: expected the aws-auth ConfigMap (kubectl \
                 -o yaml|json), its data block, eksctl get iamidentitymapping output, or aws eks \
                 list-access-entries / describe-access-entry / list-associated-access-policies / \
                 describe-cluster JSON"
                    .to_owned(),
            )
        })?;
        if let Some(old) = &self.aws_auth {
            return Err(err(
                None,
                format!(
                    "a second aws-auth document; {} was read already",
                    old.source
                ),
            ));
        }
        self.aws_auth = Some(aws_auth);
        Ok(())
    }
}
