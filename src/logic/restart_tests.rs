//! SPEC's "Restart policy (opt-in)", the SIGRTMIN+1…+4 row and the Exit rule
//! for slots down for good, on the pure machine with simulated time.

use super::tests::{effects, notes, term, BY_TERM};
use super::*;
use crate::logic::restart::LONG_RUN_MS;
use crate::logic::signals::{SIGCHLD, SIGUSR1};

const GRACE: u32 = 8000;
const RT_EGRESS: i32 = 35;
const RT_PIPELOCK: i32 = 36;
const RT_GIT_GATE: i32 = 37;
const RT_SUPERVISE: i32 = 38;

fn slots(names: &[Slot]) -> PerSlot<bool> {
    PerSlot::from_fn(|slot| names.contains(&slot))
}

fn policy(restart: &[Slot], essential: &[Slot], delay_ms: u32, limit: u16) -> Policy {
    Policy { restart: slots(restart), essential: slots(essential), delay_ms, limit }
}

struct Harness {
    machine: Machine,
    now: Millis,
    next_pid: Pid,
}

impl Harness {
    /// `selected` spawned and running, as PID 1, under `policy`.
    fn up(selected: &[Slot], policy: Policy) -> Harness {
        let machine = Machine::new(slots(selected), GRACE, Role::Pid1).with_policy(policy);
        let mut harness = Harness { machine, now: 0, next_pid: 100 };
        let mut out = Actions::new();
        harness.machine.start();
        harness.machine.take_into(&mut out);
        // One slot at a time: the next spawn comes with the exec before it.
        while let Some(&Action::Spawn(slot)) = out.first() {
            out = harness.launched(slot).1;
            out.retain(|a| !matches!(a, Action::Log(_)));
        }
        assert!(out.is_empty(), "start-up gave {out:?}");
        harness
    }

    /// All four selected, the policy restarting all four.
    fn all_restarting(delay_ms: u32, limit: u16) -> Harness {
        Harness::up(&Slot::ALL, policy(&Slot::ALL, &[], delay_ms, limit))
    }

    fn feed(&mut self, event: Event) -> Actions {
        let out = super::tests::answer(&mut self.machine, event, self.now);
        assert!(out.len() < MAX_ACTIONS, "{event:?}: {} actions", out.len());
        out
    }

    /// The shell's answer to `Spawn(slot)`: a new process, which execs.
    fn spawned(&mut self, slot: Slot) -> Pid {
        self.launched(slot).0
    }

    /// [`Harness::spawned`], with what the exec's report made.
    fn launched(&mut self, slot: Slot) -> (Pid, Actions) {
        self.next_pid += 1;
        let pid = self.next_pid;
        let out = self.feed(Event::Spawned { slot, pid });
        assert!(notes(&out).is_empty(), "nothing said before the exec: {out:?}");
        let out = self.feed(Event::Execed { slot });
        assert_eq!(notes(&out).first(), Some(&Note::Started { slot, pid }));
        (pid, out)
    }

    fn pid(&self, slot: Slot) -> Pid {
        self.machine.slot_view(slot).pid.unwrap_or_else(|| panic!("{slot:?} has no pid"))
    }

    fn signal(&mut self, sig: i32) -> Actions {
        self.feed(Event::Signal(sig))
    }

    /// The slot's daemon exits with `status` on its own.
    fn dies(&mut self, slot: Slot, status: i32) -> Actions {
        let pid = self.pid(slot);
        self.feed(Event::Reaped { pid, ended: Ended::Exited(status) })
    }

    fn at(&mut self, now: Millis) -> &mut Self {
        self.now = now;
        self
    }

    fn state(&self, slot: Slot) -> SlotState {
        self.machine.slot_view(slot).state
    }

    /// Moves time to the next deadline and feeds it.
    fn next_deadline(&mut self) -> Actions {
        let at = self.machine.next_deadline().expect("a deadline");
        self.now = self.now.max(at);
        self.feed(Event::Deadline)
    }

