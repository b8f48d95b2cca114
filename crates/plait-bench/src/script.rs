//! `script`: a workflow written as code, its calls chained and parallel.

use plait_core::{FnTask, Outputs, Port, ValueType, Workflow};
use plait_engine::script::{Arg, Script};

/// N calls in N/2 independent pairs, each pair a chain of two `inc`s, summed by the
/// function as they end; with the checksum a correct run produces.
pub(crate) fn build(n_calls: usize) -> (Workflow, Vec<String>, i64) {
    let pairs = n_calls / 2;
    let inc = FnTask::raw(
        vec![Port::new("n", ValueType::Int)],
        vec![Port::new("out", ValueType::Int)],
        |_, inputs| {
            let n = inputs.int("n");
            async move { Ok(Outputs::with_capacity(1).set("out", n? + 1)) }
        },
    );
    let script = Script::new("bench", move |wf, _| async move {
        let ends: Vec<_> = (0..pairs as i64)
            .map(|i| {
                let first = wf.call("inc", [("n", Arg::from(i))]);
                wf.call("inc", [("n", first.arg("out"))])
            })
            .collect();
        let mut total = 0i64;
        for end in ends {
            total = total.wrapping_add(end.output("out").await?.as_int().unwrap_or_default());
        }
        Ok(Outputs::new().set("total", total))
    })
    .provides("total", ValueType::Int)
    .task("inc", inc);
    let expected = (0..pairs as i64).fold(0i64, |sum, i| sum.wrapping_add(i + 2));
    (script.workflow(), vec!["total".to_owned()], expected)
}
