//! One page's server-sent events: the flow's `outline` and `heat` outputs and the solver's
//! status, each tagged with the revision it belongs to.
//!
//! Every connection subscribes on its own: a state output's subscription starts with the
//! current value and then skips whatever a slow page did not read in time, so a page never
//! falls behind on stale heat images, and a page that connects late still gets everything.

use std::convert::Infallible;

use axum::response::sse::Event;
use futures::Stream;
use plait_engine::live::{LiveError, LiveFlow, Subscription, Update};
use serde_json::{Value as Json, json};
use tokio::sync::watch;

use crate::flow::{HEAT, OUTLINE};
use crate::status::SolveStatus;

/// The event stream for one page, ending when the flow stops.
pub(crate) fn page_events(
    live: &LiveFlow,
    status: watch::Receiver<SolveStatus>,
) -> Result<impl Stream<Item = Result<Event, Infallible>> + use<>, LiveError> {
    let feeds = Feeds {
        outline: live.subscribe(OUTLINE)?,
        heat: live.subscribe(HEAT)?,
        status,
        status_sent: false,
    };
    Ok(futures::stream::unfold(feeds, |mut feeds| async move {
        let event = feeds.next().await?;
        Some((Ok(event), feeds))
    }))
}

struct Feeds {
    outline: Subscription,
    heat: Subscription,
    status: watch::Receiver<SolveStatus>,
    /// Whether the page has the current status (it gets it first, before any change).
    status_sent: bool,
}

impl Feeds {
    async fn next(&mut self) -> Option<Event> {
        if !std::mem::replace(&mut self.status_sent, true) {
            return Some(status_event(&self.status.borrow_and_update()));
        }
        tokio::select! {
            // The outline first: for one revision the page hears about the shape before its
            // heat, and a cheap outline never waits behind a large heat image.
            biased;
            update = self.outline.next() => update.map(|update| output_event(OUTLINE, update)),
            update = self.heat.next() => update.map(|update| output_event(HEAT, update)),
            changed = self.status.changed() => {
                changed.ok()?;
                Some(status_event(&self.status.borrow_and_update()))
            }
        }
    }
}

fn status_event(status: &SolveStatus) -> Event {
    Event::default()
        .event("status")
        .data(status.to_json().to_string())
}

/// An `outline` or `heat` event: the output's JSON with the revision added, or, for a failed
/// output, a `failure` event saying which task failed and why.
fn output_event(output: &str, update: Update) -> Event {
    let data = match update.value {
        Ok(value) => {
            let mut data = value.to_json();
            if let Json::Object(fields) = &mut data {
                fields.insert("revision".to_owned(), json!(update.revision));
            }
            return Event::default().event(output).data(data.to_string());
        }
        Err(failure) => json!({
            "revision": update.revision,
            "output": output,
            "task": &*failure.task,
            "message": failure.error.message(),
        }),
    };
    Event::default().event("failure").data(data.to_string())
}
