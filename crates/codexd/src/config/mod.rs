//! The daemon's configuration: `config/personalized_learning.yaml`.
//!
//! The built-in default is that same file, compiled in; a user's file may hold only the keys it
//! changes. Unknown keys and bad values are errors naming the key and its line. Values are
//! checked while they are read (newtypes with `try_from`), so a loaded [`Config`] is valid.

use std::num::{NonZeroU32, NonZeroU64};

pub mod bounds;
pub mod endpoints;
pub use endpoints::{EmbeddingsConfig, LlmConfig, LlmMode};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The default configuration, verbatim.
pub const BUILTIN_YAML: &str = include_str!("../../../../config/personalized_learning.yaml");

/// Name shown in errors about the built-in copy.
const BUILTIN_NAME: &str = "built-in config";

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// The file is not YAML.
    #[error("{origin}{}: not valid YAML: {message}", line_suffix(*.line))]
    Syntax {
        /// The file, or "built-in config".
        origin: String,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// The parser's words.
        message: String,
    },
    /// A key is unknown or its value is not acceptable.
    #[error("{origin}{}: `{key}`: {message}", line_suffix(*.line))]
    Invalid {
        /// The file, or "built-in config".
        origin: String,
        /// Dotted path of the key, e.g. `learning.batch_size`.
        key: String,
        /// 1-based line of the key, when found.
        line: Option<usize>,
        /// What is wrong and what is accepted.
        message: String,
    },
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

/// Everything codexd can be configured with. Field docs repeat the YAML comments in brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Record runs as episodes and examples; false records nothing.
    pub interaction_tracking_enabled: bool,
    /// Learn per-project workflow patterns; false turns off only that.
    pub workflow_pattern_tracking: bool,
    /// Update the profile from signals; false freezes it.
    pub user_preference_learning: bool,
    /// Let the optimizer adapt: intervals, pauses on alerts, personal models.
    pub adaptation_mechanisms_enabled: bool,
    /// Project detection and similar-episode retrieval for planning.
    pub context_awareness_enabled: bool,
    /// Rank plans by the learned profile; false ranks by project fit alone.
    pub personalized_planning_enabled: bool,
    /// Extra safety for autonomous runs.
    pub safety_enhanced_execution: bool,
    /// Where files live.
    pub storage: StorageConfig,
    /// Batching and learning parameters.
    pub learning: LearningConfig,
    /// Scheduler intervals.
    pub scheduler: SchedulerConfig,
    /// Process-handling safety settings.
    pub safety: SafetyConfig,
    /// Socket server limits.
    pub server: ServerConfig,
    /// How plans are made and ranked.
    pub planner: PlannerConfig,
    /// Shell capture: the commands you type, through `codex init`'s hook.
    pub capture: CaptureConfig,
    /// Telemetry alerts and when the optimizer looks at storage.
    pub optimizer: OptimizerConfig,
}

/// `optimizer:` telemetry alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerConfig {
    /// An alert is raised when the files under CODEX_HOME/storage grow past this many bytes.
    pub storage_alert_bytes: u64,
    /// How often storage is measured, in seconds.
    pub storage_check_secs: NonZeroU64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig {
            storage_alert_bytes: 1 << 30,
            storage_check_secs: nz64(600),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            interaction_tracking_enabled: true,
            workflow_pattern_tracking: true,
            user_preference_learning: true,
            adaptation_mechanisms_enabled: true,
            context_awareness_enabled: true,
            personalized_planning_enabled: true,
            safety_enhanced_execution: true,
            storage: StorageConfig::default(),
            learning: LearningConfig::default(),
            scheduler: SchedulerConfig::default(),
            safety: SafetyConfig::default(),
            server: ServerConfig::default(),
            planner: PlannerConfig::default(),
            capture: CaptureConfig::default(),
            optimizer: OptimizerConfig::default(),
        }
    }
}

/// `capture:` what the shell hook (`codex init bash|zsh|fish`) records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// Record the commands typed in a shell with the hook; false records none.
    pub enabled: bool,
    /// Folders whose commands are never recorded (globs; `~` expands; a folder's subfolders too).
    pub exclude_dirs: Vec<String>,
    /// Command lines never recorded (globs over the whole line).
    pub exclude_patterns: Vec<String>,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            enabled: true,
            exclude_dirs: Vec::new(),
            exclude_patterns: Vec::new(),
        }
    }
}

