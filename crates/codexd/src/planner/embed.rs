//! Local embeddings: feature hashing of words, word pairs and character trigrams into a fixed
//! vector, normalized, so "execute the test suite" lands near "run the tests" without a model
//! or the network. Cosine similarity is then a dot product.

/// Vector size: enough buckets that collisions between a user's few hundred goals are rare.
pub const DIM: usize = 512;

/// Words that say little about what is wanted.
pub(crate) const STOP: &[&str] = &[
    "the",
    "a",
    "an",
    "please",
    "my",
    "our",
    "this",
    "that",
    "it",
    "all",
    "of",
    "for",
    "to",
    "and",
    "in",
    "on",
    "with",
    "now",
    "again",
    "then",
    "just",
    "me",
    "can",
    "you",
    "i",
    "everything",
    "thing",
    "whole",
    "git",
    "any",
    "project",
    "code",
    "changes",
];

/// Synonyms folded to one word before hashing: the paraphrases people use for the same tasks.
const SYNONYMS: &[(&str, &str)] = &[
    ("execute", "run"),
    ("launch", "run"),
    ("start", "run"),
    ("kick", "run"),
    ("fire", "run"),
    ("tests", "test"),
    ("testsuite", "test"),
    ("suite", "test"),
    ("specs", "test"),
    ("spec", "test"),
    ("testing", "test"),
    ("unittests", "test"),
    ("compile", "build"),
    ("building", "build"),
    ("builds", "build"),
    ("make", "build"),
    ("linter", "lint"),
    ("linting", "lint"),
    ("clippy", "lint"),
    ("vet", "lint"),
    ("formatter", "format"),
    ("formatting", "format"),
    ("fmt", "format"),
    ("prettify", "format"),
    ("reformat", "format"),
    ("ship", "deploy"),
    ("publish", "deploy"),
    ("deployment", "deploy"),
    ("prod", "production"),
    ("stage", "staging"),
    ("remove", "clean"),
    ("cleanup", "clean"),
    ("wipe", "clean"),
    ("delete", "clean"),
    ("update", "upgrade"),
    ("bump", "upgrade"),
    ("deps", "dependencies"),
    ("dependency", "dependencies"),
    ("packages", "dependencies"),
    ("db", "database"),
    ("migrations", "migrate"),
    ("migration", "migrate"),
    ("docs", "documentation"),
    ("doc", "documentation"),
    ("serve", "run"),
    ("green", "test"),
    ("broke", "test"),
    ("binaries", "build"),
    ("binary", "build"),
    ("smells", "lint"),
    ("static", "lint"),
    ("pretty", "format"),
    ("autoformat", "format"),
    ("style", "format"),
    ("live", "production"),
    ("customers", "production"),
    ("lock", "dependencies"),
    ("lockfile", "dependencies"),
    ("refresh", "upgrade"),
    ("schema", "migrate"),
    ("app", "server"),
    ("local", "dev"),
    ("locally", "dev"),
    ("development", "dev"),
    ("modified", "status"),
    ("changed", "status"),
    ("origin", "remote"),
    ("github", "remote"),
    ("commits", "commit"),
    ("setup", "install"),
    ("benchmarks", "bench"),
    ("benchmark", "bench"),
    ("perf", "bench"),
    ("performance", "bench"),
    ("speed", "bench"),
    ("profile", "bench"),
    ("untested", "coverage"),
    ("largest", "biggest"),
    ("large", "biggest"),
    ("big", "biggest"),
    ("disk", "biggest"),
    ("types", "type"),
    ("typecheck", "type"),
    ("mypy", "type"),
    ("tsc", "type"),
    ("container", "docker"),
    ("containerize", "docker"),
    ("end", "stop"),
    ("kill", "stop"),
    ("shut", "stop"),
    ("tag", "release"),
    ("upstream", "remote"),
    ("clear", "clean"),
    ("purge", "clean"),
    ("set", "install"),
];

/// Verbs so common they say little about which task: they count for less.
const LIGHT: &[&str] = &["run", "do", "show", "get"];

pub(crate) fn fold(word: &str) -> &str {
    SYNONYMS
        .iter()
        .find(|(from, _)| *from == word)
        .map_or(word, |(_, to)| *to)
}

/// FNV-1a: small, fast, stable across runs and machines (unlike the std hasher).
fn bucket(feature: &str, salt: u8) -> (usize, f32) {
    let mut h: u64 = 0xcbf29ce484222325 ^ u64::from(salt);
    for b in feature.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    // The top bit gives a sign, so colliding features cancel instead of piling up.
    let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
    ((h % DIM as u64) as usize, sign)
}

/// The embedding of a text.
pub fn embed(text: &str) -> Vec<f32> {
    let lower = without_substitutions(&text.to_lowercase());
    // Each word once, and no one-letter words: repeated junk (`touch x && touch x`) must not
    // make two goals look alike.
    let mut words: Vec<&str> = Vec::new();
    for w in lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 1 && !STOP.contains(w))
        .map(fold)
    {
        if !words.contains(&w) {
            words.push(w);
        }
    }
    let mut v = vec![0f32; DIM];
    for w in &words {
        let (i, s) = bucket(w, 1);
        v[i] += if LIGHT.contains(w) { 0.7 } else { 2.0 } * s;
        let padded = format!("^{w}$");
        let chars: Vec<char> = padded.chars().collect();
        for tri in chars.windows(3) {
            let t: String = tri.iter().collect();
            let (i, s) = bucket(&t, 2);
            v[i] += 0.5 * s;
        }
    }
    for pair in words.windows(2) {
        let (i, s) = bucket(&format!("{} {}", pair[0], pair[1]), 3);
        v[i] += 1.0 * s;
    }
    normalize(&mut v);
    v
}

