//! Plain-word goals against four kinds of project: the plan a user means (or none), per kind,
//! as a table, through the real `codex plan`. Each cell is right (the first plan is the one
//! meant, or no plan where none is meant), wrong (a plan that is not what was meant) or
//! unknown (no plan where one was meant: a miss, never harmful). docs/benchmarks.md quotes
//! the figures: `cargo test -p codex-e2e --test goals -- --nocapture`.
//!
//! The development tables are asserted to have no wrong cell that changes anything (a wrong
//! plan that only looks, such as `git status` for "show my edits line by line", is counted but
//! allowed): the first was written with the planner's words in view; the second and third
//! were each written apart from the planner as a held-out set, measured once, then used to
//! fix what they found. The held-out table was written apart from the planner and from all
//! three, after those fixes, and is only reported: nothing was tuned on it.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};

use codex_e2e::Home;

/// No plan.
const NONE: &str = "-";
/// The same command in every kind of project.
const GIT_STATUS: &str = "git status --short --branch";

/// (goal, [rust, node, python, make]): the first plan meant, or `NONE`.
type Row = (&'static str, [&'static str; 4]);

fn all(cmd: &'static str) -> [&'static str; 4] {
    [cmd; 4]
}

const TESTS: [&str; 4] = ["cargo test", "npm run test", "pytest", "make test"];
const BUILD: [&str; 4] = [
    "cargo build",
    "npm run build",
    "python3 -m build",
    "make build",
];
const LINT: [&str; 4] = ["cargo clippy", "npm run lint", "ruff check .", "make lint"];
const FORMAT: [&str; 4] = ["cargo fmt", "npm run format", "ruff format .", NONE];
const CLEAN: [&str; 4] = ["cargo clean", "npm run clean", NONE, "make clean"];
const START: [&str; 4] = ["cargo run", "npm run dev", "python3 main.py", "make run"];
const SEARCH: &str = "grep -rnI --exclude-dir=.git --exclude-dir=target \
                      --exclude-dir=node_modules -e TODO -- .";

fn development() -> Vec<Row> {
    vec![
        ("run the tests", TESTS),
        ("test it", TESTS),
        ("run all the tests", TESTS),
        ("execute the test suite", TESTS),
        ("tests", TESTS),
        ("build it", BUILD),
        ("compile the project", BUILD),
        ("lint the code", LINT),
        ("check for warnings", LINT),
        ("format the code", FORMAT),
        ("format", FORMAT),
        ("clean the build", CLEAN),
        ("start the app", START),
        ("start the dev server", START),
        ("what changed?", all(GIT_STATUS)),
        ("what changed? $(touch x)", all(GIT_STATUS)),
        ("show my uncommitted changes", all(GIT_STATUS)),
        ("show the diff", all("git diff")),
        (
            "show the last 5 commits",
            all("git log --oneline --decorate --max-count=5"),
        ),
        (
            "show me the git log",
            all("git log --oneline --decorate --max-count=10"),
        ),
        ("list the files", all("ls -la -- .")),
        ("search for \"TODO\"", all(SEARCH)),
        (
            "commit my changes with \"fix typo\"",
            all("git commit -m 'fix typo'"),
        ),
        ("commit all changes \"wip\"", all("git commit --all -m wip")),
        // No terminal here, and no message given: the editor cannot open.
        ("commit my changes", all(NONE)),
        ("which branch am I on", all("git branch --show-current")),
        ("list branches", all("git branch --list")),
        (
            "create a branch called feature-x",
            all("git switch --create feature-x"),
        ),
        ("switch to main", all("git switch main")),
        ("push my commits", all("git push")),
        ("pull the latest changes", all("git pull")),
        ("stash my changes", all("git stash push")),
        ("pop the stash", all("git stash pop")),
        (
            "install the dependencies",
            ["cargo fetch", "npm ci", "pip install --editable .", NONE],
        ),
        (
            "update the dependencies",
            ["cargo update", "npm update", NONE, NONE],
        ),
        ("stop the dev server", all(NONE)),
        ("kill the server", all(NONE)),
        ("don't build anything", all(NONE)),
        ("delete the target folder", all(NONE)),
        ("deploy", all(NONE)),
        ("deploy to production", all(NONE)),
        ("remove build artifacts", CLEAN),
        ("fix the failing tests", all(NONE)),
        ("how many lines of code are there", all(NONE)),
    ]
}

/// The second development table (see the file's doc comment).
fn second() -> Vec<Row> {
    include!("data/goals_second.rs")
}

/// The third development table (see the file's doc comment).
fn third() -> Vec<Row> {
    include!("data/goals_third.rs")
}

/// Written apart from the planner (see the file's doc comment); never tuned on.
fn held_out() -> Vec<Row> {
    include!("data/goals_held_out.rs")
}

