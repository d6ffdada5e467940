//! Every row of SPEC's signal table and exit rules, on the pure machine.

use super::*;
use crate::logic::signals::{SIGCHLD, SIGHUP, SIGINT, SIGUSR1};

const GRACE: u32 = 8000;
const USR2: i32 = libc::SIGUSR2;

struct Harness {
    machine: Machine,
    now: Millis,
}

fn pid_of(slot: Slot) -> Pid {
    match slot {
        Slot::Egress => 10,
        Slot::Pipelock => 11,
        Slot::GitGate => 12,
        Slot::Supervise => 13,
    }
}

impl Harness {
    /// All four selected, spawned and running with pids 10..13, as PID 1.
    fn all_up() -> Harness {
        Harness::up(PerSlot::from_fn(|_| true), true)
    }

    fn up(selected: PerSlot<bool>, pid1: bool) -> Harness {
        let mut harness =
            Harness { machine: Machine::new(selected, GRACE, if pid1 { Role::Pid1 } else { Role::Subreaper }), now: 0 };
        let mut out = Actions::new();
        harness.machine.start();
        harness.machine.take_into(&mut out);
        // One slot at a time: the next spawn comes with the exec before it.
        while let Some(&Action::Spawn(slot)) = out.first() {
            harness.feed(Event::Spawned { slot, pid: pid_of(slot) });
            out = harness.feed(Event::Execed { slot });
            assert_eq!(notes(&out), [Note::Started { slot, pid: pid_of(slot) }]);
            out.retain(|a| !matches!(a, Action::Log(_)));
        }
        assert!(out.is_empty(), "start-up gave {out:?}");
        harness
    }

    /// The shell's answer to a `Spawn`: the child, then its exec.
    fn launch(&mut self, slot: Slot, pid: Pid) -> Vec<Action, MAX_ACTIONS> {
        let out = self.feed(Event::Spawned { slot, pid });
        assert!(notes(&out).is_empty(), "nothing said before the exec: {out:?}");
        self.feed(Event::Execed { slot })
    }

    fn feed(&mut self, event: Event) -> Vec<Action, MAX_ACTIONS> {
        answer(&mut self.machine, event, self.now)
    }

    fn signal(&mut self, sig: i32) -> Vec<Action, MAX_ACTIONS> {
        self.feed(Event::Signal(sig))
    }

    fn reap(&mut self, pid: Pid, ended: Ended) -> Vec<Action, MAX_ACTIONS> {
        self.feed(Event::Reaped { pid, ended })
    }

    fn at(&mut self, now: Millis) -> &mut Self {
        self.now = now;
        self
    }
}

/// The machine's actions for one event. A daemon's death first drains its
/// output (before its death note): checked here, and left out, so the tests
/// look at what comes after.
pub(super) fn answer(machine: &mut Machine, event: Event, now: Millis) -> Actions {
    let mut out = Actions::new();
    let daemon = match event {
        Event::Reaped { pid, .. } => machine.slot_of(pid),
        _ => None,
    };
    machine.handle(event, now);
    machine.take_into(&mut out);
    if let Some(slot) = daemon {
        assert_eq!(out.first(), Some(&Action::DrainOutput(slot)), "{event:?}");
        out.remove(0);
    }
    out
}

pub(super) fn notes(actions: &[Action]) -> std::vec::Vec<Note> {
    actions.iter().filter_map(|a| if let Action::Log(n) = a { Some(*n) } else { None }).collect()
}

pub(super) fn effects(actions: &[Action]) -> std::vec::Vec<Action> {
    actions.iter().filter(|a| !matches!(a, Action::Log(_))).copied().collect()
}

pub(super) fn term(pid: Pid) -> Action {
    Action::SignalGroup { pid, sig: SIGTERM }
}

fn kill(pid: Pid) -> Action {
    Action::SignalGroup { pid, sig: SIGKILL }
}

pub(super) const BY_TERM: Ended = Ended::Signaled(SIGTERM);

#[test]
fn start_spawns_selected_slots_in_slot_order_each_after_the_exec_before() {
    let selected = PerSlot { egress: false, pipelock: true, git_gate: false, supervise: true };
    let mut machine = Machine::new(selected, GRACE, Role::Pid1);
    let mut out = Actions::new();
    machine.start();
    machine.take_into(&mut out);
    assert_eq!(out.as_slice(), [Action::Spawn(Slot::Pipelock)]);
    assert_eq!(machine.slot_view(Slot::Supervise).state, SlotState::Starting, "queued shows as starting");
    let out = answer(&mut machine, Event::Spawned { slot: Slot::Pipelock, pid: 7 }, 0);
    assert!(out.is_empty(), "supervise waits for pipelock's exec: {out:?}");
    let out = answer(&mut machine, Event::Execed { slot: Slot::Pipelock }, 0);
    assert_eq!(
        out.as_slice(),
        [Action::Log(Note::Started { slot: Slot::Pipelock, pid: 7 }), Action::Spawn(Slot::Supervise)]
    );
}

