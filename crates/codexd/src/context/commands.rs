//! The commands a project offers, read from its own files: cargo's subcommands for a Rust
//! crate, package.json scripts, make and just targets, pytest or tox, go's tools.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::project::Project;

/// A command the project offers for a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offered {
    /// The task: `test`, `build`, `lint`, `format`, `run`, `clean`.
    pub task: String,
    /// The command.
    pub argv: Vec<String>,
    /// Where it was found, in words (`Cargo.toml`, `package.json script "test"`).
    pub source: String,
    /// The same command as a dry run, when its tool has one (`make -n test`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<Vec<String>>,
}

fn offer(task: &str, argv: &[&str], source: &str) -> Offered {
    Offered {
        task: task.into(),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        source: source.into(),
        dry_run: None,
    }
}

/// The task a script or target name stands for, if any.
pub fn task_of_name(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    let n = n.as_str();
    Some(match n {
        "test" | "tests" | "check" | "spec" | "unit" | "test-all" | "test:unit" => "test",
        "build" | "all" | "compile" | "dist" | "release" => "build",
        "lint" | "clippy" | "vet" | "eslint" | "typecheck" | "type-check" => "lint",
        "fmt" | "format" | "prettier" => "format",
        "start" | "dev" | "serve" | "run" => "run",
        "clean" => "clean",
        _ => return None,
    })
}

/// Every command `project` offers, most specific first.
pub fn offered(project: &Project) -> Vec<Offered> {
    let root = &project.root;
    let mut out = Vec::new();
    if root.join("Cargo.toml").exists() {
        out.push(offer("test", &["cargo", "test"], "Cargo.toml"));
        out.push(offer("build", &["cargo", "build"], "Cargo.toml"));
        out.push(offer("lint", &["cargo", "clippy"], "Cargo.toml"));
        out.push(offer("format", &["cargo", "fmt"], "Cargo.toml"));
        out.push(offer("run", &["cargo", "run"], "Cargo.toml"));
        out.push(offer("clean", &["cargo", "clean"], "Cargo.toml"));
    }
    if let Some(scripts) = package_scripts(root) {
        let pm = if root.join("pnpm-lock.yaml").exists() {
            "pnpm"
        } else if root.join("yarn.lock").exists() {
            "yarn"
        } else {
            "npm"
        };
        for name in scripts {
            if let Some(task) = task_of_name(&name) {
                out.push(offer(
                    task,
                    &[pm, "run", &name],
                    &format!("package.json script \"{name}\""),
                ));
            }
        }
    }
    let python = ["pyproject.toml", "setup.cfg", "setup.py"]
        .iter()
        .any(|m| root.join(m).exists());
    if python {
        if root.join("tox.ini").exists() {
            out.push(offer("test", &["tox"], "tox.ini"));
        }
        out.push(offer("test", &["pytest"], "a Python project"));
        let pyproject = read(root, "pyproject.toml").unwrap_or_default();
        if root.join("uv.lock").exists() {
            out.push(offer("build", &["uv", "build"], "uv.lock"));
        } else if pyproject.contains("[build-system]") || root.join("setup.py").exists() {
            out.push(offer(
                "build",
                &["python3", "-m", "build"],
                "a Python package (needs the `build` package)",
            ));
        }
        // The entry point a Python project is run by, when it has one of the usual ones.
        for (file, argv) in [
            ("manage.py", &["python3", "manage.py", "runserver"][..]),
            ("main.py", &["python3", "main.py"][..]),
            ("app.py", &["python3", "app.py"][..]),
        ] {
            if root.join(file).exists() {
                out.push(offer("run", argv, file));
                break;
            }
        }
        if read(root, "pyproject.toml").is_some_and(|t| t.contains("[tool.ruff")) {
            out.push(offer(
                "lint",
                &["ruff", "check", "."],
                "pyproject.toml [tool.ruff]",
            ));
            out.push(offer(
                "format",
                &["ruff", "format", "."],
                "pyproject.toml [tool.ruff]",
            ));
        }
    }
    if root.join("go.mod").exists() {
        out.push(offer("test", &["go", "test", "./..."], "go.mod"));
        out.push(offer("build", &["go", "build", "./..."], "go.mod"));
        out.push(offer("lint", &["go", "vet", "./..."], "go.mod"));
        out.push(offer("format", &["go", "fmt", "./..."], "go.mod"));
        out.push(offer("clean", &["go", "clean"], "go.mod"));
    }
    for (file, tool) in [
        ("Makefile", "make"),
        ("makefile", "make"),
        ("justfile", "just"),
    ] {
        if let Some(text) = read(root, file) {
            for name in targets(&text) {
                if let Some(task) = task_of_name(&name) {
                    let mut o = offer(task, &[tool, &name], &format!("{file} target \"{name}\""));
                    // Both print the recipe's commands without running them.
                    let flag = if tool == "make" { "-n" } else { "--dry-run" };
                    o.dry_run = Some(vec![tool.into(), flag.into(), name.clone()]);
                    out.push(o);
                }
            }
        }
    }
    out
}

