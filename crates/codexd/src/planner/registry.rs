//! The tool registry: which words name which task, and the tools beyond a project's own
//! commands (git read commands, file listing, text search, and the user's own), each with a
//! command template whose typed parameters are filled from the goal.
//!
//! Built in from `config/tools.yaml`; the user's `planner.tools` come first and replace a
//! built-in tool of the same name. Parameters only ever fill whole arguments or parts of one:
//! goal text never reaches a shell, and the program is never a parameter.

use std::collections::BTreeMap;
use std::path::Path;

use codex_proto::types::SafetyClass;
use serde::{Deserialize, Serialize};

/// The built-in registry, verbatim.
pub const BUILTIN_TOOLS: &str = include_str!("../../../../config/tools.yaml");

/// Why a registry cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("tool `{tool}`: {message}")]
pub struct RegistryError {
    /// The tool's name (or `built-in` for the compiled-in file).
    pub tool: String,
    /// What is wrong.
    pub message: String,
}

/// The words of one project task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskWords {
    /// The task (`test`, `build`, ...).
    pub task: String,
    /// Words that name it.
    pub keywords: Vec<String>,
    /// Words that name it only when nothing else does.
    #[serde(default)]
    pub verbs: Vec<String>,
}

/// A parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// Any text (not starting with `-`).
    String,
    /// A path that exists, relative to the working directory.
    Path,
    /// A whole number within `min..=max`.
    Int,
}

/// Where in the goal a parameter's value is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamSource {
    /// The first text in quotes ("...", '...' or `...`).
    Quoted,
    /// The words after the keyword that chose the tool, minus leading filler words.
    Rest,
    /// The first whole number.
    Number,
}

/// One typed parameter of a command template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// Where the goal gives it, tried in order.
    #[serde(default)]
    pub from: Vec<ParamSource>,
    /// Its value when the goal does not give one; without a default it is required.
    #[serde(default)]
    pub default: Option<String>,
    /// Smallest accepted int.
    #[serde(default)]
    pub min: Option<i64>,
    /// Largest accepted int.
    #[serde(default)]
    pub max: Option<i64>,
}

/// One tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    /// Unique name.
    pub name: String,
    /// One line.
    #[serde(default)]
    pub description: String,
    /// Task categories it serves.
    pub categories: Vec<String>,
    /// Words that name its category.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Words that name its category only when nothing else does.
    #[serde(default)]
    pub verbs: Vec<String>,
    /// The argument vector, with `{param}` placeholders.
    pub command: Vec<String>,
    /// Its typed parameters.
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    /// Its safety class (the executor applies the stricter of this and its own).
    pub class: SafetyClass,
    /// One of these must exist in the folder or a parent (empty: applies everywhere).
    #[serde(default)]
    pub markers: Vec<String>,
    /// The same command as a dry run.
    #[serde(default)]
    pub dry_run: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    tasks: Vec<TaskWords>,
    tools: Vec<ToolSpec>,
}

/// Where a goal's category came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalMatch {
    /// The category.
    pub category: String,
    /// Whether it is a project task (the project's own commands serve it).
    pub project_task: bool,
    /// The goal's words after the one that matched (for `rest` parameters).
    pub rest: String,
}

/// A tool's command with its parameters filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    /// The command.
    pub argv: Vec<String>,
    /// Its dry run, when the tool has one.
    pub dry_run: Option<Vec<String>>,
    /// The parameter values used, for the rationale.
    pub values: Vec<(String, String)>,
}

/// Tasks and tools, validated.
#[derive(Debug, Clone)]
pub struct Registry {
    tasks: Vec<TaskWords>,
    /// User tools first, then built-ins not replaced by one.
    tools: Vec<ToolSpec>,
}

/// Words skipped at the start of a `rest` value.
const FILLER: &[&str] = &[
    "for", "the", "a", "an", "of", "in", "on", "to", "all", "me", "about", "with", "where",
];

impl Registry {
    /// The built-in registry with the user's tools in front.
    pub fn new(user: &[ToolSpec]) -> Result<Registry, RegistryError> {
        let file: RegistryFile =
            serde_norway::from_str(BUILTIN_TOOLS).map_err(|e| RegistryError {
                tool: "built-in".into(),
                message: e.to_string(),
            })?;
        let mut seen = std::collections::HashSet::new();
        for t in user {
            check(t)?;
            if !seen.insert(t.name.clone()) {
                return Err(RegistryError {
                    tool: t.name.clone(),
                    message: "named twice".into(),
                });
            }
        }
        let mut tools: Vec<ToolSpec> = user.to_vec();
        for t in file.tools {
            check(&t)?;
            if !seen.contains(&t.name) {
                tools.push(t);
            }
        }
        let lower = |v: &mut Vec<String>| v.iter_mut().for_each(|w| *w = w.to_lowercase());
        let mut tasks = file.tasks;
        for t in &mut tasks {
            lower(&mut t.keywords);
            lower(&mut t.verbs);
        }
        for t in &mut tools {
            lower(&mut t.keywords);
            lower(&mut t.verbs);
        }
        Ok(Registry { tasks, tools })
    }

