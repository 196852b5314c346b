//! The process-wide budget of buffered bytes (`MemoryBudgetMiB`). Every object read whole
//! through the worker (up to `ResumableThreshold`) holds its length in the budget from before
//! its GET until its upload is answered, so all the objects in progress together never buffer
//! more than the budget, whatever `MaxParallelFile` is. Parts of larger objects are piped from
//! GET to UploadPart (see `pipe`) and need no budget.

use tokio::sync::{Semaphore, SemaphorePermit};

/// Budget accounting unit: a permit is one KiB (u32 permits then cover 4 TiB).
const UNIT_BYTES: u64 = 1024;

pub struct BufferBudget {
    units: Semaphore,
    capacity: u32,
}

impl BufferBudget {
    pub fn new(bytes: u64) -> Self {
        let capacity = u32::try_from(bytes.div_ceil(UNIT_BYTES)).unwrap_or(u32::MAX).max(1);
        Self { units: Semaphore::new(capacity as usize), capacity }
    }

    /// Waits until `bytes` fit, and holds them until the returned guard is dropped. A request
    /// larger than the whole budget takes all of it, so it waits its turn but never forever.
    pub async fn reserve(&self, bytes: u64) -> Option<SemaphorePermit<'_>> {
        let units = u32::try_from(bytes.div_ceil(UNIT_BYTES)).unwrap_or(u32::MAX).min(self.capacity);
        // The semaphore is never closed, so acquiring only ever waits.
        self.units.acquire_many(units).await.ok()
    }

    /// Bytes not reserved now.
    pub fn available(&self) -> u64 {
        self.units.available_permits() as u64 * UNIT_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_add_up_and_come_back() {
        let b = BufferBudget::new(10 * 1024);
        let first = b.reserve(4 * 1024).await;
        let second = b.reserve(4000).await;
        assert_eq!(b.available(), 2 * 1024, "4 KiB + 4000 bytes rounded up to 4 KiB");
        drop(first);
        assert_eq!(b.available(), 6 * 1024);
        drop(second);
        assert_eq!(b.available(), 10 * 1024);
    }

    #[tokio::test]
    async fn a_reservation_larger_than_the_budget_takes_all_of_it() {
        let b = BufferBudget::new(8 * 1024);
        let all = b.reserve(1 << 40).await;
        assert!(all.is_some());
        assert_eq!(b.available(), 0);
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), b.reserve(1)).await;
        assert!(waiting.is_err(), "nothing fits while the budget is taken");
        drop(all);
        assert!(b.reserve(1).await.is_some());
    }

    #[tokio::test]
    async fn empty_objects_reserve_nothing() {
        let b = BufferBudget::new(1024);
        let _held = b.reserve(1024).await;
        let zero = tokio::time::timeout(std::time::Duration::from_millis(50), b.reserve(0)).await;
        assert!(zero.is_ok(), "a 0-byte object never waits");
    }
}
