//! The members of a flow: command tasks and nested flows, in document order.

use std::sync::Arc;

use plait_core::{Flow, FlowKind, Member, PortRole, TaskNode};
use plait_process::{CommandSpec, CommandTask, ShellScript};

use super::Reader;
use super::fields::{Fields, Schema, suggest};
use crate::diagnostics::Problem;
use crate::limits::{MAX_FLOW_DEPTH, MAX_TASKS};
use crate::syntax::{Entry, Node, Span};

const TASK: Schema = Schema {
    keys: &[
        "command",
        "requires",
        "provides",
        "revert",
        "retry",
        "timeout",
        "after",
        "description",
        "env",
        "kill_grace",
        "permanent_exit_codes",
        "cache",
        "version",
        "for_each",
        "max_parallel",
    ],
    note: Some("a member with `tasks` or `flow` is a flow instead"),
};

const FLOW: Schema = Schema {
    keys: &["flow", "tasks", "retry", "after", "rebind", "description"],
    note: Some(
        "this member is a flow because it has `tasks` or `flow`: put commands in tasks under its `tasks`",
    ),
};

fn child_path(parent: &str, name: &str) -> Arc<str> {
    if parent.is_empty() {
        Arc::from(name)
    } else {
        Arc::from(format!("{parent}/{name}"))
    }
}

impl Reader {
    /// The members of the flow at `path` (`""` for the workflow's), which is `depth` flows
    /// deep, from its `tasks` table.
    pub(super) fn members(&mut self, node: &Node, path: &str, depth: usize) -> Vec<Member> {
        let what = if path.is_empty() {
            "`tasks`".to_owned()
        } else {
            format!("`tasks` of flow `{path}`")
        };
        let Some(entries) = self.table(node, &what) else {
            return Vec::new();
        };
        let mut members = Vec::with_capacity(entries.len());
        for entry in self.unique(entries) {
            if self.stopped {
                break;
            }
            let member_path = child_path(path, &entry.key);
            let Some(fields) = entry.value.as_table() else {
                let header = format!("[tasks.{}]", member_path.replace('/', ".tasks."));
                self.report(
                    Problem::error(
                        "bad-type",
                        entry.value.span.clone(),
                        format!("task `{member_path}` must be a table, not {}", entry.value.kind_name()),
                        "expected a table",
                    )
                    .help(format!(
                        "write the task as a table of its keys: `{header}` then `command = [\"program\", \"argument\"]` on the next line"
                    )),
                );
                continue;
            };
            let is_flow = fields.iter().any(|e| e.key == "flow" || e.key == "tasks");
            self.spans
                .member(&member_path, entry.key_span.clone(), is_flow);
            let member = if is_flow {
                self.flow(entry, fields, member_path, depth + 1)
                    .map(Member::Flow)
            } else {
                self.task(entry, fields, member_path).map(Member::Task)
            };
            members.extend(member);
        }
        members
    }

    fn flow(
        &mut self,
        entry: &Entry,
        entries: &[Entry],
        path: Arc<str>,
        depth: usize,
    ) -> Option<Flow> {
        if depth > MAX_FLOW_DEPTH {
            self.stop(
                "too-deep",
                entry.key_span.clone(),
                format!("flow `{path}` is nested more than {MAX_FLOW_DEPTH} flows deep"),
                format!("nest flows at most {MAX_FLOW_DEPTH} deep"),
            );
            return None;
        }
        let what = format!("flow `{path}`");
        let fields = self.fields(entries, FLOW, &what);
        let kind = fields
            .node("flow")
            .and_then(|node| self.flow_kind(node, &format!("`flow` of {what}")))
            .unwrap_or(FlowKind::Graph);
        let mut flow = Flow::new(kind, entry.key.as_str());
        if let Some(node) = fields.node("tasks") {
            for member in self.members(node, &path, depth) {
                flow = flow.add(member);
            }
        }
        if let Some(node) = fields.node("retry") {
            let base = self.defaults.retry_base();
            if let Some(retry) = self.retry(node, &format!("`retry` of {what}"), &base) {
                flow = flow.retry(retry);
            }
        }
        if let Some(node) = fields.node("rebind") {
            for (inner, outer) in self.string_map(node, &format!("`rebind` of {what}")) {
                flow = flow.rebind(inner.key.as_str(), outer);
            }
        }
        flow = flow.after(self.after(&fields, &path, &what));
        if let Some(description) = self.description(&fields, &what) {
            flow = flow.describe(description);
        }
        Some(flow)
    }

