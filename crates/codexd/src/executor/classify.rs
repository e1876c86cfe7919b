//! Safety classification: every command gets a class (read-only … privileged) and a reason,
//! from data-driven rules over its parsed words (config/safety_rules.yaml, plus the user's
//! own rules first). Wrappers (`env`, `xargs`, `sudo`, ...) are seen through; shell scripts
//! (`sh -c`, pipelines, redirections, substitutions) are parsed and classified by their most
//! dangerous part; what cannot be parsed is destructive.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use codex_proto::types::SafetyClass;
use serde::{Deserialize, Serialize};

use super::shell::{self, Simple};

/// The built-in rules.
pub const BUILTIN_RULES: &str = include_str!("../../../../config/safety_rules.yaml");

/// Wrappers whose options take a value (so the value is not the command).
const OPTION_ARGS: &[(&str, &[&str])] = &[
    (
        "env",
        &["-u", "--unset", "-C", "--chdir", "-S", "--split-string"],
    ),
    ("nice", &["-n", "--adjustment"]),
    ("ionice", &["-c", "-n", "-p", "-t"]),
    ("timeout", &["-s", "--signal", "-k", "--kill-after"]),
    ("stdbuf", &["-i", "-o", "-e"]),
    (
        "xargs",
        &[
            "-a",
            "-d",
            "-E",
            "-e",
            "-I",
            "-i",
            "-L",
            "-l",
            "-n",
            "-P",
            "-s",
            "--delimiter",
            "--max-args",
            "--max-procs",
            "--replace",
            "--arg-file",
        ],
    ),
    ("parallel", &["-j", "--jobs", "-S", "--sshlogin"]),
    ("flock", &["-w", "--timeout", "-E", "--conflict-exit-code"]),
    ("strace", &["-e", "-o", "-p", "-s", "-u"]),
    ("watch", &["-n", "--interval", "-d"]),
    ("chrt", &[]),
    ("exec", &["-a"]),
    ("time", &["-f", "--format", "-o", "--output"]),
    (
        "sudo",
        &[
            "-u",
            "--user",
            "-g",
            "--group",
            "-C",
            "-D",
            "--chdir",
            "-h",
            "--host",
            "-p",
            "--prompt",
            "-r",
            "--role",
            "-t",
            "--type",
            "-U",
            "--other-user",
        ],
    ),
    ("doas", &["-u", "-C"]),
    (
        "su",
        &["-s", "--shell", "-g", "--group", "-G", "--supp-group"],
    ),
];

/// Wrappers whose first plain word is a value, not the command (`timeout 5s cmd`).
const LEADING_VALUE: &[&str] = &["timeout", "chrt", "taskset", "flock"];

/// Interpreters that run a program read from their input when given none.
const INTERPRETERS: &[&str] = &[
    "python", "python3", "python2", "perl", "ruby", "node", "php", "lua",
];

/// A rule as written in YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Program basename, or a glob, or a list of them.
    pub program: OneOrMany,
    /// The first plain argument is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcommand: Option<OneOrMany>,
    /// Any argument matches one of these globs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_arg: Option<Vec<String>>,
    /// A short-flag cluster (`-rf`) holds one of these letters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
    /// The class.
    pub class: ClassSpec,
    /// Why, in words shown to the user.
    pub why: String,
    /// For `writes`: which plain arguments are written (`all` or `last`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
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
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
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
    wrappers: Vec<String>,
    privileged: Vec<String>,
    shells: Vec<String>,
    rules: Vec<RuleSpec>,
}

/// Why a rule set could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("safety rule {index} (`{program}`): {reason}")]
pub struct RuleError {
    /// Its position, from 1.
    pub index: usize,
    /// Its program pattern.
    pub program: String,
    /// What is wrong.
    pub reason: String,
}

struct Rule {
    programs: Vec<globset::GlobMatcher>,
    subcommands: Option<Vec<String>>,
    any_arg: Option<globset::GlobSet>,
    short: Option<Vec<char>>,
    class: ClassSpec,
    why: String,
    target: Target,
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
}

