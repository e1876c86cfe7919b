//! Escalation, end to end: a step codex runs cannot widen what codex may run. A confined step
//! (unasked, default comfort, no terminal, no `--yes`) that calls `codex rules allow '*'`,
//! `codex prefs set autonomy_comfort high`, `codex forget --all`, `codex teach`, `codex approve`
//! and the like, or writes the same JSON-RPC requests straight to `$CODEX_SOCKET`, changes
//! nothing: no rule, comfort, forgotten run, playbook or answered approval, and a destructive
//! command is still refused without a terminal afterwards. Confined steps cannot even connect
//! to the socket; an unconfined step (approved on a terminal) connects and is refused because
//! the request comes from a step. An allow rule that would let a destructive command run unasked
//! takes a yes typed on the terminal.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};

use codex_e2e::{Daemon, Home, bin, eventually, have};
use serde_json::{Value, json};

const CARGO_TOML: &str = "[package]\nname = \"proj\"\nversion = \"0.1.0\"\n";

/// Planted in the project: one JSON-RPC request (`rpc.py METHOD PARAMS-JSON`) on
/// `$CODEX_SOCKET`; writes `connect failed: ...` or `reply: LINE` to `rpc.out`. A script file
/// rather than `python3 -c`, which is always asked and so would never get to try.
const RPC_PY: &str = r#"import json, os, socket, sys
method, params = sys.argv[1], json.loads(sys.argv[2])
with open("rpc.out", "w") as out:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(os.environ["CODEX_SOCKET"])
    except OSError as e:
        out.write("connect failed: %s\n" % e)
        sys.exit(1)
    req = {"jsonrpc": "2.0", "id": 4242, "method": method, "params": params}
    s.sendall((json.dumps(req) + "\n").encode())
    for line in s.makefile("r"):
        msg = json.loads(line)
        if msg.get("id") == 4242 and ("result" in msg or "error" in msg):
            out.write("reply: " + line)
            break
    else:
        out.write("no reply\n")
"#;

/// What a step must not be able to change.
#[derive(Debug, Clone, Default, PartialEq)]
struct State {
    rules: Vec<String>,
    comfort: String,
    verbosity: String,
    playbooks: String,
    pending: Vec<u64>,
    sibling: Vec<String>,
    jobs: String,
}

/// A daemon with something to lose: two runs, a deny rule, a setting, a playbook, and an
/// approval held for `touch ../sibling/new` (a detached run nobody approved).
struct World {
    h: Home,
    _d: Daemon,
    proj: PathBuf,
    sibling: PathBuf,
    held: u64,
    runs: Vec<u64>,
    before: State,
}

fn json_of(h: &Home, args: &[&str]) -> Value {
    h.codex(args).ok().json()
}

