//! Every command and flag of `codex`, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use codex_proto::types::RunId;

/// codex: a personal agent runtime that learns how you work.
#[derive(Debug, Parser)]
#[command(name = "codex", version, propagate_version = true)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Daemon socket [default: $CODEX_SOCKET, else $XDG_RUNTIME_DIR/codex/codexd.sock, else
    /// $CODEX_HOME/run/codexd.sock].
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Fail instead of starting codexd when it is not running.
    #[arg(long, global = true)]
    pub no_autostart: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the daemon's version, pid, uptime, home, socket and what it has recorded.
    Status,
    /// Start or stop the daemon.
    #[command(subcommand)]
    Daemon(DaemonCommand),
    /// Run a command through the executor (no shell), streaming its output; exits with its
    /// exit status.
    Run(RunArgs),
    /// Rate a run from 1 (bad) to 5 (great); the last run unless --run is given.
    Rate(RateArgs),
    /// List recent runs: outcome, rating, project, goal and the command that ran.
    History(HistoryArgs),
    /// Show one run in full: goal, plan and why, each step (command, folder, class,
    /// sandbox, exit status, time, output tail), rating and approvals.
    Show(ShowArgs),
    /// Run a recorded run's command again, in the same folder, as a new run (asked and
    /// confined exactly as `codex run` would).
    Rerun(RerunArgs),
    /// Show, set or reset what has been learned about you.
    #[command(subcommand)]
    Prefs(PrefsCommand),
    /// Delete runs from memory, the dataset and knowledge, and rebuild the profile without them.
    Forget(ForgetArgs),
    /// Import interactions from elsewhere, so codex knows your habits from day one.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Write the learning dataset to stdout as JSONL for fine-tuning trainers.
    Export(ExportArgs),
    /// Show the plans for a goal in this project, best first, each with why; runs nothing.
    Plan(PlanArgs),
    /// What codex sees here: the project, its commands, your goals and preferences.
    Context,
    /// Teach a plan: this phrase means this command (or the steps in a YAML file).
    Teach(TeachArgs),
    /// List, show or remove taught playbooks.
    Playbooks(PlaybooksArgs),
    /// List or change your allow/ask/deny rules (globs over the command line).
    Rules(RulesArgs),
    /// Approvals held for runs with nobody attached (`codex run --detach`).
    Approvals,
    /// Approve a held approval: its run goes ahead.
    Approve {
        /// Its id (see `codex approvals`).
        id: u64,
    },
    /// Deny a held approval: its run does not happen.
    Deny {
        /// Its id (see `codex approvals`).
        id: u64,
    },
    /// What codex expects you to do next here, each with the plan it would run; `run N` runs
    /// one; `jobs`, `accept`, `dismiss` for recurring goals proposed as jobs; `eval` measures
    /// the model on a history file.
    Suggest(SuggestArgs),
    /// Jobs that run on their own: add, list, show, pause, resume, remove, run now, re-plan.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Telemetry alerts (failure spikes, slow runs, storage growth, jobs held again and
    /// again), open ones first; `ack ID` acknowledges one (and resumes work it paused).
    Alerts(AlertsArgs),
    /// Personal models: the learning parameters fitted to your own data. `status` shows
    /// versions, held-out metrics and which is live; `train`, `promote V`, `rollback`.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Install, remove or inspect codexd as a systemd user service.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Check the installation: config, storage files, permissions, socket, lock, daemon
    /// version, free disk, sandbox; says what to do about each problem. Changes nothing.
    /// Exits 0 when all is well, 1 when a problem is found.
    Doctor,
    /// Print the shell hook that records each command you type (with its folder, exit status
    /// and duration) for codex to learn from: add `eval "$(codex init bash)"` to ~/.bashrc,
    /// `eval "$(codex init zsh)"` to ~/.zshrc, or `codex init fish | source` to
    /// ~/.config/fish/config.fish.
    Init {
        /// The shell.
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Pause, resume or show shell capture (`codex init`); `record` is what the hook runs.
    #[command(subcommand)]
    Capture(CaptureCommand),
    /// Print a shell completion script for bash, zsh or fish on stdout.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print the manual page codex(1) as roff (`codex man | man -l -`), or write every page.
    Man {
        /// Write codex.1 and one page per subcommand (codex-run.1, ...) into this folder,
        /// e.g. ~/.local/share/man/man1.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// Shells `codex completions` writes scripts for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CompletionShell {
    /// bash (bash-completion).
    Bash,
    /// zsh.
    Zsh,
    /// fish.
    Fish,
}

/// `codex service ...`
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Write the systemd user unit (ExecStart: the codexd beside this codex, else on PATH)
    /// and print the systemctl commands that start it.
    Install {
        /// Also run them (`systemctl --user daemon-reload`, `enable --now`) when
        /// `systemctl --user` works here; a daemon codex started earlier hands over to it.
        #[arg(long)]
        now: bool,
    },
    /// Remove the unit (and its enablement) and print the systemctl commands that stop it.
    Uninstall {
        /// Also run them (`systemctl --user stop`, `daemon-reload`) when `systemctl --user`
        /// works here.
        #[arg(long)]
        now: bool,
    },
    /// Whether the unit is installed, up to date, enabled and running.
    Status,
    /// Stop a codexd running for this CODEX_HOME outside the service and wait until it has
    /// exited (the unit runs this before its codexd starts).
    #[command(hide = true)]
    HandOver,
}

