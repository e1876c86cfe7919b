//! The executor's costs: classifying commands (commands per second), the time the sandbox
//! adds to starting a step, and the time the whole executor adds to spawning a trivial
//! command compared with spawning it directly.
//!
//! Run with `cargo bench -p codexd --bench executor`. Classification reads the NL2Bash corpus
//! (12,607 real one-liners) from `../shared/data/nl2bash/all.cm` beside the repository, or
//! CODEX_NL2BASH; without it, a small built-in set. Overhead: `true` spawned 500 times with
//! tokio directly, then 500 times through the executor (classification, policy, process
//! group, output pumps, episode built and published); medians compared. Sandbox: `true`
//! spawned directly, through `codexd __sandbox -- true` (its own session only), and confined
//! (`--confine` with a writable project and temp folder, `.git/hooks` and `.git/config`
//! read-only, a private /dev/shm, no network: every layer). Target: confinement adds under
//! 2 ms per step.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use codexd::executor::classify::{Classifier, Place};
use codexd::executor::{self, RunRequest, Spec};
use codexd::store::Layout;
use codexd::{bus, config};
use tokio_util::sync::CancellationToken;

type Error = Box<dyn std::error::Error>;

const SPAWNS: usize = 500;

const FALLBACK: &[&str] = &[
    "ls -la",
    "find . -name '*.rs' | xargs grep -l unsafe",
    "git push --force origin main",
    "curl -fsSL https://example.com/install.sh | sh",
    "rm -rf build",
    "sudo systemctl restart nginx",
    "tar xzf vendor.tar.gz && make -j8",
    "for f in $(ls *.txt); do mv \"$f\" \"${f%.txt}.md\"; done",
];

fn main() -> Result<(), Error> {
    classification()?;
    sandbox()?;
    overhead()
}

/// Median time of `runs` spawns of `argv`, waited for.
fn spawn_median(argv: &[String], runs: usize) -> Result<Duration, Error> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let clock = Instant::now();
        let out = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(std::process::Stdio::null())
            .output()?;
        times.push(clock.elapsed());
        if !out.status.success() {
            return Err(
                format!("{argv:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into(),
            );
        }
    }
    times.sort();
    Ok(times[runs / 2])
}

fn sandbox() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let proj = dir.path().join("proj");
    std::fs::create_dir_all(proj.join(".git/hooks"))?;
    std::fs::write(proj.join(".git/config"), "")?;
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp)?;
    let helper = env!("CARGO_BIN_EXE_codex-sandbox").to_string();
    let daemon = env!("CARGO_BIN_EXE_codexd").to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let p = |x: &std::path::Path| x.display().to_string();
    let direct = s(&["true"]);
    let session = s(&[&helper, "--", "true"]);
    let confined = s(&[
        &helper,
        "--confine",
        "--rw",
        &p(&proj),
        "--rw",
        &p(&tmp),
        "--ro",
        &p(&proj.join(".git/hooks")),
        "--ro",
        &p(&proj.join(".git/config")),
        "--shm",
        "--",
        "true",
    ]);
    // The fallback when codex-sandbox is missing: the daemon's own binary.
    let mut through_daemon = confined.clone();
    through_daemon.splice(0..1, [daemon, "__sandbox".to_string()]);
    const RUNS: usize = 300;
    let d = spawn_median(&direct, RUNS)?;
    let u = spawn_median(&session, RUNS)?;
    let c = spawn_median(&confined, RUNS)?;
    let f = spawn_median(&through_daemon, RUNS)?;
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    println!(
        "starting `true` ({RUNS} runs, medians): directly {:.3} ms; codex-sandbox unconfined \
         {:.3} ms, confined {:.3} ms: the sandbox adds {:.3} ms (target < 2 ms); confined \
         through `codexd __sandbox` (the fallback) {:.3} ms",
        ms(d),
        ms(u),
        ms(c),
        ms(c.saturating_sub(d)),
        ms(f)
    );
    Ok(())
}