#[test]
fn a_spawned_daemon_is_starting_and_logged_with_its_pid_once_it_has_execed() {
    let mut machine = Machine::new(PerSlot::from_fn(|_| true), GRACE, Role::Pid1);
    machine.start();
    machine.take_into(&mut Actions::new());
    let out = answer(&mut machine, Event::Spawned { slot: Slot::Egress, pid: 7 }, 0);
    assert!(out.is_empty(), "{out:?}");
    let view = machine.slot_view(Slot::Egress);
    assert_eq!((view.state, view.pid), (SlotState::Starting, Some(7)));
    let out = answer(&mut machine, Event::Execed { slot: Slot::Egress }, 0);
    assert_eq!(notes(&out), [Note::Started { slot: Slot::Egress, pid: 7 }]);
    assert_eq!(machine.slot_view(Slot::Egress).state, SlotState::Up);
    // Only once: a second report, or one for a slot not starting, is ignored.
    let out = answer(&mut machine, Event::Execed { slot: Slot::Egress }, 0);
    assert_eq!(out.as_slice(), [], "a second exec report");
    let out = answer(&mut machine, Event::SpawnFailed { slot: Slot::Egress, errno: libc::ENOENT }, 0);
    assert_eq!(out.as_slice(), [], "a failure report for a run that had exec'd");
}

#[test]
fn a_start_that_fails_after_the_spawn_is_cannot_start_and_its_reap_is_quiet() {
    let selected = PerSlot { egress: true, pipelock: true, git_gate: false, supervise: false };
    let mut machine = Machine::new(selected, GRACE, Role::Pid1);
    machine.start();
    machine.take_into(&mut Actions::new());
    answer(&mut machine, Event::Spawned { slot: Slot::Egress, pid: 7 }, 0);
    let out = answer(&mut machine, Event::SpawnFailed { slot: Slot::Egress, errno: libc::EACCES }, 1);
    assert_eq!(
        out.as_slice(),
        [
            Action::Log(Note::CannotStart { slot: Slot::Egress, errno: libc::EACCES, code: 126 }),
            Action::Spawn(Slot::Pipelock)
        ]
    );
    assert_eq!(machine.slot_view(Slot::Egress).state, SlotState::Down);
    assert!(answer(&mut machine, Event::Reaped { pid: 7, ended: Ended::Exited(127) }, 2).is_empty());
    assert_eq!(machine.exit_code(), 126);
}

#[test]
fn sigterm_while_starting_terms_the_process_too_and_its_death_is_clean() {
    let mut b = Harness::all_up();
    b.signal(SIGUSR1);
    b.reap(11, BY_TERM);
    b.feed(Event::Spawned { slot: Slot::Pipelock, pid: 21 });
    let out = b.at(5).signal(SIGTERM);
    // Its group may not exist before its setsid: the process gets it too.
    assert_eq!(
        effects(&out),
        [term(10), term(21), Action::SignalProcess { pid: 21, sig: SIGTERM }, term(12), term(13)]
    );
    assert_eq!(b.machine.slot_view(Slot::Pipelock).state, SlotState::Stopping);
    // Killed before its exec: the report says nothing, then the death.
    assert_eq!(
        notes(&b.feed(Event::Execed { slot: Slot::Pipelock })),
        [Note::Started { slot: Slot::Pipelock, pid: 21 }]
    );
    b.reap(21, BY_TERM);
    for pid in [10, 12, 13] {
        b.reap(pid, BY_TERM);
    }
    assert_eq!(b.machine.exit_code(), 0);
}

#[test]
fn a_starting_daemon_gets_a_forwarded_signal_at_its_exec_and_restarts_coalesce() {
    /// SIGRTMIN+1 in Docker's numbering: restart egress.
    const RT_EGRESS: i32 = 35;
    let mut b = Harness::all_up();
    b.signal(RT_EGRESS);
    b.reap(10, BY_TERM);
    b.feed(Event::Spawned { slot: Slot::Egress, pid: 20 });
    // Pending across its exec, a HUP would kill it: held until the exec.
    let out = b.signal(SIGHUP);
    assert_eq!(out.as_slice(), []);
    let out = b.signal(RT_EGRESS);
    assert_eq!(out.as_slice(), [Action::Log(Note::RestartCoalesced { slot: Slot::Egress, sig: RT_EGRESS })]);
    let out = b.feed(Event::Execed { slot: Slot::Egress });
    assert_eq!(
        out.as_slice(),
        [
            Action::Log(Note::Started { slot: Slot::Egress, pid: 20 }),
            Action::SignalProcess { pid: 20, sig: SIGHUP },
            Action::Log(Note::Forwarded { slot: Slot::Egress, pid: 20, sig: SIGHUP }),
        ],
        "the held HUP goes once the exec is confirmed"
    );
    assert_eq!(effects(&b.signal(SIGHUP)), [Action::SignalProcess { pid: 20, sig: SIGHUP }]);
}

