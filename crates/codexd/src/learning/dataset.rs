//! The learning dataset (`storage/learning/personalized_dataset.jsonl`): one example per
//! finished run, one label per rating joined by run id, and one interaction per imported
//! history line. Appended in batches; rewritten only by `codex forget`. Checked on open like
//! the journals ([`recover`]): a torn last line is cut, lines that do not parse are set aside.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use codex_proto::types::{RunId, RunOutcome};
use serde::{Deserialize, Serialize};

use crate::bus::Rated;
use crate::context::project::Project;
use crate::episode::{ApprovalRecord, Episode, Trigger};
use crate::store::StoreError;
use crate::store::jsonl::Appender;
use tracing::{error, warn};

/// One line of the dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// A finished run.
    Example(Box<Example>),
    /// A rating for an earlier example (the latest label of a run wins).
    Label {
        /// The run rated.
        run_id: RunId,
        /// When it was rated.
        at: DateTime<Utc>,
        /// 1..5.
        score: u8,
        /// The user's comment.
        #[serde(default)]
        comment: Option<String>,
    },
    /// An interaction from the shell (an imported history line, or a command the shell hook
    /// captured): a goal that is no run of codex's.
    Interaction {
        /// When, if the source said.
        #[serde(default)]
        at: Option<DateTime<Utc>>,
        /// The command line (redacted).
        goal: String,
        /// The goal normalized.
        goal_normalized: String,
        /// Where it came from, e.g. `zsh-history`.
        source: String,
        /// Whether workflow patterns were tracked for it.
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        patterns: bool,
        /// The folder it was typed in (shell capture).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<PathBuf>,
        /// That folder's project (shell capture).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<Project>,
        /// Its exit status (shell capture).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit: Option<i32>,
        /// How long it ran (shell capture).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
}

/// A finished run as a learning example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// The run.
    pub run_id: RunId,
    /// When it finished.
    pub at: DateTime<Utc>,
    /// What was asked (redacted).
    pub goal: String,
    /// The goal normalized.
    #[serde(default)]
    pub goal_normalized: String,
    /// Its task category.
    #[serde(default)]
    pub category: String,
    /// The project.
    #[serde(default)]
    pub project: Option<Project>,
    /// Program basename.
    pub program: String,
    /// Program plus subcommand.
    #[serde(default)]
    pub tool: String,
    /// The plan's command line.
    #[serde(default)]
    pub plan: String,
    /// The command as run (redacted).
    pub argv: Vec<String>,
    /// Where it ran.
    pub cwd: std::path::PathBuf,
    /// Who asked.
    pub trigger: Trigger,
    /// The scheduled job it was an occurrence of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Exit code 0.
    pub success: bool,
    /// Wall time.
    pub duration_ms: u64,
    /// Approvals it needed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<ApprovalRecord>,
    /// Whether workflow patterns were tracked for it (`workflow_pattern_tracking`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub patterns: bool,
    /// Which part of a plan it was (a plan's later steps are not new goals).
    #[serde(default, skip_serializing_if = "codex_proto::types::RunPart::is_whole")]
    pub part: codex_proto::types::RunPart,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Record {
    /// The example for a finished run.
    pub fn example(e: &Episode, patterns: bool) -> Self {
        Record::Example(Box::new(Example {
            run_id: e.run_id,
            at: e.finished_at,
            goal: e.goal.clone(),
            goal_normalized: e.goal_normalized.clone(),
            category: e.category.clone(),
            project: e.project.clone(),
            program: e.program.clone(),
            tool: e.tool.clone(),
            plan: e.plan.clone(),
            argv: e.argv.clone(),
            cwd: e.cwd.clone(),
            trigger: e.trigger,
            job: e.job,
            outcome: e.outcome.clone(),
            success: e.outcome.success(),
            duration_ms: e.duration_ms,
            approvals: e.approvals.clone(),
            patterns,
            part: e.part,
        }))
    }

    /// The label for a rating.
    pub fn label(r: &Rated) -> Self {
        Record::Label {
            run_id: r.run_id,
            at: r.at,
            score: r.score,
            comment: r.comment.clone(),
        }
    }

    /// The run a record is about, if any.
    pub fn run_id(&self) -> Option<RunId> {
        match self {
            Record::Example(e) => Some(e.run_id),
            Record::Label { run_id, .. } => Some(*run_id),
            Record::Interaction { .. } => None,
        }
    }
}

