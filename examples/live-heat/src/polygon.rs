//! The polygon the user drags: parsed from JSON once at the edge, then plain geometry.
//!
//! Coordinates are in the unit square with `x` to the right and `y` down, as the page draws
//! them, so no flip happens anywhere between the browser and the solver.

use serde_json::Value as Json;

/// Fewest and most vertices the page and the flow accept.
pub(crate) const MIN_VERTICES: usize = 3;
pub(crate) const MAX_VERTICES: usize = 12;

/// A closed polygon: edge `i` runs from vertex `i` to vertex `i + 1` (the last back to the
/// first). Every vertex lies in the unit square.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Polygon {
    vertices: Vec<[f64; 2]>,
}

/// One thing wrong with a polygon sent to the flow.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub(crate) enum PolygonProblem {
    #[error("The polygon must be a JSON array of [x, y] points, found {found}")]
    NotAnArray { found: &'static str },
    #[error(
        "The polygon needs {MIN_VERTICES} to {MAX_VERTICES} vertices, found {found}; add or remove points"
    )]
    VertexCount { found: usize },
    #[error("Vertex {index} must be an array of two numbers [x, y]")]
    NotAPoint { index: usize },
    #[error(
        "Vertex {index} is ({x}, {y}), outside the unit square; keep 0 <= x <= 1 and 0 <= y <= 1"
    )]
    OutsideUnitSquare { index: usize, x: f64, y: f64 },
}

/// Every problem with a polygon, found at once.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}", join(problems))]
pub(crate) struct InvalidPolygon {
    pub(crate) problems: Vec<PolygonProblem>,
}

/// How many problems a message lists; the rest are counted, so a body of thousands of bad
/// points cannot make an answer of thousands of sentences.
pub(crate) const LISTED_PROBLEMS: usize = 20;

fn join(problems: &[PolygonProblem]) -> String {
    let mut messages: Vec<String> = problems
        .iter()
        .take(LISTED_PROBLEMS)
        .map(ToString::to_string)
        .collect();
    if problems.len() > LISTED_PROBLEMS {
        messages.push(format!("and {} more", problems.len() - LISTED_PROBLEMS));
    }
    messages.join("; ")
}

impl Polygon {
    /// Validates `json` (an array of `[x, y]` pairs) and reports every problem, not the first.
    pub(crate) fn from_json(json: &Json) -> Result<Polygon, InvalidPolygon> {
        let Json::Array(points) = json else {
            let found = json_kind(json);
            return Err(InvalidPolygon {
                problems: vec![PolygonProblem::NotAnArray { found }],
            });
        };
        let mut problems = Vec::new();
        if !(MIN_VERTICES..=MAX_VERTICES).contains(&points.len()) {
            problems.push(PolygonProblem::VertexCount {
                found: points.len(),
            });
        }
        let mut vertices = Vec::with_capacity(points.len());
        for (index, point) in points.iter().enumerate() {
            match point_of(point) {
                None => problems.push(PolygonProblem::NotAPoint { index }),
                Some([x, y]) if !in_unit_interval(x) || !in_unit_interval(y) => {
                    problems.push(PolygonProblem::OutsideUnitSquare { index, x, y })
                }
                Some(vertex) => vertices.push(vertex),
            }
        }
        if problems.is_empty() {
            Ok(Polygon { vertices })
        } else {
            Err(InvalidPolygon { problems })
        }
    }

    /// The polygon as the JSON the flow and the page exchange.
    pub(crate) fn to_json(&self) -> Json {
        Json::Array(
            self.vertices
                .iter()
                .map(|[x, y]| serde_json::json!([x, y]))
                .collect(),
        )
    }

