//! A JSON snapshot plus an append-only journal of operations: O(1) appends, a snapshot a
//! person can read, and recovery from any crash.
//!
//! Files: `NAME.json` holds `{"format":1,"seq":N,"state":{...}}`; `NAME.journal.jsonl` holds
//! `{"seq":N,"op":{...}}` lines. Loading applies every journal op whose `seq` is above the
//! snapshot's, so a crash between writing a snapshot and emptying the journal is harmless.
//! The journal is folded into the snapshot once it is larger than the snapshot (and than a
//! configured minimum): the rewrite cost is then amortized over the appends that grew it.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use super::StoreError;
use super::jsonl::Appender;

/// Snapshot format version.
const FORMAT: u32 = 1;

/// State kept in a journaled snapshot: a value changed only by applying operations.
pub trait State: Default + Serialize + DeserializeOwned {
    /// One change to the state, as written to the journal.
    type Op: Serialize + DeserializeOwned;
    /// Apply a change. Must be deterministic: replay after a crash gives the same state.
    fn apply(&mut self, op: Self::Op);
}

#[derive(Serialize, Deserialize)]
struct Snapshot<S> {
    format: u32,
    seq: u64,
    state: S,
}

#[derive(Serialize)]
struct EntryOut<'a, O> {
    seq: u64,
    op: &'a O,
}

#[derive(Deserialize)]
struct EntryIn<O> {
    seq: u64,
    op: O,
}

/// What loading found, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The snapshot did not parse and was moved here.
    pub snapshot_moved_to: Option<PathBuf>,
    /// The journal had unreadable lines in the middle and was moved here.
    pub journal_moved_to: Option<PathBuf>,
    /// Bytes of a torn last journal line cut off.
    pub torn_bytes: u64,
    /// Journal ops applied on top of the snapshot.
    pub replayed: u64,
    /// Journal lines that could not be read and were skipped.
    pub skipped: u64,
}

/// A state with its snapshot file and journal.
#[derive(Debug)]
pub struct Journaled<S: State> {
    snapshot_path: PathBuf,
    journal: Appender,
    state: S,
    seq: u64,
    snapshot_bytes: u64,
    journal_bytes: u64,
    compact_min_bytes: u64,
}

/// The journal file that belongs to a snapshot path: `x.json` → `x.journal.jsonl`.
pub fn journal_path(snapshot: &Path) -> PathBuf {
    snapshot.with_extension("journal.jsonl")
}

