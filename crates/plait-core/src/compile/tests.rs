use std::time::Duration;

use crate::*;

fn int_task<const R: usize, const P: usize>(requires: [&str; R], provides: [&str; P]) -> FnTask {
    let requires = requires
        .iter()
        .map(|n| Port::new(*n, ValueType::Int))
        .collect();
    let provides = provides
        .iter()
        .map(|n| Port::new(*n, ValueType::Int))
        .collect();
    FnTask::raw(requires, provides, |_, _| async { Ok(Outputs::new()) })
}

/// Every diagnostic, one per line, in order.
fn problems(workflow: Workflow) -> String {
    let diagnostics = match compile(&workflow) {
        Ok(plan) => plan.warnings().to_vec(),
        Err(invalid) => invalid.diagnostics,
    };
    diagnostics.iter().map(|d| format!("{d}\n")).collect()
}

#[test]
fn a_valid_graph_compiles_with_inputs_wired() {
    let flow = Flow::graph("main")
        .task("a", int_task(["n"], ["x"]))
        .task("b", int_task(["x"], ["y"]))
        .task("c", int_task(["x", "y"], ["z"]));
    let plan = compile(&Workflow::new(flow).input("n", ValueType::Int)).unwrap();
    assert!(plan.warnings().is_empty(), "{:?}", plan.warnings());
    let c = plan.find("c").unwrap();
    let sources = &plan.node(c).task().unwrap().sources;
    assert_eq!(
        sources[0],
        Source::Output {
            node: plan.find("a").unwrap(),
            port: 0
        }
    );
    assert_eq!(plan.predecessors(c).len(), 2);
    assert_eq!(plan.outputs().len(), 1);
    assert_eq!(&*plan.outputs()[0].0, "z");
}

