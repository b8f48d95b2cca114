//! Stage one: text -> a spanned [`Node`] tree, the same for both formats.
//!
//! Nothing here knows the schema. A problem at this stage stops there: there is no tree to
//! read further.

mod json;
pub(crate) mod node;
mod prescan;
mod toml;

use crate::diagnostics::Problem;
use crate::limits::MAX_DEPTH;
pub(crate) use node::{Entry, Node, Span, Value};

/// The syntax of a workflow file. Both carry the same schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    /// The format a file's extension names, if it names one.
    pub fn from_extension(extension: &str) -> Option<Format> {
        match extension.to_ascii_lowercase().as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Bounds the nesting, then parses. The size was bounded before the text was read.
pub(crate) fn parse(text: &str, format: Format) -> Result<Node, Problem> {
    if let Err(too_deep) = prescan::check_depth(text, format) {
        return Err(Problem::error(
            "too-deep",
            too_deep.span,
            format!("the file nests tables and arrays more than {MAX_DEPTH} levels deep"),
            "too deep",
        )
        .help(format!(
            "a workflow file nests at most {MAX_DEPTH} levels: flatten this value, or pass large data as a `json` or `file` input"
        )));
    }
    match format {
        Format::Toml => toml::parse(text),
        Format::Json => json::parse(text),
    }
}
