//! Seeded synthetic histories of several kinds of users, for tests and benchmarks.
//!
//! A user works in sessions on a few projects. A session opens with a routine (`cd` into the
//! project, often `git pull`), then runs workflows: short scripts with optional steps and
//! loops back (edit → build → test → edit ...). On top come interruptions (one-off commands),
//! bursts (the same command again), typos followed by the fix, and habits that drift over the
//! history (`vim` gives way to `nvim`, `cargo build` to `cargo check`). The same seed always
//! gives the same history; [`strip_args`] turns it into the program-names-only form of many
//! real histories.
//!
//! Workflows are written in a small notation: steps separated by `>`; alternatives by `|`
//! (the first the most likely); `a~b` drifts from `a` to `b` over the history; a step starting
//! `?0.6 ` is taken with that probability; a step ending `@2:0.4` jumps back to step 2 with
//! that probability; `{file}`-style holes are filled from the project's names.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::Interaction;

/// A small, fast, seeded generator (splitmix64), so tests need no `rand`.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x005e_ed0f_c0de)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        crate::intern::mix(self.0)
    }

    /// A float uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An index uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// An index in 0..n, the first ones likelier (Zipf with exponent 1).
    pub fn zipf(&mut self, n: usize) -> usize {
        let total: f64 = (1..=n).map(|i| 1.0 / i as f64).sum();
        let mut x = self.f64() * total;
        for i in 0..n {
            x -= 1.0 / (i + 1) as f64;
            if x <= 0.0 {
                return i;
            }
        }
        n.saturating_sub(1)
    }
}

/// A kind of user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archetype {
    /// Edit, build, test in Rust, with git.
    RustDev,
    /// A web front end with npm and git.
    WebDev,
    /// Servers and clusters: ssh, kubectl, docker, terraform.
    Ops,
    /// Python scripts, notebooks and data files.
    Data,
}

impl Archetype {
    /// Every archetype.
    pub const ALL: [Archetype; 4] = [
        Archetype::RustDev,
        Archetype::WebDev,
        Archetype::Ops,
        Archetype::Data,
    ];

