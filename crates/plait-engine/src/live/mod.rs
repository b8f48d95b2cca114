//! Live flows: a long-lived instance of a plan for interactive programs.
//!
//! [`LiveFlow::set`] changes an input and returns at once; one driver task applies the
//! changes waiting as one new revision, marks what they reach dirty, cancels the executions
//! they make stale, and recomputes, in dependency order, only the tasks whose inputs really
//! changed: a recomputed value equal to the old one stops the propagation (early cut-off).
//! Subscribers get each output's new value tagged with the revision whose inputs produced it.
//! See `docs/live.md`.
//!
//! ```
//! use std::sync::Arc;
//! use plait_core::{compile, task_fn, Flow, ValueType, Workflow};
//! use plait_engine::live::LiveFlow;
//!
//! async fn example() -> anyhow::Result<()> {
//!     let flow = Flow::graph("area")
//!         .task("square", task_fn(["side"], ["area"], |side: f64| async move { side * side }));
//!     let workflow = Workflow::new(flow).input("side", ValueType::Float).outputs(["area"]);
//!     let plan = Arc::new(compile(&workflow)?);
//!     let live = LiveFlow::builder(plan).start([("side", 2.0)])?;
//!     let mut area = live.subscribe("area")?;
//!     assert_eq!(area.next().await.unwrap().value?.as_float(), Some(4.0));
//!     live.set("side", 3.0)?;
//!     let update = area.next().await.unwrap();
//!     assert_eq!((update.revision, update.value?.as_float()), (2, Some(9.0)));
//!     Ok(())
//! }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(example()).unwrap();
//! ```

mod driver;
mod graph;
mod prefetch;
mod publish;
mod same;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use plait_core::{Plan, TypeMismatch, Value};
use tokio::sync::{mpsc, watch};

pub use publish::{
    LiveEvent, LiveFailure, LiveStats, LiveValue, Revision, Snapshot, Subscription, Update,
};

use driver::{Change, Driver};
use graph::Graph;
use publish::{Board, OutputNames};

/// Why a live flow refused a call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LiveError {
    #[error("the flow takes no input named `{name}`")]
    UnknownInput {
        name: Arc<str>,
        known: Vec<Arc<str>>,
    },
    #[error("the flow needs input `{name}`, which was not given")]
    MissingInput { name: Arc<str> },
    #[error("input `{name}`: {mismatch}")]
    InputType {
        name: Arc<str>,
        mismatch: TypeMismatch,
    },
    #[error("the flow has no output named `{name}`")]
    UnknownOutput {
        name: Arc<str>,
        known: Vec<Arc<str>>,
    },
    #[error(
        "task `{task}` reads more than one event port; a task reads at most one (make the others state inputs)"
    )]
    SeveralEvents { task: Arc<str> },
    #[error("the live flow has stopped (its runtime shut down)")]
    Stopped,
    #[error("a live flow runs on a tokio runtime: start it from within one")]
    NoRuntime,
    #[error("input `{name}` is an event: send its values with `set` once the flow runs")]
    EventHasNoInitialValue { name: Arc<str> },
    #[error(
        "task `{task}` spawns children (or runs `for_each`): a live flow runs a fixed graph; run the workflow with `Engine::run`"
    )]
    Spawns { task: Arc<str> },
}

/// Builds a [`LiveFlow`]: which inputs are events, how many tasks run at once.
#[derive(Debug)]
pub struct LiveBuilder {
    plan: Arc<Plan>,
    events: Vec<Arc<str>>,
    jobs: usize,
    restart_delay: Duration,
    activity: Vec<mpsc::UnboundedSender<LiveEvent>>,
}

impl LiveBuilder {
    /// The flow's activity from the start, revision 1 included (see
    /// [`LiveFlow::activity`]).
    pub fn activity(&mut self) -> mpsc::UnboundedReceiver<LiveEvent> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.activity.push(sender);
        receiver
    }

    /// Makes input `name` an event port: each value sent is delivered once to each task that
    /// reads it, queued while a state input of that task is being recomputed, and never
    /// delivered again when the task's other inputs change. Those tasks' outputs are events
    /// too. An event input has no initial value.
    pub fn event(mut self, name: impl Into<Arc<str>>) -> Self {
        self.events.push(name.into());
        self
    }

    /// At most `jobs` executions at once (default: the machine's cores); at least one.
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// How long the changes must pause before a task whose execution a change cancelled
    /// starts again (default 10 ms). A burst of changes then costs a slow task one
    /// cancelled execution and one more at the end, not one per change; a task that was
    /// not cancelled starts at once.
    pub fn restart_delay(mut self, delay: Duration) -> Self {
        self.restart_delay = delay;
        self
    }

    /// Starts the flow on the current tokio runtime with its initial inputs (revision 1).
    /// Every state input needs a value or a default.
    pub fn start<K, V>(
        self,
        inputs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<LiveFlow, LiveError>
    where
        K: Into<Arc<str>>,
        V: Into<Value>,
    {
        let graph = Graph::new(self.plan, &self.events)?;
        let declared = graph.plan.inputs();
        let mut values: Vec<Option<Value>> = declared
            .iter()
            .zip(&graph.input_is_event)
            .map(|(input, event)| if *event { None } else { input.default.clone() })
            .collect();
        for (name, value) in inputs {
            let name = name.into();
            let (idx, value) = check_input(&graph, name.clone(), value.into())?;
            if graph.input_is_event[idx] {
                return Err(LiveError::EventHasNoInitialValue { name });
            }
            values[idx] = Some(value);
        }
        for ((value, input), event) in values.iter().zip(declared).zip(&graph.input_is_event) {
            if value.is_none() && !event {
                return Err(LiveError::MissingInput {
                    name: input.name.clone(),
                });
            }
        }
        let names = Arc::new(OutputNames::new(
            graph
                .plan
                .outputs()
                .iter()
                .map(|(name, _)| name.clone())
                .collect(),
        ));
        let output_is_event = (0..names.list.len())
            .map(|idx| graph.output_is_event(idx))
            .collect();
        let board = Arc::new(Board::new(names, output_is_event, self.activity));
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| LiveError::NoRuntime)?;
        let (changes, receiver) = mpsc::unbounded_channel();
        let (progress, settled) = watch::channel((0, 0));
        let graph = Arc::new(graph);
        let driver = Driver::new(
            graph.clone(),
            board.clone(),
            progress,
            values,
            self.jobs,
            self.restart_delay,
        );
        runtime.spawn(driver.run(receiver));
        Ok(LiveFlow {
            inner: Arc::new(Inner {
                graph,
                board,
                changes,
                settled,
            }),
        })
    }
}

