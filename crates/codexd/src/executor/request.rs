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
        let real = std::fs::canonicalize(&dir).ok()?;
        real.starts_with(&writable).then_some(dir)
    })
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
