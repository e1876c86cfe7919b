//! The optional language-model planner (`planner.llm`): goals nothing local maps get a plan
//! from any OpenAI-compatible endpoint, and codex learns it so it need not ask again.
//!
//! - [`prompt`]: what is sent (redacted; `codex plan --show-prompt` prints it).
//! - [`client`]: the HTTP ask, its timeout and bounded retries.
//! - [`answer`]: the answer parsed and validated into plan steps, or refused.
//! - [`job`]: one ask for one plan, on a thread of its own, answered from a task.
//! - [`stats`]: asks, failures, latency and tokens, for `codex status`.
//!
//! The model never widens what may run: its plan is a candidate like any other, labelled
//! `from_model` and offered as borrowed (a step that would change anything is asked the first
//! time), and every step goes through the executor's classification, confinement and the
//! user's rules when it runs. A plan the user runs and keeps is learned like any plan, so
//! the local planner offers it from then on, offline.

pub mod answer;
pub mod client;
pub mod job;
pub mod prompt;
pub mod stats;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codex_proto::methods::{PlanResult, PlanStep, PlannedCommand};
use codex_proto::model_planner::{ModelAsk, ModelStats};
use codex_proto::prefs::Profile;
use serde_json::Value;

use crate::config::{LlmConfig, LlmMode};
use crate::planner::registry::Registry;

/// An API key: never printed, never logged, never written.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wrap a key.
    pub fn new(key: String) -> Secret {
        Secret(key)
    }

    /// The key itself, for the request header only.
    fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `words` hold the key: whole, split over words, with other characters (or
    /// case) between its letters and digits, or hex-, percent- or base64-encoded.
    pub fn within_any(&self, words: &[String]) -> bool {
        let bare = |s: &str| -> String {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect()
        };
        let key = bare(&self.0);
        if key.len() < 4 {
            return false;
        }
        let all: String = words.iter().map(|w| bare(w)).collect();
        let hex: String = self.0.bytes().map(|b| format!("{b:02x}")).collect();
        let b64 = base64_of(self.0.as_bytes());
        let joined: String = words.concat();
        all.contains(&key)
            || all.contains(&hex)
            || joined.contains(b64.trim_end_matches('='))
            || joined.contains(
                &b64.replace('+', "-")
                    .replace('/', "_")
                    .trim_end_matches('=')
                    .to_string(),
            )
    }

    /// `text` with the key cut out (an endpoint may echo what it was sent).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_string();
        }
        text.replace(&self.0, "[api key]")
    }
}

/// Standard base64 of `bytes`, padded.
fn base64_of(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([api key])")
    }
}

/// Where the model's plan would run, owned (the ask runs on a thread of its own).
pub struct Place {
    /// The folder.
    pub cwd: PathBuf,
    /// The project root, if any.
    pub root: Option<PathBuf>,
    /// The user's PATH.
    pub path: String,
    /// The goal.
    pub goal: String,
}

/// The configured model and its record.
#[derive(Debug, Clone)]
pub struct ModelPlanner {
    mode: LlmMode,
    model: String,
    base_url: String,
    api_key_env: Option<String>,
    max_steps: u32,
    client: client::Client,
    key: Option<Secret>,
    /// The key's variable is named but not set in codexd's environment.
    key_missing: bool,
    stats: Arc<Mutex<stats::Stats>>,
    /// Asks waiting on the model now.
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// Its latest valid plans, reused for the same goal in the same folder.
    recent: Arc<Mutex<Recent>>,
}

/// Asks waiting on the model at once, at most: past it a plan is answered locally and says
/// so, rather than piling up threads on a model that does not answer.
pub const MAX_IN_FLIGHT: usize = 4;

