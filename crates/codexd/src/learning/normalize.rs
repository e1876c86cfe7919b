//! How a run is named for learning: its normalized goal, task category, tool and plan
//! signature. Everything here is a pure function of the goal text and the command, so the
//! same run is always filed under the same names.

use crate::episode::command_line;

/// Programs whose first plain argument is a subcommand worth telling apart
/// (`cargo test` and `cargo build` are different tasks; `ls src` and `ls docs` are not).
const SUBCOMMAND_PROGRAMS: &[&str] = &[
    "apt",
    "brew",
    "bun",
    "bundle",
    "cabal",
    "cargo",
    "cmake",
    "composer",
    "deno",
    "docker",
    "dotnet",
    "gh",
    "git",
    "go",
    "gradle",
    "hatch",
    "helm",
    "just",
    "kubectl",
    "make",
    "mix",
    "mvn",
    "nix",
    "npm",
    "npx",
    "pdm",
    "pip",
    "pip3",
    "pnpm",
    "podman",
    "poetry",
    "rails",
    "rustup",
    "stack",
    "systemctl",
    "terraform",
    "tox",
    "uv",
    "yarn",
];

/// The category a project task's commands typed in a shell are learned under ("shell habit:
/// test"): any goal that asks for that task in that project finds them.
pub fn shell_habit(task: &str) -> String {
    normalize_goal(&format!("shell habit: {task}"))
}

/// Lower case, single spaces, no trailing punctuation: "Run the tests!" → "run the tests".
pub fn normalize_goal(goal: &str) -> String {
    let words: Vec<String> = goal.split_whitespace().map(str::to_lowercase).collect();
    words
        .join(" ")
        .trim_matches(|c: char| matches!(c, '.' | '!' | '?' | ',' | ';' | ':') || c.is_whitespace())
        .to_string()
}

/// The program's basename plus, for programs with subcommands, the first plain argument:
/// `cargo nextest run` → `cargo nextest`, `/usr/bin/git status -s` → `git status`.
pub fn tool_of(argv: &[String]) -> String {
    let program = crate::episode::program_name(argv);
    if !SUBCOMMAND_PROGRAMS.contains(&program.as_str()) {
        return program;
    }
    let sub = argv
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-') && !a.starts_with('+'));
    match sub {
        Some(s) if looks_like_subcommand(s) => format!("{program} {s}"),
        _ => program,
    }
}

fn looks_like_subcommand(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
}

/// The plan as a comparable string: the command line with an absolute program path dropped,
/// so `/usr/bin/cargo test` and `cargo test` are the same plan. A relative path stays
/// (`./deploy.sh` is not a `deploy.sh` on the PATH), so a plan can be run again as written.
pub fn plan_signature(argv: &[String]) -> String {
    let mut words = argv.to_vec();
    if let Some(first) = words.first_mut()
        && first.starts_with('/')
    {
        *first = crate::episode::program_name(argv);
    }
    command_line(&words)
}

/// The task category: the normalized goal when the user named one, else the tool.
pub fn category(goal: Option<&str>, argv: &[String]) -> String {
    match goal.map(normalize_goal) {
        Some(g) if !g.is_empty() => g,
        _ => tool_of(argv),
    }
}

/// A `--goal` pattern: a case-insensitive glob when it has wildcards, else a substring.
#[derive(Debug, Clone)]
pub struct GoalPattern {
    glob: Option<globset::GlobMatcher>,
    needle: String,
}

impl GoalPattern {
    /// Compile `pattern`; the error says why it is not a valid glob.
    pub fn new(pattern: &str) -> Result<Self, String> {
        // Empty (an unset shell variable) or only wildcards: it would match every goal.
        if pattern
            .chars()
            .all(|c| c == '*' || c == '?' || c.is_whitespace())
        {
            return Err("it matches every run; to forget everything say `--all` instead".into());
        }
        let needle = pattern.to_lowercase();
        let glob = if pattern.contains(['*', '?', '[']) {
            let g = globset::GlobBuilder::new(pattern)
                .case_insensitive(true)
                .literal_separator(false)
                .build()
                .map_err(|e| e.kind().to_string())?;
            Some(g.compile_matcher())
        } else {
            None
        };
        Ok(GoalPattern { glob, needle })
    }

    /// Whether `goal` matches.
    pub fn matches(&self, goal: &str) -> bool {
        match &self.glob {
            Some(g) => g.is_match(goal),
            None => goal.to_lowercase().contains(&self.needle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_match_everything_are_refused() {
        for p in ["", "  ", "*", "**", "?*", "* *"] {
            assert!(GoalPattern::new(p).is_err(), "{p:?}");
        }
        for p in ["deploy", "*deploy*", "?eploy", "a*"] {
            assert!(GoalPattern::new(p).is_ok(), "{p:?}");
        }
    }

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn goals_normalize_case_space_and_punctuation() {
        for (raw, want) in [
            ("Run the tests!", "run the tests"),
            ("  run   THE tests  ", "run the tests"),
            ("deploy staging.", "deploy staging"),
            ("what's new?", "what's new"),
            ("", ""),
        ] {
            assert_eq!(normalize_goal(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn tools_keep_subcommands_only_where_they_mean_something() {
        for (argv, want) in [
            (&["cargo", "nextest", "run"][..], "cargo nextest"),
            (&["/usr/bin/git", "status", "-s"], "git status"),
            (&["cargo", "+nightly", "test"], "cargo test"),
            (&["git", "-C", "/tmp"], "git"),
            (&["make"], "make"),
            (&["ls", "src"], "ls"),
            (&["npm", "run", "lint"], "npm run"),
            (&["git", "./weird"], "git"),
        ] {
            assert_eq!(tool_of(&v(argv)), want, "{argv:?}");
        }
    }

    #[test]
    fn categories_prefer_the_named_goal() {
        let argv = v(&["cargo", "nextest", "run"]);
        assert_eq!(category(Some("Run the tests"), &argv), "run the tests");
        assert_eq!(category(None, &argv), "cargo nextest");
        assert_eq!(category(Some("  "), &argv), "cargo nextest");
    }

    #[test]
    fn goal_patterns_are_globs_or_substrings() {
        let m = GoalPattern::new("deploy*").unwrap();
        assert!(m.matches("Deploy staging"));
        assert!(!m.matches("run deploy"));
        let s = GoalPattern::new("secret").unwrap();
        assert!(s.matches("curl the SECRET page"));
        assert!(!s.matches("curl"));
        assert!(GoalPattern::new("[unclosed").is_err());
    }

    #[test]
    fn plan_signatures_drop_the_program_path() {
        assert_eq!(
            plan_signature(&v(&["/usr/bin/cargo", "test"])),
            "cargo test"
        );
        assert_eq!(plan_signature(&v(&["echo", "a b"])), "echo 'a b'");
        assert_eq!(
            plan_signature(&v(&["./scripts/deploy.sh", "staging"])),
            "./scripts/deploy.sh staging"
        );
    }
}
