//! Requests answered at once (everything but `run`): one function per method.

use codex_proto::PROTOCOL_VERSION;
use codex_proto::jsonrpc::{ErrorObject, codes};
use codex_proto::methods::{
    DaemonStop, DaemonStopResult, Hello, HelloParams, HelloResult, History, HistoryParams,
    HistoryResult, Method, PrefsShow, PrefsShowResult, Rate, RateParams, RateResult, Run, Status,
    StatusResult,
};
use codex_proto::types::HistoryEntry;
use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use crate::feedback::FeedbackError;
use crate::learning::LearningError;

/// Every method the daemon answers, for the unknown-method error.
const METHODS: &[&str] = &[
    Hello::NAME,
    Status::NAME,
    Run::NAME,
    Rate::NAME,
    History::NAME,
    PrefsShow::NAME,
    DaemonStop::NAME,
];

/// Runs shown by `history` when no limit is given, and the most it returns.
const HISTORY_DEFAULT: u32 = 20;
const HISTORY_MAX: u32 = 10_000;

/// Answer one request.
pub async fn call(ctx: &Ctx, method: &str, raw: Value) -> Result<Value, ErrorObject> {
    match method {
        Hello::NAME => to_value(&hello(ctx, params::<Hello>(raw)?)?),
        Status::NAME => {
            params::<Status>(raw)?;
            to_value(&status(ctx).await?)
        }
        Rate::NAME => to_value(&rate(ctx, params::<Rate>(raw)?).await?),
        History::NAME => to_value(&history(ctx, params::<History>(raw)?).await?),
        PrefsShow::NAME => {
            params::<PrefsShow>(raw)?;
            to_value(&prefs_show(ctx))
        }
        DaemonStop::NAME => {
            params::<DaemonStop>(raw)?;
            ctx.shutdown.cancel();
            to_value(&DaemonStopResult { pid: ctx.info.pid })
        }
        other => Err(ErrorObject::new(
            codes::METHOD_NOT_FOUND,
            format!(
                "unknown method `{other}`; this daemon answers: {}",
                METHODS.join(", ")
            ),
        )),
    }
}

/// Read a method's params; an omitted `params` means `{}`.
pub fn params<M: Method>(raw: Value) -> Result<M::Params, ErrorObject> {
    let raw = if raw.is_null() {
        Value::Object(Default::default())
    } else {
        raw
    };
    serde_json::from_value(raw).map_err(|e| {
        ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("invalid params for `{}`: {e}", M::NAME),
        )
    })
}

/// Serialize a result.
pub fn to_value<T: Serialize>(v: &T) -> Result<Value, ErrorObject> {
    serde_json::to_value(v).map_err(|e| {
        ErrorObject::new(
            codes::INTERNAL_ERROR,
            format!("cannot encode the result: {e}"),
        )
    })
}

fn hello(ctx: &Ctx, p: HelloParams) -> Result<HelloResult, ErrorObject> {
    if let Some(v) = p.protocol
        && v != PROTOCOL_VERSION
    {
        return Err(ErrorObject::new(
            codes::PROTOCOL_MISMATCH,
            format!(
                "this codexd speaks protocol {PROTOCOL_VERSION}, the client speaks {v}; \
                     restart the daemon (`codex daemon stop`) so client and daemon match"
            ),
        ));
    }
    Ok(HelloResult {
        daemon_version: codex_proto::VERSION.into(),
        protocol: PROTOCOL_VERSION,
        pid: ctx.info.pid,
        home: ctx.info.home.clone(),
    })
}

async fn status(ctx: &Ctx) -> Result<StatusResult, ErrorObject> {
    let stats = ctx.learning.stats().await.map_err(learning_error)?;
    let ratings = ctx.feedback.count().await.map_err(feedback_error)?;
    let active_runs = ctx
        .executor
        .active()
        .await
        .map_err(|e| ErrorObject::new(codes::SHUTTING_DOWN, e.to_string()))?;
    let i = &ctx.info;
    Ok(StatusResult {
        version: codex_proto::VERSION.into(),
        protocol: PROTOCOL_VERSION,
        pid: i.pid,
        started_at: i.started_at,
        uptime_secs: i.started.elapsed().as_secs(),
        home: i.home.clone(),
        socket: i.socket.clone(),
        config: i.config.clone(),
        tracking: i.tracking,
        episodes: stats.episodes,
        ratings,
        active_runs,
    })
}

async fn rate(ctx: &Ctx, p: RateParams) -> Result<RateResult, ErrorObject> {
    if !(1..=5).contains(&p.score) {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("score must be from 1 to 5, got {}", p.score),
        ));
    }
    let episode = ctx
        .learning
        .resolve(p.run_id)
        .await
        .map_err(learning_error)?;
    let (run_id, goal) = (episode.run_id, episode.goal.clone());
    let done = ctx
        .feedback
        .rate(episode, p.score, p.comment)
        .await
        .map_err(feedback_error)?;
    Ok(RateResult {
        run_id,
        goal,
        score: p.score,
        previous: done.previous,
    })
}

async fn history(ctx: &Ctx, p: HistoryParams) -> Result<HistoryResult, ErrorObject> {
    let limit = p.limit.unwrap_or(HISTORY_DEFAULT).min(HISTORY_MAX) as usize;
    let episodes = ctx.learning.recent(limit).await.map_err(learning_error)?;
    let ids = episodes.iter().map(|e| e.run_id).collect();
    let mut ratings = ctx
        .feedback
        .ratings_for(ids)
        .await
        .map_err(feedback_error)?;
    let runs = episodes
        .into_iter()
        .map(|e| {
            let r = ratings.remove(&e.run_id);
            HistoryEntry {
                run_id: e.run_id,
                started_at: e.started_at,
                goal: e.goal,
                cwd: e.cwd.display().to_string(),
                outcome: e.outcome,
                duration_ms: e.duration_ms,
                rating: r.as_ref().map(|r| r.score),
                comment: r.and_then(|r| r.comment),
            }
        })
        .collect();
    Ok(HistoryResult { runs })
}

fn prefs_show(ctx: &Ctx) -> PrefsShowResult {
    let profile = ctx.feedback.profile();
    PrefsShowResult {
        programs: profile.programs.clone(),
        satisfaction: profile.satisfaction.clone(),
        learning: profile.learning,
    }
}

fn learning_error(e: LearningError) -> ErrorObject {
    let code = match &e {
        LearningError::NoRuns { .. } | LearningError::UnknownRun(_) => codes::NOT_FOUND,
        LearningError::Store(_) => codes::STORAGE,
        LearningError::Gone => codes::SHUTTING_DOWN,
    };
    ErrorObject::new(code, e.to_string())
}

fn feedback_error(e: FeedbackError) -> ErrorObject {
    let code = match &e {
        FeedbackError::Store(_) => codes::STORAGE,
        FeedbackError::Gone => codes::SHUTTING_DOWN,
    };
    ErrorObject::new(code, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn omitted_params_mean_empty_and_bad_params_say_why() {
        assert_eq!(
            params::<Status>(Value::Null).unwrap(),
            codex_proto::methods::NoParams {}
        );
        let e = params::<Rate>(json!({"score": "five"})).unwrap_err();
        assert_eq!(e.code, codes::INVALID_PARAMS);
        assert!(
            e.message.starts_with("invalid params for `rate`"),
            "{}",
            e.message
        );
    }
}
