//! The decisions of `worker poll`, without I/O: when to receive and how many, how long to
//! wait, and when the queue may be empty. The loop in `poll.rs` does what [`Schedule::next`]
//! says and tells it what happened.

/// Most messages one ReceiveMessage returns (SQS limit).
pub const SQS_MAX_RECEIVE: usize = 10;
/// Messages received ahead of a free slot: they wait, kept invisible, so that a slot that frees
/// up starts its next object at once instead of paying a receive round trip.
pub const RECEIVED_AHEAD: usize = SQS_MAX_RECEIVE;

/// What the poll loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `--until-empty`, nothing running and the last receive found nothing: ask SQS whether
    /// the queue is empty (after our deletes are sent); stop if it is, else call
    /// [`Schedule::queue_not_empty`].
    CheckEmpty,
    /// No room for a whole batch: wait until a running message finishes.
    WaitForOne,
    /// Receive up to `max` messages, long-polling `wait_secs` seconds.
    Receive { max: usize, wait_secs: i32 },
    /// The last receive found nothing while messages run: wait until one finishes, or a
    /// second, before asking again.
    WaitForOneOrTick,
}

/// The poller's state between steps.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// `MaxParallelFile`: messages worked on at once.
    max_parallel: usize,
    until_empty: bool,
    /// Long-poll wait when nothing runs (0..=20 s).
    wait_secs: i32,
    /// The last receive returned no message.
    looked_empty: bool,
    /// The queue was found not empty since that receive.
    checked: bool,
    /// A receive came back empty while messages ran.
    tick: bool,
}

impl Schedule {
    pub fn new(max_parallel: usize, until_empty: bool, wait_secs: i32) -> Self {
        Self { max_parallel, until_empty, wait_secs, looked_empty: false, checked: false, tick: false }
    }

    /// The next step, with `running` messages received and not finished (working, or waiting
    /// for a slot).
    pub fn next(&mut self, running: usize) -> Step {
        if std::mem::take(&mut self.tick) && running > 0 {
            return Step::WaitForOneOrTick;
        }
        if self.until_empty && self.looked_empty && running == 0 && !self.checked {
            return Step::CheckEmpty;
        }
        // Whole batches only: SQS bills (and LocalStack answers) per request, and a receive
        // for one or two messages each time a slot frees up costs several times more.
        let room = (self.max_parallel + RECEIVED_AHEAD).saturating_sub(running);
        if room < SQS_MAX_RECEIVE {
            return Step::WaitForOne;
        }
        // While messages run, ask without waiting: an empty answer then waits for one of them
        // instead of holding a long poll past the end of the last one.
        let wait_secs = if running == 0 { self.wait_secs } else { 0 };
        Step::Receive { max: room.min(SQS_MAX_RECEIVE), wait_secs }
    }

    /// A receive returned `received` messages, with `running` messages (not counting them)
    /// still unfinished.
    pub fn received(&mut self, received: usize, running: usize) {
        self.looked_empty = received == 0;
        self.checked = false;
        self.tick = received == 0 && running > 0;
    }

    /// [`Step::CheckEmpty`] found messages (visible, in flight or delayed): receive again.
    pub fn queue_not_empty(&mut self) {
        self.checked = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receives_whole_batches_only() {
        let mut s = Schedule::new(8, false, 20);
        assert_eq!(s.next(0), Step::Receive { max: 10, wait_secs: 20 });
        // 8 slots + 10 ahead: room for a batch while 8 run, not while 9 do.
        assert_eq!(s.next(8), Step::Receive { max: 10, wait_secs: 0 });
        assert_eq!(s.next(9), Step::WaitForOne);
        assert_eq!(s.next(18), Step::WaitForOne);
        let mut one = Schedule::new(1, false, 20);
        assert_eq!(one.next(1), Step::Receive { max: 10, wait_secs: 0 });
        assert_eq!(one.next(2), Step::WaitForOne);
    }

    #[test]
    fn no_long_poll_while_messages_run() {
        let mut s = Schedule::new(4, false, 20);
        assert_eq!(s.next(0), Step::Receive { max: 10, wait_secs: 20 });
        assert_eq!(s.next(1), Step::Receive { max: 10, wait_secs: 0 });
        // Nothing came while one ran: wait for it (or a second), then ask again.
        s.received(0, 1);
        assert_eq!(s.next(1), Step::WaitForOneOrTick);
        assert_eq!(s.next(1), Step::Receive { max: 10, wait_secs: 0 });
        // Nothing came and nothing runs: a long poll.
        s.received(0, 0);
        assert_eq!(s.next(0), Step::Receive { max: 10, wait_secs: 20 });
    }

    #[test]
    fn until_empty_checks_the_queue_only_when_idle_after_an_empty_receive() {
        let mut s = Schedule::new(4, true, 1);
        assert_eq!(s.next(0), Step::Receive { max: 10, wait_secs: 1 }, "a first receive before any check");
        s.received(3, 0);
        assert_eq!(s.next(3), Step::Receive { max: 10, wait_secs: 0 });
        s.received(0, 3);
        assert_eq!(s.next(3), Step::WaitForOneOrTick);
        assert_eq!(s.next(2), Step::Receive { max: 10, wait_secs: 0 }, "still running: no check");
        s.received(0, 0);
        assert_eq!(s.next(0), Step::CheckEmpty);
        // Messages in flight elsewhere, or delayed: receive again, and check after that.
        s.queue_not_empty();
        assert_eq!(s.next(0), Step::Receive { max: 10, wait_secs: 1 });
        s.received(0, 0);
        assert_eq!(s.next(0), Step::CheckEmpty);
    }

    #[test]
    fn without_until_empty_the_queue_is_never_checked() {
        let mut s = Schedule::new(4, false, 20);
        s.received(0, 0);
        assert_eq!(s.next(0), Step::Receive { max: 10, wait_secs: 20 });
    }
}
