//! The workflow's spawnable tasks, and the children each task declares: every declared
//! child must be a spawnable, and every spawnable a sound task, before anything runs.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::Builder;
use super::flatten::policy_of;
use crate::plan::{NodeId, Spawnable, TaskSlot};
use crate::{Code, Diagnostic, Location, TaskNode};

impl Builder {
    /// Checks the spawnables and the declared children; returns both for the plan.
    pub(super) fn spawnables(
        &mut self,
        nodes: &[TaskNode],
    ) -> (Vec<Spawnable>, FxHashMap<NodeId, Box<[u32]>>) {
        let mut spawnables: Vec<Spawnable> = Vec::with_capacity(nodes.len());
        let mut by_name: FxHashMap<Arc<str>, u32> = FxHashMap::default();
        for node in nodes {
            let name = node.name.clone();
            let location = || Location::Member { path: name.clone() };
            if by_name.contains_key(&name) {
                self.report(
                    Diagnostic::error(
                        Code::DuplicateName,
                        format!("two spawnable tasks are named `{name}`"),
                    )
                    .at(location()),
                );
                continue;
            }
            for problem in node.task.problems() {
                self.report(
                    Diagnostic::error(Code::BadTask, format!("spawnable task `{name}`: {problem}"))
                        .at(location()),
                );
            }
            if let Some(spawns) = node.options.as_ref().filter(|o| !o.spawns.is_empty()) {
                self.report(
                    Diagnostic::error(
                        Code::BadTask,
                        format!(
                            "spawnable task `{name}` declares children ({}): a child cannot \
                             spawn",
                            spawns.spawns.join(", ")
                        ),
                    )
                    .at(location())
                    .help("spawn every child from the task in the flow"),
                );
            }
            let policy = self.share_policy(policy_of(&*node.task, node.options.as_deref()));
            by_name.insert(name.clone(), spawnables.len() as u32);
            spawnables.push(Spawnable {
                name,
                slot: TaskSlot {
                    task: node.task.clone(),
                    sources: Box::new([]),
                    policy,
                },
            });
        }
        let mut spawns = FxHashMap::default();
        for (parent, names) in std::mem::take(&mut self.spawns) {
            let mut indices = Vec::with_capacity(names.len());
            for name in names {
                match by_name.get(&name) {
                    Some(&idx) => indices.push(idx),
                    None => {
                        let path = self.nodes[parent as usize].path.clone();
                        let known: Vec<&str> = by_name.keys().map(|name| &**name).collect();
                        let help = if known.is_empty() {
                            "add it with `Workflow::spawnable`".to_owned()
                        } else {
                            let mut known = known;
                            known.sort_unstable();
                            format!("the spawnable tasks are: {}", known.join(", "))
                        };
                        self.report(
                            Diagnostic::error(
                                Code::UnknownMember,
                                format!(
                                    "task `{path}` may spawn `{name}`, but no spawnable task \
                                     has that name"
                                ),
                            )
                            .at(Location::Member { path })
                            .help(help),
                        );
                    }
                }
            }
            indices.dedup();
            spawns.insert(parent, indices.into_boxed_slice());
        }
        (spawnables, spawns)
    }
}
