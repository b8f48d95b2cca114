//! Live progress while a run goes: a bar with counts and the running tasks' names on a
//! terminal, one plain line per transition otherwise.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use plait_core::{Plan, TaskState};
use plait_engine::{Event, Observer};

use super::seconds;

pub(crate) struct Progress {
    start: Instant,
    bar: Option<ProgressBar>,
    /// Printed with the first event, so a run rejected before it starts (a missing input)
    /// does not look as if it had started.
    header: String,
    state: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    started: bool,
    /// A task started an attempt: something ran.
    executed: bool,
    running: Vec<Arc<str>>,
    done: u64,
    failed: u64,
    /// Tasks waiting out a backoff before their next attempt.
    retrying: Vec<Arc<str>>,
    reverted: u64,
}

impl Progress {
    pub(crate) fn start(plan: &Plan, name: &str, jobs: usize) -> Arc<Progress> {
        let terminal = std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            // Hidden until the first event shows it.
            let bar = ProgressBar::with_draw_target(
                Some(plan.n_tasks() as u64),
                ProgressDrawTarget::hidden(),
            );
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:24} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        let header = format!(
            "running `{name}`: {} task(s), up to {jobs} at once",
            plan.n_tasks()
        );
        Arc::new(Progress {
            start: Instant::now(),
            bar,
            header,
            state: Mutex::new(Counts::default()),
        })
    }

    /// Shows the run starting, at its first event.
    fn begin(&self, counts: &mut Counts) {
        if std::mem::replace(&mut counts.started, true) {
            return;
        }
        match &self.bar {
            Some(bar) => {
                bar.set_draw_target(ProgressDrawTarget::stderr());
                bar.enable_steady_tick(Duration::from_millis(100));
            }
            None => eprintln!("{}", self.header),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Whether any task started an attempt. A task's intent is recorded before it executes
    /// and shown once recorded, so a run whose store failed before this shows nothing ran.
    pub(crate) fn any_task_ran(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .executed
    }

    pub(crate) fn abandon(&self) {
        if let Some(bar) = &self.bar {
            bar.abandon();
        }
    }

    /// One line about a task; what a task wrote in it (its error) cannot drive the terminal.
    fn line(&self, text: String) {
        let text = super::terminal::escape(&text);
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("[{:>9}] {text}", seconds(self.start.elapsed())),
        }
    }

    fn redraw(&self, counts: &Counts) {
        let Some(bar) = &self.bar else { return };
        bar.set_position(counts.done);
        let mut message = format!("{} running", counts.running.len());
        for (label, count) in [
            ("failed", counts.failed),
            ("retrying", counts.retrying.len() as u64),
            ("reverted", counts.reverted),
        ] {
            if count > 0 {
                message.push_str(&format!(", {count} {label}"));
            }
        }
        if !counts.running.is_empty() {
            let shown: Vec<&str> = counts.running.iter().take(4).map(|name| &**name).collect();
            let more = counts.running.len().saturating_sub(4);
            message.push_str(&format!(": {}", shown.join(", ")));
            if more > 0 {
                message.push_str(&format!(" +{more}"));
            }
        }
        bar.set_message(super::terminal::escape(&message).into_owned());
    }
}

impl Observer for Progress {
    fn on_event(&self, event: &Event) {
        let mut counts = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.begin(&mut counts);
        let task = &event.task;
        match event.state {
            TaskState::Pending | TaskState::Ready => return,
            TaskState::Running => {
                counts.executed = true;
                counts.retrying.retain(|name| name != task);
                counts.running.push(task.clone());
                if self.bar.is_none() || event.attempt > 1 {
                    self.line(format!("{task}: running (attempt {})", event.attempt));
                }
            }
            TaskState::Retrying => {
                counts.running.retain(|name| name != task);
                counts.retrying.push(task.clone());
                let error = error_text(event);
                self.line(format!(
                    "{task}: attempt {} failed, will retry: {error}",
                    event.attempt
                ));
            }
            TaskState::Succeeded | TaskState::Failed | TaskState::Cancelled => {
                counts.running.retain(|name| name != task);
                counts.retrying.retain(|name| name != task);
                counts.done += 1;
                if event.state == TaskState::Failed {
                    counts.failed += 1;
                    self.line(format!("{task}: failed: {}", error_text(event)));
                } else if self.bar.is_none() {
                    // A success with no attempt is a result reused from the cache.
                    if event.state == TaskState::Succeeded && event.attempt == 0 {
                        self.line(format!("{task}: reused from the cache"));
                    } else {
                        self.line(format!("{task}: {}", event.state));
                    }
                }
            }
            TaskState::Reverting => {
                if self.bar.is_none() {
                    self.line(format!("{task}: reverting"));
                }
            }
            TaskState::Reverted => {
                counts.reverted += 1;
                if self.bar.is_none() {
                    self.line(format!("{task}: reverted"));
                }
            }
            TaskState::RevertFailed => {
                let error = error_text(event);
                self.line(format!("{task}: revert failed: {error}"));
            }
        }
        self.redraw(&counts);
    }
}

/// Why, for an event that says what went wrong.
fn error_text(event: &Event) -> String {
    event
        .error
        .as_ref()
        .map(|error| error.to_string())
        .unwrap_or_default()
}
