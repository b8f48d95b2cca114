//! A run's execution slots, numbered. With a store, more runners exist than `jobs` (they
//! wait on commits together); an attempt executes only while it holds one of the `jobs`
//! slots, and the record says which one, so a timeline can lay attempts out in lanes.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::sync::lock;

pub(super) struct Slots {
    permits: Semaphore,
    numbers: Mutex<Numbers>,
}

/// The slots' numbers: `jobs` of them, and one more for each task waiting for its children
/// (it lends its slot, keeping its number: its attempt is still shown in its lane).
struct Numbers {
    /// The numbers no attempt holds; the lowest is handed out first, so a run that never
    /// fills its slots stays in the low lanes.
    free: BTreeSet<u32>,
    /// Every number, held or free.
    all: BTreeSet<u32>,
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
            numbers: Mutex::new(Numbers {
                free: (0..jobs).collect(),
                all: (0..jobs).collect(),
            }),
        }
    }

    /// One more slot while a task waits for its children, numbered with the lowest number
    /// not in use.
    pub(super) fn lend(&self) {
        let mut numbers = lock(&self.numbers);
        let number = (0..)
            .find(|n| !numbers.all.contains(n))
            .expect("fewer than u32::MAX slots");
        numbers.all.insert(number);
        numbers.free.insert(number);
        drop(numbers);
        self.permits.add_permits(1);
    }

    /// The lent slot is taken back once one is free: the highest free number goes, so the
    /// lanes stay low.
    pub(super) async fn reclaim(&self) {
        self.permits
            .acquire()
            .await
            .expect("the semaphore is never closed")
            .forget();
        let mut numbers = lock(&self.numbers);
        let number = numbers.free.pop_last().expect("a permit is a free slot");
        numbers.all.remove(&number);
    }

    pub(super) async fn acquire(&self) -> Slot<'_> {
        let permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let number = lock(&self.numbers)
            .free
            .pop_first()
            .expect("a permit is a free slot");
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
        lock(&self.slots.numbers).free.insert(self.number);
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

    #[tokio::test]
    async fn a_lent_slot_is_numbered_next_and_taken_back() {
        let slots = Slots::new(1);
        let parent = slots.acquire().await;
        slots.lend();
        let child = slots.acquire().await;
        assert_eq!((parent.number, child.number), (0, 1));
        drop(child);
        slots.reclaim().await;
        assert!(slots.permits.try_acquire().is_err(), "one slot, held");
        drop(parent);
        assert_eq!(slots.acquire().await.number, 0);
    }
}
