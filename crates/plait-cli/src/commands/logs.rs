//! `plait logs RUN [TASK]`: what a run's tasks wrote, attempt by attempt, each stream under
//! a header; `--follow` prints what comes next until the run ends.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use plait_core::{NodeKind, OutputStream};
use plait_store::{Output, RunRecord, RunState, Store, TaskPath};

use crate::cli::LogsArgs;
use crate::exit;
use crate::render::json::recorded_plan;
use crate::render::terminal::escape;

/// How often `--follow` looks for more: the engine records output every 200 ms.
const POLL: Duration = Duration::from_millis(200);

pub(crate) async fn logs(args: LogsArgs) -> u8 {
    let (store, mut record) = match super::store::open_run(&args.store, &args.run).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    let wanted = match Wanted::new(&record, args.task.as_deref(), args.attempt) {
        Ok(wanted) => wanted,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::BAD_INPUT;
        }
    };
    let run_id = record.summary.run_id.clone();
    let mut printer = Printer::new();
    loop {
        // Read before the output: a run seen ended has every byte recorded by then.
        let running = record.summary.state == RunState::Running;
        if let Err(error) = printer.print_new(&store, &record, &wanted).await {
            eprintln!("error: {error}");
            return exit::FAILED;
        }
        if !args.follow || !running {
            break;
        }
        tokio::time::sleep(POLL).await;
        record = match store.run(&run_id).await {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(error) => {
                eprintln!("error: {error}");
                return exit::FAILED;
            }
        };
    }
    printer.finish();
    if !printer.printed {
        let what = match (&wanted.task, wanted.attempt) {
            (Some(task), Some(attempt)) => {
                format!("task `{task}` wrote nothing in attempt {attempt}")
            }
            (Some(task), None) => format!("task `{task}` wrote nothing"),
            _ => "no task wrote anything".to_owned(),
        };
        eprintln!("{what} (run {run_id}, {})", record.summary.state.name());
        let reused = wanted.task.as_ref().and_then(|task| {
            let known = record.tasks.iter().find(|known| known.task == *task)?;
            known.key.as_ref()?.cached_from.clone()
        });
        if let (Some(from), Some(task)) = (reused, &wanted.task) {
            eprintln!("  help: its result was reused from run {from}: `plait logs {from} {task}`");
        }
    }
    exit::OK
}

/// What the command line asks for: a task, an attempt, or everything.
struct Wanted {
    task: Option<TaskPath>,
    attempt: Option<u32>,
}

impl Wanted {
    /// Checks the task and the attempt against the run, saying what exists when they do not.
    fn new(record: &RunRecord, task: Option<&str>, attempt: Option<u32>) -> Result<Wanted, String> {
        let run_id = &record.summary.run_id;
        let Some(task) = task else {
            return Ok(Wanted {
                task: None,
                attempt: None,
            });
        };
        let recorded = record
            .tasks
            .iter()
            .find(|known| known.task.as_str() == task);
        let planned = || {
            recorded_plan(record).map(|plan| {
                plan.nodes()
                    .iter()
                    .filter(|node| matches!(node.kind, NodeKind::Task(_)))
                    .map(|node| node.path.to_string())
                    .collect::<Vec<String>>()
            })
        };
        let attempts = match recorded {
            Some(known) => known.attempts,
            None => {
                let names = planned()
                    .unwrap_or_else(|| record.tasks.iter().map(|t| t.task.to_string()).collect());
                if !names.iter().any(|name| name == task) {
                    return Err(format!(
                        "run `{run_id}` has no task `{task}`: its tasks are {}",
                        listed(&names)
                    ));
                }
                0
            }
        };
        if let Some(attempt) = attempt {
            // A running run may yet make the attempt.
            let may_come = record.summary.state == RunState::Running;
            if attempt == 0 || (attempt > attempts && !may_come) {
                let made = match attempts {
                    0 => "it made none (it did not run, or its result was reused)".to_owned(),
                    1 => "it made 1: `--attempt 1`".to_owned(),
                    n => format!("it made {n}: `--attempt 1` to `--attempt {n}`"),
                };
                return Err(format!(
                    "task `{task}` of run `{run_id}` has no attempt {attempt}: {made}"
                ));
            }
        }
        Ok(Wanted {
            task: Some(task.into()),
            attempt,
        })
    }

