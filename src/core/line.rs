//! A fixed-capacity text line built without `core::fmt`, whose formatting
//! machinery would bring panic paths and kilobytes into the binary.

use heapless::Vec;

#[derive(Clone, Debug, Default)]
pub struct Line<const N: usize> {
    bytes: Vec<u8, N>,
}

impl<const N: usize> Line<N> {
    pub fn new() -> Self {
        Line { bytes: Vec::new() }
    }

    /// Appends as much of `text` as fits; a full line is cut, never an error.
    #[inline(never)] // called from every note: one copy keeps the binary small
    pub fn text(&mut self, text: &[u8]) -> &mut Self {
        let room = N.saturating_sub(self.bytes.len());
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

    /// Appends `text` with every byte outside printable ASCII escaped, so a
    /// value with newlines still makes one line.
    #[inline(never)]
    pub fn escaped(&mut self, text: &[u8]) -> &mut Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for &byte in text {
            match byte {
                b'\n' => self.str("\\n"),
                b'\t' => self.str("\\t"),
                b'\\' => self.str("\\\\"),
                b' '..=b'~' => self.text(&[byte]),
                _ => {
                    let high = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'?');
                    let low = HEX.get(usize::from(byte & 15)).copied().unwrap_or(b'?');
                    self.text(&[b'\\', b'x', high, low])
                }
            };
        }
        self
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show<const N: usize>(line: &Line<N>) -> String {
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn numbers_render_in_decimal() {
        let mut line = Line::<64>::new();
        line.num(0).str(" ").num(7).str(" ").num(u64::MAX).str(" ").signed(-42);
        assert_eq!(show(&line), "0 7 18446744073709551615 -42");
    }

    #[test]
    fn full_lines_are_cut() {
        let mut line = Line::<5>::new();
        line.str("abc").str("defg").num(12345);
        assert_eq!(show(&line), "abcde");
    }

    #[test]
    fn escapes_keep_one_line() {
        let mut line = Line::<64>::new();
        line.escaped(b"a b\n\t\\\x01\xff");
        assert_eq!(show(&line), r"a b\n\t\\\x01\xff");
    }
}
