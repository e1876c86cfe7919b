//! A learned plan as it stands where the user plans now: evidence is kept per project, so a
//! plan's record here decides, and its record in other projects counts only as a weak prior
//! (`ELSEWHERE` of its weight). `cargo test` working in a crate is a reason to try it in
//! another crate, not to run it in a Node project, and failing in the Node project says
//! nothing against the crate.

use codex_proto::prefs::{PlanPlace, PlanPrefs};

/// The weight of a plan's record in other projects, against its record here.
pub const ELSEWHERE: f64 = 0.25;

/// A learned plan's standing in one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// Posterior mean of satisfying the user here, with the weak prior from elsewhere.
    pub score: f64,
    /// Effective weight of that evidence.
    pub evidence: f64,
    /// Its record here, if it ran here.
    pub here: Option<PlanPlace>,
    /// Runs and successes in other places.
    pub elsewhere_runs: u64,
    /// Successful runs in other places.
    pub elsewhere_successes: u64,
    /// The other places it ran in ("" is outside any project), most runs first.
    pub elsewhere: Vec<String>,
}

impl Standing {
    /// Successes and runs as pseudo-counts for the confidence: here in full, elsewhere weakly.
    pub fn record(&self) -> (f64, f64) {
        let (s, n) = self.here.as_ref().map_or((0, 0), |h| (h.successes, h.runs));
        (
            s as f64 + ELSEWHERE * self.elsewhere_successes as f64,
            n as f64 + ELSEWHERE * self.elsewhere_runs as f64,
        )
    }

    /// It ran here and the user kept it here.
    pub fn kept_here(&self) -> bool {
        self.here.as_ref().is_some_and(|h| h.kept)
    }

    /// It worked at least once where it counts (here when it ran here, else anywhere), or
    /// the user typed it there in a shell.
    pub fn worked(&self) -> bool {
        match &self.here {
            Some(h) => h.successes > 0 || h.typed > 0,
            None => self.elsewhere_successes > 0,
        }
    }
}

/// The Beta counts behind a place's posterior mean and evidence.
fn counts(p: &PlanPlace) -> (f64, f64) {
    let a = (p.score * (2.0 + p.evidence) - 1.0).clamp(0.0, p.evidence.max(0.0));
    (a, (p.evidence - a).max(0.0))
}

/// A plan's places; a record without them (made before evidence was kept per project) is
/// taken as one place, its first project.
fn places(pl: &PlanPrefs) -> Vec<PlanPlace> {
    if !pl.places.is_empty() {
        return pl.places.clone();
    }
    vec![PlanPlace {
        project: pl.projects.first().cloned().unwrap_or_default(),
        score: pl.score,
        evidence: pl.evidence,
        runs: pl.runs,
        successes: pl.successes,
        ratings: pl.ratings,
        mean_rating: pl.mean_rating,
        corrected_away: pl.corrected_away,
        typed: pl.typed,
        kept: true,
    }]
}

/// `pl` where the project root is `root` (`None` outside any project).
pub fn standing(pl: &PlanPrefs, root: Option<&str>) -> Standing {
    let key = root.unwrap_or("");
    let legacy = pl.places.is_empty();
    let (mut a, mut b) = (0.0, 0.0);
    let mut out = Standing {
        score: 0.5,
        evidence: 0.0,
        here: None,
        elsewhere_runs: 0,
        elsewhere_successes: 0,
        elsewhere: Vec::new(),
    };
    for p in places(pl) {
        let (pa, pb) = counts(&p);
        if p.project == key {
            a += pa;
            b += pb;
            out.here = Some(p);
        } else {
            a += ELSEWHERE * pa;
            b += ELSEWHERE * pb;
            out.elsewhere_runs += p.runs;
            out.elsewhere_successes += p.successes;
            out.elsewhere.push(p.project);
        }
    }
    out.score = (1.0 + a) / (2.0 + a + b);
    out.evidence = a + b;
    if legacy && out.here.is_some() {
        // Nothing else to weigh: its own figures, as given.
        out.score = pl.score;
        out.evidence = pl.evidence;
    }
    out
}

