//! Enough of bash to see which commands a one-line (or few-line) script runs and where it
//! writes, the way bash itself reads it: quotes (`'…'`, `"…"`, ANSI-C `$'…'` decoded, `$"…"`),
//! escapes and line continuations, comments, separators and pipelines, redirections (with
//! whether they truncate or append), here-documents (their bodies are data, but the
//! substitutions in an unquoted body run), command, process and arithmetic substitutions
//! (parsed in turn), `${…}` expansions, brace expansion (`{-r,x}` becomes two words before
//! any option is read), globs, assignments, and the keywords of compound commands. Anything
//! it cannot read is an error, which the classifier treats as destructive: when in doubt,
//! ask.

/// A redirection that writes a file, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The file (or `$(...)` for a process substitution).
    pub target: String,
    /// How it is opened.
    pub mode: WriteMode,
}

/// How a redirection opens its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `>`, `>|`, `&>`: emptied first.
    Truncate,
    /// `>>`, `&>>`: appended to.
    Append,
    /// `<>`: opened for reading and writing.
    ReadWrite,
}

/// A command as the shell would run it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Simple {
    /// The words after expansion as far as it can be known (quotes removed, ANSI-C strings
    /// decoded, braces expanded); leading assignments are not words.
    pub words: Vec<String>,
    /// Per word: it holds an unquoted glob (`*`, `?`, `[`), so the shell replaces it with
    /// file names, which may start with `-` and read as options.
    pub globbed: Vec<bool>,
    /// Files written through redirections.
    pub writes: Vec<Redirect>,
    /// The first word came from an expansion (`$cmd`, `$(...)`) or a glob: unknowable.
    pub dynamic_program: bool,
    /// Leading `NAME=value` assignments (also alone, as a statement), by name and value.
    pub assignments: Vec<(String, String)>,
    /// Standard input comes from a file, here-document, here-string or pipe it cannot see
    /// (`sh <<< '...'`, `coproc bash`, `>(sh)`).
    pub stdin_fed: bool,
}

/// Commands joined by `|`, in order.
pub type Pipeline = Vec<Simple>;

/// Why a script could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

/// A parsed script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// Pipelines in the order they run: a substitution's before the command holding it.
    pub pipelines: Vec<Pipeline>,
    /// An arithmetic context (`$((…))`, `((…))`, a subscript, `${x:n}`) or an indirection
    /// (`${!x}`) names a variable: bash evaluates the variable's value too, and a subscript
    /// in that value may hold a command substitution, which then runs.
    pub evaluated_names: bool,
    /// `${x@P}` expands a value as a prompt string, running any command substitution in it:
    /// whatever the value, it cannot be checked.
    pub prompt_expansion: bool,
    /// `$(` or a backtick appears in text bash does not run: quotes, a quoted here-document.
    /// Harmless as data, it runs if that text is later evaluated (arithmetic, `eval`).
    pub hidden_substitution: bool,
}

/// Longest script parsed, deepest nesting of substitutions, most words one brace
/// expansion may make: beyond these, unreadable.
const MAX_LEN: usize = 64 * 1024;
const MAX_DEPTH: usize = 8;
const MAX_BRACE_WORDS: usize = 256;

/// Keywords that start or continue a compound command; the word after them starts a command.
const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "esac",
];

mod expand;
mod words;

use expand::{matching, matching_brace};
use words::{assignment, expand_braces};

/// Parse a script.
pub fn parse(script: &str) -> Result<Script, Unreadable> {
    parse_depth(script, 0)
}

fn parse_depth(script: &str, depth: usize) -> Result<Script, Unreadable> {
    if script.len() > MAX_LEN {
        return Err(Unreadable("the script is too long to check".into()));
    }
    if depth > MAX_DEPTH {
        return Err(Unreadable("substitutions nest too deeply".into()));
    }
    let mut p = Parser {
        chars: script.chars().collect(),
        i: 0,
        depth,
        out: Script::default(),
        pipeline: Vec::new(),
        cmd: Simple::default(),
        word: Vec::new(),
        in_word: false,
        word_dynamic: false,
        pending: None,
        heredocs: Vec::new(),
        next_fed: false,
        drop_command: false,
    };
    p.run()?;
    Ok(p.out)
}

/// One character of a word, and whether quoting made it literal (no globbing, no braces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ch {
    c: char,
    quoted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Write(WriteMode),
    Read,
    HereDoc { strip_tabs: bool },
    HereString,
}

