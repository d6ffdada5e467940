//! sidecar-init: PID 1 of the sidecar bundle container.
//!
//! `logic` holds every decision as pure code; `sys` is the thin layer of
//! system calls; `shell` joins them around one wait point.
//!
//! Without std: the binary needs none of it, and std's panic, backtrace and
//! formatting paths would be dead weight that `--gc-sections` cannot drop.
//! The unit tests keep std.
#![cfg_attr(not(test), no_std)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod cli;
pub mod client;
pub mod logic;
pub mod shell;
pub mod sys;

use ::core::ffi::c_int;

use crate::logic::config;
use crate::logic::line::Line;
use crate::logic::report::{self, Startup};
use crate::shell::Shell;
use crate::sys::environ::{self, Args, Environ, Strings};
use crate::sys::fds::{self, write_all, STDERR, STDOUT};
use crate::sys::process;
use crate::sys::signals::{self, SignalFd};

/// Exit code of a configuration or usage error.
pub const USAGE_ERROR: c_int = 2;

/// The whole init.
///
/// # Safety
/// The arguments must be `main`'s own NULL-terminated `argv` and `envp`.
pub unsafe fn run(argv: Strings, envp: Strings) -> c_int {
    // SAFETY: main's argv and envp (caller's contract).
    let (args, environ) = unsafe { (Args::new(argv), Environ::new(envp)) };
    let mut words = Line::new();
    match cli::parse(args.after_program(), &mut words) {
        cli::Request::Run => {}
        cli::Request::Help => {
            let [head, body] = cli::help();
            let mut names = Line::new();
            report::slot_names(&mut names);
            write_all(STDOUT, head);
            write_all(STDOUT, names.as_bytes());
            write_all(STDOUT, body);
            return 0;
        }
        cli::Request::Version => {
            write_all(STDOUT, cli::VERSION.as_bytes());
            return 0;
        }
        cli::Request::Usage => {
            write_all(STDERR, report::usage_error(words.as_bytes()).as_bytes());
            return USAGE_ERROR;
        }
        cli::Request::Control => return client::run(words.as_bytes(), &environ),
    }
    // First, so no signal sent from here on can be lost or kill us (a
    // blocked signal stays queued whatever its disposition).
    signals::block_all();
    signals::reset_dispositions();
    let faults_caught = signals::catch_sent_faults();

    let mut config = config::Config::default();
    if let Err(error) = config::parse_into(|variable| environ.var(variable), &mut config) {
        write_all(STDERR, report::config_error(&error).as_bytes());
        return USAGE_ERROR;
    }
    if !config.any_selected() {
        let value = environ.var(config::Variable::Daemons).unwrap_or(b"");
        write_all(STDERR, report::startup(Startup::NothingSelected { value }).as_bytes());
        return 0;
    }

    fds::ensure_standard_fds();
    fds::cloexec_inherited();
    let Some(signal_fd) = SignalFd::open() else { return cannot_start(Startup::NoSignalFd) };
    let pid1 = process::getpid() == 1;
    // Each slot's environment (private variables) is made once, here.
    let (Some(logs), Some(envp)) = (shell::Logs::open(&config.selected, config.log_prefix), environ::per_slot(environ))
    else {
        return cannot_start(Startup::NoMemory);
    };
    let control = shell::Control::open(&config.control);
    let mut shell = Shell::new(&config, environ, envp, signal_fd, logs, control, pid1);
    if !pid1 && process::become_subreaper().is_err() {
        shell.startup_note(Startup::NotSubreaper);
    }
    if !faults_caught {
        shell.startup_note(Startup::FaultsNotCaught);
    }
    c_int::from(shell.run())
}

/// The init could not set itself up: said on stderr, exit 1.
fn cannot_start(what: Startup) -> c_int {
    write_all(STDERR, report::startup(what).as_bytes());
    1
}
