//! The example end to end, as a person uses it: the real server binary, a real (headless)
//! Chromium, a vertex dragged with real pointer events.
//!
//! Needs Debian's `chromium` (`apt-get install chromium`; `.ci/run` installs it), or another
//! Chromium named by `$LIVE_HEAT_CHROMIUM`. Without one the test says loudly that it skipped,
//! and fails under `CI=true`. Set `LIVE_HEAT_SCREENSHOT=shot.png` to keep a picture of the
//! page at the end.

// Helpers beside the test, not tests of their own (cargo builds only `tests/*.rs`). The
// `#[path]`s are needed: from a crate root, `mod cdp;` looks for `tests/cdp.rs`.
#[path = "browser/cdp.rs"]
mod cdp;
#[path = "browser/processes.rs"]
mod processes;

use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use base64::Engine as _;
use serde_json::{Value as Json, json};

use cdp::{Cdp, Page};
use processes::{Browser, DEFAULT_CHROMIUM, Server, find_chromium};

/// Generous: a debug build of the server solves for a few seconds.
const SETTLE: Duration = Duration::from_secs(120);
/// How long one move may take to show in the outline.
const FOLLOW: Duration = Duration::from_secs(10);
/// Pointer moves in the drag.
const MOVES: usize = 48;

/// The page's state, without its methods, for messages and the final checks.
const STATE: &str = "JSON.parse(JSON.stringify(window.heatState ?? null))";

#[test]
fn dragging_a_vertex_cancels_stale_solves_and_ends_showing_the_final_polygon() -> anyhow::Result<()>
{
    let Some(chromium) = find_chromium()? else {
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            bail!(
                "Chromium is not installed at {DEFAULT_CHROMIUM} and LIVE_HEAT_CHROMIUM is unset: install it with `apt-get install -y chromium` (.ci/run does), or name one in LIVE_HEAT_CHROMIUM"
            );
        }
        // Straight to stderr, past the test harness's capture: a skip must not pass unseen.
        let banner = "!".repeat(60);
        let _ = writeln!(
            std::io::stderr(),
            "\n{banner}\n!!! skipped: chromium not found at {DEFAULT_CHROMIUM} (apt-get install -y chromium, or set LIVE_HEAT_CHROMIUM)\n{banner}\n"
        );
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let server = Server::start(&runtime, env!("CARGO_BIN_EXE_live-heat"))?;
    let browser = Browser::start(&runtime, &chromium)?;
    let mut cdp = Cdp::connect(browser.devtools_port, &browser.devtools_path)?;
    let page = Page::open(&mut cdp, &server.url)?;

    // The first revision's heat is on the page before anything moves.
    page.wait_until(&mut cdp, SETTLED, STATE, SETTLE)
        .context("The page never showed the first heat image")?;
    let before: Json = page.eval(&mut cdp, STATE)?;
    let first_revision = before["revision"].as_u64().context("no revision")?;
    // The status follows the flow from before it started: revision 1's solve is counted.
    let first = &before["status"];
    ensure!(
        first_revision == 1
            && [&first["started"], &first["finished"], &first["cancelled"]] == [1, 1, 0],
        "before the drag: revision {first_revision}, status {first}; expected revision 1 with one solve started and finished"
    );

    drag_vertex_zero(&page, &mut cdp)?;

    page.wait_until(&mut cdp, SETTLED, STATE, SETTLE)
        .context("The page never showed the final polygon's heat")?;
    let after = page.eval(&mut cdp, STATE)?;
    let (heat, status) = (&after["heat"], &after["status"]);
    ensure!(
        heat["polygon"] == after["geometry"],
        "the heat image is of {} but the page shows {}",
        heat["polygon"],
        after["geometry"]
    );
    ensure!(
        heat["revision"] == after["revision"] && after["revision"].as_u64() > Some(first_revision),
        "the heat image is of revision {}, the newest is {} (before the drag: {first_revision})",
        heat["revision"],
        after["revision"]
    );
    let count = |name: &str| status[name].as_u64().unwrap_or_default();
    let (started, finished, cancelled) = (count("started"), count("finished"), count("cancelled"));
    eprintln!(
        "after {MOVES} moves: {} posts, revision {}, solves started {started}, finished {finished}, cancelled {cancelled}",
        after["posts"], after["revision"]
    );
    ensure!(cancelled > 0, "no stale solve was cancelled: {status}");
    ensure!(
        started == finished + cancelled,
        "started {started} != finished {finished} + cancelled {cancelled}"
    );

    the_canvas_shows_the_heat_inside_the_polygon_only(&page, &mut cdp)?;
    double_clicking_an_edge_adds_a_corner(&page, &mut cdp)?;
    bad_input_gets_a_clear_400(&page, &mut cdp)?;
    if let Some(path) = std::env::var_os("LIVE_HEAT_SCREENSHOT") {
        let shot = page.call(&mut cdp, "Page.captureScreenshot", json!({"format": "png"}))?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().context("no screenshot data")?)?;
        std::fs::write(&path, png)?;
    }
    let exceptions: Vec<Json> = cdp
        .take_events()
        .into_iter()
        .filter(|event| event["method"] == "Runtime.exceptionThrown")
        .collect();
    ensure!(exceptions.is_empty(), "the page threw: {exceptions:?}");
    Ok(())
}

