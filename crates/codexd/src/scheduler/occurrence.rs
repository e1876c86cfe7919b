//! One occurrence of a job: its fixed plan's steps, one after another, through the executor's
//! unattended policy. Nobody is attached, so nothing ever waits on a prompt: a step that needs
//! a yes is held in `codex approvals` and the occurrence ends there ("held"); if the user says
//! yes later, that step runs then, recorded with the job.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::Utc;
use codex_proto::runs::PlanSource;
use codex_proto::schedule::{JobPolicy, OccurrenceResult};
use codex_proto::types::RunPart;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::jobs::{Finished, Job};
use crate::episode::Trigger;
use crate::executor::{ExecError, ExecutorHandle, Origin, RunRequest, Spec, Update};

/// Updates buffered from a step nobody watches (drained; the episode keeps the tail).
const UPDATES: usize = 64;

/// The environment a job's steps run with: codexd's own, with the `PATH` the job was added
/// with, so its programs are the ones its plan was checked against.
fn env(job: &Job) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    if let Some(path) = &job.path {
        env.insert("PATH".into(), path.clone());
    }
    env
}

/// The request for step `i` of the job's plan.
pub fn request(job: &Job, i: usize) -> Option<RunRequest> {
    let plan = &job.plan;
    let step = plan.steps.get(i)?;
    Some(RunRequest {
        spec: Spec {
            argv: step.argv.clone(),
            cwd: job.cwd.clone(),
            env: Some(env(job)),
            launcher: Vec::new(),
        },
        // An explicit command is its own goal, so it is learned by its tool like one typed.
        goal: (!job.explicit).then(|| job.goal.clone()),
        yes: false,
        interactive: false,
        unattended: true,
        min_class: step.class,
        picked_over: None,
        part: if job.plan.steps[..i].iter().all(|s| s.dry_run) {
            RunPart::Whole
        } else {
            RunPart::Continues
        },
        unconfined: false,
        plan_source: (!job.explicit).then(|| PlanSource {
            pick: 1,
            of: 1,
            command: plan.command.clone(),
            rationale: step.rationale.clone(),
            evidence: plan.evidence.clone(),
            ranking: format!("the plan of job {}, fixed when it was added", job.id),
            borrowed: plan.borrowed.clone(),
            // A job's plan is fixed: no choice is made here.
            candidates: Vec::new(),
            propensity: None,
            from_model: plan.from_model,
        }),
        origin: Origin {
            trigger: Trigger::Schedule,
            job: Some(job.id),
            allowlist_only: job.policy == JobPolicy::Allowlist,
        },
    })
}

/// A step held in `codex approvals`: it runs if the user says yes, and its task answers then.
#[derive(Debug)]
pub struct HeldStep {
    /// The approval it waits on.
    pub approval: u64,
    /// Its command line.
    pub command: String,
    /// Steps of the plan after it (they do not run).
    pub rest: usize,
    /// The step's run, answered once approved and run, or denied, or expired.
    pub step: tokio::task::JoinHandle<Result<crate::executor::RunReport, ExecError>>,
}

