//! Whether a plan can start here and fits here, checked before it is offered: its program is
//! installed (on the user's PATH, or in the project's own environment: `.venv/bin`,
//! `node_modules/.bin`, `uv run`, `poetry run`), a cargo subcommand is installed, and the
//! project files it needs are here (Cargo.toml for cargo, the script for `npm run`, the
//! target for `make`, the files it names). A plan that fails says what is missing instead of
//! being run to exit 127.
//!
//! Pure functions of the argument vector, the folder's files and the PATH string: no process
//! is started.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// Where a plan would run.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The working directory.
    pub cwd: &'a Path,
    /// The project root, when there is a project.
    pub root: Option<&'a Path>,
    /// The user's PATH.
    pub path: &'a str,
}

/// Cargo's own subcommands (and their aliases): anything else is a `cargo-NAME` program.
const CARGO_BUILTIN: &[&str] = &[
    "add",
    "b",
    "bench",
    "build",
    "c",
    "check",
    "clean",
    "config",
    "d",
    "doc",
    "fetch",
    "fix",
    "generate-lockfile",
    "help",
    "info",
    "init",
    "install",
    "locate-project",
    "login",
    "logout",
    "metadata",
    "new",
    "owner",
    "package",
    "pkgid",
    "publish",
    "r",
    "read-manifest",
    "remove",
    "report",
    "rm",
    "run",
    "rustc",
    "rustdoc",
    "search",
    "t",
    "test",
    "tree",
    "uninstall",
    "update",
    "vendor",
    "verify-project",
    "version",
    "yank",
];

/// Programs that live in a Python project's environment when it has one.
const PYTHON_TOOLS: &[&str] = &[
    "pytest",
    "ruff",
    "mypy",
    "black",
    "flake8",
    "pylint",
    "isort",
    "tox",
    "nox",
    "python",
    "python3",
    "pip",
    "pip3",
    "coverage",
    "pyright",
    "django-admin",
    "uvicorn",
    "flask",
];

/// Files that make a folder a Python project.
const PYTHON_MARKERS: &[&str] = &[
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "tox.ini",
    "pytest.ini",
    "requirements.txt",
    "Pipfile",
];

/// An executable file named `program` in one of the PATH's folders.
pub fn on_path(program: &str, path: &str) -> Option<PathBuf> {
    if program.is_empty() || program.contains('/') {
        return None;
    }
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| executable(p))
}

fn executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The nearest folder from `cwd` up holding one of `files`.
fn above<'p>(cwd: &'p Path, files: &[&str]) -> Option<&'p Path> {
    cwd.ancestors()
        .find(|d| files.iter().any(|f| d.join(f).exists()))
}

/// `argv` as it can start here: unchanged when its program is found, else taken from the
/// project's environment; `Err` says what is missing, in words a user can act on.
pub fn resolve(argv: &[String], at: Place<'_>) -> Result<Vec<String>, String> {
    let Some(program) = argv.first() else {
        return Err("the plan has an empty step".into());
    };
    if program.contains('/') {
        let p = at.cwd.join(program);
        return if executable(&p) {
            Ok(argv.to_vec())
        } else if p.exists() {
            Err(format!("`{program}` is not executable (chmod +x it)"))
        } else {
            Err(format!("`{program}` does not exist here"))
        };
    }
    let python = above(at.cwd, PYTHON_MARKERS);
    // A Python project's own environment comes first: it has the project's dependencies.
    if let Some(py) = python.filter(|_| PYTHON_TOOLS.contains(&program.as_str())) {
        for venv in [".venv", "venv"] {
            let bin = py.join(venv).join("bin").join(program);
            if executable(&bin) {
                return Ok(with_program(argv, &shown_path(&bin, at.cwd)));
            }
        }
        if py.join("uv.lock").exists() && on_path("uv", at.path).is_some() {
            return Ok(prefixed(&["uv", "run"], argv));
        }
        if py.join("poetry.lock").exists() && on_path("poetry", at.path).is_some() {
            return Ok(prefixed(&["poetry", "run"], argv));
        }
    }
    if on_path(program, at.path).is_some() {
        if program == "cargo" {
            cargo_subcommand(argv, at)?;
        }
        return Ok(argv.to_vec());
    }
    // A Node tool installed in the project, not globally.
    if let Some(node) = above(at.cwd, &["package.json"]) {
        let bin = node.join("node_modules/.bin").join(program);
        if executable(&bin) {
            return Ok(with_program(argv, &shown_path(&bin, at.cwd)));
        }
    }
    if let Some(builtin) = crate::executor::process::shell_builtin(program) {
        return Err(builtin);
    }
    Err(missing(program, python.is_some()))
}

