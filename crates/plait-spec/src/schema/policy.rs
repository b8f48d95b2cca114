//! Retry policies and the `[defaults]` table.

use std::time::Duration;

use plait_core::RetryPolicy;

use super::Reader;
use super::fields::Schema;
use crate::diagnostics::Problem;
use crate::syntax::{Node, Value};

const DEFAULTS: Schema = Schema {
    keys: &["retry", "timeout", "kill_grace"],
    note: None,
};

const RETRY: Schema = Schema {
    keys: &["attempts", "backoff", "max_backoff", "multiplier", "jitter"],
    note: None,
};

/// What `[defaults]` gives every command task that does not say otherwise.
#[derive(Clone, Debug, Default)]
pub(super) struct Defaults {
    /// The policy of tasks without `retry`, if `[defaults]` has one.
    pub(super) retry: Option<RetryPolicy>,
    pub(super) timeout: Option<Duration>,
    pub(super) kill_grace: Option<Duration>,
}

impl Defaults {
    /// Where the fields a `retry` leaves out come from.
    pub(super) fn retry_base(&self) -> RetryPolicy {
        self.retry.clone().unwrap_or_default()
    }
}

impl Reader {
    pub(super) fn defaults(&mut self, node: &Node) -> Defaults {
        let mut defaults = Defaults::default();
        let Some(entries) = self.table(node, "`defaults`") else {
            return defaults;
        };
        let fields = self.fields(entries, DEFAULTS, "`[defaults]`");
        if let Some(retry) = fields.node("retry") {
            defaults.retry = self.retry(retry, "`retry` in `[defaults]`", &RetryPolicy::default());
        }
        if let Some(timeout) = fields.node("timeout") {
            defaults.timeout = self.duration(timeout, "`timeout` in `[defaults]`");
        }
        if let Some(grace) = fields.node("kill_grace") {
            defaults.kill_grace = self.duration(grace, "`kill_grace` in `[defaults]`");
        }
        defaults
    }

    /// `retry = 3` (attempts) or a table; what it leaves out comes from `base`.
    pub(super) fn retry(
        &mut self,
        node: &Node,
        what: &str,
        base: &RetryPolicy,
    ) -> Option<RetryPolicy> {
        let mut policy = base.clone();
        if let Value::Int(_) = node.value {
            policy.attempts = self.attempts(node, what)?;
            return Some(policy);
        }
        let Some(entries) = node.as_table() else {
            self.bad_type(node, what, "a number of attempts or a table");
            return None;
        };
        let fields = self.fields(entries, RETRY, what);
        let mut ok = true;
        if let Some(node) = fields.node("attempts") {
            match self.attempts(node, &format!("`attempts` of {what}")) {
                Some(attempts) => policy.attempts = attempts,
                None => ok = false,
            }
        }
        for (key, slot) in [
            ("backoff", &mut policy.backoff),
            ("max_backoff", &mut policy.max_backoff),
        ] {
            if let Some(node) = fields.node(key) {
                match self.duration(node, &format!("`{key}` of {what}")) {
                    Some(duration) => *slot = duration,
                    None => ok = false,
                }
            }
        }
        if let Some(node) = fields.node("multiplier") {
            let what = format!("`multiplier` of {what}");
            match self.number(node, &what, 1.0..=1e6, "a number of at least 1") {
                Some(multiplier) => policy.multiplier = multiplier,
                None => ok = false,
            }
        }
        if let Some(node) = fields.node("jitter") {
            let what = format!("`jitter` of {what}");
            match self.number(node, &what, 0.0..=1.0, "a fraction from 0 to 1") {
                Some(jitter) => policy.jitter = jitter,
                None => ok = false,
            }
        }
        ok.then_some(policy)
    }

    fn attempts(&mut self, node: &Node, what: &str) -> Option<u32> {
        let Value::Int(attempts) = node.value else {
            self.bad_type(node, what, "a whole number of attempts");
            return None;
        };
        match u32::try_from(attempts) {
            Ok(attempts) if attempts >= 1 => Some(attempts),
            _ => {
                self.report(
                    Problem::error(
                        "bad-value",
                        node.span.clone(),
                        format!("{what} must be at least 1"),
                        "out of range",
                    )
                    .help("attempts count the first try too: 1 means no retry, 3 means up to two retries"),
                );
                None
            }
        }
    }
}
