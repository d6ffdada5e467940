//! Property tests of the configuration: random environments (random bytes,
//! quoting edge cases, overlong values and numbers, case variants, stray
//! blanks) against a small model of SPEC's "Configuration" rules written here
//! independently of `config.rs` and `words.rs`.
//!
//! Properties: `parse` never panics; it agrees with the model (the values,
//! or the first bad variable in SPEC's order: DAEMONS, CMD_EGRESS,
//! CMD_PIPELOCK, CMD_GIT_GATE, CMD_SUPERVISE, GRACE_MS, LOG_PREFIX, RESTART,
//! RESTART_DELAY_MS, RESTART_LIMIT, ESSENTIAL, and what is wrong with it);
//! every error renders as exactly one line that names the variable, quotes
//! the value and ends with what is accepted. Every variable is checked
//! whatever DAEMONS selects.
//!
//! `make unit` runs proptest's default case count; `make fuzz` sets
//! `PROPTEST_CASES` much higher.

use proptest::prelude::*;
use proptest::sample::select;

use super::*;
use crate::logic::line::{LINE_BYTES, QUOTE_BYTES};
use crate::logic::report::{self, PREFIX};
use crate::logic::words::{MAX_COMMAND_BYTES, MAX_WORDS};

/// Proptest's defaults (`PROPTEST_CASES` is read from the environment), with
/// no regression files written into the source tree.
pub(crate) fn proptest_config() -> ProptestConfig {
    ProptestConfig { failure_persistence: None, max_shrink_time: 60_000, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------- the model

const NAMES: [&str; 4] = ["egress", "pipelock", "git-gate", "supervise"];
const COMMAND_VARS: [&str; 4] = [
    "CLAUDE_BOTTLE_SIDECAR_CMD_EGRESS",
    "CLAUDE_BOTTLE_SIDECAR_CMD_PIPELOCK",
    "CLAUDE_BOTTLE_SIDECAR_CMD_GIT_GATE",
    "CLAUDE_BOTTLE_SIDECAR_CMD_SUPERVISE",
];
/// SPEC's slot table, already split into words.
const DEFAULT_WORDS: [&[&str]; 4] = [
    &["/app/egress-entrypoint.sh"],
    &["/usr/local/bin/pipelock", "run", "--config", "/etc/pipelock.yaml", "--listen", "0.0.0.0:8888"],
    &["/git-gate-entrypoint.sh"],
    &["python3", "/app/supervise_server.py"],
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Wrong {
    UnknownSlot(Vec<u8>),
    Words(WordsError),
    Grace,
    LogPrefix,
    Delay,
    Limit,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Expected {
    selected: [bool; 4],
    words: [Vec<Vec<u8>>; 4],
    grace_ms: u32,
    log_prefix: bool,
    restart: [bool; 4],
    delay_ms: u32,
    limit: u16,
    essential: [bool; 4],
}

fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n')
}

/// DAEMONS: comma-separated names, blanks (space, tab, newline) around them
/// and empty items ignored, names exactly as in the slot table.
fn model_daemons(value: &[u8]) -> Result<[bool; 4], Vec<u8>> {
    let mut selected = [false; 4];
    for item in value.split(|&b| b == b',') {
        let mut name = item.to_vec();
        while name.first().is_some_and(|&b| is_blank(b)) {
            name.remove(0);
        }
        while name.last().is_some_and(|&b| is_blank(b)) {
            name.pop();
        }
        if name.is_empty() {
            continue;
        }
        match NAMES.iter().position(|n| n.as_bytes() == name.as_slice()) {
            Some(at) => selected[at] = true,
            None => return Err(name),
        }
    }
    Ok(selected)
}

/// SPEC's quoting rules read left to right over the whole value: the words,
/// and whether a quote was left open (the last word then holds what was
/// read inside it).
fn reference_split(text: &[u8]) -> (Vec<Vec<u8>>, bool) {
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while i < text.len() && is_blank(text[i]) {
            i += 1;
        }
        if i == text.len() {
            return (words, false);
        }
        let mut word = Vec::new();
        while i < text.len() && !is_blank(text[i]) {
            match text[i] {
                b'\'' => match text[i + 1..].iter().position(|&b| b == b'\'') {
                    Some(len) => {
                        word.extend_from_slice(&text[i + 1..i + 1 + len]);
                        i += len + 2;
                    }
                    None => {
                        word.extend_from_slice(&text[i + 1..]);
                        words.push(word);
                        return (words, true);
                    }
                },
                b'"' => {
                    i += 1;
                    loop {
                        match (text.get(i), text.get(i + 1)) {
                            (None, _) | (Some(b'\\'), None) => {
                                words.push(word);
                                return (words, true);
                            }
                            (Some(b'"'), _) => {
                                i += 1;
                                break;
                            }
                            (Some(b'\\'), Some(&next)) if next == b'"' || next == b'\\' => {
                                word.push(next);
                                i += 2;
                            }
                            (Some(&byte), _) => {
                                word.push(byte);
                                i += 1;
                            }
                        }
                    }
                }
                b'\\' => match text.get(i + 1) {
                    Some(&next) => {
                        word.push(next);
                        i += 2;
                    }
                    // Nothing to escape: kept, as sh does.
                    None => {
                        word.push(b'\\');
                        i += 1;
                    }
                },
                byte => {
                    word.push(byte);
                    i += 1;
                }
            }
        }
        words.push(word);
    }
}

/// A command value: its words, or what is wrong. The limits (64 words, 2048
/// bytes with a NUL after each word) are met in reading order: the 65th word
/// is refused as it begins, a byte or NUL past 2048 bytes as it comes; both
/// before an open quote is noticed at the end.
fn model_words(text: &[u8]) -> Result<Vec<Vec<u8>>, WordsError> {
    let (words, open) = reference_split(text);
    let mut used = 0;
    for (at, word) in words.iter().enumerate() {
        if at >= MAX_WORDS {
            return Err(WordsError::TooManyWords);
        }
        used += word.len();
        let finished = !(open && at + 1 == words.len());
        if finished {
            used += 1;
        }
        if used > MAX_COMMAND_BYTES {
            return Err(WordsError::TooLong);
        }
    }
    if open {
        return Err(WordsError::UnbalancedQuote);
    }
    if words.is_empty() {
        return Err(WordsError::NoWords);
    }
    Ok(words)
}

/// GRACE_MS and the restart policy's numbers: ASCII digits only, 0 to
/// `max`, leading zeros allowed.
fn model_digits(value: &[u8], max: u32) -> Option<u32> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let significant: Vec<u8> = value.iter().copied().skip_while(|&b| b == b'0').collect();
    if significant.len() > 7 {
        return None;
    }
    let number: u32 = std::str::from_utf8(&significant).unwrap().parse().unwrap_or(0);
    (number <= max).then_some(number)
}

/// The whole configuration, or the first bad variable (in SPEC's order).
fn model(env: &Env) -> Result<Expected, (String, Vec<u8>, Wrong)> {
    let get = |name: &str| env.get(name);
    let selected = match get(DAEMONS_VAR) {
        None => [true; 4],
        Some(value) => {
            model_daemons(value).map_err(|name| (DAEMONS_VAR.to_string(), value.to_vec(), Wrong::UnknownSlot(name)))?
        }
    };
    let mut words: [Vec<Vec<u8>>; 4] = Default::default();
    for at in 0..4 {
        words[at] = match get(COMMAND_VARS[at]) {
            None => DEFAULT_WORDS[at].iter().map(|w| w.as_bytes().to_vec()).collect(),
            Some(value) => {
                model_words(value).map_err(|why| (COMMAND_VARS[at].to_string(), value.to_vec(), Wrong::Words(why)))?
            }
        };
    }
    let number = |name: &str, default: u32, max: u32, wrong: Wrong| match get(name) {
        None | Some([]) => Ok(default),
        Some(value) => model_digits(value, max).ok_or((name.to_string(), value.to_vec(), wrong)),
    };
    let grace_ms = number(GRACE_VAR, 8000, 3_600_000, Wrong::Grace)?;
    let log_prefix = match get(LOG_PREFIX_VAR) {
        None | Some(b"" | b"1") => true,
        Some(b"0") => false,
        Some(value) => return Err((LOG_PREFIX_VAR.to_string(), value.to_vec(), Wrong::LogPrefix)),
    };
    // RESTART and ESSENTIAL: DAEMONS' list rules, but unset names no slot.
    let list = |name: &str| match get(name) {
        None => Ok([false; 4]),
        Some(value) => model_daemons(value).map_err(|bad| (name.to_string(), value.to_vec(), Wrong::UnknownSlot(bad))),
    };
    let restart = list(RESTART_VAR)?;
    let delay_ms = number(RESTART_DELAY_VAR, 500, 3_600_000, Wrong::Delay)?;
    let limit = number(RESTART_LIMIT_VAR, 5, 1000, Wrong::Limit)? as u16;
    let essential = list(ESSENTIAL_VAR)?;
    Ok(Expected { selected, words, grace_ms, log_prefix, restart, delay_ms, limit, essential })
}

/// How a quoted value must appear in a line: each byte as itself when
/// printable ASCII, `\n` `\t` `\r` `\\`, or `\xHH`; at most QUOTE_BYTES bytes
/// of that, then `...` when something was left out.
fn model_quote(value: &[u8]) -> String {
    let mut shown = String::new();
    for &byte in value {
        let form = match byte {
            b'\n' => "\\n".to_string(),
            b'\t' => "\\t".to_string(),
            b'\r' => "\\r".to_string(),
            b'\\' => "\\\\".to_string(),
            0x20..=0x7e => (byte as char).to_string(),
            _ => format!("\\x{byte:02x}"),
        };
        if shown.len() + form.len() > QUOTE_BYTES {
            return shown + "...";
        }
        shown += &form;
    }
    shown
}

/// What every error line of this kind ends with.
fn accepted_tail(wrong: &Wrong) -> &'static str {
    match wrong {
        Wrong::UnknownSlot(_) => "; accepted: comma-separated names among egress, pipelock, git-gate, supervise\n",
        Wrong::Words(_) => "; accepted: at most 64 words and 2047 bytes, POSIX shell quoting, no expansion\n",
        Wrong::Grace => " is not accepted: ASCII digits only, 0 to 3600000 (milliseconds); empty means 8000\n",
        Wrong::LogPrefix => " is not accepted: 1 ([slot] prefix) or 0 (none); empty means 1\n",
        Wrong::Delay => " is not accepted: ASCII digits only, 0 to 3600000 (milliseconds); empty means 500\n",
        Wrong::Limit => " is not accepted: ASCII digits only, 0 to 1000 (0: no limit); empty means 5\n",
    }
}

