//! Safety classification: every command gets a class (read-only … privileged) and a reason,
//! which decides what is asked (containment, not this, keeps the promise).
//!
//! Layout: [`shell`] parses a line as bash does; [`args`] reads options as getopt does;
//! [`readonly`] is the read-only allowlist; [`paths`] judges where writes land; [`sed`]
//! reads sed scripts; [`programs`] holds what is checked in code (wrappers, interpreters,
//! git, docker, kill, ...); this module loads config/safety_rules.yaml (plus the user's own
//! rules, first) and walks a script: its commands in order, following `cd`, and noticing a
//! file written and then run, or a link made and then written through. The most dangerous
//! part decides; what cannot be parsed is destructive.

mod archives;
mod args;
mod builtins;
pub mod paths;
mod programs;
mod readonly;
pub mod sed;
pub mod shell;
mod tools;
mod wrappers;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use codex_proto::types::SafetyClass;
use serde::{Deserialize, Serialize};

use self::args::Pattern;
use self::paths::{Effect, Plants, Spot};
use self::shell::{Simple, WriteMode};

/// The built-in rules.
pub const BUILTIN_RULES: &str = include_str!("../../../../../config/safety_rules.yaml");

/// How deep wrappers and scripts may nest before the command counts as unreadable.
const MAX_DEPTH: usize = 8;

/// A rule as written in YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Program basename, or a glob, or a list of them.
    pub program: OneOrMany,
    /// The first plain argument is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcommand: Option<OneOrMany>,
    /// Any argument matches one of these (globs; `--name` also its abbreviations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_arg: Option<Vec<String>>,
    /// A short-option cluster (`-rf`) holds one of these letters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
    /// Match `any_arg` without regard to case (ssh's option names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_case: Option<bool>,
    /// The class.
    pub class: ClassSpec,
    /// Why, in words shown to the user.
    pub why: String,
    /// For `writes`: which plain arguments are written (`all` or `last`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// For `writes`: how they are written (`create`, `modify`, `overwrite`, `delete`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
}

/// A value or a list of values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// A rule's class: a fixed one, or `writes` (decided by the paths the command names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassSpec {
    /// Reads only.
    ReadOnly,
    /// Writes in the project.
    WritesInProject,
    /// Talks to other machines.
    Network,
    /// Writes outside the project.
    WritesOutsideProject,
    /// Destroys or publishes for good.
    Destructive,
    /// Runs as root.
    Privileged,
    /// In or outside the project, by the paths named.
    Writes,
}

/// Which plain arguments a `writes` rule writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Every plain argument.
    All,
    /// The last one (the destination of cp, install).
    Last,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    wrappers: BTreeMap<String, wrappers::WrapperSpec>,
    global_values: BTreeMap<String, Vec<String>>,
    privileged: Vec<String>,
    shells: Vec<String>,
    interpreters: Vec<wrappers::InterpreterSpec>,
    hijack_variables: Vec<String>,
    harmless_variables: Vec<String>,
    read_only: Vec<readonly::Spec>,
    outputs: Vec<programs::OutputSpec>,
    plants: Plants,
    system_paths: Vec<String>,
    rules: Vec<RuleSpec>,
}

/// Why a rule set could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("safety rule {index} (`{program}`): {reason}")]
pub struct RuleError {
    /// Its position, from 1 (0: the built-in file itself).
    pub index: usize,
    /// Its program pattern.
    pub program: String,
    /// What is wrong.
    pub reason: String,
}

/// Program names: exact ones and globs.
pub(crate) struct Names {
    exact: HashSet<String>,
    globs: Vec<globset::GlobMatcher>,
}

impl Names {
    fn new(items: &[String]) -> Result<Names, String> {
        let mut exact = HashSet::new();
        let mut globs = Vec::new();
        for p in items {
            // Only `*` and `?` make a program pattern a glob: `[` is a program name.
            if p.contains(['*', '?']) {
                globs.push(
                    globset::Glob::new(p)
                        .map_err(|e| format!("`{p}`: {}", e.kind()))?
                        .compile_matcher(),
                );
            } else {
                exact.insert(p.clone());
            }
        }
        Ok(Names { exact, globs })
    }

    fn matches(&self, p: &str) -> bool {
        self.exact.contains(p) || self.globs.iter().any(|g| g.is_match(p))
    }
}

