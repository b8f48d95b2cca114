//! Which of a run's store requests are durable.
//!
//! Runners stage their writes in one shared stage, and whichever commits first sends all of
//! it as one request: a runner's writes may go out in another runner's request. Requests are
//! numbered as they are sent, and a store commits them in that order, so "everything staged
//! before now is durable" is "every request up to the last one sent is answered". A runner
//! waits for that number, whoever sent the request.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tokio::sync::watch;

use crate::sync::lock;

pub(super) struct Durable {
    progress: watch::Sender<Progress>,
    /// Requests answered before an earlier one was: their futures are awaited by different
    /// runners, which need not be polled in order.
    early: Mutex<BTreeSet<u64>>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    /// Every request numbered up to this one is durable.
    upto: u64,
    /// A request failed: the run is stopping, and later requests are not waited for.
    failed: bool,
}

impl Durable {
    pub(super) fn new() -> Durable {
        Durable {
            progress: watch::Sender::new(Progress::default()),
            early: Mutex::new(BTreeSet::new()),
        }
    }

    /// Request `number` was answered: durable if `ok`.
    pub(super) fn answered(&self, number: u64, ok: bool) {
        if !ok {
            self.progress.send_modify(|progress| progress.failed = true);
            return;
        }
        let mut early = lock(&self.early);
        let mut upto = self.progress.borrow().upto;
        if number != upto + 1 {
            early.insert(number);
            return;
        }
        upto = number;
        while early.remove(&(upto + 1)) {
            upto += 1;
        }
        self.progress.send_modify(|progress| progress.upto = upto);
    }

    /// Waits until every request up to `number` is durable; false if one failed first.
    pub(super) async fn wait(&self, number: u64) -> bool {
        if self.progress.borrow().upto >= number {
            return true;
        }
        let mut progress = self.progress.subscribe();
        let reached = progress
            .wait_for(|progress| progress.upto >= number || progress.failed)
            .await;
        reached.is_ok_and(|progress| progress.upto >= number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn a_request_is_durable_once_every_earlier_one_is() {
        let durable = Durable::new();
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
    async fn a_failed_request_wakes_every_later_waiter() {
        let durable = std::sync::Arc::new(Durable::new());
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
