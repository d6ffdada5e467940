//! Splits a command string into words with the POSIX shell's quoting rules
//! and none of its expansions, into fixed-capacity storage ready for `argv`.

use heapless::Vec;

/// Bytes of all words together, each followed by its NUL.
pub const MAX_COMMAND_BYTES: usize = 2048;
/// Words in one command.
pub const MAX_WORDS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordsError {
    NoWords,
    UnbalancedQuote,
    TooLong,
    TooManyWords,
}

/// A parsed command: NUL-terminated words packed in one buffer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    // Offsets first: a short command then touches one stack page, not two.
    starts: Vec<u16, MAX_WORDS>,
    bytes: Vec<u8, MAX_COMMAND_BYTES>,
}

impl Command {
    #[cfg(test)]
    pub fn parse(text: &[u8]) -> Result<Command, WordsError> {
        let mut command = Command::default();
        Command::parse_into(text, &mut command)?;
        Ok(command)
    }

    /// [`Command::parse`] into existing storage (no move of the buffer).
    pub fn parse_into(text: &[u8], command: &mut Command) -> Result<(), WordsError> {
        command.starts.clear();
        command.bytes.clear();
        let mut splitter = Splitter { command, quote: Quote::None, escaped: false, in_word: false };
        for &byte in text {
            splitter.feed(byte)?;
        }
        splitter.finish()
    }

    /// The words, each with its terminating NUL, ready to point `argv` at.
    pub fn words_with_nul(&self) -> impl Iterator<Item = &[u8]> {
        let ends = self.starts.iter().skip(1).map(|&s| usize::from(s)).chain(core::iter::once(self.bytes.len()));
        self.starts.iter().zip(ends).filter_map(move |(&start, end)| self.bytes.get(usize::from(start)..end))
    }

    /// The words back to back, each followed by its NUL, and where each
    /// starts: what `argv` points into.
    pub fn packed(&self) -> (&[u8], &[u16]) {
        (&self.bytes, &self.starts)
    }

    /// The words without their NULs.
    pub fn words(&self) -> impl Iterator<Item = &[u8]> {
        self.words_with_nul().map(|w| w.split_last().map_or(w, |(_, head)| head))
    }

    /// The first word: the program, as written.
    pub fn program(&self) -> &[u8] {
        let word = self.program_with_nul();
        word.split_last().map_or(word, |(_, head)| head)
    }

    pub fn program_with_nul(&self) -> &[u8] {
        let end = self.starts.get(1).map_or(self.bytes.len(), |&s| usize::from(s));
        let first = self.starts.first().and_then(|&start| self.bytes.get(usize::from(start)..end));
        first.unwrap_or(b"\0")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

struct Splitter<'a> {
    command: &'a mut Command,
    /// The quote being read (`Quote::None`: outside quotes).
    quote: Quote,
    /// A backslash was just read (outside quotes, or inside double quotes).
    escaped: bool,
    in_word: bool,
}

impl Splitter<'_> {
    fn push(&mut self, byte: u8) -> Result<(), WordsError> {
        if !self.in_word {
            let start = u16::try_from(self.command.bytes.len()).map_err(|_| WordsError::TooLong)?;
            self.command.starts.push(start).map_err(|_| WordsError::TooManyWords)?;
            self.in_word = true;
        }
        if byte != 0 {
            self.command.bytes.push(byte).map_err(|_| WordsError::TooLong)?;
        }
        Ok(())
    }

    /// Starts a word without adding a byte: `''` is an empty word.
    fn open_word(&mut self) -> Result<(), WordsError> {
        self.push(0)
    }

    fn end_word(&mut self) -> Result<(), WordsError> {
        if self.in_word {
            self.command.bytes.push(0).map_err(|_| WordsError::TooLong)?;
            self.in_word = false;
        }
        Ok(())
    }

    fn feed(&mut self, byte: u8) -> Result<(), WordsError> {
        match self.quote {
            Quote::Single => {
                if byte == b'\'' {
                    self.quote = Quote::None;
                    Ok(())
                } else {
                    self.push(byte)
                }
            }
            Quote::Double => {
                if self.escaped {
                    self.escaped = false;
                    // Inside double quotes only `\"` and `\\` are escapes;
                    // any other backslash stays as written.
                    if byte != b'"' && byte != b'\\' {
                        self.push(b'\\')?;
                    }
                    self.push(byte)
                } else if byte == b'\\' {
                    self.escaped = true;
                    Ok(())
                } else if byte == b'"' {
                    self.quote = Quote::None;
                    Ok(())
                } else {
                    self.push(byte)
                }
            }
            Quote::None => {
                if self.escaped {
                    self.escaped = false;
                    return self.push(byte);
                }
                match byte {
                    b'\\' => {
                        self.escaped = true;
                        self.open_word()
                    }
                    b'\'' => {
                        self.quote = Quote::Single;
                        self.open_word()
                    }
                    b'"' => {
                        self.quote = Quote::Double;
                        self.open_word()
                    }
                    b' ' | b'\t' | b'\n' => self.end_word(),
                    _ => self.push(byte),
                }
            }
        }
    }

