//! [`Connection`] as the core's channel traits, [`TrySend`] and [`TryRecv`]: code written
//! against them runs over an in-process `forkpool_core::Channel` or between processes.
//! Neither ever blocks.

use crate::codec;
use crate::connection::{Connection, VALUE};
use crate::error::Error;
use forkpool_core::{TryRecv, TryRecvError, TrySend, TrySendError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Sends without blocking: [`TrySendError::Full`] when the socket has no room now (nothing
/// was sent), [`TrySendError::Disconnected`] when the other end is gone,
/// [`TrySendError::Unsendable`] when the value cannot be encoded or is larger than the
/// connection carries. A message longer than one packet (64 KiB) is committed once its
/// first packet is in the socket; its rest goes out with the next send on this end.
///
/// ```
/// use forkpool::core::{TryRecv, TryRecvError, TrySend};
///
/// /// Generic over the core's traits: the same code for threads or processes.
/// fn relay<T>(from: &impl TryRecv<T>, to: &impl TrySend<T>) -> usize {
///     let mut n = 0;
///     while let Ok(v) = from.try_recv() {
///         if to.try_send(v).is_err() { break; }
///         n += 1;
///     }
///     n
/// }
///
/// let (a, b) = forkpool::pipe::<u32>()?;
/// let (c, d) = forkpool::pipe::<u32>()?;
/// a.send(&1)?;
/// a.send(&2)?;
/// # std::thread::sleep(std::time::Duration::from_millis(10));
/// assert_eq!(relay(&b, &c), 2);
/// assert_eq!(TryRecv::try_recv(&d), Ok(1));
/// assert_eq!(TryRecv::try_recv(&d), Ok(2));
/// assert_eq!(TryRecv::try_recv(&d), Err(TryRecvError::Empty));
/// # Ok::<(), forkpool::Error>(())
/// ```
impl<T: Serialize + DeserializeOwned> TrySend<T> for Connection<T> {
    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let (bytes, fds) = match codec::encode(&value) {
            Ok(encoded) => encoded,
            Err(_) => return Err(TrySendError::Unsendable(value)),
        };
        match self.raw().try_send_message(VALUE, &bytes, fds) {
            Ok(true) => Ok(()),
            Ok(false) => Err(TrySendError::Full(value)),
            Err(Error::MessageTooLarge { .. } | Error::InvalidArgument(_)) => {
                Err(TrySendError::Unsendable(value))
            }
            Err(_) => Err(TrySendError::Disconnected(value)),
        }
    }
}

/// Receives without blocking: [`TryRecvError::Empty`] when no whole message is there now,
/// [`TryRecvError::Disconnected`] once the other end is gone and everything was read,
/// [`TryRecvError::Malformed`] for a message that could not be decoded (it is dropped; the
/// next call reads on).
impl<T: Serialize + DeserializeOwned> TryRecv<T> for Connection<T> {
    fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.raw().try_recv() {
            Ok(Some(m)) => {
                if m.check_fds().is_err() || m.kind != VALUE {
                    return Err(TryRecvError::Malformed);
                }
                codec::decode_received(m).map_err(|_| TryRecvError::Malformed)
            }
            Ok(None) => Err(TryRecvError::Empty),
            Err(Error::Disconnected) => Err(TryRecvError::Disconnected),
            Err(_) => Err(TryRecvError::Malformed),
        }
    }
}