/// `storage:` paths (relative to CODEX_HOME unless absolute) and compaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Ratings and profile snapshot.
    pub feedback: StoragePath,
    /// Learning dataset (JSONL).
    pub dataset: StoragePath,
    /// Episodic memory snapshot.
    pub episodic_memory: StoragePath,
    /// Semantic knowledge snapshot.
    pub semantic_memory: StoragePath,
    /// Models folder.
    pub models: StoragePath,
    /// Allow/ask/deny rules added with `codex rules` (snapshot).
    pub safety_rules: StoragePath,
    /// Playbooks taught with `codex teach` (snapshot).
    pub playbooks: StoragePath,
    /// Scheduled jobs, their claimed occurrences and dismissed proposals (snapshot).
    pub jobs: StoragePath,
    /// The optimizer's alerts, notices and job streaks (snapshot).
    pub optimizer: StoragePath,
    /// The planner's and suggestions' decisions, for off-policy evaluation (JSONL).
    pub decisions: StoragePath,
    /// Minimum journal size before it is folded into its snapshot.
    pub compact_min_bytes: NonZeroU64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        let p = |s: &str| StoragePath(PathBuf::from(s));
        StorageConfig {
            feedback: p("storage/analytics/personalized_feedback.json"),
            dataset: p("storage/learning/personalized_dataset.jsonl"),
            episodic_memory: p("storage/episodic/personalized_memory.json"),
            semantic_memory: p("storage/semantic/personalized_knowledge.json"),
            models: p("storage/learning/personalized_models"),
            safety_rules: p("storage/safety/user_rules.json"),
            playbooks: p("storage/planner/playbooks.json"),
            jobs: p("storage/scheduler/jobs.json"),
            optimizer: p("storage/optimizer/optimizer.json"),
            decisions: p("storage/learning/decisions.jsonl"),
            compact_min_bytes: nz64(1024 * 1024),
        }
    }
}

/// `learning:` batching and thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LearningConfig {
    /// Examples per dataset flush.
    pub batch_size: NonZeroU32,
    /// Longest wait before a partial batch is flushed.
    pub flush_interval_secs: NonZeroU64,
    /// EWMA weight of the newest rating.
    pub satisfaction_smoothing: Fraction,
    /// Satisfaction under this is low: the optimizer trains a personal model.
    pub low_satisfaction_threshold: RatingScale,
    /// New labelled examples after which the optimizer trains a personal model.
    pub min_examples_for_training: u32,
    /// Episodes kept in episodic memory; older ones are consolidated into knowledge.
    pub episodic_memory_cap: NonZeroU32,
    /// Bytes of a step's output kept in its episode (the tail).
    pub output_tail_bytes: u32,
    /// Evidence weight of an explicit rating.
    pub explicit_weight: Weight,
    /// Evidence weight of an implicit signal (exit status, cancel, denied approval).
    pub implicit_weight: Weight,
    /// Evidence weight of a correction (same goal re-run with another plan).
    pub correction_weight: Weight,
    /// A re-run of the same goal within this many seconds is a correction or a retry.
    pub correction_window_secs: NonZeroU64,
    /// Evidence loses half its weight after this many days.
    pub decay_half_life_days: Weight,
    /// Each newer interaction in the same task category multiplies older evidence by this.
    pub evidence_discount: Fraction,
}

impl Default for LearningConfig {
    fn default() -> Self {
        LearningConfig {
            batch_size: nz32(32),
            flush_interval_secs: nz64(5),
            satisfaction_smoothing: Fraction(0.3),
            low_satisfaction_threshold: RatingScale(2.5),
            min_examples_for_training: 200,
            episodic_memory_cap: nz32(10_000),
            output_tail_bytes: 2048,
            explicit_weight: Weight(3.0),
            implicit_weight: Weight(1.0),
            correction_weight: Weight(1.0),
            correction_window_secs: nz64(600),
            decay_half_life_days: Weight(30.0),
            evidence_discount: Fraction(0.9),
        }
    }
}

/// `scheduler:` intervals, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// How often occurrences that passed without firing (the machine asleep) are looked for.
    pub tick_secs: NonZeroU64,
    /// How often recurring goals are looked for again.
    pub pattern_scan_secs: NonZeroU64,
    /// Occurrences running at once; more due at the same time wait, by priority.
    pub max_concurrent: NonZeroU32,
    /// How old a missed occurrence may be and still be caught up at start.
    pub catch_up_grace_secs: NonZeroU64,
    /// Shortest interval a job may be shrunk to.
    pub min_interval_secs: NonZeroU64,
    /// Longest interval a job may be stretched to.
    pub max_interval_secs: NonZeroU64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            tick_secs: nz64(60),
            pattern_scan_secs: nz64(3600),
            max_concurrent: nz32(2),
            catch_up_grace_secs: nz64(12 * 3600),
            min_interval_secs: nz64(300),
            max_interval_secs: nz64(86400),
        }
    }
}

