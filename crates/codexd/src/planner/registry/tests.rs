//! The registry's tests: goal words to categories, tools, parameters and checks.

use super::*;

fn builtin() -> Registry {
    Registry::new(&[]).unwrap()
}

#[test]
fn the_builtin_registry_loads_and_maps_goals_to_categories() {
    let r = builtin();
    for (goal, category) in [
        ("run the tests", Some("test")),
        ("Build it!", Some("build")),
        ("lint", Some("lint")),
        ("format the code", Some("format")),
        ("format all files", Some("format")),
        ("start the dev server", Some("run")),
        ("run it", Some("run")),
        ("check it", Some("test")),
        ("check the status", Some("status")),
        ("what changed?", Some("status")),
        ("show the last 5 commits", Some("history")),
        ("show the diff", Some("diff")),
        ("list files", Some("files")),
        ("search for \"test\"", Some("search")),
        ("find 'fn main'", Some("search")),
        ("make coffee", None),
        ("don't panic", None),
    ] {
        assert_eq!(
            r.category_of(goal).map(|m| m.category),
            category.map(String::from),
            "{goal}"
        );
    }
}

#[test]
fn parameters_are_typed_and_filled_from_the_goal() {
    let r = builtin();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    let tool = |n: &str| r.tools().iter().find(|t| t.name == n).unwrap().clone();
    let fill = |n: &str, goal: &str| {
        let m = r.category_of(goal).unwrap();
        tool(n).fill(goal, &m, dir.path())
    };
    let grep = fill("text-search", "search for \"fn main\"").unwrap();
    assert_eq!(
        grep.argv[grep.argv.len() - 4..],
        ["-e", "fn main", "--", "."].map(String::from)
    );
    let grep = fill("text-search", "grep parse_goal").unwrap();
    assert!(grep.argv.contains(&"parse_goal".to_string()));
    let e = fill("text-search", "search").unwrap_err();
    assert!(e.contains("needs a pattern"), "{e}");
    let e = fill("text-search", "search for '-rf /'").unwrap_err();
    assert!(e.contains("would read as an option"), "{e}");
    let log = fill("git-log", "show the last 5 commits").unwrap();
    assert_eq!(log.argv.last().unwrap(), "--max-count=5");
    let log = fill("git-log", "show the commits").unwrap();
    assert_eq!(log.argv.last().unwrap(), "--max-count=10");
    let e = fill("git-log", "show the last 0 commits").unwrap_err();
    assert!(e.contains("outside 1..10000"), "{e}");
    let ls = fill("list-files", "list files in 'src'").unwrap();
    assert_eq!(ls.argv.last().unwrap(), "src");
    let e = fill("list-files", "list files in 'nope'").unwrap_err();
    assert!(e.contains("does not exist"), "{e}");
    for outside in ["/etc", "..", "src/../.."] {
        let e = fill("list-files", &format!("list files in '{outside}'")).unwrap_err();
        assert!(e.contains("outside this folder"), "{outside}: {e}");
    }
    // A value is substituted once: `{path}` inside a pattern stays as typed.
    let grep = fill("text-search", "search for '{path}'").unwrap();
    assert!(grep.argv.contains(&"{path}".to_string()), "{:?}", grep.argv);
}

#[test]
fn tools_apply_where_their_markers_are() {
    let r = builtin();
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    assert_eq!(r.tools_for("status", &sub).count(), 0);
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let names: Vec<&str> = r
        .tools_for("status", &sub)
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["git-status"]);
    assert_eq!(r.tools_for("files", &sub).count(), 1);
}

fn user_tool(yaml: &str) -> Result<Registry, RegistryError> {
    let t: ToolSpec = serde_norway::from_str(yaml).unwrap();
    Registry::new(&[t])
}