fn pending(h: &Home) -> Vec<u64> {
    json_of(h, &["--json", "approvals"])["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect()
}

fn run_ids(h: &Home) -> Vec<u64> {
    json_of(h, &["--json", "history", "--limit", "1000"])["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_u64().unwrap())
        .collect()
}

fn rules(h: &Home) -> Vec<String> {
    json_of(h, &["--json", "rules"])["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let f = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            format!("{} `{}` ({})", f("kind"), f("pattern"), f("source"))
        })
        .collect()
}

fn has_rule(h: &Home, kind: &str, pattern: &str) -> bool {
    json_of(h, &["--json", "rules"])["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["kind"] == kind && r["pattern"] == pattern)
}

impl World {
    fn new() -> World {
        let h = Home::new();
        let d = h.start();
        let proj = h.project("proj", &[("Cargo.toml", CARGO_TOML), ("rpc.py", RPC_PY)]);
        let sibling = h.scratch().join("sibling");
        std::fs::create_dir_all(&sibling).unwrap();
        std::fs::write(sibling.join("keep.txt"), "keep me\n").unwrap();
        h.codex_in(&proj, &["run", "--", "true"]).ok();
        h.codex_in(&proj, &["run", "--", "echo", "hello"]).ok();
        h.codex(&["rules", "deny", "git push --force*"]).ok();
        h.codex(&["prefs", "set", "verbosity", "terse"]).ok();
        h.codex_in(&proj, &["teach", "build it", "--", "cargo", "build"])
            .ok();
        h.codex_in(&proj, &["run", "--detach", "--", "touch", "../sibling/new"])
            .ok();
        eventually("the approval is held", || pending(&h).len() == 1);
        let held = pending(&h)[0];
        let runs = run_ids(&h);
        let mut w = World {
            h,
            _d: d,
            proj,
            sibling,
            held,
            runs,
            before: State::default(),
        };
        w.before = w.state();
        w
    }

    fn state(&self) -> State {
        let prefs = json_of(&self.h, &["--json", "prefs", "show"]);
        // Only what is set: the learned value moves with the prompts the test answers.
        let setting = |k: &str| {
            let s = &prefs["style"][k];
            match s["source"].as_str() {
                Some("set") => format!("{} (set)", s["value"].as_str().unwrap_or_default()),
                _ => "not set".to_string(),
            }
        };
        let mut sibling: Vec<String> = std::fs::read_dir(&self.sibling)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        sibling.sort();
        State {
            rules: rules(&self.h),
            comfort: setting("autonomy_comfort"),
            verbosity: setting("verbosity"),
            playbooks: json_of(&self.h, &["--json", "playbooks"])["playbooks"].to_string(),
            pending: pending(&self.h),
            sibling,
            jobs: json_of(&self.h, &["--json", "schedule", "list"])["jobs"].to_string(),
        }
    }

    /// What changed since the world was made, and whether a destructive command still waits
    /// for a terminal.
    fn damage(&self) -> Vec<String> {
        let now = self.state();
        let b = &self.before;
        let mut out = Vec::new();
        let mut differs =
            |what: &str, before: &dyn std::fmt::Debug, after: &dyn std::fmt::Debug| {
                out.push(format!("{what}: {before:?} became {after:?}"));
            };
        if now.rules != b.rules {
            differs("rules", &b.rules, &now.rules);
        }
        if now.comfort != b.comfort {
            differs("autonomy_comfort", &b.comfort, &now.comfort);
        }
        if now.verbosity != b.verbosity {
            differs("verbosity", &b.verbosity, &now.verbosity);
        }
        if now.playbooks != b.playbooks {
            differs("playbooks", &b.playbooks, &now.playbooks);
        }
        if now.pending != b.pending {
            differs("held approvals", &b.pending, &now.pending);
        }
        if now.sibling != b.sibling {
            differs("../sibling", &b.sibling, &now.sibling);
        }
        if now.jobs != b.jobs {
            differs("scheduled jobs", &b.jobs, &now.jobs);
        }
        let ids = run_ids(&self.h);
        let lost: Vec<u64> = self
            .runs
            .iter()
            .copied()
            .filter(|r| !ids.contains(r))
            .collect();
        if !lost.is_empty() {
            out.push(format!("runs forgotten: {lost:?}"));
        }
        let target = self.sibling.display().to_string();
        let rm = self
            .h
            .codex_in(&self.proj, &["run", "--", "rm", "-rf", &target]);
        if rm.code != Some(3) || !self.sibling.exists() {
            out.push(format!(
                "`rm -rf ../sibling` with no terminal was not refused (exit {:?}, sibling there: \
                 {}): {}",
                rm.code,
                self.sibling.exists(),
                rm.stderr.trim()
            ));
        }
        out
    }

    fn read(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.proj.join(name)).ok()
    }

    /// `@ID@` is the held approval.
    fn fill(&self, words: &[&str]) -> Vec<String> {
        words
            .iter()
            .map(|w| w.replace("@ID@", &self.held.to_string()))
            .collect()
    }

    /// The step that runs `codex ARGS` (by absolute path) and keeps its stderr and status in
    /// the project.
    fn cli_step(&self, args: &[&str]) -> Vec<String> {
        let codex = bin("codex").display().to_string();
        let mut words = vec![codex, "--no-autostart".to_string()];
        words.extend(self.fill(args));
        let line = shlex::try_join(words.iter().map(String::as_str)).unwrap();
        // A script of the project's own: the classifier sees `sh attempt.sh` (a line naming
        // `codex` itself would be refused before it ran, proving nothing about containment).
        std::fs::write(
            self.proj.join("attempt.sh"),
            format!("{line} >attempt.out 2>attempt.err; echo $? >attempt.rc\n"),
        )
        .unwrap();
        vec!["sh".into(), "attempt.sh".into()]
    }

    /// The step that writes one request for `method` straight to the socket.
    fn raw_step(&self, method: &str, params: &Value) -> Vec<String> {
        vec![
            "python3".into(),
            "rpc.py".into(),
            method.into(),
            params.to_string(),
        ]
    }

    /// Each method that changes permissions or data, with params that would widen what runs
    /// or lose something ([`RAW_ATTEMPTS`] of them).
    fn raw_attempts(&self) -> Vec<(&'static str, Value)> {
        let proj = self.proj.display().to_string();
        let outside = self.sibling.join("from-a-step").display().to_string();
        vec![
            ("rules", json!({"add": {"kind": "allow", "pattern": "*"}})),
            ("rules", json!({"remove": "git push --force*"})),
            (
                "prefs/set",
                json!({"key": "autonomy_comfort", "value": "high"}),
            ),
            ("prefs/unset", json!({"key": "verbosity"})),
            ("prefs/reset", json!({"all": true})),
            ("forget", json!({"all": true})),
            (
                "teach",
                json!({"phrase": "x", "steps": [["rm", "-rf", "../sibling"]], "cwd": proj}),
            ),
            ("playbooks", json!({"remove": "build it"})),
            (
                "approvals",
                json!({"answer": {"id": self.held, "approved": true}}),
            ),
            (
                "run/detach",
                json!({"argv": ["touch", outside], "cwd": proj, "yes": true}),
            ),
            (
                "run",
                json!({"argv": ["touch", outside], "cwd": proj, "yes": true}),
            ),
            (
                "import",
                json!({"source": "x", "entries": [{"command": "rm -rf ../sibling"}]}),
            ),
        ]
    }

    fn clean(&self) {
        for f in ["attempt.out", "attempt.err", "attempt.rc", "rpc.out"] {
            let _ = std::fs::remove_file(self.proj.join(f));
        }
    }
}

/// The CLI commands a step tries (`@ID@`: the held approval).
const CLI_ATTEMPTS: &[&[&str]] = &[
    &["rules", "allow", "*"],
    &["rules", "rm", "git push --force*"],
    &["prefs", "set", "autonomy_comfort", "high"],
    &["prefs", "unset", "verbosity"],
    &["prefs", "reset", "--all", "--yes"],
    &["forget", "--all", "--yes"],
    &["teach", "x", "--", "rm", "-rf", "../sibling"],
    &["playbooks", "rm", "build it"],
    &["approve", "@ID@"],
    &["deny", "@ID@"],
    &[
        "schedule",
        "add",
        "--every",
        "1s",
        "--",
        "touch",
        "../sibling/from-a-job",
    ],
    &["schedule", "rm", "1"],
    &["schedule", "run", "1"],
    &["suggest", "dismiss", "x"],
    &["run", "--yes", "--", "touch", "../sibling/from-a-step"],
    &[
        "run",
        "--detach",
        "--yes",
        "--",
        "touch",
        "../sibling/from-a-step",
    ],
];

/// One way a step tries: a `codex` command, or the Nth raw request of
/// [`World::raw_attempts`].
#[derive(Clone, Copy)]
enum Attempt {
    Cli(&'static [&'static str]),
    Raw(usize),
}