// ------------------------------------------------------------ environments

/// An environment: the variables of SPEC plus decoys, each set or not.
#[derive(Clone, Debug)]
pub(crate) struct Env {
    vars: Vec<(String, Vec<u8>)>,
}

impl Env {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

/// Bytes an environment value can hold: anything but NUL.
fn value_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 0..max)
}

fn daemons_value() -> impl Strategy<Value = Vec<u8>> {
    let blanks = prop_oneof![
        8 => select(vec!["", " ", "\t", "\n", "  \t", " \n "]),
        1 => select(vec!["\r", "\x0c", "\x0b", "\u{a0}", "\r\n"]),
    ];
    let name = prop_oneof![
        8 => select(NAMES.to_vec()),
        1 => select(vec!["", "Egress", "PIPELOCK", "git_gate", "gitgate", "Supervise", "egress pipelock", "x", "egres"]),
    ];
    let item = (blanks.clone(), name, blanks).prop_map(|(a, n, b)| format!("{a}{n}{b}").into_bytes());
    let list = prop::collection::vec(item, 0..6).prop_map(|items| items.join(&b","[..]));
    prop_oneof![6 => list, 1 => value_bytes(40), 1 => select(vec!["", ",", " , ", ",,\t,"]).prop_map(|v| v.as_bytes().to_vec())]
}