#[test]
fn user_tools_come_first_replace_builtins_and_are_checked() {
    let r = user_tool(
        "{name: deploy, categories: [deploy], keywords: [deploy, ship], \
         command: [./deploy.sh, '{env}'], params: {env: {type: string, from: [rest]}}, \
         class: network, dry_run: [./deploy.sh, --dry-run, '{env}']}",
    )
    .unwrap();
    let m = r.category_of("ship it to staging").unwrap();
    assert_eq!(m.category, "deploy");
    let t = r.tools_for("deploy", Path::new("/")).next().unwrap();
    let f = t
        .fill(
            "deploy staging",
            &r.category_of("deploy staging").unwrap(),
            Path::new("/"),
        )
        .unwrap();
    assert_eq!(f.argv, ["./deploy.sh", "staging"]);
    assert_eq!(f.dry_run.unwrap(), ["./deploy.sh", "--dry-run", "staging"]);
    // The same name replaces the built-in.
    let r = user_tool(
        "{name: git-status, categories: [status], keywords: [status], \
         command: [git, status], class: read_only}",
    )
    .unwrap();
    let t: Vec<_> = r
        .tools()
        .iter()
        .filter(|t| t.name == "git-status")
        .collect();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].command, ["git", "status"]);
    for (yaml, why) in [
        (
            "{name: x, categories: [x], command: ['{p}'], params: {p: {type: string, from: [rest]}}, class: read_only}",
            "must be written out",
        ),
        (
            "{name: x, categories: [x], command: [echo, '{p}'], class: read_only}",
            "not declared",
        ),
        (
            "{name: x, categories: [x], command: [echo], params: {p: {type: string, from: [rest]}}, class: read_only}",
            "does not use it",
        ),
        (
            "{name: x, categories: [], command: [echo], class: read_only}",
            "category",
        ),
        (
            "{name: x, categories: [x], command: [echo, '{n}'], params: {n: {type: int}}, class: read_only}",
            "neither a source",
        ),
        (
            "{name: x, categories: [x], command: [echo], dry_run: [rm], class: read_only}",
            "same program",
        ),
        (
            "{name: x, categories: [x], command: [sh, -c, 'echo {p}'], params: {p: {type: string, from: [rest]}}, class: read_only}",
            "as code",
        ),
        (
            "{name: x, categories: [x], command: [env, '{p}'], params: {p: {type: string, from: [rest]}}, class: read_only}",
            "as code",
        ),
        (
            "{name: x, categories: [x], command: [/usr/bin/xargs, rm, '{p}'], params: {p: {type: string, from: [rest]}}, class: read_only}",
            "as code",
        ),
        (
            "{name: x, categories: [x], command: [python3.12, -c, '{p}'], params: {p: {type: string, from: [rest]}}, class: read_only}",
            "as code",
        ),
        (
            "{name: x, categories: [x], command: [find, ., -exec, '{p}', ';'], params: {p: {type: string, from: [rest]}}, class: read_only}",
            "as code",
        ),
    ] {
        let e = user_tool(yaml).unwrap_err().to_string();
        assert!(e.contains(why), "{yaml}: {e}");
    }
    // `{}` stays literal (find -exec).
    assert!(user_tool("{name: x, categories: [x], command: [find, ., -exec, echo, '{}', ';'], class: read_only}").is_ok());
}

#[test]
fn a_changing_verb_never_takes_a_category_its_nouns_name() {
    let r = builtin();
    for (goal, category) in [
        ("stop the dev server", None),
        ("kill the server", None),
        ("shut down the running server", None),
        ("delete the target folder", None),
        ("remove build artifacts", None),
        ("fix the tests", None),
        ("why is the build failing?", None),
        // A question is answered by looking, never by a task that changes something.
        ("is the build clean?", None),
        ("what changed?", Some("status")),
        ("which branch am I on", Some("branch")),
        ("can you run the tests?", Some("test")),
        // Its own verbs still name it.
        ("clean the build", Some("clean")),
        ("make the build", Some("build")),
        ("create a branch called x", Some("branch")),
        ("install the dependencies", Some("dependencies")),
        ("update the deps", Some("dependencies")),
        // Forms, two-word verbs and hyphens.
        ("bring back my stashed changes", Some("stash")),
        ("check out the develop branch", Some("switch")),
        ("fire up the app", Some("run")),
        ("auto-format everything", Some("format")),
        ("list branches", Some("branches")),
        ("recent commit history", Some("history")),
    ] {
        assert_eq!(
            r.category_of(goal).map(|m| m.category).as_deref(),
            category,
            "{goal}"
        );
    }
}

#[test]
fn tools_take_only_the_goals_their_words_allow_and_fill_one_word_names() {
    let r = builtin();
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join(".git")).unwrap();
    let first = |goal: &str| {
        let m = r.category_of(goal).unwrap();
        r.tools_for(&m.category, t.path())
            .filter(|tool| tool.applies_to(goal))
            .find_map(|tool| tool.fill(goal, &m, t.path()).ok())
            .map(|f| f.argv.join(" "))
    };
    assert_eq!(
        first("create a new branch called feature-x").as_deref(),
        Some("git switch --create feature-x")
    );
    assert_eq!(
        first("which branch am I on").as_deref(),
        Some("git branch --show-current")
    );
    assert_eq!(
        first("switch over to the develop branch").as_deref(),
        Some("git switch develop")
    );
    assert_eq!(first("pop the stash").as_deref(), Some("git stash pop"));
    assert_eq!(first("stash my work").as_deref(), Some("git stash push"));
    assert_eq!(
        first("commit all of it \"wip\"").as_deref(),
        Some("git commit --all -m wip")
    );
    // A branch name is one word.
    let m = r
        .category_of("switch to the main branch please now")
        .unwrap();
    let why = r
        .tools_for(&m.category, t.path())
        .find_map(|tool| {
            tool.fill("switch to the main branch please now", &m, t.path())
                .err()
        })
        .unwrap();
    assert!(why.contains("must be one word"), "{why}");
    // The editor needs a terminal: the tool says so.
    assert!(
        r.tools()
            .iter()
            .any(|t| t.name == "git-commit" && t.terminal)
    );
}
