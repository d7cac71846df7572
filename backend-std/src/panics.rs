//! Where a panic happened: a panic hook that notes the location (and, when asked, a
//! backtrace) of the last panic on each thread, so a task's panic comes back to its caller
//! with `file.rs:LINE` and not only its message. Installed in pool workers, and in a
//! process that spawns a `Process` (before it forks, so the child inherits it without
//! taking a lock), chained to the hook that was there, which still prints as usual.
//!
//! A panic travels as `[len: u32][message][len: u32][location][backtrace]` (an empty
//! location or backtrace: unknown / not captured).

use std::cell::RefCell;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    /// The location and backtrace of this thread's last panic, taken by [`take`].
    static LAST: RefCell<Option<(String, Option<String>)>> = const { RefCell::new(None) };
}

/// Registers this thread's note of its last panic (see `codec::prepare_thread`).
pub(crate) fn prepare_thread() {
    LAST.with(|_| {});
}

/// Whether panics capture a backtrace (the owner had `RUST_BACKTRACE` set).
static BACKTRACE: AtomicBool = AtomicBool::new(false);

/// Installs the hook in this process (once), capturing backtraces when `backtrace`.
pub(crate) fn install(backtrace: bool) {
    BACKTRACE.store(backtrace, Ordering::Relaxed);
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            let trace = BACKTRACE
                .load(Ordering::Relaxed)
                .then(|| trim(&std::backtrace::Backtrace::force_capture().to_string()));
            let _ = LAST.try_with(|last| {
                if let Ok(mut last) = last.try_borrow_mut() {
                    *last = Some((location, trace));
                }
            });
            previous(info);
        }));
    });
}

/// A captured backtrace without the frames of the hook and the panic machinery (those up
/// to std's short-backtrace marker), as std prints it.
fn trim(trace: &str) -> String {
    let lines: Vec<&str> = trace.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains("__rust_end_short_backtrace"))
        .map_or(0, |i| {
            // Skip the marker frame and its `at` line.
            let next = i + 1;
            next + usize::from(
                lines
                    .get(next)
                    .is_some_and(|l| l.trim_start().starts_with("at ")),
            )
        });
    lines[start..].join("\n")
}

/// Whether `RUST_BACKTRACE` asks for backtraces in this process (set and not `0`).
pub(crate) fn backtrace_wanted() -> bool {
    std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0")
}

/// The location and backtrace of this thread's last panic, if the hook saw one.
pub(crate) fn take() -> (Option<String>, Option<String>) {
    LAST.try_with(|last| last.borrow_mut().take())
        .ok()
        .flatten()
        .map_or((None, None), |(l, b)| ((!l.is_empty()).then_some(l), b))
}

/// Appends a panic's report: `message`, and the location and backtrace given.
pub(crate) fn encode(
    message: &str,
    location: Option<&str>,
    backtrace: Option<&str>,
    out: &mut Vec<u8>,
) {
    for part in [message, location.unwrap_or("")] {
        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(backtrace.unwrap_or("").as_bytes());
}

/// Reads what [`encode`] wrote: message, location, backtrace. Bytes that do not follow
/// the layout are taken as the message.
pub(crate) fn decode(b: &[u8]) -> (String, Option<String>, Option<String>) {
    fn part<'a>(b: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (len, rest) = b.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return None;
        }
        let (part, rest) = rest.split_at(len);
        *b = rest;
        Some(part)
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut rest = b;
    match (part(&mut rest), part(&mut rest)) {
        (Some(m), Some(l)) => (
            text(m),
            (!l.is_empty()).then(|| text(l)),
            (!rest.is_empty()).then(|| text(rest)),
        ),
        _ => (text(b), None, None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_report_round_trips() {
        let mut out = Vec::new();
        super::encode("boom", Some("src/x.rs:3:5"), Some("trace"), &mut out);
        assert_eq!(
            super::decode(&out),
            (
                "boom".into(),
                Some("src/x.rs:3:5".into()),
                Some("trace".into())
            )
        );
        out.clear();
        super::encode("only", None, None, &mut out);
        assert_eq!(super::decode(&out), ("only".into(), None, None));
        assert_eq!(super::decode(b"raw text"), ("raw text".into(), None, None));
    }
}
