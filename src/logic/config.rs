//! Reads the configuration from the environment: every rule of SPEC's
//! "Configuration" and "Restart policy" sections, with no I/O (the
//! environment is a lookup function).

use super::privilege::{self, User};
use super::restart::{Policy, DEFAULT_DELAY_MS, DEFAULT_LIMIT, MAX_DELAY_MS, MAX_LIMIT};
use super::slot::{PerSlot, Slot};
use super::words::{Command, WordsError};

/// What every variable's name begins with. The binary keeps it once: the
/// names it looks up and reports are what follows it, in two pieces
/// ([`Variable::short_name`]).
pub const VAR_PREFIX: &str = "CLAUDE_BOTTLE_SIDECAR_";

pub const DAEMONS_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_DAEMONS";
pub const GRACE_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_GRACE_MS";
pub const LOG_PREFIX_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_LOG_PREFIX";
pub const RESTART_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_RESTART";
pub const RESTART_DELAY_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_RESTART_DELAY_MS";
pub const RESTART_LIMIT_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_RESTART_LIMIT";
pub const ESSENTIAL_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_ESSENTIAL";
pub const CONTROL_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_CONTROL";

pub const DEFAULT_GRACE_MS: u32 = 8000;
pub const MAX_GRACE_MS: u32 = 3_600_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub selected: PerSlot<bool>,
    pub commands: PerSlot<Command>,
    pub grace_ms: u32,
    pub log_prefix: bool,
    pub policy: Policy,
    /// Least privilege: whom each slot's daemon runs as (None: as the init),
    /// in slot order: an array, which a `slot as usize` reaches without the
    /// jump tables a `PerSlot` costs.
    pub users: [Option<User>; 4],
    /// Where the control socket listens: `@NAME` or an absolute path, as
    /// written; empty: off.
    pub control: ControlAddr,
}

/// `@NAME` (abstract) or an absolute path, a NAME or path of at most
/// [`MAX_CONTROL_BYTES`], so that either fits a `sockaddr_un`; empty: off.
pub type ControlAddr = heapless::Vec<u8, { MAX_CONTROL_BYTES + 1 }>;
pub const MAX_CONTROL_BYTES: usize = 107;
pub const DEFAULT_CONTROL: &[u8] = b"@sidecar-init";

impl Config {
    pub fn any_selected(&self) -> bool {
        let PerSlot { egress, pipelock, git_gate, supervise } = self.selected;
        egress | pipelock | git_gate | supervise
    }
}

/// Which variable a configuration error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variable {
    Daemons,
    Command(Slot),
    Grace,
    LogPrefix,
    Restart,
    RestartDelay,
    RestartLimit,
    Essential,
    User(Slot),
    Private(Slot),
    Control,
}

impl Variable {
    /// The name after [`VAR_PREFIX`], in two pieces: a slot's variables
    /// are their kind and the slot's part (`CMD_` and `GIT_GATE`), so that
    /// each piece is kept once.
    pub fn short_name(self) -> [&'static str; 2] {
        // Every kind, in the order of the variants, packed in one text (RESTART
        // is the head of RESTART_DELAY_MS), and where each starts and ends in
        // it: a table instead of code per variant.
        const KINDS: &str = "DAEMONSCMD_GRACE_MSLOG_PREFIXRESTART_DELAY_MSRESTART_LIMITESSENTIALUSER_PRIVATE_CONTROL";
        const BOUNDS: [(u8, u8); 11] =
            [(0, 7), (7, 11), (11, 19), (19, 29), (29, 36), (29, 45), (45, 58), (58, 67), (67, 72), (72, 80), (80, 87)];
        let index = match self {
            Variable::Daemons => 0,
            Variable::Command(_) => 1,
            Variable::Grace => 2,
            Variable::LogPrefix => 3,
            Variable::Restart => 4,
            Variable::RestartDelay => 5,
            Variable::RestartLimit => 6,
            Variable::Essential => 7,
            Variable::User(_) => 8,
            Variable::Private(_) => 9,
            Variable::Control => 10,
        };
        let (start, end) = BOUNDS.get(index).copied().unwrap_or_default();
        let kind = KINDS.get(usize::from(start)..usize::from(end)).unwrap_or_default();
        let slot = match self {
            Variable::Command(slot) | Variable::User(slot) | Variable::Private(slot) => slot.variable(),
            _ => "",
        };
        [kind, slot]
    }

