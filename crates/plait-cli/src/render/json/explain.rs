//! What `plait explain RUN TASK --json` prints: why a task executed or was reused, and the
//! chain back to the first cause.

use plait_engine::explain::{Explanation, Link, Verdict};
use schemars::JsonSchema;
use serde::Serialize;

/// Why a task executed or was reused in a run, as `plait explain RUN TASK --json` prints it.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ExplainView {
    /// The task's path.
    task: String,
    verdict: VerdictView,
    /// The id of the run whose result it reused. Null unless `verdict` is `reused`.
    reused_from: Option<String>,
    /// Sentences, the main reason first: each change of its key (the task's own changes
    /// before values its upstream tasks produced differently), or why there is none to
    /// compare.
    reasons: Vec<String>,
    /// The id of the earlier run compared with. Null when there is none.
    compared_with: Option<String>,
    /// The task's cache key in this run. Null when it had none.
    key: Option<String>,
    /// From the task to the first cause: the task first, then, while a link's reason is a
    /// value an upstream task produced differently, that task.
    cause: Vec<LinkView>,
    /// The chain as one sentence: the first cause, then the outputs it changed on the way to
    /// the task.
    first_cause: String,
}

/// What happened to the task in the run.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum VerdictView {
    Executed,
    Reused,
    NotRun,
}

/// One link of the chain to the first cause.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct LinkView {
    /// The task's path.
    task: String,
    /// The input of it that changed. Null when the reason is not an input (its version, its
    /// code, a task never reused).
    input: Option<String>,
    /// Where that input came from: `input NAME` for a run input, `TASK.PORT` for an upstream
    /// task's output (the next link's task). Null with `input`.
    from: Option<String>,
    /// The reason, as a sentence about the task.
    reason: String,
}

impl From<&Explanation> for ExplainView {
    fn from(explanation: &Explanation) -> ExplainView {
        let (verdict, reused_from) = match &explanation.verdict {
            Verdict::Reused { from_run } => (VerdictView::Reused, Some(from_run.clone())),
            Verdict::Executed => (VerdictView::Executed, None),
            Verdict::NotRun => (VerdictView::NotRun, None),
        };
        ExplainView {
            task: explanation.task.clone(),
            verdict,
            reused_from,
            reasons: explanation.reasons.clone(),
            compared_with: explanation.compared_with.clone(),
            key: explanation.key.clone(),
            cause: explanation.cause.iter().map(LinkView::from).collect(),
            first_cause: explanation.first_cause.clone(),
        }
    }
}

impl From<&Link> for LinkView {
    fn from(link: &Link) -> LinkView {
        LinkView {
            task: link.task.clone(),
            input: link.input.clone(),
            from: link.from.clone(),
            reason: link.reason.clone(),
        }
    }
}
