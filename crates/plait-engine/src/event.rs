//! The stream of state transitions every run emits: the CLI draws progress from it, tests
//! compare golden transcripts of it, and the store (later) persists it.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use plait_core::{NodeId, TaskError, TaskState};
use tokio::sync::mpsc;

/// One task changed state.
#[derive(Clone, Debug)]
pub struct Event {
    pub run_id: Arc<str>,
    pub node: NodeId,
    /// The task's path in the workflow.
    pub task: Arc<str>,
    pub state: TaskState,
    /// The attempt this transition belongs to (0 before the first; a `succeeded` with 0 is a
    /// result reused from the cache).
    pub attempt: u32,
    pub at: SystemTime,
    /// Why, for `retrying`, `failed` and `revert_failed`.
    pub error: Option<TaskError>,
}

/// Receives every event of a run, from whichever thread made it. Keep it quick: it is called
/// on the scheduler's path.
pub trait Observer: Send + Sync {
    fn on_event(&self, event: &Event);
}

/// Keeps every event, for tests and reports.
#[derive(Debug, Default)]
pub struct EventLog {
    events: Mutex<Vec<Event>>,
}

impl EventLog {
    pub fn new() -> Arc<Self> {
        Arc::new(EventLog::default())
    }

    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// `task state` lines (with the error after a colon), in the order they happened: a
    /// golden transcript without timestamps.
    pub fn transcript(&self) -> String {
        self.events()
            .iter()
            .map(|event| match &event.error {
                Some(error) => format!("{} {}: {error}\n", event.task, event.state),
                None => format!("{} {}\n", event.task, event.state),
            })
            .collect()
    }
}

impl Observer for EventLog {
    fn on_event(&self, event: &Event) {
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(event.clone());
    }
}

/// Forwards events to an async stream.
#[derive(Debug)]
pub struct ChannelObserver {
    sender: mpsc::UnboundedSender<Event>,
}

impl ChannelObserver {
    /// The observer and the stream it feeds. The stream ends when the observer is dropped.
    pub fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<Event>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Arc::new(ChannelObserver { sender }), receiver)
    }
}

impl Observer for ChannelObserver {
    fn on_event(&self, event: &Event) {
        // A closed stream means nobody listens any more; the run goes on regardless.
        let _ = self.sender.send(event.clone());
    }
}