    /// `slot` crashes at once (exit 1) and is restarted by the policy;
    /// returns the delay it was given.
    fn quick_crash_and_restart(&mut self, slot: Slot) -> Millis {
        let died_at = self.now;
        let out = self.dies(slot, 1);
        assert!(effects(&out).is_empty(), "no spawn before the delay: {out:?}");
        let SlotState::Waiting { at } = self.state(slot) else { panic!("{slot:?} not waiting: {out:?}") };
        assert_eq!(self.machine.next_deadline(), Some(at), "the waiting restart is the wait's deadline");
        let out = self.next_deadline();
        assert_eq!(effects(&out), [Action::Spawn(slot)]);
        self.spawned(slot);
        at - died_at
    }
}

// ---------------------------------------------------------------- backoff

#[test]
fn the_delay_sequence_is_500_1000_2000_and_so_on_capped_at_30_s() {
    let mut b = Harness::all_restarting(500, 0);
    let delays: std::vec::Vec<Millis> = (0..10).map(|_| b.quick_crash_and_restart(Slot::Pipelock)).collect();
    assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    let view = b.machine.slot_view(Slot::Pipelock);
    assert_eq!((view.quick_deaths, view.restarts, view.state), (10, 10, SlotState::Up));
}

#[test]
fn the_restart_note_gives_the_delay_and_the_count() {
    let mut b = Harness::all_restarting(500, 5);
    b.quick_crash_and_restart(Slot::GitGate);
    let out = b.dies(Slot::GitGate, 3);
    let pid = b.next_pid;
    assert_eq!(
        notes(&out),
        [
            Note::Died { slot: Slot::GitGate, pid, ended: Ended::Exited(3) },
            Note::RestartScheduled { slot: Slot::GitGate, delay_ms: 1000, deaths: 2 }
        ]
    );
}

#[test]
fn a_base_above_30_s_is_the_ceiling_and_the_largest_base_does_not_overflow() {
    let mut b = Harness::all_restarting(3_600_000, 0);
    for _ in 0..40 {
        assert_eq!(b.quick_crash_and_restart(Slot::Egress), 3_600_000);
    }
    let mut b = Harness::all_restarting(0, 0);
    for _ in 0..40 {
        assert_eq!(b.quick_crash_and_restart(Slot::Egress), 0, "base 0: at once, always");
    }
}

#[test]
fn a_run_of_10_s_resets_the_count() {
    let mut b = Harness::all_restarting(500, 0);
    for _ in 0..4 {
        b.quick_crash_and_restart(Slot::Supervise);
    }
    assert_eq!(b.machine.slot_view(Slot::Supervise).quick_deaths, 4);
    // The fifth run lives exactly 10 s: c = 1 again, and the base delay.
    let started = b.machine.slot_view(Slot::Supervise).started_at.expect("started");
    b.at(started + LONG_RUN_MS);
    assert_eq!(b.quick_crash_and_restart(Slot::Supervise), 500);
    assert_eq!(b.machine.slot_view(Slot::Supervise).quick_deaths, 1);
    // A run 1 ms short of 10 s is quick.
    let started = b.machine.slot_view(Slot::Supervise).started_at.expect("started");
    b.at(started + LONG_RUN_MS - 1);
    assert_eq!(b.quick_crash_and_restart(Slot::Supervise), 1000);
}

#[test]
fn each_slot_counts_its_own_quick_deaths() {
    let mut b = Harness::all_restarting(100, 0);
    b.quick_crash_and_restart(Slot::Egress);
    b.quick_crash_and_restart(Slot::Egress);
    assert_eq!(b.quick_crash_and_restart(Slot::Pipelock), 100);
    assert_eq!(b.quick_crash_and_restart(Slot::Egress), 400);
}

#[test]
fn several_waiting_restarts_are_one_deadline_each_earliest_first() {
    let mut b = Harness::all_restarting(500, 0);
    b.quick_crash_and_restart(Slot::GitGate); // c = 1 for git-gate: its next delay is 1000
    b.at(10_000).dies(Slot::GitGate, 1);
    b.at(10_200).dies(Slot::Egress, 1);
    assert_eq!(b.machine.next_deadline(), Some(10_700), "egress first: 200 + 500");
    assert_eq!(effects(&b.at(10_700).feed(Event::Deadline)), [Action::Spawn(Slot::Egress)]);
    assert_eq!(b.machine.next_deadline(), Some(11_000));
    assert!(effects(&b.at(10_999).feed(Event::Deadline)).is_empty(), "nothing before it is due");
    assert_eq!(effects(&b.at(11_000).feed(Event::Deadline)), [Action::Spawn(Slot::GitGate)]);
    assert_eq!(b.machine.next_deadline(), None, "nothing pending: no wake-up");
}

