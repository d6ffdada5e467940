//! Property tests of least privilege per slot: random USER values and
//! PRIVATE lists (near-miss names, stray blanks, signs, overlong numbers,
//! random bytes) and random environments, against a small model of SPEC's
//! rules written here independently of `privilege.rs`.
//!
//! Properties: parsing agrees with the model (the users, or the first bad
//! variable in order USER_EGRESS, PRIVATE_EGRESS, USER_PIPELOCK, ...; and
//! the bad item); each error renders as one whole line that names the
//! variable and ends with what is accepted; which slots get which
//! environment entry agrees with the model.
//!
//! `make unit` runs proptest's default case count; `make fuzz` many more.

use proptest::prelude::*;
use proptest::sample::select;

use super::*;
use crate::logic::config::props::proptest_config;
use crate::logic::line::LINE_BYTES;
use crate::logic::report;

const UPPER: [&str; 4] = ["EGRESS", "PIPELOCK", "GIT_GATE", "SUPERVISE"];

// ---------------------------------------------------------------- the model

/// One id: ASCII digits only, at most 4294967294 (leading zeros allowed).
fn model_id(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u128 = text.trim_start_matches('0').parse().unwrap_or(0);
    (n <= 4_294_967_294).then_some(n as u32)
}

/// USER: `UID` or `UID:GID`.
fn model_user(value: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(value).ok()?;
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [uid] => model_id(uid).map(|u| (u, u)),
        [uid, gid] => Some((model_id(uid)?, model_id(gid)?)),
        _ => None,
    }
}

fn model_items(list: &[u8]) -> Vec<Vec<u8>> {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\n');
    list.split(|&b| b == b',')
        .map(|item| {
            let start = item.iter().position(|b| !blank(b)).unwrap_or(item.len());
            let end = item.iter().rposition(|b| !blank(b)).map_or(start, |e| e + 1);
            item[start..end].to_vec()
        })
        .filter(|item| !item.is_empty())
        .collect()
}

fn model_is_name(name: &[u8]) -> bool {
    !name.is_empty()
        && (name[0] == b'_' || name[0].is_ascii_alphabetic())
        && name.iter().all(|&b| b == b'_' || b.is_ascii_alphanumeric())
}

/// An item is a name, or a name followed by one `*`.
fn model_is_pattern(item: &[u8]) -> bool {
    match item.last() {
        Some(b'*') => model_is_name(&item[..item.len() - 1]),
        _ => model_is_name(item),
    }
}

fn model_claims(list: &[u8], name: &[u8]) -> bool {
    model_items(list).iter().any(|item| match item.last() {
        Some(b'*') => name.starts_with(&item[..item.len() - 1]),
        _ => name == item.as_slice(),
    })
}

/// The slots (indexes) whose daemon gets `entry`.
fn model_reach(entry: &[u8], lists: &[Vec<u8>; 4]) -> Vec<usize> {
    let name = match entry.iter().position(|&b| b == b'=') {
        Some(at) => &entry[..at],
        None => entry,
    };
    let claimed: Vec<usize> = (0..4).filter(|&s| model_claims(&lists[s], name)).collect();
    if claimed.is_empty() {
        (0..4).collect()
    } else {
        claimed
    }
}

/// Each slot's user, or the first bad variable: its name, value and what is wrong.
type Outcome = Result<[Option<(u32, u32)>; 4], (String, Vec<u8>, Wrong)>;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Wrong {
    User,
    Private(Vec<u8>),
}

/// The users, or the first bad variable, its value and what is wrong.
fn model(users: &[Option<Vec<u8>>; 4], lists: &[Option<Vec<u8>>; 4]) -> Outcome {
    let mut parsed = [None; 4];
    for s in 0..4 {
        if let Some(value) = &users[s] {
            if !value.is_empty() {
                let name = format!("CLAUDE_BOTTLE_SIDECAR_USER_{}", UPPER[s]);
                parsed[s] = Some(model_user(value).ok_or((name, value.clone(), Wrong::User))?);
            }
        }
        if let Some(value) = &lists[s] {
            if let Some(bad) = model_items(value).into_iter().find(|item| !model_is_pattern(item)) {
                return Err((
                    format!("CLAUDE_BOTTLE_SIDECAR_PRIVATE_{}", UPPER[s]),
                    value.clone(),
                    Wrong::Private(bad),
                ));
            }
        }
    }
    Ok(parsed)
}

