//! The solver's state as the page shows it, kept from the live flow's activity log.
//!
//! One task reads the log for the whole server and publishes the latest [`SolveStatus`] on a
//! watch channel: each page gets the current status when it connects and every change after,
//! however late it connects (the log itself only tells a listener what happens from then on).

use std::time::Instant;

use plait_engine::live::{LiveEvent, Revision};
use serde_json::{Value as Json, json};
use tokio::sync::{mpsc, watch};

use crate::flow::SOLVE_TASK;

/// Where the latest solve stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum SolveState {
    /// No solve event seen yet.
    #[default]
    Idle,
    Running,
    Finished,
    /// A newer revision made it stale and the engine stopped it.
    Cancelled,
    Failed,
    /// The solve's input came back to that of its last execution (the polygon moved away
    /// and back): the engine restored that result without solving, so the heat shown is
    /// current and nothing runs.
    Unchanged,
}

impl SolveState {
    fn word(self) -> &'static str {
        match self {
            SolveState::Idle => "idle",
            SolveState::Running => "running",
            SolveState::Finished => "finished",
            SolveState::Cancelled => "cancelled",
            SolveState::Failed => "failed",
            SolveState::Unchanged => "unchanged",
        }
    }
}

/// The latest solve and the counts of all solves so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SolveStatus {
    /// The revision the latest solve was solving.
    pub(crate) revision: Revision,
    pub(crate) state: SolveState,
    /// How long the latest solve ran, once it ended.
    pub(crate) solve_ms: Option<f64>,
    pub(crate) started: u64,
    pub(crate) finished: u64,
    pub(crate) cancelled: u64,
}

impl SolveStatus {
    /// The `status` event's data.
    pub(crate) fn to_json(&self) -> Json {
        json!({
            "revision": self.revision,
            "solve": self.state.word(),
            "solve_ms": self.solve_ms,
            "started": self.started,
            "finished": self.finished,
            "cancelled": self.cancelled,
        })
    }
}

/// Starts following a live flow's activity; the receiver always holds the latest status.
///
/// Give it the receiver of `LiveBuilder::activity`, taken before `start`: it then sees every
/// solve from revision 1's on, so `started == finished + cancelled` holds whenever no solve
/// runs (a failed solve counts as finished).
pub(crate) fn follow(activity: mpsc::UnboundedReceiver<LiveEvent>) -> watch::Receiver<SolveStatus> {
    let (sender, receiver) = watch::channel(SolveStatus::default());
    tokio::spawn(track(activity, sender));
    receiver
}

async fn track(
    mut activity: mpsc::UnboundedReceiver<LiveEvent>,
    sender: watch::Sender<SolveStatus>,
) {
    let mut tracker = Tracker::default();
    while let Some(event) = activity.recv().await {
        if tracker.apply(&event, Instant::now()) {
            sender.send_replace(tracker.status.clone());
        }
    }
}

/// The status plus what it needs to time solves.
#[derive(Debug, Default)]
struct Tracker {
    status: SolveStatus,
    /// The running solve's revision and start. The driver runs at most one execution of a
    /// task at a time (it cancels the old one before it starts the next), so one is enough.
    running: Option<(Revision, Instant)>,
}

