//! What the tests share: running the real `plait` binary on real files, reading what it
//! printed, and watching the processes it starts.

mod normalize;
mod process;
mod run;
mod scratch;

pub(crate) use normalize::normalize;
pub(crate) use process::{Running, SHORT, assert_gone, is_gone, read_pid, wait_until};
pub(crate) use run::{
    Output, Report, command, plait, plait_with_env, repo_root, run_example, run_example_with_env,
};
pub(crate) use scratch::{Scratch, copy_dir, list};
