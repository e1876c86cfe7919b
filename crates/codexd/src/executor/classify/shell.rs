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
    /// An arithmetic context (`$((…))`, `((…))`, a subscript, `${x:n}`) names a variable:
    /// bash evaluates the variable's value as arithmetic too, and a subscript in that value
    /// may hold a command substitution, which then runs.
    pub arithmetic_names: bool,
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
                '(' if !self.in_word
                    && self.cmd.words.is_empty()
                    && self.cmd.assignments.is_empty()
                    && self.peek(1) == Some('(') =>
                {
                    // `(( … ))`: an arithmetic command.
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

    /// The body of `$'…'` after the opening quote, escapes decoded as bash does.
    fn ansi_c(&mut self) -> Result<String, Unreadable> {
        let mut out = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(Unreadable("a $' quote is not closed".into()));
            };
            self.i += 1;
            match c {
                '\'' => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek(0) else {
                        return Err(Unreadable("a $' quote is not closed".into()));
                    };
                    self.i += 1;
                    let simple = match e {
                        'a' => Some('\u{7}'),
                        'b' => Some('\u{8}'),
                        'e' | 'E' => Some('\u{1b}'),
                        'f' => Some('\u{c}'),
                        'n' => Some('\n'),
                        'r' => Some('\r'),
                        't' => Some('\t'),
                        'v' => Some('\u{b}'),
                        '\\' | '\'' | '"' | '?' => Some(e),
                        _ => None,
                    };
                    if let Some(s) = simple {
                        out.push(s);
                        continue;
                    }
                    let (radix, max) = match e {
                        '0'..='7' => {
                            self.i -= 1;
                            (8, 3)
                        }
                        'x' => (16, 2),
                        'u' => (16, 4),
                        'U' => (16, 8),
                        'c' => {
                            if let Some(n) = self.peek(0) {
                                self.i += 1;
                                out.push(char::from(n as u8 & 0x1f));
                            }
                            continue;
                        }
                        other => {
                            out.push('\\');
                            out.push(other);
                            continue;
                        }
                    };
                    let mut digits = String::new();
                    while digits.len() < max && self.peek(0).is_some_and(|d| d.is_digit(radix)) {
                        digits.push(self.peek(0).unwrap_or('0'));
                        self.i += 1;
                    }
                    match u32::from_str_radix(&digits, radix)
                        .ok()
                        .and_then(char::from_u32)
                    {
                        Some(ch) => out.push(ch),
                        None => {
                            out.push('\\');
                            out.push(e);
                        }
                    }
                }
                other => out.push(other),
            }
        }
    }

    /// After an opening `"`: up to the closing one, with its expansions.
    fn double_quoted(&mut self) -> Result<(), Unreadable> {
        loop {
            match self.peek(0) {
                None => return Err(Unreadable("a \" quote is not closed".into())),
                Some('"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some('\\') => {
                    if let Some(n) = self.peek(1) {
                        if n == '\n' {
                            self.i += 2;
                            continue;
                        }
                        if !matches!(n, '"' | '\\' | '$' | '`') {
                            self.push('\\', true);
                        }
                        self.push(n, true);
                    }
                    self.i += 2;
                }
                Some('$') => self.dollar(true)?,
                Some('`') => self.backtick()?,
                Some(ch) => {
                    self.push(ch, true);
                    self.i += 1;
                }
            }
        }
    }

    /// A `$` at `self.i`: a substitution, an arithmetic expansion, `${…}`, or a variable.
    fn dollar(&mut self, quoted: bool) -> Result<(), Unreadable> {
        match self.peek(1) {
            Some('(') => {
                let start = self.i + 1;
                self.i += 1;
                self.skip_balanced('(', ')')?;
                let end = self.i - 1; // the closing paren
                // `$((…))` is arithmetic only when the inner parentheses close right
                // before the outer one; `$((cmd) )` is a substitution of a subshell.
                let arithmetic = self.chars.get(start + 1) == Some(&'(')
                    && end >= start + 2
                    && self.chars[end - 1] == ')'
                    && matching(&self.chars, start + 1) == Some(end - 1);
                if arithmetic {
                    let inner: String = self.chars[start + 2..end - 1].iter().collect();
                    self.arithmetic(&inner)?;
                    self.push_str("$((...))", true);
                    self.word_dynamic = true;
                } else {
                    let inner: String = self.chars[start + 1..end].iter().collect();
                    self.add_inner(&inner, false)?;
                }
            }
            Some('{') => {
                let start = self.i + 2;
                self.i += 1;
                self.skip_balanced('{', '}')?;
                let inner: String = self.chars[start..self.i - 1].iter().collect();
                self.braced_parameter(&inner)?;
                let text = format!("${{{inner}}}");
                self.push_str(&text, true);
                self.word_dynamic = true;
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::from("$");
                self.i += 1;
                while self
                    .peek(0)
                    .is_some_and(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                {
                    name.push(self.peek(0).unwrap_or('_'));
                    self.i += 1;
                }
                self.push_str(&name, true);
                self.word_dynamic = true;
            }
            Some(c) if c.is_ascii_digit() || "@*#?$!-".contains(c) => {
                self.push_str(&format!("${c}"), true);
                self.word_dynamic = true;
                self.i += 2;
            }
            _ => {
                self.push('$', quoted);
                self.i += 1;
            }
        }
        Ok(())
    }

    /// The inside of `${…}`: substitutions in defaults and subscripts run; a subscript or a
    /// substring offset is arithmetic.
    fn braced_parameter(&mut self, inner: &str) -> Result<(), Unreadable> {
        let name_end = inner
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '#' || *c == '!'))
            .map_or(inner.len(), |(i, _)| i);
        let rest = &inner[name_end..];
        if rest.starts_with('[')
            || (rest.starts_with(':') && !rest[1..].starts_with(['-', '=', '?', '+']))
        {
            self.arithmetic(rest)?;
        }
        self.scan_expansions(rest)
    }

    /// An arithmetic expression: its substitutions run, and a variable named in it is
    /// evaluated arithmetically.
    fn arithmetic(&mut self, expr: &str) -> Result<(), Unreadable> {
        if expr.chars().any(|c| c.is_ascii_alphabetic() || c == '_') {
            self.out.arithmetic_names = true;
        }
        self.scan_expansions(expr)
    }

    /// Find and parse the command substitutions in text that bash expands (double-quote
    /// rules: an unquoted here-document body, a default value, an arithmetic expression).
    fn scan_expansions(&mut self, text: &str) -> Result<(), Unreadable> {
        let chars: Vec<char> = text.chars().collect();
        let mut k = 0;
        while k < chars.len() {
            match chars[k] {
                '\\' => k += 2,
                '$' if chars.get(k + 1) == Some(&'(') => {
                    let Some(close) = matching(&chars, k + 1) else {
                        return Err(Unreadable("a $( is not closed".into()));
                    };
                    let inner: String = chars[k + 2..close].iter().collect();
                    if let Some(arith) = inner.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
                        self.arithmetic(arith)?;
                    } else {
                        let sub = parse_depth(&inner, self.depth + 1)?;
                        self.absorb(sub);
                    }
                    k = close + 1;
                }
                '$' if chars.get(k + 1) == Some(&'{') => {
                    let Some(close) = matching_brace(&chars, k + 1) else {
                        return Err(Unreadable("a ${ is not closed".into()));
                    };
                    let inner: String = chars[k + 2..close].iter().collect();
                    self.braced_parameter(&inner)?;
                    k = close + 1;
                }
                '`' => {
                    let Some(len) = chars[k + 1..].iter().position(|c| *c == '`') else {
                        return Err(Unreadable("a ` substitution is not closed".into()));
                    };
                    let inner: String = chars[k + 1..k + 1 + len].iter().collect();
                    let sub = parse_depth(&inner, self.depth + 1)?;
                    self.absorb(sub);
                    k += len + 2;
                }
                _ => k += 1,
            }
        }
        Ok(())
    }

    fn absorb(&mut self, sub: Script) {
        self.out.pipelines.extend(sub.pipelines);
        self.out.arithmetic_names |= sub.arithmetic_names;
        self.out.hidden_substitution |= sub.hidden_substitution;
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
        self.add_inner(&inner, false)
    }

    /// A substitution's script: its commands run; the word holds its unknown output. With
    /// `fed`, its first command reads what it is sent (`>(sh)`).
    fn add_inner(&mut self, inner: &str, fed: bool) -> Result<(), Unreadable> {
        let mut sub = parse_depth(inner, self.depth + 1)?;
        if fed && let Some(first) = sub.pipelines.first_mut().and_then(|p| p.first_mut()) {
            first.stdin_fed = true;
        }
        self.absorb(sub);
        self.push_str("$(...)", true);
        self.word_dynamic = true;
        Ok(())
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

/// The index of the `)` matching the `(` at `at`, minding quotes and escapes.
fn matching(chars: &[char], at: usize) -> Option<usize> {
    matching_pair(chars, at, '(', ')')
}

fn matching_brace(chars: &[char], at: usize) -> Option<usize> {
    matching_pair(chars, at, '{', '}')
}

fn matching_pair(chars: &[char], at: usize, open: char, close: char) -> Option<usize> {
    let mut level = 0usize;
    let mut k = at;
    while k < chars.len() {
        match chars[k] {
            '\\' => k += 1,
            '\'' => {
                k += 1;
                while k < chars.len() && chars[k] != '\'' {
                    k += 1;
                }
            }
            '"' => {
                k += 1;
                while k < chars.len() && chars[k] != '"' {
                    if chars[k] == '\\' {
                        k += 1;
                    }
                    k += 1;
                }
            }
            c if c == open => level += 1,
            c if c == close => {
                level = level.saturating_sub(1);
                if level == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
        k += 1;
    }
    None
}

/// `NAME=value`, `NAME+=value` or `NAME[sub]=value` with an unquoted name and `=`.
fn assignment(chars: &[Ch]) -> Option<(String, String)> {
    let eq = chars.iter().position(|c| c.c == '=' && !c.quoted)?;
    let mut name: String = chars[..eq].iter().map(|c| c.c).collect();
    if chars[..eq].iter().any(|c| c.quoted) {
        return None;
    }
    if let Some(n) = name.strip_suffix('+') {
        name = n.to_string();
    }
    let base = name.split('[').next().unwrap_or("");
    let valid = !base.is_empty()
        && base.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !base.starts_with(|c: char| c.is_ascii_digit())
        && (base.len() == name.len() || name.ends_with(']'));
    if !valid {
        return None;
    }
    let value: String = chars[eq + 1..].iter().map(|c| c.c).collect();
    Some((name, value))
}

/// Brace expansion of one word, as bash does it before anything else: `a{b,c}d` → `abd acd`,
/// `{1..3}`, `{a..c}`; quoted braces stay. Each result says whether it holds an unquoted glob.
fn expand_braces(word: &[Ch]) -> Result<Vec<(String, bool)>, Unreadable> {
    let mut out = Vec::new();
    let mut todo = vec![word.to_vec()];
    while let Some(w) = todo.pop() {
        match split_brace(&w) {
            None => {
                let text: String = w.iter().map(|c| c.c).collect();
                let globbed = w
                    .iter()
                    .any(|c| !c.quoted && matches!(c.c, '*' | '?' | '['));
                out.push((text, globbed));
            }
            Some(parts) => todo.extend(parts.into_iter().rev()),
        }
        if out.len() + todo.len() > MAX_BRACE_WORDS {
            return Err(Unreadable(
                "a brace expansion makes too many words to check".into(),
            ));
        }
    }
    Ok(out)
}

/// The first expandable `{…}` of a word, expanded once; `None` when there is none.
fn split_brace(w: &[Ch]) -> Option<Vec<Vec<Ch>>> {
    for open in 0..w.len() {
        if w[open].quoted || w[open].c != '{' {
            continue;
        }
        // `${` is a parameter, not a brace expansion.
        if open > 0 && w[open - 1].c == '$' {
            continue;
        }
        let mut level = 0;
        let mut commas = Vec::new();
        let mut close = None;
        for (k, ch) in w.iter().enumerate().skip(open) {
            if ch.quoted {
                continue;
            }
            match ch.c {
                '{' => level += 1,
                '}' => {
                    level -= 1;
                    if level == 0 {
                        close = Some(k);
                        break;
                    }
                }
                ',' if level == 1 => commas.push(k),
                _ => {}
            }
        }
        let Some(close) = close else { continue };
        let prefix = &w[..open];
        let suffix = &w[close + 1..];
        let join = |mid: &[Ch]| {
            let mut v = prefix.to_vec();
            v.extend_from_slice(mid);
            v.extend_from_slice(suffix);
            v
        };
        if !commas.is_empty() {
            let mut bounds = vec![open];
            bounds.extend(&commas);
            bounds.push(close);
            return Some(
                bounds
                    .windows(2)
                    .map(|b| join(&w[b[0] + 1..b[1]]))
                    .collect(),
            );
        }
        let inner: String = w[open + 1..close].iter().map(|c| c.c).collect();
        if let Some(seq) = sequence(&inner) {
            return Some(
                seq.into_iter()
                    .map(|s| {
                        let mid: Vec<Ch> = s.chars().map(|c| Ch { c, quoted: true }).collect();
                        join(&mid)
                    })
                    .collect(),
            );
        }
    }
    None
}

/// `1..5`, `5..1..2`, `a..e`: the items (capped); `None` when not a sequence.
fn sequence(inner: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = inner.split("..").collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let step = match parts.get(2) {
        Some(s) => s.parse::<i64>().ok()?.unsigned_abs().max(1),
        None => 1,
    };
    let items: Vec<String> =
        if let (Ok(a), Ok(b)) = (parts[0].parse::<i64>(), parts[1].parse::<i64>()) {
            let n = a.abs_diff(b) / step + 1;
            if n > MAX_BRACE_WORDS as u64 {
                return Some(vec![String::new(); MAX_BRACE_WORDS + 1]);
            }
            (0..n as i64)
                .map(|k| {
                    if a <= b {
                        a + k * step as i64
                    } else {
                        a - k * step as i64
                    }
                })
                .map(|v| v.to_string())
                .collect()
        } else {
            let (a, b) = (parts[0].chars().next()?, parts[1].chars().next()?);
            if parts[0].chars().count() != 1 || parts[1].chars().count() != 1 {
                return None;
            }
            let (lo, hi) = (a.min(b) as u32, a.max(b) as u32);
            let mut v: Vec<String> = (lo..=hi)
                .step_by(step as usize)
                .filter_map(char::from_u32)
                .map(String::from)
                .collect();
            if a > b {
                v.reverse();
            }
            v
        };
    Some(items)
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
            .filter(|w| !w.is_empty())
            .collect()
    }

    fn w(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter()
            .map(|c| c.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn quotes_separators_and_pipelines() {
        assert_eq!(
            words("echo 'a b' \"c $HOME\" d\\ e; ls -l | wc -l && rm x || true &"),
            w(&[
                &["echo", "a b", "c $HOME", "d e"],
                &["ls", "-l"],
                &["wc", "-l"],
                &["rm", "x"],
                &["true"],
            ])
        );
        let s = parse("curl -s https://x | sh").unwrap();
        assert_eq!(s.pipelines.len(), 1);
        assert_eq!(s.pipelines[0].len(), 2);
    }

    #[test]
    fn ansi_c_strings_are_decoded_and_braces_expanded_as_bash_does() {
        assert_eq!(
            words(r"rm $'-\x72f' $'\055rf' $'\u0041'"),
            w(&[&["rm", "-rf", "-rf", "A"]])
        );
        assert_eq!(words(r#"rm $"-rf" x"#), w(&[&["rm", "-rf", "x"]]));
        assert_eq!(
            words("rm {-r,build} a{b,c}d"),
            w(&[&["rm", "-r", "build", "abd", "acd"]])
        );
        assert_eq!(
            words("echo x{1..3} '{a,b}'"),
            w(&[&["echo", "x1", "x2", "x3", "{a,b}"]])
        );
        assert!(
            parse("echo {1..100000}").is_err(),
            "too many words to check"
        );
        let s = parse("rm *").unwrap();
        assert_eq!(s.pipelines[0][0].globbed, vec![false, true]);
    }

    #[test]
    fn redirections_name_the_files_written_and_how() {
        let s = parse(
            "sort a > out.txt 2>>err.log < in.txt; echo x &>/dev/null; ls 2>&1; : >| f 3<> g",
        )
        .unwrap();
        let cmds: Vec<&Simple> = s.pipelines.iter().flatten().collect();
        assert_eq!(cmds[0].words, vec!["sort", "a"]);
        let t: Vec<(&str, WriteMode)> = cmds[0]
            .writes
            .iter()
            .map(|r| (r.target.as_str(), r.mode))
            .collect();
        assert_eq!(
            t,
            vec![
                ("out.txt", WriteMode::Truncate),
                ("err.log", WriteMode::Append)
            ]
        );
        assert_eq!(cmds[1].writes[0].target, "/dev/null");
        assert!(cmds[2].writes.is_empty());
        let t: Vec<WriteMode> = cmds[3].writes.iter().map(|r| r.mode).collect();
        assert_eq!(t, vec![WriteMode::Truncate, WriteMode::ReadWrite]);
    }

    #[test]
    fn here_document_bodies_are_data_but_their_substitutions_run() {
        // A quote in a quoted body does not hide the command after the delimiter.
        assert_eq!(
            words("cat <<'E'\n'\nE\nrm -rf ~/x #'"),
            w(&[&["cat"], &["rm", "-rf", "~/x"]])
        );
        assert_eq!(
            words("cat <<-E\n\t\"\n\tE\nrm -rf ~/x"),
            w(&[&["cat"], &["rm", "-rf", "~/x"]])
        );
        let s = parse("cat <<E >/dev/null\n'$(rm -rf ~/x)'\nE").unwrap();
        assert!(
            s.pipelines
                .iter()
                .flatten()
                .any(|c| c.words.first().is_some_and(|w| w == "rm"))
        );
        let s = parse("cat <<'E'\n$(rm -rf ~/x)\nE").unwrap();
        assert!(
            !s.pipelines
                .iter()
                .flatten()
                .any(|c| c.words.first().is_some_and(|w| w == "rm"))
        );
        assert!(s.hidden_substitution);
        assert!(parse("git commit -F - <<'EOF'\nFix: don't crash\nEOF").is_ok());
    }

    #[test]
    fn arithmetic_substitutions_run_and_named_variables_are_noted() {
        let s = parse("echo $(( $(rm -rf ~/x) + 1 ))").unwrap();
        assert!(
            s.pipelines
                .iter()
                .flatten()
                .any(|c| c.words.first().is_some_and(|w| w == "rm"))
        );
        let s = parse("echo $((rm -rf ~/x) )").unwrap();
        assert!(
            s.pipelines
                .iter()
                .flatten()
                .any(|c| c.words.first().is_some_and(|w| w == "rm"))
        );
        let s = parse("x='a[$(rm -rf ~/x)]'; echo $((x))").unwrap();
        assert!(s.arithmetic_names && s.hidden_substitution);
        assert!(!parse("echo $((1 + 2))").unwrap().arithmetic_names);
        let s = parse("(( x > 1 )) && echo big").unwrap();
        assert!(s.arithmetic_names);
        assert_eq!(words("(( x > 1 )) && echo big"), w(&[&["echo", "big"]]));
    }

    #[test]
    fn substitutions_loops_assignments_and_functions_are_followed() {
        let all = words("for f in $(find . -name '*.tmp'); do rm -f \"$f\"; done");
        assert!(all.contains(&vec![
            "find".to_string(),
            ".".into(),
            "-name".into(),
            "*.tmp".into()
        ]));
        assert!(all.contains(&vec!["rm".to_string(), "-f".into(), "$f".into()]));
        assert!(!all.iter().any(|c| c[0] == "for"));
        assert_eq!(words("FOO=1 BAR=2 make test"), w(&[&["make", "test"]]));
        let s = parse("X=1; export Y=2").unwrap();
        assert_eq!(
            s.pipelines[0][0].assignments,
            vec![("X".to_string(), "1".to_string())]
        );
        assert_eq!(
            words("echo `whoami`"),
            w(&[&["whoami"], &["echo", "$(...)"]])
        );
        assert_eq!(words("(cd src && make)"), w(&[&["cd", "src"], &["make"]]));
        assert_eq!(
            words("ls() { rm -rf ~/x; }; ls"),
            w(&[&["rm", "-rf", "~/x"], &["ls"]])
        );
        let s = parse("echo 'rm -rf ~/x' > >(sh)").unwrap();
        assert!(
            s.pipelines[0][0].stdin_fed,
            "the command behind >(...) reads what it is sent"
        );
        let s = parse("coproc bash; echo x").unwrap();
        assert!(s.pipelines[0][0].stdin_fed);
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
            "echo $'x",
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed: {:?}", parse(bad));
        }
        assert!(parse("ls |&").is_ok());
    }
}
