//! Shell capture: what the shell hook (`codex init bash|zsh|fish`) may record, and whether it
//! is paused.
//!
//! - [`Filters`] — `capture.exclude_dirs` and `capture.exclude_patterns` compiled, plus the
//!   leading-space rule; applied before anything is stored.
//! - [`Capture`] — the filters, the paused state (kept in `storage/capture/state.json`, written
//!   atomically before a pause or resume is answered, so it survives a restart) and the counts
//!   since start. Shared by the server's connections; no actor: a pause is one small file.
//!
//! The request itself (`capture/record`) is served by `server/capture.rs`, which hands what
//! passes to the learning pipeline as an interaction.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use codex_proto::capture::CaptureStatus;
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::config::CaptureConfig;
use crate::store::{StoreError, aside, atomic};

/// Where the paused state lives, below CODEX_HOME.
pub const STATE_FILE: &str = "storage/capture/state.json";

/// The compiled filters.
#[derive(Debug, Clone)]
pub struct Filters {
    dirs: Vec<(String, globset::GlobMatcher)>,
    patterns: Vec<(String, globset::GlobMatcher)>,
}

/// Why a command is not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Excluded {
    /// Typed with a leading space.
    LeadingSpace,
    /// Nothing but blanks.
    Empty,
    /// Typed in a folder `capture.exclude_dirs` names.
    Dir(String),
    /// A command line `capture.exclude_patterns` names.
    Pattern(String),
}

impl std::fmt::Display for Excluded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Excluded::LeadingSpace => f.write_str("typed with a leading space"),
            Excluded::Empty => f.write_str("empty"),
            Excluded::Dir(g) => write!(f, "typed in a folder capture.exclude_dirs names (`{g}`)"),
            Excluded::Pattern(g) => write!(f, "matches capture.exclude_patterns (`{g}`)"),
        }
    }
}

impl Filters {
    /// Compile the config's globs; the error names the key and the pattern.
    pub fn new(c: &CaptureConfig) -> Result<Filters, (&'static str, String)> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut dirs = Vec::new();
        for g in &c.exclude_dirs {
            let key = "capture.exclude_dirs";
            let expanded = expand_home(g, home.as_deref()).map_err(|why| (key, why))?;
            if !expanded.starts_with('/') && !expanded.starts_with('*') {
                return Err((
                    key,
                    format!("`{g}`: give an absolute folder (or start with `~/` or `*`)"),
                ));
            }
            let m = glob(&expanded, true).map_err(|why| (key, format!("`{g}`: {why}")))?;
            dirs.push((g.clone(), m));
        }
        let mut patterns = Vec::new();
        for g in &c.exclude_patterns {
            let key = "capture.exclude_patterns";
            let m = glob(g, false).map_err(|why| (key, format!("`{g}`: {why}")))?;
            patterns.push((g.clone(), m));
        }
        Ok(Filters { dirs, patterns })
    }

    /// Whether `command` typed in `cwd` is left out, and why; `None` when it may be recorded.
    pub fn excluded(&self, command: &str, cwd: &Path) -> Option<Excluded> {
        if command.starts_with([' ', '\t']) {
            return Some(Excluded::LeadingSpace);
        }
        if command.trim().is_empty() {
            return Some(Excluded::Empty);
        }
        if let Some((g, _)) = self
            .dirs
            .iter()
            .find(|(_, m)| cwd.ancestors().any(|d| m.is_match(d)))
        {
            return Some(Excluded::Dir(g.clone()));
        }
        self.patterns
            .iter()
            .find(|(_, m)| m.is_match(command) || m.is_match(command.trim()))
            .map(|(g, _)| Excluded::Pattern(g.clone()))
    }
}

/// `~` or `~/...` made absolute with `home`.
fn expand_home(g: &str, home: Option<&Path>) -> Result<String, String> {
    if g.trim().is_empty() {
        return Err("an empty pattern would match nothing useful".into());
    }
    let rest = match g.strip_prefix('~') {
        None => return Ok(g.to_string()),
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        Some(_) => {
            return Err(format!(
                "`{g}`: only `~` or `~/...` expands (your own home)"
            ));
        }
    };
    let home = home.ok_or_else(|| format!("`{g}`: cannot expand `~`: HOME is not set"))?;
    Ok(format!("{}{rest}", home.display()))
}

