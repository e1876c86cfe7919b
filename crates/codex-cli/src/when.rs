//! `--since WHEN`: an RFC 3339 time, a local date, or a time ago (`2h`, `3d`).

use chrono::{DateTime, Duration, Local, NaiveDate, TimeZone, Utc};

/// The moment `s` names, `now` being now: `2026-12-01T10:00:00Z`, `2026-12-01` (local
/// midnight), or a number and a unit ago: `s`, `m`, `h`, `d`, `w` (`90m`, `2h`, `3d`).
pub fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .and_then(|t| Local.from_local_datetime(&t).earliest())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| format!("`{s}` has no local midnight (a time-zone change?)"));
    }
    ago(s)
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| {
            format!(
                "`{s}` is not a time: use an RFC 3339 time (2026-12-01T10:00:00Z), a date \
                 (2026-12-01) or a time ago (90m, 2h, 3d, 1w)"
            )
        })
}

/// `2h` as a duration; `None` for anything else (or an overflowing number).
fn ago(s: &str) -> Option<Duration> {
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    if n < 0 {
        return None;
    }
    let secs = match unit.to_ascii_lowercase() {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    Duration::try_seconds(n.checked_mul(secs)?)
}

/// `--every`: an interval as `90s`, `10m`, `2h`, `1d`, `1w` or a sum (`1h30m`), in seconds.
pub fn parse_interval(s: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "`{s}` is not an interval: use a number and a unit (s, m, h, d, w), e.g. 90s, 10m, 1h30m"
        )
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        digits.clear();
        any = true;
    }
    if !any || !digits.is_empty() {
        return Err(bad());
    }
    if total == 0 {
        return Err(format!("`{s}` is zero: an interval must be at least 1s"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn at(s: &str) -> String {
        parse_since(s, now()).unwrap().to_rfc3339()
    }

    #[test]
    fn times_dates_and_durations_ago() {
        assert_eq!(at("2026-11-01T10:00:00Z"), "2026-11-01T10:00:00+00:00");
        assert_eq!(at("2026-11-01T10:00:00+02:00"), "2026-11-01T08:00:00+00:00");
        assert_eq!(at("2h"), "2026-12-02T10:00:00+00:00");
        assert_eq!(at("90m"), "2026-12-02T10:30:00+00:00");
        assert_eq!(at("3d"), "2026-11-29T12:00:00+00:00");
        assert_eq!(at("1w"), "2026-11-25T12:00:00+00:00");
        assert_eq!(at(" 45s "), "2026-12-02T11:59:15+00:00");
        assert_eq!(at("0h"), "2026-12-02T12:00:00+00:00");
        let midnight = Local
            .from_local_datetime(
                &NaiveDate::from_ymd_opt(2026, 12, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
            )
            .earliest()
            .unwrap();
        assert_eq!(
            parse_since("2026-12-01", now()).unwrap(),
            midnight.with_timezone(&Utc)
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_forms_named() {
        for bad in [
            "",
            "h",
            "2",
            "-2h",
            "2y",
            "yesterday",
            "2026-13-01",
            "9999999999999999999d",
            "2hh",
            "1é",
        ] {
            let e = parse_since(bad, now()).unwrap_err();
            assert!(
                e.contains("RFC 3339") || e.contains("midnight"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("90s"), Ok(90));
        assert_eq!(parse_interval("10m"), Ok(600));
        assert_eq!(parse_interval("1h30m"), Ok(5400));
        assert_eq!(parse_interval("2d"), Ok(172_800));
        for bad in ["", "10", "m", "10x", "1.5h", "0s", "99999999999999999999w"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
