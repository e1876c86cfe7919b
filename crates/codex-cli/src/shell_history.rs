//! Reading the history files of bash, zsh and fish for `codex import shell-history`.
//!
//! A history file is years of hand-typed input written by several shell versions, so lines that
//! do not parse are counted and skipped rather than failing the import: a half-damaged file still
//! holds useful workflow patterns.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// A shell whose history format we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// GNU bash: one command a line, optionally `#<seconds>` timestamp lines.
    Bash,
    /// zsh: plain or `EXTENDED_HISTORY` lines, with metafied bytes.
    Zsh,
    /// fish: the YAML-like `fish_history`.
    Fish,
}

impl Shell {
    /// The shell's name as `--shell` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
        }
    }

    /// Parse `bash`, `zsh`, `fish` (as given to --shell); error message lists the choices.
    pub fn parse(s: &str) -> Result<Shell, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bash" => Ok(Shell::Bash),
            "zsh" => Ok(Shell::Zsh),
            "fish" => Ok(Shell::Fish),
            _ => Err(format!(
                "unknown shell `{s}`; expected one of: bash, zsh, fish"
            )),
        }
    }

    /// The shell named by a $SHELL value such as `/usr/bin/zsh`, if it is one we read.
    pub fn from_shell_path(path: &str) -> Option<Shell> {
        let name = Path::new(path.trim()).file_name()?.to_str()?;
        // A login shell's argv[0] carries a leading dash, and some installs name the binary
        // with its version (`/bin/zsh-5.9`, `bash5`); both still write the usual format.
        let name = name.strip_prefix('-').unwrap_or(name);
        [
            ("bash", Shell::Bash),
            ("zsh", Shell::Zsh),
            ("fish", Shell::Fish),
        ]
        .into_iter()
        .find_map(|(prefix, shell)| {
            let rest = name.strip_prefix(prefix)?;
            let versioned = rest.starts_with(|c: char| c == '-' || c == '.' || c.is_ascii_digit());
            (rest.is_empty() || versioned).then_some(shell)
        })
    }

    /// The default history file under `home`, honouring `histfile` ($HISTFILE) for bash and zsh.
    ///
    /// bash `~/.bash_history`; zsh `~/.zsh_history`, or `~/.zhistory` if only that exists;
    /// fish `$XDG_DATA_HOME/fish/fish_history`, else `~/.local/share/fish/fish_history`.
    pub fn default_file(
        self,
        home: &Path,
        histfile: Option<&Path>,
        xdg_data_home: Option<&Path>,
    ) -> PathBuf {
        // An exported-but-empty variable means "unset" to the shells themselves.
        let histfile = histfile.filter(|p| !p.as_os_str().is_empty());
        match self {
            Shell::Bash => histfile.map_or_else(|| home.join(".bash_history"), Path::to_path_buf),
            Shell::Zsh => histfile.map_or_else(
                || {
                    let primary = home.join(".zsh_history");
                    let older = home.join(".zhistory");
                    if !primary.exists() && older.exists() {
                        older
                    } else {
                        primary
                    }
                },
                Path::to_path_buf,
            ),
            // The XDG spec says relative values are invalid and must be ignored.
            Shell::Fish => xdg_data_home
                .filter(|p| p.is_absolute())
                .map_or_else(|| home.join(".local").join("share"), Path::to_path_buf)
                .join("fish")
                .join("fish_history"),
        }
    }

    /// Guess the format from the content when --shell is not given and $SHELL does not say.
    ///
    /// fish if `- cmd: ` items appear and fish-shaped lines are the majority, zsh if any
    /// extended line `: <digits>:<digits>;` appears, else bash.
    pub fn sniff(bytes: &[u8]) -> Shell {
        let (mut cmds, mut fishy, mut other) = (0usize, 0usize, 0usize);
        let mut extended = false;
        for line in lines(bytes) {
            match fish_line(line) {
                FishLine::Blank => continue,
                FishLine::Cmd(_) => {
                    cmds += 1;
                    fishy += 1;
                }
                FishLine::When(_) | FishLine::Paths | FishLine::Path => fishy += 1,
                FishLine::Other => other += 1,
            }
            extended |= zsh_extended(line).is_some();
        }
        // A majority rule rather than "any line" because a bash user may once have typed
        // something that looks like a fish item.
        if cmds > 0 && fishy >= other {
            Shell::Fish
        } else if extended {
            Shell::Zsh
        } else {
            Shell::Bash
        }
    }
}

