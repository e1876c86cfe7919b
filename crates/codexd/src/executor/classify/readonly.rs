//! The read-only allowlist (`read_only:` in config/safety_rules.yaml): a command is read-only
//! only when its program is listed and every option and operand it is given fits the entry.
//! Nothing here is a denylist of bad forms except within an audited program's entry
//! (`options: any` with its writing or executing options under `except`).

use serde::Deserialize;

use super::args::{self, Pattern};

/// An entry as written in YAML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Program names or globs.
    pub program: Vec<String>,
    /// The first plain argument is one of these.
    #[serde(default)]
    pub subcommand: Option<Vec<String>>,
    /// `any`, or the list of allowed options.
    pub options: Options,
    /// With `options: any`: options and arguments that are not read-only.
    #[serde(default)]
    pub except: Vec<String>,
    /// Options taking a value.
    #[serde(default)]
    pub values: Vec<String>,
    /// Most plain arguments allowed.
    #[serde(default)]
    pub max_operands: Option<usize>,
    /// Globs every plain argument must match.
    #[serde(default)]
    pub operands: Option<Vec<String>>,
    /// One of these options or operands must be there (`tar -t`, `crontab -l`).
    #[serde(default)]
    pub needs: Vec<String>,
    /// The program's own script is read too: `sed` or `awk`.
    #[serde(default)]
    pub check: Option<String>,
}

/// `any`, or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Options {
    /// `any`.
    Any(String),
    /// The allowed options.
    List(Vec<String>),
}

/// A compiled entry.
pub struct Entry {
    programs: super::Names,
    subcommand: Option<Vec<String>>,
    any: bool,
    allowed: Vec<Pattern>,
    except: Vec<Pattern>,
    short_values: String,
    long_values: Vec<String>,
    max_operands: Option<usize>,
    operands: Option<Vec<globset::GlobMatcher>>,
    needs: Vec<Pattern>,
    /// `sed` or `awk`.
    pub check: Option<String>,
}

