//! Context: what codex knows about where a run happens. For now, project detection
//! ([`project`]), which the learning pipeline uses to file episodes and patterns by project.
//! The context builder actor (goal history, similar episodes) grows here with the planner.

pub mod project;
