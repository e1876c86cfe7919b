//! Imported shell history: each line into workflow patterns and the dataset, and how far each
//! history file's import got (`storage/learning/imports.json`: the fingerprints of the last
//! entries imported from it), so importing the same file again adds only what is new. The
//! mark is written after the batch it ends is on disk, so an import cut short is taken up
//! again after what was kept.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use codex_proto::methods::{ImportEntry, ImportMark};
use tracing::warn;

use super::dataset::Record;
use super::knowledge::KnowledgeOp;
use super::{Actor, Imported, LearningError, normalize, redact};
use crate::store::{StoreError, aside, atomic};

/// How far the import of each history file got: file → fingerprints of its last entries.
#[derive(Debug, Default)]
pub struct ImportMarks {
    path: PathBuf,
    marks: BTreeMap<String, Vec<String>>,
}

impl ImportMarks {
    /// The marks kept at `path`; a file that does not parse is moved aside (the next import
    /// of each file then starts over, which double-counts at worst) and none are kept.
    pub fn open(path: PathBuf) -> Self {
        let marks = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(m) => m,
                Err(e) => {
                    warn!(file = %path.display(), "import marks do not parse ({e}); moved aside, every history file counts as new");
                    if let Err(e) = aside::move_aside(&path) {
                        warn!(file = %path.display(), "cannot move the import marks aside: {e}");
                    }
                    BTreeMap::new()
                }
            },
            Err(_) => BTreeMap::new(),
        };
        ImportMarks { path, marks }
    }

    /// The mark of `file`: empty when it was never imported.
    pub fn get(&self, file: &str) -> Vec<String> {
        self.marks.get(file).cloned().unwrap_or_default()
    }

    fn set(&mut self, mark: ImportMark) -> Result<(), StoreError> {
        self.marks.insert(mark.file, mark.tail);
        self.write()
    }

    /// Forget every mark (`forget --all`): every file may be imported again.
    pub fn clear(&mut self) -> Result<(), StoreError> {
        if self.marks.is_empty() && !self.path.exists() {
            return Ok(());
        }
        self.marks.clear();
        self.write()
    }

    fn write(&self) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(&self.marks).map_err(|source| StoreError::Encode {
            path: self.path.clone(),
            source,
        })?;
        atomic::write_atomic(&self.path, &bytes)
    }
}

/// Where the marks live: beside the dataset.
pub fn marks_path(dataset: &Path) -> PathBuf {
    dataset.with_file_name("imports.json")
}

impl Actor {
    pub(super) fn import(
        &mut self,
        source: &str,
        entries: Vec<ImportEntry>,
        mark: Option<ImportMark>,
    ) -> Result<Imported, LearningError> {
        let mut done = Imported {
            imported: 0,
            skipped: 0,
        };
        if !self.tracking {
            done.skipped = entries.len() as u64;
            return Ok(done);
        }
        // Each folder's project is read once per batch.
        let mut projects: std::collections::HashMap<
            PathBuf,
            Option<crate::context::project::Project>,
        > = std::collections::HashMap::new();
        for entry in entries {
            let goal = redact::redact(entry.command.trim()).into_owned();
            let normalized = normalize::normalize_goal(&goal);
            if normalized.is_empty() {
                done.skipped += 1;
                continue;
            }
            let at = entry
                .at
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0));
            // Where the history tells (a `cd` before it), the folder and its project go with
            // the line, so the scheduler's recurring goals find it in its project again.
            let project = entry.cwd.as_ref().and_then(|cwd| {
                projects
                    .entry(cwd.clone())
                    .or_insert_with(|| crate::context::project::detect(cwd))
                    .clone()
            });
            if self.patterns {
                let (project, kind) = super::knowledge::project_key(project.as_ref());
                self.knowledge.append(
                    KnowledgeOp::Observe {
                        project,
                        kind,
                        goal: normalized.clone(),
                        at,
                    },
                    false,
                )?;
            }
            let record = Record::Interaction {
                at,
                goal,
                goal_normalized: normalized,
                source: source.to_string(),
                patterns: self.patterns,
                cwd: entry.cwd.clone(),
                project,
                exit: None,
                duration_ms: None,
            };
            if self.dataset.push(&record)? {
                self.dataset.flush()?;
            }
            done.imported += 1;
        }
        // An import is one request the user waits for: make it durable before answering,
        // and only then say how far it got.
        self.dataset.flush()?;
        self.dataset.sync()?;
        self.knowledge.sync()?;
        if let Some(mark) = mark {
            self.imports.set(mark)?;
        }
        Ok(done)
    }
}
