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
pub const BUILTIN_TOOLS: &str = include_str!("../../../../../config/tools.yaml");

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
    /// One word: no spaces (a branch or remote name).
    Word,
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
    /// Words left out of a `rest` value wherever they are ("switch to the main branch"
    /// gives `main` when `branch` is one).
    #[serde(default)]
    pub skip: Vec<String>,
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
    /// It applies only when the goal says one of these words (empty: always): "create a
    /// branch" and "which branch" share a keyword, not a tool.
    #[serde(default)]
    pub when_words: Vec<String>,
    /// It does not apply when the goal says one of these words.
    #[serde(default)]
    pub unless_words: Vec<String>,
    /// It needs a terminal (it opens an editor or asks): not offered when `codex` is not
    /// on one.
    #[serde(default)]
    pub terminal: bool,
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
            lower(&mut t.when_words);
            lower(&mut t.unless_words);
            for p in t.params.values_mut() {
                lower(&mut p.skip);
            }
        }
        Ok(Registry { tasks, tools })
    }

    /// Every tool, the user's first.
    pub fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }

    /// The category a goal asks for: the first word that is a keyword (user tools, built-in
    /// tools, project tasks, in that order), else the first that is a verb. A goal led by a
    /// verb that asks for a change ("stop the dev server", "remove build artifacts") takes
    /// only a category that verb names: its nouns alone do not decide.
    pub fn category_of(&self, goal: &str) -> Option<GoalMatch> {
        let words = unquoted_words(goal);
        // "why is the build failing?" asks for an answer, not a command.
        if lead_word(&words).is_some_and(|w| QUESTIONS.contains(&w.as_str())) {
            return None;
        }
        let lead = leading_verb(&words);
        // A question is answered by looking: "is my working tree clean?" never cleans.
        let asks = is_question(goal, &words);
        // A category decides only when the goal's leading verb names it and one of its
        // tools takes this goal ("recent commit history" is not a commit).
        let fits = |category: &str| {
            lead.as_deref().is_none_or(|v| self.accepts(category, v))
                && (!asks || self.only_looks(category, goal))
                && (self.is_task(category)
                    || self
                        .tools
                        .iter()
                        .any(|t| t.categories.iter().any(|c| c == category) && t.applies_to(goal)))
        };
        // Keywords before verbs, and a word as written before its other forms ("branches"
        // is a keyword of its own before it is a plural of "branch").
        for (strong, stemmed) in [(true, false), (true, true), (false, false), (false, true)] {
            for (i, w) in words.iter().enumerate() {
                let word = normal_word(w);
                let forms = if stemmed { forms(&word) } else { vec![word] };
                let pick = |kw: &[String], vb: &[String]| {
                    let list = if strong { kw } else { vb };
                    list.iter().any(|k| forms.contains(k))
                };
                let rest = || rest_after(&words[i + 1..]);
                if let Some(t) = self.tools.iter().find(|t| {
                    pick(&t.keywords, &t.verbs) && t.categories.first().is_some_and(|c| fits(c))
                }) {
                    let category = t.categories.first().cloned().unwrap_or_default();
                    return Some(GoalMatch {
                        project_task: self.is_task(&category),
                        category,
                        rest: rest(),
                    });
                }
                if let Some(t) = self
                    .tasks
                    .iter()
                    .find(|t| pick(&t.keywords, &t.verbs) && fits(&t.task))
                {
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

    /// Whether a goal led by the changing verb `verb` may mean `category`: the verb is one of
    /// the words of its task or tools, or one of the task's own ways of saying it.
    fn accepts(&self, category: &str, verb: &str) -> bool {
        let v = verb.to_string();
        let extra: &[&str] = match category {
            "build" => &["make", "create", "rebuild"],
            "format" => &["fix"],
            _ => &[],
        };
        extra.contains(&verb)
            || self
                .tasks
                .iter()
                .any(|t| t.task == category && (t.keywords.contains(&v) || t.verbs.contains(&v)))
            || self.tools.iter().any(|t| {
                t.categories.iter().any(|c| c == category)
                    && (t.keywords.contains(&v)
                        || t.verbs.contains(&v)
                        || t.when_words.contains(&v))
            })
    }

    /// Whether every tool of `category` that takes `goal` only looks (read-only); a project
    /// task never counts.
    fn only_looks(&self, category: &str, goal: &str) -> bool {
        !self.is_task(category)
            && self
                .tools
                .iter()
                .filter(|t| t.categories.iter().any(|c| c == category) && t.applies_to(goal))
                .all(|t| t.class == SafetyClass::ReadOnly)
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

mod check;
mod fill;
mod words;

use check::{check, placeholders};
use words::*;

#[cfg(test)]
mod tests;
