//! `fleet --state FILE`: per log group, where the last completed window ended, so that the
//! next run covers exactly from there to its own end: no gap, no overlap.
//!
//! Windows are half-open, `[start_ms, end_ms)`. A log group's entry moves only when a window
//! over it completed; the file is replaced atomically (written beside it, flushed to disk,
//! renamed over it), so a run that fails or is killed half way leaves every entry at a window
//! that did complete, and the next run starts there.
//!
//! ```json
//! {"schema": "eks-authlog.fleet-state/v1",
//!  "log_groups": [{"account": "111122223333", "region": "us-east-1",
//!                  "log_group": "/aws/eks/prod/cluster",
//!                  "end_ms": 1795319612000, "end": "2026-11-22T03:53:32Z"}]}
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::time::{RFC3339_FIRST_MS, RFC3339_LAST_MS, format_ms};

/// The schema id of the state file.
pub const SCHEMA: &str = "eks-authlog.fleet-state/v1";

/// Why the state file could not be used. The run stops before any query: guessing a window
/// would make a gap or an overlap.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file exists but cannot be read.
    #[error("state file {path}: cannot read it")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not a state file this version can read.
    #[error("state file {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        reason: String,
    },
    /// Another run holds the state file's lock ([`lock`]).
    #[error(
        "state file {path}: another eks-authlog fleet run holds it (lock {lock}); wait for it to finish, or give each schedule its own --state"
    )]
    Locked {
        /// The state file.
        path: PathBuf,
        /// Its lock file.
        lock: PathBuf,
    },
    /// Its lock file could not be created or locked.
    #[error("state file {path}: cannot lock it with {lock}")]
    Lock {
        /// The state file.
        path: PathBuf,
        /// Its lock file.
        lock: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It could not be written.
    #[error("state file {path}: cannot write it")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// An exclusive lock on a state file, held for a whole run: two runs that share one
/// `--state FILE` would otherwise interleave their atomic rewrites, and the later rename
/// would drop the windows the other recorded. Released when dropped (or when the process
/// ends, however it ends: the operating system drops the lock with the file).
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

/// The lock file of `path`: `FILE.lock` beside it. The lock is on a sibling rather than the
/// state itself because [`State::save`] replaces the state file by rename, and a lock on the
/// old file would not hold the new one.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// Takes the exclusive lock of `path` ([`lock_path`]) without waiting: a scheduled run that
/// finds it taken fails at once ([`StateError::Locked`]) rather than queueing behind the
/// other. The lock file is created when missing and left in place (removing it would race
/// with a run that has just opened it).
pub fn lock(path: &Path) -> Result<StateLock, StateError> {
    let lock = lock_path(path);
    let failed = |source| StateError::Lock {
        path: path.to_owned(),
        lock: lock.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(failed)?;
    match file.try_lock() {
        Ok(()) => Ok(StateLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(StateError::Locked {
            path: path.to_owned(),
            lock,
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(failed(e)),
    }
}

/// The log group an entry is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// AWS account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Log group name.
    pub log_group: String,
}

/// Where each log group's last completed window ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    ends: BTreeMap<Key, i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    schema: String,
    log_groups: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    account: String,
    region: String,
    log_group: String,
    end_ms: i64,
    /// `end_ms` for people; not read back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<String>,
}

impl State {
    /// Reads `path`; a file that does not exist is an empty state (the first run).
    pub fn load(path: &Path) -> Result<State, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(source) => {
                return Err(StateError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let invalid = |reason: String| StateError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let file: File = serde_json::from_str(&text).map_err(|e| {
            invalid(format!(
                "line {} column {}: {e} (expected a {SCHEMA} document written by eks-authlog fleet --state)",
                e.line(),
                e.column()
            ))
        })?;
        if file.schema != SCHEMA {
            return Err(invalid(format!(
                "schema is {:?}, this version reads {SCHEMA:?}",
                file.schema
            )));
        }
        let mut state = State::default();
        for (i, e) in file.log_groups.into_iter().enumerate() {
            if !(RFC3339_FIRST_MS..=RFC3339_LAST_MS).contains(&e.end_ms) {
                return Err(invalid(format!(
                    "log_groups[{i}] ({}): end_ms {} is not a time between years 0000 and 9999",
                    e.log_group, e.end_ms
                )));
            }
            let key = Key {
                account: e.account,
                region: e.region,
                log_group: e.log_group,
            };
            if state.ends.insert(key.clone(), e.end_ms).is_some() {
                return Err(invalid(format!(
                    "log_groups[{i}]: {} in {} {} appears twice",
                    key.log_group, key.account, key.region
                )));
            }
        }
        Ok(state)
    }

    /// Where the next window of `key` starts: the end of its last completed window, else
    /// `default_start_ms` (a log group the state has never seen).
    pub fn start(&self, key: &Key, default_start_ms: i64) -> i64 {
        self.ends.get(key).copied().unwrap_or(default_start_ms)
    }

    /// The end of `key`'s last completed window, if any.
    pub fn end(&self, key: &Key) -> Option<i64> {
        self.ends.get(key).copied()
    }

    /// Records that a window over `key` ending at `end_ms` completed. An end before the one
    /// already recorded is ignored: entries never move back.
    pub fn complete(&mut self, key: Key, end_ms: i64) {
        let e = self.ends.entry(key).or_insert(end_ms);
        *e = (*e).max(end_ms);
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Replaces `path` atomically: the new state goes to a temporary file in the same
    /// directory, is flushed to disk, and is renamed over `path` (rename is atomic within a
    /// file system), then the directory is flushed so the rename survives a crash.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let write_err = |source| StateError::Write {
            path: path.to_owned(),
            source,
        };
        let file = File {
            schema: SCHEMA.to_owned(),
            log_groups: (self.ends.iter())
                .map(|(k, &end_ms)| Entry {
                    account: k.account.clone(),
                    region: k.region.clone(),
                    log_group: k.log_group.clone(),
                    end_ms,
                    end: Some(format_ms(end_ms)),
                })
                .collect(),
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map_or_else(|| "state".into(), |n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            serde_json::to_writer_pretty(&mut f, &file)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            // The rename is durable once the directory is; not every platform can open one.
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok::<(), std::io::Error>(())
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(write_err(e));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(g: &str) -> Key {
        Key {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            log_group: g.into(),
        }
    }

    #[test]
    fn round_trips_and_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(State::load(&path).unwrap().is_empty());
        let mut s = State::default();
        s.complete(key("/aws/eks/a/cluster"), 1_795_319_612_000);
        s.complete(key("/aws/eks/b/cluster"), 1_795_319_000_000);
        s.save(&path).unwrap();
        let back = State::load(&path).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.start(&key("/aws/eks/a/cluster"), 5), 1_795_319_612_000);
        assert_eq!(back.start(&key("/aws/eks/new/cluster"), 5), 5);
        // Nothing but the state file is left in the directory.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_second_lock_on_one_state_file_fails_at_once_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.json");
        let held = lock(&path).unwrap();
        assert!(dir.path().join("fleet.json.lock").exists());
        // A second open file description in the same process conflicts like another process.
        let e = lock(&path).unwrap_err();
        assert!(matches!(e, StateError::Locked { .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("fleet.json") && text.contains("another eks-authlog fleet run holds it"),
            "{text}"
        );
        // Another state file is not affected.
        let _other = lock(&dir.path().join("other.json")).unwrap();
        drop(held);
        let _again = lock(&path).unwrap();
    }

    #[test]
    fn entries_never_move_back() {
        let mut s = State::default();
        s.complete(key("g"), 2_000_000_000_000);
        s.complete(key("g"), 1_900_000_000_000);
        assert_eq!(s.end(&key("g")), Some(2_000_000_000_000));
    }

    #[test]
    fn bad_files_name_the_file_and_the_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        for (text, says) in [
            ("{", "line 1 column 1"),
            (
                r#"{"schema":"other/v9","log_groups":[]}"#,
                "this version reads",
            ),
            (
                r#"{"schema":"eks-authlog.fleet-state/v1","log_groups":[{"account":"a","region":"r","log_group":"g","end_ms":-99999999999999999}]}"#,
                "log_groups[0] (g)",
            ),
            (
                r#"{"schema":"eks-authlog.fleet-state/v1","log_groups":[{"account":"a","region":"r","log_group":"g","end_ms":1},{"account":"a","region":"r","log_group":"g","end_ms":2}]}"#,
                "appears twice",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = State::load(&path).unwrap_err().to_string();
            assert!(e.contains("s.json") && e.contains(says), "{text}: {e}");
        }
    }
}
