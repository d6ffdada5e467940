//! Logs (SPEC: Logs; LOG_PREFIX of Configuration): every daemon line
//! arrives whole, `[slot] `-prefixed, on the stream it was written to and in
//! order; lines over 4096 bytes are cut into prefixed pieces; a last line
//! without newline is still delivered; with the prefix off, lines pass
//! through untouched.
//!
//! The real binary as PID 1 of a new PID namespace with stand-in daemons:
//! see tests/README.md. Run with `make integration`.

mod support;

use std::collections::BTreeMap;

use support::*;

/// Checks every line of a captured stream: `[slot] ` then either a flood
/// line (checked and counted in order per slot), a standin report line, or
/// (stderr) one of the init's own lines. Returns the number of flood lines per slot.
fn check_prefixed_stream(bytes: &[u8], tag: &str) -> Result<BTreeMap<String, u64>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let body = text.strip_suffix('\n').ok_or("the stream does not end with a newline")?;
    let mut next: BTreeMap<String, u64> = SLOTS.iter().map(|s| (s.to_string(), 0)).collect();
    for (n, line) in body.split('\n').enumerate() {
        if tag == "err:" && line.starts_with("sidecar-init: ") {
            continue;
        }
        let short = &line[..line.floor_char_boundary(120)];
        let (slot, rest) = line
            .strip_prefix('[')
            .and_then(|l| l.split_once("] "))
            .ok_or_else(|| format!("line {n} has no [slot] prefix: {short:?}"))?;
        let expected = next.get_mut(slot).ok_or_else(|| format!("line {n}: unknown slot: {short:?}"))?;
        if rest.starts_with(&format!("{slot}:")) {
            let k = check_flood_line(slot, tag, rest).map_err(|e| format!("line {n}: {e}"))?;
            if k != *expected {
                return Err(format!("line {n}: {slot} line k={k} arrived, expected k={expected}"));
            }
            *expected += 1;
        } else if !rest.starts_with(&format!("{slot} ")) {
            return Err(format!("line {n}: neither a flood nor a report line of {slot}: {short:?}"));
        }
    }
    Ok(next)
}

#[test]
fn concurrent_floods_keep_every_line_whole_prefixed_and_in_order() {
    const LINES: u64 = 20_000;
    let mut setup = Setup::new("flood");
    for (slot, chunk) in SLOTS.iter().zip(["7", "61", "397", "1000"]) {
        let lines = LINES.to_string();
        setup = setup.standin(slot, &["--flood", &lines, "--flood-stderr", &lines, "--chunk", chunk]);
    }
    let init = setup.start();
    for slot in SLOTS {
        init.wait_report(slot, &format!("{slot} flood done"));
    }
    init.stop_expecting(0);

    let expected: BTreeMap<String, u64> = SLOTS.iter().map(|s| (s.to_string(), LINES)).collect();
    let out = init.with_stdout(|bytes| check_prefixed_stream(bytes, ""));
    assert_eq!(out, Ok(expected.clone()), "stdout: every flood line whole, prefixed, complete and in order");
    let err = init.with_stderr(|bytes| check_prefixed_stream(bytes, "err:"));
    assert_eq!(err, Ok(expected), "stderr: every flood line whole, prefixed, complete and in order");
}

#[test]
fn lines_longer_than_4096_bytes_are_cut_into_prefixed_pieces() {
    const PIECE: usize = 4096;
    let init = Setup::new("long-lines")
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--flood", "40", "--max-len", "10000", "--chunk", "1500"])
        .start();
    init.wait_report("egress", "egress flood done");
    init.stop_expecting(0);

    let stdout = init.stdout();
    // Report lines (`egress start ...`) aside, the rest are flood lines and
    // their continuation pieces, which are payload letters only.
    let mut pieces = stdout.lines().filter_map(|l| l.strip_prefix("[egress] ")).filter(|l| !l.starts_with("egress "));
    let unprefixed: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("[egress] ")).collect();
    assert!(
        unprefixed.is_empty(),
        "every piece is prefixed; unprefixed: {:?}",
        unprefixed.iter().map(|l| tail(l, 80)).collect::<Vec<_>>()
    );
    let (mut k, mut cut_lines) = (0u64, 0);
    while let Some(first) = pieces.next() {
        // The header `egress:k:len:` is in the first piece; it tells the whole length.
        let len: usize = first.split(':').nth(2).and_then(|l| l.parse().ok()).unwrap_or_else(|| {
            panic!("no header in {:?}", tail(first, 80));
        });
        let whole_len = format!("egress:{k}:{len}:").len() + len;
        let mut line = first.to_string();
        let mut count = 1;
        while line.len() < whole_len {
            assert_eq!(line.len() % PIECE, 0, "line k={k}: every piece but the last is {PIECE} bytes");
            let more = pieces.next().unwrap_or_else(|| panic!("line k={k} ends after {} bytes", line.len()));
            assert!(more.len() <= PIECE, "line k={k}: a piece of {} bytes", more.len());
            line.push_str(more);
            count += 1;
        }
        assert_eq!(line.len(), whole_len, "line k={k} reassembled");
        assert_eq!(count, whole_len.div_ceil(PIECE), "line k={k} ({whole_len} bytes) in as many pieces of {PIECE}");
        assert_eq!(flood_line_k("egress", "", &line), k, "lines in order");
        cut_lines += usize::from(count > 1);
        k += 1;
    }
    assert_eq!(k, 40, "every line arrived");
    assert!(cut_lines >= 5, "only {cut_lines} of the lines were long enough to be cut");
}