/// One command from the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The command as typed; multi-line commands keep their newlines.
    pub command: String,
    /// When it was run, in unix seconds, if the file recorded it.
    pub at: Option<i64>,
}

/// What a file held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The commands, in file order.
    pub entries: Vec<Entry>,
    /// How many lines (or multi-line records) could not be read.
    pub skipped: usize,
}

impl Parsed {
    fn new() -> Parsed {
        Parsed {
            entries: Vec::new(),
            skipped: 0,
        }
    }

    /// Add a command unless it is empty; the index lets fish attach a later `when:`.
    fn push(&mut self, command: &str, at: Option<i64>) -> Option<usize> {
        let command = command.trim_end();
        if command.is_empty() {
            return None;
        }
        self.entries.push(Entry {
            command: command.to_owned(),
            at,
        });
        Some(self.entries.len() - 1)
    }
}

/// Parse a history file's bytes in the given format.
pub fn parse(shell: Shell, bytes: &[u8]) -> Parsed {
    match shell {
        Shell::Bash => parse_bash(bytes),
        Shell::Zsh => parse_zsh(bytes),
        Shell::Fish => parse_fish(bytes),
    }
}

/// zsh's escape byte: the byte after it is stored XOR 0x20 so that tokens never appear raw.
const META: u8 = 0x83;

fn parse_bash(bytes: &[u8]) -> Parsed {
    let mut out = Parsed::new();
    let mut pending: Option<i64> = None;
    for line in lines(bytes) {
        if is_blank(line) {
            continue;
        }
        if let Some(digits) = line.strip_prefix(b"#")
            && !digits.is_empty()
            && digits.iter().all(u8::is_ascii_digit)
        {
            pending = seconds(digits);
            if pending.is_none() {
                out.skipped += 1;
            }
            continue;
        }
        // Take the timestamp even when the line is unreadable: it belonged to that line.
        let at = pending.take();
        match std::str::from_utf8(line) {
            Ok(s) => {
                out.push(s, at);
            }
            Err(_) => out.skipped += 1,
        }
    }
    out
}

fn parse_zsh(bytes: &[u8]) -> Parsed {
    let mut out = Parsed::new();
    let mut record = Vec::new();
    let mut bad = false;
    let mut open = false;
    for line in lines(bytes) {
        // A metafied byte is never a backslash (that would stand for '|', which zsh does not
        // escape), so checking the raw byte is safe.
        let (body, continues) = match line.strip_suffix(b"\\") {
            Some(body) => (body, true),
            None => (line, false),
        };
        bad |= !unmetafy_into(body, &mut record);
        if continues {
            record.push(b'\n');
            open = true;
            continue;
        }
        zsh_record(&record, bad, &mut out);
        record.clear();
        bad = false;
        open = false;
    }
    if open {
        zsh_record(&record, bad, &mut out);
    }
    out
}

/// Read one logical zsh record, already unmetafied and with continuations joined.
fn zsh_record(record: &[u8], bad: bool, out: &mut Parsed) {
    if is_blank(record) {
        return;
    }
    if bad {
        out.skipped += 1;
        return;
    }
    let (at, command) = if record.starts_with(b": ") {
        match zsh_extended(record) {
            Some((at, command)) => (Some(at), command),
            None => {
                out.skipped += 1;
                return;
            }
        }
    } else {
        (None, record)
    };
    match std::str::from_utf8(command) {
        Ok(s) => {
            out.push(s, at);
        }
        Err(_) => out.skipped += 1,
    }
}

/// Split `: <start>:<elapsed>;<command>` into the start time and the command bytes.
fn zsh_extended(line: &[u8]) -> Option<(i64, &[u8])> {
    let rest = line.strip_prefix(b": ")?;
    let colon = rest.iter().position(|&b| b == b':')?;
    let start = seconds(&rest[..colon])?;
    let rest = &rest[colon + 1..];
    let semi = rest.iter().position(|&b| b == b';')?;
    let elapsed = &rest[..semi];
    if elapsed.is_empty() || !elapsed.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((start, &rest[semi + 1..]))
}

