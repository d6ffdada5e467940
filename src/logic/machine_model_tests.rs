//! Model-based tests of the state machine: random sequences of signals,
//! daemon and orphan deaths, spawn failures, late and spurious deadlines, fed
//! to [`Machine`] by a simulated world that carries out its actions the way
//! the shell does (one FIFO queue; a spawn's or a reap's outcome fed back at
//! once; a child's exec report at the next wait, or held back for a while,
//! and always before its reap). After every event, and
//! when every action is carried out, SPEC's rules are checked against a model
//! kept by the world from what it saw:
//!
//! - it never signals a pid it does not own: a group or process signal goes
//!   only to a daemon pid it was told about (`Spawned`) and that has not been
//!   reaped, at the moment the signal is sent (the shell, like the world,
//!   drops a queued pid signal whose run the machine no longer has: the
//!   world's reap loop, like the shell's, may reap it after the signal was
//!   asked for); `kill(-1)` only once every daemon is reaped, as PID 1;
//! - it never exits while a daemon it started is unreaped or a spawn is out;
//!   once none is left it sweeps (PID 1) or exits, and a sweep exits only when
//!   no process is left or after its SIGKILL;
//! - one stop has one deadline: SIGKILL never comes before a run's due time
//!   (its SIGTERM plus the grace, or the stop's deadline), the wake-up
//!   (`next_deadline`) is exactly the earliest pending SIGKILL while running
//!   or stopping (so `None` — no idle wake-ups — when none is pending) and
//!   never after the stop's deadline while sweeping;
//! - the exit code follows SPEC's Exit rules, computed from the runs the world
//!   simulated (restart-replaced runs do not count; our SIGTERM makes TERM,
//!   KILL, 0 and 143 clean);
//! - a restart request is never lost or doubled: every `Spawn` is owed (a
//!   request for a down, waiting or failed slot, the reap of a run being
//!   restarted, a waiting restart whose delay is over) and every owed one
//!   comes in the answer to that very event; at most one run per slot;
//! - start-up goes one slot at a time in slot order: a selected slot's first
//!   spawn comes only when no other slot is starting, and never stalls;
//! - a starting child (spawned, not exec'd) is sent no signal but a stop's
//!   SIGTERM, to its process as well as its group (which may not exist yet);
//!   a restart request for it coalesces;
//! - the restart policy (RESTART, RESTART_DELAY_MS, RESTART_LIMIT) as the
//!   model computes it from the runs' lives: quick-death count, backoff delay,
//!   failed past the limit, each decision noted; a waiting restart is a
//!   deadline of the wait (so no idle wake-up when nothing is pending); the
//!   init never sweeps or exits while a restart waits and no shutdown was
//!   asked; an ESSENTIAL slot down for good starts the shutdown at once;
//! - `slot_view` agrees with the model: state, pid, start time, restarts,
//!   quick deaths, last code;
//! - one event makes fewer than `MAX_ACTIONS` actions; every note renders as
//!   one line; each ignored signal number is logged once.
//!
//! Signals include SIGRTMIN+1…+4 (35..=38), which restart egress, pipelock,
//! git-gate and supervise like SIGUSR1 restarts pipelock.
//!
//! A run ends with SIGTERM and time moving from deadline to deadline until the
//! init exits, no later than the stop's deadline.
//!
//! `Adapter` is the only code that touches `Machine`'s API.

use std::collections::{BTreeSet, VecDeque};
use std::vec::Vec;

use proptest::prelude::*;
use proptest::sample::{select, Index};

use super::*;
use crate::logic::config::props::proptest_config;
use crate::logic::report;
use crate::logic::signals::{SIGCHLD, SIGHUP, SIGINT, SIGUSR1};

// ------------------------------------------------------------------ adapter

/// Everything the tests ask of the machine. When its API changes (an owned
/// action queue), this is what changes.
struct Adapter {
    machine: Machine,
}

impl Adapter {
    fn new(s: &Scenario) -> Adapter {
        let per_slot = |flags: [bool; 4]| PerSlot::from_fn(|slot| flags[index(slot)]);
        let policy = Policy {
            restart: per_slot(s.restart),
            essential: per_slot(s.essential),
            delay_ms: s.delay_ms,
            limit: s.limit,
        };
        Adapter {
            machine: Machine::new(per_slot(s.selected), s.grace_ms, if s.sweep { Role::Pid1 } else { Role::Subreaper })
                .with_policy(policy),
        }
    }

    /// The actions `start` queued, left in the machine's queue.
    fn start(&mut self) -> Vec<Action> {
        let out = self.machine.peek_new(|machine| machine.start());
        assert!(out.len() < MAX_ACTIONS, "start: {} actions: {out:?}", out.len());
        out
    }

    /// The actions one event queued, left in the machine's queue for
    /// [`Adapter::poll_action`].
    fn handle(&mut self, event: Event, now: Millis) -> Vec<Action> {
        let out = self.machine.peek_new(|machine| machine.handle(event, now));
        assert!(out.len() < MAX_ACTIONS, "{event:?}: {} actions, some may be lost: {out:?}", out.len());
        assert!(self.machine.queue_len() <= QUEUE / 2, "the action queue reached {}", self.machine.queue_len());
        out
    }

    fn poll_action(&mut self) -> Option<Action> {
        let action = self.machine.poll_action();
        assert!(!matches!(action, Some(Action::Log(Note::ActionsLost { .. }))), "the action queue overflowed");
        action
    }

    fn next_deadline(&self) -> Option<Millis> {
        self.machine.next_deadline()
    }

    fn slot_view(&self, slot: Slot) -> SlotView {
        self.machine.slot_view(slot)
    }
}

fn index(slot: Slot) -> usize {
    match slot {
        Slot::Egress => 0,
        Slot::Pipelock => 1,
        Slot::GitGate => 2,
        Slot::Supervise => 3,
    }
}

// ---------------------------------------------------------------- scenarios

/// What the world does with the n-th `Spawn` it is asked for.
#[derive(Clone, Copy, Debug)]
struct SpawnPlan {
    /// `SpawnFailed` with this errno and code instead of a process.
    fails: Option<(i32, u8)>,
    ignores_term: bool,
    /// How the daemon ends when it heeds a SIGTERM.
    on_term: Ended,
    /// With `fails`: the failure comes from the child's report, after
    /// `Spawned`, not from the spawn itself.
    late: bool,
    /// The exec report comes only at a later `DeliverSpawn`, not at the
    /// next wait.
    deferred: bool,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    /// A signal to the init.
    Signal(i32),
    /// One of the live daemon processes ends on its own; SIGCHLD follows if `chld`.
    DaemonDies {
        which: Index,
        ended: Ended,
        chld: bool,
    },
    /// That slot's daemon, if alive, ends on its own; SIGCHLD follows.
    SlotDies {
        slot: Slot,
        ended: Ended,
    },
    /// A process re-parented to the init appears in the container.
    OrphanAppears {
        ignores_term: bool,
    },
    OrphanDies {
        which: Index,
        ended: Ended,
        chld: bool,
    },
    /// A process that is not the init's child (`docker exec`) starts or ends.
    OtherAppears {
        ignores_term: bool,
    },
    OtherEnds {
        which: Index,
    },
    /// The init waits: a pending SIGCHLD wakes it at once; else time passes,
    /// and a deadline that comes within it is fed `late` ms after it is due.
    Wait {
        ms: Millis,
        late: Millis,
    },
    /// A deadline event that is not due (the machine must ignore it).
    SpuriousDeadline,
    /// The oldest held-back exec report arrives.
    DeliverSpawn,
}

