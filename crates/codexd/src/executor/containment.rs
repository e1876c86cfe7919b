//! Containment of a step: whether the sandbox holds where it runs, and the exact
//! confinement a step gets when it runs without a yes typed for it on the terminal.
//!
//! The rule: a step cleared by the policy alone (it runs unasked, or `--yes` pre-approved
//! it, or an allow rule let it) runs confined. A step the user approved at the prompt, or
//! with `codex approve`, after seeing it, runs unconfined. Where the sandbox cannot hold —
//! the kernel does not enforce it, `safety.sandbox: off`, or a git project where `.git`
//! cannot be kept read-only — only read-only steps run without asking.

use std::path::{Path, PathBuf};

use super::sandbox::probe::Support;
use super::sandbox::roots::{self, Env};
use super::sandbox::{Confinement, Mode};
use crate::config::{SafetyConfig, Sandbox};

/// The folder this daemon makes its steps' private temp folders in: under the system's temp
/// folder, one per CODEX_HOME (its instance lock makes it this daemon's alone), private, and
/// emptied of what an earlier daemon left (a crash, a step's read-only files).
pub fn private_tmp_base(codex_home: &Path) -> PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    use std::os::unix::fs::PermissionsExt as _;
    // FNV-1a: the same name for the same CODEX_HOME, whichever build of codexd runs.
    let hash = codex_home
        .as_os_str()
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    let uid = rustix::process::getuid().as_raw();
    let base = std::env::temp_dir().join(format!("codex-{uid}-{hash:016x}"));
    if base.exists()
        && let Err(e) = std::fs::remove_dir_all(&base)
    {
        tracing::warn!(
            "cannot empty the steps' temp folder {}: {e}",
            base.display()
        );
    }
    if let Err(e) = std::fs::create_dir_all(&base)
        .and_then(|()| std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700)))
    {
        tracing::warn!("cannot make the steps' temp folder {}: {e}", base.display());
        return std::env::temp_dir();
    }
    base
}

/// The sandbox as configured and as this kernel supports it.
#[derive(Debug, Clone)]
pub struct Containment {
    mode: Sandbox,
    support: Support,
    writable_roots: Vec<String>,
    caches: std::collections::BTreeMap<String, Vec<String>>,
    unix_sockets: Vec<String>,
    /// Where private temp folders are made: one folder of this daemon's, emptied at start.
    pub tmp_base: PathBuf,
    /// codex's own data, hidden from confined steps.
    codex_home: PathBuf,
    /// What starts steps (`codex-sandbox`, or `codexd __sandbox`).
    pub launcher: super::sandbox::Launcher,
}

/// Where a step runs, as the sandbox sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Its project root: `None` when there is none (or it would be the home folder).
    pub root: Option<PathBuf>,
    /// Paths kept read-only inside the project.
    pub protected: Vec<PathBuf>,
    /// Git folders pinned in place (so they cannot be swapped).
    pub pinned: Vec<PathBuf>,
    /// The kinds of project at the root (for their caches).
    pub kinds: Vec<&'static str>,
}

impl Containment {
    /// From the config, what the kernel enforces, what starts steps, where temp folders go,
    /// and CODEX_HOME.
    pub fn new(
        safety: &SafetyConfig,
        support: Support,
        tmp_base: PathBuf,
        launcher: super::sandbox::Launcher,
        codex_home: PathBuf,
    ) -> Containment {
        Containment {
            launcher,
            codex_home,
            mode: safety.sandbox,
            support,
            writable_roots: safety.writable_roots.clone(),
            caches: safety.caches.clone(),
            unix_sockets: safety.allow_unix_sockets.clone(),
            tmp_base,
        }
    }

    /// What the kernel enforces.
    pub fn support(&self) -> &Support {
        &self.support
    }

    /// Whether the sandbox is switched on.
    pub fn on(&self) -> bool {
        self.mode == Sandbox::Auto
    }

    /// Where a step in `cwd` with `env` runs.
    pub fn place(&self, cwd: &Path, env: &Env) -> Place {
        let root = roots::project_root(cwd, &roots::homes(env));
        let guarded = root.as_deref().map(roots::protected).unwrap_or_default();
        let kinds = root.as_deref().map(roots::kinds_at).unwrap_or_default();
        Place {
            root,
            protected: guarded.read_only,
            pinned: guarded.pinned,
            kinds,
        }
    }

    /// `Ok` when a confined step at `place` cannot write outside its project or reach the
    /// network; else why not, for the user.
    pub fn holds(&self, place: &Place) -> Result<(), String> {
        if !self.on() {
            return Err("the sandbox is off (safety.sandbox: off)".into());
        }
        if !self.support.enforced() {
            return Err(format!(
                "this system cannot enforce it: {}",
                self.support.missing.join("; ")
            ));
        }
        if !place.protected.is_empty() && !self.support.read_only_paths {
            return Err(format!(
                "it cannot keep .git/hooks and .git/config read-only here: {}",
                self.support.missing.join("; ")
            ));
        }
        Ok(())
    }