/// Where a command runs: writes are judged against the project root (or the folder itself).
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The working directory.
    pub cwd: &'a Path,
    /// The project root, when there is one.
    pub root: Option<&'a Path>,
}

/// The compiled rules.
pub struct Classifier {
    rules: Vec<Rule>,
    exact: HashMap<String, Vec<usize>>,
    globbed: Vec<usize>,
    wrappers: HashSet<String>,
    privileged: HashSet<String>,
    shells: HashSet<String>,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// How deep wrappers and scripts may nest before the command counts as unreadable.
const MAX_DEPTH: usize = 8;

impl Classifier {
    /// The built-in rules with `user` rules before them.
    pub fn new(user: &[RuleSpec]) -> Result<Classifier, RuleError> {
        let file: RuleFile = serde_norway::from_str(BUILTIN_RULES).map_err(|e| RuleError {
            index: 0,
            program: "built-in".into(),
            reason: e.to_string(),
        })?;
        let mut rules = Vec::new();
        let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
        let mut globbed = Vec::new();
        for (i, spec) in user.iter().chain(file.rules.iter()).enumerate() {
            let err = |reason: String| RuleError {
                index: i + 1,
                program: spec.program.items().join(","),
                reason,
            };
            let mut programs = Vec::new();
            let mut is_glob = false;
            for p in spec.program.items() {
                // Only `*` and `?` make a program pattern a glob: `[` is a program name.
                if p.contains(['*', '?']) {
                    is_glob = true;
                    programs.push(
                        globset::Glob::new(p)
                            .map_err(|e| err(e.kind().to_string()))?
                            .compile_matcher(),
                    );
                } else {
                    exact.entry(p.to_string()).or_default().push(i);
                }
            }
            if is_glob {
                globbed.push(i);
            }
            let any_arg = match &spec.any_arg {
                Some(globs) => {
                    let mut b = globset::GlobSetBuilder::new();
                    for g in globs {
                        b.add(
                            globset::GlobBuilder::new(g)
                                .literal_separator(false)
                                .build()
                                .map_err(|e| err(format!("`{g}`: {}", e.kind())))?,
                        );
                    }
                    Some(b.build().map_err(|e| err(e.to_string()))?)
                }
                None => None,
            };
            rules.push(Rule {
                programs,
                subcommands: spec
                    .subcommand
                    .as_ref()
                    .map(|s| s.items().iter().map(|x| x.to_string()).collect()),
                any_arg,
                short: spec.short.as_ref().map(|s| s.chars().collect()),
                class: spec.class,
                why: spec.why.clone(),
                target: spec.target.unwrap_or(Target::All),
            });
        }
        Ok(Classifier {
            rules,
            exact,
            globbed,
            wrappers: file.wrappers.into_iter().collect(),
            privileged: file.privileged.into_iter().collect(),
            shells: file.shells.into_iter().collect(),
        })
    }

    /// Classify an explicit command (no shell between codex and the program).
    pub fn classify_argv(&self, argv: &[String], place: Place<'_>) -> Verdict {
        let cmd = Simple {
            words: argv.to_vec(),
            ..Simple::default()
        };
        self.pipeline(std::slice::from_ref(&cmd), place, 0)
    }

    /// Classify a shell script: its most dangerous command decides.
    pub fn classify_script(&self, script: &str, place: Place<'_>) -> Verdict {
        self.script(script, place, 0)
    }