fn command_value() -> impl Strategy<Value = Vec<u8>> {
    let piece = select(vec![
        &b"a"[..],
        b"bc",
        b"/bin/prog",
        b" ",
        b"  ",
        b"\t",
        b"\n",
        b"'",
        b"\"",
        b"\\",
        b"''",
        b"\"\"",
        b"\\\"",
        b"\\\\",
        b"\\'",
        b"\\ ",
        b"'a b'",
        b"'c\\d'",
        b"\"a \\\" b\"",
        b"\"c\\d\"",
        b"\"e\\\\\"",
        b"$HOME",
        b"*",
        b"\r",
        b"\x7f",
        b"\xff",
        b"\x01",
    ]);
    let soup = prop::collection::vec(piece, 0..14).prop_map(|pieces| pieces.concat());
    // Near the limits: word counts around 64, sizes around 2048 bytes.
    let many_words =
        (58usize..70, select(vec!["w ", "'' ", "\"\" ", "ab\t"])).prop_map(|(n, w)| w.repeat(n).into_bytes());
    let long_word = (2040usize..2056, select(vec!["", "'", "\"", " ", "'x'"]))
        .prop_map(|(n, tail)| format!("{}{tail}", "y".repeat(n)).into_bytes());
    let sized_words = (1usize..64, 20usize..80).prop_map(|(len, n)| vec!["z".repeat(len); n].join(" ").into_bytes());
    prop_oneof![
        6 => soup,
        1 => value_bytes(30),
        1 => many_words,
        1 => long_word,
        1 => sized_words,
    ]
}

