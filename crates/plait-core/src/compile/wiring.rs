//! Pass 2: each `requires` port binds to the single provider in the innermost flow that has
//! one, or to a run input; types must agree.

use std::sync::Arc;

use super::provides::{Provider, Provides};
use super::{Builder, MemberRef};
use crate::diagnostic::{Code, Location, PortRole};
use crate::plan::{NodeId, NodeKind, Source};
use crate::{Diagnostic, FlowKind, InputDecl};

impl Builder {
    /// Fills each flow's `provides` map, innermost flows first.
    pub(super) fn collect_provides(&mut self) {
        // Children have larger indices than their parents.
        for flow in (0..self.flows.len()).rev() {
            let members = std::mem::take(&mut self.flows[flow].members);
            let capacity = members
                .iter()
                .map(|member| match *member {
                    MemberRef::Task(id) => self.provided_by(id).len(),
                    MemberRef::Flow(inner) => self.flows[inner as usize].provides.len(),
                })
                .sum();
            let mut provides = Provides::with_capacity(capacity);
            for member in &members {
                match *member {
                    MemberRef::Task(id) => {
                        let rebind = self.task_rebinds.get(&id);
                        for (port_idx, port) in self.provided_by(id).iter().enumerate() {
                            let name = rebind
                                .and_then(|rebind| rebind.get(&port.name))
                                .unwrap_or(&port.name);
                            provides.add(name.clone(), (id, port_idx as u32));
                        }
                    }
                    MemberRef::Flow(inner) => {
                        let inner = &self.flows[inner as usize];
                        for (name, providers) in inner.provides.iter() {
                            let outer = inner.rebind.get(name).unwrap_or(name);
                            for provider in providers {
                                provides.add(outer.clone(), provider);
                            }
                        }
                    }
                }
            }
            self.flows[flow].members = members;
            self.flows[flow].provides = provides;
        }
    }

    fn provided_by(&self, node: NodeId) -> &[crate::Port] {
        self.nodes[node as usize]
            .task()
            .map_or(&[], |slot| slot.provides())
    }

