//! Episodic memory: the most recent episodes, kept in a journaled snapshot and bounded by
//! `learning.episodic_memory_cap`; older ones are consolidated into knowledge and evicted.

use std::collections::{BTreeMap, HashSet};

use codex_proto::types::RunId;
use serde::{Deserialize, Serialize};

use crate::episode::Episode;
use crate::store::journal::State;

/// The state behind `storage/episodic/personalized_memory.json`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodicMemory {
    /// The next run id to hand out; survives even when episodes are later forgotten, so ids
    /// are never reused for recorded runs.
    pub next_run_id: u64,
    /// The run that finished last (what `codex rate` rates by default).
    pub last_finished: Option<RunId>,
    /// Episodes by run id.
    pub episodes: BTreeMap<RunId, Episode>,
}

/// A change to episodic memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MemoryOp {
    /// A run finished.
    Record {
        /// The episode.
        episode: Box<Episode>,
    },
    /// A run was rated (a re-rating replaces the score).
    Rate {
        /// The run.
        run_id: RunId,
        /// 1..5.
        score: u8,
        /// The comment.
        comment: Option<String>,
    },
    /// These episodes were consolidated into knowledge and leave memory.
    Evict {
        /// The runs.
        runs: Vec<RunId>,
    },
    /// The user asked to forget these runs.
    Forget {
        /// The runs.
        runs: Vec<RunId>,
    },
}

impl State for EpisodicMemory {
    type Op = MemoryOp;

    fn apply(&mut self, op: MemoryOp) {
        match op {
            MemoryOp::Record { episode } => {
                let id = episode.run_id;
                self.next_run_id = self.next_run_id.max(id.0 + 1);
                self.last_finished = Some(id);
                self.episodes.insert(id, *episode);
            }
            MemoryOp::Rate {
                run_id,
                score,
                comment,
            } => {
                if let Some(e) = self.episodes.get_mut(&run_id) {
                    e.rating = Some(score);
                    e.comment = comment;
                }
            }
            MemoryOp::Evict { runs } => {
                for r in runs {
                    self.episodes.remove(&r);
                }
            }
            MemoryOp::Forget { runs } => {
                let runs: HashSet<RunId> = runs.into_iter().collect();
                self.episodes.retain(|id, _| !runs.contains(id));
                if self.last_finished.is_some_and(|l| runs.contains(&l)) {
                    self.last_finished = None;
                }
            }
        }
    }
}

impl EpisodicMemory {
    /// The newest `limit` episodes, newest first.
    pub fn recent(&self, limit: usize) -> impl Iterator<Item = &Episode> {
        self.episodes.values().rev().take(limit)
    }

    /// The oldest episodes beyond `cap`, plus a tenth of `cap` more, so eviction (and the
    /// consolidation write that comes with it) happens once per many runs, not every run.
    pub fn over_cap(&self, cap: usize) -> Vec<&Episode> {
        if self.episodes.len() <= cap {
            return Vec::new();
        }
        let n = self.episodes.len() - cap + cap / 10;
        self.episodes.values().take(n).collect()
    }
}

/// Episodic memory rebuilt from the dataset when its snapshot was lost: every example
/// becomes an episode (with its latest label as the rating), the newest `cap` are kept (the
/// older ones count as consolidated), and what the journal alone still held (`replayed`)
/// wins. Output tails and step details are not in the dataset and stay lost. `None` when
/// the dataset holds no example.
pub fn rebuild_from_dataset(
    dataset: &std::path::Path,
    replayed: &EpisodicMemory,
    cap: usize,
) -> Result<Option<EpisodicMemory>, crate::store::StoreError> {
    use super::dataset::Record;
    let mut examples: BTreeMap<RunId, super::dataset::Example> = BTreeMap::new();
    let mut labels: std::collections::HashMap<RunId, (u8, Option<String>)> = Default::default();
    super::dataset::for_each(dataset, |_, r| {
        match r {
            Some(Record::Example(e)) => {
                examples.insert(e.run_id, (**e).clone());
            }
            Some(Record::Label {
                run_id,
                score,
                comment,
                ..
            }) => {
                labels.insert(*run_id, (*score, comment.clone()));
            }
            _ => {}
        }
        Ok(())
    })?;
    if examples.is_empty() {
        return Ok(None);
    }
    let mut m = EpisodicMemory::default();
    let keep_from = examples.len().saturating_sub(cap);
    for (id, e) in examples.into_iter().skip(keep_from) {
        let (rating, comment) = labels
            .remove(&id)
            .map_or((None, None), |(s, c)| (Some(s), c));
        let started_at =
            e.at - chrono::Duration::milliseconds(i64::try_from(e.duration_ms).unwrap_or(0));
        m.apply(MemoryOp::Record {
            episode: Box::new(Episode {
                run_id: id,
                goal: e.goal,
                goal_normalized: e.goal_normalized,
                category: e.category,
                project: e.project,
                program: e.program,
                tool: e.tool,
                plan: e.plan,
                argv: e.argv,
                cwd: e.cwd,
                trigger: e.trigger,
                job: e.job,
                steps: Vec::new(),
                approvals: e.approvals,
                started_at,
                finished_at: e.at,
                outcome: e.outcome,
                duration_ms: e.duration_ms,
                rating,
                comment,
                part: codex_proto::types::RunPart::Whole,
                plan_source: None,
            }),
        });
    }
    for (id, ep) in &replayed.episodes {
        m.episodes.insert(*id, ep.clone());
    }
    m.next_run_id = m.next_run_id.max(replayed.next_run_id);
    m.last_finished = m.episodes.keys().next_back().copied();
    Ok(Some(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(id: u64) -> Episode {
        Episode::sample(id, None)
    }

    #[test]
    fn over_cap_takes_the_oldest_with_slack() {
        let mut m = EpisodicMemory::default();
        for id in 1..=25 {
            m.apply(MemoryOp::Record {
                episode: Box::new(ep(id)),
            });
        }
        assert!(m.over_cap(30).is_empty());
        let out: Vec<u64> = m.over_cap(20).iter().map(|e| e.run_id.0).collect();
        assert_eq!(out, (1..=7).collect::<Vec<_>>()); // 5 over the cap + 2 slack
    }

    #[test]
    fn forgetting_the_last_run_clears_the_default_but_keeps_ids_growing() {
        let mut m = EpisodicMemory::default();
        m.apply(MemoryOp::Record {
            episode: Box::new(ep(1)),
        });
        m.apply(MemoryOp::Record {
            episode: Box::new(ep(2)),
        });
        m.apply(MemoryOp::Rate {
            run_id: RunId(2),
            score: 4,
            comment: Some("ok".into()),
        });
        assert_eq!(m.episodes[&RunId(2)].rating, Some(4));
        m.apply(MemoryOp::Forget {
            runs: vec![RunId(2)],
        });
        assert_eq!(m.last_finished, None);
        assert_eq!(m.next_run_id, 3);
        assert_eq!(m.episodes.len(), 1);
    }
}
