//! Reassembles a daemon's output stream into lines, however its writes split
//! them. A line longer than [`MAX_LINE`] is cut into pieces of that size.

use crate::sys::bytes::{copy, find_newline};

/// Bytes of a line, newline excluded, that always arrive whole.
pub const MAX_LINE: usize = 4096;

/// The unfinished line from earlier reads lives in a caller's buffer, whose
/// length is the longest line kept whole, so the pump can place these
/// buffers in pages that stay untouched (and out of RSS) until used.
pub struct Assembler<'a> {
    carry: &'a mut [u8],
    len: usize,
}

impl<'a> Assembler<'a> {
    pub fn new(carry: &'a mut [u8]) -> Self {
        Assembler { carry, len: 0 }
    }

    fn carried(&self) -> &[u8] {
        self.carry.get(..self.len).unwrap_or(&[])
    }

    fn keep(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(room) = self.carry.get_mut(self.len..end) {
            copy(room, bytes);
            self.len = end;
        }
    }

    /// No unfinished line is carried: what comes next starts a line.
    pub fn at_line_start(&self) -> bool {
        self.len == 0
    }

    /// Hands the first complete line (or cut piece) in `data` to `emit`,
    /// without its newline, or keeps `data` as the unfinished line; returns
    /// what follows it.
    pub fn feed_one<'d>(&mut self, data: &'d [u8], emit: &mut impl FnMut(&[u8])) -> &'d [u8] {
        let room = self.carry.len().saturating_sub(self.len);
        // One byte past the room tells a line of exactly MAX_LINE bytes
        // (newline next) from one that must be cut.
        let window = data.get(..=room).unwrap_or(data);
        // Where the line (or cut piece) ends, and where what follows starts.
        let (end, next) = match find_newline(window) {
            Some(at) => (at, at.saturating_add(1)),
            None if window.len() > room => (room, room),
            None => {
                self.keep(data);
                return &[];
            }
        };
        let line = data.get(..end).unwrap_or(&[]);
        // One call of `emit`, so its code is not there twice.
        if self.len > 0 {
            self.keep(line);
        }
        emit(if self.len == 0 { line } else { self.carried() });
        self.len = 0;
        data.get(next..).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> std::vec::Vec<std::vec::Vec<u8>> {
        let mut carry = vec![0u8; MAX_LINE];
        let mut assembler = Assembler::new(&mut carry);
        let mut lines = std::vec::Vec::new();
        for chunk in chunks {
            let mut chunk: &[u8] = chunk;
            while !chunk.is_empty() {
                chunk = assembler.feed_one(chunk, &mut |l| lines.push(l.to_vec()));
            }
        }
        // The stream ended: its unfinished last line, as Routing::finish_line ends it.
        if !assembler.at_line_start() {
            assembler.feed_one(b"\n", &mut |l| lines.push(l.to_vec()));
        }
        lines
    }

    #[test]
    fn lines_split_across_writes_arrive_whole() {
        assert_eq!(run(&[b"he", b"llo\nwor", b"ld\n", b"\n"]), [&b"hello"[..], b"world", b""]);
    }

    #[test]
    fn last_line_without_newline_arrives_at_the_end() {
        assert_eq!(run(&[b"a\nb"]), [&b"a"[..], b"b"]);
    }

    #[test]
    fn a_line_of_exactly_max_stays_whole_in_any_split() {
        let mut text = vec![b'x'; MAX_LINE];
        text.push(b'\n');
        text.extend_from_slice(b"next\n");
        for cut in [0, 1, 100, MAX_LINE - 1, MAX_LINE, MAX_LINE + 1, text.len()] {
            let (a, b) = text.split_at(cut);
            let lines = run(&[a, b]);
            assert_eq!(lines.len(), 2, "cut at {cut}");
            assert_eq!(lines[0].len(), MAX_LINE);
            assert_eq!(lines[1], b"next");
        }
    }

    #[test]
    fn longer_lines_are_cut_into_max_pieces() {
        let mut text = vec![b'y'; 2 * MAX_LINE + 10];
        text.push(b'\n');
        for chunk in [1, 7, 4096, 5000, text.len()] {
            let chunks: std::vec::Vec<&[u8]> = text.chunks(chunk).collect();
            let sizes: std::vec::Vec<usize> = run(&chunks).iter().map(|l| l.len()).collect();
            assert_eq!(sizes, [MAX_LINE, MAX_LINE, 10], "chunk {chunk}");
        }
    }

    #[test]
    fn byte_by_byte_matches_one_write() {
        let text = b"one\ntwo\n\nthree\nfour";
        let bytes: std::vec::Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(run(&bytes), run(&[text]));
    }
}
