//! Least privilege per slot (SPEC): the uid and gid a slot's daemon runs as
//! (`CLAUDE_BOTTLE_SIDECAR_USER_<SLOT>`), and which environment variables are
//! private to which slots (`CLAUDE_BOTTLE_SIDECAR_PRIVATE_<SLOT>`). Pure: the
//! switch itself is made in `sys::spawn`'s child, the per-slot `envp` arrays
//! in `sys::environ`.

use super::config::{first_item, parse_digits, Reader, Variable};
#[cfg(test)]
use super::config::{ConfigError, Problem};
use super::slot::Slot;

/// The highest uid or gid accepted: the kernel reads `(uid_t)-1` as "leave
/// it unchanged", so 4294967295 is no id.
pub const MAX_ID: u32 = u32::MAX - 1;

/// Whom a slot's daemon runs as: exactly this uid and gid, `[gid]` as its
/// only supplementary group, and `no_new_privs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
}

/// Checks every slot's USER and PRIVATE variable, selected or not, in slot
/// order (a slot's USER before its PRIVATE), and keeps the users; the first
/// bad one is the error. Empty means the default: as the init, nothing private.
#[inline(never)]
pub(super) fn read<'a>(
    r: &mut Reader<'a, impl Fn(Variable) -> Option<&'a [u8]>>,
    users: &mut [Option<User>; 4],
) -> Option<()> {
    for (&slot, out) in Slot::ALL.iter().zip(users.iter_mut()) {
        let value = r.get(Variable::User(slot)).unwrap_or_default();
        let user = parse_user(value);
        if user.is_none() && !value.is_empty() {
            return None;
        }
        *out = user;
        let value = r.get(Variable::Private(slot)).unwrap_or_default();
        if let Some(bad) = find(value, None) {
            return r.bad(bad);
        }
    }
    Some(())
}

/// [`read`] on its own, as the tests call it.
#[cfg(test)]
pub fn parse_into<'a>(
    env: impl Fn(&str) -> Option<&'a [u8]>,
    users: &mut [Option<User>; 4],
) -> Result<(), ConfigError<'a>> {
    let mut reader = Reader::new(|variable: Variable| env(&variable.name()));
    read(&mut reader, users).ok_or_else(|| reader.error())
}

/// `UID` or `UID:GID`, each ASCII digits only, 0 to [`MAX_ID`]; the gid
/// defaults to the uid. `None` for anything else: a name (there is no
/// /etc/passwd to look it up in), a sign, a blank, an empty part.
pub fn parse_user(value: &[u8]) -> Option<User> {
    let (uid, gid) = match value.iter().position(|&b| b == b':') {
        // A second colon is then in the gid, which refuses it.
        Some(at) => (value.get(..at)?, value.get(at.wrapping_add(1)..)?),
        None => (value, value),
    };
    Some(User { uid: parse_digits(uid, MAX_ID)?, gid: parse_digits(gid, MAX_ID)? })
}

/// The first item of a PRIVATE `list` that claims the variable `name`
/// (an item equal to it, or a `PREFIX*` it starts with), or, when `name`
/// is `None`, that is no valid item. Items follow DAEMONS' list rules:
/// comma-separated, blanks (space, tab, newline) around an item and empty
/// items ignored. One function for both, so the binary has one list walk.
#[inline(never)]
fn find<'l>(list: &'l [u8], name: Option<&[u8]>) -> Option<&'l [u8]> {
    let mut rest = Some(list);
    while let Some(items) = rest {
        let (item, after) = first_item(items);
        rest = after;
        let (stem, prefix) = match item {
            [stem @ .., b'*'] => (stem, true),
            _ => (item, false),
        };
        // One comparison for both kinds of item: an exact one is a prefix as long as the name.
        let hit = match name {
            None => !is_name(stem),
            Some(name) => {
                (prefix || name.len() == stem.len()) && matches!(name.get(..stem.len()), Some(head) if head == stem)
            }
        };
        if hit && !item.is_empty() {
            return Some(item);
        }
    }
    None
}

/// `[A-Za-z_][A-Za-z0-9_]*`. An empty stem is none, so a bare `*`, which
/// would claim every variable, is refused.
fn is_name(stem: &[u8]) -> bool {
    match stem.first() {
        Some(first) if !first.is_ascii_digit() => stem.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_'),
        _ => false,
    }
}

