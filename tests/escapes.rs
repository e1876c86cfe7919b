//! Escapes a red team found in the sandbox, each reproduced through the real daemon with a
//! project script (the classifier sees `sh x.sh`, so the step runs unasked and the sandbox
//! alone has to stop it): swapping `.git` for one with planted hooks, a planted `commondir`,
//! a descriptor the daemon inherited, datagrams addressed to a socket outside, limits of a
//! process outside, SysV IPC outside, owners and extended attributes outside, a new user
//! namespace, reading codex's own data, and a `.git` file that points outside.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use codex_e2e::{Home, Run, WAIT, eventually, have};

/// A project with a real git repository, and a folder beside it.
fn lab(h: &Home) -> (PathBuf, PathBuf) {
    let proj = h.project("proj", &[("Cargo.toml", "[package]\nname = \"p\"\n")]);
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(&proj)
        .env("HOME", h.scratch())
        .status()
        .unwrap();
    assert!(git.success());
    let sibling = h.scratch().join("sibling");
    std::fs::create_dir_all(&sibling).unwrap();
    std::fs::write(sibling.join("keep.txt"), "keep\n").unwrap();
    (proj, sibling)
}

/// Run `body` as a script of the project's own, unasked at high comfort.
fn step(h: &Home, proj: &Path, body: &str) -> Run {
    std::fs::write(proj.join("step.sh"), body).unwrap();
    h.codex_in(proj, &["run", "--yes", "--", "sh", "step.sh"])
}

fn started(h: &Home) -> Option<codex_e2e::Daemon> {
    if !have("git") {
        return None;
    }
    let d = h.start();
    if !h.sandbox_enforced() {
        return None;
    }
    h.codex(&["prefs", "set", "autonomy_comfort", "high"]).ok();
    Some(d)
}

#[test]
fn git_cannot_be_swapped_nor_redirected_and_a_gitdir_outside_is_left_alone() {
    let h = Home::new();
    let Some(_d) = started(&h) else { return };
    let (proj, sibling) = lab(&h);
    let config = std::fs::read(proj.join(".git/config")).unwrap();
    let out = step(
        &h,
        &proj,
        "mv .git .git.old; mkdir -p .git/hooks; printf '#!/bin/sh\\nid\\n' > .git/hooks/pre-commit\n",
    );
    assert!(
        !proj.join(".git.old").exists(),
        "`.git` was moved aside: {}",
        out.stderr
    );
    assert!(
        !proj.join(".git/hooks/pre-commit").exists(),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(proj.join(".git/config")).unwrap(), config);
    // `commondir` would point git's config and hooks at a folder of the step's.
    let out = step(
        &h,
        &proj,
        "mkdir -p evil/hooks; printf '[core]\\n\\tpager = id\\n' > evil/config; echo ../evil > .git/commondir\n",
    );
    assert!(!proj.join(".git/commondir").exists(), "{}", out.stderr);
    assert!(
        out.stderr.contains("commondir"),
        "the user is told: {}",
        out.stderr
    );
    // A project whose `.git` file names a folder outside: nothing is made there.
    let other = h.project(
        "other",
        &[("Makefile", "all:\n"), (".git", "gitdir: ../sibling/tgt\n")],
    );
    std::fs::create_dir_all(sibling.join("tgt")).unwrap();
    step(&h, &other, "true\n");
    assert!(!sibling.join("tgt/hooks").exists());
}

