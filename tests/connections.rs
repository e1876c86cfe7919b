//! Connections that take a slot and give nothing back: idle and slow clients are closed, a
//! full daemon says so instead of leaving clients waiting, running out of file descriptors
//! backs off instead of spinning, and the CLI gives up with a clear message when the daemon
//! does not answer.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use codex_e2e::{Home, Raw, Run, WAIT, eventually};
use serde_json::{Value, json};

/// The CLI's exit status when codexd does not answer in time or is at its connection limit.
const EXIT_UNAVAILABLE: i32 = 4;

/// `codex --no-autostart ARGS`, failing the test instead of hanging when codex hangs.
fn codex_bounded(h: &Home, args: &[&str]) -> Run {
    let mut child = h
        .codex_cmd()
        .arg("--no-autostart")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn codex");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > WAIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`codex {}` hung", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Run::from(child.wait_with_output().unwrap())
}

/// A raw connection the daemon has taken in (its hello answered), left idle after. Tried
/// again while refused: a client that just left (the harness's readiness probe) holds its
/// slot until the daemon has seen it go.
fn served(h: &Home) -> Raw {
    let mut taken = None;
    eventually("a connection is served", || {
        let mut c = h.connect();
        let ok = c.call(1, "hello", json!({}))["result"].is_object();
        taken = ok.then_some(c);
        ok
    });
    taken.unwrap()
}

/// The next response (skipping notifications) on a raw connection; `None` once closed.
fn response(c: &mut Raw) -> Option<Value> {
    loop {
        let m = c.read()?;
        if m.get("id").is_some() && m.get("method").is_none() {
            return Some(m);
        }
    }
}

#[test]
fn a_full_daemon_refuses_new_clients_with_a_reason_instead_of_hanging() {
    let h = Home::new().with_config("server:\n  max_connections: 2\n");
    let d = h.start();
    let first = served(&h);
    let _second = served(&h);
    // Counted from here: taking the two slots may itself have met the limit for a moment
    // (the start-up probe's connection still held one), which is a time of its own.
    let before = d.log().matches("connection limit reached").count();
    let r = codex_bounded(&h, &["status"]).code(EXIT_UNAVAILABLE);
    assert!(r.stderr.contains("max_connections"), "{}", r.stderr);
    // A raw client reads the same refusal as a JSON-RPC error line, then the close.
    let mut third = h.connect();
    let refusal = third.read().expect("a refusal line");
    assert_eq!(refusal["error"]["code"], -32007, "{refusal}");
    assert_eq!(refusal["id"], Value::Null);
    assert!(third.read().is_none(), "closed after the refusal");
    drop(first);
    eventually("a slot frees once a client leaves", || {
        codex_bounded(&h, &["status"]).code == Some(0)
    });
    let log = d.log();
    assert_eq!(
        log.matches("connection limit reached").count() - before,
        1,
        "logged once per time the limit is reached:\n{log}"
    );
}

#[test]
fn idle_connections_are_closed_and_free_their_slots() {
    let h = Home::new()
        .with_config("server:\n  max_connections: 2\n")
        .with_env("CODEX_TEST_IDLE_SECS", "1");
    let _d = h.start();
    let mut a = served(&h);
    let mut b = served(&h);
    // The daemon closes them: each read ends instead of waiting out the harness's timeout.
    assert!(a.read().is_none());
    assert!(b.read().is_none());
    codex_bounded(&h, &["status"]).ok();
}

#[test]
fn a_quiet_run_keeps_its_connection() {
    let h = Home::new().with_env("CODEX_TEST_IDLE_SECS", "1");
    let _d = h.start();
    let proj = h.project("p", &[("README", "x")]);
    let mut c = served(&h);
    // Prints nothing for three idle periods.
    let req = json!({"jsonrpc": "2.0", "id": 2, "method": "run",
        "params": {"argv": ["sleep", "3"], "cwd": proj}});
    c.write(format!("{req}\n").as_bytes()).unwrap();
    let r = response(&mut c).expect("the run's answer, not a closed connection");
    assert_eq!(
        r["result"]["outcome"],
        json!({"status": "exited", "code": 0}),
        "{r}"
    );
    // Once the run is over, the connection is idle like any other.
    assert!(c.read().is_none());
}

#[test]
fn a_slow_sender_is_cut_off_with_a_reason() {
    let h = Home::new().with_env("CODEX_TEST_LINE_SECS", "1");
    let _d = h.start();
    let mut c = served(&h);
    c.write(br#"{"jsonrpc":"2.0","id":2,"#).unwrap();
    let r = c.read().expect("an error line before the close");
    assert_eq!(r["error"]["code"], -32600, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not finished"),
        "{r}"
    );
    assert!(c.read().is_none());
}

#[test]
fn the_cli_gives_up_on_a_daemon_that_never_answers() {
    let h = Home::new().with_env("CODEX_TEST_TIMEOUT_SECS", "1");
    std::fs::create_dir_all(h.socket.parent().unwrap()).unwrap();
    let listener = UnixListener::bind(&h.socket).unwrap();
    // Accepts and reads, never answers: a stuck daemon.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            let mut r = BufReader::new(s);
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            held.push(r);
        }
    });
    let r = codex_bounded(&h, &["status"]).code(EXIT_UNAVAILABLE);
    assert!(r.stderr.contains("did not answer"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&h.socket.display().to_string()),
        "{}",
        r.stderr
    );
}

/// Open descriptors of a process.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

#[test]
fn running_out_of_descriptors_backs_off_and_recovers() {
    if !codex_e2e::have("prlimit") {
        return;
    }
    let h = Home::new();
    let d = h.start();
    codex_bounded(&h, &["status"]).ok();
    let pid = d.pid().to_string();
    let limit = open_fds(d.pid()) + 3;
    // The soft limit only: raising a hard limit again may not be allowed.
    let set_soft = |n: usize| {
        let st = std::process::Command::new("prlimit")
            .args(["--pid", &pid, &format!("--nofile={n}:")])
            .status()
            .unwrap();
        assert!(st.success());
    };
    set_soft(limit);
    // More clients than descriptors: the rest wait in the backlog while accept fails.
    let clients: Vec<UnixStream> = (0..8)
        .map(|_| UnixStream::connect(&h.socket).unwrap())
        .collect();
    eventually("the back-off is logged", || {
        d.log().contains("out of file descriptors")
    });
    // Long enough for a spinning loop to log many times over.
    std::thread::sleep(Duration::from_secs(1));
    let log = d.log();
    let failures = log.matches("accept failed").count();
    assert!(failures <= 2, "{failures} accept failures logged:\n{log}");
    drop(clients);
    set_soft(limit + 64);
    eventually("accepting again", || {
        codex_bounded(&h, &["status"]).code == Some(0)
    });
}

#[test]
fn a_refused_client_can_still_read_why_after_writing() {
    let h = Home::new().with_config("server:\n  max_connections: 1\n");
    let _d = h.start();
    let _only = served(&h);
    let mut s = UnixStream::connect(&h.socket).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let _ = s.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\"}\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    assert!(text.contains("-32007"), "{text}");
}
