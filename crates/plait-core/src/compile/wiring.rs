//! Pass 2: each `requires` port binds to the single provider in the innermost flow that has
//! one, or to a run input; types must agree.

use std::sync::Arc;

use super::{Builder, MemberRef};
use crate::diagnostic::{Code, Location, PortRole};
use crate::plan::{DataEdge, NodeId, Source};
use crate::{Diagnostic, FlowKind, Workflow};

impl Builder {
    /// Fills each flow's `provides` map, innermost flows first.
    pub(super) fn collect_provides(&mut self) {
        // Children have larger indices than their parents.
        for flow in (0..self.flows.len()).rev() {
            let mut provides = std::mem::take(&mut self.flows[flow].provides);
            for (_, member) in self.flows[flow].members.clone() {
                match member {
                    MemberRef::Task(id) => {
                        let info = &self.nodes[id as usize];
                        let slot = info.node.task().expect("a task member is a task node");
                        for (port_idx, port) in slot.provides.iter().enumerate() {
                            let name = info.rebind.get(&port.name).unwrap_or(&port.name).clone();
                            provides
                                .entry(name)
                                .or_default()
                                .push((id, port_idx as u32));
                        }
                    }
                    MemberRef::Flow(inner) => {
                        let inner = &self.flows[inner];
                        for (name, providers) in &inner.provides {
                            let outer = inner.rebind.get(name).unwrap_or(name).clone();
                            provides.entry(outer).or_default().extend(providers);
                        }
                    }
                }
            }
            self.flows[flow].provides = provides;
        }
    }

    pub(super) fn wire(&mut self, workflow: &Workflow) {
        let root_provides = &self.flows[0].provides;
        let mut clashes = Vec::new();
        for input in &workflow.inputs {
            if let Some(providers) = root_provides.get(&input.name) {
                clashes.push((input.name.clone(), providers[0].0));
            }
        }
        for (name, provider) in clashes {
            let path = self.nodes[provider as usize].node.path.clone();
            self.report(
                Diagnostic::error(
                    Code::AmbiguousProvider,
                    format!("`{name}` is both a workflow input and provided by task `{path}`"),
                )
                .at(Location::Input { name: name.clone() })
                .at(Location::Port {
                    path,
                    role: PortRole::Provides,
                    port: name,
                })
                .help("rename the input or the output: a value has one source"),
            );
        }
        for id in 0..self.nodes.len() as NodeId {
            let Some(slot) = self.nodes[id as usize].node.task() else {
                continue;
            };
            let requires = slot.requires.clone();
            for (port_idx, port) in requires.iter().enumerate() {
                if let Some(source) = self.resolve(workflow, id, port_idx, &port.name) {
                    self.nodes[id as usize].sources[port_idx] = Some(source);
                }
            }
        }
        let outputs: rustc_hash::FxHashSet<&Arc<str>> = workflow.outputs.iter().flatten().collect();
        for (idx, input) in workflow.inputs.iter().enumerate() {
            let used = self.claimed.contains(&Source::Input(idx as u32));
            let is_output = outputs.contains(&input.name);
            if !used && !is_output {
                self.report(
                    Diagnostic::warning(
                        Code::UnusedInput,
                        format!("input `{}` is never used", input.name),
                    )
                    .at(Location::Input {
                        name: input.name.clone(),
                    }),
                );
            }
        }
    }

