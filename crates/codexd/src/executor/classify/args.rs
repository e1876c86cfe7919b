//! Reading a program's arguments the way GNU getopt and git's parse-options do: short options
//! cluster (`-rf`) and take their value joined or next (`-e'…'`, `-o FILE`), long options may
//! be abbreviated to any unambiguous prefix (`--recur`) and take `=VALUE` or the next word,
//! and `--` ends the options. Patterns over arguments come in four kinds (see [`Pattern`]).

/// One entry of a rule's `any_arg`, an allowlist's `except`, or an option list.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// `--name`: the long option, its abbreviations (at least `--` and one letter), and
    /// `--name=VALUE`.
    Long(String),
    /// `-x`: the short option letter, alone or in a cluster (`-qx`).
    Short(char),
    /// `-word` (find's `-exec`, gdb's `-ex`): that exact word, or `-word=VALUE`.
    Word(String),
    /// Anything else: a glob over the whole argument.
    Glob(globset::GlobMatcher),
}

impl Pattern {
    /// Compile one entry; `ignore_case` for programs whose option names are (ssh's).
    pub fn new(entry: &str, ignore_case: bool) -> Result<Pattern, String> {
        let is_glob = entry.contains(['*', '?', '[']);
        if !is_glob {
            if let Some(name) = entry.strip_prefix("--")
                && !name.is_empty()
                && !name.contains('=')
            {
                return Ok(Pattern::Long(entry.to_string()));
            }
            if let Some(rest) = entry.strip_prefix('-') {
                let mut chars = rest.chars();
                if let (Some(c), None) = (chars.next(), chars.next()) {
                    return Ok(Pattern::Short(c));
                }
                if !rest.is_empty() && !rest.starts_with('-') {
                    return Ok(Pattern::Word(entry.to_string()));
                }
            }
        }
        globset::GlobBuilder::new(entry)
            .literal_separator(false)
            .case_insensitive(ignore_case)
            .build()
            .map(|g| Pattern::Glob(g.compile_matcher()))
            .map_err(|e| format!("`{entry}`: {}", e.kind()))
    }

    /// Whether `arg` matches: a long option by its unambiguous prefix, a short letter in a
    /// cluster, a word exactly, a glob. `options_done`: after `--`, where option-like words
    /// are names, not options.
    pub fn matches(&self, arg: &str, options_done: bool) -> bool {
        match self {
            Pattern::Long(name) => !options_done && long_prefix_of(arg, name),
            Pattern::Short(c) => {
                !options_done && is_cluster(arg) && cluster_letters(arg).contains(c)
            }
            Pattern::Word(w) => {
                !options_done
                    && (arg == w
                        || arg
                            .strip_prefix(w.as_str())
                            .is_some_and(|r| r.starts_with('=')))
            }
            Pattern::Glob(g) => g.is_match(arg),
        }
    }
}

/// Whether `arg` (`--na`, `--name`, `--name=v`) names the long option `name` (`--name`) the
/// way getopt_long reads it: any prefix of at least one letter. An ambiguous prefix makes the
/// program fail, so counting it as this option never hides a danger.
pub fn long_prefix_of(arg: &str, name: &str) -> bool {
    let Some(given) = arg.strip_prefix("--") else {
        return false;
    };
    let given = given.split('=').next().unwrap_or("");
    !given.is_empty()
        && name
            .strip_prefix("--")
            .is_some_and(|n| n.starts_with(given))
}

/// `-rf`, `-I./x`, `-9`: a cluster of short options (not `-`, not `--…`).
pub fn is_cluster(a: &str) -> bool {
    a.len() > 1 && a.starts_with('-') && !a.starts_with("--")
}

/// The letters of a cluster (with any joined value, which is harmless to over-read).
pub fn cluster_letters(a: &str) -> Vec<char> {
    a.chars().skip(1).collect()
}

/// An option spec: which short letters and long options take a value.
#[derive(Debug, Clone, Default)]
pub struct Values<'a> {
    /// Short letters taking a value.
    pub short: &'a str,
    /// Long option names (without `--`) taking a value.
    pub long: &'a [String],
}