#[test]
fn a_hup_at_start_up_is_held_for_egress_exec_and_said_when_no_exec_comes() {
    let mut m = Machine::new(PerSlot::from_fn(|_| true), GRACE, Role::Pid1);
    m.start();
    let _ = answer(&mut m, Event::Spawned { slot: Slot::Egress, pid: 10 }, 0);
    let out = answer(&mut m, Event::Signal(SIGHUP), 0);
    assert_eq!(out.as_slice(), [], "held, not lost");
    let out = answer(&mut m, Event::Execed { slot: Slot::Egress }, 1);
    assert!(out.contains(&Action::SignalProcess { pid: 10, sig: SIGHUP }), "{out:?}");
    // A run that ends before its exec: the held signal is said as not forwarded.
    let mut m = Machine::new(PerSlot::from_fn(|_| true), GRACE, Role::Pid1);
    m.start();
    let _ = answer(&mut m, Event::Spawned { slot: Slot::Egress, pid: 10 }, 0);
    let _ = answer(&mut m, Event::Signal(SIGHUP), 0);
    let out = answer(&mut m, Event::SpawnFailed { slot: Slot::Egress, errno: libc::ENOENT }, 1);
    assert!(notes(&out).contains(&Note::NotForwarded { slot: Slot::Egress, sig: SIGHUP }), "{out:?}");
    assert!(!effects(&out).iter().any(|a| matches!(a, Action::SignalProcess { .. })), "{out:?}");
    // Stopped before its exec: the same, once it is reaped.
    let mut m = Machine::new(PerSlot::from_fn(|_| true), GRACE, Role::Pid1);
    m.start();
    let _ = answer(&mut m, Event::Signal(SIGHUP), 0);
    let _ = answer(&mut m, Event::Signal(SIGTERM), 0);
    let _ = answer(&mut m, Event::Spawned { slot: Slot::Egress, pid: 10 }, 0);
    let out = answer(&mut m, Event::Reaped { pid: 10, ended: BY_TERM }, 1);
    assert!(notes(&out).contains(&Note::NotForwarded { slot: Slot::Egress, sig: SIGHUP }), "{out:?}");
}

#[test]
fn a_shutdown_during_start_up_drops_the_queued_slots() {
    let mut machine = Machine::new(PerSlot::from_fn(|_| true), GRACE, Role::Subreaper);
    machine.start();
    machine.take_into(&mut Actions::new());
    answer(&mut machine, Event::Spawned { slot: Slot::Egress, pid: 7 }, 0);
    let out = answer(&mut machine, Event::Signal(SIGTERM), 1);
    assert_eq!(effects(&out), [term(7), Action::SignalProcess { pid: 7, sig: SIGTERM }]);
    let out = answer(&mut machine, Event::Execed { slot: Slot::Egress }, 2);
    assert_eq!(effects(&out), [], "no spawn during the stop");
    let out = answer(&mut machine, Event::Reaped { pid: 7, ended: BY_TERM }, 3);
    assert_eq!(effects(&out), [Action::Exit(0)]);
}

#[test]
fn sigterm_terms_every_group_and_sigkills_at_the_grace_deadline() {
    let mut b = Harness::all_up();
    let out = b.at(100).signal(SIGTERM);
    assert_eq!(notes(&out)[0], Note::ShuttingDown { sig: SIGTERM, grace_ms: GRACE });
    assert_eq!(effects(&out), [term(10), term(11), term(12), term(13)]);
    assert_eq!(b.machine.next_deadline(), Some(100 + 8000));

    // Two exit on TERM; two ignore it.
    b.reap(10, BY_TERM);
    b.reap(12, Ended::Exited(143));
    assert!(effects(&b.at(8099).feed(Event::Deadline)).is_empty(), "nothing before the deadline");
    let out = b.at(8100).feed(Event::Deadline);
    assert_eq!(effects(&out), [kill(11), kill(13)]);
    assert_eq!(
        notes(&out),
        [Note::GraceExpired { slot: Slot::Pipelock, pid: 11 }, Note::GraceExpired { slot: Slot::Supervise, pid: 13 }]
    );
    assert_eq!(b.machine.next_deadline(), None, "SIGKILL is sent once");

    b.reap(11, Ended::Signaled(SIGKILL));
    let out = b.at(8150).reap(13, Ended::Signaled(SIGKILL));
    // The sweep shares the stop's deadline, which has passed: SIGKILL follows at once.
    assert_eq!(effects(&out), [Action::SignalAll(SIGTERM), Action::Reap]);
    assert_eq!(b.machine.next_deadline(), Some(8100));
    let out = b.feed(Event::Deadline);
    assert_eq!(effects(&out), [Action::SignalAll(SIGKILL), Action::Reap]);
    let out = b.feed(Event::NoChildren { others_left: false });
    assert_eq!(effects(&out), [Action::Exit(0)], "deaths by our TERM/KILL and 143 are clean");
}

#[test]
fn sigint_shuts_down_like_sigterm() {
    let mut b = Harness::all_up();
    let out = b.signal(SIGINT);
    assert_eq!(notes(&out)[0], Note::ShuttingDown { sig: SIGINT, grace_ms: GRACE });
    assert_eq!(effects(&out).len(), 4);
}

#[test]
fn a_second_shutdown_request_changes_nothing() {
    let mut b = Harness::all_up();
    b.at(0).signal(SIGTERM);
    let out = b.at(5000).signal(SIGINT);
    assert_eq!(out.as_slice(), [Action::Log(Note::AlreadyShuttingDown { sig: SIGINT })]);
    assert_eq!(b.machine.next_deadline(), Some(8000), "the deadline does not move");
}

