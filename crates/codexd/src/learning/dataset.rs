//! The learning dataset (`storage/learning/personalized_dataset.jsonl`): one example per
//! finished run, one label per rating joined by run id. Written in batches.

use chrono::{DateTime, Utc};
use codex_proto::types::{RunId, RunOutcome};
use serde::Serialize;

use crate::bus::Rated;
use crate::episode::{Episode, Trigger};
use crate::store::StoreError;
use crate::store::jsonl::Appender;

/// One line of the dataset.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record<'a> {
    /// A finished run.
    Example {
        /// The run.
        run_id: RunId,
        /// When it finished.
        at: DateTime<Utc>,
        /// What was asked.
        goal: &'a str,
        /// Program name.
        program: &'a str,
        /// The command as run.
        argv: &'a [String],
        /// Where it ran.
        cwd: &'a std::path::Path,
        /// Who asked.
        trigger: Trigger,
        /// How it ended.
        outcome: &'a RunOutcome,
        /// Exit code 0.
        success: bool,
        /// Wall time.
        duration_ms: u64,
    },
    /// A rating for an earlier example.
    Label {
        /// The run rated.
        run_id: RunId,
        /// When it was rated.
        at: DateTime<Utc>,
        /// 1..5.
        score: u8,
        /// The user's comment.
        comment: Option<&'a str>,
    },
}

impl<'a> Record<'a> {
    /// The example for a finished run.
    pub fn example(e: &'a Episode) -> Self {
        Record::Example {
            run_id: e.run_id,
            at: e.finished_at,
            goal: &e.goal,
            program: &e.program,
            argv: &e.argv,
            cwd: &e.cwd,
            trigger: e.trigger,
            outcome: &e.outcome,
            success: e.outcome.success(),
            duration_ms: e.duration_ms,
        }
    }

    /// The label for a rating.
    pub fn label(r: &'a Rated) -> Self {
        Record::Label {
            run_id: r.run_id,
            at: r.at,
            score: r.score,
            comment: r.comment.as_deref(),
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
}

impl DatasetWriter {
    /// A writer for `out`, flushing every `batch_size` records.
    pub fn new(out: Appender, batch_size: usize) -> Self {
        DatasetWriter {
            out,
            pending: Vec::new(),
            pending_records: 0,
            batch_size: batch_size.max(1),
        }
    }

    /// Queue a record; true when a full batch is waiting to be flushed.
    pub fn push(&mut self, record: &Record<'_>) -> Result<bool, StoreError> {
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

    /// Append the queued records in one write and fsync. On error they stay queued.
    pub fn flush(&mut self) -> Result<usize, StoreError> {
        if self.pending_records == 0 {
            return Ok(0);
        }
        self.out.append_raw(&self.pending)?;
        self.out.sync()?;
        let n = self.pending_records;
        self.pending.clear();
        self.pending_records = 0;
        Ok(n)
    }
}
