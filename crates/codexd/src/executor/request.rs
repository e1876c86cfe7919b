//! A run request, checked and named before anything runs: its working directory, its
//! environment, its draft (the names it is recorded under) and its safety class.

use codex_proto::types::SafetyClass;

use super::{ExecError, RunRequest, Spec, classify, sandbox};
use crate::episode::Draft;

pub(super) fn draft_of(req: &RunRequest) -> Draft {
    Draft {
        part: req.part,
        ..Draft::new(req.goal.as_deref(), &req.spec.argv, &req.spec.cwd)
    }
}

/// The class of a request's command, judged against its project.
pub(super) fn classify_request(
    classifier: &classify::Classifier,
    declared: &[crate::planner::registry::ToolSpec],
    req: &RunRequest,
    root: Option<&std::path::Path>,
) -> classify::Verdict {
    let home = req
        .spec
        .env
        .as_ref()
        .and_then(|e| e.get("HOME"))
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(std::path::PathBuf::from));
    let place = classify::Place {
        cwd: &req.spec.cwd,
        root,
        home: home.as_deref(),
    };
    let mut verdict = classifier.classify_argv(&req.spec.argv, place);
    // A program named bare is judged by its name. If the step's PATH reaches into the
    // project (a `bin/` or `.venv/bin` put first, `.`), a name there may find a file the
    // project holds — directly, or through `env`, `xargs`, `sh -c` — and a confined step
    // could have written it: nothing it runs is better known than `./prog`.
    if verdict.class < SafetyClass::WritesInProject
        && let Some(dir) = path_into(&req.spec, root.unwrap_or(&req.spec.cwd))
    {
        verdict = classify::Verdict {
            class: SafetyClass::WritesInProject,
            reason: format!(
                "its PATH reaches into the project ({}): a program named here may be one the \
                 project holds, which can do whatever the project's files can",
                dir.display()
            ),
            network: verdict.network,
        };
    }
    // git runs programs its repository's config names (an fsmonitor, a diff driver, a
    // filter) even for `git status`; what such a program does is not known, and an included
    // file or a script in the work tree is something a confined step could rewrite.
    if verdict.class < SafetyClass::WritesInProject
        && req
            .spec
            .argv
            .iter()
            .any(|a| a == "git" || a.ends_with("/git") || a.contains("git "))
        && let Some(why) = git_runs_programs(&req.spec.cwd)
    {
        verdict = classify::Verdict {
            class: SafetyClass::WritesInProject,
            reason: format!(
                "this repository's git config {why}: git may run it for any command, and what \
                 it does is not known"
            ),
            network: verdict.network,
        };
    }
    if let Some((class, tool)) = crate::planner::registry::declared_class(declared, &req.spec.argv)
        && class > verdict.class
    {
        verdict = classify::Verdict {
            reason: format!("your tool `{tool}` is declared {class}"),
            network: verdict.network || class == SafetyClass::Network,
            class,
        };
    }
    match req.min_class {
        Some(declared) if declared > verdict.class => classify::Verdict {
            class: declared,
            reason: format!("its tool in the registry is declared {declared}"),
            network: verdict.network || declared == SafetyClass::Network,
        },
        _ => verdict,
    }
}

/// The first folder on the step's `PATH` that is inside `writable` (relative entries count
/// from the step's folder, as exec resolves them; an empty entry is that folder).
fn path_into(spec: &Spec, writable: &std::path::Path) -> Option<std::path::PathBuf> {
    let path = match spec.env.as_ref() {
        Some(env) => env.get("PATH").cloned(),
        None => std::env::var("PATH").ok(),
    }?;
    let writable = std::fs::canonicalize(writable).ok()?;
    path.split(':').find_map(|dir| {
        let dir = if dir.is_empty() {
            spec.cwd.clone()
        } else {
            spec.cwd.join(dir)
        };
        // A folder that is not there yet counts by where it would be: a confined step could
        // make it between this check and the exec.
        let real = std::fs::canonicalize(&dir).unwrap_or_else(|_| lexical(&dir));
        real.starts_with(&writable).then_some(dir)
    })
}