/// `safety:` process handling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SafetyConfig {
    /// SIGTERM-to-SIGKILL grace when a run is cancelled.
    pub cancel_grace_ms: u64,
    /// How long output is still read after the command exits.
    pub output_drain_ms: u64,
    /// Your own classification rules, checked before the built-in ones.
    pub rules: Vec<crate::executor::classify::RuleSpec>,
    /// `auto` confines every step that runs without a yes typed for it on the terminal;
    /// `off` confines nothing, so only read-only steps run unasked.
    pub sandbox: Sandbox,
    /// More folders confined steps may write (`~` and `$VAR` expand with the step's
    /// environment).
    pub writable_roots: Vec<String>,
    /// Per project kind (`rust`, `node`, `python`, `go`, ...), the toolchain caches its
    /// confined steps may write.
    pub caches: std::collections::BTreeMap<String, Vec<String>>,
    /// Unix sockets confined steps may connect to (honoured only where Landlock can check
    /// the path: Linux 7.1 and newer; elsewhere none is reachable).
    pub allow_unix_sockets: Vec<String>,
    /// Held approvals of unattended runs expire (count as denied) after this many seconds.
    pub approval_expiry_secs: NonZeroU64,
    /// An unattended run whose plan scores under this in the profile is not run.
    pub min_alignment_unattended: Fraction,
    /// Longest a step may run, in seconds, unless `timeouts` names its tool or program.
    pub step_timeout_secs: NonZeroU64,
    /// Per tool (`cargo test`) or program (`cargo`) timeouts, in seconds.
    pub timeouts: std::collections::BTreeMap<String, NonZeroU64>,
    /// Runs in progress at once (attached, detached, held for approval); more are refused.
    pub max_concurrent_runs: NonZeroU32,
    /// Command-line globs that run without asking (never lifts privileged).
    pub allow: Vec<String>,
    /// Command-line globs that are always asked.
    pub ask: Vec<String>,
    /// Command-line globs that never run.
    pub deny: Vec<String>,
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            cancel_grace_ms: 2000,
            output_drain_ms: 1000,
            rules: Vec::new(),
            sandbox: Sandbox::Auto,
            writable_roots: Vec::new(),
            caches: default_caches(),
            allow_unix_sockets: Vec::new(),
            approval_expiry_secs: nz64(3600),
            min_alignment_unattended: Fraction(0.3),
            step_timeout_secs: nz64(3600),
            timeouts: std::collections::BTreeMap::new(),
            max_concurrent_runs: nz32(32),
            allow: Vec::new(),
            ask: Vec::new(),
            deny: Vec::new(),
        }
    }
}

/// `planner:` ranking and the user's tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlannerConfig {
    /// `greedy` ranks by the posterior mean; `thompson` samples from the posterior.
    pub exploration: Exploration,
    /// A user who dry-runs at least this share of runs gets a tool's dry run first.
    pub dry_run_habit: Fraction,
    /// The user's tools, checked before the built-in ones.
    pub tools: Vec<crate::planner::registry::ToolSpec>,
    /// Where goal embeddings come from.
    pub embeddings: EmbeddingsConfig,
    /// A language model asked for plans (off unless set).
    pub llm: LlmConfig,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            exploration: Exploration::Greedy,
            dry_run_habit: Fraction(0.3),
            tools: Vec::new(),
            embeddings: EmbeddingsConfig::default(),
            llm: LlmConfig::default(),
        }
    }
}

/// How the planner trades what is known to work against trying what might work better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exploration {
    /// Always the best-scoring plan first.
    Greedy,
    /// Plans ranked by a draw from each one's posterior (not when autonomy comfort is low).
    Thompson,
}

/// Whether steps that run without a yes on the terminal are confined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sandbox {
    /// Confined as far as this kernel allows; where it cannot keep writes in the project and
    /// the network closed, only read-only steps run unasked.
    #[serde(alias = "landlock")]
    Auto,
    /// Nothing is confined, so only read-only steps run unasked.
    #[serde(alias = "none")]
    Off,
}