    fn script(&self, script: &str, place: Place<'_>, depth: usize) -> Verdict {
        if depth > MAX_DEPTH {
            return Verdict::new(
                SafetyClass::Destructive,
                "commands nest too deeply to check",
            );
        }
        match shell::parse(script) {
            Err(shell::Unreadable(why)) => Verdict::new(
                SafetyClass::Destructive,
                format!("the shell script cannot be checked ({why})"),
            ),
            Ok(parsed) => {
                // `cd` moves where later commands of the script write: follow it. Somewhere
                // that cannot be known (`cd ~`, `cd $X`) counts as outside the project.
                let mut cwd = place.cwd.to_path_buf();
                let mut verdict =
                    Verdict::new(SafetyClass::ReadOnly, "runs nothing that changes anything");
                for p in &parsed.pipelines {
                    let here = Place {
                        cwd: &cwd,
                        root: place.root,
                    };
                    verdict = verdict.max(self.pipeline(p, here, depth + 1));
                    if let [only] = p.as_slice()
                        && matches!(only.words.first().map(String::as_str), Some("cd" | "pushd"))
                    {
                        cwd = match only.words.get(1).map(String::as_str) {
                            Some(d) if !d.starts_with('~') && !d.contains('$') && d != "-" => {
                                normalize(&cwd.join(d))
                            }
                            _ => PathBuf::from("/nonexistent/unknown-folder"),
                        };
                    }
                }
                verdict
            }
        }
    }

    fn pipeline(&self, cmds: &[Simple], place: Place<'_>, depth: usize) -> Verdict {
        let mut verdict = Verdict::new(SafetyClass::ReadOnly, "reads without changing anything");
        for (i, cmd) in cmds.iter().enumerate() {
            let fed = i > 0;
            let mut v = self.simple(cmd, place, depth, fed);
            if fed && v.class < SafetyClass::Destructive && self.runs_its_input(&cmd.words) {
                let from_network = cmds[..i]
                    .iter()
                    .any(|c| self.simple(c, place, depth, false).class == SafetyClass::Network);
                v = Verdict::new(
                    SafetyClass::Destructive,
                    if from_network {
                        format!(
                            "`{}` runs code downloaded from the network",
                            prog(&cmd.words)
                        )
                    } else {
                        format!(
                            "`{}` runs commands piped into it, which cannot be checked",
                            prog(&cmd.words)
                        )
                    },
                );
            }
            verdict = verdict.max(v);
        }
        verdict
    }

    /// A shell or interpreter with no program of its own: it runs whatever comes on stdin
    /// (or on `/dev/stdin`, or from a substitution), seen through wrappers like `env`.
    fn runs_its_input(&self, words: &[String]) -> bool {
        let mut words = words;
        for _ in 0..MAX_DEPTH {
            let p = prog(words);
            if self.wrappers.contains(p) || self.privileged.contains(p) {
                match self.inner_command(p, &words[1..]) {
                    Some(inner) => words = inner,
                    None => return false,
                }
            } else {
                break;
            }
        }
        let p = prog(words);
        let rest: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
        let from_input = |a: &&&str| **a == "/dev/stdin" || **a == "-" || a.contains("$(...)");
        let plain: Vec<&&str> = rest.iter().filter(|a| !a.starts_with('-')).collect();
        if self.shells.contains(p) {
            let has_c = rest.iter().any(|a| is_short_cluster(a) && a.contains('c'));
            let reads_stdin = rest.iter().any(|a| is_short_cluster(a) && a.contains('s'));
            return !has_c && (plain.is_empty() || reads_stdin || plain.iter().any(from_input));
        }
        if INTERPRETERS.iter().any(|i| p.starts_with(i)) {
            let inline = rest.iter().any(|a| matches!(*a, "-c" | "-e" | "-E" | "-m"));
            return !inline && (plain.is_empty() || plain.iter().any(from_input));
        }
        matches!(p, "source" | ".") && plain.iter().any(from_input)
    }

