//! Archivers and compressors: the files they write are judged like any other write. An
//! archive made in the home folder, or a file compressed in place outside the project, is
//! as much a write outside as `cp` there.

use codex_proto::types::SafetyClass;

use super::Verdict;
use super::args::{self, Values};
use super::paths::{self, Effect, Spot};
use super::programs::{Check, plain};

/// Compressors that replace each file named with its (de)compressed form.
const COMPRESSORS: &[&str] = &[
    "gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "lzma", "unlzma", "zstd", "unzstd", "lz4",
    "pigz", "unpigz", "pbzip2", "lzip", "brotli",
];

/// Compressors that keep the original unless told to remove it (`--rm`).
const KEEP_BY_DEFAULT: &[&str] = &["zstd", "unzstd", "lz4", "brotli"];

impl Check<'_, '_> {
    /// What an archiver or compressor writes, or `None` when it writes nothing by name.
    pub(super) fn archive(&mut self, spot: Spot<'_>) -> Option<Verdict> {
        let (p, args) = (self.p, self.args);
        match p {
            "tar" | "bsdtar" => self.tar(spot),
            "zip" => {
                let values = ['b', 'n', 't', 'P', 'Z', 's', 'O'];
                let long = [
                    "--temp-path",
                    "--suffixes",
                    "--from-date",
                    "--password",
                    "--compression-method",
                    "--split-size",
                    "--output-file",
                ];
                let mut targets: Vec<&str> = Values::value_of(args, &['O'], &["--output-file"]);
                targets.extend(plain(args, &values, &long).first());
                self.judge_all(&targets, Effect::Modify, spot)
            }
            "7z" | "7za" | "7zr" => {
                let words = plain(args, &[], &[]);
                match words.as_slice() {
                    [cmd, archive, ..] if matches!(*cmd, "a" | "u" | "d" | "rn") => {
                        self.judge_all(&[archive], Effect::Modify, spot)
                    }
                    _ => None,
                }
            }
            _ if COMPRESSORS.contains(&p) => self.compressor(spot),
            _ => None,
        }
    }

    fn tar(&mut self, spot: Spot<'_>) -> Option<Verdict> {
        // Old style: `tar czf x.tgz .` is `tar -czf x.tgz .`.
        let mut ops = self.args.to_vec();
        let old_style = ops.first().is_some_and(|a| !a.starts_with('-'));
        if let Some(first) = ops.first_mut().filter(|_| old_style) {
            *first = format!("-{first}");
        }
        let has = |letters: &str, long: &[&str]| given(&ops, letters, long);
        if old_style && ops[0].contains(['I', 'F']) {
            return Some(Verdict::destructive(
                "`tar` is told to run a command (`I` or `F` among its letters)",
            ));
        }
        if has("x", &["--extract", "--get"]) {
            self.fx.plants = true;
        }
        let effect = if has("c", &["--create"]) {
            Effect::Overwrite
        } else if has(
            "ruA",
            &[
                "--append",
                "--update",
                "--catenate",
                "--concatenate",
                "--delete",
            ],
        ) {
            Effect::Modify
        } else {
            return None;
        };
        let targets = Values::value_of(&ops, &['f'], &["--file"]);
        let targets: Vec<String> = targets.into_iter().map(str::to_string).collect();
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        self.judge_all(&targets, effect, spot)
    }

    fn compressor(&mut self, spot: Spot<'_>) -> Option<Verdict> {
        let (p, args) = (self.p, self.args);
        let is = |letters: &str, long: &[&str]| given(args, letters, long);
        if is("clt", &["--stdout", "--to-stdout", "--list", "--test"]) {
            return None;
        }
        let removes = if KEEP_BY_DEFAULT.contains(&p) {
            is("", &["--rm"])
        } else {
            !is("k", &["--keep"])
        };
        let effect = if removes {
            Effect::Delete
        } else if is("f", &["--force"]) {
            Effect::Overwrite
        } else {
            Effect::Create
        };
        let files = plain(args, &['S', 'o', 'D'], &["--suffix", "--output", "--dict"]);
        self.judge_all(&files, effect, spot)
    }

    /// The worst of writing each target; `-` (standard output) is no file.
    fn judge_all(&mut self, targets: &[&str], effect: Effect, spot: Spot<'_>) -> Option<Verdict> {
        let p = self.p;
        let mut worst: Option<Verdict> = None;
        for t in targets.iter().filter(|t| **t != "-") {
            self.fx.writes.push(t.to_string());
            if let Some((class, why)) =
                paths::judge(t, effect, spot, &self.c.plants, &self.c.system)
            {
                let v = Verdict::new(
                    class.max(SafetyClass::WritesInProject),
                    format!("`{p}` {why}"),
                );
                worst = Some(match worst {
                    Some(w) => w.max(v),
                    None => v,
                });
            }
        }
        worst
    }
}

/// Whether any of the short `letters` (in a cluster) or `long` options is given before `--`.
fn given(args: &[String], letters: &str, long: &[&str]) -> bool {
    args.iter().take_while(|a| *a != "--").any(|a| {
        (args::is_cluster(a) && a.chars().skip(1).any(|c| letters.contains(c)))
            || long.iter().any(|l| args::long_prefix_of(a, l))
    })
}