// ------------------------------------------------------------ generators

fn value_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 0..max)
}

fn id_text() -> impl Strategy<Value = String> {
    let number =
        prop_oneof![0u64..70_000, 4_294_967_290u64..4_294_967_300, any::<u32>().prop_map(u64::from), any::<u64>(),];
    let decorated = (
        select(vec!["", "", "", "0", "00", "+", "-", " ", "\t"]),
        number,
        select(vec!["", "", "", " ", "\n", "x", ".0"]),
    )
        .prop_map(|(before, n, after)| format!("{before}{n}{after}"));
    prop_oneof![6 => decorated, 1 => select(vec!["", "nobody", "root", "nogroup", "1e3", "0x10", "\u{661}"]).prop_map(str::to_string)]
}

fn user_value() -> impl Strategy<Value = Vec<u8>> {
    let uid_only = id_text().prop_map(String::into_bytes);
    let pair = (id_text(), id_text()).prop_map(|(u, g)| format!("{u}:{g}").into_bytes());
    let three = (id_text(), id_text(), id_text()).prop_map(|(a, b, c)| format!("{a}:{b}:{c}").into_bytes());
    prop_oneof![4 => uid_only, 4 => pair, 1 => three, 1 => value_bytes(12)]
}

/// Names that overlap each other as prefixes, so that claims collide.
const NAMES: [&str; 10] = ["A", "AB", "ABC", "TOKEN", "TOKEN_A", "TOKEN_B", "EGRESS_TOKEN_X", "_", "a", "PATH"];

fn good_item() -> impl Strategy<Value = String> {
    (select(NAMES.to_vec()), select(vec!["", "", "*"])).prop_map(|(n, star)| format!("{n}{star}"))
}

fn blanks() -> impl Strategy<Value = &'static str> {
    select(vec!["", "", " ", "\t", "\n", " \t\n"])
}

/// A list the configuration accepts: names and prefixes, blanks, empty items.
fn valid_list_value() -> impl Strategy<Value = Vec<u8>> {
    let item = (blanks(), prop_oneof![8 => good_item(), 1 => Just(String::new())], blanks())
        .prop_map(|(a, item, b)| format!("{a}{item}{b}"));
    prop::collection::vec(item, 0..5).prop_map(|items| items.join(",").into_bytes())
}

fn list_item() -> impl Strategy<Value = String> {
    let good = good_item();
    let bad =
        select(vec!["*", "**", "A**", "*A", "1A", "9*", "A-B", "A.B", "A=B", "A B", "$A", "A*B", "TOKÉN", "\r", "A\r"]);
    (blanks(), prop_oneof![8 => good, 1 => bad.prop_map(str::to_string), 1 => Just(String::new())], blanks())
        .prop_map(|(a, item, b)| format!("{a}{item}{b}"))
}

fn list_value() -> impl Strategy<Value = Vec<u8>> {
    let list = prop::collection::vec(list_item(), 0..5).prop_map(|items| items.join(",").into_bytes());
    prop_oneof![8 => list, 1 => value_bytes(12)]
}

fn maybe<T: Clone + std::fmt::Debug>(value: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop_oneof![3 => Just(None), 2 => value.prop_map(Some)]
}

fn entry() -> impl Strategy<Value = Vec<u8>> {
    let named = (select(NAMES.to_vec()), select(vec!["", "_A", "X", "B"]), select(vec!["=v", "=", "==x", ""]))
        .prop_map(|(name, more, value)| format!("{name}{more}{value}").into_bytes());
    prop_oneof![6 => named, 1 => value_bytes(10)]
}

// ------------------------------------------------------------- properties

