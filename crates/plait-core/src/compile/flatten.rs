//! Pass 1: the flow tree becomes flat nodes; per-member problems are found here.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Builder, FlowInfo, MemberRef, UNBOUND};
use crate::diagnostic::{Code, Location, PortRole};
use crate::flow::TaskOptions;
use crate::plan::{NodeId, NodeKind, PlanNode, TaskSlot};
use crate::{Diagnostic, Flow, Member, Policy, Port, Task, TaskNode};

/// A flow to flatten: borrowed from a workflow the caller keeps, or owned and taken apart as
/// it is read.
pub(super) enum Tree<'a> {
    Borrowed(&'a Flow),
    Owned(Flow),
}

impl Tree<'_> {
    fn flow(&self) -> &Flow {
        match self {
            Tree::Borrowed(flow) => flow,
            Tree::Owned(flow) => flow,
        }
    }
}

/// A member as flattening takes it: a task node's parts, or a flow.
enum Item<'a> {
    Task {
        name: Arc<str>,
        task: Arc<dyn Task>,
        /// Boxed as the member has them: an item is moved for every member, and most have
        /// no options.
        options: Option<std::borrow::Cow<'a, Box<TaskOptions>>>,
    },
    Flow(Tree<'a>),
}

impl<'a> Item<'a> {
    fn borrowed(member: &'a Member) -> Item<'a> {
        match member {
            Member::Task(node) => Item::Task {
                name: node.name.clone(),
                task: node.task.clone(),
                options: node.options.as_ref().map(std::borrow::Cow::Borrowed),
            },
            Member::Flow(flow) => Item::Flow(Tree::Borrowed(flow)),
        }
    }

    fn owned(member: Member) -> Item<'a> {
        match member {
            Member::Task(TaskNode {
                name,
                task,
                options,
            }) => Item::Task {
                name,
                task,
                options: options.map(std::borrow::Cow::Owned),
            },
            Member::Flow(flow) => Item::Flow(Tree::Owned(flow)),
        }
    }

    fn name(&self) -> &Arc<str> {
        match self {
            Item::Task { name, .. } => name,
            Item::Flow(tree) => &tree.flow().name,
        }
    }

    fn after(&self) -> &[Arc<str>] {
        match self {
            Item::Task { options, .. } => options.as_ref().map_or(&[], |o| &o.after),
            Item::Flow(tree) => tree.flow().after_names(),
        }
    }
}

fn child_path(parent: &str, name: &Arc<str>) -> Arc<str> {
    if parent.is_empty() {
        // A member of the outermost flow: its path is its name, shared rather than copied.
        name.clone()
    } else {
        Arc::from(format!("{parent}/{name}"))
    }
}

/// Flows nest at most this deep. Flattening recurses once per level of nesting (never per
/// task), so the limit is what bounds its stack; workflow files stop far earlier.
pub(crate) const MAX_FLOW_DEPTH: usize = 256;

/// Above this many ports, a task's names are checked for repeats with a set rather than by
/// comparing each pair.
const PAIRWISE_PORTS: usize = 16;

impl Builder {
    pub(super) fn flatten(&mut self, root: Tree<'_>) {
        self.flatten_flow(root, None, Arc::from(""), 0);
    }

