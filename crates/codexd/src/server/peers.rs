//! Requests from codexd's own steps. A step — confined or not, or any process it started —
//! may read (status, history, plans, the rules), but never change what may run or what codex
//! knows: rules, approvals, preferences, memory, playbooks, imports, new runs, stopping the
//! daemon, and any method added later unless it is listed here as read-only. Otherwise a
//! step could add `allow '*'`, approve its own held step or raise the comfort, and the next
//! step would run unasked. Confined steps cannot reach the socket at all; this check is for
//! the rest, on every request, from the peer's credentials.

use codex_proto::capture::CaptureState;
use codex_proto::jsonrpc::{ErrorObject, codes};
use codex_proto::methods::{
    Approvals, Context, Export, Hello, History, ImportMarkGet, Method, Plan, Playbooks, PrefsShow,
    Rules, RunCheck, Status,
};
use codex_proto::optimizer::{Alerts, ModelStatus};
use codex_proto::runs::RunShow;
use codex_proto::schedule::{ScheduleList, ScheduleShow, Suggest, SuggestJobs};
use serde_json::Value;

use super::Ctx;
use crate::executor::steps::Peer;

/// Methods that change nothing (with the params they change nothing with).
const READ_ONLY: &[&str] = &[
    Hello::NAME,
    Status::NAME,
    History::NAME,
    RunShow::NAME,
    PrefsShow::NAME,
    RunCheck::NAME,
    Plan::NAME,
    Context::NAME,
    Export::NAME,
    Playbooks::NAME,
    Approvals::NAME,
    Rules::NAME,
    ImportMarkGet::NAME,
    CaptureState::NAME,
    ScheduleList::NAME,
    ScheduleShow::NAME,
    Suggest::NAME,
    SuggestJobs::NAME,
    Alerts::NAME,
    ModelStatus::NAME,
];

/// Whether `method` with `params` would change permissions or data. Unknown methods count
/// as changing: what is not known to be harmless is treated as the dangerous case.
pub fn changes_something(method: &str, params: &Value) -> bool {
    if !READ_ONLY.contains(&method) {
        return true;
    }
    // Listing methods that can also change: only their listing form is read-only.
    let has = |key: &str| params.get(key).is_some_and(|v| !v.is_null());
    match method {
        m if m == Playbooks::NAME => has("remove"),
        m if m == Approvals::NAME => has("answer"),
        m if m == Rules::NAME => has("add") || has("remove"),
        m if m == CaptureState::NAME => params
            .get("action")
            .is_some_and(|a| !a.is_null() && a != "status"),
        _ => false,
    }
}

/// Whether the peer is one of codexd's steps (or cannot be told apart from one).
pub fn is_step(ctx: &Ctx, peer: Option<i32>) -> bool {
    !matches!(ctx.executor.steps.peer(peer, ctx.info.pid), Peer::Outside)
}

/// The error for a changing request from one of codexd's steps; `None` for anyone else.
pub fn refusal(ctx: &Ctx, peer: Option<i32>, method: &str) -> Option<ErrorObject> {
    let why = match ctx.executor.steps.peer(peer, ctx.info.pid) {
        Peer::Outside => return None,
        Peer::Step(why) | Peer::Unknown(why) => why,
    };
    tracing::warn!(method, %why, "refused a request from one of codexd's own steps");
    Some(ErrorObject::new(
        codes::REFUSED,
        format!(
            "refused `{method}`: the request comes from a step codex is running, or cannot be \
             told apart from one ({why}); a step cannot change what codex allows or knows \
             (rules, approvals, preferences, memory, playbooks) or start runs. Do it yourself \
             from a terminal"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_listing_forms_are_read_only_and_unknown_methods_change() {
        for (method, params, changes) in [
            ("status", json!(null), false),
            ("history", json!({}), false),
            ("rules", json!({}), false),
            (
                "rules",
                json!({"add": {"kind": "allow", "pattern": "*"}}),
                true,
            ),
            ("rules", json!({"remove": "x"}), true),
            (
                "approvals",
                json!({"answer": {"id": 1, "approved": true}}),
                true,
            ),
            ("approvals", json!({"answer": null}), false),
            ("playbooks", json!({"remove": "deploy"}), true),
            ("prefs/set", json!({}), true),
            ("forget", json!({"all": true}), true),
            ("teach", json!({}), true),
            ("import", json!({}), true),
            ("run", json!({}), true),
            ("run/detach", json!({}), true),
            ("daemon/stop", json!(null), true),
            ("rate", json!({}), true),
            ("schedule/add", json!({}), true),
            ("no/such/method", json!({}), true),
        ] {
            assert_eq!(
                changes_something(method, &params),
                changes,
                "{method} {params}"
            );
        }
    }
}
