//! `codex init bash|zsh|fish`: print the shell hook that records each command typed
//! (`codex capture record` in the background, detached, output discarded).

use std::path::Path;

use crate::cli::CompletionShell;
use crate::error::CliError;

const BASH: &str = include_str!("../../shell/codex.bash");
const ZSH: &str = include_str!("../../shell/codex.zsh");
const FISH: &str = include_str!("../../shell/codex.fish");

/// Print the hook for `shell`, calling this very `codex` (no PATH lookup per command).
pub fn init(shell: CompletionShell) -> Result<u8, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Usage(format!("cannot tell where codex is installed: {e}")))?;
    print!("{}", hook(shell, &exe)?);
    Ok(0)
}

/// The hook text with `codex`'s path quoted for the shell.
pub fn hook(shell: CompletionShell, exe: &Path) -> Result<String, CliError> {
    let path = exe.to_str().ok_or_else(|| {
        CliError::Usage(format!(
            "codex is installed at a path that is not UTF-8 ({}): the hook cannot name it",
            exe.display()
        ))
    })?;
    let (text, quoted) = match shell {
        CompletionShell::Bash => (BASH, posix_quote(path)),
        CompletionShell::Zsh => (ZSH, posix_quote(path)),
        CompletionShell::Fish => (FISH, fish_quote(path)),
    };
    Ok(text.replace("@CODEX@", &quoted))
}

/// Single quotes, a quote inside written `'\''`: nothing in it is expanded by bash or zsh.
fn posix_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// fish's single quotes: only `\'` and `\\` are escapes inside them.
fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_path_is_quoted_so_no_shell_expands_it() {
        assert_eq!(posix_quote("/usr/bin/codex"), "'/usr/bin/codex'");
        assert_eq!(posix_quote("/a b/it's $x"), r"'/a b/it'\''s $x'");
        assert_eq!(fish_quote(r"/a\b/it's"), r"'/a\\b/it\'s'");
        for shell in [
            CompletionShell::Bash,
            CompletionShell::Zsh,
            CompletionShell::Fish,
        ] {
            let h = hook(shell, Path::new("/opt/co dex/codex")).unwrap();
            assert!(h.contains("'/opt/co dex/codex'"), "{h}");
            assert!(!h.contains("@CODEX@"));
            assert!(h.contains("capture record"));
        }
    }
}
