//! The side table from model locations to file spans, and core diagnostics made file ones.
//!
//! Core validates a `Workflow` that knows nothing of files; each of its diagnostics names
//! places as [`Location`]s. While reading the schema we record where each of those places is
//! written, so a core diagnostic gets the same line and column a file problem would.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use plait_core::{Code, Diagnostic, Location, PortRole};

use crate::diagnostics::Problem;
use crate::syntax::Span;

#[derive(Debug, Default)]
pub(crate) struct SpanMap {
    /// Task and flow paths (`sub/a`) -> where the member is named.
    members: HashMap<Arc<str>, MemberSpan>,
    ports: HashMap<(Arc<str>, PortRole, Arc<str>), Span>,
    after: HashMap<(Arc<str>, Arc<str>), Span>,
    inputs: HashMap<Arc<str>, Span>,
    outputs: HashMap<Arc<str>, Span>,
    /// Places whose declaration was wrong and was read as a stand-in (a port of an unknown
    /// type): what core says about them follows from a problem already reported.
    tainted: HashSet<Location>,
}

#[derive(Debug)]
struct MemberSpan {
    key: Span,
    is_flow: bool,
    command: Option<Span>,
}

impl SpanMap {
    pub(crate) fn member(&mut self, path: &Arc<str>, key: Span, is_flow: bool) {
        self.members.insert(
            path.clone(),
            MemberSpan {
                key,
                is_flow,
                command: None,
            },
        );
    }

    pub(crate) fn command(&mut self, path: &Arc<str>, span: Span) {
        if let Some(member) = self.members.get_mut(path) {
            member.command = Some(span);
        }
    }

    pub(crate) fn port(&mut self, path: &Arc<str>, role: PortRole, port: &Arc<str>, span: Span) {
        self.ports.insert((path.clone(), role, port.clone()), span);
    }

    pub(crate) fn after(&mut self, path: &Arc<str>, target: &Arc<str>, span: Span) {
        self.after.insert((path.clone(), target.clone()), span);
    }

    pub(crate) fn input(&mut self, name: &Arc<str>, span: Span) {
        self.inputs.insert(name.clone(), span);
    }

    pub(crate) fn output(&mut self, name: &Arc<str>, span: Span) {
        self.outputs.insert(name.clone(), span);
    }

    pub(crate) fn taint(&mut self, location: Location) {
        self.tainted.insert(location);
    }

    /// The file form of a core diagnostic, or `None` when it only echoes a problem already
    /// reported.
    pub(crate) fn problem(&self, diagnostic: &Diagnostic) -> Option<Problem> {
        if diagnostic
            .locations
            .iter()
            .any(|location| self.tainted.contains(location))
        {
            return None;
        }
        let mut labels: Vec<(Span, String)> = Vec::new();
        for location in &diagnostic.locations {
            let label = self.label(diagnostic.code, location);
            if !labels.iter().any(|(span, _)| *span == label.0) {
                labels.push(label);
            }
        }
        if labels.is_empty() {
            labels.push((0..0, "in this workflow".to_owned()));
        }
        Some(Problem {
            severity: diagnostic.severity,
            code: diagnostic.code.name(),
            message: diagnostic.message.clone(),
            span: labels[0].0.clone(),
            labels,
            help: diagnostic.help.clone(),
        })
    }

    fn label(&self, code: Code, location: &Location) -> (Span, String) {
        let found = match location {
            Location::Workflow => None,
            Location::Member { path } => self.members.get(path).map(|member| {
                let kind = if member.is_flow { "flow" } else { "task" };
                match &member.command {
                    // A task's own problems (such as a placeholder naming no input) are in
                    // its command.
                    Some(command) if code == Code::BadTask => {
                        (command.clone(), format!("command of task `{path}`"))
                    }
                    _ => (member.key.clone(), format!("{kind} `{path}`")),
                }
            }),
            Location::Port { path, role, port } => {
                let verb = match role {
                    PortRole::Requires => "requires",
                    PortRole::Provides => "provides",
                };
                self.ports
                    .get(&(path.clone(), *role, port.clone()))
                    .map(|span| (span.clone(), format!("`{path}` {verb} `{port}`")))
            }
            Location::After { path, target } => self
                .after
                .get(&(path.clone(), target.clone()))
                .map(|span| (span.clone(), format!("`{path}` runs after `{target}`"))),
            Location::Input { name } => self
                .inputs
                .get(name)
                .map(|span| (span.clone(), format!("input `{name}`"))),
            Location::Output { name } => self
                .outputs
                .get(name)
                .map(|span| (span.clone(), format!("output `{name}`")))
                // Without an `outputs` key the outputs are implicit: point at a provider.
                .or_else(|| self.provider_of(name)),
        };
        found.unwrap_or_else(|| (0..0, "in this workflow".to_owned()))
    }

    /// The first port (in the file) that provides `name`, for implicit outputs.
    fn provider_of(&self, name: &Arc<str>) -> Option<(Span, String)> {
        self.ports
            .iter()
            .filter(|((_, role, port), _)| *role == PortRole::Provides && port == name)
            .min_by_key(|(_, span)| span.start)
            .map(|((path, _, port), span)| (span.clone(), format!("`{path}` provides `{port}`")))
    }
}
