//! A fixed-capacity message channel whose lock is a type parameter.
//!
//! As in embassy-sync, the logic lives in a plain [`ChannelState`] (tested without any lock)
//! reached through one private method, and the user picks the lock: `spin::Mutex` to share
//! between contexts, `RefCell` inside one. As in crossbeam-channel, the last sender's drop
//! disconnects the channel, so nobody waits on a channel no one can send to, and a send to a
//! channel whose receiver is gone hands the message back.

use crate::error::{TryRecvError, TrySendError};
use crate::lock::Lock;
use core::marker::PhantomData;
use heapless::Deque;

/// The sending half of a channel.
pub trait TrySend<T> {
    /// Sends `value` now, or hands it back when the channel is full or disconnected.
    fn try_send(&self, value: T) -> Result<(), TrySendError<T>>;
}

/// The receiving half of a channel.
pub trait TryRecv<T> {
    /// Takes the oldest message, if there is one.
    fn try_recv(&self) -> Result<T, TryRecvError>;
}

/// The channel's data and rules, without any lock.
pub struct ChannelState<T, const N: usize> {
    queue: Deque<T, N>,
    senders: usize,
    receiver: bool,
}

impl<T, const N: usize> ChannelState<T, N> {
    /// An empty channel with one sender and one receiver.
    pub const fn new() -> Self {
        const { assert!(N > 0, "a channel needs a capacity of at least 1") };
        Self {
            queue: Deque::new(),
            senders: 1,
            receiver: true,
        }
    }

    /// Queues `value` unless the channel is full or has no receiver.
    pub fn try_send(&mut self, value: T) -> Result<(), TrySendError<T>> {
        if !self.receiver {
            return Err(TrySendError::Disconnected(value));
        }
        self.queue.push_back(value).map_err(TrySendError::Full)
    }

    /// Takes the oldest message; `Disconnected` only once the queue is drained.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.queue.pop_front() {
            Some(v) => Ok(v),
            None if self.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    fn add_sender(&mut self) {
        self.senders += 1;
    }

    fn drop_sender(&mut self) {
        self.senders = self.senders.saturating_sub(1);
    }

    fn drop_receiver(&mut self) {
        self.receiver = false;
    }
}

impl<T, const N: usize> Default for ChannelState<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A channel of up to `N` messages behind the lock `L`.
///
/// ```
/// use forkpool_core::{Channel, ChannelState, TryRecv, TrySend, TryRecvError};
/// let chan: Channel<u8, 2, spin::Mutex<ChannelState<u8, 2>>> = Channel::new();
/// let (tx, rx) = chan.split();
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// assert!(tx.try_send(3).unwrap_err().is_full());
/// drop(tx);
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(rx.try_recv(), Ok(2));
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
/// ```
pub struct Channel<T, const N: usize, L> {
    state: L,
    _t: PhantomData<T>,
}

impl<T, const N: usize, L: Lock<ChannelState<T, N>>> Channel<T, N, L> {
    /// An empty channel.
    pub fn new() -> Self {
        Self {
            state: L::new(ChannelState::new()),
            _t: PhantomData,
        }
    }

    fn lock<R>(&self, f: impl FnOnce(&mut ChannelState<T, N>) -> R) -> R {
        self.state.with(f)
    }

    /// The first sender and the receiver. Call once: the channel counts one sender and one
    /// receiver from the start, and more senders come from cloning.
    pub fn split(&self) -> (Sender<'_, T, N, L>, Receiver<'_, T, N, L>) {
        (Sender { chan: self }, Receiver { chan: self })
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.lock(|s| s.len())
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.lock(|s| s.is_empty())
    }
}

impl<T, const N: usize, L: Lock<ChannelState<T, N>>> Default for Channel<T, N, L> {
    fn default() -> Self {
        Self::new()
    }
}

/// A sending end; clone it for more senders. The last one dropped disconnects.
pub struct Sender<'a, T, const N: usize, L: Lock<ChannelState<T, N>>> {
    chan: &'a Channel<T, N, L>,
}

impl<T, const N: usize, L: Lock<ChannelState<T, N>>> TrySend<T> for Sender<'_, T, N, L> {
    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.lock(|s| s.try_send(value))
    }
}

impl<T, const N: usize, L: Lock<ChannelState<T, N>>> Clone for Sender<'_, T, N, L> {
    fn clone(&self) -> Self {
        self.chan.lock(|s| s.add_sender());
        Self { chan: self.chan }
    }
}

impl<T, const N: usize, L: Lock<ChannelState<T, N>>> Drop for Sender<'_, T, N, L> {
    fn drop(&mut self) {
        self.chan.lock(|s| s.drop_sender());
    }
}

/// The receiving end. Dropping it makes every later send fail with `Disconnected`.
pub struct Receiver<'a, T, const N: usize, L: Lock<ChannelState<T, N>>> {
    chan: &'a Channel<T, N, L>,
}

impl<T, const N: usize, L: Lock<ChannelState<T, N>>> TryRecv<T> for Receiver<'_, T, N, L> {
    fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.lock(|s| s.try_recv())
    }
}

impl<T, const N: usize, L: Lock<ChannelState<T, N>>> Drop for Receiver<'_, T, N, L> {
    fn drop(&mut self) {
        self.chan.lock(|s| s.drop_receiver());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::RefCell;

    #[test]
    fn state_rules_without_a_lock() {
        let mut s: ChannelState<u8, 1> = ChannelState::new();
        s.try_send(1).unwrap();
        assert_eq!(s.try_send(2), Err(TrySendError::Full(2)));
        assert_eq!(s.try_recv(), Ok(1));
        assert_eq!(s.try_recv(), Err(TryRecvError::Empty));
        s.drop_receiver();
        assert_eq!(s.try_send(3), Err(TrySendError::Disconnected(3)));
    }

    #[test]
    fn refcell_channel_disconnects_on_last_sender() {
        let chan: Channel<u8, 4, RefCell<ChannelState<u8, 4>>> = Channel::new();
        let (tx, rx) = chan.split();
        let tx2 = tx.clone();
        drop(tx);
        tx2.try_send(7).unwrap();
        assert_eq!(rx.try_recv(), Ok(7));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        drop(tx2);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        drop(rx);
        assert_eq!(chan.len(), 0);
    }
}