    /// (weight, workflow) pairs of this kind of user.
    fn flows(self) -> &'static [(f64, &'static str)] {
        match self {
            Archetype::RustDev => &[
                (
                    5.0,
                    "vim {rs}~nvim {rs} > ?0.6 cargo build~cargo check > cargo test|cargo test {test} @0:0.55",
                ),
                (
                    2.0,
                    "git status > ?0.5 git diff > git add .|git add {rs}|git add -p > git commit -m {msg}|git commit > ?0.6 git push",
                ),
                (
                    0.8,
                    "cargo clippy > vim {rs}~nvim {rs} > cargo clippy @1:0.3",
                ),
                (0.8, "cargo run|cargo run --release > ?0.4 cargo run"),
                (0.6, "ls > cd {dir} > ls > vim {rs}~nvim {rs}"),
                (0.5, "git log|git log --oneline > ?0.3 git show"),
                (
                    0.4,
                    "git checkout {branch}~git switch {branch} > git pull > cargo build~cargo check",
                ),
                (0.4, "cargo fmt > git diff > ?0.5 git status"),
                (0.3, "rg {word}|grep -rn {word} . > vim {rs}~nvim {rs}"),
                (0.2, "cargo update > cargo build~cargo check > cargo test"),
            ],
            Archetype::WebDev => &[
                (
                    4.0,
                    "code .~vim {js} > npm run dev|npm start > ?0.5 npm test @0:0.4",
                ),
                (
                    2.0,
                    "git status > git add .|git add {js} > git commit -m {msg} > git push|git push origin {branch}",
                ),
                (1.0, "npm install|npm i > npm run dev"),
                (
                    0.8,
                    "npm install {pkg}~yarn add {pkg} > npm run dev~yarn dev",
                ),
                (0.8, "npm run build > npm run lint > ?0.5 npm run build"),
                (0.6, "ls > cd {dir} > ls"),
                (0.5, "git pull > npm install > npm run dev"),
                (0.4, "git checkout {branch} > git pull"),
                (0.3, "docker compose up|docker-compose up -d > docker ps"),
                (
                    0.3,
                    "curl localhost:3000/{word} > ?0.5 curl localhost:3000/{word}",
                ),
            ],
            Archetype::Ops => &[
                (
                    3.0,
                    "kubectl get pods > kubectl logs {pod}|kubectl describe pod {pod} > ?0.5 kubectl get pods @0:0.3",
                ),
                (2.0, "ssh {host} > ?0.4 ssh {host}"),
                (
                    1.5,
                    "docker ps > docker logs {ctr} > ?0.4 docker restart {ctr}",
                ),
                (
                    1.0,
                    "vim {yaml} > kubectl apply -f {yaml} > kubectl get pods",
                ),
                (1.0, "terraform plan > ?0.7 terraform apply"),
                (0.8, "cd {dir} > ls > cat {file}|less {file}"),
                (0.6, "git pull > ?0.5 git log > vim {yaml}"),
                (0.5, "git add . > git commit -m {msg} > git push"),
                (
                    0.5,
                    "sudo systemctl status {svc} > sudo systemctl restart {svc} > sudo journalctl -u {svc}",
                ),
                (0.4, "htop|top > df -h > du -sh *"),
                (
                    0.3,
                    "kubectl config use-context {ctx}~kubectx {ctx} > kubectl get nodes",
                ),
            ],
            Archetype::Data => &[
                (3.0, "python {py}|python3 {py} > vim {py} @0:0.5"),
                (2.0, "jupyter notebook~jupyter lab"),
                (
                    1.0,
                    "source venv/bin/activate~conda activate {env} > ?0.5 python {py}",
                ),
                (1.0, "ls > head {csv} > wc -l {csv}"),
                (0.8, "pip install {pkg} > python {py}"),
                (0.7, "git add . > git commit -m {msg} > ?0.5 git push"),
                (0.5, "nvidia-smi > htop > ?0.5 nvidia-smi"),
                (0.5, "cd {dir} > ls -la|ls > ?0.5 cd .."),
                (0.3, "scp {host}:{csv} . > ls"),
                (0.3, "python -m pytest~pytest > vim {py}"),
            ],
        }
    }

    /// Names to fill a hole, per kind of hole.
    fn words(self, hole: &str) -> &'static [&'static str] {
        match hole {
            "rs" => &[
                "src/main.rs",
                "src/lib.rs",
                "src/model.rs",
                "src/parse.rs",
                "Cargo.toml",
                "src/cli.rs",
                "tests/it.rs",
            ],
            "test" => &["parse", "model", "roundtrip", "cli"],
            "js" => &[
                "src/App.tsx",
                "src/index.ts",
                "package.json",
                "src/api.ts",
                "src/components/Nav.tsx",
            ],
            "py" => &["train.py", "clean.py", "plot.py", "features.py", "eval.py"],
            "csv" => &[
                "data/train.csv",
                "data/test.csv",
                "out/preds.csv",
                "raw.csv",
            ],
            "yaml" => &["deploy.yaml", "service.yaml", "values.yaml", "ingress.yaml"],
            "pod" => &["api-7f9c", "worker-5d2a", "web-1b3e", "db-0"],
            "ctr" => &["web", "redis", "postgres", "nginx"],
            "host" => &["prod-1", "prod-2", "staging", "bastion", "db-1"],
            "svc" => &["nginx", "postgresql", "docker", "app"],
            "ctx" => &["prod", "staging", "dev"],
            "env" => &["ml", "base", "torch"],
            "pkg" => &[
                "numpy",
                "pandas",
                "requests",
                "react-query",
                "zod",
                "lodash",
                "torch",
            ],
            "branch" => &["main", "dev", "feature/login", "fix/parse", "release"],
            "dir" => &["src", "..", "tests", "docs", "scripts", "~/notes"],
            "file" => &["README.md", "notes.txt", "config.toml", "log.txt"],
            "word" => &["TODO", "fn main", "api", "users", "error"],
            _ => &["wip", "fix", "update", "more tests", "refactor"],
        }
    }
}