#[test]
fn sweep_waits_until_the_stop_deadline_then_kills_and_exits_when_no_child_is_left() {
    let mut b = Harness::all_up();
    b.at(0).signal(SIGTERM);
    for pid in 10..=12 {
        b.reap(pid, BY_TERM);
    }
    let out = b.at(50).reap(13, BY_TERM);
    assert_eq!(effects(&out), [Action::SignalAll(SIGTERM), Action::Reap]);
    assert_eq!(b.machine.next_deadline(), Some(8000), "one stop, one deadline");
    // Strays reaped quietly while the sweep waits.
    assert!(b.at(60).reap(99, Ended::Exited(0)).is_empty());
    let out = b.at(70).feed(Event::NoChildren { others_left: false });
    assert_eq!(effects(&out), [Action::Exit(0)]);
}

#[test]
fn sigusr1_restarts_pipelock_in_place_and_leaves_siblings_alone() {
    let mut b = Harness::all_up();
    let out = b.at(10).signal(SIGUSR1);
    assert_eq!(effects(&out), [term(11)]);
    assert_eq!(notes(&out), [Note::Restarting { slot: Slot::Pipelock, pid: Some(11), sig: SIGUSR1 }]);
    assert_eq!(b.machine.next_deadline(), Some(8010));
    let out = b.reap(11, BY_TERM);
    assert_eq!(effects(&out), [Action::Spawn(Slot::Pipelock)]);
    let out = b.launch(Slot::Pipelock, 21);
    assert_eq!(notes(&out), [Note::Started { slot: Slot::Pipelock, pid: 21 }]);
    assert_eq!(b.machine.next_deadline(), None);
    // The new pipelock is the one HUP-independent shutdown now stops.
    let out = b.signal(SIGTERM);
    assert_eq!(effects(&out), [term(10), term(21), term(12), term(13)]);
}

#[test]
fn restart_of_a_daemon_ignoring_term_escalates_to_sigkill() {
    let mut b = Harness::all_up();
    b.at(0).signal(SIGUSR1);
    let out = b.at(8000).feed(Event::Deadline);
    assert_eq!(effects(&out), [kill(11)]);
    let out = b.reap(11, Ended::Signaled(SIGKILL));
    assert_eq!(effects(&out), [Action::Spawn(Slot::Pipelock)]);
}

#[test]
fn several_sigusr1_before_the_restart_completes_make_one_restart() {
    let mut b = Harness::all_up();
    b.signal(SIGUSR1);
    for _ in 0..3 {
        let out = b.signal(SIGUSR1);
        assert_eq!(out.as_slice(), [Action::Log(Note::RestartCoalesced { slot: Slot::Pipelock, sig: SIGUSR1 })]);
    }
    assert_eq!(effects(&b.reap(11, BY_TERM)), [Action::Spawn(Slot::Pipelock)]);
    // While the spawn is under way, another request still coalesces.
    let out = b.signal(SIGUSR1);
    assert_eq!(effects(&out), []);
    b.feed(Event::Spawned { slot: Slot::Pipelock, pid: 21 });
    // And while the new one is starting (not exec'd yet).
    assert_eq!(effects(&b.signal(SIGUSR1)), []);
    b.feed(Event::Execed { slot: Slot::Pipelock });
    assert_eq!(effects(&b.signal(SIGUSR1)), [term(21)], "a request after the restart is a new restart");
}

#[test]
fn a_dead_pipelock_is_simply_started_again_and_its_crash_no_longer_counts() {
    let mut b = Harness::all_up();
    b.reap(11, Ended::Exited(1));
    let out = b.signal(SIGUSR1);
    assert_eq!(effects(&out), [Action::Spawn(Slot::Pipelock)]);
    assert_eq!(notes(&out), [Note::Restarting { slot: Slot::Pipelock, pid: None, sig: SIGUSR1 }]);
    b.launch(Slot::Pipelock, 21);
    b.signal(SIGTERM);
    for pid in [10, 21, 12, 13] {
        b.reap(pid, BY_TERM);
    }
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(0)]);
}

#[test]
fn restart_is_skipped_during_shutdown() {
    let mut b = Harness::all_up();
    b.signal(SIGTERM);
    let out = b.signal(SIGUSR1);
    assert_eq!(
        out.as_slice(),
        [Action::Log(Note::RestartSkipped { slot: Slot::Pipelock, sig: SIGUSR1, why: Skip::ShuttingDown })]
    );
    assert_eq!(effects(&b.reap(11, BY_TERM)), [], "no respawn after the reap");
}

#[test]
fn restart_is_skipped_when_pipelock_is_not_selected() {
    let selected = PerSlot { egress: true, pipelock: false, git_gate: false, supervise: false };
    let mut b = Harness::up(selected, true);
    let out = b.signal(SIGUSR1);
    assert_eq!(
        out.as_slice(),
        [Action::Log(Note::RestartSkipped { slot: Slot::Pipelock, sig: SIGUSR1, why: Skip::NotSelected })]
    );
}

