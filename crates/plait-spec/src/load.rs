//! The entry points: read a file (bounded), parse it, read the schema, validate.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plait_core::Plan;

use crate::diagnostics::{Problem, SourceFile};
use crate::limits::MAX_FILE_BYTES;
use crate::{FileDiagnostic, Format, SpecError, schema, syntax};

/// A workflow file that loaded: its validated plan, and what the file says about it.
#[derive(Debug)]
pub struct Loaded {
    pub plan: Plan,
    /// The `name` key, or the file's stem.
    pub name: String,
    pub description: Option<String>,
    /// Validation warnings (such as an output nothing uses), located in the file.
    pub warnings: Vec<FileDiagnostic>,
    /// The file, as it was given.
    pub path: PathBuf,
    /// The file's text, as read: what a run records as its definition.
    pub text: Arc<str>,
    /// blake3 of the text, hex: what a run records as its definition's hash.
    pub hash: String,
    /// blake3 of the parsed text, hex: the same for two texts that differ only in comments,
    /// whitespace or layout. A resume compares it to tell whether the definition changed.
    pub parsed_hash: String,
}

/// Loads the workflow file at `path`; its extension (`.toml`, `.json`) says its format. A
/// `workdir` that is not a directory is a problem of the file (`load_str` cannot tell).
pub fn load_path(path: &Path) -> Result<Loaded, SpecError> {
    let format = path
        .extension()
        .and_then(|extension| extension.to_str())
        .and_then(Format::from_extension);
    let Some(format) = format else {
        return Err(whole_file_error(
            path,
            Problem::error(
                "unknown-format",
                0..0,
                format!("`{}` is not a workflow file", path.display()),
                "unknown format",
            )
            .help("name workflow files `*.toml` or `*.json`, by the syntax they are written in"),
        ));
    };
    let text = read_bounded(path)?;
    load_text(Arc::from(text), path, format, Workdir::Check)
}

/// Loads a workflow from `text`. `path` names it in messages, gives the default name (its
/// stem), and anchors relative paths: commands run in its directory unless `workdir` says
/// otherwise. Nothing is read from the file system.
pub fn load_str(text: &str, path: &Path, format: Format) -> Result<Loaded, SpecError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, text.len() as u64));
    }
    load_text(Arc::from(text), path, format, Workdir::Trust)
}

/// Whether loading looks at the file system for `workdir`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workdir {
    Check,
    Trust,
}

fn load_text(
    text: Arc<str>,
    path: &Path,
    format: Format,
    workdir: Workdir,
) -> Result<Loaded, SpecError> {
    let source = SourceFile::new(path, text.clone());
    let root = match syntax::parse(source.text(), format) {
        Ok(root) => root,
        Err(problem) => {
            return Err(SpecError::Invalid {
                diagnostics: vec![source.locate(problem)],
            });
        }
    };
    let read = schema::read(&root, source.path());
    // One tree for both formats: a TOML file and a JSON one that say the same are the same
    // definition.
    let mut parsed = blake3::Hasher::new();
    root.digest(&mut parsed);
    drop(root);
    let mut problems = read.problems;
    if workdir == Workdir::Check
        && let Some((dir, span)) = &read.workdir
        && !dir.is_dir()
    {
        problems.push(missing_workdir(dir, span.clone()));
    }
    let mut plan = None;
    // After a limit stopped reading, the workflow is partial: validating it would only
    // report what is missing.
    if !read.stopped {
        let diagnostics = match plait_core::compile(&read.workflow) {
            Ok(compiled) => {
                let warnings = compiled.warnings().to_vec();
                plan = Some(compiled);
                warnings
            }
            Err(invalid) => invalid.diagnostics,
        };
        problems.extend(diagnostics.iter().filter_map(|d| read.spans.problem(d)));
    }
    // In the order a reader meets them in the file; stable, so ties keep the order found.
    problems.sort_by_key(|problem| problem.span.start);
    let diagnostics: Vec<FileDiagnostic> = problems
        .into_iter()
        .map(|problem| source.locate(problem))
        .collect();
    match plan {
        Some(plan) if !diagnostics.iter().any(FileDiagnostic::is_error) => Ok(Loaded {
            plan,
            name: read.name,
            description: read.description,
            warnings: diagnostics,
            path: path.to_owned(),
            hash: blake3::hash(text.as_bytes()).to_hex().to_string(),
            parsed_hash: parsed.finalize().to_hex().to_string(),
            text,
        }),
        _ => Err(SpecError::Invalid { diagnostics }),
    }
}

/// Reads at most [`MAX_FILE_BYTES`], refusing a larger file before reading it when its size
/// is known, and after the limit when it is not (a pipe).
fn read_bounded(path: &Path) -> Result<String, SpecError> {
    let read_error = |source| SpecError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let len = file.metadata().map_err(read_error)?.len();
    if len > MAX_FILE_BYTES {
        return Err(too_large(path, len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|error| {
        let at = error.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
        let source = SourceFile::new(path, Arc::from(text));
        let problem = Problem::error(
            "syntax",
            at..at + 1,
            "the file is not UTF-8 text",
            "not UTF-8",
        )
        .help("save the workflow file as UTF-8");
        SpecError::Invalid {
            diagnostics: vec![source.locate(problem)],
        }
    })
}

fn missing_workdir(dir: &Path, span: crate::syntax::Span) -> Problem {
    let what = match dir.exists() {
        true => "is not a directory",
        false => "does not exist",
    };
    Problem::error(
        "bad-value",
        span,
        format!("`workdir` `{}` {what}", dir.display()),
        what,
    )
    .help("create the directory, or fix the path: a relative `workdir` is relative to the workflow file's directory")
}

fn too_large(path: &Path, len: u64) -> SpecError {
    whole_file_error(
        path,
        Problem::error(
            "too-large",
            0..0,
            format!("the file is {len} bytes, more than the {MAX_FILE_BYTES} bytes (4 MiB) a workflow file may have"),
            "too large",
        )
        .help("keep large data out of the workflow file: pass it as a `file` or `json` input"),
    )
}

/// A problem with the file as a whole, reported without its text.
fn whole_file_error(path: &Path, problem: Problem) -> SpecError {
    let source = SourceFile::new(path, Arc::from(""));
    SpecError::Invalid {
        diagnostics: vec![source.locate(problem)],
    }
}
