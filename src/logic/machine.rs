//! The supervisor's decisions, free of I/O: events in, actions out.
//!
//! The shell feeds every signal, child exit, spawn result and passed deadline
//! to [`Machine::handle`] with the current monotonic time and carries out the
//! [`Action`]s that [`Machine::poll_action`] hands out, in order, feeding the
//! outcome of a spawn or a reap back in as further events (quinn-proto's
//! `poll_*` shape: one owned, bounded queue).
//!
//! The restart policy lives here too: a slot that dies on its own waits
//! for its backoff as a deadline of the one wait, so an init with nothing
//! pending still never wakes up.

use heapless::{Deque, Vec};

use super::restart::{backoff_ms, count_death, Policy};
use super::signals::{bit, route, Route, SIGKILL, SIGTERM};
use super::slot::{PerSlot, Slot};

pub type Pid = i32;
/// Milliseconds on the monotonic clock.
pub type Millis = u64;

/// Code of a run whose program could not be found.
pub const NOT_FOUND: u8 = 127;
/// Code of a run whose program was found but could not be executed.
pub const NOT_EXECUTABLE: u8 = 126;

/// How a process ended, as `waitpid` tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

// `repr(u8)`: a tag byte of its own, not one hidden in `Ended`'s niche,
// which each match on an event would decode first (64 bytes on x86_64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Event {
    Signal(i32),
    /// `waitpid` returned this child, daemon or not.
    Reaped {
        pid: Pid,
        ended: Ended,
    },
    /// The init has no child left at all (`waitpid` said ECHILD);
    /// `others_left`: processes that are not its children still live
    /// (as PID 1: started by `docker exec`).
    NoChildren {
        others_left: bool,
    },
    /// The slot's child exists; it has not exec'd yet (`starting`).
    Spawned {
        slot: Slot,
        pid: Pid,
    },
    /// The slot's starting child has exec'd its program.
    Execed {
        slot: Slot,
    },
    /// The slot's program could not be started: at the spawn, or later
    /// from the starting child.
    SpawnFailed {
        slot: Slot,
        /// Negated when it was the switch to the slot's uid and gid that
        /// failed, not the exec (`sys::spawn`); the note says which.
        errno: i32,
    },
    /// The wait for the next deadline ran out.
    Deadline,
    /// A control client asks: `sig` [`REQUESTED`] restarts the slot by
    /// SIGUSR1's rules; any other signal goes to its daemon like SIGHUP.
    Requested {
        slot: Slot,
        sig: i32,
    },
}

/// The `sig` of an [`Event::Requested`] restart (no real signal is 0).
pub const REQUESTED: i32 = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Spawn(Slot),
    /// `kill(-pid, sig)`: the daemon's whole process group.
    SignalGroup {
        pid: Pid,
        sig: i32,
    },
    /// `kill(pid, sig)`: the daemon only.
    SignalProcess {
        pid: Pid,
        sig: i32,
    },
    /// `kill(-1, sig)`: every process in the container but the init.
    SignalAll(i32),
    /// `waitpid(-1, WNOHANG)` until nothing is left to reap.
    Reap,
    /// Read what is left in the slot's log pipes, its unfinished last line
    /// included: its run was reaped.
    DrainOutput(Slot),
    Log(Note),
    Exit(u8),
}

/// Why a restart request did not restart anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    ShuttingDown,
    NotSelected,
}

