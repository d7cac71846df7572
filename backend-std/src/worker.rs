//! The loop a pool worker runs until told to exit: in a process of its own (`Pool`), or
//! on a thread of the owner's (`ThreadPool`), which skips what only a process does (taking
//! over the owner's identity, ending with `_exit`).
//!
//! Results are batched: they are sent when the worker is about to wait for more input,
//! when 64 KiB have piled up, or 1 ms after the oldest unsent one, so tiny tasks share
//! system calls while a slow task's neighbours are never held back for long. Within a batch,
//! a job's consecutive successes form one run record (see `protocol::done`). The batch
//! buffer is reused, unless a large result grew it past 256 KiB: then it is freed after
//! sending. In a process of a local pool, a result's large byte strings are not copied into
//! the batch at all: the pool reads them from the value while it is encoded
//! (`protocol::piece`).

mod out;
mod run_message;

use crate::owner::call_tag;
use crate::protocol::{
    self, EXIT, INIT, INIT_FAILED, LOG, READY, RUN, RUN_FAR, ResultBatch, ResultLog,
};
use crate::sys;
use crate::task::{Args, Output, Status};
use crate::wire::{Message, RawConn};
use nix::unistd::Pid;
use out::Out;
use run_message::{Items, RunHead, lone};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

const FLUSH_BYTES: usize = 64 * 1024;
const FLUSH_AFTER: Duration = Duration::from_millis(1);
/// The largest result buffer a worker keeps between batches; a larger one (after a large
/// result) is freed, so a worker does not hold on to memory it needed once.
const RETAIN: usize = 4 * FLUSH_BYTES;

/// A process name as `prctl(PR_SET_NAME)` takes it: at most 15 bytes and a NUL.
pub(crate) type Name = [u8; 16];

/// Where a worker runs.
#[derive(Clone, Copy)]
enum Host {
    /// A process of its own, forked by the fork server (pid given); forked ahead of
    /// demand, with the name it goes back to when its `INIT` comes.
    Process(Pid, Option<Name>),
    /// A thread of the owner's process.
    Thread,
}

/// How a worker that ends without being asked ends: its process's exit code.
type Exit = i32;
/// The worker could not run its initializer (or take over its owner's identity).
const INIT_FAILED_EXIT: Exit = 1;
/// The owner broke the protocol, or the socket failed.
const BROKEN: Exit = 2;

fn broken<E>(_: E) -> Exit {
    BROKEN
}

/// Serves tasks on `conn` and never returns: the process ends with `_exit`. A worker forked
/// ahead of demand (see `zygote/spares.rs`) takes `name` back when its `INIT` comes.
pub(crate) fn run(conn: RawConn, server: Pid, name: Option<Name>) -> ! {
    // Task code runs under its own guard (`task::trampoline`); this one is for everything
    // else, so nothing ever unwinds into the fork server's frames this process was forked in.
    let code = match catch_unwind(AssertUnwindSafe(|| serve(&conn, Host::Process(server, name)))) {
        Ok(Ok(())) => 0,
        Ok(Err(code)) => code,
        Err(_) => 3,
    };
    // What its tasks printed without a final newline, as Python's workers do. Only a
    // thread a task left running could hold stdout's lock (the worker was forked from the
    // single-threaded fork server); a pool kills a worker that does not leave in time.
    let _ = catch_unwind(|| std::io::Write::flush(&mut std::io::stdout()));
    if code == 0 {
        // Told to exit, or its pool's end closed: it holds no task, and a pool that told
        // it to exit counts it gone once its socket hangs up, before the kernel's
        // teardown of its memory.
        sys::leave_in_background(code, std::os::fd::AsRawFd::as_raw_fd(&conn.as_fd()))
    }
    sys::exit_now(code)
}

/// Serves tasks on `conn` on this thread, until told to exit or the pool's end closes;
/// returns (dropping `conn`, which the pool sees as this worker's end).
pub(crate) fn run_on_thread(conn: RawConn) {
    let _ = catch_unwind(AssertUnwindSafe(|| serve(&conn, Host::Thread)));
}