/// A cargo subcommand that is not cargo's own must be installed as `cargo-NAME`.
fn cargo_subcommand(argv: &[String], at: Place<'_>) -> Result<(), String> {
    let Some(sub) = argv
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-') && !a.starts_with('+'))
    else {
        return Ok(());
    };
    if CARGO_BUILTIN.contains(&sub.as_str()) {
        return Ok(());
    }
    let program = format!("cargo-{sub}");
    if on_path(&program, at.path).is_some() {
        return Ok(());
    }
    Err(match sub.as_str() {
        "clippy" | "fmt" => format!(
            "`cargo {sub}` is not installed (`rustup component add {}`)",
            if sub == "fmt" { "rustfmt" } else { "clippy" }
        ),
        _ => format!("`cargo {sub}` is not installed (`cargo install --locked cargo-{sub}`)"),
    })
}

/// What to say about a program found nowhere.
fn missing(program: &str, python: bool) -> String {
    if python && PYTHON_TOOLS.contains(&program) {
        format!(
            "`{program}` is not installed: not on your PATH, and the project has no \
             .venv/bin/{program} (install it in the project's environment, e.g. \
             `python3 -m venv .venv && .venv/bin/pip install {program}`, or `uv add --dev {program}`)"
        )
    } else {
        format!("`{program}` is not installed (not found on your PATH)")
    }
}

/// A path to show and run: relative to `cwd` when below it, else absolute.
fn shown_path(p: &Path, cwd: &Path) -> String {
    match p.strip_prefix(cwd) {
        Ok(rel) => format!("./{}", rel.display()),
        Err(_) => p.display().to_string(),
    }
}

fn with_program(argv: &[String], program: &str) -> Vec<String> {
    std::iter::once(program.to_string())
        .chain(argv.iter().skip(1).cloned())
        .collect()
}

fn prefixed(prefix: &[&str], argv: &[String]) -> Vec<String> {
    prefix
        .iter()
        .map(|s| s.to_string())
        .chain(argv.iter().cloned())
        .collect()
}

