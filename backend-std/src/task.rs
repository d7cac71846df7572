//! Task functions: what may run in a worker, and how it is called there.
//!
//! A task is a fn item or a closure that captures nothing: a zero-sized type. The parent
//! sends the address of a trampoline monomorphised for it; the worker, a fork of the same
//! image, calls the trampoline, which decodes the arguments, makes the function out of
//! nothing (it has no data) and runs it under `catch_unwind`.

use crate::codec;
use crate::sys;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::any::Any;
use std::os::fd::OwnedFd;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A task's encoded arguments as the worker has them.
pub(crate) enum Args<'a> {
    /// Within a message that holds other tasks too.
    Borrowed(&'a [u8]),
    /// `range` of a message buffer the task may consume: a byte string or `String` that
    /// is the argument takes the buffer instead of a copy (see `codec/owned.rs`).
    Owned(Vec<u8>, std::ops::Range<usize>),
    /// `range` of a message buffer, followed by a byte string read apart, which the value's
    /// last byte string takes instead of a copy (see `protocol::run_far`); the item carries
    /// no descriptors.
    Spliced(Vec<u8>, std::ops::Range<usize>, Vec<u8>),
}

/// How a task ended in a worker; its body (result bytes or message) is in the [`Output`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Status {
    /// The body is the encoded return value.
    Ok = 0,
    /// The task panicked; the body is the message.
    Panicked = 1,
    /// The return value could not be encoded; the body is the message.
    Encode = 2,
    /// The arguments could not be decoded; the body is the message.
    Decode = 3,
    /// The worker refused to run the task (its function's tag did not match); the body is
    /// the message.
    Refused = 4,
    /// The value was larger than a message may carry; the body is its length and the limit.
    TooLarge = 5,
}

impl Status {
    pub(crate) fn from_u8(b: u8) -> Option<Self> {
        [
            Self::Ok,
            Self::Panicked,
            Self::Encode,
            Self::Decode,
            Self::Refused,
            Self::TooLarge,
        ]
        .get(usize::from(b))
        .copied()
    }
}

/// Where a trampoline writes a task's body and the descriptors its result carries, and
/// where it may lend the value's large byte strings instead (see `protocol::piece`).
pub(crate) struct Output<'a> {
    pub bytes: &'a mut Vec<u8>,
    pub fds: &'a mut Vec<OwnedFd>,
    pub lend: Option<&'a mut (dyn codec::Lend + 'a)>,
}

/// A function a pool can run in a worker with the argument tuple `A`, returning `R`.
///
/// Implemented for every `Fn(A1, ..., An) -> R` (up to 8 arguments) that is `Copy + Send +
/// Sync + 'static`. A pool method additionally requires it to be zero-sized, i.e. a fn item
/// or a closure that captures nothing; anything else fails to compile where it is passed.
///
/// Arguments are always a tuple, as in Python's `apply(f, args)`: `(x,)` for one.
///
/// A closure that captures a value does not compile (the worker was forked before the
/// value existed); pass it as an argument instead:
///
/// ```compile_fail
/// let pool = forkpool::Pool::new(1)?;
/// let base = 10u64;
/// pool.apply(move |x: u64| x + base, (1,))?; // captures `base`
/// # Ok::<(), forkpool::Error>(())
/// ```
///
/// ```
/// let pool = forkpool::Pool::new(1)?;
/// let base = 10u64;
/// assert_eq!(pool.apply(|x: u64, base: u64| x + base, (1, base))?, 11);
/// # Ok::<(), forkpool::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run in a pool worker with the arguments `{A}`",
    label = "not a task function for the arguments `{A}`",
    note = "a task is a fn item or a closure that captures nothing: pass data as arguments",
    note = "arguments are a tuple, as in Python's `apply(f, args)`: `(x,)` for one, `(a, b)` for two",
    note = "a closure's captures cannot reach the worker (it was forked before they existed)"
)]
pub trait TaskFn<A, R>: Copy + Send + Sync + 'static {
    /// Calls the function with the tuple's elements as arguments.
    fn call_with(self, args: A) -> R;
}

