//! `--json`: the objects printed about runs, one serialized view type each, whatever they
//! are read from (the engine's report, the store's record or its list of runs), the
//! problems `plait check --json` found, and `plait explain --json`'s answer. The JSON
//! Schemas in `crates/plait-cli/schema/` describe them; `docs/cli-json.md`, for users.

mod check;
mod explain;
mod record;
mod report;
#[cfg(test)]
mod schema;
mod view;

pub(crate) use check::CheckView;
pub(crate) use explain::ExplainView;
pub(crate) use record::{recorded_definition, recorded_plan};
pub(crate) use view::{RunSummaryView, RunView};

/// Prints `value` as one line of JSON on stdout.
pub(crate) fn print(value: &impl serde::Serialize) {
    let text = serde_json::to_string(value).expect("views have string keys and finite numbers");
    println!("{text}");
}
