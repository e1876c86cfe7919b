//! Upper bounds on every duration, size and count in the config. Each is far above any
//! sensible setting and far below what would overflow the time and size arithmetic that
//! uses it (chrono panics past ~9.2e15 s). Keys are bounded by their name's unit, so a key
//! added later is bounded too.

use serde_json::Value;

use super::Config;

/// Ten years, in seconds: the longest any `_secs` key (or `safety.timeouts` entry) may be.
pub const MAX_SECS: u64 = 10 * 365 * 24 * 3600;
/// One day, in milliseconds: the longest any `_ms` key may be.
pub const MAX_MS: u64 = 24 * 3600 * 1000;
/// A hundred years, in days.
pub const MAX_DAYS: f64 = 36_500.0;
/// Largest byte size of a message or an output tail held in memory.
pub const MAX_MEMORY_BYTES: u64 = 64 * 1024 * 1024;
/// Largest byte size of a file on disk (a journal before compaction).
pub const MAX_FILE_BYTES: u64 = 1 << 40;
/// Largest evidence weight (`*_weight`): far past any sensible one, and far from where
/// posterior arithmetic would overflow.
pub const MAX_WEIGHT: f64 = 1000.0;
/// Largest count (batch sizes, caps, connections, examples).
pub const MAX_COUNT: u64 = 10_000_000;

/// The first key whose value is past its bound, with the message to show.
pub fn first_out_of_bounds(c: &Config) -> Option<(String, String)> {
    let tree = serde_json::to_value(c).ok()?;
    let mut found = None;
    walk(&tree, "", &mut found);
    found
}

fn walk(v: &Value, path: &str, found: &mut Option<(String, String)>) {
    if found.is_some() {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(child, &p, found);
            }
        }
        Value::Number(n) => *found = check(path, n),
        _ => {}
    }
}

fn check(path: &str, n: &serde_json::Number) -> Option<(String, String)> {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let under_timeouts = path.starts_with("safety.timeouts.");
    if let Some(v) = n.as_u64() {
        let (max, unit) = if leaf.ends_with("_secs") || under_timeouts {
            (MAX_SECS, "seconds (ten years)")
        } else if leaf.ends_with("_ms") {
            (MAX_MS, "milliseconds (one day)")
        } else if leaf == "compact_min_bytes" || leaf == "storage_alert_bytes" {
            (MAX_FILE_BYTES, "bytes (1 TiB)")
        } else if leaf.ends_with("_bytes") {
            (MAX_MEMORY_BYTES, "bytes (64 MiB)")
        } else {
            (MAX_COUNT, "")
        };
        return (v > max).then(|| {
            let key = if under_timeouts {
                "safety.timeouts".to_string()
            } else {
                path.to_string()
            };
            (
                key,
                format!("{v} is too large: at most {max} {unit}")
                    .trim_end()
                    .to_string(),
            )
        });
    }
    let f = n.as_f64()?;
    if leaf.ends_with("_days") && f > MAX_DAYS {
        return Some((
            path.into(),
            format!("{f} is too large: at most {MAX_DAYS} days"),
        ));
    }
    if leaf.ends_with("_weight") && f > MAX_WEIGHT {
        return Some((
            path.into(),
            format!("{f} is too large: at most {MAX_WEIGHT}"),
        ));
    }
    None
}
