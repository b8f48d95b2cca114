//! Which of a run's store requests are durable.
//!
//! Runners stage their writes in one shared stage, and whichever commits first sends all of
//! it as one request: a runner's writes may go out in another runner's request. Requests are
//! numbered as they are sent, and a store commits them in that order, so "everything staged
//! before now is durable" is "every request up to the last one sent is answered". A runner
//! waits for that number, whoever sent the request.
//!
//! Every commit answers a request, and most find nobody waiting (the runner that sent it
//! awaits its own answer): an answer costs an atomic store and a check of the waiters'
//! count, and wakes anyone only when someone waits (a `watch` channel's wake-up took about
//! 550 instructions an answer).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::sync::lock;

#[derive(Default)]
pub(super) struct Durable {
    /// Every request numbered up to this one is durable.
    upto: AtomicU64,
    /// A request failed: the run is stopping, and later requests are not waited for.
    failed: AtomicBool,
    /// Requests answered before an earlier one was: their futures are awaited by different
    /// runners, which need not be polled in order.
    early: Mutex<BTreeSet<u64>>,
    /// Runners waiting for a request they did not send, and where they wait.
    waiting: AtomicUsize,
    answered: Notify,
}

impl Durable {
    /// Request `number` was answered: durable if `ok`.
    pub(super) fn answered(&self, number: u64, ok: bool) {
        if ok {
            let mut early = lock(&self.early);
            let mut upto = self.upto.load(Ordering::SeqCst);
            if number != upto + 1 {
                early.insert(number);
                return;
            }
            upto = number;
            while early.remove(&(upto + 1)) {
                upto += 1;
            }
            self.upto.store(upto, Ordering::SeqCst);
        } else {
            self.failed.store(true, Ordering::SeqCst);
        }
        // SeqCst with `wait`'s: either it sees the new state, or this sees it waiting.
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.answered.notify_waiters();
        }
    }

    /// Waits until every request up to `number` is durable; false if one failed first.
    pub(super) async fn wait(&self, number: u64) -> bool {
        if self.upto.load(Ordering::SeqCst) >= number {
            return true;
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let reached = loop {
            let answered = self.answered.notified();
            tokio::pin!(answered);
            // Registered before the state is read: an answer in between still wakes it.
            answered.as_mut().enable();
            if self.upto.load(Ordering::SeqCst) >= number {
                break true;
            }
            if self.failed.load(Ordering::SeqCst) {
                break false;
            }
            answered.await;
        };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn a_request_is_durable_once_every_earlier_one_is() {
        let durable = Durable::default();
        assert_eq!(
            durable.wait(0).now_or_never(),
            Some(true),
            "nothing sent yet"
        );
        durable.answered(2, true);
        assert_eq!(durable.wait(2).now_or_never(), None, "1 is not answered");
        durable.answered(1, true);
        assert_eq!(durable.wait(2).now_or_never(), Some(true));
        durable.answered(4, true);
        durable.answered(3, true);
        assert_eq!(durable.wait(4).now_or_never(), Some(true));
    }

    #[tokio::test]
    async fn a_waiter_wakes_when_its_request_is_answered() {
        let durable = std::sync::Arc::new(Durable::default());
        let waiter = tokio::spawn({
            let durable = durable.clone();
            async move { durable.wait(2).await }
        });
        tokio::task::yield_now().await;
        durable.answered(1, true);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "2 is not answered yet");
        durable.answered(2, true);
        assert!(waiter.await.unwrap());
    }

    #[tokio::test]
    async fn a_failed_request_wakes_every_later_waiter() {
        let durable = std::sync::Arc::new(Durable::default());
        let waiter = tokio::spawn({
            let durable = durable.clone();
            async move { durable.wait(2).await }
        });
        durable.answered(1, true);
        tokio::task::yield_now().await;
        durable.answered(2, false);
        assert!(!waiter.await.unwrap());
        assert!(durable.wait(1).await, "what was durable stays so");
    }
}
