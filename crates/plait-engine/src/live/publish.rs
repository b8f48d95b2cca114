//! What a live flow shows the outside: output updates to subscribers, the latest consistent
//! snapshot, the activity log and counters. The driver writes here; handles read.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};

use plait_core::{TaskError, Value};
use tokio::sync::{Notify, mpsc};

use crate::sync::lock;

/// A revision: 1 for the flow's initial inputs, one more for each batch of changes.
pub type Revision = u64;

/// A task's failure, as a live flow's outputs carry it: the flow keeps running, and the task
/// runs again when one of its inputs changes.
#[derive(Clone, Debug)]
pub struct LiveFailure {
    /// The task that failed (for a task that did not run because an input failed, the task
    /// where the failure started).
    pub task: Arc<str>,
    pub error: TaskError,
}

impl LiveFailure {
    pub(crate) fn same(&self, other: &LiveFailure) -> bool {
        self.task == other.task
            && self.error.kind() == other.error.kind()
            && self.error.message() == other.error.message()
    }
}

impl std::fmt::Display for LiveFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "task `{}` failed: {}", self.task, self.error.message())
    }
}

impl std::error::Error for LiveFailure {}

/// An output's value as of a revision, or the failure that stands in its place.
pub type LiveValue = Result<Value, LiveFailure>;

/// One output's new value: computed from the inputs of `revision` (every input it depends
/// on had its `revision` value), never from a mix of revisions.
#[derive(Clone, Debug)]
pub struct Update {
    pub revision: Revision,
    pub value: LiveValue,
}

/// Every output at one revision at which nothing was left to compute.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub revision: Revision,
    pub(crate) names: Arc<OutputNames>,
    pub(crate) values: Vec<Option<LiveValue>>,
}

impl Snapshot {
    /// The output's value; `None` for an event output no event has reached yet.
    pub fn get(&self, output: &str) -> Option<&LiveValue> {
        let idx = self.names.index(output)?;
        self.values[idx].as_ref()
    }

    /// Each output by name, in the plan's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&LiveValue>)> {
        self.names
            .list
            .iter()
            .zip(&self.values)
            .map(|(name, value)| (&**name, value.as_ref()))
    }
}

/// What the flow did, in order: the log tests snapshot and interfaces show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveEvent {
    /// Changes were applied as one revision (the inputs whose values changed).
    Revision {
        revision: Revision,
        inputs: Vec<Arc<str>>,
    },
    /// A task started executing with the inputs of `revision`.
    Started { revision: Revision, task: Arc<str> },
    /// The execution that started at `revision` ended; `changed` says whether its outputs
    /// differ from before (an event task's always count as changed).
    Finished {
        revision: Revision,
        task: Arc<str>,
        changed: bool,
        failed: bool,
    },
    /// A newer revision invalidated the execution that started at `revision`, which was
    /// stopped.
    Cancelled { revision: Revision, task: Arc<str> },
    /// A task whose inputs were recomputed but came out equal: not executed again.
    Unchanged { revision: Revision, task: Arc<str> },
    /// An output's new value went to its subscribers.
    Published {
        revision: Revision,
        output: Arc<str>,
    },
    /// Nothing is left to compute for `revision`.
    Settled { revision: Revision },
}

/// Counters of a live flow's work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    pub revisions: u64,
    pub started: u64,
    pub finished: u64,
    pub cancelled: u64,
    /// Tasks found up to date without executing (early cut-off).
    pub unchanged: u64,
}

/// A subscription to one output. For a state output, [`Subscription::next`] gives the
/// latest value not seen yet (intermediate revisions a slow reader missed are skipped); for
/// an event output, every value, once, in order.
#[derive(Debug)]
pub struct Subscription {
    queue: Arc<SubQueue>,
}

#[derive(Debug)]
pub(crate) struct SubQueue {
    /// A state output keeps only its newest update.
    latest_only: bool,
    updates: Mutex<Pending>,
    notify: Notify,
}

/// Updates not read yet, and whether the flow is gone (no more will come).
#[derive(Debug, Default)]
struct Pending {
    queue: VecDeque<Update>,
    closed: bool,
}

