//! Pass 1: the flow tree becomes flat nodes; per-member problems are found here.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Builder, FlowInfo, MemberRef, NodeInfo};
use crate::diagnostic::{Code, Location, PortRole};
use crate::plan::{NodeId, NodeKind, PlanNode, TaskSlot};
use crate::{Diagnostic, Flow, Member, Policy, TaskNode};

fn child_path(parent: &str, name: &str) -> Arc<str> {
    if parent.is_empty() {
        Arc::from(name)
    } else {
        Arc::from(format!("{parent}/{name}"))
    }
}

/// Flows nest at most this deep. Flattening recurses once per level of nesting (never per
/// task), so the limit is what bounds its stack; workflow files stop far earlier.
pub(crate) const MAX_FLOW_DEPTH: usize = 256;

impl Builder {
    pub(super) fn flatten(&mut self, root: &Flow) {
        self.flatten_flow(root, None, Arc::from(""), 0);
    }

    fn flatten_flow(
        &mut self,
        flow: &Flow,
        parent: Option<usize>,
        path: Arc<str>,
        depth: usize,
    ) -> usize {
        let flow_idx = self.flows.len();
        let rebind = self.rebind_map(&path, &flow.rebind, None);
        self.flows.push(FlowInfo {
            path: path.clone(),
            kind: flow.kind,
            parent,
            rebind,
            members: Vec::new(),
            after: Vec::new(),
            tasks: Vec::new(),
            provides: FxHashMap::default(),
            retry: flow.retry.clone(),
            start: None,
            end: None,
        });
        let mut seen: FxHashSet<&str> = FxHashSet::default();
        for member in &flow.members {
            let name = member.name();
            let member_path = child_path(&path, name);
            if !seen.insert(name) {
                let scope = if path.is_empty() {
                    "the workflow".to_owned()
                } else {
                    format!("flow `{path}`")
                };
                self.report(
                    Diagnostic::error(
                        Code::DuplicateName,
                        format!("{scope} has two members named `{name}`"),
                    )
                    .at(Location::Member {
                        path: member_path.clone(),
                    })
                    .help("give each task and flow in a flow its own name"),
                );
                continue;
            }
            if name.is_empty() || name.contains('/') {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateName,
                        format!("`{name}` is not a valid member name"),
                    )
                    .at(Location::Member {
                        path: member_path.clone(),
                    })
                    .help("use a non-empty name without `/`"),
                );
            }
            let member_ref = match member {
                Member::Task(node) => {
                    MemberRef::Task(self.flatten_task(node, flow_idx, member_path))
                }
                Member::Flow(_) if depth + 1 >= MAX_FLOW_DEPTH => {
                    self.report(
                        Diagnostic::error(
                            Code::TooDeep,
                            format!("flow `{member_path}` is nested {MAX_FLOW_DEPTH} flows deep"),
                        )
                        .at(Location::Member {
                            path: member_path.clone(),
                        })
                        .help(format!(
                            "flows nest at most {MAX_FLOW_DEPTH} deep: flatten the inner flows into their parent"
                        )),
                    );
                    continue;
                }
                Member::Flow(inner) => MemberRef::Flow(self.flatten_flow(
                    inner,
                    Some(flow_idx),
                    member_path,
                    depth + 1,
                )),
            };
            self.flows[flow_idx]
                .members
                .push((name.clone(), member_ref));
            self.flows[flow_idx].after.push(member.after().to_vec());
        }
        let tasks: Vec<NodeId> = self.flows[flow_idx]
            .members
            .iter()
            .flat_map(|(_, member)| match *member {
                MemberRef::Task(id) => vec![id],
                MemberRef::Flow(inner) => self.flows[inner].tasks.clone(),
            })
            .collect();
        self.flows[flow_idx].tasks = tasks;
        flow_idx
    }

    fn flatten_task(&mut self, node: &TaskNode, parent: usize, path: Arc<str>) -> NodeId {
        let task = &node.task;
        for problem in task.problems() {
            self.report(
                Diagnostic::error(Code::BadTask, format!("task `{path}`: {problem}"))
                    .at(Location::Member { path: path.clone() }),
            );
        }
        for (role, ports) in [
            (PortRole::Requires, task.requires()),
            (PortRole::Provides, task.provides()),
        ] {
            let mut names = FxHashSet::default();
            for port in ports {
                if !names.insert(&port.name) {
                    self.report(
                        Diagnostic::error(
                            Code::DuplicateName,
                            format!(
                                "task `{path}` lists `{}` twice in `{}`",
                                port.name,
                                role_name(role)
                            ),
                        )
                        .at(Location::Port {
                            path: path.clone(),
                            role,
                            port: port.name.clone(),
                        }),
                    );
                }
            }
        }
        let rebind = self.rebind_map(&path, &node.rebind, Some(node));
        let default = task.default_policy();
        let policy = Policy {
            retry: node.retry.clone().unwrap_or(default.retry),
            timeout: node.timeout.or(default.timeout),
            isolation: node.isolation.unwrap_or(default.isolation),
            cache: node.cache.unwrap_or(default.cache),
            version: node.version.clone().or(default.version),
        };
        let slot = TaskSlot {
            task: task.clone(),
            requires: task.requires().into(),
            provides: task.provides().into(),
            sources: Box::new([]),
            policy,
            description: node.description.clone(),
        };
        let id = self.nodes.len() as NodeId;
        self.nodes.push(NodeInfo {
            node: PlanNode {
                path,
                kind: NodeKind::Task(slot),
                scope: None,
            },
            parent,
            rebind,
            sources: vec![None; task.requires().len()],
        });
        id
    }

    /// Checks a rebind list (each port at most once, and, for a task, naming a port it has).
    fn rebind_map(
        &mut self,
        path: &Arc<str>,
        rebind: &[(Arc<str>, Arc<str>)],
        task: Option<&TaskNode>,
    ) -> FxHashMap<Arc<str>, Arc<str>> {
        let mut map = FxHashMap::default();
        for (inner, outer) in rebind {
            if let Some(node) = task {
                let task = &node.task;
                let known = task
                    .requires()
                    .iter()
                    .chain(task.provides())
                    .any(|p| p.name == *inner);
                if !known {
                    self.report(
                        Diagnostic::error(
                            Code::UnknownPort,
                            format!("task `{path}` rebinds `{inner}`, which it neither requires nor provides"),
                        )
                        .at(Location::Member { path: path.clone() }),
                    );
                }
            }
            if map.insert(inner.clone(), outer.clone()).is_some() {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateName,
                        format!("`{path}` rebinds `{inner}` twice"),
                    )
                    .at(Location::Member { path: path.clone() }),
                );
            }
        }
        map
    }
}

pub(super) fn role_name(role: PortRole) -> &'static str {
    match role {
        PortRole::Requires => "requires",
        PortRole::Provides => "provides",
    }
}
