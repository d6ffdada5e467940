//! The imperative shell: one wait point (poll on the signalfd, the starting
//! children's reports, the log pipes and the sinks with a backlog; the next
//! deadline as its timeout), events fed to the machine, its actions carried
//! out with the `sys` layer.

mod control;
mod logs;

pub use control::Control;
pub use logs::Logs;

use crate::logic::config::Config;
use crate::logic::control::{self as protocol, Request};
use crate::logic::line::Line;
use crate::logic::machine::{Action, Event, Machine, Millis, Note, Pid, Role};
use crate::logic::privilege::User;
use crate::logic::report::{self, Context, Startup};
use crate::logic::slot::Slot;
use crate::logic::trouble::Trouble;
use crate::sys::clock::{now_ms, unix_ms};
use crate::sys::environ::{Environ, Strings};
use crate::sys::fds;
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
    control: Control,
    machine: Machine,
    /// The control client whose restart or signal request the machine is
    /// deciding: the note that tells the decision answers it.
    asking: Option<usize>,
    /// When the init started, and the monotonic clock, read once before
    /// and once after each wait.
    since: Millis,
    now: Millis,
}

/// What rendering a note needs from outside the machine.
struct ReportContext<'a>(&'a Config, &'a Machine);

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
    fn last_pid(&self, slot: Slot) -> Option<Pid> {
        self.1.last_pid(slot)
    }
}

impl<'a> Shell<'a> {
    pub fn new(
        config: &'a Config,
        environ: Environ,
        envp: [Strings; 4],
        signals: SignalFd,
        logs: Logs,
        mut control: Control,
        pid1: bool,
    ) -> Self {
        let search_path = environ.get("PATH").unwrap_or(DEFAULT_PATH);
        let role = if pid1 { Role::Pid1 } else { Role::Subreaper };
        let machine = Machine::new(config.selected, config.grace_ms, role).with_policy(config.policy);
        let now = now_ms();
        control.fds[0] = Some(signals.fd());
        Shell { config, envp, search_path, signals, logs, control, machine, asking: None, since: now, now }
    }

    /// Runs the daemons until the machine says exit; returns the exit code.
    pub fn run(&mut self) -> u8 {
        self.log_troubles();
        self.machine.start();
        loop {
            if let Some(code) = self.execute() {
                let deadline = self.machine.output_deadline(now_ms());
                self.logs.finish(deadline, code);
                self.control.remove(&self.config.control);
                return code;
            }
            // A request no note answered is refused rather than left without
            // a verdict (every request's note answers it today: a safety net).
            if let Some(at) = self.asking.take() {
                self.control.answer(at, b"no\n");
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
        let ready = self.logs.wait(&self.control.fds, self.control.out(), deadline, self.now);
        // One clock reading a wake: a burst of reaps costs no system call each.
        self.now = now_ms();
        // A request first, one a wake, with the machine's queue empty (the
        // shell's loop ran it dry): the first note that decides a restart
        // or signal is then the one deciding this request.
        if let Some((at, request)) = self.control.after_wait(ready) {
            self.serve(at, request);
        }
        if deadline.is_some_and(|at| at <= self.now) {
            self.feed(Event::Deadline);
        }
        self.take_reports(ready >> 1);
        let signalled = ready & 1 != 0;

        // One batch of signals a wake, each fed as it is read; the poll is
        // level-triggered, so a flood cannot push any signal out.
        if signalled {
            let (machine, now) = (&mut self.machine, self.now);
            self.signals.read_batch(|sig| machine.handle(Event::Signal(sig), now));
        }
        if let Some(errno) = self.control.failed.take() {
            self.logs.trouble(Trouble::NoControl { errno });
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
                Action::Log(note) => self.log(&note),
                Action::Exit(code) => return Some(code),
            }
        }
        None
    }

    /// A note to stderr; to the client whose request it decides; as an
    /// event to every `events` client.
    fn log(&mut self, note: &Note) {
        // Every note that is an event is rendered as one, listened to or
        // not: a branch fewer, for a few hundred bytes of copying.
        let mut event = Line::new();
        let line = report::note(note, &ReportContext(self.config, &self.machine), Some((&mut event, unix_ms())));
        self.logs.note(&line);
        if let Some(ok) = protocol::verdict(note) {
            if let Some(at) = self.asking.take() {
                let mut answer = Line::new();
                answer.str(if ok { "ok\n" } else { "no\n" }).text(line.as_bytes());
                self.control.answer(at, answer.as_bytes());
            }
        }
        if !event.as_bytes().is_empty() {
            self.control.publish(event.as_bytes());
        }
    }

    /// A control client's request: `status` and `health` answered from the
    /// machine's view, `events` streamed from now on, `restart` and
    /// `signal` fed to the machine (the note deciding it answers).
    #[inline(never)]
    fn serve(&mut self, at: usize, request: Request) {
        let event = match request {
            Request::Status | Request::Health => {
                let mut answer = Line::new();
                let view = |slot| self.machine.slot_view(slot);
                let health = request == Request::Health;
                protocol::status(self.machine.bundle(), view, health, (self.since, self.now), &mut answer);
                return self.control.answer(at, answer.as_bytes());
            }
            Request::Events => return self.control.stream(at),
            Request::ToSlot(slot, sig) => Event::Requested { slot, sig },
        };
        self.asking = Some(at);
        self.feed(event);
    }

    /// A line about how the start-up went, before the daemons start.
    /// Inlined into its two callers (both in the crate's `run`): 25 bytes fewer.
    #[inline(always)]
    pub fn startup_note(&mut self, what: Startup) {
        self.logs.note(&report::startup(what));
    }

    /// Logs what degraded since the last look, each kind once. Inlined into
    /// its two callers (`Shell::run` and `Shell::wait`): 17 bytes fewer.
    #[inline(always)]
    fn log_troubles(&mut self) {
        while let Some(trouble) = self.logs.next_trouble() {
            self.logs.note(&report::trouble(&trouble, &ReportContext(self.config, &self.machine)));
        }
    }

    /// Every child that has exited, fed to the machine (inlined into
    /// `execute`, its one caller: 40 bytes fewer than a call).
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
                        if let Some(watched) = self.control.fds.get_mut((slot as usize).wrapping_add(1)) {
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
        for (at, &slot) in Slot::ALL.iter().enumerate() {
            let Some(watched) = self.control.fds.get_mut(at.wrapping_add(1)) else { continue };
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
