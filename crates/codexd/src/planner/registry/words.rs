//! A goal's words as the registry reads them: quoted text left out, two-word verbs joined,
//! the leading verb and whether it asks for a change, questions, word forms, and the text
//! after a keyword that parameters are filled from.

/// Words before a goal's verb that say nothing of the task ("please", "can you", "I want to").
pub(super) const LEAD_IN: &[&str] = &[
    "please", "pls", "can", "could", "would", "will", "you", "i", "we", "want", "need", "to",
    "lets", "let", "us", "go", "and", "now", "just", "then", "ok", "okay",
];

/// The goal's first word after any lead-in.
pub(super) fn lead_word(words: &[String]) -> Option<String> {
    words
        .iter()
        .map(|w| normal_word(w))
        .find(|w| !w.is_empty() && !LEAD_IN.contains(&w.as_str()))
}

/// The goal's first word after any lead-in, when it is a verb asking for a change.
pub(super) fn leading_verb(words: &[String]) -> Option<String> {
    lead_word(words).filter(|w| CHANGING.contains(&w.as_str()))
}

/// A word and the forms it may stand for: without a plural or tense ending, and without the
/// consonant doubled before it ("stashed" is `stash`, "formatting" `format`, "pulled" `pull`).
pub(super) fn forms(word: &str) -> Vec<String> {
    let mut out = vec![word.to_string()];
    // "auto-format" is also `format`.
    if word.contains('-') {
        out.extend(word.split('-').filter(|p| !p.is_empty()).map(String::from));
    }
    for suffix in ["ing", "ed", "es", "s"] {
        let Some(stem) = word.strip_suffix(suffix) else {
            continue;
        };
        if stem.chars().count() < 3 || (suffix == "s" && stem.ends_with('s')) {
            continue;
        }
        out.push(stem.to_string());
        let mut chars = stem.chars().rev();
        if let (Some(a), Some(b)) = (chars.next(), chars.next())
            && a == b
            && !"aeiou".contains(a)
        {
            out.push(stem[..stem.len() - a.len_utf8()].to_string());
        }
    }
    out
}

/// Words that lead a question rather than a request.
pub(super) const QUESTIONS: &[&str] = &["why", "explain", "describe", "should"];

/// Words that open a question whatever follows.
pub(super) const ASKING: &[&str] = &["what", "whats", "which", "who", "how", "when", "where"];
/// Words that open a question when the goal ends with a question mark ("is it clean?"),
/// unlike a polite request ("can you run the tests?").
pub(super) const ASKING_IF: &[&str] = &[
    "is", "are", "was", "were", "does", "do", "did", "has", "have", "am",
];

/// Whether the goal is a question.
pub(super) fn is_question(goal: &str, words: &[String]) -> bool {
    let Some(first) = words.first().map(|w| normal_word(w).replace('\'', "")) else {
        return false;
    };
    ASKING.contains(&first.as_str())
        || (goal.trim_end().ends_with('?') && ASKING_IF.contains(&first.as_str()))
}

/// Verbs that ask for a change: a goal led by one of them is never served by a tool that
/// only looks (listing, status, search), however its nouns match.
pub(super) const CHANGING: &[&str] = &[
    "delete",
    "remove",
    "rm",
    "clean",
    "cleanup",
    "wipe",
    "purge",
    "erase",
    "drop",
    "clear",
    "create",
    "make",
    "new",
    "add",
    "write",
    "generate",
    "init",
    "move",
    "mv",
    "rename",
    "copy",
    "cp",
    "stop",
    "kill",
    "halt",
    "terminate",
    "build",
    "compile",
    "install",
    "uninstall",
    "update",
    "upgrade",
    "bump",
    "fix",
    "commit",
    "push",
    "pull",
    "merge",
    "rebase",
    "revert",
    "reset",
    "undo",
    "restore",
    "discard",
    "stash",
    "deploy",
    "ship",
    "publish",
    "release",
    "format",
    "edit",
    "change",
    "replace",
    "apply",
    "save",
    "squash",
    "amend",
    "tag",
    "shut",
    "shutdown",
    "close",
    "quit",
    "exit",
    "abort",
    "cancel",
    "refactor",
    "optimize",
    "optimise",
    "kill",
    "end",
    "send",
    "upload",
    "sync",
    "fetch",
    "download",
    "grab",
    "shelve",
];

/// Words skipped at the start of a `rest` value.
pub(super) const FILLER: &[&str] = &[
    "for", "the", "a", "an", "of", "in", "on", "to", "all", "me", "about", "with", "where",
];

/// The goal's words, with quoted text left out.
pub(super) fn unquoted_words(goal: &str) -> Vec<String> {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for ch in goal.chars() {
        match quote {
            Some(q) if ch == q => {
                quote = None;
                out.push(' ');
            }
            Some(_) => {}
            None if matches!(ch, '"' | '\'' | '`') && opens_quote(&out) => quote = Some(ch),
            None => out.push(ch),
        }
    }
    let mut words: Vec<String> = Vec::new();
    for w in out.split_whitespace() {
        // Two-word verbs are one word: "check out" is `checkout`, "fire up" is `start`.
        let joined = words.last().and_then(|prev| {
            PHRASAL
                .iter()
                .find(|(a, b, _)| normal_word(prev) == *a && normal_word(w) == *b)
                .map(|(_, _, one)| one.to_string())
        });
        match joined {
            Some(one) => {
                if let Some(last) = words.last_mut() {
                    *last = one;
                }
            }
            None => words.push(w.to_string()),
        }
    }
    words
}

/// Two-word verbs and the one word each stands for.
pub(super) const PHRASAL: &[(&str, &str, &str)] = &[
    ("check", "out", "checkout"),
    ("clean", "up", "cleanup"),
    ("tidy", "up", "tidy"),
    ("shut", "down", "shutdown"),
    ("fire", "up", "start"),
    ("spin", "up", "start"),
    ("boot", "up", "start"),
    ("start", "up", "start"),
    ("wipe", "out", "wipe"),
    ("set", "up", "setup"),
];

/// A quote opens at the start of a word (so "don't" is not a quote).
pub(super) fn opens_quote(before: &str) -> bool {
    before.chars().last().is_none_or(char::is_whitespace)
}

pub(super) fn normal_word(w: &str) -> String {
    w.trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

pub(super) fn rest_after(words: &[String]) -> String {
    let start = words
        .iter()
        .position(|w| !FILLER.contains(&normal_word(w).as_str()))
        .unwrap_or(words.len());
    words[start..]
        .join(" ")
        .trim_end_matches(['.', '!', '?', ',', ';', ':'])
        .to_string()
}

/// The first quoted text in the goal.
pub(super) fn quoted(goal: &str) -> Option<String> {
    let mut prev: Option<char> = None;
    for (i, ch) in goal.char_indices() {
        if matches!(ch, '"' | '\'' | '`') && prev.is_none_or(char::is_whitespace) {
            let body = &goal[i + ch.len_utf8()..];
            if let Some(end) = body.find(ch) {
                return Some(body[..end].to_string());
            }
        }
        prev = Some(ch);
    }
    None
}

pub(super) fn first_number(goal: &str) -> Option<String> {
    unquoted_words(goal)
        .iter()
        .map(|w| normal_word(w))
        .find(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()))
}