/// `codex rules [list | allow|ask|deny PATTERN | rm PATTERN]`
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// What to do (default: list).
    #[command(subcommand)]
    pub action: Option<RulesAction>,
}

/// `codex rules ...`
#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// Every rule and where it comes from.
    List,
    /// Run matching commands without asking (privileged ones are still asked).
    Allow {
        /// A glob over the command line, e.g. "cargo *".
        pattern: String,
    },
    /// Always ask before matching commands.
    Ask {
        /// A glob over the command line.
        pattern: String,
    },
    /// Never run matching commands.
    Deny {
        /// A glob over the command line, e.g. "git push --force*".
        pattern: String,
    },
    /// Remove a rule added with `codex rules`.
    Rm {
        /// Its pattern, exactly as listed.
        pattern: String,
    },
}

/// `codex suggest [--limit N] [run N | jobs | accept ID | dismiss ID | eval ...]`
#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// At most this many suggestions.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub limit: u32,
    /// What to do (default: list the suggestions).
    #[command(subcommand)]
    pub action: Option<SuggestAction>,
}

/// `codex suggest ...`
#[derive(Debug, Subcommand)]
pub enum SuggestAction {
    /// Run suggestion N (as `codex run` would: asked and confined the same way).
    Run {
        /// Its number in `codex suggest`.
        #[arg(value_parser = clap::value_parser!(u32).range(1..=20))]
        n: u32,
    },
    /// Recurring goals codex proposes as jobs, with the cron expression it inferred.
    Jobs,
    /// Make a proposed job a job (policy deny).
    Accept {
        /// The proposal's id (see `codex suggest jobs`).
        id: String,
    },
    /// Never propose this job again.
    Dismiss {
        /// The proposal's id.
        id: String,
    },
    /// Replay a shell history on a scratch model (your data is not touched): top-1, top-5
    /// and mean reciprocal rank for the model and four baselines.
    Eval(SuggestEvalArgs),
}

/// `codex suggest eval ...`
#[derive(Debug, Args)]
pub struct SuggestEvalArgs {
    /// The history file.
    #[arg(long, value_name = "FILE")]
    pub history: PathBuf,
    /// Its format [default: guessed from its content].
    #[arg(long, value_enum)]
    pub format: Option<HistoryFormat>,
    /// Replay only the first N entries.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
}

/// `--format` of a history file.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum HistoryFormat {
    /// One command per line.
    Plain,
    /// bash (with `#TIMESTAMP` lines when HISTTIMEFORMAT is set).
    Bash,
    /// zsh (plain or extended).
    Zsh,
    /// fish (`- cmd:` records).
    Fish,
}

/// `codex alerts [--all] | ack ID`
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// Acknowledged alerts too.
    #[arg(long)]
    pub all: bool,
    /// `ack ID`.
    #[command(subcommand)]
    pub action: Option<AlertsAction>,
}

/// `codex alerts ack ID`
#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Acknowledge an alert: work it paused resumes once no other open alert pauses it.
    Ack {
        /// The alert's id (see `codex alerts`).
        id: u64,
    },
}

/// `codex model ...`
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Versions (newest first) with their held-out metrics beside the live one's, which is
    /// live, training in progress.
    Status,
    /// Train a model now on your data and wait for it; it becomes live only if it is not
    /// worse than the live one on your most recent runs.
    Train {
        /// Start it and return; `codex model status` shows its progress.
        #[arg(long)]
        detach: bool,
    },
    /// Make a version live (the one before can be rolled back to).
    Promote {
        /// The version (see `codex model status`).
        #[arg(value_name = "VERSION")]
        number: u32,
    },
    /// Go back to the version live before this one (or to the config's parameters).
    Rollback,
}

