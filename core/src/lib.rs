//! The `no_std` heart of forkpool, allocation-free unless the `alloc` feature asks.
//!
//! Everything here is plain data and decisions; nothing reads a clock, touches a file
//! descriptor or allocates. The std backend (`forkpool-std`) drives these types with forked
//! worker processes, but an RTOS, a thread pool or a cluster scheduler can link them too.
//!
//! | module | what it holds |
//! |---|---|
//! | [`seq`] | sequence numbers with wrap-around (serial-number) ordering |
//! | [`lock`] | the safe [`Lock`] trait, implemented for `spin::Mutex` and `RefCell` |
//! | [`queue`] | the [`JobQueue`] trait and the fixed-capacity [`FifoQueue`] |
//! | [`order`] | result ordering: the [`Ordered`] reorder window and [`Unordered`] |
//! | [`channel`] | a fixed-capacity message channel whose lock is a type parameter |
//! | [`frame`] | the length-prefixed frame codec the std backend puts on its sockets |
//! | [`scheduler`] | the sans-IO [`Scheduler`] state machine |
//! | [`error`] | every error type of the crate |
//! | `growable` | with the `alloc` feature: [`VecQueue`], [`GrowableOrdered`], [`GrowableUnordered`], [`HeapSlots`] for drivers with an allocator |
//!
//! Without the `alloc` feature nothing here allocates.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod channel;
pub mod error;
pub mod frame;
#[cfg(feature = "alloc")]
pub mod growable;
pub mod lock;
pub mod order;
pub mod queue;
pub mod scheduler;
pub mod seq;

pub use channel::{Channel, ChannelState, Receiver, Sender, TryRecv, TrySend};
pub use error::{
    ConfigError, FrameError, InsertError, SchedulerError, SubmitError, TryRecvError, TrySendError,
};
pub use frame::{FrameBuf, FrameDecoder, FrameHeader, Progress};
#[cfg(feature = "alloc")]
pub use growable::{GrowableOrdered, GrowableUnordered, HeapSlots, VecQueue};
pub use lock::Lock;
pub use order::{Ordered, ResultOrder, Unordered};
pub use queue::{FifoQueue, JobQueue};
pub use scheduler::{
    CancelReason, Config, Dispatch, Job, Outcome, Release, Scheduler, Settled, SlotTable,
    WorkerCommand, WorkerId, WorkerSlot, default_chunksize,
};
pub use seq::{SeqNum, serial_cmp};