impl<S: State> Journaled<S> {
    /// Load the snapshot and replay the journal, repairing what a crash can leave behind.
    /// Unparseable files are moved aside, never overwritten.
    pub fn open(
        snapshot_path: PathBuf,
        compact_min_bytes: u64,
    ) -> Result<(Self, Recovery), StoreError> {
        let mut rec = Recovery::default();
        // Streamed, not read whole: a large snapshot would otherwise sit in memory twice.
        let (mut state, mut seq, snapshot_bytes) = match std::fs::File::open(&snapshot_path) {
            Ok(file) => {
                let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                let parsed = serde_json::from_reader::<_, Snapshot<S>>(
                    std::io::BufReader::with_capacity(1 << 16, file),
                );
                match parsed {
                    Ok(s) if s.format == FORMAT => (s.state, s.seq, len),
                    Ok(s) => {
                        let moved = super::aside::move_aside(&snapshot_path)?;
                        error!(file = %snapshot_path.display(), moved_to = %moved.display(),
                            "snapshot has format {} (this codexd reads {FORMAT}); moved it aside and \
                             started from the journal alone", s.format);
                        rec.snapshot_moved_to = Some(moved);
                        (S::default(), 0, 0)
                    }
                    Err(e) if e.is_io() => {
                        return Err(StoreError::io("cannot read", &snapshot_path)(e.into()));
                    }
                    Err(e) => {
                        let moved = super::aside::move_aside(&snapshot_path)?;
                        error!(file = %snapshot_path.display(), moved_to = %moved.display(),
                            "snapshot does not parse ({e}); moved it aside and started from the journal alone");
                        rec.snapshot_moved_to = Some(moved);
                        (S::default(), 0, 0)
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (S::default(), 0, 0),
            Err(e) => return Err(StoreError::io("cannot read", &snapshot_path)(e)),
        };

        let jpath = journal_path(&snapshot_path);
        rec.torn_bytes = super::jsonl::repair_tail(&jpath)?;
        if rec.torn_bytes > 0 {
            warn!(file = %jpath.display(), bytes = rec.torn_bytes,
                "cut a torn last line left by a crash");
        }
        let text = match std::fs::read(&jpath) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(StoreError::io("cannot read", &jpath)(e)),
        };
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<EntryIn<S::Op>>(line) {
                Ok(entry) if entry.seq > seq => {
                    seq = entry.seq;
                    state.apply(entry.op);
                    rec.replayed += 1;
                }
                Ok(_) => {} // already in the snapshot
                Err(_) => rec.skipped += 1,
            }
        }
        let mut me = Journaled {
            snapshot_path,
            journal: Appender::new(jpath),
            state,
            seq,
            snapshot_bytes,
            journal_bytes: text.len() as u64,
            compact_min_bytes,
        };
        if rec.skipped > 0 {
            // Keep the damaged journal for the user, and make what was recovered durable
            // in a fresh snapshot before anything new is appended.
            let moved = super::aside::move_aside(me.journal.path())?;
            error!(file = %moved.display(), skipped = rec.skipped, replayed = rec.replayed,
                "journal had unreadable lines; moved it aside and kept every line that parsed");
            rec.journal_moved_to = Some(moved);
            me.journal_bytes = 0;
            me.compact()?;
        } else if rec.snapshot_moved_to.is_some() {
            me.compact()?;
        }
        if rec.replayed > 0 {
            info!(file = %me.snapshot_path.display(), ops = rec.replayed, "replayed journal");
        }
        Ok((me, rec))
    }

    /// The current state.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The state, for derived fields that are never stored (caches rebuilt on load).
    /// Anything that must survive a restart goes through [`Journaled::append`].
    pub fn state_mut(&mut self) -> &mut S {
        &mut self.state
    }

    /// Write `op` to the journal, then apply it. With `durable`, the journal is fsynced before
    /// returning. On error nothing is applied: memory never runs ahead of the disk.
    pub fn append(&mut self, op: S::Op, durable: bool) -> Result<(), StoreError> {
        let entry = EntryOut {
            seq: self.seq + 1,
            op: &op,
        };
        let line = serde_json::to_vec(&entry).map_err(|source| StoreError::Encode {
            path: self.journal.path().to_path_buf(),
            source,
        })?;
        self.journal.append_line(&line)?;
        if durable {
            self.journal.sync()?;
        }
        self.seq += 1;
        self.journal_bytes += line.len() as u64 + 1;
        self.state.apply(op);
        if self.journal_bytes > self.snapshot_bytes.max(self.compact_min_bytes) {
            self.compact()?;
        }
        Ok(())
    }

    /// Replace the whole state (a rebuild) and write it as the snapshot at once, so nothing
    /// of the old state stays readable in the journal.
    pub fn replace(&mut self, state: S) -> Result<(), StoreError> {
        self.state = state;
        self.compact()
    }

    /// fsync the journal.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.journal.sync()
    }

    /// Whether the journal holds ops not yet folded into the snapshot.
    pub fn has_journal(&self) -> bool {
        self.journal_bytes > 0
    }