fn grace_value() -> impl Strategy<Value = Vec<u8>> {
    let digits = prop::collection::vec(b'0'..=b'9', 0..25);
    let number = prop_oneof![0u64..=4_000_000, 3_599_990u64..3_600_010, 0u64..=1100, 990u64..1010, any::<u64>()];
    let decorated = (
        select(vec!["", "", "0", "000", "+", "-", " ", "\t"]),
        number,
        select(vec!["", "", " ", "\n", "s", "ms", "e3", "\r", ".0"]),
    )
        .prop_map(|(before, n, after)| format!("{before}{n}{after}").into_bytes());
    prop_oneof![3 => decorated, 1 => digits, 1 => value_bytes(12)]
}

fn log_prefix_value() -> impl Strategy<Value = Vec<u8>> {
    let known = select(vec!["", "0", "1", "00", "01", " 1", "1 ", "1\n", "true", "yes", "2", "\r1", "1\r", "-1"]);
    prop_oneof![4 => known.prop_map(|v| v.as_bytes().to_vec()), 1 => value_bytes(6)]
}

/// Mostly unset, so that later variables are reached often.
fn maybe(value: impl Strategy<Value = Vec<u8>>, unset: u32) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![unset => Just(None), 2 => value.prop_map(Some)]
}

pub(crate) fn environment() -> impl Strategy<Value = Env> {
    let commands =
        [maybe(command_value(), 5), maybe(command_value(), 5), maybe(command_value(), 5), maybe(command_value(), 5)];
    let decoys = prop::collection::vec(
        (
            select(vec![
                "CLAUDE_BOTTLE_SIDECAR_CMD_OTHER",
                "CLAUDE_BOTTLE_SIDECAR_GRACE",
                "claude_bottle_sidecar_daemons",
                "CLAUDE_BOTTLE_SIDECAR_CMD_egress",
                "CLAUDE_BOTTLE_SIDECAR_RESTARTS",
                "CLAUDE_BOTTLE_SIDECAR_RESTART_DELAY",
                "PATH",
            ]),
            value_bytes(10),
        ),
        0..3,
    );
    let policy =
        (maybe(daemons_value(), 2), maybe(grace_value(), 2), maybe(grace_value(), 2), maybe(daemons_value(), 2));
    (maybe(daemons_value(), 2), commands, maybe(grace_value(), 2), maybe(log_prefix_value(), 2), policy, decoys)
        .prop_map(|(daemons, commands, grace, prefix, (restart, delay, limit, essential), decoys)| {
            let mut vars: Vec<(String, Vec<u8>)> = decoys.into_iter().map(|(n, v)| (n.to_string(), v)).collect();
            let named = [
                (DAEMONS_VAR, daemons),
                (GRACE_VAR, grace),
                (LOG_PREFIX_VAR, prefix),
                (RESTART_VAR, restart),
                (RESTART_DELAY_VAR, delay),
                (RESTART_LIMIT_VAR, limit),
                (ESSENTIAL_VAR, essential),
            ];
            let commands = COMMAND_VARS.into_iter().zip(commands);
            for (name, value) in named.into_iter().chain(commands) {
                if let Some(value) = value {
                    vars.push((name.to_string(), value));
                }
            }
            Env { vars }
        })
}

