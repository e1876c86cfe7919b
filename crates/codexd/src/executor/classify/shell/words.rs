//! Words after the parser has read them: assignments, and brace expansion as bash does it
//! before anything else (so `{-r,x}` becomes two words before any option is read).

use super::{Ch, MAX_BRACE_WORDS, Unreadable};

/// `NAME=value`, `NAME+=value` or `NAME[sub]=value` with an unquoted name and `=`.
pub(super) fn assignment(chars: &[Ch]) -> Option<(String, String)> {
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
pub(super) fn expand_braces(word: &[Ch]) -> Result<Vec<(String, bool)>, Unreadable> {
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