impl Entry {
    /// Compile `spec`.
    pub fn new(spec: &Spec) -> Result<Entry, String> {
        let pats = |v: &[String]| {
            v.iter()
                .map(|e| Pattern::new(e, false))
                .collect::<Result<Vec<_>, _>>()
        };
        let any = match &spec.options {
            Options::Any(a) if a == "any" => true,
            Options::Any(other) => {
                return Err(format!("options must be `any` or a list, not `{other}`"));
            }
            Options::List(_) => false,
        };
        let allowed = match &spec.options {
            Options::List(l) => pats(l)?,
            Options::Any(_) => Vec::new(),
        };
        let mut short_values = String::new();
        let mut long_values = Vec::new();
        for v in &spec.values {
            match v.strip_prefix("--") {
                Some(name) => long_values.push(name.to_string()),
                None => short_values.extend(v.strip_prefix('-').unwrap_or(v).chars().take(1)),
            }
        }
        let operands = match &spec.operands {
            Some(globs) => Some(
                globs
                    .iter()
                    .map(|g| {
                        globset::Glob::new(g)
                            .map(|g| g.compile_matcher())
                            .map_err(|e| format!("`{g}`: {}", e.kind()))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        Ok(Entry {
            programs: super::Names::new(&spec.program)?,
            subcommand: spec.subcommand.clone(),
            any,
            allowed,
            except: pats(&spec.except)?,
            short_values,
            long_values,
            max_operands: spec.max_operands,
            operands,
            needs: pats(&spec.needs)?,
            check: spec.check.clone(),
        })
    }

    /// Whether this entry is for `program`.
    pub fn is_for(&self, program: &str) -> bool {
        self.programs.matches(program)
    }

    /// Whether every option of this program is allowed (so file names a glob expands to can
    /// never read as a harmful option).
    pub fn any_option(&self) -> bool {
        self.any && self.except.is_empty() && self.subcommand.is_none()
    }

    /// Whether `args` (after the program, and after git's global options) fit this entry;
    /// the plain arguments it takes as operands are returned for further checks.
    pub fn admits<'a>(&self, args: &'a [String]) -> Option<Vec<&'a str>> {
        let mut args = args;
        if let Some(subs) = &self.subcommand {
            let first = args.first()?;
            if !subs.iter().any(|s| s == first) {
                return None;
            }
            args = &args[1..];
        }
        let values = args::Values {
            short: &self.short_values,
            long: &self.long_values,
        };
        let mut operands = Vec::new();
        let mut seen_needed = self.needs.is_empty();
        let mut done = false;
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_str();
            if !done && a == "--" {
                done = true;
                i += 1;
                continue;
            }
            let option = !done && a.starts_with('-') && a.len() > 1;
            // ` -exec` (an escaped space) is no option to the program, but fails closed here.
            if self
                .except
                .iter()
                .any(|p| p.matches(a, done) || p.matches(a.trim(), done))
            {
                return None;
            }
            if !seen_needed && self.needs.iter().any(|p| p.matches(a, done)) {
                seen_needed = true;
            }
            if option {
                if !self.any && !self.allowed_option(a) {
                    return None;
                }
                let width = values.width(args, i).unwrap_or(1);
                if width == 2
                    && let Some(v) = args.get(i + 1)
                    && self.except.iter().any(|p| p.matches(v, true))
                {
                    return None;
                }
                i += width;
                continue;
            }
            operands.push(a);
            i += 1;
        }
        if !seen_needed {
            return None;
        }
        if self.max_operands.is_some_and(|m| operands.len() > m) {
            return None;
        }
        if let Some(globs) = &self.operands
            && !operands.iter().all(|o| globs.iter().any(|g| g.is_match(o)))
        {
            return None;
        }
        Some(operands)
    }

    /// An option (a long one by its unambiguous prefix among the allowed, each letter of a
    /// cluster) on the allowed list.
    fn allowed_option(&self, a: &str) -> bool {
        if a.starts_with("--") {
            let hits = self
                .allowed
                .iter()
                .filter(|p| matches!(p, Pattern::Long(_)) && p.matches(a, false))
                .count();
            return hits >= 1;
        }
        if self
            .allowed
            .iter()
            .any(|p| matches!(p, Pattern::Word(_)) && p.matches(a, false))
        {
            return true;
        }
        // A cluster: every letter allowed, until one that takes a value.
        for c in a.chars().skip(1) {
            let ok = self
                .allowed
                .iter()
                .any(|p| matches!(p, Pattern::Short(s) if *s == c));
            if !ok {
                return false;
            }
            if self.short_values.contains(c) {
                return true;
            }
        }
        true
    }
}

/// Whether an awk program only reads: no `system`, no pipes to or from commands, no output
/// redirected to files, no extensions or includes.
pub fn awk_reads_only(program: &str) -> bool {
    !(program.contains("system")
        || program.contains("getline")
        || program.contains('|')
        || program.contains('@')
        || program.contains("close")
        || program.contains("fflush")
        || program.contains('>'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(yaml: &str) -> Entry {
        Entry::new(&serde_norway::from_str::<Spec>(yaml).unwrap()).unwrap()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn every_option_must_fit() {
        let sort =
            entry("{program: [sort], options: any, except: [-o, --output, --compress-program]}");
        assert!(sort.admits(&s(&["-rn", "-k2", "f"])).is_some());
        for bad in [
            &["-o", "x"][..],
            &["-ro", "x"],
            &["--out=x"],
            &["--comp=./x"],
        ] {
            assert!(sort.admits(&s(bad)).is_none(), "{bad:?}");
        }
        let branch = entry(
            "{program: [git], subcommand: [branch], options: [-a, --all, -v, --list], max_operands: 0}",
        );
        assert!(branch.admits(&s(&["branch", "-av"])).is_some());
        assert!(branch.admits(&s(&["branch", "--al"])).is_some());
        assert!(branch.admits(&s(&["branch", "new-branch"])).is_none());
        assert!(branch.admits(&s(&["branch", "-D", "x"])).is_none());
        let tar = entry("{program: [tar], options: [-t, -f, -v, -z], values: [-f], needs: [-t]}");
        assert!(tar.admits(&s(&["-tzvf", "x.tgz"])).is_some());
        assert!(tar.admits(&s(&["-xzvf", "x.tgz"])).is_none());
        let dd = entry("{program: [dd], options: any, except: [\"of=*\"]}");
        assert!(dd.admits(&s(&["if=/dev/zero", "count=1"])).is_some());
        assert!(dd.admits(&s(&["if=x", "of=y"])).is_none());
    }

    #[test]
    fn awk_programs_that_run_or_write_are_not_read_only() {
        assert!(awk_reads_only("{print $1}"));
        for bad in [
            "BEGIN{system(\"x\")}",
            "{print | \"sh\"}",
            "{print > \"f\"}",
            "@load \"x\"",
        ] {
            assert!(!awk_reads_only(bad), "{bad}");
        }
    }
}
