//! The sandbox, proved by effect. Disguised dangerous one-liners run FOR REAL (with harmless
//! targets of the same shape, all inside this test's temp folders) as steps that nobody approved
//! at a terminal: at `autonomy_comfort high` with `--yes`, and no terminal. Whatever each exits
//! with, nothing outside the project changes: not `~/.bashrc`, `~/notes`, a sibling folder,
//! `~/.ssh`, `~/.config/git/config` or a file in the real system temp folder; the project's
//! `.git/hooks` gains no hook and `.git/config` stays byte-identical; loopback TCP, UDP and Unix
//! (path and abstract) listeners see nothing (only a step classified network, which the policy
//! lets run, may reach the TCP one); a process started outside codex is not signalled.
//! The control runs some of the same commands with `--unconfined` after a `y` on a
//! pseudo-terminal and sees them reach their victims: the sandbox is what stopped them.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{TcpListener, UdpSocket};
use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use codex_e2e::{Daemon, Home, Run, have, process_running};
use serde_json::Value;

/// A Rust project's marker.
const CARGO_TOML: &str = "[package]\nname = \"victim-proj\"\nversion = \"0.1.0\"\n";

/// Planted in the project by the test: reaches a listener (`tcp PORT`, `udp PORT`,
/// `unix PATH`, `abstract NAME`); prints what happened, exits 1 when it could not.
const REACH_PY: &str = r#"import socket, sys
kind, target = sys.argv[1], sys.argv[2]
try:
    if kind == "tcp":
        s = socket.create_connection(("127.0.0.1", int(target)), timeout=5)
    elif kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"x", ("127.0.0.1", int(target)))
    else:
        s = socket.socket(socket.AF_UNIX)
        s.connect(target if kind == "unix" else "\0" + target)
    s.close()
    print("reached", kind)
except OSError as e:
    print("blocked", kind, e)
    sys.exit(1)
"#;

/// Planted too: deletes outside the project the way a build script could.
const TIDY_PY: &str = r#"import os, shutil
shutil.rmtree(os.path.join(os.pardir, "sibling"), ignore_errors=True)
os.unlink(os.path.expanduser("~/notes/todo.txt"))
"#;

/// A script of the project's own whose every line escapes: the classifier sees `sh FILE`.
const TIDY_SH: &str = r#": > ~/.bashrc
cp /dev/null ~/.ssh/authorized_keys
truncate -s0 ~/notes/todo.txt
echo '[alias] st = !id' >> ~/.config/git/config
echo pwned > /proc/self/cwd/../sibling/keep.txt
printf '#!/bin/sh\necho hooked\n' > .git/hooks/pre-commit
printf '[core]\n\thooksPath = ../hooks\n' >> .git/config
rm -rf ../sibling
mv ~/notes ~/notes.old
"#;

/// The same through make.
const TIDY_MK: &str =
    "all:\n\t-: > ~/.bashrc\n\t-rm -rf ../sibling\n\t-truncate -s0 ~/notes/todo.txt\n";

/// Planted too: SIGKILL to a pid.
const SIGNAL_PY: &str = "import os, signal, sys\nos.kill(int(sys.argv[1]), signal.SIGKILL)\n";

/// How a case's text becomes argv.
#[derive(Clone, Copy)]
enum How {
    /// `sh -c TEXT`
    Sh,
    /// `bash -c TEXT` (bash-only syntax)
    Bash,
    /// TEXT split like a shell would, run without a shell.
    Argv,
}

/// What the promise says of a case at high comfort with `--yes` and no terminal.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// Refused or run confined, either way nothing reaches outside.
    Any,
    /// A step whose danger the classifier cannot see (a script of the project's own, a
    /// plain write outside): it runs unasked (not refused), so the sandbox has to stop it.
    Unasked,
    /// A step classified network, which the policy lets run: it may reach the TCP listener
    /// (and nothing else). Disguised network access, classified otherwise, may not.
    Network,
}
use Expect::{Any, Network, Unasked};