/// Takes `INIT`: a process adopts the owner's identity; then the initializer runs.
/// Returns the pool's key for call tags, whether it reads large batches from this
/// process's memory, and the pool's process (for a process); `Err` (after saying why) if
/// the worker cannot start.
fn init(conn: &RawConn, m: Message, host: Host) -> Result<(u64, bool, Option<Pid>), Exit> {
    let msg = protocol::decode_init(&m.bytes).map_err(broken)?;
    let mut fds = m.fds.into_iter();
    let cwd = if msg.adopt.has_cwd() {
        fds.next()
    } else {
        None
    };

    if let Host::Process(server, name) = host {
        // A worker forked ahead takes its name back.
        if let Some(name) = name
            && let Ok(name) = std::ffi::CStr::from_bytes_until_nul(&name)
        {
            let _ = nix::sys::prctl::set_name(name);
        }
        crate::panics::install(msg.adopt.backtrace());
        crate::utilities::became_worker(msg.adopt.owner());
        if let Err(why) = msg.adopt.apply(cwd, server) {
            let _ = conn.send(INIT_FAILED, why.as_bytes(), &[]);
            return Err(INIT_FAILED_EXIT);
        }
    }
    if msg.call != 0 {
        if call_tag(msg.key, msg.call) != msg.tag {
            return Err(BROKEN);
        }
        let (mut body, mut out_fds) = (Vec::new(), Vec::new());
        let mut out = Output {
            bytes: &mut body,
            fds: &mut out_fds,
            lend: None,
        };
        let args = Args::Borrowed(msg.args);
        let status = sys::call_erased(msg.call, args, fds.collect(), &mut out);
        if status != Status::Ok {
            let msg = match status {
                Status::Panicked => match crate::panics::decode(&body) {
                    (m, Some(at), _) => format!("panicked at {at}: {m}"),
                    (m, None, _) => format!("panicked: {m}"),
                },
                _ => String::from_utf8_lossy(&body).into_owned(),
            };
            let _ = conn.send(INIT_FAILED, msg.as_bytes(), &[]);
            return Err(INIT_FAILED_EXIT);
        }
    }
    conn.send(READY, &[], &[]).map_err(broken)?;
    let far = matches!(host, Host::Process(..)) && msg.adopt.far();
    let owner = far.then(|| Pid::from_raw(msg.adopt.owner() as i32));
    Ok((msg.key, far, owner))
}

/// Fails a task whose function's tag does not match (see `owner::call_tag`).
fn refuse(out: &mut Output<'_>) -> Status {
    out.bytes.extend_from_slice(
        b"the worker refused to run a task: its function's tag does not match (a corrupt \
          message, or one not written by this pool)",
    );
    Status::Refused
}

/// The error of a task whose arguments carry descriptors that did not come with it.
fn descriptors_missing(out: &mut Output<'_>, carried: usize, missing: usize) -> Status {
    out.bytes.extend_from_slice(
        format!(
            "the task's arguments carry {carried} descriptor(s) (a Connection or shared \
             object), {missing} of which did not reach the worker (descriptors cannot reach a \
             worker on another machine, or one out of descriptors)"
        )
        .as_bytes(),
    );
    Status::Decode
}

