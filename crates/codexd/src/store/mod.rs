//! Durable files under CODEX_HOME. The rules every file follows:
//! - JSON snapshots are replaced atomically ([`atomic::write_atomic`]).
//! - JSONL files are only appended; a torn last line from a crash is cut off on start
//!   ([`jsonl::repair_tail`]).
//! - A snapshot paired with a journal ([`journal::Journaled`]) gives O(1) appends with a
//!   readable JSON file, folded together when the journal outgrows the snapshot.
//! - A file that will not parse is moved aside ([`aside::move_aside`]), never overwritten.
//! - One daemon per CODEX_HOME ([`lock::InstanceLock`]).

pub mod aside;
pub mod atomic;
pub mod journal;
pub mod jsonl;
pub mod lock;

use std::path::{Path, PathBuf};

use crate::config::StorageConfig;

/// Errors from durable storage, naming the file involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O operation on a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("cannot write", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A value could not be serialized (a bug, not a user error).
    #[error("cannot encode a record for {path}: {source}")]
    Encode {
        /// The file it was meant for.
        path: PathBuf,
        /// serde_json's reason.
        source: serde_json::Error,
    },
}

impl StoreError {
    /// Wrap an I/O error with the action and file.
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }
}

/// Resolved locations of every storage file.
#[derive(Debug, Clone)]
pub struct Layout {
    /// CODEX_HOME.
    pub home: PathBuf,
    /// Feedback snapshot.
    pub feedback: PathBuf,
    /// Learning dataset.
    pub dataset: PathBuf,
    /// Episodic memory snapshot.
    pub episodic: PathBuf,
    /// Semantic knowledge snapshot.
    pub semantic: PathBuf,
    /// Models folder.
    pub models: PathBuf,
    /// User allow/ask/deny rules.
    pub safety_rules: PathBuf,
    /// Taught playbooks.
    pub playbooks: PathBuf,
    /// The language-model planner's figures (beside the playbooks).
    pub model_planner: PathBuf,
    /// Scheduled jobs and their claims.
    pub jobs: PathBuf,
    /// The optimizer's state.
    pub optimizer: PathBuf,
    /// The decision log.
    pub decisions: PathBuf,
}

impl Layout {
    /// Resolve the configured paths against CODEX_HOME.
    pub fn new(home: &Path, cfg: &StorageConfig) -> Self {
        Layout {
            home: home.to_path_buf(),
            feedback: cfg.feedback.under(home),
            dataset: cfg.dataset.under(home),
            episodic: cfg.episodic_memory.under(home),
            semantic: cfg.semantic_memory.under(home),
            models: cfg.models.under(home),
            safety_rules: cfg.safety_rules.under(home),
            playbooks: cfg.playbooks.under(home),
            model_planner: cfg
                .playbooks
                .under(home)
                .with_file_name("model-planner.json"),
            jobs: cfg.jobs.under(home),
            optimizer: cfg.optimizer.under(home),
            decisions: cfg.decisions.under(home),
        }
    }

    /// Create every folder the layout needs (mode 0700: this is private data).
    pub fn create_dirs(&self) -> Result<(), StoreError> {
        let parents = [
            &self.feedback,
            &self.dataset,
            &self.episodic,
            &self.semantic,
            &self.safety_rules,
            &self.playbooks,
            &self.jobs,
            &self.optimizer,
            &self.decisions,
        ]
        .into_iter()
        .filter_map(|p| p.parent());
        for dir in parents.chain([self.models.as_path()]) {
            private_dir(dir).map_err(StoreError::io("cannot create folder", dir))?;
        }
        Ok(())
    }
}

/// Create a folder (and its missing parents) with mode 0700; an existing folder is left as is.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Settings for the property tests of the storage readers: a few dozen cases each, so CI
/// spends a second or two per reader; `CODEX_FUZZ_CASES=N` runs N cases instead (the long
/// run, e.g. `CODEX_FUZZ_CASES=20000 cargo test -p codexd --lib fuzz`). Failures are not
/// written into the source tree: proptest prints the input that failed.
#[cfg(test)]
pub(crate) fn fuzz_config() -> proptest::test_runner::Config {
    let cases = std::env::var("CODEX_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// Inputs for the property tests: a valid file damaged the ways a disk or a person damages
/// one (cut short, bits flipped, bytes overwritten, spliced with garbage), or arbitrary bytes.
#[cfg(test)]
pub(crate) mod fuzz {
    use proptest::prelude::*;

    /// One way to damage a file.
    #[derive(Debug, Clone)]
    pub enum Damage {
        /// Keep this fraction (per mille) of the file.
        Truncate(u16),
        /// Flip these bits (positions taken modulo the file's size in bits).
        Flip(Vec<u32>),
        /// Overwrite bytes from a position (per mille of the length).
        Overwrite(u16, Vec<u8>),
        /// Insert bytes at a position (per mille of the length).
        Insert(u16, Vec<u8>),
        /// Replace the whole file.
        Replace(Vec<u8>),
    }

    /// A strategy for [`Damage`].
    pub fn damage() -> impl Strategy<Value = Damage> {
        prop_oneof![
            (0u16..=1000).prop_map(Damage::Truncate),
            proptest::collection::vec(any::<u32>(), 1..8).prop_map(Damage::Flip),
            (0u16..=1000, proptest::collection::vec(any::<u8>(), 1..32))
                .prop_map(|(at, b)| Damage::Overwrite(at, b)),
            (0u16..=1000, proptest::collection::vec(any::<u8>(), 1..32))
                .prop_map(|(at, b)| Damage::Insert(at, b)),
            proptest::collection::vec(any::<u8>(), 0..256).prop_map(Damage::Replace),
        ]
    }

    /// `bytes` after `damage`.
    pub fn apply(bytes: &[u8], damage: &Damage) -> Vec<u8> {
        let at = |pm: u16| bytes.len() * usize::from(pm.min(1000)) / 1000;
        let mut out = bytes.to_vec();
        match damage {
            Damage::Truncate(pm) => out.truncate(at(*pm)),
            Damage::Flip(bits) if !out.is_empty() => {
                let n = out.len() * 8;
                for &b in bits {
                    let b = b as usize % n;
                    out[b / 8] ^= 1 << (b % 8);
                }
            }
            Damage::Flip(_) => {}
            Damage::Overwrite(pm, with) => {
                let start = at(*pm);
                for (i, &b) in with.iter().enumerate() {
                    match out.get_mut(start + i) {
                        Some(slot) => *slot = b,
                        None => out.push(b),
                    }
                }
            }
            Damage::Insert(pm, with) => {
                let start = at(*pm);
                out.splice(start..start, with.iter().copied());
            }
            Damage::Replace(with) => out = with.clone(),
        }
        out
    }
}
