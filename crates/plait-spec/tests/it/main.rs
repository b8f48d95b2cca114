//! plait-spec's one integration-test binary (STYLE.md rule 11): every test goes through the
//! public API, loading a file's text and snapshotting what a user would see.

mod files;
mod limits;
mod plans;
mod report;
mod syntax;
mod validation;

use std::fmt::Write as _;
use std::path::Path;

use expect_test::Expect;
use plait_core::{NodeKind, Plan, Source};
use plait_spec::{FileDiagnostic, Format, Loaded, SpecError, load_str};

/// Where test files pretend to live: messages name it, commands run in its directory.
const TOML_PATH: &str = "/flows/test.toml";
const JSON_PATH: &str = "/flows/test.json";

/// Loads `input` as TOML and snapshots the plan, or every diagnostic.
fn check(input: &str, expect: Expect) {
    expect.assert_eq(&render(load_str(input, Path::new(TOML_PATH), Format::Toml)));
}

/// Loads `input` as JSON and snapshots the plan, or every diagnostic.
fn check_json(input: &str, expect: Expect) {
    expect.assert_eq(&render(load_str(input, Path::new(JSON_PATH), Format::Json)));
}

fn load_toml(input: &str) -> Loaded {
    match load_str(input, Path::new(TOML_PATH), Format::Toml) {
        Ok(loaded) => loaded,
        Err(error) => panic!("{}", render(Err(error))),
    }
}

fn render(result: Result<Loaded, SpecError>) -> String {
    match result {
        Ok(loaded) => {
            let mut out = plan_summary(&loaded);
            for warning in &loaded.warnings {
                out.push_str(&diagnostic(warning));
            }
            out
        }
        Err(SpecError::Invalid { diagnostics }) => {
            let mut out = String::new();
            for d in &diagnostics {
                out.push_str(&diagnostic(d));
            }
            let summary = SpecError::Invalid { diagnostics }.to_string();
            writeln!(out, "=> {summary}").unwrap();
            out
        }
        Err(error) => format!("{error}\n"),
    }
}

/// A diagnostic as the CLI prints it, then its related places.
fn diagnostic(d: &FileDiagnostic) -> String {
    let mut out = format!("{d}\n");
    for (span, label) in d.labels.iter().skip(1) {
        let (line, column) = line_column(d.source_text(), span.start);
        writeln!(out, "  also {line}:{column}: {label}").unwrap();
    }
    out
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

/// Everything about a plan a test may care about, one fact per line.
fn plan_summary(loaded: &Loaded) -> String {
    let plan = &loaded.plan;
    let mut out = format!(
        "workflow `{}` ({} tasks, on_failure {:?})\n",
        loaded.name,
        plan.n_tasks(),
        plan.on_failure()
    );
    if let Some(description) = &loaded.description {
        writeln!(out, "  description: {description}").unwrap();
    }
    for input in plan.inputs() {
        let default = input
            .default
            .as_ref()
            .map(|v| format!(" = {v:?}"))
            .unwrap_or_default();
        writeln!(out, "input {}: {}{default}", input.name, input.ty).unwrap();
    }
    for (id, node) in plan.nodes().iter().enumerate() {
        out.push_str(&node_line(plan, id as u32, node));
    }
    for (name, source) in plan.outputs() {
        writeln!(out, "output {name} <- {}", source_name(plan, source)).unwrap();
    }
    for scope in plan.scopes() {
        writeln!(
            out,
            "retry scope `{}`: {} attempts, backoff {:?}, {} nodes",
            scope.path,
            scope.retry.attempts,
            scope.retry.backoff,
            scope.nodes.len()
        )
        .unwrap();
    }
    out
}

fn node_line(plan: &Plan, id: u32, node: &plait_core::PlanNode) -> String {
    let after: Vec<String> = plan
        .predecessors(id)
        .iter()
        .map(|&p| node_name(plan, p))
        .collect();
    let after = if after.is_empty() {
        String::new()
    } else {
        format!(" after [{}]", after.join(", "))
    };
    match &node.kind {
        NodeKind::Barrier { end, .. } => {
            let which = if *end { "end" } else { "start" };
            format!("{which} of flow `{}`{after}\n", node.path)
        }
        NodeKind::Task(slot) => {
            let requires: Vec<String> = slot
                .requires()
                .iter()
                .zip(slot.sources.iter())
                .map(|(port, source)| {
                    format!(
                        "{}: {} <- {}",
                        port.name,
                        port.ty,
                        source_name(plan, source)
                    )
                })
                .collect();
            let provides: Vec<String> = slot
                .provides()
                .iter()
                .map(|port| format!("{}: {}", port.name, port.ty))
                .collect();
            let retry = &slot.policy.retry;
            let mut policy = format!(
                "attempts {}, backoff {:?}, max {:?}, x{}, jitter {}",
                retry.attempts, retry.backoff, retry.max_backoff, retry.multiplier, retry.jitter
            );
            if let Some(timeout) = slot.policy.timeout {
                write!(policy, ", timeout {timeout:?}").unwrap();
            }
            format!(
                "task `{}` [{}]{after}\n  requires [{}] provides [{}]\n  {policy}\n",
                node.path,
                slot.task.kind(),
                requires.join(", "),
                provides.join(", "),
            )
        }
    }
}

fn node_name(plan: &Plan, id: u32) -> String {
    let node = plan.node(id);
    match &node.kind {
        NodeKind::Barrier { end: true, .. } => format!("end `{}`", node.path),
        NodeKind::Barrier { end: false, .. } => format!("start `{}`", node.path),
        NodeKind::Task(_) => format!("`{}`", node.path),
    }
}

fn source_name(plan: &Plan, source: &Source) -> String {
    match *source {
        Source::Input(idx) => format!("input `{}`", plan.inputs()[idx as usize].name),
        Source::Output { node, port } => {
            let node = plan.node(node);
            let port = &node.task().unwrap().provides()[port as usize].name;
            format!("`{}`.{port}", node.path)
        }
        Source::Given(idx) => format!("given value {idx}"),
    }
}
