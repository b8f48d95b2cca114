//! Where the engine reads the time for timestamps (STYLE.md rule 14), so tests can control it.
//! Timeouts and backoff use tokio's timers, which `tokio::time::pause` controls.

use std::time::{Duration, SystemTime};

/// A source of wall-clock timestamps for events and reports.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now(&self) -> SystemTime;
}

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that follows tokio's (pausable) time from a fixed origin, for reproducible
/// timestamps in tests that run with `start_paused = true`.
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    origin: SystemTime,
    start: tokio::time::Instant,
}

impl TokioClock {
    pub fn new(origin: SystemTime) -> Self {
        TokioClock {
            origin,
            start: tokio::time::Instant::now(),
        }
    }

    /// Starts at the Unix epoch.
    pub fn from_epoch() -> Self {
        TokioClock::new(SystemTime::UNIX_EPOCH)
    }
}

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        self.origin + (tokio::time::Instant::now() - self.start)
    }
}

/// Milliseconds since the Unix epoch, for compact output.
pub fn unix_millis(time: SystemTime) -> u128 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
}