    /// Write the whole state as a new snapshot (atomically) and empty the journal.
    pub fn compact(&mut self) -> Result<(), StoreError> {
        let snap = Snapshot {
            format: FORMAT,
            seq: self.seq,
            state: &self.state,
        };
        let written = super::atomic::write_atomic_with(&self.snapshot_path, |w| {
            serde_json::to_writer(w, &snap).map_err(std::io::Error::other)
        })?;
        self.journal.truncate()?;
        self.snapshot_bytes = written;
        self.journal_bytes = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Sum {
        total: i64,
        ops: u64,
    }

    impl State for Sum {
        type Op = i64;
        fn apply(&mut self, op: i64) {
            self.total += op;
            self.ops += 1;
        }
    }

    fn open(p: &Path) -> (Journaled<Sum>, Recovery) {
        Journaled::<Sum>::open(p.to_path_buf(), 1 << 20).unwrap()
    }

    #[test]
    fn appends_survive_reopen_without_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let (mut j, _) = open(&p);
        for i in 1..=10 {
            j.append(i, false).unwrap();
        }
        drop(j); // like a crash: no compaction, no sync
        assert!(!p.exists());
        let (j, rec) = open(&p);
        assert_eq!(j.state(), &Sum { total: 55, ops: 10 });
        assert_eq!(rec.replayed, 10);
    }

    #[test]
    fn compaction_then_stale_journal_is_not_applied_twice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let (mut j, _) = open(&p);
        j.append(5, false).unwrap();
        j.append(7, false).unwrap();
        let journal = std::fs::read(journal_path(&p)).unwrap();
        j.compact().unwrap();
        drop(j);
        // Crash between snapshot rename and journal truncation: the old journal is back.
        std::fs::write(journal_path(&p), &journal).unwrap();
        let (j, rec) = open(&p);
        assert_eq!(j.state(), &Sum { total: 12, ops: 2 });
        assert_eq!(rec.replayed, 0);
    }

    #[test]
    fn torn_journal_tail_is_cut_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let (mut j, _) = open(&p);
        j.append(1, false).unwrap();
        j.append(2, false).unwrap();
        drop(j);
        let jp = journal_path(&p);
        let mut bytes = std::fs::read(&jp).unwrap();
        bytes.extend_from_slice(b"{\"seq\":3,\"op\":");
        std::fs::write(&jp, &bytes).unwrap();
        let (mut j, rec) = open(&p);
        assert_eq!(j.state().total, 3);
        assert!(rec.torn_bytes > 0);
        j.append(4, false).unwrap();
        drop(j);
        assert_eq!(open(&p).0.state().total, 7);
    }

    #[test]
    fn corrupt_snapshot_is_moved_aside_and_journal_still_applies() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(&p, b"{ this is not json").unwrap();
        std::fs::write(
            journal_path(&p),
            b"{\"seq\":1,\"op\":40}\n{\"seq\":2,\"op\":2}\n",
        )
        .unwrap();
        let (j, rec) = open(&p);
        assert_eq!(j.state().total, 42);
        let moved = rec.snapshot_moved_to.unwrap();
        assert_eq!(std::fs::read(&moved).unwrap(), b"{ this is not json");
        // What was recovered is already durable in a fresh snapshot.
        drop(j);
        std::fs::remove_file(journal_path(&p)).ok();
        assert_eq!(open(&p).0.state().total, 42);
    }

    #[test]
    fn garbage_mid_journal_is_skipped_and_the_journal_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(
            journal_path(&p),
            b"{\"seq\":1,\"op\":1}\nGARBAGE\n{\"seq\":2,\"op\":2}\n",
        )
        .unwrap();
        let (j, rec) = open(&p);
        assert_eq!(j.state().total, 3);
        assert_eq!(rec.skipped, 1);
        assert!(rec.journal_moved_to.unwrap().exists());
    }

    #[test]
    fn journal_is_folded_once_larger_than_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let (mut j, _) = Journaled::<Sum>::open(p.clone(), 64).unwrap();
        for i in 0..100 {
            j.append(i, false).unwrap();
        }
        assert!(p.exists(), "snapshot written by compaction");
        let jlen = std::fs::metadata(journal_path(&p))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(jlen <= std::fs::metadata(&p).unwrap().len().max(64) + 32);
        drop(j);
        assert_eq!(open(&p).0.state().total, (0..100).sum::<i64>());
    }
}
