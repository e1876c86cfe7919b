//! A project's profile: its name, kind, languages and the commands it offers, read from its own
//! files once and kept (in semantic knowledge) until one of the files it was read from changes.
//!
//! Freshness is a stamp (size and modification time) of every file the profile depends on,
//! present or absent: adding a `justfile`, editing `package.json` scripts or deleting
//! `tox.ini` all make the profile stale, and it is read again on next use.

use std::path::Path;
use std::time::UNIX_EPOCH;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::commands::{self, Offered};
use super::project::Project;

/// The files a profile is read from: root markers and the files commands are found in.
const WATCHED: &[&str] = &[
    "Cargo.toml",
    "package.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "tsconfig.json",
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "tox.ini",
    "uv.lock",
    "manage.py",
    "main.py",
    "app.py",
    "go.mod",
    "CMakeLists.txt",
    "Makefile",
    "makefile",
    "justfile",
];

/// One watched file as it was when the profile was read: `None` when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The file name, in the root.
    pub file: String,
    /// Size and modification time (nanoseconds since the epoch), when present.
    pub seen: Option<(u64, u128)>,
}

/// What a project is and offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectProfile {
    /// Its root folder.
    pub root: String,
    /// The folder's name.
    pub name: String,
    /// `rust`, `node`, `python`, `go`, `cmake`, `just`, `make` or `git`.
    pub kind: String,
    /// Languages, from its markers.
    pub languages: Vec<String>,
    /// The commands it offers, most specific first.
    pub commands: Vec<Offered>,
    /// When it was read.
    pub read_at: DateTime<Utc>,
    /// The files it was read from, as they were.
    pub stamps: Vec<Stamp>,
}

fn stamps(root: &Path) -> Vec<Stamp> {
    WATCHED
        .iter()
        .map(|f| Stamp {
            file: (*f).to_string(),
            seen: std::fs::metadata(root.join(f)).ok().map(|m| {
                let modified = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                (m.len(), modified)
            }),
        })
        .collect()
}

fn languages(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let has = |f: &str| root.join(f).exists();
    if has("Cargo.toml") {
        out.push("Rust");
    }
    if has("tsconfig.json") {
        out.push("TypeScript");
    } else if has("package.json") {
        out.push("JavaScript");
    }
    if has("pyproject.toml") || has("setup.cfg") || has("setup.py") {
        out.push("Python");
    }
    if has("go.mod") {
        out.push("Go");
    }
    if has("CMakeLists.txt") {
        out.push("C/C++");
    }
    out.into_iter().map(String::from).collect()
}

impl ProjectProfile {
    /// Read a project's profile from its files.
    pub fn read(project: &Project) -> ProjectProfile {
        let root = &project.root;
        // Stamps first: a file changed while being read makes the profile stale, not wrong.
        let stamps = stamps(root);
        ProjectProfile {
            root: root.display().to_string(),
            name: project.name(),
            kind: project.kind.clone(),
            languages: languages(root),
            commands: commands::offered(project),
            read_at: Utc::now(),
            stamps,
        }
    }

    /// Whether every file it was read from is as it was (and none appeared or went).
    pub fn is_fresh(&self) -> bool {
        stamps(Path::new(&self.root)) == self.stamps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_added_or_removed_file_makes_the_profile_stale() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("Makefile"), "test:\n\t./t\n").unwrap();
        let p = super::super::project::detect(t.path()).unwrap();
        let prof = ProjectProfile::read(&p);
        assert_eq!(prof.kind, "make");
        assert_eq!(prof.commands.len(), 1);
        assert!(prof.is_fresh());
        std::fs::write(t.path().join("Makefile"), "test:\n\t./t\nbuild:\n\t./b\n").unwrap();
        assert!(!prof.is_fresh());
        let prof = ProjectProfile::read(&p);
        assert_eq!(prof.commands.len(), 2);
        std::fs::write(t.path().join("justfile"), "lint:\n\techo\n").unwrap();
        assert!(!prof.is_fresh());
        let prof = ProjectProfile::read(&p);
        std::fs::remove_file(t.path().join("justfile")).unwrap();
        assert!(!prof.is_fresh());
        std::fs::write(t.path().join("Cargo.toml"), "[package]\n").unwrap();
        let p = super::super::project::detect(t.path()).unwrap();
        let prof = ProjectProfile::read(&p);
        assert_eq!(prof.languages, ["Rust"]);
        // Unrelated files do not matter.
        std::fs::write(t.path().join("notes.txt"), "x").unwrap();
        assert!(prof.is_fresh());
    }
}
