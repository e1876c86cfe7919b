//! Just enough of the shell language to see which commands a one-line script runs and where
//! it writes: words with quotes removed, command separators (`;` `&&` `||` `&` newlines),
//! pipelines, redirections, subshells and groups, command substitutions (parsed in turn), and
//! the keywords of loops and conditionals. Anything it cannot read is an error, which the
//! classifier treats as destructive: when in doubt, ask.

/// A command as the shell would run it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Simple {
    /// The words, quotes removed, leading `VAR=value` assignments dropped.
    pub words: Vec<String>,
    /// Files written through redirections (`>`, `>>`, `&>`, `2>`...).
    pub writes: Vec<String>,
    /// Whether the first word came from an expansion (`$cmd`, `$(...)`, a glob, a brace
    /// list): unknowable.
    pub dynamic_program: bool,
    /// Leading `NAME=value` assignments, by name (`GIT_SSH_COMMAND=... git fetch`).
    pub assignments: Vec<String>,
    /// Standard input comes from a file, here-document or here-string (`sh <<< '...'`).
    pub stdin_fed: bool,
}

/// Commands joined by `|`, in order.
pub type Pipeline = Vec<Simple>;

/// Why a script could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

/// A parsed script: its pipelines, and the pipelines of every command substitution in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// Top-level pipelines, in order.
    pub pipelines: Vec<Pipeline>,
}

/// Longest script parsed, and deepest nesting of substitutions: beyond these, unreadable.
const MAX_LEN: usize = 64 * 1024;
const MAX_DEPTH: usize = 8;

/// Keywords that start or continue a compound command; the word after them starts a command.
const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "function", "coproc",
];

/// Parse a one-line (or few-line) script.
pub fn parse(script: &str) -> Result<Script, Unreadable> {
    parse_depth(script, 0)
}

