//! What attempts write (a command's pipes, a task's `ctx.log`), recorded in the store as it
//! comes: buffered per attempt, sent at most every [`FLUSH_EVERY`] (or once
//! [`FLUSH_BYTES`] wait) while the attempt runs, and the rest with the step that ends it
//! (`Shared::stage_output`), so once an attempt is recorded as ended everything it wrote is
//! there. An attempt that writes nothing costs an atomic load: no buffer, no write.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use plait_core::{NodeId, OutputSink, OutputStream};
use plait_store::{OutputChunk, RunId, Store, TaskPath, Write};
use rustc_hash::FxHashMap;

use super::Shared;
use crate::sync::lock;

/// How long output may wait in memory while its attempt runs: what a follower lags by,
/// and what a killed run loses at most.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// Output sent at once when this much waits, so a chatty attempt holds little in memory.
const FLUSH_BYTES: usize = 64 * 1024;

/// The run's sink: every attempt's output, until it is recorded.
#[derive(Debug)]
pub(super) struct OutputRecorder {
    store: Arc<dyn Store>,
    run_id: RunId,
    /// Each stream keeps its last this many bytes.
    limit: u64,
    runtime: tokio::runtime::Handle,
    /// Attempts that wrote and have not ended: an attempt's end takes the lock only when
    /// some have.
    open: AtomicUsize,
    attempts: Mutex<FxHashMap<(Arc<str>, u32), Attempt>>,
    /// This recorder, for the flushes it schedules.
    me: Weak<OutputRecorder>,
}

#[derive(Debug, Default)]
struct Attempt {
    /// Stdout's and stderr's bytes not sent yet.
    streams: [Pending; 2],
    /// A flush is scheduled.
    armed: bool,
    /// Recorded as ended: what comes later (a stray thread of the task) is dropped.
    ended: bool,
}

#[derive(Debug, Default)]
struct Pending {
    /// Where `bytes` start among all the attempt wrote to the stream.
    offset: u64,
    bytes: Vec<u8>,
}

fn index(stream: OutputStream) -> usize {
    match stream {
        OutputStream::Stdout => 0,
        OutputStream::Stderr => 1,
    }
}

impl OutputRecorder {
    pub(super) fn new(
        store: Arc<dyn Store>,
        run_id: RunId,
        limit: u64,
        runtime: tokio::runtime::Handle,
    ) -> Arc<OutputRecorder> {
        Arc::new_cyclic(|me| OutputRecorder {
            store,
            run_id,
            limit,
            runtime,
            open: AtomicUsize::new(0),
            attempts: Mutex::default(),
            me: me.clone(),
        })
    }

    /// Takes what waits of an attempt as writes, and empties its buffers.
    fn take(&self, task: &Arc<str>, attempt: u32, output: &mut Attempt) -> Vec<Write> {
        let mut writes = Vec::new();
        for (stream, pending) in OutputStream::ALL.into_iter().zip(&mut output.streams) {
            if pending.bytes.is_empty() {
                continue;
            }
            let bytes = std::mem::take(&mut pending.bytes);
            let offset = pending.offset;
            pending.offset += bytes.len() as u64;
            writes.push(Write::Output(OutputChunk {
                run_id: self.run_id.clone(),
                task: TaskPath::from(task.clone()),
                attempt,
                stream,
                offset,
                bytes,
                limit: self.limit,
            }));
        }
        writes
    }

    /// Sends `writes` now. Called under the attempts' lock, so an attempt's chunks reach
    /// the store in order (it commits requests in the order they were made); awaited
    /// elsewhere. A failure loses that output only: the run goes on, and its next step's
    /// commit finds out whether the store still works.
    fn send(&self, writes: Vec<Write>) {
        if writes.is_empty() {
            return;
        }
        let written = self.store.write(writes);
        self.runtime.spawn(async move {
            if let Err(error) = written.await {
                tracing::warn!(%error, "recording a task's output failed");
            }
        });
    }

    /// The scheduled flush of an attempt's output.
    fn flush(&self, task: &Arc<str>, attempt: u32) {
        let mut attempts = lock(&self.attempts);
        let Some(output) = attempts.get_mut(&(task.clone(), attempt)) else {
            return;
        };
        output.armed = false;
        if output.ended {
            return;
        }
        let writes = self.take(task, attempt, output);
        self.send(writes);
    }

    /// The attempt ended: what waits of its output, to record with the step that ends it.
    fn end(&self, task: &Arc<str>, attempt: u32) -> Vec<Write> {
        if self.open.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let mut attempts = lock(&self.attempts);
        let Some(output) = attempts.get_mut(&(task.clone(), attempt)) else {
            return Vec::new();
        };
        if output.ended {
            return Vec::new();
        }
        output.ended = true;
        self.open.fetch_sub(1, Ordering::AcqRel);
        let writes = self.take(task, attempt, output);
        output.streams = Default::default();
        writes
    }
}

impl OutputSink for OutputRecorder {
    fn write(&self, task: &Arc<str>, attempt: u32, stream: OutputStream, bytes: &[u8]) {
        let mut attempts = lock(&self.attempts);
        let output = attempts.entry((task.clone(), attempt)).or_insert_with(|| {
            self.open.fetch_add(1, Ordering::AcqRel);
            Attempt::default()
        });
        if output.ended {
            return;
        }
        let pending = &mut output.streams[index(stream)];
        pending.bytes.extend_from_slice(bytes);
        // Only the last `limit` bytes can be kept: the rest is cut here already.
        let excess = (pending.bytes.len() as u64).saturating_sub(self.limit);
        if excess > 0 {
            pending.bytes.drain(..excess as usize);
            pending.offset += excess;
        }
        if pending.bytes.len() >= FLUSH_BYTES {
            let writes = self.take(task, attempt, output);
            self.send(writes);
        } else if !output.armed {
            output.armed = true;
            let (me, task) = (self.me.clone(), task.clone());
            self.runtime.spawn(async move {
                tokio::time::sleep(FLUSH_EVERY).await;
                if let Some(me) = me.upgrade() {
                    me.flush(&task, attempt);
                }
            });
        }
    }
}

impl Shared {
    /// The sink an attempt's context writes to, if output is kept.
    pub(super) fn output_sink(&self) -> Option<Arc<dyn OutputSink>> {
        self.output
            .as_ref()
            .map(|output| output.clone() as Arc<dyn OutputSink>)
    }

    /// Stages what waits of an attempt's output, to be committed with the step that ends
    /// it (staged next).
    pub(super) fn stage_output(&self, node: NodeId, attempt: u32) {
        let Some(output) = &self.output else {
            return;
        };
        for write in output.end(&self.graph.node(node).path, attempt) {
            self.stage_write(write);
        }
    }
}
