//! The learning side at scale: interactions ingested per second, then `rate` and
//! `prefs/show` answered by a real daemon holding 100,000 episodes and 100,000 ratings.
//!
//! Run with `cargo bench -p codexd --bench learning`. Set CODEX_BENCH_HOME=DIR to keep the
//! populated home (scripts/bench-learning.sh then measures the real binaries on it).
//!
//! Steps:
//! 1. 100,000 finished runs (50 goals × 3 plans × 20 projects, 1 in 7 failing) are published
//!    on the event bus to the learning pipeline and the feedback collector, in chunks of
//!    1,024 with a round trip to both actors after each chunk (so every event is processed,
//!    journaled, batched into the dataset and consolidated past the 10,000-episode cap).
//! 2. 100,000 ratings are appended to the feedback journal and folded into its snapshot.
//! 3. A daemon starts on that home; a client times `rate` (fsynced before it answers) and
//!    `prefs/show` round trips over the socket.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use codex_proto::types::{RunId, RunOutcome};
use codexd::bus::{self, Event};
use codexd::context::project::Project;
use codexd::episode::{Draft, Episode};
use codexd::feedback::state::{FeedbackOp, FeedbackState, Interner, Signal, SignalKind};
use codexd::store::Layout;
use codexd::store::journal::Journaled;
use codexd::{config, feedback, learning};

const EPISODES: u64 = 100_000;
const CHUNK: usize = 1_024;
const GOALS: u64 = 50;
const PLANS: u64 = 3;
const PROJECTS: u64 = 20;

#[path = "common/client.rs"]
mod client;

use client::{Error, peak_rss, spawn_daemon};

fn main() -> Result<(), Error> {
    let keep = std::env::var_os("CODEX_BENCH_HOME").map(PathBuf::from);
    let tmp = tempfile::tempdir()?;
    let home = keep.clone().unwrap_or_else(|| tmp.path().join("home"));
    if home.exists() {
        std::fs::remove_dir_all(&home)?;
    }
    let loaded = config::load(None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    let episodes = make_episodes();
    let ingest = runtime.block_on(ingest(&home, &loaded.config, &episodes))?;
    println!(
        "ingest: {EPISODES} interactions in {:.2}s = {:.0} interactions/s \
         (episode journaled, example batched, patterns, feedback signal, consolidation)",
        ingest.as_secs_f64(),
        EPISODES as f64 / ingest.as_secs_f64()
    );

    let clock = Instant::now();
    add_ratings(&home, &loaded.config, &episodes)?;
    println!(
        "wrote {EPISODES} ratings to the feedback journal and snapshot in {:.2}s",
        clock.elapsed().as_secs_f64()
    );

    drop(runtime);
    // The real codexd, as a process of its own: a daemon refuses changing requests from its
    // own process tree (a step's), so the client cannot live in the daemon's process.
    let (mut daemon, mut client, started) = spawn_daemon(tmp.path(), &home)?;
    println!(
        "daemon start with {EPISODES} episodes and ratings: {:.0} ms (process start to first answer)",
        started.as_secs_f64() * 1e3
    );

    let rate = client.time(200, |i| {
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"rate\",\"params\":{{\"score\":{}}}}}",
            i % 5 + 1
        )
    })?;
    println!("rate (durable) round trip: {}", rate.describe());
    let prefs = client.time(50, |i| {
        format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"prefs/show\"}}")
    })?;
    println!("prefs/show round trip: {}", prefs.describe());
    let project = client.time(50, |i| {
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"prefs/show\",\"params\":\
             {{\"project\":\"/bench/project-3\",\"category\":\"goal 7\"}}}}"
        )
    })?;
    println!(
        "prefs/show --project --category round trip: {}",
        project.describe()
    );
    let proj = tmp.path().join("shop");
    std::fs::create_dir_all(&proj)?;
    std::fs::write(proj.join("Cargo.toml"), "[package]\nname = \"shop\"\n")?;
    let goals = [
        "run the tests",
        "execute the test suite",
        "goal 7",
        "deploy staging",
    ];
    let plan = client.time(400, |i| {
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"plan\",\"params\":\
             {{\"goal\":\"{}\",\"cwd\":\"{}\"}}}}",
            goals[i % goals.len()],
            proj.display()
        )
    })?;
    println!(
        "plan round trip ({GOALS} goals learned, 100,000 episodes): {}",
        plan.describe_with_p99()
    );
    println!("daemon peak RSS: {}", peak_rss(daemon.id()));
    client.time(1, |i| {
        format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"daemon/stop\"}}")
    })?;
    let status = daemon.wait()?;
    if !status.success() {
        return Err(format!("codexd stopped with {status}").into());
    }
    Ok(())
}