struct Rule {
    programs: Names,
    subcommands: Option<Vec<String>>,
    any_arg: Option<Vec<Pattern>>,
    short: Option<Vec<char>>,
    class: ClassSpec,
    why: String,
    target: Target,
    effect: Effect,
}

/// What a command is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Its class: the most dangerous of its parts.
    pub class: SafetyClass,
    /// Why, naming the part that decided.
    pub reason: String,
    /// Some part talks to other machines (whatever the class that decided): a confined step
    /// gets the network only then.
    pub network: bool,
}

impl Verdict {
    /// A verdict of `class` for `reason`.
    pub fn new(class: SafetyClass, reason: impl Into<String>) -> Self {
        Verdict {
            class,
            reason: reason.into(),
            network: class == SafetyClass::Network,
        }
    }

    /// Keep the more dangerous of two verdicts (the first on a tie); either's network use
    /// counts.
    fn max(self, other: Verdict) -> Verdict {
        let network = self.network || other.network;
        let mut v = if other.class > self.class {
            other
        } else {
            self
        };
        v.network = network;
        v
    }

    fn destructive(why: impl Into<String>) -> Verdict {
        Verdict::new(SafetyClass::Destructive, why)
    }
}

/// Where a command runs: writes are judged against the project root and the home folder.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The working directory.
    pub cwd: &'a Path,
    /// The project root, when there is one (never the home folder).
    pub root: Option<&'a Path>,
    /// The home folder, when known (`~` in the command).
    pub home: Option<&'a Path>,
}

impl<'a> Place<'a> {
    /// In `cwd`, with `root` as its project and no home folder known.
    pub fn new(cwd: &'a Path, root: Option<&'a Path>) -> Place<'a> {
        Place {
            cwd,
            root,
            home: None,
        }
    }
}

/// The compiled rules.
pub struct Classifier {
    rules: Vec<Rule>,
    by_program: HashMap<String, Vec<usize>>,
    globbed: Vec<usize>,
    wrappers: HashMap<String, wrappers::WrapperSpec>,
    global_values: HashMap<String, Vec<String>>,
    privileged: Names,
    shells: HashSet<String>,
    interpreters: Vec<(Names, wrappers::InterpreterSpec)>,
    hijack: globset::GlobSet,
    harmless: globset::GlobSet,
    read_only: Vec<readonly::Entry>,
    outputs: Vec<(Names, programs::OutputSpec)>,
    plants: Plants,
    system: Vec<PathBuf>,
    /// The user's tools (`planner.tools`): a command one of them makes has at least the
    /// class it declares, wherever it appears (alone, in `sh -c`, behind `env` or `xargs`).
    declared: Vec<crate::planner::registry::ToolSpec>,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// The state of a walk through one script: where it is, and what it did before.
#[derive(Debug, Clone)]
struct Walk {
    /// The working directory; `None` once a `cd` went somewhere unknown.
    cwd: Option<PathBuf>,
    root: Option<PathBuf>,
    home: PathBuf,
    /// Files written so far (as written in the script, and resolved).
    written: Vec<PathBuf>,
    /// Something wrote file contents (a redirection, `cp`, a download).
    planted: Option<String>,
    /// A link was made: later paths may point anywhere.
    linked: bool,
    /// Text holding `$(` that bash does not run was seen (see `shell::Script`).
    hidden: bool,
    /// `TMPDIR` was assigned: `$TMPDIR` is no longer the step's private temp folder.
    tmp_moved: bool,
}

impl Walk {
    fn new(place: Place<'_>) -> Walk {
        Walk {
            cwd: Some(place.cwd.to_path_buf()),
            root: place.root.map(Path::to_path_buf),
            home: place
                .home
                .map_or_else(|| PathBuf::from(paths::UNKNOWN_HOME), Path::to_path_buf),
            written: Vec::new(),
            planted: None,
            linked: false,
            hidden: false,
            tmp_moved: false,
        }
    }

    fn spot(&self) -> Spot<'_> {
        Spot {
            cwd: self.cwd.as_deref(),
            root: self.root.as_deref(),
            home: &self.home,
            private_tmp: !self.tmp_moved,
        }
    }
}