/// The four projects, each a git repository.
fn projects(h: &Home) -> [PathBuf; 4] {
    let git = (".git/HEAD", "ref: refs/heads/main\n");
    [
        h.project(
            "rs",
            &[
                git,
                (
                    "Cargo.toml",
                    "[package]\nname = \"x\"\nversion = \"0.1.0\"\n",
                ),
                ("Cargo.lock", ""),
                ("src/main.rs", "fn main() {}\n"),
            ],
        ),
        h.project(
            "js",
            &[
                git,
                (
                    "package.json",
                    r#"{"name":"x","scripts":{"test":"jest","build":"tsc","lint":"eslint .",
                       "format":"prettier -w .","dev":"vite","clean":"rm -rf dist"}}"#,
                ),
                ("package-lock.json", "{}"),
            ],
        ),
        h.project(
            "py",
            &[
                git,
                (
                    "pyproject.toml",
                    "[build-system]\nrequires = [\"hatchling\"]\n[project]\nname = \"x\"\n\
                     [tool.ruff]\nline-length = 100\n",
                ),
                ("main.py", "print('hi')\n"),
            ],
        ),
        h.project(
            "mk",
            &[
                git,
                (
                    "Makefile",
                    "test:\n\t@echo t\nbuild:\n\t@echo b\nlint:\n\t@echo l\nclean:\n\t@echo c\n\
                     run:\n\t@echo r\n",
                ),
            ],
        ),
    ]
}

/// Right, wrong and unknown cells, and the wrong and unknown ones in words.
#[derive(Default)]
struct Score {
    right: u32,
    wrong: Vec<String>,
    /// Wrong plans that change something (a step not declared read-only).
    wrong_changing: Vec<String>,
    unknown: Vec<String>,
}

fn score(h: &Home, dirs: &[PathBuf; 4], rows: &[Row]) -> Score {
    const KINDS: [&str; 4] = ["rust", "node", "python", "make"];
    let mut s = Score::default();
    for (goal, expected) in rows {
        for ((dir, want), kind) in dirs.iter().zip(expected).zip(KINDS) {
            let (got, looks) = first_plan(h, dir, goal);
            let cell = format!("{kind}: \"{goal}\" meant `{want}`, planned `{got}`");
            // Compared as words: quoting is display (`'--max-count=5'` is `--max-count=5`).
            if shlex::split(&got) == shlex::split(want) {
                s.right += 1;
            } else if got == NONE {
                s.unknown.push(cell);
            } else {
                if !looks {
                    s.wrong_changing.push(cell.clone());
                }
                s.wrong.push(cell);
            }
        }
    }
    s
}

/// The first plan's command (or `NONE`), and whether every step of it only looks.
fn first_plan(h: &Home, dir: &Path, goal: &str) -> (String, bool) {
    let p = h.plan(dir, goal);
    let first = &p["plans"][0];
    let looks = first["steps"]
        .as_array()
        .is_some_and(|steps| steps.iter().all(|s| s["class"] == "read_only"));
    (first["command"].as_str().unwrap_or(NONE).to_string(), looks)
}

fn report(name: &str, rows: &[Row], s: &Score) {
    let cells = rows.len() * 4;
    eprintln!(
        "{name}: {} goals x 4 project kinds = {cells} cells: right {}, wrong {} ({} that \
         change something), unknown {}",
        rows.len(),
        s.right,
        s.wrong.len(),
        s.wrong_changing.len(),
        s.unknown.len()
    );
    for w in &s.wrong {
        eprintln!("  WRONG   {w}");
    }
    for u in &s.unknown {
        eprintln!("  unknown {u}");
    }
}

#[test]
fn plain_word_goals_plan_what_was_meant_in_each_kind_of_project() {
    // Plans are offered only for installed programs: stand-ins for the ones a machine may lack.
    let h = Home::new().with_programs(&["pytest", "ruff", "pip", "cargo-clippy", "cargo-fmt"]);
    let _d = h.start();
    let dirs = projects(&h);
    let dev = development();
    assert!(dev.len() >= 40, "the table needs 40 goals or more");
    for (name, rows) in [
        ("development table", dev),
        ("second development table", second()),
        ("third development table", third()),
    ] {
        let s = score(&h, &dirs, &rows);
        report(name, &rows, &s);
        assert!(
            s.wrong_changing.is_empty(),
            "{name}: wrong plans that change something: {:#?}",
            s.wrong_changing
        );
    }
    let held = held_out();
    assert!(
        held.len() >= 40,
        "the held-out table needs 40 goals or more"
    );
    let t = score(&h, &dirs, &held);
    report("held-out table", &held, &t);
}
