//! `capture/record` and `capture/state`: a command typed in a shell with codex's hook, checked,
//! filtered (paused, leading space, `capture.exclude_dirs`, `capture.exclude_patterns`),
//! redacted, then recorded as an interaction by the learning pipeline and, when it is a
//! project's own command for a task, taught to feedback as a shell habit the way `import`
//! does (`super::import::habits`). Never a run.

use chrono::{DateTime, Utc};
use codex_proto::capture::{
    CaptureAction, CaptureRecordParams, CaptureRecordResult, CaptureStateParams, CaptureStatus,
    MAX_COMMAND_BYTES,
};
use codex_proto::jsonrpc::{ErrorObject, codes};
use codex_proto::methods::ImportEntry;

use super::Ctx;
use super::dispatch::{feedback_error, learning_error};
use crate::context::project;
use crate::learning::capture::Captured;
use crate::learning::redact;

/// The longest folder accepted, in bytes (Linux's PATH_MAX).
const MAX_CWD_BYTES: usize = 4096;

/// What `capture/record` did: the answer, and the command it recorded (redacted), for
/// whoever else wants to see what the user types (the scheduler's pattern scan, say) without
/// reading the dataset back.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The answer to the client.
    pub result: CaptureRecordResult,
    /// The command recorded; `None` when it was left out.
    pub accepted: Option<Captured>,
}

/// Check, filter, redact and record one captured command.
pub async fn record(ctx: &Ctx, p: CaptureRecordParams) -> Result<Recorded, ErrorObject> {
    check(&p)?;
    let skipped = |why: String| {
        ctx.capture.count_skipped();
        Ok(Recorded {
            result: CaptureRecordResult {
                recorded: false,
                skipped: Some(why),
                taught: false,
            },
            accepted: None,
        })
    };
    if let Err(off) = ctx.capture.gate() {
        return skipped(off.to_string());
    }
    if let Some(why) = ctx.capture.filters().excluded(&p.command, &p.cwd) {
        return skipped(why.to_string());
    }
    let at = started_at(&p, Utc::now());
    let command = redact::redact(p.command.trim()).into_owned();
    let captured = Captured {
        at,
        command,
        project: project::detect(&p.cwd).filter(|_| p.cwd.is_dir()),
        cwd: p.cwd.clone(),
        exit: p.exit,
        duration_ms: p.duration_ms,
    };
    // A habit is read from the command as typed (its words, not the redacted text), exactly
    // as an imported line is; a command with a secret in it is never one.
    let habits = if ctx.info.context_aware {
        super::import::habits(&[ImportEntry {
            command: p.command.trim().to_string(),
            at: Some(at.timestamp()),
            cwd: Some(p.cwd),
        }])
    } else {
        Vec::new()
    };
    let recorded = ctx
        .learning
        .capture(captured.clone())
        .await
        .map_err(learning_error)?;
    if !recorded {
        return skipped("empty once normalized".into());
    }
    ctx.capture.count_recorded();
    let taught =
        !habits.is_empty() && ctx.feedback.typed(habits).await.map_err(feedback_error)? > 0;
    Ok(Recorded {
        result: CaptureRecordResult {
            recorded: true,
            skipped: None,
            taught,
        },
        accepted: Some(captured),
    })
}

/// Pause, resume or show capture.
pub fn state(ctx: &Ctx, p: CaptureStateParams) -> Result<CaptureStatus, ErrorObject> {
    let paused = match p.action {
        CaptureAction::Status => None,
        CaptureAction::Pause => Some(true),
        CaptureAction::Resume => Some(false),
    };
    if let Some(paused) = paused {
        ctx.capture.set_paused(paused).map_err(|e| {
            ErrorObject::new(
                codes::INTERNAL_ERROR,
                format!(
                    "cannot {} capture: {e}",
                    if paused { "pause" } else { "resume" }
                ),
            )
        })?;
    }
    Ok(ctx.capture.status())
}

/// The params a request must have to be recorded: a command within the cap, an absolute
/// folder, a known shell.
fn check(p: &CaptureRecordParams) -> Result<(), ErrorObject> {
    let bad = |m: String| Err(ErrorObject::new(codes::INVALID_PARAMS, m));
    if p.command.len() > MAX_COMMAND_BYTES {
        return bad(format!(
            "command of {} bytes not recorded: at most {MAX_COMMAND_BYTES} bytes are (a longer \
             one is a pasted blob, not a habit)",
            p.command.len()
        ));
    }
    if !p.cwd.is_absolute() {
        return bad(format!(
            "working directory {} is not absolute",
            p.cwd.display()
        ));
    }
    if p.cwd.as_os_str().len() > MAX_CWD_BYTES {
        return bad(format!(
            "working directory of {} bytes: at most {MAX_CWD_BYTES}",
            p.cwd.as_os_str().len()
        ));
    }
    if let Some(s) = &p.shell
        && !matches!(s.as_str(), "bash" | "zsh" | "fish")
    {
        return bad(format!(
            "unknown shell `{}`: bash, zsh or fish",
            s.chars().take(32).collect::<String>()
        ));
    }
    Ok(())
}

/// When the command started: as sent, else now less its duration; a time out of range is now.
fn started_at(p: &CaptureRecordParams, now: DateTime<Utc>) -> DateTime<Utc> {
    match p.start_ms {
        Some(ms) => DateTime::from_timestamp_millis(ms).unwrap_or(now),
        None => {
            let back = p
                .duration_ms
                .and_then(|d| i64::try_from(d).ok())
                .and_then(chrono::TimeDelta::try_milliseconds)
                .unwrap_or_default();
            now.checked_sub_signed(back).unwrap_or(now)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::path::PathBuf;

    fn params(command: &str, cwd: &str) -> CaptureRecordParams {
        CaptureRecordParams {
            command: command.into(),
            cwd: PathBuf::from(cwd),
            start_ms: None,
            exit: Some(0),
            duration_ms: None,
            shell: Some("bash".into()),
        }
    }

    #[test]
    fn oversized_commands_relative_folders_and_unknown_shells_are_refused_by_name() {
        assert!(check(&params("ls", "/tmp")).is_ok());
        let big = "x".repeat(MAX_COMMAND_BYTES + 1);
        let e = check(&params(&big, "/tmp")).unwrap_err();
        assert_eq!(e.code, codes::INVALID_PARAMS);
        assert!(e.message.contains("16384"), "{}", e.message);
        assert!(check(&params(&"x".repeat(MAX_COMMAND_BYTES), "/tmp")).is_ok());
        let e = check(&params("ls", "src")).unwrap_err();
        assert!(e.message.contains("not absolute"), "{}", e.message);
        let mut p = params("ls", "/tmp");
        p.shell = Some("tcsh".into());
        assert!(check(&p).unwrap_err().message.contains("tcsh"));
    }

    #[test]
    fn the_start_is_as_sent_or_now_less_the_duration() {
        let now = DateTime::from_timestamp(1_700_000_100, 0).unwrap();
        let mut p = params("ls", "/tmp");
        p.start_ms = Some(1_700_000_000_500);
        assert_eq!(started_at(&p, now).timestamp_millis(), 1_700_000_000_500);
        p.start_ms = None;
        p.duration_ms = Some(2_000);
        assert_eq!(started_at(&p, now).timestamp(), 1_700_000_098);
        p.duration_ms = Some(u64::MAX);
        assert_eq!(started_at(&p, now), now);
        p.start_ms = Some(i64::MAX);
        assert_eq!(started_at(&p, now), now);
    }
}