    /// The confinement of a step at `place`, writing its temp files in `tmp`.
    pub fn confinement(&self, place: &Place, env: &Env, tmp: &Path, network: bool) -> Confinement {
        let mut writable: Vec<PathBuf> = place.root.iter().cloned().collect();
        writable.push(tmp.to_path_buf());
        let caches = place
            .kinds
            .iter()
            .filter_map(|k| self.caches.get(*k))
            .flatten();
        for p in caches.chain(&self.writable_roots) {
            if let Some(path) = roots::expand(p, env)
                && path.exists()
                && !writable.contains(&path)
            {
                writable.push(path);
            }
        }
        let required = self.holds(place).is_ok();
        let namespaces = self.support.read_only_paths;
        // codex's own data, unless the step works in it (then it is its project).
        let hidden = [self.codex_home.clone()]
            .into_iter()
            .filter(|h| namespaces && h.is_dir())
            .filter(|h| {
                !place
                    .root
                    .as_deref()
                    .is_some_and(|r| r.starts_with(h) || h.starts_with(r))
            })
            .filter(|h| !tmp.starts_with(h))
            .collect();
        Confinement {
            writable,
            read_only: if namespaces {
                place.protected.clone()
            } else {
                Vec::new()
            },
            pinned: if namespaces {
                place.pinned.clone()
            } else {
                Vec::new()
            },
            hidden,
            namespaces,
            network,
            unix_sockets: self
                .unix_sockets
                .iter()
                .filter_map(|p| roots::expand(p, env))
                .collect(),
            private_shm: self.support.read_only_paths,
            required,
        }
    }

    /// One line saying what a confined step at `place` may do.
    pub fn describe(&self, place: &Place, network: bool) -> String {
        let mut parts = vec![match &place.root {
            Some(r) => format!("writes only in {} and a private temp folder", r.display()),
            None => "writes only in a private temp folder (no project here: the home folder is never one)".to_string(),
        }];
        let caches: Vec<&str> = place
            .kinds
            .iter()
            .filter(|k| self.caches.get(**k).is_some_and(|c| !c.is_empty()))
            .copied()
            .collect();
        if !caches.is_empty() {
            parts.push(format!("the {} caches", caches.join(" and ")));
        }
        if !self.writable_roots.is_empty() {
            parts.push("safety.writable_roots".into());
        }
        let mut line = parts.join(", ");
        line.push_str(if network {
            "; network allowed (a network step)"
        } else {
            "; no network"
        });
        if !place.protected.is_empty() && self.support.read_only_paths {
            line.push_str("; .git/hooks and .git/config read-only");
        }
        if self.support.signals_scoped {
            line.push_str("; no signals outside its own processes");
        }
        line
    }

    /// The sandbox as `codex status` shows it.
    pub fn status(&self) -> codex_proto::methods::SandboxStatus {
        let s = &self.support;
        let enforced = self.on() && s.enforced();
        let mut allows = vec![
            "writes: its project (never the home folder), a private temp folder (its TMPDIR), \
             the caches of the project's kind (safety.caches), safety.writable_roots"
                .to_string(),
            "network: only steps classified network that the policy lets run; no Unix sockets \
             (codexd's own, the session bus, docker, tmux)"
                .to_string(),
            "reads: everything the user can read".to_string(),
        ];
        allows.push(if s.read_only_paths {
            ".git/hooks and .git/config: read-only (a read-only bind mount in a private mount namespace)".into()
        } else {
            ".git/hooks and .git/config: cannot be kept read-only here, so in git projects only read-only steps run unasked".into()
        });
        allows.push(if s.signals_scoped {
            "signals: only its own processes (Landlock scopes)".into()
        } else {
            "signals: not scoped by this kernel (kill(-1) is still refused)".into()
        });
        if !self.unix_sockets.is_empty() {
            allows.push(if s.unix_paths {
                format!("unix sockets allowed: {}", self.unix_sockets.join(", "))
            } else {
                "safety.allow_unix_sockets is not honoured by this kernel (needs Landlock ABI 9): no Unix socket is reachable".into()
            });
        }
        codex_proto::methods::SandboxStatus {
            mode: if self.on() { "auto" } else { "off" }.into(),
            enforced,
            reason: if enforced {
                let mut by = vec![
                    format!(
                        "Landlock ABI {} keeps writes in the writable folders",
                        s.landlock_abi
                    ),
                    "seccomp closes the network and Unix sockets".to_string(),
                ];
                if s.read_only_paths {
                    by.push(
                        "a private mount namespace keeps .git/hooks and .git/config read-only"
                            .into(),
                    );
                }
                by.extend(s.missing.iter().cloned());
                by.join("; ")
            } else if !self.on() {
                "the sandbox is off (safety.sandbox: off)".into()
            } else {
                s.missing.join("; ")
            },
            landlock_abi: s.landlock_abi,
            git_read_only: s.read_only_paths,
            signals_scoped: s.signals_scoped,
            allows,
        }
    }