/// Everything the init says on stderr, as data; `report` renders it.
/// The restart policy's: `RestartScheduled` (the slot starts again in
/// `delay_ms`, after `deaths` quick deaths in a row), `Failed` (too many
/// quick deaths in a row: given up), `EssentialDown` (an essential slot is
/// down for good: the bundle shuts down); `RestartDropped` is a pending
/// restart, asked for or waiting for its delay, given up for a shutdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    Started {
        slot: Slot,
        pid: Pid,
    },
    CannotStart {
        slot: Slot,
        errno: i32,
        /// The run's exit code (126 or 127). Wider than a code needs: as a
        /// `u8` the compiler put it before `slot`, and the slot of every
        /// other note that has one is read from the byte after the tag
        /// (`report::named_slot`).
        code: u16,
    },
    Died {
        slot: Slot,
        pid: Pid,
        ended: Ended,
    },
    ShuttingDown {
        sig: i32,
        grace_ms: u32,
    },
    AlreadyShuttingDown {
        sig: i32,
    },
    Restarting {
        slot: Slot,
        pid: Option<Pid>,
        sig: i32,
    },
    RestartCoalesced {
        slot: Slot,
        sig: i32,
    },
    RestartSkipped {
        slot: Slot,
        sig: i32,
        why: Skip,
    },
    RestartDropped {
        slot: Slot,
    },
    RestartScheduled {
        slot: Slot,
        delay_ms: u32,
        deaths: u32,
    },
    Failed {
        slot: Slot,
        deaths: u32,
    },
    EssentialDown {
        slot: Slot,
        grace_ms: u32,
    },
    /// `sig` before `pid`: the compiler keeps the order of equal fields,
    /// and so `sig` lies where the other notes' signal does
    /// (`report::named_signal` reads it for all of them).
    Forwarded {
        slot: Slot,
        sig: i32,
        pid: Pid,
    },
    NotForwarded {
        slot: Slot,
        sig: i32,
    },
    GraceExpired {
        slot: Slot,
        pid: Pid,
    },
    IgnoredSignal {
        sig: i32,
    },
    AllDown,
    Sweeping {
        sig: i32,
    },
    Exiting {
        code: u8,
    },
    /// The action queue was full: `count` actions were lost (a bug).
    ActionsLost {
        count: u32,
    },
}

/// How often a sweep looks again for processes that are not the init's
/// children (their deaths are not told to it): the stop ends within this of
/// the last one's death. Only during a stop, and only while such a process
/// outlives its SIGTERM (the grace at most): an idle init never wakes. A
/// look is one `kill(-1, 0)` and one `wait4`; pidfds of the strays would
/// wake on the death itself but cost more code than the size budget has
/// room for (docs/DECISIONS.md).
pub const SWEEP_RECHECK_MS: Millis = 1;

/// Upper bound of actions one event can produce: per slot a signal, a note
/// and a spawn, plus a few global ones. The tests check it holds.
pub const MAX_ACTIONS: usize = 24;
pub type Actions = Vec<Action, MAX_ACTIONS>;

/// A daemon process, from its spawn on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    pid: Pid,
    started_at: Millis,
    /// It has exec'd its program; until then it is `starting`: not yet in
    /// a group of its own, and not to be sent anything but a stop.
    execed: bool,
    /// The init sent it SIGTERM, so dying of TERM or KILL (or 0, 143) is clean.
    terminated: bool,
    /// When to SIGKILL its group; cleared once sent.
    kill_at: Option<Millis>,
}

// `repr(u8)`: a tag byte of its own, which a match compares at once; left
// to the compiler, the tag hides in a niche of `Run` and each match first
// decodes it (96 bytes on x86_64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
enum Process {
    /// Not running, and while the bundle runs nothing will start it but a
    /// restart request: down for good (or never selected).
    #[default]
    Down,
    /// Down for good after too many quick deaths in a row.
    Failed,
    /// Down; the restart policy starts it again at `at`.
    Waiting {
        at: Millis,
    },
    /// Selected, to be spawned once no other slot is starting: start-up
    /// goes one slot at a time, in slot order.
    Queued,
    /// A spawn was asked of the shell; its result has not come back yet.
    Spawning,
    Up(Run),
}

impl Process {
    fn down_for_good(self) -> bool {
        matches!(self, Process::Down | Process::Failed)
    }