    fn simple(&self, cmd: &Simple, place: Place<'_>, depth: usize, _fed: bool) -> Verdict {
        if depth > MAX_DEPTH {
            return Verdict::new(
                SafetyClass::Destructive,
                "commands nest too deeply to check",
            );
        }
        // Variables that make the next program run something else.
        const HIJACK: &[&str] = &[
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "BASH_ENV",
            "ENV",
            "PATH",
            "PROMPT_COMMAND",
            "PAGER",
            "EDITOR",
            "VISUAL",
            "SHELLOPTS",
            "IFS",
        ];
        if let Some(name) = cmd
            .assignments
            .iter()
            .find(|n| HIJACK.contains(&n.as_str()) || n.starts_with("GIT_"))
        {
            return Verdict::new(
                SafetyClass::Destructive,
                format!("`{name}=` changes what the command runs, which cannot be checked"),
            );
        }
        // `bash <(curl ...)`, `source <(...)`, `sh /dev/stdin`: a script made by a command.
        if self.runs_its_input(&cmd.words)
            && cmd
                .words
                .iter()
                .skip(1)
                .any(|w| w.contains("$(...)") || w == "/dev/stdin")
        {
            return Verdict::new(
                SafetyClass::Destructive,
                format!(
                    "`{}` runs a script produced by another command, which cannot be checked",
                    prog(&cmd.words)
                ),
            );
        }
        if cmd.stdin_fed && self.runs_its_input(&cmd.words) {
            return Verdict::new(
                SafetyClass::Destructive,
                format!(
                    "`{}` runs commands from a file or here-document, which cannot be checked",
                    prog(&cmd.words)
                ),
            );
        }
        let mut verdict = if cmd.dynamic_program {
            Verdict::new(
                SafetyClass::Destructive,
                format!(
                    "`{}` names the program through a variable or substitution, which cannot be checked",
                    cmd.words.first().map_or("", String::as_str)
                ),
            )
        } else {
            self.words(&cmd.words, place, depth)
        };
        for target in &cmd.writes {
            if let Some(class) = path_class(target, place) {
                let why = match class {
                    SafetyClass::Destructive => format!("writes straight to the device `{target}`"),
                    SafetyClass::WritesOutsideProject => {
                        format!("writes `{target}`, outside the project")
                    }
                    _ => format!("writes `{target}`"),
                };
                verdict = verdict.max(Verdict::new(class, why));
            }
        }
        verdict
    }

    fn words(&self, words: &[String], place: Place<'_>, depth: usize) -> Verdict {
        let Some(first) = words.first() else {
            return Verdict::new(SafetyClass::ReadOnly, "runs nothing");
        };
        let p = basename(first);
        let args = &words[1..];
        if self.privileged.contains(p) {
            let inner = self.inner_command(p, args);
            let mut v = Verdict::new(
                SafetyClass::Privileged,
                format!("`{p}` runs a command as root"),
            );
            if let Some(inner) = inner {
                let iv = self.words(inner, place, depth + 1);
                if iv.class == SafetyClass::Privileged {
                    v = iv;
                }
            }
            return v;
        }
        if let Some(v) = self.special(p, args, place, depth) {
            return v;
        }
        if self.wrappers.contains(p) {
            return match self.inner_command(p, args) {
                None => Verdict::new(
                    SafetyClass::ReadOnly,
                    format!("`{p}` alone changes nothing"),
                ),
                Some(inner) => {
                    let iv = self.words(inner, place, depth + 1);
                    // Running a writing command on every line of input is bulk deletion or
                    // editing: `xargs rm`, `parallel mv`.
                    if matches!(p, "xargs" | "parallel")
                        && iv.class >= SafetyClass::WritesInProject
                        && iv.class < SafetyClass::Destructive
                        && !matches!(iv.class, SafetyClass::Network)
                    {
                        Verdict::new(
                            SafetyClass::Destructive,
                            format!(
                                "`{p}` runs `{}` on every input, which may touch any file",
                                prog(inner)
                            ),
                        )
                    } else {
                        iv
                    }
                }
            };
        }
        if self.shells.contains(p) {
            if let Some(script) = shell_script(args) {
                let v = self.script(script, place, depth + 1);
                return Verdict::new(v.class, format!("the `{p} -c` script: {}", v.reason));
            }
            return Verdict::new(
                SafetyClass::WritesInProject,
                format!("`{p}` runs a script, assumed to write only in the project"),
            );
        }
        if p == "eval" {
            let v = self.script(&args.join(" "), place, depth + 1);
            return Verdict::new(v.class, format!("`eval`: {}", v.reason));
        }
        if p == "alias" {
            // An alias is run later as the command it names: judge it as that command now.
            return args
                .iter()
                .filter_map(|a| a.split_once('=').map(|(_, v)| v))
                .map(|v| self.script(v, place, depth + 1))
                .fold(
                    Verdict::new(SafetyClass::ReadOnly, "`alias` defines nothing dangerous"),
                    Verdict::max,
                );
        }
        let mut verdict = self.by_rules(p, args, place);
        if p == "find" {
            for inner in find_execs(args) {
                let iv = self.words(inner, place, depth + 1);
                let v = if iv.class >= SafetyClass::WritesInProject
                    && iv.class != SafetyClass::Network
                {
                    Verdict::new(
                        SafetyClass::Destructive,
                        format!("`find` runs `{}` on every file it finds", prog(inner)),
                    )
                } else {
                    iv
                };
                verdict = verdict.max(v);
            }
        }
        verdict
    }

