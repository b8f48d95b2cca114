//! Stage two: the [`Node`] tree -> core's [`Workflow`], plus a [`SpanMap`] so core's
//! diagnostics can be located in the file.
//!
//! Reading goes on past every problem: a wrong value is reported and left out (or replaced
//! by a stand-in the span map marks as tainted), so one pass shows every problem in the file.

mod fields;
mod member;
mod policy;
mod ports;
mod types;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use plait_core::{Flow, FlowKind, OnFailure, Workflow};

use self::fields::{Schema, quote_list, suggest};
use self::policy::Defaults;
use crate::diagnostics::Problem;
use crate::spans::SpanMap;
use crate::syntax::{Entry, Node, Span};

const WORKFLOW: Schema = Schema {
    keys: &[
        "name",
        "description",
        "on_failure",
        "outputs",
        "flow",
        "workdir",
        "defaults",
        "inputs",
        "tasks",
    ],
    note: None,
};

/// What reading the schema produced.
#[derive(Debug)]
pub(crate) struct ReadWorkflow {
    pub(crate) workflow: Workflow,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) spans: SpanMap,
    pub(crate) problems: Vec<Problem>,
    /// A limit stopped reading: what was read is partial, so core would only add noise.
    pub(crate) stopped: bool,
    /// The directory commands run in, and where the file names it, if `workdir` does.
    pub(crate) workdir: Option<(PathBuf, Span)>,
}

/// Reads a workflow from the tree of the file at `path`.
pub(crate) fn read(root: &Node, path: &Path) -> ReadWorkflow {
    let mut reader = Reader {
        problems: Vec::new(),
        spans: SpanMap::default(),
        defaults: Defaults::default(),
        workdir: file_directory(path),
        n_tasks: 0,
        stopped: false,
    };
    let default_name = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "workflow".to_owned());
    let empty = Vec::new();
    let entries: &[Entry] = match root.as_table() {
        Some(entries) => entries,
        None => {
            // Only JSON can get here: a TOML document is always a table.
            reader.report(
                Problem::error(
                    "bad-type",
                    root.span.clone(),
                    format!("a workflow file must be an object, not {}", root.kind_name()),
                    "expected an object",
                )
                .help("write the workflow as one object: {\"tasks\": {\"hello\": {\"command\": [\"echo\", \"hello\"]}}}"),
            );
            &empty
        }
    };
    let fields = reader.fields(entries, WORKFLOW, "the workflow");

    let name = fields
        .node("name")
        .and_then(|node| reader.str(node, "`name`"))
        .map_or(default_name, str::to_owned);
    let description = fields
        .node("description")
        .and_then(|node| reader.str(node, "`description`"))
        .map(str::to_owned);
    let mut workdir = None;
    if let Some(node) = fields.node("workdir")
        && let Some(dir) = reader.str(node, "`workdir`")
    {
        reader.workdir = reader.workdir.join(dir);
        workdir = Some((reader.workdir.clone(), node.span.clone()));
    }
    // Defaults apply to every task, wherever in the file `[defaults]` is written.
    if let Some(node) = fields.node("defaults") {
        reader.defaults = reader.defaults(node);
    }
    let kind = fields
        .node("flow")
        .and_then(|node| reader.flow_kind(node, "`flow`"))
        .unwrap_or(FlowKind::Graph);
    let on_failure = fields
        .node("on_failure")
        .and_then(|node| reader.on_failure(node))
        .unwrap_or_default();

    let mut flow = Flow::new(kind, name.as_str());
    if let Some(node) = fields.node("tasks") {
        for member in reader.members(node, "", 1) {
            flow = flow.add(member);
        }
    }
    let mut workflow = Workflow::new(flow).on_failure(on_failure);
    if let Some(node) = fields.node("inputs") {
        for input in reader.inputs(node) {
            workflow = workflow.declare_input(input);
        }
    }
    if let Some(node) = fields.node("outputs")
        && let Some(outputs) = reader.strings(node, "`outputs`")
    {
        let names: Vec<Arc<str>> = outputs
            .into_iter()
            .map(|(name, span)| {
                let name: Arc<str> = Arc::from(name);
                reader.spans.output(&name, span);
                name
            })
            .collect();
        workflow = workflow.outputs(names);
    }
    ReadWorkflow {
        workflow,
        name,
        description,
        spans: reader.spans,
        problems: reader.problems,
        stopped: reader.stopped,
        workdir,
    }
}

/// Commands run in the workflow file's directory unless `workdir` says otherwise.
fn file_directory(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    absolute
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("/"))
}

#[derive(Debug)]
struct Reader {
    problems: Vec<Problem>,
    spans: SpanMap,
    defaults: Defaults,
    /// Absolute: where command tasks run.
    workdir: PathBuf,
    n_tasks: usize,
    stopped: bool,
}

impl Reader {
    fn report(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// One of a few words, with a suggestion when it is a near miss.
    fn word<T: Copy>(&mut self, node: &Node, what: &str, words: &[(&'static str, T)]) -> Option<T> {
        let text = self.str(node, what)?;
        if let Some(&(_, value)) = words.iter().find(|(word, _)| *word == text) {
            return Some(value);
        }
        let names = words.iter().map(|(word, _)| *word);
        let listed = quote_list(names.clone());
        let help = match suggest(text, names) {
            Some(near) => format!("did you mean `{near}`? {what} is one of {listed}"),
            None => format!("{what} is one of {listed}"),
        };
        self.report(
            Problem::error(
                "bad-value",
                node.span.clone(),
                format!("{what} cannot be `{text}`"),
                "unknown value",
            )
            .help(help),
        );
        None
    }

    fn flow_kind(&mut self, node: &Node, what: &str) -> Option<FlowKind> {
        self.word(
            node,
            what,
            &[
                ("graph", FlowKind::Graph),
                ("linear", FlowKind::Linear),
                ("unordered", FlowKind::Unordered),
            ],
        )
    }

    fn on_failure(&mut self, node: &Node) -> Option<OnFailure> {
        self.word(
            node,
            "`on_failure`",
            &[
                ("revert", OnFailure::Revert),
                ("continue", OnFailure::Continue),
            ],
        )
    }
}
