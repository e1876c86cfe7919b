//! What the feedback collector stores: every signal it learned from, the current rating of
//! each run (for history), and the user's explicit settings. The profile is derived from the
//! signals ([`super::model`]), so forgetting a run is "drop its signals and fold again".

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use codex_proto::types::RunId;
use serde::{Deserialize, Serialize};

use super::model::{Model, Params};
use crate::learning::dataset::{self, Record};
use crate::learning::normalize::GoalPattern;
use crate::store::StoreError;
use crate::store::journal::{Detached, State};

/// One piece of evidence about the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The run it is about; `None` for an approval not given (the run never happened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The task category.
    pub category: Arc<str>,
    /// The plan (command line).
    pub plan: Arc<str>,
    /// Program plus subcommand.
    pub tool: Arc<str>,
    /// Program basename.
    pub program: Arc<str>,
    /// Project root, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<Arc<str>>,
    /// Whether it counts (`user_preference_learning` when it arrived): replaying the
    /// journal or folding again after a forget gives the same profile.
    pub learn: bool,
    /// What happened.
    pub kind: SignalKind,
}

/// The kinds of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SignalKind {
    /// A run ended: implicit success or failure.
    Outcome {
        /// Exit code 0.
        success: bool,
        /// Stopped by the user (Ctrl-C, client gone).
        cancelled: bool,
        /// The command was a dry run (`--dry-run`, `--check`, ...).
        dry_run: bool,
        /// +1 verbose flags, -1 quiet flags, 0 neither.
        verbosity: i8,
        /// Which part of a plan the run was.
        #[serde(default, skip_serializing_if = "codex_proto::types::RunPart::is_whole")]
        part: codex_proto::types::RunPart,
        /// The user named the goal in words (`--goal`, or planned from a goal): a change of
        /// plan for a named goal says the first plan did not serve it. Old journals lack it,
        /// and a run without it never counts as the evidence of a correction.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        named: bool,
        /// The plan was borrowed (from a goal said alike, or another project) and not kept
        /// yet: a success adds no evidence until the user keeps it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        borrowed: bool,
        /// The run could not start as meant: exit 126 or 127, or its program was not found
        /// (a missing tool, a script calling one). A matter of the environment, not of taste.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unstarted: bool,
        /// The run was the planner's first plan, run as offered (`codex run "GOAL"` without
        /// `--pick`): the planner chose it, so it corrects nothing the user ran before.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        first: bool,
        /// The plan was the language model's (`codex prefs show` says so).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        from_model: bool,
    },
    /// An explicit rating, 1..5. Only the latest rating of a run counts.
    Rating {
        /// The score.
        score: u8,
    },
    /// An approval given or not: at a prompt, by `--yes`, or held back for want of a
    /// terminal (which counts as "not given" only if no approved run follows in the window).
    Approval {
        /// Given or not.
        approved: bool,
        /// A person answered a prompt.
        #[serde(default)]
        asked: bool,
    },
    /// The user typed this command in a shell, in its project (imported history): a habit,
    /// with no exit status known.
    Typed,
    /// The user chose this plan over the one ranked first (`codex run --pick N`).
    Picked {
        /// The plan passed over.
        over: Arc<str>,
    },
}

impl SignalKind {
    /// A whole run of a goal named in words that succeeded or failed, nothing else known: what
    /// the simulations and replays feed.
    pub fn named_outcome(success: bool) -> SignalKind {
        SignalKind::Outcome {
            success,
            cancelled: false,
            dry_run: false,
            verbosity: 0,
            part: codex_proto::types::RunPart::Whole,
            named: true,
            borrowed: false,
            unstarted: false,
            first: false,
            from_model: false,
        }
    }
}

/// A run's current rating, as history shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRating {
    /// 1..5.
    pub score: u8,
    /// The comment.
    pub comment: Option<String>,
    /// When it was given.
    pub at: DateTime<Utc>,
}

/// A change to the feedback state, as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FeedbackOp {
    /// An implicit signal.
    Signal {
        /// The signal.
        signal: Signal,
    },
    /// An explicit rating (its signal carries the score).
    Rated {
        /// The rating signal.
        signal: Signal,
        /// The comment.
        comment: Option<String>,
    },
    /// Set (`Some`) or unset (`None`) an explicit setting.
    Setting {
        /// The key.
        key: String,
        /// The value.
        value: Option<String>,
    },
    /// Drop every signal and rating of these runs, and the signals of no run (approvals not
    /// given) whose category or plan matches `goal`, or whose project is under `project`.
    Forget {
        /// The runs.
        runs: Vec<RunId>,
        /// A `--goal` pattern.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        goal: Option<String>,
        /// A project root.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
    },
    /// Drop every signal and rating.
    ForgetAll,
    /// Drop every signal (ratings stay in history); with `all`, settings too.
    Reset {
        /// Also drop explicit settings.
        all: bool,
    },
}