fn parse_depth(script: &str, depth: usize) -> Result<Script, Unreadable> {
    if script.len() > MAX_LEN {
        return Err(Unreadable("the script is too long to check".into()));
    }
    if depth > MAX_DEPTH {
        return Err(Unreadable("command substitutions nest too deeply".into()));
    }
    let mut p = Parser {
        chars: script.chars().collect(),
        i: 0,
        depth,
        out: Script::default(),
        pipeline: Vec::new(),
        cmd: Simple::default(),
        word: String::new(),
        in_word: false,
        word_dynamic: false,
        word_quoted: false,
        word_glob: false,
        pending_redirect: None,
    };
    p.run()?;
    Ok(p.out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Redirect {
    Write,
    Read,
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    depth: usize,
    out: Script,
    pipeline: Pipeline,
    cmd: Simple,
    word: String,
    in_word: bool,
    word_dynamic: bool,
    /// Some of the word was quoted (so `{` is a literal, not a group).
    word_quoted: bool,
    /// An unquoted `*`, `?`, `[` or `{`: the word is expanded by the shell.
    word_glob: bool,
    pending_redirect: Option<Redirect>,
}

impl Parser {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn run(&mut self) -> Result<(), Unreadable> {
        while let Some(c) = self.peek(0) {
            match c {
                '\'' => {
                    self.in_word = true;
                    self.word_quoted = true;
                    self.i += 1;
                    loop {
                        match self.peek(0) {
                            None => return Err(Unreadable("a ' quote is not closed".into())),
                            Some('\'') => {
                                self.i += 1;
                                break;
                            }
                            Some(ch) => {
                                self.word.push(ch);
                                self.i += 1;
                            }
                        }
                    }
                }
                '"' => {
                    self.in_word = true;
                    self.word_quoted = true;
                    self.i += 1;
                    loop {
                        match self.peek(0) {
                            None => return Err(Unreadable("a \" quote is not closed".into())),
                            Some('"') => {
                                self.i += 1;
                                break;
                            }
                            Some('\\') => {
                                if let Some(n) = self.peek(1) {
                                    if !matches!(n, '"' | '\\' | '$' | '`' | '\n') {
                                        self.word.push('\\');
                                    }
                                    self.word.push(n);
                                }
                                self.i += 2;
                            }
                            Some('$') if self.peek(1) == Some('(') => self.substitution()?,
                            Some('`') => self.backtick()?,
                            Some(ch) => {
                                if ch == '$' {
                                    self.mark_dynamic();
                                }
                                self.word.push(ch);
                                self.i += 1;
                            }
                        }
                    }
                }
                '\\' => {
                    self.in_word = true;
                    self.word_quoted = true;
                    if let Some(n) = self.peek(1)
                        && n != '\n'
                    {
                        self.word.push(n);
                    }
                    self.i += 2;
                }
                '$' if self.peek(1) == Some('(') && self.peek(2) == Some('(') => {
                    // Arithmetic $(( ... )): no commands inside that we follow.
                    self.in_word = true;
                    self.skip_balanced('(', ')')?;
                    self.word.push_str("$((...))");
                }
                '$' if self.peek(1) == Some('(') => {
                    self.in_word = true;
                    self.substitution()?;
                }
                '`' => {
                    self.in_word = true;
                    self.backtick()?;
                }
                '#' if !self.in_word => {
                    while self.peek(0).is_some_and(|ch| ch != '\n') {
                        self.i += 1;
                    }
                }
                ' ' | '\t' => {
                    self.end_word();
                    self.i += 1;
                }
                '\n' | ';' => {
                    self.end_command(true)?;
                    self.i += 1;
                    // `;;` in case arms
                    if self.peek(0) == Some(';') {
                        self.i += 1;
                    }
                }
                '&' if self.peek(1) == Some('&') => {
                    self.end_command(true)?;
                    self.i += 2;
                }
                '&' if self.peek(1) == Some('>') => {
                    self.end_word();
                    self.i += 2;
                    if self.peek(0) == Some('>') {
                        self.i += 1;
                    }
                    self.pending_redirect = Some(Redirect::Write);
                }
                '&' => {
                    self.end_command(true)?;
                    self.i += 1;
                }
                '|' if self.peek(1) == Some('|') => {
                    self.end_command(true)?;
                    self.i += 2;
                }
                '|' => {
                    self.end_command(false)?;
                    self.i += 1;
                    if self.peek(0) == Some('&') {
                        self.i += 1;
                    }
                }
                '(' | ')' => {
                    // Subshells and function bodies: their commands run like any other.
                    self.end_command(true)?;
                    self.i += 1;
                }
                '>' | '<' if self.peek(1) == Some('(') => {
                    // Process substitution `<(cmd)` / `>(cmd)`: a file name standing for a
                    // command's output or input; the command runs like any other.
                    self.in_word = true;
                    self.i += 1;
                    let start = self.i + 1;
                    self.skip_balanced('(', ')')?;
                    let inner: String = self.chars[start..self.i - 1].iter().collect();
                    self.add_inner(&inner)?;
                }
                '>' | '<' => self.redirect()?,
                '0'..='9'
                    if !self.in_word
                        && (self.peek(1) == Some('>') || self.peek(1) == Some('<')) =>
                {
                    self.i += 1; // the fd number of `2>file`
                    self.redirect()?;
                }
                c => {
                    if c == '$' {
                        self.mark_dynamic();
                    }
                    if matches!(c, '*' | '?' | '[' | '{') {
                        self.word_glob = true;
                    }
                    self.in_word = true;
                    self.word.push(c);
                    self.i += 1;
                }
            }
        }
        if self.pending_redirect.is_some() && !self.in_word {
            return Err(Unreadable("a redirection has no target".into()));
        }
        self.end_command(true)
    }

    fn mark_dynamic(&mut self) {
        self.word_dynamic = true;
    }

    fn redirect(&mut self) -> Result<(), Unreadable> {
        self.end_word();
        let c = self.peek(0);
        self.i += 1;
        let kind = if c == Some('>') {
            if matches!(self.peek(0), Some('>') | Some('|')) {
                self.i += 1;
            }
            Redirect::Write
        } else if self.peek(0) == Some('>') {
            // `<>`: opened for reading and writing.
            self.i += 1;
            Redirect::Write
        } else {
            // `<<<` here-string, `<<` here-document, `<>`: reading (a here-document's body is
            // not on this line; its delimiter word is skipped like a file name).
            while matches!(self.peek(0), Some('<') | Some('>')) {
                self.i += 1;
            }
            Redirect::Read
        };
        if self.peek(0) == Some('&') {
            self.i += 1;
            // `>&2`, `2>&1`, `<&-`: duplicating a descriptor, not a file. `>& file` (bash)
            // writes the file.
            if self
                .peek(0)
                .is_some_and(|ch| ch.is_ascii_digit() || ch == '-')
            {
                while self
                    .peek(0)
                    .is_some_and(|ch| ch.is_ascii_digit() || ch == '-')
                {
                    self.i += 1;
                }
                return Ok(());
            }
        }
        if kind == Redirect::Read {
            self.cmd.stdin_fed = true;
        }
        self.pending_redirect = Some(kind);
        Ok(())
    }

    fn end_word(&mut self) {
        if !self.in_word {
            return;
        }
        let word = std::mem::take(&mut self.word);
        let dynamic = std::mem::take(&mut self.word_dynamic);
        let quoted = std::mem::take(&mut self.word_quoted);
        let glob = std::mem::take(&mut self.word_glob);
        self.in_word = false;
        match self.pending_redirect.take() {
            Some(Redirect::Write) => self.cmd.writes.push(word),
            Some(Redirect::Read) => {}
            None => {
                // `{ ...; }` groups: the braces are delimiters, not words.
                if !quoted && (word == "{" || word == "}") {
                    let cmd = std::mem::take(&mut self.cmd);
                    if !cmd.words.is_empty() || !cmd.writes.is_empty() {
                        self.pipeline.push(cmd);
                    }
                    return;
                }
                let starts = self.cmd.words.is_empty();
                if starts && is_assignment(&word) {
                    if let Some((name, _)) = word.split_once('=') {
                        self.cmd.assignments.push(name.to_string());
                    }
                    return;
                }
                if starts && KEYWORDS.contains(&word.as_str()) {
                    return;
                }
                // A program named by an expansion or a glob (`/???/r? -rf`, `{rm,-rf,x}`)
                // cannot be known before the shell runs.
                if starts && (dynamic || (glob && word != "[" && word != "[[")) {
                    self.cmd.dynamic_program = true;
                }
                self.cmd.words.push(word);
            }
        }
    }

    fn end_command(&mut self, end_pipeline: bool) -> Result<(), Unreadable> {
        self.end_word();
        if self.pending_redirect.is_some() {
            return Err(Unreadable("a redirection has no target".into()));
        }
        let cmd = std::mem::take(&mut self.cmd);
        if !cmd.words.is_empty() || !cmd.writes.is_empty() {
            self.pipeline.push(cmd);
        }
        if end_pipeline && !self.pipeline.is_empty() {
            let p = std::mem::take(&mut self.pipeline);
            self.out.pipelines.push(p);
        }
        Ok(())
    }

    /// `$( ... )` at `self.i`: parse the inside as a script of its own.
    fn substitution(&mut self) -> Result<(), Unreadable> {
        self.i += 1; // '$'
        let start = self.i + 1;
        self.skip_balanced('(', ')')?;
        let inner: String = self.chars[start..self.i - 1].iter().collect();
        self.add_inner(&inner)
    }

    fn backtick(&mut self) -> Result<(), Unreadable> {
        self.i += 1;
        let start = self.i;
        while self.peek(0).is_some_and(|ch| ch != '`') {
            if self.peek(0) == Some('\\') {
                self.i += 1;
            }
            self.i += 1;
        }
        if self.peek(0).is_none() {
            return Err(Unreadable("a ` substitution is not closed".into()));
        }
        let inner: String = self.chars[start..self.i].iter().collect();
        self.i += 1;
        self.add_inner(&inner)
    }

    fn add_inner(&mut self, inner: &str) -> Result<(), Unreadable> {
        let sub = parse_depth(inner, self.depth + 1)?;
        self.out.pipelines.extend(sub.pipelines);
        self.word.push_str("$(...)");
        self.mark_dynamic();
        Ok(())
    }

    /// Skip from an opening `open` at `self.i` past its matching `close`, minding quotes.
    fn skip_balanced(&mut self, open: char, close: char) -> Result<(), Unreadable> {
        let mut level = 0usize;
        while let Some(c) = self.peek(0) {
            match c {
                '\'' => {
                    self.i += 1;
                    while self.peek(0).is_some_and(|ch| ch != '\'') {
                        self.i += 1;
                    }
                }
                '"' => {
                    self.i += 1;
                    while self.peek(0).is_some_and(|ch| ch != '"') {
                        if self.peek(0) == Some('\\') {
                            self.i += 1;
                        }
                        self.i += 1;
                    }
                }
                '\\' => self.i += 1,
                c if c == open => level += 1,
                c if c == close => {
                    level = level.saturating_sub(1);
                    if level == 0 {
                        self.i += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        Err(Unreadable(format!("a {open} is not closed")))
    }
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<Vec<String>> {
        parse(script)
            .unwrap()
            .pipelines
            .into_iter()
            .flatten()
            .map(|c| c.words)
            .collect()
    }

    #[test]
    fn quotes_separators_and_pipelines() {
        assert_eq!(
            words("echo 'a b' \"c $HOME\" d\\ e; ls -l | wc -l && rm x || true &"),
            vec![
                vec!["echo", "a b", "c $HOME", "d e"],
                vec!["ls", "-l"],
                vec!["wc", "-l"],
                vec!["rm", "x"],
                vec!["true"],
            ]
        );
        let s = parse("curl -s https://x | sh").unwrap();
        assert_eq!(s.pipelines.len(), 1);
        assert_eq!(s.pipelines[0].len(), 2);
    }

    #[test]
    fn redirections_name_the_files_written() {
        let s = parse("sort a > out.txt 2>>err.log < in.txt; echo x &>/dev/null; ls 2>&1").unwrap();
        let cmds: Vec<&Simple> = s.pipelines.iter().flatten().collect();
        assert_eq!(cmds[0].words, vec!["sort", "a"]);
        assert_eq!(cmds[0].writes, vec!["out.txt", "err.log"]);
        assert_eq!(cmds[1].writes, vec!["/dev/null"]);
        assert!(cmds[2].writes.is_empty());
    }

    #[test]
    fn substitutions_loops_and_assignments_are_followed() {
        let w = words("for f in $(find . -name '*.tmp'); do rm -f \"$f\"; done");
        assert!(w.contains(&vec![
            "find".to_string(),
            ".".into(),
            "-name".into(),
            "*.tmp".into()
        ]));
        assert!(w.contains(&vec!["rm".to_string(), "-f".into(), "$f".into()]));
        assert_eq!(words("FOO=1 BAR=2 make test"), vec![vec!["make", "test"]]);
        assert_eq!(
            words("echo `whoami`"),
            vec![vec!["whoami"], vec!["echo", "$(...)"]]
        );
        assert_eq!(
            words("(cd src && make)"),
            vec![vec!["cd", "src"], vec!["make"]]
        );
        assert_eq!(
            words("diff <(ls a) <(ls b)"),
            vec![
                vec!["ls", "a"],
                vec!["ls", "b"],
                vec!["diff", "$(...)", "$(...)"]
            ]
        );
        let dynamic = parse("$EDITOR notes.txt").unwrap();
        assert!(dynamic.pipelines[0][0].dynamic_program);
    }

    #[test]
    fn what_cannot_be_read_is_an_error() {
        for bad in [
            "echo 'open",
            "echo \"open",
            "echo $(ls",
            "echo `ls",
            "cat >",
            "ls |&",
        ] {
            let r = parse(bad);
            if bad == "ls |&" {
                assert!(r.is_ok(), "{bad}");
            } else {
                assert!(r.is_err(), "{bad} parsed: {r:?}");
            }
        }
    }
}