#[test]
fn a_pending_restart_is_dropped_by_shutdown() {
    let mut b = Harness::all_up();
    b.at(0).signal(SIGUSR1);
    let out = b.at(1000).signal(SIGTERM);
    assert!(notes(&out).contains(&Note::RestartDropped { slot: Slot::Pipelock }));
    assert_eq!(effects(&out), [term(10), term(12), term(13)], "pipelock already has its SIGTERM");
    assert_eq!(b.machine.next_deadline(), Some(8000), "the restart's deadline came first");
    assert_eq!(effects(&b.reap(11, BY_TERM)), [], "dropped: not started again");
}

#[test]
fn hup_goes_to_the_egress_process_only() {
    let mut b = Harness::all_up();
    let out = b.signal(SIGHUP);
    assert_eq!(effects(&out), [Action::SignalProcess { pid: 10, sig: SIGHUP }]);
    assert_eq!(notes(&out), [Note::Forwarded { slot: Slot::Egress, pid: 10, sig: SIGHUP }]);
}

#[test]
fn hup_with_egress_down_is_a_logged_no_op() {
    let mut b = Harness::all_up();
    b.reap(10, Ended::Exited(0));
    let out = b.signal(SIGHUP);
    assert_eq!(out.as_slice(), [Action::Log(Note::NotForwarded { slot: Slot::Egress, sig: SIGHUP })]);
    let selected = PerSlot { egress: false, pipelock: true, git_gate: false, supervise: false };
    let out = Harness::up(selected, true).signal(SIGHUP);
    assert_eq!(out.as_slice(), [Action::Log(Note::NotForwarded { slot: Slot::Egress, sig: SIGHUP })]);
}

#[test]
fn sigchld_asks_for_a_reap() {
    assert_eq!(Harness::all_up().signal(SIGCHLD).as_slice(), [Action::Reap]);
}

#[test]
fn other_signals_are_logged_once_per_number() {
    let mut b = Harness::all_up();
    assert_eq!(b.signal(USR2).as_slice(), [Action::Log(Note::IgnoredSignal { sig: USR2 })]);
    assert!(b.signal(USR2).is_empty());
    assert_eq!(b.signal(libc::SIGWINCH).as_slice(), [Action::Log(Note::IgnoredSignal { sig: libc::SIGWINCH })]);
    assert_eq!(b.signal(64).as_slice(), [Action::Log(Note::IgnoredSignal { sig: 64 })]);
    assert!(b.signal(64).is_empty());
}

#[test]
fn a_crash_leaves_the_survivors_running() {
    let mut b = Harness::all_up();
    let out = b.reap(12, Ended::Exited(1));
    assert_eq!(out.as_slice(), [Action::Log(Note::Died { slot: Slot::GitGate, pid: 12, ended: Ended::Exited(1) })]);
    assert_eq!(b.machine.next_deadline(), None);
}

#[test]
fn crash_then_sigterm_exits_with_the_crash_code() {
    let mut b = Harness::all_up();
    b.reap(12, Ended::Exited(3));
    let out = b.signal(SIGTERM);
    assert_eq!(effects(&out), [term(10), term(11), term(13)]);
    for pid in [10, 11, 13] {
        b.reap(pid, BY_TERM);
    }
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(3)]);
}

#[test]
fn all_dying_unattended_sweeps_and_exits_with_the_highest_code() {
    let mut b = Harness::all_up();
    b.at(0).reap(10, Ended::Exited(2));
    b.reap(11, Ended::Signaled(libc::SIGSEGV));
    b.reap(12, Ended::Exited(0));
    let out = b.at(500).reap(13, Ended::Exited(5));
    assert!(notes(&out).contains(&Note::AllDown));
    assert_eq!(effects(&out), [Action::SignalAll(SIGTERM), Action::Reap]);
    assert_eq!(b.machine.next_deadline(), Some(500 + 8000), "the sweep's start plus the grace");
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(128 + 11)]);
}

#[test]
fn without_pid_1_there_is_no_sweep() {
    let mut b = Harness::up(PerSlot::from_fn(|_| true), false);
    for pid in 10..=12 {
        b.reap(pid, Ended::Exited(0));
    }
    let out = b.reap(13, Ended::Exited(4));
    assert_eq!(effects(&out), [Action::Exit(4)]);
    let mut b = Harness::up(PerSlot::from_fn(|_| true), false);
    b.signal(SIGTERM);
    for pid in 10..=12 {
        b.reap(pid, BY_TERM);
    }
    assert_eq!(effects(&b.reap(13, BY_TERM)), [Action::Exit(0)]);
}

#[test]
fn a_death_caused_by_our_signal_is_clean_and_others_still_count() {
    assert_eq!(run_code(Ended::Signaled(SIGTERM), true), 0);
    assert_eq!(run_code(Ended::Signaled(SIGKILL), true), 0);
    assert_eq!(run_code(Ended::Exited(0), true), 0);
    assert_eq!(run_code(Ended::Exited(143), true), 0);
    assert_eq!(run_code(Ended::Exited(1), true), 1);
    assert_eq!(run_code(Ended::Signaled(libc::SIGSEGV), true), 139);
    // Unprovoked, the same endings count.
    assert_eq!(run_code(Ended::Signaled(SIGTERM), false), 143);
    assert_eq!(run_code(Ended::Signaled(SIGKILL), false), 137);
    assert_eq!(run_code(Ended::Exited(143), false), 143);
    assert_eq!(run_code(Ended::Exited(0), false), 0);
}

