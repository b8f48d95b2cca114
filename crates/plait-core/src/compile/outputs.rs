//! The run's outputs, and warnings for values nobody uses.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use super::Builder;

/// The task ports that provide one name.
type Providers = Vec<(u32, u32)>;
use crate::diagnostic::{Code, Location, PortRole};
use crate::plan::Source;
use crate::{Diagnostic, Workflow};

impl Builder {
    pub(super) fn outputs(&mut self, workflow: &Workflow) -> Vec<(Arc<str>, Source)> {
        let consumed = self.claimed.clone();
        let mut root: Vec<(Arc<str>, Providers)> = self.flows[0]
            .provides
            .iter()
            .map(|(name, providers)| (name.clone(), providers.clone()))
            .collect();
        root.sort_by(|a, b| a.0.cmp(&b.0));
        let mut outputs = Vec::new();
        match &workflow.outputs {
            Some(names) => {
                for name in names {
                    let found = root
                        .binary_search_by(|(n, _)| n.cmp(name))
                        .ok()
                        .map(|idx| &root[idx]);
                    match found {
                        Some((_, providers)) if providers.len() == 1 => {
                            let (node, port) = providers[0];
                            outputs.push((name.clone(), Source::Output { node, port }));
                        }
                        Some((_, providers)) => self.ambiguous_output(name, providers),
                        None => match self.input_index.get(name) {
                            Some(&idx) => outputs.push((name.clone(), Source::Input(idx as u32))),
                            None => self.report(
                                Diagnostic::error(
                                    Code::UnknownOutput,
                                    format!("output `{name}` is not provided by any task of the workflow"),
                                )
                                .at(Location::Output { name: name.clone() })
                                .help(self.known_names(&root)),
                            ),
                        },
                    }
                }
            }
            None => {
                for (name, providers) in &root {
                    let unused = providers
                        .iter()
                        .all(|&(node, port)| !consumed.contains(&Source::Output { node, port }));
                    if !unused {
                        continue;
                    }
                    if providers.len() == 1 {
                        let (node, port) = providers[0];
                        outputs.push((name.clone(), Source::Output { node, port }));
                    } else {
                        self.ambiguous_output(name, providers);
                    }
                }
            }
        }
        let used: FxHashSet<Source> = consumed
            .into_iter()
            .chain(outputs.iter().map(|(_, s)| *s))
            .collect();
        for node in 0..self.nodes.len() as u32 {
            let Some(slot) = self.nodes[node as usize].node.task() else {
                continue;
            };
            let path = self.nodes[node as usize].node.path.clone();
            let unused: Vec<Arc<str>> = slot
                .provides
                .iter()
                .enumerate()
                .filter(|(port, _)| {
                    !used.contains(&Source::Output {
                        node,
                        port: *port as u32,
                    })
                })
                .map(|(_, p)| p.name.clone())
                .collect();
            for port in unused {
                self.report(
                    Diagnostic::warning(
                        Code::UnusedOutput,
                        format!("task `{path}` provides `{port}`, which nothing uses"),
                    )
                    .at(Location::Port {
                        path: path.clone(),
                        role: PortRole::Provides,
                        port,
                    }),
                );
            }
        }
        outputs
    }

    fn ambiguous_output(&mut self, name: &Arc<str>, providers: &[(u32, u32)]) {
        let paths: Vec<String> = providers
            .iter()
            .map(|&(n, _)| format!("`{}`", self.nodes[n as usize].node.path))
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

    fn known_names(&self, root: &[(Arc<str>, Providers)]) -> String {
        if root.is_empty() {
            return "no task provides anything".to_owned();
        }
        let names: Vec<String> = root.iter().map(|(n, _)| format!("`{n}`")).collect();
        format!("the workflow provides {}", names.join(", "))
    }
}