/// A place's name in words.
pub fn place_name(root: &str) -> String {
    if root.is_empty() {
        "outside any project".into()
    } else {
        format!("in {root}")
    }
}

/// How a plan went where it counts, in words that do not flatter it: "it worked" only when
/// every run worked and no rating says otherwise.
pub fn how_it_went(s: &Standing) -> String {
    let (runs, successes, mean) = match &s.here {
        Some(h) => (h.runs, h.successes, h.mean_rating),
        None => (s.elsewhere_runs, s.elsewhere_successes, None),
    };
    let rated = mean.map_or(String::new(), |m| format!(", rated {m:.1}/5 on average"));
    if successes == runs && mean.is_none_or(|m| m >= 3.0) {
        format!("it worked{rated}")
    } else {
        format!("it worked {successes} of {runs} times{rated}")
    }
}

/// A learned plan's record where it counts, in words.
pub fn evidence_of(s: &Standing, said_alike: Option<&str>) -> String {
    let goal = said_alike.map_or("this goal".to_string(), |g| format!("\"{g}\""));
    let pct = |succ: u64, runs: u64| {
        if runs == 0 {
            0.0
        } else {
            succ as f64 * 100.0 / runs as f64
        }
    };
    let elsewhere = (s.elsewhere_runs > 0).then(|| {
        format!(
            "; elsewhere {} run{}, {:.0}% success (a weak prior here)",
            s.elsewhere_runs,
            if s.elsewhere_runs == 1 { "" } else { "s" },
            pct(s.elsewhere_successes, s.elsewhere_runs)
        )
    });
    match &s.here {
        Some(h) if h.runs == 0 && h.typed > 0 => format!(
            "you typed it {} time{} here in your shell (imported history){}",
            h.typed,
            if h.typed == 1 { "" } else { "s" },
            elsewhere.unwrap_or_default()
        ),
        Some(h) => format!(
            "you ran it {} time{} here for {goal}, {:.0}% success{}{}{}",
            h.runs,
            if h.runs == 1 { "" } else { "s" },
            pct(h.successes, h.runs),
            h.mean_rating
                .map_or(String::new(), |m| format!(", mean rating {m:.1}")),
            if h.kept {
                ""
            } else {
                " (borrowed, not kept yet: rate it 3 or more, or run it again, to keep it)"
            },
            elsewhere.unwrap_or_default()
        ),
        None => format!(
            "not run here for {goal}{}",
            elsewhere.unwrap_or_else(|| String::from("; no runs elsewhere either"))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(project: &str, score: f64, evidence: f64, runs: u64, ok: u64) -> PlanPlace {
        PlanPlace {
            project: project.into(),
            score,
            evidence,
            runs,
            successes: ok,
            ratings: 0,
            mean_rating: None,
            corrected_away: 0,
            typed: 0,
            kept: true,
        }
    }

    #[test]
    fn evidence_here_decides_and_elsewhere_is_a_weak_prior() {
        let pl = PlanPrefs {
            plan: "npm run test".into(),
            places: vec![
                // Failed 4 times here, worked 8 times elsewhere.
                place("/p/py", 1.0 / 6.0, 4.0, 4, 0),
                place("/p/node", 9.0 / 10.0, 8.0, 8, 8),
            ],
            ..PlanPrefs::default()
        };
        let here = standing(&pl, Some("/p/py"));
        assert!(here.score < 0.5, "{here:?}");
        let there = standing(&pl, Some("/p/node"));
        assert!(there.score > 0.8, "{there:?}");
        let new = standing(&pl, Some("/p/other"));
        assert!(new.here.is_none() && new.worked());
        // Twelve runs elsewhere weigh like three here.
        assert!((new.evidence - ELSEWHERE * 12.0).abs() < 1e-9, "{new:?}");
        assert!(new.score > 0.5 && new.score < there.score);
        assert!(evidence_of(&new, None).contains("not run here"));
    }
}
