//! Where a confined step may write, and what stays read-only inside it.
//!
//! - Its project: the nearest folder above the working directory holding a root marker
//!   (`context::project`), but never the home folder, `/`, or a folder above the home
//!   folder: a marker there (a dotfiles repository, a stray `package.json`) does not make the
//!   whole home a project. With no project, nothing counts as "in the project".
//! - A private temp folder, made for the step and removed after it (its `TMPDIR`).
//! - The caches of the project's kinds (`safety.caches`: cargo's registry, npm's cache, ...)
//!   and `safety.writable_roots`, as far as they exist.
//! - Kept read-only inside the project: `.git/hooks`, `.git/config` (and those of git
//!   submodules and linked worktrees whose git folder is inside the project), and the folder
//!   `core.hooksPath` names when it is inside the project. Planting a hook or a command in
//!   the repository's config would run code later, outside the sandbox, when the user runs
//!   git.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The step's environment as it will run (the CLI's), for `~` and `$VAR` in configured paths.
pub type Env = BTreeMap<String, String>;

/// The home folders to keep out of "the project": the step's `$HOME` and the daemon's.
pub fn homes(env: &Env) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = env.get("HOME").map(PathBuf::from).into_iter().collect();
    if let Some(h) = std::env::var_os("HOME").map(PathBuf::from)
        && !out.contains(&h)
    {
        out.push(h);
    }
    out.retain(|h| h.is_absolute());
    out
}

/// The project a step in `cwd` may write: `None` when there is none, or when the nearest root
/// marker is in a home folder itself, in `/`, above a home folder, or in one of its hidden
/// folders (`~/.config/.git` would make the whole of `~/.config`, shell and codex settings
/// included, "the project"; `~/.cargo/registry/src/x` is code other builds run).
pub fn project_root(cwd: &Path, homes: &[PathBuf]) -> Option<PathBuf> {
    let p = crate::context::project::detect(cwd)?;
    let root = p.root;
    let real = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let homes_real: Vec<PathBuf> = homes
        .iter()
        .map(|h| std::fs::canonicalize(h).unwrap_or_else(|_| h.clone()))
        .chain(homes.iter().cloned())
        .collect();
    let wrong = |r: &Path| {
        r.parent().is_none()
            || homes_real.iter().any(|h| {
                h.starts_with(r)
                    || r.strip_prefix(h).is_ok_and(|rest| {
                        rest.components()
                            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
                    })
            })
    };
    (!wrong(&root) && !wrong(&real)).then_some(root)
}

/// The kinds of project whose markers are at `root` (a Rust crate with a package.json is
/// both `rust` and `node`).
pub fn kinds_at(root: &Path) -> Vec<&'static str> {
    crate::context::project::MARKERS
        .iter()
        .filter(|(m, _)| root.join(m).exists())
        .map(|(_, kind)| *kind)
        .collect()
}

/// Expand `~`, `$VAR`, `${VAR}` and `${VAR:-default}` (defaults may nest) with `env`;
/// `None` when a variable without a default is unset or the result is not absolute.
pub fn expand(text: &str, env: &Env) -> Option<PathBuf> {
    let out = expand_str(text, env, 0)?;
    let path = PathBuf::from(out);
    path.is_absolute().then_some(path)
}