    /// Programs whose danger lies in how their arguments are read: checked in code.
    fn special(&self, p: &str, args: &[String], place: Place<'_>, depth: usize) -> Option<Verdict> {
        let script_after = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .map(String::as_str)
        };
        let as_script = |what: &str, script: &str| {
            let v = self.script(script, place, depth + 1);
            Verdict::new(v.class, format!("{what}: {}", v.reason))
        };
        let destructive = |why: String| Some(Verdict::new(SafetyClass::Destructive, why));
        match p {
            // `env -S 'cmd args'` splits a string into the command.
            "env" => {
                let split = args.iter().enumerate().find_map(|(i, a)| {
                    if a == "-S" || a == "--split-string" {
                        args.get(i + 1).cloned()
                    } else {
                        a.strip_prefix("--split-string=")
                            .or_else(|| a.strip_prefix("-S"))
                            .filter(|v| !v.is_empty())
                            .map(String::from)
                    }
                })?;
                let rest = args.iter().skip_while(|a| !a.contains(&split)).skip(1);
                let line = std::iter::once(split.clone())
                    .chain(rest.cloned())
                    .collect::<Vec<_>>()
                    .join(" ");
                Some(as_script("`env -S`", &line))
            }
            "watch" => {
                let inner = self.inner_command(p, args)?;
                Some(as_script("`watch` runs", &inner.join(" ")))
            }
            "flock" | "script" | "sg" => script_after("-c")
                .or_else(|| script_after("--command"))
                .map(|s| as_script(&format!("`{p} -c`"), s)),
            "trap" => args.first().map(|s| as_script("`trap`", s)),
            "hash" if args.iter().any(|a| a == "-p") => destructive(
                "`hash -p` makes a command name run another program".into(),
            ),
            // Builtins that evaluate array subscripts or strings: a substitution inside runs.
            "let" | "declare" | "typeset" | "local" | "export" | "readonly" | "printf"
            | "read" | "unset" | "test" | "[" | "[["
                if args.iter().any(|a| a.contains("$(") || a.contains('`')) =>
            {
                destructive(format!("`{p}` would run a command substitution in its arguments"))
            }
            "npx" | "bunx" => destructive(format!(
                "`{p}` downloads and runs a package, which cannot be checked"
            )),
            "pnpm" | "yarn" if args.first().is_some_and(|a| a == "dlx") => destructive(format!(
                "`{p} dlx` downloads and runs a package, which cannot be checked"
            )),
            p if INTERPRETERS.iter().any(|i| p.starts_with(i))
                && args.iter().any(|a| matches!(a.as_str(), "-c" | "-e" | "-E")) =>
            {
                destructive(format!("`{p}` runs inline code, which cannot be checked"))
            }
            p if INTERPRETERS.iter().any(|i| p.starts_with(i))
                && args.windows(2).any(|w| w[0] == "-m" && w[1] == "twine") =>
            {
                destructive("`twine` publishes a package for everyone".into())
            }
            "sed" if sed_runs_or_writes(args) => destructive(
                "the `sed` script runs commands or writes files (`e`, `w`), which cannot be checked"
                    .into(),
            ),
            "awk" | "gawk" | "mawk" | "nawk" if awk_runs_or_writes(args) => destructive(
                "the awk program runs commands or writes files, which cannot be checked".into(),
            ),
            "tar" if args.iter().any(|a| {
                a.starts_with("--checkpoint-action")
                    || a.starts_with("--to-command")
                    || a.starts_with("--use-compress-program")
                    || a.starts_with("--info-script")
                    || a.starts_with("--new-volume-script")
                    || a == "-I"
                    || a == "-F"
            }) =>
            {
                destructive("`tar` is told to run a command".into())
            }
            "tar" => {
                let dir = script_after("-C").or_else(|| script_after("--directory"))?;
                match path_class(dir, place) {
                    Some(c) if c > SafetyClass::WritesInProject => Some(Verdict::new(
                        c,
                        format!("`tar` works in `{dir}`, outside the project"),
                    )),
                    _ => None,
                }
            }
            // `uniq IN OUT`, `xxd [-r] IN OUT`: a second file name is written.
            "uniq" | "xxd" => {
                let plain: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
                let out = plain.get(1)?;
                path_class(out, place).map(|c| {
                    Verdict::new(c, format!("`{p}` writes its output to `{out}`"))
                })
            }
            "zip" if args.iter().any(|a| a == "-TT" || a.starts_with("--unzip-command")) => {
                destructive("`zip` is told to run a command".into())
            }
            "rsync" if args.iter().any(|a| a == "-e" || a.starts_with("--rsh")) => destructive(
                "`rsync -e` runs a command of your choosing as its transport".into(),
            ),
            "git" if args.iter().any(|a| a == "-c" || a.starts_with("--config-env")) => destructive(
                "`git -c` sets configuration for this command, which can make it run commands"
                    .into(),
            ),
            "docker" | "podman"
                if args.iter().any(|a| {
                    a == "--privileged"
                        || a.starts_with("-v/:")
                        || a.starts_with("--volume=/:")
                        || a.starts_with("/:")
                        || a == "--pid=host"
                }) =>
            {
                Some(Verdict::new(
                    SafetyClass::Privileged,
                    format!("`{p}` given the host's root or privileges is as good as root"),
                ))
            }
            _ => None,
        }
    }