#[derive(Clone, Debug)]
struct Scenario {
    selected: [bool; 4],
    grace_ms: u32,
    sweep: bool,
    start_at: Millis,
    /// The restart policy: RESTART, ESSENTIAL, RESTART_DELAY_MS, RESTART_LIMIT.
    restart: [bool; 4],
    essential: [bool; 4],
    delay_ms: u32,
    limit: u16,
    plans: Vec<SpawnPlan>,
    ops: Vec<Op>,
}

fn ended() -> impl Strategy<Value = Ended> {
    prop_oneof![
        3 => select(vec![0, 1, 2, 143, 255, 137]).prop_map(Ended::Exited),
        2 => select(vec![SIGTERM, SIGKILL, libc::SIGSEGV, libc::SIGABRT, libc::SIGHUP, 64]).prop_map(Ended::Signaled),
    ]
}

fn signal() -> impl Strategy<Value = i32> {
    prop_oneof![
        1 => select(vec![SIGTERM, SIGINT]),
        6 => Just(SIGUSR1),
        // SIGRTMIN+1..+4: restart egress, pipelock, git-gate, supervise.
        6 => 35..=38i32,
        2 => Just(SIGHUP),
        3 => Just(SIGCHLD),
        2 => select(vec![libc::SIGUSR2, libc::SIGWINCH, libc::SIGQUIT, libc::SIGPIPE, libc::SIGALRM, libc::SIGCONT, libc::SIGSEGV, libc::SIGABRT]),
        2 => 32..=64i32,
        // Never delivered by the kernel; must still do no harm.
        1 => select(vec![0, -1, 65, 1000, i32::MIN, i32::MAX]),
    ]
}

fn spawn_plan() -> impl Strategy<Value = SpawnPlan> {
    let fails = prop_oneof![8 => Just(None), 1 => Just(Some((libc::ENOENT, NOT_FOUND))), 1 => Just(Some((libc::EACCES, NOT_EXECUTABLE)))];
    let on_term = select(vec![
        Ended::Signaled(SIGTERM),
        Ended::Exited(0),
        Ended::Exited(143),
        Ended::Exited(1),
        Ended::Exited(2),
    ]);
    (fails, prop::bool::weighted(0.25), on_term, any::<bool>(), prop::bool::weighted(0.2)).prop_map(
        |(fails, ignores_term, on_term, late, deferred)| SpawnPlan { fails, ignores_term, on_term, late, deferred },
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => signal().prop_map(Op::Signal),
        2 => (any::<Index>(), ended(), prop::bool::weighted(0.85)).prop_map(|(which, ended, chld)| Op::DaemonDies { which, ended, chld }),
        1 => (select(Slot::ALL.to_vec()), ended()).prop_map(|(slot, ended)| Op::SlotDies { slot, ended }),
        1 => any::<bool>().prop_map(|ignores_term| Op::OrphanAppears { ignores_term }),
        1 => (any::<Index>(), ended(), any::<bool>()).prop_map(|(which, ended, chld)| Op::OrphanDies { which, ended, chld }),
        1 => any::<bool>().prop_map(|ignores_term| Op::OtherAppears { ignores_term }),
        1 => any::<Index>().prop_map(|which| Op::OtherEnds { which }),
        6 => (prop_oneof![0..50u64, 0..20_000u64, Just(10_000u64), 0..70_000u64], prop_oneof![3 => Just(0u64), 1 => 0..5_000u64]).prop_map(|(ms, late)| Op::Wait { ms, late }),
        1 => Just(Op::SpuriousDeadline),
        2 => Just(Op::DeliverSpawn),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let grace = prop_oneof![select(vec![0u32, 1, 20, 100, 8000]), 0..=3_600_000u32];
    let restart = prop_oneof![1 => Just([false; 4]), 1 => Just([true; 4]), 2 => any::<[bool; 4]>()];
    let essential = prop::array::uniform4(prop::bool::weighted(0.2));
    let delay = prop_oneof![select(vec![0u32, 1, 100, 500, 29_999, 30_000, 3_600_000]), 0..=3_600_000u32];
    let limit = prop_oneof![select(vec![0u16, 1, 2, 5, 1000]), 0..=1000u16];
    (
        any::<[bool; 4]>(),
        grace,
        any::<bool>(),
        prop_oneof![Just(0u64), 0..1_000_000_000_000u64],
        (restart, essential, delay, limit),
        prop::collection::vec(spawn_plan(), 1..8),
        prop::collection::vec(op(), 0..80),
    )
        .prop_map(
            |(mut selected, grace_ms, sweep, start_at, (restart, essential, delay_ms, limit), plans, ops)| {
                // With none selected the init exits before it makes a machine.
                if selected == [false; 4] {
                    selected[1] = true;
                }
                Scenario { selected, grace_ms, sweep, start_at, restart, essential, delay_ms, limit, plans, ops }
            },
        )
}

// -------------------------------------------------------------------- world

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Alive,
    Dead(Ended),
    Reaped,
}

/// A child of the init: a daemon (with its slot) or an orphan.
#[derive(Clone, Debug)]
struct Child {
    pid: Pid,
    slot: Option<Slot>,
    state: State,
    ignores_term: bool,
    on_term: Ended,
    /// The machine has been fed its `Spawned`, at `spawned_at`.
    told: bool,
    /// Its exec report has been fed (`Execed`); it failed to start instead.
    execed: bool,
    start_failed: bool,
    /// The errno its report will carry.
    late_failure: Option<i32>,
    spawned_at: Millis,
    /// When the machine asked for its SIGTERM, and when its SIGKILL is due.
    termed: Option<Millis>,
    kill_due: Option<Millis>,
    killed: bool,
    /// A restart was accepted for this run: it must not count, and exactly
    /// one spawn of its slot follows its reap.
    replaced: bool,
}

struct World {
    adapter: Adapter,
    selected: [bool; 4],
    restart: [bool; 4],
    essential: [bool; 4],
    delay_ms: u32,
    limit: u16,
    grace: Millis,
    sweep: bool,
    now: Millis,
    plans: Vec<SpawnPlan>,
    plans_used: usize,
    next_pid: Pid,
    children: Vec<Child>,
    /// Processes that are not the init's children; `true`: it ignores SIGTERM.
    others: Vec<bool>,
    /// Spawns asked for whose result has not been fed yet.
    outstanding: [bool; 4],
    /// Selected slots not spawned yet at start-up.
    queued: [bool; 4],
    /// Children whose exec report comes at the next wait, or only at a `DeliverSpawn`.
    reports: VecDeque<Pid>,
    held_back: VecDeque<Pid>,
    chld_pending: bool,