/// One ask's place among those in flight, given back when dropped.
pub struct Slot(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl ModelPlanner {
    /// The model planner `config` describes, its figures kept at `stats`; `None` when off.
    pub fn new(config: &LlmConfig, stats: &std::path::Path) -> Option<ModelPlanner> {
        if !config.enabled() {
            return None;
        }
        let key = config
            .api_key_env
            .as_ref()
            .and_then(|v| std::env::var(v).ok())
            .filter(|k| !k.is_empty())
            .map(Secret::new);
        ModelPlanner::with_key(config, key, stats)
    }

    /// [`ModelPlanner::new`] with the key given.
    fn with_key(
        config: &LlmConfig,
        key: Option<Secret>,
        stats: &std::path::Path,
    ) -> Option<ModelPlanner> {
        let base_url = config.base_url.clone()?;
        let key_missing = config.api_key_env.is_some() && key.is_none();
        if key_missing {
            tracing::warn!(
                "planner.llm.api_key_env names {}, which is not set in codexd's environment: \
                 the model is asked without a key",
                config.api_key_env.as_deref().unwrap_or("")
            );
        }
        Some(ModelPlanner {
            mode: config.mode,
            model: config.model.clone(),
            client: client::Client::new(
                &base_url,
                key.clone(),
                Duration::from_secs(config.timeout_secs.get()),
                config.retries,
                config.structured_output,
            ),
            base_url,
            api_key_env: config.api_key_env.clone(),
            max_steps: config.max_steps.get(),
            key,
            key_missing,
            stats: Arc::new(Mutex::new(stats::Stats::open(stats))),
            in_flight: Arc::default(),
            recent: Arc::default(),
        })
    }

    /// A place for one more ask, unless [`MAX_IN_FLIGHT`] are waiting already.
    pub fn slot(&self) -> Option<Slot> {
        use std::sync::atomic::Ordering;
        let taken = self
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_IN_FLIGHT).then_some(n + 1)
            })
            .is_ok();
        taken.then(|| Slot(self.in_flight.clone()))
    }

    /// Its plan for `goal` in `cwd` from lately, if any.
    pub fn reused(&self, goal: &str, cwd: &std::path::Path) -> Option<(Vec<PlanStep>, ModelAsk)> {
        self.recent.lock().ok()?.get(goal, cwd)
    }

    /// Keep its plan for `goal` in `cwd` for reuse.
    pub fn keep(&self, goal: &str, cwd: &std::path::Path, steps: &[PlanStep], ask: &ModelAsk) {
        if let Ok(mut r) = self.recent.lock() {
            r.keep(goal, cwd, steps, ask);
        }
    }

    /// Forget the plans kept for reuse.
    pub fn forget_recent(&self) {
        if let Ok(mut r) = self.recent.lock() {
            r.clear();
        }
    }

    /// `fallback` or `always`.
    pub fn mode(&self) -> LlmMode {
        self.mode
    }

    /// The model and where, in words.
    pub fn endpoint(&self) -> String {
        format!("{} at {}", self.model, self.base_url)
    }

    /// The longest an ask can take.
    pub fn longest(&self) -> Duration {
        self.client.longest()
    }

    /// The request body for these facts.
    pub fn body(&self, facts: &prompt::Facts<'_>) -> Value {
        prompt::body(
            facts,
            &self.model,
            self.client.structured(),
            self.key.as_ref(),
        )
    }

    /// What `plan/prompt` reports besides the body.
    pub fn describe(&self) -> (String, Option<String>) {
        (self.client.url().to_string(), self.api_key_env.clone())
    }

    /// Ask for a plan (blocking): its validated steps, and how the ask went. Counted.
    pub fn ask(
        &self,
        body: &Value,
        place: &Place,
        registry: &Registry,
    ) -> (Option<Vec<PlanStep>>, ModelAsk) {
        let asked = self.client.ask(body);
        let mut ask = ModelAsk {
            endpoint: self.endpoint(),
            ok: false,
            note: String::new(),
            latency_ms: u64::try_from(asked.elapsed.as_millis()).unwrap_or(u64::MAX),
            tries: asked.tries,
            prompt_tokens: None,
            completion_tokens: None,
        };
        let steps = match asked.result {
            Err(e) => {
                let hint = match (&e, self.key_missing) {
                    (
                        client::AskError::Status {
                            status: 401 | 403, ..
                        },
                        true,
                    ) => format!(
                        " ({} is not set in codexd's environment)",
                        self.api_key_env.as_deref().unwrap_or("")
                    ),
                    _ => String::new(),
                };
                Err(format!("{e}{hint}"))
            }
            Ok(c) => {
                ask.prompt_tokens = c.prompt_tokens;
                ask.completion_tokens = c.completion_tokens;
                answer::parse(&c.content, c.finish_reason.as_deref()).and_then(|proposed| {
                    let here = answer::Here {
                        cwd: &place.cwd,
                        root: place.root.as_deref(),
                        path: &place.path,
                        registry,
                        goal: &place.goal,
                        key: self.key.as_ref(),
                    };
                    answer::validate(proposed, self.max_steps, &here)
                })
            }
        };
        let tries = if asked.tries > 1 {
            format!(" ({} tries)", asked.tries)
        } else {
            String::new()
        };
        let secs = asked.elapsed.as_secs_f64();
        let out = match steps {
            Ok(steps) => {
                ask.ok = true;
                ask.note = format!("the model proposed a plan in {secs:.1} s{tries}");
                Some(steps)
            }
            Err(why) => {
                ask.note = client::clean_line(
                    &format!("the model gave no usable plan: {why}{tries}"),
                    self.key.as_ref(),
                    300,
                );
                None
            }
        };
        tracing::info!(
            ok = ask.ok,
            latency_ms = ask.latency_ms,
            tries = ask.tries,
            prompt_tokens = ask.prompt_tokens,
            completion_tokens = ask.completion_tokens,
            "{}",
            ask.note
        );
        // A panic elsewhere while it was held leaves the figures as they were: still usable.
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .add(&ask);
        (out, ask)
    }

    /// Its record, for `codex status`.
    pub fn stats(&self) -> ModelStats {
        let mode = match self.mode {
            LlmMode::Off => "off",
            LlmMode::Fallback => "fallback",
            LlmMode::Always => "always",
        };
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .record
            .view(&self.endpoint(), mode)
    }
}

