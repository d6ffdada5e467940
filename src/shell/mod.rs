//! The imperative shell: one wait point (poll on the signalfd, the starting
//! children's reports, the log pipes and the sinks with a backlog; the next
//! deadline as its timeout), events fed to the machine, its actions carried
//! out with the `sys` layer.

mod logs;

pub use logs::Logs;

use heapless::Vec;

use crate::logic::config::Config;
use crate::logic::machine::{Action, Event, Machine, Millis, Role};
use crate::logic::privilege::User;
use crate::logic::report::{self, Context, Startup};
use crate::logic::slot::Slot;
use crate::logic::trouble::Trouble;
use crate::sys::clock::now_ms;
use crate::sys::environ::{Environ, Strings};
use crate::sys::fds::{self, Fd};
use crate::sys::signals::{self, SignalFd};
use crate::sys::spawn::{self, Outcome, DEFAULT_PATH};
use crate::sys::wait::{self, Reaped};
use crate::sys::{error_text, process};

pub struct Shell<'a> {
    config: &'a Config,
    /// Each slot's daemon's environment, in slot order (SPEC: private variables).
    envp: [Strings; 4],
    search_path: &'static [u8],
    signals: SignalFd,
    logs: Logs,
    machine: Machine,
    /// What the wait watches besides the pump: the signalfd, then the read
    /// end of each slot's spawn report, in slot order, while its child is
    /// starting (until the report says how its exec went).
    watched: [Option<Fd>; logs::WATCHED],
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
        let role = if pid1 { Role::Pid1 } else { Role::Subreaper };
        let machine = Machine::new(config.selected, config.grace_ms, role).with_policy(config.policy);
        let watched = [Some(signals.fd()), None, None, None, None];
        Shell { config, envp, search_path, signals, logs, machine, watched, now: now_ms() }
    }

    /// Runs the daemons until the machine says exit; returns the exit code.
    pub fn run(&mut self) -> u8 {
        self.log_troubles();
        self.machine.start();
        loop {
            if let Some(code) = self.execute() {
                let deadline = self.machine.output_deadline(now_ms());
                self.logs.finish(deadline, code);
                return code;
            }
            self.wait();
        }
    }

    /// Blocks at the one wait point, then turns what woke it into actions.
    /// A deadline already due still gets a poll that does not block, so
    /// deadlines that keep coming due (a restart delay of 0 for a program
    /// that cannot start) cannot starve signals and pipes.
    #[inline(never)]
    fn wait(&mut self) {
        let deadline = self.machine.next_deadline();
        self.now = now_ms();
        // A due deadline makes the poll a look (zero timeout): signals are
        // still read, so a deadline due at every wake cannot starve them.
        let ready = self.logs.wait(&self.watched, deadline, self.now);
        // One clock reading a wake: a burst of reaps costs no system call each.
        self.now = now_ms();
        if deadline.is_some_and(|at| at <= self.now) {
            self.feed(Event::Deadline);
        }
        self.take_reports(ready >> 1);
        let signalled = ready & 1 != 0;

        // One batch of signals a wake, each fed as it is read; the poll is
        // level-triggered, so a flood cannot push any signal out.
        let mut batch: Vec<i32, { SignalFd::BATCH }> = Vec::new();
        if signalled {
            self.signals.read_batch(|sig| {
                let _ = batch.push(sig);
            });
        }
        for sig in batch {
            self.feed(Event::Signal(sig));
        }
        signals::take_sent_faults(|sig| self.logs.trouble(Trouble::SentFault { sig }));
        self.logs.flush();
        self.log_troubles();
    }

    fn feed(&mut self, event: Event) {
        self.machine.handle(event, self.now);
    }

    /// Carries out the machine's actions until none is left, or it exits.
    #[inline(never)]
    fn execute(&mut self) -> Option<u8> {
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Spawn(slot) => self.spawn(slot),
                Action::SignalGroup { pid, sig } => process::kill_group(pid, sig),
                Action::SignalProcess { pid, sig } => process::kill_process(pid, sig),
                Action::SignalAll(sig) => process::kill_all(sig),
                Action::Reap => self.reap(),
                Action::DrainOutput(slot) => self.logs.drain_slot(slot),
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
    fn reap(&mut self) {
        loop {
            match wait::reap_one() {
                Reaped::Child { pid, ended } => {
                    // A starting child wrote its report before it died: read
                    // first, so a run that could not start is said so, not as
                    // an exit.
                    // (The dead child held its write end alone: its report
                    // is definitive now. Reading the others costs a read.)
                    self.take_reports(u32::MAX);
                    self.feed(Event::Reaped { pid, ended });
                }
                Reaped::NoneReady => return,
                Reaped::NoChildren => {
                    let others_left = process::others_alive();
                    self.feed(Event::NoChildren { others_left });
                    return;
                }
            }
        }
    }

    #[inline(never)]
    fn spawn(&mut self, slot: Slot) {
        let command = self.config.commands.get(slot);
        let pipes = self.logs.pipes_for(slot);
        let envp = self.envp.get(slot as usize).copied().unwrap_or(core::ptr::null());
        let user = self.config.users.get(slot as usize).copied().flatten();
        match spawn::spawn(command, self.search_path, envp, pipes, user) {
            Ok(child) => {
                self.feed(Event::Spawned { slot, pid: child.pid });
                match child.report {
                    Ok(report) => {
                        if let Some(watched) = self.watched.get_mut((slot as usize).wrapping_add(1)) {
                            *watched = Some(report);
                        }
                    }
                    Err(errno) => {
                        // Without a report, the exec is taken as done; a
                        // failed one shows as an exit with code 127.
                        self.logs.trouble(Trouble::NoReport { errno: errno.raw_os_error() });
                        self.feed(Event::Execed { slot });
                    }
                }
            }
            Err(errno) => self.feed(Event::SpawnFailed { slot, errno }),
        }
    }

    /// Feeds what the reports of the slots in `slots` (bit n: the n-th
    /// slot) say, those that say anything yet, and closes each that has.
    fn take_reports(&mut self, slots: u32) {
        for (at, slot) in Slot::ALL.into_iter().enumerate() {
            let Some(watched) = self.watched.get_mut(at.wrapping_add(1)) else { continue };
            let Some(report) = watched.filter(|_| slots >> at & 1 != 0) else { continue };
            let event = match spawn::outcome(report) {
                Outcome::Pending => continue,
                Outcome::Execed => Event::Execed { slot },
                Outcome::Failed(errno) => Event::SpawnFailed { slot, errno },
            };
            *watched = None;
            fds::close(report);
            self.feed(event);
        }
    }
}