/// `codex schedule ...`
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Add a job: a goal in words (planned now, here, and kept) or `-- CMD ARGS`.
    Add(ScheduleAddArgs),
    /// Every job: when it runs, its policy, its last and next occurrence.
    List,
    /// One job: its plan, its last runs (time, result, rating, duration) and next times.
    Show {
        /// The job's id (see `codex schedule list`).
        id: u64,
    },
    /// Remove a job (its past runs stay in `codex history`).
    Rm {
        /// The job's id.
        id: u64,
    },
    /// Pause a job: nothing runs until it is resumed.
    Pause {
        /// The job's id.
        id: u64,
    },
    /// Resume a paused job (occurrences missed while paused do not run).
    Resume {
        /// The job's id.
        id: u64,
    },
    /// Run an occurrence now, unattended as if scheduled, and wait for how it ends.
    Run {
        /// The job's id.
        id: u64,
    },
    /// Plan the job's goal again, here and now, and keep the new plan.
    Replan {
        /// The job's id.
        id: u64,
    },
}

/// `codex schedule add ...`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("when").required(true).args(["cron", "every"])))]
pub struct ScheduleAddArgs {
    /// A cron expression in your local time zone: 5 fields (minute hour day-of-month month
    /// day-of-week, e.g. "0 9 * * 1-5"), or 6 with seconds first.
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    /// An interval from now: 90s, 10m, 2h, 1d, 1h30m.
    #[arg(long, value_name = "DURATION", value_parser = crate::when::parse_interval)]
    pub every: Option<u64>,
    /// The folder it runs in [default: the current one].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// deny (default): what your comfort runs unattended runs, anything else is held in
    /// `codex approvals`; allowlist: only steps matching your `codex rules allow` run.
    /// Destructive and privileged steps are always held for a yes.
    #[arg(long, value_enum, default_value = "deny")]
    pub policy: PolicyArg,
    /// once (default): an occurrence missed while codexd was down runs once at start (if
    /// within scheduler.catch_up_grace_secs); skip: it does not.
    #[arg(long, value_enum, default_value = "once")]
    pub catch_up: CatchUpArg,
    /// A name for the job.
    #[arg(long)]
    pub name: Option<String>,
    /// The goal in words; or, after `--`, the command to run.
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true, trailing_var_arg = true)]
    pub goal: Vec<String>,
}

/// `--policy`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PolicyArg {
    /// Hold what would need asking.
    Deny,
    /// Run only what an allow rule matches.
    Allowlist,
}

/// `--catch-up`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CatchUpArg {
    /// Run the latest missed occurrence once.
    Once,
    /// Run nothing missed.
    Skip,
}

/// `codex daemon ...`
#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Start codexd in the background if it is not running.
    Start,
    /// Stop codexd gracefully (it flushes everything first) and wait until it has exited.
    Stop,
}

/// `codex run ...`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Approve in advance what would be asked, except destructive and privileged commands
    /// (rm -r, dd of=, git push --force, sudo, ...), which are always asked on the terminal.
    /// What `--yes` lets run still runs in the sandbox.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Run nothing: show the command's safety class, whether it would be asked, and whether
    /// it would run confined (in the sandbox) or unconfined.
    #[arg(long)]
    pub dry_run: bool,
    /// Run outside the sandbox: every step is asked on the terminal first (`--yes` does not
    /// answer that), and runs unconfined after your yes. Without a terminal nothing runs.
    #[arg(long)]
    pub unconfined: bool,
    /// Run it in the background with nobody attached: what needs approval waits in
    /// `codex approvals`; the outcome shows in `codex history`.
    #[arg(long, conflicts_with = "dry_run")]
    pub detach: bool,
    /// What you want done, in your words; codex learns which command you prefer for it.
    #[arg(long, short = 'g', value_name = "TEXT")]
    pub goal: Option<String>,
    /// Run the Nth plan of a goal instead of the first (see `codex plan`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=3))]
    pub pick: Option<u32>,
    /// A goal in words ("run the tests"): codex plans the command for this project.
    #[arg(
        value_name = "GOAL",
        required_unless_present = "argv",
        conflicts_with = "argv"
    )]
    pub task: Option<String>,
    /// Or the command and its arguments, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub argv: Vec<String>,
    /// The class a plan's tool declared for the command (`codex rerun` of a planned step
    /// keeps it): the command is treated as at least this dangerous. Not a flag.
    #[arg(skip)]
    pub min_class: Option<codex_proto::types::SafetyClass>,
    /// The run is a suggestion chosen with `codex suggest run N` (recorded so).
    #[arg(skip)]
    pub suggestion: bool,
}

