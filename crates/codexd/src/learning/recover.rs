//! Opening episodic memory and knowledge at start, and repairing them: a damaged episodic
//! snapshot is rebuilt from the dataset (knowledge with it, so nothing is counted twice),
//! and an eviction a crash interrupted is finished.

use std::collections::HashSet;

use codex_proto::types::RunId;
use tracing::{error, info, warn};

use super::dataset;
use super::knowledge::{self, Knowledge};
use super::memory::{self, EpisodicMemory, MemoryOp};
use crate::config::Config;
use crate::store::journal::Journaled;
use crate::store::{Layout, StoreError};

/// Episodic memory and knowledge, loaded and repaired.
pub(super) fn open_stores(
    layout: &Layout,
    config: &Config,
) -> Result<(Journaled<EpisodicMemory>, Journaled<Knowledge>), StoreError> {
    let compact = config.storage.compact_min_bytes.get();
    let cap = config.learning.episodic_memory_cap.get() as usize;
    let mut rebuild_failed = None;
    let mut from_dataset = false;
    let (mut memory, recovery) = Journaled::<EpisodicMemory>::open_rebuilding(
        layout.episodic.clone(),
        compact,
        |replayed, _| match memory::rebuild_from_dataset(&layout.dataset, replayed, cap) {
            Ok(m) => {
                from_dataset = m.is_some();
                m
            }
            Err(e) => {
                rebuild_failed = Some(e);
                None
            }
        },
    )?;
    let (mut knowledge, _) = Journaled::<Knowledge>::open(layout.semantic.clone(), compact)?;
    if let Some(moved) = &recovery.snapshot_moved_to {
        let runs = memory.state().episodes.len();
        match rebuild_failed {
            Some(e) => error!(
                moved_to = %moved.display(),
                "episodic memory was damaged and could not be rebuilt from the dataset ({e}): \
                 only the {runs} runs its journal held are back"
            ),
            None => warn!(
                moved_to = %moved.display(),
                runs,
                "episodic memory was damaged: {runs} runs are back from the dataset and the \
                 journal; their output tails and step details are lost"
            ),
        }
    }
    if from_dataset {
        // Knowledge again from the dataset, so the runs back in memory are not also counted
        // as consolidated (profiles come from the projects' files and stay).
        let in_memory: HashSet<RunId> = memory.state().episodes.keys().copied().collect();
        let mut rebuilt = knowledge::Rebuild::new(&in_memory);
        let read = dataset::for_each(&layout.dataset, |_, r| {
            if let Some(r) = r {
                rebuilt.push(r);
            }
            Ok(())
        });
        match read {
            Ok(_) => {
                let mut rebuilt = rebuilt.finish();
                rebuilt.profiles = knowledge.state().profiles.clone();
                knowledge.replace(rebuilt)?;
            }
            Err(e) => error!("knowledge could not be rebuilt to match episodic memory: {e}"),
        }
    }
    // An eviction interrupted by a crash: those episodes are already consolidated.
    let interrupted: Vec<RunId> = knowledge
        .state()
        .last_consolidated
        .iter()
        .copied()
        .filter(|r| memory.state().episodes.contains_key(r))
        .collect();
    if !interrupted.is_empty() {
        info!(
            runs = interrupted.len(),
            "finishing an eviction interrupted by a crash"
        );
        memory.append(MemoryOp::Evict { runs: interrupted }, true)?;
    }
    Ok((memory, knowledge))
}