fn glob(pattern: &str, literal_separator: bool) -> Result<globset::GlobMatcher, String> {
    if pattern.trim().is_empty() {
        return Err("an empty pattern would match nothing useful".into());
    }
    globset::GlobBuilder::new(pattern.trim_end_matches('/'))
        .literal_separator(literal_separator)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// The paused state as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredState {
    /// Whether capture is paused.
    pub paused: bool,
    /// Since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

/// Whether a command may be recorded now, and the counts.
#[derive(Debug)]
pub struct Capture {
    enabled: bool,
    tracking: bool,
    config: CaptureConfig,
    filters: Filters,
    file: PathBuf,
    state: Mutex<StoredState>,
    recorded: AtomicU64,
    skipped: AtomicU64,
}

/// Why [`Capture::gate`] lets nothing through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Off {
    /// `capture.enabled: false`.
    Disabled,
    /// `interaction_tracking_enabled: false`.
    NoTracking,
    /// `codex capture pause`.
    Paused,
}

impl std::fmt::Display for Off {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Off::Disabled => "capture.enabled is false in the config",
            Off::NoTracking => "interaction_tracking_enabled is false in the config",
            Off::Paused => "capture is paused (`codex capture resume` records again)",
        })
    }
}

impl Capture {
    /// Capture for CODEX_HOME `home`: the paused state read from its file. A file that does
    /// not parse is moved aside and capture starts paused (you paused it, as far as anyone
    /// can tell; `codex capture resume` writes a good file).
    pub fn open(home: &Path, config: &CaptureConfig, tracking: bool) -> Capture {
        let file = home.join(STATE_FILE);
        let state = match std::fs::read(&file) {
            Ok(bytes) => match serde_json::from_slice::<StoredState>(&bytes) {
                Ok(s) => s,
                Err(e) => {
                    warn!(file = %file.display(), "capture state does not parse ({e}); moved aside, capture starts paused");
                    if let Err(e) = aside::move_aside(&file) {
                        warn!(file = %file.display(), "cannot move the capture state aside: {e}");
                    }
                    StoredState {
                        paused: true,
                        since: Some(Utc::now()),
                    }
                }
            },
            Err(_) => StoredState::default(),
        };
        // The config was validated on load; a filter that no longer compiles (HOME changed
        // since) leaves nothing out rather than stopping the daemon, and says so.
        let filters = Filters::new(config).unwrap_or_else(|(key, why)| {
            warn!(key, "capture filter not used: {why}");
            Filters {
                dirs: Vec::new(),
                patterns: Vec::new(),
            }
        });
        Capture {
            enabled: config.enabled,
            tracking,
            config: config.clone(),
            filters,
            file,
            state: Mutex::new(state),
            recorded: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// Whether anything may be recorded now.
    pub fn gate(&self) -> Result<(), Off> {
        if !self.enabled {
            return Err(Off::Disabled);
        }
        if !self.tracking {
            return Err(Off::NoTracking);
        }
        if self.lock().paused {
            return Err(Off::Paused);
        }
        Ok(())
    }

    /// The filters in force.
    pub fn filters(&self) -> &Filters {
        &self.filters
    }

    /// Count a command recorded.
    pub fn count_recorded(&self) {
        self.recorded.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a command left out.
    pub fn count_skipped(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }

    /// Pause or resume; on disk before it returns. Unchanged when the file cannot be written.
    pub fn set_paused(&self, paused: bool) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.paused == paused && self.file.exists() {
            return Ok(());
        }
        let next = StoredState {
            paused,
            since: paused.then(Utc::now),
        };
        if let Some(dir) = self.file.parent() {
            crate::store::private_dir(dir).map_err(StoreError::io("cannot create folder", dir))?;
        }
        let bytes = serde_json::to_vec(&next).map_err(|source| StoreError::Encode {
            path: self.file.clone(),
            source,
        })?;
        atomic::write_atomic(&self.file, &bytes)?;
        *state = next;
        Ok(())
    }

    /// Capture as it stands.
    pub fn status(&self) -> CaptureStatus {
        let state = self.lock().clone();
        CaptureStatus {
            active: self.gate().is_ok(),
            enabled: self.enabled,
            tracking: self.tracking,
            paused: state.paused,
            paused_since: state.since,
            recorded: self.recorded.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            exclude_dirs: self.config.exclude_dirs.clone(),
            exclude_patterns: self.config.exclude_patterns.clone(),
            state_file: self.file.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StoredState> {
        // The state is a plain value replaced whole: a panic elsewhere cannot leave it torn.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn filters(dirs: &[&str], patterns: &[&str]) -> Result<Filters, (&'static str, String)> {
        Filters::new(&CaptureConfig {
            enabled: true,
            exclude_dirs: dirs.iter().map(|s| s.to_string()).collect(),
            exclude_patterns: patterns.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn a_leading_space_an_excluded_folder_or_pattern_is_left_out() {
        let f = filters(
            &["/srv/secret", "/home/*/private"],
            &["vault *", "*--password*"],
        )
        .unwrap();
        let here = Path::new("/home/me/src/shop");
        assert_eq!(f.excluded("cargo test", here), None);
        assert_eq!(
            f.excluded(" cargo test", here),
            Some(Excluded::LeadingSpace)
        );
        assert_eq!(f.excluded("\tls", here), Some(Excluded::LeadingSpace));
        assert_eq!(f.excluded("   ", here), Some(Excluded::LeadingSpace));
        assert_eq!(f.excluded("", here), Some(Excluded::Empty));
        assert_eq!(
            f.excluded("ls", Path::new("/srv/secret/deep/er")),
            Some(Excluded::Dir("/srv/secret".into()))
        );
        assert_eq!(f.excluded("ls", Path::new("/srv/secretive")), None);
        assert_eq!(
            f.excluded("ls", Path::new("/home/me/private")),
            Some(Excluded::Dir("/home/*/private".into()))
        );
        // `*` stays within one folder name.
        assert_eq!(f.excluded("ls", Path::new("/home/me/src/private")), None);
        assert_eq!(
            f.excluded("vault read kv/x", here),
            Some(Excluded::Pattern("vault *".into()))
        );
        assert_eq!(
            f.excluded("mysql --password=x", here),
            Some(Excluded::Pattern("*--password*".into()))
        );
        assert_eq!(f.excluded("cat vault.txt", here), None);
    }

    #[test]
    fn home_expands_and_bad_globs_name_their_key() {
        let home = Path::new("/home/me");
        assert_eq!(expand_home("~/x", Some(home)).unwrap(), "/home/me/x");
        assert_eq!(expand_home("~", Some(home)).unwrap(), "/home/me");
        assert!(expand_home("~bob/x", Some(home)).is_err());
        assert!(expand_home("~/x", None).unwrap_err().contains("HOME"));
        let (key, why) = filters(&["/a/[b"], &[]).unwrap_err();
        assert_eq!(key, "capture.exclude_dirs");
        assert!(why.contains("/a/[b"), "{why}");
        let (key, _) = filters(&[], &["x["]).unwrap_err();
        assert_eq!(key, "capture.exclude_patterns");
        let (key, why) = filters(&["relative/dir"], &[]).unwrap_err();
        assert_eq!(key, "capture.exclude_dirs");
        assert!(why.contains("absolute"), "{why}");
        assert!(filters(&[], &[" "]).is_err());
    }

    #[test]
    fn paused_survives_reopening_and_a_damaged_file_starts_paused() {
        let t = tempfile::tempdir().unwrap();
        let cfg = CaptureConfig::default();
        let c = Capture::open(t.path(), &cfg, true);
        assert_eq!(c.gate(), Ok(()));
        c.set_paused(true).unwrap();
        assert_eq!(c.gate(), Err(Off::Paused));
        let again = Capture::open(t.path(), &cfg, true);
        assert!(again.status().paused);
        assert!(again.status().paused_since.is_some());
        again.set_paused(false).unwrap();
        assert_eq!(Capture::open(t.path(), &cfg, true).gate(), Ok(()));

        std::fs::write(t.path().join(STATE_FILE), b"{not json").unwrap();
        let damaged = Capture::open(t.path(), &cfg, true);
        assert_eq!(damaged.gate(), Err(Off::Paused));
        let kept_aside = std::fs::read_dir(t.path().join("storage/capture"))
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().contains("corrupt"));
        assert!(kept_aside);
    }

    #[test]
    fn disabled_or_untracked_records_nothing() {
        let t = tempfile::tempdir().unwrap();
        let off = CaptureConfig {
            enabled: false,
            ..CaptureConfig::default()
        };
        assert_eq!(
            Capture::open(t.path(), &off, true).gate(),
            Err(Off::Disabled)
        );
        assert_eq!(
            Capture::open(t.path(), &CaptureConfig::default(), false).gate(),
            Err(Off::NoTracking)
        );
    }
}
