//! The steady-state heat equation (Laplace's equation) over a polygon, by successive
//! over-relaxation on a square grid.
//!
//! The grid covers the unit square. A cell whose centre is inside the polygon is an unknown;
//! a cell outside that borders one holds the boundary temperature of its nearest boundary
//! point (1 on the polygon's first edge, 0 elsewhere: see
//! [`Polygon::boundary_temperature`]). Each sweep moves every unknown towards the mean of its
//! four neighbours, over-relaxed by `omega`; the solve stops when the largest move falls
//! below the tolerance. Pure computation: the caller says how to notice cancellation.

use crate::polygon::Polygon;

/// How the grid and the iteration are set.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    /// Cells along each side of the unit square.
    pub(crate) size: usize,
    /// Stop once no cell moves by more than this in a sweep.
    pub(crate) tolerance: f64,
    /// Stop here even if not converged (the result says so).
    pub(crate) max_iterations: u32,
}

impl Settings {
    /// What the example serves: a 320 x 320 grid solved to 1e-7 takes a few hundred
    /// milliseconds in a release build, long enough for a drag to make solves stale.
    pub(crate) const SERVED: Settings = Settings {
        size: 320,
        tolerance: 1e-7,
        max_iterations: 50_000,
    };
}

/// How often (in sweeps) the solver asks whether it was cancelled. A sweep of the served
/// grid takes about half a millisecond in a release build, so a cancelled solve stops
/// within about 2 ms.
pub(crate) const CANCEL_CHECK_EVERY: u32 = 4;

/// A solved temperature field.
#[derive(Clone, Debug)]
pub(crate) struct HeatField {
    pub(crate) size: usize,
    /// Row-major, `size * size`, `y` down; `None` outside the polygon.
    values: Vec<Option<f64>>,
    pub(crate) iterations: u32,
    /// The largest move of a cell in the last sweep.
    pub(crate) residual: f64,
    pub(crate) converged: bool,
}

/// The solve stopped because its caller cancelled it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the solve was cancelled after {iterations} iterations")]
pub(crate) struct Cancelled {
    pub(crate) iterations: u32,
}

impl HeatField {
    /// The temperature of cell (`column`, `row`), `None` outside the polygon.
    #[cfg(test)]
    pub(crate) fn value(&self, column: usize, row: usize) -> Option<f64> {
        self.values[row * self.size + column]
    }

    /// One byte per cell for the page: 0 outside the polygon, 1..=255 for temperatures 0..=1
    /// inside, so the page can tell the polygon's cells from the background without a mask.
    pub(crate) fn quantised(&self) -> Vec<u8> {
        self.values
            .iter()
            .map(|value| match value {
                None => 0,
                // In 1..=255 by the clamp, so the cast cannot truncate.
                Some(value) => 1 + (value.clamp(0.0, 1.0) * 254.0).round() as u8,
            })
            .collect()
    }
}

/// Solves over `polygon`, calling `is_cancelled` every [`CANCEL_CHECK_EVERY`] sweeps.
pub(crate) fn solve(
    polygon: &Polygon,
    settings: &Settings,
    is_cancelled: &dyn Fn() -> bool,
) -> Result<HeatField, Cancelled> {
    let size = settings.size;
    let grid = Grid::new(polygon, size);
    let mut temperature = grid.boundary;
    let omega = grid.omega;
    let width = size + 2;
    let mut iterations = 0;
    let mut residual = 0.0;
    let mut converged = grid.unknowns.is_empty();
    while !converged && iterations < settings.max_iterations {
        if iterations % CANCEL_CHECK_EVERY == 0 && is_cancelled() {
            return Err(Cancelled { iterations });
        }
        let mut largest_change: f64 = 0.0;
        for &cell in &grid.unknowns {
            let cell = cell as usize;
            let mean = 0.25
                * (temperature[cell - 1]
                    + temperature[cell + 1]
                    + temperature[cell - width]
                    + temperature[cell + width]);
            // The cell moves by the over-relaxed step, and that is what the tolerance bounds.
            let step = omega * (mean - temperature[cell]);
            temperature[cell] += step;
            largest_change = largest_change.max(step.abs());
        }
        iterations += 1;
        residual = largest_change;
        converged = residual < settings.tolerance;
    }
    let values = (0..size * size)
        .map(|idx| {
            let padded = (idx / size + 1) * width + idx % size + 1;
            grid.inside[padded].then(|| temperature[padded])
        })
        .collect();
    Ok(HeatField {
        size,
        values,
        iterations,
        residual,
        converged,
    })
}

