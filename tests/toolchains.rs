//! Real toolchains run confined: a `cargo build` of a small crate whose dependencies are in
//! cargo's cache, and `npm test`, both unasked at the default comfort, in the sandbox. Their
//! caches are writable (safety.caches), nothing else outside the project is.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use codex_e2e::{Home, have};

/// The user's real cargo and rustup folders (the test's HOME is a throwaway one).
fn toolchain_homes() -> (PathBuf, PathBuf) {
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let cargo = std::env::var_os("CARGO_HOME").map_or_else(|| home.join(".cargo"), PathBuf::from);
    let rustup =
        std::env::var_os("RUSTUP_HOME").map_or_else(|| home.join(".rustup"), PathBuf::from);
    (cargo, rustup)
}

/// A dependency this workspace itself builds with, so it is in cargo's cache wherever this
/// suite runs.
const CACHED: (&str, &str) = ("shlex", "1.3");

#[test]
fn a_real_cargo_build_with_cached_dependencies_passes_confined() {
    if !have("cargo") {
        return;
    }
    let (cargo_home, rustup_home) = toolchain_homes();
    let h = Home::new()
        .with_env("CARGO_HOME", &cargo_home.display().to_string())
        .with_env("RUSTUP_HOME", &rustup_home.display().to_string());
    let _d = h.start();
    if !h.sandbox_enforced() {
        return;
    }
    let manifest = format!(
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{} = \"{}\"\n",
        CACHED.0, CACHED.1
    );
    let proj = h.project(
        "tiny",
        &[
            ("Cargo.toml", &manifest),
            (
                "src/main.rs",
                "fn main() { println!(\"{:?}\", shlex::split(\"a 'b c'\")); }\n",
            ),
        ],
    );
    // The lock file, as a project keeps it (resolved from the local index, no network).
    let lock = Command::new("cargo")
        .args(["generate-lockfile", "--offline"])
        .current_dir(&proj)
        .env("CARGO_HOME", &cargo_home)
        .env("RUSTUP_HOME", &rustup_home)
        .output()
        .unwrap();
    if !lock.status.success() {
        codex_e2e::skipped(&format!(
            "`{}` is not in cargo's cache at {}: {}",
            CACHED.0,
            cargo_home.display(),
            String::from_utf8_lossy(&lock.stderr)
        ));
        return;
    }
    let out = h.codex_in(&proj, &["--json", "run", "--", "cargo", "build"]);
    let finished = out.finished();
    assert_eq!(finished["exit_status"], 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        finished["sandbox"].is_string(),
        "the build did not run confined: {finished}"
    );
    let built = proj.join("target/debug/tiny");
    let run = Command::new(&built).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        "Some([\"a\", \"b c\"])"
    );
}

#[test]
fn npm_test_passes_confined() {
    if !have("npm") || !have("node") {
        return;
    }
    let h = Home::new();
    let _d = h.start();
    if !h.sandbox_enforced() {
        return;
    }
    let proj = h.project(
        "web",
        &[
            (
                "package.json",
                r#"{"name": "web", "version": "1.0.0", "scripts": {"test": "node test.js"}}"#,
            ),
            (
                "test.js",
                "const assert = require('assert');\nassert.strictEqual(1 + 1, 2);\n\
                 require('fs').writeFileSync('report.txt', 'passed');\nconsole.log('1 passing');\n",
            ),
        ],
    );
    let out = h.codex_in(&proj, &["--json", "run", "--", "npm", "test"]);
    let finished = out.finished();
    assert_eq!(finished["exit_status"], 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        finished["sandbox"].is_string(),
        "npm test did not run confined: {finished}"
    );
    assert!(out.stdout.contains("1 passing"), "{}", out.stdout);
    assert_eq!(
        std::fs::read_to_string(proj.join("report.txt")).unwrap(),
        "passed"
    );
}