#[test]
fn a_late_deadline_starts_every_restart_that_is_due_in_slot_order() {
    let mut b = Harness::all_restarting(500, 0);
    b.at(100).dies(Slot::Supervise, 1);
    b.at(200).dies(Slot::Egress, 1);
    let out = b.at(5000).feed(Event::Deadline);
    assert_eq!(effects(&out), [Action::Spawn(Slot::Egress), Action::Spawn(Slot::Supervise)]);
}

// ---------------------------------------------------------------- limit, failed

#[test]
fn past_the_limit_the_slot_is_failed_logged_once_and_stays_down() {
    let mut b = Harness::all_restarting(500, 5);
    for _ in 0..5 {
        b.quick_crash_and_restart(Slot::Pipelock);
    }
    let pid = b.pid(Slot::Pipelock);
    let out = b.dies(Slot::Pipelock, 2);
    assert_eq!(
        notes(&out),
        [
            Note::Died { slot: Slot::Pipelock, pid, ended: Ended::Exited(2) },
            Note::Failed { slot: Slot::Pipelock, deaths: 6 }
        ]
    );
    assert!(effects(&out).is_empty());
    assert_eq!(b.state(Slot::Pipelock), SlotState::Failed);
    assert_eq!(b.machine.next_deadline(), None, "a failed slot is no deadline");
    // Time passes; nothing comes back and nothing more is logged.
    assert!(b.at(10_000_000).feed(Event::Deadline).is_empty());
    assert_eq!(b.machine.slot_view(Slot::Pipelock).last_code, Some(2));
    // Its failure counts for the exit code.
    b.signal(SIGTERM);
    for slot in [Slot::Egress, Slot::GitGate, Slot::Supervise] {
        let pid = b.pid(slot);
        b.feed(Event::Reaped { pid, ended: BY_TERM });
    }
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(2)]);
}

#[test]
fn a_limit_of_1_allows_one_quick_restart_and_0_allows_any_number() {
    let mut b = Harness::all_restarting(500, 1);
    b.quick_crash_and_restart(Slot::Egress);
    let out = b.dies(Slot::Egress, 1);
    assert!(notes(&out).contains(&Note::Failed { slot: Slot::Egress, deaths: 2 }));
    let mut b = Harness::all_restarting(500, 0);
    for _ in 0..1000 {
        b.quick_crash_and_restart(Slot::Egress);
    }
    assert_eq!(b.machine.slot_view(Slot::Egress).restarts, 1000);
}

#[test]
fn a_program_that_cannot_start_is_a_quick_death() {
    let mut b = Harness::all_restarting(100, 2);
    b.dies(Slot::Egress, 1);
    assert_eq!(effects(&b.next_deadline()), [Action::Spawn(Slot::Egress)]);
    let out = b.feed(Event::SpawnFailed { slot: Slot::Egress, errno: libc::ENOENT });
    assert_eq!(
        notes(&out),
        [
            Note::CannotStart { slot: Slot::Egress, errno: libc::ENOENT, code: NOT_FOUND.into() },
            Note::RestartScheduled { slot: Slot::Egress, delay_ms: 200, deaths: 2 }
        ]
    );
    b.next_deadline();
    let out = b.feed(Event::SpawnFailed { slot: Slot::Egress, errno: libc::EACCES });
    assert!(notes(&out).contains(&Note::Failed { slot: Slot::Egress, deaths: 3 }));
    assert_eq!(b.machine.slot_view(Slot::Egress).last_code, Some(NOT_EXECUTABLE));
}

