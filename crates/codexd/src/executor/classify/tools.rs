//! Programs whose danger lies in how their arguments are read, checked in code: sed and awk
//! scripts, git's global options and config keys, docker's host flags, chmod's set-id bits,
//! kill's targets, make and cmake, strace's pipes; archivers in `archives.rs`.

use codex_proto::types::SafetyClass;

use super::Verdict;
use super::args::{self, Values};
use super::paths::{self, Effect, Spot};
use super::programs::{Check, plain};

impl Check<'_, '_> {
    /// The dangers of programs whose arguments need reading in code.
    pub(super) fn special(&mut self, spot: Spot<'_>) -> Option<Verdict> {
        let (c, p, args) = (self.c, self.p, self.args);
        let judge = |path: &str, effect: Effect| {
            paths::judge(path, effect, spot, &c.plants, &c.system)
                .map(|(k, why)| Verdict::new(k, why))
        };
        match p {
            "sed" | "gsed" => {
                if !Values::value_of(args, &['f'], &["--file"]).is_empty() {
                    return Some(Verdict::destructive(
                        "`sed -f` runs a script from a file, which cannot be checked",
                    ));
                }
                let operands: Vec<&str> =
                    plain(args, &['e', 'l'], &["--expression", "--line-length"]);
                let Some(script) = sed_script(args, &operands) else {
                    return Some(Verdict::new(SafetyClass::ReadOnly, "`sed` with no script"));
                };
                let Some(fx) = super::sed::effects(&script) else {
                    return Some(Verdict::destructive(
                        "the `sed` script cannot be read, so what it runs cannot be checked",
                    ));
                };
                if fx.runs {
                    return Some(Verdict::destructive(
                        "the `sed` script runs shell commands (`e`), which cannot be checked",
                    ));
                }
                let mut v: Option<Verdict> = None;
                for w in &fx.writes {
                    if let Some(j) = judge(w, Effect::Overwrite) {
                        v = Some(v.map_or(j.clone(), |o| o.max(j)));
                    }
                    self.fx.writes.push(w.clone());
                    self.fx.plants = true;
                }
                let in_place = args.iter().take_while(|a| *a != "--").any(|a| {
                    (args::is_cluster(a)
                        && a.chars()
                            .skip(1)
                            .take_while(|c| *c != 'e')
                            .any(|c| c == 'i'))
                        || args::long_prefix_of(a, "--in-place")
                });
                if in_place {
                    let explicit = !Values::value_of(args, &['e'], &["--expression"]).is_empty();
                    for f in operands.iter().skip(usize::from(!explicit)) {
                        let j = judge(f, Effect::Overwrite).unwrap_or_else(|| {
                            Verdict::new(SafetyClass::WritesInProject, "edits files in place")
                        });
                        v = Some(v.map_or(j.clone(), |o| o.max(j)));
                        self.fx.plants = true;
                    }
                    v = v.or_else(|| {
                        Some(Verdict::new(
                            SafetyClass::WritesInProject,
                            "`sed -i` edits files in place",
                        ))
                    });
                }
                v
            }
            "awk" | "gawk" | "mawk" | "nawk" => {
                if !Values::value_of(args, &['f', 'E'], &["--file", "--exec"]).is_empty()
                    || !Values::value_of(args, &['l'], &["--load"]).is_empty()
                {
                    return Some(Verdict::destructive(
                        "the awk program comes from a file or loads a library, which cannot be checked",
                    ));
                }
                let includes = Values::value_of(args, &['i'], &["--include"]);
                if includes.iter().any(|i| *i != "inplace") {
                    return Some(Verdict::destructive("`awk -i` loads awk code from a file"));
                }
                let operands = plain(
                    args,
                    &['F', 'v', 'e', 'i', 'W'],
                    &["--field-separator", "--assign", "--source", "--include"],
                );
                let prog = awk_program(args, &operands).unwrap_or_default();
                static PRINT_TO: std::sync::LazyLock<Option<regex::Regex>> =
                    std::sync::LazyLock::new(|| {
                        regex::Regex::new(r#"printf?\b[^;{}]*(>|\|)"#).ok()
                    });
                if prog.contains("system")
                    || prog.contains("getline")
                    || prog.contains("|&")
                    || prog.contains('@')
                    || PRINT_TO.as_ref().is_some_and(|re| re.is_match(&prog))
                {
                    return Some(Verdict::destructive(
                        "the awk program runs commands or writes files, which cannot be checked",
                    ));
                }
                if !includes.is_empty() {
                    let mut v = Verdict::new(
                        SafetyClass::WritesInProject,
                        "`awk -i inplace` edits files in place",
                    );
                    for f in operands.iter().skip(1) {
                        if let Some(j) = judge(f, Effect::Overwrite) {
                            v = v.max(j);
                        }
                    }
                    return Some(v);
                }
                None
            }
            "git" => self.git(spot),
            "docker" | "podman" | "nerdctl" => docker(args, spot),
            "chmod" | "install" => {
                let modes: Vec<&str> = if p == "install" {
                    Values::value_of(args, &['m'], &["--mode"])
                } else {
                    args.iter()
                        .filter(|a| !a.starts_with("--"))
                        .map(String::as_str)
                        .collect()
                };
                modes.iter().any(|m| sets_id_bits(m)).then(|| {
                    Verdict::new(
                        SafetyClass::Privileged,
                        format!("`{p}` sets a set-user-id or set-group-id bit"),
                    )
                })
            }
            "kill" => kill(args),
            // `uniq IN OUT`, `xxd [-r] IN OUT`: a second file name is written.
            "uniq" | "xxd" => {
                let operands = plain(
                    args,
                    &['f', 's', 'w', 'c', 'g', 'l', 'o', 'n', 'C'],
                    &["--skip-fields", "--skip-chars", "--check-chars", "--group"],
                );
                let out = operands.get(1)?;
                self.fx.plants = true;
                judge(out, Effect::Overwrite).map(|v| Verdict {
                    reason: format!("`{p}` writes its output to `{out}`: it {}", v.reason),
                    ..v
                })
            }
            "strace" | "ltrace"
                if Values::value_of(args, &['o'], &["--output"])
                    .iter()
                    .any(|o| o.starts_with(['|', '!'])) =>
            {
                Some(Verdict::destructive(format!(
                    "`{p} -o |cmd` pipes its output into a command of your choosing"
                )))
            }
            "cmake"
                if args.windows(2).any(|w| {
                    w[0] == "-E"
                        && matches!(
                            w[1].as_str(),
                            "rm" | "remove" | "remove_directory" | "rmdir"
                        )
                }) =>
            {
                Some(Verdict::destructive("`cmake -E rm` deletes files"))
            }
            "make" | "gmake"
                if Values::value_of(args, &['f'], &["--file", "--makefile"])
                    .iter()
                    .any(|f| matches!(*f, "-" | "/dev/stdin")) =>
            {
                Some(Verdict::destructive(
                    "`make` reads a makefile from its input",
                ))
            }
            _ => self.archive(spot),
        }
    }

    /// `git`: its global options, and `git config` keys that make git run commands.
    pub(super) fn git(&mut self, spot: Spot<'_>) -> Option<Verdict> {
        let args = self.args;
        let Some(rest) = git_globals(args) else {
            return Some(Verdict::destructive(
                "`git -c`, `--config-env` or `--exec-path` set what git runs for this command",
            ));
        };
        let sub = rest.first().map(String::as_str);
        match sub {
            Some("config") => {
                let a = &rest[1..];
                if a.iter()
                    .any(|x| matches!(x.as_str(), "-e" | "--edit" | "edit"))
                {
                    return Some(Verdict::destructive(
                        "`git config --edit` opens an editor on the config",
                    ));
                }
                let value_opts = ["--file", "-f", "--blob", "--type", "--default", "--comment"];
                let mut keys = Vec::new();
                let mut k = 0;
                while k < a.len() {
                    let x = a[k].as_str();
                    if value_opts.contains(&x) {
                        k += 2;
                        continue;
                    }
                    if !x.starts_with('-')
                        && !matches!(
                            x,
                            "set" | "get" | "unset" | "list" | "rename-section" | "remove-section"
                        )
                    {
                        keys.push(x);
                        k += 2; // KEY VALUE
                        continue;
                    }
                    k += 1;
                }
                if keys.iter().any(|key| git_command_key(key)) {
                    return Some(Verdict::destructive(
                        "`git config` sets a key that makes git run a command later (alias, pager, hooks, ...)",
                    ));
                }
                if let Some(f) = Values::value_of(a, &['f'], &["--file"]).first() {
                    return paths::judge(f, Effect::Modify, spot, &self.c.plants, &self.c.system)
                        .map(|(k, why)| {
                            Verdict::new(
                                k.min(SafetyClass::WritesOutsideProject)
                                    .max(SafetyClass::WritesInProject),
                                format!("`git config --file` {why}"),
                            )
                        });
                }
                if a.iter()
                    .any(|x| args::long_prefix_of(x, "--system") && x.len() > 3)
                {
                    return Some(Verdict::new(
                        SafetyClass::Privileged,
                        "`git config --system` changes the system's git settings",
                    ));
                }
                if a.iter()
                    .any(|x| args::long_prefix_of(x, "--global") && x.len() > 3)
                    && !a
                        .iter()
                        .any(|x| x.starts_with("--get") || x == "--list" || x == "-l")
                {
                    return Some(Verdict::new(
                        SafetyClass::WritesOutsideProject,
                        "`git config --global` changes your settings for every repository",
                    ));
                }
                None
            }
            Some("clone") | Some("apply") | Some("am") => {
                self.fx.plants = true;
                if sub == Some("clone") {
                    let operands: Vec<&String> =
                        rest[1..].iter().filter(|x| !x.starts_with('-')).collect();
                    if let Some(dir) = operands.get(1) {
                        return paths::judge(
                            dir,
                            Effect::Create,
                            spot,
                            &self.c.plants,
                            &self.c.system,
                        )
                        .filter(|(k, _)| *k > SafetyClass::Network)
                        .map(|(k, why)| Verdict::new(k, format!("`git clone` {why}")));
                    }
                }
                None
            }
            _ => None,
        }
    }
}

/// git's global options before the subcommand, skipped; `None` when one sets what git runs.
pub(super) fn git_globals(args: &[String]) -> Option<&[String]> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let a = a.as_str();
        if a == "-c"
            || a.starts_with("--config-env")
            || a.starts_with("--exec-path=")
            || a.starts_with("-c") && a.len() > 2
        {
            return None;
        }
        if matches!(
            a,
            "-C" | "--git-dir"
                | "--work-tree"
                | "--namespace"
                | "--super-prefix"
                | "--attr-source"
                | "--list-cmds"
        ) {
            i += 2;
            continue;
        }
        if a.starts_with('-') {
            i += 1;
            continue;
        }
        break;
    }
    Some(&args[i.min(args.len())..])
}