    fn by_rules(&self, p: &str, args: &[String], place: Place<'_>) -> Verdict {
        let mut candidates: Vec<usize> = self.exact.get(p).cloned().unwrap_or_default();
        for &i in &self.globbed {
            if self.rules[i].programs.iter().any(|g| g.is_match(p)) {
                candidates.push(i);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let sub = subcommand(args);
        for i in candidates {
            let r = &self.rules[i];
            if let Some(subs) = &r.subcommands {
                let hit = sub.is_some_and(|s| subs.iter().any(|x| glob_eq(x, s)));
                if !hit {
                    continue;
                }
            }
            if let Some(set) = &r.any_arg {
                // After `--` every argument is a name, so flag-like ones no longer count.
                let mut after_dashes = false;
                let hit = args.iter().any(|a| {
                    let counts = !(after_dashes && a.starts_with('-'));
                    if a == "--" {
                        after_dashes = true;
                    }
                    counts && set.is_match(a.as_str())
                });
                if !hit {
                    continue;
                }
            }
            if let Some(letters) = &r.short {
                let hit = args
                    .iter()
                    .take_while(|a| *a != "--")
                    .any(|a| is_short_cluster(a) && a[1..].chars().any(|c| letters.contains(&c)));
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
                ClassSpec::Writes => return writes(p, args, r, place),
            };
            return Verdict::new(class, format!("`{p}` {}", r.why));
        }
        Verdict::new(
            SafetyClass::WritesInProject,
            format!("`{p}` has no safety rule; assumed to write only in the project"),
        )
    }

    /// The command a wrapper runs: its words after the wrapper's own options.
    fn inner_command<'w>(&self, p: &str, args: &'w [String]) -> Option<&'w [String]> {
        let with_value = OPTION_ARGS
            .iter()
            .find(|(name, _)| *name == p)
            .map_or(&[][..], |(_, opts)| *opts);
        let mut i = 0;
        let mut leading_value = LEADING_VALUE.contains(&p);
        while let Some(a) = args.get(i) {
            if a == "--" {
                i += 1;
                break;
            }
            if a.starts_with('-') && a.len() > 1 {
                i += if with_value.contains(&a.as_str()) {
                    2
                } else {
                    1
                };
                continue;
            }
            if p == "env" && a.contains('=') {
                i += 1;
                continue;
            }
            if leading_value {
                leading_value = false;
                i += 1;
                continue;
            }
            break;
        }
        // `su -c 'cmd'`: the command is a script.
        args.get(i..).filter(|rest| !rest.is_empty())
    }
}