/// Whether what `argv` needs is here: its tool's project files (and the script or target it
/// names) and the relative paths it names. Learned plans are offered outside the project
/// they were learned in only when this holds.
pub fn needs(argv: &[String], at: Place<'_>) -> Result<(), String> {
    let program = crate::episode::program_name(argv);
    // A plan of several commands in one script (`sh -c 'npm test && ls'`, as the model
    // planner joins steps) needs what each of its commands needs.
    if matches!(program.as_str(), "sh" | "bash")
        && argv.len() == 3
        && argv[1] == "-c"
        && let Some(words) = shlex::split(&argv[2])
    {
        for cmd in words.split(|w| w == "&&" || w == ";" || w == "||") {
            if cmd.is_empty() {
                continue;
            }
            needs(cmd, at)?;
            resolve(cmd, at)?;
        }
        return Ok(());
    }
    let args: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
    let first_word = args.iter().find(|a| !a.starts_with('-')).copied();
    let need = |files: &[&str], what: &str| -> Result<(), String> {
        match above(at.cwd, files) {
            Some(_) => Ok(()),
            None => Err(format!("needs {what}, and there is none here")),
        }
    };
    match program.as_str() {
        "cargo"
            if !matches!(
                first_word,
                Some(
                    "install"
                        | "new"
                        | "init"
                        | "search"
                        | "login"
                        | "help"
                        | "version"
                        | "uninstall"
                )
            ) =>
        {
            need(&["Cargo.toml"], "a Cargo.toml")?
        }
        "npm" | "yarn" | "pnpm" | "bun" => {
            need(&["package.json"], "a package.json")?;
            let script = match first_word {
                Some("run" | "run-script") => args
                    .iter()
                    .skip_while(|a| !matches!(**a, "run" | "run-script"))
                    .nth(1)
                    .copied(),
                Some(s @ ("test" | "start")) => Some(s),
                _ => None,
            };
            if let Some(s) = script
                && let Some(dir) = above(at.cwd, &["package.json"])
                && let Some(scripts) = crate::context::commands::package_scripts(dir)
                && !scripts.iter().any(|x| x == s)
            {
                return Err(format!(
                    "needs a package.json script \"{s}\", and this one has none"
                ));
            }
        }
        "make" | "gmake" => {
            let files = ["GNUmakefile", "makefile", "Makefile"];
            // make reads the folder it runs in (or the one -C names), not a parent.
            let dir = match args.iter().position(|a| *a == "-C") {
                Some(i) => at.cwd.join(args.get(i + 1).copied().unwrap_or(".")),
                None => at.cwd.to_path_buf(),
            };
            let Some(text) = files
                .iter()
                .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
            else {
                return Err("needs a Makefile here, and there is none".into());
            };
            if let Some(target) = make_target(&args)
                && !crate::context::commands::targets(&text)
                    .iter()
                    .any(|t| t == target)
            {
                return Err(format!(
                    "needs a Makefile target \"{target}\", and this Makefile has none"
                ));
            }
        }
        "just" => need(&["justfile", "Justfile", ".justfile"], "a justfile")?,
        "go" if matches!(
            first_word,
            Some("build" | "test" | "vet" | "run" | "fmt" | "generate" | "mod" | "list" | "clean")
        ) =>
        {
            need(&["go.mod"], "a go.mod")?
        }
        "pytest" | "tox" | "nox" | "ruff" | "mypy" | "black" | "flake8" | "pylint" | "isort" => {
            need(
                PYTHON_MARKERS,
                "a Python project (pyproject.toml, setup.py, ...)",
            )?
        }
        "uv" | "poetry" if first_word != Some("init") => {
            need(&["pyproject.toml"], "a pyproject.toml")?
        }
        "mvn" | "mvnw" => need(&["pom.xml"], "a pom.xml")?,
        "gradle" | "gradlew" => need(
            &[
                "build.gradle",
                "build.gradle.kts",
                "settings.gradle",
                "settings.gradle.kts",
            ],
            "a Gradle build",
        )?,
        "git"
            if !matches!(
                first_word,
                Some("clone" | "init" | "version" | "help" | "config")
            ) =>
        {
            need(&[".git"], "a git repository")?
        }
        _ => {}
    }
    // The program and the relative paths it names must be here.
    for a in argv
        .iter()
        .filter(|a| (a.starts_with("./") || a.starts_with("../")) && !a.contains("..."))
    {
        if !at.cwd.join(a).exists() {
            return Err(format!("names {a}, which is not here"));
        }
    }
    Ok(())
}