/// Commands anyone runs now and then, between workflows.
const ONE_OFFS: &[&str] = &[
    "ls",
    "ls",
    "ll",
    "clear",
    "clear",
    "cd",
    "cd ..",
    "pwd",
    "history",
    "man grep",
    "htop",
    "df -h",
    "which python",
    "echo $PATH",
    "ping 8.8.8.8",
    "sudo apt update",
    "exit",
    "date",
    "cat ~/.bashrc",
    "source ~/.bashrc",
    "ps aux",
    "uptime",
    "free -h",
    "whoami",
    "tmux a",
];

/// One step of a parsed workflow.
struct Step {
    alts: Vec<&'static str>,
    take: f64,
    back: Option<(usize, f64)>,
}

fn parse_flow(flow: &'static str) -> Vec<Step> {
    flow.split(" > ")
        .map(|step| {
            let mut step = step.trim();
            let mut take = 1.0;
            if let Some(rest) = step.strip_prefix('?') {
                let (p, rest) = rest.split_once(' ').unwrap_or((rest, ""));
                take = p.parse().unwrap_or(1.0);
                step = rest;
            }
            let mut back = None;
            if let Some((rest, jump)) = step.rsplit_once(" @") {
                if let Some((to, p)) = jump.split_once(':') {
                    back = Some((to.parse().unwrap_or(0), p.parse().unwrap_or(0.0)));
                }
                step = rest;
            }
            Step {
                alts: step.split('|').map(str::trim).collect(),
                take,
                back,
            }
        })
        .collect()
}

/// A user in the making: the archetype, their quirks, and where they are in time.
struct User {
    kind: Archetype,
    rng: Rng,
    flows: Vec<(f64, Vec<Step>)>,
    /// Per-user drift points, so users switch habits at different times.
    switch: [f64; 8],
    projects: Vec<String>,
    /// Chance of `ls` after `cd`, of `clear`, of an interruption: habits differ by user.
    ls_after_cd: f64,
    habit: u64,
    interrupt: f64,
    start_hour: f64,
    out: Vec<Interaction>,
    now: DateTime<Utc>,
    project: usize,
}

impl User {
    fn progress(&self, len: usize) -> f64 {
        self.out.len() as f64 / len.max(1) as f64
    }

    fn emit(&mut self, goal: String) {
        let gap = 3 + self.rng.below(90) as i64;
        self.now += Duration::seconds(gap);
        self.out.push(Interaction {
            goal,
            at: Some(self.now),
            project: Some(self.projects[self.project].clone()),
        });
    }

    fn fill(&mut self, template: &str, x: f64) -> String {
        let mut text = template.to_owned();
        if let Some((a, b)) = template.split_once('~') {
            let which = (fnv(a) % 8) as usize;
            let late = x > self.switch[which] + (self.rng.f64() - 0.5) * 0.1;
            text = if late { b } else { a }.to_owned();
        }
        while let Some(open) = text.find('{') {
            let Some(close) = text[open..].find('}') else {
                break;
            };
            let hole = &text[open + 1..open + close];
            let words = self.kind.words(hole);
            // Each project favours its own files: rotate the Zipf ranking by project.
            let i = (self.rng.zipf(words.len()) + self.project) % words.len();
            text = format!("{}{}{}", &text[..open], words[i], &text[open + close + 1..]);
        }
        text
    }

    fn run(&mut self, cmd: String) {
        if self.rng.chance(0.015) {
            let typo = typo(&cmd, &mut self.rng);
            self.emit(typo);
        }
        let again = self.rng.chance(0.03);
        self.emit(cmd.clone());
        if again {
            for _ in 0..=self.rng.below(2) {
                self.emit(cmd.clone());
            }
        }
        if cmd.starts_with("cd ") && self.rng.chance(self.ls_after_cd) {
            self.emit("ls".to_owned());
        }
    }