    fn flatten_flow(
        &mut self,
        mut tree: Tree<'_>,
        parent: Option<usize>,
        path: Arc<str>,
        depth: usize,
    ) -> usize {
        let flow_idx = self.flows.len();
        let flow = tree.flow();
        let rebind = self.rebind_map(&path, flow.rebinds(), None);
        let first_task = self.nodes.len() as NodeId;
        let has_after = flow.members.iter().any(|m| !m.after().is_empty());
        let n_members = flow.members.len();
        // Most members are tasks: growing these arrays by doubling would touch twice the
        // memory, and fresh memory costs the kernel's zeroing.
        self.nodes.reserve(n_members);
        self.parents.reserve(n_members);
        self.claims.reserve(n_members);
        self.flows.push(FlowInfo {
            path: path.clone(),
            kind: flow.kind,
            parent,
            rebind,
            members: Vec::with_capacity(flow.members.len()),
            names: Vec::new(),
            after: Vec::new(),
            tasks: first_task..first_task,
            provides: Default::default(),
            retry: flow.retry_policy().cloned(),
            start: None,
            end: None,
        });
        let items: Box<dyn Iterator<Item = Item<'_>>> = match &mut tree {
            Tree::Borrowed(flow) => Box::new(flow.members.iter().map(Item::borrowed)),
            Tree::Owned(flow) => Box::new(
                std::mem::take(&mut flow.members)
                    .into_iter()
                    .map(Item::owned),
            ),
        };
        let mut seen: FxHashSet<Arc<str>> =
            FxHashSet::with_capacity_and_hasher(n_members, Default::default());
        for item in items {
            let name = item.name().clone();
            let member_path = child_path(&path, &name);
            if !seen.insert(name.clone()) {
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
            let after = (!item.after().is_empty()).then(|| item.after().to_vec());
            let member_ref = match item {
                Item::Task {
                    task,
                    options,
                    name: _,
                } => MemberRef::Task(self.flatten_task(
                    task,
                    options.as_deref().map(Box::as_ref),
                    flow_idx,
                    member_path,
                )),
                Item::Flow(_) if depth + 1 >= MAX_FLOW_DEPTH => {
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
                Item::Flow(inner) => {
                    MemberRef::Flow(
                        self.flatten_flow(inner, Some(flow_idx), member_path, depth + 1) as u32,
                    )
                }
            };
            let info = &mut self.flows[flow_idx];
            if let Some(after) = after {
                info.after.push((info.members.len(), after));
            }
            info.members.push(member_ref);
            if has_after {
                info.names.push(name);
            }
        }
        self.flows[flow_idx].tasks = first_task..self.nodes.len() as NodeId;
        flow_idx
    }

    fn flatten_task(
        &mut self,
        task: Arc<dyn Task>,
        options: Option<&TaskOptions>,
        parent: usize,
        path: Arc<str>,
    ) -> NodeId {
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
            for port in repeated(ports) {
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
        let id = self.nodes.len() as NodeId;
        if let Some(options) = options {
            if !options.rebind.is_empty() {
                let rebind = self.rebind_map(&path, &options.rebind, Some(&*task));
                self.task_rebinds.insert(id, rebind);
            }
            if let Some(description) = &options.description {
                self.descriptions.push((id, description.clone()));
            }
            if !options.spawns.is_empty() {
                self.spawns.push((id, options.spawns.clone()));
            }
        }
        let policy = self.share_policy(policy_of(&*task, options));
        let (task, policy) = match options {
            Some(TaskOptions {
                for_each: Some(for_each),
                max_parallel,
                ..
            }) => self.fan_out(id, &path, task, policy, for_each, *max_parallel),
            Some(options) if options.max_parallel.is_some() => {
                self.report(
                    Diagnostic::error(
                        Code::BadTask,
                        format!("task `{path}` sets `max_parallel` but has no `for_each`"),
                    )
                    .at(Location::Member { path: path.clone() })
                    .help("`max_parallel` bounds the items of a `for_each`: add one, or drop it"),
                );
                (task, policy)
            }
            _ => (task, policy),
        };
        self.claims.add_node(task.provides().len());
        let sources = vec![UNBOUND; task.requires().len()].into_boxed_slice();
        self.n_requires += sources.len();
        let slot = TaskSlot {
            task,
            sources,
            policy,
        };
        self.nodes.push(PlanNode {
            path,
            kind: NodeKind::Task(slot),
            scope: None,
        });
        self.parents.push(parent as u32);
        id
    }

    /// Checks a rebind list (each port at most once, and, for a task, naming a port it has).
    fn rebind_map(
        &mut self,
        path: &Arc<str>,
        rebind: &[(Arc<str>, Arc<str>)],
        task: Option<&dyn Task>,
    ) -> FxHashMap<Arc<str>, Arc<str>> {
        let mut map = FxHashMap::default();
        for (inner, outer) in rebind {
            if let Some(task) = task {
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

/// The ports whose name an earlier port of the list already has, in order.
fn repeated(ports: &[Port]) -> Vec<&Port> {
    // Most lists hold one port: nothing to compare, and nothing to read beyond the length.
    if ports.len() < 2 {
        return Vec::new();
    }
    if ports.len() <= PAIRWISE_PORTS {
        return ports
            .iter()
            .enumerate()
            .filter(|(idx, port)| ports[..*idx].iter().any(|p| p.name == port.name))
            .map(|(_, port)| port)
            .collect();
    }
    let mut names = FxHashSet::default();
    ports
        .iter()
        .filter(|port| !names.insert(&port.name))
        .collect()
}

pub(super) fn role_name(role: PortRole) -> &'static str {
    match role {
        PortRole::Requires => "requires",
        PortRole::Provides => "provides",
    }
}

/// A task's policy: its own default, overridden by what its node sets.
pub(super) fn policy_of(task: &dyn Task, options: Option<&TaskOptions>) -> Policy {
    let default = task.default_policy();
    match options {
        None => default,
        Some(options) => Policy {
            retry: options.retry.clone().unwrap_or(default.retry),
            timeout: options.timeout.or(default.timeout),
            isolation: options.isolation.unwrap_or(default.isolation),
            cache: options.cache.unwrap_or(default.cache),
            version: options.version.clone().or(default.version),
        },
    }
}