/// Buffers dataset lines and appends them a batch at a time.
#[derive(Debug)]
pub struct DatasetWriter {
    out: Appender,
    pending: Vec<u8>,
    pending_records: usize,
    batch_size: usize,
    /// The check of the file on open, running on a thread of its own: a large dataset takes
    /// a second or two to read, which daemon start does not wait for. Nothing is written
    /// to the file before it has finished.
    check: Option<std::thread::JoinHandle<()>>,
}

impl DatasetWriter {
    /// A writer for `out`, flushing every `batch_size` records. The file is checked
    /// ([`recover`]) on a thread of its own, before anything is written to it; a check that
    /// cannot finish is logged and the file left as it is.
    pub fn new(out: Appender, batch_size: usize) -> Self {
        let path = out.path().to_path_buf();
        let run = move || {
            if let Err(e) = recover(&path) {
                error!("cannot check the dataset: {e}; it is left as it is");
            }
        };
        let check = match std::thread::Builder::new()
            .name("codexd-dataset-check".into())
            .spawn(run.clone())
        {
            Ok(handle) => Some(handle),
            Err(_) => {
                run();
                None
            }
        };
        DatasetWriter {
            out,
            pending: Vec::new(),
            pending_records: 0,
            batch_size: batch_size.max(1),
            check,
        }
    }

    /// Wait for the check on open to finish (before the first write).
    pub fn checked(&mut self) {
        if let Some(check) = self.check.take()
            && check.join().is_err()
        {
            error!("the dataset check stopped before it finished; the file is left as it is");
        }
    }

    /// The dataset file.
    pub fn path(&self) -> &Path {
        self.out.path()
    }

    /// Queue a record; true when a full batch is waiting to be flushed.
    pub fn push(&mut self, record: &Record) -> Result<bool, StoreError> {
        serde_json::to_writer(&mut self.pending, record).map_err(|source| StoreError::Encode {
            path: self.out.path().to_path_buf(),
            source,
        })?;
        self.pending.push(b'\n');
        self.pending_records += 1;
        Ok(self.pending_records >= self.batch_size)
    }

    /// Records queued and not yet on disk.
    pub fn pending(&self) -> usize {
        self.pending_records
    }

    /// Append the queued records in one write. From then on a crash of the process loses
    /// none of them; [`DatasetWriter::sync`] makes them survive a power cut too. On error
    /// they stay queued.
    pub fn flush(&mut self) -> Result<usize, StoreError> {
        self.checked();
        if self.pending_records == 0 {
            return Ok(0);
        }
        self.out.append_raw(&self.pending)?;
        let n = self.pending_records;
        self.pending.clear();
        self.pending_records = 0;
        Ok(n)
    }
}

impl DatasetWriter {
    /// fsync what was flushed (on the flush interval and at shutdown, not per batch: an fsync
    /// per batch would cap ingest at the disk's sync rate).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.out.sync()
    }

    /// Flush, then replace the file with the lines `keep` accepts, streamed (for
    /// `codex forget`). `keep` sees each line that parses; lines that do not parse are kept
    /// as they are. Returns how many lines were dropped.
    pub fn retain(&mut self, mut keep: impl FnMut(&Record) -> bool) -> Result<u64, StoreError> {
        self.flush()?;
        let path = self.out.path().to_path_buf();
        let mut dropped = 0;
        let mut failed: Option<StoreError> = None;
        crate::store::atomic::write_atomic_with(&path, |w| {
            let result = for_each(&path, |line, record| {
                if record.is_some_and(|r| !keep(r)) {
                    dropped += 1;
                    return Ok(());
                }
                w.write_all(line)
                    .and_then(|()| w.write_all(b"\n"))
                    .map_err(StoreError::io("cannot write", &path))
            });
            match result {
                Ok(_) => Ok(()),
                Err(e) => {
                    failed = Some(e);
                    Err(std::io::Error::other("reading the dataset failed"))
                }
            }
        })
        .map_err(|e| failed.take().unwrap_or(e))?;
        self.out.close();
        Ok(dropped)
    }
}

