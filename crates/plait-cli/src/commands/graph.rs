//! `plait graph FILE --format dot|mermaid|json`.

use std::path::Path;

use crate::cli::GraphFormat;
use crate::exit;
use crate::render::graph;

pub(crate) fn graph(file: &Path, format: GraphFormat) -> u8 {
    let loaded = match super::load(file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let text = match format {
        GraphFormat::Dot => graph::dot(&loaded.plan),
        GraphFormat::Mermaid => graph::mermaid(&loaded.plan),
        GraphFormat::Json => graph::json(&loaded.plan),
    };
    println!("{text}");
    exit::OK
}