/// What a command did that later commands of the same script depend on.
#[derive(Debug, Default)]
struct Fx {
    /// Paths it writes.
    writes: Vec<String>,
    /// It writes file contents (so a later command may run them).
    plants: bool,
    /// It makes links.
    links: bool,
    /// Where a `cd` took it: `Some(None)` somewhere unknown.
    cd: Option<Option<PathBuf>>,
}

/// Programs that only move files about: running one after a write runs nothing written.
const FILE_TOOLS: &[&str] = &[
    "mkdir", "rm", "rmdir", "cp", "mv", "ln", "touch", "chmod", "chown", "chgrp", "tee",
    "truncate", "install", "tar", "gzip", "gunzip", "zip", "unzip", "xz", "bzip2", "split", "dd",
    "cd", "pushd", "popd", "wait", "sleep", "git", "rsync", "sort", "uniq", "stat",
];

impl Classifier {
    /// The built-in rules with `user` rules before them.
    pub fn new(user: &[RuleSpec]) -> Result<Classifier, RuleError> {
        let builtin = |reason: String| RuleError {
            index: 0,
            program: "built-in".into(),
            reason,
        };
        let file: RuleFile =
            serde_norway::from_str(BUILTIN_RULES).map_err(|e| builtin(e.to_string()))?;
        let mut rules = Vec::new();
        let mut by_program: HashMap<String, Vec<usize>> = HashMap::new();
        let mut globbed = Vec::new();
        for (i, spec) in user.iter().chain(file.rules.iter()).enumerate() {
            let err = |reason: String| RuleError {
                index: i + 1,
                program: spec.program.items().join(","),
                reason,
            };
            let items = spec.program.items();
            for p in &items {
                if p.contains(['*', '?']) {
                    globbed.push(i);
                } else {
                    by_program.entry(p.clone()).or_default().push(i);
                }
            }
            let ignore_case = spec.ignore_case.unwrap_or(false);
            let any_arg = match &spec.any_arg {
                Some(v) => Some(
                    v.iter()
                        .map(|e| Pattern::new(e, ignore_case))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(err)?,
                ),
                None => None,
            };
            rules.push(Rule {
                programs: Names::new(&items).map_err(err)?,
                subcommands: spec.subcommand.as_ref().map(OneOrMany::items),
                any_arg,
                short: spec.short.as_ref().map(|s| s.chars().collect()),
                class: spec.class,
                why: spec.why.clone(),
                target: spec.target.unwrap_or(Target::All),
                effect: spec.effect.unwrap_or(Effect::Create),
            });
        }
        globbed.sort_unstable();
        globbed.dedup();
        let globs = |v: &[String]| {
            let mut b = globset::GlobSetBuilder::new();
            for g in v {
                b.add(globset::Glob::new(g).map_err(|e| builtin(format!("`{g}`: {}", e.kind())))?);
            }
            b.build().map_err(|e| builtin(e.to_string()))
        };
        let named = |v: &[String]| Names::new(v).map_err(builtin);
        Ok(Classifier {
            rules,
            by_program,
            globbed,
            wrappers: file.wrappers.into_iter().collect(),
            global_values: file.global_values.into_iter().collect(),
            privileged: named(&file.privileged)?,
            shells: file.shells.into_iter().collect(),
            interpreters: file
                .interpreters
                .into_iter()
                .map(|s| Ok((named(&s.program)?, s)))
                .collect::<Result<_, RuleError>>()?,
            hijack: globs(&file.hijack_variables)?,
            harmless: globs(&file.harmless_variables)?,
            read_only: file
                .read_only
                .iter()
                .map(|s| readonly::Entry::new(s).map_err(builtin))
                .collect::<Result<_, _>>()?,
            outputs: file
                .outputs
                .into_iter()
                .map(|s| Ok((named(&s.program)?, s)))
                .collect::<Result<_, RuleError>>()?,
            plants: file.plants,
            system: file.system_paths.iter().map(PathBuf::from).collect(),
            declared: Vec::new(),
        })
    }

    /// Classify an explicit command (no shell between codex and the program).
    pub fn classify_argv(&self, argv: &[String], place: Place<'_>) -> Verdict {
        let cmd = Simple {
            words: argv.to_vec(),
            globbed: vec![false; argv.len()],
            ..Simple::default()
        };
        let mut walk = Walk::new(place);
        self.pipeline(std::slice::from_ref(&cmd), &mut walk, 0)
    }

