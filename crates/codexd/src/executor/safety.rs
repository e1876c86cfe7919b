//! The first safety rule: a command that deletes recursively or needs root is not run without
//! explicit approval (`codex run --yes`).
//!
//! The rule looks through wrappers that run another command (`env`, `nice`, `xargs`, ...)
//! and into `sh -c` scripts without parsing them, erring on the side of asking: any later
//! word that names a guarded program counts. The tables below are the whole rule.

use codex_proto::types::{Refusal, SafetyClass};

use crate::episode::command_line;

/// Programs that run their arguments as another command. Their options vary too much to
/// parse, so every later word is searched, as in a shell script.
const WRAPPERS: &[&str] = &[
    "env", "command", "exec", "nohup", "nice", "ionice", "time", "timeout", "stdbuf", "xargs",
    "chrt", "taskset", "setsid", "unbuffer", "busybox", "watch", "flock", "strace", "ltrace",
];

/// Programs that need root, and why.
const PRIVILEGED: &[&str] = &["sudo", "doas", "su", "pkexec", "run0"];

/// Programs that destroy data wholesale (matched as a prefix for `mkfs.*`).
const DESTRUCTIVE: &[(&str, &str)] = &[
    ("dd", "writes raw data over files or devices"),
    ("mkfs", "creates a file system, erasing the device"),
    ("mke2fs", "creates a file system, erasing the device"),
    ("mkswap", "formats a device as swap, erasing it"),
    ("wipefs", "erases file system signatures"),
    ("shred", "overwrites files to destroy their content"),
];

/// Shells whose `-c` script is searched for guarded commands.
const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh", "fish", "ash"];

/// Check a command line; `Some` when it needs approval.
pub fn check(argv: &[String]) -> Option<Refusal> {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let (class, reason) = check_words(&words)?;
    Some(Refusal {
        class,
        reason,
        command: command_line(argv),
    })
}

fn check_words(words: &[&str]) -> Option<(SafetyClass, String)> {
    let (&first, args) = words.split_first()?;
    let prog = basename(first);
    if PRIVILEGED.contains(&prog) {
        return Some((
            SafetyClass::Privileged,
            format!("`{prog}` runs a command as root"),
        ));
    }
    if let Some(why) = destructive(prog) {
        return Some((SafetyClass::Destructive, format!("`{prog}` {why}")));
    }
    if prog == "rm" && rm_is_recursive(args) {
        return Some((
            SafetyClass::Destructive,
            "`rm` with a recursive flag deletes whole folders".into(),
        ));
    }
    if WRAPPERS.contains(&prog) {
        return scan(args, &format!("`{prog}` runs"));
    }
    if SHELLS.contains(&prog) {
        let script = args
            .iter()
            .position(|a| a.starts_with('-') && !a.starts_with("--") && a[1..].contains('c'))
            .and_then(|i| args.get(i + 1))?;
        let words: Vec<&str> = script
            .split(|c: char| c.is_whitespace() || ";&|()`$<>{}".contains(c))
            .map(|w| w.trim_matches(['"', '\'', '\\']))
            .filter(|w| !w.is_empty())
            .collect();
        return scan(&words, "the shell script runs");
    }
    None
}

/// Search words that may hold a command anywhere (a wrapper's arguments, a shell script):
/// a guarded program anywhere, or `rm` followed anywhere by a recursive flag, needs approval.
fn scan(words: &[&str], context: &str) -> Option<(SafetyClass, String)> {
    for (i, w) in words.iter().enumerate() {
        let prog = basename(w);
        if PRIVILEGED.contains(&prog) {
            return Some((
                SafetyClass::Privileged,
                format!("{context} `{prog}`, which runs a command as root"),
            ));
        }
        if let Some(why) = destructive(prog) {
            return Some((
                SafetyClass::Destructive,
                format!("{context} `{prog}`, which {why}"),
            ));
        }
        if prog == "rm" && rm_is_recursive(&words[i + 1..]) {
            return Some((
                SafetyClass::Destructive,
                format!("{context} `rm` with a recursive flag"),
            ));
        }
    }
    None
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

fn destructive(prog: &str) -> Option<&'static str> {
    DESTRUCTIVE.iter().find_map(|(name, why)| {
        let hit = prog == *name || (prog.starts_with(name) && prog[name.len()..].starts_with('.'));
        hit.then_some(*why)
    })
}