impl Values<'_> {
    /// How many words option `args[i]` takes (itself and its value), `None` when it is not
    /// an option (a plain word), and whether it was known to `self`.
    pub fn width(&self, args: &[String], i: usize) -> Option<usize> {
        let a = args.get(i)?;
        if a == "--" {
            return Some(1);
        }
        if let Some(long) = a.strip_prefix("--") {
            if long.contains('=') {
                return Some(1);
            }
            let takes = self
                .long
                .iter()
                .any(|n| !long.is_empty() && n.starts_with(long));
            return Some(if takes { 2 } else { 1 });
        }
        if is_cluster(a) {
            // The first value-taking letter ends the cluster: the rest, or the next word,
            // is its value.
            for (k, c) in a.char_indices().skip(1) {
                if self.short.contains(c) {
                    return Some(if k + c.len_utf8() == a.len() { 2 } else { 1 });
                }
            }
            return Some(1);
        }
        None
    }

    /// The value given to option `names` (short letters or long names) in `args`: joined or
    /// next, first occurrence.
    pub fn value_of<'a>(args: &'a [String], short: &[char], long: &[&str]) -> Vec<&'a str> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_str();
            if a == "--" {
                break;
            }
            if let Some(given) = a.strip_prefix("--") {
                let (name, value) = match given.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (given, None),
                };
                if !name.is_empty()
                    && long
                        .iter()
                        .any(|l| l.trim_start_matches('-').starts_with(name))
                {
                    match value {
                        Some(v) => out.push(v),
                        None => {
                            if let Some(v) = args.get(i + 1) {
                                out.push(v.as_str());
                            }
                            i += 1;
                        }
                    }
                }
            } else if is_cluster(a) {
                for (k, c) in a.char_indices().skip(1) {
                    if short.contains(&c) {
                        let rest = &a[k + c.len_utf8()..];
                        if rest.is_empty() {
                            if let Some(v) = args.get(i + 1) {
                                out.push(v.as_str());
                            }
                            i += 1;
                        } else {
                            out.push(rest);
                        }
                        break;
                    }
                }
            }
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn patterns_read_options_as_getopt_does() {
        let long = Pattern::new("--recursive", false).unwrap();
        for yes in ["--r", "--rec", "--recursive", "--recursive=x"] {
            assert!(long.matches(yes, false), "{yes}");
        }
        for no in ["--", "--rx", "-r", "recursive"] {
            assert!(!long.matches(no, false), "{no}");
        }
        assert!(!long.matches("--rec", true), "after -- it is a name");
        let short = Pattern::new("-f", false).unwrap();
        assert!(short.matches("-qf", false) && short.matches("-f", false));
        assert!(!short.matches("--force", false));
        let word = Pattern::new("-exec", false).unwrap();
        assert!(word.matches("-exec", false) && !word.matches("-executable", false));
        let glob = Pattern::new("of=*", false).unwrap();
        assert!(glob.matches("of=/dev/sda", false));
        let ci = Pattern::new("proxycommand*", true).unwrap();
        assert!(ci.matches("ProxyCommand=sh", false));
    }

    #[test]
    fn values_are_found_joined_next_or_after_equals() {
        let args = s(&["-vS'rm x'", "--chdir", "/d", "-u", "X", "cmd"]);
        assert_eq!(
            Values::value_of(&args, &['S'], &["--split-string"]),
            vec!["'rm x'"]
        );
        assert_eq!(Values::value_of(&args, &['C'], &["--chdir"]), vec!["/d"]);
        let args = s(&["--s=rm -rf ~"]);
        assert_eq!(
            Values::value_of(&args, &['S'], &["--split-string"]),
            vec!["rm -rf ~"]
        );
        let long = s(&["unset", "chdir", "split-string"]);
        let v = Values {
            short: "uCS",
            long: &long,
        };
        let args = s(&["-i", "-u", "X", "--chdir", "d", "ls"]);
        assert_eq!(v.width(&args, 0), Some(1));
        assert_eq!(v.width(&args, 1), Some(2));
        assert_eq!(v.width(&args, 3), Some(2));
        assert_eq!(v.width(&args, 5), None);
    }
}
