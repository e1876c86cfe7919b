//! Append-only JSON Lines files.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::StoreError;

/// How far back from the end to look for the start of the last line at a time.
const TAIL_CHUNK: u64 = 64 * 1024;

/// Cut a torn last line (one without its newline, or one that is not JSON) off the end of
/// `path`, so that appends start on a clean line. Reads only the tail of the file. Returns
/// the number of bytes cut. A missing file is fine.
pub fn repair_tail(path: &Path) -> Result<u64, StoreError> {
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
    let (start, last) = last_line(&mut file, len).map_err(StoreError::io("cannot read", path))?;
    let complete = last.last() == Some(&b'\n');
    let body = if complete {
        &last[..last.len() - 1]
    } else {
        &last[..]
    };
    let parses = serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    if complete && parses {
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

/// An append-only JSONL writer. Each record is written with one `write` call, so a crash of
/// the process (as opposed to the machine) never tears a line; `sync` makes appends durable.
#[derive(Debug)]
pub struct Appender {
    path: PathBuf,
    file: Option<File>,
    /// The file's length as we wrote it (we are its only writer), so a failed write can be
    /// cut back without asking the file system on every append.
    len: u64,
    unsynced: bool,
}

impl Appender {
    /// An appender for `path`; the file is opened (and created) on the first append, so an
    /// appender that never writes leaves no file behind.
    pub fn new(path: PathBuf) -> Self {
        Appender {
            path,
            file: None,
            len: 0,
            unsynced: false,
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

    /// Append bytes that already form whole lines.
    pub fn append_raw(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => {
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
                self.file.insert(f)
            }
        };
        // A write that fails half-way (disk full) is taken back: a torn fragment mid-file
        // would glue itself to the next line and lose it.
        if let Err(e) = file.write_all(bytes) {
            let _ = file.set_len(self.len);
            return Err(StoreError::io("cannot append to", &self.path)(e));
        }
        self.len += bytes.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    /// fsync what was appended since the last sync (a no-op when nothing was).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if let (true, Some(f)) = (self.unsynced, &self.file) {
            f.sync_data()
                .map_err(StoreError::io("cannot sync", &self.path))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Let go of the open file: after the path was replaced (an atomic rewrite), the next
    /// append opens the new file instead of writing into the old, unlinked one.
    pub fn close(&mut self) {
        self.file = None;
        self.len = 0;
        self.unsynced = false;
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
        self.unsynced = false;
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
}
