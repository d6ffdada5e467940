//! A minimal HTTP/1.1 client over a plain `TcpStream`, enough to talk to the
//! bundle's daemons (and through its proxies) without dependencies: one
//! request, one response, on a connection the caller may keep open.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a connect or a read may take.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn connect(host: &str, port: u16) -> io::Result<TcpStream> {
    let addr: SocketAddr =
        format!("{host}:{port}").parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e}")))?;
    let stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    Ok(stream)
}

/// `METHOD target HTTP/1.1` with a Host header, and `extra` header lines
/// (each ending in \r\n); a body, when given, goes with its Content-Length.
pub fn request(method: &str, target: &str, host: &str, extra: &str, body: Option<&str>) -> String {
    let mut text = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n{extra}");
    if let Some(body) = body {
        text.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    } else {
        text.push_str("\r\n");
    }
    text
}

/// Sends one request and reads one response on `stream`, which stays usable
/// for the next request when the server keeps the connection alive.
/// `head_only`: a response without a body (to HEAD or a CONNECT's 2xx).
pub fn exchange(stream: &mut TcpStream, request: &str, head_only: bool) -> io::Result<Response> {
    stream.write_all(request.as_bytes())?;
    let head = read_head(stream)?;
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("status line {status_line:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect();
    let mut response = Response { status, headers, body: Vec::new() };
    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(response);
    }
    if let Some(length) = response.header("Content-Length") {
        let length: usize = length.parse().map_err(|_| bad(format!("Content-Length {length:?}")))?;
        response.body = vec![0; length];
        stream.read_exact(&mut response.body)?;
    } else if response.header("Transfer-Encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        response.body = read_chunked(stream)?;
    } else {
        stream.read_to_end(&mut response.body)?;
    }
    Ok(response)
}

/// One request on a new connection that is closed afterwards.
pub fn fetch(host: &str, port: u16, request: &str) -> io::Result<Response> {
    let mut stream = connect(host, port)?;
    exchange(&mut stream, request, false)
}

fn bad(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// Bytes up to and including the blank line that ends the head, read a byte
/// at a time so nothing of the body (or of a next response) is taken.
fn read_head(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("connection closed after {head:?}")));
        }
        head.push(byte[0]);
        if head.len() > 64 * 1024 {
            return Err(bad("a response head over 64 KiB".into()));
        }
    }
    Ok(head)
}

fn read_line(stream: &mut TcpStream) -> io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed in a chunked body"));
        }
        line.push(byte[0]);
    }
    line.truncate(line.len() - 2);
    Ok(String::from_utf8_lossy(&line).into_owned())
}

fn read_chunked(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let size_line = read_line(stream)?;
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad(format!("chunk size {size_line:?}")))?;
        if size == 0 {
            while !read_line(stream)?.is_empty() {} // trailers
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        stream.read_exact(&mut body[start..])?;
        read_line(stream)?;
    }
}