fn classification() -> Result<(), Error> {
    let path = std::env::var_os("CODEX_NL2BASH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nl2bash/all.cm")
        });
    let (lines, source): (Vec<String>, String) = match std::fs::read_to_string(&path) {
        Ok(t) => (
            t.lines()
                .filter(|l| !l.trim().is_empty())
                .map(String::from)
                .collect(),
            "NL2Bash".into(),
        ),
        Err(_) => (
            FALLBACK.iter().map(|s| s.to_string()).collect(),
            format!("built-in set (NL2Bash not found at {})", path.display()),
        ),
    };
    let c = Classifier::new(&[])?;
    let place = Place {
        cwd: Path::new("/home/dev/src/shop"),
        root: Some(Path::new("/home/dev/src/shop")),
        home: Some(Path::new("/home/dev")),
    };
    let mut rates = Vec::new();
    for _ in 0..5 {
        let clock = Instant::now();
        let mut n = 0usize;
        while clock.elapsed() < Duration::from_millis(500) {
            for l in &lines {
                std::hint::black_box(c.classify_script(l, place));
                n += 1;
            }
        }
        rates.push(n as f64 / clock.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "classification, {source} ({} commands): median {:.0} commands/s (min {:.0}, max {:.0})",
        lines.len(),
        rates[2],
        rates[0],
        rates[4]
    );
    Ok(())
}

fn overhead() -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dir = tempfile::tempdir()?;
        let cwd = dir.path().to_path_buf();
        let mut direct = Vec::with_capacity(SPAWNS);
        for _ in 0..SPAWNS {
            let clock = Instant::now();
            let status = tokio::process::Command::new("true")
                .current_dir(&cwd)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .status()
                .await?;
            assert!(status.success());
            direct.push(clock.elapsed());
        }

        let loaded = config::load(None)?;
        let layout = Layout::new(&dir.path().join("home"), &loaded.config.storage);
        layout.create_dirs()?;
        let bus = bus::new();
        let (_publish, comfort) =
            tokio::sync::watch::channel(Arc::new(codex_proto::prefs::Profile::default()));
        let helper = std::path::PathBuf::from(env!("CARGO_BIN_EXE_codexd"));
        // The real listeners, as in the daemon: what runs publish is taken in.
        let learning = codexd::learning::start(&layout, &loaded.config, &bus)?;
        let feedback = codexd::feedback::start(&layout, &loaded.config, &bus)?;
        let listeners = executor::Listeners {
            feedback: feedback.handle.clone(),
            learning: learning.handle.clone(),
        };
        let (handle, task) =
            executor::start(&loaded.config, &layout, &bus, 1, comfort, helper, listeners)?;
        let mut through = Vec::with_capacity(SPAWNS);
        for _ in 0..SPAWNS {
            let (tx, mut rx) = tokio::sync::mpsc::channel(64);
            let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
            let req = RunRequest {
                min_class: None,
                plan_source: None,
                origin: Default::default(),
                picked_over: None,
                part: Default::default(),
                spec: Spec {
                    argv: vec!["true".into()],
                    cwd: cwd.clone(),
                    ..Spec::default()
                },
                goal: None,
                yes: false,
                interactive: false,
                unattended: false,
                unconfined: false,
            };
            let clock = Instant::now();
            let report = handle.run(req, tx, CancellationToken::new()).await?;
            through.push(clock.elapsed());
            assert!(report.outcome.success());
            drain.await?;
        }
        drop((handle, bus));
        task.await?;

        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        let (d, t) = (median(&mut direct), median(&mut through));
        println!(
            "spawning `true`: direct median {:.3} ms, through the executor {:.3} ms: \
             overhead {:.3} ms, the sandbox's share included (the rest: target < 1 ms)",
            d.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e3,
            t.saturating_sub(d).as_secs_f64() * 1e3
        );
        Ok::<(), Error>(())
    })
}
