//! A tool's own consistency, checked when the registry is built: placeholders declared and
//! used, the program written out, no parameters into programs that run code.

use super::{ParamType, RegistryError, ToolSpec};

/// Shells, interpreters and programs that run another command or code given as an argument.
const RUNS_CODE: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "mksh",
    "fish",
    "csh",
    "tcsh",
    "pwsh",
    "powershell",
    "env",
    "xargs",
    "exec",
    "eval",
    "sudo",
    "doas",
    "su",
    "runuser",
    "nohup",
    "nice",
    "ionice",
    "timeout",
    "watch",
    "time",
    "chroot",
    "unshare",
    "nsenter",
    "setsid",
    "systemd-run",
    "flatpak-spawn",
    "ssh",
    "python",
    "perl",
    "ruby",
    "node",
    "bun",
    "deno",
    "npx",
    "pnpx",
    "php",
    "lua",
    "luajit",
    "awk",
    "gawk",
    "mawk",
    "tclsh",
    "osascript",
    "parallel",
];

/// Checks a tool's own consistency.
pub(super) fn check(t: &ToolSpec) -> Result<(), RegistryError> {
    let err = |message: String| RegistryError {
        tool: t.name.clone(),
        message,
    };
    if t.name.trim().is_empty() {
        return Err(err("the name is empty".into()));
    }
    if t.categories.is_empty() || t.categories.iter().any(|c| c.trim().is_empty()) {
        return Err(err("needs at least one category, none empty".into()));
    }
    let Some(program) = t.command.first() else {
        return Err(err("the command is empty".into()));
    };
    if program.is_empty() || !placeholders(program).is_empty() {
        return Err(err(
            "the program (first word of the command) must be written out, not a parameter".into(),
        ));
    }
    // Programs that would read a parameter as code or as a program to run: goal text must
    // never reach a shell or choose what runs.
    // A best-effort list (by name, versions included: python3.12): a tool that needs a
    // parameter in such a program should call a script of its own that takes it as an argument.
    let name = crate::episode::program_name(&t.command);
    let runs_code = RUNS_CODE.iter().any(|p| {
        name == *p
            || name
                .strip_prefix(p)
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
    }) || (name == "find"
        && t.command
            .iter()
            .any(|a| matches!(a.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir")));
    if runs_code && !t.params.is_empty() {
        return Err(err(format!(
            "`{program}` would read a parameter as code or as the command to run: give the \
             tool a script of its own to call instead"
        )));
    }
    let mut used = std::collections::BTreeSet::new();
    for template in [Some(&t.command), t.dry_run.as_ref()].into_iter().flatten() {
        for arg in template {
            for p in placeholders(arg) {
                if !t.params.contains_key(&p) {
                    return Err(err(format!(
                        "`{{{p}}}` in the command is not declared under params"
                    )));
                }
                used.insert(p);
            }
        }
    }
    if let Some(d) = &t.dry_run
        && d.first() != Some(program)
    {
        return Err(err(
            "dry_run must run the same program as the command".into()
        ));
    }
    for (name, p) in &t.params {
        if !used.contains(name) {
            return Err(err(format!(
                "parameter `{name}` is declared but the command does not use it"
            )));
        }
        if let (Some(lo), Some(hi)) = (p.min, p.max)
            && lo > hi
        {
            return Err(err(format!("parameter `{name}`: min is above max")));
        }
        if (p.min.is_some() || p.max.is_some()) && p.kind != ParamType::Int {
            return Err(err(format!(
                "parameter `{name}`: min and max are for int parameters"
            )));
        }
        if p.from.is_empty() && p.default.is_none() {
            return Err(err(format!(
                "parameter `{name}` has neither a source (from) nor a default"
            )));
        }
    }
    Ok(())
}

/// The `{name}` placeholders in one argument (`{}` and other braces are literal).
pub(super) fn placeholders(arg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                if is_param_name(name) {
                    out.push(name.to_string());
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

fn is_param_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase() || f == '_')
        && c.all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '_')
}