/// Append `raw` to `out` with zsh metafication undone; false if it ends on a dangling Meta.
fn unmetafy_into(raw: &[u8], out: &mut Vec<u8>) -> bool {
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b == META {
            match bytes.next() {
                Some(&next) => out.push(next ^ 0x20),
                None => return false,
            }
        } else {
            out.push(b);
        }
    }
    true
}

/// The shape of one fish history line, decided on bytes so bad UTF-8 cannot hide an item start.
enum FishLine<'a> {
    Blank,
    Cmd(&'a [u8]),
    When(&'a [u8]),
    Paths,
    Path,
    Other,
}

fn fish_line(line: &[u8]) -> FishLine<'_> {
    if is_blank(line) {
        FishLine::Blank
    } else if let Some(value) = line.strip_prefix(b"- cmd:") {
        FishLine::Cmd(value.strip_prefix(b" ").unwrap_or(value))
    } else if let Some(value) = line.strip_prefix(b"  when:") {
        FishLine::When(value.trim_ascii())
    } else if line.trim_ascii_end() == b"  paths:" {
        FishLine::Paths
    } else if line.starts_with(b"    - ") {
        FishLine::Path
    } else {
        FishLine::Other
    }
}

fn parse_fish(bytes: &[u8]) -> Parsed {
    let mut out = Parsed::new();
    // Outer Some: inside an item. Inner None: its command was empty or unreadable, so its
    // `when:` and paths are absorbed rather than counted or attached to the previous command.
    let mut item: Option<Option<usize>> = None;
    let mut in_paths = false;
    for line in lines(bytes) {
        match fish_line(line) {
            FishLine::Blank => {}
            FishLine::Cmd(value) => {
                in_paths = false;
                let index = match std::str::from_utf8(value) {
                    Ok(s) => out.push(&fish_unescape(s), None),
                    Err(_) => {
                        out.skipped += 1;
                        None
                    }
                };
                item = Some(index);
            }
            FishLine::When(value) => match (item, seconds(value)) {
                (Some(index), Some(at)) => {
                    in_paths = false;
                    if let Some(entry) = index.and_then(|i| out.entries.get_mut(i)) {
                        entry.at = Some(at);
                    }
                }
                _ => out.skipped += 1,
            },
            FishLine::Paths if item.is_some() => in_paths = true,
            FishLine::Path if in_paths => {}
            FishLine::Paths | FishLine::Path | FishLine::Other => out.skipped += 1,
        }
    }
    out
}

