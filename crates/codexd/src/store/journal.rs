//! A JSON snapshot plus an append-only journal of operations: O(1) appends, a snapshot a
//! person can read, and recovery from any crash.
//!
//! Files: `NAME.json` holds `{"format":1,"seq":N,"headed":true,"state":{...}}`;
//! `NAME.journal.jsonl` holds a header `{"base":N}` (the snapshot it continues) and then
//! `{"seq":N,"op":{...}}` lines. Loading applies every journal op whose `seq` is above the
//! snapshot's, so a crash between writing a snapshot and replacing the journal is harmless.
//! The journal is folded into the snapshot once it is larger than the snapshot (and than a
//! configured minimum): the rewrite cost is then amortized over the appends that grew it.
//! A state that can [`State::detach`] a copy has its snapshot written on a thread of its own
//! while appends go on; the journal's tail written meanwhile is carried into the new journal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use super::StoreError;
use super::jsonl::Appender;

/// Snapshot format version.
const FORMAT: u32 = 1;

/// How long after a failed compaction the next one is tried (the journal keeps everything
/// meanwhile; a full disk is not retried on every append).
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// A state's JSON, written by a background compaction.
pub type Detached = Box<dyn FnOnce(&mut dyn Write) -> std::io::Result<()> + Send>;

/// State kept in a journaled snapshot: a value changed only by applying operations.
pub trait State: Default + Serialize + DeserializeOwned {
    /// One change to the state, as written to the journal.
    type Op: Serialize + DeserializeOwned;
    /// Apply a change. Must be deterministic: replay after a crash gives the same state.
    fn apply(&mut self, op: Self::Op);
    /// A copy of the state that writes itself as JSON on another thread, so a large snapshot
    /// is written while appends go on. `None` (the default): written on the caller's path.
    fn detach(&self) -> Option<Detached> {
        None
    }
}

/// A snapshot as read back (also by `doctor`, which reads without repairing).
#[derive(Deserialize)]
pub(crate) struct SnapshotIn<S> {
    /// The snapshot format version.
    pub(crate) format: u32,
    /// The last journal seq folded in.
    pub(crate) seq: u64,
    /// Written with a journal header: an empty or missing journal then means damage.
    #[serde(default)]
    pub(crate) headed: bool,
    /// The state.
    pub(crate) state: S,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    base: u64,
}

fn header(base: u64) -> Vec<u8> {
    format!("{{\"base\":{base}}}\n").into_bytes()
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
    /// The journal was empty or missing where it should at least hold its header: whatever
    /// it held since the snapshot is lost.
    pub journal_emptied: bool,
    /// The journal continues from a later snapshot than the one found: the changes up to
    /// this seq (after the snapshot's) are lost.
    pub lost_up_to: Option<u64>,
}

struct Pending {
    /// The seq the snapshot being written holds.
    seq: u64,
    /// The journal's length when the state was copied: what follows is newer.
    cut: u64,
    done: mpsc::Receiver<Result<u64, StoreError>>,
}

/// A state with its snapshot file and journal.
pub struct Journaled<S: State> {
    snapshot_path: PathBuf,
    journal: Appender,
    state: S,
    seq: u64,
    snapshot_bytes: u64,
    /// Bytes of ops in the journal (the header not counted).
    journal_bytes: u64,
    /// The journal has no header (a new or emptied file): the next append writes one first.
    needs_header: bool,
    compact_min_bytes: u64,
    pending: Option<Pending>,
    retry_at: Option<Instant>,
    /// The owner calls [`Journaled::compact_if_due`] itself, after answering.
    deferred: bool,
}

impl<S: State> std::fmt::Debug for Journaled<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journaled")
            .field("snapshot_path", &self.snapshot_path)
            .field("seq", &self.seq)
            .field("journal_bytes", &self.journal_bytes)
            .field("compacting", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

/// The journal file that belongs to a snapshot path: `x.json` → `x.journal.jsonl`.
pub fn journal_path(snapshot: &Path) -> PathBuf {
    snapshot.with_extension("journal.jsonl")
}

/// Read the snapshot: its state, seq, size and whether it was written with a journal header.
/// A snapshot that does not parse is moved aside (recorded in `rec`).
fn read_snapshot<S: State>(
    path: &Path,
    rec: &mut Recovery,
) -> Result<Option<(S, u64, u64, bool)>, StoreError> {
    // Streamed, not read whole: a large snapshot would otherwise sit in memory twice.
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("cannot read", path)(e)),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let parsed = serde_json::from_reader::<_, SnapshotIn<S>>(std::io::BufReader::with_capacity(
        1 << 16,
        file,
    ));
    let why = match parsed {
        Ok(s) if s.format == FORMAT => return Ok(Some((s.state, s.seq, len, s.headed))),
        Ok(s) => format!("has format {} (this codexd reads {FORMAT})", s.format),
        Err(e) if e.is_io() => return Err(StoreError::io("cannot read", path)(e.into())),
        Err(e) => format!("does not parse ({e})"),
    };
    let moved = super::aside::move_aside(path)?;
    error!(file = %path.display(), moved_to = %moved.display(),
        "snapshot {why}; moved it aside and started from the journal alone");
    rec.snapshot_moved_to = Some(moved);
    Ok(None)
}

