//! The imperative shell: one wait point (poll on the signalfd, the log pipes
//! and the sinks with a backlog; the next deadline as its timeout), events
//! fed to the machine, its actions carried out with the `sys` layer.

mod logs;

pub use logs::Logs;

use heapless::{Deque, Vec};

use crate::core::config::Config;
use crate::core::machine::{Action, Actions, Event, Machine, Millis, NOT_EXECUTABLE, NOT_FOUND};
use crate::core::privilege::User;
use crate::core::report::{self, Context, Startup};
use crate::core::slot::Slot;
use crate::core::trouble::Trouble;
use crate::sys::clock::now_ms;
use crate::sys::environ::{Environ, Strings};
use crate::sys::signals::{self, SignalFd};
use crate::sys::spawn::{self, DEFAULT_PATH};
use crate::sys::wait::{self, Reaped};
use crate::sys::{error_text, process};

/// Actions waiting to be carried out: one event's worth and what the
/// outcomes of its spawns and reaps add (each of those at most four daemons).
type Queue = Deque<Action, 128>;

pub struct Shell<'a> {
    config: &'a Config,
    /// Each slot's daemon's environment, in slot order (SPEC: private variables).
    envp: [Strings; 4],
    search_path: &'static [u8],
    signals: SignalFd,
    logs: Logs,
    machine: Machine,
    /// The monotonic clock, read once before and once after each wait.
    now: Millis,
}

/// What rendering a note needs from outside the machine.
struct ReportContext<'a>(&'a Config);

impl Context for ReportContext<'_> {
    fn program(&self, slot: Slot) -> &[u8] {
        self.0.commands.get(slot).program()
    }
    fn error_text(&self, errno: i32) -> &[u8] {
        error_text(errno)
    }
    fn user(&self, slot: Slot) -> Option<User> {
        self.0.users.get(slot as usize).copied().flatten()
    }
}

impl<'a> Shell<'a> {
    pub fn new(
        config: &'a Config,
        environ: Environ,
        envp: [Strings; 4],
        signals: SignalFd,
        logs: Logs,
        pid1: bool,
    ) -> Self {
        let search_path = environ.get("PATH").unwrap_or(DEFAULT_PATH);
        let machine = Machine::new(config.selected, config.grace_ms, pid1).with_policy(config.policy);
        Shell { config, envp, search_path, signals, logs, machine, now: now_ms() }
    }

    /// Runs the daemons until the machine says exit; returns the exit code.
    pub fn run(&mut self) -> u8 {
        self.log_troubles();
        let mut first = Actions::new();
        self.machine.start(&mut first);
        let mut queue = Queue::new();
        enqueue(&mut queue, first);
        loop {
            if let Some(code) = self.execute(&mut queue) {
                let deadline = self.machine.output_deadline(now_ms());
                self.logs.finish(deadline, code);
                return code;
            }
            self.wait(&mut queue);
        }
    }

    /// Blocks at the one wait point, then turns what woke it into actions.
    /// A deadline already due still gets a poll that does not block, so
    /// deadlines that keep coming due (a restart delay of 0 for a program
    /// that cannot start) cannot starve signals and pipes.
    #[inline(never)]
    fn wait(&mut self, queue: &mut Queue) {
        let deadline = self.machine.next_deadline();
        self.now = now_ms();
        // A due deadline makes the poll a look (zero timeout): signals are
        // still read, so a deadline due at every wake cannot starve them.
        let signalled = self.logs.wait(Some(self.signals.fd()), deadline, self.now);
        // One clock reading a wake: a burst of reaps costs no system call each.
        self.now = now_ms();
        if deadline.is_some_and(|at| at <= self.now) {
            self.feed(Event::Deadline, queue);
        }

        // One batch of signals a wake, each fed as it is read; the poll is
        // level-triggered, so a flood cannot push any signal out.
        let mut batch: Vec<i32, { SignalFd::BATCH }> = Vec::new();
        if signalled {
            self.signals.read_batch(|sig| {
                let _ = batch.push(sig);
            });
        }
        for sig in batch {
            self.feed(Event::Signal(sig), queue);
        }
        signals::take_sent_faults(|sig| self.logs.trouble(Trouble::SentFault { sig }));
        self.logs.flush();
        self.log_troubles();
    }

    fn feed(&mut self, event: Event, queue: &mut Queue) {
        let mut actions = Actions::new();
        self.machine.handle(event, self.now, &mut actions);
        enqueue(queue, actions);
    }

    /// Carries out queued actions until none is left, or the machine exits.
    #[inline(never)]
    fn execute(&mut self, queue: &mut Queue) -> Option<u8> {
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Spawn(slot) => {
                    let event = self.spawn(slot);
                    self.feed(event, queue);
                }
                // Only to a run the machine still has: one reaped since the
                // action was queued (later in the same reap loop or signal
                // batch) may have a new owner of its pid.
                Action::SignalGroup { pid, sig } if self.machine.slot_of(pid).is_some() => {
                    process::kill_group(pid, sig)
                }
                Action::SignalProcess { pid, sig } if self.machine.slot_of(pid).is_some() => {
                    process::kill_process(pid, sig)
                }
                Action::SignalGroup { .. } | Action::SignalProcess { .. } => {}
                Action::SignalAll(sig) => process::kill_all(sig),
                Action::Reap => self.reap(queue),
                Action::Log(note) => self.logs.note(&report::note(&note, &ReportContext(self.config))),
                Action::Exit(code) => return Some(code),
            }
        }
        None
    }

    /// A line about how the start-up went, before the daemons start.
    pub fn startup_note(&mut self, what: Startup) {
        self.logs.note(&report::startup(what));
    }

    fn log_troubles(&mut self) {
        while let Some(trouble) = self.logs.next_trouble() {
            self.logs.note(&report::trouble(&trouble, &ReportContext(self.config)));
        }
    }

    #[inline(never)]
    fn reap(&mut self, queue: &mut Queue) {
        loop {
            match wait::reap_one() {
                Reaped::Child { pid, ended } => {
                    // What the daemon wrote before dying comes before its death note.
                    if let Some(slot) = self.machine.slot_of(pid) {
                        self.logs.drain_slot(slot);
                    }
                    self.feed(Event::Reaped { pid, ended }, queue);
                }
                Reaped::NoneReady => return,
                Reaped::NoChildren => {
                    let others_left = process::others_alive();
                    self.feed(Event::NoChildren { others_left }, queue);
                    return;
                }
            }
        }
    }

    #[inline(never)]
    fn spawn(&mut self, slot: Slot) -> Event {
        let command = self.config.commands.get(slot);
        let pipes = self.logs.pipes_for(slot);
        let envp = self.envp.get(slot as usize).copied().unwrap_or(core::ptr::null());
        match spawn::spawn(
            command,
            self.search_path,
            envp,
            pipes,
            self.config.users.get(slot as usize).copied().flatten(),
        ) {
            Ok(pid) => Event::Spawned { slot, pid },
            Err(errno) => {
                // A failed uid/gid switch (negative) is 126, as an exec that is not permitted.
                let code = if errno == libc::ENOENT || errno == libc::ENOTDIR { NOT_FOUND } else { NOT_EXECUTABLE };
                Event::SpawnFailed { slot, errno, code }
            }
        }
    }
}

fn enqueue(queue: &mut Queue, actions: Actions) {
    for action in actions {
        let _ = queue.push_back(action);
    }
}
