//! Reading what the stand-in daemon (standin/src/main.rs) reports and
//! floods, and the init's `started` lines.

use std::collections::BTreeMap;

/// The fields of a standin's `NAME start key=value ...` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    pub sigblk: String,
    pub sigign: String,
    pub fds: String,
}

impl Start {
    /// Parses `NAME start pid=.. ppid=..` (for `name`), None for any other line.
    pub fn parse(name: &str, line: &str) -> Option<Start> {
        let rest = line.strip_prefix(name)?.strip_prefix(" start ")?;
        let fields: BTreeMap<&str, &str> = rest.split_whitespace().filter_map(|kv| kv.split_once('=')).collect();
        let num = |key: &str| fields.get(key)?.parse::<i32>().ok();
        let text = |key: &str| fields.get(key).map(|v| v.to_string());
        Some(Start {
            pid: num("pid")?,
            ppid: num("ppid")?,
            pgid: num("pgid")?,
            sid: num("sid")?,
            sigblk: text("sigblk")?,
            sigign: text("sigign")?,
            fds: text("fds")?,
        })
    }
}

/// The number after `key=` in a report line (`egress-stray start pid=7 ppid=1`).
pub fn report_field(line: &str, key: &str) -> i32 {
    let value = line.split_whitespace().find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='));
    value.and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no number {key}= in {line:?}"))
}

/// `(slot, pid)` of every `sidecar-init: <slot> started pid=N` line, in order.
pub fn started(stderr: &str) -> Vec<(String, i32)> {
    stderr
        .lines()
        .filter_map(|l| {
            let (slot, pid) = l.strip_prefix("sidecar-init: ")?.split_once(" started pid=")?;
            Some((slot.to_string(), pid.trim().parse().ok()?))
        })
        .collect()
}

/// 32-bit FNV-1a of the daemon name (as standin's `name_hash`).
pub fn name_hash(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

/// Byte j of flood line k's payload (as standin's `payload_byte`).
pub fn payload_byte(name_hash: u32, k: u64, j: usize) -> u8 {
    let v = k.wrapping_mul(31).wrapping_add((j as u64).wrapping_mul(7)).wrapping_add(name_hash as u64);
    b'a' + (v % 26) as u8
}

/// Checks one flood line `NAME:<tag><k>:<len>:<payload>` (tag "" or "err:")
/// and returns its k, or why it is not a whole flood line.
pub fn check_flood_line(name: &str, tag: &str, line: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("{why}: {:?}", &line[..line.floor_char_boundary(120)]);
    let rest = line.strip_prefix(name).and_then(|r| r.strip_prefix(':')).and_then(|r| r.strip_prefix(tag));
    let rest = rest.ok_or_else(|| bad("not a flood line"))?;
    let mut parts = rest.splitn(3, ':');
    let k: u64 = parts.next().and_then(|k| k.parse().ok()).ok_or_else(|| bad("bad k"))?;
    let len: usize = parts.next().and_then(|l| l.parse().ok()).ok_or_else(|| bad("bad len"))?;
    let payload = parts.next().ok_or_else(|| bad("no payload"))?.as_bytes();
    if payload.len() != len {
        return Err(bad(&format!("payload of {} bytes, header says {len}", payload.len())));
    }
    let hash = name_hash(name);
    if let Some(j) = (0..len).find(|&j| payload[j] != payload_byte(hash, k, j)) {
        return Err(bad(&format!("payload byte {j} is wrong")));
    }
    Ok(k)
}

/// [`check_flood_line`] for a line that must be a whole flood line: its k.
pub fn flood_line_k(name: &str, tag: &str, line: &str) -> u64 {
    check_flood_line(name, tag, line).unwrap_or_else(|why| panic!("{why}"))
}