    /// Environment a confined step at `place` gets on top of its own: go keeps its build
    /// cache in the step's temp folder (a shared one would be a place to plant objects that
    /// later builds link).
    pub fn env_for(&self, place: &Place, tmp: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if place.kinds.contains(&"go") {
            out.push(("GOCACHE".into(), tmp.join("go-build").display().to_string()));
        }
        out
    }

    /// How a step cleared by `how` runs.
    pub fn mode_for(
        &self,
        approved_on_terminal: bool,
        place: &Place,
        env: &Env,
        tmp: &Path,
        network: bool,
    ) -> Mode {
        if approved_on_terminal {
            Mode::Unconfined
        } else {
            Mode::Confined(self.confinement(place, env, tmp, network))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Support {
        Support {
            writes: true,
            network: true,
            read_only_paths: true,
            signals_scoped: true,
            unix_paths: false,
            landlock_abi: 7,
            missing: Vec::new(),
        }
    }

    fn containment(support: Support, safety: SafetyConfig) -> Containment {
        let launcher = super::super::sandbox::Launcher {
            program: "/bin/false".into(),
            first: Vec::new(),
        };
        Containment::new(
            &safety,
            support,
            std::env::temp_dir(),
            launcher,
            "/nonexistent/codex-home".into(),
        )
    }

    #[test]
    fn a_step_may_write_its_project_temp_folder_and_existing_caches_only() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        let proj = home.join("src/shop");
        std::fs::create_dir_all(proj.join(".git")).unwrap();
        std::fs::write(proj.join("Cargo.toml"), "").unwrap();
        std::fs::create_dir_all(home.join(".cargo/registry/cache")).unwrap();
        std::fs::create_dir_all(home.join(".cargo/bin")).unwrap();
        let env: Env = [("HOME".to_string(), home.display().to_string())].into();
        let c = containment(full(), SafetyConfig::default());
        let place = c.place(&proj, &env);
        assert_eq!(place.root.as_deref(), Some(proj.as_path()));
        assert!(place.protected.contains(&proj.join(".git/config")));
        let tmp = t.path().join("tmp");
        let conf = c.confinement(&place, &env, &tmp, false);
        assert!(conf.required);
        assert!(conf.writable.contains(&proj) && conf.writable.contains(&tmp));
        assert!(conf.writable.contains(&home.join(".cargo/registry/cache")));
        assert!(!conf.writable.contains(&home.join(".cargo/registry")));
        assert!(!conf.writable.iter().any(|w| w.ends_with(".cargo/bin")));
        assert!(
            !conf.writable.contains(&home),
            "the home folder is never writable"
        );
        assert!(conf.read_only.contains(&proj.join(".git/hooks")));
        // In the home folder itself: no project, only the temp folder and caches.
        let place = c.place(&home, &env);
        assert_eq!(place.root, None);
        let conf = c.confinement(&place, &env, &tmp, true);
        assert_eq!(conf.writable, vec![tmp.clone()]);
        assert!(conf.network);
    }

    #[test]
    fn the_sandbox_holds_only_where_it_can_keep_its_promise() {
        let t = tempfile::tempdir().unwrap();
        let proj = t.path().join("p");
        std::fs::create_dir_all(proj.join(".git")).unwrap();
        let env = Env::new();
        let on = containment(full(), SafetyConfig::default());
        assert!(on.holds(&on.place(&proj, &env)).is_ok());
        assert!(on.status().enforced);
        let off = containment(
            full(),
            SafetyConfig {
                sandbox: crate::config::Sandbox::Off,
                ..SafetyConfig::default()
            },
        );
        assert!(
            off.holds(&off.place(&proj, &env))
                .unwrap_err()
                .contains("off")
        );
        assert!(!off.status().enforced);
        let old_kernel = containment(
            Support::none("Landlock ABI 1 only"),
            SafetyConfig::default(),
        );
        assert!(old_kernel.holds(&old_kernel.place(&proj, &env)).is_err());
        let conf = old_kernel.confinement(&old_kernel.place(&proj, &env), &env, &proj, false);
        assert!(
            !conf.required,
            "where it cannot hold, read-only steps run best effort"
        );
        // No mount namespaces: a git project cannot keep .git read-only, a plain folder can.
        let no_mounts = containment(
            Support {
                read_only_paths: false,
                ..full()
            },
            SafetyConfig::default(),
        );
        assert!(no_mounts.holds(&no_mounts.place(&proj, &env)).is_err());
        let plain = t.path().join("q");
        std::fs::create_dir_all(&plain).unwrap();
        std::fs::write(plain.join("Makefile"), "").unwrap();
        assert!(no_mounts.holds(&no_mounts.place(&plain, &env)).is_ok());
    }
}