#[test]
fn a_slot_not_in_restart_stays_down_and_a_slot_in_it_is_not_down() {
    let mut b = Harness::up(&Slot::ALL, policy(&[Slot::Pipelock], &[], 500, 5));
    let out = b.dies(Slot::Egress, 1);
    assert!(effects(&out).is_empty());
    assert_eq!(b.state(Slot::Egress), SlotState::Down);
    assert_eq!(b.machine.next_deadline(), None);
    b.dies(Slot::Pipelock, 1);
    assert_eq!(b.state(Slot::Pipelock), SlotState::Waiting { at: 500 });
}

#[test]
fn restart_naming_an_unselected_slot_does_nothing() {
    let b = Harness::up(&[Slot::Egress], policy(&[Slot::Pipelock], &[Slot::GitGate], 500, 5));
    assert_eq!(b.state(Slot::Pipelock), SlotState::Down);
    assert!(!b.machine.slot_view(Slot::Pipelock).selected);
    assert_eq!(b.machine.next_deadline(), None);
}

// ---------------------------------------------------------------- restart requests

#[test]
fn a_restart_request_starts_a_waiting_slot_at_once_and_resets_the_count() {
    let mut b = Harness::all_restarting(500, 5);
    b.quick_crash_and_restart(Slot::Pipelock);
    b.quick_crash_and_restart(Slot::Pipelock);
    let died = b.now + 100;
    b.at(died).dies(Slot::Pipelock, 1);
    assert_eq!(b.state(Slot::Pipelock), SlotState::Waiting { at: died + 2000 });
    let out = b.at(died + 1).signal(SIGUSR1);
    assert_eq!(effects(&out), [Action::Spawn(Slot::Pipelock)]);
    assert_eq!(notes(&out), [Note::Restarting { slot: Slot::Pipelock, pid: None, sig: SIGUSR1 }]);
    assert_eq!(b.machine.next_deadline(), None, "the waiting deadline is gone");
    assert_eq!(b.state(Slot::Pipelock), SlotState::Starting);
    assert!(b.at(died + 2000).feed(Event::Deadline).is_empty(), "no second start at the old deadline");
    b.spawned(Slot::Pipelock);
    assert_eq!(b.machine.slot_view(Slot::Pipelock).quick_deaths, 0);
    assert_eq!(b.quick_crash_and_restart(Slot::Pipelock), 500, "c = 0, so the next delay is the base");
}

#[test]
fn a_restart_request_brings_a_failed_slot_back_with_a_fresh_count() {
    let mut b = Harness::all_restarting(500, 1);
    b.quick_crash_and_restart(Slot::Supervise);
    b.dies(Slot::Supervise, 1);
    assert_eq!(b.state(Slot::Supervise), SlotState::Failed);
    let out = b.signal(RT_SUPERVISE);
    assert_eq!(effects(&out), [Action::Spawn(Slot::Supervise)]);
    b.spawned(Slot::Supervise);
    assert_eq!(b.machine.slot_view(Slot::Supervise).quick_deaths, 0);
    // Again a quick restart before it fails.
    b.quick_crash_and_restart(Slot::Supervise);
    assert!(notes(&b.dies(Slot::Supervise, 1)).contains(&Note::Failed { slot: Slot::Supervise, deaths: 2 }));
}

#[test]
fn a_restart_request_for_a_running_slot_replaces_it_without_counting_a_death() {
    let mut b = Harness::all_restarting(500, 5);
    b.quick_crash_and_restart(Slot::GitGate);
    let old = b.pid(Slot::GitGate);
    let out = b.at(1000).signal(RT_GIT_GATE);
    assert_eq!(effects(&out), [term(old)]);
    assert_eq!(b.state(Slot::GitGate), SlotState::Stopping);
    let out = b.feed(Event::Reaped { pid: old, ended: BY_TERM });
    assert_eq!(effects(&out), [Action::Spawn(Slot::GitGate)], "at once, no delay");
    let view = b.machine.slot_view(Slot::GitGate);
    assert_eq!((view.quick_deaths, view.restarts), (0, 2));
}

