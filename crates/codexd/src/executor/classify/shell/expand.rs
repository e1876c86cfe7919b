//! Expansions: quotes of each kind (ANSI-C `$'…'` decoded as bash does), `$…` in all its
//! forms, and the substitutions inside them, which run and are parsed as scripts of their
//! own; arithmetic, whose variables are evaluated too.

use super::{Parser, Script, Unreadable, parse_depth};

impl Parser {
    /// The body of `$'…'` after the opening quote, escapes decoded as bash does.
    pub(super) fn ansi_c(&mut self) -> Result<String, Unreadable> {
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
    pub(super) fn double_quoted(&mut self) -> Result<(), Unreadable> {
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
    pub(super) fn dollar(&mut self, quoted: bool) -> Result<(), Unreadable> {
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
    pub(super) fn braced_parameter(&mut self, inner: &str) -> Result<(), Unreadable> {
        let name_end = inner
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '#' || *c == '!'))
            .map_or(inner.len(), |(i, _)| i);
        let rest = &inner[name_end..];
        let name = &inner[..name_end];
        if name.len() > 1 && name.starts_with('!')
            // `${!prefix*}`, `${!a[@]}` list names and keys; they evaluate nothing.
            && !rest.starts_with(['*', '@'])
            && !rest.starts_with("[@]")
            && !rest.starts_with("[*]")
        {
            // `${!x}`: the value of x names what is expanded, subscript and all.
            self.out.evaluated_names = true;
        }
        if rest.contains("@P") {
            self.out.prompt_expansion = true;
        }
        if rest.starts_with('[')
            || (rest.starts_with(':') && !rest[1..].starts_with(['-', '=', '?', '+']))
        {
            self.arithmetic(rest)?;
        }
        self.scan_expansions(rest)
    }

    /// An arithmetic expression: its substitutions run, and a variable named in it is
    /// evaluated arithmetically.
    pub(super) fn arithmetic(&mut self, expr: &str) -> Result<(), Unreadable> {
        if expr.chars().any(|c| c.is_ascii_alphabetic() || c == '_') {
            self.out.evaluated_names = true;
        }
        self.scan_expansions(expr)
    }

    /// Find and parse the command substitutions in text that bash expands (double-quote
    /// rules: an unquoted here-document body, a default value, an arithmetic expression).
    pub(super) fn scan_expansions(&mut self, text: &str) -> Result<(), Unreadable> {
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

    pub(super) fn absorb(&mut self, sub: Script) {
        self.out.pipelines.extend(sub.pipelines);
        self.out.evaluated_names |= sub.evaluated_names;
        self.out.prompt_expansion |= sub.prompt_expansion;
        self.out.hidden_substitution |= sub.hidden_substitution;
    }

    pub(super) fn backtick(&mut self) -> Result<(), Unreadable> {
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
    pub(super) fn add_inner(&mut self, inner: &str, fed: bool) -> Result<(), Unreadable> {
        let mut sub = parse_depth(inner, self.depth + 1)?;
        if fed && let Some(first) = sub.pipelines.first_mut().and_then(|p| p.first_mut()) {
            first.stdin_fed = true;
        }
        self.absorb(sub);
        self.push_str("$(...)", true);
        self.word_dynamic = true;
        Ok(())
    }
}

/// The index of the `)` matching the `(` at `at`, minding quotes and escapes.
pub(super) fn matching(chars: &[char], at: usize) -> Option<usize> {
    matching_pair(chars, at, '(', ')')
}

pub(super) fn matching_brace(chars: &[char], at: usize) -> Option<usize> {
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