fn expand_str(text: &str, env: &Env, depth: usize) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let mut out = String::new();
    let rest = if text == "~" || text.starts_with("~/") {
        out.push_str(env.get("HOME")?);
        &text[1..]
    } else {
        text
    };
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        if rest[i + 1..].starts_with('{') {
            // Find the matching brace, minding nested `${...}`.
            let body_start = i + 2;
            let mut level = 1;
            let mut end = None;
            for (j, ch) in rest[body_start..].char_indices() {
                match ch {
                    '{' => level += 1,
                    '}' => {
                        level -= 1;
                        if level == 0 {
                            end = Some(body_start + j);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let end = end?;
            let body = &rest[body_start..end];
            let value = match body.split_once(":-") {
                Some((name, default)) => match env.get(name).filter(|v| !v.is_empty()) {
                    Some(v) => v.clone(),
                    None => expand_str(default, env, depth + 1)?,
                },
                None => env.get(body)?.clone(),
            };
            out.push_str(&value);
            while chars.peek().is_some_and(|(k, _)| *k <= end) {
                chars.next();
            }
        } else {
            let name: String = rest[i + 1..]
                .chars()
                .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
                .collect();
            if name.is_empty() {
                out.push('$');
                continue;
            }
            out.push_str(env.get(&name)?);
            for _ in 0..name.len() {
                chars.next();
            }
        }
    }
    Some(out)
}

/// What to guard in a project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guarded {
    /// Git folders, pinned in place.
    pub pinned: Vec<PathBuf>,
    /// Paths bound read-only.
    pub read_only: Vec<PathBuf>,
}

/// Where git finds what it runs, inside `root`: every git folder's hooks, config,
/// `commondir` (which would move config and hooks elsewhere) and `info`, the folder
/// `core.hooksPath` names when it is inside, and the git folders themselves, pinned.
pub fn protected(root: &Path) -> Guarded {
    let Ok(root) = std::fs::canonicalize(root) else {
        return Guarded::default();
    };
    let root = root.as_path();
    let mut out = Vec::new();
    let mut pinned = Vec::new();
    let mut git_dirs = Vec::new();
    let dot_git = root.join(".git");
    if dot_git.is_dir() {
        git_dirs.push(dot_git.clone());
    } else if let Some(dir) = gitdir_of_file(&dot_git, root) {
        git_dirs.push(dir);
    }
    // Submodules keep their git folders under .git/modules, possibly nested.
    let mut stack: Vec<(PathBuf, usize)> = vec![(dot_git.join("modules"), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if !p.is_dir() || depth > 4 {
                continue;
            }
            if p.join("HEAD").is_file() {
                git_dirs.push(p.clone());
                stack.push((p.join("modules"), depth + 1));
            } else {
                stack.push((p, depth + 1));
            }
        }
    }
    for g in git_dirs {
        let Ok(g) = std::fs::canonicalize(&g) else {
            continue;
        };
        if !g.starts_with(root) {
            continue; // outside the project: not writable at all
        }
        pinned.push(g.clone());
        for name in ["commondir", "info", "config.worktree"] {
            let p = g.join(name);
            if p.exists() {
                out.push(p);
            }
        }
        let hooks = g.join("hooks");
        // A missing hooks folder could be created with a hook in it: make the (empty) folder
        // git itself would make, so there is something to keep read-only.
        if !hooks.exists() {
            let _ = std::fs::create_dir(&hooks);
        }
        out.push(hooks);
        out.push(g.join("config"));
        if let Some(custom) = hooks_path(&g.join("config"), root)
            && !out.contains(&custom)
        {
            // As for `hooks`: a folder to keep read-only, rather than one a step creates.
            if !custom.exists() {
                let _ = std::fs::create_dir_all(&custom);
            }
            out.push(custom);
        }
    }
    Guarded {
        pinned,
        read_only: out,
    }
}

/// Files in git folders that redirect where git reads its config and hooks, and that a step
/// could create (a read-only bind needs something to bind onto): `commondir`. Those present
/// after a confined step that were not before it.
pub fn planted_redirects(pinned: &[PathBuf], before: &[PathBuf]) -> Vec<PathBuf> {
    redirects(pinned)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect()
}

/// The redirecting files present now.
pub fn redirects(pinned: &[PathBuf]) -> Vec<PathBuf> {
    pinned
        .iter()
        .map(|g| g.join("commondir"))
        .filter(|p| p.exists())
        .collect()
}

/// `.git` as a file (`gitdir: PATH`, a linked worktree or submodule): the folder it names,
/// when that is inside the project.
fn gitdir_of_file(dot_git: &Path, root: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dot_git).ok()?;
    let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
    let dir = std::fs::canonicalize(root.join(target)).ok()?;
    dir.starts_with(root).then_some(dir)
}