    /// Spawned (or being spawned), not exec'd yet.
    fn starting(self) -> bool {
        matches!(self, Process::Spawning | Process::Up(Run { execed: false, .. }))
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Record {
    selected: bool,
    process: Process,
    /// Start again as soon as the current run is reaped.
    restart_pending: bool,
    /// The code of the slot's last finished run, which is what counts for the exit code.
    last_code: Option<u8>,
    /// Quick deaths in a row (SPEC's `c`), counted for slots the policy restarts.
    quick_deaths: u32,
    /// Runs started after the first.
    restarts: u32,
    /// The pid of the slot's last run, for events after it is over.
    last_pid: Option<Pid>,
    /// Signals forwarded while the slot was starting (bit `sig - 1`): sent
    /// once its exec is confirmed, said as not forwarded if it never is.
    held: u64,
}

/// A slot's state as `status` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotState {
    Up,
    /// Spawned; the init has not yet learned that the exec succeeded.
    Starting,
    /// Told to stop (SIGTERM sent), not reaped yet.
    Stopping,
    /// Down until the restart policy starts it at `at`.
    Waiting {
        at: Millis,
    },
    Down,
    Failed,
}

/// A read-only view of one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotView {
    pub selected: bool,
    pub state: SlotState,
    pub pid: Option<Pid>,
    /// When the current run was started (monotonic ms).
    pub started_at: Option<Millis>,
    /// Runs started after the first, by the policy or on request.
    pub restarts: u32,
    /// Quick deaths in a row (the policy's `c`).
    pub quick_deaths: u32,
    /// The code of the last finished run, as it counts for the exit code.
    pub last_code: Option<u8>,
    /// The pid of the last run, over or not.
    pub last_pid: Option<Pid>,
}

/// The bundle as `status` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bundle {
    Running,
    Stopping,
    /// The daemons are down; processes left are told to go (or it exits).
    Sweeping,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Running,
    /// SIGTERM went to every daemon; SIGKILL follows at the deadline.
    Stopping {
        deadline: Millis,
    },
    /// Every daemon is reaped; SIGTERM went to every process left, SIGKILL
    /// follows at the deadline; exit when no process is left. Processes that
    /// are not our children send no SIGCHLD, so while they live the machine
    /// looks again at `recheck`.
    Sweeping {
        deadline: Millis,
        killed: bool,
        recheck: Option<Millis>,
    },
    Exited,
}

/// Where the init runs, which decides whether it sweeps the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// PID 1 of the container: everything left is its to end (`kill(-1)`).
    Pid1,
    /// A child subreaper under another init: `kill(-1)` would reach beyond
    /// the container, so no sweep.
    Subreaper,
}

/// How long after the stop's deadline the init still waits for its output's
/// readers before it exits (SPEC: at most one second).
pub const OUTPUT_PATIENCE_MS: Millis = 1000;

pub struct Machine {
    /// What the shell is to do next, in order.
    queue: ActionQueue,
    /// The deadline of the stop under way, kept after the exit for the
    /// output's patience.
    stop_deadline: Option<Millis>,
    slots: PerSlot<Record>,
    phase: Phase,
    grace_ms: u32,
    policy: Policy,
    /// PID 1 sweeps the container before exiting; a subreaper must not.
    sweep: bool,
    /// Bit n-1 set: signal n was already logged as ignored.
    ignored_logged: u64,
}

impl Machine {
    pub fn new(selected: PerSlot<bool>, grace_ms: u32, role: Role) -> Machine {
        Machine {
            slots: PerSlot::from_fn(|slot| Record { selected: *selected.get(slot), ..Record::default() }),
            phase: Phase::Running,
            queue: ActionQueue::new(),
            stop_deadline: None,
            grace_ms,
            policy: Policy::default(),
            sweep: role == Role::Pid1,
            ignored_logged: 0,
        }
    }

    /// The restart policy; without one no slot is restarted or essential.
    pub fn with_policy(mut self, policy: Policy) -> Machine {
        self.policy = policy;
        self
    }

    /// The next thing to do, in order; `None` when the machine waits for
    /// an event. A full queue, which the bounds should make impossible, is
    /// said first.
    pub fn poll_action(&mut self) -> Option<Action> {
        if self.queue.lost > 0 {
            let lost = core::mem::take(&mut self.queue.lost);
            return Some(Action::Log(Note::ActionsLost { count: lost }));
        }
        self.queue.actions.pop_front()
    }

    /// [`Machine::start`] or [`Machine::handle`], then every action it made,
    /// into `out`: the tests look at one event's actions at a time.
    #[cfg(test)]
    pub fn take_into(&mut self, out: &mut Actions) {
        while let Some(action) = self.poll_action() {
            assert!(out.push(action).is_ok(), "more than MAX_ACTIONS actions for one event");
        }
    }

    /// What `step` queued, left in the queue.
    #[cfg(test)]
    pub fn peek_new(&mut self, step: impl FnOnce(&mut Machine)) -> std::vec::Vec<Action> {
        let before = self.queue.pushed;
        step(self);
        let new = self.queue.pushed - before;
        let queued: std::vec::Vec<Action> = self.queue.actions.iter().copied().collect();
        queued[queued.len().saturating_sub(new)..].to_vec()
    }

