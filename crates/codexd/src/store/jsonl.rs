//! Append-only JSON Lines files.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::StoreError;

/// How far back from the end to look for the start of the last line at a time.
const TAIL_CHUNK: u64 = 64 * 1024;

/// Whether `line` (without its newline) is one JSON value in valid UTF-8. serde_json skips
/// over the bytes of strings it ignores without checking them, so UTF-8 is checked first.
pub fn is_json_line(line: &[u8]) -> bool {
    std::str::from_utf8(line).is_ok()
        && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
}

/// Cut a torn last line (one without its newline, or one that is not JSON in valid UTF-8)
/// off the end of `path`, so that appends start on a clean line. Reads only the tail of the
/// file. Returns the number of bytes cut. A missing file is fine.
pub fn repair_tail(path: &Path) -> Result<u64, StoreError> {
    repair_tail_with(path, is_json_line)
}

/// Like [`repair_tail`], with `accept` judging whether the last line (without its newline)
/// is whole: a file of typed records cuts a last line that is JSON but not a record.
pub fn repair_tail_with(path: &Path, accept: impl Fn(&[u8]) -> bool) -> Result<u64, StoreError> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io("cannot open", path)(e)),
    };
    let len = file
        .metadata()
        .map_err(StoreError::io("cannot stat", path))?
        .len();
    if len == 0 {
        return Ok(0);
    }
    let read =
        |file: &mut File, end| last_line(file, end).map_err(StoreError::io("cannot read", path));
    let (mut start, mut last) = read(&mut file, len)?;
    // Readers skip blank lines: the line judged is the last one with something on it.
    while last == b"\n" && start > 0 {
        (start, last) = read(&mut file, start)?;
    }
    if last == b"\n" {
        return Ok(0);
    }
    let complete = last.last() == Some(&b'\n');
    let body = if complete {
        &last[..last.len() - 1]
    } else {
        &last[..]
    };
    if complete && accept(body) {
        return Ok(0);
    }
    file.set_len(start)
        .map_err(StoreError::io("cannot truncate", path))?;
    file.sync_all()
        .map_err(StoreError::io("cannot sync", path))?;
    Ok(len - start)
}

/// The offset where the file's last line starts, and that line (with its newline, if any).
fn last_line(file: &mut File, len: u64) -> std::io::Result<(u64, Vec<u8>)> {
    // The final byte may be the last line's own newline: search for the one before it.
    let search_end = len - 1;
    let mut tail: Vec<u8> = Vec::new();
    let mut pos = len;
    loop {
        let from = pos.saturating_sub(TAIL_CHUNK);
        let mut chunk = vec![0u8; usize::try_from(pos - from).unwrap_or(0)];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        pos = from;
        let limit = usize::try_from(search_end - pos).unwrap_or(tail.len());
        if let Some(i) = tail[..limit].iter().rposition(|&b| b == b'\n') {
            return Ok((pos + i as u64 + 1, tail[i + 1..].to_vec()));
        }
        if pos == 0 {
            return Ok((0, tail));
        }
    }
}

/// Faults a unit test injects into an appender (and the snapshots of its journal): each
/// counter is the number of upcoming calls that fail.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct Faults {
    /// Writes that store only `short` bytes, then fail as on a full disk.
    pub writes: std::sync::atomic::AtomicU32,
    /// How many bytes a failing write stores first.
    pub short: std::sync::atomic::AtomicUsize,
    /// fsyncs that fail.
    pub syncs: std::sync::atomic::AtomicU32,
    /// Truncations (cutting a failed append back) that fail.
    pub cuts: std::sync::atomic::AtomicU32,
    /// Snapshot writes that fail.
    pub snapshots: std::sync::atomic::AtomicU32,
    /// While set, a background snapshot waits for a message before it is written.
    pub hold: std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

#[cfg(test)]
impl Faults {
    /// Use up one failure from `counter`; true if there was one.
    pub fn take(counter: &std::sync::atomic::AtomicU32) -> bool {
        use std::sync::atomic::Ordering;
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// The error a full disk gives.
    pub fn full() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::StorageFull, "injected: no space left")
    }
}

/// An append-only JSONL writer. Each record is written with one `write` call, so a crash of
/// the process (as opposed to the machine) never tears a line; `sync` makes appends durable.
#[derive(Debug)]
pub struct Appender {
    path: PathBuf,
    file: Option<File>,
    /// The file's length as we wrote it (we are its only writer), so a failed write can be
    /// cut back without asking the file system on every append.
    len: u64,
    /// Where the last append started, to take it back when its fsync fails.
    last_start: u64,
    unsynced: bool,
    /// A failed append could not be cut back, so its bytes may still follow `len`. Nothing
    /// is appended until they are cut: an acknowledged line after them would be glued to them
    /// or read after an op that was reported as failed.
    stray: bool,
    /// Injected faults (unit tests only).
    #[cfg(test)]
    pub faults: std::sync::Arc<Faults>,
}

