//! Renderer-neutral problems found by validation. The spec crate attaches file positions; the
//! CLI renders them.

use std::fmt;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

/// What kind of problem, stable for tests and tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    Cycle,
    MissingInput,
    AmbiguousProvider,
    TypeMismatch,
    DuplicateName,
    UnknownMember,
    UnorderedDependency,
    UnknownPort,
    UnknownOutput,
    BadTask,
    UnusedOutput,
    UnusedInput,
    TooDeep,
}

impl Code {
    pub fn name(self) -> &'static str {
        match self {
            Code::Cycle => "cycle",
            Code::MissingInput => "missing-input",
            Code::AmbiguousProvider => "ambiguous-provider",
            Code::TypeMismatch => "type-mismatch",
            Code::DuplicateName => "duplicate-name",
            Code::UnknownMember => "unknown-member",
            Code::UnorderedDependency => "unordered-dependency",
            Code::UnknownPort => "unknown-port",
            Code::UnknownOutput => "unknown-output",
            Code::BadTask => "bad-task",
            Code::UnusedOutput => "unused-output",
            Code::UnusedInput => "unused-input",
            Code::TooDeep => "too-deep",
        }
    }
}

/// Which list of a task a port is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortRole {
    Requires,
    Provides,
}

/// Where a problem is, in terms of the model: a task or flow path (`""` is the workflow
/// itself), optionally narrowed to one of its ports or to one of the workflow's inputs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    Workflow,
    Member {
        path: Arc<str>,
    },
    Port {
        path: Arc<str>,
        role: PortRole,
        port: Arc<str>,
    },
    After {
        path: Arc<str>,
        target: Arc<str>,
    },
    Input {
        name: Arc<str>,
    },
    Output {
        name: Arc<str>,
    },
}

impl Location {
    /// The task or flow the location is in, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            Location::Member { path }
            | Location::Port { path, .. }
            | Location::After { path, .. } => Some(path),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    /// The first is where the problem is; the others are related places.
    pub locations: Vec<Location>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            locations: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        self.locations.push(location);
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}[{}]: {}", self.code.name(), self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Validation found errors; warnings ride along.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the workflow is not valid ({} error(s))", self.errors().count())]
pub struct Invalid {
    pub diagnostics: Vec<Diagnostic>,
}

impl Invalid {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}