#[test]
fn rtmin_1_to_4_restart_their_own_slot_only() {
    for (sig, slot) in [RT_EGRESS, RT_PIPELOCK, RT_GIT_GATE, RT_SUPERVISE].into_iter().zip(Slot::ALL) {
        let mut b = Harness::up(&Slot::ALL, Policy::default());
        let pid = b.pid(slot);
        let out = b.signal(sig);
        assert_eq!(effects(&out), [term(pid)], "signal {sig}");
        assert_eq!(notes(&out), [Note::Restarting { slot, pid: Some(pid), sig }]);
        assert_eq!(effects(&b.feed(Event::Reaped { pid, ended: BY_TERM })), [Action::Spawn(slot)]);
        let new = b.spawned(slot);
        // Every other slot: same pid, never signalled.
        for other in Slot::ALL.into_iter().filter(|&s| s != slot) {
            assert_eq!(b.state(other), SlotState::Up);
            assert_eq!(b.machine.slot_view(other).restarts, 0);
        }
        assert_eq!(b.machine.slot_view(slot).pid, Some(new));
    }
}

#[test]
fn sigusr1_and_rtmin_2_for_pipelock_coalesce_into_one_restart() {
    let mut b = Harness::up(&Slot::ALL, Policy::default());
    let old = b.pid(Slot::Pipelock);
    assert_eq!(effects(&b.signal(SIGUSR1)), [term(old)]);
    let out = b.signal(RT_PIPELOCK);
    assert_eq!(out.as_slice(), [Action::Log(Note::RestartCoalesced { slot: Slot::Pipelock, sig: RT_PIPELOCK })]);
    assert!(effects(&b.signal(SIGUSR1)).is_empty());
    assert_eq!(effects(&b.feed(Event::Reaped { pid: old, ended: BY_TERM })), [Action::Spawn(Slot::Pipelock)]);
    // Still starting: one more of either coalesces.
    assert!(effects(&b.signal(RT_PIPELOCK)).is_empty());
    b.spawned(Slot::Pipelock);
    assert_eq!(b.machine.slot_view(Slot::Pipelock).restarts, 1, "one restart");
    // The restart is complete: the next request is a new restart.
    let new = b.pid(Slot::Pipelock);
    assert_eq!(effects(&b.signal(RT_PIPELOCK)), [term(new)]);
}

#[test]
fn requests_for_a_waiting_slot_coalesce_after_the_first() {
    let mut b = Harness::all_restarting(500, 5);
    b.dies(Slot::Pipelock, 1);
    assert_eq!(effects(&b.signal(RT_PIPELOCK)), [Action::Spawn(Slot::Pipelock)]);
    assert!(effects(&b.signal(SIGUSR1)).is_empty());
    assert!(effects(&b.at(600).feed(Event::Deadline)).is_empty());
    b.spawned(Slot::Pipelock);
    assert_eq!(b.machine.slot_view(Slot::Pipelock).restarts, 1);
}

#[test]
fn a_request_for_an_unselected_slot_is_skipped() {
    let mut b = Harness::up(&[Slot::Egress], policy(&Slot::ALL, &[], 500, 5));
    let out = b.signal(RT_SUPERVISE);
    assert_eq!(
        out.as_slice(),
        [Action::Log(Note::RestartSkipped { slot: Slot::Supervise, sig: RT_SUPERVISE, why: Skip::NotSelected })]
    );
}

// ---------------------------------------------------------------- shutdown

#[test]
fn a_shutdown_drops_waiting_restarts_and_the_dead_runs_code_counts() {
    let mut b = Harness::all_restarting(500, 5);
    b.at(0).dies(Slot::Egress, 4);
    b.at(100).dies(Slot::GitGate, 1);
    assert_eq!(b.machine.next_deadline(), Some(500));
    let out = b.at(200).signal(SIGTERM);
    let dropped: std::vec::Vec<Note> =
        notes(&out).into_iter().filter(|n| matches!(n, Note::RestartDropped { .. })).collect();
    assert_eq!(dropped, [Note::RestartDropped { slot: Slot::Egress }, Note::RestartDropped { slot: Slot::GitGate }]);
    assert_eq!(b.state(Slot::Egress), SlotState::Down);
    assert_eq!(b.machine.next_deadline(), Some(8200), "only the stop's deadline");
    assert!(effects(&b.at(500).feed(Event::Deadline)).is_empty(), "no restart at the old deadline");
    let (pipelock, supervise) = (b.pid(Slot::Pipelock), b.pid(Slot::Supervise));
    b.feed(Event::Reaped { pid: pipelock, ended: BY_TERM });
    let out = b.feed(Event::Reaped { pid: supervise, ended: BY_TERM });
    assert_eq!(effects(&out), [Action::SignalAll(SIGTERM), Action::Reap]);
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(4)]);
}