fn get<'a>(users: &'a [Option<Vec<u8>>; 4], lists: &'a [Option<Vec<u8>>; 4], name: &str) -> Option<&'a [u8]> {
    let name = name.strip_prefix(crate::logic::config::VAR_PREFIX)?;
    let slot = Slot::ALL.into_iter().position(|s| Variable::User(s).short_name().concat() == name);
    if let Some(s) = slot {
        return users[s].as_deref();
    }
    let slot = Slot::ALL.into_iter().position(|s| Variable::Private(s).short_name().concat() == name);
    slot.and_then(|s| lists[s].as_deref())
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn users_parse_as_the_model_says(value in user_value()) {
        let real = parse_user(&value).map(|u| (u.uid, u.gid));
        prop_assert_eq!(real, model_user(&value));
    }

    #[test]
    fn parsing_agrees_with_the_model_and_errors_are_one_whole_line(
        users in [maybe(user_value()), maybe(user_value()), maybe(user_value()), maybe(user_value())],
        lists in [maybe(list_value()), maybe(list_value()), maybe(list_value()), maybe(list_value())],
    ) {
        let mut parsed = [None; 4];
        let real = parse_into(|name| get(&users, &lists, name), &mut parsed);
        match (real, model(&users, &lists)) {
            (Ok(()), Ok(expected)) => {
                let got = parsed.map(|u| u.map(|u| (u.uid, u.gid)));
                prop_assert_eq!(got, expected);
            }
            (Err(error), Err((variable, value, wrong))) => {
                prop_assert_eq!(error.variable.name(), variable.as_str());
                prop_assert_eq!(error.value, value.as_slice());
                let problem = match error.problem {
                    Problem::User => Wrong::User,
                    Problem::Private(bad) => Wrong::Private(bad.to_vec()),
                    other => return Err(TestCaseError::fail(format!("unexpected problem {other:?}"))),
                };
                prop_assert_eq!(&problem, &wrong);
                let line = String::from_utf8(report::config_error(&error).as_bytes().to_vec()).unwrap();
                prop_assert!(line.len() < LINE_BYTES, "cut at the line's end: {:?}", line);
                prop_assert_eq!(line.matches('\n').count(), 1);
                let head = format!("{}{variable}='", report::PREFIX);
                prop_assert!(line.starts_with(&head), "{:?}", line);
                let tail = match wrong {
                    Wrong::User => "; empty means as the init\n",
                    Wrong::Private(_) => "each may end in *\n",
                };
                prop_assert!(line.ends_with(tail), "{:?}", line);
            }
            (real, expected) => {
                return Err(TestCaseError::fail(format!("parse gave {real:?}, the model {expected:?}")));
            }
        }
    }

    #[test]
    fn each_entry_reaches_the_slots_the_model_says(
        // Only valid lists reach `keeps`: the configuration refused the rest.
        lists in [valid_list_value(), valid_list_value(), valid_list_value(), valid_list_value()],
        entries in prop::collection::vec(entry(), 0..12),
    ) {
        let private = [&lists[0][..], &lists[1][..], &lists[2][..], &lists[3][..]];
        for entry in &entries {
            let real: Vec<usize> = (0..4).filter(|&s| keeps(s, entry, &private)).collect();
            prop_assert_eq!(real, model_reach(entry, &lists), "{:?}", String::from_utf8_lossy(entry));
        }
    }
}

/// The model itself, on SPEC's examples: a wrong model proves nothing.
#[test]
fn the_model_reads_specs_examples() {
    assert_eq!(model_user(b"1000"), Some((1000, 1000)));
    assert_eq!(model_user(b"65534:65534"), Some((65534, 65534)));
    assert_eq!(model_user(b"4294967295"), None);
    assert_eq!(model_user(b"nobody"), None);
    assert_eq!(model_user(b"1:2:3"), None);
    assert!(model_is_pattern(b"EGRESS_TOKEN_*"));
    assert!(!model_is_pattern(b"*"));
    assert_eq!(model_items(b" A , ,B\t"), [b"A".to_vec(), b"B".to_vec()]);
    let lists = [b"EGRESS_TOKEN_*".to_vec(), b"SHARED".to_vec(), b"SHARED".to_vec(), vec![]];
    assert_eq!(model_reach(b"EGRESS_TOKEN_A=1", &lists), [0]);
    assert_eq!(model_reach(b"SHARED=1", &lists), [1, 2]);
    assert_eq!(model_reach(b"PATH=/bin", &lists), [0, 1, 2, 3]);
}