/// `path` with `.` and `..` taken out by their names alone (for a path that does not exist).
fn lexical(path: &std::path::Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Keys in a repository's git config that make git run a program, by their last part.
const GIT_RUNS: &[&str] = &[
    "fsmonitor",
    "external",
    "textconv",
    "clean",
    "smudge",
    "process",
    "pager",
    "sshcommand",
    "askpass",
    "hookspath",
    "editor",
    "sequenceeditor",
];

/// Why the git repository around `cwd` may run a program of its config's choosing: a key
/// that names one, or an include (whose file may be in the work tree). `None` when no
/// repository is found or its config names none; an unreadable config counts as naming one.
fn git_runs_programs(cwd: &std::path::Path) -> Option<String> {
    let dot_git = cwd
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|p| p.exists())?;
    let git_dir = if dot_git.is_dir() {
        dot_git
    } else {
        // A worktree or submodule: `gitdir: PATH`, and maybe a `commondir` beside it.
        let text = std::fs::read_to_string(&dot_git).ok()?;
        let rel = text.strip_prefix("gitdir:")?.trim();
        let dir = dot_git.parent()?.join(rel);
        match std::fs::read_to_string(dir.join("commondir")) {
            Ok(common) => dir.join(common.trim()),
            Err(_) => dir,
        }
    };
    let config = git_dir.join("config");
    let text = match std::fs::read_to_string(&config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(_) => return Some(format!("({}) cannot be read", config.display())),
    };
    for line in text.lines() {
        let line = line.trim().to_ascii_lowercase();
        if line.starts_with("[include") {
            return Some("includes another file".into());
        }
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if GIT_RUNS.contains(&key) {
            return Some(format!("names a program (`{key}`)"));
        }
    }
    None
}

/// The environment a step runs with: the client's, else the daemon's.
pub(super) fn step_env(spec: &Spec) -> sandbox::roots::Env {
    spec.env.clone().unwrap_or_else(|| {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    })
}

pub(super) fn validate(req: &RunRequest) -> Result<(), ExecError> {
    let spec = &req.spec;
    match spec.argv.first() {
        None => {
            return Err(ExecError::Invalid(
                "no command given: use `codex run -- CMD [ARGS...]`".into(),
            ));
        }
        Some(p) if p.is_empty() => {
            return Err(ExecError::Invalid("the program name is empty".into()));
        }
        Some(_) => {}
    }
    if !spec.cwd.is_absolute() {
        return Err(ExecError::Invalid(format!(
            "working directory {} is not absolute",
            spec.cwd.display()
        )));
    }
    if !spec.cwd.is_dir() {
        return Err(ExecError::Invalid(format!(
            "working directory {} does not exist",
            spec.cwd.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_folder_not_made_yet_inside_the_project_counts() {
        let dir = tempfile::tempdir().unwrap();
        let spec = |path: &str| Spec {
            argv: vec!["ls".into()],
            cwd: dir.path().to_path_buf(),
            env: Some([("PATH".to_string(), path.to_string())].into()),
            launcher: Vec::new(),
        };
        assert!(path_into(&spec("/usr/bin:/bin"), dir.path()).is_none());
        assert!(path_into(&spec("bin:/usr/bin"), dir.path()).is_some());
        let later = format!("{}/later/../bin", dir.path().display());
        assert!(path_into(&spec(&later), dir.path()).is_some());
        assert!(path_into(&spec(":/usr/bin"), dir.path()).is_some());
    }

    #[test]
    fn a_git_config_that_runs_programs_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        std::fs::create_dir_all(&git).unwrap();
        let sub = dir.path().join("src");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(git_runs_programs(&sub), None);
        std::fs::write(git.join("config"), "[core]\n\tbare = false\n").unwrap();
        assert_eq!(git_runs_programs(&sub), None);
        for (config, why) in [
            ("[core]\n\tfsmonitor = ./evil.sh\n", "fsmonitor"),
            ("[diff]\n\texternal = ./d.sh\n", "external"),
            ("[diff \"x\"]\n\ttextconv = ./t.sh\n", "textconv"),
            (
                "[filter \"lfs\"]\n\tprocess = git-lfs filter-process\n",
                "process",
            ),
            ("[include]\n\tpath = ../gitconfig\n", "include"),
            ("[includeIf \"gitdir:~/\"]\n\tpath = x\n", "include"),
        ] {
            std::fs::write(git.join("config"), config).unwrap();
            let got = git_runs_programs(&sub).unwrap_or_default();
            assert!(got.contains(why), "{config}: {got}");
        }
    }
}