    fn task(&mut self, entry: &Entry, entries: &[Entry], path: Arc<str>) -> Option<TaskNode> {
        self.n_tasks += 1;
        if self.n_tasks > MAX_TASKS {
            self.stop(
                "too-large",
                entry.key_span.clone(),
                format!("the workflow has more than {MAX_TASKS} tasks"),
                format!(
                    "a workflow has at most {MAX_TASKS} tasks: split it into several workflows"
                ),
            );
            return None;
        }
        let what = format!("task `{path}`");
        let fields = self.fields(entries, TASK, &what);
        let mut spec = CommandSpec {
            workdir: Some(self.workdir.clone()),
            ..CommandSpec::default()
        };
        match fields.get("command") {
            Some(command) => {
                self.spans.command(&path, command.value.span.clone());
                spec.argv = self
                    .argv(&command.value, &format!("`command` of {what}"))
                    .unwrap_or_else(stand_in_argv);
            }
            // A misspelt `command` was reported as an unknown key, with the right spelling.
            None if entries
                .iter()
                .any(|e| suggest(&e.key, ["command"]).is_some()) =>
            {
                spec.argv = stand_in_argv();
            }
            None => {
                self.report(
                    Problem::error(
                        "missing-key",
                        entry.key_span.clone(),
                        format!("task `{path}` has no `command`"),
                        "no `command`",
                    )
                    .help(format!(
                        "add `command = [\"program\", \"argument\"]`, or `tasks` to make `{path}` a flow"
                    )),
                );
                spec.argv = stand_in_argv();
            }
        }
        if let Some(revert) = fields.node("revert") {
            spec.revert = self.argv(revert, &format!("`revert` of {what}"));
        }
        let for_each = fields
            .node("for_each")
            .and_then(|node| self.for_each(node, &path, &what));
        spec.item = for_each.as_ref().map(|(binding, _)| binding.clone());
        let mut rebind = Vec::new();
        for (key, role) in [
            ("requires", PortRole::Requires),
            ("provides", PortRole::Provides),
        ] {
            if let Some(node) = fields.node(key) {
                let ports = self.ports(node, &path, role);
                rebind.extend(ports.rebind);
                match role {
                    PortRole::Requires => spec.requires = ports.ports,
                    PortRole::Provides => spec.provides = ports.ports,
                }
            }
        }
        if let Some(node) = fields.node("env") {
            match node.value {
                // `env = false`: inputs only by placeholders, stdin and files.
                crate::syntax::Value::Bool(in_env) => spec.inputs_in_env = in_env,
                _ if node.as_table().is_none() => self.bad_type(
                    node,
                    &format!("`env` of {what}"),
                    "a table of strings, or `false`",
                ),
                _ => {
                    spec.env = self
                        .string_map(node, &format!("`env` of {what}"))
                        .into_iter()
                        .map(|(entry, value)| (entry.key.clone(), value.to_owned()))
                        .collect();
                }
            }
        }
        spec.kill_grace = fields
            .node("kill_grace")
            .and_then(|node| self.duration(node, &format!("`kill_grace` of {what}")))
            .or(self.defaults.kill_grace)
            .unwrap_or(spec.kill_grace);
        if let Some(node) = fields.node("permanent_exit_codes") {
            spec.permanent_exit_codes =
                self.exit_codes(node, &format!("`permanent_exit_codes` of {what}"));
        }
        let cache = fields
            .node("cache")
            .and_then(|node| self.bool(node, &format!("`cache` of {what}")));
        let version = fields
            .node("version")
            .and_then(|node| match (&node.value, node.as_str()) {
                (crate::syntax::Value::Int(n), _) => Some(n.to_string()),
                (_, Some(text)) => Some(text.to_owned()),
                (_, None) => {
                    self.bad_type(
                        node,
                        &format!("`version` of {what}"),
                        "a string or an integer",
                    );
                    None
                }
            });

        let max_parallel = fields.node("max_parallel").and_then(|node| {
            if fields.node("for_each").is_none() {
                self.report(
                    Problem::error(
                        "bad-key",
                        node.span.clone(),
                        format!("{what} sets `max_parallel` but has no `for_each`"),
                        "no `for_each`",
                    )
                    .help("`max_parallel` bounds the items of a `for_each`: add one, or drop it"),
                );
                return None;
            }
            match node.value {
                crate::syntax::Value::Int(limit @ 1..) => usize::try_from(limit).ok(),
                crate::syntax::Value::Int(limit) => {
                    self.report(
                        Problem::error(
                            "bad-value",
                            node.span.clone(),
                            format!("`max_parallel` of {what} is {limit}: no item could run"),
                            "at least 1",
                        )
                        .help("give at least 1, or leave it out to run as many items as `--jobs` allows"),
                    );
                    None
                }
                _ => {
                    self.bad_type(
                        node,
                        &format!("`max_parallel` of {what}"),
                        "a positive integer",
                    );
                    None
                }
            }
        });

        let mut task = TaskNode::new(entry.key.as_str(), CommandTask::new(spec));
        if let Some((binding, list)) = for_each {
            task = task.for_each(binding, list);
        }
        if let Some(limit) = max_parallel {
            task = task.max_parallel(limit);
        }
        if let Some(cache) = cache {
            task = task.cache(cache);
        }
        if let Some(version) = version {
            task = task.version(version);
        }
        for (port, name) in rebind {
            task = task.rebind(port, name);
        }
        let retry = match fields.node("retry") {
            Some(node) => {
                let base = self.defaults.retry_base();
                self.retry(node, &format!("`retry` of {what}"), &base)
            }
            None => self.defaults.retry.clone(),
        };
        if let Some(retry) = retry {
            task = task.retry(retry);
        }
        let timeout = match fields.node("timeout") {
            Some(node) => self.duration(node, &format!("`timeout` of {what}")),
            None => self.defaults.timeout,
        };
        if let Some(timeout) = timeout {
            task = task.timeout(timeout);
        }
        task = task.after(self.after(&fields, &path, &what));
        if let Some(description) = self.description(&fields, &what) {
            task = task.describe(description);
        }
        Some(task)
    }

