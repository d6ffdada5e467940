//! A fixed-capacity text line built without `core::fmt`, whose formatting
//! machinery would bring panic paths and kilobytes into the binary.

use heapless::Vec;

/// Bytes in a line, its newline included: room for any note, and for a
/// configuration error quoting two values of [`QUOTE_BYTES`] each (the
/// tests render every note and error with worst-case values).
pub const LINE_BYTES: usize = 512;
/// Bytes of a line an outside value (a program, a variable's value) may
/// take once escaped, its `...` marker aside.
pub const QUOTE_BYTES: usize = 160;

/// One size for every line, so its code exists once in the binary.
#[derive(Clone, Debug, Default)]
pub struct Line {
    bytes: Vec<u8, LINE_BYTES>,
}

impl Line {
    pub fn new() -> Self {
        Line { bytes: Vec::new() }
    }

    /// Appends as much of `text` as fits; a full line is cut, never an error.
    #[inline(never)] // called from every note: one copy keeps the binary small
    pub fn text(&mut self, text: &[u8]) -> &mut Self {
        let room = LINE_BYTES.saturating_sub(self.bytes.len());
        let fitting = text.get(..room).unwrap_or(text);
        let _ = self.bytes.extend_from_slice(fitting);
        self
    }

    #[inline(never)]
    pub fn str(&mut self, text: &str) -> &mut Self {
        self.text(text.as_bytes())
    }

    #[inline(never)]
    pub fn num(&mut self, value: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = value;
        loop {
            at = at.saturating_sub(1);
            if let Some(d) = digits.get_mut(at) {
                *d = b'0'.wrapping_add((rest % 10) as u8);
            }
            rest /= 10;
            if rest == 0 || at == 0 {
                break;
            }
        }
        self.text(digits.get(at..).unwrap_or(&[]))
    }

    #[inline(never)]
    pub fn signed(&mut self, value: i64) -> &mut Self {
        if value < 0 {
            self.str("-");
        }
        self.num(value.unsigned_abs())
    }

    /// Appends an outside value with every byte outside printable ASCII
    /// escaped, so a value with newlines still makes one line. The escaped
    /// form takes at most [`QUOTE_BYTES`] bytes of the line (a value that
    /// needs more is cut, then `...`), however many of them are escapes,
    /// so the rest of the line (its reason, what is accepted) always fits.
    #[inline(never)]
    pub fn quoted(&mut self, text: &[u8]) -> &mut Self {
        let mut room = QUOTE_BYTES;
        for &byte in text {
            let (form, len) = escape(byte);
            let Some(left) = room.checked_sub(len) else {
                self.str("...");
                break;
            };
            room = left;
            self.text(form.get(..len).unwrap_or(&form));
        }
        self
    }

    /// Ends the line with its newline, in the last byte if the line is full.
    pub fn end(&mut self) -> &mut Self {
        if self.bytes.is_full() {
            self.bytes.pop();
        }
        let _ = self.bytes.push(b'\n');
        self
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// One byte as it appears in a quote, and how many bytes of `form` that takes.
fn escape(byte: u8) -> ([u8; 4], usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match byte {
        b'\n' => (*b"\\n  ", 2),
        b'\t' => (*b"\\t  ", 2),
        b'\r' => (*b"\\r  ", 2),
        b'\\' => (*b"\\\\  ", 2),
        b' '..=b'~' => ([byte, 0, 0, 0], 1),
        _ => {
            let high = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'?');
            let low = HEX.get(usize::from(byte & 15)).copied().unwrap_or(b'?');
            ([b'\\', b'x', high, low], 4)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(line: &Line) -> String {
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn numbers_render_in_decimal() {
        let mut line = Line::new();
        line.num(0).str(" ").num(7).str(" ").num(u64::MAX).str(" ").signed(-42);
        assert_eq!(show(&line), "0 7 18446744073709551615 -42");
    }

    #[test]
    fn full_lines_are_cut_but_keep_their_newline() {
        let mut line = Line::new();
        line.str(&"x".repeat(LINE_BYTES - 2)).str("abc").end();
        let text = show(&line);
        assert_eq!(text.len(), LINE_BYTES);
        assert!(text.ends_with("xa\n"), "{text:?}");
    }

    #[test]
    fn long_quoted_values_are_cut_with_a_marker() {
        let mut line = Line::new();
        line.quoted(&[b'v'; QUOTE_BYTES + 1]).str(" rest").end();
        assert_eq!(show(&line), format!("{}... rest\n", "v".repeat(QUOTE_BYTES)));
    }

    #[test]
    fn escapes_keep_one_line() {
        let mut line = Line::new();
        line.quoted(b"a b\n\t\\\x01\xff");
        assert_eq!(show(&line), r"a b\n\t\\\x01\xff");
    }

    #[test]
    fn a_quote_is_bounded_in_output_bytes_not_input_bytes() {
        for byte in [0x01u8, 0xff, b'\n', b'\\', b'v'] {
            let mut line = Line::new();
            line.quoted(&[byte; 4 * QUOTE_BYTES]).str(" rest").end();
            let text = show(&line);
            let quote = text.strip_suffix("... rest\n").unwrap_or_else(|| panic!("{byte:#x}: {text:?}"));
            assert!(quote.len() <= QUOTE_BYTES, "{byte:#x}: {} bytes", quote.len());
            assert!(quote.len() > QUOTE_BYTES - 4, "{byte:#x}: as much as fits, {} bytes", quote.len());
        }
        let mut line = Line::new();
        line.quoted(&[0x01; QUOTE_BYTES / 4]);
        assert_eq!(show(&line), r"\x01".repeat(QUOTE_BYTES / 4), "exactly fitting: no marker");
    }

    #[test]
    fn carriage_returns_show() {
        let mut line = Line::new();
        line.quoted(b"egress\r");
        assert_eq!(show(&line), r"egress\r");
    }
}