/// Whether a journal line other than the last one with something on it does not parse.
fn damaged_before_last_line<O: DeserializeOwned>(text: &[u8]) -> bool {
    let mut lines = text.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let _last = lines.next_back();
    lines.enumerate().any(|(i, line)| {
        serde_json::from_slice::<EntryIn<O>>(line).is_err()
            && (i > 0 || serde_json::from_slice::<Header>(line).is_err())
    })
}

/// Write a snapshot of `seq` atomically, the state's JSON streamed by `state`.
fn write_snapshot(
    path: &Path,
    seq: u64,
    state: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<u64, StoreError> {
    super::atomic::write_atomic_with(path, |w| {
        write!(
            w,
            "{{\"format\":{FORMAT},\"seq\":{seq},\"headed\":true,\"state\":"
        )?;
        state(w)?;
        w.write_all(b"}")
    })
}

impl<S: State> Journaled<S> {
    /// Load the snapshot and replay the journal, repairing what a crash can leave behind.
    /// Unparseable files are moved aside, never overwritten.
    pub fn open(
        snapshot_path: PathBuf,
        compact_min_bytes: u64,
    ) -> Result<(Self, Recovery), StoreError> {
        Self::open_rebuilding(snapshot_path, compact_min_bytes, |_, _| None)
    }

    /// Like [`Journaled::open`]; when the snapshot was moved aside, `rebuild` sees the state
    /// replayed from the journal alone and may return a fuller one (from other files). It is
    /// written in the fresh snapshot that makes the recovery durable, so a crash right after
    /// cannot leave the state without what was rebuilt.
    pub fn open_rebuilding(
        snapshot_path: PathBuf,
        compact_min_bytes: u64,
        rebuild: impl FnOnce(&S, &Recovery) -> Option<S>,
    ) -> Result<(Self, Recovery), StoreError> {
        let mut rec = Recovery::default();
        let snapshot = read_snapshot::<S>(&snapshot_path, &mut rec)?;
        let found_snapshot = snapshot.is_some();
        let (mut state, mut seq, snapshot_bytes, headed) =
            snapshot.unwrap_or((S::default(), 0, 0, false));
        let snapshot_seq = seq;

        let jpath = journal_path(&snapshot_path);
        let (mut text, exists) = match std::fs::read(&jpath) {
            Ok(t) => (t, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), false),
            Err(e) => return Err(StoreError::io("cannot read", &jpath)(e)),
        };
        // Damage before the last line means the file goes aside as it was found; otherwise a
        // torn last line (a crash mid-append) is cut.
        if !damaged_before_last_line::<S::Op>(&text) {
            rec.torn_bytes = super::jsonl::repair_tail(&jpath)?;
            text.truncate(text.len().saturating_sub(rec.torn_bytes as usize));
        }
        if rec.torn_bytes > 0 {
            warn!(file = %jpath.display(), bytes = rec.torn_bytes,
                "cut a torn last line left by a crash");
        }
        let mut base = None;
        let mut header_bytes = 0;
        for (i, line) in text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            if i == 0
                && let Ok(h) = serde_json::from_slice::<Header>(line)
            {
                base = Some(h.base);
                header_bytes = line.len() as u64 + 1;
                continue;
            }
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
        // A journal is never left empty (it keeps its header), and a snapshot written with
        // one always has one beside it: an empty or missing journal then means damage.
        let headless = text.is_empty() && (exists || (found_snapshot && headed));
        if headless && rec.torn_bytes == 0 {
            rec.journal_emptied = true;
            error!(file = %jpath.display(), snapshot_seq,
                "journal is {} though a journal is never left empty: the changes it held since \
                 the snapshot (if any) are lost; started from the snapshot alone \
                 (a first write that failed on a full disk also leaves it empty)",
                if exists { "empty" } else { "missing" });
        }
        if let Some(b) = base.filter(|&b| b > snapshot_seq) {
            rec.lost_up_to = Some(b);
            error!(file = %jpath.display(), snapshot_seq, journal_base = b,
                "the journal continues from change {b} but the snapshot holds changes up to \
                 {snapshot_seq} only: the {} changes between them are lost", b - snapshot_seq);
        }
        if rec.snapshot_moved_to.is_some()
            && let Some(rebuilt) = rebuild(&state, &rec)
        {
            state = rebuilt;
        }
        let mut me = Journaled {
            snapshot_path,
            journal: Appender::new(jpath),
            state,
            seq,
            snapshot_bytes,
            journal_bytes: (text.len() as u64).saturating_sub(header_bytes),
            needs_header: text.is_empty(),
            compact_min_bytes,
            pending: None,
            retry_at: None,
            deferred: false,
        };
        if rec.skipped > 0 {
            // Keep the damaged journal for the user, and make what was recovered durable
            // in a fresh snapshot before anything new is appended.
            let moved = super::aside::move_aside(me.journal.path())?;
            me.journal.close();
            error!(file = %moved.display(), skipped = rec.skipped, replayed = rec.replayed,
                "journal had unreadable lines; moved it aside and kept every line that parsed");
            rec.journal_moved_to = Some(moved);
            me.journal_bytes = 0;
            me.compact()?;
        } else if rec.snapshot_moved_to.is_some() || headless {
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
    /// returning. On error nothing is applied: memory never runs ahead of the disk. Once the
    /// op is journaled it counts: a compaction that fails afterwards is logged and tried
    /// again later, not reported as the op failing.
    pub fn append(&mut self, op: S::Op, durable: bool) -> Result<(), StoreError> {
        self.poll(false);
        let seq = self.seq + 1;
        let mut buf = if self.needs_header {
            header(self.seq)
        } else {
            Vec::new()
        };
        let start = buf.len();
        serde_json::to_writer(&mut buf, &EntryOut { seq, op: &op }).map_err(|source| {
            StoreError::Encode {
                path: self.journal.path().to_path_buf(),
                source,
            }
        })?;
        buf.push(b'\n');
        // From here the line may be on disk even when a call fails: its seq is never handed
        // out again, so a later acknowledged op cannot be mistaken for it on replay.
        let written = self.journal.append_raw(&buf);
        self.seq = seq;
        written?;
        if durable && let Err(e) = self.journal.sync() {
            // Not acknowledged, so it must not come back on replay.
            self.journal.take_back();
            self.needs_header |= start > 0;
            return Err(e);
        }
        self.needs_header = false;
        self.journal_bytes += (buf.len() - start) as u64;
        self.state.apply(op);
        if !self.deferred {
            self.compact_if_due();
        }
        Ok(())
    }

    /// Replace the whole state (a rebuild) and write it as the snapshot at once, so nothing
    /// of the old state stays readable in the journal.
    pub fn replace(&mut self, state: S) -> Result<(), StoreError> {
        // A snapshot of the old state still being written must not land after this one.
        self.poll(true);
        self.state = state;
        self.compact()
    }

    /// fsync the journal.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.poll(false);
        self.journal.sync()
    }

    /// Whether the journal holds ops not yet folded into the snapshot.
    pub fn has_journal(&self) -> bool {
        self.journal_bytes > 0 || self.pending.is_some()
    }

    /// Whether a snapshot is being written in the background.
    pub fn compacting(&self) -> bool {
        self.pending.is_some()
    }

    /// Write the whole state as a new snapshot (atomically) and empty the journal, on the
    /// caller's path (after a background compaction under way has finished).
    pub fn compact(&mut self) -> Result<(), StoreError> {
        self.poll(true);
        let written = write_snapshot(&self.snapshot_path, self.seq, |w| {
            self.check_snapshot_fault()?;
            serde_json::to_writer(w, &self.state).map_err(std::io::Error::other)
        })?;
        self.snapshot_bytes = written;
        self.reset_journal(self.seq, &[])?;
        self.journal_bytes = 0;
        self.retry_at = None;
        Ok(())
    }

    /// Wait for a background compaction under way, if any, and take its result in.
    pub fn finish_compaction(&mut self) {
        self.poll(true);
    }

    #[cfg(test)]
    fn check_snapshot_fault(&self) -> std::io::Result<()> {
        if super::jsonl::Faults::take(&self.journal.faults.snapshots) {
            return Err(super::jsonl::Faults::full());
        }
        Ok(())
    }

    #[cfg(not(test))]
    fn check_snapshot_fault(&self) -> std::io::Result<()> {
        Ok(())
    }

    /// Leave compaction to the owner, who calls [`Journaled::compact_if_due`] once it has
    /// answered: the op that crosses the threshold then does not wait for the state's copy.
    pub fn defer_compaction(&mut self) {
        self.deferred = true;
    }

    /// Start folding the journal into a new snapshot if it has outgrown the snapshot (in
    /// the background when the state can be copied); failures are logged and retried later.
    pub fn compact_if_due(&mut self) {
        if self.pending.is_some()
            || self.journal_bytes <= self.snapshot_bytes.max(self.compact_min_bytes)
            || self.retry_at.is_some_and(|at| Instant::now() < at)
        {
            return;
        }
        let started = match self.state.detach() {
            Some(copy) => self.compact_in_background(copy),
            None => self.compact(),
        };
        if let Err(e) = started {
            self.compaction_failed(&e);
        }
    }

    fn compaction_failed(&mut self, e: &StoreError) {
        error!(file = %self.snapshot_path.display(),
            "cannot fold the journal into a new snapshot ({e}); the journal keeps every change \
             and folding is tried again in {} s", RETRY_AFTER.as_secs());
        self.retry_at = Some(Instant::now() + RETRY_AFTER);
    }

    fn compact_in_background(&mut self, copy: Detached) -> Result<(), StoreError> {
        let cut = self.journal.len()?;
        let seq = self.seq;
        let path = self.snapshot_path.clone();
        #[cfg(test)]
        let faults = self.journal.faults.clone();
        let (tx, done) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("codexd-compact".into())
            .spawn(move || {
                #[cfg(test)]
                {
                    let hold = faults.hold.lock().map(|mut h| h.take()).ok().flatten();
                    if let Some(hold) = hold {
                        let _ = hold.recv();
                    }
                    if super::jsonl::Faults::take(&faults.snapshots) {
                        let _ = tx.send(Err(StoreError::io("cannot write", &path)(
                            super::jsonl::Faults::full(),
                        )));
                        return;
                    }
                }
                let _ = tx.send(write_snapshot(&path, seq, copy));
            });
        match spawned {
            Ok(_) => {
                self.pending = Some(Pending { seq, cut, done });
                Ok(())
            }
            // No thread to be had: write it here, as a state with no copy would.
            Err(_) => self.compact(),
        }
    }

    /// Take in a background compaction's result (waiting for it with `wait`): the journal
    /// then keeps only what was appended since its copy, behind a new header.
    fn poll(&mut self, wait: bool) {
        let Some(p) = &self.pending else { return };
        let result = if wait {
            p.done.recv().unwrap_or_else(|_| Err(self.vanished()))
        } else {
            match p.done.try_recv() {
                Ok(r) => r,
                Err(mpsc::TryRecvError::Empty) => return,
                Err(mpsc::TryRecvError::Disconnected) => Err(self.vanished()),
            }
        };
        let Some(p) = self.pending.take() else { return };
        match result {
            Ok(written) => {
                self.snapshot_bytes = written;
                match self.journal.read_from(p.cut) {
                    Ok(tail) => match self.reset_journal(p.seq, &tail) {
                        Ok(()) => self.journal_bytes = tail.len() as u64,
                        Err(e) => warn!(
                            "{e}; the journal keeps changes already in the new \
                            snapshot (skipped on load) until the next compaction"
                        ),
                    },
                    Err(e) => warn!(
                        "{e}; the journal keeps changes already in the new \
                        snapshot (skipped on load) until the next compaction"
                    ),
                }
                self.retry_at = None;
            }
            Err(e) => self.compaction_failed(&e),
        }
    }

    fn vanished(&self) -> StoreError {
        StoreError::io("cannot write", &self.snapshot_path)(std::io::Error::other(
            "the compaction thread stopped before it finished",
        ))
    }

    /// Replace the journal (atomically) with a header for `base` and `tail`, the ops after it.
    fn reset_journal(&mut self, base: u64, tail: &[u8]) -> Result<(), StoreError> {
        let mut bytes = header(base);
        bytes.extend_from_slice(tail);
        super::atomic::write_atomic(self.journal.path(), &bytes)?;
        self.journal.close();
        self.needs_header = false;
        Ok(())
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