/// The toolchain caches writable by confined steps, per project kind: only caches whose
/// contents are checked when read, or that hold no code another build runs (so a step cannot
/// plant code there): cargo's downloaded `.crate` files (checksummed), index and git
/// databases and lock files, npm's content-addressed cache. Not cargo's extracted sources,
/// pip's or uv's wheels, go's build cache (go steps get a private one), pnpm's store (hard
/// links into every project), never a folder on `PATH` or a config file.
fn default_caches() -> std::collections::BTreeMap<String, Vec<String>> {
    let cargo = "${CARGO_HOME:-~/.cargo}";
    [
        (
            "rust",
            vec![
                format!("{cargo}/registry/index"),
                format!("{cargo}/registry/cache"),
                format!("{cargo}/git/db"),
                format!("{cargo}/.package-cache"),
                format!("{cargo}/.package-cache-mutate"),
                format!("{cargo}/.global-cache"),
            ],
        ),
        (
            "node",
            vec!["~/.npm/_cacache".to_string(), "~/.npm/_logs".to_string()],
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `server:` limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Longest request line in bytes.
    pub max_message_bytes: MessageCap,
    /// Connections served at once.
    pub max_connections: NonZeroU32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_message_bytes: MessageCap(1024 * 1024),
            max_connections: nz32(256),
        }
    }
}

/// A non-empty path below CODEX_HOME (or absolute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PathBuf")]
pub struct StoragePath(PathBuf);

impl TryFrom<PathBuf> for StoragePath {
    type Error = String;
    fn try_from(p: PathBuf) -> Result<Self, String> {
        if p.as_os_str().is_empty() {
            Err("must not be empty".into())
        } else {
            Ok(StoragePath(p))
        }
    }
}

impl StoragePath {
    /// The path, resolved against CODEX_HOME.
    pub fn under(&self, home: &Path) -> PathBuf {
        home.join(&self.0)
    }
}

/// A number in (0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64")]
pub struct Fraction(f64);

impl TryFrom<f64> for Fraction {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if v > 0.0 && v <= 1.0 {
            Ok(Fraction(v))
        } else {
            Err(format!("must be greater than 0 and at most 1, got {v}"))
        }
    }
}

impl Fraction {
    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// A positive, finite number (a weight or a duration in days).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64")]
pub struct Weight(f64);

impl TryFrom<f64> for Weight {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if v.is_finite() && v > 0.0 {
            Ok(Weight(v))
        } else {
            Err(format!("must be a number greater than 0, got {v}"))
        }
    }
}

impl Weight {
    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// A value on the 1..5 rating scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64")]
pub struct RatingScale(f64);

impl TryFrom<f64> for RatingScale {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if (1.0..=5.0).contains(&v) {
            Ok(RatingScale(v))
        } else {
            Err(format!("must be on the rating scale 1 to 5, got {v}"))
        }
    }
}

impl RatingScale {
    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// A message size cap: at least 1 KiB, so every valid request fits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "u64")]
pub struct MessageCap(u64);

impl TryFrom<u64> for MessageCap {
    type Error = String;
    fn try_from(v: u64) -> Result<Self, String> {
        if v >= 1024 {
            Ok(MessageCap(v))
        } else {
            Err(format!("must be at least 1024 bytes, got {v}"))
        }
    }
}

impl MessageCap {
    /// Bytes.
    pub fn bytes(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

pub(crate) fn nz32(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN)
}

pub(crate) fn nz64(v: u64) -> NonZeroU64 {
    NonZeroU64::new(v).unwrap_or(NonZeroU64::MIN)
}

/// A configuration together with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The values.
    pub config: Config,
    /// The file read, or `None` for the built-in default.
    pub path: Option<PathBuf>,
}

/// Load the file at `path`, or the built-in default when `None`.
pub fn load(path: Option<&Path>) -> Result<Loaded, ConfigError> {
    let config = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.to_path_buf(),
                source,
            })?;
            parse(&text, &p.display().to_string())?
        }
        None => parse(BUILTIN_YAML, BUILTIN_NAME)?,
    };
    Ok(Loaded {
        config,
        path: path.map(Path::to_path_buf),
    })
}

/// The 1-based line where a second YAML document begins: a `---` or `...` marker after
/// content, or the first content line indented less than the first one (or a second
/// top-level line after a top-level scalar).
fn second_document_line(text: &str) -> Option<usize> {
    let content = |l: &str| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#')
    };
    let mut first_indent: Option<usize> = None;
    let mut first_is_key = false;
    for (i, line) in text.lines().enumerate() {
        let marker = line.starts_with("---") || line.starts_with("...");
        if marker && first_indent.is_some() {
            return Some(i + 1);
        }
        if !content(line) || marker {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        match first_indent {
            None => {
                first_indent = Some(indent);
                first_is_key = line.contains(':');
            }
            Some(k) if indent < k || (!first_is_key && indent == 0) => return Some(i + 1),
            Some(_) => {}
        }
    }
    None
}