    /// The whole name.
    #[cfg(test)]
    pub fn name(self) -> String {
        format!("{VAR_PREFIX}{}", self.short_name().concat())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem<'a> {
    UnknownSlot(&'a [u8]),
    Command(WordsError),
    Grace,
    LogPrefix,
    RestartDelay,
    RestartLimit,
    User,
    /// The first item of a PRIVATE list that is not a name or `PREFIX*`.
    Private(&'a [u8]),
    Control,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError<'a> {
    pub variable: Variable,
    pub value: &'a [u8],
    pub problem: Problem<'a>,
}

/// Parses every variable, selected slot or not; the first bad one is the
/// error. `env` is asked for whole names.
#[cfg(test)]
pub fn parse<'a>(env: impl Fn(&str) -> Option<&'a [u8]>) -> Result<Config, ConfigError<'a>> {
    let mut config = Config::default();
    parse_into(|variable| env(&variable.name()), &mut config)?;
    Ok(config)
}

/// [`parse`] into the caller's `Config`: PID 1 keeps one copy on its stack
/// instead of moving kilobytes of commands around (each move touches pages).
/// `env` is asked for variables (their names made by the environment's
/// lookup, [`Variable::short_name`]: one place).
#[inline(never)]
pub fn parse_into<'a>(env: impl Fn(Variable) -> Option<&'a [u8]>, config: &mut Config) -> Result<(), ConfigError<'a>> {
    let mut reader = Reader::new(env);
    read(&mut reader, config).ok_or_else(|| reader.error())
}

/// The environment, remembering the variable read last, its value (empty
/// when unset) and what was wrong in it: what a configuration error names.
/// The parsers only say `None`, and the error is made once, from these.
pub(super) struct Reader<'a, F> {
    env: F,
    variable: Variable,
    value: &'a [u8],
    /// The name that is no slot, or the bad item of a PRIVATE list.
    bad: &'a [u8],
    /// What is wrong with a command.
    why: WordsError,
}

impl<'a, F: Fn(Variable) -> Option<&'a [u8]>> Reader<'a, F> {
    pub(super) fn new(env: F) -> Self {
        Reader { env, variable: Variable::Daemons, value: b"", bad: b"", why: WordsError::NoWords }
    }

    #[inline(never)]
    pub(super) fn get(&mut self, variable: Variable) -> Option<&'a [u8]> {
        let value = (self.env)(variable);
        self.variable = variable;
        self.value = value.unwrap_or_default();
        value
    }

    /// `None`, with `bad` as what is wrong in the variable read last.
    pub(super) fn bad<T>(&mut self, bad: &'a [u8]) -> Option<T> {
        self.bad = bad;
        None
    }

    /// The error about the variable read last.
    pub(super) fn error(&self) -> ConfigError<'a> {
        let problem = match self.variable {
            Variable::Daemons | Variable::Restart | Variable::Essential => Problem::UnknownSlot(self.bad),
            Variable::Command(_) => Problem::Command(self.why),
            Variable::Grace => Problem::Grace,
            Variable::LogPrefix => Problem::LogPrefix,
            Variable::RestartDelay => Problem::RestartDelay,
            Variable::RestartLimit => Problem::RestartLimit,
            Variable::User(_) => Problem::User,
            Variable::Private(_) => Problem::Private(self.bad),
            Variable::Control => Problem::Control,
        };
        ConfigError { variable: self.variable, value: self.value, problem }
    }

    /// A list of slot names with DAEMONS' rules.
    fn slots(&mut self, value: &'a [u8]) -> Option<PerSlot<bool>> {
        match parse_slots(value) {
            Ok(slots) => Some(slots),
            Err(name) => self.bad(name),
        }
    }

    /// A list of slot names with DAEMONS' rules; unset or empty: none.
    fn optional_slots(&mut self, variable: Variable) -> Option<PerSlot<bool>> {
        match self.get(variable) {
            None => Some(PerSlot::default()),
            Some(value) => self.slots(value),
        }
    }

    /// A number of ASCII digits up to `max`; unset or empty: `default`.
    fn number(&mut self, variable: Variable, default: u32, max: u32) -> Option<u32> {
        match self.get(variable) {
            None | Some(b"") => Some(default),
            Some(value) => parse_digits(value, max),
        }
    }
}