    fn wants(&self, task: &TaskPath, attempt: u32) -> bool {
        self.task.as_ref().is_none_or(|wanted| wanted == task)
            && self.attempt.is_none_or(|wanted| wanted == attempt)
    }
}

/// `a`, `b` and `c`, or the first ones and how many more.
fn listed(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text: Vec<String> = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
    if names.len() > SHOWN {
        text.push(format!("and {} more", names.len() - SHOWN));
    }
    match text.len() {
        0 => "none yet".to_owned(),
        _ => text.join(", "),
    }
}

/// One attempt's stream.
type Key = (TaskPath, u32, OutputStream);

/// Prints each stream's new bytes under its header, and remembers how far it got.
struct Printer {
    /// Where each stream was read up to.
    offsets: HashMap<Key, u64>,
    /// The stream whose bytes were printed last: its header need not be repeated.
    current: Option<Key>,
    /// On a terminal what tasks wrote is escaped; to a pipe it goes as it is.
    terminal: bool,
    /// Whether the last byte printed ended a line.
    line_ended: bool,
    printed: bool,
}

impl Printer {
    fn new() -> Printer {
        Printer {
            offsets: HashMap::new(),
            current: None,
            terminal: std::io::stdout().is_terminal(),
            line_ended: true,
            printed: false,
        }
    }

    /// Prints what the wanted streams hold past what was printed, in the order the run's
    /// tasks started, then each task's attempts, stdout before stderr.
    async fn print_new(
        &mut self,
        store: &dyn Store,
        record: &RunRecord,
        wanted: &Wanted,
    ) -> Result<(), plait_store::StoreError> {
        let run_id = &record.summary.run_id;
        let order: HashMap<&TaskPath, usize> = record
            .tasks
            .iter()
            .enumerate()
            .map(|(idx, task)| (&task.task, idx))
            .collect();
        let mut streams = store.outputs(run_id).await?;
        streams.retain(|info| wanted.wants(&info.task, info.attempt));
        streams.sort_by_key(|info| {
            let idx = order.get(&info.task).copied().unwrap_or(usize::MAX);
            (idx, info.task.clone(), info.attempt, info.stream)
        });
        for info in streams {
            let key = (info.task.clone(), info.attempt, info.stream);
            let from = self.offsets.get(&key).copied().unwrap_or(0);
            if from >= info.end {
                continue;
            }
            let read = store
                .output(run_id, &info.task, info.attempt, info.stream, from)
                .await?;
            if let Some(output) = read {
                self.print(key, from, &output);
            }
        }
        let _ = std::io::stdout().flush();
        Ok(())
    }

    fn print(&mut self, key: Key, from: u64, output: &Output) {
        let mut out = std::io::stdout().lock();
        if self.current.as_ref() != Some(&key) {
            if !self.line_ended {
                let _ = out.write_all(b"\n");
            }
            if self.printed {
                let _ = out.write_all(b"\n");
            }
            let (task, attempt, stream) = &key;
            let _ = writeln!(out, "==> {task} (attempt {attempt}) {} <==", stream.name());
            self.line_ended = true;
        }
        if output.offset > from {
            if !self.line_ended {
                let _ = out.write_all(b"\n");
            }
            let _ = writeln!(
                out,
                "[{} earlier bytes cut: a stream keeps only its last part (`plait run --log-limit`)]",
                output.offset - from
            );
            self.line_ended = true;
        }
        if !output.bytes.is_empty() {
            if self.terminal {
                let text = String::from_utf8_lossy(&output.bytes);
                let _ = out.write_all(escape(&text).as_bytes());
            } else {
                let _ = out.write_all(&output.bytes);
            }
            self.line_ended = output.bytes.ends_with(b"\n");
        }
        self.offsets.insert(key.clone(), output.end());
        self.current = Some(key);
        self.printed = true;
    }

    /// Ends a last line the task left open, on a terminal (to a pipe, the bytes stay as they
    /// were written).
    fn finish(&mut self) {
        if self.terminal && !self.line_ended {
            println!();
        }
    }
}