#[test]
fn every_problem_is_reported_at_once() {
    let flow = Flow::graph("main")
        .task("a", int_task(["missing"], ["x"]))
        .task("a", int_task([], []))
        .task("b", int_task([], ["x"]))
        .task("c", int_task(["x"], ["out"]))
        .add(TaskNode::new("d", int_task([], [])).after(["nowhere"]))
        .task("e", blocking_fn(["p", "q"], [], |_: i64| {}));
    expect_test::expect![[r#"
        error[duplicate-name]: the workflow has two members named `a`
          help: give each task and flow in a flow its own name
        error[bad-task]: task `e`: the function takes 1 argument(s) but `requires` names 2
        error[missing-input]: task `a` requires `missing`, which no task provides and the workflow does not take as an input
          help: declare `missing` as a workflow input, or add a task that provides it
        error[ambiguous-provider]: task `c` requires `x`, which `a` and `b` both provide
          help: a value has exactly one provider: rename one of the outputs (`rebind`)
        error[missing-input]: task `e` requires `p`, which no task provides and the workflow does not take as an input
          help: declare `p` as a workflow input, or add a task that provides it
        error[unknown-member]: `d` runs after `nowhere`, which is not in its flow
          help: `after` names members of the same flow: `a`, `b`, `c`, `e`
    "#]]
    .assert_eq(&problems(Workflow::new(flow)));
}

#[test]
fn cycles_are_printed_as_paths() {
    let flow = Flow::graph("main")
        .task("a", int_task(["z"], ["x"]))
        .task("b", int_task(["x"], ["y"]))
        .task("c", int_task(["y"], ["z"]))
        .task("self", int_task(["s"], ["s"]));
    expect_test::expect![[r#"
        error[cycle]: cycle: `a` -> `b` -> `c` -> `a`
          help: a task cannot wait, directly or through others, for itself: remove one of these dependencies
        error[cycle]: cycle: `self` -> `self`
          help: a task cannot wait, directly or through others, for itself: remove one of these dependencies
    "#]]
    .assert_eq(&problems(Workflow::new(flow)));
}

#[test]
fn cycles_through_flow_ordering_name_the_flow() {
    let inner = Flow::linear("inner").task("p", int_task(["y"], ["x"]));
    let flow = Flow::linear("main")
        .add(inner)
        .task("q", int_task(["x"], ["y"]));
    expect_test::expect![[r#"
        error[cycle]: cycle: `inner/p` -> `q` -> `inner/p`
          help: a task cannot wait, directly or through others, for itself: remove one of these dependencies
    "#]]
    .assert_eq(&problems(Workflow::new(flow)));
}

#[test]
fn types_must_agree() {
    let text = FnTask::raw(
        vec![],
        vec![Port::new("x", ValueType::String)],
        |_, _| async { Ok(Outputs::new()) },
    );
    let flow = Flow::graph("main")
        .task("a", text)
        .task("b", int_task(["x", "n"], ["y"]));
    expect_test::expect![[r#"
        error[type-mismatch]: task `b` requires `x` as int, but task `a` provides it as string
        error[type-mismatch]: task `b` requires `n` as int, but input `n` is float
    "#]]
    .assert_eq(&problems(Workflow::new(flow).input("n", ValueType::Float)));
}

#[test]
fn lists_wire_only_to_equal_lists() {
    let typed = |requires: &[(&str, &str)], provides: &[(&str, &str)]| {
        let ports = |ports: &[(&str, &str)]| {
            let port = |&(name, ty): &(&str, &str)| {
                Port::new(name, ValueType::from_name(ty).expect("a type name"))
            };
            ports.iter().map(port).collect()
        };
        FnTask::raw(ports(requires), ports(provides), |_, _| async {
            Ok(Outputs::new())
        })
    };
    let flow = Flow::graph("main")
        .task(
            "names",
            typed(&[], &[("names", "list<string>"), ("ns", "list<int>")]),
        )
        .task("greet", typed(&[("names", "list<string>")], &[]))
        .task("count", typed(&[("ns", "list<string>")], &[]))
        .task("deep", typed(&[("grid", "list<int>")], &[]));
    let workflow =
        Workflow::new(flow).input("grid", ValueType::from_name("list<list<int>>").unwrap());
    expect_test::expect![[r#"
        error[type-mismatch]: task `count` requires `ns` as list<string>, but task `names` provides it as list<int>
        error[type-mismatch]: task `deep` requires `grid` as list<int>, but input `grid` is list<list<int>>
    "#]]
    .assert_eq(&problems(workflow));
}

#[test]
fn unused_values_are_warnings() {
    let flow = Flow::graph("main")
        .task("a", int_task([], ["x", "spare"]))
        .task("b", int_task(["x"], ["y"]));
    let workflow = Workflow::new(flow)
        .input("unused", ValueType::Int)
        .outputs(["y"]);
    expect_test::expect![[r#"
        warning[unused-input]: input `unused` is never used
        warning[unused-output]: task `a` provides `spare`, which nothing uses
    "#]]
    .assert_eq(&problems(workflow));
}

#[test]
fn unordered_members_must_not_depend_on_each_other() {
    let flow = Flow::unordered("fan")
        .task("a", int_task([], ["x"]))
        .task("b", int_task(["x"], ["y"]));
    expect_test::expect![[r#"
        error[unordered-dependency]: task `b` requires `x` from task `a`, but both are members of unordered flow ``
          help: members of an unordered flow must not depend on each other: make the flow a graph or linear flow
    "#]]
    .assert_eq(&problems(Workflow::new(flow)));
}

#[test]
fn names_resolve_in_the_innermost_flow_first_and_rebind_crosses_borders() {
    // Two sub-flows each use a private `tmp`; the outer task reads `left` and `right`.
    let side = |name: &str, out: &str| {
        Flow::linear(name)
            .task("make", int_task(["n"], ["tmp"]))
            .task("use", int_task(["tmp"], ["result"]))
            .rebind("result", out.to_owned())
    };
    let flow = Flow::graph("main")
        .add(side("l", "left"))
        .add(side("r", "right"))
        .add(
            TaskNode::new("join", int_task(["a", "b"], ["sum"]))
                .rebind("a", "left")
                .rebind("b", "right"),
        );
    let plan = compile(&Workflow::new(flow).input("n", ValueType::Int)).unwrap();
    let join = plan.find("join").unwrap();
    let sources = &plan.node(join).task().unwrap().sources;
    assert_eq!(
        sources[0],
        Source::Output {
            node: plan.find("l/use").unwrap(),
            port: 0
        }
    );
    assert_eq!(
        sources[1],
        Source::Output {
            node: plan.find("r/use").unwrap(),
            port: 0
        }
    );
    let r_use = plan.find("r/use").unwrap();
    assert_eq!(
        plan.node(r_use).task().unwrap().sources[0],
        Source::Output {
            node: plan.find("r/make").unwrap(),
            port: 0
        }
    );
}

#[test]
fn linear_flows_order_their_members_through_barriers() {
    let flow = Flow::linear("main")
        .add(
            Flow::unordered("first")
                .task("a", int_task([], []))
                .task("b", int_task([], [])),
        )
        .task("c", int_task([], []));
    let plan = compile(&Workflow::new(flow)).unwrap();
    let c = plan.find("c").unwrap();
    let barrier = plan.predecessors(c)[0];
    assert!(matches!(
        plan.node(barrier).kind,
        NodeKind::Barrier { end: true, .. }
    ));
    assert_eq!(plan.predecessors(barrier).len(), 2);
    assert_eq!(plan.n_tasks(), 3);
}

#[test]
fn retried_flows_release_outputs_only_when_whole() {
    let flow = Flow::graph("main")
        .add(
            Flow::graph("sub")
                .retry(RetryPolicy::attempts(3).with_backoff(Duration::ZERO))
                .task("a", int_task([], ["x"]))
                .task("b", int_task([], ["y"])),
        )
        .task("c", int_task(["x"], ["z"]));
    let plan = compile(&Workflow::new(flow).outputs(["z", "y"])).unwrap();
    let c = plan.find("c").unwrap();
    let scope = &plan.scopes()[0];
    assert!(plan.predecessors(c).contains(&scope.end));
    let a = plan.find("sub/a").unwrap();
    assert_eq!(plan.node(a).scope, Some(0));
    assert_eq!(plan.node(c).scope, None);
    assert_eq!(scope.nodes, vec![a, plan.find("sub/b").unwrap()]);
}

#[test]
fn flows_nested_past_the_limit_are_reported_and_any_depth_drops() {
    let nest = |depth: usize| {
        let mut flow = Flow::graph("f").task("t", int_task([], ["x"]));
        for _ in 1..depth {
            flow = Flow::graph("f").add(flow);
        }
        Flow::graph("main").add(flow)
    };
    let allowed = compile(&Workflow::new(nest(super::flatten::MAX_FLOW_DEPTH - 1)));
    assert!(allowed.is_ok());
    let too_deep = problems(Workflow::new(nest(super::flatten::MAX_FLOW_DEPTH)));
    assert!(
        too_deep.starts_with("error[too-deep]: flow `f/f/"),
        "{too_deep}"
    );
    // Far deeper than the stack could take one frame per level: built and dropped.
    drop(nest(200_000));
}

#[test]
fn duplicate_names_are_found_in_nested_flows_and_after_a_member_left_out() {
    let inner = Flow::graph("inner")
        .task("x", int_task([], []))
        .add(Flow::graph("x"))
        .task("y", int_task([], []));
    let flow = Flow::graph("main").add(
        Flow::graph("sub")
            .add(inner)
            .task("inner", int_task([], [])),
    );
    expect_test::expect![[r#"
        error[duplicate-name]: flow `sub/inner` has two members named `x`
          help: give each task and flow in a flow its own name
        error[duplicate-name]: flow `sub` has two members named `inner`
          help: give each task and flow in a flow its own name
    "#]]
    .assert_eq(&problems(Workflow::new(flow)));

    // A flow nested too deep is reported and left out; a sibling of its name still clashes.
    let mut flow = Flow::graph("f")
        .add(Flow::graph("f"))
        .task("f", int_task([], []));
    for _ in 2..super::flatten::MAX_FLOW_DEPTH {
        flow = Flow::graph("f").add(flow);
    }
    let problems = problems(Workflow::new(Flow::graph("main").add(flow)));
    let lines: Vec<&str> = problems
        .lines()
        .filter(|l| l.starts_with("error"))
        .collect();
    assert_eq!(lines.len(), 2, "{problems}");
    assert!(lines[0].starts_with("error[too-deep]"), "{problems}");
    assert!(
        lines[1].ends_with("has two members named `f`"),
        "{problems}"
    );
}

#[test]
fn a_cycle_behind_a_long_chain_is_found_without_recursion() {
    // 300,000 tasks in a line, the last two waiting for each other: a recursive search for
    // components would overflow the stack long before the cycle.
    let n = 300_000;
    let mut flow = Flow::graph("main").task("t0", int_task([], ["v0"]));
    for idx in 1..n {
        let requires = format!("v{}", idx - 1);
        let provides = format!("v{idx}");
        let requires: Vec<Port> = if idx == n - 2 {
            vec![
                Port::new(requires, ValueType::Int),
                Port::new(format!("v{}", n - 1), ValueType::Int),
            ]
        } else {
            vec![Port::new(requires, ValueType::Int)]
        };
        let task = FnTask::raw(
            requires,
            vec![Port::new(provides, ValueType::Int)],
            |_, _| async { Ok(Outputs::new()) },
        );
        flow = flow.task(format!("t{idx}"), task);
    }
    let found = problems(Workflow::new(flow));
    assert_eq!(
        found.lines().next(),
        Some(
            format!(
                "error[cycle]: cycle: `t{}` -> `t{}` -> `t{}`",
                n - 2,
                n - 1,
                n - 2
            )
            .as_str()
        ),
        "{found}"
    );
}
