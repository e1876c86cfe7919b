//! Which processes are codexd's own steps. Every step starts in a session of its own (the
//! sandbox helper calls `setsid`), so a process belongs to a step when its session is one a
//! step started, or when codexd is among its ancestors. The server asks this for every request
//! that would change permissions or data: a step must never widen what may run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Sessions of steps kept after they end (their background processes may live on).
const KEPT_SESSIONS: usize = 4096;
/// How far up the parent chain to look.
const MAX_DEPTH: usize = 256;

/// The sessions codexd's steps were started in, shared by the executor (which records them)
/// and the server (which asks).
#[derive(Debug, Clone, Default)]
pub struct Steps {
    sessions: Arc<Mutex<Sessions>>,
    /// Where the newest sessions are written, so a codexd started after a crash can end
    /// what the crashed one's steps left running.
    file: Option<Arc<std::path::PathBuf>>,
}

/// Sessions written to the file (the newest): older steps' processes are long gone or
/// were ended when they finished.
const SESSIONS_IN_FILE: usize = 256;

#[derive(Debug, Default)]
struct Sessions {
    /// Session id → start time of its leader (the helper), to tell a reused pid apart.
    by_sid: HashMap<i32, u64>,
    order: std::collections::VecDeque<i32>,
}

/// What `/proc/PID/stat` says of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    ppid: i32,
    sid: i32,
    start: u64,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let rest = text.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // state ppid pgrp session ... starttime is field 22 overall (index 19 here).
    Some(Stat {
        ppid: f.get(1)?.parse().ok()?,
        sid: f.get(3)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
    })
}

/// Make codexd the reaper of its steps' orphans: a process a step left behind (even one
/// that called `setsid`) gets codexd as its parent instead of init, so [`end_descendants`]
/// finds it when codexd stops.
pub fn adopt_orphans() {
    if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
        tracing::warn!(
            "cannot become the reaper of the steps' orphans ({e}): a step's process that leaves its session may outlive codexd"
        );
    }
}

/// SIGKILL the processes of the sessions listed in `file` (`SID START` lines): those in a
/// session whose leader is gone, or still the same process (same start time). A session id
/// is not handed to a new process while any process of the session lives, so these are the
/// steps' own.
fn end_sessions_in(file: &std::path::Path) -> usize {
    let Ok(text) = std::fs::read_to_string(file) else {
        return 0;
    };
    let listed: HashMap<i32, u64> = text
        .lines()
        .filter_map(|l| {
            let (sid, start) = l.split_once(' ')?;
            Some((sid.parse().ok()?, start.trim().parse().ok()?))
        })
        .collect();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let me = i32::try_from(std::process::id()).unwrap_or(-1);
    let mut ended = 0;
    for pid in dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()) {
        let Some(st) = stat(pid) else { continue };
        let Some(leader_start) = listed.get(&st.sid) else {
            continue;
        };
        let leader_reused = stat(st.sid).is_some_and(|l| l.start != *leader_start);
        if pid != me
            && !leader_reused
            && st.start >= *leader_start
            && let Some(p) = rustix::process::Pid::from_raw(pid)
        {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            ended += 1;
        }
    }
    ended
}

/// SIGKILL every process below codexd (steps, and the orphans they left), deepest first;
/// returns how many were signalled. Called once every run has ended, at stop.
pub fn end_descendants() -> usize {
    let me = i32::try_from(std::process::id()).unwrap_or(-1);
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let all: Vec<(i32, Stat)> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect();
    let mut below = vec![me];
    let mut found = Vec::new();
    while let Some(parent) = below.pop() {
        for (pid, st) in &all {
            if st.ppid == parent && *pid != me && !found.contains(pid) {
                found.push(*pid);
                below.push(*pid);
            }
        }
    }
    for pid in found.iter().rev() {
        if let Some(p) = rustix::process::Pid::from_raw(*pid) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
    }
    found.len()
}

/// Whether a peer is one of codexd's steps, or could not be told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// Not a step: a person's own process.
    Outside,
    /// A step, or a process started by one; the text says how it was recognised.
    Step(String),
    /// Its process cannot be examined (gone, another pid namespace): treated as a step.
    Unknown(String),
}