/// Every variable, in SPEC's order; `None` at the first bad one.
fn read<'a>(r: &mut Reader<'a, impl Fn(Variable) -> Option<&'a [u8]>>, config: &mut Config) -> Option<()> {
    let selected = match r.get(Variable::Daemons) {
        None => PerSlot::from_fn(|_| true),
        Some(value) => r.slots(value)?,
    };
    // The commands in slot order, by reference: no `get_mut` per slot.
    let PerSlot { egress, pipelock, git_gate, supervise } = &mut config.commands;
    for (&slot, command) in Slot::ALL.iter().zip([egress, pipelock, git_gate, supervise]) {
        let text = r.get(Variable::Command(slot)).unwrap_or(slot.default_command().as_bytes());
        if let Err(why) = Command::parse_into(text, command) {
            r.why = why;
            return None;
        }
    }
    let grace_ms = r.number(Variable::Grace, DEFAULT_GRACE_MS, MAX_GRACE_MS)?;
    let log_prefix = match r.get(Variable::LogPrefix) {
        None | Some(b"" | b"1") => true,
        Some(b"0") => false,
        Some(_) => return None,
    };
    let restart = r.optional_slots(Variable::Restart)?;
    let delay_ms = r.number(Variable::RestartDelay, DEFAULT_DELAY_MS, MAX_DELAY_MS)?;
    let limit = r.number(Variable::RestartLimit, DEFAULT_LIMIT.into(), MAX_LIMIT.into())?;
    let essential = r.optional_slots(Variable::Essential)?;
    privilege::read(r, &mut config.users)?;
    parse_control(r.get(Variable::Control), &mut config.control)?;
    config.selected = selected;
    config.grace_ms = grace_ms;
    config.log_prefix = log_prefix;
    config.policy = Policy { restart, essential, delay_ms, limit: u16::try_from(limit).unwrap_or(DEFAULT_LIMIT) };
    Some(())
}

/// Returns the slots named, or the first name that is no slot.
fn parse_slots(value: &[u8]) -> Result<PerSlot<bool>, &[u8]> {
    // In slot order: an array, which `slot as usize` reaches without the
    // branches of a `PerSlot`'s `get_mut`.
    let mut selected = [false; 4];
    let mut rest = Some(value);
    while let Some(list) = rest {
        let (name, after) = first_item(list);
        rest = after;
        if !name.is_empty() {
            let slot = Slot::from_name(name).ok_or(name)?;
            if let Some(flag) = selected.get_mut(slot as usize) {
                *flag = true;
            }
        }
    }
    let [egress, pipelock, git_gate, supervise] = selected;
    Ok(PerSlot { egress, pipelock, git_gate, supervise })
}

/// The first item of a comma-separated `list`, without SPEC's blanks around
/// it, and the rest after its comma (`None` after the last item). The one
/// list walk of the binary: slot lists and PRIVATE lists.
#[inline(never)]
pub(super) fn first_item(list: &[u8]) -> (&[u8], Option<&[u8]>) {
    let end = list.iter().position(|&b| b == b',').unwrap_or(list.len());
    let (item, rest) = list.split_at_checked(end).unwrap_or((list, &[]));
    (trim_blanks(item), rest.get(1..))
}

/// `item` without SPEC's blanks (space, tab, newline) around it. Not
/// `trim_ascii`: a `\r` from a CRLF env file, or a form feed, must stay and
/// show in the error.
fn trim_blanks(mut item: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\n', rest @ ..] = item {
        item = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\n'] = item {
        item = rest;
    }
    item
}