    fn flow(&mut self, len: usize) {
        let x = self.progress(len);
        let total: f64 = self.flows.iter().map(|f| f.0).sum();
        let mut pick = self.rng.f64() * total;
        let mut chosen = 0;
        for (i, f) in self.flows.iter().enumerate() {
            pick -= f.0;
            if pick <= 0.0 {
                chosen = i;
                break;
            }
        }
        let mut i = 0;
        let mut guard = 0;
        while i < self.flows[chosen].1.len() && guard < 40 {
            guard += 1;
            let step = &self.flows[chosen].1[i];
            let (take, back) = (step.take, step.back);
            // People are creatures of habit: each keeps a favourite way of doing each step.
            let favourite = (fnv(step.alts[0]) ^ self.habit) as usize % step.alts.len();
            let alt = if self.rng.chance(0.85) {
                step.alts[favourite]
            } else {
                step.alts[self.rng.zipf(step.alts.len())]
            };
            if self.rng.chance(take) {
                let cmd = self.fill(alt, x);
                self.run(cmd);
            }
            if self.rng.chance(self.interrupt) {
                let cmd = ONE_OFFS[self.rng.below(ONE_OFFS.len())].to_owned();
                self.run(cmd);
            }
            match back {
                Some((to, p)) if self.rng.chance(p) => i = to,
                _ => i += 1,
            }
        }
    }

    fn session(&mut self, len: usize, first_of_day: bool) {
        let x = self.progress(len);
        // Later projects take over as the history goes on.
        let n = self.projects.len();
        let newest = ((x * n as f64) as usize).min(n - 1);
        self.project = if self.rng.chance(0.7) {
            newest
        } else {
            self.rng.below(newest + 1)
        };
        let dir = self.projects[self.project].clone();
        self.run(format!("cd {dir}"));
        if first_of_day && self.rng.chance(0.7) {
            self.run("git pull".to_owned());
        }
        for _ in 0..3 + self.rng.below(12) {
            self.flow(len);
            if self.out.len() >= len {
                break;
            }
        }
    }
}

fn fnv(s: &str) -> u64 {
    crate::intern::fnv1a(s)
}

/// A plausible slip of the fingers: two letters of the program name swapped.
fn typo(cmd: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = cmd.chars().collect();
    let word = chars.iter().position(|c| *c == ' ').unwrap_or(chars.len());
    if word >= 2 {
        let i = rng.below(word - 1);
        chars.swap(i, i + 1);
    }
    chars.into_iter().collect()
}

/// A history of `len` interactions of a user of `kind`, with times (UTC, sessions at the
/// user's usual hours on weekdays, fewer at weekends) and projects.
pub fn history(kind: Archetype, seed: u64, len: usize) -> Vec<Interaction> {
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(kind as u64));
    let flows = kind
        .flows()
        .iter()
        .map(|&(w, f)| (w * (0.5 + rng.f64()), parse_flow(f)))
        .collect();
    let mut switch = [0.0; 8];
    for s in &mut switch {
        *s = 0.2 + 0.6 * rng.f64();
    }
    let names = [
        "api", "site", "infra", "tool", "notes", "lab", "core", "cli",
    ];
    let projects = (0..2 + rng.below(3))
        .map(|i| format!("~/{}", names[(i + seed as usize) % names.len()]))
        .collect();
    let start = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let mut user = User {
        kind,
        ls_after_cd: rng.f64() * 0.8,
        habit: rng.next_u64(),
        interrupt: 0.02 + rng.f64() * 0.08,
        start_hour: 7.0 + rng.f64() * 4.0,
        rng,
        flows,
        switch,
        projects,
        out: Vec::with_capacity(len),
        now: start,
        project: 0,
    };
    let mut day = 0;
    while user.out.len() < len {
        let date = start + Duration::days(day);
        let weekend = day % 7 >= 5;
        day += 1;
        if (weekend && !user.rng.chance(0.2)) || user.rng.chance(0.1) {
            continue;
        }
        let sessions = 1 + user.rng.below(3);
        for s in 0..sessions {
            let hour = user.start_hour + s as f64 * 3.0 + user.rng.f64() * 1.5;
            let at = date + Duration::minutes((hour * 60.0) as i64);
            user.now = user.now.max(at);
            user.session(len, s == 0);
            if user.out.len() >= len {
                break;
            }
        }
    }
    user.out.truncate(len);
    user.out
}

/// The same history with program names only, as many real shell histories are kept.
pub fn strip_args(history: &[Interaction]) -> Vec<Interaction> {
    history
        .iter()
        .map(|i| Interaction {
            goal: crate::program(&i.goal).to_owned(),
            ..i.clone()
        })
        .collect()
}

