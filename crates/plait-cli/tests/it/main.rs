//! plait-cli's one integration-test binary (STYLE.md rule 11): the real `plait` binary, run on
//! real workflow files whose commands are real subprocesses. Each module is one area; what
//! they share (running plait, reading its `--json` report, watching processes) is in
//! `support.rs`.

mod bad_input;
mod cache;
mod check_and_graph;
mod completions;
mod crash;
mod examples;
mod explain;
mod failures;
mod fanout;
mod inputs;
mod interrupt;
mod json;
mod lists;
mod logs;
mod orphans;
mod output;
mod shell;
mod store;
mod support;
mod terminal;
