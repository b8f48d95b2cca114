//! The engine's integration tests: one binary (STYLE.md rule 11).

mod cache;
mod common;
mod deep;
mod dropped;
mod failure;
mod fanout;
mod lifecycle;
mod lists;
mod live;
mod live_oracle;
mod oracle;
mod output;
mod parallel;
mod resume;
mod script;
mod sharing;
mod spawn;
mod store;
mod subprocess;
mod transcripts;