    /// Classify a shell script: its most dangerous command decides.
    pub fn classify_script(&self, script: &str, place: Place<'_>) -> Verdict {
        let mut walk = Walk::new(place);
        self.script(script, &mut walk, 0)
    }

    fn script(&self, script: &str, walk: &mut Walk, depth: usize) -> Verdict {
        if depth > MAX_DEPTH {
            return Verdict::destructive("commands nest too deeply to check");
        }
        let parsed = match shell::parse(script) {
            Err(shell::Unreadable(why)) => {
                return Verdict::destructive(format!("the shell script cannot be checked ({why})"));
            }
            Ok(p) => p,
        };
        walk.hidden |= parsed.hidden_substitution;
        let mut verdict = Verdict::new(SafetyClass::ReadOnly, "runs nothing that changes anything");
        if parsed.evaluated_names && walk.hidden {
            verdict = Verdict::destructive(
                "a variable's value is evaluated (arithmetic or `${!x}`), and a command \
                 substitution hidden in it would then run",
            );
        }
        if parsed.prompt_expansion {
            verdict = Verdict::destructive(
                "`${x@P}` expands a value as a prompt, running any command in it, which cannot be checked",
            );
        }
        for p in &parsed.pipelines {
            verdict = verdict.max(self.pipeline(p, walk, depth + 1));
        }
        verdict
    }

    fn pipeline(&self, cmds: &[Simple], walk: &mut Walk, depth: usize) -> Verdict {
        let mut verdict = Verdict::new(SafetyClass::ReadOnly, "reads without changing anything");
        let mut from_network = false;
        for (i, cmd) in cmds.iter().enumerate() {
            let fed = i > 0 || cmd.stdin_fed;
            let mut v = self.command(cmd, walk, depth);
            if fed && v.class < SafetyClass::Destructive && self.runs_its_input(&cmd.words) {
                let p = prog(&cmd.words);
                v = Verdict::destructive(if from_network {
                    format!("`{p}` runs code downloaded from the network")
                } else {
                    format!("`{p}` runs commands fed to it, which cannot be checked")
                });
            }
            from_network |= v.network;
            verdict = verdict.max(v);
        }
        verdict
    }

    /// The user's tools, whose declared classes raise the commands they make.
    pub fn with_declared(mut self, tools: &[crate::planner::registry::ToolSpec]) -> Classifier {
        self.declared = tools.to_vec();
        self
    }

    /// One command of a script: [`Classifier::command_itself`], at least the class a tool of
    /// the user's declares for it.
    fn command(&self, cmd: &Simple, walk: &mut Walk, depth: usize) -> Verdict {
        let v = self.command_itself(cmd, walk, depth);
        match crate::planner::registry::declared_class(&self.declared, &cmd.words) {
            Some((class, tool)) if class > v.class => Verdict {
                reason: format!("your tool `{tool}` is declared {class}"),
                network: v.network || class == SafetyClass::Network,
                class,
            },
            _ => v,
        }
    }