/// `core.hooksPath` of a git config file (section and key names are case-insensitive), when
/// it names a folder inside the project.
fn hooks_path(config: &Path, root: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(config).ok()?;
    let mut in_core = false;
    let mut found = None;
    for line in text.lines() {
        let l = line.trim();
        if let Some(section) = l.strip_prefix('[') {
            let name = section.split([']', ' ', '"']).next().unwrap_or("");
            in_core = name.eq_ignore_ascii_case("core");
            continue;
        }
        if in_core
            && let Some((k, v)) = l.split_once('=')
            && k.trim().eq_ignore_ascii_case("hookspath")
        {
            found = Some(v.trim().trim_matches('"').to_string());
        }
    }
    let value = found?;
    let dir = if value.starts_with('/') {
        PathBuf::from(value)
    } else {
        root.join(value)
    };
    dir.starts_with(root).then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn configured_paths_expand_with_the_steps_environment() {
        let e = env(&[("HOME", "/home/u"), ("CARGO_HOME", "/opt/cargo")]);
        let x = |s: &str| expand(s, &e).map(|p| p.display().to_string());
        assert_eq!(
            x("~/.npm/_cacache").as_deref(),
            Some("/home/u/.npm/_cacache")
        );
        assert_eq!(
            x("${CARGO_HOME:-~/.cargo}/registry").as_deref(),
            Some("/opt/cargo/registry")
        );
        assert_eq!(
            x("${GOCACHE:-${XDG_CACHE_HOME:-~/.cache}/go-build}").as_deref(),
            Some("/home/u/.cache/go-build")
        );
        assert_eq!(x("$HOME/x").as_deref(), Some("/home/u/x"));
        assert_eq!(x("$NOPE/x"), None);
        assert_eq!(x("relative/x"), None);
    }

    #[test]
    fn home_and_root_are_never_projects() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        let proj = home.join("src/shop");
        std::fs::create_dir_all(proj.join("src")).unwrap();
        std::fs::create_dir(home.join(".git")).unwrap(); // a dotfiles repository
        let homes = vec![home.clone()];
        assert_eq!(project_root(&home, &homes), None);
        assert_eq!(project_root(&home.join("src"), &homes), None);
        std::fs::write(proj.join("Cargo.toml"), "").unwrap();
        assert_eq!(project_root(&proj.join("src"), &homes), Some(proj.clone()));
        // A repository in a hidden folder of the home folder is no project either.
        let config = home.join(".config");
        std::fs::create_dir_all(config.join(".git")).unwrap();
        std::fs::create_dir_all(config.join("codex")).unwrap();
        assert_eq!(project_root(&config.join("codex"), &homes), None);
        assert_eq!(kinds_at(&proj), vec!["rust"]);
    }

    #[test]
    fn git_hooks_config_and_hooks_path_are_protected() {
        let t = tempfile::tempdir().unwrap();
        let root = &std::fs::canonicalize(t.path()).unwrap();
        std::fs::create_dir_all(root.join(".git/modules/lib/hooks")).unwrap();
        std::fs::write(root.join(".git/modules/lib/HEAD"), "ref: x").unwrap();
        std::fs::write(root.join(".git/config"), "[Core]\n\tHooksPath = .husky\n").unwrap();
        let g = protected(root);
        assert!(g.pinned.contains(&root.join(".git")));
        assert!(
            root.join(".husky").is_dir(),
            "a missing hooksPath folder is made to be kept"
        );
        let p = g.read_only;
        for want in [
            ".git/hooks",
            ".git/config",
            ".husky",
            ".git/modules/lib/hooks",
            ".git/modules/lib/config",
        ] {
            assert!(p.contains(&root.join(want)), "{want} in {p:?}");
        }
        assert!(
            root.join(".git/hooks").is_dir(),
            "the hooks folder is made to be kept"
        );
        std::fs::write(root.join(".git/config"), "[core]\nhooksPath = /etc/hooks\n").unwrap();
        assert!(
            !protected(root)
                .read_only
                .contains(&PathBuf::from("/etc/hooks"))
        );
        // A `.git` file naming a folder outside: nothing made there.
        let outer = root.join("outer");
        let inner = outer.join("proj");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::write(inner.join(".git"), "gitdir: ../sibling/tgt\n").unwrap();
        std::fs::create_dir_all(outer.join("sibling/tgt")).unwrap();
        assert_eq!(protected(&inner), Guarded::default());
        assert!(!outer.join("sibling/tgt/hooks").exists());
    }
}
