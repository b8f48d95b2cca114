//! [`CommandTask`]: a task that runs a program, declared by data rather than code.

mod env;
mod exit;
mod files;
mod outputs;
mod placeholders;
mod shell;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use plait_core::{
    BoxFuture, Inputs, Isolation, Outcome, Outputs, Policy, Port, Task, TaskCode, TaskContext,
    TaskError,
};

use crate::{DEFAULT_KILL_GRACE, Subprocess};
use files::InputFiles;
use placeholders::Template;
pub use shell::{ScriptPlaceholder, ShellScript, placeholders_in_shell_script};

/// What a command task runs, needs and produces.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandSpec {
    /// The program and its arguments. `{name}` is replaced by input `name`'s text form, each
    /// element staying one argument (there is no shell); other braces are literal, and
    /// `{{name}}` keeps a `{name}` as it is.
    pub argv: Vec<String>,
    /// Run by [`Task::revert`], with the same placeholders, environment and stdin as `argv`,
    /// plus `PLAIT_RESULT` (the outputs as JSON) or `PLAIT_ERROR` (why the task failed).
    pub revert: Option<Vec<String>>,
    /// Inputs, also given as `PLAIT_IN_<NAME>` variables (unless `inputs_in_env` is false),
    /// as files named by `PLAIT_IN_<NAME>_FILE`, and as one JSON object on stdin.
    pub requires: Vec<Port>,
    /// Outputs, read from the JSON object the program prints on stdout. With none, stdout is
    /// ignored.
    pub provides: Vec<Port>,
    /// The input each instance of a `for_each` gets its element as, when `requires` does not
    /// declare it: a placeholder may name it, and it comes like any input.
    pub item: Option<Arc<str>>,
    /// Environment variables on top of the inherited ones.
    pub env: Vec<(String, String)>,
    /// Whether inputs are given as `PLAIT_IN_<NAME>` (the default). An input too long for a
    /// variable fails the task before it starts unless this is false.
    pub inputs_in_env: bool,
    /// Where the program runs; `None` is the current directory.
    pub workdir: Option<PathBuf>,
    /// How long the process group gets between SIGTERM and SIGKILL when the task is cancelled.
    pub kill_grace: Duration,
    /// Exit statuses that mean "trying again cannot help" (bad input, say): the failure is
    /// permanent and not retried. Any other non-zero status is retryable.
    pub permanent_exit_codes: Vec<i32>,
}

impl Default for CommandSpec {
    fn default() -> Self {
        CommandSpec {
            argv: Vec::new(),
            revert: None,
            requires: Vec::new(),
            provides: Vec::new(),
            item: None,
            env: Vec::new(),
            inputs_in_env: true,
            workdir: None,
            kill_grace: DEFAULT_KILL_GRACE,
            permanent_exit_codes: Vec::new(),
        }
    }
}

/// A task that runs a program as a [`Subprocess`].
///
/// Besides the `{name}` placeholders, the program finds its inputs as `PLAIT_IN_<NAME>` (the
/// name upper-cased, anything but ASCII letters and digits as `_`; an input over 64 KiB fails
/// the task before it starts, as the kernel limits each variable, unless
/// [`CommandSpec::inputs_in_env`] is false), as files whose paths are in
/// `PLAIT_IN_<NAME>_FILE`, and as one JSON object on stdin, with `PLAIT_TASK`,
/// `PLAIT_RUN_ID`, `PLAIT_ATTEMPT` and `PLAIT_IDEMPOTENCY_KEY` beside them.
///
/// A bad placeholder or clashing input names are reported by [`Task::problems`] (so by
/// validation); executing such a task fails permanently rather than panicking.
#[derive(Debug)]
pub struct CommandTask {
    spec: CommandSpec,
    argv: Template,
    revert: Option<Template>,
    problems: Vec<String>,
    /// What decides the result besides the inputs, as [`Task::code`] gives it: made once.
    code: String,
}

impl CommandTask {
    pub fn new(spec: CommandSpec) -> CommandTask {
        let mut problems = Vec::new();
        // The placeholders' names: the inputs, and the element of a `for_each`.
        let mut named = spec.requires.clone();
        if let Some(item) = spec
            .item
            .as_ref()
            .filter(|item| !spec.requires.iter().any(|port| port.name == **item))
        {
            named.push(Port::new(item.clone(), plait_core::ValueType::Json));
        }
        let argv = template("argv", &spec.argv, &named, &mut problems);
        let revert = spec
            .revert
            .as_deref()
            .map(|revert| template("revert", revert, &named, &mut problems));
        problems.extend(env::collisions(&spec.requires));
        let code = code_text(&spec);
        CommandTask {
            spec,
            argv,
            revert,
            problems,
            code,
        }
    }

    pub fn spec(&self) -> &CommandSpec {
        &self.spec
    }

