//! The log file under CODEX_HOME (`log/codexd.log`, where `codex` sends the stderr of a daemon
//! it starts): kept to a size (copy, then truncate in place, so the descriptor the daemon
//! writes through stays valid; a few older files kept), and reached by `forget`, which drops
//! the lines that name what was forgotten.

use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Size past which the log is rotated.
pub const MAX_BYTES: u64 = 1024 * 1024;
/// Older logs kept (`codexd.log.1` .. `.3`).
pub const KEPT: usize = 3;

/// The log this daemon's stderr writes to, when it is the one under CODEX_HOME.
static TARGET: OnceLock<PathBuf> = OnceLock::new();
/// One rotation or rewrite at a time.
static LOCK: Mutex<()> = Mutex::new(());

/// Note `path` as the log to keep to size, if stderr is that very file (a daemon started by
/// hand or by systemd logs elsewhere, and its log is not ours to rotate).
pub fn adopt(path: &Path) {
    let Ok(ours) = rustix::fs::fstat(std::io::stderr().as_fd()) else {
        return;
    };
    let Ok(file) = rustix::fs::stat(path) else {
        return;
    };
    if ours.st_dev == file.st_dev && ours.st_ino == file.st_ino {
        let _ = TARGET.set(path.to_path_buf());
    }
}

/// The files of the log: the live one first, then the older ones.
pub fn files(path: &Path) -> Vec<PathBuf> {
    let mut out = vec![path.to_path_buf()];
    out.extend((1..=KEPT).map(|n| rotated(path, n)));
    out
}

fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// After a line was written: rotate the adopted log if it is past [`MAX_BYTES`].
pub fn after_write() {
    let Some(path) = TARGET.get() else { return };
    let big = std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_BYTES);
    if big {
        let _guard = LOCK.lock();
        let _ = rotate(path);
    }
}

/// Copy the log to `.1` (shifting older ones), then empty it in place.
pub fn rotate(path: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(rotated(path, KEPT));
    for n in (1..KEPT).rev() {
        let _ = std::fs::rename(rotated(path, n), rotated(path, n + 1));
    }
    let first = rotated(path, 1);
    std::fs::copy(path, &first)?;
    private(&first);
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .set_len(0)
}

/// Drop the lines for which `forgotten` holds from every file of the log at `path`;
/// returns how many went. The live file is rewritten in place (its writers append).
pub fn forget_lines(path: &Path, forgotten: impl Fn(&str) -> bool) -> std::io::Result<usize> {
    let _guard = LOCK.lock();
    let mut dropped = 0;
    for file in files(path) {
        let Ok(text) = std::fs::read(&file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&text);
        let mut kept = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            if forgotten(line) {
                dropped += 1;
            } else {
                kept.push_str(line);
            }
        }
        if kept.len() != text.len() {
            let mut f = std::fs::OpenOptions::new().write(true).open(&file)?;
            f.set_len(0)?;
            f.write_all(kept.as_bytes())?;
        }
    }
    Ok(dropped)
}

/// Empty every file of the log at `path` (`forget --all`).
pub fn clear(path: &Path) -> std::io::Result<()> {
    let _guard = LOCK.lock();
    for (i, file) in files(path).into_iter().enumerate() {
        if i == 0 {
            match std::fs::OpenOptions::new().write(true).open(&file) {
                Ok(f) => f.set_len(0)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        } else {
            let _ = std::fs::remove_file(file);
        }
    }
    Ok(())
}

fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_a_few_files_and_empties_the_live_one_in_place() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let log = dir.path().join("codexd.log");
        let mut writer = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("{e}"));
        for round in 0..5 {
            writeln!(writer, "round {round}").unwrap_or_else(|e| panic!("{e}"));
            rotate(&log).unwrap_or_else(|e| panic!("{e}"));
        }
        // The descriptor written through still lands in the live file.
        writeln!(writer, "after").unwrap_or_else(|e| panic!("{e}"));
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        assert_eq!(read(&log), "after\n");
        assert_eq!(read(&rotated(&log, 1)), "round 4\n");
        assert_eq!(read(&rotated(&log, 3)), "round 2\n");
        assert!(!rotated(&log, 4).exists());
    }

    #[test]
    fn forgotten_lines_go_from_every_file_and_the_rest_stays() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let log = dir.path().join("codexd.log");
        std::fs::write(&log, "run started run=4 command=deploy.sh\nready\n").unwrap_or_default();
        std::fs::write(rotated(&log, 1), "run finished run=4\nrun=40 other\n").unwrap_or_default();
        let n = forget_lines(&log, |l| l.contains("run=4 ") || l.ends_with("run=4\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 2);
        assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "ready\n");
        assert_eq!(
            std::fs::read_to_string(rotated(&log, 1)).unwrap_or_default(),
            "run=40 other\n"
        );
        clear(&log).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "");
        assert!(!rotated(&log, 1).exists());
    }
}
