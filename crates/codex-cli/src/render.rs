//! Shared output helpers: JSON on stdout, tables, times and durations for people.

use chrono::{DateTime, Local, Utc};
use comfy_table::{Cell, CellAlignment, Table, presets};
use serde::Serialize;

use crate::error::CliError;

/// Print `value` as one line of JSON on stdout.
pub fn json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let s = serde_json::to_string(value)
        .map_err(|e| CliError::Other(format!("cannot encode output: {e}")))?;
    println!("{s}");
    Ok(())
}

/// A borderless table with a header row; columns listed in `right` are right-aligned.
pub fn table(header: &[&str], right: &[usize]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    t.set_header(header.iter().map(Cell::new));
    for &i in right {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// Print a table without the leading space the preset puts on each line.
pub fn print_table(t: &Table) {
    for line in t.lines() {
        println!(
            "{}",
            line.trim_end().strip_prefix(' ').unwrap_or(line.trim_end())
        );
    }
}

/// `2026-11-24 14:13` in local time.
pub fn when(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
}

/// `s` safe to print on a terminal: control characters (an escape sequence that would erase
/// what is shown, a carriage return, a newline) as `\u{..}` escapes, so what is shown is what
/// there is.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    // Format characters and blank fillers too: they make text read as other text.
    let hidden = codex_proto::text::is_hidden;
    if !s.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| {
                if hidden(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// `2026-11-24 14:13:05` in local time: for jobs, whose occurrences may be seconds apart.
pub fn when_exact(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `850ms`, `12.3s`, `4m 05s`, `2h 03m`.
pub fn duration_ms(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m {:02}s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{}h {:02}m", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

/// `3d 4h`, `2h 3m`, `5m 2s`, `7s`.
pub fn uptime(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h {}m", secs / 3600, (secs / 60) % 60),
        _ => format!("{}d {}h", secs / 86400, (secs / 3600) % 24),
    }
}

/// Cut `s` to at most `max` characters, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Cut `s` to at most `max` characters from the left, keeping its end: `…/src/app`.
pub fn truncate_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_string()
    } else {
        let mut out = String::from("…");
        out.extend(s.chars().skip(n - max.saturating_sub(1)));
        out
    }
}

/// A path for people: under `$HOME` it starts with `~`.
pub fn home_path(path: &str) -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    shorten_home(path, &home)
}

fn shorten_home(path: &str, home: &str) -> String {
    let home = home.trim_end_matches('/');
    if home.is_empty() {
        return path.to_string();
    }
    match path.strip_prefix(home) {
        Some("") => "~".to_string(),
        Some(rest) if rest.starts_with('/') => format!("~{rest}"),
        _ => path.to_string(),
    }
}

/// A sparkline of `values` scaled between `lo` and `hi`: `▁▂▃▄▅▆▇█`, one character each.
pub fn sparkline(values: &[f64], lo: f64, hi: f64) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let span = (hi - lo).max(f64::EPSILON);
    values
        .iter()
        .map(|v| {
            let x = ((v - lo) / span).clamp(0.0, 1.0);
            BARS[((x * 7.0).round() as usize).min(7)]
        })
        .collect()
}

/// `93%`.
/// `n` with its noun, singular for one: `1 run`, `2 runs`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `x` as a percentage.
pub fn percent(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// A command line as a shell would read it back.
pub fn command(argv: &[String]) -> String {
    let line = shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "));
    printable(&line).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_span_the_scale() {
        assert_eq!(sparkline(&[1.0, 3.0, 5.0, 9.0, 0.0], 1.0, 5.0), "▁▅██▁");
        assert_eq!(sparkline(&[], 1.0, 5.0), "");
    }

    #[test]
    fn counts_take_the_singular_for_one() {
        assert_eq!(count(1, "run", "runs"), "1 run");
        assert_eq!(count(0, "run", "runs"), "0 runs");
        assert_eq!(count(2, "episode", "episodes"), "2 episodes");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_ms(850), "850ms");
        assert_eq!(duration_ms(12_340), "12.3s");
        assert_eq!(duration_ms(245_000), "4m 05s");
        assert_eq!(duration_ms(7_380_000), "2h 03m");
        assert_eq!(uptime(7), "7s");
        assert_eq!(uptime(3725), "1h 2m");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("a long goal text", 6), "a lon…");
        assert_eq!(truncate_left("/home/u/src/app", 8), "…src/app");
        assert_eq!(truncate_left("~/app", 8), "~/app");
    }

    #[test]
    fn paths_under_home_start_with_a_tilde() {
        assert_eq!(shorten_home("/home/u/src/app", "/home/u"), "~/src/app");
        assert_eq!(shorten_home("/home/u", "/home/u/"), "~");
        assert_eq!(
            shorten_home("/home/user2/app", "/home/u"),
            "/home/user2/app"
        );
        assert_eq!(shorten_home("/srv/app", ""), "/srv/app");
        assert_eq!(shorten_home("/srv/app", "/"), "/srv/app");
    }
}