    /// The process for `template` with these inputs, and the inputs' files, which must live
    /// until it ends; or why it cannot run.
    fn subprocess(
        &self,
        template: &Template,
        ctx: &TaskContext,
        inputs: &Inputs,
    ) -> Result<(Subprocess, InputFiles), TaskError> {
        if !self.problems.is_empty() {
            return Err(TaskError::permanent(format!(
                "the command task is invalid: {}",
                self.problems.join("; ")
            )));
        }
        let argv = template.render(inputs)?;
        // Each input's text once, for its variable and its file; an input too long for the
        // environment fails the task before any file is written.
        let texts: Vec<String> = inputs.iter().map(|(_, value)| value.to_text()).collect();
        let mut env = env::task_env(&self.spec.env, ctx, inputs, &texts, self.spec.inputs_in_env)?;
        let files = InputFiles::write(inputs, &texts)?;
        env.extend(files.variables().iter().cloned());
        let mut stdin = inputs.to_json().to_string().into_bytes();
        // A trailing newline, so `read line` in a shell script gets the whole object.
        stdin.push(b'\n');
        let recorder = ctx.clone();
        let mut process = Subprocess::new(argv)
            .envs(env)
            .stdin(stdin)
            .kill_grace(self.spec.kill_grace)
            .cancellation(ctx.cancellation().clone())
            .on_spawn(move |group| recorder.spawned(group));
        for name in env::inherited_task_vars() {
            process = process.env_remove(name);
        }
        if let Some(dir) = &self.spec.workdir {
            process = process.workdir(dir);
        }
        if ctx.keeps_output() {
            let ctx = ctx.clone();
            process = process.on_output(move |stream, bytes| ctx.write_output(stream, bytes));
        }
        Ok((process, files))
    }
}

/// Parses one argv and reports its problems, including placeholders that name no input.
fn template(
    field: &str,
    argv: &[String],
    requires: &[Port],
    problems: &mut Vec<String>,
) -> Template {
    if argv.is_empty() {
        problems.push(format!(
            "`{field}` is empty: give at least the program to run"
        ));
    }
    let template = Template::parse(argv);
    let mut unknown: Vec<&str> = Vec::new();
    for name in template.inputs() {
        if !requires.iter().any(|port| &*port.name == name) && !unknown.contains(&name) {
            unknown.push(name);
        }
    }
    for name in unknown {
        let known = match requires.is_empty() {
            true => "the task has no inputs".to_owned(),
            false => {
                let names: Vec<String> = requires
                    .iter()
                    .map(|port| format!("`{}`", port.name))
                    .collect();
                format!("known inputs are {}", names.join(", "))
            }
        };
        problems.push(format!(
            "`{field}` uses placeholder `{{{name}}}`, but no input is named `{name}`: {known} \
             (declare it in `requires`, or write `{{{{{name}}}}}` to keep it as it is)"
        ));
    }
    template
}

/// See [`Task::code`] for [`CommandTask`].
fn code_text(spec: &CommandSpec) -> String {
    let ports = |ports: &[Port]| -> Vec<String> {
        ports
            .iter()
            .map(|port| format!("{}: {}", port.name, port.ty.name()))
            .collect()
    };
    let mut code = serde_json::json!({
        "argv": spec.argv,
        "env": spec.env,
        "workdir": spec.workdir,
        "requires": ports(&spec.requires),
        "provides": ports(&spec.provides),
    });
    // Only when it differs from the default, so the keys of every other task stay as they
    // were before it existed.
    if !spec.inputs_in_env {
        code["inputs_in_env"] = serde_json::Value::Bool(false);
    }
    code.to_string()
}

fn program(process: &Subprocess) -> String {
    process.argv().first().cloned().unwrap_or_default()
}

impl Task for CommandTask {
    fn requires(&self) -> &[Port] {
        &self.spec.requires
    }

    fn provides(&self) -> &[Port] {
        &self.spec.provides
    }

    fn execute(&self, ctx: TaskContext, inputs: Inputs) -> BoxFuture<Result<Outputs, TaskError>> {
        let process = self.subprocess(&self.argv, &ctx, &inputs);
        let provides = self.spec.provides.clone();
        let permanent = self.spec.permanent_exit_codes.clone();
        let workdir = self.spec.workdir.clone();
        Box::pin(async move {
            let (process, _files) = process?;
            let program = program(&process);
            let stdout = exit::stdout_or_error(&program, process.run().await, &permanent)?;
            let outputs = outputs::parse(&stdout, &provides)?;
            Ok(outputs::anchor_files(outputs, workdir.as_deref()))
        })
    }

    fn has_revert(&self) -> bool {
        self.spec.revert.is_some()
    }

    fn revert(
        &self,
        ctx: TaskContext,
        inputs: Inputs,
        outcome: Outcome,
    ) -> BoxFuture<Result<(), TaskError>> {
        let Some(template) = &self.revert else {
            return Box::pin(async { Ok(()) });
        };
        let (name, value) = match &outcome {
            Outcome::Succeeded(outputs) => (env::RESULT_VAR, outputs.to_json().to_string()),
            Outcome::Failed(error) => (env::ERROR_VAR, error.message().to_owned()),
            Outcome::Cancelled => (env::ERROR_VAR, "cancelled".to_owned()),
        };
        let process = self
            .subprocess(template, &ctx, &inputs)
            .map(|(process, files)| (process.env(name, value), files));
        Box::pin(async move {
            let (process, _files) = process?;
            let program = program(&process);
            exit::stdout_or_error(&program, process.run().await, &[]).map(drop)
        })
    }

    fn default_policy(&self) -> Policy {
        Policy {
            isolation: Isolation::Subprocess,
            ..Policy::default()
        }
    }

    /// The arguments, environment, working directory and ports, as JSON: what decides the
    /// result besides the inputs. The program's own file is not read: a script whose content
    /// should count is declared as a `file` input.
    fn code(&self) -> Option<TaskCode> {
        Some(TaskCode::Text(self.code.clone()))
    }

    fn kind(&self) -> &str {
        "command"
    }

    fn problems(&self) -> Vec<String> {
        self.problems.clone()
    }
}
