//! Members with `for_each`: each becomes a [`FanOut`] node and a spawnable for its items.
//!
//! The list's element type is known only once the list is wired, so a fan-out whose task
//! does not require the binding itself takes any list at first (its list port is marked
//! in `any_list`), and is finished after wiring, with the element type its list has.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::{Builder, UNBOUND};
use crate::fanout::{FanOut, ForEach, Item};
use crate::plan::{NodeId, NodeKind, Source, Spawnable, TaskSlot};
use crate::{Code, Diagnostic, InputDecl, Location, Policy, Port, PortRole, Task, ValueType};

/// A fan-out met while flattening, to finish after wiring.
pub(super) struct FanOutNode {
    node: NodeId,
    task: Arc<dyn Task>,
    for_each: ForEach,
    max_parallel: Option<usize>,
    /// The items' policy: the member's.
    policy: Arc<Policy>,
    /// The task requires the binding itself (then the list's type is checked by wiring).
    declared: bool,
}

impl Builder {
    /// The node that stands for member `task` with `for_each`, and its policy.
    pub(super) fn fan_out(
        &mut self,
        node: NodeId,
        path: &Arc<str>,
        task: Arc<dyn Task>,
        policy: Arc<Policy>,
        for_each: &ForEach,
        max_parallel: Option<usize>,
    ) -> (Arc<dyn Task>, Arc<Policy>) {
        if max_parallel == Some(0) {
            self.report(
                Diagnostic::error(
                    Code::BadTask,
                    format!("task `{path}` sets `max_parallel = 0`: no item could run"),
                )
                .at(Location::Member { path: path.clone() })
                .help("give at least 1, or leave it out to run as many as the jobs allow"),
            );
        }
        let binding = task
            .requires()
            .iter()
            .find(|port| port.name == for_each.binding);
        let element = binding.map_or(ValueType::Json, |port| port.ty.clone());
        let declared = binding.is_some();
        if !declared {
            self.any_list.insert(node);
        }
        let fan = FanOut::new(&*task, for_each, element, item_name(path), max_parallel);
        self.fan_outs.push(FanOutNode {
            node,
            task,
            for_each: for_each.clone(),
            max_parallel,
            policy,
            declared,
        });
        (Arc::new(fan), self.share_policy(Policy::default()))
    }

    /// Whether `consumer`'s input `port_idx` takes any list: a fan-out's list, before it
    /// is finished.
    pub(super) fn takes_any_list(&self, consumer: NodeId, port_idx: usize) -> bool {
        port_idx == 0 && self.any_list.contains(&consumer)
    }

    /// Why a fan-out whose task requires the binding cannot take `from`, of type `ty`; `None`
    /// if `consumer` is no such fan-out.
    pub(super) fn element_mismatch(
        &self,
        consumer: NodeId,
        port_idx: usize,
        from: &str,
        ty: &ValueType,
    ) -> Option<Diagnostic> {
        if port_idx != 0 {
            return None;
        }
        let fan = self.fan_outs.iter().find(|fan| fan.node == consumer)?;
        let node = &self.nodes[consumer as usize];
        let list = node.task()?.requires()[0].name.clone();
        let binding = &fan.for_each.binding;
        let element = node.task()?.requires()[0].ty.element()?.clone();
        let message = match ty.element() {
            Some(found) => format!(
                "task `{}` takes each element of `{list}` as `{binding}` ({element}), but {from} \
                 is {ty}, a list of {found}",
                node.path
            ),
            None => format!(
                "task `{}` runs `for_each` over `{list}`, but {from} is {ty}, not a list",
                node.path
            ),
        };
        Some(
            Diagnostic::error(Code::TypeMismatch, message)
                .at(Location::Port {
                    path: node.path.clone(),
                    role: PortRole::Requires,
                    port: list,
                })
                .help(format!(
                    "declare `{binding}` in `requires` with the element's type, or leave it out \
                     to take the element as it is"
                )),
        )
    }

    /// A fan-out's list is not a list.
    pub(super) fn not_a_list(&mut self, consumer: NodeId, from: &str, ty: &ValueType) {
        let node = &self.nodes[consumer as usize];
        let Some(slot) = node.task() else { return };
        let list = slot.requires()[0].name.clone();
        let diagnostic = Diagnostic::error(
            Code::TypeMismatch,
            format!(
                "task `{}` runs `for_each` over `{list}`, but {from} is {ty}, not a list",
                node.path
            ),
        )
        .at(Location::Port {
            path: node.path.clone(),
            role: PortRole::Requires,
            port: list,
        })
        .help("`for_each` takes a value of type list<T>, such as list<string>");
        self.report(diagnostic);
    }

    /// Finishes each fan-out with its list's element type, and adds its items' spawnable.
    pub(super) fn finish_fan_outs(
        &mut self,
        inputs: &[InputDecl],
        spawnables: &mut Vec<Spawnable>,
        spawns: &mut FxHashMap<NodeId, Box<[u32]>>,
    ) {
        for fan in std::mem::take(&mut self.fan_outs) {
            let Some(slot) = self.nodes[fan.node as usize].task() else {
                continue;
            };
            let element = match slot.sources[0] {
                source if source == UNBOUND => None,
                Source::Input(idx) => inputs[idx as usize].ty.element().cloned(),
                Source::Output { node, port } => self.nodes[node as usize]
                    .task()
                    .and_then(|provider| provider.provides()[port as usize].ty.element().cloned()),
                Source::Given(_) => None,
            };
            // Wiring reported a list that is missing or is none.
            let Some(element) = element else { continue };
            let path = self.nodes[fan.node as usize].path.clone();
            let item_task: Arc<dyn Task> = if fan.declared {
                fan.task.clone()
            } else {
                Arc::new(Item::new(
                    fan.task.clone(),
                    Port::new(fan.for_each.binding.clone(), element.clone()),
                ))
            };
            spawns.insert(fan.node, Box::new([spawnables.len() as u32]));
            spawnables.push(Spawnable {
                name: item_name(&path),
                slot: TaskSlot {
                    task: item_task,
                    sources: Box::new([]),
                    policy: fan.policy.clone(),
                },
            });
            if !fan.declared {
                let finished: Arc<dyn Task> = Arc::new(FanOut::new(
                    &*fan.task,
                    &fan.for_each,
                    element,
                    item_name(&path),
                    fan.max_parallel,
                ));
                if let NodeKind::Task(slot) = &mut self.nodes[fan.node as usize].kind {
                    slot.task = finished;
                }
            }
        }
    }
}

/// The spawnable a fan-out's items run: `member[]`.
fn item_name(path: &str) -> Arc<str> {
    format!("{path}[]").into()
}