/// A run named on the command line: its id, or `last` for the last run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunRef {
    /// The run that finished last.
    Last,
    /// This run.
    Id(RunId),
}

impl std::str::FromStr for RunRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("last") {
            return Ok(RunRef::Last);
        }
        s.parse::<RunId>()
            .map(RunRef::Id)
            .map_err(|_| format!("`{s}` is not a run id or `last` (see `codex history`)"))
    }
}

impl RunRef {
    /// The id to ask for; `None` for the last run.
    pub fn id(self) -> Option<RunId> {
        match self {
            RunRef::Last => None,
            RunRef::Id(id) => Some(id),
        }
    }
}

/// `codex show RUN`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run's id (see `codex history`), or `last`.
    #[arg(value_name = "RUN")]
    pub run: RunRef,
}

/// `codex rerun [RUN | --last-failed] [--yes] [--dry-run]`
#[derive(Debug, Args)]
pub struct RerunArgs {
    /// The run's id (see `codex history`), or `last` [default: the last run].
    #[arg(value_name = "RUN", conflicts_with = "last_failed")]
    pub run: Option<RunRef>,
    /// The newest run that did not succeed.
    #[arg(long)]
    pub last_failed: bool,
    /// As `codex run --yes`: approve in advance what would be asked, except destructive and
    /// privileged commands; it still runs in the sandbox.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// As `codex run --dry-run`: show what would happen; run nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `codex teach PHRASE [--global] (-- CMD | --steps FILE)`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["steps", "argv"])))]
pub struct TeachArgs {
    /// The goal phrase, e.g. "deploy staging".
    pub phrase: String,
    /// A YAML list of steps, each a command line or a list of words.
    #[arg(long, value_name = "FILE")]
    pub steps: Option<PathBuf>,
    /// Apply in every project, not only this one.
    #[arg(long)]
    pub global: bool,
    /// The command, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub argv: Vec<String>,
}

/// `codex playbooks [list | show PHRASE | rm PHRASE]`
#[derive(Debug, Args)]
pub struct PlaybooksArgs {
    /// What to do (default: list).
    #[command(subcommand)]
    pub action: Option<PlaybooksAction>,
}

/// `codex playbooks ...`
#[derive(Debug, Subcommand)]
pub enum PlaybooksAction {
    /// Every playbook.
    List,
    /// One playbook's steps.
    Show {
        /// Its phrase.
        phrase: String,
    },
    /// Remove the playbooks of a phrase.
    Rm {
        /// Its phrase.
        phrase: String,
    },
}

/// `codex plan GOAL`
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// What you want done, in words.
    pub goal: String,
    /// Print exactly what the language model (`planner.llm`) would be sent for this goal
    /// here, and send nothing.
    #[arg(long)]
    pub show_prompt: bool,
}