    /// A command line: a non-empty array of strings.
    fn argv(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        if let Some(line) = node.as_str() {
            self.report(
                Problem::error(
                    "bad-type",
                    node.span.clone(),
                    format!("{what} must be an array of strings, not a string"),
                    "expected an array",
                )
                .help(format!(
                    "write the program and its arguments as an array; for a shell line, write [\"sh\", \"-c\", {}]",
                    serde_json::Value::String(line.to_owned())
                )),
            );
            return None;
        }
        let argv = self.strings(node, what)?;
        if argv.is_empty() {
            self.report(
                Problem::error(
                    "bad-value",
                    node.span.clone(),
                    format!("{what} is empty"),
                    "empty",
                )
                .help("name the program to run and its arguments: [\"echo\", \"hello\"]"),
            );
            return None;
        }
        let n_items = node.as_array().map_or(0, <[Node]>::len);
        // A wrong item was reported; running the rest would run something else.
        if argv.len() != n_items {
            return None;
        }
        let spans: Vec<Span> = argv.iter().map(|(_, span)| span.clone()).collect();
        let argv: Vec<String> = argv.into_iter().map(|(arg, _)| arg.to_owned()).collect();
        if let Some(script) = plait_process::placeholders_in_shell_script(&argv) {
            self.report(shell_placeholder(
                what,
                &script,
                spans[script.index].clone(),
            ));
        }
        Some(argv)
    }

