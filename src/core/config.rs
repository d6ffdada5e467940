//! Reads the configuration from the environment: every rule of SPEC's
//! "Configuration" section, with no I/O (the environment is a lookup function).

use super::privilege::{self, User};
use super::slot::{PerSlot, Slot};
use super::words::{Command, WordsError};

pub const DAEMONS_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_DAEMONS";
pub const GRACE_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_GRACE_MS";
pub const LOG_PREFIX_VAR: &str = "CLAUDE_BOTTLE_SIDECAR_LOG_PREFIX";

pub const DEFAULT_GRACE_MS: u32 = 8000;
pub const MAX_GRACE_MS: u32 = 3_600_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub selected: PerSlot<bool>,
    pub commands: PerSlot<Command>,
    pub grace_ms: u32,
    pub log_prefix: bool,
    /// Least privilege: whom each slot's daemon runs as (None: as the init),
    /// in slot order: an array, which a `slot as usize` reaches without the
    /// jump tables a `PerSlot` costs.
    pub users: [Option<User>; 4],
}

impl Config {
    pub fn any_selected(&self) -> bool {
        self.selected.iter().any(|(_, &on)| on)
    }
}

/// Which variable a configuration error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variable {
    Daemons,
    Command(Slot),
    Grace,
    LogPrefix,
    User(Slot),
    Private(Slot),
}

impl Variable {
    pub fn name(self) -> &'static str {
        match self {
            Variable::Daemons => DAEMONS_VAR,
            Variable::Command(slot) => slot.command_variable(),
            Variable::Grace => GRACE_VAR,
            Variable::LogPrefix => LOG_PREFIX_VAR,
            Variable::User(slot) => privilege::user_variable(slot),
            Variable::Private(slot) => privilege::private_variable(slot),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem<'a> {
    UnknownSlot(&'a [u8]),
    Command(WordsError),
    Grace,
    LogPrefix,
    User,
    /// The first item of a PRIVATE list that is not a name or `PREFIX*`.
    Private(&'a [u8]),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError<'a> {
    pub variable: Variable,
    pub value: &'a [u8],
    pub problem: Problem<'a>,
}

/// Parses every variable, selected slot or not; the first bad one is the error.
#[cfg(test)]
pub fn parse<'a>(env: impl Fn(&str) -> Option<&'a [u8]>) -> Result<Config, ConfigError<'a>> {
    let mut config = Config::default();
    parse_into(env, &mut config)?;
    Ok(config)
}

/// [`parse`] into the caller's `Config`: PID 1 keeps one copy on its stack
/// instead of moving kilobytes of commands around (each move touches pages).
#[inline(never)]
pub fn parse_into<'a>(env: impl Fn(&str) -> Option<&'a [u8]>, config: &mut Config) -> Result<(), ConfigError<'a>> {
    let selected = match env(DAEMONS_VAR) {
        None => PerSlot::from_fn(|_| true),
        Some(value) => parse_daemons(value).map_err(|name| ConfigError {
            variable: Variable::Daemons,
            value,
            problem: Problem::UnknownSlot(name),
        })?,
    };
    for slot in Slot::ALL {
        let text = env(slot.command_variable());
        let parsed =
            Command::parse_into(text.unwrap_or(slot.default_command().as_bytes()), config.commands.get_mut(slot));
        parsed.map_err(|why| ConfigError {
            variable: Variable::Command(slot),
            value: text.unwrap_or(b""),
            problem: Problem::Command(why),
        })?;
    }
    let grace_ms = match env(GRACE_VAR) {
        None | Some(b"") => DEFAULT_GRACE_MS,
        Some(value) => {
            parse_grace(value).ok_or(ConfigError { variable: Variable::Grace, value, problem: Problem::Grace })?
        }
    };
    let log_prefix = match env(LOG_PREFIX_VAR) {
        None | Some(b"" | b"1") => true,
        Some(b"0") => false,
        Some(value) => {
            return Err(ConfigError { variable: Variable::LogPrefix, value, problem: Problem::LogPrefix });
        }
    };
    privilege::parse_into(&env, &mut config.users)?;
    config.selected = selected;
    config.grace_ms = grace_ms;
    config.log_prefix = log_prefix;
    Ok(())
}

/// Returns the selection, or the first name that is no slot.
fn parse_daemons(value: &[u8]) -> Result<PerSlot<bool>, &[u8]> {
    let mut selected = PerSlot::<bool>::default();
    for item in value.split(|&b| b == b',') {
        let name = trim_blanks(item);
        if name.is_empty() {
            continue;
        }
        let slot = Slot::from_name(name).ok_or(name)?;
        *selected.get_mut(slot) = true;
    }
    Ok(selected)
}

/// `item` without SPEC's blanks (space, tab, newline) around it. Not
/// `trim_ascii`: a `\r` from a CRLF env file, or a form feed, must stay and
/// show in the error.
pub(super) fn trim_blanks(mut item: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\n', rest @ ..] = item {
        item = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\n'] = item {
        item = rest;
    }
    item
}

fn parse_grace(value: &[u8]) -> Option<u32> {
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
    (total <= MAX_GRACE_MS).then_some(total)
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

    #[test]
    fn a_crlf_daemons_value_gets_an_error_that_shows_the_cr() {
        let err = config(&[(DAEMONS_VAR, "egress,pipelock\r")]).unwrap_err();
        let line = String::from_utf8(crate::core::report::config_error(&err).as_bytes().to_vec()).unwrap();
        assert_eq!(
            line,
            "sidecar-init: CLAUDE_BOTTLE_SIDECAR_DAEMONS='egress,pipelock\\r' names no slot 'pipelock\\r'; \
             accepted: comma-separated names among egress, pipelock, git-gate, supervise\n"
        );
    }
}