#[test]
fn a_death_during_the_shutdown_is_not_restarted() {
    let mut b = Harness::all_restarting(500, 5);
    b.signal(SIGTERM);
    let out = b.dies(Slot::Egress, 1);
    assert!(effects(&out).is_empty());
    assert!(!notes(&out).iter().any(|n| matches!(n, Note::RestartScheduled { .. })));
    assert_eq!(b.state(Slot::Egress), SlotState::Down);
}

// ---------------------------------------------------------------- essential

#[test]
fn an_essential_slot_that_dies_without_restart_shuts_the_bundle_down_with_its_code() {
    let mut b = Harness::up(&Slot::ALL, policy(&[], &[Slot::GitGate], 500, 5));
    let git_gate = b.pid(Slot::GitGate);
    let out = b.at(1000).dies(Slot::GitGate, 3);
    assert_eq!(
        notes(&out),
        [
            Note::Died { slot: Slot::GitGate, pid: git_gate, ended: Ended::Exited(3) },
            Note::EssentialDown { slot: Slot::GitGate, grace_ms: GRACE }
        ]
    );
    let others: std::vec::Vec<Pid> = [Slot::Egress, Slot::Pipelock, Slot::Supervise].map(|s| b.pid(s)).to_vec();
    assert_eq!(effects(&out), others.iter().map(|&pid| term(pid)).collect::<std::vec::Vec<_>>());
    assert_eq!(b.machine.next_deadline(), Some(9000), "the shutdown's grace");
    assert!(notes(&b.signal(SIGTERM)).contains(&Note::AlreadyShuttingDown { sig: SIGTERM }));
    for pid in others {
        b.feed(Event::Reaped { pid, ended: BY_TERM });
    }
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(3)]);
}

#[test]
fn an_essential_slot_that_exits_0_on_its_own_still_shuts_down_with_0() {
    let mut b = Harness::up(&[Slot::Egress, Slot::Pipelock], policy(&[], &[Slot::Egress], 500, 5));
    let out = b.dies(Slot::Egress, 0);
    assert!(notes(&out).contains(&Note::EssentialDown { slot: Slot::Egress, grace_ms: GRACE }));
    let pipelock = b.pid(Slot::Pipelock);
    b.feed(Event::Reaped { pid: pipelock, ended: BY_TERM });
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(0)]);
}

#[test]
fn an_essential_slot_with_restart_comes_back_until_it_fails_then_shuts_down() {
    let mut b = Harness::up(&Slot::ALL, policy(&[Slot::Egress], &[Slot::Egress], 100, 2));
    for _ in 0..2 {
        b.quick_crash_and_restart(Slot::Egress);
        assert!(!b.machine.slot_view(Slot::Pipelock).state.eq(&SlotState::Stopping), "no shutdown yet");
    }
    let out = b.dies(Slot::Egress, 7);
    let notes = notes(&out);
    assert!(notes.contains(&Note::Failed { slot: Slot::Egress, deaths: 3 }));
    assert!(notes.contains(&Note::EssentialDown { slot: Slot::Egress, grace_ms: GRACE }));
    assert_eq!(effects(&out).len(), 3, "SIGTERM to the three others: {out:?}");
    for slot in [Slot::Pipelock, Slot::GitGate, Slot::Supervise] {
        let pid = b.pid(slot);
        b.feed(Event::Reaped { pid, ended: BY_TERM });
    }
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(7)]);
}

#[test]
fn an_essential_slot_with_restart_and_no_limit_never_takes_the_bundle_down() {
    let mut b = Harness::up(&Slot::ALL, policy(&[Slot::Egress], &[Slot::Egress], 100, 0));
    for _ in 0..50 {
        b.quick_crash_and_restart(Slot::Egress);
    }
    assert_eq!(b.state(Slot::Pipelock), SlotState::Up);
}

