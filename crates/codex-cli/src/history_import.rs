//! What an import of a history file sends: where to start in a file imported before, and the
//! folder each command was typed in.
//!
//! Resuming: the daemon keeps fingerprints of the last entries imported from each file. Shells
//! append new commands at the end and trim old ones from the front, so those entries are
//! found again in the file (the new ones follow them) unless everything imported before has
//! been trimmed away, and then every entry in the file is new.
//!
//! Folders: a history says where a command ran only through the `cd` commands before it, so
//! the folder is followed through them (`cd /abs`, `cd ~/src/x`, `cd sub`, `cd ..`, `pushd`);
//! where it cannot be known (`cd -`, `popd`, a variable, the first commands of the file) it is
//! not guessed. Several shells writing one file interleave their commands, so this is a
//! heuristic: the daemon takes a typed command as evidence only where it is one of that
//! folder's project's own commands.

use std::path::{Component, Path, PathBuf};

use crate::shell_history::Entry;

/// Fingerprints kept per file.
pub const TAIL: usize = 16;

/// An entry's fingerprint: FNV-1a over its time and command, in hex.
pub fn fingerprint(e: &Entry) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    let at = e.at.map_or(String::new(), |t| t.to_string());
    for b in at.bytes().chain([0]).chain(e.command.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// Where new entries start, given the fingerprints of the last ones imported before: just
/// after the last place they all appear in order; else, when the shell trimmed the front of
/// the file into them, after the part of them that opens the file (at least four, or all
/// of a shorter tail); else 0 (never imported, or everything imported before is gone).
pub fn resume_at(prints: &[String], tail: &[String]) -> usize {
    if tail.is_empty() {
        return 0;
    }
    if tail.len() <= prints.len()
        && let Some(end) = (tail.len()..=prints.len())
            .rev()
            .find(|&end| prints[end - tail.len()..end] == *tail)
    {
        return end;
    }
    let least = tail.len().min(4);
    (least..tail.len())
        .rev()
        .find(|&k| k <= prints.len() && prints[..k] == tail[tail.len() - k..])
        .unwrap_or(0)
}

/// The fingerprints of the last entries up to `end` (exclusive), at most [`TAIL`].
pub fn tail_before(prints: &[String], end: usize) -> Vec<String> {
    prints[end.saturating_sub(TAIL)..end].to_vec()
}

/// The folder each entry was typed in, where the `cd`s before it tell.
pub fn folders(entries: &[Entry], home: Option<&Path>) -> Vec<Option<PathBuf>> {
    let mut here: Option<PathBuf> = None;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        out.push(here.clone());
        let Some(words) = shlex::split(e.command.trim()) else {
            continue;
        };
        // Only a plain `cd DIR` (or `pushd DIR`) moves: `cd x && make` runs make in x but
        // leaves the shell in x too, so it moves as well.
        let (Some(cmd), arg) = (words.first(), words.get(1)) else {
            continue;
        };
        match cmd.as_str() {
            "cd" | "pushd" => here = moved(here.as_deref(), arg.map(String::as_str), home),
            "popd" => here = None,
            _ => {}
        }
    }
    out
}

/// Where `cd arg` from `from` leads, if that can be known without the shell.
fn moved(from: Option<&Path>, arg: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    let arg = match arg {
        None | Some("~") => return home.map(Path::to_path_buf),
        Some(a) if a.starts_with('-') || a.contains('$') || a.contains('`') => return None,
        Some(a) => a,
    };
    let path = if let Some(rest) = arg.strip_prefix("~/") {
        home?.join(rest)
    } else if arg.starts_with('/') {
        PathBuf::from(arg)
    } else if arg.starts_with('~') {
        // Another user's home: not ours to guess.
        return None;
    } else {
        from?.join(arg)
    };
    Some(lexical(&path))
}

/// `path` with `.` and `..` folded away without reading the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(cmd: &str) -> Entry {
        Entry {
            command: cmd.into(),
            at: None,
        }
    }

    #[test]
    fn a_file_imported_before_resumes_after_its_last_entries_even_when_trimmed() {
        let entries: Vec<Entry> = (0..20)
            .map(|i| e(if i % 3 == 0 { "ls" } else { "make" }))
            .collect();
        let prints: Vec<String> = entries.iter().map(fingerprint).collect();
        assert_eq!(resume_at(&prints, &[]), 0);
        let tail = tail_before(&prints, 20);
        assert_eq!(tail.len(), TAIL);
        assert_eq!(resume_at(&prints, &tail), 20, "nothing new");
        // Two new commands appended, and the shell trimmed the first six: the file now
        // starts inside the tail.
        let mut grown: Vec<String> = prints[6..].to_vec();
        grown.extend(["git status", "ls"].map(|c| fingerprint(&e(c))));
        assert_eq!(resume_at(&grown, &tail), 14);
        // Everything imported before trimmed away: all of it is new.
        let other: Vec<String> = ["a", "b"].map(|c| fingerprint(&e(c))).to_vec();
        assert_eq!(resume_at(&other, &tail), 0);
        // A repeated command does not fool it: the last matching run of entries wins.
        let short = tail_before(&prints, 1);
        assert_eq!(resume_at(&prints, &short), 19, "after the last `ls`");
        // The same command with another time is another entry.
        let timed = Entry {
            command: "ls".into(),
            at: Some(5),
        };
        assert_ne!(fingerprint(&timed), fingerprint(&e("ls")));
    }

    #[test]
    fn folders_follow_the_cds_before_each_command() {
        let home = Path::new("/home/u");
        let entries: Vec<Entry> = [
            "cargo test",
            "cd ~/src/shop",
            "cargo nextest run",
            "cd web",
            "npm test",
            "cd ../api && make",
            "make test",
            "cd -",
            "ls",
            "cd /srv/x",
            "cd $DIR",
            "pwd",
        ]
        .into_iter()
        .map(e)
        .collect();
        let f = folders(&entries, Some(home));
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(f[0], None, "before any cd: not known");
        assert_eq!(f[2], p("/home/u/src/shop"));
        assert_eq!(f[4], p("/home/u/src/shop/web"));
        assert_eq!(f[6], p("/home/u/src/shop/api"));
        assert_eq!(f[8], None, "`cd -` is not followed");
        assert_eq!(f[10], p("/srv/x"));
        assert_eq!(f[11], None, "a variable is not guessed");
    }
}
