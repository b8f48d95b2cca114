//! plait-process's integration tests: real subprocesses, run through `sh`.

mod auto_traits;
mod command;
mod kill;
mod process;
mod revert;
mod support;