#[test]
fn an_essential_slot_that_cannot_start_shuts_down_at_once() {
    let mut machine =
        Machine::new(slots(&Slot::ALL), GRACE, Role::Pid1).with_policy(policy(&[], &[Slot::Egress], 500, 5));
    let mut out = Actions::new();
    machine.start();
    machine.take_into(&mut out);
    let mut after = Actions::new();
    machine.handle(Event::SpawnFailed { slot: Slot::Egress, errno: libc::ENOENT }, 0);
    machine.take_into(&mut after);
    assert!(notes(&after).contains(&Note::EssentialDown { slot: Slot::Egress, grace_ms: GRACE }));
    // The others were still queued behind egress: none is started.
    assert!(!after.iter().any(|a| matches!(a, Action::Spawn(_))), "{after:?}");
    assert_eq!(machine.exit_code(), NOT_FOUND);
}

#[test]
fn a_restart_requested_for_an_essential_slot_is_no_shutdown() {
    let mut b = Harness::up(&Slot::ALL, policy(&[], &[Slot::Pipelock], 500, 5));
    let old = b.pid(Slot::Pipelock);
    b.signal(SIGUSR1);
    let out = b.feed(Event::Reaped { pid: old, ended: BY_TERM });
    assert_eq!(effects(&out), [Action::Spawn(Slot::Pipelock)]);
    // A replacement that cannot start is down for good, though.
    let out = b.feed(Event::SpawnFailed { slot: Slot::Pipelock, errno: libc::ENOENT });
    assert!(notes(&out).contains(&Note::EssentialDown { slot: Slot::Pipelock, grace_ms: GRACE }));
}

#[test]
fn an_unselected_essential_slot_does_nothing() {
    let mut b = Harness::up(&[Slot::Egress, Slot::Pipelock], policy(&[], &[Slot::Supervise], 500, 5));
    let out = b.dies(Slot::Egress, 1);
    assert!(!notes(&out).iter().any(|n| matches!(n, Note::EssentialDown { .. })));
    assert_eq!(b.state(Slot::Pipelock), SlotState::Up);
}

// ---------------------------------------------------------------- exit rule, wake-ups

#[test]
fn no_exit_while_a_restart_waits_even_with_every_daemon_dead() {
    let mut b = Harness::up(&[Slot::Egress, Slot::Pipelock], policy(&[Slot::Pipelock], &[], 500, 5));
    b.at(0).dies(Slot::Egress, 1);
    let out = b.at(10).dies(Slot::Pipelock, 1);
    assert!(!notes(&out).contains(&Note::AllDown), "pipelock is waiting: {out:?}");
    assert!(effects(&out).is_empty(), "no sweep, no exit: {out:?}");
    assert!(b.feed(Event::NoChildren { others_left: false }).is_empty(), "no children, still no exit");
    assert_eq!(effects(&b.at(510).feed(Event::Deadline)), [Action::Spawn(Slot::Pipelock)]);
}

#[test]
fn when_every_slot_is_down_for_good_the_init_exits_failed_ones_included() {
    let mut b = Harness::up(&[Slot::Egress, Slot::Pipelock], policy(&[Slot::Pipelock], &[], 100, 1));
    b.dies(Slot::Egress, 2);
    b.quick_crash_and_restart(Slot::Pipelock);
    let out = b.dies(Slot::Pipelock, 1);
    assert!(notes(&out).contains(&Note::Failed { slot: Slot::Pipelock, deaths: 2 }));
    assert!(notes(&out).contains(&Note::AllDown));
    assert_eq!(effects(&out), [Action::SignalAll(SIGTERM), Action::Reap]);
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(2)]);
}

