//! Programs judged in code, where the danger lies in how arguments are read: wrappers and the
//! command inside them, shells' `-c` scripts, interpreters given inline code, shell builtins
//! that evaluate (or export) what they are given, and the option-driven dangers of sed, awk,
//! git, docker, chmod, kill, make and cmake. Everything else is the rules' (config/
//! safety_rules.yaml) and the read-only allowlist's.

use codex_proto::types::SafetyClass;
use serde::Deserialize;

use super::args::{self, Pattern, Values};
use super::paths::{self, Effect, Spot};
use super::{Classifier, Fx, OneOrMany, Verdict, Walk, basename};

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

/// A program's output options as written in YAML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSpec {
    /// Names or globs.
    pub program: Vec<String>,
    /// Options naming a file it writes.
    pub file: Vec<String>,
    /// Options naming a folder it writes in.
    pub dir: Vec<String>,
}

/// Folders whose programs are the system's own.
const SYSTEM_BINS: &[&str] = &[
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/usr/local/bin",
    "/usr/local/sbin",
];

/// Programs that put file contents somewhere (what a later command might run).
const PLANTERS: &[&str] = &[
    "cp", "mv", "install", "ln", "tee", "dd", "rsync", "scp", "wget", "aria2c", "unzip", "7z",
    "7za", "cpio", "patch",
];

/// The program a command runs, as far as can be told before it runs.
#[derive(Debug, Clone)]
pub struct Program {
    /// The name rules use: the real program behind a symlink.
    pub name: String,
    /// Given by a path outside the system's bin folders (the project's own, or planted).
    pub local: bool,
}

impl Program {
    /// `word` as the first word of a command at `spot`.
    pub fn of(word: &str, spot: Spot<'_>) -> Program {
        let written = basename(word).to_string();
        // Init scripts start, stop and change system services.
        if ["/etc/init.d/", "/etc/rc.d/", "/etc/rc.d/init.d/"]
            .iter()
            .any(|d| word.starts_with(d))
        {
            return Program {
                name: "init.d-script".into(),
                local: true,
            };
        }
        if !word.contains('/') {
            return Program {
                name: written,
                local: false,
            };
        }
        let resolved = match paths::resolve(word, spot) {
            paths::Resolved::At(p) => Some(p),
            _ => None,
        };
        let system = resolved
            .as_ref()
            .and_then(|p| p.parent())
            .is_some_and(|d| SYSTEM_BINS.iter().any(|s| d == std::path::Path::new(s)));
        // A renamed or linked binary: `./ls` that is really `rm`.
        let real = std::path::Path::new(word);
        let real = if real.is_absolute() {
            real.to_path_buf()
        } else {
            spot.cwd
                .map_or_else(|| real.to_path_buf(), |c| c.join(real))
        };
        let name = std::fs::canonicalize(&real)
            .ok()
            .and_then(|r| r.file_name().map(|n| n.to_string_lossy().into_owned()))
            .filter(|n| !n.is_empty())
            .unwrap_or(written);
        Program {
            name,
            local: !system,
        }
    }
}

/// One command's words, judged.
pub struct Check<'a, 'w> {
    /// The rules.
    pub c: &'a Classifier,
    /// The program's name.
    pub p: &'a str,
    /// What it is.
    pub program: &'a Program,
    /// Its arguments.
    pub args: &'a [String],
    /// Per argument: an unquoted glob.
    pub globbed: &'a [bool],
    /// The script it is in.
    pub walk: &'w mut Walk,
    /// How deep in wrappers and scripts.
    pub depth: usize,
    /// What it does to later commands.
    pub fx: &'w mut Fx,
}