/// How many raw requests [`World::raw_attempts`] makes.
const RAW_ATTEMPTS: usize = 12;

fn cli_attempts() -> Vec<Attempt> {
    CLI_ATTEMPTS.iter().map(|a| Attempt::Cli(a)).collect()
}

fn raw_attempts() -> Vec<Attempt> {
    (0..RAW_ATTEMPTS).map(Attempt::Raw).collect()
}

impl World {
    /// The attempt's name and the step's argv.
    fn step(&self, a: Attempt) -> (String, Vec<String>) {
        match a {
            Attempt::Cli(args) => (format!("codex {}", args.join(" ")), self.cli_step(args)),
            Attempt::Raw(i) => {
                let mut all = self.raw_attempts();
                assert_eq!(all.len(), RAW_ATTEMPTS);
                let (method, params) = all.swap_remove(i);
                (
                    format!("raw `{method}` {params}"),
                    self.raw_step(method, &params),
                )
            }
        }
    }

    /// What the step left in the project: the inner codex's stderr, or what `rpc.py` got;
    /// `None` when the step did not run.
    fn left(&self, a: Attempt) -> Option<String> {
        match a {
            Attempt::Cli(_) => self
                .read("attempt.rc")
                .map(|_| self.read("attempt.err").unwrap_or_default()),
            Attempt::Raw(_) => self.read("rpc.out"),
        }
    }
}

/// What the step itself reports, judged: a confined step cannot reach the socket (the CLI's
/// result shows in the state); an unconfined one is told its request came from a step.
fn verdict(a: Attempt, unconfined: bool, left: &str) -> Option<String> {
    let from_a_step = |text: &str| text.to_lowercase().contains("from a step");
    match (a, unconfined) {
        (Attempt::Cli(_), false) => None,
        (Attempt::Raw(_), false) => (!left.starts_with("connect failed")).then(|| {
            format!(
                "a confined step connected to codexd's socket: {}",
                left.trim()
            )
        }),
        (Attempt::Cli(_), true) => (!from_a_step(left)).then(|| {
            format!(
                "codex did not say the request came from a step: {}",
                left.trim()
            )
        }),
        (Attempt::Raw(_), true) => {
            let answer: Value = left
                .strip_prefix("reply: ")
                .and_then(|l| serde_json::from_str(l).ok())
                .unwrap_or_default();
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            (!from_a_step(message)).then(|| {
                format!(
                    "no JSON-RPC error saying the request came from a step: {}",
                    left.trim()
                )
            })
        }
    }
}