/// `CLAUDE_BOTTLE_SIDECAR_CONTROL`'s `value` into `addr`: unset or empty
/// is the default `@sidecar-init`, `off` is empty; `None`: not accepted
/// ([`control_error`]). The init's listener and the client subcommands read
/// it alike.
pub fn parse_control(value: Option<&[u8]>, addr: &mut ControlAddr) -> Option<()> {
    let text = match value {
        None | Some(b"") => DEFAULT_CONTROL,
        Some(b"off") => b"",
        Some(text) => text,
    };
    let fits = match text {
        [b'@', name @ ..] => !name.is_empty() && name.len() <= MAX_CONTROL_BYTES,
        [b'/', ..] => text.len() <= MAX_CONTROL_BYTES,
        other => other.is_empty(),
    };
    (fits && addr.extend_from_slice(text).is_ok()).then_some(())
}

/// The error about a CONTROL `value` that [`parse_control`] did not accept,
/// for the client subcommands (the init's parse makes it from its reader).
pub fn control_error(value: Option<&[u8]>) -> ConfigError<'_> {
    ConfigError { variable: Variable::Control, value: value.unwrap_or_default(), problem: Problem::Control }
}

/// ASCII digits only, at most `max`: every number the init reads.
pub(super) fn parse_digits(value: &[u8], max: u32) -> Option<u32> {
    if value.is_empty() {
        return None;
    }
    let mut total: u32 = 0;
    for &byte in value {
        if !byte.is_ascii_digit() {
            return None;
        }
        total = total.checked_mul(10)?.checked_add(u32::from(byte.wrapping_sub(b'0')))?;
    }
    (total <= max).then_some(total)
}