/// True once nothing is on its way and the page shows the heat of the polygon it draws, as
/// of the newest revision it heard of, with the solver done: `finished`, or `unchanged` (the
/// polygon came back to one already solved, whose result was restored without solving).
const SETTLED: &str = r#"(() => {
        const s = window.heatState;
        const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
        return !!s && s.dragging === null && s.postsIdle() && !!s.heat && !!s.status
            && (s.status.solve === "finished" || s.status.solve === "unchanged")
            && s.status.revision === s.revision
            && s.heat.revision === s.revision && same(s.heat.polygon, s.geometry);
    })()"#;

/// Drags vertex 0 along a wiggly path, checking after every move that the outline on the
/// page (the SVG itself, not just the page's state) has followed, which also shows the page
/// answers while the solver works.
fn drag_vertex_zero(page: &Page, cdp: &mut Cdp) -> anyhow::Result<()> {
    let rect = page.eval(
        cdp,
        r#"(() => {
            const stage = document.getElementById("shape").getBoundingClientRect();
            const vertex = document.querySelector('[data-vertex="0"]').getBoundingClientRect();
            return [stage.left, stage.top, stage.width, stage.height,
                    vertex.left + vertex.width / 2, vertex.top + vertex.height / 2];
        })()"#,
    )?;
    let numbers: Vec<f64> = rect
        .as_array()
        .context("no geometry")?
        .iter()
        .filter_map(Json::as_f64)
        .collect();
    let [left, top, width, height, start_x, start_y] = numbers[..] else {
        bail!("unexpected geometry {rect}");
    };
    let to_unit = |[x, y]: [f64; 2]| {
        let round = |value: f64| (value.clamp(0.0, 1.0) * 1e4).round() / 1e4;
        [round((x - left) / width), round((y - top) / height)]
    };
    let start = [start_x.round(), start_y.round()];
    page.mouse(cdp, "mousePressed", start)?;
    let mut last = start;
    let mut followed_at_once = 0;
    for step in 1..=MOVES {
        let along = step as f64 / MOVES as f64;
        let wiggle = (along * std::f64::consts::TAU * 3.0).sin() * 0.04;
        // Towards (0.42, 0.08) in the unit square, wiggling across the way.
        let x = start_x + along * (0.42 * width + left - start_x) + wiggle * width;
        let y = start_y + along * (0.08 * height + top - start_y) + wiggle * height;
        last = [x.round(), y.round()];
        page.mouse(cdp, "mouseMoved", last)?;
        let [ux, uy] = to_unit(last);
        let expected = json!([ux, uy]);
        let shows = format!(
            r#"(() => {{
                const first = document.getElementById("outline").getAttribute("points").split(" ")[0];
                const [x, y] = first.split(",").map(Number);
                return Math.abs(x - {sx}) < 0.2 && Math.abs(y - {sy}) < 0.2
                    && JSON.stringify(window.heatState.geometry[0]) === JSON.stringify({expected});
            }})()"#,
            sx = ux * 1000.0,
            sy = uy * 1000.0,
        );
        if page.eval(cdp, &shows)? == json!(true) {
            followed_at_once += 1;
        } else {
            page.wait_until(cdp, &shows, STATE, FOLLOW)
                .with_context(|| format!("The outline did not follow move {step} to {expected}"))?;
        }
    }
    page.mouse(cdp, "mouseReleased", last)?;
    eprintln!(
        "the outline showed {followed_at_once} of {MOVES} moves by the time the move was acknowledged"
    );
    Ok(())
}