#[test]
fn not_pid_1_the_exit_waits_for_the_restart_too() {
    let mut machine =
        Machine::new(slots(&[Slot::Egress]), GRACE, Role::Subreaper).with_policy(policy(&[Slot::Egress], &[], 0, 1));
    let mut out = Actions::new();
    machine.start();
    machine.take_into(&mut out);
    machine.handle(Event::Spawned { slot: Slot::Egress, pid: 10 }, 0);
    machine.handle(Event::Execed { slot: Slot::Egress }, 0);
    machine.take_into(&mut out);
    let mut after = Actions::new();
    machine.handle(Event::Reaped { pid: 10, ended: Ended::Exited(1) }, 5);
    machine.take_into(&mut after);
    assert_eq!(effects(&after), [Action::DrainOutput(Slot::Egress)]);
    assert_eq!(machine.next_deadline(), Some(5), "base 0: due at once");
    let mut after = Actions::new();
    machine.handle(Event::Deadline, 5);
    machine.take_into(&mut after);
    assert_eq!(effects(&after), [Action::Spawn(Slot::Egress)]);
    let mut after = Actions::new();
    machine.handle(Event::SpawnFailed { slot: Slot::Egress, errno: libc::ENOENT }, 6);
    machine.take_into(&mut after);
    assert_eq!(effects(&after), [Action::Exit(NOT_FOUND)], "failed and alone: exit");
}

#[test]
fn with_nothing_pending_there_is_no_wake_up() {
    let mut b = Harness::all_restarting(500, 5);
    assert_eq!(b.machine.next_deadline(), None);
    b.quick_crash_and_restart(Slot::Egress);
    assert_eq!(b.machine.next_deadline(), None, "after the restart, nothing pending");
    assert_eq!(b.signal(SIGCHLD).as_slice(), [Action::Reap]);
    assert_eq!(b.machine.next_deadline(), None);
}

#[test]
fn the_slot_view_follows_a_run_through_its_states() {
    let mut b = Harness::all_restarting(500, 5);
    let view = b.machine.slot_view(Slot::Egress);
    assert_eq!(
        view,
        SlotView {
            selected: true,
            state: SlotState::Up,
            pid: Some(101),
            started_at: Some(0),
            restarts: 0,
            quick_deaths: 0,
            last_code: None,
            last_pid: Some(101),
        }
    );
    b.at(40).signal(RT_EGRESS);
    assert_eq!(b.state(Slot::Egress), SlotState::Stopping);
    b.feed(Event::Reaped { pid: 101, ended: BY_TERM });
    assert_eq!(b.state(Slot::Egress), SlotState::Starting);
    assert_eq!(b.machine.slot_view(Slot::Egress).last_code, None, "the replaced run does not count");
    assert_eq!(b.machine.slot_view(Slot::Egress).last_pid, Some(101), "the last pid outlives its run");
    b.at(50).spawned(Slot::Egress);
    let view = b.machine.slot_view(Slot::Egress);
    assert_eq!((view.state, view.started_at, view.restarts), (SlotState::Up, Some(50), 1));
    b.at(60).dies(Slot::Egress, 9);
    let view = b.machine.slot_view(Slot::Egress);
    assert_eq!(
        (view.state, view.pid, view.last_code, view.quick_deaths),
        (SlotState::Waiting { at: 560 }, None, Some(9), 1)
    );
}

#[test]
fn the_busiest_restart_events_fit_the_action_bound() {
    // Four waiting restarts due at one late deadline, while a kill is due.
    let mut b = Harness::all_restarting(500, 0);
    b.signal(SIGUSR1);
    for slot in [Slot::Egress, Slot::GitGate, Slot::Supervise] {
        b.dies(slot, 1);
    }
    assert!(b.at(9000).feed(Event::Deadline).len() < MAX_ACTIONS);
    // An essential failure that drops three waiting restarts and stops the rest.
    let mut b = Harness::up(&Slot::ALL, policy(&Slot::ALL, &[Slot::Egress], 500, 1));
    b.quick_crash_and_restart(Slot::Egress);
    for slot in [Slot::Pipelock, Slot::GitGate, Slot::Supervise] {
        b.dies(slot, 1);
    }
    let out = b.dies(Slot::Egress, 1);
    assert_eq!(notes(&out).iter().filter(|n| matches!(n, Note::RestartDropped { .. })).count(), 3);
    assert!(out.len() < MAX_ACTIONS);
}
