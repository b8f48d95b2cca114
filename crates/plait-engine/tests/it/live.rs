//! Live flows: incremental recomputation, early cut-off, cancellation of stale work,
//! consistency of what subscribers see, event ports, coalescing, failures as values. Time is
//! paused wherever a test depends on timing, so each interleaving is forced, not hoped for.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use expect_test::expect;
use plait_core::{Flow, FnTask, Outputs, TaskError, Value, ValueType, Workflow};
use plait_engine::live::{LiveEvent, LiveFlow};

use crate::common::*;

/// Counts executions of `task`.
#[derive(Clone, Default, Debug)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// `f(inputs) = sum + add`, after `delay`, counting calls.
fn counted(requires: &[&str], output: &str, add: i64, delay: Duration, calls: &Calls) -> FnTask {
    let output: Arc<str> = output.into();
    let calls = calls.clone();
    FnTask::raw(ints(requires), ints(&[&output]), move |_, inputs| {
        calls.0.fetch_add(1, Ordering::SeqCst);
        let sum: i64 = inputs.values().iter().filter_map(Value::as_int).sum();
        let output = output.clone();
        async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(Outputs::new().set(output, sum + add))
        }
    })
}

/// `x -> a = x % 10 -> c = a + 1`, `y -> b = y + 1`, and `d = c + b`.
fn diamond(calls: &[Calls; 4], slow: Duration) -> Arc<plait_core::Plan> {
    let parity = {
        let calls = calls[0].clone();
        FnTask::raw(ints(&["x"]), ints(&["a"]), move |_, inputs| {
            calls.0.fetch_add(1, Ordering::SeqCst);
            let x = inputs.int("x");
            async move { Ok(Outputs::new().set("a", x? % 10)) }
        })
    };
    let flow = Flow::graph("diamond")
        .task("parity", parity)
        .task("c", counted(&["a"], "c", 1, Duration::ZERO, &calls[1]))
        .task("b", counted(&["y"], "b", 1, slow, &calls[2]))
        .task("d", counted(&["c", "b"], "d", 0, Duration::ZERO, &calls[3]));
    plan(
        Workflow::new(flow)
            .input("x", ValueType::Int)
            .input("y", ValueType::Int)
            .outputs(["c", "d"]),
    )
}

fn int(snapshot: &plait_engine::live::Snapshot, name: &str) -> i64 {
    snapshot
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .as_ref()
        .expect("not a failure")
        .as_int()
        .expect("an int")
}

#[tokio::test(start_paused = true)]
async fn only_what_a_change_reaches_recomputes_and_equal_values_stop_it() {
    let calls: [Calls; 4] = Default::default();
    let live = LiveFlow::builder(diamond(&calls, Duration::ZERO))
        .start([("x", 3i64), ("y", 5)])
        .unwrap();
    let first = live.settled().await.unwrap();
    assert_eq!((first.revision, int(&first, "d")), (1, 4 + 6));
    let counts = || calls.iter().map(Calls::get).collect::<Vec<_>>();
    assert_eq!(counts(), [1, 1, 1, 1]);

    // y reaches b and d only.
    live.set("y", 7i64).unwrap();
    let second = live.settled().await.unwrap();
    assert_eq!((second.revision, int(&second, "d")), (2, 4 + 8));
    assert_eq!(counts(), [1, 1, 2, 2]);

    // 13 % 10 == 3 % 10: parity recomputes the same value, and nothing after it runs.
    live.set("x", 13i64).unwrap();
    let third = live.settled().await.unwrap();
    assert_eq!((third.revision, int(&third, "d")), (3, 12));
    assert_eq!(counts(), [2, 1, 2, 2]);

    // Setting a value equal to the current one is no change at all.
    live.set("x", 13i64).unwrap();
    let same = live.settled().await.unwrap();
    assert_eq!(same.revision, 3);
    assert_eq!(counts(), [2, 1, 2, 2]);
    assert_eq!(live.stats().unchanged, 2, "c and d were found up to date");
}