/// Config keys that make git run a program (section and key case-insensitive).
fn git_command_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let parts: Vec<&str> = k.split('.').collect();
    let (section, name) = match parts.as_slice() {
        [s, n] => (*s, *n),
        [s, _, n] => (*s, *n),
        [s, .., n] => (*s, *n),
        _ => return true, // unreadable: treat as the dangerous case
    };
    matches!(
        section,
        "alias"
            | "includeif"
            | "include"
            | "pager"
            | "filter"
            | "browser"
            | "instaweb"
            | "sendemail"
    ) || matches!(
        name,
        "command"
            | "cmd"
            | "textconv"
            | "driver"
            | "helper"
            | "program"
            | "editor"
            | "pager"
            | "sshcommand"
            | "hookspath"
            | "fsmonitor"
            | "askpass"
            | "gitproxy"
            | "proxy"
            | "uploadpack"
            | "receivepack"
            | "packobjectshook"
            | "templatedir"
            | "difffilter"
            | "external"
            | "path"
            | "smudge"
            | "clean"
            | "process"
            | "allow"
            | "worktree"
    )
}

/// sed's script: its `-e` values joined by newlines, else its first operand.
pub(super) fn sed_script(args: &[String], operands: &[&str]) -> Option<String> {
    let e = Values::value_of(args, &['e'], &["--expression"]);
    if e.is_empty() {
        operands.first().map(|s| s.to_string())
    } else {
        Some(e.join("\n"))
    }
}