struct HereDoc {
    delimiter: String,
    strip_tabs: bool,
    quoted: bool,
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    depth: usize,
    out: Script,
    pipeline: Pipeline,
    cmd: Simple,
    word: Vec<Ch>,
    in_word: bool,
    /// The word holds an expansion whose value cannot be known.
    word_dynamic: bool,
    pending: Option<Pending>,
    /// Here-documents whose bodies start after the current line.
    heredocs: Vec<HereDoc>,
    /// The next command's standard input is fed by something it cannot see (`coproc`).
    next_fed: bool,
    /// The current command's words are not a command (`for x in ...`, a function's name).
    drop_command: bool,
}

impl Parser {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn push(&mut self, c: char, quoted: bool) {
        self.in_word = true;
        self.word.push(Ch { c, quoted });
    }

    fn push_str(&mut self, s: &str, quoted: bool) {
        for c in s.chars() {
            self.push(c, quoted);
        }
    }

    fn run(&mut self) -> Result<(), Unreadable> {
        while let Some(c) = self.peek(0) {
            match c {
                '\'' => {
                    self.i += 1;
                    let text = self.until('\'')?;
                    if text.contains("$(") || text.contains('`') {
                        self.out.hidden_substitution = true;
                    }
                    self.in_word = true;
                    self.push_str(&text, true);
                }
                '$' if self.peek(1) == Some('\'') => {
                    self.i += 2;
                    let text = self.ansi_c()?;
                    if text.contains("$(") || text.contains('`') {
                        self.out.hidden_substitution = true;
                    }
                    self.in_word = true;
                    self.push_str(&text, true);
                }
                '$' if self.peek(1) == Some('"') => {
                    // A locale-translated string: read as a double-quoted one.
                    self.i += 1;
                }
                '"' => {
                    self.i += 1;
                    self.in_word = true;
                    self.double_quoted()?;
                }
                '\\' => {
                    match self.peek(1) {
                        Some('\n') => {} // a line continuation
                        Some(n) => self.push(n, true),
                        None => self.push('\\', true),
                    }
                    self.i += 2;
                }
                '$' => self.dollar(false)?,
                '`' => {
                    self.backtick()?;
                }
                '#' if !self.in_word => {
                    while self.peek(0).is_some_and(|ch| ch != '\n') {
                        self.i += 1;
                    }
                }
                ' ' | '\t' => {
                    self.end_word()?;
                    self.i += 1;
                }
                '\n' => {
                    self.end_command(true)?;
                    self.i += 1;
                    self.read_heredoc_bodies()?;
                }
                ';' => {
                    self.end_command(true)?;
                    self.i += 1;
                    // `;;`, `;&`, `;;&` in case arms
                    while matches!(self.peek(0), Some(';') | Some('&')) {
                        self.i += 1;
                    }
                }
                '&' if self.peek(1) == Some('&') => {
                    self.end_command(true)?;
                    self.i += 2;
                }
                '&' if self.peek(1) == Some('>') => {
                    self.end_word()?;
                    self.i += 2;
                    let mode = if self.peek(0) == Some('>') {
                        self.i += 1;
                        WriteMode::Append
                    } else {
                        WriteMode::Truncate
                    };
                    self.pending = Some(Pending::Write(mode));
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
                '(' if self.peek(1) == Some('(')
                    && (self.arithmetic_for()
                        || (!self.in_word
                            && self.cmd.words.is_empty()
                            && self.cmd.assignments.is_empty())) =>
                {
                    // `(( … ))`, an arithmetic command, or `for (( init; test; step ))`.
                    self.end_word()?;
                    let start = self.i;
                    self.skip_balanced('(', ')')?;
                    let inner: String = self.chars[start + 2..self.i.saturating_sub(2)]
                        .iter()
                        .collect();
                    self.arithmetic(&inner)?;
                }
                '(' | ')' => {
                    // `name() { … }`: a function definition; its name is not a command.
                    if c == '(' && self.peek(1) == Some(')') && !self.in_word {
                        if self.cmd.words.len() == 1 {
                            self.cmd.words.clear();
                            self.cmd.globbed.clear();
                        }
                        self.i += 2;
                        continue;
                    }
                    if c == '(' && self.in_word {
                        // `name()` with no space, or `a=(x y)` arrays.
                        if self.peek(1) == Some(')') {
                            self.word.clear();
                            self.in_word = false;
                            self.cmd.words.clear();
                            self.cmd.globbed.clear();
                            self.i += 2;
                            continue;
                        }
                        let is_array = self.word.last().is_some_and(|ch| ch.c == '=');
                        if is_array {
                            // Array assignment: its elements are words of the assignment.
                            let start = self.i;
                            self.skip_balanced('(', ')')?;
                            let inner: String = self.chars[start + 1..self.i - 1].iter().collect();
                            self.scan_expansions(&inner)?;
                            self.push_str(&format!("({inner})"), true);
                            continue;
                        }
                    }
                    // Subshells and function bodies: their commands run like any other.
                    self.end_command(true)?;
                    self.i += 1;
                }
                '>' | '<' if self.peek(1) == Some('(') => {
                    // Process substitution `<(cmd)` / `>(cmd)`: a file name standing for a
                    // command's output or input; the command runs like any other, and one
                    // behind `>(...)` reads what it is sent.
                    let fed = c == '>';
                    self.i += 1;
                    let start = self.i + 1;
                    self.skip_balanced('(', ')')?;
                    let inner: String = self.chars[start..self.i - 1].iter().collect();
                    self.add_inner(&inner, fed)?;
                }
                '>' | '<' => self.redirect()?,
                '0'..='9'
                    if !self.in_word && {
                        let mut k = 0;
                        while self.peek(k).is_some_and(|d| d.is_ascii_digit()) {
                            k += 1;
                        }
                        matches!(self.peek(k), Some('>') | Some('<'))
                    } =>
                {
                    // The descriptor number of `2>file`.
                    while self.peek(0).is_some_and(|d| d.is_ascii_digit()) {
                        self.i += 1;
                    }
                    self.redirect()?;
                }
                '{' if !self.in_word && self.named_descriptor() => {
                    // `{fd}>file`: a descriptor named by a variable.
                    while self.peek(0).is_some_and(|ch| ch != '}') {
                        self.i += 1;
                    }
                    self.i += 1;
                    self.redirect()?;
                }
                c => {
                    self.push(c, false);
                    self.i += 1;
                }
            }
        }
        if self.pending.is_some() && !self.in_word {
            return Err(Unreadable("a redirection has no target".into()));
        }
        self.end_command(true)?;
        if !self.heredocs.is_empty() {
            // Bash accepts a here-document ended by the end of the script.
            self.read_heredoc_bodies()?;
        }
        Ok(())
    }

    /// At `((` right after the `for` keyword, with or without a space between.
    fn arithmetic_for(&self) -> bool {
        let pending: String = self.word.iter().map(|ch| ch.c).collect();
        let quoted = self.word.iter().any(|ch| ch.quoted);
        if self.in_word {
            self.cmd.words.is_empty() && pending == "for" && !quoted
        } else {
            self.drop_command && self.cmd.words.len() == 1 && self.cmd.words[0] == "for"
        }
    }

    fn named_descriptor(&self) -> bool {
        let rest: String = self.chars[self.i..].iter().take(40).collect();
        let Some(close) = rest.find('}') else {
            return false;
        };
        let name = &rest[1..close];
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && matches!(rest[close + 1..].chars().next(), Some('>') | Some('<'))
    }

    /// Text up to the closing `end`, which is consumed.
    fn until(&mut self, end: char) -> Result<String, Unreadable> {
        let mut text = String::new();
        loop {
            match self.peek(0) {
                None => return Err(Unreadable(format!("a {end} quote is not closed"))),
                Some(c) if c == end => {
                    self.i += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn redirect(&mut self) -> Result<(), Unreadable> {
        self.end_word()?;
        let c = self.peek(0);
        self.i += 1;
        let kind = if c == Some('>') {
            match self.peek(0) {
                Some('>') => {
                    self.i += 1;
                    Pending::Write(WriteMode::Append)
                }
                Some('|') => {
                    self.i += 1;
                    Pending::Write(WriteMode::Truncate)
                }
                _ => Pending::Write(WriteMode::Truncate),
            }
        } else {
            match (self.peek(0), self.peek(1)) {
                (Some('>'), _) => {
                    self.i += 1;
                    Pending::Write(WriteMode::ReadWrite)
                }
                (Some('<'), Some('<')) => {
                    self.i += 2;
                    Pending::HereString
                }
                (Some('<'), Some('-')) => {
                    self.i += 2;
                    Pending::HereDoc { strip_tabs: true }
                }
                (Some('<'), _) => {
                    self.i += 1;
                    Pending::HereDoc { strip_tabs: false }
                }
                _ => Pending::Read,
            }
        };
        if self.peek(0) == Some('&') && matches!(kind, Pending::Write(_) | Pending::Read) {
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
        if !matches!(kind, Pending::Write(_)) {
            self.cmd.stdin_fed = true;
        }
        self.pending = Some(kind);
        Ok(())
    }

    /// The bodies of the here-documents started on the line just ended.
    fn read_heredoc_bodies(&mut self) -> Result<(), Unreadable> {
        let docs = std::mem::take(&mut self.heredocs);
        for doc in docs {
            let mut body = String::new();
            loop {
                if self.i >= self.chars.len() {
                    break; // ended by the end of the script, as bash allows
                }
                let end = self.chars[self.i..]
                    .iter()
                    .position(|c| *c == '\n')
                    .map_or(self.chars.len(), |n| self.i + n);
                let line: String = self.chars[self.i..end].iter().collect();
                self.i = (end + 1).min(self.chars.len());
                let cmp = if doc.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line.as_str()
                };
                if cmp == doc.delimiter {
                    break;
                }
                body.push_str(&line);
                body.push('\n');
            }
            if doc.quoted {
                if body.contains("$(") || body.contains('`') {
                    self.out.hidden_substitution = true;
                }
            } else {
                self.scan_expansions(&body)?;
            }
        }
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), Unreadable> {
        if !self.in_word {
            return Ok(());
        }
        let chars = std::mem::take(&mut self.word);
        let dynamic = std::mem::take(&mut self.word_dynamic);
        self.in_word = false;
        let text: String = chars.iter().map(|c| c.c).collect();
        let quoted = chars.iter().any(|c| c.quoted);
        match self.pending.take() {
            Some(Pending::Write(mode)) => {
                self.cmd.writes.push(Redirect { target: text, mode });
                return Ok(());
            }
            Some(Pending::Read) => return Ok(()),
            Some(Pending::HereString) => {
                self.cmd.stdin_fed = true;
                return Ok(());
            }
            Some(Pending::HereDoc { strip_tabs }) => {
                self.cmd.stdin_fed = true;
                self.heredocs.push(HereDoc {
                    delimiter: text,
                    strip_tabs,
                    quoted,
                });
                return Ok(());
            }
            None => {}
        }
        let starts = self.cmd.words.is_empty();
        // `{ ...; }` groups: the braces are delimiters, not words.
        if !quoted && (text == "{" || text == "}") {
            let cmd = self.take_command();
            if !cmd.words.is_empty() || !cmd.writes.is_empty() || !cmd.assignments.is_empty() {
                self.pipeline.push(cmd);
            }
            return Ok(());
        }
        if starts && let Some((name, value)) = assignment(&chars) {
            if name.contains('[') {
                // `a[expr]=v`: the subscript is arithmetic.
                let sub = &name[name.find('[').unwrap_or(0)..];
                self.arithmetic(sub)?;
            }
            self.cmd.assignments.push((name, value));
            return Ok(());
        }
        if starts && !quoted && KEYWORDS.contains(&text.as_str()) {
            return Ok(());
        }
        if starts && !quoted && text == "coproc" {
            self.next_fed = true;
            return Ok(());
        }
        if starts && !quoted && matches!(text.as_str(), "for" | "select" | "case" | "function") {
            // `for x in words`, `case w in`, `function name`: words, not a command (their
            // substitutions were parsed already and run).
            self.drop_command = true;
        }
        for (w, globbed) in expand_braces(&chars)? {
            let starts = self.cmd.words.is_empty();
            // A program named by an expansion or a glob (`/???/r? -rf`, `{rm,-rf,x}`)
            // cannot be known before the shell runs.
            if starts && (dynamic || (globbed && w != "[" && w != "[[")) {
                self.cmd.dynamic_program = true;
            }
            self.cmd.words.push(w);
            self.cmd.globbed.push(globbed);
        }
        Ok(())
    }

    fn end_command(&mut self, end_pipeline: bool) -> Result<(), Unreadable> {
        self.end_word()?;
        if self.pending.is_some() {
            return Err(Unreadable("a redirection has no target".into()));
        }
        let cmd = self.take_command();
        if !cmd.words.is_empty() || !cmd.writes.is_empty() || !cmd.assignments.is_empty() {
            self.pipeline.push(cmd);
        }
        if end_pipeline && !self.pipeline.is_empty() {
            let p = std::mem::take(&mut self.pipeline);
            self.out.pipelines.push(p);
        }
        Ok(())
    }

    /// The command read so far, with what the keywords before it said about it.
    fn take_command(&mut self) -> Simple {
        let mut cmd = std::mem::take(&mut self.cmd);
        if std::mem::take(&mut self.drop_command) {
            cmd.words.clear();
            cmd.globbed.clear();
            cmd.dynamic_program = false;
        }
        if !cmd.words.is_empty() && std::mem::take(&mut self.next_fed) {
            cmd.stdin_fed = true;
        }
        cmd
    }

    /// Skip from an opening `open` at `self.i` past its matching `close`, minding quotes.
    fn skip_balanced(&mut self, open: char, close: char) -> Result<(), Unreadable> {
        let end = if open == '{' {
            matching_brace(&self.chars, self.i)
        } else {
            matching(&self.chars, self.i)
        };
        match end {
            Some(e) => {
                self.i = e + 1;
                Ok(())
            }
            None => Err(Unreadable(format!(
                "a {open} is not closed ({close} missing)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
