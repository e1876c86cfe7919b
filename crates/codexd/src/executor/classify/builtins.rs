//! Shell builtins that evaluate, export or move: `eval`, `trap`, `alias`, `cd`, `export`,
//! `declare`, `let`, `[[`, `set -k`, `hash -p`, `enable -f`.

use codex_proto::types::SafetyClass;

use super::Verdict;
use super::args;
use super::paths;
use super::programs::Check;

impl Check<'_, '_> {
    /// Shell builtins that evaluate, export or move: `eval`, `trap`, `alias`, `cd`,
    /// `export`, `declare`, `let`, `[[`, `set -k`, `hash -p`, `enable -f`.
    pub(super) fn builtin(&mut self) -> Option<Verdict> {
        let (p, args) = (self.p, self.args);
        // A literal `$(` (not one the parser ran) or a backtick in an argument: these
        // builtins evaluate subscripts and arithmetic, and would run it.
        let hidden_code = |a: &String| {
            a.contains('`')
                || a.match_indices("$(")
                    .any(|(i, _)| !a[i..].starts_with("$(...)"))
        };
        match p {
            "eval" => Some(self.script(&args.join(" "), "`eval`")),
            "trap" => {
                let action = args
                    .iter()
                    .find(|a| !matches!(a.as_str(), "--" | "-p" | "-l" | "-P"))?;
                Some(self.script(action, "`trap`"))
            }
            "alias" => Some(
                args.iter()
                    .filter_map(|a| a.split_once('=').map(|(_, v)| v.to_string()))
                    .map(|v| self.script(&v, "an alias"))
                    .fold(
                        Verdict::new(SafetyClass::ReadOnly, "`alias` defines nothing dangerous"),
                        Verdict::max,
                    ),
            ),
            "source" | "." => Some(Verdict::new(
                SafetyClass::WritesInProject,
                format!(
                    "`{p}` runs a file as shell commands, assumed to write only in the project"
                ),
            )),
            "cd" | "pushd" | "popd" => {
                let target = args
                    .iter()
                    .filter(|a| !matches!(a.as_str(), "-L" | "-P" | "-e" | "-@" | "--"))
                    .find(|a| !a.starts_with('-') || a.as_str() == "-");
                let spot = self.walk.spot();
                self.fx.cd = Some(match (p, target.map(String::as_str)) {
                    ("popd", _) | (_, Some("-")) => None,
                    ("pushd", None) => None,
                    (_, None) => Some(self.walk.home.clone()),
                    (_, Some(t)) => match paths::resolve(t, spot) {
                        paths::Resolved::At(d) => Some(d),
                        _ => None,
                    },
                });
                Some(Verdict::new(
                    SafetyClass::ReadOnly,
                    format!("`{p}` changes folder"),
                ))
            }
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                let flags: String = args
                    .iter()
                    .filter(|a| a.starts_with('-') || a.starts_with('+'))
                    .flat_map(|a| a.chars().skip(1))
                    .collect();
                if flags.contains('f') && (p == "export" || flags.contains('x')) {
                    return Some(Verdict::destructive(format!(
                        "`{p}` exports a shell function to every program it starts, which cannot be checked"
                    )));
                }
                for a in args.iter().filter(|a| !a.starts_with(['-', '+'])) {
                    let name = a.split('=').next().unwrap_or(a);
                    if a.contains('=')
                        && let Some(v) = self.c.hijacks(name)
                    {
                        return Some(v);
                    }
                }
                if args.iter().any(hidden_code) || (flags.contains('i') && self.walk.hidden) {
                    return Some(Verdict::destructive(format!(
                        "`{p}` evaluates its arguments, and would run a command hidden in them"
                    )));
                }
                None
            }
            "let" | "printf" | "read" | "unset" | "test" | "[" | "[[" => {
                let arithmetic = p == "let"
                    || (p == "[["
                        && args.iter().any(|a| {
                            matches!(a.as_str(), "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge")
                        }));
                if args.iter().any(hidden_code) || (arithmetic && self.walk.hidden) {
                    return Some(Verdict::destructive(format!(
                        "`{p}` evaluates its arguments arithmetically, and would run a command hidden in them"
                    )));
                }
                None
            }
            "set"
                if args
                    .iter()
                    .any(|a| (args::is_cluster(a) && a.contains('k')) || a == "keyword") =>
            {
                Some(Verdict::destructive(
                    "`set -k` turns later arguments like X=v into environment variables, which cannot be checked",
                ))
            }
            "hash" if args.iter().any(|a| args::is_cluster(a) && a.contains('p')) => Some(
                Verdict::destructive("`hash -p` makes a command name run another program"),
            ),
            "enable" if args.iter().any(|a| args::is_cluster(a) && a.contains('f')) => Some(
                Verdict::destructive("`enable -f` loads a builtin from a shared library"),
            ),
            _ => None,
        }
    }
}