    /// Edges as (start, end) pairs, edge `i` from vertex `i`.
    pub(crate) fn edges(&self) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
        let n_vertices = self.vertices.len();
        (0..n_vertices).map(move |idx| (self.vertices[idx], self.vertices[(idx + 1) % n_vertices]))
    }

    /// The enclosed area (of the even-odd filled region only for a simple polygon).
    pub(crate) fn area(&self) -> f64 {
        let twice: f64 = self
            .edges()
            .map(|([x0, y0], [x1, y1])| x0 * y1 - x1 * y0)
            .sum();
        twice.abs() / 2.0
    }

    /// Whether two edges that do not share a vertex cross or touch.
    pub(crate) fn self_intersects(&self) -> bool {
        let edges: Vec<_> = self.edges().collect();
        let n_edges = edges.len();
        (0..n_edges).any(|first| {
            // Neighbours share a vertex and always "touch"; skip them (and, for the last
            // edge, the first one).
            (first + 2..n_edges)
                .filter(|&second| !(first == 0 && second == n_edges - 1))
                .any(|second| segments_meet(edges[first], edges[second]))
        })
    }

    /// Whether `point` is inside, by the even-odd rule (so a self-intersecting polygon still
    /// has a well-defined inside).
    pub(crate) fn contains(&self, [px, py]: [f64; 2]) -> bool {
        let mut inside = false;
        for ([x0, y0], [x1, y1]) in self.edges() {
            if (y0 > py) != (y1 > py) {
                let x_at = x0 + (py - y0) / (y1 - y0) * (x1 - x0);
                if px < x_at {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// The boundary temperature seen from `point`: that of the nearest boundary point, which
    /// is 1 on the first edge and 0 on every other. Where two edges are equally near (a point
    /// facing the vertex between the hot edge and a cold one) it is their average, so the
    /// jump at the hot edge's ends is split evenly rather than decided by edge order.
    pub(crate) fn boundary_temperature(&self, point: [f64; 2]) -> f64 {
        let distances: Vec<f64> = self
            .edges()
            .map(|(start, end)| distance_to_segment(point, start, end))
            .collect();
        let nearest = distances.iter().copied().fold(f64::INFINITY, f64::min);
        let tie = nearest * 1e-9 + 1e-15;
        let (sum, count) = distances
            .iter()
            .enumerate()
            .filter(|(_, distance)| **distance <= nearest + tie)
            .fold((0.0, 0u32), |(sum, count), (edge_idx, _)| {
                let hot = if edge_idx == 0 { 1.0 } else { 0.0 };
                (sum + hot, count + 1)
            });
        sum / f64::from(count.max(1))
    }
}

fn point_of(json: &Json) -> Option<[f64; 2]> {
    match json.as_array()?.as_slice() {
        [x, y] => Some([x.as_f64()?, y.as_f64()?]),
        _ => None,
    }
}

fn in_unit_interval(value: f64) -> bool {
    (0.0..=1.0).contains(&value)
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn distance_to_segment([px, py]: [f64; 2], [x0, y0]: [f64; 2], [x1, y1]: [f64; 2]) -> f64 {
    let (dx, dy) = (x1 - x0, y1 - y0);
    let length_squared = dx * dx + dy * dy;
    let along = if length_squared == 0.0 {
        0.0
    } else {
        (((px - x0) * dx + (py - y0) * dy) / length_squared).clamp(0.0, 1.0)
    };
    let (nx, ny) = (x0 + along * dx, y0 + along * dy);
    (px - nx).hypot(py - ny)
}

/// Whether segments `a` and `b` have a point in common.
fn segments_meet(a: ([f64; 2], [f64; 2]), b: ([f64; 2], [f64; 2])) -> bool {
    let (p, q) = a;
    let (r, s) = b;
    let (d1, d2) = (orientation(r, s, p), orientation(r, s, q));
    let (d3, d4) = (orientation(p, q, r), orientation(p, q, s));
    if d1 * d2 < 0.0 && d3 * d4 < 0.0 {
        return true;
    }
    (d1 == 0.0 && on_segment(r, s, p))
        || (d2 == 0.0 && on_segment(r, s, q))
        || (d3 == 0.0 && on_segment(p, q, r))
        || (d4 == 0.0 && on_segment(p, q, s))
}

/// Twice the signed area of triangle `a b c`: which side of `a b` the point `c` is on.
fn orientation([ax, ay]: [f64; 2], [bx, by]: [f64; 2], [cx, cy]: [f64; 2]) -> f64 {
    (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
}

/// For `c` collinear with `a b`: whether it lies between them.
fn on_segment([ax, ay]: [f64; 2], [bx, by]: [f64; 2], [cx, cy]: [f64; 2]) -> bool {
    cx >= ax.min(bx) && cx <= ax.max(bx) && cy >= ay.min(by) && cy <= ay.max(by)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn polygon(json: Json) -> Polygon {
        Polygon::from_json(&json).expect("a valid polygon")
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let error = Polygon::from_json(&json!([[0.1, 0.1], [2.0, 0.5], "x"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Vertex 1 is (2, 0.5), outside the unit square; keep 0 <= x <= 1 and 0 <= y <= 1; \
             Vertex 2 must be an array of two numbers [x, y]"
        );
        let error = Polygon::from_json(&json!([[0.1, 0.1], [0.2, 0.5]])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "The polygon needs 3 to 12 vertices, found 2; add or remove points"
        );
        let error = Polygon::from_json(&json!({"points": []})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "The polygon must be a JSON array of [x, y] points, found an object"
        );
    }

    #[test]
    fn a_long_list_of_problems_is_cut_after_the_first_20() {
        let points: Vec<Json> = (0..1000).map(|_| json!("nope")).collect();
        let message = Polygon::from_json(&Json::Array(points))
            .unwrap_err()
            .to_string();
        // The vertex count, then vertices 0 to 18; 1001 problems in all.
        assert!(message.contains("Vertex 18 must be"), "{message}");
        assert!(!message.contains("Vertex 19 must be"), "{message}");
        assert!(message.ends_with("; and 981 more"), "{message}");
        // 21 parts, and the vertex count's own "; add or remove points".
        assert_eq!(message.matches("; ").count(), 21);
    }

    #[test]
    fn area_inside_and_self_intersection() {
        let square = polygon(json!([[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]]));
        assert!((square.area() - 0.36).abs() < 1e-12);
        assert!(square.contains([0.5, 0.5]));
        assert!(!square.contains([0.1, 0.5]));
        assert!(!square.self_intersects());

        let bow_tie = polygon(json!([[0.2, 0.2], [0.8, 0.8], [0.8, 0.2], [0.2, 0.8]]));
        assert!(bow_tie.self_intersects());
        assert!(!polygon(json!([[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]])).self_intersects());
    }

    #[test]
    fn the_first_edge_is_hot_and_its_ends_split_the_difference() {
        let square = polygon(json!([[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]]));
        assert_eq!(square.boundary_temperature([0.5, 0.1]), 1.0);
        assert_eq!(square.boundary_temperature([0.5, 0.9]), 0.0);
        assert_eq!(square.boundary_temperature([0.9, 0.5]), 0.0);
        // Diagonally outside the hot edge's end: as near the hot edge as the cold one.
        assert_eq!(square.boundary_temperature([0.9, 0.1]), 0.5);
    }
}