    /// `for_each = { item = "names" }`: the binding and the list's name. Problems with the
    /// list (unknown, not a list) are found by validation, at the list's name.
    fn for_each(
        &mut self,
        node: &Node,
        path: &Arc<str>,
        what: &str,
    ) -> Option<(Arc<str>, Arc<str>)> {
        let what = format!("`for_each` of {what}");
        let help = "write `for_each = { item = \"names\" }`: each instance gets one element of the list `names` as its input `item`";
        let entries = self.string_map(node, &what);
        match entries.as_slice() {
            [(entry, list)] => {
                let list: Arc<str> = Arc::from(*list);
                self.spans
                    .port(path, PortRole::Requires, &list, entry.value.span.clone());
                Some((Arc::from(entry.key.as_str()), list))
            }
            [] if node.as_table().is_some_and(|table| table.is_empty()) => {
                self.report(
                    Problem::error(
                        "bad-value",
                        node.span.clone(),
                        format!("{what} is empty"),
                        "no binding",
                    )
                    .help(help),
                );
                None
            }
            [] => None,
            [_, (second, _), ..] => {
                self.report(
                    Problem::error(
                        "bad-value",
                        second.key_span.clone(),
                        format!("{what} has more than one key"),
                        "one key only",
                    )
                    .help(help),
                );
                None
            }
        }
    }

    fn after(&mut self, fields: &Fields<'_>, path: &Arc<str>, what: &str) -> Vec<Arc<str>> {
        let Some(node) = fields.node("after") else {
            return Vec::new();
        };
        let Some(targets) = self.strings(node, &format!("`after` of {what}")) else {
            return Vec::new();
        };
        targets
            .into_iter()
            .map(|(target, span)| {
                let target: Arc<str> = Arc::from(target);
                self.spans.after(path, &target, span);
                target
            })
            .collect()
    }

    fn description(&mut self, fields: &Fields<'_>, what: &str) -> Option<String> {
        let node = fields.node("description")?;
        self.str(node, &format!("`description` of {what}"))
            .map(str::to_owned)
    }

    /// A limit was hit: report it and read no further members.
    fn stop(&mut self, code: &'static str, span: Span, message: String, help: String) {
        self.report(Problem::error(code, span, message, "limit reached").help(help));
        self.stopped = true;
    }
}

/// A warning for placeholders pasted into a shell's script, where a value is shell code.
fn shell_placeholder(what: &str, script: &ShellScript, span: Span) -> Problem {
    let names: Vec<String> = script
        .placeholders
        .iter()
        .map(|p| format!("`{{{}}}`", p.name))
        .collect();
    let variables: Vec<String> = script
        .placeholders
        .iter()
        .map(|p| format!("`\"${}\"`", p.variable))
        .collect();
    let first = &script.placeholders[0];
    Problem::warning(
        "shell-placeholder",
        span,
        format!(
            "{what} pastes {} into the script `{} -c` runs: a value holding `$(...)`, `;` or a quote runs as shell code",
            names.join(", "),
            script.shell
        ),
        "placeholder in a shell script",
    )
    .help(format!(
        "read the value from the environment, in double quotes: {} for {}; or pass it after the script and read `\"$1\"`: [\"{}\", \"-c\", \"... \\\"$1\\\"\", \"{}\", \"{{{}}}\"]",
        variables.join(", "),
        names.join(", "),
        script.shell,
        script.shell,
        first.name,
    ))
}

/// Stands in for a command that was missing or wrong (and reported), so the task still
/// takes part in validation. It has no placeholders, so it adds no problem of its own.
fn stand_in_argv() -> Vec<String> {
    vec!["false".to_owned()]
}