#[test]
fn exit_code_after_shutdown_counts_unclean_answers_to_sigterm() {
    let mut b = Harness::all_up();
    b.signal(SIGTERM);
    b.reap(10, Ended::Exited(1));
    b.reap(11, BY_TERM);
    b.reap(12, Ended::Exited(143));
    b.reap(13, Ended::Signaled(SIGKILL));
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(1)]);
}

#[test]
fn a_program_that_cannot_start_is_down_with_127_and_siblings_still_start() {
    let mut machine = Machine::new(PerSlot::from_fn(|_| true), GRACE, Role::Pid1);
    let mut out = Actions::new();
    machine.start();
    machine.take_into(&mut out);
    let after = answer(&mut machine, Event::SpawnFailed { slot: Slot::Egress, errno: libc::ENOENT }, 0);
    assert_eq!(
        after.as_slice(),
        [
            Action::Log(Note::CannotStart { slot: Slot::Egress, errno: libc::ENOENT, code: 127 }),
            Action::Spawn(Slot::Pipelock)
        ]
    );
    for slot in [Slot::Pipelock, Slot::GitGate, Slot::Supervise] {
        answer(&mut machine, Event::Spawned { slot, pid: pid_of(slot) }, 0);
        answer(&mut machine, Event::Execed { slot }, 0);
    }
    let mut stop = Actions::new();
    machine.handle(Event::Signal(SIGTERM), 0);
    machine.take_into(&mut stop);
    assert_eq!(effects(&stop), [term(11), term(12), term(13)]);
    assert_eq!(machine.exit_code(), 127);
}

#[test]
fn when_nothing_can_start_the_init_exits_with_126_or_127() {
    let selected = PerSlot { egress: true, pipelock: true, git_gate: false, supervise: false };
    let mut machine = Machine::new(selected, GRACE, Role::Subreaper);
    let mut out = Actions::new();
    machine.start();
    machine.take_into(&mut out);
    let mut after = Actions::new();
    machine.handle(Event::SpawnFailed { slot: Slot::Egress, errno: libc::EACCES }, 0);
    machine.take_into(&mut after);
    assert_eq!(effects(&after), [Action::Spawn(Slot::Pipelock)], "pipelock is still to start");
    after.clear();
    machine.handle(Event::SpawnFailed { slot: Slot::Pipelock, errno: libc::ENOENT }, 0);
    machine.take_into(&mut after);
    assert_eq!(effects(&after), [Action::Exit(127)]);
}

#[test]
fn orphans_are_reaped_quietly() {
    let mut b = Harness::all_up();
    assert!(b.reap(4242, Ended::Exited(9)).is_empty());
    assert!(b.feed(Event::NoChildren { others_left: false }).is_empty(), "no children while running means nothing");
}

#[test]
fn a_daemon_started_during_a_stop_is_stopped_with_the_rest() {
    let selected = PerSlot { egress: true, pipelock: false, git_gate: false, supervise: false };
    let mut machine = Machine::new(selected, GRACE, Role::Pid1);
    let mut out = Actions::new();
    machine.start();
    machine.take_into(&mut out);
    machine.handle(Event::Signal(SIGTERM), 0);
    machine.take_into(&mut out);
    let mut after = Actions::new();
    machine.handle(Event::Spawned { slot: Slot::Egress, pid: 10 }, 5);
    machine.take_into(&mut after);
    assert_eq!(effects(&after), [term(10), Action::SignalProcess { pid: 10, sig: SIGTERM }]);
    assert_eq!(machine.next_deadline(), Some(8000));
}

#[test]
fn the_busiest_events_fit_the_action_bound() {
    let mut b = Harness::all_up();
    b.signal(SIGUSR1);
    let out = b.signal(SIGTERM);
    assert!(out.len() < MAX_ACTIONS, "{} actions", out.len());
    let mut b = Harness::all_up();
    for pid in 10..=12 {
        b.reap(pid, Ended::Exited(1));
    }
    assert!(b.reap(13, Ended::Exited(1)).len() < MAX_ACTIONS);
}

#[test]
fn nothing_happens_after_exit() {
    let mut b = Harness::up(PerSlot { egress: true, pipelock: false, git_gate: false, supervise: false }, false);
    b.reap(10, Ended::Exited(0));
    assert!(b.signal(SIGTERM).is_empty());
    assert!(b.feed(Event::Deadline).is_empty());
}