/// Visit every line of a dataset file in order, with its record when it parses; returns how
/// many lines did not parse. Streamed: the file is never in memory whole.
pub fn for_each(
    path: &Path,
    mut visit: impl FnMut(&[u8], Option<&Record>) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    use std::io::BufRead as _;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io("cannot read", path)(e)),
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    let mut bad = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(StoreError::io("cannot read", path))?;
        if n == 0 {
            return Ok(bad);
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.is_empty() {
            continue;
        }
        let record = parse(text);
        bad += u64::from(record.is_none());
        visit(text, record.as_ref())?;
    }
}

/// A dataset line as a record, if it is one (in valid UTF-8).
pub fn parse(line: &[u8]) -> Option<Record> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|text| serde_json::from_str(text).ok())
}

/// What [`recover`] found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DatasetRecovery {
    /// Bytes of a torn or unreadable last line cut off.
    pub torn_bytes: u64,
    /// Lines that do not parse as records, taken out of the dataset.
    pub bad_lines: u64,
    /// Where the file as it was (bad lines and all) was kept.
    pub kept_at: Option<PathBuf>,
}

/// Check the dataset as a journal is checked on open. A last line that is torn, not in
/// UTF-8 or not a record is cut (a crash mid-append). Lines in the middle that do not parse
/// are damage: the file as it was is kept aside as `NAME.corrupt-...`, and the dataset is
/// rewritten (atomically) with every line that parses, so exports and rebuilds see all of
/// them and appends start clean. Streamed: the file is never in memory whole.
pub fn recover(path: &Path) -> Result<DatasetRecovery, StoreError> {
    let (mut bad, mut last_bad) = (0u64, false);
    for_each(path, |_, r| {
        last_bad = r.is_none();
        bad += u64::from(last_bad);
        Ok(())
    })?;
    let mut rec = DatasetRecovery::default();
    if bad <= u64::from(last_bad) {
        rec.torn_bytes = crate::store::jsonl::repair_tail_with(path, |l| parse(l).is_some())?;
        if rec.torn_bytes > 0 {
            warn!(file = %path.display(), bytes = rec.torn_bytes,
                "cut a torn or unreadable last line of the dataset (left by a crash)");
        }
        return Ok(rec);
    }
    // A hard link: the file as found is never written again, only replaced below.
    let kept = crate::store::aside::copy_aside(path)?;
    rec.bad_lines = bad;
    let mut failed: Option<StoreError> = None;
    crate::store::atomic::write_atomic_with(path, |w| {
        let copied = for_each(&kept, |line, record| {
            if record.is_none() {
                return Ok(());
            }
            w.write_all(line)
                .and_then(|()| w.write_all(b"\n"))
                .map_err(StoreError::io("cannot write", path))
        });
        copied.map(|_| ()).map_err(|e| {
            failed = Some(e);
            std::io::Error::other("reading the dataset failed")
        })
    })
    .map_err(|e| failed.take().unwrap_or(e))?;
    error!(file = %path.display(), kept_at = %kept.display(), lines = rec.bad_lines,
        "dataset had lines that do not parse; kept the file as it was aside and the dataset \
         holds every line that parses");
    rec.kept_at = Some(kept);
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fuzz;
    use proptest::prelude::*;

    fn label(run: u64, score: u8) -> Vec<u8> {
        serde_json::to_vec(&Record::Label {
            run_id: RunId(run),
            at: DateTime::from_timestamp(1_700_000_000 + run as i64, 0).unwrap(),
            score,
            comment: Some("fine ✓".into()),
        })
        .unwrap()
    }

    fn file(lines: &[Vec<u8>]) -> Vec<u8> {
        lines
            .iter()
            .flat_map(|l| l.iter().copied().chain([b'\n']))
            .collect()
    }

    fn labels_in(path: &Path) -> Vec<u64> {
        let mut runs = Vec::new();
        for_each(path, |_, r| {
            if let Some(Record::Label { run_id, .. }) = r {
                runs.push(run_id.0);
            }
            Ok(())
        })
        .unwrap();
        runs
    }

    #[test]
    fn garbage_mid_file_is_set_aside_and_every_good_line_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        let before = file(&[
            label(1, 5),
            b"GARBAGE".to_vec(),
            label(2, 4),
            b"{\"type\":\"nope\"}".to_vec(),
            label(3, 1),
        ]);
        std::fs::write(&p, &before).unwrap();
        let rec = recover(&p).unwrap();
        assert_eq!(rec.bad_lines, 2);
        assert_eq!(std::fs::read(rec.kept_at.unwrap()).unwrap(), before);
        assert_eq!(labels_in(&p), [1, 2, 3]);
        assert_eq!(for_each(&p, |_, _| Ok(())).unwrap(), 0);
        assert_eq!(recover(&p).unwrap(), DatasetRecovery::default());
    }

    #[test]
    fn a_complete_last_line_in_invalid_utf8_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        let mut bad = label(2, 4);
        let at = bad.iter().position(|&b| b == 0xe2).unwrap(); // inside "✓"
        bad[at] = 0xff;
        std::fs::write(&p, file(&[label(1, 5), bad.clone()])).unwrap();
        let rec = recover(&p).unwrap();
        assert_eq!(rec.torn_bytes, bad.len() as u64 + 1);
        assert_eq!(std::fs::read(&p).unwrap(), file(&[label(1, 5)]));
    }

    #[test]
    fn a_last_line_that_is_json_but_no_record_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        std::fs::write(&p, file(&[label(1, 5), b"{\"type\":\"label\"}".to_vec()])).unwrap();
        assert_eq!(recover(&p).unwrap().torn_bytes, 17);
        assert_eq!(labels_in(&p), [1]);
    }

    #[test]
    fn a_writer_checks_its_file_when_made() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        std::fs::write(&p, file(&[label(1, 5), vec![0xff, b'{'], label(2, 3)])).unwrap();
        let mut w = DatasetWriter::new(Appender::new(p.clone()), 8);
        w.checked();
        assert_eq!(for_each(&p, |_, _| Ok(())).unwrap(), 0);
        assert_eq!(labels_in(&p), [1, 2]);
    }

    proptest! {
        #![proptest_config(crate::store::fuzz_config())]

        /// Whatever the damage, checking and reading never panic; afterwards every line
        /// parses, the file as it was is kept when lines were taken out, and nothing that
        /// parsed before the damage's reach is lost.
        #[test]
        fn fuzz_dataset_reader(damage in fuzz::damage(), n in 1u64..12) {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("d.jsonl");
            let valid = file(&(1..=n).map(|i| label(i, (i % 5 + 1) as u8)).collect::<Vec<_>>());
            let damaged = fuzz::apply(&valid, &damage);
            std::fs::write(&p, &damaged).unwrap();
            let parsed_before = damaged
                .split(|&b| b == b'\n')
                .filter(|l| parse(l).is_some())
                .count();
            let rec = recover(&p).unwrap();
            prop_assert_eq!(for_each(&p, |_, _| Ok(())).unwrap(), 0);
            if let Some(kept) = &rec.kept_at {
                prop_assert_eq!(std::fs::read(kept).unwrap(), damaged.clone());
            }
            let mut after = 0;
            for_each(&p, |_, r| {
                after += usize::from(r.is_some());
                Ok(())
            })
            .unwrap();
            // Only a damaged last line may go (it may have been a crash's torn write).
            prop_assert!(after + 1 >= parsed_before, "{after} of {parsed_before}");
        }
    }
}
