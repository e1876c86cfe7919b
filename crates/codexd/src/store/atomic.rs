//! Replace a file atomically: readers see the old content or the new, never a mix, even
//! after a crash or power loss.

use std::io::Write;
use std::path::Path;

use super::StoreError;

/// Write `bytes` to a temp file in the same folder, fsync it, rename it over `path`, then
/// fsync the folder so the rename itself is durable.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic_with(path, |w| w.write_all(bytes)).map(|_| ())
}

/// Like [`write_atomic`], with the content streamed by `fill` (so a large snapshot is never
/// held in memory whole). Returns the bytes written.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<u64, StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(StoreError::io("cannot create a temp file in", dir))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp);
    fill(&mut w).map_err(StoreError::io("cannot write", path))?;
    let tmp = w
        .into_inner()
        .map_err(|e| StoreError::io("cannot write", path)(e.into_error()))?;
    tmp.as_file()
        .sync_all()
        .map_err(StoreError::io("cannot sync", tmp.path()))?;
    let written = tmp
        .as_file()
        .metadata()
        .map_err(StoreError::io("cannot read the size of", tmp.path()))?
        .len();
    tmp.persist(path).map_err(|e| StoreError::Io {
        action: "cannot replace",
        path: path.to_path_buf(),
        source: e.error,
    })?;
    sync_dir(dir)?;
    Ok(written)
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

    proptest::proptest! {
        #![proptest_config(crate::store::fuzz_config())]

        /// Any content is read back exactly, over any earlier content, with no temp file left.
        #[test]
        fn fuzz_write_atomic(
            first in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            second in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("f.json");
            write_atomic(&p, &first).unwrap();
            write_atomic(&p, &second).unwrap();
            proptest::prop_assert_eq!(std::fs::read(&p).unwrap(), second);
            proptest::prop_assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        }
    }
}