/// awk's program: its `-e`/`--source` values, else its first operand.
pub(super) fn awk_program(args: &[String], operands: &[&str]) -> Option<String> {
    let e = Values::value_of(args, &['e'], &["--source"]);
    if e.is_empty() {
        operands.first().map(|s| s.to_string())
    } else {
        Some(e.join("\n"))
    }
}

/// A chmod/install mode with the set-user-id or set-group-id bit: `u+s`, `+s`, `4755`.
fn sets_id_bits(mode: &str) -> bool {
    if mode.chars().all(|c| c.is_ascii_digit()) {
        return mode.len() >= 4
            && mode
                .chars()
                .rev()
                .nth(3)
                .and_then(|d| d.to_digit(8))
                .is_some_and(|d| d & 0b110 != 0);
    }
    mode.split(',').any(|clause| {
        clause
            .find(['+', '='])
            .is_some_and(|at| clause[at + 1..].contains('s'))
    })
}

/// `kill`: signalling every process (`-1`), a process group (`-PID`, `0`), or processes
/// chosen when it runs (`$(pgrep ...)`).
fn kill(args: &[String]) -> Option<Verdict> {
    let mut i = 0;
    let mut targets = Vec::new();
    let mut first = true;
    while let Some(a) = args.get(i) {
        i += 1;
        if a == "--" {
            targets.extend(args[i..].iter());
            break;
        }
        if matches!(a.as_str(), "-s" | "-n" | "--signal") {
            i += 1;
            continue;
        }
        if a.starts_with('-') && first {
            first = false;
            continue; // the signal: -9, -KILL, -SIGTERM
        }
        if a.starts_with('-') && matches!(a.as_str(), "-l" | "-L" | "--list" | "--table") {
            return None;
        }
        targets.push(a);
        first = false;
    }
    targets
        .iter()
        .find(|t| t.starts_with('-') || t.as_str() == "0" || t.contains('$'))
        .map(|t| {
            Verdict::destructive(format!(
                "`kill {t}` signals a whole group, every process it may, or processes chosen when it runs"
            ))
        })
}

