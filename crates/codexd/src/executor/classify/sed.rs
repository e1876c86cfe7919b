//! GNU sed scripts, read command by command: which ones run a shell command (`e`, the `e`
//! flag of `s`) and which files they write (`w`, `W`, the `w` flag of `s`). A script that
//! cannot be read this way is reported as such, and the caller treats it as the dangerous
//! case.

/// What a sed script does beyond printing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// It runs shell commands.
    pub runs: bool,
    /// Files it writes.
    pub writes: Vec<String>,
}

/// Read `script`; `None` when it does not parse as a sed script.
pub fn effects(script: &str) -> Option<Effects> {
    let c: Vec<char> = script.chars().collect();
    let mut fx = Effects::default();
    let mut i = 0;
    let skip_blank = |i: &mut usize| {
        while *i < c.len() && matches!(c[*i], ' ' | '\t' | '\n' | ';') {
            *i += 1;
        }
    };
    // The rest of the line (file names and `e` commands end only at a newline).
    let rest_of_line = |i: &mut usize| -> String {
        let start = *i;
        while *i < c.len() && c[*i] != '\n' {
            *i += 1;
        }
        c[start..*i].iter().collect::<String>().trim().to_string()
    };
    loop {
        skip_blank(&mut i);
        if i >= c.len() {
            return Some(fx);
        }
        // An address, or two, then `!`s.
        for _ in 0..2 {
            address(&c, &mut i)?;
            if c.get(i) == Some(&',') {
                i += 1;
                while c.get(i) == Some(&' ') {
                    i += 1;
                }
                if matches!(c.get(i), Some('+') | Some('~')) {
                    i += 1;
                }
                continue;
            }
            break;
        }
        while matches!(c.get(i), Some('!') | Some(' ') | Some('\t')) {
            i += 1;
        }
        let Some(&cmd) = c.get(i) else {
            return Some(fx);
        };
        i += 1;
        match cmd {
            '{' | '}' | '=' | 'd' | 'D' | 'g' | 'G' | 'h' | 'H' | 'x' | 'n' | 'N' | 'p' | 'P'
            | 'z' | 'F' => {}
            'l' | 'L' | 'q' | 'Q' => {
                while c.get(i).is_some_and(|d| d.is_ascii_digit() || *d == ' ') {
                    i += 1;
                }
            }
            '#' | ':' | 'b' | 't' | 'T' | 'v' => {
                // A comment, a label, a branch: to the end of the line or a `;`.
                while i < c.len() && c[i] != '\n' && (cmd == '#' || c[i] != ';') {
                    i += 1;
                }
            }
            'r' | 'R' => {
                rest_of_line(&mut i);
            }
            'w' | 'W' => fx.writes.push(rest_of_line(&mut i)),
            'e' => {
                rest_of_line(&mut i);
                fx.runs = true;
            }
            'a' | 'i' | 'c' => {
                // Text to the end of the line, continued by a trailing backslash.
                while i < c.len() {
                    if c[i] == '\\' && c.get(i + 1) == Some(&'\n') {
                        i += 2;
                        continue;
                    }
                    if c[i] == '\n' {
                        break;
                    }
                    i += 1;
                }
            }
            's' | 'y' => {
                let delim = *c.get(i)?;
                if delim == '\n' || delim == '\\' {
                    return None;
                }
                i += 1;
                for _ in 0..2 {
                    loop {
                        match c.get(i) {
                            None => return None,
                            Some('\\') => i += 2,
                            Some(ch) if *ch == delim => {
                                i += 1;
                                break;
                            }
                            Some(_) => i += 1,
                        }
                    }
                }
                if cmd == 's' {
                    loop {
                        match c.get(i) {
                            Some('g' | 'p' | 'i' | 'I' | 'm' | 'M') => i += 1,
                            Some(d) if d.is_ascii_digit() => i += 1,
                            Some('e') => {
                                fx.runs = true;
                                i += 1;
                            }
                            Some('w') => {
                                i += 1;
                                fx.writes.push(rest_of_line(&mut i));
                            }
                            Some(';' | '\n' | '}' | ' ' | '\t' | '#') | None => break,
                            Some(_) => return None,
                        }
                    }
                }
            }
            _ => return None,
        }
    }
}

/// Skip one address at `i`: a line number, `$`, `first~step`, `/regex/` or `\cregexc` with
/// its `I`/`M` flags.
fn address(c: &[char], i: &mut usize) -> Option<()> {
    match c.get(*i) {
        Some(d) if d.is_ascii_digit() => {
            while c.get(*i).is_some_and(|d| d.is_ascii_digit() || *d == '~') {
                *i += 1;
            }
        }
        Some('$') => *i += 1,
        Some('/') | Some('\\') => {
            let delim = if c[*i] == '\\' {
                *i += 1;
                *c.get(*i)?
            } else {
                '/'
            };
            *i += 1;
            loop {
                match c.get(*i) {
                    None => return None,
                    Some('\\') => *i += 2,
                    Some(ch) if *ch == delim => {
                        *i += 1;
                        break;
                    }
                    Some(_) => *i += 1,
                }
            }
            while matches!(c.get(*i), Some('I') | Some('M')) {
                *i += 1;
            }
        }
        _ => {}
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_that_run_or_write_are_found_in_every_form() {
        for runs in [
            "1e rm -rf x",
            "0~1e rm",
            "/./e id",
            "s/x/y/e",
            "s|a|b|ge",
            "$!{e ls\n}",
            r"s/.*\/x/rm -rf ~\/x/e",
            "e",
        ] {
            assert!(effects(runs).is_some_and(|f| f.runs), "{runs}");
        }
        let f = effects("/./{w /home/u/.bashrc\n}").unwrap();
        assert_eq!(f.writes, vec!["/home/u/.bashrc"]);
        let f = effects("s/a/b/w out.txt").unwrap();
        assert_eq!(f.writes, vec!["out.txt"]);
        for harmless in [
            "s/a/b/",
            "1,20p",
            "/^#/d;s/x/y/g",
            "y/abc/xyz/",
            "$a\\\nend",
            "s/e/w/",
            "/w/p",
            ":a;N;ba",
            "1~3d",
            "\\%x%d",
        ] {
            assert_eq!(effects(harmless), Some(Effects::default()), "{harmless}");
        }
        for unreadable in ["s/a/b", "k", "s/a/b/Z"] {
            assert_eq!(effects(unreadable), None, "{unreadable}");
        }
    }
}
