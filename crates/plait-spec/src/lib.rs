//! plait's workflow files: TOML (and the same schema in JSON) -> a validated
//! [`plait_core::Plan`], with diagnostics that carry file, line and column.
//!
//! Loading goes in two stages (STYLE.md rule 5). The text is parsed into one spanned syntax
//! tree, whichever the format; the schema is then read from that tree into core's
//! `Workflow`, while a side table records where each task, port, `after` target, input and
//! output is written. Core's `compile` validates the workflow, and each of its diagnostics is
//! located in the file through that table. Every problem is reported at once, except a syntax
//! error, which leaves no tree to read.
//!
//! Parsing is bounded before it starts: files over 4 MiB and nesting deeper than 64 levels
//! are refused by a cheap lexical pass, so no input can overflow the stack; a workflow has at
//! most 100,000 tasks and 64 levels of nested flows.
//!
//! The format itself is described in `FORMAT.md` beside this crate.
//!
//! ```
//! use std::path::Path;
//!
//! // `{n}` is replaced by input `n`, as one argument; other braces are literal.
//! let text = r#"
//! [inputs]
//! n = "int"
//!
//! [tasks.square]
//! command = ["sh", "-c", "printf '{\"sq\": %d}' $(($1 * $1))", "square", "{n}"]
//! requires = { n = "int" }
//! provides = { sq = "int" }
//! "#;
//! let loaded = plait_spec::load_str(text, Path::new("/flows/square.toml"), plait_spec::Format::Toml)?;
//! assert_eq!(loaded.name, "square");
//! assert_eq!(loaded.plan.n_tasks(), 1);
//! # Ok::<(), plait_spec::SpecError>(())
//! ```

mod diagnostics;
mod error;
mod limits;
mod load;
mod schema;
mod spans;
mod syntax;

pub use diagnostics::FileDiagnostic;
pub use error::SpecError;
pub use load::{Loaded, load_path, load_str};
pub use syntax::Format;
