//! Recurring goals, proposed as jobs.