    pub(super) fn wire(&mut self, inputs: &[InputDecl], outputs: Option<&[Arc<str>]>) {
        let mut clashes = Vec::new();
        for input in inputs {
            if let Some(mut providers) = self.flows[0].provides.get(&input.name) {
                let (provider, _) = providers.next().expect("a name has a provider");
                clashes.push((input.name.clone(), provider));
            }
        }
        for (name, provider) in clashes {
            let path = self.nodes[provider as usize].path.clone();
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
        self.edges.reserve(self.n_requires);
        let any_retry = self.flows.iter().any(|flow| flow.retry.is_some());
        let any_unordered = self
            .flows
            .iter()
            .any(|flow| flow.kind == FlowKind::Unordered);
        for id in 0..self.nodes.len() as NodeId {
            let Some(slot) = self.nodes[id as usize].task() else {
                continue;
            };
            // Shares the task's list: the loop below changes the node it came from.
            let requires = slot.requires_ports();
            for port_idx in 0..requires.len() {
                if let Some(source) = self.resolve(inputs, id, port_idx, &requires[port_idx].name) {
                    if let Source::Output { node: provider, .. } = source {
                        if any_unordered && !self.ordered(provider, id, port_idx) {
                            continue;
                        }
                        self.edge(provider, id);
                        if any_retry {
                            self.release_through_scopes(provider, id);
                        }
                    }
                    let NodeKind::Task(slot) = &mut self.nodes[id as usize].kind else {
                        unreachable!("a task node stays a task");
                    };
                    slot.sources[port_idx] = source;
                }
            }
        }
        let outputs: rustc_hash::FxHashSet<&Arc<str>> = outputs.iter().copied().flatten().collect();
        for (idx, input) in inputs.iter().enumerate() {
            let used = self.claims.contains(Source::Input(idx as u32));
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
        inputs: &[InputDecl],
        consumer: NodeId,
        port_idx: usize,
        port: &Arc<str>,
    ) -> Option<Source> {
        // Cloned only when a rebind changes it: most names are looked up as the port has them.
        let mut renamed: Option<Arc<str>> = self
            .task_rebinds
            .get(&consumer)
            .and_then(|rebind| rebind.get(port))
            .cloned();
        let mut flow = Some(self.parent(consumer));
        while let Some(f) = flow {
            let name = renamed.as_ref().unwrap_or(port);
            if let Some(providers) = self.flows[f].provides.get(name) {
                if let Some(provider) = providers.single() {
                    let (node, port) = provider;
                    self.claims.claim(Source::Output { node, port });
                    return self.bind(consumer, port_idx, name, provider);
                }
                let providers: Vec<Provider> = providers.collect();
                for &(node, port) in &providers {
                    self.claims.claim(Source::Output { node, port });
                }
                self.ambiguous(consumer, port_idx, name, &providers);
                return None;
            }
            if let Some(outer) = self.flows[f].rebind.get(name) {
                renamed = Some(outer.clone());
            }
            flow = self.flows[f].parent;
        }
        let name = renamed.unwrap_or_else(|| port.clone());
        self.bind_input(inputs, consumer, port_idx, &name)
    }

    fn here(&self, consumer: NodeId, port_idx: usize) -> Location {
        let slot = self.nodes[consumer as usize]
            .task()
            .expect("a consumer is a task");
        Location::Port {
            path: self.nodes[consumer as usize].path.clone(),
            role: PortRole::Requires,
            port: slot.requires()[port_idx].name.clone(),
        }
    }

    fn bind_input(
        &mut self,
        inputs: &[InputDecl],
        consumer: NodeId,
        port_idx: usize,
        name: &Arc<str>,
    ) -> Option<Source> {
        let node = &self.nodes[consumer as usize];
        let slot = node.task()?;
        let port = &slot.requires()[port_idx];
        if let Some(&idx) = self.input_index.get(name) {
            self.claims.claim(Source::Input(idx as u32));
            let input = &inputs[idx];
            if self.takes_any_list(consumer, port_idx) {
                if input.ty.element().is_none() {
                    let (from, ty) = (format!("input `{name}`"), input.ty.clone());
                    self.not_a_list(consumer, &from, &ty);
                    return None;
                }
            } else if input.ty != port.ty {
                let (from, ty) = (format!("input `{name}`"), input.ty.clone());
                if let Some(diagnostic) = self.element_mismatch(consumer, port_idx, &from, &ty) {
                    self.report(diagnostic);
                    return None;
                }
                let diagnostic = Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "task `{}` requires `{}` as {}, but input `{name}` is {}",
                        node.path, port.name, port.ty, input.ty
                    ),
                )
                .at(self.here(consumer, port_idx))
                .at(Location::Input { name: name.clone() });
                self.report(diagnostic);
                return None;
            }
            return Some(Source::Input(idx as u32));
        }
        let rebound = if *name == port.name {
            String::new()
        } else {
            format!(" (bound to `{name}`)")
        };
        let diagnostic = Diagnostic::error(
            Code::MissingInput,
            format!(
                "task `{}` requires `{}`{rebound}, which no task provides and the workflow does not take as an input",
                node.path, port.name
            ),
        )
        .at(self.here(consumer, port_idx))
        .help(format!("declare `{name}` as a workflow input, or add a task that provides it"));
        self.report(diagnostic);
        None
    }

    fn ambiguous(
        &mut self,
        consumer: NodeId,
        port_idx: usize,
        name: &Arc<str>,
        providers: &[Provider],
    ) {
        let path = &self.nodes[consumer as usize].path;
        let names: Vec<String> = providers
            .iter()
            .map(|&(p, _)| format!("`{}`", self.nodes[p as usize].path))
            .collect();
        let mut diagnostic = Diagnostic::error(
            Code::AmbiguousProvider,
            format!(
                "task `{path}` requires `{name}`, which {}",
                provided_by(&names)
            ),
        )
        .at(self.here(consumer, port_idx))
        .help("a value has exactly one provider: rename one of the outputs (`rebind`)");
        for &(provider, provider_port) in providers {
            diagnostic = diagnostic.at(self.provides_location(provider, provider_port));
        }
        self.report(diagnostic);
    }

