//! Where a write lands, and what that makes it. A path is read the way the kernel will
//! resolve it: `~` and `$HOME` are the home folder, `//`, `.` and `..` are folded,
//! `/proc/self/root` is `/`, `/proc/self/cwd` is the working directory, descriptors opened
//! earlier (`/dev/fd/3/…`) are somewhere outside, and symlinks that already exist are
//! followed. Then: a sink (`/dev/null`) is nothing; a device is destructive; a system path
//! is privileged; a place whose contents run later (a shell rc file, `~/.ssh`, a git hook) is
//! destructive; the project is writes-in-project; anywhere else is writes-outside, or
//! destructive when the write deletes, empties or replaces a file there.

use std::path::{Component, Path, PathBuf};

use codex_proto::types::SafetyClass;

/// How a write changes its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Makes a new file or folder (or adds to one).
    Create,
    /// Changes a file's attributes or part of it.
    Modify,
    /// Empties or replaces a file.
    Overwrite,
    /// Deletes it.
    Delete,
}

/// Where commands run: the working directory (when known), the project, the home folder.
#[derive(Debug, Clone, Copy)]
pub struct Spot<'a> {
    /// The working directory; `None` after a `cd` to somewhere unknown.
    pub cwd: Option<&'a Path>,
    /// The project root; `None` when nothing counts as in the project.
    pub root: Option<&'a Path>,
    /// The home folder (a stand-in when unknown: never the project).
    pub home: &'a Path,
    /// `$TMPDIR` is the step's own private temp folder (nothing reassigned it).
    pub private_tmp: bool,
}

/// The home folder when it is not known: a path that is never a project.
pub const UNKNOWN_HOME: &str = "/nonexistent/home";

/// Paths whose writes plant code that runs later.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plants {
    /// Relative to the home folder.
    pub home: Vec<String>,
    /// Components anywhere in a path (`.git/hooks`).
    pub components: Vec<String>,
}

/// A path as the kernel will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Written nowhere (`/dev/null`, standard output).
    Sink,
    /// This path.
    At(PathBuf),
    /// Cannot be known before it runs (`$OUT`, after `cd $X`).
    Unknown,
    /// In the step's private temp folder (`$TMPDIR/x`).
    PrivateTmp,
}

/// Resolve `path` as written in a command at `spot`.
pub fn resolve(path: &str, spot: Spot<'_>) -> Resolved {
    match path {
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "-" | "/dev/fd/1"
        | "/dev/fd/2" | "/proc/self/fd/1" | "/proc/self/fd/2" => return Resolved::Sink,
        _ => {}
    }
    let home = spot.home;
    // `~`, `~/x`, `$HOME/x`, `${HOME}/x`, `${HOME%/}/x`: the home folder.
    let (base, rest): (Option<PathBuf>, &str) = if path == "~" || path.starts_with("~/") {
        (Some(home.to_path_buf()), &path[1..])
    } else if let Some(r) = path.strip_prefix("~+") {
        (spot.cwd.map(Path::to_path_buf), r)
    } else if path.starts_with('~') {
        // `~user`, `~-`: another home, or the previous directory: outside, somewhere.
        let r = path.find('/').map_or("", |i| &path[i..]);
        (Some(Path::new("/home/other-user").to_path_buf()), r)
    } else if let Some(r) = path.strip_prefix("$HOME").or_else(|| home_braced(path)) {
        (Some(home.to_path_buf()), r)
    } else if spot.private_tmp
        && let Some(r) = ["$TMPDIR", "${TMPDIR}", "$TMP", "${TMP}", "$TEMP", "${TEMP}"]
            .iter()
            .find_map(|v| {
                path.strip_prefix(v)
                    .filter(|r| r.is_empty() || r.starts_with('/'))
            })
    {
        if r.contains('$') || r.split('/').any(|c| c == "..") {
            return Resolved::Unknown;
        }
        return Resolved::PrivateTmp;
    } else if path.contains('$') {
        return Resolved::Unknown;
    } else if path.starts_with('/') {
        (Some(PathBuf::from("/")), path)
    } else {
        match spot.cwd {
            Some(c) => (Some(c.to_path_buf()), path),
            None => return Resolved::Unknown,
        }
    };
    let Some(base) = base else {
        return Resolved::Unknown;
    };
    if rest.contains('$') {
        return Resolved::Unknown;
    }
    let joined = base.join(rest.trim_start_matches('/'));
    let folded = fold(&joined, spot);
    // /proc and /dev name other processes' things (a descriptor, a cwd): never this one's.
    if folded.starts_with("/proc") || folded.starts_with("/dev") {
        return Resolved::At(folded);
    }
    Resolved::At(follow_links(&folded))
}