/// Seeds to tune on, with the archetypes tuned on (the data person is never tuned on).
pub const TUNE: (&[u64], &[Archetype]) = (
    &[1, 2, 3, 4],
    &[Archetype::RustDev, Archetype::WebDev, Archetype::Ops],
);

/// Seeds held out from tuning; every archetype.
pub const HELD_OUT: &[u64] = &[101, 102, 103, 104, 105, 106];

/// Programs a shell user runs, the common ones first; a user's vocabulary is drawn from these.
const PROGRAMS: &[&str] = &[
    "ls",
    "cd",
    "vim",
    "git",
    "make",
    "cat",
    "grep",
    "python",
    "ssh",
    "sudo",
    "rm",
    "mv",
    "cp",
    "mkdir",
    "less",
    "man",
    "tmux",
    "htop",
    "clear",
    "exit",
    "ping",
    "curl",
    "docker",
    "cargo",
    "npm",
    "gcc",
    "./a.out",
    "nvim",
    "emacs",
    "code",
    "find",
    "tar",
    "wget",
    "head",
    "tail",
    "echo",
    "pwd",
    "which",
    "history",
    "df",
    "du",
    "ps",
    "kill",
    "top",
    "chmod",
    "chown",
    "scp",
    "rsync",
    "node",
    "go",
    "java",
    "javac",
    "rustc",
    "gdb",
    "valgrind",
    "pacman",
    "apt",
    "brew",
    "pip",
    "conda",
    "jupyter",
    "kubectl",
    "terraform",
    "ansible",
    "systemctl",
    "journalctl",
    "nano",
    "open",
    "xdg-open",
    "firefox",
    "feh",
    "mpv",
    "zathura",
    "latexmk",
    "pdflatex",
    "bibtex",
    "ranger",
    "fzf",
    "rg",
    "fd",
    "bat",
    "jq",
    "yarn",
    "pnpm",
    "deno",
    "ruby",
    "irb",
    "bundle",
    "rails",
    "php",
    "composer",
    "lua",
    "perl",
    "ghci",
    "stack",
    "cabal",
    "ocaml",
    "dune",
    "clang",
    "cmake",
    "ninja",
    "meson",
    "gradle",
    "mvn",
    "sbt",
    "zig",
    "nix",
    "nix-shell",
    "direnv",
    "source",
    "export",
    "alias",
    "env",
    "diff",
    "patch",
    "sort",
    "uniq",
    "wc",
    "awk",
    "sed",
    "xargs",
    "tr",
    "cut",
    "tee",
    "date",
    "cal",
    "bc",
    "calc",
    "whoami",
    "uptime",
    "free",
    "lsblk",
    "mount",
    "umount",
    "ip",
    "ifconfig",
    "nmcli",
    "iwctl",
    "bluetoothctl",
    "pactl",
    "alsamixer",
    "xrandr",
    "startx",
    "reboot",
    "shutdown",
    "poweroff",
    "neofetch",
    "screen",
    "mosh",
    "ssh-add",
    "gpg",
    "pass",
    "unzip",
    "zip",
    "gzip",
    "7z",
    "file",
    "stat",
    "touch",
    "ln",
    "tree",
    "watch",
    "time",
    "strace",
    "perf",
    "objdump",
    "nm",
    "hexdump",
    "xxd",
    "nc",
    "nmap",
    "dig",
    "whois",
    "traceroute",
    "ffmpeg",
    "convert",
    "youtube-dl",
    "yt-dlp",
    "aria2c",
    "transmission-cli",
    "weechat",
    "irssi",
    "mutt",
    "newsboat",
    "cmus",
    "ncmpcpp",
    "mpc",
    "pipenv",
    "poetry",
    "pytest",
    "black",
    "mypy",
    "flake8",
    "ipython",
    "R",
    "Rscript",
    "julia",
    "octave",
    "matlab",
    "sqlite3",
    "psql",
    "mysql",
    "redis-cli",
    "mongo",
    "helm",
    "minikube",
    "kind",
    "vagrant",
    "virsh",
    "qemu-system-x86_64",
    "podman",
    "docker-compose",
    "aws",
    "gcloud",
    "az",
    "heroku",
    "fly",
    "gh",
    "hub",
    "tig",
    "lazygit",
    "git-lfs",
    "svn",
    "hg",
    "fossil",
    "ctags",
    "cscope",
    "entr",
    "inotifywait",
    "crontab",
    "at",
    "sleep",
    "yes",
    "true",
    "false",
    "test",
    "type",
    "command",
    "hash",
    "jobs",
    "fg",
    "bg",
    "disown",
    "nohup",
    "exec",
    "set",
    "unset",
    "shopt",
    "bind",
    "complete",
    "dirs",
    "pushd",
    "popd",
    "umask",
    "ulimit",
    "logout",
    "su",
    "passwd",
    "useradd",
    "groups",
    "id",
    "last",
    "w",
    "who",
    "finger",
    "locate",
    "updatedb",
    "whereis",
    "apropos",
    "info",
    "tldr",
    "cheat",
    "vimtutor",
];