impl Check<'_, '_> {
    /// Judge the command.
    pub fn run(mut self) -> Verdict {
        // `bash <(curl ...)`, `source /dev/stdin`: a script another command makes.
        let made = self
            .args
            .iter()
            .any(|a| a.contains("$(...)") || a == "/dev/stdin");
        if made && {
            let mut words = vec![self.p.to_string()];
            words.extend(self.args.iter().cloned());
            super::programs::runs_its_input(self.c, &words, 0)
        } {
            return Verdict::destructive(format!(
                "`{}` runs a script another command produces, which cannot be checked",
                self.p
            ));
        }
        let (c, p, args) = (self.c, self.p, self.args);
        if c.privileged.matches(p) {
            return Verdict::new(
                SafetyClass::Privileged,
                format!("`{p}` runs a command as root or as someone else"),
            );
        }
        if c.shells.contains(p) {
            return self.shell();
        }
        if let Some(v) = self.builtin() {
            return v;
        }
        // Inline code first: a program can be both (gdb -ex ... --args prog).
        let interpreted = self.interpreter();
        if let Some(v) = &interpreted
            && v.class >= SafetyClass::Destructive
        {
            return v.clone();
        }
        if let Some(spec) = c.wrappers.get(p)
            && let Some(v) = self.wrapper(spec)
        {
            // The wrapper's own options may write or run too (`strace -o '|cmd'`).
            let (cwd, root, home) = (
                self.walk.cwd.clone(),
                self.walk.root.clone(),
                self.walk.home.clone(),
            );
            let spot = Spot {
                cwd: cwd.as_deref(),
                root: root.as_deref(),
                home: &home,
                private_tmp: !self.walk.tmp_moved,
            };
            let own = self
                .special(spot)
                .unwrap_or_else(|| Verdict::new(SafetyClass::ReadOnly, ""));
            return v.max(own).max(self.outputs(spot));
        }
        if let Some(v) = self.glob_options() {
            return v;
        }
        if let Some(v) = interpreted {
            let spot = self.walk.spot();
            return match c.by_rules(p, args, spot) {
                Some(r) => v.max(r),
                None => v,
            };
        }
        let (cwd, root, home) = (
            self.walk.cwd.clone(),
            self.walk.root.clone(),
            self.walk.home.clone(),
        );
        let spot = Spot {
            cwd: cwd.as_deref(),
            root: root.as_deref(),
            home: &home,
            private_tmp: !self.walk.tmp_moved,
        };
        let extra = self.special(spot);
        if extra.is_none() && !self.program.local && self.reads_only() {
            return Verdict::new(SafetyClass::ReadOnly, format!("`{p}` only reads"));
        }
        if p == "find" && !self.program.local {
            let execs = self.find_execs();
            let rest = without_execs(args);
            let lists = self
                .c
                .read_only
                .iter()
                .any(|e| e.is_for(p) && e.admits(&rest).is_some());
            if execs.class == SafetyClass::ReadOnly && lists {
                return Verdict::new(
                    SafetyClass::ReadOnly,
                    "`find` runs only read-only commands on what it finds",
                );
            }
        }
        let mut v = c.by_rules(p, args, spot).unwrap_or_else(|| {
            Verdict::new(
                SafetyClass::WritesInProject,
                format!("`{p}` is not on the read-only list; assumed to write only in the project"),
            )
        });
        if let Some(e) = extra {
            v = v.max(e);
        }
        v = v.max(self.outputs(spot));
        v = v.max(self.find_execs());
        if PLANTERS.contains(&p) {
            self.fx.plants = true;
            if let Some(last) = args.iter().rev().find(|a| !a.starts_with('-')) {
                self.fx.writes.push(last.clone());
            }
        }
        if p == "ln" {
            self.fx.links = true;
        }
        v
    }

    fn script(&mut self, script: &str, what: &str) -> Verdict {
        let cwd = self.walk.cwd.clone();
        let v = self.c.script(script, self.walk, self.depth + 1);
        self.walk.cwd = cwd;
        Verdict {
            reason: format!("{what}: {}", v.reason),
            ..v
        }
    }

