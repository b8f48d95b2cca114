//! `fanout` and `spawn`: work a running task asks for, N no-op tasks added while the run goes.
//!
//! - `fanout`: `list` provides the list 0..N; `t` runs `for_each` over it (item `i` provides
//!   `i + 1`), and `check` counts the gathered elements that are right, in their places.
//! - `spawn`: `parent` spawns N children (child `i`, key `c{i}`, provides `i + 1`), waits for
//!   them all with `join_all` and provides their sum.
//!
//! The time is reported per item or child: the plan's own two or three tasks are noise at
//! the sizes measured.

use std::sync::Arc;

use plait_core::{Flow, FnTask, Outputs, Port, Spawn, TaskNode, Value, ValueType, Workflow};

/// What one unit of a dynamic workload is, and some of them, or `None` if `workload` is
/// not one.
pub(crate) fn unit(workload: &str) -> Option<(&'static str, &'static str)> {
    match workload {
        "fanout" => Some(("item", "items")),
        "spawn" => Some(("child", "children")),
        "script" => Some(("call", "calls")),
        _ => None,
    }
}

/// The workflow, its outputs and the checksum a correct run produces, if `workload` is a
/// dynamic one.
pub(crate) fn build(workload: &str, n: usize) -> Option<(Workflow, Vec<String>, i64)> {
    let workflow = match workload {
        "fanout" => fanout(n),
        "spawn" => spawn(n),
        _ => return None,
    };
    let expected = match workload {
        "fanout" => n as i64,
        _ => (0..n as i64).fold(0_i64, |sum, i| sum.wrapping_add(i + 1)),
    };
    let output = vec![OUTPUT.to_owned()];
    Some((workflow.outputs(output.clone()), output, expected))
}

const OUTPUT: &str = "total";

fn int(name: &str) -> Port {
    Port::new(name, ValueType::Int)
}

/// Provides `v` = `n + 1`: an item, or a child.
fn plus_one() -> FnTask {
    FnTask::raw(vec![int("n")], vec![int("v")], |_, inputs| {
        let n = inputs.values()[0].as_int().unwrap_or(0);
        async move { Ok(Outputs::with_capacity(1).set("v", n + 1)) }
    })
}

fn fanout(n: usize) -> Workflow {
    let list_type = ValueType::list(ValueType::Int);
    let list = FnTask::raw(
        Vec::new(),
        vec![Port::new("list", list_type.clone())],
        move |_, _| {
            let elements: Vec<Value> = (0..n as i64).map(Value::Int).collect();
            let list = Value::list(Arc::new(ValueType::Int), elements);
            async move { Ok(Outputs::with_capacity(1).set("list", list)) }
        },
    );
    // How many of the gathered values are their item's, in its place.
    let check = FnTask::raw(
        vec![Port::new("v", list_type)],
        vec![int(OUTPUT)],
        |_, inputs| {
            let right = inputs.values()[0].as_list().map_or(0, |values| {
                (0..)
                    .zip(values)
                    .filter(|&(i, value)| value.as_int() == Some(i + 1))
                    .count()
            });
            async move { Ok(Outputs::with_capacity(1).set(OUTPUT, right as i64)) }
        },
    );
    let flow = Flow::graph("bench")
        .task("list", list)
        .add(TaskNode::new("t", plus_one()).for_each("n", "list"))
        .task("check", check);
    Workflow::new(flow)
}

fn spawn(n: usize) -> Workflow {
    let parent = FnTask::raw(Vec::new(), vec![int(OUTPUT)], move |ctx, _| async move {
        let children = (0..n as i64)
            .map(|i| ctx.spawn(Spawn::new("child").input("n", i).key(format!("c{i}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut total = 0_i64;
        for result in ctx.join_all(&children).await {
            let v = result?.get("v").and_then(Value::as_int).unwrap_or(0);
            total = total.wrapping_add(v);
        }
        Ok(Outputs::with_capacity(1).set(OUTPUT, total))
    });
    Workflow::new(Flow::graph("bench").add(TaskNode::new("parent", parent).spawns("child")))
        .spawnable(TaskNode::new("child", plus_one()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_workloads_compile_with_their_checksums() {
        for (workload, expected) in [("fanout", 4), ("spawn", 1 + 2 + 3 + 4)] {
            let (workflow, outputs, checksum) = build(workload, 4).unwrap();
            assert_eq!((outputs, checksum), (vec![OUTPUT.to_owned()], expected));
            plait_core::compile(&workflow).unwrap();
        }
        assert!(build("layered", 4).is_none() && unit("layered").is_none());
    }
}