/// docker/podman run options that reach the host.
fn docker(args: &[String], spot: Spot<'_>) -> Option<Verdict> {
    let runs = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .take(2)
        .any(|a| matches!(a.as_str(), "run" | "create" | "exec"));
    if !runs {
        return None;
    }
    let host = |v: &str| v.eq_ignore_ascii_case("host");
    let privileged = |why: &str| {
        Some(Verdict::new(
            SafetyClass::Privileged,
            format!("the container {why}, as good as root on the host"),
        ))
    };
    for (k, a) in args.iter().enumerate() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (a.as_str(), None),
        };
        let value = inline
            .or_else(|| args.get(k + 1).map(String::as_str))
            .unwrap_or("");
        match name {
            "--privileged" if inline.is_none_or(|v| v != "false") => {
                return privileged("runs privileged");
            }
            "--pid" | "--net" | "--network" | "--ipc" | "--uts" | "--userns" | "--cgroupns"
                if host(value) =>
            {
                return privileged(&format!(
                    "shares the host's {}",
                    name.trim_start_matches('-')
                ));
            }
            "--cap-add" | "--device" | "--device-cgroup-rule" => {
                return privileged(&format!("gets `{name} {value}`"));
            }
            "--security-opt" if value.contains("unconfined") || value.contains("disable") => {
                return privileged("runs without its security profile");
            }
            "-v" | "--volume" | "--mount" => {
                let source = if name == "--mount" {
                    value
                        .split(',')
                        .find_map(|kv| {
                            kv.strip_prefix("source=")
                                .or_else(|| kv.strip_prefix("src="))
                        })
                        .unwrap_or("")
                } else {
                    value.split(':').next().unwrap_or("")
                };
                if source == "/"
                    || source.contains("docker.sock")
                    || source.starts_with("/var/run")
                    || source.starts_with("/run")
                    || [
                        "/etc", "/boot", "/usr", "/root", "/proc", "/sys", "/dev", "/var",
                    ]
                    .iter()
                    .any(|s| source == *s || source.starts_with(&format!("{s}/")))
                {
                    return privileged(&format!("mounts the host's `{source}`"));
                }
                if let paths::Resolved::At(p) = paths::resolve(source, spot)
                    && (p.starts_with(spot.home) || p.starts_with("/home"))
                    && !spot.root.is_some_and(|r| p.starts_with(r))
                {
                    return Some(Verdict::destructive(format!(
                        "the container mounts `{source}` from your home, outside the project"
                    )));
                }
                if source.contains('$') || source.starts_with('~') {
                    return Some(Verdict::destructive(format!(
                        "the container mounts `{source}`, outside the project"
                    )));
                }
            }
            _ => {}
        }
        if let Some(rest) = a.strip_prefix("-v").filter(|r| r.starts_with('/'))
            && (rest.starts_with("/:") || rest.contains("docker.sock"))
        {
            return privileged(&format!("mounts the host's `{rest}`"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_id_modes_and_git_command_keys() {
        for yes in ["u+s", "+s", "g=s", "4755", "6755", "02755", "a+rwxs"] {
            assert!(sets_id_bits(yes), "{yes}");
        }
        for no in ["755", "0755", "+x", "u+rw", "go-w"] {
            assert!(!sets_id_bits(no), "{no}");
        }
        for yes in [
            "Core.Pager",
            "ALIAS.st",
            "include.PATH",
            "diff.x.textConv",
            "Filter.x.smudge",
            "credential.helper",
            "core.SSHCommand",
            "CORE.FSMONITOR",
            "remote.origin.uploadpack",
        ] {
            assert!(git_command_key(yes), "{yes}");
        }
        for no in [
            "user.name",
            "user.email",
            "core.autocrlf",
            "pull.rebase",
            "init.defaultBranch",
        ] {
            assert!(!git_command_key(no), "{no}");
        }
    }
}
