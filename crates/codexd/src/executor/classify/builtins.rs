//! Shell builtins that evaluate, export or move: `eval`, `trap`, `alias`, `cd`, `export`,
//! `declare`, `let`, `[[`, `set -k`, `hash -p`, `enable`, and the ones that run a command
//! string later: `mapfile -C`, `compgen -C`/`-W`, `bind -x`, `fc`, `shopt`.

use codex_proto::types::SafetyClass;

use super::Verdict;
use super::args::{self, Values};
use super::paths::{self, Effect};
use super::programs::Check;

/// `shopt` options that change only globbing, matching or history bookkeeping. Any other
/// (`cdable_vars` makes `cd NAME` go where a variable says, `extdebug` lets a trap skip
/// commands, `expand_aliases`, `sourcepath`, ...) changes what later commands do in ways the
/// check cannot follow.
const HARMLESS_SHOPT: &[&str] = &[
    "globstar",
    "nullglob",
    "extglob",
    "dotglob",
    "nocaseglob",
    "failglob",
    "nocasematch",
    "globasciiranges",
    "lastpipe",
    "inherit_errexit",
    "checkwinsize",
    "histappend",
    "cmdhist",
    "lithist",
];

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
            "let" | "printf" | "read" | "unset" | "test" | "[" | "[[" | "getopts" | "wait" => {
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
            _ => self.deferred(hidden_code),
        }
    }

    /// Builtins that keep a command string (or a setting) for later: the string is checked
    /// as the script it becomes; what cannot be followed counts as destructive.
    fn deferred(&mut self, hidden_code: impl Fn(&String) -> bool) -> Option<Verdict> {
        let (p, args) = (self.p, self.args);
        let callbacks = |letter: char| Values::value_of(args, &[letter], &[]);
        match p {
            "mapfile" | "readarray" | "compgen" | "complete" => {
                if args.iter().any(&hidden_code) {
                    return Some(Verdict::destructive(format!(
                        "`{p}` expands its arguments again, and would run a command hidden in them"
                    )));
                }
                let letter = if matches!(p, "mapfile" | "readarray") {
                    'C'
                } else {
                    if callbacks('W')
                        .iter()
                        .any(|w| w.contains('`') || w.contains("$("))
                    {
                        return Some(Verdict::destructive(format!(
                            "`{p} -W` expands its word list, and would run a command in it"
                        )));
                    }
                    'C'
                };
                let what = format!("the command `{p} -{letter}` runs");
                Some(
                    callbacks(letter)
                        .into_iter()
                        .map(|cb| self.script(cb, &what))
                        .fold(
                            Verdict::new(
                                SafetyClass::ReadOnly,
                                format!("`{p}` only sets shell variables"),
                            ),
                            Verdict::max,
                        ),
                )
            }
            "bind" if args.iter().any(|a| args::is_cluster(a) && a.contains('x')) => Some(
                Verdict::destructive("`bind -x` ties a key to a shell command"),
            ),
            "fc" => Some(
                if args.iter().any(|a| args::is_cluster(a) && a.contains('l')) {
                    Verdict::new(SafetyClass::ReadOnly, "`fc -l` lists history")
                } else {
                    Verdict::destructive(
                        "`fc` runs commands again from the history, which cannot be checked",
                    )
                },
            ),
            "history" => {
                let writes = args
                    .iter()
                    .any(|a| args::is_cluster(a) && (a.contains('w') || a.contains('a')));
                let mut v =
                    Verdict::new(SafetyClass::ReadOnly, "`history` keeps the shell's history");
                for file in args.iter().filter(|a| writes && !a.starts_with('-')) {
                    if let Some((class, why)) = paths::judge(
                        file,
                        Effect::Overwrite,
                        self.walk.spot(),
                        &self.c.plants,
                        &self.c.system,
                    ) {
                        self.fx.plants = true;
                        self.fx.writes.push(file.clone());
                        v = v.max(Verdict::new(class, format!("`history` {why}")));
                    }
                }
                Some(v)
            }
            "enable" => Some(
                if args
                    .iter()
                    .all(|a| matches!(a.as_str(), "-a" | "-p" | "-s" | "-n"))
                {
                    Verdict::new(SafetyClass::ReadOnly, "`enable` lists builtins")
                } else {
                    Verdict::destructive("`enable` changes which program a command name runs")
                },
            ),
            "shopt" => {
                let sets = args
                    .iter()
                    .any(|a| args::is_cluster(a) && (a.contains('s') || a.contains('u')));
                let names = args.iter().filter(|a| !a.starts_with('-'));
                if sets && names.clone().any(|n| !HARMLESS_SHOPT.contains(&n.as_str())) {
                    return Some(Verdict::destructive(
                        "`shopt` turns on a shell option that changes what later commands do",
                    ));
                }
                Some(Verdict::new(
                    SafetyClass::ReadOnly,
                    "`shopt` changes only how names are matched",
                ))
            }
            _ => None,
        }
    }
}
