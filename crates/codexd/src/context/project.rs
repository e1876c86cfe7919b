//! Project detection: walk up from a directory to the nearest folder holding a root marker.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Root markers and the kind of project each one means, most specific first: a folder with
/// both Cargo.toml and .git is a Rust project.
pub const MARKERS: &[(&str, &str)] = &[
    ("Cargo.toml", "rust"),
    ("package.json", "node"),
    ("pyproject.toml", "python"),
    ("setup.cfg", "python"),
    ("setup.py", "python"),
    ("go.mod", "go"),
    ("CMakeLists.txt", "cmake"),
    ("justfile", "just"),
    ("Makefile", "make"),
    (".git", "git"),
];

/// A project: the folder that holds its root marker, and what kind it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Project {
    /// The folder holding the marker.
    pub root: PathBuf,
    /// `rust`, `node`, `python`, `go`, `cmake`, `just`, `make` or `git`.
    pub kind: String,
}

impl Project {
    /// The folder's name, for display.
    pub fn name(&self) -> String {
        self.root.file_name().map_or_else(
            || self.root.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// The nearest project containing `dir` (itself included), if any.
pub fn detect(dir: &Path) -> Option<Project> {
    dir.ancestors().find_map(|d| {
        MARKERS
            .iter()
            .find(|(m, _)| d.join(m).exists())
            .map(|(_, kind)| Project {
                root: d.to_path_buf(),
                kind: (*kind).to_string(),
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_marker_wins_and_kind_follows_priority() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("shop");
        let deep = root.join("src/bin");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "").unwrap();
        let p = detect(&deep).unwrap();
        assert_eq!(
            (p.root.as_path(), p.kind.as_str()),
            (root.as_path(), "rust")
        );
        assert_eq!(p.name(), "shop");

        let web = root.join("web");
        std::fs::create_dir(&web).unwrap();
        std::fs::write(web.join("package.json"), "{}").unwrap();
        assert_eq!(detect(&web).unwrap().kind, "node");
    }

    #[test]
    fn no_marker_no_project() {
        let t = tempfile::tempdir().unwrap();
        // The temp folder may sit under a checkout on some machines; only assert when not.
        if detect(t.path()).is_none() {
            assert!(detect(&t.path().join("nowhere")).is_none());
        }
    }
}
