//! Rating latency at the moment the feedback journal is folded into its snapshot, with
//! 100,000 signals (a 28 MB snapshot). Before, the rating that crossed the threshold waited
//! for the whole state to be serialized and fsynced; now the state is copied and written on a
//! thread of its own while ratings go on.
//!
//! Run with `cargo bench -p codexd --bench compaction`.
//!
//! Steps: 100,000 ratings are written to the feedback journal and folded into its snapshot;
//! the journal is then filled to just under the snapshot's size (the threshold), so the
//! compaction falls about 100 ratings into the timed ones. A feedback collector starts on
//! that home and 400 ratings are timed one by one through its handle (each is fsynced before
//! it is acknowledged, then the profile is republished), in process: no socket, no client.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use codex_proto::types::{RunId, RunOutcome};
use codexd::config::Config;
use codexd::episode::{Draft, Episode};
use codexd::feedback::state::{FeedbackOp, FeedbackState, Interner, Signal, SignalKind};
use codexd::store::Layout;
use codexd::store::journal::{Journaled, journal_path};
use codexd::{bus, feedback};

const SIGNALS: u64 = 100_000;
const TIMED: u64 = 400;
/// Ratings left between the filled journal and the threshold.
const BEFORE_COMPACTION: u64 = 100;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let tmp = tempfile::tempdir()?;
    let home = tmp.path().join("home");
    codexd::store::private_dir(&home)?;
    let config = Config::default();
    let layout = Layout::new(&home, &config.storage);
    layout.create_dirs()?;

    let clock = Instant::now();
    let snapshot = fill(&layout.feedback)?;
    println!(
        "{SIGNALS} signals in a {:.1} MB snapshot, the journal {:.1} MB (just under it), in {:.1}s",
        snapshot as f64 / 1e6,
        len(&journal_path(&layout.feedback)) as f64 / 1e6,
        clock.elapsed().as_secs_f64()
    );

    let (lines, took) = check_dataset(&layout.dataset)?;
    println!(
        "dataset check on open ({lines} lines, {:.1} MB, every line parsed as a record): {:.0} ms",
        len(&layout.dataset) as f64 / 1e6,
        ms(took)
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (timings, compacted_at) = runtime.block_on(time_ratings(&layout, &config, snapshot))?;
    let mut sorted = timings.clone();
    sorted.sort();
    let at = |p: usize| ms(sorted[(sorted.len() - 1) * p / 100]);
    let slowest = timings
        .iter()
        .enumerate()
        .max_by_key(|(_, d)| **d)
        .map(|(i, d)| (i + 1, ms(*d)))
        .unwrap_or((0, 0.0));
    println!(
        "rate (durable) across the compaction, {} calls: p50 {:.3} ms, p99 {:.3} ms, \
         max {:.3} ms (call {}); the journal was folded at call {}",
        timings.len(),
        at(50),
        at(99),
        slowest.1,
        slowest.0,
        compacted_at.map_or("(not seen)".into(), |c| c.to_string()),
    );
    if let Some(c) = compacted_at {
        let around: Vec<String> = timings[c.saturating_sub(3)..(c + 3).min(timings.len())]
            .iter()
            .map(|d| format!("{:.2}", ms(*d)))
            .collect();
        println!("ms per call around it: {}", around.join(", "));
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn episode(i: u64) -> Episode {
    let goal = i % 50;
    let argv: Vec<String> = ["cargo", "plan", &format!("p{}", i % 3), &format!("g{goal}")]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let cwd = PathBuf::from(format!("/bench/project-{}", i % 20));
    let draft = Draft::new(Some(&format!("goal {goal}")), &argv, &cwd);
    let at = Utc::now() - chrono::Duration::days(30) + chrono::Duration::seconds(i as i64 * 25);
    draft.finish(
        RunId(i),
        cwd,
        Vec::new(),
        at,
        RunOutcome::Exited { code: 0 },
        40,
        "ok\n",
    )
}

fn rated(names: &mut Interner, i: u64) -> FeedbackOp {
    let e = episode(i);
    FeedbackOp::Rated {
        signal: Signal {
            run_id: Some(e.run_id),
            at: e.finished_at,
            category: names.get(&e.category),
            plan: names.get(&e.plan),
            tool: names.get(&e.tool),
            program: names.get(&e.program),
            project: Some(names.get(&e.cwd.display().to_string())),
            learn: true,
            kind: SignalKind::Rating {
                score: (i % 5 + 1) as u8,
            },
        },
        comment: None,
    }
}

/// The snapshot with every signal, then the journal filled to just under its size. Returns
/// the snapshot's size.
fn fill(snapshot: &Path) -> Result<u64, Error> {
    let mut names = Interner::default();
    // No compaction while filling: the minimum is above anything written here.
    let (mut j, _) = Journaled::<FeedbackState>::open(snapshot.to_path_buf(), 1 << 40)?;
    for i in 1..=SIGNALS {
        j.append(rated(&mut names, i), false)?;
    }
    j.compact()?;
    let size = len(snapshot);
    {
        use codexd::store::journal::State as _;
        let clock = Instant::now();
        let copy = j.state().detach();
        let copied = clock.elapsed();
        let clock = Instant::now();
        if let Some(write) = copy {
            write(&mut std::io::sink())?;
        }
        println!(
            "copying the state for a background snapshot: {:.1} ms; serializing the copy: {:.1} ms",
            ms(copied),
            ms(clock.elapsed())
        );
    }
    let line = {
        let before = len(&journal_path(snapshot));
        j.append(rated(&mut names, 1), false)?;
        j.sync()?;
        len(&journal_path(snapshot)) - before
    };
    // Runs not rated yet: a re-rating takes the old evidence out first, which is slower.
    let mut i = SIGNALS;
    while len(&journal_path(snapshot)) + BEFORE_COMPACTION * line < size {
        i += 1;
        j.append(rated(&mut names, i), false)?;
    }
    j.sync()?;
    Ok(size)
}

/// Time each rating; also the call after which the snapshot file was replaced.
async fn time_ratings(
    layout: &Layout,
    config: &Config,
    snapshot: u64,
) -> Result<(Vec<Duration>, Option<usize>), Error> {
    use std::os::unix::fs::MetadataExt;
    let bus = bus::new();
    let started = feedback::start(layout, config, &bus)?;
    let inode = |p: &Path| std::fs::metadata(p).map(|m| m.ino()).unwrap_or(0);
    let first = inode(&layout.feedback);
    let mut out = Vec::with_capacity(TIMED as usize);
    let mut compacted_at = None;
    for k in 1..=TIMED {
        let e = episode(k * 7 % SIGNALS + 1);
        let clock = Instant::now();
        started.handle.rate(e, (k % 5 + 1) as u8, None).await?;
        out.push(clock.elapsed());
        // Inline, the snapshot is replaced before the answer; in the background, soon after.
        let journal = len(&journal_path(&layout.feedback));
        if compacted_at.is_none() && (inode(&layout.feedback) != first || journal < snapshot / 2) {
            compacted_at = Some(k as usize);
        }
    }
    drop(started.handle);
    drop(bus);
    started.task.await?;
    Ok((out, compacted_at))
}

/// A dataset of 100,000 examples and as many labels, then the check the learning pipeline
/// runs on it at start. Returns the number of lines and the check's time.
fn check_dataset(path: &Path) -> Result<(u64, Duration), Error> {
    use codexd::learning::dataset::{self, DatasetWriter, Record};
    let mut w = DatasetWriter::new(
        codexd::store::jsonl::Appender::new(path.to_path_buf()),
        4096,
    );
    for i in 1..=SIGNALS {
        let e = episode(i);
        w.push(&Record::example(&e, true))?;
        w.push(&Record::label(&codexd::bus::Rated {
            run_id: e.run_id,
            score: (i % 5 + 1) as u8,
            comment: None,
            at: e.finished_at,
        }))?;
    }
    w.flush()?;
    w.sync()?;
    let clock = Instant::now();
    let rec = dataset::recover(path)?;
    let took = clock.elapsed();
    assert_eq!(rec, dataset::DatasetRecovery::default());
    Ok((2 * SIGNALS, took))
}