// ------------------------------------------------------------- properties

fn check(env: &Env) -> Result<(), TestCaseError> {
    let parsed = parse(|name| env.get(name));
    match (parsed, model(env)) {
        (Ok(config), Ok(expected)) => {
            let selected = Slot::ALL.map(|slot| *config.selected.get(slot));
            prop_assert_eq!(selected, expected.selected);
            for (at, slot) in Slot::ALL.into_iter().enumerate() {
                let words: Vec<Vec<u8>> = config.commands.get(slot).words().map(<[u8]>::to_vec).collect();
                prop_assert_eq!(&words, &expected.words[at], "{}", slot.name());
            }
            prop_assert_eq!(config.grace_ms, expected.grace_ms);
            prop_assert_eq!(config.log_prefix, expected.log_prefix);
            let policy = config.policy;
            prop_assert_eq!(Slot::ALL.map(|slot| *policy.restart.get(slot)), expected.restart);
            prop_assert_eq!(Slot::ALL.map(|slot| *policy.essential.get(slot)), expected.essential);
            prop_assert_eq!(policy.delay_ms, expected.delay_ms);
            prop_assert_eq!(policy.limit, expected.limit);
        }
        (Err(error), Err((variable, value, wrong))) => {
            prop_assert_eq!(error.variable.name(), variable.as_str());
            prop_assert_eq!(error.value, value.as_slice());
            let problem = match error.problem {
                Problem::UnknownSlot(name) => Wrong::UnknownSlot(name.to_vec()),
                Problem::Command(why) => Wrong::Words(why),
                Problem::Grace => Wrong::Grace,
                Problem::LogPrefix => Wrong::LogPrefix,
                Problem::RestartDelay => Wrong::Delay,
                Problem::RestartLimit => Wrong::Limit,
                // Never set here: privilege_props.rs and config's unit tests check those variables.
                Problem::User | Problem::Private(_) | Problem::Control => {
                    return Err(TestCaseError::fail(format!("{error:?}")))
                }
            };
            prop_assert_eq!(&problem, &wrong);
            check_error_line(&error, &variable, &value, &wrong)?;
        }
        (parsed, expected) => {
            return Err(TestCaseError::fail(format!("parse gave {parsed:?}, the model {expected:?}")));
        }
    }
    Ok(())
}