    /// Finds the source of `consumer`'s input `port`, reporting why there is none.
    fn resolve(
        &mut self,
        workflow: &Workflow,
        consumer: NodeId,
        port_idx: usize,
        port: &Arc<str>,
    ) -> Option<Source> {
        let info = &self.nodes[consumer as usize];
        let path = info.node.path.clone();
        let port_ty = info.node.task()?.requires[port_idx].ty.clone();
        let here = Location::Port {
            path: path.clone(),
            role: PortRole::Requires,
            port: port.clone(),
        };
        let mut name = info.rebind.get(port).unwrap_or(port).clone();
        let mut flow = Some(info.parent);
        while let Some(f) = flow {
            if let Some(providers) = self.flows[f].provides.get(&name).cloned() {
                self.claimed.extend(
                    providers
                        .iter()
                        .map(|&(node, port)| Source::Output { node, port }),
                );
                return self.bind(consumer, port_idx, &name, &providers, here);
            }
            name = self.flows[f].rebind.get(&name).unwrap_or(&name).clone();
            flow = self.flows[f].parent;
        }
        if let Some(&idx) = self.input_index.get(&name) {
            self.claimed.insert(Source::Input(idx as u32));
            let input = &workflow.inputs[idx];
            if input.ty != port_ty {
                self.report(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!(
                            "task `{path}` requires `{port}` as {port_ty}, but input `{name}` is {}",
                            input.ty
                        ),
                    )
                    .at(here)
                    .at(Location::Input { name }),
                );
                return None;
            }
            return Some(Source::Input(idx as u32));
        }
        let rebound = if name == *port {
            String::new()
        } else {
            format!(" (bound to `{name}`)")
        };
        self.report(
            Diagnostic::error(
                Code::MissingInput,
                format!(
                    "task `{path}` requires `{port}`{rebound}, which no task provides and the workflow does not take as an input"
                ),
            )
            .at(here)
            .help(format!("declare `{name}` as a workflow input, or add a task that provides it")),
        );
        None
    }

    fn bind(
        &mut self,
        consumer: NodeId,
        port_idx: usize,
        name: &Arc<str>,
        providers: &[(NodeId, u32)],
        here: Location,
    ) -> Option<Source> {
        let path = self.nodes[consumer as usize].node.path.clone();
        if providers.len() > 1 {
            let names: Vec<String> = providers
                .iter()
                .map(|&(p, _)| format!("`{}`", self.nodes[p as usize].node.path))
                .collect();
            let mut diagnostic = Diagnostic::error(
                Code::AmbiguousProvider,
                format!(
                    "task `{path}` requires `{name}`, which {}",
                    provided_by(&names)
                ),
            )
            .at(here)
            .help("a value has exactly one provider: rename one of the outputs (`rebind`)");
            for &(provider, provider_port) in providers {
                diagnostic = diagnostic.at(self.provides_location(provider, provider_port));
            }
            self.report(diagnostic);
            return None;
        }
        let (provider, provider_port) = providers[0];
        let provider_info = &self.nodes[provider as usize];
        let provider_path = provider_info.node.path.clone();
        let provided = provider_info.node.task()?.provides[provider_port as usize].clone();
        let consumer_ty = self.nodes[consumer as usize].node.task()?.requires[port_idx]
            .ty
            .clone();
        if provided.ty != consumer_ty {
            let diagnostic = Diagnostic::error(
                Code::TypeMismatch,
                format!(
                    "task `{path}` requires `{name}` as {consumer_ty}, but task `{provider_path}` provides it as {}",
                    provided.ty
                ),
            )
            .at(here)
            .at(self.provides_location(provider, provider_port));
            self.report(diagnostic);
            return None;
        }
        if let Some(flow) = self.common_flow(provider, consumer)
            && self.flows[flow].kind == FlowKind::Unordered
            && provider != consumer
        {
            let flow_path = self.flows[flow].path.clone();
            let diagnostic = Diagnostic::error(
                Code::UnorderedDependency,
                format!(
                    "task `{path}` requires `{name}` from task `{provider_path}`, but both are members of unordered flow `{flow_path}`"
                ),
            )
            .at(here)
            .help("members of an unordered flow must not depend on each other: make the flow a graph or linear flow");
            self.report(diagnostic);
            return None;
        }
        self.edge(provider, consumer);
        self.data_edges.push(DataEdge {
            from: provider,
            to: consumer,
            name: name.clone(),
        });
        self.release_through_scopes(provider, consumer);
        Some(Source::Output {
            node: provider,
            port: provider_port,
        })
    }

    /// A consumer outside a retried flow waits for the whole flow, not just the provider: the
    /// flow may still be reverted and re-run.
    fn release_through_scopes(&mut self, provider: NodeId, consumer: NodeId) {
        let consumer_flows: Vec<usize> = self
            .ancestors(self.nodes[consumer as usize].parent)
            .collect();
        let outermost = self
            .ancestors(self.nodes[provider as usize].parent)
            .filter(|f| self.flows[*f].retry.is_some() && !consumer_flows.contains(f))
            .last();
        if let Some(flow) = outermost {
            let end = self.end_barrier(flow);
            self.edge(end, consumer);
        }
    }

    /// The innermost flow holding both nodes.
    fn common_flow(&self, a: NodeId, b: NodeId) -> Option<usize> {
        let of_b: Vec<usize> = self.ancestors(self.nodes[b as usize].parent).collect();
        self.ancestors(self.nodes[a as usize].parent)
            .find(|f| of_b.contains(f))
    }

    fn provides_location(&self, node: NodeId, port: u32) -> Location {
        let info = &self.nodes[node as usize];
        let name = info
            .node
            .task()
            .map(|slot| slot.provides[port as usize].name.clone());
        Location::Port {
            path: info.node.path.clone(),
            role: PortRole::Provides,
            port: name.unwrap_or_default(),
        }
    }
}

/// "`a` and `b` both provide", "`a`, `b` and `c` all provide".
fn provided_by(names: &[String]) -> String {
    match names {
        [first, second] => format!("{first} and {second} both provide"),
        [init @ .., last] => format!("{} and {last} all provide", init.join(", ")),
        [] => "nothing provides".to_owned(),
    }
}