fn read(root: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(root.join(file)).ok()
}

/// The script names of the package.json in `root`, if it has one that parses.
pub(crate) fn package_scripts(root: &Path) -> Option<Vec<String>> {
    let text = read(root, "package.json")?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let scripts = json.get("scripts")?.as_object()?;
    Some(scripts.keys().cloned().collect())
}

/// Target (make) or recipe (just) names: `name:` at the start of a line, not `.PHONY` and not
/// a variable assignment (`X := y`).
pub(crate) fn targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t', '#', '.']) {
            continue;
        }
        let Some((head, rest)) = line.split_once(':') else {
            continue;
        };
        if rest.starts_with('=') {
            continue;
        }
        let name = head.split_whitespace().next().unwrap_or("");
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !out.iter().any(|n: &String| n == name)
        {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)], kind: &str) -> (tempfile::TempDir, Project) {
        let t = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(t.path().join(name), text).unwrap();
        }
        let p = Project {
            root: t.path().to_path_buf(),
            kind: kind.into(),
        };
        (t, p)
    }

    fn tasks(offered: &[Offered], task: &str) -> Vec<String> {
        offered
            .iter()
            .filter(|o| o.task == task)
            .map(|o| o.argv.join(" "))
            .collect()
    }

    #[test]
    fn each_kind_offers_its_own_commands() {
        let (_t, p) = project(&[("Cargo.toml", "[package]\n")], "rust");
        assert_eq!(tasks(&offered(&p), "test"), vec!["cargo test"]);
        let (_t, p) = project(
            &[
                (
                    "package.json",
                    r#"{"scripts":{"test":"jest","lint":"eslint .","build":"tsc","postinstall":"x"}}"#,
                ),
                ("yarn.lock", ""),
            ],
            "node",
        );
        let o = offered(&p);
        assert_eq!(tasks(&o, "test"), vec!["yarn run test"]);
        assert_eq!(tasks(&o, "lint"), vec!["yarn run lint"]);
        assert_eq!(o.len(), 3, "postinstall is no task: {o:?}");
        let (_t, p) = project(
            &[("pyproject.toml", "[tool.ruff]\n"), ("tox.ini", "")],
            "python",
        );
        let o = offered(&p);
        assert_eq!(tasks(&o, "test"), vec!["tox", "pytest"]);
        assert_eq!(tasks(&o, "lint"), vec!["ruff check ."]);
        let (_t, p) = project(&[("go.mod", "module x\n")], "go");
        assert_eq!(tasks(&offered(&p), "lint"), vec!["go vet ./..."]);
        let (_t, p) = project(
            &[(
                "Makefile",
                ".PHONY: test\nCC := gcc\nall: build\nbuild:\n\tcc x.c\ntest: build\n\t./t\ncheck:\n\t./c\n",
            )],
            "make",
        );
        let o = offered(&p);
        assert_eq!(tasks(&o, "test"), vec!["make test", "make check"]);
        assert_eq!(tasks(&o, "build"), vec!["make all", "make build"]);
    }
}