fn check_error_line(error: &ConfigError, variable: &str, value: &[u8], wrong: &Wrong) -> Result<(), TestCaseError> {
    let line = String::from_utf8(report::config_error(error).as_bytes().to_vec()).unwrap();
    prop_assert!(line.len() < LINE_BYTES, "cut at the line's end: {:?}", line);
    prop_assert_eq!(line.matches('\n').count(), 1, "{:?}", line);
    prop_assert!(line.ends_with('\n'));
    let head = format!("{PREFIX}{variable}='{}' ", model_quote(value));
    prop_assert!(line.starts_with(&head), "{:?} does not start with {:?}", line, head);
    if let Wrong::UnknownSlot(name) = wrong {
        let names = format!("names no slot '{}'", model_quote(name));
        prop_assert!(line.contains(&names), "{:?} lacks {:?}", line, names);
    }
    prop_assert!(line.ends_with(accepted_tail(wrong)), "{:?} lacks what is accepted", line);
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn parse_agrees_with_the_model_and_errors_are_one_whole_line(env in environment()) {
        check(&env)?;
    }

    #[test]
    fn any_bytes_in_any_variable_never_panic(values in prop::collection::vec(value_bytes(300), 11)) {
        let policy = [RESTART_VAR, RESTART_DELAY_VAR, RESTART_LIMIT_VAR, ESSENTIAL_VAR];
        let names = [DAEMONS_VAR, GRACE_VAR, LOG_PREFIX_VAR].into_iter().chain(COMMAND_VARS).chain(policy);
        let vars = names.zip(values).map(|(n, v)| (n.to_string(), v)).collect();
        check(&Env { vars })?;
    }

    #[test]
    fn commands_split_as_the_reference_splitter_says(text in command_value()) {
        let real = crate::logic::words::Command::parse(&text).map(|c| c.words().map(<[u8]>::to_vec).collect::<Vec<_>>());
        prop_assert_eq!(real, model_words(&text));
    }
}

/// The model itself, on SPEC's examples: a wrong model proves nothing.
#[test]
fn the_model_reads_specs_examples() {
    let words = |text: &str| {
        model_words(text.as_bytes())
            .map(|w| w.iter().map(|w| String::from_utf8(w.clone()).unwrap()).collect::<Vec<_>>())
    };
    assert_eq!(words(r#"a"b c""#).unwrap(), ["ab c"]);
    assert_eq!(words("'' x").unwrap(), ["", "x"]);
    assert_eq!(words(r#""a\"b\\c\d" 'e\f' g\ h i\"#).unwrap(), [r#"a"b\c\d"#, r"e\f", "g h", r"i\"]);
    assert_eq!(words(" \t\n"), Err(WordsError::NoWords));
    assert_eq!(words("a 'b"), Err(WordsError::UnbalancedQuote));
    assert_eq!(words(r#""a\""#), Err(WordsError::UnbalancedQuote));
    assert_eq!(words(&"w ".repeat(65)), Err(WordsError::TooManyWords));
    assert_eq!(words(&"y".repeat(2047)).map(|w| w.len()), Ok(1));
    assert_eq!(words(&"y".repeat(2048)), Err(WordsError::TooLong));
    assert_eq!(model_daemons(b" egress ,\tgit-gate,,"), Ok([true, false, true, false]));
    assert_eq!(model_daemons(b"egress\r"), Err(b"egress\r".to_vec()));
    assert_eq!(model_digits(b"0003600000", 3_600_000), Some(3_600_000));
    assert_eq!(model_digits(b"3600001", 3_600_000), None);
    assert_eq!(model_digits(b"1000", 1000), Some(1000));
    assert_eq!(model_digits(b"1001", 1000), None);
    let env = |pairs: &[(&str, &str)]| Env {
        vars: pairs.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect(),
    };
    let expected = model(&env(&[(DAEMONS_VAR, "egress"), (RESTART_VAR, " pipelock,"), (RESTART_LIMIT_VAR, "")]));
    let expected = expected.unwrap();
    assert_eq!((expected.restart, expected.essential), ([false, true, false, false], [false; 4]));
    assert_eq!((expected.delay_ms, expected.limit), (500, 5));
    let wrong = model(&env(&[(ESSENTIAL_VAR, "x"), (RESTART_DELAY_VAR, "-1")])).unwrap_err();
    assert_eq!(wrong.0, RESTART_DELAY_VAR, "DELAY comes before ESSENTIAL in SPEC's order");
    assert_eq!(model_quote(&[1; 41]), format!("{}...", r"\x01".repeat(40)));
}