/// The discretised problem: a `size + 2` square (one cell of padding on each side, so every
/// unknown has four neighbours without bounds checks of our own).
struct Grid {
    inside: Vec<bool>,
    /// Padded indices of the unknowns, in sweep order.
    unknowns: Vec<u32>,
    /// Boundary temperatures at the cells that border the polygon, 0 elsewhere.
    boundary: Vec<f64>,
    omega: f64,
}

impl Grid {
    fn new(polygon: &Polygon, size: usize) -> Grid {
        let width = size + 2;
        // The centre of padded cell `idx` (the padding's centres fall just outside [0, 1]).
        let centre = |idx: usize| {
            let (row, column) = (idx / width, idx % width);
            let coordinate = |cell: usize| (cell as f64 - 0.5) / size as f64;
            [coordinate(column), coordinate(row)]
        };
        let mut inside = vec![false; width * width];
        let mut unknowns = Vec::new();
        let (mut min_column, mut max_column, mut min_row, mut max_row) = (width, 0, width, 0);
        for row in 1..=size {
            for column in 1..=size {
                let idx = row * width + column;
                if polygon.contains(centre(idx)) {
                    inside[idx] = true;
                    unknowns.push(idx as u32);
                    (min_column, max_column) = (min_column.min(column), max_column.max(column));
                    (min_row, max_row) = (min_row.min(row), max_row.max(row));
                }
            }
        }
        let mut boundary = vec![0.0; width * width];
        let mut fixed = vec![false; width * width];
        for &cell in &unknowns {
            let cell = cell as usize;
            for neighbour in [cell - 1, cell + 1, cell - width, cell + width] {
                if !inside[neighbour] && !fixed[neighbour] {
                    fixed[neighbour] = true;
                    boundary[neighbour] = polygon.boundary_temperature(centre(neighbour));
                }
            }
        }
        // The optimal factor for a square of `extent` cells; a good one for other shapes of
        // that extent, and it turns thousands of Gauss-Seidel sweeps into hundreds.
        let extent =
            (max_column.saturating_sub(min_column)).max(max_row.saturating_sub(min_row)) + 2;
        let omega = 2.0 / (1.0 + (std::f64::consts::PI / extent as f64).sin());
        Grid {
            inside,
            unknowns,
            boundary,
            omega,
        }
    }
}

/// How long the served solve takes on a few shapes (`live-heat --solve-times`, for the
/// README; meaningful in a release build).
#[derive(Debug)]
pub(crate) struct SolveTime {
    pub(crate) shape: &'static str,
    pub(crate) sweeps: u32,
    pub(crate) milliseconds: Vec<f64>,
}