fn writes(p: &str, args: &[String], rule: &Rule, place: Place<'_>) -> Verdict {
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
    let target_dir = args.iter().enumerate().find_map(|(i, a)| {
        if a == "-t" || a == "--target-directory" {
            args.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix("--target-directory=")
        }
    });
    let targets: Vec<&str> = match (rule.target, target_dir) {
        (Target::Last, Some(dir)) => vec![dir],
        (Target::All, _) => plain,
        (Target::Last, None) => plain.last().copied().into_iter().collect(),
    };
    let mut v = Verdict::new(SafetyClass::WritesInProject, format!("`{p}` {}", rule.why));
    for t in targets {
        if let Some(class) = path_class(t, place)
            && class > v.class
        {
            v = Verdict::new(
                class,
                if class == SafetyClass::Destructive {
                    format!("`{p}` {} on the device `{t}`", rule.why)
                } else {
                    format!("`{p}` {} outside the project (`{t}`)", rule.why)
                },
            );
        }
    }
    v
}

/// The class of writing `path`: `None` for sinks like /dev/null.
fn path_class(path: &str, place: Place<'_>) -> Option<SafetyClass> {
    match path {
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "-" => return None,
        p if p.starts_with("/dev/fd/") || p.starts_with("/proc/self/fd/") => return None,
        p if p.starts_with("/dev/") => return Some(SafetyClass::Destructive),
        _ => {}
    }
    if path.starts_with('~') || path.contains('$') {
        return Some(SafetyClass::WritesOutsideProject);
    }
    let full = normalize(&place.cwd.join(path));
    // The shared temp folders are outside too: a confined step writes only its own.
    let inside = place.root.is_some_and(|root| full.starts_with(root));
    Some(if inside {
        SafetyClass::WritesInProject
    } else {
        SafetyClass::WritesOutsideProject
    })
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn basename(word: &str) -> &str {
    let w = word.rsplit('/').next().unwrap_or(word);
    w.trim_start_matches('\\')
}

fn prog(words: &[String]) -> &str {
    words.first().map_or("", |w| basename(w))
}

fn is_short_cluster(a: &str) -> bool {
    a.len() > 1 && a.starts_with('-') && !a.starts_with("--")
}

/// The first plain argument: the subcommand of `git push`, `docker system prune`.
fn subcommand(args: &[String]) -> Option<&str> {
    let mut skip_value = false;
    for a in args {
        if skip_value {
            skip_value = false;
            continue;
        }
        // Options of the program itself that take a value: `git -C dir`, `docker -H host`.
        if matches!(
            a.as_str(),
            "-C" | "-c"
                | "-H"
                | "--host"
                | "--context"
                | "--kube-context"
                | "--kubeconfig"
                | "--namespace"
                | "-n"
                | "--git-dir"
                | "--work-tree"
                | "--manifest-path"
                | "-w"
                | "--workspace"
                | "--log-level"
                | "--config"
                | "-p"
                | "--profile"
                | "--region"
        ) {
            skip_value = true;
            continue;
        }
        // `cargo +nightly test`: a toolchain, not the subcommand.
        if a.starts_with('-') || a.starts_with('+') {
            continue;
        }
        return Some(a.as_str());
    }
    None
}

fn glob_eq(pattern: &str, s: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => s.starts_with(prefix),
        None => pattern == s,
    }
}