fn make_episodes() -> Vec<Arc<Episode>> {
    let start = Utc::now() - chrono::Duration::days(30);
    (1..=EPISODES)
        .map(|i| {
            let goal = (i * 7919) % GOALS;
            let plan = (i / 3) % PLANS;
            let project = (i * 31) % PROJECTS;
            let argv: Vec<String> = ["cargo", "plan", &format!("p{plan}"), &format!("g{goal}")]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let cwd = PathBuf::from(format!("/bench/project-{project}"));
            let mut draft = Draft::new(Some(&format!("goal {goal}")), &argv, &cwd);
            draft.project = Some(Project {
                root: cwd.clone(),
                kind: "rust".into(),
            });
            let at = start + chrono::Duration::seconds(i as i64 * 25);
            let code = if i % 7 == 0 { 1 } else { 0 };
            let mut e = draft.finish(
                RunId(i),
                cwd,
                Vec::new(),
                at,
                RunOutcome::Exited { code },
                40,
                "test result: ok. 12 passed; 0 failed\n",
            );
            e.finished_at = at;
            Arc::new(e)
        })
        .collect()
}

async fn ingest(
    home: &Path,
    config: &config::Config,
    episodes: &[Arc<Episode>],
) -> Result<Duration, Error> {
    codexd::store::private_dir(home)?;
    let layout = Layout::new(home, &config.storage);
    layout.create_dirs()?;
    let bus = bus::new();
    let learning = learning::start(&layout, config, &bus)?;
    let feedback = feedback::start(&layout, config, &bus)?;
    let clock = Instant::now();
    for chunk in episodes.chunks(CHUNK) {
        for e in chunk {
            bus.send(Event::RunFinished(e.clone()))?;
        }
        // Both actors take the bus before their inbox: an answer means the chunk is in.
        learning.handle.stats().await?;
        feedback.handle.count().await?;
    }
    let took = clock.elapsed();
    drop((learning.handle, feedback.handle, bus));
    learning.task.await?;
    feedback.task.await?;
    Ok(took)
}

fn add_ratings(
    home: &Path,
    config: &config::Config,
    episodes: &[Arc<Episode>],
) -> Result<(), Error> {
    let layout = Layout::new(home, &config.storage);
    let (mut state, _) = Journaled::<FeedbackState>::open(
        layout.feedback.clone(),
        config.storage.compact_min_bytes.get(),
    )?;
    let mut names = Interner::default();
    for e in episodes {
        let signal = Signal {
            run_id: Some(e.run_id),
            at: e.finished_at,
            category: names.get(&e.category),
            plan: names.get(&e.plan),
            tool: names.get(&e.tool),
            program: names.get(&e.program),
            project: e
                .project
                .as_ref()
                .map(|p| names.get(&p.root.display().to_string())),
            learn: true,
            kind: SignalKind::Rating {
                score: (e.run_id.0 % 5 + 1) as u8,
            },
        };
        state.append(
            FeedbackOp::Rated {
                signal,
                comment: None,
            },
            false,
        )?;
    }
    state.compact()?;
    Ok(())
}