    /// Every tool, the user's first.
    pub fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }

    /// The category a goal asks for: the first word that is a keyword (user tools, built-in
    /// tools, project tasks, in that order), else the first that is a verb.
    pub fn category_of(&self, goal: &str) -> Option<GoalMatch> {
        let words = unquoted_words(goal);
        for strong in [true, false] {
            for (i, w) in words.iter().enumerate() {
                let key = normal_word(w);
                let pick = |kw: &[String], vb: &[String]| {
                    if strong {
                        kw.contains(&key)
                    } else {
                        vb.contains(&key)
                    }
                };
                let rest = || rest_after(&words[i + 1..]);
                if let Some(t) = self.tools.iter().find(|t| pick(&t.keywords, &t.verbs)) {
                    let category = t.categories.first().cloned().unwrap_or_default();
                    return Some(GoalMatch {
                        project_task: self.is_task(&category),
                        category,
                        rest: rest(),
                    });
                }
                if let Some(t) = self.tasks.iter().find(|t| pick(&t.keywords, &t.verbs)) {
                    return Some(GoalMatch {
                        category: t.task.clone(),
                        project_task: true,
                        rest: rest(),
                    });
                }
            }
        }
        None
    }

    /// The categories of the tools that apply in `cwd`, each with the first word that names
    /// it (`status (git status)`), in registry order: what the unknown-goal answer lists.
    pub fn categories_here(&self, cwd: &Path) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for t in &self.tools {
            for c in &t.categories {
                if self.is_task(c) || !seen.insert(c.clone()) {
                    continue;
                }
                if self.tools_for(c, cwd).next().is_some() {
                    out.push(c.clone());
                }
            }
        }
        out
    }

    /// Whether `category` is one of the project tasks.
    pub fn is_task(&self, category: &str) -> bool {
        self.tasks.iter().any(|t| t.task == category)
    }

    /// The tools serving `category` that apply in `cwd` (a marker in it or a parent).
    pub fn tools_for<'a>(
        &'a self,
        category: &'a str,
        cwd: &'a Path,
    ) -> impl Iterator<Item = &'a ToolSpec> + 'a {
        self.tools
            .iter()
            .filter(move |t| t.categories.iter().any(|c| c == category))
            .filter(move |t| {
                t.markers.is_empty()
                    || cwd
                        .ancestors()
                        .any(|d| t.markers.iter().any(|m| d.join(m).exists()))
            })
    }
}

/// The strictest class the user's `tools` declare for a command made from one of their
/// templates (or dry runs), and the tool's name: the executor applies it however the command
/// arrives (a plan, a correction, a playbook, `codex run -- CMD`).
pub fn declared_class(tools: &[ToolSpec], argv: &[String]) -> Option<(SafetyClass, String)> {
    tools
        .iter()
        .filter(|t| {
            std::iter::once(&t.command)
                .chain(t.dry_run.as_ref())
                .any(|template| made_from(template, argv))
        })
        .map(|t| (t.class, t.name.clone()))
        .max_by_key(|(class, _)| *class)
}

/// Whether `argv` could be `template` with its placeholders filled.
fn made_from(template: &[String], argv: &[String]) -> bool {
    template.len() == argv.len()
        && template.iter().zip(argv).enumerate().all(|(i, (t, a))| {
            if i == 0 {
                return t == a || crate::episode::program_name(argv) == *t;
            }
            // Literal pieces around the placeholders must be there, in order.
            let mut pieces = Vec::new();
            let mut rest = t.as_str();
            for p in placeholders(t) {
                let mark = format!("{{{p}}}");
                if let Some((before, after)) = rest.split_once(&mark) {
                    pieces.push(before);
                    rest = after;
                }
            }
            pieces.push(rest);
            if pieces.len() == 1 {
                return t == a;
            }
            let mut left = a.as_str();
            for (k, piece) in pieces.iter().enumerate() {
                let found = if k == 0 {
                    left.strip_prefix(piece)
                } else if k == pieces.len() - 1 {
                    left.ends_with(piece).then_some("")
                } else {
                    left.find(piece).map(|at| &left[at + piece.len()..])
                };
                match found {
                    Some(l) => left = l,
                    None => return false,
                }
            }
            true
        })
}

