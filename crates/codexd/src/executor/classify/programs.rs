//! One command's words, judged: which program it really is ([`Program`]), then in order
//! privilege tools, shells, builtins ([`super::builtins`]), interpreters and wrappers
//! ([`super::wrappers`]), globs that may read as options, the read-only allowlist, the
//! rules, the code-checked dangers ([`super::tools`]), output options and `find -exec`.

use codex_proto::types::SafetyClass;
use serde::Deserialize;

use super::args::Values;
use super::paths::{self, Effect, Spot};
use super::{Classifier, Fx, Verdict, Walk, basename};

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
            super::wrappers::runs_its_input(self.c, &words, 0)
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
        if let Some(v) = self.python_module() {
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
            // A copy of where it runs: the checks below also change the walk.
            let here = self.walk.clone();
            let spot = here.spot();
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
        let here = self.walk.clone();
        let spot = here.spot();
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

    /// A script inside this command (`sh -c`, `eval`, a wrapper's command string), walked
    /// on from here; its `cd`s do not outlive it.
    pub(super) fn script(&mut self, script: &str, what: &str) -> Verdict {
        let cwd = self.walk.cwd.clone();
        let v = self.c.script(script, self.walk, self.depth + 1);
        self.walk.cwd = cwd;
        Verdict {
            reason: format!("{what}: {}", v.reason),
            ..v
        }
    }

    /// Whether the command is on the read-only allowlist (and its own script reads only).
    pub(super) fn reads_only(&self) -> bool {
        let (p, mut args) = (self.p, self.args);
        if p == "git" {
            match super::tools::git_globals(args) {
                Some(rest) => args = rest,
                None => return false,
            }
        }
        self.c.read_only.iter().filter(|e| e.is_for(p)).any(|e| {
            let Some(operands) = e.admits(args) else {
                return false;
            };
            match e.check.as_deref() {
                Some("sed") => super::tools::sed_script(args, &operands).is_some_and(|s| {
                    super::sed::effects(&s).is_some_and(|f| !f.runs && f.writes.is_empty())
                }),
                Some("awk") => super::tools::awk_program(args, &operands)
                    .is_some_and(|prog| super::readonly::awk_reads_only(&prog)),
                _ => true,
            }
        })
    }

    /// Files and folders named by output options (`curl -o F`, `tar -C D`).
    pub(super) fn outputs(&mut self, spot: Spot<'_>) -> Verdict {
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
    pub(super) fn find_execs(&mut self) -> Verdict {
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
pub(super) fn without_execs(args: &[String]) -> Vec<String> {
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

/// Arguments that are not options or their values.
pub(super) fn plain<'a>(args: &'a [String], short: &[char], long: &[&str]) -> Vec<&'a str> {
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