    #[cfg(test)]
    pub fn queue_len(&self) -> usize {
        self.queue.actions.len()
    }

    /// Starts every selected slot, one after the other in slot order: the
    /// next is spawned once the one before has exec'd or failed.
    pub fn start(&mut self) {
        for &slot in &Slot::ALL {
            let state = self.record_mut(slot);
            if state.selected {
                state.process = Process::Queued;
            }
        }
        self.start_queued();
    }

    /// Queues `action`. A method of the machine, not only of the queue: its
    /// many callers hold the machine's address already, not the queue's.
    #[inline(never)]
    fn push(&mut self, action: Action) {
        self.queue.push(action);
    }

    /// Asks for a new run of a slot that had one before.
    fn respawn(&mut self, slot: Slot) {
        let state = self.record_mut(slot);
        state.process = Process::Spawning;
        state.restarts = state.restarts.saturating_add(1);
        self.push(Action::Spawn(slot));
    }

    /// SIGTERM to the group of the slot's run, if it has one, with SIGKILL
    /// due at `deadline`. A daemon already told to stop keeps its earlier
    /// deadline.
    fn terminate(&mut self, slot: Slot, deadline: Millis) {
        let Process::Up(run) = &mut self.record_mut(slot).process else { return };
        if run.terminated {
            run.kill_at = run.kill_at.map(|at| at.min(deadline));
            return;
        }
        run.terminated = true;
        run.kill_at = Some(deadline);
        let (pid, execed) = (run.pid, run.execed);
        self.push(Action::SignalGroup { pid, sig: SIGTERM });
        if !execed {
            // Its group may not exist yet (no setsid so far). Blocked until just
            // before its exec, the signal kills it there, at its default action;
            // if it exec'd already, its group had it too.
            self.push(Action::SignalProcess { pid, sig: SIGTERM });
        }
    }

    /// A slot's record. Look-ups are calls, never inlined: a call is smaller
    /// than the look-up's branches (on aarch64 LLVM would inline them), and
    /// one that takes the machine's address, which its callers hold, not the
    /// records'.
    #[inline(never)]
    fn record(&self, slot: Slot) -> &Record {
        self.slots.get(slot)
    }

    #[inline(never)]
    fn record_mut(&mut self, slot: Slot) -> &mut Record {
        self.slots.get_mut(slot)
    }

    /// Spawns the first queued slot when no slot is starting. Queued slots
    /// follow every other in slot order, so the first one that is either
    /// decides.
    fn start_queued(&mut self) {
        if !matches!(self.phase, Phase::Running) {
            return;
        }
        for &slot in &Slot::ALL {
            let state = self.record_mut(slot);
            if state.process.starting() {
                return;
            }
            if matches!(state.process, Process::Queued) {
                state.process = Process::Spawning;
                self.push(Action::Spawn(slot));
                return;
            }
        }
    }

    /// The slot whose current run is `pid`, if any.
    pub fn slot_of(&self, pid: Pid) -> Option<Slot> {
        self.run_of(pid).map(|(slot, _)| slot)
    }

    /// What `status` shows of a slot.
    pub fn slot_view(&self, slot: Slot) -> SlotView {
        let record = self.record(slot);
        let (state, run) = match record.process {
            Process::Down => (SlotState::Down, None),
            Process::Failed => (SlotState::Failed, None),
            Process::Waiting { at } => (SlotState::Waiting { at }, None),
            Process::Spawning | Process::Queued => (SlotState::Starting, None),
            Process::Up(run) if run.terminated => (SlotState::Stopping, Some(run)),
            Process::Up(run) if !run.execed => (SlotState::Starting, Some(run)),
            Process::Up(run) => (SlotState::Up, Some(run)),
        };
        SlotView {
            selected: record.selected,
            state,
            pid: run.map(|run| run.pid),
            started_at: run.map(|run| run.started_at),
            restarts: record.restarts,
            quick_deaths: record.quick_deaths,
            last_code: record.last_code,
            last_pid: record.last_pid,
        }
    }