/// Runs each attempt as a step (confined: default comfort, no terminal, no `--yes`; or
/// `--unconfined` after a `y` on a pseudo-terminal) in a world, a fresh one after any damage,
/// and collects what went wrong.
fn each_attempt(attempts: &[Attempt], unconfined: bool) -> Vec<String> {
    let mut failures = Vec::new();
    let mut w = World::new();
    for &a in attempts {
        w.clean();
        let (name, argv) = w.step(a);
        let name = format!(
            "{} step: {name}",
            if unconfined { "unconfined" } else { "confined" }
        );
        let mut args = vec!["run"];
        if unconfined {
            args.push("--unconfined");
        }
        args.push("--");
        args.extend(argv.iter().map(String::as_str));
        let out = if unconfined {
            w.h.codex_in_pty(&w.proj, &args, "y\n")
                .expect("script is here")
        } else {
            w.h.codex_in(&w.proj, &args)
        };
        let mut problems: Vec<String> = match w.left(a) {
            None => vec![format!(
                "the step did not run (exit {:?}), so it proves nothing: {}{}",
                out.code,
                out.stdout.trim(),
                out.stderr.trim()
            )],
            Some(left) => verdict(a, unconfined, &left).into_iter().collect(),
        };
        problems.extend(w.damage());
        eprintln!(
            "{:<70} {}",
            name,
            if problems.is_empty() {
                "held"
            } else {
                "ESCALATED"
            }
        );
        if !problems.is_empty() {
            failures.push(format!("{name}:\n  {}", problems.join("\n  ")));
            w = World::new();
        }
    }
    failures
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} attempt(s) got through:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_confined_step_cannot_widen_what_runs_through_the_cli() {
    report(each_attempt(&cli_attempts(), false));
}

#[test]
fn a_confined_step_cannot_reach_codexd_through_a_raw_socket() {
    if !have("python3") {
        return;
    }
    report(each_attempt(&raw_attempts(), false));
}

#[test]
fn an_unconfined_step_is_refused_by_codexd_because_it_is_a_step() {
    let probe = Home::new();
    if probe
        .codex_in_pty(probe.scratch(), &["--version"], "")
        .is_none()
    {
        return;
    }
    let mut attempts = cli_attempts();
    if have("python3") {
        attempts.extend(raw_attempts());
    }
    report(each_attempt(&attempts, true));
}

#[test]
fn an_allow_rule_that_lifts_a_destructive_command_needs_a_yes_on_the_terminal() {
    let h = Home::new();
    let _d = h.start();
    for (args, pattern) in [
        (&["rules", "allow", "rm -rf *"][..], "rm -rf *"),
        (&["rules", "allow", "*"], "*"),
        (&["rules", "allow", "--yes", "rm -rf *"], "rm -rf *"),
        (
            &["rules", "allow", "git push --force*"],
            "git push --force*",
        ),
    ] {
        let out = h.codex(args);
        assert_ne!(out.code, Some(0), "{args:?} was accepted: {}", out.stdout);
        assert!(!has_rule(&h, "allow", pattern), "{args:?} added the rule");
        if !args.contains(&"--yes") {
            assert!(
                out.stderr.contains("terminal"),
                "{args:?}: the refusal does not say a terminal is needed: {}",
                out.stderr
            );
        }
    }
    // An allow rule that lifts nothing destructive needs no terminal.
    h.codex(&["rules", "allow", "ls *"]).ok();
    assert!(has_rule(&h, "allow", "ls *"));
    let here: &Path = h.scratch();
    let Some(no) = h.codex_in_pty(here, &["rules", "allow", "rm -rf *"], "n\n") else {
        return;
    };
    assert!(!has_rule(&h, "allow", "rm -rf *"), "{}", no.stdout);
    let yes = h
        .codex_in_pty(here, &["rules", "allow", "rm -rf *"], "y\n")
        .unwrap();
    assert_eq!(yes.code, Some(0), "{}", yes.stdout);
    assert!(
        yes.stdout.contains("[y/N]") && yes.stdout.contains("destructive"),
        "the question does not name what the rule lifts: {}",
        yes.stdout
    );
    assert!(has_rule(&h, "allow", "rm -rf *"), "{}", yes.stdout);
}