impl Steps {
    /// Steps whose sessions are also written to `file`. The sessions a previous codexd
    /// wrote there (it crashed, or its steps' processes left their parent) are ended first.
    pub fn persisted(file: std::path::PathBuf) -> Steps {
        let ended = end_sessions_in(&file);
        if ended > 0 {
            tracing::warn!(
                processes = ended,
                "ended processes a previous codexd's steps left running"
            );
        }
        let _ = std::fs::remove_file(&file);
        Steps {
            file: Some(Arc::new(file)),
            ..Steps::default()
        }
    }

    /// A step's helper started with `pid` (its session id once it calls `setsid`).
    pub fn started(&self, pid: u32) {
        let Ok(pid) = i32::try_from(pid) else { return };
        let start = stat(pid).map_or(0, |s| s.start);
        if let Ok(mut s) = self.sessions.lock() {
            if s.by_sid.insert(pid, start).is_none() {
                s.order.push_back(pid);
            }
            while s.order.len() > KEPT_SESSIONS {
                if let Some(old) = s.order.pop_front() {
                    s.by_sid.remove(&old);
                }
            }
            if let Some(file) = &self.file {
                let text: String = s
                    .order
                    .iter()
                    .rev()
                    .take(SESSIONS_IN_FILE)
                    .filter_map(|sid| Some(format!("{sid} {}\n", s.by_sid.get(sid)?)))
                    .collect();
                // Not synced: it serves a crash of codexd, not of the machine (which ends
                // every process anyway).
                let written = {
                    use std::io::Write as _;
                    use std::os::unix::fs::OpenOptionsExt as _;
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .mode(0o600)
                        .open(file.as_path())
                        .and_then(|mut f| f.write_all(text.as_bytes()))
                };
                if let Err(e) = written {
                    tracing::warn!(file = %file.display(), "cannot note the step's session: {e}");
                }
            }
        }
    }

    /// Classify the process `pid` that connected (from its socket credentials); `daemon` is
    /// codexd's own pid.
    pub fn peer(&self, pid: Option<i32>, daemon: u32) -> Peer {
        let Some(pid) = pid.filter(|p| *p > 0) else {
            return Peer::Unknown("the client's process id is not known".into());
        };
        let daemon = i32::try_from(daemon).unwrap_or(-1);
        let Some(first) = stat(pid) else {
            return Peer::Unknown(format!("the client's process {pid} cannot be examined"));
        };
        let sessions = match self.sessions.lock() {
            Ok(s) => s.by_sid.clone(),
            Err(_) => return Peer::Unknown("the step registry is unusable".into()),
        };
        let mut cur = (pid, first);
        for _ in 0..MAX_DEPTH {
            let (p, st) = cur;
            if p == daemon {
                return Peer::Step(format!("process {pid} was started by codexd"));
            }
            if let Some(leader_start) = sessions.get(&st.sid) {
                // The session's id is its leader's pid; a live process with that pid and
                // another start time is a new session that reused the number.
                let reused = stat(st.sid).is_some_and(|l| l.start != *leader_start);
                if !reused {
                    return Peer::Step(format!(
                        "process {pid} is in the session of a step codexd started"
                    ));
                }
            }
            if st.ppid <= 1 {
                break;
            }
            match stat(st.ppid) {
                Some(parent) => cur = (st.ppid, parent),
                None => break,
            }
        }
        Peer::Outside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_children_and_their_sessions_are_steps_and_we_are_not() {
        let steps = Steps::default();
        let me = std::process::id();
        // This test process is nobody's step.
        assert_eq!(steps.peer(i32::try_from(me).ok(), 1), Peer::Outside);
        // A child of the "daemon" (us) is a step, by ancestry.
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let cpid = i32::try_from(child.id()).ok();
        assert!(matches!(steps.peer(cpid, me), Peer::Step(_)));
        // Its session, once recorded, makes it a step even if codexd is not its ancestor.
        let own_sid = stat(i32::try_from(me).unwrap()).unwrap().sid;
        steps.started(u32::try_from(own_sid).unwrap());
        assert!(matches!(steps.peer(cpid, 1), Peer::Step(_)));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            matches!(steps.peer(cpid, 1), Peer::Unknown(_)),
            "a gone process is not trusted"
        );
        assert!(matches!(steps.peer(None, 1), Peer::Unknown(_)));
    }
}