/// A running live flow. Cheap to clone; the flow stops (cancelling what runs) when the last
/// clone is dropped.
#[derive(Clone, Debug)]
pub struct LiveFlow {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    graph: Arc<Graph>,
    board: Arc<Board>,
    changes: mpsc::UnboundedSender<Vec<Change>>,
    /// The driver's progress; closed once the driver is gone.
    settled: watch::Receiver<(u64, Revision)>,
}

impl LiveFlow {
    pub fn builder(plan: Arc<Plan>) -> LiveBuilder {
        let jobs = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        LiveBuilder {
            plan,
            events: Vec::new(),
            jobs,
            restart_delay: Duration::from_millis(10),
            activity: Vec::new(),
        }
    }

    /// Sets a state input (or sends an event). Never waits: the change is applied with
    /// whatever else is waiting as the next revision.
    pub fn set(
        &self,
        input: impl Into<Arc<str>>,
        value: impl Into<Value>,
    ) -> Result<(), LiveError> {
        self.set_many([(input, value)])
    }

    /// Applies several changes as one revision.
    pub fn set_many<K, V>(&self, values: impl IntoIterator<Item = (K, V)>) -> Result<(), LiveError>
    where
        K: Into<Arc<str>>,
        V: Into<Value>,
    {
        let changes = values
            .into_iter()
            .map(|(name, value)| {
                let (input, value) = check_input(&self.inner.graph, name.into(), value.into())?;
                Ok(Change {
                    input: input as u32,
                    value,
                })
            })
            .collect::<Result<Vec<_>, LiveError>>()?;
        if changes.is_empty() {
            return Ok(());
        }
        self.inner.board.submitted.fetch_add(1, Ordering::SeqCst);
        self.inner
            .changes
            .send(changes)
            .map_err(|_| LiveError::Stopped)
    }

    /// Updates of output `name`, starting (for a state output) with its current value.
    pub fn subscribe(&self, output: &str) -> Result<Subscription, LiveError> {
        let idx = self.output_index(output)?;
        Ok(self.inner.board.subscribe(idx))
    }

    /// Every output at the newest revision at which nothing was left to compute; `None`
    /// before the first revision settles.
    pub fn snapshot(&self) -> Option<Snapshot> {
        self.inner.board.snapshot()
    }

    /// Waits until every change made before the call is applied and nothing is left to
    /// compute, and returns the snapshot then (or a newer one).
    pub async fn settled(&self) -> Result<Snapshot, LiveError> {
        self.settled_revision().await?;
        self.snapshot().ok_or(LiveError::Stopped)
    }

    /// [`LiveFlow::settled`] without building a snapshot: the revision it settled at (or a
    /// newer one). Costs nothing per output.
    pub async fn settled_revision(&self) -> Result<Revision, LiveError> {
        let target = self.inner.board.submitted.load(Ordering::SeqCst);
        let mut settled = self.inner.settled.clone();
        let revision = settled
            .wait_for(|&(applied, _)| applied >= target)
            .await
            .map_err(|_| LiveError::Stopped)?
            .1;
        Ok(revision)
    }

    /// The flow's activity from now on: revisions, executions, cancellations, publications.
    pub fn activity(&self) -> mpsc::UnboundedReceiver<LiveEvent> {
        self.inner.board.activity()
    }

    pub fn stats(&self) -> LiveStats {
        self.inner.board.stats()
    }

    pub fn plan(&self) -> &Arc<Plan> {
        &self.inner.graph.plan
    }

    fn output_index(&self, output: &str) -> Result<usize, LiveError> {
        let names = &self.inner.board.names;
        names.index(output).ok_or_else(|| LiveError::UnknownOutput {
            name: output.into(),
            known: names.list.clone(),
        })
    }
}

/// The input's index, and the value if it fits the input's type.
fn check_input(graph: &Graph, name: Arc<str>, value: Value) -> Result<(usize, Value), LiveError> {
    let Some(&idx) = graph.input_index.get(&name) else {
        return Err(unknown_input(&graph.plan, name));
    };
    if let Err(mismatch) = crate::inputs::check_type(&graph.plan.inputs()[idx].ty, &value) {
        return Err(LiveError::InputType { name, mismatch });
    }
    Ok((idx, value))
}

/// `name` is none of the plan's inputs.
fn unknown_input(plan: &Plan, name: Arc<str>) -> LiveError {
    LiveError::UnknownInput {
        name,
        known: plan
            .inputs()
            .iter()
            .map(|input| input.name.clone())
            .collect(),
    }
}
