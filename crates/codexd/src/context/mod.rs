//! Context: what codex knows about where a run happens: the project ([`project`]) and the
//! commands it offers ([`commands`]), read from its own files.
//! The context builder actor (goal history, similar episodes) grows here with the planner.

pub mod commands;
pub mod profile;
pub mod project;