#[test]
fn a_last_line_without_newline_is_delivered() {
    let init = Setup::new("no-newline")
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--no-newline", "last words, no newline", "--exit", "0"])
        .start();
    init.expect_exit(0);
    let stdout = init.stdout();
    assert!(stdout.lines().any(|l| l == "[egress] last words, no newline"), "the unterminated line, prefixed");
    assert!(stdout.ends_with('\n'), "the init ends it with a newline");
}

/// Not PID 1, so no sweep: the stray keeps pipelock's stdout open past the
/// init's exit, and the unterminated text can only come out at that exit.
#[test]
fn an_unterminated_line_on_a_pipe_still_held_open_is_delivered_at_exit() {
    let init = Setup::new("no-newline-held")
        .not_pid1()
        .all_standins()
        .daemons("egress,pipelock")
        .standin("pipelock", &["--stray", "--no-newline", "held open, no newline", "--exit", "0"])
        .start();
    init.wait_started(&["egress", "pipelock"]);
    let stray = report_field(&init.wait_report("pipelock", "pipelock-stray start"), "pid");
    let _stray = KillOnDrop::Pid(stray);
    init.wait_stderr("sidecar-init: pipelock exited");
    init.stop_expecting(0);
    assert!(alive(stray), "the stray still holds the pipe");
    let stdout = init.stdout();
    assert!(stdout.lines().any(|l| l == "[pipelock] held open, no newline"), "the unterminated line, at exit");
}

/// Each restart leaves the old run's pipes open when a descendant (here a
/// stray) still holds them; the new run's lines must still be prefixed.
#[test]
fn restarts_keep_output_prefixed_when_old_runs_pipes_are_still_held() {
    const RESTARTS: usize = 6;
    let init = Setup::new("restart-streams").all_standins().standin("pipelock", &["--stray"]).grace_ms(300).start();
    init.wait_started(&SLOTS);
    for run in 1..=RESTARTS + 1 {
        init.wait_starts("pipelock", run);
        init.wait_for(&format!("pipelock run {run}'s stray"), |init| {
            (init.report("pipelock").matches("pipelock-stray start").count() >= run).then_some(())
        });
        if run <= RESTARTS {
            init.signal(SIGUSR1);
        }
    }
    init.stop_expecting(0);
    let stdout = init.stdout();
    let unprefixed: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('[')).collect();
    assert!(
        unprefixed.is_empty(),
        "after {RESTARTS} restarts, lines reached stdout without [slot] prefix:\n{}",
        unprefixed.join("\n")
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("[pipelock] pipelock start ")).count(),
        RESTARTS + 1,
        "every run's start line, prefixed"
    );
}

#[test]
fn log_prefix_0_passes_daemon_lines_through_unprefixed() {
    let init = Setup::new("no-prefix")
        .all_standins()
        .daemons("egress")
        .standin("egress", &["--flood", "5", "--flood-stderr", "5", "--max-len", "30"])
        .env("CLAUDE_BOTTLE_SIDECAR_LOG_PREFIX", "0")
        .start();
    init.wait_report("egress", "egress flood done");
    init.stop_expecting(0);
    let (stdout, stderr) = (init.stdout(), init.stderr());
    assert!(stdout.lines().any(|l| l.starts_with("egress start pid=")), "start line unprefixed");
    assert!(!stdout.contains("[egress]") && !stderr.contains("[egress]"), "no prefix anywhere");
    let out: Vec<u64> = stdout
        .lines()
        .filter(|l| l.starts_with("egress:"))
        .filter_map(|l| check_flood_line("egress", "", l).ok())
        .collect();
    assert_eq!(out, (0..5).collect::<Vec<u64>>(), "stdout flood lines, raw");
    // Unprefixed, the daemon shares the init's stderr: the init's own lines
    // (one write each) may land inside a flood line the daemon wrote in
    // pieces. Cut them out, then the daemon's stream must be intact.
    let daemon_only = without_init_lines(&stderr);
    let err: Vec<u64> = daemon_only
        .lines()
        .filter(|l| l.starts_with("egress:"))
        .filter_map(|l| check_flood_line("egress", "err:", l).ok())
        .collect();
    assert_eq!(err, (0..5).collect::<Vec<u64>>(), "stderr flood lines, raw");
}

/// `text` minus every `sidecar-init: ...\n` line, wherever it starts.
fn without_init_lines(text: &str) -> String {
    let mut rest = text;
    let mut kept = String::new();
    while let Some(at) = rest.find("sidecar-init: ") {
        kept.push_str(&rest[..at]);
        let after = &rest[at..];
        rest = after.find('\n').map_or("", |end| &after[end + 1..]);
    }
    kept.push_str(rest);
    kept
}