/// Arguments a program may take in a full command, per kind of program.
fn args_of(program: &str) -> &'static [&'static str] {
    match program {
        "cd" => &[
            "..", "src", "~", "project", "build", "docs", "-", "tests", "www", "notes",
        ],
        "ls" => &["", "-la", "-l", "src", "..", "-lh"],
        "git" => &[
            "status",
            "add .",
            "commit",
            "push",
            "pull",
            "diff",
            "log",
            "checkout main",
        ],
        "vim" | "nvim" | "emacs" | "nano" | "code" => &[
            "main.c",
            "Makefile",
            "src/lib.rs",
            "notes.md",
            "app.py",
            "index.js",
            ".vimrc",
            "README.md",
            "config.toml",
            "test.c",
        ],
        "make" | "cargo" | "npm" | "go" | "yarn" => {
            &["", "test", "build", "run", "clean", "install"]
        }
        "python" | "python3" | "node" | "ruby" | "./a.out" | "gcc" => &[
            "",
            "main.py",
            "app.py",
            "test.py",
            "-o main main.c",
            "script.js",
            "input.txt",
        ],
        "ssh" | "scp" | "ping" | "mosh" => &["server", "prod", "pi", "box", "8.8.8.8"],
        "sudo" => &[
            "pacman -Syu",
            "apt update",
            "systemctl restart nginx",
            "vim /etc/hosts",
        ],
        _ => &["", "", "file.txt", "-h", "out.log", "data"],
    }
}

/// One step of a routine: a full command, and how reliably it is taken.
#[derive(Debug, Clone)]
struct RoutineStep {
    cmd: String,
    skip: f64,
    again: f64,
}

/// A routine: steps run in order, with a span that may be looped (edit, build, run, edit...).
#[derive(Debug, Clone)]
struct Routine {
    steps: Vec<RoutineStep>,
    /// Steps `loop_from..loop_to` may run again with probability `loop_p` after each pass.
    loop_span: Option<(usize, usize, f64)>,
}

/// Knobs of [`routine_history`]: per-user values are drawn around these.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutineKnobs {
    /// Chance of a one-off command (drawn from the whole vocabulary) between routines.
    pub one_off: f64,
    /// Chance that a step of a routine is skipped.
    pub skip: f64,
    /// Chance that a step is run twice.
    pub again: f64,
    /// Chance that a random command slips in after a step.
    pub noise: f64,
    /// Chance that the same routine runs again right away.
    pub sticky: f64,
    /// Chance per routine run that one routine is replaced by a new one (habits drift).
    pub drift: f64,
    /// Chance that a routine's full command takes another argument this time.
    pub arg_change: f64,
    /// Chance that a routine step is one of the user's few core programs.
    pub core: f64,
    /// Chance that a routine goes on with a segment shared with other routines.
    pub shared: f64,
    /// Chance that an edit-build-run loop goes round again.
    pub loop_again: f64,
}

/// How many of a user's programs are core (`ls`, `cd`, `git`, their editor...).
const CORE: usize = 16;

