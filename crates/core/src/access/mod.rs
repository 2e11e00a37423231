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
pub mod iam;
pub mod inventory;
pub mod live;
pub mod usage;
pub mod yaml;

#[cfg(test)]
mod tests;

pub use self::awsauth::{AwsAuth, AwsAuthFormat, EntryState, Mapping, SectionKind};
pub use self::diagnose::{Cause, Denial, Diagnosis, Evidence, Fix, diagnose};
pub use self::entries::{AccessEntries, AccessEntry, ClusterInfo, Mode};
pub use self::iam::{IamCheck, IamKind, IamOutcome, IamState, IamStatus};
pub use self::inventory::{Finding, FindingKind, Inventory, Severity, inventory};
pub use self::live::{EksApiCalls, Live, Part, Unread};
pub use self::usage::{LogUse, PrincipalUse};

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
    /// Every document read, verbatim and in order: the `access -o json` snapshot carries them,
    /// so that a later run re-reads exactly what this one read (lines and errors included).
    #[serde(skip)]
    pub documents: Vec<Document>,
    /// What a live read (EKS API, kubectl) did and could not read; `None` for files only.
    pub live: Option<Live>,
}

/// One access-configuration document as it was read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Document {
    /// The file, `-` for stdin, or the API call it came from.
    pub source: String,
    /// Its text.
    pub text: String,
}

/// What kind of access-configuration document to expect (`--config-format`); `Auto` detects
/// it by content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConfigFormat {
    /// Detect by content.
    #[default]
    Auto,
    /// The aws-auth ConfigMap (YAML or JSON), its `data` block, or eksctl's identity list.
    AwsAuth,
    /// `aws eks` JSON: list-access-entries, describe-access-entry,
    /// list-associated-access-policies or describe-cluster.
    Eks,
    /// The `eks-authlog.access/v1` document that `eks-authlog access -o json` writes.
    Snapshot,
}

impl ConfigFormat {
    /// Every format, in declaration order.
    pub const ALL: &[ConfigFormat] = &[
        ConfigFormat::Auto,
        ConfigFormat::AwsAuth,
        ConfigFormat::Eks,
        ConfigFormat::Snapshot,
    ];

    /// The command-line name.
    pub const fn name(self) -> &'static str {
        match self {
            ConfigFormat::Auto => "auto",
            ConfigFormat::AwsAuth => "aws-auth",
            ConfigFormat::Eks => "eks",
            ConfigFormat::Snapshot => "snapshot",
        }
    }
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
    /// builds these documents from the API's answers, so files and the API share one path;
    /// the document is kept for the snapshot like a file's text.
    pub fn read_json(&mut self, source: &str, v: &serde_json::Value) -> bool {
        let read = self.read_json_only(source, v);
        if read {
            let text = serde_json::to_string_pretty(v).unwrap_or_default();
            self.remember(source, &text);
        }
        read
    }

    fn read_json_only(&mut self, source: &str, v: &serde_json::Value) -> bool {
        match entries::EntriesDoc::detect(v) {
            Some(doc) => {
                self.entries.add(source, doc, v);
                true
            }
            None => false,
        }
    }

    /// Reads the files (`-` is stdin) into one configuration, detecting each one's kind.
    pub fn from_paths<S: AsRef<str>>(paths: &[S]) -> Result<AccessConfig, ReadError> {
        AccessConfig::from_paths_as(paths, ConfigFormat::Auto)
    }

    /// Reads the files (`-` is stdin) into one configuration, each as `format`.
    pub fn from_paths_as<S: AsRef<str>>(
        paths: &[S],
        format: ConfigFormat,
    ) -> Result<AccessConfig, ReadError> {
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
            cfg.read_as(path, &bytes, format)?;
        }
        Ok(cfg)
    }

    /// Reads one document (a file's bytes) and merges it in. The kind is detected by
    /// content: aws-auth (ConfigMap YAML/JSON, its `data` block, eksctl's identity list) or
    /// AWS CLI JSON (`list-access-entries`, `describe-access-entry`,
    /// `list-associated-access-policies`, `describe-cluster`).
    pub fn read(&mut self, file: &str, bytes: &[u8]) -> Result<(), ReadError> {
        self.read_as(file, bytes, ConfigFormat::Auto)
    }

    /// Reads one document as `format` (or detected, with [`ConfigFormat::Auto`]) and merges
    /// it in.
    pub fn read_as(
        &mut self,
        file: &str,
        bytes: &[u8],
        format: ConfigFormat,
    ) -> Result<(), ReadError> {
        self.read_doc(file, bytes, format, true)
    }

    fn read_doc(
        &mut self,
        file: &str,
        bytes: &[u8],
        format: ConfigFormat,
        top: bool,
    ) -> Result<(), ReadError> {
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
        let json = text.trim_start().starts_with('{');
        if json && format != ConfigFormat::AwsAuth {
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| err(Some(e.line()), format!("not valid JSON: {e}")))?;
            if format != ConfigFormat::Eks && is_snapshot(&v) {
                if !top {
                    return Err(err(None, "a snapshot inside a snapshot".to_owned()));
                }
                return self.read_snapshot(file, &v);
            }
            if format != ConfigFormat::Snapshot && self.read_json_only(file, &v) {
                self.remember(file, text);
                return Ok(());
            }
        }
        match format {
            ConfigFormat::Eks => {
                return Err(err(
                    None,
                    "not aws eks JSON: expected list-access-entries (accessEntries), \
                     describe-access-entry (accessEntry), list-associated-access-policies \
                     (associatedAccessPolicies) or describe-cluster (cluster) output"
                        .to_owned(),
                ));
            }
            ConfigFormat::Snapshot => {
                return Err(err(
                    None,
                    format!(
                        "not an eks-authlog access snapshot (\"schema\": \"{}\")",
                        SCHEMA
                    ),
                ));
            }
            ConfigFormat::Auto | ConfigFormat::AwsAuth => {}
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
        self.remember(file, text);
        Ok(())
    }

    /// Re-reads the documents an `access -o json` snapshot carries, under their own names.
    fn read_snapshot(&mut self, file: &str, v: &serde_json::Value) -> Result<(), ReadError> {
        let docs: Vec<Document> = v
            .get("documents")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| ReadError {
                file: file.to_owned(),
                line: None,
                message: format!("snapshot `documents` is not a list of {{source, text}}: {e}"),
            })?
            .unwrap_or_default();
        for d in docs {
            self.read_doc(&d.source, d.text.as_bytes(), ConfigFormat::Auto, false)
                .map_err(|e| ReadError {
                    message: format!("in snapshot {file}: {}", e.message),
                    ..e
                })?;
        }
        Ok(())
    }

    fn remember(&mut self, source: &str, text: &str) {
        self.documents.push(Document {
            source: source.to_owned(),
            text: text.to_owned(),
        });
    }
}

/// The schema id of the snapshot (the `access` JSON document).
pub const SCHEMA: &str = inventory::SCHEMA;

fn is_snapshot(v: &serde_json::Value) -> bool {
    v.get("schema").and_then(|s| s.as_str()) == Some(SCHEMA)
}
