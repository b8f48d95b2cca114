//! A run's execution slots, numbered. With a store, more runners exist than `jobs` (they
//! wait on commits together); an attempt executes only while it holds one of the `jobs`
//! slots, and the record says which one, so a timeline can lay attempts out in lanes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::sync::lock;

pub(super) struct Slots {
    permits: Semaphore,
    /// The numbers no attempt holds; the lowest is handed out first, so a run that never
    /// fills its slots stays in the low lanes.
    free: Mutex<BinaryHeap<Reverse<u32>>>,
}

/// One slot, held while an attempt executes; dropping it frees the slot.
pub(super) struct Slot<'a> {
    pub(super) number: u32,
    slots: &'a Slots,
    _permit: SemaphorePermit<'a>,
}

impl Slots {
    pub(super) fn new(jobs: usize) -> Slots {
        let jobs = u32::try_from(jobs).unwrap_or(u32::MAX);
        Slots {
            permits: Semaphore::new(jobs as usize),
            free: Mutex::new((0..jobs).map(Reverse).collect()),
        }
    }

    pub(super) async fn acquire(&self) -> Slot<'_> {
        let permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let Reverse(number) = lock(&self.free).pop().expect("a permit is a free slot");
        Slot {
            number,
            slots: self,
            _permit: permit,
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        // Before the permit goes (fields drop after this body): whoever takes the permit
        // finds the number free.
        lock(&self.slots.free).push(Reverse(self.number));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_numbered_lowest_first_and_reused() {
        let slots = Slots::new(3);
        let a = slots.acquire().await;
        let b = slots.acquire().await;
        assert_eq!((a.number, b.number), (0, 1));
        drop(a);
        let c = slots.acquire().await;
        let d = slots.acquire().await;
        assert_eq!((c.number, d.number), (0, 2));
        assert!(
            slots.permits.try_acquire().is_err(),
            "three slots, three held"
        );
    }
}