macro_rules! task_fn {
    ($($a:ident),*) => {
        impl<Func, Ret, $($a),*> TaskFn<($($a,)*), Ret> for Func
        where
            Func: Fn($($a),*) -> Ret + Copy + Send + Sync + 'static,
        {
            #[allow(non_snake_case)]
            fn call_with(self, ($($a,)*): ($($a,)*)) -> Ret {
                self($($a),*)
            }
        }
    };
}

task_fn!();
task_fn!(A1);
task_fn!(A1, A2);
task_fn!(A1, A2, A3);
task_fn!(A1, A2, A3, A4);
task_fn!(A1, A2, A3, A4, A5);
task_fn!(A1, A2, A3, A4, A5, A6);
task_fn!(A1, A2, A3, A4, A5, A6, A7);
task_fn!(A1, A2, A3, A4, A5, A6, A7, A8);

/// The address to send to a worker to run `F` on an encoded `A`.
pub(crate) fn erase<F, A, R>(_f: F) -> usize
where
    F: TaskFn<A, R>,
    A: DeserializeOwned,
    R: Serialize,
{
    const {
        assert!(
            std::mem::size_of::<F>() == 0,
            "forkpool: a task must be a fn item or a closure that captures nothing \
             (workers were forked before any capture existed)"
        )
    };
    sys::addr_of_call(trampoline::<F, A, R>)
}

fn trampoline<F, A, R>(args: Args<'_>, fds: Vec<OwnedFd>, out: &mut Output<'_>) -> Status
where
    F: TaskFn<A, R>,
    A: DeserializeOwned,
    R: Serialize,
{
    let decoded = match args {
        Args::Owned(buf, range) if fds.is_empty() => codec::decode_owned(buf, range),
        Args::Owned(buf, range) => codec::decode(&buf[range], fds),
        Args::Borrowed(bytes) => codec::decode(bytes, fds),
        // Never with descriptors: a byte string is read apart only for an item without any.
        Args::Spliced(buf, range, tail) => codec::decode_spliced(&buf[range], tail),
    };
    let args: A = match decoded {
        Ok(a) => a,
        Err(e) => return failed(out, e, Status::Decode),
    };
    let f: F = sys::conjure_zst::<F>();
    // The value is dropped inside the guard too: a panicking `Drop` is the task's panic.
    let (bytes_before, fds_before) = (out.bytes.len(), out.fds.len());
    match catch_unwind(AssertUnwindSafe(|| {
        let value = f.call_with(args);
        codec::encode_lending(&value, &mut *out.bytes, out.lend.as_deref_mut())
            .map(|fds| out.fds.extend(fds))
    })) {
        Ok(Ok(())) => Status::Ok,
        Ok(Err(e)) => failed(out, e, Status::Encode),
        Err(payload) => {
            out.bytes.truncate(bytes_before);
            out.fds.truncate(fds_before);
            if let Some(lend) = out.lend.as_deref_mut() {
                lend.forget_from(bytes_before);
            }
            let (location, backtrace) = crate::panics::take();
            let message = panic_message(payload.as_ref());
            report(out, &message, location, backtrace)
        }
    }
}

/// Writes a panic's report as the task's body.
fn report(
    out: &mut Output<'_>,
    message: &str,
    location: Option<String>,
    backtrace: Option<String>,
) -> Status {
    crate::panics::encode(message, location.as_deref(), backtrace.as_deref(), out.bytes);
    Status::Panicked
}

/// Writes why a task failed as its body: `status`, or [`Status::Panicked`] when the error
/// is a panic in the user's serde code (its message says which).
fn failed(out: &mut Output<'_>, e: crate::error::Error, status: Status) -> Status {
    match e {
        crate::error::Error::Panicked {
            message,
            location,
            backtrace,
            ..
        } => report(out, &message, location, backtrace),
        e => {
            out.bytes.extend_from_slice(e.to_string().as_bytes());
            status
        }
    }
}

/// The text of a panic payload (`&str` or `String`), or a note saying what it was not.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic payload is not a string".to_owned()
    }
}
