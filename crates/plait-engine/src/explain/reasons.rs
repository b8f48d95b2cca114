//! What differs between two keys' components, and the other reasons a cause chain ends on,
//! each a [`Reason`] that reads as a sentence about the task (`its version changed`) or about
//! a task named (`` `load`'s version changed ``).

use plait_store::{RunRecord, TaskKey};
use serde_json::Value as Json;

use super::values::{self, Side, shown};

/// One reason a task's key, or its value, differs from an earlier run's.
#[derive(Clone, Debug)]
pub(super) enum Reason {
    /// The earlier run kept no result for the task: why.
    NotKept {
        run_id: String,
        why: String,
    },
    Version {
        old: String,
        new: String,
    },
    Code {
        old: String,
        new: String,
    },
    /// The same code, another build of the program.
    Program,
    NewInput {
        name: String,
    },
    /// An input's value changed: `detail` says how (see `values.rs`).
    Input {
        name: String,
        from: String,
        detail: String,
    },
    GoneInput {
        name: String,
    },
    Renamed,
    /// The task is never reused, so each run executes it and may get another value.
    NeverReused {
        why: String,
    },
    /// Its key was the same as in `run_id`, yet its value was not.
    SameKey {
        run_id: String,
    },
    /// `run_id` recorded no key for the task.
    NotRecorded {
        run_id: String,
    },
    /// Its result came from `run_id`, which is not among the runs read.
    TooFarBack {
        run_id: String,
    },
}

impl Reason {
    /// The reason as a sentence: about "it" when `task` is `None`, else about `task`.
    pub(super) fn sentence(&self, task: Option<&str>) -> String {
        let (it, its) = match task {
            None => ("it".to_owned(), "its".to_owned()),
            Some(task) => (format!("`{task}`"), format!("`{task}`'s")),
        };
        let input = |name: &str| match task {
            None => format!("input `{name}`"),
            Some(_) => format!("{its} input `{name}`"),
        };
        match self {
            Reason::NotKept { run_id, why } => {
                format!("run {run_id} did not keep {its} result ({why})")
            }
            Reason::Version { old, new } => format!("{its} version changed: {old} -> {new}"),
            Reason::Code { old, new } => format!("{its} code changed: {old} -> {new}"),
            Reason::Program => {
                "the program was rebuilt (compiled code is only reused by the same build)"
                    .to_owned()
            }
            Reason::NewInput { name } => format!("{it} has a new input `{name}`"),
            Reason::Input { name, detail, .. } => format!("{} changed: {detail}", input(name)),
            Reason::GoneInput { name } => format!("{} is gone", input(name)),
            Reason::Renamed => format!("{it} was renamed"),
            Reason::NeverReused { why } => {
                format!(
                    "{it} is never reused ({why}), so it ran again and produced a different value"
                )
            }
            Reason::SameKey { run_id } => format!(
                "{its} key is the same as in run {run_id}, yet it produced a different value"
            ),
            Reason::NotRecorded { run_id } => format!("run {run_id} recorded no key for {it}"),
            Reason::TooFarBack { run_id } => {
                format!("{it} reused the result of run {run_id}, too far back to compare with")
            }
        }
    }

    /// The input this reason is about, and where it came from.
    pub(super) fn input(&self) -> Option<(&str, &str)> {
        match self {
            Reason::Input { name, from, .. } => Some((name, from)),
            _ => None,
        }
    }

    /// The upstream output (`<task>.<port>`) whose change this is, if it is one.
    pub(super) fn upstream(&self) -> Option<&str> {
        self.input()
            .map(|(_, from)| from)
            .filter(|from| !from.starts_with("input ") && !from.starts_with("given "))
    }
}

/// What changed between two keys' components: the task's own changes, then the values its
/// upstream tasks produced differently.
pub(super) fn differences(
    old: &TaskKey,
    new: &TaskKey,
    old_run: &RunRecord,
    new_run: &RunRecord,
) -> Vec<Reason> {
    let (old, new) = (&old.components_json(), &new.components_json());
    let mut changes = Vec::new();
    if let Some(why) = old.get("disabled") {
        changes.push(Reason::NotKept {
            run_id: old_run.summary.run_id.to_string(),
            why: why.as_str().unwrap_or("caching was off").to_owned(),
        });
        return changes;
    }
    if old.get("version") != new.get("version") {
        changes.push(Reason::Version {
            old: shown(old.get("version")),
            new: shown(new.get("version")),
        });
    }
    if old.get("code") != new.get("code") {
        changes.push(Reason::Code {
            old: shown(old.get("code")),
            new: shown(new.get("code")),
        });
    } else if old.get("program") != new.get("program") {
        changes.push(Reason::Program);
    }
    let empty = serde_json::Map::new();
    let old_inputs = old
        .get("inputs")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    let new_inputs = new
        .get("inputs")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    for (name, input) in new_inputs {
        let Some(before) = old_inputs.get(name) else {
            changes.push(Reason::NewInput { name: name.clone() });
            continue;
        };
        if before.get("hash") == input.get("hash") {
            continue;
        }
        let from = input.get("from").and_then(Json::as_str).unwrap_or("?");
        let detail = values::input_change(
            from,
            Side {
                input: before,
                run: old_run,
            },
            Side {
                input,
                run: new_run,
            },
        );
        changes.push(Reason::Input {
            name: name.clone(),
            from: from.to_owned(),
            detail,
        });
    }
    for name in old_inputs.keys() {
        if !new_inputs.contains_key(name) {
            changes.push(Reason::GoneInput { name: name.clone() });
        }
    }
    if old.get("task") != new.get("task") {
        changes.push(Reason::Renamed);
    }
    // The task's own changes first: any of them alone made it run.
    changes.sort_by_key(|reason| reason.upstream().is_some());
    changes
}
