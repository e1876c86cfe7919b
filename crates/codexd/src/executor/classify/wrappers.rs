//! Programs that run other programs: wrappers (`env`, `timeout`, `xargs`, `poetry run`, …)
//! and the command inside them, shells and their `-c` scripts, interpreters given inline code,
//! and which of them run what they read from their input.

use codex_proto::types::SafetyClass;
use serde::Deserialize;

use super::args::{self, Pattern, Values};
use super::paths;
use super::programs::Check;
use super::{Classifier, Fx, OneOrMany, Verdict, basename};

/// A wrapper as written in YAML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WrapperSpec {
    /// Short options taking a value.
    pub values: String,
    /// Long options (without `--`) taking a value.
    pub long: Vec<String>,
    /// Plain words before the command.
    pub operands: usize,
    /// A word that must come first (`poetry run`).
    pub subcommand: Option<OneOrMany>,
    /// The command comes after this word (`gdb --args`).
    pub after: Option<String>,
    /// Options whose value is a shell command.
    pub scripts: Vec<String>,
    /// The plain words together are one shell command (`watch 'cmd'`).
    pub scripts_all: bool,
    /// Runs the command once per input.
    pub each_input: bool,
    /// The wrapper itself changes nothing.
    pub read_only: bool,
}

/// An interpreter as written in YAML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InterpreterSpec {
    /// Names or globs.
    pub program: Vec<String>,
    /// Short options whose value is code.
    pub inline: String,
    /// Long (or single-dash word) options whose value is code.
    pub inline_long: Vec<String>,
    /// Other short options taking a value.
    pub values: String,
    /// Other long options taking a value.
    pub long_values: Vec<String>,
    /// `+cmd` arguments run commands (vim).
    pub plus_commands: bool,
    /// Subcommands that take code (`deno eval`).
    pub inline_subcommands: Vec<String>,
    /// It reads commands from its input whatever its operands (`ed FILE`).
    pub reads_input: bool,
}

impl Check<'_, '_> {
    /// `sh -c SCRIPT` is the script; `sh FILE` runs a file of the project's.
    pub(super) fn shell(&mut self) -> Verdict {
        let (p, args) = (self.p, self.args);
        let mut has_c = false;
        let mut i = 0;
        while let Some(a) = args.get(i) {
            if a == "--" {
                i += 1;
                break;
            }
            if matches!(
                a.as_str(),
                "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file"
            ) {
                i += 2;
                continue;
            }
            if (a.starts_with('-') || a.starts_with('+')) && a.len() > 1 {
                has_c |= !a.starts_with("--") && a.contains('c');
                i += 1;
                continue;
            }
            break;
        }
        if has_c {
            return match args.get(i) {
                Some(script) => self.script(script, &format!("the `{p} -c` script")),
                None => Verdict::new(SafetyClass::ReadOnly, format!("`{p} -c` with no script")),
            };
        }
        Verdict::new(
            SafetyClass::WritesInProject,
            format!("`{p}` runs a script, assumed to write only in the project"),
        )
    }

