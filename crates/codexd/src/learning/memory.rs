//! Episodic memory: the episodes of recent runs, kept in a journaled snapshot.

use std::collections::BTreeMap;

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
        episode: Episode,
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
                self.episodes.insert(id, episode);
            }
        }
    }
}

impl EpisodicMemory {
    /// The newest `limit` episodes, newest first.
    pub fn recent(&self, limit: usize) -> impl Iterator<Item = &Episode> {
        self.episodes.values().rev().take(limit)
    }
}
