//! Goal retrieval on a held-out set: 100 paraphrases of 25 goals
//! (`tests/data/heldout_paraphrases.tsv`), written from the goal list alone before the
//! embedder's synonym table was read, and never used to tune it. The figure is printed and
//! reported in docs/benchmarks.md; the floor only catches an embedder that stopped working.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use codexd::planner::embed::{cosine, embed};

#[test]
fn held_out_paraphrases_find_their_goal() {
    let text = include_str!("data/heldout_paraphrases.tsv");
    let pairs: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .collect();
    let mut goals: Vec<&str> = pairs.iter().map(|(g, _)| *g).collect();
    goals.sort_unstable();
    goals.dedup();
    assert!(
        goals.len() >= 25 && pairs.len() >= 100,
        "the set is complete"
    );
    let vectors: Vec<(&str, Vec<f32>)> = goals.iter().map(|g| (*g, embed(g))).collect();
    let mut hits = 0;
    for (goal, paraphrase) in &pairs {
        let q = embed(paraphrase);
        let best = vectors
            .iter()
            .max_by(|a, b| cosine(&q, &a.1).total_cmp(&cosine(&q, &b.1)))
            .map(|v| v.0);
        if best == Some(*goal) {
            hits += 1;
        } else {
            eprintln!("miss: {paraphrase:?} -> {best:?}, want {goal:?}");
        }
    }
    let precision = f64::from(hits) / pairs.len() as f64;
    eprintln!(
        "held-out retrieval precision@1: {precision:.2} ({hits} of {} paraphrases of {} goals)",
        pairs.len(),
        goals.len()
    );
    assert!(
        precision >= 0.25,
        "precision {precision:.2}: the embedder is broken"
    );
}