#[tokio::test(start_paused = true)]
async fn a_stale_execution_is_cancelled_and_an_unaffected_one_finishes() {
    let calls: [Calls; 4] = Default::default();
    let mut builder = LiveFlow::builder(diamond(&calls, Duration::from_secs(10)));
    let mut activity = builder.activity();
    let live = builder.start([("x", 1i64), ("y", 1)]).unwrap();
    let mut d = live.subscribe("d").unwrap();
    // b is 1 s into its 10 s; x's change does not reach it: it finishes, and d at
    // revision 2 uses its result with x's new branch.
    tokio::time::sleep(Duration::from_secs(1)).await;
    live.set("x", 2i64).unwrap();
    let update = d.next().await.unwrap();
    assert_eq!(update.revision, 2);
    assert_eq!(update.value.unwrap().as_int(), Some(3 + 2));
    assert_eq!((calls[2].get(), live.stats().cancelled), (1, 0));

    // y reaches b: the execution of revision 3 is cancelled by revision 4's change.
    live.set("y", 2i64).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    live.set("y", 3i64).unwrap();
    let update = d.next().await.unwrap();
    assert_eq!(update.revision, 4);
    assert_eq!(update.value.unwrap().as_int(), Some(3 + 4));
    assert_eq!(calls[2].get(), 3);
    let mut cancelled = Vec::new();
    while let Ok(event) = activity.try_recv() {
        if let LiveEvent::Cancelled { revision, task } = event {
            cancelled.push((revision, task.to_string()));
        }
    }
    assert_eq!(
        cancelled,
        [(3, "b".to_owned())],
        "the execution of revision 3"
    );
}

