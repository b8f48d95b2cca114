//! The video's tasks: each sleeps, standing for real work on the file.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use plait_core::{FnTask, Outputs, Port, TaskContext, ValueType};
use serde_json::json;

/// Where the tasks note each execution's start and end, if anywhere: a line
/// `start video/3` or `end video/3` per event, appended.
#[derive(Clone, Default)]
pub(crate) struct Ledger(Option<Arc<PathBuf>>);

impl Ledger {
    pub(crate) fn new(path: Option<PathBuf>) -> Ledger {
        Ledger(path.map(Arc::new))
    }

    fn note(&self, event: &str, ctx: &TaskContext) {
        let Some(path) = &self.0 else { return };
        let line = format!("{event} {}\n", ctx.task());
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&**path);
        // A ledger that cannot be written is the test's problem, not the workflow's.
        if let Ok(mut file) = file {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

fn ports(ports: &[(&str, ValueType)]) -> Vec<Port> {
    ports
        .iter()
        .map(|(name, ty)| Port::new(*name, ty.clone()))
        .collect()
}

/// Finds `count` chapters in `video`: a JSON list of `{video, chapter, start_s}`.
pub(crate) fn find_chapters(sleep: Duration, ledger: Ledger) -> FnTask {
    FnTask::raw(
        ports(&[("video", ValueType::String), ("count", ValueType::Int)]),
        ports(&[("chapters", ValueType::Json)]),
        move |ctx, inputs| {
            ledger.note("start", &ctx);
            let ledger = ledger.clone();
            let video = inputs.str("video").map(str::to_owned);
            let count = inputs.int("count");
            async move {
                let (video, count) = (video?, count?);
                tokio::time::sleep(sleep).await;
                ledger.note("end", &ctx);
                let chapters: Vec<_> = (0..count)
                    .map(|chapter| json!({"video": video, "chapter": chapter, "start_s": chapter * 90}))
                    .collect();
                Ok(Outputs::new().set("chapters", json!(chapters)))
            }
        },
    )
}

/// A chapter's thumbnail: the name of the image it would write.
pub(crate) fn thumbnail(sleep: Duration, ledger: Ledger) -> FnTask {
    FnTask::raw(
        ports(&[("chapter", ValueType::Json)]),
        ports(&[("thumbnail", ValueType::String)]),
        move |ctx, inputs| {
            ledger.note("start", &ctx);
            let ledger = ledger.clone();
            let chapter = inputs.require("chapter").map(|value| value.to_json());
            async move {
                let chapter = chapter?;
                tokio::time::sleep(sleep).await;
                ledger.note("end", &ctx);
                let name = format!(
                    "chapter-{}-at-{}s.png",
                    chapter["chapter"], chapter["start_s"]
                );
                Ok(Outputs::new().set("thumbnail", name))
            }
        },
    )
}

/// The index: every thumbnail, in chapter order.
pub(crate) fn index(sleep: Duration, ledger: Ledger) -> FnTask {
    FnTask::raw(
        ports(&[("thumbnails", ValueType::Json)]),
        ports(&[("index", ValueType::Json)]),
        move |ctx, inputs| {
            ledger.note("start", &ctx);
            let ledger = ledger.clone();
            let thumbnails = inputs.require("thumbnails").map(|value| value.to_json());
            async move {
                let thumbnails = thumbnails?;
                tokio::time::sleep(sleep).await;
                ledger.note("end", &ctx);
                Ok(Outputs::new().set("index", json!({"thumbnails": thumbnails})))
            }
        },
    )
}