    /// The pid of a slot's last run, over or not (events name it), without
    /// the rest of a [`SlotView`].
    pub fn last_pid(&self, slot: Slot) -> Option<Pid> {
        self.record(slot).last_pid
    }

    pub fn bundle(&self) -> Bundle {
        match self.phase {
            Phase::Running => Bundle::Running,
            Phase::Stopping { .. } => Bundle::Stopping,
            _ => Bundle::Sweeping,
        }
    }

    fn run_of(&self, pid: Pid) -> Option<(Slot, Run)> {
        for &slot in &Slot::ALL {
            match self.record(slot).process {
                Process::Up(run) if run.pid == pid => return Some((slot, run)),
                _ => {}
            }
        }
        None
    }

    /// The earliest moment the machine wants a [`Event::Deadline`], if any.
    pub fn next_deadline(&self) -> Option<Millis> {
        // `Millis::MAX`: none (no clock reaches it).
        let mut next = match self.phase {
            Phase::Sweeping { deadline, killed: false, recheck } => recheck.map_or(deadline, |at| at.min(deadline)),
            _ => Millis::MAX,
        };
        for &slot in &Slot::ALL {
            let at = match self.record(slot).process {
                Process::Up(Run { kill_at: Some(at), .. }) | Process::Waiting { at } => at,
                _ => Millis::MAX,
            };
            next = next.min(at);
        }
        (next != Millis::MAX).then_some(next)
    }

    /// When the init, exiting, stops waiting for its output's readers: one
    /// second after the stop's deadline (the shutdown's start plus the grace,
    /// or the sweep's), or after `now` plus the grace when no stop had begun.
    pub fn output_deadline(&self, now: Millis) -> Millis {
        let stop = self.stop_deadline.unwrap_or_else(|| now.saturating_add(u64::from(self.grace_ms)));
        stop.saturating_add(OUTPUT_PATIENCE_MS)
    }

    #[inline(never)]
    pub fn handle(&mut self, event: Event, now: Millis) {
        if matches!(self.phase, Phase::Exited) {
            return;
        }
        match event {
            Event::Signal(sig) => self.on_signal(sig, now),
            Event::Reaped { pid, ended } => self.on_reaped(pid, ended, now),
            Event::NoChildren { others_left } => self.on_no_children(others_left, now),
            Event::Spawned { slot, pid } => self.on_spawned(slot, pid, now),
            Event::Execed { slot } => {
                if let Process::Up(run) = &mut self.record_mut(slot).process {
                    if !run.execed {
                        run.execed = true;
                        let pid = run.pid;
                        self.push(Action::Log(Note::Started { slot, pid }));
                        self.release_held(slot, Some(pid));
                    }
                }
            }
            Event::SpawnFailed { slot, errno } => {
                if self.record(slot).process.starting() {
                    let code = start_failure_code(errno);
                    self.push(Action::Log(Note::CannotStart { slot, errno, code: code.into() }));
                    // A run that could not start counts as a quick death.
                    self.on_run_ended(slot, code, now, now);
                }
            }
            Event::Deadline => self.on_deadline(now),
            Event::Requested { slot, sig: REQUESTED } => self.restart(slot, REQUESTED, now),
            Event::Requested { slot, sig } => self.forward(slot, sig, false),
        }
        self.start_queued();
    }

    fn on_signal(&mut self, sig: i32, now: Millis) {
        match route(sig) {
            Route::Reap => self.push(Action::Reap),
            Route::Shutdown => self.shut_down(sig, now),
            Route::Restart(slot) => self.restart(slot, sig, now),
            Route::Forward(slot) => self.forward(slot, sig, true),
            Route::Ignore => {
                let bit = bit(sig);
                if bit == 0 || self.ignored_logged & bit == 0 {
                    self.ignored_logged |= bit;
                    self.push(Action::Log(Note::IgnoredSignal { sig }));
                }
            }
        }
    }

    fn shut_down(&mut self, sig: i32, now: Millis) {
        if !matches!(self.phase, Phase::Running) {
            self.push(Action::Log(Note::AlreadyShuttingDown { sig }));
            return;
        }
        self.push(Action::Log(Note::ShuttingDown { sig, grace_ms: self.grace_ms }));
        self.stop(now);
    }

