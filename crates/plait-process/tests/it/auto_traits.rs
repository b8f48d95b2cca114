//! Every public type can cross threads: the engine runs tasks on a multi-threaded pool.

use plait_process::{CommandSpec, CommandTask, ProcessError, ProcessOutcome, Subprocess};

fn assert_send_sync<T: Send + Sync>() {}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn public_types_are_send_and_sync() {
    assert_send_sync::<CommandSpec>();
    assert_send_sync::<CommandTask>();
    assert_send_sync::<Subprocess>();
    assert_send_sync::<ProcessOutcome>();
    assert_send_sync::<ProcessError>();
    assert_send(&Subprocess::new(["true"]).run());
}