/// The canvas itself, not just the page's state: a pixel well inside the polygon (its
/// vertices' mean; the polygon is convex here) and one between it and the hot edge are
/// painted opaque, the latter visibly warm, and a corner of the square far from the polygon
/// is left transparent (the background shows there).
fn the_canvas_shows_the_heat_inside_the_polygon_only(
    page: &Page,
    cdp: &mut Cdp,
) -> anyhow::Result<()> {
    let pixels = page.eval(
        cdp,
        r#"(() => {
            const canvas = document.getElementById("heat");
            const g = window.heatState.geometry;
            const centre = [0, 1].map((c) => g.reduce((sum, p) => sum + p[c], 0) / g.length);
            const hotEdge = [0, 1].map((c) => (g[0][c] + g[1][c]) / 2);
            const warm = [0, 1].map((c) => 0.75 * hotEdge[c] + 0.25 * centre[c]);
            const far = [0.02, 0.98];
            const pixel = ([x, y]) => Array.from(canvas.getContext("2d").getImageData(
                Math.floor(x * canvas.width), Math.floor(y * canvas.height), 1, 1).data);
            return {
                size: [canvas.width, canvas.height], geometry: g,
                centre: pixel(centre), warm: pixel(warm), far: pixel(far),
            };
        })()"#,
    )?;
    let channels = |name: &str| -> anyhow::Result<Vec<u64>> {
        pixels[name]
            .as_array()
            .with_context(|| format!("no `{name}` pixel in {pixels}"))?
            .iter()
            .map(|channel| channel.as_u64().context("not a channel"))
            .collect()
    };
    let (centre, warm, far) = (channels("centre")?, channels("warm")?, channels("far")?);
    ensure!(
        centre[3] == 255 && warm[3] == 255,
        "the polygon's inside is not painted: {pixels}"
    );
    ensure!(
        warm[..3].iter().sum::<u64>() > 100,
        "near the hot edge the heat image is dark: {pixels}"
    );
    ensure!(
        far == [0, 0, 0, 0],
        "the canvas is painted outside the polygon: {pixels}"
    );
    Ok(())
}

/// A double click on the edge from corner 2 to 3 adds a corner there, and the heat follows.
fn double_clicking_an_edge_adds_a_corner(page: &Page, cdp: &mut Cdp) -> anyhow::Result<()> {
    let before = page.eval(cdp, "window.heatState.geometry.length")?;
    let midpoint = page.eval(
        cdp,
        r#"(() => {
            const [a, b] = window.heatState.geometry.slice(2, 4);
            const stage = document.getElementById("shape").getBoundingClientRect();
            return [Math.round(stage.left + (a[0] + b[0]) / 2 * stage.width),
                    Math.round(stage.top + (a[1] + b[1]) / 2 * stage.height)];
        })()"#,
    )?;
    let point = [
        midpoint[0].as_f64().context("no midpoint")?,
        midpoint[1].as_f64().context("no midpoint")?,
    ];
    page.double_click(cdp, point)?;
    let added = format!(
        "window.heatState.geometry.length === {before} + 1 && window.heatState.heat.polygon.length === {before} + 1 && {}",
        SETTLED
    );
    page.wait_until(cdp, &added, STATE, SETTLE).context(
        "A double click on an edge did not end in the heat of a polygon with one more corner",
    )
}

/// A polygon the server cannot take is refused with a message that says what to fix.
fn bad_input_gets_a_clear_400(page: &Page, cdp: &mut Cdp) -> anyhow::Result<()> {
    let answer = page.eval(
        cdp,
        r#"fetch("/polygon", {method: "POST", body: "[[0.5, 0.5], [2, 0.5]]"})
            .then(async (response) => [response.status, await response.text()])"#,
    )?;
    ensure!(
        answer
            == json!([
                400,
                "The polygon needs 3 to 12 vertices, found 2; add or remove points; \
                 Vertex 1 is (2, 0.5), outside the unit square; keep 0 <= x <= 1 and 0 <= y <= 1"
            ]),
        "unexpected answer to a bad polygon: {answer}"
    );
    let answer = page.eval(
        cdp,
        r#"fetch("/polygon", {method: "POST", body: "{not json"})
            .then(async (response) => [response.status, await response.text()])"#,
    )?;
    ensure!(
        answer[0] == 400
            && answer[1]
                .as_str()
                .is_some_and(|text| text.starts_with("The body is not JSON")),
        "unexpected answer to a body that is not JSON: {answer}"
    );
    Ok(())
}
