//! The workflow the live flow runs: `polygon` -> `outline` (fast) -> `heat` (slow).
//!
//! `outline` validates and measures the polygon in microseconds, so the page hears about a
//! move at once; `solve` reads the outline, not the raw input, so a polygon that comes out
//! the same (early cut-off) is not solved again, and a polygon `outline` rejects never
//! reaches the solver.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use plait_core::{
    BoxFuture, Flow, Inputs, Invalid, Isolation, Outputs, Plan, Policy, Port, Task, TaskContext,
    TaskError, TaskNode, ValueType, Workflow, task_fn,
};
use serde_json::{Value as Json, json};

use crate::polygon::Polygon;
use crate::solver::{HeatField, Settings, solve};

/// The workflow's input: the polygon as a JSON array of `[x, y]` points.
pub(crate) const POLYGON: &str = "polygon";
/// Output of task `outline`: `{points, area, self_intersects}`.
pub(crate) const OUTLINE: &str = "outline";
/// Output of task `solve`: the heat field and how it was computed.
pub(crate) const HEAT: &str = "heat";
/// The slow task, as the live flow's activity names it.
pub(crate) const SOLVE_TASK: &str = "solve";

/// The polygon the page starts with: an irregular pentagon, hot along its top edge.
pub(crate) fn initial_polygon() -> Json {
    json!([
        [0.22, 0.16],
        [0.78, 0.2],
        [0.88, 0.62],
        [0.52, 0.88],
        [0.14, 0.66]
    ])
}

/// Compiles the workflow, the solver set as `settings` says.
pub(crate) fn plan(settings: Settings) -> Result<Plan, Invalid> {
    plan_with(SolveTask::new(settings))
}

fn plan_with(solve_task: SolveTask) -> Result<Plan, Invalid> {
    let flow = Flow::graph("live-heat")
        .task(
            "outline",
            task_fn([POLYGON], [OUTLINE], |polygon: Json| async move {
                outline(&polygon)
            }),
        )
        .add(TaskNode::new(SOLVE_TASK, solve_task));
    let workflow = Workflow::new(flow)
        .input(POLYGON, ValueType::Json)
        .outputs([OUTLINE, HEAT]);
    plait_core::compile(&workflow)
}

/// The outline the page draws, or why the polygon is not one.
fn outline(polygon: &Json) -> Result<Json, TaskError> {
    let polygon =
        Polygon::from_json(polygon).map_err(|invalid| TaskError::permanent(invalid.to_string()))?;
    Ok(json!({
        "points": polygon.to_json(),
        "area": polygon.area(),
        "self_intersects": polygon.self_intersects(),
    }))
}

/// Solves the heat equation over the outline's polygon. CPU-bound for a few hundred
/// milliseconds, so it runs on a blocking thread and watches its cancellation token.
#[derive(Debug)]
struct SolveTask {
    settings: Settings,
    requires: [Port; 1],
    provides: [Port; 1],
    /// Where a test hears how each `solve()` call ended.
    #[cfg(test)]
    probe: Option<Arc<tests::Probe>>,
}

impl SolveTask {
    fn new(settings: Settings) -> SolveTask {
        SolveTask {
            settings,
            requires: [Port::new(OUTLINE, ValueType::Json)],
            provides: [Port::new(HEAT, ValueType::Json)],
            #[cfg(test)]
            probe: None,
        }
    }
}

impl Task for SolveTask {
    fn requires(&self) -> &[Port] {
        &self.requires
    }

    fn provides(&self) -> &[Port] {
        &self.provides
    }

    fn execute(&self, ctx: TaskContext, inputs: Inputs) -> BoxFuture<Result<Outputs, TaskError>> {
        let settings = self.settings;
        #[cfg(test)]
        let probe = self.probe.clone();
        // Everything happens inside the future: the engine polls it on a blocking thread.
        Box::pin(async move {
            let polygon = polygon_of_outline(inputs.require(OUTLINE)?.as_json())?;
            let started = Instant::now();
            let solved = solve(&polygon, &settings, &|| ctx.is_cancelled());
            #[cfg(test)]
            if let Some(probe) = probe {
                probe.ended(&solved);
            }
            // The engine sees its token cancelled and records a cancellation, not this.
            let field = solved.map_err(|cancelled| TaskError::permanent(cancelled.to_string()))?;
            let heat = heat_json(&field, &polygon, started.elapsed().as_secs_f64() * 1000.0);
            Ok(Outputs::new().set(HEAT, heat))
        })
    }