    /// The shutdown: every pending restart dropped, SIGTERM to every daemon.
    fn stop(&mut self, now: Millis) {
        let deadline = now.saturating_add(u64::from(self.grace_ms));
        self.phase = Phase::Stopping { deadline };
        self.stop_deadline = Some(deadline);
        for &slot in &Slot::ALL {
            let state = self.record_mut(slot);
            let dropped = state.restart_pending || matches!(state.process, Process::Waiting { .. });
            state.restart_pending = false;
            if matches!(state.process, Process::Waiting { .. } | Process::Queued) {
                state.process = Process::Down;
            }
            let down = matches!(state.process, Process::Down);
            if dropped {
                self.push(Action::Log(Note::RestartDropped { slot }));
            }
            self.terminate(slot, deadline);
            if down {
                self.release_held(slot, None);
            }
        }
        self.end_when_all_down(now);
    }

    fn restart(&mut self, slot: Slot, sig: i32, now: Millis) {
        let grace = u64::from(self.grace_ms);
        let running = matches!(self.phase, Phase::Running);
        let state = self.record_mut(slot);
        let note = if !running {
            Note::RestartSkipped { slot, sig, why: Skip::ShuttingDown }
        } else if !state.selected {
            Note::RestartSkipped { slot, sig, why: Skip::NotSelected }
        } else if state.restart_pending || state.process.starting() || matches!(state.process, Process::Queued) {
            // A run on its way (starting, or queued at start-up) is the fresh start asked for.
            Note::RestartCoalesced { slot, sig }
        } else {
            // Asked for: a fresh start, whatever the runs before did.
            state.quick_deaths = 0;
            let pid = if let Process::Up(run) = state.process { Some(run.pid) } else { None };
            state.restart_pending = pid.is_some();
            Note::Restarting { slot, pid, sig }
        };
        // One push for the three answers; a fresh start follows its note.
        self.push(Action::Log(note));
        match note {
            Note::Restarting { pid: Some(_), .. } => self.terminate(slot, now.saturating_add(grace)),
            // Down, failed or waiting for its delay: at once.
            Note::Restarting { pid: None, .. } => self.respawn(slot),
            _ => {}
        }
    }

    /// `hold`: a signal of the container's (SIGHUP); a `signal` request
    /// (any of 64 signals, held each, would make one exec send them all, past
    /// the action queue) is refused for a starting slot, with its answer.
    fn forward(&mut self, slot: Slot, sig: i32, hold: bool) {
        let state = self.record_mut(slot);
        match state.process {
            Process::Up(run) if run.execed => self.send(slot, Some(run.pid), sig),
            // Not to a starting child: pending across its exec, the signal
            // would meet its default action (a SIGHUP kills). Held for the
            // exec instead, so that a reload sent while the daemon starts
            // (at the container's start, or during its restart) is not lost.
            Process::Up(_) | Process::Queued | Process::Spawning if hold => state.held |= bit(sig),
            _ => self.send(slot, None, sig),
        }
    }

    /// `sig` to the slot's daemon `pid`, or (`None`: it has none that may
    /// get it) said as not forwarded.
    fn send(&mut self, slot: Slot, pid: Option<Pid>, sig: i32) {
        let note = match pid {
            Some(pid) => {
                self.push(Action::SignalProcess { pid, sig });
                Note::Forwarded { slot, pid, sig }
            }
            None => Note::NotForwarded { slot, sig },
        };
        self.push(Action::Log(note));
    }

    /// The signals held for a starting slot: to `pid`, its exec confirmed;
    /// or (`None`: the run is over without one) said as not forwarded.
    fn release_held(&mut self, slot: Slot, pid: Option<Pid>) {
        let state = self.record_mut(slot);
        let mut held = core::mem::take(&mut state.held);
        while held != 0 {
            let sig = held.trailing_zeros().wrapping_add(1) as i32;
            held &= held.wrapping_sub(1);
            self.send(slot, pid, sig);
        }
    }

    fn on_spawned(&mut self, slot: Slot, pid: Pid, now: Millis) {
        let state = self.record_mut(slot);
        state.last_pid = Some(pid);
        state.process = Process::Up(Run { pid, started_at: now, execed: false, terminated: false, kill_at: None });
        if let Phase::Stopping { deadline } = self.phase {
            // Started while a stop was under way: it must not outlive it.
            self.terminate(slot, deadline);
        }
    }