/// How long the model's plan for a goal in a folder is reused rather than asked again: long
/// enough that `codex plan` then `codex run` run the plan that was shown (a model may answer
/// otherwise the second time), short enough that a changed project is seen.
pub const REUSE_FOR: Duration = Duration::from_secs(15 * 60);
/// Plans kept for reuse, at most.
const REUSE_MAX: usize = 64;

/// The model's latest valid plans, by goal and folder.
#[derive(Debug, Default)]
pub struct Recent {
    plans: Vec<(String, PathBuf, std::time::Instant, Vec<PlanStep>, ModelAsk)>,
}

impl Recent {
    /// Keep the plan the model gave for `goal` in `cwd`.
    pub fn keep(&mut self, goal: &str, cwd: &std::path::Path, steps: &[PlanStep], ask: &ModelAsk) {
        self.plans.retain(|p| !(p.0 == goal && p.1 == cwd));
        if self.plans.len() >= REUSE_MAX {
            self.plans.remove(0);
        }
        self.plans.push((
            goal.to_string(),
            cwd.to_path_buf(),
            std::time::Instant::now(),
            steps.to_vec(),
            ask.clone(),
        ));
    }

    /// The plan given lately for `goal` in `cwd`, with how it was asked (said as reused).
    pub fn get(&self, goal: &str, cwd: &std::path::Path) -> Option<(Vec<PlanStep>, ModelAsk)> {
        let p = self
            .plans
            .iter()
            .rev()
            .find(|p| p.0 == goal && p.1 == cwd && p.2.elapsed() < REUSE_FOR)?;
        let mut ask = p.4.clone();
        ask.note = format!(
            "the model's plan from {} s ago, reused (not asked again)",
            p.2.elapsed().as_secs()
        );
        ask.latency_ms = 0;
        ask.tries = 0;
        ask.prompt_tokens = None;
        ask.completion_tokens = None;
        Some((p.3.clone(), ask))
    }

    /// Forget every plan (the user forgot what was learned).
    pub fn clear(&mut self) {
        self.plans.clear();
    }
}

/// Why the model is not asked for `goal` here (`None`: it is). `local` is what the local
/// planner answered.
pub fn why_not_ask(
    mode: LlmMode,
    local: &PlanResult,
    goal: &str,
    root: Option<&str>,
    profile: &Profile,
    playbooks: &super::playbooks::PlaybookBook,
) -> Option<String> {
    let normalized = crate::learning::normalize::normalize_goal(goal);
    if mode == LlmMode::Off {
        return Some("planner.llm.mode is off".into());
    }
    if super::borrow::negated(&normalized) {
        return Some("the goal says what not to do".into());
    }
    // A goal whose only plans are the model's that the user did not like is asked again.
    let only_disliked = !local.plans.is_empty()
        && local
            .plans
            .iter()
            .all(|p| p.from_model && p.alignment < DISLIKED);
    if mode == LlmMode::Fallback && !local.plans.is_empty() && !only_disliked {
        return Some("codex has a plan for it here already (mode: fallback)".into());
    }
    if playbooks.find(&normalized, root).is_some() {
        return Some("you taught a playbook for it".into());
    }
    let kept = profile
        .categories
        .iter()
        .filter(|c| c.category == normalized)
        .flat_map(|c| &c.plans)
        .any(|pl| {
            // Kept and worked: the local planner offers it (a pick that never ran is kept
            // but not offered, so the model is still asked).
            let st = super::learned::standing(pl, root);
            st.kept_here() && st.worked()
        });
    kept.then(|| "you kept a plan for it here: it is planned locally".into())
}