    // The model: what SPEC says must happen, from what the world saw.
    /// The stop's start and deadline, once a SIGTERM/SIGINT began it.
    stop: Option<(Millis, Millis)>,
    /// `kill(-1, SIGTERM)` went out; the sweep's deadline.
    sweep_deadline: Option<Millis>,
    kill_all_sent: bool,
    /// Spawns of a slot the machine owes in its answer to the current event.
    owed: [u32; 4],
    last_code: [Option<u8>; 4],
    /// The restart policy's state per slot: quick deaths in a row, the
    /// waiting restart's due time, failed; and spawns asked for in all.
    quick: [u32; 4],
    waiting: [Option<Millis>; 4],
    failed: [bool; 4],
    spawns: [u32; 4],
    /// The policy notes the current event must make, and whether it makes
    /// an essential slot's shutdown.
    policy_notes: Vec<Note>,
    essential_stop: bool,
    /// The restarts a shutdown beginning now drops (each must be logged).
    dropped: Vec<Note>,
    logged_ignored: BTreeSet<i32>,
    exited: Option<(u8, Millis)>,
    /// The machine's wake-up before the current step.
    deadline_before: Option<Millis>,
    /// This event begins the stop.
    stop_begins: bool,
    /// What a restart request must do, decided before the machine sees it.
    restart_effects: Option<Vec<Action>>,
    /// What happened, for messages.
    trail: VecDeque<(Millis, Option<Event>, Vec<Action>)>,
}

struct Programs;
impl report::Context for Programs {
    fn program(&self, slot: Slot) -> &[u8] {
        slot.default_command().as_bytes()
    }
    fn error_text(&self, _: i32) -> &[u8] {
        b"No such file or directory"
    }
}

/// The slot a signal asks to restart: SIGUSR1 pipelock; SIGRTMIN+1..+4
/// (Docker's numbering, kernel 35..=38) egress, pipelock, git-gate, supervise.
fn restart_slot(sig: i32) -> Option<Slot> {
    match sig {
        SIGUSR1 | 36 => Some(Slot::Pipelock),
        35 => Some(Slot::Egress),
        37 => Some(Slot::GitGate),
        38 => Some(Slot::Supervise),
        _ => None,
    }
}

/// SPEC's backoff, in big integers: `min(base × 2^(c−1), max(base, 30000))`.
fn model_backoff(base: u32, c: u32) -> u32 {
    let exact = u128::from(base) << (c - 1).min(100);
    exact.min(u128::from(base.max(30_000))) as u32
}

/// A run's code by SPEC's Exit rules: its status, 128+N for signal N; clean
/// (0) when the init had sent it SIGTERM and it died of TERM or KILL, or
/// exited 0 or 143.
fn model_code(ended: Ended, termed: bool) -> u8 {
    match ended {
        Ended::Exited(status) => {
            let code = (status & 0xff) as u8;
            if termed && (code == 0 || code == 143) {
                0
            } else {
                code
            }
        }
        Ended::Signaled(sig) if termed && (sig == SIGTERM || sig == SIGKILL) => 0,
        Ended::Signaled(sig) => (128 + i64::from(sig)).clamp(0, 255) as u8,
    }
}

impl World {
    fn new(s: &Scenario) -> World {
        World {
            adapter: Adapter::new(s),
            selected: s.selected,
            restart: s.restart,
            essential: s.essential,
            delay_ms: s.delay_ms,
            limit: s.limit,
            grace: u64::from(s.grace_ms),
            sweep: s.sweep,
            now: s.start_at,
            plans: s.plans.clone(),
            plans_used: 0,
            next_pid: 100,
            children: Vec::new(),
            others: Vec::new(),
            outstanding: [false; 4],
            queued: s.selected,
            reports: VecDeque::new(),
            held_back: VecDeque::new(),
            chld_pending: false,
            stop: None,
            sweep_deadline: None,
            kill_all_sent: false,
            owed: [0; 4],
            last_code: [None; 4],
            quick: [0; 4],
            waiting: [None; 4],
            failed: [false; 4],
            spawns: [0; 4],
            policy_notes: Vec::new(),
            essential_stop: false,
            dropped: Vec::new(),
            logged_ignored: BTreeSet::new(),
            exited: None,
            deadline_before: None,
            stop_begins: false,
            restart_effects: None,
            trail: VecDeque::new(),
        }
    }

    fn fail(&self, what: String) -> ! {
        let steps: Vec<String> = self
            .trail
            .iter()
            .map(|(at, event, actions)| match event {
                Some(event) => format!("{at} ms: {event:?} -> {actions:?}"),
                None => format!("{at} ms: start -> {actions:?}"),
            })
            .collect();
        panic!("{what}\n  at {} ms; last steps:\n    {}", self.now, steps.join("\n    "));
    }

    /// Keeps the last steps for a failure's message.
    fn remember(&mut self, event: Option<Event>, actions: &[Action]) {
        if self.trail.len() == 40 {
            self.trail.pop_front();
        }
        self.trail.push_back((self.now, event, actions.to_vec()));
    }