pub(crate) fn solve_times(settings: &Settings, rounds: usize) -> Vec<SolveTime> {
    let shapes = [
        ("initial pentagon", crate::flow::initial_polygon()),
        (
            "small triangle",
            serde_json::json!([[0.4, 0.4], [0.6, 0.4], [0.5, 0.6]]),
        ),
        (
            "full unit square",
            serde_json::json!([[0, 0], [1, 0], [1, 1], [0, 1]]),
        ),
    ];
    let never = || false;
    shapes
        .into_iter()
        .map(|(shape, json)| {
            let polygon = Polygon::from_json(&json).expect("the shapes are valid polygons");
            let mut time = SolveTime {
                shape,
                sweeps: 0,
                milliseconds: Vec::with_capacity(rounds),
            };
            for _ in 0..rounds {
                let started = std::time::Instant::now();
                if let Ok(field) = solve(&polygon, settings, &never) {
                    time.sweeps = field.iterations;
                }
                time.milliseconds
                    .push(started.elapsed().as_secs_f64() * 1000.0);
            }
            time
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use serde_json::json;

    use super::*;

    /// Small enough for a debug build, fine enough for the checks below.
    const TEST: Settings = Settings {
        size: 80,
        tolerance: 1e-9,
        max_iterations: 20_000,
    };

    /// A square with its top edge hot (`y` is down, so the first edge is the top).
    fn hot_top_square() -> Polygon {
        Polygon::from_json(&json!([[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]])).unwrap()
    }

    fn never() -> bool {
        false
    }

    /// The measurement runs its shapes to convergence (with the test's grid, so quickly).
    #[test]
    fn solve_times_solves_each_shape_to_convergence() {
        let times = solve_times(&TEST, 2);
        let names: Vec<&str> = times.iter().map(|time| time.shape).collect();
        assert_eq!(
            names,
            ["initial pentagon", "small triangle", "full unit square"]
        );
        for time in &times {
            assert!(time.sweeps > 0, "{time:?}");
            assert_eq!(time.milliseconds.len(), 2);
        }
    }

    #[test]
    fn hot_top_square_converges_symmetric_within_bounds_and_a_quarter_at_the_centre() {
        let field = solve(&hot_top_square(), &TEST, &never).unwrap();
        assert!(field.converged, "not converged: {field:?}");
        let size = field.size;
        let mut inside = 0;
        for row in 0..size {
            for column in 0..size {
                let Some(value) = field.value(column, row) else {
                    assert_eq!(field.value(size - 1 - column, row), None);
                    continue;
                };
                inside += 1;
                // The maximum principle: no interior value beyond the boundary's.
                assert!((0.0..=1.0).contains(&value), "{value} at ({column}, {row})");
                // Mirror symmetry about the vertical axis.
                let mirrored = field.value(size - 1 - column, row).unwrap();
                assert!((value - mirrored).abs() < 1e-6, "{value} vs {mirrored}");
            }
        }
        assert_eq!(inside, 64 * 64);
        // Four rotations of the problem add up to a square held at 1 all round, so by
        // symmetry the centre of each is exactly 1/4.
        let centre = (field.value(39, 39).unwrap()
            + field.value(40, 39).unwrap()
            + field.value(39, 40).unwrap()
            + field.value(40, 40).unwrap())
            / 4.0;
        assert!((centre - 0.25).abs() < 0.01, "centre {centre}");
        // Down the middle it cools steadily from the hot edge.
        let column: Vec<f64> = (8..72).map(|row| field.value(40, row).unwrap()).collect();
        assert!(
            column.windows(2).all(|pair| pair[0] > pair[1]),
            "{column:?}"
        );
    }

    #[test]
    fn quantised_marks_the_outside_zero_and_the_inside_one_to_255() {
        let field = solve(&hot_top_square(), &TEST, &never).unwrap();
        let bytes = field.quantised();
        assert_eq!(bytes.len(), 80 * 80);
        assert_eq!(bytes[0], 0);
        // Just under the hot edge, mid-way along it: nearly 1.
        assert!(bytes[8 * 80 + 40] > 200, "{}", bytes[8 * 80 + 40]);
        assert!(bytes[40 * 80 + 40] >= 1);
    }

    #[test]
    fn a_cancelled_solve_stops_at_the_next_check() {
        let calls = Cell::new(0);
        let cancel_on_third_check = || {
            calls.set(calls.get() + 1);
            calls.get() >= 3
        };
        let cancelled = solve(&hot_top_square(), &TEST, &cancel_on_third_check).unwrap_err();
        assert_eq!(
            cancelled,
            Cancelled {
                iterations: 2 * CANCEL_CHECK_EVERY
            }
        );
    }

    #[test]
    fn a_polygon_too_thin_for_any_cell_solves_to_nothing() {
        let sliver = Polygon::from_json(&json!([[0.1, 0.1], [0.9, 0.1], [0.5, 0.1001]])).unwrap();
        let field = solve(&sliver, &TEST, &never).unwrap();
        assert_eq!((field.iterations, field.converged), (0, true));
        assert!(field.quantised().iter().all(|&byte| byte == 0));
    }
}