impl Appender {
    /// An appender for `path`; the file is opened (and created) on the first append, so an
    /// appender that never writes leaves no file behind.
    pub fn new(path: PathBuf) -> Self {
        Appender {
            path,
            file: None,
            len: 0,
            last_start: 0,
            unsynced: false,
            stray: false,
            #[cfg(test)]
            faults: std::sync::Arc::default(),
        }
    }

    /// The file appended to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one serialized line (newline added here).
    pub fn append_line(&mut self, line: &[u8]) -> Result<(), StoreError> {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        self.append_raw(&buf)
    }

    fn open(&mut self) -> Result<&mut File, StoreError> {
        if self.file.is_none() {
            let f = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(&self.path)
                .map_err(StoreError::io("cannot open for appending", &self.path))?;
            self.len = f
                .metadata()
                .map_err(StoreError::io("cannot read the size of", &self.path))?
                .len();
            self.last_start = self.len;
            self.file = Some(f);
        }
        // Just set above when it was missing.
        self.file.as_mut().ok_or_else(|| StoreError::Io {
            action: "cannot open for appending",
            path: self.path.clone(),
            source: std::io::Error::other("the file is not open"),
        })
    }

    /// The file's length as written (stray bytes of a failed append not counted).
    pub fn len(&mut self) -> Result<u64, StoreError> {
        self.open()?;
        Ok(self.len)
    }

    /// Whether nothing was written to the file.
    pub fn is_empty(&mut self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// Append bytes that already form whole lines.
    pub fn append_raw(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.open()?;
        if self.stray {
            self.cut_to(self.len)
                .map_err(StoreError::io("cannot cut a failed append off", &self.path))?;
        }
        let len = self.len;
        let written = self.write(bytes);
        if let Err(e) = written {
            // A write that fails half-way (disk full) is taken back: a torn fragment mid-file
            // would glue itself to the next line and lose it.
            if self.cut_to(len).is_err() {
                self.stray = true;
            }
            return Err(StoreError::io("cannot append to", &self.path)(e));
        }
        self.last_start = len;
        self.len = len + bytes.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        #[cfg(test)]
        let bytes = {
            if Faults::take(&self.faults.writes) {
                let short = self.faults.short.load(std::sync::atomic::Ordering::SeqCst);
                if let Some(f) = &mut self.file {
                    f.write_all(&bytes[..short.min(bytes.len())])?;
                }
                return Err(Faults::full());
            }
            bytes
        };
        match &mut self.file {
            Some(f) => f.write_all(bytes),
            None => Err(std::io::Error::other("the file is not open")),
        }
    }

    fn cut_to(&mut self, len: u64) -> std::io::Result<()> {
        #[cfg(test)]
        if Faults::take(&self.faults.cuts) {
            return Err(Faults::full());
        }
        if let Some(f) = &self.file {
            f.set_len(len)?;
        }
        self.stray = false;
        Ok(())
    }

    /// Take the last append back (its fsync failed, so it was not acknowledged). If the cut
    /// fails too, the bytes are cut before the next append.
    pub fn take_back(&mut self) {
        let start = self.last_start;
        if self.cut_to(start).is_err() {
            self.stray = true;
        }
        self.len = start;
    }

    /// fsync what was appended since the last sync (a no-op when nothing was).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if let (true, Some(f)) = (self.unsynced, &self.file) {
            #[cfg(test)]
            if Faults::take(&self.faults.syncs) {
                return Err(StoreError::io("cannot sync", &self.path)(Faults::full()));
            }
            f.sync_data()
                .map_err(StoreError::io("cannot sync", &self.path))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Read the file's bytes from `from` to its length as written (for a journal's tail).
    pub fn read_from(&mut self, from: u64) -> Result<Vec<u8>, StoreError> {
        let len = self.len()?;
        let mut buf = vec![0u8; usize::try_from(len.saturating_sub(from)).unwrap_or(0)];
        // Opened for appending only: read through a second handle.
        File::open(&self.path)
            .and_then(|r| r.read_exact_at(&mut buf, from))
            .map_err(StoreError::io("cannot read", &self.path))?;
        Ok(buf)
    }

    /// Let go of the open file: after the path was replaced (an atomic rewrite), the next
    /// append opens the new file instead of writing into the old, unlinked one.
    pub fn close(&mut self) {
        self.file = None;
        self.len = 0;
        self.last_start = 0;
        self.unsynced = false;
        self.stray = false;
    }

    /// Empty the file (after its content was folded into a snapshot).
    pub fn truncate(&mut self) -> Result<(), StoreError> {
        match &self.file {
            Some(f) => {
                f.set_len(0)
                    .map_err(StoreError::io("cannot truncate", &self.path))?;
                f.sync_all()
                    .map_err(StoreError::io("cannot sync", &self.path))?;
            }
            None if self.path.exists() => {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&self.path)
                    .map_err(StoreError::io("cannot open", &self.path))?;
                f.set_len(0)
                    .map_err(StoreError::io("cannot truncate", &self.path))?;
                f.sync_all()
                    .map_err(StoreError::io("cannot sync", &self.path))?;
            }
            None => {}
        }
        self.len = 0;
        self.last_start = 0;
        self.unsynced = false;
        self.stray = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(content: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        std::fs::write(&p, content).unwrap();
        (dir, p)
    }