/// The state behind `storage/analytics/personalized_feedback.json`.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "Stored")]
pub struct FeedbackState {
    /// Every signal, in arrival order.
    pub signals: Vec<Signal>,
    /// The current rating of each rated run.
    pub ratings: BTreeMap<RunId, StoredRating>,
    /// Explicit settings (`codex prefs set`).
    pub settings: BTreeMap<String, String>,
    /// The profile's working form, folded from `signals`; not stored.
    #[serde(skip)]
    pub model: Model,
}

#[derive(Deserialize)]
struct Stored {
    #[serde(default)]
    signals: Vec<Signal>,
    #[serde(default)]
    ratings: BTreeMap<RunId, StoredRating>,
    #[serde(default)]
    settings: BTreeMap<String, String>,
}

impl From<Stored> for FeedbackState {
    fn from(mut s: Stored) -> Self {
        // Tens of thousands of signals name the same few categories and plans: share them.
        let mut names = Interner::default();
        for sig in &mut s.signals {
            names.share(sig);
        }
        let mut state = FeedbackState {
            signals: s.signals,
            ratings: s.ratings,
            settings: s.settings,
            model: Model::default(),
        };
        state.refold();
        state
    }
}

/// Hands out one shared copy of each distinct name.
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    /// The shared copy of `s`.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone());
        a
    }

    /// Make a signal's names shared copies.
    pub fn share(&mut self, sig: &mut Signal) {
        sig.category = self.get(&sig.category);
        sig.plan = self.get(&sig.plan);
        sig.tool = self.get(&sig.tool);
        sig.program = self.get(&sig.program);
        if let Some(p) = &sig.project {
            sig.project = Some(self.get(p));
        }
    }
}

impl FeedbackState {
    /// Use these learning parameters from now on, and fold every signal again with them.
    pub fn configure(&mut self, params: Params) {
        self.model = Model::new(params);
        self.refold();
    }

    /// Fold every signal again (after a forget or with new parameters).
    pub fn refold(&mut self) {
        self.model.rebuild(&self.signals);
    }
}

/// The stored fields of a [`FeedbackState`], copied for a snapshot written in the
/// background; serializes as the state does.
#[derive(Serialize)]
struct Frozen {
    signals: Vec<Signal>,
    ratings: BTreeMap<RunId, StoredRating>,
    settings: BTreeMap<String, String>,
}

impl State for FeedbackState {
    type Op = FeedbackOp;

    fn detach(&self) -> Option<Detached> {
        // Names are shared, so the copy costs a pointer per name, not the text.
        let frozen = Frozen {
            signals: self.signals.clone(),
            ratings: self.ratings.clone(),
            settings: self.settings.clone(),
        };
        Some(Box::new(move |w| {
            serde_json::to_writer(w, &frozen).map_err(std::io::Error::other)
        }))
    }

    fn apply(&mut self, op: FeedbackOp) {
        match op {
            FeedbackOp::Signal { signal } => {
                self.model.apply(&signal);
                self.signals.push(signal);
            }
            FeedbackOp::Rated { signal, comment } => {
                let SignalKind::Rating { score } = signal.kind else {
                    return;
                };
                if let Some(run) = signal.run_id {
                    self.ratings.insert(
                        run,
                        StoredRating {
                            score,
                            comment,
                            at: signal.at,
                        },
                    );
                }
                self.model.apply(&signal);
                self.signals.push(signal);
            }
            FeedbackOp::Setting { key, value } => match value {
                Some(v) => {
                    self.settings.insert(key, v);
                }
                None => {
                    self.settings.remove(&key);
                }
            },
            FeedbackOp::Forget {
                runs,
                goal,
                project,
            } => {
                let runs: HashSet<RunId> = runs.into_iter().collect();
                // A pattern that was valid when the op was journaled is valid on replay.
                let goal = goal.and_then(|g| GoalPattern::new(&g).ok());
                let unrun_matches = |s: &Signal| {
                    goal.as_ref()
                        .is_some_and(|g| g.matches(&s.category) || g.matches(&s.plan))
                        || project.as_deref().is_some_and(|root| {
                            s.project
                                .as_deref()
                                .is_some_and(|p| std::path::Path::new(p).starts_with(root))
                        })
                };
                self.signals.retain(|s| match s.run_id {
                    Some(r) => !runs.contains(&r),
                    None => !unrun_matches(s),
                });
                self.ratings.retain(|r, _| !runs.contains(r));
                self.refold();
            }
            FeedbackOp::ForgetAll => {
                self.signals.clear();
                self.ratings.clear();
                self.refold();
            }
            FeedbackOp::Reset { all } => {
                self.signals.clear();
                if all {
                    self.settings.clear();
                }
                self.refold();
            }
        }
    }
}