fn serve(conn: &RawConn, host: Host) -> Result<(), Exit> {
    let mut batch = ResultBatch::default();
    let mut log: Option<ResultLog> = None;
    let mut oldest: Option<Duration> = None;
    // Until `INIT` comes, no tag matches.
    let mut key = None;
    // The last function whose tag was checked, so a run of one function checks once.
    let mut checked: Option<(usize, u64)> = None;
    // The largest value a result may have: a `DONE` message holds at most the largest
    // message, and a batch is flushed once it holds `FLUSH_BYTES`.
    let max_value = conn.max_message().saturating_sub(FLUSH_BYTES + 64);
    let mut out = Out {
        conn,
        far: false,
        owner: None,
        stash: VecDeque::new(),
    };
    loop {
        if !batch.is_empty() && !out.waiting() {
            out.flush(&mut batch, &mut log)?;
            oldest = None;
        }
        let Some(mut m) = out.next() else {
            return Ok(()); // the driver is gone
        };
        // The byte string a large job's lone argument is, read apart (`protocol::run_far`).
        let mut tail = None;
        if m.kind == RUN_FAR {
            (m, tail) = out.fetch_run(m)?;
        }
        match m.kind {
            INIT if key.is_none() => {
                let (k, far, owner) = init(conn, m, host)?;
                (key, out.far, out.owner) = (Some(k), far, owner);
            }
            // The pool hands over a result log once this worker's jobs pipeline: from now
            // on unsent results wait there (those waiting now too).
            LOG if log.is_none() && m.fds.len() == 1 => {
                let fd = m.fds.into_iter().next().ok_or(BROKEN)?;
                let map = sys::Mapping::from_fd(fd).map_err(broken)?;
                let mut l = ResultLog::new(map, matches!(host, Host::Thread));
                if !l.mirror(&batch) {
                    out.flush(&mut batch, &mut None)?;
                }
                log = Some(l);
            }
            RUN => {
                let mut fds = m.fds.into_iter();
                let mut bytes = m.bytes;
                let run = protocol::decode_run(&bytes).map_err(broken)?;
                let jobs: Vec<(RunHead, Items<'_>)> = match lone(&run, &bytes, tail.is_some()) {
                    // A lone large argument is decoded from the message itself, which it
                    // may take (see `codec/owned.rs`), instead of a copy of it; or from the
                    // message and the byte string read apart, which it takes.
                    Some((head, range, item_fds)) => {
                        drop(run);
                        let bytes = std::mem::take(&mut bytes);
                        let args = match tail.take() {
                            Some(tail) => Args::Spliced(bytes, range, tail),
                            None => Args::Owned(bytes, range),
                        };
                        vec![(head, Items::Lone(Some((args, item_fds))))]
                    }
                    None => run.jobs.iter().map(RunHead::split).collect(),
                };
                for (job, items) in jobs {
                    let trusted = checked == Some((job.call, job.tag))
                        || key.is_some_and(|key| call_tag(key, job.call) == job.tag);
                    if trusted {
                        checked = Some((job.call, job.tag));
                    }
                    if let Some(log) = log.as_mut()
                        && !log.starting(job.first)
                    {
                        // The pool stopped this worker and runs the job elsewhere.
                        return Ok(());
                    }
                    for (k, (args, item_fds)) in items.enumerate() {
                        let mine: Vec<_> = fds.by_ref().take(item_fds).collect();
                        let seq = job.first.wrapping_add(k as u64);
                        let started = *oldest.get_or_insert_with(sys::coarse_now);
                        let missing = item_fds - mine.len();
                        let far = out.far;
                        let mut lend = |bytes: &[u8]| out.lend(bytes);
                        let lend = far.then_some(&mut lend as &mut protocol::Offer<'_>);
                        batch.push_lending(seq, max_value, lend, |out| match trusted {
                            _ if missing > 0 => descriptors_missing(out, item_fds, missing),
                            true => sys::call_erased(job.call, args, mine, out),
                            false => refuse(out),
                        });
                        // A result that cannot wait in the log is sent before the next
                        // task starts (see `protocol::log`).
                        let kept = log.as_mut().is_none_or(|l| l.mirror(&batch));
                        if !kept
                            || batch.len() >= FLUSH_BYTES
                            || sys::coarse_now().saturating_sub(started) >= FLUSH_AFTER
                        {
                            out.flush(&mut batch, &mut log)?;
                            oldest = None;
                        }
                    }
                    batch.end_run(); // a run never crosses jobs
                }
            }
            EXIT => return out.flush(&mut batch, &mut log),
            _ => return Err(BROKEN),
        }
    }
}

/// A worker process for a test: forked by the fork server, sent its `INIT` (the pool's
/// `key`, and whether the pool reads its memory), and ready.
#[cfg(test)]
pub(crate) fn started_for_test(key: u64, far: bool) -> (Pid, RawConn) {
    let mut got = None;
    crate::zygote::spawn_workers(1, 1, |_| {}, |r| got = Some(r.unwrap())).unwrap();
    let (pid, conn) = got.unwrap();
    let mut owner = crate::owner::Owner::now(false, crate::zygote::server_env()).unwrap();
    owner.far = far;
    let fds: Vec<_> = owner.cwd.iter().map(|f| f.try_clone().unwrap()).collect();
    conn.send(INIT, &protocol::encode_init(0, key, &owner, &[]), &fds)
        .unwrap();
    assert_eq!(conn.recv(None).unwrap().kind, READY);
    (pid, conn)
}

#[cfg(test)]
mod tests {
    use crate::owner::call_tag;
    use crate::protocol::{self, DONE, EXIT, RUN};
    use crate::task::{Status, erase};
    use crate::zygote::release_many;

    fn double(x: u64) -> u64 {
        x * 2
    }

    /// Issue 16, item 9: a worker calls no function address whose tag does not match its
    /// pool's key: the job fails with `Status::Refused` and the worker serves on.
    #[test]
    fn a_job_whose_tag_does_not_match_is_refused() {
        let key = 0x1234_5678_9abc_def1;
        let (pid, conn) = super::started_for_test(key, false);

        let call = erase::<_, (u64,), u64>(double);
        let mut item = Vec::new();
        let at = protocol::start_item(&mut item);
        item.extend_from_slice(&crate::codec::encode(&(21u64,)).unwrap().0);
        protocol::finish_item(&mut item, at, 0);
        let mut msg = Vec::new();
        // A forged address, then the real one with a wrong tag, then the real one.
        protocol::push_job(&mut msg, (0, 0x10, 1), 1, &item);
        protocol::push_job(&mut msg, (1, call, call_tag(key, call) ^ 1), 1, &item);
        protocol::push_job(&mut msg, (2, call, call_tag(key, call)), 1, &item);
        conn.send(RUN, &msg, &[]).unwrap();

        let mut statuses = Vec::new();
        while statuses.len() < 3 {
            let m = conn.recv(None).unwrap();
            assert_eq!(m.kind, DONE);
            for a in protocol::decode_done(m.bytes, m.fds).unwrap() {
                for k in 0..a.count {
                    statuses.push((a.seq + k as u64, a.status));
                }
            }
        }
        assert_eq!(
            statuses,
            [
                (0, Some(Status::Refused)),
                (1, Some(Status::Refused)),
                (2, None), // a run of successes
            ]
        );
        conn.send(EXIT, &[], &[]).unwrap();
        release_many(&[(pid, false)]).unwrap();
    }
}