    #[test]
    fn clean_files_are_left_alone() {
        for content in [&b""[..], b"{\"a\":1}\n", b"{\"a\":1}\n{\"b\":2}\n"] {
            let (_d, p) = file_with(content);
            assert_eq!(repair_tail(&p).unwrap(), 0);
            assert_eq!(std::fs::read(&p).unwrap(), content);
        }
    }

    #[test]
    fn a_torn_last_line_is_cut() {
        let (_d, p) = file_with(b"{\"a\":1}\n{\"b\":");
        assert_eq!(repair_tail(&p).unwrap(), 5);
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":1}\n");
    }

    #[test]
    fn a_complete_but_garbled_last_line_is_cut() {
        let (_d, p) = file_with(b"{\"a\":1}\n\0\0\0\0\n");
        assert_eq!(repair_tail(&p).unwrap(), 5);
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":1}\n");
    }

    #[test]
    fn a_torn_only_line_empties_the_file() {
        let (_d, p) = file_with(b"{\"a\":");
        assert_eq!(repair_tail(&p).unwrap(), 5);
        assert_eq!(std::fs::read(&p).unwrap(), b"");
    }

    #[test]
    fn long_last_lines_span_chunks() {
        let long = format!("{{\"x\":\"{}\"}}\n", "y".repeat(200_000));
        let mut content = b"{\"a\":1}\n".to_vec();
        content.extend_from_slice(long.as_bytes());
        let (_d, p) = file_with(&content);
        assert_eq!(repair_tail(&p).unwrap(), 0);
        content.extend_from_slice(&long.as_bytes()[..150_000]);
        std::fs::write(&p, &content).unwrap();
        assert_eq!(repair_tail(&p).unwrap(), 150_000);
    }

    #[test]
    fn a_complete_last_line_with_invalid_utf8_is_cut() {
        let (_d, p) = file_with(b"{\"a\":1}\n{\"b\":\"\xff\xfe\"}\n");
        assert_eq!(repair_tail(&p).unwrap(), 11);
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":1}\n");
    }

    #[test]
    fn a_write_that_fails_half_way_is_cut_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        let mut a = Appender::new(p.clone());
        a.append_line(b"{\"n\":1}").unwrap();
        a.faults
            .writes
            .store(1, std::sync::atomic::Ordering::SeqCst);
        a.faults.short.store(3, std::sync::atomic::Ordering::SeqCst);
        assert!(a.append_line(b"{\"n\":2}").is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"n\":1}\n");
        // The cut fails too: the fragment stays until the next append cuts it.
        a.faults
            .writes
            .store(1, std::sync::atomic::Ordering::SeqCst);
        a.faults.cuts.store(1, std::sync::atomic::Ordering::SeqCst);
        assert!(a.append_line(b"{\"n\":2}").is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"n\":1}\n{\"n");
        a.append_line(b"{\"n\":3}").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"n\":1}\n{\"n\":3}\n");
    }

    #[test]
    fn appender_creates_lazily_and_appends() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        let mut a = Appender::new(p.clone());
        a.sync().unwrap();
        assert!(!p.exists());
        a.append_line(b"{\"n\":1}").unwrap();
        a.append_line(b"{\"n\":2}").unwrap();
        a.sync().unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"n\":1}\n{\"n\":2}\n"
        );
        a.truncate().unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 0);
    }

    proptest::proptest! {
        #![proptest_config(crate::store::fuzz_config())]

        /// Whatever the file holds, the repair keeps a prefix of it that ends on a whole line
        /// of JSON (or nothing), and a second repair finds nothing to cut.
        #[test]
        fn fuzz_repair_tail(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            damage in crate::store::fuzz::damage(),
        ) {
            let valid = b"{\"a\":1}\n{\"b\":[1,2,\"\xc3\xa9\"]}\n{\"c\":null}\n";
            for content in [bytes.clone(), crate::store::fuzz::apply(valid, &damage)] {
                let (_d, p) = file_with(&content);
                let cut = repair_tail(&p).unwrap();
                let after = std::fs::read(&p).unwrap();
                proptest::prop_assert_eq!(after.len() as u64 + cut, content.len() as u64);
                proptest::prop_assert!(content.starts_with(&after));
                let last_of = |b: &[u8]| b.split(|&c| c == b'\n').rfind(|l| !l.is_empty()).map(<[u8]>::to_vec);
                if cut == 0 {
                    // Kept: its last line is whole (or there is none).
                    proptest::prop_assert!(after.is_empty() || after.ends_with(b"\n") || last_of(&after).is_none());
                    proptest::prop_assert!(last_of(&after).is_none_or(|l| is_json_line(&l)));
                } else {
                    // Exactly one line with something on it was cut, and the cut starts a line.
                    let gone = &content[after.len()..];
                    proptest::prop_assert!(after.is_empty() || after.ends_with(b"\n"));
                    proptest::prop_assert_eq!(gone.split(|&c| c == b'\n').filter(|l| !l.is_empty()).count(), 1);
                }
            }
        }
    }
}