impl Default for RoutineKnobs {
    fn default() -> Self {
        Self {
            one_off: 0.4,
            skip: 0.1,
            again: 0.2,
            noise: 0.01,
            sticky: 0.6,
            drift: 0.01,
            arg_change: 0.15,
            core: 0.3,
            shared: 0.6,
            loop_again: 0.7,
        }
    }
}

/// A user of routines in the making.
struct Habits {
    rng: Rng,
    knobs: RoutineKnobs,
    /// The user's programs, most used first.
    vocab: Vec<&'static str>,
    /// The editor, build and run programs of their edit loops.
    tools: [&'static str; 3],
    routines: Vec<Routine>,
    /// Segments shared by routines, and whether each may loop.
    segments: Vec<(Vec<String>, bool)>,
    out: Vec<Interaction>,
}

impl Habits {
    fn program(&mut self) -> &'static str {
        let n = self.vocab.len();
        self.vocab[self.rng.zipf(n)]
    }

    fn command(&mut self, program: &'static str) -> String {
        let args = args_of(program);
        let arg = args[self.rng.zipf(args.len())];
        if arg.is_empty() {
            program.to_owned()
        } else {
            format!("{program} {arg}")
        }
    }

    fn step(&mut self, cmd: String) -> RoutineStep {
        // Habits are firm: a step is either optional or not, run twice or not.
        let k = &self.knobs;
        let (skip, again) = (k.skip, k.again);
        let skip = if self.rng.chance(skip) { 0.5 } else { 0.01 };
        let again = if self.rng.chance(again) { 0.85 } else { 0.01 };
        RoutineStep { cmd, skip, again }
    }

    /// A program for a routine step: one of the few core programs, or any from the long tail.
    fn step_program(&mut self) -> &'static str {
        if self.rng.chance(self.knobs.core) {
            self.vocab[self.rng.below(CORE)]
        } else {
            let n = self.vocab.len() - CORE;
            self.vocab[CORE + self.rng.below(n)]
        }
    }

    /// A short segment several routines share: `cd` then `ls`, the edit-build-run loop (the
    /// only loop), commit and push, or a few programs.
    fn segment(&mut self) -> (Vec<String>, bool) {
        let motif = self.rng.f64();
        if motif < 0.25 {
            (vec![self.command("cd"), self.command("ls")], false)
        } else if motif < 0.45 {
            let tools = self.tools;
            (tools.iter().map(|t| self.command(t)).collect(), true)
        } else if motif < 0.6 {
            let cmds = ["git add .", "git commit", "git push"];
            (cmds.iter().map(|c| (*c).to_owned()).collect(), false)
        } else {
            let n = 2 + self.rng.below(3);
            let cmds = (0..n)
                .map(|_| {
                    let p = self.step_program();
                    self.command(p)
                })
                .collect();
            (cmds, false)
        }
    }

    fn routine(&mut self) -> Routine {
        let len = 3 + self.rng.below(13);
        let mut steps = Vec::with_capacity(len + 4);
        let mut loop_span = None;
        while steps.len() < len {
            if self.rng.chance(self.knobs.shared) {
                let at = self.rng.zipf(self.segments.len());
                let (cmds, loops) = self.segments[at].clone();
                let from = steps.len();
                for cmd in cmds {
                    let s = self.step(cmd);
                    steps.push(s);
                }
                if loops && loop_span.is_none() {
                    loop_span = Some((from, steps.len(), self.knobs.loop_again));
                }
            } else {
                let p = self.step_program();
                let cmd = self.command(p);
                let s = self.step(cmd);
                steps.push(s);
            }
        }
        Routine { steps, loop_span }
    }

    fn emit(&mut self, cmd: String) {
        self.out.push(Interaction::plain(cmd));
    }

    fn run_step(&mut self, step: &RoutineStep) {
        if self.rng.chance(step.skip) {
            return;
        }
        let times = if self.rng.chance(step.again) { 2 } else { 1 };
        for _ in 0..times {
            let cmd = if self.rng.chance(self.knobs.arg_change) {
                let program = PROGRAMS
                    .iter()
                    .find(|p| **p == crate::program(&step.cmd))
                    .copied()
                    .unwrap_or("ls");
                self.command(program)
            } else {
                step.cmd.clone()
            };
            self.emit(cmd);
        }
        if self.rng.chance(self.knobs.noise) {
            let p = self.program();
            let cmd = self.command(p);
            self.emit(cmd);
        }
    }

    fn run_routine(&mut self, r: usize) {
        let routine = self.routines[r].clone();
        let mut i = 0;
        let mut guard = 0;
        while i < routine.steps.len() && guard < 200 {
            guard += 1;
            self.run_step(&routine.steps[i]);
            i += 1;
            if let Some((from, to, p)) = routine.loop_span
                && i == to
                && self.rng.chance(p)
            {
                i = from;
            }
        }
    }
}

