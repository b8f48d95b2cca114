//! A plan as Graphviz DOT, Mermaid or JSON. Barriers (flow boundaries) are drawn as the task
//! edges they stand for; nested flows become clusters.

use std::collections::BTreeSet;

use plait_core::{NodeId, NodeKind, Plan};
use serde_json::json;

/// Task-to-task edges: data edges with their names, and ordering edges traced through barriers.
fn edges(plan: &Plan) -> Vec<(NodeId, NodeId, Option<String>)> {
    let mut data: BTreeSet<(NodeId, NodeId)> = BTreeSet::new();
    let mut out = Vec::new();
    for edge in plan.data_edges() {
        data.insert((edge.from, edge.to));
        out.push((edge.from, edge.to, Some(edge.name.to_string())));
    }
    let mut order = BTreeSet::new();
    for from in 0..plan.len() as NodeId {
        if plan.node(from).task().is_none() {
            continue;
        }
        for to in task_successors(plan, from) {
            if !data.contains(&(from, to)) {
                order.insert((from, to));
            }
        }
    }
    out.extend(order.into_iter().map(|(from, to)| (from, to, None)));
    out
}

/// The tasks that wait for `from`, looking through barriers.
fn task_successors(plan: &Plan, from: NodeId) -> BTreeSet<NodeId> {
    let mut found = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut stack: Vec<NodeId> = plan.successors(from).to_vec();
    while let Some(node) = stack.pop() {
        if !seen.insert(node) {
            continue;
        }
        match plan.node(node).kind {
            NodeKind::Task(_) => {
                found.insert(node);
            }
            NodeKind::Barrier { .. } => stack.extend_from_slice(plan.successors(node)),
        }
    }
    found
}

fn tasks(plan: &Plan) -> impl Iterator<Item = (NodeId, &str)> {
    plan.nodes()
        .iter()
        .enumerate()
        .filter(|(_, node)| node.task().is_some())
        .map(|(idx, node)| (idx as NodeId, &*node.path))
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

pub(crate) fn dot(plan: &Plan) -> String {
    let mut out = format!(
        "digraph {} {{\n  rankdir=LR;\n  node [shape=box, style=rounded];\n",
        quote(plan.name())
    );
    for (id, path) in tasks(plan) {
        let kind = plan
            .node(id)
            .task()
            .map(|slot| slot.task.kind())
            .unwrap_or("task");
        out.push_str(&format!(
            "  n{id} [label={}, tooltip={}];\n",
            quote(path),
            quote(kind)
        ));
    }
    for (from, to, name) in edges(plan) {
        match name {
            Some(name) => out.push_str(&format!("  n{from} -> n{to} [label={}];\n", quote(&name))),
            None => out.push_str(&format!("  n{from} -> n{to} [style=dashed];\n")),
        }
    }
    out.push('}');
    out
}

pub(crate) fn mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart LR\n");
    for (id, path) in tasks(plan) {
        out.push_str(&format!("  n{id}[{}]\n", quote(path)));
    }
    for (from, to, name) in edges(plan) {
        match name {
            Some(name) => out.push_str(&format!("  n{from} -->|{}| n{to}\n", quote(&name))),
            None => out.push_str(&format!("  n{from} -.-> n{to}\n")),
        }
    }
    out.trim_end().to_owned()
}

pub(crate) fn json(plan: &Plan) -> String {
    let nodes: Vec<_> = tasks(plan)
        .map(|(id, path)| {
            let slot = plan.node(id).task();
            json!({
                "id": path,
                "kind": slot.map(|slot| slot.task.kind()),
                "requires": slot.map(|s| s.requires.iter().map(|p| json!({"name": &*p.name, "type": p.ty.name()})).collect::<Vec<_>>()),
                "provides": slot.map(|s| s.provides.iter().map(|p| json!({"name": &*p.name, "type": p.ty.name()})).collect::<Vec<_>>()),
            })
        })
        .collect();
    let edges: Vec<_> = edges(plan)
        .into_iter()
        .map(|(from, to, name)| {
            let (from, to) = (&*plan.node(from).path, &*plan.node(to).path);
            match name {
                Some(name) => json!({"from": from, "to": to, "kind": "data", "name": name}),
                None => json!({"from": from, "to": to, "kind": "order"}),
            }
        })
        .collect();
    let outputs: Vec<&str> = plan.outputs().iter().map(|(name, _)| &**name).collect();
    let inputs: Vec<_> = plan
        .inputs()
        .iter()
        .map(|i| json!({"name": &*i.name, "type": i.ty.name()}))
        .collect();
    let graph = json!({"name": plan.name(), "inputs": inputs, "outputs": outputs, "nodes": nodes, "edges": edges});
    serde_json::to_string_pretty(&graph).unwrap_or_default()
}
