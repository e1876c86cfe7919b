//! Files that do not parse are moved aside, never overwritten: the user keeps them to inspect
//! or repair, and the daemon starts with what it can recover.

use std::path::{Path, PathBuf};

use super::StoreError;

/// Rename `path` to `NAME.corrupt-YYYYMMDDTHHMMSSZ` (with a counter if that exists already)
/// and return the new path.
pub fn move_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let target = aside_name(path);
    std::fs::rename(path, &target).map_err(StoreError::io("cannot move aside", path))?;
    if let Some(dir) = path.parent() {
        super::atomic::sync_dir(dir)?;
    }
    Ok(target)
}

fn aside_name(path: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut target = path.with_file_name(format!("{name}.corrupt-{stamp}"));
    let mut n = 1;
    while target.exists() {
        target = path.with_file_name(format!("{name}.corrupt-{stamp}-{n}"));
        n += 1;
    }
    target
}

/// Keep a copy of `path` under the name [`move_aside`] would give it, leaving `path` in
/// place (a hard link, so it costs nothing and keeps the bytes even when `path` is replaced
/// next). Returns the copy's path.
pub fn copy_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let target = aside_name(path);
    if std::fs::hard_link(path, &target).is_err() {
        std::fs::copy(path, &target).map_err(StoreError::io("cannot copy aside", path))?;
    }
    if let Some(dir) = path.parent() {
        super::atomic::sync_dir(dir)?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_bytes_under_a_new_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        std::fs::write(&p, b"{garbage").unwrap();
        let a = move_aside(&p).unwrap();
        std::fs::write(&p, b"{garbage2").unwrap();
        let b = move_aside(&p).unwrap();
        assert_ne!(a, b);
        assert!(!p.exists());
        assert_eq!(std::fs::read(&a).unwrap(), b"{garbage");
        assert!(
            a.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("x.json.corrupt-")
        );
    }
}