/// Run the job's plan; the result says how far it got, and which step waits for a yes.
/// `cancel` (codexd stopping) stops the running step and makes the occurrence "interrupted".
pub async fn run(
    executor: ExecutorHandle,
    job: Job,
    cancel: CancellationToken,
) -> (Finished, Option<HeldStep>) {
    let clock = Instant::now();
    let mut runs = Vec::new();
    let steps = job.plan.steps.len();
    let end = |result: OccurrenceResult, detail: String, runs: Vec<_>| Finished {
        result,
        detail,
        runs,
        duration_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
        at: Utc::now(),
    };
    for i in 0..steps {
        // A dry run put first for a user who dry-runs is for a person to read: nobody is
        // there to read it.
        if job.plan.steps[i].dry_run {
            continue;
        }
        let Some(req) = request(&job, i) else { break };
        let command = crate::episode::command_line(&req.spec.argv);
        let (tx, mut updates) = mpsc::channel(UPDATES);
        let step = tokio::spawn({
            let executor = executor.clone();
            let cancel = cancel.clone();
            async move { executor.run(req, tx, cancel).await }
        });
        let mut held = None;
        while let Some(u) = updates.recv().await {
            match u {
                Update::Held { approval, why } => {
                    held = Some((approval, why));
                    break;
                }
                Update::Started { run_id, .. } => runs.push(run_id),
                _ => {}
            }
        }
        if let Some((approval, why)) = held {
            // The step waits for its answer on its own; its updates still need a reader.
            tokio::spawn(async move { while updates.recv().await.is_some() {} });
            let rest = steps - i - 1;
            let after = if rest == 0 {
                String::new()
            } else {
                format!("; the {rest} step(s) after it did not run")
            };
            let held = HeldStep {
                approval,
                command,
                rest,
                step,
            };
            return (
                end(
                    OccurrenceResult::Held,
                    format!("{why}: approval {approval} in `codex approvals`{after}"),
                    runs,
                ),
                Some(held),
            );
        }
        let report = match step.await {
            Ok(r) => r,
            Err(e) => Err(ExecError::Invalid(format!("the step's task failed: {e}"))),
        };
        let ended = match report {
            Ok(r) if cancel.is_cancelled() && !r.outcome.success() => Some((
                OccurrenceResult::Interrupted,
                format!("codexd stopped while `{command}` ran"),
            )),
            Ok(r) => {
                if !runs.contains(&r.run_id) {
                    runs.push(r.run_id);
                }
                (!r.outcome.success()).then(|| {
                    (
                        OccurrenceResult::Failed,
                        format!("`{command}` {} (run {})", r.outcome.label(), r.run_id),
                    )
                })
            }
            Err(ExecError::Gone) => Some((
                OccurrenceResult::Interrupted,
                format!("codexd stopped before `{command}` ran"),
            )),
            Err(ExecError::Refused(r)) => Some((OccurrenceResult::Refused, r.reason)),
            Err(e) => Some((
                OccurrenceResult::Refused,
                format!("`{command}` did not run: {e}"),
            )),
        };
        if let Some((result, detail)) = ended {
            return (end(result, detail, runs), None);
        }
    }
    (
        end(
            OccurrenceResult::Succeeded,
            format!("{steps} step(s) succeeded"),
            runs,
        ),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_proto::methods::{PlanStep, PlannedCommand};
    use codex_proto::schedule::{CatchUp, When};

    fn step(argv: &[&str], dry_run: bool) -> PlanStep {
        PlanStep {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            rationale: "why".into(),
            class: None,
            dry_run,
        }
    }

    fn job(policy: JobPolicy, steps: Vec<PlanStep>) -> Job {
        Job {
            id: 7,
            name: None,
            goal: "deploy it".into(),
            explicit: false,
            cwd: "/p".into(),
            path: Some("/only/here".into()),
            when: When::EverySecs(60),
            policy,
            catch_up: CatchUp::Once,
            plan: PlannedCommand {
                command: "make deploy".into(),
                steps,
                score: 0.5,
                confidence: 0.5,
                alignment: 0.5,
                evidence: "ran 3 times".into(),
                borrowed: None,
                propensity: None,
                from_model: false,
            },
            paused: false,
            created: chrono::DateTime::UNIX_EPOCH,
            active_since: chrono::DateTime::UNIX_EPOCH,
            proposal: None,
            interval_secs: None,
            anchor: None,
            paused_by: None,
        }
    }

    #[test]
    fn a_jobs_step_runs_unattended_as_the_jobs_with_its_path() {
        let j = job(
            JobPolicy::Allowlist,
            vec![
                step(&["make", "-n", "deploy"], true),
                step(&["make", "deploy"], false),
                step(&["echo", "done"], false),
            ],
        );
        let r = request(&j, 1).unwrap();
        assert!(r.unattended && !r.interactive && !r.yes && !r.unconfined);
        assert_eq!(r.origin.trigger, Trigger::Schedule);
        assert_eq!(r.origin.job, Some(7));
        assert!(r.origin.allowlist_only);
        // The first step after a planned dry run is the plan's first choice.
        assert_eq!(r.part, RunPart::Whole);
        assert_eq!(request(&j, 2).unwrap().part, RunPart::Continues);
        let env = r.spec.env.unwrap();
        assert_eq!(env.get("PATH").map(String::as_str), Some("/only/here"));
        assert_eq!(r.goal.as_deref(), Some("deploy it"));
        assert!(r.plan_source.unwrap().ranking.contains("job 7"));
        assert!(request(&j, 3).is_none());
        let deny = job(JobPolicy::Deny, vec![step(&["ls"], false)]);
        assert!(!request(&deny, 0).unwrap().origin.allowlist_only);
    }
}
