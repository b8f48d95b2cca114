//! The video's tasks: each sleeps, standing for real work on the file.

use std::time::Duration;

use plait_core::{FnTask, Outputs, Port, ValueType};
use serde_json::json;

fn ports(ports: &[(&str, ValueType)]) -> Vec<Port> {
    ports
        .iter()
        .map(|(name, ty)| Port::new(*name, ty.clone()))
        .collect()
}

/// Finds `count` chapters in `video`: a JSON list of `{video, chapter, start_s}`.
pub(crate) fn find_chapters(sleep: Duration) -> FnTask {
    FnTask::raw(
        ports(&[("video", ValueType::String), ("count", ValueType::Int)]),
        ports(&[("chapters", ValueType::Json)]),
        move |_, inputs| {
            let video = inputs.str("video").map(str::to_owned);
            let count = inputs.int("count");
            async move {
                let (video, count) = (video?, count?);
                tokio::time::sleep(sleep).await;
                let chapters: Vec<_> = (0..count)
                    .map(|chapter| json!({"video": video, "chapter": chapter, "start_s": chapter * 90}))
                    .collect();
                Ok(Outputs::new().set("chapters", json!(chapters)))
            }
        },
    )
}

/// A chapter's thumbnail: the name of the image it would write.
pub(crate) fn thumbnail(sleep: Duration) -> FnTask {
    FnTask::raw(
        ports(&[("chapter", ValueType::Json)]),
        ports(&[("thumbnail", ValueType::String)]),
        move |_, inputs| {
            let chapter = inputs.require("chapter").map(|value| value.to_json());
            async move {
                let chapter = chapter?;
                tokio::time::sleep(sleep).await;
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
pub(crate) fn index(sleep: Duration) -> FnTask {
    FnTask::raw(
        ports(&[("thumbnails", ValueType::Json)]),
        ports(&[("index", ValueType::Json)]),
        move |_, inputs| {
            let thumbnails = inputs.require("thumbnails").map(|value| value.to_json());
            async move {
                let thumbnails = thumbnails?;
                tokio::time::sleep(sleep).await;
                Ok(Outputs::new().set("index", json!({"thumbnails": thumbnails})))
            }
        },
    )
}