    /// A wrapper: judge the command it runs. `None` when this use of the program wraps
    /// nothing (`poetry install`).
    pub(super) fn wrapper(&mut self, spec: &WrapperSpec) -> Option<Verdict> {
        let (c, p, args) = (self.c, self.p, self.args);
        let mut verdict: Option<Verdict> = None;
        let max = |v: Verdict, verdict: &mut Option<Verdict>| {
            *verdict = Some(match verdict.take() {
                Some(old) => old.max(v),
                None => v,
            });
        };
        let mut cwd = self.walk.cwd.clone();
        if p == "env" {
            // `env -S 'cmd args'`, `-vS'…'`, `--split-string=…`: a string split into the
            // command, followed by the rest of the arguments.
            for (k, a) in args.iter().enumerate() {
                let split = Values::value_of(std::slice::from_ref(a), &['S'], &["--split-string"]);
                let value = match split.first() {
                    Some(v) => Some((v.to_string(), k + 1)),
                    None if args::is_cluster(a) && a.ends_with('S')
                        || args::long_prefix_of(a, "--split-string") && !a.contains('=') =>
                    {
                        args.get(k + 1).map(|v| (v.clone(), k + 2))
                    }
                    None => None,
                };
                if let Some((v, rest)) = value {
                    let line = std::iter::once(v)
                        .chain(args.iter().skip(rest).cloned())
                        .collect::<Vec<_>>()
                        .join(" ");
                    let v = self.script(&line, "`env -S`");
                    return Some(v);
                }
            }
            for d in Values::value_of(args, &['C'], &["--chdir"]) {
                cwd = match paths::resolve(d, self.walk.spot()) {
                    paths::Resolved::At(p) => Some(p),
                    _ => None,
                };
            }
            for a in args {
                if let Some((name, _)) = a.split_once('=')
                    && !name.starts_with('-')
                    && let Some(v) = c.hijacks(name)
                {
                    return Some(v);
                }
            }
        }
        let values = Values {
            short: &spec.values,
            long: &spec.long,
        };
        for opt in &spec.scripts {
            let (short, long): (Vec<char>, Vec<&str>) = if opt.starts_with("--") {
                (Vec::new(), vec![opt.as_str()])
            } else {
                (opt.chars().skip(1).collect(), Vec::new())
            };
            for s in Values::value_of(args, &short, &long) {
                let v = self.script(s, &format!("`{p} {opt}`"));
                max(v, &mut verdict);
            }
        }
        // Where the command starts.
        let mut i = 0;
        if let Some(sub) = &spec.subcommand {
            let subs = sub.items();
            let at = args.iter().position(|a| !a.starts_with('-'))?;
            if !subs.contains(&args[at]) {
                return verdict;
            }
            i = at + 1;
        }
        let mut operands = spec.operands;
        let mut plain_before = Vec::new();
        if let Some(after) = &spec.after {
            i = args.iter().position(|a| a == after)? + 1;
        }
        while i < args.len() {
            let a = &args[i];
            if a == "--" {
                i += 1;
                break;
            }
            if let Some(w) = values.width(args, i) {
                if w == 2 {
                    plain_before.push(i + 1);
                }
                i += w;
                continue;
            }
            if p == "env" && a.contains('=') {
                i += 1;
                continue;
            }
            if operands > 0 {
                operands -= 1;
                plain_before.push(i);
                i += 1;
                continue;
            }
            break;
        }
        if spec.scripts_all {
            let line = args[i.min(args.len())..].join(" ");
            if !line.is_empty() {
                let v = self.script(&line, &format!("`{p}` runs"));
                max(v, &mut verdict);
            }
            return verdict
                .or_else(|| Some(Verdict::new(SafetyClass::ReadOnly, format!("`{p}` alone"))));
        }
        let Some(inner) = args.get(i..).filter(|r| !r.is_empty()) else {
            let alone = if spec.read_only {
                Verdict::new(
                    SafetyClass::ReadOnly,
                    format!("`{p}` alone changes nothing"),
                )
            } else {
                Verdict::new(SafetyClass::WritesInProject, format!("`{p}` alone"))
            };
            return Some(verdict.map_or(alone.clone(), |v| v.max(alone)));
        };
        let globbed = self.globbed.get(i..).unwrap_or(&[]);
        let saved = std::mem::replace(&mut self.walk.cwd, cwd);
        let iv = self
            .c
            .words(inner, globbed, self.walk, self.depth + 1, self.fx);
        // If a value or operand was misjudged, the command may start at one of those words
        // (or at the word after): any that makes it destructive counts.
        let mut alt = iv.clone();
        for k in plain_before.into_iter().chain(std::iter::once(i + 1)) {
            if let Some(words) = args.get(k..).filter(|w| !w.is_empty()) {
                let mut scratch = Fx::default();
                let v = self
                    .c
                    .words(words, &[], self.walk, self.depth + 1, &mut scratch);
                if v.class >= SafetyClass::Destructive {
                    alt = alt.max(v);
                }
            }
        }
        self.walk.cwd = saved;
        let mut v = if spec.read_only || iv.class > SafetyClass::ReadOnly {
            iv
        } else {
            Verdict::new(
                SafetyClass::WritesInProject,
                format!("`{p}` runs `{}`", inner[0]),
            )
        };
        v = v.max(alt);
        if spec.each_input
            && v.class >= SafetyClass::WritesInProject
            && v.class < SafetyClass::Destructive
            && !v.network
        {
            v = Verdict::destructive(format!(
                "`{p}` runs `{}` on every input, which may touch any file",
                basename(&inner[0])
            ));
        }
        Some(verdict.map_or(v.clone(), |old| old.max(v)))
    }