/// The text without shell command substitutions (`$(…)`, backticks): code pasted into a goal
/// says nothing about the task.
fn without_substitutions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut in_tick = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' if depth == 0 => in_tick = !in_tick,
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                depth += 1;
            }
            '(' if depth > 0 => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth > 0 || in_tick => {}
            c => out.push(c),
        }
    }
    out
}

/// Scale to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let n: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// `a` mixed with `context` at `weight`, normalized: the same words in two projects end up
/// near but not equal.
pub fn mix(a: &[f32], context: &[f32], weight: f32) -> Vec<f32> {
    let mut v: Vec<f32> = a.iter().zip(context).map(|(x, c)| x + weight * c).collect();
    normalize(&mut v);
    v
}

/// How much of a project's vector is mixed into a goal's: the same goal in two projects has
/// cosine 1 / (1 + w²) ≈ 0.92, near but not equal.
pub const PROJECT_WEIGHT: f32 = 0.3;

/// A project's own direction (from its root, in a hash space of its own so a project called
/// "test" is not the word "test"); zero for runs outside any project.
pub fn project_vector(root: Option<&str>, dim: usize) -> Vec<f32> {
    let mut v = vec![0f32; dim];
    if let Some(r) = root.filter(|r| !r.is_empty() && dim > 0) {
        // Several buckets, so two projects rarely share their whole direction.
        for k in 0..4u8 {
            let (i, s) = bucket(r, 16 + k);
            v[i % dim] += s;
        }
        normalize(&mut v);
    }
    v
}

/// A goal's embedding (of any length: local or from an endpoint) placed in a project.
pub fn in_project(goal: &[f32], root: Option<&str>) -> Vec<f32> {
    mix(goal, &project_vector(root, goal.len()), PROJECT_WEIGHT)
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goals a user has run, and paraphrases of each that should find it first: the labeled
    /// set behind the retrieval figure in docs/benchmarks.md.
    pub(crate) const LABELED: &[(&str, &[&str])] = &[
        (
            "run the tests",
            &[
                "execute the test suite",
                "run tests please",
                "kick off the specs",
                "test it",
            ],
        ),
        (
            "build it",
            &[
                "compile the project",
                "make a build",
                "build the release binary",
            ],
        ),
        (
            "lint the code",
            &["run the linter", "check for lint warnings", "run clippy"],
        ),
        (
            "format the code",
            &["run the formatter", "reformat everything", "fmt"],
        ),
        (
            "deploy staging",
            &[
                "ship it to staging",
                "push to the staging environment",
                "release to stage",
            ],
        ),
        (
            "deploy production",
            &["ship to prod", "release to production"],
        ),
        (
            "clean the build",
            &["wipe build artifacts", "cleanup the build folder"],
        ),
        (
            "update dependencies",
            &["bump the deps", "upgrade packages"],
        ),
        (
            "run database migrations",
            &["migrate the db", "apply migrations"],
        ),
        (
            "start the dev server",
            &["serve the app locally", "launch the server"],
        ),
        (
            "build the docs",
            &["generate documentation", "make the docs"],
        ),
        (
            "show git status",
            &["what changed in git", "git status please"],
        ),
    ];

    #[test]
    fn paraphrases_find_their_goal_first() {
        let goals: Vec<(&str, Vec<f32>)> = LABELED.iter().map(|(g, _)| (*g, embed(g))).collect();
        let (mut hits, mut total) = (0, 0);
        for (goal, paraphrases) in LABELED {
            for p in *paraphrases {
                let q = embed(p);
                let best = goals
                    .iter()
                    .max_by(|a, b| cosine(&q, &a.1).total_cmp(&cosine(&q, &b.1)))
                    .map(|g| g.0);
                total += 1;
                if best == Some(*goal) {
                    hits += 1;
                } else {
                    eprintln!("miss: {p:?} → {best:?}, want {goal:?}");
                }
            }
        }
        let precision = hits as f64 / total as f64;
        eprintln!(
            "retrieval precision@1 on {total} paraphrases of {} goals: {precision:.2}",
            LABELED.len()
        );
        assert!(precision >= 0.8, "precision {precision:.2}");
    }

    #[test]
    fn vectors_are_unit_and_context_separates_projects() {
        let a = embed("run the tests");
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-5);
        let shop = embed("project shop rust");
        let blog = embed("project blog node");
        let (x, y) = (mix(&a, &shop, 0.3), mix(&a, &blog, 0.3));
        let near = cosine(&x, &y);
        assert!(
            near > 0.8 && near < 0.999,
            "same words, two projects: {near}"
        );
        assert_eq!(embed("").iter().filter(|x| **x != 0.0).count(), 0);
        // Placed in projects: the same goal is nearest in its own project.
        let (here, there) = (
            in_project(&a, Some("/src/shop")),
            in_project(&a, Some("/src/blog")),
        );
        let same = cosine(&here, &in_project(&a, Some("/src/shop")));
        let other = cosine(&here, &there);
        assert!((same - 1.0).abs() < 1e-5);
        assert!(other > 0.85 && other < 0.95, "{other}");
        // A project named like a goal word is not that word.
        let t = embed("test");
        assert!(cosine(&t, &project_vector(Some("test"), DIM)).abs() < 0.2);
    }
}