/// A history of program names and arguments, without times or projects, as real shell
/// histories are kept: the user has a handful of routines (3 to 15 commands: `cd` then `ls`,
/// edit-build-run loops, commit and push) that they run again and again with small variations
/// (a step skipped or run twice, another argument, a command slipped in), picked by Zipf
/// frequency and often run twice in a row, with one-off commands in between and routines
/// replaced now and then. A vocabulary of 50 to 300 programs with Zipf frequencies.
/// Calibrated so that the baselines score about what they score on real histories of program
/// names (see the crate docs).
pub fn routine_history(seed: u64, len: usize) -> Vec<Interaction> {
    routine_history_with(seed, len, &RoutineKnobs::default())
}

/// [`routine_history`] with other knobs, for calibration.
pub fn routine_history_with(seed: u64, len: usize, knobs: &RoutineKnobs) -> Vec<Interaction> {
    let mut rng = Rng::new(seed.wrapping_mul(0x9e37).wrapping_add(0xabc));
    let size = 50 + rng.below(251);
    // The common programs stay near the top, shuffled a little; the rest at random.
    let mut vocab: Vec<&'static str> = PROGRAMS.to_vec();
    for i in (1..vocab.len()).rev() {
        let j = if i < 12 {
            rng.below(i + 1)
        } else {
            12 + rng.below(i - 11)
        };
        vocab.swap(i, j);
    }
    vocab.truncate(size.min(PROGRAMS.len()));
    let editors = ["vim", "nvim", "emacs", "code", "nano"];
    let builds = ["make", "cargo", "gcc", "npm", "go"];
    let runs = ["./a.out", "python", "node", "cargo", "make"];
    let tools = [
        editors[rng.zipf(editors.len())],
        builds[rng.below(builds.len())],
        runs[rng.below(runs.len())],
    ];
    let mut knobs = knobs.clone();
    // Users differ: each knob scaled by 0.5..1.5.
    for k in [
        &mut knobs.one_off,
        &mut knobs.skip,
        &mut knobs.again,
        &mut knobs.noise,
        &mut knobs.sticky,
    ] {
        *k *= 0.5 + rng.f64();
    }
    let mut user = Habits {
        rng,
        knobs,
        vocab,
        tools,
        routines: Vec::new(),
        segments: Vec::new(),
        out: Vec::with_capacity(len + 64),
    };
    for _ in 0..4 + user.rng.below(8) {
        let s = user.segment();
        user.segments.push(s);
    }
    let count = 6 + user.rng.below(15);
    for _ in 0..count {
        let r = user.routine();
        user.routines.push(r);
    }
    let mut last = 0;
    while user.out.len() < len {
        let r = if user.rng.chance(user.knobs.sticky) {
            last
        } else {
            user.rng.zipf(count)
        };
        user.run_routine(r);
        last = r;
        while user.rng.chance(user.knobs.one_off) {
            // Anything at all: one-offs are what no habit predicts.
            let p = user.vocab[user.rng.below(user.vocab.len())];
            let cmd = user.command(p);
            user.emit(cmd);
        }
        if user.rng.chance(user.knobs.drift) {
            let at = user.rng.below(count);
            user.routines[at] = user.routine();
        }
    }
    user.out.truncate(len);
    user.out
}

/// Seeds of [`routine_history`] to tune on.
pub const ROUTINE_TUNE: &[u64] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

/// Seeds of [`routine_history`] held out from tuning.
pub const ROUTINE_HELD_OUT: &[u64] = &[
    101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119,
    120, 121, 122, 123, 124,
];