    /// Checks the types of a consumer's port and its one provider.
    fn bind(
        &mut self,
        consumer: NodeId,
        port_idx: usize,
        name: &Arc<str>,
        (provider, provider_port): Provider,
    ) -> Option<Source> {
        let provided = &self.nodes[provider as usize].task()?.provides()[provider_port as usize];
        let required = &self.nodes[consumer as usize].task()?.requires()[port_idx];
        if self.takes_any_list(consumer, port_idx) {
            if provided.ty.element().is_none() {
                let from = format!(
                    "task `{}`'s `{}`",
                    self.nodes[provider as usize].path, provided.name
                );
                let ty = provided.ty.clone();
                self.not_a_list(consumer, &from, &ty);
                return None;
            }
        } else if provided.ty != required.ty {
            let from = format!(
                "task `{}`'s `{}`",
                self.nodes[provider as usize].path, provided.name
            );
            let ty = provided.ty.clone();
            if let Some(diagnostic) = self.element_mismatch(consumer, port_idx, &from, &ty) {
                self.report(diagnostic);
                return None;
            }
            let diagnostic = Diagnostic::error(
                Code::TypeMismatch,
                format!(
                    "task `{}` requires `{name}` as {}, but task `{}` provides it as {}",
                    self.nodes[consumer as usize].path,
                    required.ty,
                    self.nodes[provider as usize].path,
                    provided.ty
                ),
            )
            .at(self.here(consumer, port_idx))
            .at(self.provides_location(provider, provider_port));
            self.report(diagnostic);
            return None;
        }
        if provided.name != *name {
            self.edge_names
                .insert((consumer, port_idx as u32), name.clone());
        }
        Some(Source::Output {
            node: provider,
            port: provider_port,
        })
    }

    /// Whether the consumer may take a value from the provider: not if both are members of
    /// one unordered flow (reported here).
    fn ordered(&mut self, provider: NodeId, consumer: NodeId, port_idx: usize) -> bool {
        let Some(flow) = self.common_flow(provider, consumer) else {
            return true;
        };
        if self.flows[flow].kind != FlowKind::Unordered || provider == consumer {
            return true;
        }
        self.edge_names.remove(&(consumer, port_idx as u32));
        let slot = self.nodes[consumer as usize]
            .task()
            .expect("a consumer is a task");
        let name = slot.requires()[port_idx].name.clone();
        let diagnostic = Diagnostic::error(
            Code::UnorderedDependency,
            format!(
                "task `{}` requires `{name}` from task `{}`, but both are members of unordered flow `{}`",
                self.nodes[consumer as usize].path,
                self.nodes[provider as usize].path,
                self.flows[flow].path
            ),
        )
        .at(self.here(consumer, port_idx))
        .help("members of an unordered flow must not depend on each other: make the flow a graph or linear flow");
        self.report(diagnostic);
        false
    }

    /// A consumer outside a retried flow waits for the whole flow, not just the provider: the
    /// flow may still be reverted and re-run.
    fn release_through_scopes(&mut self, provider: NodeId, consumer: NodeId) {
        let consumer_flows: Vec<usize> = self.ancestors(self.parent(consumer)).collect();
        let outermost = self
            .ancestors(self.parent(provider))
            .filter(|f| self.flows[*f].retry.is_some() && !consumer_flows.contains(f))
            .last();
        if let Some(flow) = outermost {
            let end = self.end_barrier(flow);
            self.edge(end, consumer);
        }
    }

    /// The innermost flow holding both nodes.
    fn common_flow(&self, a: NodeId, b: NodeId) -> Option<usize> {
        if self.parent(a) == self.parent(b) {
            return Some(self.parent(a));
        }
        let of_b: Vec<usize> = self.ancestors(self.parent(b)).collect();
        self.ancestors(self.parent(a)).find(|f| of_b.contains(f))
    }

    pub(super) fn provides_location(&self, node: NodeId, port: u32) -> Location {
        let info = &self.nodes[node as usize];
        let name = info
            .task()
            .map(|slot| slot.provides()[port as usize].name.clone());
        Location::Port {
            path: info.path.clone(),
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