/// What [`rebuild_from_dataset`] brought back, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// Runs whose rating came back from the dataset's labels.
    pub ratings: u64,
    /// Of those, runs with no example in the dataset: their rating is in history but not
    /// learned from (the plan it rated is unknown).
    pub unnamed: u64,
    /// Outcome signals rebuilt from the dataset's examples.
    pub outcomes: u64,
}

/// The state of a collector whose snapshot was lost, with what the dataset still holds put
/// back: each label becomes the run's rating (and its rating signal, named from the run's
/// example), each example the run's outcome signal. Runs the state already knows (from the
/// journal, which is newer) are left as they are. Rebuilt signals come first, in time order,
/// as they are older than the journal's. Settings, approval answers and plan picks are not
/// in the dataset and stay lost.
pub fn rebuild_from_dataset(
    state: &FeedbackState,
    path: &Path,
    learn: bool,
) -> Result<(FeedbackState, Rebuilt), StoreError> {
    let has_outcome: HashSet<RunId> = state
        .signals
        .iter()
        .filter(|s| matches!(s.kind, SignalKind::Outcome { .. }))
        .filter_map(|s| s.run_id)
        .collect();
    let mut names = Interner::default();
    let mut examples: HashMap<RunId, Signal> = HashMap::new();
    let mut labels: Vec<(RunId, DateTime<Utc>, u8, Option<String>)> = Vec::new();
    dataset::for_each(path, |_, record| {
        match record {
            Some(Record::Example(e)) => {
                let kind = SignalKind::Outcome {
                    success: e.success,
                    cancelled: matches!(e.outcome, codex_proto::types::RunOutcome::Cancelled),
                    dry_run: super::model::is_dry_run(&e.argv, &e.tool),
                    verbosity: super::model::verbosity_of(&e.argv),
                    part: codex_proto::types::RunPart::default(),
                    named: e.goal != e.plan,
                    // The dataset does not say where a plan came from: counted as chosen.
                    borrowed: false,
                    unstarted: super::model::could_not_start(&e.outcome),
                    first: false,
                    from_model: false,
                };
                let project = e
                    .project
                    .as_ref()
                    .map(|p| names.get(&p.root.display().to_string()));
                let signal = Signal {
                    run_id: Some(e.run_id),
                    at: e.at,
                    category: names.get(&e.category),
                    plan: names.get(&e.plan),
                    tool: names.get(&e.tool),
                    program: names.get(&e.program),
                    project,
                    learn,
                    kind,
                };
                examples.insert(e.run_id, signal);
            }
            Some(Record::Label {
                run_id,
                at,
                score,
                comment,
            }) if !state.ratings.contains_key(run_id) && (1..=5).contains(score) => {
                labels.push((*run_id, *at, *score, comment.clone()));
            }
            _ => {}
        }
        Ok(())
    })?;
    let mut out = Rebuilt::default();
    let mut ratings = BTreeMap::new();
    let mut signals: Vec<Signal> = Vec::new();
    for (run, at, score, comment) in labels {
        if let Some(named) = examples.get(&run) {
            let mut signal = named.clone();
            signal.at = at;
            signal.kind = SignalKind::Rating { score };
            signals.push(signal);
        }
        // A later label of the same run replaces an earlier one, as in the dataset.
        ratings.insert(run, StoredRating { score, comment, at });
    }
    for run in ratings.keys() {
        out.ratings += 1;
        out.unnamed += u64::from(!examples.contains_key(run));
    }
    for (run, signal) in examples {
        if !has_outcome.contains(&run) {
            out.outcomes += 1;
            signals.push(signal);
        }
    }
    signals.sort_by_key(|s| s.at);
    let mut next = FeedbackState {
        signals,
        ratings,
        settings: state.settings.clone(),
        model: Model::default(),
    };
    next.signals.extend(state.signals.iter().cloned());
    next.ratings
        .extend(state.ratings.iter().map(|(k, v)| (*k, v.clone())));
    next.refold();
    Ok((next, out))
}

/// About how many ratings a damaged snapshot held: its stored ratings are the only values
/// that begin `{"score":`. Read as bytes, so it counts whatever damage left readable.
pub fn ratings_mentioned(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let needle = b"{\"score\":";
    Some(bytes.windows(needle.len()).filter(|w| *w == needle).count() as u64)
}
