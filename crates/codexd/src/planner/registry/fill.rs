//! A tool for one goal: whether the goal's words allow it, and its command with the
//! parameters filled from the goal and checked.

use std::collections::BTreeMap;
use std::path::Path;

use codex_proto::types::SafetyClass;

use super::words::*;
use super::{Filled, GoalMatch, ParamSource, ParamSpec, ParamType, ToolSpec};

impl ToolSpec {
    /// Whether the goal's words allow this tool (`when_words`, `unless_words`), and, for a
    /// read-only tool, whether the goal asks to look rather than to change something:
    /// "delete the target folder" names a folder, but listing it is not what was meant.
    pub fn applies_to(&self, goal: &str) -> bool {
        let raw = unquoted_words(goal);
        let words: Vec<String> = raw.iter().map(|w| normal_word(w)).collect();
        let says = |list: &[String]| list.iter().any(|w| words.contains(w));
        let changes = leading_verb(&raw).is_some();
        (self.when_words.is_empty() || says(&self.when_words))
            && !says(&self.unless_words)
            && !(changes && self.class == SafetyClass::ReadOnly)
    }

    /// The command for `goal` in `cwd`, or why it cannot be filled (words for the user).
    pub fn fill(&self, goal: &str, m: &GoalMatch, cwd: &Path) -> Result<Filled, String> {
        let mut values: BTreeMap<&str, String> = BTreeMap::new();
        for (name, p) in &self.params {
            let given = p.from.iter().find_map(|src| match src {
                ParamSource::Quoted => quoted(goal),
                ParamSource::Rest => Some(skip_words(&m.rest, &p.skip)).filter(|r| !r.is_empty()),
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

/// `rest` without the words of `skip`, and then without filler words anywhere ("over to
/// the develop branch" is `develop` when `branch` and `over` are skipped).
fn skip_words(rest: &str, skip: &[String]) -> String {
    if skip.is_empty() {
        return rest.to_string();
    }
    rest.split_whitespace()
        .filter(|w| {
            let n = normal_word(w);
            !skip.contains(&n) && !FILLER.contains(&n.as_str())
        })
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['.', '!', '?', ',', ';', ':'])
        .to_string()
}

fn example(kind: ParamType) -> &'static str {
    match kind {
        ParamType::String => "TODO",
        ParamType::Word => "main",
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
        ParamType::Word if value.split_whitespace().count() > 1 => Err(format!(
            "`{tool}`: the {name} \"{value}\" must be one word (put it in quotes, e.g. \"main\")"
        )),
        ParamType::Word => Ok(value),
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
