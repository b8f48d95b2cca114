//! Graphs far deeper than a thread's stack: nothing in compiling or running a plan may
//! recurse once per task.

use std::sync::Arc;

use plait_core::{Flow, FnTask, Outputs, Port, RunStatus, Value, ValueType, Workflow, compile};
use plait_engine::{Engine, RunOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_of_a_million_tasks_compiles_and_runs() {
    let n = 1_000_000usize;
    let mut flow = Flow::graph("chain");
    let mut previous: Option<Port> = None;
    for idx in 0..n {
        let provides = Port::new(format!("v{idx}"), ValueType::Int);
        let requires: Vec<Port> = previous.take().into_iter().collect();
        previous = Some(provides.clone());
        let task = FnTask::raw(requires, vec![provides.clone()], move |_, inputs| {
            let next = inputs.values().first().and_then(Value::as_int).unwrap_or(0) + 1;
            let name = provides.name.clone();
            async move { Ok(Outputs::new().set(name, next)) }
        });
        flow = flow.task(format!("t{idx}"), task);
    }
    let plan = Arc::new(compile(&Workflow::new(flow)).expect("a chain is valid"));
    let report = Engine::new()
        .run(&plan, Vec::<(&str, Value)>::new(), RunOptions::new())
        .await
        .expect("the run starts");
    assert_eq!(report.status, RunStatus::Succeeded);
    let last = format!("v{}", n - 1);
    assert_eq!(report.output(&last).and_then(Value::as_int), Some(n as i64));
}