    fn default_policy(&self) -> Policy {
        Policy {
            isolation: Isolation::Blocking,
            ..Policy::default()
        }
    }

    fn kind(&self) -> &str {
        "solver"
    }
}

fn polygon_of_outline(outline: Option<&Json>) -> Result<Polygon, TaskError> {
    let points = outline
        .and_then(|outline| outline.get("points"))
        .ok_or_else(|| TaskError::permanent("input `outline` has no `points`"))?;
    Polygon::from_json(points).map_err(|invalid| TaskError::permanent(invalid.to_string()))
}

/// What the page needs to draw the field and say how it was made.
fn heat_json(field: &HeatField, polygon: &Polygon, solve_ms: f64) -> Json {
    json!({
        "width": field.size,
        "height": field.size,
        "grid": base64::engine::general_purpose::STANDARD.encode(field.quantised()),
        "iterations": field.iterations,
        "residual": field.residual,
        "converged": field.converged,
        "solve_ms": solve_ms,
        "polygon": polygon.to_json(),
    })
}

/// A shared plan for the server (the live flow wants an `Arc`).
pub(crate) fn served_plan() -> Result<Arc<Plan>, Invalid> {
    plan(Settings::SERVED).map(Arc::new)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use plait_engine::live::{LiveEvent, LiveFlow, Snapshot};
    use tokio::sync::mpsc;

    use super::*;
    use crate::solver::{Cancelled, HeatField};

    /// How each `solve()` call of a probed plan ended: `Ok(sweeps)` if it ran to the end,
    /// `Err(sweeps)` if it stopped because it was cancelled, and when.
    #[derive(Debug, Default)]
    pub(crate) struct Probe {
        ends: Mutex<Vec<(Result<u32, u32>, Instant)>>,
    }

    impl Probe {
        pub(super) fn ended(&self, solved: &Result<HeatField, Cancelled>) {
            let sweeps = match solved {
                Ok(field) => Ok(field.iterations),
                Err(cancelled) => Err(cancelled.iterations),
            };
            self.ends.lock().unwrap().push((sweeps, Instant::now()));
        }

        fn ends(&self) -> Vec<(Result<u32, u32>, Instant)> {
            self.ends.lock().unwrap().clone()
        }

        /// Waits (up to 20 s) until `count` solve() calls have returned.
        async fn wait_for_ends(&self, count: usize) -> Vec<(Result<u32, u32>, Instant)> {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let ends = self.ends();
                if ends.len() >= count {
                    return ends;
                }
                assert!(
                    Instant::now() < deadline,
                    "only {} of {count} solve() calls returned: {ends:?}",
                    ends.len()
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    /// Waits (up to 20 s) for an event `matches` accepts.
    async fn wait_for_event(
        activity: &mut mpsc::UnboundedReceiver<LiveEvent>,
        matches: impl Fn(&LiveEvent) -> bool,
    ) -> LiveEvent {
        let wait = async {
            loop {
                let event = activity.recv().await.expect("the activity log closed");
                if matches(&event) {
                    return event;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .expect("the awaited event never came")
    }

    /// The engine logging `Cancelled` is not enough: the stale solve's thread must stop,
    /// long before its sweeps would run out, soon after the newer revision arrives.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stale_solve_really_stops_sweeping() {
        // Never converges (no move is below 0), so a solve only ends by cancellation or
        // after its sweeps, which would take far longer than the test waits.
        const ENDLESS: Settings = Settings {
            size: 64,
            tolerance: 0.0,
            max_iterations: 5_000_000,
        };
        let probe = Arc::new(Probe::default());
        let mut solve_task = SolveTask::new(ENDLESS);
        solve_task.probe = Some(probe.clone());
        let mut builder = LiveFlow::builder(Arc::new(plan_with(solve_task).unwrap()));
        let mut activity = builder.activity();
        // Revision 1 is refused by `outline`, so no solve runs yet.
        let live = builder.start([(POLYGON, json!([[0.1, 0.1]]))]).unwrap();
        assert_eq!(live.settled_revision().await.unwrap(), 1);

        live.set(POLYGON, initial_polygon()).unwrap();
        let solving_2 = |event: &LiveEvent| matches!(event, LiveEvent::Started { revision: 2, task } if &**task == SOLVE_TASK);
        wait_for_event(&mut activity, solving_2).await;
        // Let it sweep for a while, so stopping it is not stopping it before it began.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(probe.ends().is_empty(), "{:?}", probe.ends());

        let moved_at = Instant::now();
        live.set(POLYGON, json!([[0.3, 0.1], [0.9, 0.5], [0.2, 0.8]]))
            .unwrap();
        let cancelled_2 = |event: &LiveEvent| matches!(event, LiveEvent::Cancelled { revision: 2, task } if &**task == SOLVE_TASK);
        wait_for_event(&mut activity, cancelled_2).await;
        let ends = probe.wait_for_ends(1).await;
        let (sweeps, ended_at) = ends[0];
        let sweeps = sweeps.expect_err("revision 2's solve ran to the end instead of stopping");
        assert!(sweeps > 0 && sweeps < ENDLESS.max_iterations, "{sweeps}");
        let stopped_after = ended_at.duration_since(moved_at);
        assert!(
            stopped_after < Duration::from_secs(2),
            "revision 2's solve went on for {stopped_after:?} after the move"
        );
        // Its sweeps stopped for good: nothing of revision 2 is still counting.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(probe.ends().len(), 1, "{:?}", probe.ends());

        // Revision 3's endless solve stops the same way once an invalid polygon replaces it
        // (which also leaves no thread sweeping when the test ends).
        live.set(POLYGON, json!([[0.1, 0.1]])).unwrap();
        let ends = probe.wait_for_ends(2).await;
        assert!(ends[1].0.is_err(), "{ends:?}");
    }

    const SMALL: Settings = Settings {
        size: 40,
        tolerance: 1e-6,
        max_iterations: 10_000,
    };

    /// Starts the flow and waits until revision 1 is computed.
    async fn started() -> LiveFlow {
        let live = LiveFlow::builder(Arc::new(plan(SMALL).unwrap()))
            .start([(POLYGON, initial_polygon())])
            .unwrap();
        assert_eq!(live.settled_revision().await.unwrap(), 1);
        live
    }

    fn json_of(snapshot: &Snapshot, output: &str) -> Json {
        let value = snapshot.get(output).unwrap().clone().unwrap();
        value.as_json().unwrap().clone()
    }

    #[tokio::test]
    async fn a_polygon_flows_through_outline_into_heat() {
        let live = started().await;
        let moved = json!([[0.3, 0.1], [0.9, 0.5], [0.2, 0.8]]);
        live.set(POLYGON, moved.clone()).unwrap();
        let snapshot = live.settled().await.unwrap();
        assert_eq!(snapshot.revision, 2);
        let (outline, heat) = (json_of(&snapshot, OUTLINE), json_of(&snapshot, HEAT));
        assert_eq!(outline["points"], moved);
        assert_eq!(outline["self_intersects"], false);
        assert_eq!(heat["polygon"], moved);
        assert_eq!(heat["width"], 40);
        assert_eq!(heat["converged"], true);
    }

    #[tokio::test]
    async fn an_invalid_polygon_fails_outline_and_never_reaches_the_solver() {
        let live = started().await;
        let mut activity = live.activity();
        live.set(POLYGON, json!([[0.1, 0.1], [0.2, 0.2]])).unwrap();
        let snapshot = live.settled().await.unwrap();
        let failure = snapshot.get(HEAT).unwrap().clone().unwrap_err();
        assert_eq!(&*failure.task, "outline");
        assert_eq!(
            failure.error.message(),
            "The polygon needs 3 to 12 vertices, found 2; add or remove points"
        );
        let mut solve_started = false;
        while let Ok(event) = activity.try_recv() {
            solve_started |=
                matches!(event, LiveEvent::Started { task, .. } if &*task == SOLVE_TASK);
        }
        assert!(!solve_started);
    }
}