/// The first target a make command line names (not an option, its value, or `VAR=value`).
fn make_target<'a>(args: &[&'a str]) -> Option<&'a str> {
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        if matches!(
            *a,
            "-C" | "-f" | "-j" | "-l" | "-o" | "-W" | "-I" | "--file" | "--directory"
        ) {
            skip = true;
            continue;
        }
        if a.starts_with('-') || a.contains('=') {
            continue;
        }
        return Some(a);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    /// A folder with these files, and a PATH folder holding these programs.
    fn place(files: &[(&str, &str)], programs: &[&str]) -> (tempfile::TempDir, PathBuf, String) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("p");
        std::fs::create_dir_all(&root).unwrap();
        for (f, text) in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            if f.contains("bin/") {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let bin = t.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for prog in programs {
            let p = bin.join(prog);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = bin.display().to_string();
        (t, root, path)
    }

    fn at<'a>(root: &'a Path, path: &'a str) -> Place<'a> {
        Place {
            cwd: root,
            root: Some(root),
            path,
        }
    }

    #[test]
    fn a_missing_program_is_said_and_a_project_environment_is_used() {
        let (_t, root, path) = place(&[("pyproject.toml", "")], &["cargo"]);
        let why = resolve(&v(&["pytest"]), at(&root, &path)).unwrap_err();
        assert!(
            why.contains("`pytest` is not installed") && why.contains(".venv"),
            "{why}"
        );
        let (_t, root, path) = place(
            &[("pyproject.toml", ""), (".venv/bin/pytest", "#!/bin/sh\n")],
            &[],
        );
        assert_eq!(
            resolve(&v(&["pytest", "-q"]), at(&root, &path)).unwrap(),
            v(&["./.venv/bin/pytest", "-q"])
        );
        let (_t, root, path) = place(&[("pyproject.toml", ""), ("uv.lock", "")], &["uv"]);
        assert_eq!(
            resolve(&v(&["pytest"]), at(&root, &path)).unwrap(),
            v(&["uv", "run", "pytest"])
        );
        let (_t, root, path) = place(
            &[("pyproject.toml", ""), ("poetry.lock", "")],
            &["poetry", "pytest"],
        );
        assert_eq!(
            resolve(&v(&["pytest"]), at(&root, &path)).unwrap(),
            v(&["poetry", "run", "pytest"])
        );
        let (_t, root, path) = place(
            &[("package.json", "{}"), ("node_modules/.bin/eslint", "")],
            &["npm"],
        );
        assert_eq!(
            resolve(&v(&["eslint", "."]), at(&root, &path)).unwrap(),
            v(&["./node_modules/.bin/eslint", "."])
        );
        assert!(resolve(&v(&["./deploy.sh"]), at(&root, &path)).is_err());
        let why = resolve(&v(&["cd", "src"]), at(&root, &path)).unwrap_err();
        assert!(why.contains("a shell builtin"), "{why}");
    }

    #[test]
    fn cargo_subcommands_must_be_installed() {
        let (_t, root, path) = place(&[("Cargo.toml", "")], &["cargo", "cargo-clippy"]);
        assert!(resolve(&v(&["cargo", "test"]), at(&root, &path)).is_ok());
        assert!(resolve(&v(&["cargo", "clippy"]), at(&root, &path)).is_ok());
        let why = resolve(&v(&["cargo", "nextest", "run"]), at(&root, &path)).unwrap_err();
        assert!(
            why.contains("cargo install --locked cargo-nextest"),
            "{why}"
        );
        let why = resolve(&v(&["cargo", "fmt"]), at(&root, &path)).unwrap_err();
        assert!(why.contains("rustup component add rustfmt"), "{why}");
        assert!(resolve(&v(&["cargo", "+nightly", "build"]), at(&root, &path)).is_ok());
    }

    #[test]
    fn a_plan_needs_its_tools_files_here() {
        let (_t, root, path) = place(
            &[
                ("package.json", r#"{"scripts":{"test":"jest"}}"#),
                ("Makefile", "test:\n\ttrue\n"),
                ("scripts/deploy.sh", ""),
            ],
            &["ls", "make", "cargo"],
        );
        let here = at(&root, &path);
        assert!(
            needs(&v(&["cargo", "test"]), here)
                .unwrap_err()
                .contains("Cargo.toml")
        );
        assert!(needs(&v(&["npm", "run", "test"]), here).is_ok());
        assert!(needs(&v(&["npm", "test"]), here).is_ok());
        assert!(
            needs(&v(&["npm", "run", "build"]), here)
                .unwrap_err()
                .contains("\"build\"")
        );
        assert!(needs(&v(&["make", "test", "V=1"]), here).is_ok());
        assert!(
            needs(&v(&["make", "lint"]), here)
                .unwrap_err()
                .contains("\"lint\"")
        );
        assert!(needs(&v(&["pytest"]), here).is_err());
        assert!(needs(&v(&["./scripts/deploy.sh", "staging"]), here).is_ok());
        assert!(needs(&v(&["./scripts/release.sh"]), here).is_err());
        assert!(needs(&v(&["go", "test", "./..."]), here).is_err());
        assert!(needs(&v(&["ls", "-la"]), here).is_ok());
        assert!(needs(&v(&["cargo", "install", "ripgrep"]), here).is_ok());
        // A script of several commands needs what each needs.
        assert!(needs(&v(&["sh", "-c", "ls && make test"]), here).is_ok());
        assert!(
            needs(&v(&["sh", "-c", "cargo test && ls"]), here)
                .unwrap_err()
                .contains("Cargo.toml")
        );
        assert!(needs(&v(&["sh", "-c", "ls && no-such-program-codex-test"]), here).is_err());
    }
}
