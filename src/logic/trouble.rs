//! What went wrong outside the supervisor's decisions, and degraded the
//! init: each kind is logged once, then the init goes on without it.

use heapless::Deque;

use super::routing::SinkId;
use super::slot::Slot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// A slot's log pipes could not be made: its daemon writes to the
    /// init's own stdout and stderr, without the `[slot]` prefix.
    Unprefixed { slot: Slot, errno: i32 },
    /// The init's stdout or stderr pipe could not be reopened non-blocking:
    /// it is written only when poll says a write fits.
    SharedOutput { sink: SinkId, errno: i32 },
    /// The reader of the init's stdout or stderr is gone.
    OutputGone { sink: SinkId, errno: i32 },
    /// A read from a log pipe failed.
    ReadFailed { errno: i32 },
    /// The wait point's poll failed: it watches what it may and looks at
    /// every pipe at least every [`DEGRADED_WAKE_MS`].
    PollFailed { errno: i32 },
    /// A fault signal sent by another process (not a fault of the init's).
    SentFault { sig: i32 },
    /// A spawn's report pipe could not be made: that run is taken as
    /// started at once, and a failed exec shows as an exit with code 127.
    NoReport { errno: i32 },
    /// The control socket could not listen, or was given up: the init
    /// runs on without control.
    NoControl { errno: i32 },
}

/// How often a degraded wait point looks at the pipes it cannot watch.
pub const DEGRADED_WAKE_MS: u64 = 100;

impl Trouble {
    /// One bit per kind and subject: what was logged once is not again.
    fn key(self) -> u32 {
        let bit = match self {
            Trouble::Unprefixed { slot, .. } => slot_index(slot),
            Trouble::SharedOutput { sink, .. } => sink_index(sink) | 4,
            Trouble::OutputGone { sink, .. } => sink_index(sink).wrapping_add(6),
            Trouble::ReadFailed { .. } => 8,
            Trouble::PollFailed { .. } => 9,
            Trouble::SentFault { sig } => u32::try_from(sig & 15).unwrap_or(0).wrapping_add(10),
            Trouble::NoReport { .. } => 26,
            Trouble::NoControl { .. } => 27,
        };
        // Every bit above is below 32: no check needed.
        1u32.wrapping_shl(bit)
    }
}

fn slot_index(slot: Slot) -> u32 {
    slot as u32
}

fn sink_index(sink: SinkId) -> u32 {
    match sink {
        SinkId::Stdout => 0,
        SinkId::Stderr => 1,
    }
}

/// Troubles waiting to be logged, each kind and subject once.
#[derive(Default)]
pub struct Troubles {
    told: u32,
    waiting: Deque<Trouble, 8>,
}

impl Troubles {
    pub fn new() -> Self {
        Troubles::default()
    }

    pub fn add(&mut self, trouble: Trouble) {
        let key = trouble.key();
        if self.told & key == 0 && self.waiting.push_back(trouble).is_ok() {
            self.told |= key;
        }
    }

    pub fn take(&mut self) -> Option<Trouble> {
        self.waiting.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_and_subject_is_told_once() {
        let mut troubles = Troubles::new();
        for _ in 0..3 {
            troubles.add(Trouble::PollFailed { errno: 22 });
            troubles.add(Trouble::Unprefixed { slot: Slot::Supervise, errno: 24 });
            troubles.add(Trouble::Unprefixed { slot: Slot::GitGate, errno: 24 });
            troubles.add(Trouble::SentFault { sig: 11 });
            troubles.add(Trouble::SentFault { sig: 7 });
        }
        let told: Vec<Trouble> = core::iter::from_fn(|| troubles.take()).collect();
        assert_eq!(
            told,
            [
                Trouble::PollFailed { errno: 22 },
                Trouble::Unprefixed { slot: Slot::Supervise, errno: 24 },
                Trouble::Unprefixed { slot: Slot::GitGate, errno: 24 },
                Trouble::SentFault { sig: 11 },
                Trouble::SentFault { sig: 7 },
            ]
        );
    }

    #[test]
    fn every_fault_signal_has_its_own_key() {
        let keys: Vec<u32> = [4, 5, 6, 7, 8, 11, 31].map(|sig| Trouble::SentFault { sig }.key()).to_vec();
        for (i, a) in keys.iter().enumerate() {
            assert_ne!(*a, 0);
            assert!(keys.iter().skip(i + 1).all(|b| b != a), "{keys:?}");
        }
    }
}
