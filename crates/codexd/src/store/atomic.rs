//! Replace a file atomically: readers see the old content or the new, never a mix, even
//! after a crash or power loss.

use std::io::Write;
use std::path::Path;

use super::StoreError;

/// Write `bytes` to a temp file in the same folder, fsync it, rename it over `path`, then
/// fsync the folder so the rename itself is durable.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(StoreError::io("cannot create a temp file in", dir))?;
    tmp.write_all(bytes)
        .map_err(StoreError::io("cannot write", tmp.path()))?;
    tmp.as_file()
        .sync_all()
        .map_err(StoreError::io("cannot sync", tmp.path()))?;
    tmp.persist(path).map_err(|e| StoreError::Io {
        action: "cannot replace",
        path: path.to_path_buf(),
        source: e.error,
    })?;
    sync_dir(dir)
}

/// fsync a folder, making renames and new files in it durable.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io("cannot sync folder", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.json")]);
    }
}
