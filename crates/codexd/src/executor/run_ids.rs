//! Run ids, unique for the life of CODEX_HOME. A durable high-water mark is written ahead of
//! the ids handed out (a block at a time), so no crash, damaged store or full disk hands out
//! an id twice: at worst a crash leaves a gap. Where the mark itself is missing or damaged,
//! the stores that hold ids (episodic memory, the dataset) set the floor.

use std::path::{Path, PathBuf};

use codex_proto::types::RunId;
use tracing::{info, warn};

use crate::store::StoreError;
use crate::store::atomic::write_atomic;

/// Ids reserved by one write of the mark: a crash wastes at most this many.
const BLOCK: u64 = 64;

/// The id allocator.
#[derive(Debug)]
pub struct RunIds {
    path: PathBuf,
    next: u64,
    /// Every id below this is reserved on disk (the mark's value).
    reserved: u64,
}

impl RunIds {
    /// Open the mark at `path`; ids start above it, above `floor` (episodic memory's next
    /// id) and, when the mark cannot be read, above every id in the dataset at `dataset`.
    pub fn open(path: &Path, floor: u64, dataset: &Path) -> Result<RunIds, StoreError> {
        let mark = match std::fs::read_to_string(path) {
            Ok(text) => match text.trim().parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    warn!(file = %path.display(), "the run id mark is damaged; taking ids from the stores");
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(StoreError::io("cannot read", path)(e)),
        };
        let mut next = floor.max(1);
        match mark {
            Some(m) => next = next.max(m),
            None => {
                let mut top = 0;
                crate::learning::dataset::for_each(dataset, |_, r| {
                    if let Some(id) = r.and_then(|r| r.run_id()) {
                        top = top.max(id.0);
                    }
                    Ok(())
                })?;
                next = next.max(top.saturating_add(1));
                info!(
                    next,
                    "run ids continue above every id in episodic memory and the dataset"
                );
            }
        }
        Ok(RunIds {
            path: path.to_path_buf(),
            next,
            // Nothing above `next` is known to be reserved: the first take writes the mark.
            reserved: next,
        })
    }

    /// The next id; the mark is moved ahead first when the reserved block is used up, and
    /// when that write fails no id is handed out.
    pub fn take(&mut self) -> Result<RunId, StoreError> {
        if self.next >= self.reserved {
            let mark = self.next.saturating_add(BLOCK);
            write_atomic(&self.path, format!("{mark}\n").as_bytes())?;
            self.reserved = mark;
        }
        let id = RunId(self.next);
        self.next += 1;
        Ok(id)
    }

    /// At a clean stop, once no run can take an id: the mark comes down to exactly the next
    /// id, so a restart continues without a gap (only a crash leaves one).
    pub fn close(&mut self) {
        if self.reserved > self.next {
            match write_atomic(&self.path, format!("{}\n", self.next).as_bytes()) {
                Ok(()) => self.reserved = self.next,
                Err(e) => warn!("cannot lower the run id mark at stop (ids will skip ahead): {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(dir: &Path, floor: u64) -> RunIds {
        RunIds::open(&dir.join("run_ids"), floor, &dir.join("dataset.jsonl")).unwrap()
    }

    #[test]
    fn ids_are_never_reused_across_crashes_and_lost_stores() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = ids(dir.path(), 1);
        let taken: Vec<u64> = (0..3).map(|_| a.take().unwrap().0).collect();
        assert_eq!(taken, [1, 2, 3]);
        // A crash (no clean stop) and episodic memory lost: the mark still holds the floor.
        drop(a);
        let mut b = ids(dir.path(), 1);
        let next = b.take().unwrap().0;
        assert!(next > 3, "{next}");
        // A floor above the mark wins.
        drop(b);
        let mut c = ids(dir.path(), 10_000);
        assert_eq!(c.take().unwrap().0, 10_000);
    }

    #[test]
    fn a_clean_stop_leaves_no_gap() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = ids(dir.path(), 1);
        assert_eq!(a.take().unwrap().0, 1);
        a.close();
        drop(a);
        let mut b = ids(dir.path(), 1);
        assert_eq!(b.take().unwrap().0, 2);
    }

    #[test]
    fn a_damaged_mark_falls_back_to_the_dataset() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("run_ids"), "garbage").unwrap();
        std::fs::write(
            dir.path().join("dataset.jsonl"),
            "{\"type\":\"label\",\"run_id\":41,\"score\":5,\"at\":\"2026-01-01T00:00:00Z\"}\n",
        )
        .unwrap();
        let mut r = ids(dir.path(), 1);
        let id = r.take().unwrap().0;
        assert_eq!(id, 42, "above the dataset's highest run id");
        assert!(
            std::fs::read_to_string(dir.path().join("run_ids"))
                .unwrap()
                .trim()
                .parse::<u64>()
                .unwrap()
                > id
        );
    }

    #[test]
    fn no_id_is_handed_out_when_the_mark_cannot_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = RunIds::open(
            &dir.path().join("missing-folder").join("run_ids"),
            5,
            &dir.path().join("dataset.jsonl"),
        )
        .unwrap();
        assert!(r.take().is_err());
        assert!(r.take().is_err(), "still refused: nothing was reserved");
    }
}