    fn on_reaped(&mut self, pid: Pid, ended: Ended, now: Millis) {
        // Any other child is an orphan the container re-parented to us: reaped quietly.
        self.queue.forget_pid(pid);
        if let Some((slot, run)) = self.run_of(pid) {
            // What the daemon wrote before dying comes before its death note.
            self.push(Action::DrainOutput(slot));
            self.push(Action::Log(Note::Died { slot, pid, ended }));
            self.on_run_ended(slot, run_code(ended, run.terminated), run.started_at, now);
        }
    }

    /// A slot's run that began at `started_at` is over (reaped, or never
    /// started); record it and start the replacement when a restart request
    /// waits for it, or let the restart policy decide.
    fn on_run_ended(&mut self, slot: Slot, code: u8, started_at: Millis, now: Millis) {
        let running = matches!(self.phase, Phase::Running);
        let state = self.record_mut(slot);
        state.process = Process::Down;
        // A restart request waits for this run (only while running: a stop
        // drops them): the replaced run does not count towards the exit
        // code; the signals held for its exec are the next run's.
        let replaced = core::mem::take(&mut state.restart_pending);
        if replaced {
            self.respawn(slot);
        } else {
            state.last_code = Some(code);
            // Held for an exec that never came: said as not forwarded.
            self.release_held(slot, None);
            if running && *self.policy.restart.get(slot) {
                // Died on its own (the init's SIGTERMs come with a shutdown or a restart request).
                let policy = self.policy;
                let state = self.record_mut(slot);
                let deaths = count_death(state.quick_deaths, now.saturating_sub(started_at));
                state.quick_deaths = deaths;
                let note = if policy.exceeded(deaths) {
                    state.process = Process::Failed;
                    Note::Failed { slot, deaths }
                } else {
                    let delay_ms = backoff_ms(policy.delay_ms, deaths);
                    state.process = Process::Waiting { at: now.saturating_add(u64::from(delay_ms)) };
                    Note::RestartScheduled { slot, delay_ms, deaths }
                };
                self.push(Action::Log(note));
            }
            // The one place a slot (selected: it ran) becomes down for good while running.
            if running && *self.policy.essential.get(slot) && self.record(slot).process.down_for_good() {
                self.push(Action::Log(Note::EssentialDown { slot, grace_ms: self.grace_ms }));
                self.stop(now);
                return;
            }
        }
        self.end_when_all_down(now);
    }

    /// Moves on to the sweep once every slot is down for good, or every
    /// daemon is reaped after a shutdown.
    fn end_when_all_down(&mut self, now: Millis) {
        for &slot in &Slot::ALL {
            if !self.record(slot).process.down_for_good() {
                return;
            }
        }
        let deadline = match self.phase {
            Phase::Running => {
                self.push(Action::Log(Note::AllDown));
                now.saturating_add(u64::from(self.grace_ms))
            }
            Phase::Stopping { deadline } => deadline,
            Phase::Sweeping { .. } | Phase::Exited => return,
        };
        self.stop_deadline = Some(deadline);
        if self.sweep {
            self.sweep(deadline, SIGTERM);
        } else {
            self.exit();
        }
    }

    /// `sig` to every process left: the sweep's SIGTERM, or its SIGKILL at
    /// the deadline; then a reap.
    fn sweep(&mut self, deadline: Millis, sig: i32) {
        self.phase = Phase::Sweeping { deadline, killed: sig == SIGKILL, recheck: None };
        self.push(Action::Log(Note::Sweeping { sig }));
        self.push(Action::SignalAll(sig));
        self.push(Action::Reap);
    }

    fn on_no_children(&mut self, others_left: bool, now: Millis) {
        match self.phase {
            Phase::Sweeping { deadline, killed: false, .. } if others_left => {
                let recheck = Some(now.saturating_add(SWEEP_RECHECK_MS));
                self.phase = Phase::Sweeping { deadline, killed: false, recheck };
            }
            // After the SIGKILL nothing outlives the init's exit anyway.
            Phase::Sweeping { .. } => self.exit(),
            _ => {}
        }
    }