    /// `sh -c SCRIPT` is the script; `sh FILE` runs a file of the project's.
    fn shell(&mut self) -> Verdict {
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

    /// Shell builtins that evaluate, export or move: `eval`, `trap`, `alias`, `cd`,
    /// `export`, `declare`, `let`, `[[`, `set -k`, `hash -p`, `enable -f`.
    fn builtin(&mut self) -> Option<Verdict> {
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

    /// A wrapper: judge the command it runs. `None` when this use of the program wraps
    /// nothing (`poetry install`).
    fn wrapper(&mut self, spec: &WrapperSpec) -> Option<Verdict> {
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
    fn glob_options(&self) -> Option<Verdict> {
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

    /// An interpreter: inline code cannot be checked; a script is the project's own.
    fn interpreter(&self) -> Option<Verdict> {
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

    /// Whether the command is on the read-only allowlist (and its own script reads only).
    fn reads_only(&self) -> bool {
        let (p, mut args) = (self.p, self.args);
        if p == "git" {
            match git_globals(args) {
                Some(rest) => args = rest,
                None => return false,
            }
        }
        self.c.read_only.iter().filter(|e| e.is_for(p)).any(|e| {
            let Some(operands) = e.admits(args) else {
                return false;
            };
            match e.check.as_deref() {
                Some("sed") => sed_script(args, &operands).is_some_and(|s| {
                    super::sed::effects(&s).is_some_and(|f| !f.runs && f.writes.is_empty())
                }),
                Some("awk") => awk_program(args, &operands)
                    .is_some_and(|prog| super::readonly::awk_reads_only(&prog)),
                _ => true,
            }
        })
    }

    /// The dangers of programs whose arguments need reading in code.
    fn special(&mut self, spot: Spot<'_>) -> Option<Verdict> {
        let (c, p, args) = (self.c, self.p, self.args);
        let judge = |path: &str, effect: Effect| {
            paths::judge(path, effect, spot, &c.plants, &c.system)
                .map(|(k, why)| Verdict::new(k, why))
        };
        match p {
            "sed" | "gsed" => {
                if !Values::value_of(args, &['f'], &["--file"]).is_empty() {
                    return Some(Verdict::destructive(
                        "`sed -f` runs a script from a file, which cannot be checked",
                    ));
                }
                let operands: Vec<&str> =
                    plain(args, &['e', 'l'], &["--expression", "--line-length"]);
                let Some(script) = sed_script(args, &operands) else {
                    return Some(Verdict::new(SafetyClass::ReadOnly, "`sed` with no script"));
                };
                let Some(fx) = super::sed::effects(&script) else {
                    return Some(Verdict::destructive(
                        "the `sed` script cannot be read, so what it runs cannot be checked",
                    ));
                };
                if fx.runs {
                    return Some(Verdict::destructive(
                        "the `sed` script runs shell commands (`e`), which cannot be checked",
                    ));
                }
                let mut v: Option<Verdict> = None;
                for w in &fx.writes {
                    if let Some(j) = judge(w, Effect::Overwrite) {
                        v = Some(v.map_or(j.clone(), |o| o.max(j)));
                    }
                    self.fx.writes.push(w.clone());
                    self.fx.plants = true;
                }
                let in_place = args.iter().take_while(|a| *a != "--").any(|a| {
                    (args::is_cluster(a)
                        && a.chars()
                            .skip(1)
                            .take_while(|c| *c != 'e')
                            .any(|c| c == 'i'))
                        || args::long_prefix_of(a, "--in-place")
                });
                if in_place {
                    let explicit = !Values::value_of(args, &['e'], &["--expression"]).is_empty();
                    for f in operands.iter().skip(usize::from(!explicit)) {
                        let j = judge(f, Effect::Overwrite).unwrap_or_else(|| {
                            Verdict::new(SafetyClass::WritesInProject, "edits files in place")
                        });
                        v = Some(v.map_or(j.clone(), |o| o.max(j)));
                        self.fx.plants = true;
                    }
                    v = v.or_else(|| {
                        Some(Verdict::new(
                            SafetyClass::WritesInProject,
                            "`sed -i` edits files in place",
                        ))
                    });
                }
                v
            }
            "awk" | "gawk" | "mawk" | "nawk" => {
                if !Values::value_of(args, &['f', 'E'], &["--file", "--exec"]).is_empty()
                    || !Values::value_of(args, &['l'], &["--load"]).is_empty()
                {
                    return Some(Verdict::destructive(
                        "the awk program comes from a file or loads a library, which cannot be checked",
                    ));
                }
                let includes = Values::value_of(args, &['i'], &["--include"]);
                if includes.iter().any(|i| *i != "inplace") {
                    return Some(Verdict::destructive("`awk -i` loads awk code from a file"));
                }
                let operands = plain(
                    args,
                    &['F', 'v', 'e', 'i', 'W'],
                    &["--field-separator", "--assign", "--source", "--include"],
                );
                let prog = awk_program(args, &operands).unwrap_or_default();
                static PRINT_TO: std::sync::LazyLock<Option<regex::Regex>> =
                    std::sync::LazyLock::new(|| {
                        regex::Regex::new(r#"printf?\b[^;{}]*(>|\|)"#).ok()
                    });
                if prog.contains("system")
                    || prog.contains("getline")
                    || prog.contains("|&")
                    || prog.contains('@')
                    || PRINT_TO.as_ref().is_some_and(|re| re.is_match(&prog))
                {
                    return Some(Verdict::destructive(
                        "the awk program runs commands or writes files, which cannot be checked",
                    ));
                }
                if !includes.is_empty() {
                    let mut v = Verdict::new(
                        SafetyClass::WritesInProject,
                        "`awk -i inplace` edits files in place",
                    );
                    for f in operands.iter().skip(1) {
                        if let Some(j) = judge(f, Effect::Overwrite) {
                            v = v.max(j);
                        }
                    }
                    return Some(v);
                }
                None
            }
            "git" => self.git(spot),
            "docker" | "podman" | "nerdctl" => docker(args, spot),
            "chmod" | "install" => {
                let modes: Vec<&str> = if p == "install" {
                    Values::value_of(args, &['m'], &["--mode"])
                } else {
                    args.iter()
                        .filter(|a| !a.starts_with("--"))
                        .map(String::as_str)
                        .collect()
                };
                modes.iter().any(|m| sets_id_bits(m)).then(|| {
                    Verdict::new(
                        SafetyClass::Privileged,
                        format!("`{p}` sets a set-user-id or set-group-id bit"),
                    )
                })
            }
            "kill" => kill(args),
            // `uniq IN OUT`, `xxd [-r] IN OUT`: a second file name is written.
            "uniq" | "xxd" => {
                let operands = plain(
                    args,
                    &['f', 's', 'w', 'c', 'g', 'l', 'o', 'n', 'C'],
                    &["--skip-fields", "--skip-chars", "--check-chars", "--group"],
                );
                let out = operands.get(1)?;
                self.fx.plants = true;
                judge(out, Effect::Overwrite).map(|v| Verdict {
                    reason: format!("`{p}` writes its output to `{out}`: it {}", v.reason),
                    ..v
                })
            }
            "strace" | "ltrace"
                if Values::value_of(args, &['o'], &["--output"])
                    .iter()
                    .any(|o| o.starts_with(['|', '!'])) =>
            {
                Some(Verdict::destructive(format!(
                    "`{p} -o |cmd` pipes its output into a command of your choosing"
                )))
            }
            "cmake"
                if args.windows(2).any(|w| {
                    w[0] == "-E"
                        && matches!(
                            w[1].as_str(),
                            "rm" | "remove" | "remove_directory" | "rmdir"
                        )
                }) =>
            {
                Some(Verdict::destructive("`cmake -E rm` deletes files"))
            }
            "make" | "gmake"
                if Values::value_of(args, &['f'], &["--file", "--makefile"])
                    .iter()
                    .any(|f| matches!(*f, "-" | "/dev/stdin")) =>
            {
                Some(Verdict::destructive(
                    "`make` reads a makefile from its input",
                ))
            }
            "tar" | "bsdtar" => {
                let first_plain_is_ops = args.first().is_some_and(|a| !a.starts_with('-'));
                let extracts = args.iter().take_while(|a| *a != "--").any(|a| {
                    (args::is_cluster(a) && a.contains('x'))
                        || args::long_prefix_of(a, "--extract")
                        || args::long_prefix_of(a, "--get")
                }) || (first_plain_is_ops && args[0].contains('x'));
                if extracts {
                    self.fx.plants = true;
                }
                None
            }
            _ => None,
        }
    }

    /// `git`: its global options, and `git config` keys that make git run commands.
    fn git(&mut self, spot: Spot<'_>) -> Option<Verdict> {
        let args = self.args;
        let Some(rest) = git_globals(args) else {
            return Some(Verdict::destructive(
                "`git -c`, `--config-env` or `--exec-path` set what git runs for this command",
            ));
        };
        let sub = rest.first().map(String::as_str);
        match sub {
            Some("config") => {
                let a = &rest[1..];
                if a.iter()
                    .any(|x| matches!(x.as_str(), "-e" | "--edit" | "edit"))
                {
                    return Some(Verdict::destructive(
                        "`git config --edit` opens an editor on the config",
                    ));
                }
                let value_opts = ["--file", "-f", "--blob", "--type", "--default", "--comment"];
                let mut keys = Vec::new();
                let mut k = 0;
                while k < a.len() {
                    let x = a[k].as_str();
                    if value_opts.contains(&x) {
                        k += 2;
                        continue;
                    }
                    if !x.starts_with('-')
                        && !matches!(
                            x,
                            "set" | "get" | "unset" | "list" | "rename-section" | "remove-section"
                        )
                    {
                        keys.push(x);
                        k += 2; // KEY VALUE
                        continue;
                    }
                    k += 1;
                }
                if keys.iter().any(|key| git_command_key(key)) {
                    return Some(Verdict::destructive(
                        "`git config` sets a key that makes git run a command later (alias, pager, hooks, ...)",
                    ));
                }
                if let Some(f) = Values::value_of(a, &['f'], &["--file"]).first() {
                    return paths::judge(f, Effect::Modify, spot, &self.c.plants, &self.c.system)
                        .map(|(k, why)| {
                            Verdict::new(
                                k.min(SafetyClass::WritesOutsideProject)
                                    .max(SafetyClass::WritesInProject),
                                format!("`git config --file` {why}"),
                            )
                        });
                }
                if a.iter()
                    .any(|x| args::long_prefix_of(x, "--system") && x.len() > 3)
                {
                    return Some(Verdict::new(
                        SafetyClass::Privileged,
                        "`git config --system` changes the system's git settings",
                    ));
                }
                if a.iter()
                    .any(|x| args::long_prefix_of(x, "--global") && x.len() > 3)
                    && !a
                        .iter()
                        .any(|x| x.starts_with("--get") || x == "--list" || x == "-l")
                {
                    return Some(Verdict::new(
                        SafetyClass::WritesOutsideProject,
                        "`git config --global` changes your settings for every repository",
                    ));
                }
                None
            }
            Some("clone") | Some("apply") | Some("am") => {
                self.fx.plants = true;
                if sub == Some("clone") {
                    let operands: Vec<&String> =
                        rest[1..].iter().filter(|x| !x.starts_with('-')).collect();
                    if let Some(dir) = operands.get(1) {
                        return paths::judge(
                            dir,
                            Effect::Create,
                            spot,
                            &self.c.plants,
                            &self.c.system,
                        )
                        .filter(|(k, _)| *k > SafetyClass::Network)
                        .map(|(k, why)| Verdict::new(k, format!("`git clone` {why}")));
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// Files and folders named by output options (`curl -o F`, `tar -C D`).
    fn outputs(&mut self, spot: Spot<'_>) -> Verdict {
        let (c, p, args) = (self.c, self.p, self.args);
        let mut v = Verdict::new(SafetyClass::ReadOnly, "");
        for (_, spec) in c.outputs.iter().filter(|(n, _)| n.matches(p)) {
            for (opts, dir) in [(&spec.file, false), (&spec.dir, true)] {
                let short: Vec<char> = opts
                    .iter()
                    .filter(|o| !o.starts_with("--") && o.len() == 2)
                    .filter_map(|o| o.chars().nth(1))
                    .collect();
                let long: Vec<&str> = opts
                    .iter()
                    .filter(|o| o.starts_with("--"))
                    .map(String::as_str)
                    .collect();
                let words: Vec<&str> = opts
                    .iter()
                    .filter(|o| !o.starts_with("--") && o.len() > 2)
                    .map(String::as_str)
                    .collect();
                let mut targets = Values::value_of(args, &short, &long);
                for (k, a) in args.iter().enumerate() {
                    if words.contains(&a.as_str())
                        && let Some(t) = args.get(k + 1)
                    {
                        targets.push(t);
                    }
                }
                for t in targets {
                    self.fx.plants = true;
                    self.fx.writes.push(t.to_string());
                    if let Some((k, why)) =
                        paths::judge(t, Effect::Overwrite, spot, &c.plants, &c.system)
                    {
                        let why = if dir {
                            format!("`{p}` writes into a folder: it {why}")
                        } else {
                            format!("`{p}` {why}")
                        };
                        v = v.max(Verdict::new(k, why));
                    }
                }
            }
        }
        v
    }

    /// `find -exec CMD ... ;` (and `-execdir`, `-ok`): the command, run on every file found.
    fn find_execs(&mut self) -> Verdict {
        let mut v = Verdict::new(SafetyClass::ReadOnly, "");
        if self.p != "find" {
            return v;
        }
        let args = self.args;
        let mut i = 0;
        while i < args.len() {
            let a = args[i].trim();
            if matches!(a, "-exec" | "-execdir" | "-ok" | "-okdir") {
                let start = i + 1;
                let len = args[start..]
                    .iter()
                    .position(|a| matches!(a.trim(), ";" | "+"))
                    .unwrap_or(args.len() - start);
                if len > 0 {
                    let inner = &args[start..start + len];
                    let iv = self.c.words(inner, &[], self.walk, self.depth + 1, self.fx);
                    let iv = if iv.class >= SafetyClass::WritesInProject
                        && iv.class != SafetyClass::Network
                        && iv.class < SafetyClass::Destructive
                    {
                        Verdict::destructive(format!(
                            "`find` runs `{}` on every file it finds",
                            basename(&inner[0])
                        ))
                    } else {
                        iv
                    };
                    v = v.max(iv);
                }
                i = start + len + 1;
            } else {
                i += 1;
            }
        }
        v
    }
}

/// `find`'s arguments without its `-exec … ;` parts.
fn without_execs(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if matches!(args[i].trim(), "-exec" | "-execdir" | "-ok" | "-okdir") {
            i += args[i..]
                .iter()
                .position(|a| matches!(a.trim(), ";" | "+"))
                .map_or(args.len(), |k| k + 1);
            continue;
        }
        out.push(args[i].clone());
        i += 1;
    }
    out
}

/// git's global options before the subcommand, skipped; `None` when one sets what git runs.
fn git_globals(args: &[String]) -> Option<&[String]> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let a = a.as_str();
        if a == "-c"
            || a.starts_with("--config-env")
            || a.starts_with("--exec-path=")
            || a.starts_with("-c") && a.len() > 2
        {
            return None;
        }
        if matches!(
            a,
            "-C" | "--git-dir"
                | "--work-tree"
                | "--namespace"
                | "--super-prefix"
                | "--attr-source"
                | "--list-cmds"
        ) {
            i += 2;
            continue;
        }
        if a.starts_with('-') {
            i += 1;
            continue;
        }
        break;
    }
    Some(&args[i.min(args.len())..])
}

/// Config keys that make git run a program (section and key case-insensitive).
fn git_command_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let parts: Vec<&str> = k.split('.').collect();
    let (section, name) = match parts.as_slice() {
        [s, n] => (*s, *n),
        [s, _, n] => (*s, *n),
        [s, .., n] => (*s, *n),
        _ => return true, // unreadable: treat as the dangerous case
    };
    matches!(
        section,
        "alias"
            | "includeif"
            | "include"
            | "pager"
            | "filter"
            | "browser"
            | "instaweb"
            | "sendemail"
    ) || matches!(
        name,
        "command"
            | "cmd"
            | "textconv"
            | "driver"
            | "helper"
            | "program"
            | "editor"
            | "pager"
            | "sshcommand"
            | "hookspath"
            | "fsmonitor"
            | "askpass"
            | "gitproxy"
            | "proxy"
            | "uploadpack"
            | "receivepack"
            | "packobjectshook"
            | "templatedir"
            | "difffilter"
            | "external"
            | "path"
            | "smudge"
            | "clean"
            | "process"
            | "allow"
            | "worktree"
    )
}

/// Arguments that are not options or their values.
fn plain<'a>(args: &'a [String], short: &[char], long: &[&str]) -> Vec<&'a str> {
    let shorts: String = short.iter().collect();
    let long: Vec<String> = long
        .iter()
        .map(|l| l.trim_start_matches('-').to_string())
        .collect();
    let values = Values {
        short: &shorts,
        long: &long,
    };
    let mut out = Vec::new();
    let mut i = 0;
    let mut done = false;
    while i < args.len() {
        if !done && args[i] == "--" {
            done = true;
            i += 1;
            continue;
        }
        if !done && let Some(w) = values.width(args, i) {
            i += w;
            continue;
        }
        out.push(args[i].as_str());
        i += 1;
    }
    out
}

/// sed's script: its `-e` values joined by newlines, else its first operand.
fn sed_script(args: &[String], operands: &[&str]) -> Option<String> {
    let e = Values::value_of(args, &['e'], &["--expression"]);
    if e.is_empty() {
        operands.first().map(|s| s.to_string())
    } else {
        Some(e.join("\n"))
    }
}

/// awk's program: its `-e`/`--source` values, else its first operand.
fn awk_program(args: &[String], operands: &[&str]) -> Option<String> {
    let e = Values::value_of(args, &['e'], &["--source"]);
    if e.is_empty() {
        operands.first().map(|s| s.to_string())
    } else {
        Some(e.join("\n"))
    }
}

/// A chmod/install mode with the set-user-id or set-group-id bit: `u+s`, `+s`, `4755`.
fn sets_id_bits(mode: &str) -> bool {
    if mode.chars().all(|c| c.is_ascii_digit()) {
        return mode.len() >= 4
            && mode
                .chars()
                .rev()
                .nth(3)
                .and_then(|d| d.to_digit(8))
                .is_some_and(|d| d & 0b110 != 0);
    }
    mode.split(',').any(|clause| {
        clause
            .find(['+', '='])
            .is_some_and(|at| clause[at + 1..].contains('s'))
    })
}

/// `kill`: signalling every process (`-1`), a process group (`-PID`, `0`), or processes
/// chosen when it runs (`$(pgrep ...)`).
fn kill(args: &[String]) -> Option<Verdict> {
    let mut i = 0;
    let mut targets = Vec::new();
    let mut first = true;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" {
            targets.extend(args[i..].iter());
            break;
        }
        if matches!(a.as_str(), "-s" | "-n" | "--signal") {
            i += 1;
            continue;
        }
        if a.starts_with('-') && first {
            first = false;
            continue; // the signal: -9, -KILL, -SIGTERM
        }
        if a.starts_with('-') && matches!(a.as_str(), "-l" | "-L" | "--list" | "--table") {
            return None;
        }
        targets.push(a);
        first = false;
    }
    targets
        .iter()
        .find(|t| t.starts_with('-') || t.as_str() == "0" || t.contains('$'))
        .map(|t| {
            Verdict::destructive(format!(
                "`kill {t}` signals a whole group, every process it may, or processes chosen when it runs"
            ))
        })
}

/// docker/podman run options that reach the host.
fn docker(args: &[String], spot: Spot<'_>) -> Option<Verdict> {
    let runs = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .take(2)
        .any(|a| matches!(a.as_str(), "run" | "create" | "exec"));
    if !runs {
        return None;
    }
    let host = |v: &str| v.eq_ignore_ascii_case("host");
    let privileged = |why: &str| {
        Some(Verdict::new(
            SafetyClass::Privileged,
            format!("the container {why}, as good as root on the host"),
        ))
    };
    for (k, a) in args.iter().enumerate() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (a.as_str(), None),
        };
        let value = inline
            .or_else(|| args.get(k + 1).map(String::as_str))
            .unwrap_or("");
        match name {
            "--privileged" if inline.is_none_or(|v| v != "false") => {
                return privileged("runs privileged");
            }
            "--pid" | "--net" | "--network" | "--ipc" | "--uts" | "--userns" | "--cgroupns"
                if host(value) =>
            {
                return privileged(&format!(
                    "shares the host's {}",
                    name.trim_start_matches('-')
                ));
            }
            "--cap-add" | "--device" | "--device-cgroup-rule" => {
                return privileged(&format!("gets `{name} {value}`"));
            }
            "--security-opt" if value.contains("unconfined") || value.contains("disable") => {
                return privileged("runs without its security profile");
            }
            "-v" | "--volume" | "--mount" => {
                let source = if name == "--mount" {
                    value
                        .split(',')
                        .find_map(|kv| {
                            kv.strip_prefix("source=")
                                .or_else(|| kv.strip_prefix("src="))
                        })
                        .unwrap_or("")
                } else {
                    value.split(':').next().unwrap_or("")
                };
                if source == "/"
                    || source.contains("docker.sock")
                    || source.starts_with("/var/run")
                    || source.starts_with("/run")
                    || [
                        "/etc", "/boot", "/usr", "/root", "/proc", "/sys", "/dev", "/var",
                    ]
                    .iter()
                    .any(|s| source == *s || source.starts_with(&format!("{s}/")))
                {
                    return privileged(&format!("mounts the host's `{source}`"));
                }
                if let paths::Resolved::At(p) = paths::resolve(source, spot)
                    && (p.starts_with(spot.home) || p.starts_with("/home"))
                    && !spot.root.is_some_and(|r| p.starts_with(r))
                {
                    return Some(Verdict::destructive(format!(
                        "the container mounts `{source}` from your home, outside the project"
                    )));
                }
                if source.contains('$') || source.starts_with('~') {
                    return Some(Verdict::destructive(format!(
                        "the container mounts `{source}`, outside the project"
                    )));
                }
            }
            _ => {}
        }
        if let Some(rest) = a.strip_prefix("-v").filter(|r| r.starts_with('/'))
            && (rest.starts_with("/:") || rest.contains("docker.sock"))
        {
            return privileged(&format!("mounts the host's `{rest}`"));
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_id_modes_and_git_command_keys() {
        for yes in ["u+s", "+s", "g=s", "4755", "6755", "02755", "a+rwxs"] {
            assert!(sets_id_bits(yes), "{yes}");
        }
        for no in ["755", "0755", "+x", "u+rw", "go-w"] {
            assert!(!sets_id_bits(no), "{no}");
        }
        for yes in [
            "Core.Pager",
            "ALIAS.st",
            "include.PATH",
            "diff.x.textConv",
            "Filter.x.smudge",
            "credential.helper",
            "core.SSHCommand",
            "CORE.FSMONITOR",
            "remote.origin.uploadpack",
        ] {
            assert!(git_command_key(yes), "{yes}");
        }
        for no in [
            "user.name",
            "user.email",
            "core.autocrlf",
            "pull.rebase",
            "init.defaultBranch",
        ] {
            assert!(!git_command_key(no), "{no}");
        }
    }
}