#[test]
fn a_sweep_waits_for_processes_that_are_not_its_children() {
    let mut b = Harness::all_up();
    b.at(0).signal(SIGTERM);
    for pid in 10..=12 {
        b.reap(pid, BY_TERM);
    }
    b.at(100).reap(13, BY_TERM);
    // `docker exec` processes: not our children, still alive.
    let out = b.at(110).feed(Event::NoChildren { others_left: true });
    assert!(out.is_empty(), "no exit while others live: {out:?}");
    assert_eq!(b.machine.next_deadline(), Some(110 + SWEEP_RECHECK_MS));
    assert_eq!(effects(&b.at(110 + SWEEP_RECHECK_MS).feed(Event::Deadline)), [Action::Reap]);
    b.feed(Event::NoChildren { others_left: true });
    // The stop's deadline still comes: SIGKILL, then exit once none is left.
    assert_eq!(effects(&b.at(8000).feed(Event::Deadline)), [Action::SignalAll(SIGKILL), Action::Reap]);
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: true })), [Action::Exit(0)]);
}

#[test]
fn a_stop_with_a_stray_ends_within_a_millisecond_of_its_death() {
    // 20 ms between looks made a stop that waited for a `docker exec`
    // process end up to 20 ms after it died.
    let mut b = Harness::all_up();
    b.at(0).signal(SIGTERM);
    for pid in 10..=13 {
        b.reap(pid, BY_TERM);
    }
    b.at(10).feed(Event::NoChildren { others_left: true });
    assert_eq!(b.machine.next_deadline(), Some(11), "the next look");
    assert_eq!(effects(&b.at(11).feed(Event::Deadline)), [Action::Reap]);
    // The stray died at 11.5: the look at 12 sees it gone.
    b.feed(Event::NoChildren { others_left: true });
    assert_eq!(b.machine.next_deadline(), Some(12));
    b.at(12).feed(Event::Deadline);
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(0)]);
}

#[test]
fn a_sweep_ends_as_soon_as_the_others_are_gone() {
    let mut b = Harness::all_up();
    b.at(0).signal(SIGTERM);
    for pid in 10..=13 {
        b.reap(pid, BY_TERM);
    }
    b.at(10).feed(Event::NoChildren { others_left: true });
    b.at(30).feed(Event::Deadline);
    assert_eq!(effects(&b.feed(Event::NoChildren { others_left: false })), [Action::Exit(0)]);
}

#[test]
fn a_process_signal_still_queued_for_a_reaped_pid_is_dropped_a_group_signal_is_not() {
    // One signal batch: HUP for egress and USR1 for pipelock are queued,
    // then the reap finds both dead. Egress's pid may be reused at once: the
    // HUP must not go out. Pipelock's group may outlive it (its children):
    // the restart's SIGTERM to the group still goes.
    let mut b = Harness::all_up();
    b.machine.handle(Event::Signal(SIGHUP), 0);
    b.machine.handle(Event::Signal(SIGUSR1), 0);
    b.machine.handle(Event::Reaped { pid: 10, ended: Ended::Exited(1) }, 0);
    b.machine.handle(Event::Reaped { pid: 11, ended: Ended::Exited(1) }, 0);
    let mut out = Actions::new();
    b.machine.take_into(&mut out);
    assert!(!out.contains(&Action::SignalProcess { pid: 10, sig: SIGHUP }), "{out:?}");
    assert!(out.contains(&term(11)), "{out:?}");
    assert!(out.contains(&Action::Spawn(Slot::Pipelock)), "the restart still happens: {out:?}");
}

#[test]
fn a_full_action_queue_is_said_loudly_before_anything_else() {
    let mut b = Harness::all_up();
    // Never polled: 40 forwarded SIGHUPs queue 80 actions, more than fit.
    for _ in 0..40 {
        b.machine.handle(Event::Signal(SIGHUP), 0);
    }
    let lost = 80 - QUEUE as u32;
    assert_eq!(b.machine.poll_action(), Some(Action::Log(Note::ActionsLost { count: lost })));
    assert_eq!(b.machine.poll_action(), Some(Action::SignalProcess { pid: 10, sig: SIGHUP }));
}

#[test]
fn a_start_failure_is_127_when_not_found_and_126_otherwise() {
    assert_eq!(start_failure_code(libc::ENOENT), NOT_FOUND);
    assert_eq!(start_failure_code(libc::ENOTDIR), NOT_FOUND);
    for errno in [libc::EACCES, libc::ENOEXEC, libc::ETXTBSY, libc::E2BIG, -libc::EPERM] {
        assert_eq!(start_failure_code(errno), NOT_EXECUTABLE, "errno {errno}");
    }
}

#[test]
fn the_output_waits_until_one_second_after_the_stops_deadline_and_no_longer() {
    let mut b = Harness::all_up();
    assert_eq!(b.machine.output_deadline(50), 50 + u64::from(GRACE) + OUTPUT_PATIENCE_MS, "no stop yet: from now");
    b.at(100).signal(SIGTERM);
    let deadline = 100 + u64::from(GRACE);
    // However late the exit comes, the patience ends at the same moment.
    for now in [100, deadline, deadline + 500, deadline + 5000] {
        assert_eq!(b.machine.output_deadline(now), deadline + OUTPUT_PATIENCE_MS);
    }
}

