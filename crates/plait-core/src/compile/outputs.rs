//! The run's outputs, and warnings for values nobody uses.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use super::Builder;
use super::provides::Provider;
use crate::diagnostic::{Code, Location, PortRole};
use crate::plan::Source;
use crate::{Diagnostic, NodeKind};

/// The task ports that provide one name.
type Providers = Vec<Provider>;

impl Builder {
    pub(super) fn outputs(&mut self, declared: Option<&[Arc<str>]>) -> Vec<(Arc<str>, Source)> {
        let mut outputs = Vec::new();
        match declared {
            Some(names) => {
                for name in names {
                    let providers: Option<Providers> =
                        self.flows[0].provides.get(name).map(Iterator::collect);
                    match providers {
                        Some(providers) if providers.len() == 1 => {
                            let (node, port) = providers[0];
                            outputs.push((name.clone(), Source::Output { node, port }));
                        }
                        Some(providers) => self.ambiguous_output(name, &providers),
                        None => match self.input_index.get(name) {
                            Some(&idx) => outputs.push((name.clone(), Source::Input(idx as u32))),
                            None => {
                                let help = self.known_names();
                                self.report(
                                    Diagnostic::error(
                                        Code::UnknownOutput,
                                        format!("output `{name}` is not provided by any task of the workflow"),
                                    )
                                    .at(Location::Output { name: name.clone() })
                                    .help(help),
                                );
                            }
                        },
                    }
                }
            }
            None => {
                for (name, providers) in self.root_provides() {
                    let unused = providers
                        .iter()
                        .all(|&(node, port)| !self.claims.contains(Source::Output { node, port }));
                    if !unused {
                        continue;
                    }
                    if providers.len() == 1 {
                        let (node, port) = providers[0];
                        outputs.push((name.clone(), Source::Output { node, port }));
                    } else {
                        self.ambiguous_output(&name, &providers);
                    }
                }
            }
        }
        let as_outputs: FxHashSet<Source> = outputs.iter().map(|(_, source)| *source).collect();
        let mut warnings = Vec::new();
        for (node, info) in self.nodes.iter().enumerate() {
            let NodeKind::Task(slot) = &info.kind else {
                continue;
            };
            for (port, provided) in slot.provides().iter().enumerate() {
                let source = Source::Output {
                    node: node as u32,
                    port: port as u32,
                };
                if self.claims.contains(source) || as_outputs.contains(&source) {
                    continue;
                }
                let path = info.path.clone();
                warnings.push(
                    Diagnostic::warning(
                        Code::UnusedOutput,
                        format!(
                            "task `{path}` provides `{}`, which nothing uses",
                            provided.name
                        ),
                    )
                    .at(Location::Port {
                        path,
                        role: PortRole::Provides,
                        port: provided.name.clone(),
                    }),
                );
            }
        }
        self.diagnostics.extend(warnings);
        outputs
    }

    /// The names the outermost flow provides and who provides each, in name order.
    fn root_provides(&self) -> Vec<(Arc<str>, Providers)> {
        let mut root: Vec<(Arc<str>, Providers)> = self.flows[0]
            .provides
            .iter()
            .map(|(name, providers)| (name.clone(), providers.collect()))
            .collect();
        root.sort_by(|a, b| a.0.cmp(&b.0));
        root
    }

    fn ambiguous_output(&mut self, name: &Arc<str>, providers: &[(u32, u32)]) {
        let paths: Vec<String> = providers
            .iter()
            .map(|&(n, _)| format!("`{}`", self.nodes[n as usize].path))
            .collect();
        self.report(
            Diagnostic::error(
                Code::AmbiguousProvider,
                format!("output `{name}` is provided by {}", paths.join(", ")),
            )
            .at(Location::Output { name: name.clone() })
            .help("a value has exactly one provider: rename one of the outputs (`rebind`)"),
        );
    }

    /// The names the outermost flow provides, in order, for a help line.
    fn known_names(&self) -> String {
        let mut names: Vec<&Arc<str>> = self.flows[0].provides.iter().map(|(n, _)| n).collect();
        if names.is_empty() {
            return "no task provides anything".to_owned();
        }
        names.sort();
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        format!("the workflow provides {}", names.join(", "))
    }
}