#[cfg(test)]
#[path = "config_props.rs"]
pub(crate) mod props;

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &'static str)]) -> Result<Config, ConfigError<'static>> {
        let pairs: Vec<(String, &'static [u8])> = pairs.iter().map(|(k, v)| (k.to_string(), v.as_bytes())).collect();
        parse(|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| *v))
    }

    fn selected(daemons: &'static str) -> Vec<&'static str> {
        let c = config(&[(DAEMONS_VAR, daemons)]).unwrap();
        c.selected.iter().filter(|(_, &on)| on).map(|(s, _)| s.name()).collect()
    }

    #[test]
    fn unset_selects_all_four_with_defaults() {
        let c = config(&[]).unwrap();
        assert!(Slot::ALL.iter().all(|&s| *c.selected.get(s)));
        assert_eq!(c.grace_ms, 8000);
        assert!(c.log_prefix);
        assert_eq!(c.commands.get(Slot::Supervise).program(), b"python3");
        assert_eq!(c.commands.get(Slot::Pipelock).words().count(), 6);
    }

    #[test]
    fn blanks_empty_items_and_duplicates_are_ignored() {
        assert_eq!(selected(" pipelock , ,egress,\tpipelock,"), ["egress", "pipelock"]);
    }

    #[test]
    fn start_order_is_slot_order_not_written_order() {
        assert_eq!(selected("supervise,git-gate,pipelock,egress"), ["egress", "pipelock", "git-gate", "supervise"]);
    }

    #[test]
    fn values_naming_no_slot_select_none() {
        for value in ["", " , ", ",", " \t "] {
            let c = config(&[(DAEMONS_VAR, value)]).unwrap();
            assert!(!c.any_selected(), "{value:?}");
        }
    }

    #[test]
    fn unknown_or_miscased_names_are_errors() {
        for (value, bad) in [
            ("egress,proxy", "proxy"),
            ("Egress", "Egress"),
            ("git_gate", "git_gate"),
            ("egress pipelock", "egress pipelock"),
        ] {
            let err = config(&[(DAEMONS_VAR, value)]).unwrap_err();
            assert_eq!(err.variable, Variable::Daemons);
            assert_eq!(err.value, value.as_bytes());
            assert_eq!(err.problem, Problem::UnknownSlot(bad.as_bytes()));
        }
    }

    #[test]
    fn command_override_replaces_default() {
        let c = config(&[("CLAUDE_BOTTLE_SIDECAR_CMD_GIT_GATE", "/bin/gate --port '9 418'")]).unwrap();
        let words: Vec<&[u8]> = c.commands.get(Slot::GitGate).words().collect();
        assert_eq!(words, [&b"/bin/gate"[..], b"--port", b"9 418"]);
    }

    #[test]
    fn bad_commands_are_errors_even_for_unselected_slots() {
        let err = config(&[(DAEMONS_VAR, "egress"), ("CLAUDE_BOTTLE_SIDECAR_CMD_SUPERVISE", "  ")]).unwrap_err();
        assert_eq!(err.variable, Variable::Command(Slot::Supervise));
        assert_eq!(err.problem, Problem::Command(WordsError::NoWords));
        let err = config(&[("CLAUDE_BOTTLE_SIDECAR_CMD_PIPELOCK", "x 'y")]).unwrap_err();
        assert_eq!(err.problem, Problem::Command(WordsError::UnbalancedQuote));
    }

    #[test]
    fn every_variable_has_its_name_from_the_packed_table() {
        let names: Vec<String> = [
            Variable::Daemons,
            Variable::Command(Slot::GitGate),
            Variable::Grace,
            Variable::LogPrefix,
            Variable::Restart,
            Variable::RestartDelay,
            Variable::RestartLimit,
            Variable::Essential,
            Variable::User(Slot::Egress),
            Variable::Private(Slot::Supervise),
            Variable::Control,
        ]
        .map(Variable::name)
        .to_vec();
        assert_eq!(
            names,
            [
                DAEMONS_VAR,
                "CLAUDE_BOTTLE_SIDECAR_CMD_GIT_GATE",
                GRACE_VAR,
                LOG_PREFIX_VAR,
                RESTART_VAR,
                RESTART_DELAY_VAR,
                RESTART_LIMIT_VAR,
                ESSENTIAL_VAR,
                "CLAUDE_BOTTLE_SIDECAR_USER_EGRESS",
                "CLAUDE_BOTTLE_SIDECAR_PRIVATE_SUPERVISE",
                CONTROL_VAR,
            ]
        );
    }

    #[test]
    fn grace_bounds() {
        assert_eq!(config(&[(GRACE_VAR, "0")]).unwrap().grace_ms, 0);
        assert_eq!(config(&[(GRACE_VAR, "3600000")]).unwrap().grace_ms, 3_600_000);
        assert_eq!(config(&[(GRACE_VAR, "0000250")]).unwrap().grace_ms, 250);
        assert_eq!(config(&[(GRACE_VAR, "")]).unwrap().grace_ms, 8000);
        for bad in ["3600001", "-1", "+5", " 5", "5 ", "5s", "1e3", "abc", "99999999999999999999"] {
            let err = config(&[(GRACE_VAR, bad)]).unwrap_err();
            assert_eq!((err.variable, err.value), (Variable::Grace, bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn log_prefix_values() {
        assert!(config(&[(LOG_PREFIX_VAR, "1")]).unwrap().log_prefix);
        assert!(config(&[(LOG_PREFIX_VAR, "")]).unwrap().log_prefix);
        assert!(!config(&[(LOG_PREFIX_VAR, "0")]).unwrap().log_prefix);
        for bad in ["yes", "true", " 1", "2", "00"] {
            assert_eq!(config(&[(LOG_PREFIX_VAR, bad)]).unwrap_err().variable, Variable::LogPrefix);
        }
    }

    #[test]
    fn grace_and_prefix_are_checked_when_nothing_is_selected() {
        let err = config(&[(DAEMONS_VAR, ""), (GRACE_VAR, "x")]).unwrap_err();
        assert_eq!(err.variable, Variable::Grace);
    }

    #[test]
    fn only_space_tab_and_newline_are_blanks_around_names() {
        assert_eq!(selected(" \n\tegress\n ,\tsupervise "), ["egress", "supervise"]);
        // A CRLF env file, or a form feed or vertical tab: not blanks (SPEC), so an unknown name.
        for (value, bad) in
            [("egress\r", "egress\r"), ("pipelock,\x0cegress", "\x0cegress"), ("\x0bgit-gate ", "\x0bgit-gate")]
        {
            let err = config(&[(DAEMONS_VAR, value)]).unwrap_err();
            assert_eq!(
                (err.variable, err.problem),
                (Variable::Daemons, Problem::UnknownSlot(bad.as_bytes())),
                "{value:?}"
            );
        }
    }

    fn policy(pairs: &[(&str, &'static str)]) -> Policy {
        config(pairs).unwrap().policy
    }

    fn names(slots: PerSlot<bool>) -> Vec<&'static str> {
        slots.iter().filter(|(_, &on)| on).map(|(s, _)| s.name()).collect()
    }

    #[test]
    fn the_restart_policy_defaults_to_nothing_500_ms_and_5() {
        let p = policy(&[]);
        assert_eq!((names(p.restart), names(p.essential), p.delay_ms, p.limit), (vec![], vec![], 500, 5));
        let empty = policy(&[(RESTART_VAR, ""), (ESSENTIAL_VAR, ""), (RESTART_DELAY_VAR, ""), (RESTART_LIMIT_VAR, "")]);
        assert_eq!(empty, p, "empty means the default");
        assert_eq!(p, Policy::default());
    }

    #[test]
    fn restart_and_essential_take_daemons_list_rules() {
        for var in [RESTART_VAR, ESSENTIAL_VAR] {
            let p = policy(&[(var, " supervise ,\n,egress,\tsupervise,")]);
            let listed = if var == RESTART_VAR { p.restart } else { p.essential };
            assert_eq!(names(listed), ["egress", "supervise"], "{var}");
            for none in [" , ", ",", " \t\n "] {
                let p = policy(&[(var, none)]);
                assert_eq!(names(if var == RESTART_VAR { p.restart } else { p.essential }), Vec::<&str>::new());
            }
            for (value, bad) in [("egress,proxy", "proxy"), ("Pipelock", "Pipelock"), ("egress\r", "egress\r")] {
                let err = config(&[(var, value)]).unwrap_err();
                assert_eq!(err.variable.name(), var);
                assert_eq!((err.value, err.problem), (value.as_bytes(), Problem::UnknownSlot(bad.as_bytes())));
            }
        }
    }

    #[test]
    fn restart_and_essential_may_name_unselected_slots_and_are_checked_when_none_is_selected() {
        let c = config(&[(DAEMONS_VAR, "egress"), (RESTART_VAR, "pipelock"), (ESSENTIAL_VAR, "git-gate")]).unwrap();
        assert_eq!((names(c.policy.restart), names(c.policy.essential)), (vec!["pipelock"], vec!["git-gate"]));
        for (var, value) in
            [(RESTART_VAR, "x"), (ESSENTIAL_VAR, "x"), (RESTART_DELAY_VAR, "x"), (RESTART_LIMIT_VAR, "x")]
        {
            let err = config(&[(DAEMONS_VAR, ""), (var, value)]).unwrap_err();
            assert_eq!(err.variable.name(), var);
        }
    }

    #[test]
    fn restart_delay_bounds() {
        for (value, ms) in [("0", 0), ("3600000", 3_600_000), ("0000100", 100), ("500", 500)] {
            assert_eq!(policy(&[(RESTART_DELAY_VAR, value)]).delay_ms, ms, "{value:?}");
        }
        for bad in ["3600001", "-1", "+5", " 5", "5 ", "5ms", "1e3", "0.5", "abc", "99999999999999999999", "\n"] {
            let err = config(&[(RESTART_DELAY_VAR, bad)]).unwrap_err();
            assert_eq!(
                (err.variable, err.value, err.problem),
                (Variable::RestartDelay, bad.as_bytes(), Problem::RestartDelay)
            );
        }
    }

    #[test]
    fn restart_limit_bounds() {
        for (value, limit) in [("0", 0), ("1", 1), ("1000", 1000), ("0005", 5)] {
            assert_eq!(policy(&[(RESTART_LIMIT_VAR, value)]).limit, limit, "{value:?}");
        }
        for bad in ["1001", "65536", "-1", " 3", "3 ", "three", "4294967296", "\r5"] {
            let err = config(&[(RESTART_LIMIT_VAR, bad)]).unwrap_err();
            assert_eq!(
                (err.variable, err.value, err.problem),
                (Variable::RestartLimit, bad.as_bytes(), Problem::RestartLimit)
            );
        }
    }

    #[test]
    fn the_first_bad_variable_in_specs_order_is_the_error() {
        let all_bad = [
            (ESSENTIAL_VAR, "x"),
            (RESTART_LIMIT_VAR, "x"),
            (RESTART_DELAY_VAR, "x"),
            (RESTART_VAR, "x"),
            (LOG_PREFIX_VAR, "x"),
            (GRACE_VAR, "x"),
        ];
        let order = [
            Variable::Grace,
            Variable::LogPrefix,
            Variable::Restart,
            Variable::RestartDelay,
            Variable::RestartLimit,
            Variable::Essential,
        ];
        for (at, expected) in order.into_iter().enumerate() {
            let err = config(&all_bad[..all_bad.len() - at]).unwrap_err();
            assert_eq!(err.variable, expected);
        }
    }

    #[test]
    fn a_crlf_daemons_value_gets_an_error_that_shows_the_cr() {
        let err = config(&[(DAEMONS_VAR, "egress,pipelock\r")]).unwrap_err();
        let line = String::from_utf8(crate::logic::report::config_error(&err).as_bytes().to_vec()).unwrap();
        assert_eq!(
            line,
            "sidecar-init: CLAUDE_BOTTLE_SIDECAR_DAEMONS='egress,pipelock\\r' names no slot 'pipelock\\r'; \
             accepted: comma-separated names among egress, pipelock, git-gate, supervise\n"
        );
    }
    #[test]
    fn control_is_an_abstract_name_a_path_or_off() {
        let control = |value| config(&[(CONTROL_VAR, value)]).map(|c| c.control.to_vec());
        assert_eq!(config(&[]).unwrap().control.as_slice(), b"@sidecar-init", "unset: the default");
        assert_eq!(control("").unwrap(), b"@sidecar-init", "empty: the default");
        assert_eq!(control("off").unwrap(), b"", "off: empty");
        assert_eq!(control("@x").unwrap(), b"@x");
        assert_eq!(control("@a b\tc").unwrap(), b"@a b\tc", "an abstract name is any bytes");
        assert_eq!(control("/run/sidecar-init.sock").unwrap(), b"/run/sidecar-init.sock");
        let name107 = format!("@{}", "n".repeat(107));
        let path107 = format!("/{}", "p".repeat(106));
        assert_eq!(control(Box::leak(name107.clone().into_boxed_str())).unwrap(), name107.as_bytes());
        assert_eq!(control(Box::leak(path107.clone().into_boxed_str())).unwrap(), path107.as_bytes());
        let name108 = format!("@{}", "n".repeat(108));
        let path108 = format!("/{}", "p".repeat(107));
        for bad in ["@", "OFF", "Off", "off ", " @x", "x", "run/x.sock", "./x.sock", "~/x", "1"]
            .into_iter()
            .chain([&*Box::leak(name108.into_boxed_str()), &*Box::leak(path108.into_boxed_str())])
        {
            let err = config(&[(CONTROL_VAR, bad)]).unwrap_err();
            assert_eq!((err.variable, err.value, err.problem), (Variable::Control, bad.as_bytes(), Problem::Control));
        }
    }

    #[test]
    fn control_is_checked_when_nothing_is_selected_and_its_error_says_what_is_accepted() {
        let err = config(&[(DAEMONS_VAR, ""), (CONTROL_VAR, "sock")]).unwrap_err();
        assert_eq!(err.variable, Variable::Control);
        let line = String::from_utf8(crate::logic::report::config_error(&err).as_bytes().to_vec()).unwrap();
        assert_eq!(
            line,
            "sidecar-init: CLAUDE_BOTTLE_SIDECAR_CONTROL='sock' is not accepted: @NAME (an abstract socket), \
             an absolute path or off, at most 107 bytes; empty means @sidecar-init\n"
        );
    }
}
