//! A plan as Graphviz DOT, Mermaid or JSON. Barriers (flow boundaries) are drawn as the task
//! edges they stand for; nested flows become clusters (DOT) or subgraphs (Mermaid).

use std::collections::{BTreeMap, BTreeSet};

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
    let implied = implied_order(&out, &order, plan.len());
    out.extend(
        order
            .into_iter()
            .filter(|edge| !implied.contains(edge))
            .map(|(from, to)| (from, to, None)),
    );
    out
}

/// Ordering edges already implied by a longer path (compile -> stage -> upload makes
/// compile -> upload redundant), so the drawing shows only what adds information. Skipped on
/// graphs too large to draw anyway.
fn implied_order(
    data: &[(NodeId, NodeId, Option<String>)],
    order: &BTreeSet<(NodeId, NodeId)>,
    n_nodes: usize,
) -> BTreeSet<(NodeId, NodeId)> {
    if n_nodes > 5_000 {
        return BTreeSet::new();
    }
    let mut next: BTreeMap<NodeId, Vec<NodeId>> = BTreeMap::new();
    for &(from, to, _) in data {
        next.entry(from).or_default().push(to);
    }
    for &(from, to) in order {
        next.entry(from).or_default().push(to);
    }
    let reaches_otherwise = |from: NodeId, to: NodeId| {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<NodeId> = next[&from].iter().copied().filter(|&n| n != to).collect();
        while let Some(node) = stack.pop() {
            if node == to {
                return true;
            }
            if seen.insert(node) {
                stack.extend(next.get(&node).into_iter().flatten().copied());
            }
        }
        false
    };
    order
        .iter()
        .copied()
        .filter(|&(from, to)| reaches_otherwise(from, to))
        .collect()
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

/// The flow a path is in (`""` for the outermost) and its own name.
fn split_path(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// Nested flows as a tree: each flow's tasks and inner flows, outermost (`""`) first.
struct Tree<'a> {
    tasks: BTreeMap<&'a str, Vec<NodeId>>,
    flows: BTreeMap<&'a str, BTreeSet<&'a str>>,
}

impl<'a> Tree<'a> {
    fn new(plan: &'a Plan) -> Self {
        let mut tree = Tree {
            tasks: BTreeMap::new(),
            flows: BTreeMap::new(),
        };
        for (id, path) in tasks(plan) {
            let (flow, _) = split_path(path);
            tree.tasks.entry(flow).or_default().push(id);
            let mut inner = flow;
            while !inner.is_empty() {
                let (outer, _) = split_path(inner);
                tree.flows.entry(outer).or_default().insert(inner);
                inner = outer;
            }
        }
        tree
    }

    /// Writes `flow`'s members with `task`, then each inner flow between `open` and `close`.
    fn walk(
        &self,
        flow: &str,
        depth: usize,
        out: &mut String,
        task: &dyn Fn(NodeId, &mut String, &str),
        open: &dyn Fn(&str, &mut String, &str),
        close: &dyn Fn(&mut String, &str),
    ) {
        let indent = "  ".repeat(depth);
        for &id in self.tasks.get(flow).into_iter().flatten() {
            task(id, out, &indent);
        }
        for &inner in self.flows.get(flow).into_iter().flatten() {
            open(inner, out, &indent);
            self.walk(inner, depth + 1, out, task, open, close);
            close(out, &indent);
        }
    }
}

pub(crate) fn dot(plan: &Plan) -> String {
    let mut out = format!(
        "digraph {} {{\n  rankdir=LR;\n  node [shape=box, style=rounded];\n",
        quote(plan.name())
    );
    let task = |id: NodeId, out: &mut String, indent: &str| {
        let node = plan.node(id);
        let kind = node.task().map(|slot| slot.task.kind()).unwrap_or("task");
        let (_, name) = split_path(&node.path);
        out.push_str(&format!(
            "{indent}  n{id} [label={}, tooltip={}];\n",
            quote(name),
            quote(kind)
        ));
    };
    let open = |flow: &str, out: &mut String, indent: &str| {
        let (_, name) = split_path(flow);
        out.push_str(&format!(
            "{indent}  subgraph {} {{\n{indent}    label={};\n",
            quote(&format!("cluster_{flow}")),
            quote(name)
        ));
    };
    let close = |out: &mut String, indent: &str| out.push_str(&format!("{indent}  }}\n"));
    Tree::new(plan).walk("", 0, &mut out, &task, &open, &close);
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
    let task = |id: NodeId, out: &mut String, indent: &str| {
        let (_, name) = split_path(&plan.node(id).path);
        out.push_str(&format!("{indent}  n{id}[{}]\n", quote(name)));
    };
    let open = |flow: &str, out: &mut String, indent: &str| {
        let (_, name) = split_path(flow);
        let id: String = flow
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '_' })
            .collect();
        out.push_str(&format!("{indent}  subgraph flow_{id} [{}]\n", quote(name)));
    };
    let close = |out: &mut String, indent: &str| out.push_str(&format!("{indent}  end\n"));
    Tree::new(plan).walk("", 0, &mut out, &task, &open, &close);
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
                "requires": slot.map(|s| s.requires().iter().map(|p| json!({"name": &*p.name, "type": p.ty.name()})).collect::<Vec<_>>()),
                "provides": slot.map(|s| s.provides().iter().map(|p| json!({"name": &*p.name, "type": p.ty.name()})).collect::<Vec<_>>()),
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