    fn on_deadline(&mut self, now: Millis) {
        for &slot in &Slot::ALL {
            let state = self.record_mut(slot);
            match &mut state.process {
                Process::Up(run) if run.kill_at.is_some_and(|at| at <= now) => {
                    run.kill_at = None;
                    let pid = run.pid;
                    self.push(Action::Log(Note::GraceExpired { slot, pid }));
                    self.push(Action::SignalGroup { pid, sig: SIGKILL });
                }
                // Only while running: a shutdown drops every waiting restart.
                Process::Waiting { at } if *at <= now => self.respawn(slot),
                _ => {}
            }
        }
        if let Phase::Sweeping { deadline, killed: false, recheck } = self.phase {
            if deadline <= now {
                self.sweep(deadline, SIGKILL);
            } else if recheck.is_some_and(|at| at <= now) {
                self.phase = Phase::Sweeping { deadline, killed: false, recheck: None };
                self.push(Action::Reap);
            }
        }
    }

    fn exit(&mut self) {
        let code = self.exit_code();
        self.phase = Phase::Exited;
        self.push(Action::Log(Note::Exiting { code }));
        self.push(Action::Exit(code));
    }

    /// The highest code among the selected slots' last runs (a slot that is
    /// not selected never runs: it has no code).
    pub fn exit_code(&self) -> u8 {
        let mut code = 0;
        for &slot in &Slot::ALL {
            code = code.max(self.record(slot).last_code.unwrap_or(0));
        }
        code
    }
}

/// The code of a run that could not start: 127 when its program was not
/// found (ENOENT, ENOTDIR, as a shell says), 126 for any other failure,
/// a failed uid/gid switch (a negative errno) included.
pub fn start_failure_code(errno: i32) -> u8 {
    if errno == libc::ENOENT || errno == libc::ENOTDIR {
        NOT_FOUND
    } else {
        NOT_EXECUTABLE
    }
}

/// The code a finished run contributes to the init's exit code.
pub fn run_code(ended: Ended, terminated_by_us: bool) -> u8 {
    match ended {
        Ended::Exited(status) => {
            let code = u8::try_from(status & 0xff).unwrap_or(u8::MAX);
            if terminated_by_us && (code == 0 || code == 143) {
                0
            } else {
                code
            }
        }
        Ended::Signaled(sig) => {
            if terminated_by_us && (sig == SIGTERM || sig == SIGKILL) {
                0
            } else {
                u8::try_from(sig).map_or(u8::MAX, |s| s.saturating_add(128))
            }
        }
    }
}

/// The machine's actions waiting for the shell, in order. Bounded: one
/// event makes at most [`MAX_ACTIONS`], and the shell takes every action
/// before it waits again (the model tests check the high-water mark stays
/// below [`QUEUE`]). Should it ever fill, what does not fit is counted and
/// [`Machine::poll_action`] says so first, loudly, as a note.
pub struct ActionQueue {
    actions: Deque<Action, QUEUE>,
    lost: u32,
    /// Actions ever queued: the tests tell one event's from the rest.
    #[cfg(test)]
    pushed: usize,
}

/// Capacity of the action queue: a reap of four daemons, their notes,
/// drains and respawns, and a sweep, with room to spare.
pub const QUEUE: usize = 64;

impl ActionQueue {
    const fn new() -> Self {
        ActionQueue {
            actions: Deque::new(),
            lost: 0,
            #[cfg(test)]
            pushed: 0,
        }
    }

    fn push(&mut self, action: Action) {
        #[cfg(test)]
        {
            self.pushed += 1;
        }
        if self.actions.push_back(action).is_err() {
            self.lost = self.lost.saturating_add(1);
        }
    }

    /// Drops the signals queued for the process `pid`: it was reaped, and a
    /// later process may get its number before they would be sent. Signals
    /// to its group stay: the number cannot be reused while the group has
    /// members, and those (a daemon's children) must still get them.
    fn forget_pid(&mut self, pid: Pid) {
        for _ in 0..self.actions.len() {
            if let Some(action) = self.actions.pop_front() {
                let stale = matches!(action, Action::SignalProcess { pid: p, .. } if p == pid);
                if !stale {
                    let _ = self.actions.push_back(action);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "restart_tests.rs"]
mod restart_tests;

#[cfg(test)]
#[path = "machine_model_tests.rs"]
mod model_tests;