    fn check(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(what());
        }
    }

    // ----- what the model knows

    /// The machine's daemons: told about, started or starting, not yet reaped.
    fn owned(&self, pid: Pid) -> Option<&Child> {
        self.children
            .iter()
            .find(|c| c.pid == pid && c.slot.is_some() && c.told && !c.start_failed && c.state != State::Reaped)
    }

    fn run_of(&self, slot: Slot) -> Option<&Child> {
        self.children.iter().find(|c| c.slot == Some(slot) && c.told && !c.start_failed && c.state != State::Reaped)
    }

    /// Spawned and its exec not reported yet, or its spawn still out.
    fn starting(&self, slot: Slot) -> bool {
        self.outstanding[index(slot)] || self.run_of(slot).is_some_and(|run| !run.execed)
    }

    /// Daemons alive or unreaped, spawns out or slots queued: the machine
    /// must not sweep or exit.
    fn daemons_left(&self) -> bool {
        self.outstanding.iter().any(|&o| o)
            || self.queued.iter().any(|&q| q)
            || self.children.iter().any(|c| c.slot.is_some() && !c.start_failed && c.state != State::Reaped)
    }

    fn has_children(&self) -> bool {
        self.children.iter().any(|c| c.state != State::Reaped)
    }

    /// The earliest restart waiting for its delay.
    fn waiting_restart(&self) -> Option<Millis> {
        self.waiting.iter().flatten().copied().min()
    }

    /// Running: no shutdown asked and no sweep begun.
    fn running(&self) -> bool {
        self.stop.is_none() && self.sweep_deadline.is_none()
    }

    fn pending_kills(&self) -> Option<Millis> {
        self.children
            .iter()
            .filter(|c| c.slot.is_some() && c.told && c.state != State::Reaped && !c.killed)
            .filter_map(|c| c.kill_due)
            .min()
    }

    // ----- feeding the machine

    fn start(&mut self) {
        let actions = self.adapter.start();
        self.remember(None, &actions);
        self.observe(Label(None), &actions);
        self.run_queue();
    }

    /// Feeds one event, checks the answer against the model, queues it.
    fn feed(&mut self, event: Event) {
        if self.exited.is_some() {
            return;
        }
        self.before(event);
        let actions = self.adapter.handle(event, self.now);
        self.remember(Some(event), &actions);
        self.after(event, &actions);
        self.observe(Label(Some(event)), &actions);
        if event == Event::Deadline {
            // Every SIGKILL that is due went out with this wake-up.
            let pending = self.pending_kills();
            self.check(pending.is_none_or(|at| at > self.now), || format!("a SIGKILL due at {pending:?} was not sent"));
            let sweep_due = self.sweep_deadline.is_some_and(|at| at <= self.now);
            self.check(!sweep_due || self.kill_all_sent, || "the sweep's SIGKILL is due and was not sent".to_string());
        }
    }

    /// What the model expects of an event, set up before the machine sees it.
    fn before(&mut self, event: Event) {
        self.stop_begins = false;
        self.restart_effects = None;
        self.policy_notes.clear();
        self.essential_stop = false;
        self.dropped.clear();
        match event {
            Event::Signal(sig) if restart_slot(sig).is_some() => {
                self.restart_effects = Some(vec![]);
                self.before_restart(restart_slot(sig).unwrap());
            }
            Event::Signal(SIGTERM | SIGINT) if self.running() => self.begin_stop(),
            Event::Reaped { pid, ended } => {
                let Some(run) = self.children.iter().find(|c| c.pid == pid) else { return };
                let (Some(slot), true, false) = (run.slot, run.told, run.start_failed) else { return };
                let (replaced, termed, lived) = (run.replaced, run.termed.is_some(), self.now - run.spawned_at);
                if replaced && self.stop.is_none() {
                    self.owed[index(slot)] += 1;
                } else {
                    self.last_code[index(slot)] = Some(model_code(ended, termed));
                    if self.running() {
                        self.died_on_its_own(slot, lived);
                    }
                }
            }
            Event::SpawnFailed { slot, errno } => {
                self.last_code[index(slot)] = Some(model_start_code(errno));
                if self.running() {
                    // Could not start: a quick death.
                    self.died_on_its_own(slot, 0);
                }
            }
            Event::Deadline if self.running() => {
                for at in 0..4 {
                    if self.waiting[at].is_some_and(|due| due <= self.now) {
                        self.waiting[at] = None;
                        self.owed[at] += 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// A shutdown begins now (SIGTERM, SIGINT, or an essential slot down for good).
    fn begin_stop(&mut self) {
        self.stop_begins = true;
        let deadline = self.now.saturating_add(self.grace);
        self.stop = Some((self.now, deadline));
        // Slots still queued at start-up are never started.
        self.queued = [false; 4];
        // Every restart asked for or waiting for its delay is dropped, and logged.
        self.dropped = Slot::ALL
            .into_iter()
            .filter(|&slot| self.waiting[index(slot)].is_some() || self.run_of(slot).is_some_and(|run| run.replaced))
            .map(|slot| Note::RestartDropped { slot })
            .collect();
        self.waiting = [None; 4];
        for child in &mut self.children {
            // A pending restart is dropped: the run counts again.
            child.replaced = false;
            if child.slot.is_some() && child.state != State::Reaped {
                child.kill_due = child.kill_due.map(|due| due.min(deadline));
            }
        }
    }

    /// SPEC's restart policy for a run of `slot` that ended on its own
    /// after `lived` ms, and the essential rule.
    fn died_on_its_own(&mut self, slot: Slot, lived: Millis) {
        let at = index(slot);
        if self.restart[at] {
            self.quick[at] = if lived >= 10_000 { 1 } else { self.quick[at].saturating_add(1) };
            let deaths = self.quick[at];
            if self.limit != 0 && deaths > u32::from(self.limit) {
                self.failed[at] = true;
                self.policy_notes.push(Note::Failed { slot, deaths });
            } else {
                let delay_ms = model_backoff(self.delay_ms, deaths);
                self.waiting[at] = Some(self.now.saturating_add(u64::from(delay_ms)));
                self.policy_notes.push(Note::RestartScheduled { slot, delay_ms, deaths });
            }
        }
        let down_for_good = !self.restart[at] || self.failed[at];
        if self.essential[at] && self.selected[at] && down_for_good {
            self.essential_stop = true;
            self.begin_stop();
        }
    }

    /// A restart request: skipped during a stop or when the slot is not
    /// selected, one with a restart already under way, else SIGTERM to the
    /// running daemon (its spawn owed at its reap) or a spawn now.
    fn before_restart(&mut self, slot: Slot) {
        let at = index(slot);
        // A run on its way (starting, or queued at start-up) is the fresh start asked for.
        if self.stop.is_some()
            || self.sweep_deadline.is_some()
            || !self.selected[at]
            || self.starting(slot)
            || self.queued[at]
        {
            return;
        }
        let (now, grace) = (self.now, self.grace);
        let run = self
            .children
            .iter_mut()
            .find(|c| c.slot == Some(slot) && c.told && !c.start_failed && c.state != State::Reaped);
        match run {
            Some(run) if run.replaced => {}
            Some(run) => {
                run.replaced = true;
                run.kill_due = Some(now.saturating_add(grace));
                self.restart_effects = Some(vec![Action::SignalGroup { pid: run.pid, sig: SIGTERM }]);
                // A requested restart is a fresh start.
                self.quick[at] = 0;
            }
            None => {
                // Down, failed, or waiting for its delay: at once, with c = 0.
                self.owed[at] += 1;
                self.restart_effects = Some(vec![Action::Spawn(slot)]);
                self.quick[at] = 0;
                self.waiting[at] = None;
                self.failed[at] = false;
            }
        }
    }

    /// Checks the machine's answer to one event.
    fn after(&mut self, event: Event, actions: &[Action]) {
        let effects: Vec<Action> = actions.iter().filter(|a| !matches!(a, Action::Log(_))).copied().collect();
        let notes: Vec<Note> =
            actions.iter().filter_map(|a| if let Action::Log(n) = a { Some(*n) } else { None }).collect();
        match event {
            Event::Signal(SIGCHLD) => {
                self.check(effects == [Action::Reap], || format!("SIGCHLD must ask for a reap: {effects:?}"))
            }
            Event::Signal(SIGHUP) => {
                let expected: Vec<Action> = match self.run_of(Slot::Egress) {
                    Some(run) if run.execed => vec![Action::SignalProcess { pid: run.pid, sig: SIGHUP }],
                    _ => vec![],
                };
                self.check(effects == expected, || format!("SIGHUP: {effects:?}, expected {expected:?}"));
            }
            Event::Signal(sig) if restart_slot(sig).is_some() => {
                let expected = self.restart_effects.clone().unwrap_or_default();
                self.check(effects == expected, || {
                    format!("restart signal {sig}: {effects:?}, SPEC says {expected:?}")
                });
            }
            Event::Signal(SIGTERM | SIGINT) => {}
            Event::Signal(sig) => {
                self.check(effects.is_empty(), || format!("signal {sig} must be ignored: {effects:?}"));
                if notes.iter().any(|n| matches!(n, Note::IgnoredSignal { .. })) && (1..=64).contains(&sig) {
                    let first = self.logged_ignored.insert(sig);
                    self.check(first, || format!("signal {sig} logged as ignored twice"));
                }
            }
            Event::Reaped { pid, ended } => match self.children.iter().find(|c| c.pid == pid) {
                Some(Child { slot: Some(slot), told: true, start_failed: false, .. }) => {
                    let died = Note::Died { slot: *slot, pid, ended };
                    self.check(notes.contains(&died), || format!("no {died:?} in {notes:?}"));
                    // Its output is drained before its death is logged.
                    let drain = actions.iter().position(|a| *a == Action::DrainOutput(*slot));
                    let note = actions.iter().position(|a| *a == Action::Log(died));
                    self.check(drain.is_some() && drain < note, || format!("no drain before {died:?}: {actions:?}"));
                }
                _ => self.check(actions.is_empty(), || format!("an orphan's death must be quiet: {actions:?}")),
            },
            Event::SpawnFailed { slot, errno } => {
                let note = Note::CannotStart { slot, errno, code: model_start_code(errno).into() };
                self.check(notes.first() == Some(&note), || format!("no {note:?} first in {notes:?}"));
            }
            Event::Spawned { slot, pid } => {
                self.check(notes.is_empty(), || {
                    format!("{slot:?} pid {pid} said something before its exec: {notes:?}")
                });
            }
            Event::Execed { slot } => {
                let pid = self.run_of(slot).map(|run| run.pid).unwrap();
                let note = Note::Started { slot, pid };
                self.check(notes.first() == Some(&note), || format!("no {note:?} first in {notes:?}"));
            }
            Event::Deadline => {
                let due = self.deadline_before.is_some_and(|at| at <= self.now);
                self.check(due || effects.is_empty(), || format!("a deadline that was not due acted: {effects:?}"));
            }
            Event::NoChildren { .. } => {}
            // Not generated: machine_tests checks requests.
            Event::Requested { .. } => {}
        }
        let policy: Vec<Note> = notes
            .iter()
            .filter(|n| matches!(n, Note::RestartScheduled { .. } | Note::Failed { .. }))
            .copied()
            .collect();
        self.check(policy == self.policy_notes, || {
            format!("restart policy notes {policy:?}, SPEC says {:?}", self.policy_notes)
        });
        let essential = notes.iter().any(|n| matches!(n, Note::EssentialDown { .. }));
        self.check(essential == self.essential_stop, || {
            format!("essential shutdown: {essential}, SPEC says {} ({notes:?})", self.essential_stop)
        });
        let by_signal = matches!(event, Event::Signal(SIGTERM | SIGINT));
        if by_signal || self.essential_stop {
            if by_signal {
                let says = notes.iter().any(|n| matches!(n, Note::ShuttingDown { .. }));
                self.check(says == self.stop_begins, || {
                    format!("shutdown begins: {}, notes {notes:?}", self.stop_begins)
                });
            }
            if self.stop_begins {
                let dropped: Vec<Note> =
                    notes.iter().filter(|n| matches!(n, Note::RestartDropped { .. })).copied().collect();
                self.check(dropped == self.dropped, || {
                    format!("the shutdown dropped {dropped:?}, SPEC says {:?}", self.dropped)
                });
                // SIGTERM to every running daemon's group that has not had one.
                let mut expected: Vec<Pid> = Slot::ALL
                    .iter()
                    .filter_map(|&slot| self.run_of(slot))
                    .filter(|run| run.termed.is_none())
                    .map(|run| run.pid)
                    .collect();
                expected.sort_unstable();
                let mut termed: Vec<Pid> = effects
                    .iter()
                    .filter_map(|a| if let Action::SignalGroup { pid, sig: SIGTERM } = a { Some(*pid) } else { None })
                    .collect();
                termed.sort_unstable();
                self.check(termed == expected, || format!("shutdown TERMed {termed:?}, expected {expected:?}"));
            } else {
                self.check(effects.is_empty(), || format!("a second shutdown request changes nothing: {effects:?}"));
            }
        }
    }
}

impl World {
    /// Checks every action of one answer, in order, and queues them.
    fn observe(&mut self, label: Label, actions: &[Action]) {
        for (at, &action) in actions.iter().enumerate() {
            match action {
                Action::Spawn(slot) => {
                    let i = index(slot);
                    self.check(self.selected[i], || format!("{label}: spawned unselected {slot:?}"));
                    if self.queued[i] {
                        // Start-up: the first queued slot, once none is starting.
                        let first = self.queued.iter().position(|&q| q) == Some(i);
                        let busy: Vec<Slot> = Slot::ALL.into_iter().filter(|&s| self.starting(s)).collect();
                        self.check(first && busy.is_empty(), || {
                            format!(
                                "{label}: start-up spawned {slot:?} out of turn (queued {:?}, starting {busy:?})",
                                self.queued
                            )
                        });
                        self.queued[i] = false;
                    } else {
                        self.check(self.owed[i] > 0, || {
                            format!("{label}: a Spawn({slot:?}) nobody asked for (a doubled restart?)")
                        });
                        self.owed[i] -= 1;
                    }
                    self.check(!self.outstanding[i] && self.run_of(slot).is_none(), || {
                        format!("{label}: a second run of {slot:?}")
                    });
                    self.check(self.stop.is_none() && self.sweep_deadline.is_none(), || {
                        format!("{label}: Spawn({slot:?}) during a stop")
                    });
                    self.outstanding[i] = true;
                    self.spawns[i] += 1;
                }
                Action::SignalGroup { pid, sig } => {
                    let Some(run) = self.owned(pid).cloned() else {
                        self.fail(format!("{label}: group signal {sig} to pid {pid}, which is no daemon it owns"))
                    };
                    match sig {
                        SIGTERM => {
                            self.check(run.termed.is_none(), || format!("{label}: a second SIGTERM to {pid}"));
                            let due = match self.stop {
                                Some((_, deadline)) => deadline,
                                None => {
                                    self.check(run.replaced, || {
                                        format!("{label}: SIGTERM to {pid} without a stop or restart")
                                    });
                                    self.now.saturating_add(self.grace)
                                }
                            };
                            let child = self.children.iter_mut().find(|c| c.pid == pid).unwrap();
                            child.termed = Some(self.now);
                            child.kill_due = Some(child.kill_due.map_or(due, |d| d.min(due)));
                        }
                        SIGKILL => {
                            let due = run.kill_due;
                            self.check(due.is_some_and(|d| d <= self.now), || {
                                format!("{label}: SIGKILL to {pid} due {due:?}, early")
                            });
                            self.check(!run.killed, || format!("{label}: a second SIGKILL to {pid}"));
                            self.children.iter_mut().find(|c| c.pid == pid).unwrap().killed = true;
                        }
                        _ => self.fail(format!("{label}: group signal {sig}")),
                    }
                }
                Action::SignalProcess { pid, sig } => {
                    let egress = self.run_of(Slot::Egress).filter(|r| r.execed).map(|r| r.pid);
                    // A stop's SIGTERM, right after the one to its group.
                    let starting_stop = sig == SIGTERM
                        && self.owned(pid).is_some_and(|run| !run.execed && run.termed == Some(self.now))
                        && at > 0
                        && actions[at - 1] == Action::SignalGroup { pid, sig: SIGTERM };
                    self.check(sig == SIGHUP && egress == Some(pid) || starting_stop, || {
                        format!("{label}: signal {sig} to {pid} (egress {egress:?})")
                    });
                }
                Action::SignalAll(sig) => {
                    self.check(self.sweep, || format!("{label}: kill(-1) when not PID 1"));
                    self.check(!self.daemons_left(), || format!("{label}: kill(-1, {sig}) with daemons left"));
                    let waiting = self.waiting_restart();
                    self.check(waiting.is_none(), || format!("{label}: a sweep while a restart waits ({waiting:?})"));
                    match sig {
                        SIGTERM => {
                            self.check(self.sweep_deadline.is_none(), || format!("{label}: a second sweep"));
                            let deadline = self.stop.map_or(self.now.saturating_add(self.grace), |(_, d)| d);
                            self.sweep_deadline = Some(deadline);
                        }
                        SIGKILL => {
                            let deadline = self.sweep_deadline;
                            self.check(deadline.is_some_and(|d| d <= self.now), || {
                                format!("{label}: sweep SIGKILL before {deadline:?}")
                            });
                            self.check(!self.kill_all_sent, || format!("{label}: a second sweep SIGKILL"));
                            self.kill_all_sent = true;
                        }
                        _ => self.fail(format!("{label}: kill(-1, {sig})")),
                    }
                }
                Action::Reap | Action::DrainOutput(_) => {}
                Action::Log(note) => {
                    let line = report::note(&note, &Programs, None);
                    let text = String::from_utf8_lossy(line.as_bytes());
                    self.check(text.ends_with('\n') && text.matches('\n').count() == 1, || {
                        format!("{note:?} renders {text:?}")
                    });
                    if matches!(note, Note::RestartDropped { .. }) {
                        self.check(self.stop.is_some_and(|(start, _)| start == self.now), || {
                            format!("{label}: {note:?} outside a shutdown")
                        });
                    }
                }
                Action::Exit(code) => {
                    self.check(at + 1 == actions.len(), || format!("{label}: actions after Exit: {actions:?}"));
                    self.check(!self.daemons_left(), || {
                        format!("{label}: exit with daemons left: {:?}", self.children)
                    });
                    let waiting = self.waiting_restart();
                    self.check(waiting.is_none(), || format!("{label}: exit while a restart waits ({waiting:?})"));
                    let expected = self
                        .selected
                        .iter()
                        .zip(self.last_code.iter().zip(self.spawns))
                        .filter(|(on, _)| **on)
                        .map(|(_, (&code, spawns))| {
                            // A slot still queued when the stop began never ran.
                            code.or((spawns == 0).then_some(0))
                                .unwrap_or_else(|| self.fail(format!("{label}: a selected slot never ended")))
                        })
                        .max()
                        .unwrap_or(0);
                    self.check(code == expected, || {
                        format!("{label}: exit code {code}, SPEC says {expected} ({:?})", self.last_code)
                    });
                    if self.sweep {
                        self.check(self.sweep_deadline.is_some(), || format!("{label}: exit as PID 1 without a sweep"));
                        self.check(!self.has_children(), || format!("{label}: exit with children left"));
                        self.check(self.kill_all_sent || self.others.is_empty(), || {
                            format!("{label}: exit while others live, before the sweep's SIGKILL")
                        });
                    }
                }
            }
        }
        for slot in Slot::ALL {
            let owed = self.owed[index(slot)];
            self.check(owed == 0, || {
                format!("{label}: {owed} spawn(s) of {slot:?} owed but not asked for (a lost restart?)")
            });
        }
        let busy = Slot::ALL.into_iter().any(|s| self.starting(s));
        self.check(busy || !self.queued.contains(&true) || !self.running(), || {
            format!("{label}: start-up stalled with {:?} queued and nothing starting", self.queued)
        });
    }

    /// Carries out the machine's queued actions, as the shell does, until
    /// none is left (the machine's own queue: a pid's signals still queued
    /// when it is reaped are the machine's to drop).
    fn run_queue(&mut self) {
        loop {
            while let Some(action) = self.adapter.poll_action() {
                self.carry_out(action);
                if self.exited.is_some() {
                    return;
                }
            }
            // The wait point: the reports that are ready by now.
            let Some(pid) = self.reports.pop_front() else { return };
            self.report(pid);
        }
    }

    /// Feeds a child's exec report, as the shell does when its pipe is
    /// ready or before its reap: a failure if it was to fail and lived to
    /// say so (it then exits 127), else that it exec'd (EOF: also when it
    /// died before its exec).
    fn report(&mut self, pid: Pid) {
        self.reports.retain(|&p| p != pid);
        self.held_back.retain(|&p| p != pid);
        let Some(child) = self.children.iter_mut().find(|c| c.pid == pid) else { return };
        let slot = child.slot.unwrap();
        match child.late_failure {
            Some(errno) if child.state == State::Alive => {
                child.start_failed = true;
                child.state = State::Dead(Ended::Exited(127));
                self.chld_pending = true;
                self.feed(Event::SpawnFailed { slot, errno });
            }
            _ => {
                child.execed = true;
                self.feed(Event::Execed { slot });
            }
        }
    }

    fn carry_out(&mut self, action: Action) {
        match action {
            Action::Spawn(slot) => {
                let plan = self.plans[self.plans_used % self.plans.len()];
                self.plans_used += 1;
                self.deliver(slot, plan);
            }
            // No guard: the machine drops the signals of a reaped pid itself.
            Action::DrainOutput(_) => {}
            Action::SignalGroup { pid, sig } if self.owned(pid).is_none() => {
                // A group outlives its reaped leader (its number is not reused
                // while it has members): only a daemon's group may be signalled.
                let daemon = self.children.iter().any(|c| c.pid == pid && c.slot.is_some() && c.told);
                self.check(daemon, || format!("kill(-{pid}, {sig}) to a group that was never a daemon's"));
            }
            Action::SignalGroup { pid, sig } => {
                let child = self.children.iter_mut().find(|c| c.pid == pid).unwrap();
                // The worst case for a starting child: no group of its own yet.
                if child.state == State::Alive && child.execed && (sig == SIGKILL || !child.ignores_term) {
                    child.state = State::Dead(if sig == SIGKILL { Ended::Signaled(SIGKILL) } else { child.on_term });
                    self.chld_pending = true;
                }
            }
            Action::SignalProcess { pid, sig } => {
                self.check(self.owned(pid).is_some(), || format!("kill({pid}, {sig}) after its reap"));
                // Blocked until just before its exec, at its default action
                // there: a starting child dies of it, whatever its program does.
                let child = self.children.iter_mut().find(|c| c.pid == pid).unwrap();
                if sig == SIGTERM && !child.execed && child.state == State::Alive {
                    child.state = State::Dead(Ended::Signaled(SIGTERM));
                    self.chld_pending = true;
                }
            }
            Action::SignalAll(sig) => {
                for child in &mut self.children {
                    if child.state == State::Alive && (sig == SIGKILL || !child.ignores_term) {
                        child.state = State::Dead(Ended::Signaled(sig));
                        self.chld_pending = true;
                    }
                }
                self.others.retain(|&ignores_term| sig != SIGKILL && ignores_term);
            }
            Action::Reap => {
                self.chld_pending = false;
                while let Some(child) = self.children.iter().find(|c| matches!(c.state, State::Dead(_))) {
                    let State::Dead(ended) = child.state else { unreachable!() };
                    let pid = child.pid;
                    // The shell reads a starting child's report before its reap.
                    if self.reports.contains(&pid) || self.held_back.contains(&pid) {
                        self.report(pid);
                        if self.exited.is_some() {
                            return;
                        }
                    }
                    self.children.iter_mut().find(|c| c.pid == pid).unwrap().state = State::Reaped;
                    self.feed(Event::Reaped { pid, ended });
                }
                if !self.has_children() {
                    let others_left = !self.others.is_empty();
                    self.feed(Event::NoChildren { others_left });
                }
            }
            Action::Log(_) => {}
            Action::Exit(code) => self.exited = Some((code, self.now)),
        }
    }

    fn deliver(&mut self, slot: Slot, plan: SpawnPlan) {
        self.outstanding[index(slot)] = false;
        match plan.fails {
            Some((errno, _)) if !plan.late => self.feed(Event::SpawnFailed { slot, errno }),
            _ => {
                let pid = self.new_pid();
                self.children.push(Child {
                    pid,
                    slot: Some(slot),
                    state: State::Alive,
                    ignores_term: plan.ignores_term,
                    on_term: plan.on_term,
                    told: true,
                    execed: false,
                    start_failed: false,
                    late_failure: plan.fails.map(|(errno, _)| errno),
                    spawned_at: self.now,
                    termed: None,
                    kill_due: None,
                    killed: false,
                    replaced: false,
                });
                if plan.deferred {
                    self.held_back.push_back(pid);
                } else {
                    self.reports.push_back(pid);
                }
                self.feed(Event::Spawned { slot, pid });
            }
        }
    }

    fn new_pid(&mut self) -> Pid {
        self.next_pid += 1;
        self.next_pid
    }

    // ----- after every step

    fn check_step(&self) {
        if self.exited.is_some() {
            return;
        }
        let next = self.adapter.next_deadline();
        match self.sweep_deadline {
            None => {
                // A waiting restart is a deadline; with nothing pending, none: no idle wake-up.
                let (kills, restarts) = (self.pending_kills(), self.waiting_restart());
                let expected = kills.into_iter().chain(restarts).min();
                self.check(next == expected, || {
                    format!(
                        "next_deadline {next:?}, SPEC says {expected:?} (SIGKILL due {kills:?}, restart due {restarts:?})"
                    )
                });
                if let (Some((_, deadline)), Some(at)) = (self.stop, next) {
                    self.check(at <= deadline, || format!("wake-up {at} after the stop's deadline {deadline}"));
                }
            }
            Some(deadline) if self.kill_all_sent => {
                self.check(next.is_none(), || {
                    format!("wake-up {next:?} after the sweep's SIGKILL (deadline {deadline})")
                });
            }
            Some(deadline) => {
                self.check(next.is_some_and(|at| at <= deadline), || {
                    format!("sweep wake-up {next:?}, its deadline {deadline}")
                });
            }
        }
        if !self.daemons_left() && self.waiting_restart().is_none() {
            self.check(self.sweep_deadline.is_some() || !self.sweep && self.exited.is_some(), || {
                "every slot is down for good, yet no sweep or exit".to_string()
            });
        }
        self.check_views();
    }

    /// What `status` would show agrees with the model, slot by slot.
    fn check_views(&self) {
        for slot in Slot::ALL {
            let at = index(slot);
            let view = self.adapter.slot_view(slot);
            let run = self.run_of(slot);
            let state = if self.outstanding[at] || self.queued[at] {
                SlotState::Starting
            } else if let Some(run) = run {
                if run.termed.is_some() {
                    SlotState::Stopping
                } else if !run.execed {
                    SlotState::Starting
                } else {
                    SlotState::Up
                }
            } else if let Some(at) = self.waiting[at] {
                SlotState::Waiting { at }
            } else if self.failed[at] {
                SlotState::Failed
            } else {
                SlotState::Down
            };
            let expected = SlotView {
                selected: self.selected[at],
                state,
                pid: run.map(|r| r.pid),
                started_at: run.map(|r| r.spawned_at),
                restarts: self.spawns[at].saturating_sub(1),
                quick_deaths: self.quick[at],
                last_code: self.last_code[at],
                // The model keeps no pid after a run: checked while one runs.
                last_pid: run.map(|r| r.pid).or(view.last_pid),
            };
            self.check(view == expected, || format!("slot_view({slot:?}) is {view:?}, the model says {expected:?}"));
        }
    }

    // ----- the script

    /// One of the living daemons (or orphans) picked by `which` dies with
    /// `ended`; with `chld`, its SIGCHLD is fed at once.
    fn one_dies(&mut self, daemon: bool, which: Index, ended: Ended, chld: bool) {
        let alive: Vec<usize> = (0..self.children.len())
            .filter(|&i| self.children[i].slot.is_some() == daemon && self.children[i].state == State::Alive)
            .collect();
        if !alive.is_empty() {
            let i = alive[which.index(alive.len())];
            self.children[i].state = State::Dead(ended);
            self.chld_pending = true;
            if chld {
                self.feed(Event::Signal(SIGCHLD));
            }
        }
    }

    fn step(&mut self, op: Op) {
        self.deadline_before = self.adapter.next_deadline();
        match op {
            Op::Signal(sig) => self.feed(Event::Signal(sig)),
            Op::DaemonDies { which, ended, chld } => self.one_dies(true, which, ended, chld),
            Op::SlotDies { slot, ended } => {
                let alive = self.children.iter_mut().find(|c| c.slot == Some(slot) && c.state == State::Alive);
                if let Some(child) = alive {
                    child.state = State::Dead(ended);
                    self.chld_pending = true;
                    self.feed(Event::Signal(SIGCHLD));
                }
            }
            Op::OrphanAppears { ignores_term } => {
                let pid = self.new_pid();
                self.children.push(Child {
                    pid,
                    slot: None,
                    state: State::Alive,
                    ignores_term,
                    on_term: Ended::Signaled(SIGTERM),
                    told: false,
                    execed: false,
                    start_failed: false,
                    late_failure: None,
                    spawned_at: 0,
                    termed: None,
                    kill_due: None,
                    killed: false,
                    replaced: false,
                });
            }
            Op::OrphanDies { which, ended, chld } => self.one_dies(false, which, ended, chld),
            Op::OtherAppears { ignores_term } => self.others.push(ignores_term),
            Op::OtherEnds { which } => {
                if !self.others.is_empty() {
                    let i = which.index(self.others.len());
                    self.others.remove(i);
                }
            }
            Op::Wait { ms, late } => self.wait(ms, late),
            Op::SpuriousDeadline => {
                if self.adapter.next_deadline().is_none_or(|at| at > self.now) {
                    self.feed(Event::Deadline);
                }
            }
            Op::DeliverSpawn => {
                if let Some(&pid) = self.held_back.front() {
                    self.report(pid);
                }
            }
        }
        self.run_queue();
        self.check_step();
    }

    /// The shell's wait point: a due deadline first, then a pending signal,
    /// else time passes up to the next deadline (fed `late` ms late).
    fn wait(&mut self, ms: Millis, late: Millis) {
        let next = self.adapter.next_deadline();
        if next.is_some_and(|at| at <= self.now) {
            self.feed(Event::Deadline);
        } else if self.chld_pending {
            self.feed(Event::Signal(SIGCHLD));
        } else {
            let until = self.now.saturating_add(ms);
            match next {
                Some(at) if at <= until => {
                    self.now = at.saturating_add(late);
                    self.feed(Event::Deadline);
                }
                _ => self.now = until,
            }
        }
    }

    /// SIGTERM, then the shell's loop with every held-back spawn delivered and
    /// time jumping to each deadline: the init must exit by the stop's deadline.
    fn settle(&mut self) {
        let settle_start = self.now;
        while let Some(&pid) = self.held_back.front() {
            self.report(pid);
            self.run_queue();
            self.check_step();
        }
        self.step(Op::Signal(SIGTERM));
        for _ in 0..200 {
            if self.exited.is_some() {
                break;
            }
            self.deadline_before = self.adapter.next_deadline();
            if self.chld_pending {
                self.feed(Event::Signal(SIGCHLD));
            } else if let Some(at) = self.adapter.next_deadline() {
                // Late is allowed: while sweeping, go straight to its deadline
                // rather than through every 20 ms look.
                self.now = self.now.max(at).max(self.sweep_deadline.unwrap_or(at));
                self.feed(Event::Deadline);
            } else {
                self.fail(format!(
                    "stuck: nothing pending and no exit; children {:?}, others {:?}",
                    self.children, self.others
                ));
            }
            self.run_queue();
            self.check_step();
        }
        let Some((_, at)) = self.exited else { self.fail("no exit after 200 wake-ups".to_string()) };
        let deadline = self.sweep_deadline.or(self.stop.map(|(_, d)| d)).unwrap_or(at);
        self.check(at <= deadline.max(settle_start), || format!("exit at {at}, after the stop's deadline {deadline}"));
    }
}

/// The event an answer is checked for, in failure messages.
#[derive(Clone, Copy)]
struct Label(Option<Event>);

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(event) => write!(f, "{event:?}"),
            None => write!(f, "start"),
        }
    }
}

fn run(scenario: &Scenario) {
    let mut world = World::new(scenario);
    world.start();
    world.check_step();
    for &op in &scenario.ops {
        if world.exited.is_some() {
            break;
        }
        world.step(op);
    }
    if world.exited.is_none() {
        world.settle();
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn random_runs_keep_specs_invariants(scenario in scenario()) {
        run(&scenario);
    }
}

/// Paths the random runs reach only now and then, run every time.
#[test]
fn fixed_runs_through_the_tricky_paths() {
    let plan =
        SpawnPlan { fails: None, ignores_term: false, on_term: Ended::Signaled(SIGTERM), late: false, deferred: false };
    let stubborn = SpawnPlan { ignores_term: true, ..plan };
    let held = SpawnPlan { deferred: true, ..plan };
    let wait = |ms| Op::Wait { ms, late: 0 };
    let all = [true; 4];
    let cases = [
        // Restart requests while pipelock is being spawned, while the old
        // run is stopping (one heeding SIGTERM, one needing SIGKILL), and again.
        (
            vec![plan, held, plan, plan, stubborn, plan],
            vec![
                Op::Signal(SIGUSR1),
                Op::DeliverSpawn,
                Op::Signal(SIGUSR1),
                Op::Signal(SIGUSR1),
                wait(0),
                Op::Signal(SIGUSR1),
                Op::Signal(SIGUSR1),
                wait(9000),
                wait(0),
                Op::Signal(SIGUSR1),
            ],
        ),
        // A restart dropped by a shutdown; a daemon spawned during the stop.
        (vec![held, stubborn], vec![Op::Signal(SIGUSR1), Op::Signal(SIGTERM), Op::DeliverSpawn, wait(100)]),
        // Others outlive the sweep's SIGTERM; an orphan dies quietly.
        (
            vec![plan],
            vec![
                Op::OtherAppears { ignores_term: true },
                Op::OrphanAppears { ignores_term: false },
                Op::Signal(SIGTERM),
                wait(0),
                wait(20),
                wait(30),
                wait(8000),
            ],
        ),
    ];
    for (plans, ops) in cases {
        for sweep in [true, false] {
            run(&Scenario {
                selected: all,
                grace_ms: 8000,
                sweep,
                start_at: 5,
                restart: [false; 4],
                essential: [false; 4],
                delay_ms: 500,
                limit: 5,
                plans: plans.clone(),
                ops: ops.clone(),
            });
        }
    }
}

/// The restart policy's paths, run every time: crash loops into the
/// failed state and back on request, a 10 s run resetting the count, a
/// waiting restart dropped by a shutdown or started early by RTMIN+k, an
/// essential slot failing, and the exit only once no restart waits.
#[test]
fn fixed_runs_through_the_restart_policy() {
    let plan =
        SpawnPlan { fails: None, ignores_term: false, on_term: Ended::Signaled(SIGTERM), late: false, deferred: false };
    let cannot = SpawnPlan { fails: Some((libc::ENOENT, NOT_FOUND)), ..plan };
    let held = SpawnPlan { deferred: true, ..plan };
    let wait = |ms| Op::Wait { ms, late: 0 };
    let crash = |at: usize| Op::SlotDies { slot: Slot::ALL[at], ended: Ended::Exited(1) };
    /// RESTART, ESSENTIAL, RESTART_DELAY_MS, RESTART_LIMIT, spawn plans, ops.
    type Case = ([bool; 4], [bool; 4], u32, u16, Vec<SpawnPlan>, Vec<Op>);
    let cases: Vec<Case> = vec![
        // pipelock alone crash-loops into failed, comes back on RTMIN+2, fails again.
        (
            [false, true, false, false],
            [false; 4],
            100,
            2,
            vec![plan],
            vec![crash(0), wait(100), crash(0), wait(200), crash(0), wait(5000), Op::Signal(36), crash(0), wait(100)],
        ),
        // A run of 10 s resets the count; SIGUSR1 starts a waiting restart early.
        (
            [true; 4],
            [false; 4],
            500,
            1,
            vec![plan],
            vec![crash(1), wait(500), wait(10_000), crash(1), wait(500), crash(1), Op::Signal(SIGUSR1), Op::Signal(36)],
        ),
        // A shutdown while restarts wait; a program that cannot start loops at delay 0 without limit.
        (
            [true; 4],
            [false; 4],
            0,
            0,
            vec![plan, cannot, cannot, plan],
            vec![crash(0), wait(0), wait(0), wait(0), crash(2), Op::Signal(SIGTERM), wait(0)],
        ),
        // An essential slot that fails takes the bundle down; others wait meanwhile.
        (
            [true; 4],
            [true, false, false, false],
            100,
            1,
            vec![plan, held, plan],
            vec![crash(3), crash(0), Op::DeliverSpawn, wait(100), crash(0), wait(0)],
        ),
        // An essential slot without restart; a restart signal for an unselected slot.
        (
            [false; 4],
            [false, false, true, false],
            500,
            5,
            vec![plan],
            vec![Op::Signal(35), Op::Signal(38), crash(2), wait(0)],
        ),
    ];
    for (restart, essential, delay_ms, limit, plans, ops) in cases {
        for sweep in [true, false] {
            run(&Scenario {
                selected: [true, true, true, false],
                grace_ms: 8000,
                sweep,
                start_at: 5,
                restart,
                essential,
                delay_ms,
                limit,
                plans: plans.clone(),
                ops: ops.clone(),
            });
        }
    }
}

/// SPEC's codes of a run that could not start, as the model has them:
/// 127 when the program is not found, 126 for anything else.
fn model_start_code(errno: i32) -> u8 {
    if errno == libc::ENOENT || errno == libc::ENOTDIR {
        127
    } else {
        126
    }
}