impl Subscription {
    /// The next update; `None` once the flow is gone and every update was read.
    pub async fn next(&mut self) -> Option<Update> {
        loop {
            let notified = self.queue.notify.notified();
            {
                let mut pending = lock(&self.queue.updates);
                if let Some(update) = pending.queue.pop_front() {
                    return Some(update);
                }
                if pending.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// An update already waiting, without waiting.
    pub fn try_next(&mut self) -> Option<Update> {
        lock(&self.queue.updates).queue.pop_front()
    }
}

/// The plan's outputs, in order and by name (a flow may have one per column of a grid).
#[derive(Debug)]
pub(crate) struct OutputNames {
    pub(crate) list: Vec<Arc<str>>,
    index: HashMap<Arc<str>, usize>,
}

impl OutputNames {
    pub(crate) fn new(list: Vec<Arc<str>>) -> OutputNames {
        let index = list
            .iter()
            .enumerate()
            .map(|(idx, name)| (name.clone(), idx))
            .collect();
        OutputNames { list, index }
    }

    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// An output's newest update, its value at the newest settled revision, and its
/// subscribers.
#[derive(Debug, Default)]
struct OutputSlot {
    latest: Option<Update>,
    settled: Option<LiveValue>,
    subscribers: Vec<Weak<SubQueue>>,
}

/// Shared between the driver and the handles.
#[derive(Debug)]
pub(crate) struct Board {
    pub(crate) names: Arc<OutputNames>,
    pub(crate) output_is_event: Vec<bool>,
    outputs: Vec<Mutex<OutputSlot>>,
    /// The newest settled revision (0: none yet). Held for writing while the driver moves
    /// outputs' settled values forward, so a snapshot never mixes two settled revisions.
    settled_revision: RwLock<Revision>,
    activity: Mutex<Vec<mpsc::UnboundedSender<LiveEvent>>>,
    pub(crate) revisions: AtomicU64,
    pub(crate) started: AtomicU64,
    pub(crate) finished: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) unchanged: AtomicU64,
    /// Changes submitted through the handles.
    pub(crate) submitted: AtomicU64,
    /// Whether `activity` has listeners: the driver builds no event for nobody.
    listening: AtomicBool,
}

impl Board {
    pub(crate) fn new(
        names: Arc<OutputNames>,
        output_is_event: Vec<bool>,
        activity: Vec<mpsc::UnboundedSender<LiveEvent>>,
    ) -> Board {
        Board {
            outputs: names.list.iter().map(|_| Mutex::default()).collect(),
            names,
            output_is_event,
            settled_revision: RwLock::new(0),
            listening: AtomicBool::new(!activity.is_empty()),
            activity: Mutex::new(activity),
            revisions: AtomicU64::new(0),
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            unchanged: AtomicU64::new(0),
            // The initial inputs are the first change.
            submitted: AtomicU64::new(1),
        }
    }

    pub(crate) fn subscribe(&self, idx: usize) -> Subscription {
        let queue = Arc::new(SubQueue {
            latest_only: !self.output_is_event[idx],
            updates: Mutex::default(),
            notify: Notify::new(),
        });
        let mut output = lock(&self.outputs[idx]);
        // A state output's subscriber starts from the current value; an event's from now.
        if let (Some(update), false) = (&output.latest, self.output_is_event[idx]) {
            lock(&queue.updates).queue.push_back(update.clone());
        }
        output.subscribers.push(Arc::downgrade(&queue));
        Subscription { queue }
    }

    pub(crate) fn publish(&self, idx: usize, update: Update) {
        let mut output = lock(&self.outputs[idx]);
        output.subscribers.retain(|queue| match queue.upgrade() {
            Some(queue) => {
                let mut pending = lock(&queue.updates);
                if queue.latest_only {
                    pending.queue.clear();
                }
                pending.queue.push_back(update.clone());
                drop(pending);
                queue.notify.notify_one();
                true
            }
            None => false,
        });
        output.latest = Some(update);
    }

    /// Nothing is left to compute at `revision`: the outputs published since the last
    /// settled revision (`published`) settle at their newest values. Costs what changed,
    /// not the number of outputs.
    pub(crate) fn settle(&self, revision: Revision, published: &[usize]) {
        let mut settled = self
            .settled_revision
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for &idx in published {
            let mut output = lock(&self.outputs[idx]);
            output.settled = output.latest.as_ref().map(|update| update.value.clone());
        }
        *settled = revision;
    }

    pub(crate) fn snapshot(&self) -> Option<Snapshot> {
        let settled = self
            .settled_revision
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if *settled == 0 {
            return None;
        }
        let values = self
            .outputs
            .iter()
            .map(|output| lock(output).settled.clone())
            .collect();
        Some(Snapshot {
            revision: *settled,
            names: self.names.clone(),
            values,
        })
    }

    pub(crate) fn activity(&self) -> mpsc::UnboundedReceiver<LiveEvent> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut listeners = lock(&self.activity);
        listeners.push(sender);
        self.listening.store(true, Ordering::Relaxed);
        receiver
    }

    /// Whether anyone listens to the activity log, without a lock: the driver asks before
    /// each event.
    pub(crate) fn is_listened_to(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    pub(crate) fn log(&self, event: LiveEvent) {
        let mut listeners = lock(&self.activity);
        listeners.retain(|sender| sender.send(event.clone()).is_ok());
        if listeners.is_empty() {
            self.listening.store(false, Ordering::Relaxed);
        }
    }

    pub(crate) fn stats(&self) -> LiveStats {
        LiveStats {
            revisions: self.revisions.load(Ordering::Relaxed),
            started: self.started.load(Ordering::Relaxed),
            finished: self.finished.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            unchanged: self.unchanged.load(Ordering::Relaxed),
        }
    }

    /// The driver stopped (the flow was dropped, or its runtime shut down): subscribers
    /// read what is left, then get `None`.
    pub(crate) fn close(&self) {
        for output in &self.outputs {
            for queue in lock(output).subscribers.iter().filter_map(Weak::upgrade) {
                lock(&queue.updates).closed = true;
                queue.notify.notify_one();
            }
        }
        lock(&self.activity).clear();
    }
}