#[test]
fn a_restart_request_restarts_any_slot_as_sigusr1_does_pipelock() {
    let mut harness = Harness::all_up();
    let request = Event::Requested { slot: Slot::GitGate, sig: REQUESTED };
    let out = harness.feed(request);
    assert_eq!(effects(&out), [term(12)]);
    assert_eq!(notes(&out), [Note::Restarting { slot: Slot::GitGate, pid: Some(12), sig: REQUESTED }]);
    // A second request before the restart completes makes one restart.
    let out = harness.feed(request);
    assert_eq!(effects(&out), []);
    assert_eq!(notes(&out), [Note::RestartCoalesced { slot: Slot::GitGate, sig: REQUESTED }]);
    let out = harness.signal(SIGUSR1);
    assert_eq!(effects(&out), [term(11)], "pipelock is its own restart");
    // The old git-gate's death starts the new one; its end does not count.
    let out = harness.at(50).reap(12, BY_TERM);
    assert_eq!(effects(&out), [Action::Spawn(Slot::GitGate)]);
    harness.feed(Event::Spawned { slot: Slot::GitGate, pid: 22 });
    harness.feed(Event::Execed { slot: Slot::GitGate });
    let view = harness.machine.slot_view(Slot::GitGate);
    assert_eq!((view.state, view.pid, view.started_at, view.restarts), (SlotState::Up, Some(22), Some(50), 1));
    assert_eq!(view.last_code, None);
}

#[test]
fn a_restart_request_starts_a_slot_that_is_down_and_is_refused_when_unselected_or_stopping() {
    let mut harness = Harness::up(PerSlot { egress: true, pipelock: true, git_gate: false, supervise: true }, true);
    harness.reap(13, Ended::Exited(3));
    let out = harness.feed(Event::Requested { slot: Slot::Supervise, sig: REQUESTED });
    assert_eq!(effects(&out), [Action::Spawn(Slot::Supervise)]);
    assert_eq!(notes(&out), [Note::Restarting { slot: Slot::Supervise, pid: None, sig: REQUESTED }]);
    let out = harness.feed(Event::Requested { slot: Slot::GitGate, sig: REQUESTED });
    assert_eq!(effects(&out), []);
    assert_eq!(notes(&out), [Note::RestartSkipped { slot: Slot::GitGate, sig: REQUESTED, why: Skip::NotSelected }]);
    harness.signal(SIGTERM);
    let out = harness.feed(Event::Requested { slot: Slot::Egress, sig: REQUESTED });
    assert_eq!(effects(&out), []);
    assert_eq!(notes(&out), [Note::RestartSkipped { slot: Slot::Egress, sig: REQUESTED, why: Skip::ShuttingDown }]);
}

#[test]
fn a_signal_request_goes_to_the_slots_daemon_only() {
    let mut harness = Harness::all_up();
    let out = harness.feed(Event::Requested { slot: Slot::Supervise, sig: SIGHUP });
    assert_eq!(effects(&out), [Action::SignalProcess { pid: 13, sig: SIGHUP }]);
    assert_eq!(notes(&out), [Note::Forwarded { slot: Slot::Supervise, pid: 13, sig: SIGHUP }]);
    // Even SIGTERM: sent as asked, and its death is then the daemon's own.
    let out = harness.feed(Event::Requested { slot: Slot::Egress, sig: SIGTERM });
    assert_eq!(effects(&out), [Action::SignalProcess { pid: 10, sig: SIGTERM }]);
    harness.reap(10, BY_TERM);
    let out = harness.feed(Event::Requested { slot: Slot::Egress, sig: SIGHUP });
    assert_eq!(effects(&out), []);
    assert_eq!(notes(&out), [Note::NotForwarded { slot: Slot::Egress, sig: SIGHUP }]);
    harness.signal(SIGTERM);
    assert_eq!(harness.machine.exit_code(), 143, "a death by a requested SIGTERM counts");
}

#[test]
fn the_bundle_goes_running_stopping_sweeping() {
    let mut harness = Harness::all_up();
    assert_eq!(harness.machine.bundle(), Bundle::Running);
    harness.signal(SIGTERM);
    assert_eq!(harness.machine.bundle(), Bundle::Stopping);
    for pid in 10..=13 {
        harness.reap(pid, BY_TERM);
    }
    assert_eq!(harness.machine.bundle(), Bundle::Sweeping);
}

#[test]
fn a_signal_request_for_a_starting_slot_is_refused_not_held() {
    let mut m = Machine::new(PerSlot::from_fn(|_| true), GRACE, Role::Pid1);
    m.start();
    let _ = answer(&mut m, Event::Spawned { slot: Slot::Egress, pid: 10 }, 0);
    // Egress starting, the others queued: every signal a client may name,
    // refused at once (it has its answer) rather than held: held, egress's
    // exec sent them all, 129 actions for one event, past the action queue
    // (66 lost, the next slot's Spawn among them).
    for slot in Slot::ALL {
        for sig in 1..=64 {
            let out = answer(&mut m, Event::Requested { slot, sig }, 0);
            assert_eq!(out.as_slice(), [Action::Log(Note::NotForwarded { slot, sig })], "{slot:?} {sig}");
        }
    }
    let out = answer(&mut m, Event::Execed { slot: Slot::Egress }, 1);
    assert!(!effects(&out).iter().any(|a| matches!(a, Action::SignalProcess { .. })), "{out:?}");
    assert!(out.contains(&Action::Spawn(Slot::Pipelock)), "{out:?}");
}
