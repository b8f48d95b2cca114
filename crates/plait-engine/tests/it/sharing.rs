//! Values pass by reference count, and public types can cross threads.

use std::sync::Arc;

use plait_core::{
    Flow, FnTask, Native, Outputs, Port, RunStatus, Value, ValueType, Workflow, task_fn,
};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_value_reaches_every_consumer_without_a_copy() {
    let payload: Arc<Vec<u8>> = Arc::new(vec![7; 1 << 20]);
    let address = Arc::as_ptr(&payload) as usize;
    let produced = payload.clone();
    let bytes = ValueType::Native(plait_core::NativeType::of::<Vec<u8>>());
    let producer = FnTask::raw(vec![], vec![Port::new("blob", bytes)], move |_, _| {
        let value = Value::Native(plait_core::NativeType::of::<Vec<u8>>(), produced.clone());
        async move { Ok(Outputs::new().set("blob", value)) }
    });
    let same_allocation =
        move |blob: Native<Vec<u8>>| async move { Arc::as_ptr(&blob.0) as usize == address };
    let flow = Flow::graph("main")
        .task("produce", producer)
        .task("left", task_fn(["blob"], ["left_same"], same_allocation))
        .task("right", task_fn(["blob"], ["right_same"], same_allocation));
    let (report, _) = run_with(&plan(Workflow::new(flow)), vec![], 2).await;
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(report.output("left_same"), Some(&Value::Bool(true)));
    assert_eq!(report.output("right_same"), Some(&Value::Bool(true)));
}

fn is_send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    is_send_sync::<plait_engine::Engine>();
    is_send_sync::<plait_engine::RunReport>();
    is_send_sync::<plait_engine::Event>();
    is_send_sync::<plait_engine::EventLog>();
    is_send_sync::<plait_engine::RunOptions>();
    is_send_sync::<plait_core::Plan>();
    is_send_sync::<plait_core::Workflow>();
    is_send_sync::<plait_core::Value>();
    is_send_sync::<plait_core::TaskError>();
    is_send_sync::<plait_core::TaskContext>();
    is_send_sync::<plait_core::OutputStream>();
    is_send_sync::<plait_store::Output>();
    is_send_sync::<plait_store::OutputChunk>();
    is_send_sync::<plait_store::OutputInfo>();
    is_send_sync::<plait_engine::live::LiveFlow>();
    is_send_sync::<plait_engine::live::Subscription>();
    is_send_sync::<plait_engine::live::Snapshot>();
    is_send_sync::<plait_engine::live::Update>();
    is_send_sync::<plait_engine::live::LiveEvent>();
    is_send_sync::<plait_engine::live::LiveError>();
    is_send_sync::<plait_engine::live::LiveBuilder>();
}