#[test]
fn a_descriptor_the_daemon_inherited_reaches_no_step() {
    let h = Home::new();
    if !have("git") {
        return;
    }
    let victim = h.scratch().join("victim.txt");
    std::fs::write(&victim, "untouched\n").unwrap();
    // The daemon started with descriptor 9 open on a file outside the project.
    let codexd = h.codexd_cmd();
    let mut sh = Command::new("sh");
    sh.env_clear();
    for (k, v) in codexd.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    let line = format!(
        "exec '{}' 9>>'{}'",
        codexd.get_program().to_string_lossy(),
        victim.display()
    );
    let mut child = sh
        .args(["-c", &line])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the daemon answers", || {
        h.codex(&["status"]).code == Some(0)
    });
    if h.sandbox_enforced() {
        h.codex(&["prefs", "set", "autonomy_comfort", "high"]).ok();
        let (proj, _) = lab(&h);
        let out = step(&h, &proj, "echo planted >&9\n");
        assert_ne!(out.code, Some(0), "{}", out.stderr);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
    }
    h.codex(&["daemon", "stop"]);
    let deadline = std::time::Instant::now() + WAIT;
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn datagrams_limits_ipc_owners_attributes_and_namespaces_outside_are_refused() {
    let h = Home::new();
    let Some(_d) = started(&h) else { return };
    let (proj, sibling) = lab(&h);
    if !have("python3") {
        return;
    }
    // A datagram socket outside, and a sleeper whose limits must stay.
    let sock = h.scratch().join("dgram.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = sleeper.id();
    let limits = || std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let before = limits();
    let script = format!(
        r#"import os, socket, sys
tried = []
def attempt(name, f):
    try:
        f(); tried.append(name + ": DONE")
    except OSError as e:
        tried.append(name + ": refused " + str(e.errno))
def dgram():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.sendto(b"x", "{sock}")
attempt("datagram", dgram)
attempt("unix dgram", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"x", "{sock}"))
import resource
attempt("prlimit", lambda: resource.prlimit({pid}, resource.RLIMIT_NOFILE, (18, 18)))
attempt("chown", lambda: os.chown("{keep}", 65534, 65534))
attempt("xattr", lambda: os.setxattr("{keep}", "user.x", b"1"))
def userns():
    import shutil, subprocess
    if shutil.which("unshare") and subprocess.run(["unshare", "-U", "true"]).returncode != 0:
        raise OSError(1, "refused")
    if not shutil.which("unshare"):
        raise OSError(0, "no unshare here")
attempt("userns", userns)
print("\n".join(tried))
"#,
        sock = sock.display(),
        keep = sibling.join("keep.txt").display(),
    );
    std::fs::write(proj.join("attempts.py"), script).unwrap();
    let out = h.codex_in(&proj, &["run", "--yes", "--", "python3", "attempts.py"]);
    let after = limits();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(
        out.stdout.contains("datagram:"),
        "the step did not run: {}",
        out.stderr
    );
    assert!(!out.stdout.contains("DONE"), "{}", out.stdout);
    let mut buf = [0u8; 8];
    assert!(
        listener.recv(&mut buf).is_err(),
        "a datagram reached the socket outside"
    );
    assert_eq!(after, before, "the sleeper's limits changed");
    let meta = std::fs::metadata(sibling.join("keep.txt")).unwrap();
    use std::os::unix::fs::MetadataExt as _;
    assert_ne!(meta.uid(), 65534);
}

#[test]
fn sysv_ipc_outside_and_codex_data_are_out_of_a_steps_reach() {
    let h = Home::new();
    let Some(_d) = started(&h) else { return };
    let (proj, _) = lab(&h);
    // codex's own data: hidden from confined steps.
    let out = step(&h, &proj, "ls -A \"$CODEX_HOME\" | wc -l\n");
    assert_eq!(
        out.stdout.trim(),
        "0",
        "a step saw CODEX_HOME: {} {}",
        out.stdout,
        out.stderr
    );
    if !have("ipcmk") {
        return;
    }
    let made = Command::new("ipcmk").args(["-M", "4096"]).output().unwrap();
    let text = String::from_utf8_lossy(&made.stdout);
    let Some(id) = text.split_whitespace().last().map(str::to_string) else {
        codex_e2e::skipped(&format!("ipcmk made no segment: {text}"));
        return;
    };
    let out = step(&h, &proj, &format!("ipcrm -m {id}\n"));
    let still = Command::new("ipcs")
        .args(["-m", "-i", &id])
        .output()
        .unwrap();
    let _ = Command::new("ipcrm").args(["-m", &id]).status();
    assert!(
        still.status.success(),
        "a step removed a segment outside: {}",
        out.stderr
    );
}
