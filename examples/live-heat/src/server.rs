//! The HTTP side: the page, the polygon's way in, and the events' way out.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use plait_engine::live::LiveFlow;
use tokio::sync::watch;

use crate::feed::page_events;
use crate::flow::POLYGON;
use crate::polygon::Polygon;
use crate::status::SolveStatus;

/// The page, inline scripts and styles included: the server has no other files to find.
const INDEX_HTML: &str = include_str!("index.html");

#[derive(Clone)]
struct AppState {
    live: LiveFlow,
    status: watch::Receiver<SolveStatus>,
}

pub(crate) fn router(live: LiveFlow, status: watch::Receiver<SolveStatus>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/polygon", post(set_polygon))
        .route("/events", get(events))
        .with_state(AppState { live, status })
}

async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

/// Takes a polygon (a JSON array of `[x, y]` points) as the flow's next revision and returns
/// at once; what comes of it arrives on `/events`.
async fn set_polygon(State(state): State<AppState>, body: Bytes) -> Response {
    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(error) => {
            let message = format!(
                "The body is not JSON ({error}); send an array of [x, y] points such as [[0.2, 0.2], [0.8, 0.2], [0.5, 0.8]]"
            );
            return (StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    let polygon = match Polygon::from_json(&json) {
        Ok(polygon) => polygon,
        Err(invalid) => return (StatusCode::BAD_REQUEST, invalid.to_string()).into_response(),
    };
    match state.live.set(POLYGON, polygon.to_json()) {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            capitalised(&error.to_string()),
        )
            .into_response(),
    }
}

async fn events(State(state): State<AppState>) -> Response {
    match page_events(&state.live, state.status.clone()) {
        Ok(stream) => Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            capitalised(&error.to_string()),
        )
            .into_response(),
    }
}

/// The engine's messages start in lower case; ours, shown to a person, with a capital.
fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
