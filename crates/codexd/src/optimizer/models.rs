//! Personal models on disk, in `storage/learning/personalized_models/`:
//! `model-0001.json`, `model-0002.json`, ... (one per training: parameters, metrics, data
//! range, config hash, created time, the verdict; written atomically and never changed), and
//! `live.json` (which version is live, the ones live before it for `rollback`, and the next
//! version number, so a version is never reused).
//!
//! A file that does not parse, or whose parameters are not valid, is moved aside (never
//! overwritten) with a log line; when it was the live one, the previous live version that
//! reads is used, else the config's parameters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use codex_proto::optimizer::{ModelMetrics, ModelState, ModelVersionView, OpeView};
use serde::{Deserialize, Serialize};
use tracing::error;

use super::train::{self, DataRange, Learned, Metrics};
use crate::store::StoreError;
use crate::store::aside::move_aside;
use crate::store::atomic::write_atomic;

/// The model file format this codexd writes and reads.
pub const FORMAT: u32 = 1;
/// Versions live before the current one, kept for `rollback`.
const KEEP_PREVIOUS: usize = 20;

/// One trained model, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// The file format.
    pub format: u32,
    /// Its version.
    pub version: u32,
    /// When it was trained.
    pub created: DateTime<Utc>,
    /// Why it was trained.
    pub trigger: String,
    /// The hash of the config it was trained under (its learning and planner settings).
    pub config_hash: String,
    /// The fitted parameters.
    pub learned: Learned,
    /// Its held-out metrics.
    pub metrics: Metrics,
    /// The then-live parameters' metrics on the same held-out data.
    pub live_metrics: Metrics,
    /// Its metrics on the part the search scored (seen while fitting).
    pub train_metrics: Metrics,
    /// The data it was trained and measured on.
    pub range: DataRange,
    /// Why it was not promoted, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

/// Which version is live.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveFile {
    /// The live version; `None`: the config's parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<u32>,
    /// Versions live before, oldest first (`rollback` goes back to the last).
    #[serde(default)]
    pub previous: Vec<u32>,
    /// The next version number to give.
    #[serde(default = "one")]
    pub next: u32,
}

fn one() -> u32 {
    1
}

/// What can go wrong with model versions.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No such version.
    #[error("no model v{0}: `codex model status` lists the versions")]
    Unknown(u32),
    /// The version's file could not be read back.
    #[error("model v{0} cannot be used: its file was unreadable and was moved aside")]
    Unreadable(u32),
    /// Nothing to roll back to.
    #[error("nothing to roll back: the config's parameters are already in use")]
    NothingToRollBack,
    /// The version number is taken or past the last one.
    #[error(
        "no model version can be given (v{0} is taken or the last number): move old model \
         files out of storage/learning/personalized_models and edit live.json's `next`"
    )]
    NoVersionLeft(u32),
    /// The trained model holds a figure that cannot be stored.
    #[error("the trained model cannot be stored ({0}); the live model stays")]
    Unstorable(String),
    /// A file could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The model versions and which is live.
#[derive(Debug)]
pub struct Models {
    dir: PathBuf,
    versions: BTreeMap<u32, Result<ModelFile, String>>,
    live: LiveFile,
    config_hash: String,
}

fn file_name(version: u32) -> String {
    format!("model-{version:04}.json")
}

fn version_of(name: &str) -> Option<u32> {
    name.strip_prefix("model-")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

/// A model file, read and checked (format, version, valid parameters).
pub fn read_model(path: &Path, version: u32) -> Result<ModelFile, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    let m: ModelFile =
        serde_json::from_slice(&bytes).map_err(|e| format!("does not parse: {e}"))?;
    if m.format != FORMAT {
        return Err(format!(
            "is format {} (this codexd reads {FORMAT})",
            m.format
        ));
    }
    if m.version != version {
        return Err(format!("names version {}, not {version}", m.version));
    }
    m.learned
        .validate()
        .map_err(|e| format!("holds parameters that are not valid: {e}"))?;
    Ok(m)
}

