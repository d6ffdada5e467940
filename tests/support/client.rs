//! Clients of the init's control socket: the `sidecar-init` subcommands, and
//! raw connections that speak the protocol (SOCK_SEQPACKET messages) as
//! supervise would.

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

/// A raw connection to a control socket (`@NAME` or a path): a
/// SOCK_SEQPACKET socket, as the init listens on (std has no type for it,
/// but a `UnixStream` reads, writes and times out on it alike: each read
/// takes one message, each write sends one), with timeouts so that a test
/// never hangs on it.
pub fn connect(control: &str) -> UnixStream {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket(2) and connect(2) calls with a sockaddr_un filled
    // in below; the descriptor is owned by the UnixStream from then on.
    let stream = unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let stream = UnixStream::from_raw_fd(fd);
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let name = control.as_bytes();
        // An abstract name: its `@` becomes the leading NUL; a path keeps its NUL.
        let len = if name.first() == Some(&b'@') { name.len() } else { name.len() + 1 };
        for (to, &from) in addr.sun_path.iter_mut().zip(name) {
            *to = from as libc::c_char;
        }
        if name.first() == Some(&b'@') {
            addr.sun_path[0] = 0;
        }
        let len = (std::mem::size_of::<libc::sa_family_t>() + len) as libc::socklen_t;
        if libc::connect(fd, (&raw const addr).cast(), len) != 0 {
            panic!("cannot connect to {control}: {}", std::io::Error::last_os_error());
        }
        stream
    };
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Sends one request message and reads the whole answer (the init closes after it).
pub fn ask_raw(control: &str, request: &str) -> String {
    let mut stream = connect(control);
    stream.write_all(request.as_bytes()).unwrap();
    read_all(&mut stream).unwrap_or_else(|e| panic!("{request}: {e}"))
}

/// Every message until the init closes the connection. (Not `read_to_end`,
/// whose first read may be shorter than a message: a read takes one
/// message, and what does not fit is lost.)
pub fn read_all(stream: &mut UnixStream) -> std::io::Result<String> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf)? {
            0 => return Ok(String::from_utf8_lossy(&all).into_owned()),
            n => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// An `events` stream read line by line (each message is one line).
pub struct Events {
    reader: BufReader<UnixStream>,
}

impl Events {
    /// Connects and asks for events; the first line must be `ok`.
    pub fn open(control: &str) -> Events {
        let mut stream = connect(control);
        stream.write_all(b"events").unwrap();
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