/// `${HOME}`, `${HOME%/}`, `${HOME:-x}`: the rest after it.
fn home_braced(path: &str) -> Option<&str> {
    let inner = path.strip_prefix("${HOME")?;
    let close = inner.find('}')?;
    let op = &inner[..close];
    (op.is_empty() || op.starts_with(['%', ':', '#'])).then(|| &inner[close + 1..])
}

/// Fold `//`, `.` and `..`, and the `/proc` links that name another place.
fn fold(p: &Path, spot: Spot<'_>) -> PathBuf {
    let mut out = PathBuf::from("/");
    let comps: Vec<Component<'_>> = p.components().collect();
    let mut k = 0;
    while k < comps.len() {
        match comps[k] {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            Component::Normal(c) => {
                out.push(c);
                // /proc/self/root/... is the root again; /proc/self/cwd/... the working
                // directory (of the step: its own).
                let s = out.to_string_lossy();
                let procish = |name: &str| {
                    s.strip_prefix("/proc/")
                        .and_then(|r| r.split_once('/'))
                        .is_some_and(|(who, what)| {
                            (who == "self"
                                || who == "thread-self"
                                || who.chars().all(|c| c.is_ascii_digit()))
                                && what == name
                        })
                };
                if procish("root") {
                    out = PathBuf::from("/");
                } else if procish("cwd") {
                    out = spot
                        .cwd
                        .map_or_else(|| PathBuf::from("/proc/unknown-cwd"), Path::to_path_buf);
                }
            }
        }
        k += 1;
    }
    out
}

/// Follow the symlinks of the longest part of `p` that exists.
fn follow_links(p: &Path) -> PathBuf {
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(&existing) {
            let mut out = real;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return p.to_path_buf(),
        }
    }
}

/// The class of writing `path` with `effect` at `spot`, and why; `None` for sinks.
pub fn judge(
    path: &str,
    effect: Effect,
    spot: Spot<'_>,
    plants: &Plants,
    system: &[PathBuf],
) -> Option<(SafetyClass, String)> {
    let full = match resolve(path, spot) {
        Resolved::Sink => return None,
        Resolved::Unknown => {
            return Some((
                SafetyClass::WritesOutsideProject,
                format!("writes `{path}`, which cannot be known before it runs"),
            ));
        }
        Resolved::PrivateTmp => {
            return Some((
                SafetyClass::WritesInProject,
                format!("writes `{path}`, in its private temp folder"),
            ));
        }
        Resolved::At(p) => p,
    };
    let shown = full.display();
    if full.starts_with("/dev") && !full.starts_with("/dev/shm") {
        let descriptor = full.starts_with("/dev/fd") && full.components().count() > 3;
        return Some(if descriptor {
            outside(effect, path)
        } else {
            (
                SafetyClass::Destructive,
                format!("writes straight to the device `{shown}`"),
            )
        });
    }
    if full.starts_with("/proc")
        && full.components().count() > 3
        && full.starts_with("/proc/self/fd")
    {
        return Some(outside(effect, path));
    }
    if system.iter().any(|s| full.starts_with(s)) && !full.starts_with("/var/tmp") {
        return Some((
            SafetyClass::Privileged,
            format!("writes `{shown}`, a system path only root may change"),
        ));
    }
    if let Some(why) = planted(&full, spot, plants) {
        return Some((
            SafetyClass::Destructive,
            format!("writes `{shown}`, {why}, which runs later outside any sandbox"),
        ));
    }
    if spot.root.is_some_and(|r| full.starts_with(r)) {
        return Some((SafetyClass::WritesInProject, format!("writes `{path}`")));
    }
    Some(outside(effect, path))
}

