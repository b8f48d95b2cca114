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
    let flow = Flow::graph("live-heat")
        .task(
            "outline",
            task_fn([POLYGON], [OUTLINE], |polygon: Json| async move {
                outline(&polygon)
            }),
        )
        .add(TaskNode::new(SOLVE_TASK, SolveTask::new(settings)));
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
}

impl SolveTask {
    fn new(settings: Settings) -> SolveTask {
        SolveTask {
            settings,
            requires: [Port::new(OUTLINE, ValueType::Json)],
            provides: [Port::new(HEAT, ValueType::Json)],
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
        // Everything happens inside the future: the engine polls it on a blocking thread.
        Box::pin(async move {
            let polygon = polygon_of_outline(inputs.require(OUTLINE)?.as_json())?;
            let started = Instant::now();
            let field = solve(&polygon, &settings, &|| ctx.is_cancelled())
                // The engine sees its token cancelled and records a cancellation, not this.
                .map_err(|cancelled| TaskError::permanent(cancelled.to_string()))?;
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
mod tests {
    use plait_engine::live::{LiveEvent, LiveFlow, Snapshot};

    use super::*;

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