/// Whether the daemon of the slot at `index` (in slot order) gets the
/// environment entry `NAME=value` (an entry without `=` is all name), given
/// every slot's (valid) PRIVATE list in slot order: a variable that some
/// slot claims reaches only the slots that claim it; one that none claims,
/// every slot.
pub fn keeps(index: usize, entry: &[u8], lists: &[&[u8]; 4]) -> bool {
    let name = entry.split(|&b| b == b'=').next().unwrap_or(entry);
    let mut claimed = false;
    for (at, list) in lists.iter().enumerate() {
        if find(list, Some(name)).is_some() {
            if at == index {
                return true;
            }
            claimed = true;
        }
    }
    !claimed
}

#[cfg(test)]
#[path = "privilege_props.rs"]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::config::{self, Config, DAEMONS_VAR, LOG_PREFIX_VAR};

    fn parse(pairs: &[(&str, &'static str)]) -> Result<Config, ConfigError<'static>> {
        let pairs: Vec<(String, &'static [u8])> = pairs.iter().map(|(k, v)| (k.to_string(), v.as_bytes())).collect();
        config::parse(|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| *v))
    }

    fn user(value: &str) -> Option<(u32, u32)> {
        parse_user(value.as_bytes()).map(|u| (u.uid, u.gid))
    }

    #[test]
    fn uid_or_uid_colon_gid_with_the_gid_defaulting_to_the_uid() {
        assert_eq!(user("1000"), Some((1000, 1000)));
        assert_eq!(user("65534:65534"), Some((65534, 65534)));
        assert_eq!(user("1000:2000"), Some((1000, 2000)));
        assert_eq!(user("0"), Some((0, 0)));
        assert_eq!(user("0:0"), Some((0, 0)));
        assert_eq!(user("007:0010"), Some((7, 10)), "leading zeros are digits too");
        assert_eq!(user("4294967294"), Some((MAX_ID, MAX_ID)));
        assert_eq!(user("4294967294:0"), Some((MAX_ID, 0)));
    }

    #[test]
    fn names_signs_blanks_and_out_of_range_ids_are_refused() {
        for bad in [
            "nobody",
            "nobody:nogroup",
            "1000:nogroup",
            "root",
            "+1000",
            "-1",
            "1000:-1",
            " 1000",
            "1000 ",
            "1000\n",
            "10 00",
            "1000: 1000",
            ":",
            ":1000",
            "1000:",
            "1000:1000:1000",
            "1000::1000",
            "4294967295",
            "0:4294967295",
            "4294967296",
            "99999999999999999999",
            "1e3",
            "0x10",
            "1000.0",
            "\u{661}", // an Arabic-Indic digit one: not ASCII
        ] {
            assert_eq!(parse_user(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn user_variables_are_checked_for_every_slot_and_empty_means_as_the_init() {
        let c = parse(&[("CLAUDE_BOTTLE_SIDECAR_USER_PIPELOCK", "1000"), ("CLAUDE_BOTTLE_SIDECAR_USER_EGRESS", "")])
            .unwrap();
        assert_eq!(c.users, [None, Some(User { uid: 1000, gid: 1000 }), None, None]);
        // Checked although git-gate is not selected.
        let err = parse(&[(DAEMONS_VAR, "egress"), ("CLAUDE_BOTTLE_SIDECAR_USER_GIT_GATE", "git")]).unwrap_err();
        assert_eq!((err.variable, err.value, err.problem), (Variable::User(Slot::GitGate), &b"git"[..], Problem::User));
    }

    #[test]
    fn private_lists_take_names_and_prefixes_with_daemons_list_rules() {
        for good in ["EGRESS_TOKEN_*", " A , ,b_2,\t_X*\n", "", " , ", "_", "_*", "a", "Z9*", "TOKEN,TOKEN", "PATH"] {
            assert!(parse(&[("CLAUDE_BOTTLE_SIDECAR_PRIVATE_EGRESS", good)]).is_ok(), "{good:?}");
        }
        for (value, bad) in [
            ("*", "*"),
            ("A, *", "*"),
            ("**", "**"),
            ("A**", "A**"),
            ("*A", "*A"),
            ("A*B", "A*B"),
            ("1A", "1A"),
            ("9*", "9*"),
            ("A-B", "A-B"),
            ("A.B", "A.B"),
            ("A=B", "A=B"),
            ("A B", "A B"),
            ("A;B", "A;B"),
            ("A\r", "A\r"),
            ("\x0cA", "\x0cA"),
            ("TOKÉN", "TOKÉN"),
            ("A,$B", "$B"),
        ] {
            let err =
                parse(&[(DAEMONS_VAR, "egress"), ("CLAUDE_BOTTLE_SIDECAR_PRIVATE_SUPERVISE", value)]).unwrap_err();
            assert_eq!(err.variable, Variable::Private(Slot::Supervise), "{value:?}");
            assert_eq!(err.value, value.as_bytes());
            assert_eq!(err.problem, Problem::Private(bad.as_bytes()), "{value:?}");
        }
    }

    #[test]
    fn privilege_variables_come_after_log_prefix_and_in_slot_order() {
        let err = parse(&[
            (LOG_PREFIX_VAR, "x"),
            ("CLAUDE_BOTTLE_SIDECAR_USER_EGRESS", "x"),
            ("CLAUDE_BOTTLE_SIDECAR_PRIVATE_EGRESS", "*"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, Variable::LogPrefix);
        let err = parse(&[
            ("CLAUDE_BOTTLE_SIDECAR_PRIVATE_PIPELOCK", "*"),
            ("CLAUDE_BOTTLE_SIDECAR_USER_SUPERVISE", "x"),
            ("CLAUDE_BOTTLE_SIDECAR_USER_PIPELOCK", "x"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, Variable::User(Slot::Pipelock));
        let err = parse(&[("CLAUDE_BOTTLE_SIDECAR_PRIVATE_EGRESS", "*"), ("CLAUDE_BOTTLE_SIDECAR_USER_PIPELOCK", "x")])
            .unwrap_err();
        assert_eq!(err.variable, Variable::Private(Slot::Egress));
    }

    #[test]
    fn variable_names_follow_the_slot_names() {
        for slot in Slot::ALL {
            let upper = slot.name().to_uppercase().replace('-', "_");
            assert_eq!(Variable::User(slot).name(), format!("CLAUDE_BOTTLE_SIDECAR_USER_{upper}"));
            assert_eq!(Variable::Private(slot).name(), format!("CLAUDE_BOTTLE_SIDECAR_PRIVATE_{upper}"));
        }
    }

    fn lists(egress: &'static str, pipelock: &'static str, git_gate: &'static str) -> [&'static [u8]; 4] {
        [egress.as_bytes(), pipelock.as_bytes(), git_gate.as_bytes(), b""]
    }

    /// The slots that get `entry`, by name.
    fn reach(entry: &str, lists: &[&[u8]; 4]) -> Vec<&'static str> {
        (0..4).filter(|&at| keeps(at, entry.as_bytes(), lists)).map(|at| Slot::ALL[at].name()).collect()
    }

    #[test]
    fn a_claimed_variable_reaches_only_the_slots_that_claim_it() {
        let private = lists("EGRESS_TOKEN_*, SHARED", "SHARED", "GATE_KEY");
        assert_eq!(reach("EGRESS_TOKEN_A=secret", &private), ["egress"]);
        assert_eq!(reach("EGRESS_TOKEN_=x", &private), ["egress"], "the prefix alone matches");
        assert_eq!(reach("SHARED=1", &private), ["egress", "pipelock"], "two slots may claim one name");
        assert_eq!(reach("GATE_KEY=k", &private), ["git-gate"]);
        assert_eq!(reach("GATE_KEY", &private), ["git-gate"], "an entry without =");
    }

    #[test]
    fn unclaimed_variables_and_near_misses_reach_every_slot() {
        let private = lists("EGRESS_TOKEN_*, SHARED", "SHARED", "");
        let all = ["egress", "pipelock", "git-gate", "supervise"];
        for entry in [
            "PATH=/bin",
            "EGRESS_TOKEN=x",   // not the prefix EGRESS_TOKEN_
            "egress_token_a=x", // names are case-sensitive
            "SHARED_MORE=x",    // a name, not a prefix
            "SHAREDX=x",
            "XSHARED=x",
            "=SHARED",
            "",
        ] {
            assert_eq!(reach(entry, &private), all, "{entry:?}");
        }
        assert_eq!(reach("SHARED==x", &private), ["egress", "pipelock"], "the name ends at the first =");
    }

    #[test]
    fn a_list_that_names_nothing_claims_nothing() {
        assert_eq!(reach("A=1", &[b" , ", b"", b",", b"\t"]).len(), 4);
    }
}
