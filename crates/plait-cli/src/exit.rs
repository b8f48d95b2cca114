//! Exit codes, the same for every command.

use plait_core::RunStatus;

pub(crate) const OK: u8 = 0;
/// The workflow ran and failed (whether or not it was reverted).
pub(crate) const FAILED: u8 = 1;
/// The file, an input or an argument is wrong: nothing ran.
pub(crate) const BAD_INPUT: u8 = 2;
/// The store cannot be used (not a store, damaged, read-only, cannot be created): nothing
/// ran. The same code as bad input: it is for the user to fix before anything can run.
pub(crate) const STORE_UNUSABLE: u8 = BAD_INPUT;
/// Stopped by Ctrl-C (128 + SIGINT).
pub(crate) const INTERRUPTED: u8 = 130;

pub(crate) fn for_status(status: RunStatus) -> u8 {
    match status {
        RunStatus::Succeeded => OK,
        RunStatus::Failed | RunStatus::Reverted | RunStatus::RevertFailed => FAILED,
        RunStatus::Cancelled => INTERRUPTED,
    }
}
