//! Clients of the init's control socket: the `sidecar-init` subcommands, and
//! raw connections that speak the line protocol as supervise would.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::{init_bin, Init, PATIENCE};

pub const CONTROL_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_CONTROL";

/// What a client subcommand did.
#[derive(Debug)]
pub struct Answer {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Answer {
    fn from(out: Output) -> Answer {
        Answer {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `sidecar-init ARGS` with `CLAUDE_BOTTLE_SIDECAR_CONTROL=control` (none when `None`).
pub fn client_command(control: Option<&str>, args: &[&str]) -> Command {
    let mut command = Command::new(init_bin());
    command.args(args).env_clear().stdin(Stdio::null());
    if let Some(control) = control {
        command.env(CONTROL_VAR, control);
    }
    command
}

pub fn run_client(control: Option<&str>, args: &[&str]) -> Answer {
    let out =
        client_command(control, args).output().unwrap_or_else(|e| panic!("cannot run sidecar-init {args:?}: {e}"));
    out.into()
}

/// A raw connection to a control socket (`@NAME` or a path), with timeouts
/// so that a test never hangs on it.
pub fn connect(control: &str) -> UnixStream {
    let stream = match control.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .unwrap_or_else(|e| panic!("{control}: {e}"));
            UnixStream::connect_addr(&addr)
        }
        None => UnixStream::connect(control),
    };
    let stream = stream.unwrap_or_else(|e| panic!("cannot connect to {control}: {e}"));
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Sends one request line and reads the whole answer (the init closes after it).
pub fn ask_raw(control: &str, request: &str) -> String {
    let mut stream = connect(control);
    stream.write_all(format!("{request}\n").as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap_or_else(|e| panic!("{request}: {e}"));
    answer
}

/// An `events` stream read line by line.
pub struct Events {
    reader: BufReader<UnixStream>,
}

impl Events {
    /// Connects and asks for events; the first line must be `ok`.
    pub fn open(control: &str) -> Events {
        let mut stream = connect(control);
        stream.write_all(b"events\n").unwrap();
        let mut events = Events { reader: BufReader::new(stream) };
        assert_eq!(events.line().as_deref(), Some("ok"), "the answer to `events`");
        events
    }

    /// The next line, `None` at the end of the stream.
    pub fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line.trim_end_matches('\n').to_string()),
            Err(e) => panic!("reading events: {e}"),
        }
    }

    /// Lines until one contains `needle`; returns them all, that one last.
    pub fn until(&mut self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let Some(line) = self.line() else { panic!("events ended before {needle:?}: {seen:?}") };
            let done = line.contains(needle);
            seen.push(line);
            if done {
                return seen;
            }
        }
    }

    pub fn set_timeout(&self, timeout: Duration) {
        self.reader.get_ref().set_read_timeout(Some(timeout)).unwrap();
    }
}

/// The value of `"key":` in one JSON event line (numbers, null, strings unquoted).
pub fn json_field(line: &str, key: &str) -> Option<String> {
    let at = line.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &line[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim_matches('"').to_string())
}

impl Init {
    /// `sidecar-init ARGS` as a client of this init.
    pub fn client(&self, args: &[&str]) -> Answer {
        run_client(Some(&self.control), args)
    }

    /// The `status` answer's line for `name` (`bundle` or a slot), split into
    /// its words.
    pub fn status_of(&self, name: &str) -> Vec<String> {
        let answer = self.client(&["status"]);
        assert_eq!(answer.code, Some(0), "status: {answer:?}");
        let line = answer.stdout.lines().find(|l| l.split(' ').next() == Some(name));
        let line = line.unwrap_or_else(|| panic!("no {name} line in the status: {}", answer.stdout));
        line.split(' ').map(str::to_string).collect()
    }
}