/// `codex rate ...`
#[derive(Debug, Args)]
pub struct RateArgs {
    /// 1 (bad) to 5 (great).
    #[arg(value_parser = clap::value_parser!(u8).range(1..=5))]
    pub score: u8,
    /// The run to rate [default: the last run].
    #[arg(long, value_name = "ID")]
    pub run: Option<RunId>,
    /// What was good or what should have happened instead.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

/// `codex history ...`
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// How many runs to show (of those the filters let through).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    /// Only runs that did not succeed: failed, killed, timed out, cancelled, not started.
    #[arg(long)]
    pub failed: bool,
    /// Only runs in the project containing this folder (`.` for this one).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Only runs whose goal contains this text (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub goal: Option<String>,
    /// Only runs started since then: an RFC 3339 time, a date (YYYY-MM-DD, local), or a
    /// time ago (`90m`, `2h`, `3d`, `1w`).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

/// `codex prefs ...`
#[derive(Debug, Subcommand)]
pub enum PrefsCommand {
    /// Every learned preference with its evidence: plans per task, working style,
    /// satisfaction, workflow patterns.
    Show(PrefsShowArgs),
    /// Set a preference yourself; it overrides what is learned.
    Set(PrefsSetArgs),
    /// Drop a setting of yours; the learned value applies again.
    Unset(PrefsUnsetArgs),
    /// Forget every learned preference (history and ratings stay; settings stay unless --all).
    Reset(PrefsResetArgs),
}

/// `codex prefs show ...`
#[derive(Debug, Args)]
pub struct PrefsShowArgs {
    /// Only this task category (a goal, or a tool like `cargo test`).
    #[arg(long, value_name = "CATEGORY")]
    pub category: Option<String>,
    /// Only what was learned in the project containing this folder.
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

/// `codex prefs set KEY VALUE`
#[derive(Debug, Args)]
pub struct PrefsSetArgs {
    /// `autonomy_comfort` (low|medium|high) or `verbosity` (terse|normal|verbose).
    pub key: String,
    /// The value.
    pub value: String,
}

/// `codex prefs unset KEY`
#[derive(Debug, Args)]
pub struct PrefsUnsetArgs {
    /// `autonomy_comfort` or `verbosity`.
    pub key: String,
}

/// `codex prefs reset ...`
#[derive(Debug, Args)]
pub struct PrefsResetArgs {
    /// Also drop your explicit settings.
    #[arg(long)]
    pub all: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// `codex forget ...`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["run", "goal", "project", "all"])))]
pub struct ForgetArgs {
    /// One run, by id (see `codex history`).
    #[arg(value_name = "RUN_ID")]
    pub run: Option<RunId>,
    /// Runs and imported lines whose goal matches: a glob (`deploy*`) or, without
    /// wildcards, any goal containing the text. Case-insensitive.
    #[arg(long, value_name = "PATTERN")]
    pub goal: Option<String>,
    /// Runs in the project containing this folder.
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Everything learned from runs, ratings and imports (your settings stay).
    #[arg(long)]
    pub all: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Only show what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
}

/// `codex import ...`
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Read bash, zsh or fish history; each command line becomes an interaction.
    ShellHistory(ImportHistoryArgs),
}

/// `codex import shell-history ...`
#[derive(Debug, Args)]
pub struct ImportHistoryArgs {
    /// The history format [default: from $SHELL, else guessed from the file].
    #[arg(long, value_name = "bash|zsh|fish")]
    pub shell: Option<String>,
    /// The history file [default: the shell's own, honouring $HISTFILE].
    pub file: Option<PathBuf>,
}

/// `codex export ...`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// `openai-chat` (fine-tuning chat examples), `preference-pairs` (chosen/rejected), or
    /// `episodes` (raw runs with their ratings).
    #[arg(long, value_name = "FORMAT")]
    pub format: String,
    /// Only runs that finished on or after this date (YYYY-MM-DD, local), time (RFC 3339)
    /// or time ago (`2h`, `3d`).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only runs rated at least this (1..5); unrated runs are left out.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=5))]
    pub min_rating: Option<u8>,
    /// Only runs in the project containing this folder.
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

/// `codex capture ...`
#[derive(Debug, Subcommand)]
pub enum CaptureCommand {
    /// Stop recording the commands you type, until `codex capture resume` (kept across
    /// daemon restarts).
    Pause,
    /// Record the commands you type again.
    Resume,
    /// Whether capture is on or paused, how many commands were recorded since the daemon
    /// started, and the filters in force.
    Status,
    /// Record one finished command (the shell hook runs this in the background). Never starts
    /// the daemon, never waits for an answer, prints nothing, and exits 0 whatever happens.
    Record(CaptureRecordArgs),
}

/// `codex capture record ...`
#[derive(Debug, Args)]
pub struct CaptureRecordArgs {
    /// The shell it was typed in.
    #[arg(long, value_name = "bash|zsh|fish")]
    pub shell: Option<String>,
    /// Its exit status.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub exit: Option<i32>,
    /// When it started: unix seconds, with a fraction (`$EPOCHREALTIME`).
    #[arg(long, value_name = "SECONDS")]
    pub start: Option<String>,
    /// When it ended, likewise; with --start, gives the duration.
    #[arg(long, value_name = "SECONDS")]
    pub end: Option<String>,
    /// How long it ran, when the shell says so itself (fish's `$CMD_DURATION`).
    #[arg(long, value_name = "MS")]
    pub duration_ms: Option<u64>,
    /// The folder it was typed in [default: the current folder].
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// The command line, as one argument.
    #[arg(allow_hyphen_values = true, num_args = 0..)]
    pub command: Vec<String>,
}