/// Undo fish's escaping of `\` as `\\` and newline as `\n`; other backslashes are literal.
fn fish_unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('\\')) => {
                out.push('\\');
                chars.next();
            }
            ('\\', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The file's lines without their `\n` or a trailing `\r`, so CRLF files read the same.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// Unix seconds from ASCII digits only (`str::parse` would also take a sign).
fn seconds(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(command: &str, at: Option<i64>) -> Entry {
        Entry {
            command: command.to_owned(),
            at,
        }
    }

    struct Case {
        name: &'static str,
        shell: Shell,
        input: &'static [u8],
        want: Vec<Entry>,
        skipped: usize,
    }

    fn check(cases: Vec<Case>) {
        for c in cases {
            let got = parse(c.shell, c.input);
            assert_eq!(got.entries, c.want, "{}: entries", c.name);
            assert_eq!(got.skipped, c.skipped, "{}: skipped", c.name);
        }
    }

    #[test]
    fn bash() {
        check(vec![
            Case {
                name: "plain, blank lines ignored",
                shell: Shell::Bash,
                input: b"ls -la\ngit status\n\n   \ncd /tmp",
                want: vec![e("ls -la", None), e("git status", None), e("cd /tmp", None)],
                skipped: 0,
            },
            Case {
                name: "timestamps apply to the next command only",
                shell: Shell::Bash,
                input:
                    b"#1700000000\ngit status\n#1700000060\n#1700000120\n\nls\nmake\n#1700000200\n",
                want: vec![
                    e("git status", Some(1_700_000_000)),
                    e("ls", Some(1_700_000_120)),
                    e("make", None),
                ],
                skipped: 0,
            },
            Case {
                name: "comments that are not timestamps are commands",
                shell: Shell::Bash,
                input: b"# note to self\n#12a\n#\n",
                want: vec![e("# note to self", None), e("#12a", None), e("#", None)],
                skipped: 0,
            },
            Case {
                name: "CRLF and trailing whitespace trimmed",
                shell: Shell::Bash,
                input: b"ls  \r\necho hi\t\r\n",
                want: vec![e("ls", None), e("echo hi", None)],
                skipped: 0,
            },
            Case {
                name: "invalid UTF-8 counted and takes its timestamp with it",
                shell: Shell::Bash,
                input: b"ls\n#1700000000\n\xff\xfe bad\necho caf\xc3\xa9\n",
                want: vec![e("ls", None), e("echo caf\u{e9}", None)],
                skipped: 1,
            },
            Case {
                name: "timestamp too large for i64",
                shell: Shell::Bash,
                input: b"#99999999999999999999\nls\n",
                want: vec![e("ls", None)],
                skipped: 1,
            },
        ]);
    }

    #[test]
    fn zsh() {
        check(vec![
            Case {
                name: "plain",
                shell: Shell::Zsh,
                input: b"ls\ngit status\n\n",
                want: vec![e("ls", None), e("git status", None)],
                skipped: 0,
            },
            Case {
                name: "extended, mixed with plain",
                shell: Shell::Zsh,
                input: b"vim\n: 1700000000:0;git status\n: 1700000005:12;make test\r\n",
                want: vec![
                    e("vim", None),
                    e("git status", Some(1_700_000_000)),
                    e("make test", Some(1_700_000_005)),
                ],
                skipped: 0,
            },
            Case {
                name: "multi-line continuation",
                shell: Shell::Zsh,
                input: b": 1700000000:3;for f in *; do\\\n  echo $f\\\ndone\nls\necho a \\\nb\n",
                want: vec![
                    e("for f in *; do\n  echo $f\ndone", Some(1_700_000_000)),
                    e("ls", None),
                    e("echo a \nb", None),
                ],
                skipped: 0,
            },
            Case {
                name: "continuation at end of file",
                shell: Shell::Zsh,
                input: b"echo a\\",
                want: vec![e("echo a", None)],
                skipped: 0,
            },
            Case {
                // 'é' is C3 A9; A9 ^ 0x20 = 89. 'ц' is D1 86, which zsh really does metafy.
                name: "metafied bytes",
                shell: Shell::Zsh,
                input: b": 1700000000:0;echo caf\xc3\x83\x89\necho \xd1\x83\xa6\n",
                want: vec![
                    e("echo caf\u{e9}", Some(1_700_000_000)),
                    e("echo \u{446}", None),
                ],
                skipped: 0,
            },
            Case {
                name: "garbage extended lines counted",
                shell: Shell::Zsh,
                input: b": abc;x\n: 1700000000;y\n: 1:x;z\n: -1:0;w\n: 1:2;ok\n",
                want: vec![e("ok", Some(1))],
                skipped: 4,
            },
            Case {
                name: "invalid UTF-8 and dangling Meta counted",
                shell: Shell::Zsh,
                input: b"ls\n\xff\necho \x83\n: 1:0;\xc3\n",
                want: vec![e("ls", None)],
                skipped: 3,
            },
            Case {
                name: "empty extended command dropped silently",
                shell: Shell::Zsh,
                input: b": 1700000000:0;\n: 1700000000:0;   \n",
                want: vec![],
                skipped: 0,
            },
        ]);
    }

    #[test]
    fn fish() {
        check(vec![
            Case {
                name: "when, paths and escapes",
                shell: Shell::Fish,
                input: b"- cmd: git status\n  when: 1700000000\n\
                         - cmd: echo a\\nb\n  when: 1700000001\n  paths:\n    - /x\n    - /y\n\
                         - cmd: printf '\\\\n' \\t\n  when: 1700000002\n\
                         - cmd: ls\n",
                want: vec![
                    e("git status", Some(1_700_000_000)),
                    e("echo a\nb", Some(1_700_000_001)),
                    e("printf '\\n' \\t", Some(1_700_000_002)),
                    e("ls", None),
                ],
                skipped: 0,
            },
            Case {
                name: "lines of no known shape counted",
                shell: Shell::Fish,
                input: b"  when: 1\n- cmd: ls\n  when: soon\nrandom\n    - /orphan\n",
                want: vec![e("ls", None)],
                skipped: 4,
            },
            Case {
                name: "unreadable or empty command keeps its when to itself",
                shell: Shell::Fish,
                input: b"- cmd: pwd\n- cmd: \xff\n  when: 5\n\
                         - cmd: \n  when: 6\n  paths:\n    - /a\n- cmd: ls\n  when: 7\n",
                want: vec![e("pwd", None), e("ls", Some(7))],
                skipped: 1,
            },
        ]);
    }

    #[test]
    fn sniff() {
        let cases: [(&str, &[u8], Shell); 8] = [
            (
                "fish",
                b"- cmd: ls\n  when: 1\n  paths:\n    - /x\n",
                Shell::Fish,
            ),
            ("fish, CRLF", b"- cmd: ls\r\n  when: 1\r\n", Shell::Fish),
            ("zsh extended", b": 1700000000:0;ls\n", Shell::Zsh),
            (
                "zsh extended after plain",
                b"ls\npwd\n: 1700000000:0;ls\n",
                Shell::Zsh,
            ),
            ("bash plain", b"ls\ngit status\n", Shell::Bash),
            ("bash timestamps", b"#1700000000\nls\n", Shell::Bash),
            (
                "stray fish-looking line in bash",
                b"ls\n- cmd: x\npwd\nmake\n",
                Shell::Bash,
            ),
            ("empty", b"", Shell::Bash),
        ];
        for (name, input, want) in cases {
            assert_eq!(Shell::sniff(input), want, "{name}");
        }
    }

    #[test]
    fn shell_parse() {
        assert_eq!(Shell::parse("bash"), Ok(Shell::Bash));
        assert_eq!(Shell::parse("zsh"), Ok(Shell::Zsh));
        assert_eq!(Shell::parse("Fish"), Ok(Shell::Fish));
        for bad in ["tcsh", "", "bash5"] {
            let err = Shell::parse(bad).unwrap_err();
            assert!(err.contains("bash, zsh, fish"), "{bad}: {err}");
        }
    }

    #[test]
    fn from_shell_path() {
        let cases = [
            ("/usr/bin/zsh", Some(Shell::Zsh)),
            ("/bin/bash", Some(Shell::Bash)),
            ("/usr/local/bin/fish", Some(Shell::Fish)),
            ("/bin/zsh-5.9", Some(Shell::Zsh)),
            ("-bash", Some(Shell::Bash)),
            ("/bin/sh", None),
            ("/usr/bin/tcsh", None),
            ("/usr/bin/bashful", None),
            ("", None),
        ];
        for (path, want) in cases {
            assert_eq!(Shell::from_shell_path(path), want, "{path}");
        }
    }

    #[test]
    fn default_file() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        let custom = Path::new("/custom/hist");
        let xdg = Path::new("/xdg/data");
        let cases = [
            (Shell::Bash, None, None, h.join(".bash_history")),
            (Shell::Bash, Some(custom), None, custom.to_path_buf()),
            (
                Shell::Bash,
                Some(Path::new("")),
                None,
                h.join(".bash_history"),
            ),
            (Shell::Zsh, None, None, h.join(".zsh_history")),
            (Shell::Zsh, Some(custom), None, custom.to_path_buf()),
            (
                Shell::Fish,
                None,
                None,
                h.join(".local/share/fish/fish_history"),
            ),
            (
                Shell::Fish,
                Some(custom),
                Some(xdg),
                xdg.join("fish/fish_history"),
            ),
            (
                Shell::Fish,
                None,
                Some(Path::new("rel")),
                h.join(".local/share/fish/fish_history"),
            ),
        ];
        for (shell, histfile, xdg, want) in cases {
            assert_eq!(
                shell.default_file(h, histfile, xdg),
                want,
                "{shell:?} {histfile:?} {xdg:?}"
            );
        }

        // ~/.zhistory only when ~/.zsh_history is absent.
        std::fs::write(h.join(".zhistory"), "ls\n").unwrap();
        assert_eq!(Shell::Zsh.default_file(h, None, None), h.join(".zhistory"));
        std::fs::write(h.join(".zsh_history"), "ls\n").unwrap();
        assert_eq!(
            Shell::Zsh.default_file(h, None, None),
            h.join(".zsh_history")
        );
    }

    #[test]
    fn large_files_parse() {
        const N: usize = 100_000;
        let mut bash = Vec::new();
        let mut zsh = Vec::new();
        let mut fish = Vec::new();
        let mut zsh_one_record = Vec::new();
        for i in 0..N {
            bash.extend_from_slice(format!("#{}\necho {i}\n", 1_700_000_000 + i).as_bytes());
            zsh.extend_from_slice(format!(": {}:0;echo {i} ", 1_700_000_000 + i).as_bytes());
            zsh.extend_from_slice(b"caf\xc3\x83\x89\n");
            fish.extend_from_slice(format!("- cmd: echo {i}\\n\n  when: {i}\n").as_bytes());
            zsh_one_record.extend_from_slice(format!("echo {i}\\\n").as_bytes());
        }
        // Plain zsh lines look like bash, so that file sniffs as bash.
        for (shell, bytes, entries, sniffed) in [
            (Shell::Bash, &bash, N, Shell::Bash),
            (Shell::Zsh, &zsh, N, Shell::Zsh),
            (Shell::Fish, &fish, N, Shell::Fish),
            (Shell::Zsh, &zsh_one_record, 1, Shell::Bash),
        ] {
            let got = parse(shell, bytes);
            assert_eq!((got.entries.len(), got.skipped), (entries, 0), "{shell:?}");
            assert_eq!(Shell::sniff(bytes), sniffed, "{shell:?}");
        }
    }
}