    /// A leading glob among the arguments may expand to a file name read as an option
    /// (`rm *` next to a file named `-rf`), unless every option of the program is harmless.
    pub(super) fn glob_options(&self) -> Option<Verdict> {
        let lead = self
            .args
            .iter()
            .zip(self.globbed)
            .take_while(|(a, _)| *a != "--")
            .find(|(a, g)| **g && a.starts_with(['*', '?', '[']))?;
        let harmless = self
            .c
            .read_only
            .iter()
            .any(|e| e.is_for(self.p) && e.any_option());
        (!harmless).then(|| {
            Verdict::destructive(format!(
                "`{}` may expand to file names that `{}` reads as options (a file named `-rf`)",
                lead.0, self.p
            ))
        })
    }

    /// `python -m pip install x` is pip and `python -m http.server` serves the network: a
    /// module run as a program is judged as that program.
    pub(super) fn python_module(&mut self) -> Option<Verdict> {
        let (p, args) = (self.p, self.args);
        if !(p.starts_with("python") || p.starts_with("pypy")) {
            return None;
        }
        let mut i = 0;
        let (module, rest) = loop {
            let a = args.get(i)?;
            if a == "-" || !a.starts_with('-') || a.starts_with("--") {
                return None; // a script, standard input, or a long option: no module
            }
            match a.find(['m', 'c', 'W', 'X', 'Q']) {
                Some(k) if a[k..].starts_with('m') => {
                    break match &a[k + 1..] {
                        "" => (args.get(i + 1)?.as_str(), args.get(i + 2..).unwrap_or(&[])),
                        joined => (joined, args.get(i + 1..).unwrap_or(&[])),
                    };
                }
                Some(k) if a[k..].starts_with('c') => return None, // inline code
                Some(k) if k + 1 == a.len() => i += 2,             // -W/-X and their value
                _ => i += 1,
            }
        };
        let tool = match module {
            "pip" | "pip3" | "pipx" | "uv" | "poetry" | "pdm" | "hatch" | "conda" => {
                if module.starts_with("pip") && module != "pipx" {
                    "pip"
                } else {
                    module
                }
            }
            "http.server"
            | "smtpd"
            | "aiosmtpd"
            | "xmlrpc.server"
            | "wsgiref.simple_server"
            | "ftplib"
            | "smtplib"
            | "webbrowser" => {
                return Some(Verdict::new(
                    SafetyClass::Network,
                    format!("`{p} -m {module}` serves or reaches the network"),
                ));
            }
            "pydoc" if rest.iter().any(|a| a == "-p" || a == "-b") => {
                return Some(Verdict::new(
                    SafetyClass::Network,
                    "`pydoc -p` serves the network",
                ));
            }
            _ => return None,
        };
        let mut words = vec![tool.to_string()];
        words.extend(rest.iter().cloned());
        let v = self
            .c
            .words(&words, &[], self.walk, self.depth + 1, self.fx);
        Some(Verdict {
            reason: format!("`{p} -m {module}`: {}", v.reason),
            ..v
        })
    }

