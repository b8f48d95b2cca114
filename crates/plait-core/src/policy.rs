//! How a task is run: retries, timeout, isolation.

use std::sync::Arc;
use std::time::Duration;

/// Where a task's `execute` runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Isolation {
    /// Polled on the async runtime: for code that awaits (I/O, timers, other services).
    #[default]
    Async,
    /// Driven on a dedicated blocking thread, so CPU-bound or blocking code never stalls the
    /// async threads. Cancellation reaches it only through [`crate::TaskContext::cancellation`].
    Blocking,
    /// Runs a child process (command tasks); the engine's cancellation kills its process group.
    Subprocess,
}

/// Retry with exponential backoff, jitter and a cap.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, the first included. `1` means no retry.
    pub attempts: u32,
    /// Delay before the second attempt.
    pub backoff: Duration,
    /// Each further delay is the previous one times this.
    pub multiplier: f64,
    /// No delay is longer than this.
    pub max_backoff: Duration,
    /// Up to this fraction of each delay is removed at random, so retries of many tasks that
    /// failed together do not arrive together.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 1,
            backoff: Duration::from_millis(100),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(30),
            jitter: 0.5,
        }
    }
}

impl RetryPolicy {
    /// `attempts` in total with the default backoff.
    pub fn attempts(attempts: u32) -> Self {
        RetryPolicy {
            attempts: attempts.max(1),
            ..RetryPolicy::default()
        }
    }

    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn with_max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// The delay after failed attempt number `attempt` (1-based), given a uniform random
    /// number in `[0, 1)`. Pure, so tests can pin the randomness.
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(63) as i32;
        let base = self.backoff.as_secs_f64() * self.multiplier.max(1.0).powi(exponent);
        let capped = base.min(self.max_backoff.as_secs_f64());
        let jittered = capped * (1.0 - self.jitter * random.clamp(0.0, 1.0));
        Duration::from_secs_f64(jittered.max(0.0))
    }
}

/// Everything the engine needs to know about how to run one task.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub retry: RetryPolicy,
    pub timeout: Option<Duration>,
    pub isolation: Isolation,
    /// Whether the engine may reuse an earlier result for the same inputs (when the run has a
    /// store to keep results in). Turn it off for a task with effects that must happen each
    /// run, or whose result depends on something that is not an input (the clock, a network).
    pub cache: bool,
    /// Part of the cache key: change it to invalidate earlier results when the task's
    /// behaviour changed in a way its [`crate::TaskCode`] does not show.
    pub version: Option<Arc<str>>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            retry: RetryPolicy::default(),
            timeout: None,
            isolation: Isolation::default(),
            cache: true,
            version: None,
        }
    }
}

/// Parses `"250ms"`, `"5s"`, `"1m 30s"`.
pub fn parse_duration(text: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(text)
}

/// Formats a duration the way [`parse_duration`] reads it.
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps() {
        let policy = RetryPolicy::attempts(10)
            .with_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(1));
        let delays: Vec<u128> = (1..=6).map(|n| policy.delay(n, 0.0).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn jitter_removes_at_most_its_fraction() {
        let policy = RetryPolicy::attempts(3).with_backoff(Duration::from_millis(100));
        assert_eq!(policy.delay(1, 0.999_999).as_millis(), 50);
        assert_eq!(policy.with_jitter(0.0).delay(1, 0.9).as_millis(), 100);
    }

    #[test]
    fn durations_read_as_written() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s 500ms");
    }
}