/// Property tests ("fuzz") of the history readers: arbitrary bytes and damaged valid files
/// (cut short, bits flipped, garbage spliced in) never panic a reader, and what comes back
/// is well formed. A few dozen cases each so CI spends about a second here;
/// `CODEX_FUZZ_CASES=N cargo test -p codex-cli fuzz` runs N cases instead.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn config() -> proptest::test_runner::Config {
        let cases = std::env::var("CODEX_FUZZ_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(64);
        proptest::test_runner::Config {
            cases,
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        }
    }

    const VALID: [(Shell, &[u8]); 3] = [
        (
            Shell::Bash,
            b"#1700000000\necho one\nls -la\n#1700000005\ngit commit -m 'x \\\ny'\n",
        ),
        (
            Shell::Zsh,
            b": 1700000000:0;echo caf\xc3\x83\x89\n: 1700000001:3;make \\\n  all\nplain\n",
        ),
        (
            Shell::Fish,
            b"- cmd: echo a\\nb\n  when: 1700000000\n  paths:\n    - /tmp\n- cmd: ls\n",
        ),
    ];

    fn well_formed(p: &Parsed) -> Result<(), TestCaseError> {
        for e in &p.entries {
            prop_assert!(!e.command.is_empty());
            prop_assert_eq!(e.command.trim_end(), e.command.as_str());
        }
        Ok(())
    }

    /// A damaged copy of `bytes`: cut at `cut` per mille, `flips` bits flipped, `insert`
    /// spliced in at `at` per mille.
    fn damage(bytes: &[u8], cut: u16, flips: &[u32], at: u16, insert: &[u8]) -> Vec<u8> {
        let mut out = bytes[..bytes.len() * usize::from(cut.min(1000)) / 1000].to_vec();
        if !out.is_empty() {
            let n = out.len() * 8;
            for &b in flips {
                let b = b as usize % n;
                out[b / 8] ^= 1 << (b % 8);
            }
        }
        let at = out.len() * usize::from(at.min(1000)) / 1000;
        out.splice(at..at, insert.iter().copied());
        out
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn fuzz_history_readers_arbitrary(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Shell::sniff(&bytes);
            for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                well_formed(&parse(shell, &bytes))?;
            }
        }

        #[test]
        fn fuzz_history_readers_damaged(
            which in 0usize..3,
            cut in 0u16..=1000,
            flips in proptest::collection::vec(any::<u32>(), 0..6),
            at in 0u16..=1000,
            insert in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let (shell, valid) = VALID[which];
            let bytes = damage(valid, cut, &flips, at, &insert);
            let _ = Shell::sniff(&bytes);
            for other in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                well_formed(&parse(other, &bytes))?;
            }
            // A file only cut short never yields more commands than the whole file.
            if flips.is_empty() && insert.is_empty() {
                prop_assert!(parse(shell, &bytes).entries.len() <= parse(shell, valid).entries.len());
            }
        }
    }
}