/// The script of `sh -c SCRIPT` (also `-lc`, `-ec`, ...).
fn shell_script(args: &[String]) -> Option<&str> {
    let i = args
        .iter()
        .position(|a| is_short_cluster(a) && a[1..].contains('c'))?;
    let next = args.get(i + 1)?;
    if next == "--" {
        return args.get(i + 2).map(String::as_str);
    }
    Some(next.as_str())
}

/// Whether a sed script runs commands (`e`, the `e` flag of `s`) or writes files (`w`, `W`,
/// the `w` flag), or comes from a file (`-f`), which cannot be checked.
fn sed_runs_or_writes(args: &[String]) -> bool {
    let mut scripts: Vec<&str> = Vec::new();
    let mut it = args.iter().peekable();
    let mut explicit = false;
    while let Some(a) = it.next() {
        match a.as_str() {
            "-f" | "--file" => return true,
            s if s.starts_with("--file=") => return true,
            "-e" | "--expression" => {
                explicit = true;
                if let Some(s) = it.next() {
                    scripts.push(s);
                }
            }
            s if s.starts_with("--expression=") => {
                explicit = true;
                scripts.push(&s["--expression=".len()..]);
            }
            s if !s.starts_with('-') && !explicit && scripts.is_empty() => scripts.push(s),
            _ => {}
        }
    }
    scripts.iter().any(|s| sed_script_is_dangerous(s))
}

fn sed_script_is_dangerous(script: &str) -> bool {
    for cmd in script.split(['\n', ';']) {
        // Drop an address (`1`, `$`, `/re/`, `1,5`) and `!` before the command letter.
        let c = cmd.trim_start();
        let c = c.trim_start_matches(|ch: char| {
            ch.is_ascii_digit() || matches!(ch, '$' | ',' | '!' | ' ')
        });
        let c = if let Some(rest) = c.strip_prefix('/') {
            rest.split_once('/')
                .map_or("", |(_, after)| after)
                .trim_start()
        } else {
            c
        };
        let mut chars = c.chars();
        match chars.next() {
            Some('e') | Some('w') | Some('W') => return true,
            Some('s') => {
                let Some(delim) = chars.next() else { continue };
                let body: String = chars.collect();
                let parts: Vec<&str> = body.split(delim).collect();
                if let Some(flags) = parts.get(2)
                    && flags.chars().any(|f| f == 'e' || f == 'w')
                {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// Whether an awk program runs commands or writes files: `system(...)`, `print ... | cmd`,
/// `cmd | getline`, `print ... > file`, or a program from a file (`-f`).
fn awk_runs_or_writes(args: &[String]) -> bool {
    static PRINT_TO: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r#"printf?\b[^;{}]*(>|\|)"#).ok());
    if args.iter().any(|a| a == "-f" || a.starts_with("--file")) {
        return true;
    }
    args.iter().any(|a| {
        a.contains("system")
            || a.contains("getline")
            || PRINT_TO.as_ref().is_some_and(|re| re.is_match(a))
    })
}

/// The commands of every `-exec CMD ... ;` (or `+`, `-execdir`, `-ok`) of a `find`.
fn find_execs(args: &[String]) -> Vec<&[String]> {
    let mut out = Vec::new();
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
                out.push(&args[start..start + len]);
            }
            i = start + len + 1;
        } else {
            i += 1;
        }
    }
    out
}
