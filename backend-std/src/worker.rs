//! The loop a pool worker runs, in its own process, until told to exit.
//!
//! Results are batched: they are sent when the worker is about to wait for more input,
//! when 64 KiB have piled up, or 1 ms after the oldest unsent one, so tiny tasks share
//! system calls while a slow task's neighbours are never held back for long. Within a batch,
//! a job's consecutive successes form one run record (see `protocol::done`). The batch
//! buffer is reused, unless a large result grew it past 256 KiB: then it is freed after
//! sending.

use crate::protocol::{self, DONE, EXIT, INIT, INIT_FAILED, READY, RUN, ResultBatch};
use crate::sys;
use crate::task::{Output, Status};
use crate::wire::RawConn;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

const FLUSH_BYTES: usize = 64 * 1024;
const FLUSH_AFTER: Duration = Duration::from_millis(1);
/// The largest result buffer a worker keeps between batches; a larger one (after a large
/// result) is freed, so a worker does not hold on to memory it needed once.
const RETAIN: usize = 4 * FLUSH_BYTES;

/// A cheap monotonic clock (a few ns, a few ms of resolution): read after every task, so
/// it must cost little; flushing "1 ms after" may then mean up to one tick more.
fn coarse_now() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC_COARSE)
        .map(Duration::from)
        .unwrap_or_default()
}

/// Serves tasks on `conn` and never returns: the process ends with `_exit`.
pub(crate) fn run(conn: RawConn) -> ! {
    // Task code runs under its own guard (`task::trampoline`); this one is for everything
    // else, so nothing ever unwinds into the fork server's frames this process was forked in.
    let code = match catch_unwind(AssertUnwindSafe(|| serve(&conn))) {
        Ok(Ok(())) => 0,
        Ok(Err(())) => 2,
        Err(_) => 3,
    };
    sys::exit_now(code)
}

fn flush(conn: &RawConn, batch: &mut ResultBatch) -> Result<(), ()> {
    batch.end_run();
    if !batch.is_empty() {
        conn.send(DONE, &batch.bytes, &batch.fds).map_err(drop)?;
        batch.bytes.clear();
        if batch.bytes.capacity() > RETAIN {
            batch.bytes = Vec::new();
        }
        batch.fds.clear();
    }
    Ok(())
}

fn serve(conn: &RawConn) -> Result<(), ()> {
    let mut batch = ResultBatch::default();
    let mut oldest: Option<Duration> = None;
    loop {
        if !batch.is_empty() && !conn.poll(Duration::ZERO).unwrap_or(true) {
            flush(conn, &mut batch)?;
            oldest = None;
        }
        let Ok(m) = conn.recv(None) else {
            return Ok(()); // the driver is gone
        };
        match m.kind {
            INIT => {
                let (call, args) = protocol::decode_init(&m.bytes).map_err(drop)?;
                if call != 0 {
                    let (mut body, mut fds) = (Vec::new(), Vec::new());
                    let mut out = Output {
                        bytes: &mut body,
                        fds: &mut fds,
                    };
                    let status = sys::call_erased(call, args, m.fds, &mut out);
                    if status != Status::Ok {
                        let text = String::from_utf8_lossy(&body);
                        let msg = match status {
                            Status::Panicked => format!("panicked: {text}"),
                            _ => text.into_owned(),
                        };
                        let _ = conn.send(INIT_FAILED, msg.as_bytes(), &[]);
                        sys::exit_now(1);
                    }
                }
                conn.send(READY, &[], &[]).map_err(drop)?;
            }
            RUN => {
                let jobs = protocol::decode_run(&m.bytes).map_err(drop)?;
                let mut fds = m.fds.into_iter();
                for job in jobs {
                    for (k, item) in job.items.into_iter().enumerate() {
                        let mine: Vec<_> = fds.by_ref().take(item.fds).collect();
                        let seq = job.first.wrapping_add(k as u64);
                        let started = *oldest.get_or_insert_with(coarse_now);
                        batch.push(seq, |out| sys::call_erased(job.call, item.args, mine, out));
                        if batch.bytes.len() >= FLUSH_BYTES
                            || coarse_now().saturating_sub(started) >= FLUSH_AFTER
                        {
                            flush(conn, &mut batch)?;
                            oldest = None;
                        }
                    }
                    batch.end_run(); // a run never crosses jobs
                }
            }
            EXIT => return flush(conn, &mut batch),
            _ => return Err(()),
        }
    }
}