impl Models {
    /// Read every version and `live.json`; what is damaged is moved aside and said in the log.
    pub fn open(dir: &Path, config_hash: String) -> Models {
        let mut versions = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(v) = version_of(&name) else { continue };
                let path = e.path();
                let read = read_model(&path, v);
                if let Err(why) = &read {
                    match move_aside(&path) {
                        Ok(to) => {
                            error!(file = %path.display(), moved_to = %to.display(), "a personal model file {why}; it was moved aside")
                        }
                        Err(e) => {
                            error!(file = %path.display(), "a personal model file {why}, and cannot be moved aside: {e}")
                        }
                    }
                }
                versions.insert(v, read);
            }
        }
        let live_path = dir.join("live.json");
        let mut live = match std::fs::read(&live_path) {
            Ok(bytes) => match serde_json::from_slice::<LiveFile>(&bytes) {
                Ok(l) => l,
                Err(e) => {
                    match move_aside(&live_path) {
                        Ok(to) => {
                            error!(file = %live_path.display(), moved_to = %to.display(), "live.json does not parse ({e}); moved aside, the config's parameters are used")
                        }
                        Err(e2) => {
                            error!(file = %live_path.display(), "live.json does not parse ({e}) and cannot be moved aside: {e2}")
                        }
                    }
                    LiveFile::default()
                }
            },
            Err(_) => LiveFile::default(),
        };
        // Never hand out a number a file (even a damaged one) already has.
        let highest = versions.keys().max().copied().unwrap_or(0);
        live.next = live.next.max(highest.saturating_add(1)).max(1);
        let mut models = Models {
            dir: dir.to_path_buf(),
            versions,
            live,
            config_hash,
        };
        models.fall_back();
        models
    }

    /// When the live version cannot be used, go back to the last usable one before it.
    fn fall_back(&mut self) {
        let usable = |m: &Models, v: u32| matches!(m.versions.get(&v), Some(Ok(_)));
        let Some(v) = self.live.live else { return };
        if usable(self, v) {
            return;
        }
        let was = v;
        self.live.live = None;
        while let Some(p) = self.live.previous.pop() {
            if usable(self, p) {
                self.live.live = Some(p);
                break;
            }
        }
        match self.live.live {
            Some(p) => error!(
                "personal model v{was} is missing or unreadable; v{p}, live before it, is used"
            ),
            None => error!(
                "personal model v{was} is missing or unreadable; the config's parameters are used"
            ),
        }
        if let Err(e) = self.write_live() {
            error!("cannot record which personal model is live: {e}");
        }
    }

    fn write_live(&self) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(&self.live).map_err(|e| StoreError::Io {
            action: "cannot encode",
            path: self.dir.join("live.json"),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&self.dir.join("live.json"), &bytes)
    }

    /// The live model, if one is.
    pub fn live(&self) -> Option<&ModelFile> {
        let v = self.live.live?;
        self.versions.get(&v)?.as_ref().ok()
    }

    /// The live version number.
    pub fn live_version(&self) -> Option<u32> {
        self.live().map(|m| m.version)
    }

    /// The parameters in use: the live model's, else `config`'s.
    pub fn learned(&self, config: &Learned) -> Learned {
        self.live()
            .map_or_else(|| config.clone(), |m| m.learned.clone())
    }

    /// The version the next model gets; it is taken when the model is added.
    pub fn next_version(&self) -> u32 {
        self.live.next
    }

    /// The config hash models are compared with.
    pub fn config_hash(&self) -> &str {
        &self.config_hash
    }

    /// Write a new version (atomically), and make it live when `promote`.
    pub fn add(&mut self, m: ModelFile, promote: bool) -> Result<(), ModelError> {
        let v = m.version;
        let path = self.dir.join(file_name(v));
        // A version is written once: never over another file, never past the last number.
        if v == u32::MAX || self.versions.contains_key(&v) || path.exists() {
            return Err(ModelError::NoVersionLeft(v));
        }
        let bytes = serde_json::to_vec_pretty(&m).map_err(|e| StoreError::Io {
            action: "cannot encode",
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        // What cannot be read back (a figure that is not a number) is not written: it would
        // be moved aside at the next start, and the live model with it.
        if let Err(e) = serde_json::from_slice::<ModelFile>(&bytes) {
            return Err(ModelError::Unstorable(e.to_string()));
        }
        self.live.next = self.live.next.max(v.saturating_add(1));
        write_atomic(&path, &bytes)?;
        self.versions.insert(v, Ok(m));
        if promote {
            self.promote(v)?;
        } else {
            self.write_live()?;
        }
        Ok(())
    }

    /// Make `v` live; the one live before can be rolled back to. Returns the one live before.
    pub fn promote(&mut self, v: u32) -> Result<Option<u32>, ModelError> {
        match self.versions.get(&v) {
            None => return Err(ModelError::Unknown(v)),
            Some(Err(_)) => return Err(ModelError::Unreadable(v)),
            Some(Ok(_)) => {}
        }
        let was = self.live.live;
        if was == Some(v) {
            return Ok(was);
        }
        let before = self.live.clone();
        if let Some(w) = was {
            self.live.previous.push(w);
            let extra = self.live.previous.len().saturating_sub(KEEP_PREVIOUS);
            self.live.previous.drain(..extra);
        }
        self.live.live = Some(v);
        if let Err(e) = self.write_live() {
            self.live = before;
            return Err(e.into());
        }
        Ok(was)
    }

    /// Go back to the version live before this one (or the config's parameters). Returns
    /// (live now, live before).
    pub fn rollback(&mut self) -> Result<(Option<u32>, Option<u32>), ModelError> {
        let was = self.live.live.ok_or(ModelError::NothingToRollBack)?;
        let before = self.live.clone();
        self.live.live = None;
        while let Some(p) = self.live.previous.pop() {
            if matches!(self.versions.get(&p), Some(Ok(_))) {
                self.live.live = Some(p);
                break;
            }
        }
        if let Err(e) = self.write_live() {
            self.live = before;
            return Err(e.into());
        }
        Ok((self.live.live, Some(was)))
    }

    /// Every version, newest first, as shown.
    pub fn views(&self) -> Vec<ModelVersionView> {
        self.versions
            .iter()
            .rev()
            .filter_map(|(v, m)| {
                let m = m.as_ref().ok()?;
                let state = if self.live.live == Some(*v) {
                    ModelState::Live
                } else if self.live.previous.contains(v) {
                    ModelState::Retired
                } else if m.rejected.is_some() {
                    ModelState::Rejected
                } else {
                    ModelState::Candidate
                };
                Some(view(m, state, &self.config_hash))
            })
            .collect()
    }

    /// Versions whose file was unreadable, with why.
    pub fn unreadable(&self) -> Vec<String> {
        self.versions
            .iter()
            .filter_map(|(v, m)| m.as_ref().err().map(|why| format!("v{v}: the file {why}")))
            .collect()
    }
}

/// A version as `codex model status` shows it.
pub fn view(m: &ModelFile, state: ModelState, config_hash: &str) -> ModelVersionView {
    let l = &m.learned;
    let params = vec![
        (
            "explicit_weight".into(),
            format!("{:.3}", l.explicit_weight),
        ),
        (
            "implicit_weight".into(),
            format!("{:.3}", l.implicit_weight),
        ),
        (
            "correction_weight".into(),
            format!("{:.3}", l.correction_weight),
        ),
        (
            "decay_half_life_days".into(),
            format!("{:.1}", l.decay_half_life_days),
        ),
        (
            "evidence_discount".into(),
            format!("{:.3}", l.evidence_discount),
        ),
        (
            "exploration".into(),
            match l.exploration {
                crate::config::Exploration::Greedy => "greedy".into(),
                crate::config::Exploration::Thompson => "thompson".into(),
            },
        ),
        (
            "patterns".into(),
            format!(
                "rate {:.3}, rank_rate {:.3}, decay0 {:.4}, feature_decay {:.3}, escape {:.2}",
                l.patterns.rate,
                l.patterns.rank_rate,
                l.patterns.decay0,
                l.patterns.feature_decay,
                l.patterns.escape
            ),
        ),
    ];
    let r = &m.range;
    let mut data = format!(
        "{} labelled runs from {} to {}; the last {} (from {}) held out",
        r.examples,
        r.from.format("%Y-%m-%d %H:%M"),
        r.to.format("%Y-%m-%d %H:%M"),
        r.held_out,
        r.held_out_from.format("%Y-%m-%d %H:%M")
    );
    if m.config_hash != config_hash {
        data.push_str("; trained under another config");
    }
    ModelVersionView {
        version: m.version,
        state,
        created: m.created,
        trigger: m.trigger.clone(),
        params,
        metrics: metrics_view(&m.metrics),
        live_metrics: Some(metrics_view(&m.live_metrics)),
        data,
        reason: m.rejected.clone(),
    }
}

/// Metrics as the protocol shows them.
pub fn metrics_view(m: &Metrics) -> ModelMetrics {
    ModelMetrics {
        plan_examples: m.plan.examples as u64,
        log_likelihood: m.plan.log_likelihood,
        brier: m.plan.brier,
        top1: m.plan.top1,
        next_goal: m.next_goal.as_ref().map(|g| (g.top1, g.top5)),
        ope: m.ope.as_ref().map(ope_view),
    }
}

fn ope_view(o: &train::Ope) -> OpeView {
    OpeView {
        decisions: o.decisions as u64,
        matching: o.matching as u64,
        ips: Some(o.ips),
        snips: o.snips,
        logged: Some(o.logged_value),
    }
}

/// A short stable hash of what a model's parameters replace or depend on in the config.
pub fn config_hash(c: &crate::config::Config) -> String {
    let text = serde_json::to_string(&(&c.learning, &c.planner.exploration)).unwrap_or_default();
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU32};

    fn trained_file(version: u32) -> ModelFile {
        let data = train::simulate::user(&train::simulate::Habits::steady(), 5, 300);
        let live = Learned::from_config(&crate::config::Config::default());
        let t = train::train(&data, &live, &AtomicU32::new(0), &AtomicBool::new(false))
            .unwrap_or_else(|e| panic!("{e}"));
        ModelFile {
            format: FORMAT,
            version,
            created: Utc::now(),
            trigger: "test".into(),
            config_hash: "h".into(),
            learned: t.learned,
            metrics: t.candidate,
            live_metrics: t.live,
            train_metrics: t.train,
            range: t.range,
            rejected: None,
        }
    }

    #[test]
    fn versions_are_written_once_and_unstorable_figures_are_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut m = Models::open(dir.path(), "h".into());
        let v = m.next_version();
        let file = trained_file(v);
        m.add(file.clone(), true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.live_version(), Some(v));
        // The same number again, or the last one: refused, the file untouched.
        let before = std::fs::read(dir.path().join(file_name(v))).unwrap_or_default();
        assert!(matches!(
            m.add(file.clone(), false),
            Err(ModelError::NoVersionLeft(_))
        ));
        assert!(matches!(
            m.add(
                ModelFile {
                    version: u32::MAX,
                    ..file.clone()
                },
                false
            ),
            Err(ModelError::NoVersionLeft(_))
        ));
        assert_eq!(
            std::fs::read(dir.path().join(file_name(v))).unwrap_or_default(),
            before
        );
        // A figure that is not a number would not read back: not written, live unchanged.
        let mut bad = file.clone();
        bad.version = m.next_version();
        bad.metrics.plan.brier = f64::NAN;
        assert!(matches!(m.add(bad, true), Err(ModelError::Unstorable(_))));
        assert_eq!(m.live_version(), Some(v));
        // What was written reads back after a restart, still live.
        let again = Models::open(dir.path(), "h".into());
        assert_eq!(again.live_version(), Some(v));
        assert!(again.next_version() > v);
    }
}