// Real time: a blocking task holds tokio's paused clock still.
#[tokio::test]
async fn a_cancelled_async_task_is_dropped_and_a_blocking_one_sees_its_token() {
    let dropped = Arc::new(AtomicBool::new(false));
    struct Guard(Arc<AtomicBool>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let slow = {
        let dropped = dropped.clone();
        FnTask::raw(ints(&["x"]), ints(&["y"]), move |_, inputs| {
            let guard = Guard(dropped.clone());
            let x = inputs.int("x");
            async move {
                tokio::time::sleep(Duration::from_secs(60)).await;
                drop(guard);
                Ok(Outputs::new().set("y", x?))
            }
        })
    };
    let saw_token = Arc::new(AtomicBool::new(false));
    let blocking = {
        let saw_token = saw_token.clone();
        FnTask::raw(ints(&["x"]), ints(&["z"]), move |ctx, inputs| {
            let saw_token = saw_token.clone();
            let x = inputs.int("x");
            async move {
                let x = x?;
                if x == 1 {
                    // Spins until told to stop, as CPU-bound code polling its token does.
                    while !ctx.is_cancelled() {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    saw_token.store(true, Ordering::SeqCst);
                    return Err(TaskError::permanent("stopped"));
                }
                Ok(Outputs::new().set("z", x))
            }
        })
    };
    let flow = Flow::graph("stale").task("slow", slow).add(
        plait_core::TaskNode::new("blocking", blocking).isolation(plait_core::Isolation::Blocking),
    );
    let plan = plan(
        Workflow::new(flow)
            .input("x", ValueType::Int)
            .outputs(["y", "z"]),
    );
    let live = LiveFlow::builder(plan)
        .restart_delay(Duration::ZERO)
        .start([("x", 1i64)])
        .unwrap();
    // Both have started (the blocking one spins until cancelled).
    let mut activity = live.activity();
    tokio::time::sleep(Duration::from_millis(20)).await;
    live.set("x", 2i64).unwrap();
    let mut z = live.subscribe("z").unwrap();
    let update = z.next().await.unwrap();
    assert_eq!(update.value.unwrap().as_int(), Some(2));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the stale future was dropped"
    );
    // The blocking thread sees its token soon after; give it time to notice.
    for _ in 0..5000 {
        if saw_token.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        saw_token.load(Ordering::SeqCst),
        "the blocking task saw its token"
    );
    let mut cancelled = Vec::new();
    while let Ok(event) = activity.try_recv() {
        if let LiveEvent::Cancelled { revision, task } = event {
            cancelled.push((revision, task.to_string()));
        }
    }
    cancelled.sort();
    assert_eq!(
        cancelled,
        [(1, "blocking".to_owned()), (1, "slow".to_owned())]
    );
}

/// x and y always change together to the same value, through branches of different
/// speeds: an output mixing revisions would pair different values.
#[tokio::test(start_paused = true)]
async fn subscribers_never_see_mixed_or_older_revisions() {
    let fast = Calls::default();
    let slow = Calls::default();
    let pair = FnTask::raw(
        ints(&["fx", "sy"]),
        vec![plait_core::Port::new("pair", ValueType::Json)],
        |_, inputs| {
            let fx = inputs.int("fx");
            let sy = inputs.int("sy");
            async move { Ok(Outputs::new().set("pair", serde_json::json!([fx?, sy?]))) }
        },
    );
    let flow = Flow::graph("pairs")
        .task(
            "fast",
            counted(&["x"], "fx", 0, Duration::from_millis(3), &fast),
        )
        .task(
            "slow",
            counted(&["y"], "sy", 0, Duration::from_millis(70), &slow),
        )
        .task("pair", pair);
    let plan = plan(
        Workflow::new(flow)
            .input("x", ValueType::Int)
            .input("y", ValueType::Int)
            .outputs(["pair"]),
    );
    let live = LiveFlow::builder(plan)
        .restart_delay(Duration::ZERO)
        .start([("x", 0i64), ("y", 0)])
        .unwrap();
    let mut pairs = live.subscribe("pair").unwrap();
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(update) = pairs.next().await {
            let pair = update.value.unwrap();
            let pair = pair.as_json().unwrap().clone();
            seen.push((
                update.revision,
                pair[0].as_i64().unwrap(),
                pair[1].as_i64().unwrap(),
            ));
            if pair[0] == 40 {
                break;
            }
        }
        seen
    });
    for k in 1..=40i64 {
        live.set_many([("x", k), ("y", k)]).unwrap();
        // Changes 5-95 ms apart: some solves finish, most are overtaken.
        tokio::time::sleep(Duration::from_millis(5 + (k as u64 * 37) % 90)).await;
    }
    let seen = reader.await.unwrap();
    assert!(seen.len() >= 3, "{seen:?}");
    for window in seen.windows(2) {
        assert!(window[0].0 < window[1].0, "revisions only grow: {seen:?}");
    }
    for &(revision, fx, sy) in &seen {
        assert_eq!(fx, sy, "revision {revision} mixed inputs");
    }
    assert_eq!(seen.last().unwrap().1, 40);
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_changes_runs_a_slow_task_at_most_three_times() {
    let slow = Calls::default();
    let flow = Flow::graph("burst").task(
        "slow",
        counted(&["x"], "y", 0, Duration::from_millis(300), &slow),
    );
    let plan = plan(
        Workflow::new(flow)
            .input("x", ValueType::Int)
            .outputs(["y"]),
    );
    let live = LiveFlow::builder(plan).start([("x", 0i64)]).unwrap();
    let mut y = live.subscribe("y").unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    for k in 1..=1000i64 {
        live.set("x", k).unwrap();
        if k % 10 == 0 {
            // The burst spreads over 100 ms of the slow task's 300.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let last = loop {
        let update = y.next().await.unwrap();
        if update.value.as_ref().unwrap().as_int() == Some(1000) {
            break update;
        }
    };
    assert_eq!(last.value.unwrap().as_int(), Some(1000));
    assert!(slow.get() <= 3, "the slow task ran {} times", slow.get());
    assert_eq!(live.settled().await.unwrap().revision, last.revision);
}

#[tokio::test(start_paused = true)]
async fn an_event_is_delivered_once_after_the_state_it_needs_is_clean() {
    let handled = Arc::new(std::sync::Mutex::new(Vec::new()));
    let handle = {
        let handled = handled.clone();
        FnTask::raw(
            ints(&["click", "scaled"]),
            ints(&["moved"]),
            move |_, inputs| {
                let click = inputs.int("click");
                let scaled = inputs.int("scaled");
                let handled = handled.clone();
                async move {
                    let (click, scaled) = (click?, scaled?);
                    handled.lock().unwrap().push((click, scaled));
                    Ok(Outputs::new().set("moved", click * scaled))
                }
            },
        )
    };
    let scale_calls = Calls::default();
    let flow = Flow::graph("events")
        .task(
            "scale",
            counted(
                &["scale"],
                "scaled",
                0,
                Duration::from_millis(50),
                &scale_calls,
            ),
        )
        .task("handle", handle);
    let plan = plan(
        Workflow::new(flow)
            .input("scale", ValueType::Int)
            .input("click", ValueType::Int)
            .outputs(["moved"]),
    );
    let live = LiveFlow::builder(plan)
        .event("click")
        .start([("scale", 2i64)])
        .unwrap();
    let mut moved = live.subscribe("moved").unwrap();
    live.settled().await.unwrap();
    live.set("click", 1i64).unwrap();
    live.settled().await.unwrap();
    // The new scale is being computed when the second click arrives: the click waits.
    live.set("scale", 3i64).unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    live.set("click", 2i64).unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(
        handled.lock().unwrap().len() == 1,
        "the click waits for the scale"
    );
    let mut values = Vec::new();
    for _ in 0..2 {
        values.push(moved.next().await.unwrap().value.unwrap().as_int().unwrap());
    }
    // Changing the state again does not deliver any click again.
    live.set("scale", 4i64).unwrap();
    live.settled().await.unwrap();
    assert!(moved.try_next().is_none());
    assert_eq!(values, [2, 6]);
    assert_eq!(*handled.lock().unwrap(), [(1, 2), (2, 3)]);
}

#[tokio::test(start_paused = true)]
async fn a_failure_is_a_value_and_the_flow_keeps_running() {
    let check = FnTask::raw(ints(&["x"]), ints(&["ok"]), |_, inputs| {
        let x = inputs.int("x");
        async move {
            let x = x?;
            if x < 0 {
                return Err(TaskError::permanent(format!("{x} is negative")));
            }
            Ok(Outputs::new().set("ok", x))
        }
    });
    let flow = Flow::graph("fails").task("check", check).task(
        "double",
        counted(&["ok"], "twice", 0, Duration::ZERO, &Calls::default()),
    );
    let plan = plan(
        Workflow::new(flow)
            .input("x", ValueType::Int)
            .outputs(["twice"]),
    );
    let live = LiveFlow::builder(plan).start([("x", 1i64)]).unwrap();
    live.set("x", -4i64).unwrap();
    let failed = live.settled().await.unwrap();
    let failure = failed.get("twice").unwrap().as_ref().unwrap_err();
    assert_eq!(failure.to_string(), "task `check` failed: -4 is negative");
    live.set("x", 5i64).unwrap();
    let fixed = live.settled().await.unwrap();
    assert_eq!(int(&fixed, "twice"), 5);
}

#[tokio::test(start_paused = true)]
async fn bad_calls_get_typed_errors() {
    let calls: [Calls; 4] = Default::default();
    let plan = diamond(&calls, Duration::ZERO);
    let missing = LiveFlow::builder(plan.clone())
        .start([("x", 1i64)])
        .unwrap_err();
    assert_eq!(
        missing.to_string(),
        "the flow needs input `y`, which was not given"
    );
    let live = LiveFlow::builder(plan)
        .start([("x", 1i64), ("y", 1)])
        .unwrap();
    assert_eq!(
        live.set("z", 1i64).unwrap_err().to_string(),
        "the flow takes no input named `z`"
    );
    assert!(
        live.set("x", "text")
            .unwrap_err()
            .to_string()
            .starts_with("input `x`:")
    );
    assert_eq!(
        live.subscribe("nope").unwrap_err().to_string(),
        "the flow has no output named `nope`"
    );
}

/// What executed, change by change, as salsa's tests log it.
#[tokio::test(start_paused = true)]
async fn the_activity_log_of_a_sequence_of_changes() {
    let calls: [Calls; 4] = Default::default();
    let mut builder = LiveFlow::builder(diamond(&calls, Duration::from_millis(5))).jobs(1);
    let mut activity = builder.activity();
    let live = builder.start([("x", 3i64), ("y", 5)]).unwrap();
    live.settled().await.unwrap();
    live.set("y", 6i64).unwrap();
    live.settled().await.unwrap();
    live.set("x", 13i64).unwrap();
    live.settled().await.unwrap();
    live.set_many([("x", 4i64), ("y", 7)]).unwrap();
    live.settled().await.unwrap();
    let mut lines = Vec::new();
    while let Ok(event) = activity.try_recv() {
        lines.push(format!("{event:?}"));
    }
    expect![[r#"
        Revision { revision: 1, inputs: ["x", "y"] }
        Started { revision: 1, task: "parity" }
        Finished { revision: 1, task: "parity", changed: true, failed: false }
        Started { revision: 1, task: "b" }
        Finished { revision: 1, task: "b", changed: true, failed: false }
        Started { revision: 1, task: "c" }
        Finished { revision: 1, task: "c", changed: true, failed: false }
        Published { revision: 1, output: "c" }
        Started { revision: 1, task: "d" }
        Finished { revision: 1, task: "d", changed: true, failed: false }
        Published { revision: 1, output: "d" }
        Settled { revision: 1 }
        Revision { revision: 2, inputs: ["y"] }
        Started { revision: 2, task: "b" }
        Finished { revision: 2, task: "b", changed: true, failed: false }
        Started { revision: 2, task: "d" }
        Finished { revision: 2, task: "d", changed: true, failed: false }
        Published { revision: 2, output: "d" }
        Settled { revision: 2 }
        Revision { revision: 3, inputs: ["x"] }
        Started { revision: 3, task: "parity" }
        Finished { revision: 3, task: "parity", changed: false, failed: false }
        Unchanged { revision: 3, task: "c" }
        Unchanged { revision: 3, task: "d" }
        Settled { revision: 3 }
        Revision { revision: 4, inputs: ["x", "y"] }
        Started { revision: 4, task: "parity" }
        Finished { revision: 4, task: "parity", changed: true, failed: false }
        Started { revision: 4, task: "b" }
        Finished { revision: 4, task: "b", changed: true, failed: false }
        Started { revision: 4, task: "c" }
        Finished { revision: 4, task: "c", changed: true, failed: false }
        Published { revision: 4, output: "c" }
        Started { revision: 4, task: "d" }
        Finished { revision: 4, task: "d", changed: true, failed: false }
        Published { revision: 4, output: "d" }
        Settled { revision: 4 }
    "#]]
    .assert_eq(&(lines.join("\n") + "\n"));
}

/// A stale command's process group is killed: its child (a `sleep` the shell started) too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_command_has_its_process_group_killed() {
    use plait_process::{CommandSpec, CommandTask};
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // Records the pid of its `sleep`, which only a group kill reaches, then waits.
    let script = format!(
        "sleep 60 & echo $! >> {pids}; wait; echo '{{\"y\": {{x}}}}'",
        pids = pids.display()
    );
    let command = CommandTask::new(CommandSpec {
        argv: vec!["sh".into(), "-c".into(), script],
        requires: ints(&["x"]),
        provides: ints(&["y"]),
        kill_grace: Duration::from_millis(200),
        ..CommandSpec::default()
    });
    let flow = Flow::graph("commands").add(
        plait_core::TaskNode::new("wait", command).isolation(plait_core::Isolation::Subprocess),
    );
    let plan = plan(
        Workflow::new(flow)
            .input("x", ValueType::Int)
            .outputs(["y"]),
    );
    let live = LiveFlow::builder(plan)
        .restart_delay(Duration::ZERO)
        .start([("x", 1i64)])
        .unwrap();
    let wait_for_lines = |n: usize| {
        let pids = pids.clone();
        async move {
            for _ in 0..2000 {
                let text = std::fs::read_to_string(&pids).unwrap_or_default();
                if text.lines().count() >= n {
                    return text;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            panic!("the command never started");
        }
    };
    let first = wait_for_lines(1).await;
    live.set("x", 2i64).unwrap();
    let second = wait_for_lines(2).await;
    let stale: i32 = first.trim().parse().unwrap();
    let mut gone = false;
    for _ in 0..2000 {
        let stat = std::fs::read_to_string(format!("/proc/{stale}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next());
        // Gone, or a zombie waiting for a reaper that never comes (pid 1 in a container).
        if stat.is_empty() || state == Some("Z") {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(gone, "the stale command's child {stale} still runs");
    assert_eq!(live.stats().cancelled, 1);
    // Clean up the second one by dropping the flow.
    let current: i32 = second.lines().nth(1).unwrap().trim().parse().unwrap();
    drop(live);
    for _ in 0..2000 {
        if std::fs::read_to_string(format!("/proc/{current}/stat"))
            .map(|stat| stat.contains(") Z"))
            .unwrap_or(true)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("dropping the flow left {current} running");
}

#[tokio::test(start_paused = true)]
async fn settled_right_after_start_waits_for_the_first_revision() {
    let calls: [Calls; 4] = Default::default();
    let live = LiveFlow::builder(diamond(&calls, Duration::from_millis(30)))
        .start([("x", 1i64), ("y", 1)])
        .unwrap();
    assert!(live.snapshot().is_none(), "nothing has settled yet");
    let first = live.settled().await.unwrap();
    assert_eq!((first.revision, int(&first, "d")), (1, 2 + 2));
    assert_eq!(live.settled_revision().await.unwrap(), 1);
}

/// `after` orders without data: the later task runs again when the earlier one's outputs
/// changed, and not when they came out the same.
#[tokio::test(start_paused = true)]
async fn an_ordering_edge_reruns_the_later_task_only_when_the_earlier_changed() {
    let first = Calls::default();
    let second = Calls::default();
    let parity = {
        let first = first.clone();
        FnTask::raw(ints(&["x"]), ints(&["p"]), move |_, inputs| {
            first.0.fetch_add(1, Ordering::SeqCst);
            let x = inputs.int("x");
            async move { Ok(Outputs::new().set("p", x? % 2)) }
        })
    };
    let flow = Flow::graph("ordered").task("first", parity).add(
        plait_core::TaskNode::new("second", counted(&["y"], "z", 0, Duration::ZERO, &second))
            .after(["first"]),
    );
    let plan = plan(
        Workflow::new(flow)
            .input("x", ValueType::Int)
            .input("y", ValueType::Int)
            .outputs(["p", "z"]),
    );
    let live = LiveFlow::builder(plan)
        .start([("x", 1i64), ("y", 0)])
        .unwrap();
    live.settled().await.unwrap();
    live.set("x", 3i64).unwrap();
    live.settled().await.unwrap();
    assert_eq!((first.get(), second.get()), (2, 1), "1 % 2 == 3 % 2");
    live.set("x", 4i64).unwrap();
    live.settled().await.unwrap();
    assert_eq!((first.get(), second.get()), (3, 2));
}

#[tokio::test(start_paused = true)]
async fn an_event_output_gives_every_value_in_order() {
    let flow = Flow::graph("echo").task(
        "double",
        counted(&["tick"], "doubled", 0, Duration::ZERO, &Calls::default()),
    );
    let plan = plan(
        Workflow::new(flow)
            .input("tick", ValueType::Int)
            .outputs(["doubled"]),
    );
    let live = LiveFlow::builder(plan)
        .event("tick")
        .start(Vec::<(&str, i64)>::new())
        .unwrap();
    let mut doubled = live.subscribe("doubled").unwrap();
    for tick in 1..=50i64 {
        live.set("tick", tick).unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..50 {
        seen.push(
            doubled
                .next()
                .await
                .unwrap()
                .value
                .unwrap()
                .as_int()
                .unwrap(),
        );
    }
    assert_eq!(
        seen,
        (1..=50).collect::<Vec<_>>(),
        "each tick once, in order"
    );
    live.settled().await.unwrap();
    assert!(doubled.try_next().is_none());
}

#[tokio::test(start_paused = true)]
async fn inputs_and_events_listed_as_outputs_are_published() {
    let flow = Flow::graph("pass").task(
        "count",
        counted(&["tick"], "counted", 0, Duration::ZERO, &Calls::default()),
    );
    let plan = plan(
        Workflow::new(flow)
            .input("tick", ValueType::Int)
            .input("label", ValueType::String)
            .outputs(["tick", "label", "counted"]),
    );
    let live = LiveFlow::builder(plan)
        .event("tick")
        .start([("label", "a")])
        .unwrap();
    let mut ticks = live.subscribe("tick").unwrap();
    let mut label = live.subscribe("label").unwrap();
    assert_eq!(
        label.next().await.unwrap().value.unwrap().as_str(),
        Some("a")
    );
    live.set("tick", 7i64).unwrap();
    live.set("label", "b").unwrap();
    assert_eq!(ticks.next().await.unwrap().value.unwrap().as_int(), Some(7));
    assert_eq!(
        label.next().await.unwrap().value.unwrap().as_str(),
        Some("b")
    );
    let snapshot = live.settled().await.unwrap();
    assert_eq!(int(&snapshot, "counted"), 7);
}

#[tokio::test(start_paused = true)]
async fn a_failing_event_task_delivers_its_failure_and_takes_the_next_event() {
    let check = FnTask::raw(ints(&["tick"]), ints(&["ok"]), |_, inputs| {
        let tick = inputs.int("tick");
        async move {
            let tick = tick?;
            if tick % 2 == 1 {
                return Err(TaskError::permanent(format!("{tick} is odd")));
            }
            Ok(Outputs::new().set("ok", tick))
        }
    });
    let flow = Flow::graph("events").task("check", check).task(
        "next",
        counted(&["ok"], "after", 1, Duration::ZERO, &Calls::default()),
    );
    let plan = plan(
        Workflow::new(flow)
            .input("tick", ValueType::Int)
            .outputs(["after"]),
    );
    let live = LiveFlow::builder(plan)
        .event("tick")
        .start(Vec::<(&str, i64)>::new())
        .unwrap();
    let mut after = live.subscribe("after").unwrap();
    for tick in [1i64, 2, 3] {
        live.set("tick", tick).unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(match after.next().await.unwrap().value {
            Ok(value) => value.as_int().unwrap().to_string(),
            Err(failure) => failure.to_string(),
        });
    }
    assert_eq!(
        seen,
        [
            "task `check` failed: 1 is odd",
            "3",
            "task `check` failed: 3 is odd"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn builder_mistakes_get_typed_errors() {
    let two = FnTask::raw(ints(&["a", "b"]), ints(&["c"]), |_, _| async {
        Ok(Outputs::new().set("c", 0i64))
    });
    let flow = Flow::graph("two").task("two", two);
    let plan = plan(
        Workflow::new(flow)
            .input("a", ValueType::Int)
            .input("b", ValueType::Int)
            .outputs(["c"]),
    );
    let several = LiveFlow::builder(plan.clone())
        .event("a")
        .event("b")
        .start(Vec::<(&str, i64)>::new())
        .unwrap_err();
    assert!(
        matches!(several, plait_engine::live::LiveError::SeveralEvents { .. }),
        "{several}"
    );
    let unknown = LiveFlow::builder(plan.clone())
        .event("nope")
        .start([("a", 1i64), ("b", 1)]);
    assert_eq!(
        unknown.unwrap_err().to_string(),
        "the flow takes no input named `nope`"
    );
    let initial = LiveFlow::builder(plan.clone())
        .event("a")
        .start([("a", 1i64), ("b", 1)]);
    assert!(matches!(
        initial.unwrap_err(),
        plait_engine::live::LiveError::EventHasNoInitialValue { .. }
    ));
    // A delay too long to add to an instant waits for ever, and does not break the flow.
    let calls: [Calls; 4] = Default::default();
    let live = LiveFlow::builder(diamond(&calls, Duration::from_secs(5)))
        .restart_delay(Duration::MAX)
        .start([("x", 1i64), ("y", 1)])
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    live.set("y", 2i64).unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(live.stats().cancelled, 1);
    assert_eq!(
        calls[2].get(),
        1,
        "b waits for the changes to pause, which they never do"
    );
    let mut c = live.subscribe("c").unwrap();
    assert_eq!(
        c.next().await.unwrap().value.unwrap().as_int(),
        Some(2),
        "the current value"
    );
    live.set("x", 5i64).unwrap();
    assert_eq!(c.next().await.unwrap().value.unwrap().as_int(), Some(6));
}

#[test]
fn a_live_flow_needs_a_runtime() {
    let calls: [Calls; 4] = Default::default();
    let outside = LiveFlow::builder(diamond(&calls, Duration::ZERO)).start([("x", 1i64), ("y", 1)]);
    assert!(matches!(
        outside.unwrap_err(),
        plait_engine::live::LiveError::NoRuntime
    ));
}

#[test]
fn subscriptions_end_and_settled_fails_once_the_runtime_is_gone() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let calls: [Calls; 4] = Default::default();
    let (live, mut d) = runtime.block_on(async {
        let live = LiveFlow::builder(diamond(&calls, Duration::from_secs(60)))
            .start([("x", 1i64), ("y", 1)])
            .unwrap();
        let d = live.subscribe("d").unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
        (live, d)
    });
    drop(runtime);
    let other = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(
        other.block_on(d.next()).is_none(),
        "the driver is gone: no value will come"
    );
    let settled = other.block_on(live.settled_revision());
    assert!(matches!(
        settled,
        Err(plait_engine::live::LiveError::Stopped)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_change_set_and_set_back_in_one_batch_is_no_change() {
    let calls: [Calls; 4] = Default::default();
    let live = LiveFlow::builder(diamond(&calls, Duration::ZERO))
        .start([("x", 1i64), ("y", 1)])
        .unwrap();
    live.settled().await.unwrap();
    live.set_many([("x", 5i64), ("x", 1)]).unwrap();
    let same = live.settled().await.unwrap();
    assert_eq!(same.revision, 1);
    assert_eq!(live.stats().revisions, 1);
}

/// `write` rewrites one path in place (a file, or a file in the directory it gives): "one"
/// at revision 1, new content at 2 ("three", of another size, so the hash memo's size and
/// modification time stamp tells even within one tick of the file system's clock), the same
/// at 3. `read` gives the size of what it finds there. The activity log of the three.
async fn activity_of_rewrites_in_place(as_directory: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let file = || vec![plait_core::Port::new("written", ValueType::File)];
    let write = FnTask::raw(ints(&["n"]), file(), move |_, inputs| {
        let n = inputs.int("n");
        let root = root.clone();
        async move {
            let text = if n? == 1 { "one" } else { "three" };
            let path = if as_directory {
                let tree = root.join("tree");
                std::fs::create_dir_all(&tree).unwrap();
                std::fs::write(tree.join("part"), text).unwrap();
                tree
            } else {
                let path = root.join("out");
                std::fs::write(&path, text).unwrap();
                path
            };
            Ok(Outputs::new().set("written", Value::file(path)))
        }
    });
    let read = FnTask::raw(file(), ints(&["size"]), |_, inputs| {
        let path = inputs.get("written").and_then(Value::as_path).unwrap();
        let size = if path.is_dir() {
            std::fs::read_dir(path)
                .unwrap()
                .map(|entry| entry.unwrap().metadata().unwrap().len())
                .sum()
        } else {
            std::fs::metadata(path).unwrap().len()
        };
        async move { Ok(Outputs::new().set("size", size as i64)) }
    });
    let flow = Flow::graph("rewrite")
        .task("write", write)
        .task("read", read);
    let plan = plan(
        Workflow::new(flow)
            .input("n", ValueType::Int)
            .outputs(["written", "size"]),
    );
    let mut builder = LiveFlow::builder(plan).jobs(1);
    let mut activity = builder.activity();
    let live = builder.start([("n", 1i64)]).unwrap();
    for n in [2i64, 3] {
        live.settled().await.unwrap();
        live.set("n", n).unwrap();
    }
    let last = live.settled().await.unwrap();
    assert_eq!(int(&last, "size"), 5);
    let mut lines = Vec::new();
    while let Ok(event) = activity.try_recv() {
        lines.push(format!("{event:?}"));
    }
    lines.join("\n") + "\n"
}

/// A task that rewrites its output file in place gives the same path each time: its
/// content says whether it changed. New content makes what reads it run again; the same
/// content stops the propagation there.
#[tokio::test]
async fn a_file_rewritten_in_place_is_compared_by_content() {
    expect![[r#"
        Revision { revision: 1, inputs: ["n"] }
        Started { revision: 1, task: "write" }
        Finished { revision: 1, task: "write", changed: true, failed: false }
        Published { revision: 1, output: "written" }
        Started { revision: 1, task: "read" }
        Finished { revision: 1, task: "read", changed: true, failed: false }
        Published { revision: 1, output: "size" }
        Settled { revision: 1 }
        Revision { revision: 2, inputs: ["n"] }
        Started { revision: 2, task: "write" }
        Finished { revision: 2, task: "write", changed: true, failed: false }
        Published { revision: 2, output: "written" }
        Started { revision: 2, task: "read" }
        Finished { revision: 2, task: "read", changed: true, failed: false }
        Published { revision: 2, output: "size" }
        Settled { revision: 2 }
        Revision { revision: 3, inputs: ["n"] }
        Started { revision: 3, task: "write" }
        Finished { revision: 3, task: "write", changed: false, failed: false }
        Unchanged { revision: 3, task: "read" }
        Settled { revision: 3 }
    "#]]
    .assert_eq(&activity_of_rewrites_in_place(false).await);
}

/// The same for a directory, hashed as a tree.
#[tokio::test]
async fn a_directory_rewritten_in_place_is_compared_by_content() {
    assert_eq!(
        activity_of_rewrites_in_place(true).await,
        activity_of_rewrites_in_place(false).await
    );
}

/// The driver does not read an input's file: setting one again, even to the same path, is
/// a change, and what reads it runs again.
#[tokio::test]
async fn a_file_input_set_again_is_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in");
    std::fs::write(&path, "one").unwrap();
    let calls = Calls::default();
    let read = {
        let calls = calls.clone();
        FnTask::raw(
            vec![plait_core::Port::new("source", ValueType::File)],
            ints(&["size"]),
            move |_, inputs| {
                calls.0.fetch_add(1, Ordering::SeqCst);
                let path = inputs.get("source").and_then(Value::as_path).unwrap();
                let size = std::fs::metadata(path).unwrap().len() as i64;
                async move { Ok(Outputs::new().set("size", size)) }
            },
        )
    };
    let plan = plan(
        Workflow::new(Flow::graph("read").task("read", read))
            .input("source", ValueType::File)
            .outputs(["size"]),
    );
    let live = LiveFlow::builder(plan)
        .start([("source", Value::file(&path))])
        .unwrap();
    assert_eq!(int(&live.settled().await.unwrap(), "size"), 3);
    std::fs::write(&path, "three").unwrap();
    live.set("source", Value::file(&path)).unwrap();
    let rewritten = live.settled().await.unwrap();
    assert_eq!((rewritten.revision, int(&rewritten, "size")), (2, 5));
    assert_eq!(calls.get(), 2);
}