/// Shells, interpreters and programs that run another command or code given as an argument.
const RUNS_CODE: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "mksh",
    "fish",
    "csh",
    "tcsh",
    "pwsh",
    "powershell",
    "env",
    "xargs",
    "exec",
    "eval",
    "sudo",
    "doas",
    "su",
    "runuser",
    "nohup",
    "nice",
    "ionice",
    "timeout",
    "watch",
    "time",
    "chroot",
    "unshare",
    "nsenter",
    "setsid",
    "systemd-run",
    "flatpak-spawn",
    "ssh",
    "python",
    "perl",
    "ruby",
    "node",
    "bun",
    "deno",
    "npx",
    "pnpx",
    "php",
    "lua",
    "luajit",
    "awk",
    "gawk",
    "mawk",
    "tclsh",
    "osascript",
    "parallel",
];

/// Checks a tool's own consistency.
fn check(t: &ToolSpec) -> Result<(), RegistryError> {
    let err = |message: String| RegistryError {
        tool: t.name.clone(),
        message,
    };
    if t.name.trim().is_empty() {
        return Err(err("the name is empty".into()));
    }
    if t.categories.is_empty() || t.categories.iter().any(|c| c.trim().is_empty()) {
        return Err(err("needs at least one category, none empty".into()));
    }
    let Some(program) = t.command.first() else {
        return Err(err("the command is empty".into()));
    };
    if program.is_empty() || !placeholders(program).is_empty() {
        return Err(err(
            "the program (first word of the command) must be written out, not a parameter".into(),
        ));
    }
    // Programs that would read a parameter as code or as a program to run: goal text must
    // never reach a shell or choose what runs.
    // A best-effort list (by name, versions included: python3.12): a tool that needs a
    // parameter in such a program should call a script of its own that takes it as an argument.
    let name = crate::episode::program_name(&t.command);
    let runs_code = RUNS_CODE.iter().any(|p| {
        name == *p
            || name
                .strip_prefix(p)
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
    }) || (name == "find"
        && t.command
            .iter()
            .any(|a| matches!(a.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir")));
    if runs_code && !t.params.is_empty() {
        return Err(err(format!(
            "`{program}` would read a parameter as code or as the command to run: give the \
             tool a script of its own to call instead"
        )));
    }
    let mut used = std::collections::BTreeSet::new();
    for template in [Some(&t.command), t.dry_run.as_ref()].into_iter().flatten() {
        for arg in template {
            for p in placeholders(arg) {
                if !t.params.contains_key(&p) {
                    return Err(err(format!(
                        "`{{{p}}}` in the command is not declared under params"
                    )));
                }
                used.insert(p);
            }
        }
    }
    if let Some(d) = &t.dry_run
        && d.first() != Some(program)
    {
        return Err(err(
            "dry_run must run the same program as the command".into()
        ));
    }
    for (name, p) in &t.params {
        if !used.contains(name) {
            return Err(err(format!(
                "parameter `{name}` is declared but the command does not use it"
            )));
        }
        if let (Some(lo), Some(hi)) = (p.min, p.max)
            && lo > hi
        {
            return Err(err(format!("parameter `{name}`: min is above max")));
        }
        if (p.min.is_some() || p.max.is_some()) && p.kind != ParamType::Int {
            return Err(err(format!(
                "parameter `{name}`: min and max are for int parameters"
            )));
        }
        if p.from.is_empty() && p.default.is_none() {
            return Err(err(format!(
                "parameter `{name}` has neither a source (from) nor a default"
            )));
        }
    }
    Ok(())
}

/// The `{name}` placeholders in one argument (`{}` and other braces are literal).
fn placeholders(arg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                if is_param_name(name) {
                    out.push(name.to_string());
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

fn is_param_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase() || f == '_')
        && c.all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '_')
}

/// The goal's words, with quoted text left out.
fn unquoted_words(goal: &str) -> Vec<String> {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for ch in goal.chars() {
        match quote {
            Some(q) if ch == q => {
                quote = None;
                out.push(' ');
            }
            Some(_) => {}
            None if matches!(ch, '"' | '\'' | '`') && opens_quote(&out) => quote = Some(ch),
            None => out.push(ch),
        }
    }
    out.split_whitespace().map(String::from).collect()
}

/// A quote opens at the start of a word (so "don't" is not a quote).
fn opens_quote(before: &str) -> bool {
    before.chars().last().is_none_or(char::is_whitespace)
}

fn normal_word(w: &str) -> String {
    w.trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

fn rest_after(words: &[String]) -> String {
    let start = words
        .iter()
        .position(|w| !FILLER.contains(&normal_word(w).as_str()))
        .unwrap_or(words.len());
    words[start..]
        .join(" ")
        .trim_end_matches(['.', '!', '?', ',', ';', ':'])
        .to_string()
}

/// The first quoted text in the goal.
fn quoted(goal: &str) -> Option<String> {
    let mut prev: Option<char> = None;
    for (i, ch) in goal.char_indices() {
        if matches!(ch, '"' | '\'' | '`') && prev.is_none_or(char::is_whitespace) {
            let body = &goal[i + ch.len_utf8()..];
            if let Some(end) = body.find(ch) {
                return Some(body[..end].to_string());
            }
        }
        prev = Some(ch);
    }
    None
}

fn first_number(goal: &str) -> Option<String> {
    unquoted_words(goal)
        .iter()
        .map(|w| normal_word(w))
        .find(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()))
}

impl ToolSpec {
    /// The command for `goal` in `cwd`, or why it cannot be filled (words for the user).
    pub fn fill(&self, goal: &str, m: &GoalMatch, cwd: &Path) -> Result<Filled, String> {
        let mut values: BTreeMap<&str, String> = BTreeMap::new();
        for (name, p) in &self.params {
            let given = p.from.iter().find_map(|src| match src {
                ParamSource::Quoted => quoted(goal),
                ParamSource::Rest => Some(m.rest.clone()).filter(|r| !r.is_empty()),
                ParamSource::Number => first_number(goal),
            });
            let Some(value) = given.or_else(|| p.default.clone()) else {
                let how = if p.from.contains(&ParamSource::Quoted) {
                    format!(" (put it in quotes, e.g. \"{}\")", example(p.kind))
                } else {
                    String::new()
                };
                return Err(format!("`{}` needs a {name}{how}", self.name));
            };
            values.insert(name, check_value(&self.name, name, p, value, cwd)?);
        }
        // One pass over each argument: a value holding `{other}` stays as it is.
        let fill = |template: &[String]| -> Vec<String> {
            template
                .iter()
                .map(|arg| {
                    let mut out = String::new();
                    let mut rest = arg.as_str();
                    while let Some(open) = rest.find('{') {
                        let after = &rest[open + 1..];
                        let value = after
                            .find('}')
                            .and_then(|close| values.get(&after[..close]).map(|v| (close, v)));
                        out.push_str(&rest[..open]);
                        match value {
                            Some((close, v)) => {
                                out.push_str(v);
                                rest = &after[close + 1..];
                            }
                            None => {
                                out.push('{');
                                rest = after;
                            }
                        }
                    }
                    out.push_str(rest);
                    out
                })
                .collect()
        };
        Ok(Filled {
            argv: fill(&self.command),
            dry_run: self.dry_run.as_deref().map(fill),
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        })
    }
}

fn example(kind: ParamType) -> &'static str {
    match kind {
        ParamType::String => "TODO",
        ParamType::Path => "src",
        ParamType::Int => "5",
    }
}

fn check_value(
    tool: &str,
    name: &str,
    p: &ParamSpec,
    value: String,
    cwd: &Path,
) -> Result<String, String> {
    if value.is_empty() {
        return Err(format!("`{tool}`: the {name} is empty"));
    }
    if value.starts_with('-') {
        return Err(format!(
            "`{tool}`: the {name} \"{value}\" starts with `-` and would read as an option"
        ));
    }
    match p.kind {
        ParamType::String => Ok(value),
        ParamType::Path => {
            let inside = std::fs::canonicalize(cwd.join(&value))
                .ok()
                .zip(std::fs::canonicalize(cwd).ok())
                .map(|(p, here)| p.starts_with(here));
            match inside {
                None => Err(format!(
                    "`{tool}`: the {name} \"{value}\" does not exist here"
                )),
                Some(false) => Err(format!(
                    "`{tool}`: the {name} \"{value}\" is outside this folder (paths are \
                     relative to where you are, and stay below it)"
                )),
                Some(true) => Ok(value),
            }
        }
        ParamType::Int => {
            let n: i64 = value
                .parse()
                .map_err(|_| format!("`{tool}`: the {name} \"{value}\" is not a whole number"))?;
            if p.min.is_some_and(|lo| n < lo) || p.max.is_some_and(|hi| n > hi) {
                return Err(format!(
                    "`{tool}`: the {name} {n} is outside {}..{}",
                    p.min.map_or(String::new(), |v| v.to_string()),
                    p.max.map_or(String::new(), |v| v.to_string())
                ));
            }
            Ok(n.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
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
}