impl Tracker {
    /// Takes in one event; whether the status changed.
    ///
    /// `Started`, `Finished` and `Cancelled` all carry the revision the solve was solving,
    /// so an end is paired with its start by revision. `Unchanged` says the solve was not
    /// run for its revision because its last result still stands.
    fn apply(&mut self, event: &LiveEvent, now: Instant) -> bool {
        let status = &mut self.status;
        let (state, revision) = match event {
            LiveEvent::Started { revision, task } if &**task == SOLVE_TASK => {
                status.started += 1;
                (SolveState::Running, *revision)
            }
            LiveEvent::Finished {
                revision,
                task,
                failed,
                ..
            } if &**task == SOLVE_TASK => {
                status.finished += 1;
                let state = if *failed {
                    SolveState::Failed
                } else {
                    SolveState::Finished
                };
                (state, *revision)
            }
            LiveEvent::Cancelled { revision, task } if &**task == SOLVE_TASK => {
                status.cancelled += 1;
                (SolveState::Cancelled, *revision)
            }
            // Nothing started, so no count moves (`started == finished + cancelled` holds)
            // and there is no time; the driver cancelled any running solve before this.
            LiveEvent::Unchanged { revision, task } if &**task == SOLVE_TASK => {
                (SolveState::Unchanged, *revision)
            }
            _ => return false,
        };
        status.revision = revision;
        status.state = state;
        // A start times the solve from now; anything else ends whatever solve ran.
        let ended = std::mem::replace(
            &mut self.running,
            (state == SolveState::Running).then_some((revision, now)),
        );
        status.solve_ms = match state {
            SolveState::Finished | SolveState::Failed | SolveState::Cancelled => ended
                .filter(|&(started, _)| started == revision)
                .map(|(_, started_at)| now.duration_since(started_at).as_secs_f64() * 1000.0),
            _ => None,
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use plait_engine::live::LiveFlow;

    use super::*;
    use crate::flow::{POLYGON, initial_polygon, plan};
    use crate::solver::Settings;

    fn solve() -> Arc<str> {
        Arc::from(SOLVE_TASK)
    }

    fn started(revision: Revision) -> LiveEvent {
        LiveEvent::Started {
            revision,
            task: solve(),
        }
    }

    #[test]
    fn solves_are_timed_and_counted_and_other_tasks_ignored() {
        let mut tracker = Tracker::default();
        let start = Instant::now();
        let outline = LiveEvent::Started {
            revision: 2,
            task: Arc::from("outline"),
        };
        assert!(!tracker.apply(&outline, start));
        assert!(tracker.apply(&started(2), start));
        assert_eq!(tracker.status.state, SolveState::Running);
        // Revision 3 cancelled it; the event names the revision it was solving.
        let cancelled = LiveEvent::Cancelled {
            revision: 2,
            task: solve(),
        };
        tracker.apply(&cancelled, start + Duration::from_millis(40));
        assert_eq!(
            (
                tracker.status.revision,
                tracker.status.state,
                tracker.status.solve_ms
            ),
            (2, SolveState::Cancelled, Some(40.0))
        );
        tracker.apply(&started(3), start);
        let finished = LiveEvent::Finished {
            revision: 3,
            task: solve(),
            changed: true,
            failed: false,
        };
        tracker.apply(&finished, start + Duration::from_millis(250));
        assert_eq!(
            tracker.status,
            SolveStatus {
                revision: 3,
                state: SolveState::Finished,
                solve_ms: Some(250.0),
                started: 2,
                finished: 1,
                cancelled: 1,
            }
        );
    }

    #[test]
    fn an_end_is_timed_only_against_the_start_of_its_revision() {
        let mut tracker = Tracker::default();
        let start = Instant::now();
        tracker.apply(&started(4), start);
        let finished = LiveEvent::Finished {
            revision: 5,
            task: solve(),
            changed: true,
            failed: true,
        };
        tracker.apply(&finished, start + Duration::from_millis(10));
        let status = &tracker.status;
        assert_eq!(
            (status.revision, status.state, status.solve_ms),
            (5, SolveState::Failed, None)
        );
    }

    #[test]
    fn a_solve_restored_without_running_shows_unchanged_and_keeps_the_counts() {
        let mut tracker = Tracker::default();
        let start = Instant::now();
        tracker.apply(&started(2), start);
        let cancelled = LiveEvent::Cancelled {
            revision: 2,
            task: solve(),
        };
        tracker.apply(&cancelled, start + Duration::from_millis(5));
        assert_eq!(tracker.status.state, SolveState::Cancelled);
        let other = LiveEvent::Unchanged {
            revision: 3,
            task: Arc::from("outline"),
        };
        assert!(!tracker.apply(&other, start));
        let unchanged = LiveEvent::Unchanged {
            revision: 3,
            task: solve(),
        };
        assert!(tracker.apply(&unchanged, start + Duration::from_millis(9)));
        assert_eq!(
            tracker.status,
            SolveStatus {
                revision: 3,
                state: SolveState::Unchanged,
                solve_ms: None,
                started: 1,
                finished: 0,
                cancelled: 1,
            }
        );
        assert_eq!(tracker.status.to_json()["solve"], "unchanged");
    }

    /// The receiver from the builder hears revision 1's solve start, so the counts add up
    /// from the first solve on.
    #[tokio::test]
    async fn following_from_the_builder_counts_revision_1s_solve() {
        let settings = Settings {
            size: 24,
            tolerance: 1e-6,
            max_iterations: 10_000,
        };
        let mut builder = LiveFlow::builder(Arc::new(plan(settings).unwrap()));
        let mut status = follow(builder.activity());
        let live = builder.start([(POLYGON, initial_polygon())]).unwrap();
        assert_eq!(live.settled_revision().await.unwrap(), 1);
        let wait =
            status.wait_for(|status| status.state != SolveState::Running && status.started > 0);
        let status = tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .expect("the status never showed revision 1's solve")
            .unwrap()
            .clone();
        assert_eq!(
            (
                status.revision,
                status.state,
                status.started,
                status.finished,
                status.cancelled
            ),
            (1, SolveState::Finished, 1, 1, 0)
        );
        assert!(status.solve_ms.is_some());
    }

    /// On a real live flow: a polygon that moves away (its solve cancelled before it ends)
    /// and comes back to the one last solved ends showing `unchanged` for the newest
    /// revision, not `cancelled`.
    #[tokio::test]
    async fn moving_away_and_back_ends_unchanged_not_cancelled() {
        // Slow enough (in a debug build too) that the move away is still solving when the
        // move back arrives.
        let settings = Settings {
            size: 240,
            tolerance: 1e-11,
            max_iterations: 1_000_000,
        };
        let mut builder = LiveFlow::builder(Arc::new(plan(settings).unwrap()));
        let mut status = follow(builder.activity());
        let live = builder.start([(POLYGON, initial_polygon())]).unwrap();
        assert_eq!(live.settled_revision().await.unwrap(), 1);
        let away = serde_json::json!([[0.05, 0.05], [0.95, 0.05], [0.95, 0.95], [0.05, 0.95]]);
        live.set(POLYGON, away).unwrap();
        let running =
            status.wait_for(|status| status.state == SolveState::Running && status.revision == 2);
        tokio::time::timeout(Duration::from_secs(30), running)
            .await
            .expect("the move away's solve never started")
            .unwrap();
        live.set(POLYGON, initial_polygon()).unwrap();
        let revision = live.settled_revision().await.unwrap();
        assert_eq!(revision, 3);
        let wait = status.wait_for(|status| status.revision == revision);
        let status = tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .expect("the status never showed the move back")
            .unwrap()
            .clone();
        assert_eq!(
            (
                status.state,
                status.started,
                status.finished,
                status.cancelled
            ),
            (SolveState::Unchanged, 2, 1, 1)
        );
    }
}