    /// One command of a script, in order: what it is, what it writes, and what it does to
    /// the commands after it.
    fn command_itself(&self, cmd: &Simple, walk: &mut Walk, depth: usize) -> Verdict {
        if depth > MAX_DEPTH {
            return Verdict::destructive("commands nest too deeply to check");
        }
        let mut verdict = Verdict::new(SafetyClass::ReadOnly, "reads without changing anything");
        for (name, _) in &cmd.assignments {
            if let Some(v) = self.hijacks(name) {
                return v;
            }
            if matches!(name.as_str(), "TMPDIR" | "TMP" | "TEMP") {
                walk.tmp_moved = true;
            }
        }
        // What earlier commands did, not what this one's own script does.
        let planted_before = walk.planted.clone();
        let mut fx = Fx::default();
        if let Some(first) = cmd.words.first() {
            if cmd.dynamic_program {
                return Verdict::destructive(format!(
                    "`{first}` names the program through a variable, substitution or glob, \
                     which cannot be checked"
                ));
            }
            // A program the script itself wrote (or linked) just before.
            if first.contains('/')
                && let paths::Resolved::At(p) = paths::resolve(first, walk.spot())
                && walk.written.contains(&p)
            {
                return Verdict::destructive(format!(
                    "runs `{first}`, which this line wrote just before"
                ));
            }
            verdict = self.words(&cmd.words, &cmd.globbed, walk, depth, &mut fx);
            let p = prog(&cmd.words);
            if let Some(what) = &planted_before
                && verdict.class > SafetyClass::ReadOnly
                && verdict.class < SafetyClass::Destructive
                && !FILE_TOOLS.contains(&p)
                && !verdict.network
            {
                verdict = Verdict::destructive(format!(
                    "`{p}` runs after this line {what}, and may run what was written"
                ));
            }
        }
        for r in &cmd.writes {
            let effect = match r.mode {
                WriteMode::Truncate => Effect::Overwrite,
                WriteMode::Append => Effect::Create,
                WriteMode::ReadWrite => Effect::Modify,
            };
            if let Some((class, why)) =
                paths::judge(&r.target, effect, walk.spot(), &self.plants, &self.system)
            {
                verdict = verdict.max(Verdict::new(class, why));
                fx.plants = true;
                fx.writes.push(r.target.clone());
            }
        }
        if walk.linked && !fx.writes.is_empty() && verdict.class < SafetyClass::Destructive {
            verdict = Verdict::destructive(
                "writes after this line made a link, which may point the write anywhere",
            );
        }
        // What the commands after this one inherit.
        for w in &fx.writes {
            if let paths::Resolved::At(p) = paths::resolve(w, walk.spot()) {
                walk.written.push(p);
            }
        }
        if fx.plants && walk.planted.is_none() {
            walk.planted = Some(format!(
                "wrote `{}`",
                fx.writes.first().map_or("a file", String::as_str)
            ));
        }
        walk.linked |= fx.links;
        if let Some(cd) = fx.cd {
            walk.cwd = cd;
        }
        verdict
    }

    /// A variable assignment that changes what programs run.
    fn hijacks(&self, name: &str) -> Option<Verdict> {
        let base = name.split('[').next().unwrap_or(name);
        (self.hijack.is_match(base) && !self.harmless.is_match(base)).then(|| {
            Verdict::destructive(format!(
                "`{base}=` changes what the programs it starts run or load, which cannot be checked"
            ))
        })
    }

    /// The words of one command (its program first), with what it does to the walk.
    fn words(
        &self,
        words: &[String],
        globbed: &[bool],
        walk: &mut Walk,
        depth: usize,
        fx: &mut Fx,
    ) -> Verdict {
        let Some(first) = words.first() else {
            return Verdict::new(SafetyClass::ReadOnly, "runs nothing");
        };
        if depth > MAX_DEPTH {
            return Verdict::destructive("commands nest too deeply to check");
        }
        let program = programs::Program::of(first, walk.spot());
        let p = program.name.as_str();
        let args = &words[1..];
        programs::Check {
            c: self,
            p,
            program: &program,
            args,
            globbed: globbed.get(1..).unwrap_or(&[]),
            walk,
            depth,
            fx,
        }
        .run()
    }