    fn finish(&mut self) -> Result<(), WordsError> {
        if !matches!(self.quote, Quote::None) {
            return Err(WordsError::UnbalancedQuote);
        }
        if self.escaped {
            // A trailing backslash has nothing to escape: keep it, as sh does.
            self.push(b'\\')?;
        }
        self.end_word()?;
        if self.command.starts.is_empty() {
            return Err(WordsError::NoWords);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Result<std::vec::Vec<String>, WordsError> {
        Command::parse(text.as_bytes()).map(|c| c.words().map(|w| String::from_utf8(w.to_vec()).unwrap()).collect())
    }

    #[test]
    fn blanks_separate_words() {
        assert_eq!(split("a b\tc\nd").unwrap(), ["a", "b", "c", "d"]);
        assert_eq!(split("  lead   trail  ").unwrap(), ["lead", "trail"]);
    }

    #[test]
    fn default_commands_split_as_expected() {
        assert_eq!(
            split("/usr/local/bin/pipelock run --config /etc/pipelock.yaml --listen 0.0.0.0:8888").unwrap(),
            ["/usr/local/bin/pipelock", "run", "--config", "/etc/pipelock.yaml", "--listen", "0.0.0.0:8888"]
        );
    }

    #[test]
    fn single_quotes_are_literal() {
        assert_eq!(split(r#"'a b' 'c\d' '"'"#).unwrap(), ["a b", r"c\d", "\""]);
    }

    #[test]
    fn double_quotes_escape_only_quote_and_backslash() {
        assert_eq!(split(r#""a \" b" "c\\d" "e\nf" "$HOME""#).unwrap(), ["a \" b", r"c\d", r"e\nf", "$HOME"]);
    }

    #[test]
    fn backslash_outside_quotes_escapes_next() {
        assert_eq!(split(r"a\ b c\\d \'x").unwrap(), ["a b", r"c\d", "'x"]);
    }

    #[test]
    fn adjacent_pieces_join() {
        assert_eq!(split(r#"a"b c"'d'e"#).unwrap(), ["ab cde"]);
    }

    #[test]
    fn empty_quotes_make_empty_words() {
        assert_eq!(split("'' x \"\"").unwrap(), ["", "x", ""]);
    }

    #[test]
    fn no_expansion_happens() {
        assert_eq!(split("echo $PATH * ~ `x` $(y)").unwrap(), ["echo", "$PATH", "*", "~", "`x`", "$(y)"]);
    }

    #[test]
    fn wordless_values_are_errors() {
        assert_eq!(split(""), Err(WordsError::NoWords));
        assert_eq!(split(" \t\n "), Err(WordsError::NoWords));
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        assert_eq!(split("'abc"), Err(WordsError::UnbalancedQuote));
        assert_eq!(split("a \"b"), Err(WordsError::UnbalancedQuote));
        assert_eq!(split(r#""a\""#), Err(WordsError::UnbalancedQuote));
    }

    #[test]
    fn trailing_backslash_is_kept() {
        assert_eq!(split(r"a\").unwrap(), [r"a\"]);
    }

    #[test]
    fn limits_are_errors_not_truncation() {
        let many = "w ".repeat(MAX_WORDS + 1);
        assert_eq!(split(&many), Err(WordsError::TooManyWords));
        assert_eq!(split(&"x ".repeat(MAX_WORDS)).map(|w| w.len()), Ok(MAX_WORDS));
        let long = "y".repeat(MAX_COMMAND_BYTES);
        assert_eq!(split(&long), Err(WordsError::TooLong));
        assert!(split(&"y".repeat(MAX_COMMAND_BYTES - 1)).is_ok());
    }

    #[test]
    fn words_carry_nul_terminators_for_argv() {
        let c = Command::parse(b"ab '' c").unwrap();
        let raw: std::vec::Vec<&[u8]> = c.words_with_nul().collect();
        assert_eq!(raw, [&b"ab\0"[..], b"\0", b"c\0"]);
        assert_eq!(c.program(), b"ab");
        assert_eq!(c.program_with_nul(), b"ab\0");
        assert_eq!(c.packed(), (&b"ab\0\0c\0"[..], &[0u16, 3, 4][..]));
        assert_eq!((Command::default().program(), Command::default().program_with_nul()), (&b""[..], &b"\0"[..]));
    }
}