/// A model plan's score before it has a record of its own: what the user's runs of the
/// model's plans say (their scores, weighed by evidence), pulled towards a low prior, so
/// the local plans come first until the model's have earned it.
pub fn model_prior(profile: &Profile) -> (f64, f64) {
    /// Where a model plan starts: below a local plan with no record (0.5).
    const START: f64 = 0.35;
    /// Pseudo-evidence of the start.
    const START_WEIGHT: f64 = 2.0;
    // Only what the user said moves it: ratings, and corrections away (a 0 each). Runs that
    // merely exited 0 do not: a model proposing no-ops (`true`, `echo`) must not earn rank.
    let (mut a, mut w, mut runs, mut successes) = (START * START_WEIGHT, START_WEIGHT, 0u64, 0u64);
    for pl in profile
        .categories
        .iter()
        .flat_map(|c| &c.plans)
        .filter(|p| p.from_model)
    {
        let rated = pl.ratings as f64;
        let value = pl
            .mean_rating
            .map_or(0.0, |m| ((m - 1.0) / 4.0).clamp(0.0, 1.0));
        a += rated * value;
        w += rated + pl.corrected_away as f64;
        runs += pl.runs;
        successes += pl.successes;
    }
    let score = a / w;
    // Confidence of success: the model's plans' record, from a low start (1 in 3).
    let confidence = (successes as f64 + 1.0) / (runs as f64 + 3.0);
    (score, confidence)
}

/// A plan the user rated this low (posterior mean) is one they did not like.
const DISLIKED: f64 = 0.45;

/// The model's plan put among the local ones: ranked by its score when planning is
/// personalized (shown even past the usual three), else last. A plan codex offers anyway is
/// left as it is. `Err`: the model proposed again a plan that failed here or that the user
/// rated low here, which is not offered (why, in one line).
pub fn merge(
    result: &mut PlanResult,
    steps: Vec<PlanStep>,
    profile: &Profile,
    personalized: bool,
) -> Result<(), String> {
    let command = steps
        .iter()
        .map(|s| crate::episode::command_line(&s.argv))
        .collect::<Vec<_>>()
        .join(" && ");
    // A plan codex offers anyway is not the model's: the model agreed, and earns nothing.
    if result.plans.iter().any(|p| p.command == command) {
        return Ok(());
    }
    let goal = crate::learning::normalize::normalize_goal(&result.goal);
    let record = profile
        .categories
        .iter()
        .filter(|c| c.category == goal)
        .flat_map(|c| &c.plans)
        .find(|p| p.plan == command)
        .map(|p| super::learned::standing(p, result.project.as_deref()))
        .filter(|st| st.here.is_some());
    // Only what happened here counts: a pick that never ran is neither.
    let verdict = record.as_ref().and_then(|st| {
        let h = st.here.as_ref()?;
        if h.runs > 0 && h.successes == 0 && h.typed == 0 {
            Some("failed")
        } else if st.score < DISLIKED && (h.ratings > 0 || h.corrected_away > 0) {
            Some("you rated low or replaced")
        } else {
            None
        }
    });
    if let Some(why) = verdict {
        return Err(format!(
            "the model proposed `{command}` again, which {why} here: not offered"
        ));
    }
    let (score, prior_confidence) = model_prior(profile);
    let program = steps
        .first()
        .map(|s| crate::episode::program_name(&s.argv))
        .unwrap_or_default();
    let confidence = super::confidence_of(None, &program, profile).min(prior_confidence);
    let kept: usize = profile
        .categories
        .iter()
        .flat_map(|c| &c.plans)
        .filter(|p| p.from_model && p.places.iter().any(|pl| pl.kept))
        .count();
    let plan = PlannedCommand {
        command,
        steps,
        score,
        confidence,
        alignment: score,
        evidence: if kept == 0 {
            "proposed by the model just now; none of its plans has been kept yet".into()
        } else {
            format!("proposed by the model just now; you kept {kept} of its plans")
        },
        borrowed: Some("the model".into()),
        propensity: Some(0.0),
        from_model: true,
    };
    let at = if personalized {
        result
            .plans
            .iter()
            .position(|p| p.score < score)
            .unwrap_or(result.plans.len())
    } else {
        result.plans.len()
    };
    if at == 0 {
        for p in &mut result.plans {
            p.propensity = Some(0.0);
        }
    }
    result.plans.insert(at, plan);
    if let Some(first) = result.plans.first_mut().filter(|_| at == 0) {
        first.propensity = Some(1.0);
    }
    if result.unknown.take().is_some() || result.plans.len() == 1 {
        result.ranking = "the model's plan: nothing codex knows maps this goal".into();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