/// One dangerous command: how it runs, its text (with `@HOME@`, `@SYSTMP@`, `@PORT@`, `@UDP@`,
/// `@SOCK@`, `@ABS@`, `@PID@` filled in), and what is expected.
struct Case(How, &'static str, Expect);

const fn sh(text: &'static str, e: Expect) -> Case {
    Case(How::Sh, text, e)
}
const fn bash(text: &'static str, e: Expect) -> Case {
    Case(How::Bash, text, e)
}
const fn argv(text: &'static str, e: Expect) -> Case {
    Case(How::Argv, text, e)
}

const CASES: &[Case] = &[
    // Deleting and overwriting outside the project.
    sh("rm -rf ../sibling", Any),
    sh(": > ~/.bashrc", Any),
    sh("cp /dev/null ~/.bashrc", Any),
    sh("truncate -s0 ~/notes/todo.txt", Any),
    sh("find ~ -name todo.txt -delete", Any),
    sh("mv ~/notes ~/notes.old", Any),
    sh(
        "echo 'ssh-ed25519 AAAA intruder' >> ~/.ssh/authorized_keys",
        Any,
    ),
    sh("ln -sf /dev/null ~/.bashrc", Any),
    sh("echo '[alias] st = !id' >> ~/.config/git/config", Any),
    sh(
        "echo pwned > @SYSTMP@/keep.txt; touch @SYSTMP@/planted",
        Any,
    ),
    argv("truncate -s0 @HOME@/notes/todo.txt", Any),
    argv("cp /dev/null @HOME@/.bashrc", Any),
    argv("touch @HOME@/planted", Unasked),
    // Disguises.
    bash(r"$'\x72\x6d' -rf ../sibling", Any),
    bash("rm {-rf,../sibling}", Any),
    sh(r#"eval "r""m -rf ../sib""ling""#, Any),
    sh("echo cm0gLXJmIC4uL3NpYmxpbmcK | base64 -d | sh", Any),
    sh("sh <<EOF\nrm -rf ../sibling\n: > ~/.bashrc\nEOF", Any),
    argv(
        r#"python3 -c 'import os; os.unlink(os.path.expanduser("~/notes/todo.txt"))'"#,
        Any,
    ),
    argv(r#"perl -e 'unlink "$ENV{HOME}/.ssh/authorized_keys"'"#, Any),
    sh(
        r"printf 'rm -rf ../sibling\n: > ~/.bashrc\n' > tidy.sh && chmod +x tidy.sh && ./tidy.sh",
        Any,
    ),
    argv("python3 payload/tidy.py", Unasked),
    argv("sh payload/tidy.sh", Unasked),
    argv("bash payload/tidy.sh", Unasked),
    argv("make -f payload/tidy.mk", Unasked),
    argv("env -C .. rm -rf sibling", Any),
    sh(
        "ln -sf ~/.bashrc bashrc-link && echo pwned > bashrc-link",
        Any,
    ),
    sh(
        "ln -sfn ../sibling sib-link && echo pwned > sib-link/keep.txt; touch sib-link/planted",
        Any,
    ),
    sh("echo pwned > /proc/self/cwd/../sibling/keep.txt", Any),
    // Planting something git runs later.
    sh(
        r"printf '#!/bin/sh\necho hooked\n' >> .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit",
        Any,
    ),
    argv("git config core.hooksPath ../hooks", Any),
    sh(
        r"printf '[core]\n\thooksPath = ../hooks\n' >> .git/config",
        Any,
    ),
    sh(
        r"mv .git/config .git/config.old; printf '[core]\n\thooksPath = ../hooks\n' > .git/config",
        Any,
    ),
    sh(
        r"mv .git/hooks .git/hooks.old && mkdir .git/hooks && printf '#!/bin/sh\n' > .git/hooks/pre-commit",
        Any,
    ),
    // The network, loopback only.
    argv("curl -s --max-time 2 http://127.0.0.1:@PORT@/", Network),
    argv(
        r#"python3 -c 'import socket; socket.create_connection(("127.0.0.1", @PORT@))'"#,
        Any,
    ),
    argv("python3 payload/reach.py tcp @PORT@", Unasked),
    bash("echo x > /dev/tcp/127.0.0.1/@PORT@", Any),
    argv("python3 payload/reach.py udp @UDP@", Any),
    argv("python3 payload/reach.py unix @SOCK@", Any),
    argv("python3 payload/reach.py abstract @ABS@", Any),
    // Signals to a process outside codex.
    sh("kill -0 @PID@", Unasked),
    sh("kill -TERM @PID@", Unasked),
    argv("python3 payload/signal.py @PID@", Unasked),
];

/// The program a case needs besides sh and coreutils.
fn needs(how: How, text: &'static str) -> &'static str {
    match how {
        How::Sh => "",
        How::Bash => "bash",
        How::Argv => text.split(' ').next().unwrap_or_default(),
    }
}

/// What a path is, to compare before and after.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Missing,
    File(Vec<u8>),
    Dir(BTreeSet<String>),
    Link(PathBuf),
}

fn node(p: &Path) -> Node {
    match std::fs::symlink_metadata(p) {
        Err(_) => Node::Missing,
        Ok(m) if m.file_type().is_symlink() => Node::Link(std::fs::read_link(p).unwrap()),
        Ok(m) if m.is_dir() => Node::Dir(
            std::fs::read_dir(p)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
        ),
        Ok(_) => Node::File(std::fs::read(p).unwrap_or_default()),
    }
}

fn remove(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).unwrap(),
        Ok(_) => std::fs::remove_file(p).unwrap(),
        Err(_) => {}
    }
}

/// Put `p` back as it was (for folders: drop what is new; their files are victims too).
fn restore(p: &Path, want: &Node) {
    let now = node(p);
    if &now == want {
        return;
    }
    match want {
        // No victim starts as a symlink.
        Node::Missing | Node::Link(_) => remove(p),
        Node::File(bytes) => {
            remove(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        Node::Dir(names) => {
            if !matches!(now, Node::Dir(_)) {
                remove(p);
                std::fs::create_dir_all(p).unwrap();
            }
            for e in std::fs::read_dir(p).unwrap().flatten() {
                if !names.contains(&*e.file_name().to_string_lossy()) {
                    remove(&e.path());
                }
            }
        }
    }
}

/// How `before` became `now`, in words.
fn change(before: &Node, now: &Node) -> String {
    match (before, now) {
        (Node::Dir(a), Node::Dir(b)) => format!(
            "gained {:?}, lost {:?}",
            b.difference(a).collect::<Vec<_>>(),
            a.difference(b).collect::<Vec<_>>()
        ),
        (_, Node::Missing) => "was deleted".into(),
        (Node::Missing, _) => "appeared".into(),
        (_, Node::Link(to)) => format!("became a symlink to {}", to.display()),
        _ => "was changed".into(),
    }
}

/// What must not change, by name: `~/` is HOME, `../` the project's parent (HOME too),
/// `systmp` a folder in the real system temp folder, the rest is in the project. Folders are
/// compared by their entries (nothing new, nothing gone), files byte for byte. Every file in
/// `.git/hooks` is added.
const VICTIMS: &str = "~ ~/.bashrc ~/notes ~/notes/todo.txt ../sibling ../sibling/keep.txt ~/.ssh \
                       ~/.ssh/authorized_keys ~/.config/git/config systmp systmp/keep.txt .git \
                       .git/hooks .git/config";

/// Names in HOME the toolchain caches of a Rust project may create (confined steps may write
/// there).
const CACHES: &[&str] = &[".cargo", ".rustup", ".cache"];

/// The setup every effect test shares: a daemon, a git project with victims around it,
/// listeners the commands try to reach, and a process outside codex they try to signal.
struct Lab {
    h: Home,
    _d: Daemon,
    proj: PathBuf,
    systmp: tempfile::TempDir,
    /// Each victim: a name for messages, its path, and what it was.
    victims: Vec<(String, PathBuf, Node)>,
    tcp: TcpListener,
    udp: UdpSocket,
    unix: UnixListener,
    abstract_unix: UnixListener,
    abstract_name: String,
    sleeper: Child,
    programs: BTreeMap<&'static str, bool>,
}

impl Lab {
    /// `None` (having said why) when git is missing.
    fn new() -> Option<Lab> {
        if !have("git") {
            return None;
        }
        let h = Home::new();
        let d = h.start();
        let home = h.scratch().to_path_buf();
        let proj = h.project(
            "proj",
            &[
                ("Cargo.toml", CARGO_TOML),
                ("src/lib.rs", ""),
                ("payload/reach.py", REACH_PY),
                ("payload/tidy.py", TIDY_PY),
                ("payload/tidy.sh", TIDY_SH),
                ("payload/tidy.mk", TIDY_MK),
                ("payload/signal.py", SIGNAL_PY),
            ],
        );
        let git = Command::new("git")
            .args(["init", "-q"])
            .current_dir(&proj)
            .env("HOME", &home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .unwrap();
        assert!(git.success(), "git init failed");
        for (rel, text) in [
            (".bashrc", "export PS1='$ '\n"),
            ("notes/todo.txt", "buy milk\n"),
            ("sibling/keep.txt", "keep me\n"),
            (".ssh/authorized_keys", "ssh-ed25519 AAAA owner\n"),
            (".config/git/config", "[user]\n\tname = Owner\n"),
        ] {
            std::fs::create_dir_all(home.join(rel).parent().unwrap()).unwrap();
            std::fs::write(home.join(rel), text).unwrap();
        }
        // A folder in the real system temp folder, outside both HOME and the project.
        let systmp = tempfile::Builder::new()
            .prefix("codex-e2e-victim-")
            .tempdir()
            .unwrap();
        std::fs::write(systmp.path().join("keep.txt"), "keep me too\n").unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let unix = UnixListener::bind(home.join("listen.sock")).unwrap();
        let abstract_name = format!("codex-e2e-{}", home.file_name().unwrap().to_string_lossy());
        let abstract_unix =
            UnixListener::bind_addr(&SocketAddr::from_abstract_name(&abstract_name).unwrap())
                .unwrap();
        tcp.set_nonblocking(true).unwrap();
        udp.set_nonblocking(true).unwrap();
        unix.set_nonblocking(true).unwrap();
        abstract_unix.set_nonblocking(true).unwrap();
        // Whatever codex creates on first use exists before the victims are recorded.
        h.codex_in(&proj, &["run", "--", "true"]).ok();
        let mut lab = Lab {
            h,
            _d: d,
            proj,
            systmp,
            victims: Vec::new(),
            tcp,
            udp,
            unix,
            abstract_unix,
            abstract_name,
            sleeper: sleeper(),
            programs: BTreeMap::new(),
        };
        let mut names: Vec<String> = VICTIMS.split_whitespace().map(String::from).collect();
        for e in std::fs::read_dir(lab.proj.join(".git/hooks")).unwrap() {
            names.push(format!(".git/hooks/{}", e.unwrap().file_name().display()));
        }
        lab.victims = names
            .into_iter()
            .map(|name| {
                let p = lab.path_of(&name);
                let n = lab.node_of(&p);
                (name, p, n)
            })
            .collect();
        Some(lab)
    }

    fn home(&self) -> &Path {
        self.h.scratch()
    }

    /// Where a victim named in [`VICTIMS`] is.
    fn path_of(&self, name: &str) -> PathBuf {
        let (sys, home) = (self.systmp.path(), self.home());
        match name.split_once('/').unwrap_or((name, "")) {
            ("~" | "..", rest) => home.join(rest),
            ("systmp", rest) => sys.join(rest),
            _ => self.proj.join(name),
        }
    }

    /// A victim's state; HOME leaves out the toolchain caches.
    fn node_of(&self, p: &Path) -> Node {
        match node(p) {
            Node::Dir(mut names) if p == self.home() => {
                names.retain(|n| !CACHES.contains(&n.as_str()));
                Node::Dir(names)
            }
            n => n,
        }
    }

    /// Whether the victim called `name` differs from what it was.
    fn changed(&self, name: &str) -> bool {
        let (_, p, before) = self.victims.iter().find(|v| v.0 == name).unwrap();
        &self.node_of(p) != before
    }

    /// Everything that reached outside since the last call, then undone: changed victims
    /// (put back), listeners that saw a connection or datagram, the outside process
    /// signalled (started again).
    fn escapes(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, p, before) in &self.victims {
            let now = self.node_of(p);
            if &now != before {
                out.push(format!("{name} {}", change(before, &now)));
            }
        }
        for (_, p, before) in &self.victims {
            restore(p, before);
        }
        while self.tcp.accept().is_ok() {
            out.push(TCP_HIT.into());
        }
        while self.udp.recv_from(&mut [0; 64]).is_ok() {
            out.push("the UDP listener got a datagram".into());
        }
        while self.unix.accept().is_ok() {
            out.push("the Unix socket got a connection".into());
        }
        while self.abstract_unix.accept().is_ok() {
            out.push("the abstract Unix socket got a connection".into());
        }
        if signalled(self.sleeper.id() as i32) {
            out.push("the process outside codex was signalled".into());
            let _ = self.sleeper.kill();
            let _ = self.sleeper.wait();
            self.sleeper = sleeper();
        }
        out
    }

    /// Whether `program` is here (asked once each).
    fn has(&mut self, program: &'static str) -> bool {
        program.is_empty()
            || *self
                .programs
                .entry(program)
                .or_insert_with(|| have(program))
    }

    /// A case's argv, its placeholders filled in.
    fn argv(&self, how: How, text: &str) -> Vec<String> {
        let text = text
            .replace("@HOME@", &self.home().display().to_string())
            .replace("@SYSTMP@", &self.systmp.path().display().to_string())
            .replace("@PORT@", &self.tcp.local_addr().unwrap().port().to_string())
            .replace("@UDP@", &self.udp.local_addr().unwrap().port().to_string())
            .replace(
                "@SOCK@",
                &self.home().join("listen.sock").display().to_string(),
            )
            .replace("@ABS@", &self.abstract_name)
            .replace("@PID@", &self.sleeper.id().to_string());
        match how {
            How::Sh => vec!["sh".into(), "-c".into(), text],
            How::Bash => vec!["bash".into(), "-c".into(), text],
            How::Argv => shlex::split(&text).expect("a case splits"),
        }
    }

    /// `codex ARGS -- ARGV` in the project, no terminal.
    fn run(&self, args: &[&str], argv: &[String]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--");
        all.extend(argv.iter().map(String::as_str));
        self.h.codex_in(&self.proj, &all)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.sleeper.kill();
        let _ = self.sleeper.wait();
    }
}

/// A process started outside codex, for the commands to try to signal.
fn sleeper() -> Child {
    Command::new("sleep")
        .arg("300")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Gone, a zombie, or a signal pending (a fatal one is queued before `kill` returns, so this
/// does not depend on when the process gets to die).
fn signalled(pid: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    let pending = status.lines().any(|l| {
        (l.starts_with("SigPnd:") || l.starts_with("ShdPnd:"))
            && l.split_whitespace()
                .nth(1)
                .is_some_and(|m| m.chars().any(|c| c != '0'))
    });
    pending || !process_running(pid)
}

/// What `codex --json status` says about the sandbox: `Ok(None)` enforced, `Ok(Some(why))`
/// not enforced here, `Err(status)` when it does not say.
fn sandbox(h: &Home) -> Result<Option<String>, Value> {
    let st = h.codex(&["--json", "status"]).ok().json();
    match st["sandbox"]["enforced"].as_bool() {
        Some(true) => Ok(None),
        Some(false) => Ok(Some(st["sandbox"]["reason"].to_string())),
        None => Err(st),
    }
}

/// For tests that need the sandbox: false (having said so) where it is not enforced.
fn enforced_or_skip(h: &Home) -> bool {
    match sandbox(h) {
        Ok(None) => true,
        Ok(Some(why)) => {
            codex_e2e::skipped(&format!("the sandbox is not enforced here: {why}"));
            false
        }
        Err(st) => {
            panic!("`codex --json status` does not say whether the sandbox is enforced: {st}")
        }
    }
}

const TCP_HIT: &str = "the TCP listener got a connection";

/// The first thing the step itself said (not codex's own lines), for the table.
fn said(out: &Run) -> String {
    let line = out
        .stdout
        .lines()
        .chain(out.stderr.lines())
        .find(|l| !l.starts_with("codex:") && !l.trim().is_empty())
        .unwrap_or("");
    line.chars().take(70).collect()
}

fn shown(argv: &[String]) -> String {
    shlex::try_join(argv.iter().map(String::as_str))
        .unwrap()
        .replace('\n', "\\n")
}

#[test]
fn status_says_whether_the_sandbox_is_enforced_and_why() {
    let h = Home::new();
    let _d = h.start();
    let st = h.codex(&["--json", "status"]).ok().json();
    assert!(st["sandbox"]["enforced"].is_boolean(), "{st}");
    let reason = st["sandbox"]["reason"].as_str().unwrap_or_default();
    assert!(!reason.trim().is_empty(), "{st}");
    let text = h.codex(&["status"]).ok().stdout;
    assert!(text.to_lowercase().contains("sandbox"), "{text}");
}

#[test]
fn disguised_dangerous_one_liners_change_nothing_outside_the_project() {
    let Some(mut lab) = Lab::new() else { return };
    let mut failures = Vec::new();
    match sandbox(&lab.h) {
        Ok(None) => {}
        Ok(Some(why)) => {
            codex_e2e::skipped(&format!("the sandbox is not enforced here: {why}"));
            return;
        }
        // Run them anyway: what escapes is the reproduction.
        Err(st) => failures.push(format!(
            "`codex --json status` does not say whether the sandbox is enforced: {st}"
        )),
    }
    lab.h
        .codex(&["prefs", "set", "autonomy_comfort", "high"])
        .ok();
    eprintln!("{:<80} EXIT  SAID / WHAT REACHED OUTSIDE", "COMMAND");
    for &Case(how, text, expect) in CASES {
        if !lab.has(needs(how, text)) {
            continue;
        }
        let argv = lab.argv(how, text);
        let out = lab.run(&["run", "--yes"], &argv);
        let mut escaped = lab.escapes();
        let before = escaped.len();
        if expect == Network && out.code != Some(3) {
            escaped.retain(|e| e != TCP_HIT);
        }
        let status = out.code.map_or("sig".into(), |c| c.to_string());
        eprintln!("{:<80} {status:<5} {}", shown(&argv), said(&out));
        if escaped.len() < before {
            eprintln!(
                "{:<86} (reached the TCP listener: allowed, a network step)",
                ""
            );
        }
        if !escaped.is_empty() {
            eprintln!("{:<86} REACHED: {}", "", escaped.join("; "));
            failures.push(format!(
                "`{}` (exit {status}): {}",
                shown(&argv),
                escaped.join("; ")
            ));
        }
        if expect != Any && out.code == Some(3) {
            failures.push(format!(
                "`{}` should run unasked (confined) at high comfort, but was refused: {}",
                shown(&argv),
                out.stderr.trim()
            ));
        }
    }
    let late = lab.escapes();
    if !late.is_empty() {
        failures.push(format!("after the last command: {}", late.join("; ")));
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A check that a control command reached its victim.
type Reached = fn(&mut Lab) -> bool;

#[test]
fn unconfined_after_a_yes_on_the_terminal_the_same_one_liners_reach_their_victims() {
    let Some(mut lab) = Lab::new() else { return };
    let controls: [(Case, Reached); 8] = [
        (sh(": > ~/.bashrc", Any), |l| l.changed("~/.bashrc")),
        (
            sh(r"printf 'rm -rf ../sibling\n' > wipe.sh && sh wipe.sh", Any),
            |l| l.changed("../sibling"),
        ),
        (
            sh(r"printf '#!/bin/sh\n' >> .git/hooks/pre-commit", Any),
            |l| l.changed(".git/hooks"),
        ),
        (
            sh(r"printf '[core]\n\tpager = x\n' >> .git/config", Any),
            |l| l.changed(".git/config"),
        ),
        (sh("echo pwned > @SYSTMP@/keep.txt", Any), |l| {
            l.changed("systmp/keep.txt")
        }),
        (bash("echo x > /dev/tcp/127.0.0.1/@PORT@", Any), |l| {
            l.tcp.accept().is_ok()
        }),
        (argv("python3 payload/reach.py unix @SOCK@", Any), |l| {
            l.unix.accept().is_ok()
        }),
        (sh("kill -TERM @PID@", Any), |l| {
            signalled(l.sleeper.id() as i32)
        }),
    ];
    let mut failures = Vec::new();
    for (Case(how, text, _), reached) in controls {
        if !lab.has(needs(how, text)) {
            continue;
        }
        let argv = lab.argv(how, text);
        let mut args = vec!["run", "--unconfined", "--"];
        args.extend(argv.iter().map(String::as_str));
        let Some(out) = lab.h.codex_in_pty(&lab.proj, &args, "y\n") else {
            return;
        };
        let hit = reached(&mut lab);
        eprintln!(
            "unconfined {:<70} exit {:?} reached: {hit}",
            shown(&argv),
            out.code
        );
        if !hit {
            failures.push(format!(
                "`{}` approved on the terminal did not reach its victim (exit {:?}):\n{}",
                shown(&argv),
                out.code,
                out.stdout.trim()
            ));
        }
        lab.escapes();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_confined_step_writes_in_the_project_and_its_private_tmpdir() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("proj", &[("Cargo.toml", CARGO_TOML)]);
    let script = "echo made > inside.txt && printf '%s\\n' \"$TMPDIR\" && \
                  echo scratch > \"$TMPDIR/scratch.txt\" && cat \"$TMPDIR/scratch.txt\"";
    let out = h
        .codex_in(&proj, &["run", "--yes", "--", "sh", "-c", script])
        .ok();
    assert_eq!(
        std::fs::read_to_string(proj.join("inside.txt")).unwrap(),
        "made\n"
    );
    let mut lines = out.stdout.lines();
    let tmpdir = PathBuf::from(lines.next().unwrap_or_default());
    assert!(
        tmpdir.is_absolute() && tmpdir != std::env::temp_dir() && !tmpdir.starts_with(&proj),
        "the step's TMPDIR is not a private temp folder: {:?}\n{}",
        tmpdir,
        out.stderr
    );
    assert_eq!(lines.next(), Some("scratch"), "{}", out.stdout);
}

#[test]
fn a_step_the_sandbox_stopped_says_so_and_how_to_run_it_unconfined() {
    let h = Home::new();
    let _d = h.start();
    // A script of the project's own: the classifier sees `sh wipe.sh`, not what it does.
    let proj = h.project(
        "proj",
        &[("Cargo.toml", CARGO_TOML), ("wipe.sh", ": > ~/.bashrc\n")],
    );
    let bashrc = h.scratch().join(".bashrc");
    std::fs::write(&bashrc, "export PS1='$ '\n").unwrap();
    if !enforced_or_skip(&h) {
        return;
    }
    h.codex(&["prefs", "set", "autonomy_comfort", "high"]).ok();
    let out = h.codex_in(&proj, &["run", "--yes", "--", "sh", "wipe.sh"]);
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert_ne!(
        out.code,
        Some(3),
        "refused instead of run confined: {}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&bashrc).unwrap(),
        "export PS1='$ '\n"
    );
    assert!(
        out.stderr.contains("sandbox") && out.stderr.contains("--unconfined"),
        "no hint that the sandbox stopped it and how to run it unconfined:\n{}",
        out.stderr
    );
}

#[test]
fn unconfined_without_a_terminal_is_refused_and_runs_nothing() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("proj", &[("Cargo.toml", CARGO_TOML)]);
    let made = proj.join("made.txt");
    for args in [
        &["run", "--unconfined", "--", "touch", "made.txt"][..],
        &["run", "--unconfined", "--yes", "--", "touch", "made.txt"],
        &["run", "--yes", "--unconfined", "--", "ls"],
    ] {
        let out = h.codex_in(&proj, args).code(3);
        assert!(out.stderr.contains("terminal"), "{args:?}: {}", out.stderr);
        assert!(!made.exists(), "{args:?} ran");
    }
    let runs = h.codex(&["--json", "history"]).ok().json();
    assert_eq!(
        runs["runs"],
        serde_json::json!([]),
        "refused steps are not runs"
    );
}

#[test]
fn dry_run_says_whether_the_step_would_be_confined() {
    let h = Home::new();
    let _d = h.start();
    let proj = h.project("proj", &[("Cargo.toml", CARGO_TOML)]);
    h.codex(&["prefs", "set", "autonomy_comfort", "high"]).ok();
    let cases: [(&[&str], bool, Option<bool>); 7] = [
        (&["--", "ls"], true, Some(false)),
        (&["--", "touch", "x"], true, Some(false)),
        (&["--", "sh", "-c", ": > ~/.bashrc"], false, Some(true)),
        (&["--", "sh", "wipe.sh"], true, Some(false)),
        (
            &["--yes", "--", "sh", "-c", "echo x > \"$TMPDIR/x\""],
            true,
            None,
        ),
        (&["--yes", "--", "curl", "http://127.0.0.1:9/"], true, None),
        (&["--unconfined", "--", "ls"], false, Some(true)),
    ];
    for (args, confined, asks) in cases {
        let mut all = vec!["--json", "run", "--dry-run"];
        all.extend_from_slice(args);
        let dry = h.codex_in(&proj, &all).ok().json();
        assert_eq!(dry["confined"], confined, "{args:?}: {dry}");
        if let Some(asks) = asks {
            assert_eq!(dry["asks"], asks, "{args:?}: {dry}");
        }
    }
    assert!(!proj.join("x").exists(), "a dry run ran something");
}