fn outside(effect: Effect, path: &str) -> (SafetyClass, String) {
    match effect {
        Effect::Overwrite => (
            SafetyClass::Destructive,
            format!("replaces or empties `{path}`, outside the project"),
        ),
        Effect::Delete => (
            SafetyClass::Destructive,
            format!("deletes `{path}`, outside the project"),
        ),
        Effect::Create | Effect::Modify => (
            SafetyClass::WritesOutsideProject,
            format!("writes `{path}`, outside the project"),
        ),
    }
}

/// Why writing `full` plants code (a shell rc file, a git hook, ...), if it does.
fn planted(full: &Path, spot: Spot<'_>, plants: &Plants) -> Option<String> {
    for h in &plants.home {
        if full.starts_with(spot.home.join(h)) {
            return Some(format!("`~/{h}`"));
        }
    }
    let text = full.to_string_lossy();
    for c in &plants.components {
        let needle = format!("/{c}");
        if let Some(at) = text.find(&needle) {
            let after = &text[at + needle.len()..];
            if after.is_empty() || after.starts_with('/') {
                return Some(format!("under `{c}`"));
            }
        }
    }
    // An rc file by its name, wherever the home folder is.
    let name = full.file_name()?.to_string_lossy();
    plants
        .home
        .iter()
        .find(|h| !h.contains('/') && h.starts_with('.') && name == h.as_str())
        .map(|h| format!("a `{h}` file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spot() -> Spot<'static> {
        Spot {
            cwd: Some(Path::new("/home/dev/src/shop")),
            root: Some(Path::new("/home/dev/src/shop")),
            home: Path::new("/home/dev"),
            private_tmp: true,
        }
    }

    fn plants() -> Plants {
        Plants {
            home: vec![".bashrc".into(), ".ssh".into(), "bin".into()],
            components: vec![".git/hooks".into(), ".git/config".into()],
        }
    }

    fn class(path: &str, effect: Effect) -> Option<SafetyClass> {
        judge(path, effect, spot(), &plants(), &[PathBuf::from("/etc")]).map(|(c, _)| c)
    }

    #[test]
    fn paths_are_judged_where_they_land() {
        use Effect::*;
        use SafetyClass::*;
        for (path, effect, want) in [
            ("out.txt", Create, Some(WritesInProject)),
            ("/dev/null", Overwrite, None),
            ("//dev/sda", Overwrite, Some(Destructive)),
            ("/./dev/sda", Overwrite, Some(Destructive)),
            ("/dev/../etc/passwd", Overwrite, Some(Privileged)),
            ("/proc/self/root/etc/hosts", Create, Some(Privileged)),
            ("/proc/self/cwd/../notes", Overwrite, Some(Destructive)),
            ("/dev/fd/3/notes", Overwrite, Some(Destructive)),
            ("/proc/self/fd/3/.x", Create, Some(WritesOutsideProject)),
            ("~/.bashrc", Create, Some(Destructive)),
            ("$HOME/.ssh/authorized_keys", Create, Some(Destructive)),
            ("${HOME%/}/notes", Delete, Some(Destructive)),
            ("~/notes", Create, Some(WritesOutsideProject)),
            ("~/bin/app", Create, Some(Destructive)),
            ("../sibling/x", Create, Some(WritesOutsideProject)),
            ("../sibling/x", Overwrite, Some(Destructive)),
            ("/tmp/x", Create, Some(WritesOutsideProject)),
            (".git/hooks/pre-commit", Create, Some(Destructive)),
            (".git/config", Modify, Some(Destructive)),
            ("$OUT", Overwrite, Some(WritesOutsideProject)),
            ("~+/../x", Delete, Some(Destructive)),
            ("$TMPDIR/scratch", Overwrite, Some(WritesInProject)),
            ("$TMPDIR/../x", Overwrite, Some(WritesOutsideProject)),
        ] {
            assert_eq!(class(path, effect), want, "{path} {effect:?}");
        }
    }
}