fn rm_is_recursive(args: &[&str]) -> bool {
    for a in args {
        match *a {
            "--" => return false,
            "--recursive" | "-r" | "-R" => return true,
            a if a.starts_with("--") => {}
            a if a.starts_with('-')
                && a.len() > 1
                && a[1..].chars().any(|c| c == 'r' || c == 'R') =>
            {
                return true;
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(cmd: &[&str]) -> Option<SafetyClass> {
        let argv: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        check(&argv).map(|r| r.class)
    }

    #[test]
    fn guarded_commands_need_approval() {
        use SafetyClass::*;
        let cases: &[(&[&str], Option<SafetyClass>)] = &[
            (&["rm", "-rf", "build"], Some(Destructive)),
            (&["rm", "-fr", "build"], Some(Destructive)),
            (&["rm", "-r", "x"], Some(Destructive)),
            (&["rm", "-R", "x"], Some(Destructive)),
            (&["rm", "-vRf", "x"], Some(Destructive)),
            (&["rm", "--recursive", "x"], Some(Destructive)),
            (&["/bin/rm", "-rf", "x"], Some(Destructive)),
            (&["env", "FOO=1", "rm", "-rf", "x"], Some(Destructive)),
            (&["nice", "-n", "10", "rm", "-r", "x"], Some(Destructive)),
            (
                &["timeout", "5s", "dd", "if=/dev/zero", "of=x"],
                Some(Destructive),
            ),
            (&["xargs", "-0", "rm", "-rf"], Some(Destructive)),
            (&["command", "rm", "-rf", "x"], Some(Destructive)),
            (&["env", "-i", "rm", "-rf", "x"], Some(Destructive)),
            (&["taskset", "0x3", "rm", "-rf", "x"], Some(Destructive)),
            (&["env", "sudo", "ls"], Some(Privileged)),
            (&["dd", "if=a", "of=b"], Some(Destructive)),
            (&["mkfs.ext4", "/dev/sdb1"], Some(Destructive)),
            (&["mkfs", "-t", "ext4", "/dev/sdb1"], Some(Destructive)),
            (&["shred", "secret"], Some(Destructive)),
            (&["sudo", "ls"], Some(Privileged)),
            (&["/usr/bin/sudo", "-u", "bob", "ls"], Some(Privileged)),
            (&["doas", "ls"], Some(Privileged)),
            (&["su", "-c", "ls"], Some(Privileged)),
            (&["sh", "-c", "cd /tmp && rm -rf foo"], Some(Destructive)),
            (&["bash", "-lc", "echo hi; sudo reboot"], Some(Privileged)),
            (&["sh", "-c", "find . | xargs rm -r"], Some(Destructive)),
            // benign
            (&["rm", "file.txt"], None),
            (&["rm", "-f", "file.txt"], None),
            (&["rm", "--", "-r"], None),
            (&["ls", "-R"], None),
            (&["cargo", "test"], None),
            (&["grep", "-r", "sudo", "."], None),
            (&["echo", "rm", "-rf"], None),
            (&["git", "rm", "-r", "--cached", "x"], None),
            (&["sh", "-c", "echo hello"], None),
            (&["sh", "script.sh"], None),
            (&["env"], None),
            (&["mkfsfoo"], None),
            (&["ddrescue-like"], None),
        ];
        for (cmd, want) in cases {
            assert_eq!(class_of(cmd), *want, "{cmd:?}");
        }
    }

    #[test]
    fn refusals_say_why_and_show_the_command() {
        let argv: Vec<String> = ["rm", "-rf", "my dir"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let r = check(&argv).unwrap();
        assert!(r.reason.contains("recursive"), "{}", r.reason);
        assert_eq!(r.command, "rm -rf 'my dir'");
    }
}