    /// An interpreter: inline code cannot be checked; a script is the project's own.
    pub(super) fn interpreter(&self) -> Option<Verdict> {
        let (p, args) = (self.p, self.args);
        let (_, spec) = self.c.interpreters.iter().find(|(n, _)| n.matches(p))?;
        let inline = || {
            Some(Verdict::destructive(format!(
                "`{p}` runs inline code, which cannot be checked"
            )))
        };
        let inline_long: Vec<Pattern> = spec
            .inline_long
            .iter()
            .filter_map(|o| Pattern::new(o, false).ok())
            .collect();
        let values = Values {
            short: &spec.values,
            long: &spec.long_values,
        };
        let mut i = 0;
        while let Some(a) = args.get(i) {
            if a == "--" {
                i += 1;
                break;
            }
            if spec.plus_commands
                && a.len() > 1
                && a.starts_with('+')
                && !a[1..].chars().all(|c| c.is_ascii_digit())
            {
                return inline();
            }
            if inline_long.iter().any(|pat| pat.matches(a, false)) {
                return inline();
            }
            if a.starts_with("--") {
                i += values.width(args, i).unwrap_or(1);
                continue;
            }
            if args::is_cluster(a) {
                for ch in a.chars().skip(1) {
                    if spec.inline.contains(ch) {
                        return inline();
                    }
                    if spec.values.contains(ch) {
                        break;
                    }
                }
                i += values.width(args, i).unwrap_or(1);
                continue;
            }
            break;
        }
        if let Some(sub) = args.get(i)
            && spec.inline_subcommands.contains(sub)
        {
            return inline();
        }
        if p.starts_with("python") && args.windows(2).any(|w| w[0] == "-m" && w[1] == "twine") {
            return Some(Verdict::destructive(
                "`twine` publishes a package for everyone",
            ));
        }
        if !spec.inline_subcommands.is_empty() {
            return None; // deno: its other subcommands are the rules'
        }
        Some(Verdict::new(
            SafetyClass::WritesInProject,
            match args.get(i) {
                Some(script) => format!("`{p}` runs `{script}` as the project's own code"),
                None => format!("`{p}` runs what it reads"),
            },
        ))
    }
}

/// Whether `words` run code they read from their input (a shell or interpreter given no
/// script, or `/dev/stdin`), seen through wrappers and privilege tools.
pub fn runs_its_input(c: &Classifier, words: &[String], depth: usize) -> bool {
    if depth > super::MAX_DEPTH {
        return true;
    }
    let p = super::prog(words);
    let rest = words.get(1..).unwrap_or(&[]);
    if let Some(spec) = c.wrappers.get(p) {
        let values = Values {
            short: &spec.values,
            long: &spec.long,
        };
        let mut i = 0;
        let mut operands = spec.operands;
        if spec.subcommand.is_some() {
            i = rest
                .iter()
                .position(|a| !a.starts_with('-'))
                .map_or(rest.len(), |k| k + 1);
        }
        while i < rest.len() {
            if rest[i] == "--" {
                i += 1;
                break;
            }
            if let Some(w) = values.width(rest, i) {
                i += w;
                continue;
            }
            if p == "env" && rest[i].contains('=') || operands > 0 {
                operands =
                    operands.saturating_sub(usize::from(!(p == "env" && rest[i].contains('='))));
                i += 1;
                continue;
            }
            break;
        }
        return rest
            .get(i..)
            .filter(|r| !r.is_empty())
            .is_some_and(|inner| runs_its_input(c, inner, depth + 1));
    }
    if c.privileged.matches(p) {
        let inner = rest
            .iter()
            .position(|a| !a.starts_with('-'))
            .map(|k| &rest[k..]);
        return inner.is_some_and(|w| runs_its_input(c, w, depth + 1));
    }
    let from_input =
        |a: &&String| a.as_str() == "/dev/stdin" || a.as_str() == "-" || a.contains("$(...)");
    let plain: Vec<&String> = rest
        .iter()
        .filter(|a| !a.starts_with('-') || a.as_str() == "-")
        .collect();
    if c.shells.contains(p) {
        let has_c = rest.iter().any(|a| args::is_cluster(a) && a.contains('c'));
        let reads_stdin = rest.iter().any(|a| args::is_cluster(a) && a.contains('s'));
        return !has_c && (plain.is_empty() || reads_stdin || plain.iter().any(from_input));
    }
    if let Some((_, spec)) = c.interpreters.iter().find(|(n, _)| n.matches(p)) {
        if spec.reads_input {
            return true;
        }
        let inline = rest.iter().any(|a| {
            (args::is_cluster(a) && a.chars().skip(1).any(|ch| spec.inline.contains(ch)))
                || spec.inline_long.iter().any(|l| a.starts_with(l.as_str()))
        });
        return !inline && (plain.is_empty() || plain.iter().any(from_input));
    }
    matches!(p, "source" | ".") && plain.iter().any(from_input)
}