    /// The first plain argument: the subcommand of `git push`, `docker system prune`, past
    /// the program's own options that take a value (`git -C dir push`).
    fn subcommand<'a>(&self, p: &str, args: &'a [String]) -> Option<&'a str> {
        let global = self.global_values.get(p);
        let mut skip = false;
        for a in args {
            if skip {
                skip = false;
                continue;
            }
            if a == "--" {
                continue;
            }
            if a.starts_with('-') || a.starts_with('+') {
                // `cargo +nightly test`: a toolchain, not the subcommand.
                if let Some(g) = global
                    && !a.contains('=')
                    && g.iter().any(|o| o == a)
                {
                    skip = true;
                }
                continue;
            }
            return Some(a.as_str());
        }
        None
    }

    /// The first rule that applies to `p args`, as a verdict.
    fn by_rules(&self, p: &str, args: &[String], spot: Spot<'_>) -> Option<Verdict> {
        let mut candidates: Vec<usize> = self.by_program.get(p).cloned().unwrap_or_default();
        for &i in &self.globbed {
            if self.rules[i].programs.matches(p) {
                candidates.push(i);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let sub = self.subcommand(p, args);
        for i in candidates {
            let r = &self.rules[i];
            if let Some(subs) = &r.subcommands {
                let hit = sub.is_some_and(|s| subs.iter().any(|x| glob_eq(x, s)));
                if !hit {
                    continue;
                }
            }
            if let Some(set) = &r.any_arg {
                let mut done = false;
                let hit = args.iter().any(|a| {
                    let m = set.iter().any(|pat| pat.matches(a, done));
                    if a == "--" {
                        done = true;
                    }
                    m
                });
                if !hit {
                    continue;
                }
            }
            if let Some(letters) = &r.short {
                let hit = args
                    .iter()
                    .take_while(|a| *a != "--")
                    .any(|a| args::is_cluster(a) && a[1..].chars().any(|c| letters.contains(&c)));
                if !hit {
                    continue;
                }
            }
            let class = match r.class {
                ClassSpec::ReadOnly => SafetyClass::ReadOnly,
                ClassSpec::WritesInProject => SafetyClass::WritesInProject,
                ClassSpec::Network => SafetyClass::Network,
                ClassSpec::WritesOutsideProject => SafetyClass::WritesOutsideProject,
                ClassSpec::Destructive => SafetyClass::Destructive,
                ClassSpec::Privileged => SafetyClass::Privileged,
                ClassSpec::Writes => return Some(self.writes(p, args, r, spot)),
            };
            return Some(Verdict::new(class, format!("`{p}` {}", r.why)));
        }
        None
    }

    /// A `writes` rule: the class of the paths it names.
    fn writes(&self, p: &str, args: &[String], rule: &Rule, spot: Spot<'_>) -> Verdict {
        let mut plain: Vec<&str> = Vec::new();
        let mut after_dashes = false;
        for a in args {
            if !after_dashes && a == "--" {
                after_dashes = true;
                continue;
            }
            if after_dashes || !a.starts_with('-') || a == "-" {
                plain.push(a);
            }
        }
        // `cp -t DIR`, `--target-directory=DIR`: the destination comes first.
        let target_dir = args::Values::value_of(args, &['t'], &["--target-directory"]);
        let mut effect = rule.effect;
        let targets: Vec<&str> = match (rule.target, target_dir.first()) {
            (Target::Last, Some(dir)) => {
                effect = Effect::Create;
                vec![*dir]
            }
            (Target::All, _) => plain.clone(),
            (Target::Last, None) => {
                let last = plain.last().copied();
                // Into a folder: the files land inside it, replacing none by intent.
                if last.is_some_and(|l| l.ends_with('/') || is_dir(l, spot)) {
                    effect = Effect::Create;
                }
                last.into_iter().collect()
            }
        };
        let mut v = Verdict::new(SafetyClass::WritesInProject, format!("`{p}` {}", rule.why));
        for t in targets {
            if let Some((class, why)) = paths::judge(t, effect, spot, &self.plants, &self.system)
                && class > v.class
            {
                v = Verdict::new(class, format!("`{p}` {}: it {why}", rule.why));
            }
        }
        // `mv`: the sources go away.
        if p == "mv" {
            for s in plain.iter().take(plain.len().saturating_sub(1)) {
                if let Some((class, why)) =
                    paths::judge(s, Effect::Delete, spot, &self.plants, &self.system)
                    && class > v.class
                {
                    v = Verdict::new(class, format!("`mv` moves files away: it {why}"));
                }
            }
        }
        v
    }

    /// A shell or interpreter with no program of its own: it runs whatever comes on stdin
    /// (or on `/dev/stdin`, or from a substitution), seen through wrappers like `env`.
    fn runs_its_input(&self, words: &[String]) -> bool {
        wrappers::runs_its_input(self, words, 0)
    }
}

fn is_dir(path: &str, spot: Spot<'_>) -> bool {
    matches!(paths::resolve(path, spot), paths::Resolved::At(p) if p.is_dir())
}

fn basename(word: &str) -> &str {
    let w = word.rsplit('/').next().unwrap_or(word);
    w.trim_start_matches('\\')
}

fn prog(words: &[String]) -> &str {
    words.first().map_or("", |w| basename(w))
}

fn glob_eq(pattern: &str, s: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => s.starts_with(prefix),
        None => pattern == s,
    }
}
