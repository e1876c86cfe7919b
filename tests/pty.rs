//! A step on a terminal: `codex` itself runs on a pseudo-terminal this test opens (made its
//! controlling terminal through util-linux `setsid -c`, as a login shell's would be), and the
//! test types at it, resizes it and reads what it shows; one test speaks the protocol itself
//! (`run` with `tty`, `run/tty` and `run/input` in base64). Each wait is bounded by a thing
//! seen, never by a time that must be enough.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use codex_e2e::{Home, WAIT, bin, eventually, have, process_running};
use rustix::pty::OpenptFlags;
use rustix::termios::{LocalModes, Termios, Winsize};
use serde_json::Value;

/// `codex ARGS` on a terminal of its own, as a person at a terminal runs it.
struct Screen {
    master: OwnedFd,
    slave: OwnedFd,
    shown: Arc<Mutex<Vec<u8>>>,
    child: Child,
}

fn winsize(rows: u16, cols: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl Screen {
    /// Start `codex --no-autostart ARGS` in `dir` on a fresh 24x80 terminal; `None` (a
    /// printed skip) where `setsid` cannot give it one.
    fn start(h: &Home, dir: &Path, args: &[&str]) -> Option<Screen> {
        if !have("setsid") {
            return None;
        }
        let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
        let master = rustix::pty::openpt(flags).expect("open a pseudo-terminal");
        rustix::pty::grantpt(&master).unwrap();
        rustix::pty::unlockpt(&master).unwrap();
        let slave = rustix::pty::ioctl_tiocgptpeer(&master, flags).expect("open its other side");
        rustix::termios::tcsetwinsize(&master, winsize(24, 80)).unwrap();
        let io = || Stdio::from(slave.try_clone().unwrap());
        let child = h
            .command("setsid")
            .arg("-c")
            .arg(bin("codex"))
            .arg("--no-autostart")
            .args(args)
            .current_dir(dir)
            .env("TERM", "xterm")
            .stdin(io())
            .stdout(io())
            .stderr(io())
            .spawn()
            .expect("spawn setsid codex");
        let shown = Arc::new(Mutex::new(Vec::new()));
        let reader = master.try_clone().unwrap();
        let sink = shown.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends when the test drops its side of the terminal (EIO).
            while let Ok(n @ 1..) = rustix::io::read(&reader, &mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Some(Screen {
            master,
            slave,
            shown,
            child,
        })
    }

    /// Everything the terminal has shown so far.
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned()
    }

    /// Wait until the terminal shows `what`.
    fn expect(&self, what: &str) {
        let start = Instant::now();
        while !self.text().contains(what) {
            assert!(
                start.elapsed() < WAIT,
                "the terminal never showed {what:?}; it shows {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Type `bytes` at the terminal.
    fn type_in(&self, bytes: &[u8]) {
        let mut w = std::fs::File::from(self.master.try_clone().unwrap());
        w.write_all(bytes).unwrap();
    }

    /// The terminal's modes now.
    fn modes(&self) -> Termios {
        rustix::termios::tcgetattr(&self.slave).unwrap()
    }

    /// Wait for codex to exit; its status and all the terminal showed.
    fn finish(mut self) -> (ExitStatus, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if start.elapsed() > WAIT {
                let _ = self.child.kill();
                panic!("codex did not exit; the terminal shows {:?}", self.text());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // What codex wrote last is in the terminal before it exited; let the reader take it.
        let mut last = self.text().len();
        loop {
            std::thread::sleep(Duration::from_millis(20));
            let now = self.text().len();
            if now == last {
                break;
            }
            last = now;
        }
        (status, self.text())
    }
}

/// The same modes (what decides raw or line mode, echo, translation, signals).
fn same_modes(a: &Termios, b: &Termios) -> bool {
    use rustix::termios::SpecialCodeIndex as I;
    a.input_modes == b.input_modes
        && a.output_modes == b.output_modes
        && a.control_modes == b.control_modes
        && a.local_modes == b.local_modes
        && [I::VINTR, I::VEOF, I::VMIN, I::VTIME]
            .iter()
            .all(|&i| a.special_codes[i] == b.special_codes[i])
}

/// The last run, as `codex --json show last` has it.
fn last_run(h: &Home) -> Value {
    h.codex(&["--json", "show", "last"]).ok().json()
}

/// A home with a running daemon and a project folder, where a script (`sh -c ...`) runs
/// confined and unasked at the default comfort; `None` (a printed skip) where the sandbox
/// does not hold, since such steps are then asked first.
fn setup() -> Option<(Home, codex_e2e::Daemon, std::path::PathBuf)> {
    let h = Home::new();
    let d = h.start();
    if !h.sandbox_enforced() {
        return None;
    }
    // A git repository: its root is the project, where a confined step may write.
    let proj = h.project("proj", &[("README", "x\n")]);
    std::fs::create_dir_all(proj.join(".git")).unwrap();
    Some((h, d, proj))
}

#[test]
fn a_step_is_on_a_terminal_exactly_when_codex_is() {
    let Some((h, _d, proj)) = setup() else {
        return;
    };
    let Some(s) = Screen::start(
        &h,
        &proj,
        &["run", "--", "test", "-t", "0", "-a", "-t", "1"],
    ) else {
        return;
    };
    let (status, shown) = s.finish();
    assert_eq!(status.code(), Some(0), "{shown}");
    // Without a terminal, as before: no stdin, output through pipes.
    h.codex_in(&proj, &["run", "--", "test", "-t", "1"]).code(1);
    h.codex_in(&proj, &["run", "--", "test", "-t", "0"]).code(1);
}

#[test]
fn colours_reach_the_terminal_and_the_kept_output_is_plain_text() {
    let Some((h, _d, proj)) = setup() else {
        return;
    };
    let script =
        r"printf '\033[1;31mred\033[0m and \033]0;a title\007plain\n'; printf ' 10%%\r100%%\n'";
    let Some(s) = Screen::start(&h, &proj, &["run", "--", "sh", "-c", script]) else {
        return;
    };
    let (status, shown) = s.finish();
    assert_eq!(status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("\x1b[1;31mred\x1b[0m and \x1b]0;a title\x07plain\r\n"),
        "the bytes arrive as written: {shown:?}"
    );
    let run = last_run(&h);
    let tail = run["steps"][0]["output_tail"].as_str().unwrap();
    assert_eq!(tail, "red and plain\n100%\n", "{run}");
    assert_eq!(
        run["steps"][0]["confined"], true,
        "the terminal changes no confinement"
    );
}

#[test]
fn what_is_typed_reaches_a_program_reading_its_terminal_in_raw_mode() {
    let Some((h, _d, proj)) = setup() else {
        return;
    };
    // Like an editor: open /dev/tty, set raw mode on it, read one key, restore.
    let script = "exec 3<>/dev/tty; old=$(stty -g <&3); stty raw -echo <&3; echo ready >&3; \
                  key=$(dd bs=1 count=1 <&3 2>/dev/null); stty \"$old\" <&3; \
                  echo \"key:$key\"; read -r line; echo \"line:$line\"";
    let Some(s) = Screen::start(&h, &proj, &["run", "--", "sh", "-c", script]) else {
        return;
    };
    s.expect("ready");
    s.type_in(b"x");
    s.expect("key:x");
    s.type_in(b"a whole line\r");
    s.expect("line:a whole line");
    let (status, shown) = s.finish();
    assert_eq!(status.code(), Some(0), "{shown}");
    let run = last_run(&h);
    assert_eq!(run["steps"][0]["confined"], true, "{run}");
}

#[test]
fn the_terminal_is_raw_only_while_the_step_runs() {
    let Some((h, _d, proj)) = setup() else {
        return;
    };
    let Some(s) = Screen::start(
        &h,
        &proj,
        &["run", "--", "sh", "-c", "echo ready; read -r x"],
    ) else {
        return;
    };
    let before = s.modes();
    assert!(
        before
            .local_modes
            .contains(LocalModes::ICANON | LocalModes::ECHO)
    );
    s.expect("ready");
    let during = s.modes();
    assert!(
        !during
            .local_modes
            .intersects(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG),
        "codex relays in raw mode: {:?}",
        during.local_modes
    );
    s.type_in(b"\r");
    let slave = s.slave.try_clone().unwrap();
    let (status, shown) = s.finish();
    assert_eq!(status.code(), Some(0), "{shown}");
    let after = rustix::termios::tcgetattr(&slave).unwrap();
    assert!(
        same_modes(&before, &after),
        "the modes codex found are back"
    );
}

#[test]
fn ctrl_c_interrupts_the_step_and_not_codex() {
    let Some((h, _d, proj)) = setup() else {
        return;
    };
    let Some(s) = Screen::start(
        &h,
        &proj,
        &["run", "--", "sh", "-c", "echo ready; sleep 60"],
    ) else {
        return;
    };
    s.expect("ready");
    s.type_in(b"\x03");
    let (status, shown) = s.finish();
    assert_eq!(status.code(), Some(130), "{shown}");
    assert!(
        shown.contains("signal 2"),
        "codex says how the step ended: {shown:?}"
    );
    let run = last_run(&h);
    assert_eq!(
        run["outcome"],
        serde_json::json!({"status": "signaled", "signal": 2})
    );
}

#[test]
fn a_resize_reaches_the_step() {
    let Some((h, _d, proj)) = setup() else {
        return;
    };
    let script = "stty size; echo ready; read -r x; stty size; echo done";
    let Some(s) = Screen::start(&h, &proj, &["run", "--", "sh", "-c", script]) else {
        return;
    };
    s.expect("ready");
    assert!(s.text().contains("24 80"), "{:?}", s.text());
    // The kernel sends codex SIGWINCH; codex tells the daemon, which sizes the step's
    // terminal before the line typed after it arrives.
    rustix::termios::tcsetwinsize(&s.master, winsize(41, 123)).unwrap();
    s.type_in(b"\r");
    s.expect("done");
    let (status, shown) = s.finish();
    assert_eq!(status.code(), Some(0), "{shown}");
    assert!(shown.contains("41 123"), "{shown:?}");
}

#[test]
fn codex_killed_or_terminated_mid_step_cancels_it_and_restores_the_terminal() {
    let Some((h, _d, proj)) = setup() else {
        return;
    };
    // In the project: a confined step writes nowhere else.
    let pidfile = proj.join("step.pid");
    let script = format!(
        "echo $$ > '{}'; echo ready; exec sleep 300",
        pidfile.display()
    );
    for (signal, code) in [
        (rustix::process::Signal::TERM, Some(143)),
        (rustix::process::Signal::KILL, None),
    ] {
        let _ = std::fs::remove_file(&pidfile);
        let Some(s) = Screen::start(&h, &proj, &["run", "--", "sh", "-c", &script]) else {
            return;
        };
        let before = s.modes();
        s.expect("ready");
        let step: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let codex = rustix::process::Pid::from_child(&s.child);
        rustix::process::kill_process(codex, signal).unwrap();
        let slave = s.slave.try_clone().unwrap();
        let (status, shown) = s.finish();
        assert_eq!(status.code(), code, "{signal:?}: {shown}");
        if code.is_some() {
            let after = rustix::termios::tcgetattr(&slave).unwrap();
            assert!(
                same_modes(&before, &after),
                "{signal:?}: the terminal is restored"
            );
        }
        // The daemon noticed the client gone: the step is ended and the run recorded.
        eventually("the step to be ended", || !process_running(step));
        eventually("the run to be recorded as cancelled", || {
            last_run(&h)["outcome"]["status"] == "cancelled"
        });
    }
}

#[test]
fn a_step_that_closes_its_terminal_before_exiting_keeps_its_own_status() {
    let Some((h, _d, proj)) = setup() else {
        return;
    };
    // As coreutils close stdout before they exit: the terminal reads as closed while the step
    // still runs. Hung up under it then, the step would die of SIGHUP (status 129).
    let script = "echo bye; exec 0<&- 1>&- 2>&-; sleep 0.2; exit 3";
    let Some(s) = Screen::start(&h, &proj, &["run", "--", "sh", "-c", script]) else {
        return;
    };
    let (status, shown) = s.finish();
    assert_eq!(status.code(), Some(3), "{shown}");
}

#[test]
fn a_step_on_a_terminal_still_times_out() {
    let h = Home::new().with_config("safety:\n  timeouts: {sleep: 1}\n");
    let _d = h.start();
    let Some(s) = Screen::start(&h, h.scratch(), &["run", "--", "sleep", "60"]) else {
        return;
    };
    let (status, shown) = s.finish();
    assert_eq!(status.code(), Some(124), "{shown}");
    assert_eq!(last_run(&h)["outcome"]["status"], "timed_out");
}

#[test]
fn json_output_never_takes_the_terminal() {
    let Some((h, _d, proj)) = setup() else {
        return;
    };
    let Some(s) = Screen::start(&h, &proj, &["--json", "run", "--", "test", "-t", "1"]) else {
        return;
    };
    let (status, shown) = s.finish();
    assert_eq!(
        status.code(),
        Some(1),
        "--json streams events, not a terminal: {shown}"
    );
    assert!(shown.contains("\"event\":\"finished\""), "{shown}");
}

/// What a confined step may do with terminals, as a Python script reports it: open
/// `/dev/tty` to write, and drop (TIOCNOTTY) or take (TIOCSCTTY) a controlling terminal.
const TERMINAL_ATTEMPTS: &str = r#"
import errno, fcntl, os, termios
def attempt(name, f):
    try:
        f()
        print(name + ":allowed")
    except OSError as e:
        print(name + ":" + errno.errorcode.get(e.errno, str(e.errno)))
def write_tty():
    fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    os.write(fd, b"")
    os.close(fd)
attempt("write-tty", write_tty)
attempt("notty", lambda: fcntl.ioctl(0, termios.TIOCNOTTY))
attempt("sctty", lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
"#;

#[test]
fn a_confined_step_reaches_its_own_terminal_and_no_other() {
    let Some((h, _d, proj)) = setup() else {
        return;
    };
    if !have("python3") {
        return;
    }
    std::fs::write(proj.join("attempts.py"), TERMINAL_ATTEMPTS).unwrap();
    let Some(s) = Screen::start(&h, &proj, &["run", "--", "python3", "attempts.py"]) else {
        return;
    };
    let (status, shown) = s.finish();
    assert_eq!(status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("write-tty:allowed"),
        "its own terminal: {shown}"
    );
    // Its terminal stays the one it was given: it can neither let go of it nor take
    // another (the kernel would say EINVAL or ENOTTY; seccomp says EPERM first).
    assert!(shown.contains("notty:EPERM"), "{shown}");
    assert!(shown.contains("sctty:EPERM"), "{shown}");
    assert_eq!(last_run(&h)["steps"][0]["confined"], true);
    // Without a terminal of its own, `/dev/tty` is not the step's to write (Landlock says
    // EACCES before the kernel would say it has none).
    let out = h
        .codex_in(&proj, &["run", "--", "python3", "attempts.py"])
        .ok();
    assert!(
        out.stdout.contains("write-tty:EACCES") || out.stdout.contains("write-tty:ENXIO"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_protocol_relays_a_terminal_as_base64_both_ways() {
    let Some((h, _d, proj)) = setup() else {
        return;
    };
    let mut c = h.connect();
    let script = "stty size; read -r line; printf '\\033[7m%s\\033[0m\\n' \"$line\"";
    let run = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "run", "params": {
        "argv": ["sh", "-c", script], "cwd": proj, "env": {"PATH": std::env::var("PATH").unwrap()},
        "tty": {"rows": 30, "cols": 90, "term": "xterm"}}});
    c.write(format!("{run}\n").as_bytes()).unwrap();
    let started = c.read().unwrap();
    assert_eq!(started["method"], "run/started", "{started}");
    let run_id = started["params"]["run_id"].clone();
    let mut shown = Vec::new();
    let mut typed = false;
    let result = loop {
        let m = c.read().expect("the run's messages");
        if m["id"] == 1 {
            break m;
        }
        assert_eq!(
            m["method"], "run/tty",
            "a run on a terminal sends its bytes so: {m}"
        );
        let data = m["params"]["data"].as_str().unwrap();
        shown.extend(STANDARD.decode(data).expect("base64"));
        if !typed && shown.ends_with(b"30 90\r\n") {
            let input = serde_json::json!({"jsonrpc": "2.0", "method": "run/input",
                "params": {"run_id": run_id, "data": STANDARD.encode(b"hi\r")}});
            c.write(format!("{input}\n").as_bytes()).unwrap();
            typed = true;
        }
    };
    assert_eq!(result["result"]["outcome"]["status"], "exited", "{result}");
    // The terminal's bytes as written: the echo of what was typed, then reverse video.
    assert_eq!(
        shown,
        b"30 90\r\nhi\r\n\x1b[7mhi\x1b[0m\r\n",
        "{:?}",
        String::from_utf8_lossy(&shown)
    );
    assert_eq!(last_run(&h)["steps"][0]["output_tail"], "30 90\nhi\nhi\n");
}