/// Parse YAML text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
    // Two steps: YAML syntax errors carry a position; value errors from a `Value` carry a clean
    // message, and the key path comes from serde_path_to_error, its line from the text.
    let value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
        let message = strip_location(&e.to_string());
        // The parser gives no position for a second document; find where it starts.
        match e.location() {
            Some(l) => ConfigError::Syntax {
                origin: origin.into(),
                line: Some(l.line()),
                message,
            },
            None if message.contains("more than one document") => ConfigError::Syntax {
                origin: origin.into(),
                line: second_document_line(text),
                message: "a second YAML document starts here (`---`, `...`, or a line \
                              indented less than the first key): a config file is one \
                              mapping of keys"
                    .into(),
            },
            None => ConfigError::Syntax {
                origin: origin.into(),
                line: None,
                message,
            },
        }
    })?;
    let value = match value {
        // An empty file (or one of only comments) means "all defaults".
        serde_norway::Value::Null => serde_norway::Value::Mapping(Default::default()),
        v => v,
    };
    let config: Config = serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        let line = line_of_key(text, &key);
        let key = if key == "." {
            "(top level)".to_string()
        } else {
            key
        };
        ConfigError::Invalid {
            origin: origin.into(),
            key,
            line,
            message: e.into_inner().to_string(),
        }
    })?;
    validate(&config, text, origin)?;
    Ok(config)
}

/// Checks that span several keys.
fn validate(c: &Config, text: &str, origin: &str) -> Result<(), ConfigError> {
    if let Some((key, message)) = bounds::first_out_of_bounds(c) {
        return Err(ConfigError::Invalid {
            origin: origin.into(),
            line: line_of_key(text, &key),
            key,
            message,
        });
    }
    if c.scheduler.min_interval_secs > c.scheduler.max_interval_secs {
        let key = "scheduler.min_interval_secs";
        return Err(ConfigError::Invalid {
            origin: origin.into(),
            key: key.into(),
            line: line_of_key(text, key),
            message: format!(
                "must not exceed scheduler.max_interval_secs ({} > {})",
                c.scheduler.min_interval_secs, c.scheduler.max_interval_secs
            ),
        });
    }
    for (key, patterns) in [
        ("safety.allow", &c.safety.allow),
        ("safety.ask", &c.safety.ask),
        ("safety.deny", &c.safety.deny),
    ] {
        for p in patterns {
            if let Err(why) = crate::executor::rules::compile(p) {
                return Err(ConfigError::Invalid {
                    origin: origin.into(),
                    key: key.into(),
                    line: line_of_key(text, key),
                    message: format!("`{p}`: {why}"),
                });
            }
        }
    }
    if let Err((key, message)) = crate::capture::Filters::new(&c.capture) {
        return Err(ConfigError::Invalid {
            origin: origin.into(),
            key: key.into(),
            line: line_of_key(text, key),
            message,
        });
    }
    if let Err((key, message)) = endpoints::check(&c.planner.embeddings, &c.planner.llm) {
        return Err(ConfigError::Invalid {
            origin: origin.into(),
            line: line_of_key(text, &key),
            key,
            message,
        });
    }
    if let Err(e) = crate::planner::registry::Registry::new(&c.planner.tools) {
        let key = "planner.tools";
        return Err(ConfigError::Invalid {
            origin: origin.into(),
            key: key.into(),
            line: line_of_key(text, key),
            message: e.to_string(),
        });
    }
    if let Err(e) = crate::executor::classify::Classifier::new(&c.safety.rules) {
        let key = "safety.rules";
        return Err(ConfigError::Invalid {
            origin: origin.into(),
            key: key.into(),
            line: line_of_key(text, key),
            message: e.to_string(),
        });
    }
    Ok(())
}

/// Whether `host[:port]` names this machine.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// The 1-based line where a dotted key path (`learning.batch_size`) is written, following
/// indentation. Falls back to the deepest enclosing key found; `None` if not even the first.
fn line_of_key(text: &str, path: &str) -> Option<usize> {
    let mut found: Option<usize> = None;
    let mut parent_indent: Option<usize> = None;
    let mut start = 0;
    let lines: Vec<&str> = text.lines().collect();
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let segment = segment.split('[').next().unwrap_or(segment);
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(start) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if let Some(p) = parent_indent
                && indent <= p
            {
                break; // left the parent mapping
            }
            let key = trimmed
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\'']);
            if key == segment && trimmed.contains(':') {
                hit = Some((i, indent));
                break;
            }
        }
        match hit {
            Some((i, indent)) => {
                found = Some(i + 1);
                parent_indent = Some(indent);
                start = i + 1;
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests;
